//! `ephemeral admin …`: operators' commands on every party of a virtual cloud (the cloud file's
//! tokens must be operators': `admin = true` in each party's `[[clients]]`).

use clap::{Args, Subcommand};

use super::output::table;
use super::{block_on, print_json, CloudOpts};

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(flatten)]
    pub opts: CloudOpts,
    #[command(subcommand)]
    pub cmd: AdminCmd,
}

#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Move every party to a fresh MAC key: every stored secret is re-authenticated under it
    /// (no party learns a value), every tuple made under the old key is discarded, and a halt
    /// of tuple generation after a failed check is lifted. Games wait while it runs.
    Rekey,
}

/// Runs `ephemeral admin …`.
pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    let client = args.opts.client()?;
    let AdminCmd::Rekey = args.cmd;
    let results = block_on(async { Ok(client.rekey().await?) })?;
    if args.opts.json {
        return print_json(&results);
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.party.to_string(),
                r.secrets.to_string(),
                r.values.to_string(),
                r.key_generation.to_string(),
            ]
        })
        .collect();
    out!(
        "{}",
        table(&["PARTY", "SECRETS", "VALUES", "KEY GENERATION"], &rows)
    );
    outln!("every party holds a fresh MAC key; tuple generation runs again");
    Ok(())
}
