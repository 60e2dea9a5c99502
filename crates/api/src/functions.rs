//! Deployed functions: named, versioned programs registered on every party.
//!
//! `PUT /v1/functions/{name}` [`DeployFunction`] → [`FunctionInfo`] (a new version, or the latest
//! one unchanged if the code and arguments are the same); `GET /v1/functions` → [`FunctionList`];
//! `GET /v1/functions/{name}` → [`FunctionList`] of its versions; `DELETE /v1/functions/{name}`.
//! Names match `[A-Za-z0-9_.-]{1,128}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A program to register under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployFunction {
    pub code: String,
    /// Compile-time arguments fixed for this function.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// One version of a deployed function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FunctionInfo {
    pub name: String,
    /// 1, 2, … per name.
    pub version: u32,
    /// BLAKE3 of the compiled program, hex: what secrets' `authorizedPrograms` tags name.
    pub program_hash: String,
    pub owner: String,
    pub created_at_ms: u64,
    /// Preprocessing the program needs when known at compile time, e.g. `{"triples": 3}`.
    #[serde(default)]
    pub requires: std::collections::BTreeMap<String, u64>,
}

/// A list of function versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FunctionList {
    pub items: Vec<FunctionInfo>,
}
