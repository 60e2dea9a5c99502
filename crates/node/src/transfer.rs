//! Uploads' input masks and downloads in chunks: a transfer of k values reserves its triples as
//! one reservation per chunk of [`CHUNK`] values, and [`ChunkedPrep`] reads one reservation at a
//! time, so a party holds one chunk's tuples and engine vectors at a time, plus what the answer
//! itself needs (see [`crate::delivery::Parts`]).
//!
//! Every party plans the same chunks from the agreed count, and party 0 reserves them in that
//! order with the session's agreement ([`crate::coord`]): each reservation is marked consumed
//! durably before any of its tuples is read, as for every other reservation.
//!
//! **Architecture Invariant:** a reservation is read once and released when its chunk is done;
//! reservations never read (a transfer that failed half-way) are released when the
//! [`ChunkedPrep`] drops. Their tuples stay consumed: nothing is served twice.

use std::collections::VecDeque;
use std::sync::Arc;

use field::Fp;
use protocol::prep::{InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind};
use protocol::ShareVec;
use store::{Reservation, ReservationId, ReservationRequest, TupleStore};

use crate::prep::StorePrep;
use crate::tuplegen::tuple_error;
use crate::Node;

/// Values per chunk of a transfer.
pub const CHUNK: usize = 16 * 1024;

/// The chunks of a transfer of `k` values, as index ranges.
pub fn chunks(k: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..k.div_ceil(CHUNK)).map(move |i| i * CHUNK..((i + 1) * CHUNK).min(k))
}

/// One reservation of `per_value` triples a value for each chunk of `k` values, named
/// `{prefix}/{chunk}`.
pub fn requests(
    prefix: &str,
    k: usize,
    per_value: u64,
) -> Result<Vec<ReservationRequest>, api::ApiError> {
    chunks(k)
        .enumerate()
        .map(|(i, c)| {
            Ok(ReservationRequest {
                id: ReservationId::new(format!("{prefix}/{i}"))
                    .map_err(|e| api::ApiError::bad_request(e.to_string()))?,
                kind: TupleKind::Triple,
                count: per_value * c.len() as u64,
            })
        })
        .collect()
}

/// Triples served from a transfer's reservations one reservation at a time; see the module
/// docs. Serves triples only (all a transfer uses); a draw never spans two reservations, since
/// each chunk draws exactly its own reservation.
pub struct ChunkedPrep {
    node: Arc<Node>,
    name: String,
    alpha: Fp,
    next: VecDeque<Reservation>,
    cur: Option<StorePrep>,
    /// Triples left in `cur`.
    left: u64,
}

impl ChunkedPrep {
    /// Serves `reservations` in order (the session's, after the agreement).
    pub fn new(
        node: Arc<Node>,
        reservations: Vec<Reservation>,
        name: &str,
    ) -> Result<ChunkedPrep, api::ApiError> {
        let alpha = node.tuples.mac_key_share().map_err(tuple_error)?;
        Ok(ChunkedPrep {
            node,
            name: name.to_string(),
            alpha,
            next: reservations.into(),
            cur: None,
            left: 0,
        })
    }

    fn ensure(&mut self, n: usize) -> Result<(), PrepError> {
        let n = n as u64;
        if self.cur.is_some() && self.left >= n {
            return Ok(());
        }
        if self.left > 0 {
            return Err(PrepError::Source(format!(
                "a draw of {n} triples spans two of the transfer's reservations ({} left in the current one)",
                self.left
            )));
        }
        // The finished chunk's buffer goes (and its reservation is released) before the next
        // one is read.
        self.cur = None;
        let r = self.next.pop_front().ok_or(PrepError::Exhausted {
            kind: TupleKind::Triple,
            needed: n as usize,
            available: 0,
        })?;
        self.left = r.count();
        self.cur = Some(
            StorePrep::new(
                self.node.clone(),
                std::slice::from_ref(&r),
                None,
                &self.name,
            )
            .map_err(|e| PrepError::Source(e.message))?,
        );
        if self.left < n {
            return Err(PrepError::Exhausted {
                kind: TupleKind::Triple,
                needed: n as usize,
                available: self.left as usize,
            });
        }
        Ok(())
    }
}

impl Drop for ChunkedPrep {
    fn drop(&mut self) {
        for r in &self.next {
            if let Err(e) = self.node.tuples.release(&r.id) {
                tracing::warn!(reservation = %r.id, error = %e, "could not release a reservation");
            }
        }
    }
}

impl std::fmt::Debug for ChunkedPrep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChunkedPrep({}, {} reservations to read)",
            self.name,
            self.next.len()
        )
    }
}

impl Preprocessing for ChunkedPrep {
    fn mac_key_share(&self) -> Fp {
        self.alpha
    }

    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        self.ensure(n)?;
        self.left -= n as u64;
        match self.cur.as_mut() {
            Some(p) => p.triples(n),
            None => Err(PrepError::Source("no reservation is being read".into())),
        }
    }

    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::Square))
    }

    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::Bit))
    }

    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::Inverse))
    }

    fn input_masks(&mut self, owner: net::PartyId, n: usize) -> Result<InputMasks, PrepError> {
        let _ = n;
        Err(PrepError::Unsupported(TupleKind::InputMask(owner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_transfer_in_order() {
        assert_eq!(chunks(0).count(), 0);
        assert_eq!(chunks(1).collect::<Vec<_>>(), vec![0..1]);
        let c: Vec<_> = chunks(2 * CHUNK + 5).collect();
        assert_eq!(
            c,
            vec![0..CHUNK, CHUNK..2 * CHUNK, 2 * CHUNK..2 * CHUNK + 5]
        );
        let r = requests("masks/x", 2 * CHUNK + 5, 3).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].count, 15);
        assert_eq!(r[1].id.to_string(), "masks/x/1");
    }
}
