//! `ephemeral`: the one binary of Ephemeral.
//!
//! Subcommands: `demo` (a computation over mutual TLS on loopback), `bench` (the engine
//! benchmarks, written to docs/BENCHMARKS.md; `bench offline` for MASCOT, `--mpspdz DIR` to
//! measure MP-SPDZ alongside), `run` and `compile` (the dialect without nodes), `node` and `dev`
//! (party nodes), `deploy configs` and `healthcheck` (containers), and the client commands.

mod bench;
mod bench_dialect;
mod bench_e2e;
mod bench_node;
mod bench_offline;
mod bench_peer;
mod client_cmd;
mod compile;
mod demo;
mod deploy;
mod dev;
mod healthcheck;
mod local;
mod node_cmd;
mod run;

use clap::{Parser, Subcommand};

/// jemalloc keeps freed pages for reuse. The engine allocates vectors of tens of megabytes per
/// round; with glibc's allocator each of those is a fresh mmap whose pages the kernel must fault in
/// and zero, which cost more than the arithmetic.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's start-up options (read once, before the first allocation; `_RJEM_MALLOC_CONF` in
/// the environment still overrides them). `oversize_threshold:0`: by default jemalloc serves
/// allocations of 8 MiB and more from a separate arena that returns freed pages to the kernel at
/// once, so every large frame or vector is faulted in and zeroed again. MASCOT moves frames of
/// that size every round, and this setting alone took 2-party triple generation from about
/// 10,800 to about 12,200 triples/s on the benchmark machine. Large blocks now live in the normal
/// arenas, whose unused pages go back to the kernel after the usual ten-second decay.
/// `background_thread:true`: jemalloc's own threads do that decay. Without them, pages freed by
/// an arena are only returned when that arena allocates again, so a node that served one large
/// upload or download and then idled kept its peak resident set for good (measured in
/// docs/BENCHMARKS.md, "Memory of transfers"; checked by `tests/memory.rs`).
/// `percpu_arena:percpu`: one arena per CPU instead of threads bound to one of 4·CPUs arenas
/// when they start. A party's protocol thread then reuses the pages that other threads freed on
/// its CPU; bound to an arena of its own, a fresh thread faulted in and zeroed every page of its
/// round buffers again. Measured on 10^5 mixed comparisons online (2 parties, one process, the
/// thread per party that one-shot runs start): with thread-bound arenas the online time was
/// either about 0.53 s or, in about one run of three, about 1.27 s, the slow party spending a
/// third of its time in the kernel zeroing pages; with per-CPU arenas 0.55–0.58 s in every run,
/// and the end-to-end benchmarks were no slower.
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 64] =
    b"oversize_threshold:0,background_thread:true,percpu_arena:percpu\0";

#[derive(Parser)]
#[command(
    name = "ephemeral",
    version,
    about = "Ephemeral: serverless secure multiparty computation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run N local parties over mutual TLS on loopback: each inputs a secret number; they compute
    /// the product of all inputs and who holds the largest, and reveal only those (MASCOT
    /// preprocessing; --insecure-dealer for the INSECURE dealer).
    Demo(demo::DemoArgs),
    /// Run the engine benchmarks and write docs/BENCHMARKS.md; `bench offline` measures MASCOT
    /// triple generation.
    Bench(bench::BenchArgs),
    /// Compile a .mpc program and run it across N local parties with MASCOT preprocessing made
    /// as it runs (--insecure-dealer for the INSECURE dealer), printing party 0's output.
    Run(run::RunArgs),
    /// Compile a .mpc program and print its instruction count and the preprocessing it needs;
    /// --asm prints the bytecode.
    Compile(compile::CompileArgs),
    /// Run one party's node: `ephemeral node --config party.toml`.
    Node(node_cmd::NodeArgs),
    /// Start a local virtual cloud of N parties in this process (MASCOT tuples; INSECURE dealer
    /// tuples with --insecure-dealer) and write a client config for the other commands.
    Dev(dev::DevArgs),
    /// Store, read, list, tag and delete secrets on a virtual cloud (reads the cloud file).
    Secret(client_cmd::secret::SecretArgs),
    /// Deploy programs as named functions on every party, and list them.
    Fn(client_cmd::fn_cmd::FnArgs),
    /// Run a program (a .mpc file or a deployed function) on every party of a virtual cloud.
    Execute(client_cmd::execute::ExecuteArgs),
    /// Preprocessed tuple pools of every party.
    Tuples(client_cmd::tuples::TuplesArgs),
    /// Whether every party of the virtual cloud is up and connected.
    Health(client_cmd::health::HealthArgs),
    /// Operators' commands on every party (`admin rekey`).
    Admin(client_cmd::admin::AdminArgs),
    /// Deployment: `deploy configs` writes keys, certificates, tokens and every party's config
    /// for containers (Docker Compose, Kubernetes), and the client's cloud file.
    Deploy(deploy::DeployArgs),
    /// Ask this party's own node for its health (`GET /v1/health`), for container health
    /// checks: exit status 0 when it answers (with --ready: when every peer is connected).
    Healthcheck(healthcheck::HealthcheckArgs),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes, without a backtrace: errors here are for users.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Run(args) => run::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Node(args) => node_cmd::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Secret(args) => client_cmd::secret::run(args),
        Command::Fn(args) => client_cmd::fn_cmd::run(args),
        Command::Execute(args) => client_cmd::execute::run(args),
        Command::Tuples(args) => client_cmd::tuples::run(args),
        Command::Admin(args) => client_cmd::admin::run(args),
        Command::Health(args) => client_cmd::health::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
    }
}
