//! Running the parties of one program in this process: for `ephemeral run`, the test corpus and
//! the benchmarks.
//!
//! [`run_party`] takes any preprocessing source (`ephemeral run` passes MASCOT generating on
//! demand, `offline::OnDemandMascot`). The `insecure` functions use the INSECURE dealer, which
//! derives every party's tuples and the MAC key from one seed (see
//! `protocol::prep::InsecureDealer`): tests and benchmarks only, named accordingly.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lang::Bytecode;
use net::{NetConfig, Network};
use protocol::prep::{InsecureDealer, Preprocessing};
use protocol::{Engine, EngineConfig, RunStats};

use crate::error::VmError;
use crate::host::{LocalHost, SocketWrite, Tokens};
use crate::sockets::{prepare_sockets, SimClients, SocketScript};
use crate::stats::{TimedPrep, VmStats};
use crate::VmConfig;

/// What one party gets: its private input, the public input, the socket input.
#[derive(Clone, Default, Debug)]
pub struct PartySetup {
    /// This party's private input, MP-SPDZ text format.
    pub private_input: String,
    /// The public input (`public_input()`), the same for every party.
    pub public_input: String,
    /// Messages the clients send (see [`crate::sockets`]); shares are made before the run.
    pub sockets: Option<SocketScript>,
    /// The simulated clients of `sockets` (one object shared by all parties); made by
    /// [`run_local_insecure`] when missing.
    pub clients: Option<Arc<SimClients>>,
    /// Echo this party's prints to stdout as they happen.
    pub echo: bool,
}

/// What one party's run produced.
#[derive(Debug)]
pub struct PartyOutcome {
    /// Everything the party printed.
    pub output: String,
    pub stats: VmStats,
    /// Time the preprocessing source spent making tuples during the run (the dealer deriving
    /// them, or MASCOT generating them on demand), included in `stats.elapsed`.
    pub prep_time: Duration,
    /// Messages the program wrote to client sockets.
    pub socket_writes: Vec<SocketWrite>,
    /// Indices in `socket_writes` of the triple messages used by `receive_from_client`.
    pub socket_input_protocol: BTreeSet<usize>,
    /// The engine's totals (including the socket input preparation).
    pub engine: RunStats,
}

/// A party's run that failed, with what it printed before the error.
#[derive(Debug)]
pub struct PartyError {
    pub error: Box<VmError>,
    pub output: String,
}

impl std::fmt::Display for PartyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for PartyError {}

impl PartyOutcome {
    /// Online time: the run's wall time minus the preprocessing source's.
    pub fn online_time(&self) -> Duration {
        self.stats.elapsed.saturating_sub(self.prep_time)
    }
}

/// The engine configuration a program needs.
pub fn engine_config(program: &Bytecode) -> EngineConfig {
    EngineConfig {
        bit_length: program.params.bit_length,
        security: program.params.security,
        ..EngineConfig::default()
    }
}

/// Runs party `net.my_id()` of `n` with the INSECURE dealer seeded by `seed`.
pub fn run_party_insecure(
    net: Network,
    seed: [u8; 32],
    program: &Bytecode,
    setup: PartySetup,
    config: &VmConfig,
) -> Result<PartyOutcome, PartyError> {
    let dealer = InsecureDealer::new(net.my_id(), net.n_parties(), seed);
    run_party(net, dealer, program, setup, config)
}

/// Runs party `net.my_id()` of a program with preprocessing from `prep`; every party of the run
/// must use a source of the same kind (they draw from it in lock-step).
pub fn run_party<P: Preprocessing>(
    net: Network,
    prep: P,
    program: &Bytecode,
    setup: PartySetup,
    config: &VmConfig,
) -> Result<PartyOutcome, PartyError> {
    let me = net.my_id();
    let prep = TimedPrep::new(prep);
    let timer = prep.timer();
    let mut engine = Engine::new(net, prep, engine_config(program));
    let mut host = LocalHost {
        private_input: Tokens::new(&setup.private_input),
        public_input: Tokens::new(&setup.public_input),
        echo: setup.echo,
        ..LocalHost::default()
    };
    let fail = |error: VmError, host: &LocalHost| PartyError {
        error: Box::new(error),
        output: host.output.clone(),
    };
    if let Some(script) = &setup.sockets {
        host.sockets = prepare_sockets(&mut engine, script).map_err(|e| fail(e, &host))?;
        if let Some(sim) = &setup.clients {
            host.sockets.attach_clients(sim.clone(), me);
        }
    }
    let before = timer.elapsed();
    let stats = crate::run(program, &mut engine, &mut host, config).map_err(|e| fail(e, &host))?;
    let prep_time = timer.elapsed() - before;
    let engine = engine.finish().map_err(|e| fail(e.into(), &host))?;
    Ok(PartyOutcome {
        output: host.output,
        stats,
        prep_time,
        socket_writes: host.sockets.written,
        socket_input_protocol: host.sockets.input_protocol,
        engine,
    })
}

/// Runs all `setups.len()` parties on threads over in-process channels with the INSECURE dealer;
/// returns each party's result in party order.
pub fn run_local_insecure(
    program: &Bytecode,
    mut setups: Vec<PartySetup>,
    config: &VmConfig,
    net_config: NetConfig,
) -> Vec<Result<PartyOutcome, PartyError>> {
    let n = setups.len();
    let sim = setups
        .iter()
        .find_map(|s| s.sockets.as_ref())
        .map(|script| SimClients::new(n, script));
    for s in &mut setups {
        if s.clients.is_none() {
            s.clients = sim.clone();
        }
    }
    let nets = net::in_process(n, net_config);
    let program = Arc::new(program.clone());
    let seed = [0x5e; 32];
    let handles: Vec<_> = nets
        .into_iter()
        .zip(setups)
        .map(|(net, setup)| {
            let program = program.clone();
            let config = config.clone();
            std::thread::Builder::new()
                .name(format!("party-{}", net.my_id()))
                .spawn(move || run_party_insecure(net, seed, &program, setup, &config))
                .expect("spawn a party thread")
        })
        .collect();
    handles
        .into_iter()
        .map(|h| match h.join() {
            Ok(r) => r,
            Err(_) => Err(PartyError {
                error: Box::new(VmError::Limit {
                    what: "a party thread panicked".into(),
                }),
                output: String::new(),
            }),
        })
        .collect()
}

/// The error to show for a multi-party run: the first error that is not merely a consequence of
/// another party stopping (a closed connection or a timeout), else the first error.
pub fn root_cause<T>(results: &[Result<T, PartyError>]) -> Option<(usize, &VmError)> {
    let errors: Vec<(usize, &VmError)> = results
        .iter()
        .enumerate()
        .filter_map(|(p, r)| r.as_ref().err().map(|e| (p, &*e.error)))
        .collect();
    errors
        .iter()
        .find(|(_, e)| !e.is_network())
        .or(errors.first())
        .copied()
}
