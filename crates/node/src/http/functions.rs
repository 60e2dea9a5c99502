//! Deployed functions: deploy, list, versions, delete.

use std::sync::Arc;

use api::{ApiError, DeployFunction, FunctionInfo, FunctionList};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::{blocking, Caller, HttpError, JsonBody, PathParam};
use crate::Node;

#[utoipa::path(put, path = api::paths::FUNCTION, tag = "functions",
    params(("name" = String, Path, description = "[A-Za-z0-9_.-]{1,128}")),
    request_body = DeployFunction,
    responses((status = 200, description = "The new version, or the latest one unchanged if the code and arguments are the same", body = FunctionInfo), (status = 400, description = "Bad name or the program does not compile", body = ApiError), (status = 403, description = "The name belongs to another user", body = ApiError)),
    security(("bearer" = [])))]
/// Deploys a program under a name (compiled first; nothing is stored if it does not compile).
pub(super) async fn deploy_function(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(name): PathParam<String>,
    JsonBody(req): JsonBody<DeployFunction>,
) -> Result<Json<FunctionInfo>, HttpError> {
    let info = node
        .functions
        .deploy(&name, req, &user, &node.programs, || {
            node.limits.compile(&node.metrics)
        })
        .await?;
    Ok(Json(info))
}

#[utoipa::path(get, path = api::paths::FUNCTIONS, tag = "functions",
    responses((status = 200, description = "The latest version of each function", body = FunctionList), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Every deployed function, latest version each.
pub(super) async fn list_functions(
    State(node): State<Arc<Node>>,
    Caller(_user): Caller,
) -> Result<Json<FunctionList>, HttpError> {
    let items = blocking(&node, |n| n.functions.list()).await?;
    Ok(Json(FunctionList { items }))
}

#[utoipa::path(get, path = api::paths::FUNCTION, tag = "functions",
    params(("name" = String, Path, description = "The function's name")),
    responses((status = 200, description = "Every version, oldest first", body = FunctionList), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// The versions of one function.
pub(super) async fn function_versions(
    State(node): State<Arc<Node>>,
    Caller(_user): Caller,
    PathParam(name): PathParam<String>,
) -> Result<Json<FunctionList>, HttpError> {
    let items = blocking(&node, move |n| n.functions.versions(&name)).await?;
    Ok(Json(FunctionList { items }))
}

#[utoipa::path(delete, path = api::paths::FUNCTION, tag = "functions",
    params(("name" = String, Path, description = "The function's name")),
    responses((status = 204, description = "Every version was deleted"), (status = 403, description = "The function belongs to another user", body = ApiError), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Deletes every version of a function (owner only).
pub(super) async fn delete_function(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(name): PathParam<String>,
) -> Result<StatusCode, HttpError> {
    let shown = name.clone();
    blocking(&node, move |n| n.functions.delete(&name, &user)).await?;
    tracing::info!(function = %shown, "function deleted");
    Ok(StatusCode::NO_CONTENT)
}
