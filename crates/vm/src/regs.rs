//! Register frames: one per active function call, with the three typed register files.
//!
//! **Architecture Invariant:** a register holds a vector; an instruction of vector size n reads
//! registers that hold exactly n elements (a register never written reads as n zeros), and
//! anything else is reported as invalid bytecode rather than silently resized.

use lang::bytecode::{AnyReg, Function};

use crate::value::{ClearVal, SecVec};

pub(crate) struct Frame {
    /// Index of the function in the program.
    pub func: usize,
    /// The next instruction to run.
    pub pc: usize,
    pub s: Vec<SecVec>,
    pub c: Vec<ClearVal>,
    pub r: Vec<Vec<i64>>,
    /// The caller's registers that receive this call's results.
    pub rets: Vec<AnyReg>,
}

impl Frame {
    pub(crate) fn new(func_index: usize, f: &Function, rets: Vec<AnyReg>) -> Frame {
        Frame {
            func: func_index,
            pc: 0,
            s: vec![SecVec::default(); f.regs.secret as usize],
            c: vec![ClearVal::default(); f.regs.clear as usize],
            r: vec![Vec::new(); f.regs.int as usize],
            rets,
        }
    }
}

/// A register's value of any kind, for calls, returns and kind-generic instructions.
#[derive(Clone)]
pub(crate) enum AnyVal {
    S(SecVec),
    C(ClearVal),
    R(Vec<i64>),
}

impl AnyVal {
    pub(crate) fn len(&self) -> usize {
        match self {
            AnyVal::S(v) => v.len(),
            AnyVal::C(v) => v.len(),
            AnyVal::R(v) => v.len(),
        }
    }
}

impl Frame {
    pub(crate) fn get(&self, r: AnyReg) -> AnyVal {
        let i = r.idx as usize;
        match r.kind {
            lang::bytecode::RegKind::Secret => AnyVal::S(self.s[i].clone()),
            lang::bytecode::RegKind::Clear => AnyVal::C(self.c[i].clone()),
            lang::bytecode::RegKind::Int => AnyVal::R(self.r[i].clone()),
        }
    }

    /// Stores `v` in `r`; the kinds were checked by bytecode validation.
    pub(crate) fn set(&mut self, r: AnyReg, v: AnyVal) {
        let i = r.idx as usize;
        match v {
            AnyVal::S(x) => self.s[i] = x,
            AnyVal::C(x) => self.c[i] = x,
            AnyVal::R(x) => self.r[i] = x,
        }
    }
}
