//! Mixed-circuit kernels (Escudero, Ghosh, Keller, Rachuri, Scholl, CRYPTO 2020, ePrint
//! 2020/338): the value is masked and opened in GF(p) with an edaBit, and the bitwise part runs in
//! the binary domain, where XOR is free and an AND costs one binary triple and 2 opened bits
//! (instead of a prime triple and 2 opened field elements). The one-bit results come back to
//! GF(p) with daBits.
//!
//! **Masking.** Values are signed k-bit integers a ∈ [−2^(k−1), 2^(k−1)); s is the engine's
//! statistical security parameter. A loose edaBit gives r = r' + 2^m·r'' with r' uniform m-bit
//! (also in binary) and r'' uniform (k + s − m)-bit (arithmetic only), so r is uniform on
//! [0, 2^(k+s)). The opened c = a + 2^k + r is within statistical distance 2^−s of independent of
//! a and never wraps (c < 2^(k+s+1) ≤ 2^126 < p). With c' = c mod 2^m:
//! - **Mod2m:** a mod 2^m = c' − r' + 2^m·[c' < r'], the comparison in binary
//!   (`Engine::bit_lt_public`) and its bit converted with one daBit.
//! - **Trunc:** ⌊a / 2^m⌋ = (a − a mod 2^m)·2^−m.
//!
//! **Wide masks.** LTZ, EQZ and bit decomposition never need [r']_p, so they mask with a *wide*
//! edaBit instead ([`crate::prep::WideEdaBits`]: R = Σ_o x_o of one w-bit value per party,
//! w = [`wide_width`]`(k, s)` = k + s + 6, its low bits in binary), which the generator makes
//! without daBits or MASCOT bits. c = a + 2^k + R, and (c − R) mod 2^k = a mod 2^k:
//! - **LTZ:** the top bit of (c − R) mod 2^k: c_{k−1} ⊕ R_{k−1} ⊕ [c mod 2^(k−1) < R mod 2^(k−1)].
//! - **EQZ** (m = k): a = 0 ⇔ c mod 2^k = R mod 2^k, an AND tree of k bits.
//! - **Bit decomposition:** the m low bits of a (two's complement) are those of (c' − R') mod
//!   2^m, a binary subtraction circuit (`Engine::sub_public_secret`); with m daBits they come
//!   back to GF(p) in one more round.
//!
//! Why w = k + s + 6 hides a, given what the generator's pair check opened about R, and when
//! the field is too small for it (then the strict path above is used) is in docs/PROTOCOL.md,
//! "Mixed kernels".
//!
//! **Pair products in the opening round.** The leaves of the comparison and equality trees
//! need q_i = r'_{2i} ∧ r'_{2i+1}, which do not depend on c: their binary Beaver openings travel in
//! the same frame as c (one round carries field elements and bits), so the trees start at ⌈m/2⌉
//! nodes (see `circuits`).
//!
//! **Cost per element** (s = 40; LT of two 64-bit values is LTZ on k = 65 bits; rounds exclude
//! the final MAC check; "bits sent" per party to each peer: 128 for c, 2 per AND, 1 per daBit
//! conversion; a batch's opened bits are packed, ⌈bits/8⌉ bytes per round). With L = ⌈m/2⌉ a
//! power of two, the tree has 2(L − 1) − log2 L ANDs. All counts are asserted by
//! `tests::binary::mixed_kernels_use_binary_tuples_only_at_the_documented_cost`.
//!
//! | kernel                 | edaBit (binary + arithmetic-only) | daBits | binary triples | prime triples | rounds | bits sent |
//! |------------------------|--------------|----|---------------------------|---|----------------------|-----|
//! | Mod2m/Trunc(k, m)      | m + (k+s−m)  | 1  | ⌊m/2⌋ + tree(⌈m/2⌉)       | 0 | 2 + ⌈log2 ⌈m/2⌉⌉     | 129 + 2·ANDs |
//! | Trunc(64, 16)          | 16 + 88      | 1  | 19                        | 0 | 5                    | 167 |
//! | LTZ(64)                | wide 64 of 110 | 1 | 88                        | 0 | 7                    | 305 |
//! | <, ≤, >, ≥ (64-bit)    | wide 65 of 111 | 1 | 89                        | 0 | 7                    | 307 |
//! | EQZ(64)                | wide 64 of 110 | 1 | 63                        | 0 | 7                    | 255 |
//! | == (64-bit)            | wide 65 of 111 | 1 | 64                        | 0 | 8 (33 leaves)        | 257 |
//! | BitDec(64, 64) → GF(p) | wide 64 of 110 | 64 | 321 (192 G + 129 P)      | 0 | 8                    | 834 |
//! | `bit_dec_binary`(64, 64)| wide 64 of 110 | 0 | 321                      | 0 | 7                    | 770 |
//!
//! The arithmetic kernel for the same comparison costs 89 prime triples and 105 random bits in 6
//! rounds and sends 179 field elements (22 912 bits); see docs/PROTOCOL.md, "Binary domain and
//! mixed circuits (online)".

use field::Fp;

use super::bits::BitShares;
use super::circuits::{column, pair_factors};
use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::nonlinear::kernels::{check_params, low_bits_of};
use crate::nonlinear::NonLinear;
use crate::prep::{EdaBits, PrepError, Preprocessing, TupleKind};
use crate::share::ShareVec;

/// The width w of the wide edaBits that mask a k-bit value with statistical security s:
/// w = k + s + 6 (see the module docs: the masked value a + 2^k is below 2^(k+1), and the ≤ 15
/// check openings of the generator cost at most 5 more bits).
pub fn wide_width(k: u32, s: u32) -> u32 {
    k + s + 6
}

/// The mixed-circuit kernels of an engine whose source provides binary-domain preprocessing;
/// get one with [`Engine::mixed`]. Implements the same [`NonLinear`] interface as the arithmetic
/// kernels, so a caller picks either. `trunc_pr` (no bitwise part), `fp_norm` and `fp_div` use the
/// arithmetic kernels.
pub struct Mixed<'a, P: Preprocessing> {
    e: &'a mut Engine<P>,
}

impl<P: Preprocessing> std::fmt::Debug for Mixed<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mixed(party={})", self.e.party())
    }
}

impl<P: Preprocessing> Engine<P> {
    /// The mixed-circuit kernels, or [`PrepError::Unsupported`] if the preprocessing source has no
    /// binary domain.
    pub fn mixed(&mut self) -> Result<Mixed<'_, P>> {
        if !self.has_binary() {
            return Err(PrepError::Unsupported(TupleKind::BinaryKey).into());
        }
        Ok(Mixed { e: self })
    }

    /// Masks `a` with a loose edaBit of m binary bits, opens c = a + 2^k + r and returns
    /// c mod 2^m with the edaBit. With `pairs`, the pair products r'_{2i} ∧ r'_{2i+1} of the
    /// comparison and equality leaves are computed in the same round.
    fn mixed_mask_open(
        &mut self,
        a: &ShareVec,
        k: u32,
        m: u32,
        pairs: bool,
    ) -> Result<(Vec<u128>, EdaBits, Vec<BitShares>, BitShares)> {
        let s = self.config().security;
        check_params(k, m, s)?;
        if m == 0 {
            return Err(ProtocolError::InvalidArgument(
                "mixed kernels need m ≥ 1".into(),
            ));
        }
        let n = a.len();
        let eda = self.take_edabits(n, m, k + s - m)?;
        let mut masked = self.ctx().add_scalar(a, Fp::pow2(k));
        masked.add_assign(&eda.full());
        let bits: Vec<BitShares> = (0..m).map(|i| eda.bit(i)).collect();
        let (x, y) = if pairs {
            pair_factors(&bits)
        } else {
            (Vec::new(), Vec::new())
        };
        let (mut c, q) = self.open_and_and(&[&masked], &x, &y)?;
        let c = c.pop().unwrap_or_default();
        Ok((low_bits_of(&c, m), eda, bits, q))
    }

    /// Whether a wide edaBit for k-bit values fits the field: R < N·2^w ≤ 2^125, so that
    /// c = a + 2^k + R < 2^126 < p never wraps. Otherwise the kernels use the strict path.
    fn wide_fits(&self, k: u32) -> bool {
        let log_n = usize::BITS - (self.n_parties().max(2) - 1).leading_zeros();
        wide_width(k, self.config().security) + log_n <= 125
    }

    /// Masks `a` with a wide edaBit R (width [`wide_width`]`(k, s)`, its m low bits in binary),
    /// opens c = a + 2^k + R and returns c mod 2^m with the m bits of R. With `pairs`, the pair
    /// products of the first `pairs` bits' leaves are computed in the same round.
    fn mixed_mask_open_wide(
        &mut self,
        a: &ShareVec,
        k: u32,
        m: u32,
        pairs: Option<u32>,
    ) -> Result<(Vec<u128>, Vec<BitShares>, BitShares)> {
        let s = self.config().security;
        check_params(k, m, s)?;
        if m == 0 {
            return Err(ProtocolError::InvalidArgument(
                "mixed kernels need m ≥ 1".into(),
            ));
        }
        let width = wide_width(k, s);
        let n = a.len();
        let eda = self.take_wide_edabits(n, m, width)?;
        let mut masked = self.ctx().add_scalar(a, Fp::pow2(k));
        masked.add_assign(&eda.value);
        let bits: Vec<BitShares> = (0..m).map(|i| eda.bit(i)).collect();
        let (x, y) = match pairs {
            Some(p) => pair_factors(&bits[..p as usize]),
            None => (Vec::new(), Vec::new()),
        };
        let (mut c, q) = self.open_and_and(&[&masked], &x, &y)?;
        let c = c.pop().unwrap_or_default();
        Ok((low_bits_of(&c, m), bits, q))
    }

    fn mixed_mod2m_inner(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        let (c_low, eda, bits, q) = self.mixed_mask_open(a, k, m, true)?;
        let u = self.bit_lt_public(&c_low, &bits, &q)?;
        let u = self.b2a_inner(&u)?;
        // a mod 2^m = c' − r' + 2^m·[c' < r'].
        let c_fp: Vec<Fp> = c_low.iter().map(|&x| Fp::from_u128(x)).collect();
        let mut out = self.ctx().public_sub(&c_fp, &eda.low);
        out.add_scaled(&u, Fp::pow2(m));
        Ok(out)
    }

    fn mixed_trunc_inner(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        let low = self.mixed_mod2m_inner(a, k, m)?;
        let inv = Fp::pow2(m).inverse().expect("2^m is invertible");
        Ok(a.sub(&low).scale(inv))
    }

    fn mixed_ltz_inner(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        if k < 2 {
            return Err(ProtocolError::InvalidArgument(format!(
                "LTZ needs k ≥ 2, got {k}"
            )));
        }
        if !self.wide_fits(k) {
            return Ok(self.mixed_trunc_inner(a, k, k - 1)?.neg());
        }
        // (c − R) mod 2^k = a mod 2^k (two's complement), whose top bit is [a < 0]:
        // c_{k−1} ⊕ R_{k−1} ⊕ borrow, borrow = [c mod 2^(k−1) < R mod 2^(k−1)].
        let (c_low, bits, q) = self.mixed_mask_open_wide(a, k, k, Some(k - 1))?;
        let top = k as usize - 1;
        let c_rest: Vec<u128> = c_low.iter().map(|&c| c & ((1u128 << top) - 1)).collect();
        let borrow = self.bit_lt_public(&c_rest, &bits[..top], &q)?;
        let ctx = self.bit_ctx()?;
        let mut sign = borrow.xor(&bits[top]);
        ctx.xor_public_assign(&mut sign, &column(&c_low, top));
        self.b2a_inner(&sign)
    }

    fn mixed_eqz_inner(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        // a = 0 ⇔ c mod 2^k = R mod 2^k (|a| < 2^(k−1)).
        if !self.wide_fits(k) {
            let (c_low, _, bits, q) = self.mixed_mask_open(a, k, k, true)?;
            let z = self.bit_eq_public(&c_low, &bits, &q)?;
            return self.b2a_inner(&z);
        }
        let (c_low, bits, q) = self.mixed_mask_open_wide(a, k, k, Some(k))?;
        let z = self.bit_eq_public(&c_low, &bits, &q)?;
        self.b2a_inner(&z)
    }

    fn mixed_bit_dec_binary_inner(
        &mut self,
        a: &ShareVec,
        k: u32,
        m: u32,
    ) -> Result<Vec<BitShares>> {
        if !self.wide_fits(k) {
            let (c_low, _, bits, _) = self.mixed_mask_open(a, k, m, false)?;
            return self.sub_public_secret(&c_low, &bits);
        }
        let (c_low, bits, _) = self.mixed_mask_open_wide(a, k, m, None)?;
        self.sub_public_secret(&c_low, &bits)
    }

    fn mixed_bit_dec_inner(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<Vec<ShareVec>> {
        let n = a.len();
        let bits = self.mixed_bit_dec_binary_inner(a, k, m)?;
        let all = BitShares::concat(&bits.iter().collect::<Vec<_>>());
        let arith = self.b2a_inner(&all)?;
        Ok((0..m as usize)
            .map(|i| arith.slice(i * n..(i + 1) * n))
            .collect())
    }

    /// The m low bits of a (two's complement), least significant first, as authenticated bits in
    /// the binary domain (each entry a vector over the elements). 1 + ⌈log2 m⌉ rounds; no daBits.
    pub fn bit_dec_binary(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<Vec<BitShares>> {
        self.poison_guard(|e| e.mixed_bit_dec_binary_inner(a, k, m))
    }
}

impl<P: Preprocessing> NonLinear for Mixed<'_, P> {
    fn mod2m(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        self.e.poison_guard(|e| e.mixed_mod2m_inner(a, k, m))
    }

    fn trunc(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        self.e.poison_guard(|e| e.mixed_trunc_inner(a, k, m))
    }

    fn trunc_pr(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        self.e.trunc_pr(a, k, m)
    }

    fn ltz(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        self.e.poison_guard(|e| e.mixed_ltz_inner(a, k))
    }

    fn eqz(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        self.e.poison_guard(|e| e.mixed_eqz_inner(a, k))
    }

    fn lt(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        self.ltz(&a.sub(b), k + 1)
    }

    fn le(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        let gt = self.ltz(&b.sub(a), k + 1)?;
        Ok(self.e.ctx().public_sub(&vec![Fp::ONE; a.len()], &gt))
    }

    fn gt(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        self.ltz(&b.sub(a), k + 1)
    }

    fn ge(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        let lt = self.ltz(&a.sub(b), k + 1)?;
        Ok(self.e.ctx().public_sub(&vec![Fp::ONE; a.len()], &lt))
    }

    fn eq(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        self.eqz(&a.sub(b), k + 1)
    }

    fn bit_dec(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<Vec<ShareVec>> {
        self.e.poison_guard(|e| e.mixed_bit_dec_inner(a, k, m))
    }

    fn fp_norm(&mut self, b: &ShareVec, k: u32) -> Result<(ShareVec, ShareVec)> {
        self.e.fp_norm(b, k)
    }

    fn fp_div(&mut self, a: &ShareVec, b: &ShareVec, k: u32, f: u32) -> Result<ShareVec> {
        self.e.fp_div(a, b, k, f)
    }
}
