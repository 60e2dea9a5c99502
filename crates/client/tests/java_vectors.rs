//! Test vectors for the Java client (`java/`), made by the Rust SDK: the field encoding, the
//! output-delivery check (honest deliveries verify to their values; tampered ones fail at the
//! element and check the SDK names) and the masking of uploads.
//!
//! The file `java/src/test/resources/vectors.json` is compared with what this test generates
//! (deterministically, from a fixed seed), so the two implementations cannot drift apart
//! silently: a change to the encoding or the check fails here until the file is regenerated
//! with `UPDATE_JAVA_VECTORS=1 cargo test -p client --test java_vectors`, and then fails the
//! JUnit tests until the Java client agrees.

use std::path::PathBuf;

use api::{FieldVec, OutputDelivery};
use client::{verify_delivery, ClientError};
use field::Fp;
use serde_json::{json, Value};
use uuid::Uuid;

/// SplitMix64: a fixed, dependency-free sequence (these are test vectors, not secrets).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fp(&mut self) -> Fp {
        Fp::from_u128(((self.next() as u128) << 64) | self.next() as u128)
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

/// Honest deliveries of `values` for `n` parties: random r, v; w = s·r, u = v·r; additive shares.
fn deliveries(values: &[Fp], n: usize, rng: &mut Rng) -> Vec<OutputDelivery> {
    let k = values.len();
    let r: Vec<Fp> = (0..k).map(|_| rng.fp()).collect();
    let v: Vec<Fp> = (0..k).map(|_| rng.fp()).collect();
    let w: Vec<Fp> = values.iter().zip(&r).map(|(s, r)| *s * *r).collect();
    let u: Vec<Fp> = v.iter().zip(&r).map(|(v, r)| *v * *r).collect();
    let mut split = |x: &[Fp]| -> Vec<Vec<Fp>> {
        let mut shares: Vec<Vec<Fp>> = (1..n).map(|_| (0..k).map(|_| rng.fp()).collect()).collect();
        let first: Vec<Fp> = (0..k)
            .map(|i| x[i] - shares.iter().map(|s| s[i]).sum::<Fp>())
            .collect();
        shares.insert(0, first);
        shares
    };
    let (ss, rs, vs, ws, us) = (split(values), split(&r), split(&v), split(&w), split(&u));
    let request_id = rng.uuid();
    (0..n)
        .map(|p| OutputDelivery {
            request_id,
            party: p,
            s: FieldVec::from_elements(&ss[p]),
            r: FieldVec::from_elements(&rs[p]),
            v: FieldVec::from_elements(&vs[p]),
            w: FieldVec::from_elements(&ws[p]),
            u: FieldVec::from_elements(&us[p]),
        })
        .collect()
}

fn field_of<'a>(d: &'a mut OutputDelivery, name: &str) -> &'a mut FieldVec {
    match name {
        "s" => &mut d.s,
        "r" => &mut d.r,
        "v" => &mut d.v,
        "w" => &mut d.w,
        _ => &mut d.u,
    }
}

fn generate() -> Value {
    let mut rng = Rng(14);
    let p = Fp::ZERO - Fp::ONE;
    let mut encodings = Vec::new();
    let specials: Vec<i128> = vec![
        0,
        1,
        -1,
        2,
        42,
        -7,
        1 << 64,
        i64::MAX as i128,
        i64::MIN as i128,
    ];
    let mut xs: Vec<Fp> = specials.iter().map(|&x| Fp::from_i128(x)).collect();
    xs.push(p); // p − 1
    xs.extend((0..8).map(|_| rng.fp()));
    for x in xs {
        encodings.push(json!({
            "value": x.to_u128().to_string(),
            "signed": x.to_signed().to_string(),
            "base64": FieldVec::from_elements(&[x]),
        }));
    }
    // Words that are not below p: p itself, p + 1 and 2^128 − 1, little-endian.
    let p_int: u128 = p.to_u128() + 1;
    let non_canonical: Vec<String> = [p_int, p_int + 1, u128::MAX]
        .iter()
        .map(
            |w| match serde_json::to_value(FieldVec::from_bytes(w.to_le_bytes().to_vec())) {
                Ok(Value::String(s)) => s,
                other => panic!("a FieldVec is a JSON string: {other:?}"),
            },
        )
        .collect();

    let mut cases = Vec::new();
    for (n, values) in [
        (2usize, vec![Fp::from_i64(42), Fp::from_i64(-7), Fp::ZERO]),
        (3, vec![rng.fp(), Fp::from_i64(5)]),
        (4, vec![Fp::from_i64(1)]),
    ] {
        let honest = deliveries(&values, n, &mut rng);
        assert_eq!(
            verify_delivery(&honest, Some(values.len())).unwrap(),
            values
        );
        cases.push(json!({
            "values": values.iter().map(|x| x.to_u128().to_string()).collect::<Vec<_>>(),
            "deliveries": honest,
            "expect": {"ok": true},
        }));
        // One party adds 1 to one element of one vector: the SDK names the element and check.
        for (field, index) in [
            ("s", values.len() - 1),
            ("v", 0),
            ("w", 0),
            ("r", 0),
            ("u", values.len() - 1),
        ] {
            let mut bad = honest.clone();
            let party = n - 1;
            let f = field_of(&mut bad[party], field);
            let mut e = f.to_elements().unwrap();
            e[index] += Fp::ONE;
            *f = FieldVec::from_elements(&e);
            let (idx, check) = match verify_delivery(&bad, Some(values.len())) {
                Err(ClientError::Integrity { index, check }) => (index, check),
                other => panic!("tampering {field} must fail the check, got {other:?}"),
            };
            cases.push(json!({
                "values": values.iter().map(|x| x.to_u128().to_string()).collect::<Vec<_>>(),
                "deliveries": bad,
                "expect": {"ok": false, "index": idx, "check": check, "tampered": {"party": party, "field": field, "index": index}},
            }));
        }
    }

    // Upload masking: m = x − r, encoded.
    let mut masked = Vec::new();
    for x in [42i64, -7, 0] {
        let r = rng.fp();
        let m = Fp::from_i64(x) - r;
        masked.push(json!({
            "x": x.to_string(),
            "r": r.to_u128().to_string(),
            "m_base64": FieldVec::from_elements(&[m]),
        }));
    }

    json!({
        "about": "Made by crates/client/tests/java_vectors.rs (the Rust SDK); regenerate with UPDATE_JAVA_VECTORS=1 cargo test -p client --test java_vectors",
        "p": p_int.to_string(),
        "encodings": encodings,
        "non_canonical": non_canonical,
        "deliveries": cases,
        "masked": masked,
    })
}

#[test]
fn java_vectors_match_the_rust_sdk() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../java/src/test/resources/vectors.json");
    let want = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
    if std::env::var_os("UPDATE_JAVA_VECTORS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with UPDATE_JAVA_VECTORS=1 cargo test -p client --test java_vectors",
            path.display()
        )
    });
    assert!(
        have == want,
        "{} differs from what the Rust SDK makes now: the encoding or the delivery check changed. \
         Regenerate it with UPDATE_JAVA_VECTORS=1 cargo test -p client --test java_vectors and make \
         the Java client (java/) agree",
        path.display()
    );
}
