//! The `ephemeral demo` command, run as a user would.

use std::process::Command;

fn ephemeral(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ephemeral"))
        .args(args)
        .output()
        .expect("run ephemeral");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_over_tls_reveals_product_and_maximum() {
    let (ok, stdout, stderr) = ephemeral(&["demo", "--insecure-dealer", "--inputs", "6,-7,9"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("product of all inputs = -378"), "{stdout}");
    assert!(
        stdout.contains("largest input held by party [2]"),
        "{stdout}"
    );
    assert!(
        stderr.contains("INSECURE"),
        "the insecure dealer must announce itself: {stderr}"
    );
}

#[test]
fn demo_is_maliciously_secure_by_default() {
    let (ok, stdout, stderr) = ephemeral(&["demo", "-N", "2", "--inputs", "6,-7"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("MASCOT (maliciously secure)"), "{stdout}");
    assert!(stdout.contains("product of all inputs = -42"), "{stdout}");
    assert!(
        stdout.contains("largest input held by party [0]"),
        "{stdout}"
    );
    // The preprocessing phase is reported apart, with its own traffic.
    assert!(stdout.contains("party 1: preprocessing"), "{stdout}");
    assert!(!stderr.contains("INSECURE"), "{stderr}");
}

#[test]
fn demo_rejects_mismatched_inputs_with_advice() {
    let (ok, _, stderr) = ephemeral(&["demo", "--insecure-dealer", "--inputs", "1,2"]);
    assert!(!ok);
    assert!(stderr.contains("give exactly one per party"), "{stderr}");
    let (ok, _, stderr) = ephemeral(&["demo", "--insecure-dealer", "-N", "1"]);
    assert!(!ok);
    assert!(stderr.contains("at least 2 parties"), "{stderr}");
}

#[test]
fn bench_refuses_to_run_without_the_insecure_flag() {
    let (ok, _, stderr) = ephemeral(&["bench", "--quick", "--out", "/dev/null"]);
    assert!(!ok);
    assert!(stderr.contains("--insecure-dealer"), "{stderr}");
}
