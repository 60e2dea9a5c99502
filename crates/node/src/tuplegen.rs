//! Filling the tuple store: party 0 schedules generation jobs, every party runs them.

use api::{ApiError, TupleStatsResponse};

use crate::Node;

/// The tuple generator of this node.
#[derive(Default)]
pub struct Generator {}

impl Node {
    /// `GET /v1/tuples`.
    pub fn tuple_stats(&self) -> Result<TupleStatsResponse, ApiError> {
        Err(ApiError::new(api::ErrorCode::Internal, "tuple stats: being written"))
    }

    /// `GET /v1/health`.
    pub fn health(&self) -> api::Health {
        api::Health {
            party: self.me,
            parties: self.n,
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            generator: "insecure-dealer".into(),
            peers: vec![],
            running_games: self.games.running(),
        }
    }
}
