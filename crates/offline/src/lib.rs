//! Maliciously secure preprocessing for the SPDZ online phase: MASCOT (Keller, Orsini, Scholl,
//! "MASCOT: Faster Malicious Arithmetic Secure Computation with Oblivious Transfer", CCS 2016,
//! ePrint 2016/505) for N ≥ 2 parties over GF(p), p = 198766463529478683931867765928436695041.
//!
//! It produces exactly the tuple types of [`protocol::prep`] (triples, squares, bits, inverse
//! pairs, input masks), authenticated under this party's MAC key share α_i, and is secure with
//! abort against an active adversary corrupting up to N − 1 parties: a cheating party makes
//! generation fail with a typed [`OfflineError`] at every honest party, and no tuple of a failed
//! call is ever returned.
//!
//! ```no_run
//! # fn main() -> Result<(), offline::OfflineError> {
//! # let mut net = net::in_process(2, net::NetConfig::default()).pop().unwrap();
//! use offline::{Mascot, MascotConfig};
//! // Once per party and run (base OTs with every peer); `None` samples a fresh MAC key share.
//! // Every party of the run passes the same session id, and no other run uses it (a node
//! // derives it from the job's channel: `MascotConfig::for_channel(&net)?`).
//! let session = [7u8; 32];
//! let mut mascot = Mascot::setup(&mut net, None, MascotConfig::with_session(session))?;
//! let triples = mascot.triples(&mut net, 10_000)?;
//! let bits = mascot.bits(&mut net, 1_000)?;
//! let masks = mascot.input_masks(&mut net, 0, 100)?;
//! # Ok(()) }
//! ```
//!
//! # Layers
//!
//! | module | what | paper |
//! |---|---|---|
//! | `baseot` | 2κ base OTs per ordered pair, once | Chou–Orlandi 2015, Masny–Rindal 2019 |
//! | `kos` | OT extension (SoftSpokenOT, k = 4: a punctured GGM tree per 4 base OTs) with the correlation check | Roy 2022, KOS15 |
//! | `cope` | correlated oblivious product evaluation with the MAC key, over base-4 digits of the key (a punctured tree per digit) | MASCOT §4 (Π_COPE), Roy 2022 |
//! | `auth` | authenticating values, with its check | MASCOT Fig. 7 (Π_[[·]]) |
//! | `triples` | Gilboa multiplication over OT, combine; derived tuples | MASCOT Fig. 10 (Π_Triple) |
//! | `sacrifice` | one triple checks another | MASCOT Fig. 10 |
//! | `mac_check` | batched MAC, zero and authentication check | SPDZ MACCheck |
//! | `masks` | input masks for one owner | MASCOT Π_[[·]] Input |
//! | `on_demand` | [`OnDemandMascot`]: a `Preprocessing` source generating in lock-step while a run goes on | |
//! | `coins`, `wire`, `prg` | commitments and coins, frames, AES PRG and hashing | |
//! | [`binary`] | authenticated bits and binary triples under a global key Δ ∈ GF(2^128) | FKOS15 (TinyOT), WRK17 leaky AND |
//! | [`edabits`] | daBits and (loose) edaBits under α and Δ: inputs in both domains; daBits by a bit check and S parity checks, edaBits by binary adders and a cut-and-choose + bucket check | RW19 (ePrint 2019/207), EGKRS20 (ePrint 2020/338) |
//!
//! Each module's docs give its maths; docs/PROTOCOL.md ("Preprocessing: MASCOT", "Preprocessing:
//! binary triples (TinyOT-style)") summarises the whole and the security arguments.
//!
//! # Transport
//!
//! Everything runs over the synchronous [`net::Network`] (one frame per peer per round), i.e. over
//! the single mutual-TLS connection between each pair of parties; there is no other port and no
//! other connection. `cryprot-ot` could not be used for the OTs: all of its protocols, including
//! the base OT, are bound to `cryprot_net::Connection`, which only wraps a live `s2n-quic`
//! connection (its own UDP socket and its own TLS), with no transport-free core. This crate
//! therefore uses `cryprot-core`'s building blocks (128-bit blocks, carry-less GF(2^128)
//! multiplication, the AVX2 bit-matrix transpose) and implements the base OT and the OT
//! extension (SoftSpokenOT with the KOS15 check) from the papers on our frames.
//!
//! # Costs (2 parties, per triple, per direction)
//!
//! 3·128 OTs (4 bytes of SoftSpokenOT `c` and 16 bytes of `d` each: 7.5 KiB; 16 + 16 bytes, 12 KiB,
//! with the earlier IKNP extension) plus COPE for 5 values (128 field elements each: 10 KiB),
//! about 17.5 KiB; 11 rounds per batch of [`MascotConfig::batch_size`] triples. With N parties
//! each party talks to N − 1 peers. About 52 µs of CPU per triple and party for 2 parties on this
//! machine class (measured with the IKNP extension; SoftSpokenOT's change was within the
//! run-to-run noise of the test-profile comparison in docs/PROTOCOL.md): 18 000
//! triples/s between two threads, 12 400 over mutual TLS on loopback ([`bench_triples`],
//! docs/PROTOCOL.md).
//!
//! # Failure
//!
//! After any error the instance is poisoned ([`OfflineError::Aborted`] from then on); run
//! [`Mascot::setup`] again on a fresh channel (the old one may still hold unread frames). A party
//! that detects cheating sends an abort frame to every peer, so honest parties fail at once with
//! [`OfflineError::PeerAborted`] rather than at their receive deadline.

mod auth;
mod baseot;
mod bench;
pub mod binary;
mod block_cipher;
mod coins;
mod cope;
pub mod edabits;
mod error;
mod kos;
mod mac_check;
mod mascot;
mod masks;
mod on_demand;
mod prg;
mod sacrifice;
mod triples;
mod wire;

pub use bench::{bench_triples, bench_triples_with, peak_rss_bytes, BenchReport, BenchTransport};
pub use binary::{AuthBits, BinaryConfig, BinaryPrep, BinaryStats, BinaryTriples};
/// Columns of COPE (digits of a MAC key share): the range of [`InsecureCheat::CopeColumnError`].
pub use cope::COLUMNS as COPE_COLUMNS;
pub use edabits::{EdaBitGen, EdaStats};
pub use error::{OfflineError, Result};
pub use mascot::{
    InsecureCheat, Mascot, MascotConfig, OfflineStats, Tuples, INSECURE_CHEAT_COLUMN,
};
pub use on_demand::{OnDemandMascot, PrepMeter, PrepPhase, MAX_BATCH, MIN_BATCH};

#[cfg(test)]
mod tests;
