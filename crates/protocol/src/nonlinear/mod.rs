//! Non-linear operations on whole vectors, after Catrina and de Hoogh (SCN 2010) as MP-SPDZ does
//! them for prime fields: masking with random bits, opening, and a bitwise circuit on the opened
//! value against the mask's bits. Every protocol step is one batched round for the whole vector.
//!
//! Values are signed k-bit integers a ∈ [−2^(k−1), 2^(k−1)) embedded in GF(p); s is the statistical
//! security parameter. Masks are r = r'' ·2^m + r' with r' an m-bit and r'' a (k+s−m)-bit integer,
//! both made of shared random bits, so r is uniform in [0, 2^(k+s)). The opened value
//! c = a + 2^k + r is then statistically close (distance ≤ 2^−s) to uniform, whatever a is, and
//! never wraps modulo p because k + s + 2 < 127.
//!
//! See docs/PROTOCOL.md for rounds, tuple counts and the security argument of each kernel.

mod bitlt;
mod fpdiv;
pub(crate) mod kernels;

pub use kernels::NonLinear;
