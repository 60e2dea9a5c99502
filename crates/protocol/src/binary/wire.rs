//! The wire form of a binary opening: ⌈len/8⌉ bytes, bit j of the vector at bit j % 8 of byte
//! j / 8 (the little-endian bytes of the packed words, cut to length). Padding bits must be zero,
//! so every bit vector has exactly one encoding; anything else from a peer is a typed
//! [`ProtocolError::Malformed`], never a panic.

use net::PartyId;

use crate::error::{ProtocolError, Result};

use super::bits::words_for;

/// Encodes the first `len` bits of packed words (padding zero by the `BitShares` invariant).
pub(crate) fn encode_bits(words: &[u64], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.div_ceil(8));
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.truncate(len.div_ceil(8));
    out
}

/// XORs a peer's encoded `len` bits into `acc` (packed words), refusing wrong lengths and
/// non-zero padding.
pub(crate) fn xor_decoded(peer: PartyId, frame: &[u8], len: usize, acc: &mut [u64]) -> Result<()> {
    let nbytes = len.div_ceil(8);
    if frame.len() != nbytes {
        return Err(ProtocolError::Malformed {
            peer,
            reason: format!(
                "expected {len} bits in {nbytes} bytes, got {} bytes",
                frame.len()
            ),
        });
    }
    debug_assert_eq!(acc.len(), words_for(len));
    for (w, chunk) in acc.iter_mut().zip(frame.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *w ^= u64::from_le_bytes(b);
    }
    if !len.is_multiple_of(64) {
        let last = acc.last().copied().unwrap_or(0);
        if last >> (len % 64) != 0 {
            return Err(ProtocolError::Malformed {
                peer,
                reason: format!("non-zero padding after {len} bits"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_refuses_bad_frames() {
        let words = vec![0xdead_beef_0123_4567u64, 0b101];
        let bytes = encode_bits(&words, 67);
        assert_eq!(bytes.len(), 9);
        let mut acc = vec![0u64; 2];
        xor_decoded(1, &bytes, 67, &mut acc).unwrap();
        assert_eq!(acc, words);
        let mut acc = vec![0u64; 2];
        assert!(matches!(
            xor_decoded(1, &bytes[..8], 67, &mut acc),
            Err(ProtocolError::Malformed { peer: 1, .. })
        ));
        let mut bad = bytes.clone();
        bad[8] |= 0x10; // bit 68: padding
        let mut acc = vec![0u64; 2];
        assert!(matches!(
            xor_decoded(2, &bad, 67, &mut acc),
            Err(ProtocolError::Malformed { peer: 2, reason }) if reason.contains("padding")
        ));
    }
}
