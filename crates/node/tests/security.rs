//! Attacks on a party set, each reproduced and refused (issue: "no path to the MAC key"):
//! forged public output, weak programs, rolled-back tuple stores, a dealer store passed off as
//! MASCOT, resource exhaustion, and game summaries of other users. The selective-failure attack
//! on MASCOT, the halt it causes and the rekey that ends it are in `mascot_attack.rs`.

mod common;

use std::sync::Arc;

use api::{Activation, ErrorCode, GameOutput, MaskRequest, MaskedInput, OutputKind, OutputSpec};
use field::Fp;
use node::config::NodeConfig;
use node::coord::InProcessChannels;
use node::{Node, User};
use uuid::Uuid;

fn config(me: usize, n: usize, dir: &std::path::Path, extra: &str) -> NodeConfig {
    common::dealer_config(me, n, dir, extra, "", 3)
}

/// `n` dealer nodes over in-process channels; `extra(i)` is put at the top of party i's config.
fn cluster(n: usize, dir: &std::path::Path, extra: impl Fn(usize) -> String) -> Vec<Arc<Node>> {
    common::in_process_cluster(n, |i| config(i, n, dir, &extra(i)))
}

fn alice() -> User {
    User {
        name: "alice".into(),
    }
}

fn bob() -> User {
    User { name: "bob".into() }
}

/// Runs `f` on every node at once and returns the answers in party order.
async fn on_all<T: Send + 'static, F, Fut>(nodes: &[Arc<Node>], f: F) -> Vec<T>
where
    F: Fn(Arc<Node>) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let hs: Vec<_> = nodes.iter().cloned().map(|n| tokio::spawn(f(n))).collect();
    let mut out = Vec::new();
    for h in hs {
        out.push(h.await.unwrap());
    }
    out
}

/// One input mask for `user` under request `rid`, from every party.
async fn masks(nodes: &[Arc<Node>], user: fn() -> User, rid: Uuid) -> Vec<api::OutputDelivery> {
    on_all(nodes, move |n| async move {
        n.input_masks(
            &user(),
            MaskRequest {
                request_id: rid,
                count: 1,
            },
        )
        .await
        .unwrap()
    })
    .await
}

/// Uploads `x` as alice's secret through the input-mask protocol.
async fn upload(nodes: &[Arc<Node>], x: i64) -> Uuid {
    let rid = Uuid::new_v4();
    let parts = masks(nodes, alice, rid).await;
    let r = node::delivery::verify(&parts).expect("masks verify");
    let sid = Uuid::new_v4();
    let body = MaskedInput {
        request_id: rid,
        secret_id: sid,
        masked: api::FieldVec::from_elements(&[Fp::from_i64(x) - r[0]]),
        tags: vec![],
    };
    on_all(nodes, move |n| {
        let body = body.clone();
        async move { n.create_secret(&alice(), body).await.unwrap() }
    })
    .await;
    sid
}

fn activation(code: &str, inputs: Vec<Uuid>, kind: OutputKind) -> Activation {
    Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(code.into()),
        inputs,
        output: OutputSpec { kind, tags: vec![] },
        ..Activation::default()
    }
}

async fn run(
    nodes: &[Arc<Node>],
    user: User,
    act: Activation,
) -> Vec<Result<api::GameResult, api::ApiError>> {
    on_all(nodes, move |n| {
        let (act, user) = (act.clone(), user.clone());
        async move { n.execute(&user, act).await }
    })
    .await
}

const PRINT_AND_OUTPUT: &str = "x = sint(20) + sint(22)\nprint_ln('x = %s', x.reveal())\nlisten(10000)\nc = regint()\nacceptclientconnection(c, 10000)\nsint.write_to_socket(c, [x])\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_party_prints_and_returns_the_same_public_output() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(3, dir.path(), |_| String::new());
    let act = activation(PRINT_AND_OUTPUT, vec![], OutputKind::Plaintext);
    for r in run(&nodes, alice(), act).await {
        let r = r.unwrap();
        assert_eq!(r.printed, "x = 42\n", "party {}", r.party);
        assert_eq!(
            r.output,
            GameOutput::Plaintext {
                values: vec!["42".into()]
            }
        );
    }
}

/// Party 0 forges its printed text and its plaintext value: every party refuses to answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn public_output_forged_by_party_0_fails_the_game_on_every_party() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(3, dir.path(), |i| {
        if i == 0 {
            "insecure_tamper = \"public-output\"\n".into()
        } else {
            String::new()
        }
    });
    for kind in [OutputKind::Plaintext, OutputKind::SecretShare] {
        let act = activation(PRINT_AND_OUTPUT, vec![], kind);
        for (p, r) in run(&nodes, alice(), act).await.into_iter().enumerate() {
            let e = r.expect_err("a forged public output must fail the game");
            assert_eq!(e.code, ErrorCode::IntegrityViolation, "party {p}: {e}");
            assert!(e.message.contains("public output"), "party {p}: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_program_below_the_minimum_statistical_security_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), |_| String::new());
    let code = "program.security = 1\na = sint(5)\nprint_ln('%s', (a < 3).reveal())\n";
    for r in run(
        &nodes,
        alice(),
        activation(code, vec![], OutputKind::Plaintext),
    )
    .await
    {
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest, "{e}");
        assert!(e.message.contains("min_statistical_security"), "{e}");
    }
    // 40 passes on a node with the default minimum.
    let ok = "program.security = 40\na = sint(5)\nprint_ln('%s', (a < 3).reveal())\n";
    for r in run(
        &nodes,
        alice(),
        activation(ok, vec![], OutputKind::Plaintext),
    )
    .await
    {
        assert_eq!(r.unwrap().printed, "0\n");
    }
}

/// A store made by the dealer is refused by a MASCOT node (its key follows from a seed).
#[test]
fn a_dealer_store_never_runs_as_mascot() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), |_| String::new());
    drop(nodes);
    // Same storage, MASCOT (no insecure_dealer).
    let mut cfg = config(0, 2, dir.path(), "");
    cfg.tuples.insecure_dealer = false;
    cfg.tuples.insecure_dealer_seed = None;
    let ch = InProcessChannels::cluster(2).swap_remove(0);
    let e = match Node::assemble(cfg, None, Arc::new(ch)) {
        Ok(_) => panic!("a dealer store must not start as MASCOT"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("insecure-dealer"), "{e}");
    assert!(e.contains("fresh storage path"), "{e}");
}

/// A party whose tuple store is restored from a copy taken before it consumed tuples is refused
/// by its peers until its operator discards its tuples.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolled_back_tuple_store_is_refused_by_its_peers() {
    let dir = tempfile::tempdir().unwrap();
    let mult = "a = sint(6) * sint(7)\nprint_ln('%s', a.reveal())\n";
    let tuples1 = dir.path().join("party1-data").join("tuples.redb");
    let backup = dir.path().join("backup.redb");
    {
        let nodes = cluster(2, dir.path(), |_| String::new());
        for r in run(
            &nodes,
            alice(),
            activation(mult, vec![], OutputKind::Plaintext),
        )
        .await
        {
            r.unwrap();
        }
        std::fs::copy(&tuples1, &backup).unwrap();
        // Two more games: party 1 consumes after the copy, and party 0 hears of it.
        for _ in 0..2 {
            for r in run(
                &nodes,
                alice(),
                activation(mult, vec![], OutputKind::Plaintext),
            )
            .await
            {
                r.unwrap();
            }
        }
    }
    std::fs::copy(&backup, &tuples1).unwrap();
    let nodes = cluster(2, dir.path(), |_| String::new());
    let res = run(
        &nodes,
        alice(),
        activation(mult, vec![], OutputKind::Plaintext),
    )
    .await;
    let e = res[0].as_ref().unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{e}");
    assert!(e.message.contains("went back in time"), "{e}");
    assert!(res[1].is_err());
    let consumed = |n: &Node| {
        n.tuple_stats()
            .unwrap()
            .kinds
            .iter()
            .find(|k| k.kind == "triple")
            .map(|k| k.consumed)
            .unwrap()
    };
    let before = consumed(&nodes[1]);
    // Refused every time, and nothing is consumed.
    let res = run(
        &nodes,
        alice(),
        activation(mult, vec![], OutputKind::Plaintext),
    )
    .await;
    assert!(res.iter().all(|r| r.is_err()));
    assert_eq!(consumed(&nodes[1]), before);
    // The operators discard every party's tuples, the restored one past the epoch party 0 names.
    let next: u64 = e
        .message
        .split("--epoch-at-least ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .expect("the error names the epoch to move past");
    drop(nodes);
    {
        use store::TupleStore;
        store::RedbTupleStore::open(&tuples1, 1)
            .unwrap()
            .discard_all_tuples(next)
            .unwrap();
        store::RedbTupleStore::open(dir.path().join("party0-data").join("tuples.redb"), 0)
            .unwrap()
            .discard_all_tuples(0)
            .unwrap();
    }
    let nodes = cluster(2, dir.path(), |_| String::new());
    for r in run(
        &nodes,
        alice(),
        activation(mult, vec![], OutputKind::Plaintext),
    )
    .await
    {
        assert_eq!(r.unwrap().printed, "42\n");
    }
}

/// Resource limits answer 429 or 503 with a retry hint, and the node keeps serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn limits_refuse_with_429_or_503_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), |_| {
        "[limits]\nmax_pending_uploads_per_user = 2\nmax_concurrent_games = 1\n".into()
    });
    // Two uploads' masks held by alice: the third is refused with 429, bob is still served.
    for _ in 0..2 {
        let rid = Uuid::new_v4();
        on_all(&nodes, move |n| async move {
            n.input_masks(
                &alice(),
                MaskRequest {
                    request_id: rid,
                    count: 1,
                },
            )
            .await
            .unwrap()
        })
        .await;
    }
    let e = nodes[0]
        .input_masks(
            &alice(),
            MaskRequest {
                request_id: Uuid::new_v4(),
                count: 1,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code.http_status(), 429, "{e}");
    assert_eq!(e.retry_after_secs, Some(1));
    assert!(e.message.contains("max_pending_uploads_per_user"), "{e}");
    masks(&nodes, bob, Uuid::new_v4()).await;

    // One game at a time: a game that waits for its peers holds the only slot.
    let slow = nodes[0].clone();
    let waiting = tokio::spawn(async move {
        slow.execute(
            &alice(),
            activation("print_ln('hi')\n", vec![], OutputKind::Plaintext),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let e = nodes[0]
        .execute(
            &bob(),
            activation("print_ln('hi')\n", vec![], OutputKind::Plaintext),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code.http_status(), 503, "{e}");
    assert!(e.message.contains("max_concurrent_games"), "{e}");
    assert!(nodes[0]
        .metrics
        .render()
        .contains("ephemeral_requests_limited_total{limit=\"max_concurrent_games\"} 1"));
    // The waiting game fails at the join deadline (party 1 never joined); then games run again.
    let _ = waiting.await.unwrap();
    for r in run(
        &nodes,
        bob(),
        activation("print_ln('hi')\n", vec![], OutputKind::Plaintext),
    )
    .await
    {
        assert_eq!(r.unwrap().printed, "hi\n");
    }
}

/// A game's summary and error are visible to the user who ran it only; another user cannot
/// take a user's pending upload masks, and trying does not spoil them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn games_and_pending_uploads_belong_to_their_user() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), |_| String::new());
    let act = activation("print_ln('ok')\n", vec![], OutputKind::Plaintext);
    let gid = act.game_id.clone().unwrap();
    for r in run(&nodes, alice(), act).await {
        r.unwrap();
    }
    assert!(nodes[0].game_summary(&gid, &alice()).is_some());
    assert!(nodes[0].game_summary(&gid, &bob()).is_none());

    let rid = Uuid::new_v4();
    let parts = masks(&nodes, alice, rid).await;
    let r = node::delivery::verify(&parts).unwrap();
    let body = MaskedInput {
        request_id: rid,
        secret_id: Uuid::new_v4(),
        masked: api::FieldVec::from_elements(&[Fp::from_i64(9) - r[0]]),
        tags: vec![],
    };
    let e = nodes[0]
        .create_secret(&bob(), body.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "{e}");
    // Alice's upload still goes through.
    let b = body.clone();
    on_all(&nodes, move |n| {
        let b = b.clone();
        async move { n.create_secret(&alice(), b).await.unwrap() }
    })
    .await;
    let _ = upload(&nodes, 5).await;
}

/// Over HTTP a refusal at a limit carries `Retry-After` and a JSON error naming the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_limit_answers_over_http_with_retry_after() {
    use axum::body::Body;
    use axum::http::{header, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), |_| {
        "[limits]\nmax_pending_uploads_per_user = 1\n".into()
    });
    masks(&nodes, alice, Uuid::new_v4()).await;
    let app = node::http::router(nodes[0].clone());
    let body = serde_json::json!({"request_id": Uuid::new_v4(), "count": 1});
    let req = Request::post("/v1/input-masks")
        .header(header::AUTHORIZATION, format!("Bearer {}", common::ALICE))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let e: api::ApiError = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(e.code, ErrorCode::TooManyRequests);
    assert_eq!(e.retry_after_secs, Some(1));
    assert!(e.message.contains("max_pending_uploads_per_user"), "{e}");
}

/// Rekey is an operator's action, and only for MASCOT parties (a dealer key follows from its
/// seed); both refusals change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rekey_is_refused_to_users_and_on_dealer_parties() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = common::in_process_cluster(2, |i| {
        let mut cfg = config(i, 2, dir.path(), "");
        cfg.clients[1].admin = true; // bob operates the parties
        cfg
    });
    let req = api::RekeyRequest {
        request_id: Uuid::new_v4(),
    };
    let e = nodes[0].rekey(&alice(), req.clone()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "{e}");
    assert!(e.message.contains("admin = true"), "{e}");
    let e = nodes[0].rekey(&bob(), req).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BadRequest, "{e}");
    assert!(e.message.contains("INSECURE dealer"), "{e}");
    use store::TupleStore;
    assert_eq!(nodes[0].tuples.key_generation().unwrap(), 0);
}
