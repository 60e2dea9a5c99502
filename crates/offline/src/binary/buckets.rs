//! The combine bucket size of the binary triples, from an explicit bound (log2 of the
//! adversary's success probability) computed for the batch size.
//!
//! **Correctness** needs no bucket: every leaky triple is checked on its own by the Δ-product
//! check of the parent module (a wrong triple passes with probability about 2^−127).
//!
//! **Combine (leakage).** A corrupt OT sender that puts a wrong input into the multiplication
//! (its bit in `d` or its block in `U`) of leaky triple k makes the check's sum for that
//! triple depend on an honest party's choice bit a^h_k: the check then passes only if that bit
//! has the value the adversary hoped, so a batch that passes may have leaked the a-shares of the
//! triples it touched. A touched triple passes with probability at most ½, independently (each
//! condition is a non-trivial affine condition on that triple's own honest a-bits), so with t
//! touched triples the batch passes with probability ≤ 2^−t and at most t leaky triples leak.
//! The leaky triples are then combined in buckets of B' under a public uniform permutation
//! drawn after the multiplication: x = ⊕ x_k, so an output leaks only if all B' of its bucket
//! did:
//!
//! ```text
//!   ε_comb = max_t 2^−t · min(1, ℓ·C(t, B')/C(ℓB', B'))
//! ```
//!
//! B' is the smallest size with ε_comb ≤ 2^−(s+1); M = ℓ·B' rounded up to a multiple of 128
//! leaky triples are made (the at most 127 extra ones are checked and dropped).

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
    /// B', combine bucket size.
    pub combine: usize,
    /// log2 ε_comb.
    pub combine_log2: f64,
}

impl Buckets {
    /// ℓ·B', leaky triples that go into outputs.
    pub fn used(&self) -> usize {
        self.out * self.combine
    }

    /// M, leaky triples made: ℓ·B' rounded up to a multiple of 128.
    pub fn leaky(&self) -> usize {
        self.used().next_multiple_of(128)
    }
}

/// The smallest combine bucket for ℓ = `out` outputs at statistical security `s`, or `None` if
/// even buckets of [`MAX_BUCKET`] do not reach it (tiny batches).
pub(crate) fn choose(out: usize, s: u32) -> Option<Buckets> {
    if out < 2 {
        return None;
    }
    let target = -(s as f64 + 1.0);
    let (combine, comb) = (2..=MAX_BUCKET)
        .map(|b| (b, combine_log2(out, b)))
        .find(|&(_, p)| p <= target)?;
    Some(Buckets {
        out,
        combine,
        combine_log2: comb,
    })
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

    /// The combine bound's term against the permutation itself, for small parameters.
    #[test]
    fn bound_matches_simulated_permutations() {
        use super::super::hash::Sampler;
        let mut sampler = Sampler::new(&[7u8; 32]);
        let trials = 200_000;
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
        for (out, s, bc) in [
            (1024, 40, 5),
            (4096, 40, 4),
            (16384, 40, 4),
            (65536, 40, 4),
            (262144, 40, 4),
            (16384, 64, 6),
        ] {
            let b = choose(out, s).unwrap();
            println!(
                "ℓ = {out}, s = {s}: B' = {}, log2 ε_comb = {:.1}, {:.3} leaky per triple",
                b.combine,
                b.combine_log2,
                b.leaky() as f64 / out as f64
            );
            assert_eq!(b.combine, bc, "ℓ = {out}, s = {s}");
            assert!(b.combine_log2 <= -(s as f64) - 1.0);
            assert!(b.leaky().is_multiple_of(128) && b.leaky() - b.used() < 128);
            // B' is the smallest that meets the bound.
            assert!(combine_log2(out, bc - 1) > -(s as f64) - 1.0);
        }
        assert!(choose(1, 40).is_none());
        // Every allowed configuration has buckets (the largest s at the smallest batch).
        let b = choose(1024, 128).unwrap();
        assert!(b.combine_log2 <= -129.0);
        println!("ℓ = 1024, s = 128: B' = {}", b.combine);
    }
}
