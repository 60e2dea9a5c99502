//! Rough timings of the stores (run in release mode):
//! `cargo run --release -p store --example store_bench [DIR]`.
//!
//! Every write is an fsynced commit, so the numbers depend mostly on the disk under DIR
//! (default: a temporary directory).

use std::time::{Duration, Instant};

use field::Fp;
use protocol::prep::{InsecureDealer, Preprocessing, TupleKind};
use protocol::ShareVec;
use store::{
    ChunkId, ListQuery, NewSecret, RedbSecretStore, RedbTupleStore, ReservationId,
    ReservationRequest, SecretId, SecretStore, Tag, TagFilter, TupleData, TupleStore,
};

fn shares(seed: u64, n: usize) -> ShareVec {
    let v: Vec<Fp> = (0..n as u64).map(|i| Fp::from(seed ^ i)).collect();
    let m = v.iter().map(|&x| x.double()).collect();
    ShareVec::from_parts(v, m)
}

fn per(d: Duration, n: usize) -> String {
    let us = d.as_secs_f64() * 1e6 / n as f64;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn main() {
    let base = std::env::args().nth(1);
    let dir = match &base {
        Some(b) => tempfile::tempdir_in(b).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    println!("store_bench in {}", dir.path().display());

    // ----- secrets -----
    let s = RedbSecretStore::open(dir.path().join("secrets.redb")).unwrap();
    let n = 200;
    let ids: Vec<SecretId> = (0..n).map(|_| SecretId::random()).collect();
    let payload: Vec<ShareVec> = (0..n).map(|i| shares(i as u64, 1000)).collect();
    let t = Instant::now();
    for (id, sh) in ids.iter().zip(&payload) {
        s.create(NewSecret::new(*id, "bench", sh.clone()).tag(Tag::long("k", 1)))
            .unwrap();
    }
    println!(
        "create, 1000-share secret (one fsync each): {}",
        per(t.elapsed(), n)
    );
    let reps = 2000;
    let t = Instant::now();
    for i in 0..reps {
        let got = s.get(ids[i % n]).unwrap();
        assert_eq!(got.shares.len(), 1000);
    }
    println!("get, 1000-share secret: {}", per(t.elapsed(), reps));

    let t = Instant::now();
    for batch in 0..10 {
        let v = (0..1000)
            .map(|i: i64| {
                let i = batch * 1000 + i;
                NewSecret::new(SecretId::random(), "bench", shares(i as u64, 1))
                    .tag(Tag::long("i", i))
                    .tag(Tag::string("bucket", (i % 10).to_string()))
            })
            .collect();
        s.create_many(v).unwrap();
    }
    println!(
        "create_many, 10 batches of 1000 one-share secrets: {}",
        per(t.elapsed(), 10)
    );
    let q = ListQuery::all()
        .filter(TagFilter::eq("bucket", "3"))
        .filter(TagFilter::lt("i", 5000))
        .page(2, 50);
    let reps = 100;
    let t = Instant::now();
    for _ in 0..reps {
        assert_eq!(s.list(&q).unwrap().total_items, 500);
    }
    println!(
        "list 10^4+ with 2 filters (index), page of 50: {}",
        per(t.elapsed(), reps)
    );
    let q = ListQuery::all().filter(TagFilter::gt("i", -1)).page(0, 50);
    let t = Instant::now();
    for _ in 0..reps {
        assert_eq!(s.list(&q).unwrap().total_items, 10_000);
    }
    println!(
        "list 10^4+ with a filter matching all 10^4, page of 50: {}",
        per(t.elapsed(), reps)
    );
    let q = ListQuery::all().page(100, 50);
    let t = Instant::now();
    for _ in 0..reps {
        s.list(&q).unwrap();
    }
    println!(
        "list unfiltered, page 100 of 50: {}",
        per(t.elapsed(), reps)
    );
    let t = Instant::now();
    for _ in 0..10 {
        s.list(&ListQuery::all()).unwrap();
    }
    println!(
        "list everything (decodes every record; what a scan-based filter would cost at least): {}",
        per(t.elapsed(), 10)
    );

    // ----- tuples -----
    let count = 100_000usize;
    let mut dealers: Vec<InsecureDealer> =
        (0..2).map(|p| InsecureDealer::new(p, 2, [1; 32])).collect();
    let stores: Vec<RedbTupleStore> = (0..2)
        .map(|p| {
            let st = RedbTupleStore::open(dir.path().join(format!("tuples-{p}.redb")), p).unwrap();
            st.set_mac_key_share(dealers[p].mac_key_share(), store::KeyOrigin::InsecureDealer)
                .unwrap();
            st
        })
        .collect();
    let chunk = ChunkId::random();
    let data: Vec<TupleData> = dealers
        .iter_mut()
        .map(|d| TupleData::draw(d, TupleKind::Triple, count).unwrap())
        .collect();
    let t = Instant::now();
    stores[0].store_chunk(chunk, &data[0]).unwrap();
    println!(
        "store_chunk, 10^5 triples (9.6 MB): {}",
        per(t.elapsed(), 1)
    );
    stores[1].store_chunk(chunk, &data[1]).unwrap();
    for st in &stores {
        st.activate_chunk(chunk).unwrap();
    }
    let t = Instant::now();
    let r = stores[0]
        .reserve(&[ReservationRequest {
            id: ReservationId::new("bench_triple").unwrap(),
            kind: TupleKind::Triple,
            count: count as u64,
        }])
        .unwrap()
        .remove(0);
    println!(
        "reserve (plan + apply), 10^5 triples, party 0: {}",
        per(t.elapsed(), 1)
    );
    let t = Instant::now();
    stores[1].apply_reservation(&r).unwrap();
    println!(
        "apply_reservation, 10^5 triples, party 1: {}",
        per(t.elapsed(), 1)
    );
    let t = Instant::now();
    let got = stores[1].read_reserved(&r).unwrap();
    assert_eq!(got.len(), count);
    println!("read_reserved, 10^5 triples: {}", per(t.elapsed(), 1));

    // Many small reservations, as games make them.
    let chunk2 = ChunkId::random();
    for (st, d) in stores.iter().zip(dealers.iter_mut()) {
        st.store_chunk(
            chunk2,
            &TupleData::draw(d, TupleKind::Triple, 10_000).unwrap(),
        )
        .unwrap();
        st.activate_chunk(chunk2).unwrap();
    }
    let games = 200;
    let t = Instant::now();
    for g in 0..games {
        let r = stores[0]
            .reserve(&[ReservationRequest {
                id: ReservationId::new(format!("g{g}_triple")).unwrap(),
                kind: TupleKind::Triple,
                count: 10,
            }])
            .unwrap()
            .remove(0);
        stores[0].read_reserved(&r).unwrap();
        stores[0].release(&r.id).unwrap();
    }
    println!(
        "reserve + read + release of 10 triples (a small game, two fsyncs): {}",
        per(t.elapsed(), games)
    );
}
