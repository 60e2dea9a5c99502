//! Memory limits of a run: a per-run cap ([`crate::VmConfig::max_memory_bytes`]) and an optional
//! budget shared by every concurrent run of a node ([`MemoryBudget`]).
//!
//! A run's [`Meter`] counts the bytes its memories and registers hold, and is asked *before* an
//! allocation that grows them. It reserves from the shared budget in steps of [`GRANULE`]
//! (so that concurrent runs rarely touch the shared counter), keeps what it reserved until the
//! run ends, and releases it all when dropped.
//!
//! **Architecture Invariant:** what a run counts depends only on the program and public values
//! (addresses, vector lengths), so every party with the same limit meets
//! [`crate::VmError::MemoryLimit`] at the same instruction. The shared budget depends on what
//! else the node runs: [`crate::VmError::MemoryBudget`] is local to one party.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How much a run reserves from a [`MemoryBudget`] at a time (at least).
pub const GRANULE: u64 = 1 << 20;

/// Bytes of memory shared by all runs of a node: each run reserves from it as its memories and
/// registers grow and gives everything back when it ends.
#[derive(Debug)]
pub struct MemoryBudget {
    capacity: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `capacity` bytes, none of it in use.
    pub fn new(capacity: u64) -> MemoryBudget {
        MemoryBudget {
            capacity,
            used: AtomicU64::new(0),
        }
    }

    /// The budget's size in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes reserved by the runs going on now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Reserves `bytes` if that keeps the total within the capacity; false otherwise (and nothing
    /// is reserved).
    pub fn try_reserve(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(bytes).filter(|&t| t <= self.capacity)
            })
            .is_ok()
    }

    /// Gives back `bytes` reserved by [`MemoryBudget::try_reserve`].
    pub fn release(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(bytes))
            });
    }
}

/// Which limit an allocation would exceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// The run's own limit (bytes).
    Run { limit: u64 },
    /// The shared budget (its capacity in bytes).
    Shared { capacity: u64 },
}

/// What one run holds: memories and registers, in bytes.
#[derive(Debug)]
pub(crate) struct Meter {
    limit: u64,
    budget: Option<Arc<MemoryBudget>>,
    memory: u64,
    registers: u64,
    /// Bytes reserved from `budget` (≥ memory + registers).
    reserved: u64,
    /// The most bytes held at once.
    peak: u64,
}

impl Meter {
    pub(crate) fn new(limit: u64, budget: Option<Arc<MemoryBudget>>) -> Meter {
        Meter {
            limit,
            budget,
            memory: 0,
            registers: 0,
            reserved: 0,
            peak: 0,
        }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes the registers hold, as last set.
    pub(crate) fn registers(&self) -> u64 {
        self.registers
    }

    /// Bytes the run holds now.
    pub(crate) fn used(&self) -> u64 {
        self.memory.saturating_add(self.registers)
    }

    /// The most bytes the run held at once.
    pub(crate) fn peak(&self) -> u64 {
        self.peak
    }

    /// Makes sure `total` bytes fit both limits, reserving from the budget as needed.
    fn admit(&mut self, total: u64) -> Result<(), Exceeded> {
        if total > self.limit {
            return Err(Exceeded::Run { limit: self.limit });
        }
        if total <= self.reserved {
            return Ok(());
        }
        if let Some(b) = &self.budget {
            let exact = total - self.reserved;
            let step = exact
                .max(GRANULE)
                .min(self.limit.saturating_sub(self.reserved));
            if b.try_reserve(step) {
                self.reserved += step;
            } else if step > exact && b.try_reserve(exact) {
                self.reserved += exact;
            } else {
                return Err(Exceeded::Shared {
                    capacity: b.capacity(),
                });
            }
        } else {
            self.reserved = total;
        }
        Ok(())
    }

    /// Memories grow by `bytes`: call before allocating them.
    pub(crate) fn grow_memory(&mut self, bytes: u64) -> Result<(), Exceeded> {
        let memory = self.memory.saturating_add(bytes);
        self.admit(memory.saturating_add(self.registers))?;
        self.memory = memory;
        self.peak = self.peak.max(self.used());
        Ok(())
    }

    /// The registers now hold `bytes` (or are about to).
    pub(crate) fn set_registers(&mut self, bytes: u64) -> Result<(), Exceeded> {
        if bytes > self.registers {
            self.admit(self.memory.saturating_add(bytes))?;
        }
        self.registers = bytes;
        self.peak = self.peak.max(self.used());
        Ok(())
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.release(self.reserved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_what_does_not_fit_and_gets_everything_back() {
        let b = Arc::new(MemoryBudget::new(3 * GRANULE));
        let mut m1 = Meter::new(u64::MAX, Some(b.clone()));
        m1.grow_memory(10).unwrap();
        assert_eq!(b.used(), GRANULE, "reserves a granule at a time");
        m1.grow_memory(GRANULE).unwrap();
        assert_eq!(b.used(), 2 * GRANULE);
        let mut m2 = Meter::new(u64::MAX, Some(b.clone()));
        // Two granules do not fit, but the exact amount does.
        m2.set_registers(GRANULE / 2).unwrap();
        assert_eq!(b.used(), 3 * GRANULE);
        assert_eq!(
            m2.grow_memory(GRANULE),
            Err(Exceeded::Shared {
                capacity: 3 * GRANULE
            })
        );
        assert_eq!(m2.used(), GRANULE / 2, "a refused growth is not counted");
        drop(m1);
        assert_eq!(b.used(), GRANULE);
        m2.grow_memory(GRANULE).unwrap();
        drop(m2);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn the_run_limit_counts_memory_and_registers() {
        let mut m = Meter::new(1000, None);
        m.grow_memory(600).unwrap();
        assert_eq!(m.set_registers(401), Err(Exceeded::Run { limit: 1000 }));
        m.set_registers(400).unwrap();
        assert_eq!(m.grow_memory(1), Err(Exceeded::Run { limit: 1000 }));
        m.set_registers(0).unwrap();
        m.grow_memory(400).unwrap();
        assert_eq!(m.used(), 1000);
        assert_eq!(m.peak(), 1000);
    }
}
