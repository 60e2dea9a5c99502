//! Run-time control flow: loops, branches, reductions.

use std::rc::Rc;

use ruff_python_ast::Operator;
use ruff_text_size::TextRange;

use super::*;
use crate::diagnostics::{type_err, value_err, Result};
use crate::eval::ops::as_int;
use crate::eval::{Args, Interp, PendingElse, RtLoop};
use crate::types::array;

pub(super) fn range_of<'a>(it: &mut Interp<'a>, n: Value<'a>) -> Result<Value<'a>> {
    if let Value::List(_) | Value::Tuple(_) = &n {
        return nested_range(it, &n);
    }
    Ok(partial(Partial::ForRange {
        start: Value::int(0),
        stop: n,
        step: Value::int(1),
    }))
}

pub(super) fn nested_range<'a>(it: &mut Interp<'a>, dims: &Value<'a>) -> Result<Value<'a>> {
    let d = it.collect(dims)?;
    if d.is_empty() {
        return Err(value_err("for_range with an empty list of ranges"));
    }
    Ok(partial(Partial::NestedRange(d)))
}

// ---------------------------------------------------------------------------------------------
// Applying the decorators

pub fn call_partial<'a>(
    it: &mut Interp<'a>,
    p: Rc<Partial<'a>>,
    a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    match &*p {
        Partial::RtFunction { .. } => return call_rt_function(it, &p, a, site),
        Partial::Const(v) => return Ok(v.clone()),
        _ => {}
    }
    let mut a = a;
    let body = a.req(0, "function", "decorator")?;
    match &*p {
        Partial::ForRange { start, stop, step } => {
            let (start, stop, step) = (start.clone(), stop.clone(), step.clone());
            for_range(it, start, stop, step, &mut |it, i| {
                it.call_pos(&body, vec![i], site).map(|_| ())
            })?;
            Ok(Value::None)
        }
        Partial::NestedRange(dims) => {
            let dims = dims.clone();
            nested_loops(it, &dims, Vec::new(), &body, site)?;
            Ok(Value::None)
        }
        Partial::ForEach { arr, n } => {
            let arr = arr.clone();
            for_range(
                it,
                Value::int(0),
                Value::int(*n),
                Value::int(1),
                &mut |it, i| {
                    let x = it.get_item(&arr, &i)?;
                    it.call_pos(&body, vec![i, x], site).map(|_| ())
                },
            )?;
            Ok(Value::None)
        }
        Partial::If(c) => {
            let c = cond_of(it, c, "@if_")?;
            match c {
                Cond::Const(true) => {
                    it.call_pos(&body, vec![], site)?;
                }
                Cond::Const(false) => {}
                Cond::Reg(r) => {
                    let end = it.b.new_label();
                    let rr = it.b.r(r)?;
                    it.emit(Instr::JmpZ {
                        cond: rr,
                        target: end,
                    })?;
                    it.b.branch_begin();
                    it.rt_block_depth += 1;
                    let res = it.call_pos(&body, vec![], site);
                    it.rt_block_depth -= 1;
                    res?;
                    it.b.place(end);
                    it.b.branch_end();
                }
            }
            Ok(Value::None)
        }
        Partial::IfE(c) => {
            let c = cond_of(it, c, "@if_e")?;
            let depth = it.block_depth;
            let frame = it.b.frame_id();
            match c {
                Cond::Const(b) => {
                    if b {
                        it.call_pos(&body, vec![], site)?;
                    }
                    it.pending_else.push(PendingElse {
                        block_depth: depth,
                        frame,
                        end: None,
                        run_else: !b,
                    });
                }
                Cond::Reg(r) => {
                    let else_l = it.b.new_label();
                    let end = it.b.new_label();
                    let rr = it.b.r(r)?;
                    it.emit(Instr::JmpZ {
                        cond: rr,
                        target: else_l,
                    })?;
                    it.b.branch_begin();
                    it.rt_block_depth += 1;
                    let res = it.call_pos(&body, vec![], site);
                    it.rt_block_depth -= 1;
                    res?;
                    it.emit(Instr::Jmp { target: end })?;
                    it.b.place(else_l);
                    it.b.branch_else();
                    it.pending_else.push(PendingElse {
                        block_depth: depth,
                        frame,
                        end: Some(end),
                        run_else: true,
                    });
                }
            }
            Ok(Value::None)
        }
        Partial::WhileDo { cond, args } => {
            let (cond, args) = (cond.clone(), args.clone());
            while_do(it, cond, args, body, site)?;
            Ok(Value::None)
        }
        Partial::Multithread { n_items } => {
            let n = n_items.clone();
            it.call_pos(&body, vec![Value::int(0), n], site)?;
            Ok(Value::None)
        }
        Partial::MapSum { n_loops, types } => {
            let (n_loops, types) = (n_loops.clone(), types.clone());
            map_sum(it, n_loops, types, body, site)
        }
        Partial::RtFunction { .. } | Partial::Const(_) => unreachable!(),
    }
}

pub(super) fn nested_loops<'a>(
    it: &mut Interp<'a>,
    dims: &[Value<'a>],
    prefix: Vec<Value<'a>>,
    body: &Value<'a>,
    site: TextRange,
) -> Result<()> {
    let (first, rest) = dims.split_first().expect("nonempty");
    let rest = rest.to_vec();
    for_range(
        it,
        Value::int(0),
        first.clone(),
        Value::int(1),
        &mut |it, i| {
            let mut p = prefix.clone();
            p.push(i);
            if rest.is_empty() {
                it.call_pos(body, p, site).map(|_| ())
            } else {
                nested_loops(it, &rest, p, body, site)
            }
        },
    )
}

/// A run-time loop `for i in range(start, stop, step)`, compiled once.
pub fn for_range<'a>(
    it: &mut Interp<'a>,
    start: Value<'a>,
    stop: Value<'a>,
    step: Value<'a>,
    body: &mut dyn FnMut(&mut Interp<'a>, Value<'a>) -> Result<()>,
) -> Result<()> {
    let step = int_arg(&step, "the step of for_range")?;
    if step == 0 {
        return Err(value_err("for_range step must not be zero"));
    }
    let cs = as_int(&start).and_then(|i| i.as_i64());
    let ce = as_int(&stop).and_then(|i| i.as_i64());
    let trips = match (cs, ce) {
        (Some(s), Some(e)) => Some(crate::eval::range_len(s, e, step)),
        _ => None,
    };
    // Loop variable: a fresh regint, incremented in place.
    let i = it.new_rt(RtType::Regint, 1);
    match &start {
        v if cs.is_some() => {
            let _ = v;
            let d = it.b.r(i.reg)?;
            it.emit(Instr::LdiR {
                dst: d,
                imm: cs.expect("int"),
                n: Size(1),
            })?;
        }
        v => {
            let s = crate::types::to_regint(it, v)?;
            let (d, sr) = (it.b.r(i.reg)?, it.b.r(s)?);
            it.emit(Instr::Mov {
                dst: AnyReg::new(RegKind::Int, d.0),
                src: AnyReg::new(RegKind::Int, sr.0),
                n: Size(1),
            })?;
        }
    }
    // The bound is evaluated once, before the loop.
    let stop_reg = match ce {
        Some(_) => None,
        None => {
            let e = crate::types::to_regint(it, &stop)?;
            let fresh = it.new_rt(RtType::Regint, 1);
            let (d, s) = (it.b.r(fresh.reg)?, it.b.r(e)?);
            it.emit(Instr::Mov {
                dst: AnyReg::new(RegKind::Int, d.0),
                src: AnyReg::new(RegKind::Int, s.0),
                n: Size(1),
            })?;
            Some(fresh.reg)
        }
    };
    let top = it.b.new_label();
    let end = it.b.new_label();
    it.b.place(top);
    let c = it.new_rt(RtType::Regint, 1);
    let op = if step > 0 {
        crate::bytecode::CmpOp::Lt
    } else {
        crate::bytecode::CmpOp::Gt
    };
    let (cd, ir) = (it.b.r(c.reg)?, it.b.r(i.reg)?);
    match (ce, stop_reg) {
        (Some(e), _) => it.emit(Instr::IntCmpI {
            op,
            dst: cd,
            a: ir,
            imm: e,
            n: Size(1),
        })?,
        (None, Some(s)) => {
            let sr = it.b.r(s)?;
            it.emit(Instr::IntCmp {
                op,
                dst: cd,
                a: ir,
                b: sr,
                n: Size(1),
            })?
        }
        _ => unreachable!(),
    }
    it.emit(Instr::JmpZ {
        cond: cd,
        target: end,
    })?;
    let frame = it.b.frame_id();
    it.rt_loops.push(RtLoop { frame, end });
    it.b.enter_region(trips);
    it.rt_block_depth += 1;
    let res = body(it, Value::Rt(i));
    it.rt_block_depth -= 1;
    it.b.exit_region();
    it.rt_loops.pop();
    res?;
    let ir = it.b.r(i.reg)?;
    it.emit(Instr::IntBinI {
        op: IntOp::Add,
        dst: ir,
        a: ir,
        imm: step,
        n: Size(1),
    })?;
    it.emit(Instr::Jmp { target: top })?;
    it.b.place(end);
    Ok(())
}

pub(super) fn loop_vars<'a>(it: &mut Interp<'a>, args: &[Value<'a>]) -> Result<Vec<Rt>> {
    let mut vars = Vec::new();
    for a in args {
        let r = match a {
            Value::Rt(r) => *r,
            Value::Int(_) | Value::Bool(_) => crate::types::to_type_pub(it, a, RtType::Regint)?,
            Value::MemValue(m) => array::mem_read(it, m)?,
            other => {
                return Err(type_err(format!(
                    "loop state must be run-time values or ints, not {}",
                    other.type_name()
                )))
            }
        };
        vars.push(it.copy_rt(r)?);
    }
    Ok(vars)
}

pub(super) fn while_do<'a>(
    it: &mut Interp<'a>,
    cond: Value<'a>,
    args: Vec<Value<'a>>,
    body: Value<'a>,
    site: TextRange,
) -> Result<()> {
    let vars = loop_vars(it, &args)?;
    let vals: Vec<Value<'a>> = vars.iter().map(|r| Value::Rt(*r)).collect();
    let top = it.b.new_label();
    let end = it.b.new_label();
    it.b.place(top);
    let c = it.call_pos(&cond, vals.clone(), site)?;
    match cond_of(it, &c, "while_do")? {
        Cond::Const(false) => return Ok(()),
        Cond::Const(true) => {}
        Cond::Reg(r) => {
            let rr = it.b.r(r)?;
            it.emit(Instr::JmpZ {
                cond: rr,
                target: end,
            })?;
        }
    }
    let frame = it.b.frame_id();
    it.rt_loops.push(RtLoop { frame, end });
    it.b.enter_region(None);
    it.rt_block_depth += 1;
    let res = it.call_pos(&body, vals, site);
    it.rt_block_depth -= 1;
    it.b.exit_region();
    it.rt_loops.pop();
    let res = res?;
    if !vars.is_empty() {
        let new = match (&res, vars.len()) {
            (Value::Tuple(_) | Value::List(_), n) if n > 1 => it.collect(&res)?,
            (v, 1) => vec![v.clone()],
            _ => {
                return Err(type_err(
                    "the while_do body must return the new loop state (one value per argument)",
                ))
            }
        };
        if new.len() != vars.len() {
            return Err(type_err(format!(
                "the while_do body returned {} values for {} loop variables",
                new.len(),
                vars.len()
            )));
        }
        for (v, x) in vars.iter().zip(new.iter()) {
            it.update_rt(*v, x)?;
        }
    }
    it.emit(Instr::Jmp { target: top })?;
    it.b.place(end);
    Ok(())
}

pub(super) fn do_while<'a>(it: &mut Interp<'a>, body: Value<'a>, site: TextRange) -> Result<()> {
    let top = it.b.new_label();
    let end = it.b.new_label();
    it.b.place(top);
    let frame = it.b.frame_id();
    it.rt_loops.push(RtLoop { frame, end });
    it.b.enter_region(None);
    it.rt_block_depth += 1;
    let res = it.call_pos(&body, vec![], site);
    it.rt_block_depth -= 1;
    it.b.exit_region();
    it.rt_loops.pop();
    let res = res?;
    match cond_of(it, &res, "do_while")? {
        Cond::Const(false) => {}
        Cond::Const(true) => it.emit(Instr::Jmp { target: top })?,
        Cond::Reg(r) => {
            let rr = it.b.r(r)?;
            it.emit(Instr::JmpNz {
                cond: rr,
                target: top,
            })?;
        }
    }
    it.b.place(end);
    Ok(())
}

pub(super) fn else_<'a>(it: &mut Interp<'a>, body: Value<'a>, site: TextRange) -> Result<()> {
    let frame = it.b.frame_id();
    let depth = it.block_depth;
    let Some(p) = it.pending_else.last() else {
        return Err(type_err("@else_ without a preceding @if_e").with_advice(
            "write @if_e(cond) def _(): ... immediately followed by @else_ def _(): ...",
        ));
    };
    if p.frame != frame || p.block_depth != depth {
        return Err(type_err("@else_ must immediately follow its @if_e block"));
    }
    let p = it.pending_else.pop().expect("nonempty");
    match p.end {
        None => {
            if p.run_else {
                it.call_pos(&body, vec![], site)?;
            }
        }
        Some(end) => {
            it.rt_block_depth += 1;
            let res = it.call_pos(&body, vec![], site);
            it.rt_block_depth -= 1;
            res?;
            it.b.place(end);
            it.b.branch_end();
        }
    }
    Ok(())
}

pub(super) fn map_sum<'a>(
    it: &mut Interp<'a>,
    n_loops: Value<'a>,
    types: Vec<Value<'a>>,
    body: Value<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    // Accumulators start at zero.
    let mut accs = Vec::new();
    for t in &types {
        let (t, size) = match t {
            Value::Tuple(p) if p.0.len() == 2 => (p.0[0].clone(), Some(p.0[1].clone())),
            other => (other.clone(), None),
        };
        let mut a = Args::new(vec![Value::int(0)]);
        if let Some(s) = size {
            a.kw.push((Rc::from("size"), s));
        }
        let v = it.call(&t, a, site)?;
        let Value::Rt(r) = v else {
            return Err(type_err(
                "map_sum types must be run-time types (sint, cint, sfix, ...)",
            ));
        };
        accs.push(r);
    }
    let accs2 = accs.clone();
    for_range(it, Value::int(0), n_loops, Value::int(1), &mut |it, i| {
        let r = it.call_pos(&body, vec![i], site)?;
        let vals = match (&r, accs2.len()) {
            (Value::Tuple(_) | Value::List(_), n) if n > 1 => it.collect(&r)?,
            (Value::Tuple(t), 1) if t.0.len() == 1 => vec![t.0[0].clone()],
            (Value::List(l), 1) if l.len() == 1 => vec![l.v.borrow()[0].clone()],
            (v, 1) => vec![v.clone()],
            _ => return Err(type_err("the map_sum body must return one value per type")),
        };
        if vals.len() != accs2.len() {
            return Err(type_err("the map_sum body must return one value per type"));
        }
        for (acc, v) in accs2.iter().zip(vals) {
            let s = it.binop(Value::Rt(*acc), Operator::Add, v)?;
            it.update_rt(*acc, &s)?;
        }
        Ok(())
    })?;
    let result = if accs.len() == 1 {
        Value::Rt(accs[0])
    } else {
        Value::tuple(accs.into_iter().map(Value::Rt).collect())
    };
    Ok(partial(Partial::Const(result)))
}

// ---------------------------------------------------------------------------------------------
// @function / @function_block
