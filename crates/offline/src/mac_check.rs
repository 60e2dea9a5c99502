//! The batched MAC check that ends every batch (SPDZ's MACCheck, as in MASCOT's Fig. 1, with a
//! zero check and an authentication check folded in).
//!
//! Three lists of pending items, each with this party's MAC shares:
//! - **authentication**: the combined values `y` of [`crate::auth`] (opened by their owner);
//! - **openings**: values opened by summing everybody's shares (sacrifice's ρ, the masked values
//!   of squares, bits and inverses);
//! - **zeros**: values that must be zero and are never opened (sacrifice's
//!   `t·c − ĉ − ρ·b`; checking them against value 0 reveals nothing but their being zero).
//!
//! With coefficients `r_k` from a coin opened after every item was fixed, each party computes,
//! per list, `σ_i = Σ_k r_k·m_i(x_k) − α_i·Σ_k r_k·x_k` (x_k = 0 for zeros). Round 1: every party
//! broadcasts a commitment to its three σ's and the digest of its broadcast transcript of the
//! batch; differing digests are [`OfflineError::BroadcastInconsistent`]. Round 2: every party
//! opens its σ's; each list must sum to zero, else [`OfflineError::AuthenticationFailed`],
//! [`OfflineError::MacCheckFailed`] or [`OfflineError::SacrificeFailed`] (in that order of
//! precedence).
//!
//! *Soundness.* If the adversary changed an item by δ_k (value or MAC share), the honest σ's
//! contain `α_h·Σ r_k δ_k`-type terms it cannot predict: passing needs either guessing α (1/p;
//! α has an honest summand) or `Σ r_k δ_k = 0` with δ ≠ 0, probability 1/p over uniform r_k.
//! Commitments stop a rushing party from choosing its σ after seeing the others'. A party that
//! showed different openings to different honest parties is caught the same way (each honest
//! party checks its own view under its own key share) and, more bluntly, by the transcript
//! comparison.

use field::{kernels, Fp};
use net::Network;
use rand_core::RngCore;

use crate::coins::{self, derive};
use crate::error::{OfflineError, Result};
use crate::prg::Prg;
use crate::wire::{kind, Out, Transcript};

/// Items awaiting the check.
#[derive(Default)]
pub(crate) struct Pending {
    auth_values: Vec<Fp>,
    auth_macs: Vec<Fp>,
    open_values: Vec<Fp>,
    open_macs: Vec<Fp>,
    zero_macs: Vec<Fp>,
}

impl Pending {
    pub fn auth(&mut self, value: Fp, mac: Fp) {
        self.auth_values.push(value);
        self.auth_macs.push(mac);
    }

    pub fn open(&mut self, values: &[Fp], macs: &[Fp]) {
        debug_assert_eq!(values.len(), macs.len());
        self.open_values.extend_from_slice(values);
        self.open_macs.extend_from_slice(macs);
    }

    pub fn zero(&mut self, macs: &[Fp]) {
        self.zero_macs.extend_from_slice(macs);
    }
}

fn coefficients(seed: &[u8; 32], list: &str, n: usize) -> Vec<Fp> {
    let mut r = vec![Fp::ZERO; n];
    Prg::from_seed(&derive(seed, list, 0)).fill_field(&mut r);
    r
}

/// Test-only deviation: add this to σ of the openings list.
pub(crate) type SigmaLie = Option<Fp>;

/// Runs the two rounds of the check over `pending` with the joint coin `seed`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check<R: RngCore>(
    net: &mut Network,
    session: &[u8; 32],
    transcript: &mut Transcript,
    alpha: Fp,
    pending: &Pending,
    seed: &[u8; 32],
    rng: &mut R,
    lie: SigmaLie,
) -> Result<()> {
    let me = net.my_id();
    let sigma = |values: &[Fp], macs: &[Fp], list: &str| {
        let r = coefficients(seed, list, macs.len());
        let gamma = kernels::inner_product(macs, &r);
        if values.is_empty() {
            gamma
        } else {
            gamma - alpha * kernels::inner_product(values, &r)
        }
    };
    let s_auth = sigma(&pending.auth_values, &pending.auth_macs, "mac/auth");
    let s_open =
        sigma(&pending.open_values, &pending.open_macs, "mac/open") + lie.unwrap_or(Fp::ZERO);
    let s_zero = sigma(&[], &pending.zero_macs, "mac/zero");
    let mut msg = Vec::with_capacity(48);
    for s in [s_auth, s_open, s_zero] {
        msg.extend_from_slice(&s.to_mont_bytes());
    }
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);

    // Round 1: commitment and transcript digest.
    let digest = transcript.digest();
    let mut bcast = Vec::with_capacity(64);
    bcast.extend_from_slice(&coins::commit(session, me, &salt, &msg));
    bcast.extend_from_slice(&digest);
    let ins = Out::new(net, kind::MAC_COMMIT, bcast).exchange(net, transcript)?;
    let mut commitments = Vec::with_capacity(ins.len());
    for input in &ins {
        input.done()?;
        let mut r = input.bcast(64)?;
        commitments.push(r.arr32()?);
        if r.arr32()? != digest {
            return Err(OfflineError::BroadcastInconsistent { party: input.peer });
        }
    }

    // Round 2: open.
    let mut bcast = msg.clone();
    bcast.extend_from_slice(&salt);
    let ins = Out::new(net, kind::MAC_OPEN, bcast).exchange(net, transcript)?;
    let mut sums = [Fp::ZERO; 3];
    for input in &ins {
        input.done()?;
        let p = input.peer;
        let mut r = input.bcast(80)?;
        let body = r.take(48)?.to_vec();
        let salt = r.arr32()?;
        if !coins::verify(&commitments[p], session, p, &salt, &body) {
            return Err(OfflineError::CommitmentMismatch { party: p });
        }
        let mut br = crate::wire::Reader::new(p, &body);
        for s in sums.iter_mut() {
            *s += br.fp()?;
        }
    }
    if !sums[0].is_zero() {
        return Err(OfflineError::AuthenticationFailed);
    }
    if !sums[1].is_zero() {
        return Err(OfflineError::MacCheckFailed);
    }
    if !sums[2].is_zero() {
        return Err(OfflineError::SacrificeFailed);
    }
    Ok(())
}
