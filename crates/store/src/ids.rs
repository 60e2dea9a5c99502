//! Ids: secrets and chunks are named by UUIDs, reservations by strings derived from a request id.

use std::fmt;
use std::str::FromStr;

use protocol::prep::TupleKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tuple::kind_label;

/// Why an id could not be parsed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IdError {
    #[error("{what} {value:?} is not a UUID; use the form 3f2504e0-4f89-41d3-9a0c-0305e82c3301")]
    NotAUuid { what: &'static str, value: String },
    #[error("{what} must not be the nil UUID; generate a random (version 4) UUID")]
    Nil { what: &'static str },
    #[error("reservation id {value:?} is invalid: {reason}")]
    Reservation { value: String, reason: &'static str },
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (version 4) id.
            pub fn random() -> $name {
                $name(Uuid::new_v4())
            }

            /// Wraps a UUID; refuses the nil UUID.
            pub fn from_uuid(u: Uuid) -> Result<$name, IdError> {
                if u.is_nil() {
                    Err(IdError::Nil { what: $what })
                } else {
                    Ok($name(u))
                }
            }

            /// The UUID.
            pub fn uuid(&self) -> Uuid {
                self.0
            }

            pub(crate) fn to_key(self) -> [u8; 16] {
                *self.0.as_bytes()
            }

            pub(crate) fn from_key(b: &[u8]) -> Option<$name> {
                let arr: [u8; 16] = b.try_into().ok()?;
                Some($name(Uuid::from_bytes(arr)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<$name, IdError> {
                let u = Uuid::parse_str(s.trim()).map_err(|_| IdError::NotAUuid {
                    what: $what,
                    value: s.chars().take(64).collect(),
                })?;
                $name::from_uuid(u)
            }
        }
    };
}

uuid_id!(
    /// The id of a secret: a UUID, chosen by the client (as the request id of the upload) or by
    /// [`SecretId::random`]. Any non-nil UUID is accepted; clients should use version 4.
    SecretId,
    "secret id"
);

uuid_id!(
    /// The id of a tuple chunk: the same UUID on every party, chosen by the generation job.
    ChunkId,
    "chunk id"
);

/// The id of a reservation, the same on every party: by convention `<request>_<kind>`, where the
/// request is a game id (with a batch suffix for reservations made while a game runs) or an
/// upload request id. Castor uses the same shape (`<requestId>_<tupletype>`).
///
/// 1 to 256 bytes, no whitespace or control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReservationId(String);

impl ReservationId {
    /// Longest id, in bytes.
    pub const MAX_LEN: usize = 256;

    /// Checks and wraps an id.
    pub fn new(id: impl Into<String>) -> Result<ReservationId, IdError> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > Self::MAX_LEN {
            Some("it is longer than 256 bytes")
        } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("it contains whitespace or control characters")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(IdError::Reservation {
                value: id.chars().take(64).collect(),
                reason,
            }),
            None => Ok(ReservationId(id)),
        }
    }

    /// `<request>_<kind label>`, e.g. `game-42_triple` or `game-42/3_input-mask-1`.
    pub fn for_request(request: &str, kind: TupleKind) -> Result<ReservationId, IdError> {
        ReservationId::new(format!("{request}_{}", kind_label(kind)))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReservationId {
    type Error = IdError;
    fn try_from(s: String) -> Result<ReservationId, IdError> {
        ReservationId::new(s)
    }
}

impl From<ReservationId> for String {
    fn from(r: ReservationId) -> String {
        r.0
    }
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReservationId({:?})", self.0)
    }
}
