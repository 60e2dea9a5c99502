//! Games: activations and game status (Carbyne Stack's activation is in `carbyne::activation`).

use std::sync::Arc;

use api::{Activation, ApiError, GameResult, GameSummary};
use axum::extract::State;
use axum::Json;

use super::{to_completion, Caller, HttpError, JsonBody, PathParam};
use crate::Node;

#[utoipa::path(post, path = api::paths::GAMES, tag = "games",
    request_body = Activation,
    responses((status = 200, body = GameResult), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Runs a program on every party (send the same activation to each); answers when the game has
/// ended on this party.
pub(super) async fn execute(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    JsonBody(activation): JsonBody<Activation>,
) -> Result<Json<GameResult>, HttpError> {
    let result = to_completion(async move { node.execute(&user, activation).await }).await?;
    Ok(Json(result))
}

#[utoipa::path(get, path = api::paths::GAME, tag = "games",
    params(("id" = String, Path, description = "The game id")),
    responses((status = 200, body = GameSummary), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// A running or recently finished game.
pub(super) async fn game_summary(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<String>,
) -> Result<Json<GameSummary>, HttpError> {
    node.game_summary(&id, &user).map(Json).ok_or_else(|| {
        let shown: String = id.chars().take(128).collect();
        HttpError(ApiError::not_found(format!(
            "no game {shown:?} of yours on this party; a game is visible only to the user who ran it, and finished games are forgotten after timeouts.grace_secs"
        )))
    })
}
