//! One batch of binary triples: steps 1–6 of the parent module's docs.
//!
//! | round | sends | why then |
//! |---|---|---|
//! | 1 | OT-extension `c` for a, b, r and the dummies; commitments to 3 coin shares | |
//! | 2 | open coin 1 → KOS challenges, authentication coefficients | after `c` is fixed |
//! | 3 | KOS responses; broadcast share of y | |
//! | 4 | multiplication `d` and `U` to every peer (only if its KOS check passed) | |
//! | 5 | broadcast `f = c ⊕ r`; open coin 2 → the combine permutation | after every `d` and `U` |
//! | 6 | broadcast shares of the combine's opened bits | |
//! | 7 | open coin 3 → MAC-check coefficients | after every opening |
//! | 8, 9 | MAC check (with the Δ-product check): commit to σ and the transcript digest, open σ | |

use field::Gf128;
use net::Network;

use super::bits::{self, AuthBits};
use super::check::{self, Pending};
#[cfg(test)]
use super::BinaryCheat;
use super::{bytes_words, peers, word_bytes, Authenticated, BinaryPrep, BinaryTriples};
use crate::coins::{derive, Coins, OPENING_BYTES};
use crate::error::Result;
use crate::wire::{kind, Out, Transcript};

use super::hash::Sampler;

/// Leaky triples with each triple's three MAC shares side by side, so that a permutation
/// touches one cache line per triple.
struct Leaky {
    a: Vec<u64>,
    b: Vec<u64>,
    c: Vec<u64>,
    m: Vec<[Gf128; 3]>,
}

/// A hint to load `x`'s cache line (no effect on other architectures).
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; the pointer comes from a reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(x as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// `x` if `bit`, else 0, without a branch.
#[inline(always)]
fn sel(bit: u64, x: u128) -> u128 {
    x & ((bit & 1) as u128).wrapping_neg()
}

impl Leaky {
    /// The triples at positions `idx`, in that order, as (a, b, c).
    fn gather(&self, idx: &[u32]) -> (AuthBits, AuthBits, AuthBits) {
        let n = idx.len();
        let w = bits::words(n);
        let (mut a, mut b, mut c) = (vec![0u64; w], vec![0u64; w], vec![0u64; w]);
        let mut ma = Vec::with_capacity(n);
        let mut mb = Vec::with_capacity(n);
        let mut mc = Vec::with_capacity(n);
        // The accesses are random (a permutation over megabytes): fetch ahead.
        const AHEAD: usize = 16;
        for (j, &i) in idx.iter().enumerate() {
            if let Some(&next) = idx.get(j + AHEAD) {
                prefetch(&self.m[next as usize]);
            }
            let i = i as usize;
            let (wi, si, wj, sj) = (i / 64, i % 64, j / 64, j % 64);
            a[wj] |= ((self.a[wi] >> si) & 1) << sj;
            b[wj] |= ((self.b[wi] >> si) & 1) << sj;
            c[wj] |= ((self.c[wi] >> si) & 1) << sj;
            let m = &self.m[i];
            ma.push(m[0]);
            mb.push(m[1]);
            mc.push(m[2]);
        }
        (
            AuthBits::from_raw(n, a, ma),
            AuthBits::from_raw(n, b, mb),
            AuthBits::from_raw(n, c, mc),
        )
    }
}

impl BinaryPrep {
    /// One batch of ℓ = batch-size checked triples.
    pub(super) fn triple_batch(&mut self, net: &mut Network) -> Result<BinaryTriples> {
        let (me, np) = (self.me, self.n);
        let bk = self.buckets;
        let mm = bk.leaky();
        let w = mm / 64;
        let m = 3 * mm + 128;
        let values = self.random_words(m);
        let mut tr = Transcript::new();
        let mut coins = Coins::new(self.cfg.session, me, np, 3, "binary/triples", &mut self.rng);
        let (c_chi, c_perm, c_mac) = (0, 1, 2);
        let mut pending = Pending::default();

        // Rounds 1–3: authenticate a, b, r and the dummies.
        let Authenticated {
            macs,
            recv,
            send,
            chi: _,
        } = self.authenticate(net, &mut tr, &mut coins, c_chi, &values, m, &mut pending)?;
        let (a_me, rest) = values.split_at(w);
        let (b_me, rest) = rest.split_at(w);
        let r_me = &rest[..w];
        #[cfg(test)]
        {
            self.first_a_share = Some(a_me[0] & 1 == 1);
        }
        // Φ_k: this party's MAC share of b_k (⊕ over parties: b_k·Δ).
        let phi = &macs[mm..2 * mm];

        // Round 4: multiplication. Local products a^i b^i and a^i·Φ^i; then per peer as sender
        // (rows q of the peer's a-bits): d = H(q) ⊕ H(q ⊕ Δ_i) ⊕ b^i and U = W(q) ⊕ W(q ⊕ Δ_i) ⊕
        // Φ^i, keeping H(q) and W(q).
        let mut c_me: Vec<u64> = a_me.iter().zip(b_me).map(|(x, y)| x & y).collect();
        let mut s_me: Vec<u128> = phi
            .iter()
            .enumerate()
            .map(|(k, f)| sel(a_me[k / 64] >> (k % 64), f.0))
            .collect();
        let mut out = Out::new(net, kind::BIN_D, Vec::new());
        let (mut h0, mut h1) = (vec![0u64; w], vec![0u64; w]);
        let (mut w0, mut w1) = (vec![0u128; mm], vec![0u128; mm]);
        let delta = self.delta.0;
        for p in peers(me, np) {
            let s = self.kos_send[p].as_ref().expect("set for every peer");
            let batch = send[p].as_ref().expect("set above");
            let rows = &batch.rows[..mm];
            self.hash
                .hash_bits_wide(rows, 0, s.instance, batch.first, &mut h0, &mut w0);
            self.hash
                .hash_bits_wide(rows, delta, s.instance, batch.first, &mut h1, &mut w1);
            #[allow(unused_mut)]
            let (mut flip, mut flip_u) = (0u64, 0u128);
            #[cfg(test)]
            if p == self.victim() {
                if self.cheating(BinaryCheat::WrongMultiplication) {
                    flip = u64::MAX;
                }
                if self.cheating(BinaryCheat::WrongProductMessage) {
                    flip_u = 1 << 77;
                }
            }
            let f = out.to(p);
            f.reserve(8 * w + 16 * mm);
            #[cfg(test)]
            let u_start = f.len() + 8 * w;
            for ((x, y), b) in h0.iter().zip(&h1).zip(b_me) {
                f.extend_from_slice(&(x ^ y ^ b ^ flip).to_le_bytes());
            }
            for ((x, y), ph) in w0.iter().zip(&w1).zip(phi) {
                f.extend_from_slice(&(x ^ y ^ ph.0 ^ flip_u).to_le_bytes());
            }
            #[cfg(test)]
            if self.cheating(BinaryCheat::SelectiveProduct) && p == self.victim() {
                f[u_start] ^= 1;
            }
            for (c, x) in c_me.iter_mut().zip(&h0) {
                *c ^= x;
            }
            for (s, x) in s_me.iter_mut().zip(&w0) {
                *s ^= x;
            }
            #[cfg(test)]
            if self.cheating(BinaryCheat::TruncatedMessage) && p == self.victim() {
                out.to(p).pop();
            }
        }
        drop(w1);
        // As receiver (rows t of this party's a-bits): c ⊕= H(t) ⊕ a·d, s ⊕= W(t) ⊕ a·U.
        let mut ins = out.exchange(net, &mut tr)?;
        for p in peers(me, np) {
            let d = bytes_words(ins[p].take(8 * w)?, w);
            let u = ins[p].take(16 * mm)?;
            let r = self.kos_recv[p].as_ref().expect("set for every peer");
            let batch = recv[p].as_ref().expect("set above");
            self.hash.hash_bits_wide(
                &batch.rows[..mm],
                0,
                r.instance,
                batch.first,
                &mut h0,
                &mut w0,
            );
            for (((c, h), a), d) in c_me.iter_mut().zip(&h0).zip(a_me).zip(&d) {
                *c ^= h ^ (a & d);
            }
            for (k, ((s, x), uk)) in s_me.iter_mut().zip(&w0).zip(u.chunks_exact(16)).enumerate() {
                let uk = u128::from_le_bytes(uk.try_into().expect("16 bytes"));
                *s ^= x ^ sel(a_me[k / 64] >> (k % 64), uk);
            }
            ins[p].done()?;
        }
        drop((h0, h1, w0, ins));
        self.recycle(recv, send);
        #[cfg(test)]
        if self.cheating(BinaryCheat::WrongTripleShare) {
            c_me[0] ^= 1;
        }
        #[cfg(test)]
        if self.cheating(BinaryCheat::WrongProductShare) {
            s_me[0] ^= 1;
        }

        // Round 5: f = c ⊕ r, broadcast, with the opening of the combine coin. Every d and U is
        // fixed by now, so the set of touched triples is chosen before the permutation is
        // known. A rushing party that sees the permutation before sending f can only choose
        // which value of a touched triple's honest bit passes (as it can later through its σ
        // anyway): each touched triple still passes for exactly one value.
        let mut bcast = Vec::with_capacity(8 * w + OPENING_BYTES);
        for (c, r) in c_me.iter().zip(r_me) {
            bcast.extend_from_slice(&(c ^ r).to_le_bytes());
        }
        bcast.extend_from_slice(&coins.opening(c_perm));
        drop(c_me);
        let ins = Out::new(net, kind::BIN_F, bcast).exchange(net, &mut tr)?;
        let mut f = vec![0u64; w];
        for input in &ins {
            input.done()?;
            let mut rd = input.bcast(8 * w + OPENING_BYTES)?;
            for (x, y) in f.iter_mut().zip(bytes_words(rd.take(8 * w)?, w)) {
                *x ^= y;
            }
        }
        let perm_seed = coins.finish_after(c_perm, &ins, 8 * w)?;
        // [c] = [r] ⊕ f: party 0 adds f to its share, every party f·Δ_i to its MACs. The
        // Δ-product check: ⊕ over parties of s_k ⊕ m(c_k) is (a_k b_k ⊕ c_k)·Δ, which must be 0.
        let c_vals: Vec<u64> = if me == 0 {
            r_me.iter().zip(&f).map(|(r, f)| r ^ f).collect()
        } else {
            r_me.to_vec()
        };
        let delta_i = self.delta;
        #[allow(unused_mut)]
        let mut all = Leaky {
            a: a_me.to_vec(),
            b: b_me.to_vec(),
            c: c_vals,
            m: (0..mm)
                .map(|k| {
                    [
                        macs[k],
                        macs[mm + k],
                        macs[2 * mm + k] + delta_i.select(bits::get(&f, k)),
                    ]
                })
                .collect(),
        };
        let zeros: Vec<Gf128> = s_me
            .iter()
            .zip(&all.m)
            .map(|(s, m)| Gf128(s ^ m[2].0))
            .collect();
        pending.zero(&zeros);
        drop((zeros, s_me, macs, values));

        // The combine permutation; ℓ buckets of B' from the first ℓ·B' leaky triples.
        let bc = bk.combine;
        let perm = Sampler::new(&derive(&perm_seed, "binary/combine", 0)).permutation(mm);
        #[cfg(test)]
        if self.cheating(BinaryCheat::WrongMac) {
            // A leaky triple that goes into an output: its b is opened in the combine.
            all.m[perm[0] as usize][1].0 ^= 1;
        }
        let group: Vec<(AuthBits, AuthBits, AuthBits)> = (0..bc)
            .map(|k| {
                let idx: Vec<u32> = (0..bk.out).map(|h| perm[h * bc + k]).collect();
                all.gather(&idx)
            })
            .collect();
        drop((all, perm));

        // Round 6: open g_k = y_1 ⊕ y_k.
        let to_open: Vec<AuthBits> = group[1..].iter().map(|t| group[0].1.xor(&t.1)).collect();
        let total_words: usize = to_open.iter().map(|v| v.value_words().len()).sum();
        let mut bcast = Vec::with_capacity(8 * total_words);
        for v in &to_open {
            word_bytes(v.value_words(), &mut bcast);
        }
        #[cfg(test)]
        if self.cheating(BinaryCheat::WrongOpening) {
            bcast[0] ^= 1;
        }
        let ins = Out::new(net, kind::BIN_OPEN, bcast).exchange(net, &mut tr)?;
        let mut open_words = vec![0u64; total_words];
        for input in &ins {
            input.done()?;
            let mut rd = input.bcast(8 * total_words)?;
            for (x, y) in open_words
                .iter_mut()
                .zip(bytes_words(rd.take(8 * total_words)?, total_words))
            {
                *x ^= y;
            }
        }
        let mut g_open: Vec<Vec<u64>> = Vec::with_capacity(to_open.len());
        let mut off = 0;
        for v in &to_open {
            let n = v.value_words().len();
            // Bits beyond the vector's length carry nothing.
            let mut words = open_words[off..off + n].to_vec();
            bits::trim(&mut words, v.len());
            pending.open(&words, v.macs());
            g_open.push(words);
            off += n;
        }
        drop(to_open);

        // Combine: x = ⊕ x_k, y = y_1, z = z_1 ⊕ ⊕_k (z_k ⊕ g_k·x_k).
        let mut group = group.into_iter();
        let (mut x, y, mut z) = group.next().expect("bc ≥ 2");
        for ((xa, _, zc), g) in group.zip(&g_open) {
            x.xor_assign(&xa);
            z.xor_assign(&zc);
            z.xor_and_public(g, &xa);
        }

        // Round 7: the MAC-check coin; rounds 8 and 9: the MAC check, which also checks every
        // leaky triple's Δ-product (the zeros).
        let ins = Out::new(net, kind::COIN, coins.opening(c_mac)).exchange(net, &mut tr)?;
        let mac_seed = coins.finish(c_mac, &ins)?;
        #[cfg(test)]
        let lie = self.cheating(BinaryCheat::LieAboutSigma).then_some(1);
        #[cfg(not(test))]
        let lie = None;
        check::check(
            net,
            &self.cfg.session,
            &mut tr,
            self.delta,
            &pending,
            &mac_seed,
            &mut self.rng,
            lie,
        )?;
        self.stats.batches += 1;
        self.stats.triples += bk.out as u64;
        self.stats.leaky_triples += mm as u64;
        Ok(BinaryTriples { a: x, b: y, c: z })
    }
}
