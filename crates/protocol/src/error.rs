//! The protocol's error type.

use net::{NetError, PartyId};

use crate::prep::PrepError;

/// Why a protocol run stopped. After any error the engine is poisoned: every later call returns
/// [`ProtocolError::Aborted`], so nothing more can be opened or revealed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Prep(#[from] PrepError),
    #[error("MAC check failed: a party tampered with an opened value or its shares. The computation was aborted and nothing was revealed")]
    MacCheckFailed,
    #[error("broadcast consistency check failed: party {party} saw different opened values or inputs than this party. The computation was aborted and nothing was revealed")]
    BroadcastInconsistent { party: PartyId },
    #[error("party {party} opened a commitment that does not match what it committed to. The computation was aborted")]
    CommitmentMismatch { party: PartyId },
    #[error("party {peer} sent a malformed message: {reason}")]
    Malformed { peer: PartyId, reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("the engine was aborted by an earlier error ({0}); start a new run")]
    Aborted(String),
}

pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
