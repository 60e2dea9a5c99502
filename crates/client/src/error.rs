//! The SDK's errors: every one says which party (when one is to blame) and what to do.

use api::{ApiError, ErrorCode};

/// Shorthand for results of the SDK.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// What went wrong in a client operation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The cloud file is missing, unreadable or wrong; `path` names the file and `message` the
    /// field.
    #[error("cloud file {path}: {message}")]
    Config { path: String, message: String },

    /// A party could not be reached, or its answer was not HTTP we understand (connection refused,
    /// TLS failure, timeout).
    #[error("party {party} ({url}): {message}")]
    Http {
        party: usize,
        url: String,
        message: String,
        /// The party did not answer within the cloud file's `timeout_secs`.
        timed_out: bool,
    },

    /// A party answered with an API error (its JSON `{code, message}`).
    #[error("party {party} answered {code}: {message}{hint}",
        code = code_name(error.code),
        message = error.message,
        hint = hint(error.code))]
    Api { party: usize, error: ApiError },

    /// The parties gave answers that must agree but do not (a different id, program hash or
    /// plaintext). A party is faulty, misconfigured or cheating.
    #[error("the parties disagree on {what}; a party is faulty, misconfigured or tampering, so the result was discarded")]
    Disagreement { what: String },

    /// The output-delivery check w = s·r, u = v·r failed.
    #[error("element {index}: {check} does not hold: the parties' shares do not verify: a party tampered with the output or is faulty, so the result was discarded")]
    Integrity { index: usize, check: &'static str },

    /// A party's answer parsed as JSON but its content is malformed (bad field encoding, wrong
    /// lengths, unexpected output kind).
    #[error("{}cannot use the answer: {message}", party.map(|p| format!("party {p}: ")).unwrap_or_default())]
    Decode {
        party: Option<usize>,
        message: String,
    },

    /// The caller's arguments are unusable (no values, a private input list of the wrong length).
    #[error("{0}")]
    Usage(String),
}

impl ClientError {
    /// The node's error code, if a party answered with an API error.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// True when a deadline passed: a party did not answer in time, or answered that one of
    /// its own deadlines passed (`timeout`).
    pub fn is_timeout(&self) -> bool {
        match self {
            ClientError::Http { timed_out, .. } => *timed_out,
            ClientError::Api { error, .. } => error.code == ErrorCode::Timeout,
            _ => false,
        }
    }

    /// The party to blame, when one is known.
    pub fn party(&self) -> Option<usize> {
        match self {
            ClientError::Http { party, .. } | ClientError::Api { party, .. } => Some(*party),
            ClientError::Decode { party, .. } => *party,
            _ => None,
        }
    }
}

/// The snake_case name of an error code, as it appears in JSON (`not_found`).
pub fn code_name(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{code:?}"),
    }
}

/// Advice for codes whose cause usually sits on the client's side.
fn hint(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthorized => " (check this party's `token` in the cloud file)",
        ErrorCode::InsufficientTuples => {
            " (the parties are low on preprocessed tuples; retry shortly)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_name_the_party_and_code() {
        let e = ClientError::Api {
            party: 2,
            error: ApiError::not_found("no secret 42"),
        };
        assert_eq!(e.to_string(), "party 2 answered not_found: no secret 42");
        assert_eq!(e.party(), Some(2));
        assert_eq!(e.api_code(), Some(ErrorCode::NotFound));
        let e = ClientError::Api {
            party: 0,
            error: ApiError::new(ErrorCode::Unauthorized, "unknown token"),
        };
        assert!(e.to_string().contains("`token` in the cloud file"), "{e}");
    }

    #[test]
    fn integrity_names_the_element() {
        let e = ClientError::Integrity {
            index: 3,
            check: "w = s·r",
        };
        let s = e.to_string();
        assert!(s.starts_with("element 3: w = s·r does not hold"), "{s}");
        assert!(
            s.contains("a party tampered with the output or is faulty"),
            "{s}"
        );
    }
}
