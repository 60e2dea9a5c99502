//! The durable side of joint commits (prepare, commit, abort, party 0's record) and of
//! reconciling a party's chunks with party 0's.

mod common;

use std::collections::HashSet;

use common::{random_shares, Parties};
use protocol::prep::TupleKind;
use store::{
    ChunkView, ErrorClass, ListQuery, NewSecret, RedbSecretStore, SecretError, SecretId,
    SecretStore, TupleData, TupleStore, TxnId, TxnOp, TxnOutcome,
};

fn open(dir: &tempfile::TempDir, name: &str) -> RedbSecretStore {
    RedbSecretStore::open(dir.path().join(name)).unwrap()
}

#[test]
fn a_prepared_secret_is_invisible_until_committed_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id = SecretId::random();
    let txn = TxnId([1; 16]);
    {
        let s = open(&dir, "s.redb");
        s.prepare(
            txn,
            TxnOp::Create(vec![NewSecret::new(id, "alice", random_shares(1, 5))]),
        )
        .unwrap();
        assert!(matches!(s.get(id), Err(SecretError::UnknownSecret { .. })));
        assert_eq!(s.list(&ListQuery::all()).unwrap().total_items, 0);
        assert_eq!(s.pending_txn_of(id).unwrap(), Some(txn));
        // The id is held: nobody else can create it meanwhile.
        let e = s
            .create(NewSecret::new(id, "bob", random_shares(2, 1)))
            .unwrap_err();
        assert_eq!(e.class(), ErrorClass::Conflict, "{e}");
    }
    // A restart keeps the prepared state.
    let s = open(&dir, "s.redb");
    assert_eq!(s.prepared().unwrap().len(), 1);
    s.commit_prepared(txn, false).unwrap();
    assert_eq!(s.get(id).unwrap().shares, random_shares(1, 5));
    assert!(s.prepared().unwrap().is_empty());
    assert_eq!(s.pending_txn_of(id).unwrap(), None);
}

#[test]
fn party_zero_records_its_decision_and_never_reverses_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "p0.redb");
    let (a, b) = (SecretId::random(), SecretId::random());
    let (ta, tb, tc) = (TxnId([2; 16]), TxnId([3; 16]), TxnId([4; 16]));
    s.prepare(
        ta,
        TxnOp::Create(vec![NewSecret::new(a, "alice", random_shares(3, 2))]),
    )
    .unwrap();
    s.prepare(
        tb,
        TxnOp::Create(vec![NewSecret::new(b, "alice", random_shares(4, 2))]),
    )
    .unwrap();
    assert_eq!(s.resolve(ta).unwrap(), TxnOutcome::Pending);
    s.commit_prepared(ta, true).unwrap();
    s.abort_prepared(tb, true).unwrap();
    assert_eq!(s.resolve(ta).unwrap(), TxnOutcome::Committed);
    assert_eq!(s.resolve(tb).unwrap(), TxnOutcome::Aborted);
    assert!(s.get(a).is_ok());
    assert!(s.get(b).is_err());
    // A committed transaction is never aborted; an aborted one never committed.
    assert!(s.abort_prepared(ta, true).is_err());
    assert!(matches!(
        s.commit_prepared(tb, true),
        Err(SecretError::TxnAborted { .. })
    ));
    // Asked about a transaction it never prepared, party 0 records it as aborted: preparing it
    // later fails, so it can never commit.
    assert_eq!(s.resolve(tc).unwrap(), TxnOutcome::Aborted);
    assert!(s
        .prepare(
            tc,
            TxnOp::Create(vec![NewSecret::new(
                SecretId::random(),
                "alice",
                random_shares(5, 1)
            )])
        )
        .is_err());
}

#[test]
fn a_joint_delete_removes_the_secret_only_when_committed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "d.redb");
    let id = SecretId::random();
    s.create(NewSecret::new(id, "alice", random_shares(6, 3)))
        .unwrap();
    let t1 = TxnId([5; 16]);
    s.prepare(t1, TxnOp::Delete(vec![id])).unwrap();
    // Still readable while undecided; a second delete of it is refused meanwhile.
    assert!(s.get(id).is_ok());
    assert!(s.prepare(TxnId([6; 16]), TxnOp::Delete(vec![id])).is_err());
    s.abort_prepared(t1, false).unwrap();
    assert!(s.get(id).is_ok());
    let t2 = TxnId([7; 16]);
    s.prepare(t2, TxnOp::Delete(vec![id])).unwrap();
    s.commit_prepared(t2, false).unwrap();
    assert!(s.get(id).is_err());
    // Deleting what does not exist is refused at prepare.
    assert!(s.prepare(TxnId([8; 16]), TxnOp::Delete(vec![id])).is_err());
}

#[test]
fn reconciling_adds_party_zeros_consumption_and_resolves_inactive_chunks() {
    let mut ps = Parties::new(2);
    let c = ps.feed(TupleKind::Triple, 100);
    // Party 0 reserves twice; party 1 applies only the first (the second session failed).
    let r1 = ps.stores[0]
        .reserve(&[store::ReservationRequest {
            id: store::ReservationId::new("g1").unwrap(),
            kind: TupleKind::Triple,
            count: 30,
        }])
        .unwrap();
    ps.stores[1].apply_reservations(&r1).unwrap();
    let r2 = ps.stores[0]
        .reserve(&[store::ReservationRequest {
            id: store::ReservationId::new("g2").unwrap(),
            kind: TupleKind::Triple,
            count: 20,
        }])
        .unwrap();
    ps.stores[0].release(&r1[0].id).unwrap();
    // While r2 is live on party 0 its ranges are left out: its session decides them.
    let view = ps.stores[0].chunk_view(c, &HashSet::new()).unwrap();
    assert_eq!(
        view,
        ChunkView::Active {
            consumed: vec![(0, 30)]
        }
    );
    ps.stores[0].release(&r2[0].id).unwrap();
    let view = ps.stores[0].chunk_view(c, &HashSet::new()).unwrap();
    assert_eq!(
        ps.stores[1].reconcile_chunk(c, &view).unwrap(),
        20,
        "the 20 tuples party 0 reserved are consumed on party 1 too"
    );
    // Idempotent, and the counters now agree.
    assert_eq!(ps.stores[1].reconcile_chunk(c, &view).unwrap(), 0);
    let s0 = ps.stores[0].stats_of(TupleKind::Triple).unwrap();
    let s1 = ps.stores[1].stats_of(TupleKind::Triple).unwrap();
    assert_eq!((s0.available, s0.consumed), (s1.available, s1.consumed));
    assert_eq!((s1.available, s1.consumed), (50, 50));

    // A chunk stored but never committed by party 0: party 0 discards it when asked (its job is
    // not running), and party 1 discards it on that answer.
    let lost = store::ChunkId::random();
    for (d, s) in ps.dealers.iter_mut().zip(&ps.stores) {
        s.store_chunk(lost, &TupleData::draw(d, TupleKind::Bit, 10).unwrap())
            .unwrap();
    }
    let running: HashSet<_> = [lost].into_iter().collect();
    assert_eq!(
        ps.stores[0].chunk_view(lost, &running).unwrap(),
        ChunkView::Pending
    );
    let view = ps.stores[0].chunk_view(lost, &HashSet::new()).unwrap();
    assert_eq!(view, ChunkView::Discarded);
    ps.stores[1].reconcile_chunk(lost, &view).unwrap();
    for s in &ps.stores {
        let st = s.stats_of(TupleKind::Bit).unwrap();
        assert_eq!((st.available, st.inactive), (0, 0));
    }
    // A chunk party 0 committed while party 1 missed the Commit: activated on party 1.
    let kept = store::ChunkId::random();
    for (d, s) in ps.dealers.iter_mut().zip(&ps.stores) {
        s.store_chunk(kept, &TupleData::draw(d, TupleKind::Bit, 10).unwrap())
            .unwrap();
    }
    ps.stores[0].activate_chunk(kept).unwrap();
    let view = ps.stores[0].chunk_view(kept, &HashSet::new()).unwrap();
    ps.stores[1].reconcile_chunk(kept, &view).unwrap();
    assert_eq!(ps.stores[1].stats_of(TupleKind::Bit).unwrap().available, 10);
}
