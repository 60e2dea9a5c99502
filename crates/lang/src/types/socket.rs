//! Client sockets: reading and writing messages of values.

use super::array::load_all;
use super::conv::{convert, to_type};
use crate::bytecode::*;
use crate::diagnostics::{type_err, Result};
use crate::eval::Interp;
use crate::values::*;

pub(super) fn sock_kind_for(t: RtType, shares_only: bool) -> SockKind {
    match t.kind() {
        RegKind::Secret if shares_only => SockKind::SecretShare,
        RegKind::Secret => SockKind::SecretWithMac,
        RegKind::Clear => SockKind::Clear,
        RegKind::Int => SockKind::Int,
    }
}

pub(super) fn client_reg<'a>(it: &mut Interp<'a>, client: &Value<'a>) -> Result<RegRef> {
    let r = to_type(it, client, RtType::Regint, 1)?;
    Ok(r.reg)
}

pub fn socket_write<'a>(
    it: &mut Interp<'a>,
    kind: SockKind,
    client: &Value<'a>,
    vals: &[Rt],
    msg_type: i64,
) -> Result<()> {
    if vals.is_empty() {
        return Ok(());
    }
    let n = vals[0].n;
    if vals.iter().any(|v| v.n != n) {
        return Err(type_err(
            "all values written in one socket message must have the same vector size",
        ));
    }
    let c = client_reg(it, client)?;
    let mut srcs = Vec::new();
    for v in vals {
        srcs.push(it.b.any(v.reg)?);
    }
    let cr = it.b.r(c)?;
    it.emit(Instr::SockWrite {
        kind,
        client: cr,
        msg_type,
        srcs,
        n: Size(n),
    })
}

pub fn socket_read<'a>(
    it: &mut Interp<'a>,
    kind: SockKind,
    ty: RtType,
    client: &Value<'a>,
    count: usize,
    size: u32,
) -> Result<Vec<Rt>> {
    let c = client_reg(it, client)?;
    let mut outs = Vec::new();
    let mut dsts = Vec::new();
    for _ in 0..count {
        let o = it.new_rt(ty, size);
        dsts.push(it.b.any(o.reg)?);
        outs.push(o);
    }
    let cr = it.b.r(c)?;
    it.emit(Instr::SockRead {
        kind,
        client: cr,
        dsts,
        n: Size(size),
    })?;
    Ok(outs)
}

/// Values to write: a list/tuple of values, an Array, or a single value, converted to `ty`.
pub(super) fn values_of<'a>(it: &mut Interp<'a>, v: &Value<'a>, ty: RtType) -> Result<Vec<Rt>> {
    match v {
        Value::List(_) | Value::Tuple(_) => {
            let items = it.collect(v)?;
            let mut out = Vec::new();
            for x in items {
                match &x {
                    Value::Array(a) => {
                        let r = load_all(it, a)?;
                        out.push(convert(it, r, ty)?)
                    }
                    _ => out.push(to_type(it, &x, ty, 1)?),
                }
            }
            Ok(out)
        }
        Value::Array(a) => {
            let r = load_all(it, a)?;
            let r = convert(it, r, ty)?;
            // An Array's elements are separate values of one message.
            let mut out = Vec::new();
            for i in 0..r.n {
                out.push(it.vec_slice(r, i, 1)?);
            }
            Ok(out)
        }
        other => Ok(vec![to_type(it, other, ty, 1)?]),
    }
}
