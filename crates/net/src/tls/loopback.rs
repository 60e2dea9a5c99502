//! A whole virtual cloud on 127.0.0.1, for demos, benchmarks and tests.

use std::net::TcpListener;

use super::{connect_blocking_with, dev_identity, PartyEndpoint, TlsNetConfig};
use crate::{NetConfig, NetError, Network};

/// Connects `n` parties of this process over mutual TLS on loopback: one fresh development
/// certificate per party, listeners on ports chosen by the OS, one thread per party while
/// connecting. Returns the networks in party order.
pub fn loopback_cluster(n: usize, net: NetConfig) -> Result<Vec<Network>, NetError> {
    let mut listeners = Vec::with_capacity(n);
    let mut identities = Vec::with_capacity(n);
    let mut parties = Vec::with_capacity(n);
    for p in 0..n {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| NetError::Io {
            peer: p,
            reason: format!("binding a loopback port: {e}"),
        })?;
        let addr = l.local_addr().map_err(|e| NetError::Io {
            peer: p,
            reason: e.to_string(),
        })?;
        let id = dev_identity(p)?;
        parties.push(PartyEndpoint {
            addr: addr.to_string(),
            cert_pem: id.cert_pem.clone(),
        });
        identities.push(id);
        listeners.push(l);
    }
    let handles: Vec<_> = identities
        .into_iter()
        .zip(listeners)
        .enumerate()
        .map(|(me, (identity, listener))| {
            let mut cfg = TlsNetConfig::new(me, parties.clone(), identity);
            cfg.net = net.clone();
            std::thread::spawn(move || connect_blocking_with(cfg, Some(listener)))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(NetError::Config("a connecting thread panicked".into())))
        })
        .collect()
}
