//! `ephemeral bench`, dialect part: compile and run `.mpc` programs through `lang` and `vm`
//! (issue 3's benchmarks). Parties run over in-process channels with the insecure dealer; online
//! time is the run's time minus the dealer's.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

/// The seed example of Carbyne Stack Ephemeral's README, unchanged.
const SEED: &str = "# Open socket for I/O
listen(10000)
client_socket_id = regint()
acceptclientconnection(client_socket_id, 10000)
# Read all input data at once
v = sint.read_from_socket(client_socket_id, 2)
a = v[0]
b = v[1]
# Compute result
sum = a + b
# Pack result into array and write to socket
resp = Array(1, sint)
resp[0] = sum
sint.write_to_socket(client_socket_id, resp)
";

const TUTORIAL: &str = include_str!("../../vm/tests/corpus/tutorial.mpc");
const TUTORIAL_IN0: &str = include_str!("../../vm/tests/corpus/tutorial.in0");
const TUTORIAL_IN1: &str = include_str!("../../vm/tests/corpus/tutorial.in1");

const PRODUCTS: &str = "n = int(program.args[1])
a = sint.Array(n)
b = sint.Array(n)
a.assign_all(3)
b.assign_all(-5)
c = a[:] * b[:]
print_ln('%s', sum(c[:10]).reveal())
";

const COMPARISONS: &str = "n = int(program.args[1])
a = sint.Array(n)
b = sint.Array(n)
a.assign_all(3)
b.assign_all(-5)
c = a[:] < b[:]
print_ln('%s', sum(c[:10]).reveal())
";

const LOOP: &str = "n = 10000
a = sint.Array(n)
b = sint.Array(n)
c = sint.Array(n)
a.assign_all(7)
b.assign_all(6)
@for_range(n)
def _(i):
    c[i] = a[i] * b[i]
print_ln('%s', c[n - 1].reveal())
";

/// A Python loop the compiler must unroll: 10^5 iterations, 300 004 instructions. The range is
/// negative because a plain `range(n)` loop now compiles to a run-time loop (speculative loops),
/// which would leave nothing to measure; negative ranges still unroll (Python semantics).
const UNROLLED: &str = "a = sint.Array(10)
x = sint(1)
for i in range(-100000, 0):
    x = x + a[i % 10] * 2
print_ln('%s', x.reveal())
";

/// Peak resident set of this process so far, in bytes.
fn peak_rss() -> u64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage it is given a valid pointer to.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    // SAFETY: initialised by the successful call above.
    let ru = unsafe { ru.assume_init() };
    ru.ru_maxrss as u64 * 1024
}

fn compile(src: &str, name: &str, args: &[&str]) -> anyhow::Result<lang::CompiledProgram> {
    let mut argv = vec![name.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    lang::compile(src, name, &argv[1..], &lang::CompileOptions::default())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("compiling {name}"))
}

/// Compile-time figures; run this before anything else so that the peak RSS is the compiler's.
pub fn compile_section(md: &mut String) -> anyhow::Result<()> {
    let rss0 = peak_rss();
    let t = Instant::now();
    let p = compile(UNROLLED, "unrolled.mpc", &[])?;
    let unrolled = t.elapsed();
    let rss = peak_rss();
    let instructions = p.summary.instructions;
    drop(p);
    let mut times: Vec<Duration> = (0..101)
        .map(|_| {
            let t = Instant::now();
            let p = compile(SEED, "seed.mpc", &[]);
            let d = t.elapsed();
            std::hint::black_box(p.is_ok());
            d
        })
        .collect();
    compile(SEED, "seed.mpc", &[])?;
    times.sort();
    writeln!(md, "## Compiler (`lang`)\n")?;
    writeln!(
        md,
        "| benchmark | measured | target | MP-SPDZ reference (issue 3) |\n|---|---|---|---|"
    )?;
    writeln!(
        md,
        "| compile the seed example (median of 101) | {:.2} ms | < 5 ms | compile.py 0.35–0.6 s for tiny programs |",
        times[50].as_secs_f64() * 1e3
    )?;
    writeln!(
        md,
        "| compile a 10^5-iteration Python-unrolled loop ({instructions} instructions) | {:.2} s, peak RSS {} MB (process baseline before: {} MB) | < 2 s, < 500 MB | – |\n",
        unrolled.as_secs_f64(),
        rss / 1_000_000,
        rss0 / 1_000_000
    )?;
    Ok(())
}

struct Run {
    rounds: u64,
    online: Duration,
    output: String,
}

fn run(src: &str, name: &str, args: &[&str], n: usize, inputs: &[&str]) -> anyhow::Result<Run> {
    let p = compile(src, name, args)?;
    let setups = (0..n)
        .map(|i| vm::runner::PartySetup {
            private_input: inputs.get(i).copied().unwrap_or("").to_string(),
            ..Default::default()
        })
        .collect();
    let results = vm::runner::run_local_insecure(
        &p.bytecode,
        setups,
        &vm::VmConfig::default(),
        crate::local::net_config(),
    );
    let mut outs = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        outs.push(
            r.map_err(|e| anyhow!("party {i}: {e}"))
                .with_context(|| format!("running {name}"))?,
        );
    }
    Ok(Run {
        rounds: outs[0].engine.net.rounds,
        online: outs
            .iter()
            .map(|o| o.online_time())
            .max()
            .unwrap_or_default(),
        output: outs[0].output.clone(),
    })
}

/// One benchmark program.
struct Case<'a> {
    label: &'a str,
    src: &'a str,
    name: &'a str,
    args: Vec<&'a str>,
    inputs: Vec<&'a str>,
    target: &'a str,
}

/// Runs the dialect programs for 2 parties.
pub fn run_section(md: &mut String, quick: bool) -> anyhow::Result<()> {
    let (products, comparisons) = if quick {
        ("100000", "10000")
    } else {
        ("1000000", "100000")
    };
    writeln!(
        md,
        "## Dialect programs (`lang` + `vm`, 2 parties, in-process channels)\n"
    )?;
    writeln!(
        md,
        "| program | rounds | online time | target / reference (issue 3) |\n|---|---|---|---|"
    )?;
    let cases = [
        Case {
            label: "tutorial-style program mixing tier-1 features (corpus `tutorial.mpc`)",
            src: TUTORIAL,
            name: "tutorial.mpc",
            args: vec![],
            inputs: vec![TUTORIAL_IN0, TUTORIAL_IN1],
            target: "MP-SPDZ's tutorial: 298 VM rounds",
        },
        Case {
            label: "products `a[:] * b[:]`",
            src: PRODUCTS,
            name: "products.mpc",
            args: vec![products],
            inputs: vec![],
            target: "–",
        },
        Case {
            label: "64-bit comparisons `a[:] < b[:]`",
            src: COMPARISONS,
            name: "comparisons.mpc",
            args: vec![comparisons],
            inputs: vec![],
            target: "–",
        },
        Case {
            label: "`@for_range(10^4)` with one independent product per iteration",
            src: LOOP,
            name: "loop.mpc",
            args: vec![],
            inputs: vec![],
            target: "≤ 10 rounds; MP-SPDZ needs 10^4 without hand tuning",
        },
    ];
    for c in cases {
        eprintln!("dialect: {} {} ...", c.name, c.args.join(" "));
        let r = run(c.src, c.name, &c.args, 2, &c.inputs)?;
        anyhow::ensure!(!r.output.is_empty(), "{} printed nothing", c.name);
        let size = c
            .args
            .first()
            .map(|a| format!(" ({a} elements)"))
            .unwrap_or_default();
        writeln!(
            md,
            "| {}{size} | {} | {:.3} s | {} |",
            c.label,
            r.rounds,
            r.online.as_secs_f64(),
            c.target
        )?;
    }
    writeln!(md)?;
    Ok(())
}
