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
    /// VM memory of all games together.
    memory: Arc<vm::MemoryBudget>,
}

/// One admitted piece of work: holds its slot until dropped.
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Limits {
    pub fn new(cfg: &LimitsConfig) -> Limits {
        Limits {
            games: Arc::new(Semaphore::new(cfg.max_concurrent_games)),
            compiles: Arc::new(Semaphore::new(cfg.max_concurrent_compiles)),
            jobs: Arc::new(Semaphore::new(cfg.max_concurrent_jobs)),
            requests: Arc::new(Semaphore::new(cfg.max_concurrent_requests)),
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
