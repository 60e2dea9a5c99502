//! Input and output instructions: private and public input, printing, client sockets.

use field::Fp;
use lang::bytecode::{AnyReg, PrintPart, PrintTarget, RegKind, SockKind, C, R, S};
use protocol::prep::Preprocessing;
use protocol::ShareVec;

use crate::dag::{CommKind, InputSpec};
use crate::error::{Result, VmError};
use crate::format::{parse_fixed, parse_int};
use crate::host::SocketWrite;
use crate::machine::Machine;
use crate::print::{Part, QueuedPrint};
use crate::sockets::element_bytes;
use crate::value::SecVec;

/// Flush when this many prints wait for openings (a public count: all parties agree).
const MAX_QUEUED_PRINTS: usize = 100_000;

fn sz(n: &lang::bytecode::Size) -> usize {
    n.0 as usize
}

impl<P: Preprocessing> Machine<'_, P> {
    pub(crate) fn socket_err(&self, message: String) -> VmError {
        VmError::Socket {
            at: self.at(),
            message,
        }
    }

    /// `input`: the inputting party reads its values now; all parties add an input node.
    pub(crate) fn input(&mut self, dst: S, player: u32, f: u32, n: usize) -> Result<()> {
        let player = player as usize;
        if player >= self.parties {
            return Err(self.runtime(format!(
                "input from party {player}, but there are {} parties",
                self.parties
            )));
        }
        let values = if player == self.me {
            let mut vals = Vec::with_capacity(n);
            for _ in 0..n {
                let tok = self
                    .host
                    .private_token()
                    .ok_or(VmError::OutOfPrivateInput {
                        party: self.me,
                        consumed: self.private_consumed,
                    })?;
                self.private_consumed += 1;
                let v = if f == 0 {
                    parse_int(&tok)
                } else {
                    parse_fixed(&tok, f)
                };
                vals.push(v.ok_or(VmError::BadPrivateInput {
                    party: self.me,
                    index: self.private_consumed,
                    expected: if f == 0 {
                        "an integer"
                    } else {
                        "a decimal number"
                    },
                })?);
            }
            Some(vals)
        } else {
            None
        };
        let spec = InputSpec { player, values };
        let v = self.comm_op(CommKind::Input, Vec::new(), n, Some(spec));
        self.s_set(dst, v);
        self.maybe_flush()
    }

    pub(crate) fn print(&mut self, target: &PrintTarget, parts: &[PrintPart]) -> Result<()> {
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            out.push(match p {
                PrintPart::Text(s) => Part::Text(self.prog.strings[s.0 as usize].clone()),
                PrintPart::Clear(c, n) => Part::Clear {
                    value: self.c_get_lazy(*c, sz(n))?,
                    fix: None,
                },
                PrintPart::Int(r, n) => Part::Int(self.r_get(*r, sz(n))?),
                PrintPart::Fix {
                    reg,
                    n,
                    f,
                    precision,
                } => Part::Clear {
                    value: self.c_get_lazy(*reg, sz(n))?,
                    fix: Some((*f, *precision)),
                },
            });
        }
        let show = match target {
            PrintTarget::Default => self.config.print_party.is_none_or(|p| p == self.me),
            PrintTarget::Party(p) => *p as usize == self.me,
        };
        let q = QueuedPrint {
            show,
            private: matches!(target, PrintTarget::Party(_)),
            parts: out,
        };
        if self.prints.is_empty() && q.is_ready() {
            q.emit(&mut *self.host);
            return Ok(());
        }
        self.prints.push(q);
        if self.prints.len() > MAX_QUEUED_PRINTS {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn sock_read(
        &mut self,
        kind: SockKind,
        client: R,
        dsts: &[AnyReg],
        n: usize,
    ) -> Result<()> {
        let want = match kind {
            SockKind::SecretWithMac => RegKind::Secret,
            SockKind::Clear => RegKind::Clear,
            SockKind::Int => RegKind::Int,
            SockKind::SecretShare => {
                return Err(VmError::Unsupported {
                    at: self.at(),
                    what: "reading value shares without MACs from a socket".into(),
                })
            }
        };
        if let Some(d) = dsts.iter().find(|d| d.kind != want) {
            return Err(self.bad(format!("socket read of {kind:?} into register {d}")));
        }
        let id = self.r_scalar(client);
        let size = element_bytes(kind);
        let elements = n * dsts.len();
        let expected = elements * size;
        let msg = self
            .host
            .sockets()
            .read(id, kind, elements)
            .map_err(|e| self.socket_err(e))?;
        if msg.len() != expected {
            return Err(self.socket_err(format!(
                "client {id} sent a message of {} bytes, but this read expects {expected} \
                 ({elements} value(s) of {size} bytes)",
                msg.len(),
            )));
        }
        let decode = |b: &[u8]| Fp::from_mont_bytes(b.try_into().expect("16 bytes"));
        let mut chunks = msg.chunks_exact(size);
        let k = dsts.len();
        match kind {
            SockKind::SecretWithMac => {
                let mut vs = vec![Vec::with_capacity(n); k];
                let mut ms = vec![Vec::with_capacity(n); k];
                for _ in 0..n {
                    for i in 0..k {
                        let c = chunks.next().expect("length checked");
                        let (v, m) = (decode(&c[..16]), decode(&c[16..]));
                        let (v, m) = v.and_then(|v| m.map(|m| (v, m))).map_err(|e| {
                            self.socket_err(format!("client {id} sent an invalid share: {e}"))
                        })?;
                        vs[i].push(v);
                        ms[i].push(m);
                    }
                }
                for ((d, v), m) in dsts.iter().zip(vs).zip(ms) {
                    self.s_set(S(d.idx), SecVec::from_shares(ShareVec::from_parts(v, m)));
                }
            }
            SockKind::Clear => {
                let mut out = vec![Vec::with_capacity(n); k];
                for _ in 0..n {
                    for o in out.iter_mut() {
                        let c = chunks.next().expect("length checked");
                        o.push(decode(c).map_err(|e| {
                            self.socket_err(format!("client {id} sent an invalid value: {e}"))
                        })?);
                    }
                }
                for (d, v) in dsts.iter().zip(out) {
                    self.c_set(C(d.idx), v);
                }
            }
            SockKind::Int => {
                let mut out = vec![Vec::with_capacity(n); k];
                for _ in 0..n {
                    for o in out.iter_mut() {
                        let c = chunks.next().expect("length checked");
                        o.push(i64::from_le_bytes(c.try_into().expect("8 bytes")));
                    }
                }
                for (d, v) in dsts.iter().zip(out) {
                    self.r_set(R(d.idx), v);
                }
            }
            SockKind::SecretShare => unreachable!("refused above"),
        }
        Ok(())
    }

    pub(crate) fn sock_write(
        &mut self,
        kind: SockKind,
        client: R,
        msg_type: i64,
        srcs: &[AnyReg],
        n: usize,
    ) -> Result<()> {
        let want = match kind {
            SockKind::SecretWithMac | SockKind::SecretShare => RegKind::Secret,
            SockKind::Clear => RegKind::Clear,
            SockKind::Int => RegKind::Int,
        };
        if let Some(s) = srcs.iter().find(|s| s.kind != want) {
            return Err(self.bad(format!("socket write of {kind:?} from register {s}")));
        }
        let mut payload = Vec::with_capacity(4 + n * srcs.len() * element_bytes(kind));
        if msg_type != 0 {
            payload.extend_from_slice(&(msg_type as i32).to_le_bytes());
        }
        match kind {
            SockKind::SecretWithMac | SockKind::SecretShare => {
                let mut vals = Vec::with_capacity(srcs.len());
                for s in srcs {
                    vals.push(self.s_get(S(s.idx), n)?);
                }
                if vals.iter().any(|v| v.is_lazy()) {
                    self.flush()?;
                    vals.clear();
                    for s in srcs {
                        vals.push(self.s_get(S(s.idx), n)?);
                    }
                }
                let shares: Vec<ShareVec> = vals.iter().map(|v| self.dag.materialize(v)).collect();
                for j in 0..n {
                    for s in &shares {
                        payload.extend_from_slice(&s.value_shares()[j].to_mont_bytes());
                        if kind == SockKind::SecretWithMac {
                            payload.extend_from_slice(&s.mac_shares()[j].to_mont_bytes());
                        }
                    }
                }
            }
            SockKind::Clear => {
                let mut vals = Vec::with_capacity(srcs.len());
                for s in srcs {
                    vals.push(self.c_get(C(s.idx), n)?);
                }
                for j in 0..n {
                    for v in &vals {
                        payload.extend_from_slice(&v[j].to_mont_bytes());
                    }
                }
            }
            SockKind::Int => {
                let mut vals = Vec::with_capacity(srcs.len());
                for s in srcs {
                    vals.push(self.r_get(R(s.idx), n)?);
                }
                for j in 0..n {
                    for v in &vals {
                        payload.extend_from_slice(&v[j].to_le_bytes());
                    }
                }
            }
        }
        let id = self.r_scalar(client);
        let msg = SocketWrite {
            client: id,
            kind,
            msg_type,
            elements: n * srcs.len(),
            payload,
        };
        self.host
            .sockets()
            .write(msg)
            .map_err(|e| self.socket_err(e))
    }

    /// `pubinput`: n integers from the public input.
    pub(crate) fn public_input(&mut self, dst: C, n: usize) -> Result<()> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let tok = self.host.public_token().ok_or(VmError::OutOfPublicInput {
                consumed: self.public_consumed,
            })?;
            self.public_consumed += 1;
            out.push(parse_int(&tok).ok_or_else(|| VmError::BadPublicInput {
                index: self.public_consumed,
                token: tok.chars().take(40).collect(),
            })?);
        }
        self.c_set(dst, out);
        Ok(())
    }
}
