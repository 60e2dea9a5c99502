//! Base oblivious transfers: Chou–Orlandi "Simplest OT" (ePrint 2015/267) over the Ristretto
//! group, with the sender's seed commitment of Masny–Rindal (ePrint 2019/706) so that the outputs
//! are uniform even against a malicious receiver.
//!
//! For every ordered pair (sender S, receiver R) and `count` OTs at once, with `G` the Ristretto
//! base point and `H` BLAKE3 (in key-derivation mode, over the session id, the pair and the OT
//! index):
//!
//! 1. S samples `a`, sends `A = a·G` and a commitment to a uniform seed `s`.
//! 2. For each OT k with choice bit `c_k`, R samples `b_k` and sends `B_k = b_k·G + c_k·A`
//!    (selected in constant time).
//! 3. S opens `s`. S's keys are `K⁰_k = H(k, A, B_k, a·B_k, s)` and
//!    `K¹_k = H(k, A, B_k, a·(B_k − A), s)`; R's key is `H(k, A, B_k, b_k·A, s) = K^{c_k}_k`,
//!    because `a·B_k − c_k·a·A = b_k·a·G`.
//!
//! `B_k` is uniform whatever `c_k` is, so S learns nothing about the choices; R knows the
//! discrete log of only one of `B_k` and `B_k − A` (computational Diffie–Hellman), so it learns
//! only one key. The seed, committed before `B_k` and opened after, makes every key depend on a
//! value R could not influence. Points are checked on decompression (Ristretto encodings are
//! canonical) and `A` must not be the identity; a bad point is [`OfflineError::BaseOt`].
//!
//! The session id ([`crate::MascotConfig::session`], distinct per job) is hashed into every key
//! and is part of the seed commitment, so the messages of one session are worthless in another:
//! replayed `A`, `B_k` or seed openings give keys unrelated to the other session's, and a
//! commitment from another session does not verify.
//!
//! All pairs run in parallel: three rounds in total, whatever the number of parties.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use net::{Network, PartyId};
use rand_core::{CryptoRng, RngCore};
use subtle::{Choice, ConditionallySelectable};

use crate::coins;
use crate::error::{OfflineError, Result};
use crate::wire::{kind, Out, Transcript};

/// A 128-bit OT key (an AES key for the PRG).
pub(crate) type Key = [u8; 16];

/// What one party holds after the base OTs with every peer.
pub(crate) struct BaseOts {
    /// `sent[p][k] = (K⁰, K¹)`: this party was the sender to peer p.
    pub sent: Vec<Vec<(Key, Key)>>,
    /// `received[p][k] = K^{c_k}`: this party was the receiver from peer p.
    pub received: Vec<Vec<Key>>,
}

#[allow(clippy::too_many_arguments)]
fn key(
    session: &[u8; 32],
    sender: PartyId,
    receiver: PartyId,
    k: usize,
    a: &[u8; 32],
    b: &[u8; 32],
    point: &RistrettoPoint,
    seed: &[u8; 32],
) -> Key {
    let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/base-ot/v2");
    h.update(session);
    h.update(&(sender as u64).to_le_bytes());
    h.update(&(receiver as u64).to_le_bytes());
    h.update(&(k as u64).to_le_bytes());
    h.update(a);
    h.update(b);
    h.update(point.compress().as_bytes());
    h.update(seed);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

fn point(peer: PartyId, bytes: &[u8]) -> Result<RistrettoPoint> {
    let bad = |reason: &str| OfflineError::BaseOt {
        peer,
        reason: reason.into(),
    };
    CompressedRistretto::from_slice(bytes)
        .map_err(|_| bad("a group element has the wrong length"))?
        .decompress()
        .ok_or_else(|| bad("a group element is not a valid Ristretto encoding"))
}

/// Runs `choices[p].len()` OTs as receiver from every peer p (with those choice bits) and as
/// many as sender to every peer (each peer's own choice count, `counts[p]`).
pub(crate) fn run<R: RngCore + CryptoRng>(
    net: &mut Network,
    session: &[u8; 32],
    transcript: &mut Transcript,
    choices: &[Vec<bool>],
    counts: &[usize],
    rng: &mut R,
) -> Result<BaseOts> {
    let n = net.n_parties();
    let me = net.my_id();
    let peers: Vec<PartyId> = net.peers().collect();

    // Round 1 (as sender): A = a·G and a commitment to the seed, per peer.
    let mut sender_state = Vec::with_capacity(n);
    let mut out = Out::new(net, kind::BASE_OT_A, Vec::new());
    for p in 0..n {
        if p == me {
            sender_state.push(None);
            continue;
        }
        let a = Scalar::random(rng);
        let big_a = RISTRETTO_BASEPOINT_TABLE * &a;
        let mut seed = [0u8; 32];
        let mut salt = [0u8; 32];
        rng.fill_bytes(&mut seed);
        rng.fill_bytes(&mut salt);
        let f = out.to(p);
        f.extend_from_slice(big_a.compress().as_bytes());
        f.extend_from_slice(&coins::commit(session, me, &salt, &seed));
        sender_state.push(Some((a, big_a, seed, salt)));
    }
    let mut ins = out.exchange(net, transcript)?;

    // Round 2 (as receiver): B_k = b_k·G + c_k·A per peer.
    let mut recv_state = Vec::with_capacity(n);
    let mut out = Out::new(net, kind::BASE_OT_B, Vec::new());
    for &p in &peers {
        let input = &mut ins[p];
        let a_bytes: [u8; 32] = input.take(32)?.try_into().expect("32 bytes");
        let seed_commitment: [u8; 32] = input.take(32)?.try_into().expect("32 bytes");
        input.done()?;
        let big_a = point(p, &a_bytes)?;
        if big_a == RistrettoPoint::identity() {
            return Err(OfflineError::BaseOt {
                peer: p,
                reason: "the sender's group element is the identity".into(),
            });
        }
        let f = out.to(p);
        f.reserve(32 * choices[p].len());
        let mut bs = Vec::with_capacity(choices[p].len());
        let mut b_bytes = Vec::with_capacity(choices[p].len());
        for &c in &choices[p] {
            let b = Scalar::random(rng);
            let b0 = RISTRETTO_BASEPOINT_TABLE * &b;
            let b1 = b0 + big_a;
            let big_b = RistrettoPoint::conditional_select(&b0, &b1, Choice::from(c as u8));
            let enc = big_b.compress().to_bytes();
            f.extend_from_slice(&enc);
            bs.push(b);
            b_bytes.push(enc);
        }
        recv_state.push((p, big_a, a_bytes, seed_commitment, bs, b_bytes));
    }
    let mut ins_b = out.exchange(net, transcript)?;

    // Round 3 (as sender): open the seed; compute the sender keys.
    let mut out = Out::new(net, kind::BASE_OT_SEED, Vec::new());
    let mut sent = vec![Vec::new(); n];
    for &p in &peers {
        let (a, big_a, seed, salt) = sender_state[p].take().expect("set for every peer");
        let input = &mut ins_b[p];
        let a_bytes = big_a.compress().to_bytes();
        let a_times_a = a * big_a;
        let mut keys = Vec::with_capacity(counts[p]);
        for k in 0..counts[p] {
            let b_bytes: [u8; 32] = input.take(32)?.try_into().expect("32 bytes");
            let big_b = point(p, &b_bytes)?;
            let ab = a * big_b;
            let k0 = key(session, me, p, k, &a_bytes, &b_bytes, &ab, &seed);
            let k1 = key(
                session,
                me,
                p,
                k,
                &a_bytes,
                &b_bytes,
                &(ab - a_times_a),
                &seed,
            );
            keys.push((k0, k1));
        }
        input.done()?;
        sent[p] = keys;
        let f = out.to(p);
        f.extend_from_slice(&seed);
        f.extend_from_slice(&salt);
    }
    let mut ins_s = out.exchange(net, transcript)?;

    // As receiver: check the seed opening, compute the chosen keys.
    let mut received = vec![Vec::new(); n];
    for (p, big_a, a_bytes, seed_commitment, bs, b_bytes) in recv_state {
        let input = &mut ins_s[p];
        let seed: [u8; 32] = input.take(32)?.try_into().expect("32 bytes");
        let salt: [u8; 32] = input.take(32)?.try_into().expect("32 bytes");
        input.done()?;
        if !coins::verify(&seed_commitment, session, p, &salt, &seed) {
            return Err(OfflineError::CommitmentMismatch { party: p });
        }
        received[p] = bs
            .iter()
            .zip(&b_bytes)
            .enumerate()
            .map(|(k, (b, bb))| key(session, p, me, k, &a_bytes, bb, &(b * big_a), &seed))
            .collect();
    }
    Ok(BaseOts { sent, received })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn receiver_gets_the_chosen_key_only() {
        let nets = net::in_process(3, net::NetConfig::default());
        let handles: Vec<_> = nets
            .into_iter()
            .map(|mut net| {
                std::thread::spawn(move || {
                    let me = net.my_id();
                    let mut rng = ChaCha20Rng::seed_from_u64(me as u64);
                    let choices: Vec<Vec<bool>> = (0..3)
                        .map(|p| {
                            if p == me {
                                vec![]
                            } else {
                                (0..20).map(|k| (k * 7 + me + p) % 3 == 0).collect()
                            }
                        })
                        .collect();
                    let counts = vec![20; 3];
                    let mut t = Transcript::new();
                    let ots =
                        run(&mut net, &[5u8; 32], &mut t, &choices, &counts, &mut rng).unwrap();
                    (choices, ots)
                })
            })
            .collect();
        let res: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for s in 0..3 {
            for r in 0..3 {
                if s == r {
                    continue;
                }
                let (choices, recv) = (&res[r].0, &res[r].1);
                for (k, &c) in choices[s].iter().enumerate() {
                    let (k0, k1) = res[s].1.sent[r][k];
                    assert_ne!(k0, k1);
                    let want = if c { k1 } else { k0 };
                    assert_eq!(recv.received[s][k], want);
                }
            }
        }
    }

    #[test]
    fn keys_depend_on_the_session() {
        let p = RISTRETTO_BASEPOINT_TABLE * &Scalar::from(7u64);
        let k1 = key(&[1u8; 32], 0, 1, 3, &[2u8; 32], &[3u8; 32], &p, &[4u8; 32]);
        let k2 = key(&[2u8; 32], 0, 1, 3, &[2u8; 32], &[3u8; 32], &p, &[4u8; 32]);
        assert_ne!(k1, k2);
        assert_eq!(
            k1,
            key(&[1u8; 32], 0, 1, 3, &[2u8; 32], &[3u8; 32], &p, &[4u8; 32])
        );
    }

    /// A receiver in another session rejects the sender's seed opening (the commitment is bound
    /// to the sender's session): no keys, a typed error, no panic.
    #[test]
    fn a_peer_in_another_session_fails_the_seed_commitment() {
        let nets = net::in_process(2, net::NetConfig::default());
        let handles: Vec<_> = nets
            .into_iter()
            .map(|mut net| {
                std::thread::spawn(move || {
                    let me = net.my_id();
                    let mut rng = ChaCha20Rng::seed_from_u64(me as u64);
                    let session = [me as u8 + 1; 32];
                    let choices: Vec<Vec<bool>> = (0..2)
                        .map(|p| if p == me { vec![] } else { vec![true; 4] })
                        .collect();
                    let mut t = Transcript::new();
                    run(&mut net, &session, &mut t, &choices, &[4, 4], &mut rng).map(|_| ())
                })
            })
            .collect();
        for (me, h) in handles.into_iter().enumerate() {
            let e = h.join().unwrap().unwrap_err();
            assert_eq!(e, OfflineError::CommitmentMismatch { party: 1 - me });
        }
    }
}
