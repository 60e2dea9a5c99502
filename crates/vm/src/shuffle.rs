//! Secure shuffles for a dishonest majority (`sint.get_secure_shuffle`, `secure_permute`,
//! `secure_shuffle`; docs/PROTOCOL.md, "Secure shuffle").
//!
//! A shuffle of n units is the composition π = π_(N−1) ∘ … ∘ π_0 of one permutation per party.
//! Party p draws π_p uniformly at random (padded with fixed points to m = 2^⌈log2 n⌉), routes
//! it through a Beneš network of m inputs with the looping algorithm, and inputs the switch
//! bits as authenticated shares. Every bit b is checked by opening b·(b − 1), which must be 0,
//! under the MAC check. Applying the shuffle runs each party's network in turn with oblivious
//! swaps: a switch with bit b on units (x, y) computes d = b·(y − x) (one multiplication per
//! element) and outputs (x + d, y − d). One stage of a network is one batched multiplication, so
//! a shuffle costs N·(2·log2 m − 1) rounds. As long as one party keeps its permutation secret,
//! π is uniform and unknown to the others; inconsistent or non-bit inputs are caught by the bit
//! check and the MAC checks (active security, as the rest of the engine).

use field::Fp;
use lang::bytecode::{R, S};
use protocol::prep::Preprocessing;
use protocol::ShareVec;
use rand_core::{OsRng, RngCore};

use crate::error::Result;
use crate::machine::Machine;
use crate::value::SecVec;

/// Most units a shuffle may permute (the network has about m·log2 m switches per party).
pub(crate) const MAX_UNITS: usize = 1 << 20;
/// Most shuffles one run may generate.
pub(crate) const MAX_SHUFFLES: usize = 1 << 12;

/// One generated shuffle: every party's switch bits, in network order.
pub(crate) struct Shuffle {
    units: usize,
    m: usize,
    bits: Vec<ShareVec>,
}

/// Switches of a Beneš network with m = 2^k inputs: (2k − 1)·m/2.
pub(crate) fn switch_count(m: usize) -> usize {
    if m < 2 {
        return 0;
    }
    let k = m.trailing_zeros() as usize;
    (2 * k - 1) * (m / 2)
}

/// The network's stages: in each, disjoint switches (wire a, wire b, bit index). Wires are
/// positions 0..m; a switch with bit 1 exchanges its two wires.
pub(crate) fn schedule(m: usize) -> Vec<Vec<(usize, usize, usize)>> {
    let wires: Vec<usize> = (0..m).collect();
    let mut out = Vec::new();
    schedule_into(&wires, 0, &mut out, 0);
    out
}

fn schedule_into(
    wires: &[usize],
    bit0: usize,
    out: &mut Vec<Vec<(usize, usize, usize)>>,
    stage0: usize,
) -> usize {
    let m = wires.len();
    let stage = |out: &mut Vec<Vec<(usize, usize, usize)>>, s: usize| {
        while out.len() <= s {
            out.push(Vec::new());
        }
    };
    if m < 2 {
        return 0;
    }
    if m == 2 {
        stage(out, stage0);
        out[stage0].push((wires[0], wires[1], bit0));
        return 1;
    }
    let half = m / 2;
    stage(out, stage0);
    for i in 0..half {
        out[stage0].push((wires[2 * i], wires[2 * i + 1], bit0 + i));
    }
    let upper: Vec<usize> = (0..half).map(|i| wires[2 * i]).collect();
    let lower: Vec<usize> = (0..half).map(|i| wires[2 * i + 1]).collect();
    let sub = switch_count(half);
    let depth = schedule_into(&upper, bit0 + half, out, stage0 + 1);
    schedule_into(&lower, bit0 + half + sub, out, stage0 + 1);
    let last = stage0 + 1 + depth;
    stage(out, last);
    for j in 0..half {
        out[last].push((wires[2 * j], wires[2 * j + 1], bit0 + half + 2 * sub + j));
    }
    depth + 2
}

/// The switch bits that make the network of [`schedule`] send input a to output `perm[a]`
/// (the looping algorithm). `perm` must be a permutation of 0..m, m a power of two.
pub(crate) fn route(perm: &[usize]) -> Vec<bool> {
    let mut bits = vec![false; switch_count(perm.len())];
    route_into(perm, &mut bits, 0);
    bits
}

fn route_into(perm: &[usize], bits: &mut [bool], bit0: usize) {
    let m = perm.len();
    if m < 2 {
        return;
    }
    if m == 2 {
        bits[bit0] = perm[0] == 1;
        return;
    }
    let half = m / 2;
    let mut inv = vec![0; m];
    for (a, &o) in perm.iter().enumerate() {
        inv[o] = a;
    }
    // upper[a]: input a travels through the upper subnetwork.
    let mut color: Vec<Option<bool>> = vec![None; m];
    for start in 0..m {
        if color[start].is_some() {
            continue;
        }
        let mut a = start;
        loop {
            color[a] = Some(true);
            color[a ^ 1] = Some(false);
            // The output sharing a switch with a^1's output must come from the upper half.
            let b = inv[perm[a ^ 1] ^ 1];
            if color[b].is_some() {
                break;
            }
            a = b;
        }
    }
    let sub = switch_count(half);
    let mut up = vec![0; half];
    let mut lo = vec![0; half];
    for i in 0..half {
        // Not crossed: input 2i goes up.
        let crossed = color[2 * i] == Some(false);
        bits[bit0 + i] = crossed;
        let (u, l) = if crossed {
            (2 * i + 1, 2 * i)
        } else {
            (2 * i, 2 * i + 1)
        };
        up[i] = perm[u] / 2;
        lo[i] = perm[l] / 2;
    }
    for j in 0..half {
        // Not crossed: the upper subnetwork's output j leaves at 2j.
        bits[bit0 + half + 2 * sub + j] = color[inv[2 * j]] == Some(false);
    }
    route_into(&up, bits, bit0 + half);
    route_into(&lo, bits, bit0 + half + sub);
}

/// A uniformly random permutation of 0..n (Fisher–Yates on the OS generator), extended by
/// fixed points to 0..m.
fn random_permutation(n: usize, m: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..m).collect();
    for i in (1..n).rev() {
        // Rejection sampling for an unbiased index in 0..=i.
        let bound = (i + 1) as u64;
        let zone = u64::MAX - u64::MAX % bound;
        let j = loop {
            let x = OsRng.next_u64();
            if x < zone {
                break (x % bound) as usize;
            }
        };
        p.swap(i, j);
    }
    p
}

/// x[idx[i]] for every i.
fn gather(x: &ShareVec, idx: &[usize]) -> ShareVec {
    let (v, m) = (x.value_shares(), x.mac_shares());
    ShareVec::from_parts(
        idx.iter().map(|&i| v[i]).collect(),
        idx.iter().map(|&i| m[i]).collect(),
    )
}

impl<P: Preprocessing> Machine<'_, P> {
    /// `genshuffle`: every party inputs the checked switch bits of its own random permutation
    /// of `units` units; `dst` gets the shuffle's handle.
    pub(crate) fn gen_shuffle(&mut self, dst: R, units: usize) -> Result<()> {
        if units > MAX_UNITS {
            return Err(self.runtime(format!(
                "a secure shuffle of {units} units; at most {MAX_UNITS} are supported"
            )));
        }
        if self.shuffles.len() >= MAX_SHUFFLES {
            return Err(self.runtime(format!(
                "more than {MAX_SHUFFLES} secure shuffles in one run"
            )));
        }
        let m = units.max(1).next_power_of_two();
        let nsw = switch_count(m);
        let bytes = (nsw as u64) * (self.parties as u64) * 32;
        self.mem.meter.grow_memory(bytes).map_err(|e| {
            crate::machine::limit_error(e, format!("{}: a secure shuffle's switch bits", self.at()))
        })?;
        // Everything pending first, so the engine calls below run in program order.
        self.flush()?;
        let mine: Vec<Fp> = route(&random_permutation(units, m))
            .into_iter()
            .map(|b| if b { Fp::ONE } else { Fp::ZERO })
            .collect();
        let counts = vec![nsw; self.parties];
        let bits = self.engine.input(&counts, &mine)?;
        drop(mine);
        // Every input must be a bit: b·(b − 1) = 0 for all of them, opened and MAC-checked.
        let all = ShareVec::concat(&bits.iter().collect::<Vec<_>>());
        let ctx = self.engine.ctx();
        let minus_one = ctx.add_scalar(&all, -Fp::ONE);
        let prod = self.engine.mul(&all, &minus_one)?;
        let opened = self.engine.reveal(&prod)?;
        if let Some(p) = opened.iter().position(|x| *x != Fp::ZERO) {
            let party = p / nsw.max(1);
            return Err(self.runtime(format!(
                "secure shuffle: party {party} input a switch value that is not a bit; aborting"
            )));
        }
        let handle = self.shuffles.len() as i64;
        self.shuffles.push(Shuffle { units, m, bits });
        self.r_set(dst, vec![handle]);
        Ok(())
    }

    /// `applyshuffle`: `src` (units of `unit` elements) permuted by shuffle `handle`, or by its
    /// inverse.
    pub(crate) fn apply_shuffle(
        &mut self,
        dst: S,
        src: S,
        handle: R,
        unit: usize,
        reverse: bool,
        n: usize,
    ) -> Result<()> {
        let h = self.r_scalar(handle);
        let Some(sh) = usize::try_from(h).ok().and_then(|h| self.shuffles.get(h)) else {
            return Err(self.runtime(format!("{h} is not a secure shuffle handle")));
        };
        let (units, m) = (sh.units, sh.m);
        if unit == 0 || units.checked_mul(unit) != Some(n) {
            return Err(self.runtime(format!(
                "secure_permute: a shuffle of {units} units cannot permute {n} elements in units of {unit}"
            )));
        }
        self.flush()?;
        let x = self.s_get(src, n)?;
        let x = self.dag.materialize(&x);
        // Padded to m units with zeros; the padding stays in place (fixed points).
        let mut data = x;
        data.extend(&ShareVec::zeros((m - units) * unit));
        let stages = schedule(m);
        let order: Vec<usize> = if reverse {
            (0..self.parties).rev().collect()
        } else {
            (0..self.parties).collect()
        };
        for p in order {
            let bits = self.shuffles[h as usize].bits[p].clone();
            let run: Vec<&Vec<(usize, usize, usize)>> = if reverse {
                stages.iter().rev().collect()
            } else {
                stages.iter().collect()
            };
            for st in run {
                // Elements of the first and second wires of every switch, and the bits
                // repeated per element of a unit.
                let mut ia = Vec::with_capacity(st.len() * unit);
                let mut ib = Vec::with_capacity(st.len() * unit);
                let mut ic = Vec::with_capacity(st.len() * unit);
                for &(a, b, s) in st {
                    for e in 0..unit {
                        ia.push(a * unit + e);
                        ib.push(b * unit + e);
                        ic.push(s);
                    }
                }
                let xa = gather(&data, &ia);
                let xb = gather(&data, &ib);
                let c = gather(&bits, &ic);
                let d = self.engine.mul(&c, &xb.sub(&xa))?;
                let (na, nb) = (xa.add(&d), xb.sub(&d));
                let (mut v, mut mac) = (data.value_shares().to_vec(), data.mac_shares().to_vec());
                for (k, (&i, &j)) in ia.iter().zip(&ib).enumerate() {
                    v[i] = na.value_shares()[k];
                    mac[i] = na.mac_shares()[k];
                    v[j] = nb.value_shares()[k];
                    mac[j] = nb.mac_shares()[k];
                }
                data = ShareVec::from_parts(v, mac);
            }
        }
        let out = data.slice(0..n);
        self.s_set(dst, SecVec::from_shares(out));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the network in the clear: out[perm[a]] = in[a].
    fn apply(m: usize, bits: &[bool], input: &[usize]) -> Vec<usize> {
        let mut x = input.to_vec();
        for st in schedule(m) {
            for (a, b, s) in st {
                if bits[s] {
                    x.swap(a, b);
                }
            }
        }
        x
    }

    #[test]
    fn routing_realises_every_permutation_of_small_networks() {
        for m in [1usize, 2, 4, 8] {
            // All permutations for m <= 4, a sample of random ones for 8.
            let perms: Vec<Vec<usize>> = if m <= 4 {
                let mut out = Vec::new();
                let mut p: Vec<usize> = (0..m).collect();
                permutations(&mut p, 0, &mut out);
                out
            } else {
                (0..200).map(|_| random_permutation(m, m)).collect()
            };
            for p in perms {
                let bits = route(&p);
                assert_eq!(bits.len(), switch_count(m));
                let input: Vec<usize> = (0..m).collect();
                let out = apply(m, &bits, &input);
                for a in 0..m {
                    assert_eq!(out[p[a]], a, "m = {m}, perm {p:?}");
                }
            }
        }
    }

    #[test]
    fn large_networks_route_and_padding_stays_in_place() {
        for (n, m) in [(5usize, 8usize), (100, 128), (1000, 1024)] {
            let p = random_permutation(n, m);
            assert!(p[n..].iter().enumerate().all(|(i, &x)| x == n + i));
            let bits = route(&p);
            let out = apply(m, &bits, &(0..m).collect::<Vec<_>>());
            for a in 0..m {
                assert_eq!(out[p[a]], a);
            }
            assert_eq!(schedule(m).len(), 2 * m.trailing_zeros() as usize - 1);
        }
    }

    fn permutations(p: &mut Vec<usize>, k: usize, out: &mut Vec<Vec<usize>>) {
        if k == p.len() {
            out.push(p.clone());
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            permutations(p, k + 1, out);
            p.swap(k, i);
        }
    }
}
