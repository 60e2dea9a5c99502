//! Release benchmarks (ignored by default):
//! `cargo test --release -p offline -- --ignored --nocapture`.
//! `OFFLINE_BENCH_TRIPLES` sets the number of triples (default 20 000), `OFFLINE_BENCH_BATCH`
//! the batch size (default [`MascotConfig::default`]).

use crate::{bench_triples_with, BenchTransport, MascotConfig};

fn count() -> usize {
    std::env::var("OFFLINE_BENCH_TRIPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn bench(parties: usize, transport: BenchTransport) {
    let mut cfg = MascotConfig::default();
    if let Some(b) = std::env::var("OFFLINE_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.batch_size = b;
    }
    let r = bench_triples_with(parties, count(), transport, cfg).expect("benchmark run");
    println!("{r}");
    assert!(r.verified, "reconstructed triples or MACs were wrong");
}

#[test]
#[ignore = "benchmark; run in release"]
fn bench_triples_2_parties_in_process() {
    bench(2, BenchTransport::InProcess);
}

#[test]
#[ignore = "benchmark; run in release"]
fn bench_triples_2_parties_tls() {
    bench(2, BenchTransport::TlsLoopback);
}

#[test]
#[ignore = "benchmark; run in release"]
fn bench_triples_3_parties_tls() {
    bench(3, BenchTransport::TlsLoopback);
}
