//! [`StorePrep`]: a game's preprocessing, served from its reservations, with run-time top-ups.
//!
//! A game starts with the tuples the compiler counted (reserved when it was agreed, see
//! [`crate::coord`]). When the program needs more (loops with run-time trip counts), every party
//! runs short at the same point, because all parties draw the same kinds in the same amounts.
//! Party 0 then reserves another batch and sends the reservation on the game's *top-up channel*;
//! the others apply it. Reservations are durable before any tuple is read, as everywhere.
//!
//! **Binary domain.** A game whose agreed reservations include a binary-domain kind (binary
//! triples, daBits, edaBits) runs with this party's binary MAC key share Δ_i from the tuple
//! store: the engine then picks the mixed-circuit kernels. Every party applies the same
//! reservations (party 0's), so every party makes the same choice; a game without binary
//! reservations runs the arithmetic kernels.
//!
//! **Architecture Invariant:** tuples are moved out of the buffer as they are served (see
//! [`store::ReservedTuples`]), and each reservation is read once: no tuple is used twice.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use field::{Fp, Gf128};
use net::{Network, PartyId};
use protocol::prep::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind,
    WideEdaBits,
};
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
    /// Party 0's run of the game failed, for this reason: the others stop too, saying why,
    /// instead of waiting out a receive deadline on party 0.
    Aborted(String),
    /// Party 0 is generating the top-up's tuples: how far it got (each report restarts the
    /// others' receive deadline).
    Preparing(api::PrepProgress),
}

/// See the module docs.
pub struct StorePrep {
    buf: ReservedTuples,
    node: Arc<Node>,
    me: PartyId,
    /// The top-up channel; `None` when the request's needs are known exactly (uploads, downloads).
    ctl: Option<GameControl>,
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
        let mut buf = ReservedTuples::new(alpha);
        if reservations.iter().any(|r| store::tuple::is_binary(r.kind)) {
            // Binary tuples are only ever stored under a stored Δ_i (`TupleStore::store_chunk`).
            let delta = node
                .tuples
                .binary_key_share()
                .map_err(tuple_error)?
                .ok_or_else(|| tuple_error(store::TupleError::BinaryKeyMissing))?;
            buf.set_binary_key_share(delta);
        }
        let mut prep = StorePrep {
            buf,
            me: node.me,
            node,
            ctl: ctl.map(|net| GameControl(Arc::new(Mutex::new(net)))),
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

    /// A handle on the game's top-up channel, for telling the other parties why the game stopped
    /// (see [`GameControl`]); `None` without a top-up channel.
    pub(crate) fn control(&self) -> Option<GameControl> {
        self.ctl.clone()
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

    /// As [`StorePrep::ensure`] for a binary kind: only in a game that runs with the binary
    /// domain (the engine never asks otherwise), and never for a shape the store cannot hold.
    fn binary_ensure(&mut self, kind: TupleKind, n: usize) -> Result<(), PrepError> {
        if self.buf.binary_key_share().is_none() {
            return Err(PrepError::Unsupported(kind));
        }
        self.ensure(kind, n)
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
        let Some(control) = self.ctl.clone() else {
            return Err(exhausted);
        };
        let mut ctl = control.lock();
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
            let node = self.node.clone();
            let game = self.name.clone();
            let res = self.node.tuple_source().reserve_waiting(&[req], &mut |p| {
                node.note_game_progress(&game, &p);
                let msg = TopUp::Preparing(p);
                let frame = Bytes::from(postcard::to_allocvec(&msg).expect("serializable"));
                for q in 1..ctl.n_parties() {
                    // Best effort: a party that left fails the game at the answer.
                    let _ = ctl.send(q, frame.clone());
                }
            });
            self.node.note_game_running(&self.name);
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
            let msg = loop {
                let frame = ctl.recv(0).map_err(|e| PrepError::Source(e.to_string()))?;
                let msg: TopUp = postcard::from_bytes(&frame).map_err(|_| {
                    PrepError::Source("party 0 sent a malformed top-up message".into())
                })?;
                match msg {
                    TopUp::Preparing(p) => self.node.note_game_progress(&self.name, &p),
                    other => break other,
                }
            };
            self.node.note_game_running(&self.name);
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
                        "party 0 could not reserve more tuples; {}",
                        crate::coord::relayed(&m)
                    )))
                }
                TopUp::Aborted(m) => {
                    return Err(PrepError::Source(format!(
                        "party 0 stopped the game; {}",
                        crate::coord::relayed(&m)
                    )))
                }
                TopUp::Preparing(_) => {
                    return Err(PrepError::Source(
                        "a progress report came out of place".into(),
                    ))
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

    fn binary_key_share(&self) -> Option<Gf128> {
        self.buf.binary_key_share()
    }

    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        self.binary_ensure(TupleKind::BitTriple, n)?;
        self.buf.bit_triples(n)
    }

    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        self.binary_ensure(TupleKind::DaBit, n)?;
        self.buf.dabits(n)
    }

    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        self.binary_ensure(TupleKind::EdaBit { bits, extra }, n)?;
        self.buf.edabits(n, bits, extra)
    }

    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        self.binary_ensure(TupleKind::WideEdaBit { bits, width }, n)?;
        self.buf.wide_edabits(n, bits, width)
    }
}

/// A game's top-up channel, shared by its [`StorePrep`] and the code running the game, which uses
/// it when the run fails: party 0 tells the others why ([`GameControl::announce_abort`]), and a
/// party that timed out waiting for party 0 looks for that reason
/// ([`GameControl::abort_reason`]) before reporting.
#[derive(Clone)]
pub(crate) struct GameControl(Arc<Mutex<Network>>);

impl GameControl {
    fn lock(&self) -> MutexGuard<'_, Network> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Party 0: tells every other party that the game stopped, and why (best effort: a party
    /// that has gone cannot be told).
    pub(crate) fn announce_abort(&self, reason: &str) {
        let frame = Bytes::from(
            postcard::to_allocvec(&TopUp::Aborted(reason.to_string())).expect("serializable"),
        );
        let mut ctl = self.lock();
        for p in 1..ctl.n_parties() {
            let _ = ctl.send(p, frame.clone());
        }
    }

    /// Another party: party 0's reason for stopping the game, if it sends one within `wait`.
    pub(crate) fn abort_reason(&self, wait: Duration) -> Option<String> {
        let mut ctl = self.lock();
        ctl.set_recv_deadline(wait);
        loop {
            let frame = ctl.recv(0).ok()?;
            match postcard::from_bytes::<TopUp>(&frame) {
                Ok(TopUp::Aborted(reason)) => return Some(reason),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (GameControl, GameControl) {
        let mut nets = net::in_process(2, net::NetConfig::default());
        let one = nets.pop().unwrap();
        let zero = nets.pop().unwrap();
        (
            GameControl(Arc::new(Mutex::new(zero))),
            GameControl(Arc::new(Mutex::new(one))),
        )
    }

    #[test]
    fn party_0s_reason_reaches_a_party_that_timed_out() {
        let (zero, one) = pair();
        // A top-up in flight is skipped; the reason is found behind it.
        let stale = Bytes::from(postcard::to_allocvec(&TopUp::Failed("x".into())).unwrap());
        zero.lock().send(1, stale).unwrap();
        zero.announce_abort("connection to party 2 is closed");
        assert_eq!(
            one.abort_reason(Duration::from_secs(5)).as_deref(),
            Some("connection to party 2 is closed")
        );
    }

    #[test]
    fn without_a_reason_the_wait_is_short_and_says_nothing() {
        let (_zero, one) = pair();
        let t = std::time::Instant::now();
        assert_eq!(one.abort_reason(Duration::from_millis(100)), None);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn a_malformed_frame_from_party_0_is_no_reason() {
        let (zero, one) = pair();
        zero.lock()
            .send(1, Bytes::from_static(&[0xff, 0xff, 0xff]))
            .unwrap();
        assert_eq!(one.abort_reason(Duration::from_secs(1)), None);
    }
}
