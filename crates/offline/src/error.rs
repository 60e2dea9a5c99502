//! The error type of the offline phase.
//!
//! Messages name parties and steps, never values: no share, MAC, key or seed appears in an error.

use net::{NetError, PartyId};

/// Why preprocessing stopped. After any error the [`crate::Mascot`] instance is poisoned: every
/// later call returns [`OfflineError::Aborted`] and no tuple of the failed call is output.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OfflineError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("party {peer} sent a malformed message: {reason}")]
    Malformed { peer: PartyId, reason: String },
    #[error("party {party} opened a commitment that does not match what it committed to; preprocessing was aborted")]
    CommitmentMismatch { party: PartyId },
    #[error("base oblivious transfer with party {peer} failed: {reason}")]
    BaseOt { peer: PartyId, reason: String },
    #[error("the OT-extension consistency check (KOS15) on the OTs received by party {peer} failed: party {peer} used inconsistent choice bits. Preprocessing was aborted and nothing was output")]
    OtCheckFailed { peer: PartyId },
    #[error("the authentication check failed: a party sent an inconsistent correlation when MACs were computed (COPE). Preprocessing was aborted and nothing was output")]
    AuthenticationFailed,
    #[error("MAC check failed: a party tampered with an opened value or its MAC share. Preprocessing was aborted and nothing was output")]
    MacCheckFailed,
    #[error("sacrifice check failed: a triple was not a correct product (a party cheated in the multiplication or in its shares). Preprocessing was aborted and nothing was output")]
    SacrificeFailed,
    #[error(
        "party {party} saw different broadcast messages than this party; preprocessing was aborted"
    )]
    BroadcastInconsistent { party: PartyId },
    #[error("party {party} aborted preprocessing ({reason}); nothing was output")]
    PeerAborted {
        party: PartyId,
        reason: &'static str,
    },
    #[error("an opened square is not a quadratic residue although its MAC check passed; preprocessing was aborted")]
    NotASquare,
    #[error("the parties disagree on the MASCOT configuration (party {party} differs); every party must use the same party count, security parameter and batch size")]
    ConfigMismatch { party: PartyId },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("this MASCOT instance was aborted by an earlier error ({0}); run setup again on a fresh channel")]
    Aborted(String),
}

/// Abort codes carried by an abort frame, so that the other parties can say why a peer stopped.
impl OfflineError {
    pub(crate) fn abort_code(&self) -> u8 {
        match self {
            OfflineError::Net(_) => 1,
            OfflineError::Malformed { .. } => 2,
            OfflineError::CommitmentMismatch { .. } => 3,
            OfflineError::BaseOt { .. } => 4,
            OfflineError::OtCheckFailed { .. } => 5,
            OfflineError::AuthenticationFailed => 6,
            OfflineError::MacCheckFailed => 7,
            OfflineError::SacrificeFailed => 8,
            OfflineError::BroadcastInconsistent { .. } => 9,
            OfflineError::NotASquare => 10,
            OfflineError::ConfigMismatch { .. } => 11,
            OfflineError::InvalidArgument(_) => 12,
            OfflineError::PeerAborted { .. } | OfflineError::Aborted(_) => 13,
        }
    }

    pub(crate) fn describe_abort_code(code: u8) -> &'static str {
        match code {
            1 => "network failure",
            2 => "it received a malformed message",
            3 => "a commitment did not open",
            4 => "base OT failed",
            5 => "the OT-extension check failed",
            6 => "the authentication check failed",
            7 => "the MAC check failed",
            8 => "the sacrifice check failed",
            9 => "broadcasts were inconsistent",
            10 => "an opened square was not a square",
            11 => "configurations differ",
            12 => "invalid argument",
            13 => "an earlier abort",
            _ => "unknown reason",
        }
    }
}

pub type Result<T, E = OfflineError> = std::result::Result<T, E>;
