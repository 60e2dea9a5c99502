//! Attributes and methods of run-time values, of the type objects (`sint.get_input_from`, ...),
//! and of `program`.

use std::rc::Rc;

use ruff_python_ast::{CmpOp, Operator};
use ruff_text_size::TextRange;

use super::arith::{self, if_else};
use super::array::{self, load_all, mem_read, mem_write};
use super::conv::{convert, elem_type, size_arg, to_type};
use crate::bytecode::*;
use crate::diagnostics::{attr_err, type_err, unsupported, value_err, Result};
use crate::eval::ops::{as_f64, as_int};
use crate::eval::{Args, Interp};
use crate::values::*;

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

fn find(list: &[&'static str], name: &str) -> Option<&'static str> {
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
            "options" | "use_trunc_pr" | "use_edabit_flag" => Ok(Value::Bool(false)),
            _ => find(PROGRAM_METHODS, name).map(native).ok_or_else(missing),
        },
        _ => Err(missing()),
    }
}

fn type_of_elem(t: RtType) -> TypeV {
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

fn set_bit_length(it: &mut Interp, v: &Value) -> Result<()> {
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

fn set_security(it: &mut Interp, v: &Value) -> Result<()> {
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

fn rt_of<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<Rt> {
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

fn player_arg(v: &Value) -> Result<u32> {
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

fn rt_method<'a>(
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
            Value::Rt(out)
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

fn sock_kind_for(t: RtType, shares_only: bool) -> SockKind {
    match t.kind() {
        RegKind::Secret if shares_only => SockKind::SecretShare,
        RegKind::Secret => SockKind::SecretWithMac,
        RegKind::Clear => SockKind::Clear,
        RegKind::Int => SockKind::Int,
    }
}

fn client_reg<'a>(it: &mut Interp<'a>, client: &Value<'a>) -> Result<RegRef> {
    let r = to_type(it, client, RtType::Regint, 1)?;
    Ok(r.reg)
}

pub fn socket_write<'a>(
    it: &mut Interp<'a>,
    kind: SockKind,
    client: &Value<'a>,
    vals: &[Rt],
    msg_type: i64,
) -> Result<()> {
    if vals.is_empty() {
        return Ok(());
    }
    let n = vals[0].n;
    if vals.iter().any(|v| v.n != n) {
        return Err(type_err(
            "all values written in one socket message must have the same vector size",
        ));
    }
    let c = client_reg(it, client)?;
    let mut srcs = Vec::new();
    for v in vals {
        srcs.push(it.b.any(v.reg)?);
    }
    let cr = it.b.r(c)?;
    it.emit(Instr::SockWrite {
        kind,
        client: cr,
        msg_type,
        srcs,
        n: Size(n),
    })
}

pub fn socket_read<'a>(
    it: &mut Interp<'a>,
    kind: SockKind,
    ty: RtType,
    client: &Value<'a>,
    count: usize,
    size: u32,
) -> Result<Vec<Rt>> {
    let c = client_reg(it, client)?;
    let mut outs = Vec::new();
    let mut dsts = Vec::new();
    for _ in 0..count {
        let o = it.new_rt(ty, size);
        dsts.push(it.b.any(o.reg)?);
        outs.push(o);
    }
    let cr = it.b.r(c)?;
    it.emit(Instr::SockRead {
        kind,
        client: cr,
        dsts,
        n: Size(size),
    })?;
    Ok(outs)
}

/// Values to write: a list/tuple of values, an Array, or a single value, converted to `ty`.
fn values_of<'a>(it: &mut Interp<'a>, v: &Value<'a>, ty: RtType) -> Result<Vec<Rt>> {
    match v {
        Value::List(_) | Value::Tuple(_) => {
            let items = it.collect(v)?;
            let mut out = Vec::new();
            for x in items {
                match &x {
                    Value::Array(a) => {
                        let r = load_all(it, a)?;
                        out.push(convert(it, r, ty)?)
                    }
                    _ => out.push(to_type(it, &x, ty, 1)?),
                }
            }
            Ok(out)
        }
        Value::Array(a) => {
            let r = load_all(it, a)?;
            let r = convert(it, r, ty)?;
            // An Array's elements are separate values of one message.
            let mut out = Vec::new();
            for i in 0..r.n {
                out.push(it.vec_slice(r, i, 1)?);
            }
            Ok(out)
        }
        other => Ok(vec![to_type(it, other, ty, 1)?]),
    }
}

fn type_method<'a>(
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
                None | Some(Value::None) => 2 * f - 1,
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
            if a.pos.len() < 2 && count == 1 {
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
            let base = geti(a.arg(1, "base"), 0)?;
            let step = geti(a.arg(2, "step"), 1)?;
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
            Value::Rt(out)
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
        _ => return Err(unsupported(format!("{}.{name}", t.name()))),
    })
}

/// Flattens nested lists (or a vector) into elements, recording the shape.
fn flatten<'a>(
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

fn dot<'a>(it: &mut Interp<'a>, x: &Value<'a>, y: &Value<'a>) -> Result<Value<'a>> {
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

fn array_method<'a>(
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
            let (rows, cols) = (arr.shape[0], arr.shape[1]);
            let r = load_all(it, &arr)?;
            let idx = (0..cols)
                .flat_map(|j| (0..rows).map(move |i| (i * cols + j) as u32))
                .collect();
            let t = array::gather(it, r, idx)?;
            let res = array::alloc(it, arr.elem, vec![cols, rows])?;
            let at = array::addr(it, &res, 0)?;
            array::store(it, t, at)?;
            Value::Array(res)
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

fn nested<'a>(it: &mut Interp<'a>, c: Rt, shape: &[usize], off: u32) -> Result<Value<'a>> {
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

fn nested_print(
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
fn sort_array(it: &mut Interp, arr: &ArrayV) -> Result<()> {
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

fn program_method<'a>(
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
    let x = a.req(0, "x", name)?;
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
                    .with_advice("supported at run time: exp, exp2_fx, log, log2_fx, log_fx, sqrt, InvertSqrt, pow_fx, sigmoid, tanh, abs_fx, floor_fx")),
            }
        }
    }
}
