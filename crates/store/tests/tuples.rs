//! The tuple store: chunks, reservations on several parties, the invariants around consumption,
//! and the Preprocessing adapter driving the real engine.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::Parties;
use field::Fp;
use protocol::prep::{InputMasks, Pairs, PrepError, Preprocessing, Triples, TupleKind};
use protocol::{Engine, EngineConfig, ShareVec};
use store::{
    ChunkId, ChunkRange, ErrorClass, GenerationHalt, KeyOrigin, RedbTupleStore, Reservation,
    ReservationId, ReservationRequest, ReservedTuples, TupleData, TupleError, TupleStats,
    TupleStore,
};

fn rid(s: &str) -> ReservationId {
    ReservationId::new(s).unwrap()
}

fn req(id: &str, kind: TupleKind, count: u64) -> ReservationRequest {
    ReservationRequest {
        id: rid(id),
        kind,
        count,
    }
}

fn components(d: &TupleData) -> Vec<ShareVec> {
    match d {
        TupleData::Triples(t) => vec![t.a.clone(), t.b.clone(), t.c.clone()],
        TupleData::Squares(p) | TupleData::Inverses(p) => vec![p.a.clone(), p.b.clone()],
        TupleData::Bits(b) => vec![b.clone()],
        TupleData::InputMasks { masks, .. } => vec![masks.shares.clone()],
        other => panic!(
            "{}: binary kinds are tested in binary_tuples.rs",
            other.kind()
        ),
    }
}

fn clear(d: &TupleData) -> Option<Vec<Fp>> {
    match d {
        TupleData::InputMasks { masks, .. } => masks.clear.clone(),
        _ => None,
    }
}

/// `d[start..start+len]` as the store would return it.
fn slice(d: &TupleData, start: usize, len: usize) -> (Vec<ShareVec>, Option<Vec<Fp>>) {
    (
        components(d)
            .iter()
            .map(|c| c.slice(start..start + len))
            .collect(),
        clear(d).map(|c| c[start..start + len].to_vec()),
    )
}

fn concat(parts: Vec<(Vec<ShareVec>, Option<Vec<Fp>>)>) -> (Vec<ShareVec>, Option<Vec<Fp>>) {
    let k = parts[0].0.len();
    let comps = (0..k)
        .map(|i| ShareVec::concat(&parts.iter().map(|p| &p.0[i]).collect::<Vec<_>>()))
        .collect();
    let clear = parts[0]
        .1
        .as_ref()
        .map(|_| parts.iter().flat_map(|p| p.1.clone().unwrap()).collect());
    (comps, clear)
}

fn snapshot(s: &RedbTupleStore, chunks: &[ChunkId]) -> (Vec<TupleStats>, Vec<store::ChunkInfo>) {
    (
        s.stats().unwrap(),
        chunks.iter().map(|c| s.chunk_info(*c).unwrap()).collect(),
    )
}

const ALL_KINDS: [TupleKind; 6] = [
    TupleKind::Triple,
    TupleKind::Square,
    TupleKind::Bit,
    TupleKind::Inverse,
    TupleKind::InputMask(0),
    TupleKind::InputMask(1),
];

#[test]
fn every_kind_round_trips_across_block_boundaries() {
    let mut ps = Parties::new(2);
    for kind in ALL_KINDS {
        // 2500 tuples = 3 blocks of 1024; the reservation crosses both block boundaries.
        let id = ChunkId::random();
        let mut stored = Vec::new();
        for (p, s) in ps.stores.iter().enumerate() {
            let data = TupleData::draw(&mut ps.dealers[p], kind, 2500).unwrap();
            s.store_chunk(id, &data).unwrap();
            s.activate_chunk(id).unwrap();
            stored.push(data);
        }
        let name = format!("rt_{}", store::tuple::kind_label(kind));
        let r = Reservation {
            id: rid(&name),
            kind,
            ranges: vec![
                ChunkRange {
                    chunk: id,
                    start: 1000,
                    len: 1100,
                },
                ChunkRange {
                    chunk: id,
                    start: 3,
                    len: 5,
                },
                ChunkRange {
                    chunk: id,
                    start: 2499,
                    len: 1,
                },
            ],
        };
        for (p, s) in ps.stores.iter().enumerate() {
            s.apply_reservation(&r).unwrap();
            let got = s.read_reserved(&r).unwrap();
            assert_eq!(got.kind(), kind);
            assert_eq!(got.len(), 1106);
            let want = concat(vec![
                slice(&stored[p], 1000, 1100),
                slice(&stored[p], 3, 5),
                slice(&stored[p], 2499, 1),
            ]);
            assert_eq!((components(&got), clear(&got)), want, "{kind} party {p}");
            // Clear mask values exist exactly on the owner.
            if let TupleKind::InputMask(owner) = kind {
                assert_eq!(got.has_clear(), owner == p);
            }
            let info = s.chunk_info(id).unwrap();
            assert_eq!((info.count, info.consumed, info.active), (2500, 1106, true));
        }
    }
}

#[test]
fn three_parties_apply_identical_ranges_and_the_tuples_are_valid() {
    let mut ps = Parties::new(3);
    let alpha: Fp = ps.dealers[0].global_mac_key();
    let c1 = ps.feed(TupleKind::Triple, 600);
    let c2 = ps.feed(TupleKind::Triple, 600);
    let m: Vec<ChunkId> = (0..3)
        .map(|p| ps.feed(TupleKind::InputMask(p), 50))
        .collect();

    // Planning is deterministic: every party would propose the same ranges.
    let plans: Vec<Reservation> = ps
        .stores
        .iter()
        .map(|s| {
            s.plan_reservation(rid("g1_triple"), TupleKind::Triple, 1000)
                .unwrap()
        })
        .collect();
    assert!(plans.iter().all(|p| *p == plans[0]));

    // Party 0 reserves; the reservation travels as JSON; the others apply it.
    let mut reqs = vec![req("g1_triple", TupleKind::Triple, 1000)];
    for p in 0..3 {
        reqs.push(req(&format!("g1_mask{p}"), TupleKind::InputMask(p), 20));
    }
    let rs = ps.stores[0].reserve(&reqs).unwrap();
    assert_eq!(rs[0], plans[0]);
    assert_eq!(
        rs[0].ranges,
        vec![
            ChunkRange {
                chunk: c1,
                start: 0,
                len: 600
            },
            ChunkRange {
                chunk: c2,
                start: 0,
                len: 400
            }
        ]
    );
    let wire = serde_json::to_string(&rs).unwrap();
    for s in &ps.stores[1..] {
        let received: Vec<Reservation> = serde_json::from_str(&wire).unwrap();
        s.apply_reservations(&received).unwrap();
    }

    // Every party now agrees on the stored state.
    let snaps: Vec<_> = ps
        .stores
        .iter()
        .map(|s| snapshot(s, &[c1, c2, m[0], m[1], m[2]]))
        .collect();
    assert!(snaps.iter().all(|x| x.1 == snaps[0].1));
    for st in &ps.stores {
        let t = st.stats_of(TupleKind::Triple).unwrap();
        assert_eq!((t.available, t.consumed, t.reservations), (200, 1000, 1));
    }

    // The shares read on the three parties are shares of valid triples and masks.
    let reads: Vec<Vec<TupleData>> = ps
        .stores
        .iter()
        .map(|s| rs.iter().map(|r| s.read_reserved(r).unwrap()).collect())
        .collect();
    let comp = |p: usize, i: usize, c: usize| components(&reads[p][i])[c].clone();
    let a = common::open(&[&comp(0, 0, 0), &comp(1, 0, 0), &comp(2, 0, 0)], alpha);
    let b = common::open(&[&comp(0, 0, 1), &comp(1, 0, 1), &comp(2, 0, 1)], alpha);
    let c = common::open(&[&comp(0, 0, 2), &comp(1, 0, 2), &comp(2, 0, 2)], alpha);
    assert_eq!(a.len(), 1000);
    for j in 0..1000 {
        assert_eq!(c[j], a[j] * b[j], "triple {j}");
    }
    for owner in 0..3 {
        let r = common::open(
            &[
                &comp(0, 1 + owner, 0),
                &comp(1, 1 + owner, 0),
                &comp(2, 1 + owner, 0),
            ],
            alpha,
        );
        for (p, read) in reads.iter().enumerate() {
            assert_eq!(clear(&read[1 + owner]).is_some(), p == owner);
        }
        assert_eq!(clear(&reads[owner][1 + owner]).unwrap(), r);
    }
}

#[test]
fn the_engine_computes_correctly_on_reserved_tuples() {
    let n = 3;
    let mut ps = Parties::new(n);
    ps.feed(TupleKind::Triple, 100);
    for p in 0..n {
        ps.feed(TupleKind::InputMask(p), 10);
    }
    let mut reqs = vec![req("game_triple", TupleKind::Triple, 2)];
    for p in 0..n {
        reqs.push(req(&format!("game_mask{p}"), TupleKind::InputMask(p), 1));
    }
    let rs = ps.stores[0].reserve(&reqs).unwrap();
    for s in &ps.stores[1..] {
        s.apply_reservations(&rs).unwrap();
    }
    let preps: Vec<ReservedTuples> = ps
        .stores
        .iter()
        .map(|s| {
            let mut t = ReservedTuples::new(s.mac_key_share().unwrap());
            for r in &rs {
                t.push(s.read_reserved(r).unwrap()).unwrap();
            }
            t
        })
        .collect();
    let nets = net::in_process(n, net::NetConfig::default());
    let inputs = [6u64, 7, 11];
    let handles: Vec<_> = nets
        .into_iter()
        .zip(preps)
        .enumerate()
        .map(|(p, (net, prep))| {
            std::thread::spawn(move || {
                let mut e = Engine::new(net, prep, EngineConfig::default());
                let xs = e.input(&[1, 1, 1], &[Fp::from(inputs[p])]).unwrap();
                let xy = e.mul(&xs[0], &xs[1]).unwrap();
                let xyz = e.mul(&xy, &xs[2]).unwrap();
                e.reveal(&xyz).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), vec![Fp::from(6u64 * 7 * 11)]);
    }
}

#[test]
fn applying_twice_is_refused_and_changes_nothing() {
    let mut ps = Parties::new(2);
    let c = ps.feed(TupleKind::Bit, 100);
    let r = ps.stores[0]
        .reserve(&[req("g_bit", TupleKind::Bit, 10)])
        .unwrap()
        .remove(0);
    let s1 = &ps.stores[1];
    s1.apply_reservation(&r).unwrap();
    let before = snapshot(s1, &[c]);

    let e = s1.apply_reservation(&r).unwrap_err();
    assert!(
        matches!(
            e,
            TupleError::AlreadyApplied {
                identical: true,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.class(), ErrorClass::Conflict);
    // Same id, other ranges: also refused, and named as a clash of ids.
    let mut other = r.clone();
    other.ranges[0].start = 50;
    let e = s1.apply_reservation(&other).unwrap_err();
    assert!(
        matches!(
            e,
            TupleError::AlreadyApplied {
                identical: false,
                ..
            }
        ),
        "{e}"
    );
    // Party 0 refuses its own reservation a second time too.
    assert!(matches!(
        ps.stores[0].apply_reservation(&r),
        Err(TupleError::AlreadyApplied { .. })
    ));
    assert!(matches!(
        ps.stores[0].reserve(&[req("g_bit", TupleKind::Bit, 10)]),
        Err(TupleError::AlreadyApplied { .. })
    ));
    assert_eq!(snapshot(s1, &[c]), before);
    // After release the record is gone, but the ranges stay consumed.
    s1.release(&r.id).unwrap();
    let e = s1.apply_reservation(&r).unwrap_err();
    assert!(matches!(e, TupleError::RangeConsumed { .. }), "{e}");
}

#[test]
fn bad_or_overlapping_reservations_are_refused_atomically() {
    let mut ps = Parties::new(2);
    let t = ps.feed(TupleKind::Triple, 100);
    let b = ps.feed(TupleKind::Bit, 100);
    let s = &ps.stores[1];
    let first = Reservation {
        id: rid("first"),
        kind: TupleKind::Triple,
        ranges: vec![ChunkRange {
            chunk: t,
            start: 10,
            len: 10,
        }],
    };
    s.apply_reservation(&first).unwrap();
    let before = snapshot(s, &[t, b]);

    let good = Reservation {
        id: rid("good"),
        kind: TupleKind::Triple,
        ranges: vec![ChunkRange {
            chunk: t,
            start: 30,
            len: 10,
        }],
    };
    let with_ranges = |id: &str, kind: TupleKind, ranges: Vec<ChunkRange>| Reservation {
        id: rid(id),
        kind,
        ranges,
    };
    let r = |chunk, start, len| ChunkRange { chunk, start, len };
    let cases: Vec<(Reservation, &str)> = vec![
        (
            with_ranges("overlap", TupleKind::Triple, vec![r(t, 15, 10)]),
            "already consumed",
        ),
        (
            with_ranges("inner", TupleKind::Triple, vec![r(t, 50, 10), r(t, 55, 2)]),
            "already consumed",
        ),
        (
            with_ranges(
                "unknown",
                TupleKind::Triple,
                vec![r(ChunkId::random(), 0, 1)],
            ),
            "no chunk",
        ),
        (
            with_ranges("short", TupleKind::Triple, vec![r(t, 95, 10)]),
            "holds only 100",
        ),
        (
            with_ranges("huge", TupleKind::Triple, vec![r(t, u64::MAX, 2)]),
            "holds only 100",
        ),
        (
            with_ranges("kind", TupleKind::Triple, vec![r(b, 0, 1)]),
            "holds random bits",
        ),
        (
            with_ranges("empty", TupleKind::Triple, vec![r(t, 60, 0)]),
            "empty range",
        ),
        (good.clone(), "twice in one batch"),
    ];
    for (bad, needle) in cases {
        // The good reservation comes first in the batch, so it was marked before the failure.
        let e = s.apply_reservations(&[good.clone(), bad]).unwrap_err();
        assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
        assert_eq!(snapshot(s, &[t, b]), before, "{needle}: state changed");
    }
    // Nothing of the good reservation was kept: it still applies, and reads what it names.
    s.apply_reservation(&good).unwrap();
    assert_eq!(s.read_reserved(&good).unwrap().len(), 10);
}

#[test]
fn a_reservation_is_read_once_and_only_after_applying() {
    let mut ps = Parties::new(2);
    ps.feed(TupleKind::Square, 10);
    let r = ps.stores[0]
        .plan_reservation(rid("g_sq"), TupleKind::Square, 4)
        .unwrap();
    let s = &ps.stores[1];
    assert!(matches!(
        s.read_reserved(&r),
        Err(TupleError::NotApplied { .. })
    ));
    s.apply_reservation(&r).unwrap();
    let mut forged = r.clone();
    forged.ranges[0].start = 5;
    assert!(matches!(
        s.read_reserved(&forged),
        Err(TupleError::ReservationMismatch { .. })
    ));
    assert_eq!(s.read_reserved(&r).unwrap().len(), 4);
    assert!(matches!(
        s.read_reserved(&r),
        Err(TupleError::AlreadyRead { .. })
    ));
    s.release(&r.id).unwrap();
    assert!(matches!(
        s.read_reserved(&r),
        Err(TupleError::NotApplied { .. })
    ));
}

#[test]
fn insufficient_or_inactive_tuples_are_refused_without_changes() {
    let mut ps = Parties::new(2);
    let c = ps.feed(TupleKind::Inverse, 30);
    let s0 = &ps.stores[0];
    // Stored but not activated: not plannable.
    let pending = ChunkId::random();
    let data = TupleData::draw(&mut ps.dealers[0], TupleKind::Inverse, 50).unwrap();
    s0.store_chunk(pending, &data).unwrap();
    let st = s0.stats_of(TupleKind::Inverse).unwrap();
    assert_eq!((st.available, st.inactive), (30, 50));
    let before = snapshot(s0, &[c, pending]);
    let e = s0
        .reserve(&[
            req("ok", TupleKind::Inverse, 10),
            req("big", TupleKind::Inverse, 21),
        ])
        .unwrap_err();
    assert!(
        matches!(
            e,
            TupleError::Insufficient {
                needed: 21,
                available: 20,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.class(), ErrorClass::Exhausted);
    assert_eq!(snapshot(s0, &[c, pending]), before);
    // Activation makes the chunk plannable, after the older one.
    assert!(s0.activate_chunk(pending).unwrap());
    assert!(!s0.activate_chunk(pending).unwrap());
    let r = s0
        .reserve(&[req("big", TupleKind::Inverse, 40)])
        .unwrap()
        .remove(0);
    assert_eq!(
        r.ranges,
        vec![
            ChunkRange {
                chunk: c,
                start: 0,
                len: 30
            },
            ChunkRange {
                chunk: pending,
                start: 0,
                len: 10
            }
        ]
    );
    let st = s0.stats_of(TupleKind::Inverse).unwrap();
    assert_eq!((st.available, st.inactive, st.consumed), (40, 0, 40));
    // Kinds never stored have zero stats and cannot be reserved.
    assert_eq!(s0.stats_of(TupleKind::Bit).unwrap().available, 0);
    assert!(matches!(
        s0.reserve(&[req("x", TupleKind::Bit, 1)]),
        Err(TupleError::Insufficient { available: 0, .. })
    ));
    // Zero tuples is a valid, empty reservation.
    let empty = s0
        .reserve(&[req("none", TupleKind::Bit, 0)])
        .unwrap()
        .remove(0);
    assert!(empty.ranges.is_empty());
    assert!(s0.read_reserved(&empty).unwrap().is_empty());
}

#[test]
fn release_purges_used_up_chunks_and_ids_are_never_reused() {
    let mut ps = Parties::new(2);
    let c = ps.feed(TupleKind::Bit, 100);
    let s = &ps.stores[0];
    let rs = s
        .reserve(&[req("a", TupleKind::Bit, 50), req("b", TupleKind::Bit, 50)])
        .unwrap();
    assert!(s.read_reserved(&rs[0]).is_ok());
    s.release(&rs[0].id).unwrap();
    assert!(!s.chunk_info(c).unwrap().purged, "b still needs the data");
    assert_eq!(s.read_reserved(&rs[1]).unwrap().len(), 50);
    s.release(&rs[1].id).unwrap();
    let info = s.chunk_info(c).unwrap();
    assert!(info.purged);
    assert_eq!(info.consumed, 100);
    // Releasing again is harmless.
    s.release(&rs[1].id).unwrap();
    // The id stays taken.
    let data = TupleData::draw(&mut ps.dealers[0], TupleKind::Bit, 5).unwrap();
    let e = s.store_chunk(c, &data).unwrap_err();
    assert!(matches!(e, TupleError::ChunkExists { .. }), "{e}");
}

#[test]
fn discarding_a_chunk_drops_its_tuples() {
    let mut ps = Parties::new(2);
    let used = ps.feed(TupleKind::Bit, 10);
    let s = &ps.stores[0];
    let r = s.reserve(&[req("g", TupleKind::Bit, 5)]).unwrap().remove(0);
    assert!(matches!(
        s.discard_chunk(used),
        Err(TupleError::ChunkInUse { .. })
    ));
    let lonely = ChunkId::random();
    let data = TupleData::draw(&mut ps.dealers[0], TupleKind::Bit, 20).unwrap();
    s.store_chunk(lonely, &data).unwrap();
    assert_eq!(s.stats_of(TupleKind::Bit).unwrap().inactive, 20);
    s.discard_chunk(lonely).unwrap();
    let st = s.stats_of(TupleKind::Bit).unwrap();
    assert_eq!((st.available, st.inactive, st.consumed), (5, 0, 5));
    assert!(s.chunk_info(lonely).unwrap().purged);
    s.release(&r.id).unwrap();
    s.discard_chunk(used).unwrap();
    assert_eq!(s.stats_of(TupleKind::Bit).unwrap().available, 0);
}

#[test]
fn malformed_chunks_are_refused_and_store_nothing() {
    let mut ps = Parties::new(2);
    let s1 = &ps.stores[1];
    let id = ChunkId::random();
    let masks0 = TupleData::draw(&mut ps.dealers[0], TupleKind::InputMask(1), 4).unwrap();
    // Party 0's view of party 1's masks has no clear values; party 1 must have them.
    let e = s1.store_chunk(id, &masks0).unwrap_err();
    assert!(e.to_string().contains("without their clear values"), "{e}");
    let masks1 = TupleData::draw(&mut ps.dealers[1], TupleKind::InputMask(1), 4).unwrap();
    let e = ps.stores[0].store_chunk(id, &masks1).unwrap_err();
    assert!(e.to_string().contains("only the owner"), "{e}");
    let ragged = TupleData::Triples(Triples {
        a: common::counting_shares(0, 3),
        b: common::counting_shares(0, 3),
        c: common::counting_shares(0, 2),
    });
    assert!(matches!(
        s1.store_chunk(id, &ragged),
        Err(TupleError::MalformedTuples { .. })
    ));
    let empty = TupleData::Squares(Pairs::default());
    assert!(matches!(
        s1.store_chunk(id, &empty),
        Err(TupleError::BadChunkSize { count: 0 })
    ));
    let short_clear = TupleData::InputMasks {
        owner: 1,
        masks: InputMasks {
            shares: common::counting_shares(0, 3),
            clear: Some(vec![Fp::ZERO; 2]),
        },
    };
    assert!(s1.store_chunk(id, &short_clear).is_err());
    let far = TupleData::InputMasks {
        owner: 1 << 24,
        masks: InputMasks {
            shares: common::counting_shares(0, 1),
            clear: None,
        },
    };
    assert!(s1.store_chunk(id, &far).is_err());
    assert!(matches!(
        s1.plan_reservation(rid("far"), TupleKind::InputMask(1 << 24), 1),
        Err(TupleError::MalformedTuples { .. })
    ));
    assert!(matches!(
        s1.chunk_info(id),
        Err(TupleError::UnknownChunk { .. })
    ));
    assert!(s1.stats().unwrap().is_empty());
}

#[test]
fn mac_key_share_and_party_id_are_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let alpha = Fp::from(12345u64);
    {
        let s = RedbTupleStore::open(&path, 2).unwrap();
        assert!(matches!(s.mac_key_share(), Err(TupleError::MacKeyMissing)));
        s.set_mac_key_share(alpha, KeyOrigin::Mascot).unwrap();
        s.set_mac_key_share(alpha, KeyOrigin::Mascot).unwrap();
        let e = s
            .set_mac_key_share(Fp::from(1u64), KeyOrigin::Mascot)
            .unwrap_err();
        assert!(matches!(e, TupleError::MacKeyMismatch));
        assert!(!e.to_string().contains("12345"));
    }
    let e = RedbTupleStore::open(&path, 1).unwrap_err();
    assert!(
        e.to_string().contains("belongs to party 2, not party 1"),
        "{e}"
    );
    let s = RedbTupleStore::open(&path, 2).unwrap();
    assert_eq!(s.mac_key_share().unwrap(), alpha);
    assert_eq!(s.party(), 2);
}

#[test]
fn a_restart_voids_unread_reservations_and_keeps_everything_consumed() {
    let mut ps = Parties::new(2);
    let c = ps.feed(TupleKind::Triple, 100);
    let path = ps.path(1);
    let r0 = ps.stores[0]
        .reserve(&[req("before_a", TupleKind::Triple, 30)])
        .unwrap()
        .remove(0);
    let r1 = ps.stores[0]
        .reserve(&[req("before_b", TupleKind::Triple, 30)])
        .unwrap()
        .remove(0);
    ps.stores[1]
        .apply_reservations(&[r0.clone(), r1.clone()])
        .unwrap();
    let served_before = ps.stores[1].read_reserved(&r0).unwrap();
    // r1 is applied but never read when the party goes down.
    let s1 = ps.stores.remove(1);
    drop(s1);
    let s1 = RedbTupleStore::open(&path, 1).unwrap();
    assert!(matches!(
        s1.read_reserved(&r0),
        Err(TupleError::NotApplied { .. })
    ));
    assert!(matches!(
        s1.read_reserved(&r1),
        Err(TupleError::NotApplied { .. })
    ));
    // Their ranges stay consumed; re-applying them fails.
    for r in [&r0, &r1] {
        assert!(matches!(
            s1.apply_reservation(r),
            Err(TupleError::RangeConsumed { .. })
        ));
    }
    let info = s1.chunk_info(c).unwrap();
    assert_eq!(info.consumed, 60);
    let st = s1.stats_of(TupleKind::Triple).unwrap();
    assert_eq!((st.available, st.consumed, st.reservations), (40, 60, 2));
    // The next reservation gets fresh tuples only.
    let plan = s1
        .plan_reservation(rid("after"), TupleKind::Triple, 40)
        .unwrap();
    assert_eq!(
        plan.ranges,
        vec![ChunkRange {
            chunk: c,
            start: 60,
            len: 40
        }]
    );
    s1.apply_reservation(&plan).unwrap();
    let after = s1.read_reserved(&plan).unwrap();
    let before_vals: HashSet<[u8; 16]> = components(&served_before)[0]
        .value_shares()
        .iter()
        .map(|v| v.to_mont_bytes())
        .collect();
    assert!(components(&after)[0]
        .value_shares()
        .iter()
        .all(|v| !before_vals.contains(&v.to_mont_bytes())));
    assert!(matches!(
        s1.plan_reservation(rid("more"), TupleKind::Triple, 1),
        Err(TupleError::Insufficient { .. })
    ));
}

#[test]
fn concurrent_reservations_on_party_0_never_overlap() {
    let mut ps = Parties::new(1);
    for _ in 0..4 {
        ps.feed(TupleKind::Bit, 500);
    }
    let s: Arc<RedbTupleStore> = Arc::new(ps.stores.remove(0));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                (0..10)
                    .map(|g| {
                        s.reserve(&[req(&format!("t{t}g{g}"), TupleKind::Bit, 37)])
                            .unwrap()
                            .remove(0)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut used: HashSet<(ChunkId, u64)> = HashSet::new();
    for h in handles {
        for r in h.join().unwrap() {
            assert_eq!(r.count(), 37);
            for range in r.ranges {
                for i in range.start..range.start + range.len {
                    assert!(used.insert((range.chunk, i)), "tuple handed out twice");
                }
            }
        }
    }
    assert_eq!(used.len(), 4 * 10 * 37);
    assert_eq!(s.stats_of(TupleKind::Bit).unwrap().available, 2000 - 1480);
}

#[test]
fn the_adapter_serves_batches_in_order_and_reports_exhaustion() {
    let mut ps = Parties::new(2);
    let alpha = ps.dealers[1].mac_key_share();
    let t1 = TupleData::draw(&mut ps.dealers[1], TupleKind::Triple, 5).unwrap();
    let t2 = TupleData::draw(&mut ps.dealers[1], TupleKind::Triple, 5).unwrap();
    let m1 = TupleData::draw(&mut ps.dealers[1], TupleKind::InputMask(1), 3).unwrap();
    let m2 = TupleData::draw(&mut ps.dealers[1], TupleKind::InputMask(1), 3).unwrap();
    let mut prep = ReservedTuples::new(alpha);
    assert_eq!(prep.mac_key_share(), alpha);
    prep.push(t1.clone()).unwrap();
    prep.push(m1.clone()).unwrap();
    let first = prep.triples(3).unwrap();
    prep.push(t2.clone()).unwrap();
    let second = prep.triples(7).unwrap();
    let all = concat(vec![slice(&t1, 0, 5), slice(&t2, 0, 5)]);
    assert_eq!(first.a, all.0[0].slice(0..3));
    assert_eq!(second.c, all.0[2].slice(3..10));
    assert!(matches!(
        prep.triples(1),
        Err(PrepError::Exhausted {
            kind: TupleKind::Triple,
            needed: 1,
            available: 0
        })
    ));
    let a = prep.input_masks(1, 2).unwrap();
    prep.push(m2.clone()).unwrap();
    let b = prep.input_masks(1, 4).unwrap();
    let masks = concat(vec![slice(&m1, 0, 3), slice(&m2, 0, 3)]);
    let clear_all = masks.1.unwrap();
    assert_eq!(a.clear.unwrap(), clear_all[0..2].to_vec());
    assert_eq!(b.clear.unwrap(), clear_all[2..6].to_vec());
    assert_eq!(b.shares, masks.0[0].slice(2..6));
    assert_eq!(prep.available(TupleKind::InputMask(1)), 0);
    assert!(prep.input_masks(0, 1).is_err());
    assert!(prep.input_masks(0, 0).unwrap().shares.is_empty());
    assert!(prep.bits(1).is_err());
    assert!(format!("{prep:?}").contains("triples: 0"));
}

#[test]
fn reservations_serialize_as_documented() {
    let chunk: ChunkId = "3f2504e0-4f89-41d3-9a0c-0305e82c3301".parse().unwrap();
    let r = Reservation {
        id: ReservationId::for_request("game-7", TupleKind::InputMask(2)).unwrap(),
        kind: TupleKind::InputMask(2),
        ranges: vec![ChunkRange {
            chunk,
            start: 5,
            len: 10,
        }],
    };
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(
        json,
        r#"{"id":"game-7_input-mask-2","kind":"input-mask-2","ranges":[{"chunk":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","start":5,"len":10}]}"#
    );
    assert_eq!(serde_json::from_str::<Reservation>(&json).unwrap(), r);
    assert!(
        serde_json::from_str::<Reservation>(&json.replace("input-mask-2\",\"r", "quad\",\"r"))
            .is_err()
    );
    assert!(serde_json::from_str::<Reservation>(&json.replace("game-7_input-mask-2", "")).is_err());
    assert!(ReservationId::new("has space").is_err());
}

#[test]
fn a_reservation_may_name_a_chunk_still_inactive_here_after_a_lost_commit() {
    let mut ps = Parties::new(2);
    // Both parties stored the chunk; party 0 activated it, party 1 never heard the commit.
    let id = ChunkId::random();
    for (d, s) in ps.dealers.iter_mut().zip(&ps.stores) {
        let data = TupleData::draw(d, TupleKind::Triple, 40).unwrap();
        s.store_chunk(id, &data).unwrap();
    }
    assert!(ps.stores[0].activate_chunk(id).unwrap());
    let r = ps.stores[0]
        .reserve(&[req("g", TupleKind::Triple, 25)])
        .unwrap()
        .remove(0);
    // Party 1 applies it from the inactive chunk, and reads the same tuples party 0 reads.
    let s1 = &ps.stores[1];
    s1.apply_reservation(&r).unwrap();
    let st = s1.stats_of(TupleKind::Triple).unwrap();
    assert_eq!((st.available, st.inactive, st.consumed), (0, 15, 25));
    let a = ps.stores[0].read_reserved(&r).unwrap();
    let b = s1.read_reserved(&r).unwrap();
    assert_eq!(a.len(), 25);
    assert_eq!(b.len(), 25);
    // Never twice.
    let e = s1.apply_reservation(&r).unwrap_err();
    assert!(matches!(e, TupleError::AlreadyApplied { .. }), "{e}");
}

/// Key guard: a dealer-made store never becomes a MASCOT store, the halt record survives a
/// restart until a rekey, and a rekey discards every tuple made under the old key.
#[test]
fn a_store_keeps_its_generator_and_a_rekey_discards_old_tuples() {
    let ps = Parties::new(2);
    let s = &ps.stores[0];
    assert_eq!(s.key_origin().unwrap(), Some(KeyOrigin::InsecureDealer));
    let e = s.check_origin(KeyOrigin::Mascot).unwrap_err();
    assert!(matches!(e, TupleError::GeneratorMismatch { .. }), "{e}");
    assert!(e.to_string().contains("fresh storage path"), "{e}");
    let alpha = s.mac_key_share().unwrap();
    let e = s.set_mac_key_share(alpha, KeyOrigin::Mascot).unwrap_err();
    assert!(matches!(e, TupleError::GeneratorMismatch { .. }), "{e}");
    // A dealer store cannot be rekeyed into a MASCOT one either.
    assert!(matches!(
        s.rekey(Fp::from(7u64)).unwrap_err(),
        TupleError::GeneratorMismatch { .. }
    ));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.redb");
    let mut dealer = protocol::prep::InsecureDealer::new(0, 2, [9; 32]);
    let old = Fp::from(1111u64);
    {
        let m = RedbTupleStore::open(&path, 0).unwrap();
        assert_eq!(m.key_origin().unwrap(), None);
        m.check_origin(KeyOrigin::Mascot).unwrap();
        m.set_mac_key_share(old, KeyOrigin::Mascot).unwrap();
        let id = ChunkId::random();
        let data = TupleData::draw(&mut dealer, TupleKind::Triple, 10).unwrap();
        m.store_chunk(id, &data).unwrap();
        m.activate_chunk(id).unwrap();
        assert_eq!(m.stats_of(TupleKind::Triple).unwrap().available, 10);
        assert_eq!(m.generation_halt().unwrap(), None);
        let first = m
            .record_generation_halt(GenerationHalt {
                at_ms: 1,
                step: "authentication".into(),
                peer: Some(1),
                job: "job-1".into(),
                reason: "the authentication check failed".into(),
                failures: 0,
            })
            .unwrap();
        assert_eq!(first.failures, 1);
        let second = m
            .record_generation_halt(GenerationHalt {
                at_ms: 2,
                step: "sacrifice".into(),
                peer: None,
                job: "job-2".into(),
                reason: "x".into(),
                failures: 0,
            })
            .unwrap();
        assert_eq!(
            (second.step.as_str(), second.failures),
            ("authentication", 2)
        );
    }
    let m = RedbTupleStore::open(&path, 0).unwrap();
    let h = m
        .generation_halt()
        .unwrap()
        .expect("the halt survives a restart");
    assert_eq!(
        (h.step.as_str(), h.peer, h.failures),
        ("authentication", Some(1), 2)
    );
    assert_eq!(m.key_generation().unwrap(), 0);
    let new = Fp::from(2222u64);
    m.rekey(new).unwrap();
    assert_eq!(m.mac_key_share().unwrap(), new);
    assert_eq!(m.key_generation().unwrap(), 1);
    assert_eq!(m.generation_halt().unwrap(), None);
    assert_eq!(m.key_origin().unwrap(), Some(KeyOrigin::Mascot));
    let st = m.stats_of(TupleKind::Triple).unwrap();
    assert_eq!((st.available, st.inactive), (0, 0));
    let e = m
        .reserve(&[ReservationRequest {
            id: ReservationId::new("g_triple").unwrap(),
            kind: TupleKind::Triple,
            count: 1,
        }])
        .unwrap_err();
    assert!(matches!(e, TupleError::Insufficient { .. }), "{e}");
}

/// A chunk stored under the old key (an inactive one kept across a rekey by a racing job)
/// is refused by reservations.
#[test]
fn chunks_from_another_key_are_never_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let m = RedbTupleStore::open(dir.path().join("m.redb"), 0).unwrap();
    let mut dealer = protocol::prep::InsecureDealer::new(0, 2, [3; 32]);
    let id = ChunkId::random();
    // Stored before any key: stamped with no origin.
    m.store_chunk(
        id,
        &TupleData::draw(&mut dealer, TupleKind::Bit, 4).unwrap(),
    )
    .unwrap();
    m.set_mac_key_share(Fp::from(5u64), KeyOrigin::Mascot)
        .unwrap();
    m.activate_chunk(id).unwrap();
    let r = Reservation {
        id: ReservationId::new("g_bit").unwrap(),
        kind: TupleKind::Bit,
        ranges: vec![ChunkRange {
            chunk: id,
            start: 0,
            len: 1,
        }],
    };
    let e = m.apply_reservations(&[r]).unwrap_err();
    assert!(matches!(e, TupleError::ForeignChunk { .. }), "{e}");
    assert_eq!(m.stats_of(TupleKind::Bit).unwrap().consumed, 0);
}

/// Epochs: a store's counter goes up at every open and with every consumption; a new run
/// (boot id) of a peer must start above everything seen from it. A copy taken before tuples were
/// consumed, restored later, starts a run at or below what the peer saw: refused until its
/// operator discards its tuples. Reports of one run may come in any order.
#[test]
fn a_rolled_back_peer_is_refused_until_it_discards_its_tuples() {
    let mut ps = Parties::new(2);
    let a = RedbTupleStore::open(ps.dir.path().join("observer.redb"), 0).unwrap();
    let b_path = ps.path(1);
    let backup = ps.dir.path().join("b-backup.redb");
    // Tuples for party 1 to consume.
    let id = ChunkId::random();
    let data = TupleData::draw(&mut ps.dealers[1], TupleKind::Triple, 8).unwrap();
    ps.stores[1].store_chunk(id, &data).unwrap();
    ps.stores[1].activate_chunk(id).unwrap();
    let e1 = ps.stores[1].epoch().unwrap();
    a.observe_peer_epoch(1, e1).unwrap();
    std::fs::copy(&b_path, &backup).unwrap();
    // Party 1 consumes tuples after the copy: its counter moves on, and the peer sees it.
    for k in 0..3 {
        ps.stores[1]
            .reserve(&[ReservationRequest {
                id: ReservationId::new(format!("g{k}_triple")).unwrap(),
                kind: TupleKind::Triple,
                count: 1,
            }])
            .unwrap();
    }
    let e2 = ps.stores[1].epoch().unwrap();
    assert_eq!((e2.counter, e2.boot), (e1.counter + 3, e1.boot));
    a.observe_peer_epoch(1, e2).unwrap();
    // An older report of the same run (a session that started earlier) is fine.
    a.observe_peer_epoch(1, e1).unwrap();
    // The copy comes back: a new run at the copy's counter + 1.
    ps.stores.pop();
    std::fs::copy(&backup, &b_path).unwrap();
    let restored = RedbTupleStore::open(&b_path, 1).unwrap();
    let e3 = restored.epoch().unwrap();
    assert_eq!(e3.counter, e1.counter + 1);
    assert_ne!(e3.boot, e1.boot);
    let e = a.observe_peer_epoch(1, e3).unwrap_err();
    assert!(
        matches!(e, TupleError::PeerRolledBack { peer: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("discard-tuples"), "{e}");
    // The refusal survives the observer's restart.
    drop(a);
    let a = RedbTupleStore::open(ps.dir.path().join("observer.redb"), 0).unwrap();
    assert!(a.observe_peer_epoch(1, e3).is_err());
    // The operator's way back: every tuple discarded, the epoch moved past the peer's.
    let fixed = restored.discard_all_tuples(e2.counter + 1).unwrap();
    assert!(fixed.counter > e2.counter);
    assert_eq!(restored.stats_of(TupleKind::Triple).unwrap().available, 0);
    a.observe_peer_epoch(1, fixed).unwrap();
    // A normal restart (new run above what was seen) is accepted.
    drop(restored);
    let again = RedbTupleStore::open(&b_path, 1).unwrap().epoch().unwrap();
    a.observe_peer_epoch(1, again).unwrap();
}
