//! Games: discovery (party 0 leads) and execution.

use api::{Activation, ApiError, ErrorCode, GameResult, GameSummary};
use std::sync::Arc;

use crate::{Node, User};

/// The games this node knows: running ones, and finished ones for a grace period.
#[derive(Default)]
pub struct GameTable {}

impl GameTable {
    /// Number of games registering or running.
    pub fn running(&self) -> u64 {
        0
    }
}

impl Node {
    /// `POST /v1/games` (and the Carbyne-compatible `POST /`).
    pub async fn execute(
        self: &Arc<Self>,
        _user: &User,
        _activation: Activation,
    ) -> Result<GameResult, ApiError> {
        Err(ApiError::new(ErrorCode::Internal, "execute: being written"))
    }

    /// `GET /v1/games/{id}`.
    pub fn game_summary(&self, _id: &str) -> Option<GameSummary> {
        None
    }
}
