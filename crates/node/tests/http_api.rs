//! The HTTP API through its router (no sockets): authentication, error bodies, content types,
//! body limits, secrets metadata and tags, functions, the OpenAPI document, metrics, and an
//! upload → game → Carbyne activation → download round trip over two in-process parties.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::BodyExt;
use node::config::NodeConfig;
use node::coord::InProcessChannels;
use node::Node;
use serde_json::{json, Value};
use store::{NewSecret, SecretId, SecretStore};
use tower::ServiceExt;
use uuid::Uuid;

use common::{ALICE, BOB};

const MAX_BODY: usize = 64 * 1024;

fn config(me: usize, n: usize, dir: &std::path::Path) -> NodeConfig {
    common::dealer_config(me, n, dir, "", &format!("max_body_bytes = {MAX_BODY}"), 10)
}

/// `n` nodes over in-process channels and their routers.
fn cluster(n: usize, dir: &std::path::Path) -> Vec<(Arc<Node>, Router)> {
    InProcessChannels::cluster(n)
        .into_iter()
        .enumerate()
        .map(|(i, ch)| {
            let node = Arc::new(Node::assemble(config(i, n, dir), None, Arc::new(ch)).unwrap());
            let app = node::http::router(node.clone());
            (node, app)
        })
        .collect()
}

fn one(dir: &std::path::Path) -> (Arc<Node>, Router) {
    cluster(2, dir).swap_remove(0)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?} ({})",
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    /// Asserts an ApiError body with this status and code from party `party`.
    fn error(&self, status: u16, code: &str, party: usize) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/json",
            "error bodies are JSON"
        );
        let v = self.json();
        assert_eq!(v["code"], code, "{v}");
        assert_eq!(v["party"], party, "{v}");
        v["message"].as_str().unwrap().to_string()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// A request with an optional bearer token and an optional JSON body.
async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&v).unwrap())),
        None => b.body(Body::empty()),
    };
    send(app, req.unwrap()).await
}

fn secret(node: &Node, owner: &str, tags: &[(&str, &str)]) -> Uuid {
    let id = SecretId::random();
    let mut s = NewSecret::new(id, owner, protocol::ShareVec::zeros(3));
    for (k, v) in tags {
        s = s.tag(store::Tag::string(*k, *v));
    }
    node.secrets.create(s).unwrap();
    id.uuid()
}

#[tokio::test]
async fn health_metrics_and_openapi_need_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, app) = one(dir.path());
    let r = call(&app, Method::GET, "/v1/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let h: api::Health = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((h.party, h.parties), (0, 2));
    assert_eq!(h.generator, "insecure-dealer");

    let r = call(&app, Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["paths"]["/v1/games"].is_object());
    assert!(doc["paths"]["/v1/secrets"].is_object());

    let r = call(&app, Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains(r#"ephemeral_http_requests_total{route="/v1/health",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("ephemeral_peer_connected{party=\"1\"} 1"));
}

#[tokio::test]
async fn every_protected_route_needs_a_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, app) = one(dir.path());
    let routes = [
        (Method::POST, "/v1/input-masks"),
        (Method::GET, "/v1/secrets"),
        (Method::POST, "/v1/secrets"),
        (
            Method::GET,
            "/v1/secrets/7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
        ),
        (
            Method::DELETE,
            "/v1/secrets/7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
        ),
        (
            Method::POST,
            "/v1/secrets/7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d/download",
        ),
        (
            Method::GET,
            "/v1/secrets/7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d/tags",
        ),
        (
            Method::DELETE,
            "/v1/secrets/7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d/tags/k",
        ),
        (Method::GET, "/v1/functions"),
        (Method::PUT, "/v1/functions/f"),
        (Method::POST, "/v1/games"),
        (Method::GET, "/v1/games/g1"),
        (Method::GET, "/v1/tuples"),
        (Method::POST, "/"),
    ];
    for (m, path) in routes {
        let r = call(&app, m.clone(), path, None, None).await;
        let msg = r.error(401, "unauthorized", 0);
        assert!(msg.contains("Authorization: Bearer"), "{m} {path}: {msg}");
        assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
        let r = call(&app, m.clone(), path, Some("not-a-token"), None).await;
        r.error(401, "unauthorized", 0);
    }
    let req = Request::get("/v1/secrets")
        .header(header::AUTHORIZATION, format!("Basic {ALICE}"))
        .body(Body::empty())
        .unwrap();
    send(&app, req).await.error(401, "unauthorized", 0);
    let r = call(&app, Method::GET, "/v1/secrets", Some(ALICE), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["total_items"], 0);
    let r = call(&app, Method::GET, "/v1/tuples", Some(ALICE), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let t: api::TupleStatsResponse = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(t.party, 0);
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, app) = one(dir.path());
    // Unknown route and wrong method.
    call(&app, Method::GET, "/v1/nothing", Some(ALICE), None)
        .await
        .error(404, "not_found", 0);
    call(&app, Method::GET, "/v1/nothing", None, None)
        .await
        .error(404, "not_found", 0);
    call(&app, Method::DELETE, "/v1/games", Some(ALICE), None)
        .await
        .error(405, "bad_request", 0);
    // Wrong content type, then no content type.
    let req = Request::post("/v1/games")
        .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    send(&app, req)
        .await
        .error(415, "unsupported_media_type", 0);
    let req = Request::post("/")
        .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
        .body(Body::from("{}"))
        .unwrap();
    send(&app, req)
        .await
        .error(415, "unsupported_media_type", 0);
    // Malformed JSON and a wrong field.
    let req = Request::post("/v1/input-masks")
        .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"request_id\": "))
        .unwrap();
    let msg = send(&app, req).await.error(400, "bad_request", 0);
    assert!(msg.contains("invalid JSON"), "{msg}");
    let msg = call(
        &app,
        Method::POST,
        "/v1/games",
        Some(ALICE),
        Some(json!({"code": "x", "output": {"type": "CSV"}})),
    )
    .await
    .error(400, "bad_request", 0);
    assert!(msg.contains("output.type"), "{msg}");
    // Oversized body.
    let big = "x".repeat(MAX_BODY + 1);
    let msg = call(
        &app,
        Method::POST,
        "/v1/games",
        Some(ALICE),
        Some(json!({ "code": big })),
    )
    .await
    .error(413, "payload_too_large", 0);
    assert!(msg.contains("api.max_body_bytes"), "{msg}");
    // Bad path and query parameters.
    let msg = call(
        &app,
        Method::GET,
        "/v1/secrets/not-a-uuid",
        Some(ALICE),
        None,
    )
    .await
    .error(400, "bad_request", 0);
    assert!(msg.contains("invalid path"), "{msg}");
    call(
        &app,
        Method::GET,
        "/v1/secrets/00000000-0000-0000-0000-000000000000",
        Some(ALICE),
        None,
    )
    .await
    .error(400, "bad_request", 0);
    let msg = call(&app, Method::GET, "/v1/secrets?page=x", Some(ALICE), None)
        .await
        .error(400, "bad_request", 0);
    assert!(msg.contains("invalid query"), "{msg}");
    call(
        &app,
        Method::GET,
        "/v1/secrets?filter=nooperator",
        Some(ALICE),
        None,
    )
    .await
    .error(400, "bad_request", 0);
    // An unknown game.
    call(&app, Method::GET, "/v1/games/nope", Some(ALICE), None)
        .await
        .error(404, "not_found", 0);
    // A game without an id is refused by the node before anything runs.
    call(
        &app,
        Method::POST,
        "/v1/games",
        Some(ALICE),
        Some(json!({"code": "print_ln('x')"})),
    )
    .await
    .error(400, "bad_request", 0);
    // A program that does not compile.
    let msg = call(
        &app,
        Method::PUT,
        "/v1/functions/broken",
        Some(ALICE),
        Some(json!({"code": "a = sint(1)\nif a < 2:\n    pass\n"})),
    )
    .await
    .error(400, "compile_error", 0);
    assert!(msg.contains("program.mpc:2:"), "{msg}");
}

#[tokio::test]
async fn secrets_are_listed_read_tagged_and_deleted_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut parties = cluster(2, dir.path());
    let (node1, app1) = parties.pop().unwrap();
    let (node, app) = parties.pop().unwrap();
    let a1 = secret(&node, "alice", &[("color", "red")]);
    let a2 = secret(&node, "alice", &[("color", "blue")]);
    let b1 = secret(&node, "bob", &[("color", "red")]);

    // Listing shows only the caller's secrets, filtered and paged.
    let page = call(&app, Method::GET, "/v1/secrets", Some(ALICE), None)
        .await
        .json();
    assert_eq!(page["total_items"], 2);
    let page = call(
        &app,
        Method::GET,
        "/v1/secrets?filter=color:red",
        Some(ALICE),
        None,
    )
    .await
    .json();
    assert_eq!(page["total_items"], 1);
    assert_eq!(page["items"][0]["id"], a1.to_string());
    let mut paged = Vec::new();
    for p in 0..2 {
        let page = call(
            &app,
            Method::GET,
            &format!("/v1/secrets?page={p}&size=1"),
            Some(ALICE),
            None,
        )
        .await
        .json();
        assert_eq!(page["total_pages"], 2);
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        paged.push(page["items"][0]["id"].as_str().unwrap().to_string());
    }
    paged.sort();
    let mut mine = vec![a1.to_string(), a2.to_string()];
    mine.sort();
    assert_eq!(paged, mine);
    let page = call(&app, Method::GET, "/v1/secrets", Some(BOB), None)
        .await
        .json();
    assert_eq!(page["total_items"], 1);

    // Metadata: owner only.
    let path = format!("/v1/secrets/{a1}");
    let info: api::SecretInfo =
        serde_json::from_slice(&call(&app, Method::GET, &path, Some(ALICE), None).await.body)
            .unwrap();
    assert_eq!(info.owner, "alice");
    assert_eq!(info.len, 3);
    assert_eq!(info.tags[0].key, "owner");
    assert_eq!(info.tags[1].key, "creation-date");
    call(&app, Method::GET, &path, Some(BOB), None)
        .await
        .error(403, "forbidden", 0);
    call(
        &app,
        Method::GET,
        &format!("/v1/secrets/{}", Uuid::new_v4()),
        Some(ALICE),
        None,
    )
    .await
    .error(404, "not_found", 0);

    // Tags.
    let tags = format!("/v1/secrets/{a1}/tags");
    let r = call(
        &app,
        Method::POST,
        &tags,
        Some(ALICE),
        Some(json!({"key": "n", "value": "5", "valueType": "LONG"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    call(
        &app,
        Method::POST,
        &tags,
        Some(ALICE),
        Some(json!({"key": "n", "value": "6", "valueType": "LONG"})),
    )
    .await
    .error(409, "conflict", 0);
    call(
        &app,
        Method::POST,
        &tags,
        Some(BOB),
        Some(json!({"key": "x", "value": "1"})),
    )
    .await
    .error(403, "forbidden", 0);
    call(
        &app,
        Method::POST,
        &tags,
        Some(ALICE),
        Some(json!({"key": "owner", "value": "bob"})),
    )
    .await
    .error(400, "bad_request", 0);
    call(
        &app,
        Method::POST,
        &tags,
        Some(ALICE),
        Some(json!({"key": "m", "value": "nan", "valueType": "LONG"})),
    )
    .await
    .error(400, "bad_request", 0);
    let page = call(
        &app,
        Method::GET,
        "/v1/secrets?filter=n%3E4",
        Some(ALICE),
        None,
    )
    .await
    .json();
    assert_eq!(page["total_items"], 1);
    let tag = call(&app, Method::GET, &format!("{tags}/n"), Some(ALICE), None)
        .await
        .json();
    assert_eq!(tag, json!({"key": "n", "value": "5", "valueType": "LONG"}));
    let r = call(
        &app,
        Method::PUT,
        &format!("{tags}/n"),
        Some(ALICE),
        Some(json!({"key": "n", "value": "7", "valueType": "LONG"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    call(
        &app,
        Method::PUT,
        &format!("{tags}/n"),
        Some(ALICE),
        Some(json!({"key": "other", "value": "7"})),
    )
    .await
    .error(400, "bad_request", 0);
    let all = call(&app, Method::GET, &tags, Some(ALICE), None)
        .await
        .json();
    let keys: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["owner", "creation-date", "color", "n"]);
    let r = call(
        &app,
        Method::DELETE,
        &format!("{tags}/color"),
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    call(
        &app,
        Method::GET,
        &format!("{tags}/color"),
        Some(ALICE),
        None,
    )
    .await
    .error(404, "not_found", 0);
    call(
        &app,
        Method::DELETE,
        &format!("{tags}/color"),
        Some(ALICE),
        None,
    )
    .await
    .error(404, "not_found", 0);
    let r = call(
        &app,
        Method::PUT,
        &tags,
        Some(ALICE),
        Some(json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let all = call(&app, Method::GET, &tags, Some(ALICE), None)
        .await
        .json();
    assert_eq!(all.as_array().unwrap().len(), 4);
    call(
        &app,
        Method::PUT,
        &tags,
        Some(ALICE),
        Some(json!([{"key": "a", "value": "1"}, {"key": "a", "value": "2"}])),
    )
    .await
    .error(400, "bad_request", 0);

    // Deletion: owner only, then gone.
    call(
        &app,
        Method::DELETE,
        &format!("/v1/secrets/{b1}"),
        Some(ALICE),
        None,
    )
    .await
    .error(403, "forbidden", 0);
    // A delete is joint: sent to every party, it deletes on all of them (party 1 holds its own
    // share of a1).
    node1
        .secrets
        .create(NewSecret::new(
            SecretId::from_uuid(a1).unwrap(),
            "alice",
            protocol::ShareVec::zeros(3),
        ))
        .unwrap();
    let (r0, r1) = tokio::join!(
        call(&app, Method::DELETE, &path, Some(ALICE), None),
        call(&app1, Method::DELETE, &path, Some(ALICE), None)
    );
    assert_eq!(
        r0.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&r0.body)
    );
    assert_eq!(
        r1.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&r1.body)
    );
    call(&app, Method::GET, &path, Some(ALICE), None)
        .await
        .error(404, "not_found", 0);
    call(&app1, Method::GET, &path, Some(ALICE), None)
        .await
        .error(404, "not_found", 1);
    // Download of another user's secret is refused before any MPC.
    call(
        &app,
        Method::POST,
        &format!("/v1/secrets/{b1}/download"),
        Some(ALICE),
        Some(json!({"request_id": Uuid::new_v4()})),
    )
    .await
    .error(403, "forbidden", 0);
}

#[tokio::test]
async fn functions_are_deployed_versioned_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, app) = one(dir.path());
    let code = "print_ln('%s', (sint(6) * sint(7)).reveal())\n";
    let r = call(
        &app,
        Method::PUT,
        "/v1/functions/answer",
        Some(ALICE),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v1: api::FunctionInfo = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((v1.version, v1.owner.as_str()), (1, "alice"));
    assert_eq!(v1.requires.get("triples"), Some(&1));
    // A retry is idempotent; new code is a new version.
    let again: api::FunctionInfo = serde_json::from_slice(
        &call(
            &app,
            Method::PUT,
            "/v1/functions/answer",
            Some(ALICE),
            Some(json!({ "code": code })),
        )
        .await
        .body,
    )
    .unwrap();
    assert_eq!(again, v1);
    let r = call(
        &app,
        Method::PUT,
        "/v1/functions/answer",
        Some(ALICE),
        Some(json!({ "code": "print_ln('%s', sint(1).reveal())\n" })),
    )
    .await;
    assert_eq!(r.json()["version"], 2);
    call(
        &app,
        Method::PUT,
        "/v1/functions/answer",
        Some(BOB),
        Some(json!({ "code": code })),
    )
    .await
    .error(403, "forbidden", 0);
    call(
        &app,
        Method::PUT,
        "/v1/functions/bad%20name",
        Some(ALICE),
        Some(json!({ "code": code })),
    )
    .await
    .error(400, "bad_request", 0);

    let list: api::FunctionList = serde_json::from_slice(
        &call(&app, Method::GET, "/v1/functions", Some(BOB), None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].version, 2);
    let versions: api::FunctionList = serde_json::from_slice(
        &call(&app, Method::GET, "/v1/functions/answer", Some(ALICE), None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(versions.items.len(), 2);
    call(&app, Method::GET, "/v1/functions/none", Some(ALICE), None)
        .await
        .error(404, "not_found", 0);
    call(
        &app,
        Method::DELETE,
        "/v1/functions/answer",
        Some(BOB),
        None,
    )
    .await
    .error(403, "forbidden", 0);
    let r = call(
        &app,
        Method::DELETE,
        "/v1/functions/answer",
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    call(&app, Method::GET, "/v1/functions/answer", Some(ALICE), None)
        .await
        .error(404, "not_found", 0);
}

/// Sends the same request to every party at once.
async fn all(apps: &[Router], method: Method, path: &str, token: &str, body: Value) -> Vec<Reply> {
    let tasks: Vec<_> = apps
        .iter()
        .map(|app| {
            let (app, method, path, token, body) = (
                app.clone(),
                method.clone(),
                path.to_string(),
                token.to_string(),
                body.clone(),
            );
            tokio::spawn(async move { call(&app, method, &path, Some(&token), Some(body)).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

const SEED_PROGRAM: &str = "listen(10000)\nclient_socket_id = regint()\nacceptclientconnection(client_socket_id, 10000)\nv = sint.read_from_socket(client_socket_id, 2)\nresp = Array(1, sint)\nresp[0] = v[0] + v[1]\nsint.write_to_socket(client_socket_id, resp)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upload_execute_carbyne_and_download_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path());
    let apps: Vec<Router> = nodes.iter().map(|(_, a)| a.clone()).collect();

    // Upload [42, -7] by the input-mask protocol.
    let rid = Uuid::new_v4();
    let parts: Vec<api::OutputDelivery> = all(
        &apps,
        Method::POST,
        "/v1/input-masks",
        ALICE,
        json!({"request_id": rid, "count": 2}),
    )
    .await
    .iter()
    .map(|r| {
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        serde_json::from_slice(&r.body).unwrap()
    })
    .collect();
    let masks = node::delivery::verify(&parts).expect("masks verify");
    let masked: Vec<field::Fp> = [42i64, -7]
        .iter()
        .zip(&masks)
        .map(|(&x, &r)| field::Fp::from_i64(x) - r)
        .collect();
    let sid = Uuid::new_v4();
    for r in all(
        &apps,
        Method::POST,
        "/v1/secrets",
        ALICE,
        json!({"request_id": rid, "secret_id": sid,
               "masked": api::FieldVec::from_elements(&masked), "tags": [{"key": "k", "value": "v"}]}),
    )
    .await
    {
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["id"], sid.to_string());
    }

    // Our activation.
    let game = Uuid::new_v4().to_string();
    for r in all(
        &apps,
        Method::POST,
        "/v1/games",
        ALICE,
        json!({"game_id": game, "code": SEED_PROGRAM, "inputs": [sid]}),
    )
    .await
    {
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let res: api::GameResult = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            res.output,
            api::GameOutput::Plaintext {
                values: vec!["35".into()]
            }
        );
    }
    let summary = call(
        &apps[0],
        Method::GET,
        &format!("/v1/games/{game}"),
        Some(ALICE),
        None,
    )
    .await
    .json();
    assert_eq!(summary["status"], "succeeded");
    // Reusing the id of a just-finished game is refused.
    all(
        &apps,
        Method::POST,
        "/v1/games",
        ALICE,
        json!({"game_id": game, "code": SEED_PROGRAM, "inputs": [sid]}),
    )
    .await[0]
        .error(409, "conflict", 0);
    // Bob may not use Alice's secret.
    let denied = all(
        &apps,
        Method::POST,
        "/v1/games",
        BOB,
        json!({"game_id": Uuid::new_v4(), "code": SEED_PROGRAM, "inputs": [sid]}),
    )
    .await;
    denied[0].error(403, "forbidden", 0);
    denied[1].error(403, "forbidden", 1);

    // The original's activation JSON, in each output mode.
    let carbyne = |kind: &str| {
        json!({"amphoraParams": [sid], "secretParams": [], "gameID": Uuid::new_v4(),
               "code": SEED_PROGRAM, "output": {"type": kind}})
    };
    for r in all(&apps, Method::POST, "/", ALICE, carbyne("PLAINTEXT")).await {
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let res: api::CarbyneResult = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(res.response.len(), 1);
        assert_eq!(STANDARD.decode(&res.response[0]).unwrap(), b"35");
        // Exactly the original's `{"response": [...]}` (strict Jackson clients).
        assert_eq!(r.json().as_object().unwrap().len(), 1);
    }
    let answers: Vec<api::CarbyneResult> =
        all(&apps, Method::POST, "/", ALICE, carbyne("SECRETSHARE"))
            .await
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
    let shares: Vec<field::Fp> = answers
        .iter()
        .map(|res| {
            let word = STANDARD.decode(&res.response[0]).unwrap();
            api::FieldVec::from_bytes(word).to_elements().unwrap()[0]
        })
        .collect();
    assert_eq!(
        shares.iter().copied().sum::<field::Fp>(),
        field::Fp::from_u64(35)
    );
    // The bare share is unverifiable; the delivery beside it verifies (w = s·r, u = v·r), and
    // a tampered share fails the check.
    let mut deliveries: Vec<api::OutputDelivery> = answers
        .iter()
        .map(|a| {
            a.delivery
                .clone()
                .expect("SECRETSHARE answers carry the delivery")
        })
        .collect();
    assert_eq!(
        node::delivery::verify(&deliveries).unwrap(),
        vec![field::Fp::from_u64(35)]
    );
    let mut s = deliveries[1].s.to_elements().unwrap();
    s[0] += field::Fp::ONE;
    deliveries[1].s = api::FieldVec::from_elements(&s);
    assert!(node::delivery::verify(&deliveries).is_err());
    let stored: Vec<String> = all(&apps, Method::POST, "/", ALICE, carbyne("AMPHORASECRET"))
        .await
        .iter()
        .map(|r| {
            let res: api::CarbyneResult = serde_json::from_slice(&r.body).unwrap();
            res.response[0].clone()
        })
        .collect();
    assert_eq!(stored[0], stored[1]);

    // Verified download of the upload and of the stored output.
    for (id, want) in [
        (sid.to_string(), vec![42i128, -7]),
        (stored[0].clone(), vec![35]),
    ] {
        let parts: Vec<api::OutputDelivery> = all(
            &apps,
            Method::POST,
            &format!("/v1/secrets/{id}/download"),
            ALICE,
            json!({"request_id": Uuid::new_v4()}),
        )
        .await
        .iter()
        .map(|r| {
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&r.body)
            );
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect();
        let values = node::delivery::verify(&parts).expect("download verifies");
        let got: Vec<i128> = values.iter().map(|v| v.to_signed()).collect();
        assert_eq!(got, want);
    }

    let text = String::from_utf8(
        call(&apps[0], Method::GET, "/metrics", None, None)
            .await
            .body,
    )
    .unwrap();
    assert!(
        text.contains(r#"ephemeral_games_total{outcome="succeeded"} 4"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ephemeral_values_total{op="upload"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ephemeral_http_requests_total{route="/v1/games",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ephemeral_http_requests_total{route="/",status="200"} 3"#),
        "{text}"
    );
    assert!(!text.contains(&sid.to_string()), "no secret id in metrics");
}
