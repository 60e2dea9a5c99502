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
use store::{NewSecret, SecretId, SecretStore, TupleStore};
use uuid::Uuid;

use crate::coord::digest;
use crate::transfer::ChunkedPrep;
use crate::tuplegen::tuple_error;
use crate::{Node, User};

/// How long handed-out masks wait for their masked values.
pub const MASK_TTL: Duration = Duration::from_secs(600);

/// Memory a transfer (an upload's masks or a download) holds per value of the chunk it is
/// working on ([`crate::transfer::CHUNK`] values at a time): the chunk's reserved triples as read
/// from the store, the engine's vectors and messages. Measured (docs/BENCHMARKS.md, "Memory of
/// transfers"), with margin.
pub const WORK_BYTES_PER_VALUE: u64 = 1536;

/// Memory a transfer holds per value for its whole run: the answer's five 16-byte words
/// ([`crate::delivery::Parts`], streamed from there by [`crate::http`], never built whole as
/// JSON), the masks kept for the upload or the secret's shares (32 bytes each as value and MAC),
/// and for the upload's second step its body (22 bytes of base64), the decoded values and the
/// new secret's shares as they are written. Measured at about 450 bytes a value at the largest
/// transfer (docs/BENCHMARKS.md, "Memory of transfers"), with margin.
pub const HELD_BYTES_PER_VALUE: u64 = 512;

/// Bytes of the base64 text of one value in an upload's body, rounded up (16 bytes → 21⅓).
const BODY_BYTES_PER_VALUE: u64 = 22;

/// Room for the rest of an upload's body (ids and keys; tags take what they take).
const BODY_OVERHEAD: u64 = 1024;

/// Memory a transfer of `values` values holds (see [`WORK_BYTES_PER_VALUE`] and
/// [`HELD_BYTES_PER_VALUE`]).
pub fn transfer_bytes(values: u64) -> u64 {
    let chunk = values.min(crate::transfer::CHUNK as u64);
    chunk
        .saturating_mul(WORK_BYTES_PER_VALUE)
        .saturating_add(values.saturating_mul(HELD_BYTES_PER_VALUE))
}

/// A reservation from the node's memory budget (`limits.node_memory_mib`, shared with games),
/// given back on drop. A transfer's answer keeps it until the answer is sent or dropped.
pub struct MemoryHold {
    budget: Arc<vm::MemoryBudget>,
    bytes: u64,
}

impl Drop for MemoryHold {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

impl Node {
    /// Most values one upload or download may hold on this node: the most whose
    /// [`transfer_bytes`] fit `limits.transfer_memory_mib` (and `node_memory_mib`), and whose
    /// upload body (the masked values in base64) fits `api.max_body_bytes`.
    pub fn max_transfer_values(&self) -> u64 {
        let l = self.limits.config();
        let budget = l.transfer_memory_mib.min(l.node_memory_mib) << 20;
        let chunk = crate::transfer::CHUNK as u64;
        let by_memory = if budget >= transfer_bytes(chunk) {
            (budget - chunk * WORK_BYTES_PER_VALUE) / HELD_BYTES_PER_VALUE
        } else {
            budget / (WORK_BYTES_PER_VALUE + HELD_BYTES_PER_VALUE)
        };
        let by_body = (self.config.api.max_body_bytes as u64).saturating_sub(BODY_OVERHEAD)
            / BODY_BYTES_PER_VALUE;
        by_memory.min(by_body).max(1)
    }

    /// Refuses (413) a transfer of more values than [`Node::max_transfer_values`], saying the
    /// maximum and what to do.
    pub(crate) fn check_transfer_size(&self, values: u64, what: &str) -> Result<(), ApiError> {
        let max = self.max_transfer_values();
        if values <= max {
            return Ok(());
        }
        let l = self.limits.config();
        Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "{what} of {values} values is more than this party's maximum of {max} values per transfer (from limits.transfer_memory_mib = {} and api.max_body_bytes = {}); split the data into secrets of at most {max} values, or ask the operator to raise those limits",
                l.transfer_memory_mib, self.config.api.max_body_bytes
            ),
        ))
    }

    /// Holds the memory of a transfer of `values` values, or refuses it (503) while other games
    /// and transfers use the node's budget.
    fn hold_memory(&self, values: u64) -> Result<MemoryHold, ApiError> {
        let budget = self.limits.memory();
        let bytes = transfer_bytes(values);
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
        self.input_masks_held(user, req).await.map(|(d, _)| d)
    }

    /// [`Node::input_masks`], with the memory the answer holds until it is sent.
    pub async fn input_masks_held(
        self: &Arc<Self>,
        user: &User,
        req: MaskRequest,
    ) -> Result<(OutputDelivery, MemoryHold), ApiError> {
        if req.count == 0 {
            return Err(ApiError::bad_request(
                "count must be at least 1".to_string(),
            ));
        }
        self.check_transfer_size(req.count, "an upload")?;
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
        let reservations = crate::transfer::requests(&format!("masks/{name}"), k, 3)?;
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
                reservations,
                None,
            )
            .await?;
        tokio::task::spawn_blocking(move || {
            let _joint = joint;
            let r = node.masks_run(session, k, &name, req.request_id, owner);
            if let Err(e) = &r {
                node.abort_session(&["input-masks"], &name, e);
            }
            r.map(|d| (d, memory))
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
            let (net, reserved) = (session.net, std::mem::take(&mut session.reservations));
            let prep = ChunkedPrep::new(node.clone(), reserved, name)?;
            session.release.handed_over();
            let mut engine = Engine::new(net, prep, EngineConfig::default());
            let during = format!("input masks {name}");
            // Chunk by chunk (`transfer`): fresh masks, then their delivery, MAC-checked.
            let mut masks = ShareVec::with_capacity(k);
            let mut parts = crate::delivery::Parts::with_capacity(k);
            for c in crate::transfer::chunks(k) {
                let m = engine
                    .triples(c.len())
                    .map_err(|e| protocol_error(e, &during))?
                    .a;
                crate::delivery::deliver_chunk(&mut engine, &m, &mut parts)
                    .map_err(|e| protocol_error(e, &during))?;
                masks.extend(&m);
            }
            engine.finish().map_err(|e| protocol_error(e, &during))?;
            let mut delivery = parts.into_delivery(request_id, node.me);
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
        let memory = match self.hold_memory(masked.len() as u64) {
            Ok(m) => m,
            Err(e) => {
                self.pending_masks.insert(req.request_id, pending);
                return Err(e);
            }
        };
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
            let _memory = memory;
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
        self.download_secret_held(user, id, req)
            .await
            .map(|(d, _)| d)
    }

    /// [`Node::download_secret`], with the memory the answer holds until it is sent.
    pub async fn download_secret_held(
        self: &Arc<Self>,
        user: &User,
        id: Uuid,
        req: DownloadRequest,
    ) -> Result<(OutputDelivery, MemoryHold), ApiError> {
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
        node.check_transfer_size(k, &format!("secret {id}"))?;
        let memory = node.hold_memory(k)?;
        let name = req.request_id.to_string();
        let reservations = crate::transfer::requests(&format!("download/{name}"), k as usize, 2)?;
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
                reservations,
                None,
            )
            .await?;
        tokio::task::spawn_blocking(move || {
            let _joint = joint;
            let r = (|| -> Result<OutputDelivery, ApiError> {
                let (net, reserved) = (session.net, std::mem::take(&mut session.reservations));
                let prep = ChunkedPrep::new(node.clone(), reserved, &name)?;
                session.release.handed_over();
                let mut engine = Engine::new(net, prep, EngineConfig::default());
                let during = format!("download of secret {id}");
                let mut parts = crate::delivery::Parts::with_capacity(k as usize);
                for c in crate::transfer::chunks(k as usize) {
                    crate::delivery::deliver_chunk(
                        &mut engine,
                        &secret.shares.slice(c),
                        &mut parts,
                    )
                    .map_err(|e| protocol_error(e, &during))?;
                }
                engine.finish().map_err(|e| protocol_error(e, &during))?;
                let mut delivery = parts.into_delivery(req.request_id, node.me);
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
            r.map(|d| (d, memory))
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
