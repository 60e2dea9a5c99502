//! The VM host of a game on a node: inputs from the activation, prints collected, and client
//! sockets whose first client streams the input secrets' shares.
//!
//! As in the original, the input secrets reach the program through its first client socket: the
//! shares (value ‖ MAC, 32 bytes each) of every input secret, flattened in the activation's order.
//! The original sends them as one message, so a program must read them all at once; here the
//! client is a stream, and each `read_from_socket` takes exactly as many values as it asks for, so
//! programs may also read secret by secret. Writes are collected and become the game's outputs.

use std::collections::VecDeque;

use vm::host::{Host, SocketWrite, Sockets, Tokens};

/// The client id of the input stream (the first client to be accepted).
pub const INPUT_CLIENT: i64 = 0;

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

    fn read(&mut self, client: i64) -> Result<Vec<u8>, String> {
        let all = self.input.len();
        self.read_expecting(client, all)
    }

    fn read_expecting(&mut self, client: i64, expected: usize) -> Result<Vec<u8>, String> {
        if client != INPUT_CLIENT || !self.accepted {
            return Err(format!(
                "reading from client {client}, which never connected"
            ));
        }
        if self.closed {
            return Err("reading from the input client after closing it".into());
        }
        if expected > self.input.len() {
            return Err(format!(
                "the program reads {} value(s) but the activation's input secrets hold only {} more; pass more or larger input secrets",
                expected / 32,
                self.input.len() / 32
            ));
        }
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
        self.print_text(true, text);
    }
    fn print_text(&mut self, public: bool, text: &str) {
        // Bound what one game can make the node hold.
        let out = if public {
            &mut self.output
        } else {
            &mut self.private_output
        };
        if out.len() < MAX_PRINTED {
            out.push_str(text);
        }
    }
    fn sockets(&mut self) -> &mut dyn Sockets {
        &mut self.sockets
    }
}
