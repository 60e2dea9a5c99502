//! The compile-time evaluator: a Python-subset interpreter over the parsed AST, whose run-time
//! (MPC) values emit bytecode through the [`Builder`].

pub mod args;
mod expr;
pub mod ops;
mod scope;
mod stmt;
mod symloop;

use std::collections::HashMap;
use std::rc::Rc;

use ruff_python_ast as ast;
use ruff_text_size::TextRange;

pub use args::Args;
pub use expr::{range_len, runtime_branch_error};

use crate::budgets::{BudgetKind, Tracker};
use crate::bytecode::Label;
use crate::diagnostics::{type_err, Error, ErrorKind, Result};
use crate::emit::Builder;
use crate::values::drop_values;
use crate::values::*;

/// How a block of statements ended.
pub enum Flow<'a> {
    Normal,
    Break,
    Continue,
    Return(Value<'a>),
}

/// Program-level settings the source can change (`program.set_bit_length`, precision, ...).
pub struct ProgState {
    pub name: String,
    pub args: Vec<String>,
    pub bit_length: u32,
    pub security: u32,
    pub sfix_f: u32,
    pub sfix_k: u32,
    pub cfix_f: u32,
    pub cfix_k: u32,
    pub float_precision: u32,
    pub prime: u128,
}

/// A run-time loop (for `break_loop`).
pub struct RtLoop {
    pub frame: u32,
    pub end: Label,
}

/// An `@if_e` whose `@else_` may follow.
pub struct PendingElse {
    pub block_depth: usize,
    pub frame: u32,
    /// The end label of a run-time `@if_e`; None when the condition was known at compile time.
    pub end: Option<Label>,
    /// For a compile-time condition: whether the `@else_` body runs.
    pub run_else: bool,
}

/// State of `if_then` / `else_then` / `end_if`.
pub struct IfThen {
    pub else_label: Label,
    pub end: Option<Label>,
}

pub struct Interp<'a> {
    pub src: &'a str,
    pub file: String,
    line_starts: Vec<usize>,
    /// The expression being evaluated (for run-time error sites).
    pub cur_range: TextRange,
    /// `program.new_tape` functions.
    pub tapes: Vec<Value<'a>>,
    /// Arguments of the `program.run_tape` calls being compiled (for `get_arg()`).
    pub tape_args: Vec<i64>,
    pub globals: Rc<Scope<'a>>,
    pub builtins: HashMap<&'static str, Value<'a>>,
    pub tracker: Tracker,
    pub b: Builder,
    pub log: Vec<String>,
    pub prog: ProgState,
    pub call_depth: u32,
    pub expr_depth: u32,
    pub call_sites: Vec<TextRange>,
    pub rt_loops: Vec<RtLoop>,
    pub pending_else: Vec<PendingElse>,
    pub if_then: Vec<IfThen>,
    pub block_depth: usize,
    /// Nesting of run-time blocks being compiled (for diagnostics).
    pub rt_block_depth: u32,
    fninfo_cache: HashMap<usize, Rc<FnInfo>>,
    /// Objects that may be part of reference cycles, cleared when compilation ends so that
    /// nothing a program builds outlives its compilation.
    cycle_scopes: Vec<std::rc::Weak<Scope<'a>>>,
    cycle_instances: Vec<std::rc::Weak<Instance<'a>>>,
    cycle_lists: Vec<std::rc::Weak<ListObj<'a>>>,
    cycle_dicts: Vec<std::rc::Weak<DictObj<'a>>>,
    pub cycle_classes: Vec<std::rc::Weak<Class<'a>>>,
    /// The prelude's module scope (`prelude.rs`), once evaluated.
    pub prelude: Option<Rc<Scope<'a>>>,
    /// While a large Python loop is compiled as a run-time loop (`symloop`): the creation
    /// stamp from which objects may be mutated.
    pub symbolic: Option<u64>,
    /// Set when a speculative run-time loop stored through `global`/`nonlocal`.
    pub symbolic_violation: std::cell::Cell<bool>,
}

impl<'a> Interp<'a> {
    pub fn new(
        src: &'a str,
        file: &str,
        tracker: Tracker,
        b: Builder,
        prog: ProgState,
    ) -> Interp<'a> {
        let globals = Rc::new(Scope {
            vars: Default::default(),
            parent: None,
            info: None,
            kind: ScopeKind::Module,
        });
        let mut line_starts = vec![0];
        line_starts.extend(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let mut it = Interp {
            src,
            file: file.to_string(),
            line_starts,
            cur_range: TextRange::default(),
            tapes: Vec::new(),
            tape_args: Vec::new(),
            globals,
            builtins: HashMap::new(),
            tracker,
            b,
            log: Vec::new(),
            prog,
            call_depth: 0,
            expr_depth: 0,
            call_sites: Vec::new(),
            rt_loops: Vec::new(),
            pending_else: Vec::new(),
            if_then: Vec::new(),
            block_depth: 0,
            rt_block_depth: 0,
            fninfo_cache: HashMap::new(),
            cycle_scopes: Vec::new(),
            cycle_instances: Vec::new(),
            cycle_lists: Vec::new(),
            cycle_dicts: Vec::new(),
            cycle_classes: Vec::new(),
            prelude: None,
            symbolic: None,
            symbolic_violation: std::cell::Cell::new(false),
        };
        crate::builtins::install(&mut it);
        it
    }

    pub fn run_module(&mut self, module: &'a ast::ModModule) -> Result<()> {
        let env = self.globals.clone();
        match self.exec_block(&module.body, &env)? {
            Flow::Normal => {}
            Flow::Return(_) => {
                return Err(Error::new(ErrorKind::Syntax, "'return' outside function"))
            }
            Flow::Break | Flow::Continue => {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    "'break' or 'continue' outside loop",
                ))
            }
        }
        if let Some(it) = self.if_then.last() {
            let _ = it;
            return Err(
                crate::diagnostics::value_err("if_then() without a matching end_if()")
                    .with_advice("close every if_then(cond) with end_if()"),
            );
        }
        Ok(())
    }

    pub fn track_scope(&mut self, s: &Rc<Scope<'a>>) {
        self.cycle_scopes.push(Rc::downgrade(s));
    }
    pub fn track_instance(&mut self, i: &Rc<Instance<'a>>) {
        self.cycle_instances.push(Rc::downgrade(i));
    }
    /// Registers a list being mutated (once per list).
    pub fn track_list(&mut self, l: &Rc<ListObj<'a>>) {
        if !l.tracked.replace(true) {
            self.cycle_lists.push(Rc::downgrade(l));
        }
    }
    pub fn track_dict(&mut self, d: &Rc<DictObj<'a>>) {
        if !d.tracked.replace(true) {
            self.cycle_dicts.push(Rc::downgrade(d));
        }
    }

    /// Clears every object that could be part of a reference cycle (scopes, instances,
    /// mutated containers): run when compilation ends.
    pub fn break_cycles(&mut self) {
        let globals = std::mem::take(&mut *self.globals.vars.borrow_mut());
        drop_values(globals.into_values().collect());
        for s in std::mem::take(&mut self.cycle_scopes) {
            if let Some(s) = s.upgrade() {
                let vars = std::mem::take(&mut *s.vars.borrow_mut());
                drop_values(vars.into_values().collect());
            }
        }
        for i in std::mem::take(&mut self.cycle_instances) {
            if let Some(i) = i.upgrade() {
                let attrs = std::mem::take(&mut *i.attrs.borrow_mut());
                drop_values(attrs.into_values().collect());
            }
        }
        for l in std::mem::take(&mut self.cycle_lists) {
            if let Some(l) = l.upgrade() {
                let v = std::mem::take(&mut *l.v.borrow_mut());
                drop_values(v);
            }
        }
        for d in std::mem::take(&mut self.cycle_dicts) {
            if let Some(d) = d.upgrade() {
                let m = std::mem::take(&mut *d.m.borrow_mut());
                drop_values(m.into_values().flat_map(|(k, v)| [k, v]).collect());
            }
        }
        for c in std::mem::take(&mut self.cycle_classes) {
            if let Some(c) = c.upgrade() {
                let attrs = std::mem::take(&mut *c.attrs.borrow_mut());
                drop_values(attrs.into_values().collect());
            }
        }
        self.builtins.clear();
        self.tapes.clear();
        self.prelude = None;
    }

    /// `program.options`: an object whose attributes programs may set (they have no effect).
    pub fn program_options(&mut self) -> Value<'a> {
        if let Some(v) = self.globals.vars.borrow().get("__program_options__") {
            return v.clone();
        }
        let class = Rc::new(Class {
            name: Rc::from("Options"),
            bases: Vec::new(),
            attrs: Default::default(),
        });
        let inst = Rc::new(Instance {
            class,
            attrs: Default::default(),
            born: crate::values::birth(),
        });
        self.track_instance(&inst);
        let v = Value::Instance(inst);
        self.globals
            .vars
            .borrow_mut()
            .insert(Rc::from("__program_options__"), v.clone());
        v
    }

    /// "file:line:col" of the expression being compiled, as a string-table entry.
    pub fn site_str(&mut self) -> crate::bytecode::Str {
        let off = self.cur_range.start().to_usize().min(self.src.len());
        let line = match self.line_starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let col = self.src[self.line_starts[line]..off].chars().count();
        let s = format!("{}:{}:{}", self.file, line + 1, col + 1);
        self.b.string(&s)
    }

    /// Maps an emit-level budget error (which carries no detail) to a full one.
    pub fn fix_budget(&self, e: Error) -> Error {
        if e.kind == ErrorKind::Budget(BudgetKind::Instructions) && e.message.is_empty() {
            let mut full = self.tracker.exceeded(
                BudgetKind::Instructions,
                format!("{} instructions emitted", self.b.instr_count),
            );
            full.range = e.range;
            return full;
        }
        e
    }

    pub fn check_depth(&mut self) -> Result<()> {
        if self.call_depth > self.tracker.budgets.max_recursion_depth {
            return Err(self.tracker.exceeded(
                BudgetKind::RecursionDepth,
                format!("{} nested calls", self.call_depth),
            ));
        }
        Ok(())
    }

    /// Static analysis of a function body (cached per definition).
    pub fn fn_info(
        &mut self,
        params: Option<&'a ast::Parameters>,
        body: &'a [ast::Stmt],
        key: usize,
    ) -> Rc<FnInfo> {
        if let Some(i) = self.fninfo_cache.get(&key) {
            return i.clone();
        }
        let info = Rc::new(scope::analyze(params, body));
        self.fninfo_cache.insert(key, info.clone());
        info
    }

    // ---- calling ------------------------------------------------------------------------------

    /// Calls any callable value.
    pub fn call(&mut self, f: &Value<'a>, args: Args<'a>, site: TextRange) -> Result<Value<'a>> {
        self.tracker.step()?;
        match f {
            Value::Func(func) => self.call_user(func.clone(), args, site),
            Value::Bound(b) => {
                let (recv, func) = (&b.0, &b.1);
                let mut a = args;
                a.pos.insert(0, recv.clone());
                self.call(&func.clone(), a, site)
            }
            Value::Builtin(name) => crate::builtins::call(self, name, args, site),
            Value::Native(n) => {
                let (recv, name) = (n.0.clone(), n.1);
                crate::builtins::call_method(self, recv, name, args, site)
            }
            Value::Class(c) => self.instantiate(c.clone(), args, site),
            Value::Type(t) => crate::types::construct(self, *t, args),
            Value::Partial(p) => crate::library::call_partial(self, p.clone(), args, site),
            Value::Instance(i) => {
                let call = i.class.lookup("__call__").ok_or_else(|| {
                    type_err(format!("'{}' object is not callable", i.class.name))
                })?;
                let mut a = args;
                a.pos.insert(0, f.clone());
                self.call(&call, a, site)
            }
            other => Err(type_err(format!(
                "'{}' object is not callable",
                other.type_name()
            ))),
        }
    }

    pub fn call_user(
        &mut self,
        func: Rc<Func<'a>>,
        mut args: Args<'a>,
        site: TextRange,
    ) -> Result<Value<'a>> {
        self.call_depth += 1;
        if let Err(e) = self.check_depth() {
            self.call_depth -= 1;
            return Err(e);
        }
        self.call_sites.push(site);
        let r = self.call_user_inner(&func, &mut args);
        self.call_sites.pop();
        self.call_depth -= 1;
        let from_prelude = self.is_prelude_fn(&func);
        r.map_err(|mut e| {
            if from_prelude {
                // Report errors of prelude code at the program's call site (or, for an
                // implicit call such as a dunder, at the statement that made it).
                e.range = (site != TextRange::default()).then_some(site);
                e.notes.clear();
                return e;
            }
            if e.range.is_some() && e.notes.len() < 8 && !matches!(e.kind, ErrorKind::Budget(_)) {
                e.notes.push(site);
            }
            e
        })
    }

    fn call_user_inner(&mut self, func: &Rc<Func<'a>>, args: &mut Args<'a>) -> Result<Value<'a>> {
        let scope = Rc::new(Scope {
            vars: Default::default(),
            parent: Some(func.env.clone()),
            info: Some(func.info.clone()),
            kind: ScopeKind::Function,
        });
        self.track_scope(&scope);
        self.bind_args(func, args, &scope)?;
        match &func.body {
            Body::Expr(e) => self.eval(e, &scope),
            Body::Stmts(body) => match self.exec_block(body, &scope)? {
                Flow::Return(v) => Ok(v),
                _ => Ok(Value::None),
            },
        }
    }

    fn bind_args(
        &mut self,
        func: &Func<'a>,
        args: &mut Args<'a>,
        scope: &Rc<Scope<'a>>,
    ) -> Result<()> {
        let mut vars = scope.vars.borrow_mut();
        let np = func.params.len();
        let pos = std::mem::take(&mut args.pos);
        let mut extra = Vec::new();
        for (i, v) in pos.into_iter().enumerate() {
            if i < np {
                vars.insert(func.params[i].name.clone(), v);
            } else {
                extra.push(v);
            }
        }
        if !extra.is_empty() {
            match &func.vararg {
                Some(n) => {
                    vars.insert(n.clone(), Value::tuple(extra));
                }
                None => {
                    return Err(type_err(format!(
                        "{}() takes {} positional argument(s) but {} were given",
                        func.name,
                        np,
                        np + extra.len()
                    )))
                }
            }
        } else if let Some(n) = &func.vararg {
            vars.insert(n.clone(), Value::tuple(Vec::new()));
        }
        let mut kwextra = indexmap::IndexMap::new();
        for (k, v) in std::mem::take(&mut args.kw) {
            let is_param = func
                .params
                .iter()
                .enumerate()
                .any(|(i, p)| i >= func.posonly && p.name == k)
                || func.kwonly.iter().any(|p| p.name == k);
            if is_param {
                if vars.contains_key(&k) {
                    return Err(type_err(format!(
                        "{}() got multiple values for argument '{k}'",
                        func.name
                    )));
                }
                vars.insert(k, v);
            } else if func.kwarg.is_some() {
                kwextra.insert(HKey::Str(k.clone()), (Value::str(k.to_string()), v));
            } else {
                return Err(type_err(format!(
                    "{}() got an unexpected keyword argument '{k}'",
                    func.name
                )));
            }
        }
        if let Some(n) = &func.kwarg {
            vars.insert(n.clone(), Value::Dict(DictObj::new(kwextra)));
        }
        for p in func.params.iter().chain(func.kwonly.iter()) {
            if !vars.contains_key(&p.name) {
                match &p.default {
                    Some(d) => {
                        vars.insert(p.name.clone(), d.clone());
                    }
                    None => {
                        return Err(type_err(format!(
                            "{}() missing required argument '{}'",
                            func.name, p.name
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    fn instantiate(
        &mut self,
        class: Rc<Class<'a>>,
        args: Args<'a>,
        site: TextRange,
    ) -> Result<Value<'a>> {
        if let Some(exc) = class_exception_kind(&class) {
            // User exception classes: the instance carries the message.
            let msg = args.pos.first().map(ops::py_str).unwrap_or_default();
            let inst = Rc::new(Instance {
                class,
                attrs: Default::default(),
                born: crate::values::birth(),
            });
            self.track_instance(&inst);
            inst.attrs
                .borrow_mut()
                .insert(Rc::from("args"), Value::str(msg));
            let _ = exc;
            return Ok(Value::Instance(inst));
        }
        let inst_rc = Rc::new(Instance {
            class: class.clone(),
            attrs: Default::default(),
            born: crate::values::birth(),
        });
        self.track_instance(&inst_rc);
        let inst = Value::Instance(inst_rc);
        if let Some(init) = class.lookup("__init__") {
            let mut a = args;
            a.pos.insert(0, inst.clone());
            self.call(&init, a, site)?;
        } else if !args.is_empty() {
            return Err(type_err(format!("{}() takes no arguments", class.name)));
        }
        Ok(inst)
    }

    /// Calls `f(*pos)` with positional arguments only.
    pub fn call_pos(
        &mut self,
        f: &Value<'a>,
        pos: Vec<Value<'a>>,
        site: TextRange,
    ) -> Result<Value<'a>> {
        self.call(f, Args::new(pos), site)
    }
}

/// For classes deriving from Exception: the error kind raising them maps to.
pub fn class_exception_kind(c: &Class) -> Option<ErrorKind> {
    if let Some(Value::Builtin(n)) = c.attrs.borrow().get("__exception__") {
        return exception_kind(n);
    }
    c.bases.iter().find_map(|b| class_exception_kind(b))
}

pub fn exception_kind(name: &str) -> Option<ErrorKind> {
    Some(match name {
        "TypeError" => ErrorKind::Type,
        "ValueError"
        | "Exception"
        | "RuntimeError"
        | "ArithmeticError"
        | "NotImplementedError"
        | "CompilerError"
        | "BaseException" => ErrorKind::Value,
        "IndexError" => ErrorKind::Index,
        "KeyError" => ErrorKind::Key,
        "NameError" => ErrorKind::Name,
        "AttributeError" => ErrorKind::Attribute,
        "ZeroDivisionError" => ErrorKind::ZeroDivision,
        "AssertionError" => ErrorKind::Assertion,
        _ => return None,
    })
}
