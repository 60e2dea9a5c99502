//! Tuple generation jobs with MASCOT (the node's default generator; Carbyne Stack's Klyshko
//! role).
//!
//! **Scheduling.** Party 0's pool keeper watches every kind and starts a job when a kind's
//! available tuples fall below its threshold (inactive ones do not count), or when a reservation would otherwise fail.
//! Thresholds and batch sizes come from `[tuples.pools]`.
//!
//! **A job** runs on its own gateway channel, named by a fresh chunk id:
//! 1. party 0 sends `Start { chunk, kind, count }`; the other parties hear of it through
//!    [`net::Gateway::subscribe`] (the frame starts with [`JOB_MAGIC`]), check that it comes from
//!    party 0 and open the channel; each answers `Ready`, or `Refuse` while its generation is
//!    halted ([`crate::generation_guard`]); party 0 answers `Go` once every party is ready, or
//!    `Abort` (so that nobody enters MASCOT for a job that will not run);
//! 2. all parties run MASCOT (`offline::Mascot`: base OTs, then the tuples with every check of
//!    the paper) with their MAC key share — sampled at the first job and kept in the tuple store;
//! 3. each party writes its shares under the chunk id, inactive, in one transaction, and reports
//!    `Stored` to party 0;
//! 4. party 0 sends `Commit` once every party stored, and every party activates the chunk and
//!    counts it (`ephemeral_tuples_generated_total{kind}`, and the per-kind `generated` and
//!    `generation_rate` of `GET /v1/tuples`); on any failure party 0 sends `Abort` and every
//!    party discards what it wrote.
//!
//! **Architecture Invariant:** a failed job leaves no usable tuple anywhere: a chunk becomes
//! active only after every party stored it, and a party that does not see `Commit` discards it.
//! A cheating party makes MASCOT abort; it never yields tuples.
//!
//! **Architecture Invariant:** a failed check (MASCOT's, or a malformed job message) halts
//! generation on this party durably before the job returns; no job starts or is joined while
//! halted. Only timeouts, lost connections and local faults leave generation running.

use std::sync::Arc;

use bytes::Bytes;
use net::{ChannelId, NetConfig, Network, PartyId};
use protocol::prep::TupleKind;
use serde::{Deserialize, Serialize};
use store::tuple::{is_binary, kind_label, parse_kind_label, MAX_CHUNK_TUPLES};
use store::{ChunkId, KeyOrigin, TupleData, TupleStore};

use crate::generation_guard::JobError;
use crate::Node;

/// The first bytes of every job frame.
pub const JOB_MAGIC: &[u8; 8] = b"EPHJOB02";

#[derive(Serialize, Deserialize)]
enum JobMsg {
    Start {
        chunk: uuid::Uuid,
        kind: String,
        count: u64,
    },
    /// A follower will run the job.
    Ready,
    /// A follower will not: its generation is halted (`halted`), or it cannot now.
    Refuse {
        halted: bool,
        reason: String,
    },
    /// Party 0: every party is ready, MASCOT starts.
    Go,
    Stored {
        ok: bool,
        reason: String,
    },
    Commit,
    Abort {
        reason: String,
    },
}

fn frame(msg: &JobMsg) -> Bytes {
    let mut v = JOB_MAGIC.to_vec();
    v.extend(postcard::to_allocvec(msg).expect("job messages serialize"));
    Bytes::from(v)
}

/// A job message from `peer`; a malformed one is a failed check (a correct node never sends
/// one), so it halts generation like any other.
fn parse(peer: PartyId, b: &[u8]) -> Result<JobMsg, JobError> {
    b.strip_prefix(JOB_MAGIC.as_slice())
        .and_then(|rest| postcard::from_bytes(rest).ok())
        .ok_or_else(|| {
            JobError::check(
                "malformed-message",
                Some(peer),
                format!("party {peer} sent a malformed job message"),
            )
        })
}

/// A job message received from `peer`: a network failure is not a check failure.
fn recv_msg(net: &mut Network, peer: PartyId) -> Result<JobMsg, JobError> {
    let f = net.recv(peer).map_err(|e| JobError::other(e.to_string()))?;
    parse(peer, &f)
}

fn unexpected(peer: PartyId, when: &str) -> JobError {
    JobError::check(
        "malformed-message",
        Some(peer),
        format!("party {peer} sent an unexpected job message {when}"),
    )
}

fn channel(chunk: ChunkId) -> ChannelId {
    ChannelId::derive("tuplegen", &chunk.to_string())
}

impl Node {
    fn job_net(&self, id: ChannelId) -> Result<Network, String> {
        let gw = self
            .gateway
            .as_ref()
            .ok_or("MASCOT jobs need the gateway")?;
        gw.open_with(
            id,
            NetConfig {
                recv_deadline: self.config.timeouts.recv(),
                ..NetConfig::default()
            },
        )
        .map_err(|e| e.to_string())
    }

    /// This party's shares of `count` tuples of `kind`, made with every party over `net` (the
    /// job's channel, whose id MASCOT binds into its keys and commitments).
    fn mascot_shares(
        &self,
        net: &mut Network,
        kind: TupleKind,
        count: u64,
    ) -> Result<TupleData, JobError> {
        let alpha = self.tuples.mac_key_share().ok();
        let cfg = offline::MascotConfig {
            insecure_cheat: self.insecure_cheat(),
            ..offline::MascotConfig::for_channel(net)
                .map_err(|e| JobError::other(format!("MASCOT: {e}")))?
        };
        let mut mascot = offline::Mascot::setup(net, alpha, cfg)
            .map_err(|e| JobError::from_offline(&e, "MASCOT setup"))?;
        if alpha.is_none() {
            self.tuples
                .set_mac_key_share(mascot.mac_key_share(), KeyOrigin::Mascot)
                .map_err(|e| JobError::other(e.to_string()))?;
        }
        if is_binary(kind) {
            return self.binary_shares(net, &mut mascot, kind, count);
        }
        let t = mascot
            .generate(net, kind, count as usize)
            .map_err(|e| JobError::from_offline(&e, "MASCOT"))?;
        Ok(match (kind, t) {
            (_, offline::Tuples::Triples(t)) => TupleData::Triples(t),
            (TupleKind::Square, offline::Tuples::Pairs(p)) => TupleData::Squares(p),
            (_, offline::Tuples::Pairs(p)) => TupleData::Inverses(p),
            (_, offline::Tuples::Bits(b)) => TupleData::Bits(b),
            (TupleKind::InputMask(owner), offline::Tuples::InputMasks(masks)) => {
                TupleData::InputMasks { owner, masks }
            }
            (k, _) => {
                return Err(JobError::other(format!(
                    "MASCOT returned the wrong kind for {k}"
                )))
            }
        })
    }

    /// This party's shares of `count` binary-domain tuples: binary triples from
    /// `offline::BinaryPrep` (TinyOT-style, under this party's Δ_i — sampled at the first binary
    /// job and kept in the tuple store beside α_i), daBits and edaBits from
    /// `offline::EdaBitGen` (which also draws MASCOT tuples from `mascot`). Every check of the
    /// generators runs before a tuple is returned; a failed one is a check failure of the job.
    fn binary_shares(
        &self,
        net: &mut Network,
        mascot: &mut offline::Mascot,
        kind: TupleKind,
        count: u64,
    ) -> Result<TupleData, JobError> {
        let delta = self
            .tuples
            .binary_key_share()
            .map_err(|e| JobError::other(e.to_string()))?;
        let cfg = offline::BinaryConfig::for_channel(net)
            .map_err(|e| JobError::other(format!("binary preprocessing: {e}")))?;
        let mut bin = offline::BinaryPrep::setup_with_key(net, cfg, delta)
            .map_err(|e| JobError::from_offline(&e, "binary setup"))?;
        if delta.is_none() {
            self.tuples
                .set_binary_key_share(bin.delta_share(), KeyOrigin::Mascot)
                .map_err(|e| JobError::other(e.to_string()))?;
        }
        let n = count as usize;
        let offline_err =
            |e: offline::OfflineError| JobError::from_offline(&e, "binary preprocessing");
        let mut gen = offline::EdaBitGen::new();
        Ok(match kind {
            TupleKind::BitTriple => {
                let t = bin.triples(net, n).map_err(offline_err)?;
                let bits = |a: offline::AuthBits| {
                    let (len, v, m) = a.into_parts();
                    protocol::binary::BitShares::from_parts(len, v, m).ok_or_else(|| {
                        JobError::other("binary triples of the wrong length".to_string())
                    })
                };
                TupleData::BitTriples(protocol::prep::BitTriples {
                    a: bits(t.a)?,
                    b: bits(t.b)?,
                    c: bits(t.c)?,
                })
            }
            TupleKind::DaBit => {
                TupleData::DaBits(gen.dabits(mascot, &mut bin, net, n).map_err(offline_err)?)
            }
            TupleKind::EdaBit { bits, extra } => TupleData::EdaBits(
                gen.edabits(mascot, &mut bin, net, n, bits, extra)
                    .map_err(offline_err)?,
            ),
            TupleKind::WideEdaBit { bits, width } => TupleData::WideEdaBits(
                gen.wide_edabits(mascot, &mut bin, net, n, bits, width)
                    .map_err(offline_err)?,
            ),
            k => return Err(JobError::other(format!("{k} is not a binary-domain kind"))),
        })
    }

    /// The test-only cheat of this party, if its config asks for one (`insecure_tamper =
    /// "cope"`): the selective-failure attack on a peer's α, one key digit per job (job k probes
    /// COPE column k mod `offline::COPE_COLUMNS`), as a real attacker would run it if failed jobs were retried.
    fn insecure_cheat(&self) -> Option<offline::InsecureCheat> {
        (self.config.insecure_tamper.as_deref() == Some("cope")).then(|| {
            let column = self.tuplegen.next_cheat_column();
            tracing::warn!(
                party = self.me,
                column,
                "INSECURE test setting insecure_tamper = \"cope\": this party adds an error to a COPE column of this MASCOT job"
            );
            offline::InsecureCheat::CopeColumnError { column }
        })
    }

    /// Runs `job` and, if it failed a check, halts generation before returning.
    fn guarded<T>(
        &self,
        chunk: ChunkId,
        job: impl FnOnce() -> Result<T, JobError>,
    ) -> Result<T, JobError> {
        let r = job();
        if let Err(JobError {
            check: Some(failure),
            message,
        }) = &r
        {
            self.halt_generation(&chunk.to_string(), failure, message);
        }
        r
    }

    /// Whether a job of `kind` would make a key share: α_i while none is stored, and Δ_i for a
    /// binary kind while none is stored.
    fn job_makes_key(&self, kind: TupleKind) -> bool {
        self.tuples.mac_key_share().is_err()
            || (is_binary(kind) && !matches!(self.tuples.binary_key_share(), Ok(Some(_))))
    }

    /// Party 0: runs one job of `count` tuples of `kind` with every party (blocking).
    ///
    /// A job that makes a key share (the first job, and the first binary job) runs alone: two
    /// such jobs at once (the pool keeper's and an on-demand one) would each sample their own
    /// α_i or Δ_i, and the second could not store it. So while no key is stored, jobs take
    /// [`crate::tuplegen::Generator::first_key_lock`] in turn, and the first one's key is
    /// stored (on every party: each stores it before reporting `Stored`) before the next
    /// starts.
    pub(crate) fn lead_job(&self, kind: TupleKind, count: u64) -> Result<ChunkId, JobError> {
        if let Some(h) = self.generation_halt() {
            return Err(JobError::other(
                crate::generation_guard::halted_error(&h).message,
            ));
        }
        let _first = if self.job_makes_key(kind) {
            let lock = self.tuplegen.first_key_lock();
            // Another job may have made the key while this one waited.
            self.job_makes_key(kind).then_some(lock)
        } else {
            None
        };
        let _slot = self
            .limits
            .job(&self.metrics)
            .map_err(|e| JobError::other(e.message))?;
        let _gate = self
            .session_gate()
            .map_err(|e| JobError::other(e.message))?;
        let chunk = ChunkId::random();
        self.guarded(chunk, || self.lead_job_inner(chunk, kind, count))
    }

    fn lead_job_inner(
        &self,
        chunk: ChunkId,
        kind: TupleKind,
        count: u64,
    ) -> Result<ChunkId, JobError> {
        let began = std::time::Instant::now();
        // Until it is committed or discarded here, recovery reports the chunk as pending.
        let _inflight = self.recovery.chunk_in_flight(chunk);
        let mut net = self.job_net(channel(chunk))?;
        let start = frame(&JobMsg::Start {
            chunk: chunk.uuid(),
            kind: kind_label(kind),
            count,
        });
        for p in 1..self.n {
            net.send(p, start.clone()).map_err(|e| e.to_string())?;
        }
        let abort = |net: &mut Network, reason: &str| {
            let f = frame(&JobMsg::Abort {
                reason: reason.to_string(),
            });
            for p in 1..self.n {
                let _ = net.send(p, f.clone());
            }
        };
        for p in 1..self.n {
            let r = match recv_msg(&mut net, p) {
                Ok(JobMsg::Ready) => Ok(()),
                Ok(JobMsg::Refuse {
                    halted: true,
                    reason,
                }) => Err(JobError::check(
                    "peer-halted",
                    Some(p),
                    format!("party {p} refuses to generate: {reason}"),
                )),
                Ok(JobMsg::Refuse { reason, .. }) => Err(JobError::other(format!(
                    "party {p} cannot generate now: {reason}"
                ))),
                Ok(_) => Err(unexpected(p, "instead of Ready")),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                abort(&mut net, &e.message);
                return Err(e);
            }
        }
        let go = frame(&JobMsg::Go);
        for p in 1..self.n {
            net.send(p, go.clone()).map_err(|e| e.to_string())?;
        }
        let data = self.mascot_shares(&mut net, kind, count)?;
        if let Err(e) = self.tuples.store_chunk(chunk, &data) {
            abort(&mut net, "party 0 could not store its shares");
            return Err(JobError::other(e.to_string()));
        }
        let mut failure = None;
        for p in 1..self.n {
            match recv_msg(&mut net, p) {
                Ok(JobMsg::Stored { ok: true, .. }) => {}
                Ok(JobMsg::Stored { reason, .. }) => {
                    failure = Some(JobError::other(format!(
                        "party {p} could not store its shares: {reason}"
                    )))
                }
                Ok(_) => failure = Some(unexpected(p, "instead of Stored")),
                Err(e) => failure = Some(e),
            }
            if failure.is_some() {
                break;
            }
        }
        // Another job of this node failed a check while this one ran (jobs of different kinds
        // run side by side): generation with this peer set is halted, so nothing more is
        // activated, even from a job whose own checks passed.
        if failure.is_none() {
            if let Some(h) = self.generation_halt() {
                failure = Some(JobError::other(
                    crate::generation_guard::halted_error(&h).message,
                ));
            }
        }
        if let Some(f) = failure {
            abort(&mut net, &f.message);
            let _ = self.tuples.discard_chunk(chunk);
            return Err(f);
        }
        // Activated here first: a party that misses `Commit` (or asks after party 0 died right
        // after this) learns from recovery that the chunk is active.
        if let Err(e) = self.tuples.activate_chunk(chunk) {
            abort(&mut net, "party 0 could not activate its shares");
            let _ = self.tuples.discard_chunk(chunk);
            return Err(JobError::other(e.to_string()));
        }
        let commit = frame(&JobMsg::Commit);
        for p in 1..self.n {
            let _ = net.send(p, commit.clone());
        }
        self.tuplegen.record_job(&self.metrics, kind, count);
        let secs = began.elapsed().as_secs_f64();
        tracing::info!(
            kind = %kind_label(kind),
            count,
            secs,
            per_sec = count as f64 / secs.max(1e-9),
            "MASCOT job committed"
        );
        Ok(chunk)
    }

    /// Another party: follows the job party 0 started on channel `id` (blocking).
    pub(crate) fn follow_job(&self, id: ChannelId) -> Result<(), JobError> {
        let mut net = self.job_net(id)?;
        let JobMsg::Start { chunk, kind, count } = recv_msg(&mut net, 0)? else {
            return Err(unexpected(0, "instead of Start"));
        };
        let chunk = ChunkId::from_uuid(chunk).map_err(|e| {
            JobError::check(
                "malformed-message",
                Some(0),
                format!("party 0 named a bad chunk: {e}"),
            )
        })?;
        if channel(chunk) != id {
            return Err(JobError::check(
                "malformed-message",
                Some(0),
                "party 0 announced a job on a channel that does not match its chunk",
            ));
        }
        let _inflight = self.recovery.chunk_in_flight(chunk);
        let r = self.guarded(chunk, || {
            self.follow_job_inner(&mut net, chunk, &kind, count)
        });
        if r.is_err() {
            // An uncommitted chunk may be left here: recovery asks party 0 about it.
            self.recovery.mark_dirty();
        }
        r
    }

    fn follow_job_inner(
        &self,
        net: &mut Network,
        chunk: ChunkId,
        kind: &str,
        count: u64,
    ) -> Result<(), JobError> {
        let refuse = |net: &mut Network, halted: bool, reason: String| {
            let _ = net.send(
                0,
                frame(&JobMsg::Refuse {
                    halted,
                    reason: reason.clone(),
                }),
            );
            reason
        };
        if let Some(h) = self.generation_halt() {
            let why = crate::generation_guard::halted_error(&h).message;
            return Err(JobError::other(refuse(net, true, why)));
        }
        let Some(kind) = parse_kind_label(kind)
            .filter(|k| !matches!(k, TupleKind::InputMask(p) if *p >= self.n))
        else {
            let why = format!("party 0 asked for unknown tuple kind {kind:?}");
            return Err(JobError::check(
                "malformed-message",
                Some(0),
                refuse(net, false, why),
            ));
        };
        if count == 0 || count > MAX_CHUNK_TUPLES {
            let why = format!("party 0 asked for a chunk of {count} tuples");
            return Err(JobError::check(
                "malformed-message",
                Some(0),
                refuse(net, false, why),
            ));
        }
        let _slot = match self.limits.job(&self.metrics) {
            Ok(s) => s,
            Err(e) => return Err(JobError::other(refuse(net, false, e.message))),
        };
        if let Err(why) = self.limits.job_size(count) {
            return Err(JobError::other(refuse(net, false, why)));
        }
        let _gate = match self.session_gate() {
            Ok(g) => g,
            Err(e) => return Err(JobError::other(refuse(net, false, e.message))),
        };
        net.send(0, frame(&JobMsg::Ready))
            .map_err(|e| e.to_string())?;
        match recv_msg(net, 0)? {
            JobMsg::Go => {}
            JobMsg::Abort { reason } => {
                return Err(JobError::other(format!(
                    "party 0 called the job off; {}",
                    crate::coord::relayed(&reason)
                )))
            }
            _ => return Err(unexpected(0, "instead of Go")),
        }
        let data = self.mascot_shares(net, kind, count)?;
        // Halted meanwhile by another job's failed check: store nothing, and say why.
        let stored = match self.generation_halt() {
            Some(h) => Err(crate::generation_guard::halted_error(&h).message),
            None => self
                .tuples
                .store_chunk(chunk, &data)
                .map_err(|e| e.to_string()),
        };
        let reply = match &stored {
            Ok(()) => JobMsg::Stored {
                ok: true,
                reason: String::new(),
            },
            Err(e) => JobMsg::Stored {
                ok: false,
                reason: e.clone(),
            },
        };
        net.send(0, frame(&reply)).map_err(|e| e.to_string())?;
        stored?;
        match recv_msg(net, 0) {
            Ok(JobMsg::Commit) => {
                self.tuples
                    .activate_chunk(chunk)
                    .map_err(|e| e.to_string())?;
                self.tuplegen.record_job(&self.metrics, kind, count);
                Ok(())
            }
            Ok(JobMsg::Abort { reason }) => {
                let _ = self.tuples.discard_chunk(chunk);
                Err(JobError::other(format!(
                    "party 0 aborted the job; {}",
                    crate::coord::relayed(&reason)
                )))
            }
            Ok(_) => {
                let _ = self.tuples.discard_chunk(chunk);
                Err(unexpected(0, "instead of Commit"))
            }
            Err(e) if e.check.is_some() => {
                let _ = self.tuples.discard_chunk(chunk);
                Err(e)
            }
            // No word from party 0 after `Stored`: it may have committed just before the link
            // failed. The chunk stays inactive (never offered here) until recovery asks party 0:
            // activated if party 0 committed it, discarded otherwise (`crate::recovery`).
            Err(e) => Err(JobError::other(format!(
                "{e}; the chunk is kept inactive in case party 0 committed it"
            ))),
        }
    }

    /// Follows every job party 0 starts, until the node stops.
    pub(crate) async fn follow_jobs(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(gw) = self.gateway.clone() else {
            return;
        };
        let mut jobs = gw.subscribe(JOB_MAGIC);
        loop {
            let (peer, id) = tokio::select! {
                j = jobs.recv() => match j { Some(j) => j, None => return },
                _ = stop.changed() => return,
            };
            if peer != 0 {
                tracing::warn!(
                    peer,
                    "ignoring a tuple generation job not started by party 0"
                );
                continue;
            }
            let node = self.clone();
            tokio::task::spawn_blocking(move || match node.follow_job(id) {
                Ok(()) => tracing::debug!(channel = %id, "tuple generation job done"),
                Err(JobError {
                    check: Some(failure),
                    message,
                }) => {
                    // A Start that was already malformed never reached `guarded`.
                    if node.generation_halt().is_none() {
                        node.halt_generation(&id.to_string(), &failure, &message);
                    }
                }
                Err(e) => {
                    tracing::warn!(channel = %id, error = %e, "tuple generation job failed; nothing was kept")
                }
            });
        }
    }

    /// Party 0, MASCOT: one pass of the pool keeper — a job for every kind below its threshold
    /// (binary-domain kinds too, once used: their threshold follows their consumption).
    /// Nothing while generation is halted.
    pub(crate) fn mascot_top_up(&self) -> Result<u64, JobError> {
        if self.generation_halt().is_some() {
            return Ok(0);
        }
        let mut jobs = 0;
        let kinds = self.pool_kinds().map_err(|e| JobError::other(e.message))?;
        for kind in kinds {
            let s = self
                .tuples
                .stats_of(kind)
                .map_err(|e| JobError::other(e.to_string()))?;
            self.tuplegen.observe(kind, s.consumed);
            // Sized from what the kind's consumption was over the last minute.
            let policy = self.tuplegen.sized_policy(kind, s.consumed);
            // Inactive tuples are not available: a chunk a failed job left inactive is resolved
            // by recovery, and must not stop the kind from being refilled meanwhile.
            if s.available < policy.threshold {
                self.lead_job(kind, policy.batch.min(MAX_CHUNK_TUPLES))?;
                jobs += 1;
            }
        }
        Ok(jobs)
    }
}
