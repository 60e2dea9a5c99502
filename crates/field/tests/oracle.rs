//! Property tests of `field` against independent oracles: `ark-ff` (a
//! Montgomery implementation with the same modulus) and `num-bigint` (plain
//! big-integer arithmetic).

// The tests call the by-reference operator impls on purpose.
#![allow(clippy::op_ref)]

use ark_ff::fields::{Fp128, MontBackend, MontConfig};
use ark_ff::{AdditiveGroup, Field, LegendreSymbol, PrimeField};
use field::{kernels, FieldError, Fp, MODULUS};
use num_bigint::BigUint;
use proptest::prelude::*;

/// The same field in ark-ff. `generator = 7` is computed, not guessed: see
/// `seven_generates_the_multiplicative_group` (7 is also the smallest
/// quadratic non-residue; 3 and 5 are squares).
#[derive(MontConfig)]
#[modulus = "198766463529478683931867765928436695041"]
#[generator = "7"]
pub struct ArkConfig;
type Ark = Fp128<MontBackend<ArkConfig, 2>>;

const P: u128 = MODULUS;
const HALF: u128 = (P - 1) / 2;
/// 2^128 mod p.
const R_MOD_P: u128 = 141515903391459779531506841503331516415;
/// 2^-128 mod p.
const R_INV_MOD_P: u128 = 133854242216446749056083838363708373830;
/// Prime factorisation of p − 1 (each factor once; 2 appears with exponent 18).
const P_MINUS_1_FACTORS: [u128; 8] = [2, 3, 5, 13, 89, 2339, 65563, 284898085900583752631];

fn big(x: u128) -> BigUint {
    BigUint::from(x)
}

fn big_p() -> BigUint {
    big(P)
}

fn big_to_u128(x: &BigUint) -> u128 {
    let d = x.to_u64_digits();
    assert!(d.len() <= 2);
    d.iter()
        .rev()
        .fold(0u128, |acc, &w| (acc << 64) | w as u128)
}

fn to_ark(x: Fp) -> Ark {
    Ark::from(x.to_u128())
}

fn from_ark(a: Ark) -> u128 {
    let b = a.into_bigint();
    b.0[0] as u128 | (b.0[1] as u128) << 64
}

/// Canonical edge values (as integers in [0, p)).
fn edge_values() -> Vec<u128> {
    let m63 = (1u128 << 63) - 1;
    let t63 = 1u128 << 63;
    vec![
        0,
        1,
        P - 1,
        2,
        P - 2,
        m63,
        P - m63,
        t63,
        P - t63,
        (1 << 64) - 1,
        1 << 64,
        HALF - 1,
        HALF,
        HALF + 1, // (p+1)/2
        HALF + 2,
        P - 1 - HALF, // = HALF
        1 << 127,
        u128::MAX % P,
        u128::MAX - P, // 2^128 - 1 - p
        R_MOD_P,
        R_INV_MOD_P,
    ]
}

/// Edge values and uniform values, mixed.
fn fp_strategy() -> impl Strategy<Value = Fp> {
    let edges = edge_values();
    prop_oneof![
        1 => proptest::sample::select(edges).prop_map(Fp::from_u128),
        3 => any::<u128>().prop_map(Fp::from_u128),
        // Elements whose *Montgomery form* is near the top of the range,
        // which stresses carries in the lazy accumulator.
        1 => (0u128..1 << 20).prop_map(|d| Fp::from_mont_bytes(&(P - 1 - d).to_le_bytes()).unwrap()),
    ]
}

fn vec_pair(max: usize) -> impl Strategy<Value = (Vec<Fp>, Vec<Fp>)> {
    (0..=max).prop_flat_map(|n| {
        (
            proptest::collection::vec(fp_strategy(), n),
            proptest::collection::vec(fp_strategy(), n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arithmetic_matches_ark(a in fp_strategy(), b in fp_strategy()) {
        let (x, y) = (to_ark(a), to_ark(b));
        prop_assert_eq!((a + b).to_u128(), from_ark(x + y));
        prop_assert_eq!((a - b).to_u128(), from_ark(x - y));
        prop_assert_eq!((a * b).to_u128(), from_ark(x * y));
        prop_assert_eq!((-a).to_u128(), from_ark(-x));
        prop_assert_eq!(a.square().to_u128(), from_ark(x.square()));
        prop_assert_eq!(a.double().to_u128(), from_ark(x.double()));
        // Reference and assigning forms agree with the by-value ones.
        prop_assert_eq!(&a + &b, a + b);
        prop_assert_eq!(a - &b, a - b);
        prop_assert_eq!(&a * b, a * b);
        prop_assert_eq!(-&a, -a);
        let mut c = a;
        c += b;
        prop_assert_eq!(c, a + b);
        c -= &b;
        prop_assert_eq!(c, a);
        c *= b;
        prop_assert_eq!(c, a * b);
    }

    #[test]
    fn arithmetic_matches_bigint(a in any::<u128>(), b in any::<u128>()) {
        let p = big_p();
        let (fa, fb) = (Fp::from_u128(a), Fp::from_u128(b));
        prop_assert_eq!(fa.to_u128(), a % P);
        prop_assert_eq!(big((fa * fb).to_u128()), big(a) * big(b) % &p);
        prop_assert_eq!(big((fa + fb).to_u128()), (big(a) + big(b)) % &p);
        prop_assert_eq!(big((fa - fb).to_u128()), (big(a % P) + &p - big(b % P)) % &p);
    }

    #[test]
    fn inverse_matches_ark(a in fp_strategy()) {
        match a.inverse() {
            None => prop_assert!(a.is_zero()),
            Some(inv) => {
                prop_assert_eq!(inv.to_u128(), from_ark(to_ark(a).inverse().unwrap()));
                prop_assert_eq!(a * inv, Fp::ONE);
            }
        }
    }

    #[test]
    fn pow_matches_ark(a in fp_strategy(), e in any::<u128>()) {
        let expect = to_ark(a).pow([e as u64, (e >> 64) as u64]);
        prop_assert_eq!(a.pow(e).to_u128(), from_ark(expect));
        let small = e as u8 as u128;
        prop_assert_eq!(a.pow(small).to_u128(), from_ark(to_ark(a).pow([small as u64])));
    }

    #[test]
    fn sqrt_matches_ark(a in fp_strategy()) {
        let x = to_ark(a);
        match a.sqrt() {
            Some(r) => {
                prop_assert_eq!(r.square(), a);
                prop_assert!(r.to_u128() <= HALF, "root must be the small one");
                let ark_root = from_ark(x.sqrt().unwrap());
                prop_assert_eq!(r.to_u128(), ark_root.min((P - ark_root) % P));
                prop_assert!(a.is_square());
            }
            None => {
                prop_assert_eq!(x.legendre(), LegendreSymbol::QuadraticNonResidue);
                prop_assert!(x.sqrt().is_none());
                prop_assert!(!a.is_square());
            }
        }
    }

    #[test]
    fn sqrt_of_square(a in fp_strategy()) {
        let r = a.square().sqrt().unwrap();
        prop_assert!(r == a || r == -a);
        prop_assert!(r.to_u128() <= HALF);
        // A non-residue times a nonzero square is a non-residue.
        if !a.is_zero() {
            prop_assert_eq!((a.square() * Fp::from_u64(7)).sqrt(), None);
        }
    }

    #[test]
    fn signed_round_trip(x in any::<i128>()) {
        // Map into the signed range [-(p-1)/2, (p-1)/2].
        let half = HALF as i128;
        let v = x % (half + 1);
        prop_assert_eq!(Fp::from_i128(v).to_signed(), v);
        // Arbitrary i128 matches ark's reduction of i128.
        prop_assert_eq!(Fp::from_i128(x).to_u128(), from_ark(Ark::from(x)));
        let y = x as i64;
        prop_assert_eq!(Fp::from_i64(y), Fp::from_i128(y as i128));
        prop_assert_eq!(Fp::from_i64(y).to_signed(), y as i128);
    }

    #[test]
    fn to_signed_definition(a in fp_strategy()) {
        let x = a.to_u128();
        let s = a.to_signed();
        if x <= HALF {
            prop_assert_eq!(s, x as i128);
        } else {
            prop_assert_eq!(s, -((P - x) as i128));
        }
        prop_assert_eq!(Fp::from_i128(s), a);
    }

    #[test]
    fn mont_bytes_round_trip(a in fp_strategy()) {
        let b = a.to_mont_bytes();
        prop_assert_eq!(Fp::from_mont_bytes(&b), Ok(a));
        // The encoding is x·2^128 mod p, little-endian, which is exactly
        // ark's internal Montgomery form for the same R.
        let ark = to_ark(a);
        let mut expect = [0u8; 16];
        expect[..8].copy_from_slice(&ark.0 .0[0].to_le_bytes());
        expect[8..].copy_from_slice(&ark.0 .0[1].to_le_bytes());
        prop_assert_eq!(b, expect);
        let p = big_p();
        prop_assert_eq!(big(u128::from_le_bytes(b)), big(a.to_u128()) * big(R_MOD_P) % &p);
    }

    #[test]
    fn mont_bytes_reject_non_canonical(d in 0u128..=(u128::MAX - P)) {
        let b = (P + d).to_le_bytes();
        prop_assert_eq!(Fp::from_mont_bytes(&b), Err(FieldError::NonCanonical { index: 0 }));
    }

    #[test]
    fn pow2_matches_bigint(k in any::<u32>()) {
        let expect = big(2).modpow(&BigUint::from(k), &big_p());
        prop_assert_eq!(big(Fp::pow2(k).to_u128()), expect);
    }

    #[test]
    fn kernels_match_scalar_ops((a, b) in vec_pair(40), s in fp_strategy()) {
        let n = a.len();
        let mut d = a.clone();
        kernels::add_assign(&mut d, &b);
        prop_assert!((0..n).all(|i| d[i] == a[i] + b[i]));
        let mut d = a.clone();
        kernels::sub_assign(&mut d, &b);
        prop_assert!((0..n).all(|i| d[i] == a[i] - b[i]));
        let mut d = a.clone();
        kernels::mul_assign(&mut d, &b);
        prop_assert!((0..n).all(|i| d[i] == a[i] * b[i]));
        let mut d = a.clone();
        kernels::scale(&mut d, s);
        prop_assert!((0..n).all(|i| d[i] == a[i] * s));
        let mut d = a.clone();
        kernels::add_scaled(&mut d, &b, s);
        prop_assert!((0..n).all(|i| d[i] == a[i] + s * b[i]));

        let ip = kernels::inner_product(&a, &b);
        let scalar: Fp = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        prop_assert_eq!(ip, scalar);
        let ark: Ark = a.iter().zip(&b).map(|(x, y)| to_ark(*x) * to_ark(*y)).sum();
        prop_assert_eq!(ip.to_u128(), from_ark(ark));

        let mut bytes = vec![0xAB];
        kernels::encode(&a, &mut bytes);
        prop_assert_eq!(bytes.len(), 1 + 16 * n);
        prop_assert!((0..n).all(|i| bytes[1 + 16 * i..17 + 16 * i] == a[i].to_mont_bytes()));
        prop_assert_eq!(kernels::decode(&bytes[1..]), Ok(a.clone()));
        let mut dst = vec![Fp::ZERO; n];
        kernels::decode_into(&bytes[1..], &mut dst).unwrap();
        prop_assert_eq!(&dst, &a);
    }

    #[test]
    fn sum_and_product(a in proptest::collection::vec(fp_strategy(), 0..20)) {
        let sum: Fp = a.iter().sum();
        let prod: Fp = a.iter().product();
        let ark_sum: Ark = a.iter().map(|x| to_ark(*x)).sum();
        let ark_prod: Ark = a.iter().map(|x| to_ark(*x)).product();
        prop_assert_eq!(sum.to_u128(), from_ark(ark_sum));
        prop_assert_eq!(prod.to_u128(), from_ark(ark_prod));
        prop_assert_eq!(a.iter().copied().sum::<Fp>(), sum);
        prop_assert_eq!(a.iter().copied().product::<Fp>(), prod);
    }
}

#[test]
fn edge_values_all_pairs_match_ark() {
    let edges: Vec<Fp> = edge_values()
        .into_iter()
        .map(Fp::from_u128)
        .chain([
            Fp::from_u128(u128::MAX),
            Fp::from_u128(P),
            Fp::from_u128(P + 1),
        ])
        .collect();
    for &a in &edges {
        for &b in &edges {
            let (x, y) = (to_ark(a), to_ark(b));
            assert_eq!((a + b).to_u128(), from_ark(x + y), "{a} + {b}");
            assert_eq!((a - b).to_u128(), from_ark(x - y), "{a} - {b}");
            assert_eq!((a * b).to_u128(), from_ark(x * y), "{a} * {b}");
        }
        assert_eq!((-a).to_u128(), from_ark(-to_ark(a)));
        if let Some(r) = a.sqrt() {
            assert_eq!(r.square(), a);
        }
    }
}

#[test]
fn edge_signed_values() {
    let m63 = (1i128 << 63) - 1;
    let t63 = 1i128 << 63;
    let half = HALF as i128;
    for v in [
        0,
        1,
        -1,
        m63,
        -m63,
        t63,
        -t63,
        half,
        -half,
        half - 1,
        -half + 1,
    ] {
        assert_eq!(Fp::from_i128(v).to_signed(), v, "{v}");
    }
    assert_eq!(Fp::from_i64(-1).to_u128(), P - 1);
    assert_eq!(Fp::from_i64(i64::MIN).to_u128(), P - (1u128 << 63));
    assert_eq!(Fp::from_i64(i64::MAX).to_u128(), (1u128 << 63) - 1);
    assert_eq!(Fp::from_i128(i128::MIN).to_u128(), P - (1u128 << 127));
    assert_eq!(Fp::from_i128(i128::MAX).to_u128(), (1u128 << 127) - 1);
    // The boundary of the signed view.
    assert_eq!(Fp::from_u128(HALF).to_signed(), half);
    assert_eq!(Fp::from_u128(HALF + 1).to_signed(), -half);
    assert_eq!(Fp::from_u128(P - 1).to_signed(), -1);
    assert_eq!(Fp::from_u128(u128::MAX).to_u128(), u128::MAX - P);
    assert_eq!(Fp::from_u128(P), Fp::ZERO);
}

#[test]
fn known_constants() {
    assert_eq!(P, 0x958907458f2136861bd7554a24340001);
    assert_eq!(big(R_MOD_P), (BigUint::from(1u8) << 128u32) % big_p());
    assert_eq!(Fp::ONE.to_mont_bytes(), R_MOD_P.to_le_bytes());
    assert_eq!(
        Fp::from_mont_bytes(&1u128.to_le_bytes()).unwrap().to_u128(),
        R_INV_MOD_P
    );
    assert_eq!(
        big(R_MOD_P) * big(R_INV_MOD_P) % big_p(),
        BigUint::from(1u8)
    );
    assert_eq!(Fp::ZERO.to_mont_bytes(), [0; 16]);
    assert_eq!(Fp::default(), Fp::ZERO);
    assert_eq!(Fp::ONE.to_u128(), 1);
    assert_eq!(Fp::BYTES, 16);
    assert!(Fp::ZERO.is_zero() && !Fp::ONE.is_zero());
    assert_eq!(Fp::ZERO.inverse(), None);
    assert_eq!(Fp::ZERO.sqrt(), Some(Fp::ZERO));
    assert_eq!((P - 1) % (1 << 18), 0);
    assert_ne!((P - 1) % (1 << 19), 0);
}

#[test]
fn const_construction() {
    const FIVE: Fp = Fp::from_u64(5);
    const MINUS_TWO: Fp = Fp::from_i64(-2);
    assert_eq!(FIVE.to_u128(), 5);
    assert_eq!((FIVE + MINUS_TWO).to_u128(), 3);
}

#[test]
fn seven_generates_the_multiplicative_group() {
    // The factor list is complete and prime: it multiplies out to p − 1.
    let mut rest = P - 1;
    for f in P_MINUS_1_FACTORS {
        assert!(rest.is_multiple_of(f));
        while rest.is_multiple_of(f) {
            rest /= f;
        }
    }
    assert_eq!(rest, 1);
    // Trial division up to 2^22 > sqrt would be slow for the big factor, so
    // check it is a probable prime with a Fermat test in a few bases instead.
    let q = big(284898085900583752631);
    for base in [2u32, 3, 5, 7, 11, 13] {
        let b = BigUint::from(base);
        assert_eq!(b.modpow(&(&q - 1u32), &q), BigUint::from(1u8));
    }
    // g is a generator iff g^((p−1)/f) ≠ 1 for every prime f | p − 1.
    let p = big_p();
    let is_generator = |g: u32| {
        P_MINUS_1_FACTORS
            .iter()
            .all(|&f| BigUint::from(g).modpow(&big((P - 1) / f), &p) != BigUint::from(1u8))
    };
    let smallest = (2u32..).find(|&g| is_generator(g)).unwrap();
    assert_eq!(smallest, 7);
    // 3 is a quadratic residue (so it could not serve as ark's generator),
    // and 7 is the smallest non-residue.
    let euler = |z: u32| BigUint::from(z).modpow(&big(HALF), &p);
    assert_eq!(euler(3), BigUint::from(1u8));
    assert_eq!(euler(2), BigUint::from(1u8));
    assert_eq!(euler(5), BigUint::from(1u8));
    assert_eq!(euler(7), big(P - 1));
    assert_eq!(field::SMALLEST_NON_RESIDUE, 7);
    assert_eq!(Fp::from_u64(7).sqrt(), None);
    assert!(Fp::from_u64(3).sqrt().is_some());
    // Our 2^18-th root of unity matches ark's (both are 7^Q).
    assert_eq!(
        field::TWO_ADIC_ROOT_OF_UNITY.to_u128(),
        from_ark(<Ark as ark_ff::FftField>::TWO_ADIC_ROOT_OF_UNITY)
    );
    assert_eq!(<Ark as ark_ff::FftField>::TWO_ADICITY, 18);
}

#[test]
fn non_canonical_encodings_rejected() {
    for v in [P, P + 1, u128::MAX] {
        assert_eq!(
            Fp::from_mont_bytes(&v.to_le_bytes()),
            Err(FieldError::NonCanonical { index: 0 })
        );
    }
    assert!(Fp::from_mont_bytes(&(P - 1).to_le_bytes()).is_ok());
    let mut bytes = Vec::new();
    kernels::encode(&[Fp::ONE, Fp::ZERO], &mut bytes);
    bytes.extend_from_slice(&P.to_le_bytes());
    bytes.extend_from_slice(&u128::MAX.to_le_bytes());
    assert_eq!(
        kernels::decode(&bytes),
        Err(FieldError::NonCanonical { index: 2 })
    );
    let mut dst = [Fp::ZERO; 4];
    assert_eq!(
        kernels::decode_into(&bytes, &mut dst),
        Err(FieldError::NonCanonical { index: 2 })
    );
}

#[test]
fn bad_lengths_rejected() {
    for len in [1usize, 15, 17, 31, 33, 100] {
        let bytes = vec![0u8; len];
        assert_eq!(kernels::decode(&bytes), Err(FieldError::BadLength { len }));
        let mut dst = vec![Fp::ONE; len / 16];
        assert_eq!(
            kernels::decode_into(&bytes, &mut dst),
            Err(FieldError::BadLength { len })
        );
    }
    assert_eq!(kernels::decode(&[]), Ok(vec![]));
    let mut dst = [Fp::ONE; 3];
    assert_eq!(
        kernels::decode_into(&[0u8; 32], &mut dst),
        Err(FieldError::CountMismatch {
            expected: 3,
            actual: 2
        })
    );
    assert_eq!(dst, [Fp::ONE; 3], "dst is untouched on a length error");
    // Messages say what is wrong and what to do.
    let msg = FieldError::BadLength { len: 17 }.to_string();
    assert!(
        msg.contains("17") && msg.contains("multiple of 16"),
        "{msg}"
    );
    let msg = FieldError::NonCanonical { index: 4 }.to_string();
    assert!(msg.contains("element 4") && msg.contains(">= p"), "{msg}");
}

#[test]
#[should_panic(expected = "slice lengths differ")]
fn kernel_length_mismatch_panics() {
    let mut a = [Fp::ONE; 3];
    kernels::add_assign(&mut a, &[Fp::ONE; 2]);
}

#[test]
#[should_panic(expected = "slice lengths differ")]
fn inner_product_length_mismatch_panics() {
    kernels::inner_product(&[Fp::ONE; 3], &[Fp::ONE; 4]);
}

#[test]
fn inner_product_lazy_accumulator_extremes() {
    // Montgomery forms at the top of the range make every 64-bit partial
    // product close to 2^128, so the column sums carry on nearly every term.
    let top = Fp::from_mont_bytes(&(P - 1).to_le_bytes()).unwrap();
    let lo_limb_max = Fp::from_mont_bytes(&(u64::MAX as u128).to_le_bytes()).unwrap();
    let mixed = Fp::from_mont_bytes(&((P >> 64 << 64) - 1).to_le_bytes()).unwrap();
    for &(x, y) in &[
        (top, top),
        (lo_limb_max, lo_limb_max),
        (mixed, mixed),
        (top, mixed),
    ] {
        for n in [1usize, 2, 3, 7, 100, 10_001] {
            let a = vec![x; n];
            let b = vec![y; n];
            let expect = x * y * Fp::from_u64(n as u64);
            assert_eq!(kernels::inner_product(&a, &b), expect, "n = {n}");
        }
    }
}

#[test]
fn random_is_uniform_by_rejection() {
    /// Yields the bytes of p, then 2^128 − 1, then 5: the first two draws
    /// must be rejected.
    struct Scripted(Vec<u128>);
    impl rand_core::RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            unreachable!("Fp::random draws through fill_bytes only")
        }
        fn next_u64(&mut self) -> u64 {
            unreachable!("Fp::random draws through fill_bytes only")
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            let v = self.0.remove(0);
            dest.copy_from_slice(&v.to_le_bytes());
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    let mut rng = Scripted(vec![P, u128::MAX, 5]);
    let x = Fp::random(&mut rng);
    assert!(rng.0.is_empty());
    assert_eq!(x.to_mont_bytes(), 5u128.to_le_bytes());

    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let dyn_rng: &mut dyn rand_core::RngCore = &mut rng;
    let xs: Vec<Fp> = (0..4000).map(|_| Fp::random(dyn_rng)).collect();
    // Crude uniformity check: each quarter of [0, p) gets about 1000.
    let mut buckets = [0usize; 4];
    for x in &xs {
        let q = big_to_u128(&(big(x.to_u128()) * 4u32 / big_p()));
        buckets[q as usize] += 1;
    }
    assert!(
        buckets.iter().all(|&c| (850..1150).contains(&c)),
        "{buckets:?}"
    );
}

#[test]
fn conversions_and_formatting() {
    assert_eq!(Fp::from(true), Fp::ONE);
    assert_eq!(Fp::from(false), Fp::ZERO);
    assert_eq!(Fp::from(7u32).to_u128(), 7);
    assert_eq!(Fp::from(u64::MAX).to_u128(), u64::MAX as u128);
    assert_eq!(Fp::from_u64(42).to_string(), "42");
    assert_eq!(format!("{:?}", Fp::from_i64(-1)), (P - 1).to_string());
    assert_eq!(
        format!("{}", Fp::from_i64(-1)),
        "198766463529478683931867765928436695040"
    );
    assert_eq!(Fp::pow2(0), Fp::ONE);
    assert_eq!(Fp::pow2(127).to_u128(), 1 << 127);
    assert_eq!(Fp::pow2(128).to_u128(), R_MOD_P);
    let mut set = std::collections::HashSet::new();
    set.insert(Fp::from_u64(3));
    assert!(set.contains(&Fp::from_u128(P + 3)));
}
