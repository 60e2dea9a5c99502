//! Statements.

use std::rc::Rc;

use ruff_python_ast as ast;
use ruff_python_ast::Stmt;
use ruff_text_size::Ranged;

use super::ops;
use super::{Args, Flow, Interp};
use crate::diagnostics::{type_err, unsupported, value_err, Error, ErrorKind, Result};
use crate::values::*;

fn is_else_def(s: &Stmt) -> bool {
    if let Stmt::FunctionDef(f) = s {
        return f.decorator_list.iter().any(|d| match &d.expression {
            ast::Expr::Name(n) => n.id.as_str() == "else_",
            ast::Expr::Attribute(a) => a.attr.id.as_str() == "else_",
            _ => false,
        });
    }
    false
}

impl<'a> Interp<'a> {
    pub fn exec_block(&mut self, body: &'a [Stmt], env: &Rc<Scope<'a>>) -> Result<Flow<'a>> {
        self.block_depth += 1;
        let r = self.exec_block_inner(body, env);
        // An @if_e at the end of this block without an @else_: close it here.
        let settle = self.settle_else(self.block_depth);
        self.block_depth -= 1;
        let flow = r?;
        settle?;
        Ok(flow)
    }

    fn exec_block_inner(&mut self, body: &'a [Stmt], env: &Rc<Scope<'a>>) -> Result<Flow<'a>> {
        for s in body {
            if !self.pending_else.is_empty() && !is_else_def(s) {
                self.settle_else(self.block_depth)?;
            }
            let flow = self
                .exec_stmt(s, env)
                .map_err(|e| self.fix_budget(e).at(s.range()))?;
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Places the end label of pending `@if_e` blocks opened at `depth` or deeper.
    pub fn settle_else(&mut self, depth: usize) -> Result<()> {
        while let Some(p) = self.pending_else.last() {
            if p.block_depth < depth || p.frame != self.b.frame_id() {
                break;
            }
            let p = self.pending_else.pop().expect("nonempty");
            if let Some(end) = p.end {
                self.b.place(end);
                self.b.branch_end();
            }
        }
        Ok(())
    }

    fn exec_stmt(&mut self, s: &'a Stmt, env: &Rc<Scope<'a>>) -> Result<Flow<'a>> {
        self.tracker.code_bytes =
            self.b.instr_count * crate::emit::INSTR_BYTES + self.b.operand_bytes;
        self.tracker.step()?;
        match s {
            Stmt::Expr(e) => {
                self.eval(&e.value, env)?;
            }
            Stmt::Assign(a) => {
                let v = self.eval(&a.value, env)?;
                for t in &a.targets {
                    self.assign(t, v.clone(), env)?;
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    let v = self.eval(v, env)?;
                    self.assign(&a.target, v, env)?;
                }
            }
            Stmt::AugAssign(a) => self.aug_assign(a, env)?,
            Stmt::Pass(_) | Stmt::Global(_) | Stmt::Nonlocal(_) => {}
            Stmt::Return(r) => {
                let v = match &r.value {
                    Some(e) => self.eval(e, env)?,
                    None => Value::None,
                };
                return Ok(Flow::Return(v));
            }
            Stmt::If(i) if self.symbolic.is_some() => {
                // Inside a large loop compiled as a run-time loop: a public run-time
                // condition becomes a run-time branch (see `symloop`).
                let v = self.eval(&i.test, env)?;
                if matches!(&v, Value::Rt(r) if !r.ty.is_secret()) {
                    return self.runtime_if(v, &i.body, &i.elif_else_clauses, env);
                }
                if self.truthy(&v).map_err(|e| e.at(i.test.range()))? {
                    return self.exec_block(&i.body, env);
                }
                for c in &i.elif_else_clauses {
                    let take = match &c.test {
                        Some(t) => self.cond(t, env)?,
                        None => true,
                    };
                    if take {
                        return self.exec_block(&c.body, env);
                    }
                }
            }
            Stmt::If(i) => {
                if self.cond(&i.test, env)? {
                    return self.exec_block(&i.body, env);
                }
                for c in &i.elif_else_clauses {
                    let take = match &c.test {
                        Some(t) => self.cond(t, env)?,
                        None => true,
                    };
                    if take {
                        return self.exec_block(&c.body, env);
                    }
                }
            }
            Stmt::While(w) => loop {
                if !self.cond(&w.test, env)? {
                    return self.exec_block(&w.orelse, env);
                }
                match self.exec_block(&w.body, env)? {
                    Flow::Break => break,
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    _ => {}
                }
            },
            Stmt::For(f) => {
                if f.is_async {
                    return Err(unsupported("async for"));
                }
                let it = self.eval(&f.iter, env)?;
                if let Value::Range(a, b, c) = it {
                    if let Some(flow) = self.try_runtime_for(f, (a, b, c), env)? {
                        return Ok(flow);
                    }
                }
                let items = self.iterate(&it).map_err(|e| e.at(f.iter.range()))?;
                for item in items {
                    let item = item?;
                    self.assign(&f.target, item, env)?;
                    match self.exec_block(&f.body, env)? {
                        Flow::Break => return Ok(Flow::Normal),
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
                return self.exec_block(&f.orelse, env);
            }
            Stmt::Break(_) => return Ok(Flow::Break),
            Stmt::Continue(_) => return Ok(Flow::Continue),
            Stmt::FunctionDef(f) => self.exec_def(f, env)?,
            Stmt::ClassDef(c) => self.exec_class(c, env)?,
            Stmt::Assert(a) => {
                if !self.cond(&a.test, env)? {
                    let msg = match &a.msg {
                        Some(m) => {
                            let v = self.eval(m, env)?;
                            ops::py_str(&v)
                        }
                        None => String::new(),
                    };
                    let text = if msg.is_empty() {
                        "assertion failed".to_string()
                    } else {
                        format!("assertion failed: {msg}")
                    };
                    return Err(Error::new(ErrorKind::Assertion, text).at(a.test.range()));
                }
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let name = alias.name.id.as_str();
                    let module = crate::builtins::module(name).ok_or_else(|| import_error(name))?;
                    match &alias.asname {
                        Some(a) => self.store(a.id.as_str(), module, env),
                        None => {
                            // `import Compiler.types` binds `Compiler`.
                            let first = name.split('.').next().unwrap_or(name);
                            let v = crate::builtins::module(first).unwrap_or(module);
                            self.store(first, v, env)
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map(|m| m.id.as_str()).unwrap_or("");
                if i.level > 0 {
                    return Err(import_error(&format!(
                        "{}{module}",
                        ".".repeat(i.level as usize)
                    )));
                }
                let m = crate::builtins::module(module).ok_or_else(|| import_error(module))?;
                for alias in &i.names {
                    let name = alias.name.id.as_str();
                    if name == "*" {
                        // Everything is already in scope.
                        continue;
                    }
                    let full = format!("{module}.{name}");
                    let v = match crate::builtins::module(&full) {
                        Some(sub) => sub,
                        None => self.module_attr(&m, name).map_err(|_| {
                            if crate::builtins::unsupported_module(&full).is_some() {
                                return import_error(&full);
                            }
                            import_error(&full).with_advice(format!(
                                "`{name}` is not provided by this compiler's `{module}`; see docs/LANG.md for the supported names"
                            ))
                        })?,
                    };
                    let bind = alias.asname.as_ref().unwrap_or(&alias.name).id.as_str();
                    self.store(bind, v, env);
                }
            }
            Stmt::Try(t) => return self.exec_try(t, env),
            Stmt::Raise(r) => {
                let e = match &r.exc {
                    Some(x) => {
                        let v = self.eval(x, env)?;
                        self.make_raise(v)
                    }
                    None => Error::new(ErrorKind::Value, "re-raised exception"),
                };
                return Err(e.at(r.range));
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.delete_target(t, env)?;
                }
            }
            Stmt::With(_) => {
                return Err(
                    unsupported("`with` statements are not supported").with_advice(
                        "use the decorator forms (@for_range, @if_, ...) for run-time blocks",
                    ),
                )
            }
            Stmt::Match(_) => return Err(unsupported("`match` statements are not supported")),
            Stmt::TypeAlias(_) => return Err(unsupported("`type` aliases are not supported")),
            Stmt::IpyEscapeCommand(_) => return Err(unsupported("IPython escape commands")),
        }
        Ok(Flow::Normal)
    }

    fn make_raise(&mut self, v: Value<'a>) -> Error {
        match &v {
            Value::Class(c) => {
                let kind = super::class_exception_kind(c).unwrap_or(ErrorKind::Value);
                Error::new(kind, c.name.to_string())
            }
            Value::Instance(i) => {
                let kind = super::class_exception_kind(&i.class).unwrap_or(ErrorKind::Value);
                let msg = i
                    .attrs
                    .borrow()
                    .get("args")
                    .map(ops::py_str)
                    .unwrap_or_default();
                let text = if msg.is_empty() {
                    i.class.name.to_string()
                } else {
                    format!("{}: {msg}", i.class.name)
                };
                let mut e = Error::new(kind, text);
                if kind == ErrorKind::Value && i.class.name.as_ref() == "CompilerError" {
                    e = e.with_advice("raised by the program itself");
                }
                e
            }
            other => type_err(format!(
                "exceptions must derive from BaseException, not {}",
                other.type_name()
            )),
        }
    }

    fn exec_try(&mut self, t: &'a ast::StmtTry, env: &Rc<Scope<'a>>) -> Result<Flow<'a>> {
        let r = self.exec_block(&t.body, env);
        let r = match r {
            Err(e) if e.catchable() => {
                let mut handled = None;
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let matches = match &h.type_ {
                        None => true,
                        Some(ty) => {
                            let tv = self.eval(ty, env)?;
                            exception_matches(&tv, &e)
                        }
                    };
                    if matches {
                        if let Some(n) = &h.name {
                            // str(e) is the message without the "ClassName: " prefix.
                            let msg = match e.message.split_once(": ") {
                                Some((cls, rest))
                                    if !cls.is_empty()
                                        && cls.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                                {
                                    rest.to_string()
                                }
                                _ => e.message.clone(),
                            };
                            self.store(n.id.as_str(), Value::str(msg), env);
                        }
                        handled = Some(self.exec_block(&h.body, env));
                        break;
                    }
                }
                match handled {
                    Some(r) => r,
                    None => Err(e),
                }
            }
            Ok(Flow::Normal) => self.exec_block(&t.orelse, env),
            other => other,
        };
        if !t.finalbody.is_empty() {
            match self.exec_block(&t.finalbody, env)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        r
    }

    fn delete_target(&mut self, t: &'a ast::Expr, env: &Rc<Scope<'a>>) -> Result<()> {
        match t {
            ast::Expr::Name(n) => self.delete(n.id.as_str(), env),
            ast::Expr::Subscript(s) => {
                let obj = self.eval(&s.value, env)?;
                let idx = self.eval(&s.slice, env)?;
                match obj {
                    Value::List(l) => {
                        let len = l.len();
                        if let Value::Slice(sl) = &idx {
                            let (start, stop, step) = self.slice_indices(sl, len)?;
                            let keep: Vec<Value<'a>> = {
                                let v = l.v.borrow();
                                let del: std::collections::HashSet<usize> =
                                    slice_positions(start, stop, step).into_iter().collect();
                                v.iter()
                                    .enumerate()
                                    .filter(|(i, _)| !del.contains(i))
                                    .map(|(_, x)| x.clone())
                                    .collect()
                            };
                            *l.v.borrow_mut() = keep;
                        } else {
                            let i = self.seq_index(&idx, len)?;
                            l.v.borrow_mut().remove(i);
                        }
                        l.sync();
                        Ok(())
                    }
                    Value::Dict(d) => {
                        let k = ops::hkey(&idx)?;
                        if d.m.borrow_mut().shift_remove(&k).is_none() {
                            return Err(crate::diagnostics::key_err(ops::py_repr(&idx)));
                        }
                        d.sync();
                        Ok(())
                    }
                    other => Err(type_err(format!(
                        "'{}' object does not support item deletion",
                        other.type_name()
                    ))),
                }
            }
            ast::Expr::Attribute(a) => {
                let obj = self.eval(&a.value, env)?;
                if let Value::Instance(i) = obj {
                    i.attrs.borrow_mut().remove(a.attr.id.as_str());
                    return Ok(());
                }
                Err(type_err("cannot delete this attribute"))
            }
            ast::Expr::Tuple(t) => {
                for e in &t.elts {
                    self.delete_target(e, env)?;
                }
                Ok(())
            }
            _ => Err(unsupported("cannot delete this expression")),
        }
    }

    fn aug_assign(&mut self, a: &'a ast::StmtAugAssign, env: &Rc<Scope<'a>>) -> Result<()> {
        match &*a.target {
            ast::Expr::Name(n) => {
                let cur = self.lookup(n.id.as_str(), env).map_err(|e| e.at(n.range))?;
                let rhs = self.eval(&a.value, env)?;
                // Lists extend in place.
                if let (Value::List(l), ruff_python_ast::Operator::Add) = (&cur, a.op) {
                    self.track_list(l);
                    let items: Vec<Value<'a>> = self.iterate(&rhs)?.collect::<Result<_>>()?;
                    l.v.borrow_mut().extend(items);
                    l.sync();
                    return Ok(());
                }
                let v = self.binop(cur, a.op, rhs)?;
                self.store(n.id.as_str(), v, env);
                Ok(())
            }
            ast::Expr::Subscript(s) => {
                let obj = self.eval(&s.value, env)?;
                let idx = self.eval(&s.slice, env)?;
                let cur = self.get_item(&obj, &idx)?;
                let rhs = self.eval(&a.value, env)?;
                let v = self.binop(cur, a.op, rhs)?;
                self.set_item(&obj, idx, v)
            }
            ast::Expr::Attribute(at) => {
                let obj = self.eval(&at.value, env)?;
                let cur = self.getattr(&obj, at.attr.id.as_str())?;
                let rhs = self.eval(&a.value, env)?;
                let v = self.binop(cur, a.op, rhs)?;
                self.setattr(&obj, at.attr.id.as_str(), v)
            }
            _ => Err(unsupported("augmented assignment to this target")),
        }
    }

    /// Assigns `v` to a target expression (names, attributes, items, unpacking).
    pub fn assign(&mut self, t: &'a ast::Expr, v: Value<'a>, env: &Rc<Scope<'a>>) -> Result<()> {
        match t {
            ast::Expr::Name(n) => {
                self.store(n.id.as_str(), v, env);
                Ok(())
            }
            ast::Expr::Attribute(a) => {
                let obj = self.eval(&a.value, env)?;
                self.setattr(&obj, a.attr.id.as_str(), v)
                    .map_err(|e| e.at(a.range))
            }
            ast::Expr::Subscript(s) => {
                let obj = self.eval(&s.value, env)?;
                let idx = self.eval(&s.slice, env)?;
                self.cur_range = s.range;
                self.set_item(&obj, idx, v).map_err(|e| e.at(s.range))
            }
            ast::Expr::Tuple(ast::ExprTuple { elts, .. })
            | ast::Expr::List(ast::ExprList { elts, .. }) => {
                let items: Vec<Value<'a>> = self.iterate(&v)?.collect::<Result<_>>()?;
                let star = elts.iter().position(|e| matches!(e, ast::Expr::Starred(_)));
                match star {
                    None => {
                        if items.len() != elts.len() {
                            return Err(value_err(format!(
                                "cannot unpack {} values into {} targets",
                                items.len(),
                                elts.len()
                            ))
                            .at(t.range()));
                        }
                        for (e, x) in elts.iter().zip(items) {
                            self.assign(e, x, env)?;
                        }
                    }
                    Some(si) => {
                        let after = elts.len() - si - 1;
                        if items.len() < elts.len() - 1 {
                            return Err(value_err(format!(
                                "not enough values to unpack (expected at least {}, got {})",
                                elts.len() - 1,
                                items.len()
                            ))
                            .at(t.range()));
                        }
                        let mut items = items;
                        let tail = items.split_off(items.len() - after);
                        let mid = items.split_off(si);
                        for (e, x) in elts[..si].iter().zip(items) {
                            self.assign(e, x, env)?;
                        }
                        if let ast::Expr::Starred(s) = &elts[si] {
                            self.assign(&s.value, Value::list(mid), env)?;
                        }
                        for (e, x) in elts[si + 1..].iter().zip(tail) {
                            self.assign(e, x, env)?;
                        }
                    }
                }
                Ok(())
            }
            _ => Err(unsupported("cannot assign to this expression").at(t.range())),
        }
    }

    fn build_params(
        &mut self,
        p: &'a ast::Parameters,
        env: &Rc<Scope<'a>>,
    ) -> Result<ParamSpec<'a>> {
        let mut params = Vec::new();
        for a in p.posonlyargs.iter().chain(&p.args) {
            let default = match &a.default {
                Some(d) => Some(self.eval(d, env)?),
                None => None,
            };
            params.push(Param {
                name: Rc::from(a.parameter.name.id.as_str()),
                default,
            });
        }
        let mut kwonly = Vec::new();
        for a in &p.kwonlyargs {
            let default = match &a.default {
                Some(d) => Some(self.eval(d, env)?),
                None => None,
            };
            kwonly.push(Param {
                name: Rc::from(a.parameter.name.id.as_str()),
                default,
            });
        }
        Ok((
            p.posonlyargs.len(),
            params,
            p.vararg.as_ref().map(|v| Rc::from(v.name.id.as_str())),
            kwonly,
            p.kwarg.as_ref().map(|v| Rc::from(v.name.id.as_str())),
        ))
    }

    /// The environment functions defined in `env` close over (class bodies are skipped).
    fn closure_env(env: &Rc<Scope<'a>>) -> Rc<Scope<'a>> {
        if env.kind == ScopeKind::Class {
            env.parent.clone().expect("class scope has a parent")
        } else {
            env.clone()
        }
    }

    fn exec_def(&mut self, f: &'a ast::StmtFunctionDef, env: &Rc<Scope<'a>>) -> Result<()> {
        if f.is_async {
            return Err(unsupported("async functions"));
        }
        if contains_yield(&f.body) {
            return Err(
                unsupported("generator functions (`yield`) are not supported")
                    .with_advice("build and return a list instead")
                    .at(f.name.range),
            );
        }
        let mut decorators = Vec::new();
        for d in &f.decorator_list {
            decorators.push((self.eval(&d.expression, env)?, d.range));
        }
        let (posonly, params, vararg, kwonly, kwarg) = self.build_params(&f.parameters, env)?;
        let info = self.fn_info(Some(&f.parameters), &f.body, f as *const _ as usize);
        let mut v = Value::Func(Rc::new(Func {
            name: Rc::from(f.name.id.as_str()),
            posonly,
            params,
            vararg,
            kwonly,
            kwarg,
            body: Body::Stmts(&f.body),
            env: Self::closure_env(env),
            info,
        }));
        for (d, range) in decorators.into_iter().rev() {
            v = self
                .call(&d, Args::new(vec![v]), range)
                .map_err(|e| e.at(range))?;
        }
        self.store(f.name.id.as_str(), v, env);
        Ok(())
    }

    pub fn make_lambda(
        &mut self,
        l: &'a ast::ExprLambda,
        env: &Rc<Scope<'a>>,
    ) -> Result<Value<'a>> {
        let (posonly, params, vararg, kwonly, kwarg) = match &l.parameters {
            Some(p) => self.build_params(p, env)?,
            None => (0, Vec::new(), None, Vec::new(), None),
        };
        let info = self.fn_info(l.parameters.as_deref(), &[], l as *const _ as usize);
        Ok(Value::Func(Rc::new(Func {
            name: Rc::from("<lambda>"),
            posonly,
            params,
            vararg,
            kwonly,
            kwarg,
            body: Body::Expr(&l.body),
            env: Self::closure_env(env),
            info,
        })))
    }

    fn exec_class(&mut self, c: &'a ast::StmtClassDef, env: &Rc<Scope<'a>>) -> Result<()> {
        let mut bases = Vec::new();
        if let Some(args) = &c.arguments {
            for b in args.args.iter() {
                match self.eval(b, env)? {
                    Value::Class(cl) => bases.push(cl),
                    Value::Builtin("object") => {}
                    other => return Err(unsupported(format!(
                        "classes can only derive from user classes and exceptions, not {}",
                        other.type_name()
                    ))
                    .with_advice(
                        "wrap MP-SPDZ values in a plain class instead of subclassing sint/Array",
                    )
                    .at(b.range())),
                }
            }
        }
        let scope = Rc::new(Scope {
            vars: Default::default(),
            parent: Some(env.clone()),
            info: None,
            kind: ScopeKind::Class,
        });
        self.track_scope(&scope);
        self.exec_block(&c.body, &scope)?;
        let attrs: indexmap::IndexMap<Name, Value<'a>> = {
            let mut v: Vec<(Name, Value<'a>)> = scope.vars.borrow_mut().drain().collect();
            // Deterministic order regardless of HashMap iteration.
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v.into_iter().collect()
        };
        let class = Rc::new(Class {
            name: Rc::from(c.name.id.as_str()),
            bases,
            attrs: std::cell::RefCell::new(attrs),
        });
        self.cycle_classes.push(Rc::downgrade(&class));
        let mut v = Value::Class(class);
        for d in c.decorator_list.iter().rev() {
            let dv = self.eval(&d.expression, env)?;
            v = self.call(&dv, Args::new(vec![v]), d.range)?;
        }
        self.store(c.name.id.as_str(), v, env);
        Ok(())
    }
}

/// (positional-only count, parameters, *args name, keyword-only parameters, **kwargs name)
type ParamSpec<'a> = (
    usize,
    Vec<Param<'a>>,
    Option<Name>,
    Vec<Param<'a>>,
    Option<Name>,
);

fn import_error(name: &str) -> Error {
    let e = Error::new(ErrorKind::Unsupported, format!("cannot import '{name}'"));
    match crate::builtins::unsupported_module(name) {
        Some(advice) => e.with_advice(advice),
        None => e.with_advice(
            "supported imports: Compiler.types, library, util, mpc_math, program, \
             instructions_base, compilerLib, sqrt_oram (n_parallel), comparison, floatingpoint, \
             exceptions, and Python's math, re, itertools, functools, operator, collections, copy, \
             sys (argv); everything from Compiler.* is also available without importing",
        ),
    }
}

fn exception_matches(tv: &Value, e: &Error) -> bool {
    match tv {
        Value::Tuple(t) => t.0.iter().any(|x| exception_matches(x, e)),
        Value::Class(c) => {
            let name = c.name.as_ref();
            if matches!(name, "Exception" | "BaseException") {
                return true;
            }
            match super::class_exception_kind(c) {
                Some(k) => {
                    k == e.kind
                        && (super::exception_kind(name).is_some() || e.message.starts_with(name))
                }
                None => false,
            }
        }
        _ => false,
    }
}

pub fn slice_positions(start: i64, stop: i64, step: i64) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = start;
    if step > 0 {
        while i < stop {
            out.push(i as usize);
            i += step;
        }
    } else {
        while i > stop {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

pub(super) fn contains_yield(body: &[Stmt]) -> bool {
    fn expr(e: &ast::Expr) -> bool {
        matches!(e, ast::Expr::Yield(_) | ast::Expr::YieldFrom(_))
    }
    body.iter().any(|s| match s {
        Stmt::Expr(e) => expr(&e.value),
        Stmt::Assign(a) => expr(&a.value),
        Stmt::For(f) => contains_yield(&f.body),
        Stmt::While(w) => contains_yield(&w.body),
        Stmt::If(i) => {
            contains_yield(&i.body) || i.elif_else_clauses.iter().any(|c| contains_yield(&c.body))
        }
        Stmt::Try(t) => contains_yield(&t.body),
        _ => false,
    })
}
