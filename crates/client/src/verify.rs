//! Local recombination and verification of the output-delivery protocol (Damgård, Damgård,
//! Nielsen, Nordholt, Toft, ePrint 2015/1006).
//!
//! Every party sends its additive shares of s (the values), r, v (random), w = s·r and u = v·r.
//! The client adds them up and checks **w = s·r and u = v·r** for every element. A party that
//! adds δ to its share of s would have to add δ·r to its share of w, but nobody knows r, so the
//! check catches it except with probability about 1/p.

use api::OutputDelivery;
use field::Fp;

use crate::error::{ClientError, Result};

/// Adds up one [`OutputDelivery`] per party and checks it; returns the values s.
///
/// Checks, in order: one delivery for each party id 0..N (N = `deliveries.len()`, any order), all
/// with the same request id; the five vectors of every delivery have one length, the same for all
/// parties and equal to `expected_len` if given; every element is canonical; and then
/// w = s·r and u = v·r for each element. A failed product check is
/// [`ClientError::Integrity`] naming the first bad element; a malformed delivery is
/// [`ClientError::Decode`] or [`ClientError::Disagreement`].
pub fn verify_delivery(
    deliveries: &[OutputDelivery],
    expected_len: Option<usize>,
) -> Result<Vec<Fp>> {
    let n = deliveries.len();
    if n == 0 {
        return Err(ClientError::Decode {
            party: None,
            message: "no deliveries to verify".into(),
        });
    }
    let mut seen = vec![false; n];
    for d in deliveries {
        match seen.get_mut(d.party) {
            Some(s) if !*s => *s = true,
            Some(_) => {
                return Err(ClientError::Disagreement {
                    what: format!("who sent which delivery: party {} answered twice", d.party),
                })
            }
            None => {
                return Err(ClientError::Decode {
                    party: Some(d.party),
                    message: format!("delivery from party {} but there are {n} parties", d.party),
                })
            }
        }
    }
    let request_id = deliveries[0].request_id;
    if let Some(d) = deliveries.iter().find(|d| d.request_id != request_id) {
        return Err(ClientError::Disagreement {
            what: format!(
                "the request id of the delivery (party {} says {}, party {} says {})",
                deliveries[0].party, request_id, d.party, d.request_id
            ),
        });
    }
    let len = expected_len.unwrap_or(deliveries[0].s.len());
    let mut sums = [
        vec![Fp::ZERO; len],
        vec![Fp::ZERO; len],
        vec![Fp::ZERO; len],
        vec![Fp::ZERO; len],
        vec![Fp::ZERO; len],
    ];
    for d in deliveries {
        let parts = [
            ("s", &d.s),
            ("r", &d.r),
            ("v", &d.v),
            ("w", &d.w),
            ("u", &d.u),
        ];
        for ((name, vec), sum) in parts.into_iter().zip(sums.iter_mut()) {
            let elems = vec.to_elements().map_err(|e| ClientError::Decode {
                party: Some(d.party),
                message: format!("delivery field {name}: {e}"),
            })?;
            if elems.len() != len {
                return Err(ClientError::Decode {
                    party: Some(d.party),
                    message: format!(
                        "delivery field {name} has {} elements, expected {len}",
                        elems.len()
                    ),
                });
            }
            for (acc, x) in sum.iter_mut().zip(elems) {
                *acc += x;
            }
        }
    }
    let [s, r, v, w, u] = sums;
    for i in 0..len {
        if w[i] != s[i] * r[i] {
            return Err(ClientError::Integrity {
                index: i,
                check: "w = s·r",
            });
        }
        if u[i] != v[i] * r[i] {
            return Err(ClientError::Integrity {
                index: i,
                check: "u = v·r",
            });
        }
    }
    Ok(s)
}

/// Splits `values` into honest deliveries for `n` parties (random additive shares of s, random
/// r and v, and the products). For tests and the [`crate::testing`] fake cloud.
#[cfg(any(test, feature = "testing"))]
pub fn honest_deliveries<R: rand_core::RngCore>(
    values: &[Fp],
    n: usize,
    request_id: uuid::Uuid,
    rng: &mut R,
) -> Vec<OutputDelivery> {
    use api::FieldVec;
    let k = values.len();
    let r: Vec<Fp> = (0..k).map(|_| Fp::random(rng)).collect();
    let v: Vec<Fp> = (0..k).map(|_| Fp::random(rng)).collect();
    let w: Vec<Fp> = values.iter().zip(&r).map(|(s, r)| *s * *r).collect();
    let u: Vec<Fp> = v.iter().zip(&r).map(|(v, r)| *v * *r).collect();
    let split = |x: &[Fp], rng: &mut R| -> Vec<Vec<Fp>> {
        let mut shares: Vec<Vec<Fp>> = (1..n)
            .map(|_| (0..k).map(|_| Fp::random(rng)).collect())
            .collect();
        let first: Vec<Fp> = (0..k)
            .map(|i| x[i] - shares.iter().map(|s| s[i]).sum::<Fp>())
            .collect();
        shares.insert(0, first);
        shares
    };
    let (ss, rs, vs, ws, us) = (
        split(values, rng),
        split(&r, rng),
        split(&v, rng),
        split(&w, rng),
        split(&u, rng),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use api::FieldVec;
    use rand_core::{OsRng, RngCore};
    use uuid::Uuid;

    fn values() -> Vec<Fp> {
        [42i64, -17, 0, 5]
            .iter()
            .map(|&x| Fp::from_i64(x))
            .collect()
    }

    fn honest(n: usize) -> Vec<OutputDelivery> {
        honest_deliveries(&values(), n, Uuid::new_v4(), &mut OsRng)
    }

    /// Adds 1 to element `i` of one field of one delivery.
    fn bump(d: &mut OutputDelivery, field: usize, i: usize) {
        let f = match field {
            0 => &mut d.s,
            1 => &mut d.r,
            2 => &mut d.v,
            3 => &mut d.w,
            _ => &mut d.u,
        };
        let mut e = f.to_elements().unwrap();
        e[i] += Fp::ONE;
        *f = FieldVec::from_elements(&e);
    }

    #[test]
    fn honest_shares_verify_for_two_and_three_parties() {
        for n in [1, 2, 3, 5] {
            let mut ds = honest(n);
            assert_eq!(verify_delivery(&ds, Some(4)).unwrap(), values());
            assert_eq!(verify_delivery(&ds, None).unwrap(), values());
            // Any order of the parties.
            ds.reverse();
            assert_eq!(verify_delivery(&ds, Some(4)).unwrap(), values());
        }
    }

    #[test]
    fn an_empty_delivery_verifies_to_nothing() {
        let ds = honest_deliveries(&[], 3, Uuid::new_v4(), &mut OsRng);
        assert_eq!(verify_delivery(&ds, Some(0)).unwrap(), vec![]);
    }

    #[test]
    fn any_changed_share_fails_at_its_index() {
        for n in [2, 3] {
            for party in 0..n {
                for field in 0..5 {
                    let i = (OsRng.next_u32() % 4) as usize;
                    let mut ds = honest(n);
                    bump(&mut ds[party], field, i);
                    match verify_delivery(&ds, Some(4)) {
                        Err(ClientError::Integrity { index, .. }) => assert_eq!(index, i),
                        other => panic!("n={n} party={party} field={field}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn the_product_check_that_failed_is_named() {
        let mut ds = honest(2);
        bump(&mut ds[1], 4, 2);
        let e = verify_delivery(&ds, None).unwrap_err().to_string();
        assert!(e.starts_with("element 2: u = v·r does not hold"), "{e}");
        let mut ds = honest(2);
        bump(&mut ds[0], 0, 0);
        let e = verify_delivery(&ds, None).unwrap_err().to_string();
        assert!(e.starts_with("element 0: w = s·r does not hold"), "{e}");
    }

    #[test]
    fn wrong_counts_are_refused() {
        let ds = honest(3);
        assert!(matches!(
            verify_delivery(&ds, Some(3)),
            Err(ClientError::Decode { party: Some(0), .. })
        ));
        // One party sends a shorter vector.
        let mut ds = honest(3);
        let e = ds[2].w.to_elements().unwrap();
        ds[2].w = FieldVec::from_elements(&e[..3]);
        let err = verify_delivery(&ds, None).unwrap_err();
        assert!(
            matches!(err, ClientError::Decode { party: Some(2), .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("field w has 3 elements, expected 4"),
            "{err}"
        );
        assert!(verify_delivery(&[], None).is_err());
    }

    #[test]
    fn missing_duplicate_or_foreign_parties_are_refused() {
        let mut ds = honest(3);
        ds[2].party = 1;
        let e = verify_delivery(&ds, None).unwrap_err();
        assert!(matches!(e, ClientError::Disagreement { .. }), "{e}");
        assert!(e.to_string().contains("party 1 answered twice"), "{e}");
        let mut ds = honest(3);
        ds[2].party = 3;
        assert!(matches!(
            verify_delivery(&ds, None),
            Err(ClientError::Decode { party: Some(3), .. })
        ));
        // Two of three deliveries: the sum is not the value.
        let ds = honest(3);
        assert!(matches!(
            verify_delivery(&ds[..2], None),
            Err(ClientError::Decode { .. } | ClientError::Integrity { .. })
        ));
    }

    #[test]
    fn mismatched_request_ids_are_refused() {
        let mut ds = honest(3);
        ds[1].request_id = Uuid::new_v4();
        let e = verify_delivery(&ds, None).unwrap_err();
        assert!(matches!(e, ClientError::Disagreement { .. }), "{e}");
        assert!(e.to_string().contains("request id"), "{e}");
    }

    #[test]
    fn non_canonical_elements_are_refused() {
        let mut ds = honest(2);
        ds[1].v = FieldVec::from_bytes(vec![0xff; 64]);
        let e = verify_delivery(&ds, None).unwrap_err();
        assert!(
            matches!(e, ClientError::Decode { party: Some(1), .. }),
            "{e}"
        );
        assert!(e.to_string().contains("canonical"), "{e}");
    }
}
