//! End to end on MASCOT tuples: node processes on loopback (N = 2 and N = 3) whose tuple stores
//! are fed by the maliciously secure MASCOT generator (no insecure setting anywhere), running the
//! seed example on uploaded secrets and the comparison programs of the dialect corpus
//! (`crates/vm/tests/corpus`), whose outputs must equal the corpus's expected ones.

mod e2e_support;

use std::path::{Path, PathBuf};

use api::{Activation, OutputKind, OutputSpec};
use e2e_support::{Cluster, Options};
use uuid::Uuid;

/// The comparison programs of the corpus.
const COMPARISONS: &[&str] = &[
    "compare",
    "compare_chain",
    "vector_compare",
    "millionaires",
    "secret_select",
    "sort",
];

fn corpus(name: &str, ext: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vm/tests/corpus")
        .join(format!("{name}.{ext}"))
}

fn read(name: &str, ext: &str) -> Option<String> {
    std::fs::read_to_string(corpus(name, ext)).ok()
}

fn activation(code: String, inputs: Vec<Uuid>) -> Activation {
    Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(code),
        inputs,
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mascot_tuples_run_the_seed_example_and_the_corpus_comparisons() {
    for n in [2, 3] {
        let cl = Cluster::start(
            n,
            Options {
                mascot: true,
                ..Options::default()
            },
        );
        let c = cl.client();
        let started = std::time::Instant::now();

        // The seed example on two uploaded secrets (uploads consume MASCOT triples too).
        let x = c.create_secret_i128(&[42], vec![]).await.unwrap();
        let y = c.create_secret_i128(&[17], vec![]).await.unwrap();
        let seed = std::fs::read_to_string(e2e_support::example("seed.mpc")).unwrap();
        let r = c
            .execute(activation(seed, vec![x, y]))
            .await
            .unwrap_or_else(|e| panic!("N = {n}, seed example: {e}\n{}", cl.logs()));
        assert_eq!(r.values_i128().unwrap(), vec![59], "N = {n}");

        for name in COMPARISONS {
            let code = read(name, "mpc").unwrap_or_else(|| panic!("corpus program {name}"));
            let expected = read(name, &format!("out{n}"))
                .or_else(|| read(name, "out"))
                .unwrap_or_else(|| panic!("expected output of {name}"));
            let mut act = activation(code, vec![]);
            act.public_input = read(name, "pub");
            let private: Vec<Option<String>> =
                (0..n).map(|p| read(name, &format!("in{p}"))).collect();
            let r = c
                .execute_with_private_inputs(act, private)
                .await
                .unwrap_or_else(|e| panic!("N = {n}, {name}: {e}\n{}", cl.logs()));
            assert_eq!(r.printed, expected, "N = {n}, {name}");
        }

        // Every tuple came from MASCOT, and every party consumed the same ones. The comparisons
        // ran on the mixed-circuit kernels: binary triples and wide edaBits were consumed.
        let stats = c.tuple_stats().await.unwrap();
        for s in &stats {
            assert_eq!(s.generator, "mascot", "party {}", s.party);
            assert!(s.tuples_generated > 0, "party {}: {s:?}", s.party);
        }
        let consumed = e2e_support::consumed(&stats);
        assert!(consumed.iter().all(|p| p == &consumed[0]), "{consumed:?}");
        assert!(
            binary_consumed(&stats[0], "bit-triple") > 0
                && binary_consumed(&stats[0], "wide-edabit-") > 0,
            "N = {n}: the comparisons did not run on binary tuples: {consumed:?}"
        );
        eprintln!(
            "N = {n}: seed example and {} comparison programs on MASCOT tuples in {:?}",
            COMPARISONS.len(),
            started.elapsed()
        );
    }
}

/// Tuples of the binary kinds whose label starts with `prefix` consumed on one party.
fn binary_consumed(s: &api::TupleStatsResponse, prefix: &str) -> u64 {
    s.kinds
        .iter()
        .filter(|k| k.kind.starts_with(prefix))
        .map(|k| k.consumed)
        .sum()
}

/// (label, available, consumed) of every binary kind on one party.
fn binary_kinds(s: &api::TupleStatsResponse) -> Vec<(String, u64, u64)> {
    s.kinds
        .iter()
        .filter(|k| {
            ["bit-triple", "dabit", "edabit-", "wide-edabit-"]
                .iter()
                .any(|p| k.kind.starts_with(p))
        })
        .map(|k| (k.kind.clone(), k.available, k.consumed))
        .collect()
}

/// Comparisons on a MASCOT cloud of node processes (N = 2, 3) run on binary tuples that the
/// nodes made, stored and reserved: the results are right, every party consumed the same binary
/// tuples; after every party restarts, the next game consumes further ones (the consumed
/// counters only grow, by exactly the game's needs: nothing reserved before the restart comes
/// back); a rekey discards every binary tuple (and the binary key share with them), and the
/// next game makes fresh ones under a fresh key and is right again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_tuples_survive_restarts_unreused_and_a_rekey_discards_them() {
    for n in [2, 3] {
        let mut cl = Cluster::start(
            n,
            Options {
                mascot: true,
                ..Options::default()
            },
        );
        let c = cl.client();
        let code = "n = 50\n\
                    a = sint.Array(n)\n\
                    @for_range(n)\n\
                    def _(i):\n    a[i] = sint(i) - 25\n\
                    print_ln('%s', sum((a[:] < 3).reveal()))\n"
            .to_string();
        let run = |c: client::Client, code: String| async move {
            c.execute(activation(code, vec![])).await
        };
        let r = run(c.clone(), code.clone())
            .await
            .unwrap_or_else(|e| panic!("N = {n}: {e}\n{}", cl.logs()));
        assert_eq!(r.printed.trim(), "28", "N = {n}");
        let first: Vec<Vec<(String, u64, u64)>> = c
            .tuple_stats()
            .await
            .unwrap()
            .iter()
            .map(binary_kinds)
            .collect();
        assert!(first.iter().all(|p| p == &first[0]), "N = {n}: {first:?}");
        let need: Vec<(String, u64)> = first[0]
            .iter()
            .map(|(k, _, consumed)| (k.clone(), *consumed))
            .collect();
        assert!(
            need.iter().any(|(k, c)| k == "bit-triple" && *c > 0),
            "N = {n}: {need:?}"
        );

        // Every party restarts; the next game's reservations start past everything consumed.
        for i in 0..n {
            cl.restart(i);
        }
        cl.wait_healthy();
        let r = run(c.clone(), code.clone())
            .await
            .unwrap_or_else(|e| panic!("N = {n}, after restarts: {e}\n{}", cl.logs()));
        assert_eq!(r.printed.trim(), "28", "N = {n}");
        let stats = c.tuple_stats().await.unwrap();
        for s in &stats {
            for (kind, consumed) in &need {
                let now = s
                    .kinds
                    .iter()
                    .find(|k| &k.kind == kind)
                    .map(|k| k.consumed)
                    .unwrap();
                assert_eq!(now, 2 * consumed, "N = {n}, party {}, {kind}", s.party);
            }
        }
        let consumed = e2e_support::consumed(&stats);
        assert!(consumed.iter().all(|p| p == &consumed[0]), "{consumed:?}");

        // A rekey discards every binary tuple; the next game makes new ones and is right.
        let r = c
            .rekey()
            .await
            .unwrap_or_else(|e| panic!("N = {n}, rekey: {e}\n{}", cl.logs()));
        assert!(r.iter().all(|p| p.key_generation == 1), "{r:?}");
        let after: Vec<Vec<(String, u64, u64)>> = c
            .tuple_stats()
            .await
            .unwrap()
            .iter()
            .map(binary_kinds)
            .collect();
        for p in &after {
            assert!(
                p.iter().all(|(_, available, _)| *available == 0),
                "N = {n}: binary tuples survived the rekey: {after:?}"
            );
        }
        let r = run(c.clone(), code.clone())
            .await
            .unwrap_or_else(|e| panic!("N = {n}, after the rekey: {e}\n{}", cl.logs()));
        assert_eq!(r.printed.trim(), "28", "N = {n}");
        let stats = c.tuple_stats().await.unwrap();
        for (kind, consumed) in &need {
            let now = binary_kinds(&stats[0])
                .into_iter()
                .find(|(k, _, _)| k == kind)
                .map(|(_, _, c)| c);
            assert_eq!(now, Some(3 * consumed), "N = {n}, {kind} after the rekey");
        }
        let consumed = e2e_support::consumed(&stats);
        assert!(consumed.iter().all(|p| p == &consumed[0]), "{consumed:?}");
    }
}

/// The selective-failure attack on the MAC key (issue 9, item 1), with node processes (N = 2, 3): party 1
/// adds an error to one COPE column of every MASCOT job, probing one bit of party 0's key share
/// per job. The first job that fails the check halts generation durably on every honest party: no
/// second job runs after it, and health, metrics and `tuples stats` say so, naming the step;
/// restarting keeps the halt. After `rekey` every stored secret still downloads with its old
/// value, generation resumes and new games run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cope_attack_halts_generation_until_a_rekey() {
    for n in [2, 3] {
        cope_attack_and_rekey(n).await;
    }
}

async fn cope_attack_and_rekey(n: usize) {
    let mut cl = Cluster::start(
        n,
        Options {
            mascot: true,
            ..Options::default()
        },
    );
    let c = cl.client();
    let x = c.create_secret_i128(&[42], vec![]).await.unwrap();
    let y = c.create_secret_i128(&[-17], vec![]).await.unwrap();

    // Party 1 turns attacker; every other party is honest and must halt.
    cl.set_tamper(Some((1, "cope")));
    cl.restart(1);
    cl.wait_healthy();
    let honest: Vec<usize> = (0..n).filter(|&i| i != 1).collect();
    let t = std::time::Instant::now();
    // Each job probes one digit of α_0 (a COPE column) and fails unless that digit is 0 (with
    // probability 1 − 2^−k); once the pools are full no
    // job runs. A game that needs more triples than the pools hold makes party 0 run more jobs,
    // so the attack goes on until it is caught (the game itself may fail, which is expected).
    let drain = "n = 3000\n\
                 a = sint.Array(n)\n\
                 @for_range(n)\n\
                 def _(i):\n    a[i] = sint(i)\n\
                 print_ln('%s', sum((a[:] * a[:]).reveal()))\n";
    let mut next_drain = std::time::Instant::now() + std::time::Duration::from_secs(2);
    for &i in &honest {
        let halted = loop {
            let h = cl.health(i).unwrap();
            if let Some(halt) = h.generation_halt {
                assert_eq!(h.status, "halted");
                break halt;
            }
            if std::time::Instant::now() > next_drain {
                let _ = c.execute(activation(drain.to_string(), vec![])).await;
                next_drain = std::time::Instant::now() + std::time::Duration::from_secs(1);
            }
            assert!(
                t.elapsed() < std::time::Duration::from_secs(120),
                "N = {n}: party {i} did not halt: {h:?}\n{}",
                cl.logs()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(
            halted.step, "authentication",
            "N = {n}, party {i}: {halted:?}"
        );
        assert!(halted.failures >= 1);
    }

    // No job runs any more: the counters stay, for several pool-keeper periods.
    let jobs = |stats: &[api::TupleStatsResponse]| -> Vec<u64> {
        stats.iter().map(|s| s.jobs_completed).collect()
    };
    let before = jobs(&c.tuple_stats().await.unwrap());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let stats = c.tuple_stats().await.unwrap();
    assert_eq!(jobs(&stats), before, "N = {n}: a job ran after the halt");
    assert!(stats[0].halt.is_some(), "{:?}", stats[0]);
    let metrics = cl.get(0, "/metrics").await.text();
    assert!(
        metrics.contains("ephemeral_generation_halted 1"),
        "{metrics}"
    );
    assert!(cl.log_tail(0, 200_000).contains("TUPLE GENERATION HALTED"));

    // The attacker goes away; the honest parties stay halted across their restarts.
    cl.set_tamper(None);
    for i in 0..n {
        cl.restart(i);
    }
    cl.wait_healthy();
    for &i in &honest {
        let h = cl.health(i).unwrap();
        assert_eq!(h.status, "halted", "N = {n}: {h:?}");
    }

    // The operators' way back.
    let r = c
        .rekey()
        .await
        .unwrap_or_else(|e| panic!("N = {n}, rekey: {e}\n{}", cl.logs()));
    assert!(
        r.iter().all(|p| p.secrets == 2 && p.key_generation == 1),
        "{r:?}"
    );
    for i in 0..n {
        let h = cl.health(i).unwrap();
        assert_eq!(h.status, "ok", "{h:?}");
        assert!(h.generation_halt.is_none());
    }
    assert_eq!(c.get_secret_i128(x).await.unwrap(), vec![42]);
    assert_eq!(c.get_secret_i128(y).await.unwrap(), vec![-17]);
    let seed = std::fs::read_to_string(e2e_support::example("seed.mpc")).unwrap();
    let r = c
        .execute(activation(seed, vec![x, y]))
        .await
        .unwrap_or_else(|e| panic!("N = {n}, seed example after the rekey: {e}\n{}", cl.logs()));
    assert_eq!(r.values_i128().unwrap(), vec![25]);
    let stats = c.tuple_stats().await.unwrap();
    assert!(stats.iter().all(|s| s.halt.is_none()));
}

/// A game that needs far more tuples than the pools hold (N = 3, 300 comparisons: about 60 000
/// triples and bits against pools of 3 000) waits while party 0 generates them, and never times
/// out for it: the test nodes' join and receive deadlines are 5 s, well below the wait. While it
/// waits, every party reports the same progress (needed, made) in the game's status; afterwards
/// the result is right and every party consumed the same tuples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_waits_for_its_tuples_with_progress_on_every_party() {
    let n = 3;
    let cl = Cluster::start(
        n,
        Options {
            mascot: true,
            ..Options::default()
        },
    );
    let c = cl.client();
    let code = "n = 300\n\
                a = sint.Array(n)\n\
                @for_range(n)\n\
                def _(i):\n    a[i] = sint(i) - 100\n\
                print_ln('%s', sum((a[:] < 37).reveal()))\n"
        .to_string();
    let act = activation(code, vec![]);
    let game = act.game_id.clone().unwrap();
    let started = std::time::Instant::now();
    let run = tokio::spawn({
        let c = c.clone();
        async move { c.execute(act).await }
    });
    // Follow the game on every party while it waits.
    let mut seen: Vec<Option<api::PrepProgress>> = vec![None; n];
    while !run.is_finished() {
        for (p, slot) in seen.iter_mut().enumerate() {
            if let Ok(s) = c.game_status_on(p, &game).await {
                if s.status == api::GameStatus::WaitingForTuples {
                    let prog = s
                        .preprocessing
                        .expect("a waiting game reports its progress");
                    assert!(prog.made <= prog.needed, "{prog:?}");
                    *slot = Some(prog);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = run
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the waiting game failed: {e}\n{}", cl.logs()));
    let waited = started.elapsed();
    // i − 100 < 37 for i < 137.
    assert_eq!(r.printed.trim(), "137");
    assert!(
        waited > std::time::Duration::from_secs(e2e_support::DEADLINE_SECS),
        "the game should have waited longer than a receive deadline ({waited:?}); grow it"
    );
    let needed: Vec<u64> = seen
        .iter()
        .map(|s| s.as_ref().expect("every party reported waiting").needed)
        .collect();
    assert!(needed[0] > 10_000, "{needed:?}");
    assert!(needed.iter().all(|&x| x == needed[0]), "{needed:?}");
    // The final summary keeps the last report; all of it was made.
    for p in 0..n {
        let s = c.game_status_on(p, &game).await.unwrap();
        assert_eq!(s.status, api::GameStatus::Succeeded, "party {p}");
        let last = s.preprocessing.expect("the wait is remembered");
        assert_eq!(last.made, last.needed, "party {p}: {last:?}");
    }
    let stats = c.tuple_stats().await.unwrap();
    let consumed = e2e_support::consumed(&stats);
    assert!(consumed.iter().all(|p| p == &consumed[0]), "{consumed:?}");
    eprintln!(
        "N = 3: a game waiting for {} tuples took {waited:?}",
        needed[0]
    );
}
