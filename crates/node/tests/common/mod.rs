//! Shared set-up of the node's integration tests.

use std::net::TcpListener;
use std::path::Path;

/// Every party's (API URL, gateway address), and its (API, gateway) listeners.
#[allow(dead_code)]
pub type Prepared = (Vec<(String, String)>, Vec<(TcpListener, TcpListener)>);

/// Binds `n` API and gateway ports on loopback (API URLs with `scheme`, `http` or `https`) and
/// writes the parties' development certificates and keys (`partyI.pem`, `partyI.key`) to `dir`.
#[allow(dead_code)]
pub fn prepare(n: usize, dir: &Path, scheme: &str) -> Prepared {
    let mut parties = Vec::new();
    let mut listeners = Vec::new();
    for i in 0..n {
        let api = TcpListener::bind("127.0.0.1:0").unwrap();
        let mpc = TcpListener::bind("127.0.0.1:0").unwrap();
        parties.push((
            format!("{scheme}://{}", api.local_addr().unwrap()),
            mpc.local_addr().unwrap().to_string(),
        ));
        listeners.push((api, mpc));
        let id = net::tls::dev_identity(i).unwrap();
        std::fs::write(dir.join(format!("party{i}.pem")), &id.cert_pem).unwrap();
        std::fs::write(dir.join(format!("party{i}.key")), &id.key_pem).unwrap();
    }
    (parties, listeners)
}

/// Bearer tokens of the two clients of [`dealer_config`].
#[allow(dead_code)]
pub const ALICE: &str = "alice-token-0123456789";
#[allow(dead_code)]
pub const BOB: &str = "bob-token-0123456789";

/// The config of party `me` of `n` for in-process clusters (no sockets are used): INSECURE
/// dealer tuples, clients `alice` and `bob`, a join deadline of `join_secs`. `top` goes before
/// the first table (top-level keys such as `insecure_tamper`, or whole tables such as
/// `[limits]`); `api` adds lines to `[api]`.
#[allow(dead_code)]
pub fn dealer_config(
    me: usize,
    n: usize,
    dir: &Path,
    top: &str,
    api: &str,
    join_secs: u64,
) -> node::config::NodeConfig {
    let mut s = format!(
        "party = {me}\n{top}\n[api]\nlisten = \"127.0.0.1:0\"\n{api}\n\n[mpc]\nlisten = \"127.0.0.1:0\"\ncert = \"party{me}.pem\"\nkey = \"party{me}.key\"\n\n[storage]\npath = \"party{me}-data\"\n\n[[clients]]\nuser = \"alice\"\ntoken = \"{ALICE}\"\n\n[[clients]]\nuser = \"bob\"\ntoken = \"{BOB}\"\n\n[timeouts]\njoin_secs = {join_secs}\nrecv_secs = 10\n\n[tuples]\ninsecure_dealer = true\ninsecure_dealer_seed = \"{}\"\n\n",
        "42".repeat(32)
    );
    for i in 0..n {
        s.push_str(&format!(
            "[[parties]]\nid = {i}\napi_url = \"http://127.0.0.1:{}\"\nmpc_addr = \"127.0.0.1:{}\"\ncert = \"party{i}.pem\"\n\n",
            18000 + i,
            18100 + i
        ));
    }
    node::config::NodeConfig::parse(&s, "test.toml", dir).expect("test config parses")
}

/// `n` nodes over in-process channels, party i built from `config(i)`.
#[allow(dead_code)]
pub fn in_process_cluster(
    n: usize,
    config: impl Fn(usize) -> node::config::NodeConfig,
) -> Vec<std::sync::Arc<node::Node>> {
    node::coord::InProcessChannels::cluster(n)
        .into_iter()
        .enumerate()
        .map(|(i, ch)| {
            std::sync::Arc::new(
                node::Node::assemble(config(i), None, std::sync::Arc::new(ch))
                    .expect("node assembles"),
            )
        })
        .collect()
}
