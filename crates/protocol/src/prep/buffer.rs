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
    masks: BTreeMap<PartyId, MaskQueue>,
}

/// Input masks of one owner; `clear[i]` belongs to the i-th queued share (owner only).
#[derive(Default)]
struct MaskQueue {
    shares: Queue,
    clear: Option<Vec<Fp>>,
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

fn same_lengths(what: &str, parts: &[&ShareVec]) -> Result<(), PrepError> {
    if parts.windows(2).any(|w| w[0].len() != w[1].len()) {
        return Err(PrepError::Source(format!(
            "{what}: the components have different lengths"
        )));
    }
    Ok(())
}

fn exhausted(kind: TupleKind, needed: usize, available: usize) -> PrepError {
    PrepError::Exhausted {
        kind,
        needed,
        available,
    }
}

impl TupleBuffer {
    /// An empty buffer for a party with MAC key share `alpha`; fill it with the `push_*` methods.
    pub fn new(alpha: Fp) -> TupleBuffer {
        TupleBuffer {
            alpha,
            triples: Default::default(),
            squares: Default::default(),
            bits: Queue::default(),
            inverses: Default::default(),
            masks: BTreeMap::new(),
        }
    }

    /// Draws everything in `plan` from `source` now.
    pub fn fill_from<P: Preprocessing>(
        source: &mut P,
        plan: &TuplePlan,
    ) -> Result<TupleBuffer, PrepError> {
        let mut buf = TupleBuffer::new(source.mac_key_share());
        for (p, &n) in plan.input_masks.iter().enumerate() {
            buf.push_input_masks(p, source.input_masks(p, n)?)?;
        }
        buf.push_triples(source.triples(plan.triples)?)?;
        buf.push_squares(source.squares(plan.squares)?)?;
        buf.push_bits(source.bits(plan.bits)?);
        buf.push_inverses(source.inverses(plan.inverses)?)?;
        Ok(buf)
    }

    /// Queues triples behind those already queued.
    pub fn push_triples(&mut self, t: Triples) -> Result<(), PrepError> {
        same_lengths("triples", &[&t.a, &t.b, &t.c])?;
        let [a, b, c] = &mut self.triples;
        a.push(t.a);
        b.push(t.b);
        c.push(t.c);
        Ok(())
    }

    /// Queues square pairs.
    pub fn push_squares(&mut self, p: Pairs) -> Result<(), PrepError> {
        same_lengths("square pairs", &[&p.a, &p.b])?;
        let [a, b] = &mut self.squares;
        a.push(p.a);
        b.push(p.b);
        Ok(())
    }

    /// Queues inverse pairs.
    pub fn push_inverses(&mut self, p: Pairs) -> Result<(), PrepError> {
        same_lengths("inverse pairs", &[&p.a, &p.b])?;
        let [a, b] = &mut self.inverses;
        a.push(p.a);
        b.push(p.b);
        Ok(())
    }

    /// Queues random bits.
    pub fn push_bits(&mut self, bits: ShareVec) {
        self.bits.push(bits);
    }

    /// Queues input masks of `owner`. All batches of one owner must carry clear values (on the
    /// owner) or none (elsewhere).
    pub fn push_input_masks(&mut self, owner: PartyId, m: InputMasks) -> Result<(), PrepError> {
        let n = m.shares.len();
        let q = self.masks.entry(owner).or_default();
        let queued = q.shares.len();
        match (&mut q.clear, m.clear) {
            (Some(c), Some(more)) if more.len() == n => {
                c.drain(..c.len() - queued);
                c.extend(more);
            }
            (None, Some(more)) if queued == 0 && more.len() == n => q.clear = Some(more),
            (None, None) => {}
            (Some(_), None) if queued == 0 => q.clear = None,
            _ => {
                return Err(PrepError::Source(format!(
                    "input masks of party {owner}: clear values present in some batches and missing in others, or of the wrong length"
                )))
            }
        }
        q.shares.push(m.shares);
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
            // Binary-domain kinds are not buffered (yet): a buffer serves the arithmetic kernels.
            TupleKind::BitTriple
            | TupleKind::DaBit
            | TupleKind::EdaBit { .. }
            | TupleKind::BinaryKey => 0,
        }
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

    /// Appends `more` behind the queued elements, dropping the already served front.
    fn push(&mut self, more: ShareVec) {
        if self.off == self.data.len() {
            *self = Queue::new(more);
            return;
        }
        if self.off > 0 {
            self.data = self.data.slice(self.off..self.data.len());
            self.off = 0;
        }
        self.data.extend(&more);
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
        let clear = q.clear.as_ref().map(|c| c[served..served + n].to_vec());
        let shares = q.shares.take(n);
        if q.shares.len() == 0 {
            if let Some(c) = q.clear.as_mut() {
                c.clear();
            }
        }
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

    #[test]
    fn pushed_input_masks_keep_clear_values_aligned_across_batches() {
        let mut dealer = InsecureDealer::new(0, 2, [2; 32]);
        let first = dealer.input_masks(0, 3).unwrap();
        let second = dealer.input_masks(0, 2).unwrap();
        let mut all_clear = first.clear.clone().unwrap();
        all_clear.extend(second.clear.clone().unwrap());
        let mut all_shares = first.shares.clone();
        all_shares.extend(&second.shares);
        let mut buf = TupleBuffer::new(dealer.mac_key_share());
        buf.push_input_masks(0, first).unwrap();
        let a = buf.input_masks(0, 2).unwrap();
        buf.push_input_masks(0, second).unwrap();
        assert_eq!(buf.available(TupleKind::InputMask(0)), 3);
        let b = buf.input_masks(0, 3).unwrap();
        assert_eq!(a.clear.unwrap(), all_clear[..2]);
        assert_eq!(b.clear.unwrap(), all_clear[2..]);
        assert_eq!(b.shares, all_shares.slice(2..5));
        // Mixing batches with and without clear values for one owner is refused.
        let mut other = InsecureDealer::new(1, 2, [2; 32]);
        let no_clear = other.input_masks(0, 1).unwrap();
        assert!(no_clear.clear.is_none());
        buf.push_input_masks(0, dealer.input_masks(0, 1).unwrap())
            .unwrap();
        assert!(buf.push_input_masks(0, no_clear).is_err());
    }
}
