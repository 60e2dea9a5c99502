//! HTTPS on the node's API (`[api] tls_cert`, `tls_key`): two nodes with real gateways serve the
//! SDK over TLS (upload, game, download); plain HTTP, an untrusted certificate and a silent
//! connection get nothing and block no one; HTTP/2 is negotiated by ALPN; bad TLS settings are
//! config or start-up errors naming the field; the nodes stop gracefully.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use client::{CloudConfig, PartyConfig};
use node::{Node, RunningNode, StartError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

const TOKEN: &str = "tls-test-token";
const SEED_HEX: &str = "5151515151515151515151515151515151515151515151515151515151515151";

/// Party `i`'s config text with TLS on its API (its party certificate and key, which are
/// self-signed for localhost and 127.0.0.1).
fn tls_config_text(i: usize, parties: &[(String, String)], dir: &Path) -> String {
    let text = node::dev_config_text(i, parties, dir, SEED_HEX, TOKEN);
    let listen = format!(
        "[api]\nlisten = \"{}\"\n",
        parties[i].0.trim_start_matches("https://")
    );
    assert!(text.contains(&listen), "{text}");
    text.replace(
        &listen,
        &format!("{listen}tls_cert = \"party{i}.pem\"\ntls_key = \"party{i}.key\"\n"),
    )
}

/// Binds `n` API (https) and gateway ports and writes the parties' development certificates.
fn prepare(n: usize, dir: &Path) -> common::Prepared {
    common::prepare(n, dir, "https")
}

async fn start(n: usize, dir: &Path) -> Vec<RunningNode> {
    let (parties, listeners) = prepare(n, dir);
    let mut nodes = Vec::new();
    for (i, (api, mpc)) in listeners.into_iter().enumerate() {
        let path = dir.join(format!("party{i}.toml"));
        std::fs::write(&path, tls_config_text(i, &parties, dir)).unwrap();
        let cfg = node::config::NodeConfig::load(&path).unwrap();
        nodes.push(Node::start_on(cfg, api, mpc).await.unwrap());
    }
    nodes
}

/// An SDK client for `nodes`, trusting `ca(i)` for party i (`None`: the usual web roots only).
fn sdk(nodes: &[RunningNode], ca: impl Fn(usize) -> Option<std::path::PathBuf>) -> client::Client {
    let parties = nodes
        .iter()
        .enumerate()
        .map(|(i, r)| PartyConfig {
            id: i,
            url: r.api_url(),
            token: Some(TOKEN.into()),
            ca_cert: ca(i),
        })
        .collect();
    let mut cloud = CloudConfig::new(parties).unwrap();
    cloud.timeout_secs = 20;
    client::Client::new(cloud).unwrap()
}

/// Everything the server sends on a raw connection after `request`, until it closes (at most 3 s).
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut got)).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_serves_https_to_trusting_clients_only() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = start(2, dir.path()).await;
    for r in &nodes {
        assert!(r.api_url().starts_with("https://"), "{}", r.api_url());
    }
    let api0 = nodes[0].api_addr;

    // (5) Connections that never complete a handshake do not hold up anyone else.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(api0).await.unwrap());
    }

    // (1) The SDK, trusting each party's certificate, uploads, runs a game and downloads.
    let sdk_ok = sdk(&nodes, |i| Some(dir.path().join(format!("party{i}.pem"))));
    let health = tokio::time::timeout(Duration::from_secs(3), sdk_ok.health())
        .await
        .expect("a silent connection must not block other clients")
        .unwrap();
    assert_eq!(health.len(), 2);
    let id = sdk_ok.create_secret_i128(&[42, -7], vec![]).await.unwrap();
    let game_id = Uuid::new_v4().to_string();
    let res = sdk_ok
        .execute(api::Activation {
            game_id: Some(game_id.clone()),
            code: Some("print_ln('%s', (sint(2)*sint(3)).reveal())".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(res.game_id, game_id);
    assert_eq!(res.printed.trim(), "6");
    assert_eq!(sdk_ok.get_secret_i128(id).await.unwrap(), vec![42, -7]);

    // (2) Plain HTTP on the TLS port gets no HTTP answer, from a raw socket or from the SDK.
    let got = raw_exchange(
        api0,
        b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        !got.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let mut cloud = sdk_ok.config().clone();
    for p in &mut cloud.parties {
        p.url = p.url.replace("https://", "http://");
        p.ca_cert = None;
    }
    let plain = client::Client::new(cloud).unwrap();
    let e = plain.health().await.unwrap_err();
    assert!(matches!(e, client::ClientError::Http { .. }), "{e}");

    // (3) A client trusting another certificate (same names, another key) refuses the nodes,
    // and one trusting only the web roots too: an error, no data.
    let impostor = dir.path().join("impostor.pem");
    std::fs::write(&impostor, net::tls::dev_identity(0).unwrap().cert_pem).unwrap();
    for untrusting in [
        sdk(&nodes, |_| Some(impostor.clone())),
        sdk(&nodes, |_| None),
    ] {
        let e = untrusting.get_secret_i128(id).await.unwrap_err();
        assert!(matches!(e, client::ClientError::Http { .. }), "{e}");
        assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
        let e = untrusting.health().await.unwrap_err();
        assert!(matches!(e, client::ClientError::Http { .. }), "{e}");
    }

    // ALPN offers HTTP/2 and the server speaks it.
    let alpn = h2_settings_frame_type(api0, &dir.path().join("party0.pem")).await;
    assert_eq!(alpn, (Some(b"h2".to_vec()), 0x4));

    // The silent connections are still pending (closed only by the handshake timeout or the
    // stop), and the nodes stop gracefully, closing them and the port.
    let mut one = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(50), silent[0].read(&mut one))
            .await
            .is_err(),
        "a silent connection was closed before its handshake timeout"
    );
    for r in nodes {
        tokio::time::timeout(Duration::from_secs(5), r.stop())
            .await
            .expect("the node stops within 5 s");
    }
    let n = tokio::time::timeout(Duration::from_secs(2), silent[1].read(&mut one))
        .await
        .expect("stopping closes connections still handshaking")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(tokio::net::TcpStream::connect(api0).await.is_err());
}

/// Connects with ALPN `h2` (trusting `ca`), sends the HTTP/2 preface and an empty SETTINGS
/// frame; returns the negotiated protocol and the type of the server's first frame.
async fn h2_settings_frame_type(addr: SocketAddr, ca: &Path) -> (Option<Vec<u8>>, u8) {
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
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .unwrap();
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let mut header = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(3), tls.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    (alpn, header[3])
}

#[tokio::test]
async fn bad_tls_settings_are_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (parties, mut listeners) = prepare(2, dir.path());
    let text = tls_config_text(0, &parties, dir.path());

    // (4) Only one of the two: a config error naming the missing one.
    for (drop_line, field) in [
        ("tls_key = \"party0.key\"\n", "api.tls_key:"),
        ("tls_cert = \"party0.pem\"\n", "api.tls_cert:"),
    ] {
        let half = text.replace(drop_line, "");
        let e = node::config::NodeConfig::parse(&half, "party0.toml", dir.path()).unwrap_err();
        assert!(e.message.starts_with(field), "{e}");
    }

    // A certificate file that is not PEM: start-up fails naming api.tls_cert, and nothing was
    // started (the storage directory was never created).
    std::fs::write(
        dir.path().join("api.pem"),
        b"\x30\x82 not a PEM certificate",
    )
    .unwrap();
    let bad = text.replace("tls_cert = \"party0.pem\"", "tls_cert = \"api.pem\"");
    let cfg = node::config::NodeConfig::parse(&bad, "party0.toml", dir.path()).unwrap();
    let (api, mpc) = listeners.remove(0);
    let e = match Node::start_on(cfg, api, mpc).await {
        Err(e) => e,
        Ok(_) => panic!("a node started with a non-PEM certificate"),
    };
    assert!(
        matches!(&e, StartError::Config(c) if c.path == "api.tls_cert"),
        "{e}"
    );
    assert!(e.to_string().starts_with("api.tls_cert: "), "{e}");
    assert!(!dir.path().join("party0-data").exists());

    // A key that is not the certificate's: start-up fails naming api.tls_key.
    let wrong_key = text.replace("tls_key = \"party0.key\"", "tls_key = \"party1.key\"");
    let cfg = node::config::NodeConfig::parse(&wrong_key, "party0.toml", dir.path()).unwrap();
    let (api, mpc) = listeners.remove(0);
    let e = match Node::start_on(cfg, api, mpc).await {
        Err(e) => e,
        Ok(_) => panic!("a node started with another certificate's key"),
    };
    assert!(e.to_string().starts_with("api.tls_key: "), "{e}");
}
