//! The node's configuration file (`party.toml`).
//!
//! ```toml
//! party = 0                                  # this party's id
//!
//! [api]
//! listen = "127.0.0.1:7100"                  # HTTP API
//! max_body_bytes = 67108864
//! tls_cert = "certs/api0.pem"                # optional: serve HTTPS with this certificate
//! tls_key = "certs/api0.key"                 # (chain, PEM) and key; both or neither. Without
//!                                            # them the API is plain HTTP: use only on loopback
//!                                            # or behind a TLS-terminating proxy
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
//! token = "…"                                # or token_file = "…" (a file holding it, e.g. a
//!                                            # mounted Kubernetes or Compose secret), or
//!                                            # token_env = "VAR" (an environment variable)
//!
//! [timeouts]
//! join_secs = 30          # parties must register for a game within this
//! game_secs = 600         # a game must end within this
//! recv_secs = 60          # any single receive from a peer
//! grace_secs = 300        # finished games are remembered this long
//! recovery_secs = 1       # how often a party checks for undecided commits to resolve
//!
//! [tuples]
//! insecure_dealer = true                     # INSECURE: dealer preprocessing from a shared seed
//! insecure_dealer_seed = "<64 hex digits>"   # the same on every party
//!
//! [carbyne]                                  # Carbyne Stack compatible routes (docs/CARBYNE.md)
//! enabled = true                             # default: on
//! amphora_prefix = "/amphora"                # Amphora's public API ("" for the root)
//! castor_prefix = "/castor"                  # Castor's telemetry
//! activation_path = "/"                      # Ephemeral's activation endpoint
//! ```
//!
//! Relative paths are relative to the config file's directory.
//!
//! **Secrets outside the file (12-factor).** Every private key and certificate is a path, so a
//! Kubernetes Secret volume or a Compose secret (`/run/secrets/…`) works as it is; a client's
//! token may come inline, from a file (`token_file`) or from an environment variable
//! (`token_env`, read once at load; see [`NodeConfig::parse_with_env`]). Keys are deliberately
//! not read from the environment: a PEM key there is visible to every process that can read
//! `/proc/<pid>/environ` and to every child process.

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
    /// HTTPS: the server certificate, PEM (the end-entity certificate first, then any
    /// intermediates). Both `tls_cert` and `tls_key`, or neither (plain HTTP).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// HTTPS: the private key of `tls_cert`, PEM (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
}

impl ApiConfig {
    /// Whether the API serves HTTPS (`tls_cert` and `tls_key` are set).
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
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
    /// An operator: may run administrative operations (`POST /v1/admin/rekey`).
    #[serde(default)]
    pub admin: bool,
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
    /// How often a party other than 0 checks whether it must reconcile with party 0
    /// (undecided joint commits, uncommitted chunks, failed sessions; `crate::recovery`).
    pub recovery_secs: f64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            join_secs: 30.0,
            game_secs: 600.0,
            recv_secs: 60.0,
            grace_secs: 300.0,
            recovery_secs: 1.0,
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
    pub fn recovery(&self) -> Duration {
        Duration::from_secs_f64(self.recovery_secs.clamp(0.05, 3600.0))
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
    /// Per kind (`triple`, `square`, `bit`, `inverse`, `input_mask`, and for the binary domain
    /// `bit_triple`, `dabit`, `edabit` and `wide_edabit`, each covering every shape): pool
    /// threshold and batch.
    pub pools: BTreeMap<String, PoolPolicy>,
    /// How often party 0 checks the pools, in seconds.
    pub check_secs: f64,
    /// MASCOT jobs party 0 runs at once for a request that waits for tuples, each on its own
    /// channel and session (default: this machine's cores, at most 4).
    pub parallel_jobs: Option<usize>,
}

impl TupleConfig {
    /// How many on-demand jobs run at once ([`TupleConfig::parallel_jobs`]).
    pub fn parallel_jobs(&self) -> usize {
        self.parallel_jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, 4)
        })
    }
}

impl Default for TupleConfig {
    fn default() -> Self {
        TupleConfig {
            insecure_dealer: false,
            insecure_dealer_seed: None,
            pools: BTreeMap::new(),
            check_secs: 1.0,
            parallel_jobs: None,
        }
    }
}

/// `[carbyne]`: where the Carbyne Stack compatible routes live (`http::carbyne`), so that the
/// original's Java clients and CLI can talk to this node unchanged.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CarbyneConfig {
    /// Serve the compatible routes (default: yes).
    pub enabled: bool,
    /// Prefix of Amphora's public API (`{prefix}/secret-shares`, …); `""` serves it at the root.
    pub amphora_prefix: String,
    /// Prefix of Castor's telemetry (`{prefix}/intra-vcp/telemetry`); `""` for the root.
    pub castor_prefix: String,
    /// The path of Ephemeral's activation endpoint (`POST`).
    pub activation_path: String,
}

impl Default for CarbyneConfig {
    fn default() -> Self {
        CarbyneConfig {
            enabled: true,
            amphora_prefix: "/amphora".into(),
            castor_prefix: "/castor".into(),
            activation_path: "/".into(),
        }
    }
}

impl CarbyneConfig {
    /// Every compatible route path (prefix included), with the field it comes from.
    pub fn paths(&self) -> Vec<(&'static str, String)> {
        use api::carbyne::{amphora as a, castor as c};
        let mut v: Vec<(&'static str, String)> = [
            a::INPUT_MASKS,
            a::MASKED_INPUTS,
            a::SECRET_SHARES,
            a::SECRET_SHARE,
            a::TAGS,
            a::TAGS_DOUBLE_SLASH,
            a::TAG,
            a::TAG_DOUBLE_SLASH,
        ]
        .iter()
        .map(|p| {
            (
                "carbyne.amphora_prefix",
                format!("{}{p}", self.amphora_prefix),
            )
        })
        .collect();
        v.push((
            "carbyne.castor_prefix",
            format!("{}{}", self.castor_prefix, c::TELEMETRY),
        ));
        v.push(("carbyne.activation_path", self.activation_path.clone()));
        v
    }

    /// Prefixes are `""` or `/segment[/segment…]` (letters, digits, `-._~`); the activation path
    /// is `/` or such a path. None may reach into `/v1`, `/metrics` or `/openapi.json`, and no two
    /// routes may coincide (the router would refuse them).
    fn validate(&self) -> Result<(), String> {
        let well_formed = |p: &str| {
            p.is_empty()
                || (p.starts_with('/')
                    && p[1..].split('/').all(|seg| {
                        !seg.is_empty()
                            && seg
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
                    }))
        };
        for (name, p) in [
            ("carbyne.amphora_prefix", &self.amphora_prefix),
            ("carbyne.castor_prefix", &self.castor_prefix),
        ] {
            if !well_formed(p) {
                return Err(format!(
                    "{name}: {p:?} is not a path prefix; write \"\" or \"/name[/name…]\" (letters, digits, -._~), without a trailing slash"
                ));
            }
        }
        let act = &self.activation_path;
        if act != "/" && (act.is_empty() || !well_formed(act)) {
            return Err(format!(
                "carbyne.activation_path: {act:?} is not a path; write \"/\" or \"/name[/name…]\" (letters, digits, -._~)"
            ));
        }
        let mut seen = std::collections::BTreeMap::new();
        for (name, path) in self.paths() {
            let native = path == api::paths::METRICS
                || path == api::paths::OPENAPI
                || path == api::API_PREFIX
                || path.starts_with(&format!("{}/", api::API_PREFIX));
            if native {
                return Err(format!(
                    "{name}: the route {path} would take the place of the node's own API; choose another prefix"
                ));
            }
            if let Some(other) = seen.insert(path.clone(), name) {
                return Err(format!(
                    "{name}: the route {path} is also a route of {other}; choose prefixes that differ"
                ));
            }
        }
        Ok(())
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
    #[serde(default)]
    pub security: SecurityConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub carbyne: CarbyneConfig,
    /// INSECURE, for tests of cheating detection only: make this party tamper at one stage
    /// (`upload`: mask shares; `store`: the masked values it claims; `download`: delivered shares;
    /// `execution`: its input shares in games; `cope`: an error in one COPE column of every MASCOT
    /// job, the selective-failure attack on the MAC key; `public-output`: a forged printed text
    /// and plaintext value). The node warns loudly at start.
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

    /// Parses and checks a config text; `base` resolves relative paths. `token_env` settings
    /// read the process environment.
    pub fn parse(text: &str, name: &str, base: &Path) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse_with_env(text, name, base, &|var| std::env::var_os(var))
    }

    /// As [`NodeConfig::parse`], with `env` standing for the process environment (tests).
    ///
    /// `[[clients]] token_env = "VAR"` is replaced by the token the variable holds before the
    /// typed parse, so the rest of the node sees an inline token: an unset, empty or non-UTF-8
    /// variable, or `token_env` beside `token` or `token_file`, is an error naming the entry.
    pub fn parse_with_env(
        text: &str,
        name: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<NodeConfig, ConfigError> {
        let err = |message: String| ConfigError {
            path: name.to_string(),
            message,
        };
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut cfg: NodeConfig = if resolve_token_env(&mut doc, env).map_err(err)? {
            doc.try_into().map_err(|e| err(e.to_string()))?
        } else {
            // From the text, so that errors keep their line and column.
            toml::from_str(text).map_err(|e| err(e.to_string()))?
        };
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
        if let Some(p) = &mut self.api.tls_cert {
            fix(p);
        }
        if let Some(p) = &mut self.api.tls_key {
            fix(p);
        }
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

    /// Checks what serde cannot; the message starts with the field it is about.
    fn validate(&self) -> Result<(), String> {
        let n = self.parties.len();
        if n < 2 {
            return Err(format!(
                "parties: {n} listed; a virtual cloud needs at least 2 [[parties]] entries"
            ));
        }
        if self.api.max_body_bytes < MIN_BODY_BYTES {
            return Err(format!(
                "api.max_body_bytes: {} is too small; allow at least {MIN_BODY_BYTES} bytes",
                self.api.max_body_bytes
            ));
        }
        match (&self.api.tls_cert, &self.api.tls_key) {
            (Some(_), None) => {
                return Err("api.tls_key: required when api.tls_cert is set (the certificate's private key, PEM); give both or neither".into())
            }
            (None, Some(_)) => {
                return Err("api.tls_cert: required when api.tls_key is set (the server certificate, PEM); give both or neither".into())
            }
            _ => {}
        }
        for (i, p) in self.parties.iter().enumerate() {
            if p.id != i {
                return Err(format!(
                    "parties[{i}].id: is {}, but parties must be listed in id order 0, 1, …",
                    p.id
                ));
            }
            if !(p.api_url.starts_with("http://") || p.api_url.starts_with("https://")) {
                return Err(format!(
                    "parties[{i}].api_url: {:?} is not an http:// or https:// URL",
                    p.api_url
                ));
            }
            if !is_host_port(&p.mpc_addr) {
                return Err(format!(
                    "parties[{i}].mpc_addr: {:?} is not host:port",
                    p.mpc_addr
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
            ("timeouts.recovery_secs", self.timeouts.recovery_secs),
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
        for (k, policy) in &self.tuples.pools {
            if !TUPLE_KINDS.contains(&k.as_str()) {
                return Err(format!(
                    "tuples.pools.{k}: unknown tuple kind; use triple, square, bit, inverse, input_mask, bit_triple, dabit, edabit or wide_edabit"
                ));
            }
            if policy.batch == 0 {
                return Err(format!("tuples.pools.{k}.batch: must be at least 1"));
            }
        }
        if let Some(p) = self.tuples.parallel_jobs {
            if !(1..=64).contains(&p) {
                return Err(format!(
                    "tuples.parallel_jobs: {p} is outside 1..=64 (jobs party 0 runs at once)"
                ));
            }
            if p > self.limits.max_concurrent_jobs {
                return Err(format!(
                    "tuples.parallel_jobs: {p} is more than limits.max_concurrent_jobs = {}; raise that limit too",
                    self.limits.max_concurrent_jobs
                ));
            }
        }
        self.validate_clients()?;
        self.carbyne.validate()?;
        if !(20..=80).contains(&self.security.min_statistical_security) {
            return Err(format!(
                "security.min_statistical_security: {} is outside 20..=80",
                self.security.min_statistical_security
            ));
        }
        let l = &self.limits;
        for (name, v) in [
            ("limits.max_concurrent_games", l.max_concurrent_games as u64),
            (
                "limits.max_concurrent_compiles",
                l.max_concurrent_compiles as u64,
            ),
            (
                "limits.max_pending_uploads_per_user",
                l.max_pending_uploads_per_user as u64,
            ),
            ("limits.max_concurrent_jobs", l.max_concurrent_jobs as u64),
            ("limits.max_job_tuples", l.max_job_tuples),
            (
                "limits.max_concurrent_requests",
                l.max_concurrent_requests as u64,
            ),
            ("limits.game_memory_mib", l.game_memory_mib),
            ("limits.max_joint_requests", l.max_joint_requests as u64),
            ("limits.transfer_memory_mib", l.transfer_memory_mib),
            (
                "limits.max_joint_requests_per_user",
                l.max_joint_requests_per_user as u64,
            ),
            ("limits.node_memory_mib", l.node_memory_mib),
        ] {
            if v == 0 {
                return Err(format!("{name}: must be at least 1"));
            }
        }
        if l.game_memory_mib > l.node_memory_mib {
            return Err(format!(
                "limits.game_memory_mib: {} is more than limits.node_memory_mib ({})",
                l.game_memory_mib, l.node_memory_mib
            ));
        }
        if let Some(stage) = &self.insecure_tamper {
            if !TAMPER_STAGES.contains(&stage.as_str()) {
                return Err(format!(
                    "insecure_tamper: unknown stage {stage:?}; use upload, store, download, execution, cope or public-output"
                ));
            }
        }
        Ok(())
    }

    /// `[[clients]]`: a valid user name (it becomes the owner of secrets and functions) and
    /// exactly one of `token` and `token_file`; no inline token used twice. Token files are read
    /// by [`crate::auth::Tokens::from_config`].
    fn validate_clients(&self) -> Result<(), String> {
        for (i, c) in self.clients.iter().enumerate() {
            if let Some(reason) = user_name_problem(&c.user) {
                return Err(format!("clients[{i}].user: {reason}"));
            }
            match (&c.token, &c.token_file) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(format!(
                        "clients[{i}]: give exactly one of token, token_file and token_env"
                    ))
                }
                (Some(t), None) if t.trim().is_empty() => {
                    return Err(format!("clients[{i}].token: is empty"))
                }
                _ => {}
            }
        }
        for (j, c) in self.clients.iter().enumerate() {
            let Some(t) = &c.token else { continue };
            if let Some(i) = self.clients[..j]
                .iter()
                .position(|d| d.token.as_deref().map(str::trim) == Some(t.trim()))
            {
                return Err(format!(
                    "clients[{j}].token: the same token as clients[{i}]; every client needs its own token"
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
        self.tuples
            .insecure_dealer_seed
            .as_deref()
            .and_then(parse_seed)
    }

    /// Number of parties.
    pub fn n_parties(&self) -> usize {
        self.parties.len()
    }
}

/// Replaces each `[[clients]] token_env = "VAR"` of `doc` by `token = <the value of VAR>`;
/// whether there was any.
fn resolve_token_env(
    doc: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<bool, String> {
    let Some(toml::Value::Array(clients)) = doc.get_mut("clients") else {
        return Ok(false);
    };
    let mut any = false;
    for (i, c) in clients.iter_mut().enumerate() {
        let Some(table) = c.as_table_mut() else {
            continue; // the typed parse names the problem
        };
        let Some(var) = table.remove("token_env") else {
            continue;
        };
        let field = format!("clients[{i}].token_env");
        let Some(var) = var.as_str().map(str::to_string) else {
            return Err(format!(
                "{field}: must be the name of an environment variable (a string)"
            ));
        };
        if var.is_empty() || var.contains(['=', '\0']) {
            return Err(format!(
                "{field}: {var:?} is not an environment variable name"
            ));
        }
        if table.contains_key("token") || table.contains_key("token_file") {
            return Err(format!(
                "clients[{i}]: give exactly one of token, token_file and token_env"
            ));
        }
        let value = match env(&var) {
            None => {
                return Err(format!(
                    "{field}: the environment variable {var} is not set; set it to this client's token, or use token_file"
                ))
            }
            Some(v) => v.into_string().map_err(|_| {
                format!("{field}: the environment variable {var} is not valid UTF-8")
            })?,
        };
        if value.trim().is_empty() {
            return Err(format!(
                "{field}: the environment variable {var} is empty; set it to this client's token"
            ));
        }
        table.insert(
            "token".into(),
            toml::Value::String(value.trim().to_string()),
        );
        any = true;
    }
    Ok(any)
}

/// Smallest accepted `api.max_body_bytes`.
pub const MIN_BODY_BYTES: usize = 1024;

/// `[security]`: what this node demands of every program, whatever the program asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// The least statistical security parameter s (bits) a program may set with
    /// `program.security`: masked openings of comparisons and truncations hide a k-bit value
    /// behind k + s random bits, so a small s leaks inputs. Default 40, at least 20.
    pub min_statistical_security: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            min_statistical_security: 40,
        }
    }
}

/// `[limits]`: every resource a client or a peer can make this node spend is bounded; a request
/// beyond a limit gets 429 (the caller's own limit) or 503 (the node's), with `Retry-After`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Games running at once on this node.
    pub max_concurrent_games: usize,
    /// Programs compiled at once (cache hits need no slot).
    pub max_concurrent_compiles: usize,
    /// Uploads per user whose masks were handed out and whose masked values have not come.
    pub max_pending_uploads_per_user: usize,
    /// Tuple generation jobs this party runs at once (led or followed).
    pub max_concurrent_jobs: usize,
    /// Most tuples one generation job may ask of this party (its shares are held in memory).
    pub max_job_tuples: u64,
    /// HTTP requests being served at once.
    pub max_concurrent_requests: usize,
    /// Incoming gateway connections still in their TLS handshake at once (more are closed).
    pub max_gateway_handshakes: usize,
    /// Memory one game's VM may use, MiB.
    pub game_memory_mib: u64,
    /// Memory all games' VMs may use together, MiB.
    pub node_memory_mib: u64,
    /// Joint requests (uploads, downloads, deletes, games: each waits for the other parties)
    /// in progress at once on this node (503 beyond). A request waiting for the parties holds
    /// no thread; once agreed it runs on a blocking thread, and the node's blocking pool is
    /// sized above this bound ([`LimitsConfig::blocking_threads`]), so that reads never queue
    /// behind joint requests. Also keep it well below `max_concurrent_requests`, which counts
    /// every HTTP request (reads too).
    pub max_joint_requests: usize,
    /// Joint requests of one user in progress at once (429 beyond).
    pub max_joint_requests_per_user: usize,
    /// Memory one upload or download may use, MiB: its most values follow from it (a transfer
    /// works on 16 Ki values at a time, 1.5 KiB each, and holds 512 bytes per value for its
    /// whole run: 1024 MiB allow about 2 million values; the upload body must also fit
    /// `api.max_body_bytes`, 22 bytes a value); it is held from `node_memory_mib` while it runs
    /// (and never more than it). Beyond the most values: 413, saying the maximum.
    pub transfer_memory_mib: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_concurrent_games: 64,
            max_concurrent_compiles: 4,
            max_pending_uploads_per_user: 64,
            max_concurrent_jobs: 4,
            max_job_tuples: 1 << 20,
            max_concurrent_requests: 1024,
            max_gateway_handshakes: net::gateway::DEFAULT_MAX_HANDSHAKES,
            game_memory_mib: 1024,
            node_memory_mib: 8192,
            max_joint_requests: 512,
            max_joint_requests_per_user: 128,
            transfer_memory_mib: 1024,
        }
    }
}

impl LimitsConfig {
    /// Threads of the node's blocking pool: every joint request that runs at once (at most
    /// `max_joint_requests`) plus 256 for reads, store work and generation jobs, and never fewer
    /// than tokio's default of 512.
    pub fn blocking_threads(&self) -> usize {
        self.max_joint_requests.saturating_add(256).max(512)
    }
}

/// The tuple kinds `[tuples.pools]` may name.
const TUPLE_KINDS: [&str; 9] = [
    "triple",
    "square",
    "bit",
    "inverse",
    "input_mask",
    "bit_triple",
    "dabit",
    "edabit",
    "wide_edabit",
];

/// The stages `insecure_tamper` may name.
const TAMPER_STAGES: [&str; 6] = [
    "upload",
    "store",
    "download",
    "execution",
    "cope",
    "public-output",
];

/// Why `name` cannot be a user name (the secret store's owner rules), or `None`.
fn user_name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("is empty")
    } else if name.chars().count() > 256 {
        Some("is longer than 256 characters")
    } else if name.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    }
}

/// Whether `s` is `host:port` (a name or an IP address; IPv6 in brackets) with a non-zero port.
fn is_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(char::is_whitespace)
                && port.parse::<u16>().is_ok_and(|p| p != 0)
        }
        None => false,
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

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A valid two-party config; `extra` is prepended (top-level keys) and `tail` appended.
    fn text(extra: &str, tail: &str) -> String {
        format!(
            r#"{extra}
party = 1

[api]
listen = "127.0.0.1:7101"

[mpc]
listen = "127.0.0.1:7201"
cert = "certs/party1.pem"
key = "/abs/party1.key"

[[parties]]
id = 0
api_url = "http://127.0.0.1:7100"
mpc_addr = "127.0.0.1:7200"
cert = "certs/party0.pem"

[[parties]]
id = 1
api_url = "https://node1.example:7101"
mpc_addr = "node1.example:7201"
cert = "certs/party1.pem"

[storage]
path = "data/party1"

[[clients]]
user = "alice"
token = "alice-token"

[[clients]]
user = "bob"
token_file = "bob.token"

[tuples]
insecure_dealer = true
insecure_dealer_seed = "{SEED}"
{tail}
"#
        )
    }

    fn parse(t: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(t, "party1.toml", Path::new("/etc/eph"))
    }

    /// The validation message of `t`, which must fail.
    fn fails(t: &str) -> String {
        let e = parse(t).expect_err("config must be refused");
        assert_eq!(e.path, "party1.toml");
        e.message
    }

    #[test]
    fn carbyne_routes_default_on_and_move_with_their_prefixes() {
        let c = parse(&text("", "")).unwrap();
        assert_eq!(c.carbyne, CarbyneConfig::default());
        assert!(c.carbyne.enabled);
        let paths: Vec<String> = c.carbyne.paths().into_iter().map(|(_, p)| p).collect();
        assert!(paths.contains(&"/amphora/secret-shares/{id}//tags".to_string()));
        assert!(paths.contains(&"/castor/intra-vcp/telemetry".to_string()));
        assert!(paths.contains(&"/".to_string()));
        let c = parse(&text(
            "",
            "[carbyne]\namphora_prefix = \"\"\ncastor_prefix = \"/cs/castor\"\nactivation_path = \"/ephemeral\"\n",
        ))
        .unwrap();
        assert_eq!(c.carbyne.amphora_prefix, "");
        for (bad, field) in [
            ("amphora_prefix = \"/amphora/\"", "carbyne.amphora_prefix"),
            ("amphora_prefix = \"amphora\"", "carbyne.amphora_prefix"),
            ("castor_prefix = \"/a b\"", "carbyne.castor_prefix"),
            ("castor_prefix = \"/{x}\"", "carbyne.castor_prefix"),
            ("activation_path = \"\"", "carbyne.activation_path"),
            ("activation_path = \"/v1/games\"", "carbyne.activation_path"),
            ("amphora_prefix = \"/v1\"", "carbyne.amphora_prefix"),
            ("activation_path = \"/metrics\"", "carbyne.activation_path"),
            (
                "activation_path = \"/amphora/masked-inputs\"",
                "carbyne.activation_path",
            ),
            ("colour = 1", "unknown field"),
        ] {
            let m = fails(&text("", &format!("[carbyne]\n{bad}\n")));
            assert!(m.contains(field), "{bad}: {m}");
        }
    }

    #[test]
    fn a_valid_config_parses_with_defaults_and_resolves_relative_paths() {
        let c = parse(&text("", "")).unwrap();
        assert_eq!(c.party, 1);
        assert_eq!(c.n_parties(), 2);
        assert_eq!(c.api.max_body_bytes, api::DEFAULT_MAX_BODY);
        assert_eq!(c.mpc.cert, Path::new("/etc/eph/certs/party1.pem"));
        assert_eq!(c.mpc.key, Path::new("/abs/party1.key"));
        assert_eq!(c.parties[0].cert, Path::new("/etc/eph/certs/party0.pem"));
        assert_eq!(c.storage.path, Path::new("/etc/eph/data/party1"));
        assert_eq!(
            c.clients[1].token_file.as_deref(),
            Some(Path::new("/etc/eph/bob.token"))
        );
        assert_eq!(c.timeouts.join(), Duration::from_secs(30));
        assert_eq!(c.insecure_dealer_seed().unwrap()[0], 0x01);
        assert!(!c.api.tls());
        assert_eq!(c.api.tls_cert, None);
    }

    #[test]
    fn api_tls_paths_resolve_like_the_mpc_certificate() {
        let c = parse(&text("", "").replace(
            "listen = \"127.0.0.1:7101\"",
            "listen = \"127.0.0.1:7101\"\ntls_cert = \"certs/api1.pem\"\ntls_key = \"/abs/api1.key\"",
        ))
        .unwrap();
        assert!(c.api.tls());
        assert_eq!(
            c.api.tls_cert.as_deref(),
            Some(Path::new("/etc/eph/certs/api1.pem"))
        );
        assert_eq!(c.api.tls_key.as_deref(), Some(Path::new("/abs/api1.key")));
        // Misspelled keys are still refused.
        let m = fails(&text("", "").replace(
            "listen = \"127.0.0.1:7101\"",
            "listen = \"127.0.0.1:7101\"\ntls_certificate = \"a.pem\"",
        ));
        assert!(m.contains("tls_certificate"), "{m}");
    }

    #[test]
    fn load_resolves_against_the_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("party1.toml");
        std::fs::write(&path, text("", "")).unwrap();
        let c = NodeConfig::load(&path).unwrap();
        assert_eq!(c.storage.path, dir.path().join("data/party1"));
        let e = NodeConfig::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(e.message.contains("cannot read the config file"), "{e}");
    }

    #[test]
    fn serde_errors_name_the_field() {
        let m = fails(&text("", "").replace("listen = \"127.0.0.1:7101\"", ""));
        assert!(m.contains("listen"), "{m}");
        let m = fails(&text("colour = 3", ""));
        assert!(m.contains("colour"), "{m}");
        let m = fails(&text("", "").replace("party = 1", "party = \"one\""));
        assert!(m.contains("party"), "{m}");
    }

    #[test]
    fn each_validation_error_names_its_field() {
        let two_parties = text("", "");
        let cases: Vec<(String, &str)> = vec![
            (text("", "").replace("party = 1", "party = 2"), "party:"),
            (text("", "").replace("id = 1", "id = 5"), "parties[1].id:"),
            (
                text("", "").replace("http://127.0.0.1:7100", "ftp://x"),
                "parties[0].api_url:",
            ),
            (
                text("", "").replace("node1.example:7201", "node1.example"),
                "parties[1].mpc_addr:",
            ),
            (
                two_parties.replace(
                    "listen = \"127.0.0.1:7101\"",
                    "listen = \"127.0.0.1:7101\"\nmax_body_bytes = 10",
                ),
                "api.max_body_bytes:",
            ),
            (
                two_parties.replace(
                    "listen = \"127.0.0.1:7101\"",
                    "listen = \"127.0.0.1:7101\"\ntls_cert = \"api.pem\"",
                ),
                "api.tls_key:",
            ),
            (
                two_parties.replace(
                    "listen = \"127.0.0.1:7101\"",
                    "listen = \"127.0.0.1:7101\"\ntls_key = \"api.key\"",
                ),
                "api.tls_cert:",
            ),
            (text("", "[timeouts]\njoin_secs = 0"), "timeouts.join_secs:"),
            (
                text("", "[timeouts]\nrecv_secs = -1"),
                "timeouts.recv_secs:",
            ),
            (text("", "check_secs = 1e9"), "tuples.check_secs:"),
            (
                text("", "").replace(SEED, "abc"),
                "tuples.insecure_dealer_seed:",
            ),
            (
                text("", "").replace(&format!("insecure_dealer_seed = \"{SEED}\""), ""),
                "tuples.insecure_dealer_seed:",
            ),
            (
                text("", "[tuples.pools.sandwich]\nthreshold = 1\nbatch = 1"),
                "tuples.pools.sandwich:",
            ),
            (
                text("", "[tuples.pools.bit]\nthreshold = 1\nbatch = 0"),
                "tuples.pools.bit.batch:",
            ),
            (
                text("", "").replace("user = \"alice\"", "user = \"\""),
                "clients[0].user:",
            ),
            (
                text("", "").replace("token = \"alice-token\"", "token = \"  \""),
                "clients[0].token:",
            ),
            (
                text("", "").replace("token_file = \"bob.token\"", "token = \"alice-token\""),
                "clients[1].token:",
            ),
            (
                text("", "").replace("token_file = \"bob.token\"", ""),
                "clients[1]:",
            ),
            (
                text("insecure_tamper = \"everything\"", ""),
                "insecure_tamper:",
            ),
        ];
        for (t, field) in cases {
            let m = fails(&t);
            assert!(m.starts_with(field), "expected {field} in {m:?}");
        }
        let one = text("", "");
        let cut = one.find("[[parties]]\nid = 1").unwrap();
        let end = one[cut..].find("[storage]").unwrap() + cut;
        let m = fails(&format!("{}{}", &one[..cut], &one[end..]).replace("party = 1", "party = 0"));
        assert!(m.starts_with("parties:"), "{m}");
    }

    /// `text`'s clients with `token_env` (carol) parsed against a fake environment.
    fn with_env(t: &str, vars: &[(&str, &[u8])]) -> Result<NodeConfig, ConfigError> {
        use std::os::unix::ffi::OsStringExt;
        let vars: Vec<(String, Vec<u8>)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        let env = move |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| std::ffi::OsString::from_vec(v.clone()))
        };
        NodeConfig::parse_with_env(t, "party1.toml", Path::new("/etc/eph"), &env)
    }

    const CAROL: &str = "\n[[clients]]\nuser = \"carol\"\ntoken_env = \"CAROL_TOKEN\"\n";

    #[test]
    fn a_token_can_come_from_the_environment() {
        // (bob's token file does not exist here: inline tokens only, so the node's reader runs.)
        let t = text("", CAROL).replace("token_file = \"bob.token\"", "token = \"bob-token-5678\"");
        let c = with_env(&t, &[("CAROL_TOKEN", b" carol-token-1234\n")]).unwrap();
        assert_eq!(c.clients[2].user, "carol");
        assert_eq!(c.clients[2].token.as_deref(), Some("carol-token-1234"));
        assert_eq!(c.clients[2].token_file, None);
        let tokens = crate::auth::Tokens::from_config(&c).unwrap();
        let user = tokens
            .authenticate(Some("Bearer carol-token-1234"))
            .unwrap();
        assert_eq!(user.name, "carol");
        // Other errors keep their place in the file when no token_env is used.
        let m = fails(&text("colour = 3", ""));
        assert!(m.contains("line"), "{m}");
    }

    #[test]
    fn each_token_env_failure_names_the_entry_and_says_what_to_do() {
        /// (config text, environment, the error's start)
        type Case<'a> = (String, Vec<(&'a str, &'a [u8])>, &'a str);
        let cases: Vec<Case> = vec![
            (
                text("", CAROL),
                vec![],
                "clients[2].token_env: the environment variable CAROL_TOKEN is not set",
            ),
            (
                text("", CAROL),
                vec![("CAROL_TOKEN", b"  ")],
                "clients[2].token_env: the environment variable CAROL_TOKEN is empty",
            ),
            (
                text("", CAROL),
                vec![("CAROL_TOKEN", b"\xff\xfe")],
                "clients[2].token_env: the environment variable CAROL_TOKEN is not valid UTF-8",
            ),
            (
                text("", &CAROL.replace("\"CAROL_TOKEN\"", "7")),
                vec![],
                "clients[2].token_env: must be the name",
            ),
            (
                text("", &CAROL.replace("CAROL_TOKEN", "")),
                vec![],
                "clients[2].token_env: \"\" is not an environment variable name",
            ),
            (
                text("", &format!("{CAROL}token = \"x-token\"\n")),
                vec![("CAROL_TOKEN", b"t")],
                "clients[2]: give exactly one of token, token_file and token_env",
            ),
            (
                text("", &format!("{CAROL}token_file = \"c.token\"\n")),
                vec![("CAROL_TOKEN", b"t")],
                "clients[2]: give exactly one",
            ),
            // The same token as alice's, from the environment: still refused.
            (
                text("", CAROL),
                vec![("CAROL_TOKEN", b"alice-token")],
                "clients[2].token: the same token as clients[0]",
            ),
        ];
        for (t, vars, want) in cases {
            let e = with_env(&t, &vars).expect_err(want);
            assert_eq!(e.path, "party1.toml");
            assert!(
                e.message.starts_with(want),
                "expected {want:?}, got {:?}",
                e.message
            );
        }
    }

    #[test]
    fn host_port_and_user_names() {
        assert!(is_host_port("127.0.0.1:1"));
        assert!(is_host_port("[::1]:7200"));
        assert!(is_host_port("node-3.svc:7200"));
        assert!(!is_host_port("node:0"));
        assert!(!is_host_port(":7200"));
        assert!(!is_host_port("node"));
        assert!(!is_host_port("no de:1"));
        assert_eq!(user_name_problem("alice"), None);
        assert!(user_name_problem("a\nb").is_some());
        assert!(user_name_problem(&"x".repeat(257)).is_some());
    }
}
