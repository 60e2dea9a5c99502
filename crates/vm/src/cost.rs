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
//!
//! **Mixed circuits.** A source with the binary domain makes the VM run comparisons, equality,
//! truncation, Mod2m and bit decomposition on the mixed-circuit kernels (`flush`), which consume
//! binary triples, daBits and edaBits of particular shapes as well. [`requirements_for`] with
//! `mixed` measures the kernels the same way with a counting source that has the binary domain,
//! and reports the binary kinds per shape in [`Requirements::binary`]; when a program needs no
//! binary tuple at all the arithmetic count is returned (and a source without binary tuples
//! runs it on the arithmetic kernels, with exactly those needs).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use field::{Fp, Gf128};
use lang::bytecode::{Counts, Kernel};
use net::{NetConfig, PartyId};
use protocol::binary::BitShares;
use protocol::prep::{
    BitTriples, DaBits, EdaBits, InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind,
    WideEdaBits,
};
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
    /// Binary-domain tuples per kind (binary triples, daBits, edaBits per shape), when measured
    /// for the mixed-circuit kernels ([`requirements_for`]); empty otherwise.
    pub binary: BTreeMap<TupleKind, u64>,
}

impl Requirements {
    fn add(&mut self, c: &KernelCost, n: u64) {
        self.triples = self.triples.saturating_add(c.triples.saturating_mul(n));
        self.squares = self.squares.saturating_add(c.squares.saturating_mul(n));
        self.bits = self.bits.saturating_add(c.bits.saturating_mul(n));
        self.inverses = self.inverses.saturating_add(c.inverses.saturating_mul(n));
    }

    fn add_binary(&mut self, b: &BTreeMap<TupleKind, u64>, n: u64) {
        for (&k, &c) in b {
            let e = self.binary.entry(k).or_default();
            *e = e.saturating_add(c.saturating_mul(n));
        }
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
        for (k, c) in &self.binary {
            writeln!(f, "{c:>12} {k}")?;
        }
        Ok(())
    }
}

/// The tuples `counts` needs. `security` is the program's statistical security parameter.
pub fn requirements(counts: &Counts, security: u32) -> Result<Requirements, String> {
    requirements_for(counts, security, false)
}

/// The tuples `counts` needs on a source with (`mixed`) or without the binary domain. With
/// `mixed`, a program whose kernels need no binary tuple gets its arithmetic count (see the
/// module docs): so a source holding exactly these tuples has the binary domain exactly when
/// [`Requirements::binary`] is not empty.
pub fn requirements_for(
    counts: &Counts,
    security: u32,
    mixed: bool,
) -> Result<Requirements, String> {
    if mixed {
        let r = measured_requirements(counts, security, true)?;
        if r.binary.values().any(|&c| c > 0) {
            return Ok(r);
        }
    }
    measured_requirements(counts, security, false)
}

fn measured_requirements(
    counts: &Counts,
    security: u32,
    mixed: bool,
) -> Result<Requirements, String> {
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
        let (c, b) = measure(k, security, mixed)?;
        r.add(&c, n);
        r.add_binary(&b, n);
        r.kernel_rounds.insert(k, c.rounds);
    }
    r.binary.retain(|_, c| *c > 0);
    Ok(r)
}

/// A preprocessing source that hands out zero shares. The engine counts the arithmetic tuples;
/// the source counts the binary ones per kind (shape), when it has the binary domain. For
/// measuring only: nothing computed with it is ever revealed.
#[derive(Default)]
struct Zeros {
    binary: Option<Arc<Mutex<BTreeMap<TupleKind, u64>>>>,
}

impl Zeros {
    fn count(&self, kind: TupleKind, n: usize) -> Result<(), PrepError> {
        let Some(b) = &self.binary else {
            return Err(PrepError::Unsupported(kind));
        };
        *b.lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(kind)
            .or_default() += n as u64;
        Ok(())
    }
}

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
    fn binary_key_share(&self) -> Option<Gf128> {
        self.binary.as_ref().map(|_| Gf128::ZERO)
    }
    fn bit_triples(&mut self, n: usize) -> Result<BitTriples, PrepError> {
        self.count(TupleKind::BitTriple, n)?;
        Ok(BitTriples {
            a: BitShares::zeros(n),
            b: BitShares::zeros(n),
            c: BitShares::zeros(n),
        })
    }
    fn dabits(&mut self, n: usize) -> Result<DaBits, PrepError> {
        self.count(TupleKind::DaBit, n)?;
        Ok(DaBits {
            arith: ShareVec::zeros(n),
            bin: BitShares::zeros(n),
        })
    }
    fn edabits(&mut self, n: usize, bits: u32, extra: u32) -> Result<EdaBits, PrepError> {
        self.count(TupleKind::EdaBit { bits, extra }, n)?;
        Ok(EdaBits {
            bits,
            extra,
            low: ShareVec::zeros(n),
            high: ShareVec::zeros(n),
            bin: BitShares::zeros(n * bits as usize),
        })
    }
    fn wide_edabits(&mut self, n: usize, bits: u32, width: u32) -> Result<WideEdaBits, PrepError> {
        self.count(TupleKind::WideEdaBit { bits, width }, n)?;
        Ok(WideEdaBits {
            bits,
            width,
            value: ShareVec::zeros(n),
            bin: BitShares::zeros(n * bits as usize),
        })
    }
}

/// Runs kernel `k` on `len` elements as the VM's flush does: comparisons, equality, truncation,
/// Mod2m and bit decomposition on the mixed kernels when the source has the binary domain.
fn run_kernel(e: &mut Engine<Zeros>, k: Kernel, len: usize) -> protocol::Result<()> {
    let x = ShareVec::zeros(len);
    if e.has_binary() {
        let mut m = e.mixed()?;
        match k {
            Kernel::Ltz { k } => return m.ltz(&x, k).map(drop),
            Kernel::Eqz { k } => return m.eqz(&x, k).map(drop),
            Kernel::Trunc { k, m: b } => return m.trunc(&x, k, b).map(drop),
            Kernel::Mod2m { k, m: b } => return m.mod2m(&x, k, b).map(drop),
            Kernel::BitDec { k, m: b } => return m.bit_dec(&x, k, b).map(drop),
            _ => {}
        }
    }
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
    measure(kernel, security, false).map(|(c, _)| c)
}

/// The measured cost of one call of `kernel` on one element on the mixed-circuit kernels: the
/// arithmetic tuples and rounds, and the binary tuples per kind.
pub fn mixed_kernel_cost(
    kernel: Kernel,
    security: u32,
) -> Result<(KernelCost, BTreeMap<TupleKind, u64>), String> {
    measure(kernel, security, true)
}

type Measured = (KernelCost, BTreeMap<TupleKind, u64>);
type MeasureCache = Mutex<HashMap<(Kernel, u32, bool), Measured>>;

fn measure(kernel: Kernel, security: u32, mixed: bool) -> Result<Measured, String> {
    static CACHE: OnceLock<MeasureCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache
        .lock()
        .expect("cache lock")
        .get(&(kernel, security, mixed))
    {
        return Ok(c.clone());
    }
    let c = measure_len(kernel, security, mixed, 1)?;
    cache
        .lock()
        .expect("cache lock")
        .insert((kernel, security, mixed), c.clone());
    Ok(c)
}

/// Runs `kernel` once on `len` elements between two in-process parties; what party 0 consumed.
fn measure_len(kernel: Kernel, security: u32, mixed: bool, len: usize) -> Result<Measured, String> {
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
                let binary = mixed.then(|| Arc::new(Mutex::new(BTreeMap::new())));
                let source = Zeros {
                    binary: binary.clone(),
                };
                let mut e = Engine::new(net, source, config);
                run_kernel(&mut e, kernel, len)?;
                let t = e.tuples_consumed();
                let b = binary
                    .map(|b| b.lock().unwrap_or_else(|p| p.into_inner()).clone())
                    .unwrap_or_default();
                Ok::<Measured, protocol::ProtocolError>((
                    KernelCost {
                        triples: t.triples,
                        squares: t.squares,
                        bits: t.bits,
                        inverses: t.inverses,
                        rounds: e.net_stats().rounds,
                    },
                    b,
                ))
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
    Ok(out.expect("two parties"))
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

    #[test]
    fn mixed_kernel_costs_count_binary_kinds_per_shape_and_are_linear() {
        let kernels = [
            Kernel::Ltz { k: 64 },
            Kernel::Eqz { k: 64 },
            Kernel::Trunc { k: 64, m: 16 },
            Kernel::Mod2m { k: 64, m: 16 },
            Kernel::BitDec { k: 64, m: 64 },
        ];
        for k in kernels {
            let (c1, b1) = mixed_kernel_cost(k, 40).unwrap();
            assert!(!b1.is_empty(), "{k}: no binary tuples");
            assert!(
                b1.contains_key(&TupleKind::BitTriple)
                    || k == (Kernel::Trunc { k: 64, m: 16 })
                    || k == (Kernel::Mod2m { k: 64, m: 16 }),
                "{k}: {b1:?}"
            );
            // Linear in the vector length, so per-element costs times counts are exact.
            let (c3, b3) = measure_len(k, 40, true, 3).unwrap();
            assert_eq!(
                (c3.triples, c3.squares, c3.bits, c3.inverses),
                (3 * c1.triples, 3 * c1.squares, 3 * c1.bits, 3 * c1.inverses),
                "{k}"
            );
            let tripled: BTreeMap<TupleKind, u64> = b1.iter().map(|(&t, &c)| (t, 3 * c)).collect();
            assert_eq!(b3, tripled, "{k}");
        }
        // A comparison needs far fewer prime-field tuples on the mixed kernels.
        let (mixed, binary) = mixed_kernel_cost(Kernel::Ltz { k: 64 }, 40).unwrap();
        let arith = kernel_cost(Kernel::Ltz { k: 64 }, 40).unwrap();
        assert!(mixed.triples + mixed.bits < arith.triples + arith.bits);
        assert!(binary
            .keys()
            .any(|t| matches!(t, TupleKind::WideEdaBit { bits: 64, .. })));

        // Requirements: binary kinds counted with `mixed`, and only when a kernel needs them.
        let mut counts = Counts::default();
        counts.kernels.insert(Kernel::Ltz { k: 64 }, 10);
        let r = requirements_for(&counts, 40, true).unwrap();
        assert_eq!(
            r.binary,
            binary.iter().map(|(&t, &c)| (t, 10 * c)).collect()
        );
        assert!(requirements_for(&counts, 40, false)
            .unwrap()
            .binary
            .is_empty());
        let mut plain = Counts {
            multiplications: 5,
            ..Counts::default()
        };
        plain.kernels.insert(Kernel::TruncPr { k: 47, m: 16 }, 2);
        assert_eq!(
            requirements_for(&plain, 40, true).unwrap(),
            requirements(&plain, 40).unwrap()
        );
    }
}
