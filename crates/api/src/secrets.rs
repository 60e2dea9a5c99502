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
//! **Download:** `POST /v1/secrets/{id}/download` [`DownloadRequest`] → [`OutputDelivery`] with the
//! secret's values in `s`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::encoding::FieldVec;

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

/// The tag whose value lists the program hashes (comma-separated, hex) allowed to use a secret as
/// input besides its owner. Amphora calls the same idea `authorizedPrograms`.
pub const AUTHORIZED_PROGRAMS_TAG: &str = "authorizedPrograms";

/// Step 1 of an upload: ask for `count` input masks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
