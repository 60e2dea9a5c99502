//! GF(2^128): the field of the binary-domain MACs.
//!
//! An element is a polynomial of degree < 128 over GF(2), bit `i` of the `u128` holding the
//! coefficient of `x^i`. Addition is XOR. Multiplication is carry-less multiplication followed by
//! reduction modulo the GCM polynomial `f(x) = x^128 + x^7 + x^2 + x + 1` (irreducible, so every
//! non-zero element is invertible and `x·y = 0` only when `x = 0` or `y = 0`).
//!
//! **Why GF(2^128).** An authenticated bit `b` carries MAC shares summing to `b·Δ` for a global key
//! `Δ ∈ GF(2^128)`; the KOS correlated-OT extension in `offline` produces exactly such correlations
//! with a 128-bit Δ, and a forged MAC survives a check with probability 2^-128 per check. A bit
//! times Δ is a select, so only MAC *checks* (random linear combinations) multiply.
//!
//! **Reduction.** Write the 256-bit product as `h·x^128 + l`. Since `x^128 ≡ x^7 + x^2 + x + 1`,
//! `h·x^128 ≡ h·(x^7+x^2+x+1)`; that product has degree < 135, so its top 7 bits fold once more
//! the same way. Written by hand (no crate offers a small dependency-free GF(2^128) with this
//! bit order); [`Gf128::mul`] uses the `pclmulqdq` instruction when the CPU has it and a portable
//! shift-and-add loop otherwise, and the two are tested against each other.

/// One element of GF(2^128) (see the module docs for the representation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Gf128(pub u128);

impl std::fmt::Debug for Gf128 {
    /// Elements may be MAC keys or MAC shares: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gf128(..)")
    }
}

impl Gf128 {
    pub const ZERO: Gf128 = Gf128(0);
    pub const ONE: Gf128 = Gf128(1);

    /// The element of the 16 little-endian bytes `b`.
    pub fn from_le_bytes(b: [u8; 16]) -> Gf128 {
        Gf128(u128::from_le_bytes(b))
    }

    /// The 16 little-endian bytes of this element.
    pub fn to_le_bytes(self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    /// `self` if `bit`, else zero: a bit times an element, in constant time.
    #[inline]
    pub fn select(self, bit: bool) -> Gf128 {
        Gf128(self.0 & (bit as u128).wrapping_neg())
    }

    /// The product in GF(2^128).
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, rhs: Gf128) -> Gf128 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("pclmulqdq") {
                // SAFETY: the CPU supports pclmulqdq (checked just above).
                return unsafe { clmul_x86(self.0, rhs.0) };
            }
        }
        let (hi, lo) = clmul_portable(self.0, rhs.0);
        Gf128(reduce(hi, lo))
    }

    /// `self^(2^128 − 2)`, the inverse of a non-zero element (zero maps to zero).
    pub fn inverse(self) -> Gf128 {
        // x^-1 = x^(2^128-2) = Π_{i=1}^{127} x^(2^i).
        let mut acc = Gf128::ONE;
        let mut sq = self;
        for _ in 1..128 {
            sq = sq.mul(sq);
            acc = acc.mul(sq);
        }
        acc
    }
}

impl std::ops::Add for Gf128 {
    type Output = Gf128;
    #[inline]
    #[allow(clippy::suspicious_arithmetic_impl)] // addition in GF(2^128) is XOR
    fn add(self, rhs: Gf128) -> Gf128 {
        Gf128(self.0 ^ rhs.0)
    }
}

impl std::ops::AddAssign for Gf128 {
    #[inline]
    #[allow(clippy::suspicious_op_assign_impl)] // addition in GF(2^128) is XOR
    fn add_assign(&mut self, rhs: Gf128) {
        self.0 ^= rhs.0;
    }
}

impl std::ops::Mul for Gf128 {
    type Output = Gf128;
    #[inline]
    fn mul(self, rhs: Gf128) -> Gf128 {
        Gf128::mul(self, rhs)
    }
}

/// `Σ a[i]·b[i]` in GF(2^128), reduced once at the end.
///
/// The reduction is GF(2)-linear, so the sum of the reduced products equals the reduction of
/// the XOR of the unreduced 256-bit carry-less products: each term costs four 64×64-bit
/// carry-less multiplications and XORs into three accumulators, and one reduction serves the
/// whole slice. Uses `pclmulqdq` when the CPU has it (checked once per call, not per term), the
/// portable loop otherwise; the two are tested against each other and against the sum of
/// [`Gf128::mul`] products.
///
/// # Panics
///
/// If the slices differ in length (a programming error).
pub fn inner_product(a: &[Gf128], b: &[Gf128]) -> Gf128 {
    assert_eq!(a.len(), b.len(), "inner_product: slice lengths differ");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("pclmulqdq") {
            // SAFETY: the CPU supports pclmulqdq (checked just above).
            return unsafe { inner_product_x86(a, b) };
        }
    }
    inner_product_portable(a, b)
}

fn inner_product_portable(a: &[Gf128], b: &[Gf128]) -> Gf128 {
    let (mut hi, mut lo) = (0u128, 0u128);
    for (x, y) in a.iter().zip(b) {
        let (h, l) = clmul_portable(x.0, y.0);
        hi ^= h;
        lo ^= l;
    }
    Gf128(reduce(hi, lo))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq,sse2")]
unsafe fn inner_product_x86(a: &[Gf128], b: &[Gf128]) -> Gf128 {
    use std::arch::x86_64::*;
    let load = |v: u128| _mm_set_epi64x((v >> 64) as i64, v as i64);
    let mut ll = _mm_setzero_si128();
    let mut hh = _mm_setzero_si128();
    let mut mid = _mm_setzero_si128();
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (load(x.0), load(y.0));
        ll = _mm_xor_si128(ll, _mm_clmulepi64_si128(x, y, 0x00));
        hh = _mm_xor_si128(hh, _mm_clmulepi64_si128(x, y, 0x11));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128(x, y, 0x10));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128(x, y, 0x01));
    }
    let to_u128 = |v: __m128i| -> u128 {
        let mut out = [0u8; 16];
        _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, v);
        u128::from_le_bytes(out)
    };
    let mid = to_u128(mid);
    let lo = to_u128(ll) ^ (mid << 64);
    let hi = to_u128(hh) ^ (mid >> 64);
    Gf128(reduce(hi, lo))
}

/// Reduces `hi·x^128 + lo` modulo `x^128 + x^7 + x^2 + x + 1`.
#[inline]
fn reduce(hi: u128, lo: u128) -> u128 {
    // hi·(x^7 + x^2 + x + 1): the bits shifted out above x^127 fold once more.
    let spill = (hi >> 121) ^ (hi >> 126) ^ (hi >> 127);
    let folded = hi ^ (hi << 1) ^ (hi << 2) ^ (hi << 7);
    lo ^ folded ^ spill ^ (spill << 1) ^ (spill << 2) ^ (spill << 7)
}

/// Carry-less 128×128 → 256-bit product, bit by bit (the reference the fast path is tested
/// against).
fn clmul_portable(a: u128, b: u128) -> (u128, u128) {
    let (mut hi, mut lo) = (0u128, 0u128);
    for i in 0..128 {
        let mask = ((b >> i) & 1).wrapping_neg();
        lo ^= (a << i) & mask;
        if i > 0 {
            hi ^= (a >> (128 - i)) & mask;
        }
    }
    (hi, lo)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq,sse2")]
unsafe fn clmul_x86(a: u128, b: u128) -> Gf128 {
    use std::arch::x86_64::*;
    let x = _mm_set_epi64x((a >> 64) as i64, a as i64);
    let y = _mm_set_epi64x((b >> 64) as i64, b as i64);
    let ll = _mm_clmulepi64_si128(x, y, 0x00);
    let hh = _mm_clmulepi64_si128(x, y, 0x11);
    let lh = _mm_clmulepi64_si128(x, y, 0x10);
    let hl = _mm_clmulepi64_si128(x, y, 0x01);
    let to_u128 = |v: __m128i| -> u128 {
        let mut out = [0u8; 16];
        _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, v);
        u128::from_le_bytes(out)
    };
    let mid = to_u128(lh) ^ to_u128(hl);
    let lo = to_u128(ll) ^ (mid << 64);
    let hi = to_u128(hh) ^ (mid >> 64);
    Gf128(reduce(hi, lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slow_mul(a: u128, b: u128) -> u128 {
        let (hi, lo) = clmul_portable(a, b);
        reduce(hi, lo)
    }

    #[test]
    fn x_to_the_128_reduces_to_the_low_terms() {
        // x^127 · x = x^128 ≡ x^7 + x^2 + x + 1.
        assert_eq!(Gf128(1 << 127).mul(Gf128(2)), Gf128(0x87));
        assert_eq!(slow_mul(1 << 127, 2), 0x87);
        // x^127 · x^127 = x^254 = x^126 · x^128 ≡ x^133 + x^128 + x^127 + x^126.
        let x126 = Gf128(1 << 126);
        let expect = Gf128(1 << 127) + x126 + Gf128(0x87) + Gf128(1 << 5).mul(Gf128(0x87));
        assert_eq!(Gf128(1 << 127).mul(Gf128(1 << 127)), expect);
    }

    #[test]
    fn inner_product_matches_the_sum_of_products() {
        let mut state = 0x0123_4567_89ab_cdefu128;
        let mut next = || {
            state = state
                .wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645)
                .wrapping_add(0x5851_f42d_4c95_7f2d_1405_7b7e_f767_814f);
            Gf128(state ^ (state >> 67))
        };
        for n in [0usize, 1, 2, 7, 300] {
            let a: Vec<Gf128> = (0..n).map(|_| next()).collect();
            let b: Vec<Gf128> = (0..n).map(|_| next()).collect();
            let want = a.iter().zip(&b).fold(Gf128::ZERO, |s, (&x, &y)| s + x * y);
            assert_eq!(inner_product(&a, &b), want, "n = {n}");
            assert_eq!(inner_product_portable(&a, &b), want, "n = {n}");
        }
        let top = vec![Gf128(u128::MAX); 5];
        let want = top.iter().fold(Gf128::ZERO, |s, &x| s + x * x);
        assert_eq!(inner_product(&top, &top), want);
    }

    proptest! {
        #[test]
        fn fast_and_portable_products_agree(a: u128, b: u128) {
            prop_assert_eq!(Gf128(a).mul(Gf128(b)).0, slow_mul(a, b));
        }

        #[test]
        fn multiplication_is_a_field_product(a: u128, b: u128, c: u128) {
            let (a, b, c) = (Gf128(a), Gf128(b), Gf128(c));
            prop_assert_eq!(a * b, b * a);
            prop_assert_eq!((a * b) * c, a * (b * c));
            prop_assert_eq!(a * (b + c), a * b + a * c);
            prop_assert_eq!(a * Gf128::ONE, a);
        }

        #[test]
        fn non_zero_elements_invert(a in 1u128..) {
            prop_assert_eq!(Gf128(a) * Gf128(a).inverse(), Gf128::ONE);
        }

        #[test]
        fn select_is_a_bit_times_the_element(a: u128, bit: bool) {
            let expect = if bit { Gf128(a) } else { Gf128::ZERO };
            prop_assert_eq!(Gf128(a).select(bit), expect);
        }
    }
}
