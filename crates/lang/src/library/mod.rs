//! The MP-SPDZ library: printing, run-time control flow (decorators), functions, reductions,
//! client sockets, and program-level I/O.

use std::rc::Rc;

use ruff_python_ast::CmpOp;
use ruff_text_size::TextRange;

use crate::bytecode::*;
use crate::diagnostics::{type_err, unsupported, value_err, Result};
use crate::eval::ops::as_int;
use crate::eval::{Args, IfThen, Interp};
use crate::types::{array, construct};
use crate::values::*;

pub(crate) mod flow;
mod function;
mod print;

use flow::*;
pub use flow::{call_partial, for_range};
use function::*;
use print::*;
pub use print::{emit_print, format_parts};

/// A condition: known at compile time, or a regint register.
pub(super) enum Cond {
    Const(bool),
    Reg(RegRef),
}

pub(super) fn cond_of<'a>(it: &mut Interp<'a>, v: &Value<'a>, what: &str) -> Result<Cond> {
    match v {
        Value::Rt(r) if r.ty.is_secret() => Err(crate::eval::runtime_branch_error(v).with_advice(format!(
            "{what} needs a public condition (regint, cint or a Python value); for a secret \
             condition compute both results and select with `cond.if_else(a, b)`, or reveal the condition first"
        ))),
        Value::Rt(r) => {
            if r.n != 1 {
                return Err(type_err(format!("{what}: the condition must be a single value, not a vector")));
            }
            let rr = crate::types::conv_pub(it, *r, RtType::Regint)?;
            Ok(Cond::Reg(rr.reg))
        }
        Value::MemValue(m) => {
            let r = array::mem_read(it, m)?;
            cond_of(it, &Value::Rt(r), what)
        }
        other => Ok(Cond::Const(it.truthy(other)?)),
    }
}

pub(super) fn int_arg(v: &Value, what: &str) -> Result<i64> {
    as_int(v).and_then(|i| i.as_i64()).ok_or_else(|| {
        type_err(format!(
            "{what} must be a compile-time int, not {}",
            v.type_name()
        ))
    })
}

pub(super) fn partial<'a>(p: Partial<'a>) -> Value<'a> {
    Value::Partial(Rc::new(p))
}

pub fn call<'a>(
    it: &mut Interp<'a>,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    match name {
        // ---- printing ---------------------------------------------------------------------
        "print_ln" | "print_str" => {
            a.ignore_kw(&["print_secrets"]);
            a.done(usize::MAX, name)?;
            let fmt = a.pos.first().cloned().unwrap_or_else(|| Value::str(""));
            let args = a.pos.get(1..).unwrap_or_default().to_vec();
            let mut parts = format_parts(it, &fmt, &args, None)?;
            if name == "print_ln" {
                parts.push(PrintPart::Text(it.b.string("\n")));
            }
            emit_print(it, parts, PrintTarget::Default)?;
            Ok(Value::None)
        }
        "print_ln_if" | "print_str_if" => {
            let cond = a.req(0, "cond", name)?;
            let fmt = a.req(1, "string", name)?;
            let args = a.pos.get(2..).unwrap_or_default().to_vec();
            let c = cond_of(it, &cond, name)?;
            let mut parts = format_parts(it, &fmt, &args, None)?;
            if name == "print_ln_if" {
                parts.push(PrintPart::Text(it.b.string("\n")));
            }
            guarded(it, c, |it| emit_print(it, parts, PrintTarget::Default))?;
            Ok(Value::None)
        }
        "print_ln_to" => {
            let p = a.req(0, "player", name)?;
            let fmt = a.req(1, "string", name)?;
            let args = a.pos.get(2..).unwrap_or_default().to_vec();
            let p = u32::try_from(int_arg(&p, "the player of print_ln_to")?)
                .map_err(|_| value_err("invalid player"))?;
            let mut parts = format_parts(it, &fmt, &args, Some(p))?;
            parts.push(PrintPart::Text(it.b.string("\n")));
            emit_print(it, parts, PrintTarget::Party(p))?;
            Ok(Value::None)
        }
        "print_float_precision" => {
            let n = int_arg(&a.req(0, "n", name)?, "the precision")?;
            if !(1..=60).contains(&n) {
                return Err(value_err("print_float_precision needs 1..=60 digits"));
            }
            it.prog.float_precision = n as u32;
            Ok(Value::None)
        }
        "runtime_error" => {
            let fmt = a.pos.first().cloned().unwrap_or_else(|| Value::str(""));
            let args = a.pos.get(1..).unwrap_or_default().to_vec();
            runtime_error(it, &fmt, &args)?;
            Ok(Value::None)
        }
        "runtime_error_if" => {
            let cond = a.req(0, "condition", name)?;
            let fmt = a.pos.get(1).cloned().unwrap_or_else(|| Value::str(""));
            let args = a.pos.get(2..).unwrap_or_default().to_vec();
            let c = cond_of(it, &cond, name)?;
            guarded(it, c, |it| runtime_error(it, &fmt, &args))?;
            Ok(Value::None)
        }
        "crash" => {
            let c = match a.arg(0, "condition") {
                None | Some(Value::None) => Cond::Const(true),
                Some(v) => cond_of(it, &v, "crash")?,
            };
            guarded(it, c, |it| {
                let msg = it.b.string("crash() called");
                it.emit(Instr::Crash { msg })
            })?;
            Ok(Value::None)
        }
        "public_input" => {
            let n = crate::types::size_of_kw(a.take_kw("size"))?;
            let out = it.new_rt(RtType::Cint, n);
            let d = it.b.c(out.reg)?;
            it.emit(Instr::PublicInput { dst: d, n: Size(n) })?;
            Ok(Value::Rt(out))
        }
        "get_player_id" | "get_number_of_players" => {
            let out = it.new_rt(RtType::Regint, 1);
            let d = it.b.r(out.reg)?;
            it.emit(if name == "get_player_id" {
                Instr::PlayerId { dst: d }
            } else {
                Instr::NumPlayers { dst: d }
            })?;
            Ok(Value::Rt(out))
        }
        "get_arg" => {
            // Tapes run inline, so the thread argument is a constant.
            let arg = it.tape_args.last().copied().unwrap_or(0);
            Ok(Value::Rt(it.load_const(RtType::Regint, arg as i128, 1)?))
        }
        "get_cmdline_arg" => Err(unsupported(format!("{name}()"))
            .with_advice("use program.args for compile-time arguments")),

        // ---- sockets ------------------------------------------------------------------------
        "listen" | "listen_for_clients" => {
            let port = a.req(0, "port", name)?;
            let p = crate::types::to_regint(it, &port)?;
            let pr = it.b.r(p)?;
            it.emit(Instr::Listen { port: pr })?;
            Ok(Value::None)
        }
        "acceptclientconnection" => {
            let dst = a.req(0, "client_id", name)?;
            let port = a.req(1, "port", name)?;
            let Value::Rt(d) = dst else {
                return Err(type_err("acceptclientconnection(client_id, port) needs a regint register as its first argument")
                    .with_advice("write `client_id = regint()` first, or use `client_id = accept_client_connection(port)`"));
            };
            if d.ty != RtType::Regint || d.n != 1 {
                return Err(type_err("acceptclientconnection needs a regint register"));
            }
            let p = crate::types::to_regint(it, &port)?;
            let pr = it.b.r(p)?;
            let dr = R(it.b.local_write(d.reg)?);
            it.emit(Instr::Accept { dst: dr, port: pr })?;
            Ok(Value::None)
        }
        "accept_client_connection" => {
            let port = a.req(0, "port", name)?;
            let p = crate::types::to_regint(it, &port)?;
            let out = it.new_rt(RtType::Regint, 1);
            let (d, pr) = (it.b.r(out.reg)?, it.b.r(p)?);
            it.emit(Instr::Accept { dst: d, port: pr })?;
            Ok(Value::Rt(out))
        }
        "closeclientconnection" => {
            let c = a.req(0, "client_id", name)?;
            let r = crate::types::to_regint(it, &c)?;
            let rr = it.b.r(r)?;
            it.emit(Instr::CloseClient { client: rr })?;
            Ok(Value::None)
        }

        // ---- loops --------------------------------------------------------------------------
        "for_range" | "for_range_opt" => {
            a.ignore_kw(&["budget"]);
            let start = a.req(0, "start", name)?;
            if let Value::List(_) | Value::Tuple(_) = &start {
                return nested_range(it, &start);
            }
            let stop = a.arg(1, "stop");
            let step = a.arg(2, "step");
            a.done(3, name)?;
            let (start, stop) = match stop {
                None | Some(Value::None) => (Value::int(0), start),
                Some(s) => (start, s),
            };
            Ok(partial(Partial::ForRange {
                start,
                stop,
                step: step.unwrap_or(Value::int(1)),
            }))
        }
        "for_range_parallel" => {
            let n = a.req(1, "n_loops", name)?;
            range_of(it, n)
        }
        "for_range_multithread" => {
            a.ignore_kw(&["thread_mem_req", "budget"]);
            let n = a.req(2, "n_loops", name)?;
            range_of(it, n)
        }
        "for_range_opt_multithread" => {
            a.ignore_kw(&["budget"]);
            let n = a.req(1, "n_loops", name)?;
            range_of(it, n)
        }
        "multithread" => {
            let n_threads = a.req(0, "n_threads", name)?;
            let n_items = a
                .arg(1, "n_items")
                .filter(|v| !matches!(v, Value::None))
                .unwrap_or(n_threads);
            a.ignore_kw(&["max_size"]);
            Ok(partial(Partial::Multithread { n_items }))
        }
        "while_do" => {
            let cond = a.req(0, "condition", name)?;
            let args = a.pos.get(1..).unwrap_or_default().to_vec();
            Ok(partial(Partial::WhileDo { cond, args }))
        }
        "do_while" => {
            let body = a.req(0, "loop_body", name)?;
            do_while(it, body, site)?;
            Ok(Value::None)
        }
        "break_loop" => {
            let frame = it.b.frame_id();
            let Some(l) = it.rt_loops.iter().rev().find(|l| l.frame == frame) else {
                return Err(type_err("break_loop() outside a run-time loop")
                    .with_advice("break_loop() ends the innermost @for_range / @while_do / @do_while loop; use `break` for Python loops"));
            };
            let end = l.end;
            it.emit(Instr::Jmp { target: end })?;
            Ok(Value::None)
        }
        "map_sum" | "map_sum_opt" | "map_sum_simple" => {
            let (n_loops, types) = match name {
                "map_sum" => {
                    let n = a.req(2, "n_loops", name)?;
                    let n_items = int_arg(&a.req(3, "n_items", name)?, "n_items")?;
                    let t = a.req(4, "value_types", name)?;
                    let mut ts = match &t {
                        Value::List(_) | Value::Tuple(_) => it.collect(&t)?,
                        other => vec![other.clone()],
                    };
                    if ts.len() == 1 && n_items > 1 {
                        ts = vec![ts[0].clone(); n_items as usize];
                    }
                    (n, ts)
                }
                "map_sum_opt" => {
                    let n = a.req(1, "n_loops", name)?;
                    let t = a.req(2, "types", name)?;
                    (n, it.collect(&t)?)
                }
                _ => {
                    let n = a.req(1, "n_loops", name)?;
                    let t = a.req(2, "type", name)?;
                    let size = a.req(3, "size", name)?;
                    (n, vec![Value::tuple(vec![t, size])])
                }
            };
            Ok(partial(Partial::MapSum { n_loops, types }))
        }
        "map_reduce_single" => Err(unsupported("map_reduce_single")
            .with_advice("use map_sum_opt or @for_range with MemValue accumulators")),

        // ---- branches -----------------------------------------------------------------------
        "if_" => Ok(partial(Partial::If(a.req(0, "condition", name)?))),
        "if_e" => Ok(partial(Partial::IfE(a.req(0, "condition", name)?))),
        "else_" => {
            let body = a.req(0, "body", name)?;
            else_(it, body, site)?;
            Ok(Value::None)
        }
        "if_then" => {
            let cond = a.req(0, "condition", name)?;
            let c = match cond_of(it, &cond, name)? {
                Cond::Reg(r) => r,
                Cond::Const(b) => it.load_const(RtType::Regint, b as i128, 1)?.reg,
            };
            let else_label = it.b.new_label();
            let cr = it.b.r(c)?;
            it.emit(Instr::JmpZ {
                cond: cr,
                target: else_label,
            })?;
            it.b.branch_begin();
            it.if_then.push(IfThen {
                else_label,
                end: None,
            });
            Ok(Value::None)
        }
        "else_then" => {
            let Some(top) = it.if_then.last_mut() else {
                return Err(type_err("else_then() without if_then()"));
            };
            if top.end.is_some() {
                return Err(type_err("else_then() twice for one if_then()"));
            }
            let else_label = top.else_label;
            let end = it.b.new_label();
            it.if_then.last_mut().expect("nonempty").end = Some(end);
            it.emit(Instr::Jmp { target: end })?;
            it.b.place(else_label);
            it.b.branch_else();
            Ok(Value::None)
        }
        "end_if" => {
            let Some(top) = it.if_then.pop() else {
                return Err(type_err("end_if() without if_then()"));
            };
            it.b.place(top.end.unwrap_or(top.else_label));
            it.b.branch_end();
            Ok(Value::None)
        }
        "if_else" => {
            let c = a.req(0, "condition", name)?;
            let x = a.req(1, "if_true", name)?;
            let y = a.req(2, "if_false", name)?;
            crate::types::if_else(it, c, x, y)
        }
        "cond_swap" if a.pos.len() == 3 => {
            // util.cond_swap(cond, a, b): (a, b) if cond is 0, (b, a) if it is 1.
            let c = a.pos[0].clone();
            let (x, y) = (a.pos[1].clone(), a.pos[2].clone());
            if !c.is_runtime() {
                return Ok(if it.truthy(&c)? {
                    Value::tuple(vec![y, x])
                } else {
                    Value::tuple(vec![x, y])
                });
            }
            let f = it.getattr(&c, "cond_swap")?;
            it.call(&f, Args::new(vec![x, y]), site)
        }
        "cond_swap" => {
            let x = a.req(0, "a", name)?;
            let y = a.req(1, "b", name)?;
            let c = crate::types::compare(it, x.clone(), CmpOp::Gt, y.clone())?;
            let m = crate::types::if_else(it, c.clone(), y.clone(), x.clone())?;
            let mx = crate::types::if_else(it, c, x, y)?;
            Ok(Value::tuple(vec![m, mx]))
        }

        // ---- functions ------------------------------------------------------------------------
        "function_block" | "function" | "method_block" => {
            let f = a.req(0, "function", name)?;
            if !matches!(f, Value::Func(_)) {
                return Err(type_err(format!("@{name} needs a function")));
            }
            Ok(partial(Partial::RtFunction {
                func: f,
                instances: Default::default(),
            }))
        }
        "tree_reduce" | "tree_reduce_multithread" => {
            let (f, seq) = if name == "tree_reduce" {
                (a.req(0, "function", name)?, a.req(1, "sequence", name)?)
            } else {
                (a.req(1, "function", name)?, a.req(2, "vector", name)?)
            };
            let mut items = match &seq {
                Value::Rt(r) if r.n > 1 => crate::types::iterate(it, &seq)?.into_iter().collect(),
                Value::Array(_) => crate::types::iterate(it, &seq)?,
                other => it.collect(other)?,
            };
            if items.is_empty() {
                return Err(value_err("tree_reduce of an empty sequence"));
            }
            while items.len() > 1 {
                let mut next = Vec::with_capacity(items.len() / 2 + 1);
                let mut i = 0;
                while i + 1 < items.len() {
                    next.push(it.call_pos(
                        &f,
                        vec![items[i].clone(), items[i + 1].clone()],
                        site,
                    )?);
                    i += 2;
                }
                if i < items.len() {
                    next.push(items[i].clone());
                }
                items = next;
            }
            Ok(items.pop().expect("nonempty"))
        }
        "foreach_enumerate" => {
            let l = a.req(0, "values", name)?;
            let items = it.collect(&l)?;
            let arr = array::alloc(it, RtType::Regint, vec![items.len().max(1)])?;
            let av = Value::Array(arr);
            for (i, x) in items.iter().enumerate() {
                array::set_item(it, &av, Value::int(i as i64), x.clone())?;
            }
            let n = items.len() as i64;
            Ok(partial(Partial::ForEach { arr: av, n }))
        }
        "start_timer" | "stop_timer" => {
            let id = a
                .arg(0, "timer_id")
                .map(|v| int_arg(&v, "the timer id"))
                .transpose()?
                .unwrap_or(0);
            it.emit(Instr::Timer {
                start: (name == "start_timer") as u32,
                id: id.clamp(0, u32::MAX as i64) as u32,
            })?;
            Ok(Value::None)
        }
        "break_point" => Ok(Value::None),
        "vectorize" => a.req(0, "function", name),
        "reveal" => {
            let v = a.req(0, "secret", name)?;
            let r = match &v {
                Value::Rt(r) => *r,
                Value::MemValue(m) => array::mem_read(it, m)?,
                other => return Ok(other.clone()),
            };
            Ok(Value::Rt(crate::types::reveal(it, r)?))
        }
        "int_div" => {
            let x = a.req(0, "a", name)?;
            let y = a.req(1, "b", name)?;
            let mut b = Args::new(vec![y]);
            if let Some(k) = a.arg(2, "bit_length") {
                b.pos.push(k);
            }
            let f = it.getattr(&x, "int_div")?;
            it.call(&f, b, site)
        }
        "get_random_bit" | "random_bit" | "rand" => {
            let f = crate::types::getattr(it, &Value::Type(TypeV::Sint), "get_random_bit")?;
            it.call(&f, a, site)
        }
        "get_random_int" => {
            let f = crate::types::getattr(it, &Value::Type(TypeV::Sint), "get_random_int")?;
            it.call(&f, a, site)
        }
        "regint_to_sint" => {
            let v = a.req(0, "x", name)?;
            construct(it, TypeV::Sint, Args::new(vec![v]))
        }
        "Tensor" => {
            let shape = a.req(0, "shape", name)?;
            let t = a.req(1, "value_type", name)?;
            construct(it, TypeV::MultiArray, Args::new(vec![shape, t]))
        }
        "sqrt" | "exp" | "log" | "sigmoid" | "sin" | "cos" | "tan" | "pow_fx" | "log_fx"
        | "exp2_fx" | "log2_fx" => crate::types::mpc_math(it, name, a),
        "sint_to_regint" => Err(type_err(
            "a secret cannot become a regint without revealing it",
        )),
        _ => Err(unsupported(format!("{name}()"))),
    }
}

/// Runs `body` only when the condition holds.
pub(super) fn guarded<'a>(
    it: &mut Interp<'a>,
    c: Cond,
    body: impl FnOnce(&mut Interp<'a>) -> Result<()>,
) -> Result<()> {
    match c {
        Cond::Const(false) => Ok(()),
        Cond::Const(true) => body(it),
        Cond::Reg(r) => {
            let end = it.b.new_label();
            let rr = it.b.r(r)?;
            it.emit(Instr::JmpZ {
                cond: rr,
                target: end,
            })?;
            it.b.branch_begin();
            let res = body(it);
            it.b.place(end);
            it.b.branch_end();
            res
        }
    }
}
