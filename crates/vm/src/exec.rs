//! The interpreter: one `match` arm per instruction. Secret operations go through
//! [`Machine::local_op`] and [`Machine::comm_op`] (eager or lazy, see [`crate::dag`]); anything
//! that needs a clear value reads it through [`Machine::c_get`], which flushes if the value is
//! still pending.

use std::time::Instant;

use field::Fp;
use lang::bytecode::{AnyReg, Instr, RegKind, C, R, S};
use protocol::output::fresh_mask_values;
use protocol::prep::Preprocessing;

use crate::clear::{self, ArithError};
use crate::dag::{CommKind, InputSpec};
use crate::error::{Result, VmError};
use crate::local::LocalOp;
use crate::machine::limit_error;
use crate::machine::{Machine, PendingOpen, PrivateOpen};
use crate::memory::MemError;
use crate::regs::{AnyVal, Frame};
use crate::value::{ClearVal, SecVec};

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

    pub(crate) fn runtime(&self, message: impl Into<String>) -> VmError {
        VmError::Runtime {
            at: self.at(),
            message: message.into(),
        }
    }

    fn mem_err(&self, kind: RegKind, addr: i128, n: usize, e: MemError) -> VmError {
        let kind = match kind {
            RegKind::Secret => "secret",
            RegKind::Clear => "clear",
            RegKind::Int => "regint",
        };
        match e {
            MemError::OutOfRange(size) => VmError::MemoryOutOfRange {
                at: self.at(),
                kind,
                addr,
                n: n as u32,
                size,
            },
            MemError::Limit { elements, exceeded } => limit_error(
                exceeded,
                format!(
                    "{}: {kind} memory grown to {elements} elements (to write address {addr})",
                    self.at()
                ),
            ),
        }
    }

    /// A register of any kind with exactly `n` elements (clear values are forced).
    pub(crate) fn any_get(&mut self, r: AnyReg, n: usize) -> Result<AnyVal> {
        Ok(match r.kind {
            RegKind::Secret => AnyVal::S(self.s_get(S(r.idx), n)?),
            RegKind::Clear => AnyVal::C(ClearVal::Ready(self.c_get(C(r.idx), n)?)),
            RegKind::Int => AnyVal::R(self.r_get(R(r.idx), n)?),
        })
    }

    /// A register of any kind with whatever length it has (clear values are forced).
    pub(crate) fn any_get_whole(&mut self, r: AnyReg) -> Result<AnyVal> {
        let len = match self.frame_mut().get(r) {
            AnyVal::S(v) => v.len(),
            AnyVal::C(v) => v.len(),
            AnyVal::R(v) => v.len(),
        };
        self.any_get(r, len)
    }

    pub(crate) fn any_set(&mut self, r: AnyReg, v: AnyVal) {
        self.with_frame(|f| f.set(r, v));
    }

    pub(crate) fn same_kind(&self, a: AnyReg, b: AnyReg) -> Result<()> {
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

    pub(crate) fn local(
        &mut self,
        op: LocalOp,
        dst: S,
        inputs: Vec<SecVec>,
        n: usize,
    ) -> Result<()> {
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
        // Memory never written reads as zeros, which a load allocates: bound it first.
        self.check_len(n)?;
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
        // Charge the callee's register files before allocating them.
        self.charge_registers(self.reg_bytes + Frame::overhead(callee))?;
        let mut frame = Frame::new(func as usize, callee, rets.to_vec());
        let caller = self.frames.last().expect("caller frame");
        for (a, p) in args.iter().zip(&callee.params) {
            frame.set(*p, caller.get(*a));
        }
        self.reg_bytes += frame.bytes;
        self.frames.push(frame);
        Ok(())
    }

    /// Returns from the running function, copying its results to the caller.
    pub(crate) fn do_return(&mut self) -> Result<()> {
        let frame = self.frames.pop().expect("a frame to return from");
        self.reg_bytes -= frame.bytes;
        let prog = self.prog;
        let callee = &prog.functions[frame.func];
        if !self.frames.is_empty() {
            for (r, dst) in callee.results.iter().zip(&frame.rets) {
                self.with_frame(|caller| caller.set(*dst, frame.get(*r)));
            }
        }
        Ok(())
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
                self.vec_slice(*dst, *src, *start as usize, sz(n))?
            }
            Instr::VecConcat { dst, srcs, sizes } => self.vec_concat(*dst, srcs, sizes)?,
            Instr::VecSplat { dst, src, n } => self.vec_splat(*dst, *src, sz(n))?,
            Instr::VecSum { dst, src, chunk, n } => {
                self.vec_sum(*dst, *src, *chunk as usize, sz(n))?
            }
            Instr::VecGather {
                dst,
                src,
                indices,
                n,
            } => self.vec_gather(*dst, *src, indices, sz(n))?,

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
            Instr::GenShuffle { dst, units } => self.gen_shuffle(*dst, *units as usize)?,
            Instr::ApplyShuffle {
                dst,
                src,
                handle,
                unit,
                reverse,
                n,
            } => self.apply_shuffle(*dst, *src, *handle, *unit as usize, *reverse != 0, sz(n))?,
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
            Instr::PublicInput { dst, n } => self.public_input(*dst, sz(n))?,
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
