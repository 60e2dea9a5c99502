//! AES-based symmetric primitives: the PRG that expands OT seeds, the hash of OT outputs into
//! the field, and uniform field elements from 256 random bits.
//!
//! # Uniform field elements
//!
//! OT outputs are bit strings; MASCOT needs them as uniform elements of GF(p).
//! `p ≈ 2^127.2`, so reducing 128 bits mod p is far from uniform (statistical distance ≈ 0.42).
//! Instead two blocks `(lo, hi)` give `T = lo + (hi mod 2^127)·2^128`, uniform on `[0, 2^255)`,
//! and the element is the Montgomery reduction `REDC(T) = T·2^−128 mod p`:
//! - `T mod p` is within statistical distance `p/2^255 < 2^−127` of uniform, and multiplying by the
//!   constant `2^−128` is a bijection of GF(p), so the element is as close to uniform;
//! - `REDC` of a value below `p·2^128` costs two word-level reduction steps and one conditional
//!   subtraction (`T < 2^255 < p·2^128` because `p > 2^127`), and runs in constant time;
//! - its result is below `p`, so it *is* the Montgomery form of an element (`Fp`'s wire form).
//!
//! # The PRG
//!
//! `G(k)` is AES-128 in counter mode under key `k`, counter from 0. Its field elements
//! ([`Prg::fill_field`]) are exactly uniform, by rejection sampling of single blocks. Both ends of an OT keep the
//! stream of each seed and draw the same amounts in the same order, so their streams stay aligned
//! for the whole life of a [`crate::Mascot`] instance (no seed is ever re-expanded from 0).
//!
//! # Hashing OT outputs (tweakable correlation robustness)
//!
//! KOS15 outputs `H(j, q_j)` and `H(j, q_j ⊕ Δ)`; the hash must stay pseudorandom on inputs with
//! the correlation Δ that a malicious receiver may partly learn, i.e. be *tweakable circular
//! correlation robust* (Guo–Katz–Wang–Yu, ePrint 2019/074). Their fixed-key construction
//! `TMMO(x, i) = π(π(x) ⊕ i) ⊕ π(x)` (π = AES under a public key) is TCCR for unique tweaks.
//! The field hash is `H(j, x) = REDC(TMMO(x, 2j) ‖ TMMO(x, 2j+1))`: three AES calls, since `π(x)`
//! is shared. Tweaks carry the OT's global index and the id of its extension instance, so no
//! tweak repeats under one Δ.

use cryprot_core::Block;

use crate::block_cipher::Aes128;
use field::{Fp, MODULUS};

/// Rows hashed per batch of AES calls (amortises the cipher's dispatch; a multiple of its
/// 8-block parallelism).
const PAR: usize = 32;

/// The element whose Montgomery form is `raw < p`.
#[inline(always)]
pub(crate) fn fp_from_raw(raw: u128) -> Fp {
    Fp::from_mont_bytes(&raw.to_le_bytes()).expect("reduced by construction")
}

/// A near-uniform element from 256 uniform bits (see the module docs).
#[inline(always)]
pub(crate) fn fp_from_wide(lo: u128, hi: u128) -> Fp {
    Fp::from_wide_montgomery(lo, hi)
}

/// `x` if `bit`, else 0, without a branch on `bit`.
#[inline(always)]
pub(crate) fn select(bit: bool, x: Fp) -> Fp {
    let mask = (bit as u128).wrapping_neg();
    fp_from_raw(u128::from_le_bytes(x.to_mont_bytes()) & mask)
}

/// The gadget vector `(2^0, 2^1, …, 2^127)` that recombines bit decompositions.
pub(crate) fn powers_of_two() -> &'static [Fp; 128] {
    static POW2: std::sync::OnceLock<[Fp; 128]> = std::sync::OnceLock::new();
    POW2.get_or_init(|| {
        let mut p = [Fp::ONE; 128];
        for l in 1..128 {
            p[l] = p[l - 1].double();
        }
        p
    })
}

/// The 128-bit binary expansion of `x`'s canonical value, least significant bit first in the
/// little-endian bytes (the OT choice bits of `x`).
#[inline]
pub(crate) fn bits_of(x: Fp) -> [u8; 16] {
    x.to_u128().to_le_bytes()
}

fn aes_key(key: &[u8; 16]) -> Aes128 {
    Aes128::new(key)
}

/// `G(k)`: AES-128 in counter mode; see the module docs.
pub(crate) struct Prg {
    aes: Aes128,
    ctr: u128,
}

impl Prg {
    /// The stream of key `key`, from counter 0.
    pub fn new(key: &[u8; 16]) -> Prg {
        Prg {
            aes: aes_key(key),
            ctr: 0,
        }
    }

    /// The stream of the first 16 bytes of a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Prg {
        let mut k = [0u8; 16];
        k.copy_from_slice(&seed[..16]);
        Prg::new(&k)
    }

    /// The next `out.len()` blocks of the stream.
    pub fn fill_blocks(&mut self, out: &mut [[u8; 16]]) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.ctr.wrapping_add(i as u128).to_le_bytes();
        }
        self.ctr = self.ctr.wrapping_add(out.len() as u128);
        self.aes.encrypt_blocks(out);
    }

    /// The next `out.len()` bytes of the stream; `out.len()` must be a multiple of 16.
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        debug_assert!(out.len().is_multiple_of(16));
        self.fill_blocks(bytemuck::cast_slice_mut(out));
    }

    /// The next `out.len()` uniform field elements, by rejection sampling: each 128-bit block
    /// below p is accepted as the Montgomery form of an element (probability p/2^128 ≈ 0.58),
    /// others are skipped. Blocks are drawn 64 at a time and the accepted ones compacted without
    /// a branch; a call always consumes whole chunks, so both ends of an OT that draw the same
    /// counts from the same stream stay aligned.
    pub fn fill_field(&mut self, out: &mut [Fp]) {
        const CHUNK: usize = 64;
        let mut buf = [[0u8; 16]; CHUNK];
        let mut stage = [0u128; CHUNK];
        let mut k = 0;
        while k < out.len() {
            self.fill_blocks(&mut buf);
            let mut c = 0;
            for b in &buf {
                let x = u128::from_le_bytes(*b);
                stage[c] = x;
                c += (x < MODULUS) as usize;
            }
            let take = c.min(out.len() - k);
            for (o, &x) in out[k..k + take].iter_mut().zip(&stage[..take]) {
                *o = fp_from_raw(x);
            }
            k += take;
        }
    }

    /// The next `out.len()` blocks as [`Block`]s.
    pub fn fill_gf(&mut self, out: &mut [Block]) {
        self.fill_blocks(bytemuck::cast_slice_mut(out));
    }
}

/// The fixed-key hash of OT outputs into the field; see the module docs.
pub(crate) struct FieldHash {
    pi: Aes128,
}

impl FieldHash {
    pub fn new() -> FieldHash {
        let k = blake3::derive_key("ephemeral/offline/tccr-key/v1", b"");
        let mut key = [0u8; 16];
        key.copy_from_slice(&k[..16]);
        FieldHash { pi: aes_key(&key) }
    }

    /// `out[j] = H(first + j, rows[j] ⊕ xor)`, where the 128-bit tweak of index `i` is
    /// `instance·2^64 + 2i (+1)`.
    pub fn hash(&self, rows: &[Block], xor: Block, instance: u64, first: u64, out: &mut [Fp]) {
        debug_assert_eq!(rows.len(), out.len());
        let mut px = [[0u8; 16]; PAR];
        let mut tw = [[0u8; 16]; 2 * PAR];
        for (c, (rs, os)) in rows.chunks(PAR).zip(out.chunks_mut(PAR)).enumerate() {
            let k = rs.len();
            for (p, r) in px.iter_mut().zip(rs) {
                *p = *(*r ^ xor).as_bytes();
            }
            self.pi.encrypt_blocks(&mut px[..k]);
            self.finish(&px[..k], &mut tw, instance, first + (c * PAR) as u64, os);
        }
    }

    /// Both `out0[j] = H(first + j, rows[j])` and `out1[j] = H(first + j, rows[j] ⊕ delta)`,
    /// with the AES calls of both batched together.
    pub fn hash_pair(
        &self,
        rows: &[Block],
        delta: Block,
        instance: u64,
        first: u64,
        out0: &mut [Fp],
        out1: &mut [Fp],
    ) {
        debug_assert_eq!(rows.len(), out0.len());
        debug_assert_eq!(rows.len(), out1.len());
        let mut px = [[0u8; 16]; 2 * PAR];
        let mut tw = [[0u8; 16]; 2 * PAR];
        let chunks = rows
            .chunks(PAR)
            .zip(out0.chunks_mut(PAR).zip(out1.chunks_mut(PAR)));
        for (c, (rs, (o0, o1))) in chunks.enumerate() {
            let k = rs.len();
            for (i, r) in rs.iter().enumerate() {
                px[i] = *r.as_bytes();
                px[PAR + i] = *(*r ^ delta).as_bytes();
            }
            let (p0, p1) = px.split_at_mut(PAR);
            self.pi.encrypt_blocks(&mut p0[..k]);
            self.pi.encrypt_blocks(&mut p1[..k]);
            let idx = first + (c * PAR) as u64;
            self.finish(&p0[..k], &mut tw, instance, idx, o0);
            self.finish(&p1[..k], &mut tw, instance, idx, o1);
        }
    }

    /// The second half of TMMO and the reduction: from `π(x_i)` to `H(first + i, x_i)`.
    #[inline(always)]
    fn finish(
        &self,
        px: &[[u8; 16]],
        tw: &mut [[u8; 16]; 2 * PAR],
        instance: u64,
        first: u64,
        out: &mut [Fp],
    ) {
        let k = px.len();
        let inst = (instance as u128) << 64;
        for (i, p) in px.iter().enumerate() {
            let j = first.wrapping_add(i as u64);
            let base = u128::from_le_bytes(*p);
            let t0 = inst | (j.wrapping_mul(2) as u128);
            let t1 = inst | (j.wrapping_mul(2).wrapping_add(1) as u128);
            tw[2 * i] = (base ^ t0).to_le_bytes();
            tw[2 * i + 1] = (base ^ t1).to_le_bytes();
        }
        self.pi.encrypt_blocks(&mut tw[..2 * k]);
        for (i, (o, p)) in out.iter_mut().zip(px).enumerate() {
            let base = u128::from_le_bytes(*p);
            let lo = u128::from_le_bytes(tw[2 * i]) ^ base;
            let hi = u128::from_le_bytes(tw[2 * i + 1]) ^ base;
            *o = fp_from_wide(lo, hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn select_is_multiplication_by_the_bit(x: u128, bit: bool) {
            let v = Fp::from_u128(x);
            proptest::prop_assert_eq!(select(bit, v), v * Fp::from(bit));
        }
    }

    #[test]
    fn select_and_bits() {
        let x = Fp::from_u64(12345);
        assert_eq!(select(true, x), x);
        assert_eq!(select(false, x), Fp::ZERO);
        let b = bits_of(Fp::from_u64(5));
        assert_eq!(b[0], 5);
        assert!(b[1..].iter().all(|&v| v == 0));
    }

    #[test]
    fn prg_streams_are_deterministic_and_continue() {
        let mut a = Prg::new(&[1u8; 16]);
        let mut b = Prg::new(&[1u8; 16]);
        let mut x = vec![0u8; 64];
        let mut y = vec![0u8; 32];
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        assert_eq!(&x[..32], &y[..]);
        b.fill_bytes(&mut y);
        assert_eq!(&x[32..], &y[..]);
        let mut f = vec![Fp::ZERO; 100];
        a.fill_field(&mut f);
        assert!(f.iter().any(|v| !v.is_zero()));
    }

    #[test]
    fn field_hash_depends_on_input_tweak_and_instance() {
        let h = FieldHash::new();
        let rows = vec![Block::from(7u128), Block::from(7u128), Block::from(8u128)];
        let mut out = vec![Fp::ZERO; 3];
        h.hash(&rows, Block::ZERO, 1, 0, &mut out);
        assert_ne!(out[0], out[1], "same input, different tweak");
        assert_ne!(out[0], out[2]);
        let mut again = vec![Fp::ZERO; 3];
        h.hash(&rows, Block::ZERO, 1, 0, &mut again);
        assert_eq!(out, again);
        h.hash(&rows, Block::ZERO, 2, 0, &mut again);
        assert_ne!(out[0], again[0], "different instance");
        // Hashing rows ⊕ Δ equals hashing the xored rows.
        let d = Block::from(0xffu128);
        let xored: Vec<Block> = rows.iter().map(|r| *r ^ d).collect();
        h.hash(&rows, d, 1, 5, &mut out);
        h.hash(&xored, Block::ZERO, 1, 5, &mut again);
        assert_eq!(out, again);
        // The paired hash equals the two single ones, over several chunks.
        let many: Vec<Block> = (0..100u128).map(|i| Block::from(i * 77)).collect();
        let (mut a0, mut a1) = (vec![Fp::ZERO; 100], vec![Fp::ZERO; 100]);
        let (mut b0, mut b1) = (vec![Fp::ZERO; 100], vec![Fp::ZERO; 100]);
        h.hash_pair(&many, d, 3, 1000, &mut a0, &mut a1);
        h.hash(&many, Block::ZERO, 3, 1000, &mut b0);
        h.hash(&many, d, 3, 1000, &mut b1);
        assert_eq!((a0, a1), (b0, b1));
    }
}
