//! Timing of the VM on the benchmark programs (ignored by default; run with
//! `cargo test -p vm --test perf -- --ignored --nocapture`).

mod common;

use std::time::Instant;

use vm::VmConfig;

fn time(name: &str, src: &str, n: usize) {
    let t = Instant::now();
    let res = common::run_with(src, n, &[], None, &VmConfig::default());
    let wall = t.elapsed();
    let o = res
        .into_iter()
        .next()
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{name} (N = {n}): wall {:.3?}, online {:.3?}, dealer {:.3?}, {} rounds, {} flushes, {} instructions; output {:?}",
        wall,
        o.online_time(),
        o.prep_time,
        o.stats.rounds,
        o.stats.flushes,
        o.stats.instructions,
        o.output.trim()
    );
}

#[test]
#[ignore]
fn benchmarks() {
    time(
        "10^6 multiplications",
        "a = sint(3, size=1000000)\nb = a * a\nprint_ln('%s', b.sum().reveal())\n",
        2,
    );
    time(
        "10^5 comparisons",
        "a = sint(3, size=100000)\nb = sint(4, size=100000)\nc = a < b\nprint_ln('%s', c.sum().reveal())\n",
        2,
    );
    time(
        "10^4-iteration loop",
        "n = 10000\na = sint.Array(n)\nb = sint.Array(n)\nc = sint.Array(n)\na.assign_all(3)\nb.assign_all(5)\n@for_range(n)\ndef _(i):\n    c[i] = a[i] * b[i]\nprint_ln('%s', sum(c.reveal()))\n",
        2,
    );
    time(
        "10^5-iteration loop with a comparison each",
        "n = 100000\na = sint.Array(n)\nc = sint.Array(n)\n@for_range(n)\ndef _(i):\n    c[i] = a[i] < i\nprint_ln('%s', sum(c.reveal()))\n",
        2,
    );
}

#[test]
#[ignore]
fn interpreter_speed() {
    time(
        "10^6-iteration regint loop",
        "acc = MemValue(regint(0))\n@for_range(1000000)\ndef _(i):\n    acc.iadd(i * 3 % 7)\nprint_ln('%s', acc.read())\n",
        2,
    );
    time(
        "10^5-iteration loop, one multiplication each, then a reveal",
        "n = 100000\na = sint.Array(n)\nc = sint.Array(n)\na.assign_all(3)\n@for_range(n)\ndef _(i):\n    c[i] = a[i] * a[i]\nprint_ln('%s', sum(c.reveal()))\n",
        2,
    );
}
