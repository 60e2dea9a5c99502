//! Number formats: reading input tokens (MP-SPDZ's text format) and printing fixed-point values
//! (as MP-SPDZ prints them through GMP: `precision` significant digits, `%g` style, trailing
//! zeros removed, ties rounded away from zero).

use field::Fp;
use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

/// Largest decimal exponent accepted in an input token (keeps hostile tokens cheap).
const MAX_EXP10: i64 = 400;

fn half_p() -> BigInt {
    BigInt::from(field::MODULUS / 2)
}

fn to_fp(x: &BigInt) -> Option<Fp> {
    if x.abs() > half_p() {
        return None;
    }
    let v = x.to_i128()?;
    Some(Fp::from_i128(v))
}

/// An integer token ("-12", "+7"), as a field element; `None` if it is not an integer or does
/// not fit in (−p/2, p/2).
pub fn parse_int(tok: &str) -> Option<Fp> {
    let t = tok.strip_prefix('+').unwrap_or(tok);
    if t.is_empty()
        || !t
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if t.matches('-').count() > 1 || (t.contains('-') && !t.starts_with('-')) {
        return None;
    }
    to_fp(&t.parse::<BigInt>().ok()?)
}

/// A decimal token ("1.5", "-0.1", "2e-3", "7"), scaled by 2^f and rounded to the nearest
/// integer (ties away from zero), as a field element.
pub fn parse_fixed(tok: &str, f: u32) -> Option<Fp> {
    let (neg, t) = match tok.as_bytes().first()? {
        b'-' => (true, &tok[1..]),
        b'+' => (false, &tok[1..]),
        _ => (false, tok),
    };
    let (num, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int_part, frac_part) = match num.find('.') {
        Some(i) => (&num[..i], &num[i + 1..]),
        None => (num, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int_part}{frac_part}");
    let mantissa: BigUint = if digits.is_empty() {
        BigUint::zero()
    } else {
        digits.parse().ok()?
    };
    let e10 = exp.checked_sub(frac_part.len() as i64)?;
    if e10.abs() > MAX_EXP10 {
        // Tiny values round to 0; huge ones do not fit.
        return (mantissa.is_zero() || e10 < 0).then_some(Fp::ZERO);
    }
    let scaled = mantissa << f;
    let ten = BigUint::from(10u32);
    let mag = if e10 >= 0 {
        scaled * ten.pow(e10 as u32)
    } else {
        let den = ten.pow((-e10) as u32);
        let (q, r) = scaled.div_rem(&den);
        if r * 2u32 >= den {
            q + 1u32
        } else {
            q
        }
    };
    let v = BigInt::from_biguint(if neg { Sign::Minus } else { Sign::Plus }, mag);
    to_fp(&v)
}

/// A fixed-point value v·2^−f with `precision` significant digits, as MP-SPDZ prints `sfix` and
/// `cfix`: `%g` style (scientific below 10^−4 and from 10^precision on), trailing zeros removed.
pub fn format_fix(v: i128, f: u32, precision: u32) -> String {
    if v == 0 {
        return "0".into();
    }
    let p = precision.max(1) as usize;
    let d = BigUint::from(v.unsigned_abs()) * BigUint::from(5u32).pow(f);
    let s = d.to_string();
    let mut e10 = s.len() as i64 - 1 - f as i64;
    let mut digits: Vec<u8> = s.bytes().take(p).collect();
    if s.len() > p && s.as_bytes()[p] >= b'5' {
        // Round up, carrying.
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                digits.pop();
                e10 += 1;
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    let ds = String::from_utf8(digits).expect("ASCII digits");
    let sign = if v < 0 { "-" } else { "" };
    if e10 < -4 || e10 >= p as i64 {
        let (first, rest) = ds.split_at(1);
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let es = if e10 < 0 { '-' } else { '+' };
        return format!("{sign}{mant}e{es}{:02}", e10.abs());
    }
    let body = if e10 >= 0 {
        let int_len = e10 as usize + 1;
        if ds.len() <= int_len {
            format!("{ds}{}", "0".repeat(int_len - ds.len()))
        } else {
            format!("{}.{}", &ds[..int_len], &ds[int_len..])
        }
    } else {
        format!("0.{}{ds}", "0".repeat((-e10 - 1) as usize))
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_printing_matches_mp_spdz() {
        assert_eq!(format_fix(-6554, 16, 6), "-0.100006");
        assert_eq!(format_fix((10000.25 * 65536.0) as i128, 16, 6), "10000.3");
        assert_eq!(format_fix(2 << 16, 16, 6), "2");
        assert_eq!(format_fix(3 << 15, 16, 6), "1.5");
        assert_eq!(format_fix(1, 16, 6), "1.52588e-05");
        assert_eq!(format_fix(1234567 << 16, 16, 6), "1.23457e+06");
        assert_eq!(format_fix(999999 << 16, 16, 6), "999999");
        assert_eq!(format_fix((9999995 << 16) / 10, 16, 6), "1e+06");
        assert_eq!(format_fix(-(1 << 14), 16, 6), "-0.25");
        assert_eq!(format_fix(7, 3, 2), "0.88");
    }

    #[test]
    fn input_tokens() {
        assert_eq!(parse_int("-12"), Some(Fp::from_i64(-12)));
        assert_eq!(parse_int("+7"), Some(Fp::from_i64(7)));
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_int("1-2"), None);
        assert_eq!(parse_int("x"), None);
        assert_eq!(parse_fixed("-0.1", 16), Some(Fp::from_i64(-6554)));
        assert_eq!(parse_fixed("1.5", 16), Some(Fp::from_i64(3 << 15)));
        assert_eq!(parse_fixed("2e-1", 4), Some(Fp::from_i64(3)));
        assert_eq!(parse_fixed("7", 2), Some(Fp::from_i64(28)));
        assert_eq!(parse_fixed(".5", 1), Some(Fp::from_i64(1)));
        assert_eq!(parse_fixed("abc", 16), None);
        assert_eq!(parse_fixed("1e999999", 16), None);
    }
}
