//! In-process tests of the node's MPC services: N nodes over in-process channels (no HTTP, no
//! TLS), with the INSECURE dealer. The HTTP API and the gateway have tests of their own; the
//! end-to-end tests run node processes.

use std::sync::Arc;

use api::{
    Activation, DownloadRequest, ErrorCode, GameOutput, MaskRequest, MaskedInput, OutputKind,
    OutputSpec,
};
use field::Fp;
use uuid::Uuid;

use crate::config::NodeConfig;
use crate::coord::InProcessChannels;
use crate::{Node, User};
use store::SecretStore;

pub(crate) const SEED_HEX: &str =
    "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

fn user() -> User {
    User { name: "dev".into() }
}

/// N in-process nodes; `tamper[i]` sets party i's `insecure_tamper`.
pub(crate) fn cluster(n: usize, dir: &std::path::Path, tamper: &[(usize, &str)]) -> Vec<Arc<Node>> {
    cluster_with(n, dir, tamper, |_| {})
}

/// As [`cluster`], with every party's config edited by `edit`.
fn cluster_with(
    n: usize,
    dir: &std::path::Path,
    tamper: &[(usize, &str)],
    edit: impl Fn(&mut NodeConfig),
) -> Vec<Arc<Node>> {
    let parties: Vec<(String, String)> = (0..n)
        .map(|i| {
            (
                format!("http://127.0.0.1:{}", 17000 + i),
                format!("127.0.0.1:{}", 17100 + i),
            )
        })
        .collect();
    InProcessChannels::cluster(n)
        .into_iter()
        .enumerate()
        .map(|(i, ch)| {
            let mut text = crate::node::dev_config_text(i, &parties, dir, SEED_HEX, "t");
            if let Some((_, stage)) = tamper.iter().find(|(p, _)| *p == i) {
                text = format!("insecure_tamper = \"{stage}\"\n{text}");
            }
            let mut cfg = NodeConfig::parse(&text, "test", dir).expect("dev config parses");
            cfg.timeouts.join_secs = 5.0;
            cfg.timeouts.recv_secs = 5.0;
            edit(&mut cfg);
            Arc::new(Node::assemble(cfg, None, Arc::new(ch)).expect("node assembles"))
        })
        .collect()
}

async fn upload(nodes: &[Arc<Node>], values: &[i64]) -> Result<Uuid, api::ApiError> {
    let rid = Uuid::new_v4();
    let req = MaskRequest {
        request_id: rid,
        count: values.len() as u64,
    };
    let parts = futures_join(nodes.iter().map(|n| {
        let n = n.clone();
        let req = req.clone();
        async move { n.input_masks(&user(), req).await }
    }))
    .await;
    let parts: Vec<_> = parts.into_iter().collect::<Result<_, _>>()?;
    let r = crate::delivery::verify(&parts).map_err(|i| {
        api::ApiError::new(
            ErrorCode::IntegrityViolation,
            format!("mask {i} does not verify"),
        )
    })?;
    let masked: Vec<Fp> = values
        .iter()
        .zip(&r)
        .map(|(&x, &r)| Fp::from_i64(x) - r)
        .collect();
    let sid = Uuid::new_v4();
    let body = MaskedInput {
        request_id: rid,
        secret_id: sid,
        masked: api::FieldVec::from_elements(&masked),
        tags: vec![api::Tag::string("k", "v")],
    };
    let res = futures_join(nodes.iter().map(|n| {
        let n = n.clone();
        let body = body.clone();
        async move { n.create_secret(&user(), body).await }
    }))
    .await;
    for r in res {
        r?;
    }
    Ok(sid)
}

async fn download(nodes: &[Arc<Node>], id: Uuid) -> Result<Vec<i128>, api::ApiError> {
    let req = DownloadRequest {
        request_id: Uuid::new_v4(),
    };
    let parts = futures_join(nodes.iter().map(|n| {
        let n = n.clone();
        let req = req.clone();
        async move { n.download_secret(&user(), id, req).await }
    }))
    .await;
    let parts: Vec<_> = parts.into_iter().collect::<Result<_, _>>()?;
    let s = crate::delivery::verify(&parts).map_err(|i| {
        api::ApiError::new(
            ErrorCode::IntegrityViolation,
            format!("value {i} does not verify"),
        )
    })?;
    Ok(s.iter().map(|x| x.to_signed()).collect())
}

async fn execute(
    nodes: &[Arc<Node>],
    act: Activation,
) -> Vec<Result<api::GameResult, api::ApiError>> {
    futures_join(nodes.iter().map(|n| {
        let n = n.clone();
        let act = act.clone();
        async move { n.execute(&user(), act).await }
    }))
    .await
}

/// Runs futures concurrently on the runtime and collects their results in order.
async fn futures_join<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

const SEED_PROGRAM: &str = "listen(10000)\nclient_socket_id = regint()\nacceptclientconnection(client_socket_id, 10000)\nv = sint.read_from_socket(client_socket_id, 2)\na = v[0]\nb = v[1]\nsum = a + b\nresp = Array(1, sint)\nresp[0] = sum\nsint.write_to_socket(client_socket_id, resp)\n";

fn activation(code: &str, inputs: Vec<Uuid>, kind: OutputKind) -> Activation {
    Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(code.into()),
        inputs,
        output: OutputSpec { kind, tags: vec![] },
        ..Activation::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upload_download_and_the_seed_example_in_every_output_mode() {
    for n in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let nodes = cluster(n, dir.path(), &[]);
        let a = upload(&nodes, &[42, -7]).await.unwrap();
        assert_eq!(download(&nodes, a).await.unwrap(), vec![42, -7]);
        let b = upload(&nodes, &[17]).await.unwrap();
        let c = upload(&nodes, &[0]).await.unwrap();

        // PLAINTEXT: 42 + (-7) from one secret of two values.
        let res = execute(
            &nodes,
            activation(SEED_PROGRAM, vec![a], OutputKind::Plaintext),
        )
        .await;
        for r in &res {
            let r = r.as_ref().unwrap();
            assert_eq!(
                r.output,
                GameOutput::Plaintext {
                    values: vec!["35".into()]
                }
            );
        }
        // Two secrets read as one stream: 17 + 0.
        let res = execute(
            &nodes,
            activation(SEED_PROGRAM, vec![b, c], OutputKind::Plaintext),
        )
        .await;
        assert_eq!(
            res[0].as_ref().unwrap().output,
            GameOutput::Plaintext {
                values: vec!["17".into()]
            }
        );
        // SECRETSHARE: verify the delivery.
        let res = execute(
            &nodes,
            activation(SEED_PROGRAM, vec![a], OutputKind::SecretShare),
        )
        .await;
        let parts: Vec<_> = res
            .into_iter()
            .map(|r| match r.unwrap().output {
                GameOutput::SecretShare { delivery } => delivery,
                o => panic!("unexpected {o:?}"),
            })
            .collect();
        assert_eq!(
            crate::delivery::verify(&parts).unwrap(),
            vec![Fp::from_i64(35)]
        );
        // AMPHORASECRET: the same new id on every party, readable by download.
        let res = execute(
            &nodes,
            activation(SEED_PROGRAM, vec![a], OutputKind::AmphoraSecret),
        )
        .await;
        let ids: Vec<_> = res
            .into_iter()
            .map(|r| match r.unwrap().output {
                GameOutput::AmphoraSecret { ids } => ids,
                o => panic!("unexpected {o:?}"),
            })
            .collect();
        assert!(ids.iter().all(|i| i == &ids[0]) && ids[0].len() == 1);
        assert_eq!(download(&nodes, ids[0][0]).await.unwrap(), vec![35]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn games_needing_tuples_and_private_input_run_and_top_up() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), &[]);
    // A run-time loop bound: the compiler cannot count its products, so the game tops up.
    let code = "n = public_input()\nx = sint.get_input_from(0)\nacc = MemValue(sint(1))\n@for_range(n)\ndef _(i):\n    acc.write(acc.read() * x)\nprint_ln('%s', (acc.read() < 1000).reveal())\nprint_ln('%s', acc.read().reveal())\n";
    let mut act = activation(code, vec![], OutputKind::Plaintext);
    act.public_input = Some("20000".into());
    let mut futs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut a = act.clone();
        a.private_input = if i == 0 { Some("1".into()) } else { None };
        let node = node.clone();
        futs.push(tokio::spawn(async move { node.execute(&user(), a).await }));
    }
    let mut results = Vec::new();
    for f in futs {
        results.push(f.await.unwrap());
    }
    let r0 = results[0].as_ref().unwrap();
    assert_eq!(r0.printed, "1\n1\n");
    assert!(r0.stats.triples >= 20000, "{:?}", r0.stats);
    assert!(results[1].is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampering_is_detected_at_upload_execution_and_download() {
    let dir = tempfile::tempdir().unwrap();
    // Upload: a wrong mask share fails the client's check.
    let nodes = cluster(2, &dir.path().join("u"), &[(1, "upload")]);
    let e = upload(&nodes, &[5]).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::IntegrityViolation);

    // Store: a party claiming other masked values makes every party refuse.
    let nodes = cluster(3, &dir.path().join("s"), &[(2, "store")]);
    let e = upload(&nodes, &[5]).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
    assert!(nodes[0]
        .secrets
        .list(&store::ListQuery::all())
        .unwrap()
        .items
        .is_empty());

    // Download: a wrong share fails the client's check.
    let nodes = cluster(2, &dir.path().join("d"), &[(0, "download")]);
    let id = upload(&nodes, &[5]).await.unwrap();
    let e = download(&nodes, id).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::IntegrityViolation);

    // Execution: a wrong input share fails the MAC check on every party; nothing is stored.
    let nodes = cluster(2, &dir.path().join("x"), &[(1, "execution")]);
    let id = upload(&nodes, &[5, 6]).await.unwrap();
    let res = execute(
        &nodes,
        activation(SEED_PROGRAM, vec![id], OutputKind::Plaintext),
    )
    .await;
    for r in res {
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::IntegrityViolation, "{e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_game_past_its_wall_clock_deadline_fails_with_a_timeout_on_every_party() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster_with(2, dir.path(), &[], |cfg| cfg.timeouts.game_secs = 0.5);
    let endless = "@while_do(lambda: regint(1))\ndef _():\n    pass\n";
    let t = std::time::Instant::now();
    let res = execute(&nodes, activation(endless, vec![], OutputKind::Plaintext)).await;
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    for r in res {
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::Timeout, "{e:?}");
        assert!(e.message.contains("timeouts.game_secs"), "{}", e.message);
    }
    // The parties serve the next game.
    let res = execute(
        &nodes,
        activation(
            "print_ln('%s', sint(5).reveal())",
            vec![],
            OutputKind::Plaintext,
        ),
    )
    .await;
    assert_eq!(res[0].as_ref().unwrap().printed, "5\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mismatched_activations_and_reused_game_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), &[]);
    let a = activation(
        "print_ln('%s', sint(1).reveal())",
        vec![],
        OutputKind::Plaintext,
    );
    let mut b = a.clone();
    b.code = Some("print_ln('%s', sint(2).reveal())".into());
    let (r0, r1) = tokio::join!(
        {
            let n = nodes[0].clone();
            let a = a.clone();
            async move { n.execute(&user(), a).await }
        },
        {
            let n = nodes[1].clone();
            async move { n.execute(&user(), b).await }
        }
    );
    assert_eq!(r0.unwrap_err().code, ErrorCode::Conflict);
    assert_eq!(r1.unwrap_err().code, ErrorCode::Conflict);
    // The id is now taken on both parties.
    let e = nodes[0].execute(&user(), a).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("fresh id"), "{}", e.message);
}

/// Latency of the seed example through the node services (no HTTP, no TLS), warm. Run with
/// `cargo test --release -p node --lib -- --ignored --nocapture seed_latency`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn seed_latency() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), &[]);
    let a = upload(&nodes, &[42, -7]).await.unwrap();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let res = execute(
            &nodes,
            activation(SEED_PROGRAM, vec![a], OutputKind::Plaintext),
        )
        .await;
        times.push(t.elapsed());
        assert!(res.iter().all(|r| r.is_ok()));
    }
    times.sort();
    println!(
        "seed example in-process: median {:?}, p90 {:?}",
        times[100], times[180]
    );
}
