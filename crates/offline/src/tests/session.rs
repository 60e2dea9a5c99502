//! Session binding (a run's messages are bound to its session id) and the insecure cheat that
//! the node's tests use ([`crate::InsecureCheat`]).

use std::sync::Arc;

use super::*;
use crate::InsecureCheat;

/// Setup then `job` on every party with its own config and MAC key share.
fn run_each<T: Send + 'static>(
    setups: Vec<(MascotConfig, Option<Fp>)>,
    job: Arc<Job<T>>,
) -> Vec<(Fp, Result<T>)> {
    run_parties(setups, None, job)
}

fn triples_job() -> Arc<Job<protocol::prep::Triples>> {
    Arc::new(|m: &mut Mascot, net: &mut Network| m.triples(net, 4))
}

#[test]
fn parties_with_different_session_ids_fail_cleanly_at_setup() {
    let a = MascotConfig {
        session: [1u8; 32],
        ..small(4)
    };
    let b = MascotConfig {
        session: [2u8; 32],
        ..small(4)
    };
    let errs = errors(run_each(vec![(a, None), (b, None)], triples_job()));
    assert_eq!(errs[0], OfflineError::ConfigMismatch { party: 1 });
    assert_eq!(errs[1], OfflineError::ConfigMismatch { party: 0 });
    for e in &errs {
        assert!(e.is_check_failure());
        assert_eq!(e.step(), "config");
    }
}

#[test]
fn parties_with_the_same_session_id_make_correct_triples() {
    let cfg = MascotConfig {
        session: [7u8; 32],
        ..small(4)
    };
    let (alpha, out) = unwrap_all(run_each(vec![(cfg, None), (cfg, None)], triples_job()));
    let a = open_all(&[&out[0].a, &out[1].a], alpha);
    let b = open_all(&[&out[0].b, &out[1].b], alpha);
    let c = open_all(&[&out[0].c, &out[1].c], alpha);
    for k in 0..4 {
        assert_eq!(a[k] * b[k], c[k]);
    }
}

#[test]
fn session_for_channel_is_deterministic_and_distinct_per_channel() {
    let s = MascotConfig::session_for_channel([3u8; 16]);
    assert_eq!(s, MascotConfig::session_for_channel([3u8; 16]));
    assert_ne!(s, MascotConfig::session_for_channel([4u8; 16]));
    assert_ne!(s, [0u8; 32]);
    assert_eq!(MascotConfig::with_session(s).session, s);
}

#[test]
fn a_network_without_a_channel_id_has_no_derived_session() {
    let net = net::in_process(2, quick_net()).pop().unwrap();
    assert!(matches!(
        MascotConfig::for_channel(&net),
        Err(OfflineError::InvalidArgument(_))
    ));
}

/// With [`InsecureCheat::CopeColumnError`] at party 1, a run aborts exactly when digit
/// [`crate::INSECURE_CHEAT_COLUMN`] (base 2^k, k = 128 / [`crate::COPE_COLUMNS`]) of the honest
/// party's α_0 is not 0 (the selective failure), with a check failure at the honest party;
/// otherwise it completes with correct triples. Party 0's α_0 = i in run i; column 0's digit is
/// i mod 2^k, so 16 − 16/2^k of the 16 runs abort, deterministically.
#[test]
fn the_insecure_cope_column_error_aborts_when_the_honest_key_digit_is_not_zero() {
    let cheat = MascotConfig {
        insecure_cheat: Some(InsecureCheat::CopeColumnError {
            column: crate::INSECURE_CHEAT_COLUMN,
        }),
        ..small(4)
    };
    let mut aborted = 0;
    for i in 0..16u64 {
        let alpha0 = Fp::from_u64(i);
        let res = run_each(vec![(small(4), Some(alpha0)), (cheat, None)], triples_job());
        let k = 128 / crate::COPE_COLUMNS;
        let bit = (alpha0.to_u128() >> (k * crate::INSECURE_CHEAT_COLUMN)) & ((1 << k) - 1) != 0;
        match &res[0].1 {
            Err(e) => {
                assert!(bit, "run {i}: aborted although the key digit is 0: {e}");
                assert!(e.is_check_failure(), "run {i}: {e}");
                assert_eq!(*e, OfflineError::AuthenticationFailed, "run {i}");
                assert!(res[1].1.is_err(), "run {i}: the cheater completed alone");
                aborted += 1;
            }
            Ok(_) => {
                assert!(!bit, "run {i}: completed although the key digit is not 0");
                // Nothing changed: the triples are correct under α.
                let (alpha, out) = unwrap_all(res);
                let a = open_all(&[&out[0].a, &out[1].a], alpha);
                let b = open_all(&[&out[0].b, &out[1].b], alpha);
                let c = open_all(&[&out[0].c, &out[1].c], alpha);
                for k in 0..4 {
                    assert_eq!(a[k] * b[k], c[k], "run {i}");
                }
            }
        }
    }
    let k = 128 / crate::COPE_COLUMNS;
    assert_eq!(aborted, 16 - 16 / (1 << k));
}

/// A party whose COPE trees fail their consistency proof is named by the honest party's setup
/// (`OtCheckFailed`, a check failure, so a node halts generation), and the cheater stops on the
/// honest party's abort: neither outputs anything.
#[test]
fn tampered_cope_trees_fail_setup_at_the_honest_party_and_abort_both() {
    let cheat = MascotConfig {
        insecure_cheat: Some(InsecureCheat::CopeTrees),
        ..small(4)
    };
    let errs = errors(run_each(
        vec![(small(4), None), (cheat, None)],
        triples_job(),
    ));
    assert_eq!(errs[0], OfflineError::OtCheckFailed { peer: 1 });
    assert!(
        matches!(errs[1], OfflineError::PeerAborted { party: 0, .. }),
        "{:?}",
        errs[1]
    );
    assert!(errs.iter().all(|e| e.is_check_failure()), "{errs:?}");
}

/// Input masks authenticated by the cheater are caught the same way.
#[test]
fn the_insecure_cheat_also_affects_input_masks_of_the_cheater() {
    let cheat = MascotConfig {
        insecure_cheat: Some(InsecureCheat::CopeColumnError {
            column: crate::INSECURE_CHEAT_COLUMN,
        }),
        ..small(4)
    };
    let job: Arc<Job<protocol::prep::InputMasks>> =
        Arc::new(|m: &mut Mascot, net: &mut Network| m.input_masks(net, 1, 4));
    let res = run_each(
        vec![(small(4), Some(Fp::from_u64(1))), (cheat, None)],
        job.clone(),
    );
    assert_eq!(
        res[0].1.as_ref().unwrap_err(),
        &OfflineError::AuthenticationFailed
    );
    // Digit 0 of α_0 = 2^k is 0: the error goes unnoticed and the masks are correct.
    let k = 128 / crate::COPE_COLUMNS;
    let res = run_each(
        vec![(small(4), Some(Fp::from_u64(1 << k))), (cheat, None)],
        job,
    );
    let (alpha, out) = unwrap_all(res);
    open_all(&[&out[0].shares, &out[1].shares], alpha);
}
