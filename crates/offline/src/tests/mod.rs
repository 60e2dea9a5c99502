//! Protocol tests: N parties on threads over in-process channels. Every tuple is reconstructed
//! (shares summed over the parties) and checked against its relation, and every MAC against
//! α·x with α = Σ α_i. Cheating tests let one party deviate and require every honest party to
//! fail with a typed error.

mod bench;
mod binary;
mod cheating;
mod edabits;
mod micro;
mod on_demand;
mod session;
mod tuples;

use std::sync::Arc;
use std::time::Duration;

use field::Fp;
use net::{NetConfig, Network, PartyId};
use protocol::ShareVec;

use crate::mascot::Cheat;
use crate::{Mascot, MascotConfig, OfflineError, Result};

fn quick_net() -> NetConfig {
    NetConfig {
        recv_deadline: Duration::from_secs(30),
        ..NetConfig::default()
    }
}

/// Small batches, so that multi-batch paths run in tests.
fn small(batch_size: usize) -> MascotConfig {
    MascotConfig {
        batch_size,
        ..MascotConfig::default()
    }
}

type Job<T> = dyn Fn(&mut Mascot, &mut Network) -> Result<T> + Send + Sync;

/// Runs setup and then `job` on every party, each on its own thread; `cheat` makes one party
/// misbehave after setup. Returns every party's MAC key share and result.
fn run<T: Send + 'static>(
    n: usize,
    cfg: MascotConfig,
    cheat: Option<(PartyId, Cheat)>,
    job: Arc<Job<T>>,
) -> Vec<(Fp, Result<T>)> {
    run_parties(vec![(cfg, None); n], cheat, job)
}

/// As [`run`], with each party's own config and MAC key share (`None`: sampled at setup).
fn run_parties<T: Send + 'static>(
    setups: Vec<(MascotConfig, Option<Fp>)>,
    cheat: Option<(PartyId, Cheat)>,
    job: Arc<Job<T>>,
) -> Vec<(Fp, Result<T>)> {
    let nets = net::in_process(setups.len(), quick_net());
    let handles: Vec<_> = nets
        .into_iter()
        .zip(setups)
        .map(|(mut net, (cfg, alpha))| {
            let job = job.clone();
            std::thread::spawn(move || {
                let me = net.my_id();
                let mut m = match Mascot::setup(&mut net, alpha, cfg) {
                    Ok(m) => m,
                    Err(e) => return (Fp::ZERO, Err(e), net),
                };
                if let Some((who, c)) = cheat {
                    if who == me {
                        m.cheat = Some(c);
                    }
                }
                let r = job(&mut m, &mut net);
                (m.mac_key_share(), r, net)
            })
        })
        .collect();
    // Networks are dropped only when every party is done, as a node keeps its channel open
    // after a failed job: an in-process send to a dropped peer would fail before the abort
    // frame already queued from that peer is read.
    let mut keep = Vec::new();
    let out = handles
        .into_iter()
        .map(|h| {
            let (alpha, r, net) = h.join().expect("party thread panicked");
            keep.push(net);
            (alpha, r)
        })
        .collect();
    drop(keep);
    out
}

/// Sums the shares of element `k` over all parties: (value, MAC).
fn open(parts: &[&ShareVec], k: usize) -> (Fp, Fp) {
    parts.iter().fold((Fp::ZERO, Fp::ZERO), |(v, m), s| {
        (v + s.value_shares()[k], m + s.mac_shares()[k])
    })
}

/// Reconstructs a shared vector and checks every MAC against α = Σ α_i.
fn open_all(parts: &[&ShareVec], alpha: Fp) -> Vec<Fp> {
    let len = parts[0].len();
    assert!(parts.iter().all(|p| p.len() == len), "share counts differ");
    (0..len)
        .map(|k| {
            let (v, m) = open(parts, k);
            assert_eq!(m, alpha * v, "MAC of element {k} is not α·x");
            v
        })
        .collect()
}

/// Unwraps every party's result, with the global MAC key.
fn unwrap_all<T>(res: Vec<(Fp, Result<T>)>) -> (Fp, Vec<T>) {
    let alpha = res.iter().map(|(a, _)| *a).sum();
    let out = res
        .into_iter()
        .enumerate()
        .map(|(p, (_, r))| r.unwrap_or_else(|e| panic!("party {p} failed: {e}")))
        .collect();
    (alpha, out)
}

/// The error every party got, in party order.
fn errors<T: std::fmt::Debug>(res: Vec<(Fp, Result<T>)>) -> Vec<OfflineError> {
    res.into_iter()
        .enumerate()
        .map(|(p, (_, r))| match r {
            Ok(_) => panic!("party {p} did not abort"),
            Err(e) => e,
        })
        .collect()
}
