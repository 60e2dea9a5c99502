//! The three typed memories (secret, clear, regint), zero-initialised and sized from the program.
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
    sv: Vec<Fp>,
    sm: Vec<Fp>,
    pub(crate) s_lazy: Overlay,
    c: Vec<Fp>,
    pub(crate) c_lazy: Overlay,
    r: Vec<i64>,
}

/// An access outside a memory: (memory size).
pub(crate) struct OutOfRange(pub u64);

fn check(size: usize, addr: u64, n: usize) -> Result<(usize, usize), OutOfRange> {
    let end = addr.checked_add(n as u64).filter(|&e| e <= size as u64);
    match end {
        Some(e) => Ok((addr as usize, e as usize)),
        None => Err(OutOfRange(size as u64)),
    }
}

impl Memory {
    pub(crate) fn new(secret: usize, clear: usize, int: usize) -> Memory {
        Memory {
            sv: vec![Fp::ZERO; secret],
            sm: vec![Fp::ZERO; secret],
            s_lazy: Overlay::default(),
            c: vec![Fp::ZERO; clear],
            c_lazy: Overlay::default(),
            r: vec![0; int],
        }
    }

    pub(crate) fn load_secret(&self, addr: u64, n: usize) -> Result<SecVec, OutOfRange> {
        let (a, b) = check(self.sv.len(), addr, n)?;
        let lazy = self.s_lazy.query(a as u64, b as u64);
        let copy = |x: usize, y: usize| {
            SecVec::from_shares(ShareVec::from_parts(
                self.sv[x..y].to_vec(),
                self.sm[x..y].to_vec(),
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
    pub(crate) fn store_secret(&mut self, addr: u64, v: &SecVec) -> Result<(), OutOfRange> {
        let (a, b) = check(self.sv.len(), addr, v.len())?;
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
    /// output.
    pub(crate) fn settle_secret<'a>(&mut self, result: impl Fn(u32) -> &'a ShareVec) {
        for (s, r) in self.s_lazy.take_all() {
            let data = result(r.id);
            let (s, o, l) = (s as usize, r.offset as usize, r.len as usize);
            self.sv[s..s + l].copy_from_slice(&data.value_shares()[o..o + l]);
            self.sm[s..s + l].copy_from_slice(&data.mac_shares()[o..o + l]);
        }
    }

    /// The clear cells `addr..addr + n`, or `None` if some of them are pending.
    pub(crate) fn load_clear(&self, addr: u64, n: usize) -> Result<Option<Vec<Fp>>, OutOfRange> {
        let (a, b) = check(self.c.len(), addr, n)?;
        if !self.c_lazy.query(a as u64, b as u64).is_empty() {
            return Ok(None);
        }
        Ok(Some(self.c[a..b].to_vec()))
    }

    /// True if some of the clear cells `addr..addr + n` are pending.
    pub(crate) fn clear_pending(&self, addr: u64, n: usize) -> bool {
        !self
            .c_lazy
            .query(addr, addr.saturating_add(n as u64))
            .is_empty()
    }

    pub(crate) fn store_clear(&mut self, addr: u64, v: &[Fp]) -> Result<(), OutOfRange> {
        let (a, b) = check(self.c.len(), addr, v.len())?;
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
    ) -> Result<(), OutOfRange> {
        let (a, _) = check(self.c.len(), addr, len)?;
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

    pub(crate) fn load_int(&self, addr: u64, n: usize) -> Result<Vec<i64>, OutOfRange> {
        let (a, b) = check(self.r.len(), addr, n)?;
        Ok(self.r[a..b].to_vec())
    }

    pub(crate) fn store_int(&mut self, addr: u64, v: &[i64]) -> Result<(), OutOfRange> {
        let (a, b) = check(self.r.len(), addr, v.len())?;
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
}
