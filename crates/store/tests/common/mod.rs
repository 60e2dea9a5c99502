//! Helpers shared by the store tests.
#![allow(dead_code)]

use field::Fp;
use protocol::prep::{InsecureDealer, TupleKind};
use protocol::ShareVec;
use rand::rngs::StdRng;
use rand::SeedableRng;
use store::{ChunkId, RedbTupleStore, TupleData, TupleStore};

/// A share vector with values `base, base+1, …` and MACs `7·value`: recognisable after a round
/// trip, and each value identifies where it came from.
pub fn counting_shares(base: u64, n: usize) -> ShareVec {
    let v: Vec<Fp> = (0..n as u64).map(|i| Fp::from(base + i)).collect();
    let m = v.iter().map(|&x| x * Fp::from(7u64)).collect();
    ShareVec::from_parts(v, m)
}

/// Random shares.
pub fn random_shares(seed: u64, n: usize) -> ShareVec {
    let mut rng = StdRng::seed_from_u64(seed);
    let v = (0..n).map(|_| Fp::random(&mut rng)).collect();
    let m = (0..n).map(|_| Fp::random(&mut rng)).collect();
    ShareVec::from_parts(v, m)
}

/// `n` parties' tuple stores in one temporary directory, with dealer MAC key shares stored.
pub struct Parties {
    pub dir: tempfile::TempDir,
    pub stores: Vec<RedbTupleStore>,
    pub dealers: Vec<InsecureDealer>,
}

pub const SEED: [u8; 32] = [42; 32];

impl Parties {
    pub fn new(n: usize) -> Parties {
        let dir = tempfile::tempdir().unwrap();
        let dealers: Vec<InsecureDealer> =
            (0..n).map(|p| InsecureDealer::new(p, n, SEED)).collect();
        let stores: Vec<RedbTupleStore> = (0..n)
            .map(|p| {
                let s =
                    RedbTupleStore::open(dir.path().join(format!("tuples-{p}.redb")), p).unwrap();
                use protocol::prep::Preprocessing;
                s.set_mac_key_share(dealers[p].mac_key_share(), store::KeyOrigin::InsecureDealer)
                    .unwrap();
                s.set_binary_key_share(
                    dealers[p].binary_key_share().unwrap(),
                    store::KeyOrigin::InsecureDealer,
                )
                .unwrap();
                s
            })
            .collect();
        Parties {
            dir,
            stores,
            dealers,
        }
    }

    pub fn path(&self, p: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("tuples-{p}.redb"))
    }

    /// Generates a chunk of `count` tuples of `kind` with the dealers, stores it on every party
    /// under one id, and activates it everywhere (as the node will once all parties confirm).
    pub fn feed(&mut self, kind: TupleKind, count: usize) -> ChunkId {
        let id = ChunkId::random();
        for (d, s) in self.dealers.iter_mut().zip(&self.stores) {
            let data = TupleData::draw(d, kind, count).unwrap();
            s.store_chunk(id, &data).unwrap();
        }
        for s in &self.stores {
            assert!(s.activate_chunk(id).unwrap());
        }
        id
    }
}

/// Σ_p shares[p], and checks Σ MAC = α·Σ value for every element.
pub fn open(parts: &[&ShareVec], alpha: Fp) -> Vec<Fp> {
    let n = parts[0].len();
    (0..n)
        .map(|j| {
            let v: Fp = parts.iter().map(|s| s.value_shares()[j]).sum();
            let m: Fp = parts.iter().map(|s| s.mac_shares()[j]).sum();
            assert_eq!(m, alpha * v, "MAC check of element {j}");
            v
        })
        .collect()
}
