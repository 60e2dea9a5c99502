//! Release benchmarks (ignored by default):
//! `cargo test --release -p offline -- --ignored --nocapture`.
//! `OFFLINE_BENCH_TRIPLES` sets the number of triples (default 20 000).

use crate::{bench_triples, BenchTransport};

fn count() -> usize {
    std::env::var("OFFLINE_BENCH_TRIPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn bench(parties: usize, transport: BenchTransport) {
    let r = bench_triples(parties, count(), transport).expect("benchmark run");
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
