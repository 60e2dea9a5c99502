//! Durable storage of a party node: the **secret store** (Carbyne Stack Amphora's role) and the
//! **tuple store** (Castor's role).
//!
//! Both are traits, [`SecretStore`] and [`TupleStore`], so that a PostgreSQL backend can follow;
//! today's implementations, [`RedbSecretStore`] and [`RedbTupleStore`], keep each store in one
//! embedded [redb](https://www.redb.org) file and commit with `Durability::Immediate` (an fsync per
//! commit), so a store survives `kill -9` and power loss with every committed write intact and no
//! uncommitted write visible.
//!
//! A node keeps the two in separate files (for example `secrets.redb` and `tuples.redb` under its
//! storage directory); each file refuses to open as the other kind.
//!
//! **Architecture Invariant:** every write is one redb transaction; a write that fails, or a process
//! that dies during it, leaves the store exactly as before the write.
//!
//! **Architecture Invariant:** no tuple is handed out twice, across crashes and restarts too: a
//! range of a chunk is marked consumed, durably, before any of its tuples is read, and a consumed
//! range never becomes available again (see [`mod@tuple`]).
//!
//! **Architecture Invariant:** shares, MACs and the MAC key share never appear in logs, errors or
//! `Debug` output; errors name ids, keys, counts and positions only.
//!
//! **API Boundary:** the stores speak `protocol` types ([`protocol::ShareVec`],
//! [`protocol::prep::Triples`], …) and their own ids; they know nothing of HTTP, games or peers.
//! Reservations are plain data ([`Reservation`], serde-serializable) that party 0 sends to the
//! others by whatever transport the node uses.

pub mod error;
pub mod ids;
mod kv;
pub use kv::CACHE_BYTES;
pub mod secret;
pub mod tuple;

pub use error::ErrorClass;
pub use ids::{ChunkId, IdError, ReservationId, SecretId};
pub use secret::{
    AuditEntry, ListQuery, NewSecret, OutputMode, Page, PageRequest, RedbSecretStore, Secret,
    SecretError, SecretMeta, SecretStore, SecretUse, Tag, TagFilter, TagOp, TagType, TxnId, TxnOp,
    TxnOutcome, UsePolicy,
};
pub use tuple::{
    ChunkInfo, ChunkRange, ChunkView, GenerationHalt, HeldChunk, KeyOrigin, RedbTupleStore,
    Reservation, ReservationRequest, ReservedTuples, StoreEpoch, TupleData, TupleError, TupleStats,
    TupleStore,
};

/// Re-exported so that callers name the same UUID type.
pub use uuid;
