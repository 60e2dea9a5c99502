//! `mpc_math` on secret fixed-point values, built from the engine's kernels:
//! exp2 splits y into integer and fraction (2^n from the bits of n, 2^frac by a polynomial);
//! log2 normalises x with a bit decomposition and a prefix OR (2^e · m, m in [1, 2)) and
//! evaluates a polynomial on m - 1. exp, log, sqrt, pow, sigmoid and tanh are built on these.

use ruff_python_ast::Operator;

use super::array::gather;
use super::conv::convert;
use crate::bytecode::*;
use crate::diagnostics::{type_err, Result};
use crate::eval::Interp;
use crate::values::*;

/// Least-squares fit of 2^t on [0, 1], degree 5 (max error 1.1e-7).
const EXP2_POLY: [f64; 6] = [
    0.9999998957624473,
    0.6931546200329586,
    0.2401407698777535,
    0.05586328321523445,
    0.008946214066462345,
    0.001895107520282873,
];

/// Least-squares fit of log2(1 + u) on [0, 1], degree 7 (max error 3.2e-7).
const LOG2_POLY: [f64; 8] = [
    3.197069595728408e-07,
    1.4426521101029708,
    -0.7203865965404047,
    0.4724994314370402,
    -0.32311566484240967,
    0.19042043259442062,
    -0.07684843472967057,
    0.014778637308748012,
];

/// Least-squares fit of sin(2πv) / v as a polynomial in v² on v ∈ [0, 1/4] (a quarter period;
/// max error 3.7e-9).
const SIN_POLY: [f64; 5] = [
    6.283185189134398,
    -41.34166012589252,
    81.60126759000624,
    -76.55502727478077,
    39.57222647824822,
];

/// Least-squares fit of atan(z) / z as a polynomial in z² on z ∈ [0, 1] (max error 2.7e-7).
const ATAN_POLY: [f64; 7] = [
    0.9999966348356645,
    -0.3331830329990081,
    0.19813216763770858,
    -0.13247533977717577,
    0.07981139173388134,
    -0.03372608728896514,
    0.006842670698550126,
];

fn rt(v: Value) -> Result<Rt> {
    match v {
        Value::Rt(r) => Ok(r),
        other => Err(type_err(format!(
            "expected a run-time value, got {}",
            other.type_name()
        ))),
    }
}

/// The sfix operand of an mpc_math function (sint/cint/cfix are converted).
fn sfix_of<'a>(it: &mut Interp<'a>, x: &Value<'a>) -> Result<Rt> {
    let ty = match x {
        Value::Rt(r) => match r.ty {
            RtType::Sfix { .. } => r.ty,
            RtType::Cfix { f, k } => RtType::Sfix { f, k },
            _ => it.default_sfix(),
        },
        _ => it.default_sfix(),
    };
    super::conv::to_type(it, x, ty, 1).and_then(|r| {
        if r.ty.is_secret() {
            Ok(r)
        } else {
            convert(it, r, ty)
        }
    })
}

/// Horner evaluation of a polynomial with float coefficients at a fixed-point x.
fn poly<'a>(it: &mut Interp<'a>, x: Rt, coeffs: &[f64]) -> Result<Rt> {
    let n = coeffs.len();
    let mut acc = it.binop(Value::Rt(x), Operator::Mult, Value::Float(coeffs[n - 1]))?;
    for c in coeffs[1..n - 1].iter().rev() {
        acc = it.binop(acc, Operator::Add, Value::Float(*c))?;
        acc = it.binop(acc, Operator::Mult, Value::Rt(x))?;
    }
    rt(it.binop(acc, Operator::Add, Value::Float(coeffs[0]))?)
}

/// z · P(z²) for an odd function's fit.
fn odd_poly<'a>(it: &mut Interp<'a>, z: Rt, coeffs: &[f64]) -> Result<Rt> {
    let z2 = rt(it.binop(Value::Rt(z), Operator::Mult, Value::Rt(z))?)?;
    let p = poly(it, z2, coeffs)?;
    rt(it.binop(Value::Rt(p), Operator::Mult, Value::Rt(z))?)
}

/// floor(x) of an sfix, as an sfix (exact truncation).
fn floor_fix<'a>(it: &mut Interp<'a>, x: Rt) -> Result<Rt> {
    let (f, k) = x.ty.fk().expect("sfix");
    let src = it.b.s(x.reg)?;
    let out = emit_s(it, x.n, |d| Instr::Trunc {
        dst: d,
        src,
        k,
        m: f,
        n: Size(x.n),
    })?;
    let v = super::arith::mul_si(it, out, 1i128 << f)?;
    Ok(Rt { ty: x.ty, ..v })
}

/// sin(2π·t) for an sfix t (t = x / 2π, or shifted by a quarter period for cos): the
/// fraction of t picks the quadrant with three comparisons, and a polynomial in the angle
/// reduced to [0, π/2] gives the value (MP-SPDZ's `sin`/`cos` reduce the same way).
fn sin_turns<'a>(it: &mut Interp<'a>, t: Rt) -> Result<Rt> {
    let fl = floor_fix(it, t)?;
    let fr = rt(it.binop(Value::Rt(t), Operator::Sub, Value::Rt(fl))?)?;
    let fv = Value::Rt(fr);
    let q1 = it.compare(&fv, ruff_python_ast::CmpOp::GtE, &Value::Float(0.25))?;
    let s = it.compare(&fv, ruff_python_ast::CmpOp::GtE, &Value::Float(0.5))?;
    let q3 = it.compare(&fv, ruff_python_ast::CmpOp::GtE, &Value::Float(0.75))?;
    // Second or fourth quarter: q = [t ≥ 1/4] − [t ≥ 1/2] + [t ≥ 3/4].
    let q = it.binop(q1, Operator::Sub, s.clone())?;
    let q = it.binop(q, Operator::Add, q3)?;
    // u = fr − s/2 ∈ [0, 1/2); v = u or 1/2 − u ∈ [0, 1/4].
    let half_s = it.binop(s.clone(), Operator::Mult, Value::Float(-0.5))?;
    let u = it.binop(fv, Operator::Add, half_s)?;
    let two_u = it.binop(u.clone(), Operator::Mult, Value::int(-2))?;
    let refl = it.binop(two_u, Operator::Add, Value::Float(0.5))?;
    let shift = it.binop(q, Operator::Mult, refl)?;
    let v = rt(it.binop(u, Operator::Add, shift)?)?;
    let p = odd_poly(it, v, &SIN_POLY)?;
    // Negative in the second half period.
    let sign = it.binop(s, Operator::Mult, Value::int(-2))?;
    let sign = it.binop(sign, Operator::Add, Value::int(1))?;
    rt(it.binop(Value::Rt(p), Operator::Mult, sign)?)
}

/// atan of an sfix: odd symmetry, atan(z) = π/2 − atan(1/z) for z > 1, a polynomial on [0, 1].
fn atan_fix<'a>(it: &mut Interp<'a>, x: Rt) -> Result<Rt> {
    let xv = Value::Rt(x);
    let neg = it.compare(&xv, ruff_python_ast::CmpOp::Lt, &Value::int(0))?;
    let sign = it.binop(neg, Operator::Mult, Value::int(-2))?;
    let sign = it.binop(sign, Operator::Add, Value::int(1))?;
    let ax = it.binop(xv, Operator::Mult, sign.clone())?;
    let big = it.compare(&ax, ruff_python_ast::CmpOp::Gt, &Value::int(1))?;
    // 1/|x| is computed for every element and selected away where |x| ≤ 1 (a division by
    // zero gives an unspecified value there, never an error).
    let inv = it.binop(Value::int(1), Operator::Div, ax.clone())?;
    let z = rt(super::arith::if_else(it, big.clone(), inv, ax)?)?;
    let r = odd_poly(it, z, &ATAN_POLY)?;
    let rv = Value::Rt(r);
    let neg_r = it.binop(rv.clone(), Operator::Mult, Value::int(-1))?;
    let co = it.binop(
        neg_r,
        Operator::Add,
        Value::Float(std::f64::consts::FRAC_PI_2),
    )?;
    let r = super::arith::if_else(it, big, co, rv)?;
    rt(it.binop(r, Operator::Mult, sign)?)
}

fn sint_of(r: Rt) -> Rt {
    Rt {
        ty: RtType::Sint,
        ..r
    }
}

fn emit_s(it: &mut Interp, n: u32, f: impl FnOnce(S) -> Instr) -> Result<Rt> {
    let out = it.new_rt(RtType::Sint, n);
    let d = it.b.s(out.reg)?;
    it.emit(f(d))?;
    Ok(out)
}

/// 2^y for an sfix y.
pub fn exp2<'a>(it: &mut Interp<'a>, y: Rt) -> Result<Rt> {
    let (f, k) = y.ty.fk().expect("sfix");
    let n_el = y.n;
    let yv = it.b.s(y.reg)?;
    // n = floor(y), frac = y - n in [0, 1).
    let n = emit_s(it, n_el, |d| Instr::Trunc {
        dst: d,
        src: yv,
        k,
        m: f,
        n: Size(n_el),
    })?;
    let nsh = super::arith::mul_si(it, n, 1i128 << f)?;
    let frac = it.binop(Value::Rt(sint_of(y)), Operator::Sub, Value::Rt(nsh))?;
    let frac = Rt {
        ty: y.ty,
        ..rt(frac)?
    };
    let p = poly(it, frac, &EXP2_POLY)?;
    // 2^n = 2^(n + f) / 2^f; n + f < 0 underflows to 0.
    let m = super::arith::add_si(it, n, f as i128)?;
    let ms = it.b.s(m.reg)?;
    let neg = emit_s(it, n_el, |d| Instr::Ltz {
        dst: d,
        src: ms,
        k,
        n: Size(n_el),
    })?;
    let pos = super::arith::one_minus(it, neg)?;
    let m0 = rt(it.binop(
        Value::Rt(sint_of(m)),
        Operator::Mult,
        Value::Rt(sint_of(pos)),
    )?)?;
    let nbits = 64 - (k as u64).leading_zeros();
    let mut dsts = Vec::new();
    let mut bits = Vec::new();
    for _ in 0..nbits {
        let b = it.new_rt(RtType::Sint, n_el);
        dsts.push(it.b.s(b.reg)?);
        bits.push(b);
    }
    let m0s = it.b.s(m0.reg)?;
    it.emit(Instr::BitDec {
        dsts,
        src: m0s,
        k,
        n: Size(n_el),
    })?;
    // 2^m0 = prod_i (1 + b_i (2^(2^i) - 1)), as a balanced product tree.
    let mut factors = Vec::new();
    for (i, b) in bits.iter().enumerate() {
        let scale = (1i128 << (1u32 << i).min(100)) - 1;
        let t = super::arith::mul_si(it, *b, scale)?;
        factors.push(super::arith::add_si(it, t, 1)?);
    }
    while factors.len() > 1 {
        let mut next = Vec::new();
        for pair in factors.chunks(2) {
            if pair.len() == 2 {
                next.push(rt(it.binop(
                    Value::Rt(pair[0]),
                    Operator::Mult,
                    Value::Rt(pair[1]),
                )?)?);
            } else {
                next.push(pair[0]);
            }
        }
        factors = next;
    }
    let pow = factors[0];
    let prod = rt(it.binop(Value::Rt(pow), Operator::Mult, Value::Rt(sint_of(p)))?)?;
    let ps = it.b.s(prod.reg)?;
    let kk = k + f + 2;
    let r = emit_s(it, n_el, |d| Instr::Trunc {
        dst: d,
        src: ps,
        k: kk,
        m: f,
        n: Size(n_el),
    })?;
    let r = rt(it.binop(Value::Rt(r), Operator::Mult, Value::Rt(sint_of(pos)))?)?;
    Ok(Rt { ty: y.ty, ..r })
}

/// log2(x) for a positive sfix x (x <= 0 gives garbage).
pub fn log2<'a>(it: &mut Interp<'a>, x: Rt) -> Result<Rt> {
    let (f, k) = x.ty.fk().expect("sfix");
    if x.n != 1 {
        return Err(crate::diagnostics::unsupported(
            "mpc_math.log/sqrt on vectors",
        ));
    }
    let xv = it.b.s(x.reg)?;
    // Bits of x.v, LSB first.
    let mut dsts = Vec::new();
    let mut bits = Vec::new();
    for _ in 0..k {
        let b = it.new_rt(RtType::Sint, 1);
        dsts.push(it.b.s(b.reg)?);
        bits.push(b);
    }
    it.emit(Instr::BitDec {
        dsts,
        src: xv,
        k,
        n: Size(1),
    })?;
    let zero = it.load_const(RtType::Sint, 0, 1)?;
    let mut all = bits.clone();
    all.push(zero);
    let bvec = it.vec_concat(&all)?; // size k + 1, last element 0
                                     // Prefix OR from the top: P_i = OR_{j >= i} b_j (Kogge-Stone, log2(k) rounds).
    let kk = k as usize;
    let mut p = gather(it, bvec, (0..=k).collect())?;
    let mut d = 1usize;
    while d < kk {
        let idx: Vec<u32> = (0..=kk)
            .map(|i| {
                if i + d <= kk {
                    (i + d) as u32
                } else {
                    kk as u32
                }
            })
            .collect();
        let shifted = gather(it, p, idx)?;
        let prod = rt(it.binop(Value::Rt(p), Operator::Mult, Value::Rt(shifted))?)?;
        let sum = rt(it.binop(Value::Rt(p), Operator::Add, Value::Rt(shifted))?)?;
        p = rt(it.binop(Value::Rt(sum), Operator::Sub, Value::Rt(prod))?)?;
        d *= 2;
    }
    // One-hot of the top bit: t_i = P_i - P_{i+1}.
    let lo = gather(it, p, (0..k).collect())?;
    let hi = gather(it, p, (1..=k).collect())?;
    let t = rt(it.binop(Value::Rt(lo), Operator::Sub, Value::Rt(hi))?)?;
    // h = sum i * t_i;  scale = sum 2^(k-1-i) * t_i.
    let idx = it.new_rt(RtType::Regint, k);
    let ir = it.b.r(idx.reg)?;
    it.emit(Instr::IncR {
        dst: ir,
        base: 0,
        step: 1,
        repeat: 1,
        wrap: 0,
        n: Size(k),
    })?;
    let idx_c = convert(it, idx, RtType::Cint)?;
    let ones = it.load_const(RtType::Cint, 1, k)?;
    let sh = it.new_rt(RtType::Regint, k);
    let shr = it.b.r(sh.reg)?;
    it.emit(Instr::IncR {
        dst: shr,
        base: k as i64 - 1,
        step: -1,
        repeat: 1,
        wrap: 0,
        n: Size(k),
    })?;
    let sh_c = convert(it, sh, RtType::Cint)?;
    let pw = it.new_rt(RtType::Cint, k);
    let (pwd, o, s) = (it.b.c(pw.reg)?, it.b.c(ones.reg)?, it.b.c(sh_c.reg)?);
    it.emit(Instr::ClearBin {
        op: ClearOp::Shl,
        dst: pwd,
        a: o,
        b: s,
        n: Size(k),
    })?;
    let ti = rt(it.binop(Value::Rt(t), Operator::Mult, Value::Rt(idx_c))?)?;
    let tp = rt(it.binop(Value::Rt(t), Operator::Mult, Value::Rt(pw))?)?;
    let h = vsum(it, ti)?;
    let scale = vsum(it, tp)?;
    // w = x.v * 2^(k-1-h) in [2^(k-1), 2^k); mantissa m = w / 2^(k-1-f) in [1, 2).
    let w = rt(it.binop(Value::Rt(sint_of(x)), Operator::Mult, Value::Rt(scale))?)?;
    let ws = it.b.s(w.reg)?;
    let m = emit_s(it, 1, |dd| Instr::Trunc {
        dst: dd,
        src: ws,
        k: k + 1,
        m: k - 1 - f,
        n: Size(1),
    })?;
    let u = super::arith::add_si(it, m, -(1i128 << f))?;
    let u = Rt { ty: x.ty, ..u };
    let lp = poly(it, u, &LOG2_POLY)?;
    // log2 x = (h - f) + log2(m)
    let e = super::arith::add_si(it, h, -(f as i128))?;
    let e_fix = super::arith::mul_si(it, e, 1i128 << f)?;
    let r = rt(it.binop(Value::Rt(e_fix), Operator::Add, Value::Rt(sint_of(lp)))?)?;
    Ok(Rt { ty: x.ty, ..r })
}

fn vsum(it: &mut Interp, v: Rt) -> Result<Rt> {
    let out = it.new_rt(RtType::Sint, 1);
    let (d, s) = (it.b.any(out.reg)?, it.b.any(v.reg)?);
    it.emit(Instr::VecSum {
        dst: d,
        src: s,
        chunk: v.n,
        n: Size(1),
    })?;
    Ok(out)
}

/// The mpc_math functions on run-time values.
pub fn call<'a>(
    it: &mut Interp<'a>,
    name: &str,
    x: &Value<'a>,
    y: Option<&Value<'a>>,
) -> Result<Option<Value<'a>>> {
    let ln2 = std::f64::consts::LN_2;
    let log2e = std::f64::consts::LOG2_E;
    let xs = sfix_of(it, x)?;
    let v = match name {
        "exp2_fx" => exp2(it, xs)?,
        "exp" => {
            let y = rt(it.binop(Value::Rt(xs), Operator::Mult, Value::Float(log2e))?)?;
            exp2(it, y)?
        }
        "log2_fx" => log2(it, xs)?,
        "log" | "log_fx" => {
            let l = log2(it, xs)?;
            match y {
                None => rt(it.binop(Value::Rt(l), Operator::Mult, Value::Float(ln2))?)?,
                Some(b) => match crate::eval::ops::as_f64(b) {
                    Some(base) => {
                        rt(it.binop(Value::Rt(l), Operator::Div, Value::Float(base.log2()))?)?
                    }
                    None => {
                        let bs = sfix_of(it, b)?;
                        let lb = log2(it, bs)?;
                        rt(it.binop(Value::Rt(l), Operator::Div, Value::Rt(lb))?)?
                    }
                },
            }
        }
        "sqrt" => {
            let l = log2(it, xs)?;
            let h = rt(it.binop(Value::Rt(l), Operator::Mult, Value::Float(0.5))?)?;
            exp2(it, h)?
        }
        "InvertSqrt" => {
            let l = log2(it, xs)?;
            let h = rt(it.binop(Value::Rt(l), Operator::Mult, Value::Float(-0.5))?)?;
            exp2(it, h)?
        }
        "pow_fx" => {
            let Some(e) = y else {
                return Err(type_err("pow_fx(x, y) needs an exponent"));
            };
            let l = log2(it, xs)?;
            let p = rt(it.binop(Value::Rt(l), Operator::Mult, e.clone())?)?;
            exp2(it, p)?
        }
        "sigmoid" | "tanh" => {
            // sigmoid(x) = 1 / (1 + 2^(-|x| log2 e)) for x >= 0, 1 - that for x < 0:
            // the exponential never overflows.
            let z = if name == "tanh" {
                rt(it.binop(Value::Rt(xs), Operator::Mult, Value::int(2))?)?
            } else {
                xs
            };
            let neg = rt(it.compare(&Value::Rt(z), ruff_python_ast::CmpOp::Lt, &Value::int(0))?)?;
            let sign = rt(it.binop(Value::Rt(neg), Operator::Mult, Value::int(-2))?)?;
            let sign = super::arith::add_si(it, sign, 1)?; // +1 or -1
            let absz = rt(it.binop(Value::Rt(z), Operator::Mult, Value::Rt(sign))?)?;
            let e = rt(it.binop(Value::Rt(absz), Operator::Mult, Value::Float(-log2e))?)?;
            let ex = exp2(it, e)?;
            let den = rt(it.binop(Value::Rt(ex), Operator::Add, Value::int(1))?)?;
            let s = rt(it.binop(Value::int(1), Operator::Div, Value::Rt(den))?)?;
            let flipped = rt(it.binop(Value::int(1), Operator::Sub, Value::Rt(s))?)?;
            let sig = rt(super::arith::if_else(
                it,
                Value::Rt(neg),
                Value::Rt(flipped),
                Value::Rt(s),
            )?)?;
            if name == "tanh" {
                let t = rt(it.binop(Value::Rt(sig), Operator::Mult, Value::int(2))?)?;
                rt(it.binop(Value::Rt(t), Operator::Sub, Value::int(1))?)?
            } else {
                sig
            }
        }
        "sin" | "cos" | "tan" => {
            let tau = std::f64::consts::TAU;
            let t = rt(it.binop(Value::Rt(xs), Operator::Mult, Value::Float(1.0 / tau))?)?;
            let sin = sin_turns(it, t)?;
            if name == "sin" {
                sin
            } else {
                let tc = rt(it.binop(Value::Rt(t), Operator::Add, Value::Float(0.25))?)?;
                let cos = sin_turns(it, tc)?;
                if name == "cos" {
                    cos
                } else {
                    rt(it.binop(Value::Rt(sin), Operator::Div, Value::Rt(cos))?)?
                }
            }
        }
        "atan" => atan_fix(it, xs)?,
        "asin" | "acos" => {
            // MP-SPDZ: asin(x) = atan(x / sqrt(1 − x²)), acos(x) = π/2 − asin(x).
            let xv = Value::Rt(xs);
            let x2 = it.binop(xv.clone(), Operator::Mult, xv.clone())?;
            let nx2 = it.binop(x2, Operator::Mult, Value::int(-1))?;
            let one_m = rt(it.binop(nx2, Operator::Add, Value::int(1))?)?;
            let l = log2(it, one_m)?;
            let h = rt(it.binop(Value::Rt(l), Operator::Mult, Value::Float(0.5))?)?;
            let root = exp2(it, h)?;
            let q = rt(it.binop(xv, Operator::Div, Value::Rt(root))?)?;
            let a = atan_fix(it, q)?;
            if name == "asin" {
                a
            } else {
                let na = it.binop(Value::Rt(a), Operator::Mult, Value::int(-1))?;
                rt(it.binop(na, Operator::Add, Value::Float(std::f64::consts::FRAC_PI_2))?)?
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(Value::Rt(v)))
}
