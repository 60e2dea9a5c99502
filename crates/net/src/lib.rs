//! Party-to-party transport for the MPC engine.
//!
//! A [`Network`] is one party's view of the other N−1 parties. The protocol layer talks in
//! *rounds*: in one round a party sends at most one frame to each peer and receives at most one
//! frame from each peer ([`Network::exchange`], [`Network::broadcast_exchange`]).
//!
//! The `Network` itself is transport-agnostic: it holds, per peer, a [`FrameSink`] for outgoing
//! frames and a channel of incoming frames. Transports only decide how those are fed:
//! - [`in_process`] wires N networks together with channels (tests, local runs);
//! - [`tls`] runs one mutually authenticated TLS connection per pair of parties, with a reader and
//!   a writer task per connection that move length-prefixed frames between socket and channels.
//!
//! - [`gateway`] runs one mutually authenticated TLS connection per pair of parties for the
//!   party's whole life and multiplexes any number of *channels* (games, control conversations)
//!   over it; each channel is an ordinary `Network`, fed by a demultiplexer keyed by channel id,
//!   so the protocol layer never changes.
//!
//! **Architecture Invariant:** every receive has a deadline ([`NetConfig::recv_deadline`]). A dead
//! or silent peer ends the caller's run with [`NetError::Timeout`] or [`NetError::Disconnected`],
//! never a hang. Malformed or oversized frames surface as typed errors, never a panic.
//!
//! **API Boundary:** this crate moves opaque bytes. It knows nothing of field elements, shares or
//! games, and never logs frame contents.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use flume::{Receiver, RecvTimeoutError, Sender, TryRecvError};

pub use bytes::Bytes;

pub mod gateway;
pub mod tls;

pub use gateway::{ChannelId, Gateway, GatewayConfig, PeerStatus};

/// Index of a party in the virtual cloud, `0..n`.
pub type PartyId = usize;

/// Default deadline for any single receive.
pub const DEFAULT_RECV_DEADLINE: Duration = Duration::from_secs(30);
/// Default upper bound on one frame's payload (512 MiB).
pub const DEFAULT_MAX_FRAME: usize = 512 << 20;

/// Tunables shared by all transports.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// How long a single receive may wait before failing with [`NetError::Timeout`].
    pub recv_deadline: Duration,
    /// Largest accepted frame payload in bytes; larger frames fail with [`NetError::FrameTooLarge`].
    pub max_frame: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            recv_deadline: DEFAULT_RECV_DEADLINE,
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

/// Everything that can go wrong on the wire.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NetError {
    #[error("party {peer} sent nothing within {after:?}; it may be down or stuck (raise the receive deadline if the computation is just slow)")]
    Timeout { peer: PartyId, after: Duration },
    #[error("connection to party {peer} is closed; the peer has stopped or the network failed")]
    Disconnected { peer: PartyId },
    #[error("party {peer} sent a frame of {len} bytes, above the limit of {max} bytes")]
    FrameTooLarge {
        peer: PartyId,
        len: usize,
        max: usize,
    },
    #[error("party {peer} sent a malformed frame: {reason}")]
    Malformed { peer: PartyId, reason: String },
    #[error("there is no party {peer} in a network of {n} parties")]
    UnknownPeer { peer: PartyId, n: usize },
    #[error("expected {expected} outgoing frames (one per party), got {got}")]
    WrongFrameCount { expected: usize, got: usize },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("I/O error talking to party {peer}: {reason}")]
    Io { peer: PartyId, reason: String },
    #[error("network configuration is invalid: {0}")]
    Config(String),
    /// The peer failed its part of the session for a reason of its own (not the network) and
    /// said so on the channel ([`gateway::Gateway::abort`]); `code` is its short error label,
    /// `reason` its short, non-secret explanation.
    #[error("party {peer} failed and aborted the session ({code}): {reason}")]
    Aborted {
        peer: PartyId,
        code: String,
        reason: String,
    },
}

/// Counters for what this party sent and received. Rounds count calls to
/// [`Network::exchange`] / [`Network::broadcast_exchange`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    pub rounds: u64,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl NetStats {
    /// Difference `self − earlier`, for measuring one phase.
    pub fn since(&self, earlier: &NetStats) -> NetStats {
        NetStats {
            rounds: self.rounds - earlier.rounds,
            frames_sent: self.frames_sent - earlier.frames_sent,
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            bytes_received: self.bytes_received - earlier.bytes_received,
        }
    }
}

/// Where outgoing frames for one peer go. Sending never blocks on the peer.
pub trait FrameSink: Send {
    /// Queue one frame for the peer. Fails only if the link is already gone.
    // The unit error is deliberate: the only failure is "link gone", which the caller turns into
    // a `NetError` naming the peer.
    #[allow(clippy::result_unit_err)]
    fn send_frame(&self, frame: Bytes) -> Result<(), ()>;

    /// Told the receive deadline in force whenever it changes ([`Network::set_recv_deadline`]).
    /// A sink that holds frames while its peer is unreachable (the [`gateway`]'s) keeps them no
    /// longer than this, since the peer would have given up on them. Most sinks ignore it.
    fn set_recv_deadline(&self, _deadline: Duration) {}
}

impl FrameSink for Sender<Result<Bytes, NetError>> {
    fn send_frame(&self, frame: Bytes) -> Result<(), ()> {
        self.send(Ok(frame)).map_err(|_| ())
    }
}

/// Incoming frames from one peer, or the error that ended the link. A `flume` channel, so that
/// a receive can block a thread ([`Network::recv`]) or wait in a task ([`Network::recv_async`]).
pub type FrameSource = Receiver<Result<Bytes, NetError>>;

/// While a receive waits longer than this, it also looks for a lost link to another peer.
const LOST_PEER_POLL: Duration = Duration::from_millis(25);

/// One direction-pair to one peer, as a transport hands it to [`Network::from_links`].
pub struct PeerLink {
    pub sink: Box<dyn FrameSink>,
    pub source: FrameSource,
}

/// One party's connections to all others. See the crate docs.
pub struct Network {
    me: PartyId,
    n: usize,
    links: Vec<Option<PeerLink>>,
    /// Set once a link has failed, so later calls fail fast with the same error.
    broken: Option<NetError>,
    config: NetConfig,
    stats: NetStats,
    /// The gateway channel id this network runs on (set by `Gateway::open_with`), if any.
    channel: Option<[u8; 16]>,
    /// Frames taken from a peer's source while waiting for another peer (see [`Network::recv`]),
    /// served first by the next receive from that peer.
    held: Vec<VecDeque<Bytes>>,
    /// Whatever must outlive the links (a transport's runtime, task guards). Declared after
    /// `links` on purpose: fields drop in declaration order, so the sinks are closed first and a
    /// guard can let its writers drain before it tears anything down.
    keep_alive: Vec<Box<dyn std::any::Any + Send>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("me", &self.me)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// Build a network from per-peer links. `links[me]` must be `None`, every other entry `Some`.
    pub fn from_links(
        me: PartyId,
        links: Vec<Option<PeerLink>>,
        config: NetConfig,
    ) -> Result<Network, NetError> {
        let n = links.len();
        if me >= n {
            return Err(NetError::Config(format!(
                "party id {me} is not below the party count {n}"
            )));
        }
        for (i, l) in links.iter().enumerate() {
            if (i == me) != l.is_none() {
                return Err(NetError::Config(format!(
                    "link table for party {me} is inconsistent at index {i}"
                )));
            }
        }
        Ok(Network {
            me,
            n,
            links,
            broken: None,
            config,
            stats: NetStats::default(),
            channel: None,
            held: (0..n).map(|_| VecDeque::new()).collect(),
            keep_alive: Vec::new(),
        })
    }

    /// Keep `guard` alive exactly as long as this network, and drop it after the links.
    ///
    /// Transports use this to tie resources to the network's lifetime: [`tls::connect_blocking`]
    /// hands over the tokio runtime that runs its socket tasks. Guards are dropped after every
    /// link is closed, in the order they were added.
    pub fn keep_alive(&mut self, guard: Box<dyn std::any::Any + Send>) {
        self.keep_alive.push(guard);
    }

    /// This party's id.
    pub fn my_id(&self) -> PartyId {
        self.me
    }

    /// Number of parties, including this one.
    pub fn n_parties(&self) -> usize {
        self.n
    }

    /// Ids of all other parties, in increasing order.
    pub fn peers(&self) -> impl Iterator<Item = PartyId> + '_ {
        (0..self.n).filter(move |&p| p != self.me)
    }

    /// The id of the [`gateway`] channel this network runs on (`ChannelId.0`), `None` for the
    /// other transports. Every party's network of one channel has the same id, so protocols
    /// can bind their messages to it (e.g. MASCOT's session id).
    pub fn channel_id(&self) -> Option<[u8; 16]> {
        self.channel
    }

    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// The configuration in force.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Changes the deadline of later receives (e.g. a long wait for a party to join, then the
    /// normal deadline for the protocol).
    pub fn set_recv_deadline(&mut self, deadline: Duration) {
        self.config.recv_deadline = deadline;
        for link in self.links.iter().flatten() {
            link.sink.set_recv_deadline(deadline);
        }
    }

    fn link(&self, peer: PartyId) -> Result<&PeerLink, NetError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        match self.links.get(peer) {
            Some(Some(l)) => Ok(l),
            _ => Err(NetError::UnknownPeer { peer, n: self.n }),
        }
    }

    fn fail(&mut self, e: NetError) -> NetError {
        if self.broken.is_none() {
            self.broken = Some(e.clone());
        }
        e
    }

    /// Send one frame to `peer` (not counted as a round).
    pub fn send(&mut self, peer: PartyId, frame: Bytes) -> Result<(), NetError> {
        if frame.len() > self.config.max_frame {
            return Err(NetError::FrameTooLarge {
                peer: self.me,
                len: frame.len(),
                max: self.config.max_frame,
            });
        }
        let len = frame.len() as u64;
        let res = self.link(peer)?.sink.send_frame(frame);
        match res {
            Ok(()) => {
                self.stats.frames_sent += 1;
                self.stats.bytes_sent += len;
                Ok(())
            }
            Err(()) => {
                // The link is dead: say why (its error waits on the source: a lost connection,
                // the peer's abort, a protocol violation), not just that it is gone.
                let e = self
                    .pending_error(peer)
                    .unwrap_or(NetError::Disconnected { peer });
                Err(self.fail(e))
            }
        }
    }

    /// The error waiting on `peer`'s source, if any; frames before it are held for later
    /// receives.
    fn pending_error(&mut self, peer: PartyId) -> Option<NetError> {
        let Some(Some(link)) = self.links.get(peer) else {
            return None;
        };
        loop {
            match link.source.try_recv() {
                Ok(Ok(frame)) => self.held[peer].push_back(frame),
                Ok(Err(e)) => return Some(e),
                Err(_) => return None,
            }
        }
    }

    /// Receive the next frame from `peer`, waiting at most the configured deadline. On a gateway
    /// channel it fails as soon as the connection to any peer is lost (every peer is needed).
    pub fn recv(&mut self, peer: PartyId) -> Result<Bytes, NetError> {
        self.link(peer)?;
        if let Some(frame) = self.held[peer].pop_front() {
            self.stats.bytes_received += frame.len() as u64;
            return Ok(frame);
        }
        let after = self.config.recv_deadline;
        let deadline = Instant::now() + after;
        loop {
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(LOST_PEER_POLL);
            let res = self.link(peer)?.source.recv_timeout(wait);
            match res {
                Ok(Ok(frame)) => {
                    self.stats.bytes_received += frame.len() as u64;
                    return Ok(frame);
                }
                Ok(Err(e)) => return Err(self.fail(e)),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.fail(NetError::Disconnected { peer }))
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Every peer is needed to finish: on a gateway channel, where an error on a
                    // source means that peer's connection died (a peer that merely finished its
                    // part leaves the connection up), a lost link to another peer ends the run
                    // now, naming that peer, instead of after this peer's deadline. Other
                    // transports close a link when a peer finishes, so they wait as before.
                    if self.channel.is_some() {
                        if let Some(e) = self.lost_peer(peer) {
                            return Err(self.fail(e));
                        }
                    }
                    if Instant::now() >= deadline {
                        return Err(self.fail(NetError::Timeout { peer, after }));
                    }
                }
            }
        }
    }

    /// As [`Network::recv`], but waits in a task instead of blocking a thread: the deadline is
    /// a timer, and on a gateway channel the loss of any other peer's link (or its abort) ends
    /// the wait at once, naming that peer, with the frames found on the way held for later
    /// receives — the same behaviour as the blocking receive, with no polling. Needs a tokio
    /// runtime with the time driver.
    pub async fn recv_async(&mut self, peer: PartyId) -> Result<Bytes, NetError> {
        self.link(peer)?;
        if let Some(frame) = self.held[peer].pop_front() {
            self.stats.bytes_received += frame.len() as u64;
            return Ok(frame);
        }
        let after = self.config.recv_deadline;
        // Something already waiting on another peer's link (an error) ends the wait first.
        if self.channel.is_some() {
            if let Some(e) = self.lost_peer(peer) {
                return Err(self.fail(e));
            }
        }
        let watch_others = self.channel.is_some();
        let outcome = {
            let me = self.me;
            let links = &self.links;
            let held = &mut self.held;
            let Some(Some(target)) = links.get(peer) else {
                return Err(NetError::UnknownPeer { peer, n: self.n });
            };
            let mut others: Vec<(PartyId, &FrameSource, flume::r#async::RecvFut<'_, _>)> =
                if watch_others {
                    links
                        .iter()
                        .enumerate()
                        .filter(|&(q, _)| q != me && q != peer)
                        .filter_map(|(q, l)| l.as_ref().map(|l| (q, &l.source)))
                        .map(|(q, src)| (q, src, src.recv_async()))
                        .collect()
                } else {
                    Vec::new()
                };
            let mut wanted = target.source.recv_async();
            let sleep = tokio::time::sleep(after);
            tokio::pin!(sleep);
            std::future::poll_fn(|cx| {
                if let Poll::Ready(r) = Pin::new(&mut wanted).poll(cx) {
                    return Poll::Ready(match r {
                        Ok(item) => item,
                        Err(flume::RecvError::Disconnected) => Err(NetError::Disconnected { peer }),
                    });
                }
                for (q, src, fut) in others.iter_mut() {
                    loop {
                        match Pin::new(&mut *fut).poll(cx) {
                            Poll::Pending => break,
                            Poll::Ready(Ok(Ok(frame))) => {
                                held[*q].push_back(frame);
                                *fut = src.recv_async();
                            }
                            Poll::Ready(Ok(Err(e))) => return Poll::Ready(Err(e)),
                            Poll::Ready(Err(flume::RecvError::Disconnected)) => {
                                return Poll::Ready(Err(NetError::Disconnected { peer: *q }))
                            }
                        }
                    }
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(NetError::Timeout { peer, after }));
                }
                Poll::Pending
            })
            .await
        };
        match outcome {
            Ok(frame) => {
                self.stats.bytes_received += frame.len() as u64;
                Ok(frame)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The error that ended the link of a peer other than `except`, if one has ended; frames
    /// found on the way are held for their next receive.
    fn lost_peer(&mut self, except: PartyId) -> Option<NetError> {
        for q in (0..self.n).filter(|&q| q != self.me && q != except) {
            let Some(Some(link)) = self.links.get(q) else {
                continue;
            };
            loop {
                match link.source.try_recv() {
                    Ok(Ok(frame)) => self.held[q].push_back(frame),
                    Ok(Err(e)) => return Some(e),
                    Err(TryRecvError::Disconnected) => {
                        return Some(NetError::Disconnected { peer: q })
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
        }
        None
    }

    /// One round: send `frames[p]` to every peer p (entry `me` is ignored), then receive one frame
    /// from every peer. The result has one entry per party; entry `me` is empty.
    pub fn exchange(&mut self, frames: Vec<Bytes>) -> Result<Vec<Bytes>, NetError> {
        if frames.len() != self.n {
            return Err(NetError::WrongFrameCount {
                expected: self.n,
                got: frames.len(),
            });
        }
        self.stats.rounds += 1;
        for (p, f) in frames.into_iter().enumerate() {
            if p != self.me {
                self.send(p, f)?;
            }
        }
        self.gather()
    }

    /// One round: send the same frame to every peer, receive one from every peer. Entry `me` of the
    /// result is this party's own frame.
    pub fn broadcast_exchange(&mut self, frame: Bytes) -> Result<Vec<Bytes>, NetError> {
        self.stats.rounds += 1;
        let peers: Vec<PartyId> = self.peers().collect();
        for p in peers {
            self.send(p, frame.clone())?;
        }
        let mut got = self.gather()?;
        got[self.me] = frame;
        Ok(got)
    }

    fn gather(&mut self) -> Result<Vec<Bytes>, NetError> {
        (0..self.n)
            .map(|p| {
                if p == self.me {
                    Ok(Bytes::new())
                } else {
                    self.recv(p)
                }
            })
            .collect()
    }
}

/// Wire `n` parties together with in-process channels. Dropping a network closes its links, which
/// its peers observe as [`NetError::Disconnected`].
pub fn in_process(n: usize, config: NetConfig) -> Vec<Network> {
    // chan[i][j]: frames from i to j.
    type FrameSender = Sender<Result<Bytes, NetError>>;
    let mut senders: Vec<Vec<Option<FrameSender>>> =
        (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    let mut receivers: Vec<Vec<Option<FrameSource>>> =
        (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let (tx, rx) = flume::unbounded();
                senders[i][j] = Some(tx);
                receivers[j][i] = Some(rx);
            }
        }
    }
    let mut nets = Vec::with_capacity(n);
    for (me, (outs, ins)) in senders.into_iter().zip(receivers).enumerate() {
        let links = outs
            .into_iter()
            .zip(ins)
            .map(|(tx, rx)| match (tx, rx) {
                (Some(tx), Some(rx)) => Some(PeerLink {
                    sink: Box::new(tx) as Box<dyn FrameSink>,
                    source: rx,
                }),
                _ => None,
            })
            .collect();
        nets.push(Network::from_links(me, links, config.clone()).expect("consistent link table"));
    }
    nets
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn quick() -> NetConfig {
        NetConfig {
            recv_deadline: Duration::from_millis(200),
            ..NetConfig::default()
        }
    }

    #[test]
    fn broadcast_exchange_delivers_every_frame() {
        let nets = in_process(3, quick());
        let handles: Vec<_> = nets
            .into_iter()
            .map(|mut net| {
                thread::spawn(move || {
                    let me = net.my_id();
                    let got = net
                        .broadcast_exchange(Bytes::from(vec![me as u8; me + 1]))
                        .unwrap();
                    (me, got, net.stats())
                })
            })
            .collect();
        for h in handles {
            let (_me, got, stats) = h.join().unwrap();
            for (p, f) in got.iter().enumerate() {
                assert_eq!(f.as_ref(), vec![p as u8; p + 1].as_slice());
            }
            assert_eq!(stats.rounds, 1);
            assert_eq!(stats.frames_sent, 2);
        }
    }

    #[test]
    fn exchange_sends_distinct_frames() {
        let nets = in_process(2, quick());
        let hs: Vec<_> = nets
            .into_iter()
            .map(|mut net| {
                thread::spawn(move || {
                    let me = net.my_id();
                    let frames = (0..2)
                        .map(|p| Bytes::from(vec![(10 * me + p) as u8]))
                        .collect();
                    net.exchange(frames).unwrap()
                })
            })
            .collect();
        let r: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(r[0][1].as_ref(), &[10]);
        assert_eq!(r[1][0].as_ref(), &[1]);
        assert!(r[0][0].is_empty());
    }

    #[test]
    fn silent_peer_times_out_with_its_id() {
        let mut nets = in_process(2, quick());
        let _silent = nets.pop().unwrap();
        let mut a = nets.pop().unwrap();
        let t0 = std::time::Instant::now();
        let err = a.recv(1).unwrap_err();
        assert!(matches!(err, NetError::Timeout { peer: 1, .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(2));
        // Once broken, the network stays broken.
        assert!(matches!(a.recv(1), Err(NetError::Timeout { .. })));
    }

    #[test]
    fn async_receive_gets_a_frame_and_times_out_without_a_thread() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut nets = in_process(2, quick());
        let mut b = nets.pop().unwrap();
        let mut a = nets.pop().unwrap();
        b.send(0, Bytes::from_static(b"hi")).unwrap();
        // One runtime thread serves both waits: nothing blocks it.
        rt.block_on(async {
            assert_eq!(a.recv_async(1).await.unwrap().as_ref(), b"hi");
            let t0 = std::time::Instant::now();
            let err = a.recv_async(1).await.unwrap_err();
            assert!(matches!(err, NetError::Timeout { peer: 1, .. }), "{err}");
            assert!(t0.elapsed() >= Duration::from_millis(190));
        });
        assert_eq!(a.stats().bytes_received, 2);
        drop(b);
        let mut nets = in_process(2, quick());
        drop(nets.pop());
        let mut a = nets.pop().unwrap();
        assert_eq!(
            rt.block_on(a.recv_async(1)).unwrap_err(),
            NetError::Disconnected { peer: 1 }
        );
    }

    #[test]
    fn dropped_peer_is_reported_as_disconnected() {
        let mut nets = in_process(2, quick());
        drop(nets.pop());
        let mut a = nets.pop().unwrap();
        assert_eq!(a.recv(1).unwrap_err(), NetError::Disconnected { peer: 1 });
    }

    #[test]
    fn wrong_frame_count_and_unknown_peer_are_errors() {
        let mut nets = in_process(2, quick());
        let a = &mut nets[0];
        assert!(matches!(
            a.exchange(vec![]),
            Err(NetError::WrongFrameCount { .. })
        ));
        assert!(matches!(
            a.send(7, Bytes::new()),
            Err(NetError::UnknownPeer { peer: 7, n: 2 })
        ));
        assert!(matches!(
            a.send(0, Bytes::new()),
            Err(NetError::UnknownPeer { .. })
        ));
    }

    #[test]
    fn oversized_outgoing_frame_is_refused() {
        let cfg = NetConfig {
            max_frame: 4,
            ..quick()
        };
        let mut nets = in_process(2, cfg);
        let err = nets[0].send(1, Bytes::from(vec![0u8; 5])).unwrap_err();
        assert!(matches!(
            err,
            NetError::FrameTooLarge { len: 5, max: 4, .. }
        ));
    }
}
