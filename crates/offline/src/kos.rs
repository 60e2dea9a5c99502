//! Actively secure OT extension: IKNP with the KOS15 correlation check (Keller, Orsini, Scholl,
//! "Actively Secure OT Extension with Optimal Overhead", CRYPTO 2015, ePrint 2015/546).
//!
//! One instance per ordered pair (receiver R, sender S), set up once from κ = 128 base OTs in
//! which S is the base-OT *receiver* with secret choice bits Δ ∈ {0,1}^κ and R holds both seeds
//! `(k⁰_i, k¹_i)`. The seeds are expanded by the PRG `G` (AES-CTR, [`crate::prg::Prg`]); the
//! streams continue from batch to batch, so the base OTs are never rerun.
//!
//! **Extend** `m` OTs (m a multiple of 128) with R's choice bits `x ∈ {0,1}^m`, padded with
//! `EXTRA = 256 ≥ κ + s` uniformly random bits to `m' = m + EXTRA`:
//! - R: `t⁰_i = G(k⁰_i)`, `t¹_i = G(k¹_i)` (m' bits each) and sends `u_i = t⁰_i ⊕ t¹_i ⊕ x`.
//! - S: `q_i = G(k^{Δ_i}_i) ⊕ Δ_i·u_i = t⁰_i ⊕ Δ_i·x`.
//! - Transposing the κ × m' matrices gives rows with `q_j = t_j ⊕ x_j·Δ` (j < m'), one 128-bit
//!   block per OT ([`cryprot_core::transpose::transpose_bitmatrix`]).
//!
//! **Check** (after `u` is fixed, with challenges `χ_j ∈ GF(2^128)` from a coin that R could not
//! predict when it sent `u`): R sends `x̃ = Σ_j x_j·χ_j` and `t̃ = Σ_j t_j·χ_j`; S accepts iff
//! `Σ_j q_j·χ_j = t̃ + x̃·Δ`. A receiver that used different choice bits in different columns
//! (a "wrong correlation") passes only by guessing the bits of Δ it wants to learn, so it learns
//! at most s bits of Δ with probability 2^−s; the EXTRA random rows hide `x` inside `x̃`.
//! (The original KOS15 proof has a gap; Roy's SoftSpokenOT analysis, ePrint 2022/192, restores
//! the bound for this check with κ + s extra rows, which EXTRA covers for s ≤ 128.)
//! Products are accumulated unreduced (carry-less) and reduced once.
//!
//! **Output** (first m rows only): S holds `H(j, q_j)` and `H(j, q_j ⊕ Δ)`, R holds
//! `H(j, t_j) = H(j, q_j ⊕ x_j·Δ)`, with the field hash of [`crate::prg::FieldHash`]; the index
//! j counts OTs over the life of the instance, so tweaks never repeat.

use cryprot_core::transpose::transpose_bitmatrix;
use cryprot_core::Block;
use rand_core::RngCore;

use crate::baseot::Key;
use crate::prg::Prg;

/// Base OTs per instance (the computational security parameter κ).
pub(crate) const KAPPA: usize = 128;
/// Extra random OTs per extension, sacrificed by the check (≥ κ + s).
pub(crate) const EXTRA: usize = 256;

/// OTs per chunk of an extension: both ends expand, send and transpose the κ × m' matrices in
/// column chunks of this many OTs (a 128 KiB matrix), which keeps them in cache. On the wire
/// `u` is chunk after chunk, each holding the κ columns' bits of its OTs.
pub(crate) const CHUNK: usize = 8192;

/// Bytes of the `u` matrix for `m` OTs.
pub(crate) fn u_len(m: usize) -> usize {
    KAPPA * (m + EXTRA) / 8
}

/// Bytes of a check response.
pub(crate) const RESPONSE_BYTES: usize = 32;

/// The receiver's half of one instance.
pub(crate) struct KosReceiver {
    prg0: Vec<Prg>,
    prg1: Vec<Prg>,
    /// Id of the instance, part of every hash tweak.
    pub instance: u64,
    next: u64,
    /// Reused buffers: the κ × m' matrix, one PRG row, and row vectors of finished batches.
    matrix: Vec<u8>,
    row: Vec<u8>,
    spare_rows: Vec<Block>,
}

/// The sender's half of one instance.
pub(crate) struct KosSender {
    delta: Block,
    delta_bits: u128,
    prg: Vec<Prg>,
    pub instance: u64,
    next: u64,
    matrix: Vec<u8>,
    spare_rows: Vec<Block>,
}

/// One extension, receiver side: rows `t_j` and the padded choice bits.
pub(crate) struct ReceiverBatch {
    pub rows: Vec<Block>,
    pub choices: Vec<u8>,
    pub m: usize,
    /// Global index of row 0 (for the hash tweaks).
    pub first: u64,
}

/// One extension, sender side: rows `q_j`.
pub(crate) struct SenderBatch {
    pub rows: Vec<Block>,
    pub m: usize,
    pub first: u64,
}

impl ReceiverBatch {
    /// Choice bit j.
    #[inline(always)]
    pub fn bit(&self, j: usize) -> bool {
        (self.choices[j / 8] >> (j % 8)) & 1 == 1
    }
}

/// The check challenges χ_j for `m'` rows, streamed in chunks to `f`.
fn for_each_chi(seed: &[u8; 32], rows: usize, mut f: impl FnMut(usize, &[Block])) {
    let mut prg = Prg::from_seed(seed);
    let mut buf = vec![Block::ZERO; 1024];
    let mut j = 0;
    while j < rows {
        let k = (rows - j).min(buf.len());
        prg.fill_gf(&mut buf[..k]);
        f(j, &buf[..k]);
        j += k;
    }
}

/// `Σ_j a_j·b_j` as unreduced carry-less products, `(low, high)` halves.
fn sum_clmul(a: &[Block], b: &[Block]) -> (Block, Block) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("pclmulqdq") {
        // SAFETY: the CPU supports pclmulqdq (checked just above).
        return unsafe { sum_clmul_pclmul(a, b) };
    }
    let mut lo = Block::ZERO;
    let mut hi = Block::ZERO;
    for (x, y) in a.iter().zip(b) {
        let (l, h) = x.clmul(y);
        lo ^= l;
        hi ^= h;
    }
    (lo, hi)
}

/// [`sum_clmul`] with the carry-less multiplications inlined: per term four `pclmulqdq`
/// (schoolbook on 64-bit halves), the cross terms summed separately and shifted into place once
/// at the end, since shifting and XOR commute.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn sum_clmul_pclmul(a: &[Block], b: &[Block]) -> (Block, Block) {
    use std::arch::x86_64::*;
    let mut lo = _mm_setzero_si128();
    let mut hi = _mm_setzero_si128();
    let mut mid = _mm_setzero_si128();
    for (x, y) in a.iter().zip(b) {
        let x: __m128i = (*x).into();
        let y: __m128i = (*y).into();
        lo = _mm_xor_si128(lo, _mm_clmulepi64_si128::<0x00>(x, y));
        hi = _mm_xor_si128(hi, _mm_clmulepi64_si128::<0x11>(x, y));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128::<0x01>(x, y));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128::<0x10>(x, y));
    }
    let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    (lo.into(), hi.into())
}

/// `Σ_j rows[j]·χ_j` in GF(2^128).
fn combine(rows: &[Block], seed: &[u8; 32]) -> Block {
    let mut lo = Block::ZERO;
    let mut hi = Block::ZERO;
    for_each_chi(seed, rows.len(), |j, chis| {
        let (l, h) = sum_clmul(&rows[j..j + chis.len()], chis);
        lo ^= l;
        hi ^= h;
    });
    Block::gf_reduce(&lo, &hi)
}

impl KosReceiver {
    /// From the base-OT seed pairs (this party was the base-OT sender).
    pub fn new(keys: &[(Key, Key)], instance: u64) -> KosReceiver {
        debug_assert_eq!(keys.len(), KAPPA);
        KosReceiver {
            prg0: keys.iter().map(|(k0, _)| Prg::new(k0)).collect(),
            prg1: keys.iter().map(|(_, k1)| Prg::new(k1)).collect(),
            instance,
            next: 0,
            matrix: Vec::new(),
            row: Vec::new(),
            spare_rows: Vec::new(),
        }
    }

    /// Extends `8·choices.len()` OTs (a multiple of 128) and appends `u` to `out`.
    pub fn extend<R: RngCore>(
        &mut self,
        choices: &[u8],
        rng: &mut R,
        out: &mut Vec<u8>,
    ) -> ReceiverBatch {
        let m = choices.len() * 8;
        debug_assert!(m.is_multiple_of(128));
        let mp = m + EXTRA;
        let row_bytes = mp / 8;
        let mut x = Vec::with_capacity(row_bytes);
        x.extend_from_slice(choices);
        x.resize(row_bytes, 0);
        rng.fill_bytes(&mut x[choices.len()..]);

        let mut rows = std::mem::take(&mut self.spare_rows);
        rows.resize(mp, Block::ZERO);
        out.reserve(KAPPA * row_bytes);
        for c0 in (0..mp).step_by(CHUNK) {
            let cb = CHUNK.min(mp - c0) / 8;
            let b0 = c0 / 8;
            let t0 = &mut self.matrix;
            t0.resize(KAPPA * cb, 0);
            let t1 = &mut self.row;
            t1.resize(cb, 0);
            for i in 0..KAPPA {
                let r0 = &mut t0[i * cb..(i + 1) * cb];
                self.prg0[i].fill_bytes(r0);
                self.prg1[i].fill_bytes(t1);
                for ((a, b), c) in t1.iter_mut().zip(r0.iter()).zip(&x[b0..b0 + cb]) {
                    *a ^= b ^ c;
                }
                out.extend_from_slice(t1);
            }
            let dst = &mut rows[c0..c0 + 8 * cb];
            transpose_bitmatrix(t0, bytemuck::cast_slice_mut(dst), KAPPA);
        }
        let first = self.next;
        self.next += m as u64;
        ReceiverBatch {
            rows,
            choices: x,
            m,
            first,
        }
    }

    /// Hands a finished batch's buffer back for the next extension.
    pub fn recycle(&mut self, batch: ReceiverBatch) {
        self.spare_rows = batch.rows;
    }

    /// The check response `x̃ ‖ t̃` for challenges from `seed`.
    pub fn response(batch: &ReceiverBatch, seed: &[u8; 32]) -> [u8; RESPONSE_BYTES] {
        let mut x_tilde = Block::ZERO;
        let mut lo = Block::ZERO;
        let mut hi = Block::ZERO;
        for_each_chi(seed, batch.rows.len(), |j, chis| {
            for (k, c) in chis.iter().enumerate() {
                let mask = Block::from((batch.bit(j + k) as u128).wrapping_neg());
                x_tilde ^= *c & mask;
            }
            let (l, h) = sum_clmul(&batch.rows[j..j + chis.len()], chis);
            lo ^= l;
            hi ^= h;
        });
        let t_tilde = Block::gf_reduce(&lo, &hi);
        let mut out = [0u8; RESPONSE_BYTES];
        out[..16].copy_from_slice(x_tilde.as_bytes());
        out[16..].copy_from_slice(t_tilde.as_bytes());
        out
    }
}

impl KosSender {
    /// From the base-OT keys received with choice bits `delta_bits` (bit i ↔ base OT i).
    pub fn new(delta_bits: u128, keys: &[Key], instance: u64) -> KosSender {
        debug_assert_eq!(keys.len(), KAPPA);
        KosSender {
            delta: Block::new(delta_bits.to_le_bytes()),
            delta_bits,
            prg: keys.iter().map(Prg::new).collect(),
            instance,
            next: 0,
            matrix: Vec::new(),
            spare_rows: Vec::new(),
        }
    }

    /// The correlation Δ.
    pub fn delta(&self) -> Block {
        self.delta
    }

    /// Receives `m` OTs from the receiver's `u` (exactly [`u_len`]`(m)` bytes).
    pub fn extend(&mut self, u: &[u8], m: usize) -> SenderBatch {
        let mp = m + EXTRA;
        let row_bytes = mp / 8;
        debug_assert_eq!(u.len(), KAPPA * row_bytes);
        let mut rows = std::mem::take(&mut self.spare_rows);
        rows.resize(mp, Block::ZERO);
        // `u` holds exactly κ·m'/8 bytes, consumed chunk by chunk in the receiver's order.
        let mut off = 0;
        for c0 in (0..mp).step_by(CHUNK) {
            let cb = CHUNK.min(mp - c0) / 8;
            let q = &mut self.matrix;
            q.resize(KAPPA * cb, 0);
            for i in 0..KAPPA {
                let row = &mut q[i * cb..(i + 1) * cb];
                self.prg[i].fill_bytes(row);
                // Δ_i·u_i without a branch on the secret bit.
                let mask = (((self.delta_bits >> i) & 1) as u8).wrapping_neg();
                for (r, v) in row.iter_mut().zip(&u[off..off + cb]) {
                    *r ^= v & mask;
                }
                off += cb;
            }
            let dst = &mut rows[c0..c0 + 8 * cb];
            transpose_bitmatrix(q, bytemuck::cast_slice_mut(dst), KAPPA);
        }
        let first = self.next;
        self.next += m as u64;
        SenderBatch { rows, m, first }
    }

    /// Hands a finished batch's buffer back for the next extension.
    pub fn recycle(&mut self, batch: SenderBatch) {
        self.spare_rows = batch.rows;
    }

    /// Whether the receiver's response passes the check for challenges from `seed`.
    pub fn check(&self, batch: &SenderBatch, seed: &[u8; 32], response: &[u8]) -> bool {
        if response.len() != RESPONSE_BYTES {
            return false;
        }
        let mut xb = [0u8; 16];
        let mut tb = [0u8; 16];
        xb.copy_from_slice(&response[..16]);
        tb.copy_from_slice(&response[16..]);
        let x_tilde = Block::new(xb);
        let t_tilde = Block::new(tb);
        let q_tilde = combine(&batch.rows, seed);
        q_tilde == t_tilde ^ x_tilde.gf_mul(&self.delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn pair(delta: u128) -> (KosReceiver, KosSender) {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut keys = Vec::new();
        let mut chosen = Vec::new();
        for i in 0..KAPPA {
            let mut k0 = [0u8; 16];
            let mut k1 = [0u8; 16];
            rng.fill_bytes(&mut k0);
            rng.fill_bytes(&mut k1);
            chosen.push(if (delta >> i) & 1 == 1 { k1 } else { k0 });
            keys.push((k0, k1));
        }
        (
            KosReceiver::new(&keys, 7),
            KosSender::new(delta, &chosen, 7),
        )
    }

    #[test]
    fn correlation_holds_and_check_passes() {
        let delta = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        let (mut r, mut s) = pair(delta);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for (round, bytes) in [64, 128, (2 * CHUNK + 128) / 8].into_iter().enumerate() {
            let mut choices = vec![0u8; bytes];
            rng.fill_bytes(&mut choices);
            let mut u = Vec::new();
            let rb = r.extend(&choices, &mut rng, &mut u);
            assert_eq!(u.len(), u_len(rb.m));
            let sb = s.extend(&u, rb.m);
            assert_eq!(sb.first, rb.first);
            let d = s.delta();
            for j in 0..rb.rows.len() {
                let want = if rb.bit(j) {
                    sb.rows[j] ^ d
                } else {
                    sb.rows[j]
                };
                assert_eq!(rb.rows[j], want, "row {j}");
            }
            let seed = [round as u8; 32];
            let resp = KosReceiver::response(&rb, &seed);
            assert!(s.check(&sb, &seed, &resp));
        }
    }

    #[test]
    fn inconsistent_column_fails_the_check() {
        let delta = u128::MAX / 3; // bits alternate 0101…
        let (mut r, mut s) = pair(delta);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let choices = vec![0x5au8; 32];
        let mut u = Vec::new();
        let rb = r.extend(&choices, &mut rng, &mut u);
        // Flip row 5's bit in column 0, where Δ_0 = 1.
        u[0] ^= 1 << 5;
        let sb = s.extend(&u, rb.m);
        let seed = [9u8; 32];
        let resp = KosReceiver::response(&rb, &seed);
        assert!(!s.check(&sb, &seed, &resp));
    }
}
