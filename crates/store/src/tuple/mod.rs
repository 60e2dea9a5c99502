//! The tuple store (Castor's role): preprocessed tuples kept in chunks, handed out through
//! reservations that every party applies identically.
//!
//! **Chunks.** A generation job (MASCOT, or the insecure dealer) produces a chunk of
//! `count` tuples of one [`TupleKind`] on every party at once, under one [`ChunkId`]. Each party
//! stores its shares with [`TupleStore::store_chunk`] (atomically: all or nothing). A stored chunk is
//! *inactive*: party 0 plans from active chunks only, and activates a chunk
//! ([`TupleStore::activate_chunk`], on every party) once every party has confirmed storing it, as
//! Castor does, so that no party is asked for tuples it does not have. Input masks of this party's
//! own inputs also carry the clear mask values.
//!
//! **Reservations.** A [`Reservation`] names `(chunk, start, len)` ranges of one kind under a
//! [`ReservationId`] (by convention `<game or request id>_<kind>`). The flow of a game:
//! 1. party 0 calls [`TupleStore::reserve`]: it plans ranges (active chunks in activation order,
//!    lowest free indices first) and applies them in one transaction, so that concurrent games on
//!    party 0 can never be given overlapping ranges ([`TupleStore::plan_reservation`] alone only
//!    proposes, and a plan can be overtaken by another reservation before it is applied);
//! 2. party 0 sends the reservations to the others (e.g. in discovery's *ready* message);
//! 3. every other party calls [`TupleStore::apply_reservations`];
//! 4. every party calls [`TupleStore::read_reserved`] and feeds the tuples to the engine through
//!    [`ReservedTuples`], a [`protocol::prep::Preprocessing`];
//! 5. when the game ends, [`TupleStore::release`] drops the reservation and frees the storage of
//!    chunks that are used up.
//!
//! **Architecture Invariant:** a range is marked consumed durably (an fsynced commit) before any of
//! its tuples can be read, and a consumed range never becomes available again: a crash can lose
//! tuples but never hand one out twice, across restarts too.
//!
//! **Architecture Invariant:** applying is all-or-nothing: if any range of any reservation in a
//! batch is unknown, out of bounds, of the wrong kind or already consumed, nothing is marked.
//!
//! **Architecture Invariant:** a reservation is readable once, and only in the process run that
//! applied it. [`TupleStore::read_reserved`] refuses a second read, and after a restart every
//! reservation applied before it is dead (its tuples are lost, never served). So a game that is
//! retried after a crash must reserve anew.
//!
//! **Applying twice** is an error, [`TupleError::AlreadyApplied`], whose `identical` field tells a
//! retried identical request (its tuples are already consumed on this party; a caller retrying
//! after a lost reply may treat that as success) from a clash of ids. It changes nothing. After
//! [`TupleStore::release`] (or a restart) the record of the reservation is gone and a second
//! application fails with [`TupleError::RangeConsumed`] instead.
//!
//! **Binary domain.** Binary triples, daBits and (wide) edaBits are stored like the other kinds,
//! one kind per shape (`edabit-<bits>-<extra>`, `wide-edabit-<bits>-<width>`), authenticated
//! under the binary MAC key share Δ_i ([`TupleStore::binary_key_share`]), which the store keeps
//! beside α_i and drops at a rekey; a binary chunk is refused while no Δ_i is stored.
//!
//! **Telemetry.** [`TupleStats`] gives per kind the tuples available, inactive and consumed (a
//! durable, monotone counter) and the time of the last consumption; a caller computes rates from
//! two samples of the counter.

mod codec;
mod guard;
mod redb_store;
mod reserved;

use std::fmt;

use field::{Fp, Gf128};
use net::PartyId;
use protocol::prep::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind,
    WideEdaBits, MAX_EDABIT_BITS, MAX_WIDE_EDABIT_WIDTH,
};
use protocol::ShareVec;
use serde::{Deserialize, Serialize};

use crate::error::{BackendError, ErrorClass};
use crate::ids::{ChunkId, ReservationId};

pub use guard::{GenerationHalt, KeyOrigin, StoreEpoch};
pub use redb_store::{ChunkView, HeldChunk, RedbTupleStore};
pub use reserved::ReservedTuples;

/// Most tuples in one chunk (16 Mi).
pub const MAX_CHUNK_TUPLES: u64 = 1 << 24;

/// The name of a kind in ids, logs and APIs: `triple`, `square`, `bit`, `inverse`,
/// `input-mask-<party>`, and the binary-domain kinds `bit-triple`, `dabit`,
/// `edabit-<bits>-<extra>` and `wide-edabit-<bits>-<width>` (one stored kind per shape).
pub fn kind_label(kind: TupleKind) -> String {
    match kind {
        TupleKind::Triple => "triple".into(),
        TupleKind::Square => "square".into(),
        TupleKind::Bit => "bit".into(),
        TupleKind::Inverse => "inverse".into(),
        TupleKind::InputMask(p) => format!("input-mask-{p}"),
        TupleKind::BitTriple => "bit-triple".into(),
        TupleKind::DaBit => "dabit".into(),
        TupleKind::EdaBit { bits, extra } => format!("edabit-{bits}-{extra}"),
        TupleKind::WideEdaBit { bits, width } => format!("wide-edabit-{bits}-{width}"),
        // Not a tuple: never stored (`check_kind` refuses it), so never parsed.
        TupleKind::BinaryKey => "binary-key".into(),
    }
}

/// Two numbers `a-b`.
fn parse_pair(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Parses [`kind_label`]: only the canonical label of a kind the store holds.
pub fn parse_kind_label(s: &str) -> Option<TupleKind> {
    let kind = match s {
        "triple" => TupleKind::Triple,
        "square" => TupleKind::Square,
        "bit" => TupleKind::Bit,
        "inverse" => TupleKind::Inverse,
        "bit-triple" => TupleKind::BitTriple,
        "dabit" => TupleKind::DaBit,
        _ => {
            if let Some(rest) = s.strip_prefix("input-mask-") {
                TupleKind::InputMask(rest.parse().ok()?)
            } else if let Some(rest) = s.strip_prefix("wide-edabit-") {
                let (bits, width) = parse_pair(rest)?;
                TupleKind::WideEdaBit { bits, width }
            } else if let Some(rest) = s.strip_prefix("edabit-") {
                let (bits, extra) = parse_pair(rest)?;
                TupleKind::EdaBit { bits, extra }
            } else {
                return None;
            }
        }
    };
    // Canonical only ("edabit-064-0" is refused), and only kinds the store can hold.
    (check_kind(kind).is_ok() && kind_label(kind) == s).then_some(kind)
}

/// Whether `kind` belongs to the binary domain (its tuples need the binary MAC key share Δ_i):
/// [`TupleKind::is_binary`].
pub fn is_binary(kind: TupleKind) -> bool {
    kind.is_binary()
}

/// Refuses kinds the store cannot encode: input masks of a party id ≥ 2^24, edaBit shapes
/// outside the generators' range (1 ≤ bits, bits + extra ≤ 127; 1 ≤ bits ≤ width ≤ 120), and the
/// binary key, which is not a tuple.
pub(crate) fn check_kind(kind: TupleKind) -> Result<(), TupleError> {
    let bad = |reason: String| Err(TupleError::MalformedTuples { reason });
    match kind {
        TupleKind::InputMask(p) if p >= 1 << 24 => {
            bad(format!("input masks of party {p}: party ids above 16777215 are not supported"))
        }
        TupleKind::EdaBit { bits, extra }
            if bits == 0 || u64::from(bits) + u64::from(extra) > u64::from(MAX_EDABIT_BITS) =>
        {
            bad(format!(
                "edaBits of {bits} + {extra} bits: need 1 ≤ bits and bits + extra ≤ {MAX_EDABIT_BITS}"
            ))
        }
        TupleKind::WideEdaBit { bits, width }
            if bits == 0 || bits > width || width > MAX_WIDE_EDABIT_WIDTH =>
        {
            bad(format!(
                "wide edaBits of {width} bits ({bits} in binary): need 1 ≤ bits ≤ width ≤ {MAX_WIDE_EDABIT_WIDTH}"
            ))
        }
        TupleKind::BinaryKey => bad(format!("{kind} is not a tuple kind")),
        _ => Ok(()),
    }
}

/// The stable numeric code of a kind in storage keys (valid after [`check_kind`]). Binary
/// shapes: `0x0200_0000 | bits << 8 | extra` for edaBits, `0x0300_0000 | bits << 8 | width`
/// for wide edaBits (both parameters < 256), above every input-mask code.
pub(crate) fn kind_code(kind: TupleKind) -> u32 {
    match kind {
        TupleKind::Triple => 1,
        TupleKind::Square => 2,
        TupleKind::Bit => 3,
        TupleKind::Inverse => 4,
        TupleKind::BitTriple => 5,
        TupleKind::DaBit => 6,
        TupleKind::InputMask(p) => 0x100 + p as u32,
        TupleKind::EdaBit { bits, extra } => 0x0200_0000 | (bits << 8) | extra,
        TupleKind::WideEdaBit { bits, width } => 0x0300_0000 | (bits << 8) | width,
        // Never stored: `check_kind` refuses it.
        TupleKind::BinaryKey => 0,
    }
}

pub(crate) fn kind_of_code(code: u32) -> Option<TupleKind> {
    let kind = match code {
        1 => TupleKind::Triple,
        2 => TupleKind::Square,
        3 => TupleKind::Bit,
        4 => TupleKind::Inverse,
        5 => TupleKind::BitTriple,
        6 => TupleKind::DaBit,
        c if (0x100..0x100 + (1 << 24)).contains(&c) => TupleKind::InputMask((c - 0x100) as usize),
        c if c >> 24 == 2 => TupleKind::EdaBit {
            bits: (c >> 8) & 0xff,
            extra: c & 0xff,
        },
        c if c >> 24 == 3 => TupleKind::WideEdaBit {
            bits: (c >> 8) & 0xff,
            width: c & 0xff,
        },
        _ => return None,
    };
    (check_kind(kind).is_ok() && kind_code(kind) == code).then_some(kind)
}

mod kind_serde {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &TupleKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&kind_label(*k))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TupleKind, D::Error> {
        let s = String::deserialize(d)?;
        parse_kind_label(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown tuple kind {s:?}; expected triple, square, bit, inverse, input-mask-<party>, bit-triple, dabit, edabit-<bits>-<extra> or wide-edabit-<bits>-<width>"
            ))
        })
    }
}

/// Tuples of one kind, as this party holds them: what a chunk stores and what a read returns.
/// Tuple `j` of the batch is element `j` of each vector (for edaBits: element `j` of the
/// arithmetic vectors and bits `i·n + j` of the bit-major binary vector).
#[derive(Debug, Clone)]
pub enum TupleData {
    Triples(Triples),
    Squares(Pairs),
    Bits(ShareVec),
    Inverses(Pairs),
    /// Input masks of party `owner`; `masks.clear` is `Some` exactly on the owner.
    InputMasks {
        owner: PartyId,
        masks: InputMasks,
    },
    /// Binary triples (under the binary MAC key share Δ_i).
    BitTriples(BitTriples),
    /// daBits (arithmetic under α_i, binary under Δ_i).
    DaBits(DaBits),
    /// (Loose) edaBits of one shape.
    EdaBits(EdaBits),
    /// Wide edaBits of one shape.
    WideEdaBits(WideEdaBits),
}

impl TupleData {
    /// The kind.
    pub fn kind(&self) -> TupleKind {
        match self {
            TupleData::Triples(_) => TupleKind::Triple,
            TupleData::Squares(_) => TupleKind::Square,
            TupleData::Bits(_) => TupleKind::Bit,
            TupleData::Inverses(_) => TupleKind::Inverse,
            TupleData::InputMasks { owner, .. } => TupleKind::InputMask(*owner),
            TupleData::BitTriples(_) => TupleKind::BitTriple,
            TupleData::DaBits(_) => TupleKind::DaBit,
            TupleData::EdaBits(e) => TupleKind::EdaBit {
                bits: e.bits,
                extra: e.extra,
            },
            TupleData::WideEdaBits(e) => TupleKind::WideEdaBit {
                bits: e.bits,
                width: e.width,
            },
        }
    }

    /// Number of tuples (of the first component; [`TupleData::check`] checks the others).
    pub fn len(&self) -> usize {
        match self {
            TupleData::Triples(t) => t.a.len(),
            TupleData::Squares(p) | TupleData::Inverses(p) => p.a.len(),
            TupleData::Bits(b) => b.len(),
            TupleData::InputMasks { masks, .. } => masks.shares.len(),
            TupleData::BitTriples(t) => t.a.len(),
            TupleData::DaBits(d) => d.arith.len(),
            TupleData::EdaBits(e) => e.low.len(),
            TupleData::WideEdaBits(e) => e.value.len(),
        }
    }

    /// True when there are no tuples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether clear mask values are present.
    pub fn has_clear(&self) -> bool {
        matches!(self, TupleData::InputMasks { masks, .. } if masks.clear.is_some())
    }

    /// Checks that every component holds [`TupleData::len`] tuples.
    pub(crate) fn check_lengths(&self) -> Result<(), TupleError> {
        let n = self.len();
        let ok = match self {
            TupleData::Triples(t) => t.b.len() == n && t.c.len() == n,
            TupleData::Squares(p) | TupleData::Inverses(p) => p.b.len() == n,
            TupleData::Bits(_) | TupleData::InputMasks { .. } => true,
            TupleData::BitTriples(t) => t.b.len() == n && t.c.len() == n,
            TupleData::DaBits(d) => d.bin.len() == n,
            TupleData::EdaBits(e) => {
                e.high.len() == n && (e.bits as usize).checked_mul(n) == Some(e.bin.len())
            }
            TupleData::WideEdaBits(e) => (e.bits as usize).checked_mul(n) == Some(e.bin.len()),
        };
        if ok {
            Ok(())
        } else {
            Err(TupleError::MalformedTuples {
                reason: format!(
                    "the components of these {} have different lengths",
                    self.kind()
                ),
            })
        }
    }

    /// Checks that every component has the same length and that clear mask values are present
    /// exactly when `me` owns the masks.
    pub fn check(&self, me: PartyId) -> Result<(), TupleError> {
        check_kind(self.kind())?;
        self.check_lengths()?;
        let n = self.len();
        if let TupleData::InputMasks { owner, masks } = self {
            match (&masks.clear, *owner == me) {
                (Some(c), true) if c.len() != n => {
                    return Err(TupleError::MalformedTuples {
                        reason: format!("{} clear mask values for {n} masks", c.len()),
                    })
                }
                (None, true) => {
                    return Err(TupleError::MalformedTuples {
                        reason: format!(
                            "input masks of party {owner} are stored on party {me}, its owner, without their clear values"
                        ),
                    })
                }
                (Some(_), false) => {
                    return Err(TupleError::MalformedTuples {
                        reason: format!(
                            "input masks of party {owner} carry clear values, but this is party {me}: only the owner may know them"
                        ),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Draws `n` tuples of `kind` from a preprocessing source (for example to fill a chunk from
    /// the insecure dealer).
    pub fn draw<P: Preprocessing + ?Sized>(
        source: &mut P,
        kind: TupleKind,
        n: usize,
    ) -> Result<TupleData, PrepError> {
        Ok(match kind {
            TupleKind::Triple => TupleData::Triples(source.triples(n)?),
            TupleKind::Square => TupleData::Squares(source.squares(n)?),
            TupleKind::Bit => TupleData::Bits(source.bits(n)?),
            TupleKind::Inverse => TupleData::Inverses(source.inverses(n)?),
            TupleKind::InputMask(owner) => TupleData::InputMasks {
                owner,
                masks: source.input_masks(owner, n)?,
            },
            TupleKind::BitTriple => TupleData::BitTriples(source.bit_triples(n)?),
            TupleKind::DaBit => TupleData::DaBits(source.dabits(n)?),
            TupleKind::EdaBit { bits, extra } => {
                TupleData::EdaBits(source.edabits(n, bits, extra)?)
            }
            TupleKind::WideEdaBit { bits, width } => {
                TupleData::WideEdaBits(source.wide_edabits(n, bits, width)?)
            }
            TupleKind::BinaryKey => return Err(PrepError::Unsupported(kind)),
        })
    }
}

/// A range of one chunk: tuples `start .. start + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkRange {
    pub chunk: ChunkId,
    pub start: u64,
    pub len: u64,
}

/// Which tuples a reservation consumes; the same on every party. Serializes as
/// `{"id": "...", "kind": "triple", "ranges": [{"chunk": "<uuid>", "start": 0, "len": 10}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reservation {
    pub id: ReservationId,
    #[serde(with = "kind_serde")]
    pub kind: TupleKind,
    /// In the order the tuples are served.
    pub ranges: Vec<ChunkRange>,
}

impl Reservation {
    /// Total tuples reserved.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|r| r.len).sum()
    }
}

/// What party 0 asks [`TupleStore::reserve`] for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReservationRequest {
    pub id: ReservationId,
    pub kind: TupleKind,
    pub count: u64,
}

/// The state of one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    pub id: ChunkId,
    pub kind: TupleKind,
    pub count: u64,
    /// Tuples in consumed (or discarded) ranges.
    pub consumed: u64,
    /// Whether party 0 may plan from it.
    pub active: bool,
    /// Whether the tuple data has been dropped (all consumed and released, or discarded). The
    /// record stays as a tombstone so that the id can never be stored again.
    pub purged: bool,
}

/// Telemetry of one kind on this party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TupleStats {
    pub kind: TupleKind,
    /// Unconsumed tuples in active chunks: what party 0 can reserve.
    pub available: u64,
    /// Unconsumed tuples in chunks not (yet) activated on this party.
    pub inactive: u64,
    /// Tuples consumed by reservations so far; durable and monotone.
    pub consumed: u64,
    /// Reservations applied so far.
    pub reservations: u64,
    /// When the last reservation of this kind was applied (ms since the Unix epoch; 0 if never).
    pub last_consumed_ms: u64,
}

impl TupleStats {
    pub(crate) fn zero(kind: TupleKind) -> TupleStats {
        TupleStats {
            kind,
            available: 0,
            inactive: 0,
            consumed: 0,
            reservations: 0,
            last_consumed_ms: 0,
        }
    }
}

/// Errors of the tuple store. Messages name ids, kinds, counts and ranges, never shares.
#[derive(Debug, thiserror::Error)]
pub enum TupleError {
    #[error("no chunk {chunk} on this party; the chunk was never stored here (did its generation job fail on this party?)")]
    UnknownChunk { chunk: ChunkId },
    #[error("chunk {chunk} already exists on this party; every generation job needs a fresh chunk id, and a chunk id is never reused, not even after its tuples are used up")]
    ChunkExists { chunk: ChunkId },
    #[error("a chunk holds 1 to 16777216 tuples, not {count}")]
    BadChunkSize { count: u64 },
    #[error("malformed tuples: {reason}")]
    MalformedTuples { reason: String },
    #[error("reservation {id} names chunk {chunk}, which holds {chunk_kind}, not {kind}")]
    KindMismatch {
        id: ReservationId,
        chunk: ChunkId,
        chunk_kind: TupleKind,
        kind: TupleKind,
    },
    #[error(
        "reservation {id} names tuples {start}..{end} of chunk {chunk}, which holds only {count}"
    )]
    RangeOutOfBounds {
        id: ReservationId,
        chunk: ChunkId,
        start: u64,
        end: u128,
        count: u64,
    },
    #[error(
        "reservation {id} has an empty range of chunk {chunk}; ranges hold at least one tuple"
    )]
    EmptyRange { id: ReservationId, chunk: ChunkId },
    #[error("reservation {id} names tuples {start}..{end} of chunk {chunk}, some of which are already consumed; nothing was reserved (party 0 must plan a new reservation)")]
    RangeConsumed {
        id: ReservationId,
        chunk: ChunkId,
        start: u64,
        end: u64,
    },
    #[error("reservation {id} was already applied on this party{}; nothing was changed", if *identical { " (identically: its tuples are consumed here)" } else { " with other ranges: reservation ids must be unique" })]
    AlreadyApplied { id: ReservationId, identical: bool },
    #[error("reservation {id} appears twice in one batch")]
    DuplicateReservation { id: ReservationId },
    #[error("not enough {kind}: {needed} requested, {available} available; generate more preprocessing (or activate stored chunks) and retry")]
    Insufficient {
        kind: TupleKind,
        needed: u64,
        available: u64,
    },
    #[error("reservation {id} has not been applied in this run of the store; reservations applied before a restart are void, so reserve anew")]
    NotApplied { id: ReservationId },
    #[error("reservation {id} was already read; a reservation's tuples are handed out once")]
    AlreadyRead { id: ReservationId },
    #[error("reservation {id} differs from the one applied under that id; use the reservation exactly as applied")]
    ReservationMismatch { id: ReservationId },
    #[error(
        "chunk {chunk} is referenced by a reservation that has not been released; release it first"
    )]
    ChunkInUse { chunk: ChunkId },
    #[error("this tuple store holds MAC key share of another key than the one given; the tuples and the key must come from the same preprocessing")]
    MacKeyMismatch,
    #[error("no MAC key share has been stored yet; store one with set_mac_key_share together with the first tuples")]
    MacKeyMissing,
    #[error("this tuple store holds a binary MAC key share of another key than the one given; binary tuples and the key must come from the same preprocessing")]
    BinaryKeyMismatch,
    #[error("no binary MAC key share has been stored yet: binary-domain tuples are stored only after set_binary_key_share (made by the first binary generation job)")]
    BinaryKeyMissing,
    #[error("{path} belongs to party {stored}, not party {given}; check the storage path in the party's config")]
    WrongParty {
        path: String,
        stored: u64,
        given: u64,
    },
    #[error(
        "{path} is a {found} database, not a tuple store; point the tuple store at its own file"
    )]
    WrongStore { path: String, found: String },
    #[error("{path} is open in another process (is another node running with the same storage path?); stop it or use another path")]
    Locked { path: String },
    #[error("{path} has schema version {found}, this build reads version {supported}; use a matching build or migrate the file")]
    UnsupportedSchema {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("this tuple store's MAC key was made by the {stored} generator, but the node is configured for {given}; a store keeps the generator it was made with (a dealer key is derived from a seed and must never pass for a MASCOT key): start this party with a fresh storage path, or configure the generator the store was made with")]
    GeneratorMismatch { stored: KeyOrigin, given: KeyOrigin },
    #[error("this tuple store holds a MAC key but no record of the generator that made it (it was written by an older build); it cannot be trusted as a MASCOT key: start this party with a fresh storage path")]
    UnknownKeyOrigin,
    #[error("chunk {chunk} was made under another MAC key than the store's current one (another generator, or before a rekey); it is never used")]
    ForeignChunk { chunk: ChunkId },
    #[error("party {peer} started a new run at tuple store epoch {reported}, but this party has already seen epoch {seen} from it: its tuple store went back in time (restored from a backup or a copy), and could hand out consumed tuples again. Party {peer} takes part again only once the operators have discarded the tuples of every party, so that the stores agree again: `ephemeral node --config party.toml discard-tuples --epoch-at-least {next}` on party {peer}, and `… discard-tuples --epoch-at-least 0` on the others")]
    PeerRolledBack {
        peer: u64,
        seen: u64,
        reported: u64,
        next: u64,
    },
    #[error("tuple generation is halted: {step} failed{} ({reason}); no generation runs with this peer set until an operator moves the parties to a fresh MAC key (`ephemeral admin rekey`)", peer.map(|p| format!(" with party {p}")).unwrap_or_default())]
    GenerationHalted {
        step: String,
        peer: Option<u64>,
        reason: String,
    },
    #[error("stored data is corrupt ({what}); discard the tuple store (its tuples) and generate new tuples; never restore a tuple store from a backup, which would offer consumed tuples again")]
    Corrupt { what: String },
    #[error("tuple store backend failed: {0}; check the disk and the database file")]
    Backend(#[from] BackendError),
}

crate::error::from_redb_errors!(TupleError);

impl TupleError {
    /// The class of this error, for mapping to API statuses.
    pub fn class(&self) -> ErrorClass {
        use TupleError::*;
        match self {
            BadChunkSize { .. }
            | MalformedTuples { .. }
            | KindMismatch { .. }
            | RangeOutOfBounds { .. }
            | EmptyRange { .. }
            | DuplicateReservation { .. }
            | ReservationMismatch { .. } => ErrorClass::Invalid,
            UnknownChunk { .. } | NotApplied { .. } => ErrorClass::NotFound,
            ChunkExists { .. }
            | RangeConsumed { .. }
            | AlreadyApplied { .. }
            | AlreadyRead { .. }
            | ChunkInUse { .. }
            | MacKeyMismatch
            | BinaryKeyMismatch
            | GeneratorMismatch { .. }
            | UnknownKeyOrigin
            | ForeignChunk { .. }
            | PeerRolledBack { .. } => ErrorClass::Conflict,
            GenerationHalted { .. } => ErrorClass::Exhausted,
            Insufficient { .. } => ErrorClass::Exhausted,
            MacKeyMissing
            | BinaryKeyMissing
            | WrongParty { .. }
            | WrongStore { .. }
            | Locked { .. }
            | UnsupportedSchema { .. }
            | Corrupt { .. }
            | Backend(_) => ErrorClass::Internal,
        }
    }
}

/// The tuple store of one party; see the module docs for the flow and the invariants.
/// Implementations are safe to share between threads.
pub trait TupleStore: Send + Sync {
    /// The party this store belongs to.
    fn party(&self) -> PartyId;

    /// This party's MAC key share α_i, under which every stored tuple is authenticated.
    fn mac_key_share(&self) -> Result<Fp, TupleError>;
    /// Stores α_i once with the generator that made it; storing the same value and origin again
    /// is a no-op, another value or origin is refused.
    fn set_mac_key_share(&self, alpha: Fp, origin: KeyOrigin) -> Result<(), TupleError>;
    /// This party's share Δ_i of the binary MAC key, under which every stored binary-domain tuple
    /// is authenticated; `None` until the first binary generation job stored one.
    fn binary_key_share(&self) -> Result<Option<Gf128>, TupleError>;
    /// Stores Δ_i once, beside α_i and under the same generator (`origin` must be the stored
    /// key's: α first); storing the same value again is a no-op, another value is refused. A
    /// rekey clears it together with every binary tuple.
    fn set_binary_key_share(&self, delta: Gf128, origin: KeyOrigin) -> Result<(), TupleError>;
    /// The generator that made the stored key, `None` if no key is stored yet. A key without a
    /// record of its origin (an older build's) is [`TupleError::UnknownKeyOrigin`].
    fn key_origin(&self) -> Result<Option<KeyOrigin>, TupleError>;
    /// Refuses a store whose key was made by another generator than `origin` (nothing stored
    /// yet is fine).
    fn check_origin(&self, origin: KeyOrigin) -> Result<(), TupleError> {
        match self.key_origin()? {
            Some(stored) if stored != origin => Err(TupleError::GeneratorMismatch {
                stored,
                given: origin,
            }),
            _ => Ok(()),
        }
    }
    /// How many times this store was moved to a fresh key ([`TupleStore::rekey`]).
    fn key_generation(&self) -> Result<u64, TupleError>;
    /// The recorded halt of generation, if a check failed since the last rekey.
    fn generation_halt(&self) -> Result<Option<GenerationHalt>, TupleError>;
    /// Records a failed check durably (the first one is kept, later ones are counted); returns
    /// the record as stored.
    fn record_generation_halt(&self, halt: GenerationHalt) -> Result<GenerationHalt, TupleError>;
    /// Moves the store to a fresh MASCOT key share `alpha`, in one transaction: every tuple made
    /// under the old key is discarded (never used, binary ones included), the binary key share
    /// Δ_i is dropped (the next binary job makes a fresh one), the key generation goes up, and
    /// the halt record is cleared. The caller has re-authenticated the secrets under the new key.
    fn rekey(&self, alpha: Fp) -> Result<(), TupleError>;

    /// This store's epoch ([`StoreEpoch`]): its counter goes up at every open and with every
    /// consumption, and every open draws a new boot id.
    fn epoch(&self) -> Result<StoreEpoch, TupleError>;
    /// Records that `peer` reported `epoch`, refusing ([`TupleError::PeerRolledBack`]) a new run
    /// (boot id) whose counter is not above everything seen from that peer before.
    fn observe_peer_epoch(&self, peer: PartyId, epoch: StoreEpoch) -> Result<(), TupleError>;
    /// Operator recovery after a refused rollback: discards every tuple of this store and moves
    /// its epoch counter to at least `at_least`, with a fresh boot id. Returns the new epoch.
    fn discard_all_tuples(&self, at_least: u64) -> Result<StoreEpoch, TupleError>;

    /// Stores this party's shares of chunk `id`, inactive, in one transaction. Refused if the id
    /// was ever stored here, and for binary-domain kinds while no binary key share is stored.
    fn store_chunk(&self, id: ChunkId, data: &TupleData) -> Result<(), TupleError>;
    /// Makes a stored chunk available to [`TupleStore::plan_reservation`]; returns false if it
    /// already was. Chunks are planned from in activation order.
    fn activate_chunk(&self, id: ChunkId) -> Result<bool, TupleError>;
    /// Drops a chunk's tuples without using them (e.g. when its generation job failed on another
    /// party). The id stays taken.
    fn discard_chunk(&self, id: ChunkId) -> Result<(), TupleError>;
    /// The state of one chunk.
    fn chunk_info(&self, id: ChunkId) -> Result<ChunkInfo, TupleError>;

    /// Telemetry of every kind ever stored here.
    fn stats(&self) -> Result<Vec<TupleStats>, TupleError>;
    /// Telemetry of one kind.
    fn stats_of(&self, kind: TupleKind) -> Result<TupleStats, TupleError>;

    /// Proposes ranges for `count` tuples of `kind` (active chunks in activation order, lowest free
    /// indices first) without marking anything. Party 0 should use [`TupleStore::reserve`].
    fn plan_reservation(
        &self,
        id: ReservationId,
        kind: TupleKind,
        count: u64,
    ) -> Result<Reservation, TupleError>;
    /// Plans and applies several reservations in one transaction (party 0). All or nothing.
    fn reserve(&self, requests: &[ReservationRequest]) -> Result<Vec<Reservation>, TupleError>;
    /// Applies reservations made by party 0, in one transaction: all or nothing.
    fn apply_reservations(&self, reservations: &[Reservation]) -> Result<(), TupleError>;
    /// Applies one reservation.
    fn apply_reservation(&self, reservation: &Reservation) -> Result<(), TupleError> {
        self.apply_reservations(std::slice::from_ref(reservation))
    }
    /// The tuples of an applied reservation, in range order; once per reservation and run.
    fn read_reserved(&self, reservation: &Reservation) -> Result<TupleData, TupleError>;
    /// Forgets a reservation at the end of its game and drops the data of chunks it used up.
    /// Unread tuples of the reservation are lost. Releasing an unknown id does nothing. The redb
    /// store does not fsync this write: a crash may undo it, which is harmless because reopening
    /// voids every reservation and drops the data of used-up chunks itself.
    fn release(&self, id: &ReservationId) -> Result<(), TupleError>;
}

impl fmt::Display for ChunkRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}..{}]",
            self.chunk,
            self.start,
            self.start + self.len
        )
    }
}
