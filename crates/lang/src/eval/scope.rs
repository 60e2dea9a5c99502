//! Name resolution: which names a function assigns (its locals), and lookup/store along the
//! scope chain with Python's rules.

use std::rc::Rc;

use ruff_python_ast as ast;

use super::Interp;
use crate::diagnostics::{name_err, Result};
use crate::values::*;

/// Collects the names a function body binds (not descending into nested defs/lambdas).
pub fn analyze(params: Option<&ast::Parameters>, body: &[ast::Stmt]) -> FnInfo {
    let mut info = FnInfo::default();
    if let Some(p) = params {
        for a in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            info.locals.insert(Rc::from(a.parameter.name.id.as_str()));
        }
        if let Some(v) = &p.vararg {
            info.locals.insert(Rc::from(v.name.id.as_str()));
        }
        if let Some(v) = &p.kwarg {
            info.locals.insert(Rc::from(v.name.id.as_str()));
        }
    }
    stmts(body, &mut info);
    for g in info.globals.iter().chain(info.nonlocals.iter()) {
        info.locals.remove(g);
    }
    info
}

fn stmts(body: &[ast::Stmt], info: &mut FnInfo) {
    for s in body {
        stmt(s, info);
    }
}

fn target(e: &ast::Expr, info: &mut FnInfo) {
    match e {
        ast::Expr::Name(n) => {
            info.locals.insert(Rc::from(n.id.as_str()));
        }
        ast::Expr::Tuple(t) => t.elts.iter().for_each(|e| target(e, info)),
        ast::Expr::List(t) => t.elts.iter().for_each(|e| target(e, info)),
        ast::Expr::Starred(s) => target(&s.value, info),
        _ => {}
    }
}

fn stmt(s: &ast::Stmt, info: &mut FnInfo) {
    use ast::Stmt as S;
    match s {
        S::FunctionDef(f) => {
            info.locals.insert(Rc::from(f.name.id.as_str()));
        }
        S::ClassDef(c) => {
            info.locals.insert(Rc::from(c.name.id.as_str()));
        }
        S::Assign(a) => a.targets.iter().for_each(|t| target(t, info)),
        S::AugAssign(a) => target(&a.target, info),
        S::AnnAssign(a) if a.value.is_some() => target(&a.target, info),
        S::For(f) => {
            target(&f.target, info);
            stmts(&f.body, info);
            stmts(&f.orelse, info);
        }
        S::While(w) => {
            stmts(&w.body, info);
            stmts(&w.orelse, info);
        }
        S::If(i) => {
            stmts(&i.body, info);
            for c in &i.elif_else_clauses {
                stmts(&c.body, info);
            }
        }
        S::With(w) => {
            for it in &w.items {
                if let Some(v) = &it.optional_vars {
                    target(v, info);
                }
            }
            stmts(&w.body, info);
        }
        S::Try(t) => {
            stmts(&t.body, info);
            for h in &t.handlers {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                if let Some(n) = &h.name {
                    info.locals.insert(Rc::from(n.id.as_str()));
                }
                stmts(&h.body, info);
            }
            stmts(&t.orelse, info);
            stmts(&t.finalbody, info);
        }
        S::Import(i) => {
            for a in &i.names {
                let n = a.asname.as_ref().unwrap_or(&a.name).id.as_str();
                let first = n.split('.').next().unwrap_or(n);
                info.locals.insert(Rc::from(first));
            }
        }
        S::ImportFrom(i) => {
            for a in &i.names {
                if a.name.id.as_str() != "*" {
                    info.locals
                        .insert(Rc::from(a.asname.as_ref().unwrap_or(&a.name).id.as_str()));
                }
            }
        }
        S::Global(g) => {
            for n in &g.names {
                info.globals.insert(Rc::from(n.id.as_str()));
            }
        }
        S::Nonlocal(g) => {
            for n in &g.names {
                info.nonlocals.insert(Rc::from(n.id.as_str()));
            }
        }
        S::Delete(d) => d.targets.iter().for_each(|t| target(t, info)),
        _ => {}
    }
}

impl<'a> Interp<'a> {
    pub fn lookup(&self, name: &str, env: &Rc<Scope<'a>>) -> Result<Value<'a>> {
        let mut s: &Rc<Scope<'a>> = env;
        let mut first = true;
        loop {
            match s.kind {
                ScopeKind::Module => {
                    if let Some(v) = s.vars.borrow().get(name) {
                        return Ok(v.clone());
                    }
                    break;
                }
                ScopeKind::Function => {
                    if let Some(info) = &s.info {
                        if info.globals.contains(name) {
                            if let Some(v) = self.globals.vars.borrow().get(name) {
                                return Ok(v.clone());
                            }
                            break;
                        }
                        if let Some(v) = s.vars.borrow().get(name) {
                            return Ok(v.clone());
                        }
                        if first && info.locals.contains(name) {
                            return Err(name_err(format!(
                                "local variable '{name}' referenced before assignment"
                            ))
                            .with_advice(format!(
                                "'{name}' is assigned somewhere in this function, so Python treats it as local here; \
                                 to change a value from an enclosing scope inside a run-time block (@for_range, @if_, ...), \
                                 use `{name}.update(new_value)`, a MemValue, or an Array element instead of assignment"
                            )));
                        }
                    } else if let Some(v) = s.vars.borrow().get(name) {
                        return Ok(v.clone());
                    }
                }
                ScopeKind::Class => {
                    if first {
                        if let Some(v) = s.vars.borrow().get(name) {
                            return Ok(v.clone());
                        }
                    }
                }
            }
            first = false;
            match &s.parent {
                Some(p) => s = p,
                None => break,
            }
        }
        if let Some(v) = self.builtins.get(name) {
            return Ok(v.clone());
        }
        let mut e = name_err(format!("name '{name}' is not defined"));
        if crate::builtins::SANDBOXED.contains(&name) {
            e = e.with_advice(format!(
                "`{name}` is not available: the compiler is sandboxed (no files, network, environment or dynamic code)"
            ));
        }
        Err(e)
    }

    pub fn store(&self, name: &str, v: Value<'a>, env: &Rc<Scope<'a>>) {
        if env.kind == ScopeKind::Function {
            if let Some(info) = &env.info {
                if self.symbolic.is_some()
                    && (info.globals.contains(name) || info.nonlocals.contains(name))
                {
                    // Not performed: the speculative loop (see `symloop`) sees the flag, undoes
                    // its code and unrolls instead.
                    self.symbolic_violation.set(true);
                    return;
                }
                if info.globals.contains(name) {
                    self.globals.vars.borrow_mut().insert(Rc::from(name), v);
                    return;
                }
                if info.nonlocals.contains(name) {
                    let mut p = env.parent.as_ref();
                    while let Some(s) = p {
                        if s.kind == ScopeKind::Function && s.vars.borrow().contains_key(name) {
                            s.vars.borrow_mut().insert(Rc::from(name), v);
                            return;
                        }
                        p = s.parent.as_ref();
                    }
                }
            }
        }
        env.vars.borrow_mut().insert(Rc::from(name), v);
    }

    pub fn delete(&self, name: &str, env: &Rc<Scope<'a>>) -> Result<()> {
        let target = if env.info.as_ref().is_some_and(|i| i.globals.contains(name)) {
            &self.globals
        } else {
            env
        };
        if target.vars.borrow_mut().remove(name).is_none() {
            return Err(name_err(format!("name '{name}' is not defined")));
        }
        Ok(())
    }
}
