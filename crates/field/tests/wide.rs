//! `Fp::from_wide_montgomery`: one double-width Montgomery reduction, checked against the field's
//! own arithmetic.

use field::{Fp, MODULUS};

/// `2^128 mod p`, the Montgomery factor R as an element.
fn r() -> Fp {
    Fp::from_u128(MODULUS.wrapping_neg())
}

/// What `from_wide_montgomery(lo, hi)` must be: `T·R⁻²` for `T = lo + (hi mod 2^127)·2^128`.
fn expected(lo: u128, hi: u128) -> Fp {
    let hi = hi & (u128::MAX >> 1);
    let r_inv = r().inverse().unwrap();
    (Fp::from_u128(lo) + Fp::from_u128(hi) * r()) * r_inv * r_inv
}

/// The element is canonical: its encoding decodes (decoding rejects forms ≥ p).
fn canonical(x: Fp) -> bool {
    Fp::from_mont_bytes(&x.to_mont_bytes()).is_ok()
}

#[test]
fn edge_values() {
    assert_eq!(Fp::from_wide_montgomery(0, 0), Fp::ZERO);
    for (lo, hi) in [
        (u128::MAX, u128::MAX >> 1),
        (u128::MAX, u128::MAX), // the top bit of hi is ignored
        (MODULUS, 0),
        (MODULUS - 1, 0),
        (0, MODULUS >> 1),
        (1, 0),
    ] {
        let x = Fp::from_wide_montgomery(lo, hi);
        assert!(canonical(x), "({lo}, {hi})");
        assert_eq!(x, expected(lo, hi), "({lo}, {hi})");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    #[test]
    fn matches_field_arithmetic(lo: u128, hi: u128) {
        let x = Fp::from_wide_montgomery(lo, hi);
        proptest::prop_assert!(canonical(x));
        proptest::prop_assert_eq!(x, expected(lo, hi));
    }
}
