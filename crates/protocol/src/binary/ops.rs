//! Binary-domain operations of the engine: openings, reveal, AND from binary triples, and the
//! bit-to-arithmetic conversion with daBits.
//!
//! **AND (binary Beaver).** With a binary triple ([a], [b], [c]), c = a ∧ b: open d = x ⊕ a and
//! e = y ⊕ b together (one round, 2 bits per product), then
//! [x ∧ y] = [c] ⊕ d∧[b] ⊕ e∧[a] ⊕ d∧e, which is local because d and e are public. d and e are
//! one-time padded by the uniform a and b. Cost per AND: 1 binary triple, 2 opened bits
//! (2/8 bytes to each peer); any batch is one round.
//!
//! **Bit to arithmetic (B2A).** With a daBit ([b]_2, [b]_p): open e = x ⊕ b in the binary domain
//! (one round, 1 bit per element) and set [x]_p = e + [b]_p − 2e·[b]_p, i.e. [b]_p if e = 0 and
//! 1 − [b]_p if e = 1. e is padded by the uniform b. Cost per bit: 1 daBit, 1 opened bit, 1 round
//! for any batch.
//!
//! Every opened bit is recorded for the next MAC check; [`Engine::reveal_bits`] is the one way a
//! binary value leaves the engine, and it checks first.

use field::Fp;

use super::bits::{append_bits, pack_bits, unpack_bits, words_for, BitShares};
use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::prep::{DaBits, EdaBits, Preprocessing};
use crate::share::ShareVec;

/// Bits `from .. from + n` of packed words, as new packed words.
pub(crate) fn sub_bits(words: &[u64], from: usize, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(words_for(n));
    append_bits(&mut out, 0, words, from, n);
    out
}

impl<P: Preprocessing> Engine<P> {
    /// Opens several bit vectors in ONE round without a check; returns the opened bits packed,
    /// one vector per part. Crate-private: nothing opened here may leave the engine unchecked.
    pub(crate) fn open_bits_many(&mut self, parts: &[&BitShares]) -> Result<Vec<Vec<u64>>> {
        self.bit_ctx()?;
        let all = BitShares::concat(parts);
        let opened = self.open_bits_raw(all)?;
        let mut off = 0;
        Ok(parts
            .iter()
            .map(|p| {
                let w = sub_bits(&opened, off, p.len());
                off += p.len();
                w
            })
            .collect())
    }

    /// Element-wise AND of the concatenation of `xs` with the concatenation of `ys`, in one round.
    pub(crate) fn and_parts(&mut self, xs: &[&BitShares], ys: &[&BitShares]) -> Result<BitShares> {
        let x = BitShares::concat(xs);
        let y = BitShares::concat(ys);
        self.and_inner(&x, &y)
    }

    pub(crate) fn and_inner(&mut self, x: &BitShares, y: &BitShares) -> Result<BitShares> {
        Ok(self.open_and_and(&[], x, y)?.1)
    }

    /// One round that opens the field elements `opens` and computes x ∧ y (binary Beaver: the
    /// masked d = x ⊕ a and e = y ⊕ b travel in the same frame as `opens`).
    pub(crate) fn open_and_and(
        &mut self,
        opens: &[&ShareVec],
        x: &BitShares,
        y: &BitShares,
    ) -> Result<(Vec<Vec<Fp>>, BitShares)> {
        if x.len() != y.len() {
            return Err(ProtocolError::InvalidArgument(format!(
                "AND of bit vectors of different lengths ({} and {})",
                x.len(),
                y.len()
            )));
        }
        let ctx = self.bit_ctx()?;
        let n = x.len();
        let t = if n > 0 {
            self.take_bit_triples(n)?
        } else {
            Default::default()
        };
        let masked = if n > 0 {
            BitShares::concat(&[&x.xor(&t.a), &y.xor(&t.b)])
        } else {
            BitShares::default()
        };
        if opens.iter().all(|p| p.is_empty()) && n == 0 {
            return Ok((
                opens.iter().map(|_| Vec::new()).collect(),
                BitShares::default(),
            ));
        }
        let (opened_p, opened) = if opens.is_empty() {
            (Vec::new(), self.open_bits_raw(masked)?)
        } else {
            self.open_with_bits(opens, masked)?
        };
        if n == 0 {
            return Ok((opened_p, BitShares::default()));
        }
        let d = sub_bits(&opened, 0, n);
        let e = sub_bits(&opened, n, n);
        let de: Vec<u64> = d.iter().zip(&e).map(|(&p, &q)| p & q).collect();
        let mut z = t.c;
        z.xor_assign(&t.b.and_public(&d));
        z.xor_assign(&t.a.and_public(&e));
        ctx.xor_public_assign(&mut z, &de);
        Ok((opened_p, z))
    }

    /// Element-wise AND of two equally long bit vectors, in one round (binary Beaver).
    pub fn and_bits(&mut self, x: &BitShares, y: &BitShares) -> Result<BitShares> {
        self.poison_guard(|e| e.and_inner(x, y))
    }

    /// Opens `x` in the binary domain and MAC-checks everything opened so far (both domains)
    /// before returning the bits.
    pub fn reveal_bits(&mut self, x: &BitShares) -> Result<Vec<bool>> {
        self.poison_guard(|e| {
            let w = e.open_bits_many(&[x])?.pop().unwrap_or_default();
            e.check_inner()?;
            Ok(unpack_bits(&w, x.len()))
        })
    }

    pub(crate) fn b2a_inner(&mut self, x: &BitShares) -> Result<ShareVec> {
        let n = x.len();
        if n == 0 {
            return Ok(ShareVec::default());
        }
        let d = self.take_dabits(n)?;
        let masked = x.xor(&d.bin);
        let e = self.open_bits_many(&[&masked])?.pop().unwrap_or_default();
        let bits = unpack_bits(&e, n);
        // [x] = e + (1 − 2e)·[b].
        let sign: Vec<Fp> = bits
            .iter()
            .map(|&b| if b { -Fp::ONE } else { Fp::ONE })
            .collect();
        let konst: Vec<Fp> = bits.iter().map(|&b| Fp::from(b)).collect();
        let mut out = d.arith.mul_public(&sign);
        self.ctx().add_public_assign(&mut out, &konst);
        Ok(out)
    }

    /// Converts authenticated bits to authenticated GF(p) elements in {0, 1} with daBits: one
    /// round, one daBit and one opened bit per element.
    pub fn b2a(&mut self, x: &BitShares) -> Result<ShareVec> {
        self.poison_guard(|e| e.b2a_inner(x))
    }

    /// The next `n` daBits, consumed (for callers that combine them themselves).
    pub fn dabits(&mut self, n: usize) -> Result<DaBits> {
        self.poison_guard(|e| e.take_dabits(n))
    }

    /// The next `n` edaBits of `bits` binary and `extra` arithmetic-only bits, consumed.
    pub fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits> {
        self.poison_guard(|e| e.take_edabits(n, bits, extra))
    }

    /// Shares of public bits in the binary domain (no communication).
    pub fn bit_constant(&self, bits: &[bool]) -> Result<BitShares> {
        Ok(self
            .bit_ctx()?
            .constant(&pack_bits(bits.iter().copied()), bits.len()))
    }
}
