//! Run-time errors: their text, and that the other parties stop too (with a network error that
//! `root_cause` ranks below the real one).

mod common;

use vm::runner::root_cause;
use vm::{VmConfig, VmError};

fn failure(
    src: &str,
    n: usize,
    inputs: &[&str],
    sockets: Option<&str>,
) -> (usize, VmError, String) {
    let res = common::run_with(src, n, inputs, sockets, &VmConfig::default());
    let out0 = match &res[0] {
        Ok(o) => o.output.clone(),
        Err(e) => e.output.clone(),
    };
    let (p, e) = root_cause(&res).expect("the run fails");
    (p, e.clone(), out0)
}

#[test]
fn out_of_bounds_array_access_names_the_source_line() {
    let src = "a = sint.Array(10)\n@for_range(12)\ndef _(i):\n    a[i] = sint(1)\n";
    for n in [2, 3] {
        let (_, e, _) = failure(src, n, &[], None);
        assert!(
            matches!(
                e,
                VmError::IndexOutOfRange {
                    index: 10,
                    bound: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "test.mpc:4:5: index 10 is out of range for an array of length 10"
        );
    }
    // Reads are checked too, with a regint index from a revealed secret.
    let src = "a = cint.Array(3)\ni = regint(sint(-1).reveal())\nprint_ln('%s', a[i])\n";
    let (_, e, _) = failure(src, 2, &[], None);
    assert!(
        e.to_string()
            .contains("index -1 is out of range for an array of length 3"),
        "{e}"
    );
}

#[test]
fn running_out_of_private_input_names_the_party() {
    let src = "a = sint.get_input_from(0)\nb = sint.get_input_from(1, size=3)\nprint_ln('%s', (a + b).reveal())\n";
    for n in [2, 3] {
        let (p, e, _) = failure(src, n, &["1", "1 2"], None);
        assert_eq!(p, 1);
        assert_eq!(
            e.to_string(),
            "party 1 ran out of private input after 2 values; give it more input values \
             (whitespace-separated numbers)"
        );
    }
    let (p, e, _) = failure("x = sint.get_input_from(0)\n", 2, &["1.5"], None);
    assert_eq!(p, 0);
    assert_eq!(
        e.to_string(),
        "party 0: private input value number 1 is not an integer"
    );
}

#[test]
fn runtime_error_and_crash_texts() {
    let src = "x = cint(7)\nprint_ln('start')\nruntime_error('bad value %s', x)\n";
    let (_, e, out) = failure(src, 2, &[], None);
    assert_eq!(out, "start\nUser exception: bad value 7\n");
    assert_eq!(e.to_string(), "User exception: bad value %s");
    let (_, e, _) = failure("crash()\n", 3, &[], None);
    assert_eq!(e.to_string(), "crash() called");
    // A crash that is not taken does nothing.
    let out = common::output("crash(regint(0))\nprint_ln('fine')\n", 2, &[]);
    assert_eq!(out, "fine\n");
}

#[test]
fn socket_errors() {
    let src =
        "listen(1)\nc = regint()\nacceptclientconnection(c, 1)\nv = sint.read_from_socket(c, 2)\n";
    // No client at all.
    let (_, e, _) = failure(src, 2, &[], Some(""));
    assert!(
        e.to_string().contains("client 0 sent no more messages"),
        "{e}"
    );
    // A message of the wrong length.
    let (_, e, _) = failure(src, 2, &[], Some("1 2 3\n"));
    assert!(
        e.to_string()
            .contains("client 0 sent a message of 96 bytes, but this read expects 64"),
        "{e}"
    );
}

#[test]
fn division_by_zero_of_public_values() {
    let (_, e, _) = failure(
        "r = regint(0)\nprint_ln('%s', regint(5) / r)\n",
        2,
        &[],
        None,
    );
    assert!(matches!(e, VmError::DivisionByZero { .. }), "{e:?}");
    assert!(e.to_string().ends_with("division by zero"), "{e}");
}

#[test]
fn step_limit_stops_endless_loops() {
    let src = "@while_do(lambda: regint(1))\ndef _():\n    pass\n";
    let config = VmConfig {
        max_steps: Some(10_000),
        ..VmConfig::default()
    };
    let res = common::run_with(src, 2, &[], None, &config);
    let (_, e) = root_cause(&res).expect("stops");
    assert!(
        e.to_string().contains("more than 10000 instructions"),
        "{e}"
    );
}

#[test]
fn a_deadline_stops_a_long_run_on_every_party() {
    let src = "@while_do(lambda: regint(1))\ndef _():\n    pass\n";
    let config = VmConfig {
        deadline: Some(std::time::Instant::now() + std::time::Duration::from_millis(200)),
        ..VmConfig::default()
    };
    let t = std::time::Instant::now();
    let res = common::run_with(src, 2, &[], None, &config);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
    for r in &res {
        let e = r.as_ref().expect_err("an endless loop cannot succeed");
        assert!(matches!(*e.error, VmError::DeadlineExceeded { .. }), "{e}");
        assert!(e.to_string().contains("past its deadline"), "{e}");
    }
}

#[test]
fn vector_limit_is_checked_before_allocating() {
    let config = VmConfig {
        max_vector_elements: 10,
        ..VmConfig::default()
    };
    let res = common::run_with(
        "a = sint(1, size=100)\nprint_ln('%s', a.reveal())\n",
        2,
        &[],
        None,
        &config,
    );
    let (_, e) = root_cause(&res).expect("refused");
    assert!(
        e.to_string()
            .contains("a vector of 100 elements is longer than the VM limit of 10"),
        "{e}"
    );
}

/// A share tampered with on its way into one party (here: through its socket) is caught by the
/// MAC check when a value derived from it is revealed; the protocol error reaches the caller
/// with its message, and nothing is printed.
#[test]
fn tampered_shares_fail_the_mac_check() {
    use vm::runner::{run_party_insecure, PartySetup};

    let src = "listen(1)\nc = regint()\nacceptclientconnection(c, 1)\nv = sint.read_from_socket(c, 1)\nprint_ln('%s', (v[0] * 2).reveal())\n";
    let prog = common::compile(src, "tamper.mpc");
    let script = vm::SocketScript::parse("21\n").unwrap();
    let nets = net::in_process(2, common::net_config());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|net| {
            let bc = prog.bytecode.clone();
            let script = script.clone();
            std::thread::spawn(move || {
                let me = net.my_id();
                // Party 1 runs with a host whose socket flips a bit of its value share.
                if me == 1 {
                    return tampered_run(net, &bc, &script);
                }
                let setup = PartySetup {
                    sockets: Some(script),
                    ..PartySetup::default()
                };
                run_party_insecure(net, [0x5e; 32], &bc, setup, &VmConfig::default())
                    .map(|o| o.output)
                    .map_err(|e| *e.error)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for r in &results {
        let e = r.as_ref().expect_err("the run must abort");
        assert!(
            e.to_string().contains("MAC check failed") || e.is_network(),
            "{e}"
        );
    }
    assert!(results.iter().any(|r| r
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("MAC check failed")));
}

/// Party 1's run with the insecure dealer, whose socket message is altered before the program
/// reads it.
fn tampered_run(
    net: net::Network,
    bc: &lang::Bytecode,
    script: &vm::SocketScript,
) -> Result<String, VmError> {
    use protocol::prep::InsecureDealer;
    use protocol::Engine;

    let n = net.n_parties();
    let mut engine = Engine::new(
        net,
        InsecureDealer::new(1, n, [0x5e; 32]),
        vm::runner::engine_config(bc),
    );
    let mut host = vm::LocalHost::default();
    let mut sockets = vm::prepare_sockets(&mut engine, script)?;
    // Take the queued message, add one to the value share's first byte (still canonical), and
    // queue it again.
    let kind = lang::bytecode::SockKind::SecretWithMac;
    let mut msg = vm::Sockets::read(&mut sockets, 0, kind, 1).unwrap();
    msg[0] ^= 1;
    sockets.push_message(0, kind, msg);
    host.sockets = sockets;
    vm::run(bc, &mut engine, &mut host, &VmConfig::default())?;
    Ok(host.output)
}

/// A kernel that refuses its parameters names the instruction that asked for it.
#[test]
fn unsupported_kernel_parameters_name_the_instruction() {
    // The compiler refuses such a division (with the source line); bytecode from elsewhere
    // reaches the VM, which names the instruction.
    let src = "sfix.set_precision(20, 40)\nx = sfix(1) / sfix(3)\nprint_ln('%s', x.reveal())\n";
    let e = lang::compile(src, "test.mpc", &[], &lang::CompileOptions::default()).unwrap_err();
    assert!(e.to_string().contains("test.mpc:2"), "{e}");
    let mut p = common::compile(
        "x = sfix(1) / sfix(3)\nprint_ln('%s', x.reveal())\n",
        "test.mpc",
    );
    for ins in &mut p.bytecode.functions[0].code {
        if let lang::Instr::FixDiv { k, f, .. } = ins {
            (*k, *f) = (40, 20);
        }
    }
    let setups = (0..2).map(|_| vm::runner::PartySetup::default()).collect();
    let res = vm::runner::run_local_insecure(
        &p.bytecode,
        setups,
        &VmConfig::default(),
        common::net_config(),
    );
    let (_, e) = root_cause(&res).expect("the run fails");
    let text = e.to_string();
    assert!(
        text.contains("fixdiv") && text.contains("not supported"),
        "{text}"
    );
}

/// A program cannot read the raw bytes of its secret socket inputs (value share ‖ MAC share) as
/// clear values: such a read is refused on every party before anything is written. (That the
/// refusal consumes nothing is tested on `MemSockets` itself.)
#[test]
fn clear_reads_of_secret_socket_input_are_refused() {
    for (ty, reader) in [
        ("cint", "cint.read_from_socket"),
        ("regint", "regint.read_from_socket"),
    ] {
        let src = format!(
            "listen_for_clients(14000)\nc = accept_client_connection(14000)\n\
             v = {ty}.read_from_socket(c, 2)\n{ty}.write_to_socket(c, v)\n"
        );
        let res = common::run_with(&src, 2, &[], Some("3 4\n"), &VmConfig::default());
        for (p, r) in res.iter().enumerate() {
            let e = r.as_ref().expect_err("the raw read is refused");
            let text = e.to_string();
            assert!(
                matches!(*e.error, VmError::Socket { .. }),
                "party {p}: {text}"
            );
            assert!(e.output.is_empty());
            assert!(
                text.contains(&format!(
                    "reads it with {reader}; read it with sint.read_from_socket"
                )),
                "party {p}: {text}"
            );
        }
    }
}
