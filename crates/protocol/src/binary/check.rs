//! The binary half of the MAC check, over GF(2^128).
//!
//! Over the pending opened bits x_1..x_t with this party's MAC shares m_{i,j}, and coefficients
//! χ_1..χ_t uniform in GF(2^128) drawn from the joint seed of the check, party i computes
//!
//! σ_i^(2) = Σ_j χ_j·m_{i,j} + Δ_i·(Σ_j χ_j·x_j)
//!
//! (in characteristic 2, minus is plus; Σ_j χ_j·x_j is the XOR of the χ_j with x_j = 1). Honest
//! shares give ⊕_i σ_i^(2) = Σ_j χ_j·(m_j + x_j·Δ) = 0. The engine commits to (σ_i, σ_i^(2))
//! together and checks both sums (docs/PROTOCOL.md, "Binary MAC check").
//!
//! *Soundness.* If the adversary flips opened bits by δ ≠ 0 and shifts MAC shares by ε, the sum
//! is Σ_j χ_j·(δ_j·Δ + ε_j) + (its committed offset). Since χ is fixed only after every opening
//! and every share, and δ_j·Δ + ε_j ≠ 0 for some j unless the adversary guessed Δ (probability
//! 2^−128, one Δ_i is honest), Schwartz–Zippel bounds the probability that the non-zero linear
//! form in χ takes the committed value by 2^−128: about 2^−127 per check in all.

use field::{gf2_128, Gf128};

use crate::error::{ProtocolError, Result};
use crate::prep::{PrepError, TupleKind};

use super::bits::{get_bit, BitShares};

/// Domain separation of the binary coefficient stream (BLAKE3 keyed by the joint seed).
const BINARY_COEFFICIENT_CONTEXT: &[u8] = b"ephemeral protocol: binary MAC-check coefficients v1";

/// `n` coefficients uniform in GF(2^128) from a joint seed: the BLAKE3 XOF keyed by `seed` over
/// a fixed context, read in 16-byte little-endian words (every word is an element, so no
/// rejection). The same seed gives the same coefficients at every party. [`sigma`] streams the
/// same coefficients; this collected form is the reference its tests compare against.
#[cfg(test)]
pub(crate) fn coefficients(seed: [u8; 32], n: usize) -> Vec<Gf128> {
    const CHUNK: usize = 4096;
    let mut hasher = blake3::Hasher::new_keyed(&seed);
    hasher.update(BINARY_COEFFICIENT_CONTEXT);
    let mut xof = hasher.finalize_xof();
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; CHUNK];
    while out.len() < n {
        xof.fill(&mut buf);
        for w in buf.chunks_exact(16) {
            out.push(Gf128::from_le_bytes(w.try_into().expect("16-byte chunk")));
            if out.len() == n {
                break;
            }
        }
    }
    out
}

/// Coefficients per block of [`sigma`]: one 4 KiB read of the XOF.
const BLOCK: usize = 256;

/// This party's σ^(2) over `pending`, the opened bit vectors in the order they were opened (as
/// values, with this party's own MAC shares as MACs): bit j of their concatenation takes the
/// coefficient j of [`coefficients`]. Zero when nothing binary is pending; an error if bits are
/// pending but the engine has no binary key.
///
/// The coefficients are streamed from the XOF block by block (never all in memory), and
/// Σ_j χ_j·m_{i,j} is a lazily reduced inner product per block (`field::gf2_128::inner_product`).
pub(crate) fn sigma(seed: [u8; 32], pending: &[BitShares], delta: Option<Gf128>) -> Result<Gf128> {
    if pending.iter().all(|p| p.is_empty()) {
        return Ok(Gf128::ZERO);
    }
    let delta = delta.ok_or(ProtocolError::Prep(PrepError::Unsupported(
        TupleKind::BinaryKey,
    )))?;
    let mut hasher = blake3::Hasher::new_keyed(&seed);
    hasher.update(BINARY_COEFFICIENT_CONTEXT);
    let mut xof = hasher.finalize_xof();
    let mut bytes = [0u8; BLOCK * 16];
    let mut chi = [Gf128::ZERO; BLOCK];
    let mut gamma = Gf128::ZERO;
    let mut opened = Gf128::ZERO;
    for part in pending {
        let mut at = 0;
        while at < part.len() {
            let k = (part.len() - at).min(BLOCK);
            xof.fill(&mut bytes[..k * 16]);
            for (c, w) in chi[..k].iter_mut().zip(bytes.chunks_exact(16)) {
                *c = Gf128::from_le_bytes(w.try_into().expect("16-byte chunk"));
            }
            gamma += gf2_128::inner_product(&chi[..k], &part.m[at..at + k]);
            for (j, &c) in chi[..k].iter().enumerate() {
                opened += c.select(get_bit(&part.v, at + j));
            }
            at += k;
        }
    }
    Ok(gamma + delta * opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_coefficients_are_deterministic_distinct_and_separated_from_the_prime_ones() {
        let a = coefficients([5; 32], 300);
        assert_eq!(a, coefficients([5; 32], 300));
        assert_eq!(coefficients([5; 32], 7), a[..7]);
        let b = coefficients([6; 32], 300);
        assert!(a.iter().zip(&b).all(|(x, y)| x != y));
        let mut sorted: Vec<u128> = a.iter().map(|x| x.0).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 300);
    }

    #[test]
    fn sigma_needs_a_key_only_when_bits_are_pending() {
        assert_eq!(
            sigma([0; 32], &[BitShares::zeros(0)], None),
            Ok(Gf128::ZERO)
        );
        assert!(matches!(
            sigma([0; 32], &[BitShares::zeros(3)], None),
            Err(ProtocolError::Prep(PrepError::Unsupported(
                TupleKind::BinaryKey
            )))
        ));
    }

    #[test]
    fn streamed_sigma_equals_the_sum_over_all_coefficients() {
        // Parts of awkward lengths: the coefficient stream runs on across parts and blocks.
        let lens = [1usize, 255, 256, 257, 64, 700];
        let mut parts = Vec::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for &len in &lens {
            let bits = (0..len).map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                state >> 63 == 1
            });
            let v = super::super::bits::pack_bits(bits);
            let m = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    Gf128(((state as u128) << 64) ^ state.rotate_left(17) as u128)
                })
                .collect();
            parts.push(BitShares::from_parts(len, v, m).unwrap());
        }
        let all = BitShares::concat(&parts.iter().collect::<Vec<_>>());
        let chi = coefficients([9; 32], all.len());
        let delta = Gf128(0xfeed_beef_u128 << 70 | 12345);
        let mut want = Gf128::ZERO;
        for (j, &c) in chi.iter().enumerate() {
            want += c * all.m[j] + delta * c.select(all.value_bit(j));
        }
        assert_eq!(sigma([9; 32], &parts, Some(delta)), Ok(want));
        assert_eq!(sigma([9; 32], &[all], Some(delta)), Ok(want));
    }
}
