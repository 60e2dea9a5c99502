//! Operand types of instructions, with their binary encoding and their disassembly.

use std::fmt::Write as _;

use super::encode::{DecodeError, Reader};

/// One instruction operand: encodes little-endian, decodes, and prints itself.
pub trait Operand: Sized {
    fn enc(&self, w: &mut Vec<u8>);
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// Text for the disassembler; `None` hides the operand (a vector size of 1).
    fn text(&self, strings: &[String]) -> Option<String>;
    /// Calls `f` on every register this operand names.
    fn visit_regs(&self, _f: &mut dyn FnMut(AnyReg)) {}
    /// Calls `f` on every string-table id this operand names.
    fn visit_strs(&self, _f: &mut dyn FnMut(u32)) {}
}

macro_rules! reg_type {
    ($(#[$m:meta])* $name:ident, $prefix:literal, $kind:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl Operand for $name {
            fn enc(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.0.to_le_bytes());
            }
            fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name(r.u32()?))
            }
            fn text(&self, _: &[String]) -> Option<String> {
                Some(format!(concat!($prefix, "{}"), self.0))
            }
            fn visit_regs(&self, f: &mut dyn FnMut(AnyReg)) {
                f(AnyReg::new($kind, self.0))
            }
        }
    };
}
reg_type!(
    /// A secret register (a vector of authenticated shares of field elements).
    S,
    "s",
    RegKind::Secret
);
reg_type!(
    /// A clear register (a vector of public field elements, read as signed integers).
    C,
    "c",
    RegKind::Clear
);
reg_type!(
    /// A regint register (a vector of public 64-bit signed integers).
    R,
    "r",
    RegKind::Int
);

impl RegKind {
    pub fn prefix(&self) -> &'static str {
        match self {
            RegKind::Secret => "s",
            RegKind::Clear => "c",
            RegKind::Int => "r",
        }
    }
    pub fn index(&self) -> usize {
        *self as usize
    }
}

/// A register of any file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnyReg {
    pub kind: RegKind,
    pub idx: u32,
}

impl AnyReg {
    pub fn new(kind: RegKind, idx: u32) -> AnyReg {
        AnyReg { kind, idx }
    }
}

impl std::fmt::Display for AnyReg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.kind.prefix(), self.idx)
    }
}

impl Operand for AnyReg {
    fn enc(&self, w: &mut Vec<u8>) {
        w.push(self.kind as u8);
        w.extend_from_slice(&self.idx.to_le_bytes());
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = RegKind::dec(r)?;
        Ok(AnyReg {
            kind,
            idx: r.u32()?,
        })
    }
    fn text(&self, _: &[String]) -> Option<String> {
        Some(self.to_string())
    }
    fn visit_regs(&self, f: &mut dyn FnMut(AnyReg)) {
        f(*self)
    }
}

/// A vector size (number of elements each register operand holds). Hidden when 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Size(pub u32);

impl Operand for Size {
    fn enc(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.0.to_le_bytes());
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.u32()?;
        if n == 0 {
            return Err(r.error("vector size 0"));
        }
        Ok(Size(n))
    }
    fn text(&self, _: &[String]) -> Option<String> {
        (self.0 != 1).then(|| format!("n={}", self.0))
    }
}

/// A jump target: an instruction index in the same function (a label id while building).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(pub u32);

impl Operand for Label {
    fn enc(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.0.to_le_bytes());
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Label(r.u32()?))
    }
    fn text(&self, _: &[String]) -> Option<String> {
        Some(format!("@{}", self.0))
    }
}

/// An index into the program's string table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Str(pub u32);

impl Operand for Str {
    fn enc(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.0.to_le_bytes());
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Str(r.u32()?))
    }
    fn text(&self, strings: &[String]) -> Option<String> {
        Some(match strings.get(self.0 as usize) {
            Some(s) => format!("{s:?}"),
            None => format!("str#{}", self.0),
        })
    }
    fn visit_strs(&self, f: &mut dyn FnMut(u32)) {
        f(self.0)
    }
}

macro_rules! int_operand {
    ($t:ty, $read:ident) => {
        impl Operand for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.to_le_bytes());
            }
            fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.$read()
            }
            fn text(&self, _: &[String]) -> Option<String> {
                Some(self.to_string())
            }
        }
    };
}
int_operand!(u32, u32);
int_operand!(u64, u64);
int_operand!(i64, i64);
int_operand!(i128, i128);

impl<T: Operand> Operand for Vec<T> {
    fn enc(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&(self.len() as u32).to_le_bytes());
        for x in self {
            x.enc(w);
        }
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.u32()? as usize;
        // Each element takes at least one byte: refuse counts the input cannot hold.
        if n > r.remaining() {
            return Err(r.error("vector operand longer than the input"));
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::dec(r)?);
        }
        Ok(v)
    }
    fn text(&self, strings: &[String]) -> Option<String> {
        let mut s = String::from("[");
        for (i, x) in self.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{}", x.text(strings).unwrap_or_default());
        }
        s.push(']');
        Some(s)
    }
    fn visit_regs(&self, f: &mut dyn FnMut(AnyReg)) {
        for x in self {
            x.visit_regs(f);
        }
    }
    fn visit_strs(&self, f: &mut dyn FnMut(u32)) {
        for x in self {
            x.visit_strs(f);
        }
    }
}

macro_rules! enum_operand {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:literal => $txt:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $v = $n),* }
        impl $name {
            pub fn name(&self) -> &'static str {
                match self { $($name::$v => $txt),* }
            }
        }
        impl Operand for $name {
            fn enc(&self, w: &mut Vec<u8>) {
                w.push(*self as u8);
            }
            fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match r.u8()? {
                    $($n => Ok($name::$v),)*
                    x => Err(r.error(&format!(concat!("bad ", stringify!($name), " {}"), x))),
                }
            }
            fn text(&self, _: &[String]) -> Option<String> {
                Some(self.name().to_string())
            }
        }
    };
}

enum_operand!(
    /// The three register files (and the three memories).
    RegKind {
    Secret = 0 => "secret",
    Clear = 1 => "clear",
    Int = 2 => "int",
}
);

enum_operand!(
    /// Binary operations on clear registers. Clear values are field elements read as signed
    /// integers in (-p/2, p/2); `Add`, `Sub`, `Mul` are mod p; `Div` multiplies by the field
    /// inverse; the others act on the signed integer and reduce the result mod p.
    ClearOp {
        Add = 0 => "add",
        Sub = 1 => "sub",
        Mul = 2 => "mul",
        /// Field division (multiplication by the inverse).
        Div = 3 => "div",
        /// Integer division truncating toward zero (`cint //`).
        IntDiv = 4 => "intdiv",
        /// Remainder with the sign of the dividend (matches `IntDiv`).
        Mod = 5 => "mod",
        Shl = 6 => "shl",
        /// Arithmetic shift right (floor division by 2^b).
        Shr = 7 => "shr",
        And = 8 => "and",
        Or = 9 => "or",
        Xor = 10 => "xor",
        /// Python modulo (result has the sign of the divisor).
        FloorMod = 11 => "floormod",
        /// Floor division.
        FloorDiv = 12 => "floordiv",
    }
);

enum_operand!(
    /// Binary operations on regint registers (wrapping 64-bit two's complement; `Div`/`Mod`
    /// are C semantics, truncating toward zero). Division by zero is a run-time error.
    IntOp {
        Add = 0 => "add",
        Sub = 1 => "sub",
        Mul = 2 => "mul",
        Div = 3 => "div",
        Mod = 4 => "mod",
        Shl = 5 => "shl",
        Shr = 6 => "shr",
        And = 7 => "and",
        Or = 8 => "or",
        Xor = 9 => "xor",
    }
);

enum_operand!(
    /// Comparisons of public values; the result is a regint 0 or 1.
    CmpOp {
        Lt = 0 => "lt",
        Le = 1 => "le",
        Gt = 2 => "gt",
        Ge = 3 => "ge",
        Eq = 4 => "eq",
        Ne = 5 => "ne",
    }
);

enum_operand!(
    /// What a socket instruction carries.
    SockKind {
        /// Authenticated shares: value share then MAC share, 32 bytes per element.
        SecretWithMac = 0 => "share+mac",
        /// Value shares only, 16 bytes per element.
        SecretShare = 1 => "share",
        /// Public field elements, 16 bytes each (Montgomery LE).
        Clear = 2 => "clear",
        /// Public 64-bit integers, 8 bytes each (LE).
        Int = 3 => "int",
    }
);

/// Which parties print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrintTarget {
    /// The default printing party (party 0 unless the VM is told otherwise).
    Default,
    /// Exactly this party (`print_ln_to`).
    Party(u32),
}

impl Operand for PrintTarget {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            PrintTarget::Default => w.push(0),
            PrintTarget::Party(p) => {
                w.push(1);
                p.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(PrintTarget::Default),
            1 => Ok(PrintTarget::Party(r.u32()?)),
            x => Err(r.error(&format!("bad print target {x}"))),
        }
    }
    fn text(&self, _: &[String]) -> Option<String> {
        match self {
            PrintTarget::Default => None,
            PrintTarget::Party(p) => Some(format!("to={p}")),
        }
    }
}

/// A piece of a printed line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrintPart {
    /// Literal text from the string table.
    Text(Str),
    /// A clear register as signed decimal; a vector prints as `[a, b, c]`.
    Clear(C, Size),
    /// A regint register as signed decimal; a vector prints as `[a, b, c]`.
    Int(R, Size),
    /// A clear register holding a fixed-point value v·2^-f, printed with `precision`
    /// significant digits (default 6), trailing zeros removed, as MP-SPDZ does.
    Fix {
        reg: C,
        n: Size,
        f: u32,
        precision: u32,
    },
}

impl Operand for PrintPart {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            PrintPart::Text(s) => {
                w.push(0);
                s.enc(w);
            }
            PrintPart::Clear(c, n) => {
                w.push(1);
                c.enc(w);
                n.enc(w);
            }
            PrintPart::Int(r, n) => {
                w.push(2);
                r.enc(w);
                n.enc(w);
            }
            PrintPart::Fix {
                reg,
                n,
                f,
                precision,
            } => {
                w.push(3);
                reg.enc(w);
                n.enc(w);
                f.enc(w);
                precision.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            0 => PrintPart::Text(Str::dec(r)?),
            1 => PrintPart::Clear(C::dec(r)?, Size::dec(r)?),
            2 => PrintPart::Int(R::dec(r)?, Size::dec(r)?),
            3 => PrintPart::Fix {
                reg: C::dec(r)?,
                n: Size::dec(r)?,
                f: r.u32()?,
                precision: r.u32()?,
            },
            x => return Err(r.error(&format!("bad print part {x}"))),
        })
    }
    fn text(&self, strings: &[String]) -> Option<String> {
        let sz = |n: &Size| {
            if n.0 == 1 {
                String::new()
            } else {
                format!("[n={}]", n.0)
            }
        };
        Some(match self {
            PrintPart::Text(s) => s.text(strings).unwrap_or_default(),
            PrintPart::Clear(c, n) => format!("c{}{}", c.0, sz(n)),
            PrintPart::Int(r, n) => format!("r{}{}", r.0, sz(n)),
            PrintPart::Fix {
                reg,
                n,
                f,
                precision,
            } => format!("fix(c{}{}, f={f}, p={precision})", reg.0, sz(n)),
        })
    }
    fn visit_regs(&self, f: &mut dyn FnMut(AnyReg)) {
        match self {
            PrintPart::Text(_) => {}
            PrintPart::Clear(c, _) | PrintPart::Fix { reg: c, .. } => c.visit_regs(f),
            PrintPart::Int(r, _) => r.visit_regs(f),
        }
    }
    fn visit_strs(&self, f: &mut dyn FnMut(u32)) {
        if let PrintPart::Text(s) = self {
            f(s.0)
        }
    }
}
