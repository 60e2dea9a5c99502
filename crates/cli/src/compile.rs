//! `ephemeral compile prog.mpc [-- args]`: compile a program and print what it needs, as
//! MP-SPDZ's compiler prints "Program requires"; `--asm` also prints the disassembly.

use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub struct CompileArgs {
    /// The program, in MP-SPDZ's Python dialect.
    program: PathBuf,
    /// Also print the bytecode disassembly.
    #[arg(long)]
    asm: bool,
    /// Compile-time arguments (`program.args[1:]`), after `--`.
    #[arg(last = true)]
    args: Vec<String>,
}

/// Reads and compiles `path`. A compile error is printed as the compiler renders it
/// (file:line:column, the source line and a caret) and ends the process with status 1.
pub fn compile_file(
    path: &std::path::Path,
    args: &[String],
) -> anyhow::Result<lang::CompiledProgram> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    match lang::compile(&source, &name, args, &lang::CompileOptions::default()) {
        Ok(p) => Ok(p),
        Err(e) => {
            eprint!("{e}");
            if !e.to_string().ends_with('\n') {
                eprintln!();
            }
            std::process::exit(1);
        }
    }
}

pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let prog = compile_file(&args.program, &args.args)?;
    let elapsed = t.elapsed();
    for line in &prog.log {
        println!("{line}");
    }
    if args.asm {
        print!("{}", prog.bytecode);
    }
    let s = &prog.summary;
    println!(
        "Compiled {} in {:.2?}: {} instructions in {} function(s), program hash {}",
        args.program.display(),
        elapsed,
        s.instructions,
        s.functions,
        prog.hash_hex()
    );
    let security = prog.bytecode.params.security;
    let req = vm::cost::requirements(&s.fixed, security).map_err(anyhow::Error::msg)?;
    println!("Program requires:");
    print!("{req}");
    if !req.kernel_rounds.is_empty() {
        println!("Rounds per batched call (every element of a batch shares them):");
        for (k, r) in &req.kernel_rounds {
            println!("{r:>12} rounds for {k}");
        }
    }
    if let Some(d) = s.runtime_dependent.as_ref().filter(|d| !d.is_empty()) {
        let dreq = vm::cost::requirements(d, security).map_err(anyhow::Error::msg)?;
        println!("plus, per execution of code repeated a run-time number of times:");
        print!("{dreq}");
    }
    println!(
        "Rounds depend on run-time batching: independent operations, also across loop \
         iterations, share rounds; `ephemeral run --stats` reports them."
    );
    println!("Operations (elements):");
    print!("{}", indent_counts(s));
    Ok(())
}

/// The compiler's own per-operation summary, without its header lines.
fn indent_counts(s: &lang::CostSummary) -> String {
    s.to_string()
        .lines()
        .skip_while(|l| !l.starts_with("Program requires"))
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}
