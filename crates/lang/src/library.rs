//! The MP-SPDZ library: printing, run-time control flow (decorators), functions, reductions,
//! client sockets, and program-level I/O.

use std::rc::Rc;

use ruff_python_ast::{CmpOp, Operator};
use ruff_text_size::TextRange;

use crate::bytecode::*;
use crate::diagnostics::{type_err, unsupported, value_err, Result};
use crate::eval::ops::{self, as_int};
use crate::eval::{Args, IfThen, Interp, PendingElse, RtLoop};
use crate::types::{array, construct};
use crate::values::*;

/// A condition: known at compile time, or a regint register.
enum Cond {
    Const(bool),
    Reg(RegRef),
}

fn cond_of<'a>(it: &mut Interp<'a>, v: &Value<'a>, what: &str) -> Result<Cond> {
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

fn int_arg(v: &Value, what: &str) -> Result<i64> {
    as_int(v).and_then(|i| i.as_i64()).ok_or_else(|| {
        type_err(format!(
            "{what} must be a compile-time int, not {}",
            v.type_name()
        ))
    })
}

fn partial<'a>(p: Partial<'a>) -> Value<'a> {
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
fn guarded<'a>(
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

fn runtime_error<'a>(it: &mut Interp<'a>, fmt: &Value<'a>, args: &[Value<'a>]) -> Result<()> {
    let mut parts = vec![PrintPart::Text(it.b.string("User exception: "))];
    parts.extend(format_parts(it, fmt, args, None)?);
    parts.push(PrintPart::Text(it.b.string("\n")));
    emit_print(it, parts, PrintTarget::Default)?;
    let text = match fmt {
        Value::Str(s) => s.0.clone(),
        other => ops::py_str(other),
    };
    let msg = it.b.string(&format!("User exception: {text}"));
    it.emit(Instr::Crash { msg })
}

/// Emits a Print instruction, merging adjacent text parts.
pub fn emit_print(it: &mut Interp, parts: Vec<PrintPart>, target: PrintTarget) -> Result<()> {
    let mut out: Vec<PrintPart> = Vec::new();
    let mut text = String::new();
    let flush = |it: &mut Interp, text: &mut String, out: &mut Vec<PrintPart>| {
        if !text.is_empty() {
            out.push(PrintPart::Text(it.b.string(text)));
            text.clear();
        }
    };
    for p in parts {
        match p {
            PrintPart::Text(s) => {
                let t = it.b.string_text(s).to_string();
                text.push_str(&t);
            }
            other => {
                flush(it, &mut text, &mut out);
                out.push(other);
            }
        }
    }
    flush(it, &mut text, &mut out);
    if out.is_empty() {
        return Ok(());
    }
    it.emit(Instr::Print { target, parts: out })
}

/// print_ln-style formatting: `%s` placeholders filled from args.
pub fn format_parts<'a>(
    it: &mut Interp<'a>,
    fmt: &Value<'a>,
    args: &[Value<'a>],
    to: Option<u32>,
) -> Result<Vec<PrintPart>> {
    let fmt = match fmt {
        Value::Str(s) => s.0.clone(),
        other if !other.is_runtime() => ops::py_str(other),
        other => {
            // print_ln(x) with a run-time value: print it.
            let mut parts = Vec::new();
            print_value(it, other, to, &mut parts)?;
            if !args.is_empty() {
                return Err(type_err(
                    "print_ln's first argument must be a format string",
                ));
            }
            return Ok(parts);
        }
    };
    let pieces: Vec<&str> = fmt.split("%s").collect();
    if pieces.len() - 1 != args.len() {
        return Err(type_err(format!(
            "incorrect number of arguments for the format string: {} '%s' but {} argument(s)",
            pieces.len() - 1,
            args.len()
        ))
        .with_advice("print_ln formats with '%s' only; give exactly one argument per '%s'"));
    }
    let mut parts = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if !piece.is_empty() {
            parts.push(PrintPart::Text(it.b.string(piece)));
        }
        if let Some(v) = args.get(i) {
            print_value(it, v, to, &mut parts)?;
        }
    }
    Ok(parts)
}

fn print_value<'a>(
    it: &mut Interp<'a>,
    v: &Value<'a>,
    to: Option<u32>,
    parts: &mut Vec<PrintPart>,
) -> Result<()> {
    match v {
        Value::Rt(r) => {
            let r = if r.ty.is_secret() {
                match to {
                    Some(p) => {
                        // print_ln_to reveals secrets to that player only.
                        let f = Value::Native(Rc::new((v.clone(), "reveal_to")));
                        let x = it.call(
                            &f,
                            Args::new(vec![Value::int(p as i64)]),
                            TextRange::default(),
                        )?;
                        let Value::Rt(x) = x else { unreachable!() };
                        x
                    }
                    None => {
                        return Err(type_err(format!(
                            "cannot print a secret value ({})",
                            r.ty.name()
                        ))
                        .with_advice("reveal it first: print_ln('%s', x.reveal())"))
                    }
                }
            } else {
                *r
            };
            let part = match r.ty {
                RtType::Cint => PrintPart::Clear(it.b.c(r.reg)?, Size(r.n)),
                RtType::Regint => PrintPart::Int(it.b.r(r.reg)?, Size(r.n)),
                RtType::Cfix { f, .. } => PrintPart::Fix {
                    reg: it.b.c(r.reg)?,
                    n: Size(r.n),
                    f,
                    precision: it.prog.float_precision,
                },
                _ => return Err(crate::diagnostics::internal("print of a secret")),
            };
            parts.push(part);
        }
        Value::MemValue(m) => {
            let r = array::mem_read(it, m)?;
            print_value(it, &Value::Rt(r), to, parts)?;
        }
        Value::Array(a) => {
            if a.elem.is_secret() && to.is_none() {
                return Err(type_err("cannot print a secret Array")
                    .with_advice("use a.reveal() or a.print_reveal_nested()"));
            }
            if a.shape.len() == 1 && !a.elem.is_secret() {
                // One vector load; the VM prints a vector as [a, b, c].
                let r = array::load_all(it, a)?;
                if r.n == 1 {
                    parts.push(PrintPart::Text(it.b.string("[")));
                }
                print_value(it, &Value::Rt(r), to, parts)?;
                if r.n == 1 {
                    parts.push(PrintPart::Text(it.b.string("]")));
                }
            } else {
                let items = crate::types::iterate(it, v)?;
                print_value(it, &Value::list(items), to, parts)?;
            }
        }
        Value::List(_) | Value::Tuple(_) => {
            let items = it.collect(v)?;
            let (open, close) = if matches!(v, Value::Tuple(_)) {
                ("(", ")")
            } else {
                ("[", "]")
            };
            parts.push(PrintPart::Text(it.b.string(open)));
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    parts.push(PrintPart::Text(it.b.string(", ")));
                }
                match x {
                    Value::Str(s) => parts.push(PrintPart::Text(it.b.string(&ops::str_repr(&s.0)))),
                    _ => print_value(it, x, to, parts)?,
                }
            }
            parts.push(PrintPart::Text(it.b.string(close)));
        }
        other => {
            let s = crate::builtins::to_str(it, other, TextRange::default())?;
            parts.push(PrintPart::Text(it.b.string(&s)));
        }
    }
    Ok(())
}

fn range_of<'a>(it: &mut Interp<'a>, n: Value<'a>) -> Result<Value<'a>> {
    if let Value::List(_) | Value::Tuple(_) = &n {
        return nested_range(it, &n);
    }
    Ok(partial(Partial::ForRange {
        start: Value::int(0),
        stop: n,
        step: Value::int(1),
    }))
}

fn nested_range<'a>(it: &mut Interp<'a>, dims: &Value<'a>) -> Result<Value<'a>> {
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

fn nested_loops<'a>(
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

fn loop_vars<'a>(it: &mut Interp<'a>, args: &[Value<'a>]) -> Result<Vec<Rt>> {
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

fn while_do<'a>(
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

fn do_while<'a>(it: &mut Interp<'a>, body: Value<'a>, site: TextRange) -> Result<()> {
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

fn else_<'a>(it: &mut Interp<'a>, body: Value<'a>, site: TextRange) -> Result<()> {
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

fn map_sum<'a>(
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

/// The shape of a function's return value, with register slots numbered.
#[derive(Clone)]
pub enum RetShape<'a> {
    Const(Value<'a>),
    Slot(usize, RtType, u32),
    List(Vec<RetShape<'a>>),
    Tuple(Vec<RetShape<'a>>),
}

fn arg_key(v: &Value) -> String {
    let mut budget = 100_000u32;
    arg_key_depth(v, 0, &mut budget)
}

fn arg_key_depth(v: &Value, depth: u32, budget: &mut u32) -> String {
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

fn call_rt_function<'a>(
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
fn param_of<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<Value<'a>> {
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

fn arg_regs<'a>(it: &mut Interp<'a>, v: &Value<'a>, out: &mut Vec<RegRef>) -> Result<()> {
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

fn ret_shape<'a>(it: &mut Interp<'a>, v: &Value<'a>, slots: &mut Vec<Rt>) -> Result<RetShape<'a>> {
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
fn encode_shape<'a>(s: &RetShape<'a>) -> Value<'a> {
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

fn decode_shape<'a>(v: &Value<'a>) -> RetShape<'a> {
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

fn shape_slots(s: &RetShape, out: &mut Vec<(RtType, u32)>) {
    match s {
        RetShape::Const(_) => {}
        RetShape::Slot(_, ty, n) => out.push((*ty, *n)),
        RetShape::List(v) | RetShape::Tuple(v) => v.iter().for_each(|x| shape_slots(x, out)),
    }
}

fn rebuild<'a>(s: &RetShape<'a>, regs: &[Rt]) -> Value<'a> {
    match s {
        RetShape::Const(v) => v.clone(),
        RetShape::Slot(i, _, _) => Value::Rt(regs[*i]),
        RetShape::List(v) => Value::list(v.iter().map(|x| rebuild(x, regs)).collect()),
        RetShape::Tuple(v) => Value::tuple(v.iter().map(|x| rebuild(x, regs)).collect()),
    }
}
