//! Local (communication-free) operations on materialised shares. The same functions serve the
//! eager path (all inputs materialised when the instruction runs) and the DAG's local nodes.

use field::Fp;
use protocol::{ShareCtx, ShareVec};

/// A local secret operation. Clear operands are captured by value when the instruction runs.
#[derive(Clone, Debug)]
pub(crate) enum LocalOp {
    /// inputs[0] + inputs[1]
    Add,
    /// inputs[0] − inputs[1]
    Sub,
    /// s + c
    AddC(Vec<Fp>),
    /// s − c
    SubC(Vec<Fp>),
    /// c − s
    SubCS(Vec<Fp>),
    /// s · c
    MulC(Vec<Fp>),
    /// s + imm
    AddI(Fp),
    /// s · imm
    MulI(Fp),
    /// −s
    Neg,
    /// s[0] repeated to the output length.
    Splat,
    /// Sums of consecutive chunks of the given length.
    Sum { chunk: usize },
}

/// Evaluates `op` on materialised inputs; `len` is the output length.
pub(crate) fn eval(ctx: &ShareCtx, op: &LocalOp, inputs: &[ShareVec], len: usize) -> ShareVec {
    let a = &inputs[0];
    match op {
        LocalOp::Add => a.add(&inputs[1]),
        LocalOp::Sub => a.sub(&inputs[1]),
        LocalOp::AddC(c) => ctx.add_public(a, c),
        LocalOp::SubC(c) => {
            let neg: Vec<Fp> = c.iter().map(|&x| -x).collect();
            ctx.add_public(a, &neg)
        }
        LocalOp::SubCS(c) => ctx.public_sub(c, a),
        LocalOp::MulC(c) => a.mul_public(c),
        LocalOp::AddI(x) => ctx.add_scalar(a, *x),
        LocalOp::MulI(x) => a.scale(*x),
        LocalOp::Neg => a.neg(),
        LocalOp::Splat => {
            let (v, m) = (a.value_shares()[0], a.mac_shares()[0]);
            ShareVec::from_parts(vec![v; len], vec![m; len])
        }
        LocalOp::Sum { chunk } => {
            let (vs, ms) = (a.value_shares(), a.mac_shares());
            let mut v = Vec::with_capacity(len);
            let mut m = Vec::with_capacity(len);
            for i in 0..len {
                let r = i * chunk..(i + 1) * chunk;
                v.push(vs[r.clone()].iter().copied().sum());
                m.push(ms[r].iter().copied().sum());
            }
            ShareVec::from_parts(v, m)
        }
    }
}
