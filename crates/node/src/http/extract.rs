//! Extractors whose rejections are [`HttpError`]s, and the authentication layer.

use std::sync::Arc;

use api::{ApiError, ErrorCode};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::HttpError;
use crate::{Node, User};

/// The route layer of every protected route: authenticates the bearer token and hands the
/// [`User`] to the handler (as a request extension, read by [`Caller`]). 401 otherwise, with
/// `WWW-Authenticate: Bearer`.
pub(super) async fn require_user(
    State(node): State<Arc<Node>>,
    mut req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    match node.auth.authenticate(header) {
        Ok(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        Err(e) => {
            let mut r = HttpError(e).into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
    }
}

/// The authenticated caller. Only [`require_user`] sets it; on a route without that layer the
/// extractor refuses the request (fails closed) instead of serving it anonymously.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        parts
            .extensions
            .get::<User>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                HttpError(ApiError::new(
                    ErrorCode::Unauthorized,
                    "this route needs `Authorization: Bearer <token>`",
                ))
            })
    }
}

/// Whether the request says its body is JSON: `application/json` or `application/<x>+json`,
/// parameters (`; charset=utf-8`) allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A JSON request body: checks the content type (415), the size (413, `api.max_body_bytes`)
/// and the JSON (400 naming the field, e.g. `output.type: unknown output type …`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Node>> for JsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, node: &Arc<Node>) -> Result<Self, HttpError> {
        if !is_json(req.headers()) {
            return Err(HttpError(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be JSON with `Content-Type: application/json`",
            )));
        }
        let bytes = Bytes::from_request(req, node)
            .await
            .map_err(|e| body_error(e, node.config.api.max_body_bytes))?;
        parse_json(&bytes).map(JsonBody).map_err(HttpError)
    }
}

/// Deserializes a whole JSON document; the error names the path of the bad field.
pub(super) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

fn body_error(e: BytesRejection, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the body is larger than this party accepts ({limit} bytes, api.max_body_bytes); split the request"
            ),
        )
    } else if e.status().is_client_error() {
        ApiError::bad_request(format!("cannot read the body: {}", e.body_text()))
    } else {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot read the body: {}", e.body_text()),
        )
    }
}

/// A path parameter; a malformed one (e.g. a secret id that is not a UUID) is 400.
#[derive(Debug)]
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParam(v))
            .map_err(|e| {
                HttpError(ApiError::bad_request(format!(
                    "invalid path: {}",
                    e.body_text()
                )))
            })
    }
}

/// A query string; a malformed one is 400.
#[derive(Debug)]
pub struct QueryParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParam<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| QueryParam(v))
            .map_err(|e| {
                HttpError(ApiError::bad_request(format!(
                    "invalid query: {}",
                    e.body_text()
                )))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (v, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/vnd.api+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("json", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            assert_eq!(is_json(&h), ok, "{v}");
        }
    }

    #[test]
    fn json_errors_name_the_field_and_refuse_trailing_data() {
        let e = parse_json::<api::MaskRequest>(br#"{"request_id":"x","count":1}"#).unwrap_err();
        assert!(e.message.contains("request_id"), "{}", e.message);
        let e =
            parse_json::<api::Activation>(br#"{"code":"x","output":{"type":"CSV"}}"#).unwrap_err();
        assert!(e.message.contains("output.type"), "{}", e.message);
        let e = parse_json::<api::DownloadRequest>(
            br#"{"request_id":"7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d"} {}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(parse_json::<api::DownloadRequest>(b"").is_err());
    }
}
