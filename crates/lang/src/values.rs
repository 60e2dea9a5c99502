//! Compile-time values of the evaluator: Python objects, and handles on run-time (register and
//! memory) values.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use indexmap::IndexMap;
use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive};
use ruff_python_ast as ast;

use crate::budgets::{mem_add, mem_sub};
use crate::bytecode::RegKind;

pub type Name = Rc<str>;

// ---------------------------------------------------------------------------------------------
// Integers

/// A Python int: i64 when it fits, else a big integer. Invariant: `Big` never fits an i64.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Int {
    Small(i64),
    Big(Rc<BigInt>),
}

impl Int {
    pub fn from_big(b: BigInt) -> Int {
        match b.to_i64() {
            Some(s) => Int::Small(s),
            None => Int::Big(Rc::new(b)),
        }
    }
    pub fn to_big(&self) -> BigInt {
        match self {
            Int::Small(s) => BigInt::from(*s),
            Int::Big(b) => (**b).clone(),
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Int::Small(s) => Some(*s),
            Int::Big(_) => None,
        }
    }
    pub fn is_zero(&self) -> bool {
        matches!(self, Int::Small(0))
    }
    pub fn is_negative(&self) -> bool {
        match self {
            Int::Small(s) => *s < 0,
            Int::Big(b) => b.is_negative(),
        }
    }
    pub fn bits(&self) -> u64 {
        match self {
            Int::Small(s) => 64 - s.unsigned_abs().leading_zeros() as u64,
            Int::Big(b) => b.bits(),
        }
    }
    pub fn to_f64(&self) -> f64 {
        match self {
            Int::Small(s) => *s as f64,
            Int::Big(b) => b.to_f64().unwrap_or(f64::INFINITY),
        }
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Int::Small(s) => write!(f, "{s}"),
            Int::Big(b) => write!(f, "{b}"),
        }
    }
}

impl From<i64> for Int {
    fn from(x: i64) -> Int {
        Int::Small(x)
    }
}

// ---------------------------------------------------------------------------------------------
// Containers with approximate memory accounting

/// Approximate bytes per container slot.
pub const SLOT_BYTES: usize = 40;

/// A string with its bytes counted against the memory budget while alive.
pub struct StrObj(pub String);

impl StrObj {
    pub fn new(s: String) -> Rc<StrObj> {
        mem_add(s.len() + 32);
        Rc::new(StrObj(s))
    }
}
impl Drop for StrObj {
    fn drop(&mut self) {
        mem_sub(self.0.len() + 32);
    }
}

/// A mutable sequence (list) with memory accounting; call `sync` after length changes.
pub struct ListObj<'a> {
    pub v: RefCell<Vec<Value<'a>>>,
    charged: Cell<usize>,
    /// Registered with the evaluator's cycle breaker.
    pub tracked: Cell<bool>,
    /// Creation stamp ([`birth`]).
    pub born: u64,
}

impl<'a> ListObj<'a> {
    pub fn new(v: Vec<Value<'a>>) -> Rc<ListObj<'a>> {
        let c = v.len() * SLOT_BYTES + 32;
        mem_add(c);
        Rc::new(ListObj {
            v: RefCell::new(v),
            charged: Cell::new(c),
            tracked: Cell::new(false),
            born: birth(),
        })
    }
    pub fn sync(&self) {
        let now = self.v.borrow().len() * SLOT_BYTES + 32;
        let old = self.charged.replace(now);
        if now > old {
            mem_add(now - old)
        } else {
            mem_sub(old - now)
        }
    }
    pub fn len(&self) -> usize {
        self.v.borrow().len()
    }
    pub fn push(&self, x: Value<'a>) {
        self.v.borrow_mut().push(x);
        self.sync();
    }
}
impl Drop for ListObj<'_> {
    fn drop(&mut self) {
        mem_sub(self.charged.get());
        drop_values(std::mem::take(self.v.get_mut()));
    }
}

/// An immutable tuple with memory accounting.
pub struct TupleObj<'a>(pub Vec<Value<'a>>);

impl<'a> TupleObj<'a> {
    pub fn new(v: Vec<Value<'a>>) -> Rc<TupleObj<'a>> {
        mem_add(v.len() * SLOT_BYTES + 32);
        Rc::new(TupleObj(v))
    }
}
impl Drop for TupleObj<'_> {
    fn drop(&mut self) {
        mem_sub(self.0.len() * SLOT_BYTES + 32);
        drop_values(std::mem::take(&mut self.0));
    }
}

/// A hashable key (dict keys and set members), normalised as Python does: `True == 1 == 1.0`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum HKey {
    None,
    Int(Int),
    Float(u64),
    Str(Rc<str>),
    Tuple(Vec<HKey>),
    /// Identity of an object (functions, classes, instances, types, registers).
    Id(usize),
}

/// An insertion-ordered dict (or, with `() ` values ignored, a set) with memory accounting.
pub struct DictObj<'a> {
    pub m: RefCell<IndexMap<HKey, (Value<'a>, Value<'a>)>>,
    charged: Cell<usize>,
    /// Registered with the evaluator's cycle breaker.
    pub tracked: Cell<bool>,
    /// Creation stamp ([`birth`]).
    pub born: u64,
}

impl<'a> DictObj<'a> {
    pub fn new(m: IndexMap<HKey, (Value<'a>, Value<'a>)>) -> Rc<DictObj<'a>> {
        let c = m.len() * SLOT_BYTES * 3 + 64;
        mem_add(c);
        Rc::new(DictObj {
            m: RefCell::new(m),
            charged: Cell::new(c),
            tracked: Cell::new(false),
            born: birth(),
        })
    }
    pub fn sync(&self) {
        let now = self.m.borrow().len() * SLOT_BYTES * 3 + 64;
        let old = self.charged.replace(now);
        if now > old {
            mem_add(now - old)
        } else {
            mem_sub(old - now)
        }
    }
    pub fn insert(&self, k: HKey, key: Value<'a>, v: Value<'a>) {
        self.m.borrow_mut().insert(k, (key, v));
        self.sync();
    }
}
impl Drop for DictObj<'_> {
    fn drop(&mut self) {
        mem_sub(self.charged.get());
        let m = std::mem::take(self.m.get_mut());
        drop_values(m.into_values().flat_map(|(k, v)| [k, v]).collect());
    }
}

/// Drops values without recursion, so that deeply nested structures (a list nested a
/// million levels deep, a long linked list of instances or closures) cannot overflow the
/// stack: uniquely owned children are moved onto an explicit work list.
pub fn drop_values(items: Vec<Value<'_>>) {
    let mut stack = items;
    while let Some(v) = stack.pop() {
        match v {
            Value::List(rc) => {
                if let Ok(obj) = Rc::try_unwrap(rc) {
                    let mut obj = obj;
                    stack.append(obj.v.get_mut());
                }
            }
            Value::Tuple(rc) => {
                if let Ok(obj) = Rc::try_unwrap(rc) {
                    let mut obj = obj;
                    stack.append(&mut obj.0);
                }
            }
            Value::Dict(rc) | Value::Set(rc) => {
                if let Ok(obj) = Rc::try_unwrap(rc) {
                    let mut obj = obj;
                    let m = std::mem::take(obj.m.get_mut());
                    stack.extend(m.into_values().flat_map(|(k, v)| [k, v]));
                }
            }
            Value::Instance(rc) => {
                if let Ok(obj) = Rc::try_unwrap(rc) {
                    let mut obj = obj;
                    stack.extend(std::mem::take(obj.attrs.get_mut()).into_values());
                }
            }
            Value::Bound(rc) => {
                if let Ok((a, b)) = Rc::try_unwrap(rc) {
                    stack.push(a);
                    stack.push(b);
                }
            }
            Value::Func(rc) => {
                if let Ok(f) = Rc::try_unwrap(rc) {
                    if let Ok(scope) = Rc::try_unwrap(f.env) {
                        let mut scope = scope;
                        stack.extend(std::mem::take(scope.vars.get_mut()).into_values());
                    }
                    for p in f.params.into_iter().chain(f.kwonly) {
                        if let Some(d) = p.default {
                            stack.push(d);
                        }
                    }
                }
            }
            other => drop(other),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Run-time values

/// A register in a function frame (`frame` is the id of the function being compiled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegRef {
    pub kind: RegKind,
    pub idx: u32,
    pub frame: u32,
}

/// The MP-SPDZ type of a run-time value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RtType {
    Sint,
    /// A sint known to be 0 or 1 (comparison results).
    Sintbit,
    Cint,
    Regint,
    /// Secret fixed point: v (a sint) represents v·2^-f; k bits in total.
    Sfix {
        f: u32,
        k: u32,
    },
    /// Clear fixed point (a cint v).
    Cfix {
        f: u32,
        k: u32,
    },
}

impl RtType {
    pub fn kind(&self) -> RegKind {
        match self {
            RtType::Sint | RtType::Sintbit | RtType::Sfix { .. } => RegKind::Secret,
            RtType::Cint | RtType::Cfix { .. } => RegKind::Clear,
            RtType::Regint => RegKind::Int,
        }
    }
    pub fn is_secret(&self) -> bool {
        self.kind() == RegKind::Secret
    }
    pub fn is_fix(&self) -> bool {
        matches!(self, RtType::Sfix { .. } | RtType::Cfix { .. })
    }
    pub fn name(&self) -> &'static str {
        match self {
            RtType::Sint => "sint",
            RtType::Sintbit => "sintbit",
            RtType::Cint => "cint",
            RtType::Regint => "regint",
            RtType::Sfix { .. } => "sfix",
            RtType::Cfix { .. } => "cfix",
        }
    }
    pub fn fk(&self) -> Option<(u32, u32)> {
        match self {
            RtType::Sfix { f, k } | RtType::Cfix { f, k } => Some((*f, *k)),
            _ => None,
        }
    }
}

/// A run-time value: a register of some type holding a vector of `n` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rt {
    pub ty: RtType,
    pub reg: RegRef,
    pub n: u32,
}

/// Where an array's elements live: a static base address plus an optional run-time offset
/// (a regint register) for sub-arrays selected by a run-time index.
#[derive(Clone, Debug)]
pub struct ArrayV {
    pub elem: RtType,
    pub base: u64,
    pub dyn_off: Option<RegRef>,
    /// Dimensions; an Array has one, a Matrix two.
    pub shape: Vec<usize>,
    /// A run-time length (a regint) for `get_sub(n)` with a run-time n; `shape[0]` is then the
    /// capacity. Only client lists (`reveal_to_clients`) accept such arrays.
    pub dyn_len: Option<RegRef>,
}

impl ArrayV {
    pub fn total(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn len(&self) -> usize {
        self.shape[0]
    }
    /// Elements per index of the first dimension.
    pub fn stride(&self) -> usize {
        self.shape[1..].iter().product()
    }
}

/// One memory cell (`MemValue`).
#[derive(Clone, Debug)]
pub struct MemV {
    pub elem: RtType,
    pub addr: u64,
}

/// The MP-SPDZ classes, as values (callable, with class methods).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeV {
    Sint,
    Sintbit,
    Cint,
    Regint,
    Sfix,
    Cfix,
    Array,
    Matrix,
    MultiArray,
    MemValue,
}

impl TypeV {
    pub fn name(&self) -> &'static str {
        match self {
            TypeV::Sint => "sint",
            TypeV::Sintbit => "sintbit",
            TypeV::Cint => "cint",
            TypeV::Regint => "regint",
            TypeV::Sfix => "sfix",
            TypeV::Cfix => "cfix",
            TypeV::Array => "Array",
            TypeV::Matrix => "Matrix",
            TypeV::MultiArray => "MultiArray",
            TypeV::MemValue => "MemValue",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Functions, classes, scopes

/// Static facts about a function body: which names are local.
#[derive(Debug, Default)]
pub struct FnInfo {
    pub locals: std::collections::HashSet<Name>,
    pub globals: std::collections::HashSet<Name>,
    pub nonlocals: std::collections::HashSet<Name>,
}

pub enum Body<'a> {
    Stmts(&'a [ast::Stmt]),
    Expr(&'a ast::Expr),
}

pub struct Param<'a> {
    pub name: Name,
    pub default: Option<Value<'a>>,
}

/// A user function (def or lambda) with its closure.
pub struct Func<'a> {
    pub name: Name,
    pub posonly: usize,
    pub params: Vec<Param<'a>>,
    pub vararg: Option<Name>,
    pub kwonly: Vec<Param<'a>>,
    pub kwarg: Option<Name>,
    pub body: Body<'a>,
    pub env: Rc<Scope<'a>>,
    pub info: Rc<FnInfo>,
}

pub struct Class<'a> {
    pub name: Name,
    pub bases: Vec<Rc<Class<'a>>>,
    pub attrs: RefCell<IndexMap<Name, Value<'a>>>,
}

impl<'a> Class<'a> {
    pub fn lookup(&self, name: &str) -> Option<Value<'a>> {
        if let Some(v) = self.attrs.borrow().get(name) {
            return Some(v.clone());
        }
        self.bases.iter().find_map(|b| b.lookup(name))
    }
    pub fn is_subclass_of(&self, other: &Class<'a>) -> bool {
        std::ptr::eq(self, other) || self.bases.iter().any(|b| b.is_subclass_of(other))
    }
}

pub struct Instance<'a> {
    pub class: Rc<Class<'a>>,
    pub attrs: RefCell<HashMap<Name, Value<'a>>>,
    /// Creation stamp ([`birth`]): objects made during a speculative run-time loop may be
    /// mutated there, older ones may not.
    pub born: u64,
}

thread_local! {
    static BIRTHS: Cell<u64> = const { Cell::new(0) };
}

/// A fresh creation stamp for a mutable compile-time object.
pub fn birth() -> u64 {
    BIRTHS.with(|b| {
        let n = b.get() + 1;
        b.set(n);
        n
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScopeKind {
    Module,
    Function,
    Class,
}

pub struct Scope<'a> {
    pub vars: RefCell<HashMap<Name, Value<'a>>>,
    pub parent: Option<Rc<Scope<'a>>>,
    pub info: Option<Rc<FnInfo>>,
    pub kind: ScopeKind,
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        drop_values(std::mem::take(self.vars.get_mut()).into_values().collect());
    }
}

impl Drop for Instance<'_> {
    fn drop(&mut self) {
        drop_values(std::mem::take(self.attrs.get_mut()).into_values().collect());
    }
}

/// Library callables waiting for their function (decorators) or holding bound state.
pub enum Partial<'a> {
    /// `for_range(start, stop, step)` and its variants.
    ForRange {
        start: Value<'a>,
        stop: Value<'a>,
        step: Value<'a>,
    },
    /// `if_(cond)`.
    If(Value<'a>),
    /// `if_e(cond)`: the else arm follows with `@else_`.
    IfE(Value<'a>),
    /// `while_do(cond, *args)`.
    WhileDo {
        cond: Value<'a>,
        args: Vec<Value<'a>>,
    },
    /// `multithread(n_threads, n_items)` and `map_sum`-style wrappers: run the body over
    /// `n_items` items in chunks.
    MapSum {
        n_loops: Value<'a>,
        types: Vec<Value<'a>>,
    },
    /// A `@function` / `@function_block`: compiled once per argument signature.
    RtFunction {
        func: Value<'a>,
        instances: RefCell<Vec<(String, u32, Value<'a>)>>,
    },
    /// `multithread(n_threads, n_items)`: body(base, size) once with the whole range.
    Multithread { n_items: Value<'a> },
    /// `for_range_opt([n, m])`: nested run-time loops, body(i, j).
    NestedRange(Vec<Value<'a>>),
    /// `foreach_enumerate(list)`: body(i, x) over public data stored in an Array.
    ForEach { arr: Value<'a>, n: i64 },
    /// A callable returning a fixed value (the result getter of `map_sum`).
    Const(Value<'a>),
}

// ---------------------------------------------------------------------------------------------
// The value type

#[derive(Clone)]
#[allow(clippy::enum_variant_names)]
pub enum Value<'a> {
    None,
    Bool(bool),
    Int(Int),
    Float(f64),
    Str(Rc<StrObj>),
    List(Rc<ListObj<'a>>),
    Tuple(Rc<TupleObj<'a>>),
    Dict(Rc<DictObj<'a>>),
    Set(Rc<DictObj<'a>>),
    Range(i64, i64, i64),
    Slice(Rc<[Value<'a>; 3]>),
    Func(Rc<Func<'a>>),
    /// A built-in function or library function, by name.
    Builtin(&'static str),
    /// A method bound to a receiver (user method: the function; native: the name).
    Bound(Rc<(Value<'a>, Value<'a>)>),
    Native(Rc<(Value<'a>, &'static str)>),
    Class(Rc<Class<'a>>),
    Instance(Rc<Instance<'a>>),
    Module(&'static str),
    Rt(Rt),
    Array(Rc<ArrayV>),
    MemValue(Rc<MemV>),
    Type(TypeV),
    Partial(Rc<Partial<'a>>),
    Program,
}

impl<'a> Value<'a> {
    pub fn int(x: i64) -> Value<'a> {
        Value::Int(Int::Small(x))
    }
    pub fn str(s: impl Into<String>) -> Value<'a> {
        Value::Str(StrObj::new(s.into()))
    }
    pub fn list(v: Vec<Value<'a>>) -> Value<'a> {
        Value::List(ListObj::new(v))
    }
    pub fn tuple(v: Vec<Value<'a>>) -> Value<'a> {
        Value::Tuple(TupleObj::new(v))
    }

    /// The Python type name, for error messages.
    pub fn type_name(&self) -> String {
        match self {
            Value::None => "NoneType".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "str".into(),
            Value::List(_) => "list".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::Dict(_) => "dict".into(),
            Value::Set(_) => "set".into(),
            Value::Range(..) => "range".into(),
            Value::Slice(_) => "slice".into(),
            Value::Func(_) => "function".into(),
            Value::Builtin(_) | Value::Native(_) => "builtin_function".into(),
            Value::Bound(_) => "method".into(),
            Value::Class(_) => "type".into(),
            Value::Instance(i) => i.class.name.to_string(),
            Value::Module(_) => "module".into(),
            Value::Rt(r) => r.ty.name().into(),
            Value::Array(a) => {
                let kind = match a.shape.len() {
                    1 => "Array",
                    2 => "Matrix",
                    _ => "MultiArray",
                };
                format!("{kind} of {}", a.elem.name())
            }
            Value::MemValue(m) => format!("MemValue of {}", m.elem.name()),
            Value::Type(_) => "type".into(),
            Value::Partial(_) => "library function".into(),
            Value::Program => "Program".into(),
        }
    }

    /// True for values known only at run time (registers, memory).
    pub fn is_runtime(&self) -> bool {
        matches!(self, Value::Rt(_) | Value::Array(_) | Value::MemValue(_))
    }
}
