//! The request paths, so that the node's router and the client build the same URLs.

/// `POST`: ask for input masks ([`crate::MaskRequest`] → [`crate::OutputDelivery`]).
pub const INPUT_MASKS: &str = "/v1/input-masks";
/// `POST`: store a secret ([`crate::MaskedInput`] → [`crate::SecretCreated`]);
/// `GET`: list secrets (query [`crate::secrets::ListParams`] → [`crate::SecretPage`]).
pub const SECRETS: &str = "/v1/secrets";
/// `GET` metadata ([`crate::SecretInfo`]), `DELETE`.
pub const SECRET: &str = "/v1/secrets/{id}";
/// `POST`: verified download ([`crate::DownloadRequest`] → [`crate::OutputDelivery`]).
pub const SECRET_DOWNLOAD: &str = "/v1/secrets/{id}/download";
/// `GET` all tags, `PUT` replace all user tags, `POST` add one tag.
pub const SECRET_TAGS: &str = "/v1/secrets/{id}/tags";
/// `GET`, `PUT` (body: [`crate::Tag`]), `DELETE` one tag.
pub const SECRET_TAG: &str = "/v1/secrets/{id}/tags/{key}";
/// `PUT` set ([`crate::UsePolicy`] → [`crate::PolicyInfo`]), `GET` ([`crate::PolicyInfo`]),
/// `DELETE` a secret's use policy (owner only).
pub const SECRET_POLICY: &str = "/v1/secrets/{id}/policy";
/// `GET`: a secret's audit record (query [`crate::secrets::PageParams`] →
/// [`crate::AuditPage`]; owner only).
pub const SECRET_AUDIT: &str = "/v1/secrets/{id}/audit";
/// `GET`: list deployed functions.
pub const FUNCTIONS: &str = "/v1/functions";
/// `PUT` deploy ([`crate::DeployFunction`]), `GET` versions, `DELETE`.
pub const FUNCTION: &str = "/v1/functions/{name}";
/// `POST`: run a game ([`crate::Activation`] → [`crate::GameResult`]).
pub const GAMES: &str = "/v1/games";
/// `GET`: a game's status ([`crate::GameSummary`]).
pub const GAME: &str = "/v1/games/{id}";
/// `GET`: tuple telemetry ([`crate::TupleStatsResponse`]).
pub const TUPLES: &str = "/v1/tuples";
/// `POST`: move every party to a fresh MAC key ([`crate::RekeyRequest`] →
/// [`crate::RekeyResult`]); operators only.
pub const ADMIN_REKEY: &str = "/v1/admin/rekey";
/// `GET`: health ([`crate::Health`]), no authentication.
pub const HEALTH: &str = "/v1/health";
/// `GET`: the OpenAPI document, no authentication.
pub const OPENAPI: &str = "/openapi.json";
/// `GET`: Prometheus metrics, no authentication.
pub const METRICS: &str = "/metrics";
/// `POST`: the original's activation endpoint ([`crate::Activation`] → [`crate::CarbyneResult`]).
pub const CARBYNE_ACTIVATION: &str = "/";

/// Fills `{name}` placeholders in a path template.
pub fn fill(template: &str, params: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in params {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}
