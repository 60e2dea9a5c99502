//! `ephemeral secret policy` and `ephemeral secret audit` against the SDK's fake cloud
//! (`client::testing`): setting, showing and clearing a use policy on every party, reading the
//! audit record, and refusals of bad input.

use std::path::PathBuf;
use std::process::Command;

use client::testing::{FakeCloud, Tamper};
use serde_json::Value;

/// A fake cloud served by a background runtime, and its cloud file.
struct Env {
    _rt: tokio::runtime::Runtime,
    _cloud: FakeCloud,
    dir: tempfile::TempDir,
    file: PathBuf,
}

fn env(n: usize, tamper: Option<(usize, Tamper)>) -> Env {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cloud = rt.block_on(FakeCloud::start_with(n, tamper));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cloud.toml");
    std::fs::write(&file, cloud.cloud_toml()).unwrap();
    Env {
        _rt: rt,
        _cloud: cloud,
        dir,
        file,
    }
}

impl Env {
    /// Runs `ephemeral ARGS --cloud FILE` (the option goes before any `--`): (success, stdout,
    /// stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let file = self.file.to_str().unwrap();
        let mut all: Vec<&str> = args.to_vec();
        let at = all.iter().position(|a| *a == "--").unwrap_or(all.len());
        all.splice(at..at, ["--cloud", file]);
        let out = Command::new(env!("CARGO_BIN_EXE_ephemeral"))
            .args(&all)
            .env_remove("EPHEMERAL_CLOUD")
            .output()
            .expect("run ephemeral");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a command that must succeed with `--json`, and parses its stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        let at = a.iter().position(|a| *a == "--").unwrap_or(a.len());
        a.insert(at, "--json");
        let (ok, out, err) = self.run(&a);
        assert!(ok, "{args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
}

#[test]
fn policies_are_set_shown_cleared_and_uses_audited() {
    let e = env(3, None);
    let id = e.json(&["secret", "create", "3", "4"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    // No policy yet: only the owner.
    let infos = e.json(&["secret", "policy", &id]);
    assert_eq!(infos.as_array().unwrap().len(), 3, "one answer per party");
    assert_eq!(infos[0]["source"], "NONE");
    let (ok, out, _) = e.run(&["secret", "policy", &id]);
    assert!(ok && out.contains("only you may use this secret"), "{out}");

    // Set one on every party.
    let h = "AB".repeat(32);
    let infos = e.json(&[
        "secret",
        "policy",
        &id,
        "--program",
        &h,
        "--output",
        "plaintext,shares",
        "--max-uses",
        "2",
    ]);
    for info in infos.as_array().unwrap() {
        assert_eq!(info["source"], "POLICY");
        assert_eq!(info["policy"]["programs"][0], "ab".repeat(32));
        assert_eq!(
            info["policy"]["outputs"],
            serde_json::json!(["PLAINTEXT", "SECRETSHARE"])
        );
        assert_eq!(info["policy"]["max_uses"], 2);
    }
    let (ok, out, _) = e.run(&["secret", "policy", &id]);
    assert!(ok, "{out}");
    assert!(out.contains("plaintext, shares"), "{out}");
    assert!(out.contains("max uses  2"), "{out}");
    assert!(out.contains(&"ab".repeat(32)), "{out}");

    // A bad hash is refused with the reason and changes nothing.
    let (ok, _, err) = e.run(&["secret", "policy", &id, "--program", "xyz"]);
    assert!(!ok);
    assert!(err.contains("not a program hash"), "{err}");
    assert_eq!(
        e.json(&["secret", "policy", &id])[1]["policy"]["max_uses"],
        2
    );

    // Games are audited; the record pages.
    let prog = e.dir.path().join("p.mpc");
    std::fs::write(&prog, "# the fake sums its inputs\n").unwrap();
    for _ in 0..3 {
        e.json(&["execute", prog.to_str().unwrap(), "--input", &id]);
    }
    let page = e.json(&["secret", "audit", &id, "--party", "2"]);
    assert_eq!(page["total_items"], 3);
    assert_eq!(page["items"][0]["user"], "alice");
    let page = e.json(&["secret", "audit", &id, "--page", "1", "--size", "2"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (ok, out, _) = e.run(&["secret", "audit", &id]);
    assert!(
        ok && out.contains("PROGRAM") && out.contains("plaintext"),
        "{out}"
    );
    let (ok, _, err) = e.run(&["secret", "audit", &id, "--party", "7"]);
    assert!(!ok && err.contains("party 7"), "{err}");

    // Cleared everywhere.
    let infos = e.json(&["secret", "policy", &id, "--clear"]);
    for info in infos.as_array().unwrap() {
        assert_eq!(info["source"], "NONE");
    }
    let (ok, _, err) = e.run(&["secret", "policy", &id, "--clear", "--max-uses", "1"]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}
