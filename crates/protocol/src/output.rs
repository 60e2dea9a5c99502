//! Private outputs: revealing a secret to one party only.
//!
//! To reveal [x] to party p, the parties use a mask [r] whose value only p knows: p inputs a
//! fresh uniformly random r through the ordinary input protocol ([`Engine::output_masks`], one
//! round, batched with any other inputs), then everyone opens y = x − r with the usual MAC check
//! ([`Engine::reveal_mixed`]) and p alone computes x = y + r. The other parties see y, which is
//! uniform and independent of x because r is. p learns nothing beyond x: y is what it would
//! compute itself from x and r.
//!
//! **Architecture Invariant:** a private output leaves the engine only through
//! [`Engine::reveal_mixed`], which goes through [`Engine::reveal_many`]: y is MAC-checked before
//! the owner adds its mask, so a cheating party can only cause an abort, never a wrong output.
//!
//! Cost: the mask input is one round (zero extra rounds when merged with other inputs); the
//! opening shares the round and the MAC check of every public reveal in the same batch.

use field::Fp;
use net::PartyId;
use rand_core::OsRng;

use crate::engine::Engine;
use crate::error::{ProtocolError, Result};
use crate::prep::Preprocessing;
use crate::share::ShareVec;

/// A mask for private outputs to one party: shares of r, and r itself on the owner only.
#[derive(Clone, Default)]
pub struct OutputMask {
    pub owner: PartyId,
    pub shares: ShareVec,
    /// `Some(r)` on the owner, `None` elsewhere.
    pub clear: Option<Vec<Fp>>,
}

impl std::fmt::Debug for OutputMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OutputMask(owner={}, len={}, <redacted>)",
            self.owner,
            self.shares.len()
        )
    }
}

/// One private output: the secret and the mask of the party that receives it.
pub struct PrivateOutput<'a> {
    pub x: &'a ShareVec,
    pub mask: &'a OutputMask,
}

/// Fresh uniformly random field elements for a mask this party owns.
pub fn fresh_mask_values(n: usize) -> Vec<Fp> {
    (0..n).map(|_| Fp::random(&mut OsRng)).collect()
}

impl<P: Preprocessing> Engine<P> {
    /// Masks for `n` private outputs to `owner`, one input round. The owner draws the mask values
    /// from the operating system's generator.
    pub fn output_masks(&mut self, owner: PartyId, n: usize) -> Result<OutputMask> {
        let parties = self.n_parties();
        if owner >= parties {
            return Err(ProtocolError::InvalidArgument(format!(
                "cannot reveal to party {owner}: there are {parties} parties"
            )));
        }
        let mut counts = vec![0; parties];
        counts[owner] = n;
        let clear = (self.party() == owner).then(|| fresh_mask_values(n));
        let mine: &[Fp] = clear.as_deref().unwrap_or(&[]);
        let shares = self.input(&counts, mine)?.swap_remove(owner);
        Ok(OutputMask {
            owner,
            shares,
            clear,
        })
    }

    /// Reveals `public` to everyone and each of `private` to its mask's owner, in ONE round and one
    /// MAC check. Returns the public values, and per private output `Some(x)` on its owner and
    /// `None` elsewhere.
    #[allow(clippy::type_complexity)]
    pub fn reveal_mixed(
        &mut self,
        public: &[&ShareVec],
        private: &[PrivateOutput<'_>],
    ) -> Result<(Vec<Vec<Fp>>, Vec<Option<Vec<Fp>>>)> {
        for p in private {
            if p.x.len() != p.mask.shares.len() {
                return Err(ProtocolError::InvalidArgument(format!(
                    "private output of {} values with a mask of {}",
                    p.x.len(),
                    p.mask.shares.len()
                )));
            }
        }
        let masked: Vec<ShareVec> = private.iter().map(|p| p.x.sub(&p.mask.shares)).collect();
        let mut all: Vec<&ShareVec> = public.to_vec();
        all.extend(masked.iter());
        let mut opened = self.reveal_many(&all)?;
        let ys = opened.split_off(public.len());
        let outs = private
            .iter()
            .zip(ys)
            .map(|(p, y)| {
                p.mask.clear.as_ref().map(|r| {
                    y.iter()
                        .zip(r)
                        .map(|(&yi, &ri)| yi + ri)
                        .collect::<Vec<Fp>>()
                })
            })
            .collect();
        Ok((opened, outs))
    }

    /// Reveals `x` to `player` only: `Some(x)` there, `None` on the other parties. Two rounds plus
    /// the MAC check; use [`Engine::output_masks`] and [`Engine::reveal_mixed`] to batch.
    pub fn reveal_to(&mut self, x: &ShareVec, player: PartyId) -> Result<Option<Vec<Fp>>> {
        let mask = self.output_masks(player, x.len())?;
        let (_, mut outs) = self.reveal_mixed(&[], &[PrivateOutput { x, mask: &mask }])?;
        Ok(outs.pop().flatten())
    }
}
