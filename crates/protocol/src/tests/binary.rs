//! The binary domain and the mixed-circuit kernels: dealer tuples rebuild correctly, AND/XOR/NOT
//! and B2A against plaintext, and every mixed kernel against plaintext and against the arithmetic
//! kernel, for N = 2 and 3, on edge and random values, with tuple and round accounting.

use field::{Fp, Gf128};
use proptest::prelude::*;

use super::harness::*;
use crate::binary::{unpack_bits, BitShares};
use crate::error::ProtocolError;
use crate::nonlinear::NonLinear;
use crate::prep::{InsecureDealer, PrepError, Preprocessing, TupleKind};
use crate::ShareVec;

// ----- dealer tuples rebuild -------------------------------------------------------------------

fn dealers(n: usize) -> Vec<InsecureDealer> {
    (0..n).map(|p| InsecureDealer::new(p, n, [9; 32])).collect()
}

/// Opens bit vectors from every party's shares, checking ⊕ m = x·Δ for every bit.
fn rebuild_bits(shares: &[BitShares], delta: Gf128) -> Vec<bool> {
    let len = shares[0].len();
    (0..len)
        .map(|j| {
            let x = shares.iter().fold(false, |a, s| a ^ s.value_bit(j));
            let m = shares
                .iter()
                .fold(Gf128::ZERO, |a, s| a + s.mac_shares()[j]);
            assert_eq!(m, delta.select(x), "binary MAC of bit {j}");
            x
        })
        .collect()
}

/// Opens arithmetic vectors from every party's shares, checking Σ m = α·x.
fn rebuild_fp(shares: &[ShareVec], alpha: Fp) -> Vec<u128> {
    (0..shares[0].len())
        .map(|j| {
            let x: Fp = shares.iter().map(|s| s.value_shares()[j]).sum();
            let m: Fp = shares.iter().map(|s| s.mac_shares()[j]).sum();
            assert_eq!(m, alpha * x, "arithmetic MAC of element {j}");
            x.to_u128()
        })
        .collect()
}

fn not_constant(bits: &[bool]) {
    assert!(bits.iter().any(|&b| b) && bits.iter().any(|&b| !b));
}

#[test]
fn dealer_binary_triples_rebuild_with_c_equal_a_and_b() {
    for n in [2, 3] {
        let mut ds = dealers(n);
        let delta = ds[0].global_binary_key();
        let keys: Vec<Gf128> = ds.iter().map(|d| d.binary_key_share().unwrap()).collect();
        assert_eq!(keys.iter().fold(Gf128::ZERO, |a, &k| a + k), delta);
        assert_ne!(delta, Gf128::ZERO);
        let t: Vec<_> = ds.iter_mut().map(|d| d.bit_triples(300).unwrap()).collect();
        let a = rebuild_bits(&t.iter().map(|x| x.a.clone()).collect::<Vec<_>>(), delta);
        let b = rebuild_bits(&t.iter().map(|x| x.b.clone()).collect::<Vec<_>>(), delta);
        let c = rebuild_bits(&t.iter().map(|x| x.c.clone()).collect::<Vec<_>>(), delta);
        not_constant(&a);
        not_constant(&b);
        not_constant(&c);
        for j in 0..300 {
            assert_eq!(c[j], a[j] & b[j]);
        }
    }
}

#[test]
fn dealer_dabits_are_the_same_bit_in_both_domains() {
    for n in [2, 3] {
        let mut ds = dealers(n);
        let (alpha, delta) = (ds[0].global_mac_key(), ds[0].global_binary_key());
        let d: Vec<_> = ds.iter_mut().map(|d| d.dabits(200).unwrap()).collect();
        let bin = rebuild_bits(&d.iter().map(|x| x.bin.clone()).collect::<Vec<_>>(), delta);
        let ar = rebuild_fp(
            &d.iter().map(|x| x.arith.clone()).collect::<Vec<_>>(),
            alpha,
        );
        not_constant(&bin);
        for j in 0..200 {
            assert_eq!(ar[j], bin[j] as u128);
        }
    }
}

#[test]
fn dealer_edabits_compose_their_bits_strict_and_loose() {
    for n in [2, 3] {
        for (count, m, extra) in [(40, 1, 0), (50, 10, 5), (30, 64, 0), (20, 63, 64)] {
            let mut ds = dealers(n);
            let (alpha, delta) = (ds[0].global_mac_key(), ds[0].global_binary_key());
            let e: Vec<_> = ds
                .iter_mut()
                .map(|d| d.edabits(count, m, extra).unwrap())
                .collect();
            let low = rebuild_fp(&e.iter().map(|x| x.low.clone()).collect::<Vec<_>>(), alpha);
            let high = rebuild_fp(&e.iter().map(|x| x.high.clone()).collect::<Vec<_>>(), alpha);
            let full = rebuild_fp(&e.iter().map(|x| x.full()).collect::<Vec<_>>(), alpha);
            let bits = rebuild_bits(&e.iter().map(|x| x.bin.clone()).collect::<Vec<_>>(), delta);
            not_constant(&bits);
            for j in 0..count {
                let composed: u128 = (0..m as usize)
                    .map(|i| (bits[i * count + j] as u128) << i)
                    .sum();
                assert_eq!(low[j], composed, "edaBit {j} of {m} bits");
                assert!(low[j] < 1u128 << m);
                assert!(extra > 0 || high[j] == 0);
                assert!(extra == 0 || high[j] < 1u128 << extra);
                assert_eq!(full[j], low[j] + (high[j] << m));
            }
            if extra >= 8 {
                assert!(high.iter().any(|&h| h >= 1u128 << (extra - 4)));
            }
        }
        // Shapes beyond the field are refused.
        assert!(matches!(
            dealers(n)[0].edabits(1, 100, 28),
            Err(PrepError::Source(_))
        ));
        assert!(dealers(n)[0].edabits(1, 0, 10).is_err());
    }
}

/// A source without the binary domain: the dealer's arithmetic tuples only.
struct ArithOnly(InsecureDealer);

impl Preprocessing for ArithOnly {
    fn mac_key_share(&self) -> Fp {
        self.0.mac_key_share()
    }
    fn triples(&mut self, n: usize) -> Result<crate::prep::Triples, PrepError> {
        self.0.triples(n)
    }
    fn squares(&mut self, n: usize) -> Result<crate::prep::Pairs, PrepError> {
        self.0.squares(n)
    }
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        self.0.bits(n)
    }
    fn inverses(&mut self, n: usize) -> Result<crate::prep::Pairs, PrepError> {
        self.0.inverses(n)
    }
    fn input_masks(
        &mut self,
        owner: usize,
        n: usize,
    ) -> Result<crate::prep::InputMasks, PrepError> {
        self.0.input_masks(owner, n)
    }
}

#[test]
fn sources_without_the_binary_domain_say_so() {
    let mut src = ArithOnly(InsecureDealer::new(0, 2, [1; 32]));
    assert!(src.binary_key_share().is_none());
    for (r, kind) in [
        (src.bit_triples(1).map(|_| ()), TupleKind::BitTriple),
        (src.dabits(1).map(|_| ()), TupleKind::DaBit),
        (
            src.edabits(1, 8, 2).map(|_| ()),
            TupleKind::EdaBit { bits: 8, extra: 2 },
        ),
    ] {
        let e = r.unwrap_err();
        assert_eq!(e, PrepError::Unsupported(kind));
        assert!(e.to_string().contains("does not provide"), "{e}");
    }
    // An engine on such a source refuses the mixed kernels and binary operations, typed.
    let nets = net::in_process(2, net_config());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|net| {
            std::thread::spawn(move || {
                let me = net.my_id();
                let mut e = crate::Engine::new(
                    net,
                    ArithOnly(InsecureDealer::new(me, 2, [1; 32])),
                    Default::default(),
                );
                assert!(!e.has_binary());
                let mixed = e.mixed().map(|_| ());
                let and = e.and_bits(&BitShares::zeros(1), &BitShares::zeros(1));
                (mixed, and.map(|_| ()))
            })
        })
        .collect();
    for h in handles {
        let (mixed, and) = h.join().unwrap();
        assert!(matches!(
            mixed,
            Err(ProtocolError::Prep(PrepError::Unsupported(
                TupleKind::BinaryKey
            )))
        ));
        assert!(matches!(and, Err(ProtocolError::Prep(_))), "{and:?}");
    }
}

/// A source whose wide edaBits come back one element longer than asked: a broken or hostile
/// source must not get a kernel to run on the wrong shape.
struct WideOffByOne(InsecureDealer);

impl Preprocessing for WideOffByOne {
    fn mac_key_share(&self) -> Fp {
        self.0.mac_key_share()
    }
    fn triples(&mut self, n: usize) -> Result<crate::prep::Triples, PrepError> {
        self.0.triples(n)
    }
    fn squares(&mut self, n: usize) -> Result<crate::prep::Pairs, PrepError> {
        self.0.squares(n)
    }
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        self.0.bits(n)
    }
    fn inverses(&mut self, n: usize) -> Result<crate::prep::Pairs, PrepError> {
        self.0.inverses(n)
    }
    fn input_masks(
        &mut self,
        owner: usize,
        n: usize,
    ) -> Result<crate::prep::InputMasks, PrepError> {
        self.0.input_masks(owner, n)
    }
    fn binary_key_share(&self) -> Option<Gf128> {
        self.0.binary_key_share()
    }
    fn wide_edabits(
        &mut self,
        n: usize,
        bits: u32,
        width: u32,
    ) -> Result<crate::prep::WideEdaBits, PrepError> {
        self.0.wide_edabits(n + 1, bits, width)
    }
}

#[test]
fn the_engine_refuses_wide_edabits_of_another_shape() {
    let nets = net::in_process(2, net_config());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|net| {
            std::thread::spawn(move || {
                let me = net.my_id();
                let mut e = crate::Engine::new(
                    net,
                    WideOffByOne(InsecureDealer::new(me, 2, [7; 32])),
                    Default::default(),
                );
                let r = e.take_wide_edabits(4, 8, 60).map(|_| ());
                (r, e.tuples_consumed().clone())
            })
        })
        .collect();
    for h in handles {
        let (r, consumed) = h.join().unwrap();
        match r {
            Err(ProtocolError::Prep(PrepError::Source(m))) => {
                assert!(m.contains("another shape"), "{m}")
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
        // Nothing of the wrong shape is counted as consumed.
        assert_eq!((consumed.edabits, consumed.edabit_bits), (0, 0));
    }
}

// ----- engine operations ----------------------------------------------------------------------

#[test]
fn and_xor_not_and_b2a_match_plaintext() {
    for n in [2, 3] {
        let out = agreed(run(n, Transport::Channels, |e| {
            let len = 131;
            let x = e.dabits(len)?.bin;
            let mut y = e.dabits(len)?.bin;
            // Make some y equal to public constants through XOR with known bits.
            let ctx = e.bit_ctx()?;
            y = ctx.xor_public(&y, &crate::binary::pack_bits((0..len).map(|j| j % 3 == 0)));
            let z = e.and_bits(&x, &y)?;
            let xo = x.xor(&y);
            let nx = ctx.not(&x);
            let za = e.b2a(&z)?;
            let xs = e.reveal_bits(&x)?;
            let ys = e.reveal_bits(&y)?;
            let zs = e.reveal_bits(&z)?;
            let xos = e.reveal_bits(&xo)?;
            let nxs = e.reveal_bits(&nx)?;
            let zas = e.reveal(&za)?;
            Ok((xs, ys, zs, xos, nxs, zas))
        }));
        let (x, y, z, xo, nx, za) = out;
        not_constant(&x);
        not_constant(&z);
        for j in 0..x.len() {
            assert_eq!(z[j], x[j] & y[j]);
            assert_eq!(xo[j], x[j] ^ y[j]);
            assert_eq!(nx[j], !x[j]);
            assert_eq!(za[j], Fp::from(z[j]));
        }
    }
}

#[test]
fn binary_ops_count_tuples_rounds_and_bytes() {
    let res = agreed(run(2, Transport::Channels, |e| {
        let x = e.dabits(100)?.bin;
        let y = e.dabits(100)?.bin;
        let before = (e.net_stats(), e.tuples_consumed().clone());
        let z = e.and_bits(&x, &y)?;
        let mid = e.net_stats();
        let _ = e.b2a(&z)?;
        let after = (e.net_stats(), e.tuples_consumed().since(&before.1));
        Ok((
            mid.since(&before.0),
            after.0.since(&mid),
            after.1.bit_triples,
            after.1.dabits,
        ))
    }));
    let (and, b2a, bt, db) = res;
    assert_eq!((and.rounds, and.bytes_sent), (1, 25)); // 200 bits
    assert_eq!((b2a.rounds, b2a.bytes_sent), (1, 13)); // 100 bits
    assert_eq!((bt, db), (100, 100));
}

#[test]
fn empty_binary_vectors_cost_nothing() {
    let res = agreed(run(2, Transport::Channels, |e| {
        let before = e.net_stats().rounds;
        let z = e.and_bits(&BitShares::zeros(0), &BitShares::zeros(0))?;
        let a = e.b2a(&z)?;
        Ok((z.len(), a.len(), e.net_stats().rounds - before))
    }));
    assert_eq!(res, (0, 0, 0));
}

#[test]
fn and_of_different_lengths_is_an_error() {
    for r in run(2, Transport::Channels, |e| {
        e.and_bits(&BitShares::zeros(2), &BitShares::zeros(3))
            .map(|_| ())
    }) {
        assert!(matches!(r, Err(ProtocolError::InvalidArgument(_))), "{r:?}");
    }
}

// ----- mixed kernels --------------------------------------------------------------------------

type Op = fn(&mut TestEngine, &ShareVec, &ShareVec) -> crate::Result<ShareVec>;

fn mixed_op(n: usize, t: Transport, a: Vec<i128>, b: Vec<i128>, op: Op) -> Vec<i128> {
    signed(&agreed(run(n, t, move |e| {
        let x = input_from(e, 0, &fps(&a))?;
        let y = input_from(e, e.n_parties() - 1, &fps(&b))?;
        let z = op(e, &x, &y)?;
        e.reveal(&z)
    })))
}

fn edge_values(k: u32) -> Vec<i128> {
    let h = 1i128 << (k - 1);
    vec![
        0,
        1,
        -1,
        2,
        -2,
        h - 1,
        h - 2,
        -h,
        -h + 1,
        -h + 2,
        h / 2,
        -h / 2,
    ]
}

#[test]
fn mixed_ltz_eqz_trunc_mod2m_match_plaintext() {
    let mut a = edge_values(64);
    a.extend(edge_and_random_i64(50, 101));
    for (n, t) in [
        (2, Transport::Channels),
        (3, Transport::Channels),
        (2, Transport::Tls),
    ] {
        let ltz = mixed_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.mixed()?.ltz(x, 64)
        });
        let eqz = mixed_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.mixed()?.eqz(x, 64)
        });
        let tr = mixed_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.mixed()?.trunc(x, 64, 5)
        });
        let md = mixed_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.mixed()?.mod2m(x, 64, 17)
        });
        let md1 = mixed_op(n, t, a.clone(), vec![0; a.len()], |e, x, _| {
            e.mixed()?.mod2m(x, 64, 1)
        });
        for i in 0..a.len() {
            let x = a[i];
            assert_eq!(ltz[i], (x < 0) as i128, "LTZ({x}), n = {n}");
            assert_eq!(eqz[i], (x == 0) as i128, "EQZ({x}), n = {n}");
            assert_eq!(tr[i], x.div_euclid(32), "{x} >> 5, n = {n}");
            assert_eq!(md[i], x.rem_euclid(1 << 17), "{x} mod 2^17, n = {n}");
            assert_eq!(md1[i], x.rem_euclid(2), "{x} mod 2, n = {n}");
        }
    }
}

#[test]
fn mixed_comparisons_match_plaintext_and_the_arithmetic_kernels() {
    let mut a = edge_and_random_i64(30, 211);
    let mut b = edge_and_random_i64(30, 223);
    a.extend([5, 5, -(1 << 63), (1 << 63) - 1, 0, -1, 7, -(1 << 63)]);
    b.extend([5, 6, (1 << 63) - 1, -(1 << 63), -1, 0, 7, -(1 << 63)]);
    for n in [2, 3] {
        let t = Transport::Channels;
        let lt = mixed_op(n, t, a.clone(), b.clone(), |e, x, y| {
            e.mixed()?.lt(x, y, 64)
        });
        let le = mixed_op(n, t, a.clone(), b.clone(), |e, x, y| {
            e.mixed()?.le(x, y, 64)
        });
        let gt = mixed_op(n, t, a.clone(), b.clone(), |e, x, y| {
            e.mixed()?.gt(x, y, 64)
        });
        let ge = mixed_op(n, t, a.clone(), b.clone(), |e, x, y| {
            e.mixed()?.ge(x, y, 64)
        });
        let eq = mixed_op(n, t, a.clone(), b.clone(), |e, x, y| {
            e.mixed()?.eq(x, y, 64)
        });
        let arith = mixed_op(n, t, a.clone(), b.clone(), |e, x, y| e.lt(x, y, 64));
        assert_eq!(lt, arith, "mixed and arithmetic LT disagree");
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
fn mixed_kernels_at_other_bit_lengths() {
    for k in [2u32, 3, 8, 32, 80] {
        let mut a = edge_values(k);
        a.dedup();
        let lim = 1i128 << (k - 1);
        a.retain(|&x| -lim <= x && x < lim);
        let (a1, a2, a3) = (a.clone(), a.clone(), a.clone());
        let got = agreed(run(2, Transport::Channels, move |e| {
            let x = input_from(e, 0, &fps(&a1))?;
            let l = e.mixed()?.ltz(&x, k)?;
            let z = e.mixed()?.eqz(&x, k)?;
            let m = e.mixed()?.mod2m(&x, k, (k / 2).max(1))?;
            Ok((
                signed(&e.reveal(&l)?),
                signed(&e.reveal(&z)?),
                signed(&e.reveal(&m)?),
            ))
        }));
        let m = (k / 2).max(1);
        assert_eq!(
            got.0,
            a2.iter().map(|&x| (x < 0) as i128).collect::<Vec<_>>(),
            "k = {k}"
        );
        assert_eq!(
            got.1,
            a3.iter().map(|&x| (x == 0) as i128).collect::<Vec<_>>(),
            "k = {k}"
        );
        assert_eq!(
            got.2,
            a.iter().map(|&x| x.rem_euclid(1 << m)).collect::<Vec<_>>(),
            "k = {k}"
        );
    }
}

#[test]
fn mixed_bit_decomposition_gives_twos_complement_bits_in_both_domains() {
    let mut a = edge_values(64);
    a.extend(edge_and_random_i64(20, 307));
    for n in [2, 3] {
        for m in [1u32, 7, 64] {
            let a2 = a.clone();
            let (arith, bin) = agreed(run(n, Transport::Channels, move |e| {
                let x = input_from(e, 0, &fps(&a2))?;
                let bits = e.mixed()?.bit_dec(&x, 64, m)?;
                let all = ShareVec::concat(&bits.iter().collect::<Vec<_>>());
                let bb = e.bit_dec_binary(&x, 64, m)?;
                let bb_all = BitShares::concat(&bb.iter().collect::<Vec<_>>());
                Ok((e.reveal(&all)?, e.reveal_bits(&bb_all)?))
            }));
            let len = a.len();
            for (j, &x) in a.iter().enumerate() {
                for i in 0..m as usize {
                    let expect = ((x as i64 as u64) >> i) & 1 == 1;
                    assert_eq!(arith[i * len + j], Fp::from(expect), "bit {i} of {x}");
                    assert_eq!(bin[i * len + j], expect, "binary bit {i} of {x}");
                }
            }
        }
    }
}

/// (prime triples, random bits, edaBit binary bits, daBits, binary triples, rounds) of one call
/// on 3 elements.
fn cost_of(op: Op) -> (u64, u64, u64, u64, u64, u64) {
    agreed(run(2, Transport::Channels, move |e| {
        let x = input_from(e, 0, &fps(&[3, -4, 5]))?;
        let y = input_from(e, 1, &fps(&[3, 4, -5]))?;
        let before = (e.tuples_consumed().clone(), e.net_stats().rounds);
        let _ = op(e, &x, &y)?;
        let used = e.tuples_consumed().since(&before.0);
        assert_eq!(used.edabits, 3);
        Ok((
            used.triples / 3,
            used.bits / 3,
            used.edabit_bits / 3,
            used.dabits / 3,
            used.bit_triples / 3,
            e.net_stats().rounds - before.1,
        ))
    }))
}

#[test]
fn mixed_kernels_use_binary_tuples_only_at_the_documented_cost() {
    // (prime triples, bits, edaBit bits, daBits, binary triples, rounds) per element, as in the
    // table of binary/mixed.rs and docs/PROTOCOL.md.
    assert_eq!(
        cost_of(|e, x, y| e.mixed()?.lt(x, y, 64)),
        (0, 0, 65, 1, 89, 7)
    );
    assert_eq!(
        cost_of(|e, x, _| e.mixed()?.ltz(x, 64)),
        (0, 0, 64, 1, 88, 7)
    );
    assert_eq!(
        cost_of(|e, x, _| e.mixed()?.eqz(x, 64)),
        (0, 0, 64, 1, 63, 7)
    );
    assert_eq!(
        cost_of(|e, x, y| e.mixed()?.eq(x, y, 64)),
        (0, 0, 65, 1, 64, 8)
    );
    assert_eq!(
        cost_of(|e, x, _| e.mixed()?.trunc(x, 64, 16)),
        (0, 0, 16, 1, 19, 5)
    );
    assert_eq!(
        cost_of(|e, x, _| {
            let b = e.mixed()?.bit_dec(x, 64, 64)?;
            Ok(b[0].clone())
        }),
        (0, 0, 64, 64, 321, 8)
    );
}

#[test]
fn mixed_kernels_refuse_unsupported_parameters() {
    for r in run(2, Transport::Channels, |e| {
        let x = e.constant(&[Fp::ONE]);
        let a = e.mixed()?.ltz(&x, 86).map(|_| ());
        assert!(matches!(a, Err(ProtocolError::InvalidArgument(_))), "{a:?}");
        e.mixed()?.ltz(&x, 1).map(|_| ())
    }) {
        // The first error poisons the engine.
        assert!(matches!(r, Err(ProtocolError::Aborted(_))), "{r:?}");
    }
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 6,
        failure_persistence: None,
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn mixed_trunc_and_eq_agree_with_plaintext(
        n in 2usize..=3,
        m in 1u32..64,
        v in prop::collection::vec((any::<i64>(), 0u32..64, any::<bool>()), 8..=16),
    ) {
        let a: Vec<i128> = v.iter().map(|&(x, s, _)| (x >> s) as i128).collect();
        let b: Vec<i128> = v
            .iter()
            .zip(&a)
            .map(|(&(y, _, tie), &x)| if tie { x } else { (y >> 7) as i128 })
            .collect();
        let (a1, b1) = (a.clone(), b.clone());
        let (tr, eq) = agreed(run(n, Transport::Channels, move |e| {
            let x = input_from(e, 0, &fps(&a1))?;
            let y = input_from(e, 1, &fps(&b1))?;
            let t = e.mixed()?.trunc(&x, 64, m)?;
            let q = e.mixed()?.eq(&x, &y, 64)?;
            Ok((signed(&e.reveal(&t)?), signed(&e.reveal(&q)?)))
        }));
        for i in 0..a.len() {
            prop_assert_eq!(tr[i], a[i].div_euclid(1 << m));
            prop_assert_eq!(eq[i], (a[i] == b[i]) as i128);
        }
    }
}

#[test]
fn revealed_bits_unpack_in_order() {
    // unpack_bits is the inverse of pack_bits (used by reveal_bits).
    let bits: Vec<bool> = (0..130).map(|j| j % 7 == 2 || j == 129).collect();
    assert_eq!(
        unpack_bits(&crate::binary::pack_bits(bits.clone()), 130),
        bits
    );
}

#[test]
fn mixed_kernels_for_five_parties_and_another_security_parameter() {
    let a = edge_and_random_i64(24, 401);
    let b = edge_and_random_i64(24, 409);
    let (a1, b1) = (a.clone(), b.clone());
    let ecfg = crate::EngineConfig {
        security: 20,
        ..Default::default()
    };
    let (lt, eq, used) = agreed(run_with(
        5,
        Transport::Channels,
        net_config(),
        ecfg,
        move |_, e| {
            let x = input_from(e, 0, &fps(&a1))?;
            let y = input_from(e, 4, &fps(&b1))?;
            let before = e.tuples_consumed().clone();
            let l = e.mixed()?.lt(&x, &y, 64)?;
            let q = e.mixed()?.eq(&x, &y, 64)?;
            let used = e.tuples_consumed().since(&before);
            Ok((signed(&e.reveal(&l)?), signed(&e.reveal(&q)?), used))
        },
    ));
    for i in 0..a.len() {
        assert_eq!(lt[i], (a[i] < b[i]) as i128, "{} < {}", a[i], b[i]);
        assert_eq!(eq[i], (a[i] == b[i]) as i128, "{} == {}", a[i], b[i]);
    }
    assert_eq!(used.edabits, 2 * a.len() as u64);
    // lt: a wide edaBit with 65 binary bits; eq: 65 bits.
    assert_eq!(used.edabit_bits, (65 + 65) * a.len() as u64);
}
