//! The VM's error type.
//!
//! **Architecture Invariant:** no error carries a share, a MAC or a private input value: private
//! input problems name the party and the position of the value, never the value or its text.

use std::fmt;

use protocol::ProtocolError;

/// Where in the bytecode something happened: function, instruction index, mnemonic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub function: String,
    pub pc: usize,
    pub mnemonic: &'static str,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "function `{}`, instruction {} ({})",
            self.function, self.pc, self.mnemonic
        )
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VmError {
    /// An array index failed its run-time bounds check (`chkidx`); `site` is the source location.
    #[error("{site}: index {index} is out of range for an array of length {bound}")]
    IndexOutOfRange {
        index: i64,
        bound: u64,
        site: String,
    },
    /// A memory access outside the program's memory.
    #[error("{at}: {kind} memory access of {n} element(s) at address {addr} is outside the memory of {size} elements")]
    MemoryOutOfRange {
        at: At,
        kind: &'static str,
        addr: i128,
        n: u32,
        size: u64,
    },
    #[error("party {party} ran out of private input after {consumed} values; give it more input values (whitespace-separated numbers)")]
    OutOfPrivateInput { party: usize, consumed: u64 },
    #[error("party {party}: private input value number {index} is not {expected}")]
    BadPrivateInput {
        party: usize,
        index: u64,
        expected: &'static str,
    },
    #[error("ran out of public input after {consumed} values")]
    OutOfPublicInput { consumed: u64 },
    #[error("public input value number {index} ({token:?}) is not an integer")]
    BadPublicInput { index: u64, token: String },
    /// `crash()`, `runtime_error(...)`: the message is the program's (e.g. "User exception: ...").
    #[error("{message}")]
    Crash { message: String },
    #[error("{at}: division by zero")]
    DivisionByZero { at: At },
    /// Any other run-time error of the program (a bad shift, an input from a missing party, ...).
    #[error("{at}: {message}")]
    Runtime { at: At, message: String },
    /// A socket operation failed (no client, no message, malformed message, ...).
    #[error("{at}: socket error: {message}")]
    Socket { at: At, message: String },
    /// The bytecode is inconsistent (a compiler bug or a corrupted program).
    #[error("{at}: invalid bytecode: {message}")]
    Bytecode { at: At, message: String },
    #[error("{at}: not supported yet: {what}")]
    Unsupported { at: At, what: String },
    /// The run needed more memory (memories, registers, one vector) than one run may hold.
    #[error("{what} needs more memory than one run may hold ({limit} bytes, VmConfig::max_memory_bytes): use smaller arrays or vectors, or ask the operator to raise the limit")]
    MemoryLimit { what: String, limit: u64 },
    /// The memory budget shared by the concurrent runs of a node is used up (by this run and
    /// others); this party alone stopped.
    #[error("{what} needs more memory than is left of the budget shared by all running programs ({capacity} bytes): retry when fewer programs run, or ask the operator to raise the budget")]
    MemoryBudget { what: String, capacity: u64 },
    /// A VM resource limit was exceeded.
    #[error("{what}")]
    Limit { what: String },
    /// The wall-clock deadline of [`crate::VmConfig::deadline`] passed (`after`: how long the run
    /// had been going).
    #[error("the program was still running after {after:?}, past its deadline; it was stopped (raise the deadline, or make the program do less)")]
    DeadlineExceeded { after: std::time::Duration },
    /// The program and the engine disagree on parameters.
    #[error("the program was compiled for {what}")]
    Params { what: String },
    /// The MPC protocol failed: a MAC check, a peer gone, preprocessing exhausted, ...
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl VmError {
    /// True when the error came from the network (a peer stopped, a timeout): in a multi-party
    /// run, another party's error is then usually the root cause.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            VmError::Protocol(ProtocolError::Net(_)) | VmError::Protocol(ProtocolError::Aborted(_))
        )
    }
}

impl VmError {
    /// True when the error follows from the program and public values only, so that every party
    /// meets it at the same instruction (and can still flush together).
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            VmError::IndexOutOfRange { .. }
                | VmError::MemoryOutOfRange { .. }
                | VmError::OutOfPublicInput { .. }
                | VmError::BadPublicInput { .. }
                | VmError::Crash { .. }
                | VmError::DivisionByZero { .. }
                | VmError::Runtime { .. }
                | VmError::Bytecode { .. }
                | VmError::Unsupported { .. }
                | VmError::Limit { .. }
                | VmError::MemoryLimit { .. }
        )
    }
}

pub type Result<T, E = VmError> = std::result::Result<T, E>;
