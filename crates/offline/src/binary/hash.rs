//! The symmetric pieces of the binary domain: the one-bit and 128-bit hashes of correlated-OT
//! outputs (which turn them into random OTs for the multiplications of bits and of bits by MAC
//! shares), inner products in GF(2^128), and uniform
//! indices for the bucket permutations.
//!
//! # Blocks and field elements
//!
//! A KOS row ([`cryprot_core::Block`], 16 bytes) is read as the little-endian `u128` of its bytes,
//! and that `u128` is the [`Gf128`] element (bit i the coefficient of `x^i`). The KOS sender's Δ is
//! `Block::new(Δ.to_le_bytes())`, so `q = t ⊕ x·Δ` on blocks is the same equation in GF(2^128).
//!
//! # The bit hash
//!
//! `H(j, x) = lsb(TMMO(x, j))` with `TMMO(x, i) = π(π(x) ⊕ i) ⊕ π(x)` and π AES-128 under a fixed
//! public key of its own (not the key of the prime-field hash). TMMO is tweakable circular
//! correlation robust for unique tweaks (Guo–Katz–Wang–Yu, ePrint 2019/074), so `H(j, q_j ⊕ Δ)`
//! is a pseudorandom bit to anyone who does not know Δ, even given `H(j', q_j')` for every j'
//! and the relations `q_j ⊕ t_j ∈ {0, Δ}`. The tweak is `instance·2^64 + index`, with the index
//! counted over the life of the KOS instance, so no tweak repeats under one Δ.
//!
//! The wide hash `W(j, x) = TMMO(x, instance·2^64 + 2^63 + index)` is the whole block under a
//! tweak of its own (indices stay below 2^63), so that H and W of one row are independent
//! outputs of a TCCR function; both share `π(x)` (three AES calls per row for the pair).

use crate::block_cipher::Aes128;
use cryprot_core::Block;
use field::Gf128;

use crate::prg::Prg;

/// The `u128` (and [`Gf128`]) of a block, little-endian.
#[inline(always)]
pub(crate) fn block_u128(b: &Block) -> u128 {
    u128::from_le_bytes(*b.as_bytes())
}

/// Rows per batch of AES calls.
const PAR: usize = 64;

/// `H(j, x)` of the module docs.
pub(crate) struct BitHash {
    pi: Aes128,
}

impl BitHash {
    pub fn new() -> BitHash {
        let k = blake3::derive_key("ephemeral/offline/binary-tccr/v1", b"");
        let mut key = [0u8; 16];
        key.copy_from_slice(&k[..16]);
        BitHash {
            pi: Aes128::new(&key),
        }
    }

    /// `out` gets bit j = `H(first + j, rows[j] ⊕ xor)`, packed 64 to a word (`out` has
    /// `⌈rows.len()/64⌉` words), and `wide[j]` the 128-bit `W(first + j, rows[j] ⊕ xor)`
    /// (module docs): both from one `π(x)`, three AES calls per row. `wide` has `rows.len()`
    /// entries; both outputs are overwritten.
    pub fn hash_bits_wide(
        &self,
        rows: &[Block],
        xor: u128,
        instance: u64,
        first: u64,
        out: &mut [u64],
        wide: &mut [u128],
    ) {
        debug_assert_eq!(out.len(), rows.len().div_ceil(PAR));
        debug_assert_eq!(wide.len(), rows.len());
        let mut px = [[0u8; 16]; PAR];
        let mut tb = [[0u8; 16]; 2 * PAR];
        let inst = (instance as u128) << 64;
        for (w, ((rs, o), ws)) in rows
            .chunks(PAR)
            .zip(out.iter_mut())
            .zip(wide.chunks_mut(PAR))
            .enumerate()
        {
            let k = rs.len();
            for (p, r) in px.iter_mut().zip(rs) {
                *p = (block_u128(r) ^ xor).to_le_bytes();
            }
            self.pi.encrypt_blocks(&mut px[..k]);
            let base = first.wrapping_add((w * PAR) as u64);
            for (i, p) in px[..k].iter().enumerate() {
                let idx = base.wrapping_add(i as u64);
                debug_assert!(idx < WIDE_TWEAK, "OT index out of the tweak range");
                let p = u128::from_le_bytes(*p);
                tb[2 * i] = (p ^ inst ^ idx as u128).to_le_bytes();
                tb[2 * i + 1] = (p ^ inst ^ (idx | WIDE_TWEAK) as u128).to_le_bytes();
            }
            self.pi.encrypt_blocks(&mut tb[..2 * k]);
            let mut word = 0u64;
            for (i, (p, wv)) in px[..k].iter().zip(ws.iter_mut()).enumerate() {
                let p = u128::from_le_bytes(*p);
                word |= ((u128::from_le_bytes(tb[2 * i]) ^ p) as u64 & 1) << i;
                *wv = u128::from_le_bytes(tb[2 * i + 1]) ^ p;
            }
            *o = word;
        }
    }
}

/// The tweak bit that separates the wide hash `W` from the bit hash `H` (OT indices stay below
/// it: 2^63 OTs would take millennia).
const WIDE_TWEAK: u64 = 1 << 63;

/// `Σ_j c_j·x_j` in GF(2^128), accumulated unreduced and reduced once.
pub(crate) fn inner_product(c: &[u128], x: &[Gf128]) -> Gf128 {
    debug_assert_eq!(c.len(), x.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("pclmulqdq") {
        // SAFETY: the CPU supports pclmulqdq (checked just above).
        let (lo, hi) = unsafe { sum_clmul_pclmul(c, x) };
        return reduce(lo, hi);
    }
    c.iter()
        .zip(x)
        .fold(Gf128::ZERO, |acc, (&a, &b)| acc + Gf128(a).mul(b))
}

/// `lo + hi·x^128` reduced: `x^128 ≡ x^7 + x^2 + x + 1` (0x87) in [`Gf128`]'s field.
#[inline]
fn reduce(lo: u128, hi: u128) -> Gf128 {
    Gf128(lo) + Gf128(hi).mul(Gf128(0x87))
}

/// Unreduced `Σ a_j·b_j` (four `pclmulqdq` per term, cross terms shifted into place once).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn sum_clmul_pclmul(a: &[u128], b: &[Gf128]) -> (u128, u128) {
    use std::arch::x86_64::*;
    let mut lo = _mm_setzero_si128();
    let mut hi = _mm_setzero_si128();
    let mut mid = _mm_setzero_si128();
    for (x, y) in a.iter().zip(b) {
        // SAFETY: unaligned loads of 16 bytes from valid u128s.
        let x = unsafe { _mm_loadu_si128(x as *const u128 as *const __m128i) };
        let y = unsafe { _mm_loadu_si128(&y.0 as *const u128 as *const __m128i) };
        lo = _mm_xor_si128(lo, _mm_clmulepi64_si128::<0x00>(x, y));
        hi = _mm_xor_si128(hi, _mm_clmulepi64_si128::<0x11>(x, y));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128::<0x01>(x, y));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128::<0x10>(x, y));
    }
    let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    let mut l = 0u128;
    let mut h = 0u128;
    // SAFETY: unaligned stores of 16 bytes into valid u128s.
    unsafe {
        _mm_storeu_si128(&mut l as *mut u128 as *mut __m128i, lo);
        _mm_storeu_si128(&mut h as *mut u128 as *mut __m128i, hi);
    }
    (l, h)
}

/// `XOR` of the `c_j` whose bit `x_j` is 1 (`Σ_j c_j·x_j` for bits).
pub(crate) fn select_sum(c: &[u128], bits: &[u64]) -> u128 {
    let mut acc = 0u128;
    for (j, &cj) in c.iter().enumerate() {
        acc ^= cj & (((bits[j / 64] >> (j % 64)) & 1) as u128).wrapping_neg();
    }
    acc
}

/// `(Σ_j r_j·x_j, ⊕_{j: bit j set} r_j)` for uniform coefficients `r_j` from `seed` (the
/// second part only with `bits`), streamed in chunks: no coefficient vector is allocated.
pub(crate) fn random_combination(
    seed: &[u8; 32],
    x: &[Gf128],
    bits: Option<&[u64]>,
) -> (Gf128, u128) {
    const CH: usize = 1024;
    let mut prg = Prg::from_seed(seed);
    let mut buf = vec![[0u8; 16]; CH];
    let mut r = vec![0u128; CH];
    let (mut acc, mut sel) = (Gf128::ZERO, 0u128);
    for (c, xs) in x.chunks(CH).enumerate() {
        let k = xs.len();
        prg.fill_blocks(&mut buf[..k]);
        for (ri, b) in r.iter_mut().zip(&buf[..k]) {
            *ri = u128::from_le_bytes(*b);
        }
        acc += inner_product(&r[..k], xs);
        if let Some(bits) = bits {
            sel ^= select_sum(&r[..k], &bits[c * CH / 64..]);
        }
    }
    (acc, sel)
}

/// `n` uniform coefficients in GF(2^128) from `seed` (the same as [`random_combination`]'s).
pub(crate) fn coefficients(seed: &[u8; 32], n: usize) -> Vec<u128> {
    let mut out = vec![[0u8; 16]; n];
    Prg::from_seed(seed).fill_blocks(&mut out);
    out.into_iter().map(u128::from_le_bytes).collect()
}

/// Uniform indices from a seed, for public permutations.
pub(crate) struct Sampler {
    prg: Prg,
    buf: Vec<[u8; 16]>,
    pos: usize,
}

impl Sampler {
    pub fn new(seed: &[u8; 32]) -> Sampler {
        Sampler {
            prg: Prg::from_seed(seed),
            buf: vec![[0u8; 16]; 256],
            pos: 512,
        }
    }

    fn next_u64(&mut self) -> u64 {
        if self.pos == 2 * self.buf.len() {
            self.prg.fill_blocks(&mut self.buf);
            self.pos = 0;
        }
        let b = &self.buf[self.pos / 2];
        let h = (self.pos % 2) * 8;
        self.pos += 1;
        u64::from_le_bytes(b[h..h + 8].try_into().expect("8 bytes"))
    }

    /// Uniform in `0..bound` (`bound > 0`), by Lemire's multiply-and-reject: no modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = self.next_u64() as u128 * bound as u128;
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform permutation of `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut p: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            p.swap(i, j);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_product_matches_field_multiplication() {
        let c: Vec<u128> = (0..100u128)
            .map(|i| i.wrapping_mul(0x1234_5678_9abc_def1) << 3 | i)
            .collect();
        let x: Vec<Gf128> = (0..100u128)
            .map(|i| Gf128(!i.wrapping_mul(0x0fed_cba9_8765_4321)))
            .collect();
        let want = c
            .iter()
            .zip(&x)
            .fold(Gf128::ZERO, |acc, (&a, &b)| acc + Gf128(a).mul(b));
        assert_eq!(inner_product(&c, &x), want);
        let bits = [0b1011u64];
        assert_eq!(select_sum(&c[..4], &bits), c[0] ^ c[1] ^ c[3]);
    }

    #[test]
    fn hash_depends_on_input_xor_tweak_and_instance() {
        let h = BitHash::new();
        let rows: Vec<Block> = (0..200u128).map(|i| Block::from(i * 77 + 5)).collect();
        let run = |xor: u128, inst: u64, first: u64| {
            let mut a = vec![0u64; 4];
            let mut w = vec![0u128; 200];
            h.hash_bits_wide(&rows, xor, inst, first, &mut a, &mut w);
            (a, w)
        };
        let (a, w) = run(0, 1, 0);
        assert_eq!((a.clone(), w.clone()), run(0, 1, 0));
        for (xor, inst, first) in [(1u128 << 100, 1, 0), (0, 2, 0), (0, 1, 1)] {
            let (b, v) = run(xor, inst, first);
            assert_ne!(a, b);
            assert!(w.iter().zip(&v).all(|(x, y)| x != y));
        }
        // About half the bits are set, and the bit is not the wide hash's low bit.
        let ones: u32 = a.iter().map(|w| w.count_ones()).sum();
        assert!((60..140).contains(&ones), "{ones}");
        let same = (0..200)
            .filter(|&j| (a[j / 64] >> (j % 64)) & 1 == (w[j] & 1) as u64)
            .count();
        assert!((60..140).contains(&same), "{same}");
        // The wide outputs are distinct blocks with about half their bits set.
        let mut sorted = w.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 200);
        let bits: u32 = w.iter().map(|x| x.count_ones()).sum();
        assert!((200 * 64 - 800..200 * 64 + 800).contains(&bits), "{bits}");
    }

    #[test]
    fn permutations_are_permutations_and_depend_on_the_seed() {
        let p = Sampler::new(&[1u8; 32]).permutation(1000);
        let mut s = p.clone();
        s.sort_unstable();
        assert_eq!(s, (0..1000).collect::<Vec<u32>>());
        assert_eq!(p, Sampler::new(&[1u8; 32]).permutation(1000));
        assert_ne!(p, Sampler::new(&[2u8; 32]).permutation(1000));
        let mut sm = Sampler::new(&[3u8; 32]);
        assert!((0..1000).all(|_| sm.below(7) < 7));
    }
}
