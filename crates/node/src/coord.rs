//! How the parties agree on one request: **party 0 decides, the others follow**, over a gateway
//! channel of its own.
//!
//! Every request that needs all parties (an upload, a download, a game) runs a *session*:
//! 1. each party opens the channel named by (purpose, request name) — the gateway buffers frames
//!    that arrive before a party has opened it;
//! 2. every party sends every other party `Join { digest, epoch }`, the BLAKE3 digest of what it
//!    was asked to do (the requesting user, program hash, inputs, arguments, masked values, …)
//!    and its tuple store's epoch; each compares all digests with its own, and refuses a peer
//!    whose epoch went back (its tuple store was restored from a copy, see
//!    `store::StoreEpoch`);
//! 3. party 0 waits for every party until the join deadline, compares the digests with its own,
//!    reserves the tuples the request needs in one durable transaction, and sends `Go` with the
//!    reservations and 32 fresh random bytes (the session's `nonce`, from which ids of what the
//!    session creates are derived, so that nobody can claim them in advance) — or `Abort` with
//!    a reason naming the party that is missing or differs;
//! 4. the others apply the reservations (durably marking the ranges consumed) and the session's
//!    network is handed to the protocol.
//!
//! **Architecture Invariant:** no party computes on a request before party 0 has seen identical
//! digests from every party; a mismatch or a missing party aborts the request everywhere.
//!
//! **Architecture Invariant:** every wait has a deadline (`join` for the joins, the receive
//! deadline afterwards); a closed connection ends the session at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::{ApiError, ErrorCode, PrepProgress};
use bytes::Bytes;
use net::{NetConfig, NetError, Network, PartyId};
use serde::{Deserialize, Serialize};
use store::{Reservation, ReservationRequest, StoreEpoch};

/// Opens the channels of sessions. The node's implementation is the gateway; tests use
/// [`InProcessChannels`].
pub trait Channels: Send + Sync {
    /// Opens channel (purpose, name) to every party, with `net` as its settings.
    fn open(&self, purpose: &str, name: &str, net: NetConfig) -> Result<Network, NetError>;
    /// Peers known to be unreachable now (a session needing them fails at once, naming them).
    fn unreachable(&self) -> Vec<PartyId> {
        Vec::new()
    }
    /// Tells every peer that this party's part of channel (purpose, name) failed for a reason
    /// of its own (`code`, `reason`: short, never secret data), so that their receives on it
    /// fail at once with [`NetError::Aborted`] naming this party. Best effort; the in-process
    /// channels of tests do without.
    fn abort(&self, purpose: &str, name: &str, code: &str, reason: &str) {
        let _ = (purpose, name, code, reason);
    }
}

/// How long after its start a gateway waits for a peer's first connection before it counts
/// the peer as unreachable.
pub const CONNECT_GRACE: Duration = Duration::from_secs(3);

impl Channels for net::Gateway {
    fn open(&self, purpose: &str, name: &str, cfg: NetConfig) -> Result<Network, NetError> {
        self.open_with(net::ChannelId::derive(purpose, name), cfg)
    }

    /// Peers whose connection dropped and is not back, or that never connected within
    /// [`CONNECT_GRACE`] of the start.
    fn unreachable(&self) -> Vec<PartyId> {
        self.peer_status()
            .into_iter()
            .filter(|p| {
                !p.connected
                    && (p.connections > 0 || p.since.elapsed().unwrap_or_default() > CONNECT_GRACE)
            })
            .map(|p| p.party)
            .collect()
    }

    fn abort(&self, purpose: &str, name: &str, code: &str, reason: &str) {
        net::Gateway::abort(self, net::ChannelId::derive(purpose, name), code, reason);
    }
}

/// Channels between parties of one process, for tests: the first party to open a name creates
/// the connected networks of all parties and each party takes its own.
pub struct InProcessChannels {
    me: PartyId,
    n: usize,
    shared: Arc<Mutex<HashMap<String, Vec<Option<Network>>>>>,
}

impl InProcessChannels {
    /// One `InProcessChannels` per party, all connected.
    pub fn cluster(n: usize) -> Vec<InProcessChannels> {
        let shared = Arc::new(Mutex::new(HashMap::new()));
        (0..n)
            .map(|me| InProcessChannels {
                me,
                n,
                shared: shared.clone(),
            })
            .collect()
    }
}

impl Channels for InProcessChannels {
    fn open(&self, purpose: &str, name: &str, cfg: NetConfig) -> Result<Network, NetError> {
        let key = format!("{purpose}\u{0}{name}");
        let mut map = self
            .shared
            .lock()
            .map_err(|_| NetError::Config("channel registry poisoned".into()))?;
        let entry = map.entry(key).or_insert_with(|| {
            net::in_process(self.n, cfg.clone())
                .into_iter()
                .map(Some)
                .collect()
        });
        let mut net = entry
            .get_mut(self.me)
            .and_then(Option::take)
            .ok_or_else(|| NetError::Config(format!("channel {purpose}/{name} is open already")))?;
        net.set_recv_deadline(cfg.recv_deadline);
        Ok(net)
    }
}

/// What a party sends in a session before the protocol starts.
#[derive(Debug, Serialize, Deserialize)]
enum CoordMsg {
    Join {
        digest: [u8; 32],
        epoch: StoreEpoch,
    },
    /// `at_ms`: party 0's clock when it decided (milliseconds since the Unix epoch), the one
    /// time every party records for what the session creates; `nonce`: fresh randomness for
    /// the ids of what it creates.
    Go {
        reservations: Vec<Reservation>,
        at_ms: u64,
        nonce: [u8; 32],
    },
    Abort {
        code: ErrorCode,
        message: String,
    },
    /// Party 0 is generating the session's tuples: how far it got. Sent after every round of
    /// jobs, so a follower's receive deadline only runs out on a party 0 that went silent.
    Preparing(PrepProgress),
}

fn encode(msg: &CoordMsg) -> Bytes {
    Bytes::from(postcard::to_allocvec(msg).expect("coordination messages always serialize"))
}

fn decode(peer: PartyId, frame: &[u8]) -> Result<CoordMsg, ApiError> {
    postcard::from_bytes(frame).map_err(|_| {
        ApiError::new(
            ErrorCode::IntegrityViolation,
            format!("party {peer} sent a malformed coordination message; is it running the same Ephemeral version?"),
        )
    })
}

/// What a session needs.
pub struct SessionSpec<'a> {
    /// What kind of request (`upload`, `store`, `download`, `game`): part of the channel name.
    pub purpose: &'static str,
    /// The request's name (request id, game id).
    pub name: &'a str,
    /// Digest of everything the parties must agree on.
    pub digest: [u8; 32],
    /// Deadline for all parties to join.
    pub join: Duration,
    /// Receive deadline once the session runs.
    pub recv: Duration,
    /// Tuples party 0 reserves for the request (ignored on the other parties).
    pub reserve: Vec<ReservationRequest>,
    /// Told every progress report while the session waits for its tuples (on every party).
    pub progress: Option<Progress>,
}

/// Told the progress reports of a session waiting for its tuples (party 0 calls it from the
/// blocking thread that generates them).
pub type Progress = Arc<dyn Fn(&PrepProgress) + Send + Sync>;

/// An agreed session: its network and the tuples reserved for it.
pub struct Session {
    pub net: Network,
    pub reservations: Vec<Reservation>,
    /// When party 0 let the session go (ms since the Unix epoch): the same on every party, so
    /// what the session creates (a secret's `creation-date`) agrees across parties.
    pub at_ms: u64,
    /// Party 0's fresh random bytes for this session: ids of what it creates derive from them.
    pub nonce: [u8; 32],
    /// Held for the session's life: a rekey waits for every session to end before it changes
    /// the MAC key, and no session starts during a rekey.
    pub gate: Option<tokio::sync::OwnedRwLockReadGuard<()>>,
    /// Releases the reservations if the session ends before they were handed to the engine's
    /// tuple source (which releases them itself): a reservation left live would hide its ranges
    /// from reconciliation forever.
    pub release: ReservationGuard,
    /// Counts the session as running in `ephemeral_sessions` for its life (set by
    /// [`crate::Node::agree_session`]).
    pub phase: Option<crate::metrics::PhaseGuard>,
}

/// Releases reservations when dropped, unless [`ReservationGuard::handed_over`].
#[derive(Default)]
pub struct ReservationGuard {
    tuples: Option<Arc<store::RedbTupleStore>>,
    ids: Vec<store::ReservationId>,
}

impl ReservationGuard {
    /// Releases `reservations` of `tuples` on drop.
    pub fn new(tuples: Arc<store::RedbTupleStore>, reservations: &[Reservation]) -> Self {
        ReservationGuard {
            tuples: Some(tuples),
            ids: reservations.iter().map(|r| r.id.clone()).collect(),
        }
    }

    /// The reservations are in the engine's tuple source now, which releases them.
    pub fn handed_over(&mut self) {
        self.ids.clear();
    }
}

impl Drop for ReservationGuard {
    fn drop(&mut self) {
        if let Some(t) = &self.tuples {
            for id in &self.ids {
                if let Err(e) = store::TupleStore::release(&**t, id) {
                    tracing::warn!(reservation = %id, error = %e, "could not release a reservation");
                }
            }
        }
    }
}

/// The id of the `index`-th `what` a session with `nonce` creates (a game's output secret):
/// unknown to anybody before party 0 let the session go, the same on every party.
pub fn derived_id(nonce: &[u8; 32], what: &str, index: u64) -> uuid::Uuid {
    {
        let mut h = blake3::Hasher::new_derive_key("ephemeral session-derived id v1");
        h.update(nonce);
        h.update(&(what.len() as u64).to_le_bytes());
        h.update(what.as_bytes());
        h.update(&index.to_le_bytes());
        let b: [u8; 16] = h.finalize().as_bytes()[..16].try_into().expect("16 bytes");
        uuid::Builder::from_random_bytes(b).into_uuid()
    }
}

/// Milliseconds since the Unix epoch by this machine's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Where a session's tuples come from and go: the node's tuple store and generator.
pub trait TupleSource: Send + Sync {
    /// Party 0: plans and applies the reservations durably, in one transaction.
    fn reserve(&self, requests: &[ReservationRequest]) -> Result<Vec<Reservation>, ApiError>;
    /// As [`TupleSource::reserve`], generating a shortfall first if the source can, and telling
    /// `report` how far it got.
    fn reserve_waiting(
        &self,
        requests: &[ReservationRequest],
        report: &mut dyn FnMut(PrepProgress),
    ) -> Result<Vec<Reservation>, ApiError> {
        let _ = report;
        self.reserve(requests)
    }
    /// The other parties: applies party 0's reservations durably (all or nothing).
    fn apply(&self, reservations: &[Reservation]) -> Result<(), ApiError>;
    /// Releases reservations of a session that failed before it could use them.
    fn release(&self, reservations: &[Reservation]) {
        let _ = reservations;
    }
    /// This party's tuple store epoch, sent with every join.
    fn epoch(&self) -> Result<StoreEpoch, ApiError>;
    /// Records a peer's epoch, refusing one that went back.
    fn observe_epoch(&self, peer: PartyId, epoch: StoreEpoch) -> Result<(), ApiError>;
}

/// Describes a network error of a session in words a client can act on.
pub fn net_error(e: &NetError, during: &str) -> ApiError {
    match e {
        NetError::Timeout { peer, after } => ApiError::new(
            ErrorCode::PeerUnavailable,
            format!("party {peer} did not answer within {after:?} during {during}; it may be down, overloaded or not have received the request"),
        ),
        NetError::Disconnected { peer } => ApiError::new(
            ErrorCode::PeerUnavailable,
            format!("the connection to party {peer} closed during {during}; the party stopped or the network failed; retry when it is back"),
        ),
        NetError::Aborted { peer, code, reason } => ApiError::new(
            aborted_code(code),
            format!("party {peer} failed and aborted the session ({during}, {code}): {reason:?}"),
        ),
        other => ApiError::new(
            ErrorCode::PeerUnavailable,
            format!("network failure during {during}: {other}"),
        ),
    }
}

/// The code a party answers with when a peer aborted the session with `code` (its error's
/// label): the peer's own code when it is one a failure of the joint work can honestly have
/// (its program failed, a deadline, a check, missing tuples), 503 `peer_unavailable` otherwise —
/// never a claim of a local fault or a client error of this party's.
pub fn aborted_code(code: &str) -> ErrorCode {
    match serde_json::from_value::<ErrorCode>(serde_json::Value::String(code.to_string())) {
        Ok(
            c @ (ErrorCode::ProgramFailed
            | ErrorCode::Timeout
            | ErrorCode::IntegrityViolation
            | ErrorCode::InsufficientTuples
            | ErrorCode::GenerationHalted
            | ErrorCode::Conflict),
        ) => c,
        _ => ErrorCode::PeerUnavailable,
    }
}

/// The wire label of `code` (as in the JSON error body).
pub fn code_label(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "internal".into(),
    }
}

/// Whether a session that failed with `e` should tell its peers ([`Channels::abort`]): yes
/// for a failure of this party's own; no when the failure came from the network or from a
/// peer (the peers know already, and an abort would hide who failed first).
pub fn should_abort(e: &ApiError) -> bool {
    e.code != ErrorCode::PeerUnavailable && !e.message.contains("failed and aborted the session")
}

/// Runs `f` on a blocking thread (store transactions, tuple generation) and waits for it.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("a worker task failed: {e}")))
}

/// Runs the agreement step of a session.
///
/// Async: the waits for the other parties' joins and for party 0's `Go` hold no thread (the
/// session's receives are [`Network::recv_async`]); only the short store transactions (the
/// epoch, party 0's reservation, a follower's applying it) and party 0's generation of missing
/// tuples run on a blocking thread, via `spawn_blocking`. The returned session's network is then
/// used from a blocking thread, as before.
pub async fn agree(
    channels: &dyn Channels,
    tuples: Arc<dyn TupleSource>,
    me: PartyId,
    spec: SessionSpec<'_>,
) -> Result<Session, ApiError> {
    let during = format!("{} {}", spec.purpose, spec.name);
    // Fail fast: a request that needs a party this one cannot reach fails now, naming it.
    let down = channels.unreachable();
    if !down.is_empty() {
        let list = down
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::limited(
            ErrorCode::PeerUnavailable,
            format!("party {list} is not connected to party {me} (down or unreachable), and {during} needs every party; retry when it is back (GET /v1/health shows the connections)"),
            2,
        ));
    }
    let cfg = NetConfig {
        recv_deadline: spec.join,
        ..NetConfig::default()
    };
    let mut net = channels
        .open(spec.purpose, spec.name, cfg)
        .map_err(|e| match e {
            NetError::Config(m) => ApiError::new(
                ErrorCode::Conflict,
                format!("{during} is already in progress on this party ({m}); use a fresh id"),
            ),
            other => net_error(&other, &during),
        })?;
    let n = net.n_parties();
    // Every party tells every other party what it was asked, so that each can compare for itself.
    let epoch = {
        let t = tuples.clone();
        blocking(move || t.epoch()).await??
    };
    let join = encode(&CoordMsg::Join {
        digest: spec.digest,
        epoch,
    });
    for p in (0..n).filter(|&p| p != me) {
        net.send(p, join.clone())
            .map_err(|e| net_error(&e, &during))?;
    }
    // A peer's epoch is recorded durably (a short transaction) only when it moved.
    let observe = |p: PartyId, epoch: StoreEpoch| {
        let t = tuples.clone();
        async move { blocking(move || t.observe_epoch(p, epoch)).await? }
    };
    if me == 0 {
        let deadline = Instant::now() + spec.join;
        let mut problem: Option<ApiError> = None;
        for p in 1..n {
            net.set_recv_deadline(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
            let frame = match net.recv_async(p).await {
                Ok(f) => f,
                Err(NetError::Timeout { .. }) => {
                    problem = Some(ApiError::new(
                        ErrorCode::PeerUnavailable,
                        format!("party {p} did not join {during} within {:?}; check that the request was sent to every party and that party {p} is up", spec.join),
                    ));
                    break;
                }
                Err(e) => {
                    problem = Some(net_error(&e, &during));
                    break;
                }
            };
            match decode(p, &frame)? {
                CoordMsg::Join { digest, epoch } if digest == spec.digest => {
                    if let Err(e) = observe(p, epoch).await {
                        problem = Some(e);
                        break;
                    }
                }
                CoordMsg::Join { .. } => {
                    problem = Some(ApiError::new(
                        ErrorCode::Conflict,
                        format!("party {p} was asked something different for {during} (program, inputs, arguments, output mode or data differ); send the same request to every party"),
                    ));
                    break;
                }
                _ => {
                    problem = Some(ApiError::new(
                        ErrorCode::IntegrityViolation,
                        format!("party {p} sent an unexpected message while joining {during}"),
                    ));
                    break;
                }
            }
        }
        // Every party joined: reserve (and generate a shortfall, telling the others how far it
        // got) on a blocking thread, with the network, which comes back with the decision.
        let (mut net, decision) = match problem {
            Some(e) => (net, Err(e)),
            None => {
                let t = tuples.clone();
                let reserve = spec.reserve.clone();
                let progress = spec.progress.clone();
                blocking(move || {
                    let d = t.reserve_waiting(&reserve, &mut |p: PrepProgress| {
                        if let Some(f) = &progress {
                            f(&p);
                        }
                        // Best effort: a party that left fails the session at `Go`.
                        let frame = encode(&CoordMsg::Preparing(p));
                        for q in 1..n {
                            let _ = net.send(q, frame.clone());
                        }
                    });
                    (net, d)
                })
                .await?
            }
        };
        let at_ms = now_ms();
        let nonce: [u8; 32] = rand::random();
        let msg = match &decision {
            Ok(reservations) => CoordMsg::Go {
                reservations: reservations.clone(),
                at_ms,
                nonce,
            },
            Err(e) => CoordMsg::Abort {
                code: e.code,
                message: e.message.clone(),
            },
        };
        let frame = encode(&msg);
        for p in 1..n {
            // Best effort for an abort: a party that left cannot be told.
            if let Err(e) = net.send(p, frame.clone()) {
                if let Ok(r) = decision {
                    let t = tuples.clone();
                    let _ = blocking(move || t.release(&r)).await;
                    return Err(net_error(&e, &during));
                }
            }
        }
        let reservations = decision?;
        net.set_recv_deadline(spec.recv);
        Ok(Session {
            net,
            reservations,
            at_ms,
            nonce,
            gate: None,
            release: ReservationGuard::default(),
            phase: None,
        })
    } else {
        // Party 0 waits up to `join` for the slowest party, then reserves. Party 0's messages
        // are read first, so that its `Abort` (or its loss) ends this party's wait at once,
        // whatever another party does; every party sent its join before anything else, so the
        // others' joins are here by the time party 0 decided.
        net.set_recv_deadline(spec.join + spec.recv);
        let check_join = |p: PartyId, frame: &[u8]| -> Result<StoreEpoch, ApiError> {
            match decode(p, frame)? {
                CoordMsg::Join { digest, epoch } if digest == spec.digest => Ok(epoch),
                CoordMsg::Join { .. } => Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("party {p} was asked something different for {during} (program, inputs, arguments, output mode or data differ); send the same request to every party"),
                )),
                CoordMsg::Abort { code, message } if p == 0 => Err(ApiError::new(
                    relayed_code(code),
                    format!("party 0 aborted {during}; {}", relayed(&message)),
                )),
                _ => Err(ApiError::new(
                    ErrorCode::IntegrityViolation,
                    format!("party {p} sent an unexpected message while joining {during}"),
                )),
            }
        };
        let first = net
            .recv_async(0)
            .await
            .map_err(|e| net_error(&e, &during))?;
        let epoch0 = check_join(0, &first)?;
        observe(0, epoch0).await?;
        // Progress reports may come first: each one restarts the receive deadline.
        let msg = loop {
            let frame = net
                .recv_async(0)
                .await
                .map_err(|e| net_error(&e, &during))?;
            match decode(0, &frame)? {
                CoordMsg::Preparing(p) => {
                    if let Some(f) = &spec.progress {
                        f(&p);
                    }
                }
                other => break other,
            }
        };
        match msg {
            CoordMsg::Go {
                reservations,
                at_ms,
                nonce,
            } => {
                net.set_recv_deadline(spec.recv);
                for p in (1..n).filter(|&p| p != me) {
                    let frame = net
                        .recv_async(p)
                        .await
                        .map_err(|e| net_error(&e, &during))?;
                    let epoch = check_join(p, &frame)?;
                    observe(p, epoch).await?;
                }
                let applied = {
                    let t = tuples.clone();
                    blocking(move || t.apply(&reservations).map(|()| reservations)).await?
                };
                // A failure here is this party's own (its store): the others, who go on with the
                // protocol, hear of it at once instead of at their receive deadline.
                let reservations = applied.inspect_err(|e| {
                    channels.abort(spec.purpose, spec.name, &code_label(e.code), &e.message)
                })?;
                Ok(Session {
                    net,
                    reservations,
                    at_ms,
                    nonce,
                    gate: None,
                    release: ReservationGuard::default(),
                    phase: None,
                })
            }
            CoordMsg::Abort { code, message } => Err(ApiError::new(
                relayed_code(code),
                format!("party 0 aborted {during}; {}", relayed(&message)),
            )),
            CoordMsg::Join { .. } | CoordMsg::Preparing(_) => Err(ApiError::new(
                ErrorCode::IntegrityViolation,
                format!("party 0 sent an unexpected message while {during} was starting"),
            )),
        }
    }
}

/// The node's tuple source as a shared, `'static` [`TupleSource`], for the blocking threads of
/// [`agree`].
pub(crate) struct NodeSource(pub(crate) Arc<crate::Node>);

impl TupleSource for NodeSource {
    fn reserve(&self, requests: &[ReservationRequest]) -> Result<Vec<Reservation>, ApiError> {
        self.0.tuple_source().reserve(requests)
    }
    fn reserve_waiting(
        &self,
        requests: &[ReservationRequest],
        report: &mut dyn FnMut(PrepProgress),
    ) -> Result<Vec<Reservation>, ApiError> {
        self.0.tuple_source().reserve_waiting(requests, report)
    }
    fn apply(&self, reservations: &[Reservation]) -> Result<(), ApiError> {
        self.0.tuple_source().apply(reservations)
    }
    fn release(&self, reservations: &[Reservation]) {
        self.0.tuple_source().release(reservations)
    }
    fn epoch(&self) -> Result<StoreEpoch, ApiError> {
        self.0.tuple_source().epoch()
    }
    fn observe_epoch(&self, peer: PartyId, epoch: StoreEpoch) -> Result<(), ApiError> {
        self.0.tuple_source().observe_epoch(peer, epoch)
    }
}

/// Party 0's words, as a client may see them: quoted after "party 0 reports: ", at most 500
/// characters, without control characters. A follower never passes them off as its own.
pub fn relayed(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(500).collect();
    format!("party 0 reports: {clean:?}")
}

/// The code a follower answers with when party 0 aborted with `code`: party 0's own code only
/// when it is one a refusal can honestly have, never a claim of a local fault or a success.
fn relayed_code(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::Conflict
        | ErrorCode::PeerUnavailable
        | ErrorCode::InsufficientTuples
        | ErrorCode::GenerationHalted
        | ErrorCode::Unavailable
        | ErrorCode::Timeout
        | ErrorCode::IntegrityViolation => code,
        _ => ErrorCode::Conflict,
    }
}

/// BLAKE3 digest of length-prefixed parts (so that part boundaries count).
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("ephemeral coordination digest v1");
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    *h.finalize().as_bytes()
}

impl crate::Node {
    /// Runs the agreement step of a session `purpose`/`name` with every party, over this node's
    /// channels, with its tuple source and its join and receive deadlines. Async, holding no
    /// thread while it waits for the parties (see [`agree`]); counted in `ephemeral_sessions`
    /// as joining meanwhile, and as running for the life of the returned session.
    pub(crate) async fn agree_session(
        self: &Arc<Self>,
        purpose: &'static str,
        name: &str,
        digest: [u8; 32],
        reserve: Vec<ReservationRequest>,
        progress: Option<Progress>,
    ) -> Result<Session, ApiError> {
        let gate = self.session_gate()?;
        let joining = self
            .metrics
            .session_phase(crate::metrics::SessionPhase::Joining);
        let session = agree(
            &*self.channels,
            Arc::new(NodeSource(self.clone())),
            self.me,
            SessionSpec {
                purpose,
                name,
                digest,
                join: self.config.timeouts.join(),
                recv: self.config.timeouts.recv(),
                reserve,
                progress,
            },
        )
        .await;
        drop(joining);
        match session {
            Ok(mut s) => {
                s.gate = Some(gate);
                s.release = ReservationGuard::new(self.tuples.clone(), &s.reservations);
                s.phase = Some(
                    self.metrics
                        .session_phase(crate::metrics::SessionPhase::Running),
                );
                Ok(s)
            }
            Err(e) => {
                // Party 0 may have reserved tuples this party never applied.
                self.recovery.mark_dirty();
                Err(e)
            }
        }
    }

    /// Ends a session that failed at this party: if the failure is its own
    /// ([`should_abort`]), tells every peer on the session's channels (`purposes`, each with
    /// `name`), so their receives fail at once naming this party instead of at their deadline.
    /// Only the error's code and its first 300 bytes travel; error messages never hold shares
    /// or keys.
    pub(crate) fn abort_session(&self, purposes: &[&str], name: &str, e: &ApiError) {
        if !should_abort(e) {
            return;
        }
        let code = code_label(e.code);
        for purpose in purposes {
            self.channels.abort(purpose, name, &code, &e.message);
        }
        tracing::info!(session = name, code = %code, "session failed here; peers told to abort");
    }

    /// A hold on the MAC key for one session or job: refused (503) while a rekey runs.
    pub(crate) fn session_gate(&self) -> Result<tokio::sync::OwnedRwLockReadGuard<()>, ApiError> {
        self.key_gate.clone().try_read_owned().map_err(|_| {
            ApiError::limited(
                ErrorCode::Unavailable,
                "the parties are moving to a fresh MAC key (rekey); retry when it is done",
                5,
            )
        })
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    /// A peer's abort carries its error's label: a failure of the joint work keeps its code,
    /// anything else (a local fault, an unknown label) is a peer problem; and a party that
    /// failed because of the network or a peer's abort does not abort in turn.
    #[test]
    fn abort_codes_and_who_aborts() {
        assert_eq!(aborted_code("program_failed"), ErrorCode::ProgramFailed);
        assert_eq!(
            aborted_code("integrity_violation"),
            ErrorCode::IntegrityViolation
        );
        assert_eq!(aborted_code("internal"), ErrorCode::PeerUnavailable);
        assert_eq!(aborted_code("bad_request"), ErrorCode::PeerUnavailable);
        assert_eq!(aborted_code("no such code"), ErrorCode::PeerUnavailable);
        assert_eq!(code_label(ErrorCode::ProgramFailed), "program_failed");
        assert!(should_abort(&ApiError::new(
            ErrorCode::ProgramFailed,
            "party 1 ran out"
        )));
        assert!(should_abort(&ApiError::new(
            ErrorCode::Internal,
            "store error"
        )));
        assert!(!should_abort(&ApiError::new(
            ErrorCode::PeerUnavailable,
            "lost party 2"
        )));
        let relayed = net_error(
            &NetError::Aborted {
                peer: 2,
                code: "program_failed".into(),
                reason: "party 2 ran out of private input".into(),
            },
            "game g",
        );
        assert_eq!(relayed.code, ErrorCode::ProgramFailed);
        assert!(relayed.message.contains("party 2"), "{}", relayed.message);
        assert!(!should_abort(&relayed));
    }

    /// Progress reports cross the wire in postcard, which has no field names: every field must
    /// be encoded, with or without an ETA.
    #[test]
    fn progress_reports_decode_as_sent() {
        for eta in [None, Some(3.0)] {
            let p = PrepProgress {
                needed: 38_800,
                made: 16_384,
                eta_secs: eta,
                kind: "bit".into(),
                waited_secs: 2.0,
            };
            match decode(0, &encode(&CoordMsg::Preparing(p.clone()))).unwrap() {
                CoordMsg::Preparing(q) => assert_eq!(q, p),
                _ => panic!("decoded another message"),
            }
        }
    }
}
