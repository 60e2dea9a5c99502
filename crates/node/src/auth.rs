//! Bearer tokens: `Authorization: Bearer <token>` names a configured client (`[[clients]]`).
//!
//! **Invariant:** the node keeps only the BLAKE3 hashes of the tokens, compares hashes in
//! constant time ([`blake3::Hash`]'s equality) against *every* configured client, and never logs,
//! prints or returns a token. Error messages name no token, only how to pass one.

use std::fmt;

use api::{ApiError, ErrorCode};

use crate::config::{ConfigError, NodeConfig};
use crate::User;

/// The header scheme, compared case-insensitively (RFC 7235).
const SCHEME: &str = "bearer";

/// Tokens shorter than this get a start-up warning (never an error: tests use short tokens).
const SHORT_TOKEN: usize = 16;

/// The configured clients, by hash of their token.
pub struct Tokens {
    entries: Vec<(blake3::Hash, User)>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.entries.iter().map(|(_, u)| u.name.as_str()).collect();
        f.debug_struct("Tokens").field("users", &users).finish()
    }
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

impl Tokens {
    /// Reads the tokens of `cfg.clients`: `token`, or the contents of `token_file` with
    /// surrounding whitespace trimmed. An unreadable or empty token file, or a token used by two
    /// clients, is an error naming the field.
    pub fn from_config(cfg: &NodeConfig) -> Result<Tokens, ConfigError> {
        let mut entries: Vec<(blake3::Hash, User)> = Vec::with_capacity(cfg.clients.len());
        for (i, c) in cfg.clients.iter().enumerate() {
            let (token, field) = match (&c.token, &c.token_file) {
                (Some(t), None) => (t.trim().to_string(), format!("clients[{i}].token")),
                (None, Some(path)) => {
                    let field = format!("clients[{i}].token_file");
                    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                        path: path.display().to_string(),
                        message: format!("{field}: cannot read the token file: {e}"),
                    })?;
                    (text.trim().to_string(), field)
                }
                _ => {
                    return Err(ConfigError {
                        path: "[[clients]]".into(),
                        message: format!("clients[{i}]: give exactly one of token and token_file"),
                    })
                }
            };
            let err = |message: String| ConfigError {
                path: "[[clients]]".into(),
                message,
            };
            if token.is_empty() {
                return Err(err(format!("{field}: the token is empty")));
            }
            if token
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control())
            {
                return Err(err(format!(
                    "{field}: the token contains whitespace or control characters, which an Authorization header cannot carry"
                )));
            }
            let hash = blake3::hash(token.as_bytes());
            if let Some(j) = entries.iter().position(|(h, _)| *h == hash) {
                return Err(err(format!(
                    "{field}: the same token as clients[{j}]; every client needs its own token"
                )));
            }
            if token.len() < SHORT_TOKEN {
                tracing::warn!(
                    user = %c.user,
                    "the token of this client is shorter than {SHORT_TOKEN} characters; use a long random token outside tests"
                );
            }
            entries.push((
                hash,
                User {
                    name: c.user.clone(),
                },
            ));
        }
        Ok(Tokens { entries })
    }

    /// Number of configured clients.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no client is configured (then every authenticated request is refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The user whose token the `Authorization` header value carries; 401 `unauthorized` for a
    /// missing header, another scheme or an unknown token.
    pub fn authenticate(&self, header: Option<&str>) -> Result<User, ApiError> {
        let Some(value) = header else {
            return Err(unauthorized(
                "no Authorization header; send `Authorization: Bearer <token>` with a token configured for you in this party's [[clients]]",
            ));
        };
        let value = value.trim();
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case(SCHEME) => rest.trim(),
            _ => {
                return Err(unauthorized(
                    "the Authorization header is not a bearer token; send `Authorization: Bearer <token>`",
                ))
            }
        };
        if token.is_empty() {
            return Err(unauthorized(
                "the bearer token is empty; send `Authorization: Bearer <token>`",
            ));
        }
        let presented = blake3::hash(token.as_bytes());
        // Look at every entry: the time taken does not depend on which one matches.
        let mut found: Option<&User> = None;
        for (hash, user) in &self.entries {
            if *hash == presented {
                found = Some(user);
            }
        }
        found.cloned().ok_or_else(|| {
            unauthorized(
                "unknown bearer token; use a token configured for you in this party's [[clients]]",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;

    fn config(clients: Vec<ClientConfig>) -> NodeConfig {
        let text = r#"
party = 0
[api]
listen = "127.0.0.1:1"
[mpc]
listen = "127.0.0.1:2"
cert = "c"
key = "k"
[[parties]]
id = 0
api_url = "http://127.0.0.1:1"
mpc_addr = "127.0.0.1:2"
cert = "c"
[[parties]]
id = 1
api_url = "http://127.0.0.1:3"
mpc_addr = "127.0.0.1:4"
cert = "c"
[storage]
path = "d"
"#;
        let mut cfg = NodeConfig::parse(text, "test", std::path::Path::new("/")).unwrap();
        cfg.clients = clients;
        cfg
    }

    fn inline(user: &str, token: &str) -> ClientConfig {
        ClientConfig {
            user: user.into(),
            admin: false,
            token: Some(token.into()),
            token_file: None,
        }
    }

    fn tokens() -> Tokens {
        Tokens::from_config(&config(vec![
            inline("alice", "alice-secret-token"),
            inline("bob", "bob-secret-token"),
        ]))
        .unwrap()
    }

    #[test]
    fn missing_header_is_unauthorized_and_says_how() {
        let e = tokens().authenticate(None).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthorized);
        assert!(e.message.contains("Authorization: Bearer"), "{}", e.message);
    }

    #[test]
    fn wrong_scheme_is_unauthorized() {
        let t = tokens();
        for h in [
            "Basic YWxpY2U6eA==",
            "alice-secret-token",
            "Bearer",
            "Bearer   ",
        ] {
            let e = t.authenticate(Some(h)).unwrap_err();
            assert_eq!(e.code, ErrorCode::Unauthorized, "{h}");
            assert!(e.message.contains("Bearer"), "{}", e.message);
        }
    }

    #[test]
    fn wrong_token_is_unauthorized_and_not_echoed() {
        let e = tokens()
            .authenticate(Some("Bearer mallory-guess"))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthorized);
        assert!(!e.message.contains("mallory-guess"));
        assert_eq!(e.code.http_status(), 401);
    }

    #[test]
    fn right_token_names_the_user() {
        let t = tokens();
        assert_eq!(
            t.authenticate(Some("Bearer alice-secret-token")).unwrap(),
            User {
                name: "alice".into()
            }
        );
        assert_eq!(
            t.authenticate(Some("bearer  bob-secret-token "))
                .unwrap()
                .name,
            "bob"
        );
        assert!(!format!("{t:?}").contains("secret-token"));
    }

    #[test]
    fn token_files_are_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("carol.token");
        std::fs::write(&f, "carol-token-from-file\n").unwrap();
        let carol = ClientConfig {
            user: "carol".into(),
            admin: false,
            token: None,
            token_file: Some(f.clone()),
        };
        let t = Tokens::from_config(&config(vec![carol.clone()])).unwrap();
        assert_eq!(
            t.authenticate(Some("Bearer carol-token-from-file"))
                .unwrap()
                .name,
            "carol"
        );
        std::fs::write(&f, "  \n").unwrap();
        let e = Tokens::from_config(&config(vec![carol])).unwrap_err();
        assert!(e.message.starts_with("clients[0].token_file:"), "{e}");
        let missing = ClientConfig {
            user: "dave".into(),
            admin: false,
            token: None,
            token_file: Some(dir.path().join("nope")),
        };
        let e = Tokens::from_config(&config(vec![missing])).unwrap_err();
        assert!(e.message.starts_with("clients[0].token_file:"), "{e}");
    }

    #[test]
    fn a_token_shared_by_two_clients_is_refused() {
        let e = Tokens::from_config(&config(vec![
            inline("a", "dup-tok"),
            inline("b", "dup-tok"),
        ]))
        .unwrap_err();
        assert!(e.message.starts_with("clients[1].token:"), "{e}");
        assert!(!e.message.contains("dup-tok"));
    }

    #[test]
    fn no_clients_refuses_everyone() {
        let t = Tokens::from_config(&config(vec![])).unwrap();
        assert!(t.is_empty());
        assert!(t.authenticate(Some("Bearer anything")).is_err());
    }
}
