//! daBits and edaBits ([`crate::edabits`]): every tuple rebuilt from all parties' shares
//! (arithmetic value = binary value, MACs under α and Δ), cheating parties caught by every honest
//! party, and the mixed comparison kernels on the on-demand source.

use field::Gf128;
use protocol::binary::BitShares;
use protocol::prep::Preprocessing;
use protocol::{Engine, EngineConfig, NonLinear};

use super::*;
use crate::edabits::{
    bucket_size, parity_mask_bits, EdaBitGen, EdaCheat, DABIT_BATCH, MAX_PARITY_MASK_BITS,
    MIN_DABIT_BATCH,
};
use crate::{BinaryConfig, BinaryPrep, OnDemandMascot};

type EdaJob<T> =
    dyn Fn(&mut EdaBitGen, &mut Mascot, &mut BinaryPrep, &mut Network) -> Result<T> + Send + Sync;

/// Every party: MASCOT and binary setup on one channel, then `job`. Returns (α_i, Δ_i, result).
fn run_eda<T: Send + 'static>(
    n: usize,
    cheat: Option<(PartyId, EdaCheat)>,
    job: Arc<EdaJob<T>>,
) -> Vec<(Fp, Gf128, Result<T>)> {
    let nets = net::in_process(n, quick_net());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|mut net| {
            let job = job.clone();
            std::thread::spawn(move || {
                let me = net.my_id();
                let r = (|| {
                    let mut m = Mascot::setup(&mut net, None, MascotConfig::default())?;
                    let mut b = BinaryPrep::setup(&mut net, BinaryConfig::default())?;
                    let mut g = EdaBitGen::with_batch(1024)?;
                    if let Some((who, c)) = cheat {
                        if who == me {
                            g.cheat = Some(c);
                        }
                    }
                    let r = job(&mut g, &mut m, &mut b, &mut net);
                    Ok((m.mac_key_share(), b.delta_share(), r))
                })();
                let out = match r {
                    Ok((a, d, r)) => (a, d, r),
                    Err(e) => (Fp::ZERO, Gf128::ZERO, Err(e)),
                };
                (out, net)
            })
        })
        .collect();
    let mut keep = Vec::new();
    let out = handles
        .into_iter()
        .map(|h| {
            let (o, net) = h.join().expect("party thread panicked");
            keep.push(net);
            o
        })
        .collect();
    drop(keep);
    out
}

/// Rebuilds binary shares and checks every MAC against x·Δ.
fn open_bits(parts: &[&BitShares], delta: Gf128) -> Vec<bool> {
    let len = parts[0].len();
    assert!(parts.iter().all(|p| p.len() == len));
    (0..len)
        .map(|j| {
            let v = parts.iter().fold(false, |v, p| v ^ p.value_bit(j));
            let m = parts.iter().fold(Gf128::ZERO, |m, p| m + p.mac_shares()[j]);
            assert_eq!(m, delta.select(v), "binary MAC of bit {j} is not x·Δ");
            v
        })
        .collect()
}

fn keys<T>(res: &[(Fp, Gf128, Result<T>)]) -> (Fp, Gf128) {
    (
        res.iter().map(|r| r.0).sum(),
        res.iter().fold(Gf128::ZERO, |d, r| d + r.1),
    )
}

fn unwrap<T>(res: Vec<(Fp, Gf128, Result<T>)>) -> Vec<T> {
    res.into_iter()
        .enumerate()
        .map(|(p, (_, _, r))| r.unwrap_or_else(|e| panic!("party {p} failed: {e}")))
        .collect()
}

#[test]
fn bucket_sizes_follow_the_bound() {
    assert_eq!(bucket_size(1024, 40), Some(4));
    assert_eq!(bucket_size(16384, 40), Some(3));
    assert_eq!(bucket_size(65536, 40), Some(3));
    assert_eq!(bucket_size(1024, 80), Some(8));
}

#[test]
fn dabits_rebuild_for_two_and_three_parties() {
    for np in [2usize, 3] {
        let res = run_eda(
            np,
            None,
            Arc::new(|g, m, b, net| {
                // Two calls: the second is served partly from the first batch's spare daBits.
                let mut d = g.dabits(m, b, net, 1500)?;
                let e = g.dabits(m, b, net, 300)?;
                d.arith.extend(&e.arith);
                d.bin.extend(&e.bin);
                assert_eq!(g.stats().batches, 2);
                Ok(d)
            }),
        );
        let (alpha, delta) = keys(&res);
        let out = unwrap(res);
        let arith = open_all(&out.iter().map(|d| &d.arith).collect::<Vec<_>>(), alpha);
        let bin = open_bits(&out.iter().map(|d| &d.bin).collect::<Vec<_>>(), delta);
        assert_eq!(arith.len(), 1800);
        let ones = bin.iter().filter(|&&b| b).count();
        assert!((700..1100).contains(&ones), "{ones} ones of 1800");
        for (j, (a, b)) in arith.iter().zip(&bin).enumerate() {
            assert_eq!(*a, Fp::from(*b), "daBit {j}, N = {np}");
        }
    }
}

#[test]
fn strict_and_loose_edabits_rebuild_for_two_and_three_parties() {
    for np in [2usize, 3] {
        let res = run_eda(
            np,
            None,
            Arc::new(|g, m, b, net| {
                Ok((
                    g.edabits(m, b, net, 40, 20, 0)?,
                    g.edabits(m, b, net, 30, 9, 12)?,
                ))
            }),
        );
        let (alpha, delta) = keys(&res);
        let out = unwrap(res);
        for (which, pick) in [0usize, 1].iter().map(|&w| {
            (
                w,
                out.iter()
                    .map(|o| if w == 0 { &o.0 } else { &o.1 })
                    .collect::<Vec<_>>(),
            )
        }) {
            let (n, m, e) = if which == 0 { (40, 20, 0) } else { (30, 9, 12) };
            assert!(pick.iter().all(|x| x.bits == m && x.extra == e));
            let low = open_all(&pick.iter().map(|x| &x.low).collect::<Vec<_>>(), alpha);
            let high = open_all(&pick.iter().map(|x| &x.high).collect::<Vec<_>>(), alpha);
            let full: Vec<ShareVec> = pick.iter().map(|x| x.full()).collect();
            let full = open_all(&full.iter().collect::<Vec<_>>(), alpha);
            let bin = open_bits(&pick.iter().map(|x| &x.bin).collect::<Vec<_>>(), delta);
            assert_eq!(bin.len(), n * m as usize);
            let mut highs = Vec::new();
            for j in 0..n {
                let r: u128 = (0..m as usize).map(|i| (bin[i * n + j] as u128) << i).sum();
                assert_eq!(low[j], Fp::from_u128(r), "edaBit {j} ({m}+{e}), N = {np}");
                let h = high[j].to_u128();
                assert!(h < 1u128 << e, "high part in range");
                highs.push(h);
                assert_eq!(full[j], Fp::from_u128(r + (h << m)));
            }
            if e > 0 {
                assert!(highs.iter().any(|&h| h != highs[0]), "high parts vary");
            }
        }
    }
}

/// The pair check opens (r_f + r_g) mod 2^m, never the integer r_f + r_g: with m = 6, an integer
/// sum of two uniform 6-bit values is ≥ 64 about half the time, so thousands of opened values
/// all below 64 (and covering the range) show the reduction; and every party opened the same.
#[test]
fn the_edabit_pair_check_opens_only_sums_reduced_mod_2_to_the_m() {
    let res = run_eda(
        2,
        None,
        Arc::new(|g, m, b, net| {
            g.record_checks = true;
            g.edabits(m, b, net, 100, 6, 0)?;
            Ok(std::mem::take(&mut g.checked_sums))
        }),
    );
    let out = unwrap(res);
    assert_eq!(out[0], out[1], "both parties opened the same check values");
    let vals: Vec<u128> = out[0].iter().map(|v| v.to_u128()).collect();
    assert!(
        vals.len() >= 3000,
        "one batch of 1024 has ≥ 3 pairs per output"
    );
    assert!(
        vals.iter().all(|&v| v < 64),
        "an opened check value is not reduced mod 2^6"
    );
    let mut seen = [false; 64];
    for &v in &vals {
        seen[v as usize] = true;
    }
    assert!(seen.iter().all(|&s| s), "reduced sums cover 0..64");
}

/// Wide edaBits: the GF(p) value R is the sum of one w-bit value per party (so R < N·2^w and
/// uses the bits above w − 1), and the binary bits are R's low bits; MACs hold in both domains.
#[test]
fn wide_edabits_rebuild_for_two_and_three_parties() {
    for np in [2usize, 3] {
        let res = run_eda(
            np,
            None,
            Arc::new(|g, m, b, net| g.wide_edabits(m, b, net, 50, 12, 30)),
        );
        let (alpha, delta) = keys(&res);
        let out = unwrap(res);
        assert!(out.iter().all(|x| x.bits == 12 && x.width == 30));
        let value = open_all(&out.iter().map(|x| &x.value).collect::<Vec<_>>(), alpha);
        let bin = open_bits(&out.iter().map(|x| &x.bin).collect::<Vec<_>>(), delta);
        assert_eq!(bin.len(), 50 * 12);
        let mut above = 0;
        for j in 0..50 {
            let r = value[j].to_u128();
            assert!(r < (np as u128) << 30, "R = Σ of {np} 30-bit values");
            above += usize::from(r >= 1 << 30);
            let low: u128 = (0..12).map(|i| (bin[i * 50 + j] as u128) << i).sum();
            assert_eq!(
                low,
                r & 0xfff,
                "binary bits are R's low bits (element {j}, N = {np})"
            );
        }
        // A sum of N uniform 30-bit values exceeds 2^30 about half the time (N = 2).
        assert!(
            above > 5,
            "R is the integer sum, not reduced: {above} of 50 above 2^30"
        );
    }
}

#[test]
fn a_wide_edabit_with_an_inconsistent_input_or_opening_is_caught() {
    for (np, all) in [(2usize, false), (2, true), (3, false)] {
        let res = run_eda(
            np,
            Some((np - 1, EdaCheat::EdaArithPlusOne { all })),
            Arc::new(|g, m, b, net| g.wide_edabits(m, b, net, 16, 8, 48)),
        );
        assert_caught(res, np - 1, "consistency");
    }
    let res = run_eda(
        2,
        Some((0, EdaCheat::EdaFlipBinaryOpening)),
        Arc::new(|g, m, b, net| g.wide_edabits(m, b, net, 16, 8, 48)),
    );
    for (p, (_, _, r)) in res.into_iter().enumerate() {
        let e = r.expect_err("a flipped opening must fail the batch");
        if p != 0 {
            assert!(e.is_check_failure(), "party {p}: {e}");
        }
    }
}

#[test]
fn wide_edabits_refuse_widths_that_could_wrap() {
    let res = run_eda(
        2,
        None,
        Arc::new(|g, m, b, net| g.wide_edabits(m, b, net, 16, 8, 125)),
    );
    for (_, _, r) in res {
        assert!(matches!(r, Err(OfflineError::InvalidArgument(_))), "{r:?}");
    }
}

/// Every honest party fails with a check failure of step `step` (its own or a peer's abort);
/// no party returns tuples.
fn assert_caught<T: std::fmt::Debug>(
    res: Vec<(Fp, Gf128, Result<T>)>,
    cheater: PartyId,
    step: &str,
) {
    for (p, (_, _, r)) in res.into_iter().enumerate() {
        match r {
            Ok(_) => panic!("party {p} returned tuples"),
            Err(e) => {
                if p != cheater {
                    assert!(e.is_check_failure(), "party {p}: {e}");
                    assert_eq!(e.step(), step, "party {p}: {e}");
                }
            }
        }
    }
}

#[test]
fn a_wrong_dabit_aborts_generation_on_every_honest_party() {
    // x + 1 in GF(p): a bit of the wrong value (0 → 1) or a non-bit (1 → 2).
    for (np, all) in [(2usize, true), (2, false), (3, true), (3, false)] {
        let res = run_eda(
            np,
            Some((np - 1, EdaCheat::ArithPlusOne { all })),
            Arc::new(|g, m, b, net| g.dabits(m, b, net, 1024)),
        );
        assert_caught(res, np - 1, "consistency");
    }
}

#[test]
fn a_non_bit_input_in_gf_p_aborts_every_honest_party() {
    // x + 2 has the parity of x, so only the bit check can catch it.
    for (np, cheater) in [(2usize, 1usize), (3, 0), (3, 2)] {
        let res = run_eda(
            np,
            Some((cheater, EdaCheat::ArithPlusTwo)),
            Arc::new(|g, m, b, net| g.dabits(m, b, net, 1024)),
        );
        assert_caught(res, cheater, "consistency");
    }
}

#[test]
fn a_gf_p_input_that_differs_from_the_binary_input_aborts_every_honest_party() {
    // 1 − x in GF(p) for one candidate: a bit, so only the parity checks can catch it.
    for (np, cheater) in [(2usize, 0usize), (2, 1), (3, 1)] {
        let res = run_eda(
            np,
            Some((cheater, EdaCheat::ArithFlip)),
            Arc::new(|g, m, b, net| g.dabits(m, b, net, 1024)),
        );
        assert_caught(res, cheater, "consistency");
    }
}

#[test]
fn a_lie_in_the_private_opening_aborts_every_honest_party() {
    for (np, cheater) in [(2usize, 0usize), (2, 1), (3, 2)] {
        let res = run_eda(
            np,
            Some((cheater, EdaCheat::LieInPrivateOpening)),
            Arc::new(|g, m, b, net| g.dabits(m, b, net, 1024)),
        );
        assert_caught(res, cheater, "consistency");
    }
}

#[test]
fn parity_masks_hide_the_sum_and_fit_the_field() {
    assert_eq!(parity_mask_bits(1, 40), Some(42));
    assert_eq!(parity_mask_bits(2, 40), Some(42));
    assert_eq!(parity_mask_bits(3, 40), Some(43));
    assert_eq!(parity_mask_bits(1024, 40), Some(51));
    assert_eq!(parity_mask_bits(65536, 40), Some(57));
    assert_eq!(parity_mask_bits(65536, 108), Some(125));
    assert_eq!(parity_mask_bits(65536, 109), None);
    // n + 1 + 2^(L+1) < p at the largest L.
    let l = MAX_PARITY_MASK_BITS as u32;
    assert!((1u128 << (l + 1)) + (DABIT_BATCH as u128 + 1) < field::MODULUS);
}

#[test]
fn dabit_batches_of_any_size_rebuild() {
    for np in [2usize, 3] {
        let res = run_eda(
            np,
            None,
            Arc::new(|g, m, b, net| {
                // A request of 1 runs a batch of MIN_DABIT_BATCH; the next takes the rest.
                let mut d = g.dabits(m, b, net, 1)?;
                let e = g.dabits(m, b, net, MIN_DABIT_BATCH - 1)?;
                d.arith.extend(&e.arith);
                d.bin.extend(&e.bin);
                assert_eq!(g.stats().batches, 1);
                // Batches of exactly 1, 1, 77 and 1000 daBits (n + S candidates each).
                g.min_batch = Some(1);
                for k in [1usize, 1, 77, 1000] {
                    let e = g.dabits(m, b, net, k)?;
                    assert_eq!(e.arith.len(), k);
                    d.arith.extend(&e.arith);
                    d.bin.extend(&e.bin);
                }
                assert_eq!(g.stats().batches, 5);
                Ok(d)
            }),
        );
        let (alpha, delta) = keys(&res);
        let out = unwrap(res);
        let arith = open_all(&out.iter().map(|d| &d.arith).collect::<Vec<_>>(), alpha);
        let bin = open_bits(&out.iter().map(|d| &d.bin).collect::<Vec<_>>(), delta);
        assert_eq!(arith.len(), MIN_DABIT_BATCH + 1079);
        let ones = bin.iter().filter(|&&b| b).count();
        assert!((900..1200).contains(&ones), "{ones} ones of 2103");
        for (j, (a, b)) in arith.iter().zip(&bin).enumerate() {
            assert_eq!(*a, Fp::from(*b), "daBit {j}, N = {np}");
        }
    }
}

#[test]
fn an_edabit_with_an_inconsistent_arithmetic_input_is_caught() {
    // The edaBit check itself (the carries' daBits are honest).
    for (np, all) in [(2usize, false), (2, true), (3, false)] {
        let res = run_eda(
            np,
            Some((0, EdaCheat::EdaArithPlusOne { all })),
            Arc::new(|g, m, b, net| g.edabits(m, b, net, 16, 8, 41)),
        );
        assert_caught(res, 0, "consistency");
    }
    // Inconsistent daBits under the carries.
    let res = run_eda(
        2,
        Some((1, EdaCheat::ArithPlusOne { all: false })),
        Arc::new(|g, m, b, net| g.edabits(m, b, net, 16, 8, 0)),
    );
    assert_caught(res, 1, "consistency");
}

#[test]
fn wrong_openings_in_the_check_fail_the_mac_checks() {
    for cheat in [EdaCheat::FlipBinaryOpening, EdaCheat::ArithOpeningPlusOne] {
        let res = run_eda(
            2,
            Some((1, cheat)),
            Arc::new(|g, m, b, net| g.dabits(m, b, net, 1024)),
        );
        assert_caught(res, 1, "mac-check");
    }
    // In the edaBit check (the carries' daBits are honest).
    let res = run_eda(
        2,
        Some((1, EdaCheat::EdaFlipBinaryOpening)),
        Arc::new(|g, m, b, net| g.edabits(m, b, net, 16, 8, 0)),
    );
    assert_caught(res, 1, "mac-check");
}

#[test]
fn mixed_comparisons_run_on_the_on_demand_source() {
    let n = 2usize;
    let prep_nets = net::in_process(n, quick_net());
    let online_nets = net::in_process(n, quick_net());
    let xs: Vec<Vec<i64>> = vec![
        (0..24).map(|i| i * 1_000_003 - 9_000_000).collect(),
        (0..24).map(|i| 5_000_000 - i * 777_777).collect(),
    ];
    let handles: Vec<_> = prep_nets
        .into_iter()
        .zip(online_nets)
        .map(|(prep_net, net)| {
            let mine: Vec<Fp> = xs[net.my_id()].iter().map(|&x| Fp::from_i64(x)).collect();
            std::thread::spawn(move || -> std::result::Result<Vec<Fp>, String> {
                let prep =
                    OnDemandMascot::setup_mixed(prep_net, small(256), BinaryConfig::default())
                        .map_err(|e| e.to_string())?;
                assert!(prep.binary_key_share().is_some());
                let mut e = Engine::new(net, prep, EngineConfig::default());
                let shared = e.input(&[24, 24], &mine).map_err(|e| e.to_string())?;
                let lt = e
                    .mixed()
                    .map_err(|e| e.to_string())?
                    .lt(&shared[0], &shared[1], 64)
                    .map_err(|e| e.to_string())?;
                let out = e.reveal_many(&[&lt]).map_err(|e| e.to_string())?;
                Ok(out[0].clone())
            })
        })
        .collect();
    for h in handles {
        let lt = h.join().unwrap().expect("every party succeeds");
        for i in 0..24 {
            assert_eq!(
                lt[i].to_signed(),
                (xs[0][i] < xs[1][i]) as i128,
                "lt {i}: {} < {}",
                xs[0][i],
                xs[1][i]
            );
        }
    }
}

/// Probe (run with `--ignored --nocapture`): edaBits(64 + 41) per second and bytes sent per
/// edaBit for N = 2, next to the arithmetic comparison's preprocessing (89 prime triples and
/// 105 bits per comparison) in the same run.
#[test]
#[ignore]
fn probe_edabit_rate_against_the_arithmetic_path() {
    use std::time::{Duration, Instant};
    const K: usize = 1024;
    type Probe = (Duration, net::NetStats);
    let res = run_eda(
        2,
        None,
        Arc::new(|g, m, b, net| {
            let mut probe = |f: &mut dyn FnMut(
                &mut Mascot,
                &mut BinaryPrep,
                &mut Network,
                &mut EdaBitGen,
            ) -> Result<()>|
             -> Result<Probe> {
                let (t0, s0) = (Instant::now(), net.stats());
                f(m, b, net, g)?;
                Ok((t0.elapsed(), net.stats().since(&s0)))
            };
            let strict = probe(&mut |m, b, net, g| {
                assert_eq!(g.edabits(m, b, net, K, 64, 41)?.low.len(), K);
                Ok(())
            })?;
            let wide = probe(&mut |m, b, net, g| {
                assert_eq!(g.wide_edabits(m, b, net, K, 65, 111)?.value.len(), K);
                Ok(())
            })?;
            let extra = probe(&mut |m, b, net, g| {
                assert_eq!(g.dabits(m, b, net, K)?.arith.len(), K);
                assert_eq!(b.triples(net, 89 * K)?.len(), 89 * K);
                Ok(())
            })?;
            let arith = probe(&mut |m, _, net, _| {
                let t = m.triples(net, 89 * K)?;
                let bits = m.bits(net, 105 * K)?;
                assert_eq!(t.a.len() + bits.len(), 194 * K);
                Ok(())
            })?;
            Ok([strict, wide, extra, arith])
        }),
    );
    let out = unwrap(res);
    for ((t, s), what) in out[0].iter().zip([
        "strict loose edaBits(64 + 41) (Mod2m/Trunc masks)",
        "wide edaBits (65 of 111 bits) (comparison masks)",
        "1 daBit + 89 binary triples (the rest of a mixed comparison)",
        "arithmetic path: 89 MASCOT triples + 105 MASCOT bits (one arithmetic comparison)",
    ]) {
        println!(
            "N = 2, {K} × {what}: {:.3} s, {:.0}/s, {:.0} bytes sent each ({} rounds)",
            t.as_secs_f64(),
            K as f64 / t.as_secs_f64(),
            s.bytes_sent as f64 / K as f64,
            s.rounds
        );
    }
}
