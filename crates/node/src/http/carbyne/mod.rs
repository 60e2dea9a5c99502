//! Carbyne Stack compatible routes: the original's Java clients (`AmphoraClient`,
//! `EphemeralClient`, the Castor client) and its `cs` CLI talk to this node unchanged.
//!
//! - [`amphora`]: upload by input masks (`GET {amphora}/input-masks`, `POST …/masked-inputs`),
//!   verified download (`GET …/secret-shares/{id}?requestId=`), listing with Amphora's filter,
//!   paging and sort parameters, deletion and tags (also at the Java client's `…/{id}//tags`).
//! - [`castor`]: `GET {castor}/intra-vcp/telemetry`.
//! - [`activation`]: the original's activation body at `POST {activation_path}` (`?compile=`).
//!
//! Prefixes come from `[carbyne]` ([`crate::config::CarbyneConfig`]; defaults `/amphora`,
//! `/castor`, `/`). The routes call the same node services as the native API, behind the same
//! bearer-token layer, and run the same verified protocols: nothing here trusts a client more
//! than `/v1` does. Where the original is laxer (raw `secretParams`, reading other users'
//! secrets through OPA policies), these routes are as strict as ours; `docs/CARBYNE.md` lists
//! the differences.
//!
//! **Answers** have exactly the original's fields ([`api::carbyne`]): its clients parse with a
//! Jackson `ObjectMapper` that fails on unknown properties. Error answers are the node's JSON
//! [`api::ApiError`] with the original's status codes; the original clients read any non-2xx
//! body as a raw string and show it as their error message.

pub(super) mod activation;
pub(super) mod amphora;
pub(super) mod castor;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::config::CarbyneConfig;
use crate::Node;

/// The compatible routes at the configured prefixes (none when `enabled = false`). They are
/// merged into the protected routes, so the bearer-token layer covers every one.
pub(super) fn routes(cfg: &CarbyneConfig) -> Router<Arc<Node>> {
    use api::carbyne::{amphora as a, castor as c};
    if !cfg.enabled {
        return Router::new();
    }
    let am = |p: &str| format!("{}{p}", cfg.amphora_prefix);
    let tags = || {
        get(amphora::get_tags)
            .post(amphora::add_tag)
            .put(amphora::replace_tags)
    };
    let tag = || {
        get(amphora::get_tag)
            .put(amphora::put_tag)
            .delete(amphora::delete_tag)
    };
    Router::new()
        .route(&am(a::INPUT_MASKS), get(amphora::input_masks))
        .route(&am(a::MASKED_INPUTS), post(amphora::masked_inputs))
        .route(&am(a::SECRET_SHARES), get(amphora::list))
        .route(
            &am(a::SECRET_SHARE),
            get(amphora::download).delete(amphora::delete),
        )
        .route(&am(a::TAGS), tags())
        .route(&am(a::TAGS_DOUBLE_SLASH), tags())
        .route(&am(a::TAG), tag())
        .route(&am(a::TAG_DOUBLE_SLASH), tag())
        .route(
            &format!("{}{}", cfg.castor_prefix, c::TELEMETRY),
            get(castor::telemetry),
        )
        .route(&cfg.activation_path, post(activation::activate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_custom_prefixes_build_a_router() {
        let _ = routes(&CarbyneConfig::default());
        let custom = CarbyneConfig {
            enabled: true,
            amphora_prefix: String::new(),
            castor_prefix: "/c/x".into(),
            activation_path: "/ephemeral".into(),
        };
        let _ = routes(&custom);
        let off = CarbyneConfig {
            enabled: false,
            ..CarbyneConfig::default()
        };
        let _ = routes(&off);
    }
}
