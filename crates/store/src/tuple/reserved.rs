//! [`ReservedTuples`]: read reservations served to the engine as a
//! [`protocol::prep::Preprocessing`].
//!
//! A game reads each of its reservations once ([`super::TupleStore::read_reserved`]) and pushes
//! the tuples here, in the same order on every party; the engine then draws from this adapter.
//! A program whose needs are known only at run time reserves and pushes further batches as it
//! runs. Tuples are moved out as they are served, so none is served twice.

use field::{Fp, Gf128};
use net::PartyId;
use protocol::prep::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleBuffer,
    TupleKind, WideEdaBits,
};
use protocol::ShareVec;

use super::{TupleData, TupleError};

/// Tuples read from reservations, served in order; see the module docs. A thin layer over
/// [`TupleBuffer`] that accepts the store's [`TupleData`].
pub struct ReservedTuples {
    inner: TupleBuffer,
}

impl std::fmt::Debug for ReservedTuples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReservedTuples").field(&self.inner).finish()
    }
}

impl ReservedTuples {
    /// An empty adapter for a party with MAC key share `alpha` (from
    /// [`super::TupleStore::mac_key_share`]).
    pub fn new(alpha: Fp) -> ReservedTuples {
        ReservedTuples {
            inner: TupleBuffer::new(alpha),
        }
    }

    /// Sets this party's binary MAC key share Δ_i (from
    /// [`super::TupleStore::binary_key_share`]): the adapter then serves binary-domain tuples,
    /// and reports the binary domain to the engine (which then runs the mixed-circuit kernels).
    pub fn set_binary_key_share(&mut self, delta: Gf128) {
        self.inner.set_binary_key_share(delta);
    }

    /// Appends tuples behind those already queued of their kind. Input masks of one owner must
    /// all carry clear values or all not; binary-domain tuples need the binary key share first.
    pub fn push(&mut self, data: TupleData) -> Result<(), TupleError> {
        data.check_lengths()?;
        let pushed = match data {
            TupleData::BitTriples(t) => self.inner.push_bit_triples(t),
            TupleData::DaBits(d) => self.inner.push_dabits(d),
            TupleData::EdaBits(e) => self.inner.push_edabits(e),
            TupleData::WideEdaBits(e) => self.inner.push_wide_edabits(e),
            TupleData::Triples(t) => self.inner.push_triples(t),
            TupleData::Squares(p) => self.inner.push_squares(p),
            TupleData::Inverses(p) => self.inner.push_inverses(p),
            TupleData::Bits(b) => {
                self.inner.push_bits(b);
                Ok(())
            }
            TupleData::InputMasks { owner, masks } => self.inner.push_input_masks(owner, masks),
        };
        pushed.map_err(|e| TupleError::MalformedTuples {
            reason: e.to_string(),
        })
    }

    /// Tuples of `kind` still queued.
    pub fn available(&self, kind: TupleKind) -> usize {
        self.inner.available(kind)
    }
}

impl Preprocessing for ReservedTuples {
    fn mac_key_share(&self) -> Fp {
        self.inner.mac_key_share()
    }

    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        self.inner.triples(n)
    }

    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.inner.squares(n)
    }

    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        self.inner.bits(n)
    }

    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.inner.inverses(n)
    }

    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        self.inner.input_masks(owner, n)
    }

    fn binary_key_share(&self) -> Option<Gf128> {
        self.inner.binary_key_share()
    }

    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        self.inner.bit_triples(n)
    }

    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        self.inner.dabits(n)
    }

    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        self.inner.edabits(n, bits, extra)
    }

    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        self.inner.wide_edabits(n, bits, width)
    }
}
