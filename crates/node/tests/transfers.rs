//! Large uploads and downloads: their most values follow from the memory budget
//! (`limits.transfer_memory_mib`, 413 beyond, naming the maximum), and a transfer of several
//! chunks (`node::transfer::CHUNK` values each, one reservation per chunk) delivers exactly what
//! one delivery would: the client's check passes and the values round-trip.

mod common;

use std::sync::Arc;

use api::{DownloadRequest, ErrorCode, MaskRequest, MaskedInput};
use field::Fp;
use node::{Node, User};
use uuid::Uuid;

fn alice() -> User {
    User {
        name: "alice".into(),
    }
}

fn cluster(n: usize, dir: &std::path::Path, limits: &str) -> Vec<Arc<Node>> {
    common::in_process_cluster(n, |i| common::dealer_config(i, n, dir, limits, "", 10))
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

async fn masks(
    nodes: &[Arc<Node>],
    rid: Uuid,
    count: u64,
) -> Vec<Result<api::OutputDelivery, api::ApiError>> {
    on_all(nodes, move |n| async move {
        n.input_masks(
            &alice(),
            MaskRequest {
                request_id: rid,
                count,
            },
        )
        .await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_most_values_of_a_transfer_follow_from_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), "[limits]\ntransfer_memory_mib = 4\n");
    let max = nodes[0].max_transfer_values();
    // 4 MiB at about 1.6 KiB a value while one chunk is worked on.
    assert_eq!(
        max,
        (4 << 20) / (node::secrets::WORK_BYTES_PER_VALUE + node::secrets::HELD_BYTES_PER_VALUE)
    );
    let e = nodes[0]
        .input_masks(
            &alice(),
            MaskRequest {
                request_id: Uuid::new_v4(),
                count: max + 1,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PayloadTooLarge, "{e}");
    assert_eq!(e.code.http_status(), 413);
    assert!(
        e.message.contains(&format!("maximum of {max} values")),
        "{e}"
    );
    assert!(e.message.contains("limits.transfer_memory_mib = 4"), "{e}");
    assert!(e.message.contains("split the data"), "{e}");
    // The maximum itself is served.
    for r in masks(&nodes, Uuid::new_v4(), max).await {
        assert_eq!(r.unwrap().s.len() as u64, max);
    }

    // With the default budget (1 GiB): one chunk's work, then the held bytes of every value.
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path(), "");
    let max = nodes[0].max_transfer_values();
    let chunk = node::transfer::CHUNK as u64;
    assert_eq!(
        max,
        ((1 << 30) - chunk * node::secrets::WORK_BYTES_PER_VALUE)
            / node::secrets::HELD_BYTES_PER_VALUE
    );
    // A smaller body limit bounds it too: the upload's masked values must fit one body.
    let dir = tempfile::tempdir().unwrap();
    let nodes = common::in_process_cluster(2, |i| {
        common::dealer_config(i, 2, dir.path(), "", "max_body_bytes = 2097152", 10)
    });
    let max = nodes[0].max_transfer_values();
    assert_eq!(max, (2097152 - 1024) / 22);
    let e = nodes[1]
        .input_masks(
            &alice(),
            MaskRequest {
                request_id: Uuid::new_v4(),
                count: max + 1,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code.http_status(), 413, "{e}");
    assert!(e.message.contains("api.max_body_bytes"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfers_of_several_chunks_verify_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(3, dir.path(), "");
    let k = 2 * node::transfer::CHUNK + 1000;
    let rid = Uuid::new_v4();
    let parts: Vec<_> = masks(&nodes, rid, k as u64)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let r = node::delivery::verify(&parts).expect("masks verify");
    assert_eq!(r.len(), k);
    let x: Vec<Fp> = (0..k as i64).map(|i| Fp::from_i64(i * 31 - 7)).collect();
    let sid = Uuid::new_v4();
    let body = MaskedInput {
        request_id: rid,
        secret_id: sid,
        masked: api::FieldVec::from_elements(
            &x.iter().zip(&r).map(|(x, r)| *x - *r).collect::<Vec<_>>(),
        ),
        tags: vec![],
    };
    for r in on_all(&nodes, move |n| {
        let body = body.clone();
        async move { n.create_secret(&alice(), body).await }
    })
    .await
    {
        r.unwrap();
    }
    let did = Uuid::new_v4();
    let parts: Vec<_> = on_all(&nodes, move |n| async move {
        n.download_secret(&alice(), sid, DownloadRequest { request_id: did })
            .await
    })
    .await
    .into_iter()
    .map(|r| r.unwrap())
    .collect();
    assert_eq!(
        node::delivery::verify(&parts).expect("download verifies"),
        x
    );
}
