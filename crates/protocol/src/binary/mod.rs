//! The binary domain: authenticated bits under a GF(2^128) MAC key, their online protocol, and
//! mixed-circuit kernels that do the bitwise part of comparisons, truncation, equality and bit
//! decomposition on bits instead of on GF(p) elements (Rotaru–Wood, ePrint 2019/207; Escudero et
//! al., CRYPTO 2020, ePrint 2020/338).
//!
//! - [`bits`]: [`BitShares`] and the local operations ([`BitCtx`]: XOR, NOT and XOR with public
//!   bits; AND with public bits; slicing, concatenation, packing);
//! - `wire`: the encoding of a binary opening (packed bits, padding checked);
//! - `check`: the binary half of the MAC check (GF(2^128) coefficients from the joint coin);
//! - `ops`: openings, [`Engine::reveal_bits`], AND from binary triples ([`Engine::and_bits`]),
//!   bit-to-arithmetic with daBits ([`Engine::b2a`]);
//! - `circuits`: log-depth circuits between a public and a secret integer (comparison, equality,
//!   subtraction);
//! - `mixed`: Mod2m, Trunc, LTZ, EQZ, comparisons and bit decomposition with edaBits and daBits,
//!   behind the [`crate::NonLinear`] interface ([`Engine::mixed`]).
//!
//! The engine keeps one pending list per domain and checks both in every MAC check, under one
//! commitment, so the invariant of [`crate::engine`] holds for bits too: opened bits only feed
//! further computation, and nothing leaves the engine before a check covering it has passed.
//!
//! [`Engine::reveal_bits`]: crate::Engine::reveal_bits
//! [`Engine::and_bits`]: crate::Engine::and_bits
//! [`Engine::b2a`]: crate::Engine::b2a
//! [`Engine::mixed`]: crate::Engine::mixed

pub mod bits;
pub(crate) mod check;
mod circuits;
mod mixed;
mod ops;
mod wire;

pub use bits::{pack_bits, unpack_bits, BitCtx, BitShares};
pub use mixed::Mixed;
pub(crate) use wire::{encode_bits, xor_decoded};
