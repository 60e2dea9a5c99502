//! Secrets: upload by the input-mask protocol, verified download, metadata, tags.
//!
//! **Upload** (three steps, the same request on every party):
//! 1. `POST /v1/input-masks` [`MaskRequest`] → [`OutputDelivery`]: this party's shares of `count`
//!    fresh random masks r (in `s`) and the verification values of the output-delivery protocol.
//! 2. The client sums all parties' deliveries, checks them ([`OutputDelivery`]), and computes
//!    m = x − r.
//! 3. `POST /v1/secrets` [`MaskedInput`] with the same `request_id` → [`SecretCreated`]. The parties
//!    check that they all received the same (secret id, m, tags) before the secret exists.
//!
//! **Use policy and audit** (owner only): `PUT`/`GET`/`DELETE /v1/secrets/{id}/policy`
//! ([`UsePolicy`], [`PolicyInfo`]) and `GET /v1/secrets/{id}/audit` ([`AuditPage`]).
//!
//! **Download:** `POST /v1/secrets/{id}/download` [`DownloadRequest`] → [`OutputDelivery`] with the
//! secret's values in `s`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::encoding::FieldVec;
use crate::games::OutputKind;

/// The type of a tag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TagType {
    String,
    Long,
}

/// A tag, as Amphora writes it: `{"key", "value", "valueType"}`. Keys match `[-.\w]+` (at most 128
/// characters), values have at most 256 characters; LONG values are decimal i64. The keys `owner`
/// and `creation-date` are set by the node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
    #[serde(default = "default_tag_type")]
    pub value_type: TagType,
}

fn default_tag_type() -> TagType {
    TagType::String
}

impl Tag {
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
            value_type: TagType::String,
        }
    }

    pub fn long(key: impl Into<String>, value: i64) -> Tag {
        Tag {
            key: key.into(),
            value: value.to_string(),
            value_type: TagType::Long,
        }
    }
}

/// The legacy way to let other users use a secret: a tag whose value lists program hashes
/// (comma-separated, hex). Amphora calls the same idea `authorizedPrograms`. It holds at most
/// three hashes (values have at most 256 characters) and acts as a [`UsePolicy`] with those
/// programs, every output mode and no use limit. A secret with a use policy ignores the tag;
/// prefer the policy (`PUT /v1/secrets/{id}/policy`).
pub const AUTHORIZED_PROGRAMS_TAG: &str = "authorizedPrograms";

/// Who besides its owner may use a secret as a game input (`PUT /v1/secrets/{id}/policy`, owner
/// only). Another user's game may take the secret if its program hash is listed, its output mode
/// is allowed, and the secret has been used fewer than `max_uses` times by other users. The owner
/// may always use it. Every party enforces it; set the same policy on every party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsePolicy {
    /// Program hashes (64 hex characters, BLAKE3; the `program_hash` of a game result or of a
    /// deployed function). Empty: only the owner may use the secret.
    #[serde(default)]
    pub programs: Vec<String>,
    /// The output modes other users' games may have. Omitted: all three.
    #[serde(default = "all_output_kinds")]
    pub outputs: Vec<OutputKind>,
    /// The most uses by other users over the secret's life (counted when the parties agree on a
    /// game, before it runs). Omitted: no limit. Setting a policy does not reset the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u64>,
}

fn all_output_kinds() -> Vec<OutputKind> {
    vec![
        OutputKind::Plaintext,
        OutputKind::SecretShare,
        OutputKind::AmphoraSecret,
    ]
}

impl UsePolicy {
    /// A policy for these programs, every output mode, no limit.
    pub fn programs(programs: impl IntoIterator<Item = impl Into<String>>) -> UsePolicy {
        UsePolicy {
            programs: programs.into_iter().map(Into::into).collect(),
            outputs: all_output_kinds(),
            max_uses: None,
        }
    }
}

/// Where a secret's rule for other users comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicySource {
    /// A use policy set with `PUT /v1/secrets/{id}/policy`.
    Policy,
    /// The legacy `authorizedPrograms` tag (no policy is set).
    AuthorizedProgramsTag,
    /// Neither: only the owner may use the secret.
    None,
}

/// A secret's use policy as the owner sees it (`GET /v1/secrets/{id}/policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyInfo {
    pub secret_id: Uuid,
    pub source: PolicySource,
    /// The rule in force: the set policy, or the one the legacy tag amounts to; absent when only
    /// the owner may use the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<UsePolicy>,
    /// How many times other users have used the secret so far on this party.
    pub uses: u64,
}

/// One use of a secret as a game input, as every party records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// When the parties agreed on the game, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The user who ran the game.
    pub user: String,
    pub game_id: String,
    pub program_hash: String,
    pub output: OutputKind,
}

/// One page of a secret's audit record, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub number: u64,
    pub size: u64,
    pub total_items: u64,
    pub total_pages: u64,
}

/// Query of `GET /v1/secrets/{id}/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams, ToSchema)]
pub struct PageParams {
    /// Page number from 0; omit both `page` and `size` for everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

/// Step 1 of an upload: ask for `count` input masks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskRequest {
    /// Names this upload on every party; choose a fresh random UUID.
    pub request_id: Uuid,
    /// How many values the secret will hold (at least 1).
    pub count: u64,
}

/// One party's part of the output-delivery protocol (Damgård, Damgård, Nielsen, Nordholt, Toft,
/// ePrint 2015/1006): for each delivered value s, this party's additive shares (values only,
/// never MACs) of s, of random r and v, and of w = s·r and u = v·r. The client adds the shares of
/// all parties and checks **w = s·r and u = v·r** for every element; a party that changes its share
/// of s (or of r) would have to change w by an amount that depends on values it does not know, so
/// any tampering fails the check except with probability about 2/p.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutputDelivery {
    pub request_id: Uuid,
    /// The party that produced these shares.
    pub party: usize,
    pub s: FieldVec,
    pub r: FieldVec,
    pub v: FieldVec,
    pub w: FieldVec,
    pub u: FieldVec,
}

/// Step 3 of an upload: the masked values m = x − r.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskedInput {
    /// The `request_id` of the [`MaskRequest`] whose masks were used.
    pub request_id: Uuid,
    /// The new secret's id, the same on every party; choose a fresh random UUID.
    pub secret_id: Uuid,
    /// x − r, one element per value.
    pub masked: FieldVec,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The answer to a successful upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretCreated {
    pub id: Uuid,
}

/// Ask for a verified download of a secret's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    /// Names this download on every party; choose a fresh random UUID.
    pub request_id: Uuid,
}

/// A secret's metadata (never its shares).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretInfo {
    pub id: Uuid,
    pub owner: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Number of values.
    pub len: u64,
    /// All tags, the reserved `owner` and `creation-date` first.
    pub tags: Vec<Tag>,
}

/// One page of a secret listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretPage {
    pub items: Vec<SecretInfo>,
    pub number: u64,
    pub size: u64,
    pub total_items: u64,
    pub total_pages: u64,
}

/// Query of `GET /v1/secrets`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams, ToSchema)]
pub struct ListParams {
    /// Tag filters joined with commas, all of which must hold: `key:value` (equal), `key>n`,
    /// `key<n` (LONG tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Page number from 0; omit both `page` and `size` for everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A misspelled field is an error, not silently ignored (native request bodies).
    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let ok: Tag =
            serde_json::from_str(r#"{"key":"k","value":"1","valueType":"LONG"}"#).unwrap();
        assert_eq!(ok.value_type, TagType::Long);
        let e = serde_json::from_str::<Tag>(r#"{"key":"k","value":"1","value_type":"LONG"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("value_type"), "{e}");
        assert!(serde_json::from_str::<MaskRequest>(
            r#"{"request_id":"7f0c1a36-6f3c-4f55-9a43-1a1f0d3f7e11","count":1,"cout":2}"#
        )
        .is_err());
    }

    #[test]
    fn policy_bodies_default_to_every_output_and_no_limit() {
        let p: UsePolicy = serde_json::from_str(r#"{"programs": ["ab"]}"#).unwrap();
        assert_eq!(p, UsePolicy::programs(["ab"]));
        assert_eq!(p.outputs.len(), 3);
        assert_eq!(p.max_uses, None);
        let p: UsePolicy =
            serde_json::from_str(r#"{"outputs": ["plaintext", "SECRET_SHARE"], "max_uses": 3}"#)
                .unwrap();
        assert!(p.programs.is_empty());
        assert_eq!(p.outputs, [OutputKind::Plaintext, OutputKind::SecretShare]);
        assert_eq!(p.max_uses, Some(3));
        let e = serde_json::from_str::<UsePolicy>(r#"{"outputs": ["EMAIL"]}"#).unwrap_err();
        assert!(e.to_string().contains("PLAINTEXT"), "{e}");
        assert!(serde_json::from_str::<UsePolicy>(r#"{"max_uses": -1}"#).is_err());
        let info = PolicyInfo {
            secret_id: Uuid::nil(),
            source: PolicySource::AuthorizedProgramsTag,
            policy: None,
            uses: 0,
        };
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(v["source"], "AUTHORIZED_PROGRAMS_TAG");
        assert!(v.get("policy").is_none());
    }
}
