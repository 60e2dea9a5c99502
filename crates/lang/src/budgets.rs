//! Resource budgets for compiling untrusted source. Every party compiles code a client sent, so
//! the evaluator counts what it does and stops with a clear error when a budget runs out.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use crate::diagnostics::{Error, ErrorKind};

/// Limits for one compilation. The defaults are generous for real programs (a 10^5-iteration
/// Python-unrolled loop fits comfortably) and small enough to stop hostile input quickly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budgets {
    /// Evaluation steps: one per statement and per expression node evaluated.
    pub max_steps: u64,
    /// Bytecode instructions emitted (all functions together).
    pub max_instructions: u64,
    /// Approximate bytes of live compile-time values plus emitted code.
    pub max_memory_bytes: u64,
    /// Nesting depth of Python calls (and of expression evaluation, which shares the limit
    /// scaled by 16).
    pub max_recursion_depth: u32,
    /// Wall-clock time for the whole compilation.
    pub max_wall_time: Duration,
}

impl Default for Budgets {
    fn default() -> Budgets {
        Budgets {
            max_steps: 50_000_000,
            max_instructions: 5_000_000,
            max_memory_bytes: 512 << 20,
            max_recursion_depth: 200,
            max_wall_time: Duration::from_secs(10),
        }
    }
}

/// Which budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetKind {
    Steps,
    Instructions,
    Memory,
    RecursionDepth,
    WallTime,
}

impl BudgetKind {
    /// The `Budgets` field to raise.
    pub fn field(&self) -> &'static str {
        match self {
            BudgetKind::Steps => "max_steps",
            BudgetKind::Instructions => "max_instructions",
            BudgetKind::Memory => "max_memory_bytes",
            BudgetKind::RecursionDepth => "max_recursion_depth",
            BudgetKind::WallTime => "max_wall_time",
        }
    }
}

impl fmt::Display for BudgetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BudgetKind::Steps => "evaluation-step budget",
            BudgetKind::Instructions => "instruction budget",
            BudgetKind::Memory => "memory budget",
            BudgetKind::RecursionDepth => "recursion-depth budget",
            BudgetKind::WallTime => "wall-time budget",
        })
    }
}

thread_local! {
    /// Approximate live bytes of compile-time containers on this (compiler) thread.
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

/// Record `n` more live bytes (containers call this when they grow).
pub fn mem_add(n: usize) {
    LIVE_BYTES.with(|c| c.set(c.get() + n as i64));
}

/// Record `n` bytes released (containers call this when dropped).
pub fn mem_sub(n: usize) {
    LIVE_BYTES.with(|c| c.set(c.get() - n as i64));
}

pub fn mem_live() -> u64 {
    LIVE_BYTES.with(|c| c.get().max(0) as u64)
}

pub(crate) fn mem_reset() {
    LIVE_BYTES.with(|c| c.set(0));
}

/// Counts consumption against [`Budgets`].
pub struct Tracker {
    pub budgets: Budgets,
    pub steps: u64,
    start: Instant,
    next_slow_check: u64,
    /// Bytes of emitted code, added by the code builder.
    pub code_bytes: u64,
}

impl Tracker {
    pub fn new(budgets: Budgets) -> Tracker {
        Tracker {
            budgets,
            steps: 0,
            start: Instant::now(),
            next_slow_check: 0,
            code_bytes: 0,
        }
    }

    pub fn exceeded(&self, kind: BudgetKind, detail: String) -> Error {
        let (current, how) = match kind {
            BudgetKind::Steps => (
                self.budgets.max_steps.to_string(),
                "raise `Budgets::max_steps` (or shrink compile-time loops; use @for_range for run-time loops, which compile their body once)",
            ),
            BudgetKind::Instructions => (
                self.budgets.max_instructions.to_string(),
                "raise `Budgets::max_instructions`, or replace Python loops that unroll into code by @for_range (compiled once, run n times)",
            ),
            BudgetKind::Memory => (
                format!("{} bytes", self.budgets.max_memory_bytes),
                "raise `Budgets::max_memory_bytes`, or use smaller compile-time lists / Arrays",
            ),
            BudgetKind::RecursionDepth => (
                self.budgets.max_recursion_depth.to_string(),
                "raise `Budgets::max_recursion_depth`, or make the recursion shallower",
            ),
            BudgetKind::WallTime => (
                format!("{:?}", self.budgets.max_wall_time),
                "raise `Budgets::max_wall_time`, or reduce compile-time work",
            ),
        };
        Error::new(
            ErrorKind::Budget(kind),
            format!("{kind} exceeded (limit {current}): {detail}"),
        )
        .with_advice(format!(
            "{how}; the field is `{}` in `CompileOptions::budgets`",
            kind.field()
        ))
    }

    /// One evaluation step. Cheap; every 256 steps also checks memory and wall time.
    #[inline]
    pub fn step(&mut self) -> Result<(), Error> {
        self.steps += 1;
        if self.steps >= self.next_slow_check {
            self.slow_check()?;
        }
        Ok(())
    }

    #[cold]
    fn slow_check(&mut self) -> Result<(), Error> {
        self.next_slow_check = self.steps + 256;
        if self.steps > self.budgets.max_steps {
            return Err(self.exceeded(BudgetKind::Steps, format!("{} steps evaluated", self.steps)));
        }
        self.check_memory(0)?;
        let elapsed = self.start.elapsed();
        if elapsed > self.budgets.max_wall_time {
            return Err(self.exceeded(
                BudgetKind::WallTime,
                format!("compilation ran for {elapsed:?}"),
            ));
        }
        Ok(())
    }

    /// Fails if live memory plus `extra` bytes about to be allocated exceeds the budget.
    pub fn check_memory(&self, extra: u64) -> Result<(), Error> {
        let used = mem_live()
            .saturating_add(self.code_bytes)
            .saturating_add(extra);
        if used > self.budgets.max_memory_bytes {
            return Err(self.exceeded(
                BudgetKind::Memory,
                format!("about {used} bytes of compile-time values and code"),
            ));
        }
        Ok(())
    }
}
