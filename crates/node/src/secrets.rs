//! Secret upload (the input-mask protocol) and verified download.
//!
//! **Upload.** `input_masks`: the parties agree on the request, take k fresh random shared
//! masks [r] (the `a` of k triples: uniformly random, authenticated, known to nobody) and deliver
//! them to the client through the output-delivery protocol ([`crate::delivery`]), which lets the
//! client detect a party handing out a wrong share. Each party keeps its shares of [r] under the
//! request id for [`MASK_TTL`]. `create_secret`: the client sends m = x − r; the parties agree
//! that they all received the same (secret id, m, tags) — every party compares the digests of
//! every other — and only then each stores [x] = [r] + m: party 0 adds m to its value share, and
//! every party adds α_i·m to its MAC share. Cost: 3 triples per value.
//!
//! **Download.** The parties agree on (secret id, request id) and deliver the secret's shares
//! through the output-delivery protocol. Cost: 2 triples per value.
//!
//! **Architecture Invariant:** a mask is used for at most one secret (it is taken out of the
//! pending table before the agreement starts); masks and shares never leave a party except as
//! the value shares of an output delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::{
    ApiError, DownloadRequest, ErrorCode, MaskRequest, MaskedInput, OutputDelivery, SecretCreated,
};
use field::Fp;
use protocol::{Engine, EngineConfig, ShareVec};
use store::{NewSecret, ReservationId, ReservationRequest, SecretId, SecretStore, TupleStore};
use uuid::Uuid;

use crate::coord::digest;
use crate::prep::StorePrep;
use crate::tuplegen::tuple_error;
use crate::{Node, User};

/// How long handed-out masks wait for their masked values.
pub const MASK_TTL: Duration = Duration::from_secs(600);

/// Most values in one upload or download, whatever the memory budget.
pub const MAX_VALUES: u64 = 1 << 20;

/// Memory one value of an upload or download costs a party while the request runs (its
/// reserved triples, the engine's vectors, the delivery and its JSON), measured at about
/// 1.1–1.5 KiB; with margin.
pub const BYTES_PER_VALUE: u64 = 1536;

/// A reservation from the node's memory budget (`limits.node_memory_mib`, shared with games),
/// given back on drop.
struct MemoryHold {
    budget: Arc<vm::MemoryBudget>,
    bytes: u64,
}

impl Drop for MemoryHold {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

impl Node {
    /// Most values one upload or download may hold on this node: what `limits.transfer_memory_mib`
    /// allows at [`BYTES_PER_VALUE`], at most [`MAX_VALUES`].
    pub fn max_transfer_values(&self) -> u64 {
        let l = self.limits.config();
        ((l.transfer_memory_mib.min(l.node_memory_mib) << 20) / BYTES_PER_VALUE)
            .clamp(1, MAX_VALUES)
    }

    /// Holds the memory of a transfer of `values` values, or refuses it (503) while other games
    /// and transfers use the node's budget.
    fn hold_memory(&self, values: u64) -> Result<MemoryHold, ApiError> {
        let budget = self.limits.memory();
        let bytes = values.saturating_mul(BYTES_PER_VALUE);
        if budget.try_reserve(bytes) {
            Ok(MemoryHold { budget, bytes })
        } else {
            Err(ApiError::limited(
                ErrorCode::Unavailable,
                format!(
                    "this party's memory budget (limits.node_memory_mib) is in use by other games and transfers; a transfer of {values} values needs {} MiB; retry shortly",
                    bytes >> 20
                ),
                2,
            ))
        }
    }
}

struct Pending {
    owner: String,
    masks: ShareVec,
    created: Instant,
}

/// Mask shares handed out and not yet used, by request id.
#[derive(Default)]
pub struct PendingMasks {
    inner: Mutex<HashMap<Uuid, Pending>>,
}

impl PendingMasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Pending>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, id: Uuid, p: Pending) {
        let mut m = self.lock();
        m.retain(|_, v| v.created.elapsed() < MASK_TTL);
        m.insert(id, p);
    }

    /// Takes the masks of request `id` if `owner` asked for them: another user's attempt leaves
    /// them where they are (`Err(())`), so that nobody can spoil someone else's upload.
    fn take(&self, id: &Uuid, owner: &str) -> Option<Result<Pending, ()>> {
        let mut m = self.lock();
        match m.get(id) {
            None => None,
            Some(p) if p.created.elapsed() >= MASK_TTL => {
                m.remove(id);
                None
            }
            Some(p) if p.owner != owner => Some(Err(())),
            Some(_) => m.remove(id).map(Ok),
        }
    }

    /// Requests of `owner` waiting for their masked values.
    pub fn count_of(&self, owner: &str) -> usize {
        self.lock()
            .values()
            .filter(|p| p.owner == owner && p.created.elapsed() < MASK_TTL)
            .count()
    }

    fn contains(&self, id: &Uuid) -> bool {
        self.lock().contains_key(id)
    }

    /// Requests waiting for their masked values.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Maps a secret store error to an API error.
pub fn secret_error(e: store::SecretError) -> ApiError {
    let code = match e.class() {
        store::ErrorClass::Invalid => ErrorCode::BadRequest,
        store::ErrorClass::NotFound => ErrorCode::NotFound,
        store::ErrorClass::Conflict => ErrorCode::Conflict,
        store::ErrorClass::Exhausted => ErrorCode::InsufficientTuples,
        store::ErrorClass::Internal => ErrorCode::Internal,
    };
    ApiError::new(code, e.to_string())
}

/// Maps a protocol error to an API error.
pub(crate) fn protocol_error(e: protocol::ProtocolError, during: &str) -> ApiError {
    use protocol::ProtocolError as P;
    let code = match &e {
        P::Net(net::NetError::Aborted { code, .. }) => crate::coord::aborted_code(code),
        P::Net(_) => ErrorCode::PeerUnavailable,
        P::Prep(_) => ErrorCode::InsufficientTuples,
        P::MacCheckFailed
        | P::BroadcastInconsistent { .. }
        | P::CommitmentMismatch { .. }
        | P::Malformed { .. } => ErrorCode::IntegrityViolation,
        P::InvalidArgument(_) | P::Aborted(_) => ErrorCode::Internal,
    };
    ApiError::new(code, format!("{during}: {e}"))
}

pub(crate) fn join_error(e: tokio::task::JoinError) -> ApiError {
    ApiError::new(ErrorCode::Internal, format!("a worker task failed: {e}"))
}

impl Node {
    /// Whether this party is configured to tamper at `stage` (tests of cheating detection only).
    pub(crate) fn tampers(&self, stage: &str) -> bool {
        self.config.insecure_tamper.as_deref() == Some(stage)
    }

    /// `POST /v1/input-masks`.
    pub async fn input_masks(
        self: &Arc<Self>,
        user: &User,
        req: MaskRequest,
    ) -> Result<OutputDelivery, ApiError> {
        let max = self.max_transfer_values();
        if req.count == 0 || req.count > max {
            return Err(ApiError::bad_request(format!(
                "count must be between 1 and {max} values (limits.transfer_memory_mib), got {}; split larger secrets",
                req.count
            )));
        }
        let joint = self.limits.joint(&self.metrics, &user.name)?;
        self.limits.pending_uploads(
            &self.metrics,
            &user.name,
            self.pending_masks.count_of(&user.name),
        )?;
        if self.pending_masks.contains(&req.request_id) {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "input masks for request {} were already handed out; use a fresh request id",
                    req.request_id
                ),
            ));
        }
        let node = self.clone();
        let owner = user.name.clone();
        let memory = self.hold_memory(req.count)?;
        let k = req.count as usize;
        let name = req.request_id.to_string();
        let rid = ReservationId::new(format!("masks/{name}"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        // Waiting for the parties holds no thread; the run below does.
        let session = self
            .agree_session(
                "input-masks",
                &name,
                digest(&[
                    b"input-masks",
                    name.as_bytes(),
                    owner.as_bytes(),
                    &req.count.to_le_bytes(),
                ]),
                vec![ReservationRequest {
                    id: rid,
                    kind: protocol::prep::TupleKind::Triple,
                    count: 3 * req.count,
                }],
                None,
            )
            .await?;
        tokio::task::spawn_blocking(move || {
            let _joint = joint;
            let _memory = memory;
            let r = node.masks_run(session, k, &name, req.request_id, owner);
            if let Err(e) = &r {
                node.abort_session(&["input-masks"], &name, e);
            }
            r
        })
        .await
        .map_err(join_error)?
    }

    /// The agreed part of `input_masks` (blocking).
    fn masks_run(
        self: &Arc<Self>,
        mut session: crate::coord::Session,
        k: usize,
        name: &str,
        request_id: Uuid,
        owner: String,
    ) -> Result<OutputDelivery, ApiError> {
        let node = self;
        {
            let prep = StorePrep::new(node.clone(), &session.reservations, None, name)?;
            session.release.handed_over();
            let mut engine = Engine::new(session.net, prep, EngineConfig::default());
            let during = format!("input masks {name}");
            let masks = engine.triples(k).map_err(|e| protocol_error(e, &during))?.a;
            let mut delivery = crate::delivery::deliver(&mut engine, &masks, request_id)
                .map_err(|e| protocol_error(e, &during))?;
            engine.finish().map_err(|e| protocol_error(e, &during))?;
            if node.tampers("upload") {
                tracing::warn!(
                    "INSECURE test setting: tampering with the mask shares of an upload"
                );
                delivery.s = tamper(&delivery.s);
            }
            node.pending_masks.insert(
                request_id,
                Pending {
                    owner,
                    masks,
                    created: Instant::now(),
                },
            );
            Ok(delivery)
        }
    }

    /// `POST /v1/secrets`.
    pub async fn create_secret(
        self: &Arc<Self>,
        user: &User,
        req: MaskedInput,
    ) -> Result<SecretCreated, ApiError> {
        let masked = req
            .masked
            .to_elements()
            .map_err(|e| ApiError::bad_request(format!("masked: {e}")))?;
        let secret_id = SecretId::from_uuid(req.secret_id)
            .map_err(|e| ApiError::bad_request(format!("secret_id: {e}")))?;
        let tags: Vec<store::Tag> = req.tags.iter().map(to_store_tag).collect();
        store::secret::validate_tags(&tags).map_err(secret_error)?;
        let joint = self.limits.joint(&self.metrics, &user.name)?;
        let pending = match self.pending_masks.take(&req.request_id, &user.name) {
            Some(Ok(p)) => p,
            Some(Err(())) => {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    format!(
                        "the input masks of request {} belong to another user",
                        req.request_id
                    ),
                ))
            }
            None => {
                return Err(ApiError::not_found(format!(
                    "no input masks for request {} on this party; ask for masks first (POST {}), and send the masked values within {} s",
                    req.request_id,
                    api::paths::INPUT_MASKS,
                    MASK_TTL.as_secs()
                )))
            }
        };
        if pending.masks.len() != masked.len() {
            let n = pending.masks.len();
            self.pending_masks.insert(req.request_id, pending);
            return Err(ApiError::bad_request(format!(
                "{} masked values sent for {n} input masks; send exactly one per mask",
                masked.len()
            )));
        }
        let node = self.clone();
        let owner = user.name.clone();
        let name = req.request_id.to_string();
        let tags_json = serde_json::to_vec(&req.tags).unwrap_or_default();
        let mut dg = vec![
            b"store".as_slice(),
            name.as_bytes(),
            owner.as_bytes(),
            req.secret_id.as_bytes().as_slice(),
            req.masked.as_bytes(),
            &tags_json,
        ];
        let tampered;
        if node.tampers("store") {
            tracing::warn!("INSECURE test setting: claiming other masked values than received");
            tampered = b"tampered".to_vec();
            dg.push(&tampered);
        }
        // Waiting for the parties holds no thread; the commit below does.
        let mut session = self
            .agree_session("store", &name, digest(&dg), vec![], None)
            .await?;
        tokio::task::spawn_blocking(move || {
            let _joint = joint;
            let op = node
                .tuples
                .mac_key_share()
                .map_err(tuple_error)
                .map(|alpha| {
                    let (mut v, mut m) = pending.masks.into_parts();
                    for i in 0..masked.len() {
                        if node.me == 0 {
                            v[i] += masked[i];
                        }
                        m[i] += alpha * masked[i];
                    }
                    // Every party records party 0's time, so listings agree across parties.
                    let mut secret = NewSecret::new(secret_id, owner, ShareVec::from_parts(v, m))
                        .created_at_ms(session.at_ms);
                    secret.tags = tags;
                    store::TxnOp::Create(vec![secret])
                });
            // Visible only once every party holds it durably (two-phase commit, `commit`).
            let txn = crate::commit::txn_id(&session.nonce);
            node.commit_jointly(
                &mut session.net,
                txn,
                op,
                &format!("upload of secret {}", req.secret_id),
                &status_hint(req.secret_id),
            )?;
            node.metrics.record_values("upload", masked.len() as u64);
            Ok(SecretCreated { id: req.secret_id })
        })
        .await
        .map_err(join_error)?
    }

    /// `DELETE /v1/secrets/{id}`: deletes the secret on every party or on none. The parties
    /// agree on the request like any other session (so every party must be up), then delete it
    /// by a joint commit ([`crate::commit`]); a party that cannot (the secret changed meanwhile)
    /// votes no and nothing is deleted anywhere.
    pub async fn delete_secret(self: &Arc<Self>, user: &User, id: Uuid) -> Result<(), ApiError> {
        let sid = SecretId::from_uuid(id).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let joint = self.limits.joint(&self.metrics, &user.name)?;
        let node = self.clone();
        let user = user.clone();
        // Checked here first: every party holds the same secrets (joint commits), so every
        // party refuses alike, at once, without a session.
        let meta = {
            let node = node.clone();
            tokio::task::spawn_blocking(move || node.secrets.get_meta(sid))
                .await
                .map_err(join_error)?
                .map_err(secret_error)?
        };
        if meta.owner != user.name {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("secret {id} belongs to another user; only its owner may delete it"),
            ));
        }
        let name = id.to_string();
        // Waiting for the parties holds no thread; the commit below does.
        let mut session = self
            .agree_session(
                "delete",
                &name,
                digest(&[b"delete", name.as_bytes(), user.name.as_bytes()]),
                vec![],
                None,
            )
            .await?;
        tokio::task::spawn_blocking(move || {
            let _joint = joint;
            let check = Ok(store::TxnOp::Delete(vec![sid]));
            let txn = crate::commit::txn_id(&session.nonce);
            node.commit_jointly(
                &mut session.net,
                txn,
                check,
                &format!("delete of secret {id}"),
                &status_hint(id),
            )
        })
        .await
        .map_err(join_error)?
    }

    /// `POST /v1/secrets/{id}/download`.
    pub async fn download_secret(
        self: &Arc<Self>,
        user: &User,
        id: Uuid,
        req: DownloadRequest,
    ) -> Result<OutputDelivery, ApiError> {
        let sid = SecretId::from_uuid(id).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let joint = self.limits.joint(&self.metrics, &user.name)?;
        let node = self.clone();
        let user = user.clone();
        let secret = {
            let node = node.clone();
            tokio::task::spawn_blocking(move || node.secrets.get(sid))
                .await
                .map_err(join_error)?
                .map_err(secret_error)?
        };
        if secret.meta.owner != user.name {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("secret {id} belongs to another user; only its owner may read it"),
            ));
        }
        let k = secret.shares.len() as u64;
        let memory = node.hold_memory(k)?;
        let name = req.request_id.to_string();
        let rid = ReservationId::new(format!("download/{name}"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        // Waiting for the parties holds no thread; the run below does.
        let mut session = self
            .agree_session(
                "download",
                &name,
                digest(&[
                    b"download",
                    name.as_bytes(),
                    user.name.as_bytes(),
                    id.as_bytes().as_slice(),
                ]),
                vec![ReservationRequest {
                    id: rid,
                    kind: protocol::prep::TupleKind::Triple,
                    count: crate::delivery::triples_needed(k),
                }],
                None,
            )
            .await?;
        tokio::task::spawn_blocking(move || {
            let _joint = joint;
            let _memory = memory;
            let r = (|| -> Result<OutputDelivery, ApiError> {
                let prep = StorePrep::new(node.clone(), &session.reservations, None, &name)?;
                session.release.handed_over();
                let mut engine = Engine::new(session.net, prep, EngineConfig::default());
                let during = format!("download of secret {id}");
                let mut delivery =
                    crate::delivery::deliver(&mut engine, &secret.shares, req.request_id)
                        .map_err(|e| protocol_error(e, &during))?;
                engine.finish().map_err(|e| protocol_error(e, &during))?;
                if node.tampers("download") {
                    tracing::warn!(
                        "INSECURE test setting: tampering with the shares of a download"
                    );
                    delivery.s = tamper(&delivery.s);
                }
                node.metrics.record_values("download", k);
                Ok(delivery)
            })();
            if let Err(e) = &r {
                node.abort_session(&["download"], &name, e);
            }
            r
        })
        .await
        .map_err(join_error)?
    }
}

/// Where a client learns whether secret `id` exists, when a party cannot tell it yet.
pub(crate) fn status_hint(id: Uuid) -> String {
    format!(
        "GET {}/{id} on this party answers 200 once it is stored, 503 while undecided and 404 if it was not stored",
        api::paths::SECRETS
    )
}

/// Adds 1 to the first element (the `insecure_tamper` test setting).
fn tamper(v: &api::FieldVec) -> api::FieldVec {
    let mut e = v.to_elements().unwrap_or_default();
    if let Some(x) = e.first_mut() {
        *x += Fp::ONE;
    }
    api::FieldVec::from_elements(&e)
}

/// An API tag as a store tag.
pub fn to_store_tag(t: &api::Tag) -> store::Tag {
    store::Tag {
        key: t.key.clone(),
        value: t.value.clone(),
        value_type: match t.value_type {
            api::TagType::String => store::TagType::String,
            api::TagType::Long => store::TagType::Long,
        },
    }
}

/// A store tag as an API tag.
pub fn to_api_tag(t: &store::Tag) -> api::Tag {
    api::Tag {
        key: t.key.clone(),
        value: t.value.clone(),
        value_type: match t.value_type {
            store::TagType::String => api::TagType::String,
            store::TagType::Long => api::TagType::Long,
        },
    }
}
