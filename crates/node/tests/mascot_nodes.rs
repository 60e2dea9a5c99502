//! Two and three nodes with real gateways (mutual TLS on loopback) and MASCOT, the default
//! generator: party 0 schedules generation jobs, every party runs them, and uploads and games
//! run on the tuples they made.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{Activation, GameOutput, MaskRequest, MaskedInput, OutputKind, OutputSpec};
use field::Fp;
use node::{Node, RunningNode, User};
use uuid::Uuid;

fn user() -> User {
    User { name: "dev".into() }
}

async fn start(n: usize, dir: &std::path::Path) -> Vec<RunningNode> {
    let (parties, listeners) = common::prepare(n, dir, "http");
    let mut nodes = Vec::new();
    for (i, (api, mpc)) in listeners.into_iter().enumerate() {
        let text = node::dev_config_text(i, &parties, dir, &"11".repeat(32), "t");
        // MASCOT instead of the dealer, with small jobs.
        let i0 = text.find("[tuples]").unwrap();
        let i1 = text[i0..].find("[[parties]]").unwrap() + i0;
        let text = format!(
            "{}[timeouts]\nrecv_secs = 30\njoin_secs = 10\n\n[tuples]\ncheck_secs = 0.2\n[tuples.pools.triple]\nthreshold = 3000\nbatch = 3000\n[tuples.pools.bit]\nthreshold = 500\nbatch = 500\n[tuples.pools.square]\nthreshold = 200\nbatch = 200\n[tuples.pools.inverse]\nthreshold = 200\nbatch = 200\n[tuples.pools.input_mask]\nthreshold = 200\nbatch = 200\n\n{}",
            &text[..i0],
            &text[i1..]
        );
        let path = dir.join(format!("party{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let cfg = node::config::NodeConfig::load(&path).unwrap();
        nodes.push(Node::start_on(cfg, api, mpc).await.unwrap());
    }
    nodes
}

/// Waits until party 0 sees at least `n` triples available on every party.
async fn wait_for_triples(nodes: &[RunningNode], n: u64) {
    let t = Instant::now();
    loop {
        let ok = nodes.iter().all(|r| {
            r.node
                .tuple_stats()
                .unwrap()
                .kinds
                .iter()
                .any(|k| k.kind == "triple" && k.available >= n)
        });
        if ok {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "MASCOT did not fill the triple pools in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn all<T: Send + 'static>(
    nodes: &[Arc<Node>],
    f: impl Fn(Arc<Node>) -> tokio::task::JoinHandle<T>,
) -> Vec<T> {
    let hs: Vec<_> = nodes.iter().cloned().map(f).collect();
    let mut out = Vec::new();
    for h in hs {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mascot_tuples_serve_uploads_and_games() {
    for n in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let running = start(n, dir.path()).await;
        let nodes: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        assert_eq!(nodes[0].health().generator, "mascot");
        wait_for_triples(&running, 3000).await;

        // Upload 6 and 7 (masks from MASCOT triples), then multiply and compare in a game.
        let mut ids = Vec::new();
        for x in [6i64, 7] {
            let rid = Uuid::new_v4();
            let parts = all(&nodes, |node| {
                tokio::spawn(async move {
                    node.input_masks(
                        &user(),
                        MaskRequest {
                            request_id: rid,
                            count: 1,
                        },
                    )
                    .await
                    .unwrap()
                })
            })
            .await;
            let r = node::delivery::verify(&parts).expect("masks verify");
            let sid = Uuid::new_v4();
            let body = MaskedInput {
                request_id: rid,
                secret_id: sid,
                masked: api::FieldVec::from_elements(&[Fp::from_i64(x) - r[0]]),
                tags: vec![],
            };
            all(&nodes, |node| {
                let body = body.clone();
                tokio::spawn(async move { node.create_secret(&user(), body).await.unwrap() })
            })
            .await;
            ids.push(sid);
        }
        let code = "listen(10000)\nc = regint()\nacceptclientconnection(c, 10000)\nv = sint.read_from_socket(c, 2)\nr = Array(2, sint)\nr[0] = v[0] * v[1]\nr[1] = v[0] < v[1]\nsint.write_to_socket(c, r)\n";
        let act = Activation {
            game_id: Some(Uuid::new_v4().to_string()),
            code: Some(code.into()),
            inputs: ids.clone(),
            output: OutputSpec {
                kind: OutputKind::Plaintext,
                tags: vec![],
            },
            ..Activation::default()
        };
        let res = all(&nodes, |node| {
            let act = act.clone();
            tokio::spawn(async move { node.execute(&user(), act).await })
        })
        .await;
        for r in res {
            let r = r.unwrap();
            assert_eq!(
                r.output,
                GameOutput::Plaintext {
                    values: vec!["42".into(), "1".into()]
                }
            );
        }
        let stats = nodes[0].tuple_stats().unwrap();
        assert_eq!(stats.generator, "mascot");
        assert!(stats.jobs_completed > 0);
        for r in running {
            r.stop().await;
        }
    }
}

/// Every binary-domain kind in party `p`'s tuple stats: (label, available, consumed).
fn binary_stats(node: &Node) -> Vec<(String, u64, u64)> {
    node.tuple_stats()
        .unwrap()
        .kinds
        .into_iter()
        .filter(|k| store::tuple::parse_kind_label(&k.kind).is_some_and(store::tuple::is_binary))
        .map(|k| (k.kind, k.available, k.consumed))
        .collect()
}

/// Comparisons in a game on MASCOT nodes run on the mixed-circuit kernels: the game reserves
/// binary triples and wide edaBits (made on demand by MASCOT jobs with the binary generators,
/// under a binary key share every party made at its first binary job), the results are right,
/// and every party consumed the same binary tuples. A second game consumes further ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn comparisons_on_mascot_nodes_consume_binary_tuples() {
    for n in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let running = start(n, dir.path()).await;
        let nodes: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        // 60 comparisons a[i] < 7 with a[i] = i − 30 and 60 equalities a[i] == 4.
        let code = "n = 60\n\
                    a = sint.Array(n)\n\
                    @for_range(n)\n\
                    def _(i):\n    a[i] = sint(i) - 30\n\
                    print_ln('%s %s', sum((a[:] < 7).reveal()), sum((a[:] == 4).reveal()))\n";
        let mut consumed_before: Option<Vec<(String, u64, u64)>> = None;
        for round in 0..2 {
            let act = Activation {
                game_id: Some(Uuid::new_v4().to_string()),
                code: Some(code.into()),
                output: OutputSpec {
                    kind: OutputKind::Plaintext,
                    tags: vec![],
                },
                ..Activation::default()
            };
            let res = all(&nodes, |node| {
                let act = act.clone();
                tokio::spawn(async move { node.execute(&user(), act).await })
            })
            .await;
            for r in res {
                let r = r.unwrap_or_else(|e| panic!("N = {n}, round {round}: {e}"));
                assert_eq!(r.printed.trim(), "37 1", "N = {n}");
            }
            let stats: Vec<Vec<(String, u64, u64)>> =
                nodes.iter().map(|node| binary_stats(node)).collect();
            let consumed: Vec<Vec<(String, u64)>> = stats
                .iter()
                .map(|s| s.iter().map(|(k, _, c)| (k.clone(), *c)).collect())
                .collect();
            assert!(
                consumed.iter().all(|c| c == &consumed[0]),
                "N = {n}: {consumed:?}"
            );
            let of = |label: &str| {
                consumed[0]
                    .iter()
                    .filter(|(k, _)| k.starts_with(label))
                    .map(|(_, c)| *c)
                    .sum::<u64>()
            };
            assert!(of("bit-triple") > 0, "N = {n}: {consumed:?}");
            assert!(of("wide-edabit-") >= 60, "N = {n}: {consumed:?}");
            if let Some(before) = &consumed_before {
                // The second game consumed as much again, from further tuples.
                for ((k, _, c0), (k1, _, c1)) in before.iter().zip(&stats[0]) {
                    assert_eq!(k, k1);
                    assert_eq!(*c1, 2 * c0, "N = {n}, {k}");
                }
            }
            consumed_before = Some(stats[0].clone());
        }
        let s = nodes[0].tuple_stats().unwrap();
        assert_eq!(s.generator, "mascot");
        for r in running {
            r.stop().await;
        }
    }
}
