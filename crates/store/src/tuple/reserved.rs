//! [`ReservedTuples`]: read reservations served to the engine as a
//! [`protocol::prep::Preprocessing`].
//!
//! A game reads each of its reservations once ([`super::TupleStore::read_reserved`]) and pushes
//! the tuples here, in the same order on every party; the engine then draws from this adapter.
//! A program whose needs are known only at run time reserves and pushes further batches as it
//! runs. Tuples are moved out as they are served, so none is served twice.

use std::collections::BTreeMap;

use field::Fp;
use net::PartyId;
use protocol::prep::{InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind};
use protocol::ShareVec;

use super::{TupleData, TupleError};

/// A share vector served from the front by a cursor.
#[derive(Default)]
struct Queue {
    data: ShareVec,
    off: usize,
}

impl Queue {
    fn len(&self) -> usize {
        self.data.len() - self.off
    }

    fn push(&mut self, more: &ShareVec) {
        if self.off == self.data.len() {
            self.data = more.clone();
            self.off = 0;
            return;
        }
        if self.off > 0 {
            self.data = self.data.slice(self.off..self.data.len());
            self.off = 0;
        }
        self.data.extend(more);
    }

    fn take(&mut self, n: usize) -> ShareVec {
        if self.off == 0 && n == self.data.len() {
            return std::mem::take(&mut self.data);
        }
        let out = self.data.slice(self.off..self.off + n);
        self.off += n;
        if self.off == self.data.len() {
            *self = Queue::default();
        }
        out
    }
}

/// Input masks of one owner; `clear` (on the owner only) runs in step with the shares.
#[derive(Default)]
struct MaskQueue {
    shares: Queue,
    clear: Option<Vec<Fp>>,
}

/// Tuples read from reservations, served in order; see the module docs.
pub struct ReservedTuples {
    alpha: Fp,
    triples: [Queue; 3],
    squares: [Queue; 2],
    bits: Queue,
    inverses: [Queue; 2],
    masks: BTreeMap<PartyId, MaskQueue>,
}

impl std::fmt::Debug for ReservedTuples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReservedTuples")
            .field("triples", &self.triples[0].len())
            .field("squares", &self.squares[0].len())
            .field("bits", &self.bits.len())
            .field("inverses", &self.inverses[0].len())
            .field(
                "input_masks",
                &self
                    .masks
                    .iter()
                    .map(|(p, q)| (*p, q.shares.len()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn exhausted(kind: TupleKind, needed: usize, available: usize) -> PrepError {
    PrepError::Exhausted {
        kind,
        needed,
        available,
    }
}

impl ReservedTuples {
    /// An empty adapter for a party with MAC key share `alpha` (from
    /// [`super::TupleStore::mac_key_share`]).
    pub fn new(alpha: Fp) -> ReservedTuples {
        ReservedTuples {
            alpha,
            triples: Default::default(),
            squares: Default::default(),
            bits: Queue::default(),
            inverses: Default::default(),
            masks: BTreeMap::new(),
        }
    }

    /// Appends tuples behind those already queued of their kind. Input masks of one owner must
    /// all carry clear values or all not.
    pub fn push(&mut self, data: TupleData) -> Result<(), TupleError> {
        let n = data.len();
        if data.components().iter().any(|c| c.len() != n) {
            return Err(TupleError::MalformedTuples {
                reason: "the components (a, b, c) have different lengths".into(),
            });
        }
        match data {
            TupleData::Triples(t) => {
                self.triples[0].push(&t.a);
                self.triples[1].push(&t.b);
                self.triples[2].push(&t.c);
            }
            TupleData::Squares(p) => {
                self.squares[0].push(&p.a);
                self.squares[1].push(&p.b);
            }
            TupleData::Inverses(p) => {
                self.inverses[0].push(&p.a);
                self.inverses[1].push(&p.b);
            }
            TupleData::Bits(b) => self.bits.push(&b),
            TupleData::InputMasks { owner, masks } => {
                let q = self.masks.entry(owner).or_default();
                let queued = q.shares.len();
                match (&mut q.clear, masks.clear) {
                    (Some(c), Some(more)) if more.len() == n => {
                        c.drain(..c.len() - queued);
                        c.extend(more);
                    }
                    (None, Some(more)) if queued == 0 && more.len() == n => q.clear = Some(more),
                    (None, None) => {}
                    (Some(_), None) if queued == 0 => q.clear = None,
                    _ => {
                        return Err(TupleError::MalformedTuples {
                            reason: format!(
                                "input masks of party {owner}: clear values present in some batches and missing in others, or of the wrong length"
                            ),
                        })
                    }
                }
                q.shares.push(&masks.shares);
            }
        }
        Ok(())
    }

    /// Tuples of `kind` still queued.
    pub fn available(&self, kind: TupleKind) -> usize {
        match kind {
            TupleKind::Triple => self.triples[0].len(),
            TupleKind::Square => self.squares[0].len(),
            TupleKind::Bit => self.bits.len(),
            TupleKind::Inverse => self.inverses[0].len(),
            TupleKind::InputMask(p) => self.masks.get(&p).map_or(0, |q| q.shares.len()),
        }
    }
}

impl Preprocessing for ReservedTuples {
    fn mac_key_share(&self) -> Fp {
        self.alpha
    }

    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        let have = self.triples[0].len();
        if n > have {
            return Err(exhausted(TupleKind::Triple, n, have));
        }
        let [a, b, c] = &mut self.triples;
        Ok(Triples {
            a: a.take(n),
            b: b.take(n),
            c: c.take(n),
        })
    }

    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let have = self.squares[0].len();
        if n > have {
            return Err(exhausted(TupleKind::Square, n, have));
        }
        let [a, b] = &mut self.squares;
        Ok(Pairs {
            a: a.take(n),
            b: b.take(n),
        })
    }

    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        let have = self.bits.len();
        if n > have {
            return Err(exhausted(TupleKind::Bit, n, have));
        }
        Ok(self.bits.take(n))
    }

    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let have = self.inverses[0].len();
        if n > have {
            return Err(exhausted(TupleKind::Inverse, n, have));
        }
        let [a, b] = &mut self.inverses;
        Ok(Pairs {
            a: a.take(n),
            b: b.take(n),
        })
    }

    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        let kind = TupleKind::InputMask(owner);
        let Some(q) = self.masks.get_mut(&owner) else {
            return if n == 0 {
                Ok(InputMasks::default())
            } else {
                Err(exhausted(kind, n, 0))
            };
        };
        let have = q.shares.len();
        if n > have {
            return Err(exhausted(kind, n, have));
        }
        let served = q.shares.off;
        let shares = q.shares.take(n);
        let clear = q.clear.as_ref().map(|c| c[served..served + n].to_vec());
        if q.shares.len() == 0 {
            if let Some(c) = q.clear.as_mut() {
                c.clear();
            }
        }
        Ok(InputMasks { shares, clear })
    }
}
