//! [`RedbTupleStore`]: the tuple store in one redb file.
//!
//! Tables:
//! - `chunks`: chunk id → postcard [`ChunkRecord`] (kind, count, activation sequence number,
//!   consumed ranges, purged flag). Records are never deleted: a purged chunk stays as a
//!   tombstone so that its id can never be stored, and its tuples never served, again;
//! - `chunk_data`: chunk id ‖ block number (u32 BE) → the encoded tuples of that block
//!   ([`BLOCK_TUPLES`] tuples, see `codec`), so a read touches only the blocks it needs;
//! - `available_chunks`: kind code (u32 BE) ‖ activation sequence (u64 BE) → chunk id, for the
//!   active chunks with free tuples: the planning order;
//! - `exhausted_chunks`: chunk id → (), fully consumed chunks whose data is not yet purged;
//! - `reservations`: reservation id → postcard [`StoredReservation`], applied and not released;
//! - `kind_stats`: kind code → postcard [`KindStats`], the telemetry counters;
//! - `chunk_keys`: chunk id → the key stamp (origin, key generation) it was made under;
//! - `peer_epochs`: party id → the highest epoch seen from that peer (see `guard`).
//!
//! **Architecture Invariant:** the consumed ranges of a chunk only grow, and they grow in the
//! transaction that records the reservation, before the reservation can be read: `read_reserved`
//! only serves reservations whose commit has returned in this process.
//!
//! **Architecture Invariant:** `kind_stats` changes in the same transactions as the chunks it
//! counts, so its counts are exact.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use field::{Fp, Gf128};
use net::PartyId;
use protocol::prep::TupleKind;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::guard::{GenerationHalt, KeyOrigin, KeyStamp, StoreEpoch};
use super::{
    check_kind, codec, is_binary, kind_code, kind_of_code, ChunkInfo, ChunkRange, Reservation,
    ReservationRequest, TupleData, TupleError, TupleStats, TupleStore, MAX_CHUNK_TUPLES,
};
use crate::ids::{ChunkId, ReservationId};
use crate::kv::{self, OpenProblem, META};

mod reconcile;
pub use reconcile::{ChunkView, HeldChunk};

const CHUNKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chunks");
const DATA: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chunk_data");
const AVAIL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("available_chunks");
const EXHAUSTED: TableDefinition<&[u8], ()> = TableDefinition::new("exhausted_chunks");
const RESERVATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("reservations");
const STATS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kind_stats");
const CHUNK_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chunk_keys");
const PEER_EPOCHS: TableDefinition<u64, &[u8]> = TableDefinition::new("peer_epochs");

/// `meta` keys of the guard records (see `guard`).
const META_KEY: &str = "mac_key";
/// The binary MAC key share Δ_i (16 bytes, little-endian), beside α_i.
const META_BINARY_KEY: &str = "binary_mac_key";
const META_STAMP: &str = "key_origin";
const META_HALT: &str = "generation_halt";
const META_EPOCH: &str = "epoch";

const STORE_KIND: &str = "tuples";

/// Tuples per stored block.
pub const BLOCK_TUPLES: u64 = 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChunkRecord {
    kind: u32,
    count: u64,
    has_clear: bool,
    /// Activation sequence number; `None` while inactive.
    seq: Option<u64>,
    /// Consumed `[start, end)` ranges, sorted, disjoint and not adjacent.
    consumed: Vec<(u64, u64)>,
    purged: bool,
    stored_ms: u64,
}

impl ChunkRecord {
    fn consumed_count(&self) -> u64 {
        self.consumed.iter().map(|(s, e)| e - s).sum()
    }

    fn free(&self) -> u64 {
        self.count - self.consumed_count()
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.consumed.iter().any(|&(s, e)| s < end && start < e)
    }

    /// Marks `[start, end)` consumed; the caller has checked that it is free and in bounds.
    fn mark(&mut self, start: u64, end: u64) {
        let pos = self.consumed.partition_point(|&(s, _)| s < start);
        self.consumed.insert(pos, (start, end));
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.consumed.len());
        for &(s, e) in &self.consumed {
            match merged.last_mut() {
                Some(last) if last.1 >= s => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.consumed = merged;
    }

    /// The free `[start, end)` ranges in ascending order.
    fn free_ranges(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        for &(s, e) in &self.consumed {
            if s > at {
                out.push((at, s));
            }
            at = e;
        }
        if at < self.count {
            out.push((at, self.count));
        }
        out
    }

    fn kind(&self, id: ChunkId) -> Result<TupleKind, TupleError> {
        kind_of_code(self.kind).ok_or_else(|| TupleError::Corrupt {
            what: format!("chunk {id} has unknown kind code {}", self.kind),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct StoredReservation {
    kind: u32,
    ranges: Vec<([u8; 16], u64, u64)>,
    applied_ms: u64,
}

impl StoredReservation {
    fn of(r: &Reservation, applied_ms: u64) -> StoredReservation {
        StoredReservation {
            kind: kind_code(r.kind),
            ranges: r
                .ranges
                .iter()
                .map(|c| (c.chunk.to_key(), c.start, c.len))
                .collect(),
            applied_ms,
        }
    }

    fn same_as(&self, r: &Reservation) -> bool {
        let other = StoredReservation::of(r, self.applied_ms);
        *self == other
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct KindStats {
    available: u64,
    inactive: u64,
    consumed: u64,
    reservations: u64,
    last_consumed_ms: u64,
}

fn corrupt(what: impl Into<String>) -> TupleError {
    TupleError::Corrupt { what: what.into() }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, TupleError> {
    postcard::to_allocvec(v).map_err(|e| corrupt(format!("a record could not be encoded: {e}")))
}

fn decode_chunk(id: ChunkId, b: &[u8]) -> Result<ChunkRecord, TupleError> {
    postcard::from_bytes(b)
        .map_err(|e| corrupt(format!("record of chunk {id} does not decode: {e}")))
}

fn decode_stats(b: &[u8]) -> Result<KindStats, TupleError> {
    postcard::from_bytes(b).map_err(|e| corrupt(format!("tuple statistics do not decode: {e}")))
}

fn avail_key(code: u32, seq: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&code.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn data_key(id: ChunkId, block: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..16].copy_from_slice(&id.to_key());
    k[16..].copy_from_slice(&(block as u32).to_be_bytes());
    k
}

fn blocks(count: u64) -> u64 {
    count.div_ceil(BLOCK_TUPLES)
}

fn read_epoch(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<StoreEpoch, TupleError> {
    match meta.get(META_EPOCH)? {
        Some(g) => StoreEpoch::from_bytes(g.value())
            .ok_or_else(|| corrupt("the epoch record is malformed")),
        None => Ok(StoreEpoch {
            counter: 0,
            boot: [0; 16],
        }),
    }
}

/// The stamp of the store's current key (`{None, 0}` before any key, or for an older build's).
fn current_stamp(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<KeyStamp, TupleError> {
    match meta.get(META_STAMP)? {
        Some(g) => KeyStamp::from_bytes(g.value())
            .ok_or_else(|| corrupt("the key origin record is malformed")),
        None => Ok(KeyStamp {
            origin: None,
            generation: 0,
        }),
    }
}

/// The stored binary key share Δ_i, if any.
fn read_binary_key(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<Gf128>, TupleError> {
    match meta.get(META_BINARY_KEY)? {
        Some(g) => {
            let b: [u8; 16] = g
                .value()
                .try_into()
                .map_err(|_| corrupt("the binary MAC key share record is malformed"))?;
            Ok(Some(Gf128(u128::from_le_bytes(b))))
        }
        None => Ok(None),
    }
}

fn chunk_stamp(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    id: ChunkId,
) -> Result<KeyStamp, TupleError> {
    match keys.get(id.to_key().as_slice())? {
        Some(g) => KeyStamp::from_bytes(g.value())
            .ok_or_else(|| corrupt(format!("the key stamp of chunk {id} is malformed"))),
        None => Ok(KeyStamp {
            origin: None,
            generation: 0,
        }),
    }
}

/// Discards every tuple of the store in `w` (chunks stay as tombstones); returns the tuples
/// dropped.
fn discard_everything(w: &WriteTransaction) -> Result<u64, TupleError> {
    let live: Vec<(ChunkId, ChunkRecord)> = {
        let chunks = w.open_table(CHUNKS)?;
        let mut v = Vec::new();
        for item in chunks.range::<&[u8]>(..)? {
            let (k, val) = item?;
            let id =
                ChunkId::from_key(k.value()).ok_or_else(|| corrupt("a chunk key is malformed"))?;
            let rec = decode_chunk(id, val.value())?;
            if !rec.purged {
                v.push((id, rec));
            }
        }
        v
    };
    let mut dropped = 0;
    for (id, mut rec) in live {
        dropped += rec.free();
        if let Some(seq) = rec.seq {
            w.open_table(AVAIL)?
                .remove(avail_key(rec.kind, seq).as_slice())?;
        }
        rec.consumed = vec![(0, rec.count)];
        w.open_table(CHUNKS)?
            .insert(id.to_key().as_slice(), encode(&rec)?.as_slice())?;
        purge_chunk(w, id)?;
    }
    let mut stats = w.open_table(STATS)?;
    let mut all = Vec::new();
    for item in stats.range::<&[u8]>(..)? {
        let (k, v) = item?;
        all.push((k.value().to_vec(), decode_stats(v.value())?));
    }
    for (k, mut st) in all {
        st.available = 0;
        st.inactive = 0;
        stats.insert(k.as_slice(), encode(&st)?.as_slice())?;
    }
    Ok(dropped)
}

fn load_chunk(
    chunks: &impl ReadableTable<&'static [u8], &'static [u8]>,
    id: ChunkId,
) -> Result<Option<ChunkRecord>, TupleError> {
    match chunks.get(id.to_key().as_slice())? {
        Some(g) => Ok(Some(decode_chunk(id, g.value())?)),
        None => Ok(None),
    }
}

/// Picks `count` free tuples of `kind`: active chunks in activation order, lowest indices first.
/// `dirty` holds records changed (and not yet written) in the current transaction.
fn plan_ranges(
    avail: &impl ReadableTable<&'static [u8], &'static [u8]>,
    chunks: &impl ReadableTable<&'static [u8], &'static [u8]>,
    dirty: &HashMap<ChunkId, ChunkRecord>,
    kind: TupleKind,
    count: u64,
) -> Result<Vec<ChunkRange>, TupleError> {
    check_kind(kind)?;
    let code = kind_code(kind);
    let lo = avail_key(code, 0);
    let hi = avail_key(code + 1, 0);
    let mut need = count;
    let mut ranges = Vec::new();
    if need == 0 {
        return Ok(ranges);
    }
    for item in avail.range::<&[u8]>(lo.as_slice()..hi.as_slice())? {
        let (_, v) = item?;
        let id =
            ChunkId::from_key(v.value()).ok_or_else(|| corrupt("a planning entry is malformed"))?;
        let rec = match dirty.get(&id) {
            Some(r) => r.clone(),
            None => load_chunk(chunks, id)?
                .ok_or_else(|| corrupt(format!("chunk {id} is listed as available but missing")))?,
        };
        for (s, e) in rec.free_ranges() {
            let take = need.min(e - s);
            ranges.push(ChunkRange {
                chunk: id,
                start: s,
                len: take,
            });
            need -= take;
            if need == 0 {
                return Ok(ranges);
            }
        }
    }
    Err(TupleError::Insufficient {
        kind,
        needed: count,
        available: count - need,
    })
}

/// The tables of one write transaction that reservations touch, with the records changed so far.
struct Txn<'t> {
    chunks: Table<'t, &'static [u8], &'static [u8]>,
    avail: Table<'t, &'static [u8], &'static [u8]>,
    exhausted: Table<'t, &'static [u8], ()>,
    reservations: Table<'t, &'static str, &'static [u8]>,
    stats: Table<'t, &'static [u8], &'static [u8]>,
    keys: Table<'t, &'static [u8], &'static [u8]>,
    meta: Table<'t, &'static str, &'static [u8]>,
    /// The stamp of the store's key: every chunk named must carry it.
    stamp: KeyStamp,
    dirty: HashMap<ChunkId, ChunkRecord>,
    dirty_stats: HashMap<u32, KindStats>,
    applied: HashSet<ReservationId>,
    now: u64,
}

impl<'t> Txn<'t> {
    fn new(w: &'t WriteTransaction) -> Result<Txn<'t>, TupleError> {
        let meta = w.open_table(META)?;
        let stamp = current_stamp(&meta)?;
        Ok(Txn {
            chunks: w.open_table(CHUNKS)?,
            avail: w.open_table(AVAIL)?,
            exhausted: w.open_table(EXHAUSTED)?,
            reservations: w.open_table(RESERVATIONS)?,
            stats: w.open_table(STATS)?,
            keys: w.open_table(CHUNK_KEYS)?,
            stamp,
            meta,
            dirty: HashMap::new(),
            dirty_stats: HashMap::new(),
            applied: HashSet::new(),
            now: kv::now_ms(),
        })
    }

    fn chunk(&mut self, id: ChunkId) -> Result<Option<&mut ChunkRecord>, TupleError> {
        if !self.dirty.contains_key(&id) {
            match load_chunk(&self.chunks, id)? {
                Some(r) => {
                    self.dirty.insert(id, r);
                }
                None => return Ok(None),
            }
        }
        Ok(self.dirty.get_mut(&id))
    }

    fn stat(&mut self, code: u32) -> Result<&mut KindStats, TupleError> {
        if !self.dirty_stats.contains_key(&code) {
            let s = match self.stats.get(code.to_be_bytes().as_slice())? {
                Some(g) => decode_stats(g.value())?,
                None => KindStats::default(),
            };
            self.dirty_stats.insert(code, s);
        }
        Ok(self.dirty_stats.get_mut(&code).expect("just inserted"))
    }

    fn plan(&self, kind: TupleKind, count: u64) -> Result<Vec<ChunkRange>, TupleError> {
        plan_ranges(&self.avail, &self.chunks, &self.dirty, kind, count)
    }

    /// Checks and marks every range of `r`; an error leaves the transaction to be aborted.
    fn apply(&mut self, r: &Reservation) -> Result<(), TupleError> {
        check_kind(r.kind)?;
        if !self.applied.insert(r.id.clone()) {
            return Err(TupleError::DuplicateReservation { id: r.id.clone() });
        }
        if let Some(g) = self.reservations.get(r.id.as_str())? {
            let stored: StoredReservation = postcard::from_bytes(g.value())
                .map_err(|e| corrupt(format!("reservation {} does not decode: {e}", r.id)))?;
            return Err(TupleError::AlreadyApplied {
                id: r.id.clone(),
                identical: stored.same_as(r),
            });
        }
        let code = kind_code(r.kind);
        let (mut from_active, mut from_inactive) = (0u64, 0u64);
        for range in &r.ranges {
            let id = range.chunk;
            if range.len == 0 {
                return Err(TupleError::EmptyRange {
                    id: r.id.clone(),
                    chunk: id,
                });
            }
            let rid = r.id.clone();
            if self.chunk(id)?.is_none() {
                return Err(TupleError::UnknownChunk { chunk: id });
            }
            if chunk_stamp(&self.keys, id)? != self.stamp {
                return Err(TupleError::ForeignChunk { chunk: id });
            }
            let rec = self
                .chunk(id)?
                .ok_or(TupleError::UnknownChunk { chunk: id })?;
            let chunk_kind = rec.kind(id)?;
            if chunk_kind != r.kind {
                return Err(TupleError::KindMismatch {
                    id: rid,
                    chunk: id,
                    chunk_kind,
                    kind: r.kind,
                });
            }
            let end = u128::from(range.start) + u128::from(range.len);
            if end > u128::from(rec.count) {
                return Err(TupleError::RangeOutOfBounds {
                    id: rid,
                    chunk: id,
                    start: range.start,
                    end,
                    count: rec.count,
                });
            }
            let end = end as u64;
            if rec.purged || rec.overlaps(range.start, end) {
                return Err(TupleError::RangeConsumed {
                    id: rid,
                    chunk: id,
                    start: range.start,
                    end,
                });
            }
            rec.mark(range.start, end);
            if rec.seq.is_some() {
                from_active += range.len;
            } else {
                from_inactive += range.len;
            }
            if rec.free() == 0 {
                if let Some(seq) = rec.seq {
                    self.avail.remove(avail_key(code, seq).as_slice())?;
                }
                self.exhausted.insert(id.to_key().as_slice(), ())?;
            }
        }
        let now = self.now;
        let s = self.stat(code)?;
        s.available = s
            .available
            .checked_sub(from_active)
            .ok_or_else(|| corrupt("available-tuple counter below zero"))?;
        s.inactive = s
            .inactive
            .checked_sub(from_inactive)
            .ok_or_else(|| corrupt("inactive-tuple counter below zero"))?;
        s.consumed += from_active + from_inactive;
        s.reservations += 1;
        s.last_consumed_ms = now;
        let rec = encode(&StoredReservation::of(r, now))?;
        self.reservations.insert(r.id.as_str(), rec.as_slice())?;
        Ok(())
    }

    /// Writes the changed records and counters back.
    fn finish(mut self) -> Result<(), TupleError> {
        for (id, rec) in &self.dirty {
            self.chunks
                .insert(id.to_key().as_slice(), encode(rec)?.as_slice())?;
        }
        for (code, s) in &self.dirty_stats {
            self.stats
                .insert(code.to_be_bytes().as_slice(), encode(s)?.as_slice())?;
        }
        // Consumption moves the epoch on, in the same transaction (see `guard`).
        if !self.applied.is_empty() {
            let mut e = read_epoch(&self.meta)?;
            e.counter += 1;
            self.meta.insert(META_EPOCH, e.to_bytes().as_slice())?;
        }
        Ok(())
    }
}

/// Drops the tuple data of chunk `id` (all blocks) and marks it purged.
fn purge_chunk(w: &WriteTransaction, id: ChunkId) -> Result<bool, TupleError> {
    let mut chunks = w.open_table(CHUNKS)?;
    let Some(mut rec) = load_chunk(&chunks, id)? else {
        return Ok(false);
    };
    if rec.purged {
        return Ok(false);
    }
    let mut data = w.open_table(DATA)?;
    for b in 0..blocks(rec.count) {
        data.remove(data_key(id, b).as_slice())?;
    }
    rec.purged = true;
    chunks.insert(id.to_key().as_slice(), encode(&rec)?.as_slice())?;
    w.open_table(EXHAUSTED)?.remove(id.to_key().as_slice())?;
    Ok(true)
}

/// A reservation applied in this run.
struct Live {
    reservation: Reservation,
    read: bool,
}

/// The tuple store in one redb file; see the module docs of [`crate::tuple`].
pub struct RedbTupleStore {
    db: Database,
    path: PathBuf,
    party: PartyId,
    /// Reservations applied since this store was opened: the only ones that can be read.
    live: Mutex<HashMap<ReservationId, Live>>,
}

impl std::fmt::Debug for RedbTupleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RedbTupleStore(party={}, {})",
            self.party,
            self.path.display()
        )
    }
}

impl RedbTupleStore {
    /// Opens party `party`'s tuple store at `path`, creating the file if it does not exist. A
    /// file left by a killed process is repaired to its last committed state. Reservations applied
    /// before the restart are voided (their ranges stay consumed) and the data of used-up chunks
    /// is dropped. Fails if the file belongs to another party or is not a tuple store.
    pub fn open(path: impl AsRef<Path>, party: PartyId) -> Result<RedbTupleStore, TupleError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let db = kv::open(&path, STORE_KIND).map_err(|p| match p {
            OpenProblem::Backend(e) => e.into(),
            OpenProblem::WrongStore { found } => TupleError::WrongStore {
                path: shown.clone(),
                found,
            },
            OpenProblem::Locked => TupleError::Locked {
                path: shown.clone(),
            },
            OpenProblem::Schema { found } => TupleError::UnsupportedSchema {
                path: shown.clone(),
                found,
                supported: kv::SCHEMA_VERSION,
            },
        })?;
        let w = kv::begin_write(&db)?;
        let (voided, purged) = {
            {
                let mut meta = w.open_table(META)?;
                let stored = meta
                    .get("party")?
                    .map(|g| g.value().try_into().map(u64::from_le_bytes));
                match stored {
                    None => {
                        meta.insert("party", (party as u64).to_le_bytes().as_slice())?;
                    }
                    Some(Ok(p)) if p == party as u64 => {}
                    Some(Ok(p)) => {
                        return Err(TupleError::WrongParty {
                            path: shown,
                            stored: p,
                            given: party as u64,
                        })
                    }
                    Some(Err(_)) => return Err(corrupt("the party id record is malformed")),
                }
            }
            for t in [CHUNKS, DATA, AVAIL, STATS, CHUNK_KEYS] {
                w.open_table(t)?;
            }
            w.open_table(PEER_EPOCHS)?;
            {
                let mut meta = w.open_table(META)?;
                let epoch = StoreEpoch::fresh(read_epoch(&meta)?.counter + 1);
                meta.insert(META_EPOCH, epoch.to_bytes().as_slice())?;
            }
            let mut reservations = w.open_table(RESERVATIONS)?;
            let voided = redb::ReadableTableMetadata::len(&reservations)?;
            reservations.retain(|_, _| false)?;
            drop(reservations);
            let exhausted: Vec<ChunkId> = {
                let t = w.open_table(EXHAUSTED)?;
                let mut v = Vec::new();
                for item in t.range::<&[u8]>(..)? {
                    let (k, _) = item?;
                    v.push(
                        ChunkId::from_key(k.value())
                            .ok_or_else(|| corrupt("an exhausted-chunk entry is malformed"))?,
                    );
                }
                v
            };
            for id in &exhausted {
                purge_chunk(&w, *id)?;
            }
            (voided, exhausted.len())
        };
        w.commit()?;
        if voided > 0 {
            tracing::warn!(
                path = %shown,
                reservations = voided,
                "tuple store: reservations applied before the restart are void; their tuples stay consumed"
            );
        }
        tracing::info!(path = %shown, party, purged_chunks = purged, "tuple store opened");
        Ok(RedbTupleStore {
            db,
            path,
            party,
            live: Mutex::new(HashMap::new()),
        })
    }

    fn live(&self) -> MutexGuard<'_, HashMap<ReservationId, Live>> {
        // A panic while holding the lock cannot leave the map inconsistent (every update is a
        // single insert, remove or flag store), so a poisoned lock is still usable.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits `w` after `f` succeeded, aborts it otherwise.
    fn run<T>(
        w: WriteTransaction,
        f: impl FnOnce(&WriteTransaction) -> Result<T, TupleError>,
    ) -> Result<T, TupleError> {
        match f(&w) {
            Ok(v) => {
                w.commit()?;
                Ok(v)
            }
            Err(e) => {
                w.abort()?;
                Err(e)
            }
        }
    }

    fn add_live(&self, rs: &[Reservation]) {
        let mut live = self.live();
        for r in rs {
            live.insert(
                r.id.clone(),
                Live {
                    reservation: r.clone(),
                    read: false,
                },
            );
        }
    }

    fn read_ranges(r: &redb::ReadTransaction, res: &Reservation) -> Result<TupleData, TupleError> {
        let chunks = r.open_table(CHUNKS)?;
        let data = r.open_table(DATA)?;
        let mut bytes = Vec::new();
        let mut has_clear = None;
        for range in &res.ranges {
            let id = range.chunk;
            let rec = load_chunk(&chunks, id)?.ok_or(TupleError::UnknownChunk { chunk: id })?;
            if rec.purged {
                return Err(corrupt(format!(
                    "chunk {id} was purged while reservation {} was live",
                    res.id
                )));
            }
            if *has_clear.get_or_insert(rec.has_clear) != rec.has_clear {
                return Err(corrupt(format!(
                    "chunks of reservation {} disagree on clear mask values",
                    res.id
                )));
            }
            let w = codec::width(res.kind, rec.has_clear) as u64;
            let end = range.start + range.len;
            for b in range.start / BLOCK_TUPLES..=(end - 1) / BLOCK_TUPLES {
                let g = data
                    .get(data_key(id, b).as_slice())?
                    .ok_or_else(|| corrupt(format!("block {b} of chunk {id} is missing")))?;
                let block = g.value();
                let base = b * BLOCK_TUPLES;
                let lo = (range.start.max(base) - base) * w;
                let hi = (end.min(base + BLOCK_TUPLES) - base) * w;
                let part = block
                    .get(lo as usize..hi as usize)
                    .ok_or_else(|| corrupt(format!("block {b} of chunk {id} is short")))?;
                bytes.extend_from_slice(part);
            }
        }
        codec::decode(res.kind, has_clear.unwrap_or(false), &bytes)
            .map_err(|e| corrupt(format!("tuples of reservation {}: {e}", res.id)))
    }
}

impl TupleStore for RedbTupleStore {
    fn party(&self) -> PartyId {
        self.party
    }

    fn mac_key_share(&self) -> Result<Fp, TupleError> {
        let r = self.db.begin_read()?;
        let meta = r.open_table(META)?;
        let g = meta.get(META_KEY)?.ok_or(TupleError::MacKeyMissing)?;
        let b: &[u8; 16] = g
            .value()
            .try_into()
            .map_err(|_| corrupt("the MAC key share record is malformed"))?;
        Fp::from_mont_bytes(b).map_err(|_| corrupt("the MAC key share record is malformed"))
    }

    fn set_mac_key_share(&self, alpha: Fp, origin: KeyOrigin) -> Result<(), TupleError> {
        Self::run(kv::begin_write(&self.db)?, |w| {
            let mut meta = w.open_table(META)?;
            let bytes = alpha.to_mont_bytes();
            let stamp = current_stamp(&meta)?;
            let existing = meta.get(META_KEY)?.map(|g| g.value().to_vec());
            if let Some(existing) = existing {
                if existing != bytes.as_slice() {
                    return Err(TupleError::MacKeyMismatch);
                }
                return match stamp.origin {
                    Some(stored) if stored == origin => Ok(()),
                    Some(stored) => Err(TupleError::GeneratorMismatch {
                        stored,
                        given: origin,
                    }),
                    // An older build's dealer store: the seed reproduced its key, so the
                    // record can be added; nothing proves an older key was made by MASCOT.
                    None if origin == KeyOrigin::InsecureDealer => {
                        let s = KeyStamp {
                            origin: Some(origin),
                            generation: 0,
                        };
                        meta.insert(META_STAMP, s.to_bytes().as_slice())?;
                        Ok(())
                    }
                    None => Err(TupleError::UnknownKeyOrigin),
                };
            }
            meta.insert(META_KEY, bytes.as_slice())?;
            let s = KeyStamp {
                origin: Some(origin),
                generation: stamp.generation,
            };
            meta.insert(META_STAMP, s.to_bytes().as_slice())?;
            Ok(())
        })
    }

    fn binary_key_share(&self) -> Result<Option<Gf128>, TupleError> {
        let r = self.db.begin_read()?;
        read_binary_key(&r.open_table(META)?)
    }

    fn set_binary_key_share(&self, delta: Gf128, origin: KeyOrigin) -> Result<(), TupleError> {
        Self::run(kv::begin_write(&self.db)?, |w| {
            let mut meta = w.open_table(META)?;
            if meta.get(META_KEY)?.is_none() {
                return Err(TupleError::MacKeyMissing);
            }
            match current_stamp(&meta)?.origin {
                Some(stored) if stored == origin => {}
                Some(stored) => {
                    return Err(TupleError::GeneratorMismatch {
                        stored,
                        given: origin,
                    })
                }
                None => return Err(TupleError::UnknownKeyOrigin),
            }
            match read_binary_key(&meta)? {
                Some(d) if d == delta => Ok(()),
                Some(_) => Err(TupleError::BinaryKeyMismatch),
                None => {
                    meta.insert(META_BINARY_KEY, delta.0.to_le_bytes().as_slice())?;
                    Ok(())
                }
            }
        })
    }

    fn key_origin(&self) -> Result<Option<KeyOrigin>, TupleError> {
        let r = self.db.begin_read()?;
        let meta = r.open_table(META)?;
        if meta.get(META_KEY)?.is_none() {
            return Ok(None);
        }
        match current_stamp(&meta)?.origin {
            Some(o) => Ok(Some(o)),
            None => Err(TupleError::UnknownKeyOrigin),
        }
    }

    fn key_generation(&self) -> Result<u64, TupleError> {
        let r = self.db.begin_read()?;
        Ok(current_stamp(&r.open_table(META)?)?.generation)
    }

    fn generation_halt(&self) -> Result<Option<GenerationHalt>, TupleError> {
        let r = self.db.begin_read()?;
        let meta = r.open_table(META)?;
        let g = meta.get(META_HALT)?;
        g.map(|g| {
            postcard::from_bytes(g.value())
                .map_err(|e| corrupt(format!("the generation halt record does not decode: {e}")))
        })
        .transpose()
    }

    fn record_generation_halt(&self, halt: GenerationHalt) -> Result<GenerationHalt, TupleError> {
        Self::run(kv::begin_write(&self.db)?, |w| {
            let mut meta = w.open_table(META)?;
            let stored: Option<GenerationHalt> = match meta.get(META_HALT)? {
                Some(g) => Some(postcard::from_bytes(g.value()).map_err(|e| {
                    corrupt(format!("the generation halt record does not decode: {e}"))
                })?),
                None => None,
            };
            let rec = match stored {
                Some(mut first) => {
                    first.failures = first.failures.saturating_add(1);
                    first
                }
                None => GenerationHalt {
                    failures: 1,
                    ..halt
                },
            };
            meta.insert(META_HALT, encode(&rec)?.as_slice())?;
            Ok(rec)
        })
    }

    fn rekey(&self, alpha: Fp) -> Result<(), TupleError> {
        let live = self.live();
        if let Some(l) = live.values().next() {
            let chunk = l.reservation.ranges.first().map(|r| r.chunk);
            if let Some(chunk) = chunk {
                return Err(TupleError::ChunkInUse { chunk });
            }
        }
        let dropped = Self::run(kv::begin_write(&self.db)?, |w| {
            let dropped = discard_everything(w)?;
            let mut meta = w.open_table(META)?;
            let stamp = current_stamp(&meta)?;
            if stamp.origin == Some(KeyOrigin::InsecureDealer) {
                return Err(TupleError::GeneratorMismatch {
                    stored: KeyOrigin::InsecureDealer,
                    given: KeyOrigin::Mascot,
                });
            }
            let next = KeyStamp {
                origin: Some(KeyOrigin::Mascot),
                generation: stamp.generation + 1,
            };
            meta.insert(META_KEY, alpha.to_mont_bytes().as_slice())?;
            meta.insert(META_STAMP, next.to_bytes().as_slice())?;
            // The binary key goes with the old key's tuples: the next binary job makes a fresh
            // one (see `guard`).
            meta.remove(META_BINARY_KEY)?;
            meta.remove(META_HALT)?;
            Ok(dropped)
        })?;
        drop(live);
        tracing::warn!(
            party = self.party,
            discarded_tuples = dropped,
            "tuple store moved to a fresh MAC key; every tuple made under the old key was discarded"
        );
        Ok(())
    }

    fn epoch(&self) -> Result<StoreEpoch, TupleError> {
        let r = self.db.begin_read()?;
        read_epoch(&r.open_table(META)?)
    }

    fn observe_peer_epoch(&self, peer: PartyId, epoch: StoreEpoch) -> Result<(), TupleError> {
        // Within one run of the peer (its boot id) reports may arrive out of order; a new run
        // must start above everything seen from the previous ones.
        let check = |seen: Option<StoreEpoch>| -> Result<bool, TupleError> {
            match seen {
                None => Ok(true),
                Some(s) if s.boot == epoch.boot => Ok(epoch.counter > s.counter),
                Some(s) if epoch.counter > s.counter => Ok(true),
                Some(s) => Err(TupleError::PeerRolledBack {
                    peer: peer as u64,
                    seen: s.counter,
                    reported: epoch.counter,
                    next: s.counter + 1,
                }),
            }
        };
        let decode = |b: &[u8]| {
            StoreEpoch::from_bytes(b)
                .ok_or_else(|| corrupt(format!("the epoch recorded for party {peer} is malformed")))
        };
        let seen = {
            let r = self.db.begin_read()?;
            let t = r.open_table(PEER_EPOCHS)?;
            let v = t.get(peer as u64)?.map(|g| decode(g.value())).transpose()?;
            v
        };
        if !check(seen)? {
            return Ok(());
        }
        // Not fsynced: it becomes durable with the next reservation's commit. A crash before
        // that forgets the newest report, which only weakens the check for one run.
        Self::run(kv::begin_write_lazy(&self.db)?, |w| {
            let mut t = w.open_table(PEER_EPOCHS)?;
            let now = t.get(peer as u64)?.map(|g| decode(g.value())).transpose()?;
            if check(now)? {
                t.insert(peer as u64, epoch.to_bytes().as_slice())?;
            }
            Ok(())
        })
    }

    fn discard_all_tuples(&self, at_least: u64) -> Result<StoreEpoch, TupleError> {
        let live = self.live();
        if let Some(chunk) = live
            .values()
            .find_map(|l| l.reservation.ranges.first().map(|r| r.chunk))
        {
            return Err(TupleError::ChunkInUse { chunk });
        }
        let (dropped, epoch) = Self::run(kv::begin_write(&self.db)?, |w| {
            let dropped = discard_everything(w)?;
            let mut meta = w.open_table(META)?;
            let epoch = StoreEpoch::fresh((read_epoch(&meta)?.counter + 1).max(at_least));
            meta.insert(META_EPOCH, epoch.to_bytes().as_slice())?;
            Ok((dropped, epoch))
        })?;
        drop(live);
        tracing::warn!(
            party = self.party,
            discarded_tuples = dropped,
            epoch = epoch.counter,
            "every tuple of the store was discarded by the operator"
        );
        Ok(epoch)
    }

    fn store_chunk(&self, id: ChunkId, data: &TupleData) -> Result<(), TupleError> {
        data.check(self.party)?;
        let count = data.len() as u64;
        if count == 0 || count > MAX_CHUNK_TUPLES {
            return Err(TupleError::BadChunkSize { count });
        }
        let kind = data.kind();
        let has_clear = data.has_clear();
        let bytes = codec::encode(data);
        let w = codec::width(kind, has_clear);
        Self::run(kv::begin_write(&self.db)?, |tx| {
            let mut chunks = tx.open_table(CHUNKS)?;
            if chunks.get(id.to_key().as_slice())?.is_some() {
                return Err(TupleError::ChunkExists { chunk: id });
            }
            let rec = ChunkRecord {
                kind: kind_code(kind),
                count,
                has_clear,
                seq: None,
                consumed: Vec::new(),
                purged: false,
                stored_ms: kv::now_ms(),
            };
            let (stamp, has_delta) = {
                let meta = tx.open_table(META)?;
                (current_stamp(&meta)?, read_binary_key(&meta)?.is_some())
            };
            if is_binary(kind) && !has_delta {
                return Err(TupleError::BinaryKeyMissing);
            }
            chunks.insert(id.to_key().as_slice(), encode(&rec)?.as_slice())?;
            tx.open_table(CHUNK_KEYS)?
                .insert(id.to_key().as_slice(), stamp.to_bytes().as_slice())?;
            let mut table = tx.open_table(DATA)?;
            for (b, block) in bytes.chunks(BLOCK_TUPLES as usize * w).enumerate() {
                table.insert(data_key(id, b as u64).as_slice(), block)?;
            }
            let mut stats = tx.open_table(STATS)?;
            let code = kind_code(kind).to_be_bytes();
            let mut s = match stats.get(code.as_slice())? {
                Some(g) => decode_stats(g.value())?,
                None => KindStats::default(),
            };
            s.inactive += count;
            stats.insert(code.as_slice(), encode(&s)?.as_slice())?;
            Ok(())
        })?;
        tracing::debug!(chunk = %id, kind = %kind, count, "tuple chunk stored");
        Ok(())
    }

    fn activate_chunk(&self, id: ChunkId) -> Result<bool, TupleError> {
        Self::run(kv::begin_write(&self.db)?, |w| {
            let mut chunks = w.open_table(CHUNKS)?;
            let mut rec = load_chunk(&chunks, id)?.ok_or(TupleError::UnknownChunk { chunk: id })?;
            if rec.seq.is_some() {
                return Ok(false);
            }
            let seq = {
                let mut meta = w.open_table(META)?;
                let next = match meta.get("next_seq")? {
                    Some(g) => u64::from_le_bytes(
                        g.value()
                            .try_into()
                            .map_err(|_| corrupt("the chunk sequence counter is malformed"))?,
                    ),
                    None => 0,
                };
                meta.insert("next_seq", (next + 1).to_le_bytes().as_slice())?;
                next
            };
            rec.seq = Some(seq);
            let free = if rec.purged { 0 } else { rec.free() };
            if free > 0 {
                w.open_table(AVAIL)?
                    .insert(avail_key(rec.kind, seq).as_slice(), id.to_key().as_slice())?;
                let mut stats = w.open_table(STATS)?;
                let code = rec.kind.to_be_bytes();
                let mut s = match stats.get(code.as_slice())? {
                    Some(g) => decode_stats(g.value())?,
                    None => KindStats::default(),
                };
                s.inactive = s
                    .inactive
                    .checked_sub(free)
                    .ok_or_else(|| corrupt("inactive-tuple counter below zero"))?;
                s.available += free;
                stats.insert(code.as_slice(), encode(&s)?.as_slice())?;
            }
            chunks.insert(id.to_key().as_slice(), encode(&rec)?.as_slice())?;
            Ok(true)
        })
    }

    fn discard_chunk(&self, id: ChunkId) -> Result<(), TupleError> {
        let live = self.live();
        if live
            .values()
            .any(|l| l.reservation.ranges.iter().any(|r| r.chunk == id))
        {
            return Err(TupleError::ChunkInUse { chunk: id });
        }
        Self::run(kv::begin_write(&self.db)?, |w| {
            let (kind, seq, free) = {
                let mut chunks = w.open_table(CHUNKS)?;
                let mut rec =
                    load_chunk(&chunks, id)?.ok_or(TupleError::UnknownChunk { chunk: id })?;
                if rec.purged {
                    return Ok(());
                }
                let free = rec.free();
                rec.consumed = vec![(0, rec.count)];
                chunks.insert(id.to_key().as_slice(), encode(&rec)?.as_slice())?;
                (rec.kind, rec.seq, free)
            };
            if free > 0 {
                if let Some(seq) = seq {
                    w.open_table(AVAIL)?
                        .remove(avail_key(kind, seq).as_slice())?;
                }
                let mut stats = w.open_table(STATS)?;
                let code = kind.to_be_bytes();
                let mut s = match stats.get(code.as_slice())? {
                    Some(g) => decode_stats(g.value())?,
                    None => KindStats::default(),
                };
                let counter = if seq.is_some() {
                    &mut s.available
                } else {
                    &mut s.inactive
                };
                *counter = counter
                    .checked_sub(free)
                    .ok_or_else(|| corrupt("tuple counter below zero"))?;
                stats.insert(code.as_slice(), encode(&s)?.as_slice())?;
            }
            purge_chunk(w, id)?;
            Ok(())
        })?;
        drop(live);
        tracing::info!(chunk = %id, "tuple chunk discarded");
        Ok(())
    }

    fn chunk_info(&self, id: ChunkId) -> Result<ChunkInfo, TupleError> {
        let r = self.db.begin_read()?;
        let rec = load_chunk(&r.open_table(CHUNKS)?, id)?
            .ok_or(TupleError::UnknownChunk { chunk: id })?;
        Ok(ChunkInfo {
            id,
            kind: rec.kind(id)?,
            count: rec.count,
            consumed: rec.consumed_count(),
            active: rec.seq.is_some(),
            purged: rec.purged,
        })
    }

    fn stats(&self) -> Result<Vec<TupleStats>, TupleError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(STATS)?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(..)? {
            let (k, v) = item?;
            let code = k
                .value()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| corrupt("a statistics key is malformed"))?;
            let kind = kind_of_code(code)
                .ok_or_else(|| corrupt(format!("statistics of unknown kind code {code}")))?;
            let s = decode_stats(v.value())?;
            out.push(TupleStats {
                kind,
                available: s.available,
                inactive: s.inactive,
                consumed: s.consumed,
                reservations: s.reservations,
                last_consumed_ms: s.last_consumed_ms,
            });
        }
        Ok(out)
    }

    fn stats_of(&self, kind: TupleKind) -> Result<TupleStats, TupleError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(STATS)?;
        let Some(g) = t.get(kind_code(kind).to_be_bytes().as_slice())? else {
            return Ok(TupleStats::zero(kind));
        };
        let s = decode_stats(g.value())?;
        Ok(TupleStats {
            kind,
            available: s.available,
            inactive: s.inactive,
            consumed: s.consumed,
            reservations: s.reservations,
            last_consumed_ms: s.last_consumed_ms,
        })
    }

    fn plan_reservation(
        &self,
        id: ReservationId,
        kind: TupleKind,
        count: u64,
    ) -> Result<Reservation, TupleError> {
        let r = self.db.begin_read()?;
        let ranges = plan_ranges(
            &r.open_table(AVAIL)?,
            &r.open_table(CHUNKS)?,
            &HashMap::new(),
            kind,
            count,
        )?;
        Ok(Reservation { id, kind, ranges })
    }

    fn reserve(&self, requests: &[ReservationRequest]) -> Result<Vec<Reservation>, TupleError> {
        let out = Self::run(kv::begin_write(&self.db)?, |w| {
            let mut t = Txn::new(w)?;
            let mut out = Vec::with_capacity(requests.len());
            for q in requests {
                let ranges = t.plan(q.kind, q.count)?;
                let r = Reservation {
                    id: q.id.clone(),
                    kind: q.kind,
                    ranges,
                };
                t.apply(&r)?;
                out.push(r);
            }
            t.finish()?;
            Ok(out)
        })?;
        self.add_live(&out);
        Ok(out)
    }

    fn apply_reservations(&self, reservations: &[Reservation]) -> Result<(), TupleError> {
        Self::run(kv::begin_write(&self.db)?, |w| {
            let mut t = Txn::new(w)?;
            for r in reservations {
                t.apply(r)?;
            }
            t.finish()
        })?;
        self.add_live(reservations);
        Ok(())
    }

    fn read_reserved(&self, reservation: &Reservation) -> Result<TupleData, TupleError> {
        let id = &reservation.id;
        // The snapshot is taken under the lock, so a concurrent `release` cannot purge the data
        // out from under this read.
        let snapshot = {
            let mut live = self.live();
            let l = live
                .get_mut(id)
                .ok_or_else(|| TupleError::NotApplied { id: id.clone() })?;
            if l.reservation != *reservation {
                return Err(TupleError::ReservationMismatch { id: id.clone() });
            }
            if l.read {
                return Err(TupleError::AlreadyRead { id: id.clone() });
            }
            let snapshot = self.db.begin_read()?;
            l.read = true;
            snapshot
        };
        match Self::read_ranges(&snapshot, reservation) {
            Ok(d) => Ok(d),
            Err(e) => {
                // Nothing was handed out; the reservation may be read again.
                if let Some(l) = self.live().get_mut(id) {
                    l.read = false;
                }
                Err(e)
            }
        }
    }

    fn release(&self, id: &ReservationId) -> Result<(), TupleError> {
        // Chunks referenced by other live reservations keep their data. No new reservation can
        // come to reference an exhausted chunk (it has no free tuples), so this set is stable.
        let (gone, in_use) = {
            let mut live = self.live();
            let gone = live.remove(id);
            let in_use: HashSet<ChunkId> = live
                .values()
                .flat_map(|l| l.reservation.ranges.iter().map(|r| r.chunk))
                .collect();
            (gone, in_use)
        };
        // Not fsynced: if the process dies before the next durable commit, `open` voids every
        // reservation and purges every used-up chunk anyway. This keeps a game's end off the disk.
        let result = Self::run(kv::begin_write_lazy(&self.db)?, |w| {
            w.open_table(RESERVATIONS)?.remove(id.as_str())?;
            let mut purged = 0;
            if let Some(l) = &gone {
                let candidates: HashSet<ChunkId> =
                    l.reservation.ranges.iter().map(|r| r.chunk).collect();
                for c in candidates.difference(&in_use) {
                    let exhausted = w
                        .open_table(EXHAUSTED)?
                        .get(c.to_key().as_slice())?
                        .is_some();
                    if exhausted && purge_chunk(w, *c)? {
                        purged += 1;
                    }
                }
            }
            Ok(purged)
        });
        match result {
            Ok(purged) => {
                if purged > 0 {
                    tracing::debug!(reservation = %id, chunks = purged, "used-up tuple chunks purged");
                }
                Ok(())
            }
            Err(e) => {
                // The reservation is still recorded durably; keep it live.
                if let Some(l) = gone {
                    self.live().insert(id.clone(), l);
                }
                Err(e)
            }
        }
    }
}
