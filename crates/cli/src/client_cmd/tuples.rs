//! `ephemeral tuples stats`: every party's preprocessed tuple pools.

use clap::{Args, Subcommand};

use super::output::table;
use super::{block_on, print_json, CloudOpts};

#[derive(Args, Debug)]
pub struct TuplesArgs {
    #[command(flatten)]
    pub opts: CloudOpts,
    #[command(subcommand)]
    pub cmd: TuplesCmd,
}

#[derive(Subcommand, Debug)]
pub enum TuplesCmd {
    /// Per party and tuple kind: tuples available, consumed and generated, the consumption and
    /// generation rates over the last minute, and the generator in use.
    Stats,
}

/// Runs `ephemeral tuples ...`.
pub fn run(args: TuplesArgs) -> anyhow::Result<()> {
    let opts = args.opts;
    let client = opts.client()?;
    let TuplesCmd::Stats = args.cmd;
    let stats = block_on(async { Ok(client.tuple_stats().await?) })?;
    if opts.json {
        return print_json(&stats);
    }
    let mut rows = Vec::new();
    for s in &stats {
        for k in &s.kinds {
            rows.push(vec![
                s.party.to_string(),
                k.kind.clone(),
                k.available.to_string(),
                k.inactive.to_string(),
                k.consumed.to_string(),
                format!("{:.2}", k.consumption_rate),
                k.generated.to_string(),
                format!("{:.1}", k.generation_rate),
                k.threshold.to_string(),
            ]);
        }
    }
    out!(
        "{}",
        table(
            &[
                "PARTY",
                "KIND",
                "AVAILABLE",
                "INACTIVE",
                "CONSUMED",
                "RATE (/s)",
                "GENERATED",
                "GEN RATE (/s)",
                "THRESHOLD"
            ],
            &rows
        )
    );
    for s in &stats {
        let generator = match s.generator.as_str() {
            "mascot" => "MASCOT (maliciously secure)",
            "insecure-dealer" => "INSECURE dealer (development only)",
            "" => "not reported",
            other => other,
        };
        let rate: f64 = s.kinds.iter().map(|k| k.generation_rate).sum();
        outln!(
            "party {}: generator {generator}, {} jobs, {} tuples generated since start, {rate:.1} tuples/s over the last minute",
            s.party,
            s.jobs_completed,
            s.tuples_generated
        );
        if let Some(h) = &s.halt {
            outln!(
                "party {}: GENERATION HALTED since a check failed in preprocessing: step {}{}, job {}, {} failure(s): {}. Run `ephemeral admin rekey` (an operator) to move every party to a fresh MAC key",
                s.party,
                h.step,
                h.peer.map(|p| format!(" with party {p}")).unwrap_or_default(),
                h.job,
                h.failures,
                h.reason
            );
        }
    }
    Ok(())
}
