//! Errors: each asserts the rendered text (kind, location, caret, advice).

mod common;
use common::*;
use lang::{BudgetKind, Budgets, CompileOptions, ErrorKind};
use std::time::Duration;

fn with_budgets(b: Budgets) -> CompileOptions {
    CompileOptions {
        budgets: b,
        ..CompileOptions::default()
    }
}

#[test]
fn syntax_error_points_at_the_line() {
    let e = err("x = 1\ny = (2 +\nprint(y)\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    let text = e.to_string();
    assert!(text.starts_with("error[syntax]: invalid syntax"), "{text}");
    assert!(text.contains(" --> test.mpc:"), "{text}");
    assert!(text.contains("valid Python 3 syntax"), "{text}");
    let e = err("def f(:\n    pass\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.location.as_ref().unwrap().line, 1);
}

#[test]
fn unsupported_constructs() {
    let e = err("x = 1\nwith open('f') as g:\n    pass\n");
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(
        e.to_string(),
        "error[unsupported]: `with` statements are not supported\n --> test.mpc:2:1\n  |\n2 | with open('f') as g:\n  | ^^^^^^^^^^^^^^^^^^^^\n  = help: use the decorator forms (@for_range, @if_, ...) for run-time blocks"
    );
    let e = err("import os\n");
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.to_string().contains("cannot import 'os'"), "{e}");
    let e = err("def g():\n    yield 1\n");
    assert!(e.message.contains("generator functions"), "{e}");
    let e = err("x = sfloat(1)\n");
    assert!(e.message.contains("`sfloat` is not supported"), "{e}");
    let e = err("match 1:\n    case 1:\n        pass\n");
    assert_eq!(e.kind, ErrorKind::Unsupported);
}

#[test]
fn sandboxed_names_do_not_exist() {
    for name in [
        "open('x')",
        "exec('1')",
        "eval('1')",
        "__import__('os')",
        "input()",
    ] {
        let e = err(&format!("{name}\n"));
        assert_eq!(e.kind, ErrorKind::Name, "{name}");
        assert!(e.to_string().contains("sandboxed"), "{e}");
    }
}

#[test]
fn type_errors() {
    let e = err("x = 1\ny = 'a' + x\n");
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(
        e.to_string(),
        "error[type]: unsupported operand type(s) for +: 'str' and 'int'\n --> test.mpc:2:5\n  |\n2 | y = 'a' + x\n  |     ^^^^^^^\n  = help: check the types of the values involved; docs/LANG.md lists the operations each type supports"
    );
    let e = err("a = sint(1)\nc = cint(a)\n");
    assert!(
        e.to_string()
            .contains("cannot convert a secret sint to the public type cint"),
        "{e}"
    );
    let e = err("a = sint(1)\nprint_ln('%s', a)\n");
    assert!(
        e.to_string().contains("cannot print a secret value (sint)"),
        "{e}"
    );
    assert!(e.to_string().contains("x.reveal()"), "{e}");
    let e = err("a = sint(1)\nb = a // 2\n");
    assert!(e.to_string().contains("int_div"), "{e}");
    let e = err("l = [sint(1)]\nx = l[regint(0)]\n");
    assert!(
        e.to_string().contains("store the values in an Array"),
        "{e}"
    );
    let e = err("f = 3\nf()\n");
    assert!(e.message.contains("'int' object is not callable"), "{e}");
    let e = err("def f(a):\n    return a\nf(1, 2)\n");
    assert!(
        e.message
            .contains("takes 1 positional argument(s) but 2 were given"),
        "{e}"
    );
}

#[test]
fn branching_on_a_secret() {
    let src = "a = sint(1)\nb = sint(2)\nif a < b:\n    print_ln('less')\n";
    let e = err(src);
    assert_eq!(e.kind, ErrorKind::RuntimeBranch);
    let text = e.to_string();
    assert!(text.starts_with("error[runtime-branch]: cannot branch on a secret value (sintbit) with Python control flow\n --> test.mpc:3:4\n  |\n3 | if a < b:\n  |    ^^^^^\n"), "{text}");
    for needle in ["@if_(", "@if_e(", "if_else("] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    // while, and/or/not and conditional expressions too; public run-time values as well.
    for src in [
        "a = sint(1)\nwhile a > 0:\n    pass\n",
        "a = sint(1)\nx = 1 if a else 2\n",
        "a = sint(1)\nx = a and 1\n",
        "a = sint(1)\nx = not a\n",
        "c = regint(1)\nif c:\n    pass\n",
        "c = cint(1)\nassert c == 1\n",
    ] {
        let e = err(src);
        assert_eq!(e.kind, ErrorKind::RuntimeBranch, "{src}");
        assert!(e.to_string().contains("@if_"), "{e}");
    }
}

#[test]
fn names_and_locals() {
    let e = err("print(undefined_name)\n");
    assert_eq!(e.kind, ErrorKind::Name);
    assert!(e.message.contains("name 'undefined_name' is not defined"));
    let e = err("total = sint(0)\n@for_range(3)\ndef _(i):\n    total = total + i\n");
    let text = e.to_string();
    assert!(
        text.contains("local variable 'total' referenced before assignment"),
        "{text}"
    );
    assert!(text.contains("total.update(new_value)"), "{text}");
    assert!(text.contains("note: called from test.mpc:2:1"), "{text}");
}

#[test]
fn compile_time_exceptions() {
    let e = err("assert 1 == 2, 'one is not two'\n");
    assert_eq!(e.kind, ErrorKind::Assertion);
    assert!(e.message.contains("assertion failed: one is not two"));
    let e = err("x = [1, 2][5]\n");
    assert_eq!(e.kind, ErrorKind::Index);
    let e = err("x = {}['k']\n");
    assert_eq!(e.kind, ErrorKind::Key);
    let e = err("x = 1 / 0\n");
    assert_eq!(e.kind, ErrorKind::ZeroDivision);
    let e = err("raise ValueError('custom problem')\n");
    assert_eq!(e.kind, ErrorKind::Value);
    assert!(e.message.contains("ValueError: custom problem"), "{e}");
    let e = err("a = sint.Array(4)\nx = a[4]\n");
    assert!(
        e.message
            .contains("index 4 out of range for an array of length 4"),
        "{e}"
    );
    let e = err("x = sint(1)\ny = x.nonexistent\n");
    assert_eq!(e.kind, ErrorKind::Attribute);
}

#[test]
fn call_chain_notes() {
    let e = err("def inner():\n    return 1 / 0\ndef outer():\n    return inner()\nouter()\n");
    let text = e.to_string();
    assert!(text.contains("--> test.mpc:2:12"), "{text}");
    assert!(text.contains("note: called from test.mpc:4:12"), "{text}");
    assert!(text.contains("note: called from test.mpc:5:1"), "{text}");
}

#[test]
fn step_budget() {
    let e = err_with(
        "while True:\n    pass\n",
        &with_budgets(Budgets {
            max_steps: 10_000,
            ..Budgets::default()
        }),
    );
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::Steps));
    let text = e.to_string();
    assert!(
        text.contains("evaluation-step budget exceeded (limit 10000)"),
        "{text}"
    );
    assert!(text.contains("`max_steps`"), "{text}");
}

#[test]
fn instruction_budget() {
    let src = "x = sint(1)\nfor i in range(1000):\n    x = x * x\n";
    let e = err_with(
        src,
        &with_budgets(Budgets {
            max_instructions: 500,
            ..Budgets::default()
        }),
    );
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::Instructions));
    let text = e.to_string();
    assert!(
        text.contains("instruction budget exceeded (limit 500)"),
        "{text}"
    );
    assert!(text.contains("@for_range"), "{text}");
    assert!(text.contains("`max_instructions`"), "{text}");
    assert!(e.location.is_some());
}

#[test]
fn memory_budget() {
    let opts = with_budgets(Budgets {
        max_memory_bytes: 1 << 20,
        ..Budgets::default()
    });
    let e = err_with("l = []\nfor i in range(1000000):\n    l.append(i)\n", &opts);
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::Memory));
    let text = e.to_string();
    assert!(
        text.contains("memory budget exceeded (limit 1048576 bytes)"),
        "{text}"
    );
    assert!(text.contains("`max_memory_bytes`"), "{text}");
    // Huge single allocations are refused before they happen, even with the default budget.
    for src in [
        "x = [0] * 10**10\n",
        "x = 'ab' * 10**12\n",
        "x = list(range(10**12))\n",
    ] {
        let e = err(src);
        assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::Memory), "{src}");
    }
    let e = err("x = 2 ** (10 ** 9)\n");
    assert!(e.message.contains("integer too large"), "{e}");
}

#[test]
fn recursion_budget() {
    let e = err("def f(n):\n    return f(n + 1)\nf(0)\n");
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::RecursionDepth));
    let text = e.to_string();
    assert!(
        text.contains("recursion-depth budget exceeded (limit 200)"),
        "{text}"
    );
    assert!(text.contains("`max_recursion_depth`"), "{text}");
    // Deeply nested expressions are bounded too.
    let deep = format!("x = {}1\n", "not ".repeat(5000));
    let e = err(&deep);
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::RecursionDepth));
    let e = err(&format!("x = {}1{}\n", "(".repeat(300), ")".repeat(300)));
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.message.contains("nested more than 200 levels"), "{e}");
}

#[test]
fn wall_time_budget() {
    let opts = with_budgets(Budgets {
        max_wall_time: Duration::from_millis(20),
        ..Budgets::default()
    });
    let e = err_with("n = 0\nwhile True:\n    n += 1\n", &opts);
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::WallTime));
    let text = e.to_string();
    assert!(
        text.contains("wall-time budget exceeded (limit 20ms)"),
        "{text}"
    );
    assert!(text.contains("`max_wall_time`"), "{text}");
}

#[test]
fn source_size_limit() {
    let opts = CompileOptions {
        max_source_bytes: 10,
        ..CompileOptions::default()
    };
    let e = err_with("x = 1234567890\n", &opts);
    assert_eq!(e.kind, ErrorKind::Budget(BudgetKind::Memory));
    assert!(e.message.contains("source is 15 bytes"), "{e}");
}

#[test]
fn runtime_errors_are_compiled_with_their_site() {
    // A run-time index is checked at run time; the instruction names the source site.
    let a = asm("a = sint.Array(3)\ni = regint(5)\nx = a[i]\n");
    assert!(a.contains("chkidx r0, 3, \"test.mpc:3:5\""), "{a}");
    let a = asm("runtime_error('bad value %s', regint(3))\n");
    assert!(
        a.contains("print [\"User exception: bad value \", r0, \"\\n\"]"),
        "{a}"
    );
    assert!(a.contains("crash \"User exception: bad value %s\""), "{a}");
}

#[test]
fn hostile_inputs_fail_cleanly() {
    let cases = [
        "x = []\nx.append(x)\nprint(x)\n",
        "d = {}\nd[[1]] = 2\n",
        "x = 1\nx()\n",
        "class A:\n    def __init__(self):\n        self.a = A()\nA()\n",
        "print(('%s' * 100000) % tuple(range(10)))\n",
        "import math\nmath.factorial(10**7)\n",
        "'{:100000000}'.format(1)\n",
        "sint.Array(10**12)\n",
        "a = regint.inc(10**9)\n",
        "x = sint(1, size=-1)\n",
        "del undefined\n",
        "",
        "\n\n\n",
        "\u{0}",
        "x = []\nfor i in range(300000):\n    x = [x]\n",
        "x = [0]\nx.append(x)\nx.append(x)\ny = [0]\ny.append(y)\ny.append(y)\nprint(x == y, len(str(x)))\n",
        "class N:\n    pass\nhead = None\nfor i in range(100000):\n    n = N()\n    n.next = head\n    n.me = n\n    head = n\n",
        "def f():\n    def g():\n        return g\n    return g\nfor i in range(1000):\n    f()\n",
    ];
    let opts = with_budgets(Budgets {
        max_steps: 2_000_000,
        max_wall_time: Duration::from_secs(5),
        ..Budgets::default()
    });
    for src in cases {
        // Must return (Ok or Err), never panic or hang.
        let _ = common::compile_with(src, &opts);
    }
}

#[test]
fn parser_recursion_is_bounded() {
    // Each of these makes the parser recurse once per token; none may overflow the stack.
    let n = 200_000;
    let cases = [
        format!("x = {}1\n", "-".repeat(n)),
        format!("x = {}1\n", "~ ".repeat(n)),
        format!("x = {}1\n", "not ".repeat(n / 4)),
        format!("x = {}1\n", "lambda: ".repeat(n / 8)),
        format!("x = {}2\n", "2**".repeat(n / 3)),
        format!("x = {}1\n", "- not ".repeat(n / 6)),
        format!("x = 1{}\n", " if 1 else 1".repeat(n / 12)),
        format!("x = a{}\n", "[0]".repeat(n / 3)),
    ];
    for src in &cases {
        let e = common::compile_with(src, &CompileOptions::default());
        if let Err(e) = e {
            assert!(
                matches!(
                    e.kind,
                    ErrorKind::Syntax | ErrorKind::Budget(_) | ErrorKind::Name
                ),
                "{e}"
            );
        }
    }
    let e = err(&format!("x = {}1\n", "-".repeat(5000)));
    assert!(
        e.message
            .contains("more than 1000 consecutive unary operators"),
        "{e}"
    );
}
