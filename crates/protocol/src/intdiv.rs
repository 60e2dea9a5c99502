//! Exact signed integer division of secrets, truncated toward zero (MP-SPDZ's `int_div`, C's `/`).
//!
//! # Why not a reciprocal
//!
//! The fixed-point route (Norm, an approximate reciprocal, Goldschmidt, as in `sfix` division)
//! needs masked openings of products of two k-bit values, i.e. widths near 2k + s. Over our
//! 128-bit prime with s = 40 every masked opening must stay below 125 bits (see
//! [`crate::nonlinear`]), so a reciprocal-based quotient that is exact after a ±1 correction only
//! fits for k ≤ 14 (`fp_div` with K = 2k + 3, F = k + 2 needs K + 3F + 2 + s ≤ 125). Programs use
//! `int_div` with the default bit length 64, so this kernel uses long division instead, which needs
//! widths of only k + 2 + s bits and is exact for every k ≤ 83.
//!
//! # Method: radix-4 restoring long division on absolute values
//!
//! For signed k-bit a and b (a, b ∈ [−2^(k−1), 2^(k−1))):
//! 1. Signs, one LTZ call for both: s_a = [a < 0], s_b = [b < 0].
//! 2. One round of products: a·s_a, b·s_b, s_a·s_b; then |a| = a − 2·a·s_a, |b| = b − 2·b·s_b and the
//!    quotient's sign s_q = s_a ⊕ s_b = s_a + s_b − 2·s_a·s_b, all local.
//! 3. The k bits of A = |a| ≤ 2^(k−1) by one BitDec (as a signed (k+1)-bit value), grouped into
//!    D = ⌈k/2⌉ base-4 digits.
//! 4. From the top digit down, with remainder R (initially 0) and B = |b|: T = 4R + digit;
//!    c_j = [T ≥ j·B] = 1 − LTZ(T − j·B) for j = 1, 2, 3 in ONE LTZ call on k + 2 bits; the digit of
//!    the quotient is d = c_1 + c_2 + c_3 (the c_j are monotone in j); Q ← 4Q + d and R ← T − d·B
//!    (one round of products). Invariant: 0 ≤ R < B, so T < 4B ≤ 2^(k+1) and
//!    T − j·B > −3·2^(k−1): every LTZ input is a signed (k+2)-bit value, as the masking requires.
//! 5. q = Q·(1 − 2·s_q) (one round).
//!
//! Exact: at each step d = ⌊T / B⌋ ∈ [0, 3] because T < 4B, which is textbook long division.
//!
//! # Cost per element (every step is one batched round for the whole vector)
//!
//! Rounds: LTZ(k) + 1 + BitDec(k + 1, k) + D·(LTZ(k + 2) + 1) + 1, with LTZ(k) = 1 + ⌈log2 ⌈(k−1)/2⌉⌉
//! and BitDec = 1 + ⌈log2 k⌉ + 1 (docs/PROTOCOL.md). For k = 16: 4 + 1 + 6 + 8·6 + 1 = 60
//! (MP-SPDZ's `int_div(16)`: 77); for k = 64: 6 + 1 + 8 + 32·8 + 1 = 272.
//! Tuples: 2 LTZ(k), one BitDec(k + 1, k), 3·D LTZ(k + 2), D + 4 products.
//!
//! # Division by zero
//!
//! Not an error and no panic (as in MP-SPDZ, the result is unspecified): with B = 0 every c_j is 1
//! and R stays the prefix of A, so every opened value still lies in the masked range and nothing
//! leaks; the result is ±(4^D − 1).

use field::Fp;

use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::nonlinear::NonLinear;
use crate::prep::Preprocessing;
use crate::share::ShareVec;

/// Radix of the long division: one LTZ call of 3 comparisons and one product round per 2 quotient
/// bits; see the module
/// documentation.
const RADIX: u64 = 4;

impl<P: Preprocessing> Engine<P> {
    /// a / b truncated toward zero for signed k-bit a and b, element-wise. Division by zero gives
    /// an unspecified result. See the module documentation for the method and its cost.
    pub fn int_div(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        if a.len() != b.len() {
            return Err(ProtocolError::InvalidArgument(format!(
                "dividing vectors of different lengths ({} and {})",
                a.len(),
                b.len()
            )));
        }
        let s = self.config().security;
        if k < 2 || u64::from(k) + 2 + u64::from(s) > 125 {
            return Err(ProtocolError::InvalidArgument(format!(
                "integer division of {k}-bit values with statistical security s = {s} is not \
                 supported: need 2 ≤ k and k + 2 + s ≤ 125"
            )));
        }
        let n = a.len();
        if n == 0 {
            return Ok(ShareVec::default());
        }
        self.poison_guard(|e| e.int_div_inner(a, b, k))
    }

    fn int_div_inner(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        let n = a.len();
        let ctx = self.ctx();
        let part = |v: &ShareVec, i: usize| v.slice(i * n..(i + 1) * n);

        // 1–2. Signs and absolute values.
        let signs = self.ltz(&ShareVec::concat(&[a, b]), k)?;
        let (sa, sb) = (part(&signs, 0), part(&signs, 1));
        let prod = self.mul(
            &ShareVec::concat(&[a, b, &sa]),
            &ShareVec::concat(&[&sa, &sb, &sb]),
        )?;
        let mut abs_a = a.clone();
        abs_a.add_scaled(&part(&prod, 0), -Fp::TWO);
        let mut abs_b = b.clone();
        abs_b.add_scaled(&part(&prod, 1), -Fp::TWO);
        let mut sq = sa.add(&sb);
        sq.add_scaled(&part(&prod, 2), -Fp::TWO);

        // 3. Bits of |a|, least significant first.
        let bits = self.bit_dec(&abs_a, k + 1, k)?;
        let digits = k.div_ceil(2) as usize;
        let digit = |i: usize| {
            // Digit i (0 = least significant) = bit 2i + 2·bit 2i+1.
            let mut d = bits[2 * i].clone();
            if let Some(hi) = bits.get(2 * i + 1) {
                d.add_scaled(hi, Fp::TWO);
            }
            d
        };

        // 4. Long division from the top digit.
        let four = Fp::from_u64(RADIX);
        let mut r = ShareVec::zeros(n);
        let mut q = ShareVec::zeros(n);
        for i in (0..digits).rev() {
            let mut t = r.scale(four);
            t.add_assign(&digit(i));
            let mut diffs = ShareVec::with_capacity(3 * n);
            for j in 1..RADIX {
                let mut d = t.clone();
                d.add_scaled(&abs_b, -Fp::from_u64(j));
                diffs.extend(&d);
            }
            let lt = self.ltz(&diffs, k + 2)?;
            // d = Σ_j (1 − lt_j) = 3 − Σ_j lt_j.
            let mut sum_lt = ShareVec::zeros(n);
            for j in 0..(RADIX - 1) as usize {
                sum_lt.add_assign(&part(&lt, j));
            }
            let d = ctx.public_sub(&vec![Fp::from_u64(RADIX - 1); n], &sum_lt);
            let db = self.mul(&d, &abs_b)?;
            q = q.scale(four);
            q.add_assign(&d);
            r = t.sub(&db);
        }

        // 5. Apply the sign: q·(1 − 2·s_q).
        let qs = self.mul(&q, &sq)?;
        let mut out = q;
        out.add_scaled(&qs, -Fp::TWO);
        Ok(out)
    }
}
