//! Games: discovery (party 0 leads, see [`crate::coord`]) and execution on the VM.
//!
//! Life of a game on one party:
//! 1. **register** the game id in the [`GameTable`] — an id that is running, or finished less
//!    than the grace period ago, is refused (409), so a retry never meets a stale channel;
//! 2. **compile** (cached by hash of source and arguments) and **authorise** every input secret:
//!    its owner may use it, and so may any program whose hash its `authorizedPrograms` tag lists;
//! 3. **agree** with the other parties on (game id, program hash, inputs, arguments, output mode,
//!    public input); party 0 reserves the tuples the compiler counted;
//! 4. **run** the VM on the SPDZ engine over the game's gateway channel; tuples beyond the count
//!    come in batches through the top-up channel ([`crate::prep`]);
//! 5. **deliver** the outputs — the values the program wrote to its client socket — only after
//!    the run's final MAC check: opened (PLAINTEXT), through output delivery (SECRETSHARE), or
//!    stored as one new secret in one transaction (AMPHORASECRET);
//! 6. **record** the outcome; the entry is forgotten after the grace period.
//!
//! **Architecture Invariant:** a failed game stores nothing and reveals nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api::{
    Activation, ApiError, ErrorCode, GameOutput, GameResult, GameStats, GameStatus, GameSummary,
    OutputKind, PrepProgress,
};
use field::Fp;
use lang::bytecode::SockKind;
use protocol::prep::TupleKind;
use protocol::{Engine, ShareVec};
use store::{NewSecret, ReservationId, ReservationRequest, SecretId, SecretStore, Tag};
use vm::host::Tokens;
use vm::VmConfig;

use crate::coord::digest;
use crate::host::{GameHost, GameSockets};
use crate::prep::StorePrep;
use crate::secrets::{join_error, protocol_error, secret_error, to_store_tag};
use crate::{Node, User};

/// Longest game id.
pub const MAX_GAME_ID: usize = 128;

struct Entry {
    summary: GameSummary,
    finished: Option<Instant>,
    /// The user who ran the game: the only one who may see its summary and error.
    owner: String,
}

/// The games this node knows: running ones, and finished ones for a grace period.
#[derive(Default)]
pub struct GameTable {
    inner: Mutex<HashMap<String, Entry>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl GameTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new game, or refuses an id in use.
    fn register(&self, id: &str, owner: &str, grace: Duration) -> Result<(), ApiError> {
        let mut m = self.lock();
        m.retain(|_, e| e.finished.is_none_or(|t| t.elapsed() < grace));
        if let Some(e) = m.get(id) {
            let what = match e.summary.status {
                GameStatus::Registering | GameStatus::WaitingForTuples | GameStatus::Running => {
                    "is running"
                }
                GameStatus::Succeeded | GameStatus::Failed => "has just finished",
            };
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("game {id:?} {what} on this party; every game needs a fresh id (e.g. a random UUID)"),
            ));
        }
        m.insert(
            id.to_string(),
            Entry {
                summary: GameSummary {
                    game_id: id.to_string(),
                    status: GameStatus::Registering,
                    program_hash: None,
                    started_at_ms: now_ms(),
                    finished_at_ms: None,
                    error: None,
                    preprocessing: None,
                },
                finished: None,
                owner: owner.to_string(),
            },
        );
        Ok(())
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.lock().get_mut(id) {
            f(e);
        }
    }

    fn finish(&self, id: &str, result: &Result<GameResult, ApiError>) {
        self.update(id, |e| {
            e.finished = Some(Instant::now());
            e.summary.finished_at_ms = Some(now_ms());
            match result {
                Ok(_) => e.summary.status = GameStatus::Succeeded,
                Err(err) => {
                    e.summary.status = GameStatus::Failed;
                    e.summary.error = Some(err.message.clone());
                }
            }
        });
    }

    /// Number of games registering or running.
    pub fn running(&self) -> u64 {
        self.lock()
            .values()
            .filter(|e| e.finished.is_none())
            .count() as u64
    }

    /// The summary of game `id`, whoever ran it (for the node's own use).
    fn get_any(&self, id: &str) -> Option<GameSummary> {
        self.lock().get(id).map(|e| e.summary.clone())
    }

    fn get(&self, id: &str, user: &str) -> Option<GameSummary> {
        self.lock()
            .get(id)
            .filter(|e| e.owner == user)
            .map(|e| e.summary.clone())
    }
}

fn check_game_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_GAME_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "game_id {:?} is invalid: use 1 to {MAX_GAME_ID} characters of letters, digits, '-', '_', '.', ':' (a random UUID is best)",
            id.chars().take(64).collect::<String>()
        )))
    }
}

/// One output value: a share (value, MAC) or a public value.
enum Out {
    Secret(Fp, Fp),
    Public(Fp),
}

/// The game's outputs from what the program wrote to its socket.
fn outputs(written: &[vm::host::SocketWrite]) -> Result<Vec<Out>, ApiError> {
    let mut out = Vec::new();
    let bad = |m: String| ApiError::new(ErrorCode::ProgramFailed, m);
    for (i, w) in written.iter().enumerate() {
        let skip = if w.msg_type != 0 { 4 } else { 0 };
        let body = w.payload.get(skip..).unwrap_or_default();
        let dec = |b: &[u8]| {
            Fp::from_mont_bytes(b.try_into().expect("16 bytes"))
                .map_err(|_| bad(format!("output message {i} holds an invalid field element")))
        };
        match w.kind {
            SockKind::SecretWithMac => {
                for c in body.chunks_exact(32) {
                    out.push(Out::Secret(dec(&c[..16])?, dec(&c[16..])?));
                }
            }
            SockKind::Clear => {
                for c in body.chunks_exact(16) {
                    out.push(Out::Public(dec(c)?));
                }
            }
            SockKind::Int => {
                for c in body.chunks_exact(8) {
                    let x = i64::from_le_bytes(c.try_into().expect("8 bytes"));
                    out.push(Out::Public(Fp::from_i64(x)));
                }
            }
            SockKind::SecretShare => {
                return Err(bad(
                    "the program writes value shares without MACs (write_shares_to_socket); a node can only return authenticated outputs: use write_to_socket".into(),
                ))
            }
        }
    }
    Ok(out)
}

fn vm_error(e: vm::error::VmError, game: &str) -> ApiError {
    use vm::error::VmError as V;
    match e {
        V::Protocol(p) => protocol_error(p, &format!("game {game}")),
        other => {
            if let V::DeadlineExceeded { .. } = other {
                return ApiError::new(
                    ErrorCode::Timeout,
                    format!("game {game}: {other} (timeouts.game_secs)"),
                );
            }
            // The node's memory budget, shared by all its games, is used up: the node is busy,
            // not the program wrong (503; the other parties see this party drop out). A
            // program over the per-game limit (`MemoryLimit`) is public, hence 4xx below.
            if let V::MemoryBudget { .. } = other {
                return ApiError::limited(
                    ErrorCode::Unavailable,
                    format!("game {game}: {other} (limits.node_memory_mib)"),
                    1,
                );
            }
            let code = if other.is_public()
                || matches!(
                    other,
                    V::OutOfPrivateInput { .. } | V::BadPrivateInput { .. } | V::Socket { .. }
                ) {
                ErrorCode::ProgramFailed
            } else {
                ErrorCode::Internal
            };
            ApiError::new(code, format!("game {game}: {other}"))
        }
    }
}

impl Node {
    /// A failed run, said the same way on every party: party 0 sends the others its reason on
    /// the game's top-up channel; a party that timed out waiting for party 0 reports party 0's
    /// reason (the party that really failed) instead of blaming party 0.
    fn explain_failure(
        &self,
        mut err: ApiError,
        control: Option<&crate::prep::GameControl>,
        game: &str,
    ) -> ApiError {
        let Some(control) = control else {
            return err;
        };
        let prefix = format!("game {game}: ");
        if self.me == 0 {
            control.announce_abort(err.message.strip_prefix(&prefix).unwrap_or(&err.message));
        } else if err.code == ErrorCode::PeerUnavailable && err.message.contains("party 0") {
            if let Some(why) = control.abort_reason(Duration::from_millis(500)) {
                err.message = format!(
                    "{prefix}party 0 stopped the game; {}",
                    crate::coord::relayed(&why)
                );
            }
        }
        err
    }
}

/// Everything a game needs once compiled and authorised.
struct Prepared {
    game_id: String,
    program: Arc<lang::CompiledProgram>,
    cache_hit: bool,
    activation: Activation,
    owner: String,
    input_shares: Vec<u8>,
    reserve: Vec<ReservationRequest>,
    digest: [u8; 32],
    started: Instant,
}

impl Node {
    /// `POST /v1/games` (and the Carbyne-compatible `POST /`).
    pub async fn execute(
        self: &Arc<Self>,
        user: &User,
        activation: Activation,
    ) -> Result<GameResult, ApiError> {
        let started = Instant::now();
        let Some(game_id) = activation.game_id.clone() else {
            return Err(ApiError::bad_request(
                "game_id is required: choose a fresh id (a random UUID) and send the same activation to every party",
            ));
        };
        check_game_id(&game_id)?;
        let _joint = self.limits.joint(&self.metrics, &user.name)?;
        let _slot = self.limits.game(&self.metrics)?;
        self.games
            .register(&game_id, &user.name, self.config.timeouts.grace())?;
        self.metrics.set_games_running(self.games.running());
        let result = self
            .execute_registered(user, activation, game_id.clone(), started)
            .await;
        self.games.finish(&game_id, &result);
        self.metrics.set_games_running(self.games.running());
        self.metrics
            .record_game(result.is_ok(), started.elapsed().as_secs_f64());
        match &result {
            Ok(_) => {
                tracing::info!(game = %game_id, ms = started.elapsed().as_secs_f64() * 1e3, "game succeeded")
            }
            Err(e) => {
                // Party 0 may have reserved tuples this party never applied.
                self.recovery.mark_dirty();
                tracing::warn!(game = %game_id, code = ?e.code, error = %e.message, "game failed")
            }
        }
        result
    }

    async fn execute_registered(
        self: &Arc<Self>,
        user: &User,
        activation: Activation,
        game_id: String,
        started: Instant,
    ) -> Result<GameResult, ApiError> {
        let (code, args) = match (&activation.code, &activation.function) {
            (Some(code), None) => (code.clone(), activation.args.clone()),
            (None, Some(f)) => {
                if !activation.args.is_empty() {
                    return Err(ApiError::bad_request(
                        "args cannot be given with a deployed function: its arguments were fixed when it was deployed",
                    ));
                }
                let (_info, code, args) = self.functions.get(f)?;
                (code, args)
            }
            _ => {
                return Err(ApiError::bad_request(
                    "give exactly one of code (the program source) and function (a deployed function's name)",
                ))
            }
        };
        let (program, cache_hit) = self
            .programs
            .get_or_compile(&code, &args, || self.limits.compile(&self.metrics))
            .await?;
        let min = self.config.security.min_statistical_security;
        let s = program.bytecode.params.security;
        if s < min {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!(
                    "the program sets program.security = {s}, below this party's minimum of {min} bits (security.min_statistical_security): masked openings with a small statistical security parameter leak inputs. Remove the setting or use at least {min}"
                ),
            ));
        }
        let hash = program.hash_hex();
        self.games
            .update(&game_id, |e| e.summary.program_hash = Some(hash.clone()));
        let node = self.clone();
        let owner = user.name.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            node.prepare(game_id, program, cache_hit, activation, owner, started)
        })
        .await
        .map_err(join_error)??;
        // Waiting for the parties holds no thread; the run does.
        let g = prepared.game_id.clone();
        let report: crate::coord::Progress = {
            let node = self.clone();
            let g = g.clone();
            Arc::new(move |progress: &PrepProgress| node.note_game_progress(&g, progress))
        };
        let session = self
            .agree_session(
                "game",
                &g,
                prepared.digest,
                prepared.reserve.clone(),
                Some(report),
            )
            .await?;
        let node = self.clone();
        tokio::task::spawn_blocking(move || {
            let r = node.run_game(prepared, session);
            if let Err(e) = &r {
                node.abort_session(&["game", "game-topup", "game-public"], &g, e);
            }
            r
        })
        .await
        .map_err(join_error)?
    }

    /// Loads and authorises the inputs and works out the reservation (blocking).
    fn prepare(
        &self,
        game_id: String,
        program: Arc<lang::CompiledProgram>,
        cache_hit: bool,
        activation: Activation,
        owner: String,
        started: Instant,
    ) -> Result<Prepared, ApiError> {
        let hash = program.hash_hex();
        let mut ids = Vec::with_capacity(activation.inputs.len());
        for u in &activation.inputs {
            ids.push(
                SecretId::from_uuid(*u)
                    .map_err(|e| ApiError::bad_request(format!("inputs: {e}")))?,
            );
        }
        let secrets = self.secrets.get_many(&ids).map_err(secret_error)?;
        let mut input_shares = Vec::new();
        // Owner, use policy or legacy tag (crate::policy); the use counts go into the digest.
        let uses = self.authorise_inputs(&secrets, &owner, &hash, activation.output.kind)?;
        for s in &secrets {
            let (v, m) = (s.shares.value_shares(), s.shares.mac_shares());
            for i in 0..v.len() {
                let mut value = v[i];
                if i == 0 && input_shares.is_empty() && self.tampers("execution") {
                    tracing::warn!(
                        "INSECURE test setting: tampering with an input share of a game"
                    );
                    value += Fp::ONE;
                }
                input_shares.extend_from_slice(&value.to_mont_bytes());
                input_shares.extend_from_slice(&m[i].to_mont_bytes());
            }
        }
        // With the mixed-circuit kernels, binary-domain tuples are reserved too; the game then
        // runs them (`StorePrep`), on every party alike since all apply party 0's reservations.
        let req = vm::cost::requirements_for(
            &program.summary.fixed,
            program.bytecode.params.security,
            crate::tuplegen::MIXED_KERNELS,
        )
        .map_err(|e| ApiError::new(ErrorCode::ProgramFailed, e))?;
        let mut reserve = Vec::new();
        let mut add = |kind: TupleKind, count: u64, label: String| -> Result<(), ApiError> {
            if count > 0 {
                reserve.push(ReservationRequest {
                    id: ReservationId::new(format!("game/{game_id}/{label}"))
                        .map_err(|e| ApiError::bad_request(e.to_string()))?,
                    kind,
                    count,
                });
            }
            Ok(())
        };
        add(TupleKind::Triple, req.triples, "triple".into())?;
        add(TupleKind::Square, req.squares, "square".into())?;
        add(TupleKind::Bit, req.bits, "bit".into())?;
        add(TupleKind::Inverse, req.inverses, "inverse".into())?;
        for (&p, &c) in &req.input_masks {
            if p as usize >= self.n {
                return Err(ApiError::new(
                    ErrorCode::ProgramFailed,
                    format!("the program takes private input from party {p}, but the virtual cloud has {} parties", self.n),
                ));
            }
            add(
                TupleKind::InputMask(p as usize),
                c,
                format!("input-mask-{p}"),
            )?;
        }
        for (&kind, &c) in &req.binary {
            add(kind, c, store::tuple::kind_label(kind))?;
        }
        let out_tags = serde_json::to_vec(&activation.output).unwrap_or_default();
        let ids_bytes: Vec<u8> = activation
            .inputs
            .iter()
            .flat_map(|u| *u.as_bytes())
            .collect();
        let public = activation.public_input.clone().unwrap_or_default();
        let digest = digest(&[
            b"game",
            game_id.as_bytes(),
            owner.as_bytes(),
            &program.hash,
            &ids_bytes,
            &uses,
            &out_tags,
            public.as_bytes(),
        ]);
        Ok(Prepared {
            game_id,
            program,
            cache_hit,
            activation,
            owner,
            input_shares,
            reserve,
            digest,
            started,
        })
    }

    /// Runs an agreed game and delivers (blocking).
    fn run_game(
        self: &Arc<Self>,
        p: Prepared,
        session: crate::coord::Session,
    ) -> Result<GameResult, ApiError> {
        let g = p.game_id.as_str();
        let crate::coord::Session {
            net,
            reservations,
            at_ms: agreed_at_ms,
            nonce,
            gate: _gate,
            mut release,
            phase: _phase,
        } = session;
        // Time spent waiting for tuples does not count against the game's time limit.
        let waited = self
            .games
            .get_any(g)
            .and_then(|s| s.preprocessing)
            .map_or(Duration::ZERO, |p| Duration::from_secs_f64(p.waited_secs));
        let (inputs, kind) = (&p.activation.inputs, p.activation.output.kind);
        self.record_uses(
            inputs,
            &p.owner,
            g,
            &p.program.hash_hex(),
            kind,
            agreed_at_ms,
        )?;
        let join_ms = p.started.elapsed().as_secs_f64() * 1e3;
        self.games
            .update(g, |e| e.summary.status = GameStatus::Running);
        let ctl = self
            .channels
            .open(
                "game-topup",
                g,
                net::NetConfig {
                    recv_deadline: self.config.timeouts.recv(),
                    ..net::NetConfig::default()
                },
            )
            .map_err(|e| crate::coord::net_error(&e, &format!("game {g}")))?;
        let prep = StorePrep::new(self.clone(), &reservations, Some(ctl), g)?;
        release.handed_over();
        let control = prep.control();
        let bytecode = &p.program.bytecode;
        // Where the parties compare what they will return in public (opened before the run, so
        // that frames from faster parties wait for it).
        let mut public_net = self
            .channels
            .open(
                "game-public",
                g,
                net::NetConfig {
                    recv_deadline: self.config.timeouts.recv(),
                    ..net::NetConfig::default()
                },
            )
            .map_err(|e| crate::coord::net_error(&e, &format!("game {g}")))?;
        let mut engine = Engine::new(net, prep, vm::runner::engine_config(bytecode));
        let mut host = GameHost {
            private_input: Tokens::new(p.activation.private_input.as_deref().unwrap_or("")),
            public_input: Tokens::new(p.activation.public_input.as_deref().unwrap_or("")),
            output: String::new(),
            private_output: String::new(),
            sockets: GameSockets::new(p.input_shares),
        };
        let config = VmConfig {
            // Every party prints, so that every party can check the text it returns.
            print_party: None,
            // The game's wall-clock bound, counted from the request, not counting the time it
            // waited for its tuples.
            deadline: Some(p.started + waited + self.config.timeouts.game()),
            max_memory_bytes: self.limits.config().game_memory_mib << 20,
            memory_budget: Some(self.limits.memory()),
            ..VmConfig::default()
        };
        if let Err(e) = vm::run(bytecode, &mut engine, &mut host, &config) {
            return Err(self.explain_failure(vm_error(e, g), control.as_ref(), g));
        }
        // The run ended with a MAC check of everything opened: the outputs may now be used.
        let outs = outputs(&host.sockets.written)?;
        let during = format!("game {g}");
        if self.tampers("public-output") {
            tracing::warn!("INSECURE test setting: forging this party's printed text");
            host.output.push_str("forged\n");
        }
        let mut to_commit: Option<(uuid::Uuid, Result<store::TxnOp, ApiError>)> = None;
        let output = match p.activation.output.kind {
            OutputKind::Plaintext => {
                let secret: Vec<(Fp, Fp)> = outs
                    .iter()
                    .filter_map(|o| match o {
                        Out::Secret(v, m) => Some((*v, *m)),
                        Out::Public(_) => None,
                    })
                    .collect();
                let (v, m): (Vec<Fp>, Vec<Fp>) = secret.into_iter().unzip();
                let opened = engine
                    .reveal(&ShareVec::from_parts(v, m))
                    .map_err(|e| protocol_error(e, &during))?;
                let mut opened = opened.into_iter();
                let mut values: Vec<String> = outs
                    .iter()
                    .map(|o| match o {
                        Out::Secret(..) => opened.next().unwrap_or(Fp::ZERO),
                        Out::Public(c) => *c,
                    })
                    .map(|x| x.to_signed().to_string())
                    .collect();
                if self.tampers("public-output") {
                    if let Some(v) = values.first_mut() {
                        v.push('1');
                    }
                }
                self.confirm_public(&mut public_net, g, &host.output, &values)?;
                GameOutput::Plaintext { values }
            }
            OutputKind::SecretShare | OutputKind::AmphoraSecret => {
                let publics: Vec<String> = outs
                    .iter()
                    .filter_map(|o| match o {
                        Out::Public(c) => Some(c.to_signed().to_string()),
                        Out::Secret(..) => None,
                    })
                    .collect();
                self.confirm_public(&mut public_net, g, &host.output, &publics)?;
                let ctx = engine.ctx();
                let mut shares = ShareVec::with_capacity(outs.len());
                for o in &outs {
                    let one = match o {
                        Out::Secret(v, m) => ShareVec::from_parts(vec![*v], vec![*m]),
                        Out::Public(c) => ctx.constant(&[*c]),
                    };
                    shares.extend(&one);
                }
                if p.activation.output.kind == OutputKind::SecretShare {
                    let rid = crate::coord::derived_id(&nonce, "delivery", 0);
                    let delivery = crate::delivery::deliver(&mut engine, &shares, rid)
                        .map_err(|e| protocol_error(e, &during))?;
                    GameOutput::SecretShare { delivery }
                } else if shares.is_empty() {
                    GameOutput::AmphoraSecret { ids: vec![] }
                } else {
                    let id = crate::coord::derived_id(&nonce, "output secret", 0);
                    let mut op = || -> Result<store::TxnOp, ApiError> {
                        let sid = SecretId::from_uuid(id)
                            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
                        let mut tags = vec![Tag::string("gameID", g)];
                        if !p.activation.inputs.is_empty() {
                            let from: Vec<String> =
                                p.activation.inputs.iter().map(|u| u.to_string()).collect();
                            let joined = from.join(",");
                            if joined.chars().count() <= 256 {
                                tags.push(Tag::string("derived-from", joined));
                            }
                        }
                        for t in &p.activation.output.tags {
                            if !tags.iter().any(|x| x.key == t.key) {
                                tags.push(to_store_tag(t));
                            }
                        }
                        let tags = store::secret::validate_tags(&tags).map_err(secret_error)?;
                        // Final check before anything is stored.
                        engine.check().map_err(|e| protocol_error(e, &during))?;
                        let mut secret = NewSecret::new(sid, p.owner.clone(), shares.clone())
                            .created_at_ms(agreed_at_ms);
                        secret.tags = tags;
                        Ok(store::TxnOp::Create(vec![secret]))
                    };
                    to_commit = Some((id, op()));
                    GameOutput::AmphoraSecret { ids: vec![id] }
                }
            }
        };
        let run = engine.finish().map_err(|e| protocol_error(e, &during));
        // The output secret exists on every party or on none (two-phase commit, `commit`).
        if let Some((id, op)) = to_commit {
            let op = match &run {
                Ok(_) => op,
                Err(e) => Err(e.clone()),
            };
            self.commit_jointly(
                &mut public_net,
                crate::commit::txn_id(&nonce),
                op,
                &format!("the output secret {id} of game {g}"),
                &crate::secrets::status_hint(id),
            )?;
        }
        let run = run?;
        let t = &run.tuples;
        Ok(GameResult {
            game_id: p.game_id.clone(),
            party: self.me,
            program_hash: p.program.hash_hex(),
            output,
            printed: host.output,
            printed_private: host.private_output,
            stats: GameStats {
                rounds: run.net.rounds,
                bytes_sent: run.net.bytes_sent,
                elapsed_ms: p.started.elapsed().as_secs_f64() * 1e3,
                join_ms,
                cache_hit: p.cache_hit,
                triples: t.triples,
                bits: t.bits,
                squares: t.squares,
                inverses: t.inverses,
            },
        })
    }

    /// Checks that every party will return the same public output: the printed text and the
    /// public values (plaintext outputs, or the public part of other outputs). Each party sends
    /// every other party a digest of its own and compares all of them with it; any difference
    /// fails the game here, before this party answers, so no honest party ever returns public
    /// output that another party computed differently.
    fn confirm_public(
        &self,
        net: &mut net::Network,
        game: &str,
        printed: &str,
        values: &[String],
    ) -> Result<(), ApiError> {
        let mut parts: Vec<&[u8]> = vec![b"public output", game.as_bytes(), printed.as_bytes()];
        parts.extend(values.iter().map(|v| v.as_bytes()));
        let mine = digest(&parts);
        let during = format!("game {game}");
        for q in (0..self.n).filter(|&q| q != self.me) {
            net.send(q, bytes::Bytes::copy_from_slice(&mine))
                .map_err(|e| crate::coord::net_error(&e, &during))?;
        }
        let mut differ = Vec::new();
        for q in (0..self.n).filter(|&q| q != self.me) {
            let theirs = net
                .recv(q)
                .map_err(|e| crate::coord::net_error(&e, &during))?;
            if theirs.as_ref() != mine.as_slice() {
                differ.push(q);
            }
        }
        if differ.is_empty() {
            return Ok(());
        }
        tracing::error!(game, parties = ?differ, "parties computed different public output; the game fails");
        Err(ApiError::new(
            ErrorCode::IntegrityViolation,
            format!(
                "game {game}: party {} computed other public output (printed text or plaintext values) than this party; a party is faulty or cheating, and nothing was returned",
                differ
                    .iter()
                    .map(|q| q.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    /// `GET /v1/games/{id}`: the summary, for the user who ran the game only.
    pub fn game_summary(&self, id: &str, user: &User) -> Option<GameSummary> {
        self.games.get(id, &user.name)
    }

    /// Game `id` waits for its tuples, this far (party 0's figures, on every party).
    pub(crate) fn note_game_progress(&self, id: &str, p: &PrepProgress) {
        self.games.update(id, |e| {
            e.summary.status = GameStatus::WaitingForTuples;
            e.summary.preprocessing = Some(p.clone());
        });
    }

    /// Game `id` has its tuples and runs.
    pub(crate) fn note_game_running(&self, id: &str) {
        self.games.update(id, |e| {
            if e.summary.status == GameStatus::WaitingForTuples {
                e.summary.status = GameStatus::Running;
            }
        });
    }
}
