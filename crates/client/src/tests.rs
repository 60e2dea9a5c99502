//! End-to-end tests of the SDK against the fake cloud of [`crate::testing`] (2 and 3 parties,
//! honest and with one tampering party).

use api::{Activation, ErrorCode, OutputKind, OutputSpec, Tag, TagType};
use field::Fp;
use uuid::Uuid;

use crate::testing::{FakeCloud, Tamper};
use crate::{Client, ClientError, CloudConfig, Outputs, PartyConfig};

fn activation(code: &str, inputs: Vec<Uuid>, kind: OutputKind) -> Activation {
    Activation {
        code: Some(code.into()),
        inputs,
        output: OutputSpec { kind, tags: vec![] },
        ..Activation::default()
    }
}

#[tokio::test]
async fn create_then_get_round_trips_on_two_and_three_parties() {
    for n in [2, 3] {
        let cloud = FakeCloud::start(n).await;
        let c = cloud.client();
        assert_eq!(c.parties(), n);
        let values = [42i128, 17, -5, 0, i64::MAX as i128 * 4];
        let id = c
            .create_secret_i128(&values, vec![Tag::string("k", "v")])
            .await
            .unwrap();
        for p in 0..n {
            let stored = cloud.stored(p, id).unwrap();
            assert_eq!(stored[2], Fp::from_i64(-5), "party {p} stores x = m + r");
        }
        assert_eq!(c.get_secret_i128(id).await.unwrap(), values);
        let info = c.secret_info(id).await.unwrap();
        assert_eq!((info.id, info.len), (id, 5));
    }
}

#[tokio::test]
async fn an_empty_secret_is_refused_before_any_request() {
    let cloud = FakeCloud::start(2).await;
    let e = cloud.client().create_secret(&[], vec![]).await.unwrap_err();
    assert!(matches!(e, ClientError::Usage(_)), "{e}");
}

#[tokio::test]
async fn tampering_at_upload_is_detected_and_nothing_is_sent() {
    for (n, party) in [(2, 1), (3, 0), (3, 2)] {
        let cloud = FakeCloud::start_with(n, Some((party, Tamper::MaskShare))).await;
        let e = cloud
            .client()
            .create_secret_i128(&[1, 2, 3], vec![])
            .await
            .unwrap_err();
        assert!(
            matches!(e, ClientError::Integrity { index: 0, .. }),
            "n={n}: {e}"
        );
        let page = cloud.client().list_secrets(None, None).await.unwrap();
        assert!(page.items.is_empty(), "no masked values were sent");
    }
}

#[tokio::test]
async fn tampering_at_download_is_detected() {
    for t in [Tamper::DownloadShare, Tamper::DownloadW] {
        let cloud = FakeCloud::start_with(3, Some((1, t))).await;
        let id = cloud.insert_secret(&[Fp::from_u64(9), Fp::from_u64(10)], vec![]);
        let e = cloud.client().get_secret(id).await.unwrap_err();
        assert!(
            matches!(e, ClientError::Integrity { index: 0, .. }),
            "{t:?}: {e}"
        );
        assert!(e.to_string().contains("a party tampered"), "{e}");
    }
}

#[tokio::test]
async fn a_party_storing_another_id_is_a_disagreement() {
    let cloud = FakeCloud::start_with(2, Some((1, Tamper::SecretId))).await;
    let e = cloud
        .client()
        .create_secret_i128(&[1], vec![])
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Disagreement { .. }), "{e}");
    assert!(e.to_string().contains("party 1 stored"), "{e}");
}

#[tokio::test]
async fn a_party_claiming_another_id_is_a_disagreement() {
    let cloud = FakeCloud::start_with(3, Some((2, Tamper::PartyId))).await;
    let c = cloud.client();
    let e = c.create_secret_i128(&[1], vec![]).await.unwrap_err();
    assert!(e.to_string().contains("says it is party 0"), "{e}");
    let id = cloud.insert_secret(&[Fp::ONE], vec![]);
    let e = c
        .execute(activation("sum", vec![id], OutputKind::Plaintext))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Disagreement { .. }), "{e}");
}

#[tokio::test]
async fn execute_in_each_output_mode() {
    for n in [2, 3] {
        let cloud = FakeCloud::start(n).await;
        let c = cloud.client();
        let a = c.create_secret_i128(&[3, -4], vec![]).await.unwrap();
        let b = c.create_secret_i128(&[10], vec![]).await.unwrap();
        let want = vec![3i128, -4, 10, 9];

        let r = c
            .execute(activation("sum", vec![a, b], OutputKind::Plaintext))
            .await
            .unwrap();
        assert_eq!(r.values_i128().unwrap(), want);
        assert_eq!(r.stats.len(), n);
        assert!(r.printed.starts_with("fake game "), "{}", r.printed);
        assert!(Uuid::parse_str(&r.game_id).is_ok(), "a fresh UUID game id");

        let r = c
            .execute(activation("sum", vec![a, b], OutputKind::SecretShare))
            .await
            .unwrap();
        assert!(matches!(r.outputs, Outputs::Shares(_)));
        assert_eq!(r.values_i128().unwrap(), want);

        let mut act = activation("sum", vec![a, b], OutputKind::AmphoraSecret);
        act.game_id = Some("my-game".into());
        let r = c.execute(act).await.unwrap();
        assert_eq!(r.game_id, "my-game");
        let Outputs::Secrets(ids) = &r.outputs else {
            panic!("{:?}", r.outputs)
        };
        assert_eq!(ids.len(), 1);
        assert_eq!(c.get_secret_i128(ids[0]).await.unwrap(), want);
        assert!(r.values_i128().is_err());
        assert_eq!(r.outputs.lines(), vec![ids[0].to_string()]);
    }
}

#[tokio::test]
async fn execution_tampering_and_disagreements_are_detected() {
    let cases = [
        (
            Tamper::Plaintext,
            OutputKind::Plaintext,
            "plaintext outputs",
        ),
        (Tamper::GameShare, OutputKind::SecretShare, "tampered"),
        (
            Tamper::OutputIds,
            OutputKind::AmphoraSecret,
            "ids of the stored outputs",
        ),
        (Tamper::ProgramHash, OutputKind::Plaintext, "program hash"),
    ];
    for (t, kind, needle) in cases {
        let cloud = FakeCloud::start_with(3, Some((2, t))).await;
        let id = cloud.insert_secret(&[Fp::from_u64(5)], vec![]);
        let e = cloud
            .client()
            .execute(activation("sum", vec![id], kind))
            .await
            .unwrap_err();
        assert!(e.to_string().contains(needle), "{t:?}: {e}");
        assert!(
            matches!(
                e,
                ClientError::Disagreement { .. } | ClientError::Integrity { .. }
            ),
            "{t:?}: {e}"
        );
    }
}

#[tokio::test]
async fn node_errors_carry_the_party_and_code() {
    let cloud = FakeCloud::start(2).await;
    let c = cloud.client();
    // Compile error.
    let e = c
        .execute(activation("fail()", vec![], OutputKind::Plaintext))
        .await
        .unwrap_err();
    assert_eq!(e.api_code(), Some(ErrorCode::CompileError), "{e}");
    assert!(
        e.to_string().contains("answered compile_error: line 1"),
        "{e}"
    );
    // Unknown secret.
    let e = c.get_secret(Uuid::new_v4()).await.unwrap_err();
    assert_eq!(e.api_code(), Some(ErrorCode::NotFound), "{e}");
    assert!(e.party().is_some());
    // A reused game id.
    let mut a = activation("sum", vec![], OutputKind::Plaintext);
    a.game_id = Some("g1".into());
    c.execute(a.clone()).await.unwrap();
    let e = c.execute(a).await.unwrap_err();
    assert_eq!(e.api_code(), Some(ErrorCode::Conflict), "{e}");
    // Neither code nor function.
    let e = c.execute(Activation::default()).await.unwrap_err();
    assert!(matches!(e, ClientError::Usage(_)), "{e}");
    // Wrong number of private inputs.
    let e = c
        .execute_with_private_inputs(activation("sum", vec![], OutputKind::Plaintext), vec![None])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("1 private inputs for 2 parties"),
        "{e}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_with_a_hint() {
    let cloud = FakeCloud::start(2).await;
    let mut cfg = cloud.config();
    cfg.parties[1].token = Some("wrong".into());
    let e = Client::new(cfg)
        .unwrap()
        .create_secret_i128(&[1], vec![])
        .await
        .unwrap_err();
    assert_eq!(e.party(), Some(1));
    assert_eq!(e.api_code(), Some(ErrorCode::Unauthorized));
    assert!(e.to_string().contains("`token` in the cloud file"), "{e}");
}

#[tokio::test]
async fn an_unreachable_party_is_an_http_error_naming_it() {
    let cloud = FakeCloud::start(2).await;
    // A port that was just free: nobody listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let cfg = CloudConfig::new(vec![
        PartyConfig {
            id: 0,
            url: cloud.url(0),
            token: Some(crate::testing::token(0)),
            ca_cert: None,
        },
        PartyConfig {
            id: 1,
            url: format!("http://{addr}"),
            token: None,
            ca_cert: None,
        },
    ])
    .unwrap();
    let e = Client::new(cfg).unwrap().health().await.unwrap_err();
    match &e {
        ClientError::Http {
            party,
            url,
            message,
            timed_out,
        } => {
            assert!(!timed_out, "a refused connection is not a timeout");
            assert_eq!(*party, 1);
            assert_eq!(url, &format!("http://{addr}"));
            assert!(message.contains("is the node running"), "{message}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let cloud = FakeCloud::start(2).await;
    let c = cloud.client();
    for i in 0..5i64 {
        c.create_secret_i128(&[i as i128], vec![Tag::long("n", i), Tag::string("k", "v")])
            .await
            .unwrap();
    }
    assert_eq!(c.list_secrets(None, None).await.unwrap().total_items, 5);
    let p = c.list_secrets(Some("k:v,n>2"), None).await.unwrap();
    assert_eq!(p.total_items, 2);
    let p = c.list_secrets(None, Some((1, 2))).await.unwrap();
    assert_eq!((p.items.len(), p.number, p.total_pages), (2, 1, 3));
}

#[tokio::test]
async fn tags_and_deletion_reach_every_party() {
    let cloud = FakeCloud::start(3).await;
    let c = cloud.client();
    let id = c
        .create_secret_i128(&[1], vec![Tag::string("a", "1")])
        .await
        .unwrap();
    c.add_tag(id, Tag::long("n", 7)).await.unwrap();
    let e = c.add_tag(id, Tag::long("n", 8)).await.unwrap_err();
    assert_eq!(e.api_code(), Some(ErrorCode::Conflict));
    c.set_tag(id, Tag::string("a", "2")).await.unwrap();
    c.delete_tag(id, "n").await.unwrap();
    let tags = c.get_tags(id).await.unwrap();
    let user: Vec<_> = tags
        .iter()
        .filter(|t| t.key != "owner" && t.key != "creation-date")
        .collect();
    assert_eq!(user, vec![&Tag::string("a", "2")]);
    assert_eq!(tags[0].key, "owner");
    c.replace_tags(id, vec![Tag::long("z", -1)]).await.unwrap();
    assert!(c
        .get_tags(id)
        .await
        .unwrap()
        .iter()
        .any(|t| t.key == "z" && t.value_type == TagType::Long));
    c.delete_secret(id).await.unwrap();
    for p in 0..3 {
        assert!(cloud.stored(p, id).is_none(), "party {p} deleted it");
    }
    let e = c.delete_secret(id).await.unwrap_err();
    assert_eq!(e.api_code(), Some(ErrorCode::NotFound));
}

#[tokio::test]
async fn functions_deploy_everywhere_and_run_by_name() {
    let cloud = FakeCloud::start(2).await;
    let c = cloud.client();
    let f = c
        .deploy_function("sum", "sum program", vec!["8".into()])
        .await
        .unwrap();
    assert_eq!((f.name.as_str(), f.version), ("sum", 1));
    assert_eq!(
        c.deploy_function("sum", "v2", vec![])
            .await
            .unwrap()
            .version,
        2
    );
    assert_eq!(c.list_functions().await.unwrap().len(), 2);
    let id = c.create_secret_i128(&[2, 3], vec![]).await.unwrap();
    let r = c
        .execute(Activation {
            function: Some("sum".into()),
            inputs: vec![id],
            ..Activation::default()
        })
        .await
        .unwrap();
    assert_eq!(r.values_i128().unwrap(), vec![2, 3, 5]);
    let st = c.game_status(&r.game_id).await.unwrap();
    assert_eq!(st.len(), 2);
    assert!(st.iter().all(|s| s.status == api::GameStatus::Succeeded));
    assert_eq!(c.function_versions("sum").await.unwrap().len(), 2);
    c.delete_function("sum").await.unwrap();
    assert!(c.list_functions().await.unwrap().is_empty());
    let e = c.function_versions("sum").await.unwrap_err();
    assert_eq!(e.api_code(), Some(ErrorCode::NotFound));

    let bad = FakeCloud::start_with(2, Some((1, Tamper::ProgramHash))).await;
    let e = bad
        .client()
        .deploy_function("sum", "x", vec![])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("program hash of function sum"),
        "{e}"
    );
}

#[tokio::test]
async fn tuple_stats_and_health_come_from_every_party() {
    let cloud = FakeCloud::start(3).await;
    let c = cloud.client();
    let s = c.tuple_stats().await.unwrap();
    assert_eq!(s.iter().map(|s| s.party).collect::<Vec<_>>(), vec![0, 1, 2]);
    let h = c.health().await.unwrap();
    assert_eq!(h.len(), 3);
    assert!(h.iter().all(|h| h.status == "ok"));
}

/// A one-party https server (self-signed certificate for 127.0.0.1) answering `GET /v1/health`.
mod tls {
    use std::sync::Arc;

    use axum::routing::get;
    use axum::{Json, Router};
    use tokio::net::TcpListener;
    use tokio_rustls::server::TlsStream;
    use tokio_rustls::TlsAcceptor;

    struct TlsListener {
        tcp: TcpListener,
        acceptor: TlsAcceptor,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = TlsStream<tokio::net::TcpStream>;
        type Addr = std::net::SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((tcp, addr)) = self.tcp.accept().await else {
                    continue;
                };
                if let Ok(tls) = self.acceptor.accept(tcp).await {
                    return (tls, addr);
                }
            }
        }

        fn local_addr(&self) -> std::io::Result<Self::Addr> {
            self.tcp.local_addr()
        }
    }

    /// Starts the server; returns its https URL and its certificate (PEM).
    pub async fn serve() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let url = serve_chain(vec![cert.der().clone()], &key).await;
        (url, cert.pem())
    }

    /// A certificate authority: its certificate (PEM) and what signs with it.
    pub struct Ca {
        pub pem: String,
        issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    }

    impl Ca {
        pub fn new(name: &str) -> Ca {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let cert = params.self_signed(&key).unwrap();
            Ca {
                pem: cert.pem(),
                issuer: rcgen::Issuer::new(params, key),
            }
        }

        /// Starts a server whose certificate for 127.0.0.1 this CA issued; returns its URL.
        pub async fn serve(&self) -> String {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
                .unwrap()
                .signed_by(&key, &self.issuer)
                .unwrap();
            serve_chain(vec![cert.der().clone()], &key).await
        }
    }

    /// Starts the server with certificate chain `chain` and `key`; returns its https URL.
    async fn serve_chain(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: &rcgen::KeyPair,
    ) -> String {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                chain,
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", tcp.local_addr().unwrap());
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        };
        let app = Router::new().route(
            api::paths::HEALTH,
            get(|| async {
                Json(api::Health {
                    party: 0,
                    parties: 1,
                    status: "ok".into(),
                    version: "tls".into(),
                    generator: "none".into(),
                    peers: vec![],
                    running_games: 0,
                    generation_halt: None,
                })
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }
}

#[tokio::test]
async fn https_parties_are_trusted_through_ca_cert_only() {
    let (url, pem) = tls::serve().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("party0.pem");
    std::fs::write(&ca, pem).unwrap();
    let file = dir.path().join("cloud.toml");
    std::fs::write(
        &file,
        format!("[[parties]]\nid = 0\nurl = \"{url}\"\nca_cert = \"party0.pem\"\n"),
    )
    .unwrap();
    let c = Client::from_cloud_file(Some(&file)).unwrap();
    assert_eq!(c.health().await.unwrap()[0].version, "tls");
    // Without the certificate the party is not trusted.
    let mut cfg = c.config().clone();
    cfg.parties[0].ca_cert = None;
    let e = Client::new(cfg).unwrap().health().await.unwrap_err();
    assert!(matches!(e, ClientError::Http { party: 0, .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}

/// A client for one https party with `ca_pem` as its `ca_cert`.
fn pinned_client(url: &str, ca_pem: &str, dir: &std::path::Path) -> Client {
    let ca = dir.join("pin.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    Client::new(
        CloudConfig::new(vec![PartyConfig {
            id: 0,
            url: url.into(),
            token: Some("t0".into()),
            ca_cert: Some(ca),
        }])
        .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn ca_cert_is_a_pin_a_server_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ours = tls::Ca::new("party 0 CA");
    let other = tls::Ca::new("some other CA");
    let url = ours.serve().await;
    // Pinned to the CA that issued the server's certificate: trusted.
    let c = pinned_client(&url, &ours.pem, dir.path());
    assert_eq!(c.health().await.unwrap()[0].version, "tls");
    // Pinned to another CA: refused, although that CA is a valid CA.
    let c = pinned_client(&url, &other.pem, dir.path());
    let e = c.health().await.unwrap_err();
    assert!(matches!(e, ClientError::Http { party: 0, .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // A server of the other CA is refused by the client pinned to ours.
    let url2 = other.serve().await;
    let c = pinned_client(&url2, &ours.pem, dir.path());
    assert!(c.health().await.is_err());
    // A self-signed server certificate pinned as itself is trusted; another one is not.
    let (url3, pem3) = tls::serve().await;
    let (_, pem4) = tls::serve().await;
    assert!(pinned_client(&url3, &pem3, dir.path())
        .health()
        .await
        .is_ok());
    assert!(pinned_client(&url3, &pem4, dir.path())
        .health()
        .await
        .is_err());
}

#[tokio::test]
async fn fixed_point_and_i64_secrets_round_trip_and_decode_game_outputs() {
    use crate::FixedPoint;
    let cloud = FakeCloud::start(2).await;
    let c = cloud.client();
    let fx = FixedPoint::DEFAULT;
    let a = c
        .create_secret_fixed(&[3.25, -0.5], fx, vec![])
        .await
        .unwrap();
    // Stored as the sfix integer representation round(x·2^16).
    assert_eq!(
        cloud.stored(0, a).unwrap(),
        vec![Fp::from_i64(3 * 65536 + 16384), Fp::from_i64(-32768)]
    );
    assert_eq!(c.get_secret_fixed(a, fx).await.unwrap(), vec![3.25, -0.5]);
    // The fake game outputs its inputs and their sum: decoded with the same encoding.
    let r = c
        .execute(activation("sum", vec![a], OutputKind::SecretShare))
        .await
        .unwrap();
    assert_eq!(r.outputs.to_f64(fx).unwrap(), vec![3.25, -0.5, 2.75]);
    let r = c
        .execute(activation("sum", vec![a], OutputKind::Plaintext))
        .await
        .unwrap();
    assert_eq!(r.outputs.to_f64(fx).unwrap(), vec![3.25, -0.5, 2.75]);
    // A value that does not fit is refused before anything is sent.
    let e = c
        .create_secret_fixed(&[1.0, 20000.0], fx, vec![])
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("value 1: 20000"), "{e}");

    let b = c
        .create_secret_i64(&[i64::MIN, -1, i64::MAX], vec![])
        .await
        .unwrap();
    assert_eq!(
        c.get_secret_i64(b).await.unwrap(),
        vec![i64::MIN, -1, i64::MAX]
    );
    let big = c
        .create_secret_i128(&[i64::MAX as i128 + 1], vec![])
        .await
        .unwrap();
    let e = c.get_secret_i64(big).await.unwrap_err();
    assert!(matches!(e, ClientError::Decode { .. }), "{e}");
}

#[tokio::test]
async fn execute_with_progress_returns_the_result_and_the_callbacks_error() {
    let cloud = FakeCloud::start(2).await;
    let c = cloud.client();
    let a = c.create_secret_i128(&[4, 5], vec![]).await.unwrap();
    let r = c
        .execute_with_progress(
            activation("sum", vec![a], OutputKind::Plaintext),
            vec![],
            std::time::Duration::from_millis(10),
            |_| Ok(()),
        )
        .await
        .unwrap();
    assert_eq!(r.values_i128().unwrap(), vec![4, 5, 9]);
    // The game id is fixed before the first status request, and reused.
    let mut act = activation("sum", vec![a], OutputKind::Plaintext);
    act.game_id = Some("followed".into());
    let r = c
        .execute_with_progress(
            act,
            vec![],
            std::time::Duration::from_millis(10),
            |_| Ok(()),
        )
        .await
        .unwrap();
    assert_eq!(r.game_id, "followed");
    assert!(c.game_status_on(0, "followed").await.is_ok());
}
