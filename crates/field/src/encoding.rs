//! The 16-byte wire encoding and its errors.
//!
//! An element is sent as its Montgomery form `x·2^128 mod p`, as a 128-bit
//! little-endian integer. This is the layout MP-SPDZ and Carbyne Stack use
//! for `gfp` with a 128-bit prime, and it makes encoding and decoding a plain
//! copy plus (on decode) a range check: only values `< p` are accepted, so
//! every element has exactly one encoding.

use crate::fp::{Fp, MODULUS};

/// Errors from decoding field elements.
///
/// The messages never include the offending values (they may be secret
/// shares), only positions and lengths.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// A 16-byte group encodes an integer `≥ p`, which is not the canonical
    /// Montgomery form of any element.
    #[error(
        "field element {index} is not canonically encoded: its 16-byte little-endian \
         Montgomery value is >= p; the sender must reduce it mod p \
         (the data is corrupt or was produced for a different prime)"
    )]
    NonCanonical {
        /// Index of the first bad element (0 for a single element).
        index: usize,
    },
    /// The byte length is not a multiple of [`Fp::BYTES`].
    #[error(
        "field element encoding has {len} bytes, which is not a multiple of 16; \
         each element takes exactly 16 bytes, so the data was truncated or framed wrongly"
    )]
    BadLength {
        /// The length received.
        len: usize,
    },
    /// The byte length encodes a different number of elements than the
    /// destination holds.
    #[error(
        "field element encoding holds {actual} elements but {expected} were expected; \
         pass a buffer of exactly 16 bytes per destination element"
    )]
    CountMismatch {
        /// Number of elements the destination holds.
        expected: usize,
        /// Number of elements in the bytes (`len / 16`).
        actual: usize,
    },
}

impl Fp {
    /// The wire encoding: the Montgomery form `x·R mod p`, 16 bytes,
    /// little-endian.
    #[inline]
    pub const fn to_mont_bytes(self) -> [u8; 16] {
        self.raw().to_le_bytes()
    }

    /// Decodes [`Fp::to_mont_bytes`]; rejects values `≥ p` with
    /// [`FieldError::NonCanonical`].
    #[inline]
    pub const fn from_mont_bytes(b: &[u8; 16]) -> Result<Fp, FieldError> {
        let x = u128::from_le_bytes(*b);
        if x < MODULUS {
            Ok(Fp::from_raw(x))
        } else {
            Err(FieldError::NonCanonical { index: 0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_encodes_as_r_mod_p() {
        let r: u128 = 141515903391459779531506841503331516415;
        assert_eq!(Fp::ONE.to_mont_bytes(), r.to_le_bytes());
    }
}
