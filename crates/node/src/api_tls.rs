//! HTTPS for the node's API (`[api] tls_cert` and `tls_key`).
//!
//! [`server_config`] loads the certificate chain and key into a rustls server configuration
//! (ring provider, TLS 1.3 and 1.2, ALPN `h2` and `http/1.1`); [`TlsListener`] is the
//! [`axum::serve::Listener`] that serves it.
//!
//! The listener never handshakes inside `accept`: an accept loop task takes TCP connections and
//! spawns one handshake task per connection, each bounded by [`HANDSHAKE_TIMEOUT`]; finished TLS
//! streams reach [`axum::serve::Listener::accept`] through a bounded channel. A client that
//! connects and stays silent, or speaks plain HTTP, costs one task until its handshake fails or
//! times out, and never delays other clients. Failed handshakes are logged at debug level with
//! the peer's address; they are never fatal.
//!
//! Key material never reaches a log or an error message: errors about the key say what is wrong
//! without quoting it.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::ConfigError;

/// How long a client has to complete the TLS handshake after connecting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; beyond this the accept loop waits for one to finish.
const MAX_HANDSHAKES: usize = 512;

/// Finished TLS streams waiting for the HTTP server to take them.
const ACCEPTED_QUEUE: usize = 64;

fn field_error(field: &str, message: String) -> ConfigError {
    ConfigError {
        path: field.into(),
        message,
    }
}

/// The rustls server configuration of the API from the PEM files `cert` (`api.tls_cert`: the
/// end-entity certificate, then any intermediates) and `key` (`api.tls_key`). Errors name the
/// field.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let certs = load_certs(cert)?;
    let key_der = load_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| field_error("api.tls_cert", format!("cannot configure TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| {
            field_error(
                "api.tls_key",
                format!(
                    "{} cannot serve {}: {e}; check that the key belongs to the certificate",
                    key.display(),
                    cert.display()
                ),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificate chain in `path`, at least one certificate.
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let field = "api.tls_cert";
    let pem = std::fs::read(path)
        .map_err(|e| field_error(field, format!("cannot read {}: {e}", path.display())))?;
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut pem.as_slice()) {
        match item {
            Ok(c) => certs.push(c),
            Err(e) => {
                return Err(field_error(
                    field,
                    format!("{} is not valid PEM ({e})", path.display()),
                ))
            }
        }
    }
    if certs.is_empty() {
        return Err(field_error(
            field,
            format!(
                "{} holds no `-----BEGIN CERTIFICATE-----` block; give the server certificate in PEM",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// The private key in `path`.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let field = "api.tls_key";
    let pem = std::fs::read(path)
        .map_err(|e| field_error(field, format!("cannot read {}: {e}", path.display())))?;
    match rustls_pemfile::private_key(&mut pem.as_slice()) {
        Ok(Some(key)) => Ok(key),
        // Deliberately no detail from the parser: it could quote key bytes.
        Ok(None) => Err(field_error(
            field,
            format!(
                "{} holds no private key; expected a PEM block such as `-----BEGIN PRIVATE KEY-----`",
                path.display()
            ),
        )),
        Err(_) => Err(field_error(
            field,
            format!(
                "{} is not valid PEM; check that the key file is intact",
                path.display()
            ),
        )),
    }
}

/// An HTTPS listener for `axum::serve`: TCP accepts and TLS handshakes run on a background task
/// (see the module docs), `accept` hands out finished TLS streams.
///
/// Dropping it (as `axum::serve` does on graceful shutdown) stops the accept loop, closes the
/// listening socket and abandons handshakes in progress.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    task: tokio::task::AbortHandle,
}

impl TlsListener {
    /// Serves TLS with `config` on `tcp`; must be called within a tokio runtime.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<TlsListener> {
        TlsListener::with_handshake_timeout(tcp, config, HANDSHAKE_TIMEOUT)
    }

    /// As [`TlsListener::new`], with another handshake timeout.
    pub fn with_handshake_timeout(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let task = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx, timeout));
        Ok(TlsListener {
            accepted,
            local,
            task: task.abort_handle(),
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The accept loop ends only when this listener is dropped (or its task panicked,
            // which it has no reason to); wait for the server's shutdown instead of spinning.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections and spawns their handshakes until the receiving side is gone.
/// Dropping the task (abort) drops the join set, which aborts the handshakes in progress.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    timeout: Duration,
) {
    let mut handshakes = JoinSet::new();
    loop {
        while handshakes.try_join_next().is_some() {}
        if handshakes.len() >= MAX_HANDSHAKES {
            tokio::select! {
                _ = handshakes.join_next() => {}
                _ = tx.closed() => return,
            }
            continue;
        }
        let accepted = tokio::select! {
            r = tcp.accept() => r,
            _ = tx.closed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Typically EMFILE: give connections time to close, as axum's own listener does.
                tracing::error!(error = %e, "API: cannot accept a connection; retrying in 1 s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = tx.closed() => return,
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        handshakes.spawn(async move {
            match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    // Fails only when the server has stopped; the connection is then dropped.
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => {
                    tracing::debug!(peer = %peer, error = %e, "API: TLS handshake failed");
                }
                Err(_) => {
                    tracing::debug!(
                        peer = %peer,
                        "API: TLS handshake not completed within {timeout:?}; connection closed"
                    );
                }
            }
        });
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn dev_identities_load_and_advertise_h2_and_http1() {
        let dir = tempfile::tempdir().unwrap();
        let id = net::tls::dev_identity(0).unwrap();
        let cert = write(dir.path(), "c.pem", &id.cert_pem);
        let key = write(dir.path(), "c.key", &id.key_pem);
        let cfg = server_config(&cert, &key).unwrap();
        assert_eq!(
            cfg.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        // A chain (two certificates) is accepted too.
        let chain = write(
            dir.path(),
            "chain.pem",
            &format!(
                "{}{}",
                id.cert_pem,
                net::tls::dev_identity(1).unwrap().cert_pem
            ),
        );
        server_config(&chain, &key).unwrap();
    }

    #[test]
    fn bad_files_name_their_field_and_never_quote_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let id = net::tls::dev_identity(0).unwrap();
        let other = net::tls::dev_identity(1).unwrap();
        let cert = write(dir.path(), "c.pem", &id.cert_pem);
        let key = write(dir.path(), "c.key", &id.key_pem);
        let junk = write(dir.path(), "junk", "this is not PEM\n");
        let other_key = write(dir.path(), "o.key", &other.key_pem);
        let missing = dir.path().join("missing.pem");

        let cases = [
            (server_config(&missing, &key), "api.tls_cert", "cannot read"),
            (
                server_config(&junk, &key),
                "api.tls_cert",
                "no `-----BEGIN CERTIFICATE",
            ),
            (
                server_config(&key, &key),
                "api.tls_cert",
                "no `-----BEGIN CERTIFICATE",
            ),
            (server_config(&cert, &missing), "api.tls_key", "cannot read"),
            (server_config(&cert, &junk), "api.tls_key", "no private key"),
            (server_config(&cert, &cert), "api.tls_key", "no private key"),
            (
                server_config(&cert, &other_key),
                "api.tls_key",
                "belongs to",
            ),
        ];
        for (r, field, words) in cases {
            let e = r.expect_err("must be refused");
            assert_eq!(e.path, field, "{e}");
            assert!(e.message.contains(words), "{e}");
            let text = e.to_string();
            for k in [&id.key_pem, &other.key_pem] {
                assert!(
                    !text.contains(&k[40..80]),
                    "an error quotes the key: {text}"
                );
            }
        }
    }
}
