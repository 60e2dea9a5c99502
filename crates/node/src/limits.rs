//! Resource limits (`[limits]`): everything a client or a peer can make this node spend is
//! bounded, and a request beyond a bound is refused at once, never queued without end.
//!
//! - **Node limits** (503 `unavailable`, `Retry-After`): games, compiles, generation jobs and HTTP
//!   requests at once are slots of a semaphore taken with `try_acquire`; VM memory is bounded
//!   per game and for all games together (`game_memory_mib`, `node_memory_mib`).
//! - **Caller limits** (429 `too_many_requests`, `Retry-After`): uploads whose masks a user holds
//!   and has not used (`max_pending_uploads_per_user`).
//!
//! Every refusal names the limit (its config key) and counts in
//! `ephemeral_requests_limited_total{limit}`.
//!
//! **Architecture Invariant:** a slot is an owned permit held by the work it admits, so it is
//! returned however that work ends (success, error, panic or a dropped task).

use std::sync::Arc;

use api::{ApiError, ErrorCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::LimitsConfig;
use crate::metrics::Metrics;

/// Seconds a refused caller is told to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// The node's slots; see the module docs.
pub struct Limits {
    cfg: LimitsConfig,
    games: Arc<Semaphore>,
    compiles: Arc<Semaphore>,
    jobs: Arc<Semaphore>,
    requests: Arc<Semaphore>,
    joint: Arc<Semaphore>,
    /// Joint requests in progress per user.
    joint_by_user: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    /// VM memory of all games together.
    memory: Arc<vm::MemoryBudget>,
}

/// One admitted piece of work: holds its slot until dropped.
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

/// A joint request's slot: the node's and the user's share, both given back on drop.
pub struct JointSlot {
    _slot: Slot,
    _user: JointUser,
}

struct JointUser {
    by: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    user: String,
}

impl Drop for JointUser {
    fn drop(&mut self) {
        let mut by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = by.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by.remove(&self.user);
            }
        }
    }
}

impl Limits {
    pub fn new(cfg: &LimitsConfig) -> Limits {
        Limits {
            games: Arc::new(Semaphore::new(cfg.max_concurrent_games)),
            compiles: Arc::new(Semaphore::new(cfg.max_concurrent_compiles)),
            jobs: Arc::new(Semaphore::new(cfg.max_concurrent_jobs)),
            requests: Arc::new(Semaphore::new(cfg.max_concurrent_requests)),
            joint: Arc::new(Semaphore::new(cfg.max_joint_requests)),
            joint_by_user: Arc::default(),
            memory: Arc::new(vm::MemoryBudget::new(cfg.node_memory_mib << 20)),
            cfg: cfg.clone(),
        }
    }

    /// The configured limits.
    pub fn config(&self) -> &LimitsConfig {
        &self.cfg
    }

    fn take(
        sem: &Arc<Semaphore>,
        metrics: &Metrics,
        limit: &'static str,
        max: usize,
        what: &str,
    ) -> Result<Slot, ApiError> {
        sem.clone().try_acquire_owned().map(Slot).map_err(|_| {
            metrics.record_limited(limit);
            ApiError::limited(
                ErrorCode::Unavailable,
                format!("this party is running its maximum of {max} {what} at once (limits.{limit}); retry in a moment"),
                RETRY_AFTER_SECS,
            )
        })
    }

    /// The VM memory budget all games share (`node_memory_mib`).
    pub fn memory(&self) -> Arc<vm::MemoryBudget> {
        self.memory.clone()
    }

    /// A slot for one game.
    pub fn game(&self, metrics: &Metrics) -> Result<Slot, ApiError> {
        Self::take(
            &self.games,
            metrics,
            "max_concurrent_games",
            self.cfg.max_concurrent_games,
            "games",
        )
    }

    /// A slot for one compilation.
    pub fn compile(&self, metrics: &Metrics) -> Result<Slot, ApiError> {
        Self::take(
            &self.compiles,
            metrics,
            "max_concurrent_compiles",
            self.cfg.max_concurrent_compiles,
            "compilations",
        )
    }

    /// A slot for one generation job.
    pub fn job(&self, metrics: &Metrics) -> Result<Slot, ApiError> {
        Self::take(
            &self.jobs,
            metrics,
            "max_concurrent_jobs",
            self.cfg.max_concurrent_jobs,
            "tuple generation jobs",
        )
    }

    /// A slot for one HTTP request.
    pub fn request(&self, metrics: &Metrics) -> Result<Slot, ApiError> {
        Self::take(
            &self.requests,
            metrics,
            "max_concurrent_requests",
            self.cfg.max_concurrent_requests,
            "HTTP requests",
        )
    }

    /// Refuses a user who already holds `pending` unused upload masks.
    /// A slot for one joint request of `user` (it waits for the other parties): 429 past the
    /// user's share, 503 past the node's; both are given back when the slot drops.
    pub fn joint(&self, metrics: &Metrics, user: &str) -> Result<JointSlot, ApiError> {
        {
            let mut by = self.joint_by_user.lock().unwrap_or_else(|p| p.into_inner());
            let n = by.entry(user.to_string()).or_default();
            if *n >= self.cfg.max_joint_requests_per_user {
                metrics.record_limited("max_joint_requests_per_user");
                return Err(ApiError::limited(
                    ErrorCode::TooManyRequests,
                    format!(
                        "user {user:?} has {} requests in progress that need every party (limits.max_joint_requests_per_user); wait for some to finish and retry",
                        *n
                    ),
                    RETRY_AFTER_SECS,
                ));
            }
            *n += 1;
        }
        let user = JointUser {
            by: self.joint_by_user.clone(),
            user: user.to_string(),
        };
        let slot = Self::take(
            &self.joint,
            metrics,
            "max_joint_requests",
            self.cfg.max_joint_requests,
            "requests that need every party",
        )?;
        Ok(JointSlot {
            _slot: slot,
            _user: user,
        })
    }

    pub fn pending_uploads(
        &self,
        metrics: &Metrics,
        user: &str,
        pending: usize,
    ) -> Result<(), ApiError> {
        if pending < self.cfg.max_pending_uploads_per_user {
            return Ok(());
        }
        metrics.record_limited("max_pending_uploads_per_user");
        Err(ApiError::limited(
            ErrorCode::TooManyRequests,
            format!(
                "user {user:?} holds {pending} uploads whose masks were handed out but whose values never came (limits.max_pending_uploads_per_user = {}); finish or abandon them (masks expire after {} s) and retry",
                self.cfg.max_pending_uploads_per_user,
                crate::secrets::MASK_TTL.as_secs()
            ),
            RETRY_AFTER_SECS,
        ))
    }

    /// Refuses a generation job larger than one party holds in memory.
    pub fn job_size(&self, count: u64) -> Result<(), String> {
        if count <= self.cfg.max_job_tuples {
            Ok(())
        } else {
            Err(format!(
                "a job of {count} tuples is more than this party accepts (limits.max_job_tuples = {})",
                self.cfg.max_job_tuples
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> LimitsConfig {
        LimitsConfig {
            max_concurrent_games: 2,
            max_concurrent_compiles: 1,
            max_pending_uploads_per_user: 3,
            max_concurrent_jobs: 1,
            max_job_tuples: 100,
            max_concurrent_requests: 1,
            max_gateway_handshakes: 1,
            game_memory_mib: 1,
            node_memory_mib: 2,
            max_joint_requests: 3,
            max_joint_requests_per_user: 2,
            transfer_memory_mib: 1,
        }
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let l = Limits::new(&small());
        let m = Metrics::default();
        let a = l.game(&m).unwrap();
        let _b = l.game(&m).unwrap();
        let e = l.game(&m).err().unwrap();
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert_eq!(e.code.http_status(), 503);
        assert_eq!(e.retry_after_secs, Some(RETRY_AFTER_SECS));
        assert!(e.message.contains("limits.max_concurrent_games"), "{e}");
        drop(a);
        l.game(&m).unwrap();
        let _c = l.compile(&m).unwrap();
        assert!(l.compile(&m).is_err());
        let _j = l.job(&m).unwrap();
        assert!(l.job(&m).is_err());
        assert!(m
            .render()
            .contains("ephemeral_requests_limited_total{limit=\"max_concurrent_games\"} 1"));
    }

    #[test]
    fn joint_requests_are_bounded_per_user_and_in_total() {
        let l = Limits::new(&small());
        let m = Metrics::default();
        let a1 = l.joint(&m, "alice").unwrap();
        let _a2 = l.joint(&m, "alice").unwrap();
        let e = l.joint(&m, "alice").err().unwrap();
        assert_eq!(e.code, ErrorCode::TooManyRequests);
        assert_eq!(e.retry_after_secs, Some(RETRY_AFTER_SECS));
        let _b = l.joint(&m, "bob").unwrap();
        // The node's total (3) is reached: another user gets 503, and gives nothing back twice.
        let e = l.joint(&m, "carol").err().unwrap();
        assert_eq!(e.code, ErrorCode::Unavailable);
        drop(a1);
        let _c = l.joint(&m, "carol").unwrap();
        assert!(l.joint(&m, "alice").is_err(), "the node is full again");
    }

    #[test]
    fn callers_beyond_their_pending_uploads_get_429() {
        let l = Limits::new(&small());
        let m = Metrics::default();
        l.pending_uploads(&m, "alice", 2).unwrap();
        let e = l.pending_uploads(&m, "alice", 3).unwrap_err();
        assert_eq!(e.code.http_status(), 429);
        assert!(e.message.contains("max_pending_uploads_per_user"), "{e}");
        assert!(l.job_size(100).is_ok());
        assert!(l.job_size(101).unwrap_err().contains("max_job_tuples"));
    }
}
