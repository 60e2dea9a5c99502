//! Log-depth binary circuits between a public integer c (one per element) and a secret integer r
//! given by its authenticated bits r_0 … r_{m−1} (each a [`BitShares`] over the elements).
//!
//! XOR and AND with public bits are free; each level of a tree is one round of ANDs from binary
//! triples, batched over all nodes and elements.
//!
//! - `Engine::bit_lt_public`, [c < r]: per bit lt_i = ¬c_i ∧ r_i and eq_i = ¬(c_i ⊕ r_i) (free),
//!   combined from the most significant side as (lt, eq) = (lt_hi ⊕ eq_hi ∧ lt_lo, eq_hi ∧ eq_lo)
//!   (the XOR is an OR of exclusive events); the lowest node never needs its eq.
//!   **Pair leaves:** for two adjacent bits the combined (lt, eq) is linear in r_lo, r_hi and the
//!   one product q = r_lo ∧ r_hi, which does not depend on c, so the ⌊m/2⌋ products q travel in
//!   the round that opens c (as the prime-field `nonlinear/bitlt.rs` does) and the tree starts at
//!   ⌈m/2⌉ nodes: ⌈log2 ⌈m/2⌉⌉ rounds after the opening; for m = 64, 32 + 57 = 89 ANDs.
//! - `Engine::bit_eq_public`, [c = r]: the pair leaves' eq, then a product tree:
//!   ⌈log2 ⌈m/2⌉⌉ rounds after the opening, m − 1 ANDs in all (63 for m = 64).
//! - `Engine::sub_public_secret`, the bits of (c − r) mod 2^m = c + ¬r + 1: generate
//!   g_i = c_i ∧ ¬r_i and propagate p_i = c_i ⊕ ¬r_i (free), carry-in folded into
//!   G_0 = g_0 ⊕ p_0, a Sklansky parallel prefix ((G, P) ∘ (G', P') = (G ⊕ P ∧ G', P ∧ P')),
//!   and sum bits s_0 = ¬p_0, s_i = p_i ⊕ G_{i−1} (free). ⌈log2 m⌉ rounds; for m = 64,
//!   192 G-products and 129 P-products (321 ANDs).

use super::bits::{clear_padding, words_for, BitCtx, BitShares};
use crate::binary::ops::sub_bits;
use crate::engine::Engine;
use crate::error::Result;
use crate::prep::Preprocessing;

/// Bit i of every c_j, packed.
pub(crate) fn column(c: &[u128], i: usize) -> Vec<u64> {
    c.chunks(64)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u64, |w, (k, &x)| w | ((((x >> i) & 1) as u64) << k))
        })
        .collect()
}

/// The complement of bit i of every c_j, packed (padding zero).
fn not_column(c: &[u128], i: usize) -> Vec<u64> {
    let mut out = column(c, i);
    out.iter_mut().for_each(|w| *w = !*w);
    clear_padding(&mut out, c.len());
    out
}

/// The factors of the pair products q_i = r_{2i} ∧ r_{2i+1}, as (x, y) parts (pair-major), to be
/// passed to `Engine::open_and_and` as they are (no concatenated copy).
pub(crate) fn pair_factors(r: &[BitShares]) -> (Vec<&BitShares>, Vec<&BitShares>) {
    let lo = r.chunks_exact(2).map(|p| &p[0]).collect();
    let hi = r.chunks_exact(2).map(|p| &p[1]).collect();
    (lo, hi)
}

/// One (lt, eq) node; `eq` is omitted where no later step needs it.
struct Node {
    lt: BitShares,
    eq: Option<BitShares>,
}

/// Leaves of the comparison tree between public c and secret r, from the pair products `q`.
///
/// For a pair (lo, hi) write c̄ = ¬c (public) and q = r_lo ∧ r_hi. Then
/// - lt = lt_hi ⊕ eq_hi ∧ lt_lo = c̄_hi·r_hi ⊕ c̄_lo·q ⊕ c̄_hi·c̄_lo·r_lo,
/// - eq = eq_hi ∧ eq_lo = (r_hi ⊕ c̄_hi)(r_lo ⊕ c̄_lo) = q ⊕ c̄_lo·r_hi ⊕ c̄_hi·r_lo ⊕ c̄_hi·c̄_lo,
///
/// both linear in (r_lo, r_hi, q) with public coefficients, so free. An odd top bit is a single
/// leaf (lt = c̄·r, eq = r ⊕ c̄). `want_lt` computes lt (and skips the eq of the lowest node, which
/// no later step uses); otherwise only eq is computed.
fn leaves(ctx: &BitCtx, c: &[u128], r: &[BitShares], q: &BitShares, want_lt: bool) -> Vec<Node> {
    let n = c.len();
    let m = r.len();
    let ones = vec![u64::MAX; words_for(n)];
    let mut nodes = Vec::with_capacity(m.div_ceil(2));
    for i in 0..m / 2 {
        let (lo, hi) = (&r[2 * i], &r[2 * i + 1]);
        let (ncl, nch) = (not_column(c, 2 * i), not_column(c, 2 * i + 1));
        let both: Vec<u64> = ncl.iter().zip(&nch).map(|(&a, &b)| a & b).collect();
        let qv = sub_bits(&q.v, i * n, n);
        let qm = &q.m[i * n..(i + 1) * n];
        let lt = if want_lt {
            ctx.combine(
                n,
                &[(&hi.v, &hi.m, &nch), (&qv, qm, &ncl), (&lo.v, &lo.m, &both)],
                None,
            )
        } else {
            BitShares::default()
        };
        let eq = (i > 0 || !want_lt).then(|| {
            ctx.combine(
                n,
                &[(&qv, qm, &ones), (&hi.v, &hi.m, &ncl), (&lo.v, &lo.m, &nch)],
                Some(&both),
            )
        });
        nodes.push(Node { lt, eq });
    }
    if m % 2 == 1 {
        let top = m - 1;
        let nc = not_column(c, top);
        let lt = if want_lt {
            r[top].and_public(&nc)
        } else {
            BitShares::default()
        };
        let eq = (top > 0 || !want_lt).then(|| ctx.xor_public(&r[top], &nc));
        nodes.push(Node { lt, eq });
    }
    nodes
}

impl<P: Preprocessing> Engine<P> {
    /// [c < r] for public c_j < 2^m and secret r_j given by its m bits (least significant first),
    /// with the pair products `q` (see `pair_factors`) already computed.
    pub(crate) fn bit_lt_public(
        &mut self,
        c: &[u128],
        r: &[BitShares],
        q: &BitShares,
    ) -> Result<BitShares> {
        let ctx = self.bit_ctx()?;
        let n = c.len();
        let mut nodes = leaves(&ctx, c, r, q, true);
        while nodes.len() > 1 {
            let pairs = nodes.len() / 2;
            let prod = {
                let mut xs: Vec<&BitShares> = Vec::with_capacity(2 * pairs);
                let mut ys: Vec<&BitShares> = Vec::with_capacity(2 * pairs);
                for i in 0..pairs {
                    xs.push(nodes[2 * i + 1].eq.as_ref().expect("eq kept above index 0"));
                    ys.push(&nodes[2 * i].lt);
                }
                for i in 1..pairs {
                    xs.push(nodes[2 * i + 1].eq.as_ref().expect("eq kept above index 0"));
                    ys.push(nodes[2 * i].eq.as_ref().expect("eq kept above index 0"));
                }
                self.and_parts(&xs, &ys)?
            };
            let odd = (nodes.len() % 2 == 1).then(|| nodes.pop().expect("odd node"));
            let mut next = Vec::with_capacity(pairs + 1);
            for (i, pair) in nodes.chunks_exact_mut(2).enumerate() {
                let mut lt = std::mem::take(&mut pair[1].lt);
                lt.xor_assign_from(&prod, i * n);
                let eq = (i > 0).then(|| prod.slice((pairs + i - 1) * n..(pairs + i) * n));
                next.push(Node { lt, eq });
            }
            next.extend(odd);
            nodes = next;
        }
        Ok(nodes
            .pop()
            .map(|nd| nd.lt)
            .unwrap_or_else(|| BitShares::zeros(n)))
    }

    /// [c = r] for public c and secret r given by its m bits, with the pair products `q`
    /// precomputed: the pair leaves' eq, then a product tree.
    pub(crate) fn bit_eq_public(
        &mut self,
        c: &[u128],
        r: &[BitShares],
        q: &BitShares,
    ) -> Result<BitShares> {
        let ctx = self.bit_ctx()?;
        let level = leaves(&ctx, c, r, q, false)
            .into_iter()
            .map(|nd| nd.eq.expect("eq requested"))
            .collect();
        self.all_ones(level, c.len())
    }

    /// [x_0 ∧ x_1 ∧ … ∧ x_{m−1}] element-wise, by a product tree. All-ones (public 1) for m = 0.
    pub(crate) fn all_ones(&mut self, mut level: Vec<BitShares>, n: usize) -> Result<BitShares> {
        let ctx = self.bit_ctx()?;
        while level.len() > 1 {
            let pairs = level.len() / 2;
            let xs: Vec<&BitShares> = (0..pairs).map(|i| &level[2 * i]).collect();
            let ys: Vec<&BitShares> = (0..pairs).map(|i| &level[2 * i + 1]).collect();
            let prod = self.and_parts(&xs, &ys)?;
            let mut next: Vec<BitShares> =
                (0..pairs).map(|i| prod.slice(i * n..(i + 1) * n)).collect();
            if level.len() % 2 == 1 {
                next.push(level.pop().expect("odd node"));
            }
            level = next;
        }
        Ok(level
            .pop()
            .unwrap_or_else(|| ctx.constant(&vec![u64::MAX; n.div_ceil(64)], n)))
    }

    /// The m bits of (c − r) mod 2^m, least significant first, for public c and secret r given by
    /// its m bits.
    pub(crate) fn sub_public_secret(
        &mut self,
        c: &[u128],
        r: &[BitShares],
    ) -> Result<Vec<BitShares>> {
        let ctx = self.bit_ctx()?;
        let n = c.len();
        let m = r.len();
        if m == 0 {
            return Ok(Vec::new());
        }
        let mut gen = Vec::with_capacity(m);
        let mut prop = Vec::with_capacity(m);
        for (i, ri) in r.iter().enumerate() {
            let not_r = ctx.not(ri);
            let ci = column(c, i);
            gen.push(not_r.and_public(&ci));
            prop.push(ctx.xor_public(&not_r, &ci));
        }
        let p_orig = prop.clone();
        // Carry-in 1: the carry out of bit 0 is g_0 ∨ p_0 = g_0 ⊕ p_0 (exclusive).
        gen[0] = gen[0].xor(&prop[0]);
        let mut block = 2;
        while block / 2 < m {
            let half = block / 2;
            let mut xs: Vec<&BitShares> = Vec::new();
            let mut ys: Vec<&BitShares> = Vec::new();
            let mut g_targets = Vec::new();
            let mut p_targets = Vec::new();
            // Bit i in the upper half of its block takes the carry of the lower half's top bit j.
            for (i, p) in prop.iter().enumerate() {
                if i % block >= half {
                    let j = i - i % block + half - 1;
                    xs.push(p);
                    ys.push(&gen[j]);
                    g_targets.push(i);
                }
            }
            let split = xs.len();
            for (i, p) in prop.iter().enumerate() {
                let start = i - i % block;
                if i % block >= half && start > 0 {
                    xs.push(p);
                    ys.push(&prop[start + half - 1]);
                    p_targets.push(i);
                }
            }
            let prod = self.and_parts(&xs, &ys)?;
            for (t, &i) in g_targets.iter().enumerate() {
                gen[i].xor_assign(&prod.slice(t * n..(t + 1) * n));
            }
            for (t, &i) in p_targets.iter().enumerate() {
                prop[i] = prod.slice((split + t) * n..(split + t + 1) * n);
            }
            block *= 2;
        }
        let mut out = Vec::with_capacity(m);
        out.push(ctx.not(&p_orig[0]));
        for i in 1..m {
            out.push(p_orig[i].xor(&gen[i - 1]));
        }
        Ok(out)
    }
}
