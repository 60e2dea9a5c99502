//! Crash safety: a child process (this test binary, switched by an environment variable) writes
//! secrets, chunks and reservations in a loop and is killed with SIGKILL at a random moment, three
//! times over the same files. After each kill the stores reopen and must hold every write the
//! child reported as committed, no half-written secret or batch, consistent counters, and no tuple
//! that is served twice, judged by the tuples' contents.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::counting_shares;
use field::Fp;
use protocol::prep::TupleKind;
use protocol::ShareVec;
use rand::Rng;
use store::{
    ChunkId, ListQuery, NewSecret, RedbSecretStore, RedbTupleStore, ReservationId,
    ReservationRequest, SecretId, SecretStore, Tag, TagFilter, TupleData, TupleStore,
};

const CHILD_DIR: &str = "STORE_CRASH_CHILD_DIR";
const CHILD_CYCLE: &str = "STORE_CRASH_CHILD_CYCLE";
const CHUNK: usize = 5000;
const RESERVE: u64 = 700;
/// Tuple values are `k·STRIDE + index` for the k-th chunk ever made: unique, and they say where
/// they were stored.
const STRIDE: u128 = 1_000_000;

fn bits_chunk(k: u128) -> TupleData {
    let v: Vec<Fp> = (0..CHUNK as u128)
        .map(|i| Fp::from_u128(k * STRIDE + i))
        .collect();
    let m = v.iter().map(|&x| x + x).collect();
    TupleData::Bits(ShareVec::from_parts(v, m))
}

fn secret_store(dir: &Path) -> RedbSecretStore {
    RedbSecretStore::open(dir.join("secrets.redb")).unwrap()
}

fn tuple_store(dir: &Path) -> RedbTupleStore {
    RedbTupleStore::open(dir.join("tuples.redb"), 0).unwrap()
}

/// Checks that served bits have values `base + start .. base + start + len` with one base
/// (a multiple of STRIDE) and returns the first value.
fn check_contiguous(data: &TupleData, ranges: &[store::ChunkRange]) -> Vec<(u128, u64)> {
    let TupleData::Bits(b) = data else {
        panic!("expected bits")
    };
    let vals: Vec<u128> = b.value_shares().iter().map(|v| v.to_u128()).collect();
    let mut at = 0usize;
    let mut out = Vec::new();
    for r in ranges {
        let first = vals[at];
        assert_eq!(
            first % STRIDE,
            r.start as u128,
            "tuple stored at a wrong index"
        );
        for j in 0..r.len as usize {
            assert_eq!(
                vals[at + j],
                first + j as u128,
                "torn or misplaced tuple data"
            );
            assert_eq!(b.mac_shares()[at + j], b.value_shares()[at + j].double());
        }
        out.push((first, r.len));
        at += r.len as usize;
    }
    assert_eq!(at, vals.len());
    out
}

/// The child: writes until killed, printing a line after each committed write.
fn child(dir: &Path, cycle: u128) -> ! {
    let secrets = secret_store(dir);
    let tuples = tuple_store(dir);
    for it in 0u128.. {
        let seed = (cycle * 1_000_000 + it * 10) as u64;
        let id = SecretId::random();
        secrets
            .create(
                NewSecret::new(id, "child", counting_shares(seed, 1000))
                    .tag(Tag::long("seed", seed as i64)),
            )
            .unwrap();
        println!("secret {id}");
        let batch = format!("{cycle}-{it}");
        secrets
            .create_many(
                (1..4)
                    .map(|j| {
                        NewSecret::new(SecretId::random(), "child", counting_shares(seed + j, 300))
                            .tag(Tag::long("seed", (seed + j) as i64))
                            .tag(Tag::string("batch", &batch))
                    })
                    .collect(),
            )
            .unwrap();
        println!("batch {batch}");
        let chunk = ChunkId::random();
        tuples
            .store_chunk(chunk, &bits_chunk(cycle * 1000 + it))
            .unwrap();
        tuples.activate_chunk(chunk).unwrap();
        println!("chunk {chunk}");
        let rid = ReservationId::new(format!("c{cycle}i{it}")).unwrap();
        let r = tuples
            .reserve(&[ReservationRequest {
                id: rid.clone(),
                kind: TupleKind::Bit,
                count: RESERVE,
            }])
            .unwrap()
            .remove(0);
        println!("applied {}", serde_json::to_string(&r).unwrap());
        let data = tuples.read_reserved(&r).unwrap();
        for (first, len) in check_contiguous(&data, &r.ranges) {
            println!("served {first} {len}");
        }
        if it % 2 == 0 {
            tuples.release(&rid).unwrap();
        }
    }
    unreachable!()
}

#[test]
fn crash_child() {
    // Only does something when started by `killed_writers_lose_nothing_committed_and_reuse_no_tuple`.
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let cycle: u128 = std::env::var(CHILD_CYCLE).unwrap().parse().unwrap();
        child(Path::new(&dir), cycle);
    }
}

#[derive(Default)]
struct Facts {
    secrets: Vec<SecretId>,
    batches: Vec<String>,
    chunks: Vec<ChunkId>,
    applied: Vec<store::Reservation>,
    /// Served value intervals `[first, first + len)`.
    served: Vec<(u128, u64)>,
}

impl Facts {
    fn record(&mut self, line: &str) {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "secret" => self.secrets.push(rest.parse().unwrap()),
            "batch" => self.batches.push(rest.to_string()),
            "chunk" => self.chunks.push(rest.parse().unwrap()),
            "applied" => self.applied.push(serde_json::from_str(rest).unwrap()),
            "served" => {
                let (a, b) = rest.split_once(' ').unwrap();
                self.served.push((a.parse().unwrap(), b.parse().unwrap()));
            }
            _ => {}
        }
    }
}

/// Runs one child until it has served `target` ranges, lets it go on for a random moment, then
/// kills it with SIGKILL. Returns how many fact lines it printed.
fn run_and_kill(dir: &Path, cycle: u32, facts: &mut Facts) -> usize {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_CYCLE, cycle.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut rng = rand::thread_rng();
    let target = rng.gen_range(2..6);
    let mut served = 0;
    let mut count = 0;
    while served < target {
        let line = lines
            .next()
            .expect("the child stopped early; run the crash_child test alone to see why")
            .unwrap();
        served += usize::from(line.starts_with("served"));
        count += 1;
        facts.record(&line);
    }
    std::thread::sleep(Duration::from_micros(rng.gen_range(0..30_000)));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Lines printed before the kill are facts too.
    for line in lines {
        let line = line.unwrap();
        count += 1;
        facts.record(&line);
    }
    count
}

fn check_secrets(dir: &Path, facts: &Facts) {
    let s = secret_store(dir);
    for id in &facts.secrets {
        assert!(s.get(*id).is_ok(), "committed secret {id} is missing");
    }
    // Every stored secret is whole: its shares match its seed tag and length.
    let all = s.list(&ListQuery::all()).unwrap();
    assert_eq!(all.total_items, s.count().unwrap());
    let mut per_batch: BTreeMap<String, usize> = BTreeMap::new();
    for m in &all.items {
        let sec = s.get(m.id).unwrap();
        let seed = m.tag("seed").unwrap().as_long().unwrap() as u64;
        assert_eq!(
            sec.shares,
            counting_shares(seed, m.len as usize),
            "torn secret"
        );
        if let Some(b) = m.tag("batch") {
            *per_batch.entry(b.value).or_default() += 1;
        }
    }
    // Batches are all or nothing.
    assert!(per_batch.values().all(|&n| n == 3), "{per_batch:?}");
    for b in &facts.batches {
        assert_eq!(per_batch.get(b), Some(&3), "committed batch {b} is missing");
        let hits = s
            .list(&ListQuery::all().filter(TagFilter::eq("batch", b)))
            .unwrap();
        assert_eq!(hits.total_items, 3, "the index lost batch {b}");
    }
}

fn check_tuples(dir: &Path, facts: &Facts) -> RedbTupleStore {
    let t = tuple_store(dir);
    for c in &facts.chunks {
        let info = t.chunk_info(*c).expect("committed chunk is missing");
        assert_eq!(info.count, CHUNK as u64);
        assert!(info.active);
    }
    // Every range applied before the crash is still consumed.
    for r in &facts.applied {
        assert!(matches!(
            t.apply_reservation(r),
            Err(store::TupleError::RangeConsumed { .. })
        ));
    }
    let st = t.stats_of(TupleKind::Bit).unwrap();
    assert_eq!(
        (st.available + st.inactive + st.consumed) % CHUNK as u64,
        0,
        "counters out of step with the chunks: {st:?}"
    );
    assert!(st.consumed >= facts.applied.len() as u64 * RESERVE);
    t
}

fn assert_disjoint(intervals: &[(u128, u64)]) {
    let mut v = intervals.to_vec();
    v.sort();
    for w in v.windows(2) {
        assert!(
            w[0].0 + w[0].1 as u128 <= w[1].0,
            "tuple values {w:?} were served twice"
        );
    }
}

#[test]
fn killed_writers_lose_nothing_committed_and_reuse_no_tuple() {
    let dir = tempfile::tempdir().unwrap();
    let mut facts = Facts::default();
    for cycle in 0..3 {
        let lines = run_and_kill(dir.path(), cycle, &mut facts);
        assert!(lines > 0);
        check_secrets(dir.path(), &facts);
        drop(check_tuples(dir.path(), &facts));
        assert_disjoint(&facts.served);
    }
    // Finally serve everything that is left and check it against all that was served before.
    let t = check_tuples(dir.path(), &facts);
    let left = t.stats_of(TupleKind::Bit).unwrap().available;
    assert!(left > 0);
    let r = t
        .reserve(&[ReservationRequest {
            id: ReservationId::new("drain").unwrap(),
            kind: TupleKind::Bit,
            count: left,
        }])
        .unwrap()
        .remove(0);
    let data = t.read_reserved(&r).unwrap();
    let mut all = facts.served.clone();
    all.extend(check_contiguous(&data, &r.ranges));
    assert_disjoint(&all);
    let distinct: HashSet<u128> = all.iter().map(|(f, _)| f / STRIDE).collect();
    assert!(distinct.len() >= facts.chunks.len());
    eprintln!(
        "crash test: {} secrets, {} chunks, {} reservations reported before the kills; {} tuples drained after",
        facts.secrets.len(),
        facts.chunks.len(),
        facts.applied.len(),
        left
    );
}
