//! The static preprocessing/cost summary: what a program will ask of the engine, so that the
//! node can reserve tuples before a game starts.

use std::collections::BTreeMap;
use std::fmt;

use super::instr::Instr;

/// A non-linear kernel of the engine with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kernel {
    Ltz { k: u32 },
    Eqz { k: u32 },
    Trunc { k: u32, m: u32 },
    TruncPr { k: u32, m: u32 },
    Mod2m { k: u32, m: u32 },
    BitDec { k: u32, m: u32 },
    FixDiv { k: u32, f: u32 },
    IntDiv { k: u32 },
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kernel::Ltz { k } => write!(f, "LTZ(k={k})"),
            Kernel::Eqz { k } => write!(f, "EQZ(k={k})"),
            Kernel::Trunc { k, m } => write!(f, "Trunc(k={k}, m={m})"),
            Kernel::TruncPr { k, m } => write!(f, "TruncPr(k={k}, m={m})"),
            Kernel::Mod2m { k, m } => write!(f, "Mod2m(k={k}, m={m})"),
            Kernel::BitDec { k, m } => write!(f, "BitDec(k={k}, m={m})"),
            Kernel::FixDiv { k, f: ff } => write!(f, "FixDiv(k={k}, f={ff})"),
            Kernel::IntDiv { k } => write!(f, "IntDiv(k={k})"),
        }
    }
}

/// Element counts of communication operations (a vector instruction of size n counts n).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Secret x secret products (one triple each).
    pub multiplications: u64,
    /// Values opened to everyone (MAC-checked).
    pub opens: u64,
    /// Values opened to one party.
    pub private_opens: u64,
    /// Private inputs per party (one input mask each).
    pub inputs: BTreeMap<u32, u64>,
    /// Non-linear kernel invocations (elements) per kernel and parameters.
    pub kernels: BTreeMap<Kernel, u64>,
    /// Random secret bits drawn by `get_random_bit`.
    pub random_bits: u64,
    /// Random secret integers by bit length.
    pub random_ints: BTreeMap<u32, u64>,
    /// Explicit triples (`receive_from_client` and friends).
    pub triples: u64,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }

    /// Adds the communication cost of executing `instr` `times` times.
    pub fn add_instr(&mut self, instr: &Instr, times: u64) {
        let sat = |n: u32| (n as u64).saturating_mul(times);
        match instr {
            Instr::MulS { n, .. } => {
                self.multiplications = self.multiplications.saturating_add(sat(n.0))
            }
            Instr::Open { n, .. } => self.opens = self.opens.saturating_add(sat(n.0)),
            Instr::OpenTo { n, .. } => {
                self.private_opens = self.private_opens.saturating_add(sat(n.0))
            }
            Instr::Input { player, n, .. } => {
                let e = self.inputs.entry(*player).or_default();
                *e = e.saturating_add(sat(n.0));
            }
            Instr::Ltz { k, n, .. } => self.kernel(Kernel::Ltz { k: *k }, sat(n.0)),
            Instr::Eqz { k, n, .. } => self.kernel(Kernel::Eqz { k: *k }, sat(n.0)),
            Instr::Trunc { k, m, n, .. } => self.kernel(Kernel::Trunc { k: *k, m: *m }, sat(n.0)),
            Instr::TruncPr { k, m, n, .. } => {
                self.kernel(Kernel::TruncPr { k: *k, m: *m }, sat(n.0))
            }
            Instr::Mod2m { k, m, n, .. } => self.kernel(Kernel::Mod2m { k: *k, m: *m }, sat(n.0)),
            Instr::BitDec { dsts, k, n, .. } => self.kernel(
                Kernel::BitDec {
                    k: *k,
                    m: dsts.len() as u32,
                },
                sat(n.0),
            ),
            Instr::FixDiv { k, f, n, .. } => self.kernel(Kernel::FixDiv { k: *k, f: *f }, sat(n.0)),
            Instr::IntDiv { k, n, .. } => self.kernel(Kernel::IntDiv { k: *k }, sat(n.0)),
            Instr::RandBit { n, .. } => {
                self.random_bits = self.random_bits.saturating_add(sat(n.0))
            }
            Instr::RandInt { bits, n, .. } => {
                let e = self.random_ints.entry(*bits).or_default();
                *e = e.saturating_add(sat(n.0));
            }
            Instr::Triple { n, .. } => self.triples = self.triples.saturating_add(sat(n.0)),
            _ => {}
        }
    }

    fn kernel(&mut self, k: Kernel, n: u64) {
        let e = self.kernels.entry(k).or_default();
        *e = e.saturating_add(n);
    }

    /// self += other * times
    pub fn add_scaled(&mut self, other: &Counts, times: u64) {
        let m = |x: u64| x.saturating_mul(times);
        self.multiplications = self
            .multiplications
            .saturating_add(m(other.multiplications));
        self.opens = self.opens.saturating_add(m(other.opens));
        self.private_opens = self.private_opens.saturating_add(m(other.private_opens));
        for (p, c) in &other.inputs {
            let e = self.inputs.entry(*p).or_default();
            *e = e.saturating_add(m(*c));
        }
        for (k, c) in &other.kernels {
            self.kernel(*k, m(*c));
        }
        self.random_bits = self.random_bits.saturating_add(m(other.random_bits));
        for (b, c) in &other.random_ints {
            let e = self.random_ints.entry(*b).or_default();
            *e = e.saturating_add(m(*c));
        }
        self.triples = self.triples.saturating_add(m(other.triples));
    }

    /// Element-wise maximum (for the two arms of an if/else).
    pub fn max_with(&mut self, other: &Counts) {
        self.multiplications = self.multiplications.max(other.multiplications);
        self.opens = self.opens.max(other.opens);
        self.private_opens = self.private_opens.max(other.private_opens);
        for (p, c) in &other.inputs {
            let e = self.inputs.entry(*p).or_default();
            *e = (*e).max(*c);
        }
        for (k, c) in &other.kernels {
            let e = self.kernels.entry(*k).or_default();
            *e = (*e).max(*c);
        }
        self.random_bits = self.random_bits.max(other.random_bits);
        for (b, c) in &other.random_ints {
            let e = self.random_ints.entry(*b).or_default();
            *e = (*e).max(*c);
        }
        self.triples = self.triples.max(other.triples);
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, indent: &str) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "{indent}(no communication)");
        }
        if self.multiplications > 0 {
            writeln!(
                f,
                "{indent}{:>12} multiplications (triples)",
                self.multiplications
            )?;
        }
        if self.triples > 0 {
            writeln!(f, "{indent}{:>12} explicit triples", self.triples)?;
        }
        if self.opens > 0 {
            writeln!(f, "{indent}{:>12} opened values", self.opens)?;
        }
        if self.private_opens > 0 {
            writeln!(
                f,
                "{indent}{:>12} values opened to one party",
                self.private_opens
            )?;
        }
        for (p, c) in &self.inputs {
            writeln!(f, "{indent}{c:>12} input masks for party {p}")?;
        }
        if self.random_bits > 0 {
            writeln!(f, "{indent}{:>12} random bits", self.random_bits)?;
        }
        for (b, c) in &self.random_ints {
            writeln!(f, "{indent}{c:>12} random {b}-bit integers")?;
        }
        for (k, c) in &self.kernels {
            writeln!(f, "{indent}{c:>12} x {k}")?;
        }
        Ok(())
    }
}

/// What a compiled program needs, computed statically.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CostSummary {
    /// Instructions in the bytecode (all functions).
    pub instructions: u64,
    /// Functions in the bytecode (`main` included).
    pub functions: u64,
    /// Operations whose multiplicity is known at compile time, multiplied through loops with
    /// compile-time trip counts. When the two arms of an if/else differ, the larger counts.
    pub fixed: Counts,
    /// Operations inside regions whose repetition is only known at run time (loops with
    /// run-time bounds, while loops, recursion), counted once per execution of the region.
    /// `None` when the whole program is static.
    pub runtime_dependent: Option<Counts>,
}

impl CostSummary {
    pub fn is_static(&self) -> bool {
        self.runtime_dependent.is_none()
    }
}

impl fmt::Display for CostSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} instructions in {} function(s)",
            self.instructions, self.functions
        )?;
        writeln!(f, "Program requires:")?;
        self.fixed.write(f, "  ")?;
        if let Some(d) = &self.runtime_dependent {
            writeln!(
                f,
                "plus, runtime-dependent (per execution of loops with run-time trip counts):"
            )?;
            d.write(f, "  ")?;
        }
        Ok(())
    }
}
