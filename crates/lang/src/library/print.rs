//! print_ln and friends: format strings with `%s`, printing run-time values.

use std::rc::Rc;

use ruff_text_size::TextRange;

use super::*;
use crate::diagnostics::{type_err, Result};
use crate::eval::ops::{self};
use crate::eval::{Args, Interp};
use crate::types::array;

pub(super) fn runtime_error<'a>(
    it: &mut Interp<'a>,
    fmt: &Value<'a>,
    args: &[Value<'a>],
) -> Result<()> {
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

pub(super) fn print_value<'a>(
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
            // MP-SPDZ prints a regint with `print_int`, which is not vectorised: a regint
            // vector prints its element 0 only.
            let r = if r.ty == RtType::Regint && r.n > 1 {
                it.vec_slice(r, 0, 1)?
            } else {
                r
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
            if a.shape.len() == 1 && a.elem == RtType::Regint {
                // MP-SPDZ prints an Array as `print_str('%s', a[:])`: element 0 of a regint
                // vector.
                let r = array::load_all(it, a)?;
                print_value(it, &Value::Rt(r), to, parts)?;
            } else if a.shape.len() == 1 && !a.elem.is_secret() {
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
            if matches!(v, Value::Tuple(_)) && items.len() == 1 {
                // Python's one-element tuple: (x,)
                parts.push(PrintPart::Text(it.b.string(",")));
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
