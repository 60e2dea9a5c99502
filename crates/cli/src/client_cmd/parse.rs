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
