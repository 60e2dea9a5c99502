//! Vector shaping: slices, concatenations, splats, chunk sums and gathers, for every register
//! kind. Secret vectors stay lazy (pieces are rearranged, sums and splats become local nodes).

use field::Fp;
use lang::bytecode::{AnyReg, RegKind, C, R, S};
use protocol::prep::Preprocessing;
use protocol::ShareVec;

use crate::error::Result;
use crate::local::LocalOp;
use crate::machine::Machine;
use crate::regs::AnyVal;
use crate::value::{ClearVal, SecVec};

impl<P: Preprocessing> Machine<'_, P> {
    /// `vslice`: dst = src[start..start + n].
    pub(crate) fn vec_slice(
        &mut self,
        dst: AnyReg,
        src: AnyReg,
        start: usize,
        n: usize,
    ) -> Result<()> {
        self.same_kind(dst, src)?;
        let whole = self.any_get_whole(src)?;
        let len = whole.len();
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
        self.any_set(dst, v);
        Ok(())
    }

    /// `vconcat`: dst = srcs[0] ++ srcs[1] ++ ...
    pub(crate) fn vec_concat(&mut self, dst: AnyReg, srcs: &[AnyReg], sizes: &[u32]) -> Result<()> {
        let mut parts = Vec::with_capacity(srcs.len());
        for (s, &k) in srcs.iter().zip(sizes) {
            self.same_kind(dst, *s)?;
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
        self.any_set(dst, v);
        Ok(())
    }

    /// `vsplat`: dst[i] = src[0] for i < n.
    pub(crate) fn vec_splat(&mut self, dst: AnyReg, src: AnyReg, n: usize) -> Result<()> {
        self.same_kind(dst, src)?;
        match self.any_get_whole(src)? {
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
            AnyVal::R(v) => self.r_set(R(dst.idx), vec![v.first().copied().unwrap_or(0); n]),
        }
        Ok(())
    }

    /// `vsum`: dst[i] = sum of src[i·chunk..(i + 1)·chunk].
    pub(crate) fn vec_sum(
        &mut self,
        dst: AnyReg,
        src: AnyReg,
        chunk: usize,
        n: usize,
    ) -> Result<()> {
        self.same_kind(dst, src)?;
        match self.any_get(src, chunk * n)? {
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
        Ok(())
    }

    /// `vgather`: dst[i] = src[indices[i]].
    pub(crate) fn vec_gather(
        &mut self,
        dst: AnyReg,
        src: AnyReg,
        indices: &[u32],
        n: usize,
    ) -> Result<()> {
        self.same_kind(dst, src)?;
        if indices.len() != n {
            return Err(self.bad("gather with a wrong number of indices"));
        }
        let whole = self.any_get_whole(src)?;
        let len = whole.len();
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
        self.any_set(dst, v);
        Ok(())
    }
}
