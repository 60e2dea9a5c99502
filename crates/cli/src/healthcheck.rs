//! `ephemeral healthcheck --config party.toml [--ready]`: asks this party's own node for
//! `GET /v1/health`, for container health checks.
//!
//! A `FROM scratch` image has no shell and no curl, so the image's `HEALTHCHECK` runs the
//! binary itself. It connects to the address of `[api] listen` (the loopback address when the
//! node listens on every address), over TLS when `[api] tls_cert` is set. The TLS check pins
//! exactly the certificate the config names, whatever names it carries: the check talks to its
//! own node, so the usual host-name verification would only get in the way (an API certificate
//! issued for `party1.example.org` is still right on 127.0.0.1).
//!
//! Exit status 0: the API answered with a health document (and, with `--ready`, every peer is
//! connected and generation is not halted); 1 otherwise, with the reason on stderr.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[derive(Args)]
pub struct HealthcheckArgs {
    /// The party's configuration file, as given to `ephemeral node`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Also require status `ok`: every peer connected and generation not halted (readiness of
    /// the whole cloud, for scripts); without it, an answering API is healthy.
    #[arg(long)]
    pub ready: bool,
    /// Ask the API at HOST:PORT instead of this host's `[api] listen` address (a Helm test pod
    /// checking the party through its Service); the pin is still `api.tls_cert`.
    #[arg(long, value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
}

/// Most bytes read from the node (its health document is a few hundred).
const MAX_RESPONSE: u64 = 1 << 20;

pub fn run(args: HealthcheckArgs) -> anyhow::Result<()> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout < 3600.0) {
        bail!("--timeout must be a positive number of seconds below 3600");
    }
    let config = node::config::NodeConfig::load(&args.config)?;
    let addr = match &args.address {
        None => local_addr(config.api.listen),
        Some(a) => resolve(a)?,
    };
    let pin = match &config.api.tls_cert {
        Some(cert) if config.api.tls() => Some(first_cert(cert)?),
        _ => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let health = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs_f64(args.timeout),
            fetch_health(addr, pin),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!("no answer from the API at {addr} within {} s", args.timeout)
        })?
    })?;
    let connected = health.peers.iter().filter(|p| p.connected).count();
    println!(
        "party {} of {}: {} (peers connected: {connected}/{}, generator {}, version {})",
        health.party,
        health.parties,
        health.status,
        health.peers.len(),
        health.generator,
        health.version
    );
    if health.party != config.party {
        bail!(
            "the API at {addr} is party {}, but {} configures party {}",
            health.party,
            args.config.display(),
            config.party
        );
    }
    if args.ready && health.status != "ok" {
        bail!("not ready: status {}", health.status);
    }
    Ok(())
}

/// Where to reach a server listening on `listen` from the same host.
fn local_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// The first address of `HOST:PORT`.
fn resolve(address: &str) -> anyhow::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    address
        .to_socket_addrs()
        .with_context(|| {
            format!("--address {address:?}: not HOST:PORT, or the name does not resolve")
        })?
        .next()
        .with_context(|| format!("--address {address:?}: the name has no address"))
}

/// The first certificate of a PEM file (the server's own, before any intermediates).
fn first_cert(path: &Path) -> anyhow::Result<CertificateDer<'static>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("api.tls_cert: cannot read {}", path.display()))?;
    let cert = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .with_context(|| format!("api.tls_cert: {} holds no certificate", path.display()))?
        .with_context(|| format!("api.tls_cert: {} is not PEM", path.display()))?;
    Ok(cert)
}

async fn fetch_health(
    addr: SocketAddr,
    pin: Option<CertificateDer<'static>>,
) -> anyhow::Result<api::Health> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to the API at {addr}"))?;
    let raw = match pin {
        None => request(tcp, addr).await?,
        Some(pin) => {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .context("TLS versions")?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned { pin, provider }))
                .with_no_client_auth();
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("localhost").expect("valid name"), tcp)
                .await
                .with_context(|| {
                    format!("TLS with the API at {addr} failed (does it serve api.tls_cert?)")
                })?;
            request(tls, addr).await?
        }
    };
    parse_response(&raw)
}

/// Sends `GET /v1/health` over HTTP/1.1 and reads the whole response.
async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    addr: SocketAddr,
) -> anyhow::Result<Vec<u8>> {
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        api::paths::HEALTH
    );
    s.write_all(req.as_bytes()).await?;
    s.flush().await?;
    let mut out = Vec::new();
    // A TLS peer that closes without close_notify still sent the whole (length-framed) body.
    let _ = (&mut s).take(MAX_RESPONSE).read_to_end(&mut out).await;
    if out.is_empty() {
        bail!("the API at {addr} closed the connection without answering");
    }
    Ok(out)
}

/// The health document of an HTTP/1.1 response (identity or chunked body).
fn parse_response(raw: &[u8]) -> anyhow::Result<api::Health> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the API's answer is not HTTP (no end of headers)")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = &raw[split + 4..];
    let status = head.lines().next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        bail!("the API answered {status:?} to GET {}", api::paths::HEALTH);
    }
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut decoded = Vec::new();
    if chunked {
        loop {
            let end = body
                .windows(2)
                .position(|w| w == b"\r\n")
                .context("a truncated chunked body")?;
            let size = std::str::from_utf8(&body[..end])
                .ok()
                .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                .context("a malformed chunk size")?;
            body = &body[end + 2..];
            if size == 0 {
                break;
            }
            let chunk = body.get(..size).context("a truncated chunk")?;
            decoded.extend_from_slice(chunk);
            body = body.get(size + 2..).unwrap_or_default();
        }
        body = &decoded;
    }
    serde_json::from_slice(body).context("the API's answer is not a health document")
}

/// Trusts exactly one certificate (the node's own `api.tls_cert`), under any name; signatures
/// are still verified, so only the holder of its key passes.
#[derive(Debug)]
struct Pinned {
    pin: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pin.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the API presents a certificate other than api.tls_cert".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_are_reached_on_loopback() {
        assert_eq!(
            local_addr("0.0.0.0:7100".parse().unwrap()),
            "127.0.0.1:7100".parse().unwrap()
        );
        assert_eq!(
            local_addr("[::]:7100".parse().unwrap()),
            "[::1]:7100".parse().unwrap()
        );
        assert_eq!(
            local_addr("10.1.2.3:7100".parse().unwrap()),
            "10.1.2.3:7100".parse().unwrap()
        );
    }

    const BODY: &str = r#"{"party":1,"parties":3,"status":"degraded","version":"0.1.0","generator":"mascot","peers":[{"party":0,"connected":true},{"party":2,"connected":false}],"running_games":0}"#;

    #[test]
    fn responses_parse_with_either_framing_and_errors_say_why() {
        let plain = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{BODY}",
            BODY.len()
        );
        let h = parse_response(plain.as_bytes()).unwrap();
        assert_eq!((h.party, h.status.as_str()), (1, "degraded"));
        let (a, b) = BODY.split_at(40);
        let chunked = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        assert_eq!(parse_response(chunked.as_bytes()).unwrap(), h);
        let e = parse_response(b"HTTP/1.1 503 Service Unavailable\r\n\r\n{}").unwrap_err();
        assert!(e.to_string().contains("503"), "{e}");
        let e = parse_response(b"garbage").unwrap_err();
        assert!(e.to_string().contains("not HTTP"), "{e}");
        let e = parse_response(b"HTTP/1.1 200 OK\r\n\r\n{\"x\":1}").unwrap_err();
        assert!(e.to_string().contains("health document"), "{e}");
        let e = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .unwrap_err();
        assert!(e.to_string().contains("chunk size"), "{e}");
    }
}
