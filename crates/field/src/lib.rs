//! Arithmetic in the prime field GF(p) for
//! `p = 198766463529478683931867765928436695041 = 0x958907458f2136861bd7554a24340001`,
//! the 128-bit prime of the SPDZ engine.
//!
//! * [`Fp`] is one element, kept in Montgomery form (`x·2^128 mod p`) on two
//!   64-bit limbs; multiplication is hand-written CIOS Montgomery
//!   multiplication (see the `fp` module docs for the maths and the bounds).
//! * [`kernels`] holds slice operations; [`kernels::inner_product`] uses lazy
//!   reduction.
//! * The wire format is the 16-byte little-endian Montgomery form
//!   ([`Fp::to_mont_bytes`]), compatible with MP-SPDZ and Carbyne Stack.
//!
//! [`Gf128`] is GF(2^128), the field of the binary domain's MACs ([`gf2_128`]).
//!
//! `p − 1` is divisible by `2^18`, which [`Fp::sqrt`] (Tonelli–Shanks) uses.
//!
//! ```
//! use field::{kernels, Fp};
//!
//! let a = Fp::from_i64(-3);
//! let b = Fp::from_u64(5);
//! assert_eq!((a * b).to_signed(), -15);
//! assert_eq!(a * a.inverse().unwrap(), Fp::ONE);
//! assert_eq!(Fp::from_u64(49).sqrt(), Some(Fp::from_u64(7)));
//!
//! let xs = [a, b];
//! assert_eq!(kernels::inner_product(&xs, &xs).to_u128(), 34);
//! let mut bytes = Vec::new();
//! kernels::encode(&xs, &mut bytes);
//! assert_eq!(kernels::decode(&bytes).unwrap(), xs);
//! ```

mod encoding;
mod fp;
pub mod gf2_128;
pub mod kernels;
mod sqrt;

pub use encoding::FieldError;
pub use fp::{Fp, MODULUS};
pub use gf2_128::Gf128;
pub use sqrt::{SMALLEST_NON_RESIDUE, TWO_ADIC_ROOT_OF_UNITY};

/// Measures [`kernels::inner_product`] on one thread and returns the rate in
/// multiply-adds per second.
///
/// Builds two pseudo-random vectors of `n` elements (deterministic
/// SplitMix64 stream), runs one warm-up pass, then times `reps` passes with
/// [`std::time::Instant`]. Meant for benchmark reports; `n` around `2^20`
/// and a few dozen `reps` give a stable figure.
pub fn bench_inner_product_rate(n: usize, reps: usize) -> f64 {
    use std::hint::black_box;
    let mut state = 0x0123_4567_89ab_cdefu64;
    let mut next = || {
        // SplitMix64.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut gen = || Fp::from_u128(((next() as u128) << 64) | next() as u128);
    let a: Vec<Fp> = (0..n).map(|_| gen()).collect();
    let b: Vec<Fp> = (0..n).map(|_| gen()).collect();
    black_box(kernels::inner_product(black_box(&a), black_box(&b)));
    let reps = reps.max(1);
    let start = std::time::Instant::now();
    for _ in 0..reps {
        black_box(kernels::inner_product(black_box(&a), black_box(&b)));
    }
    let secs = start.elapsed().as_secs_f64();
    (n as f64) * (reps as f64) / secs
}
