//! # lang: the Ephemeral compiler
//!
//! Compiles programs in MP-SPDZ's Python dialect (`.mpc`) to Ephemeral bytecode, a typed
//! vector register machine that the `vm` crate runs on the SPDZ engine.
//!
//! The compiler never runs CPython: it parses the source with `ruff_python_parser` and
//! evaluates a Python subset over the AST in Rust, under [`Budgets`] (steps, instructions,
//! memory, recursion depth, wall time). Compile-time Python values are ordinary values; run-time
//! values (`sint`, `cint`, `regint`, `sfix`, Arrays, ...) emit instructions when operated on.
//! Python control flow on a run-time value is an error; `@for_range`, `@if_e`, `@while_do`,
//! `@function` and friends build run-time control flow, with loop bodies compiled once.
//!
//! ```
//! let prog = lang::compile(
//!     "a = sint(3)\nprint_ln('%s', (a * 2).reveal())\n",
//!     "double.mpc",
//!     &[],
//!     &lang::CompileOptions::default(),
//! )
//! .unwrap();
//! assert!(prog.bytecode.to_string().contains("mulsi"));
//! ```
//!
//! The same source, arguments and options always give byte-identical bytecode, named by the
//! BLAKE3 hash of its encoding. See docs/LANG.md for the dialect and the instruction set.

pub mod budgets;
mod builtins;
pub mod bytecode;
pub mod diagnostics;
mod emit;
mod eval;
mod library;
mod prelude;
mod pymethods;
mod pyre;
mod types;
mod values;

use std::time::Duration;

pub use budgets::{BudgetKind, Budgets};
pub use bytecode::{Bytecode, CostSummary, Counts, Instr, Kernel};
pub use diagnostics::{CompileError, ErrorKind, Location};

/// The default field prime (architecture §5): 2^127 < p < 2^128.
pub const DEFAULT_PRIME: u128 = 198766463529478683931867765928436695041;

/// Options for one compilation. Part of the program's identity: the same source, args and
/// options give the same bytecode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    pub budgets: Budgets,
    /// Default `program.bit_length` (k), 64 as in MP-SPDZ with a prime field.
    pub bit_length: u32,
    /// Default `program.security` (s), 40.
    pub security: u32,
    /// The field prime immediates are reduced with.
    pub prime: u128,
    /// Largest accepted source, in bytes.
    pub max_source_bytes: usize,
}

impl Default for CompileOptions {
    fn default() -> CompileOptions {
        CompileOptions {
            budgets: Budgets::default(),
            bit_length: 64,
            security: 40,
            prime: DEFAULT_PRIME,
            max_source_bytes: 1 << 20,
        }
    }
}

/// A compiled program.
#[derive(Clone, Debug)]
pub struct CompiledProgram {
    pub bytecode: Bytecode,
    /// BLAKE3 of `bytecode.encode()`: the program's name.
    pub hash: [u8; 32],
    /// What the program needs from the engine (instruction count, tuples, kernels).
    pub summary: CostSummary,
    /// Lines printed at compile time with Python's `print`.
    pub log: Vec<String>,
}

impl CompiledProgram {
    pub fn hash_hex(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Deepest bracket nesting accepted (the parser recurses on nesting).
const MAX_NESTING: usize = 200;

/// Stack for the compiler thread. The parser recurses once per prefix operator (`- - - x`,
/// `not not x`, `lambda: lambda: ...`), so its depth is bounded only by the source length;
/// the stack grows with the source (address space only: untouched pages cost nothing).
fn compiler_stack(source_len: usize) -> usize {
    (64usize << 20)
        .saturating_add(source_len.saturating_mul(640))
        .min(3 << 30)
}

/// Compiles `.mpc` source. `file_name` is used in error messages and for `program.name`;
/// `args` become `program.args[1..]`.
#[allow(clippy::result_large_err)]
pub fn compile(
    source: &str,
    file_name: &str,
    args: &[String],
    options: &CompileOptions,
) -> Result<CompiledProgram, CompileError> {
    let smap = diagnostics::SourceMap::new(file_name, source);
    if source.len() > options.max_source_bytes {
        return Err(smap.render(
            diagnostics::Error::new(
                ErrorKind::Budget(BudgetKind::Memory),
                format!(
                    "source is {} bytes, more than the limit of {}",
                    source.len(),
                    options.max_source_bytes
                ),
            )
            .with_advice("raise `CompileOptions::max_source_bytes`"),
        ));
    }
    if let Some((off, what)) = too_deep(source) {
        let r = ruff_text_size::TextRange::new(
            ruff_text_size::TextSize::new(off as u32),
            ruff_text_size::TextSize::new(off as u32 + 1),
        );
        return Err(smap.render(
            diagnostics::Error::new(ErrorKind::Syntax, what)
                .with_advice("split the expression into smaller parts")
                .at(r),
        ));
    }
    let result = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("lang-compile".into())
            .stack_size(compiler_stack(source.len()))
            .spawn_scoped(
                s,
                #[allow(clippy::result_large_err)]
                || compile_on_this_thread(source, file_name, args, options),
            )
            .map(|h| h.join())
    });
    match result {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(smap.render(
                diagnostics::Error::new(
                    ErrorKind::Internal,
                    format!("the compiler panicked: {what}"),
                )
                .with_advice("this is a bug in the compiler; please report it with the program"),
            ))
        }
        // No thread available: compile here (the stack may be smaller).
        Err(_) => compile_on_this_thread(source, file_name, args, options),
    }
}

/// Longest accepted run of unary operators (`- - - x`): the parser recurses on each.
const MAX_UNARY_RUN: usize = 1000;

/// Refuses sources whose nesting would make the parser recurse too deeply: brackets, and long
/// runs of `-`, `+`, `~` (with only whitespace between them).
fn too_deep(src: &str) -> Option<(usize, String)> {
    let mut depth = 0usize;
    let mut run = 0usize;
    for (i, b) in src.bytes().enumerate() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((
                        i,
                        format!("brackets nested more than {MAX_NESTING} levels deep"),
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        match b {
            b'-' | b'+' | b'~' => {
                run += 1;
                if run > MAX_UNARY_RUN {
                    return Some((
                        i,
                        format!("more than {MAX_UNARY_RUN} consecutive unary operators"),
                    ));
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'\\' | b'\x0c' => {}
            _ => run = 0,
        }
    }
    None
}

#[allow(clippy::result_large_err)]
fn compile_on_this_thread(
    source: &str,
    file_name: &str,
    args: &[String],
    options: &CompileOptions,
) -> Result<CompiledProgram, CompileError> {
    budgets::mem_reset();
    let smap = diagnostics::SourceMap::new(file_name, source);
    let parsed = match ruff_python_parser::parse_module(source) {
        Ok(p) => p,
        Err(e) => {
            let msg = e.error.to_string();
            return Err(smap.render(
                diagnostics::Error::new(ErrorKind::Syntax, format!("invalid syntax: {msg}"))
                    .with_advice("the program must be valid Python 3 syntax")
                    .at(e.location),
            ));
        }
    };
    let module = parsed.syntax();
    let name = std::path::Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| file_name.to_string());
    let mut prog_args = vec![name.clone()];
    prog_args.extend(args.iter().cloned());
    let prog = eval::ProgState {
        name,
        args: prog_args,
        bit_length: options.bit_length,
        security: options.security,
        sfix_f: 16,
        sfix_k: 31,
        cfix_f: 16,
        cfix_k: 31,
        float_precision: 6,
        prime: options.prime,
    };
    let tracker = budgets::Tracker::new(options.budgets.clone());
    let builder = emit::Builder::new(options.budgets.max_instructions);
    let mut it = eval::Interp::new(source, file_name, tracker, builder, prog);
    let run = it
        .run_prelude(prelude::parsed().syntax())
        .and_then(|()| it.run_module(module));
    let run = run.map_err(|e| it.fix_budget(e));
    it.break_cycles();
    if let Err(e) = run {
        return Err(smap.render(e));
    }
    let params = bytecode::ProgramParams {
        bit_length: it.prog.bit_length,
        security: it.prog.security,
        prime: it.prog.prime,
    };
    let log = std::mem::take(&mut it.log);
    let b = std::mem::replace(&mut it.b, emit::Builder::new(0));
    drop(it);
    let (bytecode, summary) = b.finish(params).map_err(|e| smap.render(e))?;
    let hash = bytecode.hash();
    Ok(CompiledProgram {
        bytecode,
        hash,
        summary,
        log,
    })
}

/// Convenience for callers that want a wall-clock limit without building `Budgets`.
pub fn options_with_time_limit(limit: Duration) -> CompileOptions {
    CompileOptions {
        budgets: Budgets {
            max_wall_time: limit,
            ..Budgets::default()
        },
        ..CompileOptions::default()
    }
}
