//! Games: activations (ours and Carbyne Stack's) and game status.

use std::sync::Arc;

use api::{Activation, ApiError, CarbyneResult, ErrorCode, GameOutput, GameResult, GameSummary};
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

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

#[utoipa::path(post, path = api::paths::CARBYNE_ACTIVATION, tag = "games",
    request_body = Activation,
    responses((status = 200, body = CarbyneResult), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Carbyne Stack compatible activation: `{amphoraParams, gameID, code, output: {type}}` in,
/// `{"response": [...]}` out.
pub(super) async fn carbyne_activation(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    JsonBody(activation): JsonBody<Activation>,
) -> Result<Json<CarbyneResult>, HttpError> {
    let result = to_completion(async move { node.execute(&user, activation).await }).await?;
    let delivery = match &result.output {
        GameOutput::SecretShare { delivery } => Some(delivery.clone()),
        _ => None,
    };
    Ok(Json(CarbyneResult {
        response: carbyne_response(&result.output)?,
        delivery,
    }))
}

/// The original's `response` strings:
/// - PLAINTEXT: base64 of the decimal value in `0..p` (our signed decimals, negatives plus p);
/// - SECRETSHARE: base64 of each 16-byte element of this party's share `s`;
/// - AMPHORASECRET: the stored secrets' ids.
pub(crate) fn carbyne_response(output: &GameOutput) -> Result<Vec<String>, ApiError> {
    match output {
        GameOutput::Plaintext { values } => values
            .iter()
            .map(|v| {
                let x: i128 = v.trim().parse().map_err(|_| {
                    ApiError::new(
                        ErrorCode::Internal,
                        "an output is not a decimal integer; cannot answer in the Carbyne format",
                    )
                })?;
                let canonical = field::Fp::from_i128(x).to_u128();
                Ok(STANDARD.encode(canonical.to_string()))
            })
            .collect(),
        GameOutput::SecretShare { delivery } => Ok(delivery
            .s
            .as_bytes()
            .chunks_exact(field::Fp::BYTES)
            .map(|c| STANDARD.encode(c))
            .collect()),
        GameOutput::AmphoraSecret { ids } => Ok(ids.iter().map(|id| id.to_string()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use field::Fp;

    const P: u128 = 198766463529478683931867765928436695041;

    fn decode(s: &str) -> String {
        String::from_utf8(STANDARD.decode(s).unwrap()).unwrap()
    }

    #[test]
    fn plaintext_is_base64_of_the_canonical_decimal() {
        let out = GameOutput::Plaintext {
            values: vec!["42".into(), "-1".into(), "0".into()],
        };
        let r = carbyne_response(&out).unwrap();
        assert_eq!(decode(&r[0]), "42");
        assert_eq!(decode(&r[1]), (P - 1).to_string());
        assert_eq!(decode(&r[2]), "0");
        let bad = GameOutput::Plaintext {
            values: vec!["x".into()],
        };
        assert_eq!(
            carbyne_response(&bad).unwrap_err().code,
            ErrorCode::Internal
        );
    }

    #[test]
    fn shares_are_one_base64_word_each_and_ids_are_strings() {
        let s = [Fp::from_u64(1), Fp::from_u64(2)];
        let fv = api::FieldVec::from_elements(&s);
        let delivery = api::OutputDelivery {
            request_id: uuid::Uuid::nil(),
            party: 0,
            s: fv.clone(),
            r: fv.clone(),
            v: fv.clone(),
            w: fv.clone(),
            u: fv.clone(),
        };
        let r = carbyne_response(&GameOutput::SecretShare { delivery }).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(STANDARD.decode(&r[1]).unwrap(), fv.as_bytes()[16..32]);
        let id = uuid::Uuid::new_v4();
        let r = carbyne_response(&GameOutput::AmphoraSecret { ids: vec![id] }).unwrap();
        assert_eq!(r, vec![id.to_string()]);
    }
}
