//! Running the parties of one program in this process, with the INSECURE dealer: for `ephemeral
//! run`, the test corpus and the benchmarks.
//!
//! **Not secure:** the insecure dealer derives every party's tuples and the MAC key from one seed
//! (see `protocol::prep::InsecureDealer`). Everything here is named `insecure` accordingly.

use std::sync::Arc;
use std::time::Duration;

use lang::Bytecode;
use net::{NetConfig, Network};
use protocol::prep::InsecureDealer;
use protocol::{Engine, EngineConfig, RunStats};

use crate::error::Result;
use crate::host::{LocalHost, SocketWrite, Tokens};
use crate::sockets::{prepare_sockets, SocketScript};
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
    /// Echo this party's prints to stdout as they happen.
    pub echo: bool,
}

/// What one party's run produced.
#[derive(Debug)]
pub struct PartyOutcome {
    /// Everything the party printed.
    pub output: String,
    pub stats: VmStats,
    /// Time the dealer spent making tuples during the run (included in `stats.elapsed`).
    pub dealer_time: Duration,
    /// Messages the program wrote to client sockets.
    pub socket_writes: Vec<SocketWrite>,
    /// The engine's totals (including the socket input preparation).
    pub engine: RunStats,
}

impl PartyOutcome {
    /// Online time: the run's wall time minus the dealer's.
    pub fn online_time(&self) -> Duration {
        self.stats.elapsed.saturating_sub(self.dealer_time)
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
) -> Result<PartyOutcome> {
    let me = net.my_id();
    let n = net.n_parties();
    let prep = TimedPrep::new(InsecureDealer::new(me, n, seed));
    let timer = prep.timer();
    let mut engine = Engine::new(net, prep, engine_config(program));
    let mut host = LocalHost {
        private_input: Tokens::new(&setup.private_input),
        public_input: Tokens::new(&setup.public_input),
        echo: setup.echo,
        ..LocalHost::default()
    };
    if let Some(script) = &setup.sockets {
        host.sockets = prepare_sockets(&mut engine, script)?;
    }
    let before = timer.elapsed();
    let stats = crate::run(program, &mut engine, &mut host, config)?;
    let dealer_time = timer.elapsed() - before;
    let engine = engine.finish()?;
    Ok(PartyOutcome {
        output: host.output,
        stats,
        dealer_time,
        socket_writes: host.sockets.written,
        engine,
    })
}

/// Runs all `setups.len()` parties on threads over in-process channels with the INSECURE dealer;
/// returns each party's result in party order.
pub fn run_local_insecure(
    program: &Bytecode,
    setups: Vec<PartySetup>,
    config: &VmConfig,
    net_config: NetConfig,
) -> Vec<Result<PartyOutcome>> {
    let n = setups.len();
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
            Err(_) => Err(crate::VmError::Limit {
                what: "a party thread panicked".into(),
            }),
        })
        .collect()
}

/// The error to show for a multi-party run: the first error that is not merely a consequence of
/// another party stopping (a closed connection or a timeout), else the first error.
pub fn root_cause<'a, T>(results: &'a [Result<T>]) -> Option<(usize, &'a crate::VmError)> {
    let errors: Vec<(usize, &crate::VmError)> = results
        .iter()
        .enumerate()
        .filter_map(|(p, r)| r.as_ref().err().map(|e| (p, e)))
        .collect();
    errors
        .iter()
        .find(|(_, e)| !e.is_network())
        .or(errors.first())
        .copied()
}
