//! `@function` / `@function_block`: bytecode functions compiled once per signature.

use std::rc::Rc;

use ruff_text_size::TextRange;

use super::*;
use crate::diagnostics::{unsupported, value_err, Result};
use crate::eval::ops::{self, as_int};
use crate::eval::{Args, Interp};
use crate::types::array;

/// The shape of a function's return value, with register slots numbered.
#[derive(Clone)]
pub enum RetShape<'a> {
    Const(Value<'a>),
    Slot(usize, RtType, u32),
    List(Vec<RetShape<'a>>),
    Tuple(Vec<RetShape<'a>>),
}

pub(super) fn arg_key(v: &Value) -> String {
    let mut budget = 100_000u32;
    arg_key_depth(v, 0, &mut budget)
}

pub(super) fn arg_key_depth(v: &Value, depth: u32, budget: &mut u32) -> String {
    *budget = budget.saturating_sub(1);
    if depth > 50 || *budget == 0 {
        return format!("id{}", ops::identity(v).unwrap_or(0));
    }
    let arg_key = |x: &Value| arg_key_depth(x, depth + 1, budget);
    match v {
        Value::Rt(r) => format!("{}:{}", r.ty.name(), r.n),
        Value::Array(a) => format!(
            "arr@{}:{:?}:{:?}:{}",
            a.base,
            a.shape,
            a.elem,
            a.dyn_off.is_some()
        ),
        Value::MemValue(m) => format!("mem@{}", m.addr),
        Value::List(l) => format!(
            "[{}]",
            l.v.borrow()
                .iter()
                .map(arg_key)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Tuple(t) => format!(
            "({})",
            t.0.iter().map(arg_key).collect::<Vec<_>>().join(",")
        ),
        other => match ops::identity(other) {
            Some(id) if !matches!(other, Value::Str(_)) => format!("id{id}"),
            _ => ops::py_repr(other),
        },
    }
}

pub(super) fn call_rt_function<'a>(
    it: &mut Interp<'a>,
    p: &Rc<Partial<'a>>,
    a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    let Partial::RtFunction { func, instances } = &**p else {
        unreachable!()
    };
    let mut key = a.pos.iter().map(arg_key).collect::<Vec<_>>().join(";");
    for (k, v) in &a.kw {
        key.push_str(&format!(";{k}={}", arg_key(v)));
    }
    // Array arguments with a run-time offset are passed as values of the offset register.
    let existing = instances
        .borrow()
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, id, s)| (*id, s.clone()));
    let (id, shape) = match existing {
        Some(x) => x,
        None => {
            let name = match func {
                Value::Func(f) => f.name.to_string(),
                _ => "function".into(),
            };
            let id = it.b.begin_function(&name);
            instances.borrow_mut().push((key.clone(), id, Value::None));
            let mut inner = Args {
                pos: Vec::new(),
                kw: Vec::new(),
            };
            for v in &a.pos {
                inner.pos.push(param_of(it, v)?);
            }
            for (k, v) in &a.kw {
                let pv = param_of(it, v)?;
                inner.kw.push((k.clone(), pv));
            }
            let saved_if = std::mem::take(&mut it.if_then);
            let saved_else = std::mem::take(&mut it.pending_else);
            it.rt_block_depth += 1;
            let res = it.call(func, inner, site);
            it.rt_block_depth -= 1;
            let leftover_if = !it.if_then.is_empty();
            it.if_then = saved_if;
            it.pending_else = saved_else;
            let res = res?;
            if leftover_if {
                return Err(value_err("if_then() without end_if() inside a @function"));
            }
            let mut slots = Vec::new();
            let shape = ret_shape(it, &res, &mut slots)?;
            let mut results = Vec::new();
            for r in &slots {
                // Fresh result registers in the callee frame.
                let c = it.copy_rt(*r)?;
                results.push(c.reg);
            }
            it.b.end_function(&results)?;
            let shape_v = encode_shape(&shape);
            if let Some(entry) = instances
                .borrow_mut()
                .iter_mut()
                .find(|(k, _, _)| *k == key)
            {
                entry.2 = shape_v.clone();
            }
            (id, shape_v)
        }
    };
    let shape = decode_shape(&shape);
    // Recursive call while compiling: no results.
    let open = it.b.is_open(id);
    let mut args = Vec::new();
    for v in a.pos.iter().chain(a.kw.iter().map(|(_, v)| v)) {
        arg_regs(it, v, &mut args)?;
    }
    if open {
        it.b.call(id, &args, &[])?;
        return Ok(Value::None);
    }
    let mut slot_types = Vec::new();
    shape_slots(&shape, &mut slot_types);
    let mut rets = Vec::new();
    let mut ret_rts = Vec::new();
    for (ty, n) in &slot_types {
        let r = it.new_rt(*ty, *n);
        rets.push(r.reg);
        ret_rts.push(r);
    }
    it.b.call(id, &args, &rets)?;
    Ok(rebuild(&shape, &ret_rts))
}

/// The callee-side value of an argument: registers become parameters.
pub(super) fn param_of<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<Value<'a>> {
    Ok(match v {
        Value::Rt(r) => {
            let p = it.b.add_param(r.reg.kind);
            Value::Rt(Rt { reg: p, ..*r })
        }
        Value::Array(a) if a.dyn_off.is_some() => {
            let p = it.b.add_param(RegKind::Int);
            Value::Array(Rc::new(ArrayV {
                dyn_off: Some(p),
                ..(**a).clone()
            }))
        }
        Value::List(l) => {
            let items = l.v.borrow().clone();
            let mut out = Vec::new();
            for x in &items {
                out.push(param_of(it, x)?);
            }
            Value::list(out)
        }
        Value::Tuple(t) => {
            let mut out = Vec::new();
            for x in &t.0 {
                out.push(param_of(it, x)?);
            }
            Value::tuple(out)
        }
        other => other.clone(),
    })
}

pub(super) fn arg_regs<'a>(
    it: &mut Interp<'a>,
    v: &Value<'a>,
    out: &mut Vec<RegRef>,
) -> Result<()> {
    match v {
        Value::Rt(r) => out.push(r.reg),
        Value::Array(a) => {
            if let Some(d) = a.dyn_off {
                out.push(d);
            }
        }
        Value::List(_) | Value::Tuple(_) => {
            for x in it.collect(v)? {
                arg_regs(it, &x, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) fn ret_shape<'a>(
    it: &mut Interp<'a>,
    v: &Value<'a>,
    slots: &mut Vec<Rt>,
) -> Result<RetShape<'a>> {
    Ok(match v {
        Value::Rt(r) => {
            slots.push(*r);
            RetShape::Slot(slots.len() - 1, r.ty, r.n)
        }
        Value::MemValue(m) => {
            let r = array::mem_read(it, m)?;
            slots.push(r);
            RetShape::Slot(slots.len() - 1, r.ty, r.n)
        }
        Value::List(l) => {
            let items = l.v.borrow().clone();
            RetShape::List(
                items
                    .iter()
                    .map(|x| ret_shape(it, x, slots))
                    .collect::<Result<_>>()?,
            )
        }
        Value::Tuple(t) => RetShape::Tuple(
            t.0.iter()
                .map(|x| ret_shape(it, x, slots))
                .collect::<Result<_>>()?,
        ),
        Value::Array(a) if a.dyn_off.is_some() => {
            return Err(unsupported(
                "returning a run-time-indexed sub-array from a @function",
            ))
        }
        other => RetShape::Const(other.clone()),
    })
}

// The shape is stored inside a Value (the instance table lives in Partial).
pub(super) fn encode_shape<'a>(s: &RetShape<'a>) -> Value<'a> {
    match s {
        RetShape::Const(v) => Value::tuple(vec![Value::int(0), v.clone()]),
        RetShape::Slot(i, ty, n) => Value::tuple(vec![
            Value::int(1),
            Value::int(*i as i64),
            Value::Rt(Rt {
                ty: *ty,
                reg: RegRef {
                    kind: ty.kind(),
                    idx: 0,
                    frame: u32::MAX,
                },
                n: *n,
            }),
        ]),
        RetShape::List(v) => Value::tuple(vec![
            Value::int(2),
            Value::list(v.iter().map(encode_shape).collect()),
        ]),
        RetShape::Tuple(v) => Value::tuple(vec![
            Value::int(3),
            Value::list(v.iter().map(encode_shape).collect()),
        ]),
    }
}

pub(super) fn decode_shape<'a>(v: &Value<'a>) -> RetShape<'a> {
    let Value::Tuple(t) = v else {
        return RetShape::Const(Value::None);
    };
    match as_int(&t.0[0]).and_then(|i| i.as_i64()) {
        Some(1) => {
            let i = as_int(&t.0[1]).and_then(|i| i.as_i64()).unwrap_or(0) as usize;
            let Value::Rt(r) = &t.0[2] else {
                unreachable!()
            };
            RetShape::Slot(i, r.ty, r.n)
        }
        Some(2) | Some(3) => {
            let Value::List(l) = &t.0[1] else {
                unreachable!()
            };
            let items: Vec<RetShape<'a>> = l.v.borrow().iter().map(decode_shape).collect();
            if as_int(&t.0[0]).and_then(|i| i.as_i64()) == Some(2) {
                RetShape::List(items)
            } else {
                RetShape::Tuple(items)
            }
        }
        _ => RetShape::Const(t.0.get(1).cloned().unwrap_or(Value::None)),
    }
}

pub(super) fn shape_slots(s: &RetShape, out: &mut Vec<(RtType, u32)>) {
    match s {
        RetShape::Const(_) => {}
        RetShape::Slot(_, ty, n) => out.push((*ty, *n)),
        RetShape::List(v) | RetShape::Tuple(v) => v.iter().for_each(|x| shape_slots(x, out)),
    }
}

pub(super) fn rebuild<'a>(s: &RetShape<'a>, regs: &[Rt]) -> Value<'a> {
    match s {
        RetShape::Const(v) => v.clone(),
        RetShape::Slot(i, _, _) => Value::Rt(regs[*i]),
        RetShape::List(v) => Value::list(v.iter().map(|x| rebuild(x, regs)).collect()),
        RetShape::Tuple(v) => Value::tuple(v.iter().map(|x| rebuild(x, regs)).collect()),
    }
}
