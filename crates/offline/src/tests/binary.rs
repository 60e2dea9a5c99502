//! Binary preprocessing ([`crate::binary`]): authenticated bits and binary triples rebuilt from
//! every party's shares (⊕ of values, c = a ∧ b, ⊕ of MACs = x·Δ with Δ = ⊕ Δ_i), and cheating
//! that makes generation fail with a check failure at every honest party. Party 1 cheats; its
//! deviations towards one peer target party 0.

use std::sync::Arc;
use std::time::Instant;

use field::Gf128;
use net::{Network, PartyId};

use super::quick_net;
use crate::binary::{AuthBits, BinaryCheat, BinaryConfig, BinaryPrep, BinaryTriples};
use crate::{OfflineError, Result};

type Job<T> = dyn Fn(&mut BinaryPrep, &mut Network) -> Result<T> + Send + Sync;

/// Small batches (the smallest allowed), so that tests are quick and span several batches.
fn small() -> BinaryConfig {
    BinaryConfig {
        batch_size: 1024,
        ..BinaryConfig::default()
    }
}

/// Setup and `job` on every party, each on its own thread; `cheat` makes one party misbehave
/// from setup on. Returns every party's Δ_i and result.
fn run<T: Send + 'static>(
    n: usize,
    cfgs: Vec<BinaryConfig>,
    cheat: Option<(PartyId, BinaryCheat)>,
    job: Arc<Job<T>>,
) -> Vec<(Gf128, Result<T>)> {
    assert_eq!(cfgs.len(), n);
    let nets = net::in_process(n, quick_net());
    let handles: Vec<_> = nets
        .into_iter()
        .zip(cfgs)
        .map(|(mut net, cfg)| {
            let job = job.clone();
            std::thread::spawn(move || {
                let me = net.my_id();
                let mine = cheat.and_then(|(who, c)| (who == me).then_some(c));
                let mut b = match BinaryPrep::setup_cheating(&mut net, cfg, mine) {
                    Ok(b) => b,
                    Err(e) => return (Gf128::ZERO, Err(e), net),
                };
                let r = job(&mut b, &mut net);
                (b.delta_share(), r, net)
            })
        })
        .collect();
    // Networks are dropped only when every party is done (see `super::run_parties`).
    let mut keep = Vec::new();
    let out = handles
        .into_iter()
        .map(|h| {
            let (d, r, net) = h.join().expect("party thread panicked");
            keep.push(net);
            (d, r)
        })
        .collect();
    drop(keep);
    out
}

fn same(n: usize, cfg: BinaryConfig) -> Vec<BinaryConfig> {
    vec![cfg; n]
}

/// Unwraps every party's result, with the global key Δ = ⊕ Δ_i.
fn unwrap_all<T>(res: Vec<(Gf128, Result<T>)>) -> (Gf128, Vec<T>) {
    let delta = res.iter().fold(Gf128::ZERO, |acc, (d, _)| acc + *d);
    let out = res
        .into_iter()
        .enumerate()
        .map(|(p, (_, r))| r.unwrap_or_else(|e| panic!("party {p} failed: {e}")))
        .collect();
    (delta, out)
}

/// Rebuilds shared bits and checks every MAC against x·Δ.
fn open_bits(parts: &[&AuthBits], delta: Gf128) -> Vec<bool> {
    let len = parts[0].len();
    assert!(parts.iter().all(|p| p.len() == len), "share counts differ");
    (0..len)
        .map(|j| {
            let (v, m) = parts.iter().fold((false, Gf128::ZERO), |(v, m), p| {
                (v ^ p.bit(j), m + p.mac(j))
            });
            assert_eq!(m, delta.select(v), "MAC of bit {j} is not x·Δ");
            v
        })
        .collect()
}

/// The bits are neither constant nor far from balanced.
fn looks_random(bits: &[bool]) {
    let ones = bits.iter().filter(|&&b| b).count();
    let n = bits.len();
    assert!(ones > n / 3 && ones < 2 * n / 3, "{ones} ones of {n}");
}

fn check_triples(delta: Gf128, ts: &[BinaryTriples], n: usize) {
    let a = open_bits(&ts.iter().map(|t| &t.a).collect::<Vec<_>>(), delta);
    let b = open_bits(&ts.iter().map(|t| &t.b).collect::<Vec<_>>(), delta);
    let c = open_bits(&ts.iter().map(|t| &t.c).collect::<Vec<_>>(), delta);
    assert_eq!(a.len(), n);
    for j in 0..n {
        assert_eq!(c[j], a[j] & b[j], "triple {j}: c ≠ a ∧ b");
    }
    looks_random(&a);
    looks_random(&b);
}

#[test]
fn auth_bits_rebuild_for_2_and_3_parties() {
    for n in [2, 3] {
        let (delta, out) = unwrap_all(run(
            n,
            same(n, small()),
            None,
            Arc::new(|b: &mut BinaryPrep, net: &mut Network| {
                let x = b.auth_bits(net, 1000)?;
                let y = b.auth_bits(net, 1)?;
                Ok((x, y))
            }),
        ));
        let xs = open_bits(&out.iter().map(|o| &o.0).collect::<Vec<_>>(), delta);
        assert_eq!(xs.len(), 1000);
        looks_random(&xs);
        assert_eq!(
            open_bits(&out.iter().map(|o| &o.1).collect::<Vec<_>>(), delta).len(),
            1
        );
        // Shares are not all zero at any party (each party contributes random bits).
        for o in &out {
            assert!(o.0.value_words().iter().any(|&w| w != 0));
        }
    }
}

#[test]
fn many_auth_bits_take_several_batches() {
    let n = (1 << 20) + 100;
    let (delta, out) = unwrap_all(run(
        2,
        same(2, small()),
        None,
        Arc::new(move |b: &mut BinaryPrep, net: &mut Network| {
            let x = b.auth_bits(net, n)?;
            assert_eq!(b.stats().batches, 2);
            Ok(x)
        }),
    ));
    let xs = open_bits(&out.iter().collect::<Vec<_>>(), delta);
    assert_eq!(xs.len(), n);
    looks_random(&xs[(1 << 20) - 1000..]);
}

#[test]
fn triples_rebuild_for_2_and_3_parties() {
    for n in [2, 3] {
        let (delta, out) = unwrap_all(run(
            n,
            same(n, small()),
            None,
            Arc::new(|b: &mut BinaryPrep, net: &mut Network| {
                // Two batches, then the rest of the second from the spare triples (no rounds).
                let first = b.triples(net, 1500)?;
                let rounds = b.stats().rounds;
                let second = b.triples(net, 500)?;
                assert_eq!(b.stats().rounds, rounds, "spare triples need no round");
                assert_eq!(b.stats().batches, 2);
                Ok((first, second))
            }),
        ));
        let firsts: Vec<BinaryTriples> = out.iter().map(|o| o.0.clone()).collect();
        let seconds: Vec<BinaryTriples> = out.iter().map(|o| o.1.clone()).collect();
        check_triples(delta, &firsts, 1500);
        check_triples(delta, &seconds, 500);
    }
}

#[test]
fn a_test_that_rebuilds_wrong_shares_fails() {
    // The checks of these tests can fail: a flipped share or MAC is noticed.
    let (delta, mut out) = unwrap_all(run(
        2,
        same(2, small()),
        None,
        Arc::new(|b: &mut BinaryPrep, net: &mut Network| b.triples(net, 64)),
    ));
    let mut bad = out.clone();
    bad[0].c.flip(3);
    assert!(std::panic::catch_unwind(|| check_triples(delta, &bad, 64)).is_err());
    out[1].a.mac_mut(5).0 ^= 1 << 7;
    assert!(std::panic::catch_unwind(|| check_triples(delta, &out, 64)).is_err());
}

/// Runs `job` with `cheat` at party 1 and returns every party's error.
fn cheat_with<T: Send + std::fmt::Debug + 'static>(
    n: usize,
    cheat: BinaryCheat,
    job: Arc<Job<T>>,
) -> Vec<OfflineError> {
    run(n, same(n, small()), Some((1, cheat)), job)
        .into_iter()
        .enumerate()
        .map(|(p, (_, r))| match r {
            Ok(_) => panic!("party {p} did not abort"),
            Err(e) => e,
        })
        .collect()
}

fn triples_job() -> Arc<Job<usize>> {
    Arc::new(|b: &mut BinaryPrep, net: &mut Network| b.triples(net, 10).map(|t| t.len()))
}

fn bits_job() -> Arc<Job<usize>> {
    Arc::new(|b: &mut BinaryPrep, net: &mut Network| b.auth_bits(net, 100).map(|t| t.len()))
}

/// Every honest party (all but party 1) failed with a check failure matching `want`.
fn honest_all(errs: &[OfflineError], want: impl Fn(&OfflineError) -> bool) {
    for (p, e) in errs.iter().enumerate() {
        if p != 1 {
            assert!(
                e.is_check_failure(),
                "party {p}: {e:?} is not a check failure"
            );
            assert!(want(e), "party {p}: unexpected error {e:?}");
        }
    }
}

#[test]
fn inconsistent_choice_bits_within_an_extension_fail_the_kos_check() {
    for job in [triples_job(), bits_job()] {
        let errs = cheat_with(2, BinaryCheat::KosWrongCorrelation, job.clone());
        assert_eq!(errs[0], OfflineError::OtCheckFailed { peer: 1 });
        let errs = cheat_with(3, BinaryCheat::KosWrongCorrelation, job);
        assert_eq!(errs[0], OfflineError::OtCheckFailed { peer: 1 });
        assert!(
            matches!(errs[2], OfflineError::PeerAborted { party: 0, .. }),
            "{:?}",
            errs[2]
        );
        assert!(errs[2].is_check_failure());
    }
}

#[test]
fn inconsistent_choice_bits_across_peers_fail_the_authentication_check() {
    for n in [2, 3] {
        for job in [triples_job(), bits_job()] {
            let errs = cheat_with(n, BinaryCheat::InconsistentChoices, job);
            honest_all(&errs, |e| *e == OfflineError::AuthenticationFailed);
        }
    }
}

#[test]
fn an_inconsistent_delta_fails_the_authentication_check() {
    for n in [2, 3] {
        for job in [triples_job(), bits_job()] {
            let errs = cheat_with(n, BinaryCheat::InconsistentDelta, job);
            honest_all(&errs, |e| *e == OfflineError::AuthenticationFailed);
        }
    }
}

#[test]
fn a_wrong_triple_share_fails_the_product_check() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::WrongTripleShare, triples_job());
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

#[test]
fn a_wrong_multiplication_message_fails_the_product_check() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::WrongMultiplication, triples_job());
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

/// A wrong `U` (another MAC share of b in the Δ-product towards the victim) leaves the error
/// `a^h·E` in the check of every leaky triple whose victim bit a^h is 1.
#[test]
fn a_wrong_product_message_fails_the_product_check() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::WrongProductMessage, triples_job());
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

/// A known error in one party's Δ-product share passes only if it is c'·Δ for an error c' of
/// c, i.e. only by guessing Δ.
#[test]
fn a_wrong_product_share_fails_the_product_check() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::WrongProductShare, triples_job());
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

/// The selective failure that the combine step is for: a wrong `U` for one leaky triple only
/// passes the Δ-product check exactly when the victim's share of that triple's a is 0 (two
/// parties: the check's error is a^h·E), and a batch that passes still outputs correct triples.
/// Deterministic in each run; several runs see both outcomes with high probability, which is
/// printed, not asserted.
#[test]
fn a_selective_failure_passes_only_for_one_value_of_the_honest_bit() {
    let mut outcomes = [0usize; 2];
    for _ in 0..6 {
        let res = run(
            2,
            same(2, small()),
            Some((1, BinaryCheat::SelectiveProduct)),
            Arc::new(|b: &mut BinaryPrep, net: &mut Network| {
                let t = b.triples(net, 64);
                Ok((t, b.first_a_share))
            }),
        );
        let delta = res.iter().fold(Gf128::ZERO, |acc, (d, _)| acc + *d);
        let out: Vec<_> = res.into_iter().map(|(_, r)| r.unwrap()).collect();
        let victim_bit = out[0].1.expect("a batch ran");
        match (&out[0].0, &out[1].0) {
            (Ok(t0), Ok(t1)) => {
                assert!(!victim_bit, "passed although the touched honest bit was 1");
                check_triples(delta, &[t0.clone(), t1.clone()], 64);
                outcomes[0] += 1;
            }
            (Err(e), _) => {
                assert!(
                    victim_bit,
                    "failed although the touched honest bit was 0: {e}"
                );
                assert_eq!(*e, OfflineError::SacrificeFailed);
                outcomes[1] += 1;
            }
            (Ok(_), Err(e)) => panic!("the honest party passed, the cheater failed: {e}"),
        }
    }
    println!(
        "selective failure: {} passed, {} aborted",
        outcomes[0], outcomes[1]
    );
}

#[test]
fn a_wrong_opening_fails_the_mac_check() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::WrongOpening, triples_job());
        honest_all(&errs, |e| *e == OfflineError::MacCheckFailed);
    }
}

#[test]
fn a_wrong_mac_fails_the_mac_check() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::WrongMac, triples_job());
        honest_all(&errs, |e| *e == OfflineError::MacCheckFailed);
    }
}

#[test]
fn lying_in_the_mac_check_fails_it() {
    for n in [2, 3] {
        for job in [triples_job(), bits_job()] {
            let errs = cheat_with(n, BinaryCheat::LieAboutSigma, job);
            honest_all(&errs, |e| *e == OfflineError::MacCheckFailed);
        }
    }
}

#[test]
fn a_malformed_message_is_a_typed_check_failure() {
    for n in [2, 3] {
        let errs = cheat_with(n, BinaryCheat::TruncatedMessage, triples_job());
        assert!(
            matches!(errs[0], OfflineError::Malformed { peer: 1, .. }),
            "{:?}",
            errs[0]
        );
        honest_all(&errs, |_| true);
    }
    // A HELLO frame whose broadcast part claims 4 GiB, at setup.
    let mut nets = net::in_process(2, quick_net());
    let mut evil = nets.pop().unwrap();
    let mut honest = nets.pop().unwrap();
    let h = std::thread::spawn(move || BinaryPrep::setup(&mut honest, small()).map(|_| ()));
    evil.send(0, bytes::Bytes::from_static(&[1, 0xff, 0xff, 0xff, 0xff]))
        .unwrap();
    let err = h.join().unwrap().unwrap_err();
    assert!(
        matches!(err, OfflineError::Malformed { peer: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_check_failure());
    // The honest party told the peer why it stopped.
    assert!(evil.recv(0).unwrap().len() >= 2);
}

#[test]
fn an_aborted_instance_stays_aborted_and_outputs_nothing() {
    let res = run(
        2,
        same(2, small()),
        Some((1, BinaryCheat::WrongOpening)),
        Arc::new(|b: &mut BinaryPrep, net: &mut Network| {
            let first = b.triples(net, 10).map(|_| ());
            assert!(b.is_poisoned());
            let second = b.auth_bits(net, 10).map(|_| ());
            Ok((first, second))
        }),
    );
    for (p, (_, r)) in res.into_iter().enumerate() {
        let (first, second) = r.unwrap();
        assert!(first.is_err(), "party {p}");
        assert!(
            matches!(second, Err(OfflineError::Aborted(_))),
            "party {p}: {second:?}"
        );
    }
}

#[test]
fn different_configurations_and_sessions_are_refused() {
    let other_batch = BinaryConfig {
        batch_size: 2048,
        ..small()
    };
    let other_session = BinaryConfig {
        session: [9u8; 32],
        ..small()
    };
    for other in [other_batch, other_session] {
        let res = run(
            2,
            vec![small(), other],
            None,
            Arc::new(|_: &mut BinaryPrep, _: &mut Network| Ok(())),
        );
        for (_, r) in res {
            assert!(
                matches!(r, Err(OfflineError::ConfigMismatch { .. })),
                "{r:?}"
            );
        }
    }
    let mut nets = net::in_process(2, quick_net());
    let bad = BinaryConfig {
        batch_size: 10,
        ..small()
    };
    assert!(matches!(
        BinaryPrep::setup(&mut nets[0], bad),
        Err(OfflineError::InvalidArgument(_))
    ));
}

/// Measures binary triples against MASCOT prime triples over in-process channels, N = 2:
/// `cargo test -p offline --release binary_triples_rate -- --ignored --nocapture`.
/// `OFFLINE_BENCH_BINARY` sets the number of binary triples (default 2^18), and
/// `OFFLINE_BENCH_BINARY_BATCH` the batch size (default [`BinaryConfig::default`]),
/// `OFFLINE_BENCH_PARTIES` the number of parties (default 2).
#[test]
#[ignore = "benchmark; run in release"]
fn binary_triples_rate() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let count = env("OFFLINE_BENCH_BINARY", 1 << 18);
    let parties = env("OFFLINE_BENCH_PARTIES", 2);
    let cfg = BinaryConfig {
        batch_size: env(
            "OFFLINE_BENCH_BINARY_BATCH",
            BinaryConfig::default().batch_size,
        ),
        ..BinaryConfig::default()
    };
    let res = run(
        parties,
        same(parties, cfg),
        None,
        Arc::new(move |b: &mut BinaryPrep, net: &mut Network| {
            let before = b.stats();
            let t0 = Instant::now();
            let c0 = crate::bench::thread_cpu_secs();
            let t = b.triples(net, count)?;
            let secs = t0.elapsed().as_secs_f64();
            let cpu = crate::bench::thread_cpu_secs() - c0;
            let s = b.stats();
            Ok((
                t.slice_for_check(),
                secs,
                s.bytes_sent - before.bytes_sent,
                s.rounds - before.rounds,
                s.batches - before.batches,
                b.bucket_sizes(),
                cpu,
            ))
        }),
    );
    let (delta, out) = unwrap_all(res);
    let sample: Vec<BinaryTriples> = out.iter().map(|o| o.0.clone()).collect();
    check_triples(delta, &sample, sample[0].len());
    let secs = out.iter().map(|o| o.1).fold(0.0, f64::max);
    let bytes = out.iter().map(|o| o.2).sum::<u64>() as f64 / parties as f64;
    let (bs, bc, c, ls, lc) = out[0].5;
    let cpu = out.iter().map(|o| o.6).fold(0.0, f64::max);
    println!(
        "binary (TinyOT-style), {parties} parties, {count} triples over InProcess (batch {}, sacrifice bucket {bs}, combine B' = {bc}, {c} opened, log2 ε_check = {ls:.1}, log2 ε_comb = {lc:.1}): {:.0} triples/s ({secs:.2} s wall, {cpu:.2} s CPU per party, {:.2} µs CPU per triple), {:.1} bytes sent per triple per party, {} rounds in {} batches ({} per batch)",
        cfg.batch_size,
        count as f64 / secs,
        1e6 * cpu / count as f64,
        bytes / count as f64,
        out[0].3,
        out[0].4,
        out[0].3 / out[0].4.max(1),
    );
    if let Some(rss) = crate::peak_rss_bytes() {
        println!(
            "peak memory of the process (all parties) after the binary run: {:.0} MiB",
            rss as f64 / (1 << 20) as f64
        );
    }
    let mascot_n = env("OFFLINE_BENCH_TRIPLES", 20_000);
    let r = crate::bench_triples_with(
        parties,
        mascot_n,
        crate::BenchTransport::InProcess,
        crate::MascotConfig::default(),
    )
    .expect("MASCOT benchmark");
    assert!(r.verified);
    println!("{r}");
    println!(
        "per triple and party: binary {:.2} µs wall, {:.2} µs CPU, {:.0} bytes; MASCOT {:.2} µs wall, {:.2} µs CPU, {:.0} bytes (×{:.0} CPU, ×{:.0} bytes)",
        1e6 * secs / count as f64,
        1e6 * cpu / count as f64,
        bytes / count as f64,
        1e6 * r.secs / mascot_n as f64,
        1e6 * r.cpu_secs / mascot_n as f64,
        r.bytes_sent_per_triple,
        (r.cpu_secs / mascot_n as f64) / (cpu / count as f64),
        r.bytes_sent_per_triple / (bytes / count as f64),
    );
}

impl BinaryTriples {
    /// The first 4096 triples (enough to check the run, cheap to rebuild).
    fn slice_for_check(&self) -> BinaryTriples {
        let k = self.len().min(4096);
        BinaryTriples {
            a: self.a.slice(0..k),
            b: self.b.slice(0..k),
            c: self.c.slice(0..k),
        }
    }
}
