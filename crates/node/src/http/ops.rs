//! Operational endpoints: health, metrics, the OpenAPI document, tuple telemetry.

use std::sync::Arc;

use api::{ApiError, Health, RekeyRequest, RekeyResult, TupleStatsResponse};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::{blocking, to_completion, Caller, HttpError, JsonBody};
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

#[utoipa::path(post, path = api::paths::ADMIN_REKEY, tag = "ops",
    request_body = RekeyRequest,
    responses((status = 200, body = RekeyResult), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Operators: move every party to a fresh MAC key, re-authenticating every stored secret and
/// discarding every old tuple (send the same request to every party). Clears a halt of tuple
/// generation.
pub(super) async fn rekey(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    JsonBody(req): JsonBody<RekeyRequest>,
) -> Result<Json<RekeyResult>, HttpError> {
    Ok(Json(
        to_completion(async move { node.rekey(&user, req).await }).await?,
    ))
}
