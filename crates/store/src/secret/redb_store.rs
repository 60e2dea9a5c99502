//! [`RedbSecretStore`]: the secret store in one redb file.
//!
//! Tables:
//! - `secrets`: id (16 bytes) → postcard [`Record`] (owner, creation time, length, user tags);
//! - `secret_shares`: id → [`ShareVec::to_bytes`] (32 bytes per value: value share, MAC share);
//! - `secret_order`: order key (creation ms, big-endian u64, then the id) → ();
//! - `tag_index`: one entry per tag of every secret, reserved tags included (see [`index_key`]);
//! - `secret_policy`: id → postcard [`UsePolicy`] (secrets with a use policy only);
//! - `secret_usage`: id → postcard [`Usage`] (uses by other users, audit entries written);
//! - `secret_audit`: id ‖ sequence number (big-endian u64, dense from 0) → postcard
//!   [`AuditEntry`].
//!
//! **Architecture Invariant:** the `tag_index` and `secret_order` entries of a secret are written
//! and removed in the transaction that writes or removes its record; listing reads only the index,
//! the order table and the records of the page it returns, never share bytes. The policy, usage
//! and audit entries of a secret are removed in the transaction that removes its record.

use std::path::{Path, PathBuf};

use protocol::ShareVec;
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use serde::{Deserialize, Serialize};

use super::policy::validate_entry;
use super::{
    validate_policy, validate_tag, validate_tags, AuditEntry, ListQuery, NewSecret, Page,
    PageRequest, Secret, SecretError, SecretMeta, SecretStore, SecretUse, Tag, TagFilter, TagOp,
    TagType, UsePolicy, CREATION_DATE_TAG, MAX_OWNER_CHARS, MAX_PAGE_SIZE, OWNER_TAG,
};
use crate::ids::SecretId;
use crate::kv::{self, OpenProblem};

mod rekey;
pub(crate) mod txn;

const SECRETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secrets");
const SHARES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_shares");
const ORDER: TableDefinition<&[u8], ()> = TableDefinition::new("secret_order");
const TAG_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("tag_index");
const POLICY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_policy");
const USAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_usage");
const AUDIT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secret_audit");

const STORE_KIND: &str = "secrets";
const TYPE_STRING: u8 = 0;
const TYPE_LONG: u8 = 1;

/// The stored form of a secret's metadata.
#[derive(Clone, Serialize, Deserialize)]
struct Record {
    owner: String,
    created_ms: u64,
    len: u64,
    /// User tags, canonical, sorted by key.
    tags: Vec<Tag>,
}

/// How a secret has been used: uses by other users than the owner (what `max_uses` limits), and
/// the number of audit entries (the next entry's sequence number).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Usage {
    uses: u64,
    entries: u64,
}

fn audit_key(id: SecretId, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(&id.to_key());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn encode<T: Serialize>(what: &str, v: &T) -> Result<Vec<u8>, SecretError> {
    postcard::to_allocvec(v).map_err(|e| SecretError::Corrupt {
        what: format!("{what} could not be encoded: {e}"),
    })
}

fn decode<'a, T: Deserialize<'a>>(
    what: impl FnOnce() -> String,
    b: &'a [u8],
) -> Result<T, SecretError> {
    postcard::from_bytes(b).map_err(|e| SecretError::Corrupt {
        what: format!("{} does not decode: {e}", what()),
    })
}

fn check_page(p: &PageRequest) -> Result<(), SecretError> {
    if p.size == 0 {
        return Err(SecretError::InvalidPage {
            reason: "the page size is 0; ask for at least 1",
        });
    }
    if p.size > MAX_PAGE_SIZE {
        return Err(SecretError::InvalidPage {
            reason: "the page size is above 100000; page through the results",
        });
    }
    Ok(())
}

type OrderKey = [u8; 24];

fn order_key(created_ms: u64, id: SecretId) -> OrderKey {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&created_ms.to_be_bytes());
    k[8..].copy_from_slice(&id.to_key());
    k
}

fn id_of_order(k: &[u8]) -> Option<SecretId> {
    SecretId::from_key(k.get(8..24)?)
}

/// Order-preserving encoding of an i64 as 8 bytes.
fn enc_long(n: i64) -> [u8; 8] {
    ((n as u64) ^ (1 << 63)).to_be_bytes()
}

/// `[len(key)] key`: keys are at most 128 bytes (ASCII), so one length byte, and no key's prefix
/// can be confused with another key's.
fn key_prefix(key: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.len() + 12);
    v.push(key.len() as u8);
    v.extend_from_slice(key.as_bytes());
    v
}

fn string_prefix(key: &str, value: &str) -> Vec<u8> {
    let mut v = key_prefix(key);
    v.push(TYPE_STRING);
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value.as_bytes());
    v
}

fn long_prefix(key: &str) -> Vec<u8> {
    let mut v = key_prefix(key);
    v.push(TYPE_LONG);
    v
}

fn long_value_prefix(key: &str, n: i64) -> Vec<u8> {
    let mut v = long_prefix(key);
    v.extend_from_slice(&enc_long(n));
    v
}

/// The index key of one tag of one secret: `[len] key type value order`, where the value is
/// `u16 length + UTF-8` for STRING and [`enc_long`] for LONG, and `order` is the 24-byte order
/// key. Equality is a prefix scan, `<`/`>` a range scan over the LONG part of a key.
fn index_key(tag: &Tag, order: &OrderKey) -> Vec<u8> {
    let mut v = match tag.value_type {
        TagType::String => string_prefix(&tag.key, &tag.value),
        TagType::Long => long_value_prefix(&tag.key, tag.value.parse().unwrap_or_default()),
    };
    v.extend_from_slice(order);
    v
}

fn reserved_tags(owner: &str, created_ms: u64) -> [Tag; 2] {
    [
        Tag::string(OWNER_TAG, owner),
        Tag::long(
            CREATION_DATE_TAG,
            i64::try_from(created_ms).unwrap_or(i64::MAX),
        ),
    ]
}

fn encode_record(r: &Record) -> Result<Vec<u8>, SecretError> {
    postcard::to_allocvec(r).map_err(|e| SecretError::Corrupt {
        what: format!("secret metadata could not be encoded: {e}"),
    })
}

fn decode_record(id: SecretId, b: &[u8]) -> Result<Record, SecretError> {
    postcard::from_bytes(b).map_err(|e| SecretError::Corrupt {
        what: format!("metadata of secret {id} does not decode: {e}"),
    })
}

fn meta_of(id: SecretId, r: Record) -> SecretMeta {
    SecretMeta {
        id,
        owner: r.owner,
        created_at_ms: r.created_ms,
        len: r.len,
        tags: r.tags,
    }
}

fn validate_owner(owner: &str) -> Result<(), SecretError> {
    let reason = if owner.is_empty() {
        Some("it is empty")
    } else if owner.chars().count() > MAX_OWNER_CHARS {
        Some("it is longer than 256 characters")
    } else if owner.chars().any(char::is_control) {
        Some("it contains control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SecretError::InvalidOwner { reason }),
        None => Ok(()),
    }
}

/// A new secret checked and in its stored form: id, record, share bytes.
fn record_of(secret: NewSecret, now: u64) -> Result<(SecretId, Record, Vec<u8>), SecretError> {
    let NewSecret {
        id,
        owner,
        shares,
        tags,
        created_at_ms,
    } = secret;
    validate_owner(&owner)?;
    let tags = validate_tags(&tags)?;
    if shares.is_empty() {
        return Err(SecretError::EmptySecret { id });
    }
    let rec = Record {
        owner,
        created_ms: created_at_ms.unwrap_or(now),
        len: shares.len() as u64,
        tags,
    };
    Ok((id, rec, shares.to_bytes()))
}

/// Writes a new secret (record, shares, order and tag index) in `w`; refuses an id in use,
/// committed or prepared by a joint commit ([`txn`]).
fn insert_secret(
    w: &redb::WriteTransaction,
    id: SecretId,
    rec: &Record,
    bytes: &[u8],
) -> Result<(), SecretError> {
    let key = id.to_key();
    let mut secrets = w.open_table(SECRETS)?;
    if secrets.get(key.as_slice())?.is_some() {
        return Err(SecretError::SecretExists { id });
    }
    if txn::holder(w, id)?.is_some() {
        return Err(SecretError::SecretPending { id });
    }
    secrets.insert(key.as_slice(), encode_record(rec)?.as_slice())?;
    w.open_table(SHARES)?.insert(key.as_slice(), bytes)?;
    let ok = order_key(rec.created_ms, id);
    w.open_table(ORDER)?.insert(ok.as_slice(), ())?;
    let mut index = w.open_table(TAG_INDEX)?;
    for t in reserved_tags(&rec.owner, rec.created_ms)
        .iter()
        .chain(rec.tags.iter())
    {
        index.insert(index_key(t, &ok).as_slice(), ())?;
    }
    Ok(())
}

/// Removes a secret with its index entries, policy, usage and audit record in `w`; `false` if
/// there was none.
fn remove_secret(w: &redb::WriteTransaction, id: SecretId) -> Result<bool, SecretError> {
    let key = id.to_key();
    let rec = match w.open_table(SECRETS)?.remove(key.as_slice())? {
        Some(g) => decode_record(id, g.value())?,
        None => return Ok(false),
    };
    w.open_table(SHARES)?.remove(key.as_slice())?;
    let order = order_key(rec.created_ms, id);
    w.open_table(ORDER)?.remove(order.as_slice())?;
    let mut index = w.open_table(TAG_INDEX)?;
    for t in reserved_tags(&rec.owner, rec.created_ms)
        .iter()
        .chain(rec.tags.iter())
    {
        index.remove(index_key(t, &order).as_slice())?;
    }
    w.open_table(POLICY)?.remove(key.as_slice())?;
    let usage = match w.open_table(USAGE)?.remove(key.as_slice())? {
        Some(g) => decode(|| format!("usage of secret {id}"), g.value())?,
        None => Usage::default(),
    };
    let mut audit = w.open_table(AUDIT)?;
    for seq in 0..usage.entries {
        audit.remove(audit_key(id, seq).as_slice())?;
    }
    Ok(true)
}

/// The secret store in one redb file; see the module docs.
pub struct RedbSecretStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedbSecretStore({})", self.path.display())
    }
}

impl RedbSecretStore {
    /// Opens the store at `path`, creating the file if it does not exist. A file left by a killed
    /// process is repaired to its last committed state. Fails if another process has the file
    /// open or if it is not a secret store.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbSecretStore, SecretError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let db = kv::open(&path, STORE_KIND).map_err(|p| match p {
            OpenProblem::Backend(e) => e.into(),
            OpenProblem::WrongStore { found } => SecretError::WrongStore {
                path: shown.clone(),
                found,
            },
            OpenProblem::Locked => SecretError::Locked {
                path: shown.clone(),
            },
            OpenProblem::Schema { found } => SecretError::UnsupportedSchema {
                path: shown.clone(),
                found,
                supported: kv::SCHEMA_VERSION,
            },
        })?;
        let w = kv::begin_write(&db)?;
        for t in [SECRETS, SHARES] {
            w.open_table(t)?;
        }
        for t in [ORDER, TAG_INDEX] {
            w.open_table(t)?;
        }
        for t in [POLICY, USAGE, AUDIT] {
            w.open_table(t)?;
        }
        txn::create_tables(&w)?;
        w.commit()?;
        let store = RedbSecretStore { db, path };
        tracing::info!(path = %shown, secrets = store.count()?, "secret store opened");
        Ok(store)
    }

    fn read_record(r: &ReadTransaction, id: SecretId) -> Result<Record, SecretError> {
        let t = r.open_table(SECRETS)?;
        let Some(g) = t.get(id.to_key().as_slice())? else {
            return Err(SecretError::UnknownSecret { id });
        };
        decode_record(id, g.value())
    }

    fn read_usage(r: &ReadTransaction, id: SecretId) -> Result<Usage, SecretError> {
        let t = r.open_table(USAGE)?;
        match t.get(id.to_key().as_slice())? {
            Some(g) => decode(|| format!("usage of secret {id}"), g.value()),
            None => Ok(Usage::default()),
        }
    }

    fn read_secret(r: &ReadTransaction, id: SecretId) -> Result<Secret, SecretError> {
        let rec = Self::read_record(r, id)?;
        let t = r.open_table(SHARES)?;
        let g = t
            .get(id.to_key().as_slice())?
            .ok_or_else(|| SecretError::Corrupt {
                what: format!("secret {id} has metadata but no shares"),
            })?;
        let shares = ShareVec::from_bytes(g.value()).map_err(|e| SecretError::Corrupt {
            what: format!("shares of secret {id}: {e}"),
        })?;
        if shares.len() as u64 != rec.len {
            return Err(SecretError::Corrupt {
                what: format!(
                    "secret {id} records {} values but holds {}",
                    rec.len,
                    shares.len()
                ),
            });
        }
        Ok(Secret {
            meta: meta_of(id, rec),
            shares,
        })
    }

    /// Applies `f` to the record of `id` in one write transaction, keeping the tag index in step:
    /// the user tags before and after `f` are diffed.
    fn update_tags<T>(
        &self,
        id: SecretId,
        f: impl FnOnce(&mut Vec<Tag>) -> Result<T, SecretError>,
    ) -> Result<T, SecretError> {
        let w = kv::begin_write(&self.db)?;
        let out = {
            let mut secrets = w.open_table(SECRETS)?;
            let mut index = w.open_table(TAG_INDEX)?;
            let key = id.to_key();
            let mut rec = match secrets.get(key.as_slice())? {
                Some(g) => decode_record(id, g.value())?,
                None => return Err(SecretError::UnknownSecret { id }),
            };
            let before = rec.tags.clone();
            let out = f(&mut rec.tags)?;
            rec.tags.sort_by(|a, b| a.key.cmp(&b.key));
            let order = order_key(rec.created_ms, id);
            for t in before.iter().filter(|t| !rec.tags.contains(t)) {
                index.remove(index_key(t, &order).as_slice())?;
            }
            for t in rec.tags.iter().filter(|t| !before.contains(t)) {
                index.insert(index_key(t, &order).as_slice(), ())?;
            }
            secrets.insert(key.as_slice(), encode_record(&rec)?.as_slice())?;
            out
        };
        w.commit()?;
        Ok(out)
    }

    /// The sorted order keys of the secrets matching one filter.
    fn matching(
        index: &impl ReadableTable<&'static [u8], ()>,
        f: &TagFilter,
    ) -> Result<Vec<OrderKey>, SecretError> {
        let bound = f.check()?;
        let mut out = Vec::new();
        let mut take = |k: &[u8]| {
            let tail = k.len().checked_sub(24).and_then(|at| k.get(at..));
            if let Some(o) = tail.and_then(|o| o.try_into().ok()) {
                out.push(o);
            }
        };
        match (f.op, bound) {
            (TagOp::Eq, _) => {
                kv::keys_with_prefix(index, &string_prefix(&f.key, &f.value), &mut take)?;
                if let Ok(n) = f.value.trim().parse::<i64>() {
                    kv::keys_with_prefix(index, &long_value_prefix(&f.key, n), &mut take)?;
                }
            }
            (TagOp::Lt, Some(n)) => {
                let lo = long_prefix(&f.key);
                let hi = long_value_prefix(&f.key, n);
                for item in index.range::<&[u8]>(lo.as_slice()..hi.as_slice())? {
                    take(item?.0.value());
                }
            }
            (TagOp::Gt, Some(n)) => {
                if let Some(n1) = n.checked_add(1) {
                    let lo = long_value_prefix(&f.key, n1);
                    let mut hi = key_prefix(&f.key);
                    hi.push(TYPE_LONG + 1);
                    for item in index.range::<&[u8]>(lo.as_slice()..hi.as_slice())? {
                        take(item?.0.value());
                    }
                }
            }
            (TagOp::Lt | TagOp::Gt, None) => unreachable!("check() returns a bound for < and >"),
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl SecretStore for RedbSecretStore {
    fn create_many(&self, secrets: Vec<NewSecret>) -> Result<Vec<SecretMeta>, SecretError> {
        let now = kv::now_ms();
        let prepared = secrets
            .into_iter()
            .map(|s| record_of(s, now))
            .collect::<Result<Vec<_>, _>>()?;
        let w = kv::begin_write(&self.db)?;
        for (id, rec, bytes) in &prepared {
            // Dropping `w` uncommitted aborts: nothing of this batch is stored.
            insert_secret(&w, *id, rec, bytes)?;
        }
        w.commit()?;
        tracing::debug!(secrets = prepared.len(), "secrets created");
        Ok(prepared
            .into_iter()
            .map(|(id, rec, _)| meta_of(id, rec))
            .collect())
    }

    fn get(&self, id: SecretId) -> Result<Secret, SecretError> {
        Self::read_secret(&self.db.begin_read()?, id)
    }

    fn get_many(&self, ids: &[SecretId]) -> Result<Vec<Secret>, SecretError> {
        let r = self.db.begin_read()?;
        ids.iter().map(|&id| Self::read_secret(&r, id)).collect()
    }

    fn get_meta(&self, id: SecretId) -> Result<SecretMeta, SecretError> {
        let rec = Self::read_record(&self.db.begin_read()?, id)?;
        Ok(meta_of(id, rec))
    }

    fn delete(&self, id: SecretId) -> Result<(), SecretError> {
        let w = kv::begin_write(&self.db)?;
        if !remove_secret(&w, id)? {
            return Err(SecretError::UnknownSecret { id });
        }
        w.commit()?;
        tracing::debug!(secret = %id, "secret deleted");
        Ok(())
    }

    fn list(&self, query: &ListQuery) -> Result<Page<SecretMeta>, SecretError> {
        if let Some(p) = &query.page {
            check_page(p)?;
        }
        for f in &query.filters {
            f.check()?;
        }
        let r = self.db.begin_read()?;
        let (total, selected): (u64, Vec<OrderKey>) = if query.filters.is_empty() {
            let order = r.open_table(ORDER)?;
            let total = order.len()?;
            let (skip, take) = match query.page {
                Some(p) => (
                    p.number.saturating_mul(u64::from(p.size)),
                    u64::from(p.size),
                ),
                None => (0, total),
            };
            let skip = usize::try_from(skip).unwrap_or(usize::MAX);
            let take = usize::try_from(take).unwrap_or(usize::MAX);
            let iter = order.range::<&[u8]>(..)?;
            let keys: Result<Vec<OrderKey>, redb::StorageError> = if query.newest_first {
                iter.rev()
                    .skip(skip)
                    .take(take)
                    .map(|i| i.map(|(k, _)| k.value().try_into().unwrap_or([0; 24])))
                    .collect()
            } else {
                iter.skip(skip)
                    .take(take)
                    .map(|i| i.map(|(k, _)| k.value().try_into().unwrap_or([0; 24])))
                    .collect()
            };
            (total, keys?)
        } else {
            let index = r.open_table(TAG_INDEX)?;
            let mut sets = query
                .filters
                .iter()
                .map(|f| Self::matching(&index, f))
                .collect::<Result<Vec<_>, _>>()?;
            sets.sort_by_key(Vec::len);
            let (first, rest) = sets.split_first_mut().expect("at least one filter");
            let mut hits = std::mem::take(first);
            hits.retain(|k| rest.iter().all(|s| s.binary_search(k).is_ok()));
            if query.newest_first {
                hits.reverse();
            }
            let total = hits.len() as u64;
            let page: Vec<OrderKey> = match query.page {
                Some(p) => {
                    let start = p.number.saturating_mul(u64::from(p.size));
                    let start = usize::try_from(start).unwrap_or(usize::MAX).min(hits.len());
                    let end = start.saturating_add(p.size as usize).min(hits.len());
                    hits[start..end].to_vec()
                }
                None => hits,
            };
            (total, page)
        };
        let secrets = r.open_table(SECRETS)?;
        let mut items = Vec::with_capacity(selected.len());
        for k in &selected {
            let id = id_of_order(k).ok_or_else(|| SecretError::Corrupt {
                what: "an order key is malformed".into(),
            })?;
            let g = secrets
                .get(id.to_key().as_slice())?
                .ok_or_else(|| SecretError::Corrupt {
                    what: format!("secret {id} is indexed but has no metadata"),
                })?;
            items.push(meta_of(id, decode_record(id, g.value())?));
        }
        let (number, size) = match query.page {
            Some(p) => (p.number, u64::from(p.size)),
            None => (0, total),
        };
        let total_pages = if size == 0 { 0 } else { total.div_ceil(size) };
        Ok(Page {
            items,
            number,
            size,
            total_items: total,
            total_pages,
        })
    }

    fn get_tag(&self, id: SecretId, key: &str) -> Result<Tag, SecretError> {
        self.get_meta(id)?
            .tag(key)
            .ok_or_else(|| SecretError::UnknownTag {
                id,
                key: key.to_string(),
            })
    }

    fn set_tag(&self, id: SecretId, tag: Tag) -> Result<Option<Tag>, SecretError> {
        let tag = validate_tag(&tag)?;
        self.update_tags(id, move |tags| {
            if let Some(old) = tags.iter_mut().find(|t| t.key == tag.key) {
                Ok(Some(std::mem::replace(old, tag)))
            } else if tags.len() >= super::MAX_TAGS {
                Err(SecretError::TooManyTags {
                    count: tags.len() + 1,
                })
            } else {
                tags.push(tag);
                Ok(None)
            }
        })
    }

    fn delete_tag(&self, id: SecretId, key: &str) -> Result<Tag, SecretError> {
        if super::is_reserved_key(key) {
            return Err(SecretError::ReservedTagKey { key: key.into() });
        }
        self.update_tags(id, |tags| {
            let pos =
                tags.iter()
                    .position(|t| t.key == key)
                    .ok_or_else(|| SecretError::UnknownTag {
                        id,
                        key: key.to_string(),
                    })?;
            Ok(tags.remove(pos))
        })
    }

    fn replace_tags(&self, id: SecretId, tags: Vec<Tag>) -> Result<(), SecretError> {
        let new = validate_tags(&tags)?;
        self.update_tags(id, move |tags| {
            *tags = new;
            Ok(())
        })
    }

    fn count(&self) -> Result<u64, SecretError> {
        Ok(self.db.begin_read()?.open_table(SECRETS)?.len()?)
    }

    fn set_policy(&self, id: SecretId, policy: UsePolicy) -> Result<UsePolicy, SecretError> {
        let policy = validate_policy(&policy)?;
        let bytes = encode("a use policy", &policy)?;
        let w = kv::begin_write(&self.db)?;
        {
            let key = id.to_key();
            if w.open_table(SECRETS)?.get(key.as_slice())?.is_none() {
                return Err(SecretError::UnknownSecret { id });
            }
            w.open_table(POLICY)?
                .insert(key.as_slice(), bytes.as_slice())?;
        }
        w.commit()?;
        Ok(policy)
    }

    fn get_policy(&self, id: SecretId) -> Result<Option<UsePolicy>, SecretError> {
        let r = self.db.begin_read()?;
        Self::read_record(&r, id)?;
        let t = r.open_table(POLICY)?;
        match t.get(id.to_key().as_slice())? {
            Some(g) => Ok(Some(decode(
                || format!("use policy of secret {id}"),
                g.value(),
            )?)),
            None => Ok(None),
        }
    }

    fn clear_policy(&self, id: SecretId) -> Result<bool, SecretError> {
        let w = kv::begin_write(&self.db)?;
        let had = {
            let key = id.to_key();
            if w.open_table(SECRETS)?.get(key.as_slice())?.is_none() {
                return Err(SecretError::UnknownSecret { id });
            }
            let had = w.open_table(POLICY)?.remove(key.as_slice())?.is_some();
            had
        };
        w.commit()?;
        Ok(had)
    }

    fn use_count(&self, id: SecretId) -> Result<u64, SecretError> {
        let r = self.db.begin_read()?;
        Self::read_record(&r, id)?;
        Ok(Self::read_usage(&r, id)?.uses)
    }

    fn record_uses(&self, uses: &[SecretUse]) -> Result<(), SecretError> {
        for u in uses {
            validate_entry(&u.entry)?;
        }
        let w = kv::begin_write(&self.db)?;
        {
            let secrets = w.open_table(SECRETS)?;
            let policies = w.open_table(POLICY)?;
            let mut usage = w.open_table(USAGE)?;
            let mut audit = w.open_table(AUDIT)?;
            let mut seen: Vec<SecretId> = Vec::with_capacity(uses.len());
            for u in uses {
                let id = u.id;
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                let key = id.to_key();
                let rec = match secrets.get(key.as_slice())? {
                    Some(g) => decode_record(id, g.value())?,
                    None => return Err(SecretError::UnknownSecret { id }),
                };
                let mut n: Usage = match usage.get(key.as_slice())? {
                    Some(g) => decode(|| format!("usage of secret {id}"), g.value())?,
                    None => Usage::default(),
                };
                if u.entry.user != rec.owner {
                    let max = match policies.get(key.as_slice())? {
                        Some(g) => {
                            decode::<UsePolicy>(|| format!("use policy of secret {id}"), g.value())?
                                .max_uses
                        }
                        None => None,
                    };
                    if let Some(max) = max {
                        if n.uses >= max {
                            // Dropping `w` uncommitted records nothing.
                            return Err(SecretError::UseLimitReached {
                                id,
                                uses: n.uses,
                                max,
                            });
                        }
                    }
                    n.uses += 1;
                }
                audit.insert(
                    audit_key(id, n.entries).as_slice(),
                    encode("an audit entry", &u.entry)?.as_slice(),
                )?;
                n.entries += 1;
                usage.insert(key.as_slice(), encode("usage", &n)?.as_slice())?;
            }
        }
        w.commit()?;
        Ok(())
    }

    fn list_audit(
        &self,
        id: SecretId,
        page: Option<PageRequest>,
    ) -> Result<Page<AuditEntry>, SecretError> {
        if let Some(p) = &page {
            check_page(p)?;
        }
        let r = self.db.begin_read()?;
        Self::read_record(&r, id)?;
        let total = Self::read_usage(&r, id)?.entries;
        let (start, end) = match page {
            Some(p) => {
                let start = p.number.saturating_mul(u64::from(p.size)).min(total);
                (start, start.saturating_add(u64::from(p.size)).min(total))
            }
            None => (0, total),
        };
        let t = r.open_table(AUDIT)?;
        let mut items = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        for seq in start..end {
            let g = t
                .get(audit_key(id, seq).as_slice())?
                .ok_or_else(|| SecretError::Corrupt {
                    what: format!("audit entry {seq} of secret {id} is missing"),
                })?;
            items.push(decode(
                || format!("audit entry {seq} of secret {id}"),
                g.value(),
            )?);
        }
        let (number, size) = match page {
            Some(p) => (p.number, u64::from(p.size)),
            None => (0, total),
        };
        let total_pages = if size == 0 { 0 } else { total.div_ceil(size) };
        Ok(Page {
            items,
            number,
            size,
            total_items: total,
            total_pages,
        })
    }
}
