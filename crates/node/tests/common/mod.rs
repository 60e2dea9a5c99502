//! Shared set-up of the node's integration tests.

use std::net::TcpListener;
use std::path::Path;

/// Every party's (API URL, gateway address), and its (API, gateway) listeners.
pub type Prepared = (Vec<(String, String)>, Vec<(TcpListener, TcpListener)>);

/// Binds `n` API and gateway ports on loopback (API URLs with `scheme`, `http` or `https`) and
/// writes the parties' development certificates and keys (`partyI.pem`, `partyI.key`) to `dir`.
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
