//! Expressions, attribute and item access, iteration.

use std::rc::Rc;

use ruff_python_ast as ast;
use ruff_python_ast::{CmpOp, Expr, Operator, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use super::ops;
use super::{Args, Interp};
use crate::budgets::BudgetKind;
use crate::diagnostics::{
    attr_err, index_err, key_err, type_err, unsupported, value_err, Error, ErrorKind, Result,
};
use crate::values::*;

/// A lazy iterator over a compile-time iterable.
pub enum PyIter<'a> {
    Range { cur: i64, stop: i64, step: i64 },
    Items(std::vec::IntoIter<Value<'a>>),
}

impl<'a> Iterator for PyIter<'a> {
    type Item = Result<Value<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            PyIter::Range { cur, stop, step } => {
                if (*step > 0 && *cur < *stop) || (*step < 0 && *cur > *stop) {
                    let v = *cur;
                    *cur = cur.saturating_add(*step);
                    Some(Ok(Value::int(v)))
                } else {
                    None
                }
            }
            PyIter::Items(it) => it.next().map(Ok),
        }
    }
}

pub fn runtime_branch_error(v: &Value) -> Error {
    let what = v.type_name();
    let secret = matches!(v, Value::Rt(r) if r.ty.is_secret())
        || matches!(v, Value::MemValue(m) if m.elem.is_secret());
    let msg = if secret {
        format!("cannot branch on a secret value ({what}) with Python control flow")
    } else {
        format!("cannot branch on a run-time value ({what}) with Python control flow")
    };
    Error::new(ErrorKind::RuntimeBranch, msg).with_advice(if secret {
        "Python `if`/`while`/`and`/`or`/`not` run at compile time and a secret is unknown then; \
         compute both results and select with `cond.if_else(a, b)` (or `if_else(cond, a, b)`), \
         or reveal a public condition and use `@if_(c)` / `@if_e(c)` ... `@else_`"
    } else {
        "Python `if`/`while`/`and`/`or`/`not` run at compile time; for a run-time condition use \
         `@if_(cond)` or `@if_e(cond)` ... `@else_` (or `@while_do`), or select values with `if_else`"
    })
}

impl<'a> Interp<'a> {
    pub fn eval(&mut self, e: &'a Expr, env: &Rc<Scope<'a>>) -> Result<Value<'a>> {
        self.tracker.step()?;
        self.expr_depth += 1;
        if self.expr_depth > self.tracker.budgets.max_recursion_depth.saturating_mul(16) {
            self.expr_depth -= 1;
            return Err(self
                .tracker
                .exceeded(
                    BudgetKind::RecursionDepth,
                    "expression nested too deeply".into(),
                )
                .at(e.range()));
        }
        let r = self.eval_inner(e, env);
        self.expr_depth -= 1;
        r.map_err(|err| self.fix_budget(err).at(e.range()))
    }

    /// Evaluates a condition for Python control flow: must be a compile-time value.
    pub fn cond(&mut self, e: &'a Expr, env: &Rc<Scope<'a>>) -> Result<bool> {
        let v = self.eval(e, env)?;
        self.truthy(&v).map_err(|err| err.at(e.range()))
    }

    pub fn truthy(&mut self, v: &Value<'a>) -> Result<bool> {
        Ok(match v {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => !i.is_zero(),
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.0.is_empty(),
            Value::List(l) => l.len() > 0,
            Value::Tuple(t) => !t.0.is_empty(),
            Value::Dict(d) | Value::Set(d) => !d.m.borrow().is_empty(),
            Value::Range(a, b, c) => range_len(*a, *b, *c) > 0,
            Value::Array(a) => a.len() > 0,
            Value::Rt(_) | Value::MemValue(_) => return Err(runtime_branch_error(v)),
            Value::Instance(i) => {
                if let Some(f) = i.class.lookup("__bool__") {
                    let r = self.call_pos(&f, vec![v.clone()], TextRange::default())?;
                    return self.truthy(&r);
                }
                if let Some(f) = i.class.lookup("__len__") {
                    let r = self.call_pos(&f, vec![v.clone()], TextRange::default())?;
                    return self.truthy(&r);
                }
                true
            }
            _ => true,
        })
    }

    fn eval_inner(&mut self, e: &'a Expr, env: &Rc<Scope<'a>>) -> Result<Value<'a>> {
        match e {
            Expr::NumberLiteral(n) => Ok(match &n.value {
                ast::Number::Int(i) => match i.as_i64() {
                    Some(x) => Value::int(x),
                    None => Value::Int(ops::parse_int_literal(&i.to_string())?),
                },
                ast::Number::Float(f) => Value::Float(*f),
                ast::Number::Complex { .. } => return Err(unsupported("complex numbers")),
            }),
            Expr::StringLiteral(s) => Ok(Value::str(s.value.to_str())),
            Expr::BooleanLiteral(b) => Ok(Value::Bool(b.value)),
            Expr::NoneLiteral(_) => Ok(Value::None),
            Expr::EllipsisLiteral(_) => Ok(Value::None),
            Expr::BytesLiteral(_) => Err(unsupported("bytes literals")),
            Expr::FString(f) => self.eval_fstring(f, env),
            Expr::TString(_) => Err(unsupported("template strings")),
            Expr::Name(n) => self.lookup(n.id.as_str(), env),
            Expr::List(l) => {
                let v = self.eval_elts(&l.elts, env)?;
                Ok(Value::list(v))
            }
            Expr::Tuple(t) => {
                let v = self.eval_elts(&t.elts, env)?;
                Ok(Value::tuple(v))
            }
            Expr::Set(s) => {
                let v = self.eval_elts(&s.elts, env)?;
                let d = DictObj::new(Default::default());
                for x in v {
                    d.insert(ops::hkey(&x)?, x, Value::None);
                }
                Ok(Value::Set(d))
            }
            Expr::Dict(d) => {
                let out = DictObj::new(Default::default());
                for item in &d.items {
                    match &item.key {
                        Some(k) => {
                            let k = self.eval(k, env)?;
                            let v = self.eval(&item.value, env)?;
                            out.insert(ops::hkey(&k)?, k, v);
                        }
                        None => {
                            let m = self.eval(&item.value, env)?;
                            let Value::Dict(src) = m else {
                                return Err(type_err("** in a dict display needs a dict"));
                            };
                            for (hk, (k, v)) in src.m.borrow().iter() {
                                out.insert(hk.clone(), k.clone(), v.clone());
                            }
                        }
                    }
                }
                Ok(Value::Dict(out))
            }
            Expr::BinOp(b) => {
                let l = self.eval(&b.left, env)?;
                let r = self.eval(&b.right, env)?;
                self.binop(l, b.op, r)
            }
            Expr::UnaryOp(u) => {
                let v = self.eval(&u.operand, env)?;
                self.unary(u.op, v)
            }
            Expr::BoolOp(b) => {
                let mut last = Value::None;
                for (i, x) in b.values.iter().enumerate() {
                    last = self.eval(x, env)?;
                    if i + 1 == b.values.len() {
                        break;
                    }
                    let t = self.truthy(&last).map_err(|e| e.at(x.range()))?;
                    match b.op {
                        ast::BoolOp::And if !t => return Ok(last),
                        ast::BoolOp::Or if t => return Ok(last),
                        _ => {}
                    }
                }
                Ok(last)
            }
            Expr::Compare(c) => {
                let mut left = self.eval(&c.left, env)?;
                let mut result = Value::Bool(true);
                for (i, (op, rexpr)) in c.ops.iter().zip(c.comparators.iter()).enumerate() {
                    let right = self.eval(rexpr, env)?;
                    let r = self.compare(&left, *op, &right)?;
                    if i + 1 == c.ops.len() {
                        return Ok(r);
                    }
                    if !self.truthy(&r)? {
                        return Ok(r);
                    }
                    result = r;
                    left = right;
                }
                Ok(result)
            }
            Expr::If(i) => {
                if self.cond(&i.test, env)? {
                    self.eval(&i.body, env)
                } else {
                    self.eval(&i.orelse, env)
                }
            }
            Expr::Named(n) => {
                let v = self.eval(&n.value, env)?;
                self.assign(&n.target, v.clone(), env)?;
                Ok(v)
            }
            Expr::Lambda(l) => self.make_lambda(l, env),
            Expr::Call(c) => {
                let f = self.eval(&c.func, env)?;
                let args = self.eval_args(&c.arguments, env)?;
                self.cur_range = c.range;
                self.call(&f, args, c.range)
            }
            Expr::Attribute(a) => {
                let v = self.eval(&a.value, env)?;
                self.getattr(&v, a.attr.id.as_str())
                    .map_err(|e| e.at(a.attr.range))
            }
            Expr::Subscript(s) => {
                let v = self.eval(&s.value, env)?;
                let idx = self.eval(&s.slice, env)?;
                self.cur_range = s.range;
                self.get_item(&v, &idx)
            }
            Expr::Slice(s) => {
                let mut part = |x: &'a Option<Box<Expr>>| -> Result<Value<'a>> {
                    match x {
                        Some(e) => self.eval(e, env),
                        None => Ok(Value::None),
                    }
                };
                let lo = part(&s.lower)?;
                let hi = part(&s.upper)?;
                let st = part(&s.step)?;
                Ok(Value::Slice(Rc::new([lo, hi, st])))
            }
            Expr::Starred(_) => Err(unsupported("starred expression here")),
            Expr::ListComp(c) => {
                let out = ListObj::new(Vec::new());
                let o = out.clone();
                self.comprehension(&c.generators, env, &mut |this, scope| {
                    let v = this.eval(&c.elt, scope)?;
                    o.push(v);
                    Ok(())
                })?;
                Ok(Value::List(out))
            }
            Expr::Generator(c) => {
                let out = ListObj::new(Vec::new());
                let o = out.clone();
                self.comprehension(&c.generators, env, &mut |this, scope| {
                    let v = this.eval(&c.elt, scope)?;
                    o.push(v);
                    Ok(())
                })?;
                Ok(Value::List(out))
            }
            Expr::SetComp(c) => {
                let out = DictObj::new(Default::default());
                let o = out.clone();
                self.comprehension(&c.generators, env, &mut |this, scope| {
                    let v = this.eval(&c.elt, scope)?;
                    o.insert(ops::hkey(&v)?, v, Value::None);
                    Ok(())
                })?;
                Ok(Value::Set(out))
            }
            Expr::DictComp(c) => {
                let out = DictObj::new(Default::default());
                let o = out.clone();
                self.comprehension(&c.generators, env, &mut |this, scope| {
                    let k = this.eval(&c.key, scope)?;
                    let v = this.eval(&c.value, scope)?;
                    o.insert(ops::hkey(&k)?, k, v);
                    Ok(())
                })?;
                Ok(Value::Dict(out))
            }
            Expr::Await(_) | Expr::Yield(_) | Expr::YieldFrom(_) => {
                Err(unsupported("await/yield are not supported"))
            }
            Expr::IpyEscapeCommand(_) => Err(unsupported("IPython escape commands")),
        }
    }

    fn eval_elts(&mut self, elts: &'a [Expr], env: &Rc<Scope<'a>>) -> Result<Vec<Value<'a>>> {
        let mut out = Vec::with_capacity(elts.len());
        for e in elts {
            if let Expr::Starred(s) = e {
                let v = self.eval(&s.value, env)?;
                for x in self.iterate(&v)? {
                    out.push(x?);
                }
            } else {
                out.push(self.eval(e, env)?);
            }
        }
        Ok(out)
    }

    pub fn eval_args(&mut self, a: &'a ast::Arguments, env: &Rc<Scope<'a>>) -> Result<Args<'a>> {
        let pos = self.eval_elts(&a.args, env)?;
        let mut kw = Vec::new();
        for k in a.keywords.iter() {
            let v = self.eval(&k.value, env)?;
            match &k.arg {
                Some(name) => kw.push((Rc::from(name.id.as_str()), v)),
                None => {
                    let Value::Dict(d) = v else {
                        return Err(type_err("argument after ** must be a dict").at(k.range));
                    };
                    for (_, (key, val)) in d.m.borrow().iter() {
                        let Value::Str(s) = key else {
                            return Err(type_err("keywords must be strings"));
                        };
                        kw.push((Rc::from(s.0.as_str()), val.clone()));
                    }
                }
            }
        }
        Ok(Args { pos, kw })
    }

    fn comprehension(
        &mut self,
        gens: &'a [ast::Comprehension],
        env: &Rc<Scope<'a>>,
        body: &mut dyn FnMut(&mut Self, &Rc<Scope<'a>>) -> Result<()>,
    ) -> Result<()> {
        let scope = Rc::new(Scope {
            vars: Default::default(),
            parent: Some(env.clone()),
            info: None,
            kind: ScopeKind::Function,
        });
        self.track_scope(&scope);
        // The first iterable is evaluated in the enclosing scope.
        let first = self.eval(&gens[0].iter, env)?;
        self.comp_level(gens, 0, Some(first), &scope, body)
    }

    fn comp_level(
        &mut self,
        gens: &'a [ast::Comprehension],
        i: usize,
        iterable: Option<Value<'a>>,
        scope: &Rc<Scope<'a>>,
        body: &mut dyn FnMut(&mut Self, &Rc<Scope<'a>>) -> Result<()>,
    ) -> Result<()> {
        if i == gens.len() {
            return body(self, scope);
        }
        let g = &gens[i];
        let it = match iterable {
            Some(v) => v,
            None => self.eval(&g.iter, scope)?,
        };
        'items: for item in self.iterate(&it)? {
            self.tracker.step()?;
            self.assign(&g.target, item?, scope)?;
            for cond in &g.ifs {
                if !self.cond(cond, scope)? {
                    continue 'items;
                }
            }
            self.comp_level(gens, i + 1, None, scope, body)?;
        }
        Ok(())
    }

    fn eval_fstring(&mut self, f: &'a ast::ExprFString, env: &Rc<Scope<'a>>) -> Result<Value<'a>> {
        let mut out = String::new();
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => out.push_str(&l.value),
                ast::FStringPart::FString(fs) => {
                    self.fstring_elements(&fs.elements, env, &mut out)?
                }
            }
        }
        Ok(Value::str(out))
    }

    fn fstring_elements(
        &mut self,
        els: &'a ast::InterpolatedStringElements,
        env: &Rc<Scope<'a>>,
        out: &mut String,
    ) -> Result<()> {
        for el in els.iter() {
            match el {
                ast::InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                ast::InterpolatedStringElement::Interpolation(i) => {
                    let v = self.eval(&i.expression, env)?;
                    if v.is_runtime() {
                        return Err(type_err(format!(
                            "cannot format a run-time value ({}) into a compile-time string",
                            v.type_name()
                        ))
                        .with_advice("use print_ln('... %s ...', value) to print run-time values")
                        .at(i.expression.range()));
                    }
                    if let Some(d) = &i.debug_text {
                        out.push_str(&d.leading);
                        out.push_str(&self.src[i.expression.range()]);
                        out.push_str(&d.trailing);
                    }
                    let v = match i.conversion {
                        ast::ConversionFlag::Repr | ast::ConversionFlag::Ascii => {
                            Value::str(ops::py_repr(&v))
                        }
                        ast::ConversionFlag::Str => Value::str(ops::py_str(&v)),
                        ast::ConversionFlag::None => v,
                    };
                    let spec = match &i.format_spec {
                        Some(s) => {
                            let mut t = String::new();
                            self.fstring_elements(&s.elements, env, &mut t)?;
                            t
                        }
                        None => String::new(),
                    };
                    out.push_str(&ops::format_value(&v, &spec)?);
                }
            }
        }
        Ok(())
    }

    // ---- operators --------------------------------------------------------------------------

    pub fn binop(&mut self, l: Value<'a>, op: Operator, r: Value<'a>) -> Result<Value<'a>> {
        if self.symbolic.is_some()
            && op == Operator::Div
            && [&l, &r]
                .iter()
                .any(|v| matches!(v, Value::Rt(x) if x.ty == RtType::Regint))
        {
            // `i / 2` is a Python float when the loop unrolls, a C division of regints here.
            return Err(Error::new(
                ErrorKind::Unsupported,
                "true division of a regint inside a speculative loop",
            ));
        }
        if !l.is_runtime() && !r.is_runtime() {
            if let Some(v) = ops::py_binop(&l, op, &r)? {
                return Ok(v);
            }
        }
        if let Value::Instance(i) = &l {
            if let Some(f) = i.class.lookup(dunder(op, false)) {
                return self.call_pos(&f, vec![l.clone(), r], TextRange::default());
            }
        }
        if let Value::Instance(i) = &r {
            if let Some(f) = i.class.lookup(dunder(op, true)) {
                return self.call_pos(&f, vec![r.clone(), l], TextRange::default());
            }
        }
        if l.is_runtime() || r.is_runtime() {
            return crate::types::binop(self, l, op, r);
        }
        Err(type_err(format!(
            "unsupported operand type(s) for {}: '{}' and '{}'",
            op.as_str(),
            l.type_name(),
            r.type_name()
        )))
    }

    pub fn unary(&mut self, op: UnaryOp, v: Value<'a>) -> Result<Value<'a>> {
        match (op, &v) {
            (UnaryOp::Not, _) => Ok(Value::Bool(!self.truthy(&v)?)),
            (_, Value::Rt(_) | Value::MemValue(_)) => crate::types::unary(self, op, v),
            (UnaryOp::USub, Value::Int(i)) => Ok(Value::Int(ops::int_sub(&Int::Small(0), i)?)),
            (UnaryOp::USub, Value::Bool(b)) => Ok(Value::int(-(*b as i64))),
            (UnaryOp::USub, Value::Float(f)) => Ok(Value::Float(-f)),
            (UnaryOp::UAdd, Value::Int(_) | Value::Float(_)) => Ok(v),
            (UnaryOp::UAdd, Value::Bool(b)) => Ok(Value::int(*b as i64)),
            (UnaryOp::Invert, Value::Int(i)) => Ok(Value::Int(ops::int_sub(&Int::Small(-1), i)?)),
            (UnaryOp::Invert, Value::Bool(b)) => Ok(Value::int(-1 - *b as i64)),
            (_, Value::Instance(i)) => {
                let name = match op {
                    UnaryOp::USub => "__neg__",
                    UnaryOp::UAdd => "__pos__",
                    UnaryOp::Invert => "__invert__",
                    UnaryOp::Not => unreachable!(),
                };
                let f = i.class.lookup(name).ok_or_else(|| {
                    type_err(format!("bad operand type for unary {}", op.as_str()))
                })?;
                self.call_pos(&f, vec![v.clone()], TextRange::default())
            }
            _ => Err(type_err(format!(
                "bad operand type for unary {}: '{}'",
                op.as_str(),
                v.type_name()
            ))),
        }
    }

    pub fn compare(&mut self, l: &Value<'a>, op: CmpOp, r: &Value<'a>) -> Result<Value<'a>> {
        match op {
            CmpOp::Is => return Ok(Value::Bool(ops::py_is(l, r))),
            CmpOp::IsNot => return Ok(Value::Bool(!ops::py_is(l, r))),
            CmpOp::In => return Ok(Value::Bool(self.contains(r, l)?)),
            CmpOp::NotIn => return Ok(Value::Bool(!self.contains(r, l)?)),
            _ => {}
        }
        if l.is_runtime() || r.is_runtime() {
            return crate::types::compare(self, l.clone(), op, r.clone());
        }
        if let Value::Instance(i) = l {
            let name = match op {
                CmpOp::Eq => "__eq__",
                CmpOp::NotEq => "__ne__",
                CmpOp::Lt => "__lt__",
                CmpOp::LtE => "__le__",
                CmpOp::Gt => "__gt__",
                _ => "__ge__",
            };
            if let Some(f) = i.class.lookup(name) {
                return self.call_pos(&f, vec![l.clone(), r.clone()], TextRange::default());
            }
        }
        match op {
            CmpOp::Eq => Ok(Value::Bool(ops::py_eq(l, r))),
            CmpOp::NotEq => Ok(Value::Bool(!ops::py_eq(l, r))),
            _ => {
                let ord = ops::py_cmp(l, r).ok_or_else(|| {
                    type_err(format!(
                        "'{}' not supported between instances of '{}' and '{}'",
                        op.as_str(),
                        l.type_name(),
                        r.type_name()
                    ))
                })?;
                use std::cmp::Ordering::*;
                Ok(Value::Bool(match op {
                    CmpOp::Lt => ord == Less,
                    CmpOp::LtE => ord != Greater,
                    CmpOp::Gt => ord == Greater,
                    _ => ord != Less,
                }))
            }
        }
    }

    pub fn contains(&mut self, container: &Value<'a>, x: &Value<'a>) -> Result<bool> {
        Ok(match container {
            Value::Str(s) => match x {
                Value::Str(t) => s.0.contains(t.0.as_str()),
                _ => return Err(type_err("'in <string>' requires string as left operand")),
            },
            Value::Dict(d) | Value::Set(d) => {
                if x.is_runtime() {
                    return Err(runtime_branch_error(x));
                }
                d.m.borrow().contains_key(&ops::hkey(x)?)
            }
            Value::Range(a, b, c) => match ops::as_int(x).and_then(|i| i.as_i64()) {
                Some(i) => {
                    let in_bounds = if *c > 0 {
                        i >= *a && i < *b
                    } else {
                        i <= *a && i > *b
                    };
                    in_bounds && (i - a) % c == 0
                }
                None => false,
            },
            _ if self.symbolic.is_some() && x.is_runtime() && !container.is_runtime() => {
                // Membership of a run-time value in a compile-time container is decided by
                // identity only: inside a speculative loop that would differ from unrolling.
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "a run-time value tested for membership in a compile-time container",
                ));
            }
            Value::Instance(i) if i.class.lookup("__contains__").is_some() => {
                let f = i.class.lookup("__contains__").expect("checked");
                let r =
                    self.call_pos(&f, vec![container.clone(), x.clone()], TextRange::default())?;
                self.truthy(&r)?
            }
            _ => {
                for item in self.iterate(container)? {
                    let item = item?;
                    if ops::py_is(&item, x)
                        || (!item.is_runtime() && !x.is_runtime() && ops::py_eq(&item, x))
                    {
                        return Ok(true);
                    }
                }
                false
            }
        })
    }

    // ---- iteration ----------------------------------------------------------------------------

    pub fn iterate(&mut self, v: &Value<'a>) -> Result<PyIter<'a>> {
        Ok(match v {
            Value::Range(a, b, c) => PyIter::Range {
                cur: *a,
                stop: *b,
                step: *c,
            },
            Value::List(l) => PyIter::Items(l.v.borrow().clone().into_iter()),
            Value::Tuple(t) => PyIter::Items(t.0.clone().into_iter()),
            Value::Str(s) => PyIter::Items(
                s.0.chars()
                    .map(|c| Value::str(c.to_string()))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Value::Dict(d) | Value::Set(d) => PyIter::Items(
                d.m.borrow()
                    .values()
                    .map(|(k, _)| k.clone())
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Value::Array(_) | Value::Rt(_) => {
                PyIter::Items(crate::types::iterate(self, v)?.into_iter())
            }
            Value::Instance(i) => {
                if let Some(f) = i.class.lookup("__iter__") {
                    let r = self.call_pos(&f, vec![v.clone()], TextRange::default())?;
                    return self.iterate(&r);
                }
                return Err(type_err(format!(
                    "'{}' object is not iterable",
                    i.class.name
                )));
            }
            other => {
                return Err(type_err(format!(
                    "'{}' object is not iterable",
                    other.type_name()
                )))
            }
        })
    }

    pub fn collect(&mut self, v: &Value<'a>) -> Result<Vec<Value<'a>>> {
        if let Value::Range(a, b, c) = v {
            let n = range_len(*a, *b, *c);
            self.tracker
                .check_memory(n.saturating_mul(SLOT_BYTES as u64))?;
        }
        self.iterate(v)?.collect()
    }

    // ---- attributes -----------------------------------------------------------------------------

    pub fn getattr(&mut self, v: &Value<'a>, name: &str) -> Result<Value<'a>> {
        match v {
            Value::Instance(i) => {
                if let Some(x) = i.attrs.borrow().get(name) {
                    return Ok(x.clone());
                }
                if let Some(x) = i.class.lookup(name) {
                    return Ok(match x {
                        Value::Func(_) => Value::Bound(Rc::new((v.clone(), x))),
                        Value::Partial(_) => Value::Bound(Rc::new((v.clone(), x))),
                        // Methods of built-in classes (re's Pattern and Match).
                        Value::Builtin(b) if crate::pyre::is_method(b) => {
                            Value::Bound(Rc::new((v.clone(), x)))
                        }
                        other => other,
                    });
                }
                if name == "__class__" {
                    return Ok(Value::Class(i.class.clone()));
                }
                Err(attr_err(format!(
                    "'{}' object has no attribute '{name}'",
                    i.class.name
                )))
            }
            Value::Class(c) => {
                if name == "__name__" {
                    return Ok(Value::str(c.name.to_string()));
                }
                c.lookup(name).ok_or_else(|| {
                    attr_err(format!(
                        "type object '{}' has no attribute '{name}'",
                        c.name
                    ))
                })
            }
            Value::Module(_) => self.module_attr(v, name),
            Value::Func(f) if name == "__name__" => Ok(Value::str(f.name.to_string())),
            _ => crate::builtins::getattr(self, v, name),
        }
    }

    pub fn module_attr(&mut self, m: &Value<'a>, name: &str) -> Result<Value<'a>> {
        let Value::Module(mname) = m else {
            return Err(internal_err());
        };
        crate::builtins::module_attr(self, mname, name).ok_or_else(|| {
            attr_err(format!("module '{mname}' has no attribute '{name}'"))
                .with_advice("see docs/LANG.md for the supported library")
        })
    }

    pub fn setattr(&mut self, obj: &Value<'a>, name: &str, v: Value<'a>) -> Result<()> {
        match obj {
            Value::Instance(i) => {
                self.guard_mutation(i.born, "attribute assignment")?;
                i.attrs.borrow_mut().insert(Rc::from(name), v);
                Ok(())
            }
            Value::Class(c) => {
                self.guard_mutation(0, "class attribute assignment")?;
                c.attrs.borrow_mut().insert(Rc::from(name), v);
                Ok(())
            }
            _ => crate::types::setattr(self, obj, name, v),
        }
    }

    // ---- items ------------------------------------------------------------------------------------

    pub fn seq_index(&self, idx: &Value<'a>, len: usize) -> Result<usize> {
        let i = match idx {
            Value::Int(Int::Small(i)) => *i,
            Value::Bool(b) => *b as i64,
            Value::Int(_) => return Err(index_err("index out of range")),
            other => {
                return Err(type_err(format!(
                    "indices must be integers or slices, not {}",
                    other.type_name()
                )))
            }
        };
        let j = if i < 0 { i + len as i64 } else { i };
        if j < 0 || j >= len as i64 {
            return Err(index_err(format!(
                "index {i} out of range for length {len}"
            )));
        }
        Ok(j as usize)
    }

    /// Python slice.indices(len).
    pub fn slice_indices(&self, s: &[Value<'a>; 3], len: usize) -> Result<(i64, i64, i64)> {
        let get = |v: &Value| -> Result<Option<i64>> {
            match v {
                Value::None => Ok(None),
                Value::Int(Int::Small(i)) => Ok(Some(*i)),
                Value::Bool(b) => Ok(Some(*b as i64)),
                Value::Int(i) => Ok(Some(if i.is_negative() {
                    i64::MIN / 2
                } else {
                    i64::MAX / 2
                })),
                other => Err(type_err(format!(
                    "slice indices must be integers or None, not {}",
                    other.type_name()
                ))),
            }
        };
        let len = len as i64;
        let step = get(&s[2])?.unwrap_or(1);
        if step == 0 {
            return Err(value_err("slice step cannot be zero"));
        }
        let clamp = |x: Option<i64>, dflt: i64, lo: i64, hi: i64| -> i64 {
            match x {
                None => dflt,
                Some(v) => {
                    let v = if v < 0 { v + len } else { v };
                    v.clamp(lo, hi)
                }
            }
        };
        let (start, stop) = if step > 0 {
            (
                clamp(get(&s[0])?, 0, 0, len),
                clamp(get(&s[1])?, len, 0, len),
            )
        } else {
            (
                clamp(get(&s[0])?, len - 1, -1, len - 1),
                clamp(get(&s[1])?, -1, -1, len - 1),
            )
        };
        Ok((start, stop, step))
    }

    pub fn get_item(&mut self, v: &Value<'a>, idx: &Value<'a>) -> Result<Value<'a>> {
        match (v, idx) {
            (Value::List(l), Value::Slice(s)) => {
                let items = l.v.borrow();
                let (a, b, c) = self.slice_indices(s, items.len())?;
                Ok(Value::list(
                    super::stmt::slice_positions(a, b, c).into_iter().map(|i| items[i].clone()).collect(),
                ))
            }
            (Value::Tuple(t), Value::Slice(s)) => {
                let (a, b, c) = self.slice_indices(s, t.0.len())?;
                Ok(Value::tuple(
                    super::stmt::slice_positions(a, b, c).into_iter().map(|i| t.0[i].clone()).collect(),
                ))
            }
            (Value::Str(st), Value::Slice(s)) => {
                let chars: Vec<char> = st.0.chars().collect();
                let (a, b, c) = self.slice_indices(s, chars.len())?;
                Ok(Value::str(
                    super::stmt::slice_positions(a, b, c).into_iter().map(|i| chars[i]).collect::<String>(),
                ))
            }
            (Value::Range(a, b, c), Value::Slice(s)) => {
                let n = range_len(*a, *b, *c) as usize;
                let (x, y, z) = self.slice_indices(s, n)?;
                Ok(Value::Range(a + x * c, a + y * c, c * z))
            }
            (Value::List(l), _) if !idx.is_runtime() => {
                let items = l.v.borrow();
                let i = self.seq_index(idx, items.len())?;
                Ok(items[i].clone())
            }
            (Value::Tuple(t), _) if !idx.is_runtime() => {
                let i = self.seq_index(idx, t.0.len())?;
                Ok(t.0[i].clone())
            }
            (Value::Str(s), _) => {
                let n = s.0.chars().count();
                let i = self.seq_index(idx, n)?;
                Ok(Value::str(s.0.chars().nth(i).expect("in range").to_string()))
            }
            (Value::Range(a, b, c), _) => {
                let n = range_len(*a, *b, *c) as usize;
                let i = self.seq_index(idx, n)?;
                Ok(Value::int(a + i as i64 * c))
            }
            (Value::Dict(d), _) => {
                let k = ops::hkey(idx)?;
                d.m.borrow()
                    .get(&k)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| key_err(ops::py_repr(idx)))
            }
            (Value::List(_) | Value::Tuple(_), _) => Err(type_err(format!(
                "a Python list cannot be indexed by a run-time value ({})",
                idx.type_name()
            ))
            .with_advice("lists exist only at compile time; store the values in an Array (e.g. `a = sint.Array(n)`) to index them at run time")),
            (Value::Instance(i), _) => {
                let f = i.class.lookup("__getitem__").ok_or_else(|| {
                    type_err(format!("'{}' object is not subscriptable", i.class.name))
                })?;
                self.call_pos(&f, vec![v.clone(), idx.clone()], TextRange::default())
            }
            (Value::Array(_) | Value::Rt(_) | Value::Type(_), _) => crate::types::get_item(self, v, idx),
            _ => Err(type_err(format!(
                "'{}' object is not subscriptable",
                v.type_name()
            ))),
        }
    }

    pub fn set_item(&mut self, obj: &Value<'a>, idx: Value<'a>, v: Value<'a>) -> Result<()> {
        match obj {
            Value::List(l) => self.guard_mutation(l.born, "item assignment")?,
            Value::Dict(d) => self.guard_mutation(d.born, "item assignment")?,
            _ => {}
        }
        match obj {
            Value::List(l) => self.track_list(l),
            Value::Dict(d) => self.track_dict(d),
            _ => {}
        }
        match obj {
            Value::List(l) => {
                if let Value::Slice(s) = &idx {
                    let items: Vec<Value<'a>> = self.collect(&v)?;
                    let len = l.len();
                    let (a, b, c) = self.slice_indices(s, len)?;
                    if c == 1 {
                        let b = b.max(a);
                        l.v.borrow_mut().splice(a as usize..b as usize, items);
                    } else {
                        let pos = super::stmt::slice_positions(a, b, c);
                        if pos.len() != items.len() {
                            return Err(value_err(format!(
                                "attempt to assign sequence of size {} to extended slice of size {}",
                                items.len(),
                                pos.len()
                            )));
                        }
                        let mut lv = l.v.borrow_mut();
                        for (p, x) in pos.into_iter().zip(items) {
                            lv[p] = x;
                        }
                    }
                    l.sync();
                    return Ok(());
                }
                if idx.is_runtime() {
                    return Err(
                        type_err("a Python list cannot be indexed by a run-time value")
                            .with_advice("use an Array for run-time indexing"),
                    );
                }
                let i = self.seq_index(&idx, l.len())?;
                l.v.borrow_mut()[i] = v;
                Ok(())
            }
            Value::Dict(d) => {
                d.insert(ops::hkey(&idx)?, idx, v);
                Ok(())
            }
            Value::Instance(i) => {
                let f = i.class.lookup("__setitem__").ok_or_else(|| {
                    type_err(format!(
                        "'{}' object does not support item assignment",
                        i.class.name
                    ))
                })?;
                self.call_pos(&f, vec![obj.clone(), idx, v], TextRange::default())?;
                Ok(())
            }
            Value::Array(_) => crate::types::set_item(self, obj, idx, v),
            other => Err(type_err(format!(
                "'{}' object does not support item assignment",
                other.type_name()
            ))),
        }
    }
}

pub fn range_len(a: i64, b: i64, c: i64) -> u64 {
    if c > 0 && b > a {
        ((b as i128 - a as i128 + c as i128 - 1) / c as i128) as u64
    } else if c < 0 && a > b {
        ((a as i128 - b as i128 - c as i128 - 1) / (-c as i128)) as u64
    } else {
        0
    }
}

fn dunder(op: Operator, reflected: bool) -> &'static str {
    use Operator::*;
    match (op, reflected) {
        (Add, false) => "__add__",
        (Add, true) => "__radd__",
        (Sub, false) => "__sub__",
        (Sub, true) => "__rsub__",
        (Mult, false) => "__mul__",
        (Mult, true) => "__rmul__",
        (MatMult, false) => "__matmul__",
        (MatMult, true) => "__rmatmul__",
        (Div, false) => "__truediv__",
        (Div, true) => "__rtruediv__",
        (FloorDiv, false) => "__floordiv__",
        (FloorDiv, true) => "__rfloordiv__",
        (Mod, false) => "__mod__",
        (Mod, true) => "__rmod__",
        (Pow, false) => "__pow__",
        (Pow, true) => "__rpow__",
        (LShift, false) => "__lshift__",
        (LShift, true) => "__rlshift__",
        (RShift, false) => "__rshift__",
        (RShift, true) => "__rrshift__",
        (BitAnd, false) => "__and__",
        (BitAnd, true) => "__rand__",
        (BitOr, false) => "__or__",
        (BitOr, true) => "__ror__",
        (BitXor, false) => "__xor__",
        (BitXor, true) => "__rxor__",
    }
}

fn internal_err() -> Error {
    crate::diagnostics::internal("bad module value")
}
