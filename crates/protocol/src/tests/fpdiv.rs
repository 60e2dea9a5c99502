//! Fixed-point division (k = 31, f = 16, MP-SPDZ's `sfix` defaults) and Norm against exact
//! rational arithmetic.
//!
//! **Asserted bound.** For inputs a, b (the integers a·2^f, b·2^f as stored) whose quotient
//! Q = a·2^f/b fits (|Q| ≤ 2^(k−1) − 8), the result r satisfies |r − Q| ≤ 7 units of 2^−f, checked
//! exactly as |r·b − a·2^f| ≤ 7·|b|. That is the worst case derived in `nonlinear/fpdiv.rs`: 5
//! probabilistic truncations of y (each error < 1, amplified by the remaining Goldschmidt factors
//! to at most 1.54 + 1.14 + 1.02 + 1 + 1), the 3 truncations of x (≤ 0.83 together) and the
//! Goldschmidt residue ε^16·|Q| (< 0.01): < 6.6. It is relative to the quotient of the *stored*
//! inputs; an input like −0.1, stored as round(−0.1·2^16)/2^16, adds its own representation error
//! (MP-SPDZ prints sfix(2)/sfix(−0.1) as −19.9988 for the same reason).

use field::Fp;

use super::harness::*;
use crate::nonlinear::NonLinear;
use crate::ShareVec;

const K: u32 = 31;
const F: u32 = 16;
const BOUND_ULP: i128 = 7;

fn fx(x: f64) -> i128 {
    (x * (1u64 << F) as f64).round() as i128
}

/// Divides a by b (party 0 inputs a, party n−1 inputs b), returning the revealed results and the
/// rounds and tuples the division alone used (on party 0).
fn divide(n: usize, a: Vec<i128>, b: Vec<i128>) -> (Vec<i128>, u64, crate::prep::TupleCounts) {
    let out = agreed(run(n, Transport::Channels, move |e| {
        let x = input_from(e, 0, &fps(&a))?;
        let y = input_from(e, e.n_parties() - 1, &fps(&b))?;
        let rounds = e.net_stats().rounds;
        let tuples = e.tuples_consumed().clone();
        let q = e.fp_div(&x, &y, K, F)?;
        let used_rounds = e.net_stats().rounds - rounds;
        let now = e.tuples_consumed().clone();
        let used = crate::prep::TupleCounts {
            triples: now.triples - tuples.triples,
            bits: now.bits - tuples.bits,
            squares: now.squares - tuples.squares,
            inverses: now.inverses - tuples.inverses,
            input_masks: Vec::new(),
            ..Default::default()
        };
        Ok((signed(&e.reveal(&q)?), used_rounds, used))
    }));
    out
}

fn quotient_fits(a: i128, b: i128) -> bool {
    // |a·2^f / b| ≤ 2^(k−1) − 8.
    b != 0 && (a << F).abs() <= ((1i128 << (K - 1)) - 8) * b.abs()
}

/// |r − a·2^f/b| in units of 2^−f, as a float (for reporting).
fn error_ulp(r: i128, a: i128, b: i128) -> f64 {
    ((r * b - (a << F)) as f64 / b as f64).abs()
}

fn assert_close(r: &[i128], a: &[i128], b: &[i128], what: &str) -> f64 {
    let mut worst = 0f64;
    for i in 0..a.len() {
        let dev = (r[i] * b[i] - (a[i] << F)).abs();
        assert!(
            dev <= BOUND_ULP * b[i].abs(),
            "{what}: {}/{} gave {} (exact {}), error {:.3} units of 2^-16",
            a[i],
            b[i],
            r[i],
            (a[i] << F) as f64 / b[i] as f64,
            error_ulp(r[i], a[i], b[i])
        );
        worst = worst.max(error_ulp(r[i], a[i], b[i]));
    }
    worst
}

/// Pseudo-random fixed-point pairs whose quotient fits, with magnitudes spread over all scales.
fn random_pairs(count: usize, seed: u64) -> (Vec<i128>, Vec<i128>) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while a.len() < count {
        let (r1, r2) = (next(), next());
        // Signed 31-bit values shifted right by a random amount: every magnitude appears.
        let va = (((r1 as i32) >> 1) >> ((r1 >> 40) % 31)) as i128;
        let vb = (((r2 as i32) >> 1) >> ((r2 >> 40) % 31)) as i128;
        if quotient_fits(va, vb) {
            a.push(va);
            b.push(vb);
        }
    }
    (a, b)
}

fn edge_pairs() -> (Vec<i128>, Vec<i128>) {
    let max = (1i128 << (K - 1)) - 1;
    let min = -(1i128 << (K - 1));
    let pairs: Vec<(i128, i128)> = vec![
        (fx(1.0), fx(3.0)),
        (fx(2.0), fx(-0.1)),
        (fx(-20.0), fx(-0.1)),
        (fx(1.9), fx(1.0)),
        (fx(0.5), fx(4.0)),
        (fx(1.0), fx(1.0)),
        (fx(-1.0), fx(1.0)),
        (0, fx(7.5)),
        (0, -1),
        // Near ±2^(k−f−1) = ±16384.
        (max, fx(1.0)),
        (min, fx(1.0)),
        (max - 7, fx(1.0)),
        (fx(16383.0), fx(1.0)),
        (fx(-16383.5), fx(-1.0)),
        (max, max),
        (min, min),
        (max, min),
        (min, max),
        (fx(1.0), max),
        (fx(-1.0), min),
        (1, max),
        (max, fx(2.0)),
        (min, fx(-2.0)),
        // Small divisors: 2^−f·3, 2^−f, −2^−f, 2^−f·2.
        (fx(0.125), 3),
        (fx(0.1), 7),
        (100, 1),
        (-100, -1),
        (1, -1),
        (16383, 1),
        (-16384, 1),
        (5, 2),
        (fx(0.2), 3),
        // Powers of two, positive and negative (the c = 2^k case of Norm).
        (fx(3.0), fx(-4.0)),
        (fx(3.0), fx(-0.5)),
        (fx(3.0), -(1 << 20)),
        (fx(3.0), -(1 << 29)),
        (fx(3.0), min),
        (fx(-3.0), 1 << 29),
        (fx(std::f64::consts::PI), fx(std::f64::consts::E)),
        (fx(-1000.0), fx(0.001)),
    ];
    let pairs: Vec<(i128, i128)> = pairs
        .into_iter()
        .filter(|&(a, b)| quotient_fits(a, b))
        .collect();
    pairs.into_iter().unzip()
}

#[test]
fn fp_div_is_within_the_bound_for_edge_and_random_inputs() {
    let (mut a, mut b) = edge_pairs();
    let edges = a.len();
    assert!(edges >= 30, "edge cases must fit: {edges}");
    let (ra, rb) = random_pairs(600, 0xF1D1);
    a.extend(ra);
    b.extend(rb);
    for n in [2, 3] {
        let (r, rounds, used) = divide(n, a.clone(), b.clone());
        let worst = assert_close(&r, &a, &b, &format!("n = {n}"));
        let mean = (0..a.len())
            .map(|i| error_ulp(r[i], a[i], b[i]))
            .sum::<f64>()
            / a.len() as f64;
        eprintln!(
            "fp_div n = {n}: {} divisions, worst error {worst:.3}, mean {mean:.3} units of 2^-16; \
             {rounds} rounds, per division {} triples, {} bits",
            a.len(),
            used.triples / a.len() as u64,
            used.bits / a.len() as u64
        );
        assert_eq!(rounds, 19, "rounds of one batched division (k = 31)");
        assert_eq!(used.bits, 1097 * a.len() as u64, "bits");
        assert_eq!(used.triples % a.len() as u64, 0);
    }
}

#[test]
fn fp_div_matches_mp_spdz_printouts() {
    let a = vec![fx(2.0), fx(1.0), fx(0.5), fx(1.9)];
    let b = vec![fx(-0.1), fx(3.0), fx(4.0), fx(1.0)];
    let (r, _, _) = divide(3, a, b);
    let real: Vec<f64> = r.iter().map(|&x| x as f64 / (1u64 << F) as f64).collect();
    // MP-SPDZ: -19.9988, 0.333328, 0.125, 1.89999 (print_ln of sfix).
    let expect = [-19.9988, 1.0 / 3.0, 0.125, 1.9];
    for (g, w) in real.iter().zip(expect) {
        assert!((g - w).abs() < 1.2e-4, "got {g}, expected about {w}");
    }
}

#[test]
fn division_by_zero_neither_fails_nor_panics() {
    for n in [2, 3] {
        let (got, after) = agreed(run(n, Transport::Channels, |e| {
            let x = input_from(e, 0, &fps(&[fx(1.0), 0, -(1 << 30), (1 << 30) - 1]))?;
            let zero = e.constant(&[Fp::ZERO; 4]);
            let q = e.fp_div(&x, &zero, K, F)?;
            let got = signed(&e.reveal(&q)?);
            // The engine is still usable.
            let y = e.constant(&fps(&[fx(1.0); 4]));
            let q = e.fp_div(&x, &y, K, F)?;
            Ok((got, signed(&e.reveal(&q)?)))
        }));
        // Unspecified by the interface; this implementation gives 0.
        assert_eq!(got, vec![0; 4]);
        let a = vec![fx(1.0), 0, -(1 << 30), (1 << 30) - 1];
        assert_close(&after, &a, &[fx(1.0); 4], "after a division by zero");
    }
}

#[test]
fn norm_normalises_into_the_top_binade() {
    let vals: Vec<i128> = vec![
        1,
        -1,
        2,
        -2,
        3,
        -3,
        5,
        -4,
        1 << 29,
        -(1 << 29),
        (1 << 30) - 1,
        -(1 << 30),
        12345,
        -54321,
        0,
    ];
    let v2 = vals.clone();
    let (c, v) = agreed(run(2, Transport::Channels, move |e| {
        let x = input_from(e, 1, &fps(&v2))?;
        let (c, v) = e.fp_norm(&x, K)?;
        let both = e.reveal_many(&[&c, &v])?;
        Ok((signed(&both[0]), signed(&both[1])))
    }));
    for i in 0..vals.len() {
        let (b, c, v) = (vals[i], c[i], v[i]);
        if b == 0 {
            assert_eq!((c, v), (0, 0));
            continue;
        }
        assert_eq!(c, b * v, "c = b·v for {b}");
        assert!(
            v.signum() == b.signum() && v.unsigned_abs().is_power_of_two(),
            "v = {v} for {b}"
        );
        assert!((1 << (K - 1)..=1 << K).contains(&c), "c = {c} for {b}");
        assert_eq!(
            c == 1 << K,
            b < 0 && b.unsigned_abs().is_power_of_two(),
            "c = 2^k only for −2^i ({b})"
        );
    }
}

#[test]
fn unsupported_fixed_point_parameters_are_errors() {
    for (k, f) in [
        (31, 15),
        (40, 20),
        (64, 32),
        (5, 4),
        (2, 1),
        (u32::MAX, u32::MAX / 2),
        (7, u32::MAX),
    ] {
        let res = run(2, Transport::Channels, move |e| {
            let x = e.constant(&[Fp::ONE]);
            e.fp_div(&x, &x, k, f).map(|_| ())
        });
        for r in res {
            let msg = r.unwrap_err().to_string();
            assert!(msg.contains("not supported"), "k = {k}, f = {f}: {msg}");
        }
    }
}

#[test]
fn mismatched_lengths_are_an_error_and_empty_vectors_are_fine() {
    let res = run(2, Transport::Channels, |e| {
        let empty = e.fp_div(&ShareVec::default(), &ShareVec::default(), K, F)?;
        assert!(empty.is_empty());
        let x = e.constant(&[Fp::ONE, Fp::ONE]);
        let y = e.constant(&[Fp::ONE]);
        e.fp_div(&x, &y, K, F).map(|_| ())
    });
    for r in res {
        assert!(r.unwrap_err().to_string().contains("different lengths"));
    }
}

/// A larger sample for the accuracy figures in the docs (`cargo test -p protocol -- --ignored
/// fp_div_accuracy_survey --nocapture`): uniform magnitudes, large divisors (the largest ε) and
/// quotients near the top of the range.
#[test]
#[ignore]
fn fp_div_accuracy_survey() {
    let (mut a, mut b) = random_pairs(20_000, 0x5EED);
    let mut x = 0x9E3779B97F4A7C15u64;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    };
    while a.len() < 30_000 {
        let (r1, r2) = (next(), next());
        // |b| in [2^28, 2^30): ε up to 0.35.
        let vb = ((1i128 << 28) + (r2 % (3 << 28)) as i128) * if r2 >> 63 == 1 { -1 } else { 1 };
        let va = ((r1 as i32) >> 1) as i128;
        a.push(va);
        b.push(vb);
        // Quotient near ±2^30: a ≈ b·2^(k−1−f)·(1 − small).
        let vb = 1 + (r1 % (1 << 16)) as i128;
        let q = (1i128 << 30) - 8 - (r2 % 1024) as i128;
        let va = (q * vb) >> F;
        if quotient_fits(va, vb) {
            a.push(if r2 & 1 == 0 { va } else { -va });
            b.push(vb);
        }
    }
    let (r, _, _) = divide(2, a.clone(), b.clone());
    let worst = assert_close(&r, &a, &b, "survey");
    let errs: Vec<f64> = (0..a.len()).map(|i| error_ulp(r[i], a[i], b[i])).collect();
    let mean = errs.iter().sum::<f64>() / errs.len() as f64;
    let mut hist = [0usize; 8];
    for e in &errs {
        hist[(e.floor() as usize).min(7)] += 1;
    }
    eprintln!(
        "survey: {} divisions, worst {worst:.3}, mean {mean:.3} units of 2^-16, by unit {hist:?}",
        a.len()
    );
}

#[test]
fn tampering_inside_a_division_is_caught_before_reveal() {
    let res = run_with(
        3,
        Transport::Channels,
        net_config(),
        crate::EngineConfig::default(),
        |me, e| {
            let x = input_from(e, 0, &fps(&[fx(1.0), fx(-2.5)]))?;
            let y = input_from(e, 1, &fps(&[fx(3.0), fx(0.25)]))?;
            if me == 2 {
                e.cheat = Some(crate::engine::Cheat::AddToOpenedShare);
            }
            let q = e.fp_div(&x, &y, K, F)?;
            e.reveal(&q)
        },
    );
    for r in res {
        assert!(
            matches!(r, Err(crate::ProtocolError::MacCheckFailed)),
            "{r:?}"
        );
    }
}
