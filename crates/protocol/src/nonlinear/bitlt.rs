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

/// Σ_t coef_t ⊙ X_t + konst, element-wise, with small integer coefficients.
pub(crate) fn affine(
    ctx: &ShareCtx,
    n: usize,
    konst: &[i64],
    terms: &[(&[i64], &ShareVec)],
) -> ShareVec {
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

/// Writes `sign_a·a + sign_b·b + sign_q·q + konst` (konst ∈ {0, 1}) into element `j` of `out`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn put(
    out: &mut ShareVec,
    j: usize,
    ctx: &ShareCtx,
    konst: bool,
    terms: [(i8, &ShareVec, usize); 3],
) {
    let (mut v, mut m) = (Fp::ZERO, Fp::ZERO);
    for (sign, x, i) in terms {
        match sign {
            1 => {
                v += x.v[i];
                m += x.m[i];
            }
            -1 => {
                v -= x.v[i];
                m -= x.m[i];
            }
            _ => {}
        }
    }
    if konst {
        if ctx.me == 0 {
            v += Fp::ONE;
        }
        m += ctx.alpha;
    }
    out.v[j] = v;
    out.m[j] = m;
}

/// Leaves of the comparison tree: pair leaves from `q` (concatenated pair products), plus a single
/// leaf for an odd top bit. With `want_lt` (BitLT) the eq of the lowest node is skipped, as no
/// later step uses it; without it (equality) only eq is computed.
///
/// For a pair with public bits (c_hi, c_lo) the affine forms are, with q = r_lo·r_hi:
///
/// | c_hi c_lo | lt = [c < r]          | eq = [c = r]          |
/// |-----------|-----------------------|-----------------------|
/// | 0 0       | r_hi + r_lo − q       | 1 − r_lo − r_hi + q   |
/// | 0 1       | r_hi                  | r_lo − q              |
/// | 1 0       | q                     | r_hi − q              |
/// | 1 1       | 0                     | q                     |
fn leaves(ctx: &ShareCtx, c: &[u128], bits: &[ShareVec], q: &ShareVec, want_lt: bool) -> Vec<Node> {
    let n = c.len();
    let m = bits.len();
    let mut nodes = Vec::with_capacity(m.div_ceil(2));
    for i in 0..m / 2 {
        let (lo, hi) = (2 * i, 2 * i + 1);
        let (rl, rh) = (&bits[lo], &bits[hi]);
        let mut lt = if want_lt {
            ShareVec::zeros(n)
        } else {
            ShareVec::default()
        };
        let need_eq = i > 0 || !want_lt;
        let mut eq = if need_eq {
            ShareVec::zeros(n)
        } else {
            ShareVec::default()
        };
        for (j, &cj) in c.iter().enumerate() {
            let qj = i * n + j;
            let case = (((cj >> hi) & 1) << 1 | ((cj >> lo) & 1)) as u8;
            if want_lt {
                let t = match case {
                    0 => [(1, rh, j), (1, rl, j), (-1, q, qj)],
                    1 => [(1, rh, j), (0, rl, j), (0, q, qj)],
                    2 => [(0, rh, j), (0, rl, j), (1, q, qj)],
                    _ => [(0, rh, j), (0, rl, j), (0, q, qj)],
                };
                put(&mut lt, j, ctx, false, t);
            }
            if need_eq {
                let (k, t) = match case {
                    0 => (true, [(-1, rh, j), (-1, rl, j), (1, q, qj)]),
                    1 => (false, [(0, rh, j), (1, rl, j), (-1, q, qj)]),
                    2 => (false, [(1, rh, j), (0, rl, j), (-1, q, qj)]),
                    _ => (false, [(0, rh, j), (0, rl, j), (1, q, qj)]),
                };
                put(&mut eq, j, ctx, k, t);
            }
        }
        nodes.push(Node {
            lt,
            eq: need_eq.then_some(eq),
        });
    }
    if m % 2 == 1 {
        // A single top bit: lt = (1 − c)·r, eq = c ? r : 1 − r.
        let top = m - 1;
        let r = &bits[top];
        let mut lt = if want_lt {
            ShareVec::zeros(n)
        } else {
            ShareVec::default()
        };
        let need_eq = top > 0 || !want_lt;
        let mut eq = if need_eq {
            ShareVec::zeros(n)
        } else {
            ShareVec::default()
        };
        for (j, &cj) in c.iter().enumerate() {
            let bit = (cj >> top) & 1 == 1;
            if want_lt {
                put(
                    &mut lt,
                    j,
                    ctx,
                    false,
                    [(if bit { 0 } else { 1 }, r, j), (0, r, j), (0, r, j)],
                );
            }
            if need_eq {
                put(
                    &mut eq,
                    j,
                    ctx,
                    !bit,
                    [(if bit { 1 } else { -1 }, r, j), (0, r, j), (0, r, j)],
                );
            }
        }
        nodes.push(Node {
            lt,
            eq: need_eq.then_some(eq),
        });
    }
    nodes
}

impl<P: Preprocessing> Engine<P> {
    /// [c < r] for public c (each < 2^m) and secret r given by its m bits, with the pair products
    /// `q` already computed (see [`pair_factors`]). ⌈log2(⌈m/2⌉)⌉ rounds.
    pub(crate) fn bit_lt_with_pairs(
        &mut self,
        c: &[u128],
        bits: &[ShareVec],
        q: &ShareVec,
    ) -> Result<ShareVec> {
        let ctx = self.ctx();
        let n = c.len();
        let mut nodes = leaves(&ctx, c, bits, q, true);
        while nodes.len() > 1 {
            let pairs = nodes.len() / 2;
            // Products: eq_hi·lt_lo for every pair, then eq_hi·eq_lo for pairs other than the lowest.
            let prod = {
                let mut xs: Vec<&ShareVec> = Vec::with_capacity(2 * pairs);
                let mut ys: Vec<&ShareVec> = Vec::with_capacity(2 * pairs);
                for i in 0..pairs {
                    xs.push(nodes[2 * i + 1].eq.as_ref().expect("eq kept above index 0"));
                    ys.push(&nodes[2 * i].lt);
                }
                for i in 1..pairs {
                    xs.push(nodes[2 * i + 1].eq.as_ref().expect("eq kept above index 0"));
                    ys.push(nodes[2 * i].eq.as_ref().expect("eq kept above index 0"));
                }
                self.mul_parts(&xs, &ys)?
            };
            let odd = (nodes.len() % 2 == 1).then(|| nodes.pop().expect("odd node"));
            let mut next = Vec::with_capacity(pairs + 1);
            for (i, pair) in nodes.chunks_exact_mut(2).enumerate() {
                let mut lt = std::mem::take(&mut pair[1].lt);
                lt.add_range(&prod, i * n);
                let eq = (i > 0).then(|| prod.slice((pairs + i - 1) * n..(pairs + i) * n));
                next.push(Node { lt, eq });
            }
            next.extend(odd);
            nodes = next;
        }
        Ok(nodes
            .pop()
            .map(|n| n.lt)
            .unwrap_or_else(|| ShareVec::zeros(n)))
    }

    /// [c = r] for public c and secret r given by its m bits, with pair products `q` precomputed.
    /// ⌈log2(⌈m/2⌉)⌉ rounds of a product tree.
    pub(crate) fn bit_eq_with_pairs(
        &mut self,
        c: &[u128],
        bits: &[ShareVec],
        q: &ShareVec,
    ) -> Result<ShareVec> {
        let ctx = self.ctx();
        let n = c.len();
        let mut level: Vec<ShareVec> = leaves(&ctx, c, bits, q, false)
            .into_iter()
            .map(|nd| nd.eq.expect("eq requested"))
            .collect();
        while level.len() > 1 {
            let pairs = level.len() / 2;
            let xs: Vec<&ShareVec> = (0..pairs).map(|i| &level[2 * i]).collect();
            let ys: Vec<&ShareVec> = (0..pairs).map(|i| &level[2 * i + 1]).collect();
            let prod = self.mul_parts(&xs, &ys)?;
            let mut next: Vec<ShareVec> =
                (0..pairs).map(|i| prod.slice(i * n..(i + 1) * n)).collect();
            if level.len() % 2 == 1 {
                next.push(level.pop().expect("odd node"));
            }
            level = next;
        }
        Ok(level
            .pop()
            .unwrap_or_else(|| ctx.constant(&vec![Fp::ONE; n])))
    }
}
