//! The global namespace: Python built-ins, the MP-SPDZ library names, modules, and dispatch of
//! calls to built-in functions and methods.

use std::rc::Rc;

use num_bigint::BigInt;
use ruff_text_size::TextRange;

use crate::diagnostics::{attr_err, type_err, unsupported, value_err, Result};
use crate::eval::ops::{self, as_f64, as_int};
use crate::eval::{Args, Interp};
use crate::values::*;

/// Python built-in functions provided.
const PY_BUILTINS: &[&str] = &[
    "range",
    "len",
    "sum",
    "min",
    "max",
    "abs",
    "zip",
    "enumerate",
    "isinstance",
    "int",
    "float",
    "str",
    "bool",
    "list",
    "tuple",
    "dict",
    "set",
    "print",
    "sorted",
    "reversed",
    "map",
    "filter",
    "any",
    "all",
    "round",
    "divmod",
    "pow",
    "repr",
    "chr",
    "ord",
    "hex",
    "bin",
    "oct",
    "format",
    "getattr",
    "setattr",
    "hasattr",
    "type",
    "callable",
    "object",
    "iter",
    "next",
    "issubclass",
    "frozenset",
    "hash",
    "staticmethod",
];

const EXCEPTIONS: &[&str] = &[
    "Exception",
    "BaseException",
    "ValueError",
    "TypeError",
    "IndexError",
    "KeyError",
    "NameError",
    "AttributeError",
    "ZeroDivisionError",
    "AssertionError",
    "RuntimeError",
    "ArithmeticError",
    "NotImplementedError",
    "CompilerError",
];

/// Names that exist in Python but are deliberately absent from the sandbox.
pub const SANDBOXED: &[&str] = &[
    "open",
    "exec",
    "eval",
    "compile",
    "__import__",
    "input",
    "globals",
    "locals",
    "vars",
    "exit",
    "quit",
    "breakpoint",
    "memoryview",
    "bytearray",
    "help",
    "dir",
    "os",
    "subprocess",
];

/// MP-SPDZ library functions (Compiler.library / Compiler.types helpers) provided as globals.
pub const LIBRARY: &[&str] = &[
    "print_ln",
    "print_str",
    "print_ln_if",
    "print_str_if",
    "print_ln_to",
    "print_float_precision",
    "runtime_error",
    "runtime_error_if",
    "crash",
    "public_input",
    "get_player_id",
    "get_number_of_players",
    "listen",
    "listen_for_clients",
    "acceptclientconnection",
    "accept_client_connection",
    "closeclientconnection",
    "for_range",
    "for_range_opt",
    "for_range_parallel",
    "for_range_multithread",
    "for_range_opt_multithread",
    "multithread",
    "while_do",
    "do_while",
    "break_loop",
    "if_",
    "if_e",
    "else_",
    "if_then",
    "else_then",
    "end_if",
    "function_block",
    "function",
    "method_block",
    "map_sum",
    "map_sum_opt",
    "map_sum_simple",
    "map_reduce_single",
    "tree_reduce",
    "tree_reduce_multithread",
    "if_else",
    "cond_swap",
    "start_timer",
    "stop_timer",
    "break_point",
    "foreach_enumerate",
    "get_arg",
    "get_cmdline_arg",
    "reveal",
    "sqrt",
    "exp",
    "log",
    "sigmoid",
    "sin",
    "cos",
    "tan",
    "pow_fx",
    "log_fx",
    "exp2_fx",
    "log2_fx",
    "int_div",
    "Tensor",
    "vectorize",
    "get_random_bit",
    "get_random_int",
    "regint_to_sint",
    "sint_to_regint",
    "rand",
    "random_bit",
];

/// Names of MP-SPDZ features outside tiers 1-2: calling them is an "unsupported" error.
const TIER3: &[&str] = &[
    "sfloat",
    "cfloat",
    "sgf2n",
    "cgf2n",
    "sbit",
    "sbits",
    "sbitvec",
    "sbitint",
    "sbitfix",
    "sbitintvec",
    "sbitfixvec",
    "personal",
    "localint",
    "OptimalORAM",
    "Dijkstra",
    "sfix_array",
    "SubMultiArray",
    "VectorArray",
    "Tensor_",
    "PathObliviousHeap",
    "sint_tuple",
    "cbit",
    "cbits",
];

pub fn install(it: &mut Interp) {
    for n in PY_BUILTINS.iter().chain(LIBRARY).chain(TIER3) {
        it.builtins.insert(n, Value::Builtin(n));
    }
    for n in EXCEPTIONS {
        let class = Class {
            name: Rc::from(*n),
            bases: Vec::new(),
            attrs: std::cell::RefCell::new(
                [(Rc::from("__exception__"), Value::Builtin(n))]
                    .into_iter()
                    .collect(),
            ),
        };
        it.builtins.insert(n, Value::Class(Rc::new(class)));
    }
    for (n, t) in [
        ("sint", TypeV::Sint),
        ("sintbit", TypeV::Sintbit),
        ("cint", TypeV::Cint),
        ("regint", TypeV::Regint),
        ("sfix", TypeV::Sfix),
        ("cfix", TypeV::Cfix),
        ("Array", TypeV::Array),
        ("Matrix", TypeV::Matrix),
        ("MultiArray", TypeV::MultiArray),
        ("MemValue", TypeV::MemValue),
    ] {
        it.builtins.insert(n, Value::Type(t));
    }
    it.builtins.insert("program", Value::Program);
    // Legacy socket message types (MP-SPDZ's ClientMessageType enum).
    let cmt = Class {
        name: Rc::from("ClientMessageType"),
        bases: Vec::new(),
        attrs: std::cell::RefCell::new(
            [
                ("NoType", 0),
                ("TripleShares", 1),
                ("ClearModpInt", 2),
                ("Int32", 3),
                ("ClearModpFix", 4),
            ]
            .into_iter()
            .map(|(k, v)| (Rc::from(k), Value::int(v)))
            .collect(),
        ),
    };
    it.builtins
        .insert("ClientMessageType", Value::Class(Rc::new(cmt)));
    for m in [
        "math",
        "mpc_math",
        "util",
        "library",
        "types",
        "Compiler",
        "operator",
        "comparison",
        "floatingpoint",
        "instructions",
    ] {
        if let Some(v) = module(m) {
            it.builtins.insert(m, v);
        }
    }
    crate::pyre::install(it);
    it.builtins.insert("__name__", Value::str("__main__"));
    it.builtins.insert("True", Value::Bool(true));
    it.builtins.insert("False", Value::Bool(false));
    it.builtins.insert("None", Value::None);
}

/// Importable modules.
pub fn module<'a>(name: &str) -> Option<Value<'a>> {
    Some(Value::Module(match name {
        "math" => "math",
        "mpc_math" | "Compiler.mpc_math" => "mpc_math",
        "Compiler" => "Compiler",
        "Compiler.types" | "types" => "types",
        "Compiler.library" | "library" => "library",
        "Compiler.util" | "util" => "util",
        "Compiler.instructions" | "instructions" => "instructions",
        "Compiler.comparison" | "comparison" => "comparison",
        "Compiler.floatingpoint" | "floatingpoint" => "floatingpoint",
        "Compiler.program" | "program" => "program",
        "Compiler.instructions_base" | "instructions_base" => "instructions_base",
        "Compiler.compilerLib" | "compilerLib" => "compilerLib",
        "Compiler.sqrt_oram" | "sqrt_oram" => "sqrt_oram",
        "Compiler.exceptions" | "exceptions" => "types",
        "Compiler.non_linear" | "non_linear" => "types",
        "Compiler.config" | "config" => "types",
        "operator" => "operator",
        "functools" => "functools",
        "copy" => "copy",
        "itertools" => "itertools",
        "collections" => "collections",
        "re" => "re",
        "sys" => "sys",
        _ => return None,
    }))
}

/// Modules of MP-SPDZ (and of Python) that stay out of reach, with what to use instead.
pub fn unsupported_module(name: &str) -> Option<&'static str> {
    let top = name.strip_prefix("Compiler.").unwrap_or(name);
    let first = top.split('.').next().unwrap_or(top);
    Some(match first {
        "GC" | "circuit" | "circuit_oram" => {
            "binary-circuit types (sbit, sbits, sbitvec, GC) are not supported: this engine \
             computes over a 128-bit prime field; use sint with bit_decompose() and sintbit \
             operations"
        }
        "oram" | "path_oram" | "path_oblivious_heap" | "dijkstra" | "gs" => {
            "ORAM is not supported; index an Array with a public (regint/cint) index, or scan \
             it with secret comparisons and if_else for a secret index"
        }
        "ml" | "decision_tree" | "mpc_ml" => {
            "MP-SPDZ's machine-learning library (Compiler.ml) is not supported; write the \
             model with sfix, Matrix.dot / direct_mul and mpc_math (sigmoid, exp, log)"
        }
        "sorting" | "permutation" => {
            "use Array.sort() (an oblivious sort) and sint.get_secure_shuffle / \
             Array.secure_shuffle / secure_permute"
        }
        "allocator" | "cost" | "graph" | "tools" | "papers" | "floatingpoint_ext" => {
            "this MP-SPDZ compiler-internal module is not available; programs need only \
             Compiler.types, library, util, mpc_math, program, instructions_base and compilerLib"
        }
        "random" => {
            "compilation is deterministic, so compile-time randomness is not available; use \
             sint.get_random_int(bits), sint.get_random_bit() for secret randomness, or fixed \
             constants"
        }
        "numpy" | "torch" | "torchvision" | "sklearn" | "pandas" | "tensorflow" => {
            "third-party Python packages are not available in the sandbox; pass data as \
             private input (sint.get_input_from, sfix.input_from) instead"
        }
        "os" | "subprocess" | "socket" | "inspect" | "importlib" | "pickle" | "io" => {
            "the compiler is sandboxed: no files, processes, network or introspection"
        }
        _ => return None,
    })
}

const MATH_FNS: &[&str] = &[
    "sqrt",
    "log",
    "log2",
    "log10",
    "exp",
    "floor",
    "ceil",
    "sin",
    "cos",
    "tan",
    "atan",
    "asin",
    "acos",
    "fabs",
    "pow",
    "isqrt",
    "gcd",
    "factorial",
    "comb",
    "isclose",
    "trunc",
    "copysign",
    "hypot",
    "atan2",
    "isnan",
    "isinf",
    "prod",
];
const MPC_MATH_FNS: &[&str] = &[
    "sqrt",
    "exp",
    "log",
    "sigmoid",
    "sin",
    "cos",
    "tan",
    "pow_fx",
    "log_fx",
    "exp2_fx",
    "log2_fx",
    "abs_fx",
    "floor_fx",
    "atan",
    "asin",
    "acos",
    "tanh",
    "InvertSqrt",
    "trunc",
    "p_eval",
];
const OPERATOR_FNS: &[&str] = &[
    "add",
    "sub",
    "mul",
    "truediv",
    "floordiv",
    "mod",
    "neg",
    "and_",
    "or_",
    "xor",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
    "itemgetter",
];
const FUNCTOOLS_FNS: &[&str] = &["reduce"];
/// `Compiler.instructions_base` functions: global vector sizes are refused with advice.
const INSTRUCTIONS_BASE_FNS: &[&str] = &[
    "set_global_vector_size",
    "reset_global_vector_size",
    "set_global_instruction_type",
    "reset_global_instruction_type",
    "get_global_vector_size",
];
const ITERTOOLS_FNS: &[&str] = &[
    "product",
    "combinations",
    "permutations",
    "chain",
    "repeat",
    "accumulate",
];

fn find(list: &[&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|n| *n == name)
}

pub fn module_attr<'a>(it: &mut Interp<'a>, m: &str, name: &str) -> Option<Value<'a>> {
    match m {
        "math" => match name {
            "pi" => Some(Value::Float(std::f64::consts::PI)),
            "e" => Some(Value::Float(std::f64::consts::E)),
            "inf" => Some(Value::Float(f64::INFINITY)),
            "nan" => Some(Value::Float(f64::NAN)),
            "tau" => Some(Value::Float(std::f64::consts::TAU)),
            _ => find(MATH_FNS, name).map(|n| Value::Native(Rc::new((Value::Module("math"), n)))),
        },
        "mpc_math" => match name {
            "pi" => Some(Value::Float(std::f64::consts::PI)),
            "pi_over_2" => Some(Value::Float(std::f64::consts::FRAC_PI_2)),
            "e" => Some(Value::Float(std::f64::consts::E)),
            "log2_e" => Some(Value::Float(std::f64::consts::LOG2_E)),
            "ln2" => Some(Value::Float(std::f64::consts::LN_2)),
            _ => find(MPC_MATH_FNS, name)
                .map(|n| Value::Native(Rc::new((Value::Module("mpc_math"), n)))),
        },
        "operator" => crate::prelude::export(it, "operator", name).or_else(|| {
            find(OPERATOR_FNS, name).map(|n| Value::Native(Rc::new((Value::Module("operator"), n))))
        }),
        "copy" => find(&["copy", "deepcopy"], name)
            .map(|n| Value::Native(Rc::new((Value::Module("copy"), n)))),
        "Compiler" => module(&format!("Compiler.{name}")),
        "collections" | "compilerLib" => crate::prelude::export(it, m, name),
        "re" => crate::pyre::module_attr(name),
        "sys" => match name {
            // As MP-SPDZ's compile.py: argv[1] is the program name, then its arguments.
            "argv" => {
                let mut argv = vec![Value::str("compile.py")];
                argv.extend(it.prog.args.iter().map(|a| Value::str(a.clone())));
                Some(Value::list(argv))
            }
            "maxsize" => Some(Value::int(i64::MAX)),
            "float_info" | "version_info" | "path" | "modules" => None,
            _ => None,
        },
        "program" => match name {
            "Program" => Some(program_class(it)),
            _ => None,
        },
        "instructions_base" => match name {
            "set_global_vector_size"
            | "reset_global_vector_size"
            | "set_global_instruction_type"
            | "reset_global_instruction_type"
            | "get_global_vector_size" => find(INSTRUCTIONS_BASE_FNS, name).map(Value::Builtin),
            "vectorize" => Some(Value::Builtin("vectorize")),
            _ => None,
        },
        "sqrt_oram" => match name {
            "n_parallel" => Some(Value::int(1024)),
            "n_threads" => Some(Value::int(16)),
            "debug" | "trace" => Some(Value::Bool(false)),
            "SqrtOram" | "RecursivePositionMap" | "LinearPositionMap" | "PositionMap" => {
                Some(Value::Builtin("OptimalORAM"))
            }
            _ => None,
        },
        "functools" => find(FUNCTOOLS_FNS, name)
            .map(|n| Value::Native(Rc::new((Value::Module("functools"), n))))
            .or_else(|| crate::prelude::export(it, m, name)),
        "itertools" => crate::prelude::export(it, m, name).or_else(|| {
            find(ITERTOOLS_FNS, name)
                .map(|n| Value::Native(Rc::new((Value::Module("itertools"), n))))
        }),
        _ => {
            if let Some(v) = crate::prelude::export(it, "types", name) {
                return Some(v);
            }
            if m == "util" {
                if let Some(v) = crate::prelude::export(it, "util", name) {
                    return Some(v);
                }
            }
            // Compiler.types / library / util / ...: the global names.
            if name == "program" {
                return Some(Value::Program);
            }
            it.builtins.get(name).cloned()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Calls

pub fn call<'a>(
    it: &mut Interp<'a>,
    name: &'static str,
    mut a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    if find(TIER3, name).is_some() {
        return Err(unsupported(format!("`{name}` is not supported by this compiler"))
            .with_advice("sfloat, GF(2^n), binary-circuit types, ORAM and personal values are outside the supported dialect (tiers 1-2); see docs/LANG.md"));
    }
    if find(LIBRARY, name).is_some() {
        return crate::library::call(it, name, a, site);
    }
    if crate::pyre::is_method(name) {
        return crate::pyre::call(it, name, a, site);
    }
    if find(INSTRUCTIONS_BASE_FNS, name).is_some() {
        return instructions_base(name, a);
    }
    let v = match name {
        "range" => {
            a.done(3, "range")?;
            let mut ints = Vec::new();
            for v in &a.pos {
                match as_int(v).and_then(|i| i.as_i64()) {
                    Some(i) => ints.push(i),
                    None if v.is_runtime() => {
                        return Err(type_err(format!(
                            "range() needs compile-time integers, got a run-time {}",
                            v.type_name()
                        ))
                        .with_advice(
                            "use @for_range(start, stop) for a loop with run-time bounds",
                        ))
                    }
                    None => {
                        return Err(type_err(format!(
                            "'{}' object cannot be interpreted as an integer",
                            v.type_name()
                        )))
                    }
                }
            }
            let (s, e, st) = match ints.as_slice() {
                [e] => (0, *e, 1),
                [s, e] => (*s, *e, 1),
                [s, e, st] => (*s, *e, *st),
                _ => return Err(type_err("range expected 1 to 3 arguments")),
            };
            if st == 0 {
                return Err(value_err("range() arg 3 must not be zero"));
            }
            Value::Range(s, e, st)
        }
        "len" => {
            a.done(1, "len")?;
            let v = a.req(0, "obj", "len")?;
            Value::int(length(it, &v)? as i64)
        }
        "sum" => {
            a.done(2, "sum")?;
            let items = a.req(0, "iterable", "sum")?;
            let mut acc = a.arg(1, "start").unwrap_or(Value::int(0));
            let items = it.collect(&items)?;
            for x in items {
                acc = it.binop(acc, ruff_python_ast::Operator::Add, x)?;
            }
            acc
        }
        "min" | "max" => return minmax(it, name == "max", a),
        "abs" => {
            a.done(1, "abs")?;
            let v = a.req(0, "x", "abs")?;
            match &v {
                Value::Int(i) => Value::Int(if i.is_negative() {
                    ops::int_sub(&Int::Small(0), i)?
                } else {
                    i.clone()
                }),
                Value::Bool(b) => Value::int(*b as i64),
                Value::Float(f) => Value::Float(f.abs()),
                Value::Rt(_) | Value::MemValue(_) => crate::types::abs(it, v)?,
                Value::Instance(i) => {
                    let f = i
                        .class
                        .lookup("__abs__")
                        .ok_or_else(|| type_err("bad operand type for abs()"))?;
                    it.call_pos(&f, vec![v.clone()], site)?
                }
                other => {
                    return Err(type_err(format!(
                        "bad operand type for abs(): '{}'",
                        other.type_name()
                    )))
                }
            }
        }
        "zip" => {
            let mut lists = Vec::new();
            for v in &a.pos {
                lists.push(it.collect(v)?);
            }
            let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(Value::tuple(lists.iter().map(|l| l[i].clone()).collect()));
            }
            Value::list(out)
        }
        "enumerate" => {
            a.done(2, "enumerate")?;
            let v = a.req(0, "iterable", "enumerate")?;
            let start = match a.arg(1, "start") {
                Some(s) => as_int(&s)
                    .and_then(|i| i.as_i64())
                    .ok_or_else(|| type_err("enumerate start must be an int"))?,
                None => 0,
            };
            let items = it.collect(&v)?;
            Value::list(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| Value::tuple(vec![Value::int(start + i as i64), x]))
                    .collect(),
            )
        }
        "isinstance" => {
            a.done(2, "isinstance")?;
            let v = a.req(0, "obj", "isinstance")?;
            let c = a.req(1, "class", "isinstance")?;
            Value::Bool(isinstance(&v, &c)?)
        }
        "issubclass" => {
            let x = a.req(0, "cls", "issubclass")?;
            let c = a.req(1, "class", "issubclass")?;
            Value::Bool(match (&x, &c) {
                (Value::Class(x), Value::Class(c)) => x.is_subclass_of(c),
                (Value::Type(x), Value::Type(c)) => {
                    x == c || (*x == TypeV::Sintbit && *c == TypeV::Sint)
                }
                _ => ops::py_is(&x, &c),
            })
        }
        "int" => {
            a.done(2, "int")?;
            match a.arg(0, "x") {
                None => Value::int(0),
                Some(v) => match &v {
                    Value::Int(_) => v,
                    Value::Bool(b) => Value::int(*b as i64),
                    Value::Float(f) => Value::Int(ops::float_to_int(*f)?),
                    Value::Str(s) => {
                        let base = a.arg(1, "base").and_then(|b| as_int(&b)).and_then(|b| b.as_i64()).unwrap_or(10);
                        let t = s.0.trim().replace('_', "");
                        let b = BigInt::parse_bytes(t.as_bytes(), base as u32)
                            .ok_or_else(|| value_err(format!("invalid literal for int() with base {base}: {}", ops::str_repr(&s.0))))?;
                        Value::Int(Int::from_big(b))
                    }
                    Value::Instance(i) => {
                        let f = i.class.lookup("__int__").ok_or_else(|| type_err("int() argument must be a number"))?;
                        it.call_pos(&f, vec![v.clone()], site)?
                    }
                    other if other.is_runtime() => {
                        return Err(type_err(format!("int() of a run-time value ({}) is not possible at compile time", other.type_name()))
                            .with_advice("run-time values stay in registers; use them directly, or reveal and print them"))
                    }
                    other => return Err(type_err(format!("int() argument must be a string or a number, not '{}'", other.type_name()))),
                },
            }
        }
        "float" => {
            a.done(1, "float")?;
            match a.arg(0, "x") {
                None => Value::Float(0.0),
                Some(v) => match &v {
                    Value::Str(s) => {
                        let t = s.0.trim().to_lowercase();
                        Value::Float(match t.as_str() {
                            "inf" | "+inf" | "infinity" => f64::INFINITY,
                            "-inf" | "-infinity" => f64::NEG_INFINITY,
                            "nan" => f64::NAN,
                            _ => t.parse().map_err(|_| {
                                value_err(format!(
                                    "could not convert string to float: {}",
                                    ops::str_repr(&s.0)
                                ))
                            })?,
                        })
                    }
                    other => match as_f64(other) {
                        Some(f) => Value::Float(f),
                        None => {
                            return Err(type_err(format!(
                                "float() argument must be a string or a number, not '{}'",
                                other.type_name()
                            )))
                        }
                    },
                },
            }
        }
        "str" => {
            a.done(1, "str")?;
            match a.arg(0, "object") {
                None => Value::str(""),
                Some(v) => Value::str(to_str(it, &v, site)?),
            }
        }
        "repr" => Value::str(ops::py_repr(&a.req(0, "obj", "repr")?)),
        "bool" => {
            a.done(1, "bool")?;
            match a.arg(0, "x") {
                None => Value::Bool(false),
                Some(v) => Value::Bool(it.truthy(&v)?),
            }
        }
        "list" => match a.arg(0, "iterable") {
            None => Value::list(Vec::new()),
            Some(v) => Value::list(it.collect(&v)?),
        },
        "tuple" => match a.arg(0, "iterable") {
            None => Value::tuple(Vec::new()),
            Some(v) => Value::tuple(it.collect(&v)?),
        },
        "set" | "frozenset" => {
            let d = DictObj::new(Default::default());
            if let Some(v) = a.arg(0, "iterable") {
                for x in it.collect(&v)? {
                    d.insert(ops::hkey(&x)?, x, Value::None);
                }
            }
            Value::Set(d)
        }
        "dict" => {
            let d = DictObj::new(Default::default());
            if let Some(v) = a.pos.first().cloned() {
                if let Value::Dict(src) = &v {
                    for (k, e) in src.m.borrow().iter() {
                        d.m.borrow_mut().insert(k.clone(), e.clone());
                    }
                    d.sync();
                } else {
                    for pair in it.collect(&v)? {
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
            for (k, v) in std::mem::take(&mut a.kw) {
                d.insert(HKey::Str(k.clone()), Value::str(k.to_string()), v);
            }
            Value::Dict(d)
        }
        "print" => {
            it.guard_mutation(0, "print()")?;
            let sep = a
                .take_kw("sep")
                .map(|s| ops::py_str(&s))
                .unwrap_or_else(|| " ".into());
            let end = a
                .take_kw("end")
                .map(|s| ops::py_str(&s))
                .unwrap_or_default();
            a.ignore_kw(&["file", "flush"]);
            a.done(usize::MAX, "print")?;
            let mut parts = Vec::new();
            for v in &a.pos {
                parts.push(to_str(it, v, site)?);
            }
            let line = parts.join(&sep) + &end;
            crate::budgets::mem_add(line.len());
            it.log.push(line);
            Value::None
        }
        "sorted" => {
            let v = a.req(0, "iterable", "sorted")?;
            let key = a.take_kw("key");
            let rev = match a.take_kw("reverse") {
                Some(r) => it.truthy(&r)?,
                None => false,
            };
            a.done(1, "sorted")?;
            let items = it.collect(&v)?;
            Value::list(sort_values(it, items, key, rev, site)?)
        }
        "reversed" => {
            let v = a.req(0, "seq", "reversed")?;
            let mut items = it.collect(&v)?;
            items.reverse();
            Value::list(items)
        }
        "map" => {
            let f = a.req(0, "func", "map")?;
            let mut lists = Vec::new();
            for v in &a.pos[1..] {
                lists.push(it.collect(v)?);
            }
            let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let args = lists.iter().map(|l| l[i].clone()).collect();
                out.push(it.call_pos(&f, args, site)?);
            }
            Value::list(out)
        }
        "filter" => {
            let f = a.req(0, "func", "filter")?;
            let v = a.req(1, "iterable", "filter")?;
            let mut out = Vec::new();
            for x in it.collect(&v)? {
                let keep = if matches!(f, Value::None) {
                    it.truthy(&x)?
                } else {
                    let r = it.call_pos(&f, vec![x.clone()], site)?;
                    it.truthy(&r)?
                };
                if keep {
                    out.push(x);
                }
            }
            Value::list(out)
        }
        "any" | "all" => {
            let v = a.req(0, "iterable", name)?;
            let want = name == "any";
            for x in it.collect(&v)? {
                if it.truthy(&x)? == want {
                    return Ok(Value::Bool(want));
                }
            }
            Value::Bool(!want)
        }
        "round" => {
            let x = a.req(0, "number", "round")?;
            let nd = a.arg(1, "ndigits");
            match (&x, nd.as_ref().and_then(as_int).and_then(|i| i.as_i64())) {
                (Value::Int(_) | Value::Bool(_), _) => Value::Int(as_int(&x).expect("int")),
                (Value::Float(f), None) => Value::Int(ops::float_to_int(round_half_even(*f))?),
                (Value::Float(f), Some(n)) if (0..=300).contains(&n) => {
                    // Correctly rounded, as Python: via the exact decimal expansion.
                    Value::Float(format!("{:.*}", n as usize, f).parse().unwrap_or(*f))
                }
                (Value::Float(f), Some(n)) => {
                    let m = 10f64.powi(n.clamp(-400, 400) as i32);
                    Value::Float(round_half_even(f * m) / m)
                }
                _ => {
                    return Err(type_err(format!(
                        "type {} doesn't define __round__",
                        x.type_name()
                    )))
                }
            }
        }
        "divmod" => {
            let x = a.req(0, "a", "divmod")?;
            let y = a.req(1, "b", "divmod")?;
            let q = it.binop(x.clone(), ruff_python_ast::Operator::FloorDiv, y.clone())?;
            let r = it.binop(x, ruff_python_ast::Operator::Mod, y)?;
            Value::tuple(vec![q, r])
        }
        "pow" => {
            let x = a.req(0, "base", "pow")?;
            let y = a.req(1, "exp", "pow")?;
            match a.arg(2, "mod") {
                Some(m) => {
                    let (Some(x), Some(y), Some(m)) = (as_int(&x), as_int(&y), as_int(&m)) else {
                        return Err(type_err("pow() 3rd argument needs integers"));
                    };
                    if m.is_zero() {
                        return Err(value_err("pow() 3rd argument cannot be 0"));
                    }
                    if y.is_negative() {
                        return Err(value_err("negative exponent with modulus is not supported"));
                    }
                    let r = x.to_big().modpow(&y.to_big(), &m.to_big());
                    let m = m.to_big();
                    let r = ((r % &m) + &m) % &m;
                    Value::Int(Int::from_big(r))
                }
                None => it.binop(x, ruff_python_ast::Operator::Pow, y)?,
            }
        }
        "chr" => {
            let i = as_int(&a.req(0, "i", "chr")?)
                .and_then(|i| i.as_i64())
                .ok_or_else(|| type_err("chr() needs an int"))?;
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| value_err("chr() arg not in range"))?;
            Value::str(c.to_string())
        }
        "ord" => {
            let s = a.req(0, "c", "ord")?;
            let Value::Str(s) = s else {
                return Err(type_err("ord() expected string"));
            };
            let mut cs = s.0.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Value::int(c as i64),
                _ => return Err(type_err("ord() expected a character")),
            }
        }
        "hex" | "bin" | "oct" => {
            let v = a.req(0, "x", name)?;
            let i = as_int(&v).ok_or_else(|| {
                type_err(format!(
                    "'{}' object cannot be interpreted as an integer",
                    v.type_name()
                ))
            })?;
            let b = i.to_big();
            let (neg, m) = (b.sign() == num_bigint::Sign::Minus, b.magnitude().clone());
            let body = match name {
                "hex" => format!("0x{m:x}"),
                "bin" => format!("0b{m:b}"),
                _ => format!("0o{m:o}"),
            };
            Value::str(if neg { format!("-{body}") } else { body })
        }
        "format" => {
            let v = a.req(0, "value", "format")?;
            let spec = a
                .arg(1, "format_spec")
                .map(|s| ops::py_str(&s))
                .unwrap_or_default();
            Value::str(ops::format_value(&v, &spec)?)
        }
        "getattr" => {
            let o = a.req(0, "object", "getattr")?;
            let n = a.req(1, "name", "getattr")?;
            let Value::Str(n) = n else {
                return Err(type_err("attribute name must be string"));
            };
            match (it.getattr(&o, &n.0), a.pos.get(2)) {
                (Ok(v), _) => v,
                (Err(e), Some(d)) if e.kind == crate::diagnostics::ErrorKind::Attribute => {
                    d.clone()
                }
                (Err(e), _) => return Err(e),
            }
        }
        "hasattr" => {
            let o = a.req(0, "object", "hasattr")?;
            let n = a.req(1, "name", "hasattr")?;
            let Value::Str(n) = n else {
                return Err(type_err("attribute name must be string"));
            };
            Value::Bool(it.getattr(&o, &n.0).is_ok())
        }
        "setattr" => {
            let o = a.req(0, "object", "setattr")?;
            let n = a.req(1, "name", "setattr")?;
            let v = a.req(2, "value", "setattr")?;
            let Value::Str(n) = n else {
                return Err(type_err("attribute name must be string"));
            };
            it.setattr(&o, &n.0, v)?;
            Value::None
        }
        "type" => {
            let v = a.req(0, "object", "type")?;
            type_of(&v)
        }
        "callable" => {
            let v = a.req(0, "object", "callable")?;
            Value::Bool(matches!(
                v,
                Value::Func(_)
                    | Value::Builtin(_)
                    | Value::Native(_)
                    | Value::Bound(_)
                    | Value::Class(_)
                    | Value::Type(_)
                    | Value::Partial(_)
            ))
        }
        "iter" => Value::list(it.collect(&a.req(0, "iterable", "iter")?)?),
        "next" => {
            let v = a.req(0, "iterator", "next")?;
            match &v {
                Value::List(l) if l.len() > 0 => {
                    let x = l.v.borrow_mut().remove(0);
                    l.sync();
                    x
                }
                _ => match a.pos.get(1) {
                    Some(d) => d.clone(),
                    None => return Err(value_err("StopIteration")),
                },
            }
        }
        "hash" => {
            let v = a.req(0, "object", "hash")?;
            let k = ops::hkey(&v)?;
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            k.hash(&mut h);
            Value::int((h.finish() >> 2) as i64)
        }
        "staticmethod" => a.req(0, "function", "staticmethod")?,
        "object" => {
            return Err(type_err(
                "object() instances are not supported; define a class",
            ));
        }
        _ => {
            return Err(crate::diagnostics::internal(format!(
                "unknown builtin {name}"
            )))
        }
    };
    Ok(v)
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

pub fn type_of<'a>(v: &Value<'a>) -> Value<'a> {
    match v {
        Value::Instance(i) => Value::Class(i.class.clone()),
        Value::Rt(r) => Value::Type(match r.ty {
            RtType::Sint => TypeV::Sint,
            RtType::Sintbit => TypeV::Sintbit,
            RtType::Cint => TypeV::Cint,
            RtType::Regint => TypeV::Regint,
            RtType::Sfix { .. } => TypeV::Sfix,
            RtType::Cfix { .. } => TypeV::Cfix,
        }),
        Value::Array(a) => Value::Type(match a.shape.len() {
            1 => TypeV::Array,
            2 => TypeV::Matrix,
            _ => TypeV::MultiArray,
        }),
        Value::MemValue(_) => Value::Type(TypeV::MemValue),
        Value::Int(_) => Value::Builtin("int"),
        Value::Bool(_) => Value::Builtin("bool"),
        Value::Float(_) => Value::Builtin("float"),
        Value::Str(_) => Value::Builtin("str"),
        Value::List(_) => Value::Builtin("list"),
        Value::Tuple(_) => Value::Builtin("tuple"),
        Value::Dict(_) => Value::Builtin("dict"),
        Value::Set(_) => Value::Builtin("set"),
        Value::Range(..) => Value::Builtin("range"),
        _ => Value::Builtin("object"),
    }
}

pub fn isinstance<'a>(v: &Value<'a>, c: &Value<'a>) -> Result<bool> {
    Ok(match c {
        Value::Tuple(t) => {
            for x in &t.0 {
                if isinstance(v, x)? {
                    return Ok(true);
                }
            }
            false
        }
        Value::List(l) => {
            for x in l.v.borrow().iter() {
                if isinstance(v, x)? {
                    return Ok(true);
                }
            }
            false
        }
        Value::Class(c) => matches!(v, Value::Instance(i) if i.class.is_subclass_of(c)),
        Value::Builtin(n) => match *n {
            "int" => matches!(v, Value::Int(_) | Value::Bool(_)),
            "bool" => matches!(v, Value::Bool(_)),
            "float" => matches!(v, Value::Float(_)),
            "str" => matches!(v, Value::Str(_)),
            "list" => matches!(v, Value::List(_)),
            "tuple" => matches!(v, Value::Tuple(_)),
            "dict" => matches!(v, Value::Dict(_)),
            "set" | "frozenset" => matches!(v, Value::Set(_)),
            "range" => matches!(v, Value::Range(..)),
            "object" => true,
            _ => false,
        },
        Value::Type(t) => match (v, t) {
            (Value::Rt(r), TypeV::Sint) => matches!(r.ty, RtType::Sint | RtType::Sintbit),
            (Value::Rt(r), TypeV::Sintbit) => r.ty == RtType::Sintbit,
            (Value::Rt(r), TypeV::Cint) => r.ty == RtType::Cint,
            (Value::Rt(r), TypeV::Regint) => r.ty == RtType::Regint,
            (Value::Rt(r), TypeV::Sfix) => matches!(r.ty, RtType::Sfix { .. }),
            (Value::Rt(r), TypeV::Cfix) => matches!(r.ty, RtType::Cfix { .. }),
            (Value::Array(a), TypeV::Array) => a.shape.len() == 1,
            (Value::Array(a), TypeV::Matrix) => a.shape.len() == 2,
            (Value::Array(_), TypeV::MultiArray) => true,
            (Value::MemValue(_), TypeV::MemValue) => true,
            _ => false,
        },
        other => {
            return Err(type_err(format!(
                "isinstance() arg 2 must be a type or tuple of types, not {}",
                other.type_name()
            )))
        }
    })
}

pub fn length<'a>(it: &mut Interp<'a>, v: &Value<'a>) -> Result<usize> {
    Ok(match v {
        Value::List(l) => l.len(),
        Value::Tuple(t) => t.0.len(),
        Value::Str(s) => s.0.chars().count(),
        Value::Dict(d) | Value::Set(d) => d.m.borrow().len(),
        Value::Range(a, b, c) => crate::eval::range_len(*a, *b, *c) as usize,
        Value::Array(a) => a.len(),
        Value::Rt(r) => r.n as usize,
        Value::Instance(i) => {
            let f = i.class.lookup("__len__").ok_or_else(|| {
                type_err(format!("object of type '{}' has no len()", i.class.name))
            })?;
            let r = it.call_pos(&f, vec![v.clone()], TextRange::default())?;
            as_int(&r).and_then(|i| i.as_i64()).unwrap_or(0).max(0) as usize
        }
        other => {
            return Err(type_err(format!(
                "object of type '{}' has no len()",
                other.type_name()
            )))
        }
    })
}

pub fn to_str<'a>(it: &mut Interp<'a>, v: &Value<'a>, site: TextRange) -> Result<String> {
    match v {
        Value::Instance(i) => {
            if let Some(f) = i
                .class
                .lookup("__str__")
                .or_else(|| i.class.lookup("__repr__"))
            {
                let r = it.call_pos(&f, vec![v.clone()], site)?;
                return Ok(ops::py_str(&r));
            }
            Ok(ops::py_str(v))
        }
        _ => Ok(ops::py_str(v)),
    }
}

fn sort_values<'a>(
    it: &mut Interp<'a>,
    items: Vec<Value<'a>>,
    key: Option<Value<'a>>,
    rev: bool,
    site: TextRange,
) -> Result<Vec<Value<'a>>> {
    let keys: Vec<Value<'a>> = match &key {
        Some(Value::None) | None => items.clone(),
        Some(f) => {
            let mut ks = Vec::with_capacity(items.len());
            for x in &items {
                ks.push(it.call_pos(f, vec![x.clone()], site)?);
            }
            ks
        }
    };
    if keys.iter().any(|k| k.is_runtime()) {
        return Err(type_err("cannot sort run-time values with sorted()")
            .with_advice("store them in an Array and call its .sort() method"));
    }
    if keys.iter().any(|k| matches!(k, Value::Instance(_))) {
        // Keys with `__lt__` (functools.cmp_to_key, user classes): a stable merge sort whose
        // comparisons call back into the program.
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let mut width = 1;
        while width < idx.len() {
            let mut out = Vec::with_capacity(idx.len());
            for lo in (0..idx.len()).step_by(2 * width) {
                let mid = (lo + width).min(idx.len());
                let hi = (lo + 2 * width).min(idx.len());
                let (mut i, mut j) = (lo, mid);
                while i < mid && j < hi {
                    // Take from the right only if it is strictly smaller (stability).
                    let (a, b) = if rev {
                        (&keys[idx[i]], &keys[idx[j]])
                    } else {
                        (&keys[idx[j]], &keys[idx[i]])
                    };
                    let lt = it.compare(a, ruff_python_ast::CmpOp::Lt, b)?;
                    if it.truthy(&lt)? {
                        out.push(idx[j]);
                        j += 1;
                    } else {
                        out.push(idx[i]);
                        i += 1;
                    }
                }
                out.extend_from_slice(&idx[i..mid]);
                out.extend_from_slice(&idx[j..hi]);
            }
            idx = out;
            width *= 2;
        }
        return Ok(idx.into_iter().map(|i| items[i].clone()).collect());
    }
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let mut err = None;
    idx.sort_by(|&x, &y| {
        let o = ops::py_cmp(&keys[x], &keys[y]);
        if o.is_none() && err.is_none() {
            err = Some(type_err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                keys[x].type_name(),
                keys[y].type_name()
            )));
        }
        let o = o.unwrap_or(std::cmp::Ordering::Equal);
        if rev {
            o.reverse()
        } else {
            o
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok(idx.into_iter().map(|i| items[i].clone()).collect())
}

fn minmax<'a>(it: &mut Interp<'a>, is_max: bool, mut a: Args<'a>) -> Result<Value<'a>> {
    let name = if is_max { "max" } else { "min" };
    let key = a.take_kw("key");
    let default = a.take_kw("default");
    a.done(usize::MAX, name)?;
    let items = if a.pos.len() == 1 {
        let v = a.pos[0].clone();
        it.collect(&v)?
    } else {
        a.pos.clone()
    };
    if items.is_empty() {
        return default.ok_or_else(|| value_err(format!("{name}() arg is an empty sequence")));
    }
    if items.iter().any(|v| v.is_runtime()) {
        if key.is_some() {
            return Err(unsupported(format!(
                "{name}() with key= over run-time values"
            )));
        }
        return crate::types::minmax(it, items, is_max);
    }
    let keys: Vec<Value<'a>> = match &key {
        Some(f) if !matches!(f, Value::None) => {
            let mut ks = Vec::new();
            for x in &items {
                ks.push(it.call_pos(f, vec![x.clone()], TextRange::default())?);
            }
            ks
        }
        _ => items.clone(),
    };
    let mut best = 0;
    for i in 1..items.len() {
        let o = ops::py_cmp(&keys[i], &keys[best]).ok_or_else(|| {
            type_err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                keys[i].type_name(),
                keys[best].type_name()
            ))
        })?;
        if (is_max && o == std::cmp::Ordering::Greater)
            || (!is_max && o == std::cmp::Ordering::Less)
        {
            best = i;
        }
    }
    Ok(items[best].clone())
}

// ---------------------------------------------------------------------------------------------
// Attributes and methods of built-in values

const STR_METHODS: &[&str] = &[
    "format",
    "join",
    "split",
    "strip",
    "lstrip",
    "rstrip",
    "upper",
    "lower",
    "replace",
    "startswith",
    "endswith",
    "find",
    "count",
    "isdigit",
    "isalpha",
    "zfill",
    "center",
    "ljust",
    "rjust",
    "splitlines",
    "index",
    "title",
    "capitalize",
    "isspace",
    "isupper",
    "islower",
];
const LIST_METHODS: &[&str] = &[
    "append", "extend", "pop", "insert", "remove", "index", "count", "reverse", "sort", "copy",
    "clear",
];
const TUPLE_METHODS: &[&str] = &["index", "count"];
const DICT_METHODS: &[&str] = &[
    "keys",
    "values",
    "items",
    "get",
    "pop",
    "update",
    "setdefault",
    "copy",
    "clear",
];
const SET_METHODS: &[&str] = &[
    "add",
    "remove",
    "discard",
    "union",
    "intersection",
    "difference",
    "pop",
    "copy",
    "clear",
    "issubset",
    "issuperset",
    "update",
];
const INT_METHODS: &[&str] = &["bit_length", "to_bytes"];
const FLOAT_METHODS: &[&str] = &["is_integer"];

pub fn getattr<'a>(it: &mut Interp<'a>, v: &Value<'a>, name: &str) -> Result<Value<'a>> {
    if name == "real" && matches!(v, Value::Int(_) | Value::Bool(_) | Value::Float(_)) {
        return Ok(v.clone());
    }
    let list = match v {
        Value::Str(_) => STR_METHODS,
        Value::List(_) => LIST_METHODS,
        Value::Tuple(_) => TUPLE_METHODS,
        Value::Dict(_) => DICT_METHODS,
        Value::Set(_) => SET_METHODS,
        Value::Int(_) | Value::Bool(_) => INT_METHODS,
        Value::Float(_) => FLOAT_METHODS,
        Value::Rt(_) | Value::Array(_) | Value::MemValue(_) | Value::Type(_) | Value::Program => {
            return crate::types::getattr(it, v, name)
        }
        Value::Slice(s) => {
            return match name {
                "start" => Ok(s[0].clone()),
                "stop" => Ok(s[1].clone()),
                "step" => Ok(s[2].clone()),
                _ => Err(attr_err(format!(
                    "'slice' object has no attribute '{name}'"
                ))),
            }
        }
        Value::Range(a, b, c) => {
            return match name {
                "start" => Ok(Value::int(*a)),
                "stop" => Ok(Value::int(*b)),
                "step" => Ok(Value::int(*c)),
                _ => Err(attr_err(format!(
                    "'range' object has no attribute '{name}'"
                ))),
            }
        }
        _ => &[],
    };
    match find(list, name) {
        Some(n) => Ok(Value::Native(Rc::new((v.clone(), n)))),
        None => Err(attr_err(format!(
            "'{}' object has no attribute '{name}'",
            v.type_name()
        ))),
    }
}

pub fn call_method<'a>(
    it: &mut Interp<'a>,
    recv: Value<'a>,
    name: &'static str,
    a: Args<'a>,
    site: TextRange,
) -> Result<Value<'a>> {
    match &recv {
        Value::Module(m) => crate::pymethods::call_module_fn(it, m, name, a, site),
        Value::Rt(_) | Value::Array(_) | Value::MemValue(_) | Value::Type(_) | Value::Program => {
            crate::types::call_method(it, recv, name, a, site)
        }
        _ => crate::pymethods::call(it, recv, name, a, site),
    }
}

/// `Compiler.instructions_base`: the global vector size and instruction type. Only the
/// defaults (vector size 1, the prime field 'modp') exist here.
fn instructions_base<'a>(name: &str, mut a: Args<'a>) -> Result<Value<'a>> {
    match name {
        "get_global_vector_size" => Ok(Value::int(1)),
        "reset_global_vector_size" | "reset_global_instruction_type" => Ok(Value::None),
        "set_global_instruction_type" => {
            let t = a.req(0, "t", name)?;
            if matches!(&t, Value::Str(s) if s.0 == "modp") {
                return Ok(Value::None);
            }
            Err(unsupported(format!(
                "set_global_instruction_type({}): only the prime field ('modp') is supported",
                ops::py_repr(&t)
            ))
            .with_advice("GF(2^n) instructions are not available; compute over sint"))
        }
        _ => {
            let n = a.req(0, "size", name)?;
            if matches!(as_int(&n).and_then(|i| i.as_i64()), Some(1)) {
                return Ok(Value::None);
            }
            Err(unsupported(format!(
                "instructions_base.set_global_vector_size({}) is not supported",
                ops::py_repr(&n)
            ))
            .with_advice(
                "vectorise explicitly instead: sint(x, size=n), sint.get_input_from(p, size=n), \
                 sint.get_random_bit(size=n), a.get_vector(), and operate on the vectors",
            ))
        }
    }
}

/// `Compiler.program.Program`: a class whose `prog` is the program being compiled.
pub fn program_class<'a>(it: &mut Interp<'a>) -> Value<'a> {
    let class = Rc::new(Class {
        name: Rc::from("Program"),
        bases: Vec::new(),
        attrs: std::cell::RefCell::new([(Rc::from("prog"), Value::Program)].into_iter().collect()),
    });
    it.cycle_classes.push(Rc::downgrade(&class));
    Value::Class(class)
}
