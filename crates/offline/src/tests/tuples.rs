//! Every tuple type is correct for N = 2 and N = 3: relation and MACs.

use std::sync::Arc;

use field::Fp;
use protocol::prep::{InputMasks, Pairs, Triples, TupleKind};
use protocol::ShareVec;

use super::*;
use crate::Tuples;

#[test]
fn triples_reconstruct_with_valid_macs() {
    for (n_parties, batch, count) in [(2, 4, 9), (3, 5, 7), (2, 64, 64)] {
        let res = run(
            n_parties,
            small(batch),
            None,
            Arc::new(move |m: &mut Mascot, net: &mut Network| m.triples(net, count)),
        );
        let (alpha, ts) = unwrap_all(res);
        let a = open_all(&ts.iter().map(|t| &t.a).collect::<Vec<_>>(), alpha);
        let b = open_all(&ts.iter().map(|t| &t.b).collect::<Vec<_>>(), alpha);
        let c = open_all(&ts.iter().map(|t| &t.c).collect::<Vec<_>>(), alpha);
        assert_eq!(a.len(), count);
        for k in 0..count {
            assert_eq!(c[k], a[k] * b[k], "N={n_parties}: triple {k}");
        }
        // Fresh randomness: no repeated a, and the shares are not all held by one party.
        let mut sorted: Vec<u128> = a.iter().map(|x| x.to_u128()).collect();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), count);
        assert!(ts
            .iter()
            .all(|t| t.a.value_shares().iter().any(|x| !x.is_zero())));
    }
}

#[test]
fn squares_bits_inverses_and_masks_n2_and_n3() {
    for n_parties in [2, 3] {
        let res = run(
            n_parties,
            small(6),
            None,
            Arc::new(|m: &mut Mascot, net: &mut Network| {
                let sq = m.squares(net, 8)?;
                let bits = m.bits(net, 13)?;
                let inv = m.inverses(net, 7)?;
                let masks: Vec<InputMasks> = (0..m.n_parties())
                    .map(|owner| m.input_masks(net, owner, 5))
                    .collect::<Result<_>>()?;
                Ok((sq, bits, inv, masks))
            }),
        );
        let (alpha, outs) = unwrap_all(res);

        let sq: Vec<&Pairs> = outs.iter().map(|o| &o.0).collect();
        let a = open_all(&sq.iter().map(|p| &p.a).collect::<Vec<_>>(), alpha);
        let b = open_all(&sq.iter().map(|p| &p.b).collect::<Vec<_>>(), alpha);
        assert_eq!(a.len(), 8);
        for k in 0..8 {
            assert_eq!(b[k], a[k].square(), "N={n_parties}: square {k}");
        }

        let bits = open_all(&outs.iter().map(|o| &o.1).collect::<Vec<_>>(), alpha);
        assert_eq!(bits.len(), 13);
        assert!(bits.iter().all(|&x| x == Fp::ZERO || x == Fp::ONE));

        let inv: Vec<&Pairs> = outs.iter().map(|o| &o.2).collect();
        let a = open_all(&inv.iter().map(|p| &p.a).collect::<Vec<_>>(), alpha);
        let b = open_all(&inv.iter().map(|p| &p.b).collect::<Vec<_>>(), alpha);
        assert_eq!(a.len(), 7);
        for k in 0..7 {
            assert_eq!(a[k] * b[k], Fp::ONE, "N={n_parties}: inverse pair {k}");
        }

        for owner in 0..n_parties {
            let parts: Vec<&InputMasks> = outs.iter().map(|o| &o.3[owner]).collect();
            let r = open_all(&parts.iter().map(|m| &m.shares).collect::<Vec<_>>(), alpha);
            for (p, m) in parts.iter().enumerate() {
                assert_eq!(m.clear.is_some(), p == owner, "only the owner knows r");
            }
            assert_eq!(parts[owner].clear.as_deref(), Some(&r[..]));
        }
    }
}

#[test]
fn bits_are_balanced() {
    let res = run(
        2,
        small(256),
        None,
        Arc::new(|m: &mut Mascot, net: &mut Network| m.bits(net, 256)),
    );
    let (alpha, bits) = unwrap_all(res);
    let v = open_all(&bits.iter().collect::<Vec<&ShareVec>>(), alpha);
    let ones = v.iter().filter(|&&x| x == Fp::ONE).count();
    assert!(v.iter().all(|&x| x == Fp::ZERO || x == Fp::ONE));
    // 256 fair coins: outside [80, 176] has probability below 2^-40.
    assert!((80..=176).contains(&ones), "{ones} ones in 256 bits");
}

#[test]
fn generate_by_kind_and_stats() {
    let res = run(
        3,
        small(4),
        None,
        Arc::new(|m: &mut Mascot, net: &mut Network| {
            let mut got = Vec::new();
            for kind in [
                TupleKind::Triple,
                TupleKind::Square,
                TupleKind::Bit,
                TupleKind::Inverse,
                TupleKind::InputMask(2),
            ] {
                got.push(m.generate(net, kind, 3)?);
            }
            Ok((got, m.stats()))
        }),
    );
    let (alpha, outs) = unwrap_all(res);
    for (i, kind) in ["triples", "squares", "bits", "inverses", "masks"]
        .iter()
        .enumerate()
    {
        for (got, _) in &outs {
            assert_eq!(got[i].len(), 3, "{kind}");
        }
    }
    let triples: Vec<&Triples> = outs
        .iter()
        .map(|(g, _)| match &g[0] {
            Tuples::Triples(t) => t,
            other => panic!("expected triples, got {other:?}"),
        })
        .collect();
    let a = open_all(&triples.iter().map(|t| &t.a).collect::<Vec<_>>(), alpha);
    let b = open_all(&triples.iter().map(|t| &t.b).collect::<Vec<_>>(), alpha);
    let c = open_all(&triples.iter().map(|t| &t.c).collect::<Vec<_>>(), alpha);
    assert!((0..3).all(|k| c[k] == a[k] * b[k]));
    for (_, s) in &outs {
        assert_eq!(
            (s.triples, s.squares, s.bits, s.inverses, s.input_masks),
            (3, 3, 3, 3, 3)
        );
        assert_eq!(s.batches, 5);
        assert!(s.bytes_sent > 0 && s.bytes_received > 0 && s.rounds > 0);
        assert_eq!(s.base_ots, 4 * 128 * 2);
        assert!(s.ots > 0 && s.cope_values > 0);
    }
}

#[test]
fn a_stored_mac_key_share_is_kept() {
    let nets = net::in_process(2, quick_net());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|mut net| {
            std::thread::spawn(move || {
                let alpha = Fp::from_u64(1000 + net.my_id() as u64);
                let mut m = Mascot::setup(&mut net, Some(alpha), small(2)).unwrap();
                assert_eq!(m.mac_key_share(), alpha);
                m.triples(&mut net, 2).unwrap()
            })
        })
        .collect();
    let ts: Vec<Triples> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let alpha = Fp::from_u64(1000) + Fp::from_u64(1001);
    let a = open_all(&ts.iter().map(|t| &t.a).collect::<Vec<_>>(), alpha);
    let b = open_all(&ts.iter().map(|t| &t.b).collect::<Vec<_>>(), alpha);
    let c = open_all(&ts.iter().map(|t| &t.c).collect::<Vec<_>>(), alpha);
    assert!((0..2).all(|k| c[k] == a[k] * b[k]));
}

#[test]
fn larger_security_parameter_uses_more_products() {
    assert_eq!(crate::triples::tau(40), 3);
    assert_eq!(crate::triples::tau(64), 4);
    assert_eq!(crate::triples::tau(128), 5);
    let cfg = MascotConfig {
        security: 64,
        batch_size: 3,
        ..MascotConfig::default()
    };
    let res = run(
        2,
        cfg,
        None,
        Arc::new(|m: &mut Mascot, net: &mut Network| m.triples(net, 3)),
    );
    let (alpha, ts) = unwrap_all(res);
    let a = open_all(&ts.iter().map(|t| &t.a).collect::<Vec<_>>(), alpha);
    let b = open_all(&ts.iter().map(|t| &t.b).collect::<Vec<_>>(), alpha);
    let c = open_all(&ts.iter().map(|t| &t.c).collect::<Vec<_>>(), alpha);
    assert!((0..3).all(|k| c[k] == a[k] * b[k]));
}

#[test]
fn triples_over_mutual_tls_loopback() {
    let nets = net::tls::loopback_cluster(2, quick_net()).expect("loopback cluster");
    let handles: Vec<_> = nets
        .into_iter()
        .map(|mut net| {
            std::thread::spawn(move || {
                let mut m = Mascot::setup(&mut net, None, small(8)).unwrap();
                let t = m.triples(&mut net, 8).unwrap();
                (m.mac_key_share(), t, net)
            })
        })
        .collect();
    let res: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let alpha: Fp = res.iter().map(|r| r.0).sum();
    let a = open_all(&res.iter().map(|r| &r.1.a).collect::<Vec<_>>(), alpha);
    let b = open_all(&res.iter().map(|r| &r.1.b).collect::<Vec<_>>(), alpha);
    let c = open_all(&res.iter().map(|r| &r.1.c).collect::<Vec<_>>(), alpha);
    assert!((0..8).all(|k| c[k] == a[k] * b[k]));
}

#[test]
fn an_instance_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Mascot>();
}
