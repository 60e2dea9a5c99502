//! Actively secure authenticated bits and binary (AND) triples from OT: multiparty TinyOT with a
//! SPDZ-style global MAC key, after Frederiksen, Keller, Orsini, Scholl, "A Unified Approach to
//! MPC with Preprocessing using OT" (ASIACRYPT 2015, ePrint 2015/901, "FKOS15"), for N ≥ 2
//! parties, secure with abort against N − 1 corruptions.
//!
//! # Sharing
//!
//! Party i holds a key share Δ_i ∈ GF(2^128), sampled at [`BinaryPrep::setup`] independently of
//! the prime-field α. A bit x is shared as bits x_i and MAC shares m_i ∈ GF(2^128) with
//! `⊕_i x_i = x` and `⊕_i m_i = x·Δ`, Δ = ⊕_i Δ_i ([`AuthBits`]; KOS rows and field elements are
//! related as in `hash`'s module docs: a block is the little-endian `u128` of its bytes).
//!
//! # Authenticated bits (correlated OT under a global key)
//!
//! Setup: for every ordered pair, κ = 128 base OTs in which the KOS sender j uses the bits of
//! **its one Δ_j** as choice bits towards every receiver, so that a KOS extension
//! (`kos`) with receiver i's choice bits x gives `t_k = q_k ⊕ x_k·Δ_j` (t at i, q at j).
//! Party i's bits x^i_k then get the MAC shares `x^i_k·Δ_i ⊕ ⊕_{j≠i} t_{ik}` (at i) and `q_{jk}`
//! (at every j), which XOR to x^i_k·Δ; the sharing of `x_k = ⊕_i x^i_k` is the XOR of these, so
//! party i's MAC share of bit k is `x^i_k·Δ_i ⊕ ⊕_{j≠i} (t_{ijk} ⊕ q_{jik})`.
//!
//! Three things can go wrong, and each is caught before anything is output:
//! - a receiver uses different choice bits in different columns of one extension: the KOS
//!   correlation check ([`OfflineError::OtCheckFailed`]);
//! - a receiver uses different (internally consistent) choice bits towards different senders,
//!   or a sender uses a different Δ_j towards different receivers: the **authentication check**.
//!   Every batch authenticates 128 extra random bits per party (the dummies d_l) and, with
//!   coefficients χ_k from a coin opened after the extension was fixed, opens
//!   `y = Σ_k χ_k·x_k ⊕ Σ_l X^l·d_l` and MAC-checks it (`check`, authentication list:
//!   [`OfflineError::AuthenticationFailed`]). Inconsistent choice bits x ≠ x' of party i towards
//!   honest j leave an error `Σ_k χ_k (x_k ⊕ x'_k)·Δ_j` with an honest key share; an
//!   inconsistent Δ_j (Δ towards honest h₀, Δ ⊕ e towards honest h₁) leaves `e·y^{h₁}`, where
//!   y^{h₁} (h₁'s part of y) is uniform given y because h₁'s dummies are. Either is guessed with
//!   probability 2^−128 (χ uniform, fixed after the choices). The dummies make y independent of
//!   the real bits.
//! - MAC shares or opened values are changed later: the MAC check (below).
//!
//! # Binary triples (leaky AND triples checked one by one, then combined)
//!
//! Leaky triples in the style of Wang, Ranellucci, Katz, "Global-Scale Secure Multiparty
//! Computation" (CCS 2017, ePrint 2017/189, "WRK17"), adapted to the global key Δ = ⊕ Δ_i: every
//! leaky triple is made correct-or-abort by a check of its Δ-multiple (no sacrifice), and
//! leakage is removed by combining B' of them (WRK17's bucketing). The FKOS15-style
//! cut-and-choose of earlier versions needed B·B' = 16 leaky triples per output; this needs B'
//! (4 at the default batch size). The failure bound is computed in `buckets`.
//!
//! One batch produces ℓ = [`BinaryConfig::batch_size`] triples from M = ℓ·B' (rounded up to a
//! multiple of 128) leaky ones:
//!
//! 1. **Authenticate** 3M + 128 random bits per party in one extension: a^i, b^i, r^i (a mask
//!    for c) per leaky triple and the 128 dummies; KOS check and authentication check.
//! 2. **Multiply** (over the correlated OTs of a, after the KOS check passed). For every
//!    ordered pair (i receiver, j sender) and leaky triple k, the row of a^i_k is a random OT
//!    under Δ_j: j sends `d_k = H(k, q_k) ⊕ H(k, q_k ⊕ Δ_j) ⊕ b^j_k` and
//!    `U_k = W(k, q_k) ⊕ W(k, q_k ⊕ Δ_j) ⊕ Φ^j_k`, where `Φ^j_k` is j's MAC share of b_k
//!    (⊕_j Φ^j_k = b_k·Δ); i takes `H(k, t_k) ⊕ a^i_k·d_k` and `W(k, t_k) ⊕ a^i_k·U_k`, j takes
//!    `H(k, q_k)` and `W(k, q_k)`: they XOR to `a^i_k·b^j_k` and `a^i_k·Φ^j_k` (`hash`: H a bit,
//!    W a block of TMMO with distinct tweaks). With the local `a^i b^i` and `a^i Φ^i`, party i
//!    holds a share c^i of `c = a∧b` and a share s^i of `a·(b·Δ) = (a∧b)·Δ`. 1 bit and 128 bits
//!    per triple and ordered pair.
//! 3. **Authenticate c**: every party broadcasts `f^i = c^i ⊕ r^i`; `[c] = [r] ⊕ f` with
//!    `f = ⊕ f^i` public (r^i is uniform and secret, so f^i hides c^i).
//! 4. **Δ-product check**: party i's `s^i_k ⊕ m_i(c_k)` XOR over the parties to
//!    `(a_k b_k ⊕ c_k)·Δ`, which must be 0: these are zeros of the MAC check (step 6,
//!    [`OfflineError::SacrificeFailed`]), never opened.
//! 5. **Combine** (leakage). A coin opened with f (after every d and U was sent, so after the
//!    set of touched triples is fixed) gives a uniform permutation that groups ℓ·B'
//!    leaky triples into ℓ buckets of B'; each bucket (x_k, y_k, z_k) becomes `x = ⊕ x_k`,
//!    `y = y_1`, `z = z_1 ⊕ ⊕_{k≥2} (z_k ⊕ g_k·x_k)` with `g_k = y_1 ⊕ y_k` opened, which is x·y
//!    when every input is correct; x is unknown to the adversary unless every x_k leaked.
//! 6. **MAC check** with coefficients from a third coin, opened after every opening: the
//!    authentication value y, every opened bit, every Δ-product zero (`check`). Only then is
//!    anything output.
//!
//! *Why the Δ-product check makes every leaky triple correct.* A corrupt party can change its
//! c^i or f^i (an error e_c on c, known to it: with `[c] = [r] ⊕ f` the MAC stays consistent,
//! so the check sees `e_c·Δ`), its s^i (a known block E), or, as sender towards an honest
//! receiver h, use another b in d (an error `a^h·e_b` on c) or another Φ in U (an error
//! `a^h·E_U` on s). A receiver's choice bits are fixed by the KOS and authentication checks,
//! and its local products only add errors it knows. The check's sum for the triple is then
//! `(e_c ⊕ a^h e_b)·Δ ⊕ E ⊕ a^h E_U`, all but Δ and a^h known to the adversary: if the
//! coefficient of Δ is non-zero, passing means guessing Δ (an honest Δ_h is uniform:
//! 2^−128); otherwise `e_c ⊕ a^h e_b = 0`, which is exactly "c = a∧b". So a triple that passes
//! is correct, and the only thing learnt is whether `E ⊕ a^h E_U = 0` and `e_c ⊕ a^h e_b = 0`
//! held: for a touched triple (e_b or E_U non-zero) at most one value of the honest bit a^h
//! (a non-trivial affine function of the honest a-shares with several honest parties) passes —
//! WRK17's selective failure on x, which the combine removes. With the random linear
//! combination of the MAC check (coefficients fixed after every error) the batch passes with a
//! non-zero sum with probability 2^−128. Privacy: d and U are one-time padded by the hash of
//! the other OT message, pseudorandom to a receiver that does not know Δ_j (TCCR); the opened
//! σ of the check are shares of zero masked by such hashes.
//!
//! Security with abort: the KOS check binds each receiver's choices per pair; the
//! authentication check binds them across pairs and binds each Δ_j (so the sharing is well
//! defined under one Δ); the MAC check makes every opened value and every zero correct except
//! with probability about 2^−127 (including the Δ-product check); then the combine bound makes
//! every output's a unknown except with probability 2^−(s+1) (`buckets`). A failed check aborts
//! at every honest party (an abort frame tells the others).
//!
//! # Cost (per output triple, per ordered pair of parties)
//!
//! With μ = M/ℓ leaky triples per output (B' = 4 for ℓ = 16384 and s = 40): 3μ correlated OTs
//! (4 bytes of SoftSpokenOT `c` each, 12μ bytes; 16 bytes each with the earlier IKNP
//! extension), μ·(1 + 128) bits of d and U, plus μ bits of f and `B' − 1` opened bits broadcast
//! per party: about 114 bytes (258 with IKNP, 776 with the earlier sacrifice). 9 rounds per
//! batch ([`BinaryPrep::triples`]); authenticated bits cost one OT (4 bytes) per bit and peer
//! and 5 rounds per batch of up to 2^20 bits. Setup: κ base OTs per ordered pair and one
//! puncturing round (`kos`).

mod bits;
mod buckets;
pub(crate) mod check;
mod hash;

pub use bits::{AuthBits, BinaryTriples};

use field::Gf128;
use net::{Network, PartyId};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::baseot;
use crate::coins::{derive, Coins};
use crate::error::{OfflineError, Result};
use crate::kos::{self, KosReceiver, KosSender, ReceiverBatch, SenderBatch, KAPPA};
use crate::mascot::{kos_instance, MascotConfig};
use crate::wire::{self, kind, Out, Transcript};
use buckets::Buckets;
use check::Pending;
use hash::{block_u128, inner_product, random_combination, BitHash};

/// Most authenticated bits per batch of [`BinaryPrep::auth_bits`] (bounds its memory: about
/// 50 bytes per bit and peer).
const BITS_PER_BATCH: usize = 1 << 20;

/// Version of the binary wire protocol, part of the setup handshake. 3: SoftSpokenOT extension
/// (a puncturing round at setup, κ/k bits of `c` per OT) instead of IKNP/KOS15.
const PROTOCOL_VERSION: u32 = 3;

/// log2 of the probability that a wrong leaky triple passes the Δ-product check (module docs).
const CHECK_LOG2: f64 = -127.0;

/// Tunables. Every party must use the same values (checked at setup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinaryConfig {
    /// Statistical security parameter s (bits), 40 to 128: bucket sizes are chosen so that a
    /// wrong or leaky triple survives a batch with probability at most 2^−s.
    pub security: u32,
    /// Output triples per batch, 1024 to 262144. Larger batches allow smaller buckets (fewer OTs
    /// per triple, see [`BinaryPrep::bucket_sizes`]); memory grows linearly: measured peaks of
    /// about 28 MB per party for 2 parties at 16 384, 65 MB at 65 536 and 240 MB at 262 144
    /// (half the peak of a 2-party process; each further peer adds the KOS rows, about 0.4 KB
    /// per triple). Triples of a batch that a call does not take are kept for the next call.
    pub batch_size: usize,
    /// The session id, as [`MascotConfig::session`]: hashed into the base-OT keys, every
    /// commitment and every coin, and checked at setup.
    pub session: [u8; 32],
}

impl Default for BinaryConfig {
    /// Security 40, batches of 16384 (buckets of 4 and 4), the all-zero session id (tests and
    /// benchmarks only).
    fn default() -> Self {
        BinaryConfig {
            security: 40,
            batch_size: 16384,
            session: [0u8; 32],
        }
    }
}

impl BinaryConfig {
    /// The default configuration with session id `session`.
    pub fn with_session(session: [u8; 32]) -> BinaryConfig {
        BinaryConfig {
            session,
            ..BinaryConfig::default()
        }
    }

    /// The default configuration with the session id of `net`'s gateway channel
    /// ([`MascotConfig::session_for_channel`]).
    pub fn for_channel(net: &Network) -> Result<BinaryConfig> {
        Ok(BinaryConfig::with_session(
            MascotConfig::for_channel(net)?.session,
        ))
    }

    fn validate(&self) -> Result<Buckets> {
        if !(40..=128).contains(&self.security) {
            return Err(OfflineError::InvalidArgument(format!(
                "security parameter {} is outside 40..=128",
                self.security
            )));
        }
        if !(1024..=1 << 18).contains(&self.batch_size) {
            return Err(OfflineError::InvalidArgument(format!(
                "binary batch size {} is outside 1024..=262144",
                self.batch_size
            )));
        }
        buckets::choose(self.batch_size, self.security).ok_or_else(|| {
            OfflineError::InvalidArgument(format!(
                "no bucket size reaches security {} for batches of {}",
                self.security, self.batch_size
            ))
        })
    }

    fn digest(&self, n: usize) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/binary-config/v1");
        h.update(&PROTOCOL_VERSION.to_le_bytes());
        h.update(&(n as u64).to_le_bytes());
        h.update(&self.security.to_le_bytes());
        h.update(&(self.batch_size as u64).to_le_bytes());
        h.update(&self.session);
        *h.finalize().as_bytes()
    }
}

/// What this party's binary preprocessing has cost and produced so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinaryStats {
    /// Bytes this party sent to all peers (setup included).
    pub bytes_sent: u64,
    /// Bytes this party received from all peers.
    pub bytes_received: u64,
    /// Communication rounds.
    pub rounds: u64,
    /// Base OTs this party took part in.
    pub base_ots: u64,
    /// Extended correlated OTs this party took part in, as sender or receiver (padding
    /// included).
    pub ots: u64,
    /// Batches run (each ends with a MAC check).
    pub batches: u64,
    /// Authenticated bits output.
    pub auth_bits: u64,
    /// Triples generated (output or kept for the next call).
    pub triples: u64,
    /// Leaky triples made for them.
    pub leaky_triples: u64,
}

/// A test-only misbehaviour of this party (the lowest-numbered other party is the victim of
/// deviations towards one peer).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryCheat {
    /// As KOS receiver towards the victim, flip one OT's bit in half of the `u` columns.
    KosWrongCorrelation,
    /// As KOS sender towards the victim, use Δ_i ⊕ 1 (chosen at setup) instead of Δ_i.
    InconsistentDelta,
    /// As KOS receiver towards the victim, use choice bits with the first bit flipped
    /// (consistently in every column) while keeping the original bit.
    InconsistentChoices,
    /// Flip this party's share of the first leaky triple's c before authenticating it.
    WrongTripleShare,
    /// As multiplication sender towards the victim, flip one bit of every `U` block (a wrong
    /// MAC share of b in the Δ-product).
    WrongProductMessage,
    /// Flip one bit of this party's Δ-product share of the first leaky triple.
    WrongProductShare,
    /// As multiplication sender towards the victim, flip one bit of the first leaky triple's
    /// `U` only: the selective failure on the victim's share of that triple's a.
    SelectiveProduct,
    /// As multiplication sender towards the victim, flip every d bit (a wrong b: the
    /// selective-failure attack on the victim's a-shares).
    WrongMultiplication,
    /// Flip this party's share of the first bit it opens in the sacrifice.
    WrongOpening,
    /// Change this party's MAC share of the b of a leaky triple that goes into an output,
    /// after the multiplication.
    WrongMac,
    /// XOR 1 into this party's σ of the openings in the MAC check.
    LieAboutSigma,
    /// Send the victim a multiplication message one byte short.
    TruncatedMessage,
}

/// One party's binary preprocessing: its key share Δ_i and, per peer, the KOS state set up once
/// by base OTs (this party's KOS sender uses Δ_i towards every peer). See the module docs.
pub struct BinaryPrep {
    me: PartyId,
    n: usize,
    delta: Gf128,
    cfg: BinaryConfig,
    buckets: Buckets,
    rng: ChaCha20Rng,
    hash: BitHash,
    kos_send: Vec<Option<KosSender>>,
    kos_recv: Vec<Option<KosReceiver>>,
    /// Checked triples of the last batch not yet output.
    spare: BinaryTriples,
    stats: BinaryStats,
    poisoned: Option<String>,
    #[cfg(test)]
    pub(crate) cheat: Option<BinaryCheat>,
    /// Test-only: this party's share of a of the last batch's first leaky triple.
    #[cfg(test)]
    pub(crate) first_a_share: Option<bool>,
}

impl std::fmt::Debug for BinaryPrep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryPrep")
            .field("party", &self.me)
            .field("parties", &self.n)
            .field("config", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn peers(me: PartyId, n: usize) -> impl Iterator<Item = PartyId> {
    (0..n).filter(move |&p| p != me)
}

/// Little-endian bytes of packed bits.
fn word_bytes(words: &[u64], out: &mut Vec<u8>) {
    out.reserve(8 * words.len());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Packed bits from exactly `8·n` little-endian bytes.
fn bytes_words(bytes: &[u8], n: usize) -> Vec<u64> {
    debug_assert_eq!(bytes.len(), 8 * n);
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// The outcome of rounds 1–3 of a batch: this party's bits and MAC shares, and the KOS
/// batches (rows) for the multiplication.
struct Authenticated {
    macs: Vec<Gf128>,
    recv: Vec<Option<ReceiverBatch>>,
    send: Vec<Option<SenderBatch>>,
    /// The opened coin of the KOS challenges.
    chi: [u8; 32],
}

impl BinaryPrep {
    /// Setup: checks that all parties use the same configuration, samples this party's key
    /// share Δ_i and runs κ = 128 base OTs with every peer in each direction (three rounds), then
    /// the OT extensions' puncturing (one round).
    pub fn setup(net: &mut Network, cfg: BinaryConfig) -> Result<BinaryPrep> {
        Self::setup_impl(
            net,
            cfg,
            None,
            #[cfg(test)]
            None,
        )
    }

    /// As [`BinaryPrep::setup`], with this party's key share Δ_i given (`Some`: a share kept from
    /// an earlier run, as a node keeps it in its tuple store, so that bits made in different
    /// runs are authenticated under the same global key) or sampled (`None`). Fresh base OTs are
    /// run either way; like α_i in MASCOT, Δ_i is never sent.
    pub fn setup_with_key(
        net: &mut Network,
        cfg: BinaryConfig,
        delta: Option<Gf128>,
    ) -> Result<BinaryPrep> {
        Self::setup_impl(
            net,
            cfg,
            delta,
            #[cfg(test)]
            None,
        )
    }

    /// [`BinaryPrep::setup`] with a test-only deviation from setup on.
    #[cfg(test)]
    pub(crate) fn setup_cheating(
        net: &mut Network,
        cfg: BinaryConfig,
        cheat: Option<BinaryCheat>,
    ) -> Result<BinaryPrep> {
        Self::setup_impl(net, cfg, None, cheat)
    }

    fn setup_impl(
        net: &mut Network,
        cfg: BinaryConfig,
        given: Option<Gf128>,
        #[cfg(test)] cheat: Option<BinaryCheat>,
    ) -> Result<BinaryPrep> {
        let buckets = cfg.validate()?;
        let n = net.n_parties();
        let me = net.my_id();
        if n < 2 {
            return Err(OfflineError::InvalidArgument(
                "binary preprocessing needs at least two parties".into(),
            ));
        }
        let mut rng = ChaCha20Rng::from_entropy();
        let delta = match given {
            Some(d) => d.0,
            None => {
                let mut d = [0u8; 16];
                rng.fill_bytes(&mut d);
                u128::from_le_bytes(d)
            }
        };
        // The Δ this party's KOS sender uses towards peer p: Δ_i, except under the test cheat.
        let delta_to = |p: PartyId| -> u128 {
            #[cfg(test)]
            if cheat == Some(BinaryCheat::InconsistentDelta) && p == usize::from(me == 0) {
                return delta ^ 1;
            }
            let _ = p;
            delta
        };
        let before = net.stats();
        let r = (|| {
            let mut transcript = Transcript::new();
            let digest = cfg.digest(n);
            let ins = Out::new(net, kind::HELLO, digest.to_vec()).exchange(net, &mut transcript)?;
            for input in &ins {
                input.done()?;
                if input.bcast(32)?.arr32()? != digest {
                    return Err(OfflineError::ConfigMismatch { party: input.peer });
                }
            }
            // As base-OT receiver from every peer, the choice bits are Δ_i (the same Δ_i towards
            // every peer: the global-key correlation).
            let choices: Vec<Vec<bool>> = (0..n)
                .map(|p| {
                    if p == me {
                        return Vec::new();
                    }
                    let dp = delta_to(p);
                    (0..KAPPA).map(|i| (dp >> i) & 1 == 1).collect()
                })
                .collect();
            let counts = vec![KAPPA; n];
            let ots = baseot::run(
                net,
                &cfg.session,
                &mut transcript,
                &choices,
                &counts,
                &mut rng,
            )?;
            let mut kos_send = Vec::with_capacity(n);
            let mut kos_recv = Vec::with_capacity(n);
            for p in 0..n {
                if p == me {
                    kos_send.push(None);
                    kos_recv.push(None);
                    continue;
                }
                kos_recv.push(Some(KosReceiver::new(&ots.sent[p], kos_instance(me, p))));
                kos_send.push(Some(kos::SenderSeed {
                    delta: delta_to(p),
                    keys: &ots.received[p],
                    instance: kos_instance(p, me),
                }));
            }
            // One more round: the OT extensions' puncturing (SoftSpokenOT, `kos`).
            let kos_send = kos::puncture(net, &mut transcript, &mut kos_recv, kos_send)?;
            Ok((kos_send, kos_recv))
        })();
        if let Err(e) = &r {
            if !matches!(e, OfflineError::PeerAborted { .. }) {
                wire::send_abort(net, e.abort_code());
            }
        }
        let (kos_send, kos_recv) = r?;
        let spent = net.stats().since(&before);
        Ok(BinaryPrep {
            me,
            n,
            delta: Gf128(delta),
            cfg,
            buckets,
            rng,
            hash: BitHash::new(),
            kos_send,
            kos_recv,
            spare: BinaryTriples::default(),
            stats: BinaryStats {
                bytes_sent: spent.bytes_sent,
                bytes_received: spent.bytes_received,
                rounds: spent.rounds,
                base_ots: 2 * KAPPA as u64 * (n as u64 - 1),
                ..BinaryStats::default()
            },
            poisoned: None,
            #[cfg(test)]
            cheat,
            #[cfg(test)]
            first_a_share: None,
        })
    }

    /// This party's share Δ_i of the global binary MAC key Δ = ⊕ Δ_i.
    pub fn delta_share(&self) -> Gf128 {
        self.delta
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
    pub fn config(&self) -> BinaryConfig {
        self.cfg
    }

    /// The bucket sizes of a batch and the log2 of the two failure bounds (see the module
    /// docs), as `(1, B', 0, log2 ε_check, log2 ε_comb)`. The first and third entries are the
    /// sacrifice bucket size and the number of opened triples of the earlier cut-and-choose
    /// protocol, kept for compatibility: leaky triples are now checked one by one
    /// (bucket of 1, none opened), and `ε_check` is the Δ-product check's bound, 2^−127.
    pub fn bucket_sizes(&self) -> (usize, usize, usize, f64, f64) {
        let b = self.buckets;
        (1, b.combine, 0, CHECK_LOG2, b.combine_log2)
    }

    /// What has been spent and produced so far.
    pub fn stats(&self) -> BinaryStats {
        self.stats
    }

    /// Whether an earlier error has disabled this instance.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    #[cfg(test)]
    fn cheating(&self, c: BinaryCheat) -> bool {
        self.cheat == Some(c)
    }

    /// The lowest-numbered peer (the victim of test cheats).
    #[cfg(test)]
    fn victim(&self) -> PartyId {
        usize::from(self.me == 0)
    }

    /// Runs `f`, counting its traffic; on error, tells the peers (unless a peer aborted first),
    /// drops every unreturned triple and poisons the instance.
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
            self.spare = BinaryTriples::default();
            if !matches!(e, OfflineError::PeerAborted { .. }) {
                wire::send_abort(net, e.abort_code());
            }
        }
        r
    }

    /// `n` random authenticated bits, in batches of up to 2^20 (5 rounds each).
    pub fn auth_bits(&mut self, net: &mut Network, n: usize) -> Result<AuthBits> {
        if n == 0 && self.poisoned.is_none() {
            return Ok(AuthBits::new());
        }
        self.guarded(net, |p, net| {
            let mut out = AuthBits::new();
            while out.len() < n {
                let k = (n - out.len()).min(BITS_PER_BATCH);
                out.append(&p.bit_batch(net, k)?);
            }
            p.stats.auth_bits += n as u64;
            Ok(out)
        })
    }

    /// `n` binary triples (c = a ∧ b), from whole batches of [`BinaryConfig::batch_size`];
    /// triples left over from the last batch are output first by the next call.
    pub fn triples(&mut self, net: &mut Network, n: usize) -> Result<BinaryTriples> {
        self.guarded(net, |p, net| {
            while p.spare.len() < n {
                let t = p.triple_batch(net)?;
                p.spare.append(&t);
            }
            Ok(p.spare.split_front(n))
        })
    }

    /// Rounds 1–3 of a batch: KOS extension of `m` bits (`values`, m a multiple of 128, the
    /// last 128 the dummies) with every peer, the KOS check, and the opening of the
    /// authentication value y (its MAC share goes to `pending`). Coin `c_chi` gives both the KOS
    /// challenges and the authentication coefficients; it is opened after `u` fixed every bit.
    #[allow(clippy::too_many_arguments)]
    fn authenticate(
        &mut self,
        net: &mut Network,
        tr: &mut Transcript,
        coins: &mut Coins,
        c_chi: usize,
        values: &[u64],
        m: usize,
        pending: &mut Pending,
    ) -> Result<Authenticated> {
        let (me, np) = (self.me, self.n);
        debug_assert!(m.is_multiple_of(128) && values.len() == m / 64);
        let mut choices = Vec::with_capacity(m / 8);
        word_bytes(values, &mut choices);

        // Round 1: u to every peer (this party as receiver), coin commitments.
        let mut out = Out::new(net, kind::KOS_U, coins.commitments());
        let mut recv: Vec<Option<ReceiverBatch>> = (0..np).map(|_| None).collect();
        for p in peers(me, np) {
            let r = self.kos_recv[p].as_mut().expect("set for every peer");
            let f = out.to(p);
            #[cfg(test)]
            let start = f.len();
            #[cfg(test)]
            if self.cheat == Some(BinaryCheat::InconsistentChoices) && p == usize::from(me == 0) {
                // The victim's OTs (and the KOS check) see the other bit; this party keeps its
                // own bit in its share.
                let mut other = choices.clone();
                other[0] ^= 1;
                recv[p] = Some(r.extend(&other, &mut self.rng, f));
                continue;
            }
            recv[p] = Some(r.extend(&choices, &mut self.rng, f));
            #[cfg(test)]
            if self.cheat == Some(BinaryCheat::KosWrongCorrelation) && p == usize::from(me == 0) {
                kos::corrupt_columns(&mut f[start..], m);
            }
        }
        let mut ins = out.exchange(net, tr)?;
        let mut send: Vec<Option<SenderBatch>> = (0..np).map(|_| None).collect();
        for input in ins.iter_mut() {
            let p = input.peer;
            coins.read_commitments(p, &mut input.bcast(coins.commitments_len())?)?;
            if p == me {
                continue;
            }
            let u = input.take(kos::u_len(m))?;
            let s = self.kos_send[p].as_mut().expect("set for every peer");
            send[p] = Some(s.extend(u, m));
            input.done()?;
        }
        self.stats.ots += 2 * (np as u64 - 1) * (m + kos::EXTRA) as u64;

        // MAC shares: x_k·Δ_i ⊕ ⊕_p (t_{p,k} ⊕ q_{p,k}).
        let mut macs: Vec<Gf128> = (0..m)
            .map(|k| self.delta.select(bits::get(values, k)))
            .collect();
        for p in peers(me, np) {
            let (r, s) = (
                recv[p].as_ref().expect("set above"),
                send[p].as_ref().expect("set above"),
            );
            for ((mac, t), q) in macs.iter_mut().zip(&r.rows).zip(&s.rows) {
                mac.0 ^= block_u128(t) ^ block_u128(q);
            }
        }

        // Round 2: open the coin of the KOS challenges and the authentication coefficients.
        let ins = Out::new(net, kind::COIN, coins.opening(c_chi)).exchange(net, tr)?;
        let chi = coins.finish(c_chi, &ins)?;

        // y = Σ_k χ_k x_k ⊕ Σ_l X^l d_l, with its MAC share.
        let real = m - 128;
        let (comb_mac, comb_share) = random_combination(
            &derive(&chi, "binary/auth", 0),
            &macs[..real],
            Some(&values[..real / 64]),
        );
        let dummies = (values[real / 64] as u128) | ((values[real / 64 + 1] as u128) << 64);
        let y_share = comb_share ^ dummies;
        let powers: Vec<u128> = (0..128).map(|l| 1u128 << l).collect();
        let y_mac = comb_mac + inner_product(&powers, &macs[real..]);

        // Round 3: KOS check responses (point to point) and y (broadcast).
        let mut out = Out::new(net, kind::KOS_CHECK, y_share.to_le_bytes().to_vec());
        for p in peers(me, np) {
            let rb = recv[p].as_ref().expect("set above");
            let seed = derive(&chi, "binary/kos", kos_instance(me, p));
            out.to(p)
                .extend_from_slice(&KosReceiver::response(rb, &seed));
        }
        let mut ins = out.exchange(net, tr)?;
        let mut y = 0u128;
        for input in ins.iter_mut() {
            let p = input.peer;
            y ^= check::gf(&mut input.bcast(16)?)?.0;
            if p == me {
                continue;
            }
            let resp = input.take(kos::RESPONSE_BYTES)?.to_vec();
            input.done()?;
            let seed = derive(&chi, "binary/kos", kos_instance(p, me));
            let s = self.kos_send[p].as_ref().expect("set for every peer");
            if !s.check(send[p].as_ref().expect("set above"), &seed, &resp) {
                return Err(OfflineError::OtCheckFailed { peer: p });
            }
        }
        pending.auth(y, y_mac);
        Ok(Authenticated {
            macs,
            recv,
            send,
            chi,
        })
    }

    /// Hands the KOS buffers back.
    fn recycle(&mut self, recv: Vec<Option<ReceiverBatch>>, send: Vec<Option<SenderBatch>>) {
        for (p, b) in recv.into_iter().enumerate() {
            if let (Some(r), Some(b)) = (self.kos_recv[p].as_mut(), b) {
                r.recycle(b);
            }
        }
        for (p, b) in send.into_iter().enumerate() {
            if let (Some(s), Some(b)) = (self.kos_send[p].as_mut(), b) {
                s.recycle(b);
            }
        }
    }

    /// `m/64` words of uniform bits.
    fn random_words(&mut self, m: usize) -> Vec<u64> {
        (0..m / 64).map(|_| self.rng.next_u64()).collect()
    }

    /// One batch of `n` authenticated bits: rounds 1–3, then the MAC check (2 rounds). The
    /// check's coefficient for its single item needs no fresh coin: any non-zero public
    /// multiple of `σ` sums to zero exactly when `σ` does.
    fn bit_batch(&mut self, net: &mut Network, n: usize) -> Result<AuthBits> {
        let m = n.next_multiple_of(128) + 128;
        let values = self.random_words(m);
        let mut tr = Transcript::new();
        let mut coins = Coins::new(
            self.cfg.session,
            self.me,
            self.n,
            1,
            "binary/bits",
            &mut self.rng,
        );
        let mut pending = Pending::default();
        let auth = self.authenticate(net, &mut tr, &mut coins, 0, &values, m, &mut pending)?;
        let Authenticated {
            mut macs,
            recv,
            send,
            chi,
        } = auth;
        self.recycle(recv, send);
        let seed = derive(&chi, "binary/bits-check", 0);
        #[cfg(test)]
        let lie = self.cheating(BinaryCheat::LieAboutSigma).then_some(1);
        #[cfg(not(test))]
        let lie = None;
        let delta = self.delta;
        check::check(
            net,
            &self.cfg.session,
            &mut tr,
            delta,
            &pending,
            &seed,
            &mut self.rng,
            lie,
        )?;
        self.stats.batches += 1;
        macs.truncate(n);
        Ok(AuthBits::from_raw(
            n,
            values[..n.div_ceil(64)].to_vec(),
            macs,
        ))
    }
}

mod triples;
