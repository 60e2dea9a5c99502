//! The [`Node`]: everything one party holds, and its start-up.

use std::sync::Arc;

/// An authenticated client of this node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct User {
    pub name: String,
}

/// One party's node. Shared as `Arc<Node>` by the HTTP handlers and the background tasks.
pub struct Node {
    pub config: Arc<crate::config::NodeConfig>,
    /// This party's id and the number of parties.
    pub me: usize,
    pub n: usize,
    pub secrets: Arc<store::RedbSecretStore>,
    pub tuples: Arc<store::RedbTupleStore>,
    pub gateway: crate::coord::GatewayPlaceholder,
    /// How sessions reach the other parties (the gateway; in-process channels in tests).
    pub channels: Arc<dyn crate::coord::Channels>,
    pub programs: crate::programs::ProgramCache,
    pub functions: crate::functions::FunctionRegistry,
    pub auth: crate::auth::Tokens,
    pub metrics: crate::metrics::Metrics,
    pub games: crate::games::GameTable,
    pub pending_masks: crate::secrets::PendingMasks,
    pub tuplegen: crate::tuplegen::Generator,
}

/// A started node: its addresses and a handle to stop it.
pub struct RunningNode {
    pub node: Arc<Node>,
    pub api_addr: std::net::SocketAddr,
    pub mpc_addr: std::net::SocketAddr,
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    pub(crate) server: tokio::task::JoinHandle<()>,
}
