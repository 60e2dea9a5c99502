//! Use policies and audit records of secrets.
//!
//! A **use policy** says who besides the owner may use a secret as a game input: the programs
//! (64-hex BLAKE3 program hashes), the output modes, and optionally how many uses by other users
//! there may be in all. The **use counter** counts the uses by other users; the **audit record**
//! lists every use (owner's included): time, user, game, program and output mode. All three live
//! with the secret and are deleted with it.
//!
//! The store keeps and validates these; the node decides (see `node::policy`).

use serde::{Deserialize, Serialize};

use super::SecretError;

/// Most program hashes in one policy.
pub const MAX_POLICY_PROGRAMS: usize = 10_000;
/// Length of a program hash in hex characters (BLAKE3, 32 bytes).
pub const PROGRAM_HASH_HEX_CHARS: usize = 64;
/// Longest user, game id or program hash kept in an audit entry, in characters.
pub const MAX_AUDIT_FIELD_CHARS: usize = 256;

/// How a game returns its outputs (the store's mirror of `api::OutputKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OutputMode {
    /// Opened and returned in clear.
    Plaintext,
    /// Returned as shares through output delivery.
    SecretShare,
    /// Stored as a new secret.
    AmphoraSecret,
}

impl OutputMode {
    /// Every mode.
    pub const ALL: [OutputMode; 3] = [
        OutputMode::Plaintext,
        OutputMode::SecretShare,
        OutputMode::AmphoraSecret,
    ];
}

/// Who besides the owner may use a secret as a game input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsePolicy {
    /// Program hashes, lowercase hex, sorted, without repeats. Empty: no other user may use it.
    pub programs: Vec<String>,
    /// Allowed output modes, sorted, without repeats; at least one.
    pub outputs: Vec<OutputMode>,
    /// Most uses by other users over the secret's life; `None` for no limit.
    pub max_uses: Option<u64>,
}

impl UsePolicy {
    /// Whether a game of another user running `program_hash` with output `mode` is allowed
    /// (the use limit is checked separately, against the counter).
    pub fn allows(&self, program_hash: &str, mode: OutputMode) -> bool {
        self.programs
            .binary_search_by(|p| p.as_str().cmp(program_hash))
            .is_ok()
            && self.outputs.contains(&mode)
    }
}

/// Checks a policy and returns its canonical form: hashes lowercase, sorted and without repeats,
/// output modes sorted and without repeats.
pub fn validate_policy(policy: &UsePolicy) -> Result<UsePolicy, SecretError> {
    if policy.programs.len() > MAX_POLICY_PROGRAMS {
        return Err(SecretError::InvalidPolicy {
            reason: format!(
                "it lists {} programs; a policy may list at most {MAX_POLICY_PROGRAMS}",
                policy.programs.len()
            ),
        });
    }
    let mut programs = Vec::with_capacity(policy.programs.len());
    for (i, p) in policy.programs.iter().enumerate() {
        let p = p.trim();
        if p.len() != PROGRAM_HASH_HEX_CHARS || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            let shown: String = p.chars().take(80).collect();
            return Err(SecretError::InvalidPolicy {
                reason: format!(
                    "program {i} ({shown:?}) is not a program hash; give the 64 hex characters of the program's BLAKE3 hash (the program_hash of a game result or a deployed function)"
                ),
            });
        }
        programs.push(p.to_ascii_lowercase());
    }
    programs.sort_unstable();
    programs.dedup();
    if policy.outputs.is_empty() {
        return Err(SecretError::InvalidPolicy {
            reason: "it allows no output mode; allow at least one of PLAINTEXT, SECRETSHARE and AMPHORASECRET".into(),
        });
    }
    let mut outputs = policy.outputs.clone();
    outputs.sort_unstable();
    outputs.dedup();
    Ok(UsePolicy {
        programs,
        outputs,
        max_uses: policy.max_uses,
    })
}

/// One use of a secret as a game input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When the parties agreed on the game, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The user who ran the game.
    pub user: String,
    pub game_id: String,
    /// The program's hash, hex.
    pub program_hash: String,
    pub output: OutputMode,
}

/// A use to record by [`super::SecretStore::record_uses`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub id: crate::ids::SecretId,
    pub entry: AuditEntry,
}

pub(crate) fn validate_entry(e: &AuditEntry) -> Result<(), SecretError> {
    for (what, v) in [
        ("user", &e.user),
        ("game id", &e.game_id),
        ("program hash", &e.program_hash),
    ] {
        if v.is_empty() || v.chars().count() > MAX_AUDIT_FIELD_CHARS {
            return Err(SecretError::InvalidPolicy {
                reason: format!(
                    "an audit entry's {what} must have 1 to {MAX_AUDIT_FIELD_CHARS} characters"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    #[test]
    fn policies_are_canonical_and_bad_ones_refused() {
        let p = validate_policy(&UsePolicy {
            programs: vec![hash('B'), hash('a'), hash('b')],
            outputs: vec![OutputMode::AmphoraSecret, OutputMode::Plaintext],
            max_uses: Some(2),
        })
        .unwrap();
        assert_eq!(p.programs, vec![hash('a'), hash('b')]);
        assert_eq!(
            p.outputs,
            vec![OutputMode::Plaintext, OutputMode::AmphoraSecret]
        );
        assert!(p.allows(&hash('b'), OutputMode::Plaintext));
        assert!(!p.allows(&hash('b'), OutputMode::SecretShare));
        assert!(!p.allows(&hash('c'), OutputMode::Plaintext));

        for bad in [
            UsePolicy {
                programs: vec!["abc".into()],
                outputs: OutputMode::ALL.to_vec(),
                max_uses: None,
            },
            UsePolicy {
                programs: vec![hash('g')],
                outputs: OutputMode::ALL.to_vec(),
                max_uses: None,
            },
            UsePolicy {
                programs: vec![hash('a')],
                outputs: vec![],
                max_uses: None,
            },
            UsePolicy {
                programs: vec![hash('a'); MAX_POLICY_PROGRAMS + 1],
                outputs: OutputMode::ALL.to_vec(),
                max_uses: None,
            },
        ] {
            let e = validate_policy(&bad).unwrap_err();
            assert!(matches!(e, SecretError::InvalidPolicy { .. }), "{e}");
        }
    }
}
