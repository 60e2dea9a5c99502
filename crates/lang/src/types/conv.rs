//! Constructors (`sint(5)`, `Array(n, sint)`, ...) and conversions between run-time types.

use std::rc::Rc;

use super::{fix_encode, pow2_imm};
use crate::bytecode::*;
use crate::diagnostics::{type_err, value_err, Result};
use crate::eval::ops::as_int;
use crate::eval::{Args, Interp};
use crate::values::*;

/// The element type a type object stands for (`sint` -> Sint, `sfix` -> current precision).
pub fn elem_type(it: &Interp, t: &Value) -> Result<RtType> {
    Ok(match t {
        Value::Type(TypeV::Sint) => RtType::Sint,
        Value::Type(TypeV::Sintbit) => RtType::Sintbit,
        Value::Type(TypeV::Cint) => RtType::Cint,
        Value::Type(TypeV::Regint) => RtType::Regint,
        Value::Type(TypeV::Sfix) => it.default_sfix(),
        Value::Type(TypeV::Cfix) => it.default_cfix(),
        other => {
            return Err(type_err(format!(
                "expected a value type (sint, cint, regint, sfix, cfix), got {}",
                other.type_name()
            )))
        }
    })
}

pub fn size_arg(v: Option<Value>) -> Result<Option<u32>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => {
            let n = as_int(&v)
                .and_then(|i| i.as_i64())
                .ok_or_else(|| type_err("size must be a compile-time int"))?;
            if n <= 0 || n > (1 << 30) {
                return Err(value_err(format!("invalid vector size {n}")));
            }
            Ok(Some(n as u32))
        }
    }
}

/// Converts `v` to a register of type `ty`; constants become vectors of size `n`.
pub fn to_type<'a>(it: &mut Interp<'a>, v: &Value<'a>, ty: RtType, n: u32) -> Result<Rt> {
    match v {
        Value::Int(_) | Value::Bool(_) => {
            let c = match v {
                Value::Bool(b) => *b as i128,
                Value::Int(i) => it.field_imm(i),
                _ => unreachable!(),
            };
            let c = match ty.fk() {
                Some((f, _)) => c
                    .checked_mul(1i128 << f.min(100))
                    .ok_or_else(|| value_err("fixed-point constant out of range"))?,
                None => c,
            };
            it.load_const(ty, c, n)
        }
        Value::Float(x) => match ty.fk() {
            Some((f, _)) => {
                let c = fix_encode(*x, f)?;
                it.load_const(ty, c, n)
            }
            None if x.fract() == 0.0 && x.abs() < 9.0e18 => it.load_const(ty, *x as i128, n),
            None => Err(
                type_err(format!("cannot convert the float {x} to {}", ty.name()))
                    .with_advice("use sfix/cfix for fractional values"),
            ),
        },
        Value::Rt(r) => {
            let r = convert(it, *r, ty)?;
            if r.n != n && r.n == 1 {
                it.fit(r, n)
            } else {
                Ok(r)
            }
        }
        Value::MemValue(m) => {
            let r = super::array::mem_read(it, m)?;
            to_type(it, &Value::Rt(r), ty, n)
        }
        Value::Array(a) if a.shape.len() == 1 => {
            let r = super::array::load_all(it, a)?;
            convert(it, r, ty)
        }
        Value::List(_) | Value::Tuple(_) => {
            let items = it.collect(v)?;
            if items.is_empty() {
                return Err(value_err("cannot make a vector from an empty list"));
            }
            let mut parts = Vec::new();
            for x in &items {
                parts.push(to_type(it, x, ty, 1)?);
            }
            it.vec_concat(&parts)
        }
        other => Err(type_err(format!(
            "cannot convert {} to {}",
            other.type_name(),
            ty.name()
        ))),
    }
}

/// Converts a register value to another run-time type.
pub fn convert(it: &mut Interp, r: Rt, ty: RtType) -> Result<Rt> {
    use RtType::*;
    let n = r.n;
    let same = |a: RtType, b: RtType| a == b || matches!((a, b), (Sint, Sintbit) | (Sintbit, Sint));
    if same(r.ty, ty) {
        return Ok(Rt { ty, ..r });
    }
    let out = |it: &mut Interp, t: RtType| it.new_rt(t, n);
    Ok(match (r.ty, ty) {
        (Regint, Cint) => {
            let o = out(it, Cint);
            let (d, s) = (it.b.c(o.reg)?, it.b.r(r.reg)?);
            it.emit(Instr::ConvRC {
                dst: d,
                src: s,
                n: Size(n),
            })?;
            o
        }
        (Cint, Regint) => {
            let o = out(it, Regint);
            let (d, s) = (it.b.r(o.reg)?, it.b.c(r.reg)?);
            it.emit(Instr::ConvCR {
                dst: d,
                src: s,
                n: Size(n),
            })?;
            o
        }
        (Regint, Sint | Sintbit) => {
            let o = out(it, ty);
            let (d, s) = (it.b.s(o.reg)?, it.b.r(r.reg)?);
            it.emit(Instr::ConvRS {
                dst: d,
                src: s,
                n: Size(n),
            })?;
            o
        }
        (Cint, Sint | Sintbit) => {
            let o = out(it, ty);
            let (d, s) = (it.b.s(o.reg)?, it.b.c(r.reg)?);
            it.emit(Instr::ConvCS {
                dst: d,
                src: s,
                n: Size(n),
            })?;
            o
        }
        (Sint | Sintbit, Sfix { f, .. }) => {
            let o = out(it, ty);
            let imm = pow2_imm(it, f);
            let (d, s) = (it.b.s(o.reg)?, it.b.s(r.reg)?);
            it.emit(Instr::MulSI {
                dst: d,
                a: s,
                imm,
                n: Size(n),
            })?;
            o
        }
        (Cint, Cfix { f, .. }) => {
            let o = out(it, ty);
            let imm = pow2_imm(it, f);
            let (d, s) = (it.b.c(o.reg)?, it.b.c(r.reg)?);
            it.emit(Instr::ClearBinI {
                op: ClearOp::Mul,
                dst: d,
                a: s,
                imm,
                n: Size(n),
            })?;
            o
        }
        (Regint, Cfix { .. }) => {
            let c = convert(it, r, Cint)?;
            convert(it, c, ty)?
        }
        (Regint | Cint, Sfix { .. }) => {
            let s = convert(it, r, Sint)?;
            convert(it, s, ty)?
        }
        (Cfix { f: f1, .. }, Sfix { f: f2, .. }) if f1 == f2 => {
            let o = out(it, ty);
            let (d, s) = (it.b.s(o.reg)?, it.b.c(r.reg)?);
            it.emit(Instr::ConvCS {
                dst: d,
                src: s,
                n: Size(n),
            })?;
            o
        }
        (Sfix { f: f1, .. }, Sfix { f: f2, k }) | (Cfix { f: f1, .. }, Cfix { f: f2, k })
            if f1 == f2 =>
        {
            let _ = k;
            Rt { ty, ..r }
        }
        (Sint | Sintbit | Sfix { .. }, Cint | Regint | Cfix { .. }) => {
            return Err(type_err(format!(
                "cannot convert a secret {} to the public type {}",
                r.ty.name(),
                ty.name()
            ))
            .with_advice("call .reveal() to open a secret value (everyone learns it)"))
        }
        _ => {
            return Err(type_err(format!(
                "cannot convert {} to {}",
                r.ty.name(),
                ty.name()
            )))
        }
    })
}

/// Calls of the type objects: `sint(x, size=n)`, `Array(n, t)`, `MemValue(v)`, ...
pub fn construct<'a>(it: &mut Interp<'a>, t: TypeV, mut a: Args<'a>) -> Result<Value<'a>> {
    match t {
        TypeV::Sint | TypeV::Sintbit | TypeV::Cint | TypeV::Regint | TypeV::Sfix | TypeV::Cfix => {
            let ty = elem_type(it, &Value::Type(t))?;
            let size = size_arg(a.take_kw("size"))?;
            a.ignore_kw(&["k", "f"]);
            let v = a.arg(0, "val");
            a.done(1, t.name())?;
            let n = size.unwrap_or(1);
            let r = match v {
                None | Some(Value::None) => it.load_const(ty, 0, n)?,
                Some(v) => {
                    let r = to_type(it, &v, ty, n)?;
                    // A fresh value, as in MP-SPDZ (`sint(x)` copies).
                    if let Value::Rt(orig) = &v {
                        if orig.reg == r.reg {
                            let c = it.copy_rt(r)?;
                            return Ok(Value::Rt(Rt { ty, ..c }));
                        }
                    }
                    r
                }
            };
            Ok(Value::Rt(r))
        }
        TypeV::Array => {
            let n = a.req(0, "length", "Array")?;
            let ty = a.req(1, "value_type", "Array")?;
            a.ignore_kw(&["address"]);
            a.done(2, "Array")?;
            let n = dim(&n)?;
            let ty = elem_type(it, &ty)?;
            Ok(Value::Array(super::array::alloc(it, ty, vec![n])?))
        }
        TypeV::Matrix => {
            let r = a.req(0, "rows", "Matrix")?;
            let c = a.req(1, "columns", "Matrix")?;
            let ty = a.req(2, "value_type", "Matrix")?;
            a.ignore_kw(&["address"]);
            a.done(3, "Matrix")?;
            let shape = vec![dim(&r)?, dim(&c)?];
            let ty = elem_type(it, &ty)?;
            Ok(Value::Array(super::array::alloc(it, ty, shape)?))
        }
        TypeV::MultiArray => {
            let shape = a.req(0, "sizes", "MultiArray")?;
            let ty = a.req(1, "value_type", "MultiArray")?;
            a.ignore_kw(&["address"]);
            a.done(2, "MultiArray")?;
            let mut dims = Vec::new();
            for d in it.collect(&shape)? {
                dims.push(dim(&d)?);
            }
            if dims.is_empty() {
                return Err(value_err("MultiArray needs at least one dimension"));
            }
            let ty = elem_type(it, &ty)?;
            Ok(Value::Array(super::array::alloc(it, ty, dims)?))
        }
        TypeV::MemValue => {
            let v = a.req(0, "value", "MemValue")?;
            a.done(1, "MemValue")?;
            let (ty, init) = match &v {
                Value::Type(_) => (elem_type(it, &v)?, None),
                Value::Rt(r) => (r.ty, Some(v.clone())),
                Value::Int(_) | Value::Bool(_) => (RtType::Regint, Some(v.clone())),
                Value::Float(_) => (it.default_cfix(), Some(v.clone())),
                Value::MemValue(m) => (m.elem, Some(v.clone())),
                other => {
                    return Err(type_err(format!(
                        "MemValue needs a value or a type, got {}",
                        other.type_name()
                    )))
                }
            };
            let addr = it.b.alloc_mem(ty.kind(), 1)?;
            let m = Rc::new(MemV { elem: ty, addr });
            if let Some(init) = init {
                super::array::mem_write(it, &m, &init)?;
            }
            Ok(Value::MemValue(m))
        }
    }
}

pub fn dim(v: &Value) -> Result<usize> {
    match as_int(v).and_then(|i| i.as_i64()) {
        Some(n) if (0..=(1 << 32)).contains(&n) => Ok(n as usize),
        Some(n) => Err(value_err(format!("invalid array size {n}"))),
        None if v.is_runtime() => Err(type_err("array sizes must be compile-time integers")
            .with_advice("allocate the largest size you need; MP-SPDZ Arrays have static sizes")),
        None => Err(type_err(format!(
            "array size must be an int, not {}",
            v.type_name()
        ))),
    }
}
