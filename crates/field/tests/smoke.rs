use field::{kernels, Fp, MODULUS};
use num_bigint::BigUint;

fn big(x: u128) -> BigUint {
    BigUint::from(x)
}

#[test]
fn smoke_mul_vs_bigint() {
    let p = big(MODULUS);
    let mut s = 1u128;
    for _ in 0..10000 {
        s = s
            .wrapping_mul(0x2545F4914F6CDD1D_9E3779B97F4A7C15)
            .wrapping_add(12345);
        let a = s % MODULUS;
        s = s
            .wrapping_mul(0x2545F4914F6CDD1D_9E3779B97F4A7C15)
            .wrapping_add(777);
        let b = s % MODULUS;
        let fa = Fp::from_u128(a);
        let fb = Fp::from_u128(b);
        assert_eq!(fa.to_u128(), a);
        assert_eq!(big((fa * fb).to_u128()), big(a) * big(b) % &p);
        assert_eq!(big((fa + fb).to_u128()), (big(a) + big(b)) % &p);
        assert_eq!(big((fa - fb).to_u128()), (big(a) + &p - big(b)) % &p);
        assert_eq!(fa * fa.inverse().unwrap(), Fp::ONE);
        if let Some(r) = fa.sqrt() {
            assert_eq!(r.square(), fa);
        }
        let v = [fa, fb, fa, fb, fa];
        let w = [fb, fa, fb, fb, fa];
        let expect: Fp = v.iter().zip(&w).map(|(x, y)| *x * *y).sum();
        assert_eq!(kernels::inner_product(&v, &w), expect);
    }
}
