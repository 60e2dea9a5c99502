//! The HTTP API (axum): routing, extraction, authentication and error mapping. Handlers are thin:
//! they extract, call a [`Node`] service method or a store, and wrap the answer.
//!
//! ```text
//! request ─▶ finish (log line, metrics, errors → JSON) ─▶ route ─▶ [auth] ─▶ extractors ─▶ handler
//! ```
//!
//! - Every path of [`api::paths`] is routed, and the Carbyne Stack compatible routes at the
//!   prefixes of `[carbyne]` (`carbyne`); all but `/v1/health`, `/openapi.json` and `/metrics`
//!   need `Authorization: Bearer <token>` (an `auth` route layer, so no protected handler can be
//!   reached without it; handlers read the caller with [`extract::Caller`], which fails closed).
//! - JSON bodies must say `Content-Type: application/json` (else 415) and fit in
//!   `api.max_body_bytes` (else 413); malformed bodies, paths and queries are 400 with the serde
//!   message.
//!
//! **Invariant:** every error response is a JSON [`api::ApiError`] with `party` set to this
//! party and the status of its code: handlers and extractors return [`HttpError`], and the
//! outermost middleware turns any other 4xx/5xx (axum's own rejections, unknown routes, wrong
//! methods) into one, so axum's plain-text bodies never reach a client.
//!
//! **Invariant:** the log line of a request holds the method, the route template, the status and
//! the latency, never a body, a header value or a token.

mod carbyne;
mod error;
mod extract;
mod functions;
mod games;
mod openapi;
mod ops;
mod secrets;
mod serve;
mod stream;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::Node;

pub use error::HttpError;
pub use extract::{Caller, JsonBody, PathParam, QueryParam};
pub use openapi::openapi_json;
pub use serve::{serve, HeadGuard, MAX_H2_HEADER_LIST, MAX_HEAD_BYTES};

/// The node's HTTP API; see the module docs.
pub fn router(node: Arc<Node>) -> Router {
    use api::paths as p;
    let protected = Router::new()
        .route(p::INPUT_MASKS, post(secrets::input_masks))
        .route(
            p::SECRETS,
            get(secrets::list_secrets).post(secrets::create_secret),
        )
        .route(
            p::SECRET,
            get(secrets::get_secret).delete(secrets::delete_secret),
        )
        .route(p::SECRET_DOWNLOAD, post(secrets::download_secret))
        .route(
            p::SECRET_TAGS,
            get(secrets::get_tags)
                .put(secrets::replace_tags)
                .post(secrets::add_tag),
        )
        .route(
            p::SECRET_TAG,
            get(secrets::get_tag)
                .put(secrets::put_tag)
                .delete(secrets::delete_tag),
        )
        .route(
            p::SECRET_POLICY,
            get(secrets::get_policy)
                .put(secrets::put_policy)
                .delete(secrets::delete_policy),
        )
        .route(p::SECRET_AUDIT, get(secrets::get_audit))
        .route(p::FUNCTIONS, get(functions::list_functions))
        .route(
            p::FUNCTION,
            put(functions::deploy_function)
                .get(functions::function_versions)
                .delete(functions::delete_function),
        )
        .route(p::GAMES, post(games::execute))
        .route(p::GAME, get(games::game_summary))
        .route(p::TUPLES, get(ops::tuples))
        .route(p::ADMIN_REKEY, post(ops::rekey))
        .merge(carbyne::routes(&node.config.carbyne))
        .route_layer(axum::middleware::from_fn_with_state(
            node.clone(),
            extract::require_user,
        ));
    let public = Router::new()
        .route(p::HEALTH, get(ops::health))
        .route(p::OPENAPI, get(ops::openapi))
        .route(p::METRICS, get(ops::metrics));
    protected
        .merge(public)
        .fallback(error::unknown_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(DefaultBodyLimit::max(node.config.api.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            error::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            error::finish,
        ))
        .with_state(node)
}

/// Runs blocking store work on a blocking thread.
pub(crate) async fn blocking<T, F>(node: &Arc<Node>, f: F) -> Result<T, HttpError>
where
    T: Send + 'static,
    F: FnOnce(&Node) -> Result<T, api::ApiError> + Send + 'static,
{
    let node = node.clone();
    tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|e| {
            api::ApiError::new(
                api::ErrorCode::Internal,
                format!("a worker task failed: {e}"),
            )
        })?
        .map_err(HttpError)
}

/// Runs one party's part of a joint step (a game, an upload's masks or store, a download) on its
/// own task, to completion.
///
/// **Invariant:** a client that hangs up never cancels a joint step half-way. axum drops a
/// handler's future when its connection closes; if the step ran inside it, this party would
/// vanish from the protocol mid-round (the other parties would wait out their deadline) and the
/// step's bookkeeping (a game's final status, a reservation's release) would never run.
pub(crate) async fn to_completion<T: Send + 'static>(
    step: impl std::future::Future<Output = Result<T, api::ApiError>> + Send + 'static,
) -> Result<T, HttpError> {
    match tokio::spawn(step).await {
        Ok(r) => r.map_err(HttpError),
        Err(e) => Err(HttpError(api::ApiError::new(
            api::ErrorCode::Internal,
            format!("the step's task ended abnormally ({e}); the operation's outcome on this party is unknown, check the node's log"),
        ))),
    }
}
