//! Joint commit of secrets: a secret (uploaded, a game's output, or deleted) changes on every
//! party or on none. Two-phase commit led by party 0 (docs/PROTOCOL.md, "Joint commit of
//! secrets"), run on the request's own session channel once the parties have computed what to
//! store:
//! 1. **prepare**: every party checks the change and keeps it durably, invisible, under the
//!    transaction id (`store::RedbSecretStore::prepare`), then votes to party 0;
//! 2. **decide**: party 0, once every vote is yes and its own prepare succeeded, applies its part
//!    and records `committed` in ONE transaction — the commit point; on any no, missing vote
//!    (receive deadline) or lost connection it records `aborted` and discards;
//! 3. **complete**: party 0 sends the decision; each party applies or discards.
//!
//! A party that does not hear the decision keeps the prepared change (its client is told the
//! outcome is not known yet, 503 with `Retry-After`, and reads of the secret answer 503 until it
//! is decided); [`crate::recovery`] asks party 0, which answers from its record — and records
//! `aborted` for a transaction it never prepared, so that it can never commit it later.
//!
//! **Architecture Invariant:** a secret is visible on a party only after party 0 recorded the
//! commit; a party never decides on its own, except party 0 aborting what it never committed.

use api::{ApiError, ErrorCode};
use bytes::Bytes;
use net::Network;
use serde::{Deserialize, Serialize};
use store::{TxnId, TxnOp};

use crate::secrets::secret_error;
use crate::Node;

/// The messages of the commit phase, on the session's channel.
#[derive(Debug, Serialize, Deserialize)]
enum CommitMsg {
    Vote { ok: bool, reason: String },
    Decision { commit: bool, reason: String },
}

fn encode(m: &CommitMsg) -> Bytes {
    Bytes::from(postcard::to_allocvec(m).expect("commit messages serialize"))
}

/// The transaction id of a session's commit: from party 0's fresh nonce, the same everywhere.
pub fn txn_id(nonce: &[u8; 32]) -> TxnId {
    TxnId(*crate::coord::derived_id(nonce, "joint commit", 0).as_bytes())
}

impl Node {
    /// Runs the commit phase of `op` (this party's part, or why it cannot do it) as transaction
    /// `txn` over `net`, the session's channel (blocking). `Ok` once the change is applied here;
    /// `status` tells a client where to look when the outcome is not known on this party.
    pub(crate) fn commit_jointly(
        &self,
        net: &mut Network,
        txn: TxnId,
        op: Result<TxnOp, ApiError>,
        during: &str,
        status: &str,
    ) -> Result<(), ApiError> {
        let _inflight = self.recovery.txn_in_flight(txn);
        let prepared = op.and_then(|op| self.secrets.prepare(txn, op).map_err(secret_error));
        if self.me == 0 {
            self.lead_commit(net, txn, prepared, during)
        } else {
            self.follow_commit(net, txn, prepared, during, status)
        }
    }

    fn lead_commit(
        &self,
        net: &mut Network,
        txn: TxnId,
        prepared: Result<(), ApiError>,
        during: &str,
    ) -> Result<(), ApiError> {
        let mut refusal: Option<ApiError> = prepared.clone().err();
        if refusal.is_none() {
            for p in 1..self.n {
                let why = match net.recv(p) {
                    Ok(f) => match postcard::from_bytes::<CommitMsg>(&f) {
                        Ok(CommitMsg::Vote { ok: true, .. }) => continue,
                        Ok(CommitMsg::Vote { ok: false, reason }) => ApiError::new(
                            ErrorCode::Conflict,
                            format!(
                                "party {p} cannot store the result of {during}: {}",
                                reason.chars().take(300).collect::<String>()
                            ),
                        ),
                        _ => ApiError::new(
                            ErrorCode::IntegrityViolation,
                            format!("party {p} sent a malformed vote during {during}"),
                        ),
                    },
                    Err(e) => crate::coord::net_error(&e, during),
                };
                refusal = Some(why);
                break;
            }
        }
        // The commit point: party 0's own part and the record of the decision, in one transaction.
        let decision = match refusal {
            None => self
                .secrets
                .commit_prepared(txn, true)
                .map_err(secret_error),
            Some(e) => Err(e),
        };
        if let Err(e) = &decision {
            if let Err(e2) = self.secrets.abort_prepared(txn, true) {
                tracing::error!(%txn, error = %e2, "cannot record an aborted joint commit");
            }
            tracing::warn!(%txn, error = %e.message, "joint commit aborted");
        }
        let msg = encode(&CommitMsg::Decision {
            commit: decision.is_ok(),
            reason: decision
                .as_ref()
                .err()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        });
        for p in 1..self.n {
            // A party that does not hear it asks later (`recovery`).
            let _ = net.send(p, msg.clone());
        }
        decision
    }

    fn follow_commit(
        &self,
        net: &mut Network,
        txn: TxnId,
        prepared: Result<(), ApiError>,
        during: &str,
        status: &str,
    ) -> Result<(), ApiError> {
        let vote = encode(&CommitMsg::Vote {
            ok: prepared.is_ok(),
            reason: prepared
                .as_ref()
                .err()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        });
        let sent = net.send(0, vote);
        prepared?;
        let in_doubt = |why: String| {
            self.recovery.mark_dirty();
            ApiError::limited(
                ErrorCode::Unavailable,
                format!(
                    "the outcome of {during} is not known on this party yet ({why}); it is kept until party 0 says whether every party stored it, then applied or dropped on every party. {status}"
                ),
                2,
            )
        };
        if let Err(e) = sent {
            return Err(in_doubt(crate::coord::net_error(&e, during).message));
        }
        let frame = match net.recv(0) {
            Ok(f) => f,
            Err(e) => return Err(in_doubt(crate::coord::net_error(&e, during).message)),
        };
        match postcard::from_bytes::<CommitMsg>(&frame) {
            Ok(CommitMsg::Decision { commit: true, .. }) => {
                self.secrets.commit_prepared(txn, false).map_err(|e| {
                    // Kept prepared: recovery applies it once the store works again.
                    self.recovery.mark_dirty();
                    secret_error(e)
                })
            }
            Ok(CommitMsg::Decision {
                commit: false,
                reason,
            }) => {
                self.secrets
                    .abort_prepared(txn, false)
                    .map_err(secret_error)?;
                Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "party 0 did not commit {during}, nothing was stored or deleted on any party; {}",
                        crate::coord::relayed(&reason)
                    ),
                ))
            }
            _ => Err(in_doubt("party 0 sent a malformed decision".to_string())),
        }
    }
}
