//! The code builder: register and memory allocation, labels, functions with their register
//! frames (and captured outer registers), strings, and the cost summary.

use std::collections::HashMap;

use crate::budgets::BudgetKind;
use crate::bytecode::*;
use crate::diagnostics::{internal, Error, Result};
use crate::values::RegRef;

/// Estimated bytes of builder state per emitted instruction (for the memory budget).
pub const INSTR_BYTES: u64 = 64;

struct Capture {
    outer: RegRef,
    local: u32,
    written: bool,
}

/// Fix-up for a recursive call emitted before the callee's captures were all known.
struct PendingCall {
    instr: usize,
}

struct Region {
    /// Compile-time trip count, or None for a run-time-dependent repetition.
    trips: Option<u64>,
}

struct BranchSave {
    saved_fixed: Counts,
    saved_dyn: Counts,
    /// Counts of the first arm, once it is done.
    first: Option<(Counts, Counts)>,
}

struct FnBuilder {
    id: u32,
    name: String,
    code: Vec<Instr>,
    labels: Vec<Option<u32>>,
    next: [u32; 3],
    params: Vec<AnyReg>,
    captures: Vec<Capture>,
    capture_map: HashMap<RegRef, usize>,
    pending_calls: Vec<PendingCall>,
    regions: Vec<Region>,
    branches: Vec<BranchSave>,
    fixed: Counts,
    dynamic: Counts,
    has_dynamic: bool,
}

impl FnBuilder {
    fn new(id: u32, name: String) -> FnBuilder {
        FnBuilder {
            id,
            name,
            code: Vec::new(),
            labels: Vec::new(),
            next: [0; 3],
            params: Vec::new(),
            captures: Vec::new(),
            capture_map: HashMap::new(),
            pending_calls: Vec::new(),
            regions: Vec::new(),
            branches: Vec::new(),
            fixed: Counts::default(),
            dynamic: Counts::default(),
            has_dynamic: false,
        }
    }

    /// (multiplier for fixed counts) or (None, multiplier inside the innermost dynamic region).
    fn multiplier(&self) -> (Option<u64>, u64) {
        let mut m: u64 = 1;
        let mut dynamic = false;
        for r in &self.regions {
            match r.trips {
                Some(t) => m = m.saturating_mul(t),
                None => {
                    dynamic = true;
                    m = 1;
                }
            }
        }
        if dynamic {
            (None, m)
        } else {
            (Some(m), m)
        }
    }
}

/// A finished function's interface, for call sites.
pub struct FnSig {
    /// Outer registers the function reads (passed after the explicit arguments).
    pub captured: Vec<RegRef>,
    /// Outer registers the function writes (copied back after the explicit results).
    pub written: Vec<RegRef>,
    pub fixed: Counts,
    pub dynamic: Option<Counts>,
}

pub struct Builder {
    frames: Vec<FnBuilder>,
    functions: Vec<Option<Function>>,
    sigs: Vec<Option<FnSig>>,
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    mem: [u64; 3],
    pub instr_count: u64,
    pub max_instructions: u64,
    /// Bytes of large instruction operands (gather indices, concatenations, ...).
    pub operand_bytes: u64,
}

/// The builder's state at one point, to undo a speculative compilation (see
/// [`Builder::snapshot`]).
pub struct BuilderSnap {
    frames: usize,
    code: usize,
    labels: usize,
    next: [u32; 3],
    captures: usize,
    pending_calls: usize,
    regions: usize,
    branches: usize,
    fixed: Counts,
    dynamic: Counts,
    has_dynamic: bool,
    mem: [u64; 3],
    instr_count: u64,
    operand_bytes: u64,
    functions: usize,
}

impl Builder {
    /// The state to return to with [`Builder::restore`].
    pub fn snapshot(&self) -> BuilderSnap {
        let f = self.frames.last().expect("main frame");
        BuilderSnap {
            frames: self.frames.len(),
            code: f.code.len(),
            labels: f.labels.len(),
            next: f.next,
            captures: f.captures.len(),
            pending_calls: f.pending_calls.len(),
            regions: f.regions.len(),
            branches: f.branches.len(),
            fixed: f.fixed.clone(),
            dynamic: f.dynamic.clone(),
            has_dynamic: f.has_dynamic,
            mem: self.mem,
            instr_count: self.instr_count,
            operand_bytes: self.operand_bytes,
            functions: self.functions.len(),
        }
    }

    /// Undoes everything emitted in the current function since `snap`. Refused (false) when
    /// functions were created or left open meanwhile, which cannot be undone.
    pub fn restore(&mut self, snap: BuilderSnap) -> bool {
        if self.frames.len() != snap.frames || self.functions.len() != snap.functions {
            return false;
        }
        let f = self.frames.last_mut().expect("main frame");
        f.code.truncate(snap.code);
        f.labels.truncate(snap.labels);
        f.next = snap.next;
        for c in f.captures.drain(snap.captures..) {
            f.capture_map.remove(&c.outer);
        }
        f.pending_calls.truncate(snap.pending_calls);
        f.regions.truncate(snap.regions);
        f.branches.truncate(snap.branches);
        f.fixed = snap.fixed;
        f.dynamic = snap.dynamic;
        f.has_dynamic = snap.has_dynamic;
        self.mem = snap.mem;
        self.instr_count = snap.instr_count;
        self.operand_bytes = snap.operand_bytes;
        true
    }

    pub fn new(max_instructions: u64) -> Builder {
        Builder {
            frames: vec![FnBuilder::new(0, "main".into())],
            functions: vec![None],
            sigs: vec![None],
            strings: Vec::new(),
            string_ids: HashMap::new(),
            mem: [0; 3],
            instr_count: 0,
            max_instructions,
            operand_bytes: 0,
        }
    }

    fn top(&mut self) -> &mut FnBuilder {
        self.frames.last_mut().expect("main frame")
    }

    /// The id of the function being compiled.
    pub fn frame_id(&self) -> u32 {
        self.frames.last().expect("main frame").id
    }

    // ---- registers ------------------------------------------------------------------------

    pub fn new_reg(&mut self, kind: RegKind) -> RegRef {
        let f = self.top();
        let idx = f.next[kind.index()];
        f.next[kind.index()] += 1;
        RegRef {
            kind,
            idx,
            frame: f.id,
        }
    }

    /// The register index to use in the current function for `r`, capturing registers of
    /// enclosing functions as implicit parameters.
    pub fn local(&mut self, r: RegRef) -> Result<u32> {
        let top = self.frames.len() - 1;
        self.local_at(top, r)
    }

    fn local_at(&mut self, depth: usize, r: RegRef) -> Result<u32> {
        let f = &self.frames[depth];
        if f.id == r.frame {
            return Ok(r.idx);
        }
        if let Some(&i) = f.capture_map.get(&r) {
            return Ok(f.captures[i].local);
        }
        if depth == 0 || !self.frames[..depth].iter().any(|f| f.id == r.frame) {
            return Err(crate::diagnostics::type_err(
                "a run-time value created inside a @function (or @function_block) is used outside it",
            )
            .with_advice(
                "return the value from the function, or store it in an Array or MemValue",
            ));
        }
        let f = &mut self.frames[depth];
        let local = f.next[r.kind.index()];
        f.next[r.kind.index()] += 1;
        f.capture_map.insert(r, f.captures.len());
        f.captures.push(Capture {
            outer: r,
            local,
            written: false,
        });
        Ok(local)
    }

    /// Like [`Builder::local`] for a register about to be overwritten (`update`): a captured
    /// register is then copied back to the caller after the call.
    pub fn local_write(&mut self, r: RegRef) -> Result<u32> {
        let l = self.local(r)?;
        let f = self.top();
        if let Some(&i) = f.capture_map.get(&r) {
            f.captures[i].written = true;
        }
        Ok(l)
    }

    pub fn any(&mut self, r: RegRef) -> Result<AnyReg> {
        Ok(AnyReg::new(r.kind, self.local(r)?))
    }
    pub fn s(&mut self, r: RegRef) -> Result<S> {
        debug_assert_eq!(r.kind, RegKind::Secret);
        Ok(S(self.local(r)?))
    }
    pub fn c(&mut self, r: RegRef) -> Result<C> {
        debug_assert_eq!(r.kind, RegKind::Clear);
        Ok(C(self.local(r)?))
    }
    pub fn r(&mut self, r: RegRef) -> Result<R> {
        debug_assert_eq!(r.kind, RegKind::Int);
        Ok(R(self.local(r)?))
    }

    // ---- instructions ---------------------------------------------------------------------

    pub fn emit(&mut self, i: Instr) -> Result<()> {
        self.instr_count += 1;
        if self.instr_count > self.max_instructions {
            return Err(Error::new(
                crate::diagnostics::ErrorKind::Budget(BudgetKind::Instructions),
                String::new(),
            ));
        }
        self.operand_bytes += match &i {
            Instr::VecGather { indices, .. } => indices.len() as u64 * 4,
            Instr::VecConcat { srcs, .. } => srcs.len() as u64 * 16,
            Instr::BitDec { dsts, .. } => dsts.len() as u64 * 4,
            Instr::Print { parts, .. } => parts.len() as u64 * 24,
            Instr::SockRead { dsts, .. } => dsts.len() as u64 * 8,
            Instr::SockWrite { srcs, .. } => srcs.len() as u64 * 8,
            Instr::Call { args, rets, .. } => (args.len() + rets.len()) as u64 * 8,
            _ => 0,
        };
        let f = self.top();
        if matches!(i, Instr::GenShuffle { .. } | Instr::ApplyShuffle { .. }) {
            // Its cost grows with the number of parties, known only at run time.
            f.has_dynamic = true;
        }
        match f.multiplier() {
            (Some(m), _) => f.fixed.add_instr(&i, m),
            (None, m) => {
                f.dynamic.add_instr(&i, m);
                f.has_dynamic = true;
            }
        }
        f.code.push(i);
        Ok(())
    }

    pub fn code_len(&self) -> usize {
        self.frames.last().expect("main frame").code.len()
    }

    pub fn new_label(&mut self) -> Label {
        let f = self.top();
        f.labels.push(None);
        Label(f.labels.len() as u32 - 1)
    }

    pub fn place(&mut self, l: Label) {
        let f = self.top();
        f.labels[l.0 as usize] = Some(f.code.len() as u32);
    }

    // ---- cost regions ---------------------------------------------------------------------

    /// Enter a loop body executed `trips` times (None: known only at run time).
    pub fn enter_region(&mut self, trips: Option<u64>) {
        self.top().regions.push(Region { trips });
    }
    pub fn exit_region(&mut self) {
        self.top().regions.pop();
    }
    /// Mark the current function as containing run-time-dependent work (e.g. recursion).
    pub fn mark_dynamic(&mut self) {
        self.top().has_dynamic = true;
    }

    /// Start the first arm of a two-armed branch: the summary keeps the larger arm.
    pub fn branch_begin(&mut self) {
        let f = self.top();
        let saved_fixed = std::mem::take(&mut f.fixed);
        let saved_dyn = std::mem::take(&mut f.dynamic);
        f.branches.push(BranchSave {
            saved_fixed,
            saved_dyn,
            first: None,
        });
    }
    /// Switch to the second arm.
    pub fn branch_else(&mut self) {
        let f = self.top();
        let a = (std::mem::take(&mut f.fixed), std::mem::take(&mut f.dynamic));
        if let Some(b) = f.branches.last_mut() {
            b.first = Some(a);
        }
    }
    pub fn branch_end(&mut self) {
        let f = self.top();
        let Some(save) = f.branches.pop() else { return };
        let mut fixed = std::mem::take(&mut f.fixed);
        let mut dynamic = std::mem::take(&mut f.dynamic);
        if let Some((a_fixed, a_dyn)) = save.first {
            fixed.max_with(&a_fixed);
            dynamic.max_with(&a_dyn);
        }
        f.fixed = save.saved_fixed;
        f.fixed.add_scaled(&fixed, 1);
        f.dynamic = save.saved_dyn;
        f.dynamic.add_scaled(&dynamic, 1);
    }

    // ---- memory and strings -----------------------------------------------------------------

    pub fn alloc_mem(&mut self, kind: RegKind, n: u64) -> Result<u64> {
        let base = self.mem[kind.index()];
        self.mem[kind.index()] = base
            .checked_add(n)
            .filter(|x| *x <= 1 << 40)
            .ok_or_else(|| crate::diagnostics::value_err("memory size too large"))?;
        Ok(base)
    }

    pub fn string_text(&self, s: Str) -> &str {
        &self.strings[s.0 as usize]
    }

    pub fn string(&mut self, s: &str) -> Str {
        if let Some(&i) = self.string_ids.get(s) {
            return Str(i);
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), i);
        Str(i)
    }

    // ---- functions --------------------------------------------------------------------------

    /// Reserve a function id and start compiling it; `params` are allocated by the caller via
    /// [`Builder::add_param`].
    pub fn begin_function(&mut self, name: &str) -> u32 {
        let id = self.functions.len() as u32;
        self.functions.push(None);
        self.sigs.push(None);
        self.frames.push(FnBuilder::new(id, name.to_string()));
        id
    }

    pub fn add_param(&mut self, kind: RegKind) -> RegRef {
        let r = self.new_reg(kind);
        self.top().params.push(AnyReg::new(kind, r.idx));
        r
    }

    /// True if function `id` is still being compiled (a recursive call).
    pub fn is_open(&self, id: u32) -> bool {
        self.frames.iter().any(|f| f.id == id)
    }

    /// Finish the current function; `results` are its result registers (in its frame).
    pub fn end_function(&mut self, results: &[RegRef]) -> Result<u32> {
        let mut res = Vec::new();
        for r in results {
            res.push(self.any(*r)?);
        }
        self.emit(Instr::Return {})?;
        let mut f = self.frames.pop().expect("function frame");
        // Explicit parameters first, then captured registers; results, then written captures.
        let mut params = f.params.clone();
        let mut captured = Vec::new();
        let mut written = Vec::new();
        for c in &f.captures {
            params.push(AnyReg::new(c.outer.kind, c.local));
            captured.push(c.outer);
        }
        for c in &f.captures {
            if c.written {
                res.push(AnyReg::new(c.outer.kind, c.local));
                written.push(c.outer);
            }
        }
        // Recursive calls inside the body: append capture arguments and written results.
        for p in std::mem::take(&mut f.pending_calls) {
            if let Instr::Call { args, rets, .. } = &mut f.code[p.instr] {
                let explicit_args = f.params.len();
                args.truncate(explicit_args);
                for c in &f.captures {
                    args.push(AnyReg::new(c.outer.kind, c.local));
                }
                let explicit_rets = results.len();
                rets.truncate(explicit_rets);
                for c in &f.captures {
                    if c.written {
                        rets.push(AnyReg::new(c.outer.kind, c.local));
                    }
                }
            }
        }
        let code = resolve_labels(&f)?;
        let function = Function {
            name: f.name.clone(),
            regs: RegCounts {
                secret: f.next[0],
                clear: f.next[1],
                int: f.next[2],
            },
            params,
            results: res,
            code,
        };
        self.functions[f.id as usize] = Some(function);
        self.sigs[f.id as usize] = Some(FnSig {
            captured,
            written,
            fixed: f.fixed,
            dynamic: f.has_dynamic.then_some(f.dynamic),
        });
        Ok(f.id)
    }

    /// Emit a call of function `id` with explicit args and rets (registers of the current
    /// frame or outer frames).
    pub fn call(&mut self, id: u32, args: &[RegRef], rets: &[RegRef]) -> Result<()> {
        let mut a = Vec::new();
        for r in args {
            a.push(self.any(*r)?);
        }
        let mut out = Vec::new();
        for r in rets {
            out.push(AnyReg::new(r.kind, self.local_write(*r)?));
        }
        if self.is_open(id) {
            // Recursion: the callee's captures are patched in when it is finished.
            if self.frame_id() != id {
                return Err(crate::diagnostics::unsupported(
                    "a call to an enclosing @function from a nested @function",
                ));
            }
            self.mark_dynamic();
            let idx = self.code_len();
            self.emit(Instr::Call {
                func: id,
                args: a,
                rets: out,
            })?;
            self.top().pending_calls.push(PendingCall { instr: idx });
            return Ok(());
        }
        let sig = self.sigs[id as usize]
            .as_ref()
            .ok_or_else(|| internal("call of an unfinished function"))?;
        let captured = sig.captured.clone();
        let written = sig.written.clone();
        let fixed = sig.fixed.clone();
        let dynamic = sig.dynamic.clone();
        for r in captured {
            a.push(self.any(r)?);
        }
        for r in written {
            out.push(AnyReg::new(r.kind, self.local_write(r)?));
        }
        self.emit(Instr::Call {
            func: id,
            args: a,
            rets: out,
        })?;
        let f = self.top();
        match f.multiplier() {
            (Some(m), _) => f.fixed.add_scaled(&fixed, m),
            (None, m) => {
                f.dynamic.add_scaled(&fixed, m);
                f.has_dynamic = true;
            }
        }
        if let Some(d) = dynamic {
            f.dynamic.add_scaled(&d, 1);
            f.has_dynamic = true;
        }
        Ok(())
    }

    /// Finish `main` and assemble the program.
    pub fn finish(mut self, params: ProgramParams) -> Result<(Bytecode, CostSummary)> {
        if self.frames.len() != 1 {
            return Err(internal("unfinished function at end of program"));
        }
        self.emit(Instr::Return {})?;
        let main = self.frames.pop().expect("main");
        let code = resolve_labels(&main)?;
        self.functions[0] = Some(Function {
            name: main.name.clone(),
            regs: RegCounts {
                secret: main.next[0],
                clear: main.next[1],
                int: main.next[2],
            },
            params: Vec::new(),
            results: Vec::new(),
            code,
        });
        let functions: Vec<Function> = self
            .functions
            .into_iter()
            .map(|f| f.ok_or_else(|| internal("function never finished")))
            .collect::<Result<_>>()?;
        let bc = Bytecode {
            params,
            memory: MemorySizes {
                secret: self.mem[0],
                clear: self.mem[1],
                int: self.mem[2],
            },
            strings: self.strings,
            functions,
        };
        let summary = CostSummary {
            instructions: bc.instruction_count() as u64,
            functions: bc.functions.len() as u64,
            fixed: main.fixed,
            runtime_dependent: main.has_dynamic.then_some(main.dynamic),
        };
        Ok((bc, summary))
    }
}

fn resolve_labels(f: &FnBuilder) -> Result<Vec<Instr>> {
    let mut code = f.code.clone();
    for i in &mut code {
        if let Some(t) = i.target_mut() {
            let pos = f
                .labels
                .get(t.0 as usize)
                .copied()
                .flatten()
                .ok_or_else(|| internal("jump to an unplaced label"))?;
            *t = Label(pos);
        }
    }
    Ok(code)
}
