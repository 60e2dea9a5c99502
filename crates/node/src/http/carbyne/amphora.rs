//! Amphora's public API on the node's secret services.
//!
//! | Amphora | here |
//! |---|---|
//! | `GET /input-masks?requestId&count` | [`Node::input_masks`] with request id `requestId` |
//! | `POST /masked-inputs` | [`Node::create_secret`] with request id = `secretId` (the original client asks for masks under the new secret's id) |
//! | `GET /secret-shares?filter&pageNumber&pageSize&sort&dir` | the caller's secrets, filtered, sorted by a tag, paged |
//! | `GET /secret-shares/{id}?requestId` | metadata + [`Node::download_secret`] |
//! | `DELETE /secret-shares/{id}` | [`Node::delete_secret`], the joint delete (sent to every party, as the original client does) |
//! | `…/{id}/tags[/{key}]` (and `…/{id}//tags…`) | the tag services |
//!
//! **Access rule** as in the native API: a secret is read, tagged and deleted by its owner only.

use std::cmp::Ordering;
use std::sync::Arc;

use api::carbyne::{
    AmphoraDelivery, AmphoraMaskedInput, DownloadQuery, InputMaskQuery, Metadata, MetadataPage,
    MetadataQuery, VerifiableSecretShare,
};
use api::{ApiError, DownloadRequest, ErrorCode, FieldVec, MaskRequest, MaskedInput, Tag};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use store::secret::{validate_tag, OWNER_TAG};
use store::{ListQuery, SecretId, SecretMeta, SecretStore, TagFilter, TagOp};
use uuid::Uuid;

use crate::http::secrets::{delete_user_tag, replace_user_tags, set_user_tag};
use crate::http::stream::JsonParts;
use crate::http::{blocking, to_completion, Caller, HttpError, JsonBody, PathParam, QueryParam};
use crate::secrets::{secret_error, to_api_tag, to_store_tag};
use crate::{Node, User};

/// The metadata of a secret the caller owns: 404 if there is none, 403 if it is another user's.
fn owned(node: &Node, user: &User, id: Uuid) -> Result<SecretMeta, ApiError> {
    let sid = SecretId::from_uuid(id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let meta = node.secrets.get_meta(sid).map_err(secret_error)?;
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

fn tags_of(meta: &SecretMeta) -> Vec<Tag> {
    meta.all_tags().iter().map(to_api_tag).collect()
}

/// This party's absolute URL of a path under the Amphora prefix (for `Location` and the URI the
/// original answers a creation with).
fn resource_url(node: &Node, path: &str) -> String {
    let base = node
        .config
        .parties
        .get(node.me)
        .map(|p| p.api_url.trim_end_matches('/'))
        .unwrap_or("");
    format!("{base}{}{path}", node.config.carbyne.amphora_prefix)
}

/// 201 with `Location` and the URI as a JSON string (Amphora answers `ResponseEntity<URI>`).
fn created(url: String) -> Response {
    let body = Json(url.clone());
    match HeaderValue::from_str(&url) {
        Ok(v) => (StatusCode::CREATED, [(header::LOCATION, v)], body).into_response(),
        Err(_) => (StatusCode::CREATED, body).into_response(),
    }
}

/// A path segment as it may appear in a URL (tag keys are `[-.\w]+`, so only non-ASCII letters
/// need escaping).
fn escape_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[utoipa::path(get, path = "/amphora/input-masks", tag = "carbyne-amphora",
    params(
        ("requestId" = Uuid, Query, description = "The upload's id (the original client uses the new secret's id)"),
        ("count" = i64, Query, description = "How many values the secret will hold (at least 1)"),
    ),
    responses((status = 200, body = AmphoraDelivery), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Step 1 of an upload: this party's shares of fresh input masks by
/// output delivery, as `OutputDeliveryObject`.
pub(in crate::http) async fn input_masks(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    QueryParam(q): QueryParam<InputMaskQuery>,
) -> Result<JsonParts, HttpError> {
    if q.count < 1 {
        return Err(HttpError(ApiError::bad_request(format!(
            "count must be 1 or greater, got {}",
            q.count
        ))));
    }
    let req = MaskRequest {
        request_id: q.request_id,
        count: q.count as u64,
    };
    let (d, memory) = to_completion(async move { node.input_masks_held(&user, req).await }).await?;
    Ok(JsonParts::amphora_delivery(d.into()).holding(memory))
}

#[utoipa::path(post, path = "/amphora/masked-inputs", tag = "carbyne-amphora",
    request_body = AmphoraMaskedInput,
    responses((status = 201, description = "The secret exists on this party; `Location` and the body give its URI", body = String), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Step 3 of an upload: the masked values m = x − r, for the input
/// masks asked for under `requestId` = `secretId`. The parties check that they all received
/// the same values before the secret exists.
pub(in crate::http) async fn masked_inputs(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    JsonBody(input): JsonBody<AmphoraMaskedInput>,
) -> Result<Response, HttpError> {
    if input.data.is_empty() {
        return Err(HttpError(ApiError::bad_request(
            "MaskedInput data must not be empty: send one masked value per input mask",
        )));
    }
    let mut bytes = Vec::with_capacity(input.data.len() * field::Fp::BYTES);
    for (i, d) in input.data.iter().enumerate() {
        let b = d.value.as_bytes();
        if b.len() != field::Fp::BYTES {
            return Err(HttpError(ApiError::bad_request(format!(
                "data[{i}].value has {} bytes; each masked value is one {}-byte field element (little-endian Montgomery form)",
                b.len(),
                field::Fp::BYTES
            ))));
        }
        bytes.extend_from_slice(b);
    }
    let id = input.secret_id;
    let req = MaskedInput {
        request_id: id,
        secret_id: id,
        masked: FieldVec::from_bytes(bytes),
        tags: input.tags.unwrap_or_default(),
    };
    let url = resource_url(&node, &format!("/secret-shares/{id}"));
    to_completion(async move { node.create_secret(&user, req).await }).await?;
    Ok(created(url))
}

/// Amphora's filter: `crit(,crit)*`, each `key:value`, `key>n` or `key<n`, with key and value
/// URL-encoded once more by the client (`URLEncoder`, so `+` is a space).
pub(crate) fn parse_filter(s: &str) -> Result<Vec<TagFilter>, ApiError> {
    let mut out = Vec::new();
    for crit in s.split(',') {
        let Some(pos) = crit.find([':', '<', '>']) else {
            return Err(ApiError::bad_request(format!(
                "the filter criterion {:?} has no operator; write key:value, key>n or key<n, joined with commas",
                clip(crit)
            )));
        };
        let op = match crit.as_bytes()[pos] {
            b'<' => TagOp::Lt,
            b'>' => TagOp::Gt,
            _ => TagOp::Eq,
        };
        let key = form_decode(&crit[..pos])?;
        let value = form_decode(&crit[pos + 1..])?;
        if key.is_empty() || value.is_empty() {
            return Err(ApiError::bad_request(format!(
                "the filter criterion {:?} needs a key and a value",
                clip(crit)
            )));
        }
        out.push(TagFilter { key, op, value });
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}

/// `application/x-www-form-urlencoded` decoding of one component (Java's `URLDecoder`).
fn form_decode(s: &str) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(x) => out.push(x),
                    None => {
                        return Err(ApiError::bad_request(format!(
                            "the filter {:?} has a malformed %-escape",
                            clip(s)
                        )))
                    }
                }
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        ApiError::bad_request(format!("the filter {:?} does not decode to UTF-8", clip(s)))
    })
}

/// Orders two secrets by the tag `key` (LONG tags as numbers, others as strings; secrets
/// without it after those with it), then by creation.
fn by_tag(key: &str, a: &SecretMeta, b: &SecretMeta) -> Ordering {
    let (ta, tb) = (a.tag(key), b.tag(key));
    let primary = match (&ta, &tb) {
        (Some(x), Some(y)) => match (x.as_long(), y.as_long()) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => x.value.cmp(&y.value),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    primary.then_with(|| (a.created_at_ms, a.id.uuid()).cmp(&(b.created_at_ms, b.id.uuid())))
}

/// One page (or all) of `metas`, sorted as asked, as Amphora's `MetadataPage`.
pub(crate) fn metadata_page(
    mut metas: Vec<SecretMeta>,
    q: &MetadataQuery,
) -> Result<MetadataPage, ApiError> {
    let int = |name: &str, v: Option<i64>| -> Result<i64, ApiError> {
        let v = v.unwrap_or(0);
        if i32::try_from(v).is_err() {
            return Err(ApiError::bad_request(format!(
                "{name} must be a 32-bit integer, got {v}"
            )));
        }
        Ok(v)
    };
    let number = int("pageNumber", q.page_number)?;
    let size = int("pageSize", q.page_size)?;
    if let Some(key) = q.sort.as_deref().filter(|k| !k.is_empty()) {
        let desc = q
            .dir
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        metas.sort_by(|a, b| {
            let o = by_tag(key, a, b);
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let total = metas.len() as i64;
    let to_meta = |m: &SecretMeta| Metadata {
        secret_id: m.id.uuid(),
        tags: tags_of(m),
    };
    // As Spring Data: paged when either parameter is positive (page ≥ 0, size ≥ 1).
    if size > 0 || number > 0 {
        let (number, size) = (number.max(0), size.max(1));
        let skip = usize::try_from(number.saturating_mul(size)).unwrap_or(usize::MAX);
        let content: Vec<Metadata> = metas
            .iter()
            .skip(skip)
            .take(size as usize)
            .map(to_meta)
            .collect();
        let pages = (total as u64).div_ceil(size as u64);
        Ok(MetadataPage {
            content,
            number: number as i32,
            size: size as i32,
            total_elements: total,
            total_pages: i32::try_from(pages).unwrap_or(i32::MAX),
        })
    } else {
        Ok(MetadataPage {
            content: metas.iter().map(to_meta).collect(),
            number: 0,
            size: i32::try_from(total).unwrap_or(i32::MAX),
            total_elements: total,
            total_pages: 1,
        })
    }
}

#[utoipa::path(get, path = "/amphora/secret-shares", tag = "carbyne-amphora",
    params(
        ("filter" = Option<String>, Query, description = "key:value, key>n, key<n joined with commas; key and value URL-encoded"),
        ("pageNumber" = Option<i32>, Query, description = "Page number from 0"),
        ("pageSize" = Option<i32>, Query, description = "Page size; paged when pageNumber or pageSize is positive"),
        ("sort" = Option<String>, Query, description = "A tag key to sort by (LONG tags numerically)"),
        ("dir" = Option<String>, Query, description = "ASC (default) or DESC"),
    ),
    responses((status = 200, body = MetadataPage), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** The caller's secrets as `MetadataPage`.
pub(in crate::http) async fn list(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    QueryParam(q): QueryParam<MetadataQuery>,
) -> Result<Json<MetadataPage>, HttpError> {
    let mut filters = match q.filter.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    filters.push(TagFilter::eq(OWNER_TAG, user.name.clone()));
    let query = ListQuery {
        filters,
        page: None,
        newest_first: false,
    };
    // Every matching secret is loaded (the sort is by any tag), whatever the page.
    let page = blocking(&node, move |n| {
        crate::http::secrets::check_listing(n, &query.filters, None)?;
        n.secrets.list(&query).map_err(secret_error)
    })
    .await?;
    Ok(Json(metadata_page(page.items, &q)?))
}

#[utoipa::path(get, path = "/amphora/secret-shares/{id}", tag = "carbyne-amphora",
    params(
        ("id" = Uuid, Path, description = "The secret's id"),
        ("requestId" = Uuid, Query, description = "Names this download on every party; a fresh random UUID"),
    ),
    responses((status = 200, body = VerifiableSecretShare), (status = "4XX", body = ApiError), (status = "5XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Verified download (owner only): the secret's metadata and this
/// party's output-delivery shares, merged as `VerifiableSecretShare`.
pub(in crate::http) async fn download(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    QueryParam(q): QueryParam<DownloadQuery>,
) -> Result<JsonParts, HttpError> {
    let u = user.clone();
    let meta = blocking(&node, move |n| owned(n, &u, id)).await?;
    let req = DownloadRequest {
        request_id: q.request_id,
    };
    let (d, memory) =
        to_completion(async move { node.download_secret_held(&user, id, req).await }).await?;
    Ok(JsonParts::verifiable_share(VerifiableSecretShare {
        secret_id: id,
        tags: tags_of(&meta),
        delivery: d.into(),
    })
    .holding(memory))
}

#[utoipa::path(delete, path = "/amphora/secret-shares/{id}", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 200, description = "Deleted on every party (empty body)"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Deletes a secret (owner only). The original client sends the
/// delete to every party, as our SDK does: it is the joint delete of [`Node::delete_secret`]
/// (deleted everywhere or nowhere).
pub(in crate::http) async fn delete(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode, HttpError> {
    to_completion(async move { node.delete_secret(&user, id).await }).await?;
    tracing::info!(secret = %id, "secret deleted");
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/amphora/secret-shares/{id}/tags", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id")),
    responses((status = 200, body = Vec<Tag>), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** All tags, `owner` and `creation-date` first. Also at
/// `…/{id}//tags`, as the original Java client writes it.
pub(in crate::http) async fn get_tags(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Vec<Tag>>, HttpError> {
    let meta = blocking(&node, move |n| owned(n, &user, id)).await?;
    Ok(Json(tags_of(&meta)))
}

#[utoipa::path(post, path = "/amphora/secret-shares/{id}/tags", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id")),
    request_body = Tag,
    responses((status = 201, description = "The tag was added; `Location` and the body give its URI", body = String), (status = 409, description = "The secret has a tag with this key", body = ApiError), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Adds a tag (409 if the key exists).
pub(in crate::http) async fn add_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    JsonBody(tag): JsonBody<Tag>,
) -> Result<Response, HttpError> {
    let key = tag.key.clone();
    blocking(&node, move |n| {
        let meta = owned(n, &user, id)?;
        let tag = validate_tag(&to_store_tag(&tag)).map_err(secret_error)?;
        if meta.tag(&tag.key).is_some() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "secret {id} already has a tag {:?}; change it with PUT …/secret-shares/{id}/tags/{}",
                    tag.key, tag.key
                ),
            ));
        }
        n.secrets
            .set_tag(meta.id, tag)
            .map(drop)
            .map_err(secret_error)
    })
    .await?;
    Ok(created(resource_url(
        &node,
        &format!("/secret-shares/{id}/tags/{}", escape_segment(&key)),
    )))
}

#[utoipa::path(put, path = "/amphora/secret-shares/{id}/tags", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id")),
    request_body = Vec<Tag>,
    responses((status = 200, description = "The user tags were replaced (empty body)"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Replaces all user tags (at least one; the reserved ones stay).
pub(in crate::http) async fn replace_tags(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam(id): PathParam<Uuid>,
    JsonBody(tags): JsonBody<Vec<Tag>>,
) -> Result<StatusCode, HttpError> {
    if tags.is_empty() {
        return Err(HttpError(ApiError::bad_request(
            "At least one tag must be given (to remove tags, delete them one by one)",
        )));
    }
    replace_user_tags(&node, user, id, tags).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/amphora/secret-shares/{id}/tags/{key}", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id"), ("key" = String, Path, description = "The tag's key")),
    responses((status = 200, body = Tag), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** One tag. Also at `…/{id}//tags/{key}`.
pub(in crate::http) async fn get_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam((id, key)): PathParam<(Uuid, String)>,
) -> Result<Json<Tag>, HttpError> {
    let meta = blocking(&node, move |n| owned(n, &user, id)).await?;
    match meta.tag(&key) {
        Some(t) => Ok(Json(to_api_tag(&t))),
        None => Err(HttpError(ApiError::not_found(format!(
            "secret {id} has no tag {:?}",
            clip(&key)
        )))),
    }
}

#[utoipa::path(put, path = "/amphora/secret-shares/{id}/tags/{key}", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id"), ("key" = String, Path, description = "The tag's key")),
    request_body = Tag,
    responses((status = 200, description = "The tag was set (empty body)"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Sets one user tag; the body's key must be the path's.
pub(in crate::http) async fn put_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam((id, key)): PathParam<(Uuid, String)>,
    JsonBody(tag): JsonBody<Tag>,
) -> Result<StatusCode, HttpError> {
    if tag.key != key {
        return Err(HttpError(ApiError::bad_request(format!(
            "The defined key and tag data do not match: the path says {:?}, the body {:?}",
            clip(&key),
            clip(&tag.key)
        ))));
    }
    set_user_tag(&node, user, id, tag).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/amphora/secret-shares/{id}/tags/{key}", tag = "carbyne-amphora",
    params(("id" = Uuid, Path, description = "The secret's id"), ("key" = String, Path, description = "The tag's key")),
    responses((status = 200, description = "The tag was deleted (empty body)"), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
/// **Compatibility (Amphora).** Deletes one user tag.
pub(in crate::http) async fn delete_tag(
    State(node): State<Arc<Node>>,
    Caller(user): Caller,
    PathParam((id, key)): PathParam<(Uuid, String)>,
) -> Result<StatusCode, HttpError> {
    delete_user_tag(&node, user, id, key).await?;
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_decoded_once_more_as_the_java_client_encodes_them() {
        let f = parse_filter("name:a+b%2Bc,n>3,m<-2").unwrap();
        assert_eq!(f[0], TagFilter::eq("name", "a b+c"));
        assert_eq!(f[1], TagFilter::gt("n", 3));
        assert_eq!(f[2], TagFilter::lt("m", -2));
        assert!(parse_filter("novalue").is_err());
        assert!(parse_filter("k:").is_err());
        assert!(parse_filter("k:%zz").is_err());
        assert!(parse_filter("k:%ff").is_err());
    }

    fn meta(i: u64, tags: Vec<store::Tag>) -> SecretMeta {
        SecretMeta {
            id: SecretId::random(),
            owner: "alice".into(),
            created_at_ms: i,
            len: 1,
            tags,
        }
    }

    #[test]
    fn pages_sort_by_a_tag_as_spring_data_does() {
        let metas = vec![
            meta(1, vec![store::Tag::long("n", 10)]),
            meta(2, vec![store::Tag::long("n", 9)]),
            meta(3, vec![]),
        ];
        let q = MetadataQuery {
            sort: Some("n".into()),
            dir: Some("desc".into()),
            page_size: Some(2),
            ..MetadataQuery::default()
        };
        let p = metadata_page(metas.clone(), &q).unwrap();
        assert_eq!(p.content.len(), 2);
        assert_eq!(
            p.content[0].secret_id,
            metas[2].id.uuid(),
            "missing tag last, reversed"
        );
        assert_eq!(
            (p.number, p.size, p.total_elements, p.total_pages),
            (0, 2, 3, 2)
        );
        let q = MetadataQuery {
            sort: Some("n".into()),
            ..MetadataQuery::default()
        };
        let p = metadata_page(metas.clone(), &q).unwrap();
        let ids: Vec<Uuid> = p.content.iter().map(|m| m.secret_id).collect();
        assert_eq!(
            ids,
            [metas[1].id.uuid(), metas[0].id.uuid(), metas[2].id.uuid()]
        );
        assert_eq!(
            (p.number, p.size, p.total_elements, p.total_pages),
            (0, 3, 3, 1)
        );
        let q = MetadataQuery {
            page_number: Some(5),
            ..MetadataQuery::default()
        };
        let p = metadata_page(metas.clone(), &q).unwrap();
        assert!(p.content.is_empty());
        assert_eq!((p.number, p.size, p.total_pages), (5, 1, 3));
        let q = MetadataQuery {
            page_size: Some(1 << 40),
            ..MetadataQuery::default()
        };
        assert_eq!(
            metadata_page(metas, &q).unwrap_err().code,
            ErrorCode::BadRequest
        );
    }

    #[test]
    fn tag_urls_escape_what_a_path_cannot_hold() {
        assert_eq!(escape_segment("a-b.c_d"), "a-b.c_d");
        assert_eq!(escape_segment("ä"), "%C3%A4");
    }
}
