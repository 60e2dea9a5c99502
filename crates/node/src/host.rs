//! The VM host of a game on a node: inputs from the activation, prints collected, and client
//! sockets whose first client streams the input secrets' shares.
//!
//! As in the original, the input secrets reach the program through its first client socket: the
//! shares (value ‖ MAC, 32 bytes each) of every input secret, flattened in the activation's order.
//! The original sends them as one message, so a program must read them all at once; here the
//! client is a stream, and each `read_from_socket` takes exactly as many values as it asks for, so
//! programs may also read secret by secret. Only secret reads (`sint`/`sfix.read_from_socket`,
//! whole 32-byte elements) may consume the stream: a `cint` or `regint` read would turn this
//! party's share and MAC share into clear values, so it is refused and consumes nothing. Writes
//! are collected and become the game's outputs.

use std::collections::VecDeque;

use lang::bytecode::SockKind;
use vm::host::{reader_of, Host, SocketWrite, Sockets, Tokens};

/// The client id of the input stream (the first client to be accepted).
pub const INPUT_CLIENT: i64 = 0;

/// Bytes of one input element on the stream: value share ‖ MAC share.
const SHARE_BYTES: usize = 32;

/// Sockets of a game; see the module docs.
#[derive(Default)]
pub struct GameSockets {
    listening: Vec<i64>,
    accepted: bool,
    closed: bool,
    /// Bytes of the input shares not yet read.
    input: VecDeque<u8>,
    /// Every message the program wrote, in order.
    pub written: Vec<SocketWrite>,
}

impl GameSockets {
    /// Sockets whose input client streams `input` (concatenated 32-byte shares).
    pub fn new(input: Vec<u8>) -> GameSockets {
        GameSockets {
            input: input.into(),
            ..GameSockets::default()
        }
    }
}

impl Sockets for GameSockets {
    fn listen(&mut self, port: i64) -> Result<(), String> {
        self.listening.push(port);
        Ok(())
    }

    fn accept(&mut self, port: i64) -> Result<i64, String> {
        if !self.listening.contains(&port) {
            return Err(format!(
                "accepting a client on port {port}, which is not listening: call listen({port}) first"
            ));
        }
        if self.accepted {
            return Err("only one client connects to a game on a node: the input secrets (client 0); programs with several clients are not supported by `execute`".into());
        }
        self.accepted = true;
        Ok(INPUT_CLIENT)
    }

    fn close(&mut self, client: i64) -> Result<(), String> {
        if client != INPUT_CLIENT || !self.accepted {
            return Err(format!("closing client {client}, which never connected"));
        }
        self.closed = true;
        Ok(())
    }

    fn read(&mut self, client: i64, kind: SockKind, elements: usize) -> Result<Vec<u8>, String> {
        if client != INPUT_CLIENT || !self.accepted {
            return Err(format!(
                "reading from client {client}, which never connected"
            ));
        }
        if self.closed {
            return Err("reading from the input client after closing it".into());
        }
        // The stream is this party's value and MAC shares: read as anything but authenticated
        // shares, its bytes would become clear values in the program (and, written back, give
        // the client every party's shares and MAC shares, hence the MAC key).
        if kind != SockKind::SecretWithMac {
            return Err(format!(
                "the input client (client {INPUT_CLIENT}) carries the game's secret inputs only, \
                 which {} cannot read: read them with sint.read_from_socket (or sfix)",
                reader_of(kind)
            ));
        }
        let expected = elements
            .checked_mul(SHARE_BYTES)
            .filter(|&e| e <= self.input.len())
            .ok_or_else(|| {
                format!(
                    "the program reads {elements} value(s) but the activation's input secrets \
                     hold only {} more; pass more or larger input secrets",
                    self.input.len() / SHARE_BYTES
                )
            })?;
        Ok(self.input.drain(..expected).collect())
    }

    fn write(&mut self, msg: SocketWrite) -> Result<(), String> {
        if msg.client != INPUT_CLIENT || !self.accepted {
            return Err(format!(
                "writing to client {}, which never connected",
                msg.client
            ));
        }
        self.written.push(msg);
        Ok(())
    }
}

/// The host of one game.
pub struct GameHost {
    pub private_input: Tokens,
    pub public_input: Tokens,
    /// Public printed text (the default print target): every party prints it, and the parties
    /// compare it before any answers.
    pub output: String,
    /// Text printed to this party alone (`print_ln_to`).
    pub private_output: String,
    pub sockets: GameSockets,
}

/// Most printed text one game may make a node hold, per kind.
const MAX_PRINTED: usize = 1 << 20;

impl Host for GameHost {
    fn private_token(&mut self) -> Option<String> {
        self.private_input.next_token()
    }
    fn public_token(&mut self) -> Option<String> {
        self.public_input.next_token()
    }
    fn print(&mut self, text: &str) {
        // Bound what one game can make the node hold.
        if self.output.len() < MAX_PRINTED {
            self.output.push_str(text);
        }
    }
    fn print_private(&mut self, text: &str) {
        if self.private_output.len() < MAX_PRINTED {
            self.private_output.push_str(text);
        }
    }
    fn sockets(&mut self) -> &mut dyn Sockets {
        &mut self.sockets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(input: Vec<u8>) -> GameSockets {
        let mut s = GameSockets::new(input);
        s.listen(14000).unwrap();
        assert_eq!(s.accept(14000), Ok(INPUT_CLIENT));
        s
    }

    #[test]
    fn clear_int_and_share_reads_of_the_input_client_fail_and_consume_nothing() {
        let input: Vec<u8> = (0..64).collect();
        let mut s = connected(input.clone());
        for kind in [SockKind::Clear, SockKind::Int, SockKind::SecretShare] {
            for elements in [1, 2, 4, 8] {
                let e = s.read(INPUT_CLIENT, kind, elements).unwrap_err();
                assert!(
                    e.contains("carries the game's secret inputs only")
                        && e.contains("read them with sint.read_from_socket"),
                    "{kind:?}: {e}"
                );
            }
        }
        // Nothing was consumed: the secret read still gets every byte, in order.
        assert_eq!(s.read(INPUT_CLIENT, SockKind::SecretWithMac, 2), Ok(input));
    }

    #[test]
    fn secret_reads_take_whole_elements_and_stop_at_the_end() {
        let input: Vec<u8> = (0..96).collect();
        let mut s = connected(input.clone());
        assert_eq!(
            s.read(INPUT_CLIENT, SockKind::SecretWithMac, 1),
            Ok(input[..32].to_vec())
        );
        let e = s
            .read(INPUT_CLIENT, SockKind::SecretWithMac, 3)
            .unwrap_err();
        assert!(e.contains("hold only 2 more"), "{e}");
        let e = s
            .read(INPUT_CLIENT, SockKind::SecretWithMac, usize::MAX)
            .unwrap_err();
        assert!(e.contains("hold only 2 more"), "{e}");
        assert_eq!(
            s.read(INPUT_CLIENT, SockKind::SecretWithMac, 2),
            Ok(input[32..].to_vec())
        );
        assert_eq!(s.read(INPUT_CLIENT, SockKind::SecretWithMac, 0), Ok(vec![]));
        assert!(s.read(INPUT_CLIENT, SockKind::SecretWithMac, 1).is_err());
    }

    #[test]
    fn reads_need_the_connected_input_client() {
        let mut s = GameSockets::new(vec![0; 32]);
        assert!(s.read(INPUT_CLIENT, SockKind::SecretWithMac, 1).is_err());
        let mut s = connected(vec![0; 32]);
        assert!(s.read(1, SockKind::SecretWithMac, 1).is_err());
        s.close(INPUT_CLIENT).unwrap();
        assert!(s.read(INPUT_CLIENT, SockKind::SecretWithMac, 1).is_err());
    }
}
