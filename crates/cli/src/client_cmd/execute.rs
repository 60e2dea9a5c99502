//! `ephemeral execute prog.mpc|NAME ...`: run a program on every party as one game.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use api::{Activation, GameStatus, OutputKind, OutputSpec, Tag};
use clap::Args;
use uuid::Uuid;

use super::{block_on, parse, print_json, CloudOpts};

#[derive(Args, Debug)]
pub struct ExecuteArgs {
    #[command(flatten)]
    pub opts: CloudOpts,
    /// A .mpc file (if a file of that name exists), else the name of a deployed function
    /// (`name` or `name@version`).
    pub target: String,
    /// Input secrets, in order; their values are the first message the program reads from its
    /// client socket.
    #[arg(long = "input", short = 'i', value_name = "ID", num_args = 1..)]
    pub inputs: Vec<Uuid>,
    /// How the outputs come back: plaintext (opened), shares (recombined and verified here), or
    /// secret (stored as a new secret; its id is printed).
    #[arg(long, short = 'o', default_value = "plaintext", value_parser = parse::output_kind)]
    pub output: OutputKind,
    /// A tag of the stored output secret (--output secret): key=value or key:=n. Repeatable.
    #[arg(long = "tag", short = 't', value_name = "K=V|K:=N", value_parser = parse::tag)]
    pub tags: Vec<Tag>,
    /// The game id (default: a fresh UUID).
    #[arg(long)]
    pub game_id: Option<String>,
    /// A file whose contents are the program's public input, the same on every party.
    #[arg(long, value_name = "FILE")]
    pub public_input: Option<PathBuf>,
    /// A private input for one party: PARTY=FILE (whitespace-separated numbers). Repeatable.
    #[arg(long, value_name = "PARTY=FILE", value_parser = parse::private_input)]
    pub private_input: Vec<(usize, PathBuf)>,
    /// Outputs (plaintext or shares) are fixed-point numbers: print the decimals they encode.
    #[command(flatten)]
    pub fixed: parse::FixedOpts,
    /// Compile-time arguments (`program.args`), after `--`.
    #[arg(last = true)]
    pub args: Vec<String>,
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))
}

/// The activation, and the private inputs per party, for these arguments.
fn activation(
    a: &ExecuteArgs,
    parties: usize,
) -> anyhow::Result<(Activation, Vec<Option<String>>)> {
    let (code, function) = if Path::new(&a.target).is_file() {
        (Some(read(Path::new(&a.target), "program")?), None)
    } else if a.target.ends_with(".mpc") {
        anyhow::bail!(
            "{}: no such file (a deployed function's name has no .mpc suffix)",
            a.target
        );
    } else {
        (None, Some(a.target.clone()))
    };
    if !a.tags.is_empty() && a.output != OutputKind::AmphoraSecret {
        anyhow::bail!("--tag tags a stored output; use it with --output secret");
    }
    let public_input = a
        .public_input
        .as_deref()
        .map(|p| read(p, "public input"))
        .transpose()?;
    let mut private = Vec::new();
    if !a.private_input.is_empty() {
        private = vec![None; parties];
        for (p, file) in &a.private_input {
            let slot = private.get_mut(*p).with_context(|| {
                format!(
                    "--private-input {p}=…: there are only {parties} parties (0..{})",
                    parties - 1
                )
            })?;
            if slot.is_some() {
                anyhow::bail!("--private-input: party {p} is given twice");
            }
            *slot = Some(read(file, "private input")?);
        }
    }
    let act = Activation {
        game_id: a.game_id.clone(),
        code,
        function,
        args: a.args.clone(),
        inputs: a.inputs.clone(),
        output: OutputSpec {
            kind: a.output,
            tags: a.tags.clone(),
        },
        public_input,
        private_input: None,
    };
    Ok((act, private))
}

/// What a game waiting for its tuples shows.
fn waiting_message(p: &api::PrepProgress) -> String {
    let eta = match p.eta_secs {
        Some(s) => format!(", about {:.0} s left", s.ceil()),
        None => String::new(),
    };
    format!(
        "waiting for preprocessing: generating {} tuples{eta}",
        p.kind
    )
}

/// Runs `ephemeral execute ...`.
pub fn run(args: ExecuteArgs) -> anyhow::Result<()> {
    let client = args.opts.client()?;
    let n = client.parties();
    let (mut act, private) = activation(&args, n)?;
    let fx = args.fixed.encoding()?;
    if fx.is_some() && args.output == OutputKind::AmphoraSecret {
        anyhow::bail!(
            "--fixed decodes plaintext or shares outputs; read a stored output with `secret get ID --fixed`"
        );
    }
    let game_id = act
        .game_id
        .get_or_insert_with(|| Uuid::new_v4().to_string())
        .clone();
    let result = block_on(async {
        let spinner = args
            .opts
            .spinner(format!("running game {game_id} on {n} parties"));
        let exec = client.execute_with_private_inputs(act, private);
        tokio::pin!(exec);
        // While the game runs, follow party 0's report of it: a game that waits for its tuples
        // shows how many are made, out of how many, and when it expects to start.
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut last_line = Instant::now() - Duration::from_secs(60);
        let mut last_made = None;
        loop {
            tokio::select! {
                r = &mut exec => break Ok(r?),
                _ = tick.tick() => {
                    let Ok(s) = client.game_status_on(0, &game_id).await else { continue };
                    match (s.status, s.preprocessing) {
                        (GameStatus::WaitingForTuples, Some(p)) => {
                            let msg = waiting_message(&p);
                            spinner.progress(p.made, p.needed, msg.clone());
                            // Without a terminal (and not --json), a line when it moved on,
                            // or every 15 s while it did not.
                            let moved = last_made != Some(p.made);
                            if !spinner.visible() && !args.opts.json
                                && ((moved && last_line.elapsed() >= Duration::from_secs(2))
                                    || last_line.elapsed() >= Duration::from_secs(15))
                            {
                                eprintln!("game {game_id}: {msg} ({}/{})", p.made, p.needed);
                                last_line = Instant::now();
                                last_made = Some(p.made);
                            }
                        }
                        (GameStatus::Running, _) => {
                            spinner.message(format!("running game {game_id} on {n} parties"));
                        }
                        _ => {}
                    }
                }
            }
        }
    })?;
    let decoded = fx.map(|fx| result.outputs.to_f64(fx)).transpose()?;
    if args.opts.json {
        let mut v = serde_json::to_value(&result)?;
        if let (Some(d), Some(obj)) = (&decoded, v.as_object_mut()) {
            obj.insert("fixed_values".into(), serde_json::json!(d));
        }
        print_json(&v)?;
    } else {
        out!("{}", result.printed);
        if !result.printed.is_empty() && !result.printed.ends_with('\n') {
            outln!();
        }
        match &decoded {
            Some(d) => {
                for x in d {
                    outln!("{x}");
                }
            }
            None => {
                for line in result.outputs.lines() {
                    outln!("{line}");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: ExecuteArgs,
    }

    fn args(v: &[&str]) -> ExecuteArgs {
        let mut all = vec!["execute"];
        all.extend_from_slice(v);
        T::try_parse_from(all).unwrap().a
    }

    #[test]
    fn an_existing_file_is_code_anything_else_a_function() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.mpc");
        std::fs::write(&f, "print_ln('hi')").unwrap();
        let (a, p) = activation(&args(&[f.to_str().unwrap()]), 2).unwrap();
        assert_eq!(a.code.as_deref(), Some("print_ln('hi')"));
        assert_eq!(a.function, None);
        assert!(p.is_empty());
        let (a, _) = activation(&args(&["sum@2"]), 2).unwrap();
        assert_eq!(a.function.as_deref(), Some("sum@2"));
        let e = activation(&args(&["missing.mpc"]), 2).unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
    }

    #[test]
    fn private_and_public_inputs_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let (pubf, privf) = (dir.path().join("pub"), dir.path().join("priv"));
        std::fs::write(&pubf, "1 2").unwrap();
        std::fs::write(&privf, "3").unwrap();
        let a = args(&[
            "f",
            "--public-input",
            pubf.to_str().unwrap(),
            "--private-input",
            &format!("1={}", privf.display()),
        ]);
        let (act, p) = activation(&a, 3).unwrap();
        assert_eq!(act.public_input.as_deref(), Some("1 2"));
        assert_eq!(p, vec![None, Some("3".to_string()), None]);
        let a = args(&["f", "--private-input", &format!("3={}", privf.display())]);
        assert!(activation(&a, 3)
            .unwrap_err()
            .to_string()
            .contains("only 3 parties"));
    }

    #[test]
    fn tags_need_a_stored_output() {
        let e = activation(&args(&["f", "--tag", "k=v"]), 2).unwrap_err();
        assert!(e.to_string().contains("--output secret"), "{e}");
        let (a, _) = activation(&args(&["f", "--tag", "k=v", "-o", "secret"]), 2).unwrap();
        assert_eq!(a.output.tags, vec![Tag::string("k", "v")]);
    }
}
