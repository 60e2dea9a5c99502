//! The prelude: parts of Python's standard library and of MP-SPDZ's Python-level helpers that
//! are easiest to give exactly as Python code (`prelude.py`), evaluated in the sandbox like the
//! program, in a scope of its own, before the program runs.
//!
//! Module attributes not provided natively (`collections.namedtuple`, `functools.partial`,
//! `itertools.islice`, `types.getNamedTupleType`, `compilerLib.Compiler`, ...) are looked up in
//! that scope by name ([`export`]). An error raised inside prelude code is reported at the
//! program's call site, never at a line of the prelude.

use std::rc::Rc;
use std::sync::OnceLock;

use ruff_python_ast::ModModule;
use ruff_python_parser::Parsed;

use crate::diagnostics::{internal, Result};
use crate::eval::Interp;
use crate::values::*;

/// The prelude's source.
pub const SOURCE: &str = include_str!("prelude.py");

/// The prelude parsed once per process (it never changes).
pub fn parsed() -> &'static Parsed<ModModule> {
    static P: OnceLock<Parsed<ModModule>> = OnceLock::new();
    P.get_or_init(|| ruff_python_parser::parse_module(SOURCE).expect("the prelude parses"))
}

/// Which prelude names each module exports.
const EXPORTS: &[(&str, &[&str])] = &[
    (
        "collections",
        &[
            "namedtuple",
            "defaultdict",
            "OrderedDict",
            "Counter",
            "deque",
        ],
    ),
    (
        "functools",
        &[
            "partial",
            "lru_cache",
            "cache",
            "wraps",
            "total_ordering",
            "cmp_to_key",
        ],
    ),
    (
        "itertools",
        &[
            "combinations_with_replacement",
            "islice",
            "zip_longest",
            "starmap",
            "compress",
            "takewhile",
            "dropwhile",
            "filterfalse",
            "pairwise",
            "groupby",
            "tee",
            "batched",
            "accumulate",
            "repeat",
        ],
    ),
    (
        "operator",
        &[
            "itemgetter",
            "attrgetter",
            "methodcaller",
            "pow",
            "not_",
            "truth",
            "getitem",
            "lshift",
            "rshift",
            "invert",
            "abs",
            "index",
            "concat",
            "contains",
            "is_",
            "is_not",
            "matmul",
            "pos",
            "inv",
        ],
    ),
    ("types", &["getNamedTupleType"]),
    (
        "util",
        &[
            "log2",
            "tuplify",
            "untuplify",
            "is_constant",
            "is_constant_float",
            "is_zero",
            "is_one",
            "is_all_ones",
            "bit_decompose",
            "bit_compose",
            "series",
            "pow2_value",
            "int_len",
            "round_to_int",
            "expand",
            "irepeat",
        ],
    ),
    ("compilerLib", &["Compiler"]),
    // Helpers behind native methods (`sint.inverse_permutation`).
    ("internal", &["_inverse_permutation"]),
];

/// The prelude value a module exports under `name`, if any.
pub fn export<'a>(it: &Interp<'a>, module: &str, name: &str) -> Option<Value<'a>> {
    let names = EXPORTS.iter().find(|(m, _)| *m == module)?.1;
    if !names.contains(&name) {
        return None;
    }
    let scope = it.prelude.as_ref()?;
    let vars = scope.vars.borrow();
    // `module_name` first: prelude functions that would shadow a built-in (operator.abs).
    vars.get(format!("{module}_{name}").as_str())
        .or_else(|| vars.get(name))
        .cloned()
}

impl<'a> Interp<'a> {
    /// Evaluates the prelude into its own module scope.
    pub fn run_prelude(&mut self, module: &'a ModModule) -> Result<()> {
        let scope = Rc::new(Scope {
            vars: Default::default(),
            parent: None,
            info: None,
            kind: ScopeKind::Module,
        });
        self.track_scope(&scope);
        self.exec_block(&module.body, &scope)
            .map_err(|e| internal(format!("the prelude failed: {}", e.message)))?;
        self.prelude = Some(scope);
        Ok(())
    }

    /// Whether a function was defined by the prelude (its scope chain ends in the prelude's).
    pub fn is_prelude_fn(&self, f: &Func<'a>) -> bool {
        let Some(p) = &self.prelude else {
            return false;
        };
        let mut s = &f.env;
        loop {
            match &s.parent {
                Some(up) => s = up,
                None => return Rc::ptr_eq(s, p),
            }
        }
    }
}
