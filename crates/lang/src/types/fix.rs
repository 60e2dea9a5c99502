//! Fixed-point arithmetic (sfix/cfix): a value v·2^-f in a k-bit register.

use ruff_python_ast::{CmpOp, Operator};

use super::arith::{int_binop, secret_compare};
use super::conv::convert;
use super::{fix_encode, Num};
use crate::bytecode::*;
use crate::diagnostics::{type_err, unsupported, value_err, Result};
use crate::eval::Interp;
use crate::values::*;

/// The fixed-point parameters and secrecy of an operation's result.
fn target(it: &Interp, a: &Num, b: &Num) -> (bool, u32, u32) {
    let secret = [a, b]
        .iter()
        .any(|x| matches!(x, Num::Rt(r) if r.ty.is_secret()));
    let fk = [a, b].iter().find_map(|x| match x {
        Num::Rt(r) => r.ty.fk(),
        _ => None,
    });
    let (f, k) = fk.unwrap_or(if secret {
        (it.prog.sfix_f, it.prog.sfix_k)
    } else {
        (it.prog.cfix_f, it.prog.cfix_k)
    });
    (secret, f, k)
}

fn fix_ty(secret: bool, f: u32, k: u32) -> RtType {
    if secret {
        RtType::Sfix { f, k }
    } else {
        RtType::Cfix { f, k }
    }
}

/// Is this operand an integer (no fractional bits)?
fn is_integral(x: &Num) -> bool {
    match x {
        Num::Int(_) => true,
        Num::Float(_) => false,
        Num::Rt(r) => !r.ty.is_fix(),
    }
}

/// The underlying integer register (v) of a fixed-point operand of type `ty`.
fn as_fix(it: &mut Interp, x: Num, ty: RtType, n: u32) -> Result<Rt> {
    let (f, _) = ty.fk().expect("fix type");
    match x {
        Num::Rt(r) if r.ty.is_fix() => {
            let (rf, _) = r.ty.fk().expect("fix");
            if rf != f {
                return Err(type_err(format!(
                    "mixing fixed-point values with different precision (f={rf} and f={f})"
                ))
                .with_advice(
                    "call sfix.set_precision() once, before creating fixed-point values",
                ));
            }
            let r = if ty.is_secret() && !r.ty.is_secret() {
                convert(it, r, ty)?
            } else {
                r
            };
            it.fit(r, n)
        }
        Num::Rt(r) => {
            let c = convert(it, r, ty)?;
            it.fit(c, n)
        }
        Num::Int(c) => {
            let v = c
                .checked_mul(1i128 << f)
                .ok_or_else(|| value_err("fixed-point constant out of range"))?;
            it.load_const(ty, v, n)
        }
        Num::Float(x) => {
            let v = fix_encode(x, f)?;
            it.load_const(ty, v, n)
        }
    }
}

/// The v of a fix operand as a plain integer Num (constants encoded).
fn raw(x: Num, f: u32) -> Result<Num> {
    Ok(match x {
        Num::Rt(r) if r.ty.is_fix() => Num::Rt(Rt {
            ty: if r.ty.is_secret() {
                RtType::Sint
            } else {
                RtType::Cint
            },
            ..r
        }),
        Num::Float(v) => Num::Int(fix_encode(v, f)?),
        Num::Int(c) => Num::Int(
            c.checked_mul(1i128 << f)
                .ok_or_else(|| value_err("fixed-point constant out of range"))?,
        ),
        other => other,
    })
}

/// Integer operand as a plain integer Num (no scaling).
fn int_num(x: Num) -> Num {
    match x {
        Num::Rt(r) if r.ty == RtType::Regint => Num::Rt(r),
        Num::Rt(r) if r.ty == RtType::Sintbit => Num::Rt(Rt {
            ty: RtType::Sint,
            ..r
        }),
        other => other,
    }
}

fn size(a: &Num, b: &Num) -> u32 {
    let s = |x: &Num| if let Num::Rt(r) = x { r.n } else { 1 };
    s(a).max(s(b))
}

/// Truncates a product with 2f fractional bits back to f bits.
fn trunc_product(it: &mut Interp, p: Rt, secret: bool, f: u32, k: u32) -> Result<Rt> {
    let n = p.n;
    if secret {
        let out = it.new_rt(RtType::Sint, n);
        let (d, s) = (it.b.s(out.reg)?, it.b.s(p.reg)?);
        it.emit(Instr::TruncPr {
            dst: d,
            src: s,
            k: k + f,
            m: f,
            n: Size(n),
        })?;
        Ok(out)
    } else {
        let out = it.new_rt(RtType::Cint, n);
        let (d, s) = (it.b.c(out.reg)?, it.b.c(p.reg)?);
        it.emit(Instr::ClearBinI {
            op: ClearOp::Shr,
            dst: d,
            a: s,
            imm: f as i128,
            n: Size(n),
        })?;
        Ok(out)
    }
}

/// The fractional bits the division kernel runs with for an sfix of `k` bits with `f`
/// fractional ones, and how many of them the result must drop.
///
/// The kernel (Goldschmidt after a normalisation of the divisor) needs k ≤ 2f − 1 for its
/// error bound and k + 3f + 2 + s ≤ 125 to mask its openings. MP-SPDZ's `set_precision(f)`
/// gives k = 2f (for example f = 16, k = 32); such a division runs with f' = f + (k − 2f + 1)
/// fractional bits on the same k-bit operands and truncates the extra bits of the quotient
/// away, which halves the range of quotients per extra bit (|a/b| < 2^(k−2−f) for k = 2f).
fn div_params(k: u32, f: u32, s: u32) -> Result<(u32, u32)> {
    let extra = (k + 1).saturating_sub(2 * f);
    let fk = f + extra;
    let widest = (2 * k + 1).max(k + 3 * fk + 2).max(4 * fk + 2);
    if fk < 3 || k < fk + 2 || widest + s > 125 {
        return Err(unsupported(format!(
            "secret fixed-point division with k = {k}, f = {f} (statistical security {s}) \
             does not fit the 128-bit prime field's masking"
        ))
        .with_advice(
            "use sfix.set_precision(f, k) with k <= 2f and k + 3f <= 80, for example the \
             default (16, 31) or (16, 32); divide by a public value, or use x.int_div(y) on \
             integers",
        ));
    }
    Ok((fk, extra))
}

pub fn binop<'a>(it: &mut Interp<'a>, a: Num, op: Operator, b: Num) -> Result<Value<'a>> {
    let (secret, f, k) = target(it, &a, &b);
    let ty = fix_ty(secret, f, k);
    let n = size(&a, &b);
    let wrap = |r: Rt| Value::Rt(Rt { ty, ..r });
    match op {
        Operator::Add | Operator::Sub => {
            let x = raw(a, f)?;
            let y = raw(b, f)?;
            // Integers are scaled by 2^f.
            let x = if is_integral(&a) && !matches!(a, Num::Int(_)) {
                Num::Rt(as_fix(it, a, ty, n)?)
            } else {
                x
            };
            let y = if is_integral(&b) && !matches!(b, Num::Int(_)) {
                Num::Rt(as_fix(it, b, ty, n)?)
            } else {
                y
            };
            let r = int_binop(it, strip(x), op, strip(y))?;
            Ok(wrap(r))
        }
        Operator::Mult => {
            if is_integral(&a) || is_integral(&b) {
                // fix * integer: exact, no truncation.
                let (fx, int) = if is_integral(&a) { (b, a) } else { (a, b) };
                let v = raw(fx, f)?;
                let r = int_binop(it, strip(v), Operator::Mult, int_num(int))?;
                return Ok(wrap(r));
            }
            let x = raw(a, f)?;
            let y = raw(b, f)?;
            let p = int_binop(it, strip(x), Operator::Mult, strip(y))?;
            let t = trunc_product(it, p, secret, f, k)?;
            Ok(wrap(t))
        }
        Operator::Div => {
            // Division by a compile-time constant: multiply by its reciprocal.
            match b {
                Num::Int(0) => return Err(crate::eval::ops::zero_div("fixed-point division")),
                Num::Float(0.0) => return Err(crate::eval::ops::zero_div("fixed-point division")),
                Num::Int(c) if !secret && matches!(a, Num::Rt(_)) => {
                    // Clear / constant: exact integer division of v.
                    let x = as_fix(it, a, ty, n)?;
                    let out = it.new_rt(RtType::Cint, n);
                    let (d, s) = (it.b.c(out.reg)?, it.b.c(x.reg)?);
                    it.emit(Instr::ClearBinI {
                        op: ClearOp::IntDiv,
                        dst: d,
                        a: s,
                        imm: c,
                        n: Size(n),
                    })?;
                    return Ok(wrap(out));
                }
                Num::Int(c) => return binop(it, a, Operator::Mult, Num::Float(1.0 / c as f64)),
                Num::Float(d) => return binop(it, a, Operator::Mult, Num::Float(1.0 / d)),
                _ => {}
            }
            if secret {
                let x = as_fix(it, a, ty, n)?;
                let y = as_fix(it, b, ty, n)?;
                let (kf, extra) = div_params(k, f, it.prog.security)?;
                let out = it.new_rt(RtType::Sint, n);
                let (d, xa, yb) = (it.b.s(out.reg)?, it.b.s(x.reg)?, it.b.s(y.reg)?);
                it.emit(Instr::FixDiv {
                    dst: d,
                    a: xa,
                    b: yb,
                    k,
                    f: kf,
                    n: Size(n),
                })?;
                if extra == 0 {
                    return Ok(wrap(out));
                }
                // The quotient has `extra` more fractional bits than the type: drop them.
                let t = it.new_rt(RtType::Sint, n);
                let (d, s) = (it.b.s(t.reg)?, it.b.s(out.reg)?);
                it.emit(Instr::TruncPr {
                    dst: d,
                    src: s,
                    k,
                    m: extra,
                    n: Size(n),
                })?;
                Ok(wrap(t))
            } else {
                // (a.v << f) / b.v, truncated toward zero.
                let x = as_fix(it, a, ty, n)?;
                let y = as_fix(it, b, ty, n)?;
                let sh = it.new_rt(RtType::Cint, n);
                let (d, s) = (it.b.c(sh.reg)?, it.b.c(x.reg)?);
                it.emit(Instr::ClearBinI {
                    op: ClearOp::Shl,
                    dst: d,
                    a: s,
                    imm: f as i128,
                    n: Size(n),
                })?;
                let out = it.new_rt(RtType::Cint, n);
                let (d, xa, yb) = (it.b.c(out.reg)?, it.b.c(sh.reg)?, it.b.c(y.reg)?);
                it.emit(Instr::ClearBin {
                    op: ClearOp::IntDiv,
                    dst: d,
                    a: xa,
                    b: yb,
                    n: Size(n),
                })?;
                Ok(wrap(out))
            }
        }
        Operator::Pow => {
            let Num::Int(e) = b else {
                return Err(type_err(
                    "the exponent of ** on fixed-point values must be a compile-time int",
                ));
            };
            if e < 0 {
                let pos = binop(it, a, Operator::Pow, Num::Int(-e))?;
                let Value::Rt(p) = pos else { unreachable!() };
                return binop(it, Num::Int(1), Operator::Div, Num::Rt(p));
            }
            if e == 0 {
                let r = as_fix(it, Num::Int(1), ty, n)?;
                return Ok(wrap(r));
            }
            let mut acc: Option<Num> = None;
            let mut sq = a;
            let mut e = e as u128;
            loop {
                if e & 1 == 1 {
                    acc = Some(match acc {
                        None => sq,
                        Some(x) => num_of(binop(it, x, Operator::Mult, sq)?),
                    });
                }
                e >>= 1;
                if e == 0 {
                    break;
                }
                sq = num_of(binop(it, sq, Operator::Mult, sq)?);
            }
            match acc.expect("e > 0") {
                Num::Rt(r) => Ok(Value::Rt(r)),
                Num::Float(x) => Ok(Value::Float(x)),
                Num::Int(c) => Ok(Value::Int(Int::Small(c as i64))),
            }
        }
        _ => Err(unsupported(format!(
            "operator {} on fixed-point values",
            op.as_str()
        ))),
    }
}

fn num_of(v: Value) -> Num {
    match v {
        Value::Rt(r) => Num::Rt(r),
        Value::Float(f) => Num::Float(f),
        _ => Num::Int(0),
    }
}

/// Fix registers become plain integer registers of the same kind (for int_binop).
fn strip(x: Num) -> Num {
    match x {
        Num::Rt(r) if r.ty.is_fix() => Num::Rt(Rt {
            ty: if r.ty.is_secret() {
                RtType::Sint
            } else {
                RtType::Cint
            },
            ..r
        }),
        other => other,
    }
}

pub fn compare<'a>(it: &mut Interp<'a>, a: Num, op: CmpOp, b: Num) -> Result<Value<'a>> {
    let (secret, f, k) = target(it, &a, &b);
    let ty = fix_ty(secret, f, k);
    let n = size(&a, &b);
    let x = as_fix(it, a, ty, n)?;
    let y = as_fix(it, b, ty, n)?;
    if secret {
        let r = secret_compare(it, strip(Num::Rt(x)), op, strip(Num::Rt(y)), n, k + 1)?;
        Ok(Value::Rt(r))
    } else {
        let xc = Rt {
            ty: RtType::Cint,
            ..x
        };
        let yc = Rt {
            ty: RtType::Cint,
            ..y
        };
        super::arith::compare(it, Value::Rt(xc), op, Value::Rt(yc))
    }
}
