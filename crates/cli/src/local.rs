//! Running N parties of one computation inside this process, one thread each.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use net::{NetConfig, Network};

/// How the local parties are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// TCP with mutual TLS on 127.0.0.1, one development certificate per party.
    Tls,
    /// In-process channels (no sockets).
    Channels,
}

/// Builds the networks of `n` local parties.
pub fn networks(n: usize, transport: Transport, cfg: NetConfig) -> anyhow::Result<Vec<Network>> {
    match transport {
        Transport::Channels => Ok(net::in_process(n, cfg)),
        Transport::Tls => tls_networks(n, cfg),
    }
}

fn tls_networks(n: usize, cfg: NetConfig) -> anyhow::Result<Vec<Network>> {
    net::tls::loopback_cluster(n, cfg).context("connecting the local parties over mutual TLS")
}

/// Runs `f(party, network)` on one thread per party and collects the results in party order.
pub fn run_parties<T, F>(nets: Vec<Network>, f: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize, Network) -> anyhow::Result<T> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let handles: Vec<_> = nets
        .into_iter()
        .map(|net| {
            let f = f.clone();
            let me = net.my_id();
            std::thread::Builder::new()
                .name(format!("party-{me}"))
                .spawn(move || f(me, net))
                .expect("spawn party thread")
        })
        .collect();
    let mut out = Vec::new();
    for (p, h) in handles.into_iter().enumerate() {
        let r = h
            .join()
            .map_err(|_| anyhow::anyhow!("party {p} panicked"))?;
        out.push(r.with_context(|| format!("party {p} failed"))?);
    }
    Ok(out)
}

/// Default network settings for local runs.
pub fn net_config() -> NetConfig {
    NetConfig {
        recv_deadline: Duration::from_secs(60),
        ..NetConfig::default()
    }
}

/// The binary domain's session id of a local run whose MASCOT session is `seed`: distinct from it
/// (each protocol binds its own session), the same on every party.
pub fn binary_session(seed: &[u8; 32]) -> [u8; 32] {
    let mut s = *seed;
    for (i, b) in s.iter_mut().enumerate() {
        *b ^= 0xb1 ^ (i as u8);
    }
    s
}
