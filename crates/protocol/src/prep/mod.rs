//! Preprocessing (the offline phase): correlated randomness consumed by the online protocol.
//!
//! The [`Preprocessing`] trait hands out tuples in batches. Every tuple is *moved* out of its source,
//! so the type system already prevents handing the same tuple out twice within a run; durable stores
//! (a later issue) additionally mark ranges consumed before use, across restarts.
//!
//! Tuple kinds (all authenticated shares):
//! - triples ([a], [b], [c]) with c = a·b, for Beaver multiplication;
//! - squares ([a], [b]) with b = a²;
//! - bits [b] with b ∈ {0, 1};
//! - inverse pairs ([a], [b]) with a·b = 1;
//! - input masks [r] for party i, where party i alone also learns r in the clear.
//!
//! Implementations: [`InsecureDealer`] (every party derives every tuple from a shared seed; for tests
//! and benchmarks only, and only behind a setting named `insecure`), and [`TupleBuffer`], which serves
//! tuples generated ahead of time so that benchmarks can keep generation off the clock.

mod buffer;
mod dealer;

pub use buffer::{TupleBuffer, TuplePlan};
pub use dealer::InsecureDealer;

use field::Fp;
use net::PartyId;

use crate::share::ShareVec;

/// Why preprocessing could not deliver.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PrepError {
    #[error("out of {kind}: needed {needed}, {available} left; generate or reserve more preprocessing for this run")]
    Exhausted {
        kind: TupleKind,
        needed: usize,
        available: usize,
    },
    #[error("preprocessing source failed: {0}")]
    Source(String),
}

/// The kinds of preprocessed tuples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TupleKind {
    Triple,
    Square,
    Bit,
    Inverse,
    /// Input masks of the given party.
    InputMask(PartyId),
}

impl std::fmt::Display for TupleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TupleKind::Triple => write!(f, "multiplication triples"),
            TupleKind::Square => write!(f, "square pairs"),
            TupleKind::Bit => write!(f, "random bits"),
            TupleKind::Inverse => write!(f, "inverse pairs"),
            TupleKind::InputMask(p) => write!(f, "input masks of party {p}"),
        }
    }
}

/// A batch of multiplication triples.
#[derive(Debug, Clone, Default)]
pub struct Triples {
    pub a: ShareVec,
    pub b: ShareVec,
    pub c: ShareVec,
}

/// A batch of pairs ([a], [b]) with a relation (b = a² for squares, a·b = 1 for inverses).
#[derive(Debug, Clone, Default)]
pub struct Pairs {
    pub a: ShareVec,
    pub b: ShareVec,
}

/// A batch of input masks for one party. `clear` is `Some(r)` only on the owning party.
#[derive(Clone, Default)]
pub struct InputMasks {
    pub shares: ShareVec,
    pub clear: Option<Vec<Fp>>,
}

impl std::fmt::Debug for InputMasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "InputMasks(len={}, owner={})",
            self.shares.len(),
            self.clear.is_some()
        )
    }
}

/// Per-kind counters of tuples consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TupleCounts {
    pub triples: u64,
    pub squares: u64,
    pub bits: u64,
    pub inverses: u64,
    /// Input masks per owning party.
    pub input_masks: Vec<u64>,
}

impl TupleCounts {
    /// Record `n` tuples of `kind`.
    pub fn add(&mut self, kind: TupleKind, n: usize) {
        let n = n as u64;
        match kind {
            TupleKind::Triple => self.triples += n,
            TupleKind::Square => self.squares += n,
            TupleKind::Bit => self.bits += n,
            TupleKind::Inverse => self.inverses += n,
            TupleKind::InputMask(p) => {
                if self.input_masks.len() <= p {
                    self.input_masks.resize(p + 1, 0);
                }
                self.input_masks[p] += n;
            }
        }
    }
}

/// A source of preprocessed tuples for one party. All parties of a run must draw the same kinds in
/// the same order and amounts; the online protocol guarantees that by construction.
pub trait Preprocessing: Send {
    /// This party's share α_i of the global MAC key.
    fn mac_key_share(&self) -> Fp;
    /// The next `n` triples.
    fn triples(&mut self, n: usize) -> Result<Triples, PrepError>;
    /// The next `n` square pairs.
    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError>;
    /// The next `n` random bits.
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError>;
    /// The next `n` inverse pairs.
    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError>;
    /// The next `n` input masks of party `owner`.
    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError>;
}

impl<P: Preprocessing + ?Sized> Preprocessing for Box<P> {
    fn mac_key_share(&self) -> Fp {
        (**self).mac_key_share()
    }
    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        (**self).triples(n)
    }
    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        (**self).squares(n)
    }
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        (**self).bits(n)
    }
    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        (**self).inverses(n)
    }
    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        (**self).input_masks(owner, n)
    }
}
