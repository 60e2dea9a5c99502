//! The node's configuration file (`party.toml`).
//!
//! ```toml
//! party = 0                                  # this party's id
//!
//! [api]
//! listen = "127.0.0.1:7100"                  # HTTP API
//! max_body_bytes = 67108864
//!
//! [mpc]
//! listen = "127.0.0.1:7200"                  # the gateway's mutual-TLS port
//! cert = "certs/party0.pem"                  # this party's certificate and key (PEM)
//! key = "certs/party0.key"
//!
//! [[parties]]                                # the virtual cloud, every party in id order
//! id = 0
//! api_url = "http://127.0.0.1:7100"
//! mpc_addr = "127.0.0.1:7200"
//! cert = "certs/party0.pem"
//!
//! [storage]
//! path = "data/party0"                       # secrets.redb, tuples.redb, functions.redb
//!
//! [[clients]]                                # bearer tokens
//! user = "alice"
//! token = "…"                                # or token_file = "…"
//!
//! [timeouts]
//! join_secs = 30          # parties must register for a game within this
//! game_secs = 600         # a game must end within this
//! recv_secs = 60          # any single receive from a peer
//! grace_secs = 300        # finished games are remembered this long
//!
//! [tuples]
//! insecure_dealer = true                     # INSECURE: dealer preprocessing from a shared seed
//! insecure_dealer_seed = "<64 hex digits>"   # the same on every party
//! ```
//!
//! Relative paths are relative to the config file's directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A configuration error; the message names the field.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file (or `<inline>`).
    pub path: String,
    pub message: String,
}

/// `[api]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_max_body() -> usize {
    api::DEFAULT_MAX_BODY
}

/// `[mpc]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpcConfig {
    pub listen: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One `[[parties]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyConfig {
    pub id: usize,
    pub api_url: String,
    pub mpc_addr: String,
    pub cert: PathBuf,
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub path: PathBuf,
}

/// One `[[clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub user: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// `[timeouts]`, in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutConfig {
    pub join_secs: f64,
    pub game_secs: f64,
    pub recv_secs: f64,
    pub grace_secs: f64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            join_secs: 30.0,
            game_secs: 600.0,
            recv_secs: 60.0,
            grace_secs: 300.0,
        }
    }
}

impl TimeoutConfig {
    pub fn join(&self) -> Duration {
        Duration::from_secs_f64(self.join_secs)
    }
    pub fn game(&self) -> Duration {
        Duration::from_secs_f64(self.game_secs)
    }
    pub fn recv(&self) -> Duration {
        Duration::from_secs_f64(self.recv_secs)
    }
    pub fn grace(&self) -> Duration {
        Duration::from_secs_f64(self.grace_secs)
    }
}

/// Pool policy of one tuple kind: generate `batch` more when fewer than `threshold` are available.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PoolPolicy {
    pub threshold: u64,
    pub batch: u64,
}

/// `[tuples]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TupleConfig {
    /// INSECURE: fill the tuple store with dealer tuples derived from `insecure_dealer_seed`.
    pub insecure_dealer: bool,
    /// 64 hex digits, the same on every party.
    pub insecure_dealer_seed: Option<String>,
    /// Per kind (`triple`, `square`, `bit`, `inverse`, `input_mask`): pool threshold and batch.
    pub pools: BTreeMap<String, PoolPolicy>,
    /// How often party 0 checks the pools, in seconds.
    pub check_secs: f64,
}

impl Default for TupleConfig {
    fn default() -> Self {
        TupleConfig {
            insecure_dealer: false,
            insecure_dealer_seed: None,
            pools: BTreeMap::new(),
            check_secs: 1.0,
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub party: usize,
    pub api: ApiConfig,
    pub mpc: MpcConfig,
    pub parties: Vec<PartyConfig>,
    pub storage: StorageConfig,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    #[serde(default)]
    pub timeouts: TimeoutConfig,
    #[serde(default)]
    pub tuples: TupleConfig,
    /// INSECURE, for tests of cheating detection only: make this party tamper at one stage
    /// (`upload`: mask shares; `store`: the masked values it claims; `download`: delivered shares;
    /// `execution`: its input shares in games). The node warns loudly at start.
    #[serde(default)]
    pub insecure_tamper: Option<String>,
}

impl NodeConfig {
    /// Reads and checks `path`; relative paths inside are resolved against its directory.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        NodeConfig::parse(&text, &path.display().to_string(), base)
    }

    /// Parses and checks a config text; `base` resolves relative paths.
    pub fn parse(text: &str, name: &str, base: &Path) -> Result<NodeConfig, ConfigError> {
        let err = |message: String| ConfigError {
            path: name.to_string(),
            message,
        };
        let mut cfg: NodeConfig = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        cfg.resolve_paths(base);
        cfg.validate().map_err(err)?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.mpc.cert);
        fix(&mut self.mpc.key);
        fix(&mut self.storage.path);
        for p in &mut self.parties {
            fix(&mut p.cert);
        }
        for c in &mut self.clients {
            if let Some(f) = &mut c.token_file {
                fix(f);
            }
        }
    }

    /// Checks what serde cannot; the message names the field.
    fn validate(&self) -> Result<(), String> {
        let n = self.parties.len();
        if n < 2 {
            return Err(format!(
                "parties: {n} listed; a virtual cloud needs at least 2 [[parties]] entries"
            ));
        }
        for (i, p) in self.parties.iter().enumerate() {
            if p.id != i {
                return Err(format!(
                    "parties[{i}].id: is {}, but parties must be listed in id order 0, 1, …",
                    p.id
                ));
            }
        }
        if self.party >= n {
            return Err(format!(
                "party: {} is not the id of a listed party (0..{})",
                self.party,
                n - 1
            ));
        }
        for (name, secs) in [
            ("timeouts.join_secs", self.timeouts.join_secs),
            ("timeouts.game_secs", self.timeouts.game_secs),
            ("timeouts.recv_secs", self.timeouts.recv_secs),
            ("timeouts.grace_secs", self.timeouts.grace_secs),
            ("tuples.check_secs", self.tuples.check_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0 && secs < 1e7) {
                return Err(format!("{name}: must be a positive number of seconds"));
            }
        }
        if self.tuples.insecure_dealer {
            match &self.tuples.insecure_dealer_seed {
                None => {
                    return Err("tuples.insecure_dealer_seed: required when insecure_dealer = true (64 hex digits, the same on every party)".into())
                }
                Some(s) if parse_seed(s).is_none() => {
                    return Err("tuples.insecure_dealer_seed: must be 64 hex digits".into())
                }
                _ => {}
            }
        }
        for k in self.tuples.pools.keys() {
            if !matches!(
                k.as_str(),
                "triple" | "square" | "bit" | "inverse" | "input_mask"
            ) {
                return Err(format!(
                    "tuples.pools.{k}: unknown tuple kind; use triple, square, bit, inverse or input_mask"
                ));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            if c.token.is_some() == c.token_file.is_some() {
                return Err(format!(
                    "clients[{i}]: give exactly one of token and token_file"
                ));
            }
        }
        Ok(())
    }

    /// The dealer seed, if the insecure dealer is on.
    pub fn insecure_dealer_seed(&self) -> Option<[u8; 32]> {
        if !self.tuples.insecure_dealer {
            return None;
        }
        self.tuples.insecure_dealer_seed.as_deref().and_then(parse_seed)
    }

    /// Number of parties.
    pub fn n_parties(&self) -> usize {
        self.parties.len()
    }
}

fn parse_seed(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
