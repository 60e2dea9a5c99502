//! Tuple store telemetry: `GET /v1/tuples` → [`TupleStatsResponse`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Pool level and consumption of one tuple kind on one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TupleKindStats {
    /// The store's label of the kind: `triple`, `square`, `bit`, `inverse`, `input-mask-<p>`
    /// (party p's input masks), and the binary-domain kinds a node keeps once a game used them:
    /// `bit-triple`, `dabit`, `edabit-<bits>-<extra>`, `wide-edabit-<bits>-<width>` (one entry
    /// per shape).
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
    /// Tuples of this kind this party generated since it started (absent from older nodes).
    #[serde(default)]
    pub generated: u64,
    /// Generation rate over the last minute, tuples per second (absent from older nodes).
    #[serde(default)]
    pub generation_rate: f64,
}

/// The tuple pools of one party and the generator that fills them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TupleStatsResponse {
    pub party: usize,
    /// `insecure-dealer` or `mascot` (empty from nodes that did not say).
    #[serde(default)]
    pub generator: String,
    pub kinds: Vec<TupleKindStats>,
    /// Generation jobs finished on this party since it started, and tuples made by them.
    pub jobs_completed: u64,
    pub tuples_generated: u64,
    /// Present when generation is halted after a failed check (see [`GenerationHaltInfo`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt: Option<GenerationHaltInfo>,
}

/// Tuple generation stopped after a failed check in preprocessing. It stays stopped, across
/// restarts, until an operator moves the parties to a fresh MAC key (`ephemeral admin rekey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GenerationHaltInfo {
    /// The step that failed (`authentication`, `sacrifice`, `ot-extension-check`, …).
    pub step: String,
    /// The peer that failed the check or reported it, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<u64>,
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
    /// The generation job (chunk id).
    pub job: String,
    pub reason: String,
    /// Failures recorded (jobs that ran at the same time may fail too).
    pub failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_without_the_generation_fields_still_parse() {
        let old = r#"{"party":1,"kinds":[{"kind":"triple","available":5,"inactive":0,"consumed":2,"consumption_rate":0.5,"threshold":10}],"jobs_completed":3,"tuples_generated":7}"#;
        let r: TupleStatsResponse = serde_json::from_str(old).unwrap();
        assert_eq!(r.generator, "");
        assert_eq!(r.kinds[0].generated, 0);
        assert_eq!(r.kinds[0].generation_rate, 0.0);
        let back: TupleStatsResponse =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}

/// `POST /v1/admin/rekey`, sent to every party: move the parties to a fresh MAC key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RekeyRequest {
    /// A fresh id, the same on every party.
    pub request_id: uuid::Uuid,
}

/// What one party did in a rekey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RekeyResult {
    pub party: usize,
    /// Secrets and values re-authenticated under the new key.
    pub secrets: u64,
    pub values: u64,
    /// How many times the parties were rekeyed, this one included.
    pub key_generation: u64,
}
