//! Shared redb plumbing: opening a file as a given kind of store, durable write transactions,
//! prefix scans and the clock.

use std::path::Path;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};

/// Per-file metadata: which store the file is, its schema version, and store-specific values.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The schema version this build writes and reads.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Why a file could not be opened as the requested store.
pub(crate) enum OpenProblem {
    Backend(redb::Error),
    /// The file belongs to another kind of store.
    WrongStore {
        found: String,
    },
    /// The file was written by a build with another schema.
    Schema {
        found: u32,
    },
    /// Another process (or another store in this one) has the file open.
    Locked,
}

impl<E: Into<redb::Error>> From<E> for OpenProblem {
    fn from(e: E) -> Self {
        match e.into() {
            redb::Error::DatabaseAlreadyOpen => OpenProblem::Locked,
            e => OpenProblem::Backend(e),
        }
    }
}

/// redb's page cache per database file. redb's default (1 GiB) keeps every page a large upload,
/// download or tuple chunk touched resident long after the request (tuples are read once, so
/// caching them buys nothing); 8 MiB keep the B-tree's inner pages and recent secrets.
pub const CACHE_BYTES: usize = 8 << 20;

/// Opens (creating if absent) the redb file at `path` as a store of kind `store` ("secrets" or
/// "tuples"); a new file gets the kind and the schema version in [`META`].
pub(crate) fn open(path: &Path, store: &str) -> Result<Database, OpenProblem> {
    let db = Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(path)?;
    let found = {
        let r = db.begin_read()?;
        match r.open_table(META) {
            Ok(t) => {
                let kind = t.get("store")?.map(|g| g.value().to_vec());
                let schema = t.get("schema")?.map(|g| g.value().to_vec());
                Some((kind, schema))
            }
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    match found {
        Some((Some(kind), Some(schema))) => {
            if kind != store.as_bytes() {
                return Err(OpenProblem::WrongStore {
                    found: String::from_utf8_lossy(&kind).into_owned(),
                });
            }
            let v = schema
                .as_slice()
                .try_into()
                .map(u32::from_le_bytes)
                .unwrap_or(u32::MAX);
            if v != SCHEMA_VERSION {
                return Err(OpenProblem::Schema { found: v });
            }
        }
        _ => {
            let w = begin_write(&db)?;
            {
                let mut t = w.open_table(META)?;
                if t.get("store")?.is_some() {
                    // Half-initialised files cannot exist (the two keys are written in one
                    // transaction); a file with one key only is some other program's.
                    return Err(OpenProblem::WrongStore {
                        found: "an unknown store".into(),
                    });
                }
                t.insert("store", store.as_bytes())?;
                t.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())?;
            }
            w.commit()?;
        }
    }
    Ok(db)
}

/// A write transaction that fsyncs on commit.
pub(crate) fn begin_write(db: &Database) -> Result<WriteTransaction, redb::Error> {
    let mut w = db.begin_write()?;
    w.set_durability(Durability::Immediate)?;
    Ok(w)
}

/// A write transaction that does not fsync on commit: it becomes durable with the next durable
/// commit, and a crash before that undoes it. Only for writes that [`open`]-time recovery redoes
/// anyway (releasing reservations, purging used-up data).
pub(crate) fn begin_write_lazy(db: &Database) -> Result<WriteTransaction, redb::Error> {
    let mut w = db.begin_write()?;
    w.set_durability(Durability::None)?;
    Ok(w)
}

/// Keys of `table` that start with `prefix`, in order.
pub(crate) fn keys_with_prefix<T: ReadableTable<&'static [u8], ()>>(
    table: &T,
    prefix: &[u8],
    mut f: impl FnMut(&[u8]),
) -> Result<(), redb::StorageError> {
    for item in table.range::<&[u8]>(prefix..)? {
        let (k, _) = item?;
        let k = k.value();
        if !k.starts_with(prefix) {
            break;
        }
        f(k);
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
