//! One batch of binary triples: steps 1–6 of the parent module's docs.
//!
//! | round | sends | why then |
//! |---|---|---|
//! | 1 | KOS `u` for a, b, r and the dummies; commitments to 3 coin shares | |
//! | 2 | open coin 1 → KOS challenges, authentication coefficients | after `u` is fixed |
//! | 3 | KOS responses; broadcast share of y | |
//! | 4 | multiplication `d` to every peer (only if its KOS check passed) | |
//! | 5 | broadcast `f = c ⊕ r` | |
//! | 6 | open coin 2 → the two permutations | after c is fixed |
//! | 7 | broadcast shares of every opened bit (sacrifice, combine, opened triples) | |
//! | 8 | open coin 3 → MAC-check coefficients | after every opening |
//! | 9, 10 | MAC check: commit to σ and the transcript digest, open σ | |

use field::Gf128;
use net::Network;

use super::bits::{self, AuthBits};
use super::check::{self, Pending};
#[cfg(test)]
use super::BinaryCheat;
use super::{bytes_words, peers, word_bytes, Authenticated, BinaryPrep, BinaryTriples};
use crate::coins::{derive, Coins};
use crate::error::{OfflineError, Result};
use crate::wire::{kind, Out, Transcript};

use super::hash::Sampler;

/// A vector of triples, bit-sliced.
struct Tri {
    a: AuthBits,
    b: AuthBits,
    c: AuthBits,
}

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

impl Leaky {
    fn from_tri(t: &Tri) -> Leaky {
        Leaky {
            a: t.a.value_words().to_vec(),
            b: t.b.value_words().to_vec(),
            c: t.c.value_words().to_vec(),
            m: (0..t.a.len())
                .map(|k| [t.a.mac(k), t.b.mac(k), t.c.mac(k)])
                .collect(),
        }
    }

    /// The triples at positions `idx`, in that order.
    fn gather(&self, idx: &[u32]) -> Tri {
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
        Tri {
            a: AuthBits::from_raw(n, a, ma),
            b: AuthBits::from_raw(n, b, mb),
            c: AuthBits::from_raw(n, c, mc),
        }
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

        // Round 4: multiplication. Local products, then per peer as sender: d = H(q) ⊕ H(q ⊕ Δ)
        // ⊕ b, keeping H(q).
        let mut c_me: Vec<u64> = a_me.iter().zip(b_me).map(|(x, y)| x & y).collect();
        let mut out = Out::new(net, kind::BIN_D, Vec::new());
        let mut h0 = vec![0u64; w];
        let mut h1 = vec![0u64; w];
        let delta = self.delta.0;
        for p in peers(me, np) {
            let s = self.kos_send[p].as_ref().expect("set for every peer");
            let batch = send[p].as_ref().expect("set above");
            let rows = &batch.rows[..mm];
            self.hash
                .hash_bits(rows, 0, s.instance, batch.first, &mut h0);
            self.hash
                .hash_bits(rows, delta, s.instance, batch.first, &mut h1);
            #[allow(unused_mut)]
            let mut flip = 0u64;
            #[cfg(test)]
            if self.cheating(BinaryCheat::WrongMultiplication) && p == self.victim() {
                flip = u64::MAX;
            }
            let d: Vec<u64> = h0
                .iter()
                .zip(&h1)
                .zip(b_me)
                .map(|((x, y), b)| x ^ y ^ b ^ flip)
                .collect();
            for (c, x) in c_me.iter_mut().zip(&h0) {
                *c ^= x;
            }
            word_bytes(&d, out.to(p));
            #[cfg(test)]
            if self.cheating(BinaryCheat::TruncatedMessage) && p == self.victim() {
                out.to(p).pop();
            }
        }
        let mut ins = out.exchange(net, &mut tr)?;
        for p in peers(me, np) {
            let d = bytes_words(ins[p].take(8 * w)?, w);
            ins[p].done()?;
            let r = self.kos_recv[p].as_ref().expect("set for every peer");
            let batch = recv[p].as_ref().expect("set above");
            self.hash
                .hash_bits(&batch.rows[..mm], 0, r.instance, batch.first, &mut h0);
            for (((c, h), a), d) in c_me.iter_mut().zip(&h0).zip(a_me).zip(&d) {
                *c ^= h ^ (a & d);
            }
        }
        drop((h0, h1));
        self.recycle(recv, send);
        #[cfg(test)]
        if self.cheating(BinaryCheat::WrongTripleShare) {
            c_me[0] ^= 1;
        }

        // Round 5: f = c ⊕ r, broadcast.
        let f_me: Vec<u64> = c_me.iter().zip(r_me).map(|(c, r)| c ^ r).collect();
        drop(c_me);
        let mut bcast = Vec::with_capacity(8 * w);
        word_bytes(&f_me, &mut bcast);
        let ins = Out::new(net, kind::BIN_F, bcast).exchange(net, &mut tr)?;
        let mut f = vec![0u64; w];
        for input in &ins {
            input.done()?;
            let mut rd = input.bcast(8 * w)?;
            for (x, y) in f.iter_mut().zip(bytes_words(rd.take(8 * w)?, w)) {
                *x ^= y;
            }
        }
        // [c] = [r] ⊕ f: party 0 adds f to its share, every party f·Δ_i to its MACs.
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
        drop(macs);
        drop(values);
        #[cfg(test)]
        if self.cheating(BinaryCheat::WrongMac) {
            all.m[0][0].0 ^= 1;
        }

        // Round 6: the permutations.
        let ins = Out::new(net, kind::COIN, coins.opening(c_perm)).exchange(net, &mut tr)?;
        let perm_seed = coins.finish(c_perm, &ins)?;
        let (bs, bc, copen, l1) = (bk.sacrifice, bk.combine, bk.opened, bk.checked());
        let perm = Sampler::new(&derive(&perm_seed, "binary/sacrifice", 0)).permutation(mm);
        let opened = all.gather(&perm[..copen]);
        let bucket: Vec<Tri> = (0..bs)
            .map(|k| {
                let idx: Vec<u32> = (0..l1).map(|g| perm[copen + g * bs + k]).collect();
                all.gather(&idx)
            })
            .collect();
        drop(all);
        let checked = Leaky::from_tri(&bucket[0]);
        let perm2 = Sampler::new(&derive(&perm_seed, "binary/combine", 0)).permutation(l1);
        let group: Vec<Tri> = (0..bc)
            .map(|k| {
                let idx: Vec<u32> = (0..bk.out).map(|h| perm2[h * bc + k]).collect();
                checked.gather(&idx)
            })
            .collect();

        // Round 7: open d_k = a ⊕ a_k, e_k = b ⊕ b_k (sacrifice), g_k = y_1 ⊕ y_k (combine) and
        // the opened triples.
        let mut to_open: Vec<AuthBits> = Vec::new();
        for t in &bucket[1..] {
            to_open.push(bucket[0].a.xor(&t.a));
        }
        for t in &bucket[1..] {
            to_open.push(bucket[0].b.xor(&t.b));
        }
        for t in &group[1..] {
            to_open.push(group[0].b.xor(&t.b));
        }
        to_open.push(opened.a.clone());
        to_open.push(opened.b.clone());
        to_open.push(opened.c.clone());
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
        // Split the opened words per vector.
        let mut opened_vals: Vec<Vec<u64>> = Vec::with_capacity(to_open.len());
        let mut off = 0;
        for v in &to_open {
            let n = v.value_words().len();
            // Bits beyond the vector's length carry nothing.
            let mut words = open_words[off..off + n].to_vec();
            bits::trim(&mut words, v.len());
            pending.open(&words, v.macs());
            opened_vals.push(words);
            off += n;
        }
        drop(to_open);
        let (d_open, rest) = opened_vals.split_at(bs - 1);
        let (e_open, rest) = rest.split_at(bs - 1);
        let (g_open, rest) = rest.split_at(bc - 1);
        let (oa, ob, oc) = (&rest[0], &rest[1], &rest[2]);

        // Sacrifice zeros: c ⊕ c_k ⊕ d·b_k ⊕ e·a_k ⊕ d·e.
        for (k, t) in bucket[1..].iter().enumerate() {
            let (d, e) = (&d_open[k], &e_open[k]);
            let mut z = bucket[0].c.xor(&t.c);
            z.xor_and_public(d, &t.b);
            z.xor_and_public(e, &t.a);
            let de: Vec<u64> = d.iter().zip(e).map(|(x, y)| x & y).collect();
            z.add_public(&de, me == 0, self.delta);
            pending.zero(z.macs());
        }
        drop(bucket);

        // Combine: x = ⊕ x_k, y = y_1, z = z_1 ⊕ ⊕_k (z_k ⊕ g_k·x_k).
        let mut group = group.into_iter();
        let first = group.next().expect("bc ≥ 2");
        let (mut x, y, mut z) = (first.a, first.b, first.c);
        for (t, g) in group.zip(g_open) {
            x.xor_assign(&t.a);
            z.xor_assign(&t.c);
            z.xor_and_public(g, &t.a);
        }

        // Round 8: the MAC-check coin; rounds 9 and 10: the MAC check.
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
        // The opened triples, now known to be the values that were authenticated.
        if oa.iter().zip(ob).zip(oc).any(|((a, b), c)| a & b != *c) {
            return Err(OfflineError::SacrificeFailed);
        }
        self.stats.batches += 1;
        self.stats.triples += bk.out as u64;
        self.stats.leaky_triples += mm as u64;
        Ok(BinaryTriples { a: x, b: y, c: z })
    }
}
