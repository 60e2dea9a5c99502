//! Filling the tuple store.
//!
//! **Today's generator is the INSECURE dealer** (`[tuples] insecure_dealer = true`): every party
//! derives its shares of chunk `k` of a kind from the seed all parties share
//! ([`protocol::prep::InsecureDealer::for_chunk`]), under a chunk id that is itself derived from
//! the seed, the kind and `k`. So every party writes the same chunk under the same id without
//! talking to the others, and a party that meets an unknown chunk id in a reservation from
//! party 0 finds its index and writes it on demand. Anybody holding the seed can compute every
//! party's shares: the dealer is for development and tests only, and the node says so loudly.
//!
//! **Pools.** Every party keeps each kind above its threshold (`[tuples.pools]`), generating
//! chunks in index order in the background; party 0 also generates synchronously when a
//! reservation would otherwise fail.
//!
//! **Architecture Invariant:** a chunk is written in one transaction under its id, then
//! activated; a chunk id is never stored twice (the store keeps tombstones), so restarts continue
//! with the next index.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::{ApiError, ErrorCode, TupleKindStats, TupleStatsResponse};
use net::PartyId;
use protocol::prep::{InsecureDealer, Preprocessing, TupleKind};
use store::tuple::kind_label;
use store::{ChunkId, Reservation, ReservationRequest, TupleData, TupleError, TupleStore};

use crate::config::{NodeConfig, PoolPolicy};
use crate::coord::TupleSource;
use crate::Node;

/// Tuples per dealer chunk (the same on every party: it is part of what a chunk id means).
pub const DEALER_CHUNK: u64 = 16_384;

/// How far beyond the last known index a party searches for an unknown chunk id.
const SEARCH_AHEAD: u64 = 1 << 20;

/// Default pool policy per kind label (`input_mask` covers every party's masks).
fn default_policy(kind: TupleKind, mascot: bool) -> PoolPolicy {
    if mascot {
        // MASCOT makes about 10^4 triples per second on two cores: keep jobs around a second.
        return match kind {
            TupleKind::Triple | TupleKind::Bit => PoolPolicy {
                threshold: 20_000,
                batch: 10_000,
            },
            TupleKind::Square | TupleKind::Inverse | TupleKind::InputMask(_) => PoolPolicy {
                threshold: 4_000,
                batch: 4_000,
            },
        };
    }
    match kind {
        TupleKind::Triple | TupleKind::Bit | TupleKind::Square => PoolPolicy {
            threshold: 2 * DEALER_CHUNK,
            batch: DEALER_CHUNK,
        },
        TupleKind::Inverse | TupleKind::InputMask(_) => PoolPolicy {
            threshold: DEALER_CHUNK,
            batch: DEALER_CHUNK,
        },
    }
}

fn policy_key(kind: TupleKind) -> &'static str {
    match kind {
        TupleKind::Triple => "triple",
        TupleKind::Square => "square",
        TupleKind::Bit => "bit",
        TupleKind::Inverse => "inverse",
        TupleKind::InputMask(_) => "input_mask",
    }
}

/// Every kind a node of `n` parties keeps.
pub fn all_kinds(n: usize) -> Vec<TupleKind> {
    let mut v = vec![
        TupleKind::Triple,
        TupleKind::Square,
        TupleKind::Bit,
        TupleKind::Inverse,
    ];
    v.extend((0..n).map(TupleKind::InputMask));
    v
}

/// Per kind: the next chunk index this party has not written, and the ids seen so far.
#[derive(Default)]
struct KindState {
    next: u64,
    ids: HashMap<ChunkId, u64>,
    /// Samples (time, consumed) for the consumption rate.
    samples: VecDeque<(Instant, u64)>,
}

/// The tuple generator of this node; see the module docs.
pub struct Generator {
    me: PartyId,
    n: usize,
    seed: Option<[u8; 32]>,
    /// MASCOT (the default) rather than the dealer.
    mascot: bool,
    policies: BTreeMap<TupleKind, PoolPolicy>,
    state: Mutex<BTreeMap<TupleKind, KindState>>,
    /// Serializes chunk generation (one writer per kind at a time keeps indices dense).
    gen_lock: Mutex<()>,
    jobs_completed: AtomicU64,
    tuples_generated: AtomicU64,
}

impl Generator {
    /// The generator the configuration asks for: MASCOT, unless `[tuples] insecure_dealer`.
    pub fn new(cfg: &NodeConfig) -> Generator {
        let n = cfg.n_parties();
        let mascot = !cfg.tuples.insecure_dealer;
        let policies = all_kinds(n)
            .into_iter()
            .map(|k| {
                let p = cfg
                    .tuples
                    .pools
                    .get(policy_key(k))
                    .copied()
                    .unwrap_or_else(|| default_policy(k, mascot));
                (k, p)
            })
            .collect();
        Generator {
            me: cfg.party,
            n,
            seed: cfg.insecure_dealer_seed(),
            mascot,
            policies,
            state: Mutex::new(BTreeMap::new()),
            gen_lock: Mutex::new(()),
            jobs_completed: AtomicU64::new(0),
            tuples_generated: AtomicU64::new(0),
        }
    }

    /// `mascot` or `insecure-dealer`.
    pub fn name(&self) -> &'static str {
        if self.mascot {
            "mascot"
        } else {
            "insecure-dealer"
        }
    }

    /// Whether MASCOT is the generator.
    pub fn is_mascot(&self) -> bool {
        self.mascot
    }

    /// Pool policy per kind.
    pub fn policies(&self) -> Vec<(TupleKind, PoolPolicy)> {
        self.policies.iter().map(|(k, p)| (*k, *p)).collect()
    }

    /// Counts a finished generation job.
    pub fn record_job(&self, tuples: u64) {
        self.jobs_completed.fetch_add(1, Ordering::Relaxed);
        self.tuples_generated.fetch_add(tuples, Ordering::Relaxed);
    }

    /// This party's MAC key share under the dealer, if the dealer is on.
    pub fn dealer_mac_key_share(&self) -> Option<field::Fp> {
        self.seed
            .map(|seed| InsecureDealer::for_chunk(self.me, self.n, seed, "mac").mac_key_share())
    }

    fn chunk_id(seed: &[u8; 32], kind: TupleKind, index: u64) -> ChunkId {
        let mut h = blake3::Hasher::new_derive_key("ephemeral insecure dealer chunk id v1");
        h.update(seed);
        h.update(kind_label(kind).as_bytes());
        h.update(&index.to_le_bytes());
        h.update(&DEALER_CHUNK.to_le_bytes());
        let b: [u8; 16] = h.finalize().as_bytes()[..16].try_into().expect("16 bytes");
        let mut u = uuid::Builder::from_random_bytes(b);
        u.set_version(uuid::Version::Random);
        ChunkId::from_uuid(u.into_uuid()).expect("a v4 uuid is never nil")
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, BTreeMap<TupleKind, KindState>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Finds the first index whose chunk is not in `store` (after a restart), per kind.
    pub fn recover(&self, store: &dyn TupleStore) -> Result<(), TupleError> {
        let Some(seed) = self.seed else {
            return Ok(());
        };
        for kind in all_kinds(self.n) {
            let mut k = 0;
            loop {
                match store.chunk_info(Self::chunk_id(&seed, kind, k)) {
                    Ok(_) => k += 1,
                    Err(TupleError::UnknownChunk { .. }) => break,
                    Err(e) => return Err(e),
                }
            }
            self.lock_state().entry(kind).or_default().next = k;
        }
        Ok(())
    }

    /// Writes and activates chunk `index` of `kind` (no-op if it exists).
    fn write_chunk(
        &self,
        store: &dyn TupleStore,
        seed: &[u8; 32],
        kind: TupleKind,
        index: u64,
    ) -> Result<ChunkId, TupleError> {
        let id = Self::chunk_id(seed, kind, index);
        if store.chunk_info(id).is_ok() {
            return Ok(id);
        }
        let label = format!("{}:{index}", kind_label(kind));
        let mut dealer = InsecureDealer::for_chunk(self.me, self.n, *seed, &label);
        let data = TupleData::draw(&mut dealer, kind, DEALER_CHUNK as usize).map_err(|e| {
            TupleError::MalformedTuples {
                reason: e.to_string(),
            }
        })?;
        store.store_chunk(id, &data)?;
        store.activate_chunk(id)?;
        self.jobs_completed.fetch_add(1, Ordering::Relaxed);
        self.tuples_generated
            .fetch_add(DEALER_CHUNK, Ordering::Relaxed);
        Ok(id)
    }

    /// Generates the next chunk of `kind`.
    fn generate_next(&self, store: &dyn TupleStore, kind: TupleKind) -> Result<(), TupleError> {
        let Some(seed) = self.seed else {
            return Ok(());
        };
        let _g = self.gen_lock.lock().unwrap_or_else(|p| p.into_inner());
        let index = self.lock_state().entry(kind).or_default().next;
        let id = self.write_chunk(store, &seed, kind, index)?;
        let mut st = self.lock_state();
        let ks = st.entry(kind).or_default();
        ks.ids.insert(id, index);
        ks.next = ks.next.max(index + 1);
        Ok(())
    }

    /// Makes sure every chunk named by `reservations` exists here (generating dealer chunks a
    /// reservation from party 0 names but this party has not written yet).
    fn ensure_chunks(
        &self,
        store: &dyn TupleStore,
        reservations: &[Reservation],
    ) -> Result<(), ApiError> {
        let Some(seed) = self.seed else {
            return Ok(());
        };
        for r in reservations {
            for range in &r.ranges {
                if store.chunk_info(range.chunk).is_ok() {
                    continue;
                }
                let _g = self.gen_lock.lock().unwrap_or_else(|p| p.into_inner());
                let (start, mut found) = {
                    let st = self.lock_state();
                    let ks = st.get(&r.kind);
                    (
                        ks.map(|k| k.next).unwrap_or(0),
                        ks.and_then(|k| k.ids.get(&range.chunk).copied()),
                    )
                };
                if found.is_none() {
                    found = (0..start + SEARCH_AHEAD)
                        .find(|&k| Self::chunk_id(&seed, r.kind, k) == range.chunk);
                }
                let Some(index) = found else {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        format!(
                            "party 0 reserved tuples from chunk {} of {}, which this party's dealer does not know; are all parties configured with the same insecure_dealer_seed?",
                            range.chunk,
                            kind_label(r.kind)
                        ),
                    ));
                };
                self.write_chunk(store, &seed, r.kind, index)
                    .map_err(tuple_error)?;
                let mut st = self.lock_state();
                let ks = st.entry(r.kind).or_default();
                ks.ids.insert(range.chunk, index);
            }
        }
        Ok(())
    }

    /// One pass of the pool keeper: tops every kind up to its threshold. Returns the chunks
    /// written.
    pub fn top_up(&self, store: &dyn TupleStore) -> Result<u64, TupleError> {
        if self.seed.is_none() {
            return Ok(0);
        }
        let mut written = 0;
        for (&kind, policy) in &self.policies {
            let stats = store.stats_of(kind)?;
            {
                let mut st = self.lock_state();
                let ks = st.entry(kind).or_default();
                let now = Instant::now();
                ks.samples.push_back((now, stats.consumed));
                while ks
                    .samples
                    .front()
                    .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(60))
                {
                    ks.samples.pop_front();
                }
            }
            let mut level = stats.available + stats.inactive;
            let mut chunks = 0;
            while level < policy.threshold && chunks < 64 {
                self.generate_next(store, kind)?;
                level += DEALER_CHUNK;
                chunks += 1;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Consumption rate of `kind` over the last minute, per second.
    fn rate(&self, kind: TupleKind, consumed_now: u64) -> f64 {
        let st = self.lock_state();
        let Some(ks) = st.get(&kind) else {
            return 0.0;
        };
        match ks.samples.front() {
            Some(&(t, c)) => {
                let secs = t.elapsed().as_secs_f64();
                if secs < 0.5 {
                    0.0
                } else {
                    consumed_now.saturating_sub(c) as f64 / secs
                }
            }
            None => 0.0,
        }
    }
}

/// Maps a tuple store error to an API error.
pub fn tuple_error(e: TupleError) -> ApiError {
    let code = match e.class() {
        store::ErrorClass::Invalid => ErrorCode::IntegrityViolation,
        store::ErrorClass::NotFound => ErrorCode::Conflict,
        store::ErrorClass::Conflict => ErrorCode::Conflict,
        store::ErrorClass::Exhausted => ErrorCode::InsufficientTuples,
        store::ErrorClass::Internal => ErrorCode::Internal,
    };
    let msg = match &e {
        TupleError::Insufficient { .. } => {
            format!("{e}; the tuple generator has not caught up, retry shortly")
        }
        _ => format!("tuple store: {e}"),
    };
    ApiError::new(code, msg)
}

/// The node's tuple store and generator as a session's tuple source.
pub struct NodeTuples<'a> {
    pub store: &'a dyn TupleStore,
    pub generator: &'a Generator,
    node: &'a Node,
}

/// Most tuples party 0 generates on the spot for one reservation with MASCOT; beyond this the
/// request fails with `insufficient_tuples` and the pool keeper catches up.
const MAX_ON_DEMAND: u64 = 1 << 20;

impl TupleSource for NodeTuples<'_> {
    fn reserve(&self, requests: &[ReservationRequest]) -> Result<Vec<Reservation>, ApiError> {
        let requests: Vec<ReservationRequest> =
            requests.iter().filter(|r| r.count > 0).cloned().collect();
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // With the dealer, make up a shortfall on the spot (bounded, so that an absurd request
        // fails instead of filling the disk).
        let mut rounds = 0u64;
        loop {
            match self.store.reserve(&requests) {
                Ok(r) => return Ok(r),
                Err(TupleError::Insufficient {
                    kind,
                    needed,
                    available,
                }) if self.generator.mascot
                    && self.node.me == 0
                    && needed.saturating_sub(available) <= MAX_ON_DEMAND
                    && rounds < 16 =>
                {
                    let policy = self
                        .generator
                        .policies
                        .get(&kind)
                        .map(|p| p.batch)
                        .unwrap_or(1);
                    let count = needed.saturating_sub(available).max(policy);
                    tracing::info!(kind = %kind_label(kind), count, "generating tuples on demand");
                    self.node.lead_job(kind, count).map_err(|e| {
                        ApiError::new(
                            ErrorCode::InsufficientTuples,
                            format!(
                                "not enough {} and generating more failed: {e}; retry shortly",
                                kind_label(kind)
                            ),
                        )
                    })?;
                    rounds += 1;
                }
                Err(TupleError::Insufficient {
                    kind,
                    needed,
                    available,
                }) if self.generator.seed.is_some() && rounds < 4096 => {
                    let missing = needed.saturating_sub(available).max(1);
                    let chunks = missing.div_ceil(DEALER_CHUNK);
                    for _ in 0..chunks {
                        self.generator
                            .generate_next(self.store, kind)
                            .map_err(tuple_error)?;
                    }
                    rounds += chunks;
                }
                Err(e) => return Err(tuple_error(e)),
            }
        }
    }

    fn apply(&self, reservations: &[Reservation]) -> Result<(), ApiError> {
        if reservations.is_empty() {
            return Ok(());
        }
        self.generator.ensure_chunks(self.store, reservations)?;
        self.store
            .apply_reservations(reservations)
            .map_err(tuple_error)
    }
}

impl Node {
    /// This node's tuple source for sessions.
    pub fn tuple_source(&self) -> NodeTuples<'_> {
        NodeTuples {
            store: &*self.tuples,
            generator: &self.tuplegen,
            node: self,
        }
    }

    /// `GET /v1/tuples`.
    pub fn tuple_stats(&self) -> Result<TupleStatsResponse, ApiError> {
        let mut kinds = Vec::new();
        for kind in all_kinds(self.n) {
            let s = self.tuples.stats_of(kind).map_err(tuple_error)?;
            let threshold = self
                .tuplegen
                .policies
                .get(&kind)
                .map(|p| p.threshold)
                .unwrap_or(0);
            kinds.push(TupleKindStats {
                kind: kind_label(kind),
                available: s.available,
                inactive: s.inactive,
                consumed: s.consumed,
                consumption_rate: self.tuplegen.rate(kind, s.consumed),
                threshold,
            });
        }
        Ok(TupleStatsResponse {
            party: self.me,
            generator: self.tuplegen.name().into(),
            kinds,
            jobs_completed: self.tuplegen.jobs_completed.load(Ordering::Relaxed),
            tuples_generated: self.tuplegen.tuples_generated.load(Ordering::Relaxed),
        })
    }

    /// Runs the pool keeper until the node stops.
    pub(crate) async fn keep_pools(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = Duration::from_secs_f64(self.config.tuples.check_secs);
        loop {
            let node = self.clone();
            let res = tokio::task::spawn_blocking(move || {
                let r = if node.tuplegen.mascot {
                    if node.me == 0 {
                        node.mascot_top_up()
                            .map_err(|e| TupleError::MalformedTuples { reason: e })
                    } else {
                        Ok(0)
                    }
                } else {
                    node.tuplegen.top_up(&*node.tuples)
                };
                if let Ok(stats) = node.tuple_stats() {
                    for k in &stats.kinds {
                        node.metrics.set_tuples(&k.kind, k.available, k.consumed);
                    }
                }
                r
            })
            .await;
            match res {
                Ok(Ok(n)) if n > 0 => {
                    tracing::debug!(chunks = n, "tuple pools topped up");
                    if !self.tuplegen.mascot {
                        self.metrics.record_generated("all", n * DEALER_CHUNK);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "tuple generation failed"),
                Err(e) => tracing::error!(error = %e, "tuple generation task failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
