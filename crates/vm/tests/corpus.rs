//! The program corpus: every `corpus/NAME.mpc` runs for N = 2 and N = 3 parties over in-process
//! channels with the insecure dealer, and party 0's output (followed by the reconstructed socket
//! writes, one line each) must equal `NAME.out` (or `NAME.outN` when the output depends on N).
//!
//! Optional files: `NAME.in0`, `NAME.in1`, ... (private inputs, MP-SPDZ text format),
//! `NAME.pub` (public input), `NAME.sock` (socket input, see `vm::sockets`), `NAME.args`
//! (compile-time arguments, whitespace-separated), `NAME.err` (a run that must fail: the text
//! the root-cause error must contain; the output must still match `NAME.out` if present).
//!
//! `corpus_on_mascot` runs every program again for N = 2 on tuples that MASCOT generates while
//! the program runs (`offline::OnDemandMascot`), the default preprocessing of `ephemeral run`:
//! the outputs must be the same as on the dealer.
//!
//! `CORPUS_FILTER=substring` runs only matching programs; `CORPUS_SHOW=1` prints every output.

mod common;

use std::path::{Path, PathBuf};

use vm::runner::{root_cause, run_local_insecure, PartySetup};
use vm::{reconstruct_writes, SocketScript, VmConfig};

fn read_opt(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

/// Where a corpus run's tuples come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prep {
    InsecureDealer,
    Mascot,
}

/// Runs every party on threads, each with MASCOT generating its tuples on demand over a second
/// in-process mesh.
fn run_local_mascot(
    program: &lang::Bytecode,
    mut setups: Vec<PartySetup>,
) -> Vec<Result<vm::runner::PartyOutcome, vm::runner::PartyError>> {
    let n = setups.len();
    let sim = setups
        .iter()
        .find_map(|s| s.sockets.as_ref())
        .map(|script| vm::SimClients::new(n, script));
    for s in &mut setups {
        s.clients = sim.clone();
    }
    let session: [u8; 32] = rand::random();
    let handles: Vec<_> = net::in_process(n, common::net_config())
        .into_iter()
        .zip(net::in_process(n, common::net_config()))
        .zip(setups)
        .map(|((net, prep_net), setup)| {
            let program = program.clone();
            std::thread::spawn(move || {
                let prep = offline::OnDemandMascot::setup(
                    prep_net,
                    offline::MascotConfig::with_session(session),
                )
                .expect("MASCOT setup");
                vm::runner::run_party(net, prep, &program, setup, &VmConfig::default())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn run_one(mpc: &Path, n: usize) -> Result<(), String> {
    run_one_on(mpc, n, Prep::InsecureDealer)
}

fn run_one_on(mpc: &Path, n: usize, prep: Prep) -> Result<(), String> {
    let stem = mpc.with_extension("");
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", stem.display()));
    let src = read_opt(mpc).ok_or("unreadable source")?;
    let name = mpc.file_name().unwrap().to_string_lossy().to_string();
    let args: Vec<String> = read_opt(&with("args"))
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let prog = lang::compile(&src, &name, &args, &lang::CompileOptions::default())
        .map_err(|e| format!("compile error:\n{e}"))?;
    let script = match read_opt(&with("sock")) {
        Some(s) => Some(SocketScript::parse(&s)?),
        None => None,
    };
    let public = read_opt(&with("pub")).unwrap_or_default();
    let setups = (0..n)
        .map(|p| PartySetup {
            private_input: read_opt(&with(&format!("in{p}"))).unwrap_or_default(),
            public_input: public.clone(),
            sockets: script.clone(),
            clients: None,
            echo: false,
        })
        .collect();
    let results = match prep {
        Prep::InsecureDealer => run_local_insecure(
            &prog.bytecode,
            setups,
            &VmConfig::default(),
            common::net_config(),
        ),
        Prep::Mascot => run_local_mascot(&prog.bytecode, setups),
    };
    let expected_err = read_opt(&with("err"));
    let expected_err_given = expected_err.is_some();
    let expected_out = read_opt(&with(&format!("out{n}"))).or_else(|| read_opt(&with("out")));
    let got = match (root_cause(&results), expected_err) {
        (None, None) => {
            let outs: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
            let writes: Vec<_> = outs.iter().map(|o| o.socket_writes.clone()).collect();
            let mut text = outs[0].output.clone();
            let interactive = script
                .as_ref()
                .map(|s| s.interactive.clone())
                .unwrap_or_default();
            for line in
                reconstruct_writes(&writes, &outs[0].socket_input_protocol, &interactive, None)?
            {
                text.push_str(&line);
                text.push('\n');
            }
            text
        }
        (Some((p, e)), None) => return Err(format!("party {p} failed: {e}")),
        (None, Some(want)) => return Err(format!("expected an error containing {want:?}")),
        (Some((_, e)), Some(want)) => {
            let want = want.trim();
            if !e.to_string().contains(want) {
                return Err(format!("error {e:?} does not contain {want:?}"));
            }
            // Party 0's output before the error.
            match &results[0] {
                Ok(o) => o.output.clone(),
                Err(e) => e.output.clone(),
            }
        }
    };
    if std::env::var_os("CORPUS_SHOW").is_some() {
        println!("=== {name} N={n}\n{got}");
    }
    match expected_out {
        None if expected_err_given && got.is_empty() => Ok(()),
        Some(want) if want == got => Ok(()),
        Some(want) => Err(format!(
            "output differs.\n--- expected\n{want}--- got\n{got}"
        )),
        None => Err(format!("no .out file; the output was:\n{got}")),
    }
}

fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let filter = std::env::var("CORPUS_FILTER").unwrap_or_default();
    let mut programs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mpc"))
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    programs.sort();
    programs
}

#[test]
fn corpus_on_mascot() {
    let programs = programs();
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for p in &programs {
        if let Err(e) = run_one_on(p, 2, Prep::Mascot) {
            failures.push(format!(
                "{} (N = 2, MASCOT): {e}",
                p.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    eprintln!(
        "corpus on MASCOT: {} programs in {:?}, {} failed",
        programs.len(),
        started.elapsed(),
        failures.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let filter = std::env::var("CORPUS_FILTER").unwrap_or_default();
    let mut programs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mpc"))
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    programs.sort();
    let mut failures = Vec::new();
    for p in &programs {
        for n in [2, 3] {
            if let Err(e) = run_one(p, n) {
                failures.push(format!(
                    "{} (N = {n}): {e}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    eprintln!(
        "corpus: {} programs, {} runs failed",
        programs.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
