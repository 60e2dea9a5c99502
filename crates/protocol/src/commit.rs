//! Hash commitments and joint coin tossing.
//!
//! A commitment to a message `msg` by party `i` is `BLAKE3(domain ‖ i ‖ salt ‖ msg)` with a fresh
//! 32-byte random salt. It is hiding because the salt is uniform and unknown to the receivers, and
//! binding because finding a second opening is a BLAKE3 collision. Including the party id stops a
//! party from replaying another party's commitment as its own.

use net::PartyId;

/// A 32-byte commitment.
pub type Commitment = [u8; 32];

const DOMAIN: &[u8] = b"ephemeral/spdz/commit/v1";

/// Commitment of party `party` to `msg` under `salt`.
pub fn commit(party: PartyId, salt: &[u8; 32], msg: &[u8]) -> Commitment {
    let mut h = blake3::Hasher::new();
    h.update(DOMAIN);
    h.update(&(party as u64).to_le_bytes());
    h.update(salt);
    h.update(msg);
    *h.finalize().as_bytes()
}

/// Whether (`salt`, `msg`) opens `c` for `party`.
pub fn verify(c: &Commitment, party: PartyId, salt: &[u8; 32], msg: &[u8]) -> bool {
    // Commitments are public, so a non-constant-time comparison leaks nothing.
    commit(party, salt, msg) == *c
}

/// Joint seed from every party's opened coin share, in party order. It is uniform as long as one
/// party's share was uniform and committed before any other share was seen.
pub fn joint_seed(shares: &[[u8; 32]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"ephemeral/spdz/coins/v1");
    for s in shares {
        h.update(s);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_binds_party_salt_and_message() {
        let salt = [7u8; 32];
        let c = commit(1, &salt, b"sigma");
        assert!(verify(&c, 1, &salt, b"sigma"));
        assert!(!verify(&c, 2, &salt, b"sigma"));
        assert!(!verify(&c, 1, &[8u8; 32], b"sigma"));
        assert!(!verify(&c, 1, &salt, b"sigmb"));
    }
}
