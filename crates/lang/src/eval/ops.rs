//! Python semantics for compile-time values: arithmetic, comparison, truth, hashing, str/repr
//! and string formatting.

use std::rc::Rc;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive};
use ruff_python_ast::Operator;

use crate::diagnostics::{type_err, value_err, Error, ErrorKind, Result};
use crate::values::*;

/// Largest integer (in bits) the evaluator builds; protects against `2**10**9`.
pub const MAX_INT_BITS: u64 = 1 << 16;

pub fn zero_div(what: &str) -> Error {
    Error::new(ErrorKind::ZeroDivision, format!("{what} by zero"))
}

fn big_or_err(b: BigInt) -> Result<Int> {
    if b.bits() > MAX_INT_BITS {
        return Err(value_err(format!(
            "integer too large ({} bits; the limit is {MAX_INT_BITS})",
            b.bits()
        )));
    }
    Ok(Int::from_big(b))
}

pub fn int_add(a: &Int, b: &Int) -> Result<Int> {
    if let (Int::Small(x), Int::Small(y)) = (a, b) {
        if let Some(z) = x.checked_add(*y) {
            return Ok(Int::Small(z));
        }
    }
    big_or_err(a.to_big() + b.to_big())
}
pub fn int_sub(a: &Int, b: &Int) -> Result<Int> {
    if let (Int::Small(x), Int::Small(y)) = (a, b) {
        if let Some(z) = x.checked_sub(*y) {
            return Ok(Int::Small(z));
        }
    }
    big_or_err(a.to_big() - b.to_big())
}
pub fn int_mul(a: &Int, b: &Int) -> Result<Int> {
    if let (Int::Small(x), Int::Small(y)) = (a, b) {
        if let Some(z) = x.checked_mul(*y) {
            return Ok(Int::Small(z));
        }
    }
    if a.bits() + b.bits() > MAX_INT_BITS + 1 {
        return Err(value_err("integer too large"));
    }
    big_or_err(a.to_big() * b.to_big())
}
pub fn int_floordiv(a: &Int, b: &Int) -> Result<Int> {
    if b.is_zero() {
        return Err(zero_div("integer division"));
    }
    if let (Int::Small(x), Int::Small(y)) = (a, b) {
        if !(*x == i64::MIN && *y == -1) {
            return Ok(Int::Small(x.div_floor(y)));
        }
    }
    big_or_err(a.to_big().div_floor(&b.to_big()))
}
pub fn int_mod(a: &Int, b: &Int) -> Result<Int> {
    if b.is_zero() {
        return Err(zero_div("integer modulo"));
    }
    if let (Int::Small(x), Int::Small(y)) = (a, b) {
        if !(*x == i64::MIN && *y == -1) {
            return Ok(Int::Small(x.mod_floor(y)));
        }
    }
    big_or_err(a.to_big().mod_floor(&b.to_big()))
}
pub fn int_pow(a: &Int, e: u64) -> Result<Int> {
    if a.bits() > 1 && (a.bits().saturating_mul(e)) > MAX_INT_BITS {
        return Err(value_err(format!(
            "integer too large ({}**{e}; the limit is {MAX_INT_BITS} bits)",
            a
        )));
    }
    let e32 = u32::try_from(e).map_err(|_| value_err("exponent too large"))?;
    if let Int::Small(x) = a {
        if let Some(z) = x.checked_pow(e32) {
            return Ok(Int::Small(z));
        }
    }
    big_or_err(num_traits::pow(a.to_big(), e32 as usize))
}
pub fn int_shl(a: &Int, s: &Int) -> Result<Int> {
    let s = s
        .as_i64()
        .filter(|s| *s >= 0)
        .ok_or_else(|| value_err("negative or huge shift count"))?;
    if a.is_zero() {
        return Ok(Int::Small(0));
    }
    if a.bits() + s as u64 > MAX_INT_BITS {
        return Err(value_err("integer too large"));
    }
    if let Int::Small(x) = a {
        if s < 63 && x.unsigned_abs().leading_zeros() as i64 > s + 1 {
            return Ok(Int::Small(x << s));
        }
    }
    big_or_err(a.to_big() << (s as usize))
}
pub fn int_shr(a: &Int, s: &Int) -> Result<Int> {
    let s = s
        .as_i64()
        .filter(|s| *s >= 0)
        .ok_or_else(|| value_err("negative shift count"))?;
    if let Int::Small(x) = a {
        return Ok(Int::Small(if s >= 64 {
            if *x < 0 {
                -1
            } else {
                0
            }
        } else {
            x >> s
        }));
    }
    // Python >> floors (like BigInt's arithmetic shift on negatives).
    let b = a.to_big();
    let d = BigInt::from(1) << (s.min(MAX_INT_BITS as i64 + 1) as usize);
    big_or_err(b.div_floor(&d))
}

pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::Int(i) => Some(i.to_f64()),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

pub fn as_int(v: &Value) -> Option<Int> {
    match v {
        Value::Bool(b) => Some(Int::Small(*b as i64)),
        Value::Int(i) => Some(i.clone()),
        _ => None,
    }
}

/// Binary operator on compile-time values; `Ok(None)` if the types do not support it.
pub fn py_binop<'a>(l: &Value<'a>, op: Operator, r: &Value<'a>) -> Result<Option<Value<'a>>> {
    use Operator::*;
    use Value as V;
    // Integers (and bools).
    if let (Some(a), Some(b)) = (as_int(l), as_int(r)) {
        let bool_pair = matches!((l, r), (V::Bool(_), V::Bool(_)));
        return Ok(Some(match op {
            Add => V::Int(int_add(&a, &b)?),
            Sub => V::Int(int_sub(&a, &b)?),
            Mult => V::Int(int_mul(&a, &b)?),
            Div => {
                if b.is_zero() {
                    return Err(zero_div("division"));
                }
                V::Float(int_truediv(&a, &b))
            }
            FloorDiv => V::Int(int_floordiv(&a, &b)?),
            Mod => V::Int(int_mod(&a, &b)?),
            Pow => {
                if b.is_negative() {
                    if a.is_zero() {
                        return Err(zero_div(
                            "0.0 cannot be raised to a negative power; division",
                        ));
                    }
                    V::Float(a.to_f64().powf(b.to_f64()))
                } else {
                    let e = b.as_i64().ok_or_else(|| value_err("exponent too large"))?;
                    V::Int(int_pow(&a, e as u64)?)
                }
            }
            LShift => V::Int(int_shl(&a, &b)?),
            RShift => V::Int(int_shr(&a, &b)?),
            BitAnd | BitOr | BitXor if bool_pair => {
                let (x, y) = (a.is_zero(), b.is_zero());
                let (x, y) = (!x, !y);
                V::Bool(match op {
                    BitAnd => x && y,
                    BitOr => x || y,
                    _ => x != y,
                })
            }
            BitAnd => V::Int(bitop(&a, &b, |x, y| x & y, |x, y| x & y)),
            BitOr => V::Int(bitop(&a, &b, |x, y| x | y, |x, y| x | y)),
            BitXor => V::Int(bitop(&a, &b, |x, y| x ^ y, |x, y| x ^ y)),
            MatMult => return Ok(None),
        }));
    }
    // Floats.
    if let (Some(a), Some(b)) = (as_f64(l), as_f64(r)) {
        if matches!(l, V::Float(_)) || matches!(r, V::Float(_)) {
            return Ok(Some(V::Float(match op {
                Add => a + b,
                Sub => a - b,
                Mult => a * b,
                Div => {
                    if b == 0.0 {
                        return Err(zero_div("float division"));
                    }
                    a / b
                }
                FloorDiv => {
                    if b == 0.0 {
                        return Err(zero_div("float floor division"));
                    }
                    (a / b).floor()
                }
                Mod => {
                    if b == 0.0 {
                        return Err(zero_div("float modulo"));
                    }
                    let m = a % b;
                    if m != 0.0 && (m < 0.0) != (b < 0.0) {
                        m + b
                    } else {
                        m
                    }
                }
                Pow => a.powf(b),
                _ => return Ok(None),
            })));
        }
    }
    Ok(Some(match (l, op, r) {
        (V::Str(a), Add, V::Str(b)) => {
            let mut s = String::with_capacity(a.0.len() + b.0.len());
            s.push_str(&a.0);
            s.push_str(&b.0);
            V::str(s)
        }
        (V::Str(s), Mult, n) | (n, Mult, V::Str(s)) if as_int(n).is_some() => {
            let k = repeat_count(n, s.0.len())?;
            V::str(s.0.repeat(k))
        }
        (V::Str(s), Mod, args) => V::str(percent_format(&s.0, args)?),
        (V::List(a), Add, V::List(b)) => {
            let mut v = a.v.borrow().clone();
            v.extend(b.v.borrow().iter().cloned());
            V::list(v)
        }
        (V::Tuple(a), Add, V::Tuple(b)) => {
            let mut v = a.0.clone();
            v.extend(b.0.iter().cloned());
            V::tuple(v)
        }
        (V::List(a), Mult, n) | (n, Mult, V::List(a)) if as_int(n).is_some() => {
            let src = a.v.borrow();
            let k = repeat_count(n, src.len() * SLOT_BYTES)?;
            let mut v = Vec::with_capacity(src.len() * k);
            for _ in 0..k {
                v.extend(src.iter().cloned());
            }
            V::list(v)
        }
        (V::Tuple(a), Mult, n) | (n, Mult, V::Tuple(a)) if as_int(n).is_some() => {
            let k = repeat_count(n, a.0.len() * SLOT_BYTES)?;
            let mut v = Vec::with_capacity(a.0.len() * k);
            for _ in 0..k {
                v.extend(a.0.iter().cloned());
            }
            V::tuple(v)
        }
        (V::Set(a), BitOr | BitAnd | Sub | BitXor, V::Set(b)) => {
            let a = a.m.borrow();
            let b = b.m.borrow();
            let mut out = indexmap::IndexMap::new();
            match op {
                BitOr => {
                    for (k, v) in a.iter().chain(b.iter()) {
                        out.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                BitAnd => {
                    for (k, v) in a.iter() {
                        if b.contains_key(k) {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
                Sub => {
                    for (k, v) in a.iter() {
                        if !b.contains_key(k) {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
                _ => {
                    for (k, v) in a.iter() {
                        if !b.contains_key(k) {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                    for (k, v) in b.iter() {
                        if !a.contains_key(k) {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            V::Set(DictObj::new(out))
        }
        (V::Dict(a), BitOr, V::Dict(b)) => {
            let mut m = a.m.borrow().clone();
            for (k, v) in b.m.borrow().iter() {
                m.insert(k.clone(), v.clone());
            }
            V::Dict(DictObj::new(m))
        }
        _ => return Ok(None),
    }))
}

fn int_truediv(a: &Int, b: &Int) -> f64 {
    match (a, b) {
        (Int::Small(x), Int::Small(y)) => *x as f64 / *y as f64,
        _ => {
            // Exact-ish: scale to keep precision for big operands.
            let (x, y) = (a.to_big(), b.to_big());
            let (q, r) = x.div_rem(&y);
            q.to_f64().unwrap_or(f64::INFINITY)
                + r.to_f64().unwrap_or(0.0) / y.to_f64().unwrap_or(f64::INFINITY)
        }
    }
}

fn bitop(a: &Int, b: &Int, small: fn(i64, i64) -> i64, big: fn(&BigInt, &BigInt) -> BigInt) -> Int {
    match (a, b) {
        (Int::Small(x), Int::Small(y)) => Int::Small(small(*x, *y)),
        _ => Int::from_big(big(&a.to_big(), &b.to_big())),
    }
}

/// A repetition count for `seq * n`, refusing results larger than 256 MiB up front.
fn repeat_count(n: &Value, unit_bytes: usize) -> Result<usize> {
    let n = as_int(n).and_then(|i| i.as_i64()).unwrap_or(i64::MAX);
    if n <= 0 {
        return Ok(0);
    }
    let total = (n as u128) * (unit_bytes.max(1) as u128);
    if total > (256 << 20) {
        return Err(Error::new(
            ErrorKind::Budget(crate::budgets::BudgetKind::Memory),
            format!("memory budget exceeded: a repetition would create about {total} bytes"),
        )
        .with_advice("use smaller compile-time sequences, or an Array for run-time data"));
    }
    Ok(n as usize)
}

// ---------------------------------------------------------------------------------------------
// Equality, ordering, hashing

/// Python `==` on compile-time values (run-time values compare by identity).
pub fn py_eq<'a>(a: &Value<'a>, b: &Value<'a>) -> bool {
    work_reset();
    py_eq_depth(a, b, 0)
}

fn py_eq_depth<'a>(a: &Value<'a>, b: &Value<'a>, depth: u32) -> bool {
    use Value as V;
    if depth > 200 || work_exhausted() {
        // Cyclic or absurdly deep structures: fall back to identity.
        return py_is(a, b);
    }
    let py_eq = |x: &Value<'a>, y: &Value<'a>| py_eq_depth(x, y, depth + 1);
    match (a, b) {
        (V::None, V::None) => true,
        (V::Str(x), V::Str(y)) => x.0 == y.0,
        (V::List(x), V::List(y)) => {
            Rc::ptr_eq(x, y) || {
                let (x, y) = (x.v.borrow(), y.v.borrow());
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| py_eq(a, b))
            }
        }
        (V::Tuple(x), V::Tuple(y)) => {
            x.0.len() == y.0.len() && x.0.iter().zip(y.0.iter()).all(|(a, b)| py_eq(a, b))
        }
        (V::Dict(x), V::Dict(y)) => {
            let (x, y) = (x.m.borrow(), y.m.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, (_, v))| y.get(k).is_some_and(|(_, w)| py_eq(v, w)))
        }
        (V::Set(x), V::Set(y)) => {
            let (x, y) = (x.m.borrow(), y.m.borrow());
            x.len() == y.len() && x.keys().all(|k| y.contains_key(k))
        }
        (V::Range(a, b, c), V::Range(d, e, f)) => (a, b, c) == (d, e, f),
        _ => {
            if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) {
                return x == y;
            }
            identity(a).is_some() && identity(a) == identity(b)
        }
    }
}

/// Object identity for reference values.
pub fn identity(v: &Value) -> Option<usize> {
    Some(match v {
        Value::List(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Dict(x) | Value::Set(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Tuple(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Func(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Class(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Instance(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Array(x) => Rc::as_ptr(x) as *const () as usize,
        Value::MemValue(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Partial(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Str(x) => Rc::as_ptr(x) as *const () as usize,
        Value::Builtin(name) => name.as_ptr() as usize,
        Value::Type(t) => 0x1000 + *t as usize,
        Value::Module(m) => m.as_ptr() as usize,
        Value::Program => 0x2000,
        Value::Rt(r) => 0x1_0000_0000usize
            .wrapping_add((r.reg.frame as usize) << 34)
            .wrapping_add((r.reg.kind as usize) << 32)
            .wrapping_add(r.reg.idx as usize),
        _ => return None,
    })
}

/// Python `is`.
pub fn py_is(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        _ => identity(a).is_some() && identity(a) == identity(b),
    }
}

pub fn hkey(v: &Value) -> Result<HKey> {
    Ok(match v {
        Value::None => HKey::None,
        Value::Bool(b) => HKey::Int(Int::Small(*b as i64)),
        Value::Int(i) => HKey::Int(i.clone()),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.0e18 {
                HKey::Int(Int::Small(*f as i64))
            } else {
                HKey::Float(f.to_bits())
            }
        }
        Value::Str(s) => HKey::Str(Rc::from(s.0.as_str())),
        Value::Tuple(t) => HKey::Tuple(t.0.iter().map(hkey).collect::<Result<_>>()?),
        Value::List(_) | Value::Dict(_) | Value::Set(_) => {
            return Err(type_err(format!("unhashable type: '{}'", v.type_name())))
        }
        other => HKey::Id(
            identity(other)
                .ok_or_else(|| type_err(format!("unhashable type: '{}'", other.type_name())))?,
        ),
    })
}

/// Python ordering (`<`) for sorting and comparisons; None if unordered.
pub fn py_cmp<'a>(a: &Value<'a>, b: &Value<'a>) -> Option<std::cmp::Ordering> {
    use Value as V;
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return Some(match (&x, &y) {
            (Int::Small(p), Int::Small(q)) => p.cmp(q),
            _ => x.to_big().cmp(&y.to_big()),
        });
    }
    if let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (V::Str(x), V::Str(y)) => Some(x.0.cmp(&y.0)),
        (V::List(x), V::List(y)) => seq_cmp(&x.v.borrow(), &y.v.borrow()),
        (V::Tuple(x), V::Tuple(y)) => seq_cmp(&x.0, &y.0),
        _ => None,
    }
}

fn seq_cmp<'a>(a: &[Value<'a>], b: &[Value<'a>]) -> Option<std::cmp::Ordering> {
    for (x, y) in a.iter().zip(b.iter()) {
        if !py_eq(x, y) {
            return py_cmp(x, y);
        }
    }
    Some(a.len().cmp(&b.len()))
}

// ---------------------------------------------------------------------------------------------
// str / repr

pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let a = f.abs();
    if (1e-4..1e16).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Shortest round-trip mantissa, Python-style exponent (e+20, e-07).
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", e.abs())
    }
}

pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c)
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str(v)` for compile-time values; run-time values give a placeholder text (use print_ln).
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.0.clone(),
        _ => py_repr(v),
    }
}

thread_local! {
    /// Work done by one top-level structural operation (repr, ==): cyclic structures with
    /// fan-out would otherwise take exponential time.
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Most nodes one repr/== visits before giving up on the rest.
const MAX_WORK: u64 = 200_000;

fn work_exhausted() -> bool {
    WORK.with(|w| {
        let n = w.get() + 1;
        w.set(n);
        n > MAX_WORK
    })
}

fn work_reset() {
    WORK.with(|w| w.set(0));
}

pub fn py_repr(v: &Value) -> String {
    work_reset();
    repr_depth(v, 0)
}

fn repr_depth(v: &Value, depth: u32) -> String {
    if depth > 100 || work_exhausted() {
        return "...".into();
    }
    let py_repr = |x: &Value| repr_depth(x, depth + 1);
    match v {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        // Decimal conversion is quadratic: refuse absurdly long ones, as Python does.
        Value::Int(i) if i.bits() > 1 << 16 => format!("<int of {} bits>", i.bits()),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_repr(*f),
        Value::Str(s) => str_repr(&s.0),
        Value::List(l) => {
            let items: Vec<String> = l.v.borrow().iter().map(py_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Tuple(t) => {
            let items: Vec<String> = t.0.iter().map(py_repr).collect();
            if items.len() == 1 {
                format!("({},)", items[0])
            } else {
                format!("({})", items.join(", "))
            }
        }
        Value::Dict(d) => {
            let items: Vec<String> =
                d.m.borrow()
                    .values()
                    .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
                    .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Set(d) => {
            if d.m.borrow().is_empty() {
                return "set()".into();
            }
            let items: Vec<String> = d.m.borrow().values().map(|(k, _)| py_repr(k)).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Range(a, b, c) => {
            if *c == 1 {
                format!("range({a}, {b})")
            } else {
                format!("range({a}, {b}, {c})")
            }
        }
        Value::Func(f) => format!("<function {}>", f.name),
        Value::Builtin(n) => format!("<built-in function {n}>"),
        Value::Class(c) => format!("<class '{}'>", c.name),
        Value::Instance(i) => format!("<{} object>", i.class.name),
        Value::Module(m) => format!("<module '{m}'>"),
        Value::Type(t) => format!("<class '{}'>", t.name()),
        Value::Rt(r) => {
            // Text of a run-time value differs from the unrolled loop's Python int.
            super::symloop::note_violation();
            if r.n == 1 {
                format!("<{}>", r.ty.name())
            } else {
                format!("<{} vector of size {}>", r.ty.name(), r.n)
            }
        }
        other => format!("<{}>", other.type_name()),
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting: `%` and str.format

/// A parsed format spec: [[fill]align][sign][#][0][width][,][.precision][type]
#[derive(Default)]
struct Spec {
    fill: char,
    align: Option<char>,
    sign: Option<char>,
    alt: bool,
    zero: bool,
    width: usize,
    comma: bool,
    precision: Option<usize>,
    ty: Option<char>,
}

fn parse_spec(s: &str) -> Result<Spec> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut sp = Spec {
        fill: ' ',
        ..Spec::default()
    };
    if c.len() >= 2 && matches!(c[1], '<' | '>' | '^' | '=') {
        sp.fill = c[0];
        sp.align = Some(c[1]);
        i = 2;
    } else if !c.is_empty() && matches!(c[0], '<' | '>' | '^' | '=') {
        sp.align = Some(c[0]);
        i = 1;
    }
    if i < c.len() && matches!(c[i], '+' | '-' | ' ') {
        sp.sign = Some(c[i]);
        i += 1;
    }
    if i < c.len() && c[i] == '#' {
        sp.alt = true;
        i += 1;
    }
    if i < c.len() && c[i] == '0' {
        sp.zero = true;
        i += 1;
    }
    let mut w = String::new();
    while i < c.len() && c[i].is_ascii_digit() {
        w.push(c[i]);
        i += 1;
    }
    if !w.is_empty() {
        sp.width = w
            .parse()
            .map_err(|_| value_err("bad width in format spec"))?;
        if sp.width > 10_000 {
            return Err(value_err("format width too large"));
        }
    }
    if i < c.len() && (c[i] == ',' || c[i] == '_') {
        sp.comma = true;
        i += 1;
    }
    if i < c.len() && c[i] == '.' {
        i += 1;
        let mut p = String::new();
        while i < c.len() && c[i].is_ascii_digit() {
            p.push(c[i]);
            i += 1;
        }
        let p: usize = p
            .parse()
            .map_err(|_| value_err("bad precision in format spec"))?;
        if p > 1000 {
            return Err(value_err("format precision too large"));
        }
        sp.precision = Some(p);
    }
    if i < c.len() {
        sp.ty = Some(c[i]);
        i += 1;
    }
    if i != c.len() {
        return Err(value_err(format!("invalid format spec '{s}'")));
    }
    Ok(sp)
}

fn group_thousands(digits: &str) -> String {
    let (int, frac) = match digits.find('.') {
        Some(p) => (&digits[..p], &digits[p..]),
        None => (digits, ""),
    };
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out + frac
}

/// `%e`-style exponent formatting with Python's two-digit exponent.
fn fmt_exp(x: f64, prec: usize, upper: bool) -> String {
    let s = format!("{x:.prec$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    let out = format!("{m}e{sign}{:02}", e.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

/// `%g`-style formatting.
pub fn fmt_general(x: f64, prec: usize, alt: bool) -> String {
    if x == 0.0 {
        return if alt {
            format!("{:.*}", prec.max(1) - 1, 0.0)
        } else {
            "0".into()
        };
    }
    if !x.is_finite() {
        return float_repr(x);
    }
    let p = prec.max(1);
    let exp = {
        let s = format!("{:.*e}", p - 1, x);
        s.split_once('e')
            .map(|(_, e)| e.parse::<i32>().unwrap_or(0))
            .unwrap_or(0)
    };
    let mut s = if exp < -4 || exp >= p as i32 {
        fmt_exp(x, p - 1, false)
    } else {
        format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, x)
    };
    if !alt {
        if let Some(epos) = s.find('e') {
            let (m, e) = s.split_at(epos);
            let m = if m.contains('.') {
                m.trim_end_matches('0').trim_end_matches('.')
            } else {
                m
            };
            s = format!("{m}{e}");
        } else if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
    }
    s
}

fn pad(s: String, sp: &Spec, default_right: bool) -> String {
    let len = s.chars().count();
    if len >= sp.width {
        return s;
    }
    let fillc = if sp.zero && sp.align.is_none() {
        '0'
    } else {
        sp.fill
    };
    let n = sp.width - len;
    let align = sp.align.unwrap_or(if sp.zero {
        '='
    } else if default_right {
        '>'
    } else {
        '<'
    });
    let fill = |k: usize| std::iter::repeat_n(fillc, k).collect::<String>();
    match align {
        '<' => s + &fill(n),
        '^' => fill(n / 2) + &s + &fill(n - n / 2),
        '=' => {
            let (sign, rest) = if s.starts_with(['-', '+', ' ']) {
                s.split_at(1)
            } else {
                ("", s.as_str())
            };
            format!("{sign}{}{rest}", fill(n))
        }
        _ => fill(n) + &s,
    }
}

/// Formats one value with a format spec (the `format()` builtin and `{:spec}`).
pub fn format_value(v: &Value, spec: &str) -> Result<String> {
    let sp = parse_spec(spec)?;
    let signed = |neg: bool, body: String| -> String {
        let sign = if neg {
            "-"
        } else {
            match sp.sign {
                Some('+') => "+",
                Some(' ') => " ",
                _ => "",
            }
        };
        format!("{sign}{body}")
    };
    match (v, sp.ty) {
        (Value::Str(s), None | Some('s')) => {
            let mut t = s.0.clone();
            if let Some(p) = sp.precision {
                t = t.chars().take(p).collect();
            }
            Ok(pad(t, &sp, false))
        }
        (Value::Int(_) | Value::Bool(_), None | Some('d' | 'n' | 'x' | 'X' | 'o' | 'b' | 'c')) => {
            let i = as_int(v).expect("int");
            if i.bits() > 1 << 16 && !matches!(sp.ty, Some('x' | 'X' | 'o' | 'b')) {
                return Err(value_err(format!(
                    "integer of {} bits is too large to format in decimal",
                    i.bits()
                )));
            }
            let b = i.to_big();
            let neg = b.is_negative();
            let m = b.abs();
            let body = match sp.ty {
                Some('x') => format!("{}{:x}", if sp.alt { "0x" } else { "" }, m),
                Some('X') => format!("{}{:X}", if sp.alt { "0X" } else { "" }, m),
                Some('o') => format!("{}{:o}", if sp.alt { "0o" } else { "" }, m),
                Some('b') => format!("{}{:b}", if sp.alt { "0b" } else { "" }, m),
                Some('c') => {
                    let c = i
                        .as_i64()
                        .and_then(|x| u32::try_from(x).ok())
                        .and_then(char::from_u32)
                        .ok_or_else(|| value_err("%c arg not in range"))?;
                    return Ok(pad(c.to_string(), &sp, false));
                }
                _ => {
                    let d = m.to_string();
                    if sp.comma {
                        group_thousands(&d)
                    } else {
                        d
                    }
                }
            };
            Ok(pad(signed(neg, body), &sp, true))
        }
        (
            Value::Int(_) | Value::Bool(_) | Value::Float(_),
            Some('f' | 'F' | 'e' | 'E' | 'g' | 'G' | '%'),
        )
        | (Value::Float(_), None) => {
            let x = as_f64(v).expect("number");
            let neg = x.is_sign_negative() && x != 0.0 || (x == 0.0 && x.is_sign_negative());
            let a = x.abs();
            let body = match sp.ty {
                Some('f' | 'F') => format!("{:.*}", sp.precision.unwrap_or(6), a),
                Some('e') => fmt_exp(a, sp.precision.unwrap_or(6), false),
                Some('E') => fmt_exp(a, sp.precision.unwrap_or(6), true),
                Some('g' | 'G') => fmt_general(a, sp.precision.unwrap_or(6), sp.alt),
                Some('%') => format!("{:.*}%", sp.precision.unwrap_or(6), a * 100.0),
                _ => match sp.precision {
                    Some(p) => fmt_general(a, p, sp.alt),
                    None => float_repr(a),
                },
            };
            let body = if sp.comma {
                group_thousands(&body)
            } else {
                body
            };
            Ok(pad(signed(neg, body), &sp, true))
        }
        (_, None) if spec.is_empty() => Ok(py_str(v)),
        (_, None | Some('s')) => Ok(pad(py_str(v), &sp, false)),
        _ => Err(value_err(format!(
            "unknown format code '{}' for object of type '{}'",
            sp.ty.unwrap_or(' '),
            v.type_name()
        ))),
    }
}

/// `fmt % args` (printf-style).
pub fn percent_format(fmt: &str, args: &Value) -> Result<String> {
    let items: Vec<Value> = match args {
        Value::Tuple(t) => t.0.clone(),
        other => vec![other.clone()],
    };
    let dict = match args {
        Value::Dict(d) => Some(d.clone()),
        _ => None,
    };
    let mut out = String::new();
    let mut it = items.iter();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        if i < chars.len() && chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // %[(name)][flags][width][.prec]type
        let mut key = None;
        if i < chars.len() && chars[i] == '(' {
            let end = chars[i..]
                .iter()
                .position(|&c| c == ')')
                .ok_or_else(|| value_err("incomplete format key"))?;
            key = Some(chars[i + 1..i + end].iter().collect::<String>());
            i += end + 1;
        }
        let mut spec = String::new();
        let mut flags_left = false;
        while i < chars.len() && matches!(chars[i], '-' | '+' | ' ' | '#' | '0') {
            match chars[i] {
                '-' => flags_left = true,
                '0' => spec.push('0'),
                '+' => spec.insert(0, '+'),
                ' ' => spec.insert(0, ' '),
                _ => {}
            }
            i += 1;
        }
        let mut width = String::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            width.push(chars[i]);
            i += 1;
        }
        let mut prec = String::new();
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            prec.push('.');
            while i < chars.len() && chars[i].is_ascii_digit() {
                prec.push(chars[i]);
                i += 1;
            }
            if prec == "." {
                prec.push('0');
            }
        }
        let ty = *chars.get(i).ok_or_else(|| value_err("incomplete format"))?;
        i += 1;
        let arg = match (&key, &dict) {
            (Some(k), Some(d)) => {
                d.m.borrow()
                    .get(&HKey::Str(Rc::from(k.as_str())))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| crate::diagnostics::key_err(format!("'{k}'")))?
            }
            _ => it
                .next()
                .cloned()
                .ok_or_else(|| type_err("not enough arguments for format string"))?,
        };
        let align = if flags_left { "<" } else { "" };
        let zero = if flags_left {
            spec.replace('0', "")
        } else {
            spec
        };
        let text = match ty {
            's' => {
                let s = py_str(&arg);
                format_value(&Value::str(s), &format!("{align}{width}{prec}"))?
            }
            'r' | 'a' => format_value(&Value::str(py_repr(&arg)), &format!("{align}{width}"))?,
            'd' | 'i' | 'u' => {
                let n = match &arg {
                    Value::Float(f) => Value::Int(Int::from_big(BigInt::from(f.trunc() as i128))),
                    a if as_int(a).is_some() => a.clone(),
                    a => {
                        return Err(type_err(format!(
                            "%d format: a number is required, not {}",
                            a.type_name()
                        )))
                    }
                };
                format_value(&n, &format!("{align}{zero}{width}d"))?
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'x' | 'X' | 'o' | 'c' => {
                format_value(&arg, &format!("{align}{zero}{width}{prec}{ty}"))?
            }
            other => return Err(value_err(format!("unsupported format character '{other}'"))),
        };
        out.push_str(&text);
    }
    if dict.is_none() && it.next().is_some() {
        return Err(type_err(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

pub fn float_to_int(f: f64) -> Result<Int> {
    if !f.is_finite() {
        return Err(value_err("cannot convert float infinity or NaN to integer"));
    }
    let t = f.trunc();
    if t.abs() < 9.0e18 {
        Ok(Int::Small(t as i64))
    } else {
        use num_traits::FromPrimitive;
        Ok(Int::from_big(BigInt::from_f64(t).unwrap_or_default()))
    }
}

pub fn parse_int_literal(s: &str) -> Result<Int> {
    let t: String = s.chars().filter(|c| *c != '_').collect();
    let (digits, radix) = if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (r.to_string(), 16)
    } else if let Some(r) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        (r.to_string(), 8)
    } else if let Some(r) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (r.to_string(), 2)
    } else {
        (t, 10)
    };
    let b = BigInt::parse_bytes(digits.as_bytes(), radix)
        .ok_or_else(|| value_err(format!("invalid integer literal {s}")))?;
    big_or_err(b)
}
