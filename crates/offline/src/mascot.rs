//! The [`Mascot`] instance of one party: setup, the public generation calls, statistics.

use field::Fp;
use net::{Network, PartyId};
use protocol::prep::{InputMasks, Pairs, Triples, TupleKind};
use protocol::ShareVec;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::baseot;
use crate::cope::{self, CopeReceiver, CopeSender};
use crate::error::{OfflineError, Result};
use crate::kos::{self, KosReceiver, KosSender, KAPPA};
use crate::prg::{bits_of, FieldHash};
use crate::wire::{self, kind, Out, Transcript};

/// Version of the wire protocol, part of the setup handshake. 2: SoftSpokenOT extension (a
/// puncturing round at setup, κ/k bits of `c` per OT) instead of IKNP/KOS15's κ bits of `u`.
/// 3: COPE over base-2^k digits of the key (`cope`: the trees travel in the puncturing round,
/// κ/k field elements per value instead of κ).
const PROTOCOL_VERSION: u32 = 3;

/// Tunables. Every party must use the same values (checked at setup), except
/// [`MascotConfig::insecure_cheat`], which is this party's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MascotConfig {
    /// Statistical security parameter s (bits): OT-extension padding covers κ + s ≤ 384, the
    /// checks themselves fail to catch a cheater with probability about 2^−127. Between 40 and
    /// 128.
    pub security: u32,
    /// Tuples per batch (one run of the protocol with its checks). Memory grows linearly with
    /// it: about 60 KB per triple and peer at the peak. Rounds per batch are fixed (11 for
    /// triples), so larger batches amortise latency.
    pub batch_size: usize,
    /// The session id: 32 bytes that every party of one run (one job) agrees on and that no other
    /// run uses. It is hashed into the base-OT keys, every commitment and every coin, and checked
    /// at setup (a party with another session id is [`OfflineError::ConfigMismatch`]), so the
    /// messages of one session cannot be replayed in another. The node passes the job's channel
    /// id hashed ([`MascotConfig::for_channel`]; the channel id is itself a hash of the job's
    /// chunk id). The all-zero default is for tests and benchmarks only.
    pub session: [u8; 32],
    /// **INSECURE, for tests of cheating detection only.** When set, this party deviates from
    /// the protocol as described by [`InsecureCheat`]. Never set it in a deployment: it exists
    /// so that the node's tests can show that a cheating party makes a job abort. Not part of
    /// the setup check (it is this party's own behaviour); setup logs a warning when it is set.
    pub insecure_cheat: Option<InsecureCheat>,
}

/// **INSECURE, for tests only:** a deliberate deviation from MASCOT, to show that honest parties
/// detect it and abort. See [`MascotConfig::insecure_cheat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsecureCheat {
    /// As COPE sender (when its values get MACs under a peer's key share), this party adds 1 to
    /// its values in column `column` only (0 ≤ column < [`crate::COPE_COLUMNS`]) of the COPE
    /// correlation, towards the lowest-numbered other party h. This is the selective-failure
    /// attack on h's MAC key share: if digit `column` of h's α_h (bits k·column … k·column +
    /// k − 1, k = 128 / COPE_COLUMNS) is 0, h's receiver's shares do not change (the run
    /// completes with correct tuples, and the cheater learns that the digit is 0); otherwise
    /// h's MAC shares are off by 2^(k·column)·digit and the authentication check fails at every
    /// honest party ([`OfflineError::AuthenticationFailed`], or [`OfflineError::PeerAborted`]).
    /// With a uniform α_h a run aborts with probability 1 − 2^−k; an attacker probes one digit
    /// per run.
    CopeColumnError { column: usize },
    /// As COPE value holder, this party flips a byte of the consistency digest of its punctured
    /// trees (`cope`) towards the lowest-numbered other party h: h's setup refuses the trees
    /// ([`OfflineError::OtCheckFailed`] naming this party) and aborts, before any tuple.
    CopeTrees,
}

/// The COPE column that [`InsecureCheat::CopeColumnError`] corrupts in the offline crate's own
/// tests.
pub const INSECURE_CHEAT_COLUMN: usize = 0;

impl Default for MascotConfig {
    /// Security 40, batches of 1024, the all-zero session id (tests and benchmarks only: a node
    /// passes a session id per job) and no cheat.
    fn default() -> Self {
        MascotConfig {
            security: 40,
            batch_size: 1024,
            session: [0u8; 32],
            insecure_cheat: None,
        }
    }
}

impl MascotConfig {
    /// The default configuration with session id `session`.
    pub fn with_session(session: [u8; 32]) -> MascotConfig {
        MascotConfig {
            session,
            ..MascotConfig::default()
        }
    }

    /// The session id of a run over a gateway channel: BLAKE3 (key derivation, context
    /// `ephemeral/offline/session/v1`) of the channel's 16-byte id. Every party opens the same
    /// channel for a job and no two jobs share one, so this is a per-job session id.
    pub fn session_for_channel(channel: [u8; 16]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/session/v1");
        h.update(&channel);
        *h.finalize().as_bytes()
    }

    /// The default configuration with the session id of `net`'s gateway channel
    /// ([`MascotConfig::session_for_channel`]). A network that is not a gateway channel has no
    /// such id: [`OfflineError::InvalidArgument`] (pass a session with
    /// [`MascotConfig::with_session`] instead).
    pub fn for_channel(net: &Network) -> Result<MascotConfig> {
        let channel = net.channel_id().ok_or_else(|| {
            OfflineError::InvalidArgument(
                "the network is not a gateway channel, so it has no id to derive a session from"
                    .into(),
            )
        })?;
        Ok(MascotConfig::with_session(Self::session_for_channel(
            channel,
        )))
    }

    fn validate(&self) -> Result<()> {
        if !(40..=128).contains(&self.security) {
            return Err(OfflineError::InvalidArgument(format!(
                "security parameter {} is outside 40..=128",
                self.security
            )));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 16 {
            return Err(OfflineError::InvalidArgument(format!(
                "batch size {} is outside 1..=65536",
                self.batch_size
            )));
        }
        Ok(())
    }

    fn digest(&self, n: usize) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/config/v2");
        h.update(&PROTOCOL_VERSION.to_le_bytes());
        h.update(&(n as u64).to_le_bytes());
        h.update(&self.security.to_le_bytes());
        h.update(&(self.batch_size as u64).to_le_bytes());
        h.update(&self.session);
        *h.finalize().as_bytes()
    }
}

/// What this party's preprocessing has cost and produced so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfflineStats {
    /// Bytes this party sent to all peers (setup included).
    pub bytes_sent: u64,
    /// Bytes this party received from all peers.
    pub bytes_received: u64,
    /// Communication rounds.
    pub rounds: u64,
    /// Base OTs this party took part in, as sender or receiver.
    pub base_ots: u64,
    /// Extended OTs this party took part in, as sender or receiver (check padding included).
    pub ots: u64,
    /// Values authenticated with COPE, per ordered pair this party is part of.
    pub cope_values: u64,
    /// Batches run (each ends with a MAC check).
    pub batches: u64,
    pub triples: u64,
    pub squares: u64,
    pub bits: u64,
    pub inverses: u64,
    pub input_masks: u64,
}

/// Tuples of one kind, as [`Mascot::generate`] returns them.
#[derive(Debug, Clone)]
pub enum Tuples {
    Triples(Triples),
    /// Squares or inverse pairs.
    Pairs(Pairs),
    Bits(ShareVec),
    InputMasks(InputMasks),
}

impl Tuples {
    /// Number of tuples.
    pub fn len(&self) -> usize {
        match self {
            Tuples::Triples(t) => t.a.len(),
            Tuples::Pairs(p) => p.a.len(),
            Tuples::Bits(b) => b.len(),
            Tuples::InputMasks(m) => m.shares.len(),
        }
    }

    /// True when there is no tuple.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A test-only misbehaviour of this party, to show that cheating makes generation abort.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cheat {
    /// As OT-extension receiver towards the lowest peer, flip one OT's bit in half of the `u`
    /// columns: inconsistent choice bits (a wrong correlation in the OT extension).
    KosWrongCorrelation,
    /// As COPE sender towards the lowest peer, use `x + l + 1` in column l (a wrong COPE
    /// correlation).
    CopeWrongCorrelation,
    /// As Gilboa sender towards the lowest peer, use b + 1 in the `d`s of the first triple.
    GilboaWrongD,
    /// Add 1 to this party's share of the first c before authentication (a wrong triple).
    WrongTripleShare,
    /// Add 1 to this party's share of the first ρ in the sacrifice.
    WrongSacrificeShare,
    /// Add 1 to this party's MAC share of the first a (a wrong MAC).
    WrongMac,
    /// Add 1 to this party's σ in the MAC check.
    LieAboutSigma,
}

/// One party's MASCOT preprocessing: its MAC key share and, per peer, the OT-extension and COPE
/// state set up once by base OTs. See the crate docs for the protocol.
pub struct Mascot {
    pub(crate) me: PartyId,
    pub(crate) n: usize,
    pub(crate) alpha: Fp,
    pub(crate) cfg: MascotConfig,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) hash: FieldHash,
    /// `kos_send[p]`: this party is the OT-extension sender, p the receiver.
    pub(crate) kos_send: Vec<Option<KosSender>>,
    /// `kos_recv[p]`: this party is the receiver, p the sender.
    pub(crate) kos_recv: Vec<Option<KosReceiver>>,
    /// `cope_send[p]`: this party's values get MACs under p's key share.
    pub(crate) cope_send: Vec<Option<CopeSender>>,
    /// `cope_recv[p]`: p's values get MACs under this party's key share.
    pub(crate) cope_recv: Vec<Option<CopeReceiver>>,
    pub(crate) stats: OfflineStats,
    poisoned: Option<String>,
    #[cfg(test)]
    pub(crate) cheat: Option<Cheat>,
}

impl std::fmt::Debug for Mascot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mascot")
            .field("party", &self.me)
            .field("parties", &self.n)
            .field("config", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// Id of the OT-extension instance with `receiver` and `sender` (part of every hash tweak).
pub(crate) fn kos_instance(receiver: PartyId, sender: PartyId) -> u64 {
    ((receiver as u64) << 32) | sender as u64
}

impl Mascot {
    /// Setup: checks that all parties use the same configuration, takes `alpha` as this party's
    /// MAC key share (or samples a fresh one) and runs 2κ = 256 base OTs with every peer, as
    /// sender and as receiver (three rounds), then the punctured trees of the OT extensions and
    /// of COPE (one round).
    /// `net` may be any channel to the same parties;
    /// later calls can use other channels.
    pub fn setup(net: &mut Network, alpha: Option<Fp>, cfg: MascotConfig) -> Result<Mascot> {
        cfg.validate()?;
        let n = net.n_parties();
        let me = net.my_id();
        if n < 2 {
            return Err(OfflineError::InvalidArgument(
                "MASCOT needs at least two parties".into(),
            ));
        }
        if let Some(cheat) = cfg.insecure_cheat {
            tracing::warn!(
                party = me,
                ?cheat,
                "INSECURE: this MASCOT party deliberately cheats (tests of cheating detection only)"
            );
        }
        let mut rng = ChaCha20Rng::from_entropy();
        let alpha = alpha.unwrap_or_else(|| Fp::random(&mut rng));
        let before = net.stats();
        let r = Self::setup_inner(net, alpha, cfg, &mut rng);
        if let Err(e) = &r {
            if !matches!(e, OfflineError::PeerAborted { .. }) {
                wire::send_abort(net, e.abort_code());
            }
        }
        let (kos_send, kos_recv, cope_send, cope_recv) = r?;
        let spent = net.stats().since(&before);
        let stats = OfflineStats {
            bytes_sent: spent.bytes_sent,
            bytes_received: spent.bytes_received,
            rounds: spent.rounds,
            base_ots: 2 * 2 * KAPPA as u64 * (n as u64 - 1),
            ..OfflineStats::default()
        };
        Ok(Mascot {
            me,
            n,
            alpha,
            cfg,
            rng,
            hash: FieldHash::new(),
            kos_send,
            kos_recv,
            cope_send,
            cope_recv,
            stats,
            poisoned: None,
            #[cfg(test)]
            cheat: None,
        })
    }

    #[allow(clippy::type_complexity)]
    fn setup_inner(
        net: &mut Network,
        alpha: Fp,
        cfg: MascotConfig,
        rng: &mut ChaCha20Rng,
    ) -> Result<(
        Vec<Option<KosSender>>,
        Vec<Option<KosReceiver>>,
        Vec<Option<CopeSender>>,
        Vec<Option<CopeReceiver>>,
    )> {
        let n = net.n_parties();
        let me = net.my_id();
        let mut transcript = Transcript::new();
        let digest = cfg.digest(n);
        let ins = Out::new(net, kind::HELLO, digest.to_vec()).exchange(net, &mut transcript)?;
        for input in &ins {
            input.done()?;
            if input.bcast(32)?.arr32()? != digest {
                return Err(OfflineError::ConfigMismatch { party: input.peer });
            }
        }

        // As receiver from peer p: first κ choices are Δ of the OT extension in which this party
        // is the sender and p the receiver; the next κ are the bits of α (COPE with p as A).
        let alpha_bits = u128::from_le_bytes(bits_of(alpha));
        let mut deltas = vec![0u128; n];
        let choices: Vec<Vec<bool>> = (0..n)
            .map(|p| {
                if p == me {
                    return Vec::new();
                }
                let mut d = [0u8; 16];
                rng.fill_bytes(&mut d);
                deltas[p] = u128::from_le_bytes(d);
                (0..KAPPA)
                    .map(|i| (deltas[p] >> i) & 1 == 1)
                    .chain((0..KAPPA).map(|i| (alpha_bits >> i) & 1 == 1))
                    .collect()
            })
            .collect();
        let counts = vec![2 * KAPPA; n];
        let ots = baseot::run(net, &cfg.session, &mut transcript, &choices, &counts, rng)?;

        let mut kos_send = Vec::with_capacity(n);
        let mut kos_recv = Vec::with_capacity(n);
        let mut cope_send = Vec::with_capacity(n);
        let mut cope_trees = Vec::with_capacity(n);
        for (p, &delta) in deltas.iter().enumerate() {
            if p == me {
                kos_send.push(None);
                kos_recv.push(None);
                cope_send.push(None);
                cope_trees.push(Vec::new());
                continue;
            }
            let (sent, got) = (&ots.sent[p], &ots.received[p]);
            kos_recv.push(Some(KosReceiver::new(&sent[..KAPPA], kos_instance(me, p))));
            let mut cope = CopeSender::new(&sent[KAPPA..], cope::instance(me, p));
            let mut trees = cope.take_puncture();
            if cfg.insecure_cheat == Some(InsecureCheat::CopeTrees) && p == usize::from(me == 0) {
                if let Some(last) = trees.last_mut() {
                    *last ^= 1;
                }
            }
            cope_trees.push(trees);
            cope_send.push(Some(cope));
            kos_send.push(Some(kos::SenderSeed {
                delta,
                keys: &got[..KAPPA],
                instance: kos_instance(p, me),
            }));
        }
        // One more round: the punctured trees of the OT extensions (SoftSpokenOT, `kos`) and of
        // COPE (`cope`), in one message per peer.
        let (kos_send, trees) = kos::puncture_with(
            net,
            &mut transcript,
            &mut kos_recv,
            kos_send,
            cope_trees,
            cope::PUNCTURE_BYTES,
        )?;
        let mut cope_recv = Vec::with_capacity(n);
        for (p, msg) in trees.iter().enumerate() {
            if p == me {
                cope_recv.push(None);
                continue;
            }
            let keys = &ots.received[p][KAPPA..];
            let r = CopeReceiver::new(alpha, keys, cope::instance(p, me), msg)
                .ok_or(OfflineError::OtCheckFailed { peer: p as PartyId })?;
            cope_recv.push(Some(r));
        }
        Ok((kos_send, kos_recv, cope_send, cope_recv))
    }

    /// This party's share α_i of the global MAC key α = Σ α_i.
    pub fn mac_key_share(&self) -> Fp {
        self.alpha
    }

    /// This party's id.
    pub fn party(&self) -> PartyId {
        self.me
    }

    /// Number of parties.
    pub fn n_parties(&self) -> usize {
        self.n
    }

    /// The configuration in force.
    pub fn config(&self) -> MascotConfig {
        self.cfg
    }

    /// What has been spent and produced so far.
    pub fn stats(&self) -> OfflineStats {
        self.stats
    }

    /// Whether an earlier error has disabled this instance.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Runs `f`, counting its traffic; on error, tells the peers (unless a peer aborted first)
    /// and poisons the instance.
    fn guarded<T>(
        &mut self,
        net: &mut Network,
        f: impl FnOnce(&mut Self, &mut Network) -> Result<T>,
    ) -> Result<T> {
        if let Some(why) = &self.poisoned {
            return Err(OfflineError::Aborted(why.clone()));
        }
        if net.n_parties() != self.n || net.my_id() != self.me {
            return Err(OfflineError::InvalidArgument(format!(
                "this instance is party {} of {}, the network is party {} of {}",
                self.me,
                self.n,
                net.my_id(),
                net.n_parties()
            )));
        }
        let before = net.stats();
        let r = f(self, net);
        let spent = net.stats().since(&before);
        self.stats.bytes_sent += spent.bytes_sent;
        self.stats.bytes_received += spent.bytes_received;
        self.stats.rounds += spent.rounds;
        if let Err(e) = &r {
            self.poisoned = Some(e.to_string());
            if !matches!(e, OfflineError::PeerAborted { .. }) {
                wire::send_abort(net, e.abort_code());
            }
        }
        r
    }

    /// `n` multiplication triples (`[a]`, `[b]`, `[c]`) with c = a·b.
    pub fn triples(&mut self, net: &mut Network, n: usize) -> Result<Triples> {
        self.guarded(net, |m, net| {
            let mut out = Triples::default();
            let mut done = 0;
            while done < n {
                let k = (n - done).min(m.cfg.batch_size);
                let t = m.triple_batch(net, k)?;
                out.a.extend(&t.a);
                out.b.extend(&t.b);
                out.c.extend(&t.c);
                done += k;
            }
            m.stats.triples += n as u64;
            Ok(out)
        })
    }

    /// `n` square pairs (`[a]`, `[b]`) with b = a².
    pub fn squares(&mut self, net: &mut Network, n: usize) -> Result<Pairs> {
        self.guarded(net, |m, net| {
            let mut out = Pairs::default();
            let mut done = 0;
            while done < n {
                let k = (n - done).min(m.cfg.batch_size);
                let p = m.square_batch(net, k)?;
                out.a.extend(&p.a);
                out.b.extend(&p.b);
                done += k;
            }
            m.stats.squares += n as u64;
            Ok(out)
        })
    }

    /// `n` shared random bits b ∈ {0, 1}.
    pub fn bits(&mut self, net: &mut Network, n: usize) -> Result<ShareVec> {
        self.guarded(net, |m, net| {
            let mut out = ShareVec::with_capacity(n);
            while out.len() < n {
                let k = (n - out.len()).min(m.cfg.batch_size);
                let b = m.bit_batch(net, k)?;
                let take = b.len().min(n - out.len());
                out.extend(&b.slice(0..take));
            }
            m.stats.bits += n as u64;
            Ok(out)
        })
    }

    /// `n` inverse pairs (`[a]`, `[b]`) with a·b = 1.
    pub fn inverses(&mut self, net: &mut Network, n: usize) -> Result<Pairs> {
        self.guarded(net, |m, net| {
            let mut out = Pairs::default();
            while out.a.len() < n {
                let k = (n - out.a.len()).min(m.cfg.batch_size);
                let p = m.inverse_batch(net, k)?;
                let take = p.a.len().min(n - out.a.len());
                out.a.extend(&p.a.slice(0..take));
                out.b.extend(&p.b.slice(0..take));
            }
            m.stats.inverses += n as u64;
            Ok(out)
        })
    }

    /// `n` input masks `[r]` of party `owner`; `clear` is `Some(r)` on the owner only.
    pub fn input_masks(
        &mut self,
        net: &mut Network,
        owner: PartyId,
        n: usize,
    ) -> Result<InputMasks> {
        if owner >= self.n {
            return Err(OfflineError::InvalidArgument(format!(
                "no party {owner} among {} parties",
                self.n
            )));
        }
        self.guarded(net, |m, net| {
            let mut shares = ShareVec::with_capacity(n);
            let mut clear = (owner == m.me).then(|| Vec::with_capacity(n));
            let mut done = 0;
            while done < n {
                let k = (n - done).min(m.cfg.batch_size);
                let b = m.mask_batch(net, owner, k)?;
                shares.extend(&b.shares);
                if let (Some(all), Some(mine)) = (clear.as_mut(), b.clear) {
                    all.extend_from_slice(&mine);
                }
                done += k;
            }
            m.stats.input_masks += n as u64;
            Ok(InputMasks { shares, clear })
        })
    }

    /// `n` tuples of `kind`, for a generator that schedules jobs by kind.
    pub fn generate(&mut self, net: &mut Network, kind: TupleKind, n: usize) -> Result<Tuples> {
        Ok(match kind {
            TupleKind::Triple => Tuples::Triples(self.triples(net, n)?),
            TupleKind::Square => Tuples::Pairs(self.squares(net, n)?),
            TupleKind::Bit => Tuples::Bits(self.bits(net, n)?),
            TupleKind::Inverse => Tuples::Pairs(self.inverses(net, n)?),
            TupleKind::InputMask(owner) => Tuples::InputMasks(self.input_masks(net, owner, n)?),
            TupleKind::BitTriple
            | TupleKind::DaBit
            | TupleKind::EdaBit { .. }
            | TupleKind::WideEdaBit { .. }
            | TupleKind::BinaryKey => {
                return Err(OfflineError::InvalidArgument(format!(
                    "MASCOT does not generate {kind} (binary-domain preprocessing)"
                )))
            }
        })
    }
}
