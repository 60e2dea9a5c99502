//! Tuples generated ahead of time and served in order.
//!
//! Benchmarks fill a [`TupleBuffer`] before the clock starts (as MP-SPDZ's `-F` reads ready-made
//! files); the node's durable tuple store (a later issue) will hand reservations to the engine the
//! same way. Tuples are moved out as they are served, so none is served twice.

use std::collections::BTreeMap;

use field::Fp;
use net::PartyId;

use super::{InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind};
use crate::share::ShareVec;

/// How many tuples of each kind to prepare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TuplePlan {
    pub triples: usize,
    pub squares: usize,
    pub bits: usize,
    pub inverses: usize,
    /// Input masks per owning party.
    pub input_masks: Vec<usize>,
}

/// A queue of ready tuples; see the module docs.
pub struct TupleBuffer {
    alpha: Fp,
    triples: Triples,
    squares: Pairs,
    bits: ShareVec,
    inverses: Pairs,
    masks: BTreeMap<PartyId, InputMasks>,
}

impl std::fmt::Debug for TupleBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TupleBuffer")
            .field("triples", &self.triples.a.len())
            .field("squares", &self.squares.a.len())
            .field("bits", &self.bits.len())
            .field("inverses", &self.inverses.a.len())
            .finish_non_exhaustive()
    }
}

fn exhausted(kind: TupleKind, needed: usize, available: usize) -> PrepError {
    PrepError::Exhausted { kind, needed, available }
}

impl TupleBuffer {
    /// Draws everything in `plan` from `source` now.
    pub fn fill_from<P: Preprocessing>(source: &mut P, plan: &TuplePlan) -> Result<TupleBuffer, PrepError> {
        let mut masks = BTreeMap::new();
        for (p, &n) in plan.input_masks.iter().enumerate() {
            masks.insert(p, source.input_masks(p, n)?);
        }
        Ok(TupleBuffer {
            alpha: source.mac_key_share(),
            triples: source.triples(plan.triples)?,
            squares: source.squares(plan.squares)?,
            bits: source.bits(plan.bits)?,
            inverses: source.inverses(plan.inverses)?,
            masks,
        })
    }

    /// Triples still available.
    pub fn triples_left(&self) -> usize {
        self.triples.a.len()
    }

    /// Bits still available.
    pub fn bits_left(&self) -> usize {
        self.bits.len()
    }
}

fn take(v: &mut ShareVec, n: usize) -> ShareVec {
    if n == v.len() {
        std::mem::take(v)
    } else {
        v.take_front(n)
    }
}

impl Preprocessing for TupleBuffer {
    fn mac_key_share(&self) -> Fp {
        self.alpha
    }

    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        let have = self.triples.a.len();
        if n > have {
            return Err(exhausted(TupleKind::Triple, n, have));
        }
        let t = &mut self.triples;
        Ok(Triples { a: take(&mut t.a, n), b: take(&mut t.b, n), c: take(&mut t.c, n) })
    }

    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let have = self.squares.a.len();
        if n > have {
            return Err(exhausted(TupleKind::Square, n, have));
        }
        Ok(Pairs { a: take(&mut self.squares.a, n), b: take(&mut self.squares.b, n) })
    }

    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        let have = self.bits.len();
        if n > have {
            return Err(exhausted(TupleKind::Bit, n, have));
        }
        Ok(take(&mut self.bits, n))
    }

    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let have = self.inverses.a.len();
        if n > have {
            return Err(exhausted(TupleKind::Inverse, n, have));
        }
        Ok(Pairs { a: take(&mut self.inverses.a, n), b: take(&mut self.inverses.b, n) })
    }

    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        let kind = TupleKind::InputMask(owner);
        let Some(m) = self.masks.get_mut(&owner) else {
            return if n == 0 { Ok(InputMasks::default()) } else { Err(exhausted(kind, n, 0)) };
        };
        let have = m.shares.len();
        if n > have {
            return Err(exhausted(kind, n, have));
        }
        let shares = take(&mut m.shares, n);
        let clear = m.clear.as_mut().map(|c| {
            let rest = c.split_off(n);
            std::mem::replace(c, rest)
        });
        Ok(InputMasks { shares, clear: clear.or_else(|| None) })
    }
}
