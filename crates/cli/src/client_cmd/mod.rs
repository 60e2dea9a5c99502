//! The client subcommands (`secret`, `fn`, `execute`, `tuples`, `health`): the SDK (`client`)
//! behind a command line. Each reads the cloud file (`--cloud FILE`, else `$EPHEMERAL_CLOUD`,
//! else `~/.config/ephemeral/cloud.toml`) and prints tables for people or, with `--json`, JSON
//! for scripts on stdout. Progress spinners go to stderr, and only when it is a terminal.

/// `println!` for command output: through [`emit`], so that a closed pipe ends quietly.
macro_rules! outln {
    () => {
        $crate::client_cmd::emit("\n")
    };
    ($($t:tt)*) => {
        $crate::client_cmd::emit(&format!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` for command output, through [`emit`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::client_cmd::emit(&format!($($t)*))
    };
}

pub mod admin;
pub mod execute;
pub mod fn_cmd;
pub mod health;
mod output;
mod parse;
pub mod secret;
pub mod tuples;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use client::Client;

/// Options of every client command.
#[derive(Args, Debug, Clone, Default)]
pub struct CloudOpts {
    /// The virtual-cloud file (default: $EPHEMERAL_CLOUD, else ~/.config/ephemeral/cloud.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub cloud: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

impl CloudOpts {
    /// A client of the configured cloud.
    fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::from_cloud_file(self.cloud.as_deref())?)
    }

    /// A spinner on stderr with `msg`, when stderr is a terminal and the output is not JSON.
    fn spinner(&self, msg: String) -> Spinner {
        if self.json || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(msg);
        pb.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(pb))
    }
}

/// A progress spinner, cleared when dropped.
struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    /// Turns the spinner into a bar at `done` of `total`, with `msg`.
    fn progress(&self, done: u64, total: u64, msg: String) {
        if let Some(pb) = &self.0 {
            if pb.length() != Some(total) {
                pb.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} [{bar:30}] {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                pb.set_length(total);
            }
            pb.set_position(done);
            pb.set_message(msg);
        }
    }

    /// Back to a spinner with `msg`.
    fn message(&self, msg: String) {
        if let Some(pb) = &self.0 {
            if pb.length().is_some() {
                pb.set_style(indicatif::ProgressStyle::default_spinner());
                pb.unset_length();
            }
            pb.set_message(msg);
        }
    }

    /// True when it shows on a terminal.
    fn visible(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

/// Runs `f` on a fresh single-threaded async runtime.
fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
}

/// Writes command output to stdout. When the reader has gone (`ephemeral ... | head`), the
/// program ends quietly with success; any other write error ends it with a message.
pub(crate) fn emit(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Prints `value` as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// The client commands as `main.rs` registers them.
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(clap::Subcommand)]
    enum Command {
        Secret(super::secret::SecretArgs),
        Fn(super::fn_cmd::FnArgs),
        Execute(super::execute::ExecuteArgs),
        Tuples(super::tuples::TuplesArgs),
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        let mut v = vec!["ephemeral"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).map(|c| c.command)
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        for args in [
            &[
                "secret",
                "--json",
                "--cloud",
                "c.toml",
                "get",
                "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
            ][..],
            &[
                "secret",
                "get",
                "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
                "--json",
                "--cloud",
                "c.toml",
            ],
        ] {
            let Ok(Command::Secret(s)) = parse(args) else {
                panic!("{args:?}")
            };
            assert!(s.opts.json);
            assert_eq!(
                s.opts.cloud.as_deref(),
                Some(std::path::Path::new("c.toml"))
            );
        }
        let Ok(Command::Tuples(t)) = parse(&["tuples", "stats", "--json"]) else {
            panic!()
        };
        assert!(t.opts.json);
    }

    #[test]
    fn execute_and_fn_parse() {
        let Ok(Command::Execute(e)) = parse(&[
            "execute",
            "sum",
            "--output",
            "shares",
            "--input",
            "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
            "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3e",
            "--tag",
            "k=v",
            "--game-id",
            "g",
            "--json",
            "--",
            "8",
            "-x",
        ]) else {
            panic!()
        };
        assert_eq!(e.target, "sum");
        assert_eq!(e.inputs.len(), 2);
        assert_eq!(e.output, api::OutputKind::SecretShare);
        assert_eq!(e.args, vec!["8", "-x"]);
        assert_eq!(e.game_id.as_deref(), Some("g"));
        assert!(e.opts.json);
        for (word, kind) in [
            ("plaintext", api::OutputKind::Plaintext),
            ("secret", api::OutputKind::AmphoraSecret),
            ("SECRETSHARE", api::OutputKind::SecretShare),
        ] {
            let Ok(Command::Execute(e)) = parse(&["execute", "p.mpc", "-o", word]) else {
                panic!()
            };
            assert_eq!(e.output, kind);
        }
        assert!(parse(&["execute", "p.mpc", "--output", "csv"]).is_err());
        assert!(parse(&["execute", "p.mpc", "--input", "not-a-uuid"]).is_err());
        let Ok(Command::Fn(_)) = parse(&["fn", "deploy", "sum", "sum.mpc", "--", "3"]) else {
            panic!()
        };
        let Ok(Command::Fn(_)) = parse(&["fn", "list"]) else {
            panic!()
        };
        let Ok(Command::Fn(_)) = parse(&["fn", "list", "sum"]) else {
            panic!()
        };
        let Ok(Command::Fn(_)) = parse(&["fn", "delete", "sum"]) else {
            panic!()
        };
    }

    #[test]
    fn secret_forms_parse() {
        let Ok(Command::Secret(s)) = parse(&[
            "secret", "create", "42", "17", "-5", "--tag", "k=v", "--tag", "n:=7",
        ]) else {
            panic!()
        };
        let super::secret::SecretCmd::Create {
            values,
            tags,
            fixed,
        } = s.cmd
        else {
            panic!()
        };
        assert_eq!(values.len(), 3);
        assert_eq!(fixed.encode(&values).unwrap()[2], field::Fp::from_i64(-5));
        assert_eq!(
            tags,
            vec![api::Tag::string("k", "v"), api::Tag::long("n", 7)]
        );
        assert!(parse(&["secret", "create"]).is_err(), "values are required");
        assert!(parse(&["secret", "create", "1", "--tag", "n:=x"]).is_err());
        assert!(parse(&["secret", "create", "x"]).is_err());
        let Ok(Command::Secret(s)) = parse(&["secret", "create", "3.25", "--fixed"]) else {
            panic!()
        };
        let super::secret::SecretCmd::Create { values, fixed, .. } = s.cmd else {
            panic!()
        };
        assert!(fixed.fixed);
        assert_eq!(
            fixed.encode(&values).unwrap(),
            vec![field::Fp::from_u64(3 * 65536 + 16384)]
        );
        assert!(
            parse(&["secret", "create", "1", "--frac-bits", "8"]).is_err(),
            "--frac-bits needs --fixed"
        );
        let Ok(Command::Secret(s)) = parse(&[
            "secret",
            "get",
            "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
            "--fixed",
            "--frac-bits",
            "20",
        ]) else {
            panic!()
        };
        let super::secret::SecretCmd::Get { fixed, .. } = s.cmd else {
            panic!()
        };
        assert_eq!(fixed.encoding().unwrap().map(|f| f.f()), Some(20));
        let Ok(Command::Secret(s)) = parse(&[
            "secret", "list", "--filter", "k=v,n>3", "--page", "2", "--size", "5",
        ]) else {
            panic!()
        };
        let super::secret::SecretCmd::List { filter, page, size } = s.cmd else {
            panic!()
        };
        assert_eq!(filter.as_deref(), Some("k:v,n>3"));
        assert_eq!((page, size), (Some(2), Some(5)));
        assert!(parse(&["secret", "list", "--filter", "k"]).is_err());
        let Ok(Command::Secret(s)) = parse(&[
            "secret",
            "tag",
            "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d",
            "--set",
            "a=b",
            "--set",
            "c:=-1",
            "--delete",
            "d",
        ]) else {
            panic!()
        };
        let super::secret::SecretCmd::Tag { set, delete, .. } = s.cmd else {
            panic!()
        };
        assert_eq!(
            set,
            vec![api::Tag::string("a", "b"), api::Tag::long("c", -1)]
        );
        assert_eq!(delete, vec!["d".to_string()]);
    }

    #[test]
    fn secret_policy_and_audit_options_parse() {
        let id = "7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d";
        let h = "ab".repeat(32);
        let Ok(Command::Secret(s)) = parse(&[
            "secret",
            "policy",
            id,
            "--program",
            &h,
            "-p",
            "c,d",
            "--output",
            "plaintext,shares",
            "--max-uses",
            "3",
        ]) else {
            panic!()
        };
        let super::secret::SecretCmd::Policy {
            programs,
            outputs,
            max_uses,
            clear,
            ..
        } = s.cmd
        else {
            panic!()
        };
        assert_eq!(programs, vec![h.clone(), "c".into(), "d".into()]);
        assert_eq!(
            outputs,
            vec![api::OutputKind::Plaintext, api::OutputKind::SecretShare]
        );
        assert_eq!((max_uses, clear), (Some(3), false));
        assert!(parse(&["secret", "policy", id, "--output", "email"]).is_err());
        assert!(parse(&["secret", "policy", id, "--max-uses", "-1"]).is_err());
        assert!(parse(&["secret", "policy", id, "--clear", "--program", &h]).is_err());
        let Ok(Command::Secret(s)) = parse(&["secret", "audit", id, "--party", "2", "--page", "1"])
        else {
            panic!()
        };
        let super::secret::SecretCmd::Audit {
            party, page, size, ..
        } = s.cmd
        else {
            panic!()
        };
        assert_eq!((party, page, size), (2, Some(1), None));
    }
}
