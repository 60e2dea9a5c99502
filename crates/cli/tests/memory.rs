//! Memory behaviour of real `ephemeral node` processes: after a large upload and download, each
//! party's resident set (VmRSS in /proc/<pid>/status) comes back to within [`MARGIN_MIB`] of what
//! it was before, without any further request. This is what the allocator settings of the
//! `ephemeral` binary (jemalloc with background purging, `crates/cli/src/main.rs`), the bounded
//! store caches and the chunked, streamed transfers are for; docs/BENCHMARKS.md ("Memory of
//! transfers") has the figures at full size.
//!
//! A memory test, not a timing test: the only time bound is how long the parties get to give
//! their memory back ([`SETTLE`]).

mod e2e_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_support::{Cluster, Options};

/// Values of the large secret: 2^18 (16 of the node's transfer chunks), enough to raise every
/// party's resident set by well over [`MIN_RISE_MIB`]. `EPHEMERAL_MEMORY_VALUES` sets another
/// count (docs/BENCHMARKS.md measures 2^20 this way).
const VALUES: usize = 1 << 18;

/// How far above its baseline a party may stay, MiB.
const MARGIN_MIB: u64 = 24;

/// The transfer must first raise some party's resident set by at least this much, MiB: a test
/// whose transfer cost no memory could not fail.
const MIN_RISE_MIB: u64 = 3 * MARGIN_MIB;

/// How long the parties get to return to their baseline (jemalloc purges unused pages over its
/// ten-second decay).
const SETTLE: Duration = Duration::from_secs(25);

/// VmRSS of process `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

fn rss_all(pids: &[u32]) -> Vec<u64> {
    pids.iter().map(|&p| rss_kib(p)).collect()
}

/// Waits until no party's resident set moved by more than 2 MiB over one second (at most 15 s),
/// and returns it.
fn settled(pids: &[u32]) -> Vec<u64> {
    let t = Instant::now();
    let mut last = rss_all(pids);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = rss_all(pids);
        let still = now.iter().zip(&last).all(|(a, b)| a.abs_diff(*b) < 2048);
        if still || t.elapsed() > Duration::from_secs(15) {
            return now;
        }
        last = now;
    }
}

#[test]
fn resident_memory_returns_to_the_baseline_after_a_large_upload_and_download() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("memory test skipped: no /proc on this system");
        return;
    }
    // Long deadlines: party 0 makes a large transfer's dealer tuples while the others wait.
    let c = Cluster::start(
        2,
        Options {
            deadline_secs: Some(120),
            ..Options::default()
        },
    );
    let pids: Vec<u32> = (0..c.n).map(|i| c.pid(i).expect("running")).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = c.client_with_timeout(300);

    // Warm up every path a transfer takes (TLS-less HTTP, sessions, stores) with a small one.
    rt.block_on(async {
        let id = client.create_secret_i128(&[1, 2, 3], vec![]).await.unwrap();
        assert_eq!(client.get_secret_i128(id).await.unwrap(), vec![1, 2, 3]);
    });
    let base = settled(&pids);

    // Sample the resident sets while the large transfer runs: the upload (input masks, then
    // the masked values), then the download.
    let values = std::env::var("EPHEMERAL_MEMORY_VALUES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(VALUES);
    let phase = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (phase, pids) = (phase.clone(), pids.clone());
        std::thread::spawn(move || {
            let mut peak = vec![vec![0u64; pids.len()]; 2];
            loop {
                let p = phase.load(Ordering::Relaxed);
                if p >= 2 {
                    return peak;
                }
                for (m, r) in peak[p].iter_mut().zip(rss_all(&pids)) {
                    *m = (*m).max(r);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let data: Vec<i128> = (0..values as i128).map(|i| i * 7919 - 1_000_003).collect();
    let started = Instant::now();
    let id = rt
        .block_on(client.create_secret_i128(&data, vec![]))
        .unwrap_or_else(|e| panic!("upload: {e}\n{}", c.logs()));
    let upload = started.elapsed();
    phase.store(1, Ordering::Relaxed);
    let back = rt
        .block_on(client.get_secret_i128(id))
        .unwrap_or_else(|e| panic!("download: {e}\n{}", c.logs()));
    let transfer = started.elapsed();
    phase.store(2, Ordering::Relaxed);
    assert!(back == data, "the download differs from the upload");
    drop((back, data));
    let peaks = sampler.join().unwrap();
    let peak: Vec<u64> = (0..pids.len())
        .map(|i| peaks[0][i].max(peaks[1][i]))
        .collect();

    // Then nothing: each party must give the memory back on its own.
    let t = Instant::now();
    let mut after = rss_all(&pids);
    while t.elapsed() < SETTLE
        && after
            .iter()
            .zip(&base)
            .any(|(a, b)| a.saturating_sub(*b) > MARGIN_MIB << 10)
    {
        std::thread::sleep(Duration::from_millis(500));
        after = rss_all(&pids);
    }
    let mib = |v: &[u64]| v.iter().map(|k| k >> 10).collect::<Vec<_>>();
    eprintln!(
        "memory: {values} values uploaded in {upload:.1?}, downloaded in {:.1?}; VmRSS MiB per party: baseline {:?}, peak of the upload {:?}, of the download {:?}, {:.1?} after {:?}",
        transfer - upload,
        mib(&base),
        mib(&peaks[0]),
        mib(&peaks[1]),
        t.elapsed(),
        mib(&after)
    );
    let rise = peak
        .iter()
        .zip(&base)
        .map(|(p, b)| p.saturating_sub(*b) >> 10)
        .max()
        .unwrap();
    assert!(
        rise >= MIN_RISE_MIB,
        "the transfer raised no party's resident set by {MIN_RISE_MIB} MiB (only {rise}); it no longer tests anything"
    );
    for (i, (a, b)) in after.iter().zip(&base).enumerate() {
        assert!(
            a.saturating_sub(*b) <= MARGIN_MIB << 10,
            "party {i} kept {} MiB above its baseline of {} MiB for {SETTLE:?} after the transfer (peak {} MiB)",
            a.saturating_sub(*b) >> 10,
            b >> 10,
            peak[i] >> 10
        );
    }
}
