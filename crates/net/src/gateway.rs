//! The gateway: one mutually authenticated TLS port per party, over which any number of concurrent
//! *channels* (games, control conversations) are multiplexed, each presenting itself as an
//! ordinary [`Network`].
//!
//! A party starts one [`Gateway`] for its whole life ([`Gateway::start`]). The gateway keeps one
//! TLS 1.3 connection to every other party, re-making it whenever it drops, and
//! [`Gateway::open`] hands out a [`Network`] per [`ChannelId`]: the SPDZ engine runs on it exactly
//! as on a [`crate::tls`] network, from a plain (blocking) thread.
//!
//! **Connections.** Trust and handshake are those of [`crate::tls`] (`tls/verify.rs`,
//! `tls/handshake.rs`): every party's certificate is pinned, the higher id dials the lower id, and
//! after TLS the dialer sends a hello that the acceptor acknowledges — with the gateway's own magic
//! strings (`EPHGW01H` / `EPHGW01A`), so a plain `tls::connect` peer and a gateway refuse each
//! other. Unlike the one-shot `tls` acceptor, the gateway's acceptor runs forever and a second
//! connection from a party *replaces* the first (the party restarted). Dialers retry forever with
//! a backoff from 20 ms to 1 s; one attempt (TCP, TLS, hello, ack) is bounded by
//! [`GatewayConfig::connect_timeout`]. A certificate not in the table fails the TLS handshake and
//! is logged without contents. TCP keepalive is on, so an idle connection to a vanished host is
//! noticed eventually.
//!
//! **Handshake cap.** At most [`GatewayConfig::max_handshakes`] incoming connections may be in
//! their handshake (TCP accepted, TLS, hello and ack not yet done) at once; a connection accepted
//! beyond that is closed at once, before any byte is read from it, and logged with its remote
//! address only. So anyone who can reach the port can hold at most that many sockets, tasks and
//! TLS states for at most [`GatewayConfig::connect_timeout`] each, and cannot keep a real peer
//! out for longer than that: its dialer retries with backoff and gets in as soon as a slot
//! frees. A slot is released when its handshake ends (success, failure or timeout); established
//! connections do not count.
//!
//! **Wire format** inside a connection: the `u32` little-endian length-prefixed frames of
//! `tls/frame.rs`, whose payload is `channel id (16 bytes) ‖ channel payload`. A frame shorter
//! than 16 bytes is [`NetError::Malformed`] and ends the connection (it is then re-made). The
//! connection's frame limit is the gateway's [`NetConfig::max_frame`] plus the 16-byte id; a
//! channel opened with a smaller limit ([`Gateway::open_with`]) refuses larger frames with
//! [`NetError::FrameTooLarge`] on that channel only.
//!
//! **Per connection** a reader task demultiplexes frames to the channels' sources (the
//! [`crate::FrameSource`] of each channel's [`crate::PeerLink`]), and a writer task drains an
//! unbounded queue of `(channel, payload)`, coalescing small frames into one flush and writing
//! large payloads straight from their buffer (the 20-byte header goes first, the payload is never
//! copied). Each channel's sink prepends nothing itself: it queues `(id, payload)` on the peer's
//! current connection.
//!
//! **Invariants:**
//! - *A dropped connection fails its channels at once.* When a connection ends (EOF, reset, I/O
//!   error, a malformed frame, replacement by a new connection, shutdown), every channel open at
//!   that moment gets an error from that peer on its source — [`NetError::Disconnected`], or the
//!   peer's protocol violation ([`NetError::Malformed`], [`NetError::FrameTooLarge`]) if that is
//!   what ended it — and can no longer send to that peer, so a killed node fails the others'
//!   games immediately rather than at the receive deadline. Frames still queued for the old
//!   connection are dropped. Channels opened afterwards use the next connection.
//! - *Nothing crosses a connection's lifetime.* Frames read on a connection that has since been
//!   replaced are dropped; frames held for a not yet opened channel from a connection that
//!   dropped are replaced by that error, which the channel gets first when it opens.
//! - *Early frames wait, bounded.* Frames for a channel this party has not opened yet are held per
//!   (peer, channel) for [`GatewayConfig::pending_ttl`] and at most
//!   [`GatewayConfig::max_pending_bytes`] per peer (each frame counts its payload plus 64 bytes);
//!   beyond that the oldest are dropped with a warning naming peer and channel id. Opening the
//!   channel delivers them first, in order.
//! - *Closed means closed.* Dropping a channel's [`Network`] closes the channel locally; frames
//!   arriving for it during the next `pending_ttl` are dropped, not held again. (So frames that
//!   peers send between a close and a reopening of the same id are lost: reuse ids only for a
//!   conversation that starts over on every party.)
//! - *Unreachable peers delay, they do not lose.* Frames sent to a peer that is not connected
//!   wait in that peer's outbox until the connection comes up (the peer may be starting), each at
//!   most its channel's receive deadline (the receiver would have given up by then), in total at
//!   most `max_pending_bytes` (beyond that the send fails with [`NetError::Disconnected`]).
//! - Nothing a peer sends can panic the gateway; frame contents are never logged.
//!
//! **Session abort.** Channel id 0 (all zero bytes) is the gateway's own: its frames are
//! control frames, never delivered to a channel. One kind exists, *abort*
//! (`"ABRT" ‖ channel id ‖ code length (u8) ‖ code ‖ reason`, code ≤ 32 and reason ≤ 300 bytes of
//! UTF-8): [`Gateway::abort`] sends it to every connected peer when this party's part of a
//! session failed for a reason of its own (a store error, a program error only it sees, a failed
//! check), and the receiving gateway fails that channel's link from the sender with
//! [`NetError::Aborted`] — at once if the channel is open (a receive waiting on another peer
//! notices too, as for a lost link), when it opens otherwise (held like a frame). So peers learn
//! of the failure in one network trip instead of at their receive deadline. A malformed control
//! frame is dropped with a warning; the connection stays. Reasons are cleaned of control
//! characters on both sides and must never carry secret data.
//!
//! **Deliberately absent:** no application-level heartbeat (a silent peer is found by the
//! channels' receive deadlines and by TCP keepalive); no flow control between channels (one
//! channel's big frame delays the others' frames behind it); no resending of frames lost with a
//! connection — a channel that saw its peer's connection drop is over, and the caller retries
//! with a new channel.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use crate::tls::handshake::Plan;
use crate::tls::{self, PartyEndpoint, PartyIdentity, TlsNetConfig};
use crate::{FrameSink, NetConfig, NetError, Network, PartyId, PeerLink};

mod conn;
mod table;

use table::{Limits, Table};

/// Default of [`GatewayConfig::pending_ttl`].
pub const DEFAULT_PENDING_TTL: Duration = Duration::from_secs(30);
/// Default of [`GatewayConfig::max_pending_bytes`] (256 MiB).
pub const DEFAULT_MAX_PENDING_BYTES: usize = 256 << 20;
/// Default of [`GatewayConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`GatewayConfig::max_handshakes`].
pub const DEFAULT_MAX_HANDSHAKES: usize = 64;

/// Bytes of the channel id in front of every payload.
const ID_LEN: usize = 16;

/// The reserved channel of the gateway's own control frames (see "Session abort" in the module
/// docs). Derived ids are BLAKE3 outputs, which never equal it in practice.
pub(crate) const CONTROL: ChannelId = ChannelId([0; ID_LEN]);

/// Magic of an abort control frame.
const ABORT_MAGIC: &[u8; 4] = b"ABRT";
/// Bounds on an abort's code and reason (longer ones are cut at a character boundary).
const MAX_ABORT_CODE: usize = 32;
const MAX_ABORT_REASON: usize = 300;

/// An abort control frame: `"ABRT" ‖ channel id (16) ‖ code length (1) ‖ code ‖ reason`, code
/// and reason UTF-8 without control characters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Abort {
    pub(crate) id: ChannelId,
    pub(crate) code: String,
    pub(crate) reason: String,
}

/// `text` without control characters, at most `max` bytes, cut at a character boundary.
fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

impl Abort {
    fn new(id: ChannelId, code: &str, reason: &str) -> Abort {
        Abort {
            id,
            code: clean(code, MAX_ABORT_CODE),
            reason: clean(reason, MAX_ABORT_REASON),
        }
    }

    fn encode(&self) -> Bytes {
        let mut b = Vec::with_capacity(4 + ID_LEN + 1 + self.code.len() + self.reason.len());
        b.extend_from_slice(ABORT_MAGIC);
        b.extend_from_slice(&self.id.0);
        b.push(self.code.len() as u8);
        b.extend_from_slice(self.code.as_bytes());
        b.extend_from_slice(self.reason.as_bytes());
        Bytes::from(b)
    }

    /// `None` for anything malformed (wrong magic, short, bad lengths or UTF-8).
    pub(crate) fn decode(b: &[u8]) -> Option<Abort> {
        let rest = b.strip_prefix(ABORT_MAGIC.as_slice())?;
        if rest.len() < ID_LEN + 1 {
            return None;
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&rest[..ID_LEN]);
        let len = rest[ID_LEN] as usize;
        let rest = &rest[ID_LEN + 1..];
        if len > MAX_ABORT_CODE || rest.len() < len || rest.len() - len > MAX_ABORT_REASON {
            return None;
        }
        let code = std::str::from_utf8(&rest[..len]).ok()?;
        let reason = std::str::from_utf8(&rest[len..]).ok()?;
        // Cleaned again: whatever a peer sends ends up in logs and error messages.
        Some(Abort::new(ChannelId(id), code, reason))
    }
}

/// Configuration of one party's gateway.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// This party's id: an index into `parties`.
    pub me: PartyId,
    /// Every party, this one included, in id order: its address `host:port` and certificate.
    /// All parties must hold the same table.
    pub parties: Vec<PartyEndpoint>,
    /// This party's certificate and key; the certificate must equal `parties[me].cert_pem`.
    pub identity: PartyIdentity,
    /// Defaults of every channel ([`Gateway::open`]): receive deadline and frame limit. The frame
    /// limit is also the limit of the connections.
    pub net: NetConfig,
    /// Bound on one connection attempt (TCP, TLS, hello and ack), either side.
    pub connect_timeout: Duration,
    /// How long frames for a channel not yet opened here are kept (and how long a closed channel
    /// id is remembered).
    pub pending_ttl: Duration,
    /// Per peer, bound on the bytes held for channels not yet opened, and on the bytes waiting
    /// for the peer to connect.
    pub max_pending_bytes: usize,
    /// Bound on incoming connections in their handshake at once (unauthenticated: TCP accepted,
    /// TLS, hello and ack not done yet); connections beyond it are closed at once. At least 1.
    /// See the module docs ("Handshake cap").
    pub max_handshakes: usize,
}

impl GatewayConfig {
    /// A configuration with default [`NetConfig`], [`DEFAULT_CONNECT_TIMEOUT`],
    /// [`DEFAULT_PENDING_TTL`], [`DEFAULT_MAX_PENDING_BYTES`] and [`DEFAULT_MAX_HANDSHAKES`].
    pub fn new(me: PartyId, parties: Vec<PartyEndpoint>, identity: PartyIdentity) -> Self {
        GatewayConfig {
            me,
            parties,
            identity,
            net: NetConfig::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pending_ttl: DEFAULT_PENDING_TTL,
            max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
        }
    }

    fn tls(&self) -> TlsNetConfig {
        TlsNetConfig {
            me: self.me,
            parties: self.parties.clone(),
            identity: self.identity.clone(),
            net: self.net.clone(),
            connect_timeout: self.connect_timeout,
        }
    }

    /// Check the configuration and turn it into a connection plan.
    fn plan(&self) -> Result<Plan, NetError> {
        check_max_frame(self.net.max_frame)?;
        if self.connect_timeout.is_zero() {
            return Err(NetError::Config("connect_timeout must not be zero".into()));
        }
        if self.max_handshakes == 0 {
            return Err(NetError::Config(
                "max_handshakes must be at least 1 (no peer could connect)".into(),
            ));
        }
        self.tls().plan()
    }
}

/// The largest channel frame the wire format allows (the `u32` length covers the id as well).
const MAX_CHANNEL_FRAME: usize = u32::MAX as usize - ID_LEN;

fn check_max_frame(max_frame: usize) -> Result<(), NetError> {
    if max_frame > MAX_CHANNEL_FRAME {
        return Err(NetError::Config(format!(
            "max_frame {max_frame} does not fit the u32 frame length with the 16-byte channel \
             id; use at most {MAX_CHANNEL_FRAME}"
        )));
    }
    Ok(())
}

/// Names one channel; the same on every party. Shown (`Debug`, `Display`) as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub [u8; 16]);

impl ChannelId {
    /// The channel for (`purpose`, `name`), e.g. (`"game"`, game id): the first 16 bytes of
    /// BLAKE3 in key-derivation mode (context `"ephemeral net gateway channel id v1"`) over
    /// `len(purpose) ‖ purpose ‖ len(name) ‖ name`, lengths as `u64` little-endian, so that
    /// different pairs never meet by concatenation.
    pub fn derive(purpose: &str, name: &str) -> ChannelId {
        let mut h = blake3::Hasher::new_derive_key("ephemeral net gateway channel id v1");
        for part in [purpose, name] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        ChannelId(id)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelId({self})")
    }
}

/// The state of the connection to one peer, for health endpoints and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The peer's id.
    pub party: PartyId,
    /// The peer's address from the table.
    pub addr: String,
    /// Whether a connection stands now.
    pub connected: bool,
    /// When `connected` last changed (the gateway's start if it never did).
    pub since: SystemTime,
    /// Why the last connection ended, or the last attempt failed; `None` if neither happened.
    pub last_error: Option<NetError>,
    /// Connections established so far (more than one means it was re-made).
    pub connections: u64,
    /// Bytes written to the peer, frame headers and channel ids included (not TLS overhead).
    pub bytes_sent: u64,
    /// Bytes read from the peer, counted the same way.
    pub bytes_received: u64,
}

/// One party's gateway. Cheap to clone (an `Arc` inside); the gateway shuts down when
/// [`Gateway::shutdown`] is called or the last clone is dropped. See the module docs.
#[derive(Clone)]
pub struct Gateway {
    owner: Arc<Owner>,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("me", &self.owner.inner.me)
            .field("n", &self.owner.inner.n)
            .field("local_addr", &self.owner.inner.local_addr)
            .finish_non_exhaustive()
    }
}

/// Shuts the gateway down when the last handle goes. The tasks hold [`Inner`], not this.
struct Owner {
    inner: Arc<Inner>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.inner.shutdown();
    }
}

impl Gateway {
    /// Start the gateway of `cfg.me`. Must be called inside a tokio runtime, whose tasks then run
    /// the connections. Binds `parties[me].addr` unless `listener` is given (tests bind
    /// `127.0.0.1:0` and pass it). Returns at once: connections to peers are made in the
    /// background and re-made whenever they drop, until [`Gateway::shutdown`].
    pub async fn start(
        cfg: GatewayConfig,
        listener: Option<std::net::TcpListener>,
    ) -> Result<Gateway, NetError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NetError::Config(
                "Gateway::start must run inside a tokio runtime".into(),
            ));
        }
        let plan = cfg.plan()?;
        let listener = tls::bind(&cfg.tls(), listener).await?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| NetError::Config(format!("cannot read the listening address: {e}")))?;
        let acceptor = tls::handshake::acceptor(&plan)?;
        let (me, n) = (cfg.me, cfg.parties.len());
        let started = SystemTime::now();
        let peers = cfg
            .parties
            .iter()
            .enumerate()
            .map(|(party, p)| PeerSlot::new(party, p.addr.clone(), started))
            .collect();
        let limits = Limits {
            ttl: cfg.pending_ttl,
            max_bytes: cfg.max_pending_bytes,
        };
        let inner = Arc::new(Inner {
            me,
            n,
            net: cfg.net.clone(),
            connect_timeout: cfg.connect_timeout,
            pending_ttl: cfg.pending_ttl,
            max_pending_bytes: cfg.max_pending_bytes,
            plan,
            local_addr,
            handshakes: Arc::new(tokio::sync::Semaphore::new(cfg.max_handshakes)),
            refused_handshakes: AtomicU64::new(0),
            table: Mutex::new(Table::new(me, n, limits)),
            peers,
            shut: AtomicBool::new(false),
            shutdown: watch::Sender::new(false),
            changed: watch::Sender::new(0),
            next_gen: AtomicU64::new(1),
        });
        tokio::spawn(conn::accept_loop(inner.clone(), listener, acceptor));
        for peer in 0..me {
            tokio::spawn(conn::dial_loop(inner.clone(), peer));
        }
        tokio::spawn(conn::housekeeping(inner.clone()));
        tracing::info!(me, n, addr = %local_addr, "gateway started");
        Ok(Gateway {
            owner: Arc::new(Owner { inner }),
        })
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.owner.inner
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.inner().local_addr
    }

    /// This party's id.
    pub fn me(&self) -> PartyId {
        self.inner().me
    }

    /// Number of parties, this one included.
    pub fn n_parties(&self) -> usize {
        self.inner().n
    }

    /// Open channel `id` with every peer, with the gateway's [`GatewayConfig::net`].
    /// See [`Gateway::open_with`].
    pub fn open(&self, id: ChannelId) -> Result<Network, NetError> {
        self.open_with(id, self.inner().net.clone())
    }

    /// Open channel `id` with every peer, with receive deadline and frame limit `net`.
    ///
    /// The returned [`Network`] is used from plain (blocking) threads, e.g. inside
    /// `tokio::task::spawn_blocking`; it needs no async context. Frames peers sent for `id`
    /// before it was opened here are delivered first. Opening an id that is open already is a
    /// [`NetError::Config`] naming it. Dropping the network closes the channel here; frames that
    /// arrive for it later are dropped. The other parties open the same id on their side; the
    /// order does not matter.
    pub fn open_with(&self, id: ChannelId, net: NetConfig) -> Result<Network, NetError> {
        check_max_frame(net.max_frame)?;
        let inner = self.inner();
        let opened = {
            let mut table = inner.lock_table();
            // Checked under the table lock: a shutdown after this point fails the channel.
            if inner.is_shut_down() {
                return Err(NetError::Config(format!(
                    "the gateway of party {} is shut down; cannot open channel {id}",
                    inner.me
                )));
            }
            table.open(id, net.max_frame)?
        };
        // Built first, so that the channel is closed again if anything below fails.
        let guard = ChannelGuard {
            inner: inner.clone(),
            id,
            token: opened.token,
        };
        let deadline = nanos(net.recv_deadline);
        let links = opened
            .links
            .into_iter()
            .enumerate()
            .map(|(peer, link)| {
                link.map(|(source, dead)| PeerLink {
                    sink: Box::new(ChannelSink {
                        inner: inner.clone(),
                        peer,
                        id,
                        dead,
                        deadline: AtomicU64::new(deadline),
                    }) as Box<dyn FrameSink>,
                    source,
                })
            })
            .collect();
        let mut network = Network::from_links(inner.me, links, net)?;
        network.channel = Some(id.0);
        network.keep_alive(Box::new(guard));
        tracing::debug!(me = inner.me, channel = %id, "channel opened");
        Ok(network)
    }

    /// Conversations peers start: from now on, every frame that arrives for a channel not open
    /// here and whose payload starts with `magic` is held as usual (so [`Gateway::open`] delivers
    /// it) and reported as (peer, channel id) on the returned receiver. This is how a party learns
    /// of work another party starts (the node's tuple generation jobs, recovery queries): it
    /// checks the peer, then opens the channel. One subscriber per magic; a new call with the
    /// same magic replaces the old one.
    pub fn subscribe(
        &self,
        magic: &[u8],
    ) -> tokio::sync::mpsc::UnboundedReceiver<(PartyId, ChannelId)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.inner().lock_table().subscribe(magic.to_vec(), tx);
        rx
    }

    /// Per peer (every party but this one, in id order): connected or not, since when, the last
    /// error, byte counters.
    pub fn peer_status(&self) -> Vec<PeerStatus> {
        let inner = self.inner();
        inner
            .peers
            .iter()
            .filter(|p| p.party != inner.me)
            .map(|p| p.status())
            .collect()
    }

    /// Wait until every peer is connected, or until `timeout` has passed; then the error names
    /// the parties still missing (and the last error with the first of them).
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), NetError> {
        let inner = self.inner();
        let deadline = Instant::now() + timeout;
        let mut changes = inner.changed.subscribe();
        loop {
            let missing: Vec<PeerStatus> = self
                .peer_status()
                .into_iter()
                .filter(|s| !s.connected)
                .collect();
            let Some(first) = missing.first() else {
                return Ok(());
            };
            let shut = inner.is_shut_down();
            if shut
                || tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .is_err()
            {
                let list = missing
                    .iter()
                    .map(|s| s.party.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let last = first
                    .last_error
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |e| e.to_string());
                return Err(NetError::Io {
                    peer: first.party,
                    reason: format!(
                        "party {list} not connected to party {} {} (last error with party {}: \
                         {last})",
                        inner.me,
                        if shut {
                            "and the gateway is shut down".to_string()
                        } else {
                            format!("within {timeout:?}")
                        },
                        first.party
                    ),
                });
            }
        }
    }

    /// Tell every peer that this party's part of channel `id` failed for a reason of its own: a
    /// receive of theirs on that channel fails at once with [`NetError::Aborted`] naming this
    /// party, with `code` (a short label) and `reason` (at most 300 bytes; control characters
    /// are removed). Best effort: peers not connected are skipped, since they have lost the
    /// channel anyway. The reason travels to the peers and into their logs and errors: it must
    /// never hold secret data (shares, MACs, keys). See "Session abort" in the module docs.
    pub fn abort(&self, id: ChannelId, code: &str, reason: &str) {
        let inner = self.inner();
        let frame = Abort::new(id, code, reason).encode();
        for peer in (0..inner.n).filter(|&p| p != inner.me) {
            let st = inner.peers[peer].lock();
            if let Some(conn) = &st.conn {
                let _ = conn.queue.send(Outgoing {
                    id: CONTROL,
                    payload: frame.clone(),
                });
            }
        }
        tracing::debug!(me = inner.me, channel = %id, code, "session aborted; peers told");
    }

    /// Stop accepting and dialing, and close every connection. Open channels then see
    /// [`NetError::Disconnected`]; opening channels fails. The listening socket is closed by the
    /// runtime shortly after this returns.
    pub fn shutdown(&self) {
        self.inner().shutdown();
    }
}

/// Keep-alive of a channel's [`Network`]: closes the channel when the network drops.
struct ChannelGuard {
    inner: Arc<Inner>,
    id: ChannelId,
    token: u64,
}

impl Drop for ChannelGuard {
    fn drop(&mut self) {
        self.inner
            .lock_table()
            .close(self.id, self.token, Instant::now());
        tracing::debug!(me = self.inner.me, channel = %self.id, "channel closed");
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The sink of one channel towards one peer: queues `(id, payload)` on the peer's connection,
/// or in its outbox while it is not connected.
struct ChannelSink {
    inner: Arc<Inner>,
    peer: PartyId,
    id: ChannelId,
    /// Set once this channel's link to the peer has failed (its connection dropped).
    dead: Arc<AtomicBool>,
    /// The channel's receive deadline in force, in nanoseconds: how long a frame may wait in
    /// the outbox.
    deadline: AtomicU64,
}

impl FrameSink for ChannelSink {
    fn send_frame(&self, frame: Bytes) -> Result<(), ()> {
        let keep = Duration::from_nanos(self.deadline.load(Ordering::Relaxed));
        self.inner.send(self.peer, self.id, &self.dead, frame, keep)
    }

    fn set_recv_deadline(&self, deadline: Duration) {
        self.deadline.store(nanos(deadline), Ordering::Relaxed);
    }
}

/// One frame on its way to a peer.
struct Outgoing {
    id: ChannelId,
    payload: Bytes,
}

/// A frame waiting for its peer to connect.
struct Queued {
    out: Outgoing,
    expires: Instant,
}

/// The standing connection to a peer, as the senders see it.
struct Conn {
    gen: u64,
    queue: mpsc::UnboundedSender<Outgoing>,
    /// Tells the connection's tasks to stop (replaced or shut down).
    kill: Arc<Notify>,
}

/// Everything about one peer. Lock order: the table first, then a peer's `state`.
struct PeerSlot {
    party: PartyId,
    addr: String,
    state: Mutex<PeerState>,
    /// Generation of the standing connection, 0 if none. Changed only while holding both the
    /// table and `state`, so a reader holding the table lock sees the truth.
    current_gen: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

struct PeerState {
    conn: Option<Conn>,
    outbox: VecDeque<Queued>,
    outbox_bytes: usize,
    since: SystemTime,
    last_error: Option<NetError>,
    connections: u64,
}

impl PeerSlot {
    fn new(party: PartyId, addr: String, started: SystemTime) -> PeerSlot {
        PeerSlot {
            party,
            addr,
            state: Mutex::new(PeerState {
                conn: None,
                outbox: VecDeque::new(),
                outbox_bytes: 0,
                since: started,
                last_error: None,
                connections: 0,
            }),
            current_gen: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PeerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self) -> PeerStatus {
        let st = self.lock();
        PeerStatus {
            party: self.party,
            addr: self.addr.clone(),
            connected: st.conn.is_some(),
            since: st.since,
            last_error: st.last_error.clone(),
            connections: st.connections,
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }
}

impl PeerState {
    /// Drop outbox frames whose deadline has passed.
    fn expire_outbox(&mut self, now: Instant) {
        let before = self.outbox.len();
        let mut freed = 0;
        self.outbox.retain(|q| {
            let keep = q.expires > now;
            if !keep {
                freed += q.out.payload.len();
            }
            keep
        });
        self.outbox_bytes -= freed;
        if self.outbox.len() != before {
            tracing::debug!(
                dropped = before - self.outbox.len(),
                "frames for an unreachable peer expired"
            );
        }
    }
}

/// The gateway's shared state; the tasks and the channels hold it.
pub(crate) struct Inner {
    me: PartyId,
    n: usize,
    net: NetConfig,
    connect_timeout: Duration,
    pending_ttl: Duration,
    max_pending_bytes: usize,
    plan: Plan,
    local_addr: std::net::SocketAddr,
    /// One permit per incoming handshake in progress ([`GatewayConfig::max_handshakes`]).
    handshakes: Arc<tokio::sync::Semaphore>,
    /// Incoming connections closed because every handshake slot was taken.
    refused_handshakes: AtomicU64,
    table: Mutex<Table>,
    /// Indexed by party id; the slot of `me` is unused.
    peers: Vec<PeerSlot>,
    shut: AtomicBool,
    /// `true` once shut down; the tasks watch it.
    shutdown: watch::Sender<bool>,
    /// Bumped whenever a connection comes or goes ([`Gateway::wait_connected`] watches it).
    changed: watch::Sender<u64>,
    next_gen: AtomicU64,
}

impl Inner {
    fn lock_table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_shut_down(&self) -> bool {
        self.shut.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Queue one frame of channel `id` for `peer` (the sinks' path).
    fn send(
        &self,
        peer: PartyId,
        id: ChannelId,
        dead: &AtomicBool,
        payload: Bytes,
        keep: Duration,
    ) -> Result<(), ()> {
        let slot = &self.peers[peer];
        let mut st = slot.lock();
        // `dead` is set while holding this lock (see `Table::fail_peer`'s callers), so a frame
        // is either queued on the connection that then drops and fails the channel, or refused.
        if dead.load(Ordering::Acquire) || self.is_shut_down() {
            return Err(());
        }
        let out = Outgoing { id, payload };
        if let Some(conn) = &st.conn {
            // A closed queue means the connection is ending; the channel hears of it next.
            return conn.queue.send(out).map_err(|_| ());
        }
        let now = Instant::now();
        while st.outbox.front().is_some_and(|q| q.expires <= now) {
            if let Some(q) = st.outbox.pop_front() {
                st.outbox_bytes -= q.out.payload.len();
            }
        }
        let len = out.payload.len();
        if st.outbox_bytes + len > self.max_pending_bytes {
            tracing::warn!(
                me = self.me,
                peer,
                channel = %id,
                queued = st.outbox_bytes,
                "party is not connected and too much is queued for it; failing the send"
            );
            return Err(());
        }
        st.outbox_bytes += len;
        st.outbox.push_back(Queued {
            out,
            expires: now + keep,
        });
        Ok(())
    }

    /// Make a new connection to `peer` the standing one, replacing (and failing) an old one, and
    /// send it the outbox. Returns the connection's generation and its queue, or `None` if the
    /// gateway is shut down.
    fn install(
        &self,
        peer: PartyId,
        kill: Arc<Notify>,
    ) -> Option<(u64, mpsc::UnboundedReceiver<Outgoing>)> {
        let mut table = self.lock_table();
        let slot = &self.peers[peer];
        let mut st = slot.lock();
        if self.is_shut_down() {
            return None;
        }
        let gen = self.next_gen.fetch_add(1, Ordering::Relaxed);
        let (queue, rx) = mpsc::unbounded_channel();
        if let Some(old) = st.conn.take() {
            tracing::info!(
                me = self.me,
                peer,
                "a new connection from the party replaces the old one (it restarted?)"
            );
            old.kill.notify_one();
            table.fail_peer(peer, &NetError::Disconnected { peer }, Instant::now());
        }
        let now = Instant::now();
        st.expire_outbox(now);
        for q in st.outbox.drain(..) {
            // The receiver is in hand, so this cannot fail.
            let _ = queue.send(q.out);
        }
        st.outbox_bytes = 0;
        st.conn = Some(Conn { gen, queue, kill });
        st.connections += 1;
        st.since = SystemTime::now();
        slot.current_gen.store(gen, Ordering::Release);
        drop(st);
        drop(table);
        self.bump();
        tracing::info!(me = self.me, peer, "connected to party");
        Some((gen, rx))
    }

    /// Connection `gen` to `peer` ended with `err`: if it is still the standing one, fail every
    /// open channel's link to the peer and record why.
    fn conn_ended(&self, peer: PartyId, gen: u64, err: NetError) {
        let mut table = self.lock_table();
        let slot = &self.peers[peer];
        let mut st = slot.lock();
        if st.conn.as_ref().map(|c| c.gen) != Some(gen) {
            return;
        }
        st.conn = None;
        st.since = SystemTime::now();
        slot.current_gen.store(0, Ordering::Release);
        // Channels hear of the peer's protocol violations as such; everything else is a drop.
        let for_channels = match &err {
            NetError::Malformed { .. } | NetError::FrameTooLarge { .. } => err.clone(),
            _ => NetError::Disconnected { peer },
        };
        table.fail_peer(peer, &for_channels, Instant::now());
        st.last_error = Some(err.clone());
        drop(st);
        drop(table);
        self.bump();
        if self.is_shut_down() {
            return;
        }
        let next = if peer < self.me {
            "dialing it again"
        } else {
            "waiting for it to dial again"
        };
        match err {
            NetError::Disconnected { .. } => {
                tracing::warn!(me = self.me, peer, next, "connection to party lost")
            }
            e => tracing::warn!(me = self.me, peer, next, error = %e, "connection to party ended"),
        }
    }

    /// A connection attempt to `peer` failed with `err` (no connection stands).
    fn attempt_failed(&self, peer: PartyId, err: NetError) {
        let mut st = self.peers[peer].lock();
        if st.conn.is_some() || self.is_shut_down() {
            return;
        }
        let repeated = st.last_error.as_ref() == Some(&err);
        st.last_error = Some(err.clone());
        drop(st);
        if repeated {
            tracing::debug!(me = self.me, peer, error = %err, "connecting to party failed again");
        } else {
            tracing::warn!(me = self.me, peer, error = %err, "connecting to party failed; retrying");
        }
    }

    /// Frame of channel `id` read from `peer` on connection `gen`.
    fn deliver(&self, peer: PartyId, gen: u64, id: ChannelId, payload: Bytes) {
        let mut table = self.lock_table();
        if self.peers[peer].current_gen.load(Ordering::Acquire) != gen {
            // Read on a connection that has been replaced: it belongs to the past.
            return;
        }
        table.deliver(peer, id, payload, Instant::now());
    }

    /// Periodic cleanup: expired pending frames, closed ids and outbox frames.
    fn housekeeping(&self) {
        let now = Instant::now();
        self.lock_table().expire(now);
        for slot in &self.peers {
            slot.lock().expire_outbox(now);
        }
    }

    fn shutdown(&self) {
        if self.shut.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shutdown.send_replace(true);
        let mut table = self.lock_table();
        let now = Instant::now();
        for slot in &self.peers {
            if slot.party == self.me {
                continue;
            }
            let mut st = slot.lock();
            if let Some(conn) = st.conn.take() {
                conn.kill.notify_one();
                st.since = SystemTime::now();
            }
            st.outbox.clear();
            st.outbox_bytes = 0;
            slot.current_gen.store(0, Ordering::Release);
            table.fail_peer(
                slot.party,
                &NetError::Disconnected { peer: slot.party },
                now,
            );
        }
        drop(table);
        self.bump();
        tracing::info!(me = self.me, "gateway shut down");
    }
}

/// Dial `peer` (a lower id) as party `cfg.me` and complete the gateway handshake, returning the
/// raw TLS stream.
///
/// For tools and tests that speak the wire format themselves (a `u32` little-endian length, then
/// the 16-byte channel id and the payload); parties use [`Gateway::start`]. The peer's gateway
/// treats the connection as party `cfg.me`'s and replaces any connection it had from that party.
pub async fn dial_raw(
    cfg: &GatewayConfig,
    peer: PartyId,
) -> Result<tls::RawClientStream, NetError> {
    let plan = cfg.plan()?;
    if peer >= cfg.me {
        return Err(NetError::Config(format!(
            "party {} dials only lower ids, not party {peer}",
            cfg.me
        )));
    }
    conn::dial_once(&plan, peer, cfg.connect_timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_are_derived_and_shown_as_hex() {
        let a = ChannelId::derive("game", "g1");
        assert_eq!(a, ChannelId::derive("game", "g1"));
        assert_ne!(a, ChannelId::derive("game", "g2"));
        assert_ne!(a, ChannelId::derive("gameg", "1"));
        assert_ne!(ChannelId::derive("ab", "c"), ChannelId::derive("a", "bc"));
        let shown = a.to_string();
        assert_eq!(shown.len(), 32);
        assert!(shown.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(format!("{a:?}"), format!("ChannelId({shown})"));
        assert_eq!(ChannelId([0xab; 16]).to_string(), "ab".repeat(16));
    }

    #[test]
    fn abort_frames_round_trip_and_malformed_ones_are_refused() {
        let id = ChannelId::derive("game", "g");
        let a = Abort::new(id, "program_failed", "party 1: no\ninput");
        assert_eq!(a.reason, "party 1: noinput");
        let b = a.encode();
        assert_eq!(Abort::decode(&b), Some(a));
        // Bounded, cut at a character boundary.
        let long = Abort::new(id, &"c".repeat(40), &"é".repeat(400));
        assert_eq!(long.code.len(), MAX_ABORT_CODE);
        assert_eq!(long.reason.len(), MAX_ABORT_REASON);
        assert_eq!(Abort::decode(&long.encode()), Some(long));
        assert_eq!(Abort::decode(b"ABRT"), None);
        assert_eq!(Abort::decode(&b[..20]), None);
        let mut wrong = b.to_vec();
        wrong[0] = b'X';
        assert_eq!(Abort::decode(&wrong), None);
        let mut bad_len = b.to_vec();
        bad_len[4 + ID_LEN] = 200;
        assert_eq!(Abort::decode(&bad_len), None);
        let mut bad_utf8 = b.to_vec();
        bad_utf8.push(0xff);
        assert_eq!(Abort::decode(&bad_utf8), None);
    }

    #[test]
    fn start_outside_a_runtime_is_an_error() {
        let ids: Vec<_> = (0..2).map(|i| tls::dev_identity(i).unwrap()).collect();
        let table = ids
            .iter()
            .map(|id| PartyEndpoint {
                addr: "127.0.0.1:1".into(),
                cert_pem: id.cert_pem.clone(),
            })
            .collect();
        let cfg = GatewayConfig::new(0, table, ids[0].clone());
        let fut = std::pin::pin!(Gateway::start(cfg, None));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::future::Future::poll(fut, &mut cx) {
            std::task::Poll::Ready(Err(NetError::Config(m))) => assert!(m.contains("runtime")),
            other => panic!(
                "expected a configuration error, got {:?}",
                other.map(|r| r.map(drop))
            ),
        }
    }

    #[test]
    fn configuration_is_checked() {
        let ids: Vec<_> = (0..2).map(|i| tls::dev_identity(i).unwrap()).collect();
        let table: Vec<_> = ids
            .iter()
            .map(|id| PartyEndpoint {
                addr: "127.0.0.1:1".into(),
                cert_pem: id.cert_pem.clone(),
            })
            .collect();
        let mut cfg = GatewayConfig::new(0, table.clone(), ids[0].clone());
        assert!(cfg.plan().is_ok());
        cfg.net.max_frame = u32::MAX as usize - 10;
        assert!(matches!(cfg.plan(), Err(NetError::Config(m)) if m.contains("channel id")));
        let cfg = GatewayConfig::new(0, table, ids[1].clone());
        assert!(matches!(cfg.plan(), Err(NetError::Config(m)) if m.contains("identity")));
    }
}
