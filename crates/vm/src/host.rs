//! The host interface: what the caller supplies to a run — this party's private input, the
//! public input, where printed text goes, and the client sockets.
//!
//! [`LocalHost`] is the implementation for local runs and tests: inputs from text in MP-SPDZ's
//! format (whitespace-separated numbers), printed text collected in a string (and optionally
//! echoed), and in-memory sockets ([`crate::sockets::MemSockets`]).
//!
//! **Architecture Invariant:** the host sees private input only as the tokens it hands out, and
//! the VM never logs them.

use std::collections::VecDeque;

use lang::bytecode::SockKind;

use crate::sockets::MemSockets;

/// One message a program writes to a client socket.
#[derive(Clone, PartialEq, Eq)]
pub struct SocketWrite {
    pub client: i64,
    pub kind: SockKind,
    /// The message type prepended to the payload when non-zero (4 bytes LE).
    pub msg_type: i64,
    /// Number of values in the message.
    pub elements: usize,
    /// The message payload, exactly as MP-SPDZ builds it (without the length prefix).
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for SocketWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SocketWrite(client={}, kind={:?}, elements={}, {} bytes)",
            self.client,
            self.kind,
            self.elements,
            self.payload.len()
        )
    }
}

impl SocketWrite {
    /// The message on the wire: a u32 little-endian length, then the payload.
    pub fn framed(&self) -> Vec<u8> {
        frame(&self.payload)
    }
}

/// MP-SPDZ's framing: a u32 little-endian length, then the payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The instruction that reads values of `kind` from a socket, for error messages.
pub fn reader_of(kind: SockKind) -> &'static str {
    match kind {
        SockKind::SecretWithMac => "sint.read_from_socket",
        SockKind::SecretShare => "a read of shares without MACs",
        SockKind::Clear => "cint.read_from_socket",
        SockKind::Int => "regint.read_from_socket",
    }
}

/// Client sockets as the host provides them. Errors are messages for the user; the VM adds where
/// in the program they happened. Implementations must not block without a deadline.
pub trait Sockets {
    /// Start accepting clients on `port` (`listen`, `listen_for_clients`).
    fn listen(&mut self, port: i64) -> Result<(), String>;
    /// The next client connected on `port`; returns its client id.
    fn accept(&mut self, port: i64) -> Result<i64, String>;
    fn close(&mut self, client: i64) -> Result<(), String>;
    /// The next message from `client` for a read of `elements` values of `kind`
    /// ([`crate::sockets::element_bytes`] bytes each): its payload, without the length prefix.
    /// The VM refuses a payload of any other length.
    ///
    /// The kind is part of the read because the same bytes mean different things: 32 bytes of a
    /// share and its MAC read as two clear values would hand the program this party's raw share
    /// and MAC share (and, across parties, the MAC key). A host must refuse a read whose kind
    /// does not match what `client` sends, and consume nothing when it refuses.
    fn read(&mut self, client: i64, kind: SockKind, elements: usize) -> Result<Vec<u8>, String>;
    fn write(&mut self, msg: SocketWrite) -> Result<(), String>;
}

/// What a run needs from its caller.
pub trait Host {
    /// The next whitespace-separated token of this party's private input, `None` at the end.
    fn private_token(&mut self) -> Option<String>;
    /// The next token of the public input (`public_input()`), `None` at the end.
    fn public_token(&mut self) -> Option<String>;
    /// Text this party prints (the VM has already decided that this party prints it): ordinary
    /// prints (`print_ln`), shown at [`crate::VmConfig::print_party`] or, with `None`, at every
    /// party alike.
    fn print(&mut self, text: &str);
    /// Text printed for this party alone (`print_ln_to(me, ...)`, typically of values revealed
    /// to this party only), which the other parties do not print. The default treats it as
    /// [`Host::print`]; a host that compares printed text across parties keeps it apart.
    fn print_private(&mut self, text: &str) {
        self.print(text)
    }
    /// The client sockets.
    fn sockets(&mut self) -> &mut dyn Sockets;
}

/// Whitespace-separated tokens of a text.
#[derive(Default, Clone)]
pub struct Tokens(VecDeque<String>);

impl Tokens {
    pub fn new(text: &str) -> Tokens {
        Tokens(text.split_whitespace().map(str::to_string).collect())
    }
    pub fn next_token(&mut self) -> Option<String> {
        self.0.pop_front()
    }
    pub fn remaining(&self) -> usize {
        self.0.len()
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} left, <redacted>)", self.0.len())
    }
}

/// A host for local runs and tests; see the module documentation.
#[derive(Debug, Default)]
pub struct LocalHost {
    pub private_input: Tokens,
    pub public_input: Tokens,
    /// Everything this party printed.
    pub output: String,
    /// Also write printed text to stdout as it comes.
    pub echo: bool,
    pub sockets: MemSockets,
}

impl LocalHost {
    pub fn new(private_input: &str) -> LocalHost {
        LocalHost {
            private_input: Tokens::new(private_input),
            ..LocalHost::default()
        }
    }
}

impl Host for LocalHost {
    fn private_token(&mut self) -> Option<String> {
        self.private_input.next_token()
    }
    fn public_token(&mut self) -> Option<String> {
        self.public_input.next_token()
    }
    fn print(&mut self, text: &str) {
        if self.echo {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        self.output.push_str(text);
    }
    fn sockets(&mut self) -> &mut dyn Sockets {
        &mut self.sockets
    }
}
