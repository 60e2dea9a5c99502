//! Cheating in the binary domain: a flipped opened bit or a lie in the binary half of the MAC
//! check makes every honest party fail before anything is revealed, in either domain; malformed
//! binary frames are typed errors.

use field::Fp;

use super::cheating::against_raw_peer;
use super::harness::*;
use crate::binary::BitShares;
use crate::engine::{Cheat, EngineConfig};
use crate::error::ProtocolError;
use crate::nonlinear::NonLinear;

fn assert_all_failed<T: std::fmt::Debug>(results: &[crate::Result<T>]) {
    for (p, r) in results.iter().enumerate() {
        match r {
            Ok(v) => panic!("party {p} revealed {v:?} despite cheating"),
            Err(e) => assert!(
                matches!(e, ProtocolError::MacCheckFailed),
                "party {p}: unexpected error {e}"
            ),
        }
    }
}

/// An AND whose result is revealed in the binary domain, with `cheat` at `cheater`.
fn and_then_reveal_bits(n: usize, t: Transport, cheater: usize, cheat: Cheat) {
    let res = run_with(n, t, net_config(), EngineConfig::default(), move |me, e| {
        let x = e.dabits(10)?.bin;
        let y = e.dabits(10)?.bin;
        if me == cheater {
            e.cheat = Some(cheat);
        }
        let z = e.and_bits(&x, &y)?;
        e.reveal_bits(&z)
    });
    assert_all_failed(&res);
}

#[test]
fn a_flipped_opened_bit_fails_the_check_before_the_reveal() {
    for (n, t) in [
        (2, Transport::Channels),
        (3, Transport::Channels),
        (3, Transport::Tls),
    ] {
        for cheater in [0, n - 1] {
            and_then_reveal_bits(n, t, cheater, Cheat::FlipOpenedBit);
        }
    }
}

#[test]
fn lying_about_the_binary_sigma_fails_the_check() {
    for (n, t) in [(2, Transport::Channels), (3, Transport::Tls)] {
        and_then_reveal_bits(n, t, 1, Cheat::LieAboutBinarySigma);
    }
}

#[test]
fn a_flipped_bit_is_caught_when_a_prime_field_value_is_revealed() {
    // The cheat happens in the binary domain (inside B2A); the reveal is in GF(p). The one check
    // covers both, so nothing is revealed.
    for n in [2, 3] {
        let res = run_with(
            n,
            Transport::Channels,
            net_config(),
            EngineConfig::default(),
            move |me, e| {
                let x = e.dabits(4)?.bin;
                if me == n - 1 {
                    e.cheat = Some(Cheat::FlipOpenedBit);
                }
                let a = e.b2a(&x)?;
                e.reveal(&a)
            },
        );
        assert_all_failed(&res);
    }
}

#[test]
fn tampering_inside_a_mixed_comparison_is_caught_before_reveal() {
    for n in [2, 3] {
        for cheat in [Cheat::FlipOpenedBit, Cheat::AddToOpenedShare] {
            let res = run_with(
                n,
                Transport::Channels,
                net_config(),
                EngineConfig::default(),
                move |me, e| {
                    let x = input_from(e, 0, &fps(&[5, -5, 0]))?;
                    if me == n - 1 {
                        e.cheat = Some(cheat);
                    }
                    let c = e.mixed()?.ltz(&x, 64)?;
                    let z = e.mixed()?.eqz(&x, 64)?;
                    e.reveal_many(&[&c, &z])
                },
            );
            assert_all_failed(&res);
        }
    }
}

#[test]
fn the_engine_is_poisoned_after_a_failed_binary_check() {
    let res = run_with(
        2,
        Transport::Channels,
        net_config(),
        EngineConfig::default(),
        |me, e| {
            if me == 0 {
                e.cheat = Some(Cheat::LieAboutBinarySigma);
            }
            let x = e.dabits(3)?.bin;
            let first = e.reveal_bits(&x);
            assert!(
                matches!(first, Err(ProtocolError::MacCheckFailed)),
                "{first:?}"
            );
            e.reveal_bits(&x)
        },
    );
    for r in res {
        assert!(matches!(r, Err(ProtocolError::Aborted(_))), "{r:?}");
    }
}

fn and_of_three(e: &mut TestEngine) -> crate::Result<Vec<Fp>> {
    let x = e.bit_constant(&[true, false, true])?;
    let z = e.and_bits(&x, &x)?;
    let bits = e.reveal_bits(&z)?;
    Ok(bits.into_iter().map(Fp::from).collect())
}

#[test]
fn malformed_binary_frames_are_typed_errors() {
    // The AND of 3 bits opens 6 bits: one byte is expected.
    let long = against_raw_peer(vec![vec![0u8; 2]], and_of_three);
    assert!(
        matches!(&long, Err(ProtocolError::Malformed { peer: 1, reason }) if reason.contains("expected 6 bits")),
        "{long:?}"
    );
    let empty = against_raw_peer(vec![vec![]], and_of_three);
    assert!(
        matches!(empty, Err(ProtocolError::Malformed { peer: 1, .. })),
        "{empty:?}"
    );
    // Right length, but padding bits set.
    let padded = against_raw_peer(vec![vec![0xC0]], and_of_three);
    assert!(
        matches!(&padded, Err(ProtocolError::Malformed { peer: 1, reason }) if reason.contains("padding")),
        "{padded:?}"
    );
}

#[test]
fn zero_length_binary_shares_are_fine_to_reveal() {
    let got = agreed(run(2, Transport::Channels, |e| {
        e.reveal_bits(&BitShares::zeros(0))
    }));
    assert!(got.is_empty());
}

fn mixed_ltz_of_one(e: &mut TestEngine) -> crate::Result<Vec<Fp>> {
    let x = e.constant(&[Fp::from_u64(9)]);
    let z = e.mixed()?.ltz(&x, 64)?;
    e.reveal(&z)
}

#[test]
fn malformed_mixed_frames_are_typed_errors() {
    // The first round of LTZ(64) on one element opens c (16 bytes) and the 31 pair products'
    // d and e (62 bits, 8 bytes) in one frame of 24 bytes.
    let short = against_raw_peer(vec![vec![0u8; 23]], mixed_ltz_of_one);
    assert!(
        matches!(&short, Err(ProtocolError::Malformed { peer: 1, reason }) if reason.contains("1 field elements and 62 bits")),
        "{short:?}"
    );
    let mut padded = vec![0u8; 24];
    padded[23] = 0xC0;
    let padded = against_raw_peer(vec![padded], mixed_ltz_of_one);
    assert!(
        matches!(&padded, Err(ProtocolError::Malformed { peer: 1, reason }) if reason.contains("padding")),
        "{padded:?}"
    );
    let mut non_canonical = vec![0xFFu8; 16];
    non_canonical.extend([0u8; 8]);
    let bad = against_raw_peer(vec![non_canonical], mixed_ltz_of_one);
    assert!(
        matches!(bad, Err(ProtocolError::Malformed { peer: 1, .. })),
        "{bad:?}"
    );
}
