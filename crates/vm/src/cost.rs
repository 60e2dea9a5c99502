//! What a compiled program needs from preprocessing: triples, squares, bits, inverses and input
//! masks per party, as MP-SPDZ's "Program requires" reports them.
//!
//! The compiler's [`Counts`] give element counts per operation and kernel. Each kernel's tuples
//! per element are *measured* rather than restated: [`kernel_cost`] runs the engine's kernel once
//! on a single element, between two in-process parties with a counting preprocessing source
//! (zero tuples, never revealed), and records what it consumed and how many rounds it took. The
//! counts are exact because every kernel handles its elements independently, so its
//! consumption is linear in the vector length; and they cannot drift from the engine, whatever
//! optimisation a kernel gets later. Results are cached per process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use field::Fp;
use lang::bytecode::{Counts, Kernel};
use net::{NetConfig, PartyId};
use protocol::prep::{InputMasks, Pairs, PrepError, Preprocessing, Triples};
use protocol::{Engine, EngineConfig, NonLinear, ShareVec};

/// Tuples and rounds of one kernel call on one element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCost {
    pub triples: u64,
    pub squares: u64,
    pub bits: u64,
    pub inverses: u64,
    /// Rounds of one call (for any vector length).
    pub rounds: u64,
}

/// Everything a program needs, in tuples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub triples: u64,
    pub squares: u64,
    pub bits: u64,
    pub inverses: u64,
    /// Input masks per inputting party.
    pub input_masks: BTreeMap<u32, u64>,
    /// Input masks of the receiving parties for values revealed to one party (`reveal_to`).
    pub private_output_masks: u64,
    /// Rounds per call of each kernel the program uses.
    pub kernel_rounds: BTreeMap<Kernel, u64>,
}

impl Requirements {
    fn add(&mut self, c: &KernelCost, n: u64) {
        self.triples = self.triples.saturating_add(c.triples.saturating_mul(n));
        self.squares = self.squares.saturating_add(c.squares.saturating_mul(n));
        self.bits = self.bits.saturating_add(c.bits.saturating_mul(n));
        self.inverses = self.inverses.saturating_add(c.inverses.saturating_mul(n));
    }
}

impl std::fmt::Display for Requirements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:>12} triples", self.triples)?;
        writeln!(f, "{:>12} squares", self.squares)?;
        writeln!(f, "{:>12} bits", self.bits)?;
        writeln!(f, "{:>12} inverses", self.inverses)?;
        if self.input_masks.is_empty() {
            writeln!(f, "{:>12} input masks", 0)?;
        }
        for (p, c) in &self.input_masks {
            writeln!(f, "{c:>12} input masks of party {p}")?;
        }
        if self.private_output_masks > 0 {
            writeln!(
                f,
                "{:>12} input masks of the receiving parties (reveal_to)",
                self.private_output_masks
            )?;
        }
        Ok(())
    }
}

/// The tuples `counts` needs. `security` is the program's statistical security parameter.
pub fn requirements(counts: &Counts, security: u32) -> Result<Requirements, String> {
    let mut r = Requirements::default();
    r.add(
        &KernelCost {
            triples: 1,
            ..KernelCost::default()
        },
        counts.multiplications.saturating_add(counts.triples),
    );
    r.bits = r.bits.saturating_add(counts.random_bits);
    for (&bits, &n) in &counts.random_ints {
        r.bits = r.bits.saturating_add(u64::from(bits).saturating_mul(n));
    }
    for (&p, &n) in &counts.inputs {
        *r.input_masks.entry(p).or_default() += n;
    }
    r.private_output_masks = counts.private_opens;
    for (&k, &n) in &counts.kernels {
        let c = kernel_cost(k, security)?;
        r.add(&c, n);
        r.kernel_rounds.insert(k, c.rounds);
    }
    Ok(r)
}

/// A preprocessing source that hands out zero shares and counts nothing itself (the engine
/// counts). For measuring only: nothing computed with it is ever revealed.
struct Zeros;

impl Preprocessing for Zeros {
    fn mac_key_share(&self) -> Fp {
        Fp::ZERO
    }
    fn triples(&mut self, n: usize) -> Result<Triples, PrepError> {
        Ok(Triples {
            a: ShareVec::zeros(n),
            b: ShareVec::zeros(n),
            c: ShareVec::zeros(n),
        })
    }
    fn squares(&mut self, n: usize) -> Result<Pairs, PrepError> {
        Ok(Pairs {
            a: ShareVec::zeros(n),
            b: ShareVec::zeros(n),
        })
    }
    fn bits(&mut self, n: usize) -> Result<ShareVec, PrepError> {
        Ok(ShareVec::zeros(n))
    }
    fn inverses(&mut self, n: usize) -> Result<Pairs, PrepError> {
        self.squares(n)
    }
    fn input_masks(&mut self, owner: PartyId, n: usize) -> Result<InputMasks, PrepError> {
        Ok(InputMasks {
            shares: ShareVec::zeros(n),
            clear: (owner == 0).then(|| vec![Fp::ZERO; n]),
        })
    }
}

fn run_kernel(e: &mut Engine<Zeros>, k: Kernel) -> protocol::Result<()> {
    let x = ShareVec::zeros(1);
    match k {
        Kernel::Ltz { k } => e.ltz(&x, k).map(drop),
        Kernel::Eqz { k } => e.eqz(&x, k).map(drop),
        Kernel::Trunc { k, m } => e.trunc(&x, k, m).map(drop),
        Kernel::TruncPr { k, m } => e.trunc_pr(&x, k, m).map(drop),
        Kernel::Mod2m { k, m } => e.mod2m(&x, k, m).map(drop),
        Kernel::BitDec { k, m } => e.bit_dec(&x, k, m).map(drop),
        Kernel::FixDiv { k, f } => e.fp_div(&x, &x, k, f).map(drop),
        Kernel::IntDiv { k } => e.int_div(&x, &x, k).map(drop),
    }
}

/// The measured cost of one call of `kernel` on one element; see the module documentation.
pub fn kernel_cost(kernel: Kernel, security: u32) -> Result<KernelCost, String> {
    static CACHE: OnceLock<Mutex<HashMap<(Kernel, u32), KernelCost>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().expect("cache lock").get(&(kernel, security)) {
        return Ok(*c);
    }
    let cfg = NetConfig {
        recv_deadline: Duration::from_secs(30),
        ..NetConfig::default()
    };
    let handles: Vec<_> = net::in_process(2, cfg)
        .into_iter()
        .map(|net| {
            std::thread::spawn(move || {
                let config = EngineConfig {
                    security,
                    ..EngineConfig::default()
                };
                let mut e = Engine::new(net, Zeros, config);
                run_kernel(&mut e, kernel)?;
                let t = e.tuples_consumed();
                Ok::<KernelCost, protocol::ProtocolError>(KernelCost {
                    triples: t.triples,
                    squares: t.squares,
                    bits: t.bits,
                    inverses: t.inverses,
                    rounds: e.net_stats().rounds,
                })
            })
        })
        .collect();
    let mut out = None;
    for h in handles {
        let c = h
            .join()
            .map_err(|_| "measuring a kernel panicked".to_string())?
            .map_err(|e| format!("{kernel}: {e}"))?;
        out = Some(c);
    }
    let c = out.expect("two parties");
    cache
        .lock()
        .expect("cache lock")
        .insert((kernel, security), c);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_costs_are_measured() {
        let c = kernel_cost(Kernel::Ltz { k: 64 }, 40).unwrap();
        assert_eq!(c.bits, 104, "k + s bits");
        assert!(c.triples > 0 && c.rounds >= 2);
        let t = kernel_cost(Kernel::TruncPr { k: 47, m: 16 }, 40).unwrap();
        assert_eq!((t.triples, t.bits, t.rounds), (0, 87, 1));
        let mut counts = Counts {
            multiplications: 10,
            ..Counts::default()
        };
        counts.kernels.insert(Kernel::TruncPr { k: 47, m: 16 }, 3);
        counts.inputs.insert(1, 4);
        let r = requirements(&counts, 40).unwrap();
        assert_eq!((r.triples, r.bits), (10, 261));
        assert_eq!(r.input_masks.get(&1), Some(&4));
        assert!(kernel_cost(Kernel::Ltz { k: 100 }, 40).is_err());
    }
}
