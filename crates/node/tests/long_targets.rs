//! Over-long request targets get the JSON error of every other failure, whoever refuses them:
//! the router (up to hyper's 64 KiB limit), hyper's HTTP/1 parser (beyond it, or beyond the
//! connection's read buffer: `node::http::HeadGuard` rewrites its empty answers), and over HTTP/2
//! the router up to the `http` crate's 64 KiB limit of a URI, beyond which the HTTP/2 library
//! refuses the stream itself. Targets of 10 KiB, 100 KiB and 1 MiB over plain HTTP/1.1, HTTPS
//! with HTTP/1.1, and HTTPS with HTTP/2, on real nodes; the nodes keep serving afterwards.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use node::{Node, RunningNode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const TOKEN: &str = "long-target-token";
const SEED_HEX: &str = "5252525252525252525252525252525252525252525252525252525252525252";

/// The sizes of request target the issue names.
const SIZES: [usize; 3] = [10 << 10, 100 << 10, 1 << 20];

/// Starts two parties serving their API over `scheme` (`http` or `https`); returns party 0.
async fn start(scheme: &str, dir: &Path) -> Vec<RunningNode> {
    let (parties, listeners) = common::prepare(2, dir, scheme);
    let mut nodes = Vec::new();
    for (i, (api, mpc)) in listeners.into_iter().enumerate() {
        let mut text = node::dev_config_text(i, &parties, dir, SEED_HEX, TOKEN);
        if scheme == "https" {
            let listen = format!(
                "[api]\nlisten = \"{}\"\n",
                parties[i].0.trim_start_matches("https://")
            );
            assert!(text.contains(&listen), "{text}");
            text = text.replace(
                &listen,
                &format!("{listen}tls_cert = \"party{i}.pem\"\ntls_key = \"party{i}.key\"\n"),
            );
        }
        let path = dir.join(format!("party{i}-{scheme}.toml"));
        std::fs::write(&path, text).unwrap();
        let cfg = node::config::NodeConfig::load(&path).unwrap();
        nodes.push(Node::start_on(cfg, api, mpc).await.unwrap());
    }
    nodes
}

/// A target of exactly `len` bytes on the health route.
fn target(len: usize) -> String {
    let head = "/v1/health?pad=";
    format!("{head}{}", "a".repeat(len - head.len()))
}

/// A TLS connection to `addr` trusting `ca`, offering `alpn`.
async fn tls(
    addr: SocketAddr,
    ca: &Path,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    for c in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let s = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(alpn));
    s
}

/// Sends an HTTP/1.1 GET of `target` on `io` (writing on its own task, since the server may
/// answer and close before reading it all) and returns the status and the body.
async fn h1_get<S>(io: S, target: &str) -> (u16, String)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(req.as_bytes()).await;
        let _ = wr.flush().await;
        wr
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let read = async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if complete(&got) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s");
    writer.abort();
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, body.to_string())
}

/// Whether `got` holds a whole answer with a `content-length`.
fn complete(got: &[u8]) -> bool {
    let text = String::from_utf8_lossy(got);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| body.len() >= n)
}

/// HPACK integer with an `n`-bit prefix (first byte's high bits `flags`).
fn hpack_int(out: &mut Vec<u8>, flags: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(flags | v as u8);
        return;
    }
    out.push(flags | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128 + 128) as u8);
        v /= 128;
    }
    out.push(v as u8);
}

/// HTTP/2 frame header.
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Sends an HTTP/2 GET of `target` (prior knowledge after ALPN `h2`; literal HPACK fields,
/// HEADERS then CONTINUATION frames of 16 KiB) and returns the body of stream 1 (empty for an
/// answer without body), or `None` if the server reset the stream or the connection.
async fn h2_get<S>(io: S, target: &str) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut block = Vec::new();
    for (k, v) in [
        (":method", "GET"),
        (":scheme", "https"),
        (":path", target),
        (":authority", "127.0.0.1"),
    ] {
        block.push(0); // literal without indexing, new name
        hpack_int(&mut block, 0, 7, k.len());
        block.extend_from_slice(k.as_bytes());
        hpack_int(&mut block, 0, 7, v.len());
        block.extend_from_slice(v.as_bytes());
    }
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    frame(&mut out, 0x4, 0, 0, &[]);
    let pieces: Vec<&[u8]> = block.chunks(16 << 10).collect();
    for (i, p) in pieces.iter().enumerate() {
        let last = if i + 1 == pieces.len() { 0x4 } else { 0 };
        if i == 0 {
            frame(&mut out, 0x1, 0x1 | last, 1, p); // HEADERS, END_STREAM
        } else {
            frame(&mut out, 0x9, last, 1, p); // CONTINUATION
        }
    }
    let (mut rd, mut wr) = tokio::io::split(io);
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&out).await;
        let _ = wr.flush().await;
        wr
    });
    let read = async {
        let mut body = Vec::new();
        loop {
            let mut h = [0u8; 9];
            rd.read_exact(&mut h).await.ok()?;
            let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
            let mut payload = vec![0u8; len];
            rd.read_exact(&mut payload).await.ok()?;
            let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            match (h[3], stream) {
                (0x0, 1) => {
                    body.extend_from_slice(&payload);
                    if h[4] & 0x1 != 0 {
                        return Some(String::from_utf8_lossy(&body).into_owned());
                    }
                }
                // A response without body (HEADERS ending the stream).
                (0x1, 1) if h[4] & 0x1 != 0 => return Some(String::new()),
                (0x3, 1) | (0x7, _) => return None, // RST_STREAM, GOAWAY
                _ => {}
            }
        }
    };
    let r = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s");
    writer.abort();
    r
}

/// The JSON error of an over-long target, from party 0.
fn assert_json_error(body: &str, len: usize, how: &str) {
    let e: api::ApiError =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{how}, {len} bytes: {e}: {body:?}"));
    assert_eq!(e.code, api::ErrorCode::BadRequest, "{how}, {len}: {body}");
    assert_eq!(e.party, Some(0), "{how}, {len}: {body}");
    assert!(
        e.message.contains("request target") || e.message.contains("request line"),
        "{how}, {len}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_targets_get_json_414_over_http_https_and_h2() {
    let (dir, dir_tls) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = start("http", dir.path()).await;
    let secure = start("https", dir_tls.path()).await;
    let ca = dir_tls.path().join("party0.pem");
    let (plain0, secure0) = (plain[0].api_addr, secure[0].api_addr);

    for len in SIZES {
        let t = target(len);
        let tcp = tokio::net::TcpStream::connect(plain0).await.unwrap();
        let (status, body) = h1_get(tcp, &t).await;
        assert_eq!(status, 414, "plain HTTP, {len} bytes: {body}");
        assert_json_error(&body, len, "plain HTTP");

        let (status, body) = h1_get(tls(secure0, &ca, b"http/1.1").await, &t).await;
        assert_eq!(status, 414, "HTTPS, {len} bytes: {body}");
        assert_json_error(&body, len, "HTTPS");

        // Over HTTP/2 the `http` crate cannot represent a target over 64 KiB: up to that, the
        // router answers; beyond, the HTTP/2 library refuses the stream before any of our code
        // runs (a 431 and a reset, or a stream or connection reset), never with a body.
        let got = h2_get(tls(secure0, &ca, b"h2").await, &t).await;
        if len <= 64 << 10 {
            let body = got.unwrap_or_else(|| panic!("HTTP/2, {len} bytes: the stream was reset"));
            assert_json_error(&body, len, "HTTP/2");
        } else {
            assert!(
                got.as_deref().is_none_or(str::is_empty),
                "HTTP/2, {len} bytes: answered {got:?}"
            );
        }
    }

    // A head of many ordinary headers beyond the read buffer is 431, also as JSON.
    let many: String = (0..4000)
        .map(|i| format!("x-filler-{i}: {}\r\n", "b".repeat(40)))
        .collect();
    let tcp = tokio::net::TcpStream::connect(plain0).await.unwrap();
    let (mut rd, mut wr) = tcp.into_split();
    let req = format!("GET /v1/health HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let w = tokio::spawn(async move {
        let _ = wr.write_all(req.as_bytes()).await;
        wr
    });
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), rd.read_to_end(&mut got)).await;
    w.abort();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let e: api::ApiError = serde_json::from_str(body).unwrap();
    assert_eq!(e.party, Some(0));
    assert!(e.message.contains("request head"), "{body}");

    // A request line hyper cannot parse at all: 400, as JSON.
    let tcp = tokio::net::TcpStream::connect(plain0).await.unwrap();
    let (status, body) = h1_get(tcp, "/v1/health with spaces").await;
    assert_eq!(status, 400, "{body}");
    let e: api::ApiError = serde_json::from_str(&body).unwrap();
    assert_eq!(e.party, Some(0));

    // Both nodes still answer ordinary requests, over every transport.
    let tcp = tokio::net::TcpStream::connect(plain0).await.unwrap();
    let (mut rd, mut wr) = tokio::io::split(tcp);
    wr.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    rd.read_to_end(&mut got).await.unwrap();
    assert!(
        got.starts_with(b"HTTP/1.1 200 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let body = h2_get(tls(secure0, &ca, b"h2").await, "/v1/health")
        .await
        .expect("health over HTTP/2");
    assert!(body.contains("\"status\""), "{body}");
    for r in plain.into_iter().chain(secure) {
        tokio::time::timeout(Duration::from_secs(5), r.stop())
            .await
            .expect("the node stops within 5 s");
    }
}
