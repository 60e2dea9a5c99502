//! Carbyne Stack compatible bodies: what the original's Java clients (`AmphoraClient`,
//! `EphemeralClient`, the Castor client) send and parse, field for field.
//!
//! The node serves them under configurable prefixes (`[carbyne]` in the node's config; defaults
//! `/amphora`, `/castor` and `/` for activations); the paths below are relative to them
//! ([`amphora`], [`castor`]). The original's clients parse answers with a default Jackson
//! `ObjectMapper`, which **fails on unknown properties**: every response type here has exactly
//! the original's fields, in its names, and nothing else.
//!
//! Field vectors are `byte[]` in Java, which Jackson writes as base64: the same bytes as our
//! [`crate::FieldVec`] (16-byte little-endian Montgomery words, concatenated).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::encoding::FieldVec;
use crate::games::OutputKind;
use crate::secrets::Tag;

/// Paths of the Amphora compatible routes, relative to the Amphora prefix.
pub mod amphora {
    /// `GET ?requestId=&count=`: input masks by output delivery ([`super::AmphoraDelivery`]).
    pub const INPUT_MASKS: &str = "/input-masks";
    /// `POST` [`super::AmphoraMaskedInput`]: 201, `Location` and the new secret's URI.
    pub const MASKED_INPUTS: &str = "/masked-inputs";
    /// `GET ?filter=&pageNumber=&pageSize=&sort=&dir=`: [`super::MetadataPage`].
    pub const SECRET_SHARES: &str = "/secret-shares";
    /// `GET ?requestId=`: [`super::VerifiableSecretShare`]; `DELETE`.
    pub const SECRET_SHARE: &str = "/secret-shares/{id}";
    /// `GET` all tags, `POST` one tag (201), `PUT` replace all user tags.
    pub const TAGS: &str = "/secret-shares/{id}/tags";
    /// The same, as the original Java client writes it (`"%s/%s"` with `"/tags"`).
    pub const TAGS_DOUBLE_SLASH: &str = "/secret-shares/{id}//tags";
    /// `GET`, `PUT`, `DELETE` one tag.
    pub const TAG: &str = "/secret-shares/{id}/tags/{key}";
    /// The same, as the original Java client writes it.
    pub const TAG_DOUBLE_SLASH: &str = "/secret-shares/{id}//tags/{key}";
}

/// Paths of the Castor compatible routes, relative to the Castor prefix.
pub mod castor {
    /// `GET ?interval=`: [`super::TelemetryData`].
    pub const TELEMETRY: &str = "/intra-vcp/telemetry";
}

/// Amphora's `OutputDeliveryObject`: one party's shares of the output-delivery protocol (values
/// only). For input masks, `secretShares` are the masks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmphoraDelivery {
    #[serde(rename = "secretShares")]
    pub secret_shares: FieldVec,
    #[serde(rename = "rShares")]
    pub r_shares: FieldVec,
    #[serde(rename = "vShares")]
    pub v_shares: FieldVec,
    #[serde(rename = "wShares")]
    pub w_shares: FieldVec,
    #[serde(rename = "uShares")]
    pub u_shares: FieldVec,
}

impl From<crate::OutputDelivery> for AmphoraDelivery {
    fn from(d: crate::OutputDelivery) -> Self {
        AmphoraDelivery {
            secret_shares: d.s,
            r_shares: d.r,
            v_shares: d.v,
            w_shares: d.w,
            u_shares: d.u,
        }
    }
}

/// Amphora's `VerifiableSecretShare` as its serializer writes it: the metadata's fields and the
/// delivery's fields merged into one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifiableSecretShare {
    #[serde(rename = "secretId")]
    pub secret_id: Uuid,
    pub tags: Vec<Tag>,
    #[serde(flatten)]
    pub delivery: AmphoraDelivery,
}

/// One masked value: `{"value": base64 of 16 bytes}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskedInputData {
    pub value: FieldVec,
}

/// Amphora's `MaskedInput`: the masked values m = x − r of an upload whose input masks were
/// asked for with `requestId` = `secretId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmphoraMaskedInput {
    #[serde(rename = "secretId")]
    pub secret_id: Uuid,
    pub data: Vec<MaskedInputData>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

/// Amphora's `Metadata`: a secret's id and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(rename = "secretId")]
    pub secret_id: Uuid,
    pub tags: Vec<Tag>,
}

/// Amphora's `MetadataPage` (Java `int` number, size and totalPages; `long` totalElements).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataPage {
    pub content: Vec<Metadata>,
    pub number: i32,
    pub size: i32,
    #[serde(rename = "totalElements")]
    pub total_elements: i64,
    #[serde(rename = "totalPages")]
    pub total_pages: i32,
}

/// Query of `GET {amphora}/secret-shares`, as Amphora names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MetadataQuery {
    /// Criteria joined with commas, all of which must hold: `key:value`, `key>n`, `key<n`; the
    /// original client URL-encodes each key and value (`URLEncoder`), so they are decoded once
    /// more after the query string.
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, rename = "pageNumber")]
    pub page_number: Option<i64>,
    #[serde(default, rename = "pageSize")]
    pub page_size: Option<i64>,
    /// A tag key to sort by.
    #[serde(default)]
    pub sort: Option<String>,
    /// `ASC` (default) or `DESC`.
    #[serde(default)]
    pub dir: Option<String>,
}

/// Query of `GET {amphora}/input-masks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InputMaskQuery {
    /// The upload's id; the original client uses the new secret's id.
    #[serde(rename = "requestId")]
    pub request_id: Uuid,
    pub count: i64,
}

/// Query of `GET {amphora}/secret-shares/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DownloadQuery {
    #[serde(rename = "requestId")]
    pub request_id: Uuid,
}

/// The original's activation: `{amphoraParams, secretParams, gameId | gameID, code, output}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarbyneActivation {
    #[serde(default, rename = "amphoraParams")]
    pub amphora_params: Vec<Uuid>,
    /// Raw shares (deprecated in the original). Refused: a raw share cannot be verified.
    #[serde(default, rename = "secretParams")]
    pub secret_params: Vec<String>,
    /// The Java client writes `gameId`; Go's JSON is case-insensitive, so both work there.
    #[serde(default, rename = "gameID", alias = "gameId", alias = "gameid")]
    pub game_id: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub output: Option<CarbyneOutput>,
}

/// `{"type": "PLAINTEXT" | "SECRETSHARE" | "AMPHORASECRET"}` (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarbyneOutput {
    #[serde(rename = "type")]
    pub kind: OutputKind,
}

/// Query of the activation route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompileQuery {
    /// `true` or `false` (as Go's `strconv.ParseBool`). Programs are always compiled here (the
    /// result is cached by hash), so the value changes nothing.
    #[serde(default)]
    pub compile: Option<String>,
}

/// Query of `GET {castor}/intra-vcp/telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TelemetryQuery {
    /// Seconds, at least 1.
    #[serde(default)]
    pub interval: Option<i64>,
}

/// Castor's `TelemetryData`: one metric per tuple type, and the window in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetryData {
    pub metrics: Vec<TupleMetric>,
    /// The window the consumption rates were measured over, in milliseconds.
    pub interval: i64,
}

/// Castor's `TupleMetric`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TupleMetric {
    pub available: i64,
    /// Tuples per second, rounded.
    #[serde(rename = "consumptionRate")]
    pub consumption_rate: i64,
    /// Castor's `TupleType` name, e.g. `MULTIPLICATION_TRIPLE_GFP`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Castor's tuple types in its order, with our kind label (`None`: not produced here).
pub const CASTOR_TUPLE_TYPES: [(&str, Option<&str>); 10] = [
    ("BIT_GFP", Some("bit")),
    ("BIT_GF2N", None),
    ("INPUT_MASK_GFP", Some("input_mask")),
    ("INPUT_MASK_GF2N", None),
    ("INVERSE_TUPLE_GFP", Some("inverse")),
    ("INVERSE_TUPLE_GF2N", None),
    ("SQUARE_TUPLE_GFP", Some("square")),
    ("SQUARE_TUPLE_GF2N", None),
    ("MULTIPLICATION_TRIPLE_GFP", Some("triple")),
    ("MULTIPLICATION_TRIPLE_GF2N", None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_java_clients_bodies_parse() {
        let a: CarbyneActivation = serde_json::from_str(
            r#"{"amphoraParams":["7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d"],"secretParams":[],"gameId":"g","code":"x","output":{"type":"AMPHORASECRET"}}"#,
        )
        .unwrap();
        assert_eq!(a.game_id.as_deref(), Some("g"));
        assert_eq!(a.output.unwrap().kind, OutputKind::AmphoraSecret);
        let a: CarbyneActivation = serde_json::from_str(r#"{"gameID":"h"}"#).unwrap();
        assert_eq!(a.game_id.as_deref(), Some("h"));
        let m: AmphoraMaskedInput = serde_json::from_str(
            r#"{"secretId":"7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d","data":[{"value":"AAAAAAAAAAAAAAAAAAAAAA=="}],"tags":[{"key":"k","value":"v","valueType":"STRING"}]}"#,
        )
        .unwrap();
        assert_eq!(m.data[0].value.len(), 1);
        assert_eq!(m.tags.unwrap()[0], Tag::string("k", "v"));
    }

    #[test]
    fn responses_have_exactly_the_originals_fields() {
        let fv = FieldVec::from_elements(&[field::Fp::from_u64(1)]);
        let d = AmphoraDelivery {
            secret_shares: fv.clone(),
            r_shares: fv.clone(),
            v_shares: fv.clone(),
            w_shares: fv.clone(),
            u_shares: fv,
        };
        let v = serde_json::to_value(&d).unwrap();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["rShares", "secretShares", "uShares", "vShares", "wShares"]
        );
        let vss = VerifiableSecretShare {
            secret_id: Uuid::nil(),
            tags: vec![],
            delivery: d,
        };
        let v = serde_json::to_value(&vss).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 7);
        let t = TelemetryData {
            metrics: vec![TupleMetric {
                available: 1,
                consumption_rate: 0,
                kind: "BIT_GFP".into(),
            }],
            interval: 60000,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"metrics":[{"available":1,"consumptionRate":0,"type":"BIT_GFP"}],"interval":60000}"#
        );
    }
}
