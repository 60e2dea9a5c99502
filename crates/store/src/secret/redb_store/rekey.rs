//! Re-authenticating every secret under a fresh MAC key (the node's `rekey`).
//!
//! The node computes each secret's new shares under the new key α′ with its peers; this module
//! reads every secret's shares in a fixed order and writes the new ones in ONE transaction,
//! together with α′ as the store's *pending* MAC key. The tuple store (another file) takes α′
//! afterwards; if the process dies in between, the node finds the pending key at its next start
//! and completes the tuple store's side before serving ([`RedbSecretStore::pending_mac_key`]).
//!
//! **Architecture Invariant:** the new shares of every secret and the key they are authenticated
//! under are written in one transaction: there is no state in which a secret's MACs and the
//! recorded key disagree.

use field::Fp;
use protocol::ShareVec;
use redb::{ReadableDatabase, ReadableTable};

use super::{RedbSecretStore, SHARES};
use crate::ids::SecretId;
use crate::kv::{self, META};
use crate::secret::SecretError;

const PENDING_KEY: &str = "pending_mac_key";

fn corrupt(what: impl Into<String>) -> SecretError {
    SecretError::Corrupt { what: what.into() }
}

impl RedbSecretStore {
    /// Every secret's shares, in id order (the same order on every party holding the same ids).
    pub fn all_shares(&self) -> Result<Vec<(SecretId, ShareVec)>, SecretError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(SHARES)?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(..)? {
            let (k, v) = item?;
            let id =
                SecretId::from_key(k.value()).ok_or_else(|| corrupt("a share key is malformed"))?;
            let shares = ShareVec::from_bytes(v.value())
                .map_err(|e| corrupt(format!("shares of secret {id}: {e}")))?;
            out.push((id, shares));
        }
        Ok(out)
    }

    /// Replaces the shares of every secret in `new` (each must exist and keep its length) and
    /// records `alpha` as the pending MAC key, in one transaction.
    pub fn rekey_shares(&self, new: &[(SecretId, ShareVec)], alpha: Fp) -> Result<(), SecretError> {
        let w = kv::begin_write(&self.db)?;
        {
            let mut t = w.open_table(SHARES)?;
            for (id, shares) in new {
                let old_len = {
                    let g = t
                        .get(id.to_key().as_slice())?
                        .ok_or(SecretError::UnknownSecret { id: *id })?;
                    ShareVec::from_bytes(g.value())
                        .map_err(|e| corrupt(format!("shares of secret {id}: {e}")))?
                        .len()
                };
                if old_len != shares.len() {
                    return Err(corrupt(format!(
                        "secret {id} holds {old_len} values, its new shares {}",
                        shares.len()
                    )));
                }
                t.insert(id.to_key().as_slice(), shares.to_bytes().as_slice())?;
            }
            w.open_table(META)?
                .insert(PENDING_KEY, alpha.to_mont_bytes().as_slice())?;
        }
        w.commit()?;
        Ok(())
    }

    /// The MAC key of the last rekey, until the tuple store has taken it.
    pub fn pending_mac_key(&self) -> Result<Option<Fp>, SecretError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(META)?;
        let Some(g) = t.get(PENDING_KEY)? else {
            return Ok(None);
        };
        let b: &[u8; 16] = g
            .value()
            .try_into()
            .map_err(|_| corrupt("the pending MAC key record is malformed"))?;
        Fp::from_mont_bytes(b)
            .map(Some)
            .map_err(|_| corrupt("the pending MAC key record is malformed"))
    }

    /// Forgets the pending key once the tuple store holds it.
    pub fn clear_pending_mac_key(&self) -> Result<(), SecretError> {
        let w = kv::begin_write(&self.db)?;
        w.open_table(META)?.remove(PENDING_KEY)?;
        w.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{NewSecret, SecretStore};

    fn sv(vals: &[u64]) -> ShareVec {
        let v: Vec<Fp> = vals.iter().map(|&x| Fp::from(x)).collect();
        let m: Vec<Fp> = vals.iter().map(|&x| Fp::from(x * 7)).collect();
        ShareVec::from_parts(v, m)
    }

    #[test]
    fn rekey_replaces_every_share_and_records_the_key_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbSecretStore::open(dir.path().join("s.redb")).unwrap();
        let a = SecretId::random();
        let b = SecretId::random();
        s.create(NewSecret::new(a, "alice", sv(&[1, 2]))).unwrap();
        s.create(NewSecret::new(b, "bob", sv(&[3]))).unwrap();
        let all = s.all_shares().unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.windows(2).all(|w| w[0].0.to_key() < w[1].0.to_key()));
        assert_eq!(s.pending_mac_key().unwrap(), None);

        // A wrong length changes nothing.
        let e = s
            .rekey_shares(&[(a, sv(&[9, 9])), (b, sv(&[9, 9]))], Fp::from(5u64))
            .unwrap_err();
        assert!(e.to_string().contains("new shares"), "{e}");
        assert_eq!(s.get(a).unwrap().shares.value_shares()[0], Fp::from(1u64));
        assert_eq!(s.pending_mac_key().unwrap(), None);

        s.rekey_shares(&[(a, sv(&[10, 20])), (b, sv(&[30]))], Fp::from(5u64))
            .unwrap();
        assert_eq!(s.get(a).unwrap().shares.value_shares()[1], Fp::from(20u64));
        assert_eq!(s.get(b).unwrap().shares.mac_shares()[0], Fp::from(210u64));
        assert_eq!(s.pending_mac_key().unwrap(), Some(Fp::from(5u64)));
        s.clear_pending_mac_key().unwrap();
        assert_eq!(s.pending_mac_key().unwrap(), None);
    }
}
