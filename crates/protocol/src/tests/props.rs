//! Property tests: the existing kernels against plaintext on random vectors, for 2 and 3 parties.
//! Few cases (every case runs all parties on threads), about 20 values each, failure persistence
//! off so that no regression files appear in the source tree.

use field::Fp;
use proptest::prelude::*;

use super::harness::*;
use crate::nonlinear::NonLinear;
use crate::ShareVec;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 8,
        failure_persistence: None,
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    }
}

/// Signed 64-bit values at every magnitude, with the extremes and zero over-represented.
fn value() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => (any::<i64>(), 0u32..64).prop_map(|(x, s)| x >> s),
        1 => prop::sample::select(vec![0i64, 1, -1, i64::MAX, i64::MIN, i64::MIN + 1]),
    ]
}

fn values() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(value(), 16..=24)
}

/// Pairs where about a quarter are equal, so that eq/lt see ties.
fn pairs() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::vec(
        (value(), value(), 0u8..4).prop_map(|(a, b, tie)| if tie == 0 { (a, a) } else { (a, b) }),
        16..=24,
    )
}

fn parties() -> impl Strategy<Value = usize> {
    2usize..=3
}

fn wide(xs: &[i64]) -> Vec<i128> {
    xs.iter().map(|&x| x as i128).collect()
}

/// Party 0 inputs `a`, party n−1 inputs `b`; `op` runs and its output is revealed.
fn run_binary(
    n: usize,
    a: Vec<i128>,
    b: Vec<i128>,
    op: impl Fn(&mut TestEngine, &ShareVec, &ShareVec) -> crate::Result<ShareVec>
        + Send
        + Sync
        + 'static,
) -> Vec<i128> {
    signed(&agreed(run(n, Transport::Channels, move |e| {
        let x = input_from(e, 0, &fps(&a))?;
        let y = input_from(e, e.n_parties() - 1, &fps(&b))?;
        let z = op(e, &x, &y)?;
        e.reveal(&z)
    })))
}

fn run_unary(
    n: usize,
    a: Vec<i128>,
    op: impl Fn(&mut TestEngine, &ShareVec) -> crate::Result<ShareVec> + Send + Sync + 'static,
) -> Vec<i128> {
    let zeros = vec![0; a.len()];
    run_binary(n, a, zeros, move |e, x, _| op(e, x))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mul_matches_plaintext(n in parties(), ab in pairs()) {
        let (a, b): (Vec<i64>, Vec<i64>) = ab.into_iter().unzip();
        // |a·b| ≤ 2^126 < (p − 1)/2, so the signed product is exact.
        let got = run_binary(n, wide(&a), wide(&b), |e, x, y| e.mul(x, y));
        let expect: Vec<i128> = a.iter().zip(&b).map(|(&x, &y)| x as i128 * y as i128).collect();
        prop_assert_eq!(got, expect);
    }

    #[test]
    fn ltz_matches_plaintext(n in parties(), a in values()) {
        let got = run_unary(n, wide(&a), |e, x| e.ltz(x, 64));
        prop_assert_eq!(got, a.iter().map(|&x| (x < 0) as i128).collect::<Vec<_>>());
    }

    #[test]
    fn eqz_matches_plaintext(n in parties(), a in values()) {
        let got = run_unary(n, wide(&a), |e, x| e.eqz(x, 64));
        prop_assert_eq!(got, a.iter().map(|&x| (x == 0) as i128).collect::<Vec<_>>());
    }

    #[test]
    fn comparisons_match_plaintext(n in parties(), ab in pairs()) {
        let (a, b): (Vec<i64>, Vec<i64>) = ab.into_iter().unzip();
        // lt and eq in one run: [a < b ‖ a = b].
        let got = run_binary(n, wide(&a), wide(&b), |e, x, y| {
            let lt = e.lt(x, y, 64)?;
            let eq = e.eq(x, y, 64)?;
            Ok(ShareVec::concat(&[&lt, &eq]))
        });
        let len = a.len();
        for i in 0..len {
            prop_assert_eq!(got[i], (a[i] < b[i]) as i128, "{} < {}", a[i], b[i]);
            prop_assert_eq!(got[len + i], (a[i] == b[i]) as i128, "{} == {}", a[i], b[i]);
        }
    }

    #[test]
    fn trunc_and_mod2m_match_plaintext(n in parties(), a in values(), m in 1u32..=63) {
        let got = run_unary(n, wide(&a), move |e, x| {
            let t = e.trunc(x, 64, m)?;
            let r = e.mod2m(x, 64, m)?;
            Ok(ShareVec::concat(&[&t, &r]))
        });
        let len = a.len();
        for (i, &x) in a.iter().enumerate() {
            let x = x as i128;
            prop_assert_eq!(got[i], x.div_euclid(1 << m), "trunc({}, {})", x, m);
            prop_assert_eq!(got[len + i], x.rem_euclid(1 << m), "mod2m({}, {})", x, m);
        }
    }

    #[test]
    fn trunc_pr_is_floor_or_floor_plus_one(n in parties(), a in values(), m in 1u32..=63) {
        let got = run_unary(n, wide(&a), move |e, x| e.trunc_pr(x, 64, m));
        for (i, &x) in a.iter().enumerate() {
            let fl = (x as i128).div_euclid(1 << m);
            prop_assert!(got[i] == fl || got[i] == fl + 1, "trunc_pr({}, {}) = {}", x, m, got[i]);
            if (x as i128).rem_euclid(1 << m) == 0 {
                // Exact multiples never round up.
                prop_assert_eq!(got[i], fl);
            }
        }
    }

    #[test]
    fn bit_dec_matches_plaintext(n in parties(), a in values(), m in 1u32..=64) {
        let a2 = wide(&a);
        let bits = agreed(run(n, Transport::Channels, move |e| {
            let x = input_from(e, 0, &fps(&a2))?;
            let bits = e.bit_dec(&x, 64, m)?;
            prop_assert_len(&bits, m as usize);
            e.reveal(&ShareVec::concat(&bits.iter().collect::<Vec<_>>()))
        }));
        let len = a.len();
        for (j, &x) in a.iter().enumerate() {
            for i in 0..m as usize {
                let expect = ((x as u64) >> i) & 1;
                prop_assert_eq!(bits[i * len + j], Fp::from_u64(expect), "bit {} of {}", i, x);
            }
        }
    }
}

/// Inside a party thread (a panic fails the case): BitDec returns m bit vectors.
fn prop_assert_len(bits: &[ShareVec], m: usize) {
    assert_eq!(
        bits.len(),
        m,
        "bit_dec returned {} bit vectors, expected {m}",
        bits.len()
    );
}
