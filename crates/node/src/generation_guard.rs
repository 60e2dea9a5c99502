//! The generation guard: a failed check in preprocessing halts tuple generation with this peer
//! set, durably, until an operator moves the parties to a fresh MAC key.
//!
//! **Why.** Every MASCOT job runs the base OTs and COPE with this party's share α_i of the MAC
//! key: its bits are the base-OT choice bits and the COPE key. A corrupt party that adds an
//! error to one COPE column makes the job's authentication check fail exactly when the honest
//! party's bit of α_i under that column is 1. If failed jobs were simply retried, about 128 jobs
//! would hand it α_i bit by bit, and with its own share, α: it could then forge MACs on
//! everything. So the first failed check is treated as the attack it most likely is:
//! - it is recorded in the tuple store ([`store::GenerationHalt`]), beside the MAC key, so it
//!   survives restarts;
//! - from then on this party neither starts nor joins a job, and refuses a job party 0 starts
//!   (`Refuse`), so party 0 halts too;
//! - health (`status: halted`), metrics (`ephemeral_generation_halted`), `GET /v1/tuples` and the
//!   log say so, naming the step and the peer;
//! - games go on with the tuples already made (they passed every check), and fail with
//!   `generation_halted` when a pool runs dry;
//! - only `ephemeral admin rekey` (a fresh α′ for every party, every stored secret
//!   re-authenticated under it, every old tuple discarded; see [`crate::rekey`]) clears it.
//!
//! Timeouts and disconnects are not check failures: a job that lost a peer is retried by the
//! pool keeper as before. The failure budget and its effect on soundness are in
//! docs/PROTOCOL.md ("Preprocessing: failed checks").

use api::{ApiError, ErrorCode, GenerationHaltInfo};
use net::PartyId;
use offline::OfflineError;
use store::{GenerationHalt, TupleStore};

use crate::Node;

/// A failed check: the step and, where known, the peer blamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckFailure {
    pub step: String,
    pub peer: Option<PartyId>,
}

/// Why a generation job failed.
#[derive(Debug)]
pub(crate) struct JobError {
    /// `Some` for a failed check (an attack until proven otherwise), `None` for anything else
    /// (a timeout, a lost connection, a full disk).
    pub check: Option<CheckFailure>,
    pub message: String,
}

impl JobError {
    pub fn other(message: impl Into<String>) -> JobError {
        JobError {
            check: None,
            message: message.into(),
        }
    }

    pub fn check(step: &str, peer: Option<PartyId>, message: impl Into<String>) -> JobError {
        JobError {
            check: Some(CheckFailure {
                step: step.to_string(),
                peer,
            }),
            message: message.into(),
        }
    }

    /// A MASCOT error, classified.
    pub fn from_offline(e: &OfflineError, during: &str) -> JobError {
        let message = format!("{during}: {e}");
        if e.is_check_failure() {
            JobError::check(e.step(), e.peer(), message)
        } else {
            JobError::other(message)
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for JobError {
    fn from(message: String) -> Self {
        JobError::other(message)
    }
}

/// The API form of a halt record.
pub fn halt_info(h: &GenerationHalt) -> GenerationHaltInfo {
    GenerationHaltInfo {
        step: h.step.clone(),
        peer: h.peer,
        at_ms: h.at_ms,
        job: h.job.clone(),
        reason: h.reason.clone(),
        failures: h.failures,
    }
}

impl Node {
    /// The recorded halt of generation, if any (an unreadable record counts as a halt).
    pub fn generation_halt(&self) -> Option<GenerationHalt> {
        match self.tuples.generation_halt() {
            Ok(None) if self.tuplegen.halted_in_memory() => Some(GenerationHalt {
                at_ms: 0,
                step: "unknown".into(),
                peer: None,
                job: String::new(),
                reason: "a check failed in this run, and recording it durably failed".into(),
                failures: 1,
            }),
            Ok(h) => h,
            Err(e) => Some(GenerationHalt {
                at_ms: 0,
                step: "unknown".into(),
                peer: None,
                job: String::new(),
                reason: format!("the halt record cannot be read: {e}"),
                failures: 1,
            }),
        }
    }

    /// Refuses to generate while halted.
    pub(crate) fn refuse_if_halted(&self) -> Result<(), ApiError> {
        match self.generation_halt() {
            None => Ok(()),
            Some(h) => Err(halted_error(&h)),
        }
    }

    /// Records a failed check durably and stops generation (every later job is refused).
    pub(crate) fn halt_generation(&self, job: &str, failure: &CheckFailure, reason: &str) {
        let rec = GenerationHalt {
            at_ms: crate::coord::now_ms(),
            step: failure.step.clone(),
            peer: failure.peer.map(|p| p as u64),
            job: job.to_string(),
            reason: reason.to_string(),
            failures: 1,
        };
        match self.tuples.record_generation_halt(rec) {
            Ok(stored) => tracing::error!(
                party = self.me,
                step = %failure.step,
                peer = ?failure.peer,
                job,
                failures = stored.failures,
                reason,
                "TUPLE GENERATION HALTED: a check failed in preprocessing, which a cheating party can use to probe the MAC key. No generation runs with these peers until an operator moves every party to a fresh MAC key (`ephemeral admin rekey`); games continue on the tuples already made"
            ),
            Err(e) => tracing::error!(
                party = self.me,
                step = %failure.step,
                error = %e,
                "TUPLE GENERATION HALTED, but the halt could not be recorded durably; generation stays stopped in this run"
            ),
        }
        self.tuplegen.halt_in_memory();
        self.metrics.set_generation_halted(true);
    }
}

/// The error of anything refused because generation is halted.
pub(crate) fn halted_error(h: &GenerationHalt) -> ApiError {
    let peer = h
        .peer
        .map(|p| format!(" with party {p}"))
        .unwrap_or_default();
    ApiError::new(
        ErrorCode::GenerationHalted,
        format!(
            "tuple generation is halted: the {} check failed{peer} in job {} ({}); no tuples are made until an operator moves the parties to a fresh MAC key with `ephemeral admin rekey`",
            h.step, h.job, h.reason
        ),
    )
}
