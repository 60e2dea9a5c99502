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
//! - input masks [r] for party i, where party i alone also learns r in the clear;
//! - binary-domain kinds (default methods, so sources that predate them keep compiling and report
//!   [`PrepError::Unsupported`]): binary triples ([a], [b], [c]) of authenticated bits with
//!   c = a ∧ b; daBits (one random bit shared both as [b]_p and [b]_2); and edaBits (a random
//!   m-bit integer [r]_p with its bits [r_0]_2 … [r_{m−1}]_2, optionally "loose", see [`EdaBits`]).
//!   See `binary` and docs/PROTOCOL.md, "Binary domain and mixed circuits (online)".
//!
//! Implementations: [`InsecureDealer`] (every party derives every tuple from a shared seed; for tests
//! and benchmarks only, and only behind a setting named `insecure`), and [`TupleBuffer`], which serves
//! tuples generated ahead of time so that benchmarks can keep generation off the clock.

mod buffer;
mod dealer;

pub use buffer::{TupleBuffer, TuplePlan};
pub use dealer::InsecureDealer;

use field::{Fp, Gf128};
use net::PartyId;

use crate::binary::BitShares;
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
    #[error("this preprocessing source does not provide {0}; use a source with binary-domain preprocessing (or the arithmetic kernels)")]
    Unsupported(TupleKind),
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
    /// Binary (AND) triples of authenticated bits.
    BitTriple,
    /// daBits: a random bit shared in both domains.
    DaBit,
    /// edaBits with `bits` binary bits and `extra` arithmetic-only high bits (see [`EdaBits`]).
    EdaBit {
        bits: u32,
        extra: u32,
    },
    /// Wide edaBits: one random integer of `width` bits per party, summed, with its `bits` low
    /// bits in the binary domain (see [`WideEdaBits`]).
    WideEdaBit {
        bits: u32,
        width: u32,
    },
    /// The binary MAC key share (not a tuple; named by [`PrepError::Unsupported`]).
    BinaryKey,
}

impl TupleKind {
    /// Whether the kind belongs to the binary domain (its tuples carry MACs under the binary key
    /// Δ, and the binary-domain generators make them).
    pub fn is_binary(self) -> bool {
        matches!(
            self,
            TupleKind::BitTriple
                | TupleKind::DaBit
                | TupleKind::EdaBit { .. }
                | TupleKind::WideEdaBit { .. }
                | TupleKind::BinaryKey
        )
    }
}

impl std::fmt::Display for TupleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TupleKind::Triple => write!(f, "multiplication triples"),
            TupleKind::Square => write!(f, "square pairs"),
            TupleKind::Bit => write!(f, "random bits"),
            TupleKind::Inverse => write!(f, "inverse pairs"),
            TupleKind::InputMask(p) => write!(f, "input masks of party {p}"),
            TupleKind::BitTriple => write!(f, "binary triples"),
            TupleKind::DaBit => write!(f, "daBits"),
            TupleKind::EdaBit { bits, extra: 0 } => write!(f, "edaBits of {bits} bits"),
            TupleKind::EdaBit { bits, extra } => {
                write!(f, "loose edaBits of {bits} bits (+{extra} arithmetic-only)")
            }
            TupleKind::WideEdaBit { bits, width } => {
                write!(f, "wide edaBits of {width} bits ({bits} in binary)")
            }
            TupleKind::BinaryKey => write!(f, "a binary MAC key share"),
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

/// A batch of binary triples: bit vectors with c = a ∧ b, element-wise.
#[derive(Debug, Clone, Default)]
pub struct BitTriples {
    pub a: BitShares,
    pub b: BitShares,
    pub c: BitShares,
}

/// A batch of daBits: bit j of `bin` and element j of `arith` share the same random bit.
#[derive(Debug, Clone, Default)]
pub struct DaBits {
    pub arith: ShareVec,
    pub bin: BitShares,
}

/// A batch of n edaBits of `bits` = m binary bits and `extra` = e arithmetic-only bits.
///
/// Element j is a random r_j = r'_j + 2^m·r''_j with r'_j uniform in [0, 2^m) and r''_j uniform
/// in [0, 2^e), independent. `low` shares r' and `high` shares r'' in GF(p); `bits` shares the m
/// bits of r' in the binary domain, bit-major (bit i of element j at index i·n + j).
///
/// With e = 0 this is the edaBit of Escudero et al. (CRYPTO 2020, ePrint 2020/338), and `high` is
/// all zero shares. With e > 0 it is a *loose* edaBit: statistical masking of a k-bit value needs
/// a k + s-bit mask, but the bitwise circuit only ever touches its m low bits (§5 of the paper), so
/// the high part needs no binary form and can be made much more cheaply (for example from a
/// (e)-bit edaBit whose binary half is discarded, or from e random bits). m + e ≤ 127, so the
/// arithmetic values never wrap modulo p.
#[derive(Debug, Clone, Default)]
pub struct EdaBits {
    pub bits: u32,
    pub extra: u32,
    pub low: ShareVec,
    pub high: ShareVec,
    pub bin: BitShares,
}

impl EdaBits {
    /// r = r' + 2^m·r'' in GF(p).
    pub fn full(&self) -> ShareVec {
        let mut r = self.low.clone();
        r.add_scaled(&self.high, Fp::pow2(self.bits));
        r
    }

    /// Bit i of every element, in the binary domain.
    pub fn bit(&self, i: u32) -> BitShares {
        let n = self.low.len();
        let i = i as usize;
        self.bin.slice(i * n..(i + 1) * n)
    }
}

/// A batch of n *wide* edaBits: the masks of the comparison, equality and bit-decomposition
/// kernels, which (unlike Mod2m and truncation) never need the arithmetic value of the mask's low
/// bits, only the mask as a whole.
///
/// Element j is R_j = Σ_o X_{o,j}, where party o contributed X_{o,j} uniform in [0, 2^w)
/// (w = `width`), so R_j < N·2^w ≤ 2^127 < p and R_j mod 2^w is uniform if one party is honest.
/// `value` shares R in GF(p); `bin` shares the m = `bits` low bits of R in the binary domain,
/// bit-major (bit i of element j at index i·n + j). The bits above m are never needed: they
/// only mask statistically, which is why R needs no carry conversion when it is made (see
/// `offline::edabits::wide` and docs/PROTOCOL.md).
#[derive(Debug, Clone, Default)]
pub struct WideEdaBits {
    pub bits: u32,
    pub width: u32,
    pub value: ShareVec,
    pub bin: BitShares,
}

impl WideEdaBits {
    /// Bit i (< `bits`) of every element, in the binary domain.
    pub fn bit(&self, i: u32) -> BitShares {
        let n = self.value.len();
        let i = i as usize;
        self.bin.slice(i * n..(i + 1) * n)
    }
}

/// The widest wide edaBit contribution: N·2^w must stay below p, so w + ⌈log2 N⌉ ≤ 126 is
/// also checked where N is known.
pub const MAX_WIDE_EDABIT_WIDTH: u32 = 120;

/// The widest edaBit (binary plus arithmetic-only bits): r < 2^127 < p.
pub const MAX_EDABIT_BITS: u32 = 127;

/// Per-kind counters of tuples consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TupleCounts {
    pub triples: u64,
    pub squares: u64,
    pub bits: u64,
    pub inverses: u64,
    /// Input masks per owning party.
    pub input_masks: Vec<u64>,
    /// Binary triples.
    pub bit_triples: u64,
    /// daBits.
    pub dabits: u64,
    /// edaBits (strict or loose), one per element.
    pub edabits: u64,
    /// The binary bits carried by those edaBits (Σ m).
    pub edabit_bits: u64,
}

impl TupleCounts {
    /// Difference `self − earlier`, per kind (for measuring one phase).
    pub fn since(&self, earlier: &TupleCounts) -> TupleCounts {
        TupleCounts {
            triples: self.triples - earlier.triples,
            squares: self.squares - earlier.squares,
            bits: self.bits - earlier.bits,
            inverses: self.inverses - earlier.inverses,
            input_masks: self
                .input_masks
                .iter()
                .enumerate()
                .map(|(p, &a)| a - earlier.input_masks.get(p).copied().unwrap_or(0))
                .collect(),
            bit_triples: self.bit_triples - earlier.bit_triples,
            dabits: self.dabits - earlier.dabits,
            edabits: self.edabits - earlier.edabits,
            edabit_bits: self.edabit_bits - earlier.edabit_bits,
        }
    }

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
            TupleKind::BitTriple => self.bit_triples += n,
            TupleKind::DaBit => self.dabits += n,
            TupleKind::EdaBit { bits, .. } | TupleKind::WideEdaBit { bits, .. } => {
                self.edabits += n;
                self.edabit_bits += n * bits as u64;
            }
            TupleKind::BinaryKey => {}
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
    /// This party's share Δ_i of the global binary MAC key, if the source has binary-domain
    /// preprocessing. The default is `None`.
    fn binary_key_share(&self) -> Option<Gf128> {
        None
    }
    /// The next `n` binary triples. The default reports [`PrepError::Unsupported`].
    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::BitTriple))
    }
    /// The next `n` daBits. The default reports [`PrepError::Unsupported`].
    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::DaBit))
    }
    /// The next `n` edaBits of `bits` binary and `extra` arithmetic-only bits (see [`EdaBits`]).
    /// The default reports [`PrepError::Unsupported`].
    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::EdaBit { bits, extra }))
    }
    /// The next `n` wide edaBits of `width` bits per party with `bits` low bits in binary (see
    /// [`WideEdaBits`]). The default reports [`PrepError::Unsupported`].
    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::WideEdaBit {
            bits,
            width,
        }))
    }
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
    fn binary_key_share(&self) -> Option<Gf128> {
        (**self).binary_key_share()
    }
    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        (**self).bit_triples(n)
    }
    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        (**self).dabits(n)
    }
    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        (**self).edabits(n, bits, extra)
    }
    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        (**self).wide_edabits(n, bits, width)
    }
}
