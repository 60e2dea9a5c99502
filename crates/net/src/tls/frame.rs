//! Length-prefixed frames over a byte stream, and the reader and writer task of one connection.
//!
//! **Wire format:** a frame is a `u32` little-endian payload length followed by that many payload
//! bytes. Nothing else is on the wire after the connection handshake.
//!
//! **Invariants:**
//! - A length above the receiver's `max_frame` is refused *before* anything is allocated
//!   ([`NetError::FrameTooLarge`]), and the connection is closed.
//! - The payload buffer grows with the bytes that actually arrive, never ahead of them by more than
//!   [`GROWTH_STEP`] or the bytes already read (whichever is larger), and never beyond the announced
//!   length: a peer that announces `max_frame` and then sends nothing costs at most 64 KiB, not
//!   `max_frame`. Growth is geometric (each step at most doubles the buffer), so a large frame
//!   costs O(log len) reallocations and ends in a buffer of exactly its length.
//! - A frame that ends early (peer closed mid-frame) is [`NetError::Malformed`], never a short
//!   frame.
//! - EOF exactly at a frame boundary is [`NetError::Disconnected`].
//! - Nothing a peer sends can panic the reader: every length and read result is checked.
//! - Frame contents are never logged.
//!
//! **Multiplexing.** The reader hands each complete frame to an [`Inbox`]; here the inbox is the
//! `flume::Sender` behind one [`crate::PeerLink`]. The [`crate::gateway`] reuses
//! [`read_frame`] and [`io_error`] (and the handshake [`write_frame`]) but runs its own reader and
//! writer tasks, which put a channel id in front of every payload and demultiplex on it.

use flume::Sender;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use crate::{FrameSink, NetError, PartyId};

/// Bytes in a frame header.
pub(crate) const HEADER_LEN: usize = 4;

/// The payload buffer's first allocation for a large frame, and its smallest growth step.
pub(crate) const GROWTH_STEP: usize = 64 << 10;

/// Capacity of the writer's buffer: small frames (and every header) are coalesced up to this size
/// into one TLS record; larger payloads bypass the buffer.
const WRITE_BUFFER: usize = 64 << 10;

/// Map an I/O error to a [`NetError`]. `at_boundary` says whether the stream was between frames.
pub(crate) fn io_error(peer: PartyId, e: &io::Error, at_boundary: bool) -> NetError {
    use io::ErrorKind::*;
    match e.kind() {
        UnexpectedEof if !at_boundary => NetError::Malformed {
            peer,
            reason: "the connection ended in the middle of a frame (truncated frame)".into(),
        },
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected => {
            NetError::Disconnected { peer }
        }
        _ => NetError::Io {
            peer,
            reason: e.to_string(),
        },
    }
}

/// Read one frame of at most `max` payload bytes. `Ok(None)` means the peer closed the stream
/// cleanly between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    peer: PartyId,
    max: usize,
) -> Result<Option<Bytes>, NetError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]).await {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(NetError::Malformed {
                    peer,
                    reason: format!(
                        "the connection ended after {got} of {HEADER_LEN} header bytes \
                         (truncated frame)"
                    ),
                })
            }
            Ok(k) => got += k,
            Err(e) if got == 0 && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(io_error(peer, &e, got == 0)),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > max {
        return Err(NetError::FrameTooLarge { peer, len, max });
    }
    let mut buf = Vec::new();
    read_payload(r, peer, len, &mut buf).await?;
    Ok(Some(Bytes::from(buf)))
}

/// Read a payload of `len` bytes into `buf` (empty on entry), growing it only as bytes arrive (see
/// the module docs).
async fn read_payload<R: AsyncRead + Unpin>(
    r: &mut R,
    peer: PartyId,
    len: usize,
    buf: &mut Vec<u8>,
) -> Result<(), NetError> {
    // `take` keeps `read_buf` from reading past this frame into the next one.
    let mut payload = (&mut *r).take(len as u64);
    while buf.len() < len {
        if buf.len() == buf.capacity() {
            // At most double what has arrived (at least one step), never past `len`.
            let step = buf.len().max(GROWTH_STEP).min(len - buf.len());
            buf.reserve_exact(step);
        }
        match payload.read_buf(buf).await {
            Ok(0) => {
                return Err(NetError::Malformed {
                    peer,
                    reason: format!(
                        "the connection ended after {} of {len} payload bytes (truncated frame)",
                        buf.len()
                    ),
                })
            }
            Ok(_) => {}
            Err(e) => return Err(io_error(peer, &e, false)),
        }
    }
    Ok(())
}

/// Write one frame (header and payload); the caller flushes.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a frame of {} bytes does not fit the u32 length prefix",
                frame.len()
            ),
        )
    })?;
    w.write_all(&len.to_le_bytes()).await?;
    w.write_all(frame).await
}

/// Where a connection's reader delivers frames. See the module docs for the multiplexing plan.
pub(crate) trait Inbox: Send + 'static {
    /// Hand over one frame. `false` means nobody listens any more; the reader then stops.
    fn deliver(&mut self, frame: Bytes) -> bool;
    /// Report the error that ended the connection (best effort: nobody may be listening).
    fn fail(&mut self, err: NetError);
}

impl Inbox for Sender<Result<Bytes, NetError>> {
    fn deliver(&mut self, frame: Bytes) -> bool {
        self.send(Ok(frame)).is_ok()
    }

    fn fail(&mut self, err: NetError) {
        let _ = self.send(Err(err));
    }
}

/// Read frames until the stream ends or an error occurs. On EOF or error, the inbox learns why
/// and `stop` tells the writer of the same connection to give up, which closes the connection.
///
/// Once nobody listens (the network was dropped), the reader keeps reading and discarding until
/// the peer closes too. Closing a socket with unread data makes the kernel send a reset, which
/// can destroy frames this side sent last but the peer has not read yet; reading to the end
/// (a "lingering close") avoids that. The owner bounds how long this may take.
pub(crate) async fn run_reader<R, I>(
    mut r: R,
    peer: PartyId,
    max: usize,
    mut inbox: I,
    stop: Arc<Notify>,
) where
    R: AsyncRead + Unpin,
    I: Inbox,
{
    let mut listening = true;
    loop {
        match read_frame(&mut r, peer, max).await {
            Ok(Some(frame)) => {
                if listening && !inbox.deliver(frame) {
                    tracing::debug!(
                        peer,
                        "frame receiver gone; discarding until the peer closes"
                    );
                    listening = false;
                }
            }
            Ok(None) => {
                tracing::debug!(peer, "peer closed the connection");
                inbox.fail(NetError::Disconnected { peer });
                break;
            }
            Err(e) => {
                if listening {
                    tracing::warn!(peer, error = %e, "closing the connection");
                }
                inbox.fail(e);
                break;
            }
        }
    }
    stop.notify_one();
}

/// Write queued frames until the queue closes (then flush and close the TLS session), the reader
/// asks to stop, or writing fails (then the inbox learns why).
pub(crate) async fn run_writer<W, I>(
    w: W,
    peer: PartyId,
    mut queue: UnboundedReceiver<Bytes>,
    mut errors: I,
    stop: Arc<Notify>,
) where
    W: AsyncWrite + Unpin,
    I: Inbox,
{
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, w);
    let result: io::Result<()> = async {
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.notified() => return Ok(()),
                next = queue.recv() => next,
            };
            let Some(frame) = next else { break };
            write_frame(&mut w, &frame).await?;
            // Coalesce whatever else is already queued before paying for a flush.
            while let Ok(frame) = queue.try_recv() {
                write_frame(&mut w, &frame).await?;
            }
            w.flush().await?;
        }
        // Sends TLS close_notify, then shuts the TCP write side: the peer sees a clean EOF.
        w.shutdown().await
    }
    .await;
    if let Err(e) = result {
        let err = io_error(peer, &e, true);
        tracing::warn!(peer, error = %err, "writing to the peer failed");
        errors.fail(err);
    }
}

/// The [`FrameSink`] of a TLS link: queues frames for the connection's writer task.
pub(crate) struct QueueSink(pub(crate) UnboundedSender<Bytes>);

impl FrameSink for QueueSink {
    fn send_frame(&self, frame: Bytes) -> Result<(), ()> {
        self.0.send(frame).map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn frames_round_trip_including_empty_ones() {
        rt().block_on(async {
            let (mut a, mut b) = duplex(1 << 10);
            let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
            let big2 = big.clone();
            let w = tokio::spawn(async move {
                write_frame(&mut a, b"").await.unwrap();
                write_frame(&mut a, b"hello").await.unwrap();
                write_frame(&mut a, &big2).await.unwrap();
                a.shutdown().await.unwrap();
            });
            assert_eq!(
                read_frame(&mut b, 1, 1 << 20).await.unwrap().unwrap().len(),
                0
            );
            assert_eq!(
                read_frame(&mut b, 1, 1 << 20)
                    .await
                    .unwrap()
                    .unwrap()
                    .as_ref(),
                b"hello"
            );
            assert_eq!(
                read_frame(&mut b, 1, 1 << 20)
                    .await
                    .unwrap()
                    .unwrap()
                    .as_ref(),
                &big[..]
            );
            assert_eq!(read_frame(&mut b, 1, 1 << 20).await.unwrap(), None);
            w.await.unwrap();
        });
    }

    #[test]
    fn oversized_length_is_refused_before_reading_the_payload() {
        rt().block_on(async {
            let mut wire: &[u8] = &[0xff, 0xff, 0xff, 0xff];
            let e = read_frame(&mut wire, 2, 1000).await.unwrap_err();
            assert_eq!(
                e,
                NetError::FrameTooLarge {
                    peer: 2,
                    len: u32::MAX as usize,
                    max: 1000
                }
            );
        });
    }

    #[test]
    fn truncated_header_and_payload_are_malformed() {
        rt().block_on(async {
            let mut wire: &[u8] = &[5, 0];
            let e = read_frame(&mut wire, 1, 100).await.unwrap_err();
            assert!(matches!(e, NetError::Malformed { peer: 1, .. }), "{e}");
            let mut wire: &[u8] = &[5, 0, 0, 0, 1, 2];
            let e = read_frame(&mut wire, 1, 100).await.unwrap_err();
            assert!(e.to_string().contains("2 of 5 payload bytes"), "{e}");
        });
    }

    #[test]
    fn a_silent_peer_announcing_a_huge_frame_costs_one_growth_step() {
        rt().block_on(async {
            let max = 1 << 30;
            let (mut a, mut b) = duplex(1 << 16);
            a.write_all(&(max as u32).to_le_bytes()).await.unwrap();
            a.write_all(&[7u8; 10]).await.unwrap();
            // The peer stays silent after 10 bytes: the read waits, holding one step at most.
            let mut header = [0u8; HEADER_LEN];
            b.read_exact(&mut header).await.unwrap();
            let mut buf = Vec::new();
            let pending = tokio::time::timeout(
                std::time::Duration::from_millis(50),
                read_payload(&mut b, 1, max, &mut buf),
            )
            .await;
            assert!(pending.is_err(), "the read must still be waiting");
            assert_eq!(buf.len(), 10);
            assert_eq!(buf.capacity(), GROWTH_STEP);
            // Then the peer closes: a truncated frame, still without a large buffer.
            drop(a);
            let e = read_payload(&mut b, 1, max, &mut buf).await.unwrap_err();
            assert!(
                e.to_string().contains("10 of 1073741824 payload bytes"),
                "{e}"
            );
            assert!(buf.capacity() <= GROWTH_STEP);
        });
    }

    #[test]
    fn the_buffer_grows_with_the_data_and_ends_at_the_frame_length() {
        rt().block_on(async {
            // A frame between steps: the buffer ends exactly at its length.
            for len in [
                1,
                GROWTH_STEP - 1,
                GROWTH_STEP,
                GROWTH_STEP + 1,
                5 * GROWTH_STEP + 3,
            ] {
                let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                let mut wire = (len as u32).to_le_bytes().to_vec();
                wire.extend_from_slice(&payload);
                let mut r: &[u8] = &wire;
                let mut header = [0u8; HEADER_LEN];
                r.read_exact(&mut header).await.unwrap();
                let mut buf = Vec::new();
                read_payload(&mut r, 0, len, &mut buf).await.unwrap();
                assert_eq!(buf, payload);
                assert_eq!(buf.capacity(), len, "len {len}");
            }
            // Half a large frame then EOF: the buffer never got ahead of the data by more than
            // the data itself.
            let len = 4 << 20;
            let mut wire = (len as u32).to_le_bytes().to_vec();
            wire.extend(std::iter::repeat_n(1u8, 300_000));
            let mut r: &[u8] = &wire;
            let mut header = [0u8; HEADER_LEN];
            r.read_exact(&mut header).await.unwrap();
            let mut buf = Vec::new();
            assert!(read_payload(&mut r, 0, len, &mut buf).await.is_err());
            assert_eq!(buf.len(), 300_000);
            assert!(buf.capacity() <= 2 * 300_000 && buf.capacity() < len);
        });
    }

    #[test]
    fn a_large_frame_round_trips_through_a_small_pipe() {
        rt().block_on(async {
            let (mut a, mut b) = duplex(4 << 10);
            let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
            let big2 = big.clone();
            let w = tokio::spawn(async move {
                write_frame(&mut a, &big2).await.unwrap();
                a.shutdown().await.unwrap();
            });
            let got = read_frame(&mut b, 0, 4 << 20).await.unwrap().unwrap();
            assert_eq!(got.as_ref(), &big[..]);
            w.await.unwrap();
        });
    }

    #[test]
    fn reader_reports_eof_and_stops_the_writer() {
        rt().block_on(async {
            let (tx, rx) = flume::unbounded();
            let stop = Arc::new(Notify::new());
            let wire: &[u8] = &[1, 0, 0, 0, 42];
            run_reader(wire, 3, 10, tx, stop.clone()).await;
            assert_eq!(rx.recv().unwrap().unwrap().as_ref(), &[42]);
            assert_eq!(rx.recv().unwrap(), Err(NetError::Disconnected { peer: 3 }));
            // The stored permit makes the writer return at once.
            let (_q, queue) = tokio::sync::mpsc::unbounded_channel();
            let (etx, erx) = flume::unbounded();
            run_writer(tokio::io::sink(), 3, queue, etx, stop).await;
            assert!(erx.try_recv().is_err());
        });
    }

    #[test]
    fn writer_drains_the_queue_then_closes() {
        rt().block_on(async {
            let (a, mut b) = duplex(1 << 16);
            let (q, queue) = tokio::sync::mpsc::unbounded_channel();
            let sink = QueueSink(q);
            sink.send_frame(Bytes::from_static(b"one")).unwrap();
            sink.send_frame(Bytes::from_static(b"two")).unwrap();
            drop(sink);
            let (etx, _erx) = flume::unbounded();
            run_writer(a, 0, queue, etx, Arc::new(Notify::new())).await;
            assert_eq!(
                read_frame(&mut b, 0, 10).await.unwrap().unwrap().as_ref(),
                b"one"
            );
            assert_eq!(
                read_frame(&mut b, 0, 10).await.unwrap().unwrap().as_ref(),
                b"two"
            );
            assert_eq!(read_frame(&mut b, 0, 10).await.unwrap(), None);
        });
    }
}
