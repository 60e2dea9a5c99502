//! Helpers shared by the VM's integration tests: compile a program and run it on N local parties
//! with the insecure dealer.

#![allow(dead_code)]

use std::time::Duration;

use net::NetConfig;
use vm::runner::{run_local_insecure, PartyError, PartyOutcome, PartySetup};
use vm::{SocketScript, VmConfig};

pub fn compile(src: &str, name: &str) -> lang::CompiledProgram {
    lang::compile(src, name, &[], &lang::CompileOptions::default())
        .unwrap_or_else(|e| panic!("{name} does not compile:\n{e}"))
}

pub fn net_config() -> NetConfig {
    NetConfig {
        recv_deadline: Duration::from_secs(60),
        ..NetConfig::default()
    }
}

/// Runs `src` on `n` parties; `inputs[p]` is party p's private input.
pub fn run_with(
    src: &str,
    n: usize,
    inputs: &[&str],
    sockets: Option<&str>,
    config: &VmConfig,
) -> Vec<Result<PartyOutcome, PartyError>> {
    let p = compile(src, "test.mpc");
    let script = sockets.map(|s| SocketScript::parse(s).expect("socket script"));
    let setups = (0..n)
        .map(|i| PartySetup {
            private_input: inputs.get(i).copied().unwrap_or("").to_string(),
            sockets: script.clone(),
            ..PartySetup::default()
        })
        .collect();
    run_local_insecure(&p.bytecode, setups, config, net_config())
}

/// Runs `src` and returns party 0's output, panicking on any error.
pub fn output(src: &str, n: usize, inputs: &[&str]) -> String {
    let res = run_with(src, n, inputs, None, &VmConfig::default());
    let mut out = None;
    for (p, r) in res.into_iter().enumerate() {
        let r = r.unwrap_or_else(|e| panic!("party {p} failed: {e}"));
        if p == 0 {
            out = Some(r.output);
        }
    }
    out.expect("party 0")
}
