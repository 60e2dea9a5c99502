//! Security review, issue 9: a game cannot read the raw bytes (value share ‖ MAC share) of its
//! input secrets as public values. The attack program reads the input client's stream with
//! `cint.read_from_socket` (or `regint`) and writes what it got back to the client: on a node
//! that allowed it, PLAINTEXT output would return every party's value share and MAC share, and
//! α = Σm_i / Σv_i. Every party must refuse the read with a 4xx error that says what to do, and
//! return no output at all.

mod common;

use std::sync::Arc;

use api::{Activation, ErrorCode, GameOutput, MaskRequest, MaskedInput, OutputKind, OutputSpec};
use field::Fp;
use node::{Node, User};
use uuid::Uuid;

fn user() -> User {
    User {
        name: "alice".into(),
    }
}

/// `n` nodes over in-process channels with the INSECURE dealer.
fn cluster(n: usize, dir: &std::path::Path) -> Vec<Arc<Node>> {
    common::in_process_cluster(n, |i| common::dealer_config(i, n, dir, "", "", 5))
}

async fn join_all<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
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

/// Uploads `values` as one secret through the input-mask protocol.
async fn upload(nodes: &[Arc<Node>], values: &[i64]) -> Uuid {
    let rid = Uuid::new_v4();
    let req = MaskRequest {
        request_id: rid,
        count: values.len() as u64,
    };
    let parts = join_all(nodes.iter().map(|n| {
        let (n, req) = (n.clone(), req.clone());
        async move { n.input_masks(&user(), req).await }
    }))
    .await;
    let parts: Vec<_> = parts.into_iter().map(|p| p.expect("masks")).collect();
    let r = node::delivery::verify(&parts).expect("masks verify");
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
        tags: vec![],
    };
    for r in join_all(nodes.iter().map(|n| {
        let (n, body) = (n.clone(), body.clone());
        async move { n.create_secret(&user(), body).await }
    }))
    .await
    {
        r.expect("secret created");
    }
    sid
}

async fn execute(
    nodes: &[Arc<Node>],
    code: &str,
    input: Uuid,
) -> Vec<Result<api::GameResult, api::ApiError>> {
    let act = Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(code.into()),
        inputs: vec![input],
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    };
    join_all(nodes.iter().map(|n| {
        let (n, act) = (n.clone(), act.clone());
        async move { n.execute(&user(), act).await }
    }))
    .await
}

fn attack(ty: &str) -> String {
    format!(
        "listen_for_clients(14000)\nc = accept_client_connection(14000)\n\
         v = {ty}.read_from_socket(c, 2)\n{ty}.write_to_socket(c, v)\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn games_cannot_read_their_input_shares_and_macs_as_public_values() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(3, dir.path());
    let secret = upload(&nodes, &[42]).await;
    for (ty, reader) in [
        ("cint", "cint.read_from_socket"),
        ("regint", "regint.read_from_socket"),
    ] {
        let res = execute(&nodes, &attack(ty), secret).await;
        for (p, r) in res.into_iter().enumerate() {
            // No GameResult at all: no output values, no printed text, nothing of a share or MAC.
            let e = r.expect_err("the raw read must be refused");
            assert_eq!(e.code, ErrorCode::ProgramFailed, "party {p}: {e:?}");
            assert_eq!(ErrorCode::ProgramFailed.http_status(), 422);
            assert!(
                e.message.contains("carries the game's secret inputs only")
                    && e.message.contains(reader)
                    && e.message.contains("read them with sint.read_from_socket"),
                "party {p}: {}",
                e.message
            );
        }
    }
    // The same secret read as a secret still works: the refusal above is the check, not a
    // broken set-up. (One input secret holds one value, so the program reads one.)
    let ok = "listen_for_clients(14000)\nc = accept_client_connection(14000)\n\
              v = sint.read_from_socket(c, 1)\nsint.write_to_socket(c, v)\n";
    for r in execute(&nodes, ok, secret).await {
        assert_eq!(
            r.expect("a secret read runs").output,
            GameOutput::Plaintext {
                values: vec!["42".into()]
            }
        );
    }
}
