//! Binary-domain tuples in the tuple store: binary triples, daBits, edaBits and wide edaBits
//! of several shapes stored, reserved and read back on several parties (and rebuilt from every
//! party's shares), the binary MAC key share Δ_i beside α_i, and the rules that keep binary
//! tuples from being used twice or under another key.

mod common;

use common::Parties;
use field::{Fp, Gf128};
use protocol::prep::{Preprocessing, TupleKind};
use store::tuple::{is_binary, kind_label, parse_kind_label};
use store::{
    ChunkId, ChunkRange, KeyOrigin, RedbTupleStore, Reservation, ReservationId, ReservationRequest,
    ReservedTuples, TupleData, TupleError, TupleStore,
};

const BINARY_KINDS: [TupleKind; 5] = [
    TupleKind::BitTriple,
    TupleKind::DaBit,
    TupleKind::EdaBit { bits: 16, extra: 0 },
    TupleKind::EdaBit {
        bits: 20,
        extra: 60,
    },
    TupleKind::WideEdaBit {
        bits: 64,
        width: 105,
    },
];

fn rid(s: &str) -> ReservationId {
    ReservationId::new(s).unwrap()
}

/// One party's tuples, tuple by tuple: the arithmetic (value, MAC) pairs and the binary
/// (bit, MAC) pairs of each, so that slices and concatenations compare exactly.
type Row = (Vec<(Fp, Fp)>, Vec<(bool, Gf128)>);

fn rows(d: &TupleData) -> Vec<Row> {
    let n = d.len();
    let arith = |s: &protocol::ShareVec, j: usize| (s.value_shares()[j], s.mac_shares()[j]);
    let bin = |b: &protocol::binary::BitShares, j: usize| (b.value_bit(j), b.mac_shares()[j]);
    (0..n)
        .map(|j| match d {
            TupleData::BitTriples(t) => (vec![], vec![bin(&t.a, j), bin(&t.b, j), bin(&t.c, j)]),
            TupleData::DaBits(x) => (vec![arith(&x.arith, j)], vec![bin(&x.bin, j)]),
            TupleData::EdaBits(e) => (
                vec![arith(&e.low, j), arith(&e.high, j)],
                (0..e.bits as usize)
                    .map(|i| bin(&e.bin, i * n + j))
                    .collect(),
            ),
            TupleData::WideEdaBits(e) => (
                vec![arith(&e.value, j)],
                (0..e.bits as usize)
                    .map(|i| bin(&e.bin, i * n + j))
                    .collect(),
            ),
            other => panic!("not a binary kind: {}", other.kind()),
        })
        .collect()
}

/// Every party's rows of one tuple, opened: the arithmetic values and bits, after checking
/// every MAC against the global keys.
fn open(parties: &[Row], alpha: Fp, delta: Gf128) -> (Vec<Fp>, Vec<bool>) {
    let na = parties[0].0.len();
    let nb = parties[0].1.len();
    let values = (0..na)
        .map(|i| {
            let v = parties.iter().fold(Fp::ZERO, |a, r| a + r.0[i].0);
            let m = parties.iter().fold(Fp::ZERO, |a, r| a + r.0[i].1);
            assert_eq!(m, alpha * v, "arithmetic MAC");
            v
        })
        .collect();
    let bits = (0..nb)
        .map(|i| {
            let b = parties.iter().fold(false, |a, r| a ^ r.1[i].0);
            let m = parties.iter().fold(Gf128::ZERO, |a, r| a + r.1[i].1);
            assert_eq!(m, delta.select(b), "binary MAC");
            b
        })
        .collect();
    (values, bits)
}

/// The relation each kind promises, on opened values.
fn check_relation(kind: TupleKind, values: &[Fp], bits: &[bool]) {
    let from_bits = |bits: &[bool]| {
        bits.iter()
            .enumerate()
            .fold(0u128, |a, (i, &b)| a | (u128::from(b) << i))
    };
    match kind {
        TupleKind::BitTriple => assert_eq!(bits[2], bits[0] & bits[1], "c = a ∧ b"),
        TupleKind::DaBit => assert_eq!(values[0], Fp::from(bits[0]), "one bit in both domains"),
        TupleKind::EdaBit { extra, .. } => {
            assert_eq!(values[0].to_u128(), from_bits(bits), "low part = its bits");
            assert!(values[1].to_u128() < 1 << extra, "high part below 2^extra");
        }
        TupleKind::WideEdaBit { bits: m, width } => {
            let v = values[0].to_u128();
            assert!(v < 4 << width, "R < N·2^w (N ≤ 3)");
            assert_eq!(v & ((1 << m) - 1), from_bits(bits), "low bits of R");
        }
        _ => unreachable!(),
    }
}

#[test]
fn binary_kinds_round_trip_across_blocks_and_rebuild_on_2_and_3_parties() {
    for n in [2, 3] {
        let mut ps = Parties::new(n);
        let alpha = ps.dealers[0].global_mac_key();
        let delta = ps.dealers[0].global_binary_key();
        for kind in BINARY_KINDS {
            // 2100 tuples: 3 blocks of 1024; the reservation crosses both block boundaries.
            let id = ChunkId::random();
            let mut stored = Vec::new();
            for (p, s) in ps.stores.iter().enumerate() {
                let data = TupleData::draw(&mut ps.dealers[p], kind, 2100).unwrap();
                s.store_chunk(id, &data).unwrap();
                s.activate_chunk(id).unwrap();
                stored.push(rows(&data));
            }
            let ranges = [(1000, 1060), (3, 5), (2099, 1)];
            let r = Reservation {
                id: rid(&format!("rt_{}", kind_label(kind))),
                kind,
                ranges: ranges
                    .iter()
                    .map(|&(start, len)| ChunkRange {
                        chunk: id,
                        start,
                        len,
                    })
                    .collect(),
            };
            let mut got = Vec::new();
            for (p, s) in ps.stores.iter().enumerate() {
                s.apply_reservation(&r).unwrap();
                let data = s.read_reserved(&r).unwrap();
                assert_eq!(data.kind(), kind);
                let want: Vec<Row> = ranges
                    .iter()
                    .flat_map(|&(start, len)| {
                        stored[p][start as usize..(start + len) as usize].to_vec()
                    })
                    .collect();
                let have = rows(&data);
                assert_eq!(have, want, "{kind}, party {p} of {n}");
                got.push(have);
                let info = s.chunk_info(id).unwrap();
                assert_eq!((info.count, info.consumed), (2100, 1066));
            }
            for j in 0..got[0].len() {
                let parties: Vec<Row> = got.iter().map(|g| g[j].clone()).collect();
                let (values, bits) = open(&parties, alpha, delta);
                check_relation(kind, &values, &bits);
            }
            for s in &ps.stores {
                let st = s.stats_of(kind).unwrap();
                assert_eq!((st.available, st.consumed), (2100 - 1066, 1066), "{kind}");
            }
        }
    }
}

#[test]
fn reserved_binary_tuples_feed_the_engine_with_the_binary_key() {
    let mut ps = Parties::new(2);
    let kind = TupleKind::WideEdaBit {
        bits: 64,
        width: 105,
    };
    let id = ChunkId::random();
    for (p, s) in ps.stores.iter().enumerate() {
        let data = TupleData::draw(&mut ps.dealers[p], kind, 50).unwrap();
        s.store_chunk(id, &data).unwrap();
        s.activate_chunk(id).unwrap();
    }
    let r = ps.stores[0]
        .reserve(&[ReservationRequest {
            id: rid("engine_wide"),
            kind,
            count: 50,
        }])
        .unwrap();
    ps.stores[1].apply_reservations(&r).unwrap();
    for (p, s) in ps.stores.iter().enumerate() {
        let mut buf = ReservedTuples::new(s.mac_key_share().unwrap());
        let data = s.read_reserved(&r[0]).unwrap();
        // Binary tuples need the binary key share first.
        let e = buf.push(data.clone()).unwrap_err();
        assert!(matches!(e, TupleError::MalformedTuples { .. }), "{e}");
        let delta = s.binary_key_share().unwrap().unwrap();
        assert_eq!(Some(delta), ps.dealers[p].binary_key_share());
        buf.set_binary_key_share(delta);
        buf.push(data).unwrap();
        assert_eq!(buf.binary_key_share(), Some(delta));
        assert_eq!(buf.available(kind), 50);
        let w = buf.wide_edabits(30, 64, 105).unwrap();
        assert_eq!((w.value.len(), w.bin.len()), (30, 30 * 64));
        assert_eq!(buf.available(kind), 20);
        assert!(buf.wide_edabits(21, 64, 105).is_err());
    }
}

#[test]
fn the_binary_key_is_kept_beside_alpha_and_a_rekey_drops_it_with_every_binary_tuple() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let mut dealer = protocol::prep::InsecureDealer::new(0, 2, [5; 32]);
    let delta = Gf128(0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
    let chunk = ChunkId::random();
    {
        let s = RedbTupleStore::open(&path, 0).unwrap();
        assert_eq!(s.binary_key_share().unwrap(), None);
        // α first.
        assert!(matches!(
            s.set_binary_key_share(delta, KeyOrigin::Mascot),
            Err(TupleError::MacKeyMissing)
        ));
        s.set_mac_key_share(Fp::from(77u64), KeyOrigin::Mascot)
            .unwrap();
        // No binary tuple without Δ.
        let bt = TupleData::draw(&mut dealer, TupleKind::BitTriple, 10).unwrap();
        let e = s.store_chunk(chunk, &bt).unwrap_err();
        assert!(matches!(e, TupleError::BinaryKeyMissing), "{e}");
        assert!(matches!(
            s.chunk_info(chunk),
            Err(TupleError::UnknownChunk { .. })
        ));
        // Only under the key's own generator.
        assert!(matches!(
            s.set_binary_key_share(delta, KeyOrigin::InsecureDealer),
            Err(TupleError::GeneratorMismatch { .. })
        ));
        s.set_binary_key_share(delta, KeyOrigin::Mascot).unwrap();
        s.set_binary_key_share(delta, KeyOrigin::Mascot).unwrap();
        let e = s
            .set_binary_key_share(Gf128(delta.0 ^ 1), KeyOrigin::Mascot)
            .unwrap_err();
        assert!(matches!(e, TupleError::BinaryKeyMismatch), "{e}");
        s.store_chunk(chunk, &bt).unwrap();
        s.activate_chunk(chunk).unwrap();
        let arith = ChunkId::random();
        let t = TupleData::draw(&mut dealer, TupleKind::Triple, 10).unwrap();
        s.store_chunk(arith, &t).unwrap();
        s.activate_chunk(arith).unwrap();
        s.reserve(&[ReservationRequest {
            id: rid("g1_bit-triple"),
            kind: TupleKind::BitTriple,
            count: 4,
        }])
        .unwrap();
    }
    // Δ survives a restart; the reservation applied before it is void, its tuples stay used.
    let s = RedbTupleStore::open(&path, 0).unwrap();
    assert_eq!(s.binary_key_share().unwrap(), Some(delta));
    let st = s.stats_of(TupleKind::BitTriple).unwrap();
    assert_eq!((st.available, st.consumed), (6, 4));
    let r = s
        .reserve(&[ReservationRequest {
            id: rid("g2_bit-triple"),
            kind: TupleKind::BitTriple,
            count: 6,
        }])
        .unwrap();
    assert_eq!(
        r[0].ranges,
        vec![ChunkRange {
            chunk,
            start: 4,
            len: 6
        }]
    );
    s.release(&r[0].id).unwrap();
    let more = ChunkId::random();
    s.store_chunk(
        more,
        &TupleData::draw(&mut dealer, TupleKind::DaBit, 8).unwrap(),
    )
    .unwrap();
    s.activate_chunk(more).unwrap();

    // A rekey discards every tuple (binary ones too) and drops Δ.
    s.rekey(Fp::from(99u64)).unwrap();
    assert_eq!(s.binary_key_share().unwrap(), None);
    for kind in [TupleKind::BitTriple, TupleKind::DaBit, TupleKind::Triple] {
        let st = s.stats_of(kind).unwrap();
        assert_eq!((st.available, st.inactive), (0, 0), "{kind}");
    }
    assert!(matches!(
        s.reserve(&[ReservationRequest {
            id: rid("g3_dabit"),
            kind: TupleKind::DaBit,
            count: 1,
        }]),
        Err(TupleError::Insufficient { .. })
    ));
    // The next binary job stores a fresh Δ, and only then binary tuples.
    let e = s
        .store_chunk(
            ChunkId::random(),
            &TupleData::draw(&mut dealer, TupleKind::DaBit, 8).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(e, TupleError::BinaryKeyMissing), "{e}");
    let fresh = Gf128(42);
    s.set_binary_key_share(fresh, KeyOrigin::Mascot).unwrap();
    drop(s);
    let s = RedbTupleStore::open(&path, 0).unwrap();
    assert_eq!(s.binary_key_share().unwrap(), Some(fresh));
}

#[test]
fn binary_kind_labels_are_canonical_and_every_shape_is_its_own_kind() {
    for kind in BINARY_KINDS {
        assert!(is_binary(kind));
        assert_eq!(parse_kind_label(&kind_label(kind)), Some(kind), "{kind}");
    }
    assert!(!is_binary(TupleKind::Triple));
    for bad in [
        "edabit-064-0",
        "edabit-0-10",
        "edabit-100-28",
        "wide-edabit-64-121",
        "wide-edabit-65-64",
        "wide-edabit-64",
        "binary-key",
        "dabits",
    ] {
        assert_eq!(parse_kind_label(bad), None, "{bad}");
    }
    // Two shapes of one kind are planned apart.
    let mut ps = Parties::new(2);
    let a = TupleKind::EdaBit { bits: 8, extra: 0 };
    let b = TupleKind::EdaBit { bits: 8, extra: 1 };
    let id = ChunkId::random();
    let s = &ps.stores[0];
    s.store_chunk(id, &TupleData::draw(&mut ps.dealers[0], a, 5).unwrap())
        .unwrap();
    s.activate_chunk(id).unwrap();
    assert!(matches!(
        s.reserve(&[ReservationRequest {
            id: rid("x_b"),
            kind: b,
            count: 1
        }]),
        Err(TupleError::Insufficient { .. })
    ));
    let kinds: Vec<TupleKind> = s.stats().unwrap().iter().map(|t| t.kind).collect();
    assert_eq!(kinds, vec![a]);
}
