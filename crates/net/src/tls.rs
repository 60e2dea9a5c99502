//! TCP with mutual TLS (rustls, ring provider): one connection per pair of parties.
//!
//! Every party holds every party's certificate ([`TlsNetConfig::parties`]); trust is pinning,
//! nothing else (see `tls/verify.rs`). For each pair the higher id dials the lower id and the lower id
//! accepts (`tls/handshake.rs`). Once all N−1 connections stand, each gets a reader task and a writer
//! task that move length-prefixed frames between the socket and the channels of a [`PeerLink`]
//! (`tls/frame.rs`), and the links become an ordinary [`Network`].
//!
//! Two ways in:
//! - [`connect_blocking`] (the main path): the protocol runs on plain threads, so this starts a
//!   small tokio runtime of its own and ties it to the returned network;
//! - [`connect`]: from async code, spawning the tasks on the caller's runtime.
//!
//! Tests and local runs bind `127.0.0.1:0` themselves and pass the listener
//! ([`connect_blocking_with`], [`connect_with`]), so no port is ever guessed;
//! [`loopback_cluster`] does all of that for a whole cloud in one process.
//!
//! **Closing:** dropping the [`Network`] closes every writer queue; each writer sends what is
//! still queued, then closes its TLS session, which the peer sees as [`NetError::Disconnected`].
//! The readers keep reading (and discarding) until every peer has closed its side as well, so no
//! reset destroys frames in flight. All of this is bounded by [`NetConfig::recv_deadline`]; with
//! [`connect_blocking`] the drop waits for it, which is quick unless a peer is unreachable.
//!
//! **Many channels per connection:** that is the [`crate::gateway`], which reuses this module's
//! pinning, handshake and frame codec for long-lived connections carrying many channels.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::runtime::{Handle, Runtime};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{timeout_at, Instant};

use crate::{NetConfig, NetError, Network, PartyId, PeerLink};

mod certs;
pub(crate) mod frame;
pub(crate) mod handshake;
mod loopback;
mod verify;

pub use loopback::loopback_cluster;

use certs::PinTable;
pub use certs::{dev_identity, PartyIdentity};
use handshake::Plan;

/// The byte stream under TLS: a TCP socket (with `TCP_NODELAY`) behind a read buffer.
pub type Socket = tokio::io::BufReader<TcpStream>;

/// The dialing end of an established connection, as [`dial_raw`] returns it.
pub type RawClientStream = tokio_rustls::client::TlsStream<Socket>;

/// Default bound on establishing all connections.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach one party and how to recognise it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyEndpoint {
    /// `host:port` the party listens on (used by parties with a higher id to dial it).
    pub addr: String,
    /// The party's certificate, PEM. Public.
    pub cert_pem: String,
}

/// Configuration of one party's TLS network.
#[derive(Clone, Debug)]
pub struct TlsNetConfig {
    /// This party's id: an index into `parties`.
    pub me: PartyId,
    /// Every party, this one included, in id order. All parties must hold the same table.
    pub parties: Vec<PartyEndpoint>,
    /// This party's certificate and key; the certificate must equal `parties[me].cert_pem`.
    pub identity: PartyIdentity,
    /// Receive deadline and frame limit, as for every transport.
    pub net: NetConfig,
    /// Bound on establishing all connections, from the call to [`connect`] on.
    pub connect_timeout: Duration,
}

impl TlsNetConfig {
    /// A configuration with default [`NetConfig`] and [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn new(me: PartyId, parties: Vec<PartyEndpoint>, identity: PartyIdentity) -> Self {
        TlsNetConfig {
            me,
            parties,
            identity,
            net: NetConfig::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Check the configuration and turn it into a connection plan.
    pub(crate) fn plan(&self) -> Result<Plan, NetError> {
        let n = self.parties.len();
        if self.me >= n {
            return Err(NetError::Config(format!(
                "party id {} is not below the party count {n}",
                self.me
            )));
        }
        if u32::try_from(n).is_err() {
            return Err(NetError::Config(format!(
                "{n} parties are more than the wire format allows"
            )));
        }
        if u32::try_from(self.net.max_frame).is_err() {
            return Err(NetError::Config(format!(
                "max_frame {} does not fit the u32 frame length; use at most {}",
                self.net.max_frame,
                u32::MAX
            )));
        }
        let pins = PinTable::from_pems(self.parties.iter().map(|p| p.cert_pem.as_str()))?;
        let my_cert = self.identity.cert_der()?;
        if pins.cert(self.me).map(|c| c.as_ref()) != Some(my_cert.as_ref()) {
            return Err(NetError::Config(format!(
                "this party's identity certificate is not the one listed for party {} in the \
                 table; check `me` and the certificate files",
                self.me
            )));
        }
        Ok(Plan {
            me: self.me,
            addrs: self.parties.iter().map(|p| p.addr.clone()).collect(),
            pins,
            my_cert,
            my_key: self.identity.private_key()?,
            connect_timeout: self.connect_timeout,
        })
    }
}

/// Connect to all parties from async code; tasks run on the current tokio runtime. Party `me`
/// listens on `parties[me].addr` if any party has a higher id.
pub async fn connect(cfg: TlsNetConfig) -> Result<Network, NetError> {
    connect_with(cfg, None).await
}

/// Like [`connect`], but accept on `listener` (already bound, e.g. to port 0) instead of binding
/// `parties[me].addr`. The listener is closed once every expected party has connected.
pub async fn connect_with(
    cfg: TlsNetConfig,
    listener: Option<std::net::TcpListener>,
) -> Result<Network, NetError> {
    let handle = Handle::try_current().map_err(|_| {
        NetError::Config(
            "tls::connect must run inside a tokio runtime; use tls::connect_blocking from plain \
             threads"
                .into(),
        )
    })?;
    let linger = cfg.net.recv_deadline;
    let (mut net, tasks) = establish(cfg, listener).await?;
    net.keep_alive(Box::new(TaskGuard {
        handle,
        tasks: Some(tasks),
        linger,
    }));
    Ok(net)
}

/// Connect to all parties from synchronous code. Starts a two-thread tokio runtime that runs the
/// socket tasks and lives exactly as long as the returned network. Must not be called from inside
/// an async context.
pub fn connect_blocking(cfg: TlsNetConfig) -> Result<Network, NetError> {
    connect_blocking_with(cfg, None)
}

/// Like [`connect_blocking`], but accept on an already bound `listener` (see [`connect_with`]).
pub fn connect_blocking_with(
    cfg: TlsNetConfig,
    listener: Option<std::net::TcpListener>,
) -> Result<Network, NetError> {
    if Handle::try_current().is_ok() {
        return Err(NetError::Config(
            "tls::connect_blocking was called inside a tokio runtime; use tls::connect(..).await \
             there"
                .into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("net-party-{}", cfg.me))
        .enable_all()
        .build()
        .map_err(|e| NetError::Config(format!("cannot start the network runtime: {e}")))?;
    let linger = cfg.net.recv_deadline;
    let (mut net, tasks) = rt.block_on(establish(cfg, listener))?;
    net.keep_alive(Box::new(RuntimeGuard {
        rt: Some(rt),
        tasks: Some(tasks),
        linger,
    }));
    Ok(net)
}

/// Dial `peer` as party `cfg.me` and complete the handshake, returning the raw TLS stream.
///
/// For tools and tests that speak the frame format themselves (a `u32` little-endian length,
/// then the payload); the protocol layer uses [`connect`] or [`connect_blocking`].
pub async fn dial_raw(cfg: &TlsNetConfig, peer: PartyId) -> Result<RawClientStream, NetError> {
    let plan = cfg.plan()?;
    if peer >= cfg.me {
        return Err(NetError::Config(format!(
            "party {} dials only lower ids, not party {peer}",
            cfg.me
        )));
    }
    handshake::dial(&plan, peer, Instant::now() + cfg.connect_timeout).await
}

/// The tasks serving one network's links.
struct LinkTasks {
    readers: Vec<JoinHandle<()>>,
    writers: Vec<JoinHandle<()>>,
}

impl LinkTasks {
    /// Close gracefully within `linger`: the writers send what is queued (their queues are closed
    /// once the links are dropped) and close their TLS sessions; the readers discard whatever
    /// still arrives until each peer has closed too. Whatever is left at the deadline is aborted.
    async fn close(self, linger: Duration) {
        let deadline = Instant::now() + linger;
        for task in self.writers.into_iter().chain(self.readers) {
            let abort = task.abort_handle();
            if timeout_at(deadline, task).await.is_err() {
                tracing::debug!("a connection did not close within the linger time; dropping it");
                abort.abort();
            }
        }
    }
}

/// Keep-alive of [`connect`]: closes the links on the caller's runtime when the network drops.
struct TaskGuard {
    handle: Handle,
    tasks: Option<LinkTasks>,
    linger: Duration,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            // If that runtime is already shut down, the tasks are gone and this does nothing.
            drop(self.handle.spawn(tasks.close(self.linger)));
        }
    }
}

/// Keep-alive of [`connect_blocking`]: owns the runtime, closes the links, then shuts it down.
struct RuntimeGuard {
    rt: Option<Runtime>,
    tasks: Option<LinkTasks>,
    linger: Duration,
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        let (Some(rt), Some(tasks)) = (self.rt.take(), self.tasks.take()) else {
            return;
        };
        if Handle::try_current().is_ok() {
            // Blocking here would panic inside an async context: close without draining.
            tracing::debug!("network dropped inside an async context; closing without draining");
            rt.shutdown_background();
            return;
        }
        rt.block_on(tasks.close(self.linger));
        rt.shutdown_timeout(Duration::from_secs(1));
    }
}

/// An established, authenticated connection to one peer.
type Stream = tokio_rustls::TlsStream<Socket>;

/// Establish every connection, then start the reader and writer task of each.
async fn establish(
    cfg: TlsNetConfig,
    listener: Option<std::net::TcpListener>,
) -> Result<(Network, LinkTasks), NetError> {
    let plan = Arc::new(cfg.plan()?);
    let (me, n) = (cfg.me, cfg.parties.len());
    let deadline = Instant::now() + cfg.connect_timeout;

    let mut setup: JoinSet<Result<Vec<(PartyId, Stream)>, NetError>> = JoinSet::new();
    if me + 1 < n {
        let listener = bind(&cfg, listener).await?;
        setup.spawn(handshake::accept_all(plan.clone(), listener, deadline));
    }
    for peer in 0..me {
        let plan = plan.clone();
        setup.spawn(async move {
            let tls = handshake::dial(&plan, peer, deadline).await?;
            tracing::debug!(me, peer, "connected to party");
            Ok(vec![(peer, tokio_rustls::TlsStream::Client(tls))])
        });
    }
    let mut streams: Vec<Option<Stream>> = (0..n).map(|_| None).collect();
    while let Some(joined) = setup.join_next().await {
        // Returning early drops `setup`, which aborts the other connection attempts.
        let done = joined.map_err(|e| {
            NetError::Tls(format!("internal error: connection setup failed: {e}"))
        })??;
        for (peer, tls) in done {
            streams[peer] = Some(tls);
        }
    }

    let mut tasks = LinkTasks {
        readers: Vec::new(),
        writers: Vec::new(),
    };
    let mut links = Vec::with_capacity(n);
    for (peer, stream) in streams.into_iter().enumerate() {
        links.push(match stream {
            Some(tls) => Some(spawn_link(tls, peer, cfg.net.max_frame, &mut tasks)),
            None if peer == me => None,
            None => {
                return Err(NetError::Tls(format!(
                    "internal error: no connection to party {peer} after setup"
                )))
            }
        });
    }
    let net = Network::from_links(me, links, cfg.net.clone())?;
    tracing::info!(me, n, "TLS network established");
    Ok((net, tasks))
}

/// The listener to accept on: the given one, or a fresh bind of `parties[me].addr`.
pub(crate) async fn bind(
    cfg: &TlsNetConfig,
    given: Option<std::net::TcpListener>,
) -> Result<tokio::net::TcpListener, NetError> {
    let addr = &cfg.parties[cfg.me].addr;
    match given {
        Some(l) => l
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(l))
            .map_err(|e| NetError::Config(format!("cannot use the given listener: {e}"))),
        None => tokio::net::TcpListener::bind(addr.as_str())
            .await
            .map_err(|e| {
                NetError::Config(format!(
                "cannot listen on {addr}: {e}; check that the address is this machine's and that \
                 no other process uses the port"
            ))
            }),
    }
}

/// Start the reader and writer task of one established connection.
fn spawn_link(tls: Stream, peer: PartyId, max_frame: usize, tasks: &mut LinkTasks) -> PeerLink {
    let (read_half, write_half) = tokio::io::split(tls);
    let (frames_tx, frames_rx) = flume::unbounded();
    let (queue_tx, queue_rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = Arc::new(tokio::sync::Notify::new());
    let reader = tokio::io::BufReader::with_capacity(64 << 10, read_half);
    tasks.readers.push(tokio::spawn(frame::run_reader(
        reader,
        peer,
        max_frame,
        frames_tx.clone(),
        stop.clone(),
    )));
    tasks.writers.push(tokio::spawn(frame::run_writer(
        write_half, peer, queue_rx, frames_tx, stop,
    )));
    PeerLink {
        sink: Box::new(frame::QueueSink(queue_tx)),
        source: frames_rx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n: usize) -> TlsNetConfig {
        let ids: Vec<_> = (0..n).map(|i| dev_identity(i).unwrap()).collect();
        let table = ids
            .iter()
            .map(|id| PartyEndpoint {
                addr: "127.0.0.1:1".into(),
                cert_pem: id.cert_pem.clone(),
            })
            .collect();
        TlsNetConfig::new(0, table, ids[0].clone())
    }

    #[test]
    fn plan_refuses_inconsistent_configurations() {
        assert!(config(3).plan().is_ok());

        let mut c = config(3);
        c.me = 3;
        assert!(matches!(c.plan(), Err(NetError::Config(m)) if m.contains("party count")));

        let mut c = config(3);
        c.parties[2].cert_pem = c.parties[1].cert_pem.clone();
        assert!(matches!(c.plan(), Err(NetError::Config(m)) if m.contains("same certificate")));

        let mut c = config(3);
        c.identity = dev_identity(0).unwrap();
        assert!(matches!(c.plan(), Err(NetError::Config(m)) if m.contains("identity")));

        let mut c = config(2);
        c.net.max_frame = u32::MAX as usize + 1;
        assert!(matches!(c.plan(), Err(NetError::Config(m)) if m.contains("u32")));

        let mut c = config(2);
        c.parties[1].cert_pem = "not a certificate".into();
        assert!(matches!(c.plan(), Err(NetError::Config(m)) if m.contains("party 1")));
    }

    #[test]
    fn async_connect_outside_a_runtime_is_an_error() {
        let fut = std::pin::pin!(connect(config(2)));
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
    fn dial_raw_only_dials_lower_ids() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(dial_raw(&config(2), 1)).unwrap_err();
        assert!(matches!(err, NetError::Config(_)), "{err}");
    }
}
