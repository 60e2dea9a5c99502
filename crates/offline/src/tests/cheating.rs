//! Cheating makes generation abort at every honest party, with a typed error, and nothing is
//! output. Party 1 cheats; its deviations that target one peer target party 0.

use std::sync::Arc;

use bytes::Bytes;

use super::*;

/// Runs a triple batch with `cheat` at party 1 and returns every party's error.
fn cheat_triples(n: usize, cheat: Cheat) -> Vec<OfflineError> {
    errors(run(
        n,
        small(4),
        Some((1, cheat)),
        Arc::new(|m: &mut Mascot, net: &mut Network| m.triples(net, 4)),
    ))
}

/// Every honest party (all but party 1) failed with an error matching `want`.
fn honest_all(errs: &[OfflineError], want: impl Fn(&OfflineError) -> bool) {
    for (p, e) in errs.iter().enumerate() {
        if p != 1 {
            assert!(want(e), "party {p}: unexpected error {e:?}");
        }
    }
}

#[test]
fn wrong_correlation_in_the_ot_extension_fails_the_kos_check() {
    let errs = cheat_triples(2, Cheat::KosWrongCorrelation);
    assert_eq!(errs[0], OfflineError::OtCheckFailed { peer: 1 });
    let errs = cheat_triples(3, Cheat::KosWrongCorrelation);
    assert_eq!(errs[0], OfflineError::OtCheckFailed { peer: 1 });
    // Party 2 saw nothing wrong itself; party 0 told it to stop.
    assert!(
        matches!(errs[2], OfflineError::PeerAborted { party: 0, .. }),
        "{:?}",
        errs[2]
    );
}

#[test]
fn wrong_correlation_in_cope_fails_the_authentication_check() {
    for n in [2, 3] {
        let errs = cheat_triples(n, Cheat::CopeWrongCorrelation);
        honest_all(&errs, |e| *e == OfflineError::AuthenticationFailed);
    }
}

#[test]
fn wrong_gilboa_message_fails_the_sacrifice() {
    for n in [2, 3] {
        let errs = cheat_triples(n, Cheat::GilboaWrongD);
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

#[test]
fn wrong_triple_share_fails_the_sacrifice() {
    for n in [2, 3] {
        let errs = cheat_triples(n, Cheat::WrongTripleShare);
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

#[test]
fn wrong_share_in_the_sacrifice_fails_the_mac_check() {
    for n in [2, 3] {
        let errs = cheat_triples(n, Cheat::WrongSacrificeShare);
        honest_all(&errs, |e| *e == OfflineError::MacCheckFailed);
    }
}

#[test]
fn wrong_mac_fails_the_mac_check() {
    for n in [2, 3] {
        let errs = cheat_triples(n, Cheat::WrongMac);
        honest_all(&errs, |e| *e == OfflineError::MacCheckFailed);
    }
}

#[test]
fn lying_about_sigma_fails_the_mac_check() {
    let errs = cheat_triples(3, Cheat::LieAboutSigma);
    honest_all(&errs, |e| *e == OfflineError::MacCheckFailed);
}

#[test]
fn cheating_in_squares_bits_and_inverses_is_caught_too() {
    for which in 0..3 {
        let errs = errors(run(
            2,
            small(3),
            Some((1, Cheat::WrongTripleShare)),
            Arc::new(move |m: &mut Mascot, net: &mut Network| match which {
                0 => m.squares(net, 3).map(|p| p.a.len()),
                1 => m.bits(net, 3).map(|b| b.len()),
                _ => m.inverses(net, 3).map(|p| p.a.len()),
            }),
        ));
        honest_all(&errs, |e| *e == OfflineError::SacrificeFailed);
    }
}

#[test]
fn an_aborted_instance_stays_aborted() {
    let res = run(
        2,
        small(2),
        Some((1, Cheat::WrongMac)),
        Arc::new(|m: &mut Mascot, net: &mut Network| {
            let first = m.triples(net, 2).map(|_| ());
            assert!(m.is_poisoned());
            let second = m.bits(net, 2).map(|_| ());
            Ok((first, second))
        }),
    );
    for (p, (_, r)) in res.into_iter().enumerate() {
        let (first, second) = r.unwrap();
        assert!(first.is_err(), "party {p}");
        assert!(
            matches!(second, Err(OfflineError::Aborted(_))),
            "party {p}: {second:?}"
        );
    }
}

#[test]
fn different_configurations_are_refused() {
    let nets = net::in_process(2, quick_net());
    let handles: Vec<_> = nets
        .into_iter()
        .map(|mut net| {
            std::thread::spawn(move || {
                let cfg = small(4 + net.my_id());
                Mascot::setup(&mut net, None, cfg).map(|_| ())
            })
        })
        .collect();
    for h in handles {
        assert!(matches!(
            h.join().unwrap(),
            Err(OfflineError::ConfigMismatch { .. })
        ));
    }
}

#[test]
fn a_malformed_peer_frame_is_a_typed_error() {
    let mut nets = net::in_process(2, quick_net());
    let mut evil = nets.pop().unwrap();
    let mut honest = nets.pop().unwrap();
    let h = std::thread::spawn(move || Mascot::setup(&mut honest, None, small(4)).map(|_| ()));
    // A HELLO frame whose broadcast part claims 4 GiB.
    evil.send(0, Bytes::from_static(&[1, 0xff, 0xff, 0xff, 0xff]))
        .unwrap();
    let err = h.join().unwrap().unwrap_err();
    assert!(
        matches!(err, OfflineError::Malformed { peer: 1, .. }),
        "{err:?}"
    );
    // The honest party told the peer why it stopped.
    let got = evil.recv(0).unwrap();
    assert!(got.len() >= 2);
}

#[test]
fn a_silent_peer_is_a_timeout_not_a_hang() {
    let cfg = NetConfig {
        recv_deadline: Duration::from_millis(300),
        ..NetConfig::default()
    };
    let mut nets = net::in_process(2, cfg);
    let _silent = nets.pop().unwrap();
    let mut honest = nets.pop().unwrap();
    let err = Mascot::setup(&mut honest, None, small(4)).unwrap_err();
    assert!(
        matches!(
            err,
            OfflineError::Net(net::NetError::Timeout { peer: 1, .. })
        ),
        "{err:?}"
    );
}
