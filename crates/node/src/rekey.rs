//! Rekey: the operators' way back after generation halted (and a routine key rotation): every
//! party moves to a fresh MAC key α′ = Σ α′_i, every stored secret is re-authenticated under it
//! without any party learning a value, and every tuple made under the old key is discarded.
//!
//! Written by hand from the SPDZ input protocol and a standard batched consistency check: no
//! crate does it.
//!
//! **Protocol** (every party, on `POST /v1/admin/rekey` with the same request id; party 0 leads):
//! 1. *Agree* on (request id, operator, inventory) where the inventory is the digest of every
//!    stored secret's (id, length): the parties must hold the same secrets. Party 0 reserves one
//!    triple made under the old key α; its `a` is a random [ρ]_α nobody knows.
//! 2. *New key*: a fresh MASCOT setup samples α′_i (nothing of α is used, so a failed attempt
//!    teaches a cheater nothing it keeps: a rekey may simply be run again), and makes m + 1 input
//!    masks of every party under α′ (m: the number of stored values).
//! 3. *Reshare*: each party i inputs, under α′, its value shares x_{k,i} of every stored value
//!    and its share ρ_i (the SPDZ input protocol: broadcast x − r for its masks, with the echo
//!    check). Summing the parties' inputs gives [x_k]_α′ and [ρ]_α′.
//! 4. *Check*: after the inputs are fixed, a committed coin toss gives χ_1..χ_m. The parties
//!    open y = Σ χ_k x_k + ρ once under α (from the stored shares, MAC-checked with α) and
//!    once under α′ (from the new shares, MAC-checked with α′), and compare. A party that input
//!    x_{k,i} + δ_k makes the two differ unless Σ χ_k δ_k + δ_ρ = 0, which happens with
//!    probability 1/p over the coins (Schwartz–Zippel). y reveals nothing: ρ is uniform and
//!    unknown to all.
//! 5. *Commit*: each party tells every other that its check passed; only when all did does it
//!    write the new shares and α′ (pending) in one secret-store transaction, then move the tuple
//!    store to α′ (discarding every old tuple, binary ones included, dropping the binary key
//!    share Δ_i — the next binary job samples a fresh one — and clearing the halt record).
//!
//! **Architecture Invariant:** nothing is written unless every check passed on this party and
//! every party said its check passed; the new key only replaces the old one together with the
//! shares it authenticates (a crash between the two files is completed at the next start).
//!
//! Left open (docs/PROTOCOL.md): a party that dies after some parties committed leaves the
//! parties on different keys; it completes only by restoring nothing and rekeying again once
//! the operators have put every party back on the old state. A two-phase commit with recovery
//! belongs to the reliability work.

use std::sync::Arc;

use api::{ApiError, ErrorCode, RekeyRequest, RekeyResult};
use bytes::Bytes;
use field::Fp;
use net::{NetConfig, Network};
use protocol::prep::{TupleBuffer, TupleKind};
use protocol::{Engine, EngineConfig, ShareVec};
use rand::RngCore;
use rand::SeedableRng;
use store::{ReservationId, ReservationRequest, TupleStore};

use crate::coord::{digest, SessionSpec};
use crate::prep::StorePrep;
use crate::secrets::{join_error, protocol_error, secret_error};
use crate::tuplegen::tuple_error;
use crate::{Node, User};

fn failed(during: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::IntegrityViolation, format!("{during}: {e}"))
}

impl Node {
    /// `POST /v1/admin/rekey`: see the module docs.
    pub async fn rekey(
        self: &Arc<Self>,
        user: &User,
        req: RekeyRequest,
    ) -> Result<RekeyResult, ApiError> {
        if !self.is_admin(user) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "rekey is an operator's action: the client needs `admin = true` in this party's [[clients]]",
            ));
        }
        if !self.tuplegen.is_mascot() {
            return Err(ApiError::bad_request(
                "this party runs the INSECURE dealer, whose key follows from its seed; rekey moves MASCOT parties to a fresh key",
            ));
        }
        // Wait for running sessions and jobs to end; none starts meanwhile.
        let gate = tokio::time::timeout(
            self.config.timeouts.join(),
            self.key_gate.clone().write_owned(),
        )
        .await
        .map_err(|_| {
            ApiError::limited(
                ErrorCode::Unavailable,
                "games, uploads or generation jobs are still running on this party; retry the rekey when they are done",
                5,
            )
        })?;
        let node = self.clone();
        let user = user.clone();
        tokio::task::spawn_blocking(move || {
            let r = node.rekey_blocking(&user, &req);
            drop(gate);
            r
        })
        .await
        .map_err(join_error)?
    }

    fn rekey_blocking(
        self: &Arc<Self>,
        user: &User,
        req: &RekeyRequest,
    ) -> Result<RekeyResult, ApiError> {
        let name = req.request_id.to_string();
        let during = format!("rekey {name}");
        let all = self.secrets.all_shares().map_err(secret_error)?;
        let m: usize = all.iter().map(|(_, s)| s.len()).sum();
        let mut inventory = blake3::Hasher::new();
        for (id, s) in &all {
            inventory.update(id.uuid().as_bytes());
            inventory.update(&(s.len() as u64).to_le_bytes());
        }
        let dg = digest(&[
            b"rekey",
            name.as_bytes(),
            user.name.as_bytes(),
            inventory.finalize().as_bytes(),
        ]);
        let rid = ReservationId::new(format!("rekey/{name}"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        // A rekey is an operator's, one at a time (it holds the key gate alone): it may hold
        // its blocking thread while the parties join.
        let mut session = tokio::runtime::Handle::current().block_on(crate::coord::agree(
            &*self.channels,
            Arc::new(crate::coord::NodeSource(self.clone())),
            self.me,
            SessionSpec {
                purpose: "rekey",
                name: &name,
                digest: dg,
                join: self.config.timeouts.join(),
                recv: self.config.timeouts.recv(),
                reserve: vec![ReservationRequest {
                    id: rid,
                    kind: TupleKind::Triple,
                    count: 1,
                }],
                progress: None,
            },
        ))?;
        session.release =
            crate::coord::ReservationGuard::new(self.tuples.clone(), &session.reservations);
        let open = |purpose: &str| -> Result<Network, ApiError> {
            self.channels
                .open(
                    purpose,
                    &name,
                    NetConfig {
                        recv_deadline: self.config.timeouts.recv(),
                        ..NetConfig::default()
                    },
                )
                .map_err(|e| crate::coord::net_error(&e, &during))
        };
        let mut mascot_net = open("rekey-mascot")?;
        let new_net = open("rekey-new")?;
        let mut coin_net = open("rekey-coins")?;

        // 1. A random [ρ] under the old key.
        let prep = StorePrep::new(self.clone(), &session.reservations, None, &name)?;
        session.release.handed_over();
        let mut old = Engine::new(session.net, prep, EngineConfig::default());
        let rho_old = old.triples(1).map_err(|e| protocol_error(e, &during))?.a;

        // 2. A fresh key and input masks under it.
        let cfg = offline::MascotConfig {
            session: *blake3::Hasher::new_derive_key("ephemeral rekey MASCOT session v1")
                .update(req.request_id.as_bytes())
                .finalize()
                .as_bytes(),
            ..offline::MascotConfig::default()
        };
        let mut mascot = offline::Mascot::setup(&mut mascot_net, None, cfg)
            .map_err(|e| failed(&format!("{during}, MASCOT setup"), e))?;
        let alpha_new = mascot.mac_key_share();
        let mut masks = TupleBuffer::new(alpha_new);
        for owner in 0..self.n {
            match mascot
                .generate(&mut mascot_net, TupleKind::InputMask(owner), m + 1)
                .map_err(|e| failed(&format!("{during}, MASCOT"), e))?
            {
                offline::Tuples::InputMasks(im) => masks
                    .push_input_masks(owner, im)
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::Internal,
                        "MASCOT returned other tuples than input masks",
                    ))
                }
            }
        }

        // 3. Every party inputs its value shares (and its share of ρ) under the new key.
        let mut new = Engine::new(new_net, masks, EngineConfig::default());
        let mut mine: Vec<Fp> = Vec::with_capacity(m + 1);
        for (_, s) in &all {
            mine.extend_from_slice(s.value_shares());
        }
        mine.push(rho_old.value_shares()[0]);
        let inputs = new
            .input(&vec![m + 1; self.n], &mine)
            .map_err(|e| protocol_error(e, &during))?;
        let mut summed = ShareVec::zeros(m + 1);
        for v in &inputs {
            summed.add_assign(v);
        }
        let rho_new = summed.slice(m..m + 1);
        let new_values = summed.slice(0..m);

        // 4. Coins after the inputs, then y under both keys.
        let chi = coefficients(&mut coin_net, self.me, m, &during)?;
        let old_values = ShareVec::concat(&all.iter().map(|(_, s)| s).collect::<Vec<_>>());
        let mut y_old = old_values.linear_combination(&chi);
        y_old.add_assign(&rho_old);
        let mut y_new = new_values.linear_combination(&chi);
        y_new.add_assign(&rho_new);
        let opened_old = old.reveal(&y_old).map_err(|e| protocol_error(e, &during))?;
        let opened_new = new.reveal(&y_new).map_err(|e| protocol_error(e, &during))?;
        let ok = opened_old == opened_new;
        old.finish().map_err(|e| protocol_error(e, &during))?;
        new.finish().map_err(|e| protocol_error(e, &during))?;

        // 5. Everybody's verdict before anybody writes.
        let verdict = Bytes::from_static(if ok { b"ok" } else { b"no" });
        for q in (0..self.n).filter(|&q| q != self.me) {
            coin_net
                .send(q, verdict.clone())
                .map_err(|e| crate::coord::net_error(&e, &during))?;
        }
        let mut refused = Vec::new();
        for q in (0..self.n).filter(|&q| q != self.me) {
            let v = coin_net
                .recv(q)
                .map_err(|e| crate::coord::net_error(&e, &during))?;
            if v.as_ref() != b"ok" {
                refused.push(q);
            }
        }
        if !ok || !refused.is_empty() {
            return Err(ApiError::new(
                ErrorCode::IntegrityViolation,
                format!(
                    "{during}: the new shares are inconsistent with the stored ones{}; a party cheated or is faulty, and nothing was changed",
                    if ok {
                        format!(" at party {refused:?}")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        let mut shares = Vec::with_capacity(all.len());
        let mut at = 0;
        for (id, s) in &all {
            shares.push((*id, new_values.slice(at..at + s.len())));
            at += s.len();
        }
        self.secrets
            .rekey_shares(&shares, alpha_new)
            .map_err(secret_error)?;
        self.finish_rekey(alpha_new)?;
        let key_generation = self.tuples.key_generation().map_err(tuple_error)?;
        tracing::warn!(
            party = self.me,
            secrets = all.len(),
            values = m,
            key_generation,
            operator = %user.name,
            "the parties moved to a fresh MAC key; every stored secret was re-authenticated and every old tuple discarded; tuple generation resumes"
        );
        Ok(RekeyResult {
            party: self.me,
            secrets: all.len() as u64,
            values: m as u64,
            key_generation,
        })
    }

    /// The tuple store's side of a rekey whose secrets are written: also run at start-up when
    /// the secret store still holds a pending key (a crash between the two writes).
    pub(crate) fn finish_rekey(&self, alpha: Fp) -> Result<(), ApiError> {
        if self.tuples.mac_key_share().ok() != Some(alpha) {
            self.tuples.rekey(alpha).map_err(tuple_error)?;
        }
        self.secrets.clear_pending_mac_key().map_err(secret_error)?;
        self.tuplegen.resume();
        self.metrics.set_generation_halted(false);
        Ok(())
    }
}

/// `m` coefficients from a committed coin toss among all parties on `net` (each party commits
/// to a random share, then opens it; the seed is the hash of all shares).
fn coefficients(net: &mut Network, me: usize, m: usize, during: &str) -> Result<Vec<Fp>, ApiError> {
    let n = net.n_parties();
    let mut coin = [0u8; 32];
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut coin);
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let c = protocol::commit::commit(me, &salt, &coin);
    let neterr = |e: net::NetError| crate::coord::net_error(&e, during);
    for q in (0..n).filter(|&q| q != me) {
        net.send(q, Bytes::copy_from_slice(&c)).map_err(neterr)?;
    }
    let mut theirs = vec![[0u8; 32]; n];
    for (q, slot) in theirs.iter_mut().enumerate().filter(|(q, _)| *q != me) {
        let f = net.recv(q).map_err(neterr)?;
        *slot = f
            .as_ref()
            .try_into()
            .map_err(|_| failed(during, format!("party {q} sent a malformed commitment")))?;
    }
    let mut opening = coin.to_vec();
    opening.extend_from_slice(&salt);
    for q in (0..n).filter(|&q| q != me) {
        net.send(q, Bytes::from(opening.clone())).map_err(neterr)?;
    }
    let mut coins = vec![[0u8; 32]; n];
    coins[me] = coin;
    for q in (0..n).filter(|&q| q != me) {
        let f = net.recv(q).map_err(neterr)?;
        let (cq, sq) = (f.get(..32), f.get(32..64));
        let (Some(cq), Some(sq), 64) = (cq, sq, f.len()) else {
            return Err(failed(during, format!("party {q} sent a malformed coin")));
        };
        let cq: [u8; 32] = cq.try_into().expect("32 bytes");
        let sq: [u8; 32] = sq.try_into().expect("32 bytes");
        if !protocol::commit::verify(&theirs[q], q, &sq, &cq) {
            return Err(failed(
                during,
                format!("party {q} opened a coin that does not match its commitment"),
            ));
        }
        coins[q] = cq;
    }
    let seed = protocol::commit::joint_seed(&coins);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    Ok((0..m).map(|_| Fp::random(&mut rng)).collect())
}
