//! # vm: runs Ephemeral bytecode on one party's SPDZ engine
//!
//! All N parties run the same bytecode ([`lang::Bytecode`]) in lockstep, each on its own
//! [`protocol::Engine`]. The VM interprets the typed register machine (secret, clear and regint
//! register files per call frame; three typed memories) and turns secret operations into engine
//! calls.
//!
//! ## Run-time batching
//!
//! Secret-valued instructions do not run when they are reached. Local operations on materialised
//! shares run at once; everything else becomes a node of a lazy DAG (`dag.rs`): communication
//! operations (multiplication, comparisons, truncations, bit decomposition, divisions, inputs)
//! always, local operations when an input is still pending. Registers and memory cells hold
//! pieces of node outputs, so moves, loads and stores stay lazy. Openings are lazy too: an `open`
//! records a pending opening, and its clear destination is only forced when something reads it.
//!
//! A *flush* (`flush.rs`) evaluates the DAG depth by depth. At each depth, all nodes of one kernel
//! and parameters (all products, all `ltz k=64`, all inputs of all parties, ...) become ONE engine
//! call, i.e. one vector kernel with one batched round per protocol step; then all pending
//! openings become one `reveal` (one round and one MAC check). A flush happens only when a clear
//! result is needed (clear arithmetic or a branch on a revealed value, writing shares to a
//! socket), when the DAG exceeds its size bound, and at the end of the program. Printing does not
//! force one: prints of pending values wait, in order, for the next flush (`print.rs`). So a
//! `@for_range(10000)` loop whose body multiplies costs a handful of rounds in all, not 10^4.
//!
//! **Architecture Invariant:** flush decisions depend only on the program and on public values
//! (clear and regint registers, element counts), never on shares, private inputs or timing, so
//! every party flushes at the same points and sends the same sequence of messages.
//!
//! **Architecture Invariant:** nothing leaves the engine unchecked: clear values come only from
//! `Engine::reveal_mixed` (MAC-checked), and the run ends with a MAC check of everything opened.
//!
//! **API Boundary:** the VM never logs shares, MACs or private inputs; errors name sites and
//! positions, not values.

pub mod budget;
pub mod cost;
pub mod error;
pub mod format;
pub mod host;
pub mod runner;
pub mod sockets;

mod clear;
mod dag;
mod exec;
mod flush;
mod io;
mod local;
mod machine;
mod memory;
mod print;
mod regs;
mod shape;
mod shuffle;
mod simclient;
mod stats;
mod value;

pub use budget::MemoryBudget;
pub use error::{At, Result, VmError};
pub use host::{Host, LocalHost, SocketWrite, Sockets};
pub use sockets::{prepare_sockets, reconstruct_writes, MemSockets, SimClients, SocketScript};
pub use stats::{PrepTimer, TimedPrep, VmStats};

use lang::Bytecode;
use protocol::prep::Preprocessing;
use protocol::Engine;

/// VM limits and settings.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// Flush when the pending DAG holds more elements than this (bounds memory).
    pub max_pending_elements: usize,
    /// Flush when the pending DAG holds more nodes than this.
    pub max_pending_nodes: usize,
    /// Most bytes one run may hold in its memories and registers (32 bytes per secret element,
    /// 16 per clear, 8 per regint). Memory is allocated as the program writes it, and a run
    /// that would grow past this stops with [`VmError::MemoryLimit`]. Every party should use the
    /// same value, so that all stop at the same instruction.
    pub max_memory_bytes: u64,
    /// A budget shared by every run of a node (`None`: none): each run reserves from it as it
    /// grows, at least [`budget::GRANULE`] at a time, and gives it back when it ends. A run
    /// that finds it used up stops with [`VmError::MemoryBudget`].
    pub memory_budget: Option<std::sync::Arc<MemoryBudget>>,
    /// Largest vector an instruction may create (elements).
    pub max_vector_elements: usize,
    /// Deepest call nesting (`@function` recursion).
    pub max_call_depth: usize,
    /// Stop after this many instructions (`None`: no limit).
    pub max_steps: Option<u64>,
    /// Stop with [`error::VmError::DeadlineExceeded`] once this instant has passed (checked every
    /// few thousand instructions; a single engine call is bounded by the network's receive
    /// deadline instead). `None`: no wall-clock limit.
    pub deadline: Option<std::time::Instant>,
    /// The party that shows ordinary prints (`print_ln`); `None`: every party shows them.
    /// `print_ln_to(p, ...)` always shows at party p only.
    pub print_party: Option<usize>,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            max_pending_elements: 1 << 22,
            max_pending_nodes: 1 << 18,
            max_memory_bytes: 256 << 20,
            memory_budget: None,
            max_vector_elements: 1 << 26,
            max_call_depth: 10_000,
            max_steps: None,
            deadline: None,
            print_party: Some(0),
        }
    }
}

/// Runs `program` to the end on this party's `engine`, with inputs, outputs and sockets from
/// `host`. Ends with a MAC check of everything opened; the engine stays usable (call
/// `Engine::finish` for the final statistics).
pub fn run<P: Preprocessing>(
    program: &Bytecode,
    engine: &mut Engine<P>,
    host: &mut dyn Host,
    config: &VmConfig,
) -> Result<VmStats> {
    let mut m = machine::Machine::new(program, engine, host, config.clone())?;
    m.run()
}
