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
}

/// The sender's half of one instance.
pub(crate) struct KosSender {
    delta: Block,
    delta_bits: u128,
    prg: Vec<Prg>,
    pub instance: u64,
    next: u64,
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

/// `Σ_j rows[j]·χ_j` in GF(2^128).
fn combine(rows: &[Block], seed: &[u8; 32]) -> Block {
    let mut lo = Block::ZERO;
    let mut hi = Block::ZERO;
    for_each_chi(seed, rows.len(), |j, chis| {
        for (r, c) in rows[j..j + chis.len()].iter().zip(chis) {
            let (l, h) = r.clmul(c);
            lo ^= l;
            hi ^= h;
        }
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

        let mut t0 = vec![0u8; KAPPA * row_bytes];
        let mut t1 = vec![0u8; row_bytes];
        let start = out.len();
        out.resize(start + KAPPA * row_bytes, 0);
        for i in 0..KAPPA {
            let r0 = &mut t0[i * row_bytes..(i + 1) * row_bytes];
            self.prg0[i].fill_bytes(r0);
            self.prg1[i].fill_bytes(&mut t1);
            let u = &mut out[start + i * row_bytes..start + (i + 1) * row_bytes];
            for (((u, a), b), c) in u.iter_mut().zip(r0.iter()).zip(&t1).zip(&x) {
                *u = a ^ b ^ c;
            }
        }
        let mut rows = vec![Block::ZERO; mp];
        transpose_bitmatrix(&t0, bytemuck::cast_slice_mut(&mut rows), KAPPA);
        let first = self.next;
        self.next += m as u64;
        ReceiverBatch {
            rows,
            choices: x,
            m,
            first,
        }
    }

    /// The check response `x̃ ‖ t̃` for challenges from `seed`.
    pub fn response(batch: &ReceiverBatch, seed: &[u8; 32]) -> [u8; RESPONSE_BYTES] {
        let mut x_tilde = Block::ZERO;
        for_each_chi(seed, batch.rows.len(), |j, chis| {
            for (k, c) in chis.iter().enumerate() {
                let mask = if batch.bit(j + k) {
                    Block::ONES
                } else {
                    Block::ZERO
                };
                x_tilde ^= *c & mask;
            }
        });
        let t_tilde = combine(&batch.rows, seed);
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
        let mut q = vec![0u8; KAPPA * row_bytes];
        for i in 0..KAPPA {
            let row = &mut q[i * row_bytes..(i + 1) * row_bytes];
            self.prg[i].fill_bytes(row);
            // Δ_i·u_i without a branch on the secret bit.
            let mask = (((self.delta_bits >> i) & 1) as u8).wrapping_neg();
            for (r, v) in row.iter_mut().zip(&u[i * row_bytes..(i + 1) * row_bytes]) {
                *r ^= v & mask;
            }
        }
        let mut rows = vec![Block::ZERO; mp];
        transpose_bitmatrix(&q, bytemuck::cast_slice_mut(&mut rows), KAPPA);
        let first = self.next;
        self.next += m as u64;
        SenderBatch { rows, m, first }
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
        for round in 0..3 {
            let mut choices = vec![0u8; 64 * (round + 1)];
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
