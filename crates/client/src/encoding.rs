//! How the numbers people have become field elements, in one place for the SDK, the CLI and the
//! Python package.
//!
//! - **Integers** ([`encode_i64`], [`decode_i64`]): x mod p, a negative x as p − |x|; reading
//!   back maps an element above p/2 to a negative number. The 64-bit functions check the range,
//!   so a value that does not fit is an error, never a silent wrap.
//! - **Fixed point** ([`FixedPoint`]): the dialect's `sfix` representation, x as the integer
//!   round(x·2^f) with |round(x·2^f)| < 2^(k−1). The defaults f = 16, k = 31 are the dialect's
//!   (docs/LANG.md); a program that calls `sfix.set_precision(f, k)` needs the same f and k
//!   here. A program that reads such a secret with `sfix.read_from_socket` gets x.

use field::Fp;

use crate::error::{ClientError, Result};

/// The element of a signed 64-bit integer.
pub fn encode_i64(x: i64) -> Fp {
    Fp::from_i64(x)
}

/// The signed 64-bit integer of an element, or a [`ClientError::Decode`] when the signed value
/// (an element above p/2 is negative) does not fit in 64 bits.
pub fn decode_i64(x: Fp) -> Result<i64> {
    let v = x.to_signed();
    i64::try_from(v).map_err(|_| ClientError::Decode {
        party: None,
        message: format!(
            "the value {v} does not fit in a signed 64-bit integer; read it as a 128-bit integer"
        ),
    })
}

/// The `sfix` encoding: x as round(x·2^f), an integer of at most k bits with its sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    f: u32,
    k: u32,
}

impl Default for FixedPoint {
    fn default() -> FixedPoint {
        FixedPoint::DEFAULT
    }
}

impl FixedPoint {
    /// The dialect's default: f = 16 fractional bits, k = 31 bits in all.
    pub const DEFAULT: FixedPoint = FixedPoint { f: 16, k: 31 };

    /// The dialect's default number of fractional bits.
    pub const DEFAULT_F: u32 = 16;

    /// The encoding with `f` fractional bits and `k` bits in all; `k` defaults to 2f − 1, as
    /// `sfix.set_precision(f)` does. Needs 0 < f < k ≤ 63, so that every encoded value is a
    /// 64-bit integer and a double's 53-bit mantissa covers the common cases exactly.
    pub fn new(f: u32, k: Option<u32>) -> Result<FixedPoint> {
        let k = k.unwrap_or_else(|| (2 * f).saturating_sub(1));
        if f == 0 || k <= f || k > 63 {
            return Err(ClientError::Usage(format!(
                "unsupported fixed-point precision f = {f}, k = {k}: need 0 < f < k <= 63 \
                 (the dialect's default is f = 16, k = 31; use the f and k of the program's \
                 sfix.set_precision)"
            )));
        }
        Ok(FixedPoint { f, k })
    }

    /// Fractional bits.
    pub fn f(&self) -> u32 {
        self.f
    }

    /// Bits in all, sign included.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// The range that fits is [−bound, bound), bound = 2^(k−1−f).
    pub fn bound(&self) -> f64 {
        2f64.powi((self.k - 1 - self.f) as i32)
    }

    /// The integer representation round(x·2^f) (ties away from zero), checked to be finite and
    /// a k-bit signed integer: in [−2^(k−1), 2^(k−1)).
    pub fn to_integer(&self, x: f64) -> Result<i64> {
        if !x.is_finite() {
            return Err(ClientError::Usage(format!(
                "{x} is not a finite number, so it has no fixed-point encoding"
            )));
        }
        let v = (x * 2f64.powi(self.f as i32)).round();
        let limit = 2f64.powi(self.k as i32 - 1);
        if v < -limit || v >= limit {
            return Err(ClientError::Usage(format!(
                "{x} does not fit the fixed-point encoding with f = {}, k = {}: x must be in \
                 [-{b}, {b}); use a larger k (and the same sfix.set_precision(f, k) in the \
                 program)",
                self.f,
                self.k,
                b = self.bound()
            )));
        }
        // |v| <= 2^62 here, so the conversion is exact.
        Ok(v as i64)
    }

    /// The element of `x`.
    pub fn encode(&self, x: f64) -> Result<Fp> {
        Ok(Fp::from_i64(self.to_integer(x)?))
    }

    /// The elements of `xs`; an error names the first value that does not fit (by index).
    pub fn encode_all(&self, xs: &[f64]) -> Result<Vec<Fp>> {
        xs.iter()
            .enumerate()
            .map(|(i, &x)| {
                self.encode(x).map_err(|e| match e {
                    ClientError::Usage(m) => ClientError::Usage(format!("value {i}: {m}")),
                    e => e,
                })
            })
            .collect()
    }

    /// The number an element encodes: its signed value divided by 2^f.
    pub fn decode(&self, x: Fp) -> f64 {
        self.decode_integer(x.to_signed())
    }

    /// The number a signed integer representation encodes (for plaintext outputs).
    pub fn decode_integer(&self, v: i128) -> f64 {
        v as f64 / 2f64.powi(self.f as i32)
    }

    /// Parses a decimal number (`3.25`, `-0.5`, `1e-3`) and encodes it, for command lines.
    pub fn parse(&self, s: &str) -> Result<Fp> {
        let x: f64 = s.trim().parse().map_err(|_| {
            ClientError::Usage(format!("{s:?} is not a number (write e.g. 3.25 or -0.5)"))
        })?;
        self.encode(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_and_are_range_checked() {
        for x in [0, 1, -1, 42, i64::MAX, i64::MIN] {
            assert_eq!(decode_i64(encode_i64(x)).unwrap(), x);
        }
        assert_eq!(encode_i64(-5), -Fp::from_u64(5));
        let big = Fp::from_i128(i64::MAX as i128 + 1);
        let e = decode_i64(big).unwrap_err().to_string();
        assert!(e.contains("does not fit in a signed 64-bit integer"), "{e}");
        assert!(decode_i64(Fp::from_i128(i64::MIN as i128 - 1)).is_err());
    }

    #[test]
    fn fixed_point_is_the_sfix_representation() {
        let fx = FixedPoint::DEFAULT;
        assert_eq!((fx.f(), fx.k()), (16, 31));
        assert_eq!(fx.encode(3.25).unwrap(), Fp::from_u64(3 * 65536 + 16384));
        assert_eq!(fx.encode(-0.5).unwrap(), Fp::from_i64(-32768));
        assert_eq!(fx.encode(1.0 / 65536.0).unwrap(), Fp::ONE);
        // Rounds to the nearest representable value.
        assert_eq!(fx.to_integer(0.4 / 65536.0).unwrap(), 0);
        assert_eq!(fx.to_integer(0.6 / 65536.0).unwrap(), 1);
        assert_eq!(fx.to_integer(-0.6 / 65536.0).unwrap(), -1);
        for x in [3.25, -0.5, 0.0, 16383.999, -16384.0, 1.5e-5] {
            let back = fx.decode(fx.encode(x).unwrap());
            assert!((back - x).abs() <= 0.5 / 65536.0, "{x} -> {back}");
        }
        assert_eq!(fx.decode(fx.encode(-16384.0).unwrap()), -16384.0);
    }

    #[test]
    fn fixed_point_refuses_what_does_not_fit() {
        let fx = FixedPoint::DEFAULT;
        let e = fx.encode(16384.0).unwrap_err().to_string();
        assert!(e.contains("f = 16, k = 31") && e.contains("16384"), "{e}");
        assert!(fx.encode(f64::NAN).is_err());
        assert!(fx.encode(f64::INFINITY).is_err());
        let e = fx.encode_all(&[1.0, 2.0, 1e9]).unwrap_err().to_string();
        assert!(e.starts_with("value 2: "), "{e}");
        // A wider k takes it.
        let wide = FixedPoint::new(16, Some(63)).unwrap();
        assert_eq!(wide.decode(wide.encode(1e9).unwrap()), 1e9);
    }

    #[test]
    fn precision_is_settable_within_bounds() {
        let fx = FixedPoint::new(20, None).unwrap();
        assert_eq!(
            (fx.f(), fx.k()),
            (20, 39),
            "k defaults to 2f - 1 as in the dialect"
        );
        assert_eq!(fx.encode(1.0).unwrap(), Fp::from_u64(1 << 20));
        assert_eq!(FixedPoint::new(16, None).unwrap(), FixedPoint::DEFAULT);
        for (f, k) in [(0, Some(10)), (16, Some(16)), (40, None), (8, Some(64))] {
            assert!(FixedPoint::new(f, k).is_err(), "f={f} k={k:?}");
        }
    }

    #[test]
    fn decimal_strings_parse() {
        let fx = FixedPoint::DEFAULT;
        assert_eq!(fx.parse(" 3.25").unwrap(), fx.encode(3.25).unwrap());
        assert_eq!(fx.parse("-1e-1").unwrap(), fx.encode(-0.1).unwrap());
        assert!(fx
            .parse("3,25")
            .unwrap_err()
            .to_string()
            .contains("not a number"));
    }
}
