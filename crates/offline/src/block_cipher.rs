//! AES-128 over many independent blocks in place: the one primitive under the PRG and the
//! fixed-key hashes of [`crate::prg`] and `binary::hash`.
//!
//! **Why hand-written.** AES is the largest single cost of preprocessing (SoftSpokenOT expands
//! 2^k leaf streams per chunk, and every OT output is hashed with fixed-key AES). CPUs with VAES
//! run four AES rounds per instruction on 256-bit registers, two blocks each, against one block
//! per AES-NI instruction. The `aes` crate has a VAES back end, but only behind a build-wide
//! `--cfg`, and it stages every batch through a copy: measured on our call pattern (batches of
//! 32 to 4 096 blocks) it made preprocessing slower, not faster (docs/BENCHMARKS.md). This
//! module encrypts in place, eight 256-bit registers (16 blocks) per step so that enough
//! independent rounds are in flight to hide the instruction latency, and the rest one block at a
//! time with AES-NI. Where VAES is missing (detected once, at key setup) it falls back to the
//! `aes` crate (AES-NI, or its constant-time software implementation).
//!
//! **The key schedule** is FIPS-197's AES-128 expansion in Intel's AES-NI formulation
//! (`AESKEYGENASSIST` gives `SubWord(RotWord(w₃)) ⊕ rcon` in its top word; the three shifted XORs
//! form the running XOR of the previous round key's words): round key i + 1 is
//! `(w₀ ⊕ t, w₀ ⊕ w₁ ⊕ t, w₀ ⊕ w₁ ⊕ w₂ ⊕ t, w₀ ⊕ w₁ ⊕ w₂ ⊕ w₃ ⊕ t)` for round key i = (w₀ … w₃).
//! The tests compare every back end with the `aes` crate block for block.
//!
//! Constant time: AES instructions take the same time for every key and block; no branch or
//! index depends on either.

use aes::cipher::{BlockCipherEncrypt, KeyInit};

/// AES-128 under one key, encrypting blocks in place.
#[derive(Clone)]
pub(crate) struct Aes128 {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// Round keys for the VAES path (only built when the CPU has VAES, AVX2 and AES-NI).
    #[cfg(target_arch = "x86_64")]
    Vaes(x86::RoundKeys),
    /// The `aes` crate (boxed: its schedule is the larger, and it is only the fallback).
    Crate(Box<aes::Aes128>),
}

impl Aes128 {
    /// The cipher under `key`, on the fastest back end this CPU has.
    pub fn new(key: &[u8; 16]) -> Aes128 {
        #[cfg(target_arch = "x86_64")]
        if x86::has_vaes() {
            // SAFETY: the CPU has AES-NI, AVX2 and VAES (checked just above).
            return Aes128 {
                backend: Backend::Vaes(unsafe { x86::expand(key) }),
            };
        }
        Aes128::with_crate(key)
    }

    /// The cipher under `key` on the `aes` crate, whatever the CPU has (the fallback, and the
    /// reference of the tests).
    pub fn with_crate(key: &[u8; 16]) -> Aes128 {
        let k: aes::cipher::Key<aes::Aes128> = (*key).into();
        Aes128 {
            backend: Backend::Crate(Box::new(aes::Aes128::new(&k))),
        }
    }

    /// Replaces every block b of `blocks` by AES_k(b).
    #[inline]
    pub fn encrypt_blocks(&self, blocks: &mut [[u8; 16]]) {
        match &self.backend {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Vaes` back end is only built when the CPU has the features.
            Backend::Vaes(rk) => unsafe { x86::encrypt(rk, blocks) },
            Backend::Crate(c) => c.encrypt_blocks(aes::Block::cast_slice_from_core_mut(blocks)),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The 11 round keys of AES-128.
    #[derive(Clone, Copy)]
    pub(super) struct RoundKeys([__m128i; 11]);

    /// Whether the CPU has every feature the VAES path uses (cached by the standard library).
    pub(super) fn has_vaes() -> bool {
        is_x86_feature_detected!("aes")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("vaes")
    }

    /// One step of the key schedule: round key i + 1 from round key `k` = i and
    /// `t = AESKEYGENASSIST(k, rcon)` (module docs).
    #[inline(always)]
    fn next(k: __m128i, t: __m128i) -> __m128i {
        // SAFETY (for the whole body): SSE2 is part of x86_64.
        unsafe {
            let t = _mm_shuffle_epi32::<0xff>(t);
            let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
            let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
            let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
            _mm_xor_si128(k, t)
        }
    }

    /// The AES-128 key schedule of `key`.
    ///
    /// # Safety
    /// The CPU must have AES-NI.
    #[target_feature(enable = "aes")]
    pub(super) unsafe fn expand(key: &[u8; 16]) -> RoundKeys {
        let mut rk = [_mm_setzero_si128(); 11];
        // SAFETY: `key` is 16 readable bytes; unaligned load.
        rk[0] = unsafe { _mm_loadu_si128(key.as_ptr().cast()) };
        macro_rules! round {
            ($i:expr, $rcon:expr) => {
                rk[$i] = next(rk[$i - 1], _mm_aeskeygenassist_si128::<$rcon>(rk[$i - 1]));
            };
        }
        round!(1, 0x01);
        round!(2, 0x02);
        round!(3, 0x04);
        round!(4, 0x08);
        round!(5, 0x10);
        round!(6, 0x20);
        round!(7, 0x40);
        round!(8, 0x80);
        round!(9, 0x1b);
        round!(10, 0x36);
        RoundKeys(rk)
    }

    /// 256-bit registers per step of the main loop (two blocks each).
    const LANES: usize = 8;

    /// Encrypts `blocks` in place.
    ///
    /// # Safety
    /// The CPU must have AES-NI, AVX2 and VAES.
    #[target_feature(enable = "aes,avx2,vaes")]
    pub(super) unsafe fn encrypt(rk: &RoundKeys, blocks: &mut [[u8; 16]]) {
        let rk = &rk.0;
        let mut k = [_mm256_setzero_si256(); 11];
        for (w, r) in k.iter_mut().zip(rk) {
            *w = _mm256_broadcastsi128_si256(*r);
        }
        let mut steps = blocks.chunks_exact_mut(2 * LANES);
        for step in &mut steps {
            let p: *mut __m256i = step.as_mut_ptr().cast();
            let mut x = [_mm256_setzero_si256(); LANES];
            for (j, x) in x.iter_mut().enumerate() {
                // SAFETY: `step` is 2·LANES blocks = LANES 32-byte words; unaligned access.
                *x = _mm256_xor_si256(unsafe { _mm256_loadu_si256(p.add(j)) }, k[0]);
            }
            for kr in &k[1..10] {
                for x in x.iter_mut() {
                    *x = _mm256_aesenc_epi128(*x, *kr);
                }
            }
            for (j, x) in x.iter().enumerate() {
                // SAFETY: as for the loads.
                unsafe { _mm256_storeu_si256(p.add(j), _mm256_aesenclast_epi128(*x, k[10])) };
            }
        }
        for b in steps.into_remainder() {
            let p: *mut __m128i = b.as_mut_ptr().cast();
            // SAFETY: `b` is 16 bytes; unaligned access.
            let mut x = _mm_xor_si128(unsafe { _mm_loadu_si128(p) }, rk[0]);
            for kr in &rk[1..10] {
                x = _mm_aesenc_si128(x, *kr);
            }
            // SAFETY: as for the load.
            unsafe { _mm_storeu_si128(p, _mm_aesenclast_si128(x, rk[10])) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(n: usize, seed: u128) -> Vec<[u8; 16]> {
        (0..n as u128)
            .map(|i| {
                (i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ seed).to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn every_back_end_agrees_with_the_aes_crate_for_every_batch_length() {
        for key in [[0u8; 16], [0xff; 16], *b"ephemeral aes k!"] {
            let fast = Aes128::new(&key);
            let reference = Aes128::with_crate(&key);
            // Around the 16-block step: empty, tails only, whole steps, steps plus tails.
            for n in [0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 4096] {
                let mut a = blocks(n, u128::from_le_bytes(key));
                let mut b = a.clone();
                fast.encrypt_blocks(&mut a);
                reference.encrypt_blocks(&mut b);
                assert_eq!(a, b, "key {key:?}, {n} blocks");
            }
        }
    }

    #[test]
    fn the_fips_197_example_vector() {
        // FIPS-197, Appendix C.1 (AES-128).
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut b = [[
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ]; 20];
        Aes128::new(&key).encrypt_blocks(&mut b);
        let want = [
            0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
            0xc5, 0x5a,
        ];
        assert!(b.iter().all(|x| *x == want));
    }
}
