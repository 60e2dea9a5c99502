//! [`OnDemandMascot`]: MASCOT as a [`Preprocessing`] source that generates tuples while the
//! computation runs, for one-shot runs of N local parties (`ephemeral run`, `ephemeral demo`, the
//! end-to-end benchmarks).
//!
//! **Lock-step generation.** Every party of a run draws the same kinds in the same order and
//! amounts (the online protocol guarantees it). So when one party's buffer of a kind runs short,
//! every party's does, at the same draw: each then runs one MASCOT call for that kind on the
//! *preprocessing channel* — a network of its own, so that preprocessing and online traffic are
//! counted apart — and all of them meet there. No coordination message is needed.
//!
//! **Workers.** [`OnDemandMascot::add_worker`] adds generators, each a MASCOT instance on a
//! further channel of its own, with this party's MAC key share and a session derived from the
//! first one's. A shortfall of MASCOT tuples of at least 2·[`MIN_BATCH`] is split into
//! equal parts, one per worker, made in parallel threads and buffered in worker order (binary-domain
//! kinds stay on the first worker: see `min_part`); every party splits the
//! same way, so each worker stays in lock step with its peers. A failure in any part fails the
//! whole shortfall: nothing of it is buffered.
//!
//! **Batches.** A shortfall is generated with some headroom: at least [`MIN_BATCH`] tuples, and
//! each further shortfall of the same kind doubles the headroom up to [`MAX_BATCH`], so that a
//! program that draws small amounts often costs few MASCOT batches, while a run wastes at most
//! about as many tuples as it used.
//!
//! **Binary domain.** [`OnDemandMascot::setup_mixed`] also sets up a [`BinaryPrep`] (its own
//! Δ_i) on the same preprocessing channel, after MASCOT's setup; the source then serves the
//! binary key share, binary triples, daBits and (loose) edaBits ([`crate::edabits`]) on demand in
//! the same lock-step way. [`OnDemandMascot::setup`] keeps the arithmetic-only behaviour (the
//! binary kinds report [`PrepError::Unsupported`]).
//!
//! **Failure.** A MASCOT error (a failed check, a peer's abort, a lost connection) poisons the
//! source: it is returned as [`PrepError::Source`] and every later draw fails too, so the engine
//! aborts the run. No tuple of a failed call is ever served ([`crate::Mascot`]'s invariant).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use field::{Fp, Gf128};
use net::{NetStats, Network, PartyId};
use protocol::binary::BitShares;
use protocol::prep::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleBuffer,
    TupleKind, WideEdaBits,
};
use protocol::ShareVec;

use crate::binary::{AuthBits, BinaryConfig, BinaryPrep, BinaryTriples};
use crate::edabits::EdaBitGen;
use crate::error::OfflineError;
use crate::mascot::{Mascot, MascotConfig, Tuples};

/// The fewest tuples one shortfall generates.
pub const MIN_BATCH: usize = 1024;
/// The most headroom one shortfall adds beyond what was asked.
pub const MAX_BATCH: usize = 1 << 16;

/// What a run's preprocessing cost so far: readable through a [`PrepMeter`] while the source is
/// inside an engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrepPhase {
    /// Wall time spent in setup and generation.
    pub time: Duration,
    /// Traffic of the preprocessing channel (setup included).
    pub net: NetStats,
    /// MASCOT calls run (one per shortfall).
    pub calls: u64,
    /// Tuples generated, and of them those still unused.
    pub generated: u64,
}

/// A shared handle on a source's [`PrepPhase`].
#[derive(Debug, Clone, Default)]
pub struct PrepMeter(Arc<Mutex<PrepPhase>>);

impl PrepMeter {
    /// The cost so far.
    pub fn read(&self) -> PrepPhase {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut PrepPhase)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// See the module docs.
pub struct OnDemandMascot {
    /// The generators, at least one; worker 0 was set up first and its keys are everyone's.
    workers: Vec<Worker>,
    /// The configuration of worker 0, from which the others' sessions are derived.
    cfg: MascotConfig,
    buf: TupleBuffer,
    /// Headroom of the next shortfall, per kind.
    headroom: std::collections::BTreeMap<TupleKind, usize>,
    meter: PrepMeter,
    failed: Option<String>,
}

/// One generator: a MASCOT instance (and, for worker 0 of a mixed source, a binary-domain one) on
/// a channel of its own. All workers of a party share its MAC key share α_i, so their tuples are
/// interchangeable; their sessions differ, so no message of one is valid in another.
struct Worker {
    mascot: Mascot,
    net: Network,
    binary: Option<(BinaryPrep, EdaBitGen)>,
}

/// What one worker made for one shortfall.
enum Made {
    Arith(Tuples),
    BitTriples(BinaryTriples),
    DaBits(DaBits),
    EdaBits(EdaBits),
    Wide(WideEdaBits),
}

impl Worker {
    /// `count` tuples of `kind`. Binary-domain kinds only on a worker with a binary instance
    /// ([`OnDemandMascot::ensure`] refuses them up front on a source without one, and never
    /// gives them to another worker).
    fn generate(&mut self, kind: TupleKind, count: usize) -> crate::Result<Made> {
        let net = &mut self.net;
        let mascot = &mut self.mascot;
        if !kind.is_binary() {
            return mascot.generate(net, kind, count).map(Made::Arith);
        }
        let Some((bin, gen)) = self.binary.as_mut() else {
            return Err(OfflineError::InvalidArgument(format!(
                "{kind} asked of a generation worker without a binary-domain instance"
            )));
        };
        Ok(match kind {
            TupleKind::DaBit => Made::DaBits(gen.dabits(mascot, bin, net, count)?),
            TupleKind::EdaBit { bits, extra } => {
                Made::EdaBits(gen.edabits(mascot, bin, net, count, bits, extra)?)
            }
            TupleKind::WideEdaBit { bits, width } => {
                Made::Wide(gen.wide_edabits(mascot, bin, net, count, bits, width)?)
            }
            _ => Made::BitTriples(bin.triples(net, count)?),
        })
    }
}

fn bit_shares(b: AuthBits) -> Result<BitShares, PrepError> {
    let (len, v, m) = b.into_parts();
    BitShares::from_parts(len, v, m)
        .ok_or_else(|| PrepError::Source("authenticated bits of inconsistent length".into()))
}

/// The session id of worker `w` (> 0) of a source whose worker 0 has `session`: BLAKE3 in
/// key-derivation mode, so distinct per worker and unrelated to any other run's.
fn worker_session(session: &[u8; 32], w: usize) -> [u8; 32] {
    let mut input = session.to_vec();
    input.extend_from_slice(&(w as u64).to_le_bytes());
    blake3::derive_key("ephemeral/offline/on-demand-worker/v1", &input)
}

/// The smallest part of a shortfall of `kind` worth giving a worker of its own: [`MIN_BATCH`]
/// for MASCOT's kinds; binary-domain kinds are never split (`usize::MAX`). Their batches take
/// many short rounds (an edaBit batch one per adder bit), and when the parties share the cores,
/// as in a local run, every extra runnable thread lengthens each round's wait for the peer: on the
/// 2-core benchmark machine two workers made 10^4 comparisons end to end 12.8 → 14.9–17.0 s
/// slower (docs/BENCHMARKS.md), while they made 10^5 products faster. Splitting edaBits would
/// also shrink their batches below the size at which the cut-and-choose bucket grows.
fn min_part(kind: TupleKind) -> usize {
    if kind.is_binary() {
        usize::MAX
    } else {
        MIN_BATCH
    }
}

/// Splits a shortfall of `count` among `workers`: equal parts of at least `min` each (one part
/// when it is too small to split), the remainder on the last. Every party splits the same way,
/// so each worker stays in lock step with its peers.
fn split(count: usize, workers: usize, min: usize) -> Vec<usize> {
    let k = workers.min(count / min.max(1)).max(1);
    let mut parts = vec![count / k; k];
    parts[k - 1] += count % k;
    parts
}

impl std::fmt::Debug for OnDemandMascot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OnDemandMascot(party {}, {} workers)",
            self.workers[0].mascot.party(),
            self.workers.len()
        )
    }
}

impl OnDemandMascot {
    /// Runs MASCOT's setup on `net` (the preprocessing channel, kept for every later call) with a
    /// fresh MAC key share. All parties pass the same `cfg` (in particular the same session id,
    /// used by no other run).
    pub fn setup(mut net: Network, cfg: MascotConfig) -> crate::Result<OnDemandMascot> {
        let started = Instant::now();
        let mascot = Mascot::setup(&mut net, None, cfg)?;
        let meter = PrepMeter::default();
        meter.update(|m| {
            m.time += started.elapsed();
            m.net = net.stats();
        });
        Ok(OnDemandMascot {
            buf: TupleBuffer::new(mascot.mac_key_share()),
            workers: vec![Worker {
                mascot,
                net,
                binary: None,
            }],
            cfg,
            headroom: Default::default(),
            meter,
            failed: None,
        })
    }

    /// As [`OnDemandMascot::setup`], then [`BinaryPrep::setup`] on the same channel (every party
    /// passes the same `bcfg`): the source also serves binary triples, daBits and edaBits.
    pub fn setup_mixed(
        net: Network,
        cfg: MascotConfig,
        bcfg: BinaryConfig,
    ) -> crate::Result<OnDemandMascot> {
        let mut s = Self::setup(net, cfg)?;
        let started = Instant::now();
        let w = &mut s.workers[0];
        let bin = BinaryPrep::setup(&mut w.net, bcfg)?;
        s.buf.set_binary_key_share(bin.delta_share());
        w.binary = Some((bin, EdaBitGen::new()));
        let net = s.net_stats();
        s.meter.update(|m| {
            m.time += started.elapsed();
            m.net = net;
        });
        Ok(s)
    }

    /// Adds a worker on `net`, a further preprocessing channel between the same parties: shortfalls
    /// of MASCOT tuples of at least 2·[`MIN_BATCH`] are then split among the workers and generated
    /// in parallel, one thread each. Its MASCOT instance has this party's MAC key share and a
    /// session derived from worker 0's and its index (binary-domain kinds stay on worker 0, so it
    /// needs no binary instance). Every party adds the same number of workers, in the same order,
    /// before the first draw.
    pub fn add_worker(&mut self, mut net: Network) -> crate::Result<()> {
        let started = Instant::now();
        let cfg = MascotConfig {
            session: worker_session(&self.cfg.session, self.workers.len()),
            ..self.cfg
        };
        let mascot = Mascot::setup(&mut net, Some(self.mac_key_share()), cfg)?;
        self.workers.push(Worker {
            mascot,
            net,
            binary: None,
        });
        let net = self.net_stats();
        self.meter.update(|m| {
            m.time += started.elapsed();
            m.net = net;
        });
        Ok(())
    }

    /// The traffic of every worker's channel: bytes and frames summed, rounds of the busiest
    /// channel (the workers' rounds run at the same time).
    fn net_stats(&self) -> NetStats {
        let mut total = NetStats::default();
        for w in &self.workers {
            let s = w.net.stats();
            total.rounds = total.rounds.max(s.rounds);
            total.frames_sent += s.frames_sent;
            total.bytes_sent += s.bytes_sent;
            total.bytes_received += s.bytes_received;
        }
        total
    }

    /// A handle on the cost of this source, readable after the source moved into an engine.
    pub fn meter(&self) -> PrepMeter {
        self.meter.clone()
    }

    /// Makes sure `n` tuples of `kind` are buffered, generating the shortfall with headroom, split
    /// among the workers.
    fn ensure(&mut self, kind: TupleKind, n: usize) -> Result<(), PrepError> {
        if let Some(reason) = &self.failed {
            return Err(PrepError::Source(format!(
                "preprocessing failed earlier in this run: {reason}"
            )));
        }
        if kind.is_binary() && self.workers[0].binary.is_none() {
            return Err(PrepError::Unsupported(kind));
        }
        let have = self.buf.available(kind);
        if have >= n {
            return Ok(());
        }
        let headroom = self.headroom.entry(kind).or_insert(MIN_BATCH);
        // edaBits: at most EDABIT_BATCH of headroom (one adder batch).
        let cap = match kind {
            TupleKind::EdaBit { .. } | TupleKind::WideEdaBit { .. } => crate::edabits::EDABIT_BATCH,
            _ => MAX_BATCH,
        };
        let count = (n - have).max(*headroom);
        *headroom = (*headroom * 2).min(cap);
        let parts = split(count, self.workers.len(), min_part(kind));
        let started = Instant::now();
        let made: Vec<crate::Result<Made>> = if parts.len() == 1 {
            vec![self.workers[0].generate(kind, count)]
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = self
                    .workers
                    .iter_mut()
                    .zip(&parts)
                    .map(|(w, &c)| scope.spawn(move || w.generate(kind, c)))
                    .collect();
                running
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(OfflineError::InvalidArgument(
                                "a preprocessing worker thread panicked".into(),
                            ))
                        })
                    })
                    .collect()
            })
        };
        let net = self.net_stats();
        self.meter.update(|m| {
            m.time += started.elapsed();
            m.net = net;
            m.calls += 1;
        });
        // Nothing of a shortfall is buffered unless every part of it was made: a failure
        // poisons the source, whichever worker it hit.
        let mut outputs = Vec::with_capacity(made.len());
        for m in made {
            match m {
                Ok(out) => outputs.push(out),
                Err(e) => {
                    let reason = e.to_string();
                    self.failed = Some(reason.clone());
                    let domain = if kind.is_binary() {
                        "binary-domain"
                    } else {
                        "MASCOT"
                    };
                    return Err(PrepError::Source(format!(
                        "{domain} preprocessing failed: {reason}"
                    )));
                }
            }
        }
        self.meter.update(|m| m.generated += count as u64);
        for out in outputs {
            self.push(kind, out)?;
        }
        Ok(())
    }

    /// Buffers what a worker made for `kind`.
    fn push(&mut self, kind: TupleKind, made: Made) -> Result<(), PrepError> {
        match (kind, made) {
            (TupleKind::Triple, Made::Arith(Tuples::Triples(t))) => self.buf.push_triples(t),
            (TupleKind::Square, Made::Arith(Tuples::Pairs(p))) => self.buf.push_squares(p),
            (TupleKind::Inverse, Made::Arith(Tuples::Pairs(p))) => self.buf.push_inverses(p),
            (TupleKind::Bit, Made::Arith(Tuples::Bits(b))) => {
                self.buf.push_bits(b);
                Ok(())
            }
            (TupleKind::InputMask(owner), Made::Arith(Tuples::InputMasks(m))) => {
                self.buf.push_input_masks(owner, m)
            }
            (TupleKind::BitTriple, Made::BitTriples(t)) => self.buf.push_bit_triples(BitTriples {
                a: bit_shares(t.a)?,
                b: bit_shares(t.b)?,
                c: bit_shares(t.c)?,
            }),
            (TupleKind::DaBit, Made::DaBits(d)) => self.buf.push_dabits(d),
            (TupleKind::EdaBit { .. }, Made::EdaBits(e)) => self.buf.push_edabits(e),
            (TupleKind::WideEdaBit { .. }, Made::Wide(e)) => self.buf.push_wide_edabits(e),
            _ => Err(PrepError::Source(format!(
                "the generator returned another kind than the {kind} asked for"
            ))),
        }
    }
}

impl Preprocessing for OnDemandMascot {
    fn mac_key_share(&self) -> Fp {
        self.workers[0].mascot.mac_key_share()
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
        self.workers[0]
            .binary
            .as_ref()
            .map(|(b, _)| b.delta_share())
    }
    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        self.ensure(TupleKind::BitTriple, n)?;
        self.buf.bit_triples(n)
    }
    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        self.ensure(TupleKind::DaBit, n)?;
        self.buf.dabits(n)
    }
    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        self.ensure(TupleKind::EdaBit { bits, extra }, n)?;
        self.buf.edabits(n, bits, extra)
    }
    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        self.ensure(TupleKind::WideEdaBit { bits, width }, n)?;
        self.buf.wide_edabits(n, bits, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortfalls_split_into_parts_of_at_least_a_minimum_batch() {
        let m = MIN_BATCH;
        assert_eq!(split(100, 1, m), vec![100]);
        assert_eq!(split(100, 4, m), vec![100]);
        assert_eq!(split(2 * m - 1, 2, m), vec![2 * m - 1]);
        assert_eq!(split(2 * m, 2, m), vec![m, m]);
        assert_eq!(split(5001, 2, m), vec![2500, 2501]);
        assert_eq!(split(3 * m, 4, m), vec![m; 3]);
        assert_eq!(split(10_000, 2, 6144), vec![10_000]);
        for (count, w, min) in [
            (1usize, 3usize, m),
            (4096, 3, m),
            (65536, 4, m),
            (70001, 2, 6144),
        ] {
            let parts = split(count, w, min);
            assert_eq!(parts.iter().sum::<usize>(), count);
            assert!(parts.len() <= w);
            assert!(parts.len() == 1 || parts.iter().all(|&c| c >= min));
        }
    }

    #[test]
    fn only_mascot_kinds_are_split() {
        assert_eq!(min_part(TupleKind::Triple), MIN_BATCH);
        assert_eq!(min_part(TupleKind::InputMask(1)), MIN_BATCH);
        for kind in [
            TupleKind::BitTriple,
            TupleKind::DaBit,
            TupleKind::EdaBit {
                bits: 64,
                extra: 41,
            },
            TupleKind::WideEdaBit {
                bits: 65,
                width: 111,
            },
        ] {
            assert_eq!(split(1 << 20, 4, min_part(kind)), vec![1 << 20], "{kind}");
        }
    }

    #[test]
    fn every_worker_has_its_own_session() {
        let s = [7u8; 32];
        let a = worker_session(&s, 1);
        let b = worker_session(&s, 2);
        assert_ne!(a, s);
        assert_ne!(a, b);
        assert_eq!(a, worker_session(&s, 1));
        assert_ne!(a, worker_session(&[8u8; 32], 1));
    }
}
