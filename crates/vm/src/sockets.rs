//! Client sockets in memory, MP-SPDZ's socket encodings, and socket input from a file.
//!
//! # Encodings (one message per instruction, values interleaved by vector index)
//!
//! - secret with MAC (`sint.write_to_socket`, `read_from_socket`): value share then MAC share,
//!   16 bytes each, Montgomery little-endian: 32 bytes per value;
//! - secret share only (`write_shares_to_socket`): 16 bytes per value;
//! - clear (`cint`): 16 bytes, Montgomery little-endian;
//! - regint: 8 bytes, signed little-endian.
//!
//! A non-zero message type is prepended as 4 bytes little-endian. On the wire every message is a
//! u32 little-endian length followed by the payload ([`crate::host::frame`]).
//!
//! # Socket input files (`ephemeral run --socket-input FILE`, test corpus `NAME.sock`)
//!
//! One message per line, values separated by whitespace; `#` starts a comment.
//! - `3 4` or `sint 3 4`: a message of secret integers, read by `sint.read_from_socket`;
//! - `sfix 1.5 -2` (or `sfix:20 ...` for 20 fractional bits; default 16): secret fixed-point;
//! - `cint 5`, `regint 7`: public values;
//! - `client 2`: the following messages come from client 2 (before any such line: client 0);
//! - `input 3 4` (or `input sfix 1.5`): values the client sends through `receive_from_client`;
//!   a simulated client ([`SimClients`]) plays its side of the input protocol;
//! - `interactive`: the current client is simulated even without `input` lines, so that the
//!   share triples of `reveal_to_clients` it receives are checked and decoded.
//!
//! Clients connect in the order they first appear ([`crate::sockets::MemSockets::accept`]).
//!
//! A client of a real deployment sends each party *its own* shares. To produce them here,
//! [`prepare_sockets`] has party 0 input every secret value of the file through the engine before
//! the program starts (one input round, which the run's statistics include), and queues each
//! party's resulting authenticated shares (value ‖ MAC) as that party's socket messages. Only
//! party 0 needs the values; the other parties need the file's shape only.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use field::Fp;
use lang::bytecode::SockKind;
use protocol::prep::Preprocessing;
use protocol::{Engine, ShareVec};

use crate::error::VmError;
use crate::format::{parse_fixed, parse_int};
use crate::host::{reader_of, SocketWrite, Sockets};
pub use crate::simclient::SimClients;

/// Encoded size of one value.
pub fn element_bytes(kind: SockKind) -> usize {
    match kind {
        SockKind::SecretWithMac => 32,
        SockKind::SecretShare | SockKind::Clear => 16,
        SockKind::Int => 8,
    }
}

/// What the values of a message of `kind` are, for error messages.
fn kind_name(kind: SockKind) -> &'static str {
    match kind {
        SockKind::SecretWithMac => "secret (share and MAC)",
        SockKind::SecretShare => "secret share",
        SockKind::Clear => "cint",
        SockKind::Int => "regint",
    }
}

/// Sockets backed by queues: messages to read are queued up front, written messages collected.
#[derive(Default, Debug)]
pub struct MemSockets {
    listening: BTreeSet<i64>,
    pending_clients: VecDeque<i64>,
    /// Each client's queued messages and the kind of values each holds.
    inbox: BTreeMap<i64, VecDeque<(SockKind, Vec<u8>)>>,
    closed: BTreeSet<i64>,
    /// Every message the program wrote, in order.
    pub written: Vec<SocketWrite>,
    /// Indices in `written` of the triple messages the simulated clients used as input masks
    /// (`receive_from_client`).
    pub input_protocol: BTreeSet<usize>,
    sim: Option<(Arc<SimClients>, usize)>,
    /// Triple messages written to each simulated client so far.
    requests: HashMap<i64, usize>,
    /// The last write to a client, when it was a triple message not answered yet:
    /// (request index, index in `written`).
    open_request: HashMap<i64, (usize, usize)>,
}

impl MemSockets {
    /// A client that will connect (clients are accepted in the order they are added).
    pub fn add_client(&mut self, client: i64) {
        self.pending_clients.push_back(client);
        self.inbox.entry(client).or_default();
    }

    /// Queues a message (payload without length prefix) of values of `kind` from `client`. A
    /// read of another kind is refused and leaves the message queued.
    pub fn push_message(&mut self, client: i64, kind: SockKind, payload: Vec<u8>) {
        self.inbox
            .entry(client)
            .or_default()
            .push_back((kind, payload));
    }

    /// Lets the simulated clients answer this party's input-protocol requests; `party` is this
    /// party's id.
    pub fn attach_clients(&mut self, sim: Arc<SimClients>, party: usize) {
        self.sim = Some((sim, party));
    }
}

impl Sockets for MemSockets {
    fn listen(&mut self, port: i64) -> Result<(), String> {
        self.listening.insert(port);
        Ok(())
    }

    fn accept(&mut self, port: i64) -> Result<i64, String> {
        if !self.listening.contains(&port) {
            return Err(format!(
                "accepting a client on port {port}, which is not listening: call listen({port}) first"
            ));
        }
        self.pending_clients.pop_front().ok_or_else(|| {
            format!("no client connection is pending on port {port} (the socket input has no more clients)")
        })
    }

    fn close(&mut self, client: i64) -> Result<(), String> {
        if !self.inbox.contains_key(&client) {
            return Err(format!("closing client {client}, which never connected"));
        }
        self.closed.insert(client);
        Ok(())
    }

    fn read(&mut self, client: i64, kind: SockKind, elements: usize) -> Result<Vec<u8>, String> {
        let _ = elements; // one message per read; the VM checks its length
        if self.closed.contains(&client) {
            return Err(format!(
                "reading from client {client}, whose connection is closed"
            ));
        }
        if let (Some((sim, _)), Some(&(req, w))) = (&self.sim, self.open_request.get(&client)) {
            // The simulated client answers receive_from_client with public values x + a.
            if kind != SockKind::Clear {
                return Err(format!(
                    "client {client} answers receive_from_client with public values, but the \
                     program reads them with {}: read them with cint.read_from_socket",
                    reader_of(kind)
                ));
            }
            self.open_request.remove(&client);
            let answer = sim.answer(client, req)?;
            self.input_protocol.insert(w);
            return Ok(answer);
        }
        let q = self
            .inbox
            .get_mut(&client)
            .ok_or_else(|| format!("reading from client {client}, which never connected"))?;
        let (has, _) = q.front().ok_or_else(|| {
            format!("client {client} sent no more messages (the socket input is exhausted)")
        })?;
        if *has != kind {
            return Err(format!(
                "client {client}'s next message holds {} values, but the program reads it with \
                 {}; read it with {}",
                kind_name(*has),
                reader_of(kind),
                reader_of(*has)
            ));
        }
        Ok(q.pop_front().expect("checked above").1)
    }

    fn write(&mut self, msg: SocketWrite) -> Result<(), String> {
        if self.closed.contains(&msg.client) {
            return Err(format!(
                "writing to client {}, whose connection is closed",
                msg.client
            ));
        }
        self.open_request.remove(&msg.client);
        if let Some((sim, party)) = &self.sim {
            let triples = msg.kind == SockKind::SecretShare
                && msg.elements > 0
                && msg.elements.is_multiple_of(3);
            if triples && sim.is_interactive(msg.client) {
                let req = self.requests.entry(msg.client).or_default();
                let skip = if msg.msg_type != 0 { 4 } else { 0 };
                sim.deposit(msg.client, *req, *party, msg.payload[skip..].to_vec());
                self.open_request
                    .insert(msg.client, (*req, self.written.len()));
                *req += 1;
            }
        }
        self.written.push(msg);
        Ok(())
    }
}

/// The type of the values of one socket input message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Sint,
    /// Secret fixed point with this many fractional bits.
    Sfix(u32),
    Cint,
    Regint,
}

impl ValueType {
    fn is_secret(self) -> bool {
        matches!(self, ValueType::Sint | ValueType::Sfix(_))
    }
}

/// One message of a socket input file.
#[derive(Clone)]
pub struct ScriptMessage {
    pub client: i64,
    pub ty: ValueType,
    /// The values as field elements (the encoding of regints is taken from their signed value).
    pub values: Vec<Fp>,
}

/// A parsed socket input file; see the module documentation for the format.
#[derive(Clone, Default)]
pub struct SocketScript {
    /// Clients in the order they connect.
    pub clients: Vec<i64>,
    pub messages: Vec<ScriptMessage>,
    /// Values clients send through `receive_from_client` (`input` lines), in order.
    pub client_inputs: Vec<(i64, Vec<Fp>)>,
    /// Clients played by a simulated client (those with `input` lines, or marked `interactive`).
    pub interactive: BTreeSet<i64>,
}

impl std::fmt::Debug for SocketScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SocketScript(clients={:?}, messages={}, <values redacted>)",
            self.clients,
            self.messages.len()
        )
    }
}

impl SocketScript {
    pub fn parse(text: &str) -> Result<SocketScript, String> {
        let mut clients = Vec::new();
        let mut messages = Vec::new();
        let mut client_inputs = Vec::new();
        let mut interactive = BTreeSet::new();
        let mut client = 0i64;
        for (ln, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |m: String| format!("socket input line {}: {m}", ln + 1);
            let mut toks = line.split_whitespace().peekable();
            let first = *toks.peek().expect("non-empty line");
            if first == "client" {
                toks.next();
                let id = toks
                    .next()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| err("`client` needs an integer id".into()))?;
                if toks.next().is_some() {
                    return Err(err("`client ID` stands alone on its line".into()));
                }
                client = id;
                if !clients.contains(&id) {
                    clients.push(id);
                }
                continue;
            }
            if first == "interactive" {
                if toks.nth(1).is_some() {
                    return Err(err("`interactive` stands alone on its line".into()));
                }
                interactive.insert(client);
                if !clients.contains(&client) {
                    clients.push(client);
                }
                continue;
            }
            let is_input = first == "input";
            if is_input {
                toks.next();
            }
            let first = toks.peek().copied().unwrap_or("");
            let ty = if first.starts_with(|c: char| c.is_ascii_alphabetic()) {
                toks.next();
                match first {
                    "sint" => ValueType::Sint,
                    "cint" => ValueType::Cint,
                    "regint" => ValueType::Regint,
                    "sfix" => ValueType::Sfix(16),
                    t if t.starts_with("sfix:") => {
                        let f = t[5..]
                            .parse::<u32>()
                            .ok()
                            .filter(|f| *f <= 100)
                            .ok_or_else(|| err(format!("bad precision in {t:?}")))?;
                        ValueType::Sfix(f)
                    }
                    t => {
                        return Err(err(format!(
                            "unknown value type {t:?}: use sint, sfix, sfix:F, cint or regint"
                        )))
                    }
                }
            } else {
                ValueType::Sint
            };
            let mut values = Vec::new();
            for (i, t) in toks.enumerate() {
                let v = match ty {
                    ValueType::Sfix(f) => parse_fixed(t, f),
                    ValueType::Regint => t.parse::<i64>().ok().map(Fp::from_i64),
                    _ => parse_int(t),
                };
                values
                    .push(v.ok_or_else(|| err(format!("value {} is not a valid {ty:?}", i + 1)))?);
            }
            if values.is_empty() {
                return Err(err("a message needs at least one value".into()));
            }
            if !clients.contains(&client) {
                clients.push(client);
            }
            if is_input {
                interactive.insert(client);
                if !matches!(ty, ValueType::Sint | ValueType::Sfix(_)) {
                    return Err(err("`input` lines carry sint or sfix values".into()));
                }
                client_inputs.push((client, values));
                continue;
            }
            messages.push(ScriptMessage { client, ty, values });
        }
        if clients.is_empty() {
            clients.push(0);
        }
        Ok(SocketScript {
            clients,
            messages,
            client_inputs,
            interactive,
        })
    }

    /// How many secret values the file holds (party 0 inputs them).
    pub fn secret_count(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.ty.is_secret())
            .map(|m| m.values.len())
            .sum()
    }
}

/// Builds this party's in-memory sockets for `script`: party 0 inputs the secret values through
/// the engine (one round), and every party queues its own shares. See the module documentation.
pub fn prepare_sockets<P: Preprocessing>(
    engine: &mut Engine<P>,
    script: &SocketScript,
) -> Result<MemSockets, VmError> {
    let n = engine.n_parties();
    let count = script.secret_count();
    let mut shares = ShareVec::default();
    if count > 0 {
        let mut counts = vec![0; n];
        counts[0] = count;
        let mine: Vec<Fp> = if engine.party() == 0 {
            script
                .messages
                .iter()
                .filter(|m| m.ty.is_secret())
                .flat_map(|m| m.values.iter().copied())
                .collect()
        } else {
            Vec::new()
        };
        shares = engine.input(&counts, &mine)?.swap_remove(0);
    }
    let mut s = MemSockets::default();
    for &c in &script.clients {
        s.add_client(c);
    }
    let mut next = 0;
    for m in &script.messages {
        let mut payload = Vec::new();
        let kind = match m.ty {
            ValueType::Sint | ValueType::Sfix(_) => SockKind::SecretWithMac,
            ValueType::Cint => SockKind::Clear,
            ValueType::Regint => SockKind::Int,
        };
        match m.ty {
            ValueType::Sint | ValueType::Sfix(_) => {
                let part = shares.slice(next..next + m.values.len());
                next += m.values.len();
                payload = part.to_bytes();
            }
            ValueType::Cint => {
                for v in &m.values {
                    payload.extend_from_slice(&v.to_mont_bytes());
                }
            }
            ValueType::Regint => {
                for v in &m.values {
                    payload.extend_from_slice(&(v.to_signed() as i64).to_le_bytes());
                }
            }
        }
        s.push_message(m.client, kind, payload);
    }
    Ok(s)
}

fn decode_fp(b: &[u8]) -> Result<Fp, String> {
    Fp::from_mont_bytes(b.try_into().expect("16 bytes")).map_err(|e| e.to_string())
}

/// Combines what every party wrote to its sockets into readable lines, one per message:
/// `client C received [type]: v1 v2 ...`. Shares are summed over the parties; with `mac_key` (the
/// global MAC key, which only an insecure dealer knows) the MACs of `share+mac` messages are
/// checked too. Clear and regint messages are read from party 0's copy.
pub fn reconstruct_writes(
    per_party: &[Vec<SocketWrite>],
    input_protocol: &BTreeSet<usize>,
    interactive: &BTreeSet<i64>,
    mac_key: Option<Fp>,
) -> Result<Vec<String>, String> {
    let Some(first) = per_party.first() else {
        return Ok(Vec::new());
    };
    if per_party.iter().any(|w| w.len() != first.len()) {
        return Err("the parties wrote different numbers of socket messages".into());
    }
    let mut lines = Vec::new();
    for (i, m) in first.iter().enumerate() {
        if input_protocol.contains(&i) {
            lines.push(format!(
                "client {} sent {} value(s) through receive_from_client",
                m.client,
                m.elements / 3
            ));
            continue;
        }
        let skip = if m.msg_type != 0 { 4 } else { 0 };
        let size = element_bytes(m.kind);
        let body = |w: &SocketWrite| -> Result<Vec<u8>, String> {
            let b = w.payload.get(skip..).unwrap_or_default().to_vec();
            if b.len() != m.elements * size || w.kind != m.kind || w.client != m.client {
                return Err(format!("socket message {i} differs between the parties"));
            }
            Ok(b)
        };
        let mut values = Vec::with_capacity(m.elements);
        match m.kind {
            SockKind::SecretWithMac | SockKind::SecretShare => {
                let mut v = vec![Fp::ZERO; m.elements];
                let mut mac = vec![Fp::ZERO; m.elements];
                for w in per_party.iter().map(|p| &p[i]) {
                    let b = body(w)?;
                    for (j, chunk) in b.chunks_exact(size).enumerate() {
                        v[j] += decode_fp(&chunk[..16])?;
                        if size == 32 {
                            mac[j] += decode_fp(&chunk[16..])?;
                        }
                    }
                }
                if let (Some(alpha), SockKind::SecretWithMac) = (mac_key, m.kind) {
                    if v.iter().zip(&mac).any(|(&x, &t)| alpha * x != t) {
                        return Err(format!(
                            "socket message {i}: the MACs do not match the values"
                        ));
                    }
                }
                // To a simulated client, share triples (v, r, v·r) are `reveal_to_clients`:
                // the client checks each and keeps v.
                if m.kind == SockKind::SecretShare
                    && interactive.contains(&m.client)
                    && m.elements.is_multiple_of(3)
                {
                    if v.chunks_exact(3).any(|t| t[0] * t[1] != t[2]) {
                        return Err(format!(
                            "socket message {i}: client {} got triples that do not check",
                            m.client
                        ));
                    }
                    let vals: Vec<String> = v
                        .chunks_exact(3)
                        .map(|t| t[0].to_signed().to_string())
                        .collect();
                    lines.push(format!(
                        "client {} received (reveal_to_clients, checked): {}",
                        m.client,
                        vals.join(" ")
                    ));
                    continue;
                }
                values.extend(v.iter().map(|x| x.to_signed().to_string()));
            }
            SockKind::Clear => {
                for chunk in body(m)?.chunks_exact(16) {
                    values.push(decode_fp(chunk)?.to_signed().to_string());
                }
            }
            SockKind::Int => {
                for chunk in body(m)?.chunks_exact(8) {
                    values.push(i64::from_le_bytes(chunk.try_into().expect("8 bytes")).to_string());
                }
            }
        }
        let ty = match m.kind {
            SockKind::SecretWithMac => "shares+MACs",
            SockKind::SecretShare => "shares",
            SockKind::Clear => "cint",
            SockKind::Int => "regint",
        };
        let mt = if m.msg_type != 0 {
            format!(" (message type {})", m.msg_type)
        } else {
            String::new()
        };
        lines.push(format!(
            "client {} received {ty}{mt}: {}",
            m.client,
            values.join(" ")
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_parsing() {
        let s =
            SocketScript::parse("# seed\n3 4\nclient 2\nsfix 1.5\ncint -5\nregint 7 8\n").unwrap();
        assert_eq!(s.clients, vec![0, 2]);
        assert_eq!(s.messages.len(), 4);
        assert_eq!(s.secret_count(), 3);
        assert_eq!(s.messages[1].values, vec![Fp::from_i64(3 << 15)]);
        assert_eq!(s.messages[1].client, 2);
        assert!(SocketScript::parse("bogus 1").is_err());
        assert!(SocketScript::parse("sint x").is_err());
        assert!(SocketScript::parse("client").is_err());
        assert_eq!(SocketScript::parse("").unwrap().clients, vec![0]);
    }

    #[test]
    fn mem_sockets_need_listen_and_clients() {
        let mut s = MemSockets::default();
        s.add_client(5);
        assert!(s.accept(1).is_err());
        s.listen(1).unwrap();
        assert_eq!(s.accept(1), Ok(5));
        assert!(s.accept(1).is_err());
        s.push_message(5, SockKind::Int, vec![1, 2]);
        assert_eq!(s.read(5, SockKind::Int, 1), Ok(vec![1, 2]));
        assert!(s.read(5, SockKind::Int, 1).is_err());
        s.close(5).unwrap();
        assert!(s.read(5, SockKind::Int, 1).is_err());
    }

    #[test]
    fn mem_sockets_refuse_a_read_of_another_kind_and_keep_the_message() {
        let mut s = MemSockets::default();
        s.add_client(0);
        s.listen(1).unwrap();
        s.accept(1).unwrap();
        s.push_message(0, SockKind::SecretWithMac, vec![7; 64]);
        for kind in [SockKind::Clear, SockKind::Int, SockKind::SecretShare] {
            let e = s.read(0, kind, 4).unwrap_err();
            assert!(
                e.contains("read it with sint.read_from_socket"),
                "{kind:?}: {e}"
            );
        }
        assert_eq!(s.read(0, SockKind::SecretWithMac, 2), Ok(vec![7; 64]));
    }
}
