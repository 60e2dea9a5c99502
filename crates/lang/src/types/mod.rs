//! Run-time (MPC) values: sint, sintbit, cint, regint, sfix, cfix, Array/Matrix/MultiArray and
//! MemValue. Operations on them emit bytecode.

mod arith;
pub mod array;
mod array_methods;
mod classmethods;
mod conv;
mod fix;
mod mathfx;
mod methods;
mod socket;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::ToPrimitive;

pub use arith::if_else;
pub use arith::{abs, binop, compare, minmax, unary};
pub use array::{get_item, iterate, set_item};
pub use conv::construct;
pub use methods::{call_method, getattr, mpc_math, reveal, setattr};

/// Converts a register value to another type (public API for the library).
pub fn conv_pub(it: &mut Interp, r: Rt, ty: RtType) -> Result<Rt> {
    conv::convert(it, r, ty)
}

/// A value as a scalar of type `ty`.
pub fn to_type_pub<'a>(it: &mut Interp<'a>, v: &Value<'a>, ty: RtType) -> Result<Rt> {
    conv::to_type(it, v, ty, 1)
}

/// A value (int, regint, cint) as a regint register.
pub fn to_regint<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<RegRef> {
    let r = conv::to_type(it, v, RtType::Regint, 1)?;
    if r.n != 1 {
        return Err(type_err("expected a single value, not a vector"));
    }
    Ok(r.reg)
}

/// A `size=` keyword (default 1).
pub fn size_of_kw(v: Option<Value>) -> Result<u32> {
    Ok(conv::size_arg(v)?.unwrap_or(1))
}

use crate::bytecode::*;
use crate::diagnostics::{type_err, value_err, Result};
use crate::eval::Interp;
use crate::values::*;

/// A number operand: a compile-time constant or a register value.
#[derive(Clone, Copy, Debug)]
pub enum Num {
    Int(i128),
    Float(f64),
    Rt(Rt),
}

impl<'a> Interp<'a> {
    pub fn new_rt(&mut self, ty: RtType, n: u32) -> Rt {
        Rt {
            ty,
            reg: self.b.new_reg(ty.kind()),
            n,
        }
    }

    pub fn emit(&mut self, i: Instr) -> Result<()> {
        self.b.emit(i)
    }

    /// A Python int as a field immediate: reduced mod p into (-p/2, p/2].
    pub fn field_imm(&self, i: &Int) -> i128 {
        match i {
            Int::Small(x) => *x as i128,
            Int::Big(b) => {
                let p = BigInt::from(self.prog.prime);
                let mut r = (**b).mod_floor(&p);
                if r > (&p >> 1) {
                    r -= &p;
                }
                r.to_i128().expect("reduced value fits i128")
            }
        }
    }

    pub fn default_sfix(&self) -> RtType {
        RtType::Sfix {
            f: self.prog.sfix_f,
            k: self.prog.sfix_k,
        }
    }
    pub fn default_cfix(&self) -> RtType {
        RtType::Cfix {
            f: self.prog.cfix_f,
            k: self.prog.cfix_k,
        }
    }

    /// Classifies a value as a number operand (reading MemValues).
    pub fn num(&mut self, v: &Value<'a>) -> Result<Option<Num>> {
        Ok(Some(match v {
            Value::Bool(b) => Num::Int(*b as i128),
            Value::Int(i) => Num::Int(self.field_imm(i)),
            Value::Float(f) => Num::Float(*f),
            Value::Rt(r) => Num::Rt(*r),
            Value::MemValue(m) => Num::Rt(array::mem_read(self, m)?),
            _ => return Ok(None),
        }))
    }

    /// Loads a compile-time integer into a new register of `ty` (size n).
    pub fn load_const(&mut self, ty: RtType, c: i128, n: u32) -> Result<Rt> {
        let out = self.new_rt(ty, n);
        match ty.kind() {
            RegKind::Secret => {
                let d = self.b.s(out.reg)?;
                self.emit(Instr::LdiS {
                    dst: d,
                    imm: c,
                    n: Size(n),
                })?;
            }
            RegKind::Clear => {
                let d = self.b.c(out.reg)?;
                self.emit(Instr::LdiC {
                    dst: d,
                    imm: c,
                    n: Size(n),
                })?;
            }
            RegKind::Int => {
                let imm = i64::try_from(c)
                    .map_err(|_| value_err(format!("constant {c} does not fit a 64-bit regint")))?;
                let d = self.b.r(out.reg)?;
                self.emit(Instr::LdiR {
                    dst: d,
                    imm,
                    n: Size(n),
                })?;
            }
        }
        Ok(out)
    }

    /// Copies `src` into a fresh register of the same type (used by loop variables).
    pub fn copy_rt(&mut self, src: Rt) -> Result<Rt> {
        let out = self.new_rt(src.ty, src.n);
        let (d, s) = (self.b.any(out.reg)?, self.b.any(src.reg)?);
        self.emit(Instr::Mov {
            dst: d,
            src: s,
            n: Size(src.n),
        })?;
        Ok(out)
    }

    /// Writes `src` into the existing register `dst` (`x.update(v)`): converts to dst's type.
    pub fn update_rt(&mut self, dst: Rt, v: &Value<'a>) -> Result<()> {
        let src = conv::to_type(self, v, dst.ty, dst.n)?;
        if src.n != dst.n {
            return Err(type_err(format!(
                "update() with a vector of size {} into a value of size {}",
                src.n, dst.n
            )));
        }
        let s = self.b.any(src.reg)?;
        let d = AnyReg::new(dst.reg.kind, self.b.local_write(dst.reg)?);
        self.emit(Instr::Mov {
            dst: d,
            src: s,
            n: Size(dst.n),
        })
    }

    /// Extends a size-1 value to size n (VecSplat); other sizes must match.
    pub fn fit(&mut self, r: Rt, n: u32) -> Result<Rt> {
        if r.n == n {
            return Ok(r);
        }
        if r.n == 1 {
            let out = self.new_rt(r.ty, n);
            let (d, s) = (self.b.any(out.reg)?, self.b.any(r.reg)?);
            self.emit(Instr::VecSplat {
                dst: d,
                src: s,
                n: Size(n),
            })?;
            return Ok(out);
        }
        Err(type_err(format!(
            "vector sizes do not match: {} and {}",
            r.n, n
        )))
    }

    /// Element `i` (or a range) of a vector register.
    pub fn vec_slice(&mut self, r: Rt, start: u32, n: u32) -> Result<Rt> {
        if start == 0 && n == r.n {
            return Ok(r);
        }
        let out = self.new_rt(r.ty, n);
        let (d, s) = (self.b.any(out.reg)?, self.b.any(r.reg)?);
        self.emit(Instr::VecSlice {
            dst: d,
            src: s,
            start,
            n: Size(n),
        })?;
        Ok(out)
    }

    /// Concatenates registers of one type into a vector.
    pub fn vec_concat(&mut self, parts: &[Rt]) -> Result<Rt> {
        if parts.len() == 1 {
            return Ok(parts[0]);
        }
        let ty = parts[0].ty;
        let n: u32 = parts.iter().map(|p| p.n).sum();
        let out = self.new_rt(ty, n);
        let mut srcs = Vec::new();
        let mut sizes = Vec::new();
        for p in parts {
            srcs.push(self.b.any(p.reg)?);
            sizes.push(p.n);
        }
        let d = self.b.any(out.reg)?;
        self.emit(Instr::VecConcat {
            dst: d,
            srcs,
            sizes,
        })?;
        Ok(out)
    }
}

/// Fixed-point encoding of a float: round(x * 2^f).
pub fn fix_encode(x: f64, f: u32) -> Result<i128> {
    let v = (x * 2f64.powi(f as i32)).round();
    if !v.is_finite() || v.abs() >= 1.7e38 {
        return Err(value_err(format!("{x} is out of range for fixed point")));
    }
    Ok(v as i128)
}

/// 2^m as a field immediate.
pub fn pow2_imm(it: &Interp, m: u32) -> i128 {
    if m < 126 {
        1i128 << m
    } else {
        it.field_imm(&Int::from_big(BigInt::from(1) << m))
    }
}

/// If `c` is a positive power of two, its exponent.
pub fn log2_exact(c: i128) -> Option<u32> {
    (c > 0 && (c & (c - 1)) == 0).then(|| c.trailing_zeros())
}
