//! How much memory a run of a program with a large declared but little used memory takes: the
//! growth of this process's peak resident set (its own test binary, so nothing else runs).
//! `cargo test -p vm --test footprint -- --nocapture` prints the numbers.

mod common;

use vm::VmConfig;

/// This process's peak resident set (VmHWM) in KiB, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_large_declared_memory_is_not_allocated_up_front() {
    // Declares 2^22 secret cells (128 MiB at 32 bytes each), uses one.
    let src = "a = sint.Array(2**22)\na[0] = sint(1)\nprint_ln('%s', a[0].reveal())\n";
    let before = peak_rss_kib();
    let res = common::run_with(src, 2, &[], None, &VmConfig::default());
    let after = peak_rss_kib();
    assert!(res.iter().all(|r| r.is_ok()));
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "2 parties, sint.Array(2**22) with one cell used: peak RSS {b} KiB before the run, {a} KiB after (+{} KiB)",
            a - b
        );
        // Allocated up front, the two parties' memories alone would be 2 × 128 MiB.
        assert!(a - b < 64 << 10, "peak RSS grew by {} KiB", a - b);
    }
}
