//! Correlated oblivious product evaluation with the MAC key (MASCOT's Π_COPE, Section 4 of the
//! paper): for an ordered pair (A holding values x, B holding its MAC key share Δ = α_B), A ends
//! with `t` and B with `q` such that `q + t = x·Δ`, while neither learns the other's input.
//!
//! **Initialize** (once): κ = 128 base OTs in which B is the receiver with the bits Δ_l of Δ's
//! canonical value (so `Δ = Σ_l 2^l·Δ_l`) and A holds both seeds `(k⁰_l, k¹_l)`.
//!
//! **Extend** (per batch of values x_v): for every column l, A draws `t⁰_{l,v} = F(k⁰_l)` and
//! `t¹_{l,v} = F(k¹_l)` (uniform field elements from the PRG streams) and sends
//! `u_{l,v} = t⁰_{l,v} − t¹_{l,v} + x_v`. B, who can expand only `k^{Δ_l}_l`, computes
//! `q_{l,v} = t^{Δ_l}_{l,v} + Δ_l·u_{l,v} = t⁰_{l,v} + Δ_l·x_v`. Recombining with the gadget
//! vector `(2^l)`:
//!
//! ```text
//!   q_v = Σ_l 2^l·q_{l,v} = Σ_l 2^l·t⁰_{l,v} + Δ·x_v,     t_v = −Σ_l 2^l·t⁰_{l,v}.
//! ```
//!
//! `u` hides x because `t^{1−Δ_l}` is pseudorandom to B. A corrupt A may use a different x in
//! each column (an "error"); then `q + t` is not `x·Δ` for any single x, and the authentication
//! check of [`crate::auth`] catches it except with the probability of guessing the affected
//! bits of Δ (MASCOT, Lemma on Π_[[·]]). Both sums are computed by Horner's rule from the top
//! column down, vectorised over the batch.

use field::{kernels, Fp};
use net::PartyId;

use crate::baseot::Key;
use crate::error::{OfflineError, Result};
use crate::prg::{select, Prg};

/// Columns per value (κ = bits of a MAC key share).
pub(crate) const COLUMNS: usize = 128;

/// Values per tile: both ends walk the values in tiles of this size, all 128 columns per tile,
/// so that a tile's working set stays in cache and the PRG streams are drawn in the same
/// amounts on both sides ([`Prg::fill_field`] consumes whole chunks per call).
const TILE: usize = 1024;

/// Bytes A sends for `n` values: per tile of [`TILE`] values (the last one shorter), the
/// columns from l = 127 down to 0, each with the tile's values.
pub(crate) fn u_len(n: usize) -> usize {
    COLUMNS * n * Fp::BYTES
}

/// A: the party whose values get MACs under the peer's key.
pub(crate) struct CopeSender {
    prg0: Vec<Prg>,
    prg1: Vec<Prg>,
}

/// B: the party with the MAC key share Δ.
pub(crate) struct CopeReceiver {
    delta_bits: u128,
    prg: Vec<Prg>,
}

impl CopeSender {
    pub fn new(keys: &[(Key, Key)]) -> CopeSender {
        debug_assert_eq!(keys.len(), COLUMNS);
        CopeSender {
            prg0: keys.iter().map(|(k0, _)| Prg::new(k0)).collect(),
            prg1: keys.iter().map(|(_, k1)| Prg::new(k1)).collect(),
        }
    }

    /// Appends `u` for the values `x` to `out` and returns this party's shares `t_v`.
    /// `column_error`, for tests, adds `e(l)` to x in column l (an inconsistent correlation).
    pub fn extend(
        &mut self,
        x: &[Fp],
        out: &mut Vec<u8>,
        column_error: Option<&dyn Fn(usize) -> Fp>,
    ) -> Vec<Fp> {
        let n = x.len();
        let mut off = out.len();
        out.resize(off + u_len(n), 0);
        let mut acc = vec![Fp::ZERO; n];
        let mut t0 = vec![Fp::ZERO; TILE.min(n)];
        let mut t1 = vec![Fp::ZERO; TILE.min(n)];
        for v0 in (0..n).step_by(TILE) {
            let k = TILE.min(n - v0);
            let (t0, t1) = (&mut t0[..k], &mut t1[..k]);
            let (xs, acc) = (&x[v0..v0 + k], &mut acc[v0..v0 + k]);
            for l in (0..COLUMNS).rev() {
                self.prg0[l].fill_field(t0);
                self.prg1[l].fill_field(t1);
                let e = column_error.map(|f| f(l)).unwrap_or(Fp::ZERO);
                let dst = &mut out[off..off + k * Fp::BYTES];
                off += k * Fp::BYTES;
                for (((&a1, &a0), &xv), d) in t1
                    .iter()
                    .zip(t0.iter())
                    .zip(xs)
                    .zip(dst.chunks_exact_mut(Fp::BYTES))
                {
                    d.copy_from_slice(&(a0 - a1 + xv + e).to_mont_bytes());
                }
                for (a, &a0) in acc.iter_mut().zip(t0.iter()) {
                    *a = a.double() + a0;
                }
            }
        }
        acc.iter_mut().for_each(|a| *a = -*a);
        acc
    }
}

impl CopeReceiver {
    /// `delta` is this party's MAC key share; the keys come from base OTs with its bits as choices.
    pub fn new(delta: Fp, keys: &[Key]) -> CopeReceiver {
        debug_assert_eq!(keys.len(), COLUMNS);
        CopeReceiver {
            delta_bits: delta.to_u128(),
            prg: keys.iter().map(Prg::new).collect(),
        }
    }

    /// Reads `n` values' worth of `u` from `peer` and returns this party's shares `q_v`.
    pub fn extend(&mut self, peer: PartyId, u: &[u8], n: usize) -> Result<Vec<Fp>> {
        if u.len() != u_len(n) {
            return Err(OfflineError::Malformed {
                peer,
                reason: "COPE message of the wrong length".into(),
            });
        }
        let mut acc = vec![Fp::ZERO; n];
        let mut t = vec![Fp::ZERO; TILE.min(n)];
        let mut uv = vec![Fp::ZERO; TILE.min(n)];
        // Offsets stay within `u`: its length is 128·n·16 and the tiles cover n values.
        let mut off = 0;
        for v0 in (0..n).step_by(TILE) {
            let k = TILE.min(n - v0);
            let (t, uv, acc) = (&mut t[..k], &mut uv[..k], &mut acc[v0..v0 + k]);
            for l in (0..COLUMNS).rev() {
                self.prg[l].fill_field(t);
                let bytes = &u[off..off + k * Fp::BYTES];
                off += k * Fp::BYTES;
                kernels::decode_into(bytes, uv).map_err(|e| OfflineError::Malformed {
                    peer,
                    reason: e.to_string(),
                })?;
                let bit = (self.delta_bits >> l) & 1 == 1;
                for ((a, &tv), &w) in acc.iter_mut().zip(t.iter()).zip(uv.iter()) {
                    *a = a.double() + tv + select(bit, w);
                }
            }
        }
        Ok(acc)
    }
}

/// A sender and a receiver of COPE with key `delta`, as the base OTs would set them up: random
/// seed pairs, the receiver holding the seed chosen by each bit of `delta` (tests and
/// micro-benchmarks, without the OTs).
#[cfg(test)]
pub(crate) fn pair_for(delta: Fp, rng: &mut impl rand_core::RngCore) -> (CopeSender, CopeReceiver) {
    let bits = delta.to_u128();
    let mut pairs = Vec::new();
    let mut chosen = Vec::new();
    for l in 0..COLUMNS {
        let mut k0 = [0u8; 16];
        let mut k1 = [0u8; 16];
        rng.fill_bytes(&mut k0);
        rng.fill_bytes(&mut k1);
        chosen.push(if (bits >> l) & 1 == 1 { k1 } else { k0 });
        pairs.push((k0, k1));
    }
    (CopeSender::new(&pairs), CopeReceiver::new(delta, &chosen))
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
            let (mut a, mut b) = pair_for(delta, &mut rng);
            for n in sizes {
                let x: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
                let mut u = Vec::new();
                let t = a.extend(&x, &mut u, None);
                let q = b.extend(1, &u, n).unwrap();
                for v in 0..n {
                    proptest::prop_assert_eq!(q[v] + t[v], x[v] * delta);
                }
            }
        }
    }

    #[test]
    fn shares_add_up_to_the_product_with_the_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let delta = Fp::random(&mut rng);
        let (mut a, mut b) = pair_for(delta, &mut rng);
        for n in [1usize, 7, 33, 1024, 2500] {
            let x: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
            let mut u = Vec::new();
            let t = a.extend(&x, &mut u, None);
            let q = b.extend(1, &u, n).unwrap();
            for v in 0..n {
                assert_eq!(q[v] + t[v], x[v] * delta);
            }
        }
        assert!(b.extend(1, &[0u8; 5], 1).is_err());
    }
}
