//! Actively secure daBits and (loose) edaBits for N ≥ 2 parties, secure with abort against
//! N − 1 corruptions, under the MASCOT key α ([`Mascot`]) and the binary key Δ ([`BinaryPrep`]).
//!
//! # daBits (the dishonest-majority daBits of Rotaru and Wood, MArBled Circuits, INDOCRYPT 2019)
//!
//! One batch makes n daBits (n ≥ [`MIN_DABIT_BATCH`] unless a test asks for less) from
//! T = n + S candidates, S = MASCOT's `security`:
//!
//! 1. **Inputs.** Every party o inputs T random bits x_o in both domains. Binary: T random
//!    authenticated bits of [`BinaryPrep::auth_bits`] are opened privately to o (every peer
//!    sends o its value shares; round 1), so o knows x_o and nobody else learns anything.
//!    Arithmetic: o broadcasts `d = x_o − r` for its MASCOT input masks `[r]` (round 2), and
//!    `[x_o]_p = [r] + d`. A corrupt o may input different values in the two domains (or a
//!    non-bit in GF(p)); a corrupt peer may lie in the private opening (o's binary input then
//!    differs from what o inputs arithmetically). The checks below catch both.
//! 2. **XOR.** Binary: `[b]_2 = ⊕_o [x_o]_2`, free. Arithmetic: `x ⊕ y = x + y − 2xy`, folded
//!    over the parties with one Beaver multiplication per party after the first (MASCOT prime
//!    triples; N − 1 rounds).
//! 3. **Bit check.** For every candidate, `z = x·x − x` (one Beaver product on a MASCOT triple,
//!    its differences sent with the subset coin's opening) is opened and must be 0.
//! 4. **Parity checks.** A coin committed in round 1 and opened after the XOR gives S random
//!    subsets T_i of the first n candidates. Check i opens
//!    `m_i = Σ_{j∈T_i} [x_j]_p + [x_{n+i}]_p + 2·Σ_{k<L} 2^k·[r_{i,k}]_p` with S·L checked random
//!    bits of [`Mascot::bits`], L = [`parity_mask_bits`]`(n, S)` = ⌈log2(n + 2)⌉ + S, and
//!    `y_i = ⊕_{j∈T_i} [x_j]_2 ⊕ [x_{n+i}]_2`; the low bit of m_i (as an integer in [0, p)) must
//!    be y_i. The candidates n … n + S − 1 (one per check, masking its parity) are discarded.
//! 5. **MAC checks** in both domains (a second coin, opened after every opening): every Beaver
//!    opening, every z, m_i and y_i is MAC-checked (`mac_check`, `binary::check`, which also
//!    compares the transcripts of every broadcast). Only then are the conditions of steps 3 and
//!    4 evaluated ([`OfflineError::ConsistencyCheckFailed`]) and, if all hold, the first n
//!    candidates are output.
//!
//! **Soundness.** After the MAC checks every opened value is right (except with probability
//! about 2^−127 in GF(p), 2^−128 in GF(2^128)), so the Beaver products are right and the GF(p)
//! value of a candidate is `x = ⊕ a_o` with 1 − 2x = Π_o (1 − 2a_o), a_o the value o input. The
//! honest factors are ±1, so x is a bit iff the corrupt parties' product is ±1, whatever the
//! honest inputs: the bit check passes or fails independently of honest values, and if it
//! passes x = H ⊕ A with H the XOR of the honest inputs and A ∈ {0, 1} fixed by the adversary.
//! The binary value is H ⊕ E ⊕ B, with E the XOR of the lies in the private openings to honest
//! owners and B the corrupt parties' binary inputs. So the difference vector d = x_p ⊕ x_2 =
//! A ⊕ B ⊕ E is fixed by the end of round 2, before the subset coin is opened, and does not
//! depend on honest values. As every x is a bit and the r are bits, m_i < n + 1 + 2^(L+1) < p is
//! the integer sum, its low bit is ⊕_{T_i ∪ {n+i}} x_p, and check i passes iff
//! ⊕_{j∈T_i} d_j ⊕ d_{n+i} = 0. If d is not zero on the n outputs, this holds with probability
//! exactly 1/2 over T_i, independently for each i: a bad batch passes with probability at most
//! 2^−S. If d is zero on the outputs, every output daBit is consistent.
//!
//! **Privacy.** The Beaver differences are masked by the triples; every z of an honest run is
//! 0; x_{n+i} + 2R_i (R_i = Σ 2^k r_{i,k}) is a uniform integer in [0, 2^(L+1)), used in check i
//! only, so m_i = s_i + (x_{n+i} + 2R_i) with s_i = Σ_{T_i} x ≤ n is within statistical distance
//! n/2^(L+1) < 2^−(S+1) of independent of the outputs (all S checks: S·2^−(S+1)), and y_i is its
//! parity. A failed batch outputs nothing; its candidates are fresh and discarded.
//!
//! # edaBits (the adder-based dishonest-majority protocol of Escudero, Ghosh, Keller, Rachuri,
//! Scholl, CRYPTO 2020, ePrint 2020/338; `adder`)
//!
//! One batch makes n strict edaBits of m bits (1024 ≤ n ≤ [`EDABIT_BATCH`]) from
//! T = n·B + C candidates, B = C = [`bucket_size`]`(n, s)`:
//!
//! 1. **Inputs** (2 rounds). Every party o inputs T random m-bit values x_o: binary, m·T
//!    authenticated bits opened privately to o; GF(p), o broadcasts `d = Σ_i 2^i x_{o,i} − r`
//!    for its MASCOT input masks `[r]`.
//! 2. **Sum.** For o = 1 … N − 1: a ripple-carry adder (m rounds, one binary triple per bit:
//!    `c' = c ⊕ (a ⊕ c)∧(b ⊕ c)`) gives the m low bits of acc + x_o and the carry out c; c goes to
//!    GF(p) with a checked daBit (d_p, d_2): open `e = c ⊕ d_2` (1 round), `[c]_p = e + d_p −
//!    2e·d_p`; then `[acc]_p ← [acc]_p + [x_o]_p − 2^m·[c]_p`. The result is r' = Σ_o x_o mod 2^m,
//!    uniform as long as one input is.
//! 3. **Cut-and-choose and buckets.** A coin permutes the candidates; the first C are opened in
//!    both domains (Σ 2^i·bit_i must equal the GF(p) value); for each of the n buckets of B the
//!    first edaBit f is compared with every other g: the binary adder gives the m low bits of
//!    r_f + r_g and its carry out c (m rounds); c goes to GF(p) with a checked daBit as in step
//!    2 (1 round); then (r_f + r_g) mod 2^m is opened in both domains — the m bits, and
//!    r_f + r_g − 2^m·c in GF(p) — and the two must be the same integer. The opened value is
//!    uniform in r_g (discarded) whatever r_f is, so it tells nothing about the output r_f.
//!    (Opening the integer r_f + r_g would not: a sum of 0 says r_f = 0, and a small sum says
//!    r_f is small, which an opened mask x + r_f would then leak about x.)
//! 4. **MAC checks** in both domains, then the conditions of step 3
//!    ([`OfflineError::ConsistencyCheckFailed`]); only then is anything output.
//!
//! An inconsistent input (GF(p) value ≠ binary value, from a corrupt owner or a lie in a private
//! opening), a wrong carry conversion or a wrong AND all leave candidates whose GF(p) value is
//! not their binary value; the same bound 1/binom(n·B, B) applies (ePrint 2020/338, §4).
//!
//! The arithmetic-only high part r'' of a loose edaBit (e bits) is Σ_k 2^k·c_k for e MASCOT
//! random bits c_k ([`Mascot::bits`]: `[[a²]]` opened and MAC-checked, c = (1 + a/√(a²))/2 with a
//! from a checked MASCOT triple, so uniform even if N − 1 parties are corrupt). r'' is therefore
//! uniform in [0, 2^e) and independent of r', which is all that statistical masking needs; a
//! corrupt party cannot bias it without failing MASCOT's MAC check.

use field::{Fp, Gf128};
use net::Network;
use protocol::binary::BitShares;
use protocol::prep::{DaBits, EdaBits, WideEdaBits, MAX_EDABIT_BITS, MAX_WIDE_EDABIT_WIDTH};
use protocol::ShareVec;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::binary::check as bcheck;
use crate::binary::{AuthBits, BinaryPrep};
use crate::coins::{derive, Coins};
use crate::error::{OfflineError, Result};
use crate::mac_check;
use crate::mascot::Mascot;
use crate::wire::{self, kind, put_fps, Out, Transcript};

mod adder;

/// Most edaBits per adder batch (bounds memory: about N·m·B authenticated bits per edaBit).
pub const EDABIT_BATCH: usize = 1 << 14;

/// Most daBits output by one batch (bounds memory: a few hundred bytes per candidate and party).
pub const DABIT_BATCH: usize = 1 << 16;

/// Least daBits made by one batch: the parity check costs S = 40 extra candidates and S·L
/// MASCOT bits (L ≈ 51 at 1024) per batch whatever n is, so smaller batches would cost more per
/// daBit; a call for fewer keeps the rest for the next call.
pub const MIN_DABIT_BATCH: usize = 1024;

/// Most bits L of the integer mask of a parity check: m_i < n + 1 + 2^(L+1) must stay below p
/// (p > 2^127), so that m_i is the integer sum and its low bit is the parity.
pub const MAX_PARITY_MASK_BITS: usize = 125;

/// L = ⌈log2(n + 2)⌉ + s, the bits of the mask R of one parity check of a batch of n daBits: the
/// integer sum it hides is at most n + 1; `None` above [`MAX_PARITY_MASK_BITS`].
pub fn parity_mask_bits(n: usize, security: usize) -> Option<usize> {
    let log = (usize::BITS - (n + 1).leading_zeros()) as usize;
    Some(log + security).filter(|&l| l <= MAX_PARITY_MASK_BITS)
}

/// The S = `s` random subsets T_i of the n output candidates, from the subset coin: `s` chunks
/// of ⌈n/64⌉ words, bit j of chunk i set iff j ∈ T_i (bits ≥ n clear).
fn parity_subsets(seed: &[u8; 32], n: usize, s: usize) -> Vec<u64> {
    let nw = words(n);
    let mut out = vec![0u64; s * nw];
    let mut prng = ChaCha20Rng::from_seed(derive(seed, "edabits/dabit-subsets", 0));
    for chunk in out.chunks_exact_mut(nw) {
        for w in chunk.iter_mut() {
            *w = prng.next_u64();
        }
        if !n.is_multiple_of(64) {
            chunk[nw - 1] &= (1u64 << (n % 64)) - 1;
        }
    }
    out
}

/// log2 of binom(n, k).
fn log2_binom(n: usize, k: usize) -> f64 {
    (0..k)
        .map(|i| ((n - i) as f64 / (i + 1) as f64).log2())
        .sum()
}

/// The least bucket size B (= the number C of opened candidates) with binom(n·B, B) ≥ 2^s, for
/// batches of n outputs; `None` if no B ≤ 16 reaches it.
pub fn bucket_size(n: usize, security: u32) -> Option<usize> {
    (2..=16).find(|&b| n * b > b && log2_binom(n * b, b) >= security as f64)
}

/// Bit `j` of packed words.
fn get(w: &[u64], j: usize) -> bool {
    (w[j / 64] >> (j % 64)) & 1 == 1
}

fn set(w: &mut [u64], j: usize, b: bool) {
    if b {
        w[j / 64] |= 1 << (j % 64);
    } else {
        w[j / 64] &= !(1 << (j % 64));
    }
}

fn words(len: usize) -> usize {
    len.div_ceil(64)
}

/// Bits `start..start + len` of `w`, packed from bit 0.
fn extract(w: &[u64], start: usize, len: usize) -> Vec<u64> {
    let mut out = vec![0u64; words(len)];
    for j in 0..len {
        set(&mut out, j, get(w, start + j));
    }
    out
}

fn put_words(out: &mut Vec<u8>, w: &[u64]) {
    for x in w {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

fn read_words(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_le_bytes(a)
        })
        .collect()
}

/// A test-only misbehaviour.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdaCheat {
    /// Input x + 1 instead of x in GF(p) (inconsistent with the binary input): for every
    /// candidate, or for the first only.
    ArithPlusOne { all: bool },
    /// daBits: input x + 2 in GF(p) for the first candidate (a non-bit of the right parity,
    /// which only the bit check catches).
    ArithPlusTwo,
    /// daBits: input 1 − x in GF(p) for the first candidate (a bit, but not the binary input,
    /// which only the parity check catches).
    ArithFlip,
    /// daBits: flip the share of the first candidate sent in the private opening to the
    /// lowest-numbered other party (whose binary input then differs from the value it inputs in
    /// GF(p); lying to two owners about one candidate would cancel out).
    LieInPrivateOpening,
    /// As `ArithPlusOne`, in the inputs of the adder-based edaBit batches only (the daBits
    /// for the carries stay honest), so that the edaBit check itself must catch it.
    EdaArithPlusOne { all: bool },
    /// Flip this party's share of the first bit opened in the edaBit check (adder batches).
    EdaFlipBinaryOpening,
    /// Flip this party's share of the first binary value it opens in the check (daBits: y_0).
    FlipBinaryOpening,
    /// Add 1 to this party's share of the first arithmetic check value it opens (daBits: m_0).
    ArithOpeningPlusOne,
}

/// What the generator has cost and produced (its own rounds only; the MASCOT and binary calls
/// it makes count in their own statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdaStats {
    pub batches: u64,
    pub dabits: u64,
    pub edabits: u64,
    pub bytes_sent: u64,
    pub rounds: u64,
}

/// The daBit and edaBit generator of one party (see the module docs). It keeps no secret state:
/// it draws MASCOT tuples from a [`Mascot`] and authenticated bits from a [`BinaryPrep`] of the
/// same party on the same channel. After any error it is poisoned.
#[derive(Debug, Default)]
pub struct EdaBitGen {
    poisoned: Option<String>,
    stats: EdaStats,
    /// Most daBits per batch (tests use small batches).
    batch: Option<usize>,
    /// Checked daBits of the last batch not yet output (a batch makes at least 1024).
    spare: Spare,
    #[cfg(test)]
    pub(crate) cheat: Option<EdaCheat>,
    /// Tests: the least daBits per batch (1024 otherwise), to run batches of any size.
    #[cfg(test)]
    pub(crate) min_batch: Option<usize>,
    /// Tests: keep the opened GF(p) check values of the edaBit pair check.
    #[cfg(test)]
    pub(crate) record_checks: bool,
    #[cfg(test)]
    pub(crate) checked_sums: Vec<Fp>,
}

/// Arithmetic shares: value and MAC shares.
#[derive(Clone, Default)]
struct Arith {
    v: Vec<Fp>,
    m: Vec<Fp>,
}

impl Arith {
    fn from(s: &ShareVec) -> Arith {
        Arith {
            v: s.value_shares().to_vec(),
            m: s.mac_shares().to_vec(),
        }
    }
}

/// Checked daBits kept for the next call: arithmetic shares, packed bits, binary MACs.
#[derive(Default)]
struct Spare {
    arith: Arith,
    words: Vec<u64>,
    macs: Vec<Gf128>,
}

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spare(len={})", self.macs.len())
    }
}

impl Spare {
    fn len(&self) -> usize {
        self.macs.len()
    }

    fn append(&mut self, a: &Arith, w: &[u64], m: &[Gf128]) {
        let len = self.len();
        self.arith.v.extend_from_slice(&a.v);
        self.arith.m.extend_from_slice(&a.m);
        self.words.resize(words(len + m.len()), 0);
        for j in 0..m.len() {
            set(&mut self.words, len + j, get(w, j));
        }
        self.macs.extend_from_slice(m);
    }

    /// The first `k` daBits, removed.
    fn take(&mut self, k: usize) -> (Arith, Vec<u64>, Vec<Gf128>) {
        let len = self.len();
        let a = Arith {
            v: self.arith.v.drain(..k).collect(),
            m: self.arith.m.drain(..k).collect(),
        };
        let w = extract(&self.words, 0, k);
        let rest = extract(&self.words, k, len - k);
        self.words = rest;
        let m = self.macs.drain(..k).collect();
        (a, w, m)
    }
}

/// State for Beaver products: per element, this party's shares of ε = x − a, δ = y − b.
struct Beaver {
    eps: Arith,
    del: Arith,
}

impl EdaBitGen {
    /// A generator with the default batch size.
    pub fn new() -> EdaBitGen {
        EdaBitGen::default()
    }

    /// A generator with batches of at most `batch` daBits (1024 ≤ batch ≤ [`DABIT_BATCH`]).
    pub fn with_batch(batch: usize) -> Result<EdaBitGen> {
        if !(1024..=DABIT_BATCH).contains(&batch) {
            return Err(OfflineError::InvalidArgument(format!(
                "daBit batch {batch} is outside 1024..={DABIT_BATCH}"
            )));
        }
        Ok(EdaBitGen {
            batch: Some(batch),
            ..EdaBitGen::default()
        })
    }

    /// What has been spent and produced so far.
    pub fn stats(&self) -> EdaStats {
        self.stats
    }

    fn guarded<T>(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        f: impl FnOnce(&mut Self, &mut Mascot, &mut BinaryPrep, &mut Network) -> Result<T>,
    ) -> Result<T> {
        if let Some(why) = &self.poisoned {
            return Err(OfflineError::Aborted(why.clone()));
        }
        if mascot.party() != net.my_id()
            || bin.party() != net.my_id()
            || mascot.n_parties() != net.n_parties()
            || bin.n_parties() != net.n_parties()
        {
            return Err(OfflineError::InvalidArgument(
                "the MASCOT and binary instances must belong to this party of this network".into(),
            ));
        }
        let before = net.stats();
        let r = f(self, mascot, bin, net);
        let spent = net.stats().since(&before);
        self.stats.bytes_sent += spent.bytes_sent;
        self.stats.rounds += spent.rounds;
        if let Err(e) = &r {
            self.poisoned = Some(e.to_string());
            self.spare = Spare::default();
            if !matches!(
                e,
                OfflineError::PeerAborted { .. } | OfflineError::Aborted(_)
            ) {
                wire::send_abort(net, e.abort_code());
            }
        }
        r
    }

    /// `n` daBits, checked (see the module docs).
    pub fn dabits(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        n: usize,
    ) -> Result<DaBits> {
        let batch = self.batch.unwrap_or(DABIT_BATCH);
        #[allow(unused_mut)]
        let mut least = MIN_DABIT_BATCH;
        #[cfg(test)]
        if let Some(m) = self.min_batch {
            least = m.clamp(1, batch);
        }
        self.guarded(mascot, bin, net, |g, mascot, bin, net| {
            // Whole batches of at least MIN_DABIT_BATCH (a batch has a fixed cost of S extra
            // candidates and S·L random bits); what a call does not take is kept for the next.
            while g.spare.len() < n {
                let k = (n - g.spare.len()).clamp(least, batch);
                let (a, w, m) = g.batch(mascot, bin, net, k)?;
                g.spare.append(&a, &w, &m);
            }
            let (arith, bw, bm) = g.spare.take(n);
            g.stats.dabits += n as u64;
            let bin = BitShares::from_parts(n, bw, bm).ok_or_else(|| {
                OfflineError::InvalidArgument("daBit binary shares of the wrong length".into())
            })?;
            Ok(DaBits {
                arith: ShareVec::from_parts(arith.v, arith.m),
                bin,
            })
        })
    }

    /// `n` edaBits of `bits` binary bits and `extra` arithmetic-only bits (loose when
    /// `extra > 0`), laid out as [`EdaBits`] describes.
    pub fn edabits(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        n: usize,
        bits: u32,
        extra: u32,
    ) -> Result<EdaBits> {
        if bits == 0 || bits + extra > MAX_EDABIT_BITS {
            return Err(OfflineError::InvalidArgument(format!(
                "edaBits of {bits} + {extra} bits: need 1 ≤ bits and bits + extra ≤ {MAX_EDABIT_BITS}"
            )));
        }
        let m = bits as usize;
        let (low, bin_shares) = self.adder_batches(mascot, bin, net, n, m, adder::Shape::Strict)?;
        let low = adder::share_vec(low);
        let high_bits = if extra > 0 {
            let r = mascot.bits(net, n * extra as usize);
            if let Err(e) = &r {
                self.poisoned = Some(e.to_string());
            }
            Some(r?)
        } else {
            None
        };
        let combine = |s: &ShareVec, width: u32| {
            let mut v = vec![Fp::ZERO; n];
            let mut m = vec![Fp::ZERO; n];
            for i in 0..width as usize {
                let c = Fp::pow2(i as u32);
                for j in 0..n {
                    v[j] += c * s.value_shares()[i * n + j];
                    m[j] += c * s.mac_shares()[i * n + j];
                }
            }
            ShareVec::from_parts(v, m)
        };
        let high = match &high_bits {
            Some(h) => combine(h, extra),
            None => ShareVec::zeros(n),
        };
        self.stats.edabits += n as u64;
        Ok(EdaBits {
            bits,
            extra,
            low,
            high,
            bin: bin_shares,
        })
    }

    /// `n` wide edaBits: every party contributes a random `width`-bit value, R = Σ_o x_o, with
    /// the `bits` low bits of R in the binary domain (see [`WideEdaBits`] and the module docs).
    pub fn wide_edabits(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        n: usize,
        bits: u32,
        width: u32,
    ) -> Result<WideEdaBits> {
        let np = net.n_parties() as u32;
        let log_n = u32::BITS - (np.max(2) - 1).leading_zeros();
        if bits == 0
            || bits > width
            || width > MAX_WIDE_EDABIT_WIDTH
            || width + log_n + 1 > 126
            || width + np > 127
        {
            return Err(OfflineError::InvalidArgument(format!(
                "wide edaBits of {width} bits ({bits} in binary) for {np} parties: need 1 ≤ bits ≤ width ≤ {MAX_WIDE_EDABIT_WIDTH}, width + ⌈log2 N⌉ ≤ 125 and width + N ≤ 127"
            )));
        }
        let shape = adder::Shape::Wide {
            bits: bits as usize,
        };
        let (value, bin_shares) = self.adder_batches(mascot, bin, net, n, width as usize, shape)?;
        self.stats.edabits += n as u64;
        Ok(WideEdaBits {
            bits,
            width,
            value: adder::share_vec(value),
            bin: bin_shares,
        })
    }

    /// `n` edaBits of `shape` from adder batches of `m` input bits per party (whole batches of
    /// at least 1024: smaller ones need large buckets; the surplus of the last is dropped).
    /// Returns the GF(p) values and the kept binary columns, bit-major (bit i of element j at
    /// i·n + j).
    fn adder_batches(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        n: usize,
        m: usize,
        shape: adder::Shape,
    ) -> Result<(Arith, BitShares)> {
        let keep = match shape {
            adder::Shape::Strict => m,
            adder::Shape::Wide { bits } => bits,
        };
        let (value, cols) = self.guarded(mascot, bin, net, |g, mascot, bin, net| {
            let mut value = Arith::default();
            let mut cols: Vec<AuthBits> = (0..keep).map(|_| AuthBits::new()).collect();
            let mut done = 0;
            while done < n {
                let k = (n - done).clamp(1024, EDABIT_BATCH);
                let (a, c) = g.adder_batch(mascot, bin, net, k, m, shape)?;
                let take = k.min(n - done);
                value.v.extend_from_slice(&a.v[..take]);
                value.m.extend_from_slice(&a.m[..take]);
                for (dst, src) in cols.iter_mut().zip(&c) {
                    dst.append(&src.slice(0..take));
                }
                done += take;
            }
            Ok((value, cols))
        })?;
        let mut all = AuthBits::new();
        for c in &cols {
            all.append(c);
        }
        let (len, v, mm) = all.into_parts();
        let bits = BitShares::from_parts(len, v, mm).ok_or_else(|| {
            OfflineError::InvalidArgument("edaBit binary shares of the wrong length".into())
        })?;
        Ok((value, bits))
    }

    /// Opens (broadcast of this party's shares in one round) arithmetic values, binary bits and
    /// Beaver differences; returns the opened sums.
    fn open_round(
        net: &mut Network,
        tr: &mut Transcript,
        arith: &[Fp],
        binw: &[u64],
        nbits: usize,
    ) -> Result<(Vec<Fp>, Vec<u64>)> {
        let mut msg = Vec::with_capacity(16 * arith.len() + 8 * binw.len());
        put_fps(&mut msg, arith);
        put_words(&mut msg, &binw[..words(nbits)]);
        let len = msg.len();
        let ins = Out::new(net, kind::EDA_OPEN, msg).exchange(net, tr)?;
        let mut sum = vec![Fp::ZERO; arith.len()];
        let mut bits = vec![0u64; words(nbits)];
        for input in &ins {
            input.done()?;
            let mut r = input.bcast(len)?;
            for (s, x) in sum.iter_mut().zip(r.fps(arith.len())?) {
                *s += x;
            }
            let w = read_words(r.take(8 * words(nbits))?);
            for (b, x) in bits.iter_mut().zip(w) {
                *b ^= x;
            }
        }
        if !nbits.is_multiple_of(64) {
            if let Some(last) = bits.last_mut() {
                *last &= (1u64 << (nbits % 64)) - 1;
            }
        }
        Ok((sum, bits))
    }

    /// One batch: `n` daBits from n + S candidates, checked by S parity checks (module docs).
    fn batch(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        n: usize,
    ) -> Result<(Arith, Vec<u64>, Vec<Gf128>)> {
        let (me, np) = (net.my_id(), net.n_parties());
        let s = mascot.config().security as usize;
        let l = parity_mask_bits(n, s).ok_or_else(|| {
            OfflineError::InvalidArgument(format!(
                "the parity check of {n} daBits at security {s} needs a mask of more than {MAX_PARITY_MASK_BITS} bits"
            ))
        })?;
        let t = n + s;
        let alpha = mascot.mac_key_share();
        let delta = bin.delta_share();
        let session = mascot.config().session;
        let bsession = bin.config().session;

        // Material, in the same order at every party: input masks of every party, N·T
        // authenticated bits, (N − 1)·T prime triples for the XOR and T for the bit check, and
        // S·L checked random bits for the parity masks.
        let mut masks = Vec::with_capacity(np);
        for o in 0..np {
            masks.push(mascot.input_masks(net, o, t)?);
        }
        let (_, bits_w, bits_m) = bin.auth_bits(net, np * t)?.into_parts();
        let triples = mascot.triples(net, t * np)?;
        let (ta, tb, tc) = (
            Arith::from(&triples.a),
            Arith::from(&triples.b),
            Arith::from(&triples.c),
        );
        let rbits = Arith::from(&mascot.bits(net, s * l)?);

        let mut rng = ChaCha20Rng::from_entropy();
        let mut tr = Transcript::new();
        let mut coins = Coins::new(session, me, np, 2, "edabits/dabits-parity", &mut rng);
        let (c_sub, c_mac) = (0, 1);
        let mut apend = mac_check::Pending::default();
        let mut bpend = bcheck::Pending::default();

        // Round 1: private openings of the binary inputs; coin commitments.
        let tw = words(t);
        let mut out = Out::new(net, kind::EDA_SHARES, coins.commitments());
        for o in (0..np).filter(|&o| o != me) {
            #[allow(unused_mut)]
            let mut share = extract(&bits_w, o * t, t);
            #[cfg(test)]
            if self.cheat == Some(EdaCheat::LieInPrivateOpening)
                && o == (0..np).find(|&p| p != me).unwrap_or(0)
            {
                share[0] ^= 1;
            }
            put_words(out.to(o), &share);
        }
        let mut ins = out.exchange(net, &mut tr)?;
        let mut mine = extract(&bits_w, me * t, t);
        for input in ins.iter_mut() {
            let p = input.peer;
            coins.read_commitments(p, &mut input.bcast(coins.commitments_len())?)?;
            if p == me {
                continue;
            }
            let w = read_words(input.take(8 * tw)?);
            input.done()?;
            for (x, y) in mine.iter_mut().zip(w) {
                *x ^= y;
            }
        }
        if !t.is_multiple_of(64) {
            // A peer's unused high bits must not leak into a value.
            if let Some(last) = mine.last_mut() {
                *last &= (1u64 << (t % 64)) - 1;
            }
        }

        // Round 2: d = x − r for this party's input; [x_o]_p = [r_o] + d_o.
        let r_clear = masks[me].clear.clone().ok_or_else(|| {
            OfflineError::InvalidArgument("own input masks came without their values".into())
        })?;
        let mut d: Vec<Fp> = (0..t)
            .map(|j| Fp::from(get(&mine, j)) - r_clear[j])
            .collect();
        #[cfg(test)]
        match self.cheat {
            Some(EdaCheat::ArithPlusOne { all }) => {
                let k = if all { t } else { 1 };
                for x in d.iter_mut().take(k) {
                    *x += Fp::ONE;
                }
            }
            Some(EdaCheat::ArithPlusTwo) => d[0] += Fp::TWO,
            Some(EdaCheat::ArithFlip) => {
                // x ↦ 1 − x: still a bit, but not the binary input.
                let x = Fp::from(get(&mine, 0));
                d[0] = Fp::ONE - x - r_clear[0];
            }
            _ => {}
        }
        let xs = authenticate_inputs(net, &mut tr, &masks, &d, me, alpha)?;
        d.clear();

        // XOR in both domains; arithmetic with one Beaver layer per further party.
        let mut acc = xs[0].clone();
        let mut accw = extract(&bits_w, 0, t);
        let mut accm = bits_m[..t].to_vec();
        let mut tix = 0usize;
        let all: Vec<usize> = (0..t).collect();
        for (o, x) in xs.iter().enumerate().skip(1) {
            let prod = Self::beaver(
                net,
                &mut tr,
                &mut apend,
                me,
                alpha,
                (&ta, &tb, &tc),
                tix,
                (&acc, &all[..]),
                (x, &all[..]),
            )?;
            tix += t;
            for j in 0..t {
                acc.v[j] = acc.v[j] + x.v[j] - prod.v[j].double();
                acc.m[j] = acc.m[j] + x.m[j] - prod.m[j].double();
            }
            for (a, y) in accw.iter_mut().zip(extract(&bits_w, o * t, t)) {
                *a ^= y;
            }
            for (a, y) in accm.iter_mut().zip(&bits_m[o * t..(o + 1) * t]) {
                *a += *y;
            }
        }
        drop(xs);

        // Round: the Beaver differences of x·x (bit check) with the opening of the subset coin.
        // Every candidate is fixed by now; the differences cannot change one (a wrong difference
        // fails the MAC check), so they may travel with the coin.
        let bv = Self::beaver_diffs(&acc, &all, &acc, &all, (&ta, &tb), tix);
        let mut msg = Vec::with_capacity(32 * t + crate::coins::OPENING_BYTES);
        put_fps(&mut msg, &bv.eps.v);
        put_fps(&mut msg, &bv.del.v);
        let prefix = msg.len();
        msg.extend_from_slice(&coins.opening(c_sub));
        let ins = Out::new(net, kind::COIN, msg).exchange(net, &mut tr)?;
        let mut eps = vec![Fp::ZERO; t];
        let mut del = vec![Fp::ZERO; t];
        for input in &ins {
            let mut r = input.bcast(prefix + crate::coins::OPENING_BYTES)?;
            for (e, x) in eps.iter_mut().zip(r.fps(t)?) {
                *e += x;
            }
            for (e, x) in del.iter_mut().zip(r.fps(t)?) {
                *e += x;
            }
        }
        let seed = coins.finish_after(c_sub, &ins, prefix)?;
        apend.open(&eps, &bv.eps.m);
        apend.open(&del, &bv.del.m);
        drop(bv);
        let sq = Self::beaver_finish(me, alpha, (&ta, &tb, &tc), tix, &eps, &del);
        drop((eps, del));
        // z = x² − x, zero exactly when x is a bit.
        let mut z = Arith {
            v: (0..t).map(|j| sq.v[j] - acc.v[j]).collect(),
            m: (0..t).map(|j| sq.m[j] - acc.m[j]).collect(),
        };
        drop(sq);

        // The parity checks: T_i from the coin; m_i = Σ_{T_i} x + x_{n+i} + 2·Σ_k 2^k r_{i,k}
        // in GF(p), y_i = ⊕_{T_i} x ⊕ x_{n+i} in GF(2).
        let subsets = parity_subsets(&seed, n, s);
        let nw = words(n);
        let mut mv = Arith {
            v: Vec::with_capacity(s),
            m: Vec::with_capacity(s),
        };
        let mut yw = vec![0u64; words(s)];
        let mut ym = Vec::with_capacity(s);
        for (i, sub) in subsets.chunks_exact(nw).enumerate() {
            let (mut v, mut m) = (acc.v[n + i], acc.m[n + i]);
            let mut par = get(&accw, n + i);
            let mut mac = accm[n + i];
            for (k, &w) in sub.iter().enumerate() {
                par ^= (w & accw[k]).count_ones() & 1 == 1;
                let mut bitsleft = w;
                while bitsleft != 0 {
                    let j = 64 * k + bitsleft.trailing_zeros() as usize;
                    bitsleft &= bitsleft - 1;
                    v += acc.v[j];
                    m += acc.m[j];
                    mac += accm[j];
                }
            }
            // Horner from the top: R = Σ_k 2^k r_k; add 2R.
            let (mut rv, mut rm) = (Fp::ZERO, Fp::ZERO);
            for k in (0..l).rev() {
                rv = rv.double() + rbits.v[i * l + k];
                rm = rm.double() + rbits.m[i * l + k];
            }
            mv.v.push(v + rv.double());
            mv.m.push(m + rm.double());
            set(&mut yw, i, par);
            ym.push(mac);
        }
        drop(subsets);
        #[cfg(test)]
        if self.cheat == Some(EdaCheat::FlipBinaryOpening) {
            yw[0] ^= 1;
        }
        #[cfg(test)]
        if self.cheat == Some(EdaCheat::ArithOpeningPlusOne) {
            mv.v[0] += Fp::ONE;
        }

        // Round: open z, m and y.
        let mut avals = std::mem::take(&mut z.v);
        avals.extend_from_slice(&mv.v);
        let (asum, ysum) = Self::open_round(net, &mut tr, &avals, &yw, s)?;
        drop(avals);
        apend.open(&asum[..t], &z.m);
        apend.open(&asum[t..], &mv.m);
        bpend.open(&ysum, &ym);
        drop(z);

        // Round: the MAC-check coin, then both MAC checks (4 rounds).
        let ins = Out::new(net, kind::COIN, coins.opening(c_mac)).exchange(net, &mut tr)?;
        let mseed = coins.finish(c_mac, &ins)?;
        mac_check::check(
            net,
            &session,
            &mut tr,
            alpha,
            &apend,
            &derive(&mseed, "edabits/mac", 0),
            &mut rng,
            None,
        )?;
        bcheck::check(
            net,
            &bsession,
            &mut tr,
            delta,
            &bpend,
            &derive(&mseed, "edabits/binary-mac", 0),
            &mut rng,
            None,
        )?;

        // The conditions, on MAC-checked values only. Bit check: every GF(p) value is a bit.
        if asum[..t].iter().any(|z| !z.is_zero()) {
            return Err(OfflineError::ConsistencyCheckFailed);
        }
        // Parity checks: the low bit of the integer m_i is y_i.
        if (0..s).any(|i| (asum[t + i].to_u128() & 1 == 1) != get(&ysum, i)) {
            return Err(OfflineError::ConsistencyCheckFailed);
        }

        self.stats.batches += 1;
        acc.v.truncate(n);
        acc.m.truncate(n);
        accm.truncate(n);
        Ok((acc, extract(&accw, 0, n), accm))
    }

    /// This party's shares of ε = x_{xi} − a, δ = y_{yi} − b for triples `tix..`.
    fn beaver_diffs(
        x: &Arith,
        xi: &[usize],
        y: &Arith,
        yi: &[usize],
        (ta, tb): (&Arith, &Arith),
        tix: usize,
    ) -> Beaver {
        let k = xi.len();
        let mut eps = Arith {
            v: Vec::with_capacity(k),
            m: Vec::with_capacity(k),
        };
        let mut del = Arith {
            v: Vec::with_capacity(k),
            m: Vec::with_capacity(k),
        };
        for i in 0..k {
            eps.v.push(x.v[xi[i]] - ta.v[tix + i]);
            eps.m.push(x.m[xi[i]] - ta.m[tix + i]);
            del.v.push(y.v[yi[i]] - tb.v[tix + i]);
            del.m.push(y.m[yi[i]] - tb.m[tix + i]);
        }
        Beaver { eps, del }
    }

    /// xy = c + ε·b + δ·a + ε·δ from the opened ε, δ.
    fn beaver_finish(
        me: usize,
        alpha: Fp,
        (ta, tb, tc): (&Arith, &Arith, &Arith),
        tix: usize,
        eps: &[Fp],
        del: &[Fp],
    ) -> Arith {
        let k = eps.len();
        let mut p = Arith {
            v: Vec::with_capacity(k),
            m: Vec::with_capacity(k),
        };
        for i in 0..k {
            let j = tix + i;
            let ed = eps[i] * del[i];
            let mut v = tc.v[j] + eps[i] * tb.v[j] + del[i] * ta.v[j];
            if me == 0 {
                v += ed;
            }
            p.v.push(v);
            p.m.push(tc.m[j] + eps[i] * tb.m[j] + del[i] * ta.m[j] + alpha * ed);
        }
        p
    }

    /// One Beaver round: x_{xi}·y_{yi} element-wise, with the openings queued for the MAC check.
    #[allow(clippy::too_many_arguments)]
    fn beaver(
        net: &mut Network,
        tr: &mut Transcript,
        apend: &mut mac_check::Pending,
        me: usize,
        alpha: Fp,
        t: (&Arith, &Arith, &Arith),
        tix: usize,
        (x, xi): (&Arith, &[usize]),
        (y, yi): (&Arith, &[usize]),
    ) -> Result<Arith> {
        let bv = Self::beaver_diffs(x, xi, y, yi, (t.0, t.1), tix);
        let k = xi.len();
        let mut vals = bv.eps.v.clone();
        vals.extend_from_slice(&bv.del.v);
        let (sum, _) = Self::open_round(net, tr, &vals, &[], 0)?;
        apend.open(&sum[..k], &bv.eps.m);
        apend.open(&sum[k..], &bv.del.m);
        Ok(Self::beaver_finish(me, alpha, t, tix, &sum[..k], &sum[k..]))
    }
}

/// Round 2 of both generators: broadcasts this party's `d = x − r` (its values minus its own
/// input masks) and returns every party's input authenticated, `[x_o]_p = [r_o] + d_o` (party 0
/// adds d to its value share; every party adds α_i·d to its MAC share). The broadcasts go into
/// `tr`, so a party that sends different d to different peers is caught by the MAC check's
/// transcript comparison.
fn authenticate_inputs(
    net: &mut Network,
    tr: &mut Transcript,
    masks: &[protocol::prep::InputMasks],
    d: &[Fp],
    me: usize,
    alpha: Fp,
) -> Result<Vec<Arith>> {
    let t = d.len();
    let mut msg = Vec::with_capacity(16 * t);
    put_fps(&mut msg, d);
    let ins = Out::new(net, kind::EDA_INPUT, msg).exchange(net, tr)?;
    let mut xs: Vec<Arith> = Vec::with_capacity(ins.len());
    for input in &ins {
        input.done()?;
        let dp = input.bcast(16 * t)?.fps(t)?;
        let mut a = Arith::from(&masks[input.peer].shares);
        for ((v, m), dd) in a.v.iter_mut().zip(a.m.iter_mut()).zip(&dp) {
            if me == 0 {
                *v += *dd;
            }
            *m += alpha * *dd;
        }
        xs.push(a);
    }
    Ok(xs)
}
