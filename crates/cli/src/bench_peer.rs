//! MP-SPDZ as a peer benchmark: `ephemeral bench --mpspdz DIR`.
//!
//! What it measures: MP-SPDZ's `mascot-party.x` running our own benchmark programs
//! (`crates/cli/bench-programs/*.mpc`: 10^4 secret 64-bit comparisons, compiled once with random
//! bits and once with edaBits (`-Y`), and 10^5 secret products), 2 parties as two processes on
//! loopback, with MASCOT preprocessing done live (nothing precomputed: no `-F`). We record the
//! wall time we see around both processes, the time each party prints, the MB each party sends,
//! MP-SPDZ's global total and the rounds it prints.
//!
//! Why: MP-SPDZ is the reference implementation of SPDZ/MASCOT, and the figures quoted from
//! elsewhere depend on the machine and its load. Running it in the same run as our own
//! benchmarks, on the same (shared) machine, makes the comparison honest.
//!
//! MP-SPDZ is located by a directory the user gives (a built MP-SPDZ work tree holding
//! `compile.py` and `mascot-party.x`). It is never built, downloaded or vendored by us: this module
//! only runs what is there. Compiling writes `Programs/{Bytecode,Schedules}/ephemeral-*` in that
//! tree (MP-SPDZ's compiler has no other output directory); inputs, logs and our copies of the
//! sources live in a temporary directory.

use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one MP-SPDZ run may take before both parties are killed (the comparisons with
/// random bits took 1,053 s on the 2-core benchmark machine under load).
const RUN_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long one compilation may take.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(300);

/// One of our benchmark programs for MP-SPDZ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerProgram {
    /// 10^4 secret 64-bit comparisons `a < b`, compiled with MP-SPDZ's default (random bits).
    Cmp1e4,
    /// The same program compiled with `-Y` (edaBits).
    Cmp1e4EdaBits,
    /// 10^5 secret products `a * b`.
    Mul1e5,
}

impl PeerProgram {
    /// Every program, in the order the report lists them.
    pub const ALL: [PeerProgram; 3] = [
        PeerProgram::Mul1e5,
        PeerProgram::Cmp1e4,
        PeerProgram::Cmp1e4EdaBits,
    ];

    /// File stem of the source under `crates/cli/bench-programs/`.
    fn stem(self) -> &'static str {
        match self {
            PeerProgram::Cmp1e4 | PeerProgram::Cmp1e4EdaBits => "cmp_1e4",
            PeerProgram::Mul1e5 => "mul_1e5",
        }
    }

    pub(crate) fn source(self) -> &'static str {
        match self {
            PeerProgram::Cmp1e4 | PeerProgram::Cmp1e4EdaBits => {
                include_str!("../bench-programs/cmp_1e4.mpc")
            }
            PeerProgram::Mul1e5 => include_str!("../bench-programs/mul_1e5.mpc"),
        }
    }

    /// `compile.py`'s `-o` prefix: keeps our outputs apart from anything else in the tree, and
    /// the two compilations of `cmp_1e4` apart from each other.
    fn prefix(self) -> &'static str {
        match self {
            PeerProgram::Cmp1e4EdaBits => "ephemeral-eda",
            _ => "ephemeral",
        }
    }

    /// Extra `compile.py` flags.
    pub fn compile_flags(self) -> &'static [&'static str] {
        match self {
            PeerProgram::Cmp1e4EdaBits => &["-Y"],
            _ => &[],
        }
    }

    /// The name `mascot-party.x` runs (what `compile.py -o PREFIX STEM.mpc` writes).
    pub fn compiled_name(self) -> String {
        format!("{}-{}", self.prefix(), self.stem())
    }

    /// Number of elements (comparisons or products).
    pub fn size(self) -> usize {
        match self {
            PeerProgram::Cmp1e4 | PeerProgram::Cmp1e4EdaBits => 10_000,
            PeerProgram::Mul1e5 => 100_000,
        }
    }

    /// Whether this is a comparison benchmark.
    pub fn is_comparison(self) -> bool {
        !matches!(self, PeerProgram::Mul1e5)
    }

    /// For the report.
    pub fn label(self) -> &'static str {
        match self {
            PeerProgram::Cmp1e4 => "10^4 64-bit comparisons (<), random bits (default)",
            PeerProgram::Cmp1e4EdaBits => "10^4 64-bit comparisons (<), edaBits (`-Y`)",
            PeerProgram::Mul1e5 => "10^5 products",
        }
    }

    /// The input of `party` (0 inputs `a`, 1 inputs `b`), one integer a line. Comparison operands
    /// lie in [-2^62, 2^62) so that `a - b` fits MP-SPDZ's 64-bit comparison.
    pub(crate) fn input(self, party: usize) -> String {
        let mut s = String::with_capacity(self.size() * 21);
        for i in 0..self.size() as u64 {
            let x = i
                .wrapping_add(party as u64 * 0x5851_F42D_4C95_7F2D)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let v = if self.is_comparison() {
                (x as i64) >> 1
            } else {
                (x >> 1) as i64
            };
            s.push_str(&v.to_string());
            s.push('\n');
        }
        s
    }
}

/// What one party printed, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct PartyFigures {
    /// `Time = T seconds`: the party's own timer (program start to end, preprocessing included).
    pub time_secs: f64,
    /// `Data sent = X MB in ~R rounds (party P only ...)`: X.
    pub mb_sent: f64,
    /// R, if printed.
    pub rounds: Option<u64>,
    /// `Global data sent = X MB (all parties)`, if printed.
    pub global_mb: Option<f64>,
}

/// The figures of one run of one program.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerResult {
    pub program: PeerProgram,
    /// Wall time from starting both parties until both had exited, as seen by us (includes
    /// MP-SPDZ's start-up, connection set-up and base OTs).
    pub wall_secs: f64,
    /// What each party printed, in party order.
    pub parties: Vec<PartyFigures>,
    /// The machine's 1-minute load average just after the run.
    pub load_1min: String,
}

impl PeerResult {
    /// MB sent by each party, in party order.
    pub fn mb_sent_per_party(&self) -> Vec<f64> {
        self.parties.iter().map(|p| p.mb_sent).collect()
    }

    /// The largest time a party printed.
    pub fn reported_secs(&self) -> f64 {
        self.parties.iter().map(|p| p.time_secs).fold(0.0, f64::max)
    }

    /// Rounds party 0 printed.
    pub fn rounds(&self) -> Option<u64> {
        self.parties.first().and_then(|p| p.rounds)
    }

    /// MP-SPDZ's total over all parties (party 0's line).
    pub fn global_mb(&self) -> Option<f64> {
        self.parties.first().and_then(|p| p.global_mb)
    }
}

/// What went wrong with MP-SPDZ.
#[derive(Debug)]
pub enum PeerError {
    /// The directory is not a built MP-SPDZ tree: `missing` does not exist.
    Missing { dir: PathBuf, missing: PathBuf },
    /// Writing our sources or inputs, or starting a process, failed.
    Io {
        what: String,
        source: std::io::Error,
    },
    /// `compile.py` failed.
    Compile {
        program: PeerProgram,
        status: String,
        output: String,
    },
    /// A party exited with an error or was killed at the timeout.
    PartyFailed {
        program: PeerProgram,
        party: usize,
        status: String,
        output: String,
    },
    /// A party's output lacks a figure we expect, or says something we do not expect.
    Unexpected {
        party: usize,
        what: String,
        output: String,
    },
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Missing { dir, missing } => write!(
                f,
                "{} is not a built MP-SPDZ tree: {} is missing (build it there with `make mascot-party.x`; \
                 see docs/BENCHMARKS.md)",
                dir.display(),
                missing.display()
            ),
            PeerError::Io { what, source } => write!(f, "{what}: {source}"),
            PeerError::Compile {
                program,
                status,
                output,
            } => write!(
                f,
                "MP-SPDZ's compile.py failed on {} ({status}):\n{}",
                program.compiled_name(),
                tail(output)
            ),
            PeerError::PartyFailed {
                program,
                party,
                status,
                output,
            } => write!(
                f,
                "mascot-party.x party {party} failed on {} ({status}):\n{}",
                program.compiled_name(),
                tail(output)
            ),
            PeerError::Unexpected {
                party,
                what,
                output,
            } => write!(
                f,
                "unexpected output from mascot-party.x party {party}: {what}:\n{}",
                tail(output)
            ),
        }
    }
}

impl std::error::Error for PeerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PeerError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The last lines of `s`, for error messages.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PeerError {
    let what = what.into();
    move |source| PeerError::Io { what, source }
}

/// Checks that `dir` holds a built MP-SPDZ (`compile.py` and `mascot-party.x`).
pub fn locate(dir: &Path) -> Result<PathBuf, PeerError> {
    for f in ["compile.py", "mascot-party.x"] {
        let p = dir.join(f);
        if !p.is_file() {
            return Err(PeerError::Missing {
                dir: dir.to_path_buf(),
                missing: p,
            });
        }
    }
    std::fs::canonicalize(dir).map_err(io(format!("resolving {}", dir.display())))
}

/// Parses what one `mascot-party.x` party printed (stdout and stderr). Requires the `Time` and
/// `Data sent` lines, and refuses a run whose timings exclude preprocessing (run with `-F`).
pub fn parse_party_output(party: usize, text: &str) -> Result<PartyFigures, PeerError> {
    let unexpected = |what: &str| PeerError::Unexpected {
        party,
        what: what.to_string(),
        output: text.to_string(),
    };
    if text.contains("The following benchmarks are excluding preprocessing") {
        return Err(unexpected(
            "its timings exclude preprocessing (was it run with -F?)",
        ));
    }
    let mut time_secs = None;
    let mut sent = None;
    let mut global_mb = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Time = ") {
            let v = rest.trim_end_matches("seconds").trim();
            time_secs = Some(
                v.parse::<f64>()
                    .map_err(|_| unexpected(&format!("a Time line without seconds: {line:?}")))?,
            );
        } else if let Some(rest) = line.strip_prefix("Data sent = ") {
            let (mb, after) = rest
                .split_once(" MB")
                .ok_or_else(|| unexpected(&format!("a Data sent line without MB: {line:?}")))?;
            let mb: f64 = mb
                .trim()
                .parse()
                .map_err(|_| unexpected(&format!("a Data sent line without MB: {line:?}")))?;
            let rounds = match after.trim_start().strip_prefix("in ~") {
                Some(r) => Some(
                    r.split_whitespace()
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .ok_or_else(|| {
                            unexpected(&format!("a Data sent line with bad rounds: {line:?}"))
                        })?,
                ),
                None => None,
            };
            sent = Some((mb, rounds));
        } else if let Some(rest) = line.strip_prefix("Global data sent = ") {
            let mb = rest.split_once(" MB").map(|(v, _)| v.trim());
            global_mb = Some(mb.and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| {
                unexpected(&format!("a Global data sent line without MB: {line:?}"))
            })?);
        }
    }
    let time_secs = time_secs.ok_or_else(|| unexpected("no `Time = ... seconds` line"))?;
    let (mb_sent, rounds) = sent.ok_or_else(|| unexpected("no `Data sent = ... MB` line"))?;
    Ok(PartyFigures {
        time_secs,
        mb_sent,
        rounds,
        global_mb,
    })
}

/// Two consecutive free ports on 127.0.0.1 (party i listens on `base + i`).
fn free_port_pair() -> Result<u16, PeerError> {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
        let base = l.local_addr().map_err(io("finding a free port"))?.port();
        if base < u16::MAX && TcpListener::bind(("127.0.0.1", base + 1)).is_ok() {
            return Ok(base);
        }
    }
    Err(PeerError::Io {
        what: "finding two consecutive free ports".into(),
        source: std::io::Error::other("none found"),
    })
}

/// Waits for `child` until `deadline`; kills it (our own child) past that.
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for every child until `deadline`. When one fails, or at the deadline, kills the others
/// (our own children), which would otherwise wait for their peer; `None` for a killed child.
fn wait_all(
    children: &mut [std::process::Child],
    deadline: Instant,
) -> std::io::Result<Vec<Option<ExitStatus>>> {
    let mut statuses = vec![None; children.len()];
    loop {
        for (c, s) in children.iter_mut().zip(statuses.iter_mut()) {
            if s.is_none() {
                *s = c.try_wait()?;
            }
        }
        let failed = statuses.iter().flatten().any(|s| !s.success());
        if statuses.iter().all(Option::is_some) {
            return Ok(statuses);
        }
        if failed || Instant::now() >= deadline {
            for (c, s) in children.iter_mut().zip(statuses.iter()) {
                if s.is_none() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
            return Ok(statuses);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_logs(out: &Path, err: &Path) -> String {
    let mut s = std::fs::read_to_string(out).unwrap_or_default();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&std::fs::read_to_string(err).unwrap_or_default());
    s
}

/// Compiles `program` with the MP-SPDZ in `dir` (its `compile.py`, run by `python3`).
pub fn compile(dir: &Path, program: PeerProgram, work: &Path) -> Result<(), PeerError> {
    let src = work.join(format!("{}.mpc", program.stem()));
    std::fs::write(&src, program.source()).map_err(io(format!("writing {}", src.display())))?;
    let (out, err) = (
        work.join(format!("compile-{}.out", program.compiled_name())),
        work.join(format!("compile-{}.err", program.compiled_name())),
    );
    let mut child = Command::new("python3")
        .current_dir(dir)
        .arg("compile.py")
        .args(program.compile_flags())
        .arg("-o")
        .arg(program.prefix())
        .arg(&src)
        .stdin(Stdio::null())
        .stdout(File::create(&out).map_err(io("creating a log file"))?)
        .stderr(File::create(&err).map_err(io("creating a log file"))?)
        .spawn()
        .map_err(io("starting python3 compile.py"))?;
    let status = wait_until(&mut child, Instant::now() + COMPILE_TIMEOUT)
        .map_err(io("waiting for compile.py"))?;
    match status {
        Some(s) if s.success() => Ok(()),
        other => Err(PeerError::Compile {
            program,
            status: other.map_or_else(|| "timed out".into(), |s| s.to_string()),
            output: read_logs(&out, &err),
        }),
    }
}

/// Compiles `program` and runs it with `mascot-party.x`, 2 parties on loopback, live MASCOT
/// preprocessing; returns the figures.
pub fn run_program(dir: &Path, program: PeerProgram) -> Result<PeerResult, PeerError> {
    let dir = locate(dir)?;
    let work = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
    let work = work.path();
    compile(&dir, program, work)?;
    let parties = 2;
    for p in 0..parties {
        let f = work.join(format!("Input-P{p}-0"));
        let mut file = File::create(&f).map_err(io(format!("creating {}", f.display())))?;
        file.write_all(program.input(p).as_bytes())
            .map_err(io(format!("writing {}", f.display())))?;
    }
    let port = free_port_pair()?;
    let start = Instant::now();
    let mut children = Vec::new();
    let mut logs = Vec::new();
    for p in 0..parties {
        let (out, err) = (
            work.join(format!("party{p}.out")),
            work.join(format!("party{p}.err")),
        );
        let spawned = Command::new(dir.join("mascot-party.x"))
            .current_dir(&dir)
            .args(["-N", &parties.to_string(), "-p", &p.to_string()])
            .args(["-h", "localhost", "-pn", &port.to_string()])
            .arg("-IF")
            .arg(work.join("Input"))
            .arg(program.compiled_name())
            .stdin(Stdio::null())
            .stdout(File::create(&out).map_err(io("creating a log file"))?)
            .stderr(File::create(&err).map_err(io("creating a log file"))?)
            .spawn();
        match spawned {
            Ok(c) => children.push(c),
            Err(e) => {
                for c in &mut children {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(PeerError::Io {
                    what: "starting mascot-party.x".into(),
                    source: e,
                });
            }
        }
        logs.push((out, err));
    }
    let statuses =
        wait_all(&mut children, start + RUN_TIMEOUT).map_err(io("waiting for mascot-party.x"))?;
    let wall_secs = start.elapsed().as_secs_f64();
    let load_1min = crate::bench::load_average()
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let outputs: Vec<String> = logs.iter().map(|(o, e)| read_logs(o, e)).collect();
    // Report the party that failed first: a killed peer only says it was killed.
    let failed = statuses
        .iter()
        .position(|s| s.is_some_and(|s| !s.success()))
        .or_else(|| statuses.iter().position(Option::is_none));
    if let Some(p) = failed {
        return Err(PeerError::PartyFailed {
            program,
            party: p,
            status: statuses[p].map_or_else(
                || "killed (timed out, or its peer failed)".into(),
                |s| s.to_string(),
            ),
            output: outputs[p].clone(),
        });
    }
    if !outputs[0].contains("ephemeral-bench:") {
        return Err(PeerError::Unexpected {
            party: 0,
            what: "the program's result line (`ephemeral-bench: ...`) is missing".into(),
            output: outputs[0].clone(),
        });
    }
    let parties = outputs
        .iter()
        .enumerate()
        .map(|(p, o)| parse_party_output(p, o))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PeerResult {
        program,
        wall_secs,
        parties,
        load_1min,
    })
}

/// Marks the start of the hand-written "how to get MP-SPDZ" subsection of the report, which
/// `ephemeral bench` carries over when it rewrites the file.
pub const HOWTO_BEGIN: &str = "<!-- mp-spdz peer how-to: begin -->";
/// Marks its end.
pub const HOWTO_END: &str = "<!-- mp-spdz peer how-to: end -->";

/// The how-to subsection of `text` (markers and the newline after the end marker included), if
/// it has a whole one.
pub fn existing_howto(text: &str) -> Option<String> {
    crate::bench::marked_block(text, HOWTO_BEGIN, HOWTO_END)
}

/// Our own figures for the same operation and size, when this run measured them.
pub struct OursForPeer {
    pub is_comparison: bool,
    pub size: usize,
    pub online_secs: f64,
    pub mb_sent: f64,
    pub rounds: u64,
}

/// The report's section: MP-SPDZ's figures from this run, with ours for the same size next to
/// them where this run measured it (`--quick` sizes match MP-SPDZ's programs).
pub fn section(
    md: &mut String,
    dir: &Path,
    results: &[PeerResult],
    ours: &[OursForPeer],
) -> fmt::Result {
    use std::fmt::Write as _;
    writeln!(md, "## MP-SPDZ, measured in this run\n")?;
    writeln!(
        md,
        "MP-SPDZ's `mascot-party.x` from `{}`, 2 parties as two processes on loopback (MP-SPDZ's default: no TLS between parties), MASCOT preprocessing live (nothing precomputed, no `-F`), on our programs in `crates/cli/bench-programs/`, right after our online protocol benchmarks. Wall time: from starting both processes to both exiting, as seen by `ephemeral` (start-up and base OTs included); MP-SPDZ time: the largest `Time =` a party printed. MB sent: MP-SPDZ's `Data sent` per party; rounds: party 0's. Ours: the online phase on INSECURE dealer tuples (off the clock) over TLS, from the table above; it is only listed where this run measured the same size (`--quick`), and it is not end to end: MP-SPDZ's figures include generating every triple and bit with MASCOT, ours do not (see the MASCOT offline phase for our triple rate).\n",
        dir.display()
    )?;
    writeln!(md, "| program | parties | wall time | MP-SPDZ time | MB sent per party | MB sent, all parties | rounds | load (1 min) | ours: online time, MB sent per party, rounds |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
    for r in results {
        let sent = r
            .mb_sent_per_party()
            .iter()
            .map(|m| format!("{m:.1}"))
            .collect::<Vec<_>>()
            .join(" / ");
        let ours = ours
            .iter()
            .find(|o| o.is_comparison == r.program.is_comparison() && o.size == r.program.size())
            .map(|o| {
                format!(
                    "{:.3} s, {:.1} MB, {} rounds",
                    o.online_secs, o.mb_sent, o.rounds
                )
            })
            .unwrap_or_else(|| "– (not measured at this size; use `--quick`)".into());
        writeln!(
            md,
            "| {} | {} | {:.2} s | {:.2} s | {} | {} | {} | {} | {} |",
            r.program.label(),
            r.parties.len(),
            r.wall_secs,
            r.reported_secs(),
            sent,
            r.global_mb()
                .map_or_else(|| "–".into(), |g| format!("{g:.1}")),
            r.rounds().map_or_else(|| "–".into(), |n| n.to_string()),
            r.load_1min,
            ours
        )?;
    }
    writeln!(md)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tree_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        match locate(dir.path()) {
            Err(PeerError::Missing { missing, .. }) => {
                assert!(missing.ends_with("compile.py"), "{missing:?}")
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(dir.path().join("compile.py"), "").unwrap();
        match run_program(dir.path(), PeerProgram::Mul1e5) {
            Err(e @ PeerError::Missing { .. }) => {
                assert!(e.to_string().contains("mascot-party.x"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// A stand-in MP-SPDZ tree: an empty `compile.py` and `mascot-party.x` as the given shell
    /// script.
    #[cfg(unix)]
    fn fake_tree(script: &str) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compile.py"), "").unwrap();
        let bin = dir.path().join("mascot-party.x");
        std::fs::write(&bin, format!("#!/bin/sh\n{script}")).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_party_that_prints_nonsense_or_fails_is_a_typed_error() {
        let t = fake_tree("echo 'Segmentation fault'\n");
        match run_program(t.path(), PeerProgram::Mul1e5) {
            Err(PeerError::Unexpected {
                party: 0, output, ..
            }) => {
                assert!(output.contains("Segmentation fault"), "{output}")
            }
            other => panic!("{other:?}"),
        }
        // Party 0 fails at once; party 1 would wait for it for a minute and is killed.
        let t = fake_tree(
            "case \"$*\" in *'-p 0'*) echo 'Fatal error: boom' >&2; exit 1;; esac\nsleep 60\n",
        );
        let t0 = Instant::now();
        match run_program(t.path(), PeerProgram::Mul1e5) {
            Err(e @ PeerError::PartyFailed { party: 0, .. }) => {
                assert!(e.to_string().contains("boom"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn inputs_fit_the_comparison_and_differ_between_parties() {
        let p = PeerProgram::Cmp1e4;
        let (a, b) = (p.input(0), p.input(1));
        assert_eq!(a.lines().count(), 10_000);
        assert_ne!(a, b);
        for v in a.lines().chain(b.lines()) {
            let v: i64 = v.parse().unwrap();
            assert!((-(1 << 62)..(1 << 62)).contains(&v), "{v}");
        }
        assert_eq!(PeerProgram::Mul1e5.input(0).lines().count(), 100_000);
        assert_eq!(
            PeerProgram::Cmp1e4EdaBits.compiled_name(),
            "ephemeral-eda-cmp_1e4"
        );
    }

    #[test]
    fn unexpected_output_is_a_typed_error() {
        match parse_party_output(1, "Segmentation fault\n") {
            Err(PeerError::Unexpected { party: 1, what, .. }) => {
                assert!(what.contains("Time"), "{what}")
            }
            other => panic!("{other:?}"),
        }
        let no_sent = "Time = 1.5 seconds \n";
        assert!(matches!(
            parse_party_output(0, no_sent),
            Err(PeerError::Unexpected { .. })
        ));
        let bad = "Time = 1.5 seconds \nData sent = lots MB in ~3 rounds (party 0 only)\n";
        assert!(matches!(
            parse_party_output(0, bad),
            Err(PeerError::Unexpected { .. })
        ));
        let precomputed = "The following benchmarks are excluding preprocessing (offline phase).\nTime = 0.1 seconds \nData sent = 1 MB in ~3 rounds (party 0 only)\n";
        match parse_party_output(0, precomputed) {
            Err(PeerError::Unexpected { what, .. }) => assert!(what.contains("-F"), "{what}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_how_to_is_found_between_its_markers() {
        let text = format!("# B\n\n{HOWTO_BEGIN}\n### How\n\ntext\n{HOWTO_END}\nafter\n");
        let h = existing_howto(&text).unwrap();
        assert!(h.starts_with(HOWTO_BEGIN) && h.ends_with(&format!("{HOWTO_END}\n")));
        assert!(h.contains("### How"));
        assert!(existing_howto("no markers").is_none());
        assert!(existing_howto(&format!("{HOWTO_BEGIN}\nno end")).is_none());
    }

    #[test]
    fn the_flag_is_opt_in() {
        use clap::Parser;
        let dir = |argv: &[&str]| match crate::Cli::try_parse_from(argv) {
            Ok(crate::Cli {
                command: crate::Command::Bench(b),
            }) => b.mpspdz_dir().map(Path::to_path_buf),
            Ok(_) => panic!("not bench"),
            Err(e) => panic!("{argv:?}: {e}"),
        };
        assert_eq!(dir(&["ephemeral", "bench", "--insecure-dealer"]), None);
        assert_eq!(
            dir(&[
                "ephemeral",
                "bench",
                "--insecure-dealer",
                "--quick",
                "--mpspdz",
                "/work/peer/MP-SPDZ"
            ]),
            Some(PathBuf::from("/work/peer/MP-SPDZ"))
        );
    }

    /// Captured from a real run (2026-12-05, `mascot-party.x -N 2 -h localhost` on
    /// `ephemeral-mul_1e5`, MP-SPDZ 3a0a7b1d built with KOS): party 0's stdout then stderr.
    const MUL_1E5_PARTY0: &str = "\
ephemeral-bench: sum of 100000 products -53393566700297166843875994262687256987
Using statistical security parameter 40
WARNING: insecure OT extension (security of KOS15 is unclear, see https://eprint.iacr.org/2022/192.)
The following benchmarks are including preprocessing (offline phase).
Time = 53.5881 seconds\x20
Data sent = 2464.48 MB in ~1875 rounds (party 0 only; use '-v' for more details)
Global data sent = 4928.96 MB (all parties)
";

    /// The same run, party 1 (stderr only: the program prints on party 0).
    const MUL_1E5_PARTY1: &str = "\
Using statistical security parameter 40
WARNING: insecure OT extension (security of KOS15 is unclear, see https://eprint.iacr.org/2022/192.)
The following benchmarks are including preprocessing (offline phase).
Time = 53.5699 seconds\x20
Data sent = 2464.48 MB in ~1875 rounds (party 1 only; use '-v' for more details)
Global data sent = 4928.96 MB (all parties)
";

    #[test]
    fn parses_a_real_mul_run() {
        let p0 = parse_party_output(0, MUL_1E5_PARTY0).unwrap();
        assert_eq!(
            p0,
            PartyFigures {
                time_secs: 53.5881,
                mb_sent: 2464.48,
                rounds: Some(1875),
                global_mb: Some(4928.96),
            }
        );
        let p1 = parse_party_output(1, MUL_1E5_PARTY1).unwrap();
        assert_eq!((p1.time_secs, p1.rounds), (53.5699, Some(1875)));
        let r = PeerResult {
            program: PeerProgram::Mul1e5,
            wall_secs: 53.85,
            parties: vec![p0, p1],
            load_1min: "7.25".into(),
        };
        assert_eq!(r.reported_secs(), 53.5881);
        assert_eq!(r.mb_sent_per_party(), vec![2464.48, 2464.48]);
        let mut md = String::new();
        let ours = [OursForPeer {
            is_comparison: false,
            size: 100_000,
            online_secs: 0.03,
            mb_sent: 3.2,
            rounds: 5,
        }];
        section(&mut md, Path::new("/peer/MP-SPDZ"), &[r], &ours).unwrap();
        let row = md
            .lines()
            .find(|l| l.starts_with("| 10^5 products"))
            .unwrap();
        assert_eq!(
            row,
            "| 10^5 products | 2 | 53.85 s | 53.59 s | 2464.5 / 2464.5 | 4929.0 | 1875 | 7.25 | 0.030 s, 3.2 MB, 5 rounds |"
        );
    }

    /// Against a real MP-SPDZ tree named by `EPHEMERAL_MPSPDZ` (about a minute on 2 cores):
    /// `EPHEMERAL_MPSPDZ=/work/peer/MP-SPDZ cargo test -p cli bench_peer -- --ignored`.
    #[test]
    #[ignore = "needs a built MP-SPDZ in EPHEMERAL_MPSPDZ"]
    fn runs_the_products_program_on_a_real_mpspdz() {
        let dir = PathBuf::from(std::env::var_os("EPHEMERAL_MPSPDZ").expect("EPHEMERAL_MPSPDZ"));
        let r = run_program(&dir, PeerProgram::Mul1e5).unwrap();
        assert_eq!(r.parties.len(), 2);
        assert!(r.wall_secs >= r.reported_secs() * 0.9, "{r:?}");
        assert!(r.mb_sent_per_party().iter().all(|&m| m > 0.0), "{r:?}");
        assert!(r.rounds().is_some_and(|n| n > 0), "{r:?}");
        eprintln!("{r:?}");
    }
}
