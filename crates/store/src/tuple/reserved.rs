//! [`ReservedTuples`]: read reservations served to the engine as a
//! [`protocol::prep::Preprocessing`].
//!
//! A game reads each of its reservations once ([`super::TupleStore::read_reserved`]) and pushes
//! the tuples here, in the same order on every party; the engine then draws from this adapter.
//! A program whose needs are known only at run time reserves and pushes further batches as it
//! runs. Tuples are moved out as they are served, so none is served twice.

use field::Fp;
use net::PartyId;
use protocol::prep::{
    InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleBuffer, TupleKind,
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

    /// Appends tuples behind those already queued of their kind. Input masks of one owner must
    /// all carry clear values or all not.
    pub fn push(&mut self, data: TupleData) -> Result<(), TupleError> {
        let n = data.len();
        if data.components().iter().any(|c| c.len() != n) {
            return Err(TupleError::MalformedTuples {
                reason: "the components (a, b, c) have different lengths".into(),
            });
        }
        let pushed = match data {
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
}
