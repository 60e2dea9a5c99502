//! Hash commitments and committed coin tossing.
//!
//! A commitment of party `i` to `msg` in session `sid` is `BLAKE3(domain ‖ sid ‖ i ‖ salt ‖ msg)`
//! with a fresh uniform 32-byte salt: hiding because the salt is unknown to the receivers, binding
//! because a second opening is a BLAKE3 collision; the party id stops one party from replaying
//! another's commitment, and the session id ([`crate::MascotConfig::session`]) one from replaying
//! a commitment or opening of another session (another job) in this one.
//!
//! A *coin* is a joint random seed: every party commits to a uniform 32-byte share, and later
//! opens it; the seed is `BLAKE3(domain ‖ sid ‖ label ‖ index ‖ share_0 ‖ … ‖ share_{N−1})`. It is uniform
//! as long as one share is, because every share was fixed (committed) before any honest share
//! was revealed. A batch commits to all its coins in its first round and opens each one only in
//! the round after the values it protects are fixed (see the crate docs for the schedule), so a
//! cheater's deviations are independent of the challenges that catch them.

use net::PartyId;
use rand_core::RngCore;

use crate::error::{OfflineError, Result};
use crate::wire::{In, Reader};

/// A 32-byte commitment.
pub(crate) type Commitment = [u8; 32];

/// Commitment of `party` to `msg` under `salt` in session `session`.
pub(crate) fn commit(
    session: &[u8; 32],
    party: PartyId,
    salt: &[u8; 32],
    msg: &[u8],
) -> Commitment {
    let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/commit/v2");
    h.update(session);
    h.update(&(party as u64).to_le_bytes());
    h.update(salt);
    h.update(msg);
    *h.finalize().as_bytes()
}

/// Whether (`salt`, `msg`) opens `c` for `party` in `session`. Commitments are public, so the
/// comparison needs no constant time.
pub(crate) fn verify(
    c: &Commitment,
    session: &[u8; 32],
    party: PartyId,
    salt: &[u8; 32],
    msg: &[u8],
) -> bool {
    commit(session, party, salt, msg) == *c
}

/// Bytes of one coin opening on the wire: share then salt.
pub(crate) const OPENING_BYTES: usize = 64;

/// `k` coins of one batch: this party's shares and everybody's commitments.
pub(crate) struct Coins {
    session: [u8; 32],
    me: PartyId,
    label: &'static str,
    shares: Vec<([u8; 32], [u8; 32])>,
    commitments: Vec<Vec<Commitment>>,
}

impl Coins {
    /// Fresh shares for `k` coins.
    pub fn new<R: RngCore>(
        session: [u8; 32],
        me: PartyId,
        n: usize,
        k: usize,
        label: &'static str,
        rng: &mut R,
    ) -> Coins {
        let shares = (0..k)
            .map(|_| {
                let mut s = [0u8; 32];
                let mut salt = [0u8; 32];
                rng.fill_bytes(&mut s);
                rng.fill_bytes(&mut salt);
                (s, salt)
            })
            .collect();
        Coins {
            session,
            me,
            label,
            shares,
            commitments: vec![vec![[0u8; 32]; k]; n],
        }
    }

    /// Bytes of all commitments on the wire.
    pub fn commitments_len(&self) -> usize {
        32 * self.shares.len()
    }

    /// This party's commitments, to broadcast.
    pub fn commitments(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.commitments_len());
        for (s, salt) in &self.shares {
            out.extend_from_slice(&commit(&self.session, self.me, salt, s));
        }
        out
    }

    /// Records the commitments of the party behind `r` (including this party's own).
    pub fn read_commitments(&mut self, party: PartyId, r: &mut Reader<'_>) -> Result<()> {
        for i in 0..self.shares.len() {
            self.commitments[party][i] = r.arr32()?;
        }
        Ok(())
    }

    /// The opening of coin `i`, to broadcast.
    pub fn opening(&self, i: usize) -> Vec<u8> {
        let (s, salt) = &self.shares[i];
        let mut out = Vec::with_capacity(OPENING_BYTES);
        out.extend_from_slice(s);
        out.extend_from_slice(salt);
        out
    }

    /// Checks every party's opening of coin `i` (each frame's broadcast part is exactly the
    /// opening) and returns the joint seed.
    pub fn finish(&self, i: usize, ins: &[In]) -> Result<[u8; 32]> {
        self.finish_after(i, ins, 0)
    }

    /// [`Coins::finish`] for frames whose broadcast part is `prefix` bytes of something else
    /// followed by the opening.
    pub fn finish_after(&self, i: usize, ins: &[In], prefix: usize) -> Result<[u8; 32]> {
        let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/coin/v2");
        h.update(&self.session);
        h.update(&(self.label.len() as u64).to_le_bytes());
        h.update(self.label.as_bytes());
        h.update(&(i as u64).to_le_bytes());
        for input in ins {
            let p = input.peer;
            input.done()?;
            let mut r = input.bcast(prefix + OPENING_BYTES)?;
            r.take(prefix)?;
            let share = r.arr32()?;
            let salt = r.arr32()?;
            if !verify(&self.commitments[p][i], &self.session, p, &salt, &share) {
                return Err(OfflineError::CommitmentMismatch { party: p });
            }
            h.update(&share);
        }
        Ok(*h.finalize().as_bytes())
    }
}

/// Derives a 32-byte sub-seed for one purpose from a joint seed.
pub(crate) fn derive(seed: &[u8; 32], purpose: &str, index: u64) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(seed);
    h.update(purpose.as_bytes());
    h.update(&index.to_le_bytes());
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_binds_session_party_salt_and_message() {
        let salt = [7u8; 32];
        let sid = [1u8; 32];
        let c = commit(&sid, 1, &salt, b"coin");
        assert!(verify(&c, &sid, 1, &salt, b"coin"));
        assert!(!verify(&c, &[2u8; 32], 1, &salt, b"coin"));
        assert!(!verify(&c, &sid, 2, &salt, b"coin"));
        assert!(!verify(&c, &sid, 1, &[8u8; 32], b"coin"));
        assert!(!verify(&c, &sid, 1, &salt, b"coim"));
    }
}
