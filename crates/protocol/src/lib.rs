//! The SPDZ online phase for N ≥ 2 parties, secure with abort against a dishonest majority.
//!
//! - [`share`]: authenticated additive shares and their local operations;
//! - [`engine`]: openings with batched MAC checks, Beaver multiplication, private inputs;
//! - [`nonlinear`]: vector kernels for comparison, equality, truncation and bit decomposition;
//! - [`binary`]: authenticated bits (GF(2^128) MACs), binary Beaver AND, daBit conversion and the
//!   mixed-circuit kernels on edaBits ([`Engine::mixed`]);
//! - [`prep`]: the [`prep::Preprocessing`] trait and the insecure dealer;
//! - [`output`]: private outputs (reveal to one party); [`tuples`]: triples and random integers
//!   for callers; `intdiv`: exact integer division ([`Engine::int_div`]).
//!
//! docs/PROTOCOL.md gives, for every operation, its messages, rounds, preprocessing and security
//! argument.

pub mod binary;
pub mod commit;
pub mod engine;
pub mod error;
mod intdiv;
pub mod nonlinear;
pub mod output;
pub mod prep;
pub mod share;
pub mod tuples;

pub use engine::{Engine, EngineConfig, RunStats};
pub use error::{ProtocolError, Result};
pub use nonlinear::NonLinear;
pub use share::{ShareCtx, ShareVec};

#[cfg(test)]
mod tests;
