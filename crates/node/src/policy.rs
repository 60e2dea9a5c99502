//! Use policies: who besides its owner may use a secret as a game input, and the record of every
//! use.
//!
//! **The rule** for a game of `user` running program `hash` with output mode `mode`, for each
//! input secret:
//! - the owner may always use it;
//! - if the secret has a use policy ([`store::UsePolicy`], set by the owner through
//!   `PUT /v1/secrets/{id}/policy`), the program must be listed, the mode allowed, and the secret
//!   used by other users fewer than `max_uses` times;
//! - otherwise, if it has the legacy `authorizedPrograms` tag, the program must be listed in it
//!   (every output mode, no limit);
//! - otherwise only the owner may use it.
//!
//! **Counting:** [`Node::authorise_inputs`] runs in `prepare` and returns each input's use count,
//! which goes into the game's digest: parties whose counts differ fail the agreement instead of
//! running. Right after the agreement and before the program runs, [`Node::record_uses`] appends
//! an audit entry for every input on every party and counts the uses by other users, in one
//! transaction that refuses (and records nothing) if a limit would be passed, for example by a
//! concurrent game. A use is counted even if the game fails after the agreement.
//!
//! **Architecture Invariant:** no party runs a program on another user's secret without its rule
//! allowing it, and no party runs more uses by other users than `max_uses`.

use api::secrets::AUTHORIZED_PROGRAMS_TAG;
use api::{ApiError, ErrorCode, OutputKind, PolicySource};
use store::{
    AuditEntry, OutputMode, Secret, SecretError, SecretId, SecretMeta, SecretStore, SecretUse,
    UsePolicy,
};
use uuid::Uuid;

use crate::secrets::secret_error;
use crate::Node;

/// The store's name for an output kind.
pub fn output_mode(k: OutputKind) -> OutputMode {
    match k {
        OutputKind::Plaintext => OutputMode::Plaintext,
        OutputKind::SecretShare => OutputMode::SecretShare,
        OutputKind::AmphoraSecret => OutputMode::AmphoraSecret,
    }
}

/// The API's name for an output mode.
pub fn output_kind(m: OutputMode) -> OutputKind {
    match m {
        OutputMode::Plaintext => OutputKind::Plaintext,
        OutputMode::SecretShare => OutputKind::SecretShare,
        OutputMode::AmphoraSecret => OutputKind::AmphoraSecret,
    }
}

fn mode_name(m: OutputMode) -> &'static str {
    match m {
        OutputMode::Plaintext => "PLAINTEXT",
        OutputMode::SecretShare => "SECRETSHARE",
        OutputMode::AmphoraSecret => "AMPHORASECRET",
    }
}

/// The policy in a request body, in the store's terms (validated by the store).
pub fn to_store_policy(p: &api::UsePolicy) -> UsePolicy {
    UsePolicy {
        programs: p.programs.clone(),
        outputs: p.outputs.iter().map(|&k| output_mode(k)).collect(),
        max_uses: p.max_uses,
    }
}

/// A stored policy as an API body.
pub fn to_api_policy(p: &UsePolicy) -> api::UsePolicy {
    api::UsePolicy {
        programs: p.programs.clone(),
        outputs: p.outputs.iter().map(|&m| output_kind(m)).collect(),
        max_uses: p.max_uses,
    }
}

/// An audit entry as an API body.
pub fn to_api_entry(e: &AuditEntry) -> api::AuditEntry {
    api::AuditEntry {
        at_ms: e.at_ms,
        user: e.user.clone(),
        game_id: e.game_id.clone(),
        program_hash: e.program_hash.clone(),
        output: output_kind(e.output),
    }
}

/// The program hashes of a legacy `authorizedPrograms` tag.
fn tag_programs(meta: &SecretMeta) -> Option<Vec<String>> {
    meta.tag(AUTHORIZED_PROGRAMS_TAG).map(|t| {
        t.value
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect()
    })
}

/// The rule in force for other users: the stored policy, else the one the legacy tag amounts to
/// (its programs, every output mode, no limit), else none (owner only).
pub fn effective(
    meta: &SecretMeta,
    stored: Option<UsePolicy>,
) -> (PolicySource, Option<UsePolicy>) {
    if let Some(p) = stored {
        return (PolicySource::Policy, Some(p));
    }
    match tag_programs(meta) {
        Some(programs) => (
            PolicySource::AuthorizedProgramsTag,
            Some(UsePolicy {
                programs,
                outputs: OutputMode::ALL.to_vec(),
                max_uses: None,
            }),
        ),
        None => (PolicySource::None, None),
    }
}

/// Why another user may not use a secret (`None`: allowed).
fn refusal(
    id: SecretId,
    source: PolicySource,
    policy: Option<&UsePolicy>,
    uses: u64,
    hash: &str,
    mode: OutputMode,
) -> Option<String> {
    let fix = format!("its owner can change the use policy (PUT /v1/secrets/{id}/policy)");
    let Some(p) = policy else {
        return Some(format!(
            "secret {id} belongs to another user and has no use policy, so only its owner may use it, not program {hash}; {fix}"
        ));
    };
    // The legacy tag compares hashes exactly, as before policies existed.
    let listed = match source {
        PolicySource::AuthorizedProgramsTag => p.programs.iter().any(|h| h == hash),
        _ => p
            .programs
            .binary_search_by(|h| h.as_str().cmp(hash))
            .is_ok(),
    };
    if !listed {
        return Some(match source {
            PolicySource::AuthorizedProgramsTag => format!(
                "secret {id} belongs to another user and does not authorise program {hash}; its owner can add the hash to its {AUTHORIZED_PROGRAMS_TAG} tag or set a use policy (PUT /v1/secrets/{id}/policy)"
            ),
            _ => format!(
                "secret {id} belongs to another user and its use policy does not list program {hash}; {fix}"
            ),
        });
    }
    if !p.outputs.contains(&mode) {
        let allowed: Vec<&str> = p.outputs.iter().map(|&m| mode_name(m)).collect();
        return Some(format!(
            "secret {id}'s use policy does not allow output type {} for other users (allowed: {}); choose an allowed output type, or {fix}",
            mode_name(mode),
            allowed.join(", ")
        ));
    }
    if let Some(max) = p.max_uses {
        if uses >= max {
            return Some(limit_message(id, uses, max));
        }
    }
    None
}

fn limit_message(id: SecretId, uses: u64, max: u64) -> String {
    format!(
        "secret {id} has been used {uses} times by other users, the most its use policy allows (max_uses {max}); its owner can raise max_uses (PUT /v1/secrets/{id}/policy)"
    )
}

/// A store error of recording or checking uses; a reached limit is 403.
fn use_error(e: SecretError) -> ApiError {
    match e {
        SecretError::UseLimitReached { id, uses, max } => {
            ApiError::new(ErrorCode::Forbidden, limit_message(id, uses, max))
        }
        e => secret_error(e),
    }
}

impl Node {
    /// Checks that `user` may use every input secret in a game of program `hash` with output
    /// `output`; returns the inputs' use counts (8 bytes little-endian each, in input order) for
    /// the game's digest. 403 with the reason otherwise.
    pub(crate) fn authorise_inputs(
        &self,
        secrets: &[Secret],
        user: &str,
        hash: &str,
        output: OutputKind,
    ) -> Result<Vec<u8>, ApiError> {
        let mode = output_mode(output);
        let mut counts = Vec::with_capacity(8 * secrets.len());
        for s in secrets {
            let id = s.meta.id;
            let uses = self.secrets.use_count(id).map_err(secret_error)?;
            counts.extend_from_slice(&uses.to_le_bytes());
            if s.meta.owner == user {
                continue;
            }
            let stored = self.secrets.get_policy(id).map_err(secret_error)?;
            let (source, policy) = effective(&s.meta, stored);
            if let Some(why) = refusal(id, source, policy.as_ref(), uses, hash, mode) {
                return Err(ApiError::new(ErrorCode::Forbidden, why));
            }
        }
        Ok(counts)
    }

    /// Records the use of every input of an agreed game (before it runs): an audit entry each,
    /// and a count for uses by other users, in one transaction; 403 if a use limit was reached
    /// in the meantime (nothing is recorded then).
    pub(crate) fn record_uses(
        &self,
        inputs: &[Uuid],
        user: &str,
        game_id: &str,
        hash: &str,
        output: OutputKind,
        at_ms: u64,
    ) -> Result<(), ApiError> {
        let mut uses = Vec::with_capacity(inputs.len());
        for u in inputs {
            let id = SecretId::from_uuid(*u)
                .map_err(|e| ApiError::bad_request(format!("inputs: {e}")))?;
            uses.push(SecretUse {
                id,
                entry: AuditEntry {
                    at_ms,
                    user: user.to_string(),
                    game_id: game_id.to_string(),
                    program_hash: hash.to_string(),
                    output: output_mode(output),
                },
            });
        }
        if uses.is_empty() {
            return Ok(());
        }
        self.secrets.record_uses(&uses).map_err(use_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::Tag;

    fn meta(tags: Vec<Tag>) -> SecretMeta {
        SecretMeta {
            id: SecretId::random(),
            owner: "alice".into(),
            created_at_ms: 0,
            len: 1,
            tags,
        }
    }

    fn hash(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    #[test]
    fn the_rule_follows_policy_then_tag_then_owner_only() {
        let (a, b) = (hash('a'), hash('b'));
        // No policy, no tag: refused.
        let m = meta(vec![]);
        let (src, p) = effective(&m, None);
        assert_eq!(src, PolicySource::None);
        let why = refusal(m.id, src, p.as_ref(), 0, &a, OutputMode::Plaintext).unwrap();
        assert!(why.contains("no use policy"), "{why}");

        // Legacy tag: its programs, every mode, no limit.
        let m = meta(vec![Tag::string(
            AUTHORIZED_PROGRAMS_TAG,
            format!("{b}, {a}"),
        )]);
        let (src, p) = effective(&m, None);
        assert_eq!(src, PolicySource::AuthorizedProgramsTag);
        for mode in OutputMode::ALL {
            assert_eq!(refusal(m.id, src, p.as_ref(), 1 << 40, &a, mode), None);
        }
        let why = refusal(m.id, src, p.as_ref(), 0, &hash('c'), OutputMode::Plaintext).unwrap();
        assert!(why.contains(AUTHORIZED_PROGRAMS_TAG), "{why}");

        // A policy replaces the tag.
        let policy = UsePolicy {
            programs: vec![b.clone()],
            outputs: vec![OutputMode::SecretShare],
            max_uses: Some(2),
        };
        let (src, p) = effective(&m, Some(policy));
        assert_eq!(src, PolicySource::Policy);
        let p = p.as_ref();
        assert_eq!(refusal(m.id, src, p, 1, &b, OutputMode::SecretShare), None);
        let why = refusal(m.id, src, p, 0, &a, OutputMode::SecretShare).unwrap();
        assert!(why.contains("does not list program"), "{why}");
        let why = refusal(m.id, src, p, 0, &b, OutputMode::Plaintext).unwrap();
        assert!(
            why.contains("output type PLAINTEXT") && why.contains("allowed: SECRETSHARE"),
            "{why}"
        );
        let why = refusal(m.id, src, p, 2, &b, OutputMode::SecretShare).unwrap();
        assert!(why.contains("max_uses 2"), "{why}");
    }

    #[test]
    fn bodies_convert_both_ways() {
        let body = api::UsePolicy {
            programs: vec![hash('a')],
            outputs: vec![OutputKind::AmphoraSecret, OutputKind::Plaintext],
            max_uses: Some(7),
        };
        let back = to_api_policy(&to_store_policy(&body));
        assert_eq!(back, body);
        for k in [
            OutputKind::Plaintext,
            OutputKind::SecretShare,
            OutputKind::AmphoraSecret,
        ] {
            assert_eq!(output_kind(output_mode(k)), k);
        }
        let e = use_error(SecretError::UseLimitReached {
            id: SecretId::random(),
            uses: 3,
            max: 3,
        });
        assert_eq!(e.code, ErrorCode::Forbidden);
    }
}
