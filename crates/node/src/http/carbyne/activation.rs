//! Ephemeral's activation endpoint: the original's body in, `{"response": [...]}` out.

use std::sync::Arc;

use api::carbyne::{CarbyneActivation, CompileQuery};
use api::{Activation, ApiError, CarbyneResult, ErrorCode, GameOutput, OutputSpec};
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::http::{to_completion, Caller, HttpError, JsonBody, QueryParam};
use crate::Node;

/// Go's `strconv.ParseBool`, which the original applies to `?compile=`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The native activation for an original one, or why it is refused.
pub(crate) fn to_activation(
    a: CarbyneActivation,
    compile: Option<&str>,
) -> Result<Activation, ApiError> {
    if let Some(c) = compile {
        if parse_bool(c).is_none() {
            return Err(ApiError::bad_request(format!(
                "compile: {:?} is not a boolean; use compile=true or compile=false",
                c.chars().take(32).collect::<String>()
            )));
        }
    }
    if !a.secret_params.is_empty() {
        let also = if a.amphora_params.is_empty() {
            ""
        } else {
            " (and the original refuses secretParams together with amphoraParams too)"
        };
        return Err(ApiError::bad_request(format!(
            "secretParams (raw shares) are not accepted{also}: a raw share cannot be verified, so a party could feed the game any value. Store the inputs as secrets (Amphora's createSecret, POST {{amphora}}/masked-inputs, or `ephemeral secret create`) and pass their ids in amphoraParams"
        )));
    }
    let Some(output) = a.output else {
        return Err(ApiError::bad_request(
            "no output config is given: set output.type to PLAINTEXT, SECRETSHARE or AMPHORASECRET",
        ));
    };
    if a.code.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "code is empty: send the program's source (MP-SPDZ dialect) in code",
        ));
    }
    Ok(Activation {
        game_id: a.game_id,
        code: a.code,
        inputs: a.amphora_params,
        output: OutputSpec {
            kind: output.kind,
            tags: Vec::new(),
        },
        ..Activation::default()
    })
}

#[utoipa::path(post, path = "/", tag = "carbyne-ephemeral",
    params(("compile" = Option<String>, Query, description = "true or false; programs are always compiled (cached by hash)")),
    request_body = CarbyneActivation,
    responses((status = 200, body = CarbyneResult), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Ephemeral).** The original's activation: `{amphoraParams, gameId | gameID,
/// code, output: {type}}` in, `{"response": [...]}` out (send it to every party). AMPHORASECRET
/// answers the stored secret's id; `secretParams` are refused.
pub(in crate::http) async fn activate(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    QueryParam(q): QueryParam<CompileQuery>,
    JsonBody(body): JsonBody<CarbyneActivation>,
) -> Result<Json<CarbyneResult>, HttpError> {
    let activation = to_activation(body, q.compile.as_deref())?;
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
    use api::OutputKind;
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

    fn activation(json: &str) -> CarbyneActivation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_originals_quirks_are_accepted_and_raw_shares_refused() {
        let a = to_activation(
            activation(r#"{"amphoraParams":["7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d"],"secretParams":[],"gameId":"g","code":"x","output":{"type":"amphorasecret"}}"#),
            Some("true"),
        )
        .unwrap();
        assert_eq!(a.game_id.as_deref(), Some("g"));
        assert_eq!(a.inputs.len(), 1);
        assert_eq!(a.output.kind, OutputKind::AmphoraSecret);
        assert!(to_activation(
            activation(r#"{"gameID":"g","code":"x","output":{"type":"PLAINTEXT"}}"#),
            Some("F")
        )
        .is_ok());
        let e = to_activation(
            activation(r#"{"secretParams":["AAAA"],"gameID":"g","code":"x","output":{"type":"PLAINTEXT"}}"#),
            None,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(
            e.message.contains("secretParams") && e.message.contains("amphoraParams"),
            "{}",
            e.message
        );
        let e = to_activation(
            activation(r#"{"gameID":"g","code":"x","output":{"type":"PLAINTEXT"}}"#),
            Some("yes"),
        )
        .unwrap_err();
        assert!(e.message.contains("compile"), "{}", e.message);
        let e = to_activation(activation(r#"{"gameID":"g","code":"x"}"#), None).unwrap_err();
        assert!(e.message.contains("output"), "{}", e.message);
        let e = to_activation(
            activation(r#"{"gameID":"g","output":{"type":"PLAINTEXT"}}"#),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("code"), "{}", e.message);
    }
}
