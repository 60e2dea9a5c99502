//! The byte layout of stored tuples: tuple after tuple, each its shares in order (a, b, c), each
//! share 16 bytes of value then 16 bytes of MAC (the Montgomery little-endian encoding), then, for
//! this party's own input masks, the 16-byte clear mask value. Without the clear value this is
//! the layout of MP-SPDZ's tuple files (less their header) and of Castor's chunks.

use field::{kernels, Fp};
use protocol::prep::{InputMasks, Pairs, Triples, TupleKind};
use protocol::ShareVec;

use super::{arity, TupleData};

/// Bytes per tuple.
pub(crate) fn width(kind: TupleKind, has_clear: bool) -> usize {
    32 * arity(kind) + if has_clear { 16 } else { 0 }
}

/// Encodes all tuples of `data` (already [`TupleData::check`]ed).
pub(crate) fn encode(data: &TupleData) -> Vec<u8> {
    let comps = data.components();
    let clear = match data {
        TupleData::InputMasks { masks, .. } => masks.clear.as_deref(),
        _ => None,
    };
    let n = data.len();
    let mut out = Vec::with_capacity(n * width(data.kind(), clear.is_some()));
    for j in 0..n {
        for c in &comps {
            out.extend_from_slice(&c.value_shares()[j].to_mont_bytes());
            out.extend_from_slice(&c.mac_shares()[j].to_mont_bytes());
        }
        if let Some(clear) = clear {
            out.extend_from_slice(&clear[j].to_mont_bytes());
        }
    }
    out
}

/// Decodes whole tuples of `kind`; fails on a partial tuple or a non-canonical element.
pub(crate) fn decode(kind: TupleKind, has_clear: bool, bytes: &[u8]) -> Result<TupleData, String> {
    if arity(kind) == 0 {
        return Err(format!(
            "{kind}: the tuple store does not hold binary-domain tuples yet"
        ));
    }
    let w = width(kind, has_clear);
    if !bytes.len().is_multiple_of(w) {
        return Err(format!(
            "{} bytes is not a whole number of {w}-byte tuples",
            bytes.len()
        ));
    }
    let n = bytes.len() / w;
    let all = kernels::decode(bytes).map_err(|e| e.to_string())?;
    let k = arity(kind);
    let per = w / 16;
    let mut vals: Vec<Vec<Fp>> = (0..k).map(|_| Vec::with_capacity(n)).collect();
    let mut macs: Vec<Vec<Fp>> = (0..k).map(|_| Vec::with_capacity(n)).collect();
    let mut clear = has_clear.then(|| Vec::with_capacity(n));
    for t in all.chunks_exact(per) {
        for i in 0..k {
            vals[i].push(t[2 * i]);
            macs[i].push(t[2 * i + 1]);
        }
        if let Some(c) = clear.as_mut() {
            c.push(t[2 * k]);
        }
    }
    let mut shares = vals
        .into_iter()
        .zip(macs)
        .map(|(v, m)| ShareVec::from_parts(v, m));
    let mut next = || shares.next().expect("arity components");
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
        TupleKind::BitTriple
        | TupleKind::DaBit
        | TupleKind::EdaBit { .. }
        | TupleKind::WideEdaBit { .. }
        | TupleKind::BinaryKey => return Err(format!("{kind}: not a stored kind")),
    })
}
