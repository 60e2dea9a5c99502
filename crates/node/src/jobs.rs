//! Tuple generation jobs with MASCOT (the node's default generator; Carbyne Stack's Klyshko
//! role).
//!
//! **Scheduling.** Party 0's pool keeper watches every kind and starts a job when a kind's pool
//! (available + inactive) falls below its threshold, or when a reservation would otherwise fail.
//! Thresholds and batch sizes come from `[tuples.pools]`.
//!
//! **A job** runs on its own gateway channel, named by a fresh chunk id:
//! 1. party 0 sends `Start { chunk, kind, count }`; the other parties hear of it through
//!    [`net::Gateway::subscribe`] (the frame starts with [`JOB_MAGIC`]), check that it comes from
//!    party 0 and open the channel;
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

use std::sync::Arc;

use bytes::Bytes;
use net::{ChannelId, NetConfig, Network, PartyId};
use protocol::prep::TupleKind;
use serde::{Deserialize, Serialize};
use store::tuple::{kind_label, parse_kind_label, MAX_CHUNK_TUPLES};
use store::{ChunkId, TupleData, TupleStore};

use crate::Node;

/// The first bytes of every job frame.
pub const JOB_MAGIC: &[u8; 8] = b"EPHJOB01";

#[derive(Serialize, Deserialize)]
enum JobMsg {
    Start {
        chunk: uuid::Uuid,
        kind: String,
        count: u64,
    },
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

fn parse(peer: PartyId, b: &[u8]) -> Result<JobMsg, String> {
    b.strip_prefix(JOB_MAGIC.as_slice())
        .and_then(|rest| postcard::from_bytes(rest).ok())
        .ok_or_else(|| format!("party {peer} sent a malformed job message"))
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

    /// This party's shares of `count` tuples of `kind`, made with every party over `net`.
    fn mascot_shares(
        &self,
        net: &mut Network,
        kind: TupleKind,
        count: u64,
    ) -> Result<TupleData, String> {
        let alpha = self.tuples.mac_key_share().ok();
        let config = offline::MascotConfig::for_channel(net).map_err(|e| format!("MASCOT: {e}"))?;
        let mut mascot =
            offline::Mascot::setup(net, alpha, config).map_err(|e| format!("MASCOT setup: {e}"))?;
        if alpha.is_none() {
            self.tuples
                .set_mac_key_share(mascot.mac_key_share())
                .map_err(|e| e.to_string())?;
        }
        let t = mascot
            .generate(net, kind, count as usize)
            .map_err(|e| format!("MASCOT: {e}"))?;
        Ok(match (kind, t) {
            (_, offline::Tuples::Triples(t)) => TupleData::Triples(t),
            (TupleKind::Square, offline::Tuples::Pairs(p)) => TupleData::Squares(p),
            (_, offline::Tuples::Pairs(p)) => TupleData::Inverses(p),
            (_, offline::Tuples::Bits(b)) => TupleData::Bits(b),
            (TupleKind::InputMask(owner), offline::Tuples::InputMasks(masks)) => {
                TupleData::InputMasks { owner, masks }
            }
            (k, _) => return Err(format!("MASCOT returned the wrong kind for {k}")),
        })
    }

    /// Party 0: runs one job of `count` tuples of `kind` with every party (blocking).
    pub(crate) fn lead_job(&self, kind: TupleKind, count: u64) -> Result<ChunkId, String> {
        let chunk = ChunkId::random();
        let began = std::time::Instant::now();
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
        let data = self.mascot_shares(&mut net, kind, count)?;
        if let Err(e) = self.tuples.store_chunk(chunk, &data) {
            abort(&mut net, "party 0 could not store its shares");
            return Err(e.to_string());
        }
        let mut failure = None;
        for p in 1..self.n {
            match net
                .recv(p)
                .map_err(|e| e.to_string())
                .and_then(|f| parse(p, &f))
            {
                Ok(JobMsg::Stored { ok: true, .. }) => {}
                Ok(JobMsg::Stored { reason, .. }) => {
                    failure = Some(format!("party {p} could not store its shares: {reason}"))
                }
                Ok(_) => failure = Some(format!("party {p} sent an unexpected job message")),
                Err(e) => failure = Some(e),
            }
            if failure.is_some() {
                break;
            }
        }
        if let Some(f) = failure {
            abort(&mut net, &f);
            let _ = self.tuples.discard_chunk(chunk);
            return Err(f);
        }
        let commit = frame(&JobMsg::Commit);
        for p in 1..self.n {
            let _ = net.send(p, commit.clone());
        }
        self.tuples
            .activate_chunk(chunk)
            .map_err(|e| e.to_string())?;
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
    pub(crate) fn follow_job(&self, id: ChannelId) -> Result<(), String> {
        let mut net = self.job_net(id)?;
        let first = net.recv(0).map_err(|e| e.to_string())?;
        let JobMsg::Start { chunk, kind, count } = parse(0, &first)? else {
            return Err("party 0 started a job without a Start message".into());
        };
        let chunk = ChunkId::from_uuid(chunk).map_err(|e| e.to_string())?;
        if channel(chunk) != id {
            return Err(
                "party 0 announced a job on a channel that does not match its chunk".into(),
            );
        }
        let kind = parse_kind_label(&kind)
            .filter(|k| !matches!(k, TupleKind::InputMask(p) if *p >= self.n))
            .ok_or_else(|| format!("party 0 asked for unknown tuple kind {kind:?}"))?;
        if count == 0 || count > MAX_CHUNK_TUPLES {
            return Err(format!("party 0 asked for a chunk of {count} tuples"));
        }
        let data = self.mascot_shares(&mut net, kind, count)?;
        let stored = self.tuples.store_chunk(chunk, &data);
        let reply = match &stored {
            Ok(()) => JobMsg::Stored {
                ok: true,
                reason: String::new(),
            },
            Err(e) => JobMsg::Stored {
                ok: false,
                reason: e.to_string(),
            },
        };
        net.send(0, frame(&reply)).map_err(|e| e.to_string())?;
        stored.map_err(|e| e.to_string())?;
        match net
            .recv(0)
            .map_err(|e| e.to_string())
            .and_then(|f| parse(0, &f))
        {
            Ok(JobMsg::Commit) => {
                self.tuples
                    .activate_chunk(chunk)
                    .map_err(|e| e.to_string())?;
                self.tuplegen.record_job(&self.metrics, kind, count);
                Ok(())
            }
            Ok(JobMsg::Abort { reason }) => {
                let _ = self.tuples.discard_chunk(chunk);
                Err(format!("party 0 aborted the job: {reason}"))
            }
            Ok(_) => {
                let _ = self.tuples.discard_chunk(chunk);
                Err("party 0 sent an unexpected job message".into())
            }
            // No word from party 0 after `Stored`: it may have committed just before the link
            // failed. The chunk stays inactive (never offered here): if party 0 did commit, its
            // reservations name the chunk and applying them consumes the inactive tuples as
            // usual; if it did not, the chunk is never named and only takes space.
            Err(e) => Err(format!(
                "{e}; the chunk is kept inactive in case party 0 committed it"
            )),
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
                Err(e) => {
                    tracing::warn!(channel = %id, error = %e, "tuple generation job failed; nothing was kept")
                }
            });
        }
    }

    /// Party 0, MASCOT: one pass of the pool keeper — a job for every kind below its threshold.
    pub(crate) fn mascot_top_up(&self) -> Result<u64, String> {
        let mut jobs = 0;
        for (kind, policy) in self.tuplegen.policies() {
            let s = self.tuples.stats_of(kind).map_err(|e| e.to_string())?;
            if s.available + s.inactive < policy.threshold {
                self.lead_job(kind, policy.batch.min(MAX_CHUNK_TUPLES))?;
                jobs += 1;
            }
        }
        Ok(jobs)
    }
}

#[allow(unused_imports)]
use TupleStore as _;
