//! [`StorePrep`]: a game's preprocessing, served from its reservations, with run-time top-ups.
//!
//! A game starts with the tuples the compiler counted (reserved when it was agreed, see
//! [`crate::coord`]). When the program needs more (loops with run-time trip counts), every party
//! runs short at the same point, because all parties draw the same kinds in the same amounts.
//! Party 0 then reserves another batch and sends the reservation on the game's *top-up channel*;
//! the others apply it. Reservations are durable before any tuple is read, as everywhere.
//!
//! **Architecture Invariant:** tuples are moved out of the buffer as they are served (see
//! [`store::ReservedTuples`]), and each reservation is read once: no tuple is used twice.

use std::sync::Arc;

use bytes::Bytes;
use field::Fp;
use net::{Network, PartyId};
use protocol::prep::{InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind};
use protocol::ShareVec;
use serde::{Deserialize, Serialize};
use store::{Reservation, ReservationId, ReservationRequest, ReservedTuples, TupleStore};

use crate::coord::TupleSource;
use crate::tuplegen::tuple_error;
use crate::Node;

/// The first top-up of a game reserves at least this many tuples; each further one doubles, up
/// to [`MAX_TOP_UP`], so that a loop with a run-time trip count costs few round trips while a
/// game never wastes more than about as many tuples as it used.
const FIRST_TOP_UP: u64 = 64;
const MAX_TOP_UP: u64 = 1 << 20;

/// Party 0's answer on the top-up channel.
#[derive(Serialize, Deserialize)]
enum TopUp {
    Reserved(Reservation),
    Failed(String),
}

/// See the module docs.
pub struct StorePrep {
    buf: ReservedTuples,
    node: Arc<Node>,
    me: PartyId,
    /// The top-up channel; `None` when the request's needs are known exactly (uploads, downloads).
    ctl: Option<Network>,
    /// The request's name, for reservation ids.
    name: String,
    seq: u32,
    /// Reservations to release when the run ends.
    used: Vec<ReservationId>,
}

impl std::fmt::Debug for StorePrep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StorePrep({}, {:?})", self.name, self.buf)
    }
}

impl StorePrep {
    /// Reads the agreed reservations (in order) into a new buffer.
    pub fn new(
        node: Arc<Node>,
        reservations: &[Reservation],
        ctl: Option<Network>,
        name: &str,
    ) -> Result<StorePrep, api::ApiError> {
        let alpha = node.tuples.mac_key_share().map_err(tuple_error)?;
        let mut prep = StorePrep {
            buf: ReservedTuples::new(alpha),
            me: node.me,
            node,
            ctl,
            name: name.to_string(),
            seq: 0,
            used: Vec::new(),
        };
        for r in reservations {
            prep.load(r).map_err(|e| {
                api::ApiError::new(
                    api::ErrorCode::Internal,
                    format!("reading reserved tuples: {e}"),
                )
            })?;
        }
        Ok(prep)
    }

    fn load(&mut self, r: &Reservation) -> Result<(), PrepError> {
        self.used.push(r.id.clone());
        let data = self
            .node
            .tuples
            .read_reserved(r)
            .map_err(|e| PrepError::Source(e.to_string()))?;
        self.buf
            .push(data)
            .map_err(|e| PrepError::Source(e.to_string()))
    }

    /// Makes at least `n` tuples of `kind` available, topping up through party 0 if needed.
    fn ensure(&mut self, kind: TupleKind, n: usize) -> Result<(), PrepError> {
        let have = self.buf.available(kind);
        if have >= n {
            return Ok(());
        }
        let exhausted = PrepError::Exhausted {
            kind,
            needed: n,
            available: have,
        };
        let Some(ctl) = self.ctl.as_mut() else {
            return Err(exhausted);
        };
        let need = (n - have) as u64;
        self.seq += 1;
        let rid = ReservationId::new(format!("{}/topup-{}", self.name, self.seq))
            .map_err(|e| PrepError::Source(e.to_string()))?;
        let reservation = if self.me == 0 {
            let req = ReservationRequest {
                id: rid,
                kind,
                count: need.max((FIRST_TOP_UP << self.seq.min(20)).min(MAX_TOP_UP)),
            };
            let res = self.node.tuple_source().reserve(&[req]);
            let msg = match &res {
                Ok(r) => TopUp::Reserved(r[0].clone()),
                Err(e) => TopUp::Failed(e.message.clone()),
            };
            let frame = Bytes::from(postcard::to_allocvec(&msg).expect("serializable"));
            for p in 1..ctl.n_parties() {
                ctl.send(p, frame.clone())
                    .map_err(|e| PrepError::Source(e.to_string()))?;
            }
            match res {
                Ok(mut r) => r.remove(0),
                Err(e) => return Err(PrepError::Source(e.message)),
            }
        } else {
            let frame = ctl.recv(0).map_err(|e| PrepError::Source(e.to_string()))?;
            let msg: TopUp = postcard::from_bytes(&frame)
                .map_err(|_| PrepError::Source("party 0 sent a malformed top-up message".into()))?;
            match msg {
                TopUp::Reserved(r) => {
                    if r.kind != kind || r.count() < need || r.id != rid {
                        return Err(PrepError::Source(format!(
                            "party 0 topped up {} {} (reservation {}) where this party needs {need} {kind}; the parties disagree on the program's run",
                            r.count(),
                            r.kind,
                            r.id
                        )));
                    }
                    self.node
                        .tuple_source()
                        .apply(std::slice::from_ref(&r))
                        .map_err(|e| PrepError::Source(e.message))?;
                    r
                }
                TopUp::Failed(m) => {
                    return Err(PrepError::Source(format!(
                        "party 0 could not reserve more tuples: {m}"
                    )))
                }
            }
        };
        self.load(&reservation)
    }
}

impl Drop for StorePrep {
    fn drop(&mut self) {
        for id in &self.used {
            if let Err(e) = self.node.tuples.release(id) {
                tracing::warn!(reservation = %id, error = %e, "could not release a reservation");
            }
        }
    }
}

impl Preprocessing for StorePrep {
    fn mac_key_share(&self) -> Fp {
        self.buf.mac_key_share()
    }

    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        self.ensure(TupleKind::Triple, n)?;
        self.buf.triples(n)
    }

    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.ensure(TupleKind::Square, n)?;
        self.buf.squares(n)
    }

    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        self.ensure(TupleKind::Bit, n)?;
        self.buf.bits(n)
    }

    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.ensure(TupleKind::Inverse, n)?;
        self.buf.inverses(n)
    }

    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        self.ensure(TupleKind::InputMask(owner), n)?;
        self.buf.input_masks(owner, n)
    }
}
