//! A cleartext reference interpreter for the bytecode, for testing the compiler end to end:
//! secret values are plain field elements and the kernels compute their exact results
//! (TruncPr truncates deterministically, random values are fixed). It plays "party 0":
//! it prints default output and output addressed to party 0.

use std::collections::{HashMap, VecDeque};

use lang::bytecode::*;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

pub struct ClearVm<'b> {
    bc: &'b Bytecode,
    p: BigInt,
    mem: [HashMap<u64, BigInt>; 3],
    pub inputs: HashMap<u32, VecDeque<String>>,
    pub public_inputs: VecDeque<String>,
    pub out: String,
    pub n_players: i64,
    steps: u64,
}

#[derive(Default, Clone)]
struct Frame {
    regs: [Vec<Vec<BigInt>>; 3],
}

impl Frame {
    fn new(f: &Function) -> Frame {
        Frame {
            regs: [
                vec![Vec::new(); f.regs.secret as usize],
                vec![Vec::new(); f.regs.clear as usize],
                vec![Vec::new(); f.regs.int as usize],
            ],
        }
    }
    fn get(&self, r: AnyReg) -> Vec<BigInt> {
        self.regs[r.kind as usize][r.idx as usize].clone()
    }
    fn set(&mut self, r: AnyReg, v: Vec<BigInt>) {
        self.regs[r.kind as usize][r.idx as usize] = v;
    }
}

fn s(r: S) -> AnyReg {
    AnyReg::new(RegKind::Secret, r.0)
}
fn c(r: C) -> AnyReg {
    AnyReg::new(RegKind::Clear, r.0)
}
fn ri(r: R) -> AnyReg {
    AnyReg::new(RegKind::Int, r.0)
}

impl<'b> ClearVm<'b> {
    pub fn new(bc: &'b Bytecode) -> ClearVm<'b> {
        ClearVm {
            bc,
            p: BigInt::from(bc.params.prime),
            mem: Default::default(),
            inputs: HashMap::new(),
            public_inputs: VecDeque::new(),
            out: String::new(),
            n_players: 2,
            steps: 0,
        }
    }

    fn md(&self, x: BigInt) -> BigInt {
        x.mod_floor(&self.p)
    }
    /// The signed integer a field element stands for.
    fn signed(&self, x: &BigInt) -> BigInt {
        let x = self.md(x.clone());
        if x > (&self.p >> 1) {
            x - &self.p
        } else {
            x
        }
    }
    fn wrap64(x: BigInt) -> BigInt {
        let m = BigInt::one() << 64;
        let y = x.mod_floor(&m);
        if y >= (BigInt::one() << 63) {
            y - m
        } else {
            y
        }
    }

    pub fn run(&mut self) -> Result<(), String> {
        self.call(0, Vec::new()).map(|_| ())
    }

    fn call(&mut self, fi: usize, args: Vec<Vec<BigInt>>) -> Result<Vec<Vec<BigInt>>, String> {
        let f = &self.bc.functions[fi];
        let mut fr = Frame::new(f);
        for (p, v) in f.params.iter().zip(args) {
            fr.set(*p, v);
        }
        let mut pc = 0usize;
        while pc < f.code.len() {
            self.steps += 1;
            if self.steps > 50_000_000 {
                return Err("step limit".into());
            }
            let ins = &f.code[pc];
            pc += 1;
            match self.exec(ins, &mut fr)? {
                Ctl::Next => {}
                Ctl::Jump(t) => pc = t,
                Ctl::Ret => break,
            }
        }
        Ok(f.results.iter().map(|r| fr.get(*r)).collect())
    }

    fn exec(&mut self, ins: &Instr, fr: &mut Frame) -> Result<Ctl, String> {
        use Instr::*;
        let n = |sz: &Size| sz.0 as usize;
        let splat = |v: BigInt, k: usize| vec![v; k];
        match ins {
            LdiS { dst, imm, n: sz } => fr.set(s(*dst), splat(self.md(BigInt::from(*imm)), n(sz))),
            LdiC { dst, imm, n: sz } => fr.set(c(*dst), splat(self.md(BigInt::from(*imm)), n(sz))),
            LdiR { dst, imm, n: sz } => fr.set(ri(*dst), splat(BigInt::from(*imm), n(sz))),
            Mov { dst, src, .. } => {
                let v = fr.get(*src);
                fr.set(*dst, v)
            }
            AddS { dst, a, b, .. } => self.bin(fr, s(*dst), s(*a), s(*b), |x, y| x + y),
            SubS { dst, a, b, .. } => self.bin(fr, s(*dst), s(*a), s(*b), |x, y| x - y),
            AddSC { dst, a, b, .. } => self.bin(fr, s(*dst), s(*a), c(*b), |x, y| x + y),
            SubSC { dst, a, b, .. } => self.bin(fr, s(*dst), s(*a), c(*b), |x, y| x - y),
            SubCS { dst, a, b, .. } => self.bin(fr, s(*dst), c(*a), s(*b), |x, y| x - y),
            MulSC { dst, a, b, .. } => self.bin(fr, s(*dst), s(*a), c(*b), |x, y| x * y),
            MulS { dst, a, b, .. } => self.bin(fr, s(*dst), s(*a), s(*b), |x, y| x * y),
            AddSI { dst, a, imm, .. } => self.un(fr, s(*dst), s(*a), |x| x + BigInt::from(*imm)),
            MulSI { dst, a, imm, .. } => self.un(fr, s(*dst), s(*a), |x| x * BigInt::from(*imm)),
            NegS { dst, a, .. } => self.un(fr, s(*dst), s(*a), |x| -x),
            NegC { dst, a, .. } => self.un(fr, c(*dst), c(*a), |x| -x),
            ClearBin { op, dst, a, b, .. } => {
                let (x, y) = (fr.get(c(*a)), fr.get(c(*b)));
                let v = self.zip(&x, &y, |p, q| self.clear_op(*op, p, q))?;
                fr.set(c(*dst), v)
            }
            ClearBinI {
                op, dst, a, imm, ..
            } => {
                let x = fr.get(c(*a));
                let y = vec![BigInt::from(*imm); x.len()];
                let v = self.zip(&x, &y, |p, q| self.clear_op(*op, p, q))?;
                fr.set(c(*dst), v)
            }
            ClearCmp { op, dst, a, b, .. } => {
                let (x, y) = (fr.get(c(*a)), fr.get(c(*b)));
                let v = self.zip(&x, &y, |p, q| {
                    Ok(cmp(*op, &self.signed(p), &self.signed(q)))
                })?;
                fr.set(ri(*dst), v)
            }
            IntBin { op, dst, a, b, .. } => {
                let (x, y) = (fr.get(ri(*a)), fr.get(ri(*b)));
                let v = self.zip(&x, &y, |p, q| int_op(*op, p, q))?;
                fr.set(ri(*dst), v)
            }
            IntBinI {
                op, dst, a, imm, ..
            } => {
                let x = fr.get(ri(*a));
                let y = vec![BigInt::from(*imm); x.len()];
                let v = self.zip(&x, &y, |p, q| int_op(*op, p, q))?;
                fr.set(ri(*dst), v)
            }
            IntCmp { op, dst, a, b, .. } => {
                let (x, y) = (fr.get(ri(*a)), fr.get(ri(*b)));
                let v = self.zip(&x, &y, |p, q| Ok(cmp(*op, p, q)))?;
                fr.set(ri(*dst), v)
            }
            IntCmpI {
                op, dst, a, imm, ..
            } => {
                let x = fr.get(ri(*a));
                let v = x.iter().map(|p| cmp(*op, p, &BigInt::from(*imm))).collect();
                fr.set(ri(*dst), v)
            }
            NegR { dst, a, .. } => {
                let v = fr
                    .get(ri(*a))
                    .into_iter()
                    .map(|x| Self::wrap64(-x))
                    .collect();
                fr.set(ri(*dst), v)
            }
            ConvRC { dst, src, .. } => {
                let v = fr.get(ri(*src)).into_iter().map(|x| self.md(x)).collect();
                fr.set(c(*dst), v)
            }
            ConvCR { dst, src, .. } => {
                let v = fr
                    .get(c(*src))
                    .iter()
                    .map(|x| Self::wrap64(self.signed(x)))
                    .collect();
                fr.set(ri(*dst), v)
            }
            ConvCS { dst, src, .. } => {
                let v = fr.get(c(*src));
                fr.set(s(*dst), v)
            }
            ConvRS { dst, src, .. } => {
                let v = fr.get(ri(*src)).into_iter().map(|x| self.md(x)).collect();
                fr.set(s(*dst), v)
            }
            IncR {
                dst,
                base,
                step,
                repeat,
                wrap,
                n: sz,
            } => {
                let v = (0..n(sz) as i64)
                    .map(|i| {
                        let mut j = i / (*repeat as i64).max(1);
                        if *wrap > 0 {
                            j %= *wrap as i64;
                        }
                        BigInt::from(base + j * step)
                    })
                    .collect();
                fr.set(ri(*dst), v)
            }
            VecSlice {
                dst,
                src,
                start,
                n: sz,
            } => {
                let v = fr.get(*src);
                let st = *start as usize;
                if st + n(sz) > v.len() {
                    return Err(format!(
                        "vslice out of range: {} + {} > {}",
                        st,
                        n(sz),
                        v.len()
                    ));
                }
                fr.set(*dst, v[st..st + n(sz)].to_vec())
            }
            VecConcat { dst, srcs, sizes } => {
                let mut v = Vec::new();
                for (r, k) in srcs.iter().zip(sizes) {
                    let x = fr.get(*r);
                    if x.len() != *k as usize {
                        return Err(format!("vconcat: {r} has {} elements, not {k}", x.len()));
                    }
                    v.extend(x);
                }
                fr.set(*dst, v)
            }
            VecSplat { dst, src, n: sz } => {
                let x = fr.get(*src);
                fr.set(*dst, vec![x[0].clone(); n(sz)])
            }
            VecSum {
                dst,
                src,
                chunk,
                n: sz,
            } => {
                let x = fr.get(*src);
                let k = *chunk as usize;
                let v = (0..n(sz))
                    .map(|i| {
                        let t: BigInt = x[i * k..(i + 1) * k].iter().sum();
                        if src.kind == RegKind::Int {
                            Self::wrap64(t)
                        } else {
                            self.md(t)
                        }
                    })
                    .collect();
                fr.set(*dst, v)
            }
            VecGather {
                dst, src, indices, ..
            } => {
                let x = fr.get(*src);
                let v = indices.iter().map(|i| x[*i as usize].clone()).collect();
                fr.set(*dst, v)
            }
            LdM { dst, addr, n: sz } => {
                let v = (0..n(sz) as u64)
                    .map(|i| self.load(dst.kind, addr + i))
                    .collect();
                fr.set(*dst, v)
            }
            StM { src, addr, .. } => {
                for (i, x) in fr.get(*src).into_iter().enumerate() {
                    self.mem[src.kind as usize].insert(addr + i as u64, x);
                }
            }
            LdMI { dst, addr, n: sz } => {
                let a = fr.get(ri(*addr))[0].to_u64().ok_or("negative address")?;
                let v = (0..n(sz) as u64)
                    .map(|i| self.load(dst.kind, a + i))
                    .collect();
                fr.set(*dst, v)
            }
            StMI { src, addr, .. } => {
                let a = fr.get(ri(*addr))[0].to_u64().ok_or("negative address")?;
                for (i, x) in fr.get(*src).into_iter().enumerate() {
                    self.mem[src.kind as usize].insert(a + i as u64, x);
                }
            }
            CheckIndex { idx, bound, site } => {
                let i = fr.get(ri(*idx))[0].clone();
                if i.is_negative() || i >= BigInt::from(*bound) {
                    return Err(format!(
                        "index {i} out of range [0, {bound}) at {}",
                        self.bc.strings[site.0 as usize]
                    ));
                }
            }
            Open { dst, src, .. } | OpenTo { dst, src, .. } => {
                let v = fr.get(s(*src));
                fr.set(c(*dst), v)
            }
            Input {
                dst,
                player,
                f,
                n: sz,
            } => {
                let mut v = Vec::new();
                for _ in 0..n(sz) {
                    let t = self
                        .inputs
                        .get_mut(player)
                        .and_then(|q| q.pop_front())
                        .ok_or_else(|| format!("party {player} ran out of input"))?;
                    let x = if *f > 0 {
                        let d: f64 = t.parse().map_err(|_| format!("bad input {t}"))?;
                        BigInt::from((d * 2f64.powi(*f as i32)).round() as i128)
                    } else {
                        t.parse::<BigInt>().map_err(|_| format!("bad input {t}"))?
                    };
                    v.push(self.md(x));
                }
                fr.set(s(*dst), v)
            }
            Ltz { dst, src, .. } => {
                let v = fr
                    .get(s(*src))
                    .iter()
                    .map(|x| BigInt::from(self.signed(x).is_negative() as i32))
                    .collect();
                fr.set(s(*dst), v)
            }
            Eqz { dst, src, .. } => {
                let v = fr
                    .get(s(*src))
                    .iter()
                    .map(|x| BigInt::from(self.md(x.clone()).is_zero() as i32))
                    .collect();
                fr.set(s(*dst), v)
            }
            Trunc { dst, src, m, .. } | TruncPr { dst, src, m, .. } => {
                let d = BigInt::one() << *m;
                let v = fr
                    .get(s(*src))
                    .iter()
                    .map(|x| self.md(self.signed(x).div_floor(&d)))
                    .collect();
                fr.set(s(*dst), v)
            }
            Mod2m { dst, src, m, .. } => {
                let d = BigInt::one() << *m;
                let v = fr
                    .get(s(*src))
                    .iter()
                    .map(|x| self.signed(x).mod_floor(&d))
                    .collect();
                fr.set(s(*dst), v)
            }
            BitDec { dsts, src, .. } => {
                let x = fr.get(s(*src));
                for (i, d) in dsts.iter().enumerate() {
                    let v = x
                        .iter()
                        .map(|e| {
                            let t = self.signed(e).mod_floor(&(BigInt::one() << 128));
                            (t >> i) & BigInt::one()
                        })
                        .collect();
                    fr.set(s(*d), v);
                }
            }
            FixDiv { dst, a, b, f, .. } => {
                let (x, y) = (fr.get(s(*a)), fr.get(s(*b)));
                let v = self.zip(&x, &y, |p, q| {
                    let (p, q) = (self.signed(p), self.signed(q));
                    if q.is_zero() {
                        return Ok(BigInt::zero());
                    }
                    Ok(self.md((p << *f) / q))
                })?;
                fr.set(s(*dst), v)
            }
            IntDiv { dst, a, b, .. } => {
                let (x, y) = (fr.get(s(*a)), fr.get(s(*b)));
                let v = self.zip(&x, &y, |p, q| {
                    let (p, q) = (self.signed(p), self.signed(q));
                    if q.is_zero() {
                        return Ok(BigInt::zero());
                    }
                    Ok(self.md(p / q))
                })?;
                fr.set(s(*dst), v)
            }
            // The reference applies the identity permutation (deterministic).
            GenShuffle { dst, .. } => fr.set(ri(*dst), vec![BigInt::zero()]),
            ApplyShuffle { dst, src, .. } => {
                let v = fr.get(s(*src));
                fr.set(s(*dst), v)
            }
            RandBit { dst, n: sz } => fr.set(s(*dst), vec![BigInt::one(); n(sz)]),
            RandInt { dst, n: sz, .. } => fr.set(s(*dst), vec![BigInt::from(7); n(sz)]),
            Triple { a, b, c: cc, n: sz } => {
                fr.set(s(*a), vec![BigInt::from(3); n(sz)]);
                fr.set(s(*b), vec![BigInt::from(5); n(sz)]);
                fr.set(s(*cc), vec![BigInt::from(15); n(sz)]);
            }
            Jmp { target } => return Ok(Ctl::Jump(target.0 as usize)),
            JmpNz { cond, target } => {
                if !fr.get(ri(*cond))[0].is_zero() {
                    return Ok(Ctl::Jump(target.0 as usize));
                }
            }
            JmpZ { cond, target } => {
                if fr.get(ri(*cond))[0].is_zero() {
                    return Ok(Ctl::Jump(target.0 as usize));
                }
            }
            Call { func, args, rets } => {
                let a: Vec<Vec<BigInt>> = args.iter().map(|r| fr.get(*r)).collect();
                let res = self.call(*func as usize, a)?;
                for (r, v) in rets.iter().zip(res) {
                    fr.set(*r, v);
                }
            }
            Return {} => return Ok(Ctl::Ret),
            Print { target, parts } => {
                if matches!(target, PrintTarget::Default | PrintTarget::Party(0)) {
                    for p in parts {
                        let t = self.part(fr, p);
                        self.out.push_str(&t);
                    }
                }
            }
            PublicInput { dst, n: sz } => {
                let mut v = Vec::new();
                for _ in 0..n(sz) {
                    let t = self
                        .public_inputs
                        .pop_front()
                        .ok_or("out of public input")?;
                    v.push(self.md(t.parse::<BigInt>().map_err(|_| "bad public input")?));
                }
                fr.set(c(*dst), v)
            }
            PlayerId { dst } => fr.set(ri(*dst), vec![BigInt::zero()]),
            NumPlayers { dst } => fr.set(ri(*dst), vec![BigInt::from(self.n_players)]),
            Crash { msg } => return Err(format!("crash: {}", self.bc.strings[msg.0 as usize])),
            Timer { .. } => {}
            Listen { .. }
            | Accept { .. }
            | CloseClient { .. }
            | SockRead { .. }
            | SockWrite { .. } => return Err("sockets are not simulated".into()),
        }
        Ok(Ctl::Next)
    }

    fn load(&self, kind: RegKind, a: u64) -> BigInt {
        self.mem[kind as usize].get(&a).cloned().unwrap_or_default()
    }

    fn bin(
        &self,
        fr: &mut Frame,
        d: AnyReg,
        a: AnyReg,
        b: AnyReg,
        f: impl Fn(BigInt, BigInt) -> BigInt,
    ) {
        let (x, y) = (fr.get(a), fr.get(b));
        assert_eq!(x.len(), y.len(), "operand sizes differ");
        let v = x
            .into_iter()
            .zip(y)
            .map(|(p, q)| self.md(f(p, q)))
            .collect();
        fr.set(d, v)
    }

    fn un(&self, fr: &mut Frame, d: AnyReg, a: AnyReg, f: impl Fn(BigInt) -> BigInt) {
        let v = fr.get(a).into_iter().map(|x| self.md(f(x))).collect();
        fr.set(d, v)
    }

    fn zip(
        &self,
        x: &[BigInt],
        y: &[BigInt],
        f: impl Fn(&BigInt, &BigInt) -> Result<BigInt, String>,
    ) -> Result<Vec<BigInt>, String> {
        if x.len() != y.len() {
            return Err(format!("operand sizes differ: {} and {}", x.len(), y.len()));
        }
        x.iter().zip(y).map(|(p, q)| f(p, q)).collect()
    }

    fn clear_op(&self, op: ClearOp, a: &BigInt, b: &BigInt) -> Result<BigInt, String> {
        let (x, y) = (self.signed(a), self.signed(b));
        let r = match op {
            ClearOp::Add => x + y,
            ClearOp::Sub => x - y,
            ClearOp::Mul => x * y,
            ClearOp::Div => {
                if y.is_zero() {
                    return Err("clear division by zero".into());
                }
                let inv = self.md(y).modpow(&(&self.p - 2), &self.p);
                x * inv
            }
            ClearOp::IntDiv => {
                if y.is_zero() {
                    return Err("clear division by zero".into());
                }
                x / y
            }
            ClearOp::Mod => {
                if y.is_zero() {
                    return Err("clear modulo by zero".into());
                }
                x % y
            }
            ClearOp::FloorDiv => x.div_floor(&y),
            ClearOp::FloorMod => x.mod_floor(&y),
            ClearOp::Shl => x << y.to_usize().unwrap_or(0),
            ClearOp::Shr => x >> y.to_usize().unwrap_or(0),
            ClearOp::And => x & y,
            ClearOp::Or => x | y,
            ClearOp::Xor => x ^ y,
        };
        Ok(self.md(r))
    }

    fn part(&self, fr: &Frame, p: &PrintPart) -> String {
        let list = |v: Vec<String>| {
            if v.len() == 1 {
                v[0].clone()
            } else {
                format!("[{}]", v.join(", "))
            }
        };
        match p {
            PrintPart::Text(t) => self.bc.strings[t.0 as usize].clone(),
            PrintPart::Clear(r, _) => list(
                fr.get(c(*r))
                    .iter()
                    .map(|x| self.signed(x).to_string())
                    .collect(),
            ),
            PrintPart::Int(r, _) => list(fr.get(ri(*r)).iter().map(|x| x.to_string()).collect()),
            PrintPart::Fix {
                reg, f, precision, ..
            } => list(
                fr.get(c(*reg))
                    .iter()
                    .map(|x| {
                        let v = self.signed(x).to_f64().unwrap() / 2f64.powi(*f as i32);
                        fmt_sig(v, *precision as usize)
                    })
                    .collect(),
            ),
        }
    }
}

enum Ctl {
    Next,
    Jump(usize),
    Ret,
}

fn cmp(op: CmpOp, a: &BigInt, b: &BigInt) -> BigInt {
    BigInt::from(match op {
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
    } as i32)
}

fn int_op(op: IntOp, a: &BigInt, b: &BigInt) -> Result<BigInt, String> {
    let (x, y) = (a.to_i64().unwrap(), b.to_i64().unwrap());
    Ok(BigInt::from(match op {
        IntOp::Add => x.wrapping_add(y),
        IntOp::Sub => x.wrapping_sub(y),
        IntOp::Mul => x.wrapping_mul(y),
        IntOp::Div => x.checked_div(y).ok_or("regint division by zero")?,
        IntOp::Mod => x.checked_rem(y).ok_or("regint modulo by zero")?,
        IntOp::Shl => x.wrapping_shl(y as u32),
        IntOp::Shr => x.wrapping_shr(y as u32),
        IntOp::And => x & y,
        IntOp::Or => x | y,
        IntOp::Xor => x ^ y,
    }))
}

/// `precision` significant digits, trailing zeros removed (MP-SPDZ's cfix output).
pub fn fmt_sig(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    let decimals = (precision as i32 - 1 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Compiles and runs a program in the clear; returns the printed output.
pub fn run(src: &str, inputs: &[(u32, &str)]) -> Result<String, String> {
    run_with(src, inputs, "")
}

pub fn run_with(src: &str, inputs: &[(u32, &str)], public: &str) -> Result<String, String> {
    let p = lang::compile(src, "test.mpc", &[], &lang::CompileOptions::default())
        .map_err(|e| e.to_string())?;
    let mut vm = ClearVm::new(&p.bytecode);
    for (player, text) in inputs {
        vm.inputs
            .entry(*player)
            .or_default()
            .extend(text.split_whitespace().map(String::from));
    }
    vm.public_inputs
        .extend(public.split_whitespace().map(String::from));
    let r = vm.run();
    match r {
        Ok(()) => Ok(vm.out),
        Err(e) => Err(format!("{}<error: {e}>", vm.out)),
    }
}
