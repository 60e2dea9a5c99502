//! The batched MAC check of the binary domain: SPDZ's MACCheck over GF(2^128) under the global
//! key Δ = ⊕ Δ_i, with the authentication check and the sacrifice's zero check folded in, as in
//! [`crate::mac_check`] for the prime field.
//!
//! Three lists of pending items, each with this party's MAC shares:
//! - **authentication**: values `y ∈ GF(2^128)` opened by the authentication check of a batch
//!   (random combinations of every bit authenticated in it, see [`super`]);
//! - **openings**: bits opened by XORing everybody's shares (the sacrifice's `a ⊕ a'`, `b ⊕ b'`,
//!   the combine step's `b ⊕ b'`, the opened triples);
//! - **zeros**: bits that must be zero and are never opened (the sacrifice's
//!   `c ⊕ c' ⊕ d·b' ⊕ e·a' ⊕ d·e`).
//!
//! With coefficients `r_k ∈ GF(2^128)` from a coin opened after every item was fixed, party i
//! computes per list `σ_i = Σ_k r_k·m_i(x_k) ⊕ (Σ_k r_k·x_k)·Δ_i` (x_k = 0 for zeros). Round 1:
//! every party broadcasts a commitment to its three σ's and the digest of its broadcast
//! transcript of the batch; differing digests are [`OfflineError::BroadcastInconsistent`].
//! Round 2: every party opens; each list must XOR to zero, else
//! [`OfflineError::AuthenticationFailed`], [`OfflineError::MacCheckFailed`] or
//! [`OfflineError::SacrificeFailed`] (in that order of precedence).
//!
//! *Soundness.* A change δ_k to an item (its opened value, or a MAC share) adds
//! `Σ_k r_k·δ_k·Δ_h`-type terms with an honest key share Δ_h to the honest σ's: passing needs
//! `Σ_k r_k δ_k = 0` for δ ≠ 0 (probability 2^−128 over the r_k, fixed before them) or guessing
//! a product with Δ_h (2^−128, or 2^−(128−c) after a KOS selective failure that revealed c bits
//! of Δ_h with probability 2^−c). Commitments stop a rushing party from choosing its σ after
//! seeing the others'.

use field::Gf128;
use net::Network;
use rand_core::RngCore;

use super::hash::{coefficients, inner_product, random_combination};
use crate::coins::{self, derive};
use crate::error::{OfflineError, Result};
use crate::wire::{kind, Out, Reader, Transcript};

/// Items awaiting the check.
#[derive(Default)]
pub(crate) struct Pending {
    auth_values: Vec<u128>,
    auth_macs: Vec<Gf128>,
    /// Opened bits, packed, with their count.
    open_bits: Vec<u64>,
    open_len: usize,
    open_macs: Vec<Gf128>,
    zero_macs: Vec<Gf128>,
}

impl Pending {
    pub fn auth(&mut self, value: u128, mac: Gf128) {
        self.auth_values.push(value);
        self.auth_macs.push(mac);
    }

    /// Opened bits `bits` (packed, `macs.len()` of them) with this party's MAC shares.
    pub fn open(&mut self, bits: &[u64], macs: &[Gf128]) {
        if self.open_len.is_multiple_of(64) {
            // Word-aligned: append the words (their unused high bits are zero).
            self.open_bits
                .extend_from_slice(&bits[..macs.len().div_ceil(64)]);
            self.open_len += macs.len();
            self.open_macs.extend_from_slice(macs);
            return;
        }
        for (j, mac) in macs.iter().enumerate() {
            let b = (bits[j / 64] >> (j % 64)) & 1;
            if self.open_len.is_multiple_of(64) {
                self.open_bits.push(0);
            }
            *self.open_bits.last_mut().expect("pushed above") |= b << (self.open_len % 64);
            self.open_len += 1;
            self.open_macs.push(*mac);
        }
    }

    pub fn zero(&mut self, macs: &[Gf128]) {
        self.zero_macs.extend_from_slice(macs);
    }
}

/// Test-only deviation: XOR this into σ of the openings list.
pub(crate) type SigmaLie = Option<u128>;

/// Runs the two rounds of the check over `pending` with the joint coin `seed`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check<R: RngCore>(
    net: &mut Network,
    session: &[u8; 32],
    transcript: &mut Transcript,
    delta: Gf128,
    pending: &Pending,
    seed: &[u8; 32],
    rng: &mut R,
    lie: SigmaLie,
) -> Result<()> {
    let me = net.my_id();
    let s_auth = {
        let r = coefficients(
            &derive(seed, "binary/mac/auth", 0),
            pending.auth_values.len(),
        );
        let v: Vec<Gf128> = pending.auth_values.iter().map(|&y| Gf128(y)).collect();
        inner_product(&r, &pending.auth_macs) + inner_product(&r, &v).mul(delta)
    };
    let s_open = {
        let (m, v) = random_combination(
            &derive(seed, "binary/mac/open", 0),
            &pending.open_macs,
            Some(&pending.open_bits),
        );
        m + Gf128(v).mul(delta) + Gf128(lie.unwrap_or(0))
    };
    let s_zero = random_combination(
        &derive(seed, "binary/mac/zero", 0),
        &pending.zero_macs,
        None,
    )
    .0;
    let mut msg = Vec::with_capacity(48);
    for s in [s_auth, s_open, s_zero] {
        msg.extend_from_slice(&s.to_le_bytes());
    }
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);

    // Round 1: commitment and transcript digest.
    let digest = transcript.digest();
    let mut bcast = Vec::with_capacity(64);
    bcast.extend_from_slice(&coins::commit(session, me, &salt, &msg));
    bcast.extend_from_slice(&digest);
    let ins = Out::new(net, kind::MAC_COMMIT, bcast).exchange(net, transcript)?;
    let mut commitments = Vec::with_capacity(ins.len());
    for input in &ins {
        input.done()?;
        let mut r = input.bcast(64)?;
        commitments.push(r.arr32()?);
        if r.arr32()? != digest {
            return Err(OfflineError::BroadcastInconsistent { party: input.peer });
        }
    }

    // Round 2: open.
    let mut bcast = msg;
    bcast.extend_from_slice(&salt);
    let ins = Out::new(net, kind::MAC_OPEN, bcast).exchange(net, transcript)?;
    let mut sums = [Gf128::ZERO; 3];
    for input in &ins {
        input.done()?;
        let p = input.peer;
        let mut r = input.bcast(80)?;
        let body = r.take(48)?.to_vec();
        let salt = r.arr32()?;
        if !coins::verify(&commitments[p], session, p, &salt, &body) {
            return Err(OfflineError::CommitmentMismatch { party: p });
        }
        let mut br = Reader::new(p, &body);
        for s in sums.iter_mut() {
            *s += gf(&mut br)?;
        }
    }
    if sums[0] != Gf128::ZERO {
        return Err(OfflineError::AuthenticationFailed);
    }
    if sums[1] != Gf128::ZERO {
        return Err(OfflineError::MacCheckFailed);
    }
    if sums[2] != Gf128::ZERO {
        return Err(OfflineError::SacrificeFailed);
    }
    Ok(())
}

/// The next GF(2^128) element (16 little-endian bytes; every string is an element).
pub(crate) fn gf(r: &mut Reader<'_>) -> Result<Gf128> {
    let mut a = [0u8; 16];
    a.copy_from_slice(r.take(16)?);
    Ok(Gf128::from_le_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openings_are_packed_in_order_whatever_the_lengths() {
        let vecs: Vec<Vec<bool>> = [64usize, 70, 5, 64, 130]
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (j * 7 + i) % 3 == 0).collect())
            .collect();
        let mut p = Pending::default();
        let mut all = Vec::new();
        for v in &vecs {
            let mut words = vec![0u64; v.len().div_ceil(64)];
            for (j, &b) in v.iter().enumerate() {
                words[j / 64] |= (b as u64) << (j % 64);
            }
            let macs: Vec<Gf128> = (0..v.len()).map(|j| Gf128(j as u128)).collect();
            p.open(&words, &macs);
            all.extend_from_slice(v);
        }
        assert_eq!(p.open_len, all.len());
        assert_eq!(p.open_macs.len(), all.len());
        for (j, &b) in all.iter().enumerate() {
            assert_eq!((p.open_bits[j / 64] >> (j % 64)) & 1 == 1, b, "bit {j}");
        }
        assert_eq!(p.open_bits.len(), all.len().div_ceil(64));
    }
}
