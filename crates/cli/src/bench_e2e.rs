//! `ephemeral bench e2e [--mpspdz DIR]`: end to end and maliciously secure. Two local parties
//! over mutual TLS on loopback run our benchmark programs (`crates/cli/bench-programs/`: 10^5
//! products, 10^4 64-bit comparisons) through the compiler and the VM, exactly as `ephemeral run`
//! does, with every tuple generated while the program runs: MASCOT for the prime field, and, when
//! the source provides them, binary triples, daBits and edaBits for the mixed-circuit kernels.
//! Preprocessing is inside the clock.
//!
//! With `--mpspdz DIR`, MP-SPDZ's `mascot-party.x` runs the same programs right after ours, in
//! the same run ([`crate::bench_peer`]), and the report gives the ratio; the machine is shared and
//! noisy, so only same-run ratios mean much.
//!
//! It rewrites only the section between [`BEGIN`] and [`END`] of the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::bench_peer::{PeerProgram, PeerResult};
use crate::local::Transport;

/// Marks the start of this benchmark's section of the report.
pub const BEGIN: &str = "<!-- ephemeral bench e2e: begin -->";
/// Marks its end.
pub const END: &str = "<!-- ephemeral bench e2e: end -->";

#[derive(clap::Args)]
pub struct E2eArgs {
    /// Where the report is (only this benchmark's section is rewritten).
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    out: String,
    /// Also run MP-SPDZ's `mascot-party.x` on the same programs in the same run. DIR is a built
    /// MP-SPDZ tree (docs/BENCHMARKS.md says how to get one); we never build or ship MP-SPDZ.
    #[arg(long, value_name = "DIR")]
    mpspdz: Option<PathBuf>,
    /// Which programs.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "products,comparisons"
    )]
    programs: Vec<Which>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    Products,
    Comparisons,
}

/// Our figures for one program.
struct Ours {
    program: PeerProgram,
    wall: Duration,
    prep_time: Duration,
    online_time: Duration,
    prep_mb: f64,
    online_mb: f64,
    prep_rounds: u64,
    online_rounds: u64,
    result_line: String,
    tuples: String,
}

fn run_ours(program: PeerProgram) -> anyhow::Result<Ours> {
    let compiled = lang::compile(
        program.source(),
        &format!("{}.mpc", program.compiled_name()),
        &[],
        &lang::CompileOptions::default(),
    )
    .map_err(|e| anyhow::anyhow!("our benchmark program does not compile:\n{e}"))?;
    let inputs: BTreeMap<usize, String> = (0..2).map(|p| (p, program.input(p))).collect();
    let run = crate::run::run_local(
        &compiled.bytecode,
        crate::run::prefers_mixed(&compiled.summary),
        2,
        Transport::Tls,
        false,
        &inputs,
        "",
        None,
        false,
    )?;
    let mut outcomes = Vec::new();
    for (p, r) in run.results.into_iter().enumerate() {
        outcomes.push(r.map_err(|e| anyhow::anyhow!("party {p} failed: {e}"))?);
    }
    let o = &outcomes[0];
    let phase = run.phases[0].context("the secure run reports its preprocessing")?;
    let result_line = o
        .output
        .lines()
        .find(|l| l.starts_with("ephemeral-bench:"))
        .context("the program's result line is missing")?
        .to_string();
    let t = &o.stats.tuples;
    Ok(Ours {
        program,
        wall: run.wall,
        prep_time: phase.time,
        online_time: o.online_time(),
        prep_mb: phase.net.bytes_sent as f64 / 1e6,
        online_mb: o.stats.bytes_sent as f64 / 1e6,
        prep_rounds: phase.net.rounds,
        online_rounds: o.stats.rounds,
        result_line,
        tuples: format!(
            "{} prime triples, {} bits, {} binary triples, {} daBits, {} edaBits",
            t.triples, t.bits, t.bit_triples, t.dabits, t.edabits
        ),
    })
}

/// Runs the benchmark and rewrites its section of the report.
pub fn run(args: E2eArgs) -> anyhow::Result<()> {
    let mpspdz = match &args.mpspdz {
        Some(dir) => Some(crate::bench_peer::locate(dir)?),
        None => None,
    };
    let mut programs = Vec::new();
    if args.programs.contains(&Which::Products) {
        programs.push(PeerProgram::Mul1e5);
    }
    if args.programs.contains(&Which::Comparisons) {
        programs.push(PeerProgram::Cmp1e4);
    }
    let mut rows = Vec::new();
    for program in programs {
        eprintln!(
            "ours, 2 parties over TLS, MASCOT inside the clock: {} ...",
            program.label()
        );
        let ours = run_ours(program)?;
        eprintln!(
            "  wall {:.2} s (preprocessing {:.2} s, online {:.2} s), {:.1} MB sent per party; {}",
            ours.wall.as_secs_f64(),
            ours.prep_time.as_secs_f64(),
            ours.online_time.as_secs_f64(),
            ours.prep_mb + ours.online_mb,
            ours.result_line
        );
        let mut peers: Vec<PeerResult> = Vec::new();
        if let Some(dir) = &mpspdz {
            let variants: &[PeerProgram] = if program.is_comparison() {
                // MP-SPDZ's best option for comparisons (its default takes about 5 times longer).
                &[PeerProgram::Cmp1e4EdaBits]
            } else {
                &[PeerProgram::Mul1e5]
            };
            for &v in variants {
                eprintln!("MP-SPDZ mascot-party.x, 2 parties: {} ...", v.label());
                let r = crate::bench_peer::run_program(dir, v)?;
                eprintln!(
                    "  wall {:.2} s, {:.1} MB sent by party 0",
                    r.wall_secs,
                    r.mb_sent_per_party().first().copied().unwrap_or(0.0)
                );
                peers.push(r);
            }
        }
        rows.push((ours, peers));
    }
    let section = section(&rows, mpspdz.as_ref())?;
    let old = std::fs::read_to_string(&args.out).unwrap_or_default();
    let new = splice(&old, &section)?;
    std::fs::write(&args.out, new).with_context(|| format!("writing {}", args.out))?;
    eprintln!("wrote the end-to-end section of {}", args.out);
    Ok(())
}

fn section(rows: &[(Ours, Vec<PeerResult>)], mpspdz: Option<&PathBuf>) -> anyhow::Result<String> {
    let mut md = String::new();
    writeln!(md, "{BEGIN}")?;
    writeln!(
        md,
        "## End to end, maliciously secure (preprocessing inside the clock)\n"
    )?;
    writeln!(
        md,
        "Written by `{} bench e2e{}` on {} ({}), load average {} \
         at the end. Two parties over mutual TLS on loopback run the programs of \
         `crates/cli/bench-programs/` through the compiler and the VM (as `ephemeral run` does); \
         every tuple is generated while the program runs (MASCOT, and the binary domain's \
         tuples where the source provides them), so the wall time covers setup, preprocessing \
         and the online phase. MB are sent per party.\n",
        crate::bench::invocation(),
        mpspdz.map_or_else(String::new, |d| format!(" --mpspdz {}", d.display())),
        crate::bench::today(),
        crate::bench::machine(),
        crate::bench::load_average()
    )?;
    writeln!(
        md,
        "| benchmark | wall s | preprocessing s | online s | MB preprocessing | MB online | rounds (prep + online) | tuples used | result |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
    for (o, _) in rows {
        writeln!(
            md,
            "| {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {} + {} | {} | `{}` |",
            o.program.label().replace(", random bits (default)", ""),
            o.wall.as_secs_f64(),
            o.prep_time.as_secs_f64(),
            o.online_time.as_secs_f64(),
            o.prep_mb,
            o.online_mb,
            o.prep_rounds,
            o.online_rounds,
            o.tuples,
            o.result_line
        )?;
    }
    if rows.iter().any(|(_, p)| !p.is_empty()) {
        writeln!(
            md,
            "\nMP-SPDZ `mascot-party.x` on the same programs and inputs, right after ours in the \
             same run (2 processes on loopback, its default transport, live MASCOT):\n"
        )?;
        writeln!(
            md,
            "| benchmark | MP-SPDZ wall s | MP-SPDZ MB sent (party 0) | ours wall s | ours faster by |"
        )?;
        writeln!(md, "|---|---|---|---|---|")?;
        for (o, peers) in rows {
            for p in peers {
                let ratio = p.wall_secs / o.wall.as_secs_f64().max(1e-9);
                writeln!(
                    md,
                    "| {} | {:.2} | {:.1} | {:.2} | {:.2}× |",
                    p.program.label(),
                    p.wall_secs,
                    p.mb_sent_per_party().first().copied().unwrap_or(0.0),
                    o.wall.as_secs_f64(),
                    ratio,
                )?;
            }
        }
    }
    writeln!(md, "{END}")?;
    Ok(md)
}

/// This benchmark's section of `text` (markers and the newline after the end marker included),
/// if it has a whole one: `ephemeral bench`, which rewrites the report, carries it over.
pub fn existing_section(text: &str) -> Option<String> {
    crate::bench::marked_block(text, BEGIN, END)
}

/// `text` with its section replaced by `section` (appended when there is none).
fn splice(text: &str, section: &str) -> anyhow::Result<String> {
    match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => {
            let mut end = e + END.len();
            if text[end..].starts_with('\n') {
                end += 1;
            }
            Ok(format!("{}{}{}", &text[..b], section, &text[end..]))
        }
        (None, None) => {
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str(section);
            Ok(out)
        }
        _ => bail!("the report's end-to-end markers are out of order; fix {BEGIN} / {END} by hand"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_replaced_in_place_and_appended_when_missing() {
        let s = format!("{BEGIN}\nnew\n{END}\n");
        assert_eq!(splice("", &s).unwrap(), s);
        let old = format!("# B\n\n{BEGIN}\nold\n{END}\nafter\n");
        assert_eq!(splice(&old, &s).unwrap(), format!("# B\n\n{s}after\n"));
        assert_eq!(splice("# B\n", &s).unwrap(), format!("# B\n\n{s}"));
        assert!(splice(&format!("{END}{BEGIN}"), &s).is_err());
        assert_eq!(
            existing_section(&format!("# B\n\n{s}after\n")),
            Some(s.clone())
        );
        assert_eq!(existing_section("# B\n"), None);
    }
}
