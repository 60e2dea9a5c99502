//! The party-node benchmarks of docs/BENCHMARKS.md: N nodes in this process, each with its own
//! gateway (mutual TLS on loopback), HTTP API and stores, driven through the client SDK exactly
//! as a user would: invocation latency of the seed example, invocations per second with 16
//! concurrent clients, and secret upload and download throughput.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::Context;
use api::{Activation, OutputKind, OutputSpec};
use uuid::Uuid;

const SEED: &str = include_str!("../../../examples/seed.mpc");

struct Cloud {
    nodes: Vec<node::RunningNode>,
    client: client::Client,
    _dir: tempfile::TempDir,
}

async fn start_cloud(n: usize) -> anyhow::Result<Cloud> {
    let dir = tempfile::tempdir()?;
    let mut apis = Vec::new();
    let mut mpcs = Vec::new();
    let mut parties = Vec::new();
    for i in 0..n {
        let api = TcpListener::bind("127.0.0.1:0")?;
        let mpc = TcpListener::bind("127.0.0.1:0")?;
        parties.push((
            format!("http://{}", api.local_addr()?),
            mpc.local_addr()?.to_string(),
        ));
        let id = net::tls::dev_identity(i)?;
        std::fs::write(dir.path().join(format!("party{i}.pem")), &id.cert_pem)?;
        std::fs::write(dir.path().join(format!("party{i}.key")), &id.key_pem)?;
        apis.push(api);
        mpcs.push(mpc);
    }
    let seed = "42".repeat(32);
    let mut nodes = Vec::new();
    for (i, (api, mpc)) in apis.into_iter().zip(mpcs).enumerate() {
        let text = node::dev_config_text(i, &parties, dir.path(), &seed, "bench-token");
        let path = dir.path().join(format!("party{i}.toml"));
        std::fs::write(&path, text)?;
        let cfg = node::config::NodeConfig::load(&path)?;
        nodes.push(node::Node::start_on(cfg, api, mpc).await?);
    }
    for r in &nodes {
        if let Some(g) = &r.node.gateway {
            g.wait_connected(Duration::from_secs(30)).await?;
        }
    }
    let cfg = client::CloudConfig::new(
        parties
            .iter()
            .enumerate()
            .map(|(id, (url, _))| client::PartyConfig {
                id,
                url: url.clone(),
                token: Some("bench-token".into()),
                ca_cert: None,
            })
            .collect(),
    )?;
    Ok(Cloud {
        nodes,
        client: client::Client::new(cfg)?,
        _dir: dir,
    })
}

fn seed_activation(a: Uuid, b: Uuid) -> Activation {
    Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(SEED.into()),
        inputs: vec![a, b],
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct NodeFigures {
    parties: usize,
    latency: Vec<Duration>,
    throughput: f64,
    upload: f64,
    download: f64,
    values: usize,
}

async fn measure(n: usize, quick: bool) -> anyhow::Result<NodeFigures> {
    let cloud = start_cloud(n).await?;
    let c = &cloud.client;
    let a = c.create_secret_i128(&[42], vec![]).await?;
    let b = c.create_secret_i128(&[17], vec![]).await?;
    // Warm: the compile cache holds the program, the connections stand.
    for _ in 0..20 {
        c.execute(seed_activation(a, b)).await?;
    }
    let runs = if quick { 100 } else { 500 };
    let mut latency = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let r = c.execute(seed_activation(a, b)).await?;
        latency.push(t.elapsed());
        anyhow::ensure!(
            r.outputs.to_i128()? == vec![59],
            "the seed example returned a wrong sum"
        );
    }
    latency.sort();

    let per_client = if quick { 25 } else { 100 };
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                c.execute(seed_activation(a, b)).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let throughput = (16 * per_client) as f64 / t.elapsed().as_secs_f64();

    let values = if quick { 10_000 } else { 100_000 };
    let data: Vec<i128> = (0..values as i128).collect();
    let t = Instant::now();
    let id = c.create_secret_i128(&data, vec![]).await?;
    let upload = values as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = c.get_secret_i128(id).await?;
    let download = values as f64 / t.elapsed().as_secs_f64();
    anyhow::ensure!(
        back == data,
        "the downloaded secret differs from the upload"
    );
    for r in cloud.nodes {
        r.stop().await;
    }
    Ok(NodeFigures {
        parties: n,
        latency,
        throughput,
        upload,
        download,
        values,
    })
}

/// Runs the node benchmarks and appends their section to `md`.
pub fn section(md: &mut String, parties: &[usize], quick: bool) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut rows = Vec::new();
    for &n in parties {
        eprintln!("{n} party nodes: latency, throughput, upload, download ...");
        let f = rt.block_on(measure(n, quick))?;
        eprintln!(
            "  seed example median {:.2} ms, {:.0} invocations/s, upload {:.0} values/s, download {:.0} values/s",
            pct(&f.latency, 0.5).as_secs_f64() * 1e3,
            f.throughput,
            f.upload,
            f.download
        );
        rows.push(f);
    }
    writeln!(md, "## Party nodes\n")?;
    writeln!(md, "N nodes in one process, each with its own HTTP API (axum), mutual-TLS gateway on loopback and redb stores (fsync on commit), INSECURE dealer tuples generated by the nodes; driven through the client SDK over HTTP, as a user would. Latency: client call to verified result, warm (compile cache hit, connections up), sequential. Throughput: 16 concurrent clients, each invoking in a loop. Upload: the input-mask protocol (masks via output delivery, then masked values, checked equal on every party); download: verified output delivery.\n")?;
    writeln!(md, "| parties | seed example latency, median | p90 | p99 | invocations/s, 16 clients | upload, values/s | download, values/s | target |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|")?;
    for f in &rows {
        writeln!(
            md,
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} | {:.0} ({} values) | {:.0} | {} |",
            f.parties,
            pct(&f.latency, 0.5).as_secs_f64() * 1e3,
            pct(&f.latency, 0.9).as_secs_f64() * 1e3,
            pct(&f.latency, 0.99).as_secs_f64() * 1e3,
            f.throughput,
            f.upload,
            f.values,
            f.download,
            if f.parties == 2 {
                "latency < 10 ms median (the original: seconds)"
            } else {
                "–"
            }
        )?;
    }
    writeln!(md)?;
    Ok(())
}
