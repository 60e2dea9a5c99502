//! Castor's telemetry on the node's tuple store.

use std::sync::Arc;

use api::carbyne::{TelemetryData, TelemetryQuery, TupleMetric, CASTOR_TUPLE_TYPES};
use api::{ApiError, TupleStatsResponse};
use axum::extract::State;
use axum::Json;

use crate::http::{blocking, Caller, HttpError, QueryParam};
use crate::Node;

/// The window of the node's consumption rates (`GET /v1/tuples` measures the last minute),
/// in milliseconds.
const RATE_WINDOW_MS: i64 = 60_000;

/// Castor's metrics from our pool statistics, one per Castor tuple type in Castor's order:
/// triples, squares, bits and inverse pairs map one to one; `INPUT_MASK_GFP` counts every
/// party's input masks; the GF(2^n) types have no pool here and report 0.
pub(crate) fn telemetry_from(stats: &TupleStatsResponse) -> TelemetryData {
    let metrics = CASTOR_TUPLE_TYPES
        .iter()
        .map(|(castor, ours)| {
            let (available, rate) = match ours {
                Some(label) => stats
                    .kinds
                    .iter()
                    .filter(|k| {
                        k.kind == *label
                            || (*label == "input_mask" && k.kind.starts_with("input_mask"))
                    })
                    .fold((0u64, 0f64), |(a, r), k| {
                        (a.saturating_add(k.available), r + k.consumption_rate)
                    }),
                None => (0, 0.0),
            };
            TupleMetric {
                available: i64::try_from(available).unwrap_or(i64::MAX),
                consumption_rate: if rate.is_finite() {
                    rate.round() as i64
                } else {
                    0
                },
                kind: (*castor).to_string(),
            }
        })
        .collect();
    TelemetryData {
        metrics,
        interval: RATE_WINDOW_MS,
    }
}

#[utoipa::path(get, path = "/castor/intra-vcp/telemetry", tag = "carbyne-castor",
    params(("interval" = Option<i64>, Query, description = "Seconds, at least 1; the rates are always over the node's last minute, which `interval` in the answer reports (ms)")),
    responses((status = 200, body = TelemetryData), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Castor).** Tuple pool levels and consumption rates of this party as
/// Castor's `TelemetryData`.
pub(in crate::http) async fn telemetry(
    State(node): State<Arc<Node>>,
    Caller(_user): Caller,
    QueryParam(q): QueryParam<TelemetryQuery>,
) -> Result<Json<TelemetryData>, HttpError> {
    if let Some(i) = q.interval.filter(|i| *i <= 0) {
        return Err(HttpError(ApiError::bad_request(format!(
            "interval must be larger than 0, got {i}"
        ))));
    }
    let stats = blocking(&node, |n| n.tuple_stats()).await?;
    Ok(Json(telemetry_from(&stats)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::TupleKindStats;

    fn kind(kind: &str, available: u64, rate: f64) -> TupleKindStats {
        TupleKindStats {
            kind: kind.into(),
            available,
            inactive: 0,
            consumed: 0,
            consumption_rate: rate,
            threshold: 0,
            generated: 0,
            generation_rate: 0.0,
        }
    }

    #[test]
    fn every_castor_type_is_reported_in_castors_order() {
        let stats = TupleStatsResponse {
            party: 0,
            generator: "mascot".into(),
            kinds: vec![
                kind("triple", 100, 2.6),
                kind("bit", 5, 0.0),
                kind("input_mask_p0", 3, 0.2),
                kind("input_mask_p1", 4, 0.4),
            ],
            jobs_completed: 0,
            tuples_generated: 0,
            halt: None,
        };
        let t = telemetry_from(&stats);
        assert_eq!(t.metrics.len(), 10);
        assert_eq!(t.interval, 60_000);
        let get = |k: &str| t.metrics.iter().find(|m| m.kind == k).unwrap().clone();
        assert_eq!(get("MULTIPLICATION_TRIPLE_GFP").available, 100);
        assert_eq!(get("MULTIPLICATION_TRIPLE_GFP").consumption_rate, 3);
        assert_eq!(get("INPUT_MASK_GFP").available, 7);
        assert_eq!(get("INPUT_MASK_GFP").consumption_rate, 1);
        assert_eq!(get("BIT_GF2N").available, 0);
        assert_eq!(t.metrics[0].kind, "BIT_GFP");
    }
}
