//! Reconciling a party's chunks with party 0's, after failures.
//!
//! Party 0 decides which ranges are consumed; the others apply its reservations. When a session
//! fails between party 0's reservation and a party's application, or a job between a party's
//! `Stored` and party 0's `Commit`, the two disagree. The node's recovery
//! (`crates/node/src/recovery.rs`) asks party 0 for a [`ChunkView`] of every chunk a party holds
//! and applies it here with [`RedbTupleStore::reconcile_chunk`].
//!
//! **Architecture Invariant:** reconciliation only ever *adds* consumed ranges (or discards a
//! chunk party 0 never activated): a tuple may be lost, never served twice.

use std::collections::HashSet;

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::{
    avail_key, corrupt, decode_stats, encode, load_chunk, purge_chunk, KindStats, RedbTupleStore,
    AVAIL, CHUNKS, EXHAUSTED, STATS,
};
use crate::ids::ChunkId;
use crate::kv;
use crate::tuple::{ChunkInfo, TupleError, TupleStore};

/// How party 0 sees one chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkView {
    /// Party 0 has no such chunk, or discarded it without activating it: discard it.
    Discarded,
    /// Stored and not activated, with its job still running: wait.
    Pending,
    /// Active on party 0 with these `[start, end)` ranges consumed (ranges of reservations still
    /// in use on party 0 left out: their sessions decide them).
    Active { consumed: Vec<(u64, u64)> },
}

/// A chunk held on this party, as [`RedbTupleStore::held_chunks`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldChunk {
    pub id: ChunkId,
    pub active: bool,
}

/// `ranges` without the parts covered by `cut`.
fn subtract(ranges: &[(u64, u64)], cut: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = ranges.to_vec();
    for &(ls, le) in cut {
        out = out
            .into_iter()
            .flat_map(|(a, b)| {
                if le <= a || b <= ls {
                    vec![(a, b)]
                } else {
                    let mut v = Vec::new();
                    if a < ls {
                        v.push((a, ls));
                    }
                    if le < b {
                        v.push((le, b));
                    }
                    v
                }
            })
            .collect();
    }
    out
}

impl RedbTupleStore {
    /// Chunks with tuple data (not purged), active or not.
    pub fn held_chunks(&self) -> Result<Vec<HeldChunk>, TupleError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(CHUNKS)?;
        let mut ids = Vec::new();
        for item in t.range::<&[u8]>(..)? {
            let (k, _) = item?;
            ids.push(
                ChunkId::from_key(k.value()).ok_or_else(|| corrupt("a chunk key is malformed"))?,
            );
        }
        let mut out = Vec::new();
        for id in ids {
            if let Some(rec) = load_chunk(&t, id)? {
                if !rec.purged {
                    out.push(HeldChunk {
                        id,
                        active: rec.seq.is_some(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Every chunk ever stored here (purged ones too: their records stay), for audits.
    pub fn chunk_infos(&self) -> Result<Vec<ChunkInfo>, TupleError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(CHUNKS)?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(..)? {
            let (k, _) = item?;
            let id =
                ChunkId::from_key(k.value()).ok_or_else(|| corrupt("a chunk key is malformed"))?;
            if let Some(rec) = load_chunk(&t, id)? {
                out.push(ChunkInfo {
                    id,
                    kind: rec.kind(id)?,
                    count: rec.count,
                    consumed: rec.consumed_count(),
                    active: rec.seq.is_some(),
                    purged: rec.purged,
                });
            }
        }
        Ok(out)
    }

    /// Party 0: how it sees chunk `id`, for a party reconciling with it. An inactive chunk not
    /// in `running` (the chunks of jobs in progress here) will never be committed: it is
    /// discarded here first and reported as such.
    pub fn chunk_view(
        &self,
        id: ChunkId,
        running: &HashSet<ChunkId>,
    ) -> Result<ChunkView, TupleError> {
        let rec = {
            let r = self.db.begin_read()?;
            let t = r.open_table(CHUNKS)?;
            load_chunk(&t, id)?
        };
        let Some(rec) = rec else {
            return Ok(ChunkView::Discarded);
        };
        if rec.seq.is_none() {
            if running.contains(&id) {
                return Ok(ChunkView::Pending);
            }
            if !rec.purged {
                self.discard_chunk(id)?;
            }
            return Ok(ChunkView::Discarded);
        }
        let live: Vec<(u64, u64)> = self
            .live()
            .values()
            .flat_map(|l| l.reservation.ranges.iter())
            .filter(|r| r.chunk == id)
            .map(|r| (r.start, r.start + r.len))
            .collect();
        Ok(ChunkView::Active {
            consumed: subtract(&rec.consumed, &live),
        })
    }

    /// A party other than 0: brings chunk `id` in line with party 0's `view`. `Discarded`
    /// discards it; `Active` activates it if it is not yet and marks consumed every range party 0
    /// consumed that this party has not (counted as consumed, as if applied), purging the data
    /// once nothing is left; `Pending` changes nothing. Returns the tuples newly marked consumed.
    pub fn reconcile_chunk(&self, id: ChunkId, view: &ChunkView) -> Result<u64, TupleError> {
        let consumed = match view {
            ChunkView::Pending => return Ok(0),
            ChunkView::Discarded => {
                return match self.chunk_info(id) {
                    Ok(info) if !info.purged => self.discard_chunk(id).map(|()| 0),
                    _ => Ok(0),
                }
            }
            ChunkView::Active { consumed } => consumed,
        };
        self.activate_chunk(id)?;
        let live = self.live();
        let in_use = live
            .values()
            .any(|l| l.reservation.ranges.iter().any(|r| r.chunk == id));
        let marked = Self::run(kv::begin_write(&self.db)?, |w| {
            let mut chunks = w.open_table(CHUNKS)?;
            let Some(mut rec) = load_chunk(&chunks, id)? else {
                return Ok(0);
            };
            if rec.purged {
                return Ok(0);
            }
            let theirs: Vec<(u64, u64)> = consumed
                .iter()
                .map(|&(s, e)| (s, e.min(rec.count)))
                .filter(|&(s, e)| s < e)
                .collect();
            let mut added = 0u64;
            for (s, e) in subtract(&theirs, &rec.consumed.clone()) {
                rec.mark(s, e);
                added += e - s;
            }
            if added == 0 {
                return Ok(0);
            }
            let exhausted = rec.free() == 0;
            if exhausted {
                if let Some(seq) = rec.seq {
                    w.open_table(AVAIL)?
                        .remove(avail_key(rec.kind, seq).as_slice())?;
                }
                w.open_table(EXHAUSTED)?
                    .insert(id.to_key().as_slice(), ())?;
            }
            chunks.insert(id.to_key().as_slice(), encode(&rec)?.as_slice())?;
            drop(chunks);
            let mut stats = w.open_table(STATS)?;
            let code = rec.kind.to_be_bytes();
            let mut s = match stats.get(code.as_slice())? {
                Some(g) => decode_stats(g.value())?,
                None => KindStats::default(),
            };
            s.available = s
                .available
                .checked_sub(added)
                .ok_or_else(|| corrupt("available-tuple counter below zero"))?;
            s.consumed += added;
            s.last_consumed_ms = kv::now_ms();
            stats.insert(code.as_slice(), encode(&s)?.as_slice())?;
            drop(stats);
            if exhausted && !in_use {
                purge_chunk(w, id)?;
            }
            Ok(added)
        })?;
        drop(live);
        if marked > 0 {
            tracing::info!(chunk = %id, tuples = marked, "tuple chunk reconciled with party 0: the ranges party 0 consumed are consumed here too");
        }
        Ok(marked)
    }
}

#[cfg(test)]
mod tests {
    use super::subtract;

    #[test]
    fn subtract_cuts_ranges() {
        assert_eq!(subtract(&[(0, 10)], &[(2, 4)]), vec![(0, 2), (4, 10)]);
        assert_eq!(subtract(&[(0, 10)], &[(0, 10)]), vec![]);
        assert_eq!(subtract(&[(0, 3), (5, 9)], &[(2, 6)]), vec![(0, 2), (6, 9)]);
        assert_eq!(subtract(&[(0, 3)], &[(3, 6)]), vec![(0, 3)]);
    }
}
