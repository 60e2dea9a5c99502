//! Operators on run-time values, with MP-SPDZ semantics.

use ruff_python_ast::{CmpOp, Operator, UnaryOp};

use super::conv::convert;
use super::{log2_exact, pow2_imm, Num};
use crate::bytecode::*;
use crate::diagnostics::{type_err, unsupported, value_err, Result};
use crate::eval::Interp;
use crate::values::*;

fn is_fixy(n: &Num) -> bool {
    match n {
        Num::Float(_) => true,
        Num::Rt(r) => r.ty.is_fix(),
        Num::Int(_) => false,
    }
}

fn is_secret(n: &Num) -> bool {
    matches!(n, Num::Rt(r) if r.ty.is_secret())
}

fn is_clear_field(n: &Num) -> bool {
    matches!(n, Num::Rt(r) if matches!(r.ty, RtType::Cint | RtType::Cfix{..}))
}

fn operand_error(l: &Value, op: &str, r: &Value) -> crate::diagnostics::Error {
    type_err(format!(
        "unsupported operand type(s) for {op}: '{}' and '{}'",
        l.type_name(),
        r.type_name()
    ))
}

pub fn binop<'a>(
    it: &mut Interp<'a>,
    l: Value<'a>,
    op: Operator,
    r: Value<'a>,
) -> Result<Value<'a>> {
    // Matrices and arrays.
    if let (Value::Array(a), Value::Array(b)) = (&l, &r) {
        if matches!(op, Operator::Mult | Operator::MatMult)
            && a.shape.len() == 2
            && b.shape.len() == 2
        {
            return super::array::matmul(it, a, b);
        }
    }
    let l = array_as_vector(it, l)?;
    let r = array_as_vector(it, r)?;
    let (Some(a), Some(b)) = (it.num(&l)?, it.num(&r)?) else {
        return Err(operand_error(&l, op.as_str(), &r));
    };
    let fix = is_fixy(&a)
        || is_fixy(&b)
        || (op == Operator::Div
            && (is_secret(&a) || is_secret(&b) || is_clear_field(&a) || is_clear_field(&b)));
    if fix {
        return super::fix::binop(it, a, op, b);
    }
    Ok(Value::Rt(int_binop(it, a, op, b)?))
}

fn array_as_vector<'a>(it: &mut Interp<'a>, v: Value<'a>) -> Result<Value<'a>> {
    match &v {
        Value::Array(a) => Ok(Value::Rt(super::array::load_all(it, a)?)),
        _ => Ok(v),
    }
}

/// Ensures a number is in a register of `ty` (constants loaded as size n).
pub fn reg(it: &mut Interp, x: Num, ty: RtType, n: u32) -> Result<Rt> {
    match x {
        Num::Int(c) => it.load_const(ty, c, n),
        Num::Float(f) => match ty.fk() {
            Some((ff, _)) => {
                let c = super::fix_encode(f, ff)?;
                it.load_const(ty, c, n)
            }
            None => Err(
                type_err("a float cannot be used with integer run-time types")
                    .with_advice("use sfix/cfix for fractional values"),
            ),
        },
        Num::Rt(r) => {
            let r = convert(it, r, ty)?;
            it.fit(r, n)
        }
    }
}

fn size_of(a: &Num, b: &Num) -> Result<u32> {
    let na = if let Num::Rt(r) = a { r.n } else { 1 };
    let nb = if let Num::Rt(r) = b { r.n } else { 1 };
    if na != nb && na != 1 && nb != 1 {
        return Err(type_err(format!(
            "vector sizes do not match: {na} and {nb}"
        )));
    }
    Ok(na.max(nb))
}

/// The integer (non-fixed-point) base type of a binary operation.
fn base_type(a: &Num, b: &Num) -> RtType {
    let ty = |x: &Num| match x {
        Num::Rt(r) => Some(r.ty),
        _ => None,
    };
    let (ta, tb) = (ty(a), ty(b));
    let any = |p: fn(RtType) -> bool| ta.is_some_and(p) || tb.is_some_and(p);
    if any(|t| t.is_secret()) {
        RtType::Sint
    } else if any(|t| t == RtType::Cint) {
        RtType::Cint
    } else {
        RtType::Regint
    }
}

fn clear_op(op: Operator) -> Option<ClearOp> {
    Some(match op {
        Operator::Add => ClearOp::Add,
        Operator::Sub => ClearOp::Sub,
        Operator::Mult => ClearOp::Mul,
        Operator::FloorDiv => ClearOp::IntDiv,
        Operator::Mod => ClearOp::Mod,
        Operator::LShift => ClearOp::Shl,
        Operator::RShift => ClearOp::Shr,
        Operator::BitAnd => ClearOp::And,
        Operator::BitOr => ClearOp::Or,
        Operator::BitXor => ClearOp::Xor,
        _ => return None,
    })
}

fn int_op(op: Operator) -> Option<IntOp> {
    Some(match op {
        Operator::Add => IntOp::Add,
        Operator::Sub => IntOp::Sub,
        Operator::Mult => IntOp::Mul,
        Operator::Div | Operator::FloorDiv => IntOp::Div,
        Operator::Mod => IntOp::Mod,
        Operator::LShift => IntOp::Shl,
        Operator::RShift => IntOp::Shr,
        Operator::BitAnd => IntOp::And,
        Operator::BitOr => IntOp::Or,
        Operator::BitXor => IntOp::Xor,
        _ => return None,
    })
}

fn commutative(op: Operator) -> bool {
    matches!(
        op,
        Operator::Add | Operator::Mult | Operator::BitAnd | Operator::BitOr | Operator::BitXor
    )
}

/// Integer arithmetic on sint/cint/regint operands (at least one a register).
pub fn int_binop(it: &mut Interp, a: Num, op: Operator, b: Num) -> Result<Rt> {
    let n = size_of(&a, &b)?;
    if op == Operator::Pow {
        return power(it, a, b, n);
    }
    match base_type(&a, &b) {
        RtType::Sint => secret_binop(it, a, op, b, n),
        RtType::Cint => {
            let cop = clear_op(op)
                .ok_or_else(|| unsupported(format!("operator {} on cint", op.as_str())))?;
            if let Num::Int(c) = b {
                let x = reg(it, a, RtType::Cint, n)?;
                return clear_imm(it, cop, x, c);
            }
            if let (Num::Int(c), true) = (a, commutative(op)) {
                let y = reg(it, b, RtType::Cint, n)?;
                return clear_imm(it, cop, y, c);
            }
            let x = reg(it, a, RtType::Cint, n)?;
            let y = reg(it, b, RtType::Cint, n)?;
            let out = it.new_rt(RtType::Cint, n);
            let (d, xa, yb) = (it.b.c(out.reg)?, it.b.c(x.reg)?, it.b.c(y.reg)?);
            it.emit(Instr::ClearBin {
                op: cop,
                dst: d,
                a: xa,
                b: yb,
                n: Size(n),
            })?;
            Ok(out)
        }
        _ => {
            let iop = int_op(op)
                .ok_or_else(|| unsupported(format!("operator {} on regint", op.as_str())))?;
            let imm = |c: i128| {
                i64::try_from(c).map_err(|_| value_err("constant does not fit a 64-bit regint"))
            };
            if let Num::Int(c) = b {
                let x = reg(it, a, RtType::Regint, n)?;
                let out = it.new_rt(RtType::Regint, n);
                let (d, xa) = (it.b.r(out.reg)?, it.b.r(x.reg)?);
                it.emit(Instr::IntBinI {
                    op: iop,
                    dst: d,
                    a: xa,
                    imm: imm(c)?,
                    n: Size(n),
                })?;
                return Ok(out);
            }
            if let (Num::Int(c), true) = (a, commutative(op)) {
                let y = reg(it, b, RtType::Regint, n)?;
                let out = it.new_rt(RtType::Regint, n);
                let (d, yb) = (it.b.r(out.reg)?, it.b.r(y.reg)?);
                it.emit(Instr::IntBinI {
                    op: iop,
                    dst: d,
                    a: yb,
                    imm: imm(c)?,
                    n: Size(n),
                })?;
                return Ok(out);
            }
            let x = reg(it, a, RtType::Regint, n)?;
            let y = reg(it, b, RtType::Regint, n)?;
            let out = it.new_rt(RtType::Regint, n);
            let (d, xa, yb) = (it.b.r(out.reg)?, it.b.r(x.reg)?, it.b.r(y.reg)?);
            it.emit(Instr::IntBin {
                op: iop,
                dst: d,
                a: xa,
                b: yb,
                n: Size(n),
            })?;
            Ok(out)
        }
    }
}

fn clear_imm(it: &mut Interp, op: ClearOp, x: Rt, c: i128) -> Result<Rt> {
    let out = it.new_rt(RtType::Cint, x.n);
    let (d, xa) = (it.b.c(out.reg)?, it.b.c(x.reg)?);
    it.emit(Instr::ClearBinI {
        op,
        dst: d,
        a: xa,
        imm: c,
        n: Size(x.n),
    })?;
    Ok(out)
}

fn power(it: &mut Interp, a: Num, b: Num, n: u32) -> Result<Rt> {
    let Num::Int(e) = b else {
        return Err(
            type_err("the exponent of ** on run-time values must be a compile-time int")
                .with_advice(
                    "compute powers by repeated multiplication, or use a compile-time exponent",
                ),
        );
    };
    if e < 0 {
        return Err(value_err(
            "negative exponents are not supported for run-time integers",
        ));
    }
    let base_ty = match a {
        Num::Rt(r) => r.ty,
        _ => return Err(type_err("** needs a run-time base here")),
    };
    if e == 0 {
        let t = if base_ty.is_secret() {
            RtType::Sint
        } else {
            base_ty
        };
        return it.load_const(t, 1, n);
    }
    // Square and multiply.
    let mut result: Option<Rt> = None;
    let mut sq = match a {
        Num::Rt(r) => r,
        _ => unreachable!(),
    };
    let mut e = e as u128;
    loop {
        if e & 1 == 1 {
            result = Some(match result {
                None => sq,
                Some(r) => int_binop(it, Num::Rt(r), Operator::Mult, Num::Rt(sq))?,
            });
        }
        e >>= 1;
        if e == 0 {
            break;
        }
        sq = int_binop(it, Num::Rt(sq), Operator::Mult, Num::Rt(sq))?;
    }
    let r = result.expect("e > 0");
    Ok(if r.ty == RtType::Sintbit {
        Rt {
            ty: RtType::Sint,
            ..r
        }
    } else {
        r
    })
}

/// What a secret operation's other operand is.
enum SArg {
    S(Rt),
    C(Rt),
    I(i128),
}

fn sarg(it: &mut Interp, x: Num, n: u32) -> Result<SArg> {
    Ok(match x {
        Num::Int(c) => SArg::I(c),
        Num::Float(_) => return Err(type_err("float with sint; use sfix")),
        Num::Rt(r) if r.ty.is_secret() => SArg::S(it.fit(r, n)?),
        Num::Rt(r) => {
            let c = convert(it, r, RtType::Cint)?;
            SArg::C(it.fit(c, n)?)
        }
    })
}

pub fn neg_s(it: &mut Interp, x: Rt) -> Result<Rt> {
    let out = it.new_rt(RtType::Sint, x.n);
    let (d, a) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
    it.emit(Instr::NegS {
        dst: d,
        a,
        n: Size(x.n),
    })?;
    Ok(out)
}

pub fn add_si(it: &mut Interp, x: Rt, c: i128) -> Result<Rt> {
    let out = it.new_rt(RtType::Sint, x.n);
    let (d, a) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
    it.emit(Instr::AddSI {
        dst: d,
        a,
        imm: c,
        n: Size(x.n),
    })?;
    Ok(out)
}

pub fn mul_si(it: &mut Interp, x: Rt, c: i128) -> Result<Rt> {
    let out = it.new_rt(RtType::Sint, x.n);
    let (d, a) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
    it.emit(Instr::MulSI {
        dst: d,
        a,
        imm: c,
        n: Size(x.n),
    })?;
    Ok(out)
}

/// 1 - x for a secret bit.
pub fn one_minus(it: &mut Interp, x: Rt) -> Result<Rt> {
    let m = neg_s(it, x)?;
    let r = add_si(it, m, 1)?;
    Ok(Rt {
        ty: RtType::Sintbit,
        ..r
    })
}

pub fn secret_binop(it: &mut Interp, a: Num, op: Operator, b: Num, n: u32) -> Result<Rt> {
    use Operator::*;
    let k = it.prog.bit_length;
    match op {
        Add | Sub | Mult => {
            let (x, y) = (sarg(it, a, n)?, sarg(it, b, n)?);
            let out = it.new_rt(RtType::Sint, n);
            let d = it.b.s(out.reg)?;
            let sz = Size(n);
            let i = match (op, x, y) {
                (Add, SArg::S(p), SArg::S(q)) => Instr::AddS {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    b: it.b.s(q.reg)?,
                    n: sz,
                },
                (Sub, SArg::S(p), SArg::S(q)) => Instr::SubS {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    b: it.b.s(q.reg)?,
                    n: sz,
                },
                (Mult, SArg::S(p), SArg::S(q)) => Instr::MulS {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    b: it.b.s(q.reg)?,
                    n: sz,
                },
                (Add, SArg::S(p), SArg::C(q)) | (Add, SArg::C(q), SArg::S(p)) => Instr::AddSC {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    b: it.b.c(q.reg)?,
                    n: sz,
                },
                (Mult, SArg::S(p), SArg::C(q)) | (Mult, SArg::C(q), SArg::S(p)) => Instr::MulSC {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    b: it.b.c(q.reg)?,
                    n: sz,
                },
                (Sub, SArg::S(p), SArg::C(q)) => Instr::SubSC {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    b: it.b.c(q.reg)?,
                    n: sz,
                },
                (Sub, SArg::C(q), SArg::S(p)) => Instr::SubCS {
                    dst: d,
                    a: it.b.c(q.reg)?,
                    b: it.b.s(p.reg)?,
                    n: sz,
                },
                (Add, SArg::S(p), SArg::I(c)) | (Add, SArg::I(c), SArg::S(p)) => Instr::AddSI {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    imm: c,
                    n: sz,
                },
                (Sub, SArg::S(p), SArg::I(c)) => Instr::AddSI {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    imm: c.wrapping_neg(),
                    n: sz,
                },
                (Sub, SArg::I(c), SArg::S(p)) => {
                    let m = neg_s(it, p)?;
                    Instr::AddSI {
                        dst: d,
                        a: it.b.s(m.reg)?,
                        imm: c,
                        n: sz,
                    }
                }
                (Mult, SArg::S(p), SArg::I(c)) | (Mult, SArg::I(c), SArg::S(p)) => Instr::MulSI {
                    dst: d,
                    a: it.b.s(p.reg)?,
                    imm: c,
                    n: sz,
                },
                _ => return Err(crate::diagnostics::internal("secret operand classes")),
            };
            it.emit(i)?;
            Ok(out)
        }
        Mod => {
            let Num::Int(c) = b else {
                return Err(
                    type_err("sint % needs a compile-time power of two").with_advice(
                        "x % 2**m is supported; for other moduli compute x - (x.int_div(m)) * m",
                    ),
                );
            };
            let Some(m) = log2_exact(c) else {
                return Err(value_err(format!(
                    "sint % {c}: the modulus must be a power of two"
                )));
            };
            let x = reg(it, a, RtType::Sint, n)?;
            if m == 0 {
                return it.load_const(RtType::Sint, 0, n);
            }
            if m > k {
                return Err(value_err(format!(
                    "sint % 2**{m} exceeds the bit length {k}"
                )));
            }
            let out = it.new_rt(RtType::Sint, n);
            let (d, s) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
            it.emit(Instr::Mod2m {
                dst: d,
                src: s,
                k,
                m,
                n: Size(n),
            })?;
            Ok(if m == 1 {
                Rt {
                    ty: RtType::Sintbit,
                    ..out
                }
            } else {
                out
            })
        }
        LShift => {
            let Num::Int(m) = b else {
                return Err(unsupported("shifting a sint by a run-time amount")
                    .with_advice("use a compile-time shift amount"));
            };
            if !(0..=1024).contains(&m) {
                return Err(value_err("shift amount out of range"));
            }
            let x = reg(it, a, RtType::Sint, n)?;
            let imm = pow2_imm(it, m as u32);
            mul_si(it, x, imm)
        }
        RShift => {
            let Num::Int(m) = b else {
                return Err(unsupported("shifting a sint by a run-time amount")
                    .with_advice("use a compile-time shift amount"));
            };
            if m < 0 || m as u32 > k {
                return Err(value_err(format!(
                    "shift amount {m} out of range for bit length {k}"
                )));
            }
            let x = reg(it, a, RtType::Sint, n)?;
            if m == 0 {
                return Ok(x);
            }
            let out = it.new_rt(RtType::Sint, n);
            let (d, s) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
            it.emit(Instr::Trunc {
                dst: d,
                src: s,
                k,
                m: m as u32,
                n: Size(n),
            })?;
            Ok(out)
        }
        BitAnd | BitOr | BitXor => {
            let bitlike = |x: &Num| match x {
                Num::Int(c) => *c == 0 || *c == 1,
                Num::Rt(r) => matches!(r.ty, RtType::Sintbit | RtType::Cint | RtType::Regint),
                _ => false,
            };
            if !bitlike(&a) || !bitlike(&b) {
                return Err(type_err(format!(
                    "operator {} on sint needs bits (sintbit, e.g. comparison results)",
                    op.as_str()
                ))
                .with_advice(
                    "use bit_decompose() to get bits, or x.bit_and(y) if you know x and y are bits",
                ));
            }
            bit_op(it, a, op, b, n)
        }
        FloorDiv => Err(type_err("sint has no // operator").with_advice(
            "use x.int_div(y, bit_length) for integer division, or / for fixed-point division",
        )),
        _ => Err(unsupported(format!("operator {} on sint", op.as_str()))),
    }
}

/// Boolean operations on secret bits: and = ab, or = a+b-ab, xor = a+b-2ab.
pub fn bit_op(it: &mut Interp, a: Num, op: Operator, b: Num, n: u32) -> Result<Rt> {
    let prod = secret_binop(it, a, Operator::Mult, b, n)?;
    let r = match op {
        Operator::BitAnd => prod,
        _ => {
            let s = secret_binop(it, a, Operator::Add, b, n)?;
            let p = if op == Operator::BitXor {
                mul_si(it, prod, 2)?
            } else {
                prod
            };
            secret_binop(it, Num::Rt(s), Operator::Sub, Num::Rt(p), n)?
        }
    };
    Ok(Rt {
        ty: RtType::Sintbit,
        ..r
    })
}

pub fn unary<'a>(it: &mut Interp<'a>, op: UnaryOp, v: Value<'a>) -> Result<Value<'a>> {
    let Some(Num::Rt(x)) = it.num(&v)? else {
        return Err(type_err(format!(
            "bad operand type for unary {}",
            op.as_str()
        )));
    };
    let n = x.n;
    Ok(Value::Rt(match op {
        UnaryOp::UAdd => x,
        UnaryOp::USub => match x.ty.kind() {
            RegKind::Secret => {
                let r = neg_s(it, x)?;
                Rt {
                    ty: if x.ty == RtType::Sintbit {
                        RtType::Sint
                    } else {
                        x.ty
                    },
                    ..r
                }
            }
            RegKind::Clear => {
                let out = it.new_rt(x.ty, n);
                let (d, a) = (it.b.c(out.reg)?, it.b.c(x.reg)?);
                it.emit(Instr::NegC {
                    dst: d,
                    a,
                    n: Size(n),
                })?;
                out
            }
            RegKind::Int => {
                let out = it.new_rt(x.ty, n);
                let (d, a) = (it.b.r(out.reg)?, it.b.r(x.reg)?);
                it.emit(Instr::NegR {
                    dst: d,
                    a,
                    n: Size(n),
                })?;
                out
            }
        },
        UnaryOp::Invert => match x.ty {
            RtType::Sintbit => one_minus(it, x)?,
            RtType::Cint => {
                let out = it.new_rt(RtType::Cint, n);
                let (d, a) = (it.b.c(out.reg)?, it.b.c(x.reg)?);
                it.emit(Instr::ClearBinI {
                    op: ClearOp::Xor,
                    dst: d,
                    a,
                    imm: -1,
                    n: Size(n),
                })?;
                out
            }
            RtType::Regint => {
                let out = it.new_rt(RtType::Regint, n);
                let (d, a) = (it.b.r(out.reg)?, it.b.r(x.reg)?);
                it.emit(Instr::IntBinI {
                    op: IntOp::Xor,
                    dst: d,
                    a,
                    imm: -1,
                    n: Size(n),
                })?;
                out
            }
            _ => {
                return Err(
                    type_err(format!("operator ~ on {}", x.ty.name())).with_advice(
                        "~ works on sintbit (comparison results); use bit_not() on known bits",
                    ),
                )
            }
        },
        UnaryOp::Not => unreachable!("handled by the evaluator"),
    }))
}

pub fn compare<'a>(
    it: &mut Interp<'a>,
    l: Value<'a>,
    op: CmpOp,
    r: Value<'a>,
) -> Result<Value<'a>> {
    let (a, b) = match (it.num(&l)?, it.num(&r)?) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            return match op {
                CmpOp::Eq => Ok(Value::Bool(false)),
                CmpOp::NotEq => Ok(Value::Bool(true)),
                _ => Err(operand_error(&l, op.as_str(), &r)),
            }
        }
    };
    if is_fixy(&a) || is_fixy(&b) {
        return super::fix::compare(it, a, op, b);
    }
    let n = size_of(&a, &b)?;
    Ok(Value::Rt(match base_type(&a, &b) {
        RtType::Sint => {
            let k = it.prog.bit_length + 1;
            secret_compare(it, a, op, b, n, k)?
        }
        RtType::Cint => {
            let x = reg(it, a, RtType::Cint, n)?;
            let y = reg(it, b, RtType::Cint, n)?;
            let out = it.new_rt(RtType::Regint, n);
            let (d, xa, yb) = (it.b.r(out.reg)?, it.b.c(x.reg)?, it.b.c(y.reg)?);
            it.emit(Instr::ClearCmp {
                op: cmp_op(op)?,
                dst: d,
                a: xa,
                b: yb,
                n: Size(n),
            })?;
            out
        }
        _ => {
            let out = it.new_rt(RtType::Regint, n);
            let cop = cmp_op(op)?;
            if let Num::Int(c) = b {
                let x = reg(it, a, RtType::Regint, n)?;
                let imm =
                    i64::try_from(c).map_err(|_| value_err("constant does not fit a regint"))?;
                let (d, xa) = (it.b.r(out.reg)?, it.b.r(x.reg)?);
                it.emit(Instr::IntCmpI {
                    op: cop,
                    dst: d,
                    a: xa,
                    imm,
                    n: Size(n),
                })?;
            } else {
                let x = reg(it, a, RtType::Regint, n)?;
                let y = reg(it, b, RtType::Regint, n)?;
                let (d, xa, yb) = (it.b.r(out.reg)?, it.b.r(x.reg)?, it.b.r(y.reg)?);
                it.emit(Instr::IntCmp {
                    op: cop,
                    dst: d,
                    a: xa,
                    b: yb,
                    n: Size(n),
                })?;
            }
            out
        }
    }))
}

fn cmp_op(op: CmpOp) -> Result<crate::bytecode::CmpOp> {
    use crate::bytecode::CmpOp as B;
    Ok(match op {
        CmpOp::Lt => B::Lt,
        CmpOp::LtE => B::Le,
        CmpOp::Gt => B::Gt,
        CmpOp::GtE => B::Ge,
        CmpOp::Eq => B::Eq,
        CmpOp::NotEq => B::Ne,
        _ => return Err(crate::diagnostics::internal("comparison operator")),
    })
}

/// Secret comparison of integers (or fixed-point v's) with k-bit kernels; result sintbit.
pub fn secret_compare(it: &mut Interp, a: Num, op: CmpOp, b: Num, n: u32, k: u32) -> Result<Rt> {
    let sub = |it: &mut Interp, x: Num, y: Num| secret_binop(it, x, Operator::Sub, y, n);
    let kernel = |it: &mut Interp, x: Rt, eq: bool| -> Result<Rt> {
        let out = it.new_rt(RtType::Sintbit, n);
        let (d, s) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
        it.emit(if eq {
            Instr::Eqz {
                dst: d,
                src: s,
                k,
                n: Size(n),
            }
        } else {
            Instr::Ltz {
                dst: d,
                src: s,
                k,
                n: Size(n),
            }
        })?;
        Ok(out)
    };
    Ok(match op {
        CmpOp::Lt => {
            let d = sub(it, a, b)?;
            kernel(it, d, false)?
        }
        CmpOp::Gt => {
            let d = sub(it, b, a)?;
            kernel(it, d, false)?
        }
        CmpOp::LtE => {
            let d = sub(it, b, a)?;
            let l = kernel(it, d, false)?;
            one_minus(it, l)?
        }
        CmpOp::GtE => {
            let d = sub(it, a, b)?;
            let l = kernel(it, d, false)?;
            one_minus(it, l)?
        }
        CmpOp::Eq => {
            let d = sub(it, a, b)?;
            kernel(it, d, true)?
        }
        CmpOp::NotEq => {
            let d = sub(it, a, b)?;
            let e = kernel(it, d, true)?;
            one_minus(it, e)?
        }
        _ => return Err(crate::diagnostics::internal("comparison operator")),
    })
}

pub fn abs<'a>(it: &mut Interp<'a>, v: Value<'a>) -> Result<Value<'a>> {
    let zero = Value::int(0);
    let neg = compare(it, v.clone(), CmpOp::Lt, zero)?;
    // x * (1 - 2*[x < 0])
    let two_neg = it.binop(neg, Operator::Mult, Value::int(2))?;
    let sign = it.binop(Value::int(1), Operator::Sub, two_neg)?;
    it.binop(v, Operator::Mult, sign)
}

/// `cond.if_else(a, b)`: a where cond is 1, b where it is 0.
pub fn if_else<'a>(
    it: &mut Interp<'a>,
    cond: Value<'a>,
    a: Value<'a>,
    b: Value<'a>,
) -> Result<Value<'a>> {
    if !cond.is_runtime() {
        return Ok(if it.truthy(&cond)? { a } else { b });
    }
    if let (Value::List(_) | Value::Tuple(_), Value::List(_) | Value::Tuple(_)) = (&a, &b) {
        let xs = it.collect(&a)?;
        let ys = it.collect(&b)?;
        if xs.len() != ys.len() {
            return Err(value_err("if_else on lists of different lengths"));
        }
        let mut out = Vec::new();
        for (x, y) in xs.into_iter().zip(ys) {
            out.push(if_else(it, cond.clone(), x, y)?);
        }
        return Ok(Value::list(out));
    }
    let d = it.binop(a, Operator::Sub, b.clone())?;
    let p = it.binop(cond, Operator::Mult, d)?;
    it.binop(b, Operator::Add, p)
}

/// max/min over a list with run-time values: a tournament of vectorised comparisons.
pub fn minmax<'a>(it: &mut Interp<'a>, items: Vec<Value<'a>>, is_max: bool) -> Result<Value<'a>> {
    let op = if is_max { CmpOp::Gt } else { CmpOp::Lt };
    // All scalars of one type: keep the candidates in one vector register.
    let scalar_ty = |v: &Value| match v {
        Value::Rt(r) if r.n == 1 => Some(r.ty),
        _ => None,
    };
    let t0 = items.first().and_then(scalar_ty);
    if items.len() > 2 && t0.is_some() && items.iter().all(|v| scalar_ty(v) == t0) {
        let regs: Vec<Rt> = items
            .iter()
            .map(|v| match v {
                Value::Rt(r) => *r,
                _ => unreachable!(),
            })
            .collect();
        let mut v = it.vec_concat(&regs)?;
        while v.n > 1 {
            let half = v.n / 2;
            let evens: Vec<u32> = (0..half).map(|i| 2 * i).collect();
            let odds: Vec<u32> = (0..half).map(|i| 2 * i + 1).collect();
            let a = Value::Rt(super::array::gather(it, v, evens)?);
            let b = Value::Rt(super::array::gather(it, v, odds)?);
            let c = compare(it, a.clone(), op, b.clone())?;
            let Value::Rt(m) = if_else(it, c, a, b)? else {
                unreachable!()
            };
            v = if v.n % 2 == 1 {
                let last = it.vec_slice(v, v.n - 1, 1)?;
                it.vec_concat(&[m, Rt { ty: m.ty, ..last }])?
            } else {
                m
            };
        }
        return Ok(Value::Rt(v));
    }
    let mut level = items;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len() / 2 + 1);
        let carry = if level.len() % 2 == 1 {
            level.pop()
        } else {
            None
        };
        for pair in level.chunks(2) {
            let (a, b) = (pair[0].clone(), pair[1].clone());
            let c = compare(it, a.clone(), op, b.clone())?;
            next.push(if_else(it, c, a, b)?);
        }
        if let Some(c) = carry {
            next.push(c);
        }
        level = next;
    }
    Ok(level.pop().expect("nonempty"))
}
