#![allow(dead_code)]
//! Helpers shared by the integration tests.

use lang::{CompileError, CompileOptions, CompiledProgram};

#[allow(clippy::result_large_err)]
pub fn compile_with(src: &str, opts: &CompileOptions) -> Result<CompiledProgram, CompileError> {
    lang::compile(src, "test.mpc", &[], opts)
}

/// Compiles or panics with the rendered error.
pub fn ok(src: &str) -> CompiledProgram {
    compile_with(src, &CompileOptions::default()).unwrap_or_else(|e| panic!("compile failed:\n{e}"))
}

/// The disassembly.
pub fn asm(src: &str) -> String {
    ok(src).bytecode.to_string()
}

/// The compile-time `print` log, joined by newlines.
pub fn log(src: &str) -> String {
    ok(src).log.join("\n")
}

/// The error (panics if the program compiles).
pub fn err(src: &str) -> CompileError {
    err_with(src, &CompileOptions::default())
}

pub fn err_with(src: &str, opts: &CompileOptions) -> CompileError {
    match compile_with(src, opts) {
        Ok(p) => panic!("expected an error, got:\n{}", p.bytecode),
        Err(e) => e,
    }
}

/// Asserts that every line of `expected` occurs, in order, among the instruction lines of
/// `asm` (ignoring the "   12: " index prefix).
pub fn assert_seq(asm: &str, expected: &[&str]) {
    let lines: Vec<&str> = asm
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((idx, rest)) if idx.trim().chars().all(|c| c.is_ascii_digit()) => rest,
            _ => l,
        })
        .collect();
    let mut pos = 0;
    for e in expected {
        match lines[pos..].iter().position(|l| l == e) {
            Some(p) => pos += p + 1,
            None => panic!("expected `{e}` (in order) in:\n{asm}"),
        }
    }
}
