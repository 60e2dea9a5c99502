//! The [`Node`]: everything one party holds, and its start-up.

use std::path::Path;
use std::sync::Arc;

use store::TupleStore;

use crate::config::{ConfigError, NodeConfig};
use crate::coord::Channels;

/// An authenticated client of this node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct User {
    pub name: String,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("storage: {0}")]
    Storage(String),
    #[error("MPC gateway: {0}")]
    Gateway(String),
    #[error("HTTP API: {0}")]
    Api(String),
}

/// One party's node. Shared as `Arc<Node>` by the HTTP handlers and the background tasks.
pub struct Node {
    pub config: Arc<NodeConfig>,
    /// This party's id and the number of parties.
    pub me: usize,
    pub n: usize,
    pub secrets: Arc<store::RedbSecretStore>,
    pub tuples: Arc<store::RedbTupleStore>,
    /// The MPC gateway (`None` in in-process tests, which use other [`Channels`]).
    pub gateway: Option<net::Gateway>,
    /// How sessions reach the other parties (the gateway; in-process channels in tests).
    pub channels: Arc<dyn Channels>,
    pub programs: crate::programs::ProgramCache,
    pub functions: crate::functions::FunctionRegistry,
    pub auth: crate::auth::Tokens,
    pub metrics: crate::metrics::Metrics,
    pub games: crate::games::GameTable,
    pub pending_masks: crate::secrets::PendingMasks,
    pub tuplegen: crate::tuplegen::Generator,
}

impl Node {
    /// Opens the stores and builds the node around `channels` (blocking: opens files).
    pub fn assemble(
        config: NodeConfig,
        gateway: Option<net::Gateway>,
        channels: Arc<dyn Channels>,
    ) -> Result<Node, StartError> {
        let dir = &config.storage.path;
        std::fs::create_dir_all(dir).map_err(|e| {
            StartError::Storage(format!(
                "cannot create the storage directory {} (storage.path): {e}",
                dir.display()
            ))
        })?;
        let secrets = store::RedbSecretStore::open(dir.join("secrets.redb"))
            .map_err(|e| StartError::Storage(e.to_string()))?;
        let tuples = store::RedbTupleStore::open(dir.join("tuples.redb"), config.party)
            .map_err(|e| StartError::Storage(e.to_string()))?;
        let tuplegen = crate::tuplegen::Generator::new(&config);
        match tuplegen.dealer_mac_key_share() {
            Some(alpha) => {
                tracing::warn!(
                    party = config.party,
                    "INSECURE preprocessing: [tuples] insecure_dealer = true. Every party's tuples and MAC key follow from the shared seed; anyone holding it can read every secret. Use only for development and tests."
                );
                tuples.set_mac_key_share(alpha).map_err(|e| {
                    StartError::Storage(format!(
                        "{e}: the tuple store in {} was made with another MAC key (another dealer seed); use a fresh storage path or the original seed",
                        dir.display()
                    ))
                })?;
                tuplegen
                    .recover(&tuples)
                    .map_err(|e| StartError::Storage(e.to_string()))?;
            }
            None => {
                // MASCOT: the MAC key share is sampled at the first generation job and kept in
                // the tuple store.
            }
        }
        if let Some(stage) = &config.insecure_tamper {
            tracing::warn!(
                party = config.party,
                stage = %stage,
                "INSECURE test setting insecure_tamper: this party CHEATS on purpose; for tests of cheating detection only"
            );
        }
        let functions = crate::functions::FunctionRegistry::open(&dir.join("functions.redb"))?;
        let auth = crate::auth::Tokens::from_config(&config)?;
        Ok(Node {
            me: config.party,
            n: config.n_parties(),
            config: Arc::new(config),
            secrets: Arc::new(secrets),
            tuples: Arc::new(tuples),
            gateway,
            channels,
            programs: crate::programs::ProgramCache::new(256),
            functions,
            auth,
            metrics: crate::metrics::Metrics::default(),
            games: crate::games::GameTable::default(),
            pending_masks: crate::secrets::PendingMasks::default(),
            tuplegen,
        })
    }

    /// `GET /v1/health`.
    pub fn health(&self) -> api::Health {
        let peers: Vec<api::PeerHealth> = match &self.gateway {
            Some(g) => g
                .peer_status()
                .into_iter()
                .map(|p| api::PeerHealth {
                    party: p.party,
                    connected: p.connected,
                })
                .collect(),
            None => (0..self.n)
                .filter(|&p| p != self.me)
                .map(|party| api::PeerHealth {
                    party,
                    connected: true,
                })
                .collect(),
        };
        for p in &peers {
            self.metrics.set_peer_connected(p.party, p.connected);
        }
        let ok = peers.iter().all(|p| p.connected);
        api::Health {
            party: self.me,
            parties: self.n,
            status: if ok { "ok" } else { "degraded" }.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            generator: self.tuplegen.name().into(),
            peers,
            running_games: self.games.running(),
        }
    }
}

/// A started node: its addresses and a handle to stop it.
pub struct RunningNode {
    pub node: Arc<Node>,
    pub api_addr: std::net::SocketAddr,
    pub mpc_addr: std::net::SocketAddr,
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    pub(crate) server: tokio::task::JoinHandle<()>,
}

/// A development configuration of party `me` of `n`, with dealer tuples, for tests and
/// `ephemeral dev`: API and gateway addresses are filled in by the caller.
pub fn dev_config_text(
    me: usize,
    parties: &[(String, String)],
    dir: &Path,
    seed_hex: &str,
    token: &str,
) -> String {
    let mut s = format!(
        "party = {me}\n\n[api]\nlisten = \"{}\"\n\n[mpc]\nlisten = \"{}\"\ncert = \"party{me}.pem\"\nkey = \"party{me}.key\"\n\n[storage]\npath = \"{}\"\n\n[[clients]]\nuser = \"dev\"\ntoken = \"{token}\"\n\n[tuples]\ninsecure_dealer = true\ninsecure_dealer_seed = \"{seed_hex}\"\n\n",
        api_listen(&parties[me].0),
        parties[me].1,
        dir.join(format!("party{me}-data")).display(),
    );
    for (i, (api, mpc)) in parties.iter().enumerate() {
        s.push_str(&format!(
            "[[parties]]\nid = {i}\napi_url = \"{api}\"\nmpc_addr = \"{mpc}\"\ncert = \"party{i}.pem\"\n\n"
        ));
    }
    s
}

fn api_listen(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}
