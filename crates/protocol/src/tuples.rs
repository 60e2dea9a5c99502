//! Preprocessed randomness handed to callers directly: multiplication triples (for protocols that
//! consume them outside the engine, such as MP-SPDZ's client input protocol) and uniformly random
//! secret integers composed from random bits.
//!
//! Both are purely local on top of the preprocessing source: no communication, no rounds. Tuples
//! are counted in [`crate::RunStats`] like every other consumption.

use field::Fp;

use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::prep::{Preprocessing, Triples};
use crate::share::ShareVec;

/// The widest random integer [`Engine::random_ints`] composes: 2^127 < p, so every value in
/// [0, 2^127) is a distinct field element.
pub const MAX_RANDOM_INT_BITS: u32 = 127;

impl<P: Preprocessing> Engine<P> {
    /// The next `n` multiplication triples ([a], [b], [c]) with c = a·b. They are consumed: the
    /// engine will never use them again.
    pub fn triples(&mut self, n: usize) -> Result<Triples> {
        self.poison_guard(|e| e.take_triples(n))
    }

    /// `n` uniformly random secret integers in [0, 2^bits), each Σ_i 2^i·[b_i] over `bits` fresh
    /// random bits (`bits · n` bits in all).
    pub fn random_ints(&mut self, n: usize, bits: u32) -> Result<ShareVec> {
        if bits == 0 || bits > MAX_RANDOM_INT_BITS {
            return Err(ProtocolError::InvalidArgument(format!(
                "random integers of {bits} bits are not supported: need 1 ≤ bits ≤ {MAX_RANDOM_INT_BITS}"
            )));
        }
        self.poison_guard(|e| {
            let all = e.take_bits(n * bits as usize)?;
            // Horner from the top bit: acc = 2·acc + b_i.
            let mut acc = ShareVec::zeros(n);
            for i in (0..bits as usize).rev() {
                acc = acc.scale(Fp::TWO);
                acc.add_assign(&all.slice(i * n..(i + 1) * n));
            }
            Ok(acc)
        })
    }
}
