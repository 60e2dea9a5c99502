//! The secret store (Amphora's role): secrets are vectors of authenticated shares with an id, an
//! owner, a creation time and tags, listed with tag filters and paging.
//!
//! **Tags.** A tag is a key, a value and a type, STRING or LONG (as Amphora's `Tag {key, value,
//! valueType}`):
//! - a key matches `[-.\w]+` (ASCII letters, digits, `_`, `-`, `.`) and has at most 128 characters;
//! - a value has at most 256 characters; a LONG value must be a 64-bit signed decimal integer and
//!   is stored in canonical form (`+007` becomes `7`);
//! - the keys `owner` and `creation-date` are reserved: the store sets them (`owner`, STRING, the
//!   owner given at creation; `creation-date`, LONG, milliseconds since the Unix epoch). They can
//!   be read and filtered on, but not set, changed or deleted.
//!
//! **Filters** (AND of all given): `key=value` (Amphora's `key:value` is accepted too) matches a
//! STRING tag with exactly that value or a LONG tag with that integer value; `key<n` and `key>n`
//! match LONG tags only, and `n` must be an integer.
//!
//! **Order.** Listings are sorted by creation time, then by id (ascending, or descending with
//! [`ListQuery::newest_first`]), so paging is stable while secrets are added or deleted elsewhere
//! in the order.
//!
//! **Architecture Invariant:** a secret exists with all its shares, tags and index entries, or not
//! at all: create, delete and every tag change are single transactions.
//!
//! **Use policies and audit records** ([`UsePolicy`], [`AuditEntry`]): see the `policy` module; they are
//! deleted in the transaction that deletes their secret.
//!
//! **Architecture Invariant:** share bytes are only ever returned to the caller; `Debug` of
//! [`Secret`] and [`NewSecret`] is redacted and errors never contain share data.

mod policy;
mod redb_store;

use std::fmt;
use std::str::FromStr;

use protocol::ShareVec;
use serde::{Deserialize, Serialize};

use crate::error::{BackendError, ErrorClass};
use crate::ids::SecretId;

pub use policy::{
    validate_policy, AuditEntry, OutputMode, SecretUse, UsePolicy, MAX_AUDIT_FIELD_CHARS,
    MAX_POLICY_PROGRAMS, PROGRAM_HASH_HEX_CHARS,
};
pub use redb_store::txn::{TxnId, TxnOp, TxnOutcome};
pub use redb_store::RedbSecretStore;

/// The reserved tag holding the owner.
pub const OWNER_TAG: &str = "owner";
/// The reserved tag holding the creation time, in milliseconds since the Unix epoch.
pub const CREATION_DATE_TAG: &str = "creation-date";
/// Longest tag key, in characters.
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// Most user tags on one secret.
pub const MAX_TAGS: usize = 128;
/// Largest page.
pub const MAX_PAGE_SIZE: u32 = 100_000;
/// Longest owner, in characters.
pub const MAX_OWNER_CHARS: usize = 256;

/// The type of a tag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TagType {
    String,
    Long,
}

/// A tag: key, value and value type (JSON: `{"key", "value", "valueType"}` as Amphora).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
    pub value_type: TagType,
}

impl Tag {
    /// A STRING tag.
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
            value_type: TagType::String,
        }
    }

    /// A LONG tag.
    pub fn long(key: impl Into<String>, value: i64) -> Tag {
        Tag {
            key: key.into(),
            value: value.to_string(),
            value_type: TagType::Long,
        }
    }

    /// The value of a LONG tag as an integer (`None` for STRING tags).
    pub fn as_long(&self) -> Option<i64> {
        match self.value_type {
            TagType::Long => self.value.parse().ok(),
            TagType::String => None,
        }
    }
}

/// Whether `key` is one of the reserved, server-set tag keys.
pub fn is_reserved_key(key: &str) -> bool {
    key == OWNER_TAG || key == CREATION_DATE_TAG
}

fn clip(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(64).collect();
        c.push('…');
        c
    }
}

/// Checks a tag key's syntax (not whether it is reserved).
pub fn validate_key(key: &str) -> Result<(), SecretError> {
    let reason = if key.is_empty() {
        Some("it is empty")
    } else if key.chars().count() > MAX_TAG_KEY_CHARS {
        Some("it is longer than 128 characters")
    } else if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Some("it contains a character other than letters, digits, '_', '-' and '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SecretError::InvalidTagKey {
            key: clip(key),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks a user tag and returns its canonical form (LONG values in canonical decimal).
/// Reserved keys are refused.
pub fn validate_tag(tag: &Tag) -> Result<Tag, SecretError> {
    validate_key(&tag.key)?;
    if is_reserved_key(&tag.key) {
        return Err(SecretError::ReservedTagKey {
            key: tag.key.clone(),
        });
    }
    let chars = tag.value.chars().count();
    if chars > MAX_TAG_VALUE_CHARS {
        return Err(SecretError::TagValueTooLong {
            key: tag.key.clone(),
            chars,
        });
    }
    let value = match tag.value_type {
        TagType::String => tag.value.clone(),
        TagType::Long => tag
            .value
            .trim()
            .parse::<i64>()
            .map_err(|_| SecretError::InvalidLongValue {
                key: tag.key.clone(),
                value: clip(&tag.value),
            })?
            .to_string(),
    };
    Ok(Tag {
        key: tag.key.clone(),
        value,
        value_type: tag.value_type,
    })
}

/// Checks a whole set of user tags: each tag, no key twice, at most [`MAX_TAGS`]. Returns them
/// canonical and sorted by key.
pub fn validate_tags(tags: &[Tag]) -> Result<Vec<Tag>, SecretError> {
    if tags.len() > MAX_TAGS {
        return Err(SecretError::TooManyTags { count: tags.len() });
    }
    let mut out = tags
        .iter()
        .map(validate_tag)
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.key.cmp(&b.key));
    if let Some(w) = out.windows(2).find(|w| w[0].key == w[1].key) {
        return Err(SecretError::DuplicateTagKey {
            key: w[0].key.clone(),
        });
    }
    Ok(out)
}

/// A comparison in a [`TagFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TagOp {
    /// `key=value` (or `key:value`).
    Eq,
    /// `key<n`, LONG tags only.
    Lt,
    /// `key>n`, LONG tags only.
    Gt,
}

/// One condition of a listing; see the module docs for the semantics.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagFilter {
    pub key: String,
    pub op: TagOp,
    pub value: String,
}

impl TagFilter {
    /// `key=value`.
    pub fn eq(key: impl Into<String>, value: impl Into<String>) -> TagFilter {
        TagFilter {
            key: key.into(),
            op: TagOp::Eq,
            value: value.into(),
        }
    }

    /// `key<n`.
    pub fn lt(key: impl Into<String>, n: i64) -> TagFilter {
        TagFilter {
            key: key.into(),
            op: TagOp::Lt,
            value: n.to_string(),
        }
    }

    /// `key>n`.
    pub fn gt(key: impl Into<String>, n: i64) -> TagFilter {
        TagFilter {
            key: key.into(),
            op: TagOp::Gt,
            value: n.to_string(),
        }
    }

    /// Parses a comma-separated list of filters (Amphora's `filter=` parameter). A value that
    /// contains a comma cannot be written this way; pass such filters one by one.
    pub fn parse_list(s: &str) -> Result<Vec<TagFilter>, SecretError> {
        s.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(TagFilter::from_str)
            .collect()
    }

    /// Checks the key and, for `<` and `>`, that the bound is an integer; returns the bound.
    pub(crate) fn check(&self) -> Result<Option<i64>, SecretError> {
        let shown = self.to_string();
        validate_key(&self.key).map_err(|e| SecretError::InvalidFilter {
            filter: clip(&shown),
            reason: e.to_string(),
        })?;
        match self.op {
            TagOp::Eq => {
                if self.value.chars().count() > MAX_TAG_VALUE_CHARS {
                    return Err(SecretError::InvalidFilter {
                        filter: clip(&shown),
                        reason: "the value is longer than 256 characters, so no tag can match"
                            .into(),
                    });
                }
                Ok(None)
            }
            TagOp::Lt | TagOp::Gt => {
                self.value
                    .trim()
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| SecretError::InvalidFilter {
                        filter: clip(&shown),
                        reason: "'<' and '>' compare LONG tags and need a 64-bit integer bound"
                            .into(),
                    })
            }
        }
    }
}

impl FromStr for TagFilter {
    type Err = SecretError;

    /// `key=value`, `key:value`, `key<n` or `key>n`. Keys cannot contain an operator character,
    /// so the first one splits key from value.
    fn from_str(s: &str) -> Result<TagFilter, SecretError> {
        let Some(pos) = s.find(['=', ':', '<', '>']) else {
            return Err(SecretError::InvalidFilter {
                filter: clip(s),
                reason: "it has no operator; write key=value, key<n or key>n".into(),
            });
        };
        let op = match s.as_bytes()[pos] {
            b'<' => TagOp::Lt,
            b'>' => TagOp::Gt,
            _ => TagOp::Eq,
        };
        let f = TagFilter {
            key: s[..pos].trim().to_string(),
            op,
            value: s[pos + 1..].to_string(),
        };
        f.check()?;
        Ok(f)
    }
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            TagOp::Eq => '=',
            TagOp::Lt => '<',
            TagOp::Gt => '>',
        };
        write!(f, "{}{}{}", self.key, op, self.value)
    }
}

/// One page of a listing: `number` counts from 0, `size` ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub number: u64,
    pub size: u32,
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// All must match.
    pub filters: Vec<TagFilter>,
    /// `None` lists everything that matches.
    pub page: Option<PageRequest>,
    /// Sort by descending (creation time, id) instead of ascending.
    pub newest_first: bool,
}

impl ListQuery {
    /// Everything, oldest first.
    pub fn all() -> ListQuery {
        ListQuery::default()
    }

    /// Adds a filter.
    pub fn filter(mut self, f: TagFilter) -> ListQuery {
        self.filters.push(f);
        self
    }

    /// Selects one page.
    pub fn page(mut self, number: u64, size: u32) -> ListQuery {
        self.page = Some(PageRequest { number, size });
        self
    }
}

/// A page of results with the totals (as Amphora's `MetadataPage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The page number (0 when unpaged).
    pub number: u64,
    /// The page size (the number of matches when unpaged).
    pub size: u64,
    /// How many secrets match, on all pages.
    pub total_items: u64,
    /// How many pages of `size` that makes.
    pub total_pages: u64,
}

/// A secret without its shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub id: SecretId,
    pub owner: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Number of shared values.
    pub len: u64,
    /// The user tags, sorted by key; the reserved tags are in [`SecretMeta::all_tags`].
    pub tags: Vec<Tag>,
}

impl SecretMeta {
    /// The reserved tags (`owner`, `creation-date`).
    pub fn reserved_tags(&self) -> [Tag; 2] {
        [
            Tag::string(OWNER_TAG, self.owner.clone()),
            Tag::long(
                CREATION_DATE_TAG,
                i64::try_from(self.created_at_ms).unwrap_or(i64::MAX),
            ),
        ]
    }

    /// The reserved tags followed by the user tags (what Amphora's tag endpoints return).
    pub fn all_tags(&self) -> Vec<Tag> {
        let mut v = self.reserved_tags().to_vec();
        v.extend(self.tags.iter().cloned());
        v
    }

    /// The tag with this key, reserved or not.
    pub fn tag(&self, key: &str) -> Option<Tag> {
        if is_reserved_key(key) {
            self.reserved_tags().into_iter().find(|t| t.key == key)
        } else {
            self.tags.iter().find(|t| t.key == key).cloned()
        }
    }
}

/// A secret with this party's shares.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub meta: SecretMeta,
    pub shares: ShareVec,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("meta", &self.meta)
            .field("shares", &"<redacted>")
            .finish()
    }
}

/// What [`SecretStore::create`] stores. The store sets the reserved tags.
#[derive(Clone)]
pub struct NewSecret {
    pub id: SecretId,
    pub owner: String,
    pub shares: ShareVec,
    /// User tags; reserved keys are refused.
    pub tags: Vec<Tag>,
    /// The creation time; `None` (the normal case) takes the store's clock. Set it only to
    /// import secrets that already have one.
    pub created_at_ms: Option<u64>,
}

impl NewSecret {
    /// A secret without tags, created now.
    pub fn new(id: SecretId, owner: impl Into<String>, shares: ShareVec) -> NewSecret {
        NewSecret {
            id,
            owner: owner.into(),
            shares,
            tags: Vec::new(),
            created_at_ms: None,
        }
    }

    /// Adds a tag.
    pub fn tag(mut self, t: Tag) -> NewSecret {
        self.tags.push(t);
        self
    }

    /// Sets the creation time.
    pub fn created_at_ms(mut self, ms: u64) -> NewSecret {
        self.created_at_ms = Some(ms);
        self
    }
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSecret")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("len", &self.shares.len())
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// Errors of the secret store. Messages name ids, keys and counts, never shares.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("tag key {key:?} is invalid: {reason}; keys are 1 to 128 characters of ASCII letters, digits, '_', '-' and '.'")]
    InvalidTagKey { key: String, reason: &'static str },
    #[error("the value of tag {key:?} has {chars} characters; values may have at most 256")]
    TagValueTooLong { key: String, chars: usize },
    #[error("tag {key:?} has type LONG but its value {value:?} is not a 64-bit integer; send a decimal integer or use type STRING")]
    InvalidLongValue { key: String, value: String },
    #[error("tag key {key:?} is reserved: the store sets 'owner' and 'creation-date' itself; choose another key")]
    ReservedTagKey { key: String },
    #[error("tag key {key:?} is given twice; each key may appear once per secret")]
    DuplicateTagKey { key: String },
    #[error("{count} tags given; a secret may have at most 128 user tags")]
    TooManyTags { count: usize },
    #[error("filter {filter:?} is invalid: {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("the owner is invalid: {reason}")]
    InvalidOwner { reason: &'static str },
    #[error("secret {id} has no values; a secret holds at least one shared value")]
    EmptySecret { id: SecretId },
    #[error("invalid page request: {reason}")]
    InvalidPage { reason: &'static str },
    #[error("secret {id} already exists; choose a new id (or delete the old secret first)")]
    SecretExists { id: SecretId },
    #[error("no secret {id} on this party; check the id (it may have been deleted)")]
    UnknownSecret { id: SecretId },
    #[error("secret {id} has no tag {key:?}")]
    UnknownTag { id: SecretId, key: String },
    #[error(
        "{path} is a {found} database, not a secret store; point the secret store at its own file"
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
    #[error("stored data is corrupt ({what}); restore the secret store from a backup")]
    Corrupt { what: String },
    #[error("the use policy is invalid: {reason}")]
    InvalidPolicy { reason: String },
    #[error("secret {id} has been used {uses} times by other users, the most its use policy allows ({max}); its owner can raise max_uses in the policy")]
    UseLimitReached { id: SecretId, uses: u64, max: u64 },
    #[error("secret {id} is being created or deleted by a joint commit of every party that is not decided yet; retry in a few seconds")]
    SecretPending { id: SecretId },
    #[error("joint commit {txn} was aborted (party 0 decided so, or gave up waiting); nothing was stored or deleted")]
    TxnAborted { txn: TxnId },
    #[error("joint commit {txn} is not prepared on this party")]
    TxnUnknown { txn: TxnId },
    #[error("secret store backend failed: {0}; check the disk and the database file")]
    Backend(#[from] BackendError),
}

crate::error::from_redb_errors!(SecretError);

impl SecretError {
    /// The class of this error, for mapping to API statuses.
    pub fn class(&self) -> ErrorClass {
        use SecretError::*;
        match self {
            InvalidTagKey { .. }
            | TagValueTooLong { .. }
            | InvalidLongValue { .. }
            | ReservedTagKey { .. }
            | DuplicateTagKey { .. }
            | TooManyTags { .. }
            | InvalidFilter { .. }
            | InvalidOwner { .. }
            | EmptySecret { .. }
            | InvalidPage { .. }
            | InvalidPolicy { .. } => ErrorClass::Invalid,
            SecretExists { .. }
            | UseLimitReached { .. }
            | SecretPending { .. }
            | TxnAborted { .. } => ErrorClass::Conflict,
            UnknownSecret { .. } | UnknownTag { .. } | TxnUnknown { .. } => ErrorClass::NotFound,
            WrongStore { .. }
            | Locked { .. }
            | UnsupportedSchema { .. }
            | Corrupt { .. }
            | Backend(_) => ErrorClass::Internal,
        }
    }
}

/// The secret store of one party. Implementations are safe to share between threads; every
/// method is one transaction (reads see one consistent snapshot).
pub trait SecretStore: Send + Sync {
    /// Stores a new secret. Fails with [`SecretError::SecretExists`] if the id is taken, and on
    /// any invalid tag or owner, without storing anything.
    fn create(&self, secret: NewSecret) -> Result<SecretMeta, SecretError> {
        let mut v = self.create_many(vec![secret])?;
        Ok(v.pop().expect("one secret in, one out"))
    }
    /// Stores several new secrets in one transaction: all or none (e.g. the outputs of a game, so
    /// that a failed game leaves no partial output behind). Ids must be new and distinct.
    fn create_many(&self, secrets: Vec<NewSecret>) -> Result<Vec<SecretMeta>, SecretError>;
    /// The secret with its shares.
    fn get(&self, id: SecretId) -> Result<Secret, SecretError>;
    /// Several secrets from one snapshot, in the order asked; fails on the first unknown id.
    fn get_many(&self, ids: &[SecretId]) -> Result<Vec<Secret>, SecretError>;
    /// The secret without its shares.
    fn get_meta(&self, id: SecretId) -> Result<SecretMeta, SecretError>;
    /// Deletes a secret with its shares and tags.
    fn delete(&self, id: SecretId) -> Result<(), SecretError>;
    /// Secrets matching all filters, sorted by (creation time, id), one page or all.
    fn list(&self, query: &ListQuery) -> Result<Page<SecretMeta>, SecretError>;
    /// One tag, reserved (`owner`, `creation-date`) or user.
    fn get_tag(&self, id: SecretId, key: &str) -> Result<Tag, SecretError>;
    /// Adds or replaces a user tag; returns the tag it replaced.
    fn set_tag(&self, id: SecretId, tag: Tag) -> Result<Option<Tag>, SecretError>;
    /// Deletes a user tag; returns it.
    fn delete_tag(&self, id: SecretId, key: &str) -> Result<Tag, SecretError>;
    /// Replaces all user tags (the reserved ones stay).
    fn replace_tags(&self, id: SecretId, tags: Vec<Tag>) -> Result<(), SecretError>;
    /// How many secrets are stored.
    fn count(&self) -> Result<u64, SecretError>;

    /// Sets (replaces) the use policy of a secret; returns it canonical ([`validate_policy`]).
    /// The use counter is kept: a `max_uses` at or below it stops further uses by others.
    fn set_policy(&self, id: SecretId, policy: UsePolicy) -> Result<UsePolicy, SecretError>;
    /// The use policy of a secret, `None` if it has none.
    fn get_policy(&self, id: SecretId) -> Result<Option<UsePolicy>, SecretError>;
    /// Removes the use policy of a secret; returns whether it had one. The counter and the audit
    /// record stay.
    fn clear_policy(&self, id: SecretId) -> Result<bool, SecretError>;
    /// How many times other users than the owner have used the secret.
    fn use_count(&self, id: SecretId) -> Result<u64, SecretError>;
    /// Records uses in one transaction, all or none: appends each to its secret's audit record
    /// and, when the user is not the owner, counts it; fails with
    /// [`SecretError::UseLimitReached`] (recording nothing) if that would exceed the policy's
    /// `max_uses`. A secret named twice is recorded once (the first entry).
    fn record_uses(&self, uses: &[SecretUse]) -> Result<(), SecretError>;
    /// The audit record of a secret, oldest first, one page or all ([`Page::total_items`] is
    /// the number of entries).
    fn list_audit(
        &self,
        id: SecretId,
        page: Option<PageRequest>,
    ) -> Result<Page<AuditEntry>, SecretError>;
}
