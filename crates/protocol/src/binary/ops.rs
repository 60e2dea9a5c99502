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

/// The packed values of the concatenation of `parts` (`n` bits in all).
fn concat_values(parts: &[&BitShares], n: usize) -> Vec<u64> {
    let mut v = Vec::with_capacity(words_for(n));
    let mut len = 0;
    for p in parts {
        append_bits(&mut v, len, &p.v, 0, p.len());
        len += p.len();
    }
    v
}

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
    /// The parts are read in place (no concatenated copy of their MAC shares).
    pub(crate) fn and_parts(&mut self, xs: &[&BitShares], ys: &[&BitShares]) -> Result<BitShares> {
        Ok(self.open_and_and(&[], xs, ys)?.1)
    }

    pub(crate) fn and_inner(&mut self, x: &BitShares, y: &BitShares) -> Result<BitShares> {
        Ok(self.open_and_and(&[], &[x], &[y])?.1)
    }

    /// One round that opens the field elements `opens` and computes x ∧ y for x the
    /// concatenation of `xs` and y that of `ys` (binary Beaver: the masked d = x ⊕ a and
    /// e = y ⊕ b travel in the same frame as `opens`). The masked MAC shares of d ‖ e are written
    /// once, straight into the vector that the opening records for the check, and [x ∧ y] is
    /// computed in place over the triple's c in one pass per word.
    pub(crate) fn open_and_and(
        &mut self,
        opens: &[&ShareVec],
        xs: &[&BitShares],
        ys: &[&BitShares],
    ) -> Result<(Vec<Vec<Fp>>, BitShares)> {
        let n: usize = xs.iter().map(|p| p.len()).sum();
        let ny: usize = ys.iter().map(|p| p.len()).sum();
        if n != ny {
            return Err(ProtocolError::InvalidArgument(format!(
                "AND of bit vectors of different lengths ({n} and {ny})"
            )));
        }
        let ctx = self.bit_ctx()?;
        if n == 0 {
            if opens.iter().all(|p| p.is_empty()) {
                return Ok((
                    opens.iter().map(|_| Vec::new()).collect(),
                    BitShares::default(),
                ));
            }
            let (opened_p, _) = self.open_with_bits(opens, BitShares::default())?;
            return Ok((opened_p, BitShares::default()));
        }
        let t = self.take_bit_triples(n)?;
        let masked = {
            let mut v = concat_values(xs, n);
            v.iter_mut().zip(&t.a.v).for_each(|(w, &a)| *w ^= a);
            let mut ve = concat_values(ys, n);
            ve.iter_mut().zip(&t.b.v).for_each(|(w, &b)| *w ^= b);
            append_bits(&mut v, n, &ve, 0, n);
            let mut m = Vec::with_capacity(2 * n);
            for (parts, mask) in [(xs, &t.a.m), (ys, &t.b.m)] {
                let mut off = 0;
                for p in parts {
                    let pad = &mask[off..off + p.len()];
                    m.extend(p.m.iter().zip(pad).map(|(&u, &w)| u + w));
                    off += p.len();
                }
            }
            BitShares { len: 2 * n, v, m }
        };
        let (opened_p, opened) = if opens.is_empty() {
            (Vec::new(), self.open_bits_raw(masked)?)
        } else {
            self.open_with_bits(opens, masked)?
        };
        let d = sub_bits(&opened, 0, n);
        let e = sub_bits(&opened, n, n);
        // z = c ⊕ d∧b ⊕ e∧a ⊕ d∧e (the public d∧e: party 0's value, every party's Δ_i·(d∧e)).
        let mut z = t.c;
        for (w, ((zv, (&dw, &ew)), (&aw, &bw))) in
            z.v.iter_mut()
                .zip(d.iter().zip(&e))
                .zip(t.a.v.iter().zip(&t.b.v))
                .enumerate()
        {
            let de = dw & ew;
            *zv ^= (bw & dw) ^ (aw & ew) ^ if ctx.me == 0 { de } else { 0 };
            let lo = w * 64;
            let hi = (lo + 64).min(n);
            let zm = &mut z.m[lo..hi];
            let (am, bm) = (&t.a.m[lo..hi], &t.b.m[lo..hi]);
            for (k, (zm, (am, bm))) in zm.iter_mut().zip(am.iter().zip(bm)).enumerate() {
                let (db, eb) = ((dw >> k) & 1 == 1, (ew >> k) & 1 == 1);
                *zm += bm.select(db) + am.select(eb) + ctx.delta.select(db & eb);
            }
        }
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
