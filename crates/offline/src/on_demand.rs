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

use crate::binary::{AuthBits, BinaryConfig, BinaryPrep};
use crate::edabits::EdaBitGen;
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
    mascot: Mascot,
    net: Network,
    buf: TupleBuffer,
    /// Headroom of the next shortfall, per kind.
    headroom: std::collections::BTreeMap<TupleKind, usize>,
    meter: PrepMeter,
    failed: Option<String>,
    /// The binary-domain generators, with [`OnDemandMascot::setup_mixed`].
    binary: Option<(BinaryPrep, EdaBitGen)>,
}

fn bit_shares(b: AuthBits) -> Result<BitShares, PrepError> {
    let (len, v, m) = b.into_parts();
    BitShares::from_parts(len, v, m)
        .ok_or_else(|| PrepError::Source("authenticated bits of inconsistent length".into()))
}

impl std::fmt::Debug for OnDemandMascot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OnDemandMascot(party {})", self.mascot.party())
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
            mascot,
            net,
            headroom: Default::default(),
            meter,
            failed: None,
            binary: None,
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
        let bin = BinaryPrep::setup(&mut s.net, bcfg)?;
        let net = s.net.stats();
        s.meter.update(|m| {
            m.time += started.elapsed();
            m.net = net;
        });
        s.buf.set_binary_key_share(bin.delta_share());
        s.binary = Some((bin, EdaBitGen::new()));
        Ok(s)
    }

    /// As `ensure`, for the binary kinds.
    fn ensure_binary(&mut self, kind: TupleKind, n: usize) -> Result<(), PrepError> {
        if let Some(reason) = &self.failed {
            return Err(PrepError::Source(format!(
                "preprocessing failed earlier in this run: {reason}"
            )));
        }
        let Some((bin, gen)) = self.binary.as_mut() else {
            return Err(PrepError::Unsupported(kind));
        };
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
        let started = Instant::now();
        let net = &mut self.net;
        let mascot = &mut self.mascot;
        let made: crate::Result<Result<(), PrepError>> = match kind {
            TupleKind::BitTriple => bin.triples(net, count).map(|t| {
                let t = BitTriples {
                    a: bit_shares(t.a)?,
                    b: bit_shares(t.b)?,
                    c: bit_shares(t.c)?,
                };
                self.buf.push_bit_triples(t)
            }),
            TupleKind::DaBit => gen
                .dabits(mascot, bin, net, count)
                .map(|d: DaBits| self.buf.push_dabits(d)),
            TupleKind::EdaBit { bits, extra } => gen
                .edabits(mascot, bin, net, count, bits, extra)
                .map(|e: EdaBits| self.buf.push_edabits(e)),
            TupleKind::WideEdaBit { bits, width } => gen
                .wide_edabits(mascot, bin, net, count, bits, width)
                .map(|e: WideEdaBits| self.buf.push_wide_edabits(e)),
            _ => Ok(Err(PrepError::Unsupported(kind))),
        };
        let stats = self.net.stats();
        self.meter.update(|m| {
            m.time += started.elapsed();
            m.net = stats;
            m.calls += 1;
        });
        match made {
            Ok(r) => {
                self.meter.update(|m| m.generated += count as u64);
                r
            }
            Err(e) => {
                let reason = e.to_string();
                self.failed = Some(reason.clone());
                Err(PrepError::Source(format!(
                    "binary-domain preprocessing failed: {reason}"
                )))
            }
        }
    }

    /// A handle on the cost of this source, readable after the source moved into an engine.
    pub fn meter(&self) -> PrepMeter {
        self.meter.clone()
    }

    /// Makes sure `n` tuples of `kind` are buffered, generating the shortfall with headroom.
    fn ensure(&mut self, kind: TupleKind, n: usize) -> Result<(), PrepError> {
        if let Some(reason) = &self.failed {
            return Err(PrepError::Source(format!(
                "MASCOT preprocessing failed earlier in this run: {reason}"
            )));
        }
        let have = self.buf.available(kind);
        if have >= n {
            return Ok(());
        }
        let headroom = self.headroom.entry(kind).or_insert(MIN_BATCH);
        let count = (n - have).max(*headroom);
        *headroom = (*headroom * 2).min(MAX_BATCH);
        let started = Instant::now();
        let made = self.mascot.generate(&mut self.net, kind, count);
        let net = self.net.stats();
        self.meter.update(|m| {
            m.time += started.elapsed();
            m.net = net;
            m.calls += 1;
        });
        let made = made.map_err(|e| {
            let reason = e.to_string();
            self.failed = Some(reason.clone());
            PrepError::Source(format!("MASCOT preprocessing failed: {reason}"))
        })?;
        self.meter.update(|m| m.generated += made.len() as u64);
        match (kind, made) {
            (TupleKind::Triple, Tuples::Triples(t)) => self.buf.push_triples(t),
            (TupleKind::Square, Tuples::Pairs(p)) => self.buf.push_squares(p),
            (TupleKind::Inverse, Tuples::Pairs(p)) => self.buf.push_inverses(p),
            (TupleKind::Bit, Tuples::Bits(b)) => {
                self.buf.push_bits(b);
                Ok(())
            }
            (TupleKind::InputMask(owner), Tuples::InputMasks(m)) => {
                self.buf.push_input_masks(owner, m)
            }
            _ => Err(PrepError::Source(format!(
                "MASCOT returned another kind than the {kind} asked for"
            ))),
        }
    }
}

impl Preprocessing for OnDemandMascot {
    fn mac_key_share(&self) -> Fp {
        self.mascot.mac_key_share()
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
        self.binary.as_ref().map(|(b, _)| b.delta_share())
    }
    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        self.ensure_binary(TupleKind::BitTriple, n)?;
        self.buf.bit_triples(n)
    }
    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        self.ensure_binary(TupleKind::DaBit, n)?;
        self.buf.dabits(n)
    }
    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        self.ensure_binary(TupleKind::EdaBit { bits, extra }, n)?;
        self.buf.edabits(n, bits, extra)
    }
    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        self.ensure_binary(TupleKind::WideEdaBit { bits, width }, n)?;
        self.buf.wide_edabits(n, bits, width)
    }
}
