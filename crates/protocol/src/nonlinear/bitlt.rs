//! Bitwise circuits between a public integer c and a secret integer r given by its shared bits.
//!
//! Leaves are per-bit (lt, eq) pairs, lt_i = [c_i < r_i] = (1 − c_i)·r_i and
//! eq_i = [c_i = r_i] = (1 − c_i) + (2c_i − 1)·r_i, both affine in r_i because c is public.
//! Blocks combine from the most significant side: (lt, eq) = (lt_hi + eq_hi·lt_lo, eq_hi·eq_lo).
//!
//! **Pair leaves.** For two adjacent bits the combined pair is affine in r_lo, r_hi and the single
//! product q = r_lo·r_hi, which does not depend on c. So q is computed in the same round that opens
//! c, and the tree starts at m/2 nodes: m/2 products in the opening round, then ⌈log2(m/2)⌉ rounds.

use field::Fp;

use crate::engine::Engine;
use crate::error::Result;
use crate::prep::Preprocessing;
use crate::share::{ShareCtx, ShareVec};

/// Bit `i` of each public value, as 0/1.
fn bit(c: &[u128], i: usize) -> impl Iterator<Item = i64> + '_ {
    c.iter().map(move |&x| ((x >> i) & 1) as i64)
}

/// Σ_t coef_t ⊙ X_t + konst, element-wise, with small integer coefficients.
pub(crate) fn affine(ctx: &ShareCtx, n: usize, konst: &[i64], terms: &[(&[i64], &ShareVec)]) -> ShareVec {
    let mut out = ShareVec::zeros(n);
    for (coef, x) in terms {
        for j in 0..n {
            match coef[j] {
                0 => {}
                1 => {
                    out.v[j] += x.v[j];
                    out.m[j] += x.m[j];
                }
                -1 => {
                    out.v[j] -= x.v[j];
                    out.m[j] -= x.m[j];
                }
                c => {
                    let f = Fp::from_i64(c);
                    out.v[j] += f * x.v[j];
                    out.m[j] += f * x.m[j];
                }
            }
        }
    }
    let k: Vec<Fp> = konst.iter().map(|&c| Fp::from_i64(c)).collect();
    ctx.add_public_assign(&mut out, &k);
    out
}

/// The products r_{2i}·r_{2i+1} needed by the pair leaves, as (x, y) factor vectors.
pub(crate) fn pair_factors(bits: &[ShareVec]) -> (ShareVec, ShareVec) {
    let pairs = bits.len() / 2;
    let n = bits.first().map_or(0, |b| b.len());
    let mut x = ShareVec::with_capacity(pairs * n);
    let mut y = ShareVec::with_capacity(pairs * n);
    for i in 0..pairs {
        x.extend(&bits[2 * i]);
        y.extend(&bits[2 * i + 1]);
    }
    (x, y)
}

/// One (lt, eq) node; `eq` is omitted where no later step needs it.
struct Node {
    lt: ShareVec,
    eq: Option<ShareVec>,
}

/// Leaves of the comparison tree: pair leaves from `q` (concatenated pair products), plus a single
/// leaf for an odd top bit. `need_eq_at_0` is false for BitLT, whose lowest node's eq is never used.
fn leaves(ctx: &ShareCtx, c: &[u128], bits: &[ShareVec], q: &ShareVec, want_lt: bool) -> Vec<Node> {
    let n = c.len();
    let m = bits.len();
    let mut nodes = Vec::with_capacity(m.div_ceil(2));
    for i in 0..m / 2 {
        let (lo, hi) = (2 * i, 2 * i + 1);
        let qi = q.slice(i * n..(i + 1) * n);
        let cl: Vec<i64> = bit(c, lo).collect();
        let ch: Vec<i64> = bit(c, hi).collect();
        let one_m_cl: Vec<i64> = cl.iter().map(|&b| 1 - b).collect();
        let one_m_ch: Vec<i64> = ch.iter().map(|&b| 1 - b).collect();
        let sgn_cl: Vec<i64> = cl.iter().map(|&b| 2 * b - 1).collect();
        let sgn_ch: Vec<i64> = ch.iter().map(|&b| 2 * b - 1).collect();
        let prod = |a: &[i64], b: &[i64]| -> Vec<i64> { a.iter().zip(b).map(|(x, y)| x * y).collect() };
        let lt = want_lt.then(|| {
            affine(
                ctx,
                n,
                &vec![0; n],
                &[
                    (&one_m_ch, &bits[hi]),
                    (&prod(&one_m_cl, &one_m_ch), &bits[lo]),
                    (&prod(&one_m_cl, &sgn_ch), &qi),
                ],
            )
        });
        let eq = (i > 0 || !want_lt).then(|| {
            affine(
                ctx,
                n,
                &prod(&one_m_ch, &one_m_cl),
                &[
                    (&prod(&one_m_ch, &sgn_cl), &bits[lo]),
                    (&prod(&sgn_ch, &one_m_cl), &bits[hi]),
                    (&prod(&sgn_ch, &sgn_cl), &qi),
                ],
            )
        });
        nodes.push(Node { lt: lt.unwrap_or_default(), eq });
    }
    if m % 2 == 1 {
        let top = m - 1;
        let ct: Vec<i64> = bit(c, top).collect();
        let one_m: Vec<i64> = ct.iter().map(|&b| 1 - b).collect();
        let sgn: Vec<i64> = ct.iter().map(|&b| 2 * b - 1).collect();
        let lt = if want_lt { affine(ctx, n, &vec![0; n], &[(&one_m, &bits[top])]) } else { ShareVec::default() };
        let eq = (top > 0 || !want_lt).then(|| affine(ctx, n, &one_m, &[(&sgn, &bits[top])]));
        nodes.push(Node { lt, eq });
    }
    nodes
}

impl<P: Preprocessing> Engine<P> {
    /// [c < r] for public c (each < 2^m) and secret r given by its m bits, with the pair products
    /// `q` already computed (see [`pair_factors`]). ⌈log2(⌈m/2⌉)⌉ rounds.
    pub(crate) fn bit_lt_with_pairs(&mut self, c: &[u128], bits: &[ShareVec], q: &ShareVec) -> Result<ShareVec> {
        let ctx = self.ctx();
        let n = c.len();
        let mut nodes = leaves(&ctx, c, bits, q, true);
        while nodes.len() > 1 {
            let pairs = nodes.len() / 2;
            let mut xs = ShareVec::with_capacity(2 * pairs * n);
            let mut ys = ShareVec::with_capacity(2 * pairs * n);
            // Products: eq_hi·lt_lo for every pair, then eq_hi·eq_lo for pairs other than the lowest.
            for i in 0..pairs {
                let eq_hi = nodes[2 * i + 1].eq.as_ref().expect("eq kept above index 0");
                xs.extend(eq_hi);
                ys.extend(&nodes[2 * i].lt);
            }
            for i in 1..pairs {
                xs.extend(nodes[2 * i + 1].eq.as_ref().expect("eq kept above index 0"));
                ys.extend(nodes[2 * i].eq.as_ref().expect("eq kept above index 0"));
            }
            let prod = self.mul_inner(&xs, &ys)?;
            let mut next = Vec::with_capacity(nodes.len().div_ceil(2));
            for i in 0..pairs {
                let mut lt = nodes[2 * i + 1].lt.clone();
                lt.add_assign(&prod.slice(i * n..(i + 1) * n));
                let eq = (i > 0).then(|| prod.slice((pairs + i - 1) * n..(pairs + i) * n));
                next.push(Node { lt, eq });
            }
            if nodes.len() % 2 == 1 {
                next.push(nodes.pop().expect("odd node"));
            }
            nodes = next;
        }
        Ok(nodes.pop().map(|n| n.lt).unwrap_or_else(|| ShareVec::zeros(n)))
    }

    /// [c = r] for public c and secret r given by its m bits, with pair products `q` precomputed.
    /// ⌈log2(⌈m/2⌉)⌉ rounds of a product tree.
    pub(crate) fn bit_eq_with_pairs(&mut self, c: &[u128], bits: &[ShareVec], q: &ShareVec) -> Result<ShareVec> {
        let ctx = self.ctx();
        let n = c.len();
        let mut level: Vec<ShareVec> =
            leaves(&ctx, c, bits, q, false).into_iter().map(|nd| nd.eq.expect("eq requested")).collect();
        while level.len() > 1 {
            let pairs = level.len() / 2;
            let mut xs = ShareVec::with_capacity(pairs * n);
            let mut ys = ShareVec::with_capacity(pairs * n);
            for i in 0..pairs {
                xs.extend(&level[2 * i]);
                ys.extend(&level[2 * i + 1]);
            }
            let prod = self.mul_inner(&xs, &ys)?;
            let mut next: Vec<ShareVec> = (0..pairs).map(|i| prod.slice(i * n..(i + 1) * n)).collect();
            if level.len() % 2 == 1 {
                next.push(level.pop().expect("odd node"));
            }
            level = next;
        }
        Ok(level.pop().unwrap_or_else(|| ctx.constant(&vec![Fp::ONE; n])))
    }
}
