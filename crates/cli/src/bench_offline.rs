//! `ephemeral bench offline`: MASCOT triple generation across local parties.
//!
//! N parties run on threads of this process, connected by mutual TLS on loopback (as between
//! real nodes) or by in-process channels, and generate `--triples` authenticated triples with
//! every check of the paper (`offline::bench_triples_with`). MASCOT is maliciously secure, so
//! unlike the online benchmarks this needs no `--insecure-dealer`.
//!
//! The report goes to stdout and to the "MASCOT offline phase" section of docs/BENCHMARKS.md,
//! between [`BEGIN`] and [`END`]: one table row per (parties, triples, transport), so measuring
//! `-N 2` and then `-N 3` keeps both rows, and the rest of the file is left alone.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context};

/// MP-SPDZ's `mascot-party.x`, 2 parties, on this machine class (the reference figure).
pub const REFERENCE_TRIPLES_PER_SEC: f64 = 5_900.0;

/// The target: at least this multiple of the reference.
pub const TARGET_RATIO: f64 = 2.0;

/// Marks the start of the offline section in the report.
pub const BEGIN: &str = "<!-- ephemeral bench offline: begin -->";
/// Marks its end.
pub const END: &str = "<!-- ephemeral bench offline: end -->";

#[derive(clap::Args, Debug, Clone)]
pub struct OfflineArgs {
    /// Number of parties (`-N 2,3` measures both, one after the other).
    #[arg(
        short = 'N',
        long = "parties",
        value_delimiter = ',',
        default_value = "2"
    )]
    pub parties: Vec<usize>,
    /// Triples to generate.
    #[arg(long, default_value_t = 100_000)]
    pub triples: usize,
    /// How the local parties are connected.
    #[arg(long, value_enum, default_value_t = OfflineTransport::Tls)]
    pub transport: OfflineTransport,
    /// Triples per MASCOT batch (one run of the protocol with its checks; memory grows with it).
    #[arg(long)]
    pub batch: Option<usize>,
    /// The report whose "MASCOT offline phase" section is updated (Markdown).
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    pub out: String,
    /// Print only; do not touch the report.
    #[arg(long)]
    pub no_write: bool,
}

/// Transport between the benchmark's parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OfflineTransport {
    /// One TCP + TLS 1.3 connection per pair on 127.0.0.1, as between real nodes.
    Tls,
    /// Channels between threads (computation and framing only).
    #[value(alias = "channels")]
    InProcess,
}

impl OfflineTransport {
    fn bench(self) -> offline::BenchTransport {
        match self {
            OfflineTransport::Tls => offline::BenchTransport::TlsLoopback,
            OfflineTransport::InProcess => offline::BenchTransport::InProcess,
        }
    }

    fn label(self) -> &'static str {
        match self {
            OfflineTransport::Tls => "TLS loopback",
            OfflineTransport::InProcess => "in-process",
        }
    }
}

/// One measured run, as reported.
#[derive(Debug, Clone)]
pub struct OfflineRun {
    pub report: offline::BenchReport,
    pub transport: OfflineTransport,
    /// The 1-minute load average just after the run (the machine is shared).
    pub load_1min: String,
}

impl OfflineRun {
    /// Measured rate over the MP-SPDZ reference.
    pub fn ratio(&self) -> f64 {
        self.report.triples_per_sec / REFERENCE_TRIPLES_PER_SEC
    }

    /// Human-readable summary for the terminal.
    pub fn summary(&self) -> String {
        let r = &self.report;
        let mut s = format!(
            "MASCOT, {} parties, {} triples over {} (batch {}):\n  {:.0} triples/s ({:.2} s wall; setup {:.2} s)\n  {:.1} KiB sent per triple per party ({} rounds)\n  CPU time per party: {:.2} s (largest; {:.1} µs per triple, {:.0} triples per CPU-second)\n",
            r.parties,
            r.triples,
            self.transport.label(),
            r.config.batch_size,
            r.triples_per_sec,
            r.secs,
            r.setup_secs,
            r.bytes_sent_per_triple / 1024.0,
            r.rounds,
            r.cpu_secs,
            r.cpu_secs * 1e6 / r.triples.max(1) as f64,
            self.triples_per_cpu_sec(),
        );
        match r.peak_rss_bytes {
            Some(b) => {
                let _ = writeln!(s, "  peak memory (RSS, whole process): {} MiB", mib(b));
            }
            None => s.push_str("  peak memory: not reported by this OS\n"),
        }
        let _ = writeln!(
            s,
            "  {:.2}x the reference {REFERENCE_TRIPLES_PER_SEC:.0} triples/s (MP-SPDZ mascot-party.x, 2 parties; target >= {TARGET_RATIO}x)",
            self.ratio()
        );
        let _ = write!(
            s,
            "  spot check of the first triples (c = a*b, MACs): {}",
            if r.verified { "ok" } else { "FAILED" }
        );
        s
    }

    /// Triples per CPU-second of one party (the rate if every party had a core to itself and
    /// the network kept up).
    pub fn triples_per_cpu_sec(&self) -> f64 {
        self.report.triples as f64 / self.report.cpu_secs.max(1e-9)
    }

    /// The report's table row; its first three cells are the row's key.
    fn row(&self, date: &str) -> String {
        let r = &self.report;
        format!(
            "| {} | {} | {} | {} | {:.0} | {:.2}× | {:.1} | {} | {:.2} | {:.0} | {:.2} | {} | {} |",
            r.parties,
            r.triples,
            self.transport.label(),
            r.config.batch_size,
            r.triples_per_sec,
            self.ratio(),
            r.bytes_sent_per_triple / 1024.0,
            r.peak_rss_bytes
                .map(|b| format!("{} MiB", mib(b)))
                .unwrap_or_else(|| "–".into()),
            r.cpu_secs,
            self.triples_per_cpu_sec(),
            r.setup_secs,
            self.load_1min,
            date,
        )
    }
}

fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

/// Resets the process's peak RSS (`VmHWM`) so that each run reports its own peak (Linux; best
/// effort: elsewhere, or on old kernels, the peak covers the whole process so far).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs one measurement.
pub fn measure(
    parties: usize,
    triples: usize,
    transport: OfflineTransport,
    batch: Option<usize>,
) -> anyhow::Result<OfflineRun> {
    if parties < 2 {
        bail!("-N must be at least 2, got {parties}");
    }
    if triples == 0 {
        bail!("--triples must be at least 1");
    }
    // A fresh session id per benchmark run (every party of the run is in this process).
    let mut session = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut session);
    let mut config = offline::MascotConfig::with_session(session);
    if let Some(b) = batch {
        if b == 0 {
            bail!("--batch must be at least 1");
        }
        config.batch_size = b;
    }
    reset_peak_rss();
    let report = offline::bench_triples_with(parties, triples, transport.bench(), config)
        .with_context(|| format!("MASCOT benchmark with {parties} parties"))?;
    if !report.verified {
        bail!("the generated triples failed the spot check (c != a*b or a bad MAC)");
    }
    let load_1min = crate::bench::load_average()
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(OfflineRun {
        report,
        transport,
        load_1min,
    })
}

pub fn run(args: OfflineArgs) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for &n in &args.parties {
        eprintln!(
            "MASCOT: {n} parties, {} triples over {} ...",
            args.triples,
            args.transport.label()
        );
        let r = measure(n, args.triples, args.transport, args.batch)?;
        println!("{}", r.summary());
        runs.push(r);
    }
    if !args.no_write {
        update_report(Path::new(&args.out), &runs, &crate::bench::today())?;
        eprintln!("updated the MASCOT offline section of {}", args.out);
    }
    Ok(())
}

/// The command line that reproduces `run`.
fn command(run: &OfflineRun) -> String {
    let mut s = format!(
        "{} bench offline -N {} --triples {}",
        crate::bench::invocation(),
        run.report.parties,
        run.report.triples
    );
    if run.transport != OfflineTransport::Tls {
        s.push_str(" --transport in-process");
    }
    s
}

const HEADER: &str = "| parties | triples | transport | batch | triples/s | vs MP-SPDZ 5,900/s | KiB sent per triple per party | peak RSS (process) | CPU s per party | triples per CPU-second per party | setup s | load (1 min) | measured |";

/// Rewrites the offline section of `path` with `runs` (a row per (parties, triples, transport)
/// replaces the row with the same key), creating the file or the section if absent. Everything
/// outside the markers is kept byte for byte.
pub fn update_report(path: &Path, runs: &[OfflineRun], date: &str) -> anyhow::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let (before, section, after) = split_section(&old)?;
    let mut rows: Vec<String> = section
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("| ") && !l.starts_with("| parties"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut commands: Vec<String> = section
        .map(|s| {
            s.lines()
                .filter_map(|l| l.strip_prefix("    "))
                .filter(|l| l.contains(" bench offline "))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for r in runs {
        let row = r.row(date);
        let k = key(&row);
        match rows.iter_mut().find(|old| key(old) == k) {
            Some(old) => *old = row,
            None => rows.push(row),
        }
        // The same benchmark measured again (perhaps by another build of the binary) replaces
        // the line that reproduced the old row.
        let c = command(r);
        let args = |line: &str| line.split(" bench offline ").nth(1).map(str::to_string);
        match commands.iter_mut().find(|old| args(old) == args(&c)) {
            Some(old) => *old = c,
            None => commands.push(c),
        }
    }
    rows.sort_by_key(|r| {
        let k = key(r);
        let num = |i: usize| k.get(i).and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        (k.get(2).cloned().unwrap_or_default(), num(0), num(1))
    });
    let mut md = String::new();
    writeln!(md, "{BEGIN}")?;
    writeln!(md, "## MASCOT offline phase\n")?;
    writeln!(
        md,
        "Triple generation with MASCOT (maliciously secure, every check of the paper; no dealer), N parties on threads of one process. Written by:\n"
    )?;
    for c in &commands {
        writeln!(md, "    {c}")?;
    }
    writeln!(md)?;
    writeln!(md, "- Machine: {}", crate::bench::machine())?;
    writeln!(md, "- triples/s: triples over the slowest party's wall time of generation (base OTs excluded, reported as setup). Bytes: what one party sends to all its peers per triple (mean over parties). CPU: the largest CPU time one party's thread spent generating (TLS runs on the transport's threads and is not included); on a shared machine wall time grows with load and CPU time does not, so triples per CPU-second per party bounds the rate when every party has a core of its own (as deployed, one machine per party; TLS and the network not counted). Peak RSS: the whole process, all parties together. Load: the machine's 1-minute load average just after the run; all parties share its cores")?;
    writeln!(md, "- Reference: MP-SPDZ `mascot-party.x`, 2 parties, 5,900 triples/s on this machine class (the issue's figure, not re-measured here); target ≥ 2× that\n")?;
    writeln!(md, "{HEADER}")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in &rows {
        writeln!(md, "{r}")?;
    }
    writeln!(md, "{END}")?;
    let mut out = String::with_capacity(old.len() + md.len() + 2);
    if section.is_none() {
        // Append a new section at the end.
        out.push_str(&old);
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
        }
        out.push_str(&md);
    } else {
        out.push_str(before);
        out.push_str(&md);
        out.push_str(after);
    }
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `(before, Some(section), after)` of `text` around the markers (the section includes both
/// markers and the newline after [`END`]), or `(text, None, "")`.
fn split_section(text: &str) -> anyhow::Result<(&str, Option<&str>, &str)> {
    let Some(b) = text.find(BEGIN) else {
        if text.contains(END) {
            bail!("the report has the end marker of the offline section but not its start");
        }
        return Ok((text, None, ""));
    };
    let Some(e) = text[b..].find(END).map(|i| b + i + END.len()) else {
        bail!("the report has the start marker of the offline section but not its end");
    };
    let e = if text[e..].starts_with('\n') {
        e + 1
    } else {
        e
    };
    Ok((&text[..b], Some(&text[b..e]), &text[e..]))
}

/// The offline section of `text` (markers included), to carry over when the whole report is
/// rewritten; `None` if it has none.
pub fn existing_section(text: &str) -> Option<String> {
    split_section(text).ok()?.1.map(str::to_string)
}

/// A row's key: parties, triples, transport.
fn key(row: &str) -> Vec<String> {
    row.split('|')
        .skip(1)
        .take(3)
        .map(|c| c.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_offline_bench_has_a_positive_rate() {
        let r = measure(2, 2000, OfflineTransport::InProcess, Some(512)).unwrap();
        assert!(r.report.triples_per_sec > 0.0, "{:?}", r.report);
        assert!(r.report.triples_per_sec.is_finite());
        assert!(r.report.bytes_sent_per_triple > 0.0);
        assert!(r.report.verified);
        assert!(r.ratio() > 0.0);
        let s = r.summary();
        assert!(
            s.contains("triples/s") && s.contains("KiB sent per triple"),
            "{s}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("BENCHMARKS.md");
        update_report(&path, std::slice::from_ref(&r), "today").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let section = existing_section(&text).unwrap();
        assert!(section.contains("## MASCOT offline phase"), "{text}");
        let row = section
            .lines()
            .find(|l| l.starts_with("| 2 | 2000 | in-process |"))
            .unwrap();
        let rate: f64 = row.split('|').nth(5).unwrap().trim().parse().unwrap();
        assert!(rate > 0.0, "{row}");
    }

    #[test]
    fn both_command_lines_parse() {
        use clap::Parser;
        let offline = |argv: &[&str]| match crate::Cli::try_parse_from(argv) {
            Ok(crate::Cli {
                command: crate::Command::Bench(b),
            }) => b.offline().cloned(),
            Ok(_) => panic!("not bench"),
            Err(e) => panic!("{argv:?}: {e}"),
        };
        let a = offline(&[
            "ephemeral",
            "bench",
            "offline",
            "-N",
            "2",
            "--triples",
            "100000",
        ])
        .unwrap();
        assert_eq!((a.parties, a.triples), (vec![2], 100_000));
        assert_eq!(a.transport, OfflineTransport::Tls);
        let a = offline(&[
            "ephemeral",
            "bench",
            "offline",
            "-N",
            "3",
            "--transport",
            "in-process",
        ])
        .unwrap();
        assert_eq!(
            (a.parties, a.transport),
            (vec![3], OfflineTransport::InProcess)
        );
        assert!(offline(&["ephemeral", "bench", "offline", "--transport", "tls"]).is_some());
        assert!(offline(&[
            "ephemeral",
            "bench",
            "--insecure-dealer",
            "--quick",
            "--ops",
            "products,comparisons,nodes"
        ])
        .is_none());
        assert!(offline(&["ephemeral", "bench", "--insecure-dealer"]).is_none());
    }

    fn fake(parties: usize, rate: f64) -> OfflineRun {
        OfflineRun {
            report: offline::BenchReport {
                parties,
                triples: 100_000,
                transport: offline::BenchTransport::TlsLoopback,
                config: offline::MascotConfig::default(),
                setup_secs: 0.1,
                secs: 100_000.0 / rate,
                triples_per_sec: rate,
                cpu_secs: 5.0,
                bytes_sent_per_triple: 22_000.0,
                rounds: 1000,
                peak_rss_bytes: Some(300 << 20),
                verified: true,
            },
            transport: OfflineTransport::Tls,
            load_1min: "1.00".into(),
        }
    }

    #[test]
    fn the_section_is_updated_in_place_and_the_rest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("B.md");
        let head = "# Benchmarks\n\n## Field\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";
        std::fs::write(&path, head).unwrap();
        update_report(&path, &[fake(2, 10_000.0)], "d1").unwrap();
        let t1 = std::fs::read_to_string(&path).unwrap();
        assert!(t1.starts_with(head), "{t1}");
        assert!(t1.contains("| 2 | 100000 | TLS loopback |"));

        // Text after the section survives, N = 3 adds a row, N = 2 again replaces its row.
        std::fs::write(&path, format!("{t1}\n## Later\n\ntail\n")).unwrap();
        update_report(&path, &[fake(3, 7_000.0)], "d2").unwrap();
        update_report(&path, &[fake(2, 12_000.0)], "d3").unwrap();
        let t = std::fs::read_to_string(&path).unwrap();
        assert!(t.starts_with(head), "{t}");
        assert!(t.ends_with("\n## Later\n\ntail\n"), "{t}");
        assert_eq!(t.matches(BEGIN).count(), 1);
        assert_eq!(t.matches("| 2 | 100000 | TLS loopback |").count(), 1, "{t}");
        assert!(t.contains("| 12000 |") && !t.contains("| 10000 |"), "{t}");
        assert!(t.contains("| 3 | 100000 | TLS loopback |") && t.contains("| 7000 |"));
        assert_eq!(
            t.matches("bench offline -N 2 --triples 100000").count(),
            1,
            "{t}"
        );
        assert_eq!(
            t.matches("bench offline -N 3 --triples 100000").count(),
            1,
            "{t}"
        );
        // A line written by the other build of the binary is replaced, not repeated.
        let other = if crate::bench::invocation().starts_with("cargo") {
            "    target/debug/ephemeral bench offline -N 3 --triples 100000"
        } else {
            "    cargo run --release --bin ephemeral -- bench offline -N 3 --triples 100000"
        };
        let mine = format!("    {}", command(&fake(3, 1.0)));
        std::fs::write(&path, t.replace(&mine, other)).unwrap();
        update_report(&path, &[fake(3, 7_500.0)], "d4").unwrap();
        let t = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            t.matches("bench offline -N 3 --triples 100000").count(),
            1,
            "{t}"
        );
        assert!(t.contains(&mine), "{t}");
        let s = existing_section(&t).unwrap();
        assert!(s.starts_with(BEGIN) && s.trim_end().ends_with(END));
    }

    #[test]
    fn a_broken_marker_is_an_error_not_a_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("B.md");
        std::fs::write(&path, format!("x\n{BEGIN}\nno end\n")).unwrap();
        assert!(update_report(&path, &[fake(2, 1.0)], "d").is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("x\n{BEGIN}\nno end\n")
        );
    }
}
