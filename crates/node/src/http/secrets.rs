//! Secrets: upload (input masks, masked values), verified download, metadata and tags.
//!
//! **Access rule:** a secret's metadata and tags can be read, changed and deleted by its owner
//! only (403 for anyone else); a listing shows only the caller's secrets. The same holds for a
//! secret's use policy and audit record ([`crate::policy`]).

use std::sync::Arc;

use api::secrets::{ListParams, PageParams};
use api::{
    ApiError, AuditPage, DownloadRequest, ErrorCode, MaskRequest, MaskedInput, OutputDelivery,
    PolicyInfo, SecretCreated, SecretInfo, SecretPage, Tag, UsePolicy,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use store::secret::{validate_tag, OWNER_TAG};
use store::{ListQuery, PageRequest, SecretId, SecretMeta, SecretStore, TagFilter};
use uuid::Uuid;

use super::stream::JsonParts;
use super::{blocking, to_completion, Caller, HttpError, JsonBody, PathParam, QueryParam};
use crate::policy::{effective, to_api_entry, to_api_policy, to_store_policy};
use crate::secrets::{secret_error, to_api_tag, to_store_tag};
use crate::{Node, User};

/// Page size when only `page` is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

fn secret_id(id: Uuid) -> Result<SecretId, ApiError> {
    SecretId::from_uuid(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The metadata of a secret the caller owns: 404 if there is none, 403 if it is another user's.
fn owned(node: &Node, user: &User, id: Uuid) -> Result<SecretMeta, ApiError> {
    let sid = secret_id(id)?;
    let meta = match node.secrets.get_meta(sid) {
        Ok(m) => m,
        // Created by a joint commit whose outcome this party does not know yet.
        Err(store::SecretError::UnknownSecret { .. })
            if matches!(node.secrets.pending_txn_of(sid), Ok(Some(_))) =>
        {
            return Err(ApiError::limited(
                ErrorCode::Unavailable,
                format!("secret {id} is being created on every party and this party does not know the outcome yet; retry in a few seconds"),
                2,
            ))
        }
        Err(e) => return Err(secret_error(e)),
    };
    if meta.owner != user.name {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "secret {id} belongs to another user; only its owner may read, tag or delete it"
            ),
        ));
    }
    Ok(meta)
}

fn info(meta: &SecretMeta) -> SecretInfo {
    SecretInfo {
        id: meta.id.uuid(),
        owner: meta.owner.clone(),
        created_at_ms: meta.created_at_ms,
        len: meta.len,
        tags: meta.all_tags().iter().map(to_api_tag).collect(),
    }
}

/// Memory budgeted per secret of a listing (its metadata and JSON: an item with its two
/// reserved tags and a few short ones takes about 300 bytes; 4 KiB leave room for a dozen long
/// tags).
pub const LIST_ITEM_BYTES: u64 = 4096;

/// Most secrets one listing answers (one page, or all when unpaged): what the transfer budget
/// (`limits.transfer_memory_mib`) holds at [`LIST_ITEM_BYTES`] each, at most the store's
/// largest page.
pub(crate) fn max_list_items(node: &Node) -> u64 {
    let l = node.limits.config();
    ((l.transfer_memory_mib.min(l.node_memory_mib) << 20) / LIST_ITEM_BYTES)
        .clamp(1, u64::from(store::secret::MAX_PAGE_SIZE))
}

/// Refuses (413) a listing of more than [`max_list_items`] secrets; for an unpaged listing
/// (`page` `None`), first counts the secrets `filters` match.
pub(crate) fn check_listing(
    node: &Node,
    filters: &[TagFilter],
    page: Option<u64>,
) -> Result<(), ApiError> {
    let max = max_list_items(node);
    let n = match page {
        Some(size) => size,
        None => {
            let count = ListQuery {
                filters: filters.to_vec(),
                page: Some(PageRequest { number: 0, size: 1 }),
                newest_first: false,
            };
            node.secrets.list(&count).map_err(secret_error)?.total_items
        }
    };
    if n <= max {
        return Ok(());
    }
    let what = match page {
        Some(_) => format!("a page of {n} secrets"),
        None => format!("{n} secrets match, more"),
    };
    Err(ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "{what} than this party lists in one answer ({max}, from limits.transfer_memory_mib); ask for pages of at most {max} (page and size)"
        ),
    ))
}

/// The store query of a listing: the caller's filters, the owner, and the page.
fn list_query(user: &User, q: &ListParams) -> Result<ListQuery, ApiError> {
    let mut filters = match &q.filter {
        Some(f) => TagFilter::parse_list(f).map_err(secret_error)?,
        None => Vec::new(),
    };
    filters.push(TagFilter::eq(OWNER_TAG, user.name.clone()));
    let page = match (q.page, q.size) {
        (None, None) => None,
        (number, size) => Some(PageRequest {
            number: number.unwrap_or(0),
            size: size.unwrap_or(DEFAULT_PAGE_SIZE),
        }),
    };
    Ok(ListQuery {
        filters,
        page,
        newest_first: false,
    })
}

#[utoipa::path(post, path = api::paths::INPUT_MASKS, tag = "secrets",
    request_body = MaskRequest,
    responses((status = 200, body = OutputDelivery), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Step 1 of an upload: this party's shares of fresh input masks, by output delivery.
pub(super) async fn input_masks(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    JsonBody(req): JsonBody<MaskRequest>,
) -> Result<JsonParts, HttpError> {
    let (r, memory) = to_completion(async move { node.input_masks_held(&user, req).await }).await?;
    Ok(JsonParts::delivery(r).holding(memory))
}

#[utoipa::path(post, path = api::paths::SECRETS, tag = "secrets",
    request_body = MaskedInput,
    responses((status = 200, body = SecretCreated), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Step 3 of an upload: the masked values; the secret exists once every party agrees on them.
pub(super) async fn create_secret(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    JsonBody(req): JsonBody<MaskedInput>,
) -> Result<Json<SecretCreated>, HttpError> {
    let r = to_completion(async move { node.create_secret(&user, req).await }).await?;
    Ok(Json(r))
}

#[utoipa::path(post, path = api::paths::SECRET_DOWNLOAD, tag = "secrets",
    params(("id" = Uuid, Path, description = "The secret's id")),
    request_body = DownloadRequest,
    responses((status = 200, body = OutputDelivery), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// Verified download of a secret's values (owner only).
pub(super) async fn download_secret(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    JsonBody(req): JsonBody<DownloadRequest>,
) -> Result<JsonParts, HttpError> {
    let (r, memory) =
        to_completion(async move { node.download_secret_held(&user, id, req).await }).await?;
    Ok(JsonParts::delivery(r).holding(memory))
}

#[utoipa::path(get, path = api::paths::SECRETS, tag = "secrets",
    params(
        ("filter" = Option<String>, Query, description = "Tag filters joined with commas: key:value, key=value, key>n, key<n"),
        ("page" = Option<u64>, Query, description = "Page number from 0"),
        ("size" = Option<u32>, Query, description = "Page size (default 100 when page is given)"),
    ),
    responses((status = 200, body = SecretPage), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// The caller's secrets, filtered by tags, oldest first, one page or all.
pub(super) async fn list_secrets(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    QueryParam(q): QueryParam<ListParams>,
) -> Result<Json<SecretPage>, HttpError> {
    let query = list_query(&user, &q)?;
    let page = blocking(&node, move |n| {
        check_listing(n, &query.filters, query.page.map(|p| u64::from(p.size)))?;
        n.secrets.list(&query).map_err(secret_error)
    })
    .await?;
    Ok(Json(SecretPage {
        items: page.items.iter().map(info).collect(),
        number: page.number,
        size: page.size,
        total_items: page.total_items,
        total_pages: page.total_pages,
    }))
}

#[utoipa::path(get, path = api::paths::SECRET, tag = "secrets",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 200, body = SecretInfo), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// A secret's metadata (never its shares).
pub(super) async fn get_secret(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<SecretInfo>, HttpError> {
    let meta = blocking(&node, move |n| owned(n, &user, id)).await?;
    Ok(Json(info(&meta)))
}

#[utoipa::path(delete, path = api::paths::SECRET, tag = "secrets",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 204, description = "Deleted on every party"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Deletes a secret on every party or on none: send it to every party, like an upload.
pub(super) async fn delete_secret(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode, HttpError> {
    to_completion(async move { node.delete_secret(&user, id).await }).await?;
    tracing::info!(secret = %id, "secret deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = api::paths::SECRET_TAGS, tag = "tags",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 200, body = Vec<Tag>), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// All tags, the reserved `owner` and `creation-date` first.
pub(super) async fn get_tags(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Vec<Tag>>, HttpError> {
    let meta = blocking(&node, move |n| owned(n, &user, id)).await?;
    Ok(Json(meta.all_tags().iter().map(to_api_tag).collect()))
}

#[utoipa::path(put, path = api::paths::SECRET_TAGS, tag = "tags",
    params(("id" = Uuid, Path, description = "The secret's id")),
    request_body = Vec<Tag>,
    responses((status = 204, description = "The user tags were replaced"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Replaces all user tags (the reserved ones stay).
pub(super) async fn replace_tags(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    JsonBody(tags): JsonBody<Vec<Tag>>,
) -> Result<StatusCode, HttpError> {
    replace_user_tags(&node, user, id, tags).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the user tags of a secret the caller owns (shared by `/v1` and Amphora).
pub(in crate::http) async fn replace_user_tags(
    node: &Arc<Node>,
    user: User,
    id: Uuid,
    tags: Vec<Tag>,
) -> Result<(), HttpError> {
    blocking(node, move |n| {
        let meta = owned(n, &user, id)?;
        let tags = tags.iter().map(to_store_tag).collect();
        n.secrets.replace_tags(meta.id, tags).map_err(secret_error)
    })
    .await
}

/// Sets one user tag of a secret the caller owns (shared by `/v1` and Amphora).
pub(in crate::http) async fn set_user_tag(
    node: &Arc<Node>,
    user: User,
    id: Uuid,
    tag: Tag,
) -> Result<(), HttpError> {
    blocking(node, move |n| {
        let meta = owned(n, &user, id)?;
        n.secrets
            .set_tag(meta.id, to_store_tag(&tag))
            .map(drop)
            .map_err(secret_error)
    })
    .await
}

/// Deletes one user tag of a secret the caller owns (shared by `/v1` and Amphora).
pub(in crate::http) async fn delete_user_tag(
    node: &Arc<Node>,
    user: User,
    id: Uuid,
    key: String,
) -> Result<(), HttpError> {
    blocking(node, move |n| {
        let meta = owned(n, &user, id)?;
        n.secrets
            .delete_tag(meta.id, &key)
            .map(drop)
            .map_err(secret_error)
    })
    .await
}

#[utoipa::path(post, path = api::paths::SECRET_TAGS, tag = "tags",
    params(("id" = Uuid, Path, description = "The secret's id")),
    request_body = Tag,
    responses((status = 201, description = "The tag was added"), (status = 409, description = "The secret has a tag with this key", body = ApiError), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Adds a tag; 409 if the key exists (change it with `PUT …/tags/{key}`).
pub(super) async fn add_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    JsonBody(tag): JsonBody<Tag>,
) -> Result<StatusCode, HttpError> {
    blocking(&node, move |n| {
        let meta = owned(n, &user, id)?;
        // Invalid and reserved keys are 400 before the existence check.
        let tag = validate_tag(&to_store_tag(&tag)).map_err(secret_error)?;
        if meta.tag(&tag.key).is_some() {
            let path = api::paths::fill(
                api::paths::SECRET_TAG,
                &[("id", &id.to_string()), ("key", &tag.key)],
            );
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "secret {id} already has a tag {:?}; change it with PUT {path}",
                    tag.key
                ),
            ));
        }
        n.secrets
            .set_tag(meta.id, tag)
            .map(drop)
            .map_err(secret_error)
    })
    .await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(get, path = api::paths::SECRET_TAG, tag = "tags",
    params(("id" = Uuid, Path, description = "The secret's id"), ("key" = String, Path, description = "The tag's key")),
    responses((status = 200, body = Tag), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// One tag, reserved or user.
pub(super) async fn get_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam((id, key)): PathParam<(Uuid, String)>,
) -> Result<Json<Tag>, HttpError> {
    let meta = blocking(&node, move |n| owned(n, &user, id)).await?;
    match meta.tag(&key) {
        Some(t) => Ok(Json(to_api_tag(&t))),
        None => Err(HttpError(ApiError::not_found(format!(
            "secret {id} has no tag {key:?}"
        )))),
    }
}

#[utoipa::path(put, path = api::paths::SECRET_TAG, tag = "tags",
    params(("id" = Uuid, Path, description = "The secret's id"), ("key" = String, Path, description = "The tag's key")),
    request_body = Tag,
    responses((status = 204, description = "The tag was set"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Adds or replaces one user tag; the body's key must be the path's.
pub(super) async fn put_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam((id, key)): PathParam<(Uuid, String)>,
    JsonBody(tag): JsonBody<Tag>,
) -> Result<StatusCode, HttpError> {
    if tag.key != key {
        return Err(HttpError(ApiError::bad_request(format!(
            "the body's key {:?} differs from the path's {key:?}",
            tag.key
        ))));
    }
    set_user_tag(&node, user, id, tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = api::paths::SECRET_TAG, tag = "tags",
    params(("id" = Uuid, Path, description = "The secret's id"), ("key" = String, Path, description = "The tag's key")),
    responses((status = 204, description = "The tag was deleted"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Deletes one user tag.
pub(super) async fn delete_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam((id, key)): PathParam<(Uuid, String)>,
) -> Result<StatusCode, HttpError> {
    delete_user_tag(&node, user, id, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The policy in force for a secret the caller owns, with its use count.
fn policy_info(node: &Node, meta: &SecretMeta) -> Result<PolicyInfo, ApiError> {
    let stored = node.secrets.get_policy(meta.id).map_err(secret_error)?;
    let uses = node.secrets.use_count(meta.id).map_err(secret_error)?;
    let (source, policy) = effective(meta, stored);
    Ok(PolicyInfo {
        secret_id: meta.id.uuid(),
        source,
        policy: policy.as_ref().map(to_api_policy),
        uses,
    })
}

#[utoipa::path(get, path = api::paths::SECRET_POLICY, tag = "policy",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 200, body = PolicyInfo), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// The rule in force for other users (the use policy, or the legacy `authorizedPrograms` tag)
/// and the uses by other users so far (owner only).
pub(super) async fn get_policy(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<PolicyInfo>, HttpError> {
    let info = blocking(&node, move |n| {
        let meta = owned(n, &user, id)?;
        policy_info(n, &meta)
    })
    .await?;
    Ok(Json(info))
}

#[utoipa::path(put, path = api::paths::SECRET_POLICY, tag = "policy",
    params(("id" = Uuid, Path, description = "The secret's id")),
    request_body = UsePolicy,
    responses((status = 200, body = PolicyInfo), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Sets (replaces) the use policy (owner only); it replaces the `authorizedPrograms` tag as the
/// rule. The use count is kept. Send it to every party.
pub(super) async fn put_policy(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    JsonBody(policy): JsonBody<UsePolicy>,
) -> Result<Json<PolicyInfo>, HttpError> {
    let info = blocking(&node, move |n| {
        let meta = owned(n, &user, id)?;
        n.secrets
            .set_policy(meta.id, to_store_policy(&policy))
            .map_err(secret_error)?;
        policy_info(n, &meta)
    })
    .await?;
    tracing::info!(secret = %id, "use policy set");
    Ok(Json(info))
}

#[utoipa::path(delete, path = api::paths::SECRET_POLICY, tag = "policy",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 204, description = "The secret has no use policy now"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Removes the use policy (owner only; 204 also if it had none). The use count and the audit
/// record stay; the `authorizedPrograms` tag, if any, is the rule again.
pub(super) async fn delete_policy(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode, HttpError> {
    blocking(&node, move |n| {
        let meta = owned(n, &user, id)?;
        n.secrets
            .clear_policy(meta.id)
            .map(drop)
            .map_err(secret_error)
    })
    .await?;
    tracing::info!(secret = %id, "use policy cleared");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = api::paths::SECRET_AUDIT, tag = "policy",
    params(
        ("id" = Uuid, Path, description = "The secret's id"),
        ("page" = Option<u64>, Query, description = "Page number from 0"),
        ("size" = Option<u32>, Query, description = "Page size (default 100 when page is given)"),
    ),
    responses((status = 200, body = AuditPage), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// Every use of the secret as a game input on this party, oldest first (owner only).
pub(super) async fn get_audit(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    QueryParam(q): QueryParam<PageParams>,
) -> Result<Json<AuditPage>, HttpError> {
    let page = match (q.page, q.size) {
        (None, None) => None,
        (number, size) => Some(PageRequest {
            number: number.unwrap_or(0),
            size: size.unwrap_or(DEFAULT_PAGE_SIZE),
        }),
    };
    let page = blocking(&node, move |n| {
        let meta = owned(n, &user, id)?;
        n.secrets.list_audit(meta.id, page).map_err(secret_error)
    })
    .await?;
    Ok(Json(AuditPage {
        items: page.items.iter().map(to_api_entry).collect(),
        number: page.number,
        size: page.size,
        total_items: page.total_items,
        total_pages: page.total_pages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_is_restricted_to_the_caller_and_paged_on_request() {
        let user = User {
            name: "alice".into(),
        };
        let q = list_query(&user, &ListParams::default()).unwrap();
        assert_eq!(q.filters, vec![TagFilter::eq("owner", "alice")]);
        assert_eq!(q.page, None);
        let q = list_query(
            &user,
            &ListParams {
                filter: Some("k:v,n>3".into()),
                page: Some(2),
                size: None,
            },
        )
        .unwrap();
        assert_eq!(q.filters.len(), 3);
        assert_eq!(
            q.page,
            Some(PageRequest {
                number: 2,
                size: DEFAULT_PAGE_SIZE
            })
        );
        let e = list_query(
            &user,
            &ListParams {
                filter: Some("novalue".into()),
                ..ListParams::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
    }
}
