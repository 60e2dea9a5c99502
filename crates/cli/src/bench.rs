//! `ephemeral bench`: the engine benchmarks of docs/BENCHMARKS.md; `ephemeral bench offline`
//! (MASCOT) is in [`crate::bench_offline`], and `--mpspdz DIR` (MP-SPDZ's figures measured in the
//! same run) in [`crate::bench_peer`].
//!
//! Tuples come from the insecure dealer and are generated *before* the clock starts (as MP-SPDZ's
//! `-F` reads ready-made files); their generation time is reported separately. The online time
//! covers the operation and the MAC check of everything it opened.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use field::Fp;
use protocol::prep::{InsecureDealer, PrepError, Preprocessing, TupleBuffer, TuplePlan};
use protocol::{Engine, EngineConfig, NonLinear, ShareVec};

use crate::local::{self, Transport};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// `offline`: MASCOT triple generation instead of the online benchmarks.
    #[command(subcommand)]
    what: Option<BenchWhat>,
    /// Smaller sizes (10^5 products, 10^4 comparisons) for a quick look.
    #[arg(long)]
    quick: bool,
    /// Where to write the report (Markdown).
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    out: String,
    /// Party counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "2,3")]
    parties: Vec<usize>,
    /// Transport between the local parties.
    #[arg(long, value_enum, default_value_t = Transport::Tls)]
    transport: Transport,
    /// Use the INSECURE dealer for preprocessing (every party can derive every tuple). The
    /// benchmarks measure the online phase on dealer tuples, as MP-SPDZ's `-F` does, so they
    /// require it.
    #[arg(long)]
    insecure_dealer: bool,
    /// Which benchmarks to run: the protocol's products and comparisons, and the party nodes
    /// (invocation latency, throughput, upload and download through the HTTP API).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "products,comparisons,nodes"
    )]
    ops: Vec<OpName>,
    /// Also run MP-SPDZ's `mascot-party.x` (2 parties, live MASCOT preprocessing) on our programs
    /// in crates/cli/bench-programs/ and report its figures next to ours. DIR is a built MP-SPDZ
    /// tree (with compile.py and mascot-party.x); we never build or ship MP-SPDZ.
    #[arg(long, value_name = "DIR")]
    mpspdz: Option<std::path::PathBuf>,
}

#[derive(clap::Subcommand)]
enum BenchWhat {
    /// MASCOT triple generation across N local parties (maliciously secure; no dealer needed):
    /// triples per second, bytes sent per triple, peak memory, CPU time per party. Updates only
    /// the "MASCOT offline phase" section of the report.
    Offline(crate::bench_offline::OfflineArgs),
    /// End to end and maliciously secure: our benchmark programs on 2 parties over TLS with every
    /// tuple generated inside the clock, optionally next to MP-SPDZ in the same run (--mpspdz).
    /// Updates only the "End to end" section of the report.
    E2e(crate::bench_e2e::E2eArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OpName {
    Products,
    Comparisons,
    Nodes,
}

/// One measured protocol benchmark.
struct Measured {
    name: String,
    parties: usize,
    size: usize,
    prep_time: Duration,
    online: Duration,
    /// The largest per-party CPU time of the online phase (robust to other load on the machine).
    cpu: Duration,
    rounds: u64,
    bytes_sent: u64,
    triples: u64,
    bits: u64,
    /// Binary triples (the mixed-circuit kernels only).
    bit_triples: u64,
}

#[derive(Clone, Copy)]
enum Op {
    Products,
    /// On the arithmetic kernels (prime triples and random bits only).
    Comparisons,
    /// On the mixed-circuit kernels (a wide edaBit, a daBit and binary triples each).
    MixedComparisons,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Products => "products in one batch",
            Op::Comparisons => "64-bit comparisons (<) in one batch",
            Op::MixedComparisons => "64-bit comparisons (<) in one batch, mixed circuit",
        }
    }
}

/// A dealer that records what it serves, kind by kind and shape by shape, as a [`TuplePlan`]:
/// a dry run on one element gives the plan of one element, whatever the kernels draw.
struct Recorder {
    dealer: InsecureDealer,
    plan: TuplePlan,
}

impl Preprocessing for Recorder {
    fn mac_key_share(&self) -> Fp {
        self.dealer.mac_key_share()
    }
    fn triples(&mut self, n: usize) -> Result<protocol::prep::Triples, PrepError> {
        self.plan.triples += n;
        self.dealer.triples(n)
    }
    fn squares(&mut self, n: usize) -> Result<protocol::prep::Pairs, PrepError> {
        self.plan.squares += n;
        self.dealer.squares(n)
    }
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        self.plan.bits += n;
        self.dealer.bits(n)
    }
    fn inverses(&mut self, n: usize) -> Result<protocol::prep::Pairs, PrepError> {
        self.plan.inverses += n;
        self.dealer.inverses(n)
    }
    fn input_masks(
        &mut self,
        owner: usize,
        n: usize,
    ) -> Result<protocol::prep::InputMasks, PrepError> {
        if self.plan.input_masks.len() <= owner {
            self.plan.input_masks.resize(owner + 1, 0);
        }
        self.plan.input_masks[owner] += n;
        self.dealer.input_masks(owner, n)
    }
    fn binary_key_share(&self) -> Option<field::Gf128> {
        self.dealer.binary_key_share()
    }
    fn bit_triples(&mut self, n: usize) -> Result<protocol::prep::BitTriples, PrepError> {
        self.plan.bit_triples += n;
        self.dealer.bit_triples(n)
    }
    fn dabits(&mut self, n: usize) -> Result<protocol::prep::DaBits, PrepError> {
        self.plan.dabits += n;
        self.dealer.dabits(n)
    }
    fn edabits(
        &mut self,
        n: usize,
        bits: u32,
        extra: u32,
    ) -> Result<protocol::prep::EdaBits, PrepError> {
        add_shape(&mut self.plan.edabits, bits, extra, n);
        self.dealer.edabits(n, bits, extra)
    }
    fn wide_edabits(
        &mut self,
        n: usize,
        bits: u32,
        width: u32,
    ) -> Result<protocol::prep::WideEdaBits, PrepError> {
        add_shape(&mut self.plan.wide_edabits, bits, width, n);
        self.dealer.wide_edabits(n, bits, width)
    }
}

fn add_shape(shapes: &mut Vec<(u32, u32, usize)>, a: u32, b: u32, n: usize) {
    match shapes.iter_mut().find(|s| (s.0, s.1) == (a, b)) {
        Some(s) => s.2 += n,
        None => shapes.push((a, b, n)),
    }
}

/// `plan` for `size` elements instead of one.
fn scaled(plan: TuplePlan, size: usize) -> TuplePlan {
    let shapes = |v: Vec<(u32, u32, usize)>| {
        v.into_iter()
            .map(|(a, b, n)| (a, b, n * size))
            .collect::<Vec<_>>()
    };
    TuplePlan {
        triples: plan.triples * size,
        squares: plan.squares * size,
        bits: plan.bits * size,
        inverses: plan.inverses * size,
        input_masks: plan.input_masks.iter().map(|n| n * size).collect(),
        bit_triples: plan.bit_triples * size,
        dabits: plan.dabits * size,
        edabits: shapes(plan.edabits),
        wide_edabits: shapes(plan.wide_edabits),
    }
}

/// What one element of `op` consumes, measured by running it once on one element.
fn plan_for(op: Op, size: usize) -> anyhow::Result<TuplePlan> {
    let nets = net::in_process(2, local::net_config());
    let plans = local::run_parties(nets, move |me, net| {
        let recorder = Recorder {
            dealer: InsecureDealer::new(me, 2, [0; 32]),
            plan: TuplePlan::default(),
        };
        let mut e = Engine::new(net, recorder, EngineConfig::default());
        let x = e.constant(&[Fp::from_u64(3)]);
        match op {
            Op::Products => {
                e.mul(&x, &x)?;
            }
            Op::Comparisons => {
                e.lt(&x, &x, 64)?;
            }
            Op::MixedComparisons => {
                e.mixed()?.lt(&x, &x, 64)?;
            }
        }
        Ok(e.prep().plan.clone())
    })?;
    let mut plan = plans.into_iter().next().unwrap_or_default();
    plan.input_masks.clear();
    Ok(scaled(plan, size))
}

fn measure(op: Op, n: usize, size: usize, transport: Transport) -> anyhow::Result<Measured> {
    let plan = plan_for(op, size)?;
    let seed = [7u8; 32];
    let nets = local::networks(n, transport, local::net_config())?;
    // All parties start the clock together, after every party has its tuples.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let results = local::run_parties(nets, move |me, net| {
        // Off the clock: the dealer's tuples, plus random shared operands.
        let t0 = Instant::now();
        let mut dealer = InsecureDealer::new(me, n, seed);
        let operands = dealer.triples(size)?;
        let buffer = TupleBuffer::fill_from(&mut dealer, &plan)?;
        let prep_time = t0.elapsed();
        let mut e = Engine::new(net, buffer, EngineConfig::default());
        let (x, y) = match op {
            Op::Products => (operands.a, operands.b),
            Op::Comparisons | Op::MixedComparisons => {
                // Signed 64-bit operands (public here: the cost does not depend on the values).
                let xs: Vec<Fp> = (0..size as i64)
                    .map(|i| Fp::from_i64(i.wrapping_mul(0x9E3779B97F4A7C15u64 as i64)))
                    .collect();
                let ys: Vec<Fp> = (0..size as i64)
                    .map(|i| Fp::from_i64(-(i * 7919)))
                    .collect();
                (e.constant(&xs), e.constant(&ys))
            }
        };
        let before = e.net_stats();
        barrier.wait();
        let cpu0 = thread_cpu_time();
        let t1 = Instant::now();
        let z: ShareVec = match op {
            Op::Products => e.mul(&x, &y)?,
            Op::Comparisons => e.lt(&x, &y, 64)?,
            Op::MixedComparisons => e.mixed()?.lt(&x, &y, 64)?,
        };
        let t_op = t1.elapsed();
        e.check()?;
        let online = t1.elapsed();
        let cpu = thread_cpu_time() - cpu0;
        if std::env::var_os("EPHEMERAL_BENCH_DEBUG").is_some() {
            eprintln!(
                "  party {me}: operation {:?}, then MAC check {:?}; thread CPU time {:?}",
                t_op,
                online - t_op,
                cpu
            );
        }
        let stats = e.net_stats().since(&before);
        std::hint::black_box(z);
        let used = e.tuples_consumed().clone();
        Ok((prep_time, online, cpu, stats, used))
    })?;
    // Report the slowest party's time (the computation ends when the last party is done).
    let online = results.iter().map(|r| r.1).max().unwrap_or_default();
    let prep_time = results.iter().map(|r| r.0).max().unwrap_or_default();
    let cpu = results.iter().map(|r| r.2).max().unwrap_or_default();
    let (_, _, _, stats, used) = &results[0];
    Ok(Measured {
        name: op.name().into(),
        parties: n,
        size,
        prep_time,
        online,
        cpu,
        rounds: stats.rounds,
        bytes_sent: stats.bytes_sent,
        triples: used.triples,
        bits: used.bits,
        bit_triples: used.bit_triples,
    })
}

/// How this binary is run, for the reports' "Written by" lines: the release build, or the
/// test-profile binary that `cargo test` builds (`target/debug/ephemeral`: opt-level 2, debug
/// assertions on, no LTO), so that a report says which one measured it.
pub(crate) fn invocation() -> &'static str {
    if cfg!(debug_assertions) {
        "target/debug/ephemeral"
    } else {
        "cargo run --release --bin ephemeral --"
    }
}

/// Marks the start of the hand-measured notes of the report: figures measured by hand or by
/// test suites, which no benchmark command writes and every one carries over.
pub const HAND_BEGIN: &str = "<!-- hand-measured notes: begin -->";
/// Marks their end.
pub const HAND_END: &str = "<!-- hand-measured notes: end -->";

/// The block of `text` from the first `begin` to the next `end` (both markers and the newline
/// after `end` included), if it has a whole one.
pub(crate) fn marked_block(text: &str, begin: &str, end: &str) -> Option<String> {
    let b = text.find(begin)?;
    let e = b + text[b..].find(end)? + end.len();
    let e = if text[e..].starts_with('\n') {
        e + 1
    } else {
        e
    };
    Some(text[b..e].to_string())
}

/// CPU time consumed by the calling thread: unlike wall time, it does not grow when other
/// processes compete for the cores.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1048576.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}")
}

pub(crate) fn today() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown date".into())
}

/// The load average (1, 5, 15 min), comma-separated.
pub(crate) fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(", ")
}

impl BenchArgs {
    /// The arguments of `bench offline`, if that is what was asked.
    #[cfg(test)]
    pub(crate) fn offline(&self) -> Option<&crate::bench_offline::OfflineArgs> {
        match &self.what {
            Some(BenchWhat::Offline(a)) => Some(a),
            _ => None,
        }
    }

    /// The MP-SPDZ directory of `--mpspdz`, if given.
    #[cfg(test)]
    pub(crate) fn mpspdz_dir(&self) -> Option<&std::path::Path> {
        self.mpspdz.as_deref()
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        Some(BenchWhat::Offline(offline)) => return crate::bench_offline::run(offline),
        Some(BenchWhat::E2e(e2e)) => return crate::bench_e2e::run(e2e),
        None => {}
    }
    if !args.insecure_dealer {
        anyhow::bail!(
            "the benchmarks measure the online phase on tuples from the INSECURE dealer (every party \
             can derive every tuple), as MP-SPDZ's -F does. Re-run with --insecure-dealer."
        );
    }
    // Refuse a wrong MP-SPDZ directory before the long benchmarks, not after.
    let mpspdz = match &args.mpspdz {
        Some(dir) => Some(crate::bench_peer::locate(dir)?),
        None => None,
    };
    eprintln!("WARNING: benchmarks use the INSECURE dealer for preprocessing (generated before the clock starts).");
    let (products, comparisons) = if args.quick {
        (100_000, 10_000)
    } else {
        (1_000_000, 100_000)
    };

    // First, so that the peak RSS it reports is the compiler's.
    eprintln!("compiler ...");
    let mut compile_md = String::new();
    crate::bench_dialect::compile_section(&mut compile_md)?;

    eprintln!("field inner product ...");
    let ip_rate = field::bench_inner_product_rate(1 << 20, 20);

    let mut rows = Vec::new();
    for &n in &args.parties {
        for (op, size) in [
            (Op::Products, products),
            (Op::Comparisons, comparisons),
            (Op::MixedComparisons, comparisons),
        ] {
            let wanted = match op {
                Op::Products => OpName::Products,
                Op::Comparisons | Op::MixedComparisons => OpName::Comparisons,
            };
            if !args.ops.contains(&wanted) {
                continue;
            }
            eprintln!("{} parties: {size} {} ...", n, op.name());
            let m = measure(op, n, size, args.transport)
                .with_context(|| format!("{} with {n} parties", op.name()))?;
            eprintln!(
                "  online {:.3} s, {} rounds, {} MB sent per party",
                m.online.as_secs_f64(),
                m.rounds,
                m.bytes_sent / 1_000_000
            );
            rows.push(m);
        }
    }

    // MP-SPDZ on the same machine, right after ours.
    let mut peer_md = String::new();
    if let Some(dir) = &mpspdz {
        let mut results = Vec::new();
        for program in crate::bench_peer::PeerProgram::ALL {
            eprintln!("MP-SPDZ mascot-party.x, 2 parties: {} ...", program.label());
            let r = crate::bench_peer::run_program(dir, program)?;
            eprintln!(
                "  wall {:.2} s (MP-SPDZ time {:.2} s), {} MB sent per party, {} rounds",
                r.wall_secs,
                r.reported_secs(),
                r.mb_sent_per_party()
                    .iter()
                    .map(|m| format!("{m:.1}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
                r.rounds().map_or_else(|| "?".into(), |n| n.to_string())
            );
            results.push(r);
        }
        let ours: Vec<_> = rows
            .iter()
            .filter(|m| m.parties == 2)
            .map(|m| crate::bench_peer::OursForPeer {
                is_comparison: !m.name.starts_with("products"),
                size: m.size,
                online_secs: m.online.as_secs_f64(),
                mb_sent: m.bytes_sent as f64 / 1e6,
                rounds: m.rounds,
            })
            .collect();
        crate::bench_peer::section(&mut peer_md, dir, &results, &ours)?;
    }

    let mut md = String::new();
    let cmd = format!(
        "{} bench --insecure-dealer{}{}",
        invocation(),
        if args.quick { " --quick" } else { "" },
        match &args.mpspdz {
            Some(dir) => format!(" --mpspdz {}", dir.display()),
            None => String::new(),
        }
    );
    writeln!(md, "# Benchmarks\n")?;
    writeln!(md, "Written by `{cmd}`.\n")?;
    writeln!(md, "- Date: {}", today())?;
    writeln!(
        md,
        "- Load average when the report was written (1, 5, 15 min): {}",
        load_average()
    )?;
    writeln!(
        md,
        "- Machine: {} (shared and noisy; compare ratios, not absolute times)",
        machine()
    )?;
    writeln!(md, "- Transport between the local parties: {:?} on loopback; all parties in one process, one thread each", args.transport)?;
    writeln!(md, "- Preprocessing: the INSECURE dealer, generated before the clock starts (as MP-SPDZ's `-F`); generation time reported separately")?;
    writeln!(md, "- Online time: from the first message of the operation to the end of the MAC check of everything it opened; the slowest party's wall time. Online CPU time: the largest CPU time one party's protocol thread spent in that phase (TLS encryption and socket I/O run on the transport's own threads and are not included); under load the wall time grows and this CPU time does not\n")?;
    writeln!(md, "## Field\n")?;
    writeln!(md, "| benchmark | measured | target |\n|---|---|---|")?;
    writeln!(
        md,
        "| inner product, 2^20 elements, one core | {:.1} M mul+add/s | ≥ 80 M/s |\n",
        ip_rate / 1e6
    )?;
    writeln!(md, "## Online protocol\n")?;
    writeln!(md, "| benchmark | parties | online time | online CPU time per party | rounds | MB sent per party | triples | bits | dealer time (off the clock) | target | MP-SPDZ reference (issue 2, same machine class) |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    for m in &rows {
        let (target, reference) = match (m.name.starts_with("products"), m.parties, m.size) {
            (true, 2, 1_000_000) => ("≤ 0.25 s", "mascot `-F` 2.25 s, semi `-F` 0.66 s"),
            (false, 2, 100_000) => ("≤ 1 s", "mascot `-F` 9.9 s (2205 rounds), semi `-F` 3.7 s"),
            _ => ("–", "–"),
        };
        writeln!(
            md,
            "| {} {} | {} | {:.3} s | {:.3} s | {} | {:.1} | {} | {} | {:.2} s | {} | {} |",
            m.size,
            m.name,
            m.parties,
            m.online.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.rounds,
            m.bytes_sent as f64 / 1e6,
            if m.bit_triples > 0 {
                format!("{} (+ {} binary)", m.triples, m.bit_triples)
            } else {
                m.triples.to_string()
            },
            m.bits,
            m.prep_time.as_secs_f64(),
            target,
            reference
        )?;
    }
    writeln!(md, "\nThe MP-SPDZ figures are the reference numbers given in issues 2 and 3 for this machine class; they were not re-measured in this run.\n")?;
    md.push_str(&peer_md);
    md.push_str(&compile_md);
    crate::bench_dialect::run_section(&mut md, args.quick)?;
    if args.ops.contains(&OpName::Nodes) {
        crate::bench_node::section(&mut md, &args.parties, args.quick)?;
    }
    // What other commands (and people) wrote: the MASCOT section (`bench offline`), the end-to-end
    // section (`bench e2e`), the how-to of running MP-SPDZ alongside and the hand-measured notes.
    // This command rewrites the report, so it carries them over unchanged.
    let old = std::fs::read_to_string(&args.out).unwrap_or_default();
    for block in [
        crate::bench_offline::existing_section(&old),
        crate::bench_e2e::existing_section(&old),
        crate::bench_peer::existing_howto(&old),
        marked_block(&old, HAND_BEGIN, HAND_END),
    ]
    .into_iter()
    .flatten()
    {
        if !md.ends_with("\n\n") {
            md.push('\n');
        }
        md.push_str(&block);
    }
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    std::fs::write(&args.out, &md).with_context(|| format!("writing {}", args.out))?;
    println!("{md}");
    eprintln!("wrote {}", args.out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_block_is_carried_with_its_markers_and_only_when_whole() {
        let text = format!("# B\n\n{HAND_BEGIN}\n## Notes\n\nfigures\n{HAND_END}\nafter\n");
        assert_eq!(
            marked_block(&text, HAND_BEGIN, HAND_END).unwrap(),
            format!("{HAND_BEGIN}\n## Notes\n\nfigures\n{HAND_END}\n")
        );
        assert_eq!(marked_block("# B\n", HAND_BEGIN, HAND_END), None);
        assert_eq!(
            marked_block(&format!("{HAND_BEGIN}\nno end\n"), HAND_BEGIN, HAND_END),
            None
        );
        // An end marker before the begin marker does not close it.
        assert_eq!(
            marked_block(&format!("{HAND_END}\n{HAND_BEGIN}\n"), HAND_BEGIN, HAND_END),
            None
        );
    }
}
