//! `ephemeral health`: is every party of the cloud up and connected to its peers?

use clap::Args;

use super::output::table;
use super::{block_on, print_json, CloudOpts};

#[derive(Args, Debug)]
pub struct HealthArgs {
    #[command(flatten)]
    pub opts: CloudOpts,
}

/// Runs `ephemeral health`.
pub fn run(args: HealthArgs) -> anyhow::Result<()> {
    let client = args.opts.client()?;
    let health = block_on(async { Ok(client.health().await?) })?;
    if args.opts.json {
        return print_json(&health);
    }
    let rows: Vec<Vec<String>> = health
        .iter()
        .zip(&client.config().parties)
        .map(|(h, p)| {
            let down: Vec<String> = h
                .peers
                .iter()
                .filter(|p| !p.connected)
                .map(|p| p.party.to_string())
                .collect();
            vec![
                h.party.to_string(),
                p.url.clone(),
                h.status.clone(),
                h.generator.clone(),
                h.running_games.to_string(),
                if down.is_empty() {
                    "-".into()
                } else {
                    down.join(",")
                },
                h.version.clone(),
            ]
        })
        .collect();
    out!(
        "{}",
        table(
            &[
                "PARTY",
                "URL",
                "STATUS",
                "TUPLES",
                "GAMES",
                "PEERS DOWN",
                "VERSION"
            ],
            &rows
        )
    );
    Ok(())
}
