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
    triples: [Queue; 3],
    squares: [Queue; 2],
    bits: Queue,
    inverses: [Queue; 2],
    masks: BTreeMap<PartyId, (Queue, Option<Vec<Fp>>)>,
}

impl std::fmt::Debug for TupleBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TupleBuffer")
            .field("triples", &self.triples[0].len())
            .field("squares", &self.squares[0].len())
            .field("bits", &self.bits.len())
            .field("inverses", &self.inverses[0].len())
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

impl TupleBuffer {
    /// Draws everything in `plan` from `source` now.
    pub fn fill_from<P: Preprocessing>(
        source: &mut P,
        plan: &TuplePlan,
    ) -> Result<TupleBuffer, PrepError> {
        let mut masks = BTreeMap::new();
        for (p, &n) in plan.input_masks.iter().enumerate() {
            let m = source.input_masks(p, n)?;
            masks.insert(p, (Queue::new(m.shares), m.clear));
        }
        let t = source.triples(plan.triples)?;
        let sq = source.squares(plan.squares)?;
        let inv = source.inverses(plan.inverses)?;
        Ok(TupleBuffer {
            alpha: source.mac_key_share(),
            triples: [Queue::new(t.a), Queue::new(t.b), Queue::new(t.c)],
            squares: [Queue::new(sq.a), Queue::new(sq.b)],
            bits: Queue::new(source.bits(plan.bits)?),
            inverses: [Queue::new(inv.a), Queue::new(inv.b)],
            masks,
        })
    }

    /// Triples still available.
    pub fn triples_left(&self) -> usize {
        self.triples[0].len()
    }

    /// Bits still available.
    pub fn bits_left(&self) -> usize {
        self.bits.len()
    }
}

/// A share vector served from the front by a cursor: each element is copied out exactly once and
/// never shifted.
#[derive(Default)]
struct Queue {
    data: ShareVec,
    off: usize,
}

impl Queue {
    fn new(data: ShareVec) -> Queue {
        Queue { data, off: 0 }
    }

    fn len(&self) -> usize {
        self.data.len() - self.off
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

impl Preprocessing for TupleBuffer {
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
        let Some((q, clear)) = self.masks.get_mut(&owner) else {
            return if n == 0 {
                Ok(InputMasks::default())
            } else {
                Err(exhausted(kind, n, 0))
            };
        };
        let have = q.len();
        if n > have {
            return Err(exhausted(kind, n, have));
        }
        let served = q.data.len() - q.len();
        let shares = q.take(n);
        let clear = clear.as_ref().map(|c| c[served..served + n].to_vec());
        Ok(InputMasks { shares, clear })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::InsecureDealer;

    #[test]
    fn buffer_serves_each_tuple_once_then_reports_exhaustion() {
        let mut dealer = InsecureDealer::new(0, 2, [1; 32]);
        let plan = TuplePlan {
            triples: 5,
            bits: 3,
            input_masks: vec![4, 0],
            ..TuplePlan::default()
        };
        let mut buf = TupleBuffer::fill_from(&mut dealer, &plan).unwrap();
        let mut reference = InsecureDealer::new(0, 2, [1; 32]);
        let _ = reference.input_masks(0, 4);
        let _ = reference.input_masks(1, 0);
        let all = reference.triples(5).unwrap();
        let first = buf.triples(2).unwrap();
        let second = buf.triples(3).unwrap();
        assert_eq!(first.a, all.a.slice(0..2));
        assert_eq!(second.c, all.c.slice(2..5));
        assert!(matches!(
            buf.triples(1),
            Err(PrepError::Exhausted {
                kind: TupleKind::Triple,
                needed: 1,
                available: 0
            })
        ));
        let m1 = buf.input_masks(0, 3).unwrap();
        let m2 = buf.input_masks(0, 1).unwrap();
        assert_eq!(m1.clear.as_ref().unwrap().len(), 3);
        assert_eq!(m2.clear.as_ref().unwrap().len(), 1);
        assert!(buf.input_masks(0, 1).is_err());
        assert!(buf.bits(4).is_err());
    }
}
