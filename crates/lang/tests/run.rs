//! End-to-end: compile, then run the bytecode in a cleartext reference interpreter and check
//! the printed output (secret values are plain field elements there).

#[path = "common/clear_vm.rs"]
mod clear_vm;
mod common;
use clear_vm::run;

fn check(src: &str, inputs: &[(u32, &str)], expected: &str) {
    match run(src, inputs) {
        Ok(out) => assert_eq!(out, expected, "program:\n{src}"),
        Err(e) => panic!("run failed: {e}\nprogram:\n{src}"),
    }
}

#[test]
fn arithmetic_and_comparisons() {
    check("a = sint(7)\nb = sint(-3)\nprint_ln('%s %s %s %s', (a + b).reveal(), (a - b).reveal(), (a * b).reveal(), (2 - a).reveal())\nprint_ln('%s %s %s %s %s %s', (a < b).reveal(), (a > b).reveal(), (a <= 7).reveal(), (b >= 0).reveal(), (a == 7).reveal(), (a != 7).reveal())",
        &[], "4 10 -21 -5\n0 1 1 0 1 0\n");
    check("a = sint(100)\nprint_ln('%s %s %s %s', (a >> 3).reveal(), (a << 2).reveal(), (a % 16).reveal(), (a ** 3).reveal())\nb = sint(-100)\nprint_ln('%s %s', (b >> 3).reveal(), (b % 16).reveal())",
        &[], "12 400 4 1000000\n-13 12\n");
    check("a = sint(17)\nprint_ln('%s %s', a.int_div(sint(5), 16).reveal(), sint(-17).int_div(sint(5), 16).reveal())", &[], "3 -4\n");
}

#[test]
fn clear_types_semantics() {
    check("c = cint(-13)\nr = regint(-13)\nprint_ln('%s %s %s %s', c // 4, c % 4, r / 4, r % 4)\nprint_ln('%s %s %s', c < 0, r * 3, cint(7) * regint(6))",
        &[], "-3 -1 -3 -1\n1 -39 42\n");
}

#[test]
fn fixed_point() {
    check("x = sfix(1.5)\ny = sfix(-0.25)\nprint_ln('%s %s %s', (x * y).reveal(), (x + y).reveal(), (x / y).reveal())\nprint_ln('%s', (sint(10) / sint(4)).reveal())",
        &[], "-0.375 1.25 -6\n2.5\n");
    check("print_float_precision(3)\nprint_ln('%s', (sfix(2) / 3).reveal())\nprint_ln('%s %s', (sfix(1.5) < sfix(2)).reveal(), cfix(0.5) * cfix(3))", &[], "0.667\n1 1.5\n");
}

#[test]
fn inputs_and_reveal() {
    check("a = sint.get_input_from(0)\nb = sint.get_input_from(1)\nprint_ln('got %s from player 0', a.reveal())\nprint_ln('sum %s', (a + b).reveal())\nf = sfix.get_input_from(1)\nprint_ln('fix %s', f.reveal())",
        &[(0, "5"), (1, "7 2.25")], "got 5 from player 0\nsum 12\nfix 2.25\n");
    let e = run(
        "a = sint.get_input_from(0)\nb = sint.get_input_from(0)\n",
        &[(0, "1")],
    )
    .unwrap_err();
    assert!(e.contains("party 0 ran out of input"), "{e}");
}

#[test]
fn loops_and_arrays() {
    check("a = sint.Array(5)\n@for_range(5)\ndef _(i):\n    a[i] = i * i\ntotal = sint(0)\n@for_range(5)\ndef _(i):\n    total.update(total + a[i])\nprint_ln('%s %s', total.reveal(), a.reveal())",
        &[], "30 [0, 1, 4, 9, 16]\n");
    check("@for_range(10, 0, -3)\ndef _(i):\n    print_str('%s ', i)\nprint_ln()\n@for_range_opt([2, 2])\ndef _(i, j):\n    print_str('%s%s ', i, j)\nprint_ln()", &[], "10 7 4 1 \n00 01 10 11 \n");
    check("@for_range(10)\ndef _(i):\n    @if_(i == 3)\n    def _():\n        break_loop()\n    print_str('%s', i)\nprint_ln('')", &[], "012\n");
    check("@while_do(lambda x: x < 20, regint(1))\ndef _(x):\n    print_str('%s ', x)\n    return x * 3\nprint_ln()\nn = MemValue(regint(0))\n@do_while\ndef _():\n    n.iadd(2)\n    return n.read() < 7\nprint_ln('%s', n.read())", &[], "1 3 9 \n8\n");
    let e = run("a = sint.Array(3)\ni = regint(3)\nx = a[i]\n", &[]).unwrap_err();
    assert!(
        e.contains("index 3 out of range [0, 3) at test.mpc:3:5"),
        "{e}"
    );
}

#[test]
fn branches() {
    check("c = regint(2)\n@if_e(c == 2)\ndef _():\n    print_ln('two')\n@else_\ndef _():\n    print_ln('other')\n@if_e(c == 3)\ndef _():\n    print_ln('three')\n@else_\ndef _():\n    print_ln('not three')\nif_then(c > 1)\nprint_ln('then')\nelse_then()\nprint_ln('else')\nend_if()\nprint_ln_if(c, 'if %s', c)\nprint_ln_if(c - 2, 'never')",
        &[], "two\nnot three\nthen\nif 2\n");
    check("a = sint(3)\nb = sint(8)\nc = a < b\nprint_ln('%s %s', c.if_else(a, b).reveal(), if_else(c, 10, 20).reveal())\nx, y = (a > b).cond_swap(a, b)\nprint_ln('%s %s', x.reveal(), y.reveal())", &[], "3 10\n3 8\n");
}

#[test]
fn functions() {
    check("@function\ndef f(x, y):\n    return x * y + 1, x - y\na, b = f(sint(3), sint(4))\nc, d = f(sint(5), sint(1))\nprint_ln('%s %s %s %s', a.reveal(), b.reveal(), c.reveal(), d.reveal())", &[], "13 -1 6 4\n");
    check("acc = sint(0)\n@function_block\ndef add():\n    acc.update(acc + 2)\nadd()\nadd()\nadd()\nprint_ln('%s', acc.reveal())", &[], "6\n");
    check("@function\ndef count(n):\n    print_str('%s ', n)\n    @if_(n > 0)\n    def _():\n        count(n - 1)\ncount(regint(3))\nprint_ln()", &[], "3 2 1 0 \n");
    check(
        "k = sint(10)\n@function\ndef g(x):\n    return x + k\nprint_ln('%s', g(sint(5)).reveal())",
        &[],
        "15\n",
    );
}

#[test]
fn vectors_matrices_sorting() {
    check("v = sint([3, 1, 2])\nw = v * v + regint.inc(3)\nprint_ln('%s %s', w.reveal(), w.sum().reveal())", &[], "[9, 2, 6] 17\n");
    check("m = Matrix.create_from([[sint(1), sint(2)], [sint(3), sint(4)]])\np = m * m\np.print_reveal_nested()\nprint_ln('%s', m.transpose().reveal_nested()[0][1].reveal() if False else m.transpose()[0][1].reveal())", &[], "[[7, 10], [15, 22]]\n3\n");
    check("a = Array.create_from([sint(x) for x in [5, 3, 9, 1, 7, 2, 8, 6, 4]])\na.sort()\nprint_ln('%s', a.reveal())", &[], "[1, 2, 3, 4, 5, 6, 7, 8, 9]\n");
    check("l = [sint(x) for x in [4, 9, 2, 7, 5]]\nprint_ln('%s %s %s', max(l).reveal(), min(l).reveal(), sum(l).reveal())", &[], "9 2 27\n");
    check("a = sint.Array(3)\nb = sint.Array(3)\na.assign(sint([1, 2, 3]))\nb.assign(sint([4, 5, 6]))\nprint_ln('%s', a.dot(b).reveal())", &[], "32\n");
}

#[test]
fn bits() {
    check("a = sint(13)\nbits = a.bit_decompose(5)\nprint_ln('%s', [b.reveal() for b in bits])\nx = (a > 10) & (a < 20)\ny = (a > 20) | (a < 5)\nz = (a > 10) ^ (a > 12)\nprint_ln('%s %s %s %s', x.reveal(), y.reveal(), z.reveal(), (~(a > 20)).reveal())", &[], "[1, 0, 1, 1, 0]\n1 0 0 1\n");
}

#[test]
fn map_sum_tree_reduce_multithread() {
    check("@map_sum_opt(2, 5, [sint])\ndef s(i):\n    return sint(i) * sint(i)\nprint_ln('%s', s().reveal())\nl = [sint(i) for i in range(7)]\nprint_ln('%s', tree_reduce(lambda a, b: a.max(b), l).reveal())\na = sint.Array(6)\n@multithread(2, 6)\ndef _(base, size):\n    a.assign_vector(regint.inc(size, base) * 2, base)\nprint_ln('%s', a.reveal())", &[], "30\n6\n[0, 2, 4, 6, 8, 10]\n");
}

#[test]
fn runtime_error_and_crash() {
    let e = run(
        "runtime_error('bad %s', regint(3))\nprint_ln('unreachable')\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        e,
        "User exception: bad 3\n<error: crash: User exception: bad %s>"
    );
    let e = run("crash(regint(1) == 1)\n", &[]).unwrap_err();
    assert!(e.contains("crash() called"), "{e}");
    assert_eq!(
        run("crash(regint(0))\nprint_ln('ok')\n", &[]).unwrap(),
        "ok\n"
    );
}

#[test]
fn tour_program_up_to_the_sockets() {
    let src = include_str!("programs/tour.mpc");
    let cut = src.split("listen_for_clients").next().unwrap();
    let out = clear_vm::run_with(cut, &[(0, "5 1.5"), (1, "1 2 3 4")], "42").expect("tour runs");
    assert_eq!(
        out,
        "lt 1 eq 0\nshift 1 mod 5\ndiv 2.5\nidiv 1\nbits [1, 0, 1, 0, 0, 0, 0, 0]\nclear 37 1\nregint 17 1\n\
         vec 2\nsum 20\nfix 1.188 0.75\n[[7, 10], [15, 22]]\n[0, 3, 5, 6, 6, 7, 7, 9]\nmv 3\nf 26\n\
         to 5\npub 42 0 2\n"
    );
}

#[test]
fn mpc_math_on_secret_fixed_point() {
    let src = "import mpc_math\nprint_float_precision(5)\nfor x in [0.5, 1.0, 2.0, 3.75, 100.0, 0.01]:\n    v = sfix(x)\n    print_ln('%s %s %s', mpc_math.sqrt(v).reveal(), mpc_math.log(v).reveal(), mpc_math.log2_fx(v).reveal())\nfor x in [-3.0, -0.5, 0.0, 0.25, 1.0, 4.5, -20.0]:\n    v = sfix(x)\n    print_ln('%s %s %s', mpc_math.exp(v).reveal(), mpc_math.sigmoid(v).reveal(), mpc_math.tanh(v).reveal())\nprint_ln('%s', mpc_math.pow_fx(sfix(2.0), 3).reveal())\n";
    let out = run(src, &[]).expect("runs");
    let lines: Vec<Vec<f64>> = out
        .lines()
        .map(|l| l.split(' ').map(|x| x.parse::<f64>().unwrap()).collect())
        .collect();
    let close = |got: f64, want: f64, tol: f64| {
        assert!(
            (got - want).abs() <= tol * want.abs().max(1.0),
            "got {got}, want {want}\n{out}"
        )
    };
    for (i, x) in [0.5f64, 1.0, 2.0, 3.75, 100.0, 0.01].iter().enumerate() {
        close(lines[i][0], x.sqrt(), 2e-3);
        close(lines[i][1], x.ln(), 2e-3);
        close(lines[i][2], x.log2(), 2e-3);
    }
    for (j, x) in [-3.0f64, -0.5, 0.0, 0.25, 1.0, 4.5, -20.0]
        .iter()
        .enumerate()
    {
        let l = &lines[6 + j];
        close(l[0], x.exp(), 2e-3);
        close(l[1], 1.0 / (1.0 + (-x).exp()), 2e-3);
        close(l[2], x.tanh(), 2e-3);
    }
    close(lines[13][0], 8.0, 5e-3);
}

#[test]
fn nested_branches_inside_loops_and_functions() {
    check("@for_range(4)\ndef _(i):\n    @if_e(i == 1)\n    def _():\n        print_str('one ')\n    @else_\n    def _():\n        @if_e(i > 2)\n        def _():\n            print_str('big ')\n        @else_\n        def _():\n            print_str('small ')\n    print_str('| ')\nprint_ln()", &[], "small | one | small | big | \n");
    check("@function\ndef classify(x):\n    r = MemValue(regint(0))\n    @if_e(x < 0)\n    def _():\n        r.write(-1)\n    @else_\n    def _():\n        @if_(x > 0)\n        def _():\n            r.write(1)\n    return r.read()\nfor v in [-5, 0, 7]:\n    print_str('%s ', classify(regint(v)))\nprint_ln()", &[], "-1 0 1 \n");
}
