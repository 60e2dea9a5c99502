//! The kernels added for the VM: integer division, private outputs, triples and random integers,
//! checked against plaintext for N = 2 and 3.

use std::sync::Arc;
use std::time::Duration;

use field::Fp;
use net::NetConfig;
use protocol::prep::InsecureDealer;
use protocol::{Engine, EngineConfig, Result, ShareVec};

type E = Engine<InsecureDealer>;

fn run<T: Send + 'static>(
    n: usize,
    f: impl Fn(&mut E) -> Result<T> + Send + Sync + 'static,
) -> Vec<T> {
    let cfg = NetConfig {
        recv_deadline: Duration::from_secs(30),
        ..NetConfig::default()
    };
    let f = Arc::new(f);
    let handles: Vec<_> = net::in_process(n, cfg)
        .into_iter()
        .map(|net| {
            let f = f.clone();
            std::thread::spawn(move || {
                let me = net.my_id();
                let mut e = Engine::new(
                    net,
                    InsecureDealer::new(me, n, [7; 32]),
                    EngineConfig::default(),
                );
                let r = f(&mut e)?;
                e.check()?;
                Ok::<T, protocol::ProtocolError>(r)
            })
        })
        .collect();
    handles
        .into_iter()
        .enumerate()
        .map(|(p, h)| {
            h.join()
                .expect("no panic")
                .unwrap_or_else(|e| panic!("party {p}: {e}"))
        })
        .collect()
}

fn input0(e: &mut E, values: &[i128]) -> Result<ShareVec> {
    let mut counts = vec![0; e.n_parties()];
    counts[0] = values.len();
    let mine: Vec<Fp> = if e.party() == 0 {
        values.iter().map(|&x| Fp::from_i128(x)).collect()
    } else {
        Vec::new()
    };
    Ok(e.input(&counts, &mine)?.swap_remove(0))
}

fn signed(v: &[Fp]) -> Vec<i128> {
    v.iter().map(|x| x.to_signed()).collect()
}

fn div_cases(k: u32) -> (Vec<i128>, Vec<i128>) {
    let lo = -(1i128 << (k - 1));
    let hi = (1i128 << (k - 1)) - 1;
    let mut a = vec![
        0, 1, -1, 7, -7, 7, -7, hi, lo, lo, hi, 100, 12345, lo, hi, 3,
    ];
    let mut b = vec![1, 1, 1, 2, 2, -2, -2, 1, 1, -1, -1, 7, 99, hi, lo, hi];
    let mut x: u64 = 0x9e3779b97f4a7c15 ^ k as u64;
    for _ in 0..24 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let va = ((x as i128) % (1i128 << (k - 1))) * if x & 1 == 0 { 1 } else { -1 };
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let shift = (x % (k as u64 - 1)) as u32;
        let mut vb = ((x >> 3) as i128 % (1i128 << (k - 1))) >> shift;
        if vb == 0 {
            vb = 3;
        }
        if x & 2 == 0 {
            vb = -vb;
        }
        a.push(va);
        b.push(vb);
    }
    (a, b)
}

#[test]
fn int_div_truncates_toward_zero() {
    for (n, k) in [(2, 16), (3, 16), (2, 64), (3, 33)] {
        let (a, b) = div_cases(k);
        let expected: Vec<i128> = a.iter().zip(&b).map(|(&x, &y)| x / y).collect();
        let (a2, b2) = (a.clone(), b.clone());
        let out = run(n, move |e| {
            let x = input0(e, &a2)?;
            let y = input0(e, &b2)?;
            let q = e.int_div(&x, &y, k)?;
            e.reveal(&q)
        });
        for o in &out {
            assert_eq!(signed(o), expected, "n = {n}, k = {k}");
        }
    }
}

#[test]
fn int_div_rounds_and_bad_parameters() {
    let out = run(2, |e| {
        let x = input0(e, &[100, -100])?;
        let y = input0(e, &[7, 7])?;
        let before = e.net_stats().rounds;
        let q = e.int_div(&x, &y, 16)?;
        let rounds = e.net_stats().rounds - before;
        let bad = e.int_div(&x, &y, 90).is_err();
        Ok((signed(&e.reveal(&q)?), rounds, bad))
    });
    assert_eq!(out[0].0, vec![14, -14]);
    assert_eq!(out[0].1, 60, "rounds of int_div(k = 16)");
    assert!(out[0].2);
    // Division by zero is not an error.
    run(2, |e| {
        let x = input0(e, &[5])?;
        let y = input0(e, &[0])?;
        e.int_div(&x, &y, 64)?;
        Ok(())
    });
}

#[test]
fn reveal_to_reaches_only_its_owner() {
    for n in [2, 3] {
        let out = run(n, move |e| {
            let x = input0(e, &[42, -5])?;
            let to_last = e.reveal_to(&x, n - 1)?;
            // Batched: one public and two private outputs in one reveal.
            let m1 = e.output_masks(0, 2)?;
            let m2 = e.output_masks(1, 2)?;
            let (public, private) = e.reveal_mixed(
                &[&x],
                &[
                    protocol::output::PrivateOutput { x: &x, mask: &m1 },
                    protocol::output::PrivateOutput { x: &x, mask: &m2 },
                ],
            )?;
            Ok((e.party(), to_last, public, private))
        });
        for (me, to_last, public, private) in out {
            let want = Some(vec![Fp::from_i64(42), Fp::from_i64(-5)]);
            assert_eq!(to_last.is_some(), me == n - 1);
            if me == n - 1 {
                assert_eq!(to_last, want);
            }
            assert_eq!(public[0], want.clone().unwrap());
            assert_eq!(private[0].is_some(), me == 0);
            assert_eq!(private[1].is_some(), me == 1);
            for p in private.into_iter().flatten() {
                assert_eq!(Some(p), want);
            }
        }
    }
}

#[test]
fn triples_and_random_ints() {
    let out = run(3, |e| {
        let t = e.triples(5)?;
        let ab = e.mul(&t.a, &t.b)?;
        let diff = ab.sub(&t.c);
        let r = e.random_ints(200, 10)?;
        let bad = e.random_ints(1, 128).is_err();
        Ok((
            e.reveal(&diff)?,
            e.reveal(&r)?,
            bad,
            e.tuples_consumed().triples,
        ))
    });
    let (diff, r, bad, triples) = &out[0];
    assert!(diff.iter().all(|d| d.is_zero()), "c = a·b");
    assert!(r.iter().all(|x| x.to_u128() < 1024));
    assert!(r.iter().any(|x| x.to_u128() >= 512), "top bit used");
    assert!(*bad);
    assert_eq!(*triples, 10);
}
