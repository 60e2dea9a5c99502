//! Sacrifice: one triple checks another (MASCOT's Π_Triple, steps "Sacrifice").
//!
//! After combining, each output triple `([[a]], [[b]], [[c]])` comes with a companion
//! `([[â]], [[b]], [[ĉ]])` on the same b, both authenticated. With a uniform `t` from a coin opened
//! after the authentication:
//!
//! ```text
//!   ρ = Open(t·[[a]] − [[â]]),        check  t·[[c]] − [[ĉ]] − ρ·[[b]] = 0.
//! ```
//!
//! If `c = ab + e` and `ĉ = âb + ê` then `t·c − ĉ − ρ·b = t·e − ê`, a non-zero polynomial in t
//! unless both errors vanish, so a bad triple passes with probability at most 1/p. ρ is
//! one-time-padded by the uniform â, so it says nothing about a. ρ goes to the MAC check as an
//! opening; the difference goes to it as a *zero* (never opened). Only `[[a]], [[b]], [[c]]` are
//! output; `â, ĉ` and the openings are discarded.

use field::Fp;

/// This party's value and MAC shares of a vector of authenticated values.
#[derive(Default)]
pub(crate) struct Shares {
    pub v: Vec<Fp>,
    pub m: Vec<Fp>,
}

impl Shares {
    pub fn len(&self) -> usize {
        self.v.len()
    }
}

/// This party's shares of `t·a − â` (value and MAC).
pub(crate) fn rho(t: Fp, a: &Shares, a_hat: &Shares) -> Shares {
    Shares {
        v: a.v.iter().zip(&a_hat.v).map(|(&x, &y)| t * x - y).collect(),
        m: a.m.iter().zip(&a_hat.m).map(|(&x, &y)| t * x - y).collect(),
    }
}

/// This party's MAC shares of `t·c − ĉ − ρ·b` for the opened ρ.
pub(crate) fn zero_macs(t: Fp, rho: &[Fp], b: &Shares, c: &Shares, c_hat: &Shares) -> Vec<Fp> {
    c.m.iter()
        .zip(&c_hat.m)
        .zip(rho.iter().zip(&b.m))
        .map(|((&mc, &mh), (&r, &mb))| t * mc - mh - r * mb)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain (unshared, one-party) values: the check value vanishes exactly for good triples.
    #[test]
    fn zero_for_good_triples_only() {
        let alpha = Fp::from_u64(99);
        let mk = |x: Fp| Shares {
            v: vec![x],
            m: vec![alpha * x],
        };
        let (a, b, a_hat) = (Fp::from_u64(3), Fp::from_u64(5), Fp::from_u64(7));
        let t = Fp::from_u64(11);
        for err in [Fp::ZERO, Fp::ONE] {
            let c = a * b + err;
            let c_hat = a_hat * b;
            let r = rho(t, &mk(a), &mk(a_hat));
            let z = zero_macs(t, &r.v, &mk(b), &mk(c), &mk(c_hat));
            assert_eq!(z[0].is_zero(), err.is_zero());
        }
    }
}
