//! The client subcommands run as a user would, against the SDK's fake cloud
//! (`client::testing`): `--json` output shapes, human output, and errors.

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
fn secrets_round_trip_with_json_and_text_output() {
    for n in [2, 3] {
        let e = env(n, None);
        let created = e.json(&[
            "secret", "create", "42", "17", "-5", "--tag", "k=v", "--tag", "n:=7",
        ]);
        let id = created["id"].as_str().unwrap().to_string();
        let got = e.json(&["secret", "get", &id]);
        assert_eq!(got["values"], serde_json::json!(["42", "17", "-5"]));
        let (ok, out, _) = e.run(&["secret", "get", &id]);
        assert!(ok);
        assert_eq!(out, "42\n17\n-5\n");

        let list = e.json(&["secret", "list", "--filter", "k=v,n>3"]);
        assert_eq!(list["total_items"], 1);
        assert_eq!(list["items"][0]["id"], id.as_str());
        assert_eq!(list["items"][0]["len"], 3);
        let none = e.json(&["secret", "list", "--filter", "n<3"]);
        assert_eq!(none["total_items"], 0);
        let (ok, out, _) = e.run(&["secret", "list", "--page", "0", "--size", "10"]);
        assert!(ok);
        assert!(out.starts_with("ID "), "{out}");
        assert!(out.contains(&id) && out.contains("k=v, n:=7"), "{out}");
        assert!(out.contains("page 0 of 1 (1 secrets)"), "{out}");

        let tags = e.json(&["secret", "tag", &id, "--set", "m:=-2", "--delete", "k"]);
        let keys: Vec<&str> = tags
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, vec!["owner", "creation-date", "n", "m"]);
        assert_eq!(tags[3]["valueType"], "LONG");

        let info = e.json(&["secret", "info", &id]);
        assert_eq!(info["len"], 3);

        let del = e.json(&["secret", "delete", &id]);
        assert_eq!(del["deleted"][0], id.as_str());
        let (ok, _, err) = e.run(&["secret", "get", &id]);
        assert!(!ok);
        assert!(err.starts_with("error: party "), "{err}");
        assert!(err.contains("answered not_found"), "{err}");
        assert!(!err.contains("Backtrace"), "{err}");
    }
}

#[test]
fn execute_prints_outputs_in_each_mode() {
    let e = env(3, None);
    let a = e.json(&["secret", "create", "3", "-4"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prog = e.dir.path().join("sum.mpc");
    std::fs::write(&prog, "# the fake sums its inputs\n").unwrap();
    let prog = prog.to_str().unwrap();

    let r = e.json(&["execute", prog, "--input", &a, "--output", "plaintext"]);
    assert_eq!(r["outputs"]["type"], "PLAINTEXT");
    assert_eq!(r["outputs"]["values"], serde_json::json!(["3", "-4", "-1"]));
    assert_eq!(r["stats"].as_array().unwrap().len(), 3);
    assert!(r["printed"].as_str().unwrap().starts_with("fake game"));

    let r = e.json(&[
        "execute",
        prog,
        "-i",
        &a,
        "-o",
        "shares",
        "--game-id",
        "g-shares",
    ]);
    assert_eq!(r["game_id"], "g-shares");
    assert_eq!(r["outputs"]["type"], "SECRETSHARE");
    assert_eq!(r["outputs"]["values"], serde_json::json!(["3", "-4", "-1"]));

    let r = e.json(&[
        "execute", prog, "-i", &a, "-o", "secret", "--tag", "kind=sum",
    ]);
    assert_eq!(r["outputs"]["type"], "AMPHORASECRET");
    let out_id = r["outputs"]["values"][0].as_str().unwrap().to_string();
    let got = e.json(&["secret", "get", &out_id]);
    assert_eq!(got["values"], serde_json::json!(["3", "-4", "-1"]));
    let list = e.json(&["secret", "list", "--filter", "kind:sum"]);
    assert_eq!(list["total_items"], 1);

    // Text: the program's printout, then one output per line.
    let (ok, out, _) = e.run(&["execute", prog, "--input", &a]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("fake game "), "{out}");
    assert_eq!(&lines[1..], ["3", "-4", "-1"]);

    // A deployed function by name.
    let f = e.json(&["fn", "deploy", "sum", prog, "--", "8"]);
    assert_eq!(
        (f["name"].as_str(), f["version"].as_u64()),
        (Some("sum"), Some(1))
    );
    let fs = e.json(&["fn", "list"]);
    assert_eq!(fs[0]["program_hash"], f["program_hash"]);
    let (ok, out, _) = e.run(&["fn", "list"]);
    assert!(
        ok && out.starts_with("NAME") && out.contains("triples 3"),
        "{out}"
    );
    let r = e.json(&["execute", "sum", "--input", &a]);
    assert_eq!(r["program_hash"], f["program_hash"]);
    assert_eq!(e.json(&["fn", "list", "sum"]).as_array().unwrap().len(), 1);
    assert_eq!(e.json(&["fn", "delete", "sum"])["deleted"], "sum");
    assert!(e.json(&["fn", "list"]).as_array().unwrap().is_empty());

    // A compile error is the node's diagnostic, with the party and code.
    let bad = e.dir.path().join("bad.mpc");
    std::fs::write(&bad, "fail()\n").unwrap();
    let (ok, _, err) = e.run(&["execute", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("answered compile_error: line 1"), "{err}");
}

#[test]
fn tampering_is_reported_as_an_error() {
    let e = env(2, Some((1, Tamper::GameShare)));
    let a = e.json(&["secret", "create", "1"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prog = e.dir.path().join("p.mpc");
    std::fs::write(&prog, "# any program\n").unwrap();
    let (ok, out, err) = e.run(&["execute", prog.to_str().unwrap(), "-i", &a, "-o", "shares"]);
    assert!(!ok);
    assert!(out.is_empty(), "nothing is printed: {out}");
    assert!(err.contains("a party tampered with the output"), "{err}");
    let e = env(3, Some((0, Tamper::DownloadShare)));
    let a = e.json(&["secret", "create", "1"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (ok, _, err) = e.run(&["secret", "get", &a]);
    assert!(!ok);
    assert!(
        err.starts_with("error: element 0: w = s·r does not hold"),
        "{err}"
    );
}

#[test]
fn tuples_and_health_list_every_party() {
    let e = env(3, None);
    let s = e.json(&["tuples", "stats"]);
    let parties: Vec<u64> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["party"].as_u64().unwrap())
        .collect();
    assert_eq!(parties, vec![0, 1, 2]);
    assert_eq!(s[0]["kinds"][0]["kind"], "triple");
    let (ok, out, _) = e.run(&["tuples", "stats"]);
    assert!(ok);
    assert!(out.starts_with("PARTY  KIND"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("triple")).count(),
        3,
        "{out}"
    );
    let h = e.json(&["health"]);
    assert_eq!(h.as_array().unwrap().len(), 3);
}

#[test]
fn a_bad_cloud_file_names_itself_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cloud.toml");
    std::fs::write(&file, "[[parties]]\nid = 0\nurl = \"ftp://x\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ephemeral"))
        .args(["secret", "list", "--cloud"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: cloud file "), "{err}");
    assert!(err.contains("parties[0].url"), "{err}");
    // Missing: the message says how to get one.
    let out = Command::new(env!("CARGO_BIN_EXE_ephemeral"))
        .args(["tuples", "stats"])
        .env("EPHEMERAL_CLOUD", dir.path().join("none.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("none.toml") && err.contains("ephemeral dev"),
        "{err}"
    );
}

// ---- use policies and the audit record (`secret policy`, `secret audit`) ----

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

#[test]
fn fixed_point_numbers_are_stored_read_and_decoded_with_fixed() {
    let e = env(2, None);
    let (ok, out, _) = e.run(&["secret", "create", "3.25", "-0.5", "--fixed"]);
    assert!(ok);
    let id = out.trim().to_string();
    // Stored as the sfix representation round(x·2^16) ...
    let (ok, out, _) = e.run(&["secret", "get", &id]);
    assert!(ok);
    assert_eq!(out, "212992\n-32768\n");
    // ... and read back as the decimals.
    let (ok, out, _) = e.run(&["secret", "get", &id, "--fixed"]);
    assert!(ok);
    assert_eq!(out, "3.25\n-0.5\n");
    let got = e.json(&["secret", "get", &id, "--fixed", "--frac-bits", "8"]);
    assert_eq!(got["values"], serde_json::json!(["832", "-128"]));
    // The fake's games output their inputs and the sum; --fixed decodes them.
    let prog = e.dir.path().join("sum.mpc");
    std::fs::write(&prog, "# the fake sums its inputs\n").unwrap();
    let prog = prog.to_str().unwrap();
    let (ok, out, _) = e.run(&["execute", prog, "--input", &id, "--fixed"]);
    assert!(ok);
    assert!(out.ends_with("3.25\n-0.5\n2.75\n"), "{out}");
    let r = e.json(&["execute", prog, "--input", &id, "-o", "shares", "--fixed"]);
    assert_eq!(r["fixed_values"], serde_json::json!([3.25, -0.5, 2.75]));
    // Without --fixed a decimal is refused, and what does not fit says how to fix it.
    let (ok, _, err) = e.run(&["secret", "create", "3.25"]);
    assert!(!ok && err.contains("--fixed"), "{err}");
    let (ok, _, err) = e.run(&["secret", "create", "1e6", "--fixed"]);
    assert!(!ok && err.contains("k = 31"), "{err}");
    let (ok, _, err) = e.run(&["execute", prog, "--input", &id, "-o", "secret", "--fixed"]);
    assert!(!ok && err.contains("secret get ID --fixed"), "{err}");
}
