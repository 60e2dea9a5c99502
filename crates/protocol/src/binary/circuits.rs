//! Log-depth binary circuits between a public integer c (one per element) and a secret integer r
//! given by its authenticated bits r_0 … r_{m−1} (each a [`BitShares`] over the elements).
//!
//! XOR and AND with public bits are free; each level of a tree is one round of ANDs from binary
//! triples, batched over all nodes and elements.
//!
//! - [`Engine::bit_lt_public`], [c < r]: leaves lt_i = ¬c_i ∧ r_i and eq_i = ¬(c_i ⊕ r_i) (both
//!   free), combined from the most significant side as
//!   (lt, eq) = (lt_hi ⊕ eq_hi ∧ lt_lo, eq_hi ∧ eq_lo) (the XOR is an OR of exclusive events); the
//!   lowest node never needs its eq. ⌈log2 m⌉ rounds and 2(m − 1) − ⌈log2 m⌉ ANDs (m a power of
//!   two; 120 for m = 64).
//! - [`Engine::all_ones`], [∀i: x_i = 1]: a product tree, ⌈log2 m⌉ rounds, m − 1 ANDs.
//! - [`Engine::sub_public_secret`], the bits of (c − r) mod 2^m = c + ¬r + 1: generate
//!   g_i = c_i ∧ ¬r_i and propagate p_i = c_i ⊕ ¬r_i (free), carry-in folded into
//!   G_0 = g_0 ⊕ p_0, a Sklansky parallel prefix ((G, P) ∘ (G', P') = (G ⊕ P ∧ G', P ∧ P')),
//!   and sum bits s_0 = ¬p_0, s_i = p_i ⊕ G_{i−1} (free). ⌈log2 m⌉ rounds; for m = 64,
//!   192 G-products and 160 P-products (352 ANDs).

use super::bits::{pack_bits, BitShares};
use crate::engine::Engine;
use crate::error::Result;
use crate::prep::Preprocessing;

/// Bit i of every c_j, packed.
pub(crate) fn column(c: &[u128], i: usize) -> Vec<u64> {
    pack_bits(c.iter().map(|&x| (x >> i) & 1 == 1))
}

/// The complement of bit i of every c_j, packed (padding cleared by the consumers).
fn not_column(c: &[u128], i: usize) -> Vec<u64> {
    pack_bits(c.iter().map(|&x| (x >> i) & 1 == 0))
}

struct Node {
    lt: BitShares,
    eq: Option<BitShares>,
}

impl<P: Preprocessing> Engine<P> {
    /// [c < r] for public c_j < 2^m and secret r_j given by its m bits (least significant first).
    pub(crate) fn bit_lt_public(&mut self, c: &[u128], r: &[BitShares]) -> Result<BitShares> {
        let ctx = self.bit_ctx()?;
        let n = c.len();
        let mut nodes: Vec<Node> = r
            .iter()
            .enumerate()
            .map(|(i, ri)| {
                let nc = not_column(c, i);
                Node {
                    lt: ri.and_public(&nc),
                    eq: (i > 0).then(|| ctx.xor_public(ri, &nc)),
                }
            })
            .collect();
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
                lt.xor_assign(&prod.slice(i * n..(i + 1) * n));
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
