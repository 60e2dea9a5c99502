//! The Ephemeral HTTP API: every request and response body, shared by the node (`node`) and the
//! client SDK (`client`) so that the two cannot drift.
//!
//! **Paths** are in [`paths`]; everything lives under `/v1`, except the operational endpoints
//! (`/metrics`, `/openapi.json`) and the Carbyne Stack compatible routes ([`carbyne`]: Amphora,
//! Castor telemetry and the activation endpoint, under configurable prefixes).
//!
//! **Encodings** (see [`encoding`]): a field element on the wire is 16 bytes, little-endian, of
//! x·R mod p (R = 2^128), exactly as Carbyne Stack and MP-SPDZ store it; a vector of elements is
//! the concatenation, base64 (standard alphabet, padded) in JSON. Plain integers are decimal
//! strings, so that 128-bit values survive every JSON parser.
//!
//! **Errors** are JSON [`ApiError`] bodies `{ "code": "...", "message": "..." }` with a 4xx status
//! for anything the client can fix and a 5xx status for faults ([`ErrorCode::http_status`]).
//!
//! **API Boundary:** this crate is data only. No HTTP client or server, no storage, no protocol.
//! MAC shares never appear in any body: a client that collected every party's MAC share of a
//! value it knows would learn the global MAC key.

pub mod carbyne;
pub mod encoding;
pub mod error;
pub mod functions;
pub mod games;
pub mod health;
pub mod paths;
pub mod secrets;
pub mod tuples;

pub use encoding::{DecodeError, FieldVec};
pub use error::{ApiError, ErrorCode};
pub use functions::{DeployFunction, FunctionInfo, FunctionList};
pub use games::{
    Activation, CarbyneResult, GameOutput, GameResult, GameStats, GameStatus, GameSummary,
    OutputKind, OutputSpec, PrepProgress,
};
pub use health::{Health, PeerHealth};
pub use secrets::{
    AuditEntry, AuditPage, DownloadRequest, MaskRequest, MaskedInput, OutputDelivery, PolicyInfo,
    PolicySource, SecretCreated, SecretInfo, SecretPage, Tag, TagType, UsePolicy,
};
pub use tuples::{
    GenerationHaltInfo, RekeyRequest, RekeyResult, TupleKindStats, TupleStatsResponse,
};

/// The API version prefix.
pub const API_PREFIX: &str = "/v1";

/// Largest request body a node accepts by default (bytes). Larger bodies get 413.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;
