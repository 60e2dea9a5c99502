//! Run statistics, and a preprocessing wrapper that measures the time spent producing tuples so
//! that online time can be reported apart from it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use field::Fp;
use net::PartyId;
use protocol::prep::{InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleCounts};
use protocol::ShareVec;

/// What one run of a program cost this party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmStats {
    /// Instructions executed.
    pub instructions: u64,
    /// DAG flushes (each ends with at most one batched reveal).
    pub flushes: u64,
    /// Wall time of the run, including any time the preprocessing source spent making tuples.
    pub elapsed: Duration,
    /// Communication rounds of the run.
    pub rounds: u64,
    /// Bytes this party sent to all peers.
    pub bytes_sent: u64,
    /// Tuples consumed by the run.
    pub tuples: TupleCounts,
    /// MAC checks run.
    pub mac_checks: u64,
    /// The most bytes the run held at once in its memories and registers (what
    /// [`crate::VmConfig::max_memory_bytes`] limits).
    pub peak_memory_bytes: u64,
    /// Accumulated time of `start_timer(i)`/`stop_timer(i)` per timer id.
    pub timers: BTreeMap<u32, Duration>,
}

/// Difference of tuple counters (`after − before`).
pub(crate) fn tuples_since(after: &TupleCounts, before: &TupleCounts) -> TupleCounts {
    after.since(before)
}

/// A [`Preprocessing`] source that adds the time spent in the wrapped source to a shared
/// counter, so that callers can subtract tuple generation (e.g. by the insecure dealer) from the
/// online time.
pub struct TimedPrep<P> {
    inner: P,
    nanos: Arc<AtomicU64>,
}

impl<P> TimedPrep<P> {
    pub fn new(inner: P) -> TimedPrep<P> {
        TimedPrep {
            inner,
            nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A handle that reads the accumulated time, usable after the source moved into an engine.
    pub fn timer(&self) -> PrepTimer {
        PrepTimer(self.nanos.clone())
    }

    fn timed<T>(&mut self, f: impl FnOnce(&mut P) -> T) -> T {
        let t = Instant::now();
        let r = f(&mut self.inner);
        self.nanos
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }
}

/// Reads the time a [`TimedPrep`] spent.
#[derive(Clone, Debug)]
pub struct PrepTimer(Arc<AtomicU64>);

impl PrepTimer {
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

impl<P: Preprocessing> Preprocessing for TimedPrep<P> {
    fn mac_key_share(&self) -> Fp {
        self.inner.mac_key_share()
    }
    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        self.timed(|p| p.triples(n))
    }
    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.timed(|p| p.squares(n))
    }
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        self.timed(|p| p.bits(n))
    }
    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.timed(|p| p.inverses(n))
    }
    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        self.timed(|p| p.input_masks(owner, n))
    }
    fn binary_key_share(&self) -> Option<field::Gf128> {
        self.inner.binary_key_share()
    }
    fn bit_triples(&mut self, n: usize) -> Result<protocol::prep::BitTriples, PrepError> {
        self.timed(|p| p.bit_triples(n))
    }
    fn dabits(&mut self, n: usize) -> Result<protocol::prep::DaBits, PrepError> {
        self.timed(|p| p.dabits(n))
    }
    fn edabits(
        &mut self,
        n: usize,
        bits: u32,
        extra: u32,
    ) -> Result<protocol::prep::EdaBits, PrepError> {
        self.timed(|p| p.edabits(n, bits, extra))
    }
    fn wide_edabits(
        &mut self,
        n: usize,
        bits: u32,
        width: u32,
    ) -> Result<protocol::prep::WideEdaBits, PrepError> {
        self.timed(|p| p.wide_edabits(n, bits, width))
    }
}
