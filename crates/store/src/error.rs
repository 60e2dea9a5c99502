//! What the errors of both stores have in common: a coarse class for mapping to HTTP statuses,
//! and the wrapper for failures of the storage backend.

/// How a caller should treat an error (for example, which HTTP status an API answers with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The request is malformed or breaks a rule (HTTP 400).
    Invalid,
    /// The named secret, tag, chunk or reservation does not exist (HTTP 404).
    NotFound,
    /// The request clashes with the stored state: an id in use, a range already consumed (HTTP 409).
    Conflict,
    /// Not enough tuples are available; more must be generated (HTTP 503).
    Exhausted,
    /// A fault of the storage or of the stored data, not of the request (HTTP 500).
    Internal,
}

/// A failure of the storage backend (I/O, a full disk, a database held by another process).
///
/// It carries the backend's message, which names files and pages but never stored contents.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(#[source] Box<dyn std::error::Error + Send + Sync + 'static>);

impl BackendError {
    /// Wraps a backend-specific error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
        BackendError(Box::new(e))
    }
}

/// `From` impls from every redb error type into a store error with a `Backend(BackendError)`
/// variant.
macro_rules! from_redb_errors {
    ($target:ty) => {
        $crate::error::from_redb_errors!(@each $target;
            redb::Error, redb::DatabaseError, redb::TransactionError, redb::TableError,
            redb::StorageError, redb::CommitError, redb::SetDurabilityError);
    };
    (@each $target:ty; $($e:ty),*) => {
        $(impl From<$e> for $target {
            fn from(e: $e) -> Self {
                <$target>::Backend($crate::error::BackendError::new(redb::Error::from(e)))
            }
        })*
    };
}
pub(crate) use from_redb_errors;
