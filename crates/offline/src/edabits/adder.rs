//! edaBits of m bits by the adder-based dishonest-majority protocol of ePrint 2020/338: every
//! party inputs a random m-bit value in both domains, the binary values are summed with
//! ripple-carry adders on binary triples (the carry out of each addition is brought into GF(p)
//! with a checked daBit), and the cut-and-choose + bucket check compares whole edaBits: for a
//! pair (f, g) of a bucket, (r_f + r_g) mod 2^m is opened in both domains — the binary adder's
//! m low bits, and r_f + r_g − 2^m·c in GF(p) with its carry c brought over by another daBit.
//! Reducing mod 2^m is what makes the opening hide r_f: r_g is uniform in [0, 2^m), so the sum
//! mod 2^m is uniform whatever r_f is, whereas the integer r_f + r_g would tell how large r_f is
//! (a sum of 0 means r_f = 0). See the module docs of `edabits` and docs/PROTOCOL.md.

use field::{Fp, Gf128};
use net::Network;
use protocol::ShareVec;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::{bucket_size, get, put_words, read_words, words, Arith, EdaBitGen};
use crate::binary::check as bcheck;
use crate::binary::{AuthBits, BinaryPrep, BinaryTriples};
use crate::coins::{derive, Coins};
use crate::error::{OfflineError, Result};
use crate::mac_check;
use crate::mascot::Mascot;
use crate::wire::{kind, put_fps, Out, Transcript};

/// Binary-domain context of one batch: this party, Δ_i, the batch's triples with how many of
/// them are used, and the pending openings of the binary MAC check.
struct Bin {
    me: usize,
    delta: Gf128,
    triples: BinaryTriples,
    /// Triples `..used` are spent. A cursor rather than removing them from the front: removing
    /// would copy every remaining triple in every round, quadratic in the batch (it was a fifth
    /// of a mixed comparison's preprocessing CPU).
    used: usize,
    pend: bcheck::Pending,
}

fn gather(col: &AuthBits, idx: &[usize]) -> AuthBits {
    let mut out = AuthBits::new();
    for &j in idx {
        out.push(col.bit(j), col.mac(j));
    }
    out
}

impl Bin {
    /// One round: x ∧ y element-wise (binary Beaver with the next triples).
    fn and(
        &mut self,
        net: &mut Network,
        tr: &mut Transcript,
        x: &AuthBits,
        y: &AuthBits,
    ) -> Result<AuthBits> {
        let len = x.len();
        if self.used + len > self.triples.len() {
            return Err(OfflineError::InvalidArgument(format!(
                "edaBit adder: {len} ANDs need more binary triples than the batch has left ({})",
                self.triples.len() - self.used
            )));
        }
        let t = self.triples.slice(self.used..self.used + len);
        self.used += len;
        let dx = x.xor(&t.a);
        let ey = y.xor(&t.b);
        let mut msg = Vec::new();
        put_words(&mut msg, &dx.value_words()[..words(len)]);
        put_words(&mut msg, &ey.value_words()[..words(len)]);
        let (d, e) = open_bits2(net, tr, msg, len)?;
        self.pend.open(&d, dx.macs());
        self.pend.open(&e, ey.macs());
        let mut z = t.c.clone();
        z.xor_and_public(&d, &t.b);
        z.xor_and_public(&e, &t.a);
        let de: Vec<u64> = d.iter().zip(&e).map(|(a, b)| a & b).collect();
        z.add_public(&de, self.me == 0, self.delta);
        Ok(z)
    }

    /// Ripple-carry adder of two m-column values (m rounds): m sum columns and the carry out.
    fn add(
        &mut self,
        net: &mut Network,
        tr: &mut Transcript,
        x: &[AuthBits],
        y: &[AuthBits],
    ) -> Result<(Vec<AuthBits>, AuthBits)> {
        let mut sum = Vec::with_capacity(x.len());
        let mut carry: Option<AuthBits> = None;
        for (a, b) in x.iter().zip(y) {
            match carry.take() {
                None => {
                    sum.push(a.xor(b));
                    carry = Some(self.and(net, tr, a, b)?);
                }
                Some(c) => {
                    let mut s = a.xor(b);
                    s.xor_assign(&c);
                    sum.push(s);
                    // c' = c ⊕ (a ⊕ c)(b ⊕ c), the majority of a, b, c.
                    let mut nc = self.and(net, tr, &a.xor(&c), &b.xor(&c))?;
                    nc.xor_assign(&c);
                    carry = Some(nc);
                }
            }
        }
        Ok((sum, carry.unwrap_or_default()))
    }

    /// Opens columns (one round); returns the opened words per column.
    fn open_cols(
        &mut self,
        net: &mut Network,
        tr: &mut Transcript,
        cols: &[&AuthBits],
    ) -> Result<Vec<Vec<u64>>> {
        let mut msg = Vec::new();
        for c in cols {
            put_words(&mut msg, &c.value_words()[..words(c.len())]);
        }
        let len = msg.len();
        let ins = Out::new(net, kind::EDA_OPEN, msg).exchange(net, tr)?;
        let mut sums: Vec<Vec<u64>> = cols.iter().map(|c| vec![0u64; words(c.len())]).collect();
        for input in &ins {
            input.done()?;
            let mut r = input.bcast(len)?;
            for (s, c) in sums.iter_mut().zip(cols) {
                let w = read_words(r.take(8 * words(c.len()))?);
                for (x, y) in s.iter_mut().zip(w) {
                    *x ^= y;
                }
            }
        }
        for (s, c) in sums.iter_mut().zip(cols) {
            if !c.len().is_multiple_of(64) {
                if let Some(l) = s.last_mut() {
                    *l &= (1u64 << (c.len() % 64)) - 1;
                }
            }
            self.pend.open(s, c.macs());
        }
        Ok(sums)
    }
}

/// Opens two packed bit vectors of `len` bits each, sent as `msg` (one round).
fn open_bits2(
    net: &mut Network,
    tr: &mut Transcript,
    msg: Vec<u8>,
    len: usize,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let w = words(len);
    let total = msg.len();
    let ins = Out::new(net, kind::EDA_OPEN, msg).exchange(net, tr)?;
    let (mut d, mut e) = (vec![0u64; w], vec![0u64; w]);
    for input in &ins {
        input.done()?;
        let mut r = input.bcast(total)?;
        for (x, y) in d.iter_mut().zip(read_words(r.take(8 * w)?)) {
            *x ^= y;
        }
        for (x, y) in e.iter_mut().zip(read_words(r.take(8 * w)?)) {
            *x ^= y;
        }
    }
    if !len.is_multiple_of(64) {
        let mask = (1u64 << (len % 64)) - 1;
        if let (Some(a), Some(b)) = (d.last_mut(), e.last_mut()) {
            *a &= mask;
            *b &= mask;
        }
    }
    Ok((d, e))
}

impl EdaBitGen {
    /// One batch from n·B + C candidates of `m` input bits per party.
    ///
    /// [`Shape::Strict`]: `n` strict edaBits of m bits; returns GF(p) shares of r' and the m
    /// binary columns (column i: bit i of every output).
    ///
    /// [`Shape::Wide`]: `n` wide edaBits R = Σ_o x_o (m = w input bits per party, no carry ever
    /// leaves the binary domain, so no daBits); returns GF(p) shares of R and its `bits` low
    /// binary columns. The pair check opens the integer R_f + R_g (see `wide` in the module docs
    /// of `edabits` for why that is safe here and not for strict edaBits).
    pub(super) fn adder_batch(
        &mut self,
        mascot: &mut Mascot,
        bin: &mut BinaryPrep,
        net: &mut Network,
        n: usize,
        m: usize,
        shape: Shape,
    ) -> Result<(Arith, Vec<AuthBits>)> {
        let wide = matches!(shape, Shape::Wide { .. });
        let (me, np) = (net.my_id(), net.n_parties());
        let s = mascot.config().security;
        let b = bucket_size(n, s).ok_or_else(|| {
            OfflineError::InvalidArgument(format!("no bucket size reaches 2^-{s} for {n} edaBits"))
        })?;
        let c = b;
        let t = n * b + c;
        let pairs = n * (b - 1);
        let alpha = mascot.mac_key_share();
        let delta = bin.delta_share();
        let session = mascot.config().session;
        let bsession = bin.config().session;

        // Material, in the same order at every party.
        let mut masks = Vec::with_capacity(np);
        for o in 0..np {
            masks.push(mascot.input_masks(net, o, t)?);
        }
        let inbits = bin.auth_bits(net, np * m * t)?;
        // Binary triples: one per column of each adder. Wide sums keep every carry as a new
        // column, so the o-th addition has m + o − 1 columns and the pair sums m + N − 1.
        let and_count = if wide {
            (1..np).map(|o| (m + o - 1) * t).sum::<usize>() + pairs * (m + np - 1)
        } else {
            (np - 1) * m * t + pairs * m
        };
        let triples = bin.triples(net, and_count)?;
        // daBits (strict only): the carries of the sum ((N − 1)·T), then those of the pair check.
        let (dab_arith, dab_bin) = if wide {
            (Arith::default(), protocol::binary::BitShares::default())
        } else {
            let dab = self.dabits(mascot, bin, net, (np - 1) * t + pairs)?;
            (Arith::from(&dab.arith), dab.bin)
        };

        let mut rng = ChaCha20Rng::from_entropy();
        let mut tr = Transcript::new();
        let mut coins = Coins::new(session, me, np, 2, "edabits/adder", &mut rng);
        let (c_perm, c_mac) = (0, 1);
        let mut apend = mac_check::Pending::default();
        let mut bx = Bin {
            me,
            delta,
            triples,
            used: 0,
            pend: bcheck::Pending::default(),
        };
        // Party o's input: columns (o·m + i)·t .. + t.
        let col = |o: usize, i: usize| inbits.slice((o * m + i) * t..(o * m + i + 1) * t);

        // Round 1: private openings of every party's input bits to it; coin commitments.
        let mut out = Out::new(net, kind::EDA_SHARES, coins.commitments());
        for o in (0..np).filter(|&o| o != me) {
            for i in 0..m {
                let cl = col(o, i);
                put_words(out.to(o), &cl.value_words()[..words(t)]);
            }
        }
        let mut ins = out.exchange(net, &mut tr)?;
        let mut mine: Vec<Vec<u64>> = (0..m)
            .map(|i| col(me, i).value_words()[..words(t)].to_vec())
            .collect();
        for input in ins.iter_mut() {
            let p = input.peer;
            coins.read_commitments(p, &mut input.bcast(coins.commitments_len())?)?;
            if p == me {
                continue;
            }
            for w in mine.iter_mut() {
                for (x, y) in w.iter_mut().zip(read_words(input.take(8 * words(t))?)) {
                    *x ^= y;
                }
            }
            input.done()?;
        }

        // Round 2: d = Σ 2^i x_i − r.
        let r_clear = masks[me].clear.clone().ok_or_else(|| {
            OfflineError::InvalidArgument("own input masks came without their values".into())
        })?;
        let mut d: Vec<Fp> = (0..t)
            .map(|j| {
                let v: u128 = (0..m).map(|i| (get(&mine[i], j) as u128) << i).sum();
                Fp::from_u128(v) - r_clear[j]
            })
            .collect();
        #[cfg(test)]
        if let Some(super::EdaCheat::EdaArithPlusOne { all }) = self.cheat {
            let k = if all { t } else { 1 };
            for x in d.iter_mut().take(k) {
                *x += Fp::ONE;
            }
        }
        let xs = super::authenticate_inputs(net, &mut tr, &masks, &d, me, alpha)?;
        d.clear();

        // Sum: binary adders; the carry out into GF(p) with a daBit each (strict), or kept as a
        // new top column (wide: GF(p) simply adds).
        let two_m = Fp::pow2(m as u32);
        let mut acc = xs[0].clone();
        let mut acc_bin: Vec<AuthBits> = (0..m).map(|i| col(0, i)).collect();
        for (o, x) in xs.iter().enumerate().skip(1) {
            let mut xo: Vec<AuthBits> = (0..m).map(|i| col(o, i)).collect();
            if wide {
                while xo.len() < acc_bin.len() {
                    xo.push(zero_column(t));
                }
                let (mut sum, carry) = bx.add(net, &mut tr, &acc_bin, &xo)?;
                sum.push(carry);
                for j in 0..t {
                    acc.v[j] += x.v[j];
                    acc.m[j] += x.m[j];
                }
                acc_bin = sum;
                continue;
            }
            let (sum, carry) = bx.add(net, &mut tr, &acc_bin, &xo)?;
            let masked = carry.xor(&dabit_bits(&dab_bin, (o - 1) * t, t)?);
            let e = bx
                .open_cols(net, &mut tr, &[&masked])?
                .pop()
                .unwrap_or_default();
            for j in 0..t {
                let (cv, cm) = unmask_carry(&dab_arith, (o - 1) * t + j, get(&e, j), me, alpha);
                acc.v[j] = acc.v[j] + x.v[j] - two_m * cv;
                acc.m[j] = acc.m[j] + x.m[j] - two_m * cm;
            }
            acc_bin = sum;
        }
        drop(xs);

        // The permutation coin; opened candidates and bucket pairs.
        let ins = Out::new(net, kind::COIN, coins.opening(c_perm)).exchange(net, &mut tr)?;
        let seed = coins.finish(c_perm, &ins)?;
        let mut perm: Vec<usize> = (0..t).collect();
        let mut prng = ChaCha20Rng::from_seed(derive(&seed, "edabits/adder-perm", 0));
        for i in (1..t).rev() {
            let j = (prng.next_u64() % (i as u64 + 1)) as usize;
            perm.swap(i, j);
        }
        let opened = perm[..c].to_vec();
        let firsts: Vec<usize> = (0..n).map(|k| perm[c + k * b]).collect();
        let (mut fs, mut gs) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
        for k in 0..n {
            for l in 1..b {
                fs.push(perm[c + k * b]);
                gs.push(perm[c + k * b + l]);
            }
        }
        // Binary r_f + r_g (m rounds); its carry out into GF(p) with a daBit (one round, the
        // opened e = carry ⊕ d is uniform); then one round opening: the C candidates in both
        // domains, and (r_f + r_g) mod 2^m of every pair in both domains. Only the reduced sum
        // is ever opened: it is uniform in r_g, so it tells nothing about the output r_f.
        // (Wide: the integer R_f + R_g, all columns and the carry; no daBit.)
        let xf: Vec<AuthBits> = acc_bin.iter().map(|cl| gather(cl, &fs)).collect();
        let xg: Vec<AuthBits> = acc_bin.iter().map(|cl| gather(cl, &gs)).collect();
        let (mut psum, pcarry) = bx.add(net, &mut tr, &xf, &xg)?;
        let base = (np - 1) * t;
        let pe = if wide {
            psum.push(pcarry);
            Vec::new()
        } else {
            let masked = pcarry.xor(&dabit_bits(&dab_bin, base, pairs)?);
            bx.open_cols(net, &mut tr, &[&masked])?
                .pop()
                .unwrap_or_default()
        };
        #[allow(unused_mut)]
        let mut ocols: Vec<AuthBits> = acc_bin.iter().map(|cl| gather(cl, &opened)).collect();
        #[cfg(test)]
        if self.cheat == Some(super::EdaCheat::EdaFlipBinaryOpening) {
            ocols[0].flip(0);
        }
        let mut avals: Vec<Fp> = opened.iter().map(|&j| acc.v[j]).collect();
        let mut amacs: Vec<Fp> = opened.iter().map(|&j| acc.m[j]).collect();
        for (i, (&f, &g)) in fs.iter().zip(&gs).enumerate() {
            if wide {
                avals.push(acc.v[f] + acc.v[g]);
                amacs.push(acc.m[f] + acc.m[g]);
                continue;
            }
            let (cv, cm) = unmask_carry(&dab_arith, base + i, get(&pe, i), me, alpha);
            avals.push(acc.v[f] + acc.v[g] - two_m * cv);
            amacs.push(acc.m[f] + acc.m[g] - two_m * cm);
        }

        let mut amsg = Vec::new();
        put_fps(&mut amsg, &avals);
        let alen = amsg.len();
        let ins = Out::new(net, kind::EDA_INPUT, amsg).exchange(net, &mut tr)?;
        let mut asum = vec![Fp::ZERO; avals.len()];
        for input in &ins {
            input.done()?;
            for (x, y) in asum.iter_mut().zip(input.bcast(alen)?.fps(avals.len())?) {
                *x += y;
            }
        }
        apend.open(&asum, &amacs);
        #[cfg(test)]
        if self.record_checks {
            self.checked_sums.extend_from_slice(&asum[c..]);
        }
        let refs: Vec<&AuthBits> = ocols.iter().chain(psum.iter()).collect();
        let opened_bits = bx.open_cols(net, &mut tr, &refs)?;

        // The MAC-check coin, both MAC checks, then the consistency conditions.
        let ins = Out::new(net, kind::COIN, coins.opening(c_mac)).exchange(net, &mut tr)?;
        let mseed = coins.finish(c_mac, &ins)?;
        mac_check::check(
            net,
            &session,
            &mut tr,
            alpha,
            &apend,
            &derive(&mseed, "edabits/adder-mac", 0),
            &mut rng,
            None,
        )?;
        bcheck::check(
            net,
            &bsession,
            &mut tr,
            delta,
            &bx.pend,
            &derive(&mseed, "edabits/adder-binary-mac", 0),
            &mut rng,
            None,
        )?;
        let value = |cols: &[Vec<u64>], j: usize| -> Fp {
            Fp::from_u128(
                cols.iter()
                    .enumerate()
                    .map(|(i, w)| (get(w, j) as u128) << i)
                    .sum(),
            )
        };
        let (ob, pb) = opened_bits.split_at(acc_bin.len());
        if (0..c).any(|i| asum[i] != value(ob, i)) {
            return Err(OfflineError::ConsistencyCheckFailed);
        }
        if (0..pairs).any(|i| asum[c + i] != value(pb, i)) {
            return Err(OfflineError::ConsistencyCheckFailed);
        }

        let out = Arith {
            v: firsts.iter().map(|&f| acc.v[f]).collect(),
            m: firsts.iter().map(|&f| acc.m[f]).collect(),
        };
        let keep = match shape {
            Shape::Strict => m,
            Shape::Wide { bits } => bits,
        };
        let cols = acc_bin[..keep]
            .iter()
            .map(|cl| gather(cl, &firsts))
            .collect();
        self.stats.batches += 1;
        Ok((out, cols))
    }
}

/// What an adder batch makes (see [`EdaBitGen::adder_batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Strict edaBits: r' = Σ_o x_o mod 2^m, carries converted with daBits.
    Strict,
    /// Wide edaBits: R = Σ_o x_o, keeping the `bits` low binary columns.
    Wide { bits: usize },
}

/// A column of t public zeros (zero value and MAC shares).
fn zero_column(t: usize) -> AuthBits {
    AuthBits::from_parts(t, vec![0u64; words(t)], vec![Gf128::ZERO; t])
        .expect("lengths agree by construction")
}

/// Binary shares of daBits `start..start + len` as [`AuthBits`].
fn dabit_bits(dab: &protocol::binary::BitShares, start: usize, len: usize) -> Result<AuthBits> {
    let d = dab.slice(start..start + len);
    AuthBits::from_parts(len, d.value_words().to_vec(), d.mac_shares().to_vec())
        .ok_or_else(|| OfflineError::InvalidArgument("daBits of the wrong length".into()))
}

/// This party's GF(p) share (value, MAC) of a bit c given by an opened e = c ⊕ d and the daBit
/// (d_p, d_2) number `k`: [c]_p = e + d_p − 2e·d_p, that is d_p if e = 0 and 1 − d_p if e = 1.
fn unmask_carry(dab: &Arith, k: usize, e: bool, me: usize, alpha: Fp) -> (Fp, Fp) {
    if e {
        (
            if me == 0 { Fp::ONE } else { Fp::ZERO } - dab.v[k],
            alpha - dab.m[k],
        )
    } else {
        (dab.v[k], dab.m[k])
    }
}

/// GF(p) shares as a [`ShareVec`].
pub(super) fn share_vec(a: Arith) -> ShareVec {
    ShareVec::from_parts(a.v, a.m)
}
