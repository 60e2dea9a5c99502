//! `GET /v1/health` → [`Health`] (no authentication).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The link to one peer party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeerHealth {
    pub party: usize,
    pub connected: bool,
}

/// The node's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub party: usize,
    pub parties: usize,
    /// `ok` when every peer is connected, else `degraded`; `halted` when tuple generation stopped
    /// after a failed check (see `generation_halt`).
    pub status: String,
    pub version: String,
    /// `insecure-dealer` or `mascot`.
    pub generator: String,
    pub peers: Vec<PeerHealth>,
    pub running_games: u64,
    /// Present when tuple generation is halted after a failed check; `status` is then `halted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_halt: Option<crate::tuples::GenerationHaltInfo>,
}
