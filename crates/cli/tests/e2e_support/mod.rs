//! Support for the end-to-end tests: clusters of real `ephemeral node` processes on loopback,
//! and a tiny HTTP/1.1 client for requests the SDK would never send.
//!
//! A [`Cluster`] lives in a temporary directory: development certificates
//! (`net::tls::dev_identity`), one config per party from `node::dev_config_text` with short
//! timeouts, and each party's storage and log (`partyI.log`, stdout and stderr). Ports are
//! chosen by binding `127.0.0.1:0` and releasing; a start-up that loses a port to another
//! process is retried on fresh ports. Children are killed when the cluster is dropped (and, on
//! Linux, when the thread that spawned them dies).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use client::{Client, CloudConfig, PartyConfig};

/// The dealer seed of every test cluster.
pub const SEED_HEX: &str = "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0";

/// The receive and join deadlines of the test nodes, in seconds.
pub const DEADLINE_SECS: u64 = 5;

/// The `[tuples]` section of MASCOT test clusters: small pools, checked often, so that generation
/// keeps up with a test without delaying its start.
pub const MASCOT_TUPLES: &str = "[tuples]\ncheck_secs = 0.2\n\
[tuples.pools.triple]\nthreshold = 2000\nbatch = 2000\n\
[tuples.pools.bit]\nthreshold = 1000\nbatch = 1000\n\
[tuples.pools.square]\nthreshold = 100\nbatch = 100\n\
[tuples.pools.inverse]\nthreshold = 100\nbatch = 100\n\
[tuples.pools.input_mask]\nthreshold = 100\nbatch = 100\n";

/// How long a cluster may take to come up (processes started, every peer connected).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Options of a test cluster.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `(party, stage)`: that party's `insecure_tamper`.
    pub tamper: Option<(usize, &'static str)>,
    /// `[api] max_body_bytes` of every party.
    pub max_body_bytes: Option<usize>,
    /// MASCOT preprocessing (small pools) instead of the insecure dealer.
    pub mascot: bool,
    /// Another client `(user, token)` of every party, besides `dev`.
    pub second_client: Option<(&'static str, &'static str)>,
    /// Join and receive deadlines in seconds (default [`DEADLINE_SECS`]).
    pub deadline_secs: Option<u64>,
    /// `[timeouts] recovery_secs` (default: the node's).
    pub recovery_secs: Option<f64>,
    /// Appended to every party's config (e.g. a `[limits]` section).
    pub extra_config: Option<String>,
}

/// One node process.
struct NodeProc {
    child: Child,
}

/// N node processes of one virtual cloud.
pub struct Cluster {
    pub n: usize,
    pub token: String,
    pub dir: tempfile::TempDir,
    pub api: Vec<SocketAddr>,
    pub mpc: Vec<SocketAddr>,
    opts: Options,
    nodes: Vec<Option<NodeProc>>,
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address")
}

impl Cluster {
    /// Starts N nodes and waits until every party reports every peer connected.
    pub fn start(n: usize, opts: Options) -> Cluster {
        let c = Cluster::spawn(n, opts);
        c.wait_healthy();
        c
    }

    /// Starts N nodes without waiting for their links (start several clusters at once, then
    /// [`Cluster::wait_healthy`] on each).
    pub fn spawn(n: usize, opts: Options) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("ephemeral-e2e-")
            .tempdir()
            .expect("tempdir");
        for i in 0..n {
            let id = net::tls::dev_identity(i).expect("dev identity");
            std::fs::write(dir.path().join(format!("party{i}.pem")), &id.cert_pem).unwrap();
            std::fs::write(dir.path().join(format!("party{i}.key")), &id.key_pem).unwrap();
        }
        let mut c = Cluster {
            n,
            token: "e2e-test-token-0123456789".into(),
            dir,
            api: Vec::new(),
            mpc: Vec::new(),
            opts,
            nodes: (0..n).map(|_| None).collect(),
        };
        for attempt in 0..4 {
            c.api = (0..n).map(|_| free_port()).collect();
            c.mpc = (0..n).map(|_| free_port()).collect();
            c.write_configs();
            for i in 0..n {
                c.spawn_node(i);
            }
            // A node that lost its port to another process exits at once, saying so.
            let t = Instant::now();
            let mut clash = false;
            while t.elapsed() < Duration::from_millis(300) && !clash {
                for i in 0..n {
                    if c.exited(i) && c.log_tail(i, 4000).contains("cannot listen") {
                        clash = true;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if !clash {
                return c;
            }
            eprintln!("e2e: port clash on start-up attempt {attempt}; retrying on new ports");
            for i in 0..n {
                c.kill(i);
            }
        }
        panic!("could not start a cluster of {n} nodes: ports kept clashing");
    }

    /// Rewrites every party's config (same ports, storage and certificates).
    fn write_configs(&self) {
        let parties: Vec<(String, String)> = (0..self.n)
            .map(|i| (format!("http://{}", self.api[i]), self.mpc[i].to_string()))
            .collect();
        for i in 0..self.n {
            let mut text =
                node::dev_config_text(i, &parties, self.dir.path(), SEED_HEX, &self.token);
            if let Some((p, stage)) = self.opts.tamper {
                if p == i {
                    text = format!("insecure_tamper = \"{stage}\"\n{text}");
                }
            }
            if self.opts.mascot {
                let dealer = format!(
                    "[tuples]\ninsecure_dealer = true\ninsecure_dealer_seed = \"{SEED_HEX}\"\n"
                );
                assert!(
                    text.contains(&dealer),
                    "dev_config_text changed its [tuples] section"
                );
                text = text.replacen(&dealer, MASCOT_TUPLES, 1);
            }
            if let Some(max) = self.opts.max_body_bytes {
                text = text.replacen("[api]\n", &format!("[api]\nmax_body_bytes = {max}\n"), 1);
            }
            let deadline = self.opts.deadline_secs.unwrap_or(DEADLINE_SECS);
            text.push_str(&format!(
                "[timeouts]\njoin_secs = {deadline}\nrecv_secs = {deadline}\ngrace_secs = 60\n"
            ));
            if let Some(r) = self.opts.recovery_secs {
                text.push_str(&format!("recovery_secs = {r}\n"));
            }
            if let Some((user, token)) = self.opts.second_client {
                text.push_str(&format!(
                    "\n[[clients]]\nuser = \"{user}\"\ntoken = \"{token}\"\n"
                ));
            }
            if let Some(extra) = &self.opts.extra_config {
                text.push('\n');
                text.push_str(extra);
            }
            std::fs::write(self.config_path(i), text).unwrap();
        }
    }

    pub fn config_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("party{i}.toml"))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("party{i}.log"))
    }

    /// Starts party i's process (its log is appended to).
    fn spawn_node(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "party {i} is running already");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ephemeral"));
        cmd.arg("node")
            .arg("--config")
            .arg(self.config_path(i))
            .current_dir(self.dir.path())
            .env("RUST_LOG", "info,node::http::error=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("spawn ephemeral node");
        self.nodes[i] = Some(NodeProc { child });
    }

    /// Party i's process id, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].as_ref().map(|p| p.child.id())
    }

    /// Whether party i's process has exited (or is not running).
    pub fn exited(&mut self, i: usize) -> bool {
        match &mut self.nodes[i] {
            Some(p) => !matches!(p.child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// SIGKILLs party i and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut p) = self.nodes[i].take() {
            // A paused process dies of SIGKILL too; SIGCONT first so nothing lingers stopped.
            // SAFETY: kill(2) on our own child's pid, not yet reaped.
            unsafe { libc::kill(p.child.id() as libc::pid_t, libc::SIGCONT) };
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// Freezes party i (SIGSTOP): its connections stay open but it answers nothing, as a hung
    /// machine or a partition would.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
    }

    /// Lets a paused party i run again (SIGCONT).
    pub fn resume(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
    }

    fn signal(&mut self, i: usize, sig: libc::c_int) {
        let p = self.nodes[i].as_ref().expect("party is running");
        let pid = p.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid, which is not reaped while `self.nodes[i]` holds it.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
    }

    /// Sets which party tampers (or none) and rewrites every config; it takes effect when a
    /// party is restarted.
    pub fn set_tamper(&mut self, tamper: Option<(usize, &'static str)>) {
        self.opts.tamper = tamper;
        self.write_configs();
    }

    /// Starts party i again from the same config and storage.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn_node(i);
    }

    /// The last `bytes` of party i's log.
    pub fn log_tail(&self, i: usize, bytes: usize) -> String {
        let s = std::fs::read(self.log_path(i)).unwrap_or_default();
        let from = s.len().saturating_sub(bytes);
        String::from_utf8_lossy(&s[from..]).into_owned()
    }

    /// Every party's log tail, for panic messages.
    pub fn logs(&self) -> String {
        (0..self.n)
            .map(|i| format!("--- party {i} log tail ---\n{}\n", self.log_tail(i, 3000)))
            .collect()
    }

    /// Waits until every party answers `/v1/health` with every peer connected (a party whose
    /// generation is halted counts: it is up and connected); panics with the logs otherwise.
    pub fn wait_healthy(&self) {
        let t = Instant::now();
        let mut last = String::new();
        loop {
            let mut ok = true;
            for i in 0..self.n {
                match self.health(i) {
                    Ok(h)
                        if (h.status == "ok" || h.status == "halted")
                            && h.peers.iter().all(|p| p.connected) => {}
                    Ok(h) => {
                        ok = false;
                        last = format!("party {i}: {h:?}");
                    }
                    Err(e) => {
                        ok = false;
                        last = format!("party {i}: {e}");
                    }
                }
                if !ok {
                    break;
                }
            }
            if ok {
                return;
            }
            if t.elapsed() > START_TIMEOUT {
                panic!(
                    "the cluster of {} parties in {} did not become healthy within {START_TIMEOUT:?}; last: {last}\n{}",
                    self.n,
                    self.dir.path().display(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Party i's `/v1/health`.
    pub fn health(&self, i: usize) -> Result<api::Health, String> {
        let r =
            http(self.api[i], "GET", api::paths::HEALTH, &[], None).map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("status {}: {}", r.status, r.text()));
        }
        serde_json::from_slice(&r.body).map_err(|e| format!("{e}: {}", r.text()))
    }

    /// A client of every party (request timeout 60 s), as the `dev` user.
    pub fn client(&self) -> Client {
        self.client_with_token(&self.token)
    }

    /// A client of every party with request timeout `secs`, as the `dev` user.
    pub fn client_with_timeout(&self, secs: u64) -> Client {
        let mut cfg = self.client().config().clone();
        cfg.timeout_secs = secs;
        Client::new(cfg).expect("client")
    }

    /// Where party i keeps its stores.
    pub fn storage(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("party{i}-data"))
    }

    /// A client of every party presenting `token`.
    pub fn client_with_token(&self, token: &str) -> Client {
        let parties = (0..self.n)
            .map(|i| PartyConfig {
                id: i,
                url: format!("http://{}", self.api[i]),
                token: Some(token.to_string()),
                ca_cert: None,
            })
            .collect();
        let mut cfg = CloudConfig::new(parties).expect("cloud config");
        cfg.timeout_secs = 60;
        Client::new(cfg).expect("client")
    }

    /// An authenticated `GET path` to party i, off the async runtime's threads; panics if the
    /// request cannot be made (the answer's status is the caller's to check).
    pub async fn get(&self, i: usize, path: &str) -> Response {
        let (addr, auth, path) = (
            self.api[i],
            format!("Bearer {}", self.token),
            path.to_string(),
        );
        blocking(move || {
            http(
                addr,
                "GET",
                &path,
                &[("Authorization", auth.as_str())],
                None,
            )
        })
        .await
        .unwrap_or_else(|e| panic!("GET to party {i}: {e}"))
    }

    /// An authenticated request to party i.
    pub fn request(
        &self,
        i: usize,
        method: &str,
        path: &str,
        json: Option<&serde_json::Value>,
    ) -> Response {
        let auth = format!("Bearer {}", self.token);
        let body = json.map(|v| serde_json::to_vec(v).unwrap());
        let mut headers = vec![("Authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http(self.api[i], method, path, &headers, body.as_deref()).unwrap_or_else(|e| {
            panic!(
                "{method} {path} to party {i}: {e}\n{}",
                self.log_tail(i, 3000)
            )
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.n {
            self.kill(i);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// An HTTP response: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as an [`api::ApiError`]; panics if it is not one.
    pub fn api_error(&self) -> api::ApiError {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body of a {} answer is not an ApiError ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "unexpected body of a {} answer ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

/// One HTTP/1.1 request (`Connection: close`) with a 60 s read timeout.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // The server may answer (413) and stop reading before the whole body is sent: read the
    // answer whatever happens to the write.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(e);
        }
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            bad(&format!(
                "no HTTP header in {:?}",
                String::from_utf8_lossy(raw)
            ))
        })?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("header is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut chunked = false;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size_text = std::str::from_utf8(&rest[..nl]).map_err(|_| bad("bad chunk"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size).ok_or_else(|| bad("short chunk"))?);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        body = out;
    }
    Ok(Response { status, body })
}

/// Runs `f` on a blocking thread (for [`http`] from async tests).
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

/// The consumed counter of every tuple kind, per party.
pub fn consumed(stats: &[api::TupleStatsResponse]) -> Vec<Vec<(String, u64)>> {
    stats
        .iter()
        .map(|s| {
            s.kinds
                .iter()
                .map(|k| (k.kind.clone(), k.consumed))
                .collect()
        })
        .collect()
}

/// The path of a file in the workspace's `examples/`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}
