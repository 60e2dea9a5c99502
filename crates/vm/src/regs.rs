//! Register frames: one per active function call, with the three typed register files.
//!
//! **Architecture Invariant:** a register holds a vector; an instruction of vector size n reads
//! registers that hold exactly n elements (a register never written reads as n zeros), and
//! anything else is reported as invalid bytecode rather than silently resized.

use lang::bytecode::{AnyReg, Function, RegKind};

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
    /// What the register files hold, in bytes: [`Frame::overhead`] plus the elements of every
    /// register (as if materialised: 32 bytes per secret, 16 per clear, 8 per regint element).
    pub bytes: u64,
}

/// Bytes a register of this kind holds for `len` elements.
pub(crate) fn element_bytes(kind: RegKind, len: usize) -> u64 {
    let per = match kind {
        RegKind::Secret => 32,
        RegKind::Clear => 16,
        RegKind::Int => 8,
    };
    len as u64 * per
}

impl Frame {
    /// Bytes of the empty register files of a frame of `f`.
    pub(crate) fn overhead(f: &Function) -> u64 {
        f.regs.secret as u64 * std::mem::size_of::<SecVec>() as u64
            + f.regs.clear as u64 * std::mem::size_of::<ClearVal>() as u64
            + f.regs.int as u64 * std::mem::size_of::<Vec<i64>>() as u64
    }

    pub(crate) fn new(func_index: usize, f: &Function, rets: Vec<AnyReg>) -> Frame {
        Frame {
            bytes: Frame::overhead(f),
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
            RegKind::Secret => AnyVal::S(self.s[i].clone()),
            RegKind::Clear => AnyVal::C(self.c[i].clone()),
            RegKind::Int => AnyVal::R(self.r[i].clone()),
        }
    }

    /// Stores `v` in `r`; the kinds were checked by bytecode validation.
    pub(crate) fn set(&mut self, r: AnyReg, v: AnyVal) {
        let i = r.idx as usize;
        match v {
            AnyVal::S(x) => self.set_s(i, x),
            AnyVal::C(x) => self.set_c(i, x),
            AnyVal::R(x) => self.set_r(i, x),
        }
    }

    pub(crate) fn set_s(&mut self, i: usize, v: SecVec) {
        self.bytes = self.bytes + element_bytes(RegKind::Secret, v.len())
            - element_bytes(RegKind::Secret, self.s[i].len());
        self.s[i] = v;
    }

    pub(crate) fn set_c(&mut self, i: usize, v: ClearVal) {
        self.bytes = self.bytes + element_bytes(RegKind::Clear, v.len())
            - element_bytes(RegKind::Clear, self.c[i].len());
        self.c[i] = v;
    }

    pub(crate) fn set_r(&mut self, i: usize, v: Vec<i64>) {
        self.bytes = self.bytes + element_bytes(RegKind::Int, v.len())
            - element_bytes(RegKind::Int, self.r[i].len());
        self.r[i] = v;
    }
}
