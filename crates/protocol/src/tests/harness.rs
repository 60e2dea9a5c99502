//! Runs N parties of one computation on threads.

use std::sync::Arc;
use std::time::Duration;

use field::Fp;
use net::{NetConfig, Network};

use crate::engine::{Engine, EngineConfig};
use crate::error::Result;
use crate::prep::InsecureDealer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Channels,
    Tls,
}

pub type TestEngine = Engine<InsecureDealer>;

pub fn net_config() -> NetConfig {
    NetConfig {
        recv_deadline: Duration::from_secs(20),
        ..NetConfig::default()
    }
}

pub fn networks(n: usize, transport: Transport, cfg: NetConfig) -> Vec<Network> {
    match transport {
        Transport::Channels => net::in_process(n, cfg),
        Transport::Tls => tls_networks(n, cfg),
    }
}

fn tls_networks(n: usize, cfg: NetConfig) -> Vec<Network> {
    net::tls::loopback_cluster(n, cfg).expect("loopback TLS cluster")
}

/// Runs `f` on every party with a shared dealer seed; returns each party's result.
pub fn run<T, F>(n: usize, transport: Transport, f: F) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(&mut TestEngine) -> Result<T> + Send + Sync + 'static,
{
    run_with(
        n,
        transport,
        net_config(),
        EngineConfig::default(),
        move |_, e| f(e),
    )
}

/// As [`run`], with explicit configs and the party id passed to `f`.
pub fn run_with<T, F>(
    n: usize,
    transport: Transport,
    cfg: NetConfig,
    ecfg: EngineConfig,
    f: F,
) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(usize, &mut TestEngine) -> Result<T> + Send + Sync + 'static,
{
    let seed = [42u8; 32];
    let f = Arc::new(f);
    let handles: Vec<_> = networks(n, transport, cfg)
        .into_iter()
        .map(|net| {
            let f = f.clone();
            let ecfg = ecfg.clone();
            std::thread::spawn(move || {
                let me = net.my_id();
                let dealer = InsecureDealer::new(me, n, seed);
                let mut e = Engine::new(net, dealer, ecfg);
                let r = f(me, &mut e);
                // Finish with a check so that every party's pending opens are verified.
                r.and_then(|v| e.check().map(|_| v))
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("party thread panicked"))
        .collect()
}

/// Unwraps all results and checks that every party got the same value.
pub fn agreed<T: PartialEq + std::fmt::Debug>(results: Vec<Result<T>>) -> T {
    let mut it = results
        .into_iter()
        .enumerate()
        .map(|(p, r)| r.unwrap_or_else(|e| panic!("party {p} failed: {e}")));
    let first = it.next().expect("at least one party");
    for other in it {
        assert_eq!(first, other, "parties disagree");
    }
    first
}

/// Party 0 inputs `a`, every party gets shares.
pub fn input_from(e: &mut TestEngine, owner: usize, values: &[Fp]) -> Result<crate::ShareVec> {
    let n = e.n_parties();
    let mut counts = vec![0; n];
    counts[owner] = values.len();
    let mine: &[Fp] = if e.party() == owner { values } else { &[] };
    Ok(e.input(&counts, mine)?.swap_remove(owner))
}

pub fn fps(xs: &[i128]) -> Vec<Fp> {
    xs.iter().map(|&x| Fp::from_i128(x)).collect()
}

pub fn signed(xs: &[Fp]) -> Vec<i128> {
    xs.iter().map(|x| x.to_signed()).collect()
}

/// Edge values for signed 64-bit operations, plus deterministic pseudo-random ones.
pub fn edge_and_random_i64(count: usize, seed: u64) -> Vec<i128> {
    let mut v: Vec<i128> = vec![
        0,
        1,
        -1,
        2,
        -2,
        (1 << 63) - 1,
        -(1 << 63) + 1,
        -(1 << 63),
        1 << 32,
        -(1 << 32),
    ];
    let mut x = seed | 1;
    while v.len() < count {
        // xorshift64*, enough for test data.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545F4914F6CDD1D) as i64;
        let shift = (x % 64) as u32;
        v.push((r >> shift) as i128);
    }
    v
}
