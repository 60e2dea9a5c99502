//! Correlated oblivious product evaluation with the MAC key (MASCOT's Π_COPE, Section 4 of the
//! paper), as a *small-field VOLE* in the manner of SoftSpokenOT (Roy, CRYPTO 2022): for an
//! ordered pair (A holding values x, B holding its MAC key share Δ = α_B), A ends with `t` and B
//! with `q` such that `q + t = x·Δ`, while neither learns the other's input.
//!
//! MASCOT writes Δ in binary and runs one correlated OT per bit: 128 columns, and A sends one
//! field element per column and value (2 KiB per authenticated value and peer). Here Δ is
//! written in base 2^k, `Δ = Σ_l 2^(k·l)·δ_l` with digits δ_l ∈ [0, 2^k), and each digit gets a
//! (2^k − 1)-out-of-2^k OT: κ/k columns, so A sends κ/k field elements per value (k = [`K`] = 2:
//! 64, half of MASCOT's bytes; the PRG work stays the same at A, 2^k·κ/k streams, and grows
//! from κ to (2^k − 1)·κ/k = 1.5κ streams at B).
//!
//! **Initialize** (once): κ = 128 base OTs in which B is the receiver with the bits of Δ's
//! canonical value as choices and A holds both keys; then A builds a GGM tree of 2^k leaves
//! `s_{l,0} … s_{l,2^k−1}` per digit from the k base OTs of that digit and sends B the level
//! messages and the consistency proof, exactly the punctured PRF of [`crate::kos`]
//! ([`kos::pprf_build`], [`kos::pprf_eval`], in the same setup round as the OT extension's).
//! B learns every leaf of column l except `s_{l,δ_l}`, which stays pseudorandom to it.
//!
//! **Extend** (per batch of values x_v). The leaves are expanded into field elements
//! `r_{l,x,v} = F(s_{l,x})` (uniform, from the PRG streams of [`Prg::fill_field`]). Per column,
//! with the digits x ∈ [0, 2^k) read as field elements:
//!
//! ```text
//!   A:  U_{l,v} = Σ_x r_{l,x,v},   V_{l,v} = Σ_x x·r_{l,x,v};   sends d_{l,v} = x_v − U_{l,v}
//!   B:  W_{l,v} = Σ_{x ≠ δ_l} (δ_l − x)·r_{l,x,v} = δ_l·U_{l,v} − V_{l,v}
//!       q_{l,v} = W_{l,v} + δ_l·d_{l,v} = δ_l·x_v − V_{l,v}
//! ```
//!
//! (the term x = δ_l, which B cannot compute, has coefficient 0). Recombining with the gadget
//! vector `(2^(k·l))`:
//!
//! ```text
//!   q_v = Σ_l 2^(k·l)·q_{l,v} = Δ·x_v − Σ_l 2^(k·l)·V_{l,v},     t_v = Σ_l 2^(k·l)·V_{l,v}.
//! ```
//!
//! B relabels its leaves once by `y = x ⊕ δ_l` (as the OT extension's sender does), so that
//! the one it lacks is y = 0 and it expands only y = 1 … 2^k − 1, with no memory index or
//! branch on δ_l. Since `x = y ⊕ δ = δ + Σ_j 2^j·y_j·(1 − 2δ_j)`, the coefficient is
//! `δ − x = Σ_j 2^j·(2δ_j − 1)·y_j`, so `W = Σ_j 2^j·(2δ_j − 1)·P_j` with the bit planes
//! `P_j = Σ_{y: y_j = 1} r'_y`, and `q_l = W + δ·d = Σ_j 2^j·(δ_j·(2P_j + d) − P_j)`, one
//! branch-free select per plane. A sums `V = Σ_j 2^j·Σ_{x: x_j = 1} r_x` by bit planes too. Both sums are computed by Horner's rule from the top column down,
//! vectorised over tiles of values.
//!
//! **Security.** `d` hides x because `U` contains `r_{l,δ_l}`, pseudorandom to B. A corrupt A
//! may use a different x in each column (an "error" e_l); then `q + t = x·Δ + Σ_l 2^(k·l)·δ_l·e_l`
//! and the authentication check of [`crate::auth`] catches it unless every touched digit δ_l
//! is 0 — MASCOT's selective failure (Lemma on Π_[[·]]) with digits instead of bits: a run that
//! passes tells A that the touched digits are 0, which happens with probability 2^−k per
//! digit, so learning Δ still takes about 2^128 guesses. A corrupt A may also deviate in the
//! trees: the consistency proof of [`crate::kos`] (module docs, "Security against a malicious
//! receiver") makes every Δ that passes see the leaves of one vector, so this only adds a
//! selective abort on Δ at setup: A can make setup fail ([`OfflineError::OtCheckFailed`])
//! unless some digits of Δ are 0. Δ here is the long-lived α_i, so this is the same kind of
//! probe as a column error, with the same answer: any failed check halts generation with that
//! peer set durably (the node's generation guard), so the probing stops at the first failure,
//! and a probe that passes tells A only that digits it chose are 0 (each with probability
//! 2^−k). B's only input is Δ itself, through its base-OT choices.
//!
//! Hand-written because no crate implements MASCOT's COPE over our field; the PPRF is the one
//! of [`crate::kos`].

use field::{kernels, Fp};
use net::PartyId;

use crate::baseot::Key;
use crate::error::{OfflineError, Result};
use crate::kos::{self, KAPPA};
use crate::prg::{select, Prg};

/// Bits per digit of the key (k): a tree of 2^K leaves per column.
pub(crate) const K: usize = 2;

/// Columns per value: the digits of a MAC key share.
pub const COLUMNS: usize = KAPPA / K;

/// Bytes of A's setup message (the punctured trees) for chunks of [`K`].
pub(crate) const PUNCTURE_BYTES: usize = kos::puncture_bytes(K);

/// Values per tile: both ends walk the values in tiles of this size, every column per tile, so
/// that a tile's working set stays in cache and the PRG streams are drawn in the same amounts
/// on both sides ([`Prg::fill_field`] consumes whole chunks per call).
const TILE: usize = 1024;

/// Bytes A sends for `n` values: per tile of [`TILE`] values (the last one shorter), the
/// columns from the top one down to 0, each with the tile's values.
pub(crate) fn u_len(n: usize) -> usize {
    COLUMNS * n * Fp::BYTES
}

/// The instance id of the trees for the pair (A = `holder`, B = `key_holder`): distinct from
/// every OT-extension instance, so that their leaf hashes never coincide.
pub(crate) fn instance(holder: PartyId, key_holder: PartyId) -> u64 {
    (1 << 63) | ((holder as u64) << 32) | key_holder as u64
}

/// Per-tile scratch: one leaf's expansion, U, and the bit planes `P_j`.
struct Sums {
    k: usize,
    r: Vec<Fp>,
    u: Vec<Fp>,
    planes: Vec<Vec<Fp>>,
}

impl Sums {
    fn new(k: usize, n: usize) -> Sums {
        let t = TILE.min(n);
        Sums {
            k,
            r: vec![Fp::ZERO; t],
            u: vec![Fp::ZERO; t],
            planes: vec![vec![Fp::ZERO; t]; k],
        }
    }

    /// Expands `streams` leaf streams by `len` values each, labelled `first`, `first + 1`, …,
    /// into the bit planes `P_j = Σ_{x: x_j = 1} r_x` and, with `with_u`, `u = Σ_x r_x`.
    fn expand(&mut self, prg: &mut [Prg], first: usize, len: usize, with_u: bool) {
        let mut started = vec![false; self.k];
        for (i, g) in prg.iter_mut().enumerate() {
            let x = first + i;
            let r = &mut self.r[..len];
            g.fill_field(r);
            if with_u {
                if i == 0 {
                    self.u[..len].copy_from_slice(r);
                } else {
                    kernels::add_assign(&mut self.u[..len], r);
                }
            }
            for (j, p) in self.planes.iter_mut().enumerate() {
                if (x >> j) & 1 == 1 {
                    if started[j] {
                        kernels::add_assign(&mut p[..len], r);
                    } else {
                        p[..len].copy_from_slice(r);
                        started[j] = true;
                    }
                }
            }
        }
    }
}

/// A: the party whose values get MACs under the peer's key.
/// A: the party whose values get MACs under the peer's key.
pub(crate) struct CopeSender {
    k: usize,
    /// Leaf x of column l at `l·2^k + x`.
    prg: Vec<Prg>,
    puncture: Vec<u8>,
}

/// B: the party with the MAC key share Δ.
pub(crate) struct CopeReceiver {
    k: usize,
    /// δ_l, the base-2^k digits of Δ.
    digits: Vec<usize>,
    /// Column l's leaves relabelled by y = x ⊕ δ_l, y = 1 … 2^k − 1, at `l·(2^k − 1) + y − 1`
    /// (the punctured leaf, y = 0, is not there).
    prg: Vec<Prg>,
}

impl CopeSender {
    /// From the base-OT key pairs (this party was the base-OT sender): builds the trees and the
    /// setup message for B ([`CopeSender::take_puncture`]).
    pub fn new(keys: &[(Key, Key)], instance: u64) -> CopeSender {
        Self::with_k(keys, instance, K)
    }

    /// As [`CopeSender::new`] with digits of `k` bits (tests and micro-benchmarks; B must use
    /// the same k).
    pub fn with_k(keys: &[(Key, Key)], instance: u64, k: usize) -> CopeSender {
        let (leaves, puncture) = kos::pprf_build(keys, instance, k);
        CopeSender {
            k,
            prg: leaves.iter().map(|s| Prg::new(&s.to_le_bytes())).collect(),
            puncture,
        }
    }

    /// The setup message for B ([`PUNCTURE_BYTES`] for [`K`]); empty once taken.
    pub fn take_puncture(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.puncture)
    }

    /// Appends `u` (the d's) for the values `x` to `out` and returns this party's shares `t_v`.
    /// `column_error`, for tests, adds `e(l)` to x in column l (an inconsistent correlation).
    pub fn extend(
        &mut self,
        x: &[Fp],
        out: &mut Vec<u8>,
        column_error: Option<&dyn Fn(usize) -> Fp>,
    ) -> Vec<Fp> {
        let n = x.len();
        let k = self.k;
        let columns = KAPPA / k;
        let mut off = out.len();
        out.resize(off + columns * n * Fp::BYTES, 0);
        let mut acc = vec![Fp::ZERO; n];
        let mut sums = Sums::new(k, n);
        for v0 in (0..n).step_by(TILE) {
            let len = TILE.min(n - v0);
            let (xs, acc) = (&x[v0..v0 + len], &mut acc[v0..v0 + len]);
            for l in (0..columns).rev() {
                sums.expand(&mut self.prg[l << k..(l + 1) << k], 0, len, true);
                let e = column_error.map(|f| f(l)).unwrap_or(Fp::ZERO);
                let dst = &mut out[off..off + len * Fp::BYTES];
                off += len * Fp::BYTES;
                for ((&uv, &xv), d) in sums.u[..len]
                    .iter()
                    .zip(xs)
                    .zip(dst.chunks_exact_mut(Fp::BYTES))
                {
                    d.copy_from_slice(&(xv + e - uv).to_mont_bytes());
                }
                // acc ← 2^k·acc + V_l with V_l = Σ_j 2^j·P_j, one Horner step per plane.
                for p in sums.planes.iter().rev() {
                    for (a, &b) in acc.iter_mut().zip(&p[..len]) {
                        *a = a.double() + b;
                    }
                }
            }
        }
        acc
    }
}

impl CopeReceiver {
    /// `delta` is this party's MAC key share; the keys come from base OTs with its bits as
    /// choices, and `msg` is A's setup message. `None` if the message has the wrong length or
    /// fails the consistency proof (A cheated).
    pub fn new(delta: Fp, keys: &[Key], instance: u64, msg: &[u8]) -> Option<CopeReceiver> {
        Self::with_k(delta, keys, instance, msg, K)
    }

    /// As [`CopeReceiver::new`] with digits of `k` bits.
    pub fn with_k(
        delta: Fp,
        keys: &[Key],
        instance: u64,
        msg: &[u8],
        k: usize,
    ) -> Option<CopeReceiver> {
        let bits = delta.to_u128();
        let leaves = kos::pprf_eval(bits, keys, instance, msg, k)?;
        let mask = (1usize << k) - 1;
        Some(CopeReceiver {
            k,
            digits: (0..KAPPA / k)
                .map(|l| ((bits >> (l * k)) as usize) & mask)
                .collect(),
            prg: kos::relabel(&leaves, bits, k)
                .iter()
                .map(|s| Prg::new(&s.to_le_bytes()))
                .collect(),
        })
    }

    /// Reads `n` values' worth of `u` from `peer` and returns this party's shares `q_v`.
    pub fn extend(&mut self, peer: PartyId, u: &[u8], n: usize) -> Result<Vec<Fp>> {
        let k = self.k;
        let columns = KAPPA / k;
        if u.len() != columns * n * Fp::BYTES {
            return Err(OfflineError::Malformed {
                peer,
                reason: "COPE message of the wrong length".into(),
            });
        }
        let mut acc = vec![Fp::ZERO; n];
        let mut sums = Sums::new(k, n);
        let mut d = vec![Fp::ZERO; TILE.min(n)];
        let streams = (1 << k) - 1;
        // Offsets stay within `u`: its length is columns·n·16 and the tiles cover n values.
        let mut off = 0;
        for v0 in (0..n).step_by(TILE) {
            let len = TILE.min(n - v0);
            let acc = &mut acc[v0..v0 + len];
            let d = &mut d[..len];
            for l in (0..columns).rev() {
                sums.expand(&mut self.prg[l * streams..(l + 1) * streams], 1, len, false);
                let bytes = &u[off..off + len * Fp::BYTES];
                off += len * Fp::BYTES;
                kernels::decode_into(bytes, d).map_err(|e| OfflineError::Malformed {
                    peer,
                    reason: e.to_string(),
                })?;
                // q_l = Σ_j 2^j·(δ_j·(2P_j + d) − P_j) (module docs), and acc ← 2^k·acc + q_l:
                // one Horner step per plane, δ_j by a select rather than a branch.
                let delta = self.digits[l];
                for (j, p) in sums.planes.iter().enumerate().rev() {
                    let bit = (delta >> j) & 1 == 1;
                    for ((a, &pv), &dv) in acc.iter_mut().zip(&p[..len]).zip(d.iter()) {
                        *a = a.double() + select(bit, pv.double() + dv) - pv;
                    }
                }
            }
        }
        Ok(acc)
    }
}

/// A sender and a receiver of COPE with key `delta` and digits of `k` bits, as setup would make
/// them: random base-OT key pairs, the receiver holding the key chosen by each bit of `delta`,
/// and A's trees evaluated by B (tests and micro-benchmarks, without the OTs).
#[cfg(test)]
pub(crate) fn pair_for_k(
    delta: Fp,
    rng: &mut impl rand_core::RngCore,
    k: usize,
) -> (CopeSender, CopeReceiver) {
    let (pairs, chosen) = base_keys(delta, rng);
    let mut a = CopeSender::with_k(&pairs, 7, k);
    let msg = a.take_puncture();
    let b = CopeReceiver::with_k(delta, &chosen, 7, &msg, k).expect("an honest setup passes");
    (a, b)
}

/// Random base-OT key pairs and the keys chosen by the bits of `delta`.
#[cfg(test)]
fn base_keys(delta: Fp, rng: &mut impl rand_core::RngCore) -> (Vec<(Key, Key)>, Vec<Key>) {
    let bits = delta.to_u128();
    let mut pairs = Vec::new();
    let mut chosen = Vec::new();
    for l in 0..KAPPA {
        let mut k0 = [0u8; 16];
        let mut k1 = [0u8; 16];
        rng.fill_bytes(&mut k0);
        rng.fill_bytes(&mut k1);
        chosen.push(if (bits >> l) & 1 == 1 { k1 } else { k0 });
        pairs.push((k0, k1));
    }
    (pairs, chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        /// Any key, any values, any batch shape: q + t = Δ·x, also across tile boundaries.
        #[test]
        fn cope_is_correct_for_any_key_and_batches(seed: u64, sizes in proptest::collection::vec(1usize..1500, 1..3)) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let delta = Fp::random(&mut rng);
            let (mut a, mut b) = pair_for_k(delta, &mut rng, K);
            for n in sizes {
                let x: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
                let mut u = Vec::new();
                let t = a.extend(&x, &mut u, None);
                proptest::prop_assert_eq!(u.len(), u_len(n));
                let q = b.extend(1, &u, n).unwrap();
                for v in 0..n {
                    proptest::prop_assert_eq!(q[v] + t[v], x[v] * delta);
                }
            }
        }
    }

    #[test]
    fn shares_add_up_to_the_product_with_the_key_for_every_digit_size() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        // Keys with extreme digits too: all zero, all ones, and p − 1.
        let keys = [
            Fp::random(&mut rng),
            Fp::ZERO,
            Fp::from_u64(u64::MAX),
            -Fp::ONE,
        ];
        for k in [1usize, 2, 4, 8] {
            for &delta in &keys {
                let (mut a, mut b) = pair_for_k(delta, &mut rng, k);
                for n in [1usize, 7, 1024, 2500] {
                    let x: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
                    let mut u = Vec::new();
                    let t = a.extend(&x, &mut u, None);
                    assert_eq!(u.len(), KAPPA / k * n * Fp::BYTES);
                    let q = b.extend(1, &u, n).unwrap();
                    for v in 0..n {
                        assert_eq!(q[v] + t[v], x[v] * delta, "k = {k}, n = {n}, value {v}");
                    }
                }
            }
        }
        let (_, mut b) = pair_for_k(keys[0], &mut rng, K);
        assert!(matches!(
            b.extend(1, &[0u8; 5], 1),
            Err(OfflineError::Malformed { peer: 1, .. })
        ));
    }

    /// An error in column l shifts q + t by 2^(k·l)·δ_l·e: nothing when the digit is 0 (the
    /// selective failure the authentication check turns into an abort with probability
    /// 1 − 2^−k), and a wrong MAC otherwise.
    #[test]
    fn a_column_error_shows_exactly_when_its_digit_is_not_zero() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        for digit0 in 0..1u64 << K {
            // Digit 0 of the key is `digit0`; column 3's digit is non-zero.
            let delta = Fp::from_u64(digit0 | (1 << (3 * K)));
            let (mut a, mut b) = pair_for_k(delta, &mut rng, K);
            let x: Vec<Fp> = (0..10).map(|_| Fp::random(&mut rng)).collect();
            for (col, digit) in [(0usize, digit0), (3, 1)] {
                let e = move |l: usize| if l == col { Fp::from_u64(5) } else { Fp::ZERO };
                let mut u = Vec::new();
                let t = a.extend(&x, &mut u, Some(&e));
                let q = b.extend(1, &u, 10).unwrap();
                let shift = Fp::pow2((K * col) as u32) * Fp::from_u64(digit) * Fp::from_u64(5);
                for v in 0..10 {
                    assert_eq!(
                        q[v] + t[v],
                        x[v] * delta + shift,
                        "digit {digit0}, column {col}"
                    );
                }
            }
        }
    }

    /// A tampered setup message (a level message B reads, a σ, the digest, or the length) is
    /// refused, so B never extends with leaves A did not commit to.
    #[test]
    fn a_tampered_setup_message_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let delta = Fp::random(&mut rng);
        let (pairs, chosen) = base_keys(delta, &mut rng);
        let honest = CopeSender::new(&pairs, 9).take_puncture();
        assert_eq!(honest.len(), PUNCTURE_BYTES);
        assert!(CopeReceiver::new(delta, &chosen, 9, &honest).is_some());
        // The level message of column 0 on the side off B's path (which B unpads and uses).
        let d0 = (delta.to_u128() & ((1 << K) - 1)) as usize;
        let off_path = 16 * (1 - ((d0 >> 1) & 1));
        let chunk = 32 * (K - 1) + 32;
        for at in [off_path, chunk - 1, honest.len() - 1] {
            let mut bad = honest.clone();
            bad[at] ^= 1;
            assert!(
                CopeReceiver::new(delta, &chosen, 9, &bad).is_none(),
                "byte {at}"
            );
        }
        assert!(CopeReceiver::new(delta, &chosen, 9, &honest[1..]).is_none());
        // Another instance: the proof's hashes differ.
        assert!(CopeReceiver::new(delta, &chosen, 10, &honest).is_none());
    }
}
