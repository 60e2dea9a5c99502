//! Multiplication triples (MASCOT's Π_Triple, Fig. 10 of the paper) and the tuples derived from
//! them: squares, random bits and inverse pairs.
//!
//! # One batch of n triples
//!
//! Each party i samples `a^i ∈ F^{n×τ}` and `b^i ∈ F^n` (τ from [`tau`], 3 for s = 40).
//!
//! **Multiply (Gilboa over OT).** For every ordered pair (i, j), i ≠ j, and every product
//! `a^i_{k,h}·b^j_k`, the pair runs 128 OTs of the extension in which i is the receiver with the
//! bits `a_l` of `a^i_{k,h}` as choices ([`crate::kos`]). With `v⁰_l, v¹_l` the sender's two
//! field outputs of OT l and `v^{a_l}_l` the receiver's:
//!
//! ```text
//!   j sends  d_l = v⁰_l − v¹_l + b^j_k
//!   i sets   s_l = v^{a_l}_l + a_l·d_l = v⁰_l + a_l·b^j_k
//!   i keeps  Σ_l 2^l·s_l,   j keeps −Σ_l 2^l·v⁰_l;   they sum to a^i_{k,h}·b^j_k.
//! ```
//!
//! With the local products, party i's share of `c_{k,h} = a_{k,h}·b_k` (a = Σ_i a^i, b = Σ_i b^i)
//! is `c^i = a^i·b^i + Σ_{j≠i} (Σ 2^l s − Σ 2^l v⁰)`. The sender sends d only after the OT
//! check passed. A corrupt sender can still put different b's into the d's of one product; that
//! changes c by `Σ_l 2^l a_l·e_l`, which is zero only when the bits it hit are 0: a *selective
//! failure* that leaks those bits if the triple then passes. Combine and sacrifice handle it.
//!
//! **Combine.** With `r, r̂ ∈ F^τ` per triple from a coin opened after the d's were sent:
//! `a = Σ_h r_h a_h`, `c = Σ_h r_h c_h`, `â = Σ_h r̂_h a_h`, `ĉ = Σ_h r̂_h c_h`. Still `c = ab` and
//! `ĉ = âb`, and by the leftover hash lemma a and â are uniform and independent even after s
//! bits of the a_h leaked, when `128·τ − s ≥ 2·128 + 2s` ([`tau`]: τ = 3 for s = 40, as in the
//! paper).
//!
//! **Authenticate.** Every party authenticates its shares of a, b, c, â, ĉ ([`crate::auth`]).
//!
//! **Sacrifice** ([`crate::sacrifice`]) with t from a coin opened after authentication, then the
//! MAC check ([`crate::mac_check`]) over everything opened, the authentication values and the
//! sacrifice's zeros. Only then is anything output.
//!
//! # Rounds of a batch
//!
//! | round | sends | why then |
//! |---|---|---|
//! | 1 | OT-extension `c` to every peer; commitments to 4 coin shares | |
//! | 2 | open coin 1 → OT-check challenges | after `c` is fixed |
//! | 3 | OT-check responses `(x̃, t̃)` | |
//! | 4 | Gilboa `d` to every peer (only if its check passed) | |
//! | 5 | open coin 2 → combine coefficients | after `d` is fixed |
//! | 6 | COPE messages: authenticate a, b, c, â, ĉ (+ a dummy) | |
//! | 7 | open coin 3 → t and authentication coefficients | after the MACs are fixed |
//! | 8 | broadcast y (authentication), ρ shares, mode's openings | |
//! | 8b | (bits only) shares of a² | needs the opened e |
//! | 9 | open coin 4 → MAC-check coefficients | after every opening |
//! | 10, 11 | MAC check: commit to σ and the transcript digest, open σ | |
//!
//! # Derived tuples
//!
//! - **Squares**: from a checked triple, open `e = a − b` (uniform, independent of a) in round 8;
//!   `[[a²]] = [[c]] + e·[[a]]` because `a² = a·b + (a − b)·a`.
//! - **Bits** (MP-SPDZ's bits from squares): additionally open `s = a²` (round 8b). For `s ≠ 0`
//!   take the canonical root `r = √s`; `a/r = ±1` with probability ½ each, so
//!   `[[b]] = (r⁻¹·[[a]] + 1)/2` is a uniform bit. `s = 0` (probability 1/p) is dropped and
//!   regenerated. s is MAC-checked before any bit is output.
//! - **Inverses**: open `c = a·b` (uniform and independent of a); for `c ≠ 0` output
//!   `([[a]], c⁻¹·[[b]])`, since `a·b·c⁻¹ = 1`.

use cryprot_core::Block;
use field::{kernels, Fp};
use net::{Network, PartyId};
use protocol::prep::{Pairs, Triples};
use protocol::ShareVec;

use crate::auth;
use crate::coins::{derive, Coins};
use crate::error::{OfflineError, Result};
use crate::kos::{self, KosReceiver, KosSender, ReceiverBatch, SenderBatch};
use crate::mac_check::{self, Pending};
use crate::mascot::{kos_instance, Mascot};
use crate::prg::{bits_of, powers_of_two, select, FieldHash, Prg};
use crate::sacrifice::{self, Shares};
use crate::wire::{kind, put_fps, Out, Transcript};

/// Candidate products per output triple for statistical security `s`: the smallest τ with
/// `128·τ − s ≥ 2·128 + 2s` (leftover hash lemma: extract a and â from τ products of which s
/// bits may have leaked, within 2^−s). τ = 3 for s ≤ 42, 4 for s ≤ 85, 5 up to 128.
pub(crate) fn tau(s: u32) -> usize {
    (256 + 3 * s as usize).div_ceil(128)
}

/// Bits per field element (OTs per Gilboa product).
const BITS: usize = 128;

/// What a batch opens besides the sacrifice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Triples,
    Squares,
    Bits,
    Inverses,
}

/// The checked output of one batch, before mode-specific post-processing.
struct Checked {
    a: Shares,
    b: Shares,
    c: Shares,
    /// Values opened for the mode (e for squares and bits, c for inverses).
    opened: Vec<Fp>,
    /// Opened a² (bits only).
    squares: Vec<Fp>,
}

/// Sender side of Gilboa towards one receiver: appends the d's to `out`, subtracts
/// `Σ_l 2^l·v⁰_l` from each product's share in `c`.
fn gilboa_send(
    hash: &FieldHash,
    sender: &KosSender,
    batch: &SenderBatch,
    b: &[Fp],
    tau: usize,
    out: &mut Vec<u8>,
    c: &mut [Fp],
) {
    let (delta, instance) = (sender.delta(), sender.instance);
    out.reserve(batch.m * Fp::BYTES);
    let mut v0 = [Fp::ZERO; BITS];
    let mut v1 = [Fp::ZERO; BITS];
    for (g, cg) in c.iter_mut().enumerate().take(batch.m / BITS) {
        let rows = &batch.rows[g * BITS..(g + 1) * BITS];
        let first = batch.first + (g * BITS) as u64;
        hash.hash_pair(rows, delta, instance, first, &mut v0, &mut v1);
        let bk = b[g / tau];
        for (x0, x1) in v0.iter().zip(&v1) {
            out.extend_from_slice(&(*x0 - *x1 + bk).to_mont_bytes());
        }
        *cg -= kernels::inner_product(&v0, powers_of_two());
    }
}

/// Receiver side of Gilboa from one sender: adds `Σ_l 2^l·s_l` to each product's share in `c`.
fn gilboa_receive(
    hash: &FieldHash,
    peer: PartyId,
    instance: u64,
    batch: &ReceiverBatch,
    d: &[u8],
    c: &mut [Fp],
) -> Result<()> {
    let mut h = [Fp::ZERO; BITS];
    let mut ds = [Fp::ZERO; BITS];
    for (g, cg) in c.iter_mut().enumerate().take(batch.m / BITS) {
        let rows = &batch.rows[g * BITS..(g + 1) * BITS];
        let first = batch.first + (g * BITS) as u64;
        hash.hash(rows, Block::ZERO, instance, first, &mut h);
        let bytes = &d[g * BITS * Fp::BYTES..(g + 1) * BITS * Fp::BYTES];
        kernels::decode_into(bytes, &mut ds).map_err(|e| OfflineError::Malformed {
            peer,
            reason: e.to_string(),
        })?;
        for (l, (hl, dl)) in h.iter_mut().zip(&ds).enumerate() {
            *hl += select(batch.bit(g * BITS + l), *dl);
        }
        *cg += kernels::inner_product(&h, powers_of_two());
    }
    Ok(())
}

fn peers(me: PartyId, n: usize) -> impl Iterator<Item = PartyId> {
    (0..n).filter(move |&p| p != me)
}

fn share_vec(s: Shares) -> ShareVec {
    ShareVec::from_parts(s.v, s.m)
}

/// The column error of [`crate::InsecureCheat::CopeColumnError`]: 1 in column `column`, 0
/// elsewhere.
pub(crate) fn insecure_column_error(column: usize, l: usize) -> Fp {
    if l == column {
        Fp::ONE
    } else {
        Fp::ZERO
    }
}

impl Mascot {
    /// The lowest-numbered peer (the victim of cheats).
    fn first_peer(&self) -> PartyId {
        usize::from(self.me == 0)
    }

    /// The victim and column of [`crate::InsecureCheat::CopeColumnError`] when it is
    /// configured (tests of cheating detection only), else none.
    pub(crate) fn insecure_cope_column(&self) -> Option<(PartyId, usize)> {
        self.cfg.insecure_cheat.and_then(|c| match c {
            crate::InsecureCheat::CopeColumnError { column } => Some((self.first_peer(), column)),
            crate::InsecureCheat::CopeTrees => None,
        })
    }

    #[cfg(test)]
    fn cheating(&self, c: crate::mascot::Cheat) -> bool {
        self.cheat == Some(c)
    }

    /// One batch of `n` checked products; see the module docs.
    fn product_batch(&mut self, net: &mut Network, n: usize, mode: Mode) -> Result<Checked> {
        #[cfg(test)]
        use crate::mascot::Cheat;
        let (me, np) = (self.me, self.n);
        let tau = tau(self.cfg.security);
        let g = n * tau;
        let m = g * BITS;
        let a_parts: Vec<Fp> = (0..g).map(|_| Fp::random(&mut self.rng)).collect();
        let b: Vec<Fp> = (0..n).map(|_| Fp::random(&mut self.rng)).collect();
        let mut choices = Vec::with_capacity(16 * g);
        for &x in &a_parts {
            choices.extend_from_slice(&bits_of(x));
        }
        let mut tr = Transcript::new();
        let mut coins = Coins::new(self.cfg.session, me, np, 4, "triples", &mut self.rng);
        let (c_chi, c_comb, c_auth, c_mac) = (0, 1, 2, 3);

        // Round 1: OT extension u (this party as receiver), coin commitments.
        let mut out = Out::new(net, kind::KOS_U, coins.commitments());
        let mut recv_batches: Vec<Option<ReceiverBatch>> = (0..np).map(|_| None).collect();
        for p in peers(me, np) {
            let r = self.kos_recv[p].as_mut().expect("set for every peer");
            let f = out.to(p);
            #[cfg(test)]
            let start = f.len();
            recv_batches[p] = Some(r.extend(&choices, &mut self.rng, f));
            #[cfg(test)]
            if self.cheating(Cheat::KosWrongCorrelation) && p == self.first_peer() {
                kos::corrupt_columns(&mut f[start..], m);
            }
        }
        let mut ins = out.exchange(net, &mut tr)?;
        let mut send_batches: Vec<Option<SenderBatch>> = (0..np).map(|_| None).collect();
        for input in ins.iter_mut() {
            let p = input.peer;
            coins.read_commitments(p, &mut input.bcast(coins.commitments_len())?)?;
            if p == me {
                continue;
            }
            let u = input.take(kos::u_len(m))?;
            let s = self.kos_send[p].as_mut().expect("set for every peer");
            send_batches[p] = Some(s.extend(u, m));
            input.done()?;
        }
        self.stats.ots += 2 * (np as u64 - 1) * (m + kos::EXTRA) as u64;

        // Round 2: open the OT-check coin.
        let ins = Out::new(net, kind::COIN, coins.opening(c_chi)).exchange(net, &mut tr)?;
        let chi = coins.finish(c_chi, &ins)?;

        // Round 3: OT-check responses; check the peers' responses.
        let mut out = Out::new(net, kind::KOS_CHECK, Vec::new());
        for p in peers(me, np) {
            let rb = recv_batches[p].as_ref().expect("set above");
            let seed = derive(&chi, "kos", kos_instance(me, p));
            out.to(p)
                .extend_from_slice(&KosReceiver::response(rb, &seed));
        }
        let mut ins = out.exchange(net, &mut tr)?;
        for p in peers(me, np) {
            let resp = ins[p].take(kos::RESPONSE_BYTES)?.to_vec();
            ins[p].done()?;
            let sb = send_batches[p].as_ref().expect("set above");
            let seed = derive(&chi, "kos", kos_instance(p, me));
            let s = self.kos_send[p].as_ref().expect("set for every peer");
            if !s.check(sb, &seed, &resp) {
                return Err(OfflineError::OtCheckFailed { peer: p });
            }
        }

        // Round 4: Gilboa d (this party as sender); local products.
        let mut c_parts: Vec<Fp> = a_parts
            .iter()
            .enumerate()
            .map(|(i, &x)| x * b[i / tau])
            .collect();
        let mut out = Out::new(net, kind::GILBOA_D, Vec::new());
        for p in peers(me, np) {
            let s = self.kos_send[p].as_ref().expect("set for every peer");
            // Test-only: a sender that puts b + 1 into the d's of the first product.
            #[cfg(test)]
            let b_wrong: Vec<Fp>;
            #[allow(unused_mut)]
            let mut b_used = &b;
            #[cfg(test)]
            if self.cheating(Cheat::GilboaWrongD) && p == self.first_peer() {
                b_wrong = std::iter::once(b[0] + Fp::ONE)
                    .chain(b[1..].iter().copied())
                    .collect();
                b_used = &b_wrong;
            }
            gilboa_send(
                &self.hash,
                s,
                send_batches[p].as_ref().expect("set above"),
                b_used,
                tau,
                out.to(p),
                &mut c_parts,
            );
        }
        for (p, batch) in send_batches.into_iter().enumerate() {
            if let (Some(s), Some(batch)) = (self.kos_send[p].as_mut(), batch) {
                s.recycle(batch);
            }
        }
        let mut ins = out.exchange(net, &mut tr)?;
        for p in peers(me, np) {
            let d = ins[p].take(m * Fp::BYTES)?;
            let r = self.kos_recv[p].as_ref().expect("set for every peer");
            gilboa_receive(
                &self.hash,
                p,
                r.instance,
                recv_batches[p].as_ref().expect("set above"),
                d,
                &mut c_parts,
            )?;
            ins[p].done()?;
        }
        for (p, batch) in recv_batches.into_iter().enumerate() {
            if let (Some(r), Some(batch)) = (self.kos_recv[p].as_mut(), batch) {
                r.recycle(batch);
            }
        }

        // Round 5: open the combine coin; combine.
        let ins = Out::new(net, kind::COIN, coins.opening(c_comb)).exchange(net, &mut tr)?;
        let comb = coins.finish(c_comb, &ins)?;
        let mut coeff = vec![Fp::ZERO; 2 * tau * n];
        Prg::from_seed(&derive(&comb, "combine", 0)).fill_field(&mut coeff);
        let mut a = vec![Fp::ZERO; n];
        let mut c = vec![Fp::ZERO; n];
        let mut a_hat = vec![Fp::ZERO; n];
        let mut c_hat = vec![Fp::ZERO; n];
        for k in 0..n {
            let (r, r_hat) = coeff[2 * tau * k..2 * tau * (k + 1)].split_at(tau);
            for h in 0..tau {
                let (x, y) = (a_parts[k * tau + h], c_parts[k * tau + h]);
                a[k] += r[h] * x;
                c[k] += r[h] * y;
                a_hat[k] += r_hat[h] * x;
                c_hat[k] += r_hat[h] * y;
            }
        }
        drop(a_parts);
        drop(c_parts);
        #[cfg(test)]
        if self.cheating(Cheat::WrongTripleShare) {
            c[0] += Fp::ONE;
        }

        // Round 6: authenticate a, b, c, â, ĉ (dummy first) with COPE.
        let mut values = Vec::with_capacity(5 * n + 1);
        values.push(Fp::random(&mut self.rng));
        for v in [&a, &b, &c, &a_hat, &c_hat] {
            values.extend_from_slice(v);
        }
        let counts = vec![5 * n + 1; np];
        let mut out = Out::new(net, kind::COPE_U, Vec::new());
        #[cfg(test)]
        let col_err = |l: usize| Fp::from_u64(l as u64 + 1);
        let cheat = self.insecure_cope_column();
        let cheat_fn = move |l: usize| insecure_column_error(cheat.map_or(usize::MAX, |c| c.1), l);
        #[allow(unused_mut)]
        let mut error: auth::ColumnError<'_> =
            cheat.map(|(victim, _)| (victim, &cheat_fn as &dyn Fn(usize) -> Fp));
        #[cfg(test)]
        if self.cheating(Cheat::CopeWrongCorrelation) {
            error = Some((self.first_peer(), &col_err as &dyn Fn(usize) -> Fp));
        }
        let t = auth::send(me, &mut self.cope_send, &values, &mut out, error);
        let mut ins = out.exchange(net, &mut tr)?;
        let macs = auth::receive(
            me,
            self.alpha,
            &mut self.cope_recv,
            &counts,
            &mut ins,
            &values,
            &t,
        )?;
        for input in &ins {
            input.done()?;
        }
        self.stats.cope_values += 2 * (np as u64 - 1) * (5 * n + 1) as u64;
        // MAC shares of the sums over all parties: [[x]] = Σ_p [[x^p]].
        let sum_macs = |range: std::ops::Range<usize>| -> Vec<Fp> {
            let mut s = vec![Fp::ZERO; range.len()];
            for of in &macs.of {
                for (d, &x) in s.iter_mut().zip(&of[range.clone()]) {
                    *d += x;
                }
            }
            s
        };
        let block = |i: usize| 1 + i * n..1 + (i + 1) * n;
        #[allow(unused_mut)]
        let mut a = Shares {
            v: a,
            m: sum_macs(block(0)),
        };
        #[cfg(test)]
        if self.cheating(Cheat::WrongMac) {
            a.m[0] += Fp::ONE;
        }
        let b = Shares {
            v: b,
            m: sum_macs(block(1)),
        };
        let c = Shares {
            v: c,
            m: sum_macs(block(2)),
        };
        let a_hat = Shares {
            v: a_hat,
            m: sum_macs(block(3)),
        };
        let c_hat = Shares {
            v: c_hat,
            m: sum_macs(block(4)),
        };

        // Round 7: open the coin for t and the authentication coefficients.
        let ins = Out::new(net, kind::COIN, coins.opening(c_auth)).exchange(net, &mut tr)?;
        let auth_seed = coins.finish(c_auth, &ins)?;
        let mut r_auth = vec![Fp::ZERO; 5 * n + 1];
        Prg::from_seed(&derive(&auth_seed, "auth", 0)).fill_field(&mut r_auth);
        let t_sac = r_auth[5 * n];

        // Round 8: y, ρ shares and the mode's openings.
        let mut pending = Pending::default();
        #[allow(unused_mut)]
        let mut rho = sacrifice::rho(t_sac, &a, &a_hat);
        #[cfg(test)]
        if self.cheating(Cheat::WrongSacrificeShare) {
            rho.v[0] += Fp::ONE;
        }
        let extra = match mode {
            Mode::Triples => Shares::default(),
            Mode::Squares | Mode::Bits => Shares {
                v: a.v.iter().zip(&b.v).map(|(&x, &y)| x - y).collect(),
                m: a.m.iter().zip(&b.m).map(|(&x, &y)| x - y).collect(),
            },
            Mode::Inverses => Shares {
                v: c.v.clone(),
                m: c.m.clone(),
            },
        };
        let y = auth::combine(&values, &r_auth);
        let mut bcast = Vec::with_capacity(16 * (1 + n + extra.len()));
        bcast.extend_from_slice(&y.to_mont_bytes());
        put_fps(&mut bcast, &rho.v);
        put_fps(&mut bcast, &extra.v);
        let bcast_len = bcast.len();
        let ins = Out::new(net, kind::OPEN, bcast).exchange(net, &mut tr)?;
        let mut rho_open = vec![Fp::ZERO; n];
        let mut extra_open = vec![Fp::ZERO; extra.len()];
        for input in &ins {
            input.done()?;
            let p = input.peer;
            let mut r = input.bcast(bcast_len)?;
            let yp = r.fp()?;
            pending.auth(yp, auth::combine(&macs.of[p], &r_auth));
            for (d, x) in rho_open.iter_mut().zip(r.fps(n)?) {
                *d += x;
            }
            for (d, x) in extra_open.iter_mut().zip(r.fps(extra.len())?) {
                *d += x;
            }
        }
        pending.open(&rho_open, &rho.m);
        pending.zero(&sacrifice::zero_macs(t_sac, &rho_open, &b, &c, &c_hat));
        pending.open(&extra_open, &extra.m);

        // Round 8b (bits): open a² = c + e·a.
        let mut squares = Vec::new();
        if mode == Mode::Bits {
            let e = &extra_open;
            let s = Shares {
                v: (0..n).map(|k| c.v[k] + e[k] * a.v[k]).collect(),
                m: (0..n).map(|k| c.m[k] + e[k] * a.m[k]).collect(),
            };
            let mut bcast = Vec::with_capacity(16 * n);
            put_fps(&mut bcast, &s.v);
            let ins = Out::new(net, kind::OPEN_SQUARES, bcast).exchange(net, &mut tr)?;
            squares = vec![Fp::ZERO; n];
            for input in &ins {
                input.done()?;
                for (d, x) in squares.iter_mut().zip(input.bcast(16 * n)?.fps(n)?) {
                    *d += x;
                }
            }
            pending.open(&squares, &s.m);
        }

        // Rounds 9–11: MAC check.
        let ins = Out::new(net, kind::COIN, coins.opening(c_mac)).exchange(net, &mut tr)?;
        let mac_seed = coins.finish(c_mac, &ins)?;
        #[cfg(test)]
        let lie = self.cheating(Cheat::LieAboutSigma).then_some(Fp::ONE);
        #[cfg(not(test))]
        let lie = None;
        mac_check::check(
            net,
            &self.cfg.session,
            &mut tr,
            self.alpha,
            &pending,
            &mac_seed,
            &mut self.rng,
            lie,
        )?;
        self.stats.batches += 1;
        Ok(Checked {
            a,
            b,
            c,
            opened: extra_open,
            squares,
        })
    }

    /// One batch of `n` triples.
    pub(crate) fn triple_batch(&mut self, net: &mut Network, n: usize) -> Result<Triples> {
        let t = self.product_batch(net, n, Mode::Triples)?;
        Ok(Triples {
            a: share_vec(t.a),
            b: share_vec(t.b),
            c: share_vec(t.c),
        })
    }

    /// One batch of `n` square pairs.
    pub(crate) fn square_batch(&mut self, net: &mut Network, n: usize) -> Result<Pairs> {
        let t = self.product_batch(net, n, Mode::Squares)?;
        let e = &t.opened;
        let sq = Shares {
            v: (0..n).map(|k| t.c.v[k] + e[k] * t.a.v[k]).collect(),
            m: (0..n).map(|k| t.c.m[k] + e[k] * t.a.m[k]).collect(),
        };
        Ok(Pairs {
            a: share_vec(t.a),
            b: share_vec(sq),
        })
    }

    /// One batch of up to `n` random bits (fewer only if some a² was zero).
    pub(crate) fn bit_batch(&mut self, net: &mut Network, n: usize) -> Result<ShareVec> {
        let t = self.product_batch(net, n, Mode::Bits)?;
        let half = Fp::TWO.inverse().expect("2 is invertible");
        let alpha_half = self.alpha * half;
        let lead = self.me == 0;
        let mut out = ShareVec::with_capacity(n);
        let mut v = Vec::with_capacity(n);
        let mut mm = Vec::with_capacity(n);
        for k in 0..n {
            let s = t.squares[k];
            if s.is_zero() {
                continue;
            }
            let root = s.sqrt().ok_or(OfflineError::NotASquare)?;
            let f = half * root.inverse().expect("non-zero");
            v.push(f * t.a.v[k] + if lead { half } else { Fp::ZERO });
            mm.push(f * t.a.m[k] + alpha_half);
        }
        out.extend(&ShareVec::from_parts(v, mm));
        Ok(out)
    }

    /// One batch of up to `n` inverse pairs (fewer only if some a·b was zero).
    pub(crate) fn inverse_batch(&mut self, net: &mut Network, n: usize) -> Result<Pairs> {
        let t = self.product_batch(net, n, Mode::Inverses)?;
        let mut a = Shares::default();
        let mut b = Shares::default();
        for k in 0..n {
            if let Some(ci) = t.opened[k].inverse() {
                a.v.push(t.a.v[k]);
                a.m.push(t.a.m[k]);
                b.v.push(ci * t.b.v[k]);
                b.m.push(ci * t.b.m[k]);
            }
        }
        Ok(Pairs {
            a: share_vec(a),
            b: share_vec(b),
        })
    }
}
