//! A fake virtual cloud for tests: N in-process HTTP servers (axum on 127.0.0.1, random ports)
//! speaking the Ephemeral API with canned but honestly computed answers, so that the SDK and the
//! CLI can be tested end to end without the real node. Enabled by the `testing` feature.
//!
//! The parties keep secrets *in clear* (it is a fake) and answer every output-delivery request
//! with honest random shares computed once per request, so that the parties' answers add up.
//! One party can be made to tamper ([`Tamper`]).
//!
//! **The fake program semantics:** a game's outputs are all values of its input secrets in order,
//! followed by their sum; a program whose code contains `fail` is a compile error. Party 0 prints
//! `fake game <id>: <k> inputs`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use api::secrets::{ListParams, PageParams};
use api::{
    Activation, ApiError, DeployFunction, DownloadRequest, ErrorCode, FieldVec, FunctionInfo,
    FunctionList, GameOutput, GameResult, GameStats, GameStatus, GameSummary, Health, MaskRequest,
    MaskedInput, OutputDelivery, OutputKind, PeerHealth, SecretCreated, SecretInfo, SecretPage,
    Tag, TagType, TupleKindStats, TupleStatsResponse,
};
use api::{AuditEntry, AuditPage, PolicyInfo, PolicySource, UsePolicy};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use field::Fp;
use rand_core::OsRng;
use uuid::Uuid;

use crate::config::{CloudConfig, PartyConfig};
use crate::verify::honest_deliveries;
use crate::Client;

/// What the tampering party changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// +1 on its share of the first input mask (upload).
    MaskShare,
    /// +1 on its share of the first value of a download.
    DownloadShare,
    /// +1 on its share of w for the first value of a download.
    DownloadW,
    /// Answers an upload with another secret id.
    SecretId,
    /// +1 on its share of the first output of a SECRETSHARE game.
    GameShare,
    /// Changes the first value of a PLAINTEXT game.
    Plaintext,
    /// Reports another program hash (games and deploys).
    ProgramHash,
    /// Reports other ids for an AMPHORASECRET game.
    OutputIds,
    /// Claims to be another party.
    PartyId,
}

/// The user every fake party knows.
pub const USER: &str = "alice";

/// The bearer token of party `i` in the fake cloud.
pub fn token(i: usize) -> String {
    format!("token-{i}")
}

#[derive(Clone, Default)]
struct FakeSecret {
    values: Vec<Fp>,
    tags: Vec<Tag>,
    created_at_ms: u64,
    policy: Option<UsePolicy>,
    /// Uses (every game taking the secret; the fake has one user, the owner, so none counts).
    audit: Vec<AuditEntry>,
}

#[derive(Default)]
struct PartyState {
    secrets: BTreeMap<Uuid, FakeSecret>,
    functions: Vec<(FunctionInfo, String, Vec<String>)>,
    games: HashSet<String>,
}

#[derive(Default)]
struct Inner {
    /// request id → (masks in clear, every party's delivery of them)
    masks: HashMap<Uuid, (Vec<Fp>, Vec<OutputDelivery>)>,
    /// request or game id → every party's delivery
    deliveries: HashMap<String, Vec<OutputDelivery>>,
    parties: Vec<PartyState>,
}

struct Shared {
    n: usize,
    tamper: Option<(usize, Tamper)>,
    inner: Mutex<Inner>,
}

type AppState = (Arc<Shared>, usize);

/// A running fake cloud; the servers stop when it is dropped.
pub struct FakeCloud {
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeCloud {
    /// Starts `n` honest parties.
    pub async fn start(n: usize) -> FakeCloud {
        FakeCloud::start_with(n, None).await
    }

    /// Starts `n` parties, one of which may tamper.
    pub async fn start_with(n: usize, tamper: Option<(usize, Tamper)>) -> FakeCloud {
        let shared = Arc::new(Shared {
            n,
            tamper,
            inner: Mutex::new(Inner {
                parties: (0..n).map(|_| PartyState::default()).collect(),
                ..Inner::default()
            }),
        });
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..n {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a loopback port");
            addrs.push(listener.local_addr().expect("local address"));
            let app = router((shared.clone(), i));
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
        FakeCloud {
            addrs,
            shared,
            tasks,
        }
    }

    /// The base URL of party `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}", self.addrs[i])
    }

    /// The cloud configuration of this fake cloud.
    pub fn config(&self) -> CloudConfig {
        CloudConfig::new(
            (0..self.addrs.len())
                .map(|i| PartyConfig {
                    id: i,
                    url: self.url(i),
                    token: Some(token(i)),
                    ca_cert: None,
                })
                .collect(),
        )
        .expect("a valid configuration")
    }

    /// The cloud file text for this fake cloud.
    pub fn cloud_toml(&self) -> String {
        let mut s = String::from("timeout_secs = 30\n");
        for i in 0..self.addrs.len() {
            s.push_str(&format!(
                "\n[[parties]]\nid = {i}\nurl = \"{}\"\ntoken = \"{}\"\n",
                self.url(i),
                token(i)
            ));
        }
        s
    }

    /// A client of this fake cloud.
    pub fn client(&self) -> Client {
        Client::new(self.config()).expect("a client")
    }

    /// The values party `party` holds for a secret, in clear (fake only).
    pub fn stored(&self, party: usize, id: Uuid) -> Option<Vec<Fp>> {
        let g = lock(&self.shared);
        g.parties[party].secrets.get(&id).map(|s| s.values.clone())
    }

    /// Stores a secret directly on every party (fake only).
    pub fn insert_secret(&self, values: &[Fp], tags: Vec<Tag>) -> Uuid {
        let id = Uuid::new_v4();
        let mut g = lock(&self.shared);
        for p in &mut g.parties {
            p.secrets.insert(
                id,
                FakeSecret {
                    values: values.to_vec(),
                    tags: tags.clone(),
                    created_at_ms: now_ms(),
                    ..FakeSecret::default()
                },
            );
        }
        id
    }
}

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Inner> {
    s.inner.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An API error as an HTTP answer.
struct Fail(ApiError);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

type Answer<T> = Result<Json<T>, Fail>;

fn fail(code: ErrorCode, msg: impl Into<String>) -> Fail {
    Fail(ApiError::new(code, msg))
}

fn router(state: AppState) -> Router {
    use api::paths as p;
    Router::new()
        .route(p::INPUT_MASKS, post(input_masks))
        .route(p::SECRETS, post(create_secret).get(list_secrets))
        .route(p::SECRET, get(secret_info).delete(delete_secret))
        .route(p::SECRET_DOWNLOAD, post(download))
        .route(
            p::SECRET_TAGS,
            get(get_tags).post(add_tag).put(replace_tags),
        )
        .route(p::SECRET_TAG, put(set_tag).delete(delete_tag))
        .route(
            p::SECRET_POLICY,
            get(get_policy).put(put_policy).delete(delete_policy),
        )
        .route(p::SECRET_AUDIT, get(get_audit))
        .route(p::FUNCTIONS, get(list_functions))
        .route(
            p::FUNCTION,
            put(deploy).get(versions).delete(delete_function),
        )
        .route(p::GAMES, post(game))
        .route(p::GAME, get(game_status))
        .route(p::TUPLES, get(tuples))
        .route(p::HEALTH, get(health))
        .with_state(state)
}

/// Checks the bearer token of party `me`.
fn auth(headers: &HeaderMap, me: usize) -> Result<(), Fail> {
    let want = format!("Bearer {}", token(me));
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v == want => Ok(()),
        _ => Err(fail(
            ErrorCode::Unauthorized,
            "unknown or missing bearer token",
        )),
    }
}

fn tampers(s: &Shared, me: usize, t: Tamper) -> bool {
    s.tamper == Some((me, t))
}

fn bump_first(v: &FieldVec) -> FieldVec {
    let mut e = v.to_elements().unwrap_or_default();
    if let Some(x) = e.first_mut() {
        *x += Fp::ONE;
    }
    FieldVec::from_elements(&e)
}

/// Party `me`'s delivery, with its claimed id changed if it tampers so.
fn mine(s: &Shared, me: usize, ds: &[OutputDelivery]) -> OutputDelivery {
    let mut d = ds[me].clone();
    if tampers(s, me, Tamper::PartyId) {
        d.party = (me + 1) % s.n;
    }
    d
}

async fn input_masks(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<MaskRequest>,
) -> Answer<OutputDelivery> {
    auth(&headers, me)?;
    if req.count == 0 {
        return Err(fail(ErrorCode::BadRequest, "count must be at least 1"));
    }
    let mut g = lock(&s);
    let (_, ds) = g.masks.entry(req.request_id).or_insert_with(|| {
        let r: Vec<Fp> = (0..req.count).map(|_| Fp::random(&mut OsRng)).collect();
        let ds = honest_deliveries(&r, s.n, req.request_id, &mut OsRng);
        (r, ds)
    });
    let mut d = mine(&s, me, ds);
    if tampers(&s, me, Tamper::MaskShare) {
        d.s = bump_first(&d.s);
    }
    Ok(Json(d))
}

async fn create_secret(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<MaskedInput>,
) -> Answer<SecretCreated> {
    auth(&headers, me)?;
    let masked = req
        .masked
        .to_elements()
        .map_err(|e| fail(ErrorCode::BadRequest, format!("masked: {e}")))?;
    let mut g = lock(&s);
    let Some((r, _)) = g.masks.get(&req.request_id) else {
        return Err(fail(
            ErrorCode::NotFound,
            format!("no input masks for request {}", req.request_id),
        ));
    };
    if r.len() != masked.len() {
        return Err(fail(ErrorCode::BadRequest, "wrong number of masked values"));
    }
    let values: Vec<Fp> = masked.iter().zip(r).map(|(m, r)| *m + *r).collect();
    g.parties[me].secrets.insert(
        req.secret_id,
        FakeSecret {
            values,
            tags: req.tags,
            created_at_ms: now_ms(),
            ..FakeSecret::default()
        },
    );
    let id = if tampers(&s, me, Tamper::SecretId) {
        Uuid::new_v4()
    } else {
        req.secret_id
    };
    Ok(Json(SecretCreated { id }))
}

fn info(id: Uuid, sec: &FakeSecret) -> SecretInfo {
    let mut tags = vec![
        Tag::string("owner", USER),
        Tag::long("creation-date", sec.created_at_ms as i64),
    ];
    tags.extend(sec.tags.iter().cloned());
    SecretInfo {
        id,
        owner: USER.into(),
        created_at_ms: sec.created_at_ms,
        len: sec.values.len() as u64,
        tags,
    }
}

/// Whether `tags` satisfy one filter clause `k:v`, `k>n` or `k<n`.
fn clause_holds(tags: &[Tag], clause: &str) -> Result<bool, Fail> {
    let Some(pos) = clause.find([':', '<', '>']) else {
        return Err(fail(
            ErrorCode::BadRequest,
            format!("filter clause {clause:?} has no operator"),
        ));
    };
    let (k, op, v) = (&clause[..pos], &clause[pos..pos + 1], &clause[pos + 1..]);
    let Some(t) = tags.iter().find(|t| t.key == k) else {
        return Ok(false);
    };
    Ok(match op {
        ":" => t.value == v,
        _ => {
            let (Ok(a), Ok(b)) = (t.value.parse::<i64>(), v.parse::<i64>()) else {
                return Ok(false);
            };
            if op == "<" {
                a < b
            } else {
                a > b
            }
        }
    })
}

async fn list_secrets(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListParams>,
) -> Answer<SecretPage> {
    auth(&headers, me)?;
    let g = lock(&s);
    let mut items = Vec::new();
    for (id, sec) in &g.parties[me].secrets {
        let i = info(*id, sec);
        let mut ok = true;
        for c in q
            .filter
            .iter()
            .flat_map(|f| f.split(','))
            .filter(|c| !c.is_empty())
        {
            ok &= clause_holds(&i.tags, c)?;
        }
        if ok {
            items.push(i);
        }
    }
    let total = items.len() as u64;
    let (number, size) = match (q.page, q.size) {
        (None, None) => (0, total.max(1)),
        (p, sz) => (p.unwrap_or(0), u64::from(sz.unwrap_or(20)).max(1)),
    };
    let items: Vec<SecretInfo> = items
        .into_iter()
        .skip((number * size) as usize)
        .take(size as usize)
        .collect();
    Ok(Json(SecretPage {
        items,
        number,
        size,
        total_items: total,
        total_pages: total.div_ceil(size),
    }))
}

fn with_secret<T>(
    s: &Shared,
    me: usize,
    id: Uuid,
    f: impl FnOnce(&mut FakeSecret) -> Result<T, Fail>,
) -> Result<T, Fail> {
    let mut g = lock(s);
    match g.parties[me].secrets.get_mut(&id) {
        Some(sec) => f(sec),
        None => Err(fail(ErrorCode::NotFound, format!("no secret {id}"))),
    }
}

async fn secret_info(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Answer<SecretInfo> {
    auth(&headers, me)?;
    with_secret(&s, me, id, |sec| Ok(Json(info(id, sec))))
}

async fn delete_secret(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    match lock(&s).parties[me].secrets.remove(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(fail(ErrorCode::NotFound, format!("no secret {id}"))),
    }
}

async fn download(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(req): Json<DownloadRequest>,
) -> Answer<OutputDelivery> {
    auth(&headers, me)?;
    let values = with_secret(&s, me, id, |sec| Ok(sec.values.clone()))?;
    let mut g = lock(&s);
    let ds = g
        .deliveries
        .entry(req.request_id.to_string())
        .or_insert_with(|| honest_deliveries(&values, s.n, req.request_id, &mut OsRng));
    let mut d = mine(&s, me, ds);
    if tampers(&s, me, Tamper::DownloadShare) {
        d.s = bump_first(&d.s);
    }
    if tampers(&s, me, Tamper::DownloadW) {
        d.w = bump_first(&d.w);
    }
    Ok(Json(d))
}

fn policy_info(id: Uuid, sec: &FakeSecret) -> PolicyInfo {
    let legacy = sec
        .tags
        .iter()
        .find(|t| t.key == api::secrets::AUTHORIZED_PROGRAMS_TAG);
    let (source, policy) = match (&sec.policy, legacy) {
        (Some(p), _) => (PolicySource::Policy, Some(p.clone())),
        (None, Some(t)) => (
            PolicySource::AuthorizedProgramsTag,
            Some(UsePolicy::programs(t.value.split(',').map(str::trim))),
        ),
        (None, None) => (PolicySource::None, None),
    };
    PolicyInfo {
        secret_id: id,
        source,
        policy,
        uses: 0,
    }
}

async fn get_policy(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Answer<PolicyInfo> {
    auth(&headers, me)?;
    with_secret(&s, me, id, |sec| Ok(Json(policy_info(id, sec))))
}

async fn put_policy(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(mut policy): Json<UsePolicy>,
) -> Answer<PolicyInfo> {
    auth(&headers, me)?;
    if policy.outputs.is_empty() {
        return Err(fail(
            ErrorCode::BadRequest,
            "allow at least one output mode",
        ));
    }
    if let Some(h) = policy
        .programs
        .iter()
        .find(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(fail(
            ErrorCode::BadRequest,
            format!("{h:?} is not a program hash"),
        ));
    }
    for h in &mut policy.programs {
        *h = h.to_ascii_lowercase();
    }
    policy.programs.sort();
    policy.programs.dedup();
    with_secret(&s, me, id, |sec| {
        sec.policy = Some(policy);
        Ok(Json(policy_info(id, sec)))
    })
}

async fn delete_policy(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    with_secret(&s, me, id, |sec| {
        sec.policy = None;
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn get_audit(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Query(q): Query<PageParams>,
) -> Answer<AuditPage> {
    auth(&headers, me)?;
    with_secret(&s, me, id, |sec| {
        let total = sec.audit.len() as u64;
        let (number, size) = match (q.page, q.size) {
            (None, None) => (0, total),
            (n, z) => (n.unwrap_or(0), u64::from(z.unwrap_or(100))),
        };
        if size == 0 && total > 0 {
            return Err(fail(ErrorCode::BadRequest, "the page size is 0"));
        }
        let start = number.saturating_mul(size).min(total) as usize;
        let end = (start as u64).saturating_add(size).min(total) as usize;
        Ok(Json(AuditPage {
            items: sec.audit[start..end].to_vec(),
            number,
            size,
            total_items: total,
            total_pages: if size == 0 { 0 } else { total.div_ceil(size) },
        }))
    })
}

async fn get_tags(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Answer<Vec<Tag>> {
    auth(&headers, me)?;
    with_secret(&s, me, id, |sec| Ok(Json(info(id, sec).tags)))
}

fn check_tag(t: &Tag) -> Result<(), Fail> {
    if t.key == "owner" || t.key == "creation-date" {
        return Err(fail(
            ErrorCode::BadRequest,
            format!("tag {} is reserved", t.key),
        ));
    }
    if t.value_type == TagType::Long && t.value.parse::<i64>().is_err() {
        return Err(fail(
            ErrorCode::BadRequest,
            "a LONG tag's value must be an i64",
        ));
    }
    Ok(())
}

async fn add_tag(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(tag): Json<Tag>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    check_tag(&tag)?;
    with_secret(&s, me, id, |sec| {
        if sec.tags.iter().any(|t| t.key == tag.key) {
            return Err(fail(ErrorCode::Conflict, format!("tag {} exists", tag.key)));
        }
        sec.tags.push(tag);
        Ok(StatusCode::CREATED)
    })
}

async fn replace_tags(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(tags): Json<Vec<Tag>>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    for t in &tags {
        check_tag(t)?;
    }
    with_secret(&s, me, id, |sec| {
        sec.tags = tags;
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn set_tag(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path((id, key)): Path<(Uuid, String)>,
    Json(tag): Json<Tag>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    check_tag(&tag)?;
    if tag.key != key {
        return Err(fail(
            ErrorCode::BadRequest,
            "the tag's key differs from the path's",
        ));
    }
    with_secret(&s, me, id, |sec| {
        sec.tags.retain(|t| t.key != key);
        sec.tags.push(tag);
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn delete_tag(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path((id, key)): Path<(Uuid, String)>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    with_secret(&s, me, id, |sec| {
        let before = sec.tags.len();
        sec.tags.retain(|t| t.key != key);
        if sec.tags.len() == before {
            return Err(fail(ErrorCode::NotFound, format!("no tag {key}")));
        }
        Ok(StatusCode::NO_CONTENT)
    })
}

/// The fake program hash: FNV-1a of code and arguments, hex.
fn program_hash(code: &str, args: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in code
        .bytes()
        .chain(args.iter().flat_map(|a| a.bytes().chain([0])))
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}").repeat(4)
}

fn compile(code: &str, args: &[String]) -> Result<String, Fail> {
    if code.contains("fail") {
        return Err(fail(
            ErrorCode::CompileError,
            "line 1: name 'fail' is not defined",
        ));
    }
    Ok(program_hash(code, args))
}

async fn deploy(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(req): Json<DeployFunction>,
) -> Answer<FunctionInfo> {
    auth(&headers, me)?;
    let mut hash = compile(&req.code, &req.args)?;
    let mut g = lock(&s);
    let fs = &mut g.parties[me].functions;
    let version = fs.iter().filter(|f| f.0.name == name).count() as u32 + 1;
    let mut requires = BTreeMap::new();
    requires.insert("triples".to_string(), 3);
    let info = FunctionInfo {
        name,
        version,
        program_hash: hash.clone(),
        owner: USER.into(),
        created_at_ms: now_ms(),
        requires,
    };
    fs.push((info.clone(), req.code, req.args));
    if tampers(&s, me, Tamper::ProgramHash) {
        hash = hash.replace('0', "1").replace('a', "b");
        return Ok(Json(FunctionInfo {
            program_hash: hash,
            ..info
        }));
    }
    Ok(Json(info))
}

async fn list_functions(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
) -> Answer<FunctionList> {
    auth(&headers, me)?;
    let g = lock(&s);
    Ok(Json(FunctionList {
        items: g.parties[me]
            .functions
            .iter()
            .map(|f| f.0.clone())
            .collect(),
    }))
}

async fn versions(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Answer<FunctionList> {
    auth(&headers, me)?;
    let g = lock(&s);
    let items: Vec<FunctionInfo> = g.parties[me]
        .functions
        .iter()
        .filter(|f| f.0.name == name)
        .map(|f| f.0.clone())
        .collect();
    if items.is_empty() {
        return Err(fail(ErrorCode::NotFound, format!("no function {name}")));
    }
    Ok(Json(FunctionList { items }))
}

async fn delete_function(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, Fail> {
    auth(&headers, me)?;
    let mut g = lock(&s);
    let fs = &mut g.parties[me].functions;
    let before = fs.len();
    fs.retain(|f| f.0.name != name);
    if fs.len() == before {
        return Err(fail(ErrorCode::NotFound, format!("no function {name}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn game_status(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer<GameSummary> {
    auth(&headers, me)?;
    let g = lock(&s);
    if !g.parties[me].games.contains(&id) {
        return Err(fail(ErrorCode::NotFound, format!("no game {id:?}")));
    }
    Ok(Json(GameSummary {
        game_id: id,
        status: GameStatus::Succeeded,
        program_hash: None,
        started_at_ms: 0,
        finished_at_ms: Some(1),
        error: None,
        preprocessing: None,
    }))
}

async fn game(
    State((s, me)): State<AppState>,
    headers: HeaderMap,
    Json(a): Json<Activation>,
) -> Answer<GameResult> {
    auth(&headers, me)?;
    let Some(game_id) = a.game_id.clone() else {
        return Err(fail(ErrorCode::BadRequest, "the fake needs a game id"));
    };
    let mut g = lock(&s);
    let (code, args) = match (&a.code, &a.function) {
        (Some(c), None) => (c.clone(), a.args.clone()),
        (None, Some(name)) => match g.parties[me]
            .functions
            .iter()
            .rev()
            .find(|f| &f.0.name == name)
        {
            Some(f) => (f.1.clone(), f.2.clone()),
            None => return Err(fail(ErrorCode::NotFound, format!("no function {name}"))),
        },
        _ => {
            return Err(fail(
                ErrorCode::BadRequest,
                "give exactly one of code and function",
            ))
        }
    };
    let mut program_hash = compile(&code, &args)?;
    if !g.parties[me].games.insert(game_id.clone()) {
        return Err(fail(
            ErrorCode::Conflict,
            format!("game {game_id:?} is running on this party; every game needs a fresh id"),
        ));
    }
    let mut outputs = Vec::new();
    for id in &a.inputs {
        match g.parties[me].secrets.get_mut(id) {
            Some(sec) => {
                outputs.extend(sec.values.iter().copied());
                sec.audit.push(AuditEntry {
                    at_ms: now_ms(),
                    user: USER.into(),
                    game_id: game_id.clone(),
                    program_hash: program_hash.clone(),
                    output: a.output.kind,
                });
            }
            None => return Err(fail(ErrorCode::NotFound, format!("no secret {id}"))),
        }
    }
    let sum: Fp = outputs.iter().copied().sum();
    outputs.push(sum);
    let output = match a.output.kind {
        OutputKind::Plaintext => {
            let mut values: Vec<String> =
                outputs.iter().map(|x| x.to_signed().to_string()).collect();
            if tampers(&s, me, Tamper::Plaintext) {
                values[0] = "666".into();
            }
            GameOutput::Plaintext { values }
        }
        OutputKind::SecretShare => {
            let rid = Uuid::new_v5(&Uuid::NAMESPACE_OID, game_id.as_bytes());
            let ds = g
                .deliveries
                .entry(format!("game/{game_id}"))
                .or_insert_with(|| honest_deliveries(&outputs, s.n, rid, &mut OsRng));
            let mut delivery = mine(&s, me, ds);
            if tampers(&s, me, Tamper::GameShare) {
                delivery.s = bump_first(&delivery.s);
            }
            GameOutput::SecretShare { delivery }
        }
        OutputKind::AmphoraSecret => {
            let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, game_id.as_bytes());
            g.parties[me].secrets.insert(
                id,
                FakeSecret {
                    values: outputs.clone(),
                    tags: a.output.tags.clone(),
                    created_at_ms: now_ms(),
                    ..FakeSecret::default()
                },
            );
            let ids = if tampers(&s, me, Tamper::OutputIds) {
                vec![Uuid::new_v4()]
            } else {
                vec![id]
            };
            GameOutput::AmphoraSecret { ids }
        }
    };
    if tampers(&s, me, Tamper::ProgramHash) {
        program_hash = program_hash.replace('0', "1").replace('a', "b");
    }
    let party = if tampers(&s, me, Tamper::PartyId) {
        (me + 1) % s.n
    } else {
        me
    };
    Ok(Json(GameResult {
        game_id: game_id.clone(),
        party,
        program_hash,
        output,
        printed: format!("fake game {game_id}: {} inputs\n", a.inputs.len()),
        printed_private: String::new(),
        stats: GameStats {
            rounds: 7,
            bytes_sent: 1000 + me as u64,
            elapsed_ms: 1.5,
            triples: 3,
            ..GameStats::default()
        },
    }))
}

async fn tuples(State((s, me)): State<AppState>, headers: HeaderMap) -> Answer<TupleStatsResponse> {
    auth(&headers, me)?;
    let kind = |k: &str, available| TupleKindStats {
        kind: k.into(),
        available,
        inactive: 0,
        consumed: 10,
        consumption_rate: 0.5,
        threshold: 1000,
        generated: 3500,
        generation_rate: 12.5,
    };
    Ok(Json(TupleStatsResponse {
        party: me,
        generator: "insecure-dealer".into(),
        kinds: vec![kind("triple", 5000), kind("bit", 2000)],
        jobs_completed: 2,
        tuples_generated: 7000 * s.n as u64,
        halt: None,
    }))
}

async fn health(State((s, me)): State<AppState>) -> Json<Health> {
    Json(Health {
        party: me,
        parties: s.n,
        status: "ok".into(),
        version: "fake".into(),
        generator: "insecure-dealer".into(),
        peers: (0..s.n)
            .filter(|&p| p != me)
            .map(|party| PeerHealth {
                party,
                connected: true,
            })
            .collect(),
        running_games: 0,
        generation_halt: None,
    })
}
