//! The virtual-cloud file: where the parties are and how to authenticate to each (the original's
//! `~/.cs/config`).
//!
//! ```toml
//! timeout_secs = 600              # per request (optional, default 600)
//!
//! [[parties]]
//! id = 0
//! url = "http://127.0.0.1:7100"
//! token = "dev-token-party0"      # bearer token for that party (optional)
//! # ca_cert = "ca.pem"            # optional: PEM certificate(s) to trust for https, relative
//! #                               # to this file; a pin: the only certificates trusted for
//! #                               # this party (no web roots)
//! ```
//!
//! A party with a `token` must be reached over `https://`, unless its host is loopback
//! (127.0.0.0/8, `::1`, `localhost`): a bearer token over plain http to another host is an
//! error at load time (and when a client is built), naming the party.
//!
//! Found at `--cloud FILE`, else `$EPHEMERAL_CLOUD`, else `~/.config/ephemeral/cloud.toml`
//! ([`CloudConfig::locate`]). Errors name the file and the field.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{ClientError, Result};

/// The environment variable naming the cloud file.
pub const CLOUD_ENV: &str = "EPHEMERAL_CLOUD";

/// The default per-request timeout: games may run for minutes.
pub const DEFAULT_TIMEOUT_SECS: u64 = 600;

/// One party of the virtual cloud.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyConfig {
    /// The party's id, 0..N; every id appears once.
    pub id: usize,
    /// Base URL of the party's HTTP API, `http://host:port` or `https://...`.
    pub url: String,
    /// Bearer token sent to this party.
    #[serde(default)]
    pub token: Option<String>,
    /// PEM file of the certificates to trust for this party's https endpoint *instead of* the
    /// usual web roots (a pin: the server's chain must verify against these alone); a relative
    /// path is relative to the cloud file.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}

/// The virtual cloud: every party, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    /// Per-request timeout in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The parties, sorted by id after loading.
    pub parties: Vec<PartyConfig>,
    /// Where the configuration came from (for messages); not part of the file.
    #[serde(skip)]
    pub origin: String,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

impl CloudConfig {
    /// Builds a configuration in code (no file): parties `0..urls.len()` at `urls`, with tokens.
    pub fn new(parties: Vec<PartyConfig>) -> Result<CloudConfig> {
        let mut c = CloudConfig {
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            parties,
            origin: "<in code>".into(),
        };
        c.validate()?;
        Ok(c)
    }

    /// Where the cloud file is: `explicit`, else `$EPHEMERAL_CLOUD`, else
    /// `~/.config/ephemeral/cloud.toml`.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(p) = explicit {
            return Ok(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os(CLOUD_ENV).filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(PathBuf::from(home).join(".config/ephemeral/cloud.toml")),
            None => Err(ClientError::Config {
                path: "~/.config/ephemeral/cloud.toml".into(),
                message: format!("HOME is not set; pass --cloud FILE or set {CLOUD_ENV}"),
            }),
        }
    }

    /// Finds ([`CloudConfig::locate`]) and loads the cloud file.
    pub fn find_and_load(explicit: Option<&Path>) -> Result<CloudConfig> {
        CloudConfig::load(&CloudConfig::locate(explicit)?)
    }

    /// Loads and checks a cloud file; `ca_cert` paths become relative to its directory.
    pub fn load(path: &Path) -> Result<CloudConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| ClientError::Config {
            path: path.display().to_string(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "not found; start a local cloud with `ephemeral dev`, or pass --cloud FILE \
                     or set {CLOUD_ENV}"
                )
            } else {
                format!("cannot read it: {e}")
            },
        })?;
        let mut c = CloudConfig::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in &mut c.parties {
            if let Some(ca) = &p.ca_cert {
                if ca.is_relative() {
                    p.ca_cert = Some(base.join(ca));
                }
            }
        }
        Ok(c)
    }

    /// Parses and checks the TOML text of a cloud file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<CloudConfig> {
        let mut c: CloudConfig = toml::from_str(text).map_err(|e| ClientError::Config {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        c.origin = origin.to_string();
        c.validate()?;
        Ok(c)
    }

    fn err(&self, message: String) -> ClientError {
        ClientError::Config {
            path: self.origin.clone(),
            message,
        }
    }

    /// Sorts the parties by id and checks ids, URLs and the timeout.
    fn validate(&mut self) -> Result<()> {
        if self.parties.is_empty() {
            return Err(self.err(
                "parties: no parties; add one [[parties]] table (id, url, token) per party".into(),
            ));
        }
        if self.timeout_secs == 0 {
            return Err(self.err("timeout_secs: must be at least 1".into()));
        }
        self.parties.sort_by_key(|p| p.id);
        let n = self.parties.len();
        for (i, p) in self.parties.iter().enumerate() {
            if p.id != i {
                let what = if i > 0 && self.parties[i - 1].id == p.id {
                    format!("party id {} appears twice", p.id)
                } else {
                    format!("party id {i} is missing")
                };
                return Err(self.err(format!(
                    "parties.id: {what}; the ids of {n} parties must be 0..{}",
                    n - 1
                )));
            }
            let url = p.url.trim();
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || reqwest::Url::parse(url).is_err() {
                return Err(self.err(format!(
                    "parties[{i}].url: {:?} is not an http:// or https:// URL",
                    p.url
                )));
            }
            if p.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err(self.err(format!(
                    "parties[{i}].token: empty; remove the field or give the party's token"
                )));
            }
            check_token_transport(p).map_err(|m| self.err(m))?;
        }
        Ok(())
    }
}

/// Whether `url`'s host is loopback: 127.0.0.0/8, `::1` or `localhost` (also `*.localhost`).
fn is_loopback_host(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // IPv6 hosts come bracketed ("[::1]").
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let d = host.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// Refuses a bearer token over plain `http://` to a host that is not loopback: the token would
/// cross the network in clear text. `Err` is the message, naming the party.
pub(crate) fn check_token_transport(p: &PartyConfig) -> std::result::Result<(), String> {
    if p.token.is_none() {
        return Ok(());
    }
    let url = match reqwest::Url::parse(p.url.trim()) {
        Ok(u) => u,
        Err(e) => return Err(format!("parties[{}].url: {:?}: {e}", p.id, p.url)),
    };
    if url.scheme() == "http" && !is_loopback_host(&url) {
        return Err(format!(
            "parties[{}].url: party {} has a bearer token but its url {:?} is plain http to a \
             host that is not loopback, so the token would travel unencrypted; use https:// \
             (with ca_cert for the party's certificate), or plain http only on 127.0.0.1, ::1 \
             or localhost",
            p.id, p.id, p.url
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
# a comment, as `ephemeral dev` writes
timeout_secs = 30

[[parties]]
id = 1
url = "http://127.0.0.1:7101"
token = "t1"

[[parties]]
id = 0
url = "https://127.0.0.1:7100/"
token = "t0"
ca_cert = "ca.pem"
"#;

    #[test]
    fn parses_and_sorts_parties() {
        let c = CloudConfig::parse(GOOD, "cloud.toml").unwrap();
        assert_eq!(c.timeout_secs, 30);
        assert_eq!(c.parties[0].id, 0);
        assert_eq!(c.parties[0].token.as_deref(), Some("t0"));
        assert_eq!(c.parties[1].url, "http://127.0.0.1:7101");
    }

    #[test]
    fn timeout_defaults() {
        let c = CloudConfig::parse("[[parties]]\nid = 0\nurl = \"http://x:1\"\n", "f").unwrap();
        assert_eq!(c.timeout_secs, DEFAULT_TIMEOUT_SECS);
        assert_eq!(c.parties[0].token, None);
    }

    fn err_of(text: &str) -> String {
        CloudConfig::parse(text, "/etc/cloud.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let e = err_of("[[parties]]\nid = 0\nurl = \"ftp://x\"\n");
        assert!(
            e.starts_with("cloud file /etc/cloud.toml: parties[0].url"),
            "{e}"
        );
        let e = err_of("[[parties]]\nid = 0\nurl = \"http://a:1\"\n[[parties]]\nid = 0\nurl = \"http://b:1\"\n");
        assert!(e.contains("parties.id: party id 0 appears twice"), "{e}");
        let e = err_of("[[parties]]\nid = 1\nurl = \"http://a:1\"\n");
        assert!(e.contains("party id 0 is missing"), "{e}");
        let e = err_of("[[parties]]\nid = 0\nurl = \"http://a:1\"\ntokn = \"x\"\n");
        assert!(e.contains("tokn"), "{e}");
        let e = err_of("[[parties]]\nid = 0\n");
        assert!(e.contains("url"), "{e}");
        let e = err_of("timeout_secs = 0\n[[parties]]\nid = 0\nurl = \"http://a:1\"\n");
        assert!(e.contains("timeout_secs"), "{e}");
        let e = err_of("timeout_secs = 5\n");
        assert!(e.contains("parties"), "{e}");
    }

    #[test]
    fn a_token_over_plain_http_is_refused_unless_the_host_is_loopback() {
        let with = |url: &str, token: bool| {
            let t = if token { "token = \"t\"\n" } else { "" };
            CloudConfig::parse(&format!("[[parties]]\nid = 0\nurl = \"{url}\"\n{t}"), "f")
        };
        for url in [
            "http://10.0.0.7:7100",
            "http://node0.example.com",
            "http://[2001:db8::1]:80",
            "http://localhost.example.com",
        ] {
            let e = with(url, true).unwrap_err().to_string();
            assert!(
                e.contains("parties[0].url") && e.contains("party 0") && e.contains("https://"),
                "{url}: {e}"
            );
            // Without a token there is nothing to leak.
            with(url, false).unwrap();
        }
        for url in [
            "http://127.0.0.1:7100",
            "http://127.3.2.1",
            "http://[::1]:7100",
            "http://localhost:7100",
            "http://LOCALHOST.",
            "http://api.localhost",
            "https://node0.example.com",
        ] {
            with(url, true).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        // Built in code, or edited after loading: the client refuses it too.
        let p = PartyConfig {
            id: 0,
            url: "http://10.0.0.7".into(),
            token: Some("t".into()),
            ca_cert: None,
        };
        assert!(CloudConfig::new(vec![p.clone()]).is_err());
        let mut c = with("http://127.0.0.1:1", true).unwrap();
        c.parties[0] = p;
        let e = crate::Client::new(c).unwrap_err().to_string();
        assert!(e.contains("party 0") && e.contains("https://"), "{e}");
    }

    #[test]
    fn load_resolves_ca_relative_to_the_file_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cloud.toml");
        std::fs::write(&path, GOOD).unwrap();
        let c = CloudConfig::load(&path).unwrap();
        assert_eq!(c.parties[0].ca_cert, Some(dir.path().join("ca.pem")));
        let e = CloudConfig::load(&dir.path().join("nope.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nope.toml") && e.contains("ephemeral dev"),
            "{e}"
        );
    }

    #[test]
    fn explicit_path_wins() {
        let p = CloudConfig::locate(Some(Path::new("/x/c.toml"))).unwrap();
        assert_eq!(p, PathBuf::from("/x/c.toml"));
    }
}
