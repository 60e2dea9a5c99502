//! Large Python loops compile into run-time loops (MP-SPDZ's flow optimisation): a
//! 10^7-iteration loop compiles in well under the budgets, while loops that need compile-time
//! values still unroll exactly.

use std::time::{Duration, Instant};

fn compile(src: &str) -> lang::CompiledProgram {
    lang::compile(src, "loops.mpc", &[], &lang::CompileOptions::default())
        .unwrap_or_else(|e| panic!("does not compile:\n{e}"))
}

#[test]
fn ten_million_iterations_compile_in_seconds() {
    // Programs/Source/test_flow_optimization.mpc's loop.
    let src = "n = 10 ** 7\n\
               a = regint.Array(n)\n\
               b = regint.Array(n)\n\
               for i in range(n):\n\
               \x20   if i > 1000:\n\
               \x20       a[i] = i\n\
               \x20   if i < 1000:\n\
               \x20       b[i] = -1\n\
               \x20   else:\n\
               \x20       b[i] = 2 * i\n\
               print_ln('%s', a[5000000])\n";
    let t = Instant::now();
    let p = compile(src);
    let took = t.elapsed();
    eprintln!(
        "test_flow_optimization's loop (10^7 iterations): {took:?}, {} instructions",
        p.summary.instructions
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        p.summary.instructions < 200,
        "{} instructions: the loop was unrolled",
        p.summary.instructions
    );

    // A secret accumulation over 10^7 iterations (the name starts as a Python int).
    let src = "n = 10 ** 7\n\
               x = sint.Array(n)\n\
               total = 0\n\
               for i in range(n):\n\
               \x20   total = total + x[i] * 2\n\
               print_ln('%s', total.reveal())\n";
    let t = Instant::now();
    let p = compile(src);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(p.summary.instructions < 200);
}

#[test]
fn loops_needing_compile_time_values_unroll() {
    // A list indexed by the loop variable: not expressible at run time, so unrolled.
    let src = "c = [j % 5 for j in range(20000)]\n\
               a = cint.Array(20000)\n\
               for i in range(20000):\n\
               \x20   a[i] = c[i]\n";
    let p = compile(src);
    assert!(p.summary.instructions > 20000, "{}", p.summary.instructions);
    // A Python counter carried across iterations.
    let src = "k = 0\n\
               for i in range(20000):\n\
               \x20   k += 1\n\
               print_ln('%s', k)\n";
    let p = compile(src);
    assert!(p.bytecode.to_string().contains("20000"));
}

#[test]
fn the_loop_variable_is_a_python_int_after_the_loop() {
    let src = "a = regint.Array(20000)\n\
               for i in range(20000):\n\
               \x20   a[i] = i\n\
               b = sint.Array(i + 1)\n\
               print_ln('%s', len(b))\n";
    let p = compile(src);
    assert!(p.summary.instructions < 100, "{}", p.summary.instructions);
    assert!(p.bytecode.to_string().contains("20000"));
}

#[test]
fn global_stores_in_a_large_loop_unroll_exactly() {
    // A function called from the loop counts calls through `global`: only unrolling gives
    // Python's result, and the speculation must leave the counter untouched.
    let src = "calls = 0\n\
               def f(x):\n\
               \x20   global calls\n\
               \x20   calls += 1\n\
               \x20   return x * 2\n\
               a = cint.Array(10000)\n\
               for i in range(10000):\n\
               \x20   a[i] = f(i)\n\
               print_ln('calls=%s', calls)\n";
    let p = compile(src);
    let text = p.bytecode.to_string();
    assert!(text.contains("calls=10000"), "the counter is exact");
    assert!(p.summary.instructions > 10000);
}

#[test]
fn loops_whose_python_meaning_needs_the_int_unroll() {
    // True division, text of the index and membership tests: the unrolled results.
    for body in [
        "a[i] = i / 2",
        "s = 'x%s' % i\n    a[i] = len(s)",
        "a[i] = 1 if i in [3, 9999] else 0",
    ] {
        let src = format!(
            "a = cfix.Array(10000)\nfor i in range(10000):\n    {body}\nprint_ln('%s', a[9999])\n"
        );
        let p = compile(&src);
        assert!(
            p.summary.instructions > 10000,
            "{body}: {} instructions",
            p.summary.instructions
        );
    }
    // A negative range: C and Python division differ, so it unrolls.
    let p =
        compile("a = regint.Array(10000)\nfor i in range(-10000, 0):\n    a[i + 10000] = i // 3\n");
    assert!(p.summary.instructions > 10000);
}
