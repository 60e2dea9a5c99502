//! `ephemeral deploy configs` and `ephemeral healthcheck` against real node processes.
//!
//! Two parties on 127.0.0.1 and 127.0.0.2 with the same ports, as two containers would have:
//! the generated configs start as written (storage relative to each party's directory), the
//! client's cloud file reaches them over pinned HTTPS, a token can come from the environment
//! (`token_env`), and the health check tells an answering node from a ready one and from none.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ephemeral");

fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run ephemeral")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &Path, env: &[(&str, &str)], log: &Path) -> Node {
    let log = std::fs::File::create(log).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["node", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    Node(cmd.spawn().expect("spawn node"))
}

/// Polls `f` until it returns true or `limit` passes.
fn wait(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Two free ports usable on both 127.0.0.1 and 127.0.0.2.
fn ports() -> (u16, u16) {
    loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (pa, pb) = (
            a.local_addr().unwrap().port(),
            b.local_addr().unwrap().port(),
        );
        let free2 = std::net::TcpListener::bind(("127.0.0.2", pa)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.2", pb)).is_ok();
        if free2 {
            return (pa, pb);
        }
    }
}

#[test]
fn deployed_configs_start_and_the_healthcheck_tells_answering_from_ready() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cloud");
    let (api, mpc) = ports();
    let (api_s, mpc_s) = (api.to_string(), mpc.to_string());
    let urls = format!("https://127.0.0.1:{api},https://127.0.0.2:{api}");
    let me = format!("{}:{}", unsafe { libc::geteuid() }, unsafe {
        libc::getegid()
    });
    let o = run(&[
        "deploy",
        "configs",
        "--out",
        out.to_str().unwrap(),
        "--hosts",
        "127.0.0.1,127.0.0.2",
        "--api-port",
        &api_s,
        "--mpc-port",
        &mpc_s,
        "--client-urls",
        &urls,
        "--storage-path",
        "data",
        "--deadline-secs",
        "3",
        "--owner",
        &me,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("docker-compose --env-file"),
        "{}",
        text(&o)
    );
    let cfg = |i: usize| -> PathBuf { out.join(format!("party{i}/party.toml")) };
    // The configs listen on every address; on one machine each party gets its own.
    for i in 0..2 {
        let t = std::fs::read_to_string(cfg(i))
            .unwrap()
            .replace("0.0.0.0:", &format!("127.0.0.{}:", i + 1));
        std::fs::write(cfg(i), t).unwrap();
    }
    // Party 1 reads its client's token from the environment instead of the file.
    let token1 = std::fs::read_to_string(out.join("party1/tokens/dev")).unwrap();
    let t = std::fs::read_to_string(cfg(1)).unwrap().replace(
        "token_file = \"tokens/dev\"",
        "token_env = \"EPH_TEST_TOKEN\"",
    );
    std::fs::write(cfg(1), t).unwrap();
    std::fs::remove_file(out.join("party1/tokens/dev")).unwrap();

    // The health check loads the config as the node does, so it sees the node's environment
    // (a container's HEALTHCHECK runs in the container's environment).
    let env1 = [("EPH_TEST_TOKEN", token1.trim())];
    let check = |i: usize, extra: &[&str]| {
        let c = cfg(i);
        let mut args = vec!["healthcheck", "--config", c.to_str().unwrap()];
        args.extend_from_slice(extra);
        run_env(&args, if i == 1 { &env1 } else { &[] })
    };
    // Nothing listens yet: a clear failure.
    let o = check(0, &["--timeout", "2"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("cannot connect to the API"),
        "{}",
        text(&o)
    );

    let _n0 = start(&cfg(0), &[], &tmp.path().join("p0.log"));
    // Answering without its peer: healthy, but not ready.
    assert!(
        wait(Duration::from_secs(30), || check(0, &[]).status.success()),
        "party 0 never answered: {}",
        std::fs::read_to_string(tmp.path().join("p0.log")).unwrap_or_default()
    );
    let o = check(0, &["--ready"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("not ready: status degraded"),
        "{}",
        text(&o)
    );

    // Without the variable, party 1 refuses to start and names it.
    let o = run(&["node", "--config", cfg(1).to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o)
            .contains("clients[0].token_env: the environment variable EPH_TEST_TOKEN is not set"),
        "{}",
        text(&o)
    );
    let _n1 = start(&cfg(1), &env1, &tmp.path().join("p1.log"));
    assert!(
        wait(Duration::from_secs(30), || check(0, &["--ready"])
            .status
            .success()
            && check(1, &["--ready"]).status.success()),
        "the two parties never connected: {}",
        std::fs::read_to_string(tmp.path().join("p1.log")).unwrap_or_default()
    );
    let o = check(1, &["--ready"]);
    assert!(text(&o).contains("party 1 of 2: ok"), "{}", text(&o));

    // The health check pins api.tls_cert: party 0's certificate does not pass for party 1.
    let o = check(0, &["--address", &format!("127.0.0.2:{api}")]);
    assert!(!o.status.success());
    assert!(text(&o).contains("TLS with the API"), "{}", text(&o));

    // The client's cloud file reaches both over pinned HTTPS, with party 1's token from the
    // environment.
    let cloud = out.join("cloud.toml");
    let o = run(&["health", "--cloud", cloud.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&[
        "secret",
        "list",
        "--cloud",
        cloud.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("\"items\""), "{}", text(&o));
    assert!(out.join("party0/data/secrets.redb").exists());
}
