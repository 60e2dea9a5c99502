//! Errors as JSON, and the outermost middleware: one log line and the metrics of every request.

use std::sync::Arc;
use std::time::Instant;

use api::{ApiError, ErrorCode};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Node;

/// The route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// Longest request target (path and query) the API reads: longer ones get 414 with the JSON
/// error, before any routing or extraction. (Over HTTP/1, beyond 64 KiB hyper refuses the request
/// line itself, before this middleware runs; `super::serve::HeadGuard` gives that refusal the
/// same JSON error.)
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Longest body of a foreign error response that is copied into an [`ApiError`] message.
const MAX_FOREIGN_BODY: usize = 1024;

/// A failed request. Its response carries the [`ApiError`] as an extension with the right status
/// and an empty body; [`finish`] writes the JSON body with this party's id.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

/// The extension by which [`HttpError`] hands its error to [`finish`].
#[derive(Clone)]
struct PendingError(ApiError);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = status.into_response();
        r.extensions_mut().insert(PendingError(self.0));
        r
    }
}

/// The fallback of unknown paths: 404.
pub(super) async fn unknown_route(req: Request) -> HttpError {
    HttpError(ApiError::not_found(format!(
        "no route {} {}; see /openapi.json for the API",
        req.method(),
        clip(req.uri().path(), 200)
    )))
}

/// The fallback of known paths with another method: 405.
pub(super) async fn wrong_method(req: Request) -> Response {
    let e = ApiError::new(
        ErrorCode::BadRequest,
        format!(
            "method {} is not allowed on {}; see /openapi.json for the API",
            req.method(),
            clip(req.uri().path(), 200)
        ),
    );
    // 405 has no code of its own: keep the status, report `bad_request`.
    let mut r = StatusCode::METHOD_NOT_ALLOWED.into_response();
    r.extensions_mut().insert(PendingError(e));
    r
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n).collect();
        c.push('…');
        c
    }
}

/// Admits a request into one of the node's `limits.max_concurrent_requests` slots, or refuses it
/// at once with 503 (health and metrics are always served, so that an overloaded node can be
/// seen to be overloaded).
pub(super) async fn admit(State(node): State<Arc<Node>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == api::paths::HEALTH || path == api::paths::METRICS {
        return next.run(req).await;
    }
    match node.limits.request(&node.metrics) {
        Ok(_slot) => next.run(req).await,
        Err(e) => HttpError(e).into_response(),
    }
}

/// The outermost middleware: runs the request, turns every error response into a JSON
/// [`ApiError`] of this party, records the metrics and writes one log line.
pub(super) async fn finish(State(node): State<Arc<Node>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let response = if uri_len > MAX_URI_BYTES {
        let e = ApiError::new(
            ErrorCode::BadRequest,
            format!("the request target has {uri_len} bytes, more than the {MAX_URI_BYTES} this API reads; put large data in the request body"),
        );
        let mut r = StatusCode::URI_TOO_LONG.into_response();
        r.extensions_mut().insert(PendingError(e));
        r
    } else {
        next.run(req).await
    };
    let response = to_json_error(response, node.me).await;
    let status = response.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    node.metrics.record_http(&route, status, secs);
    let ms = secs * 1e3;
    let quiet = route == api::paths::HEALTH || route == api::paths::METRICS;
    if status >= 500 {
        tracing::warn!(%method, %route, status, ms, "http request");
    } else if quiet {
        tracing::debug!(%method, %route, status, ms, "http request");
    } else {
        tracing::info!(%method, %route, status, ms, "http request");
    }
    response
}

/// Writes the JSON body of an error response: the pending [`ApiError`] of an [`HttpError`], or
/// for any other 4xx/5xx without a JSON body (an axum rejection, a failed serialization), an
/// error built from the status and the text.
async fn to_json_error(response: Response, party: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    let err = match parts.extensions.remove::<PendingError>() {
        Some(PendingError(e)) => e,
        None => {
            let is_json = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if !(parts.status.is_client_error() || parts.status.is_server_error()) || is_json {
                return Response::from_parts(parts, body);
            }
            let text = axum::body::to_bytes(body, MAX_FOREIGN_BODY * 4)
                .await
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .unwrap_or_default();
            let text = if text.is_empty() {
                parts
                    .status
                    .canonical_reason()
                    .unwrap_or("error")
                    .to_string()
            } else {
                clip(&text, MAX_FOREIGN_BODY)
            };
            ApiError::new(ErrorCode::from_status(parts.status.as_u16()), text)
        }
    };
    let err = err.at_party(party);
    if let Some(secs) = err.retry_after_secs {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    let body = serde_json::to_vec(&err).unwrap_or_else(|_| {
        br#"{"code":"internal","message":"the error could not be encoded"}"#.to_vec()
    });
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
