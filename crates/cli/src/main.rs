//! `ephemeral`: the one binary of Ephemeral.
//!
//! Subcommands today: `demo` (a 3-party computation over mutual TLS on loopback) and `bench` (the
//! engine benchmarks, written to docs/BENCHMARKS.md). Later issues add `node`, `dev`, `run`,
//! `compile` and the client commands.

mod bench;
mod bench_dialect;
mod compile;
mod demo;
mod local;
mod run;

use clap::{Parser, Subcommand};

/// jemalloc keeps freed pages for reuse. The engine allocates vectors of tens of megabytes per
/// round; with glibc's allocator each of those is a fresh mmap whose pages the kernel must fault in
/// and zero, which cost more than the arithmetic.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// the product of all inputs and who holds the largest, and reveal only those.
    Demo(demo::DemoArgs),
    /// Run the engine benchmarks and write docs/BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Compile a .mpc program and run it across N local parties (needs --insecure-dealer),
    /// printing party 0's output.
    Run(run::RunArgs),
    /// Compile a .mpc program and print its instruction count and the preprocessing it needs;
    /// --asm prints the bytecode.
    Compile(compile::CompileArgs),
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
    }
}
