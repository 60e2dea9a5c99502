use std::time::{Duration, Instant};

use field::Fp;

use super::harness::*;
use crate::engine::{Cheat, EngineConfig};
use crate::error::ProtocolError;
use crate::nonlinear::NonLinear;

/// Runs a product-and-reveal where party `cheater` misbehaves; returns every party's outcome.
fn run_with_cheat(
    n: usize,
    t: Transport,
    cheater: usize,
    cheat: Cheat,
) -> Vec<crate::Result<Vec<Fp>>> {
    run_with(n, t, net_config(), EngineConfig::default(), move |me, e| {
        if me == cheater {
            e.cheat = Some(cheat);
        }
        let x = input_from(e, 0, &fps(&[6, 7]))?;
        let y = input_from(e, 1, &fps(&[-2, 3]))?;
        let z = e.mul(&x, &y)?;
        e.reveal(&z)
    })
}

fn assert_all_failed(results: &[crate::Result<Vec<Fp>>], expect: fn(&ProtocolError) -> bool) {
    for (p, r) in results.iter().enumerate() {
        match r {
            Ok(v) => panic!("party {p} revealed {v:?} despite cheating"),
            Err(e) => assert!(expect(e), "party {p}: unexpected error {e}"),
        }
    }
}

#[test]
fn tampered_opened_share_fails_the_mac_check() {
    for t in [Transport::Channels, Transport::Tls] {
        for n in [2, 3, 5] {
            for cheater in [0, n - 1] {
                let res = run_with_cheat(n, t, cheater, Cheat::AddToOpenedShare);
                assert_all_failed(&res, |e| matches!(e, ProtocolError::MacCheckFailed));
            }
        }
    }
}

#[test]
fn lying_about_sigma_fails_the_mac_check() {
    for (n, t) in [
        (2, Transport::Channels),
        (3, Transport::Tls),
        (5, Transport::Channels),
    ] {
        let res = run_with_cheat(n, t, 1, Cheat::LieAboutSigma);
        assert_all_failed(&res, |e| matches!(e, ProtocolError::MacCheckFailed));
    }
}

#[test]
fn inconsistent_input_broadcast_is_caught() {
    for (n, t) in [
        (3, Transport::Channels),
        (5, Transport::Channels),
        (3, Transport::Tls),
    ] {
        // Party 0 is the input party of x and cheats during its broadcast.
        let res = run_with_cheat(n, t, 0, Cheat::SplitInputBroadcast);
        assert_all_failed(&res, |e| {
            matches!(e, ProtocolError::BroadcastInconsistent { .. })
        });
    }
}

#[test]
fn tampering_inside_a_comparison_is_caught_before_reveal() {
    let res = run_with(
        3,
        Transport::Channels,
        net_config(),
        EngineConfig::default(),
        |me, e| {
            let x = input_from(e, 0, &fps(&[5, -5]))?;
            if me == 2 {
                e.cheat = Some(Cheat::AddToOpenedShare);
            }
            let c = e.ltz(&x, 64)?;
            e.reveal(&c)
        },
    );
    assert_all_failed(&res, |e| matches!(e, ProtocolError::MacCheckFailed));
}

#[test]
fn poisoned_engine_refuses_further_work() {
    let res = run_with(
        2,
        Transport::Channels,
        net_config(),
        EngineConfig::default(),
        |me, e| {
            if me == 1 {
                e.cheat = Some(Cheat::LieAboutSigma);
            }
            let x = e.constant(&[Fp::ONE]);
            let first = e.reveal(&x);
            assert!(matches!(first, Err(ProtocolError::MacCheckFailed)));
            e.reveal(&x)
        },
    );
    for r in res {
        assert!(matches!(r, Err(ProtocolError::Aborted(_))), "{r:?}");
    }
}

#[test]
fn killed_peer_ends_every_other_run_within_the_deadline() {
    for t in [Transport::Channels, Transport::Tls] {
        killed_peer(t);
    }
}

fn killed_peer(t: Transport) {
    let deadline = Duration::from_millis(500);
    let cfg = net::NetConfig {
        recv_deadline: deadline,
        ..net::NetConfig::default()
    };
    let start = Instant::now();
    let res = run_with(3, t, cfg, EngineConfig::default(), |me, e| {
        let x = input_from(e, 0, &fps(&[1, 2, 3]))?;
        if me == 2 {
            // Party 2 dies mid-protocol: its thread ends and its links close.
            return Err(ProtocolError::InvalidArgument("killed".into()));
        }
        let y = e.mul(&x, &x)?;
        e.reveal(&y)
    });
    assert!(
        start.elapsed() < deadline * 6,
        "took {:?} over {t:?}",
        start.elapsed()
    );
    for r in &res[..2] {
        assert!(
            matches!(
                r,
                Err(ProtocolError::Net(
                    net::NetError::Disconnected { .. } | net::NetError::Timeout { .. }
                ))
            ),
            "{r:?}"
        );
    }
}

#[test]
fn silent_peer_times_out() {
    let deadline = Duration::from_millis(300);
    let cfg = net::NetConfig {
        recv_deadline: deadline,
        ..net::NetConfig::default()
    };
    let res = run_with(
        2,
        Transport::Channels,
        cfg,
        EngineConfig::default(),
        move |me, e| {
            if me == 1 {
                std::thread::sleep(deadline * 3);
                return Ok(vec![]);
            }
            let x = e.constant(&[Fp::ONE]);
            e.reveal(&x)
        },
    );
    assert!(
        matches!(
            res[0],
            Err(ProtocolError::Net(net::NetError::Timeout { peer: 1, .. }))
        ),
        "{:?}",
        res[0]
    );
}

/// Party 1 is a raw network that answers party 0's rounds with `frames`, one per round; party 0
/// runs `op` on a real engine. Returns party 0's result.
pub(super) fn against_raw_peer(
    frames: Vec<Vec<u8>>,
    op: fn(&mut TestEngine) -> crate::Result<Vec<Fp>>,
) -> crate::Result<Vec<Fp>> {
    let cfg = net::NetConfig {
        recv_deadline: Duration::from_secs(5),
        ..net::NetConfig::default()
    };
    let mut nets = net::in_process(2, cfg);
    let mut raw = nets.pop().expect("two networks");
    let honest = nets.pop().expect("two networks");
    let peer = std::thread::spawn(move || {
        for f in frames {
            if raw.recv(0).is_err() {
                return;
            }
            let _ = raw.send(0, net::Bytes::from(f));
        }
        // Stay connected until party 0 has judged the last frame.
        let _ = raw.recv(0);
    });
    let dealer = crate::prep::InsecureDealer::new(0, 2, [42; 32]);
    let mut e = crate::Engine::new(honest, dealer, EngineConfig::default());
    let r = op(&mut e);
    drop(e);
    peer.join().expect("raw peer thread");
    r
}

fn product(e: &mut TestEngine) -> crate::Result<Vec<Fp>> {
    let x = e.constant(&fps(&[2, 3]));
    let z = e.mul(&x, &x)?;
    e.reveal(&z)
}

#[test]
fn short_or_non_canonical_opening_frames_are_malformed_errors() {
    // The product opens 4 values (d and e of two elements): 64 bytes are expected.
    let short = against_raw_peer(vec![vec![0u8; 5]], product);
    assert!(
        matches!(&short, Err(ProtocolError::Malformed { peer: 1, reason }) if reason.contains("expected 4 field elements")),
        "{short:?}"
    );
    // Right length, but an element ≥ p.
    let bad = against_raw_peer(vec![vec![0xFF; 64]], product);
    assert!(
        matches!(bad, Err(ProtocolError::Malformed { peer: 1, .. })),
        "{bad:?}"
    );
}

#[test]
fn malformed_mac_check_messages_are_errors_and_reveal_nothing() {
    // Round 1 opens 1 value (16 bytes); the first check then starts with a 32-byte coin commitment.
    let reveal_one = |e: &mut TestEngine| {
        let x = e.constant(&[Fp::ONE]);
        e.reveal(&x)
    };
    let bad_commitment = against_raw_peer(vec![vec![0u8; 16], vec![1, 2, 3]], reveal_one);
    assert!(
        matches!(&bad_commitment, Err(ProtocolError::Malformed { peer: 1, reason }) if reason.contains("commitment")),
        "{bad_commitment:?}"
    );
    // A well-formed commitment whose opening does not match it.
    let mismatch = against_raw_peer(
        vec![vec![0u8; 16], vec![7u8; 32], vec![0u8; 96]],
        reveal_one,
    );
    assert!(
        matches!(
            mismatch,
            Err(ProtocolError::CommitmentMismatch { party: 1 })
        ),
        "{mismatch:?}"
    );
}
