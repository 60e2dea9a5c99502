//! Methods of Arrays, Matrices and MultiArrays.

use std::rc::Rc;

use ruff_python_ast::{CmpOp, Operator};
use ruff_text_size::TextRange;

use super::array::{self, load_all};
use super::classmethods::*;
use super::conv::{convert, size_arg, to_type};
use super::methods::*;
use super::socket::*;
use crate::bytecode::*;
use crate::diagnostics::{type_err, unsupported, value_err, Result};
use crate::eval::ops::as_int;
use crate::eval::{Args, Interp};
use crate::values::*;

pub(super) fn array_method<'a>(
    it: &mut Interp<'a>,
    arr: Rc<ArrayV>,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    let av = Value::Array(arr.clone());
    let total = arr.total() as u32;
    Ok(match name {
        "assign_all" => {
            let v = a.req(0, "value", "assign_all")?;
            let r = to_type(it, &v, arr.elem, 1)?;
            let r = it.fit(r, total)?;
            let at = array::addr(it, &arr, 0)?;
            array::store(it, r, at)?;
            av
        }
        "assign" | "assign_vector" | "assign_part_vector"
            if matches!(a.pos.get(1), Some(Value::Rt(_)) | Some(Value::MemValue(_))) =>
        {
            // A base known only at run time: a checked dynamic address.
            let v = a.req(0, "value", name)?;
            let b = a.req(1, "base", name)?;
            let b = match b {
                Value::MemValue(m) => array::mem_read(it, &m)?,
                Value::Rt(r) => r,
                _ => unreachable!("matched above"),
            };
            let r = match &v {
                Value::Array(src) => {
                    let r = load_all(it, src)?;
                    convert(it, r, arr.elem)?
                }
                other => to_type(it, other, arr.elem, 1)?,
            };
            let at = array::runtime_base(it, &arr, b, r.n as usize)?;
            array::store(it, r, at)?;
            Value::None
        }
        "get_vector" | "get_part_vector"
            if matches!(a.pos.first(), Some(Value::Rt(_)) | Some(Value::MemValue(_))) =>
        {
            let b = match a.req(0, "base", name)? {
                Value::MemValue(m) => array::mem_read(it, &m)?,
                Value::Rt(r) => r,
                _ => unreachable!("matched above"),
            };
            let size = size_arg(a.arg(1, "size"))?
                .ok_or_else(|| type_err(format!("{name} with a run-time base needs a size")))?;
            let at = array::runtime_base(it, &arr, b, size as usize)?;
            Value::Rt(array::load(it, arr.elem, at, size)?)
        }
        "assign" | "assign_vector" | "assign_part_vector" => {
            let v = a.req(0, "value", name)?;
            let base = a
                .arg(1, "base")
                .and_then(|b| as_int(&b))
                .and_then(|b| b.as_i64())
                .unwrap_or(0)
                .max(0) as u64;
            let r = match &v {
                Value::Array(src) => {
                    let r = load_all(it, src)?;
                    convert(it, r, arr.elem)?
                }
                other => to_type(it, other, arr.elem, 1)?,
            };
            if base + r.n as u64 > total as u64 {
                return Err(crate::diagnostics::index_err(format!(
                    "assigning {} values at {base} overflows an array of {total} elements",
                    r.n
                )));
            }
            let at = array::addr(it, &arr, base)?;
            array::store(it, r, at)?;
            Value::None
        }
        "get_vector" | "get_part_vector" | "get_reverse_vector" => {
            let base = a
                .arg(0, "base")
                .and_then(|b| as_int(&b))
                .and_then(|b| b.as_i64())
                .unwrap_or(0)
                .max(0) as u64;
            let size = size_arg(a.arg(1, "size"))?.unwrap_or(total.saturating_sub(base as u32));
            if base + size as u64 > total as u64 || size == 0 {
                return Err(crate::diagnostics::index_err(format!(
                    "vector [{base}, {}) outside an array of {total} elements",
                    base + size as u64
                )));
            }
            let at = array::addr(it, &arr, base)?;
            let r = array::load(it, arr.elem, at, size)?;
            if name == "get_reverse_vector" {
                let idx = (0..size).rev().collect();
                Value::Rt(array::gather(it, r, idx)?)
            } else {
                Value::Rt(r)
            }
        }
        "get_part" => {
            let base = as_int(&a.req(0, "base", "get_part")?)
                .and_then(|b| b.as_i64())
                .unwrap_or(-1);
            let size = as_int(&a.req(1, "size", "get_part")?)
                .and_then(|b| b.as_i64())
                .unwrap_or(-1);
            if arr.shape.len() != 1 || base < 0 || size <= 0 || (base + size) as usize > arr.len() {
                return Err(value_err(
                    "get_part(base, size) needs a 1-D array and a range inside it",
                ));
            }
            Value::Array(Rc::new(ArrayV {
                elem: arr.elem,
                base: arr.base + base as u64,
                dyn_off: arr.dyn_off,
                shape: vec![size as usize],
                dyn_len: None,
            }))
        }
        "input_from" => {
            let p = player_arg(&a.req(0, "player", "input_from")?)?;
            a.ignore_kw(&["budget", "raw"]);
            if !arr.elem.is_secret() {
                return Err(type_err("input_from needs an array of a secret type"));
            }
            let f = arr.elem.fk().map(|(f, _)| f).unwrap_or(0);
            let out = it.new_rt(arr.elem, total);
            let d = it.b.s(out.reg)?;
            it.emit(Instr::Input {
                dst: d,
                player: p,
                f,
                n: Size(total),
            })?;
            let at = array::addr(it, &arr, 0)?;
            array::store(it, out, at)?;
            Value::None
        }
        "reveal" => {
            let r = load_all(it, &arr)?;
            let c = reveal(it, r)?;
            let res = array::alloc(it, c.ty, arr.shape.clone())?;
            let at = array::addr(it, &res, 0)?;
            array::store(it, c, at)?;
            Value::Array(res)
        }
        "reveal_to" => {
            let p = a.req(0, "player", "reveal_to")?;
            let r = load_all(it, &arr)?;
            let c = rt_method(it, r, "reveal_to", Args::new(vec![p]), site)?;
            let Value::Rt(c) = c else { unreachable!() };
            let res = array::alloc(it, c.ty, arr.shape.clone())?;
            let at = array::addr(it, &res, 0)?;
            array::store(it, c, at)?;
            Value::Array(res)
        }
        "reveal_list" | "reveal_nested" => {
            let r = load_all(it, &arr)?;
            let c = reveal(it, r)?;
            nested(it, c, &arr.shape, 0)?
        }
        "print_reveal_nested" => {
            let end = a
                .take_kw("end")
                .map(|e| crate::eval::ops::py_str(&e))
                .unwrap_or_else(|| "\n".into());
            let r = load_all(it, &arr)?;
            let c = reveal(it, r)?;
            let mut parts = Vec::new();
            nested_print(it, c, &arr.shape, 0, &mut parts)?;
            parts.push(PrintPart::Text(it.b.string(&end)));
            crate::library::emit_print(it, parts, PrintTarget::Default)?;
            Value::None
        }
        "sort" => {
            if arr.shape.len() != 1 {
                return Err(unsupported("sort() on multi-dimensional arrays"));
            }
            a.ignore_kw(&["n_bits", "n_threads", "batcher"]);
            sort_array(it, &arr)?;
            Value::None
        }
        "dot" | "mul" | "plain_mul" => {
            let other = a.req(0, "other", name)?;
            match (&other, arr.shape.len()) {
                (Value::Array(b), 2) if b.shape.len() == 2 => array::matmul(it, &arr, b)?,
                _ => dot(it, &av, &other)?,
            }
        }
        "direct_mul"
        | "direct_mul_to_matrix"
        | "direct_mul_trans"
        | "direct_trans_mul"
        | "mul_trans"
        | "trans_mul"
        | "mul_trans_to"
        | "trans_mul_to" => {
            // MP-SPDZ's matrix products: `direct_*` return the product as a vector
            // (row-major), the others a Matrix; `*_trans` multiply by the transpose of
            // `other`, `trans_*` use the transpose of `self`; `*_to` write into `res`.
            let other = a.req(0, "other", name)?;
            if !matches!(a.take_kw("indices"), None | Some(Value::None)) {
                return Err(unsupported(format!("{name} with `indices`")).with_advice(
                    "copy the rows and columns you need into new matrices (e.g. in a @for_range \
                     loop) and multiply those",
                ));
            }
            a.ignore_kw(&["reduce", "n_threads"]);
            let Value::Array(b) = &other else {
                return Err(type_err(format!("{name} needs a Matrix operand")));
            };
            if arr.shape.len() != 2 || b.shape.len() != 2 {
                return Err(type_err(format!("{name} works on matrices (2-D)")));
            }
            let lhs = if name.starts_with("trans_") || name == "direct_trans_mul" {
                transpose_of(it, &arr)?
            } else {
                arr.clone()
            };
            let rhs = if name.ends_with("mul_trans") || name == "mul_trans_to" {
                transpose_of(it, b)?
            } else {
                b.clone()
            };
            let m = array::matmul(it, &lhs, &rhs)?;
            let Value::Array(m) = m else { unreachable!() };
            match name {
                "direct_mul" | "direct_mul_trans" | "direct_trans_mul" => {
                    Value::Rt(load_all(it, &m)?)
                }
                "mul_trans_to" | "trans_mul_to" => {
                    let res = a.req(1, "res", name)?;
                    let Value::Array(res) = res else {
                        return Err(type_err(format!("{name} needs a result Matrix")));
                    };
                    if res.shape != m.shape {
                        return Err(value_err(format!(
                            "{name}: the result matrix must be {}x{}",
                            m.shape[0], m.shape[1]
                        )));
                    }
                    let v = load_all(it, &m)?;
                    let v = to_type(it, &Value::Rt(v), res.elem, v.n)?;
                    let at = array::addr(it, &res, 0)?;
                    array::store(it, v, at)?;
                    Value::None
                }
                _ => Value::Array(m),
            }
        }
        "schur" => {
            let other = a.req(0, "other", name)?;
            if let Value::Array(b) = &other {
                if b.shape != arr.shape {
                    return Err(value_err("schur needs two containers of the same shape"));
                }
            }
            // Element-wise (a Matrix * Matrix would be the matrix product).
            let x = load_all(it, &arr)?;
            let other = match other {
                Value::Array(b) => Value::Rt(load_all(it, &b)?),
                o => o,
            };
            let p = it.binop(Value::Rt(x), Operator::Mult, other)?;
            let Value::Rt(p) = p else {
                return Err(type_err("schur needs a container of numbers"));
            };
            let res = array::alloc(it, p.ty, arr.shape.clone())?;
            let at = array::addr(it, &res, 0)?;
            array::store(it, p, at)?;
            Value::Array(res)
        }
        "diag" | "trace" => {
            if arr.shape.len() != 2 || arr.shape[0] != arr.shape[1] {
                return Err(type_err(format!("{name} needs a square Matrix")));
            }
            let n = arr.shape[0];
            let r = load_all(it, &arr)?;
            let d = array::gather(it, r, (0..n).map(|i| (i * n + i) as u32).collect())?;
            if name == "trace" {
                rt_method(it, d, "sum", Args::new(vec![]), site)?
            } else {
                let res = array::alloc(it, arr.elem, vec![n])?;
                let at = array::addr(it, &res, 0)?;
                array::store(it, d, at)?;
                Value::Array(res)
            }
        }
        "set_column" => {
            if arr.shape.len() != 2 {
                return Err(type_err("set_column needs a Matrix"));
            }
            let (rows, cols) = (arr.shape[0], arr.shape[1]);
            let j = as_int(&a.req(0, "index", name)?)
                .and_then(|i| i.as_i64())
                .filter(|j| *j >= 0 && (*j as usize) < cols)
                .ok_or_else(|| crate::diagnostics::index_err("column index out of range"))?
                as usize;
            let v = a.req(1, "vector", name)?;
            let v = to_type(it, &v, arr.elem, rows as u32)?;
            let v = it.fit(v, rows as u32)?;
            for i in 0..rows {
                let x = it.vec_slice(v, i as u32, 1)?;
                let at = array::addr(it, &arr, (i * cols + j) as u64)?;
                array::store(it, x, at)?;
            }
            Value::None
        }
        "iadd" => {
            let other = a.req(0, "other", name)?;
            let s = it.binop(av.clone(), Operator::Add, other)?;
            let s = to_type(it, &s, arr.elem, total)?;
            let at = array::addr(it, &arr, 0)?;
            array::store(it, s, at)?;
            av.clone()
        }
        "secure_shuffle" | "secure_permute" => {
            // MP-SPDZ: Array.secure_shuffle(), Array.secure_permute(perm, reverse=False);
            // a Matrix permutes its rows.
            if !arr.elem.is_secret() {
                return Err(type_err(format!(
                    "{name} needs a container of secret values"
                )));
            }
            let unit = if arr.shape.len() > 1 {
                arr.shape[1..].iter().product::<usize>() as u32
            } else {
                1
            };
            let units = arr.shape[0] as u32;
            let handle = if name == "secure_shuffle" {
                super::methods::gen_shuffle(it, units)?
            } else {
                let h = a.req(0, "permutation", name)?;
                to_type(it, &h, RtType::Regint, 1)?
            };
            let reverse = match a.arg(1, "reverse") {
                None => false,
                Some(v) => it.truthy(&v)?,
            };
            a.ignore_kw(&["n_threads"]);
            let x = load_all(it, &arr)?;
            let y = super::methods::apply_shuffle(it, x, handle, unit, reverse)?;
            let at = array::addr(it, &arr, 0)?;
            array::store(it, y, at)?;
            Value::None
        }
        "concat" => {
            // A new Array: this one's elements, then the other's.
            let other = a.req(0, "other", name)?;
            let Value::Array(b) = &other else {
                return Err(type_err("concat needs an Array"));
            };
            if arr.shape.len() != 1 || b.shape.len() != 1 {
                return Err(type_err("concat works on 1-D Arrays"));
            }
            let x = load_all(it, &arr)?;
            let y = load_all(it, b)?;
            let y = convert(it, y, arr.elem)?;
            let res = array::alloc(it, arr.elem, vec![arr.len() + b.len()])?;
            let v = it.vec_concat(&[x, y])?;
            let at = array::addr(it, &res, 0)?;
            array::store(it, v, at)?;
            Value::Array(res)
        }
        "get_range" => {
            // MP-SPDZ: a list of `size` elements from `start`.
            let start = a.req(0, "start", name)?;
            let size = as_int(&a.req(1, "size", name)?)
                .and_then(|i| i.as_i64())
                .filter(|n| *n >= 0)
                .ok_or_else(|| type_err("get_range needs a compile-time size"))?;
            let mut out = Vec::new();
            for k in 0..size {
                let idx = it.binop(start.clone(), Operator::Add, Value::int(k))?;
                out.push(it.get_item(&av, &idx)?);
            }
            Value::list(out)
        }
        "dot_product" => {
            let other = a.req(0, "other", name)?;
            dot(it, &av, &other)?
        }
        "total_size" => Value::int(total as i64),
        "get_sub" => {
            let n = a.req(0, "size", "get_sub")?;
            if arr.shape.len() != 1 {
                return Err(type_err("get_sub needs a 1-D array"));
            }
            match as_int(&n).and_then(|i| i.as_i64()) {
                Some(k) if k >= 0 && (k as usize) <= arr.len() => Value::Array(Rc::new(ArrayV {
                    shape: vec![k as usize],
                    ..(*arr).clone()
                })),
                Some(k) => {
                    return Err(crate::diagnostics::index_err(format!(
                        "get_sub({k}) on an array of length {}",
                        arr.len()
                    )))
                }
                None => {
                    let r = crate::types::to_regint(it, &n)?;
                    Value::Array(Rc::new(ArrayV {
                        dyn_len: Some(r),
                        ..(*arr).clone()
                    }))
                }
            }
        }
        "to_row_matrix" | "to_column_matrix" | "to_array" => {
            let shape = match name {
                "to_row_matrix" => vec![1, total as usize],
                "to_column_matrix" => vec![total as usize, 1],
                _ => vec![total as usize],
            };
            Value::Array(Rc::new(ArrayV {
                shape,
                ..(*arr).clone()
            }))
        }
        "same_shape" => {
            let res = array::alloc(it, arr.elem, arr.shape.clone())?;
            Value::Array(res)
        }
        "get_column" => {
            if arr.shape.len() != 2 {
                return Err(type_err("get_column needs a Matrix"));
            }
            let j = as_int(&a.req(0, "index", "get_column")?)
                .and_then(|i| i.as_i64())
                .filter(|j| *j >= 0 && (*j as usize) < arr.shape[1])
                .ok_or_else(|| crate::diagnostics::index_err("column index out of range"))?
                as usize;
            let r = load_all(it, &arr)?;
            let idx = (0..arr.shape[0])
                .map(|i| (i * arr.shape[1] + j) as u32)
                .collect();
            Value::Rt(array::gather(it, r, idx)?)
        }
        "transpose" => {
            if arr.shape.len() != 2 {
                return Err(type_err("transpose needs a Matrix"));
            }
            Value::Array(transpose_of(it, &arr)?)
        }
        "sum" => {
            let r = load_all(it, &arr)?;
            rt_method(it, r, "sum", Args::new(vec![]), site)?
        }
        "max" | "min" => {
            let items = array::iterate(it, &av)?;
            super::minmax(it, items, name == "max")?
        }
        "write_to_socket" => {
            let client = a.req(0, "client_id", "write_to_socket")?;
            let r = load_all(it, &arr)?;
            socket_write(it, sock_kind_for(arr.elem, false), &client, &[r], 0)?;
            Value::None
        }
        "read_from_socket" => {
            let client = a.req(0, "client_id", "read_from_socket")?;
            let r = socket_read(
                it,
                sock_kind_for(arr.elem, false),
                arr.elem,
                &client,
                1,
                total,
            )?[0];
            let at = array::addr(it, &arr, 0)?;
            array::store(it, r, at)?;
            Value::None
        }
        _ => return Err(unsupported(format!("Array.{name}()"))),
    })
}

pub(super) fn nested<'a>(
    it: &mut Interp<'a>,
    c: Rt,
    shape: &[usize],
    off: u32,
) -> Result<Value<'a>> {
    let stride: usize = shape[1..].iter().product();
    let mut out = Vec::new();
    for i in 0..shape[0] {
        let start = off + (i * stride) as u32;
        if shape.len() == 1 {
            out.push(Value::Rt(it.vec_slice(c, start, 1)?));
        } else {
            out.push(nested(it, c, &shape[1..], start)?);
        }
    }
    Ok(Value::list(out))
}

pub(super) fn nested_print(
    it: &mut Interp,
    c: Rt,
    shape: &[usize],
    off: u32,
    parts: &mut Vec<PrintPart>,
) -> Result<()> {
    if shape.len() == 1 {
        let v = it.vec_slice(c, off, shape[0] as u32)?;
        let reg = it.b.c(v.reg)?;
        if v.n == 1 {
            let l = it.b.string("[");
            parts.push(PrintPart::Text(l));
        }
        parts.push(match v.ty {
            RtType::Cfix { f, .. } => PrintPart::Fix {
                reg,
                n: Size(v.n),
                f,
                precision: it.prog.float_precision,
            },
            _ => PrintPart::Clear(reg, Size(v.n)),
        });
        if v.n == 1 {
            let r = it.b.string("]");
            parts.push(PrintPart::Text(r));
        }
        return Ok(());
    }
    let stride: usize = shape[1..].iter().product();
    parts.push(PrintPart::Text(it.b.string("[")));
    for i in 0..shape[0] {
        if i > 0 {
            parts.push(PrintPart::Text(it.b.string(", ")));
        }
        nested_print(it, c, &shape[1..], off + (i * stride) as u32, parts)?;
    }
    parts.push(PrintPart::Text(it.b.string("]")));
    Ok(())
}

/// Sorts a 1-D array in place with Batcher's odd-even merge sort; each layer of independent
/// comparators is one vectorised compare-and-swap.
pub(super) fn sort_array(it: &mut Interp, arr: &ArrayV) -> Result<()> {
    let n = arr.len();
    if n < 2 {
        return Ok(());
    }
    // About n/2 * log2(n)^2 / 2 comparators, 16 bytes each, plus gather indices.
    let lg = 64 - (n as u64).leading_zeros() as u64;
    it.tracker.check_memory((n as u64 / 2) * lg * lg * 12)?;
    let mut layers: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut p = 1;
    while p < n {
        let mut k = p;
        while k >= 1 {
            let mut layer = Vec::new();
            let mut j = k % p;
            while j + k < n {
                for i in 0..k.min(n - j - k) {
                    let (x, y) = (i + j, i + j + k);
                    if x / (2 * p) == y / (2 * p) {
                        layer.push((x, y));
                    }
                }
                j += 2 * k;
            }
            if !layer.is_empty() {
                layers.push(layer);
            }
            k /= 2;
        }
        p *= 2;
    }
    let total_pairs: u64 = layers.iter().map(|l| l.len() as u64).sum();
    it.tracker
        .check_memory(total_pairs * 16 + n as u64 * 4 * layers.len() as u64)?;
    let mut v = load_all(it, arr)?;
    for layer in layers {
        let lo: Vec<u32> = layer.iter().map(|(x, _)| *x as u32).collect();
        let hi: Vec<u32> = layer.iter().map(|(_, y)| *y as u32).collect();
        let a = array::gather(it, v, lo)?;
        let b = array::gather(it, v, hi)?;
        // c = a > b; (min, max) = c.cond_swap(a, b)
        let c = super::compare(it, Value::Rt(a), CmpOp::Gt, Value::Rt(b))?;
        let d = it.binop(Value::Rt(a), Operator::Sub, Value::Rt(b))?;
        let prod = it.binop(c, Operator::Mult, d)?;
        let mins = it.binop(Value::Rt(a), Operator::Sub, prod.clone())?;
        let maxs = it.binop(Value::Rt(b), Operator::Add, prod)?;
        let (Value::Rt(mins), Value::Rt(maxs)) = (mins, maxs) else {
            unreachable!()
        };
        let m = layer.len();
        let all = it.vec_concat(&[
            Rt { ty: v.ty, ..v },
            Rt { ty: v.ty, ..mins },
            Rt { ty: v.ty, ..maxs },
        ])?;
        let mut idx: Vec<u32> = (0..n as u32).collect();
        for (pi, (x, y)) in layer.iter().enumerate() {
            idx[*x] = (n + pi) as u32;
            idx[*y] = (n + m + pi) as u32;
        }
        v = array::gather(it, all, idx)?;
    }
    let at = array::addr(it, arr, 0)?;
    array::store(it, v, at)
}

/// A new matrix holding the transpose of `arr` (one load, one gather, one store).
fn transpose_of(it: &mut Interp, arr: &ArrayV) -> Result<Rc<ArrayV>> {
    let (rows, cols) = (arr.shape[0], arr.shape[1]);
    let r = load_all(it, arr)?;
    let idx = (0..cols)
        .flat_map(|j| (0..rows).map(move |i| (i * cols + j) as u32))
        .collect();
    let t = array::gather(it, r, idx)?;
    let res = array::alloc(it, arr.elem, vec![cols, rows])?;
    let at = array::addr(it, &res, 0)?;
    array::store(it, t, at)?;
    Ok(res)
}
