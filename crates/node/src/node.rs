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
    pub limits: crate::limits::Limits,
    /// Transactions and jobs in progress, and whether to reconcile with party 0.
    pub recovery: crate::recovery::Recovery,
    /// Sessions and jobs hold it shared; a rekey holds it alone (see [`crate::rekey`]).
    pub(crate) key_gate: Arc<tokio::sync::RwLock<()>>,
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
                tuples
                    .set_mac_key_share(alpha, store::KeyOrigin::InsecureDealer)
                    .map_err(|e| {
                        let hint = match e {
                            store::TupleError::MacKeyMismatch => "the tuple store was made with another MAC key (another dealer seed); use a fresh storage path or the original seed",
                            _ => "use a fresh storage path",
                        };
                        StartError::Storage(format!(
                            "{e}: tuple store in {}: {hint}",
                            dir.display()
                        ))
                    })?;
                if let Some(delta) = tuplegen.dealer_binary_key_share() {
                    tuples
                        .set_binary_key_share(delta, store::KeyOrigin::InsecureDealer)
                        .map_err(|e| {
                            StartError::Storage(format!(
                                "{e}: tuple store in {}: use a fresh storage path or the original seed",
                                dir.display()
                            ))
                        })?;
                }
                tuplegen
                    .recover(&tuples)
                    .map_err(|e| StartError::Storage(e.to_string()))?;
            }
            None => {
                // MASCOT: the MAC key share is sampled at the first generation job and kept in
                // the tuple store. A store whose key a dealer made (or an older build, which
                // did not record it) is refused: its key follows from a seed.
                tuples
                    .check_origin(store::KeyOrigin::Mascot)
                    .and_then(|()| tuples.key_origin().map(|_| ()))
                    .map_err(|e| {
                        StartError::Storage(format!("tuple store in {}: {e}", dir.display()))
                    })?;
                if let Ok(Some(h)) = tuples.generation_halt() {
                    tracing::error!(
                        party = config.party,
                        step = %h.step,
                        peer = ?h.peer,
                        job = %h.job,
                        "tuple generation is HALTED since a check failed in preprocessing; run `ephemeral admin rekey` to move every party to a fresh MAC key"
                    );
                }
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
        let config_limits = config.limits.clone();
        let node = Node {
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
            limits: crate::limits::Limits::new(&config_limits),
            recovery: crate::recovery::Recovery::default(),
            key_gate: Arc::new(tokio::sync::RwLock::new(())),
        };
        // A rekey that wrote the secrets but died before the tuple store took the new key.
        if let Some(alpha) = node
            .secrets
            .pending_mac_key()
            .map_err(|e| StartError::Storage(e.to_string()))?
        {
            tracing::warn!(
                party = node.me,
                "completing a rekey interrupted by a restart: the tuple store takes the new MAC key"
            );
            node.finish_rekey(alpha)
                .map_err(|e| StartError::Storage(e.message))?;
        }
        if node.me == 0 {
            node.recover_as_leader();
        }
        Ok(node)
    }

    /// Whether `user` is an operator (`admin = true` in its `[[clients]]` entry).
    pub fn is_admin(&self, user: &User) -> bool {
        self.config
            .clients
            .iter()
            .any(|c| c.admin && c.user == user.name)
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
        let halt = self.generation_halt();
        self.metrics.set_generation_halted(halt.is_some());
        let status = match (&halt, ok) {
            (Some(_), _) => "halted",
            (None, true) => "ok",
            (None, false) => "degraded",
        };
        api::Health {
            party: self.me,
            parties: self.n,
            status: status.into(),
            generation_halt: halt.as_ref().map(crate::generation_guard::halt_info),
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
    dev_config_text_with(
        me,
        parties,
        dir,
        token,
        DevTuples::InsecureDealer { seed_hex },
    )
}

/// The tuple generator of a development configuration ([`dev_config_text_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevTuples<'a> {
    /// INSECURE dealer tuples from a seed every party shares (64 hex digits).
    InsecureDealer { seed_hex: &'a str },
    /// MASCOT, the node's secure default, with small pools so that a local cloud starts fast.
    Mascot,
}

/// The `[tuples.pools]` of a MASCOT development configuration: small thresholds and batches, so
/// that the first jobs finish within seconds on a laptop running every party, and programs that
/// need more make party 0 generate on demand.
pub const DEV_MASCOT_POOLS: &[(&str, u64, u64)] = &[
    ("triple", 2_000, 2_000),
    ("bit", 2_000, 2_000),
    ("square", 500, 500),
    ("inverse", 500, 500),
    ("input_mask", 500, 500),
];

/// As [`dev_config_text`], with a chosen tuple generator.
pub fn dev_config_text_with(
    me: usize,
    parties: &[(String, String)],
    dir: &Path,
    token: &str,
    tuples: DevTuples<'_>,
) -> String {
    let tuples = match tuples {
        DevTuples::InsecureDealer { seed_hex } => {
            format!("[tuples]\ninsecure_dealer = true\ninsecure_dealer_seed = \"{seed_hex}\"\n\n")
        }
        DevTuples::Mascot => {
            let mut t = String::from(
                "[tuples]\n# MASCOT (the default generator), with small pools for a fast start.\n\n",
            );
            for (kind, threshold, batch) in DEV_MASCOT_POOLS {
                t.push_str(&format!(
                    "[tuples.pools.{kind}]\nthreshold = {threshold}\nbatch = {batch}\n\n"
                ));
            }
            t
        }
    };
    let mut s = format!(
        "party = {me}\n\n[api]\nlisten = \"{}\"\n\n[mpc]\nlisten = \"{}\"\ncert = \"party{me}.pem\"\nkey = \"party{me}.key\"\n\n[storage]\npath = \"{}\"\n\n[[clients]]\nuser = \"dev\"\nadmin = true\ntoken = \"{token}\"\n\n{tuples}",
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

#[cfg(test)]
mod dev_config_tests {
    use super::*;

    fn parties() -> Vec<(String, String)> {
        (0..2)
            .map(|i| {
                (
                    format!("http://127.0.0.1:{}", 7100 + i),
                    format!("127.0.0.1:{}", 7200 + i),
                )
            })
            .collect()
    }

    fn load(text: &str) -> NodeConfig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        NodeConfig::load(&path).unwrap()
    }

    #[test]
    fn dev_configs_select_the_generator() {
        let seed = "01".repeat(32);
        let dir = Path::new("/tmp/ephemeral-dev-test");
        let dealer = dev_config_text(1, &parties(), dir, &seed, "tok");
        assert_eq!(
            dealer,
            dev_config_text_with(
                1,
                &parties(),
                dir,
                "tok",
                DevTuples::InsecureDealer { seed_hex: &seed }
            )
        );
        let c = load(&dealer);
        assert!(c.tuples.insecure_dealer);
        assert_eq!(
            crate::tuplegen::Generator::new(&c).name(),
            "insecure-dealer"
        );

        let mascot = dev_config_text_with(1, &parties(), dir, "tok", DevTuples::Mascot);
        assert!(!mascot.contains("insecure"), "{mascot}");
        let c = load(&mascot);
        assert!(!c.tuples.insecure_dealer);
        let g = crate::tuplegen::Generator::new(&c);
        assert_eq!(g.name(), "mascot");
        for (kind, policy) in g.policies() {
            assert!(
                policy.threshold <= 2_000 && policy.batch <= 2_000,
                "{kind}: {policy:?}"
            );
        }
        assert_eq!(c.tuples.pools.len(), DEV_MASCOT_POOLS.len());
    }
}
