//! The gateway's tasks: the acceptor loop, one dial loop per lower party, the reader and writer of
//! each connection, and housekeeping.
//!
//! Every task ends when the gateway shuts down (it watches `Inner::shutdown`, and connections
//! are told through their `kill`). A connection's reader and writer run as tasks of their own
//! (so decryption and encryption can use different cores) and are aborted together when either
//! ends.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tokio_rustls::{client, TlsAcceptor, TlsStream};

use super::{ChannelId, Inner, Outgoing, ID_LEN};
use crate::tls::frame::{io_error, read_frame, HEADER_LEN};
use crate::tls::handshake::{self, Plan, GATEWAY};
use crate::tls::Socket;
use crate::{NetError, PartyId};

/// Pause after a failed attempt or a dropped connection: doubles from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Reader and writer buffers (the writer coalesces small frames up to this size per flush; larger
/// payloads bypass it).
const BUFFER: usize = 64 << 10;
/// TCP keepalive: first probe after this much idle time.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Resolves once the gateway is shut down.
async fn shut_down(inner: &Inner) {
    let mut rx = inner.shutdown.subscribe();
    // An error means the sender is gone, which happens only with `inner` itself.
    let _ = rx.wait_for(|s| *s).await;
}

fn keepalive(tcp: &TcpStream) {
    let ka = socket2::TcpKeepalive::new().with_time(KEEPALIVE_IDLE);
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    let ka = ka.with_interval(KEEPALIVE_INTERVAL);
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot enable TCP keepalive");
    }
}

/// One connection attempt to `peer`: TCP (one try), TLS, hello and ack, all within `limit`.
pub(super) async fn dial_once(
    plan: &Plan,
    peer: PartyId,
    limit: Duration,
) -> Result<client::TlsStream<Socket>, NetError> {
    let deadline = Instant::now() + limit;
    let addr = &plan.addrs[peer];
    let tcp = match timeout_at(deadline, TcpStream::connect(addr.as_str())).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return Err(NetError::Io {
                peer,
                reason: format!("cannot reach party {peer} at {addr}: {e}"),
            })
        }
        Err(_) => {
            return Err(NetError::Io {
                peer,
                reason: format!("connecting to party {peer} at {addr} took over {limit:?}"),
            })
        }
    };
    keepalive(&tcp);
    handshake::dial_over(plan, peer, tcp, deadline, GATEWAY).await
}

/// Keep a connection to `peer` (a lower id) standing until shutdown.
pub(super) async fn dial_loop(inner: Arc<Inner>, peer: PartyId) {
    let mut pause = BACKOFF_FIRST;
    loop {
        let attempt = tokio::select! {
            _ = shut_down(&inner) => return,
            r = dial_once(&inner.plan, peer, inner.connect_timeout) => r,
        };
        match attempt {
            Ok(tls) => {
                let began = Instant::now();
                run_connection(&inner, peer, TlsStream::Client(tls)).await;
                if began.elapsed() >= BACKOFF_MAX {
                    // The connection stood for a while: this is a fresh problem.
                    pause = BACKOFF_FIRST;
                }
            }
            Err(e) => inner.attempt_failed(peer, e),
        }
        tokio::select! {
            _ = shut_down(&inner) => return,
            _ = sleep(pause) => {}
        }
        pause = (pause * 2).min(BACKOFF_MAX);
    }
}

/// Accept connections from higher parties until shutdown; each admitted one replaces the
/// party's previous connection.
pub(super) async fn accept_loop(inner: Arc<Inner>, listener: TcpListener, acceptor: TlsAcceptor) {
    let me = inner.me;
    loop {
        let incoming = tokio::select! {
            _ = shut_down(&inner) => return,
            incoming = listener.accept() => incoming,
        };
        match incoming {
            Ok((tcp, remote)) => {
                // The handshake cap: no free slot means the connection is closed unread.
                let Ok(slot) = inner.handshakes.clone().try_acquire_owned() else {
                    drop(tcp);
                    refused_handshake(&inner, remote);
                    continue;
                };
                let (inner, acceptor) = (inner.clone(), acceptor.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = shut_down(&inner) => {}
                        _ = admit(&inner, tcp, remote, &acceptor, slot) => {}
                    }
                });
            }
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tracing::warn!(me, error = %e, "accepting a connection failed");
                sleep(BACKOFF_FIRST).await;
            }
        }
    }
}

/// Logs a connection closed by the handshake cap: the first one and every 1024th as a warning
/// (with the running count), the others at debug level, so a flood cannot flood the log.
/// Only the remote address is logged.
fn refused_handshake(inner: &Inner, remote: std::net::SocketAddr) {
    let me = inner.me;
    let count = inner.refused_handshakes.fetch_add(1, Ordering::Relaxed) + 1;
    if count == 1 || count.is_multiple_of(1024) {
        tracing::warn!(
            me,
            %remote,
            refused = count,
            "too many incoming handshakes in progress; closed a new connection at once"
        );
    } else {
        tracing::debug!(me, %remote, "handshake cap reached; closed a new connection");
    }
}

/// Handshake with one incoming connection and, if it is a party's, serve it until it ends.
/// `slot` is its place under the handshake cap, given back as soon as the handshake is over.
async fn admit(
    inner: &Arc<Inner>,
    tcp: TcpStream,
    remote: std::net::SocketAddr,
    acceptor: &TlsAcceptor,
    slot: tokio::sync::OwnedSemaphorePermit,
) {
    let me = inner.me;
    keepalive(&tcp);
    let handshake = async {
        let (peer, mut tls) = handshake::admit_hello(&inner.plan, tcp, acceptor, GATEWAY).await?;
        handshake::send_ack(&inner.plan, peer, &mut tls, GATEWAY).await?;
        Ok::<_, NetError>((peer, tls))
    };
    let outcome = timeout(inner.connect_timeout, handshake).await;
    drop(slot);
    match outcome {
        Ok(Ok((peer, tls))) => {
            tracing::debug!(me, peer, %remote, "accepted party");
            run_connection(inner, peer, TlsStream::Server(tls)).await;
        }
        Ok(Err(e)) => {
            tracing::warn!(me, %remote, error = %e, "refused an incoming connection");
        }
        Err(_) => {
            tracing::warn!(me, %remote, "incoming connection did not finish its handshake in time");
        }
    }
}

/// Aborts the task when dropped, so that a connection's tasks never outlive it.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn joined(peer: PartyId, r: Result<NetError, tokio::task::JoinError>) -> NetError {
    r.unwrap_or_else(|e| NetError::Io {
        peer,
        reason: format!("internal error: a connection task failed: {e}"),
    })
}

/// Serve an established connection to `peer` until it ends, is replaced, or the gateway shuts
/// down; then fail the channels that used it.
async fn run_connection(inner: &Arc<Inner>, peer: PartyId, tls: TlsStream<Socket>) {
    let kill = Arc::new(Notify::new());
    let Some((gen, queue)) = inner.install(peer, kill.clone()) else {
        return;
    };
    let (read_half, write_half) = tokio::io::split(tls);
    let reader = BufReader::with_capacity(BUFFER, read_half);
    let mut reader = AbortOnDrop(tokio::spawn(read_loop(inner.clone(), peer, gen, reader)));
    let mut writer = AbortOnDrop(tokio::spawn(write_loop(
        inner.clone(),
        peer,
        write_half,
        queue,
    )));
    let end = tokio::select! {
        r = &mut reader.0 => joined(peer, r),
        w = &mut writer.0 => joined(peer, w),
        _ = kill.notified() => NetError::Disconnected { peer },
    };
    inner.conn_ended(peer, gen, end);
    // Dropping `reader` and `writer` aborts both tasks, which closes the socket.
}

/// Read frames and hand them to the channel table until the connection fails.
async fn read_loop<R: AsyncRead + Unpin>(
    inner: Arc<Inner>,
    peer: PartyId,
    gen: u64,
    mut r: R,
) -> NetError {
    // The gateway's limit was checked to fit the u32 length together with the id.
    let max = inner.net.max_frame + ID_LEN;
    let received = &inner.peers[peer].bytes_received;
    loop {
        let frame = match read_frame(&mut r, peer, max).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return NetError::Disconnected { peer },
            Err(e) => return e,
        };
        received.fetch_add((HEADER_LEN + frame.len()) as u64, Ordering::Relaxed);
        if frame.len() < ID_LEN {
            return NetError::Malformed {
                peer,
                reason: format!(
                    "a frame of {} bytes is shorter than its {ID_LEN}-byte channel id",
                    frame.len()
                ),
            };
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&frame[..ID_LEN]);
        inner.deliver(peer, gen, ChannelId(id), frame.slice(ID_LEN..));
    }
}

/// Write one frame: the header (length and channel id) goes through the buffer, a large payload
/// straight to the stream. Returns the bytes written.
async fn write_out<W: AsyncWrite + Unpin>(w: &mut W, out: &Outgoing) -> io::Result<u64> {
    let total = ID_LEN + out.payload.len();
    let len = u32::try_from(total).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a frame of {total} bytes does not fit the u32 length prefix"),
        )
    })?;
    let mut header = [0u8; HEADER_LEN + ID_LEN];
    header[..HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    header[HEADER_LEN..].copy_from_slice(&out.id.0);
    w.write_all(&header).await?;
    w.write_all(&out.payload).await?;
    Ok((HEADER_LEN + total) as u64)
}

/// Write queued frames until writing fails, coalescing whatever is queued into one flush.
async fn write_loop<W: AsyncWrite + Unpin>(
    inner: Arc<Inner>,
    peer: PartyId,
    w: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) -> NetError {
    let mut w = BufWriter::with_capacity(BUFFER, w);
    let sent = &inner.peers[peer].bytes_sent;
    let result: io::Result<()> = async {
        while let Some(out) = queue.recv().await {
            // Counted when handed to TLS, so the count is never behind what the peer has seen.
            sent.fetch_add(write_out(&mut w, &out).await?, Ordering::Relaxed);
            drop(out);
            while let Ok(out) = queue.try_recv() {
                sent.fetch_add(write_out(&mut w, &out).await?, Ordering::Relaxed);
            }
            w.flush().await?;
        }
        Ok(())
    }
    .await;
    match result {
        // The queue closed: the connection is no longer the standing one.
        Ok(()) => NetError::Disconnected { peer },
        Err(e) => io_error(peer, &e, true),
    }
}

/// Expire held frames, closed ids and outbox frames now and then, until shutdown.
pub(super) async fn housekeeping(inner: Arc<Inner>) {
    let every = (inner.pending_ttl / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shut_down(&inner) => return,
            _ = sleep(every) => inner.housekeeping(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn frames_carry_length_then_id_then_payload() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut wire = Vec::new();
            let id = ChannelId([7; 16]);
            let n = write_out(
                &mut wire,
                &Outgoing {
                    id,
                    payload: Bytes::from_static(b"abc"),
                },
            )
            .await
            .unwrap();
            assert_eq!(n, 4 + 16 + 3);
            assert_eq!(&wire[..4], &19u32.to_le_bytes());
            assert_eq!(&wire[4..20], &[7; 16]);
            assert_eq!(&wire[20..], b"abc");
            let frame = read_frame(&mut wire.as_slice(), 0, 100)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(frame.len(), 19);
        });
    }
}
