//! Resolving what failures left half done: prepared joint commits ([`crate::commit`]), chunks of
//! MASCOT jobs stored but not committed, and reservations party 0 made that a party never
//! applied.
//!
//! Every party other than 0 runs [`Node::recover_loop`]: at start, after any failure it took
//! part in, while it holds an undecided commit or an inactive chunk, and every
//! [`FULL_SYNC`] anyway, it asks party 0 — on a fresh gateway channel whose first frame starts
//! with [`REC_MAGIC`] — how each of its undecided transactions ended and how party 0 sees each
//! of its chunks, and applies the answer: commit or discard the transaction; activate, mark
//! consumed what party 0 consumed (so that the consumed and available counters agree), or
//! discard the chunk (`store::RedbTupleStore::reconcile_chunk`). Party 0 answers in
//! [`Node::serve_recovery`]; at its own start it aborts its undecided transactions and discards
//! its inactive chunks (none of them can be in progress then).
//!
//! **Architecture Invariant:** only party 0 decides; a party never commits or discards an
//! undecided transaction on its own, and it reconciles a chunk only by adding consumed ranges
//! or discarding what party 0 never activated: tuples may be lost, never served twice.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use net::{ChannelId, NetConfig, PartyId};
use serde::{Deserialize, Serialize};
use store::{ChunkId, ChunkView, TupleStore, TxnId, TxnOutcome};

use crate::Node;

/// The first bytes of a recovery query.
pub const REC_MAGIC: &[u8; 8] = b"EPHREC01";

/// A full reconciliation at least this often, even when nothing failed here. This bounds how
/// long a party that saw nothing of a failed game (party 0 reserved and consumed its tuples,
/// then the game failed before this party heard of it) keeps counting those tuples as
/// available: one query to party 0 per period, so it can be short.
pub const FULL_SYNC: Duration = Duration::from_secs(10);

/// Most transactions or chunks in one query (more wait for the next round).
const MAX_ITEMS: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
enum RecMsg {
    Query {
        txns: Vec<TxnId>,
        chunks: Vec<uuid::Uuid>,
    },
    Answer {
        txns: Vec<TxnOutcome>,
        chunks: Vec<ChunkView>,
    },
}

fn frame(m: &RecMsg) -> Bytes {
    let mut v = REC_MAGIC.to_vec();
    v.extend(postcard::to_allocvec(m).expect("recovery messages serialize"));
    Bytes::from(v)
}

fn parse(b: &[u8]) -> Option<RecMsg> {
    postcard::from_bytes(b.strip_prefix(REC_MAGIC.as_slice())?).ok()
}

/// What is in progress on this party (and so not to be resolved), and whether a failure asks
/// for a reconciliation.
pub struct Recovery {
    txns: Mutex<HashSet<TxnId>>,
    chunks: Mutex<HashSet<ChunkId>>,
    dirty: AtomicBool,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            txns: Mutex::default(),
            chunks: Mutex::default(),
            // A start is a reason to reconcile: the last run may have died half-way.
            dirty: AtomicBool::new(true),
        }
    }
}

/// Marks a transaction or chunk in progress while alive.
pub struct InFlight<'a, T: std::hash::Hash + Eq + Copy> {
    set: &'a Mutex<HashSet<T>>,
    item: T,
}

impl<T: std::hash::Hash + Eq + Copy> Drop for InFlight<'_, T> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.item);
    }
}

impl Recovery {
    /// Transaction `txn` is in progress until the guard drops.
    pub fn txn_in_flight(&self, txn: TxnId) -> InFlight<'_, TxnId> {
        self.txns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(txn);
        InFlight {
            set: &self.txns,
            item: txn,
        }
    }

    /// Chunk `chunk` belongs to a job in progress until the guard drops.
    pub fn chunk_in_flight(&self, chunk: ChunkId) -> InFlight<'_, ChunkId> {
        self.chunks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chunk);
        InFlight {
            set: &self.chunks,
            item: chunk,
        }
    }

    fn txns_running(&self) -> HashSet<TxnId> {
        self.txns.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Chunks of jobs in progress.
    pub fn chunks_running(&self) -> HashSet<ChunkId> {
        self.chunks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A failure happened: reconcile with party 0 soon.
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }
}

impl Node {
    /// Party 0 at start: nothing is in progress, so every undecided transaction is aborted
    /// (recorded, so a party asking later learns it) and every inactive chunk discarded.
    pub(crate) fn recover_as_leader(&self) {
        match self.secrets.prepared() {
            Ok(v) => {
                for (txn, _) in v {
                    match self.secrets.abort_prepared(txn, true) {
                        Ok(()) => {
                            tracing::warn!(%txn, "joint commit left undecided by the last run: aborted")
                        }
                        Err(e) => {
                            tracing::error!(%txn, error = %e, "cannot abort an undecided joint commit")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list undecided joint commits"),
        }
        if self.tuplegen.is_mascot() {
            match self.tuples.held_chunks() {
                Ok(v) => {
                    for c in v.into_iter().filter(|c| !c.active) {
                        match self.tuples.discard_chunk(c.id) {
                            Ok(()) => {
                                tracing::warn!(chunk = %c.id, "tuple chunk of a job the last run did not commit: discarded")
                            }
                            Err(e) => {
                                tracing::error!(chunk = %c.id, error = %e, "cannot discard an uncommitted chunk")
                            }
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot list tuple chunks"),
            }
        }
        // Outcomes are kept a week: a party away longer must be restored, not recovered.
        let week_ms = 7 * 24 * 3600 * 1000;
        let _ = self
            .secrets
            .prune_outcomes(crate::coord::now_ms().saturating_sub(week_ms));
    }

    /// Party 0: answers every recovery query until the node stops.
    pub(crate) async fn serve_recovery(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let Some(gw) = self.gateway.clone() else {
            return;
        };
        let mut queries = gw.subscribe(REC_MAGIC);
        loop {
            let (peer, id) = tokio::select! {
                q = queries.recv() => match q { Some(q) => q, None => return },
                _ = stop.changed() => return,
            };
            let node = self.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = node.answer_query(peer, id) {
                    tracing::debug!(peer, error = %e, "recovery query not answered");
                }
            });
        }
    }

    fn answer_query(&self, peer: PartyId, id: ChannelId) -> Result<(), String> {
        let gw = self.gateway.as_ref().ok_or("no gateway")?;
        let mut net = gw
            .open_with(
                id,
                NetConfig {
                    recv_deadline: Duration::from_secs(5),
                    ..NetConfig::default()
                },
            )
            .map_err(|e| e.to_string())?;
        let f = net.recv(peer).map_err(|e| e.to_string())?;
        let Some(RecMsg::Query { txns, chunks }) = parse(&f) else {
            return Err(format!("party {peer} sent a malformed recovery query"));
        };
        if txns.len() > MAX_ITEMS || chunks.len() > MAX_ITEMS {
            return Err(format!("party {peer} sent an oversized recovery query"));
        }
        let txns = txns
            .iter()
            .map(|t| self.secrets.resolve(*t).unwrap_or(TxnOutcome::Pending))
            .collect();
        let running = self.recovery.chunks_running();
        let chunks = chunks
            .iter()
            .map(|u| match ChunkId::from_uuid(*u) {
                Ok(c) => self
                    .tuples
                    .chunk_view(c, &running)
                    .unwrap_or(ChunkView::Pending),
                Err(_) => ChunkView::Pending,
            })
            .collect();
        net.send(peer, frame(&RecMsg::Answer { txns, chunks }))
            .map_err(|e| e.to_string())
    }

    /// A party other than 0: reconciles with party 0 whenever there is reason to, until the
    /// node stops. See the module docs.
    pub(crate) async fn recover_loop(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut last_full = Instant::now();
        let tick = self.config.timeouts.recovery();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => return,
            }
            let node = self.clone();
            let full = last_full.elapsed() >= FULL_SYNC;
            let done = tokio::task::spawn_blocking(move || node.reconcile_once(full))
                .await
                .unwrap_or(Ok(false));
            match done {
                Ok(true) => last_full = Instant::now(),
                Ok(false) => {}
                Err(e) => {
                    self.recovery.mark_dirty();
                    tracing::debug!(error = %e, "reconciliation with party 0 did not complete; retrying");
                }
            }
        }
    }

    /// One round: `Ok(true)` if it asked party 0 about everything it holds.
    fn reconcile_once(&self, full: bool) -> Result<bool, String> {
        let running = self.recovery.txns_running();
        let txns: Vec<TxnId> = self
            .secrets
            .prepared()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| !running.contains(t))
            .take(MAX_ITEMS)
            .collect();
        let mascot = self.tuplegen.is_mascot();
        let busy = self.recovery.chunks_running();
        let held: Vec<store::HeldChunk> = if mascot {
            self.tuples
                .held_chunks()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|c| !busy.contains(&c.id))
                .collect()
        } else {
            Vec::new()
        };
        let dirty = self.recovery.dirty.load(Ordering::Relaxed);
        let inactive = held.iter().any(|c| !c.active);
        if txns.is_empty() && !inactive && !dirty && !full {
            return Ok(false);
        }
        let Some(gw) = self.gateway.as_ref() else {
            return Ok(false);
        };
        if !gw.peer_status().iter().any(|p| p.party == 0 && p.connected) {
            return Err("party 0 is not connected".into());
        }
        // Cleared first: a failure during this round sets it again.
        self.recovery.dirty.store(false, Ordering::Relaxed);
        let chunks: Vec<ChunkId> = held.iter().map(|c| c.id).take(MAX_ITEMS).collect();
        let name = uuid::Uuid::new_v4().to_string();
        let mut net = gw
            .open_with(
                ChannelId::derive("recovery", &name),
                NetConfig {
                    recv_deadline: Duration::from_secs(5),
                    ..NetConfig::default()
                },
            )
            .map_err(|e| e.to_string())?;
        net.send(
            0,
            frame(&RecMsg::Query {
                txns: txns.clone(),
                chunks: chunks.iter().map(|c| c.uuid()).collect(),
            }),
        )
        .map_err(|e| e.to_string())?;
        let f = net.recv(0).map_err(|e| e.to_string())?;
        let Some(RecMsg::Answer {
            txns: outcomes,
            chunks: views,
        }) = parse(&f)
        else {
            return Err("party 0 sent a malformed recovery answer".into());
        };
        if outcomes.len() != txns.len() || views.len() != chunks.len() {
            return Err("party 0's recovery answer does not match the query".into());
        }
        let mut pending = false;
        for (txn, o) in txns.iter().zip(outcomes) {
            let r = match o {
                TxnOutcome::Committed => self.secrets.commit_prepared(*txn, false),
                TxnOutcome::Aborted => self.secrets.abort_prepared(*txn, false),
                TxnOutcome::Pending => {
                    pending = true;
                    Ok(())
                }
            };
            match r {
                Ok(()) if o != TxnOutcome::Pending => {
                    tracing::info!(%txn, outcome = ?o, "undecided joint commit resolved with party 0")
                }
                Ok(()) => {}
                Err(e) => {
                    pending = true;
                    tracing::warn!(%txn, error = %e, "cannot apply party 0's decision yet")
                }
            }
        }
        let busy = self.recovery.chunks_running();
        for (c, v) in chunks.iter().zip(views) {
            if busy.contains(c) {
                continue;
            }
            if v == ChunkView::Pending {
                pending = true;
            }
            if let Err(e) = self.tuples.reconcile_chunk(*c, &v) {
                pending = true;
                tracing::debug!(chunk = %c, error = %e, "chunk not reconciled yet");
            }
        }
        if pending {
            self.recovery.mark_dirty();
        }
        Ok(true)
    }
}
