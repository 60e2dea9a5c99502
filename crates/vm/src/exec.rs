//! The interpreter: one `match` arm per instruction. Secret operations go through
//! [`Machine::local_op`] and [`Machine::comm_op`] (eager or lazy, see [`crate::dag`]); anything
//! that needs a clear value reads it through [`Machine::c_get`], which flushes if the value is
//! still pending.

use std::time::Instant;

use field::Fp;
use lang::bytecode::{AnyReg, Instr, PrintPart, PrintTarget, RegKind, SockKind, C, R, S};
use protocol::output::fresh_mask_values;
use protocol::prep::Preprocessing;
use protocol::ShareVec;

use crate::clear::{self, ArithError};
use crate::dag::{CommKind, InputSpec};
use crate::error::{Result, VmError};
use crate::format::{parse_fixed, parse_int};
use crate::host::SocketWrite;
use crate::local::LocalOp;
use crate::machine::{Machine, PendingOpen, PrivateOpen};
use crate::memory::OutOfRange;
use crate::print::{Part, QueuedPrint};
use crate::regs::{AnyVal, Frame};
use crate::sockets::element_bytes;
use crate::value::{ClearVal, SecVec};

/// Flush when this many prints wait for openings (a public count: all parties agree).
const MAX_QUEUED_PRINTS: usize = 100_000;

fn sz(n: &lang::bytecode::Size) -> usize {
    n.0 as usize
}

impl<P: Preprocessing> Machine<'_, P> {
    fn arith(&self, e: ArithError) -> VmError {
        match e {
            ArithError::DivisionByZero => VmError::DivisionByZero { at: self.at() },
            ArithError::Other(message) => VmError::Runtime {
                at: self.at(),
                message,
            },
        }
    }

    fn runtime(&self, message: impl Into<String>) -> VmError {
        VmError::Runtime {
            at: self.at(),
            message: message.into(),
        }
    }

    fn mem_err(&self, kind: RegKind, addr: i128, n: usize, e: OutOfRange) -> VmError {
        VmError::MemoryOutOfRange {
            at: self.at(),
            kind: match kind {
                RegKind::Secret => "secret",
                RegKind::Clear => "clear",
                RegKind::Int => "regint",
            },
            addr,
            n: n as u32,
            size: e.0,
        }
    }

    fn socket_err(&self, message: String) -> VmError {
        VmError::Socket {
            at: self.at(),
            message,
        }
    }

    /// A register of any kind with exactly `n` elements (clear values are forced).
    fn any_get(&mut self, r: AnyReg, n: usize) -> Result<AnyVal> {
        Ok(match r.kind {
            RegKind::Secret => AnyVal::S(self.s_get(S(r.idx), n)?),
            RegKind::Clear => AnyVal::C(ClearVal::Ready(self.c_get(C(r.idx), n)?)),
            RegKind::Int => AnyVal::R(self.r_get(R(r.idx), n)?),
        })
    }

    /// A register of any kind with whatever length it has (clear values are forced).
    fn any_get_whole(&mut self, r: AnyReg) -> Result<AnyVal> {
        let len = match self.frame_mut().get(r) {
            AnyVal::S(v) => v.len(),
            AnyVal::C(v) => v.len(),
            AnyVal::R(v) => v.len(),
        };
        self.any_get(r, len)
    }

    fn any_set(&mut self, r: AnyReg, v: AnyVal) {
        self.frame_mut().set(r, v);
    }

    fn same_kind(&self, a: AnyReg, b: AnyReg) -> Result<()> {
        if a.kind != b.kind {
            return Err(self.bad(format!("registers {a} and {b} are of different kinds")));
        }
        Ok(())
    }

    fn unary_comm(&mut self, kind: CommKind, dst: S, src: S, n: usize) -> Result<()> {
        let x = self.s_get(src, n)?;
        let v = self.comm_op(kind, vec![x], n, None);
        self.s_set(dst, v);
        self.maybe_flush()
    }

    fn binary_comm(&mut self, kind: CommKind, dst: S, a: S, b: S, n: usize) -> Result<()> {
        let (x, y) = (self.s_get(a, n)?, self.s_get(b, n)?);
        let v = self.comm_op(kind, vec![x, y], n, None);
        self.s_set(dst, v);
        self.maybe_flush()
    }

    fn local(&mut self, op: LocalOp, dst: S, inputs: Vec<SecVec>, n: usize) -> Result<()> {
        let v = self.local_op(op, inputs, n)?;
        self.s_set(dst, v);
        self.maybe_flush()
    }

    fn clear_map(
        &mut self,
        dst: C,
        a: C,
        n: usize,
        f: impl Fn(Fp) -> Result<Fp, ArithError>,
    ) -> Result<()> {
        let xs = self.c_get(a, n)?;
        let out = xs
            .into_iter()
            .map(f)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.arith(e))?;
        self.c_set(dst, out);
        Ok(())
    }

    fn int_map(
        &mut self,
        dst: R,
        a: R,
        n: usize,
        f: impl Fn(i64) -> Result<i64, ArithError>,
    ) -> Result<()> {
        let xs = self.r_get(a, n)?;
        let out = xs
            .into_iter()
            .map(f)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.arith(e))?;
        self.r_set(dst, out);
        Ok(())
    }

    fn address(&self, r: R) -> Result<u64> {
        let a = self.r_scalar(r);
        u64::try_from(a).map_err(|_| VmError::MemoryOutOfRange {
            at: self.at(),
            kind: "any",
            addr: a as i128,
            n: 0,
            size: 0,
        })
    }

    fn load(&mut self, dst: AnyReg, addr: u64, n: usize) -> Result<()> {
        let err = |m: &Self, e| m.mem_err(dst.kind, addr as i128, n, e);
        match dst.kind {
            RegKind::Secret => {
                let v = self.mem.load_secret(addr, n).map_err(|e| err(self, e))?;
                self.s_set(S(dst.idx), v);
            }
            RegKind::Clear => {
                if self.mem.clear_pending(addr, n) {
                    self.flush()?;
                }
                let v = self
                    .mem
                    .load_clear(addr, n)
                    .map_err(|e| err(self, e))?
                    .expect("flushed above");
                self.c_set(C(dst.idx), v);
            }
            RegKind::Int => {
                let v = self.mem.load_int(addr, n).map_err(|e| err(self, e))?;
                self.r_set(R(dst.idx), v);
            }
        }
        Ok(())
    }

    fn store(&mut self, src: AnyReg, addr: u64, n: usize) -> Result<()> {
        let err = |m: &Self, e| m.mem_err(src.kind, addr as i128, n, e);
        match src.kind {
            RegKind::Secret => {
                let v = self.s_get(S(src.idx), n)?;
                self.mem.store_secret(addr, &v).map_err(|e| err(self, e))?;
            }
            RegKind::Clear => match self.c_get_lazy(C(src.idx), n)? {
                ClearVal::Ready(v) => self.mem.store_clear(addr, &v).map_err(|e| err(self, e))?,
                ClearVal::Pending { open, len } => self
                    .mem
                    .store_clear_pending(addr, open, len)
                    .map_err(|e| err(self, e))?,
            },
            RegKind::Int => {
                let v = self.r_get(R(src.idx), n)?;
                self.mem.store_int(addr, &v).map_err(|e| err(self, e))?;
            }
        }
        Ok(())
    }

    fn open(&mut self, dst: C, src: S, n: usize, private: Option<usize>) -> Result<()> {
        let x = self.s_get(src, n)?;
        let private = match private {
            None => None,
            Some(player) => {
                if player >= self.parties {
                    return Err(self.runtime(format!(
                        "reveal_to({player}), but there are {} parties",
                        self.parties
                    )));
                }
                let clear = (player == self.me).then(|| fresh_mask_values(n));
                let spec = InputSpec {
                    player,
                    values: clear.clone(),
                };
                let mask = self.comm_op(CommKind::Input, Vec::new(), n, Some(spec));
                let crate::value::Piece::Node { id, .. } = mask.pieces()[0] else {
                    unreachable!("a fresh node")
                };
                Some(PrivateOpen {
                    player,
                    mask_node: id,
                    mask_clear: clear,
                })
            }
        };
        let id = self.opens.len() as u32;
        self.opens.push(PendingOpen {
            src: x,
            private,
            result: None,
        });
        self.open_elems += n;
        self.c_set_val(dst, ClearVal::Pending { open: id, len: n });
        self.maybe_flush()
    }

    fn input(&mut self, dst: S, player: u32, f: u32, n: usize) -> Result<()> {
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

    fn call(&mut self, func: u32, args: &[AnyReg], rets: &[AnyReg]) -> Result<()> {
        if self.frames.len() >= self.config.max_call_depth {
            return Err(VmError::Limit {
                what: format!(
                    "{}: calls nested more than {} deep (VmConfig::max_call_depth)",
                    self.at(),
                    self.config.max_call_depth
                ),
            });
        }
        let prog = self.prog;
        let callee = &prog.functions[func as usize];
        let mut frame = Frame::new(func as usize, callee, rets.to_vec());
        let caller = self.frames.last().expect("caller frame");
        for (a, p) in args.iter().zip(&callee.params) {
            frame.set(*p, caller.get(*a));
        }
        self.frames.push(frame);
        Ok(())
    }

    /// Returns from the running function, copying its results to the caller.
    pub(crate) fn do_return(&mut self) -> Result<()> {
        let frame = self.frames.pop().expect("a frame to return from");
        let prog = self.prog;
        let callee = &prog.functions[frame.func];
        if let Some(caller) = self.frames.last_mut() {
            for (r, dst) in callee.results.iter().zip(&frame.rets) {
                caller.set(*dst, frame.get(*r));
            }
        }
        Ok(())
    }

    fn print(&mut self, target: &PrintTarget, parts: &[PrintPart]) -> Result<()> {
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
        let q = QueuedPrint { show, parts: out };
        if self.prints.is_empty() && q.is_ready() {
            if q.show {
                self.host.print(&q.render());
            }
            return Ok(());
        }
        self.prints.push(q);
        if self.prints.len() > MAX_QUEUED_PRINTS {
            self.flush()?;
        }
        Ok(())
    }

    fn sock_read(&mut self, kind: SockKind, client: R, dsts: &[AnyReg], n: usize) -> Result<()> {
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
        let msg = self
            .host
            .sockets()
            .read(id)
            .map_err(|e| self.socket_err(e))?;
        let size = element_bytes(kind);
        let expected = n * dsts.len() * size;
        if msg.len() != expected {
            return Err(self.socket_err(format!(
                "client {id} sent a message of {} bytes, but this read expects {expected} \
                 ({} value(s) of {size} bytes)",
                msg.len(),
                n * dsts.len()
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

    fn sock_write(
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

    /// Runs one instruction.
    pub(crate) fn exec(&mut self, ins: &Instr) -> Result<()> {
        // Instructions that create vectors from scalars: bound the length first.
        match ins {
            Instr::LdiS { n, .. }
            | Instr::LdiC { n, .. }
            | Instr::LdiR { n, .. }
            | Instr::IncR { n, .. }
            | Instr::VecSplat { n, .. }
            | Instr::Input { n, .. }
            | Instr::RandBit { n, .. }
            | Instr::RandInt { n, .. }
            | Instr::Triple { n, .. }
            | Instr::PublicInput { n, .. } => self.check_len(sz(n))?,
            Instr::BitDec { dsts, n, .. } => self.check_len(sz(n).saturating_mul(dsts.len()))?,
            Instr::VecSum { chunk, n, .. } => {
                self.check_len((*chunk as usize).saturating_mul(sz(n)))?
            }
            _ => {}
        }
        match ins {
            // ---- immediates and moves -------------------------------------------------------
            Instr::LdiS { dst, imm, n } => {
                let v = self.engine.constant(&vec![Fp::from_i128(*imm); sz(n)]);
                self.s_set(*dst, SecVec::from_shares(v));
            }
            Instr::LdiC { dst, imm, n } => self.c_set(*dst, vec![Fp::from_i128(*imm); sz(n)]),
            Instr::LdiR { dst, imm, n } => self.r_set(*dst, vec![*imm; sz(n)]),
            Instr::Mov { dst, src, n } => {
                self.same_kind(*dst, *src)?;
                let v = match src.kind {
                    RegKind::Clear => AnyVal::C(self.c_get_lazy(C(src.idx), sz(n))?),
                    _ => self.any_get(*src, sz(n))?,
                };
                self.any_set(*dst, v);
            }

            // ---- local secret arithmetic ----------------------------------------------------
            Instr::AddS { dst, a, b, n } => {
                let xs = vec![self.s_get(*a, sz(n))?, self.s_get(*b, sz(n))?];
                self.local(LocalOp::Add, *dst, xs, sz(n))?;
            }
            Instr::SubS { dst, a, b, n } => {
                let xs = vec![self.s_get(*a, sz(n))?, self.s_get(*b, sz(n))?];
                self.local(LocalOp::Sub, *dst, xs, sz(n))?;
            }
            Instr::AddSC { dst, a, b, n } => {
                let c = self.c_get(*b, sz(n))?;
                let x = self.s_get(*a, sz(n))?;
                self.local(LocalOp::AddC(c), *dst, vec![x], sz(n))?;
            }
            Instr::SubSC { dst, a, b, n } => {
                let c = self.c_get(*b, sz(n))?;
                let x = self.s_get(*a, sz(n))?;
                self.local(LocalOp::SubC(c), *dst, vec![x], sz(n))?;
            }
            Instr::SubCS { dst, a, b, n } => {
                let c = self.c_get(*a, sz(n))?;
                let x = self.s_get(*b, sz(n))?;
                self.local(LocalOp::SubCS(c), *dst, vec![x], sz(n))?;
            }
            Instr::MulSC { dst, a, b, n } => {
                let c = self.c_get(*b, sz(n))?;
                let x = self.s_get(*a, sz(n))?;
                self.local(LocalOp::MulC(c), *dst, vec![x], sz(n))?;
            }
            Instr::AddSI { dst, a, imm, n } => {
                let x = self.s_get(*a, sz(n))?;
                self.local(LocalOp::AddI(Fp::from_i128(*imm)), *dst, vec![x], sz(n))?;
            }
            Instr::MulSI { dst, a, imm, n } => {
                let x = self.s_get(*a, sz(n))?;
                self.local(LocalOp::MulI(Fp::from_i128(*imm)), *dst, vec![x], sz(n))?;
            }
            Instr::NegS { dst, a, n } => {
                let x = self.s_get(*a, sz(n))?;
                self.local(LocalOp::Neg, *dst, vec![x], sz(n))?;
            }

            // ---- clear and regint arithmetic ------------------------------------------------
            Instr::ClearBin { op, dst, a, b, n } => {
                let (xs, ys) = (self.c_get(*a, sz(n))?, self.c_get(*b, sz(n))?);
                let out = xs
                    .iter()
                    .zip(&ys)
                    .map(|(&x, &y)| clear::clear_bin(*op, x, y))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| self.arith(e))?;
                self.c_set(*dst, out);
            }
            Instr::ClearBinI { op, dst, a, imm, n } => {
                let y = Fp::from_i128(*imm);
                self.clear_map(*dst, *a, sz(n), |x| clear::clear_bin(*op, x, y))?;
            }
            Instr::ClearCmp { op, dst, a, b, n } => {
                let (xs, ys) = (self.c_get(*a, sz(n))?, self.c_get(*b, sz(n))?);
                let out = xs
                    .iter()
                    .zip(&ys)
                    .map(|(&x, &y)| clear::clear_cmp(*op, x, y))
                    .collect();
                self.r_set(*dst, out);
            }
            Instr::NegC { dst, a, n } => self.clear_map(*dst, *a, sz(n), |x| Ok(-x))?,
            Instr::IntBin { op, dst, a, b, n } => {
                let (xs, ys) = (self.r_get(*a, sz(n))?, self.r_get(*b, sz(n))?);
                let out = xs
                    .iter()
                    .zip(&ys)
                    .map(|(&x, &y)| clear::int_bin(*op, x, y))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| self.arith(e))?;
                self.r_set(*dst, out);
            }
            Instr::IntBinI { op, dst, a, imm, n } => {
                self.int_map(*dst, *a, sz(n), |x| clear::int_bin(*op, x, *imm))?;
            }
            Instr::IntCmp { op, dst, a, b, n } => {
                let (xs, ys) = (self.r_get(*a, sz(n))?, self.r_get(*b, sz(n))?);
                let out = xs
                    .iter()
                    .zip(&ys)
                    .map(|(&x, &y)| clear::int_cmp(*op, x, y))
                    .collect();
                self.r_set(*dst, out);
            }
            Instr::IntCmpI { op, dst, a, imm, n } => {
                self.int_map(*dst, *a, sz(n), |x| Ok(clear::int_cmp(*op, x, *imm)))?;
            }
            Instr::NegR { dst, a, n } => self.int_map(*dst, *a, sz(n), |x| Ok(x.wrapping_neg()))?,

            // ---- conversions --------------------------------------------------------------
            Instr::ConvRC { dst, src, n } => {
                let v = self.r_get(*src, sz(n))?;
                self.c_set(*dst, v.into_iter().map(Fp::from_i64).collect());
            }
            Instr::ConvCR { dst, src, n } => {
                let v = self.c_get(*src, sz(n))?;
                // Wrapping to 64 bits: the low 64 bits of the two's complement.
                self.r_set(*dst, v.iter().map(|x| x.to_signed() as i64).collect());
            }
            Instr::ConvCS { dst, src, n } => {
                let v = self.c_get(*src, sz(n))?;
                let s = self.engine.constant(&v);
                self.s_set(*dst, SecVec::from_shares(s));
            }
            Instr::ConvRS { dst, src, n } => {
                let v = self.r_get(*src, sz(n))?;
                let c: Vec<Fp> = v.into_iter().map(Fp::from_i64).collect();
                let s = self.engine.constant(&c);
                self.s_set(*dst, SecVec::from_shares(s));
            }

            // ---- vector shaping -----------------------------------------------------------
            Instr::IncR {
                dst,
                base,
                step,
                repeat,
                wrap,
                n,
            } => {
                let repeat = (*repeat).max(1) as i64;
                let out = (0..sz(n) as i64)
                    .map(|i| {
                        let mut k = i / repeat;
                        if *wrap != 0 {
                            k %= *wrap as i64;
                        }
                        base.wrapping_add(k.wrapping_mul(*step))
                    })
                    .collect();
                self.r_set(*dst, out);
            }
            Instr::VecSlice { dst, src, start, n } => {
                self.same_kind(*dst, *src)?;
                let (start, n) = (*start as usize, sz(n));
                let whole = self.any_get_whole(*src)?;
                let len = match &whole {
                    AnyVal::S(v) => v.len(),
                    AnyVal::C(v) => v.len(),
                    AnyVal::R(v) => v.len(),
                };
                if start + n > len {
                    return Err(self.bad(format!(
                        "slice {start}..{} of register {src}, which holds {len} element(s)",
                        start + n
                    )));
                }
                let v = match whole {
                    AnyVal::S(v) => AnyVal::S(v.slice(start, n)),
                    AnyVal::C(ClearVal::Ready(v)) => {
                        AnyVal::C(ClearVal::Ready(v[start..start + n].to_vec()))
                    }
                    AnyVal::C(ClearVal::Pending { .. }) => unreachable!("forced"),
                    AnyVal::R(v) => AnyVal::R(v[start..start + n].to_vec()),
                };
                self.any_set(*dst, v);
            }
            Instr::VecConcat { dst, srcs, sizes } => {
                let mut parts = Vec::with_capacity(srcs.len());
                for (s, &k) in srcs.iter().zip(sizes) {
                    self.same_kind(*dst, *s)?;
                    parts.push(self.any_get(*s, k as usize)?);
                }
                let v = match dst.kind {
                    RegKind::Secret => {
                        let mut out = SecVec::default();
                        for p in &parts {
                            if let AnyVal::S(v) = p {
                                out.extend(v);
                            }
                        }
                        AnyVal::S(out)
                    }
                    RegKind::Clear => {
                        let mut out = Vec::new();
                        for p in parts {
                            if let AnyVal::C(ClearVal::Ready(v)) = p {
                                out.extend(v);
                            }
                        }
                        AnyVal::C(ClearVal::Ready(out))
                    }
                    RegKind::Int => {
                        let mut out = Vec::new();
                        for p in parts {
                            if let AnyVal::R(v) = p {
                                out.extend(v);
                            }
                        }
                        AnyVal::R(out)
                    }
                };
                self.any_set(*dst, v);
            }
            Instr::VecSplat { dst, src, n } => {
                self.same_kind(*dst, *src)?;
                let n = sz(n);
                match self.any_get_whole(*src)? {
                    AnyVal::S(v) => {
                        let first = if v.len() == 0 {
                            SecVec::from_shares(ShareVec::zeros(1))
                        } else {
                            v.slice(0, 1)
                        };
                        self.local(LocalOp::Splat, S(dst.idx), vec![first], n)?;
                    }
                    AnyVal::C(ClearVal::Ready(v)) => {
                        self.c_set(C(dst.idx), vec![v.first().copied().unwrap_or(Fp::ZERO); n])
                    }
                    AnyVal::C(ClearVal::Pending { .. }) => unreachable!("forced"),
                    AnyVal::R(v) => {
                        self.r_set(R(dst.idx), vec![v.first().copied().unwrap_or(0); n])
                    }
                }
            }
            Instr::VecSum { dst, src, chunk, n } => {
                self.same_kind(*dst, *src)?;
                let (chunk, n) = (*chunk as usize, sz(n));
                match self.any_get(*src, chunk * n)? {
                    AnyVal::S(v) => self.local(LocalOp::Sum { chunk }, S(dst.idx), vec![v], n)?,
                    AnyVal::C(ClearVal::Ready(v)) => {
                        let out = v.chunks(chunk.max(1)).map(|c| c.iter().sum()).collect();
                        self.c_set(C(dst.idx), out);
                    }
                    AnyVal::C(ClearVal::Pending { .. }) => unreachable!("forced"),
                    AnyVal::R(v) => {
                        let out = v
                            .chunks(chunk.max(1))
                            .map(|c| c.iter().fold(0i64, |a, &b| a.wrapping_add(b)))
                            .collect();
                        self.r_set(R(dst.idx), out);
                    }
                }
            }

            Instr::VecGather {
                dst,
                src,
                indices,
                n,
            } => {
                self.same_kind(*dst, *src)?;
                if indices.len() != sz(n) {
                    return Err(self.bad("gather with a wrong number of indices"));
                }
                let whole = self.any_get_whole(*src)?;
                let len = match &whole {
                    AnyVal::S(v) => v.len(),
                    AnyVal::C(v) => v.len(),
                    AnyVal::R(v) => v.len(),
                };
                if let Some(i) = indices.iter().find(|&&i| i as usize >= len) {
                    return Err(self.bad(format!(
                        "gather of element {i} of register {src}, which holds {len} element(s)"
                    )));
                }
                let v = match whole {
                    AnyVal::S(v) => {
                        let mut out = SecVec::default();
                        for &i in indices {
                            out.extend(&v.slice(i as usize, 1));
                        }
                        AnyVal::S(out)
                    }
                    AnyVal::C(ClearVal::Ready(v)) => AnyVal::C(ClearVal::Ready(
                        indices.iter().map(|&i| v[i as usize]).collect(),
                    )),
                    AnyVal::C(ClearVal::Pending { .. }) => unreachable!("forced"),
                    AnyVal::R(v) => AnyVal::R(indices.iter().map(|&i| v[i as usize]).collect()),
                };
                self.any_set(*dst, v);
            }

            // ---- memory -------------------------------------------------------------------
            Instr::LdM { dst, addr, n } => self.load(*dst, *addr, sz(n))?,
            Instr::StM { src, addr, n } => self.store(*src, *addr, sz(n))?,
            Instr::LdMI { dst, addr, n } => {
                let a = self.address(*addr)?;
                self.load(*dst, a, sz(n))?
            }
            Instr::StMI { src, addr, n } => {
                let a = self.address(*addr)?;
                self.store(*src, a, sz(n))?
            }
            Instr::CheckIndex { idx, bound, site } => {
                let v = &self.frames.last().expect("frame").r[idx.0 as usize];
                let bad = v
                    .iter()
                    .copied()
                    .chain(v.is_empty().then_some(0))
                    .find(|&i| i < 0 || i as u64 >= *bound);
                if let Some(index) = bad {
                    return Err(VmError::IndexOutOfRange {
                        index,
                        bound: *bound,
                        site: self.prog.strings[site.0 as usize].clone(),
                    });
                }
            }

            // ---- communication ------------------------------------------------------------
            Instr::MulS { dst, a, b, n } => self.binary_comm(CommKind::Mul, *dst, *a, *b, sz(n))?,
            Instr::Open { dst, src, n } => self.open(*dst, *src, sz(n), None)?,
            Instr::OpenTo {
                dst,
                src,
                player,
                n,
            } => self.open(*dst, *src, sz(n), Some(*player as usize))?,
            Instr::Input { dst, player, f, n } => self.input(*dst, *player, *f, sz(n))?,
            Instr::Ltz { dst, src, k, n } => {
                self.unary_comm(CommKind::Ltz { k: *k }, *dst, *src, sz(n))?
            }
            Instr::Eqz { dst, src, k, n } => {
                self.unary_comm(CommKind::Eqz { k: *k }, *dst, *src, sz(n))?
            }
            Instr::Trunc { dst, src, k, m, n } => {
                self.unary_comm(CommKind::Trunc { k: *k, m: *m }, *dst, *src, sz(n))?
            }
            Instr::TruncPr { dst, src, k, m, n } => {
                self.unary_comm(CommKind::TruncPr { k: *k, m: *m }, *dst, *src, sz(n))?
            }
            Instr::Mod2m { dst, src, k, m, n } => {
                self.unary_comm(CommKind::Mod2m { k: *k, m: *m }, *dst, *src, sz(n))?
            }
            Instr::BitDec { dsts, src, k, n } => {
                let (n, m) = (sz(n), dsts.len());
                if m == 0 {
                    return Ok(());
                }
                let x = self.s_get(*src, n)?;
                let kind = CommKind::BitDec { k: *k, m: m as u32 };
                let v = self.comm_op(kind, vec![x], n * m, None);
                for (j, d) in dsts.iter().enumerate() {
                    self.s_set(*d, v.slice(j * n, n));
                }
                self.maybe_flush()?;
            }
            Instr::FixDiv { dst, a, b, k, f, n } => {
                self.binary_comm(CommKind::FixDiv { k: *k, f: *f }, *dst, *a, *b, sz(n))?
            }
            Instr::IntDiv { dst, a, b, k, n } => {
                self.binary_comm(CommKind::IntDiv { k: *k }, *dst, *a, *b, sz(n))?
            }
            Instr::RandBit { dst, n } => {
                let v = self.engine.random_bits(sz(n))?;
                self.s_set(*dst, SecVec::from_shares(v));
            }
            Instr::RandInt { dst, bits, n } => {
                let v = self.engine.random_ints(sz(n), *bits)?;
                self.s_set(*dst, SecVec::from_shares(v));
            }
            Instr::Triple { a, b, c, n } => {
                let t = self.engine.triples(sz(n))?;
                self.s_set(*a, SecVec::from_shares(t.a));
                self.s_set(*b, SecVec::from_shares(t.b));
                self.s_set(*c, SecVec::from_shares(t.c));
            }

            // ---- control flow -------------------------------------------------------------
            Instr::Jmp { target } => self.frame_mut().pc = target.0 as usize,
            Instr::JmpNz { cond, target } => {
                if self.r_scalar(*cond) != 0 {
                    self.frame_mut().pc = target.0 as usize;
                }
            }
            Instr::JmpZ { cond, target } => {
                if self.r_scalar(*cond) == 0 {
                    self.frame_mut().pc = target.0 as usize;
                }
            }
            Instr::Call { func, args, rets } => self.call(*func, args, rets)?,
            Instr::Return {} => self.do_return()?,

            // ---- input/output and environment ---------------------------------------------
            Instr::Print { target, parts } => self.print(target, parts)?,
            Instr::PublicInput { dst, n } => {
                let mut out = Vec::with_capacity(sz(n));
                for _ in 0..sz(n) {
                    let tok = self.host.public_token().ok_or(VmError::OutOfPublicInput {
                        consumed: self.public_consumed,
                    })?;
                    self.public_consumed += 1;
                    out.push(parse_int(&tok).ok_or_else(|| VmError::BadPublicInput {
                        index: self.public_consumed,
                        token: tok.chars().take(40).collect(),
                    })?);
                }
                self.c_set(*dst, out);
            }
            Instr::PlayerId { dst } => self.r_set(*dst, vec![self.me as i64]),
            Instr::NumPlayers { dst } => self.r_set(*dst, vec![self.parties as i64]),
            Instr::Crash { msg } => {
                return Err(VmError::Crash {
                    message: self.prog.strings[msg.0 as usize].clone(),
                })
            }
            Instr::Timer { start, id } => {
                if *start != 0 {
                    self.timers.insert(*id, Instant::now());
                } else if let Some(t) = self.timers.remove(id) {
                    *self.stats.timers.entry(*id).or_default() += t.elapsed();
                }
            }
            Instr::Listen { port } => {
                let p = self.r_scalar(*port);
                self.host
                    .sockets()
                    .listen(p)
                    .map_err(|e| self.socket_err(e))?;
            }
            Instr::Accept { dst, port } => {
                let p = self.r_scalar(*port);
                let id = self
                    .host
                    .sockets()
                    .accept(p)
                    .map_err(|e| self.socket_err(e))?;
                self.r_set(*dst, vec![id]);
            }
            Instr::CloseClient { client } => {
                let c = self.r_scalar(*client);
                self.host
                    .sockets()
                    .close(c)
                    .map_err(|e| self.socket_err(e))?;
            }
            Instr::SockRead {
                kind,
                client,
                dsts,
                n,
            } => self.sock_read(*kind, *client, dsts, sz(n))?,
            Instr::SockWrite {
                kind,
                client,
                msg_type,
                srcs,
                n,
            } => self.sock_write(*kind, *client, *msg_type, srcs, sz(n))?,
        }
        Ok(())
    }
}
