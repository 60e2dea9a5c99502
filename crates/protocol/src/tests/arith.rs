use field::Fp;

use super::harness::*;
use crate::nonlinear::NonLinear;

const ALL: [Transport; 2] = [Transport::Channels, Transport::Tls];

#[test]
fn multiplication_matches_plaintext_for_2_3_5_parties() {
    for &t in &ALL {
        for n in [2, 3, 5] {
            let mut a: Vec<Fp> = (0..100)
                .map(|i| Fp::from_u64(i * 7919 + 3) * Fp::pow2(100))
                .collect();
            let mut b: Vec<Fp> = (0..100)
                .map(|i| Fp::from_i64(-(i as i64) * 104729 - 1))
                .collect();
            // Edge values: 0, ±1, ±(2^63 − 1), ±2^63, and the elements next to p/2.
            let half = Fp::from_u128((field::MODULUS - 1) / 2);
            let edges = [
                Fp::ZERO,
                Fp::ONE,
                -Fp::ONE,
                Fp::from_i64(i64::MAX),
                -Fp::from_i64(i64::MAX),
                Fp::from_i128(1 << 63),
                Fp::from_i128(-(1 << 63)),
                half,
                half + Fp::ONE,
                half - Fp::ONE,
            ];
            for (i, &x) in edges.iter().enumerate() {
                a.push(x);
                b.push(edges[(i + 3) % edges.len()]);
                a.push(x);
                b.push(x);
            }
            let expect: Vec<Fp> = a.iter().zip(&b).map(|(x, y)| *x * *y).collect();
            let (a2, b2) = (a.clone(), b.clone());
            let got = agreed(run(n, t, move |e| {
                let x = input_from(e, 0, &a2)?;
                let y = input_from(e, n - 1, &b2)?;
                let before = e.net_stats().rounds;
                let z = e.mul(&x, &y)?;
                assert_eq!(
                    e.net_stats().rounds - before,
                    1,
                    "a batch of products is one round"
                );
                e.reveal(&z)
            }));
            assert_eq!(got, expect, "n = {n}, {t:?}");
        }
    }
}

#[test]
fn squares_linear_ops_and_constants() {
    for n in [2, 3] {
        let got = agreed(run(n, Transport::Channels, move |e| {
            let x = input_from(e, 1, &fps(&[3, -4, 0, 1 << 40]))?;
            let sq = e.square(&x)?;
            let ctx = e.ctx();
            // 2x² − x + 5
            let mut y = sq.scale(Fp::from_u64(2)).sub(&x);
            y = ctx.add_scalar(&y, Fp::from_u64(5));
            e.reveal(&y)
        }));
        let expect: Vec<i128> = [3i128, -4, 0, 1 << 40]
            .iter()
            .map(|&x| 2 * x * x - x + 5)
            .collect();
        assert_eq!(signed(&got), expect);
    }
}

#[test]
fn inputs_from_several_parties_share_one_round() {
    let got = agreed(run(3, Transport::Channels, |e| {
        let me = e.party() as i128;
        let mine = fps(&[10 * me, 10 * me + 1]);
        let before = e.net_stats().rounds;
        let shares = e.input(&[2, 2, 2], &mine)?;
        assert_eq!(e.net_stats().rounds - before, 1);
        let all = crate::ShareVec::concat(&shares.iter().collect::<Vec<_>>());
        e.reveal(&all)
    }));
    assert_eq!(signed(&got), vec![0, 1, 10, 11, 20, 21]);
}

#[test]
fn wrong_input_count_is_an_error_not_a_panic() {
    let res = run(2, Transport::Channels, |e| {
        e.input(&[1, 0], &[]).map(|_| ())
    });
    assert!(res[0].is_err());
}

#[test]
fn reveal_costs_open_plus_three_check_rounds_and_first_check_one_more() {
    let got = agreed(run(2, Transport::Channels, |e| {
        let x = e.constant(&[Fp::from_u64(9)]);
        let r0 = e.net_stats().rounds;
        e.reveal(&x)?;
        let r1 = e.net_stats().rounds;
        e.reveal(&x)?;
        let r2 = e.net_stats().rounds;
        Ok((r1 - r0, r2 - r1))
    }));
    assert_eq!(got, (5, 4));
}

#[test]
fn engine_counts_tuples() {
    let got = agreed(run(2, Transport::Channels, |e| {
        let x = e.constant(&fps(&[1, 2, 3]));
        e.mul(&x, &x)?;
        e.ltz(&x, 64)?;
        Ok(e.tuples_consumed().clone())
    }));
    // LTZ on 64 bits: 31 pair products in the opening round, then 31+15+7+3+1 tree products.
    assert_eq!(got.triples, 3 + 3 * 88);
    assert_eq!(got.bits, 3 * (64 + 40));
}
