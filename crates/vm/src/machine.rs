//! The machine state of one run: frames, memories, the DAG, pending openings, counters; the
//! main loop and the register accessors.

use std::collections::HashMap;
use std::time::Instant;

use field::Fp;
use lang::bytecode::{RegKind, C, R, S};
use lang::Bytecode;
use protocol::prep::Preprocessing;
use protocol::{Engine, ShareVec};

use crate::budget::{Exceeded, Meter};
use crate::dag::{CommKind, Dag, InputSpec, Op};
use crate::error::{At, Result, VmError};
use crate::host::Host;
use crate::local::{self, LocalOp};
use crate::memory::Memory;
use crate::print::QueuedPrint;
use crate::regs::Frame;
use crate::stats::{tuples_since, VmStats};
use crate::value::{ClearVal, NodeId, SecVec};
use crate::VmConfig;

/// An opening not performed yet: to everyone, or (with `private`) to one party.
pub(crate) struct PendingOpen {
    pub src: SecVec,
    pub private: Option<PrivateOpen>,
    pub result: Option<Vec<Fp>>,
}

/// The mask of an opening to one party: an input node of that party's random values.
pub(crate) struct PrivateOpen {
    pub player: usize,
    pub mask_node: NodeId,
    /// The mask values, on `player` only. Secret: never logged.
    pub mask_clear: Option<Vec<Fp>>,
}

pub(crate) struct Machine<'a, P: Preprocessing> {
    pub prog: &'a Bytecode,
    pub engine: &'a mut Engine<P>,
    pub host: &'a mut dyn Host,
    pub config: VmConfig,
    pub me: usize,
    pub parties: usize,
    pub frames: Vec<Frame>,
    /// What the frames' registers hold, in bytes (the sum of their [`Frame::bytes`]).
    pub reg_bytes: u64,
    pub mem: Memory,
    pub dag: Dag,
    pub opens: Vec<PendingOpen>,
    /// Elements in `opens`.
    pub open_elems: usize,
    pub private_consumed: u64,
    pub public_consumed: u64,
    pub timers: HashMap<u32, Instant>,
    /// Prints waiting for pending openings, in order.
    pub prints: Vec<QueuedPrint>,
    pub stats: VmStats,
    /// (function, pc) of the instruction running, for error messages.
    pub cur: (usize, usize),
    /// When the run started (for [`VmError::DeadlineExceeded`]).
    pub started: Instant,
    /// Secure shuffles generated so far, by handle (`crate::shuffle`).
    pub shuffles: Vec<crate::shuffle::Shuffle>,
}

/// How many instructions run between two looks at the clock for [`VmConfig::deadline`].
const DEADLINE_CHECK_EVERY: u64 = 4096;

impl<'a, P: Preprocessing> Machine<'a, P> {
    pub(crate) fn new(
        prog: &'a Bytecode,
        engine: &'a mut Engine<P>,
        host: &'a mut dyn Host,
        config: VmConfig,
    ) -> Result<Machine<'a, P>> {
        let at0 = || At {
            function: "main".into(),
            pc: 0,
            mnemonic: "-",
        };
        prog.validate()
            .map_err(|message| VmError::Bytecode { at: at0(), message })?;
        let params = &prog.params;
        if params.prime != field::MODULUS {
            return Err(VmError::Params {
                what: format!(
                    "the prime {}, but this engine works modulo {}",
                    params.prime,
                    field::MODULUS
                ),
            });
        }
        let s = engine.config().security;
        if params.security != s {
            return Err(VmError::Params {
                what: format!(
                    "statistical security {} (program.security), but the engine runs with {s}; \
                     configure the engine with the program's parameters",
                    params.security
                ),
            });
        }
        let main = &prog.functions[0];
        let mut meter = Meter::new(config.max_memory_bytes, config.memory_budget.clone());
        let reg_bytes = Frame::overhead(main);
        meter
            .set_registers(reg_bytes)
            .map_err(|e| limit_error(e, format!("{}: the registers of `main`", at0())))?;
        let m = &prog.memory;
        Ok(Machine {
            prog,
            me: engine.party(),
            parties: engine.n_parties(),
            engine,
            host,
            config,
            frames: vec![Frame::new(0, main, Vec::new())],
            mem: Memory::new(m.secret, m.clear, m.int, meter),
            reg_bytes,
            dag: Dag::default(),
            opens: Vec::new(),
            open_elems: 0,
            private_consumed: 0,
            public_consumed: 0,
            timers: HashMap::new(),
            prints: Vec::new(),
            stats: VmStats::default(),
            cur: (0, 0),
            started: Instant::now(),
            shuffles: Vec::new(),
        })
    }

    /// Runs to the end: the main loop, a final flush and a MAC check.
    pub(crate) fn run(&mut self) -> Result<VmStats> {
        let start = Instant::now();
        let net0 = self.engine.net_stats();
        let tuples0 = self.engine.tuples_consumed().clone();
        let checks0 = self.engine.checks_run();
        let prog = self.prog;
        while let Some(frame) = self.frames.last_mut() {
            let (fi, pc) = (frame.func, frame.pc);
            let code = &prog.functions[fi].code;
            if pc >= code.len() {
                // Falling off the end of a function returns from it.
                self.cur = (fi, pc);
                self.do_return()?;
                continue;
            }
            frame.pc += 1;
            self.cur = (fi, pc);
            self.stats.instructions += 1;
            if self.stats.instructions.is_multiple_of(DEADLINE_CHECK_EVERY) {
                if let Some(deadline) = self.config.deadline {
                    let now = std::time::Instant::now();
                    if now > deadline {
                        return Err(VmError::DeadlineExceeded {
                            after: now - self.started,
                        });
                    }
                }
            }
            if let Some(max) = self.config.max_steps {
                if self.stats.instructions > max {
                    return Err(VmError::Limit {
                        what: format!(
                            "the program ran more than {max} instructions (VmConfig::max_steps)"
                        ),
                    });
                }
            }
            let mut result = self.exec(&code[pc]);
            if result.is_ok() && self.reg_bytes != self.mem.meter.registers() {
                result = self.charge_registers(self.reg_bytes);
            }
            if let Err(e) = result {
                // Every party stops at the same instruction for an error that depends only on
                // public values, so all can flush together and emit what was printed before it.
                if e.is_public() {
                    let _ = self.flush();
                }
                return Err(e);
            }
        }
        self.flush()?;
        self.engine.check()?;
        let net = self.engine.net_stats().since(&net0);
        self.stats.elapsed = start.elapsed();
        self.stats.rounds = net.rounds;
        self.stats.bytes_sent = net.bytes_sent;
        self.stats.tuples = tuples_since(self.engine.tuples_consumed(), &tuples0);
        self.stats.mac_checks = self.engine.checks_run() - checks0;
        self.stats.peak_memory_bytes = self.mem.meter.peak();
        Ok(self.stats.clone())
    }

    /// The site of the running instruction.
    pub(crate) fn at(&self) -> At {
        self.at_site(self.cur.0, self.cur.1)
    }

    /// The site of instruction `pc` of function `fi`.
    pub(crate) fn at_site(&self, fi: usize, pc: usize) -> At {
        let f = &self.prog.functions[fi];
        At {
            function: f.name.clone(),
            pc,
            mnemonic: f.code.get(pc).map_or("end", |i| i.mnemonic()),
        }
    }

    pub(crate) fn bad(&self, message: impl Into<String>) -> VmError {
        VmError::Bytecode {
            at: self.at(),
            message: message.into(),
        }
    }

    fn frame(&self) -> &Frame {
        self.frames.last().expect("a frame while running")
    }

    pub(crate) fn frame_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame while running")
    }

    fn size_error(&self, kind: RegKind, idx: u32, has: usize, n: usize) -> VmError {
        self.bad(format!(
            "register {}{idx} holds {has} element(s), the instruction uses {n}",
            kind.prefix()
        ))
    }

    /// Tells the meter that the registers now hold `bytes` (or are about to): fails with the
    /// limit that this would exceed.
    pub(crate) fn charge_registers(&mut self, bytes: u64) -> Result<()> {
        self.mem
            .meter
            .set_registers(bytes)
            .map_err(|e| limit_error(e, format!("{}: the registers", self.at())))
    }

    /// Refuses vectors longer than [`VmConfig::max_vector_elements`], or larger than a run may
    /// hold ([`VmConfig::max_memory_bytes`], at 32 bytes per element), before allocating them.
    pub(crate) fn check_len(&self, n: usize) -> Result<()> {
        let limit = self.mem.meter.limit();
        if n as u64 > limit / 32 {
            return Err(VmError::MemoryLimit {
                what: format!("{}: a vector of {n} elements", self.at()),
                limit,
            });
        }
        if n > self.config.max_vector_elements {
            return Err(VmError::Limit {
                what: format!(
                    "{}: a vector of {n} elements is longer than the VM limit of {} \
                     (VmConfig::max_vector_elements)",
                    self.at(),
                    self.config.max_vector_elements
                ),
            });
        }
        Ok(())
    }

    // ----- secret registers ----------------------------------------------------------------

    /// Secret register `r` with exactly `n` elements (a never-written register reads as zeros).
    pub(crate) fn s_get(&self, r: S, n: usize) -> Result<SecVec> {
        let v = &self.frame().s[r.0 as usize];
        if v.len() == n {
            Ok(v.clone())
        } else if v.len() == 0 {
            self.check_len(n)?;
            Ok(SecVec::from_shares(ShareVec::zeros(n)))
        } else {
            Err(self.size_error(RegKind::Secret, r.0, v.len(), n))
        }
    }

    /// Applies `f` to the running frame, keeping [`Machine::reg_bytes`] up to date.
    pub(crate) fn with_frame<T>(&mut self, f: impl FnOnce(&mut Frame) -> T) -> T {
        let frame = self.frames.last_mut().expect("a frame while running");
        let before = frame.bytes;
        let out = f(frame);
        self.reg_bytes = self.reg_bytes - before + frame.bytes;
        out
    }

    pub(crate) fn s_set(&mut self, r: S, v: SecVec) {
        self.with_frame(|f| f.set_s(r.0 as usize, v));
    }

    // ----- clear registers -----------------------------------------------------------------

    /// Clear register `r` with `n` elements, performing pending openings if needed.
    pub(crate) fn c_get(&mut self, r: C, n: usize) -> Result<Vec<Fp>> {
        if matches!(self.frame().c[r.0 as usize], ClearVal::Pending { .. }) {
            self.flush()?;
        }
        match &self.frame().c[r.0 as usize] {
            ClearVal::Ready(v) if v.len() == n => Ok(v.clone()),
            ClearVal::Ready(v) if v.is_empty() => {
                self.check_len(n)?;
                Ok(vec![Fp::ZERO; n])
            }
            ClearVal::Ready(v) => Err(self.size_error(RegKind::Clear, r.0, v.len(), n)),
            ClearVal::Pending { .. } => unreachable!("flushed above"),
        }
    }

    /// Clear register `r` as it is (possibly pending), checked to hold `n` elements.
    pub(crate) fn c_get_lazy(&self, r: C, n: usize) -> Result<ClearVal> {
        let v = &self.frame().c[r.0 as usize];
        match v.len() {
            l if l == n => Ok(v.clone()),
            0 => {
                self.check_len(n)?;
                Ok(ClearVal::Ready(vec![Fp::ZERO; n]))
            }
            l => Err(self.size_error(RegKind::Clear, r.0, l, n)),
        }
    }

    pub(crate) fn c_set(&mut self, r: C, v: Vec<Fp>) {
        self.c_set_val(r, ClearVal::Ready(v));
    }

    pub(crate) fn c_set_val(&mut self, r: C, v: ClearVal) {
        self.with_frame(|f| f.set_c(r.0 as usize, v));
    }

    // ----- regint registers ----------------------------------------------------------------

    pub(crate) fn r_get(&self, r: R, n: usize) -> Result<Vec<i64>> {
        let v = &self.frame().r[r.0 as usize];
        if v.len() == n {
            Ok(v.clone())
        } else if v.is_empty() {
            self.check_len(n)?;
            Ok(vec![0; n])
        } else {
            Err(self.size_error(RegKind::Int, r.0, v.len(), n))
        }
    }

    /// The first element of regint register `r` (conditions, addresses, client ids).
    pub(crate) fn r_scalar(&self, r: R) -> i64 {
        self.frame().r[r.0 as usize].first().copied().unwrap_or(0)
    }

    pub(crate) fn r_set(&mut self, r: R, v: Vec<i64>) {
        self.with_frame(|f| f.set_r(r.0 as usize, v));
    }

    // ----- secret operations -----------------------------------------------------------------

    /// A local operation: evaluated now if every input is materialised, otherwise a DAG node.
    pub(crate) fn local_op(
        &mut self,
        op: LocalOp,
        inputs: Vec<SecVec>,
        len: usize,
    ) -> Result<SecVec> {
        if inputs.iter().all(|v| !v.is_lazy()) {
            let xs: Vec<ShareVec> = inputs.iter().map(|v| self.dag.materialize(v)).collect();
            let ctx = self.engine.ctx();
            return Ok(SecVec::from_shares(local::eval(&ctx, &op, &xs, len)));
        }
        let site = (self.cur.0 as u32, self.cur.1 as u32);
        let id = self.dag.add(Op::Local(op), inputs, len, None, site);
        let v = SecVec::node(id, 0, len);
        Ok(v)
    }

    /// A communication operation: always a DAG node. The caller stores the result and then
    /// calls [`Machine::maybe_flush`].
    pub(crate) fn comm_op(
        &mut self,
        kind: CommKind,
        inputs: Vec<SecVec>,
        len: usize,
        input: Option<InputSpec>,
    ) -> SecVec {
        let site = (self.cur.0 as u32, self.cur.1 as u32);
        let id = self.dag.add(Op::Comm(kind), inputs, len, input, site);
        SecVec::node(id, 0, len)
    }

    /// Flushes when the DAG or the pending openings exceed their bounds. The bounds count
    /// elements and nodes, which are public, so every party flushes at the same point.
    pub(crate) fn maybe_flush(&mut self) -> Result<()> {
        let elems = self.dag.pending_elements() + self.open_elems;
        if elems > self.config.max_pending_elements
            || self.dag.nodes.len() + self.opens.len() > self.config.max_pending_nodes
        {
            self.flush()?;
        }
        Ok(())
    }
}

/// The error for an allocation past a memory limit; `what` says what needed the memory.
pub(crate) fn limit_error(e: Exceeded, what: String) -> VmError {
    match e {
        Exceeded::Run { limit } => VmError::MemoryLimit { what, limit },
        Exceeded::Shared { capacity } => VmError::MemoryBudget { what, capacity },
    }
}
