//! Tuples generated ahead of time and served in order.
//!
//! Benchmarks fill a [`TupleBuffer`] before the clock starts (as MP-SPDZ's `-F` reads ready-made
//! files); the node's durable tuple store (a later issue) will hand reservations to the engine the
//! same way. Tuples are moved out as they are served, so none is served twice.
//!
//! Binary-domain tuples (binary triples, daBits, edaBits per shape) are buffered too when the
//! source has a binary MAC key; edaBits are kept one bit row per queue, so that any prefix of the
//! queued elements is served in the bit-major layout of [`EdaBits`].

use std::collections::BTreeMap;

use field::{Fp, Gf128};
use net::PartyId;

use super::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind,
    WideEdaBits,
};
use crate::binary::BitShares;
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
    /// Binary triples (needs a source with the binary domain).
    pub bit_triples: usize,
    /// daBits.
    pub dabits: usize,
    /// edaBits as (binary bits m, arithmetic-only bits e, count).
    pub edabits: Vec<(u32, u32, usize)>,
    /// Wide edaBits as (binary bits m, width w, count).
    pub wide_edabits: Vec<(u32, u32, usize)>,
}

/// A queue of ready tuples; see the module docs.
pub struct TupleBuffer {
    alpha: Fp,
    triples: [Queue; 3],
    squares: [Queue; 2],
    bits: Queue,
    inverses: [Queue; 2],
    masks: BTreeMap<PartyId, MaskQueue>,
    delta: Option<Gf128>,
    bit_triples: [BitQueue; 3],
    dabits: (Queue, BitQueue),
    edabits: BTreeMap<(u32, u32), EdaQueue>,
    /// Wide edaBits per (m, w): the value in `low`, `high` unused.
    wide: BTreeMap<(u32, u32), EdaQueue>,
}

/// edaBits of one shape: the arithmetic halves and one bit queue per bit position.
#[derive(Default)]
struct EdaQueue {
    low: Queue,
    high: Queue,
    rows: Vec<BitQueue>,
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
            delta: None,
            bit_triples: Default::default(),
            dabits: Default::default(),
            edabits: BTreeMap::new(),
            wide: BTreeMap::new(),
        }
    }

    /// Sets this party's binary MAC key share, so that binary-domain tuples can be pushed and
    /// served.
    pub fn set_binary_key_share(&mut self, delta: Gf128) {
        self.delta = Some(delta);
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
        let binary = plan.bit_triples > 0
            || plan.dabits > 0
            || !plan.edabits.is_empty()
            || !plan.wide_edabits.is_empty();
        if binary {
            let delta = source
                .binary_key_share()
                .ok_or(PrepError::Unsupported(TupleKind::BinaryKey))?;
            buf.set_binary_key_share(delta);
            buf.push_bit_triples(source.bit_triples(plan.bit_triples)?)?;
            buf.push_dabits(source.dabits(plan.dabits)?)?;
            for &(bits, extra, n) in &plan.edabits {
                buf.push_edabits(source.edabits(n, bits, extra)?)?;
            }
            for &(bits, width, n) in &plan.wide_edabits {
                buf.push_wide_edabits(source.wide_edabits(n, bits, width)?)?;
            }
        }
        Ok(buf)
    }

    fn need_binary_key(&self) -> Result<(), PrepError> {
        self.delta
            .map(|_| ())
            .ok_or(PrepError::Unsupported(TupleKind::BinaryKey))
    }

    /// Queues binary triples (after [`TupleBuffer::set_binary_key_share`]).
    pub fn push_bit_triples(&mut self, t: BitTriples) -> Result<(), PrepError> {
        self.need_binary_key()?;
        if t.a.len() != t.b.len() || t.a.len() != t.c.len() {
            return Err(PrepError::Source(
                "binary triples: the components have different lengths".into(),
            ));
        }
        let [a, b, c] = &mut self.bit_triples;
        a.push(t.a);
        b.push(t.b);
        c.push(t.c);
        Ok(())
    }

    /// Queues daBits.
    pub fn push_dabits(&mut self, d: DaBits) -> Result<(), PrepError> {
        self.need_binary_key()?;
        if d.arith.len() != d.bin.len() {
            return Err(PrepError::Source(
                "daBits: the two domains have different lengths".into(),
            ));
        }
        self.dabits.0.push(d.arith);
        self.dabits.1.push(d.bin);
        Ok(())
    }

    /// Queues wide edaBits of their shape.
    pub fn push_wide_edabits(&mut self, e: WideEdaBits) -> Result<(), PrepError> {
        self.need_binary_key()?;
        let n = e.value.len();
        let m = e.bits as usize;
        if e.bin.len() != n * m || m == 0 {
            return Err(PrepError::Source(format!(
                "wide edaBits of {} bits ({} in binary): inconsistent lengths",
                e.width, e.bits
            )));
        }
        let q = self.wide.entry((e.bits, e.width)).or_default();
        if q.rows.is_empty() {
            q.rows = (0..m).map(|_| BitQueue::default()).collect();
        }
        for (i, row) in q.rows.iter_mut().enumerate() {
            row.push(e.bin.slice(i * n..(i + 1) * n));
        }
        q.low.push(e.value);
        Ok(())
    }

    /// Queues edaBits of their shape.
    pub fn push_edabits(&mut self, e: EdaBits) -> Result<(), PrepError> {
        self.need_binary_key()?;
        let n = e.low.len();
        let m = e.bits as usize;
        if e.high.len() != n || e.bin.len() != n * m || m == 0 {
            return Err(PrepError::Source(format!(
                "edaBits of {} + {} bits: inconsistent lengths",
                e.bits, e.extra
            )));
        }
        let q = self.edabits.entry((e.bits, e.extra)).or_default();
        if q.rows.is_empty() {
            q.rows = (0..m).map(|_| BitQueue::default()).collect();
        }
        for (i, row) in q.rows.iter_mut().enumerate() {
            row.push(e.bin.slice(i * n..(i + 1) * n));
        }
        q.low.push(e.low);
        q.high.push(e.high);
        Ok(())
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
            TupleKind::BitTriple => self.bit_triples[0].len(),
            TupleKind::DaBit => self.dabits.0.len(),
            TupleKind::EdaBit { bits, extra } => {
                self.edabits.get(&(bits, extra)).map_or(0, |q| q.low.len())
            }
            TupleKind::WideEdaBit { bits, width } => {
                self.wide.get(&(bits, width)).map_or(0, |q| q.low.len())
            }
            TupleKind::BinaryKey => usize::from(self.delta.is_some()),
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

/// A bit vector served from the front by a cursor, like [`Queue`].
#[derive(Default)]
struct BitQueue {
    data: BitShares,
    off: usize,
}

impl BitQueue {
    fn len(&self) -> usize {
        self.data.len() - self.off
    }

    fn push(&mut self, more: BitShares) {
        if self.off == self.data.len() {
            *self = BitQueue { data: more, off: 0 };
            return;
        }
        if self.off > 0 {
            self.data = self.data.slice(self.off..self.data.len());
            self.off = 0;
        }
        self.data.extend(&more);
    }

    fn take(&mut self, n: usize) -> BitShares {
        if self.off == 0 && n == self.data.len() {
            return std::mem::take(&mut self.data);
        }
        let out = self.data.slice(self.off..self.off + n);
        self.off += n;
        if self.off == self.data.len() {
            *self = BitQueue::default();
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

    fn binary_key_share(&self) -> Option<Gf128> {
        self.delta
    }

    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        self.need_binary_key()?;
        let have = self.bit_triples[0].len();
        if n > have {
            return Err(exhausted(TupleKind::BitTriple, n, have));
        }
        let [a, b, c] = &mut self.bit_triples;
        Ok(BitTriples {
            a: a.take(n),
            b: b.take(n),
            c: c.take(n),
        })
    }

    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        self.need_binary_key()?;
        let have = self.dabits.0.len();
        if n > have {
            return Err(exhausted(TupleKind::DaBit, n, have));
        }
        Ok(DaBits {
            arith: self.dabits.0.take(n),
            bin: self.dabits.1.take(n),
        })
    }

    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        self.need_binary_key()?;
        let kind = TupleKind::EdaBit { bits, extra };
        let Some(q) = self.edabits.get_mut(&(bits, extra)) else {
            return Err(exhausted(kind, n, 0));
        };
        let have = q.low.len();
        if n > have {
            return Err(exhausted(kind, n, have));
        }
        let rows: Vec<BitShares> = q.rows.iter_mut().map(|r| r.take(n)).collect();
        Ok(EdaBits {
            bits,
            extra,
            low: q.low.take(n),
            high: q.high.take(n),
            bin: BitShares::concat(&rows.iter().collect::<Vec<_>>()),
        })
    }

    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        self.need_binary_key()?;
        let kind = TupleKind::WideEdaBit { bits, width };
        let Some(q) = self.wide.get_mut(&(bits, width)) else {
            return Err(exhausted(kind, n, 0));
        };
        let have = q.low.len();
        if n > have {
            return Err(exhausted(kind, n, have));
        }
        let rows: Vec<BitShares> = q.rows.iter_mut().map(|r| r.take(n)).collect();
        Ok(WideEdaBits {
            bits,
            width,
            value: q.low.take(n),
            bin: BitShares::concat(&rows.iter().collect::<Vec<_>>()),
        })
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
    fn buffer_serves_binary_tuples_in_order_then_reports_exhaustion() {
        let mut dealer = InsecureDealer::new(1, 3, [5; 32]);
        let plan = TuplePlan {
            bit_triples: 100,
            dabits: 10,
            edabits: vec![(8, 3, 20)],
            ..TuplePlan::default()
        };
        let mut buf = TupleBuffer::fill_from(&mut dealer, &plan).unwrap();
        assert_eq!(buf.binary_key_share(), dealer.binary_key_share());
        let mut reference = InsecureDealer::new(1, 3, [5; 32]);
        let t = reference.bit_triples(100).unwrap();
        let d = reference.dabits(10).unwrap();
        let e = reference.edabits(20, 8, 3).unwrap();
        let t1 = buf.bit_triples(30).unwrap();
        let t2 = buf.bit_triples(70).unwrap();
        assert_eq!(t1.c, t.c.slice(0..30));
        assert_eq!(t2.a, t.a.slice(30..100));
        assert!(matches!(
            buf.bit_triples(1),
            Err(PrepError::Exhausted {
                kind: TupleKind::BitTriple,
                ..
            })
        ));
        assert_eq!(buf.dabits(10).unwrap().bin, d.bin);
        // A prefix of 5 edaBits, then the other 15: bit-major within each batch.
        let e1 = buf.edabits(5, 8, 3).unwrap();
        let e2 = buf.edabits(15, 8, 3).unwrap();
        for i in 0..8 {
            assert_eq!(e1.bit(i), e.bit(i).slice(0..5));
            assert_eq!(e2.bit(i), e.bit(i).slice(5..20));
        }
        assert_eq!(e2.low, e.low.slice(5..20));
        assert_eq!(e1.high, e.high.slice(0..5));
        assert!(buf.edabits(1, 8, 3).is_err());
        assert!(matches!(
            buf.edabits(1, 9, 3),
            Err(PrepError::Exhausted { available: 0, .. })
        ));
        // Without a binary key, binary tuples are refused.
        let mut plain = TupleBuffer::new(dealer.mac_key_share());
        assert!(matches!(
            plain.push_dabits(dealer.dabits(1).unwrap()),
            Err(PrepError::Unsupported(TupleKind::BinaryKey))
        ));
        assert!(plain.bit_triples(0).is_err());
    }

    #[test]
    fn buffer_serves_wide_edabits_in_order_then_reports_exhaustion() {
        let mut dealer = InsecureDealer::new(0, 2, [6; 32]);
        let plan = TuplePlan {
            wide_edabits: vec![(8, 60, 10)],
            ..TuplePlan::default()
        };
        let mut buf = TupleBuffer::fill_from(&mut dealer, &plan).unwrap();
        let mut reference = InsecureDealer::new(0, 2, [6; 32]);
        let all = reference.wide_edabits(10, 8, 60).unwrap();
        let first = buf.wide_edabits(4, 8, 60).unwrap();
        let second = buf.wide_edabits(6, 8, 60).unwrap();
        assert_eq!((first.bits, first.width), (8, 60));
        assert_eq!(first.value, all.value.slice(0..4));
        assert_eq!(second.value, all.value.slice(4..10));
        for i in 0..8 {
            assert_eq!(first.bit(i), all.bit(i).slice(0..4));
            assert_eq!(second.bit(i), all.bit(i).slice(4..10));
        }
        assert!(matches!(
            buf.wide_edabits(1, 8, 60),
            Err(PrepError::Exhausted {
                kind: TupleKind::WideEdaBit { bits: 8, width: 60 },
                needed: 1,
                available: 0
            })
        ));
        // Another shape is another kind: none of it was planned.
        assert!(matches!(
            buf.wide_edabits(1, 9, 60),
            Err(PrepError::Exhausted { available: 0, .. })
        ));
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
