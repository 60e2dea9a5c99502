//! Arrays, matrices and MemValues: typed memory with static addresses, indexed by compile-time
//! or run-time (bounds-checked) indices.

use std::rc::Rc;

use super::conv::{convert, to_type};
use crate::bytecode::*;
use crate::diagnostics::{index_err, type_err, unsupported, value_err, Result};
use crate::eval::ops::as_int;
use crate::eval::Interp;
use crate::values::*;

/// Where an element (or a run of elements) lives.
#[derive(Clone, Copy)]
pub enum Addr {
    Static(u64),
    Dyn(RegRef),
}

pub fn alloc(it: &mut Interp, elem: RtType, shape: Vec<usize>) -> Result<Rc<ArrayV>> {
    let total: u64 = shape
        .iter()
        .try_fold(1u64, |acc, d| acc.checked_mul(*d as u64))
        .ok_or_else(|| value_err("array too large"))?;
    if total > 1 << 32 {
        return Err(value_err(format!("array of {total} elements is too large")));
    }
    let base = it.b.alloc_mem(elem.kind(), total)?;
    Ok(Rc::new(ArrayV {
        elem,
        base,
        dyn_off: None,
        shape,
        dyn_len: None,
    }))
}

/// The address of flat element `off` of `a`.
pub fn addr(it: &mut Interp, a: &ArrayV, off: u64) -> Result<Addr> {
    match a.dyn_off {
        None => Ok(Addr::Static(a.base + off)),
        Some(d) if a.base + off == 0 => Ok(Addr::Dyn(d)),
        Some(d) => {
            let out = it.b.new_reg(RegKind::Int);
            let (dr, s) = (it.b.r(out)?, it.b.r(d)?);
            it.emit(Instr::IntBinI {
                op: IntOp::Add,
                dst: dr,
                a: s,
                imm: (a.base + off) as i64,
                n: Size(1),
            })?;
            Ok(Addr::Dyn(out))
        }
    }
}

pub fn load(it: &mut Interp, ty: RtType, at: Addr, n: u32) -> Result<Rt> {
    let out = it.new_rt(ty, n);
    let d = it.b.any(out.reg)?;
    match at {
        Addr::Static(a) => it.emit(Instr::LdM {
            dst: d,
            addr: a,
            n: Size(n),
        })?,
        Addr::Dyn(r) => {
            let r = it.b.r(r)?;
            it.emit(Instr::LdMI {
                dst: d,
                addr: r,
                n: Size(n),
            })?
        }
    }
    Ok(out)
}

pub fn store(it: &mut Interp, v: Rt, at: Addr) -> Result<()> {
    let s = it.b.any(v.reg)?;
    match at {
        Addr::Static(a) => it.emit(Instr::StM {
            src: s,
            addr: a,
            n: Size(v.n),
        }),
        Addr::Dyn(r) => {
            let r = it.b.r(r)?;
            it.emit(Instr::StMI {
                src: s,
                addr: r,
                n: Size(v.n),
            })
        }
    }
}

/// Refuses arrays with a run-time length outside the operations that support them.
pub fn static_len(a: &ArrayV) -> Result<()> {
    if a.dyn_len.is_some() {
        return Err(unsupported(
            "an array with a run-time length (get_sub with a run-time size) used here",
        )
        .with_advice("such sub-arrays are only supported as the client list of reveal_to_clients; use a @for_range loop up to the length instead"));
    }
    Ok(())
}

pub fn load_all(it: &mut Interp, a: &ArrayV) -> Result<Rt> {
    static_len(a)?;
    let n = a.total();
    if n == 0 {
        return Err(value_err("empty array"));
    }
    let at = addr(it, a, 0)?;
    load(it, a.elem, at, n as u32)
}

pub fn mem_read(it: &mut Interp, m: &MemV) -> Result<Rt> {
    load(it, m.elem, Addr::Static(m.addr), 1)
}

pub fn mem_write<'a>(it: &mut Interp<'a>, m: &MemV, v: &Value<'a>) -> Result<()> {
    let r = to_type(it, v, m.elem, 1)?;
    if r.n != 1 {
        return Err(type_err("a MemValue holds a single value, not a vector"));
    }
    store(it, r, Addr::Static(m.addr))
}

/// A run-time index as a checked regint: CheckIndex(idx, bound) with the source site.
fn runtime_index(it: &mut Interp, idx: Rt, bound: usize) -> Result<RegRef> {
    if idx.n != 1 {
        return Err(type_err("an index must be a single value, not a vector"));
    }
    let r = match idx.ty {
        RtType::Regint => idx,
        RtType::Cint => convert(it, idx, RtType::Regint)?,
        _ => {
            return Err(type_err(format!(
                "an array index must be public (int, regint or cint), not {}",
                idx.ty.name()
            ))
            .with_advice("secret indices need an oblivious lookup: compare the index with every position and sum (x == i).if_else(a[i], 0)"))
        }
    };
    let site = it.site_str();
    let rr = it.b.r(r.reg)?;
    it.emit(Instr::CheckIndex {
        idx: rr,
        bound: bound as u64,
        site,
    })?;
    Ok(r.reg)
}

/// The address of element `base` of `a` for a run-time `base`, checked so that `n` elements
/// from there stay inside the array (`a.assign(v, base)`, `a.get_vector(base, n)`).
pub fn runtime_base(it: &mut Interp, a: &ArrayV, base: Rt, n: usize) -> Result<Addr> {
    static_len(a)?;
    let total = a.total();
    if n == 0 || n > total {
        return Err(index_err(format!(
            "{n} elements do not fit an array of {total} elements"
        )));
    }
    let r = runtime_index(it, base, total - n + 1)?;
    let out = it.b.new_reg(RegKind::Int);
    let (d, s) = (it.b.r(out)?, it.b.r(r)?);
    it.emit(Instr::IntBinI {
        op: IntOp::Add,
        dst: d,
        a: s,
        imm: a.base as i64,
        n: Size(1),
    })?;
    let Some(off) = a.dyn_off else {
        return Ok(Addr::Dyn(out));
    };
    let sum = it.b.new_reg(RegKind::Int);
    let (d2, x, y) = (it.b.r(sum)?, it.b.r(out)?, it.b.r(off)?);
    it.emit(Instr::IntBin {
        op: IntOp::Add,
        dst: d2,
        a: x,
        b: y,
        n: Size(1),
    })?;
    Ok(Addr::Dyn(sum))
}

enum Index {
    Static(usize),
    Dyn(RegRef),
}

fn index<'a>(it: &mut Interp<'a>, a: &ArrayV, idx: &Value<'a>) -> Result<Index> {
    static_len(a)?;
    let len = a.len();
    match idx {
        Value::Int(_) | Value::Bool(_) => {
            let i = as_int(idx).and_then(|i| i.as_i64()).unwrap_or(i64::MAX);
            let j = if i < 0 { i + len as i64 } else { i };
            if j < 0 || j >= len as i64 {
                return Err(index_err(format!(
                    "index {i} out of range for an array of length {len}"
                )));
            }
            Ok(Index::Static(j as usize))
        }
        Value::Rt(r) => Ok(Index::Dyn(runtime_index(it, *r, len)?)),
        Value::MemValue(m) => {
            let r = mem_read(it, m)?;
            Ok(Index::Dyn(runtime_index(it, r, len)?))
        }
        other => Err(type_err(format!(
            "array indices must be integers, not {}",
            other.type_name()
        ))),
    }
}

/// The sub-array (or element address) selected by index i of the first dimension.
fn select(it: &mut Interp, a: &ArrayV, i: Index) -> Result<ArrayV> {
    let stride = a.stride() as u64;
    let shape = a.shape[1..].to_vec();
    Ok(match i {
        Index::Static(i) => ArrayV {
            elem: a.elem,
            base: a.base + i as u64 * stride,
            dyn_off: a.dyn_off,
            shape,
            dyn_len: None,
        },
        Index::Dyn(r) => {
            let off = if stride == 1 {
                r
            } else {
                let o = it.b.new_reg(RegKind::Int);
                let (d, s) = (it.b.r(o)?, it.b.r(r)?);
                it.emit(Instr::IntBinI {
                    op: IntOp::Mul,
                    dst: d,
                    a: s,
                    imm: stride as i64,
                    n: Size(1),
                })?;
                o
            };
            let off = match a.dyn_off {
                None => off,
                Some(prev) => {
                    let o = it.b.new_reg(RegKind::Int);
                    let (d, x, y) = (it.b.r(o)?, it.b.r(prev)?, it.b.r(off)?);
                    it.emit(Instr::IntBin {
                        op: IntOp::Add,
                        dst: d,
                        a: x,
                        b: y,
                        n: Size(1),
                    })?;
                    o
                }
            };
            ArrayV {
                elem: a.elem,
                base: a.base,
                dyn_off: Some(off),
                shape,
                dyn_len: None,
            }
        }
    })
}

fn static_slice<'a>(it: &Interp<'a>, a: &ArrayV, s: &[Value<'a>; 3]) -> Result<(usize, usize)> {
    let (start, stop, step) = it.slice_indices(s, a.len())?;
    if step != 1 {
        return Err(unsupported("array slices with a step"));
    }
    let stop = stop.max(start);
    Ok((start as usize, stop as usize))
}

pub fn get_item<'a>(it: &mut Interp<'a>, v: &Value<'a>, idx: &Value<'a>) -> Result<Value<'a>> {
    match v {
        Value::Array(a) => {
            if let Value::Tuple(t) = idx {
                let mut cur = v.clone();
                for i in t.0.iter() {
                    cur = get_item(it, &cur, i)?;
                }
                return Ok(cur);
            }
            if let Value::Slice(s) = idx {
                let (start, stop) = static_slice(it, a, s)?;
                if stop == start {
                    return Err(value_err("empty array slice"));
                }
                let stride = a.stride();
                let at = addr(it, a, (start * stride) as u64)?;
                let r = load(it, a.elem, at, ((stop - start) * stride) as u32)?;
                return Ok(Value::Rt(r));
            }
            let i = index(it, a, idx)?;
            let sub = select(it, a, i)?;
            if sub.shape.is_empty() {
                let at = addr(it, &sub, 0)?;
                Ok(Value::Rt(load(it, sub.elem, at, 1)?))
            } else {
                Ok(Value::Array(Rc::new(sub)))
            }
        }
        Value::Rt(r) => match idx {
            Value::Slice(s) => {
                let (start, stop, step) = it.slice_indices(s, r.n as usize)?;
                if step != 1 {
                    return Err(unsupported("vector slices with a step"));
                }
                if stop <= start {
                    return Err(value_err("empty vector slice"));
                }
                Ok(Value::Rt(it.vec_slice(
                    *r,
                    start as u32,
                    (stop - start) as u32,
                )?))
            }
            Value::Int(_) | Value::Bool(_) => {
                let i = it.seq_index(idx, r.n as usize)?;
                Ok(Value::Rt(it.vec_slice(*r, i as u32, 1)?))
            }
            _ => Err(
                type_err("a vector can only be indexed by compile-time integers")
                    .with_advice("store the vector in an Array to index it at run time"),
            ),
        },
        Value::Type(t) => Err(type_err(format!("'{}' is not subscriptable", t.name()))),
        _ => Err(type_err("not subscriptable")),
    }
}

pub fn set_item<'a>(
    it: &mut Interp<'a>,
    obj: &Value<'a>,
    idx: Value<'a>,
    v: Value<'a>,
) -> Result<()> {
    let Value::Array(a) = obj else {
        return Err(type_err("item assignment needs an Array"));
    };
    if let Value::Tuple(t) = &idx {
        let n = t.0.len();
        let mut cur = obj.clone();
        for i in &t.0[..n - 1] {
            cur = get_item(it, &cur, i)?;
        }
        return set_item(it, &cur, t.0[n - 1].clone(), v);
    }
    if let Value::Slice(s) = &idx {
        let (start, stop) = static_slice(it, a, s)?;
        let stride = a.stride();
        let n = ((stop - start) * stride) as u32;
        if n == 0 {
            return Ok(());
        }
        let r = to_type(it, &v, a.elem, n)?;
        if r.n != n {
            return Err(type_err(format!(
                "cannot assign a vector of size {} to a slice of size {n}",
                r.n
            )));
        }
        let at = addr(it, a, (start * stride) as u64)?;
        return store(it, r, at);
    }
    let i = index(it, a, &idx)?;
    let sub = select(it, a, i)?;
    let n = sub.total() as u32;
    let r = to_type(it, &v, sub.elem, n)?;
    if r.n != n {
        return Err(type_err(format!(
            "cannot assign a vector of size {} to {n} elements",
            r.n
        )));
    }
    let at = addr(it, &sub, 0)?;
    store(it, r, at)
}

pub fn iterate<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<Vec<Value<'a>>> {
    match v {
        Value::Array(a) => {
            static_len(a)?;
            let mut out = Vec::with_capacity(a.len());
            for i in 0..a.len() {
                out.push(get_item(it, v, &Value::int(i as i64))?);
            }
            Ok(out)
        }
        Value::Rt(r) => {
            let mut out = Vec::with_capacity(r.n as usize);
            for i in 0..r.n {
                out.push(Value::Rt(it.vec_slice(*r, i, 1)?));
            }
            Ok(out)
        }
        _ => Err(type_err("not iterable")),
    }
}

/// Matrix product (r x c) * (c x q) as one vector multiplication plus chunked sums.
pub fn matmul<'a>(it: &mut Interp<'a>, a: &ArrayV, b: &ArrayV) -> Result<Value<'a>> {
    let (r, c) = (a.shape[0], a.shape[1]);
    let (c2, q) = (b.shape[0], b.shape[1]);
    if c != c2 {
        return Err(value_err(format!(
            "matrix shapes do not match: {r}x{c} and {c2}x{q}"
        )));
    }
    let total = r
        .checked_mul(q)
        .and_then(|x| x.checked_mul(c))
        .filter(|x| *x < 1 << 30)
        .ok_or_else(|| value_err("matrix product too large"))?;
    // Two gathers of `total` indices each.
    it.tracker.check_memory(total as u64 * 8)?;
    let va = load_all(it, a)?;
    let vb = load_all(it, b)?;
    // A' = rows repeated q times; B' = columns gathered; both of length r*q*c.
    let mut ia = Vec::with_capacity(r * q * c);
    let mut ib = Vec::with_capacity(r * q * c);
    for i in 0..r {
        for j in 0..q {
            for k in 0..c {
                ia.push((i * c + k) as u32);
                ib.push((k * q + j) as u32);
            }
        }
    }
    let ga = gather(it, va, ia)?;
    let gb = gather(it, vb, ib)?;
    let prod = it.binop(
        Value::Rt(ga),
        ruff_python_ast::Operator::Mult,
        Value::Rt(gb),
    )?;
    let Value::Rt(p) = prod else { unreachable!() };
    let out_ty = p.ty;
    let sums = it.new_rt(out_ty, (r * q) as u32);
    let (d, s) = (it.b.any(sums.reg)?, it.b.any(p.reg)?);
    it.emit(Instr::VecSum {
        dst: d,
        src: s,
        chunk: c as u32,
        n: Size((r * q) as u32),
    })?;
    let res = alloc(it, out_ty, vec![r, q])?;
    let at = addr(it, &res, 0)?;
    store(it, sums, at)?;
    Ok(Value::Array(res))
}

/// dst[i] = src[idx[i]], as a gather (VecConcat of slices of one register).
pub fn gather(it: &mut Interp, src: Rt, idx: Vec<u32>) -> Result<Rt> {
    let n = idx.len() as u32;
    let out = it.new_rt(src.ty, n);
    let s = it.b.any(src.reg)?;
    let d = it.b.any(out.reg)?;
    it.emit(Instr::VecGather {
        dst: d,
        src: s,
        indices: idx,
        n: Size(n),
    })?;
    Ok(out)
}
