//! One party's online engine: openings, the batched MAC check, Beaver multiplication and inputs.
//!
//! **Architecture Invariant:** values opened inside the engine (Beaver's d and e, the masked values
//! of the non-linear kernels) only ever feed further secret computation. The one way out of the
//! engine is [`Engine::reveal`], which opens and then runs [`Engine::check`] over *every* value
//! opened so far before returning anything. After any error the engine is poisoned and refuses all
//! further work.
//!
//! **Architecture Invariant:** every input broadcast (an input party's masked values) is hashed into
//! a transcript; the transcripts of all parties are compared in the next check, so an input party
//! that sends different values to different peers is caught before anything is revealed. Openings
//! need no echo: each party MAC-checks its own view of every opened value (docs/PROTOCOL.md).
//!
//! **Architecture Invariant:** the same holds in the binary domain (`crate::binary`): opened bits
//! (binary Beaver's d and e, daBit-masked bits) are recorded with this party's GF(2^128) MAC
//! shares, and every check verifies both domains under one commitment before anything leaves.

use bytes::Bytes;
use field::{kernels, Fp, Gf128};
use net::{NetStats, Network, PartyId};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::binary::{self, BitCtx, BitShares};
use crate::commit::{self, Commitment};
use crate::error::{ProtocolError, Result};
use crate::prep::{PrepError, Preprocessing, Triples, TupleCounts, TupleKind};
use crate::share::{ShareCtx, ShareVec};

/// Engine tunables.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Run a MAC check on its own once this many opened values are pending, to bound memory.
    pub auto_check_threshold: usize,
    /// Default bit length k of signed integers for comparisons and truncations.
    pub bit_length: u32,
    /// Statistical security parameter s (masks have s more bits than the masked value).
    pub security: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            auto_check_threshold: 1 << 22,
            bit_length: 64,
            security: 40,
        }
    }
}

/// A test-only misbehaviour, to show that cheating is caught.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cheat {
    /// Add 1 to this party's share of the first value of the next opening.
    AddToOpenedShare,
    /// As input party, send a different masked value to the highest-numbered peer.
    SplitInputBroadcast,
    /// Send σ_i + 1 in the MAC check (with a matching commitment).
    LieAboutSigma,
    /// Flip this party's share of the first bit of the next binary opening.
    FlipOpenedBit,
    /// Send σ_i^(2) + 1 in the binary part of the MAC check (with a matching commitment).
    LieAboutBinarySigma,
}

/// The values opened since the last check, with this party's MAC shares of them.
#[derive(Default)]
struct Pending {
    values: Vec<Fp>,
    macs: Vec<Fp>,
    /// Opened bits (as the value component) with this party's GF(2^128) MAC shares of them, one
    /// vector per opening round, in order (kept apart: concatenating would copy every MAC).
    bits: Vec<BitShares>,
    /// The number of bits in `bits`.
    bits_len: usize,
    /// True when something (opening or input broadcast) happened since the last check.
    dirty: bool,
}

/// One party's SPDZ online engine over a [`Network`] and a [`Preprocessing`] source.
pub struct Engine<P: Preprocessing> {
    net: Network,
    prep: P,
    ctx: ShareCtx,
    /// This party's binary MAC key share Δ_i, when the source has binary-domain preprocessing.
    delta: Option<Gf128>,
    config: EngineConfig,
    pending: Pending,
    transcript: blake3::Hasher,
    /// Local randomness for coin shares and commitment salts.
    rng: ChaCha20Rng,
    /// This party's next coin share with its salt, already committed to.
    next_coin: Option<([u8; 32], [u8; 32])>,
    /// Every party's commitment to its next coin share.
    coin_commitments: Vec<Commitment>,
    consumed: TupleCounts,
    poisoned: Option<String>,
    checks: u64,
    #[cfg(test)]
    pub(crate) cheat: Option<Cheat>,
}

impl<P: Preprocessing> std::fmt::Debug for Engine<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("party", &self.ctx.me)
            .finish_non_exhaustive()
    }
}

fn decode_exact(peer: PartyId, frame: &[u8], n: usize, out: &mut [Fp]) -> Result<()> {
    if frame.len() != n * Fp::BYTES {
        return Err(ProtocolError::Malformed {
            peer,
            reason: format!("expected {} field elements, got {} bytes", n, frame.len()),
        });
    }
    kernels::decode_into(frame, out).map_err(|e| ProtocolError::Malformed {
        peer,
        reason: e.to_string(),
    })
}

fn encode(values: &[Fp]) -> Bytes {
    let mut buf = Vec::with_capacity(values.len() * Fp::BYTES);
    kernels::encode(values, &mut buf);
    Bytes::from(buf)
}

impl<P: Preprocessing> Engine<P> {
    /// A new engine for the party that owns `net`.
    pub fn new(net: Network, prep: P, config: EngineConfig) -> Engine<P> {
        let me = net.my_id();
        let alpha = prep.mac_key_share();
        let delta = prep.binary_key_share();
        let n = net.n_parties();
        Engine {
            net,
            prep,
            ctx: ShareCtx::new(me, alpha),
            delta,
            config,
            pending: Pending::default(),
            transcript: blake3::Hasher::new(),
            rng: ChaCha20Rng::from_entropy(),
            next_coin: None,
            coin_commitments: vec![[0u8; 32]; n],
            consumed: TupleCounts::default(),
            poisoned: None,
            checks: 0,
            #[cfg(test)]
            cheat: None,
        }
    }

    /// This party's id.
    pub fn party(&self) -> PartyId {
        self.ctx.me
    }

    /// Number of parties.
    pub fn n_parties(&self) -> usize {
        self.net.n_parties()
    }

    /// Context for local operations with public constants.
    pub fn ctx(&self) -> ShareCtx {
        self.ctx
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Network counters (rounds, bytes).
    pub fn net_stats(&self) -> NetStats {
        self.net.stats()
    }

    /// Tuples consumed so far, per kind.
    pub fn tuples_consumed(&self) -> &TupleCounts {
        &self.consumed
    }

    /// Number of MAC checks run so far.
    pub fn checks_run(&self) -> u64 {
        self.checks
    }

    /// Whether the preprocessing source provides the binary domain (a binary MAC key share), so
    /// that the binary operations and the mixed kernels ([`crate::binary`]) can run.
    pub fn has_binary(&self) -> bool {
        self.delta.is_some()
    }

    /// Context for local binary operations with public bits; an error if the source has no
    /// binary-domain preprocessing.
    pub fn bit_ctx(&self) -> Result<BitCtx> {
        self.delta
            .map(|d| BitCtx::new(self.ctx.me, d))
            .ok_or(ProtocolError::Prep(PrepError::Unsupported(
                TupleKind::BinaryKey,
            )))
    }

    /// Access to the preprocessing source (for example to inspect what is left).
    pub fn prep(&self) -> &P {
        &self.prep
    }

    /// Mutable access to the preprocessing source, for tests (a probe reads what it recorded).
    #[cfg(test)]
    pub(crate) fn prep_mut(&mut self) -> &mut P {
        &mut self.prep
    }

    /// Runs `f`, poisoning the engine if it fails.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if let Some(why) = &self.poisoned {
            return Err(ProtocolError::Aborted(why.clone()));
        }
        let r = f(self);
        if let Err(e) = &r {
            self.poisoned = Some(e.to_string());
        }
        r
    }

    // ----- preprocessing, counted --------------------------------------------------------------

    pub(crate) fn take_triples(&mut self, n: usize) -> Result<Triples> {
        let t = self.prep.triples(n)?;
        self.consumed.add(TupleKind::Triple, n);
        Ok(t)
    }

    pub(crate) fn take_bits(&mut self, n: usize) -> Result<ShareVec> {
        let b = self.prep.bits(n)?;
        self.consumed.add(TupleKind::Bit, n);
        Ok(b)
    }

    pub(crate) fn take_squares(&mut self, n: usize) -> Result<crate::prep::Pairs> {
        let b = self.prep.squares(n)?;
        self.consumed.add(TupleKind::Square, n);
        Ok(b)
    }

    pub(crate) fn take_bit_triples(&mut self, n: usize) -> Result<crate::prep::BitTriples> {
        let t = self.prep.bit_triples(n)?;
        if t.a.len() != n || t.b.len() != n || t.c.len() != n {
            return Err(PrepError::Source(format!(
                "asked for {n} binary triples, got another number"
            ))
            .into());
        }
        self.consumed.add(TupleKind::BitTriple, n);
        Ok(t)
    }

    pub(crate) fn take_dabits(&mut self, n: usize) -> Result<crate::prep::DaBits> {
        let d = self.prep.dabits(n)?;
        if d.arith.len() != n || d.bin.len() != n {
            return Err(
                PrepError::Source(format!("asked for {n} daBits, got another number")).into(),
            );
        }
        self.consumed.add(TupleKind::DaBit, n);
        Ok(d)
    }

    pub(crate) fn take_edabits(
        &mut self,
        n: usize,
        bits: u32,
        extra: u32,
    ) -> Result<crate::prep::EdaBits> {
        let d = self.prep.edabits(n, bits, extra)?;
        if d.bits != bits
            || d.extra != extra
            || d.low.len() != n
            || d.high.len() != n
            || d.bin.len() != n * bits as usize
        {
            return Err(PrepError::Source(format!(
                "asked for {n} edaBits of {bits} + {extra} bits, got another shape"
            ))
            .into());
        }
        self.consumed.add(TupleKind::EdaBit { bits, extra }, n);
        Ok(d)
    }

    pub(crate) fn take_wide_edabits(
        &mut self,
        n: usize,
        bits: u32,
        width: u32,
    ) -> Result<crate::prep::WideEdaBits> {
        let d = self.prep.wide_edabits(n, bits, width)?;
        if d.bits != bits
            || d.width != width
            || d.value.len() != n
            || d.bin.len() != n * bits as usize
        {
            return Err(PrepError::Source(format!(
                "asked for {n} wide edaBits of {width} bits ({bits} in binary), got another shape"
            ))
            .into());
        }
        self.consumed.add(TupleKind::WideEdaBit { bits, width }, n);
        Ok(d)
    }

    /// `n` fresh shared random bits.
    pub fn random_bits(&mut self, n: usize) -> Result<ShareVec> {
        self.guarded(|e| e.take_bits(n))
    }

    // ----- opening -----------------------------------------------------------------------------

    /// Opens several share vectors in ONE round, without a MAC check. The opened values are recorded
    /// for the next check. Crate-private: nothing opened here may leave the engine unchecked.
    pub(crate) fn open_many(&mut self, parts: &[&ShareVec]) -> Result<Vec<Vec<Fp>>> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut own = Vec::with_capacity(total);
        for p in parts {
            own.extend_from_slice(&p.v);
            self.pending.macs.extend_from_slice(&p.m);
        }
        let sums = self.open_raw(own)?;
        Ok(split_by(&sums, parts.iter().map(|p| p.len())))
    }

    /// The core of every opening, in one round. `own` holds this party's value shares of every value
    /// opened in the round; the caller has already appended the matching MAC shares to
    /// `pending.macs`. Broadcasts `own`, adds every peer's shares into it, records the sums for the
    /// next check and returns them.
    fn open_raw(&mut self, mut own: Vec<Fp>) -> Result<Vec<Fp>> {
        let total = own.len();
        #[cfg(test)]
        if self.cheat == Some(Cheat::AddToOpenedShare) && total > 0 {
            own[0] += Fp::ONE;
            self.cheat = None;
        }
        let mut frame = Vec::with_capacity(total * Fp::BYTES);
        kernels::encode(&own, &mut frame);
        let frames = self.net.broadcast_exchange(Bytes::from(frame))?;
        for (peer, f) in frames.iter().enumerate() {
            if peer == self.ctx.me {
                continue;
            }
            if f.len() != total * Fp::BYTES {
                return Err(ProtocolError::Malformed {
                    peer,
                    reason: format!("expected {} field elements, got {} bytes", total, f.len()),
                });
            }
            for (x, c) in own.iter_mut().zip(f.chunks_exact(Fp::BYTES)) {
                let y = Fp::from_mont_bytes(c.try_into().expect("16 bytes")).map_err(|e| {
                    ProtocolError::Malformed {
                        peer,
                        reason: e.to_string(),
                    }
                })?;
                *x += y;
            }
        }
        self.pending.values.extend_from_slice(&own);
        self.pending.dirty |= total > 0;
        debug_assert_eq!(self.pending.values.len(), self.pending.macs.len());
        self.auto_check()?;
        Ok(own)
    }

    /// One round that opens field elements and bits together: the frame is the 16-byte elements
    /// of `own_p` (whose MAC shares the caller has appended to `pending.macs`) followed by the
    /// packed bits of `own_b`. Both are recorded for the next check, as in `Engine::open_raw`
    /// and `Engine::open_bits_raw`.
    pub(crate) fn open_mixed_raw(
        &mut self,
        mut own_p: Vec<Fp>,
        own_b: BitShares,
    ) -> Result<(Vec<Fp>, Vec<u64>)> {
        let np = own_p.len();
        let nb = own_b.len();
        let BitShares { v, m, .. } = own_b;
        let mut bits = v;
        #[cfg(test)]
        match self.cheat {
            Some(Cheat::AddToOpenedShare) if np > 0 => {
                own_p[0] += Fp::ONE;
                self.cheat = None;
            }
            Some(Cheat::FlipOpenedBit) if nb > 0 => {
                bits[0] ^= 1;
                self.cheat = None;
            }
            _ => {}
        }
        let mut frame = Vec::with_capacity(np * Fp::BYTES + nb.div_ceil(8));
        kernels::encode(&own_p, &mut frame);
        frame.extend_from_slice(&binary::encode_bits(&bits, nb));
        let frames = self.net.broadcast_exchange(Bytes::from(frame))?;
        for (peer, f) in frames.iter().enumerate() {
            if peer == self.ctx.me {
                continue;
            }
            if f.len() != np * Fp::BYTES + nb.div_ceil(8) {
                return Err(ProtocolError::Malformed {
                    peer,
                    reason: format!(
                        "expected {np} field elements and {nb} bits, got {} bytes",
                        f.len()
                    ),
                });
            }
            let (fp, fb) = f.split_at(np * Fp::BYTES);
            for (x, c) in own_p.iter_mut().zip(fp.chunks_exact(Fp::BYTES)) {
                let y = Fp::from_mont_bytes(c.try_into().expect("16 bytes")).map_err(|e| {
                    ProtocolError::Malformed {
                        peer,
                        reason: e.to_string(),
                    }
                })?;
                *x += y;
            }
            binary::xor_decoded(peer, fb, nb, &mut bits)?;
        }
        self.pending.values.extend_from_slice(&own_p);
        debug_assert_eq!(self.pending.values.len(), self.pending.macs.len());
        self.record_bits(nb, bits.clone(), m);
        self.pending.dirty |= np + nb > 0;
        self.auto_check()?;
        Ok((own_p, bits))
    }

    /// Opens `opens` (field elements) in the round that also opens `bits`, without a check.
    pub(crate) fn open_with_bits(
        &mut self,
        opens: &[&ShareVec],
        bits: BitShares,
    ) -> Result<(Vec<Vec<Fp>>, Vec<u64>)> {
        let total: usize = opens.iter().map(|p| p.len()).sum();
        let mut own = Vec::with_capacity(total);
        for p in opens {
            own.extend_from_slice(&p.v);
            self.pending.macs.extend_from_slice(&p.m);
        }
        let (sums, b) = self.open_mixed_raw(own, bits)?;
        Ok((split_by(&sums, opens.iter().map(|p| p.len())), b))
    }

    /// Records `len` opened bits with this party's MAC shares of them for the next check.
    fn record_bits(&mut self, len: usize, opened: Vec<u64>, macs: Vec<Gf128>) {
        if len == 0 {
            return;
        }
        let record = BitShares::from_parts(len, opened, macs)
            .expect("lengths and padding kept by construction");
        self.pending.bits.push(record);
        self.pending.bits_len += len;
    }

    fn auto_check(&mut self) -> Result<()> {
        if self.pending.values.len() + self.pending.bits_len >= self.config.auto_check_threshold {
            self.check_inner()?;
        }
        Ok(())
    }

    /// One binary opening round: broadcasts this party's value shares of `own` (⌈len/8⌉ bytes),
    /// XORs every peer's shares in, records the opened bits with this party's MAC shares for the
    /// next check and returns them packed. Crate-private: opened bits may not leave the engine
    /// unchecked.
    pub(crate) fn open_bits_raw(&mut self, own: BitShares) -> Result<Vec<u64>> {
        let len = own.len();
        let BitShares { v, m, .. } = own;
        let mut opened = v;
        #[cfg(test)]
        if self.cheat == Some(Cheat::FlipOpenedBit) && len > 0 {
            opened[0] ^= 1;
            self.cheat = None;
        }
        let frame = Bytes::from(binary::encode_bits(&opened, len));
        let frames = self.net.broadcast_exchange(frame)?;
        for (peer, f) in frames.iter().enumerate() {
            if peer == self.ctx.me {
                continue;
            }
            binary::xor_decoded(peer, f, len, &mut opened)?;
        }
        self.record_bits(len, opened.clone(), m);
        self.pending.dirty |= len > 0;
        self.auto_check()?;
        Ok(opened)
    }

    /// Opens `x` and MAC-checks everything opened so far, including `x`, before returning it.
    pub fn reveal(&mut self, x: &ShareVec) -> Result<Vec<Fp>> {
        self.guarded(|e| {
            let mut v = e.open_many(&[x])?;
            e.check_inner()?;
            Ok(v.pop().unwrap_or_default())
        })
    }

    /// Opens several vectors in one round, then MAC-checks, then returns them.
    pub fn reveal_many(&mut self, xs: &[&ShareVec]) -> Result<Vec<Vec<Fp>>> {
        self.guarded(|e| {
            let v = e.open_many(xs)?;
            e.check_inner()?;
            Ok(v)
        })
    }

    // ----- MAC check ---------------------------------------------------------------------------

    /// Verifies the MACs of every value opened since the last check, and that all parties saw the
    /// same broadcasts. See docs/PROTOCOL.md for the argument. Three rounds (four on the first
    /// check, which also commits to the first coin shares).
    pub fn check(&mut self) -> Result<()> {
        self.guarded(|e| e.check_inner())
    }

    fn fresh_coin(&mut self) -> ([u8; 32], [u8; 32]) {
        let mut coin = [0u8; 32];
        let mut salt = [0u8; 32];
        self.rng.fill_bytes(&mut coin);
        self.rng.fill_bytes(&mut salt);
        (coin, salt)
    }

    pub(crate) fn check_inner(&mut self) -> Result<()> {
        if !self.pending.dirty {
            return Ok(());
        }
        let me = self.ctx.me;
        let n = self.net.n_parties();

        // Round 0 (first check only): commit to the coin shares.
        if self.next_coin.is_none() {
            let (coin, salt) = self.fresh_coin();
            let c = commit::commit(me, &salt, &coin);
            let got = self.net.broadcast_exchange(Bytes::copy_from_slice(&c))?;
            for (p, f) in got.iter().enumerate() {
                self.coin_commitments[p] =
                    f.as_ref()
                        .try_into()
                        .map_err(|_| ProtocolError::Malformed {
                            peer: p,
                            reason: "bad commitment length".into(),
                        })?;
            }
            self.next_coin = Some((coin, salt));
        }

        // Round 1: open the coin shares and exchange transcript hashes.
        let (coin, salt) = self.next_coin.take().expect("coin committed above");
        let my_hash = *self.transcript.finalize().as_bytes();
        let mut msg = Vec::with_capacity(96);
        msg.extend_from_slice(&coin);
        msg.extend_from_slice(&salt);
        msg.extend_from_slice(&my_hash);
        let got = self.net.broadcast_exchange(Bytes::from(msg))?;
        let mut coins = vec![[0u8; 32]; n];
        for (p, f) in got.iter().enumerate() {
            if f.len() != 96 {
                return Err(ProtocolError::Malformed {
                    peer: p,
                    reason: "bad coin opening length".into(),
                });
            }
            let c: [u8; 32] = f[0..32].try_into().expect("length checked");
            let s: [u8; 32] = f[32..64].try_into().expect("length checked");
            if !commit::verify(&self.coin_commitments[p], p, &s, &c) {
                return Err(ProtocolError::CommitmentMismatch { party: p });
            }
            if f[64..96] != my_hash {
                return Err(ProtocolError::BroadcastInconsistent { party: p });
            }
            coins[p] = c;
        }
        let seed = commit::joint_seed(&coins);

        // Local: σ_i = Σ_j r_j·m_ij − α_i·Σ_j r_j·x_j with jointly random coefficients r_j.
        let coeffs = coefficients(seed, self.pending.values.len());
        let a = kernels::inner_product(&self.pending.values, &coeffs);
        let gamma = kernels::inner_product(&self.pending.macs, &coeffs);
        #[allow(unused_mut)]
        let mut sigma = gamma - self.ctx.alpha * a;
        #[cfg(test)]
        if self.cheat == Some(Cheat::LieAboutSigma) {
            sigma += Fp::ONE;
            self.cheat = None;
        }
        // Binary domain: σ_i^(2) = Σ_j χ_j·m_ij + Δ_i·Σ_j χ_j·x_j over GF(2^128), χ_j from the same
        // seed under another context (docs/PROTOCOL.md, "Binary MAC check").
        #[allow(unused_mut)]
        let mut sigma2 = binary::check::sigma(seed, &self.pending.bits, self.delta)?;
        #[cfg(test)]
        if self.cheat == Some(Cheat::LieAboutBinarySigma) {
            sigma2 += Gf128::ONE;
            self.cheat = None;
        }

        // Round 2: commit to (σ_i, σ_i^(2)).
        let (_, sigma_salt) = self.fresh_coin();
        let mut sigma_bytes = [0u8; 32];
        sigma_bytes[..16].copy_from_slice(&sigma.to_mont_bytes());
        sigma_bytes[16..].copy_from_slice(&sigma2.to_le_bytes());
        let c = commit::commit(me, &sigma_salt, &sigma_bytes);
        let got = self.net.broadcast_exchange(Bytes::copy_from_slice(&c))?;
        let mut sigma_commitments = vec![[0u8; 32]; n];
        for (p, f) in got.iter().enumerate() {
            sigma_commitments[p] = f
                .as_ref()
                .try_into()
                .map_err(|_| ProtocolError::Malformed {
                    peer: p,
                    reason: "bad commitment length".into(),
                })?;
        }

        // Round 3: open (σ_i, σ_i^(2)), and commit to the next coin share.
        let (next_coin, next_salt) = self.fresh_coin();
        let next_commitment = commit::commit(me, &next_salt, &next_coin);
        let mut msg = Vec::with_capacity(96);
        msg.extend_from_slice(&sigma_bytes);
        msg.extend_from_slice(&sigma_salt);
        msg.extend_from_slice(&next_commitment);
        let got = self.net.broadcast_exchange(Bytes::from(msg))?;
        let mut total = Fp::ZERO;
        let mut total2 = Gf128::ZERO;
        for (p, f) in got.iter().enumerate() {
            if f.len() != 96 {
                return Err(ProtocolError::Malformed {
                    peer: p,
                    reason: "bad MAC check opening length".into(),
                });
            }
            let sb: [u8; 32] = f[0..32].try_into().expect("length checked");
            let ss: [u8; 32] = f[32..64].try_into().expect("length checked");
            if !commit::verify(&sigma_commitments[p], p, &ss, &sb) {
                return Err(ProtocolError::CommitmentMismatch { party: p });
            }
            let s = Fp::from_mont_bytes(sb[..16].try_into().expect("16 bytes")).map_err(|e| {
                ProtocolError::Malformed {
                    peer: p,
                    reason: e.to_string(),
                }
            })?;
            total += s;
            total2 += Gf128::from_le_bytes(sb[16..].try_into().expect("16 bytes"));
            self.coin_commitments[p] = f[64..96].try_into().expect("length checked");
        }
        self.next_coin = Some((next_coin, next_salt));
        if !total.is_zero() || total2 != Gf128::ZERO {
            return Err(ProtocolError::MacCheckFailed);
        }
        self.pending = Pending::default();
        self.transcript = blake3::Hasher::new();
        self.checks += 1;
        Ok(())
    }

    // ----- multiplication ----------------------------------------------------------------------

    /// One round that opens `opens` and also computes the element-wise products of the
    /// concatenation of `xs` with the concatenation of `ys` (Beaver: d = x − a and e = y − b are
    /// opened together with `opens`). The factors are read in place, never concatenated.
    pub(crate) fn beaver_round(
        &mut self,
        opens: &[&ShareVec],
        xs: &[&ShareVec],
        ys: &[&ShareVec],
    ) -> Result<(Vec<Vec<Fp>>, ShareVec)> {
        let n: usize = xs.iter().map(|x| x.len()).sum();
        let ny: usize = ys.iter().map(|y| y.len()).sum();
        if n != ny {
            return Err(ProtocolError::InvalidArgument(format!(
                "multiplying vectors of different lengths ({n} and {ny})"
            )));
        }
        let t = self.take_triples(n)?;
        let extra: usize = opens.iter().map(|p| p.len()).sum();
        let mut own = Vec::with_capacity(extra + 2 * n);
        for p in opens {
            own.extend_from_slice(&p.v);
            self.pending.macs.extend_from_slice(&p.m);
        }
        for (factors, mask) in [(xs, &t.a), (ys, &t.b)] {
            let mut off = 0;
            for f in factors.iter() {
                let len = f.len();
                let (av, am) = (&mask.v[off..off + len], &mask.m[off..off + len]);
                own.extend(f.v.iter().zip(av).map(|(&u, &w)| u - w));
                self.pending
                    .macs
                    .extend(f.m.iter().zip(am).map(|(&u, &w)| u - w));
                off += len;
            }
        }
        let sums = self.open_raw(own)?;
        let (opened, de) = sums.split_at(extra);
        let opened = split_by(opened, opens.iter().map(|p| p.len()));
        Ok((opened, self.beaver_finish(t, de)))
    }

    /// With d = x − a and e = y − b opened (concatenated in `de`),
    /// [xy] = [c] + d·[b] + e·[a] + d·e.
    pub(crate) fn beaver_finish(&self, t: Triples, de: &[Fp]) -> ShareVec {
        let n = t.a.len();
        let (d, e) = de.split_at(n);
        let Triples { a, b, c } = t;
        let mut z = c;
        let alpha = self.ctx.alpha;
        let lead = self.ctx.me == 0;
        // Zipped iterators: no bounds checks in the hot loop.
        let values = z.v.iter_mut().zip(a.v.iter().zip(&b.v));
        let macs = z.m.iter_mut().zip(a.m.iter().zip(&b.m));
        for (((zv, (av, bv)), (zm, (am, bm))), (&di, &ei)) in values.zip(macs).zip(d.iter().zip(e))
        {
            let dei = di * ei;
            let mut v = *zv + di * *bv + ei * *av;
            if lead {
                v += dei;
            }
            *zv = v;
            *zm = *zm + di * *bm + ei * *am + alpha * dei;
        }
        z
    }

    /// Element-wise products of two equally long vectors, in one round.
    pub fn mul(&mut self, x: &ShareVec, y: &ShareVec) -> Result<ShareVec> {
        self.guarded(|e| e.mul_inner(x, y))
    }

    pub(crate) fn mul_inner(&mut self, x: &ShareVec, y: &ShareVec) -> Result<ShareVec> {
        Ok(self.beaver_round(&[], &[x], &[y])?.1)
    }

    /// Products of the concatenations of `xs` and `ys`, in one round, without concatenating them.
    pub(crate) fn mul_parts(&mut self, xs: &[&ShareVec], ys: &[&ShareVec]) -> Result<ShareVec> {
        Ok(self.beaver_round(&[], xs, ys)?.1)
    }

    /// One round that opens `opens` and also performs the products `x ⊙ y`.
    pub(crate) fn open_and_mul(
        &mut self,
        opens: &[&ShareVec],
        x: &ShareVec,
        y: &ShareVec,
    ) -> Result<(Vec<Vec<Fp>>, ShareVec)> {
        self.beaver_round(opens, &[x], &[y])
    }

    /// Element-wise squares, in one round, from square pairs: with d = x − a opened,
    /// x² = a² + 2d·a + d².
    pub fn square(&mut self, x: &ShareVec) -> Result<ShareVec> {
        self.guarded(|e| {
            let sq = e.take_squares(x.len())?;
            let masked = x.sub(&sq.a);
            let d = e.open_many(&[&masked])?.pop().unwrap_or_default();
            let mut z = sq.b;
            let two_d: Vec<Fp> = d.iter().map(|v| v.double()).collect();
            let d2: Vec<Fp> = d.iter().map(|v| v.square()).collect();
            z.add_assign(&sq.a.mul_public(&two_d));
            e.ctx.add_public_assign(&mut z, &d2);
            Ok(z)
        })
    }

    // ----- inputs ------------------------------------------------------------------------------

    /// Private inputs from several parties in ONE round. `counts[p]` is how many values party p
    /// inputs; `mine` are this party's values (its `counts[me]` of them). Returns one vector per
    /// party. Party p broadcasts x − r for its masks [r]; everyone computes [x] = [r] + (x − r).
    pub fn input(&mut self, counts: &[usize], mine: &[Fp]) -> Result<Vec<ShareVec>> {
        self.guarded(|e| e.input_inner(counts, mine))
    }

    fn input_inner(&mut self, counts: &[usize], mine: &[Fp]) -> Result<Vec<ShareVec>> {
        let n = self.net.n_parties();
        let me = self.ctx.me;
        if counts.len() != n {
            return Err(ProtocolError::InvalidArgument(format!(
                "input counts name {} parties, the network has {}",
                counts.len(),
                n
            )));
        }
        if mine.len() != counts[me] {
            return Err(ProtocolError::InvalidArgument(format!(
                "party {me} must input {} values, got {}",
                counts[me],
                mine.len()
            )));
        }
        let mut masks = Vec::with_capacity(n);
        for (p, &c) in counts.iter().enumerate() {
            let m = self.prep.input_masks(p, c)?;
            self.consumed.add(TupleKind::InputMask(p), c);
            masks.push(m);
        }
        let my_clear: &[Fp] = masks[me].clear.as_deref().unwrap_or(&[]);
        if my_clear.len() != counts[me] {
            return Err(ProtocolError::InvalidArgument(
                "preprocessing gave no clear input masks to their owner".into(),
            ));
        }
        let masked: Vec<Fp> = mine.iter().zip(my_clear).map(|(&x, &r)| x - r).collect();
        let frame = encode(&masked);
        #[cfg(test)]
        let frames = if self.cheat == Some(Cheat::SplitInputBroadcast) && !masked.is_empty() {
            self.cheat = None;
            let mut other = masked.clone();
            other[0] += Fp::ONE;
            let mut v = vec![frame.clone(); n];
            v[n - 1] = encode(&other);
            self.net.exchange(v)?
        } else {
            self.net.broadcast_exchange(frame)?
        };
        #[cfg(not(test))]
        let frames = self.net.broadcast_exchange(frame)?;
        let mut out = Vec::with_capacity(n);
        for (p, m) in masks.into_iter().enumerate() {
            let c = counts[p];
            let mut y = vec![Fp::ZERO; c];
            if p == me {
                y.copy_from_slice(&masked);
            } else {
                decode_exact(p, &frames[p], c, &mut y)?;
            }
            self.transcript.update(b"input");
            self.transcript.update(&(p as u64).to_le_bytes());
            self.transcript.update(&(c as u64).to_le_bytes());
            let mut bytes = Vec::with_capacity(c * Fp::BYTES);
            kernels::encode(&y, &mut bytes);
            self.transcript.update(&bytes);
            self.pending.dirty |= c > 0;
            out.push(self.ctx.add_public(&m.shares, &y));
        }
        Ok(out)
    }

    /// Shares of public constants (no communication).
    pub fn constant(&self, c: &[Fp]) -> ShareVec {
        self.ctx.constant(c)
    }

    /// Ends a run: MAC-checks anything still pending. Call before trusting that a run was honest.
    pub fn finish(mut self) -> Result<RunStats> {
        self.check()?;
        Ok(RunStats {
            net: self.net.stats(),
            tuples: self.consumed.clone(),
            checks: self.checks,
        })
    }

    /// What this run cost so far.
    pub fn run_stats(&self) -> RunStats {
        RunStats {
            net: self.net.stats(),
            tuples: self.consumed.clone(),
            checks: self.checks,
        }
    }

    pub(crate) fn poison_guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.guarded(f)
    }
}

/// Splits `values` into consecutive vectors of the given lengths.
fn split_by(values: &[Fp], lens: impl Iterator<Item = usize>) -> Vec<Vec<Fp>> {
    let mut rest = values;
    lens.map(|len| {
        let (head, tail) = rest.split_at(len);
        rest = tail;
        head.to_vec()
    })
    .collect()
}

/// The cost of a run, for statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    pub net: NetStats,
    pub tuples: TupleCounts,
    pub checks: u64,
}

/// Domain separation of the coefficient stream (BLAKE3 keyed by the joint seed).
const COEFFICIENT_CONTEXT: &[u8] = b"ephemeral protocol: MAC-check coefficients v2";

/// `n` MAC-check coefficients from a joint seed: uniform elements of the whole field.
///
/// The stream is the BLAKE3 XOF keyed by `seed` over a fixed context string; it is read in 16-byte
/// little-endian words, and a word is used as the Montgomery form of the next coefficient if it is
/// below p and skipped otherwise (rejection sampling: p/2^128 ≈ 0.58 of the words are kept, so a
/// coefficient costs about 27.4 bytes of stream). A kept word is uniform on [0, p), and the map to
/// the Montgomery form is a bijection, so every coefficient is uniform on GF(p) and independent of
/// the others (up to BLAKE3 being a PRF). The same seed gives the same coefficients at every party.
///
/// By Schwartz–Zippel, a non-zero error vector survives the random combination with probability
/// at most 1/p ≈ 2^−127.2 per check (docs/PROTOCOL.md, "MAC check").
fn coefficients(seed: [u8; 32], n: usize) -> Vec<Fp> {
    /// Stream bytes read per XOF call (amortises the call; a multiple of BLAKE3's 64-byte block).
    const CHUNK: usize = 4096;
    let mut hasher = blake3::Hasher::new_keyed(&seed);
    hasher.update(COEFFICIENT_CONTEXT);
    let mut xof = hasher.finalize_xof();
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; CHUNK];
    while out.len() < n {
        xof.fill(&mut buf);
        for w in buf.chunks_exact(16) {
            // The word is taken as the Montgomery form x·R mod p; `from_mont_bytes` refuses
            // words ≥ p, which is the rejection.
            if let Ok(c) = Fp::from_mont_bytes(w.try_into().expect("16-byte chunk")) {
                out.push(c);
                if out.len() == n {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod coefficient_tests {
    use super::*;

    #[test]
    fn coefficients_are_deterministic_from_the_seed_and_a_prefix_of_longer_runs() {
        let seed = [7u8; 32];
        let a = coefficients(seed, 1000);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, coefficients(seed, 1000));
        // A shorter request is a prefix of a longer one (the stream is read in order).
        assert_eq!(coefficients(seed, 10), a[..10]);
        assert!(coefficients(seed, 0).is_empty());
    }

    #[test]
    fn distinct_seeds_give_different_coefficients() {
        let a = coefficients([1u8; 32], 64);
        let mut other = [1u8; 32];
        other[31] ^= 0x80;
        let b = coefficients(other, 64);
        assert!(a.iter().zip(&b).all(|(x, y)| x != y));
    }

    #[test]
    fn coefficients_are_canonical_and_spread_over_the_whole_field() {
        let c = coefficients([3u8; 32], 4096);
        let mut above_64_bits = 0;
        let mut above_half = 0;
        for x in &c {
            let v = x.to_u128();
            assert!(v < field::MODULUS, "non-canonical coefficient");
            // Round-trips through the strict wire decoding.
            assert_eq!(Fp::from_mont_bytes(&x.to_mont_bytes()).unwrap(), *x);
            above_64_bits += usize::from(v >> 64 != 0);
            above_half += usize::from(v > field::MODULUS / 2);
            let m = u128::from_le_bytes(x.to_mont_bytes());
            assert!(m < field::MODULUS);
        }
        // A uniform element is below 2^64 with probability 2^64/p ≈ 2^−63: none of 4096 is.
        assert_eq!(above_64_bits, c.len());
        // About half lie above p/2 (binomial(4096, 1/2): mean 2048, σ = 32; ±8σ).
        assert!(
            (1792..=2304).contains(&above_half),
            "{above_half} above p/2"
        );
        // No repeats among 4096 uniform elements (collision probability ≈ 2^−104).
        let mut sorted: Vec<u128> = c.iter().map(|x| x.to_u128()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), c.len());
    }

    #[test]
    fn the_coefficient_stream_skips_words_at_or_above_p() {
        // Recompute the stream by hand: every kept word is the Montgomery form of a coefficient,
        // in order, and the rejected words are exactly those ≥ p.
        let seed = [9u8; 32];
        let mut h = blake3::Hasher::new_keyed(&seed);
        h.update(COEFFICIENT_CONTEXT);
        let mut stream = [0u8; 16 * 256];
        h.finalize_xof().fill(&mut stream);
        let words: Vec<u128> = stream
            .chunks_exact(16)
            .map(|w| u128::from_le_bytes(w.try_into().unwrap()))
            .collect();
        let kept: Vec<u128> = words
            .iter()
            .copied()
            .filter(|&w| w < field::MODULUS)
            .collect();
        assert!(kept.len() < words.len(), "some words must be rejected");
        let c = coefficients(seed, kept.len());
        let got: Vec<u128> = c
            .iter()
            .map(|x| u128::from_le_bytes(x.to_mont_bytes()))
            .collect();
        assert_eq!(got, kept);
    }

    /// The local cost of one MAC check over `n` opened values: the coefficients and the two inner
    /// products (`cargo test -p protocol mac_check_local_cost -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn mac_check_local_cost() {
        let n = 1 << 20;
        let values: Vec<Fp> = (0..n as u64).map(Fp::from_u64).collect();
        let macs: Vec<Fp> = (0..n as u64).map(|x| Fp::from_u64(x ^ 0x55)).collect();
        let mut best_coeffs = f64::MAX;
        let mut best_total = f64::MAX;
        for round in 0..5u8 {
            let t0 = std::time::Instant::now();
            let coeffs = coefficients([round; 32], n);
            let t1 = std::time::Instant::now();
            let a = kernels::inner_product(&values, &coeffs);
            let g = kernels::inner_product(&macs, &coeffs);
            let t2 = std::time::Instant::now();
            std::hint::black_box((a, g));
            best_coeffs = best_coeffs.min((t1 - t0).as_secs_f64());
            best_total = best_total.min((t2 - t0).as_secs_f64());
        }
        println!(
            "n = {n}: coefficients {:.1} ms ({:.1} ns/value), coefficients + inner products {:.1} ms ({:.1} ns/value)",
            best_coeffs * 1e3,
            best_coeffs * 1e9 / n as f64,
            best_total * 1e3,
            best_total * 1e9 / n as f64
        );
    }
}
