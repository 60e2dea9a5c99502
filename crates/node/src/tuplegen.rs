//! Filling the tuple store.
//!
//! Two generators. **MASCOT** (the default) runs as jobs that party 0 schedules and every party
//! joins over its gateway ([`crate::jobs`]): maliciously secure, each chunk made jointly under a
//! fresh id. **The INSECURE dealer** (`[tuples] insecure_dealer = true`): every party
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

use api::{ApiError, ErrorCode, PrepProgress, TupleKindStats, TupleStatsResponse};
use net::PartyId;
use protocol::prep::{InsecureDealer, Preprocessing, TupleKind};
use store::tuple::kind_label;
use store::tuple::MAX_CHUNK_TUPLES;
use store::{ChunkId, Reservation, ReservationRequest, TupleData, TupleError, TupleStore};

use crate::config::{NodeConfig, PoolPolicy};
use crate::coord::TupleSource;
use crate::metrics::Metrics;
use crate::Node;

/// The window of the consumption and generation rates.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Pools hold at least this long of the observed consumption ([`Generator::sized_policy`]).
pub const POOL_HORIZON: Duration = Duration::from_secs(20);
/// A pool job makes at least this long of the observed consumption.
pub const JOB_HORIZON: Duration = Duration::from_secs(5);

/// Node games run comparisons, equality, truncation and bit decomposition on the
/// mixed-circuit kernels: both generators (MASCOT and the insecure dealer) make binary-domain
/// tuples, so every party counts and reserves the same. The one place that decides it, for
/// games (`games.rs`) and for what a function reports it needs (`functions.rs`).
pub const MIXED_KERNELS: bool = true;

/// Tuples per dealer chunk of the arithmetic kinds and binary triples (the same on every
/// party: it is part of what a chunk id means).
pub const DEALER_CHUNK: u64 = 16_384;

/// Tuples per dealer chunk of `kind`: [`DEALER_CHUNK`], except daBits and edaBits (up to a
/// couple of KiB each on disk), whose chunks hold 2 048.
pub fn dealer_chunk(kind: TupleKind) -> u64 {
    match kind {
        TupleKind::DaBit | TupleKind::EdaBit { .. } | TupleKind::WideEdaBit { .. } => 2_048,
        _ => DEALER_CHUNK,
    }
}

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
            TupleKind::BitTriple
            | TupleKind::DaBit
            | TupleKind::EdaBit { .. }
            | TupleKind::WideEdaBit { .. }
            | TupleKind::BinaryKey => binary_policy(kind),
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
        TupleKind::BitTriple
        | TupleKind::DaBit
        | TupleKind::EdaBit { .. }
        | TupleKind::WideEdaBit { .. }
        | TupleKind::BinaryKey => binary_policy(kind),
    }
}

/// Default pool policy of a binary-domain kind: no standing pool (threshold 0), so a node that
/// never runs comparisons never makes binary tuples; once a kind is consumed, its pool follows
/// the observed rate ([`Generator::sized_policy`]). The batch is the generators' smallest
/// efficient batch: 16 384 binary triples (one bucketing batch), 1 024 daBits or edaBits (one
/// checked batch; smaller ones cost as much).
fn binary_policy(kind: TupleKind) -> PoolPolicy {
    let batch = match kind {
        TupleKind::BitTriple => 1 << 14,
        _ => 1 << 10,
    };
    PoolPolicy {
        threshold: 0,
        batch,
    }
}

/// Most tuples of `kind` in one on-demand job: binary triples are made in much larger batches
/// than the rest (a comparison takes about a hundred); an edaBit's adder takes thousands of
/// binary triples inside the job, so its jobs are smaller (memory, and regular progress).
pub(crate) fn on_demand_job(kind: TupleKind) -> u64 {
    match kind {
        TupleKind::BitTriple => 1 << 18,
        TupleKind::EdaBit { .. } | TupleKind::WideEdaBit { .. } => 1 << 12,
        _ => ON_DEMAND_JOB,
    }
}

fn policy_key(kind: TupleKind) -> &'static str {
    match kind {
        TupleKind::Triple => "triple",
        TupleKind::Square => "square",
        TupleKind::Bit => "bit",
        TupleKind::Inverse => "inverse",
        TupleKind::InputMask(_) => "input_mask",
        TupleKind::BitTriple => "bit_triple",
        TupleKind::DaBit => "dabit",
        TupleKind::EdaBit { .. } => "edabit",
        TupleKind::WideEdaBit { .. } => "wide_edabit",
        TupleKind::BinaryKey => "binary_key",
    }
}

/// Every arithmetic kind a node of `n` parties keeps (binary-domain kinds are kept once used:
/// [`Node::pool_kinds`]).
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
    /// Tuples generated by this party since it started.
    generated: u64,
    /// (time, tuples) of every chunk or job finished within [`RATE_WINDOW`].
    generated_recently: VecDeque<(Instant, u64)>,
}

impl KindState {
    fn forget_old_generation(&mut self, now: Instant) {
        while self
            .generated_recently
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            self.generated_recently.pop_front();
        }
    }
}

/// The tuple generator of this node; see the module docs.
pub struct Generator {
    me: PartyId,
    n: usize,
    seed: Option<[u8; 32]>,
    /// MASCOT (the default) rather than the dealer.
    mascot: bool,
    policies: BTreeMap<TupleKind, PoolPolicy>,
    /// `[tuples.pools]` as configured (for kinds outside `policies`).
    configured: BTreeMap<String, PoolPolicy>,
    state: Mutex<BTreeMap<TupleKind, KindState>>,
    /// Serializes chunk generation (one writer per kind at a time keeps indices dense).
    gen_lock: Mutex<()>,
    /// Held by a MASCOT job that makes a key share (see [`Node::lead_job`]).
    first_key: Mutex<()>,
    jobs_completed: AtomicU64,
    tuples_generated: AtomicU64,
    started: Instant,
    /// Set when a failed check halted generation in this run, even if recording it durably
    /// failed (the durable record is in the tuple store).
    halted: std::sync::atomic::AtomicBool,
    /// The next key digit the `insecure_tamper = "cope"` test cheat probes.
    cheat_column: std::sync::atomic::AtomicUsize,
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
            configured: cfg.tuples.pools.clone(),
            state: Mutex::new(BTreeMap::new()),
            gen_lock: Mutex::new(()),
            first_key: Mutex::new(()),
            jobs_completed: AtomicU64::new(0),
            tuples_generated: AtomicU64::new(0),
            started: Instant::now(),
            halted: std::sync::atomic::AtomicBool::new(false),
            cheat_column: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The lock a MASCOT job that makes a key share holds, so that such jobs run one at a time.
    pub(crate) fn first_key_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.first_key.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pool policy of `kind`: `[tuples.pools]` (by its key: `bit_triple`, `dabit`, `edabit`,
    /// `wide_edabit` for the binary kinds), else the default.
    pub(crate) fn policy(&self, kind: TupleKind) -> PoolPolicy {
        if let Some(p) = self.policies.get(&kind) {
            return *p;
        }
        self.configured
            .get(policy_key(kind))
            .copied()
            .unwrap_or_else(|| default_policy(kind, self.mascot))
    }

    /// The key digit (COPE column) the next cheating job probes (tests of cheating detection
    /// only).
    pub(crate) fn next_cheat_column(&self) -> usize {
        self.cheat_column.fetch_add(1, Ordering::Relaxed) % offline::COPE_COLUMNS
    }

    /// Stops generation for the rest of this run (see [`crate::generation_guard`]).
    pub(crate) fn halt_in_memory(&self) {
        self.halted.store(true, Ordering::SeqCst);
    }

    /// Lifts the in-memory halt (after a rekey cleared the durable one).
    pub(crate) fn resume(&self) {
        self.halted.store(false, Ordering::SeqCst);
    }

    /// Whether a failed check halted generation in this run.
    pub(crate) fn halted_in_memory(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
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

    /// Counts a finished generation job (a committed MASCOT job or a dealer chunk) of `tuples`
    /// tuples of `kind`: in this generator's statistics (`GET /v1/tuples`) and in `metrics`
    /// (`ephemeral_tuples_generated_total{kind}`).
    pub fn record_job(&self, metrics: &Metrics, kind: TupleKind, tuples: u64) {
        self.jobs_completed.fetch_add(1, Ordering::Relaxed);
        self.tuples_generated.fetch_add(tuples, Ordering::Relaxed);
        {
            let now = Instant::now();
            let mut st = self.lock_state();
            let ks = st.entry(kind).or_default();
            ks.generated = ks.generated.saturating_add(tuples);
            ks.generated_recently.push_back((now, tuples));
            ks.forget_old_generation(now);
        }
        metrics.record_generated(&kind_label(kind), tuples);
    }

    /// Tuples of `kind` generated since this party started, and the generation rate over the
    /// last minute (or since the start, if sooner), per second.
    pub fn generation(&self, kind: TupleKind) -> (u64, f64) {
        let now = Instant::now();
        let mut st = self.lock_state();
        let Some(ks) = st.get_mut(&kind) else {
            return (0, 0.0);
        };
        ks.forget_old_generation(now);
        let recent: u64 = ks.generated_recently.iter().map(|(_, n)| n).sum();
        let window = now
            .duration_since(self.started)
            .min(RATE_WINDOW)
            .as_secs_f64()
            .max(1.0);
        (ks.generated, recent as f64 / window)
    }

    /// This party's MAC key share under the dealer, if the dealer is on.
    pub fn dealer_mac_key_share(&self) -> Option<field::Fp> {
        self.seed
            .map(|seed| InsecureDealer::for_chunk(self.me, self.n, seed, "mac").mac_key_share())
    }

    /// This party's binary MAC key share under the dealer, if the dealer is on.
    pub fn dealer_binary_key_share(&self) -> Option<field::Gf128> {
        self.seed.and_then(|seed| {
            InsecureDealer::for_chunk(self.me, self.n, seed, "mac").binary_key_share()
        })
    }

    fn chunk_id(seed: &[u8; 32], kind: TupleKind, index: u64) -> ChunkId {
        let mut h = blake3::Hasher::new_derive_key("ephemeral insecure dealer chunk id v1");
        h.update(seed);
        h.update(kind_label(kind).as_bytes());
        h.update(&index.to_le_bytes());
        h.update(&dealer_chunk(kind).to_le_bytes());
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
        let mut kinds = all_kinds(self.n);
        for s in store.stats()? {
            if store::tuple::is_binary(s.kind) && !kinds.contains(&s.kind) {
                kinds.push(s.kind);
            }
        }
        for kind in kinds {
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
        metrics: &Metrics,
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
        let size = dealer_chunk(kind);
        let data = TupleData::draw(&mut dealer, kind, size as usize).map_err(|e| {
            TupleError::MalformedTuples {
                reason: e.to_string(),
            }
        })?;
        store.store_chunk(id, &data)?;
        store.activate_chunk(id)?;
        self.record_job(metrics, kind, size);
        Ok(id)
    }

    /// Generates the next chunk of `kind`.
    fn generate_next(
        &self,
        store: &dyn TupleStore,
        metrics: &Metrics,
        kind: TupleKind,
    ) -> Result<(), TupleError> {
        let Some(seed) = self.seed else {
            return Ok(());
        };
        let _g = self.gen_lock.lock().unwrap_or_else(|p| p.into_inner());
        let index = self.lock_state().entry(kind).or_default().next;
        let id = self.write_chunk(store, metrics, &seed, kind, index)?;
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
        metrics: &Metrics,
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
                self.write_chunk(store, metrics, &seed, r.kind, index)
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
    pub fn top_up(&self, store: &dyn TupleStore, metrics: &Metrics) -> Result<u64, TupleError> {
        if self.seed.is_none() {
            return Ok(0);
        }
        let mut written = 0;
        for (&kind, policy) in &self.policies {
            let stats = store.stats_of(kind)?;
            self.observe(kind, stats.consumed);
            let mut level = stats.available + stats.inactive;
            let mut chunks = 0;
            while level < policy.threshold && chunks < 64 {
                self.generate_next(store, metrics, kind)?;
                level += dealer_chunk(kind);
                chunks += 1;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Records that `consumed` tuples of `kind` were consumed so far (a sample for the
    /// consumption rate).
    pub(crate) fn observe(&self, kind: TupleKind, consumed: u64) {
        let mut st = self.lock_state();
        let ks = st.entry(kind).or_default();
        let now = Instant::now();
        ks.samples.push_back((now, consumed));
        while ks
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            ks.samples.pop_front();
        }
    }

    /// The pool policy of `kind` adjusted to its observed consumption: the threshold covers at
    /// least [`POOL_HORIZON`] of consumption at the rate of the last minute, and a job makes at
    /// least [`JOB_HORIZON`] of it (up to [`MAX_CHUNK_TUPLES`]). The configured policy is the
    /// floor, so an idle node keeps small pools and a busy one keeps up.
    pub(crate) fn sized_policy(&self, kind: TupleKind, consumed_now: u64) -> PoolPolicy {
        let base = self.policy(kind);
        let rate = self.rate(kind, consumed_now);
        let threshold = base
            .threshold
            .max((rate * POOL_HORIZON.as_secs_f64()) as u64);
        let batch = base
            .batch
            .max((rate * JOB_HORIZON.as_secs_f64()) as u64)
            .min(MAX_CHUNK_TUPLES.max(base.batch));
        PoolPolicy { threshold, batch }
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
/// request fails with `insufficient_tuples` (what a game may ask for is bounded by the game
/// memory limit long before).
const MAX_ON_DEMAND: u64 = 1 << 26;

/// How often party 0 repeats its progress report while a request's jobs run.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Largest MASCOT job party 0 runs for a waiting request: small enough that progress reports
/// (which keep the other parties waiting) come every few seconds.
const ON_DEMAND_JOB: u64 = 16_384;

impl NodeTuples<'_> {
    /// Party 0 with MASCOT: generates what `requests` lack beyond the pools, in jobs of at
    /// most [`ON_DEMAND_JOB`] tuples, `[tuples] parallel_jobs` at a time, reporting progress
    /// after each round of jobs and every [`HEARTBEAT`] while one runs. A halted generator or a
    /// failed job ends the wait with an error; tuples made before stay in the pool (nothing is
    /// lost or reused).
    fn generate_shortfall(
        &self,
        requests: &[ReservationRequest],
        report: &mut dyn FnMut(PrepProgress),
    ) -> Result<(), ApiError> {
        let mut want: BTreeMap<TupleKind, u64> = BTreeMap::new();
        for r in requests {
            *want.entry(r.kind).or_default() += r.count;
        }
        let mut jobs: VecDeque<(TupleKind, u64)> = VecDeque::new();
        for (&kind, &needed) in &want {
            let s = self.store.stats_of(kind).map_err(tuple_error)?;
            let mut missing = needed.saturating_sub(s.available);
            if missing > 0 {
                // At least a pool job's worth, so that the pool is not left empty for the next
                // request (a rekey, for one, needs a tuple it cannot wait for).
                missing = missing.max(self.generator.sized_policy(kind, s.consumed).batch);
            }
            if missing > MAX_ON_DEMAND {
                return Err(ApiError::new(
                    ErrorCode::InsufficientTuples,
                    format!(
                        "the request needs {missing} more {} than the pool holds, more than a \
                         party generates for one request ({MAX_ON_DEMAND}); split the work into \
                         smaller games",
                        kind_label(kind)
                    ),
                ));
            }
            while missing > 0 {
                let k = missing.min(on_demand_job(kind));
                jobs.push_back((kind, k));
                missing -= k;
            }
        }
        let needed: u64 = jobs.iter().map(|(_, k)| k).sum();
        if needed == 0 {
            return Ok(());
        }
        let started = Instant::now();
        let mut made = 0u64;
        // One job slot stays free for the pool keeper.
        let parallel = self
            .node
            .config
            .tuples
            .parallel_jobs()
            .min(
                self.node
                    .config
                    .limits
                    .max_concurrent_jobs
                    .saturating_sub(1),
            )
            .max(1);
        tracing::info!(
            needed,
            parallel,
            "a request waits for tuples: generating on demand"
        );
        let progress = |made: u64, kind: TupleKind| {
            let waited = started.elapsed().as_secs_f64();
            PrepProgress {
                needed,
                made,
                eta_secs: (made > 0 && waited > 0.0)
                    .then(|| (needed - made) as f64 / (made as f64 / waited)),
                kind: kind_label(kind),
                waited_secs: waited,
            }
        };
        report(progress(0, jobs[0].0));
        let mut failures = 0;
        while !jobs.is_empty() {
            self.node.refuse_if_halted()?;
            // The first job ever samples the MAC key share, the first binary job the binary
            // one: such a job runs alone (`Node::lead_job` also serializes them).
            let delta_missing = !matches!(self.store.binary_key_share(), Ok(Some(_)));
            let width = if self.store.mac_key_share().is_err()
                || (delta_missing && jobs.iter().any(|(k, _)| store::tuple::is_binary(*k)))
            {
                1
            } else {
                parallel.min(jobs.len())
            };
            let round: Vec<(TupleKind, u64)> = jobs.drain(..width).collect();
            let results: Vec<Result<(), crate::generation_guard::JobError>> =
                std::thread::scope(|scope| {
                    let handles: Vec<_> = round
                        .iter()
                        .map(|&(kind, count)| {
                            scope.spawn(move || self.node.lead_job(kind, count).map(|_| ()))
                        })
                        .collect();
                    // While the jobs run, a report every HEARTBEAT: the others' deadlines are
                    // for a silent party 0, not for one whose jobs are slow.
                    let mut last = Instant::now();
                    while !handles.iter().all(|h| h.is_finished()) {
                        std::thread::sleep(Duration::from_millis(20));
                        if last.elapsed() >= HEARTBEAT {
                            report(progress(made, round[0].0));
                            last = Instant::now();
                        }
                    }
                    handles
                        .into_iter()
                        .map(|h| {
                            h.join().unwrap_or_else(|_| {
                                Err(crate::generation_guard::JobError::other(
                                    "a generation thread panicked".to_string(),
                                ))
                            })
                        })
                        .collect()
                });
            let mut last_kind = round[0].0;
            for ((kind, count), r) in round.into_iter().zip(results) {
                last_kind = kind;
                match r {
                    Ok(()) => made += count,
                    Err(e) => {
                        if let Some(h) = self.node.generation_halt() {
                            return Err(crate::generation_guard::halted_error(&h));
                        }
                        // A party is gone: say which, now, instead of retrying without it.
                        let down = self.node.channels.unreachable();
                        if !down.is_empty() {
                            let list = down
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join(", ");
                            return Err(ApiError::limited(
                                ErrorCode::PeerUnavailable,
                                format!(
                                    "generating the {} this request needs failed: party {list} is not connected (down or unreachable); retry when it is back ({})",
                                    kind_label(kind),
                                    e.message
                                ),
                                2,
                            ));
                        }
                        // A lost connection or a busy job slot: retried a few times, as the
                        // pool keeper would; a failed check has halted generation above.
                        failures += 1;
                        if failures > 3 {
                            return Err(ApiError::new(
                                ErrorCode::InsufficientTuples,
                                format!(
                                    "not enough {} and generating more failed: {}; retry shortly",
                                    kind_label(kind),
                                    e.message
                                ),
                            ));
                        }
                        tracing::warn!(kind = %kind_label(kind), error = %e.message, "an on-demand generation job failed; retrying");
                        jobs.push_back((kind, count));
                        std::thread::sleep(Duration::from_millis(200 * failures));
                    }
                }
            }
            report(progress(made, jobs.front().map_or(last_kind, |j| j.0)));
        }
        Ok(())
    }
}

impl TupleSource for NodeTuples<'_> {
    fn reserve(&self, requests: &[ReservationRequest]) -> Result<Vec<Reservation>, ApiError> {
        self.reserve_waiting(requests, &mut |_| {})
    }

    fn reserve_waiting(
        &self,
        requests: &[ReservationRequest],
        report: &mut dyn FnMut(PrepProgress),
    ) -> Result<Vec<Reservation>, ApiError> {
        let requests: Vec<ReservationRequest> =
            requests.iter().filter(|r| r.count > 0).cloned().collect();
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // Make up a shortfall on the spot: with MASCOT, party 0 leads jobs while the request
        // waits (and says how far it got); with the dealer, every party derives chunks (bounded,
        // so that an absurd request fails instead of filling the disk).
        let mut rounds = 0u64;
        loop {
            match self.store.reserve(&requests) {
                Ok(r) => return Ok(r),
                Err(TupleError::Insufficient { .. })
                    if self.generator.mascot && self.node.me == 0 && rounds < 8 =>
                {
                    self.node.refuse_if_halted()?;
                    self.generate_shortfall(&requests, report)?;
                    rounds += 1;
                }
                Err(TupleError::Insufficient {
                    kind,
                    needed,
                    available,
                }) if self.generator.seed.is_some() && rounds < 4096 => {
                    let missing = needed.saturating_sub(available).max(1);
                    let chunks = missing.div_ceil(dealer_chunk(kind));
                    for _ in 0..chunks {
                        self.generator
                            .generate_next(self.store, &self.node.metrics, kind)
                            .map_err(tuple_error)?;
                    }
                    rounds += chunks;
                }
                Err(e) => return Err(tuple_error(e)),
            }
        }
    }

    fn epoch(&self) -> Result<store::StoreEpoch, ApiError> {
        self.store.epoch().map_err(tuple_error)
    }

    fn observe_epoch(&self, peer: PartyId, epoch: store::StoreEpoch) -> Result<(), ApiError> {
        self.store.observe_peer_epoch(peer, epoch).map_err(|e| {
            tracing::error!(peer, error = %e, "refusing a party whose tuple store went back in time");
            ApiError::new(ErrorCode::Conflict, e.to_string())
        })
    }

    fn apply(&self, reservations: &[Reservation]) -> Result<(), ApiError> {
        if reservations.is_empty() {
            return Ok(());
        }
        self.generator
            .ensure_chunks(self.store, &self.node.metrics, reservations)?;
        self.store
            .apply_reservations(reservations)
            .map_err(tuple_error)
    }
}

impl Node {
    /// The kinds this node keeps pools of and reports: every arithmetic kind
    /// ([`all_kinds`]) and every binary-domain kind this store has held (binary triples, daBits
    /// and the edaBit shapes its games used).
    pub(crate) fn pool_kinds(&self) -> Result<Vec<TupleKind>, ApiError> {
        let mut kinds = all_kinds(self.n);
        for s in self.tuples.stats().map_err(tuple_error)? {
            if store::tuple::is_binary(s.kind) && !kinds.contains(&s.kind) {
                kinds.push(s.kind);
            }
        }
        Ok(kinds)
    }

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
        for kind in self.pool_kinds()? {
            let s = self.tuples.stats_of(kind).map_err(tuple_error)?;
            let threshold = self.tuplegen.policy(kind).threshold;
            let (generated, generation_rate) = self.tuplegen.generation(kind);
            kinds.push(TupleKindStats {
                kind: kind_label(kind),
                available: s.available,
                inactive: s.inactive,
                consumed: s.consumed,
                consumption_rate: self.tuplegen.rate(kind, s.consumed),
                threshold,
                generated,
                generation_rate,
            });
        }
        Ok(TupleStatsResponse {
            party: self.me,
            generator: self.tuplegen.name().into(),
            kinds,
            jobs_completed: self.tuplegen.jobs_completed.load(Ordering::Relaxed),
            tuples_generated: self.tuplegen.tuples_generated.load(Ordering::Relaxed),
            halt: self
                .generation_halt()
                .as_ref()
                .map(crate::generation_guard::halt_info),
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
                            .map_err(|e| TupleError::MalformedTuples { reason: e.message })
                    } else {
                        Ok(0)
                    }
                } else {
                    node.tuplegen.top_up(&*node.tuples, &node.metrics)
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
                Ok(Ok(n)) if n > 0 => tracing::debug!(jobs = n, "tuple pools topped up"),
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

#[cfg(test)]
mod generation_tests {
    use super::*;

    fn config(tuples: crate::DevTuples<'_>) -> NodeConfig {
        let parties: Vec<(String, String)> = (0..2)
            .map(|i| {
                (
                    format!("http://127.0.0.1:{}", 7100 + i),
                    format!("127.0.0.1:{}", 7200 + i),
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        let text = crate::dev_config_text_with(0, &parties, dir.path(), "tok", tuples);
        std::fs::write(&path, text).unwrap();
        NodeConfig::load(&path).unwrap()
    }

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn jobs_are_counted_per_kind_in_stats_and_metrics() {
        let g = Generator::new(&config(crate::DevTuples::Mascot));
        assert_eq!(g.name(), "mascot");
        let metrics = Metrics::default();
        assert_eq!(g.generation(TupleKind::Triple), (0, 0.0));
        g.record_job(&metrics, TupleKind::Triple, 2_000);
        g.record_job(&metrics, TupleKind::Triple, 500);
        g.record_job(&metrics, TupleKind::InputMask(1), 300);
        let (n, rate) = g.generation(TupleKind::Triple);
        assert_eq!(n, 2_500);
        // Within the first second the window is one second.
        assert!(rate > 0.0 && rate <= 2_500.0, "{rate}");
        assert_eq!(g.generation(TupleKind::InputMask(1)).0, 300);
        assert_eq!(g.generation(TupleKind::Bit), (0, 0.0));
        assert_eq!(g.jobs_completed.load(Ordering::Relaxed), 3);
        assert_eq!(g.tuples_generated.load(Ordering::Relaxed), 2_800);
        let text = metrics.render();
        assert_eq!(
            sample(&text, "ephemeral_tuples_generated_total{kind=\"triple\"}"),
            Some(2_500.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                &format!(
                    "ephemeral_tuples_generated_total{{kind=\"{}\"}}",
                    kind_label(TupleKind::InputMask(1))
                )
            ),
            Some(300.0),
            "{text}"
        );
        assert!(!text.contains("kind=\"all\""), "{text}");
    }

    #[test]
    fn dealer_chunks_are_counted_per_kind() {
        let seed = "02".repeat(32);
        let g = Generator::new(&config(crate::DevTuples::InsecureDealer {
            seed_hex: &seed,
        }));
        assert_eq!(g.name(), "insecure-dealer");
        let dir = tempfile::tempdir().unwrap();
        let store = store::RedbTupleStore::open(dir.path().join("t.redb"), 0).unwrap();
        let metrics = Metrics::default();
        g.generate_next(&store, &metrics, TupleKind::Inverse)
            .unwrap();
        assert_eq!(g.generation(TupleKind::Inverse).0, DEALER_CHUNK);
        assert_eq!(
            sample(
                &metrics.render(),
                "ephemeral_tuples_generated_total{kind=\"inverse\"}"
            ),
            Some(DEALER_CHUNK as f64)
        );
    }
}
