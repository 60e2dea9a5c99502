//! Fixed-point division after Catrina and Saxena, "Secure computation with fixed-point numbers"
//! (FC 2010): Norm, AppRcr and Goldschmidt's iteration, the algorithm of MP-SPDZ's `sfix` `/`
//! (`FPDiv`). Defaults as MP-SPDZ's `sfix`: f = 16 fractional bits, k = 31 bits in all.
//!
//! A fixed-point number x is the signed k-bit integer x̄ = x·2^f. For x̄ = a and ȳ = b the result
//! approximates Q = a·2^f / b, i.e. the fixed-point encoding of a/b.
//!
//! # Norm(b, k) — BitDec, ⌈log2(k − 1)⌉ prefix rounds and 1 more (13 rounds for k = 31)
//!
//! Finds v = ±2^(k−1−m) with c = |b|·|v| ∈ [2^(k−1), 2^k], where 2^m is the leading power of two
//! of |b| (of |b| − 1 for negative b, see below).
//! - β = BitDec(b, k, k), the two's-complement bits of b; t = β_(k−1) = [b < 0] comes for free, so
//!   unlike the paper (and MP-SPDZ) no LTZ and no product s·b are needed.
//! - y_i = β_i ⊕ t for i < k − 1: the bits of b for b ≥ 0 and of ¬b = |b| − 1 for b < 0.
//! - P_i = y_(k−2) ∨ … ∨ y_i, a prefix-OR from the top (Sklansky, one batched round per level,
//!   u ∨ w = u + w − u·w). The XOR products t·β_i share the first level's round: for the level's
//!   pairs, (β ⊕ t)(β' ⊕ t) = β·β' + t − t·β − t·β' is affine in β·β' and t·β, t·β'.
//! - z_i = P_i − P_(i+1) is the one-hot leading 1, z_(−1) = 1 − P_0 flags y = 0 (b ∈ {0, −1}).
//!   v' = Σ 2^(k−1−i)·z_i, and v = v' + 2^k·t·z_(−1) (so b = −1 gets v = 2^k, b = 0 gets v = 0).
//!   For b < 0, 2^m < |b| ≤ 2^(m+1), so c ∈ (2^(k−1), 2^k]: c = 2^k exactly when |b| is a power
//!   of two. The paper's c < 2^k is not needed, since AppRcr's error bound holds on [1/2, 1].
//! - s·v = (1 − 2t)·v = v' − 2·t·v' − 2^k·t·z_(−1). Since z is one-hot, v'^2 = Σ 2^(2(k−1−i))·z_i
//!   is linear, and b·v² = b·v'^2 − 2^(2k)·t·z_(−1) because b·t·z_(−1) = −t·z_(−1). So one last
//!   round of products (t·v', t·z_(−1), b·v'^2) gives both s·v and b·v² (and, for
//!   [`NonLinear::fp_norm`], c = b·v' − 2(b·t)·v' + 2^k·t·z_(−1) with b·t from the first prefix
//!   round).
//!
//! # AppRcr(b, k, f) — the last Norm round plus a truncation
//!
//! With α_k = round(2.9142·2^k), d = α_k − 2c is a linear approximation of 2^(2k)/c, with relative
//! error ε ∈ [−0.0616, 0.0858] for c/2^k ∈ [1/2, 1]. w = TruncPr(d·s·v, 2(k − f)) ≈ 2^(2f)/b, and
//! W = d·s·v = α_k·(s·v) − 2·b·v² needs no further product (c·s·v = b·v²). |W| < 2^(2k).
//!
//! # FPDiv(a, b, k, f) — θ = ⌈log2(k/3.5)⌉ Goldschmidt iterations (4 for k = 31)
//!
//! With A = 2^(2f): y_0 = TruncPr(a·w, f) ≈ a/b·2^f and x_0 = A − b·w = A·ε (exact). Then
//! θ − 1 times y ← TruncPr(y·(A + x), 2f), x ← TruncPr(x², 2f), and finally
//! y ← TruncPr(y·(A + x), 2f). Without rounding, y_θ = a·w·Π(1 + ε^(2^i))/2^f
//! = Q·(1 − ε^(2^θ)).
//!
//! **Truncation fused with the next product.** TruncPr(U, m) opens c = U + 2^K + r with r =
//! r' + 2^m·r'', and returns (Ũ − c')·2^−m with Ũ = U + r', c' = c mod 2^m. As Ũ is known before c
//! is opened, a product TruncPr(U)·Z = (Ũ·Z − c'·Z)·2^−m needs only Ũ·Z, which is computed in the
//! round that opens c; TruncPr(U)·TruncPr(V) likewise needs the one product Ũ·Ṽ. So every
//! "truncate, then multiply" costs one round and no extra triple: AppRcr's truncation shares its
//! round with a·w, b·w, and each Goldschmidt truncation shares its round with the next products.
//! Only the final truncation is a round of its own. (All divisions by 2^m are exact in GF(p): the
//! numerators are multiples of 2^m as integers.)
//!
//! # Cost for k = 31, f = 16, s = 40 (per element; every step is one round for the whole vector)
//!
//! - rounds: Norm 13 (BitDec 7, prefix-OR 5, last products 1), then 1 (open W's mask; a·w,
//!   b·w), θ = 4 (one per Goldschmidt step) and 1 (final truncation): **19**. The textbook sequence
//!   (LTZ 5, s·b 1, BitDec 7, PreOR 5, c and s·v 1, d·v 1, then TruncPr and product rounds
//!   alternating: 11) would take 31 rounds on this engine.
//! - triples: BitDec 150, prefix-OR 101 (30 for the XOR, 15 + 56 for the ORs), last Norm
//!   products 3, a·w and b·w 2, Goldschmidt θ + θ − 1 = 7: **263**.
//! - bits: BitDec k + s = 71, W's mask 2k + 1 + s = 103, five y masks of k + 3f + 2 + s = 121
//!   and three x masks of 4f + 2 + s = 106: **1097**.
//!
//! # Accuracy
//!
//! For k ≤ 2f − 1 every |w| > 3, so ε (approximation and rounding of w together) has |ε| ≤ 0.351.
//! In units of 2^−f: each TruncPr of y errs by less than 1, multiplied by the Goldschmidt factors
//! still to come (≤ 1/(1 − ε) = 1.54 for y_0, then ≤ 1.14, 1.02, 1, 1); each TruncPr of x perturbs
//! a later factor by ≤ 1.25·2^−2f, which moves y (|y| ≲ |Q| < 2^(k−1)) by ≤ 0.83 in all; and
//! the residue ε^16·|Q| < 0.01 (a large ε needs a large |b|, hence a small |Q|). In all
//! |result − Q| < 6.6 units of 2^−f whenever the quotient fits (|Q| ≤ 2^(k−1) − 8); the tests
//! assert 7. Measured (k = 31, f = 16, 30 000 divisions incl. large divisors and quotients near
//! the top of the range): at most 3.4 units, mean 0.56.
//!
//! # Security
//!
//! Every opened c = U + 2^K + r uses a width K with |U| < 2^(K−1) for **all** inputs, including
//! overflowing quotients and b = 0 (K = 2k + 1 for W, k + 3f + 2 for y, 4f + 2 for x), so the
//! statistical distance is ≤ 2^−s per opening as for the other kernels. This needs k + 3f + 2 +
//! s ≤ 125 (k = 31, f = 16: 121). Beaver openings are perfectly hiding; everything is MAC-checked
//! before anything derived from it is revealed.
//!
//! # Division by zero
//!
//! Does not fail and does not panic. The result is unspecified; this implementation returns 0
//! (b = 0 gives v = 0, w = 0, y = 0).

use field::Fp;

use super::NonLinear;
use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::prep::Preprocessing;
use crate::share::ShareVec;

/// The largest width + s for a masked opening: c < 2^(width+s+1) must stay below p > 2^127.
const MAX_WIDTH_PLUS_S: u32 = 125;

/// round(2.9142·2^k), exactly.
fn alpha_k(k: u32) -> u128 {
    ((29142u128 << k) + 5000) / 10000
}

/// θ = ⌈log2(k / 3.5)⌉ (at least 1): the smallest θ with 3.5·2^θ ≥ k.
fn goldschmidt_iterations(k: u32) -> u32 {
    let mut t = 0;
    while 7u64 << t < 2 * k as u64 {
        t += 1;
    }
    t.max(1)
}

/// Mask widths K of the openings of FPDiv, chosen so that |U| < 2^(K−1) for every input.
struct Widths {
    /// W = d·s·v, |W| < 2^(2k).
    w: u32,
    /// Untruncated y's: |Y| < 2^(k+3f).
    y: u32,
    /// Untruncated x's (x²): |X| ≤ 2^(4f).
    x: u32,
}

fn fp_params(k: u32, f: u32, s: u32) -> Result<Widths> {
    // In u64, so that absurd parameters are an error rather than an overflow.
    let (k64, f64, s64) = (u64::from(k), u64::from(f), u64::from(s));
    let widest = (2 * k64 + 1).max(k64 + 3 * f64 + 2).max(4 * f64 + 2);
    if f < 3 || k64 < f64 + 2 || k64 + 1 > 2 * f64 || widest + s64 > u64::from(MAX_WIDTH_PLUS_S) {
        return Err(ProtocolError::InvalidArgument(format!(
            "fixed-point division with k = {k}, f = {f} and statistical security s = {s} is \
             not supported: need f + 2 ≤ k ≤ 2f − 1 and \
             max(2k + 1, k + 3f + 2, 4f + 2) + s ≤ {MAX_WIDTH_PLUS_S}"
        )));
    }
    Ok(Widths {
        w: 2 * k + 1,
        y: k + 3 * f + 2,
        x: 4 * f + 2,
    })
}

/// c mod 2^m for opened values, as field elements.
fn low_part(c: &[Fp], m: u32) -> Vec<Fp> {
    let mask = (1u128 << m) - 1;
    c.iter()
        .map(|x| Fp::from_u128(x.to_u128() & mask))
        .collect()
}

fn inv_pow2(m: u32) -> Fp {
    Fp::pow2(m).inverse().expect("2^m is invertible")
}

/// Element-wise product of public vectors.
fn public_mul(x: &[Fp], y: &[Fp]) -> Vec<Fp> {
    x.iter().zip(y).map(|(&a, &b)| a * b).collect()
}

/// A probabilistic truncation in flight: `open` (U + 2^K + r) goes out in the next round, `tilde`
/// (U + r') is what later products use; after the opening, TruncPr(U, m) = (Ũ − c')·2^−m.
struct Trunc {
    open: ShareVec,
    tilde: ShareVec,
    m: u32,
}

impl Trunc {
    /// A value that needs no truncation (m = 0): nothing to open, Ũ = U and c' = 0.
    fn exact(u: ShareVec) -> Trunc {
        Trunc {
            open: ShareVec::default(),
            tilde: u,
            m: 0,
        }
    }

    /// c' for the opened `c`, or `None` when there is nothing to subtract.
    fn correction(&self, c: &[Fp]) -> Option<Vec<Fp>> {
        (self.m > 0).then(|| low_part(c, self.m))
    }
}

/// Output of the shared Norm core.
struct NormOut {
    /// s·v = ±2^(k−1−m) (2^k for b = −1, 0 for b = 0).
    sv: ShareVec,
    /// b·v².
    bv2: Option<ShareVec>,
    /// c = b·s·v = |b|·|v|.
    c: Option<ShareVec>,
}

impl<P: Preprocessing> Engine<P> {
    /// Starts TruncPr(u, m) for |u| < 2^(width−1): draws width + s bits per element.
    fn trunc_start(&mut self, u: &ShareVec, width: u32, m: u32) -> Result<Trunc> {
        let n = u.len();
        let total = (width + self.config().security) as usize;
        let bits = self.take_bits(n * total)?;
        let mut low = ShareVec::zeros(n);
        let mut full = ShareVec::zeros(n);
        for i in 0..total {
            let b = bits.slice(i * n..(i + 1) * n);
            let w = Fp::pow2(i as u32);
            if i < m as usize {
                low.add_scaled(&b, w);
            }
            full.add_scaled(&b, w);
        }
        let mut open = self.ctx().add_scalar(u, Fp::pow2(width));
        open.add_assign(&full);
        Ok(Trunc {
            open,
            tilde: u.add(&low),
            m,
        })
    }

    /// The Norm core (see the module documentation): BitDec, then the prefix-OR with the XOR by the
    /// sign folded into its first round, then one round of products.
    fn norm_core(&mut self, b: &ShareVec, k: u32, want_bv2: bool, want_c: bool) -> Result<NormOut> {
        let n = b.len();
        let ctx = self.ctx();
        let beta = self.bit_dec(b, k, k)?;
        let l = (k - 1) as usize;
        let t = &beta[l];

        // Round 1: t·β_i for every magnitude bit, β·β' for the first prefix level's pairs, and b·t
        // if c is wanted. Prefix order runs from the top: u_j = y_(l−1−j); level-1 pairs are
        // (u_(j−1), u_j) for odd j, i.e. bit positions hi = l − j and lo = l − 1 − j.
        let pairs: Vec<(usize, usize)> = (1..l).step_by(2).map(|j| (l - j, l - 1 - j)).collect();
        let mut xs = ShareVec::with_capacity((l + pairs.len() + 1) * n);
        let mut ys = ShareVec::with_capacity((l + pairs.len() + 1) * n);
        for bi in &beta[..l] {
            xs.extend(t);
            ys.extend(bi);
        }
        for &(hi, lo) in &pairs {
            xs.extend(&beta[hi]);
            ys.extend(&beta[lo]);
        }
        if want_c {
            xs.extend(b);
            ys.extend(t);
        }
        let prod = self.mul_inner(&xs, &ys)?;
        let part = |i: usize| prod.slice(i * n..(i + 1) * n);
        let tb: Vec<ShareVec> = (0..l).map(part).collect();
        let bt = want_c.then(|| part(l + pairs.len()));
        // y_i = β_i ⊕ t = β_i + t − 2·t·β_i.
        let y: Vec<ShareVec> = (0..l)
            .map(|i| {
                let mut yi = beta[i].add(t);
                yi.add_scaled(&tb[i], -Fp::TWO);
                yi
            })
            .collect();
        let mut q: Vec<ShareVec> = (0..l).map(|j| y[l - 1 - j].clone()).collect();
        for (p, &(hi, lo)) in pairs.iter().enumerate() {
            // u_(j−1)·u_j = β_hi·β_lo + t − t·β_hi − t·β_lo.
            let mut uu = part(l + p).add(t);
            uu.sub_assign(&tb[hi]);
            uu.sub_assign(&tb[lo]);
            let j = 2 * p + 1;
            let mut or = q[j - 1].add(&q[j]);
            or.sub_assign(&uu);
            q[j] = or;
        }

        // Remaining Sklansky levels: q_j ← q_j ∨ q_src for j in the upper half of each block.
        let mut block = 4;
        while block / 2 < l {
            let half = block / 2;
            let targets: Vec<(usize, usize)> = (0..l)
                .filter(|j| j % block >= half)
                .map(|j| (j, j - j % block + half - 1))
                .collect();
            let mut xs = ShareVec::with_capacity(targets.len() * n);
            let mut ys = ShareVec::with_capacity(targets.len() * n);
            for &(j, src) in &targets {
                xs.extend(&q[j]);
                ys.extend(&q[src]);
            }
            let prod = self.mul_inner(&xs, &ys)?;
            for (idx, &(j, src)) in targets.iter().enumerate() {
                let mut or = q[j].add(&q[src]);
                or.sub_assign(&prod.slice(idx * n..(idx + 1) * n));
                q[j] = or;
            }
            block *= 2;
        }

        // P_i = q_(l−1−i); one-hot z_i = P_i − P_(i+1), z_(l−1) = P_(l−1); z_(−1) = 1 − P_0.
        let mut v_main = ShareVec::zeros(n);
        let mut v_sq = ShareVec::zeros(n);
        for i in 0..l {
            let mut z = q[l - 1 - i].clone();
            if i + 1 < l {
                z.sub_assign(&q[l - 2 - i]);
            }
            v_main.add_scaled(&z, Fp::pow2(k - 1 - i as u32));
            v_sq.add_scaled(&z, Fp::pow2(2 * (k - 1 - i as u32)));
        }
        let none = ctx.public_sub(&vec![Fp::ONE; n], &q[l - 1]);

        // Last round: t·v', t·z_(−1), then b·v'^2 and/or b·v', (b·t)·v'.
        let mut xs = ShareVec::concat(&[t, t]);
        let mut ys = ShareVec::concat(&[&v_main, &none]);
        if want_bv2 {
            xs.extend(b);
            ys.extend(&v_sq);
        }
        if let Some(bt) = &bt {
            xs.extend(b);
            ys.extend(&v_main);
            xs.extend(bt);
            ys.extend(&v_main);
        }
        let prod = self.mul_inner(&xs, &ys)?;
        let part = |i: usize| prod.slice(i * n..(i + 1) * n);
        let (tv, tz) = (part(0), part(1));
        let mut sv = v_main;
        sv.add_scaled(&tv, -Fp::TWO);
        sv.add_scaled(&tz, -Fp::pow2(k));
        let mut next = 2;
        let bv2 = want_bv2.then(|| {
            let mut r = part(next);
            r.add_scaled(&tz, -Fp::pow2(2 * k));
            next += 1;
            r
        });
        let c = want_c.then(|| {
            let mut r = part(next);
            r.add_scaled(&part(next + 1), -Fp::TWO);
            r.add_scaled(&tz, Fp::pow2(k));
            r
        });
        Ok(NormOut { sv, bv2, c })
    }

    pub(crate) fn fp_norm_inner(&mut self, b: &ShareVec, k: u32) -> Result<(ShareVec, ShareVec)> {
        let s = self.config().security;
        if k < 2 || k.saturating_add(s) > MAX_WIDTH_PLUS_S {
            return Err(ProtocolError::InvalidArgument(format!(
                "Norm with k = {k} and statistical security s = {s} is not supported: \
                 need 2 ≤ k and k + s ≤ {MAX_WIDTH_PLUS_S}"
            )));
        }
        if b.is_empty() {
            return Ok((ShareVec::default(), ShareVec::default()));
        }
        let out = self.norm_core(b, k, false, true)?;
        Ok((out.c.expect("c requested"), out.sv))
    }

    pub(crate) fn fp_div_inner(
        &mut self,
        a: &ShareVec,
        b: &ShareVec,
        k: u32,
        f: u32,
    ) -> Result<ShareVec> {
        if a.len() != b.len() {
            return Err(ProtocolError::InvalidArgument(format!(
                "dividing vectors of different lengths ({} and {})",
                a.len(),
                b.len()
            )));
        }
        let widths = fp_params(k, f, self.config().security)?;
        let n = a.len();
        if n == 0 {
            return Ok(ShareVec::default());
        }
        let ctx = self.ctx();
        let big_a = Fp::pow2(2 * f);

        // AppRcr: W = α_k·s·v − 2·b·v² ≈ 2^(2k)/b; w = TruncPr(W, 2(k − f)) ≈ 2^(2f)/b.
        let norm = self.norm_core(b, k, true, false)?;
        let mut big_w = norm.sv.scale(Fp::from_u128(alpha_k(k)));
        big_w.add_scaled(&norm.bv2.expect("b·v² requested"), -Fp::TWO);
        let w = self.trunc_start(&big_w, widths.w, 2 * (k - f))?;

        // One round: open W's mask, multiply a and b by W̃. a·w = (a·W̃ − c'·a)·2^−m.
        let (opened, prod) = self.open_and_mul(
            &[&w.open],
            &ShareVec::concat(&[a, b]),
            &ShareVec::concat(&[&w.tilde, &w.tilde]),
        )?;
        let cw = w.correction(&opened[0]).expect("m > 0");
        let inv = inv_pow2(w.m);
        let aw = prod.slice(0..n).sub(&a.mul_public(&cw)).scale(inv);
        let bw = prod.slice(n..2 * n).sub(&b.mul_public(&cw)).scale(inv);
        // x_0 = 2^(2f) − b·w = 2^(2f)·ε exactly; y_0 = TruncPr(a·w, f), pending.
        let mut x = Trunc::exact(ctx.public_sub(&vec![big_a; n], &bw));
        let mut y_big = aw;
        let mut y_shift = f;

        // Goldschmidt: each step opens the pending masks and multiplies Ỹ·(X̃ + 2^(2f)·2^mx) and
        // X̃·X̃ in the same round.
        let theta = goldschmidt_iterations(k);
        for i in 0..theta {
            let last = i + 1 == theta;
            let y = self.trunc_start(&y_big, widths.y, y_shift)?;
            // A + x = (X̃ + A·2^mx − c'_x)·2^−mx.
            let x_plus = ctx.add_scalar(&x.tilde, big_a * Fp::pow2(x.m));
            let (fx, fy) = if last {
                (y.tilde.clone(), x_plus.clone())
            } else {
                (
                    ShareVec::concat(&[&y.tilde, &x.tilde]),
                    ShareVec::concat(&[&x_plus, &x.tilde]),
                )
            };
            let (opened, prod) = self.open_and_mul(&[&y.open, &x.open], &fx, &fy)?;
            let cy = y.correction(&opened[0]).expect("m > 0");
            let cx = x.correction(&opened[1]);

            // y·(A + x) = (Ỹ − c_y)(X̃⁺ − c_x)·2^−(my+mx)
            //           = (P − c_x·Ỹ − c_y·X̃⁺ + c_y·c_x)·2^−(my+mx).
            let mut yx = prod.slice(0..n);
            yx.sub_assign(&x_plus.mul_public(&cy));
            if let Some(cx) = &cx {
                yx.sub_assign(&y.tilde.mul_public(cx));
                ctx.add_public_assign(&mut yx, &public_mul(&cy, cx));
            }
            y_big = yx.scale(inv_pow2(y.m + x.m));
            y_shift = 2 * f;

            if !last {
                // x² = (X̃ − c_x)²·2^−2mx = (S − 2c_x·X̃ + c_x²)·2^−2mx.
                let mut sq = prod.slice(n..2 * n);
                if let Some(cx) = &cx {
                    let two_cx: Vec<Fp> = cx.iter().map(|c| c.double()).collect();
                    sq.sub_assign(&x.tilde.mul_public(&two_cx));
                    ctx.add_public_assign(&mut sq, &public_mul(cx, cx));
                }
                let sq = sq.scale(inv_pow2(2 * x.m));
                x = self.trunc_start(&sq, widths.x, 2 * f)?;
            }
        }

        // The last truncation is a round of its own.
        let y = self.trunc_start(&y_big, widths.y, y_shift)?;
        let opened = self.open_many(&[&y.open])?;
        let cy = y.correction(&opened[0]).expect("m > 0");
        Ok(ctx
            .add_public(&y.tilde, &cy.iter().map(|&c| -c).collect::<Vec<_>>())
            .scale(inv_pow2(y.m)))
    }
}
