//! Frames of the offline phase on top of [`net::Network`]: one frame per peer per round.
//!
//! Every frame is `kind (1 byte) ‖ broadcast length (u32 LE) ‖ broadcast part ‖ point-to-point part`.
//! - `kind` names the protocol step; a frame of another kind is [`OfflineError::Malformed`], so two
//!   parties that fell out of step fail loudly instead of misreading each other. Kind
//!   [`ABORT`] carries one abort code: the sender stopped, and the receiver fails with
//!   [`OfflineError::PeerAborted`] instead of waiting for its deadline.
//! - The broadcast part is the same for every peer (coin commitments and openings, opened
//!   shares). Each party hashes every broadcast part it sends and receives into a [`Transcript`];
//!   the MAC check compares the transcripts, so a party that broadcasts different things to
//!   different peers is caught before any tuple is output.
//! - The point-to-point part carries pairwise OT and COPE messages.
//!
//! Readers ([`In`]) check every length exactly and decode field elements canonically; nothing a
//! peer sends can cause a panic.

use bytes::Bytes;
use field::{kernels, Fp};
use net::{Network, PartyId};

use crate::error::{OfflineError, Result};

/// Kind byte of an abort frame.
pub(crate) const ABORT: u8 = 0xff;

/// Protocol steps (frame kinds).
pub(crate) mod kind {
    pub const HELLO: u8 = 1;
    pub const BASE_OT_A: u8 = 2;
    pub const BASE_OT_B: u8 = 3;
    pub const BASE_OT_SEED: u8 = 4;
    pub const KOS_U: u8 = 5;
    pub const COIN: u8 = 6;
    pub const KOS_CHECK: u8 = 7;
    pub const GILBOA_D: u8 = 8;
    pub const COPE_U: u8 = 9;
    pub const OPEN: u8 = 10;
    pub const OPEN_SQUARES: u8 = 11;
    pub const MAC_COMMIT: u8 = 12;
    pub const MAC_OPEN: u8 = 13;
    /// Binary triples: multiplication messages, masked c, openings.
    pub const BIN_D: u8 = 14;
    pub const BIN_F: u8 = 15;
    pub const BIN_OPEN: u8 = 16;
    /// daBits/edaBits: private openings of input bits, input differences, openings.
    pub const EDA_SHARES: u8 = 17;
    pub const EDA_INPUT: u8 = 18;
    pub const EDA_OPEN: u8 = 19;
    /// Setup of the OT extension (SoftSpokenOT): the receiver's GGM level messages and proof.
    pub const OT_PUNCTURE: u8 = 32;
}

/// Running hash of every broadcast part of a batch, in party order per round.
pub(crate) struct Transcript(blake3::Hasher);

impl Transcript {
    pub fn new() -> Transcript {
        Transcript(blake3::Hasher::new_derive_key(
            "ephemeral/offline/transcript/v1",
        ))
    }

    fn absorb(&mut self, kind: u8, party: PartyId, bytes: &[u8]) {
        self.0.update(&[kind]);
        self.0.update(&(party as u64).to_le_bytes());
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn digest(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// The outgoing frames of one round.
pub(crate) struct Out {
    kind: u8,
    me: PartyId,
    bcast: Vec<u8>,
    frames: Vec<Vec<u8>>,
}

impl Out {
    /// A round of `kind` whose broadcast part is `bcast`.
    pub fn new(net: &Network, kind: u8, bcast: Vec<u8>) -> Out {
        let n = net.n_parties();
        let me = net.my_id();
        let frames = (0..n)
            .map(|p| {
                if p == me {
                    Vec::new()
                } else {
                    let mut f = Vec::with_capacity(5 + bcast.len());
                    f.push(kind);
                    f.extend_from_slice(&(bcast.len() as u32).to_le_bytes());
                    f.extend_from_slice(&bcast);
                    f
                }
            })
            .collect();
        Out {
            kind,
            me,
            bcast,
            frames,
        }
    }

    /// The point-to-point part for `peer`, to append to. Writing to oneself is a no-op sink.
    pub fn to(&mut self, peer: PartyId) -> &mut Vec<u8> {
        &mut self.frames[peer]
    }

    /// Sends every frame and receives one from every peer; broadcast parts go into `transcript`.
    /// Entry `me` of the result holds this party's own broadcast part and no point-to-point part.
    pub fn exchange(self, net: &mut Network, transcript: &mut Transcript) -> Result<Vec<In>> {
        let Out {
            kind,
            me,
            bcast,
            frames,
        } = self;
        let frames = frames.into_iter().map(Bytes::from).collect();
        let got = net.exchange(frames)?;
        let mut ins = Vec::with_capacity(got.len());
        for (peer, f) in got.into_iter().enumerate() {
            if peer == me {
                transcript.absorb(kind, me, &bcast);
                ins.push(In {
                    peer,
                    bcast: Bytes::from(bcast.clone()),
                    p2p: Bytes::new(),
                    pos: 0,
                });
                continue;
            }
            let input = In::parse(peer, kind, f)?;
            transcript.absorb(kind, peer, &input.bcast);
            ins.push(input);
        }
        Ok(ins)
    }
}

/// Tells every peer that this party stops (best effort: a broken link is ignored).
pub(crate) fn send_abort(net: &mut Network, code: u8) {
    let peers: Vec<PartyId> = net.peers().collect();
    for p in peers {
        let _ = net.send(p, Bytes::from(vec![ABORT, code]));
    }
}

/// One received frame: the broadcast part and a cursor over the point-to-point part.
pub(crate) struct In {
    pub peer: PartyId,
    bcast: Bytes,
    p2p: Bytes,
    pos: usize,
}

fn malformed(peer: PartyId, reason: impl Into<String>) -> OfflineError {
    OfflineError::Malformed {
        peer,
        reason: reason.into(),
    }
}

impl In {
    fn parse(peer: PartyId, kind: u8, f: Bytes) -> Result<In> {
        match f.first() {
            None => return Err(malformed(peer, "empty frame")),
            Some(&ABORT) => {
                let code = f.get(1).copied().unwrap_or(0);
                return Err(OfflineError::PeerAborted {
                    party: peer,
                    code,
                    reason: OfflineError::describe_abort_code(code),
                });
            }
            Some(&k) if k != kind => {
                return Err(malformed(
                    peer,
                    format!("expected a message of step {kind}, got step {k}"),
                ))
            }
            Some(_) => {}
        }
        if f.len() < 5 {
            return Err(malformed(peer, "truncated frame header"));
        }
        let len = u32::from_le_bytes([f[1], f[2], f[3], f[4]]) as usize;
        if f.len() - 5 < len {
            return Err(malformed(peer, "broadcast part longer than the frame"));
        }
        Ok(In {
            peer,
            bcast: f.slice(5..5 + len),
            p2p: f.slice(5 + len..),
            pos: 0,
        })
    }

    /// A reader over the broadcast part, which must be exactly `len` bytes long.
    pub fn bcast(&self, len: usize) -> Result<Reader<'_>> {
        if self.bcast.len() != len {
            return Err(malformed(
                self.peer,
                format!(
                    "broadcast part of {} bytes, expected {len}",
                    self.bcast.len()
                ),
            ));
        }
        Ok(Reader {
            peer: self.peer,
            buf: &self.bcast,
            pos: 0,
        })
    }

    /// The next `len` bytes of the point-to-point part.
    pub fn take(&mut self, len: usize) -> Result<&[u8]> {
        if self.p2p.len() - self.pos < len {
            return Err(malformed(
                self.peer,
                format!(
                    "message too short: needed {len} more bytes, {} left",
                    self.p2p.len() - self.pos
                ),
            ));
        }
        let s = &self.p2p[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    /// The next `n` field elements of the point-to-point part.
    pub fn fps(&mut self, n: usize) -> Result<Vec<Fp>> {
        let peer = self.peer;
        let bytes = self.take(n * Fp::BYTES)?;
        kernels::decode(bytes).map_err(|e| malformed(peer, e.to_string()))
    }

    /// Fails unless the point-to-point part was read to its end.
    pub fn done(&self) -> Result<()> {
        if self.pos != self.p2p.len() {
            return Err(malformed(
                self.peer,
                format!("{} unexpected trailing bytes", self.p2p.len() - self.pos),
            ));
        }
        Ok(())
    }
}

/// A cursor over a byte slice from `peer`, with checked reads.
pub(crate) struct Reader<'a> {
    peer: PartyId,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over bytes that came from `peer`.
    pub fn new(peer: PartyId, buf: &'a [u8]) -> Reader<'a> {
        Reader { peer, buf, pos: 0 }
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < len {
            return Err(malformed(self.peer, "broadcast part too short"));
        }
        let s = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    /// The next 32 bytes.
    pub fn arr32(&mut self) -> Result<[u8; 32]> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Ok(a)
    }

    /// The next field element.
    pub fn fp(&mut self) -> Result<Fp> {
        let peer = self.peer;
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Fp::from_mont_bytes(&a).map_err(|e| malformed(peer, e.to_string()))
    }

    /// The next `n` field elements.
    pub fn fps(&mut self, n: usize) -> Result<Vec<Fp>> {
        let peer = self.peer;
        let bytes = self.take(n * Fp::BYTES)?;
        kernels::decode(bytes).map_err(|e| malformed(peer, e.to_string()))
    }
}

/// Appends the encodings of `xs`.
pub(crate) fn put_fps(out: &mut Vec<u8>, xs: &[Fp]) {
    kernels::encode(xs, out);
}
