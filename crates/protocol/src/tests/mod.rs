//! Protocol tests: every operation against its plaintext result for N = 2, 3, 5, over channels and
//! over TLS on loopback; cheating parties; killed peers.

mod arith;
mod binary;
mod binary_cheating;
mod cheating;
mod fpdiv;
mod harness;
mod mixed_probe;
mod nonlinear;
mod props;
