//! The byte layout of stored tuples: tuple after tuple, each its shares in order.
//!
//! - An arithmetic share is 16 bytes of value then 16 bytes of MAC (the Montgomery
//!   little-endian encoding); for this party's own input masks the 16-byte clear mask value
//!   follows. Without the clear value this is the layout of MP-SPDZ's tuple files (less their
//!   header) and of Castor's chunks.
//! - A binary share (an authenticated bit) is one byte, 0 or 1, then its 16-byte GF(2^128) MAC
//!   share (little-endian).
//!
//! Per kind: triple a, b, c; square and inverse a, b; bit and input mask one share; binary triple
//! a, b, c (binary); daBit the arithmetic share then the binary one; edaBit of m binary and e
//! extra bits the low part, the high part, then bits 0..m; wide edaBit of m binary bits the
//! value, then bits 0..m. In memory edaBits are bit-major (bit i of element j at i·n + j); on
//! disk every tuple is whole, so any range of tuples is a contiguous run of bytes.

use field::{Fp, Gf128};
use protocol::binary::BitShares;
use protocol::prep::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, Triples, TupleKind, WideEdaBits,
};
use protocol::ShareVec;

use super::TupleData;

const ARITH: usize = 32;
const BIN: usize = 17;

/// (arithmetic shares, binary shares) per tuple of `kind`.
fn shape(kind: TupleKind) -> (usize, usize) {
    match kind {
        TupleKind::Triple => (3, 0),
        TupleKind::Square | TupleKind::Inverse => (2, 0),
        TupleKind::Bit | TupleKind::InputMask(_) => (1, 0),
        TupleKind::BitTriple => (0, 3),
        TupleKind::DaBit => (1, 1),
        TupleKind::EdaBit { bits, .. } => (2, bits as usize),
        TupleKind::WideEdaBit { bits, .. } => (1, bits as usize),
        TupleKind::BinaryKey => (0, 0),
    }
}

/// Bytes per tuple.
pub(crate) fn width(kind: TupleKind, has_clear: bool) -> usize {
    let (a, b) = shape(kind);
    ARITH * a + BIN * b + if has_clear { 16 } else { 0 }
}

fn put_arith(out: &mut Vec<u8>, s: &ShareVec, j: usize) {
    out.extend_from_slice(&s.value_shares()[j].to_mont_bytes());
    out.extend_from_slice(&s.mac_shares()[j].to_mont_bytes());
}

fn put_bin(out: &mut Vec<u8>, s: &BitShares, j: usize) {
    out.push(u8::from(s.value_bit(j)));
    out.extend_from_slice(&s.mac_shares()[j].0.to_le_bytes());
}

/// Encodes all tuples of `data` (already [`TupleData::check`]ed).
pub(crate) fn encode(data: &TupleData) -> Vec<u8> {
    let n = data.len();
    let mut out = Vec::with_capacity(n * width(data.kind(), data.has_clear()));
    for j in 0..n {
        match data {
            TupleData::Triples(t) => {
                for c in [&t.a, &t.b, &t.c] {
                    put_arith(&mut out, c, j);
                }
            }
            TupleData::Squares(p) | TupleData::Inverses(p) => {
                put_arith(&mut out, &p.a, j);
                put_arith(&mut out, &p.b, j);
            }
            TupleData::Bits(b) => put_arith(&mut out, b, j),
            TupleData::InputMasks { masks, .. } => {
                put_arith(&mut out, &masks.shares, j);
                if let Some(clear) = &masks.clear {
                    out.extend_from_slice(&clear[j].to_mont_bytes());
                }
            }
            TupleData::BitTriples(t) => {
                for c in [&t.a, &t.b, &t.c] {
                    put_bin(&mut out, c, j);
                }
            }
            TupleData::DaBits(d) => {
                put_arith(&mut out, &d.arith, j);
                put_bin(&mut out, &d.bin, j);
            }
            TupleData::EdaBits(e) => {
                put_arith(&mut out, &e.low, j);
                put_arith(&mut out, &e.high, j);
                for i in 0..e.bits as usize {
                    put_bin(&mut out, &e.bin, i * n + j);
                }
            }
            TupleData::WideEdaBits(e) => {
                put_arith(&mut out, &e.value, j);
                for i in 0..e.bits as usize {
                    put_bin(&mut out, &e.bin, i * n + j);
                }
            }
        }
    }
    out
}

/// Collects decoded arithmetic shares.
#[derive(Default)]
struct ArithCol {
    v: Vec<Fp>,
    m: Vec<Fp>,
}

impl ArithCol {
    fn take(&mut self, b: &[u8]) -> Result<(), String> {
        let v: &[u8; 16] = b[..16].try_into().expect("16 bytes");
        let m: &[u8; 16] = b[16..32].try_into().expect("16 bytes");
        self.v
            .push(Fp::from_mont_bytes(v).map_err(|e| e.to_string())?);
        self.m
            .push(Fp::from_mont_bytes(m).map_err(|e| e.to_string())?);
        Ok(())
    }

    fn finish(self) -> ShareVec {
        ShareVec::from_parts(self.v, self.m)
    }
}

/// Collects decoded binary shares, in any order of indices.
struct BinCol {
    len: usize,
    words: Vec<u64>,
    macs: Vec<Gf128>,
}

impl BinCol {
    fn new(len: usize) -> BinCol {
        BinCol {
            len,
            words: vec![0; len.div_ceil(64)],
            macs: vec![Gf128(0); len],
        }
    }

    fn put(&mut self, at: usize, b: &[u8]) -> Result<(), String> {
        match b[0] {
            0 => {}
            1 => self.words[at / 64] |= 1 << (at % 64),
            x => return Err(format!("a stored bit is {x}, not 0 or 1")),
        }
        let m: [u8; 16] = b[1..17].try_into().expect("16 bytes");
        self.macs[at] = Gf128(u128::from_le_bytes(m));
        Ok(())
    }

    fn finish(self) -> Result<BitShares, String> {
        BitShares::from_parts(self.len, self.words, self.macs)
            .ok_or_else(|| "binary shares of the wrong length".to_string())
    }
}

/// Decodes whole tuples of `kind`; fails on a partial tuple, a non-canonical element or a bit
/// other than 0 or 1.
pub(crate) fn decode(kind: TupleKind, has_clear: bool, bytes: &[u8]) -> Result<TupleData, String> {
    let (na, nb) = shape(kind);
    if na + nb == 0 {
        return Err(format!("{kind}: not a stored kind"));
    }
    let w = width(kind, has_clear);
    if !bytes.len().is_multiple_of(w) {
        return Err(format!(
            "{} bytes is not a whole number of {w}-byte tuples",
            bytes.len()
        ));
    }
    let n = bytes.len() / w;
    let mut arith: Vec<ArithCol> = (0..na).map(|_| ArithCol::default()).collect();
    let mut clear = has_clear.then(|| Vec::with_capacity(n));
    // Triples keep one column per component; daBits and edaBits one bit-major column.
    let bit_columns = if kind == TupleKind::BitTriple { 3 } else { 1 };
    let bits_per_column = if kind == TupleKind::BitTriple { 1 } else { nb };
    let mut bins: Vec<BinCol> = if nb == 0 {
        Vec::new()
    } else {
        (0..bit_columns)
            .map(|_| BinCol::new(n * bits_per_column))
            .collect()
    };
    for (j, t) in bytes.chunks_exact(w).enumerate() {
        let mut at = 0;
        for col in arith.iter_mut() {
            col.take(&t[at..at + ARITH])?;
            at += ARITH;
        }
        for i in 0..nb {
            let b = &t[at..at + BIN];
            if kind == TupleKind::BitTriple {
                bins[i].put(j, b)?;
            } else {
                bins[0].put(i * n + j, b)?;
            }
            at += BIN;
        }
        if let Some(c) = clear.as_mut() {
            let b: &[u8; 16] = t[at..at + 16].try_into().expect("16 bytes");
            c.push(Fp::from_mont_bytes(b).map_err(|e| e.to_string())?);
        }
    }
    let mut arith = arith.into_iter().map(ArithCol::finish);
    let mut next = || arith.next().expect("shape components");
    let mut bins = bins.into_iter().map(BinCol::finish);
    let mut next_bin = || bins.next().expect("shape components");
    Ok(match kind {
        TupleKind::Triple => TupleData::Triples(Triples {
            a: next(),
            b: next(),
            c: next(),
        }),
        TupleKind::Square => TupleData::Squares(Pairs {
            a: next(),
            b: next(),
        }),
        TupleKind::Inverse => TupleData::Inverses(Pairs {
            a: next(),
            b: next(),
        }),
        TupleKind::Bit => TupleData::Bits(next()),
        TupleKind::InputMask(owner) => TupleData::InputMasks {
            owner,
            masks: InputMasks {
                shares: next(),
                clear,
            },
        },
        TupleKind::BitTriple => TupleData::BitTriples(BitTriples {
            a: next_bin()?,
            b: next_bin()?,
            c: next_bin()?,
        }),
        TupleKind::DaBit => TupleData::DaBits(DaBits {
            arith: next(),
            bin: next_bin()?,
        }),
        TupleKind::EdaBit { bits, extra } => TupleData::EdaBits(EdaBits {
            bits,
            extra,
            low: next(),
            high: next(),
            bin: next_bin()?,
        }),
        TupleKind::WideEdaBit { bits, width } => TupleData::WideEdaBits(WideEdaBits {
            bits,
            width,
            value: next(),
            bin: next_bin()?,
        }),
        TupleKind::BinaryKey => return Err(format!("{kind}: not a stored kind")),
    })
}
