//! End-to-end tests: real `ephemeral node` processes on loopback (N = 2 and N = 3), driven by
//! the Rust SDK and by raw HTTP and TLS where the SDK would refuse to misbehave.
//!
//! Each test starts its own clusters (`e2e_support::Cluster`) with dealer tuples and 5 s join
//! and receive deadlines; the children are killed when a test ends, passes or not.

mod e2e_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use api::{Activation, ErrorCode, GameStatus, OutputKind, OutputSpec, Tag};
use client::{ClientError, Outputs};
use e2e_support::{blocking, consumed, Cluster, Options, DEADLINE_SECS};
use serde_json::json;
use uuid::Uuid;

/// Reads two values from the input secrets and writes their sum, product and difference.
const ARITH: &str = "listen(10000)
client_socket_id = regint()
acceptclientconnection(client_socket_id, 10000)
v = sint.read_from_socket(client_socket_id, 2)
a = v[0]
b = v[1]
resp = Array(3, sint)
resp[0] = a + b
resp[1] = a * b
resp[2] = a - b
sint.write_to_socket(client_socket_id, resp)
";

/// A chain of `public_input()` dependent secret multiplications (one round each) by party 0's
/// private input.
const LONG: &str = "n = public_input()
x = sint.get_input_from(0)
acc = MemValue(sint(1))
@for_range(n)
def _(i):
    acc.write(acc.read() * x)
print_ln('%s', acc.read().reveal())
";

fn seed_program() -> String {
    std::fs::read_to_string(e2e_support::example("seed.mpc")).expect("examples/seed.mpc")
}

/// Uploads 42 and 17 and runs the seed example on them: the cloud serves games.
async fn assert_the_seed_example_runs(c: &client::Client) {
    let x = c.create_secret_i128(&[42], vec![]).await.unwrap();
    let y = c.create_secret_i128(&[17], vec![]).await.unwrap();
    let r = c
        .execute(activation(
            &seed_program(),
            vec![x, y],
            OutputKind::Plaintext,
        ))
        .await
        .unwrap();
    assert_eq!(r.values_i128().unwrap(), vec![59]);
}

fn activation(code: &str, inputs: Vec<Uuid>, kind: OutputKind) -> Activation {
    Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(code.into()),
        inputs,
        output: OutputSpec { kind, tags: vec![] },
        ..Activation::default()
    }
}

fn ids(page: &api::SecretPage) -> BTreeSet<Uuid> {
    page.items.iter().map(|s| s.id).collect()
}

/// The API error code of a client error, or a panic naming the error.
fn code_of(e: &ClientError) -> ErrorCode {
    e.api_code()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

// ---- 1. upload → execute in each output mode → download; listing, tags, deletion ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_execute_in_every_output_mode_download_and_manage_secrets() {
    for n in [2, 3] {
        let cl = Cluster::start(n, Options::default());
        let c = cl.client();
        let a = c
            .create_secret_i128(
                &[42, -7],
                vec![
                    Tag::string("group", "e2e"),
                    Tag::string("name", "a"),
                    Tag::long("n", 5),
                ],
            )
            .await
            .unwrap();
        let b = c
            .create_secret_i128(
                &[17, 1 << 100],
                vec![Tag::string("group", "e2e"), Tag::long("n", 12)],
            )
            .await
            .unwrap();
        let other = c
            .create_secret_i128(&[1], vec![Tag::string("group", "other")])
            .await
            .unwrap();
        assert_eq!(c.get_secret_i128(a).await.unwrap(), vec![42, -7]);
        assert_eq!(c.get_secret_i128(b).await.unwrap(), vec![17, 1 << 100]);

        // PLAINTEXT
        let r = c
            .execute(activation(ARITH, vec![a], OutputKind::Plaintext))
            .await
            .unwrap();
        assert_eq!(
            r.outputs,
            Outputs::Plaintext(vec!["35".into(), "-294".into(), "49".into()])
        );
        assert_eq!(r.stats.len(), n);
        // SECRETSHARE: recombined and verified by the SDK.
        let r = c
            .execute(activation(ARITH, vec![a], OutputKind::SecretShare))
            .await
            .unwrap();
        assert!(matches!(r.outputs, Outputs::Shares(_)), "{:?}", r.outputs);
        assert_eq!(r.values_i128().unwrap(), vec![35, -294, 49]);
        // AMPHORASECRET: a new secret, then downloaded.
        let mut act = activation(ARITH, vec![a], OutputKind::AmphoraSecret);
        act.output.tags = vec![Tag::string("result", "arith")];
        let game = act.game_id.clone().unwrap();
        let r = c.execute(act).await.unwrap();
        let Outputs::Secrets(out) = &r.outputs else {
            panic!("expected stored outputs, got {:?}", r.outputs);
        };
        assert_eq!(out.len(), 1);
        let out = out[0];
        assert_eq!(c.get_secret_i128(out).await.unwrap(), vec![35, -294, 49]);
        let tags = c.get_tags(out).await.unwrap();
        let has = |k: &str, v: &str| tags.iter().any(|t| t.key == k && t.value == v);
        assert!(has("gameID", &game) && has("result", "arith"), "{tags:?}");

        // Listing with tag filters.
        let all = c.list_secrets(None, None).await.unwrap();
        assert_eq!(ids(&all), BTreeSet::from([a, b, other, out]));
        let group = c.list_secrets(Some("group:e2e"), None).await.unwrap();
        assert_eq!(ids(&group), BTreeSet::from([a, b]));
        assert_eq!(group.total_items, 2);
        let big = c.list_secrets(Some("n>10"), None).await.unwrap();
        assert_eq!(ids(&big), BTreeSet::from([b]));
        let small = c.list_secrets(Some("group:e2e,n<10"), None).await.unwrap();
        assert_eq!(ids(&small), BTreeSet::from([a]));
        let page = c.list_secrets(None, Some((0, 3))).await.unwrap();
        assert_eq!(
            (page.items.len(), page.total_items, page.total_pages),
            (3, 4, 2)
        );

        // Tags: set (replace), add, delete; every party applies them.
        c.set_tag(a, Tag::string("name", "renamed")).await.unwrap();
        c.set_tag(a, Tag::long("n", 50)).await.unwrap();
        c.delete_tag(a, "group").await.unwrap();
        let tags = c.get_tags(a).await.unwrap();
        let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
        assert!(!keys.contains(&"group"), "{tags:?}");
        assert!(tags.iter().any(|t| t.key == "name" && t.value == "renamed"));
        let group = c.list_secrets(Some("group:e2e"), None).await.unwrap();
        assert_eq!(ids(&group), BTreeSet::from([b]));
        let big = c.list_secrets(Some("n>10"), None).await.unwrap();
        assert_eq!(ids(&big), BTreeSet::from([a, b]));
        for i in 0..n {
            let path = format!("/v1/secrets/{a}/tags");
            let r = cl.get(i, &path).await;
            assert_eq!(r.status, 200, "{}", r.text());
            let t: Vec<Tag> = r.json();
            assert_eq!(t, tags, "party {i} holds other tags");
        }

        // Deletion.
        c.delete_secret(b).await.unwrap();
        let e = c.get_secret(b).await.unwrap_err();
        assert_eq!(code_of(&e), ErrorCode::NotFound, "{e}");
        let all = c.list_secrets(None, None).await.unwrap();
        assert_eq!(ids(&all), BTreeSet::from([a, other, out]));
        let e = c.delete_secret(b).await.unwrap_err();
        assert_eq!(code_of(&e), ErrorCode::NotFound, "{e}");
        // What is left still works.
        assert_eq!(c.get_secret_i128(a).await.unwrap(), vec![42, -7]);
    }
}

// ---- 2. the seed example ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_adds_two_uploaded_secrets() {
    let code = seed_program();
    for n in [2, 3] {
        let cl = Cluster::start(n, Options::default());
        let c = cl.client();
        let x = c
            .create_secret_i128(&[42], vec![Tag::string("name", "x")])
            .await
            .unwrap();
        let y = c
            .create_secret_i128(&[17], vec![Tag::string("name", "y")])
            .await
            .unwrap();
        let r = c
            .execute(activation(&code, vec![x, y], OutputKind::Plaintext))
            .await
            .unwrap();
        assert_eq!(r.outputs, Outputs::Plaintext(vec!["59".into()]), "N = {n}");
        assert_eq!(r.values_i128().unwrap(), vec![59]);
    }
}

// ---- 3. concurrency -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_four_concurrent_games_are_all_correct() {
    for n in [2, 3] {
        let cl = Cluster::start(n, Options::default());
        let c = cl.client();
        let mut inputs = Vec::new();
        for k in 0..6i128 {
            let (a, b) = (1000 + 37 * k, -5 - k);
            inputs.push((c.create_secret_i128(&[a, b], vec![]).await.unwrap(), a, b));
        }
        let mut games = tokio::task::JoinSet::new();
        for g in 0..24usize {
            let c = c.clone();
            let (id, a, b) = inputs[g % inputs.len()];
            let kind = if g % 2 == 0 {
                OutputKind::Plaintext
            } else {
                OutputKind::SecretShare
            };
            games.spawn(async move {
                let r = c.execute(activation(ARITH, vec![id], kind)).await;
                (g, a, b, r)
            });
        }
        let mut done = 0;
        while let Some(j) = games.join_next().await {
            let (g, a, b, r) = j.unwrap();
            let r = r.unwrap_or_else(|e| panic!("N = {n}, game {g}: {e}\n{}", cl.logs()));
            assert_eq!(
                r.values_i128().unwrap(),
                vec![a + b, a * b, a - b],
                "game {g}"
            );
            done += 1;
        }
        assert_eq!(done, 24);
        // Every party consumed the same tuples.
        let stats = c.tuple_stats().await.unwrap();
        let per_party = consumed(&stats);
        assert!(
            per_party.iter().all(|p| p == &per_party[0]),
            "{per_party:?}"
        );
    }
}

// ---- 4. a node killed during a game ---------------------------------------------------------

/// How a party is taken out of a running game.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// SIGKILL: its connections close at once.
    Kill,
    /// SIGSTOP: its connections stay open and silent; only the receive deadline notices.
    Freeze,
}

/// Starts `LONG` (a multiplication chain that runs for seconds), takes party `victim` out once
/// the game is under way, and checks the survivors fail it clearly within the deadline; then
/// brings the victim back and runs the next game.
async fn fault_during_a_game(n: usize, victim: usize, fault: Fault) {
    let mut cl = Cluster::start(n, Options::default());
    let c = cl.client();
    let game = Uuid::new_v4().to_string();
    let mut act = activation(LONG, vec![], OutputKind::Plaintext);
    act.game_id = Some(game.clone());
    act.public_input = Some("10000000".into());
    let mut private = vec![None; n];
    private[0] = Some("1".into());
    let running = tokio::spawn({
        let c = c.clone();
        async move { c.execute_with_private_inputs(act, private).await }
    });
    // Wait until the game runs on every party.
    let t = Instant::now();
    loop {
        if let Ok(s) = c.game_status(&game).await {
            if s.len() == n && s.iter().all(|g| g.status == GameStatus::Running) {
                break;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the game did not start\n{}",
            cl.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed_at = Instant::now();
    match fault {
        Fault::Kill => cl.kill(victim),
        Fault::Freeze => cl.pause(victim),
    }
    let e = tokio::time::timeout(Duration::from_secs(DEADLINE_SECS + 25), running)
        .await
        .expect("the game did not end after a party was lost")
        .unwrap()
        .expect_err("the game succeeded without a party");
    // Every survivor fails the game, naming the lost party, within the receive deadline.
    let mut took = Duration::ZERO;
    let mut why = String::new();
    for survivor in (0..n).filter(|&i| i != victim) {
        let summary = loop {
            let path = format!("/v1/games/{game}");
            let r = cl.get(survivor, &path).await;
            assert_eq!(r.status, 200, "{}", r.text());
            let summary: api::GameSummary = r.json();
            if summary.status != GameStatus::Running {
                break summary;
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(DEADLINE_SECS + 10),
                "party {survivor} still runs the game {:?} after party {victim} was killed\n{}",
                killed_at.elapsed(),
                cl.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        took = took.max(killed_at.elapsed());
        assert_eq!(summary.status, GameStatus::Failed, "{summary:?}");
        why = summary.error.clone().unwrap_or_default();
        assert!(
            why.contains(&format!("party {victim}")),
            "party {survivor}'s error does not name party {victim}: {why:?} (client saw: {e})"
        );
    }
    if fault == Fault::Kill {
        assert!(e.to_string().contains(&format!("party {victim}")), "{e}");
        assert!(e.to_string().contains("may have stopped"), "{e}");
    }
    if fault == Fault::Freeze {
        // Silence is only noticed by the deadline.
        assert!(took >= Duration::from_secs(DEADLINE_SECS - 1), "{took:?}");
    }
    eprintln!(
        "N = {n}, party {victim} {fault:?}: failed after {took:?}: client: {e}; survivors: {why}"
    );

    // Back again, the cloud serves the next game.
    match fault {
        Fault::Kill => cl.restart(victim),
        Fault::Freeze => cl.resume(victim),
    }
    cl.wait_healthy();
    assert_the_seed_example_runs(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_follower_fails_the_game_within_the_deadline_and_the_next_game_runs() {
    fault_during_a_game(2, 1, Fault::Kill).await;
    fault_during_a_game(3, 2, Fault::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_party_fails_the_game_at_the_receive_deadline_and_the_next_game_runs() {
    fault_during_a_game(2, 1, Fault::Freeze).await;
    fault_during_a_game(3, 0, Fault::Freeze).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_coordinator_fails_the_game_within_the_deadline_and_the_next_game_runs() {
    fault_during_a_game(3, 0, Fault::Kill).await;
}

// ---- 5. restart: secrets kept, tuples never reused ----------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_its_secrets_and_never_reuses_a_tuple() {
    for n in [2, 3] {
        let mut cl = Cluster::start(n, Options::default());
        let c = cl.client();
        let a = c
            .create_secret_i128(&[6, 7], vec![Tag::string("kept", "yes")])
            .await
            .unwrap();
        let r = c
            .execute(activation(ARITH, vec![a], OutputKind::Plaintext))
            .await
            .unwrap();
        assert_eq!(r.values_i128().unwrap(), vec![13, 42, -1]);
        let before = consumed(&c.tuple_stats().await.unwrap());
        assert!(before.iter().all(|p| p == &before[0]), "{before:?}");

        // kill -9 every party in turn, the coordinator too, and restart it.
        for victim in (0..n).rev() {
            cl.kill(victim);
            cl.restart(victim);
        }
        cl.wait_healthy();
        assert_eq!(c.get_secret_i128(a).await.unwrap(), vec![6, 7]);
        let tags = c.get_tags(a).await.unwrap();
        assert!(tags.iter().any(|t| t.key == "kept" && t.value == "yes"));
        let after_restart = consumed(&c.tuple_stats().await.unwrap());
        // The download consumed tuples; nothing went backwards, and the parties agree.
        for (b, a2) in before[0].iter().zip(&after_restart[0]) {
            assert_eq!(b.0, a2.0);
            assert!(a2.1 >= b.1, "{} went from {} to {}", b.0, b.1, a2.1);
        }
        assert!(
            after_restart.iter().all(|p| p == &after_restart[0]),
            "{after_restart:?}"
        );

        // Games after the restart use fresh tuples on every party: a reused or mismatched tuple
        // would fail the MAC check or give a wrong result.
        for _ in 0..3 {
            let r = c
                .execute(activation(ARITH, vec![a], OutputKind::SecretShare))
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", cl.logs()));
            assert_eq!(r.values_i128().unwrap(), vec![13, 42, -1]);
        }
        let last = consumed(&c.tuple_stats().await.unwrap());
        assert!(last.iter().all(|p| p == &last[0]), "{last:?}");
        let total = |v: &Vec<(String, u64)>| v.iter().map(|k| k.1).sum::<u64>();
        assert!(total(&last[0]) > total(&after_restart[0]));
    }
}

// ---- 6. a tampering party is detected -------------------------------------------------------

/// The secret ids every party holds.
async fn ids_on_every_party(cl: &Cluster) -> Vec<BTreeSet<Uuid>> {
    let mut out = Vec::new();
    for i in 0..cl.n {
        let r = cl.get(i, "/v1/secrets").await;
        assert_eq!(r.status, 200, "{}", r.text());
        out.push(ids(&r.json::<api::SecretPage>()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampering_party_is_detected_at_upload_store_download_and_execution() {
    for n in [2, 3] {
        let cheat = n - 1;
        // Upload: a wrong mask share fails the client's output-delivery check; nothing is stored.
        let cl = Cluster::start(
            n,
            Options {
                tamper: Some((cheat, "upload")),
                ..Options::default()
            },
        );
        let c = cl.client();
        let e = c.create_secret_i128(&[5], vec![]).await.unwrap_err();
        assert!(
            matches!(e, ClientError::Integrity { .. }),
            "N = {n}, upload: {e}"
        );
        assert!(ids_on_every_party(&cl).await.iter().all(|s| s.is_empty()));
        drop(cl);

        // Store: a party claiming other masked values makes every party refuse the secret.
        let cl = Cluster::start(
            n,
            Options {
                tamper: Some((cheat, "store")),
                ..Options::default()
            },
        );
        let c = cl.client();
        let e = c.create_secret_i128(&[5], vec![]).await.unwrap_err();
        assert_eq!(code_of(&e), ErrorCode::Conflict, "N = {n}, store: {e}");
        assert!(ids_on_every_party(&cl).await.iter().all(|s| s.is_empty()));
        drop(cl);

        // Download: a wrong share fails the client's check, and no value is returned.
        let cl = Cluster::start(
            n,
            Options {
                tamper: Some((0, "download")),
                ..Options::default()
            },
        );
        let c = cl.client();
        let id = c.create_secret_i128(&[5, 6], vec![]).await.unwrap();
        let e = c.get_secret(id).await.unwrap_err();
        assert!(
            matches!(e, ClientError::Integrity { .. }),
            "N = {n}, download: {e}"
        );
        drop(cl);

        // Execution: a wrong input share fails the MAC check; the stored output never appears.
        let cl = Cluster::start(
            n,
            Options {
                tamper: Some((cheat, "execution")),
                ..Options::default()
            },
        );
        let c = cl.client();
        let id = c.create_secret_i128(&[5, 6], vec![]).await.unwrap();
        for kind in [OutputKind::Plaintext, OutputKind::AmphoraSecret] {
            let e = c
                .execute(activation(ARITH, vec![id], kind))
                .await
                .unwrap_err();
            assert_eq!(
                code_of(&e),
                ErrorCode::IntegrityViolation,
                "N = {n}, execution: {e}"
            );
        }
        assert!(ids_on_every_party(&cl)
            .await
            .iter()
            .all(|s| s == &BTreeSet::from([id])));
    }
}

// ---- 7. an unknown certificate is refused --------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_refuses_an_unknown_certificate_and_keeps_serving() {
    let n = 3;
    let cl = Cluster::start(n, Options::default());
    let parties: Vec<net::tls::PartyEndpoint> = (0..n)
        .map(|i| net::tls::PartyEndpoint {
            addr: cl.mpc[i].to_string(),
            cert_pem: std::fs::read_to_string(cl.dir.path().join(format!("party{i}.pem"))).unwrap(),
        })
        .collect();
    // A stranger claims to be party 2 with a certificate of its own; parties 0 and 1 hold the
    // real party 2's certificate.
    let stranger = net::tls::dev_identity(2).unwrap();
    let mut claimed = parties.clone();
    claimed[2].cert_pem = stranger.cert_pem.clone();
    let mut cfg = net::GatewayConfig::new(2, claimed, stranger);
    cfg.connect_timeout = Duration::from_secs(5);
    for peer in [0, 1] {
        let e = net::gateway::dial_raw(&cfg, peer).await.unwrap_err();
        assert!(
            matches!(e, net::NetError::Tls(_)),
            "party {peer} let a stranger in: {e}"
        );
    }
    // The stranger could not displace the real party 2: its links stand and games run.
    for i in 0..n {
        let h = cl.health(i).unwrap();
        assert!(h.peers.iter().all(|p| p.connected), "party {i}: {h:?}");
    }
    let c = cl.client();
    assert_the_seed_example_runs(&c).await;
}

// ---- 8. bad requests get a 4xx and change nothing -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_unauthenticated_and_bad_program_requests_get_4xx_and_change_nothing() {
    for n in [2, 3] {
        let cl = Cluster::start(
            n,
            Options {
                max_body_bytes: Some(64 * 1024),
                ..Options::default()
            },
        );
        let c = cl.client();
        let a = c
            .create_secret_i128(&[3, 4], vec![Tag::string("k", "v")])
            .await
            .unwrap();
        let before_ids = ids_on_every_party(&cl).await;
        let before_tuples = consumed(&c.tuple_stats().await.unwrap());
        let auth = format!("Bearer {}", cl.token);
        let json = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];

        // (status, code, what must appear in the message, request)
        type Req = (&'static str, String, Vec<(&'static str, String)>, Vec<u8>);
        let with = |h: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            h.iter().map(|(k, v)| (*k, v.to_string())).collect()
        };
        let big = format!(
            "{{\"request_id\":\"{}\",\"secret_id\":\"{}\",\"masked\":\"{}\",\"tags\":[]}}",
            Uuid::new_v4(),
            Uuid::new_v4(),
            "A".repeat(100 * 1024)
        );
        let cases: Vec<(u16, ErrorCode, &str, Req)> = vec![
            (401, ErrorCode::Unauthorized, "token", ("GET", "/v1/secrets".into(), vec![], vec![])),
            (
                401,
                ErrorCode::Unauthorized,
                "token",
                ("GET", "/v1/secrets".into(), vec![("Authorization", "Bearer wrong-token".into())], vec![]),
            ),
            (
                401,
                ErrorCode::Unauthorized,
                "token",
                ("POST", "/v1/games".into(), with(&[("Content-Type", "application/json")]), br#"{"game_id":"x","code":"print_ln('1')"}"#.to_vec()),
            ),
            (400, ErrorCode::BadRequest, "", ("POST", "/v1/secrets".into(), with(&json), b"{not json".to_vec())),
            (
                400,
                ErrorCode::BadRequest,
                "",
                ("POST", "/v1/secrets".into(), with(&json), br#"{"request_id":"not-a-uuid"}"#.to_vec()),
            ),
            (415, ErrorCode::UnsupportedMediaType, "", ("POST", "/v1/games".into(), with(&[("Authorization", &auth)]), br#"{"game_id":"g"}"#.to_vec())),
            (413, ErrorCode::PayloadTooLarge, "", ("POST", "/v1/secrets".into(), with(&json), big.into_bytes())),
            (404, ErrorCode::NotFound, "", ("GET", format!("/v1/secrets/{}", Uuid::new_v4()), with(&json[..1]), vec![])),
            (400, ErrorCode::BadRequest, "", ("GET", "/v1/secrets/not-a-uuid".into(), with(&json[..1]), vec![])),
            (
                400,
                ErrorCode::CompileError,
                "'y' is not defined",
                (
                    "POST",
                    "/v1/games".into(),
                    with(&json),
                    serde_json::to_vec(&json!({"game_id": Uuid::new_v4().to_string(), "code": "x = sint(1)\nprint_ln('%s', y.reveal())\n", "inputs": [a]})).unwrap(),
                ),
            ),
            (
                404,
                ErrorCode::NotFound,
                "",
                (
                    "POST",
                    "/v1/games".into(),
                    with(&json),
                    serde_json::to_vec(&json!({"game_id": Uuid::new_v4().to_string(), "code": ARITH, "inputs": [Uuid::new_v4()]})).unwrap(),
                ),
            ),
            (
                400,
                ErrorCode::BadRequest,
                "game_id",
                (
                    "POST",
                    "/v1/games".into(),
                    with(&json),
                    serde_json::to_vec(&json!({"code": ARITH, "inputs": [a]})).unwrap(),
                ),
            ),
        ];
        for (i, (status, code, needle, (method, path, headers, body))) in
            cases.into_iter().enumerate()
        {
            let party = i % n;
            let addr = cl.api[party];
            let r = blocking(move || {
                let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let body = if body.is_empty() {
                    None
                } else {
                    Some(body.as_slice())
                };
                e2e_support::http(addr, method, &path, &h, body)
            })
            .await
            .unwrap();
            assert_eq!(r.status, status, "case {i} on party {party}: {}", r.text());
            let e = r.api_error();
            assert_eq!(e.code, code, "case {i}: {e:?}");
            assert_eq!(e.party, Some(party), "case {i}: {e:?}");
            assert!(
                !e.message.is_empty() && e.message.contains(needle),
                "case {i}: {e:?}"
            );
        }

        // Nothing changed: the same secrets, no tuple consumed, and everything still works.
        assert_eq!(ids_on_every_party(&cl).await, before_ids);
        assert_eq!(consumed(&c.tuple_stats().await.unwrap()), before_tuples);
        assert_eq!(c.get_secret_i128(a).await.unwrap(), vec![3, 4]);
        let r = c
            .execute(activation(ARITH, vec![a], OutputKind::Plaintext))
            .await
            .unwrap();
        assert_eq!(r.values_i128().unwrap(), vec![7, 12, -1]);
    }
}

// ---- 9. who may read and use a secret -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_read_by_their_owner_and_used_only_by_authorised_programs() {
    let n = 2;
    let cl = Cluster::start(
        n,
        Options {
            second_client: Some(("bob", "bob-token-0123456789abcdef")),
            ..Options::default()
        },
    );
    let alice = cl.client();
    let bob = cl.client_with_token("bob-token-0123456789abcdef");
    let a = alice.create_secret_i128(&[20, 22], vec![]).await.unwrap();
    // Alice deploys the arithmetic as a function on every party.
    let f = alice.deploy_function("arith", ARITH, vec![]).await.unwrap();
    assert_eq!(f.version, 1);
    let by_name = |who: &str| Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        function: Some(who.into()),
        inputs: vec![a],
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    };

    // Bob can neither read Alice's secret nor use it.
    let e = bob.get_secret(a).await.unwrap_err();
    assert!(
        matches!(code_of(&e), ErrorCode::Forbidden | ErrorCode::NotFound),
        "{e}"
    );
    let e = bob.execute(by_name("arith")).await.unwrap_err();
    assert_eq!(code_of(&e), ErrorCode::Forbidden, "{e}");
    assert!(e.to_string().contains(&f.program_hash), "{e}");

    // Alice authorises the deployed program's hash: Bob may run that program on the secret, and
    // only that one.
    alice
        .set_tag(a, Tag::string("authorizedPrograms", f.program_hash.clone()))
        .await
        .unwrap();
    let r = bob.execute(by_name("arith")).await.unwrap();
    assert_eq!(r.values_i128().unwrap(), vec![42, 440, -2]);
    let other = ARITH.replace("a * b", "a * a");
    let e = bob
        .execute(activation(&other, vec![a], OutputKind::Plaintext))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), ErrorCode::Forbidden, "{e}");
    // Still not readable by Bob, and Alice's own use is unaffected.
    assert!(bob.get_secret(a).await.is_err());
    let r = alice
        .execute(activation(&other, vec![a], OutputKind::Plaintext))
        .await
        .unwrap();
    assert_eq!(r.values_i128().unwrap(), vec![42, 400, -2]);
}

// ---- 10. `ephemeral dev`, the README's main command ------------------------------------------

/// A base port P with P, P+1 (APIs) and P+100, P+101 (gateways) free right now.
fn free_dev_ports() -> u16 {
    for _ in 0..200 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        if p > 65000 {
            continue;
        }
        let all = [p, p + 1, p + 100, p + 101]
            .iter()
            .all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok());
        if all {
            return p;
        }
    }
    panic!("no free ports for ephemeral dev");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_dev_serves_https_and_runs_the_seed_example_from_its_cloud_file() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("dev");
    let port = free_dev_ports();
    // A user's own cloud file is kept (only --overwrite-cloud-file replaces it).
    let user_cloud = home.path().join(".config/ephemeral/cloud.toml");
    std::fs::create_dir_all(user_cloud.parent().unwrap()).unwrap();
    std::fs::write(&user_cloud, "# my own cloud\n").unwrap();
    let log = std::fs::File::create(home.path().join("dev.log")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ephemeral"))
        .args([
            "dev",
            "-N",
            "2",
            "--port",
            &port.to_string(),
            "--fresh",
            "--dir",
        ])
        .arg(&dir)
        // Never touch the real user's ~/.config/ephemeral.
        .env("HOME", home.path())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn ephemeral dev");
    let logs = || std::fs::read_to_string(home.path().join("dev.log")).unwrap_or_default();
    // The cloud file dev wrote, also where the CLI looks by default.
    let cloud = dir.join("cloud.toml");
    let t = Instant::now();
    let c = loop {
        if let Ok(c) = client::Client::from_cloud_file(Some(&cloud)) {
            if let Ok(h) = c.health().await {
                if h.iter().all(|h| h.peers.iter().all(|p| p.connected)) {
                    break c;
                }
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "dev did not come up:\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        std::fs::read_to_string(&user_cloud).unwrap(),
        "# my own cloud\n",
        "dev replaced the user's cloud file"
    );
    assert!(logs().contains("was kept"), "{}", logs());
    let text = std::fs::read_to_string(&cloud).unwrap();
    assert!(
        text.contains("https://127.0.0.1:") && text.contains("ca_cert"),
        "{text}"
    );
    // Secure by default: MASCOT, and it says so.
    assert!(
        logs().contains("tuples: MASCOT (maliciously secure)"),
        "dev must say which generator it uses:\n{}",
        logs()
    );
    assert!(!logs().contains("INSECURE dealer"), "{}", logs());
    assert_the_seed_example_runs(&c).await;
    // Plain HTTP to an API port gets no HTTP answer.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let plain = blocking(move || e2e_support::http(addr, "GET", "/v1/health", &[], None)).await;
    assert!(plain.is_err() || plain.unwrap().status != 200);
    // One Ctrl-C stops every party.
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("dev did not stop on SIGINT:\n{}", logs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
