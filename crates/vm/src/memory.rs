//! The three typed memories (secret, clear, regint), sized from the program and zero where never
//! written. Cells are allocated as they are written (each memory grows to cover the highest
//! address stored, at least doubling), and every growth is charged to the run's [`Meter`] before
//! it is allocated; reads of cells never written give zero without allocating.
//!
//! Secret cells hold this party's value and MAC shares; a cell may instead still name an element
//! of a pending DAG node, and a clear cell may name an element of a pending opening. Those lazy
//! cells live in an [`Overlay`] of runs, so that storing a pending vector of a million elements
//! costs one entry, and loading it back yields one piece.
//!
//! **Architecture Invariant:** after every flush the overlays are empty: [`Memory::settle_secret`]
//! and [`Memory::settle_clear`] copy the evaluated values into the cells.

use std::collections::BTreeMap;

use field::Fp;
use protocol::ShareVec;

use crate::budget::{Exceeded, Meter};
use crate::value::{Piece, SecVec};

/// A run of lazy cells: `len` cells whose values are elements `offset..offset + len` of
/// source `id` (a DAG node or a pending opening).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub len: u64,
    pub id: u32,
    pub offset: u64,
}

/// Non-overlapping runs of lazy cells, keyed by their first address.
#[derive(Default, Debug)]
pub(crate) struct Overlay {
    runs: BTreeMap<u64, Run>,
}

impl Overlay {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Forgets the lazy cells in `a..b`, splitting runs that straddle the bounds.
    pub(crate) fn remove(&mut self, a: u64, b: u64) {
        if self.runs.is_empty() || a >= b {
            return;
        }
        // A run starting before a that reaches into a..b.
        if let Some((&s, &r)) = self.runs.range(..a).next_back() {
            if s + r.len > a {
                self.runs.insert(s, Run { len: a - s, ..r });
                if s + r.len > b {
                    self.runs.insert(
                        b,
                        Run {
                            len: s + r.len - b,
                            id: r.id,
                            offset: r.offset + (b - s),
                        },
                    );
                }
            }
        }
        let inside: Vec<(u64, Run)> = self.runs.range(a..b).map(|(&s, &r)| (s, r)).collect();
        for (s, r) in inside {
            self.runs.remove(&s);
            if s + r.len > b {
                self.runs.insert(
                    b,
                    Run {
                        len: s + r.len - b,
                        id: r.id,
                        offset: r.offset + (b - s),
                    },
                );
            }
        }
    }

    pub(crate) fn insert(&mut self, addr: u64, run: Run) {
        if run.len == 0 {
            return;
        }
        self.remove(addr, addr + run.len);
        self.runs.insert(addr, run);
    }

    /// The parts of `a..b` covered by runs, in order, clipped to `a..b`: (address, run).
    pub(crate) fn query(&self, a: u64, b: u64) -> Vec<(u64, Run)> {
        let mut out = Vec::new();
        if self.runs.is_empty() || a >= b {
            return out;
        }
        if let Some((&s, &r)) = self.runs.range(..a).next_back() {
            if s + r.len > a {
                let end = (s + r.len).min(b);
                out.push((
                    a,
                    Run {
                        len: end - a,
                        id: r.id,
                        offset: r.offset + (a - s),
                    },
                ));
            }
        }
        for (&s, &r) in self.runs.range(a..b) {
            let end = (s + r.len).min(b);
            out.push((s, Run { len: end - s, ..r }));
        }
        out
    }

    pub(crate) fn take_all(&mut self) -> Vec<(u64, Run)> {
        std::mem::take(&mut self.runs).into_iter().collect()
    }
}

/// The memories of one run.
pub(crate) struct Memory {
    /// Declared sizes (elements) of the secret, clear and regint memories.
    size: [u64; 3],
    sv: Vec<Fp>,
    sm: Vec<Fp>,
    pub(crate) s_lazy: Overlay,
    c: Vec<Fp>,
    pub(crate) c_lazy: Overlay,
    r: Vec<i64>,
    /// What this run's memories and registers hold, against its limits.
    pub(crate) meter: Meter,
}

/// Why a memory access failed.
pub(crate) enum MemError {
    /// Outside the memory (of this size).
    OutOfRange(u64),
    /// Growing the memory to `elements` would exceed a limit.
    Limit { elements: u64, exceeded: Exceeded },
}

/// Bytes per element: secret (value and MAC share), clear, regint.
pub(crate) const SECRET_BYTES: u64 = 32;
pub(crate) const CLEAR_BYTES: u64 = 16;
pub(crate) const INT_BYTES: u64 = 8;

/// Addresses every program may use, whatever it declared: MP-SPDZ's memory is static and
/// programs such as `sint.load_mem(0)` read (and write) cells the compiler never allocated,
/// reading zero. Cells are still only allocated when written, and every growth is charged to
/// the run's [`Meter`], so this bounds addresses, not memory.
pub(crate) const ADDRESS_SPACE: u64 = 1 << 40;

fn check(size: u64, addr: u64, n: usize) -> Result<(usize, usize), MemError> {
    let limit = size.max(ADDRESS_SPACE);
    let end = addr.checked_add(n as u64).filter(|&e| e <= limit);
    match end {
        Some(e) => Ok((addr as usize, e as usize)),
        None => Err(MemError::OutOfRange(limit)),
    }
}

/// The length a memory of `len` cells (declared `size`) grows to for an access ending at
/// `end`: at least doubling, to keep growth amortised, but never past the declared size.
fn grown(len: usize, end: usize, size: u64) -> usize {
    let double = len.saturating_mul(2).max(1024);
    end.max(double.min(usize::try_from(size).unwrap_or(usize::MAX)))
}

/// Copies `src[a..b]` where it exists and zeros beyond: cells never written read as zero.
fn read_cells<T: Copy + Default>(src: &[T], a: usize, b: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(b - a);
    let have = b.min(src.len());
    if a < have {
        out.extend_from_slice(&src[a..have]);
    }
    out.resize(b - a, T::default());
    out
}

impl Memory {
    /// Memories of the declared sizes (elements). Nothing is allocated until cells are written.
    pub(crate) fn new(secret: u64, clear: u64, int: u64, meter: Meter) -> Memory {
        Memory {
            size: [secret, clear, int],
            sv: Vec::new(),
            sm: Vec::new(),
            s_lazy: Overlay::default(),
            c: Vec::new(),
            c_lazy: Overlay::default(),
            r: Vec::new(),
            meter,
        }
    }

    /// Bytes the memories hold now (their cells, not the lazy overlays).
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> u64 {
        self.sv.len() as u64 * SECRET_BYTES
            + self.c.len() as u64 * CLEAR_BYTES
            + self.r.len() as u64 * INT_BYTES
    }

    /// The length a memory of `len` cells (declared `size`, `bytes` per cell) must have to hold
    /// cells up to `end`, charged to the meter before the caller allocates it.
    fn ensure(
        meter: &mut Meter,
        len: usize,
        end: usize,
        size: u64,
        bytes: u64,
    ) -> Result<usize, MemError> {
        if end <= len {
            return Ok(len);
        }
        let want = grown(len, end, size);
        if meter.grow_memory((want - len) as u64 * bytes).is_ok() {
            return Ok(want);
        }
        // Past a limit, grow only as far as the access needs.
        meter
            .grow_memory((end - len) as u64 * bytes)
            .map(|()| end)
            .map_err(|exceeded| MemError::Limit {
                elements: end as u64,
                exceeded,
            })
    }

    fn grow_secret(&mut self, end: usize) -> Result<(), MemError> {
        let to = Self::ensure(
            &mut self.meter,
            self.sv.len(),
            end,
            self.size[0],
            SECRET_BYTES,
        )?;
        if to > self.sv.len() {
            self.sv.reserve_exact(to - self.sv.len());
            self.sv.resize(to, Fp::ZERO);
            self.sm.reserve_exact(to - self.sm.len());
            self.sm.resize(to, Fp::ZERO);
        }
        Ok(())
    }

    fn grow_clear(&mut self, end: usize) -> Result<(), MemError> {
        let to = Self::ensure(
            &mut self.meter,
            self.c.len(),
            end,
            self.size[1],
            CLEAR_BYTES,
        )?;
        if to > self.c.len() {
            self.c.reserve_exact(to - self.c.len());
            self.c.resize(to, Fp::ZERO);
        }
        Ok(())
    }

    fn grow_int(&mut self, end: usize) -> Result<(), MemError> {
        let to = Self::ensure(&mut self.meter, self.r.len(), end, self.size[2], INT_BYTES)?;
        if to > self.r.len() {
            self.r.reserve_exact(to - self.r.len());
            self.r.resize(to, 0);
        }
        Ok(())
    }

    pub(crate) fn load_secret(&self, addr: u64, n: usize) -> Result<SecVec, MemError> {
        let (a, b) = check(self.size[0], addr, n)?;
        let lazy = self.s_lazy.query(a as u64, b as u64);
        let copy = |x: usize, y: usize| {
            SecVec::from_shares(ShareVec::from_parts(
                read_cells(&self.sv, x, y),
                read_cells(&self.sm, x, y),
            ))
        };
        if lazy.is_empty() {
            return Ok(copy(a, b));
        }
        let mut out = SecVec::default();
        let mut pos = a;
        for (s, r) in lazy {
            let s = s as usize;
            if s > pos {
                out.extend(&copy(pos, s));
            }
            out.push(Piece::Node {
                id: r.id,
                start: r.offset as usize,
                len: r.len as usize,
            });
            pos = s + r.len as usize;
        }
        if pos < b {
            out.extend(&copy(pos, b));
        }
        Ok(out)
    }

    /// Stores `v`; pieces naming DAG nodes become lazy runs.
    pub(crate) fn store_secret(&mut self, addr: u64, v: &SecVec) -> Result<(), MemError> {
        let (a, b) = check(self.size[0], addr, v.len())?;
        self.grow_secret(b)?;
        self.s_lazy.remove(a as u64, b as u64);
        let mut pos = a;
        for p in v.pieces() {
            match p {
                Piece::Val { data, start, len } => {
                    self.sv[pos..pos + len]
                        .copy_from_slice(&data.value_shares()[*start..start + len]);
                    self.sm[pos..pos + len]
                        .copy_from_slice(&data.mac_shares()[*start..start + len]);
                }
                Piece::Node { id, start, len } => self.s_lazy.insert(
                    pos as u64,
                    Run {
                        len: *len as u64,
                        id: *id,
                        offset: *start as u64,
                    },
                ),
            }
            pos += p.len();
        }
        Ok(())
    }

    /// Copies the evaluated node outputs into the lazy secret cells; `result(id)` gives a node's
    /// output. (Lazy cells were allocated when they were stored.)
    pub(crate) fn settle_secret<'a>(&mut self, result: impl Fn(u32) -> &'a ShareVec) {
        for (s, r) in self.s_lazy.take_all() {
            let data = result(r.id);
            let (s, o, l) = (s as usize, r.offset as usize, r.len as usize);
            self.sv[s..s + l].copy_from_slice(&data.value_shares()[o..o + l]);
            self.sm[s..s + l].copy_from_slice(&data.mac_shares()[o..o + l]);
        }
    }

    /// The clear cells `addr..addr + n`, or `None` if some of them are pending.
    pub(crate) fn load_clear(&self, addr: u64, n: usize) -> Result<Option<Vec<Fp>>, MemError> {
        let (a, b) = check(self.size[1], addr, n)?;
        if !self.c_lazy.query(a as u64, b as u64).is_empty() {
            return Ok(None);
        }
        Ok(Some(read_cells(&self.c, a, b)))
    }

    /// True if some of the clear cells `addr..addr + n` are pending.
    pub(crate) fn clear_pending(&self, addr: u64, n: usize) -> bool {
        !self
            .c_lazy
            .query(addr, addr.saturating_add(n as u64))
            .is_empty()
    }

    pub(crate) fn store_clear(&mut self, addr: u64, v: &[Fp]) -> Result<(), MemError> {
        let (a, b) = check(self.size[1], addr, v.len())?;
        self.grow_clear(b)?;
        self.c_lazy.remove(a as u64, b as u64);
        self.c[a..b].copy_from_slice(v);
        Ok(())
    }

    /// Marks `addr..addr + len` as the output of pending opening `open`.
    pub(crate) fn store_clear_pending(
        &mut self,
        addr: u64,
        open: u32,
        len: usize,
    ) -> Result<(), MemError> {
        let (a, b) = check(self.size[1], addr, len)?;
        self.grow_clear(b)?;
        self.c_lazy.insert(
            a as u64,
            Run {
                len: len as u64,
                id: open,
                offset: 0,
            },
        );
        Ok(())
    }

    pub(crate) fn settle_clear<'a>(&mut self, result: impl Fn(u32) -> &'a [Fp]) {
        for (s, r) in self.c_lazy.take_all() {
            let data = result(r.id);
            let (s, o, l) = (s as usize, r.offset as usize, r.len as usize);
            self.c[s..s + l].copy_from_slice(&data[o..o + l]);
        }
    }

    pub(crate) fn load_int(&self, addr: u64, n: usize) -> Result<Vec<i64>, MemError> {
        let (a, b) = check(self.size[2], addr, n)?;
        Ok(read_cells(&self.r, a, b))
    }

    pub(crate) fn store_int(&mut self, addr: u64, v: &[i64]) -> Result<(), MemError> {
        let (a, b) = check(self.size[2], addr, v.len())?;
        self.grow_int(b)?;
        self.r[a..b].copy_from_slice(v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(len: u64, id: u32, offset: u64) -> Run {
        Run { len, id, offset }
    }

    #[test]
    fn overlay_splits_and_queries_runs() {
        let mut o = Overlay::default();
        o.insert(10, run(10, 1, 0));
        o.insert(14, run(2, 2, 5));
        assert_eq!(
            o.query(0, 100),
            vec![(10, run(4, 1, 0)), (14, run(2, 2, 5)), (16, run(4, 1, 6))]
        );
        assert_eq!(
            o.query(15, 17),
            vec![(15, run(1, 2, 6)), (16, run(1, 1, 6))]
        );
        o.remove(12, 18);
        assert_eq!(
            o.query(0, 100),
            vec![(10, run(2, 1, 0)), (18, run(2, 1, 8))]
        );
        o.remove(0, 100);
        assert!(o.is_empty());
    }

    #[test]
    fn memory_grows_as_it_is_written_and_reads_zero_elsewhere() {
        let size = 1u64 << 40;
        let mut m = Memory::new(size, size, size, Meter::new(1 << 20, None));
        assert_eq!(m.allocated_bytes(), 0);
        // Reading far away allocates nothing and gives zeros.
        assert_eq!(m.load_int(size - 3, 3).ok(), Some(vec![0; 3]));
        assert_eq!(m.load_clear(1 << 30, 2).ok(), Some(Some(vec![Fp::ZERO; 2])));
        assert_eq!(m.allocated_bytes(), 0);
        m.store_int(10, &[7, 8]).ok().unwrap();
        assert_eq!(
            m.allocated_bytes(),
            1024 * INT_BYTES,
            "a first growth of 1024 cells"
        );
        assert_eq!(m.load_int(9, 4).ok(), Some(vec![0, 7, 8, 0]));
        assert_eq!(m.load_int(1023, 2).ok(), Some(vec![0, 0]));
        m.store_clear(5000, &[Fp::ONE]).ok().unwrap();
        assert_eq!(m.allocated_bytes(), 1024 * INT_BYTES + 5001 * CLEAR_BYTES);
        assert_eq!(m.meter.used(), m.allocated_bytes());
        // Past the run's limit (1 MiB): refused, nothing allocated, the size reported.
        match m.store_secret(40_000, &SecVec::from_shares(ShareVec::zeros(1))) {
            Err(MemError::Limit { elements, exceeded }) => {
                assert_eq!(elements, 40_001);
                assert_eq!(exceeded, Exceeded::Run { limit: 1 << 20 });
            }
            _ => panic!("a secret memory of 40001 elements (1.3 MB) exceeds 1 MiB"),
        }
        assert_eq!(m.meter.used(), m.allocated_bytes());
        // Beyond the address space is still an out-of-range access.
        assert!(matches!(
            m.store_int(size, &[1]),
            Err(MemError::OutOfRange(s)) if s == size
        ));
    }

    #[test]
    fn cells_beyond_the_declared_size_read_zero_and_can_be_written() {
        // As MP-SPDZ's static memory: `sint.load_mem(0)` in a program that allocated nothing.
        let mut m = Memory::new(0, 0, 0, Meter::new(1 << 20, None));
        assert_eq!(m.load_int(3, 2).ok(), Some(vec![0, 0]));
        m.store_int(3, &[5]).ok().unwrap();
        assert_eq!(m.load_int(2, 3).ok(), Some(vec![0, 5, 0]));
        assert!(matches!(
            m.load_int(ADDRESS_SPACE, 1),
            Err(MemError::OutOfRange(s)) if s == ADDRESS_SPACE
        ));
    }

    #[test]
    fn growth_near_the_limit_takes_only_what_the_access_needs() {
        // Doubling 20_000 secret cells would need 1.28 MB; the access needs 0.64 MB + 32.
        let mut m = Memory::new(1 << 30, 0, 0, Meter::new(1 << 20, None));
        let one = SecVec::from_shares(ShareVec::zeros(1));
        m.store_secret(19_999, &one).ok().unwrap();
        m.store_secret(20_000, &one).ok().unwrap();
        assert_eq!(m.allocated_bytes(), 20_001 * SECRET_BYTES);
    }
}
