//! `ephemeral run` and `ephemeral compile`, run as a user would.

use std::path::PathBuf;
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

/// A scratch directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ephemeral-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SEED: &str = "listen(10000)\nclient_socket_id = regint()\nacceptclientconnection(client_socket_id, 10000)\nv = sint.read_from_socket(client_socket_id, 2)\na = v[0]\nb = v[1]\nsum = a + b\nresp = Array(1, sint)\nresp[0] = sum\nsint.write_to_socket(client_socket_id, resp)\n";

#[test]
fn seed_example_runs_from_the_command_line_with_socket_input() {
    let d = scratch("seed");
    std::fs::write(d.join("seed.mpc"), SEED).unwrap();
    std::fs::write(d.join("seed.sock"), "3 4\n").unwrap();
    let prog = d.join("seed.mpc").display().to_string();
    let sock = d.join("seed.sock").display().to_string();
    for n in ["2", "3"] {
        let (ok, stdout, stderr) = ephemeral(&[
            "run",
            &prog,
            "-N",
            n,
            "--insecure-dealer",
            "--socket-input",
            &sock,
            "--stats",
        ]);
        assert!(ok, "{stderr}");
        assert_eq!(stdout, "client 0 received shares+MACs: 7\n");
        assert!(stderr.contains("INSECURE"), "{stderr}");
        assert!(stderr.contains("party 0: online"), "{stderr}");
        assert!(stderr.contains("rounds"), "{stderr}");
    }
}

#[test]
fn run_with_input_files_args_and_stats() {
    let d = scratch("inputs");
    std::fs::write(
        d.join("p.mpc"),
        "k = int(program.args[1])\na = sint.get_input_from(0)\nb = sint.get_input_from(1)\nprint_ln('%s %s', (a * b + k).reveal(), (a < b).reveal())\n",
    )
    .unwrap();
    std::fs::write(d.join("in0"), "6\n").unwrap();
    std::fs::write(d.join("in1"), "7\n").unwrap();
    let path = |f: &str| d.join(f).display().to_string();
    let (ok, stdout, stderr) = ephemeral(&[
        "run",
        &path("p.mpc"),
        "-N",
        "3",
        "--insecure-dealer",
        "--input-file",
        &format!("0={}", path("in0")),
        "--input-file",
        &format!("1={}", path("in1")),
        "--stats",
        "--",
        "100",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "142 1\n");
    for p in 0..3 {
        assert!(stderr.contains(&format!("party {p}: online")), "{stderr}");
    }
    assert!(
        stderr.contains("triples") && stderr.contains("preprocessing (dealer)"),
        "{stderr}"
    );
    // Missing input: the error names the party, not a network failure.
    let (ok, _, stderr) = ephemeral(&[
        "run",
        &path("p.mpc"),
        "--insecure-dealer",
        "--input-file",
        &format!("0={}", path("in0")),
        "--",
        "1",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("party 1 ran out of private input after 0 values"),
        "{stderr}"
    );
}

#[test]
fn run_is_maliciously_secure_by_default_and_reports_each_phase() {
    let d = scratch("secure");
    std::fs::write(
        d.join("p.mpc"),
        "a = sint(5)\nb = sint(-3)\nprint_ln('%s %s', (a * b).reveal(), (b < a).reveal())\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = ephemeral(&[
        "run",
        &d.join("p.mpc").display().to_string(),
        "-N",
        "3",
        "--stats",
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "-15 1");
    assert!(!stderr.contains("INSECURE"), "{stderr}");
    assert!(
        stderr.contains("MASCOT, generated while the program ran"),
        "{stderr}"
    );
    for p in 0..3 {
        let prep = stderr
            .lines()
            .find(|l| l.contains(&format!("party {p}: preprocessing")))
            .unwrap_or_else(|| panic!("no preprocessing line for party {p}: {stderr}"));
        // MASCOT talks: rounds and bytes of its own.
        assert!(!prep.contains(" 0 bytes sent"), "{prep}");
        assert!(stderr.contains(&format!("party {p}: online")), "{stderr}");
    }
}

#[test]
fn compile_prints_requirements_and_disassembly() {
    let d = scratch("compile");
    std::fs::write(
        d.join("p.mpc"),
        "a = sint.get_input_from(0)\nb = sint.get_input_from(1)\nprint_ln('%s', (a * b < 10).reveal())\n",
    )
    .unwrap();
    let (ok, stdout, stderr) =
        ephemeral(&["compile", &d.join("p.mpc").display().to_string(), "--asm"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Program requires:"), "{stdout}");
    // One product and one comparison (whose triples and bits the engine's kernel determines).
    assert!(stdout.contains("input masks of party 0"), "{stdout}");
    assert!(stdout.contains("input masks of party 1"), "{stdout}");
    assert!(stdout.contains("105 bits"), "{stdout}");
    assert!(stdout.contains("muls"), "the disassembly: {stdout}");
    assert!(stdout.contains("ltz"), "{stdout}");
}

#[test]
fn compile_errors_point_at_the_source() {
    let d = scratch("bad");
    std::fs::write(
        d.join("bad.mpc"),
        "a = sint(1)\nif a < 2:\n    print_ln('x')\n",
    )
    .unwrap();
    let path = d.join("bad.mpc").display().to_string();
    let (ok, _, stderr) = ephemeral(&["compile", &path]);
    assert!(!ok);
    assert!(stderr.contains(&format!("{path}:2:")), "{stderr}");
    assert!(stderr.contains('^'), "caret: {stderr}");
    let (ok, _, stderr) = ephemeral(&["run", &path, "--insecure-dealer"]);
    assert!(!ok);
    assert!(
        stderr.contains("if_e") || stderr.contains("if_else"),
        "{stderr}"
    );
}
