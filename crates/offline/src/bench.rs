//! Triple-generation benchmark: N parties on threads of this process, over in-process channels
//! or mutual TLS on loopback (the production transport). For `ephemeral bench offline`.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use field::Fp;
use net::NetConfig;
use protocol::prep::Triples;

use crate::error::{OfflineError, Result};
use crate::mascot::{Mascot, MascotConfig, OfflineStats};

/// How the benchmark parties are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchTransport {
    /// Channels between threads: measures computation and framing only.
    InProcess,
    /// One TCP + TLS 1.3 connection per pair on 127.0.0.1, as between real nodes.
    TlsLoopback,
}

/// What [`bench_triples`] measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub parties: usize,
    pub triples: usize,
    pub transport: BenchTransport,
    pub config: MascotConfig,
    /// Wall time of the slowest party's setup (base OTs), seconds.
    pub setup_secs: f64,
    /// Wall time of generating all triples (slowest party), seconds.
    pub secs: f64,
    /// `triples / secs`.
    pub triples_per_sec: f64,
    /// The largest CPU time one party's thread spent generating, seconds. Unlike wall time it
    /// does not grow when other processes compete for the cores (TLS runs on the transport's
    /// own threads and is not included).
    pub cpu_secs: f64,
    /// Bytes one party sent to all its peers per triple (mean over parties, setup excluded).
    pub bytes_sent_per_triple: f64,
    /// Rounds of the generation (party 0).
    pub rounds: u64,
    /// Peak resident memory of the whole process (all parties), bytes, if the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// The first triples were reconstructed and checked (c = a·b, MACs under α = Σ α_i).
    pub verified: bool,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MASCOT, {} parties, {} triples over {:?} (batch {}): {:.0} triples/s ({:.2} s wall, {:.2} s CPU per party), {:.1} KiB sent per triple per party, {} rounds, setup {:.2} s",
            self.parties,
            self.triples,
            self.transport,
            self.config.batch_size,
            self.triples_per_sec,
            self.secs,
            self.cpu_secs,
            self.bytes_sent_per_triple / 1024.0,
            self.rounds,
            self.setup_secs,
        )?;
        if let Some(b) = self.peak_rss_bytes {
            write!(f, ", peak memory {:.0} MiB", b as f64 / (1 << 20) as f64)?;
        }
        write!(f, ", verified: {}", self.verified)
    }
}

/// Peak resident set size of this process (`VmHWM`), where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time consumed by the calling thread, seconds (0 if the OS does not say).
pub(crate) fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Generates `n` triples with `n_parties` parties and the default configuration.
pub fn bench_triples(n_parties: usize, n: usize, transport: BenchTransport) -> Result<BenchReport> {
    bench_triples_with(n_parties, n, transport, MascotConfig::default())
}

/// As [`bench_triples`], with a chosen configuration.
pub fn bench_triples_with(
    n_parties: usize,
    n: usize,
    transport: BenchTransport,
    config: MascotConfig,
) -> Result<BenchReport> {
    if n_parties < 2 {
        return Err(OfflineError::InvalidArgument(
            "the benchmark needs at least two parties".into(),
        ));
    }
    let nets = match transport {
        BenchTransport::InProcess => net::in_process(n_parties, NetConfig::default()),
        BenchTransport::TlsLoopback => net::tls::loopback_cluster(n_parties, NetConfig::default())?,
    };
    let barrier = Arc::new(Barrier::new(n_parties));
    type PartyResult = Result<(f64, f64, OfflineStats, Fp, Triples, f64)>;
    let handles: Vec<std::thread::JoinHandle<PartyResult>> = nets
        .into_iter()
        .map(|mut net| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let t0 = Instant::now();
                let setup = Mascot::setup(&mut net, None, config);
                let setup_secs = t0.elapsed().as_secs_f64();
                barrier.wait();
                let mut m = setup?;
                let before = m.stats();
                let t1 = Instant::now();
                let c1 = thread_cpu_secs();
                let triples = m.triples(&mut net, n)?;
                let secs = t1.elapsed().as_secs_f64();
                let cpu = thread_cpu_secs() - c1;
                let s = m.stats();
                let spent = OfflineStats {
                    bytes_sent: s.bytes_sent - before.bytes_sent,
                    rounds: s.rounds - before.rounds,
                    ..s
                };
                let keep = n.min(16);
                let sample = Triples {
                    a: triples.a.slice(0..keep),
                    b: triples.b.slice(0..keep),
                    c: triples.c.slice(0..keep),
                };
                Ok((setup_secs, secs, spent, m.mac_key_share(), sample, cpu))
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n_parties);
    for h in handles {
        results.push(h.join().map_err(|_| {
            OfflineError::InvalidArgument("a benchmark party thread panicked".into())
        })??);
    }
    let setup_secs = results.iter().map(|r| r.0).fold(0.0, f64::max);
    let secs = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let cpu_secs = results.iter().map(|r| r.5).fold(0.0, f64::max);
    let sent: u64 = results.iter().map(|r| r.2.bytes_sent).sum();
    let alpha: Fp = results.iter().map(|r| r.3).sum();
    let keep = results[0].4.a.len();
    let mut verified = true;
    for k in 0..keep {
        let sum = |f: &dyn Fn(&Triples) -> &protocol::ShareVec| -> (Fp, Fp) {
            results.iter().fold((Fp::ZERO, Fp::ZERO), |(v, m), r| {
                let s = f(&r.4);
                (v + s.value_shares()[k], m + s.mac_shares()[k])
            })
        };
        let (a, ma) = sum(&|t| &t.a);
        let (b, mb) = sum(&|t| &t.b);
        let (c, mc) = sum(&|t| &t.c);
        verified &= c == a * b && ma == alpha * a && mb == alpha * b && mc == alpha * c;
    }
    Ok(BenchReport {
        parties: n_parties,
        triples: n,
        transport,
        config,
        setup_secs,
        secs,
        triples_per_sec: n as f64 / secs,
        cpu_secs,
        bytes_sent_per_triple: sent as f64 / n_parties as f64 / n.max(1) as f64,
        rounds: results[0].2.rounds,
        peak_rss_bytes: peak_rss_bytes(),
        verified,
    })
}
