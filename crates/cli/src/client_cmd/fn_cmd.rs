//! `ephemeral fn ...`: deploy programs as named functions on every party, and list them.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::{table, utc};
use super::{block_on, print_json, CloudOpts};

#[derive(Args, Debug)]
pub struct FnArgs {
    #[command(flatten)]
    pub opts: CloudOpts,
    #[command(subcommand)]
    pub cmd: FnCmd,
}

#[derive(Subcommand, Debug)]
pub enum FnCmd {
    /// Deploy FILE as function NAME on every party (a new version if the code or arguments
    /// changed) and print its program hash.
    Deploy {
        /// The function's name: letters, digits, `_`, `.`, `-`.
        name: String,
        /// The .mpc program.
        file: PathBuf,
        /// Compile-time arguments (`program.args`), after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// List the deployed functions, every version (only NAME's, if given).
    List { name: Option<String> },
    /// Delete a deployed function, every version, on every party.
    Delete { name: String },
}

fn requires(r: &std::collections::BTreeMap<String, u64>) -> String {
    r.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `ephemeral fn ...`.
pub fn run(args: FnArgs) -> anyhow::Result<()> {
    let opts = args.opts;
    let client = opts.client()?;
    let n = client.parties();
    match args.cmd {
        FnCmd::Deploy { name, file, args } => {
            let code = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let info = block_on(async {
                let _s = opts.spinner(format!("deploying {name} on {n} parties"));
                Ok(client.deploy_function(&name, &code, args).await?)
            })?;
            if opts.json {
                print_json(&info)?;
            } else {
                outln!("deployed {} version {}", info.name, info.version);
                outln!("program hash  {}", info.program_hash);
                if !info.requires.is_empty() {
                    outln!("requires      {}", requires(&info.requires));
                }
            }
        }
        FnCmd::Delete { name } => {
            block_on(async { Ok(client.delete_function(&name).await?) })?;
            if opts.json {
                print_json(&serde_json::json!({ "deleted": name }))?;
            } else {
                outln!("deleted {name}");
            }
        }
        FnCmd::List { name } => {
            let fs = block_on(async {
                Ok(match &name {
                    Some(n) => client.function_versions(n).await?,
                    None => client.list_functions().await?,
                })
            })?;
            if opts.json {
                print_json(&fs)?;
            } else {
                let rows: Vec<Vec<String>> = fs
                    .iter()
                    .map(|f| {
                        vec![
                            f.name.clone(),
                            f.version.to_string(),
                            f.program_hash.clone(),
                            f.owner.clone(),
                            utc(f.created_at_ms),
                            requires(&f.requires),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table(
                        &[
                            "NAME",
                            "VERSION",
                            "PROGRAM HASH",
                            "OWNER",
                            "CREATED (UTC)",
                            "REQUIRES"
                        ],
                        &rows
                    )
                );
            }
        }
    }
    Ok(())
}
