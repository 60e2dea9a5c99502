//! Operational endpoints: health, metrics, the OpenAPI document, tuple telemetry.

use std::sync::Arc;

use api::{ApiError, Health, TupleStatsResponse};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::{blocking, Caller, HttpError};
use crate::Node;

#[utoipa::path(get, path = api::paths::HEALTH, tag = "ops",
    responses((status = 200, body = Health)))]
/// The node's state and its links to the other parties (no authentication).
pub(super) async fn health(State(node): State<Arc<Node>>) -> Json<Health> {
    Json(node.health())
}

#[utoipa::path(get, path = api::paths::METRICS, tag = "ops",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
/// Prometheus metrics (no authentication).
pub(super) async fn metrics(State(node): State<Arc<Node>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        node.metrics.render(),
    )
}

#[utoipa::path(get, path = api::paths::OPENAPI, tag = "ops",
    responses((status = 200, description = "This document", content_type = "application/json")))]
/// The OpenAPI document (no authentication).
pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi_json(),
    )
}

#[utoipa::path(get, path = api::paths::TUPLES, tag = "ops",
    responses((status = 200, body = TupleStatsResponse), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Tuple pool levels and consumption on this party.
pub(super) async fn tuples(
    State(node): State<Arc<Node>>,
    Caller(_user): Caller,
) -> Result<Json<TupleStatsResponse>, HttpError> {
    Ok(Json(blocking(&node, |n| n.tuple_stats()).await?))
}
