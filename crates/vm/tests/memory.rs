//! Memory limits: memory grows as it is written, a run past `VmConfig::max_memory_bytes` stops
//! with `VmError::MemoryLimit` on every party, and concurrent runs share a `MemoryBudget` that
//! every run gives back when it ends.

mod common;

use std::sync::{mpsc, Arc, Mutex};

use lang::bytecode::SockKind;
use vm::runner::root_cause;
use vm::{Host, MemoryBudget, SocketWrite, Sockets, VmConfig, VmError};

/// A program that writes the last cell of a `cint.Array(n)` (so that the memory grows to n
/// cells of 16 bytes) and prints it.
fn last_cell(n: u64) -> String {
    format!(
        "a = cint.Array({n})\na[{}] = cint(5)\nprint_ln('%s', a[{}])\n",
        n - 1,
        n - 1
    )
}

#[test]
fn a_huge_array_stops_cleanly_with_the_memory_limit() {
    // 10^8 secret cells would be 3.2 GB; the default limit is 256 MiB.
    for src in [
        "a = sint.Array(10**8)\na[10**8 - 1] = sint(1)\nprint_ln('%s', a[10**8 - 1].reveal())\n",
        "a = sint.Array(10**8)\na.assign_all(0)\nprint_ln('%s', a[0].reveal())\n",
    ] {
        let res = common::run_with(src, 2, &[], None, &VmConfig::default());
        for (p, r) in res.iter().enumerate() {
            let e = r.as_ref().expect_err("over the limit");
            match &*e.error {
                VmError::MemoryLimit { limit, .. } => assert_eq!(*limit, 256 << 20),
                other => panic!("party {p}: {other}"),
            }
            let text = e.to_string();
            assert!(
                text.contains("needs more memory than one run may hold (268435456 bytes, VmConfig::max_memory_bytes)")
                    && text.contains("use smaller arrays or vectors"),
                "{text}"
            );
        }
    }
}

#[test]
fn a_huge_array_used_sparingly_costs_what_is_used() {
    // Declared: 10^8 secret cells (3.2 GB, which the VM used to allocate up front). Used: 3.
    let src =
        "a = sint.Array(10**8)\na[2] = sint(7)\nprint_ln('%s', (a[0] + a[1] + a[2]).reveal())\n";
    let res = common::run_with(src, 2, &[], None, &VmConfig::default());
    for (p, r) in res.into_iter().enumerate() {
        let out = r.expect("runs");
        assert_eq!(out.output, if p == 0 { "7\n" } else { "" });
        assert!(
            out.stats.peak_memory_bytes < 1 << 20,
            "{} bytes",
            out.stats.peak_memory_bytes
        );
    }
}

#[test]
fn registers_count_against_the_limit() {
    let config = VmConfig {
        max_memory_bytes: 4 << 20,
        ..VmConfig::default()
    };
    // One vector of 2^18 secrets (8 MiB) is refused before it is allocated...
    let res = common::run_with(
        "a = sint(1, size=2**18)\nprint_ln('%s', a.reveal())\n",
        2,
        &[],
        None,
        &config,
    );
    let (_, e) = root_cause(&res).expect("refused");
    assert!(matches!(e, VmError::MemoryLimit { .. }), "{e}");
    assert!(e.to_string().contains("a vector of 262144 elements"), "{e}");
    // ... and so are many registers of 2^16 secrets (2 MiB each) that fit one by one.
    let res = common::run_with(
        "a = sint(1, size=2**16)\nb = a + a\nc = b + a\nd = c + b\nprint_ln('%s', (a + b + c + d).reveal()[0])\n",
        2,
        &[],
        None,
        &config,
    );
    let (_, e) = root_cause(&res).expect("refused");
    assert!(matches!(e, VmError::MemoryLimit { .. }), "{e}");
    assert!(e.to_string().contains("the registers"), "{e}");
}

#[test]
fn sequential_runs_within_the_budget_succeed_and_give_it_back() {
    // Each party of a run holds 1.5·10^6 clear cells (24 MB): 48 MB per 2-party run.
    let budget = Arc::new(MemoryBudget::new(64 << 20));
    let config = VmConfig {
        memory_budget: Some(budget.clone()),
        ..VmConfig::default()
    };
    for _ in 0..2 {
        let res = common::run_with(&last_cell(1_500_000), 2, &[], None, &config);
        for (p, r) in res.into_iter().enumerate() {
            let out = r.expect("fits the budget");
            assert_eq!(out.output, if p == 0 { "5\n" } else { "" });
            assert!(out.stats.peak_memory_bytes >= 24_000_000);
        }
        assert_eq!(budget.used(), 0, "every run gives its memory back");
    }
}

/// Sockets whose reads wait until the test lets them go: a run that reads holds its memory.
struct Gate {
    open: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Sockets for Gate {
    fn listen(&mut self, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn accept(&mut self, _: i64) -> Result<i64, String> {
        Ok(0)
    }
    fn close(&mut self, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn read(&mut self, _: i64, kind: SockKind, elements: usize) -> Result<Vec<u8>, String> {
        assert_eq!((kind, elements), (SockKind::Int, 1));
        let rx = self.open.lock().unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .map_err(|_| "the test never opened the gate".to_string())?;
        Ok(7i64.to_le_bytes().to_vec())
    }
    fn write(&mut self, _: SocketWrite) -> Result<(), String> {
        Ok(())
    }
}

struct GateHost(Gate, String);

impl Host for GateHost {
    fn private_token(&mut self) -> Option<String> {
        None
    }
    fn public_token(&mut self) -> Option<String> {
        None
    }
    fn print(&mut self, text: &str) {
        self.1.push_str(text);
    }
    fn sockets(&mut self) -> &mut dyn Sockets {
        &mut self.0
    }
}

#[test]
fn a_run_that_does_not_fit_beside_another_fails_and_the_budget_recovers() {
    use protocol::prep::InsecureDealer;
    use protocol::Engine;

    let budget = Arc::new(MemoryBudget::new(64 << 20));
    let config = VmConfig {
        memory_budget: Some(budget.clone()),
        ..VmConfig::default()
    };
    // The first run fills 1.5·10^6 clear cells on each party, then waits at a socket read.
    let first = format!(
        "{}c = accept_client_connection(1)\nx = regint.read_from_socket(c, 1)\nprint_ln('%s', x)\n",
        last_cell(1_500_000)
    );
    let prog = common::compile(&first, "first.mpc").bytecode;
    let (tx, rx) = mpsc::channel();
    let rx = Arc::new(Mutex::new(rx));
    let nets = net::in_process(2, common::net_config());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|net| {
            let (prog, config, rx) = (prog.clone(), config.clone(), rx.clone());
            std::thread::spawn(move || {
                let (me, n) = (net.my_id(), net.n_parties());
                let mut engine = Engine::new(
                    net,
                    InsecureDealer::new(me, n, [0x5e; 32]),
                    vm::runner::engine_config(&prog),
                );
                let mut host = GateHost(Gate { open: rx }, String::new());
                vm::run(&prog, &mut engine, &mut host, &config).map(|_| host.1)
            })
        })
        .collect();
    let t = std::time::Instant::now();
    while budget.used() < 48_000_000 {
        assert!(
            t.elapsed().as_secs() < 60,
            "the first run never held its memory"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // The second needs as much again: it does not fit beside the first.
    let res = common::run_with(&last_cell(1_500_000), 2, &[], None, &config);
    let (_, e) = root_cause(&res).expect("the second run does not fit");
    match e {
        VmError::MemoryBudget { capacity, .. } => assert_eq!(*capacity, 64 << 20),
        other => panic!("{other}"),
    }
    assert!(
        e.to_string()
            .contains("left of the budget shared by all running programs (67108864 bytes): retry"),
        "{e}"
    );
    assert!(
        !e.is_public(),
        "the budget depends on this party's other runs"
    );
    // The first run is unharmed; once it ends, the budget is whole again.
    tx.send(()).unwrap();
    tx.send(()).unwrap();
    for (p, h) in handles.into_iter().enumerate() {
        let printed = h.join().unwrap().expect("the first run succeeds");
        assert_eq!(printed, if p == 0 { "5\n7\n" } else { "" });
    }
    assert_eq!(budget.used(), 0);
}
