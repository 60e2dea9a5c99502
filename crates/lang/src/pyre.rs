//! Python's `re` module at compile time, on the `regex` crate (linear-time matching, bounded
//! compiled size, so a hostile pattern cannot stall or exhaust the compiler).
//!
//! Patterns use Python's syntax where the two agree (classes, groups, `(?P<name>...)`, flags
//! `(?imsx)`, `\A`, `\Z`, `\b`, `\d`, `\w`, `\s`, lazy quantifiers). Backreferences and
//! lookaround, which need backtracking, are refused with an error naming them. Positions are
//! character indices, as in Python. `Pattern` and `Match` objects are instances of built-in
//! classes whose methods are the `__re_*` built-ins below.

use std::rc::Rc;

use regex::{Captures, Regex, RegexBuilder};
use ruff_text_size::TextRange;

use crate::diagnostics::{type_err, unsupported, value_err, Result};
use crate::eval::ops::{as_int, hkey};
use crate::eval::{Args, Interp};
use crate::values::*;

/// Python's flag values.
const IGNORECASE: i64 = 2;
const MULTILINE: i64 = 8;
const DOTALL: i64 = 16;
const VERBOSE: i64 = 64;

/// Module-level functions of `re`.
const FNS: &[&str] = &[
    "compile",
    "search",
    "match",
    "fullmatch",
    "findall",
    "finditer",
    "sub",
    "subn",
    "split",
    "escape",
    "purge",
];

/// Methods of Pattern objects (built-in names called with the pattern first).
const PATTERN_METHODS: &[(&str, &str)] = &[
    ("search", "__re_p_search"),
    ("match", "__re_p_match"),
    ("fullmatch", "__re_p_fullmatch"),
    ("findall", "__re_p_findall"),
    ("finditer", "__re_p_finditer"),
    ("sub", "__re_p_sub"),
    ("subn", "__re_p_subn"),
    ("split", "__re_p_split"),
];

/// Methods of Match objects.
const MATCH_METHODS: &[(&str, &str)] = &[
    ("group", "__re_m_group"),
    ("groups", "__re_m_groups"),
    ("groupdict", "__re_m_groupdict"),
    ("start", "__re_m_start"),
    ("end", "__re_m_end"),
    ("span", "__re_m_span"),
    ("__getitem__", "__re_m_group"),
];

/// Whether a built-in name belongs to this module's objects.
pub fn is_method(name: &str) -> bool {
    name.starts_with("__re_")
}

/// The built-in name for a method name (static strings for `Value::Builtin`).
fn builtin_name(name: &str) -> Option<&'static str> {
    PATTERN_METHODS
        .iter()
        .chain(MATCH_METHODS)
        .find(|(_, b)| *b == name)
        .map(|(_, b)| *b)
}

pub fn module_attr<'a>(name: &str) -> Option<Value<'a>> {
    let flag = match name {
        "I" | "IGNORECASE" => Some(IGNORECASE),
        "M" | "MULTILINE" => Some(MULTILINE),
        "S" | "DOTALL" => Some(DOTALL),
        "X" | "VERBOSE" => Some(VERBOSE),
        "A" | "ASCII" => Some(256),
        "U" | "UNICODE" => Some(32),
        "NOFLAG" => Some(0),
        _ => None,
    };
    if let Some(f) = flag {
        return Some(Value::int(f));
    }
    FNS.iter()
        .find(|n| **n == name)
        .map(|n| Value::Native(Rc::new((Value::Module("re"), *n))))
}

/// Creates the `Pattern` and `Match` classes (installed as hidden built-ins).
pub fn install(it: &mut Interp) {
    for (cname, methods) in [
        ("__re_Pattern", PATTERN_METHODS),
        ("__re_Match", MATCH_METHODS),
    ] {
        let attrs = methods
            .iter()
            .map(|(m, b)| (Rc::from(*m), Value::Builtin(b)))
            .collect();
        let class = Rc::new(Class {
            name: Rc::from(cname.trim_start_matches("__re_")),
            bases: Vec::new(),
            attrs: std::cell::RefCell::new(attrs),
        });
        it.cycle_classes.push(Rc::downgrade(&class));
        it.builtins.insert(cname, Value::Class(class));
    }
    let _ = builtin_name;
}

/// Translates a Python pattern into the regex crate's syntax, refusing what needs
/// backtracking.
fn translate(p: &str, flags: i64) -> Result<String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut f = String::new();
    if flags & IGNORECASE != 0 {
        f.push('i');
    }
    if flags & MULTILINE != 0 {
        f.push('m');
    }
    if flags & DOTALL != 0 {
        f.push('s');
    }
    if flags & VERBOSE != 0 {
        f.push('x');
    }
    if !f.is_empty() {
        out.push_str(&format!("(?{f})"));
    }
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let d = chars[i + 1];
            match d {
                'Z' => out.push_str(r"\z"),
                '1'..='9' => {
                    return Err(unsupported(format!(
                        "re: the backreference \\{d} in {p:?} is not supported"
                    ))
                    .with_advice("patterns run on a linear-time engine without backtracking; match the groups separately and compare them"))
                }
                _ => {
                    out.push(c);
                    out.push(d);
                }
            }
            i += 2;
            continue;
        }
        if c == '(' && chars.get(i + 1) == Some(&'?') {
            let rest: String = chars[i + 2..chars.len().min(i + 5)].iter().collect();
            if rest.starts_with('=')
                || rest.starts_with('!')
                || rest.starts_with("<=")
                || rest.starts_with("<!")
            {
                return Err(
                    unsupported(format!("re: lookaround in {p:?} is not supported")).with_advice(
                        "patterns run on a linear-time engine without backtracking; \
                         capture the context in a group instead",
                    ),
                );
            }
            if rest.starts_with("P=") {
                return Err(unsupported(format!(
                    "re: the named backreference in {p:?} is not supported"
                ))
                .with_advice("match the groups separately and compare them"));
            }
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

fn build(p: &str, flags: i64, anchor: Anchor) -> Result<Regex> {
    let body = translate(p, flags)?;
    let full = match anchor {
        Anchor::None => body,
        Anchor::Start => format!(r"\A(?:{body})"),
        Anchor::Full => format!(r"\A(?:{body})\z"),
    };
    RegexBuilder::new(&full)
        .size_limit(1 << 21)
        .dfa_size_limit(1 << 21)
        .nest_limit(200)
        .build()
        .map_err(|e| {
            let msg = e.to_string();
            let short = msg.lines().last().unwrap_or(&msg).trim().to_string();
            value_err(format!("re: invalid or unsupported pattern {p:?}: {short}"))
        })
}

#[derive(Clone, Copy)]
enum Anchor {
    None,
    Start,
    Full,
}

/// A pattern argument: a string or a Pattern object (its pattern and flags).
fn pattern_of(v: &Value, flags: i64) -> Result<(String, i64)> {
    match v {
        Value::Str(s) => Ok((s.0.clone(), flags)),
        Value::Instance(i) if &*i.class.name == "Pattern" => {
            let a = i.attrs.borrow();
            let p = match a.get("pattern") {
                Some(Value::Str(s)) => s.0.clone(),
                _ => return Err(type_err("re: not a pattern")),
            };
            let f = a
                .get("flags")
                .and_then(as_int)
                .and_then(|i| i.as_i64())
                .unwrap_or(0);
            Ok((p, f | flags))
        }
        other => Err(type_err(format!(
            "re: first argument must be a string or compiled pattern, not {}",
            other.type_name()
        ))),
    }
}

fn str_arg(v: &Value, what: &str) -> Result<String> {
    match v {
        Value::Str(s) => Ok(s.0.clone()),
        other => Err(type_err(format!(
            "re: {what} must be a string, not {}",
            other.type_name()
        ))
        .with_advice("re works on compile-time strings (program names, arguments, constants)")),
    }
}

fn int_arg(v: Option<Value>, default: i64) -> Result<i64> {
    match v {
        None | Some(Value::None) => Ok(default),
        Some(v) => as_int(&v)
            .and_then(|i| i.as_i64())
            .ok_or_else(|| type_err("re: expected an integer")),
    }
}

/// Byte offset of each character boundary (index = char position), plus the end.
fn char_offsets(s: &str) -> Vec<usize> {
    let mut v: Vec<usize> = s.char_indices().map(|(b, _)| b).collect();
    v.push(s.len());
    v
}

/// Character position of a byte offset.
fn char_pos(offs: &[usize], byte: usize) -> i64 {
    offs.partition_point(|&b| b < byte) as i64
}

fn clamp_pos(p: i64, n: usize) -> usize {
    if p < 0 {
        0
    } else {
        (p as usize).min(n)
    }
}

/// Everything a Match object holds, in character positions.
#[allow(clippy::too_many_arguments)]
fn make_match<'a>(
    it: &mut Interp<'a>,
    re: &Regex,
    caps: &Captures,
    s: &Rc<StrObj>,
    offs: &[usize],
    base: usize,
    pattern: Value<'a>,
    pos: i64,
    endpos: i64,
) -> Value<'a> {
    let mut spans = Vec::new();
    let mut last = Value::None;
    let mut last_end = -1i64;
    for g in 0..caps.len() {
        match caps.get(g) {
            Some(m) => {
                let (a, b) = (
                    char_pos(offs, base + m.start()),
                    char_pos(offs, base + m.end()),
                );
                if g > 0 && b >= last_end {
                    // lastindex: the last group closed (approximately: the one ending last).
                    last = Value::int(g as i64);
                    last_end = b;
                }
                spans.push(Value::tuple(vec![Value::int(a), Value::int(b)]));
            }
            None => spans.push(Value::None),
        }
    }
    let names = DictObj::new(Default::default());
    for (i, n) in re.capture_names().enumerate() {
        if let Some(n) = n {
            let k = Value::str(n);
            if let Ok(h) = hkey(&k) {
                names.insert(h, k, Value::int(i as i64));
            }
        }
    }
    let class = match it.builtins.get("__re_Match") {
        Some(Value::Class(c)) => c.clone(),
        _ => unreachable!("re classes are installed"),
    };
    let inst = Rc::new(Instance {
        class,
        attrs: Default::default(),
        born: crate::values::birth(),
    });
    it.track_instance(&inst);
    {
        let mut a = inst.attrs.borrow_mut();
        a.insert(Rc::from("string"), Value::Str(s.clone()));
        a.insert(Rc::from("re"), pattern);
        a.insert(Rc::from("pos"), Value::int(pos));
        a.insert(Rc::from("endpos"), Value::int(endpos));
        a.insert(Rc::from("lastindex"), last);
        a.insert(Rc::from("_spans"), Value::list(spans));
        a.insert(Rc::from("_names"), Value::Dict(names));
    }
    Value::Instance(inst)
}

fn make_pattern<'a>(it: &mut Interp<'a>, p: &str, flags: i64, re: &Regex) -> Value<'a> {
    let class = match it.builtins.get("__re_Pattern") {
        Some(Value::Class(c)) => c.clone(),
        _ => unreachable!("re classes are installed"),
    };
    let inst = Rc::new(Instance {
        class,
        attrs: Default::default(),
        born: crate::values::birth(),
    });
    it.track_instance(&inst);
    let groupindex = DictObj::new(Default::default());
    for (i, n) in re.capture_names().enumerate() {
        if let Some(n) = n {
            let k = Value::str(n);
            if let Ok(h) = hkey(&k) {
                groupindex.insert(h, k, Value::int(i as i64));
            }
        }
    }
    {
        let mut a = inst.attrs.borrow_mut();
        a.insert(Rc::from("pattern"), Value::str(p));
        a.insert(Rc::from("flags"), Value::int(flags));
        a.insert(Rc::from("groups"), Value::int(re.captures_len() as i64 - 1));
        a.insert(Rc::from("groupindex"), Value::Dict(groupindex));
    }
    Value::Instance(inst)
}

/// `re.X(...)` and `pattern.X(...)`: `recv` is the pattern object for methods.
pub fn call<'a>(
    it: &mut Interp<'a>,
    name: &str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    if let Some(m) = name.strip_prefix("__re_m_") {
        let me = a.req(0, "self", m)?;
        a.pos.remove(0);
        return match_method(it, &me, m, a);
    }
    let (method, p, flags, pattern_obj) = match name.strip_prefix("__re_p_") {
        Some(m) => {
            let me = a.req(0, "self", m)?;
            a.pos.remove(0);
            let (p, f) = pattern_of(&me, 0)?;
            (m, p, f, Some(me))
        }
        None => {
            if name == "escape" {
                let s = str_arg(&a.req(0, "pattern", "escape")?, "pattern")?;
                let mut out = String::new();
                for c in s.chars() {
                    if !(c.is_alphanumeric() || c == '_') && c.is_ascii() {
                        out.push('\\');
                    }
                    out.push(c);
                }
                return Ok(Value::str(out));
            }
            if name == "purge" {
                return Ok(Value::None);
            }
            let pv = a.req(0, "pattern", name)?;
            a.pos.remove(0);
            // The flags argument's position differs between functions.
            let flag_pos = match name {
                "compile" => 0,
                "sub" | "subn" => 3,
                "split" => 2,
                _ => 1,
            };
            let flags = int_arg(a.arg(flag_pos, "flags"), 0)?;
            if a.pos.len() > flag_pos {
                a.pos.truncate(flag_pos);
            }
            let (p, f) = pattern_of(&pv, flags)?;
            if name == "compile" {
                let re = build(&p, f, Anchor::None)?;
                return Ok(make_pattern(it, &p, f, &re));
            }
            (name, p, f, None)
        }
    };
    let re = build(&p, flags, Anchor::None)?;
    let pat_val = match pattern_obj {
        Some(v) => v,
        None => make_pattern(it, &p, flags, &re),
    };
    match method {
        "search" | "match" | "fullmatch" => {
            let s = match a.req(0, "string", method)? {
                Value::Str(s) => s,
                other => return Err(str_arg(&other, "string").unwrap_err()),
            };
            let offs = char_offsets(&s.0);
            let n = offs.len() - 1;
            let pos = clamp_pos(int_arg(a.arg(1, "pos"), 0)?, n);
            let endpos = clamp_pos(int_arg(a.arg(2, "endpos"), n as i64)?, n).max(pos);
            let (bpos, bend) = (offs[pos], offs[endpos]);
            let (re2, hay, base, start) = match method {
                "search" => (re.clone(), &s.0[..bend], 0, bpos),
                "match" => (build(&p, flags, Anchor::Start)?, &s.0[bpos..bend], bpos, 0),
                _ => (build(&p, flags, Anchor::Full)?, &s.0[bpos..bend], bpos, 0),
            };
            it.tracker.step()?;
            match re2.captures_at(hay, start) {
                Some(c) => Ok(make_match(
                    it,
                    &re2,
                    &c,
                    &s,
                    &offs,
                    base,
                    pat_val,
                    pos as i64,
                    endpos as i64,
                )),
                None => Ok(Value::None),
            }
        }
        "findall" | "finditer" => {
            let s = match a.req(0, "string", method)? {
                Value::Str(s) => s,
                other => return Err(str_arg(&other, "string").unwrap_err()),
            };
            let offs = char_offsets(&s.0);
            let mut out = Vec::new();
            for c in re.captures_iter(&s.0) {
                it.tracker.step()?;
                if method == "finditer" {
                    let n = offs.len() as i64 - 1;
                    out.push(make_match(it, &re, &c, &s, &offs, 0, pat_val.clone(), 0, n));
                    continue;
                }
                let text =
                    |g: usize| Value::str(c.get(g).map(|m| m.as_str()).unwrap_or("").to_string());
                out.push(match c.len() {
                    1 => text(0),
                    2 => text(1),
                    k => Value::tuple((1..k).map(text).collect()),
                });
            }
            Ok(Value::list(out))
        }
        "sub" | "subn" => {
            let repl = a.req(0, "repl", method)?;
            let s = match a.req(1, "string", method)? {
                Value::Str(s) => s,
                other => return Err(str_arg(&other, "string").unwrap_err()),
            };
            let count = int_arg(a.arg(2, "count"), 0)?;
            let offs = char_offsets(&s.0);
            let mut out = String::new();
            let mut last = 0;
            let mut n = 0i64;
            for c in re.captures_iter(&s.0) {
                it.tracker.step()?;
                if count > 0 && n >= count {
                    break;
                }
                let m = c.get(0).expect("group 0");
                out.push_str(&s.0[last..m.start()]);
                match &repl {
                    Value::Str(t) => expand(&t.0, &c, &re, &mut out)?,
                    f => {
                        let mv = make_match(
                            it,
                            &re,
                            &c,
                            &s,
                            &offs,
                            0,
                            pat_val.clone(),
                            0,
                            offs.len() as i64 - 1,
                        );
                        let r = it.call_pos(f, vec![mv], site)?;
                        out.push_str(&str_arg(&r, "the replacement function's result")?);
                    }
                }
                it.tracker.check_memory(out.len() as u64)?;
                last = m.end();
                n += 1;
            }
            out.push_str(&s.0[last..]);
            if method == "subn" {
                Ok(Value::tuple(vec![Value::str(out), Value::int(n)]))
            } else {
                Ok(Value::str(out))
            }
        }
        "split" => {
            let s = match a.req(0, "string", method)? {
                Value::Str(s) => s,
                other => return Err(str_arg(&other, "string").unwrap_err()),
            };
            let maxsplit = int_arg(a.arg(1, "maxsplit"), 0)?;
            let mut out = Vec::new();
            let mut last = 0;
            for (n, c) in re.captures_iter(&s.0).enumerate() {
                it.tracker.step()?;
                if maxsplit > 0 && n as i64 >= maxsplit {
                    break;
                }
                let m = c.get(0).expect("group 0");
                out.push(Value::str(&s.0[last..m.start()]));
                for g in 1..c.len() {
                    out.push(match c.get(g) {
                        Some(x) => Value::str(x.as_str()),
                        None => Value::None,
                    });
                }
                last = m.end();
            }
            out.push(Value::str(&s.0[last..]));
            Ok(Value::list(out))
        }
        other => Err(unsupported(format!("re.{other}"))),
    }
}

/// Expands a Python replacement template (`\1`, `\g<name>`, `\g<1>`, `\n`, `\\`).
fn expand(t: &str, c: &Captures, re: &Regex, out: &mut String) -> Result<()> {
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    let group = |out: &mut String, g: &str| -> Result<()> {
        let idx = match g.parse::<usize>() {
            Ok(i) => Some(i),
            Err(_) => re.capture_names().position(|n| n == Some(g)),
        };
        match idx {
            Some(i) if i < c.len() => {
                if let Some(m) = c.get(i) {
                    out.push_str(m.as_str());
                }
                Ok(())
            }
            _ => Err(value_err(format!("re: invalid group reference {g:?}"))),
        }
    };
    while i < chars.len() {
        let ch = chars[i];
        if ch != '\\' || i + 1 == chars.len() {
            out.push(ch);
            i += 1;
            continue;
        }
        let d = chars[i + 1];
        i += 2;
        match d {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            'g' => {
                if chars.get(i) != Some(&'<') {
                    return Err(value_err("re: missing < after \\g in the replacement"));
                }
                let close = chars[i..]
                    .iter()
                    .position(|&x| x == '>')
                    .ok_or_else(|| value_err("re: missing > in \\g<...>"))?;
                let name: String = chars[i + 1..i + close].iter().collect();
                group(out, &name)?;
                i += close + 1;
            }
            '0'..='9' => {
                let mut g = d.to_string();
                if let Some(e) = chars.get(i).filter(|x| x.is_ascii_digit()) {
                    g.push(*e);
                    i += 1;
                }
                group(out, &g)?;
            }
            x if x.is_ascii_alphabetic() => {
                return Err(value_err(format!(
                    "re: bad escape \\{x} in the replacement"
                )))
            }
            x => {
                out.push('\\');
                out.push(x);
            }
        }
    }
    Ok(())
}

fn match_method<'a>(
    it: &mut Interp<'a>,
    me: &Value<'a>,
    m: &str,
    mut a: Args<'a>,
) -> Result<Value<'a>> {
    let Value::Instance(inst) = me else {
        return Err(type_err("not a match object"));
    };
    let (spans, names, s) = {
        let at = inst.attrs.borrow();
        let spans = match at.get("_spans") {
            Some(Value::List(l)) => l.v.borrow().clone(),
            _ => return Err(type_err("not a match object")),
        };
        let names = at.get("_names").cloned();
        let s = match at.get("string") {
            Some(Value::Str(s)) => s.clone(),
            _ => return Err(type_err("not a match object")),
        };
        (spans, names, s)
    };
    let index = |g: &Value| -> Result<usize> {
        if let Some(i) = as_int(g).and_then(|i| i.as_i64()) {
            if i >= 0 && (i as usize) < spans.len() {
                return Ok(i as usize);
            }
            return Err(crate::diagnostics::Error::new(
                crate::diagnostics::ErrorKind::Index,
                "no such group",
            ));
        }
        if let (Value::Str(n), Some(Value::Dict(d))) = (g, &names) {
            if let Ok(h) = hkey(&Value::Str(n.clone())) {
                if let Some((_, v)) = d.m.borrow().get(&h) {
                    if let Some(i) = as_int(v).and_then(|i| i.as_i64()) {
                        return Ok(i as usize);
                    }
                }
            }
        }
        Err(crate::diagnostics::Error::new(
            crate::diagnostics::ErrorKind::Index,
            "no such group",
        ))
    };
    let span = |i: usize| -> Option<(i64, i64)> {
        match &spans[i] {
            Value::Tuple(t) => Some((
                as_int(&t.0[0]).and_then(|x| x.as_i64()).unwrap_or(-1),
                as_int(&t.0[1]).and_then(|x| x.as_i64()).unwrap_or(-1),
            )),
            _ => None,
        }
    };
    let text = |i: usize, default: &Value<'a>| -> Value<'a> {
        match span(i) {
            Some((x, y)) => Value::str(
                s.0.chars()
                    .skip(x as usize)
                    .take((y - x).max(0) as usize)
                    .collect::<String>(),
            ),
            None => default.clone(),
        }
    };
    let _ = it;
    Ok(match m {
        "group" => {
            if a.pos.is_empty() {
                return Ok(text(0, &Value::None));
            }
            if a.pos.len() == 1 {
                let i = index(&a.pos[0])?;
                return Ok(text(i, &Value::None));
            }
            let mut out = Vec::new();
            for g in &a.pos {
                out.push(text(index(g)?, &Value::None));
            }
            Value::tuple(out)
        }
        "groups" => {
            let d = a.arg(0, "default").unwrap_or(Value::None);
            Value::tuple((1..spans.len()).map(|i| text(i, &d)).collect())
        }
        "groupdict" => {
            let d = a.arg(0, "default").unwrap_or(Value::None);
            let out = DictObj::new(Default::default());
            if let Some(Value::Dict(nd)) = &names {
                let entries: Vec<(Value, Value)> =
                    nd.m.borrow()
                        .values()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                for (k, v) in entries {
                    let i = as_int(&v).and_then(|i| i.as_i64()).unwrap_or(0) as usize;
                    out.insert(hkey(&k)?, k, text(i, &d));
                }
            }
            Value::Dict(out)
        }
        "start" | "end" | "span" => {
            let g = a.arg(0, "group").unwrap_or(Value::int(0));
            let (x, y) = span(index(&g)?).unwrap_or((-1, -1));
            match m {
                "start" => Value::int(x),
                "end" => Value::int(y),
                _ => Value::tuple(vec![Value::int(x), Value::int(y)]),
            }
        }
        _ => return Err(unsupported(format!("Match.{m}"))),
    })
}
