//! With `VmConfig::print_party: None`, every party prints, and the text of ordinary prints is
//! the same on every party (for public values); `print_ln_to(p, ...)` reaches party p alone,
//! through `Host::print_private`.

mod common;

use lang::bytecode::SockKind;
use protocol::prep::InsecureDealer;
use protocol::Engine;
use vm::{Host, SocketWrite, Sockets, VmConfig};

#[derive(Default)]
struct NoSockets;

impl Sockets for NoSockets {
    fn listen(&mut self, _: i64) -> Result<(), String> {
        Err("no sockets".into())
    }
    fn accept(&mut self, _: i64) -> Result<i64, String> {
        Err("no sockets".into())
    }
    fn close(&mut self, _: i64) -> Result<(), String> {
        Err("no sockets".into())
    }
    fn read(&mut self, _: i64, _: SockKind, _: usize) -> Result<Vec<u8>, String> {
        Err("no sockets".into())
    }
    fn write(&mut self, _: SocketWrite) -> Result<(), String> {
        Err("no sockets".into())
    }
}

/// Keeps public and private printed text apart.
#[derive(Default)]
struct Printed {
    input: vm::host::Tokens,
    public: String,
    private: String,
    sockets: NoSockets,
}

impl Host for Printed {
    fn private_token(&mut self) -> Option<String> {
        self.input.next_token()
    }
    fn public_token(&mut self) -> Option<String> {
        None
    }
    fn print(&mut self, text: &str) {
        self.public.push_str(text);
    }
    fn print_private(&mut self, text: &str) {
        self.private.push_str(text);
    }
    fn sockets(&mut self) -> &mut dyn Sockets {
        &mut self.sockets
    }
}

#[test]
fn every_party_prints_the_same_text_for_opened_values() {
    // Opened values in a loop (queued prints, one opening), a comparison, fixed point, a
    // branch on an opened value, then a value revealed to party 1 alone.
    let src = "\
a = sint.get_input_from(0)
b = sint.get_input_from(1)
print_ln('start')
@for_range(5)
def _(i):
    print_ln('i=%s a*i=%s', i, (a * i).reveal())
print_ln('lt=%s', (a < b).reveal())
print_ln('fix=%s', (sfix(a) / 4).reveal())
@if_((a + b).reveal() > 10)
def _():
    print_ln('big %s', (a + b).reveal())
print_ln_to(1, 'private %s', (a * b).reveal_to(1))
print_ln('end')
";
    let prog = common::compile(src, "print.mpc").bytecode;
    for n in [2, 3] {
        let config = VmConfig {
            print_party: None,
            ..VmConfig::default()
        };
        let inputs = ["7", "9", ""];
        let nets = net::in_process(n, common::net_config());
        let handles: Vec<_> = nets
            .into_iter()
            .map(|net| {
                let (prog, config) = (prog.clone(), config.clone());
                let input = inputs[net.my_id()].to_string();
                std::thread::spawn(move || {
                    let (me, n) = (net.my_id(), net.n_parties());
                    let mut engine = Engine::new(
                        net,
                        InsecureDealer::new(me, n, [0x5e; 32]),
                        vm::runner::engine_config(&prog),
                    );
                    let mut host = Printed {
                        input: vm::host::Tokens::new(&input),
                        ..Printed::default()
                    };
                    vm::run(&prog, &mut engine, &mut host, &config).expect("runs");
                    (host.public, host.private)
                })
            })
            .collect();
        let printed: Vec<(String, String)> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        let expected = "start\ni=0 a*i=0\ni=1 a*i=7\ni=2 a*i=14\ni=3 a*i=21\ni=4 a*i=28\n\
                        lt=1\nfix=1.75\nbig 16\nend\n";
        for (p, (public, private)) in printed.iter().enumerate() {
            assert_eq!(public, expected, "party {p} of {n}");
            assert_eq!(
                private,
                if p == 1 { "private 63\n" } else { "" },
                "party {p} of {n}"
            );
        }
    }
}
