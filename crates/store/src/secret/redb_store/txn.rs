//! Joint commits of secrets: a secret is created or deleted on every party or on none.
//!
//! The node runs a two-phase commit led by party 0 (docs/PROTOCOL.md, "Joint commit of
//! secrets"); this module is one party's durable side of it:
//! - `secret_prepared`: transaction id (16 bytes) → postcard [`Prepared`]: what the transaction
//!   will do, written by [`RedbSecretStore::prepare`] and invisible to every read;
//! - `secret_prepared_ids`: secret id → transaction id, for every secret a prepared transaction
//!   creates or deletes, so that no other request can create or delete it meanwhile;
//! - `secret_outcomes`: transaction id → postcard [`OutcomeRec`], party 0's decisions (the
//!   commit point is the transaction that applies party 0's own part *and* records `committed`).
//!
//! **Architecture Invariant:** applying a prepared transaction, removing it, and (on party 0)
//! recording its outcome happen in one redb transaction; an outcome, once recorded, never
//! changes: a transaction recorded as aborted is never committed, one recorded as committed is
//! never aborted.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{decode, encode, insert_secret, record_of, remove_secret, Record, RedbSecretStore};
use crate::ids::SecretId;
use crate::kv;
use crate::secret::{NewSecret, SecretError};

const PREPARED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_prepared");
const PREPARED_IDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_prepared_ids");
const OUTCOMES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_outcomes");

/// The id of one joint commit: the same on every party (derived from the session's nonce).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TxnId(pub [u8; 16]);

impl std::fmt::Display for TxnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for TxnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TxnId({self})")
    }
}

/// What a joint commit does.
#[derive(Debug, Clone)]
pub enum TxnOp {
    /// Creates these secrets (ids new and distinct).
    Create(Vec<NewSecret>),
    /// Deletes these secrets (each must exist when prepared).
    Delete(Vec<SecretId>),
}

/// How a joint commit ended, as party 0 knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnOutcome {
    Committed,
    Aborted,
    /// Still being decided (prepared on party 0 and in progress).
    Pending,
}

#[derive(Serialize, Deserialize)]
enum StoredOp {
    Create(Vec<([u8; 16], Record, Vec<u8>)>),
    Delete(Vec<[u8; 16]>),
}

#[derive(Serialize, Deserialize)]
struct Prepared {
    at_ms: u64,
    op: StoredOp,
}

#[derive(Serialize, Deserialize)]
struct OutcomeRec {
    committed: bool,
    at_ms: u64,
}

pub(super) fn create_tables(w: &WriteTransaction) -> Result<(), SecretError> {
    for t in [PREPARED, PREPARED_IDS, OUTCOMES] {
        w.open_table(t)?;
    }
    Ok(())
}

/// The prepared transaction that holds secret `id`, if any.
pub(super) fn holder(w: &WriteTransaction, id: SecretId) -> Result<Option<TxnId>, SecretError> {
    let t = w.open_table(PREPARED_IDS)?;
    let g = t.get(id.to_key().as_slice())?;
    Ok(g.and_then(|g| g.value().try_into().ok().map(TxnId)))
}

fn ids_of(op: &StoredOp) -> Vec<[u8; 16]> {
    match op {
        StoredOp::Create(v) => v.iter().map(|(k, _, _)| *k).collect(),
        StoredOp::Delete(v) => v.clone(),
    }
}

fn read_outcome(w: &WriteTransaction, txn: TxnId) -> Result<Option<OutcomeRec>, SecretError> {
    let t = w.open_table(OUTCOMES)?;
    let g = t.get(txn.0.as_slice())?;
    g.map(|g| decode(|| format!("outcome of {txn}"), g.value()))
        .transpose()
}

fn write_outcome(w: &WriteTransaction, txn: TxnId, committed: bool) -> Result<(), SecretError> {
    let rec = OutcomeRec {
        committed,
        at_ms: kv::now_ms(),
    };
    w.open_table(OUTCOMES)?
        .insert(txn.0.as_slice(), encode("an outcome", &rec)?.as_slice())?;
    Ok(())
}

/// Removes prepared transaction `txn` and its id holds; what it would have done.
fn take_prepared(w: &WriteTransaction, txn: TxnId) -> Result<Option<StoredOp>, SecretError> {
    let p: Prepared = match w.open_table(PREPARED)?.remove(txn.0.as_slice())? {
        Some(g) => decode(|| format!("prepared {txn}"), g.value())?,
        None => return Ok(None),
    };
    let mut ids = w.open_table(PREPARED_IDS)?;
    for k in ids_of(&p.op) {
        ids.remove(k.as_slice())?;
    }
    Ok(Some(p.op))
}

impl RedbSecretStore {
    /// Phase one: checks `op` against the stored state and keeps it durably under `txn`, invisible
    /// to every read and holding its secret ids, until [`RedbSecretStore::commit_prepared`] or
    /// [`RedbSecretStore::abort_prepared`]. Fails (storing nothing) on an id in use or held, a
    /// secret to delete that does not exist, an invalid secret, or a `txn` already decided.
    pub fn prepare(&self, txn: TxnId, op: TxnOp) -> Result<(), SecretError> {
        let now = kv::now_ms();
        let stored = match op {
            TxnOp::Create(v) => StoredOp::Create(
                v.into_iter()
                    .map(|s| record_of(s, now).map(|(id, rec, b)| (id.to_key(), rec, b)))
                    .collect::<Result<_, _>>()?,
            ),
            TxnOp::Delete(v) => StoredOp::Delete(v.iter().map(|id| id.to_key()).collect()),
        };
        let w = kv::begin_write(&self.db)?;
        if read_outcome(&w, txn)?.is_some() {
            return Err(SecretError::TxnAborted { txn });
        }
        {
            let secrets = w.open_table(super::SECRETS)?;
            let mut held = w.open_table(PREPARED_IDS)?;
            let mut seen = std::collections::HashSet::new();
            for k in ids_of(&stored) {
                let id = SecretId::from_key(&k).ok_or_else(|| SecretError::Corrupt {
                    what: "a secret id does not encode".into(),
                })?;
                if !seen.insert(k) || held.get(k.as_slice())?.is_some() {
                    return Err(SecretError::SecretPending { id });
                }
                let exists = secrets.get(k.as_slice())?.is_some();
                match (&stored, exists) {
                    (StoredOp::Create(_), true) => return Err(SecretError::SecretExists { id }),
                    (StoredOp::Delete(_), false) => return Err(SecretError::UnknownSecret { id }),
                    _ => {}
                }
                held.insert(k.as_slice(), txn.0.as_slice())?;
            }
        }
        let rec = Prepared {
            at_ms: now,
            op: stored,
        };
        w.open_table(PREPARED)?.insert(
            txn.0.as_slice(),
            encode("a prepared commit", &rec)?.as_slice(),
        )?;
        w.commit()?;
        Ok(())
    }

    /// Phase two, commit: applies prepared `txn` and removes it, in one transaction; with
    /// `record` (party 0) also records it as committed, which is the commit point of the whole
    /// joint commit. Committing a transaction already recorded as committed is a no-op; one
    /// recorded as aborted fails with [`SecretError::TxnAborted`]; one not prepared here (and not
    /// recorded) with [`SecretError::TxnUnknown`].
    pub fn commit_prepared(&self, txn: TxnId, record: bool) -> Result<(), SecretError> {
        let w = kv::begin_write(&self.db)?;
        match read_outcome(&w, txn)? {
            Some(o) if !o.committed => return Err(SecretError::TxnAborted { txn }),
            Some(_) => return Ok(()),
            None => {}
        }
        let Some(op) = take_prepared(&w, txn)? else {
            return Err(SecretError::TxnUnknown { txn });
        };
        match op {
            StoredOp::Create(v) => {
                for (k, rec, bytes) in &v {
                    let id = SecretId::from_key(k).ok_or_else(|| SecretError::Corrupt {
                        what: "a secret id does not encode".into(),
                    })?;
                    insert_secret(&w, id, rec, bytes)?;
                }
            }
            StoredOp::Delete(v) => {
                for k in &v {
                    if let Some(id) = SecretId::from_key(k) {
                        remove_secret(&w, id)?;
                    }
                }
            }
        }
        if record {
            write_outcome(&w, txn, true)?;
        }
        w.commit()?;
        tracing::debug!(%txn, "joint commit applied");
        Ok(())
    }

    /// Phase two, abort: forgets prepared `txn` (nothing of it was ever visible); with `record`
    /// (party 0) also records it as aborted, so that it can never commit later. Fails with
    /// [`SecretError::Corrupt`] if `txn` is recorded as committed (an abort must never undo one).
    pub fn abort_prepared(&self, txn: TxnId, record: bool) -> Result<(), SecretError> {
        let w = kv::begin_write(&self.db)?;
        if let Some(o) = read_outcome(&w, txn)? {
            if o.committed {
                return Err(SecretError::Corrupt {
                    what: format!("joint commit {txn} is committed and cannot be aborted"),
                });
            }
        }
        take_prepared(&w, txn)?;
        if record {
            write_outcome(&w, txn, false)?;
        }
        w.commit()?;
        tracing::debug!(%txn, "joint commit aborted");
        Ok(())
    }

    /// Party 0, answering a party that asks how `txn` ended: the recorded outcome; `Pending`
    /// while `txn` is prepared here (its session still runs); otherwise `txn` never reached its
    /// commit point here, and it is recorded as aborted now, so that it never will.
    pub fn resolve(&self, txn: TxnId) -> Result<TxnOutcome, SecretError> {
        let w = kv::begin_write(&self.db)?;
        if let Some(o) = read_outcome(&w, txn)? {
            return Ok(if o.committed {
                TxnOutcome::Committed
            } else {
                TxnOutcome::Aborted
            });
        }
        if w.open_table(PREPARED)?.get(txn.0.as_slice())?.is_some() {
            return Ok(TxnOutcome::Pending);
        }
        write_outcome(&w, txn, false)?;
        w.commit()?;
        Ok(TxnOutcome::Aborted)
    }

    /// Every transaction prepared here and not decided yet, with when it was prepared (ms since
    /// the Unix epoch).
    pub fn prepared(&self) -> Result<Vec<(TxnId, u64)>, SecretError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(PREPARED)?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(..)? {
            let (k, v) = item?;
            let Ok(id) = k.value().try_into() else {
                continue;
            };
            let p: Prepared = decode(|| "a prepared commit".into(), v.value())?;
            out.push((TxnId(id), p.at_ms));
        }
        Ok(out)
    }

    /// The undecided transaction that creates or deletes secret `id`, if one holds it.
    pub fn pending_txn_of(&self, id: SecretId) -> Result<Option<TxnId>, SecretError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(PREPARED_IDS)?;
        let g = t.get(id.to_key().as_slice())?;
        Ok(g.and_then(|g| g.value().try_into().ok().map(TxnId)))
    }

    /// Forgets outcomes recorded before `before_ms` (a party that was away longer than the
    /// retention would be told "aborted" for a transaction party 0 committed: keep it long).
    pub fn prune_outcomes(&self, before_ms: u64) -> Result<u64, SecretError> {
        let w = kv::begin_write(&self.db)?;
        let mut n = 0;
        {
            let mut t = w.open_table(OUTCOMES)?;
            let mut old = Vec::new();
            for item in t.range::<&[u8]>(..)? {
                let (k, v) = item?;
                let o: OutcomeRec = decode(|| "an outcome".into(), v.value())?;
                if o.at_ms < before_ms {
                    old.push(k.value().to_vec());
                }
            }
            for k in old {
                t.remove(k.as_slice())?;
                n += 1;
            }
        }
        w.commit()?;
        Ok(n)
    }
}
