//! Arithmetic on public values: clear (field elements read as signed integers in (−p/2, p/2))
//! and regint (64-bit two's complement, wrapping, C division), as docs/LANG.md specifies.

use field::Fp;
use lang::bytecode::{ClearOp, CmpOp, IntOp};

/// Why a public operation failed.
pub(crate) enum ArithError {
    DivisionByZero,
    Other(String),
}

fn cmp<T: Ord>(op: CmpOp, a: T, b: T) -> i64 {
    let r = match op {
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
    };
    r as i64
}

/// Signed comparison of clear values.
pub(crate) fn clear_cmp(op: CmpOp, a: Fp, b: Fp) -> i64 {
    cmp(op, a.to_signed(), b.to_signed())
}

pub(crate) fn int_cmp(op: CmpOp, a: i64, b: i64) -> i64 {
    cmp(op, a, b)
}

fn shift_amount(b: i128) -> Result<u32, ArithError> {
    u32::try_from(b)
        .map_err(|_| ArithError::Other(format!("shift by a negative or huge amount ({b})")))
}

pub(crate) fn clear_bin(op: ClearOp, a: Fp, b: Fp) -> Result<Fp, ArithError> {
    let (x, y) = (a.to_signed(), b.to_signed());
    let nonzero = || {
        if y == 0 {
            Err(ArithError::DivisionByZero)
        } else {
            Ok(())
        }
    };
    Ok(match op {
        ClearOp::Add => a + b,
        ClearOp::Sub => a - b,
        ClearOp::Mul => a * b,
        ClearOp::Div => a * b.inverse().ok_or(ArithError::DivisionByZero)?,
        ClearOp::IntDiv => {
            nonzero()?;
            Fp::from_i128(x / y)
        }
        ClearOp::Mod => {
            nonzero()?;
            Fp::from_i128(x % y)
        }
        ClearOp::FloorDiv => {
            nonzero()?;
            let q = x / y;
            let q = if x % y != 0 && ((x < 0) != (y < 0)) {
                q - 1
            } else {
                q
            };
            Fp::from_i128(q)
        }
        ClearOp::FloorMod => {
            nonzero()?;
            let r = x % y;
            let r = if r != 0 && ((r < 0) != (y < 0)) {
                r + y
            } else {
                r
            };
            Fp::from_i128(r)
        }
        ClearOp::Shl => a * Fp::TWO.pow(shift_amount(y)? as u128),
        ClearOp::Shr => {
            let s = shift_amount(y)?;
            Fp::from_i128(if s >= 127 { x >> 127 } else { x >> s })
        }
        ClearOp::And => Fp::from_i128(x & y),
        ClearOp::Or => Fp::from_i128(x | y),
        ClearOp::Xor => Fp::from_i128(x ^ y),
    })
}

pub(crate) fn int_bin(op: IntOp, a: i64, b: i64) -> Result<i64, ArithError> {
    let shift = |b: i64| -> Result<u32, ArithError> {
        u32::try_from(b).map_err(|_| ArithError::Other(format!("shift by a negative amount ({b})")))
    };
    Ok(match op {
        IntOp::Add => a.wrapping_add(b),
        IntOp::Sub => a.wrapping_sub(b),
        IntOp::Mul => a.wrapping_mul(b),
        IntOp::Div => {
            if b == 0 {
                return Err(ArithError::DivisionByZero);
            }
            a.wrapping_div(b)
        }
        IntOp::Mod => {
            if b == 0 {
                return Err(ArithError::DivisionByZero);
            }
            a.wrapping_rem(b)
        }
        IntOp::Shl => {
            let s = shift(b)?;
            if s >= 64 {
                0
            } else {
                a.wrapping_shl(s)
            }
        }
        IntOp::Shr => {
            let s = shift(b)?;
            a >> s.min(63)
        }
        IntOp::And => a & b,
        IntOp::Or => a | b,
        IntOp::Xor => a ^ b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(op: ClearOp, a: i128, b: i128) -> i128 {
        match clear_bin(op, Fp::from_i128(a), Fp::from_i128(b)) {
            Ok(v) => v.to_signed(),
            Err(_) => i128::MIN,
        }
    }

    #[test]
    fn clear_semantics() {
        assert_eq!(c(ClearOp::IntDiv, -13, 4), -3);
        assert_eq!(c(ClearOp::Mod, -13, 4), -1);
        assert_eq!(c(ClearOp::FloorDiv, -13, 4), -4);
        assert_eq!(c(ClearOp::FloorMod, -13, 4), 3);
        assert_eq!(c(ClearOp::Shr, -13, 2), -4);
        assert_eq!(c(ClearOp::Shl, -3, 4), -48);
        assert_eq!(c(ClearOp::And, -1, 12), 12);
        assert_eq!(c(ClearOp::IntDiv, 1, 0), i128::MIN);
        assert_eq!(c(ClearOp::Div, 6, 3), 2);
    }

    #[test]
    fn regint_semantics() {
        let r = |op, a, b| int_bin(op, a, b).ok();
        assert_eq!(r(IntOp::Div, -13, 4), Some(-3));
        assert_eq!(r(IntOp::Mod, -13, 4), Some(-1));
        assert_eq!(r(IntOp::Div, i64::MIN, -1), Some(i64::MIN));
        assert_eq!(r(IntOp::Add, i64::MAX, 1), Some(i64::MIN));
        assert_eq!(r(IntOp::Shl, 1, 64), Some(0));
        assert_eq!(r(IntOp::Shr, -8, 100), Some(-1));
        assert_eq!(r(IntOp::Div, 1, 0), None);
        assert_eq!(r(IntOp::Shl, 1, -1), None);
    }
}
