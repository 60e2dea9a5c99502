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
    /// Per party and tuple kind: tuples available, consumed, and the consumption rate.
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
                "THRESHOLD"
            ],
            &rows
        )
    );
    for s in &stats {
        outln!(
            "party {}: generator {}, {} jobs, {} tuples generated",
            s.party,
            s.generator,
            s.jobs_completed,
            s.tuples_generated
        );
    }
    Ok(())
}
