//! Ephemeral bytecode: a typed vector register machine.
//!
//! * Three register files per function frame: secret (`s`), clear (`c`), regint (`r`). A
//!   register holds a vector; every instruction names its vector size.
//! * Three typed memories (secret, clear, regint), shared by all frames, zero-initialised,
//!   with sizes declared in the header.
//! * Functions: `functions[0]` is `main`. `call` gives the callee a fresh register frame.
//! * Jumps name instruction indices in the same function.
//!
//! See docs/LANG.md for the full description.

pub mod cost;
pub mod encode;
pub mod instr;
pub mod operand;

use std::fmt;

pub use cost::{CostSummary, Counts, Kernel};
pub use encode::{DecodeError, MAGIC, VERSION};
pub use instr::Instr;
pub use operand::*;

/// Program-wide parameters the VM must honour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramParams {
    /// k: the bit length of secret integers (`program.bit_length`, default 64).
    pub bit_length: u32,
    /// s: statistical security parameter (`program.security`, default 40).
    pub security: u32,
    /// The field prime the immediates were reduced with.
    pub prime: u128,
}

/// Memory sizes in elements, per memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemorySizes {
    pub secret: u64,
    pub clear: u64,
    pub int: u64,
}

impl MemorySizes {
    pub fn get(&self, kind: RegKind) -> u64 {
        match kind {
            RegKind::Secret => self.secret,
            RegKind::Clear => self.clear,
            RegKind::Int => self.int,
        }
    }
}

/// Register counts of a function frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegCounts {
    pub secret: u32,
    pub clear: u32,
    pub int: u32,
}

impl RegCounts {
    pub fn get(&self, kind: RegKind) -> u32 {
        match kind {
            RegKind::Secret => self.secret,
            RegKind::Clear => self.clear,
            RegKind::Int => self.int,
        }
    }
}

/// One function: its frame layout and its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub regs: RegCounts,
    /// Registers `call` copies the arguments into.
    pub params: Vec<AnyReg>,
    /// Registers `ret` copies back to the caller.
    pub results: Vec<AnyReg>,
    pub code: Vec<Instr>,
}

/// A whole program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytecode {
    pub params: ProgramParams,
    pub memory: MemorySizes,
    pub strings: Vec<String>,
    pub functions: Vec<Function>,
}

impl Bytecode {
    pub fn instruction_count(&self) -> usize {
        self.functions.iter().map(|f| f.code.len()).sum()
    }

    /// The program's name: the BLAKE3 hash of its encoding.
    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.encode()).as_bytes()
    }

    /// Structural checks: register indices within the frame, jump targets within the
    /// function, calls to existing functions with matching signatures, string ids in range.
    pub fn validate(&self) -> Result<(), String> {
        if self.functions.is_empty() {
            return Err("no main function".into());
        }
        for (fi, f) in self.functions.iter().enumerate() {
            let reg_ok = |r: AnyReg| r.idx < f.regs.get(r.kind);
            for r in f.params.iter().chain(&f.results) {
                if !reg_ok(*r) {
                    return Err(format!("function {fi}: parameter/result {r} out of range"));
                }
            }
            for (ii, ins) in f.code.iter().enumerate() {
                let mut bad = None;
                ins.for_each_reg(&mut |r| {
                    if !reg_ok(r) && bad.is_none() {
                        bad = Some(r);
                    }
                });
                if let Some(r) = bad {
                    return Err(format!(
                        "function {fi} instruction {ii}: register {r} out of range"
                    ));
                }
                let mut bad_str = false;
                ins.for_each_str(&mut |s| bad_str |= s as usize >= self.strings.len());
                if bad_str {
                    return Err(format!(
                        "function {fi} instruction {ii}: string id out of range"
                    ));
                }
                match ins {
                    Instr::Jmp { target }
                    | Instr::JmpNz { target, .. }
                    | Instr::JmpZ { target, .. }
                        if target.0 as usize > f.code.len() =>
                    {
                        return Err(format!(
                            "function {fi} instruction {ii}: jump target {} out of range",
                            target.0
                        ));
                    }
                    Instr::Call { func, args, rets } => {
                        let Some(callee) = self.functions.get(*func as usize) else {
                            return Err(format!(
                                "function {fi} instruction {ii}: unknown function {func}"
                            ));
                        };
                        let kinds = |v: &[AnyReg]| v.iter().map(|r| r.kind).collect::<Vec<_>>();
                        if kinds(args) != kinds(&callee.params)
                            || kinds(rets) != kinds(&callee.results)
                        {
                            return Err(format!(
                                "function {fi} instruction {ii}: call signature mismatch"
                            ));
                        }
                    }
                    Instr::VecConcat { srcs, sizes, .. } if srcs.len() != sizes.len() => {
                        return Err(format!(
                            "function {fi} instruction {ii}: concat operand count mismatch"
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The disassembly: header, string table, and each function's code with indices.
impl fmt::Display for Bytecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "; ephemeral bytecode v{VERSION}, bit_length={} security={}",
            self.params.bit_length, self.params.security
        )?;
        writeln!(
            f,
            "; memory: secret={} clear={} int={}",
            self.memory.secret, self.memory.clear, self.memory.int
        )?;
        for (i, func) in self.functions.iter().enumerate() {
            let list = |v: &[AnyReg]| {
                v.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                f,
                "function {i} {}({}) -> ({})  ; regs s={} c={} r={}",
                func.name,
                list(&func.params),
                list(&func.results),
                func.regs.secret,
                func.regs.clear,
                func.regs.int
            )?;
            for (j, ins) in func.code.iter().enumerate() {
                writeln!(f, "{j:>5}: {}", ins.text(&self.strings))?;
            }
        }
        Ok(())
    }
}
