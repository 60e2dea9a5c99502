//! Liveness with real node processes (three parties, insecure dealer):
//! 1. one client sends 1,000 joint requests to ONE party only (the others never join, so every
//!    request waits for them): reads on that party stay fast, and no waiting request holds a
//!    thread (the node's thread count, from `/proc/<pid>/status`, and its
//!    `ephemeral_sessions{phase}` gauge);
//! 2. a game that fails at one party for a reason of its own (it lacks the private input the
//!    program reads from it) fails on every other party within 2 s, naming that party, although
//!    the receive deadline is 30 s: the failing party aborts the session on the gateway.
//!
//! Both print what they measured.

mod e2e_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use api::{Activation, OutputKind, OutputSpec};
use e2e_support::{blocking, http, Cluster, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// The node process's thread count (`Threads:` of `/proc/<pid>/status`).
fn threads_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a Threads: line")
}

/// `ephemeral_sessions{phase="<phase>"}` of party i's `/metrics`.
async fn sessions(cl: &Cluster, i: usize, phase: &str) -> u64 {
    let r = cl.get(i, "/metrics").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let key = format!("ephemeral_sessions{{phase=\"{phase}\"}} ");
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /metrics"))
}

/// One authenticated HTTP/1.1 POST on a tokio socket (no thread per request): the status and body.
async fn post(addr: SocketAddr, token: &str, path: &str, body: Vec<u8>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&body).await.expect("write");
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw).await {
        if raw.is_empty() {
            return (0, format!("read failed: {e}"));
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Time of one authenticated `GET /v1/secrets` to `addr`, checked to answer 200.
fn timed_list(addr: SocketAddr, token: &str) -> Duration {
    let auth = format!("Bearer {token}");
    let t = Instant::now();
    let r = http(
        addr,
        "GET",
        api::paths::SECRETS,
        &[("Authorization", auth.as_str())],
        None,
    )
    .expect("GET /v1/secrets");
    let took = t.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    took
}

const REQUESTS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_waiting_joint_requests_hold_no_thread_and_reads_stay_fast() {
    // Join deadline 20 s (a follower waits join + receive = 40 s for party 0): long enough for
    // every request to be waiting while we measure. Limits high enough to admit them all.
    // Started on this (the test's) thread: the nodes die with the thread that spawned them.
    let cl = {
        Cluster::start(
            3,
            Options {
                deadline_secs: Some(20),
                extra_config: Some(
                    "[limits]\nmax_joint_requests = 2000\nmax_joint_requests_per_user = 2000\nmax_concurrent_requests = 4096\n"
                        .into(),
                ),
                ..Options::default()
            },
        )
    };
    let target = 1;
    let addr = cl.api[target];
    let pid = cl.pid(target).expect("party is running");
    let token = cl.token.clone();
    // Warm up the read path, then the baseline.
    for _ in 0..3 {
        let t = token.clone();
        blocking(move || timed_list(addr, &t)).await;
    }
    let threads_before = threads_of(pid);
    let base = {
        let t = token.clone();
        blocking(move || timed_list(addr, &t)).await
    };

    let started = Instant::now();
    let mut pending = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let body = serde_json::to_vec(&api::MaskRequest {
            request_id: Uuid::new_v4(),
            count: 1,
        })
        .unwrap();
        let token = token.clone();
        pending.push(tokio::spawn(async move {
            post(addr, &token, api::paths::INPUT_MASKS, body).await
        }));
        // Paced a little, so that the connections do not overflow the listen backlog; the
        // requests are all in flight together all the same (each waits 20 s and more).
        if pending.len() % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Every request waits for the parties.
    let mut joining = 0;
    while started.elapsed() < Duration::from_secs(15) {
        joining = sessions(&cl, target, "joining").await;
        if joining as usize >= REQUESTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_waiting_after = started.elapsed();
    if joining as usize != REQUESTS {
        let mut early = Vec::new();
        for p in pending.iter_mut().filter(|p| p.is_finished()).take(3) {
            early.push(p.await.unwrap());
        }
        let done = pending.iter().filter(|p| p.is_finished()).count();
        eprintln!("liveness: {done} requests already answered, e.g. {early:?}");
    }
    assert_eq!(
        joining as usize,
        REQUESTS,
        "not every request was waiting after {all_waiting_after:?}\n{}",
        cl.logs()
    );
    // Meanwhile: reads are fast, and the waits hold no thread.
    let mut reads = Vec::new();
    for _ in 0..20 {
        let t = token.clone();
        reads.push(blocking(move || timed_list(addr, &t)).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let threads_during = threads_of(pid);
    let running = sessions(&cl, target, "running").await;
    let still_joining = sessions(&cl, target, "joining").await;
    let slowest = *reads.iter().max().unwrap();
    let mean = reads.iter().sum::<Duration>() / reads.len() as u32;
    eprintln!(
        "liveness: {REQUESTS} joint requests to party {target} only, all waiting after {all_waiting_after:?}; \
         GET /v1/secrets: baseline {base:?}, during mean {mean:?}, slowest of {} {slowest:?}; \
         node threads before {threads_before}, during {threads_during}; \
         sessions joining {still_joining}, running {running}",
        reads.len()
    );
    assert!(
        slowest < Duration::from_millis(100),
        "GET /v1/secrets took {slowest:?} while {REQUESTS} joint requests waited"
    );
    assert_eq!(running, 0, "a waiting request counts as running");
    assert_eq!(still_joining as usize, REQUESTS);
    // Each request's short store transactions (its epoch) run on the blocking pool, which grows
    // a little under a burst and keeps idle threads for a while; a request holding a thread
    // while it waits would add one per request.
    assert!(
        threads_during < threads_before + REQUESTS as u64 / 5,
        "the node went from {threads_before} to {threads_during} threads: waiting requests hold threads"
    );

    // Every request ends when its wait does: 503 naming a party that never joined.
    let mut answers = std::collections::BTreeMap::new();
    let mut odd = Vec::new();
    for p in pending {
        let (status, body) = p.await.unwrap();
        if status != 503 || !body.contains("party 0") {
            odd.push(format!("{status}: {body}"));
        }
        *answers.entry(status).or_insert(0) += 1;
    }
    eprintln!(
        "liveness: every request answered after {:?}: {answers:?}",
        started.elapsed()
    );
    assert!(
        odd.is_empty(),
        "{} unexpected answers, e.g. {:?}",
        odd.len(),
        &odd[..odd.len().min(3)]
    );
    assert_eq!(sessions(&cl, target, "joining").await, 0);
}

/// Needs party 1's private input; parties 0 and 2 then wait for party 1's masked input.
const INPUT_FROM_1: &str = "x = sint.get_input_from(1)\nprint_ln('%s', x.reveal())\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_failing_at_one_party_fails_on_every_party_within_two_seconds() {
    // Started on this (the test's) thread: the nodes die with the thread that spawned them.
    let cl = Cluster::start(
        3,
        Options {
            deadline_secs: Some(30),
            ..Options::default()
        },
    );
    let c = cl.client();
    // A working game first: the cluster is up and the program is compiled everywhere.
    let ok = Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(INPUT_FROM_1.into()),
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    };
    let r = c
        .execute_with_private_inputs(ok, vec![None, Some("7".into()), None])
        .await
        .unwrap();
    assert!(r.printed.contains('7'), "{r:?}");

    let mut latencies = Vec::new();
    for round in 0..3 {
        let game = Uuid::new_v4().to_string();
        let t = Instant::now();
        let mut answers = Vec::new();
        for i in 0..3 {
            let act = Activation {
                game_id: Some(game.clone()),
                code: Some(INPUT_FROM_1.into()),
                output: OutputSpec {
                    kind: OutputKind::Plaintext,
                    tags: vec![],
                },
                // Party 1 gets none: its run fails at its first private read, only there.
                private_input: (i != 1).then(|| "7".to_string()),
                ..Activation::default()
            };
            let body = serde_json::to_vec(&act).unwrap();
            let (addr, token) = (cl.api[i], cl.token.clone());
            answers.push(tokio::spawn(async move {
                let r = post(addr, &token, api::paths::GAMES, body).await;
                (r, Instant::now())
            }));
        }
        let mut took = Vec::new();
        for (i, a) in answers.into_iter().enumerate() {
            let ((status, body), at) = a.await.unwrap();
            let after = at.duration_since(t);
            took.push(after);
            assert_ne!(
                status, 200,
                "party {i} answered 200 for a failed game: {body}"
            );
            if i == 1 {
                assert!(body.contains("private input"), "party 1: {body}");
            } else {
                assert!(
                    body.contains("party 1") && body.contains("aborted"),
                    "party {i} does not name party 1 as the one that failed: {status} {body}"
                );
            }
            eprintln!("abort round {round}: party {i} answered {status} after {after:?}: {body}");
        }
        let slowest = *took.iter().max().unwrap();
        assert!(
            slowest < Duration::from_secs(2),
            "a party answered only after {slowest:?} (receive deadline 30 s)\n{}",
            cl.logs()
        );
        latencies.push(slowest);
    }
    eprintln!("abort: slowest party per round {latencies:?} (receive deadline 30 s)");
    // The cloud still works.
    let ok = Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(INPUT_FROM_1.into()),
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    };
    let r = c
        .execute_with_private_inputs(ok, vec![None, Some("9".into()), None])
        .await
        .unwrap();
    assert!(r.printed.contains('9'), "{r:?}");
}
