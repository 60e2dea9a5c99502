//! The insecure dealer: every party derives every tuple from one shared seed.
//!
//! **This is not secure.** Any party can recompute every other party's shares and the global MAC
//! key from the seed, so it gives no privacy and no integrity against the parties themselves. It
//! exists for tests and for benchmarks of the online phase (as MP-SPDZ's `-F` reads files made by
//! `Fake-Offline.x`), and is selectable only through settings whose names contain `insecure`.
//!
//! Each tuple kind has its own ChaCha stream derived from the seed, so parties stay in step as long
//! as they draw the same kinds in the same amounts and order, which the online protocol guarantees.
//!
//! It also deals the binary domain: a binary MAC key Δ = ⊕ Δ_i (from its own stream, independent
//! of α), binary triples, daBits and (loose) edaBits. A bit x is shared as random value bits and
//! random MAC shares for parties 1..N−1, party 0 taking x ⊕ (their bits) and x·Δ + (their MACs).

use std::collections::BTreeMap;

use field::{Fp, Gf128};
use net::PartyId;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;

use super::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind,
    WideEdaBits, MAX_EDABIT_BITS, MAX_WIDE_EDABIT_WIDTH,
};
use crate::binary::{pack_bits, BitShares};
use crate::share::ShareVec;

/// Seeded dealer; see the module docs. Not secure.
pub struct InsecureDealer {
    me: PartyId,
    n: usize,
    seed: [u8; 32],
    /// Prefix of the stream labels; empty for [`InsecureDealer::new`], the chunk label for
    /// [`InsecureDealer::for_chunk`].
    stream_prefix: String,
    alphas: Vec<Fp>,
    alpha: Fp,
    deltas: Vec<Gf128>,
    streams: BTreeMap<TupleKind, ChaCha12Rng>,
}

impl std::fmt::Debug for InsecureDealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InsecureDealer(party={}, parties={})", self.me, self.n)
    }
}

fn binary_keys(seed: &[u8; 32], n: usize) -> Vec<Gf128> {
    let mut rng = derive(seed, "binary-mac-key");
    (0..n)
        .map(|_| Gf128(((rng.next_u64() as u128) << 64) | rng.next_u64() as u128))
        .collect()
}

fn random_gf128(rng: &mut ChaCha12Rng) -> Gf128 {
    Gf128(((rng.next_u64() as u128) << 64) | rng.next_u64() as u128)
}

/// A uniform integer in [0, 2^bits), bits ≤ 127.
fn random_below_pow2(rng: &mut ChaCha12Rng, bits: u32) -> u128 {
    let x = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
    if bits >= 128 {
        x
    } else {
        x & ((1u128 << bits) - 1)
    }
}

fn derive(seed: &[u8; 32], label: &str) -> ChaCha12Rng {
    let mut h = blake3::Hasher::new_derive_key("ephemeral insecure dealer v1");
    h.update(seed);
    h.update(label.as_bytes());
    ChaCha12Rng::from_seed(*h.finalize().as_bytes())
}

impl InsecureDealer {
    /// The dealer of party `me` among `n`, from the seed all parties share. Logs a loud warning.
    pub fn new(me: PartyId, n: usize, seed: [u8; 32]) -> InsecureDealer {
        assert!(me < n, "party id {me} out of range for {n} parties");
        tracing::warn!(
            party = me,
            "INSECURE preprocessing: the dealer derives every party's tuples and MAC key from one shared seed; use only for tests and benchmarks"
        );
        let mut rng = derive(&seed, "mac-key");
        let alphas: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
        InsecureDealer {
            me,
            n,
            seed,
            stream_prefix: String::new(),
            alpha: alphas[me],
            alphas,
            deltas: binary_keys(&seed, n),
            streams: BTreeMap::new(),
        }
    }

    /// The dealer of one chunk of tuples: the same MAC key as [`InsecureDealer::new`] with this
    /// seed, but tuple streams of their own, derived from `chunk_label`. Every party calling this
    /// with the same seed and label gets its share of the same tuples, so a node can fill its
    /// tuple store chunk by chunk. Does not log (the node warns once when it enables the dealer).
    pub fn for_chunk(me: PartyId, n: usize, seed: [u8; 32], chunk_label: &str) -> InsecureDealer {
        assert!(me < n, "party id {me} out of range for {n} parties");
        let mut rng = derive(&seed, "mac-key");
        let alphas: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
        InsecureDealer {
            me,
            n,
            seed,
            stream_prefix: format!("chunk:{chunk_label}:"),
            alpha: alphas[me],
            alphas,
            deltas: binary_keys(&seed, n),
            streams: BTreeMap::new(),
        }
    }

    /// The global MAC key α = Σ α_i. Only an insecure dealer can know it; for tests.
    pub fn global_mac_key(&self) -> Fp {
        self.alphas.iter().copied().sum()
    }

    /// The global binary MAC key Δ = ⊕ Δ_i. Only an insecure dealer can know it; for tests.
    pub fn global_binary_key(&self) -> Gf128 {
        self.deltas.iter().fold(Gf128::ZERO, |a, &d| a + d)
    }

    /// Shares `bits` among all parties in the binary domain from `kind`'s stream and keeps this
    /// party's share.
    fn share_bits(&mut self, kind: TupleKind, bits: &[bool]) -> BitShares {
        let (me, n) = (self.me, self.n);
        let delta = self.global_binary_key();
        let rng = self.stream(kind);
        let mut vals = Vec::with_capacity(bits.len());
        let mut macs = Vec::with_capacity(bits.len());
        for &x in bits {
            let (mut v0, mut m0) = (x, delta.select(x));
            let (mut vi, mut mi) = (false, Gf128::ZERO);
            for p in 1..n {
                let v = rng.next_u32() & 1 == 1;
                let m = random_gf128(rng);
                v0 ^= v;
                m0 += m;
                if p == me {
                    (vi, mi) = (v, m);
                }
            }
            if me == 0 {
                (vi, mi) = (v0, m0);
            }
            vals.push(vi);
            macs.push(mi);
        }
        BitShares::from_parts(bits.len(), pack_bits(vals), macs).expect("consistent lengths")
    }

    fn random_bits(&mut self, kind: TupleKind, n: usize) -> Vec<bool> {
        let rng = self.stream(kind);
        let mut out = Vec::with_capacity(n);
        let mut word = 0u64;
        for i in 0..n {
            if i % 64 == 0 {
                word = rng.next_u64();
            }
            out.push((word >> (i % 64)) & 1 == 1);
        }
        out
    }

    fn stream(&mut self, kind: TupleKind) -> &mut ChaCha12Rng {
        let seed = self.seed;
        let prefix = &self.stream_prefix;
        self.streams
            .entry(kind)
            .or_insert_with(|| derive(&seed, &format!("{prefix}{kind:?}")))
    }

    /// Shares `values` among all parties from `kind`'s stream and keeps this party's share.
    fn share(&mut self, kind: TupleKind, values: &[Fp]) -> ShareVec {
        let (me, n) = (self.me, self.n);
        let alpha: Fp = self.alphas.iter().copied().sum();
        let rng = self.stream(kind);
        let mut out = ShareVec::with_capacity(values.len());
        for &x in values {
            let mac = alpha * x;
            let (mut v0, mut m0) = (x, mac);
            let (mut vi, mut mi) = (Fp::ZERO, Fp::ZERO);
            for p in 1..n {
                let (v, m) = (Fp::random(rng), Fp::random(rng));
                v0 -= v;
                m0 -= m;
                if p == me {
                    (vi, mi) = (v, m);
                }
            }
            if me == 0 {
                (vi, mi) = (v0, m0);
            }
            out.v.push(vi);
            out.m.push(mi);
        }
        out
    }

    fn randoms(&mut self, kind: TupleKind, n: usize) -> Vec<Fp> {
        let rng = self.stream(kind);
        (0..n).map(|_| Fp::random(rng)).collect()
    }
}

impl Preprocessing for InsecureDealer {
    fn mac_key_share(&self) -> Fp {
        self.alpha
    }

    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        let k = TupleKind::Triple;
        let a = self.randoms(k, n);
        let b = self.randoms(k, n);
        let c: Vec<Fp> = a.iter().zip(&b).map(|(&x, &y)| x * y).collect();
        Ok(Triples {
            a: self.share(k, &a),
            b: self.share(k, &b),
            c: self.share(k, &c),
        })
    }

    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let k = TupleKind::Square;
        let a = self.randoms(k, n);
        let b: Vec<Fp> = a.iter().map(|x| x.square()).collect();
        Ok(Pairs {
            a: self.share(k, &a),
            b: self.share(k, &b),
        })
    }

    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        let k = TupleKind::Bit;
        let rng = self.stream(k);
        let mut bits = Vec::with_capacity(n);
        let mut word = 0u64;
        for i in 0..n {
            if i % 64 == 0 {
                word = rand_chacha::rand_core::RngCore::next_u64(rng);
            }
            bits.push(Fp::from_u64((word >> (i % 64)) & 1));
        }
        Ok(self.share(k, &bits))
    }

    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        let k = TupleKind::Inverse;
        let rng = self.stream(k);
        let mut a = Vec::with_capacity(n);
        while a.len() < n {
            let x = Fp::random(rng);
            if !x.is_zero() {
                a.push(x);
            }
        }
        let b: Vec<Fp> = a.iter().map(|x| x.inverse().expect("non-zero")).collect();
        Ok(Pairs {
            a: self.share(k, &a),
            b: self.share(k, &b),
        })
    }

    fn binary_key_share(&self) -> Option<Gf128> {
        Some(self.deltas[self.me])
    }

    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        let k = TupleKind::BitTriple;
        let a = self.random_bits(k, n);
        let b = self.random_bits(k, n);
        let c: Vec<bool> = a.iter().zip(&b).map(|(&x, &y)| x & y).collect();
        Ok(BitTriples {
            a: self.share_bits(k, &a),
            b: self.share_bits(k, &b),
            c: self.share_bits(k, &c),
        })
    }

    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        let k = TupleKind::DaBit;
        let b = self.random_bits(k, n);
        let as_fp: Vec<Fp> = b.iter().map(|&x| Fp::from(x)).collect();
        Ok(DaBits {
            arith: self.share(k, &as_fp),
            bin: self.share_bits(k, &b),
        })
    }

    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        let k = TupleKind::EdaBit { bits, extra };
        if bits == 0 || bits + extra > MAX_EDABIT_BITS {
            return Err(PrepError::Source(format!(
                "edaBits of {bits} binary and {extra} arithmetic-only bits are not supported: need 1 ≤ bits and bits + extra ≤ {MAX_EDABIT_BITS}"
            )));
        }
        let rng = self.stream(k);
        let low: Vec<u128> = (0..n).map(|_| random_below_pow2(rng, bits)).collect();
        let high: Vec<u128> = (0..n).map(|_| random_below_pow2(rng, extra)).collect();
        let bin: Vec<bool> = (0..bits as usize)
            .flat_map(|i| low.iter().map(move |&r| (r >> i) & 1 == 1))
            .collect();
        let low_fp: Vec<Fp> = low.iter().map(|&x| Fp::from_u128(x)).collect();
        let high_fp: Vec<Fp> = high.iter().map(|&x| Fp::from_u128(x)).collect();
        Ok(EdaBits {
            bits,
            extra,
            low: self.share(k, &low_fp),
            high: self.share(k, &high_fp),
            bin: self.share_bits(k, &bin),
        })
    }

    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        let k = TupleKind::WideEdaBit { bits, width };
        if bits == 0 || bits > width || width > MAX_WIDE_EDABIT_WIDTH {
            return Err(PrepError::Source(format!(
                "wide edaBits of {width} bits ({bits} in binary) are not supported: need 1 ≤ bits ≤ width ≤ {MAX_WIDE_EDABIT_WIDTH}"
            )));
        }
        // As the generator makes them: the sum of one w-bit value per party.
        let parties = self.n;
        let rng = self.stream(k);
        let r: Vec<u128> = (0..n)
            .map(|_| (0..parties).map(|_| random_below_pow2(rng, width)).sum())
            .collect();
        let bin: Vec<bool> = (0..bits as usize)
            .flat_map(|i| r.iter().map(move |&x| (x >> i) & 1 == 1))
            .collect();
        let r_fp: Vec<Fp> = r.iter().map(|&x| Fp::from_u128(x)).collect();
        Ok(WideEdaBits {
            bits,
            width,
            value: self.share(k, &r_fp),
            bin: self.share_bits(k, &bin),
        })
    }

    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        if owner >= self.n {
            return Err(PrepError::Source(format!(
                "no party {owner} among {} parties",
                self.n
            )));
        }
        let k = TupleKind::InputMask(owner);
        let r = self.randoms(k, n);
        let shares = self.share(k, &r);
        Ok(InputMasks {
            shares,
            clear: (owner == self.me).then_some(r),
        })
    }
}
