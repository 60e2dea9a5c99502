//! Methods of Python built-in types, and functions of the small standard modules provided
//! (math, operator, functools, itertools).

use num_integer::Integer;
use ruff_python_ast::{CmpOp, Operator};
use ruff_text_size::TextRange;

use crate::diagnostics::{index_err, key_err, type_err, unsupported, value_err, Result};
use crate::eval::ops::{self, as_f64, as_int};
use crate::eval::{Args, Interp};
use crate::values::*;

fn str_arg(v: &Value, what: &str) -> Result<String> {
    match v {
        Value::Str(s) => Ok(s.0.clone()),
        other => Err(type_err(format!(
            "{what} must be str, not {}",
            other.type_name()
        ))),
    }
}

fn int_arg(v: &Value, what: &str) -> Result<i64> {
    as_int(v)
        .and_then(|i| i.as_i64())
        .ok_or_else(|| type_err(format!("{what} must be an int, not {}", v.type_name())))
}

pub fn call<'a>(
    it: &mut Interp<'a>,
    recv: Value<'a>,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    const MUTATING: &[&str] = &[
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "sort",
        "reverse",
        "update",
        "setdefault",
        "popitem",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "__setitem__",
        "__delitem__",
    ];
    if MUTATING.contains(&name) {
        match &recv {
            Value::List(l) => it.guard_mutation(l.born, name)?,
            Value::Dict(d) | Value::Set(d) => it.guard_mutation(d.born, name)?,
            _ => {}
        }
    }
    match &recv {
        Value::Str(s) => str_method(it, &s.0, name, a),
        Value::List(l) => {
            let l = l.clone();
            it.track_list(&l);
            match name {
                "append" => {
                    a.done(1, "append")?;
                    l.push(a.req(0, "object", "append")?);
                    Ok(Value::None)
                }
                "extend" => {
                    let v = a.req(0, "iterable", "extend")?;
                    let items = it.collect(&v)?;
                    l.v.borrow_mut().extend(items);
                    l.sync();
                    Ok(Value::None)
                }
                "pop" => {
                    let n = l.len();
                    if n == 0 {
                        return Err(index_err("pop from empty list"));
                    }
                    let i = match a.arg(0, "index") {
                        Some(i) => it.seq_index(&i, n)?,
                        None => n - 1,
                    };
                    let v = l.v.borrow_mut().remove(i);
                    l.sync();
                    Ok(v)
                }
                "insert" => {
                    let i = int_arg(&a.req(0, "index", "insert")?, "index")?;
                    let v = a.req(1, "object", "insert")?;
                    let n = l.len() as i64;
                    let i = if i < 0 { (i + n).max(0) } else { i.min(n) };
                    l.v.borrow_mut().insert(i as usize, v);
                    l.sync();
                    Ok(Value::None)
                }
                "remove" => {
                    let x = a.req(0, "value", "remove")?;
                    let pos =
                        l.v.borrow()
                            .iter()
                            .position(|y| ops::py_is(y, &x) || ops::py_eq(y, &x));
                    match pos {
                        Some(p) => {
                            l.v.borrow_mut().remove(p);
                            l.sync();
                            Ok(Value::None)
                        }
                        None => Err(value_err("list.remove(x): x not in list")),
                    }
                }
                "index" => {
                    let x = a.req(0, "value", "index")?;
                    let pos =
                        l.v.borrow()
                            .iter()
                            .position(|y| ops::py_is(y, &x) || ops::py_eq(y, &x));
                    pos.map(|p| Value::int(p as i64))
                        .ok_or_else(|| value_err("x not in list"))
                }
                "count" => {
                    let x = a.req(0, "value", "count")?;
                    Ok(Value::int(
                        l.v.borrow().iter().filter(|y| ops::py_eq(y, &x)).count() as i64,
                    ))
                }
                "reverse" => {
                    l.v.borrow_mut().reverse();
                    Ok(Value::None)
                }
                "sort" => {
                    let mut b = Args::new(vec![Value::List(l.clone())]);
                    b.kw = std::mem::take(&mut a.kw);
                    let sorted = crate::builtins::call(it, "sorted", b, site)?;
                    if let Value::List(s) = sorted {
                        let v = s.v.borrow().clone();
                        *l.v.borrow_mut() = v;
                    }
                    Ok(Value::None)
                }
                "copy" => Ok(Value::list(l.v.borrow().clone())),
                "clear" => {
                    l.v.borrow_mut().clear();
                    l.sync();
                    Ok(Value::None)
                }
                _ => Err(crate::diagnostics::internal("list method")),
            }
        }
        Value::Tuple(t) => match name {
            "index" => {
                let x = a.req(0, "value", "index")?;
                t.0.iter()
                    .position(|y| ops::py_eq(y, &x))
                    .map(|p| Value::int(p as i64))
                    .ok_or_else(|| value_err("tuple.index(x): x not in tuple"))
            }
            _ => {
                let x = a.req(0, "value", "count")?;
                Ok(Value::int(
                    t.0.iter().filter(|y| ops::py_eq(y, &x)).count() as i64
                ))
            }
        },
        Value::Dict(d) => {
            let d = d.clone();
            it.track_dict(&d);
            match name {
                "keys" => Ok(Value::list(
                    d.m.borrow().values().map(|(k, _)| k.clone()).collect(),
                )),
                "values" => Ok(Value::list(
                    d.m.borrow().values().map(|(_, v)| v.clone()).collect(),
                )),
                "items" => Ok(Value::list(
                    d.m.borrow()
                        .values()
                        .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                        .collect(),
                )),
                "get" => {
                    let k = a.req(0, "key", "get")?;
                    let dflt = a.arg(1, "default").unwrap_or(Value::None);
                    Ok(d.m
                        .borrow()
                        .get(&ops::hkey(&k)?)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(dflt))
                }
                "pop" => {
                    let k = a.req(0, "key", "pop")?;
                    let r = d.m.borrow_mut().shift_remove(&ops::hkey(&k)?);
                    d.sync();
                    match (r, a.pos.get(1)) {
                        (Some((_, v)), _) => Ok(v),
                        (None, Some(dflt)) => Ok(dflt.clone()),
                        (None, None) => Err(key_err(ops::py_repr(&k))),
                    }
                }
                "setdefault" => {
                    let k = a.req(0, "key", "setdefault")?;
                    let dflt = a.arg(1, "default").unwrap_or(Value::None);
                    let hk = ops::hkey(&k)?;
                    if let Some((_, v)) = d.m.borrow().get(&hk) {
                        return Ok(v.clone());
                    }
                    d.insert(hk, k, dflt.clone());
                    Ok(dflt)
                }
                "update" => {
                    if let Some(src) = a.pos.first().cloned() {
                        match &src {
                            Value::Dict(s) => {
                                let items: Vec<_> =
                                    s.m.borrow()
                                        .iter()
                                        .map(|(k, v)| (k.clone(), v.clone()))
                                        .collect();
                                for (hk, (k, v)) in items {
                                    d.insert(hk, k, v);
                                }
                            }
                            other => {
                                for pair in it.collect(other)? {
                                    let kv = it.collect(&pair)?;
                                    if kv.len() != 2 {
                                        return Err(value_err(
                                            "dictionary update sequence element has wrong length",
                                        ));
                                    }
                                    d.insert(ops::hkey(&kv[0])?, kv[0].clone(), kv[1].clone());
                                }
                            }
                        }
                    }
                    for (k, v) in std::mem::take(&mut a.kw) {
                        d.insert(HKey::Str(k.clone()), Value::str(k.to_string()), v);
                    }
                    Ok(Value::None)
                }
                "copy" => Ok(Value::Dict(DictObj::new(d.m.borrow().clone()))),
                _ => {
                    d.m.borrow_mut().clear();
                    d.sync();
                    Ok(Value::None)
                }
            }
        }
        Value::Set(d) => {
            let d = d.clone();
            it.track_dict(&d);
            match name {
                "add" => {
                    let x = a.req(0, "elem", "add")?;
                    d.insert(ops::hkey(&x)?, x, Value::None);
                    Ok(Value::None)
                }
                "remove" | "discard" => {
                    let x = a.req(0, "elem", name)?;
                    let r = d.m.borrow_mut().shift_remove(&ops::hkey(&x)?);
                    d.sync();
                    if r.is_none() && name == "remove" {
                        return Err(key_err(ops::py_repr(&x)));
                    }
                    Ok(Value::None)
                }
                "pop" => {
                    let r = d.m.borrow_mut().shift_remove_index(0);
                    d.sync();
                    r.map(|(_, (k, _))| k)
                        .ok_or_else(|| key_err("pop from an empty set"))
                }
                "copy" => Ok(Value::Set(DictObj::new(d.m.borrow().clone()))),
                "clear" => {
                    d.m.borrow_mut().clear();
                    d.sync();
                    Ok(Value::None)
                }
                "update" => {
                    for v in a.pos.clone() {
                        for x in it.collect(&v)? {
                            d.insert(ops::hkey(&x)?, x, Value::None);
                        }
                    }
                    Ok(Value::None)
                }
                _ => {
                    let other = a.req(0, "other", name)?;
                    let items = it.collect(&other)?;
                    let o = DictObj::new(Default::default());
                    for x in items {
                        o.insert(ops::hkey(&x)?, x, Value::None);
                    }
                    let ov = Value::Set(o);
                    let sv = Value::Set(d.clone());
                    match name {
                        "union" => Ok(ops::py_binop(&sv, Operator::BitOr, &ov)?.expect("set op")),
                        "intersection" => {
                            Ok(ops::py_binop(&sv, Operator::BitAnd, &ov)?.expect("set op"))
                        }
                        "difference" => {
                            Ok(ops::py_binop(&sv, Operator::Sub, &ov)?.expect("set op"))
                        }
                        "issubset" => {
                            let Value::Set(o) = &ov else { unreachable!() };
                            Ok(Value::Bool(
                                d.m.borrow().keys().all(|k| o.m.borrow().contains_key(k)),
                            ))
                        }
                        _ => {
                            let Value::Set(o) = &ov else { unreachable!() };
                            Ok(Value::Bool(
                                o.m.borrow().keys().all(|k| d.m.borrow().contains_key(k)),
                            ))
                        }
                    }
                }
            }
        }
        Value::Int(i) => match name {
            "bit_length" => Ok(Value::int(i.bits() as i64)),
            _ => Err(unsupported("int.to_bytes")),
        },
        Value::Bool(b) => Ok(Value::int((*b as i64 != 0) as i64)),
        Value::Float(f) => Ok(Value::Bool(f.fract() == 0.0)),
        _ => Err(crate::diagnostics::internal("method receiver")),
    }
}

fn str_method<'a>(it: &mut Interp<'a>, s: &str, name: &str, mut a: Args<'a>) -> Result<Value<'a>> {
    let opt_str = |a: &mut Args<'a>, i: usize, n: &str| -> Result<Option<String>> {
        match a.arg(i, n) {
            None | Some(Value::None) => Ok(None),
            Some(v) => Ok(Some(str_arg(&v, n)?)),
        }
    };
    Ok(match name {
        "format" => Value::str(str_format(it, s, &a)?),
        "join" => {
            let v = a.req(0, "iterable", "join")?;
            let mut parts = Vec::new();
            for x in it.collect(&v)? {
                parts.push(str_arg(&x, "sequence item")?);
            }
            Value::str(parts.join(s))
        }
        "split" => {
            let sep = opt_str(&mut a, 0, "sep")?;
            let max = a
                .arg(1, "maxsplit")
                .and_then(|m| as_int(&m))
                .and_then(|m| m.as_i64())
                .unwrap_or(-1);
            let parts: Vec<String> = match sep {
                None => {
                    if max < 0 {
                        s.split_whitespace().map(String::from).collect()
                    } else {
                        s.trim_start()
                            .splitn(max as usize + 1, char::is_whitespace)
                            .map(String::from)
                            .collect()
                    }
                }
                Some(sep) => {
                    if sep.is_empty() {
                        return Err(value_err("empty separator"));
                    }
                    if max < 0 {
                        s.split(sep.as_str()).map(String::from).collect()
                    } else {
                        s.splitn(max as usize + 1, sep.as_str())
                            .map(String::from)
                            .collect()
                    }
                }
            };
            Value::list(parts.into_iter().map(Value::str).collect())
        }
        "splitlines" => Value::list(s.lines().map(Value::str).collect()),
        "strip" | "lstrip" | "rstrip" => {
            let chars = opt_str(&mut a, 0, "chars")?;
            let pat = |c: char| match &chars {
                Some(cs) => cs.contains(c),
                None => c.is_whitespace(),
            };
            Value::str(match name {
                "strip" => s.trim_matches(pat),
                "lstrip" => s.trim_start_matches(pat),
                _ => s.trim_end_matches(pat),
            })
        }
        "upper" => Value::str(s.to_uppercase()),
        "lower" => Value::str(s.to_lowercase()),
        "title" | "capitalize" => {
            let mut out = String::new();
            let mut start = true;
            for c in s.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                start = if name == "title" {
                    !c.is_alphanumeric()
                } else {
                    false
                };
            }
            Value::str(out)
        }
        "replace" => {
            let old = str_arg(&a.req(0, "old", "replace")?, "old")?;
            let new = str_arg(&a.req(1, "new", "replace")?, "new")?;
            let count = a
                .arg(2, "count")
                .and_then(|c| as_int(&c))
                .and_then(|c| c.as_i64())
                .unwrap_or(-1);
            let est = s.len() + s.matches(old.as_str()).count().saturating_mul(new.len());
            it.tracker.check_memory(est as u64)?;
            Value::str(if count < 0 {
                s.replace(&old, &new)
            } else {
                s.replacen(&old, &new, count as usize)
            })
        }
        "startswith" | "endswith" => {
            let p = a.req(0, "prefix", name)?;
            let pats: Vec<String> = match &p {
                Value::Tuple(t) => {
                    t.0.iter()
                        .map(|x| str_arg(x, "prefix"))
                        .collect::<Result<_>>()?
                }
                other => vec![str_arg(other, "prefix")?],
            };
            Value::Bool(pats.iter().any(|p| {
                if name == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            }))
        }
        "find" | "index" => {
            let sub = str_arg(&a.req(0, "sub", name)?, "sub")?;
            match s.find(sub.as_str()) {
                Some(byte) => Value::int(s[..byte].chars().count() as i64),
                None if name == "find" => Value::int(-1),
                None => return Err(value_err("substring not found")),
            }
        }
        "count" => {
            let sub = str_arg(&a.req(0, "sub", "count")?, "sub")?;
            Value::int(if sub.is_empty() {
                s.chars().count() as i64 + 1
            } else {
                s.matches(sub.as_str()).count() as i64
            })
        }
        "isdigit" => Value::Bool(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
        "isalpha" => Value::Bool(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isspace" => Value::Bool(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "isupper" => {
            Value::Bool(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        "islower" => {
            Value::Bool(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "zfill" | "center" | "ljust" | "rjust" => {
            let w = int_arg(&a.req(0, "width", name)?, "width")?.clamp(0, 10_000) as usize;
            let fill = opt_str(&mut a, 1, "fillchar")?
                .and_then(|f| f.chars().next())
                .unwrap_or(if name == "zfill" { '0' } else { ' ' });
            let spec = match name {
                "zfill" => format!("{fill}>{w}"),
                "center" => format!("{fill}^{w}"),
                "ljust" => format!("{fill}<{w}"),
                _ => format!("{fill}>{w}"),
            };
            if name == "zfill" && (s.starts_with('-') || s.starts_with('+')) {
                let (sign, rest) = s.split_at(1);
                let padded =
                    ops::format_value(&Value::str(rest), &format!("0>{}", w.saturating_sub(1)))?;
                Value::str(format!("{sign}{padded}"))
            } else {
                Value::str(ops::format_value(&Value::str(s), &spec)?)
            }
        }
        _ => return Err(crate::diagnostics::internal("str method")),
    })
}

/// `str.format(*args, **kwargs)`.
pub fn str_format<'a>(it: &mut Interp<'a>, fmt: &str, a: &Args<'a>) -> Result<String> {
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut auto = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            if chars.get(i + 1) == Some(&'{') {
                out.push('{');
                i += 2;
                continue;
            }
            let end = chars[i..]
                .iter()
                .position(|&c| c == '}')
                .ok_or_else(|| value_err("Single '{' encountered in format string"))?;
            let field: String = chars[i + 1..i + end].iter().collect();
            i += end + 1;
            let (field, spec) = match field.split_once(':') {
                Some((f, s)) => (f.to_string(), s.to_string()),
                None => (field, String::new()),
            };
            let (field, conv) = match field.split_once('!') {
                Some((f, c)) => (f.to_string(), Some(c.to_string())),
                None => (field, None),
            };
            // field: "" | index | name, followed by .attr or [key] parts
            let base_end = field.find(['.', '[']).unwrap_or(field.len());
            let (base, rest) = field.split_at(base_end);
            let mut v = if base.is_empty() {
                let v = a.pos.get(auto).cloned().ok_or_else(|| {
                    index_err("Replacement index out of range for positional args tuple")
                })?;
                auto += 1;
                v
            } else if let Ok(n) = base.parse::<usize>() {
                a.pos
                    .get(n)
                    .cloned()
                    .ok_or_else(|| index_err(format!("Replacement index {n} out of range")))?
            } else {
                a.kw.iter()
                    .find(|(k, _)| &**k == base)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| key_err(format!("'{base}'")))?
            };
            let mut r = rest;
            while !r.is_empty() {
                if let Some(x) = r.strip_prefix('.') {
                    let e = x.find(['.', '[']).unwrap_or(x.len());
                    v = it.getattr(&v, &x[..e])?;
                    r = &x[e..];
                } else if let Some(x) = r.strip_prefix('[') {
                    let e = x
                        .find(']')
                        .ok_or_else(|| value_err("Missing ']' in format string"))?;
                    let key = &x[..e];
                    let k = match key.parse::<i64>() {
                        Ok(n) => Value::int(n),
                        Err(_) => Value::str(key),
                    };
                    v = it.get_item(&v, &k)?;
                    r = &x[e + 1..];
                } else {
                    return Err(value_err("bad format field"));
                }
            }
            if v.is_runtime() {
                return Err(type_err(format!(
                    "cannot format a run-time value ({}) into a compile-time string",
                    v.type_name()
                ))
                .with_advice("use print_ln('... %s ...', value) to print run-time values"));
            }
            let v = match conv.as_deref() {
                Some("r") | Some("a") => Value::str(ops::py_repr(&v)),
                Some("s") => Value::str(ops::py_str(&v)),
                _ => v,
            };
            let v = if let (Value::Instance(_), "") = (&v, spec.as_str()) {
                Value::str(crate::builtins::to_str(it, &v, TextRange::default())?)
            } else {
                v
            };
            out.push_str(&ops::format_value(&v, &spec)?);
        } else if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                out.push('}');
                i += 2;
                continue;
            }
            return Err(value_err("Single '}' encountered in format string"));
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

pub fn call_module_fn<'a>(
    it: &mut Interp<'a>,
    m: &str,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    match m {
        "math" => {
            if a.pos.iter().any(|v| v.is_runtime()) {
                return Err(
                    type_err(format!("math.{name}() works on compile-time numbers only"))
                        .with_advice("for sfix values use mpc_math (e.g. mpc_math.sqrt(x))"),
                );
            }
            let f = |i: usize| -> Result<f64> {
                a.pos
                    .get(i)
                    .and_then(as_f64)
                    .ok_or_else(|| type_err(format!("math.{name}() needs a number")))
            };
            Ok(match name {
                "sqrt" => {
                    let x = f(0)?;
                    if x < 0.0 {
                        return Err(value_err("math domain error"));
                    }
                    Value::Float(x.sqrt())
                }
                "log" => {
                    let x = f(0)?;
                    if x <= 0.0 {
                        return Err(value_err("math domain error"));
                    }
                    match a.pos.get(1).and_then(as_f64) {
                        Some(b) => Value::Float(x.ln() / b.ln()),
                        None => {
                            // Exact for big ints too.
                            if let Some(Value::Int(Int::Big(b))) = a.pos.first() {
                                let bits = b.bits() as f64;
                                let shifted = (&**b >> (b.bits().saturating_sub(60) as usize))
                                    .to_string()
                                    .parse::<f64>()
                                    .unwrap_or(1.0);
                                Value::Float(
                                    shifted.ln()
                                        + (bits - 60f64.min(bits)) * std::f64::consts::LN_2,
                                )
                            } else {
                                Value::Float(x.ln())
                            }
                        }
                    }
                }
                "log2" => {
                    if let Some(Value::Int(i)) = a.pos.first() {
                        if !i.is_negative() && !i.is_zero() {
                            let b = i.to_big();
                            if (&b & (&b - 1u32)) == num_bigint::BigInt::from(0) {
                                return Ok(Value::Float((b.bits() - 1) as f64));
                            }
                        }
                    }
                    let x = f(0)?;
                    if x <= 0.0 {
                        return Err(value_err("math domain error"));
                    }
                    Value::Float(x.log2())
                }
                "log10" => Value::Float(f(0)?.log10()),
                "exp" => Value::Float(f(0)?.exp()),
                "floor" | "ceil" | "trunc" => {
                    if let Some(i @ (Value::Int(_) | Value::Bool(_))) = a.pos.first() {
                        return Ok(Value::Int(as_int(i).expect("int")));
                    }
                    let x = f(0)?;
                    Value::Int(ops::float_to_int(match name {
                        "floor" => x.floor(),
                        "ceil" => x.ceil(),
                        _ => x.trunc(),
                    })?)
                }
                "sin" => Value::Float(f(0)?.sin()),
                "cos" => Value::Float(f(0)?.cos()),
                "tan" => Value::Float(f(0)?.tan()),
                "atan" => Value::Float(f(0)?.atan()),
                "asin" => Value::Float(f(0)?.asin()),
                "acos" => Value::Float(f(0)?.acos()),
                "atan2" => Value::Float(f(0)?.atan2(f(1)?)),
                "hypot" => Value::Float(f(0)?.hypot(f(1)?)),
                "fabs" => Value::Float(f(0)?.abs()),
                "copysign" => Value::Float(f(0)?.copysign(f(1)?)),
                "pow" => Value::Float(f(0)?.powf(f(1)?)),
                "isnan" => Value::Bool(f(0)?.is_nan()),
                "isinf" => Value::Bool(f(0)?.is_infinite()),
                "isclose" => {
                    let (x, y) = (f(0)?, f(1)?);
                    Value::Bool((x - y).abs() <= 1e-9 * x.abs().max(y.abs()))
                }
                "isqrt" => {
                    let x = as_int(&a.req(0, "n", "isqrt")?)
                        .ok_or_else(|| type_err("isqrt() needs an int"))?;
                    if x.is_negative() {
                        return Err(value_err("isqrt() argument must be nonnegative"));
                    }
                    Value::Int(Int::from_big(x.to_big().sqrt()))
                }
                "gcd" => {
                    let mut g = num_bigint::BigInt::from(0);
                    for v in &a.pos {
                        let x = as_int(v).ok_or_else(|| type_err("gcd() needs ints"))?;
                        g = g.gcd(&x.to_big());
                    }
                    Value::Int(Int::from_big(g))
                }
                "factorial" | "comb" | "prod" => {
                    let mut acc = Int::Small(1);
                    match name {
                        "factorial" => {
                            let n = int_arg(&a.req(0, "n", "factorial")?, "n")?;
                            if n < 0 {
                                return Err(value_err(
                                    "factorial() not defined for negative values",
                                ));
                            }
                            for k in 2..=n {
                                acc = ops::int_mul(&acc, &Int::Small(k))?;
                            }
                        }
                        "comb" => {
                            let n = int_arg(&a.req(0, "n", "comb")?, "n")?;
                            let k = int_arg(&a.req(1, "k", "comb")?, "k")?;
                            if k < 0 || n < 0 {
                                return Err(value_err("comb() needs non-negative integers"));
                            }
                            if k > n {
                                return Ok(Value::int(0));
                            }
                            let k = k.min(n - k);
                            for i in 0..k {
                                acc = ops::int_mul(&acc, &Int::Small(n - i))?;
                                acc = ops::int_floordiv(&acc, &Int::Small(i + 1))?;
                            }
                        }
                        _ => {
                            let v = a.req(0, "iterable", "prod")?;
                            let mut p = Value::int(1);
                            for x in it.collect(&v)? {
                                p = it.binop(p, Operator::Mult, x)?;
                            }
                            return Ok(p);
                        }
                    }
                    Value::Int(acc)
                }
                _ => return Err(crate::diagnostics::internal("math fn")),
            })
        }
        "mpc_math" => crate::types::mpc_math(it, name, a),
        "re" => crate::pyre::call(it, name, a, site),
        "operator" => {
            if name == "itemgetter" {
                return Err(unsupported("operator.itemgetter"));
            }
            let x = a.req(0, "a", name)?;
            if name == "neg" {
                return it.unary(ruff_python_ast::UnaryOp::USub, x);
            }
            let y = a.req(1, "b", name)?;
            let op = match name {
                "add" => Operator::Add,
                "sub" => Operator::Sub,
                "mul" => Operator::Mult,
                "truediv" => Operator::Div,
                "floordiv" => Operator::FloorDiv,
                "mod" => Operator::Mod,
                "and_" => Operator::BitAnd,
                "or_" => Operator::BitOr,
                "xor" => Operator::BitXor,
                _ => {
                    let c = match name {
                        "lt" => CmpOp::Lt,
                        "le" => CmpOp::LtE,
                        "gt" => CmpOp::Gt,
                        "ge" => CmpOp::GtE,
                        "eq" => CmpOp::Eq,
                        _ => CmpOp::NotEq,
                    };
                    return it.compare(&x, c, &y);
                }
            };
            it.binop(x, op, y)
        }
        "copy" => {
            let v = a.req(0, "x", name)?;
            Ok(copy_value(it, &v, name == "deepcopy", 0)?)
        }
        "functools" => {
            let f = a.req(0, "function", "reduce")?;
            let seq = a.req(1, "iterable", "reduce")?;
            let mut items = it.collect(&seq)?.into_iter();
            let mut acc = match a.arg(2, "initial") {
                Some(v) => v,
                None => items
                    .next()
                    .ok_or_else(|| type_err("reduce() of empty iterable with no initial value"))?,
            };
            for x in items {
                acc = it.call_pos(&f, vec![acc, x], site)?;
            }
            Ok(acc)
        }
        "itertools" => {
            let n_iterables = match name {
                "combinations" | "permutations" | "repeat" => 1.min(a.pos.len()),
                _ => a.pos.len(),
            };
            let lists: Vec<Vec<Value<'a>>> = a.pos[..n_iterables]
                .iter()
                .map(|v| it.collect(v))
                .collect::<Result<_>>()?;
            match name {
                "chain" => Ok(Value::list(lists.into_iter().flatten().collect())),
                "product" => {
                    let repeat = a
                        .take_kw("repeat")
                        .and_then(|r| as_int(&r))
                        .and_then(|r| r.as_i64())
                        .unwrap_or(1)
                        .max(0) as usize;
                    let mut pools = Vec::new();
                    for _ in 0..repeat {
                        pools.extend(lists.iter().cloned());
                    }
                    let total: u64 = pools.iter().map(|p| p.len() as u64).product();
                    it.tracker.check_memory(
                        total.saturating_mul(SLOT_BYTES as u64 * (pools.len() as u64 + 1)),
                    )?;
                    let mut out: Vec<Vec<Value<'a>>> = vec![Vec::new()];
                    for p in &pools {
                        let mut next = Vec::new();
                        for prefix in &out {
                            for x in p {
                                let mut t = prefix.clone();
                                t.push(x.clone());
                                next.push(t);
                            }
                        }
                        out = next;
                    }
                    Ok(Value::list(out.into_iter().map(Value::tuple).collect()))
                }
                "combinations" | "permutations" => {
                    let pool = lists.first().cloned().unwrap_or_default();
                    let r = match a.pos.get(1) {
                        Some(r) => int_arg(r, "r")?.max(0) as usize,
                        None => pool.len(),
                    };
                    let mut out = Vec::new();
                    let mut cur = Vec::new();
                    let mut used = vec![false; pool.len()];
                    gen_combos(
                        it,
                        &pool,
                        r,
                        0,
                        name == "permutations",
                        &mut used,
                        &mut cur,
                        &mut out,
                    )?;
                    Ok(Value::list(out))
                }
                "repeat" => {
                    let x = a.req(0, "object", "repeat")?;
                    let n = int_arg(&a.req(1, "times", "repeat")?, "times")?.max(0) as u64;
                    it.tracker
                        .check_memory(n.saturating_mul(SLOT_BYTES as u64))?;
                    Ok(Value::list(vec![x; n as usize]))
                }
                _ => {
                    let mut out = Vec::new();
                    let mut acc: Option<Value<'a>> = None;
                    for x in lists.into_iter().next().unwrap_or_default() {
                        let v = match acc.take() {
                            None => x,
                            Some(p) => it.binop(p, Operator::Add, x)?,
                        };
                        out.push(v.clone());
                        acc = Some(v);
                    }
                    Ok(Value::list(out))
                }
            }
        }
        _ => Err(crate::diagnostics::internal("module fn")),
    }
}

#[allow(clippy::too_many_arguments)]
fn gen_combos<'a>(
    it: &mut Interp<'a>,
    pool: &[Value<'a>],
    r: usize,
    start: usize,
    perm: bool,
    used: &mut Vec<bool>,
    cur: &mut Vec<Value<'a>>,
    out: &mut Vec<Value<'a>>,
) -> Result<()> {
    it.tracker.step()?;
    if cur.len() == r {
        out.push(Value::tuple(cur.clone()));
        return Ok(());
    }
    let from = if perm { 0 } else { start };
    for i in from..pool.len() {
        if perm && used[i] {
            continue;
        }
        used[i] = true;
        cur.push(pool[i].clone());
        gen_combos(it, pool, r, i + 1, perm, used, cur, out)?;
        cur.pop();
        used[i] = false;
    }
    Ok(())
}

/// copy.copy / copy.deepcopy for compile-time containers and instances (run-time values are
/// handles and are shared, as MP-SPDZ registers are).
fn copy_value<'a>(it: &mut Interp<'a>, v: &Value<'a>, deep: bool, depth: u32) -> Result<Value<'a>> {
    if depth > 200 {
        return Err(value_err("deepcopy: structure nested too deeply"));
    }
    it.tracker.step()?;
    let mut c = |x: &Value<'a>| -> Result<Value<'a>> {
        if deep {
            copy_value(it, x, true, depth + 1)
        } else {
            Ok(x.clone())
        }
    };
    Ok(match v {
        Value::List(l) => {
            let items = l.v.borrow().clone();
            let mut out = Vec::with_capacity(items.len());
            for x in &items {
                out.push(c(x)?);
            }
            Value::list(out)
        }
        Value::Tuple(t) if deep => {
            let mut out = Vec::with_capacity(t.0.len());
            for x in &t.0 {
                out.push(c(x)?);
            }
            Value::tuple(out)
        }
        Value::Dict(d) | Value::Set(d) => {
            let items: Vec<(HKey, (Value<'a>, Value<'a>))> =
                d.m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
            let out = DictObj::new(Default::default());
            for (hk, (k, x)) in items {
                let x = c(&x)?;
                out.insert(hk, k, x);
            }
            if matches!(v, Value::Set(_)) {
                Value::Set(out)
            } else {
                Value::Dict(out)
            }
        }
        Value::Instance(i) => {
            let attrs: Vec<(Name, Value<'a>)> = i
                .attrs
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let new = std::rc::Rc::new(Instance {
                class: i.class.clone(),
                attrs: Default::default(),
                born: crate::values::birth(),
            });
            it.track_instance(&new);
            for (k, x) in attrs {
                let x = if deep {
                    copy_value(it, &x, true, depth + 1)?
                } else {
                    x
                };
                new.attrs.borrow_mut().insert(k, x);
            }
            Value::Instance(new)
        }
        other => other.clone(),
    })
}
