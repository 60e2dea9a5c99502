//! Large Python loops as run-time loops (MP-SPDZ's flow optimisation, `compile.py -l`).
//!
//! `for i in range(n)` with n ≥ [`MIN_TRIPS`] would unroll into n copies of its body: 10^7
//! iterations exceed every budget. Such a loop is instead compiled *speculatively* once, with
//! `i` a run-time `regint`, into a real loop (the body is evaluated once):
//! - names the body assigns that hold run-time values before the loop become loop-carried
//!   registers (copied in before the loop, written back at the end of each iteration), as
//!   `while_do` does; names that start as compile-time numbers and become run-time values are
//!   converted first (learnt from a first speculative pass);
//! - an `if` on a public run-time value (`if i > 1000:`) becomes a run-time branch, with the
//!   names it assigns merged the same way;
//! - anything that needs the value of `i` at compile time (a Python list indexed by `i`,
//!   `range(i)`, ...), mutates a compile-time object created before the loop (`l.append`),
//!   prints at compile time or stores through `global`, makes the speculation fail: the code
//!   emitted for it is undone ([`crate::emit::Builder::restore`]), the loop's names are
//!   restored, and the loop unrolls as in Python. The result is therefore the same as
//!   unrolling, only shorter.
//!
//! Only loops whose bodies use plain statements are tried (assignments, expressions, `if`,
//! nested `for`, `pass`); `break`, `continue`, `return`, `raise`, `try`, `with`, definitions
//! and `global` always unroll.

use std::rc::Rc;

use ruff_python_ast as ast;
use ruff_python_ast::Stmt;

use super::{Flow, Interp};
use crate::diagnostics::{Error, ErrorKind, Result};
use crate::values::*;

thread_local! {
    /// Set when something during a speculative loop would differ from unrolling but cannot
    /// return an error where it happens (the text of a run-time value).
    static VIOLATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records that the speculation (if any) must fail.
pub fn note_violation() {
    VIOLATION.with(|v| v.set(true));
}

/// Trip count from which a Python `for` loop is compiled as a run-time loop when possible.
pub const MIN_TRIPS: i64 = 10_000;

/// The marker of a speculation failure (never shown: the loop then unrolls).
const NOT_SYMBOLIC: &str = "not expressible as a run-time loop: ";

/// Whether a body has only statements a run-time loop can express.
fn plain(body: &[Stmt]) -> bool {
    body.iter().all(|s| match s {
        Stmt::Expr(_)
        | Stmt::Assign(_)
        | Stmt::AugAssign(_)
        | Stmt::AnnAssign(_)
        | Stmt::Pass(_) => true,
        Stmt::If(i) => plain(&i.body) && i.elif_else_clauses.iter().all(|c| plain(&c.body)),
        Stmt::For(f) => !f.is_async && f.orelse.is_empty() && plain(&f.body),
        _ => false,
    }) && !super::stmt::contains_yield(body)
}

/// Names a block assigns (not descending into nested definitions).
fn assigned(body: &[Stmt]) -> Vec<Name> {
    let info = super::scope::analyze(None, body);
    let mut v: Vec<Name> = info.locals.iter().cloned().collect();
    v.sort();
    v
}

fn not_symbolic(what: &str) -> Error {
    Error::new(ErrorKind::Unsupported, format!("{NOT_SYMBOLIC}{what}"))
}

impl<'a> Interp<'a> {
    /// Refuses a mutation of a compile-time object created before the loop being compiled
    /// speculatively (`born` is the object's creation stamp, 0 for always refused).
    pub fn guard_mutation(&self, born: u64, what: &str) -> Result<()> {
        match self.symbolic {
            Some(start) if born < start => Err(not_symbolic(what)),
            _ => Ok(()),
        }
    }

    /// Tries `for target in range(start, stop, step)` as a run-time loop; `None` means
    /// "unroll it" (nothing was emitted and no name changed).
    pub(super) fn try_runtime_for(
        &mut self,
        f: &'a ast::StmtFor,
        (start, stop, step): (i64, i64, i64),
        env: &Rc<Scope<'a>>,
    ) -> Result<Option<Flow<'a>>> {
        let trips = super::range_len(start, stop, step);
        if trips < MIN_TRIPS as u64 || !f.orelse.is_empty() || !plain(&f.body) {
            return Ok(None);
        }
        // regint division and remainder round like C: equal to Python's only for i >= 0.
        let last = start.saturating_add((trips as i64 - 1).saturating_mul(step));
        if start < 0 || last < 0 {
            return Ok(None);
        }
        let ast::Expr::Name(target) = &*f.target else {
            return Ok(None);
        };
        let names: Vec<Name> = assigned(&f.body)
            .into_iter()
            .filter(|n| **n != *target.id.as_str())
            .collect();
        if let Some(info) = &env.info {
            if names
                .iter()
                .any(|n| info.globals.contains(n) || info.nonlocals.contains(n))
            {
                return Ok(None);
            }
        }
        // First pass: learn which compile-time numbers become run-time values.
        let mut convert: Vec<(Name, RtType, u32)> = Vec::new();
        for _attempt in 0..2 {
            match self.speculate(
                f,
                target.id.as_str(),
                &names,
                &convert,
                (start, stop, step),
                env,
            ) {
                Ok(Spec::Done) => {
                    // After the loop the target holds its last value, a Python int, as after
                    // the unrolled loop.
                    let last = start + (trips as i64 - 1) * step;
                    self.store(target.id.as_str(), Value::int(last), env);
                    return Ok(Some(Flow::Normal));
                }
                Ok(Spec::Convert(c)) => convert = c,
                Ok(Spec::Unroll) | Err(_) => return Ok(None),
            }
        }
        Ok(None)
    }

    fn speculate(
        &mut self,
        f: &'a ast::StmtFor,
        target: &str,
        names: &[Name],
        convert: &[(Name, RtType, u32)],
        (start, stop, step): (i64, i64, i64),
        env: &Rc<Scope<'a>>,
    ) -> Result<Spec> {
        let snap = self.b.snapshot();
        let saved: Vec<(Name, Option<Value<'a>>)> = names
            .iter()
            .chain(std::iter::once(&Rc::from(target)))
            .map(|n| (n.clone(), env.vars.borrow().get(n).cloned()))
            .collect();
        let stacks = (
            self.rt_loops.len(),
            self.pending_else.len(),
            self.if_then.len(),
            self.block_depth,
            self.rt_block_depth,
            self.call_depth,
            self.call_sites.len(),
            self.log.len(),
        );
        let outer = self.symbolic;
        self.symbolic = Some(outer.unwrap_or_else(birth));
        self.symbolic_violation.set(false);
        let outer_note = VIOLATION.with(|v| v.replace(false));
        let res = self.emit_runtime_for(f, target, names, convert, (start, stop, step), env);
        self.symbolic = outer;
        let violated =
            self.symbolic_violation.replace(false) | VIOLATION.with(|v| v.replace(outer_note));
        let failed = match &res {
            Ok(Spec::Done) => violated,
            _ => true,
        };
        if !failed {
            return Ok(Spec::Done);
        }
        // Undo: code, names, interpreter stacks.
        if !self.b.restore(snap) {
            // Functions were compiled meanwhile: the emitted code cannot be undone, so the
            // speculation's outcome stands (its error, if any).
            return match res {
                Ok(Spec::Done) => Err(not_symbolic("global store")),
                other => other,
            };
        }
        for (n, v) in saved {
            match v {
                Some(v) => {
                    env.vars.borrow_mut().insert(n, v);
                }
                None => {
                    env.vars.borrow_mut().remove(&n);
                }
            }
        }
        self.rt_loops.truncate(stacks.0);
        self.pending_else.truncate(stacks.1);
        self.if_then.truncate(stacks.2);
        self.block_depth = stacks.3;
        self.rt_block_depth = stacks.4;
        self.call_depth = stacks.5;
        self.call_sites.truncate(stacks.6);
        self.log.truncate(stacks.7);
        match res {
            Ok(Spec::Convert(c)) => Ok(Spec::Convert(c)),
            _ => Ok(Spec::Unroll),
        }
    }

    fn emit_runtime_for(
        &mut self,
        f: &'a ast::StmtFor,
        target: &str,
        names: &[Name],
        convert: &[(Name, RtType, u32)],
        (start, stop, step): (i64, i64, i64),
        env: &Rc<Scope<'a>>,
    ) -> Result<Spec> {
        // Loop-carried registers for names holding run-time values (after conversions).
        for (n, ty, size) in convert {
            let v = env.vars.borrow().get(n).cloned().unwrap_or(Value::None);
            let r = crate::types::to_type_pub(self, &v, *ty)?;
            let r = self.fit(r, *size)?;
            env.vars.borrow_mut().insert(n.clone(), Value::Rt(r));
        }
        let carried = self.carry(names, env)?;
        let before: Vec<(Name, Option<Value<'a>>)> = names
            .iter()
            .map(|n| (n.clone(), env.vars.borrow().get(n).cloned()))
            .collect();
        let mut learnt: Vec<(Name, RtType, u32)> = Vec::new();
        let body = &f.body;
        let env2 = env.clone();
        let res = crate::library::flow::for_range(
            self,
            Value::int(start),
            Value::int(stop),
            Value::int(step),
            &mut |it, i| {
                it.store(target, i, &env2);
                match it.exec_block(body, &env2)? {
                    Flow::Normal => {}
                    _ => return Err(not_symbolic("control flow")),
                }
                // Compile-time numbers that became run-time values: convert them up front.
                for (n, old) in &before {
                    let now = env2.vars.borrow().get(n).cloned();
                    match (old, &now) {
                        (
                            Some(Value::Int(_) | Value::Bool(_) | Value::Float(_)),
                            Some(Value::Rt(r)),
                        ) => {
                            learnt.push((n.clone(), r.ty, r.n));
                        }
                        (Some(o), Some(x)) if !o.is_runtime() && !same_const(o, x) => {
                            return Err(not_symbolic("a compile-time value changes in the loop"));
                        }
                        _ => {}
                    }
                }
                if !learnt.is_empty() {
                    return Err(not_symbolic("conversion needed"));
                }
                it.write_back(&carried, &env2)
            },
        );
        if learnt.is_empty() {
            res?;
        } else {
            return Ok(Spec::Convert(
                convert.iter().cloned().chain(learnt).collect(),
            ));
        }
        Ok(Spec::Done)
    }

    /// Copies every name of `names` holding a run-time value into a fresh register (the
    /// loop-carried or branch-merged value) and binds the name to it.
    fn carry(&mut self, names: &[Name], env: &Rc<Scope<'a>>) -> Result<Vec<(Name, Rt)>> {
        let mut out = Vec::new();
        for n in names {
            let v = env.vars.borrow().get(n).cloned();
            let v = match v {
                Some(Value::MemValue(_)) | Some(Value::Array(_)) => continue,
                Some(v) => v,
                None => continue,
            };
            if let Value::Rt(r) = v {
                let c = self.copy_rt(r)?;
                env.vars.borrow_mut().insert(n.clone(), Value::Rt(c));
                out.push((n.clone(), c));
            }
        }
        Ok(out)
    }

    /// Writes the current values of carried names back into their registers.
    fn write_back(&mut self, carried: &[(Name, Rt)], env: &Rc<Scope<'a>>) -> Result<()> {
        for (n, c) in carried {
            let now = env.vars.borrow().get(n).cloned();
            match now {
                Some(Value::Rt(r)) if r.reg == c.reg => {}
                Some(Value::Rt(r)) if r.ty == c.ty && r.n == c.n => {
                    self.update_rt(*c, &Value::Rt(r))?;
                }
                Some(Value::Rt(r)) if r.n == c.n && r.ty.is_secret() == c.ty.is_secret() => {
                    self.update_rt(*c, &Value::Rt(r))?;
                }
                _ => return Err(not_symbolic("a loop-carried value changes type")),
            }
            env.vars.borrow_mut().insert(n.clone(), Value::Rt(*c));
        }
        Ok(())
    }

    /// `if` on a public run-time value inside a speculative loop: a run-time branch.
    pub(super) fn runtime_if(
        &mut self,
        cond: Value<'a>,
        body: &'a [Stmt],
        rest: &'a [ast::ElifElseClause],
        env: &Rc<Scope<'a>>,
    ) -> Result<Flow<'a>> {
        let c = crate::types::to_regint(self, &cond)?;
        let mut names = assigned(body);
        for cl in rest {
            names.extend(assigned(&cl.body));
        }
        names.sort();
        names.dedup();
        // Names assigned in a branch must hold run-time values before it.
        for n in &names {
            match env.vars.borrow().get(n) {
                Some(Value::Rt(_)) | Some(Value::Array(_)) | Some(Value::MemValue(_)) => {}
                Some(v) if !v.is_runtime() => {
                    return Err(not_symbolic(
                        "a compile-time name assigned in a run-time branch",
                    ))
                }
                _ => return Err(not_symbolic("a name first assigned in a run-time branch")),
            }
        }
        let carried = self.carry(&names, env)?;
        let else_l = self.b.new_label();
        let end = self.b.new_label();
        let cr = self.b.r(c)?;
        self.emit(crate::bytecode::Instr::JmpZ {
            cond: cr,
            target: else_l,
        })?;
        self.b.branch_begin();
        self.rt_block_depth += 1;
        let flow = self.exec_block(body, env);
        self.rt_block_depth -= 1;
        if !matches!(flow?, Flow::Normal) {
            return Err(not_symbolic("control flow in a run-time branch"));
        }
        self.write_back(&carried, env)?;
        self.emit(crate::bytecode::Instr::Jmp { target: end })?;
        self.b.place(else_l);
        self.b.branch_else();
        // The else part: the next elif (compile-time or run-time test) or else.
        self.rt_block_depth += 1;
        let res = self.else_chain(rest, env);
        self.rt_block_depth -= 1;
        res?;
        self.write_back(&carried, env)?;
        self.b.place(end);
        self.b.branch_end();
        Ok(Flow::Normal)
    }

    fn else_chain(&mut self, rest: &'a [ast::ElifElseClause], env: &Rc<Scope<'a>>) -> Result<()> {
        let Some((first, more)) = rest.split_first() else {
            return Ok(());
        };
        let flow = match &first.test {
            None => self.exec_block(&first.body, env)?,
            Some(t) => {
                let v = self.eval(t, env)?;
                if matches!(&v, Value::Rt(r) if !r.ty.is_secret()) {
                    self.runtime_if(v, &first.body, more, env)?
                } else if self.truthy(&v)? {
                    self.exec_block(&first.body, env)?
                } else {
                    self.else_chain(more, env)?;
                    Flow::Normal
                }
            }
        };
        match flow {
            Flow::Normal => Ok(()),
            _ => Err(not_symbolic("control flow in a run-time branch")),
        }
    }
}

/// The outcome of one speculative pass.
enum Spec {
    Done,
    /// Try again with these names converted to run-time values first.
    Convert(Vec<(Name, RtType, u32)>),
    Unroll,
}

/// Whether two compile-time values are the same object or equal numbers/strings.
fn same_const<'a>(a: &Value<'a>, b: &Value<'a>) -> bool {
    super::ops::py_is(a, b)
        || matches!((a, b), (Value::Int(_) | Value::Bool(_) | Value::Float(_) | Value::Str(_), _)
            if super::ops::py_eq(a, b))
}
