//! Tuple store telemetry: `GET /v1/tuples` → [`TupleStatsResponse`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Pool level and consumption of one tuple kind on one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TupleKindStats {
    /// `triple`, `square`, `bit`, `inverse`, `input_mask_p<N>`.
    pub kind: String,
    /// Tuples ready to be reserved.
    pub available: u64,
    /// Tuples stored but not yet activated (their chunk is still being written on some party).
    pub inactive: u64,
    /// Tuples consumed so far (durable, monotone).
    pub consumed: u64,
    /// Consumption rate over the last minute, tuples per second.
    pub consumption_rate: f64,
    /// Target pool level: generation starts below it.
    pub threshold: u64,
}

/// The tuple pools of one party and the generator that fills them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TupleStatsResponse {
    pub party: usize,
    /// `insecure-dealer` or `mascot`.
    pub generator: String,
    pub kinds: Vec<TupleKindStats>,
    /// Generation jobs finished on this party since it started, and tuples made by them.
    pub jobs_completed: u64,
    pub tuples_generated: u64,
}
