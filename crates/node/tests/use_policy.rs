//! Use policies over the HTTP API of in-process parties: who besides the owner may use a secret
//! as a game input (programs, output modes, a use limit counted on every party), the legacy
//! `authorizedPrograms` tag, the audit record, and the owner-only policy and audit routes.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use node::config::NodeConfig;
use node::coord::InProcessChannels;
use node::Node;
use serde_json::{json, Value};
use store::{AuditEntry, NewSecret, OutputMode, SecretId, SecretStore, SecretUse};
use tower::ServiceExt;
use uuid::Uuid;

use common::{ALICE, BOB};
const N: usize = 3;
const SUM_PROGRAM: &str = "listen(10000)\nclient_socket_id = regint()\nacceptclientconnection(client_socket_id, 10000)\nv = sint.read_from_socket(client_socket_id, 2)\nresp = Array(1, sint)\nresp[0] = v[0] + v[1]\nsint.write_to_socket(client_socket_id, resp)\n";
const OTHER_PROGRAM: &str = "listen(10000)\nclient_socket_id = regint()\nacceptclientconnection(client_socket_id, 10000)\nv = sint.read_from_socket(client_socket_id, 2)\nresp = Array(1, sint)\nresp[0] = v[0] * v[1]\nsint.write_to_socket(client_socket_id, resp)\n";

fn config(me: usize, dir: &std::path::Path) -> NodeConfig {
    common::dealer_config(me, N, dir, "", "", 10)
}

struct Cloud {
    nodes: Vec<Arc<Node>>,
    apps: Vec<Router>,
}

fn cloud(dir: &std::path::Path) -> Cloud {
    let (nodes, apps) = InProcessChannels::cluster(N)
        .into_iter()
        .enumerate()
        .map(|(i, ch)| {
            let node = Arc::new(Node::assemble(config(i, dir), None, Arc::new(ch)).unwrap());
            let app = node::http::router(node.clone());
            (node, app)
        })
        .unzip();
    Cloud { nodes, apps }
}

struct Reply {
    status: StatusCode,
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

    fn ok(&self) -> Value {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// Asserts an ApiError with this status and code; returns its message.
    fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let v = self.json();
        assert_eq!(v["code"], code, "{v}");
        v["message"].as_str().unwrap().to_string()
    }
}

async fn call(app: &Router, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    let b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&v).unwrap())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, body }
}

impl Cloud {
    /// The same request to every party at once, replies in party order.
    async fn all(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Vec<Reply> {
        let tasks: Vec<_> = self
            .apps
            .iter()
            .map(|app| {
                let (app, method, path, token, body) = (
                    app.clone(),
                    method.clone(),
                    path.to_string(),
                    token.to_string(),
                    body.clone(),
                );
                tokio::spawn(async move { call(&app, method, &path, &token, body).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    /// A secret of `owner` holding two zeros on every party (zero value and MAC shares are a
    /// valid sharing of 0 under any MAC key).
    fn secret(&self, owner: &str, tags: &[(&str, &str)]) -> Uuid {
        let id = SecretId::random();
        for node in &self.nodes {
            let mut s = NewSecret::new(id, owner, protocol::ShareVec::zeros(2));
            for (k, v) in tags {
                s = s.tag(store::Tag::string(*k, *v));
            }
            node.secrets.create(s).unwrap();
        }
        id.uuid()
    }

    /// Runs a game on every party; the replies in party order.
    async fn game(&self, token: &str, code: &str, input: Uuid, output: &str) -> Vec<Reply> {
        let body = json!({"game_id": Uuid::new_v4(), "code": code, "inputs": [input],
                          "output": {"type": output}});
        self.all(Method::POST, "/v1/games", token, Some(body)).await
    }

    /// A game that must succeed everywhere; returns party 0's result.
    async fn game_ok(&self, token: &str, code: &str, input: Uuid, output: &str) -> api::GameResult {
        let replies = self.game(token, code, input, output).await;
        let results: Vec<api::GameResult> = replies
            .iter()
            .map(|r| serde_json::from_value(r.ok()).unwrap())
            .collect();
        results.into_iter().next().unwrap()
    }

    /// A game that every party refuses with 403; returns party 0's message.
    async fn game_forbidden(&self, token: &str, code: &str, input: Uuid, output: &str) -> String {
        let replies = self.game(token, code, input, output).await;
        let msgs: Vec<String> = replies.iter().map(|r| r.error(403, "forbidden")).collect();
        msgs.into_iter().next().unwrap()
    }

    async fn put_policy(&self, token: &str, id: Uuid, policy: Value) -> Vec<Reply> {
        self.all(
            Method::PUT,
            &format!("/v1/secrets/{id}/policy"),
            token,
            Some(policy),
        )
        .await
    }

    async fn policy(&self, party: usize, token: &str, id: Uuid) -> Reply {
        call(
            &self.apps[party],
            Method::GET,
            &format!("/v1/secrets/{id}/policy"),
            token,
            None,
        )
        .await
    }

    async fn audit(&self, party: usize, token: &str, id: Uuid, query: &str) -> Reply {
        call(
            &self.apps[party],
            Method::GET,
            &format!("/v1/secrets/{id}/audit{query}"),
            token,
            None,
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_users_need_a_policy_naming_the_program_and_the_output_mode() {
    let dir = tempfile::tempdir().unwrap();
    let c = cloud(dir.path());
    let sid = c.secret("alice", &[]);
    // The owner may always use it.
    let res = c.game_ok(ALICE, SUM_PROGRAM, sid, "PLAINTEXT").await;
    assert_eq!(
        res.output,
        api::GameOutput::Plaintext {
            values: vec!["0".into()]
        }
    );
    let hash = res.program_hash.clone();
    let other_hash = c
        .game_ok(ALICE, OTHER_PROGRAM, sid, "PLAINTEXT")
        .await
        .program_hash;
    assert_ne!(hash, other_hash);

    // Without a policy, Bob is refused everywhere.
    let why = c.game_forbidden(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    assert!(why.contains("no use policy"), "{why}");
    let info = c.policy(0, ALICE, sid).await.ok();
    assert_eq!(info["source"], "NONE");
    assert!(info.get("policy").is_none());

    // Bob can neither set, read nor clear the policy, nor read the audit; Alice is told about
    // an unknown secret.
    for r in c
        .put_policy(BOB, sid, json!({"programs": [hash.clone()]}))
        .await
    {
        r.error(403, "forbidden");
    }
    c.policy(1, BOB, sid).await.error(403, "forbidden");
    c.audit(2, BOB, sid, "").await.error(403, "forbidden");
    for r in c
        .all(
            Method::DELETE,
            &format!("/v1/secrets/{sid}/policy"),
            BOB,
            None,
        )
        .await
    {
        r.error(403, "forbidden");
    }
    c.policy(0, ALICE, Uuid::new_v4())
        .await
        .error(404, "not_found");
    c.audit(0, ALICE, Uuid::new_v4(), "")
        .await
        .error(404, "not_found");

    // A policy for SUM_PROGRAM with shares as output only.
    for (i, r) in c
        .put_policy(
            ALICE,
            sid,
            json!({"programs": [hash.to_uppercase()], "outputs": ["SECRETSHARE"]}),
        )
        .await
        .iter()
        .enumerate()
    {
        let info: api::PolicyInfo = serde_json::from_value(r.ok()).unwrap();
        assert_eq!(info.source, api::PolicySource::Policy, "party {i}");
        let p = info.policy.unwrap();
        assert_eq!(
            p.programs,
            vec![hash.clone()],
            "hashes are stored lowercase"
        );
        assert_eq!(p.outputs, vec![api::OutputKind::SecretShare]);
        assert_eq!((p.max_uses, info.uses), (None, 0));
    }
    // An invalid policy is refused and changes nothing.
    for r in c
        .put_policy(ALICE, sid, json!({"programs": ["abc"], "max_uses": 1}))
        .await
    {
        let why = r.error(400, "bad_request");
        assert!(why.contains("64 hex characters"), "{why}");
    }
    for r in c.put_policy(ALICE, sid, json!({"outputs": []})).await {
        r.error(400, "bad_request");
    }
    let info = c.policy(1, ALICE, sid).await.ok();
    assert_eq!(info["policy"]["programs"], json!([hash.clone()]));

    // Another output mode or another program is refused; the allowed one runs.
    let why = c.game_forbidden(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    assert!(
        why.contains("output type PLAINTEXT") && why.contains("allowed: SECRETSHARE"),
        "{why}"
    );
    let why = c
        .game_forbidden(BOB, SUM_PROGRAM, sid, "AMPHORASECRET")
        .await;
    assert!(why.contains("AMPHORASECRET"), "{why}");
    let why = c
        .game_forbidden(BOB, OTHER_PROGRAM, sid, "SECRETSHARE")
        .await;
    assert!(why.contains("does not list program"), "{why}");
    let replies = c.game(BOB, SUM_PROGRAM, sid, "SECRETSHARE").await;
    let parts: Vec<api::OutputDelivery> = replies
        .iter()
        .map(|r| {
            let res: api::GameResult = serde_json::from_value(r.ok()).unwrap();
            match res.output {
                api::GameOutput::SecretShare { delivery } => delivery,
                other => panic!("expected shares, got {other:?}"),
            }
        })
        .collect();
    assert_eq!(
        node::delivery::verify(&parts).unwrap(),
        vec![field::Fp::ZERO]
    );

    // Every party audited the same three uses, oldest first.
    let mut first: Option<Value> = None;
    for party in 0..N {
        let page = c.audit(party, ALICE, sid, "").await.ok();
        assert_eq!(page["total_items"], 3, "{page}");
        let users: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["user"].as_str().unwrap())
            .collect();
        // Refused games are not uses.
        assert_eq!(users, ["alice", "alice", "bob"]);
        let bob = &page["items"][2];
        assert_eq!(bob["program_hash"], hash.as_str());
        assert_eq!(bob["output"], "SECRETSHARE");
        assert_eq!(page["items"][1]["program_hash"], other_hash.as_str());
        match &first {
            None => first = Some(page),
            Some(f) => assert_eq!(f, &page, "parties agree on the audit record"),
        }
    }
    // Paged.
    let page = c.audit(0, ALICE, sid, "?page=1&size=2").await.ok();
    assert_eq!(
        (page["number"].clone(), page["total_pages"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["user"], "bob");
    c.audit(0, ALICE, sid, "?size=0")
        .await
        .error(400, "bad_request");
    let info = c.policy(2, ALICE, sid).await.ok();
    assert_eq!(info["uses"], 1, "one use by another user");

    // Clearing the policy: only the owner again.
    for r in c
        .all(
            Method::DELETE,
            &format!("/v1/secrets/{sid}/policy"),
            ALICE,
            None,
        )
        .await
    {
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(c.policy(0, ALICE, sid).await.ok()["source"], "NONE");
    c.game_forbidden(BOB, SUM_PROGRAM, sid, "SECRETSHARE").await;

    // Deleting the secret deletes its audit record.
    for r in c
        .all(Method::DELETE, &format!("/v1/secrets/{sid}"), ALICE, None)
        .await
    {
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    c.audit(0, ALICE, sid, "").await.error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_use_limit_holds_on_every_party_and_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let c = cloud(dir.path());
    let sid = c.secret("alice", &[]);
    let hash = c
        .game_ok(ALICE, SUM_PROGRAM, sid, "PLAINTEXT")
        .await
        .program_hash;
    for r in c
        .put_policy(ALICE, sid, json!({"programs": [hash], "max_uses": 2}))
        .await
    {
        r.ok();
    }
    c.game_ok(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    c.game_ok(BOB, SUM_PROGRAM, sid, "AMPHORASECRET").await;
    for party in 0..N {
        assert_eq!(c.policy(party, ALICE, sid).await.ok()["uses"], 2);
    }
    // The third use by another user is refused on every party, with the reason.
    let replies = c.game(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    for r in &replies {
        let why = r.error(403, "forbidden");
        assert!(
            why.contains("used 2 times") && why.contains("max_uses 2"),
            "{why}"
        );
    }
    // The owner is not limited, and her uses do not count.
    c.game_ok(ALICE, SUM_PROGRAM, sid, "PLAINTEXT").await;
    for party in 0..N {
        assert_eq!(c.policy(party, ALICE, sid).await.ok()["uses"], 2);
        assert_eq!(c.audit(party, ALICE, sid, "").await.ok()["total_items"], 4);
    }

    // Raising the limit allows one more use.
    for r in c
        .put_policy(ALICE, sid, json!({"programs": [hash], "max_uses": 3}))
        .await
    {
        assert_eq!(r.ok()["uses"], 2, "setting a policy keeps the count");
    }
    c.game_ok(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    c.game_forbidden(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;

    // Parties whose counts differ do not run: the game's digests differ.
    for r in c
        .put_policy(ALICE, sid, json!({"programs": [hash], "max_uses": 10}))
        .await
    {
        r.ok();
    }
    c.nodes[1]
        .secrets
        .record_uses(&[SecretUse {
            id: SecretId::from_uuid(sid).unwrap(),
            entry: AuditEntry {
                at_ms: 1,
                user: "mallory".into(),
                game_id: "elsewhere".into(),
                program_hash: hash.clone(),
                output: OutputMode::Plaintext,
            },
        }])
        .unwrap();
    let audited: Vec<u64> = {
        let mut v = Vec::new();
        for party in 0..N {
            v.push(
                c.audit(party, ALICE, sid, "").await.ok()["total_items"]
                    .as_u64()
                    .unwrap(),
            );
        }
        v
    };
    let replies = c.game(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    for r in &replies {
        assert_ne!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    }
    replies[0].error(409, "conflict");
    for (party, &before) in audited.iter().enumerate() {
        let n = c.audit(party, ALICE, sid, "").await.ok()["total_items"]
            .as_u64()
            .unwrap();
        assert_eq!(n, before, "party {party} recorded no use");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_legacy_authorized_programs_tag_still_works_until_a_policy_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let c = cloud(dir.path());
    let probe = c.secret("alice", &[]);
    let hash = c
        .game_ok(ALICE, SUM_PROGRAM, probe, "PLAINTEXT")
        .await
        .program_hash;
    let sid = c.secret(
        "alice",
        &[(
            api::secrets::AUTHORIZED_PROGRAMS_TAG,
            &format!("{}, {hash}", "0".repeat(64)),
        )],
    );
    for output in ["PLAINTEXT", "SECRETSHARE", "AMPHORASECRET"] {
        c.game_ok(BOB, SUM_PROGRAM, sid, output).await;
    }
    let why = c.game_forbidden(BOB, OTHER_PROGRAM, sid, "PLAINTEXT").await;
    assert!(why.contains("authorizedPrograms"), "{why}");
    let info: api::PolicyInfo = serde_json::from_value(c.policy(0, ALICE, sid).await.ok()).unwrap();
    assert_eq!(info.source, api::PolicySource::AuthorizedProgramsTag);
    let p = info.policy.unwrap();
    assert_eq!(p.programs, vec!["0".repeat(64), hash.clone()]);
    assert_eq!((p.outputs.len(), p.max_uses, info.uses), (3, None, 3));
    assert_eq!(c.audit(1, ALICE, sid, "").await.ok()["total_items"], 3);

    // A policy replaces the tag: it does not list the program, so Bob is refused.
    for r in c
        .put_policy(ALICE, sid, json!({"programs": ["0".repeat(64)]}))
        .await
    {
        r.ok();
    }
    let why = c.game_forbidden(BOB, SUM_PROGRAM, sid, "PLAINTEXT").await;
    assert!(why.contains("does not list program"), "{why}");
}
