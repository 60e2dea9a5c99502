//! The error type of the offline phase.
//!
//! Messages name parties and steps, never values: no share, MAC, key or seed appears in an error.
//!
//! For callers that must react to *why* preprocessing stopped (a node aborting a job, metrics),
//! [`OfflineError::is_check_failure`] separates evidence of cheating or corruption (a check of the
//! protocol failed, here or at a peer that said so in its abort frame) from network trouble and
//! local misuse; [`OfflineError::step`] names the step with a short stable string, and
//! [`OfflineError::peer`] the party the error blames, where one is known.

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
    #[error("the OT-extension consistency check on the OTs received by party {peer} failed: party {peer} used inconsistent choice bits (KOS15-style check) or an inconsistent seed puncturing at setup (SoftSpokenOT proof). Preprocessing was aborted and nothing was output")]
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
    #[error("the daBit/edaBit consistency check failed: a shared bit's arithmetic and binary values differ (a party input inconsistent values). Preprocessing was aborted and nothing was output")]
    ConsistencyCheckFailed,
    /// Party `party` sent an abort frame with abort code `code` (what failed there, see
    /// [`OfflineError::step`]); `reason` is the code's description.
    #[error("party {party} aborted preprocessing ({reason}); nothing was output")]
    PeerAborted {
        party: PartyId,
        code: u8,
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

/// Abort code of a network failure.
const CODE_NET: u8 = 1;
/// Abort code of an invalid argument.
const CODE_INVALID_ARGUMENT: u8 = 12;
/// Abort code of an earlier abort.
const CODE_ABORTED: u8 = 13;
/// Abort code of a failed daBit/edaBit consistency check.
const CODE_CONSISTENCY: u8 = 14;

/// Abort codes carried by an abort frame, so that the other parties can say why a peer stopped.
impl OfflineError {
    pub(crate) fn abort_code(&self) -> u8 {
        match self {
            OfflineError::Net(_) => CODE_NET,
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
            OfflineError::InvalidArgument(_) => CODE_INVALID_ARGUMENT,
            OfflineError::ConsistencyCheckFailed => CODE_CONSISTENCY,
            OfflineError::PeerAborted { .. } | OfflineError::Aborted(_) => CODE_ABORTED,
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
            14 => "the daBit/edaBit consistency check failed",
            _ => "unknown reason",
        }
    }

    /// The step named by an abort code (the [`OfflineError::step`] of the error behind it).
    fn code_step(code: u8) -> &'static str {
        match code {
            1 => "network",
            2 => "malformed-message",
            3 => "commitment",
            4 => "base-ot",
            5 => "ot-extension-check",
            6 => "authentication",
            7 => "mac-check",
            8 => "sacrifice",
            9 => "broadcast",
            10 => "square-root",
            11 => "config",
            12 => "invalid-argument",
            13 => "aborted",
            14 => "consistency",
            _ => "unknown",
        }
    }

    /// Whether the abort code names a failed check (codes 2 to 11 and 14).
    fn code_is_check_failure(code: u8) -> bool {
        (2..=11).contains(&code) || code == CODE_CONSISTENCY
    }

    /// True when a check of the protocol failed: evidence that a party cheated or that messages
    /// were corrupted, as opposed to network trouble or local misuse. True for
    /// [`Malformed`](OfflineError::Malformed), [`CommitmentMismatch`](OfflineError::CommitmentMismatch),
    /// [`BaseOt`](OfflineError::BaseOt), [`OtCheckFailed`](OfflineError::OtCheckFailed),
    /// [`AuthenticationFailed`](OfflineError::AuthenticationFailed),
    /// [`MacCheckFailed`](OfflineError::MacCheckFailed),
    /// [`SacrificeFailed`](OfflineError::SacrificeFailed),
    /// [`BroadcastInconsistent`](OfflineError::BroadcastInconsistent),
    /// [`NotASquare`](OfflineError::NotASquare), [`ConfigMismatch`](OfflineError::ConfigMismatch),
    /// [`ConsistencyCheckFailed`](OfflineError::ConsistencyCheckFailed),
    /// and [`PeerAborted`](OfflineError::PeerAborted) when the peer's abort code is one of those.
    /// False for [`Net`](OfflineError::Net) (timeouts, disconnects), [`InvalidArgument`](OfflineError::InvalidArgument),
    /// [`Aborted`](OfflineError::Aborted) (the instance was poisoned earlier; the first error
    /// said what happened), and a peer's abort for those reasons or an unknown code.
    pub fn is_check_failure(&self) -> bool {
        match self {
            OfflineError::PeerAborted { code, .. } => Self::code_is_check_failure(*code),
            OfflineError::Net(_) | OfflineError::InvalidArgument(_) | OfflineError::Aborted(_) => {
                false
            }
            OfflineError::Malformed { .. }
            | OfflineError::CommitmentMismatch { .. }
            | OfflineError::BaseOt { .. }
            | OfflineError::OtCheckFailed { .. }
            | OfflineError::AuthenticationFailed
            | OfflineError::MacCheckFailed
            | OfflineError::SacrificeFailed
            | OfflineError::BroadcastInconsistent { .. }
            | OfflineError::NotASquare
            | OfflineError::ConsistencyCheckFailed
            | OfflineError::ConfigMismatch { .. } => true,
        }
    }

    /// A short stable name of the step that failed, for logs and metrics: `"network"`,
    /// `"malformed-message"`, `"commitment"`, `"base-ot"`, `"ot-extension-check"`,
    /// `"authentication"`, `"mac-check"`, `"sacrifice"`, `"broadcast"`, `"square-root"`,
    /// `"config"`, `"invalid-argument"` or `"aborted"`. For
    /// [`PeerAborted`](OfflineError::PeerAborted) it is the step that failed at the peer
    /// (`"unknown"` for a code this version does not know).
    pub fn step(&self) -> &'static str {
        match self {
            OfflineError::PeerAborted { code, .. } => Self::code_step(*code),
            other => Self::code_step(other.abort_code()),
        }
    }

    /// The party this error blames, where one is known: the peer that sent a malformed message,
    /// opened a commitment wrongly, failed a base OT or the OT-extension check, saw different
    /// broadcasts or has another configuration; for a network error the peer it names (the one
    /// that timed out, disconnected or sent a bad frame); for
    /// [`PeerAborted`](OfflineError::PeerAborted) the party that aborted. `None` for the checks
    /// of sums over all parties (authentication, MAC check, sacrifice, squares), which cannot
    /// tell who cheated, and for local errors.
    pub fn peer(&self) -> Option<PartyId> {
        match self {
            OfflineError::Net(e) => match e {
                NetError::Timeout { peer, .. }
                | NetError::Disconnected { peer }
                | NetError::FrameTooLarge { peer, .. }
                | NetError::Malformed { peer, .. }
                | NetError::Io { peer, .. }
                | NetError::Aborted { peer, .. } => Some(*peer),
                // A local misuse (naming a party that does not exist), not the peer's fault.
                NetError::UnknownPeer { .. }
                | NetError::WrongFrameCount { .. }
                | NetError::Tls(_)
                | NetError::Config(_) => None,
            },
            OfflineError::Malformed { peer, .. }
            | OfflineError::BaseOt { peer, .. }
            | OfflineError::OtCheckFailed { peer } => Some(*peer),
            OfflineError::CommitmentMismatch { party }
            | OfflineError::BroadcastInconsistent { party }
            | OfflineError::ConfigMismatch { party }
            | OfflineError::PeerAborted { party, .. } => Some(*party),
            OfflineError::AuthenticationFailed
            | OfflineError::MacCheckFailed
            | OfflineError::SacrificeFailed
            | OfflineError::NotASquare
            | OfflineError::ConsistencyCheckFailed
            | OfflineError::InvalidArgument(_)
            | OfflineError::Aborted(_) => None,
        }
    }
}

pub type Result<T, E = OfflineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Every variant once, with what `is_check_failure`, `step` and `peer` must say.
    fn table() -> Vec<(OfflineError, bool, &'static str, Option<PartyId>)> {
        use OfflineError as E;
        vec![
            (
                E::Net(NetError::Timeout {
                    peer: 2,
                    after: Duration::from_secs(1),
                }),
                false,
                "network",
                Some(2),
            ),
            (
                E::Net(NetError::Disconnected { peer: 1 }),
                false,
                "network",
                Some(1),
            ),
            (E::Net(NetError::Config("x".into())), false, "network", None),
            (
                E::Net(NetError::UnknownPeer { peer: 9, n: 2 }),
                false,
                "network",
                None,
            ),
            (
                E::Malformed {
                    peer: 1,
                    reason: "r".into(),
                },
                true,
                "malformed-message",
                Some(1),
            ),
            (
                E::CommitmentMismatch { party: 3 },
                true,
                "commitment",
                Some(3),
            ),
            (
                E::BaseOt {
                    peer: 0,
                    reason: "r".into(),
                },
                true,
                "base-ot",
                Some(0),
            ),
            (
                E::OtCheckFailed { peer: 4 },
                true,
                "ot-extension-check",
                Some(4),
            ),
            (E::AuthenticationFailed, true, "authentication", None),
            (E::MacCheckFailed, true, "mac-check", None),
            (E::SacrificeFailed, true, "sacrifice", None),
            (
                E::BroadcastInconsistent { party: 2 },
                true,
                "broadcast",
                Some(2),
            ),
            (E::NotASquare, true, "square-root", None),
            (E::ConfigMismatch { party: 1 }, true, "config", Some(1)),
            (
                E::InvalidArgument("x".into()),
                false,
                "invalid-argument",
                None,
            ),
            (E::Aborted("earlier".into()), false, "aborted", None),
        ]
    }

    #[test]
    fn check_failures_steps_and_peers_of_every_variant() {
        for (e, check, step, peer) in table() {
            assert_eq!(e.is_check_failure(), check, "{e:?}");
            assert_eq!(e.step(), step, "{e:?}");
            assert_eq!(e.peer(), peer, "{e:?}");
        }
    }

    #[test]
    fn a_peer_abort_carries_the_step_and_class_of_the_peer_error() {
        for (e, check, step, _) in table() {
            if matches!(e, OfflineError::Aborted(_)) {
                continue;
            }
            let code = e.abort_code();
            let aborted = OfflineError::PeerAborted {
                party: 5,
                code,
                reason: OfflineError::describe_abort_code(code),
            };
            assert_eq!(aborted.is_check_failure(), check, "{e:?}");
            assert_eq!(aborted.step(), step, "{e:?}");
            assert_eq!(aborted.peer(), Some(5), "the party that aborted");
        }
        // The network code, an earlier abort and unknown codes are not check failures.
        for (code, step) in [
            (1, "network"),
            (13, "aborted"),
            (0, "unknown"),
            (200, "unknown"),
        ] {
            let e = OfflineError::PeerAborted {
                party: 0,
                code,
                reason: OfflineError::describe_abort_code(code),
            };
            assert!(!e.is_check_failure(), "code {code}");
            assert_eq!(e.step(), step);
        }
    }

    #[test]
    fn abort_codes_are_distinct_per_step() {
        let mut seen = std::collections::HashMap::new();
        for (e, _, step, _) in table() {
            let code = e.abort_code();
            if let Some(other) = seen.insert(code, step) {
                assert_eq!(other, step, "code {code} names two steps");
            }
        }
    }
}
