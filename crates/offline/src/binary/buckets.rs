//! Bucket sizes for the binary triples, from explicit bounds (log2 of the adversary's success
//! probability) computed for the batch size.
//!
//! **Sacrifice (correctness).** `M = ℓ₁·B + C` authenticated leaky triples are permuted by a
//! public uniform permutation drawn after they are fixed; the first C are opened and checked
//! (c = a∧b), the others form ℓ₁ buckets of B, the first triple of each checked against the
//! other B − 1. A check of (a, b, c) against (x, y, z) passes iff both have the same error
//! `c ⊕ ab = z ⊕ xy`, so a batch passes with an incorrect output only if the set of incorrect
//! triples (size k, fixed before the permutation, whatever the selective-failure bits were)
//! misses the C opened ones and is a union of j whole buckets, k = jB:
//!
//! ```text
//!   ε_sac = max_{1 ≤ j ≤ ℓ₁}  C(M − jB, C)/C(M, C) · C(ℓ₁, j)/C(ℓ₁B, jB)
//! ```
//!
//! (a union bound over which j buckets; the opened triples stop "all incorrect", j = ℓ₁).
//!
//! **Combine (leakage).** A corrupt OT sender that puts a wrong bit into the multiplication
//! makes a triple's error `a^h·e` for an honest party h's share a^h: the sacrifice then passes
//! only if that bit has the value the adversary hoped, so a batch that passes may have leaked the
//! a-shares of the buckets it touched. A touched bucket passes with probability at most ½,
//! independently (it depends on the touched triples' honest a-bits), so with t touched buckets
//! the batch passes with probability ≤ 2^−t and at most t sacrifice outputs leak (the opened
//! `a ⊕ a'` carries a leak from a sacrificed triple to the output of its bucket). Outputs are
//! then combined in buckets of B' under a second independent permutation: x = ⊕ x_k, so an
//! output leaks only if all B' of its bucket did:
//!
//! ```text
//!   ε_comb = max_t 2^−t · min(1, ℓ·C(t, B')/C(ℓB', B'))
//! ```
//!
//! Both are required to be at most 2^−(s+1), so the sum is at most 2^−s. B' is the smallest
//! size that meets its bound, then B the smallest for ℓ₁ = ℓ·B'; C is the smallest number ≥ B
//! that makes M a multiple of 128.

/// Largest bucket size considered.
const MAX_BUCKET: usize = 24;

/// `ln(n!)`: exact sum below 64, Stirling's series above (error below 10^−12).
fn ln_fact(n: usize) -> f64 {
    if n < 64 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
}

/// `log2 C(n, k)` (−∞ when k > n).
fn log2_binom(n: usize, k: usize) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    (ln_fact(n) - ln_fact(k) - ln_fact(n - k)) / std::f64::consts::LN_2
}

/// `log2 ε_sac` for ℓ₁ buckets of `b` and `c` opened triples (module docs).
pub(crate) fn sacrifice_log2(l1: usize, b: usize, c: usize) -> f64 {
    (1..=l1)
        .map(|j| sacrifice_term_log2(l1, b, c, j))
        .fold(f64::NEG_INFINITY, f64::max)
}

/// `log2` of the probability that a fixed set of `j·b` incorrect triples misses the `c` opened
/// ones and is a union of whole buckets.
fn sacrifice_term_log2(l1: usize, b: usize, c: usize, j: usize) -> f64 {
    let m = l1 * b + c;
    log2_binom(m - j * b, c) - log2_binom(m, c) + log2_binom(l1, j) - log2_binom(l1 * b, j * b)
}

/// `log2 ε_comb` for ℓ outputs in buckets of `b` (module docs).
pub(crate) fn combine_log2(l: usize, b: usize) -> f64 {
    let total = log2_binom(l * b, b);
    let mut worst = f64::NEG_INFINITY;
    // Beyond t = 4096 the factor 2^−t alone is far below any target.
    for t in b..=(l * b).min(4096) {
        let p = -(t as f64) + ((l as f64).log2() + log2_binom(t, b) - total).min(0.0);
        worst = worst.max(p);
    }
    worst
}

/// The parameters of one batch of ℓ output triples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Buckets {
    /// ℓ, output triples.
    pub out: usize,
    /// B, sacrifice bucket size.
    pub sacrifice: usize,
    /// B', combine bucket size.
    pub combine: usize,
    /// C, leaky triples opened.
    pub opened: usize,
    /// log2 of the two bounds.
    pub sacrifice_log2: f64,
    pub combine_log2: f64,
}

impl Buckets {
    /// ℓ₁ = ℓ·B', sacrifice outputs.
    pub fn checked(&self) -> usize {
        self.out * self.combine
    }

    /// M = ℓ₁·B + C, leaky triples (a multiple of 128).
    pub fn leaky(&self) -> usize {
        self.checked() * self.sacrifice + self.opened
    }
}

/// The smallest bucket sizes for ℓ = `out` outputs at statistical security `s`, or `None` if
/// even buckets of [`MAX_BUCKET`] do not reach it (tiny batches).
pub(crate) fn choose(out: usize, s: u32) -> Option<Buckets> {
    if out < 2 {
        return None;
    }
    let target = -(s as f64 + 1.0);
    let (combine, comb) = (2..=MAX_BUCKET)
        .map(|b| (b, combine_log2(out, b)))
        .find(|&(_, p)| p <= target)?;
    let l1 = out * combine;
    for sacrifice in 2..=MAX_BUCKET {
        let mut opened = sacrifice;
        while !(l1 * sacrifice + opened).is_multiple_of(128) {
            opened += 1;
        }
        let sac = sacrifice_log2(l1, sacrifice, opened);
        if sac <= target {
            return Some(Buckets {
                out,
                sacrifice,
                combine,
                opened,
                sacrifice_log2: sac,
                combine_log2: comb,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomials_are_accurate() {
        assert!((log2_binom(10, 3) - 120f64.log2()).abs() < 1e-9);
        assert!((log2_binom(100, 50) - 96.348_717_2).abs() < 1e-6);
        assert!((log2_binom(1000, 2) - 499_500f64.log2()).abs() < 1e-9);
        assert_eq!(log2_binom(3, 4), f64::NEG_INFINITY);
    }

    /// The worst case of the sacrifice bound is one bucket of incorrect triples (j = 1), about
    /// ℓ₁/C(ℓ₁B, B), and "all incorrect" is stopped by the opened triples.
    #[test]
    fn sacrifice_bound_matches_the_one_bucket_estimate() {
        let (l1, b, c) = (4096, 4, 4);
        let one = (l1 as f64).log2() - log2_binom(l1 * b, b);
        let got = sacrifice_log2(l1, b, c);
        assert!((got - one).abs() < 0.01, "{got} vs {one}");
        // Without opened triples, all-incorrect passes: the bound is 1.
        assert_eq!(sacrifice_log2(64, 3, 0), 0.0);
    }

    /// The terms of both bounds against the permutations themselves, for small parameters.
    #[test]
    fn bounds_match_simulated_permutations() {
        use super::super::hash::Sampler;
        let mut sampler = Sampler::new(&[7u8; 32]);
        let trials = 200_000;
        // Sacrifice: ℓ₁ = 6 buckets of 2, C = 2 opened; incorrect triples {0, 1} (j = 1) and
        // {0, 1, 2, 3} (j = 2).
        let (l1, b, c) = (6, 2, 2);
        for j in [1, 2] {
            let bad = j * b;
            let mut hits = 0;
            for _ in 0..trials {
                let p = sampler.permutation(l1 * b + c);
                let pos = |t: u32| p.iter().position(|&x| x == t).unwrap();
                let opened = (0..bad as u32).any(|t| pos(t) < c);
                let buckets: std::collections::HashSet<usize> = (0..bad as u32)
                    .map(|t| (pos(t) - c.min(pos(t))) / b)
                    .collect();
                if !opened && buckets.len() == j {
                    hits += 1;
                }
            }
            let want = sacrifice_term_log2(l1, b, c, j).exp2();
            let got = hits as f64 / trials as f64;
            assert!(
                (got - want).abs() < 0.1 * want + 0.002,
                "j = {j}: {got} vs {want}"
            );
        }
        // Combine: ℓ = 8 buckets of 2, t = 5 leaked: P[some bucket inside] ≤ the union bound.
        let (l, bc, t) = (8, 2, 5);
        let mut hits = 0;
        for _ in 0..trials {
            let p = sampler.permutation(l * bc);
            if (0..l).any(|h| (0..bc).all(|k| (p[h * bc + k] as usize) < t)) {
                hits += 1;
            }
        }
        let got = hits as f64 / trials as f64;
        let bound = ((l as f64).log2() + log2_binom(t, bc) - log2_binom(l * bc, bc)).exp2();
        assert!(got <= bound * 1.05, "{got} > {bound}");
        assert!(
            got > bound / 2.0,
            "the union bound is not loose here: {got} vs {bound}"
        );
    }

    /// The parameters documented in docs/PROTOCOL.md and the module docs of `binary`.
    #[test]
    fn documented_bucket_sizes() {
        for (out, s, bs, bc) in [
            (1024, 40, 5, 5),
            (4096, 40, 4, 4),
            (16384, 40, 4, 4),
            (65536, 40, 4, 4),
            (262144, 40, 3, 4),
        ] {
            let b = choose(out, s).unwrap();
            println!(
                "ℓ = {out}, s = {s}: B = {}, B' = {}, C = {}, log2 ε_sac = {:.1}, log2 ε_comb = {:.1}, {:.2} leaky per triple",
                b.sacrifice,
                b.combine,
                b.opened,
                b.sacrifice_log2,
                b.combine_log2,
                b.leaky() as f64 / out as f64
            );
            assert_eq!((b.sacrifice, b.combine), (bs, bc), "ℓ = {out}");
            assert!(b.sacrifice_log2 <= -41.0 && b.combine_log2 <= -41.0);
            assert!(b.leaky().is_multiple_of(128) && b.opened >= b.sacrifice);
        }
        assert!(choose(1, 40).is_none());
        // Every allowed configuration has buckets (the largest s at the smallest batch).
        let b = choose(1024, 128).unwrap();
        assert!(b.sacrifice_log2 <= -129.0 && b.combine_log2 <= -129.0);
        println!("ℓ = 1024, s = 128: B = {}, B' = {}", b.sacrifice, b.combine);
    }
}
