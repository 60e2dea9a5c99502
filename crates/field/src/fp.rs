//! The field element type [`Fp`] and its scalar arithmetic.
//!
//! # Representation
//!
//! An element `x ∈ GF(p)` is stored in *Montgomery form*: the integer
//! `x̃ = x·R mod p` with `R = 2^128`, held in one `u128` that is always fully
//! reduced (`x̃ < p`). Because the map `x ↦ x·R mod p` is a bijection, equality,
//! hashing and "is zero" can be decided on `x̃` directly, and addition,
//! subtraction and negation are the same operations on `x̃` as on `x`
//! (`x̃ + ỹ = (x + y)·R`).
//!
//! Multiplication uses Montgomery reduction: `REDC(T) = T·R⁻¹ mod p`, so
//! `REDC(x̃·ỹ) = x·y·R = (x·y)~`. See [`mont_mul`] for the algorithm and its
//! bounds.
//!
//! # A note on p
//!
//! `p = 0x958907458f2136861bd7554a24340001 ≈ 2^127.22`. Its top bit is set, so
//! unlike the common case `p < R/4` there is no slack above `p` in a `u128`:
//! `a + b` for `a, b < p` can exceed `2^128` and every routine here tracks that
//! carry explicitly, and the Montgomery product must end with a conditional
//! subtraction (its intermediate result lies in `[0, 2p)`, which needs 129
//! bits).
//!
//! # Timing
//!
//! Addition, subtraction, negation and multiplication select their results
//! with masks rather than branches, so their running time does not depend on
//! the operands. [`Fp::pow`] depends only on the (public) exponent.
//! [`Fp::sqrt`] and [`Fp::to_signed`] are *not* constant time.

use core::fmt;
use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// The prime modulus `p = 198766463529478683931867765928436695041`.
///
/// `p − 1 = 2^18 · q` with `q` odd, so `GF(p)*` has a subgroup of order `2^18`
/// (used by [`Fp::sqrt`]).
pub const MODULUS: u128 = 198766463529478683931867765928436695041;

/// Low 64-bit limb of `p`.
pub(crate) const P0: u64 = MODULUS as u64;
/// High 64-bit limb of `p`.
pub(crate) const P1: u64 = (MODULUS >> 64) as u64;

/// `-p⁻¹ mod 2^64`, the per-limb Montgomery constant.
///
/// Computed by Newton–Hensel lifting: if `y·p ≡ 1 (mod 2^k)` then
/// `y·(2 − p·y)` is an inverse mod `2^2k`. Starting from `y = 1` (valid mod 2
/// since `p` is odd, in fact mod `2^18` since `p ≡ 1 mod 2^18`), six steps
/// reach 64 bits.
pub(crate) const INV: u64 = {
    let mut y: u64 = 1;
    let mut i = 0;
    while i < 6 {
        y = y.wrapping_mul(2u64.wrapping_sub(P0.wrapping_mul(y)));
        i += 1;
    }
    y.wrapping_neg()
};

/// `R mod p = 2^128 − p` (valid because `p < 2^128 < 2p`). This is the
/// Montgomery form of 1.
pub(crate) const R_MOD_P: u128 = MODULUS.wrapping_neg();

/// `R² mod p`, used to convert into Montgomery form: `REDC(x·R²) = x·R`.
///
/// Computed at compile time by doubling `R mod p` 128 times modulo `p`.
pub(crate) const R2_MOD_P: u128 = {
    let mut x = R_MOD_P;
    let mut i = 0;
    while i < 128 {
        x = add_mod(x, x);
        i += 1;
    }
    x
};

/// All-ones if `c`, else zero.
#[inline(always)]
const fn mask(c: bool) -> u128 {
    (c as u128).wrapping_neg()
}

/// `(a + b) mod p` for `a, b < p`.
///
/// The true sum is below `2p < 2^129`. If it carried out of 128 bits it is
/// certainly `≥ p` and the wrapped difference `s − p` (mod 2^128) is the exact
/// answer; otherwise subtract `p` only if `s ≥ p` (no borrow).
#[inline(always)]
pub(crate) const fn add_mod(a: u128, b: u128) -> u128 {
    let (s, carry) = a.overflowing_add(b);
    let (d, borrow) = s.overflowing_sub(MODULUS);
    let m = mask(carry | !borrow);
    (d & m) | (s & !m)
}

/// `(a − b) mod p` for `a, b < p`: subtract, and add `p` back on borrow.
#[inline(always)]
pub(crate) const fn sub_mod(a: u128, b: u128) -> u128 {
    let (d, borrow) = a.overflowing_sub(b);
    d.wrapping_add(MODULUS & mask(borrow))
}

/// Reduces a 129-bit value `hi·2^128 + lo < 2p` (with `hi ∈ {0, 1}`) into
/// `[0, p)` by one conditional subtraction.
#[inline(always)]
pub(crate) const fn reduce_once(hi: u64, lo: u128) -> u128 {
    let (d, borrow) = lo.overflowing_sub(MODULUS);
    let m = mask((hi != 0) | !borrow);
    (d & m) | (lo & !m)
}

#[inline(always)]
const fn mul64(a: u64, b: u64) -> u128 {
    (a as u128) * (b as u128)
}

/// Montgomery product `REDC(a·b) = a·b·R⁻¹ mod p` for `a, b < p`.
///
/// This is the *coarsely integrated operand scanning* (CIOS) method on two
/// 64-bit limbs. For each limb `b_i` of `b` (i = 0, 1):
///
/// 1. `t ← t + a·b_i` (three limbs plus a carry bit);
/// 2. `m ← t_0 · (−p⁻¹) mod 2^64`, chosen so that `t + m·p ≡ 0 (mod 2^64)`;
/// 3. `t ← (t + m·p) / 2^64`, an exact shift by one limb.
///
/// After both rounds `t ≡ a·b·2^-128 (mod p)`, and
/// `t = (a·b + M·p) / 2^128` with `M < 2^128`, so
/// `t < (p² + 2^128·p) / 2^128 = p·(p/2^128 + 1) < 2p`.
/// That is below `2^129`: `t` occupies two limbs and one carry bit, and one
/// conditional subtraction of `p` finishes the reduction.
///
/// Every `u128` expression of the form `x·y + z + w` below has
/// `x, y, z, w < 2^64`, so it is at most `(2^64−1)² + 2(2^64−1) = 2^128 − 1`
/// and cannot overflow.
#[inline(always)]
pub(crate) const fn mont_mul(a: u128, b: u128) -> u128 {
    let a0 = a as u64;
    let a1 = (a >> 64) as u64;
    let b0 = b as u64;
    let b1 = (b >> 64) as u64;

    // Round 0: t = a·b0.
    let uv = mul64(a0, b0);
    let t0 = uv as u64;
    let uv = mul64(a1, b0) + (uv >> 64);
    let t1 = uv as u64;
    let t2 = (uv >> 64) as u64;
    // t = (t + m·p) / 2^64. The low limb of t + m·p is zero by choice of m;
    // only its carry survives.
    let m = t0.wrapping_mul(INV);
    let uv = mul64(m, P0) + t0 as u128;
    let uv = mul64(m, P1) + t1 as u128 + (uv >> 64);
    let t0 = uv as u64;
    let uv = t2 as u128 + (uv >> 64);
    let t1 = uv as u64;
    let t2 = (uv >> 64) as u64; // < 2 since t < 2p here

    // Round 1: t = t + a·b1.
    let uv = mul64(a0, b1) + t0 as u128;
    let t0 = uv as u64;
    let uv = mul64(a1, b1) + t1 as u128 + (uv >> 64);
    let t1 = uv as u64;
    let uv = t2 as u128 + (uv >> 64);
    let t2 = uv as u64;
    let t3 = (uv >> 64) as u64;
    let m = t0.wrapping_mul(INV);
    let uv = mul64(m, P0) + t0 as u128;
    let uv = mul64(m, P1) + t1 as u128 + (uv >> 64);
    let r0 = uv as u64;
    let uv = t2 as u128 + (uv >> 64);
    let r1 = uv as u64;
    let r2 = t3 + (uv >> 64) as u64;

    reduce_once(r2, ((r1 as u128) << 64) | r0 as u128)
}

/// Montgomery reduction of a single-width value: `REDC(a) = a·R⁻¹ mod p` for
/// any `a < 2^128`.
///
/// Same as [`mont_mul`] with `b = 1`: the result is
/// `(a + M·p)/2^128 < (2^128 + 2^128·p)/2^128 = p + 1`, so one conditional
/// subtraction suffices.
#[inline(always)]
pub(crate) const fn redc128(a: u128) -> u128 {
    let t0 = a as u64;
    let t1 = (a >> 64) as u64;
    let m = t0.wrapping_mul(INV);
    let uv = mul64(m, P0) + t0 as u128;
    let uv = mul64(m, P1) + t1 as u128 + (uv >> 64);
    let t0 = uv as u64;
    let t1 = (uv >> 64) as u64;
    let m = t0.wrapping_mul(INV);
    let uv = mul64(m, P0) + t0 as u128;
    let uv = mul64(m, P1) + t1 as u128 + (uv >> 64);
    // uv < 2^128 here: it is the whole result (< p + 1), no third limb.
    reduce_once(0, uv)
}

/// Montgomery reduction of a double-width value: `REDC(T) = T·R⁻¹ mod p` for
/// `T = lo + hi·2^128` with `hi < 2^127`.
///
/// Each of the two steps adds `m·p·2^(64i)` with `m = t_i·(−p⁻¹) mod 2^64`,
/// which clears limb `i`; the result `(T + M·p)/2^128 < 2^127 + p < 2p` needs
/// one conditional subtraction.
#[inline(always)]
pub(crate) const fn redc256(lo: u128, hi: u128) -> u128 {
    let t0 = lo as u64;
    let t1 = (lo >> 64) as u64;
    let t2 = hi as u64;
    let t3 = (hi >> 64) as u64;
    // Step 0: clear limb 0.
    let m = t0.wrapping_mul(INV);
    let uv = mul64(m, P0) + t0 as u128;
    let uv = mul64(m, P1) + t1 as u128 + (uv >> 64);
    let t1 = uv as u64;
    let uv = t2 as u128 + (uv >> 64);
    let t2 = uv as u64;
    let uv = t3 as u128 + (uv >> 64);
    let t3 = uv as u64;
    let t4 = (uv >> 64) as u64;
    // Step 1: clear limb 1.
    let m = t1.wrapping_mul(INV);
    let uv = mul64(m, P0) + t1 as u128;
    let uv = mul64(m, P1) + t2 as u128 + (uv >> 64);
    let r0 = uv as u64;
    let uv = t3 as u128 + (uv >> 64);
    let r1 = uv as u64;
    let r2 = t4 + (uv >> 64) as u64;
    reduce_once(r2, ((r1 as u128) << 64) | r0 as u128)
}

/// An element of GF(p), `p =` [`MODULUS`].
///
/// Stored in Montgomery form (`x·2^128 mod p`, always fully reduced), so the
/// derived `PartialEq`, `Eq` and `Hash` agree with equality in the field, and
/// `Default` is zero.
///
/// Arithmetic goes through the standard operators (`+ - * -x` and their
/// assigning forms, by value or by reference), [`Sum`] and [`Product`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Fp(pub(crate) u128);

impl Fp {
    /// The additive identity.
    pub const ZERO: Fp = Fp(0);
    /// The multiplicative identity (Montgomery form `R mod p`).
    pub const ONE: Fp = Fp(R_MOD_P);
    /// The element 2.
    pub const TWO: Fp = Fp(add_mod(R_MOD_P, R_MOD_P));
    /// Bytes in the wire encoding ([`Fp::to_mont_bytes`]).
    pub const BYTES: usize = 16;

    /// Builds an element from its Montgomery form, which must be `< p`.
    #[inline(always)]
    pub(crate) const fn from_raw(raw: u128) -> Fp {
        debug_assert!(raw < MODULUS);
        Fp(raw)
    }

    /// The element whose Montgomery form is `REDC(T)` for the 255-bit integer
    /// `T = lo + (hi mod 2^127)·2^128`, i.e. the element `T·R⁻² mod p` (the top
    /// bit of `hi` is ignored). One double-width reduction, no multiplication:
    /// the fast way to map 255 uniform bits to a near-uniform element (the
    /// statistical distance from uniform is below `p/2^255 < 2^−127`).
    #[inline(always)]
    pub const fn from_wide_montgomery(lo: u128, hi: u128) -> Fp {
        Fp(redc256(lo, hi & (u128::MAX >> 1)))
    }

    /// The Montgomery form `x·R mod p`.
    #[inline(always)]
    pub(crate) const fn raw(self) -> u128 {
        self.0
    }

    /// The element `x mod p`. Usable in constants.
    #[inline]
    pub const fn from_u64(x: u64) -> Fp {
        // x < 2^64 < p, so x is already reduced; REDC(x·R²) = x·R.
        Fp(mont_mul(x as u128, R2_MOD_P))
    }

    /// The element `x mod p`. Usable in constants.
    #[inline]
    pub const fn from_u128(x: u128) -> Fp {
        // x < 2^128 < 2p, so one conditional subtraction reduces it.
        Fp(mont_mul(reduce_once(0, x), R2_MOD_P))
    }

    /// The element `x mod p`; a negative `x` maps to `p − |x|`.
    #[inline]
    pub const fn from_i64(x: i64) -> Fp {
        let v = Fp::from_u64(x.unsigned_abs());
        if x < 0 {
            v.neg_const()
        } else {
            v
        }
    }

    /// The element `x mod p`; a negative `x` maps to `p − |x|`.
    #[inline]
    pub const fn from_i128(x: i128) -> Fp {
        let v = Fp::from_u128(x.unsigned_abs());
        if x < 0 {
            v.neg_const()
        } else {
            v
        }
    }

    /// The canonical representative in `[0, p)`.
    #[inline]
    pub const fn to_u128(self) -> u128 {
        redc128(self.0)
    }

    /// The signed view: `x` if `x ≤ (p−1)/2`, otherwise `x − p`.
    ///
    /// The result lies in `[−(p−1)/2, (p−1)/2] ⊂ (−2^127, 2^127)`, so it
    /// always fits in an `i128`. Inverse of [`Fp::from_i128`] on that range.
    #[inline]
    pub const fn to_signed(self) -> i128 {
        let x = self.to_u128();
        if x <= (MODULUS - 1) / 2 {
            x as i128
        } else {
            -((MODULUS - x) as i128)
        }
    }

    /// True for the zero element.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self²`.
    #[inline]
    pub const fn square(self) -> Fp {
        Fp(mont_mul(self.0, self.0))
    }

    /// `2·self`.
    #[inline]
    pub const fn double(self) -> Fp {
        Fp(add_mod(self.0, self.0))
    }

    /// `−self`, usable in constants.
    #[inline]
    const fn neg_const(self) -> Fp {
        Fp(sub_mod(0, self.0))
    }

    /// `self^e` by left-to-right square-and-multiply. The running time depends
    /// on `e` (treated as public), not on `self`.
    #[inline]
    pub const fn pow(self, e: u128) -> Fp {
        let mut acc = R_MOD_P;
        let mut i = 128 - e.leading_zeros();
        while i > 0 {
            i -= 1;
            acc = mont_mul(acc, acc);
            if (e >> i) & 1 == 1 {
                acc = mont_mul(acc, self.0);
            }
        }
        Fp(acc)
    }

    /// The multiplicative inverse, or `None` for zero.
    ///
    /// By Fermat's little theorem `x^(p−2) = x⁻¹` for `x ≠ 0`.
    #[inline]
    pub fn inverse(self) -> Option<Fp> {
        if self.is_zero() {
            None
        } else {
            Some(self.pow(MODULUS - 2))
        }
    }

    /// `2^k mod p` for any `k`.
    ///
    /// The multiplicative order of 2 divides `p − 1`, so the exponent could be
    /// reduced mod `p − 1`; `k < 2^32` is already small so we use it as is.
    #[inline]
    pub fn pow2(k: u32) -> Fp {
        if k < 64 {
            Fp::from_u64(1u64 << k)
        } else {
            Fp::TWO.pow(k as u128)
        }
    }

    /// A uniformly random element, by rejection sampling.
    ///
    /// Draws 128 uniform bits and retries while they encode a value `≥ p`
    /// (probability `1 − p/2^128 ≈ 0.42` per draw, so about 1.7 draws on
    /// average). An accepted value is uniform on `[0, p)`; it is used directly
    /// as the Montgomery form, which is uniform too because `x ↦ x·R mod p`
    /// is a bijection.
    pub fn random<R: rand_core::RngCore + ?Sized>(rng: &mut R) -> Fp {
        loop {
            let mut b = [0u8; 16];
            rng.fill_bytes(&mut b);
            let x = u128::from_le_bytes(b);
            if x < MODULUS {
                return Fp(x);
            }
        }
    }
}

impl Add for Fp {
    type Output = Fp;
    #[inline(always)]
    fn add(self, rhs: Fp) -> Fp {
        Fp(add_mod(self.0, rhs.0))
    }
}

impl Sub for Fp {
    type Output = Fp;
    #[inline(always)]
    fn sub(self, rhs: Fp) -> Fp {
        Fp(sub_mod(self.0, rhs.0))
    }
}

impl Mul for Fp {
    type Output = Fp;
    #[inline(always)]
    fn mul(self, rhs: Fp) -> Fp {
        Fp(mont_mul(self.0, rhs.0))
    }
}

impl Neg for Fp {
    type Output = Fp;
    #[inline(always)]
    fn neg(self) -> Fp {
        self.neg_const()
    }
}

impl Neg for &Fp {
    type Output = Fp;
    #[inline(always)]
    fn neg(self) -> Fp {
        self.neg_const()
    }
}

/// Implements `Op<&Fp> for Fp`, `Op<Fp> for &Fp`, `Op<&Fp> for &Fp` and
/// `OpAssign<Fp>`, `OpAssign<&Fp>` from the by-value `Op`.
macro_rules! forward_ops {
    ($Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident) => {
        impl $Op<&Fp> for Fp {
            type Output = Fp;
            #[inline(always)]
            fn $op(self, rhs: &Fp) -> Fp {
                $Op::$op(self, *rhs)
            }
        }
        impl $Op<Fp> for &Fp {
            type Output = Fp;
            #[inline(always)]
            fn $op(self, rhs: Fp) -> Fp {
                $Op::$op(*self, rhs)
            }
        }
        impl $Op<&Fp> for &Fp {
            type Output = Fp;
            #[inline(always)]
            fn $op(self, rhs: &Fp) -> Fp {
                $Op::$op(*self, *rhs)
            }
        }
        impl $OpAssign for Fp {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: Fp) {
                *self = $Op::$op(*self, rhs);
            }
        }
        impl $OpAssign<&Fp> for Fp {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: &Fp) {
                *self = $Op::$op(*self, *rhs);
            }
        }
    };
}

forward_ops!(Add, add, AddAssign, add_assign);
forward_ops!(Sub, sub, SubAssign, sub_assign);
forward_ops!(Mul, mul, MulAssign, mul_assign);

impl Sum for Fp {
    fn sum<I: Iterator<Item = Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ZERO, |a, b| a + b)
    }
}

impl<'a> Sum<&'a Fp> for Fp {
    fn sum<I: Iterator<Item = &'a Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ZERO, |a, b| a + b)
    }
}

impl Product for Fp {
    fn product<I: Iterator<Item = Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ONE, |a, b| a * b)
    }
}

impl<'a> Product<&'a Fp> for Fp {
    fn product<I: Iterator<Item = &'a Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ONE, |a, b| a * b)
    }
}

impl From<u64> for Fp {
    #[inline]
    fn from(x: u64) -> Fp {
        Fp::from_u64(x)
    }
}

impl From<u32> for Fp {
    #[inline]
    fn from(x: u32) -> Fp {
        Fp::from_u64(x as u64)
    }
}

impl From<bool> for Fp {
    #[inline]
    fn from(b: bool) -> Fp {
        // Constant-time select between 0 and R mod p.
        Fp(R_MOD_P & mask(b))
    }
}

impl fmt::Display for Fp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_u128(), f)
    }
}

impl fmt::Debug for Fp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_u128(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        assert_eq!(R_MOD_P, 141515903391459779531506841503331516415);
        assert_eq!(P0.wrapping_mul(INV), u64::MAX); // p·(−p⁻¹) ≡ −1
        assert_eq!(Fp::ONE.to_u128(), 1);
        assert_eq!(Fp::from_u64(1), Fp::ONE);
        assert_eq!(Fp::TWO.to_u128(), 2);
        // R⁻¹ mod p is the canonical value of the element whose Montgomery
        // form is 1.
        assert_eq!(Fp(1).to_u128(), 133854242216446749056083838363708373830u128);
    }
}
