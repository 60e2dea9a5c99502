//! [`crate::OnDemandMascot`] under the SPDZ engine: a whole computation (inputs, products,
//! comparisons, output) on tuples generated in lock-step while it runs, for N = 2 and 3, and the
//! failure path when a peer's preprocessing stops.

use protocol::prep::Preprocessing;
use protocol::{Engine, EngineConfig, NonLinear};

use super::*;
use crate::{OnDemandMascot, PrepPhase};

/// One party's revealed product, comparison and preprocessing cost.
type Outcome = Result<(Vec<Fp>, Vec<Fp>, PrepPhase), String>;

/// Party p inputs `xs[p]` (one vector per party); every party reveals Π x_p and [x_0 < x_1].
fn compute(n: usize, xs: Vec<Vec<i64>>) -> Vec<Outcome> {
    let prep_nets = net::in_process(n, quick_net());
    let online_nets = net::in_process(n, quick_net());
    let len = xs[0].len();
    let handles: Vec<_> = prep_nets
        .into_iter()
        .zip(online_nets)
        .map(|(prep_net, net)| {
            let mine: Vec<Fp> = xs[net.my_id()].iter().map(|&x| Fp::from_i64(x)).collect();
            std::thread::spawn(move || {
                let prep =
                    OnDemandMascot::setup(prep_net, small(256)).map_err(|e| e.to_string())?;
                let meter = prep.meter();
                let mut e = Engine::new(net, prep, EngineConfig::default());
                let shared = e.input(&vec![len; n], &mine).map_err(|e| e.to_string())?;
                let mut prod = shared[0].clone();
                for s in &shared[1..] {
                    prod = e.mul(&prod, s).map_err(|e| e.to_string())?;
                }
                let lt = e
                    .lt(&shared[0], &shared[1], 32)
                    .map_err(|e| e.to_string())?;
                let out = e.reveal_many(&[&prod, &lt]).map_err(|e| e.to_string())?;
                Ok((out[0].clone(), out[1].clone(), meter.read()))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn a_computation_runs_on_tuples_generated_while_it_runs() {
    for n in [2usize, 3] {
        let xs: Vec<Vec<i64>> = (0..n)
            .map(|p| (0..40).map(|i| (i * 7 + p as i64 * 13) % 50 - 25).collect())
            .collect();
        let results = compute(n, xs.clone());
        for r in &results {
            let (prod, lt, phase) = r.as_ref().expect("every party succeeds");
            for i in 0..40 {
                let expect: i64 = xs.iter().map(|x| x[i]).product();
                assert_eq!(prod[i].to_signed(), expect as i128, "product {i}, N = {n}");
                assert_eq!(
                    lt[i].to_signed(),
                    (xs[0][i] < xs[1][i]) as i128,
                    "lt {i}, N = {n}"
                );
            }
            // Triples, bits and input masks were each generated on demand, on the preprocessing
            // channel alone.
            assert!(phase.calls >= 3, "{phase:?}");
            assert!(phase.generated >= 40 * n as u64);
            assert!(phase.net.bytes_sent > 0 && phase.net.rounds > 0);
            assert!(phase.time > Duration::ZERO);
        }
    }
}

#[test]
fn a_peer_whose_preprocessing_stops_fails_the_run_with_a_preprocessing_error() {
    let prep_nets = net::in_process(2, quick_net());
    let online_nets = net::in_process(2, quick_net());
    let handles: Vec<_> = prep_nets
        .into_iter()
        .zip(online_nets)
        .map(|(prep_net, net)| {
            std::thread::spawn(move || -> Result<(), String> {
                let me = net.my_id();
                let prep =
                    OnDemandMascot::setup(prep_net, small(256)).map_err(|e| e.to_string())?;
                if me == 1 {
                    // Party 1 leaves after setup: its channels close.
                    drop(prep);
                    drop(net);
                    return Ok(());
                }
                let mut e = Engine::new(net, prep, EngineConfig::default());
                let first = e.triples(8).map(|_| ()).map_err(|e| e.to_string());
                let again = e.triples(8).map(|_| ()).map_err(|e| e.to_string());
                Err(format!("{first:?} / {again:?}"))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let err = results[0].clone().unwrap_err();
    assert!(err.contains("MASCOT preprocessing failed"), "{err}");
    // The engine is poisoned after the first failure: nothing more is served.
    assert!(err.matches("Err(").count() == 2, "{err}");
}

/// Two workers per party: MASCOT shortfalls of at least 2·MIN_BATCH are split between them and
/// made in parallel on their own channels (2 100 products: one split MASCOT call; the input
/// masks, below the split size, and the binary-domain tuples of 30 mixed comparisons on worker 0).
/// The results are right and every MAC check passes, so the two workers' triples are consistent
/// shares under the same key.
#[test]
fn a_source_with_two_workers_splits_large_shortfalls_between_them() {
    use crate::BinaryConfig;
    let n = 2usize;
    const PRODUCTS: usize = 2100;
    const COMPARISONS: usize = 30;
    let prep_nets = net::in_process(n, quick_net());
    let extra_nets = net::in_process(n, quick_net());
    let online_nets = net::in_process(n, quick_net());
    let xs: Vec<Vec<i64>> = (0..n as i64)
        .map(|p| {
            (0..PRODUCTS as i64)
                .map(|i| (i * 31 + p * 17) % 2001 - 1000)
                .collect()
        })
        .collect();
    let handles: Vec<_> = prep_nets
        .into_iter()
        .zip(extra_nets)
        .zip(online_nets)
        .map(|((prep_net, extra_net), net)| {
            let mine: Vec<Fp> = xs[net.my_id()].iter().map(|&x| Fp::from_i64(x)).collect();
            std::thread::spawn(move || -> std::result::Result<(Vec<Fp>, Vec<Fp>), String> {
                let mut prep =
                    OnDemandMascot::setup_mixed(prep_net, small(256), BinaryConfig::default())
                        .map_err(|e| e.to_string())?;
                let key = prep.mac_key_share();
                prep.add_worker(extra_net).map_err(|e| e.to_string())?;
                assert_eq!(
                    prep.mac_key_share(),
                    key,
                    "worker 0's key stays the party's"
                );
                let mut e = Engine::new(net, prep, EngineConfig::default());
                let shared = e
                    .input(&[PRODUCTS, PRODUCTS], &mine)
                    .map_err(|e| e.to_string())?;
                let prod = e.mul(&shared[0], &shared[1]).map_err(|e| e.to_string())?;
                let a = shared[0].slice(0..COMPARISONS);
                let b = shared[1].slice(0..COMPARISONS);
                let lt = e
                    .mixed()
                    .map_err(|e| e.to_string())?
                    .lt(&a, &b, 64)
                    .map_err(|e| e.to_string())?;
                let out = e.reveal_many(&[&prod, &lt]).map_err(|e| e.to_string())?;
                Ok((out[0].clone(), out[1].clone()))
            })
        })
        .collect();
    for h in handles {
        let (prod, lt) = h.join().unwrap().expect("every party succeeds");
        for i in 0..PRODUCTS {
            assert_eq!(
                prod[i].to_signed(),
                (xs[0][i] * xs[1][i]) as i128,
                "product {i}"
            );
        }
        for i in 0..COMPARISONS {
            assert_eq!(lt[i].to_signed(), (xs[0][i] < xs[1][i]) as i128, "lt {i}");
        }
    }
}

/// A peer that leaves after setting up two workers: the split shortfall fails in both worker
/// threads, the draw reports a MASCOT failure, and the source is poisoned: the next draw is
/// refused without generating anything.
#[test]
fn a_split_shortfall_whose_peer_left_fails_and_poisons_the_source() {
    let prep_nets = net::in_process(2, quick_net());
    let extra_nets = net::in_process(2, quick_net());
    let handles: Vec<_> = prep_nets
        .into_iter()
        .zip(extra_nets)
        .map(|(prep_net, extra_net)| {
            std::thread::spawn(move || -> Result<(), (String, String)> {
                let me = prep_net.my_id();
                let mut prep = OnDemandMascot::setup(prep_net, small(256))
                    .map_err(|e| (e.to_string(), String::new()))?;
                prep.add_worker(extra_net)
                    .map_err(|e| (e.to_string(), String::new()))?;
                if me == 1 {
                    return Ok(());
                }
                // 2 100 triples: a shortfall split between the two workers.
                let first = prep.triples(2100).map(|_| ()).map_err(|e| e.to_string());
                let again = prep.triples(8).map(|_| ()).map_err(|e| e.to_string());
                Err((
                    first.err().unwrap_or_default(),
                    again.err().unwrap_or_default(),
                ))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (first, again) = results[0].clone().unwrap_err();
    assert!(first.contains("MASCOT preprocessing failed"), "{first}");
    assert!(again.contains("failed earlier in this run"), "{again}");
}

/// An arithmetic-only source refuses binary-domain kinds up front: no generation runs, nothing
/// is counted, and the source still serves its own kinds afterwards.
#[test]
fn an_arithmetic_source_refuses_binary_kinds_without_generating() {
    use protocol::prep::{PrepError, TupleKind};
    let handles: Vec<_> = net::in_process(2, quick_net())
        .into_iter()
        .map(|prep_net| {
            std::thread::spawn(move || {
                let mut prep = OnDemandMascot::setup(prep_net, small(256)).unwrap();
                let calls = prep.meter().read().calls;
                let refused = prep.bit_triples(10).map(|_| ()).unwrap_err();
                assert_eq!(refused, PrepError::Unsupported(TupleKind::BitTriple));
                assert!(prep.dabits(10).is_err() && prep.wide_edabits(10, 64, 111).is_err());
                assert_eq!(prep.meter().read().calls, calls, "nothing was generated");
                assert_eq!(prep.triples(10).unwrap().a.len(), 10);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
