//! Attributes and methods of run-time values, of the type objects (`sint.get_input_from`, ...),
//! and of `program`.

use std::rc::Rc;

use ruff_python_ast::{CmpOp, Operator};
use ruff_text_size::TextRange;

use super::arith::{self, if_else};
use super::array::{self, load_all, mem_read, mem_write};
use super::conv::{convert, size_arg, to_type};
use crate::bytecode::*;
use crate::diagnostics::{attr_err, type_err, unsupported, value_err, Result};
use crate::eval::ops::{as_f64, as_int};
use crate::eval::{Args, Interp};
use crate::values::*;

use super::array_methods::*;
use super::classmethods::*;
use super::socket::*;

const RT_METHODS: &[&str] = &[
    "reveal",
    "reveal_to",
    "if_else",
    "cond_swap",
    "bit_decompose",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bit_not",
    "int_div",
    "int_mod",
    "inverse_permutation",
    "secure_shuffle",
    "secure_permute",
    "update",
    "iadd",
    "square",
    "less_than",
    "greater_than",
    "less_equal",
    "greater_equal",
    "equal",
    "not_equal",
    "max",
    "min",
    "sum",
    "expand_to_vector",
    "write_to_socket",
    "store_in_mem",
    "get_vector",
    "copy",
    "round",
    "pow2",
    "mod2m",
    "right_shift",
    "left_shift",
    "print_reg",
    "to_regint",
    "read",
    "write",
    "load_int",
];
const ARRAY_METHODS: &[&str] = &[
    "assign_all",
    "assign",
    "assign_vector",
    "get_vector",
    "get_part_vector",
    "get_part",
    "input_from",
    "reveal",
    "reveal_list",
    "reveal_nested",
    "print_reveal_nested",
    "sort",
    "dot",
    "dot_product",
    "total_size",
    "get_column",
    "transpose",
    "write_to_socket",
    "read_from_socket",
    "sum",
    "max",
    "min",
    "same_shape",
    "to_array",
    "get_reverse_vector",
    "reveal_to",
    "mul",
    "plain_mul",
    "assign_part_vector",
    "randomize",
    "shuffle",
    "to_row_matrix",
    "to_column_matrix",
    "get_sub",
    "direct_mul",
    "direct_mul_to_matrix",
    "direct_mul_trans",
    "direct_trans_mul",
    "mul_trans",
    "trans_mul",
    "mul_trans_to",
    "trans_mul_to",
    "schur",
    "diag",
    "trace",
    "set_column",
    "iadd",
    "secure_shuffle",
    "secure_permute",
    "concat",
    "get_range",
];
const MEM_METHODS: &[&str] = &["read", "write", "iadd", "reveal", "isub", "imul"];
const TYPE_METHODS: &[&str] = &[
    "get_input_from",
    "get_random_bit",
    "get_random_int",
    "read_from_socket",
    "write_to_socket",
    "write_shares_to_socket",
    "receive_from_client",
    "reveal_to_clients",
    "Array",
    "Matrix",
    "Tensor",
    "MultiArray",
    "inc",
    "set_precision",
    "bit_compose",
    "load_mem",
    "get_random_triple",
    "create_from",
    "_new",
    "load_int",
    "dot_product",
    "MemValue",
    "get_raw_input_from",
    "public_input",
    "conv",
    "malloc",
    "get_random",
    "set_precision_from_args",
    "hard_conv",
    "read_client_public_key",
    "init_secure_socket",
    "resp_secure_socket",
    "disable_index_checks",
    "get_secure_shuffle",
    "get_random_square",
    "get_random_inverse",
];
const PROGRAM_METHODS: &[&str] = &[
    "set_bit_length",
    "set_security",
    "use_edabit",
    "use_trunc_pr",
    "use_split",
    "use_dabit",
    "use_square",
    "set_ring_size",
    "options_from_args",
    "new_tape",
    "run_tape",
    "join_tape",
    "use_invperm",
    "protect_memory",
    "use_mulm",
    "set_output_size",
];

pub(super) fn find(list: &[&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|n| *n == name)
}

pub fn getattr<'a>(it: &mut Interp<'a>, v: &Value<'a>, name: &str) -> Result<Value<'a>> {
    let native = |n: &'static str| Value::Native(Rc::new((v.clone(), n)));
    let missing = || {
        attr_err(format!(
            "'{}' object has no attribute '{name}'",
            v.type_name()
        ))
        .with_advice("see docs/LANG.md for the supported MP-SPDZ API")
    };
    match v {
        Value::Rt(r) => match name {
            "size" => Ok(Value::int(r.n as i64)),
            "v" if r.ty.is_fix() => Ok(Value::Rt(Rt {
                ty: if r.ty.is_secret() {
                    RtType::Sint
                } else {
                    RtType::Cint
                },
                ..*r
            })),
            "f" | "k" if r.ty.is_fix() => {
                let (f, k) = r.ty.fk().expect("fix");
                Ok(Value::int(if name == "f" { f } else { k } as i64))
            }
            _ => find(RT_METHODS, name).map(native).ok_or_else(missing),
        },
        Value::Array(a) => match name {
            "length" => Ok(Value::int(a.len() as i64)),
            "sizes" | "shape" => Ok(Value::tuple(
                a.shape.iter().map(|d| Value::int(*d as i64)).collect(),
            )),
            "value_type" => Ok(Value::Type(type_of_elem(a.elem))),
            _ => find(ARRAY_METHODS, name).map(native).ok_or_else(missing),
        },
        Value::MemValue(m) => match name {
            "value_type" => Ok(Value::Type(type_of_elem(m.elem))),
            _ => find(MEM_METHODS, name).map(native).ok_or_else(missing),
        },
        Value::Type(t) => match (t, name) {
            (TypeV::Sfix | TypeV::Cfix, "f") => Ok(Value::int(if *t == TypeV::Sfix {
                it.prog.sfix_f
            } else {
                it.prog.cfix_f
            } as i64)),
            (TypeV::Sfix | TypeV::Cfix, "k") => Ok(Value::int(if *t == TypeV::Sfix {
                it.prog.sfix_k
            } else {
                it.prog.cfix_k
            } as i64)),
            (TypeV::Sfix, "round_nearest") => Ok(Value::Bool(false)),
            (_, "__name__") => Ok(Value::str(t.name())),
            (_, "basic_type") | (_, "clear_type") => Ok(Value::Type(match t {
                TypeV::Sint | TypeV::Sintbit => TypeV::Cint,
                TypeV::Sfix => TypeV::Cfix,
                other => *other,
            })),
            _ => find(TYPE_METHODS, name).map(native).ok_or_else(missing),
        },
        Value::Program => match name {
            "args" => Ok(Value::list(
                it.prog.args.iter().map(|a| Value::str(a.clone())).collect(),
            )),
            "name" => Ok(Value::str(it.prog.name.clone())),
            "bit_length" => Ok(Value::int(it.prog.bit_length as i64)),
            "security" => Ok(Value::int(it.prog.security as i64)),
            "prime" => Ok(Value::Int(Int::from_big(num_bigint::BigInt::from(
                it.prog.prime,
            )))),
            "options" => Ok(it.program_options()),
            "use_trunc_pr" | "use_edabit_flag" => Ok(Value::Bool(false)),
            _ => find(PROGRAM_METHODS, name).map(native).ok_or_else(missing),
        },
        _ => Err(missing()),
    }
}

pub(super) fn type_of_elem(t: RtType) -> TypeV {
    match t {
        RtType::Sint => TypeV::Sint,
        RtType::Sintbit => TypeV::Sintbit,
        RtType::Cint => TypeV::Cint,
        RtType::Regint => TypeV::Regint,
        RtType::Sfix { .. } => TypeV::Sfix,
        RtType::Cfix { .. } => TypeV::Cfix,
    }
}

pub fn setattr<'a>(it: &mut Interp<'a>, obj: &Value<'a>, name: &str, v: Value<'a>) -> Result<()> {
    match (obj, name) {
        (Value::Type(_), "check_indices") => {
            // Run-time index checks stay on: they are what makes out-of-range accesses errors.
            Ok(())
        }
        (Value::Type(TypeV::Sfix), "round_nearest") => {
            if it.truthy(&v)? {
                it.log.push("note: sfix.round_nearest is ignored; multiplication uses probabilistic truncation".into());
            }
            Ok(())
        }
        (
            Value::Program,
            "use_trunc_pr" | "use_edabit" | "use_split" | "use_dabit" | "use_square" | "active"
            | "verbose" | "budget" | "use_invperm" | "relevant_opts",
        ) => Ok(()),
        (Value::Program, "bit_length") => set_bit_length(it, &v),
        (Value::Program, "security") => set_security(it, &v),
        _ => Err(type_err(format!(
            "cannot set attribute '{name}' on {}",
            obj.type_name()
        ))),
    }
}

pub(super) fn set_bit_length(it: &mut Interp, v: &Value) -> Result<()> {
    let k = as_int(v)
        .and_then(|i| i.as_i64())
        .ok_or_else(|| type_err("set_bit_length needs an int"))?;
    if !(1..=126 - it.prog.security as i64 - 2).contains(&k) {
        return Err(value_err(format!(
            "bit length {k} is not supported with security {} and a 128-bit prime (need k + s + 2 <= 126)",
            it.prog.security
        )));
    }
    it.prog.bit_length = k as u32;
    Ok(())
}

pub(super) fn set_security(it: &mut Interp, v: &Value) -> Result<()> {
    let s = as_int(v)
        .and_then(|i| i.as_i64())
        .ok_or_else(|| type_err("set_security needs an int"))?;
    if !(1..=80).contains(&s) || s as u32 + it.prog.bit_length + 2 > 126 {
        return Err(value_err(format!(
            "security parameter {s} is not supported with bit length {}",
            it.prog.bit_length
        )));
    }
    it.prog.security = s as u32;
    Ok(())
}

pub(super) fn rt_of<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<Rt> {
    match v {
        Value::Rt(r) => Ok(*r),
        Value::MemValue(m) => mem_read(it, m),
        Value::Array(a) => load_all(it, a),
        other => Err(type_err(format!(
            "expected a run-time value, got {}",
            other.type_name()
        ))),
    }
}

pub fn reveal(it: &mut Interp, r: Rt) -> Result<Rt> {
    if !r.ty.is_secret() {
        return Ok(r);
    }
    let ty = match r.ty {
        RtType::Sfix { f, k } => RtType::Cfix { f, k },
        _ => RtType::Cint,
    };
    let out = it.new_rt(ty, r.n);
    let (d, s) = (it.b.c(out.reg)?, it.b.s(r.reg)?);
    it.emit(Instr::Open {
        dst: d,
        src: s,
        n: Size(r.n),
    })?;
    Ok(out)
}

pub(super) fn player_arg(v: &Value) -> Result<u32> {
    as_int(v)
        .and_then(|i| i.as_i64())
        .filter(|p| (0..1 << 16).contains(p))
        .map(|p| p as u32)
        .ok_or_else(|| {
            if v.is_runtime() {
                type_err("the player must be a compile-time int here")
            } else {
                type_err(format!("invalid player {}", crate::eval::ops::py_repr(v)))
            }
        })
}

pub fn call_method<'a>(
    it: &mut Interp<'a>,
    recv: Value<'a>,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    match &recv {
        Value::Rt(r) => rt_method(it, *r, name, a, site),
        Value::MemValue(m) => {
            let m = m.clone();
            match name {
                "read" => Ok(Value::Rt(mem_read(it, &m)?)),
                "write" => {
                    let v = a.req(0, "value", "write")?;
                    mem_write(it, &m, &v)?;
                    Ok(Value::None)
                }
                "iadd" | "isub" | "imul" => {
                    let v = a.req(0, "value", name)?;
                    let cur = Value::Rt(mem_read(it, &m)?);
                    let op = match name {
                        "iadd" => Operator::Add,
                        "isub" => Operator::Sub,
                        _ => Operator::Mult,
                    };
                    let r = it.binop(cur, op, v)?;
                    mem_write(it, &m, &r)?;
                    Ok(Value::None)
                }
                _ => {
                    let r = mem_read(it, &m)?;
                    Ok(Value::Rt(reveal(it, r)?))
                }
            }
        }
        Value::Array(arr) => array_method(it, arr.clone(), name, a, site),
        Value::Type(t) => type_method(it, *t, name, a, site),
        Value::Program => program_method(it, name, a, site),
        _ => Err(crate::diagnostics::internal("method receiver")),
    }
}

pub(super) fn rt_method<'a>(
    it: &mut Interp<'a>,
    r: Rt,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    let me = Value::Rt(r);
    let k = it.prog.bit_length;
    Ok(match name {
        "reveal" => {
            a.ignore_kw(&["check"]);
            Value::Rt(reveal(it, r)?)
        }
        "reveal_to" => {
            let p = player_arg(&a.req(0, "player", "reveal_to")?)?;
            if !r.ty.is_secret() {
                return Ok(me);
            }
            let ty = match r.ty {
                RtType::Sfix { f, k } => RtType::Cfix { f, k },
                _ => RtType::Cint,
            };
            let out = it.new_rt(ty, r.n);
            let (d, s) = (it.b.c(out.reg)?, it.b.s(r.reg)?);
            it.emit(Instr::OpenTo {
                dst: d,
                src: s,
                player: p,
                n: Size(r.n),
            })?;
            Value::Rt(out)
        }
        "if_else" => {
            let x = a.req(0, "a", "if_else")?;
            let y = a.req(1, "b", "if_else")?;
            if_else(it, me, x, y)?
        }
        "cond_swap" => {
            let x = a.req(0, "a", "cond_swap")?;
            let y = a.req(1, "b", "cond_swap")?;
            let d = it.binop(x.clone(), Operator::Sub, y.clone())?;
            let p = it.binop(me, Operator::Mult, d)?;
            let first = it.binop(x, Operator::Sub, p.clone())?;
            let second = it.binop(y, Operator::Add, p)?;
            Value::tuple(vec![first, second])
        }
        "bit_decompose" => {
            let m = match a.arg(0, "bit_length") {
                Some(Value::None) | None => k,
                Some(v) => as_int(&v)
                    .and_then(|i| i.as_i64())
                    .filter(|m| *m > 0 && *m <= 128)
                    .ok_or_else(|| {
                        value_err("bit_decompose needs a positive compile-time bit length")
                    })? as u32,
            };
            a.ignore_kw(&["security", "maybe_mixed"]);
            bit_decompose(it, r, m)?
        }
        "bit_and" | "bit_or" | "bit_xor" => {
            let o = a.req(0, "other", name)?;
            let Some(on) = it.num(&o)? else {
                return Err(type_err("bit operation needs a number"));
            };
            let op = match name {
                "bit_and" => Operator::BitAnd,
                "bit_or" => Operator::BitOr,
                _ => Operator::BitXor,
            };
            if r.ty.is_secret() || matches!(on, super::Num::Rt(x) if x.ty.is_secret()) {
                let n = r.n.max(if let super::Num::Rt(x) = on { x.n } else { 1 });
                Value::Rt(arith::bit_op(it, super::Num::Rt(r), op, on, n)?)
            } else {
                it.binop(me, op, o)?
            }
        }
        "bit_not" => {
            if r.ty.is_secret() {
                Value::Rt(arith::one_minus(it, r)?)
            } else {
                it.binop(Value::int(1), Operator::Sub, me)?
            }
        }
        "int_mod" if r.ty.is_secret() => {
            // MP-SPDZ: x.int_mod(y, bit_length) = x − y · x.int_div(y, bit_length) (the sign of y,
            // as Python's %).
            let o = a.req(0, "other", name)?;
            let mut b2 = Args::new(vec![o.clone()]);
            if let Some(bl) = a.arg(1, "bit_length") {
                b2.pos.push(bl);
            }
            let q = rt_method(it, r, "int_div", b2, site)?;
            let p = it.binop(o, Operator::Mult, q)?;
            it.binop(me, Operator::Sub, p)?
        }
        "inverse_permutation" if r.ty.is_secret() => {
            let f = crate::prelude::export(it, "internal", "_inverse_permutation")
                .ok_or_else(|| crate::diagnostics::internal("the prelude is not loaded"))?;
            it.call_pos(&f, vec![me], site)?
        }
        "secure_shuffle" | "secure_permute" if r.ty.is_secret() => {
            // MP-SPDZ: x.secure_shuffle(unit_size=1), x.secure_permute(shuffle, unit_size=1,
            // reverse=False), on vectors of units of unit_size elements.
            let (handle, unit_pos) = if name == "secure_shuffle" {
                (None, 0)
            } else {
                (Some(a.req(0, "shuffle", name)?), 1)
            };
            let unit = match a.arg(unit_pos, "unit_size") {
                None | Some(Value::None) => 1,
                Some(v) => as_int(&v)
                    .and_then(|i| i.as_i64())
                    .filter(|u| *u > 0 && r.n as i64 % *u == 0)
                    .ok_or_else(|| value_err("unit_size must divide the vector's length"))?
                    as u32,
            };
            let reverse = match a.arg(unit_pos + 1, "reverse") {
                None => false,
                Some(v) => it.truthy(&v)?,
            };
            let handle = match handle {
                Some(h) => to_type(it, &h, RtType::Regint, 1)?,
                None => gen_shuffle(it, r.n / unit)?,
            };
            Value::Rt(apply_shuffle(it, r, handle, unit, reverse)?)
        }
        "int_div" => {
            let o = a.req(0, "other", "int_div")?;
            let bl = match a.arg(1, "bit_length") {
                Some(Value::None) | None => k,
                Some(v) => as_int(&v)
                    .and_then(|i| i.as_i64())
                    .filter(|m| *m > 0 && *m <= 64)
                    .ok_or_else(|| {
                        value_err("int_div bit_length must be a compile-time int in 1..=64")
                    })? as u32,
            };
            if !r.ty.is_secret() {
                return it.binop(me, Operator::FloorDiv, o);
            }
            let n = r.n;
            let x = convert(it, r, RtType::Sint)?;
            let y = to_type(it, &o, RtType::Sint, n)?;
            let out = it.new_rt(RtType::Sint, n);
            let (d, xa, yb) = (it.b.s(out.reg)?, it.b.s(x.reg)?, it.b.s(y.reg)?);
            it.emit(Instr::IntDiv {
                dst: d,
                a: xa,
                b: yb,
                k: bl,
                n: Size(n),
            })?;
            // The kernel truncates toward zero; MP-SPDZ's int_div is floor division (its
            // fixed-point quotient is truncated with an exact signed Trunc): −17 // 5 = −4.
            // With r = x − y·q (the remainder, sign of x), floor = q − c where c = 1 when r ≠ 0
            // and r's sign differs from y's: c = [r < 0] + [y < 0]·([r > 0] − [r < 0]).
            let q = Value::Rt(out);
            let (xv, yv) = (Value::Rt(x), Value::Rt(y));
            let yq = it.binop(yv.clone(), Operator::Mult, q.clone())?;
            let r = it.binop(xv, Operator::Sub, yq)?;
            // Comparisons with the division's bit length (|r| < |y| < 2^bl), whatever the
            // program's bit length.
            let Value::Rt(rr) = r else {
                return Err(crate::diagnostics::internal("int_div remainder"));
            };
            let cmp = |it: &mut Interp<'a>, v: Rt, m: &'static str| {
                rt_method(
                    it,
                    v,
                    m,
                    Args::new(vec![Value::int(0), Value::int(i64::from(bl) + 1)]),
                    site,
                )
            };
            let rn = cmp(it, rr, "less_than")?;
            let rp = cmp(it, rr, "greater_than")?;
            let yn = cmp(it, y, "less_than")?;
            let diff = it.binop(rp, Operator::Sub, rn.clone())?;
            let t = it.binop(yn, Operator::Mult, diff)?;
            let c = it.binop(rn, Operator::Add, t)?;
            let res = it.binop(q, Operator::Sub, c)?;
            match res {
                Value::Rt(r) => Value::Rt(convert(it, r, RtType::Sint)?),
                other => other,
            }
        }
        "update" | "iadd" => {
            let v = a.req(0, "other", name)?;
            let v = if name == "iadd" {
                it.binop(me.clone(), Operator::Add, v)?
            } else {
                v
            };
            it.update_rt(r, &v)?;
            me
        }
        "read" => me,
        "load_int" if r.ty.is_fix() => {
            let v = a.req(0, "value", "load_int")?;
            it.update_rt(r, &v)?;
            me
        }
        "write" => {
            let v = a.req(0, "other", "write")?;
            it.update_rt(r, &v)?;
            me
        }
        "square" => it.binop(me.clone(), Operator::Mult, me)?,
        "less_than" | "greater_than" | "less_equal" | "greater_equal" | "equal" | "not_equal" => {
            let o = a.req(0, "other", name)?;
            let bl = a.arg(1, "bit_length");
            let op = match name {
                "less_than" => CmpOp::Lt,
                "greater_than" => CmpOp::Gt,
                "less_equal" => CmpOp::LtE,
                "greater_equal" => CmpOp::GtE,
                "equal" => CmpOp::Eq,
                _ => CmpOp::NotEq,
            };
            match bl.as_ref().and_then(as_int).and_then(|i| i.as_i64()) {
                Some(b) if r.ty.is_secret() && !r.ty.is_fix() => {
                    let Some(on) = it.num(&o)? else {
                        return Err(type_err("comparison needs a number"));
                    };
                    let n = r.n.max(if let super::Num::Rt(x) = on { x.n } else { 1 });
                    Value::Rt(arith::secret_compare(
                        it,
                        super::Num::Rt(r),
                        op,
                        on,
                        n,
                        b as u32 + 1,
                    )?)
                }
                _ => super::compare(it, me, op, o)?,
            }
        }
        "max" | "min" => {
            let o = a.req(0, "other", name)?;
            super::minmax(it, vec![me, o], name == "max")?
        }
        "sum" => {
            let out = it.new_rt(r.ty, 1);
            let (d, s) = (it.b.any(out.reg)?, it.b.any(r.reg)?);
            it.emit(Instr::VecSum {
                dst: d,
                src: s,
                chunk: r.n,
                n: Size(1),
            })?;
            Value::Rt(out)
        }
        "expand_to_vector" => {
            let n = size_arg(a.arg(0, "size"))?.unwrap_or(1);
            Value::Rt(it.fit(r, n)?)
        }
        "get_vector" | "copy" => Value::Rt(it.copy_rt(r)?),
        "to_regint" => Value::Rt(convert(it, r, RtType::Regint)?),
        "store_in_mem" => {
            let addr = as_int(&a.req(0, "address", "store_in_mem")?)
                .and_then(|i| i.as_i64())
                .filter(|x| *x >= 0)
                .ok_or_else(|| type_err("store_in_mem needs a compile-time address"))?;
            array::store(it, r, array::Addr::Static(addr as u64))?;
            Value::None
        }
        "write_to_socket" => {
            let client = a.req(0, "client_id", "write_to_socket")?;
            let mt = a
                .arg(1, "message_type")
                .and_then(|m| as_int(&m))
                .and_then(|m| m.as_i64())
                .unwrap_or(0);
            socket_write(it, sock_kind_for(r.ty, false), &client, &[r], mt)?;
            Value::None
        }
        "right_shift" | "left_shift" => {
            let m = a.req(0, "m", name)?;
            it.binop(
                me,
                if name == "right_shift" {
                    Operator::RShift
                } else {
                    Operator::LShift
                },
                m,
            )?
        }
        "mod2m" => {
            let m = as_int(&a.req(0, "m", "mod2m")?)
                .and_then(|i| i.as_i64())
                .ok_or_else(|| type_err("mod2m needs a compile-time m"))?;
            let p = crate::eval::ops::int_pow(&Int::Small(2), m.max(0) as u64)?;
            it.binop(me, Operator::Mod, Value::Int(p))?
        }
        "round" if r.ty.is_secret() && !r.ty.is_fix() => {
            // x.round(k, m, nearest=..., signed=...): truncation by m bits.
            let k = as_int(&a.req(0, "k", "round")?)
                .and_then(|i| i.as_i64())
                .ok_or_else(|| type_err("round needs a compile-time k"))?;
            let m = as_int(&a.req(1, "m", "round")?)
                .and_then(|i| i.as_i64())
                .ok_or_else(|| type_err("round needs a compile-time m"))?;
            let nearest = match a.take_kw("nearest") {
                Some(v) => it.truthy(&v)?,
                None => false,
            };
            a.ignore_kw(&["signed", "kappa"]);
            if !(1..=120).contains(&k) || m < 0 || m > k {
                return Err(value_err(format!("round: bad k={k}, m={m}")));
            }
            let out = it.new_rt(RtType::Sint, r.n);
            let x = if nearest {
                arith::add_si(it, r, 1i128 << (m.max(1) - 1))?
            } else {
                r
            };
            let (d, s) = (it.b.s(out.reg)?, it.b.s(x.reg)?);
            it.emit(if nearest {
                Instr::Trunc {
                    dst: d,
                    src: s,
                    k: k as u32 + 1,
                    m: m as u32,
                    n: Size(r.n),
                }
            } else {
                Instr::TruncPr {
                    dst: d,
                    src: s,
                    k: k as u32,
                    m: m as u32,
                    n: Size(r.n),
                }
            })?;
            Value::Rt(out)
        }
        "pow2" | "round" | "print_reg" => {
            return Err(unsupported(format!("{}.{name}()", r.ty.name())))
        }
        _ => {
            let _ = site;
            return Err(crate::diagnostics::internal(format!("rt method {name}")));
        }
    })
}

/// Bits of a value, least significant first.
pub fn bit_decompose<'a>(it: &mut Interp<'a>, r: Rt, m: u32) -> Result<Value<'a>> {
    if r.ty.is_fix() {
        return Err(type_err(
            "bit_decompose on fixed-point values; use .v.bit_decompose()",
        ));
    }
    if r.ty.is_secret() {
        let k = it.prog.bit_length.max(m);
        let mut dsts = Vec::new();
        let mut regs = Vec::new();
        for _ in 0..m {
            let o = it.new_rt(RtType::Sintbit, r.n);
            dsts.push(it.b.s(o.reg)?);
            regs.push(o);
        }
        let s = it.b.s(r.reg)?;
        it.emit(Instr::BitDec {
            dsts,
            src: s,
            k,
            n: Size(r.n),
        })?;
        return Ok(Value::list(regs.into_iter().map(Value::Rt).collect()));
    }
    // Public values: (x >> i) & 1.
    let mut out = Vec::new();
    for i in 0..m {
        let sh = it.binop(Value::Rt(r), Operator::RShift, Value::int(i as i64))?;
        out.push(it.binop(sh, Operator::BitAnd, Value::int(1))?);
    }
    Ok(Value::list(out))
}

pub(super) fn program_method<'a>(
    it: &mut Interp<'a>,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    Ok(match name {
        "set_bit_length" => {
            set_bit_length(it, &a.req(0, "bit_length", name)?)?;
            Value::None
        }
        "set_security" => {
            set_security(it, &a.req(0, "security", name)?)?;
            Value::None
        }
        "set_ring_size" => {
            return Err(unsupported(
                "program.set_ring_size: this engine computes modulo a prime",
            ))
        }
        "new_tape" => {
            // Threads run on one thread: a tape is just its function.
            let f = a.req(0, "function", name)?;
            it.tapes.push(f);
            Value::int(it.tapes.len() as i64 - 1)
        }
        "run_tape" => {
            let t = as_int(&a.req(0, "tape", name)?)
                .and_then(|i| i.as_i64())
                .unwrap_or(-1);
            let f = it
                .tapes
                .get(t as usize)
                .cloned()
                .ok_or_else(|| value_err("run_tape: unknown tape"))?;
            let arg = a
                .arg(1, "arg")
                .and_then(|v| as_int(&v))
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            it.tape_args.push(arg);
            let r = it.call_pos(&f, vec![], site);
            it.tape_args.pop();
            r?;
            Value::int(t)
        }
        _ => Value::None,
    })
}

pub fn mpc_math<'a>(it: &mut Interp<'a>, name: &'static str, mut a: Args<'a>) -> Result<Value<'a>> {
    if name == "p_eval" {
        // p_eval(coefficients, x): the polynomial Σ c_i x^i (Horner).
        let pc = a.req(0, "p_c", name)?;
        let x = a.req(1, "x", name)?;
        let coeffs = it.collect(&pc)?;
        let Some((last, rest)) = coeffs.split_last() else {
            return Ok(Value::int(0));
        };
        let mut acc = last.clone();
        for c in rest.iter().rev() {
            acc = it.binop(acc, Operator::Mult, x.clone())?;
            acc = it.binop(acc, Operator::Add, c.clone())?;
        }
        return Ok(acc);
    }
    let x = a.req(0, "x", name)?;
    if name == "trunc" {
        // mpc_math.trunc: floor of a fixed-point value as an integer (sint/cint); others as is.
        return match &x {
            Value::Rt(r) if r.ty.is_fix() => {
                let (f, k) = r.ty.fk().expect("fix");
                if r.ty.is_secret() {
                    let out = it.new_rt(RtType::Sint, r.n);
                    let (d, s) = (it.b.s(out.reg)?, it.b.s(r.reg)?);
                    it.emit(Instr::Trunc {
                        dst: d,
                        src: s,
                        k,
                        m: f,
                        n: Size(r.n),
                    })?;
                    Ok(Value::Rt(out))
                } else {
                    let v = Value::Rt(Rt {
                        ty: RtType::Cint,
                        ..*r
                    });
                    it.binop(v, Operator::RShift, Value::int(f as i64))
                }
            }
            Value::Float(v) => Ok(Value::int(v.floor() as i64)),
            other => Ok(other.clone()),
        };
    }
    if let Some(f) = as_f64(&x) {
        let y = a.arg(1, "y").and_then(|v| as_f64(&v));
        return Ok(Value::Float(match name {
            "sqrt" => f.sqrt(),
            "exp" | "exp2_fx" if name == "exp" => f.exp(),
            "exp2_fx" => f.exp2(),
            "log" | "log_fx" => match y {
                Some(b) => f.ln() / b.ln(),
                None => f.ln(),
            },
            "log2_fx" => f.log2(),
            "sigmoid" => 1.0 / (1.0 + (-f).exp()),
            "sin" => f.sin(),
            "cos" => f.cos(),
            "tan" => f.tan(),
            "atan" => f.atan(),
            "asin" => f.asin(),
            "acos" => f.acos(),
            "tanh" => f.tanh(),
            "abs_fx" => f.abs(),
            "floor_fx" => f.floor(),
            "pow_fx" => f.powf(y.unwrap_or(1.0)),
            "InvertSqrt" => 1.0 / f.sqrt(),
            _ => return Err(unsupported(format!("mpc_math.{name}"))),
        }));
    }
    match name {
        "abs_fx" => super::abs(it, x),
        "floor_fx" => {
            let r = match &x {
                Value::Rt(r) if r.ty.is_fix() => *r,
                _ => return Err(type_err("floor_fx needs a fixed-point value")),
            };
            let (f, k) = r.ty.fk().expect("fix");
            if !r.ty.is_secret() {
                return Err(unsupported("floor_fx on cfix"));
            }
            let out = it.new_rt(RtType::Sint, r.n);
            let (d, s) = (it.b.s(out.reg)?, it.b.s(r.reg)?);
            it.emit(Instr::Trunc {
                dst: d,
                src: s,
                k,
                m: f,
                n: Size(r.n),
            })?;
            let v = arith::mul_si(it, out, 1i128 << f)?;
            Ok(Value::Rt(Rt { ty: r.ty, ..v }))
        }
        _ => {
            let y = a.arg(1, "y");
            match super::mathfx::call(it, name, &x, y.as_ref())? {
                Some(v) => Ok(v),
                None => Err(unsupported(format!("mpc_math.{name} on run-time values"))
                    .with_advice("supported at run time: exp, exp2_fx, log, log2_fx, log_fx, sqrt, InvertSqrt, pow_fx, sigmoid, tanh, sin, cos, tan, atan, asin, acos, abs_fx, floor_fx")),
            }
        }
    }
}

/// A fresh secure shuffle of `units` units (`sint.get_secure_shuffle`): a regint handle.
pub(super) fn gen_shuffle(it: &mut Interp, units: u32) -> Result<Rt> {
    let out = it.new_rt(RtType::Regint, 1);
    let d = it.b.r(out.reg)?;
    it.emit(Instr::GenShuffle { dst: d, units })?;
    Ok(out)
}

/// `x` permuted by the shuffle `handle` (or its inverse), in units of `unit` elements.
pub(super) fn apply_shuffle(
    it: &mut Interp,
    x: Rt,
    handle: Rt,
    unit: u32,
    reverse: bool,
) -> Result<Rt> {
    if !x.ty.is_secret() {
        return Err(type_err("secure_permute needs secret values"));
    }
    let out = it.new_rt(x.ty, x.n);
    let (d, s, h) = (it.b.s(out.reg)?, it.b.s(x.reg)?, it.b.r(handle.reg)?);
    it.emit(Instr::ApplyShuffle {
        dst: d,
        src: s,
        handle: h,
        unit,
        reverse: reverse as u32,
        n: Size(x.n),
    })?;
    Ok(out)
}
