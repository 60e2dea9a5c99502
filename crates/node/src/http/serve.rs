//! Serving the API's connections (plain HTTP or HTTPS) with hyper's HTTP/1.1 and HTTP/2 server,
//! so that even the errors hyper answers itself carry our JSON error body.
//!
//! hyper answers some requests before any of our code runs: an HTTP/1 request whose head does
//! not parse (400), whose request target is longer than 64 KiB (414, a limit fixed in hyper), or
//! whose head does not fit the connection's read buffer (431). Its answer has an empty body. So
//! every connection's I/O goes through a [`HeadGuard`], which replaces exactly those automatic
//! answers with a JSON [`ApiError`] of this party (and tells a 431 whose buffer holds one
//! unfinished line, a request line too long, as 414). It keeps two counters and, while it
//! writes a replacement, one small buffer: memory per connection stays bounded by hyper's read
//! buffer, [`MAX_HEAD_BYTES`].
//!
//! An automatic answer is recognised by its form: a 400, 414 or 431 head with `content-length:
//! 0` and no `content-type`, written by itself. Every error response of our router carries a
//! JSON body with `content-type` (`super::error::finish`), so none of ours matches. (If a
//! pipelined request fails while the previous answer is still unsent, hyper writes both in one
//! piece and its empty answer goes out as is; no client of ours pipelines.)
//!
//! Over HTTP/2 a target up to 64 KiB reaches the router, which answers 414 with the JSON error
//! beyond `super::error::MAX_URI_BYTES`. A longer one cannot become a request at all (the `http`
//! crate's URIs hold at most 64 KiB, the same limit hyper's HTTP/1 parser applies), and a header
//! list over [`MAX_H2_HEADER_LIST`] (advertised to the client) is refused by the HTTP/2 library:
//! both end as a stream or connection reset, or a 431 without body, before any of our code runs.
//! HTTP/2 frames are compressed and multiplexed, so no byte-level layer can rewrite those; the
//! limit is kept just above 64 KiB so that every target HTTP/2 can carry gets our answer.
//!
//! Graceful stop: when `stop` changes, the accept loop ends, every connection finishes the
//! requests it is serving and closes, and [`serve`] returns when all have.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use api::{ApiError, ErrorCode};
use axum::Router;
use bytes::{Buf, Bytes};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::error::MAX_URI_BYTES;

/// HTTP/1 read buffer of a connection, hence the longest request head (request line and
/// headers) hyper reads: 128 KiB.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;

/// Longest HTTP/2 header list (decoded) a connection accepts: 80 KiB, so that a request with
/// any target HTTP/2 can carry (at most 64 KiB) and ordinary headers reaches the router.
pub const MAX_H2_HEADER_LIST: u32 = 80 << 10;

/// Serves `app` on `listener` until `stop` changes; see the module docs.
pub async fn serve<L>(mut listener: L, app: Router, party: usize, mut stop: watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(MAX_HEAD_BYTES);
    builder.http2().max_header_list_size(MAX_H2_HEADER_LIST);
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let (io, _) = tokio::select! {
            c = listener.accept() => c,
            _ = stop.changed() => break,
        };
        let svc = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let mut stop = stop.clone();
        conns.spawn(async move {
            let io = TokioIo::new(HeadGuard::new(io, party));
            let conn = builder.serve_connection_with_upgrades(io, svc);
            tokio::pin!(conn);
            let res = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = res {
                tracing::debug!(error = %e, "API: a connection ended with an error");
            }
        });
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// A connection's I/O that replaces hyper's automatic HTTP/1 error answers with JSON errors;
/// see the module docs.
pub struct HeadGuard<IO> {
    io: IO,
    party: usize,
    /// Bytes read since the last line feed.
    since_newline: usize,
    /// A replacement being written, and the length of hyper's write it stands for.
    replacing: Option<(Bytes, usize)>,
}

impl<IO> HeadGuard<IO> {
    /// Guards `io` of a connection to party `party`'s API.
    pub fn new(io: IO, party: usize) -> HeadGuard<IO> {
        HeadGuard {
            io,
            party,
            since_newline: 0,
            replacing: None,
        }
    }
}

/// The status of an automatic answer of hyper's (see the module docs), if `buf` is exactly one.
fn automatic_error(buf: &[u8]) -> Option<u16> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status = match rest.get(..4)? {
        b"400 " => 400,
        b"414 " => 414,
        b"431 " => 431,
        _ => return None,
    };
    // The whole write is one head: it ends at the first blank line.
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != buf.len() || buf.len() > 512 {
        return None;
    }
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let empty = head.lines().any(|l| l.trim() == "content-length: 0");
    let typed = head.lines().any(|l| l.starts_with("content-type:"));
    (empty && !typed).then_some(status)
}

/// Our JSON answer in place of hyper's automatic `status`; `line_open` says whether the read
/// buffer ends in an unfinished line as long as the buffer.
fn replacement(status: u16, line_open: bool, party: usize) -> Bytes {
    let (status, reason, message) = match status {
        414 => (414, "URI Too Long", format!(
            "the request target is longer than the {MAX_URI_BYTES} bytes this API reads; put large data in the request body"
        )),
        431 if line_open => (414, "URI Too Long", format!(
            "the request line (or a header line) is longer than the {MAX_HEAD_BYTES} bytes this API reads; request targets may have at most {MAX_URI_BYTES} bytes, put large data in the request body"
        )),
        431 => (431, "Request Header Fields Too Large", format!(
            "the request head (request line and headers) is larger than the {MAX_HEAD_BYTES} bytes this API reads"
        )),
        _ => (400, "Bad Request", "the request is not valid HTTP/1.1 (its request line or a header could not be parsed)".to_string()),
    };
    let err = ApiError::new(ErrorCode::from_status(status), message).at_party(party);
    let body = serde_json::to_vec(&err).unwrap_or_else(|_| {
        br#"{"code":"bad_request","message":"the request could not be read"}"#.to_vec()
    });
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Bytes::from(out)
}

impl<IO: AsyncRead + Unpin> AsyncRead for HeadGuard<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let new = &buf.filled()[before..];
            self.since_newline = match new.iter().rposition(|&b| b == b'\n') {
                Some(p) => new.len() - p - 1,
                None => self.since_newline.saturating_add(new.len()),
            };
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> HeadGuard<IO> {
    /// Writes what is left of a replacement; ready with the length of hyper's write it stands
    /// for once it is all written.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<usize>>> {
        let Some((rest, _)) = &mut self.replacing else {
            return Poll::Ready(Ok(None));
        };
        while !rest.is_empty() {
            match Pin::new(&mut self.io).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => rest.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(self.replacing.take().map(|(_, n)| n)))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for HeadGuard<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            match automatic_error(buf) {
                Some(status) => {
                    let line_open = this.since_newline >= MAX_HEAD_BYTES;
                    tracing::debug!(status, "API: a request hyper refused gets a JSON error");
                    this.replacing = Some((replacement(status, line_open, this.party), buf.len()));
                }
                None => return Pin::new(&mut this.io).poll_write(cx, buf),
            }
        }
        // hyper retries the same bytes until they are reported written.
        match this.drain(cx) {
            Poll::Ready(Ok(Some(n))) => Poll::Ready(Ok(n)),
            Poll::Ready(Ok(None)) => Pin::new(&mut this.io).poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes a head in one piece, which is how an automatic answer is
    // recognised.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_answers_are_replaced() {
        let date = "date: Sat, 05 Dec 2026 11:30:00 GMT\r\n";
        let hyper414 = format!("HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n{date}\r\n");
        assert_eq!(automatic_error(hyper414.as_bytes()), Some(414));
        let hyper431 = format!(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n{date}\r\n"
        );
        assert_eq!(automatic_error(hyper431.as_bytes()), Some(431));
        let hyper400 = format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{date}\r\n");
        assert_eq!(automatic_error(hyper400.as_bytes()), Some(400));
        // Our own errors (typed, with a body), other statuses, a head followed by more bytes.
        let ours = "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(automatic_error(ours.as_bytes()), None);
        let body = format!("{hyper414}x");
        assert_eq!(automatic_error(body.as_bytes()), None);
        let ok = format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{date}\r\n");
        assert_eq!(automatic_error(ok.as_bytes()), None);
        assert_eq!(automatic_error(b"\0\0\x12\x04\0\0\0\0\0"), None);
    }

    #[test]
    fn replacements_are_json_errors_of_this_party() {
        for (status, open, want) in [
            (414, false, 414),
            (431, true, 414),
            (431, false, 431),
            (400, false, 400),
        ] {
            let r = replacement(status, open, 2);
            let text = String::from_utf8(r.to_vec()).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(&format!("HTTP/1.1 {want} ")), "{head}");
            assert!(
                head.contains(&format!("content-length: {}", body.len())),
                "{head}"
            );
            let e: ApiError = serde_json::from_str(body).unwrap();
            assert_eq!(e.party, Some(2));
            assert!(!e.message.is_empty());
        }
    }
}
