//! The JSON error body and its codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What went wrong, as a stable machine-readable code. Each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, bad field, bad parameter). 400.
    BadRequest,
    /// The program does not compile; the message holds the compiler's diagnostic. 400.
    CompileError,
    /// No or an unknown bearer token. 401.
    Unauthorized,
    /// The caller may not do this (not the owner, program not authorised by the secret's tags). 403.
    Forbidden,
    /// No such secret, function, game or tag. 404.
    NotFound,
    /// The id is taken (a running game, an existing secret or chunk) or the parties disagree
    /// on the request (program hash, inputs, masked values). 409.
    Conflict,
    /// The body is larger than the node accepts. 413.
    PayloadTooLarge,
    /// The body is not JSON. 415.
    UnsupportedMediaType,
    /// The program ran and failed on its own terms (an error it raised, an out-of-range access,
    /// missing input). 422.
    ProgramFailed,
    /// The parties lack preprocessed tuples for the request; retry later. 503.
    InsufficientTuples,
    /// A peer party did not join or was unreachable. 503.
    PeerUnavailable,
    /// A protocol check failed: a MAC check, an inconsistent broadcast. Someone cheated or a
    /// party is faulty; nothing was revealed or stored. 502.
    IntegrityViolation,
    /// A deadline passed. 504.
    Timeout,
    /// The caller has reached one of its own limits (pending upload masks, concurrent requests);
    /// retry after the time in `retry_after_secs`. 429.
    TooManyRequests,
    /// The node is at one of its limits (concurrent games, compiles, generation jobs, memory);
    /// retry after the time in `retry_after_secs`. 503.
    Unavailable,
    /// Tuple generation is halted after a failed check in preprocessing (an attack until proven
    /// otherwise); an operator must move the parties to a fresh MAC key. 503.
    GenerationHalted,
    /// A fault inside the node. 500.
    Internal,
}

impl ErrorCode {
    /// The HTTP status for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::CompileError => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::ProgramFailed => 422,
            ErrorCode::Internal => 500,
            ErrorCode::IntegrityViolation => 502,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::InsufficientTuples
            | ErrorCode::PeerUnavailable
            | ErrorCode::Unavailable
            | ErrorCode::GenerationHalted => 503,
            ErrorCode::Timeout => 504,
        }
    }

    /// The code for an HTTP status when the body is not an [`ApiError`] (a proxy's answer).
    pub fn from_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::BadRequest,
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::ProgramFailed,
            429 => ErrorCode::TooManyRequests,
            502 => ErrorCode::IntegrityViolation,
            503 => ErrorCode::PeerUnavailable,
            504 => ErrorCode::Timeout,
            402..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct ApiError {
    pub code: ErrorCode,
    /// What happened and what to do about it. Never holds a share, MAC or key.
    pub message: String,
    /// The party that answered, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<usize>,
    /// For 429 and 503 at a limit: seconds after which a retry may succeed (also sent as the
    /// `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            party: None,
            retry_after_secs: None,
        }
    }

    /// A limit was reached: `code` (429 or 503), a message naming the limit, and a retry hint.
    pub fn limited(code: ErrorCode, message: impl Into<String>, retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..ApiError::new(code, message)
        }
    }

    /// Shorthand for [`ErrorCode::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// Shorthand for [`ErrorCode::NotFound`].
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// Records the answering party.
    pub fn at_party(mut self, party: usize) -> ApiError {
        self.party = Some(party);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_client_or_server_statuses() {
        assert_eq!(ErrorCode::BadRequest.http_status(), 400);
        assert_eq!(ErrorCode::CompileError.http_status(), 400);
        assert_eq!(ErrorCode::Internal.http_status(), 500);
        let e = ApiError::not_found("no secret 1").at_party(2);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"code":"not_found","message":"no secret 1","party":2}"#
        );
        assert_eq!(serde_json::from_str::<ApiError>(&json).unwrap(), e);
    }
}
