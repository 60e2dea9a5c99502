//! What guards the MAC key of a tuple store: where the key came from, whether generation was
//! halted by a failed check, the store's epoch, and the epochs it has seen from its peers.
//!
//! All of it lives in the store's `meta` table, beside the MAC key share itself, so that a
//! record and the key it concerns change in the same transactions:
//!
//! - `key_origin`: the generator that made the key and every chunk ([`KeyOrigin`]) and the key's
//!   generation (how many times the party set was rekeyed). A node refuses to run a store with
//!   another generator than the one it was made with: a seed-derived (dealer) key must never be
//!   carried into MASCOT, where everybody would believe it secret.
//! - `generation_halt`: the first failed check of preprocessing ([`GenerationHalt`]). While it
//!   is present the node generates nothing with its peers: a failed check is an attack until an
//!   operator proves otherwise, and retrying it would let a cheater probe the MAC key one bit per
//!   job (the selective-failure attack on MASCOT's COPE). Only a rekey clears it.
//! - `epoch` ([`StoreEpoch`]): a counter that goes up at every open of the file and in every
//!   transaction that consumes tuples, and a random boot id drawn at every open. Every join of a
//!   session carries it; peers record, per party, the boot id and the highest counter seen
//!   (`peer_epochs`). Reports of one run may arrive in any order; a new run (a new boot id) must
//!   start above everything seen before. A store restored from a backup or a copy reopens with
//!   a new boot id at the counter of the copy plus one, which is at most what the peers saw if
//!   any tuple was consumed after the copy was taken: they refuse it, and it cannot hand out a
//!   consumed tuple again. A copy after which nothing was consumed passes, and is harmless.
//!
//! - `binary_mac_key`: the binary MAC key share Δ_i, set once (by the first binary generation
//!   job, or from the dealer's seed) beside α_i and under the same generator; no binary chunk is
//!   stored without it.
//!
//! **Architecture Invariant:** the halt record, the key origin and the key are only ever
//! changed together by [`crate::TupleStore::rekey`], which also discards every tuple made under
//! the old key (binary ones included) and drops Δ_i in the same transaction.

use serde::{Deserialize, Serialize};

/// The generator that made a store's MAC key and its tuples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyOrigin {
    /// MASCOT jobs run with the peers: the key share is sampled locally and never leaves.
    Mascot,
    /// The INSECURE dealer: every share and the key follow from a seed all parties hold.
    InsecureDealer,
}

impl KeyOrigin {
    /// `mascot` or `insecure-dealer`, as in configs and APIs.
    pub fn label(self) -> &'static str {
        match self {
            KeyOrigin::Mascot => "mascot",
            KeyOrigin::InsecureDealer => "insecure-dealer",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            KeyOrigin::Mascot => 1,
            KeyOrigin::InsecureDealer => 2,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<KeyOrigin> {
        match c {
            1 => Some(KeyOrigin::Mascot),
            2 => Some(KeyOrigin::InsecureDealer),
            _ => None,
        }
    }
}

impl std::fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Which key a chunk was made under: the origin and the key generation. Stored per chunk; a
/// reservation may only name chunks made under the store's current key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyStamp {
    pub origin: Option<KeyOrigin>,
    pub generation: u64,
}

impl KeyStamp {
    /// 9 bytes: origin code (0 = none recorded), generation (u64 LE).
    pub fn to_bytes(self) -> [u8; 9] {
        let mut b = [0u8; 9];
        b[0] = self.origin.map_or(0, KeyOrigin::code);
        b[1..].copy_from_slice(&self.generation.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Option<KeyStamp> {
        let (&c, rest) = b.split_first()?;
        let origin = match c {
            0 => None,
            c => Some(KeyOrigin::from_code(c)?),
        };
        Some(KeyStamp {
            origin,
            generation: u64::from_le_bytes(rest.try_into().ok()?),
        })
    }
}

/// A failed check in preprocessing, kept durably until a rekey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationHalt {
    /// When the first failure was recorded (ms since the Unix epoch).
    pub at_ms: u64,
    /// The step of the protocol that failed (`authentication`, `sacrifice`, `ot-extension-check`,
    /// …; see `offline::OfflineError::step`).
    pub step: String,
    /// The peer that failed the check or reported it, where known.
    pub peer: Option<u64>,
    /// The generation job (its chunk id) during which it happened.
    pub job: String,
    /// The error, as said to operators (never a value).
    pub reason: String,
    /// Failures recorded so far, this one included (more come from jobs that were running at the
    /// same time).
    pub failures: u64,
}

/// A tuple store's epoch: a counter that goes up at every open and the random id of that open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoreEpoch {
    pub counter: u64,
    pub boot: [u8; 16],
}

impl StoreEpoch {
    pub(crate) fn to_bytes(self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.counter.to_le_bytes());
        b[8..].copy_from_slice(&self.boot);
        b
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Option<StoreEpoch> {
        let b: &[u8; 24] = b.try_into().ok()?;
        Some(StoreEpoch {
            counter: u64::from_le_bytes(b[..8].try_into().ok()?),
            boot: b[8..].try_into().ok()?,
        })
    }

    pub(crate) fn fresh(counter: u64) -> StoreEpoch {
        StoreEpoch {
            counter,
            boot: *uuid::Uuid::new_v4().as_bytes(),
        }
    }
}
