//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! `api` crate's schemas.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::carbyne::{activation, amphora, castor};
use super::{functions, games, ops, secrets};

/// Adds the `bearer` security scheme the protected paths name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token configured for the client in the party's [[clients]]",
                    ))
                    .build(),
            ),
        );
    }
}

/// Lists the tag routes again at the double slash the original Amphora Java client writes
/// (`…/{id}//tags`), which the node serves too.
struct DoubleSlashTags;

impl Modify for DoubleSlashTags {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (single, double) in [
            (
                "/amphora/secret-shares/{id}/tags",
                "/amphora/secret-shares/{id}//tags",
            ),
            (
                "/amphora/secret-shares/{id}/tags/{key}",
                "/amphora/secret-shares/{id}//tags/{key}",
            ),
        ] {
            if let Some(mut item) = doc.paths.paths.get(single).cloned() {
                item.summary = Some("Compatibility (Amphora): the tag route as the original Java client writes it, with a double slash".into());
                doc.paths.paths.insert(double.to_string(), item);
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ephemeral party node",
        description = "One party of an Ephemeral virtual cloud: secrets (input-mask upload, verified download, tags), deployed functions, games (MPC executions) and tuple telemetry. Send each request to every party. Errors are JSON `ApiError` bodies. Routes tagged `carbyne-*` are compatibility routes for Carbyne Stack's clients, shown at their default prefixes (`[carbyne]` in the node config moves them)."
    ),
    paths(
        secrets::input_masks,
        secrets::create_secret,
        secrets::list_secrets,
        secrets::get_secret,
        secrets::delete_secret,
        secrets::download_secret,
        secrets::get_tags,
        secrets::replace_tags,
        secrets::add_tag,
        secrets::get_tag,
        secrets::put_tag,
        secrets::delete_tag,
        secrets::get_policy,
        secrets::put_policy,
        secrets::delete_policy,
        secrets::get_audit,
        functions::deploy_function,
        functions::list_functions,
        functions::function_versions,
        functions::delete_function,
        games::execute,
        games::game_summary,
        activation::activate,
        amphora::input_masks,
        amphora::masked_inputs,
        amphora::list,
        amphora::download,
        amphora::delete,
        amphora::get_tags,
        amphora::add_tag,
        amphora::replace_tags,
        amphora::get_tag,
        amphora::put_tag,
        amphora::delete_tag,
        castor::telemetry,
        ops::tuples,
        ops::rekey,
        ops::health,
        ops::metrics,
        ops::openapi,
    ),
    components(schemas(
        api::ApiError,
        api::ErrorCode,
        api::FieldVec,
        api::Tag,
        api::TagType,
        api::MaskRequest,
        api::MaskedInput,
        api::OutputDelivery,
        api::SecretCreated,
        api::DownloadRequest,
        api::SecretInfo,
        api::SecretPage,
        api::secrets::ListParams,
        api::UsePolicy,
        api::PolicyInfo,
        api::PolicySource,
        api::AuditEntry,
        api::AuditPage,
        api::secrets::PageParams,
        api::DeployFunction,
        api::FunctionInfo,
        api::FunctionList,
        api::Activation,
        api::OutputSpec,
        api::OutputKind,
        api::GameOutput,
        api::GameResult,
        api::GameStats,
        api::GameStatus,
        api::GameSummary,
        api::PrepProgress,
        api::CarbyneResult,
        api::Health,
        api::PeerHealth,
        api::TupleKindStats,
        api::GenerationHaltInfo,
        api::RekeyRequest,
        api::RekeyResult,
        api::TupleStatsResponse,
        api::carbyne::AmphoraDelivery,
        api::carbyne::VerifiableSecretShare,
        api::carbyne::MaskedInputData,
        api::carbyne::AmphoraMaskedInput,
        api::carbyne::Metadata,
        api::carbyne::MetadataPage,
        api::carbyne::CarbyneActivation,
        api::carbyne::CarbyneOutput,
        api::carbyne::TelemetryData,
        api::carbyne::TupleMetric,
    )),
    modifiers(&BearerAuth, &DoubleSlashTags),
    tags(
        (name = "secrets", description = "Upload, download and metadata of secrets"),
        (name = "tags", description = "Tags of secrets"),
        (name = "policy", description = "Use policies and audit records of secrets (owner only)"),
        (name = "functions", description = "Deployed functions"),
        (name = "games", description = "Function execution"),
        (name = "ops", description = "Health, metrics, tuples and this document"),
        (name = "carbyne-amphora", description = "Compatibility: Carbyne Stack's Amphora API for its Java client and CLI, under `[carbyne] amphora_prefix` (default /amphora; docs/CARBYNE.md)"),
        (name = "carbyne-castor", description = "Compatibility: Carbyne Stack's Castor telemetry, under `[carbyne] castor_prefix` (default /castor; docs/CARBYNE.md)"),
        (name = "carbyne-ephemeral", description = "Compatibility: Carbyne Stack's Ephemeral activation, at `[carbyne] activation_path` (default /; docs/CARBYNE.md)"),
    )
)]
struct ApiDoc;

/// The OpenAPI document as JSON (built once).
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi().to_json().unwrap_or_else(|e| {
            format!("{{\"error\":\"the OpenAPI document could not be encoded: {e}\"}}")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_parses_and_lists_every_path() {
        let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            api::paths::INPUT_MASKS,
            api::paths::SECRETS,
            api::paths::SECRET,
            api::paths::SECRET_DOWNLOAD,
            api::paths::SECRET_TAGS,
            api::paths::SECRET_TAG,
            api::paths::SECRET_POLICY,
            api::paths::SECRET_AUDIT,
            api::paths::FUNCTIONS,
            api::paths::FUNCTION,
            api::paths::GAMES,
            api::paths::GAME,
            api::paths::TUPLES,
            api::paths::HEALTH,
            api::paths::OPENAPI,
            api::paths::METRICS,
        ] {
            assert!(
                paths.contains_key(p),
                "{p} missing from the OpenAPI document"
            );
        }
        // Every compatibility route, at the default prefixes, tagged as compatibility.
        for (_, p) in crate::config::CarbyneConfig::default().paths() {
            let item = paths
                .get(&p)
                .unwrap_or_else(|| panic!("{p} missing from the OpenAPI document"));
            for (_, op) in item.as_object().unwrap() {
                let Some(tags) = op.get("tags") else { continue };
                assert!(
                    tags[0].as_str().unwrap().starts_with("carbyne-"),
                    "{p}: {tags}"
                );
                assert!(op["security"].is_array(), "{p}");
            }
        }
        assert!(paths["/amphora/secret-shares/{id}//tags"]["post"].is_object());
        assert!(paths.contains_key(api::paths::CARBYNE_ACTIVATION));
        assert!(paths["/v1/games"]["post"]["requestBody"].is_object());
        assert!(doc["components"]["schemas"]["Activation"].is_object());
        assert!(doc["components"]["schemas"]["UsePolicy"].is_object());
        assert!(paths["/v1/secrets/{id}/policy"]["put"]["requestBody"].is_object());
        assert!(paths["/v1/secrets/{id}/audit"]["get"]["security"].is_array());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(paths["/v1/secrets"]["get"]["security"].is_array());
        assert!(paths["/v1/health"]["get"].get("security").is_none());
    }
}
