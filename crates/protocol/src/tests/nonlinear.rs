use field::Fp;

use super::harness::*;
use crate::nonlinear::NonLinear;

fn floor_div(a: i128, m: u32) -> i128 {
    a.div_euclid(1 << m)
}

/// Runs `op` on party-0 input `a` and party-(n−1) input `b`, revealing the result.
fn binary_op(
    n: usize,
    t: Transport,
    a: Vec<i128>,
    b: Vec<i128>,
    op: fn(&mut TestEngine, &crate::ShareVec, &crate::ShareVec) -> crate::Result<crate::ShareVec>,
) -> Vec<i128> {
    signed(&agreed(run(n, t, move |e| {
        let x = input_from(e, 0, &fps(&a))?;
        let y = input_from(e, e.n_parties() - 1, &fps(&b))?;
        let z = op(e, &x, &y)?;
        e.reveal(&z)
    })))
}

fn unary_op(
    n: usize,
    t: Transport,
    a: Vec<i128>,
    op: fn(&mut TestEngine, &crate::ShareVec, &crate::ShareVec) -> crate::Result<crate::ShareVec>,
) -> Vec<i128> {
    binary_op(n, t, a.clone(), vec![0; a.len()], op)
}

#[test]
fn ltz_and_eqz_on_edge_and_random_values() {
    for t in [Transport::Channels, Transport::Tls] {
        for n in [2, 3, 5] {
            let a = edge_and_random_i64(60, 7 + n as u64);
            let lt = unary_op(n, t, a.clone(), |e, x, _| e.ltz(x, 64));
            assert_eq!(
                lt,
                a.iter().map(|&x| (x < 0) as i128).collect::<Vec<_>>(),
                "LTZ, n = {n}, {t:?}"
            );
            let eq = unary_op(n, t, a.clone(), |e, x, _| e.eqz(x, 64));
            assert_eq!(
                eq,
                a.iter().map(|&x| (x == 0) as i128).collect::<Vec<_>>(),
                "EQZ, n = {n}, {t:?}"
            );
        }
    }
}

#[test]
fn comparisons_match_plaintext() {
    let mut a = edge_and_random_i64(40, 11);
    let mut b = edge_and_random_i64(40, 13);
    // Pairs that are equal, adjacent, and at the extremes.
    a.extend([5, 5, -(1 << 63), (1 << 63) - 1, 0, -1]);
    b.extend([5, 6, (1 << 63) - 1, -(1 << 63), -1, 0]);
    for (n, t) in [
        (2, Transport::Channels),
        (3, Transport::Channels),
        (2, Transport::Tls),
        (5, Transport::Tls),
    ] {
        let lt = binary_op(n, t, a.clone(), b.clone(), |e, x, y| e.lt(x, y, 64));
        let le = binary_op(n, t, a.clone(), b.clone(), |e, x, y| e.le(x, y, 64));
        let gt = binary_op(n, t, a.clone(), b.clone(), |e, x, y| e.gt(x, y, 64));
        let ge = binary_op(n, t, a.clone(), b.clone(), |e, x, y| e.ge(x, y, 64));
        let eq = binary_op(n, t, a.clone(), b.clone(), |e, x, y| e.eq(x, y, 64));
        for i in 0..a.len() {
            let (x, y) = (a[i], b[i]);
            assert_eq!(lt[i], (x < y) as i128, "{x} < {y}");
            assert_eq!(le[i], (x <= y) as i128, "{x} <= {y}");
            assert_eq!(gt[i], (x > y) as i128, "{x} > {y}");
            assert_eq!(ge[i], (x >= y) as i128, "{x} >= {y}");
            assert_eq!(eq[i], (x == y) as i128, "{x} == {y}");
        }
    }
}

#[test]
fn exact_truncation_and_mod2m() {
    let a = edge_and_random_i64(50, 17);
    for (n, t) in [
        (2, Transport::Channels),
        (3, Transport::Tls),
        (5, Transport::Channels),
    ] {
        let tr = binary_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.trunc(x, 64, 5)
        });
        let md = binary_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.mod2m(x, 64, 17)
        });
        for i in 0..a.len() {
            assert_eq!(tr[i], floor_div(a[i], 5), "{} >> 5", a[i]);
            assert_eq!(md[i], a[i].rem_euclid(1 << 17), "{} mod 2^17", a[i]);
        }
    }
}

#[test]
fn probabilistic_truncation_is_floor_or_floor_plus_one() {
    let a = edge_and_random_i64(200, 19);
    let got = binary_op(
        3,
        Transport::Channels,
        a.clone(),
        vec![0; a.len()],
        |e, x, _| e.trunc_pr(x, 64, 16),
    );
    let mut ups = 0;
    for i in 0..a.len() {
        let f = floor_div(a[i], 16);
        assert!(
            got[i] == f || got[i] == f + 1,
            "TruncPr({}) = {}",
            a[i],
            got[i]
        );
        ups += (got[i] == f + 1) as usize;
    }
    // Rounding up happens with probability (a mod 2^16)/2^16; over 200 mostly random values some
    // but not all round up.
    assert!(ups > 10 && ups < 190, "{ups} of 200 rounded up");
}

#[test]
fn bit_decomposition_gives_twos_complement_bits() {
    let a = edge_and_random_i64(30, 23);
    for (n, t) in [(2, Transport::Channels), (3, Transport::Tls)] {
        let a2 = a.clone();
        let bits = agreed(run(n, t, move |e| {
            let x = input_from(e, 0, &fps(&a2))?;
            let bits = e.bit_dec(&x, 64, 64)?;
            let all = crate::ShareVec::concat(&bits.iter().collect::<Vec<_>>());
            e.reveal(&all)
        }));
        let len = a.len();
        for (j, &x) in a.iter().enumerate() {
            for i in 0..64 {
                let expect = ((x as i64 as u64) >> i) & 1;
                assert_eq!(bits[i * len + j], Fp::from_u64(expect), "bit {i} of {x}");
            }
        }
    }
}

#[test]
fn wider_bit_lengths_work() {
    // k = 80 (the widest with s = 40 leaves 5 bits of headroom): values near ±2^79.
    let big = (1i128 << 79) - 1;
    let a = vec![big, -big - 1, 0, -1, 1, 1 << 70, -(1 << 70)];
    let got = binary_op(
        2,
        Transport::Channels,
        a.clone(),
        vec![0; a.len()],
        |e, x, _| e.ltz(x, 80),
    );
    let eq = binary_op(
        2,
        Transport::Channels,
        a.clone(),
        vec![0; a.len()],
        |e, x, _| e.eqz(x, 80),
    );
    assert_eq!(eq, a.iter().map(|&x| (x == 0) as i128).collect::<Vec<_>>());
    assert_eq!(got, a.iter().map(|&x| (x < 0) as i128).collect::<Vec<_>>());
}

#[test]
fn unsupported_bit_length_is_an_error() {
    let res = run(2, Transport::Channels, |e| {
        let x = e.constant(&[Fp::ONE]);
        e.ltz(&x, 86).map(|_| ())?;
        e.ltz(&x, 90 + 40).map(|_| ())
    });
    for r in res {
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("not supported"), "{msg}");
    }
}
