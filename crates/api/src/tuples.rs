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
