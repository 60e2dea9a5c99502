//! Input masks: a shared random `[[r]]` whose value only its owner knows.
//!
//! The owner o samples r itself and authenticates it ([`crate::auth`]: COPE with every peer, plus
//! a dummy), so every party gets its MAC share of r. It then re-shares the value: it sends each
//! peer j a uniform value share `r_j` and keeps `r − Σ_j r_j`. Value shares need no MAC of their
//! own (MACs authenticate the sum), and an owner that lies about them only makes its own later
//! inputs fail their MAC checks. The authentication check and the MAC check run as in a triple
//! batch.
//!
//! | round | sends |
//! |---|---|
//! | 1 | owner: COPE messages and value shares to every peer; all: commitments to 2 coin shares |
//! | 2 | open coin 1 → authentication coefficients |
//! | 3 | owner: broadcast y |
//! | 4 | open coin 2 → MAC-check coefficients |
//! | 5, 6 | MAC check |

use field::Fp;
use net::{Network, PartyId};
use protocol::prep::InputMasks;
use protocol::ShareVec;

use crate::auth;
use crate::coins::{derive, Coins};
use crate::error::Result;
use crate::mac_check::{self, Pending};
use crate::mascot::Mascot;
use crate::prg::Prg;
use crate::wire::{kind, put_fps, Out, Transcript};

impl Mascot {
    /// One batch of `n` input masks of `owner`.
    pub(crate) fn mask_batch(
        &mut self,
        net: &mut Network,
        owner: PartyId,
        n: usize,
    ) -> Result<InputMasks> {
        let (me, np) = (self.me, self.n);
        let mut tr = Transcript::new();
        let mut coins = Coins::new(self.cfg.session, me, np, 2, "masks", &mut self.rng);
        let (c_auth, c_mac) = (0, 1);
        let mut counts = vec![0usize; np];
        counts[owner] = n + 1;

        // Round 1.
        let mut out = Out::new(net, kind::COPE_U, coins.commitments());
        let mut values = Vec::new();
        let mut my_share = Vec::new();
        let mut t = vec![Vec::new(); np];
        if me == owner {
            values.push(Fp::random(&mut self.rng));
            values.extend((0..n).map(|_| Fp::random(&mut self.rng)));
            let cheat = self.insecure_cope_column();
            let cheat_fn = move |l: usize| {
                crate::triples::insecure_column_error(cheat.map_or(usize::MAX, |c| c.1), l)
            };
            let error = cheat.map(|(victim, _)| (victim, &cheat_fn as &dyn Fn(usize) -> Fp));
            t = auth::send(me, &mut self.cope_send, &values, &mut out, error);
            my_share = values[1..].to_vec();
            for p in (0..np).filter(|&p| p != me) {
                let shares: Vec<Fp> = (0..n).map(|_| Fp::random(&mut self.rng)).collect();
                for (s, x) in my_share.iter_mut().zip(&shares) {
                    *s -= *x;
                }
                put_fps(out.to(p), &shares);
            }
            self.stats.cope_values += (np as u64 - 1) * (n as u64 + 1);
        } else {
            self.stats.cope_values += n as u64 + 1;
        }
        let mut ins = out.exchange(net, &mut tr)?;
        for input in ins.iter_mut() {
            coins.read_commitments(input.peer, &mut input.bcast(coins.commitments_len())?)?;
        }
        let macs = auth::receive(
            me,
            self.alpha,
            &mut self.cope_recv,
            &counts,
            &mut ins,
            &values,
            &t,
        )?;
        if me != owner {
            my_share = ins[owner].fps(n)?;
        }
        for input in &ins {
            input.done()?;
        }

        // Round 2: authentication coefficients.
        let ins = Out::new(net, kind::COIN, coins.opening(c_auth)).exchange(net, &mut tr)?;
        let seed = coins.finish(c_auth, &ins)?;
        let mut r = vec![Fp::ZERO; n];
        Prg::from_seed(&derive(&seed, "auth", 0)).fill_field(&mut r);

        // Round 3: the owner broadcasts y.
        let bcast = if me == owner {
            let mut b = Vec::with_capacity(16);
            put_fps(&mut b, &[auth::combine(&values, &r)]);
            b
        } else {
            Vec::new()
        };
        let ins = Out::new(net, kind::OPEN, bcast).exchange(net, &mut tr)?;
        let mut pending = Pending::default();
        for input in &ins {
            input.done()?;
            let len = if input.peer == owner { 16 } else { 0 };
            let mut rd = input.bcast(len)?;
            if input.peer == owner {
                pending.auth(rd.fp()?, auth::combine(&macs.of[owner], &r));
            }
        }

        // Rounds 4–6: MAC check.
        let ins = Out::new(net, kind::COIN, coins.opening(c_mac)).exchange(net, &mut tr)?;
        let mac_seed = coins.finish(c_mac, &ins)?;
        mac_check::check(
            net,
            &self.cfg.session,
            &mut tr,
            self.alpha,
            &pending,
            &mac_seed,
            &mut self.rng,
            None,
        )?;
        self.stats.batches += 1;
        let mac_shares = macs.of[owner][1..].to_vec();
        Ok(InputMasks {
            shares: ShareVec::from_parts(my_share, mac_shares),
            clear: (me == owner).then(|| values[1..].to_vec()),
        })
    }
}
