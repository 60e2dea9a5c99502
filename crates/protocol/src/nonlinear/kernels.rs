//! The vector kernels: Mod2m, Trunc, TruncPr, LTZ, EQZ, comparisons and bit decomposition.

use field::Fp;

use super::bitlt::{affine, pair_factors};
use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::prep::Preprocessing;
use crate::share::ShareVec;

/// A mask r = r''·2^m + r' made of shared random bits, with r' kept bit by bit.
struct Mask {
    /// The m low bits r'_0 … r'_{m−1}, each a vector over the elements.
    low_bits: Vec<ShareVec>,
    /// r' = Σ 2^i r'_i.
    low: ShareVec,
    /// r = r' + 2^m·r''.
    full: ShareVec,
}

/// The largest k + s the field allows: c = a + 2^k + r < 2^(k+s+1) must stay below p > 2^127.
const MAX_K_PLUS_S: u32 = 125;

/// Non-linear kernels over vectors of signed k-bit integers. Implemented by [`Engine`].
pub trait NonLinear {
    /// a mod 2^m ∈ [0, 2^m), for a a signed k-bit integer and 1 ≤ m ≤ k.
    fn mod2m(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec>;
    /// ⌊a / 2^m⌋ exactly (arithmetic shift right).
    fn trunc(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec>;
    /// ⌊a / 2^m⌋ + u with u ∈ {0, 1} and Pr[u = 1] = (a mod 2^m)/2^m: probabilistic truncation,
    /// one round and no triples (fixed-point multiplication).
    fn trunc_pr(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec>;
    /// [a < 0].
    fn ltz(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec>;
    /// [a = 0].
    fn eqz(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec>;
    /// [a < b] for signed k-bit a and b (computed as LTZ(a − b) on k + 1 bits).
    fn lt(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec>;
    /// [a ≤ b].
    fn le(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec>;
    /// [a > b].
    fn gt(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec>;
    /// [a ≥ b].
    fn ge(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec>;
    /// [a = b] (computed as EQZ(a − b) on k + 1 bits).
    fn eq(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec>;
    /// The m low bits of a (two's complement for negative a), least significant first; each entry
    /// is a vector over the elements.
    fn bit_dec(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<Vec<ShareVec>>;
    /// Norm(b, k) of Catrina–Saxena: (c, v) with v = ±2^j (sign of b) and c = b·v = |b|·2^j ∈
    /// [2^(k−1), 2^k] for b ≠ 0 (c = 2^k only for b = −2^i); (0, 0) for b = 0. BitDec, a prefix-OR
    /// and one round of products: 13 rounds for k = 31. See `nonlinear/fpdiv.rs`.
    fn fp_norm(&mut self, b: &ShareVec, k: u32) -> Result<(ShareVec, ShareVec)>;
    /// Fixed-point a / b (FPDiv of Catrina–Saxena, as MP-SPDZ's `sfix`): a and b are signed k-bit
    /// integers encoding a·2^−f and b·2^−f, and so is the result, within 7 units of 2^−f of
    /// a·2^f/b when that quotient fits in k bits. Division by zero is not an error; its result is
    /// unspecified (0 in this implementation). Needs f + 2 ≤ k ≤ 2f − 1 and k + 3f + 2 + s ≤ 125
    /// (MP-SPDZ's defaults k = 31, f = 16 qualify). 19 rounds for k = 31; see
    /// `nonlinear/fpdiv.rs` for the algorithm, its cost and its error bound.
    fn fp_div(&mut self, a: &ShareVec, b: &ShareVec, k: u32, f: u32) -> Result<ShareVec>;
}

pub(crate) fn check_params(k: u32, m: u32, s: u32) -> Result<()> {
    if k == 0 || m > k || k + s > MAX_K_PLUS_S {
        return Err(ProtocolError::InvalidArgument(format!(
            "bit length k = {k}, m = {m} with statistical security s = {s} is not supported: need 1 ≤ m ≤ k and k + s ≤ {MAX_K_PLUS_S}"
        )));
    }
    Ok(())
}

pub(crate) fn low_bits_of(c: &[Fp], m: u32) -> Vec<u128> {
    let mask = if m >= 128 {
        u128::MAX
    } else {
        (1u128 << m) - 1
    };
    c.iter().map(|x| x.to_u128() & mask).collect()
}

/// Σ_i 2^i·[b_i], by Horner's rule from the top bit: doublings and additions only.
fn compose(bits: &[ShareVec], n: usize) -> ShareVec {
    let mut acc = ShareVec::zeros(n);
    for b in bits.iter().rev() {
        for j in 0..n {
            acc.v[j] = acc.v[j].double() + b.v[j];
            acc.m[j] = acc.m[j].double() + b.m[j];
        }
    }
    acc
}

impl<P: Preprocessing> Engine<P> {
    /// Draws k + s − … bits: m low bits kept individually and `high` more for r''.
    fn mask(&mut self, n: usize, m: u32, high: u32) -> Result<Mask> {
        let m = m as usize;
        let all = self.take_bits(n * (m + high as usize))?;
        let bits: Vec<ShareVec> = (0..m + high as usize)
            .map(|i| all.slice(i * n..(i + 1) * n))
            .collect();
        let low = compose(&bits[..m], n);
        let mut full = low.clone();
        full.add_scaled(&compose(&bits[m..], n), Fp::pow2(m as u32));
        let mut low_bits = bits;
        low_bits.truncate(m);
        Ok(Mask {
            low_bits,
            low,
            full,
        })
    }

    /// c = a + 2^k + r, opened; r's low m bits are kept. If `pairs`, the pair products of the low
    /// bits are computed in the same round.
    fn mask_open(
        &mut self,
        a: &ShareVec,
        k: u32,
        m: u32,
        pairs: bool,
    ) -> Result<(Vec<Fp>, Mask, ShareVec)> {
        let s = self.config().security;
        check_params(k, m, s)?;
        let n = a.len();
        let mask = self.mask(n, m, k + s - m)?;
        let ctx = self.ctx();
        let mut masked = ctx.add_scalar(a, Fp::pow2(k));
        masked.add_assign(&mask.full);
        let (x, y) = if pairs {
            pair_factors(&mask.low_bits)
        } else {
            (ShareVec::default(), ShareVec::default())
        };
        let (mut opened, q) = self.open_and_mul(&[&masked], &x, &y)?;
        Ok((opened.pop().unwrap_or_default(), mask, q))
    }

    fn mod2m_inner(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        let n = a.len();
        let (c, mask, q) = self.mask_open(a, k, m, true)?;
        let c_low = low_bits_of(&c, m);
        let u = self.bit_lt_with_pairs(&c_low, &mask.low_bits, &q)?;
        // a mod 2^m = c' − r' + 2^m·[c' < r'].
        let c_low_fp: Vec<Fp> = c_low.iter().map(|&x| Fp::from_u128(x)).collect();
        let mut out = self.ctx().public_sub(&c_low_fp, &mask.low);
        out.add_scaled(&u, Fp::pow2(m));
        debug_assert_eq!(out.len(), n);
        Ok(out)
    }

    fn trunc_inner(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        let low = self.mod2m_inner(a, k, m)?;
        let inv = Fp::pow2(m).inverse().expect("2^m is invertible");
        Ok(a.sub(&low).scale(inv))
    }

    fn eqz_inner(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        // a = 0 ⇔ c mod 2^k = r' (c = a + 2^k + r, |a| < 2^(k−1)).
        let (c, mask, q) = self.mask_open(a, k, k, true)?;
        let c_low = low_bits_of(&c, k);
        self.bit_eq_with_pairs(&c_low, &mask.low_bits, &q)
    }

    fn bit_dec_inner(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<Vec<ShareVec>> {
        let n = a.len();
        let (c, mask, _) = self.mask_open(a, k, m, false)?;
        let c_low = low_bits_of(&c, m);
        let ctx = self.ctx();
        let m = m as usize;
        // Bits of (c' − r') mod 2^m = c' + ¬r' + 1. Per bit: generate g_i = c_i ∧ ¬r_i, propagate
        // p_i = c_i ⊕ ¬r_i, both affine in r_i; the carry-in 1 folds into leaf 0: G_0 = g_0 + p_0.
        let cb = |i: usize| -> Vec<i64> { c_low.iter().map(|&x| ((x >> i) & 1) as i64).collect() };
        let mut gen = Vec::with_capacity(m);
        let mut prop = Vec::with_capacity(m);
        for i in 0..m {
            let ci = cb(i);
            let one_m: Vec<i64> = ci.iter().map(|&b| 1 - b).collect();
            let neg_one_m: Vec<i64> = ci.iter().map(|&b| b - 1).collect();
            let sgn: Vec<i64> = ci.iter().map(|&b| 2 * b - 1).collect();
            // g_i = c_i − c_i·r_i ; p_i = (1 − c_i) + (2c_i − 1)·r_i.
            let neg_ci: Vec<i64> = ci.iter().map(|&b| -b).collect();
            let g = affine(&ctx, n, &ci, &[(&neg_ci, &mask.low_bits[i])]);
            let p = affine(&ctx, n, &one_m, &[(&sgn, &mask.low_bits[i])]);
            let _ = neg_one_m;
            gen.push(g);
            prop.push(p);
        }
        let p_orig = prop.clone();
        if m > 0 {
            let g0 = gen[0].add(&prop[0]);
            gen[0] = g0;
        }
        // Sklansky prefix: after the loop, gen[i] is the carry out of bits 0..=i.
        let mut block = 2;
        while block / 2 < m {
            let half = block / 2;
            let mut xs_g = ShareVec::default();
            let mut ys_g = ShareVec::default();
            let mut xs_p = ShareVec::default();
            let mut ys_p = ShareVec::default();
            let mut g_targets = Vec::new();
            let mut p_targets = Vec::new();
            for i in 0..m {
                let start = i - i % block;
                if i % block >= half {
                    let j = start + half - 1;
                    xs_g.extend(&prop[i]);
                    ys_g.extend(&gen[j]);
                    g_targets.push(i);
                    if start > 0 {
                        xs_p.extend(&prop[i]);
                        ys_p.extend(&prop[j]);
                        p_targets.push(i);
                    }
                }
            }
            let split = xs_g.len();
            xs_g.extend(&xs_p);
            ys_g.extend(&ys_p);
            let prod = self.mul_inner(&xs_g, &ys_g)?;
            for (t, &i) in g_targets.iter().enumerate() {
                gen[i].add_assign(&prod.slice(t * n..(t + 1) * n));
            }
            for (t, &i) in p_targets.iter().enumerate() {
                prop[i] = prod.slice(split + t * n..split + (t + 1) * n);
            }
            block *= 2;
        }
        // Sum bits: s_0 = ¬p_0, s_i = p_i ⊕ carry_i = p_i + C − 2·p_i·C with C = gen[i−1].
        if m == 0 {
            return Ok(Vec::new());
        }
        let mut xs = ShareVec::with_capacity((m - 1) * n);
        let mut ys = ShareVec::with_capacity((m - 1) * n);
        for i in 1..m {
            xs.extend(&p_orig[i]);
            ys.extend(&gen[i - 1]);
        }
        let prod = self.mul_inner(&xs, &ys)?;
        let mut out = Vec::with_capacity(m);
        out.push(ctx.public_sub(&vec![Fp::ONE; n], &p_orig[0]));
        for i in 1..m {
            let mut s = p_orig[i].add(&gen[i - 1]);
            s.add_scaled(&prod.slice((i - 1) * n..i * n), -Fp::from_u64(2));
            out.push(s);
        }
        Ok(out)
    }
}

impl<P: Preprocessing> NonLinear for Engine<P> {
    fn mod2m(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        self.poison_guard(|e| e.mod2m_inner(a, k, m))
    }

    fn trunc(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        self.poison_guard(|e| e.trunc_inner(a, k, m))
    }

    fn trunc_pr(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<ShareVec> {
        self.poison_guard(|e| {
            let (c, mask, _) = e.mask_open(a, k, m, false)?;
            let c_low: Vec<Fp> = low_bits_of(&c, m).into_iter().map(Fp::from_u128).collect();
            // (a − (c' − r')) / 2^m = ⌊a/2^m⌋ + [c' < r'].
            let low = e.ctx().public_sub(&c_low, &mask.low);
            let inv = Fp::pow2(m).inverse().expect("2^m is invertible");
            Ok(a.sub(&low).scale(inv))
        })
    }

    fn ltz(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        // [a < 0] = −⌊a / 2^(k−1)⌋ for a ∈ [−2^(k−1), 2^(k−1)).
        self.poison_guard(|e| {
            if k < 2 {
                return Err(ProtocolError::InvalidArgument(format!(
                    "LTZ needs k ≥ 2, got {k}"
                )));
            }
            Ok(e.trunc_inner(a, k, k - 1)?.neg())
        })
    }

    fn eqz(&mut self, a: &ShareVec, k: u32) -> Result<ShareVec> {
        self.poison_guard(|e| e.eqz_inner(a, k))
    }

    fn lt(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        self.ltz(&a.sub(b), k + 1)
    }

    fn le(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        let gt = self.ltz(&b.sub(a), k + 1)?;
        Ok(self.ctx().public_sub(&vec![Fp::ONE; a.len()], &gt))
    }

    fn gt(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        self.ltz(&b.sub(a), k + 1)
    }

    fn ge(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        let lt = self.ltz(&a.sub(b), k + 1)?;
        Ok(self.ctx().public_sub(&vec![Fp::ONE; a.len()], &lt))
    }

    fn eq(&mut self, a: &ShareVec, b: &ShareVec, k: u32) -> Result<ShareVec> {
        self.eqz(&a.sub(b), k + 1)
    }

    fn bit_dec(&mut self, a: &ShareVec, k: u32, m: u32) -> Result<Vec<ShareVec>> {
        self.poison_guard(|e| e.bit_dec_inner(a, k, m))
    }

    fn fp_norm(&mut self, b: &ShareVec, k: u32) -> Result<(ShareVec, ShareVec)> {
        self.poison_guard(|e| e.fp_norm_inner(b, k))
    }

    fn fp_div(&mut self, a: &ShareVec, b: &ShareVec, k: u32, f: u32) -> Result<ShareVec> {
        self.poison_guard(|e| e.fp_div_inner(a, b, k, f))
    }
}
