//! Flushing: evaluating the lazy DAG with one engine call per (depth, kernel), then all pending
//! openings in one reveal, then rewriting registers and memory to materialised values.
//!
//! Order of evaluation, for depth d = 0, 1, 2, ...:
//! 1. every communication node of depth d, grouped by [`CommKind`] (in the kind's order): the
//!    inputs of the group are concatenated, the engine runs the kernel once, and the output is
//!    split back per node;
//! 2. every local node of depth d, in creation order.
//!
//! This is valid because a communication node of depth d only depends on nodes of depth < d, and
//! a local node of depth d only on communication nodes of depth ≤ d and earlier local nodes.
//!
//! **Architecture Invariant:** the grouping and order depend only on the DAG's shape (kinds,
//! parameters, lengths, creation order), which is the same on every party.

use std::collections::BTreeMap;
use std::rc::Rc;

use field::Fp;
use protocol::output::{OutputMask, PrivateOutput};
use protocol::prep::Preprocessing;
use protocol::{NonLinear, ProtocolError, ShareVec};

use crate::dag::{CommKind, Op};
use crate::error::{Result, VmError};
use crate::local;
use crate::machine::Machine;
use crate::value::{ClearVal, NodeId};

impl<P: Preprocessing> Machine<'_, P> {
    /// Evaluates everything pending; see the module documentation.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.dag.is_empty() && self.opens.is_empty() && self.prints.is_empty() {
            return Ok(());
        }
        self.stats.flushes += 1;
        self.eval_dag()?;
        self.perform_opens()?;
        self.settle();
        Ok(())
    }

    fn eval_dag(&mut self) -> Result<()> {
        let max_depth = self.dag.nodes.iter().map(|n| n.depth).max().unwrap_or(0) as usize;
        let mut comm: Vec<BTreeMap<CommKind, Vec<NodeId>>> = vec![BTreeMap::new(); max_depth + 1];
        let mut locals: Vec<Vec<NodeId>> = vec![Vec::new(); max_depth + 1];
        for (i, n) in self.dag.nodes.iter().enumerate() {
            match n.op {
                Op::Comm(k) => comm[n.depth as usize]
                    .entry(k)
                    .or_default()
                    .push(i as NodeId),
                Op::Local(_) => locals[n.depth as usize].push(i as NodeId),
            }
        }
        for d in 0..=max_depth {
            for (kind, ids) in std::mem::take(&mut comm[d]) {
                if let Err(e) = self.run_group(kind, &ids) {
                    return Err(self.kernel_error(e, &ids));
                }
            }
            let ctx = self.engine.ctx();
            for &id in &locals[d] {
                let node = &self.dag.nodes[id as usize];
                let Op::Local(op) = &node.op else {
                    unreachable!("local bucket")
                };
                let xs: Vec<ShareVec> = node
                    .inputs
                    .iter()
                    .map(|v| self.dag.materialize(v))
                    .collect();
                let out = local::eval(&ctx, op, &xs, node.len);
                self.dag.nodes[id as usize].result = Some(Rc::new(out));
            }
        }
        Ok(())
    }

    /// A kernel refusing its parameters is the program's error: name the instruction that made
    /// the first node of the batch. Other errors (network, MAC check) pass unchanged.
    fn kernel_error(&self, e: VmError, ids: &[NodeId]) -> VmError {
        match e {
            VmError::Protocol(ProtocolError::InvalidArgument(message)) => {
                let (fi, pc) = self.dag.nodes[ids[0] as usize].site;
                VmError::Runtime {
                    at: self.at_site(fi as usize, pc as usize),
                    message,
                }
            }
            e => e,
        }
    }

    /// Input `j` of every node in `ids`, concatenated.
    fn gather(&self, ids: &[NodeId], j: usize) -> ShareVec {
        if let [id] = ids {
            return self
                .dag
                .materialize(&self.dag.nodes[*id as usize].inputs[j]);
        }
        let parts: Vec<ShareVec> = ids
            .iter()
            .map(|&id| self.dag.materialize(&self.dag.nodes[id as usize].inputs[j]))
            .collect();
        ShareVec::concat(&parts.iter().collect::<Vec<_>>())
    }

    /// Splits a group's concatenated output back into its nodes.
    fn scatter(&mut self, ids: &[NodeId], out: ShareVec) {
        if let [id] = ids {
            self.dag.nodes[*id as usize].result = Some(Rc::new(out));
            return;
        }
        let mut off = 0;
        for &id in ids {
            let len = self.dag.nodes[id as usize].len;
            self.dag.nodes[id as usize].result = Some(Rc::new(out.slice(off..off + len)));
            off += len;
        }
    }

    /// Runs `f` on the non-linear kernels the preprocessing source supports best: the
    /// mixed-circuit kernels (bitwise parts on authenticated bits, `protocol::binary`) when it
    /// provides binary-domain tuples, else the arithmetic ones. Every party's source is of the
    /// same kind, so all parties pick the same.
    fn kernels<T>(
        &mut self,
        f: impl FnOnce(&mut dyn NonLinear) -> protocol::Result<T>,
    ) -> protocol::Result<T> {
        if self.engine.has_binary() {
            let mut mixed = self.engine.mixed()?;
            f(&mut mixed)
        } else {
            f(&mut *self.engine)
        }
    }

    fn run_group(&mut self, kind: CommKind, ids: &[NodeId]) -> Result<()> {
        let out = match kind {
            CommKind::Input => return self.run_inputs(ids),
            CommKind::BitDec { k, m } => return self.run_bit_dec(ids, k, m),
            CommKind::Mul => {
                let (a, b) = (self.gather(ids, 0), self.gather(ids, 1));
                self.engine.mul(&a, &b)?
            }
            CommKind::FixDiv { k, f } => {
                let (a, b) = (self.gather(ids, 0), self.gather(ids, 1));
                self.engine.fp_div(&a, &b, k, f)?
            }
            CommKind::IntDiv { k } => {
                let (a, b) = (self.gather(ids, 0), self.gather(ids, 1));
                self.engine.int_div(&a, &b, k)?
            }
            CommKind::Ltz { k } => {
                let a = self.gather(ids, 0);
                self.kernels(|nl| nl.ltz(&a, k))?
            }
            CommKind::Eqz { k } => {
                let a = self.gather(ids, 0);
                self.kernels(|nl| nl.eqz(&a, k))?
            }
            CommKind::Trunc { k, m } => {
                let a = self.gather(ids, 0);
                self.kernels(|nl| nl.trunc(&a, k, m))?
            }
            CommKind::TruncPr { k, m } => {
                let a = self.gather(ids, 0);
                self.engine.trunc_pr(&a, k, m)?
            }
            CommKind::Mod2m { k, m } => {
                let a = self.gather(ids, 0);
                self.kernels(|nl| nl.mod2m(&a, k, m))?
            }
        };
        self.scatter(ids, out);
        Ok(())
    }

    /// All pending inputs of all parties: one `Engine::input` round.
    fn run_inputs(&mut self, ids: &[NodeId]) -> Result<()> {
        let mut counts = vec![0usize; self.parties];
        let mut mine = Vec::new();
        let mut players = Vec::with_capacity(ids.len());
        for &id in ids {
            let node = &mut self.dag.nodes[id as usize];
            let spec = node.input.as_mut().expect("input node has its spec");
            counts[spec.player] += node.len;
            players.push(spec.player);
            if spec.player == self.me {
                mine.extend(
                    spec.values
                        .take()
                        .expect("the inputting party holds its values"),
                );
            }
        }
        let outs = self.engine.input(&counts, &mine)?;
        drop(mine);
        let mut offs = vec![0usize; self.parties];
        for (&id, &p) in ids.iter().zip(&players) {
            let len = self.dag.nodes[id as usize].len;
            let part = outs[p].slice(offs[p]..offs[p] + len);
            offs[p] += len;
            self.dag.nodes[id as usize].result = Some(Rc::new(part));
        }
        Ok(())
    }

    /// Bit decompositions: node output is bit-major (bit j of all the node's elements at
    /// j·n..(j+1)·n).
    fn run_bit_dec(&mut self, ids: &[NodeId], k: u32, m: u32) -> Result<()> {
        let a = self.gather(ids, 0);
        let bits = self.kernels(|nl| nl.bit_dec(&a, k, m))?;
        let mut off = 0;
        for &id in ids {
            let n = self.dag.nodes[id as usize].len / m as usize;
            let mut out = ShareVec::with_capacity(n * m as usize);
            for b in &bits {
                out.extend(&b.slice(off..off + n));
            }
            off += n;
            self.dag.nodes[id as usize].result = Some(Rc::new(out));
        }
        Ok(())
    }

    /// All pending openings, public and private, in one reveal (one round, one MAC check).
    fn perform_opens(&mut self) -> Result<()> {
        if self.opens.is_empty() {
            return Ok(());
        }
        let mut public = Vec::new();
        let mut public_idx = Vec::new();
        let mut private_x = Vec::new();
        let mut masks = Vec::new();
        let mut private_idx = Vec::new();
        for (i, o) in self.opens.iter_mut().enumerate() {
            let x = self.dag.materialize(&o.src);
            match &mut o.private {
                None => {
                    public.push(x);
                    public_idx.push(i);
                }
                Some(p) => {
                    let shares = (**self.dag.result(p.mask_node)).clone();
                    masks.push(OutputMask {
                        owner: p.player,
                        shares,
                        clear: p.mask_clear.take(),
                    });
                    private_x.push(x);
                    private_idx.push(i);
                }
            }
        }
        let public_refs: Vec<&ShareVec> = public.iter().collect();
        let private: Vec<PrivateOutput<'_>> = private_x
            .iter()
            .zip(&masks)
            .map(|(x, mask)| PrivateOutput { x, mask })
            .collect();
        let (pub_vals, priv_vals) = self.engine.reveal_mixed(&public_refs, &private)?;
        for (i, v) in public_idx.into_iter().zip(pub_vals) {
            self.opens[i].result = Some(v);
        }
        for ((i, v), x) in private_idx.into_iter().zip(priv_vals).zip(&private_x) {
            // Parties other than the receiver get zeros.
            self.opens[i].result = Some(v.unwrap_or_else(|| vec![Fp::ZERO; x.len()]));
        }
        Ok(())
    }

    /// Rewrites every lazy register and memory cell to materialised values, then drops the DAG
    /// and the openings.
    fn settle(&mut self) {
        let dag = &self.dag;
        let opens = &self.opens;
        for f in &mut self.frames {
            for s in &mut f.s {
                if s.is_lazy() {
                    *s = dag.resolve(s);
                }
            }
            for c in &mut f.c {
                if let ClearVal::Pending { open, .. } = c {
                    let v = opens[*open as usize]
                        .result
                        .clone()
                        .expect("opening performed");
                    *c = ClearVal::Ready(v);
                }
            }
        }
        for mut p in std::mem::take(&mut self.prints) {
            p.resolve(opens);
            p.emit(&mut *self.host);
        }
        self.mem.settle_secret(|id| &**dag.result(id));
        self.mem.settle_clear(|id| {
            opens[id as usize]
                .result
                .as_deref()
                .expect("opening performed")
        });
        self.dag.clear();
        self.opens.clear();
        self.open_elems = 0;
    }
}
