//! Parsers of the client commands' argument forms: values, tags, filters, output kinds.

use api::{OutputKind, Tag};
use field::{Fp, MODULUS};

/// A value of a secret: a decimal integer in (−p, p); a negative x is stored as p − |x|.
pub fn value(s: &str) -> Result<Fp, String> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let bad = || format!("{s:?} is not an integer in (-p, p), p = {MODULUS}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mag: u128 = digits.parse().map_err(|_| bad())?;
    if mag >= MODULUS {
        return Err(bad());
    }
    let x = Fp::from_u128(mag);
    Ok(if neg { -x } else { x })
}

/// A number on the command line, kept as text until `--fixed` decides its encoding: an integer
/// ([`value`]) or a decimal number (`3.25`, `-1e-3`).
pub fn number(s: &str) -> Result<String, String> {
    if value(s).is_ok() || s.trim().parse::<f64>().is_ok_and(f64::is_finite) {
        Ok(s.trim().to_string())
    } else {
        Err(format!(
            "{s:?} is not a number; write an integer (42, -5) or, with --fixed, a decimal (3.25)"
        ))
    }
}

/// The fixed-point options shared by `secret create`, `secret get` and `execute`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct FixedOpts {
    /// Fixed-point numbers in the dialect's `sfix` encoding (x as round(x·2^F)): values to store,
    /// or values read back and outputs, are decimals.
    #[arg(long)]
    pub fixed: bool,
    /// With --fixed: fractional bits F (default 16, as sfix); use the program's
    /// sfix.set_precision(F, K).
    #[arg(long, value_name = "F", requires = "fixed")]
    pub frac_bits: Option<u32>,
    /// With --fixed: bits in all K, sign included (default 2F-1, 31 for F = 16).
    #[arg(long, value_name = "K", requires = "fixed")]
    pub bits: Option<u32>,
}

impl FixedOpts {
    /// The encoding asked for, or `None` for integers.
    pub fn encoding(&self) -> anyhow::Result<Option<client::FixedPoint>> {
        if !self.fixed {
            return Ok(None);
        }
        let f = self.frac_bits.unwrap_or(client::FixedPoint::DEFAULT_F);
        Ok(Some(client::FixedPoint::new(f, self.bits)?))
    }

    /// The elements of `values` ([`number`]s) in this encoding.
    pub fn encode(&self, values: &[String]) -> anyhow::Result<Vec<Fp>> {
        match self.encoding()? {
            Some(fx) => Ok(values
                .iter()
                .enumerate()
                .map(|(i, v)| fx.parse(v).map_err(|e| anyhow::anyhow!("value {i}: {e}")))
                .collect::<anyhow::Result<_>>()?),
            None => values
                .iter()
                .map(|v| {
                    value(v).map_err(|e| {
                        anyhow::anyhow!(
                            "{e}; add --fixed to store it as a fixed-point number (sfix)"
                        )
                    })
                })
                .collect(),
        }
    }

    /// One value as text: a signed integer, or with --fixed the decimal it encodes.
    pub fn show(&self, fx: Option<client::FixedPoint>, v: i128) -> String {
        let _ = self;
        match fx {
            Some(fx) => fx.decode_integer(v).to_string(),
            None => v.to_string(),
        }
    }
}

/// A tag: `key=value` (STRING) or `key:=n` (LONG, a decimal i64).
pub fn tag(s: &str) -> Result<Tag, String> {
    let Some(eq) = s.find('=') else {
        return Err(format!(
            "tag {s:?} has no '='; write key=value (text) or key:=number"
        ));
    };
    let (long, key) = match s[..eq].strip_suffix(':') {
        Some(k) => (true, k),
        None => (false, &s[..eq]),
    };
    let value = &s[eq + 1..];
    if key.is_empty() {
        return Err(format!("tag {s:?} has an empty key"));
    }
    if long {
        let n: i64 = value
            .trim()
            .parse()
            .map_err(|_| format!("tag {s:?}: {value:?} is not a 64-bit integer (key:=n is a number tag; use key=value for text)"))?;
        Ok(Tag::long(key, n))
    } else {
        Ok(Tag::string(key, value))
    }
}

/// A list filter: comma-joined clauses `key:value` or `key=value` (equal), `key>n`, `key<n`.
/// Returns it in the node's form (`=` becomes `:`).
pub fn filter(s: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for clause in s.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let Some(pos) = clause.find([':', '=', '<', '>']) else {
            return Err(format!(
                "filter clause {clause:?} has no operator; write key:value, key=value, key>n or key<n"
            ));
        };
        let (key, op, rest) = (&clause[..pos], &clause[pos..pos + 1], &clause[pos + 1..]);
        if key.is_empty() {
            return Err(format!("filter clause {clause:?} has no key"));
        }
        if (op == "<" || op == ">") && rest.trim().parse::<i64>().is_err() {
            return Err(format!(
                "filter clause {clause:?}: {op} compares numbers; {rest:?} is not one"
            ));
        }
        let op = if op == "=" { ":" } else { op };
        out.push(format!("{key}{op}{rest}"));
    }
    if out.is_empty() {
        return Err("the filter is empty".into());
    }
    Ok(out.join(","))
}

/// An output kind: `plaintext`, `shares` or `secret` (and the original's names).
pub fn output_kind(s: &str) -> Result<OutputKind, String> {
    OutputKind::parse(s)
        .ok_or_else(|| format!("unknown output {s:?}; use plaintext, shares or secret"))
}

/// A private input: `PARTY=FILE` (the file holds whitespace-separated numbers).
pub fn private_input(s: &str) -> Result<(usize, std::path::PathBuf), String> {
    let (p, f) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: write PARTY=FILE, e.g. 1=inputs.txt"))?;
    let party = p
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {p:?} is not a party number"))?;
    Ok((party, f.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cover_the_signed_range() {
        assert_eq!(value("42"), Ok(Fp::from_u64(42)));
        assert_eq!(value("-5"), Ok(Fp::from_i64(-5)));
        assert_eq!(value("+7"), Ok(Fp::from_u64(7)));
        assert_eq!(value(&(MODULUS - 1).to_string()), Ok(-Fp::ONE));
        assert_eq!(value(&format!("-{}", MODULUS - 1)), Ok(Fp::ONE));
        for bad in ["", "-", "1.5", "0x10", "abc", "--3"] {
            assert!(value(bad).is_err(), "{bad}");
        }
        assert!(value(&MODULUS.to_string()).unwrap_err().contains("(-p, p)"));
    }

    #[test]
    fn numbers_are_integers_or_decimals_and_fixed_decides() {
        assert_eq!(number(" 3.25"), Ok("3.25".to_string()));
        assert_eq!(number("-5"), Ok("-5".to_string()));
        assert!(number("x").is_err());
        assert!(number("inf").is_err());
        let ints = FixedOpts::default();
        assert_eq!(ints.encode(&["-5".into()]).unwrap(), vec![Fp::from_i64(-5)]);
        let e = ints.encode(&["3.25".into()]).unwrap_err().to_string();
        assert!(e.contains("--fixed"), "{e}");
        let fixed = FixedOpts {
            fixed: true,
            ..FixedOpts::default()
        };
        assert_eq!(
            fixed.encode(&["3.25".into(), "-1".into()]).unwrap(),
            vec![Fp::from_u64(212_992), Fp::from_i64(-65536)]
        );
        let e = fixed
            .encode(&["1".into(), "1e6".into()])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("value 1: ") && e.contains("k = 31"), "{e}");
        let f8 = FixedOpts {
            fixed: true,
            frac_bits: Some(8),
            bits: None,
        };
        assert_eq!(f8.encode(&["0.5".into()]).unwrap(), vec![Fp::from_u64(128)]);
        assert_eq!(f8.show(f8.encoding().unwrap(), 128), "0.5");
        assert_eq!(ints.show(None, -3), "-3");
        let bad = FixedOpts {
            fixed: true,
            frac_bits: Some(0),
            bits: None,
        };
        assert!(bad.encoding().is_err());
    }

    #[test]
    fn tags_are_text_or_numbers() {
        assert_eq!(tag("k=v"), Ok(Tag::string("k", "v")));
        assert_eq!(tag("k="), Ok(Tag::string("k", "")));
        assert_eq!(tag("url=a:=b"), Ok(Tag::string("url", "a:=b")));
        assert_eq!(tag("n:=7"), Ok(Tag::long("n", 7)));
        assert_eq!(tag("n:=-7"), Ok(Tag::long("n", -7)));
        assert!(tag("n:=x").unwrap_err().contains("not a 64-bit integer"));
        assert!(tag("novalue").is_err());
        assert!(tag("=v").is_err());
        assert!(tag(":=1").is_err());
    }

    #[test]
    fn filters_are_normalised_and_checked() {
        assert_eq!(filter("k=v").unwrap(), "k:v");
        assert_eq!(filter("k:v, n>3,m<-1").unwrap(), "k:v,n>3,m<-1");
        assert_eq!(filter("url:http://x").unwrap(), "url:http://x");
        assert!(filter("n>x").unwrap_err().contains("compares numbers"));
        assert!(filter("k").unwrap_err().contains("no operator"));
        assert!(filter(":v").is_err());
        assert!(filter(" , ").is_err());
    }

    #[test]
    fn output_kinds_and_private_inputs() {
        assert_eq!(output_kind("plaintext"), Ok(OutputKind::Plaintext));
        assert_eq!(output_kind("shares"), Ok(OutputKind::SecretShare));
        assert_eq!(output_kind("secret"), Ok(OutputKind::AmphoraSecret));
        assert!(output_kind("csv")
            .unwrap_err()
            .contains("plaintext, shares or secret"));
        assert_eq!(private_input("1=a.txt"), Ok((1, "a.txt".into())));
        assert!(private_input("a.txt").is_err());
        assert!(private_input("x=a.txt").is_err());
    }
}
