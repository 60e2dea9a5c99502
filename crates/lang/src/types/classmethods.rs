//! Class methods of the type objects (`sint.get_input_from`, `sfix.set_precision`, ...).

use std::rc::Rc;

use ruff_python_ast::Operator;
use ruff_text_size::TextRange;

use super::arith::{self};
use super::array::{self, load_all};
use super::conv::{convert, elem_type, size_arg, to_type};
use super::methods::*;
use super::socket::*;
use crate::bytecode::*;
use crate::diagnostics::{attr_err, type_err, unsupported, value_err, Result};
use crate::eval::ops::as_int;
use crate::eval::{Args, Interp};
use crate::values::*;

pub(super) fn type_method<'a>(
    it: &mut Interp<'a>,
    t: TypeV,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    let tv = Value::Type(t);
    match name {
        "Array" | "Matrix" | "Tensor" | "MultiArray" => {
            let ty = elem_type(it, &tv)?;
            let shape: Vec<Value<'a>> = match name {
                "Array" => vec![a.req(0, "size", "Array")?],
                "Matrix" => vec![a.req(0, "rows", "Matrix")?, a.req(1, "columns", "Matrix")?],
                _ => {
                    let s = a.req(0, "shape", name)?;
                    it.collect(&s)?
                }
            };
            a.ignore_kw(&["address"]);
            let mut dims = Vec::new();
            for d in &shape {
                dims.push(super::conv::dim(d)?);
            }
            if dims.is_empty() {
                return Err(value_err("an array needs at least one dimension"));
            }
            let _ = ty;
            return Ok(Value::Array(array::alloc(it, ty, dims)?));
        }
        "MemValue" => {
            let v = a.arg(0, "value").unwrap_or(tv.clone());
            return super::construct(it, TypeV::MemValue, Args::new(vec![v]));
        }
        "create_from" => {
            let v = a.req(0, "value", "create_from")?;
            // Shape from the nesting of lists; element type from the first element.
            let mut shape = Vec::new();
            let mut flat = Vec::new();
            flatten(it, &v, 0, &mut shape, &mut flat)?;
            if flat.is_empty() {
                return Err(value_err("create_from needs values"));
            }
            if t == TypeV::Matrix && shape.len() != 2 {
                return Err(value_err("Matrix.create_from needs a list of rows"));
            }
            let ty = match (&flat[0], t) {
                (Value::Rt(r), TypeV::Array | TypeV::Matrix | TypeV::MultiArray) => r.ty,
                (Value::Float(_), TypeV::Array | TypeV::Matrix | TypeV::MultiArray) => {
                    it.default_cfix()
                }
                (_, TypeV::Array | TypeV::Matrix | TypeV::MultiArray) => RtType::Regint,
                _ => elem_type(it, &tv)?,
            };
            let arr = array::alloc(it, ty, shape)?;
            let mut parts = Vec::new();
            for x in &flat {
                parts.push(to_type(it, x, ty, 1)?);
            }
            let r = it.vec_concat(&parts)?;
            let at = array::addr(it, &arr, 0)?;
            array::store(it, r, at)?;
            return Ok(Value::Array(arr));
        }
        "disable_index_checks" => return Ok(Value::None),
        "set_precision_from_args" => {
            // Program arguments like f32 / k64 set the precision (as MP-SPDZ).
            let (mut f, mut k) = (None, None);
            for arg in it.prog.args.iter().skip(1) {
                if let Some(x) = arg.strip_prefix('f').and_then(|x| x.parse::<i64>().ok()) {
                    f = Some(x);
                }
                if let Some(x) = arg.strip_prefix('k').and_then(|x| x.parse::<i64>().ok()) {
                    k = Some(x);
                }
            }
            if let Some(f) = f {
                let mut b = Args::new(vec![Value::int(f)]);
                if let Some(k) = k {
                    b.pos.push(Value::int(k));
                }
                return type_method(it, t, "set_precision", b, site);
            }
            return Ok(Value::None);
        }
        "set_precision" => {
            let f = as_int(&a.req(0, "f", "set_precision")?)
                .and_then(|i| i.as_i64())
                .ok_or_else(|| type_err("set_precision needs ints"))?;
            let k = match a.arg(1, "k") {
                // MP-SPDZ: k defaults to twice f.
                None | Some(Value::None) => 2 * f,
                Some(v) => as_int(&v)
                    .and_then(|i| i.as_i64())
                    .ok_or_else(|| type_err("set_precision needs ints"))?,
            };
            if f <= 0 || k <= f || k + f + it.prog.security as i64 + 2 > 126 {
                return Err(value_err(format!("unsupported fixed-point precision f={f}, k={k} (need 0 < f < k and k + f + security + 2 <= 126)")));
            }
            if t == TypeV::Sfix {
                it.prog.sfix_f = f as u32;
                it.prog.sfix_k = k as u32;
            }
            // MP-SPDZ keeps cfix in step with sfix.
            it.prog.cfix_f = f as u32;
            it.prog.cfix_k = k as u32;
            return Ok(Value::None);
        }
        _ => {}
    }
    let ty = elem_type(it, &tv).map_err(|_| {
        attr_err(format!(
            "type object '{}' has no attribute '{name}'",
            t.name()
        ))
    })?;
    Ok(match name {
        "get_input_from" | "get_raw_input_from" => {
            let p = player_arg(&a.req(0, "player", name)?)?;
            let n = size_arg(a.take_kw("size"))?.unwrap_or(1);
            a.ignore_kw(&["binary"]);
            if !ty.is_secret() {
                return Err(type_err(format!(
                    "{}.get_input_from: private input needs a secret type (sint, sfix)",
                    t.name()
                )));
            }
            let f = ty.fk().map(|(f, _)| f).unwrap_or(0);
            let out = it.new_rt(ty, n);
            let d = it.b.s(out.reg)?;
            it.emit(Instr::Input {
                dst: d,
                player: p,
                f,
                n: Size(n),
            })?;
            Value::Rt(out)
        }
        "get_random_bit" | "get_random_int" => {
            if !matches!(t, TypeV::Sint | TypeV::Sintbit) {
                return Err(unsupported(format!("{}.{name}", t.name())));
            }
            let n = size_arg(a.take_kw("size"))?.unwrap_or(1);
            if name == "get_random_bit" {
                let out = it.new_rt(RtType::Sintbit, n);
                let d = it.b.s(out.reg)?;
                it.emit(Instr::RandBit { dst: d, n: Size(n) })?;
                Value::Rt(out)
            } else {
                let bits = as_int(&a.req(0, "bits", name)?)
                    .and_then(|i| i.as_i64())
                    .filter(|b| *b > 0 && *b <= 120)
                    .ok_or_else(|| {
                        value_err("get_random_int needs a compile-time bit count in 1..=120")
                    })?;
                let out = it.new_rt(RtType::Sint, n);
                let d = it.b.s(out.reg)?;
                it.emit(Instr::RandInt {
                    dst: d,
                    bits: bits as u32,
                    n: Size(n),
                })?;
                Value::Rt(out)
            }
        }
        "get_random" => {
            // A uniformly random field element: the first component of a triple.
            let n = size_arg(a.take_kw("size"))?.unwrap_or(1);
            if !ty.is_secret() {
                return Err(unsupported(format!(
                    "{}.get_random: public randomness",
                    t.name()
                )));
            }
            let (x, y, z) = (
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
            );
            let (xa, yb, zc) = (it.b.s(x.reg)?, it.b.s(y.reg)?, it.b.s(z.reg)?);
            it.emit(Instr::Triple {
                a: xa,
                b: yb,
                c: zc,
                n: Size(n),
            })?;
            Value::Rt(x)
        }
        "hard_conv" => {
            let v = a.req(0, "value", "hard_conv")?;
            Value::Rt(to_type(it, &v, ty, 1)?)
        }
        "get_random_triple" => {
            let n = size_arg(a.take_kw("size"))?.unwrap_or(1);
            let (x, y, z) = (
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
            );
            let (xa, yb, zc) = (it.b.s(x.reg)?, it.b.s(y.reg)?, it.b.s(z.reg)?);
            it.emit(Instr::Triple {
                a: xa,
                b: yb,
                c: zc,
                n: Size(n),
            })?;
            Value::tuple(vec![Value::Rt(x), Value::Rt(y), Value::Rt(z)])
        }
        "get_random_square" | "get_random_inverse" => {
            // MP-SPDZ's preprocessing pairs: (r, r²) and (r, 1/r), from a random triple's r
            // (the second needs r ≠ 0: a random element of the 128-bit field is 0 with
            // probability 2^-127).
            let n = size_arg(a.take_kw("size"))?.unwrap_or(1);
            let (x, y, z) = (
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
            );
            let (xa, yb, zc) = (it.b.s(x.reg)?, it.b.s(y.reg)?, it.b.s(z.reg)?);
            it.emit(Instr::Triple {
                a: xa,
                b: yb,
                c: zc,
                n: Size(n),
            })?;
            if name == "get_random_square" {
                let sq = it.binop(Value::Rt(x), Operator::Mult, Value::Rt(x))?;
                Value::tuple(vec![Value::Rt(x), sq])
            } else {
                // 1/r = b / (r·b), with r·b (= c) opened: uniformly random, reveals nothing.
                let c = reveal(it, z)?;
                let one = it.load_const(RtType::Cint, 1, n)?;
                let ci = it.new_rt(RtType::Cint, n);
                let (d, o, cc) = (it.b.c(ci.reg)?, it.b.c(one.reg)?, it.b.c(c.reg)?);
                it.emit(Instr::ClearBin {
                    op: ClearOp::Div,
                    dst: d,
                    a: o,
                    b: cc,
                    n: Size(n),
                })?;
                let inv = it.binop(Value::Rt(y), Operator::Mult, Value::Rt(ci))?;
                Value::tuple(vec![Value::Rt(x), inv])
            }
        }
        "read_from_socket" => {
            let client = a.req(0, "client_id", "read_from_socket")?;
            let count = match a.arg(1, "n") {
                None => 1,
                Some(v) => as_int(&v)
                    .and_then(|i| i.as_i64())
                    .filter(|n| (1..=1 << 20).contains(n))
                    .ok_or_else(|| {
                        value_err("read_from_socket: n must be a compile-time int in 1..=2^20")
                    })? as usize,
            };
            let size = size_arg(a.take_kw("size"))?.unwrap_or(1);
            a.ignore_kw(&["message_type"]);
            let kind = sock_kind_for(ty, false);
            let outs = socket_read(it, kind, ty, &client, count, size)?;
            if count == 1 {
                Value::Rt(outs[0])
            } else {
                Value::list(outs.into_iter().map(Value::Rt).collect())
            }
        }
        "write_to_socket" | "write_shares_to_socket" => {
            let client = a.req(0, "client_id", name)?;
            let vals = a.req(1, "values", name)?;
            let mt = a
                .take_kw("message_type")
                .or_else(|| a.pos.get(2).cloned())
                .and_then(|m| as_int(&m))
                .and_then(|m| m.as_i64())
                .unwrap_or(0);
            a.ignore_kw(&["include_macs"]);
            let rts = values_of(it, &vals, ty)?;
            let kind = sock_kind_for(ty, name == "write_shares_to_socket");
            socket_write(it, kind, &client, &rts, mt)?;
            Value::None
        }
        "receive_from_client" => {
            if !matches!(t, TypeV::Sint | TypeV::Sfix) {
                return Err(unsupported(format!("{}.receive_from_client", t.name())));
            }
            let n = as_int(&a.req(0, "n", "receive_from_client")?)
                .and_then(|i| i.as_i64())
                .filter(|n| (1..=1 << 20).contains(n))
                .ok_or_else(|| value_err("receive_from_client: n must be a compile-time int"))?
                as u32;
            let client = a.req(1, "client_id", "receive_from_client")?;
            let mt = a
                .take_kw("message_type")
                .or_else(|| a.pos.get(2).cloned())
                .and_then(|m| as_int(&m))
                .and_then(|m| m.as_i64())
                .unwrap_or(0);
            // Triples (a, b, c) as shares; the client checks ab = c and sends x + a.
            let (x, y, z) = (
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
            );
            let (xa, yb, zc) = (it.b.s(x.reg)?, it.b.s(y.reg)?, it.b.s(z.reg)?);
            it.emit(Instr::Triple {
                a: xa,
                b: yb,
                c: zc,
                n: Size(n),
            })?;
            socket_write(it, SockKind::SecretShare, &client, &[x, y, z], mt)?;
            let masked = socket_read(it, SockKind::Clear, RtType::Cint, &client, 1, n)?[0];
            let out = it.new_rt(RtType::Sint, n);
            let (d, c, s) = (it.b.s(out.reg)?, it.b.c(masked.reg)?, it.b.s(x.reg)?);
            it.emit(Instr::SubCS {
                dst: d,
                a: c,
                b: s,
                n: Size(n),
            })?;
            let out = Rt {
                ty: if t == TypeV::Sfix { ty } else { RtType::Sint },
                ..out
            };
            let mut vals = Vec::new();
            for i in 0..n {
                vals.push(Value::Rt(it.vec_slice(out, i, 1)?));
            }
            Value::list(vals)
        }
        "reveal_to_clients" => {
            let clients = a.req(0, "clients", "reveal_to_clients")?;
            let vals = a.req(1, "values", "reveal_to_clients")?;
            let rts = values_of(it, &vals, if t == TypeV::Sfix { ty } else { RtType::Sint })?;
            let v = it.vec_concat(
                &rts.iter()
                    .map(|r| Rt {
                        ty: RtType::Sint,
                        ..*r
                    })
                    .collect::<Vec<_>>(),
            )?;
            let n = v.n;
            // (v, r, v*r) per value, r the first component of a fresh triple.
            let (x, y, z) = (
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
                it.new_rt(RtType::Sint, n),
            );
            let (xa, yb, zc) = (it.b.s(x.reg)?, it.b.s(y.reg)?, it.b.s(z.reg)?);
            it.emit(Instr::Triple {
                a: xa,
                b: yb,
                c: zc,
                n: Size(n),
            })?;
            let vr =
                arith::secret_binop(it, super::Num::Rt(v), Operator::Mult, super::Num::Rt(x), n)?;
            match &clients {
                // A client Array with a run-time length: a run-time loop over the clients.
                Value::Array(arr) if arr.dyn_len.is_some() => {
                    let len = arr.dyn_len.expect("checked");
                    let full = Value::Array(Rc::new(ArrayV {
                        dyn_len: None,
                        ..(**arr).clone()
                    }));
                    let stop = Value::Rt(Rt {
                        ty: RtType::Regint,
                        reg: len,
                        n: 1,
                    });
                    crate::library::for_range(
                        it,
                        Value::int(0),
                        stop,
                        Value::int(1),
                        &mut |it, i| {
                            let c = it.get_item(&full, &i)?;
                            socket_write(it, SockKind::SecretShare, &c, &[v, x, vr], 0)
                        },
                    )?;
                }
                _ => {
                    for c in it.collect(&clients)? {
                        socket_write(it, SockKind::SecretShare, &c, &[v, x, vr], 0)?;
                    }
                }
            }
            Value::None
        }
        "inc" => {
            if t != TypeV::Regint {
                return Err(unsupported(format!("{}.inc", t.name())));
            }
            let n =
                size_arg(a.arg(0, "size"))?.ok_or_else(|| type_err("regint.inc needs a size"))?;
            let geti = |v: Option<Value>, d: i64| -> Result<i64> {
                match v {
                    None | Some(Value::None) => Ok(d),
                    Some(v) => as_int(&v)
                        .and_then(|i| i.as_i64())
                        .ok_or_else(|| type_err("regint.inc arguments must be compile-time ints")),
                }
            };
            // A base or step known only at run time (a regint or cint, as MP-SPDZ allows):
            // the sequence is computed with base 0 / step 1 and then scaled and shifted.
            let is_rt = |v: &Option<Value>| matches!(v, Some(Value::Rt(_)) | Some(Value::MemValue(_)));
            let (base_v, step_v) = (a.arg(1, "base"), a.arg(2, "step"));
            let rt_base = if is_rt(&base_v) { base_v.clone() } else { None };
            let rt_step = if is_rt(&step_v) { step_v.clone() } else { None };
            let base = if rt_base.is_some() { 0 } else { geti(base_v, 0)? };
            let step = if rt_step.is_some() { 1 } else { geti(step_v, 1)? };
            let repeat = geti(a.arg(3, "repeat"), 1)?.max(1) as u32;
            let wrap = geti(a.arg(4, "wrap"), 0)?.max(0) as u32;
            let out = it.new_rt(RtType::Regint, n);
            let d = it.b.r(out.reg)?;
            it.emit(Instr::IncR {
                dst: d,
                base,
                step,
                repeat,
                wrap,
                n: Size(n),
            })?;
            let mut v = Value::Rt(out);
            for (x, op) in [(rt_step, Operator::Mult), (rt_base, Operator::Add)] {
                if let Some(x) = x {
                    let x = match x {
                        Value::Rt(r) if r.ty.is_secret() => {
                            return Err(type_err("regint.inc needs a public base and step"));
                        }
                        Value::Rt(r) if r.ty != RtType::Regint => {
                            Value::Rt(convert(it, r, RtType::Regint)?)
                        }
                        Value::MemValue(m) => {
                            let r = array::mem_read(it, &m)?;
                            Value::Rt(convert(it, r, RtType::Regint)?)
                        }
                        other => other,
                    };
                    v = it.binop(v, op, x)?;
                }
            }
            v
        }
        "bit_compose" => {
            let bits = a.req(0, "bits", "bit_compose")?;
            let items = it.collect(&bits)?;
            let mut acc = Value::int(0);
            for (i, b) in items.into_iter().enumerate() {
                let p = crate::eval::ops::int_pow(&Int::Small(2), i as u64)?;
                let term = it.binop(b, Operator::Mult, Value::Int(p))?;
                acc = it.binop(acc, Operator::Add, term)?;
            }
            let r = to_type(it, &acc, ty, 1)?;
            Value::Rt(r)
        }
        "get_secure_shuffle" => {
            if !ty.is_secret() {
                return Err(type_err("get_secure_shuffle is a method of secret types (sint, sfix)"));
            }
            let n = as_int(&a.req(0, "n", name)?)
                .and_then(|i| i.as_i64())
                .filter(|n| *n >= 0 && *n <= 1 << 20)
                .ok_or_else(|| {
                    type_err("get_secure_shuffle(n) needs a compile-time number of units (at most 2^20)")
                })?;
            Value::Rt(super::methods::gen_shuffle(it, n as u32)?)
        }
        "load_mem" => {
            let addr = as_int(&a.req(0, "address", "load_mem")?)
                .and_then(|i| i.as_i64())
                .filter(|x| *x >= 0)
                .ok_or_else(|| type_err("load_mem needs a compile-time address"))?;
            let n = size_arg(a.take_kw("size"))?.unwrap_or(1);
            Value::Rt(array::load(it, ty, array::Addr::Static(addr as u64), n)?)
        }
        "_new" => {
            let v = a.req(0, "value", "_new")?;
            let r = rt_of(it, &v)?;
            Value::Rt(Rt { ty, ..r })
        }
        "load_int" | "conv" => {
            let v = a.req(0, "value", name)?;
            Value::Rt(to_type(it, &v, ty, 1)?)
        }
        "dot_product" => {
            let x = a.req(0, "x", "dot_product")?;
            let y = a.req(1, "y", "dot_product")?;
            dot(it, &x, &y)?
        }
        "public_input" => crate::library::call(it, "public_input", a, site)?,
        "read_client_public_key" | "init_secure_socket" | "resp_secure_socket" => {
            return Err(unsupported(format!("{}.{name}: VM-controlled encryption", t.name()))
                .with_advice("client connections are secured by the host (TLS); read and write values with read_from_socket/write_to_socket"))
        }
        _ => return Err(unsupported(format!("{}.{name}", t.name()))),
    })
}

/// Flattens nested lists (or a vector) into elements, recording the shape.
pub(super) fn flatten<'a>(
    it: &mut Interp<'a>,
    v: &Value<'a>,
    depth: usize,
    shape: &mut Vec<usize>,
    out: &mut Vec<Value<'a>>,
) -> Result<()> {
    let items = match v {
        Value::List(_) | Value::Tuple(_) => it.collect(v)?,
        Value::Rt(r) if r.n > 1 => super::iterate(it, v)?,
        Value::Array(a) => {
            let r = load_all(it, a)?;
            super::iterate(it, &Value::Rt(r))?
        }
        other => {
            if depth == 0 {
                return Err(type_err(format!(
                    "create_from needs a list, not {}",
                    other.type_name()
                )));
            }
            out.push(other.clone());
            return Ok(());
        }
    };
    match shape.get(depth) {
        None => shape.push(items.len()),
        Some(&n) if n != items.len() => {
            return Err(value_err("create_from needs rows of equal length"))
        }
        _ => {}
    }
    for x in &items {
        flatten(it, x, depth + 1, shape, out)?;
    }
    Ok(())
}

pub(super) fn dot<'a>(it: &mut Interp<'a>, x: &Value<'a>, y: &Value<'a>) -> Result<Value<'a>> {
    let vx = match x {
        Value::List(_) | Value::Tuple(_) => {
            let items = it.collect(x)?;
            let mut acc = Value::int(0);
            let ys = it.collect(y)?;
            for (p, q) in items.into_iter().zip(ys) {
                let m = it.binop(p, Operator::Mult, q)?;
                acc = it.binop(acc, Operator::Add, m)?;
            }
            return Ok(acc);
        }
        other => rt_of(it, other)?,
    };
    let vy = rt_of(it, y)?;
    if vx.n != vy.n {
        return Err(value_err(format!(
            "dot product of vectors of sizes {} and {}",
            vx.n, vy.n
        )));
    }
    let p = it.binop(Value::Rt(vx), Operator::Mult, Value::Rt(vy))?;
    let Value::Rt(p) = p else { unreachable!() };
    let out = it.new_rt(p.ty, 1);
    let (d, s) = (it.b.any(out.reg)?, it.b.any(p.reg)?);
    it.emit(Instr::VecSum {
        dst: d,
        src: s,
        chunk: p.n,
        n: Size(1),
    })?;
    Ok(Value::Rt(out))
}
