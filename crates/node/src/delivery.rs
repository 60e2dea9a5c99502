//! The output-delivery protocol (Damgård, Damgård, Nielsen, Nordholt, Toft, ePrint 2015/1006):
//! giving a client the values of shared [s] so that it can detect any tampering.
//!
//! For each value s the parties take a triple (a, b, c) and set v = a, r = b, u = c — so u = v·r
//! without any work — and compute w = s·r with one Beaver multiplication. The openings of the
//! multiplication are MAC-checked before anything leaves the engine. Each party then sends the
//! client its *value shares* (never MAC shares) of s, r, v, w and u. The client sums them and checks
//! w = s·r and u = v·r. A party that adds δ to its share of s makes the client see s + δ and
//! would have to add δ·r to w, but r is uniformly random and unknown to every party; it is
//! caught except with probability 1/p. Cost: 2 triples and 1 round per delivery (plus the MAC
//! check), whatever the number of values.

use api::{FieldVec, OutputDelivery};
use protocol::prep::Preprocessing;
use protocol::{Engine, ProtocolError, ShareVec};
use uuid::Uuid;

/// Triples one delivery of `n` values consumes.
pub fn triples_needed(n: u64) -> u64 {
    2 * n
}

/// Runs the delivery of `s` on `engine` and returns this party's part.
pub fn deliver<P: Preprocessing>(
    engine: &mut Engine<P>,
    s: &ShareVec,
    request_id: Uuid,
) -> Result<OutputDelivery, ProtocolError> {
    let mut parts = Parts::with_capacity(s.len());
    deliver_chunk(engine, s, &mut parts)?;
    Ok(parts.into_delivery(request_id, engine.party()))
}

/// The value shares of a delivery made chunk by chunk ([`deliver_chunk`]), as their 16-byte
/// words: all that a party keeps of a chunk once it is checked.
pub struct Parts {
    s: Vec<u8>,
    r: Vec<u8>,
    v: Vec<u8>,
    w: Vec<u8>,
    u: Vec<u8>,
}

impl Parts {
    /// Room for `n` values.
    pub fn with_capacity(n: usize) -> Parts {
        let b = || Vec::with_capacity(n.saturating_mul(field::Fp::BYTES));
        Parts {
            s: b(),
            r: b(),
            v: b(),
            w: b(),
            u: b(),
        }
    }

    /// The delivery of every chunk delivered so far, in order.
    pub fn into_delivery(self, request_id: Uuid, party: usize) -> OutputDelivery {
        OutputDelivery {
            request_id,
            party,
            s: FieldVec::from_bytes(self.s),
            r: FieldVec::from_bytes(self.r),
            v: FieldVec::from_bytes(self.v),
            w: FieldVec::from_bytes(self.w),
            u: FieldVec::from_bytes(self.u),
        }
    }
}

/// Runs the delivery of one chunk `s` (2·|s| triples) and appends this party's value shares to
/// `out`, only after the MAC check of the chunk's openings has passed; on an error `out` is left
/// as it was. A large delivery made of chunks holds one chunk's tuples and engine vectors at a
/// time; the client cannot tell it from one delivery of the whole vector.
pub fn deliver_chunk<P: Preprocessing>(
    engine: &mut Engine<P>,
    s: &ShareVec,
    out: &mut Parts,
) -> Result<(), ProtocolError> {
    let t = engine.triples(s.len())?;
    let (v, r, u) = (t.a, t.b, t.c);
    let w = engine.mul(s, &r)?;
    // The Beaver openings must pass their MAC check before any share leaves.
    engine.check()?;
    for (dst, x) in [
        (&mut out.s, s),
        (&mut out.r, &r),
        (&mut out.v, &v),
        (&mut out.w, &w),
        (&mut out.u, &u),
    ] {
        field::kernels::encode(x.value_shares(), dst);
    }
    Ok(())
}

/// Adds up the parties' deliveries and checks them: the values, or the index of the first value
/// that does not verify. For tests; the client SDK has its own check.
pub fn verify(parts: &[OutputDelivery]) -> Result<Vec<field::Fp>, usize> {
    let sum = |f: fn(&OutputDelivery) -> &FieldVec| -> Vec<field::Fp> {
        let mut acc: Vec<field::Fp> = Vec::new();
        for p in parts {
            let e = f(p).to_elements().unwrap_or_default();
            if acc.is_empty() {
                acc = e;
            } else {
                for (a, b) in acc.iter_mut().zip(e) {
                    *a += b;
                }
            }
        }
        acc
    };
    let (s, r, v, w, u) = (
        sum(|d| &d.s),
        sum(|d| &d.r),
        sum(|d| &d.v),
        sum(|d| &d.w),
        sum(|d| &d.u),
    );
    for i in 0..s.len() {
        if w.get(i) != Some(&(s[i] * r[i])) || u.get(i) != Some(&(v[i] * r[i])) {
            return Err(i);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use field::Fp;
    use protocol::prep::InsecureDealer;
    use protocol::EngineConfig;

    fn run(n: usize, tamper: Option<usize>) -> Result<Vec<Fp>, usize> {
        let nets = net::in_process(n, net::NetConfig::default());
        let rid = Uuid::new_v4();
        let handles: Vec<_> = nets
            .into_iter()
            .map(|net| {
                std::thread::spawn(move || {
                    let me = net.my_id();
                    let n = net.n_parties();
                    let mut e = Engine::new(
                        net,
                        InsecureDealer::new(me, n, [7; 32]),
                        EngineConfig::default(),
                    );
                    let vals: Vec<Fp> = [5i64, -3, 0].iter().map(|&x| Fp::from_i64(x)).collect();
                    let mine = if me == 0 { vals } else { vec![] };
                    let x = e.input(&[3, 0, 0][..n], &mine).unwrap().remove(0);
                    let mut d = deliver(&mut e, &x, rid).unwrap();
                    if tamper == Some(me) {
                        let mut s = d.s.to_elements().unwrap();
                        s[1] += Fp::ONE;
                        d.s = FieldVec::from_elements(&s);
                    }
                    d
                })
            })
            .collect();
        let parts: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        verify(&parts)
    }

    #[test]
    fn honest_delivery_verifies() {
        for n in [2, 3] {
            let s = run(n, None).unwrap();
            assert_eq!(s, vec![Fp::from_i64(5), Fp::from_i64(-3), Fp::ZERO]);
        }
    }

    #[test]
    fn a_delivery_in_chunks_verifies_as_one() {
        let nets = net::in_process(2, net::NetConfig::default());
        let rid = Uuid::new_v4();
        let vals: Vec<Fp> = (0..10).map(|x| Fp::from_i64(x * 11 - 40)).collect();
        let handles: Vec<_> = nets
            .into_iter()
            .map(|net| {
                let vals = vals.clone();
                std::thread::spawn(move || {
                    let me = net.my_id();
                    let mut e = Engine::new(
                        net,
                        InsecureDealer::new(me, 2, [9; 32]),
                        EngineConfig::default(),
                    );
                    let mine = if me == 0 { vals } else { vec![] };
                    let x = e.input(&[10, 0], &mine).unwrap().remove(0);
                    let mut parts = Parts::with_capacity(10);
                    for (lo, hi) in [(0, 4), (4, 8), (8, 10)] {
                        deliver_chunk(&mut e, &x.slice(lo..hi), &mut parts).unwrap();
                    }
                    parts.into_delivery(rid, me)
                })
            })
            .collect();
        let parts: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(parts[0].s.len(), 10);
        assert_eq!(verify(&parts), Ok(vals));
    }

    #[test]
    fn a_tampered_share_fails_verification_at_its_index() {
        assert_eq!(run(2, Some(1)), Err(1));
        assert_eq!(run(3, Some(0)), Err(1));
    }
}
