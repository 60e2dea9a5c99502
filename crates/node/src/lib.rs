//! The Ephemeral party node: one process per party of a virtual cloud.
//!
//! ```text
//!  client ──HTTP──▶ http (axum) ──▶ Node services ──▶ secret store, tuple store (redb)
//!                                     │
//!                                     ├─ games: compile (cache) → discovery (party 0 leads)
//!                                     │         → VM on the SPDZ engine over a gateway channel
//!                                     ├─ secrets: input-mask upload, verified download
//!                                     └─ tuplegen: party 0 schedules tuple generation
//!                                                   ▲
//!  peers ◀──────── mutual TLS, one port, channels by game ─────┘ (net::Gateway)
//! ```
//!
//! Entry point: [`Node::start`]. Modules:
//! - [`config`] — `party.toml`;
//! - [`http`], [`auth`], [`metrics`] — the HTTP API, bearer tokens, Prometheus metrics;
//! - [`functions`], [`programs`] — deployed functions and the compile cache;
//! - [`coord`] — how parties agree on a request (party 0 decides, the others follow), over gateway
//!   channels;
//! - [`delivery`] — the output-delivery protocol (ePrint 2015/1006);
//! - [`secrets`] — upload and download;
//! - [`games`] — discovery and execution;
//! - [`policy`] — who may use a secret as a game input, use counts and audit records;
//! - [`commit`], [`recovery`] — joint commits of secrets (two-phase, led by party 0) and
//!   resolving what failures left half done;
//! - [`tuplegen`] — filling the tuple store.
//!
//! **Architecture Invariant:** every service method returns an [`api::ApiError`] with a 4xx code
//! for what the client can fix and a 5xx code for faults; nothing a client or peer sends can panic
//! the node.
//!
//! **Architecture Invariant:** shares, MACs and keys never appear in logs, errors or metrics.

pub mod api_tls;
pub mod auth;
pub mod commit;
pub mod config;
pub mod coord;
pub mod delivery;
pub mod functions;
pub mod games;
pub mod generation_guard;
pub mod host;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod metrics;
mod node;
pub mod policy;
pub mod prep;
pub mod programs;
pub mod recovery;
pub mod rekey;
pub mod secrets;
mod start;
pub use start::wait_for_signal;
pub mod transfer;
pub mod tuplegen;

pub use node::{
    dev_config_text, dev_config_text_with, DevTuples, Node, RunningNode, StartError, User,
    DEV_MASCOT_POOLS,
};

#[cfg(test)]
mod tests;
