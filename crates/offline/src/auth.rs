//! Authentication of values (MASCOT's Π_[[·]] Input, Fig. 7 of the paper).
//!
//! Party i turns values x_1 … x_L that it holds into authenticated sharings `[[x_v]]` in which i
//! holds the value and every party j holds a MAC share `m_j(x_v)` with `Σ_j m_j(x_v) = α·x_v`:
//!
//! - i samples a dummy `x_0` and runs COPE ([`crate::cope`]) on `(x_0, …, x_L)` with every other
//!   party j as key holder: j gets `q^{(j)}_v`, i gets `t^{(j)}_v` with `q + t = α_j·x_v`;
//! - j's MAC share is `q^{(j)}_v`; i's is `α_i·x_v + Σ_j t^{(j)}_v`. They sum to `α·x_v`.
//!
//! Every party authenticates in the same round (one COPE message per ordered pair). Then, with
//! coefficients `r_v` from a coin opened only after all COPE messages were sent, i broadcasts
//! `y = x_0 + Σ_v r_v·x_v` and everyone adds `(y, m_j(x_0) + Σ_v r_v·m_j(x_v))` to the MAC check
//! ([`crate::mac_check`], category "authentication"). If i used inconsistent inputs across the
//! COPE columns, the MACs are not `α·x` for the values i holds, and the check fails unless i
//! guessed the bits of the honest key shares involved. `x_0` is uniform, so `y` reveals nothing
//! about x_1 … x_L.
//!
//! A sharing of a secret s = Σ_i s_i held in additive shares is authenticated by letting every
//! party authenticate its own share: `[[s]] = Σ_i [[s_i]]`, whose value share at party i is s_i and
//! whose MAC share at party j is `Σ_i m_j(s_i)`.

use field::{kernels, Fp};
use net::PartyId;

use crate::cope::{self, CopeReceiver, CopeSender};
use crate::error::Result;
use crate::wire::{In, Out};

/// This party's MAC shares of every party's authenticated values after one authentication round.
pub(crate) struct Macs {
    /// `of[p][v]`: this party's MAC share of party p's value v; v = 0 is p's dummy.
    pub of: Vec<Vec<Fp>>,
}

/// Test-only deviation: the COPE column error added towards one peer.
pub(crate) type ColumnError<'a> = Option<(PartyId, &'a dyn Fn(usize) -> Fp)>;

/// Writes this party's COPE messages for `values` (dummy first) to every peer in `out` and
/// returns, per peer, this party's COPE shares `t`.
pub(crate) fn send(
    me: PartyId,
    senders: &mut [Option<CopeSender>],
    values: &[Fp],
    out: &mut Out,
    error: ColumnError<'_>,
) -> Vec<Vec<Fp>> {
    senders
        .iter_mut()
        .enumerate()
        .map(|(p, s)| match s {
            Some(s) if p != me && !values.is_empty() => {
                let e = error.and_then(|(victim, f)| (victim == p).then_some(f));
                s.extend(values, out.to(p), e)
            }
            _ => Vec::new(),
        })
        .collect()
}

/// Reads every peer's COPE message (`counts[p]` values each, dummy included) and combines this
/// party's MAC shares of all parties' values. `mine` are this party's values, `t` what
/// [`send`] returned.
pub(crate) fn receive(
    me: PartyId,
    alpha: Fp,
    receivers: &mut [Option<CopeReceiver>],
    counts: &[usize],
    ins: &mut [In],
    mine: &[Fp],
    t: &[Vec<Fp>],
) -> Result<Macs> {
    let n = counts.len();
    let mut of = vec![Vec::new(); n];
    for input in ins.iter_mut() {
        let p = input.peer;
        if p == me || counts[p] == 0 {
            continue;
        }
        let bytes = input.take(cope::u_len(counts[p]))?;
        if let Some(r) = receivers[p].as_mut() {
            of[p] = r.extend(p, bytes, counts[p])?;
        }
    }
    let mut own: Vec<Fp> = mine.iter().map(|&x| alpha * x).collect();
    for (p, tp) in t.iter().enumerate() {
        if p != me && !tp.is_empty() {
            kernels::add_assign(&mut own, tp);
        }
    }
    of[me] = own;
    Ok(Macs { of })
}

/// `x_0 + Σ_v r_v·x_v` for a party's values (dummy first); the same combination applies to MAC
/// shares.
pub(crate) fn combine(values_with_dummy: &[Fp], r: &[Fp]) -> Fp {
    match values_with_dummy.split_first() {
        None => Fp::ZERO,
        Some((x0, rest)) => *x0 + kernels::inner_product(rest, &r[..rest.len()]),
    }
}
