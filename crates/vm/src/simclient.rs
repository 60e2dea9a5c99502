//! Simulated clients for in-process runs: the client side of MP-SPDZ's interactive socket
//! protocols, shared by all parties of the run.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use field::Fp;

use crate::sockets::SocketScript;

/// One input-protocol request: the triple shares every party wrote, and the client's answer.
#[derive(Default)]
struct Request {
    parts: Vec<Option<Vec<u8>>>,
    answer: Option<Result<Vec<u8>, String>>,
}

#[derive(Default)]
struct SimState {
    /// Values each interactive client sends through `receive_from_client`, in order.
    inputs: HashMap<i64, VecDeque<Vec<Fp>>>,
    requests: HashMap<i64, Vec<Request>>,
}

/// The client side of MP-SPDZ's input protocol (`receive_from_client`, eprint 2015/1006) for
/// in-process runs, shared by all parties: each party writes its shares of n triples
/// ([a], [b], [c]); once every party has, the client sums them, checks a·b = c, and answers every
/// party with x + a for its next n input values x. The parties then compute [x] = (x + a) − [a].
///
/// Clients are declared by `input` lines of the socket input ([`SocketScript`]).
pub struct SimClients {
    parties: usize,
    state: Mutex<SimState>,
    ready: Condvar,
    /// How long a party waits for the others' shares.
    pub deadline: Duration,
}

impl std::fmt::Debug for SimClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimClients(parties={}, <values redacted>)", self.parties)
    }
}

impl SimClients {
    /// The simulated clients of `script` for a run of `parties` parties.
    pub fn new(parties: usize, script: &SocketScript) -> Arc<SimClients> {
        let mut state = SimState::default();
        for c in &script.interactive {
            state.inputs.entry(*c).or_default();
        }
        for (client, values) in &script.client_inputs {
            state
                .inputs
                .entry(*client)
                .or_default()
                .push_back(values.clone());
        }
        Arc::new(SimClients {
            parties,
            state: Mutex::new(state),
            ready: Condvar::new(),
            deadline: Duration::from_secs(30),
        })
    }

    pub(crate) fn is_interactive(&self, client: i64) -> bool {
        self.state
            .lock()
            .expect("client state")
            .inputs
            .contains_key(&client)
    }

    pub(crate) fn deposit(&self, client: i64, req: usize, party: usize, shares: Vec<u8>) {
        let mut st = self.state.lock().expect("client state");
        let reqs = st.requests.entry(client).or_default();
        while reqs.len() <= req {
            reqs.push(Request {
                parts: vec![None; self.parties],
                answer: None,
            });
        }
        reqs[req].parts[party] = Some(shares);
        self.ready.notify_all();
    }

    pub(crate) fn answer(&self, client: i64, req: usize) -> Result<Vec<u8>, String> {
        let start = Instant::now();
        let mut st = self.state.lock().expect("client state");
        loop {
            let complete = st
                .requests
                .get(&client)
                .and_then(|r| r.get(req))
                .is_some_and(|r| r.parts.iter().all(Option::is_some));
            if complete {
                break;
            }
            let left = self.deadline.checked_sub(start.elapsed()).ok_or_else(|| {
                format!("client {client}: the other parties' triple shares did not arrive in time")
            })?;
            st = self.ready.wait_timeout(st, left).expect("client state").0;
        }
        let st = &mut *st;
        let r = &mut st.requests.get_mut(&client).expect("checked")[req];
        if r.answer.is_none() {
            let inputs = st.inputs.get_mut(&client).expect("interactive client");
            r.answer = Some(client_answer(client, &r.parts, inputs));
        }
        r.answer.clone().expect("set above")
    }
}

/// What the client sends back for one request: x + a for its next input values x.
fn client_answer(
    client: i64,
    parts: &[Option<Vec<u8>>],
    inputs: &mut VecDeque<Vec<Fp>>,
) -> Result<Vec<u8>, String> {
    let mut sums: Vec<Fp> = Vec::new();
    for p in parts.iter().flatten() {
        if !p.len().is_multiple_of(16) {
            return Err(format!("client {client}: malformed share message"));
        }
        let vals = field::kernels::decode(p).map_err(|e| e.to_string())?;
        if sums.is_empty() {
            sums = vals;
        } else if sums.len() == vals.len() {
            for (s, v) in sums.iter_mut().zip(vals) {
                *s += v;
            }
        } else {
            return Err(format!(
                "client {client}: the parties sent different numbers of shares"
            ));
        }
    }
    let n = sums.len() / 3;
    let x = inputs.pop_front().ok_or_else(|| {
        format!("client {client} has no more values for receive_from_client (add an `input` line)")
    })?;
    if x.len() != n {
        return Err(format!(
            "client {client}: receive_from_client asks for {n} value(s), the socket input gives {}",
            x.len()
        ));
    }
    let mut out = Vec::with_capacity(16 * n);
    for (i, xi) in x.iter().enumerate() {
        let (a, b, c) = (sums[3 * i], sums[3 * i + 1], sums[3 * i + 2]);
        if a * b != c {
            return Err(format!(
                "client {client}: the servers' triple {i} does not check (a·b ≠ c); a server cheated"
            ));
        }
        out.extend_from_slice(&(*xi + a).to_mont_bytes());
    }
    Ok(out)
}
