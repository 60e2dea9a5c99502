//! Run-time control flow: loops stay loops, branches are jumps, functions are calls.

mod common;
use common::*;

#[test]
fn for_range_is_a_real_loop_compiled_once() {
    let p = ok("a = sint.Array(10000)\nb = sint.Array(10000)\nc = sint.Array(10000)\n@for_range(10000)\ndef _(i):\n    c[i] = a[i] * b[i]\n");
    let text = p.bytecode.to_string();
    assert_eq!(text.matches("muls").count(), 1, "{text}");
    assert!(p.summary.instructions < 30, "{text}");
    assert_eq!(p.summary.fixed.multiplications, 10000);
    assert_seq(
        &text,
        &[
            "ldri r0, 0",
            "rcmpi lt, r1, r0, 10000",
            "jmpz r1, @14",
            "chkidx r0, 10000, \"test.mpc:6:12\"",
            "ldmi s0, r0",
            "muls s2, s0, s1",
            "ropi add, r0, r0, 1",
            "jmp @1",
            "ret",
        ],
    );
}

#[test]
fn for_range_variants_compile_like_for_range() {
    let body = "    c[i] = a[i] * a[i]\n";
    let head = "a = sint.Array(8)\nc = sint.Array(8)\n";
    let plain = asm(&format!("{head}@for_range(8)\ndef _(i):\n{body}"));
    for deco in [
        "for_range_opt(8)",
        "for_range_opt(8, budget=100)",
        "for_range_parallel(4, 8)",
        "for_range_multithread(2, 4, 8)",
        "for_range_opt_multithread(2, 8)",
    ] {
        assert_eq!(
            asm(&format!("{head}@{deco}\ndef _(i):\n{body}")),
            plain,
            "{deco}"
        );
    }
}

#[test]
fn for_range_start_stop_step_and_runtime_bounds() {
    let a = asm("@for_range(10, 0, -3)\ndef _(i):\n    print_ln('%s', i)\nn = regint(4)\n@for_range(1, n)\ndef _(j):\n    print_ln('%s', j)\n");
    assert_seq(
        &a,
        &[
            "ldri r0, 10",
            "rcmpi gt, r1, r0, 0",
            "jmpz r1, @6",
            "print [r0, \"\\n\"]",
            "ropi add, r0, r0, -3",
            "jmp @1",
            "ldri r2, 4",
            "ldri r3, 1",
            "mov r4, r2",
            "rcmp lt, r5, r3, r4",
            "jmpz r5, @14",
            "print [r3, \"\\n\"]",
            "ropi add, r3, r3, 1",
            "jmp @9",
        ],
    );
}

#[test]
fn nested_for_range_and_list_form() {
    let a = asm("@for_range_opt([2, 3])\ndef _(i, j):\n    print_ln('%s %s', i, j)\n");
    let b = asm("@for_range(2)\ndef _(i):\n    @for_range(3)\n    def _(j):\n        print_ln('%s %s', i, j)\n");
    assert_eq!(a, b);
    let p = ok("x = sint(1)\n@for_range(4)\ndef _(i):\n    @for_range(5)\n    def _(j):\n        y = x * x\n");
    assert_eq!(p.summary.fixed.multiplications, 20);
}

#[test]
fn update_and_memvalue_carry_state_across_iterations() {
    let a = asm("total = sint(0)\na = sint.Array(3)\n@for_range(3)\ndef _(i):\n    total.update(total + a[i])\nm = MemValue(regint(0))\n@for_range(3)\ndef _(i):\n    m.iadd(i)\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 0",
            "ldmi s1, r0",
            "adds s2, s0, s1",
            "mov s0, s2",
            "ldm r5, 0",
            "rop add, r6, r5, r3",
            "stm r6, 0",
        ],
    );
}

#[test]
fn break_loop_jumps_to_the_loop_end() {
    let a = asm("@for_range(10)\ndef _(i):\n    @if_(i == 5)\n    def _():\n        break_loop()\n    print_ln('%s', i)\n");
    assert_seq(
        &a,
        &[
            "rcmpi lt, r1, r0, 10",
            "jmpz r1, @9",
            "rcmpi eq, r2, r0, 5",
            "jmpz r2, @6",
            "jmp @9",
            "print [r0, \"\\n\"]",
            "ropi add, r0, r0, 1",
            "jmp @1",
            "ret",
        ],
    );
    let e = err("break_loop()\n");
    assert!(
        e.message.contains("break_loop() outside a run-time loop"),
        "{e}"
    );
}

#[test]
fn while_do_and_do_while() {
    let a = asm("@while_do(lambda x, y: x < 10, regint(0), regint(1))\ndef _(i, j):\n    print_ln('%s', i)\n    return i + j, j * 2\n");
    assert_seq(
        &a,
        &[
            "ldri r0, 0",
            "ldri r1, 1",
            "mov r2, r0",
            "mov r3, r1",
            "rcmpi lt, r4, r2, 10",
            "jmpz r4, @12",
            "print [r2, \"\\n\"]",
            "rop add, r5, r2, r3",
            "ropi mul, r6, r3, 2",
            "mov r2, r5",
            "mov r3, r6",
            "jmp @4",
            "ret",
        ],
    );
    let b = asm(
        "n = MemValue(regint(0))\n@do_while\ndef _():\n    n.iadd(1)\n    return n.read() < 3\n",
    );
    assert_seq(
        &b,
        &[
            "ldm r1, 0",
            "ropi add, r2, r1, 1",
            "stm r2, 0",
            "ldm r3, 0",
            "rcmpi lt, r4, r3, 3",
            "jmpnz r4, @2",
        ],
    );
    let p = ok("x = sint(2)\n@while_do(lambda i: i < 5, regint(0))\ndef _(i):\n    y = x * x\n    return i + 1\n");
    assert_eq!(
        p.summary
            .runtime_dependent
            .as_ref()
            .unwrap()
            .multiplications,
        1
    );
}

#[test]
fn if_and_if_e_else() {
    let a = asm("c = regint(1)\n@if_(c)\ndef _():\n    print_ln('yes')\n@if_e(c == 2)\ndef _():\n    print_ln('two')\n@else_\ndef _():\n    print_ln('other')\nprint_ln('end')\n");
    assert_seq(
        &a,
        &[
            "ldri r0, 1",
            "jmpz r0, @3",
            "print [\"yes\\n\"]",
            "rcmpi eq, r1, r0, 2",
            "jmpz r1, @7",
            "print [\"two\\n\"]",
            "jmp @8",
            "print [\"other\\n\"]",
            "print [\"end\\n\"]",
        ],
    );
    // An @if_e without @else_ is closed at the next statement.
    let b = asm("c = regint(1)\n@if_e(c)\ndef _():\n    print_ln('a')\nprint_ln('b')\n");
    assert_seq(
        &b,
        &[
            "jmpz r0, @4",
            "print [\"a\\n\"]",
            "jmp @4",
            "print [\"b\\n\"]",
        ],
    );
    // A cint condition is converted to regint; compile-time conditions are folded.
    let c = asm("x = cint(3)\n@if_(x)\ndef _():\n    print_ln('x')\n@if_e(1 > 2)\ndef _():\n    print_ln('never')\n@else_\ndef _():\n    print_ln('always')\n");
    assert_seq(
        &c,
        &[
            "ldci c0, 3",
            "convcr r0, c0",
            "jmpz r0, @4",
            "print [\"x\\n\"]",
            "print [\"always\\n\"]",
        ],
    );
    assert!(!c.contains("never"));
}

#[test]
fn if_then_else_then_end_if() {
    let a = asm("c = regint(0)\nif_then(c)\nprint_ln('then')\nelse_then()\nprint_ln('else')\nend_if()\nif_then(c)\nprint_ln('only')\nend_if()\n");
    assert_seq(
        &a,
        &[
            "jmpz r0, @4",
            "print [\"then\\n\"]",
            "jmp @5",
            "print [\"else\\n\"]",
            "jmpz r0, @7",
            "print [\"only\\n\"]",
        ],
    );
    let e = err("if_then(regint(1))\nprint_ln('x')\n");
    assert!(
        e.message.contains("if_then() without a matching end_if()"),
        "{e}"
    );
}

#[test]
fn secret_conditions_are_refused_with_advice() {
    let e = err("a = sint(1)\n@if_(a > 0)\ndef _():\n    pass\n");
    assert_eq!(e.kind, lang::ErrorKind::RuntimeBranch);
    let text = e.to_string();
    assert!(text.contains("if_else"), "{text}");
}

#[test]
fn function_compiles_once_per_signature() {
    let p = ok("@function\ndef f(x, k):\n    return x * k\na = f(sint(1), 2)\nb = f(sint(2), 2)\nc = f(sint(1, size=3), 2)\nd = f(sint(1), 3)\ne = f(cint(1), 2)\n");
    assert_eq!(p.bytecode.functions.len(), 5, "{}", p.bytecode);
    let text = p.bytecode.to_string();
    assert_seq(
        &text,
        &[
            "call 1, [s0], [s1]",
            "call 1, [s2], [s3]",
            "call 2, [s4], [s5]",
            "call 3, [s6], [s7]",
            "call 4, [c0], [c1]",
        ],
    );
    assert!(text.contains("function 1 f(s0) -> (s2)"), "{text}");
}

#[test]
fn function_returns_structures_and_captures_outer_registers() {
    let a = asm("k = sint(5)\n@function\ndef f(x):\n    return [x + k, (x * 2, 7)]\nr = f(sint(1))\nprint_ln('%s %s %s', r[0].reveal(), r[1][0].reveal(), r[1][1])\n");
    assert_seq(
        &a,
        &[
            "call 1, [s1, s0], [s2, s3]",
            "open c0, s2",
            "open c1, s3",
            "print [c0, \" \", c1, \" 7\\n\"]",
        ],
    );
    // k is captured as an extra parameter (s2 in f's frame).
    assert!(a.contains("function 1 f(s0, s2) -> (s4, s5)"), "{a}");
    assert_seq(&a, &["adds s1, s0, s2", "mulsi s3, s0, 2"]);
    // Writing an outer register (update) copies it back after the call.
    let b =
        asm("acc = sint(0)\n@function_block\ndef add():\n    acc.update(acc + 1)\nadd()\nadd()\n");
    assert_seq(&b, &["call 1, [s0], [s0]", "call 1, [s0], [s0]"]);
    assert!(b.contains("function 1 add(s1) -> (s1)"), "{b}");
}

#[test]
fn recursive_function_without_results() {
    let a = asm("@function\ndef count(n):\n    print_ln('%s', n)\n    @if_(n > 0)\n    def _():\n        count(n - 1)\ncount(regint(3))\n");
    assert!(a.contains("function 1 count(r0) -> ()"), "{a}");
    assert_seq(
        &a,
        &[
            "print [r0, \"\\n\"]",
            "rcmpi gt, r1, r0, 0",
            "jmpz r1, @5",
            "ropi sub, r2, r0, 1",
            "call 1, [r2], []",
            "ret",
        ],
    );
}

#[test]
fn runtime_values_from_a_function_cannot_escape() {
    let e = err(
        "store = []\n@function\ndef f(x):\n    store.append(x * 2)\nf(sint(1))\ny = store[0] + 1\n",
    );
    assert!(e.message.contains("created inside a @function"), "{e}");
}

#[test]
fn map_sum_and_multithread() {
    let a = asm("@map_sum_opt(4, 10, [sint])\ndef summer(i):\n    return sint(i) * sint(i)\nprint_ln('%s', summer().reveal())\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 0",
            "rcmpi lt, r1, r0, 10",
            "convrs s1, r0",
            "convrs s2, r0",
            "muls s3, s1, s2",
            "adds s4, s0, s3",
            "mov s0, s4",
            "open c0, s0",
        ],
    );
    let b = asm("a = sint.Array(6)\n@multithread(3, 6)\ndef _(base, size):\n    a.assign_vector(a.get_vector(base, size) * 2, base)\n");
    assert_seq(
        &b,
        &["ldm s0, 0, n=6", "mulsi s1, s0, 2, n=6", "stm s1, 0, n=6"],
    );
    let c = asm("@map_sum(2, 1, 5, 2, [sint, cint])\ndef f(i):\n    return sint(1), cint(2)\nx, y = f()\nprint_ln('%s %s', x.reveal(), y)\n");
    assert!(c.contains("cop add"), "{c}");
}

#[test]
fn foreach_enumerate_loops_over_public_data() {
    let a = asm("@foreach_enumerate([5, 7, 9])\ndef _(i, x):\n    print_ln('%s: %s', i, x)\n");
    assert_seq(
        &a,
        &[
            "ldri r0, 5",
            "stm r0, 0",
            "ldri r1, 7",
            "stm r1, 1",
            "ldri r2, 9",
            "stm r2, 2",
            "ldri r3, 0",
            "chkidx r3, 3, \"test.mpc:1:2\"",
            "ldmi r5, r3",
            "print [r3, \": \", r5, \"\\n\"]",
        ],
    );
}

#[test]
fn python_loops_unroll_and_python_ifs_fold() {
    let a = asm("x = sint(1)\nfor i in range(3):\n    if i % 2 == 0:\n        x = x * 2\n    else:\n        x = x + i\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 1",
            "mulsi s1, s0, 2",
            "addsi s2, s1, 1",
            "mulsi s3, s2, 2",
            "ret",
        ],
    );
}

#[test]
fn threads_api_runs_inline() {
    let a = asm("def t():\n    print_ln('thread')\ntape = program.new_tape(t)\nprogram.run_tape(tape, 0)\nprogram.join_tape(tape)\n");
    assert_seq(&a, &["print [\"thread\\n\"]", "ret"]);
}
