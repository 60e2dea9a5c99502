//! `ephemeral run prog.mpc [-N 3] [--input-file P=FILE]... [--socket-input FILE] [--stats]
//! [--insecure-dealer] [-- args]`: compile a program and run it across N local parties, printing
//! party 0's output as MP-SPDZ's `Scripts/mascot.sh` does, in one command.
//!
//! **Secure by default:** preprocessing is MASCOT, generated while the program runs
//! ([`offline::OnDemandMascot`]) on a channel of its own, so `--stats` reports the preprocessing
//! and the online phase apart (time, bytes, rounds). `--insecure-dealer` swaps in the INSECURE
//! dealer (every party can derive every tuple and the MAC key) and says so on every run.
//!
//! A program with many comparisons, truncations or equality tests ([`prefers_mixed`]) also gets
//! the binary domain's tuples (binary triples, daBits, edaBits, all generated with their checks),
//! so that the VM runs those kernels mixed-circuit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use offline::{BinaryConfig, MascotConfig, OnDemandMascot, PrepPhase};
use protocol::prep::{InsecureDealer, Preprocessing};
use vm::runner::{root_cause, run_party, run_party_insecure, PartyOutcome, PartySetup};
use vm::{SocketScript, VmConfig};

use crate::local::{self, binary_session, Transport};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The program, in MP-SPDZ's Python dialect.
    program: PathBuf,
    /// Number of parties.
    #[arg(short = 'N', long = "parties", default_value_t = 2)]
    parties: usize,
    /// A party's private input file, as PARTY=FILE (MP-SPDZ's text format: whitespace-separated
    /// numbers, decimals for sfix). Repeat for several parties.
    #[arg(long = "input-file", value_name = "PARTY=FILE")]
    input_files: Vec<String>,
    /// The public input file (`public_input()`), read by every party.
    #[arg(long, value_name = "FILE")]
    public_input: Option<PathBuf>,
    /// Values the clients send through sockets, one message per line (see `vm::sockets` for the
    /// format; `3 4` is a message of two secret integers). The secret values are secret-shared
    /// by party 0 before the program starts, and each party reads its own shares.
    #[arg(long, value_name = "FILE")]
    socket_input: Option<PathBuf>,
    /// Use the INSECURE dealer for preprocessing instead of MASCOT (every party can derive every
    /// tuple and the MAC key): for tests and quick looks only.
    #[arg(long)]
    insecure_dealer: bool,
    /// Print, per party, the preprocessing and the online phase apart: time, rounds and bytes
    /// sent of each, and the tuples consumed.
    #[arg(long)]
    stats: bool,
    /// Also show the other parties' output (prefixed with the party), e.g. of `print_ln_to`.
    #[arg(long)]
    all_output: bool,
    /// How the local parties are connected.
    #[arg(long, value_enum, default_value_t = Transport::Channels)]
    transport: Transport,
    /// Compile-time arguments (`program.args[1:]`), after `--`.
    #[arg(last = true)]
    args: Vec<String>,
}

fn input_files(specs: &[String], n: usize) -> anyhow::Result<BTreeMap<usize, String>> {
    let mut out = BTreeMap::new();
    for s in specs {
        let Some((p, file)) = s.split_once('=') else {
            bail!("--input-file takes PARTY=FILE, got {s:?}");
        };
        let p: usize = p
            .trim()
            .parse()
            .with_context(|| format!("--input-file {s:?}: the party must be a number"))?;
        if p >= n {
            bail!("--input-file {s:?}: there is no party {p} among {n} parties (0..{n})");
        }
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading input file {file}"))?;
        if out.insert(p, text).is_some() {
            bail!("--input-file gives party {p} two input files");
        }
    }
    Ok(out)
}

fn tuples(o: &PartyOutcome) -> String {
    let t = &o.stats.tuples;
    let masks: Vec<String> = t
        .input_masks
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(p, c)| format!("{c} of party {p}"))
        .collect();
    let binary = if t.bit_triples + t.dabits + t.edabits > 0 {
        format!(
            "; binary domain: {} binary triples, {} daBits, {} edaBits ({} binary bits)",
            t.bit_triples, t.dabits, t.edabits, t.edabit_bits
        )
    } else {
        String::new()
    };
    format!(
        "{} triples, {} squares, {} bits, {} inverses, input masks: {}{binary}",
        t.triples,
        t.squares,
        t.bits,
        t.inverses,
        if masks.is_empty() {
            "none".to_string()
        } else {
            masks.join(", ")
        }
    )
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let n = args.parties;
    if n < 2 {
        bail!("a computation needs at least 2 parties (got -N {n})");
    }
    let prog = crate::compile::compile_file(&args.program, &args.args)?;
    let inputs = input_files(&args.input_files, n)?;
    let public = match &args.public_input {
        Some(f) => std::fs::read_to_string(f)
            .with_context(|| format!("reading public input {}", f.display()))?,
        None => String::new(),
    };
    let script = match &args.socket_input {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading socket input {}", f.display()))?;
            Some(SocketScript::parse(&text).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let insecure = args.insecure_dealer;
    if insecure {
        eprintln!(
            "WARNING: using the INSECURE dealer for preprocessing: every party can derive every \
             tuple and the MAC key. Local testing only."
        );
    }
    let LocalRun {
        results,
        phases,
        alpha,
        ..
    } = run_local(
        &prog.bytecode,
        prefers_mixed(&prog.summary),
        n,
        args.transport,
        insecure,
        &inputs,
        &public,
        script.as_ref(),
        true,
    )?;

    if let Some((p, e)) = root_cause(&results) {
        let e = e.to_string();
        if e.contains(&format!("party {p} ")) {
            bail!("{e}");
        }
        bail!("{e} (reported by party {p})");
    }
    let outcomes: Vec<PartyOutcome> = results.into_iter().filter_map(Result::ok).collect();
    if args.all_output {
        for (p, o) in outcomes.iter().enumerate().skip(1) {
            for line in o.output.lines() {
                println!("[party {p}] {line}");
            }
        }
    }
    if outcomes.iter().any(|o| !o.socket_writes.is_empty()) {
        let writes: Vec<_> = outcomes.iter().map(|o| o.socket_writes.clone()).collect();
        let interactive = script
            .as_ref()
            .map(|s| s.interactive.clone())
            .unwrap_or_default();
        for line in vm::reconstruct_writes(
            &writes,
            &outcomes[0].socket_input_protocol,
            &interactive,
            Some(alpha),
        )
        .map_err(anyhow::Error::msg)?
        {
            println!("{line}");
        }
    }
    if args.stats {
        eprintln!(
            "Statistics per party (preprocessing: {}; online: the run minus preprocessing):",
            if insecure {
                "the INSECURE dealer, no communication"
            } else {
                "MASCOT, generated while the program ran"
            }
        );
        for (p, o) in outcomes.iter().enumerate() {
            match phases.get(p).copied().flatten() {
                Some(ph) => eprintln!(
                    "  party {p}: preprocessing {}, {} rounds, {} bytes sent, {} MASCOT calls, \
                     {} tuples generated",
                    secs(ph.time),
                    ph.net.rounds,
                    ph.net.bytes_sent,
                    ph.calls,
                    ph.generated,
                ),
                None => eprintln!(
                    "  party {p}: preprocessing (dealer) {}, 0 rounds, 0 bytes sent",
                    secs(o.prep_time)
                ),
            }
            eprintln!(
                "  party {p}: online {}, {} rounds, {} bytes sent, {} flushes, {} MAC checks; {}",
                secs(o.online_time()),
                o.stats.rounds,
                o.stats.bytes_sent,
                o.stats.flushes,
                o.stats.mac_checks,
                tuples(o),
            );
            for (id, t) in &o.stats.timers {
                eprintln!("    timer {id}: {}", secs(*t));
            }
        }
    }
    Ok(())
}

/// What [`run_local`] produced: every party's result, its preprocessing cost (MASCOT only), the
/// global MAC key (for the simulated clients' checks) and the wall time of the whole run,
/// preprocessing setup included.
pub struct LocalRun {
    pub results: Vec<Result<PartyOutcome, vm::runner::PartyError>>,
    pub phases: Vec<Option<PrepPhase>>,
    pub alpha: field::Fp,
    pub wall: std::time::Duration,
}

/// The fewest non-linear kernel elements (comparisons, truncations, equality tests, bit
/// decompositions) for which a secure local run also sets up the binary domain: one edaBit
/// batch is at least 1 024 edaBits (smaller ones need larger check buckets), which costs more
/// than the arithmetic kernels' MASCOT tuples for a handful of comparisons and much less for
/// many.
pub const MIXED_FROM_KERNEL_ELEMENTS: u64 = 1024;

/// Whether a secure local run of a program with this cost summary uses the mixed-circuit kernels
/// (binary triples, daBits, edaBits) rather than the arithmetic ones: when it has at least
/// [`MIXED_FROM_KERNEL_ELEMENTS`] kernel elements counted at compile time (run-time-dependent
/// regions counted once).
pub fn prefers_mixed(summary: &lang::CostSummary) -> bool {
    let kernels = |c: &lang::Counts| c.kernels.values().sum::<u64>();
    let total = kernels(&summary.fixed) + summary.runtime_dependent.as_ref().map_or(0, kernels);
    total >= MIXED_FROM_KERNEL_ELEMENTS
}

/// Runs `bytecode` on `n` local parties over `transport`: with MASCOT generating tuples as the
/// program runs (on a second mesh, so that its traffic is counted apart; with the binary
/// domain's tuples too when `mixed`), or with the INSECURE dealer when `insecure`. `echo`:
/// party 0's prints stream to stdout.
#[allow(clippy::too_many_arguments)]
pub fn run_local(
    bytecode: &lang::Bytecode,
    mixed: bool,
    n: usize,
    transport: Transport,
    insecure: bool,
    inputs: &BTreeMap<usize, String>,
    public: &str,
    script: Option<&SocketScript>,
    echo: bool,
) -> anyhow::Result<LocalRun> {
    let started = std::time::Instant::now();
    let seed: [u8; 32] = {
        let mut s = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut s);
        s
    };
    let clients = script.map(|s| vm::SimClients::new(n, s));
    let setups: Vec<PartySetup> = (0..n)
        .map(|p| PartySetup {
            private_input: inputs.get(&p).cloned().unwrap_or_default(),
            public_input: public.to_string(),
            // Only party 0 needs the socket values (it secret-shares them); the others need the
            // file's shape, which the values do not change.
            sockets: script.cloned(),
            clients: clients.clone(),
            // Party 0's output streams as the program runs, as in MP-SPDZ.
            echo: echo && p == 0,
        })
        .collect();
    let bytecode = std::sync::Arc::new(bytecode.clone());
    let config = VmConfig::default();
    let nets = local::networks(n, transport, local::net_config())?;
    // Preprocessing runs on meshes of its own, so that its traffic is counted apart from the
    // online phase's: one per generation worker of each party ([`prep_workers`]).
    let prep_nets: Vec<Option<Vec<net::Network>>> = if insecure {
        (0..n).map(|_| None).collect()
    } else {
        let mut per_party: Vec<Vec<net::Network>> = (0..n).map(|_| Vec::new()).collect();
        for _ in 0..prep_workers() {
            for (p, net) in local::networks(n, transport, local::net_config())?
                .into_iter()
                .enumerate()
            {
                per_party[p].push(net);
            }
        }
        per_party.into_iter().map(Some).collect()
    };
    let prep_nets = std::sync::Arc::new(std::sync::Mutex::new(prep_nets));
    let results = local::run_parties(nets, move |me, net| {
        let prep_net = prep_nets.lock().expect("prep nets")[me].take();
        let Some(mut prep_nets) = prep_net else {
            let outcome = run_party_insecure(net, seed, &bytecode, setups[me].clone(), &config);
            return Ok(Ran {
                outcome,
                prep: None,
                mac_key_share: InsecureDealer::new(me, n, seed).mac_key_share(),
            });
        };
        // The seed doubles as the run's MASCOT session id: fresh, and the same on every party.
        let prep_net = prep_nets.remove(0);
        let prep = if mixed {
            OnDemandMascot::setup_mixed(
                prep_net,
                MascotConfig::with_session(seed),
                BinaryConfig::with_session(binary_session(&seed)),
            )
        } else {
            OnDemandMascot::setup(prep_net, MascotConfig::with_session(seed))
        }
        .map_err(|e| anyhow::anyhow!("MASCOT setup failed on party {me}: {e}"))?;
        let mut prep = prep;
        for net in prep_nets {
            prep.add_worker(net)
                .map_err(|e| anyhow::anyhow!("MASCOT setup failed on party {me}: {e}"))?;
        }
        let meter = prep.meter();
        let mac_key_share = prep.mac_key_share();
        let outcome = run_party(net, prep, &bytecode, setups[me].clone(), &config);
        Ok(Ran {
            outcome,
            prep: Some(meter.read()),
            mac_key_share,
        })
    })?;
    let phases: Vec<Option<PrepPhase>> = results.iter().map(|r| r.prep).collect();
    // The simulated clients check the MACs of what the program wrote to them: with α = Σ α_i,
    // which only a local run that plays every party can form.
    let alpha = results.iter().map(|r| r.mac_key_share).sum::<field::Fp>();
    Ok(LocalRun {
        results: results.into_iter().map(|r| r.outcome).collect(),
        phases,
        alpha,
        wall: started.elapsed(),
    })
}

/// Generation workers per party of a secure local run: one per core, at most 4. All parties
/// of the run share this machine, so on few cores the workers mostly fill the time one party
/// waits for another's messages (measured in docs/BENCHMARKS.md).
fn prep_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// One party's run, with what its preprocessing cost.
struct Ran {
    outcome: Result<PartyOutcome, vm::runner::PartyError>,
    prep: Option<PrepPhase>,
    mac_key_share: field::Fp,
}
