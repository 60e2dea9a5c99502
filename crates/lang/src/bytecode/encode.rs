//! The binary format: versioned, little-endian, deterministic.
//!
//! ```text
//! magic "EPHB" | version u16 | bit_length u32 | security u32 | prime u128
//! memory sizes: secret u64, clear u64, int u64
//! strings: count u32, then (len u32, utf-8 bytes)*
//! functions: count u32, then per function:
//!   name (len u32, bytes) | registers secret u32, clear u32, int u32
//!   params: Vec<AnyReg> | results: Vec<AnyReg> | code: count u32, instructions
//! instruction: opcode u8, operands in declaration order (u32/u64/i64/i128 LE;
//!   Vec = count u32 + elements; AnyReg = kind u8 + index u32; enums = u8)
//! ```

use super::instr::Instr;
use super::operand::{AnyReg, Operand};
use super::{Bytecode, Function, MemorySizes, ProgramParams, RegCounts};

pub const MAGIC: &[u8; 4] = b"EPHB";
pub const VERSION: u16 = 1;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad bytecode at byte {offset}: {message}")]
pub struct DecodeError {
    pub offset: usize,
    pub message: String,
}

pub struct Reader<'b> {
    buf: &'b [u8],
    pos: usize,
}

macro_rules! read_int {
    ($name:ident, $t:ty) => {
        pub fn $name(&mut self) -> Result<$t, DecodeError> {
            let b = self.take(std::mem::size_of::<$t>())?;
            Ok(<$t>::from_le_bytes(b.try_into().expect("length checked")))
        }
    };
}

impl<'b> Reader<'b> {
    pub fn new(buf: &'b [u8]) -> Reader<'b> {
        Reader { buf, pos: 0 }
    }
    pub fn error(&self, message: &str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            message: message.to_string(),
        }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'b [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.error("unexpected end of input"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    read_int!(u8, u8);
    read_int!(u16, u16);
    read_int!(u32, u32);
    read_int!(u64, u64);
    read_int!(i64, i64);
    read_int!(u128, u128);
    read_int!(i128, i128);
    fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.error("string is not UTF-8"))
    }
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    w.extend_from_slice(&(s.len() as u32).to_le_bytes());
    w.extend_from_slice(s.as_bytes());
}

impl Bytecode {
    /// The canonical encoding. The same program always encodes to the same bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.instruction_count() * 12);
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&VERSION.to_le_bytes());
        w.extend_from_slice(&self.params.bit_length.to_le_bytes());
        w.extend_from_slice(&self.params.security.to_le_bytes());
        w.extend_from_slice(&self.params.prime.to_le_bytes());
        for m in [self.memory.secret, self.memory.clear, self.memory.int] {
            w.extend_from_slice(&m.to_le_bytes());
        }
        w.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        for s in &self.strings {
            put_str(&mut w, s);
        }
        w.extend_from_slice(&(self.functions.len() as u32).to_le_bytes());
        for f in &self.functions {
            put_str(&mut w, &f.name);
            for c in [f.regs.secret, f.regs.clear, f.regs.int] {
                w.extend_from_slice(&c.to_le_bytes());
            }
            f.params.enc(&mut w);
            f.results.enc(&mut w);
            w.extend_from_slice(&(f.code.len() as u32).to_le_bytes());
            for i in &f.code {
                i.encode(&mut w);
            }
        }
        w
    }

    /// Parses and validates the encoding (structure only: register indices are checked
    /// against the declared register counts, jump targets and function ids against the code,
    /// string ids against the table).
    pub fn decode(buf: &[u8]) -> Result<Bytecode, DecodeError> {
        let mut r = Reader::new(buf);
        if r.take(4)? != MAGIC {
            return Err(r.error("not Ephemeral bytecode (bad magic)"));
        }
        let version = r.u16()?;
        if version != VERSION {
            return Err(r.error(&format!(
                "bytecode version {version}, this build reads version {VERSION}"
            )));
        }
        let params = ProgramParams {
            bit_length: r.u32()?,
            security: r.u32()?,
            prime: r.u128()?,
        };
        let memory = MemorySizes {
            secret: r.u64()?,
            clear: r.u64()?,
            int: r.u64()?,
        };
        let ns = r.u32()? as usize;
        if ns > r.remaining() {
            return Err(r.error("string count larger than the input"));
        }
        let mut strings = Vec::with_capacity(ns);
        for _ in 0..ns {
            strings.push(r.string()?);
        }
        let nf = r.u32()? as usize;
        if nf > r.remaining() {
            return Err(r.error("function count larger than the input"));
        }
        let mut functions = Vec::with_capacity(nf);
        for _ in 0..nf {
            let name = r.string()?;
            let regs = RegCounts {
                secret: r.u32()?,
                clear: r.u32()?,
                int: r.u32()?,
            };
            let params = Vec::<AnyReg>::dec(&mut r)?;
            let results = Vec::<AnyReg>::dec(&mut r)?;
            let ni = r.u32()? as usize;
            if ni > r.remaining() {
                return Err(r.error("instruction count larger than the input"));
            }
            let mut code = Vec::with_capacity(ni);
            for _ in 0..ni {
                code.push(Instr::decode(&mut r)?);
            }
            functions.push(Function {
                name,
                regs,
                params,
                results,
                code,
            });
        }
        if r.remaining() != 0 {
            return Err(r.error("trailing bytes"));
        }
        let bc = Bytecode {
            params,
            memory,
            strings,
            functions,
        };
        bc.validate().map_err(|m| DecodeError {
            offset: buf.len(),
            message: m,
        })?;
        Ok(bc)
    }
}
