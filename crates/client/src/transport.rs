//! HTTP to one party, and the fan-out to all of them.
//!
//! **Trust.** A party's `ca_cert` is a *pin*: when it is set, that party's client trusts the
//! certificates in that file and nothing else — the built-in web roots are switched off for it —
//! so the party's server must present a chain that verifies against those certificates alone
//! (its own self-signed certificate, or one issued by the CA in the file). A certificate from any
//! other CA, public or private, is refused. Without `ca_cert` the usual web roots apply.
//!
//! **Tokens.** A bearer token is never sent over plain `http://` except to a loopback host
//! (127.0.0.0/8, ::1, `localhost`): building the client fails first, naming the party
//! ([`crate::config::check_token_transport`]).

use std::time::Duration;

use api::{ApiError, ErrorCode};
use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{CloudConfig, PartyConfig};
use crate::error::{ClientError, Result};

/// Time to establish a connection, whatever the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client of one party: its base URL, token and TLS trust.
#[derive(Debug, Clone)]
pub(crate) struct Party {
    pub id: usize,
    /// Base URL without a trailing slash.
    pub url: String,
    token: Option<String>,
    http: reqwest::Client,
    timeout_secs: u64,
}

impl Party {
    /// Builds the HTTP client of `p` (reads its `ca_cert`, if any). Refuses a bearer token over
    /// plain http to a non-loopback host.
    pub fn new(cloud: &CloudConfig, p: &PartyConfig) -> Result<Party> {
        crate::config::check_token_transport(p).map_err(|message| ClientError::Config {
            path: cloud.origin.clone(),
            message,
        })?;
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(cloud.timeout_secs))
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("ephemeral-client/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &p.ca_cert {
            let field = format!("parties[{}].ca_cert", p.id);
            let pem = std::fs::read(ca).map_err(|e| ClientError::Config {
                path: cloud.origin.clone(),
                message: format!("{field}: cannot read {}: {e}", ca.display()),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ClientError::Config {
                    path: cloud.origin.clone(),
                    message: format!("{field}: {} is not PEM certificates: {e}", ca.display()),
                })?;
            if certs.is_empty() {
                return Err(ClientError::Config {
                    path: cloud.origin.clone(),
                    message: format!("{field}: {} holds no PEM certificate", ca.display()),
                });
            }
            // The pin: these certificates are the only trust anchors of this party's client.
            b = b.tls_built_in_root_certs(false);
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let http = b.build().map_err(|e| ClientError::Config {
            path: cloud.origin.clone(),
            message: format!("parties[{}]: cannot build an HTTP client: {e}", p.id),
        })?;
        Ok(Party {
            id: p.id,
            url: p.url.trim().trim_end_matches('/').to_string(),
            token: p.token.clone(),
            http,
            timeout_secs: cloud.timeout_secs,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.http.request(method, format!("{}{}", self.url, path));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    fn http_error(&self, e: reqwest::Error) -> ClientError {
        let message = if e.is_timeout() {
            format!(
                "no answer within {} s; raise timeout_secs in the cloud file if the operation is long",
                self.timeout_secs
            )
        } else if e.is_connect() {
            format!(
                "cannot connect ({}); is the node running, and is its url in the cloud file right?",
                error_chain(&e)
            )
        } else if e.is_request() || e.is_body() {
            format!(
                "the connection broke before the node answered ({}); the node may have stopped or restarted. \
                 Nothing was confirmed by this party: check it is up (`ephemeral health`) and retry \
                 (a game with a fresh game id)",
                error_chain(&e)
            )
        } else {
            error_chain(&e)
        };
        ClientError::Http {
            party: self.id,
            url: self.url.clone(),
            message,
            timed_out: e.is_timeout(),
        }
    }

    /// Sends a request; the body of a successful answer.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        query: Option<&(dyn ErasedQuery + Sync)>,
        body: Option<&(dyn ErasedBody + Sync)>,
    ) -> Result<bytes::Bytes> {
        let mut rb = self.request(method, path);
        if let Some(q) = query {
            rb = q.apply_query(rb);
        }
        if let Some(b) = body {
            rb = b.apply_body(rb);
        }
        let resp = rb.send().await.map_err(|e| self.http_error(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.http_error(e))?;
        if !status.is_success() {
            return Err(self.api_error(status, &bytes));
        }
        Ok(bytes)
    }

    /// Sends a request and decodes its JSON answer.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: Option<&(dyn ErasedQuery + Sync)>,
        body: Option<&(dyn ErasedBody + Sync)>,
    ) -> Result<T> {
        let bytes = self.send_raw(method, path, query, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            party: Some(self.id),
            message: format!("the answer to {path} is not the expected JSON: {e}"),
        })
    }

    /// The node's [`ApiError`], or one made from the status if the body is not one (a proxy).
    fn api_error(&self, status: StatusCode, body: &[u8]) -> ClientError {
        let error = serde_json::from_slice::<ApiError>(body).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            let message = if text.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {text}")
            };
            ApiError::new(ErrorCode::from_status(status.as_u16()), message)
        });
        ClientError::Api {
            party: self.id,
            error,
        }
    }
}

/// A reqwest error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// A JSON body, type-erased so that [`Party::send`] is not generic over it.
pub(crate) trait ErasedBody {
    fn apply_body(&self, rb: RequestBuilder) -> RequestBuilder;
}

impl<T: Serialize> ErasedBody for T {
    fn apply_body(&self, rb: RequestBuilder) -> RequestBuilder {
        rb.json(self)
    }
}

/// A query string, type-erased.
pub(crate) trait ErasedQuery {
    fn apply_query(&self, rb: RequestBuilder) -> RequestBuilder;
}

impl<T: Serialize> ErasedQuery for T {
    fn apply_query(&self, rb: RequestBuilder) -> RequestBuilder {
        rb.query(self)
    }
}

/// Runs `f` for every party at once. Returns the answers in party order, or the first error to
/// arrive (the others are then abandoned: an error is never hidden behind a slower party's
/// timeout).
pub(crate) async fn fan_out<'a, T, F, Fut>(parties: &'a [Party], f: F) -> Result<Vec<T>>
where
    F: Fn(&'a Party) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut pending: FuturesUnordered<_> = parties
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let fut = f(p);
            async move { (i, fut.await) }
        })
        .collect();
    let mut out: Vec<Option<T>> = (0..parties.len()).map(|_| None).collect();
    while let Some((i, r)) = pending.next().await {
        out[i] = Some(r?);
    }
    Ok(out.into_iter().flatten().collect())
}

/// Percent-encodes one path segment (ids and names are plain already; this guards `/`, `?`, …).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud_with_ca(ca: &std::path::Path) -> CloudConfig {
        let mut c = CloudConfig::new(vec![PartyConfig {
            id: 0,
            url: "https://127.0.0.1:1".into(),
            token: None,
            ca_cert: Some(ca.to_path_buf()),
        }])
        .unwrap();
        c.origin = "cloud.toml".into();
        c
    }

    #[test]
    fn a_bad_ca_cert_names_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let cloud = cloud_with_ca(&missing);
        let e = Party::new(&cloud, &cloud.parties[0])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cloud file cloud.toml: parties[0].ca_cert: cannot read"),
            "{e}"
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let cloud = cloud_with_ca(&junk);
        let e = Party::new(&cloud, &cloud.parties[0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("parties[0].ca_cert"), "{e}");
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("sum-v1.2_x@3"), "sum-v1.2_x@3");
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
    }
}
