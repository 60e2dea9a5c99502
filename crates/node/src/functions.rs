//! Deployed functions: named, versioned programs, persisted in `functions.redb` under the
//! storage path.
//!
//! Tables:
//! - `meta`: `store` → `functions`, `schema` → 1 (a file of another kind is refused);
//! - `function_versions`: (name, version) → postcard [`Record`];
//! - `function_last_version`: name → the last version ever issued, kept after a delete so that
//!   `name@v` never names two different programs.
//!
//! **Invariants:**
//! - a version is stored only after its code compiled; a compile error stores nothing;
//! - deploying the code and arguments of the latest version again returns that version
//!   unchanged, so a client may retry a deploy;
//! - a name belongs to the user who deployed its first version: only that user may add versions
//!   or delete it (403 otherwise);
//! - every write is one transaction with `Durability::Immediate` (fsync on commit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use api::{ApiError, DeployFunction, ErrorCode, FunctionInfo};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::programs::ProgramCache;
use crate::User;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const VERSIONS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("function_versions");
const LAST: TableDefinition<&str, u32> = TableDefinition::new("function_last_version");

const STORE_KIND: &[u8] = b"functions";
const SCHEMA_VERSION: u32 = 1;

/// Longest function name.
pub const MAX_NAME_CHARS: usize = 128;

/// Why the registry file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path} is open in another process (is another node running with the same storage path?); stop it or use another path")]
    Locked { path: String },
    #[error("{path} is not a function registry (it holds {found:?}); point storage.path at this node's own directory")]
    WrongStore { path: String, found: String },
    #[error("{path} has schema version {found}, this build reads version {SCHEMA_VERSION}")]
    UnsupportedSchema { path: String, found: u32 },
    #[error("function registry {path}: {message}; check the disk and the database file")]
    Backend { path: String, message: String },
}

impl From<RegistryError> for crate::node::StartError {
    fn from(e: RegistryError) -> Self {
        crate::node::StartError::Storage(e.to_string())
    }
}

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    code: String,
    args: Vec<String>,
    program_hash: String,
    owner: String,
    created_at_ms: u64,
    requires: BTreeMap<String, u64>,
}

impl Record {
    fn info(&self, name: &str, version: u32) -> FunctionInfo {
        FunctionInfo {
            name: name.to_string(),
            version,
            program_hash: self.program_hash.clone(),
            owner: self.owner.clone(),
            created_at_ms: self.created_at_ms,
            requires: self.requires.clone(),
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("function registry: {e}; check the disk and the database file"),
    )
}

fn encode(r: &Record) -> Result<Vec<u8>, ApiError> {
    postcard::to_allocvec(r).map_err(internal)
}

fn decode(name: &str, version: u32, b: &[u8]) -> Result<Record, ApiError> {
    postcard::from_bytes(b).map_err(|e| {
        internal(format!(
            "version {version} of {name:?} does not decode: {e}"
        ))
    })
}

/// Checks a function name: `[A-Za-z0-9_.-]{1,128}`.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        let shown: String = name.chars().take(64).collect();
        Err(ApiError::bad_request(format!(
            "function name {shown:?} is invalid: names are 1 to {MAX_NAME_CHARS} characters of ASCII letters, digits, '_', '.' and '-'"
        )))
    }
}

/// Splits `name` or `name@version`.
fn parse_spec(spec: &str) -> Result<(&str, Option<u32>), ApiError> {
    match spec.rsplit_once('@') {
        None => {
            validate_name(spec)?;
            Ok((spec, None))
        }
        Some((name, v)) => {
            validate_name(name)?;
            match v.parse::<u32>() {
                Ok(n) if n >= 1 => Ok((name, Some(n))),
                _ => Err(ApiError::bad_request(format!(
                    "{spec:?}: the version after '@' must be a number from 1; write name or name@version"
                ))),
            }
        }
    }
}

/// The tuple needs of a compiled program as `FunctionInfo::requires` (non-zero entries only):
/// `triples`, `squares`, `bits`, `inverses`, `input_masks_p<N>`, `private_output_masks`, and
/// the binary-domain kinds by their store labels (`bit-triple`, `dabit`, `edabit-<m>-<e>`,
/// `wide-edabit-<m>-<w>`): nodes run comparisons, equality, truncation and bit decomposition on
/// the mixed-circuit kernels (`tuplegen::MIXED_KERNELS`), so these are what a game reserves.
fn requirements(p: &lang::CompiledProgram) -> Result<BTreeMap<String, u64>, ApiError> {
    let r = vm::cost::requirements_for(
        &p.summary.fixed,
        p.bytecode.params.security,
        crate::tuplegen::MIXED_KERNELS,
    )
    .map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot count the program's tuples: {e}"),
        )
    })?;
    let mut out = BTreeMap::new();
    for (k, v) in [
        ("triples", r.triples),
        ("squares", r.squares),
        ("bits", r.bits),
        ("inverses", r.inverses),
        ("private_output_masks", r.private_output_masks),
    ] {
        if v > 0 {
            out.insert(k.to_string(), v);
        }
    }
    for (party, n) in r.input_masks {
        if n > 0 {
            out.insert(format!("input_masks_p{party}"), n);
        }
    }
    for (kind, n) in r.binary {
        out.insert(store::tuple::kind_label(kind), n);
    }
    Ok(out)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no function {name:?} is deployed on this party; deploy it with PUT /v1/functions/{name}"
    ))
}

fn not_owner(name: &str, owner: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!("function {name:?} belongs to {owner:?}; only its owner may change or delete it"),
    )
}

/// The registry of deployed functions; see the module docs.
pub struct FunctionRegistry {
    db: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for FunctionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FunctionRegistry({})", self.path.display())
    }
}

impl FunctionRegistry {
    /// Opens (creating if absent) the registry at `path`.
    pub fn open(path: &Path) -> Result<FunctionRegistry, RegistryError> {
        let shown = path.display().to_string();
        let backend = |e: redb::Error| match e {
            redb::Error::DatabaseAlreadyOpen => RegistryError::Locked {
                path: shown.clone(),
            },
            e => RegistryError::Backend {
                path: shown.clone(),
                message: e.to_string(),
            },
        };
        // A small page cache, as the stores' (`store::CACHE_BYTES`): redb's default of 1 GiB
        // would keep every page ever read resident.
        let db = Database::builder()
            .set_cache_size(store::CACHE_BYTES)
            .create(path)
            .map_err(|e| backend(e.into()))?;
        let w = begin_write(&db).map_err(backend)?;
        {
            let mut meta = w.open_table(META).map_err(|e| backend(e.into()))?;
            let kind = meta
                .get("store")
                .map_err(|e| backend(e.into()))?
                .map(|g| g.value().to_vec());
            match kind {
                Some(k) if k != STORE_KIND => {
                    return Err(RegistryError::WrongStore {
                        path: shown,
                        found: String::from_utf8_lossy(&k).into_owned(),
                    })
                }
                Some(_) => {
                    let v = meta
                        .get("schema")
                        .map_err(|e| backend(e.into()))?
                        .and_then(|g| g.value().try_into().ok().map(u32::from_le_bytes))
                        .unwrap_or(u32::MAX);
                    if v != SCHEMA_VERSION {
                        return Err(RegistryError::UnsupportedSchema {
                            path: shown,
                            found: v,
                        });
                    }
                }
                None => {
                    meta.insert("store", STORE_KIND)
                        .map_err(|e| backend(e.into()))?;
                    meta.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())
                        .map_err(|e| backend(e.into()))?;
                }
            }
            w.open_table(VERSIONS).map_err(|e| backend(e.into()))?;
            w.open_table(LAST).map_err(|e| backend(e.into()))?;
        }
        w.commit().map_err(|e| backend(e.into()))?;
        Ok(FunctionRegistry {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// Compiles `req` and stores it as the next version of `name`, owned by `owner`; see the
    /// module docs for idempotence and ownership. Blocking work runs on blocking threads.
    pub async fn deploy<S: Send>(
        &self,
        name: &str,
        req: DeployFunction,
        owner: &User,
        programs: &ProgramCache,
        slot: impl FnOnce() -> Result<S, ApiError>,
    ) -> Result<FunctionInfo, ApiError> {
        validate_name(name)?;
        if let Some((_, latest)) = self.latest(name)? {
            if latest.owner != owner.name {
                return Err(not_owner(name, &latest.owner));
            }
        }
        let (program, _) = programs.get_or_compile(&req.code, &req.args, slot).await?;
        let requires = {
            let p = program.clone();
            tokio::task::spawn_blocking(move || requirements(&p))
                .await
                .map_err(|e| internal(format!("a worker task failed: {e}")))??
        };
        let record = Record {
            code: req.code,
            args: req.args,
            program_hash: program.hash_hex(),
            owner: owner.name.clone(),
            created_at_ms: now_ms(),
            requires,
        };
        let db = self.db.clone();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || store_version(&db, &name, record))
            .await
            .map_err(|e| internal(format!("a worker task failed: {e}")))?
    }

    /// The latest version of `name`, if any.
    fn latest(&self, name: &str) -> Result<Option<(u32, Record)>, ApiError> {
        let r = self.db.begin_read().map_err(internal)?;
        let t = r.open_table(VERSIONS).map_err(internal)?;
        latest_in(&t, name)
    }

    /// A function by `name` (its latest version) or `name@version`: its info, code and
    /// arguments. 404 names the function; a malformed spec is 400.
    pub fn get(&self, spec: &str) -> Result<(FunctionInfo, String, Vec<String>), ApiError> {
        let (name, version) = parse_spec(spec)?;
        let found = match version {
            None => self.latest(name)?,
            Some(v) => {
                let r = self.db.begin_read().map_err(internal)?;
                let t = r.open_table(VERSIONS).map_err(internal)?;
                let g = t.get((name, v)).map_err(internal)?;
                match g {
                    Some(g) => Some((v, decode(name, v, g.value())?)),
                    None => {
                        return Err(match latest_in(&t, name)? {
                            Some((last, _)) => ApiError::not_found(format!(
                                "function {name:?} has no version {v}; its latest version is {last}"
                            )),
                            None => not_found(name),
                        })
                    }
                }
            }
        };
        let (v, rec) = found.ok_or_else(|| not_found(name))?;
        Ok((rec.info(name, v), rec.code, rec.args))
    }

    /// The latest version of every deployed function, by name.
    pub fn list(&self) -> Result<Vec<FunctionInfo>, ApiError> {
        let r = self.db.begin_read().map_err(internal)?;
        let t = r.open_table(VERSIONS).map_err(internal)?;
        let mut latest: BTreeMap<String, FunctionInfo> = BTreeMap::new();
        for item in t.iter().map_err(internal)? {
            let (k, v) = item.map_err(internal)?;
            let (name, version) = k.value();
            let info = decode(name, version, v.value())?.info(name, version);
            // Keys are in (name, version) order: the last one seen per name is the latest.
            latest.insert(name.to_string(), info);
        }
        Ok(latest.into_values().collect())
    }

    /// Every version of `name`, oldest first; 404 if there is none.
    pub fn versions(&self, name: &str) -> Result<Vec<FunctionInfo>, ApiError> {
        validate_name(name)?;
        let r = self.db.begin_read().map_err(internal)?;
        let t = r.open_table(VERSIONS).map_err(internal)?;
        let mut out = Vec::new();
        for item in t.range((name, 0u32)..=(name, u32::MAX)).map_err(internal)? {
            let (k, v) = item.map_err(internal)?;
            let (_, version) = k.value();
            out.push(decode(name, version, v.value())?.info(name, version));
        }
        if out.is_empty() {
            return Err(not_found(name));
        }
        Ok(out)
    }

    /// Deletes every version of `name`; only its owner may (403), and 404 if there is none.
    /// Version numbers are not reused by a later deploy of the same name.
    pub fn delete(&self, name: &str, user: &User) -> Result<(), ApiError> {
        validate_name(name)?;
        let w = begin_write(&self.db).map_err(internal)?;
        {
            let mut t = w.open_table(VERSIONS).map_err(internal)?;
            let mut keys = Vec::new();
            for item in t.range((name, 0u32)..=(name, u32::MAX)).map_err(internal)? {
                let (k, v) = item.map_err(internal)?;
                let (_, version) = k.value();
                let rec = decode(name, version, v.value())?;
                if rec.owner != user.name {
                    return Err(not_owner(name, &rec.owner));
                }
                keys.push(version);
            }
            if keys.is_empty() {
                return Err(not_found(name));
            }
            for v in keys {
                t.remove((name, v)).map_err(internal)?;
            }
        }
        w.commit().map_err(internal)?;
        Ok(())
    }
}

fn begin_write(db: &Database) -> Result<redb::WriteTransaction, redb::Error> {
    let mut w = db.begin_write()?;
    w.set_durability(Durability::Immediate)?;
    Ok(w)
}

fn latest_in(
    t: &impl ReadableTable<(&'static str, u32), &'static [u8]>,
    name: &str,
) -> Result<Option<(u32, Record)>, ApiError> {
    let last = t
        .range((name, 0u32)..=(name, u32::MAX))
        .map_err(internal)?
        .next_back();
    match last {
        None => Ok(None),
        Some(item) => {
            let (k, v) = item.map_err(internal)?;
            let (_, version) = k.value();
            Ok(Some((version, decode(name, version, v.value())?)))
        }
    }
}

/// Stores `rec` as the next version of `name` in one transaction, unless the latest version has
/// the same code and arguments (then that version is returned).
fn store_version(db: &Database, name: &str, rec: Record) -> Result<FunctionInfo, ApiError> {
    let w = begin_write(db).map_err(internal)?;
    let info = {
        let mut t = w.open_table(VERSIONS).map_err(internal)?;
        let mut last = w.open_table(LAST).map_err(internal)?;
        let latest = latest_in(&t, name)?;
        if let Some((v, old)) = &latest {
            if old.owner != rec.owner {
                return Err(not_owner(name, &old.owner));
            }
            if old.code == rec.code && old.args == rec.args {
                return Ok(old.info(name, *v));
            }
        }
        let issued = last.get(name).map_err(internal)?.map(|g| g.value());
        let previous = issued
            .unwrap_or(0)
            .max(latest.as_ref().map_or(0, |(v, _)| *v));
        let version = previous.checked_add(1).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "function {name:?} has used up its version numbers; deploy under a new name"
                ),
            )
        })?;
        t.insert((name, version), encode(&rec)?.as_slice())
            .map_err(internal)?;
        last.insert(name, version).map_err(internal)?;
        rec.info(name, version)
    };
    w.commit().map_err(internal)?;
    tracing::info!(function = %name, version = info.version, program = %info.program_hash, owner = %info.owner, "function deployed");
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROG_A: &str = "a = sint(3)\nprint_ln('%s', (a * a).reveal())\n";
    const PROG_B: &str = "print_ln('%s', sint(4).reveal())\n";

    fn alice() -> User {
        User {
            name: "alice".into(),
        }
    }

    fn bob() -> User {
        User { name: "bob".into() }
    }

    fn deploy(code: &str) -> DeployFunction {
        DeployFunction {
            code: code.into(),
            args: vec![],
        }
    }

    fn setup() -> (tempfile::TempDir, FunctionRegistry, ProgramCache) {
        let dir = tempfile::tempdir().unwrap();
        let reg = FunctionRegistry::open(&dir.path().join("functions.redb")).unwrap();
        (dir, reg, ProgramCache::new(16))
    }

    #[tokio::test]
    async fn deploy_get_and_requirements() {
        let (_d, reg, cache) = setup();
        let info = reg
            .deploy("square", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        assert_eq!(info.name, "square");
        assert_eq!(info.version, 1);
        assert_eq!(info.owner, "alice");
        assert_eq!(info.program_hash.len(), 64);
        assert_eq!(info.requires.get("triples"), Some(&1));
        let (got, code, args) = reg.get("square").unwrap();
        assert_eq!(got, info);
        assert_eq!(code, PROG_A);
        assert!(args.is_empty());
        assert_eq!(reg.get("square@1").unwrap().0, info);
    }

    #[tokio::test]
    async fn redeploying_the_same_code_is_idempotent_and_new_code_is_a_new_version() {
        let (_d, reg, cache) = setup();
        let v1 = reg
            .deploy("f", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        let again = reg
            .deploy("f", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        assert_eq!(again, v1);
        let v2 = reg
            .deploy("f", deploy(PROG_B), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        assert_eq!(v2.version, 2);
        assert_ne!(v2.program_hash, v1.program_hash);
        let with_args = reg
            .deploy(
                "f",
                DeployFunction {
                    code: PROG_B.into(),
                    args: vec!["x".into()],
                },
                &alice(),
                &cache,
                || Ok(()),
            )
            .await
            .unwrap();
        assert_eq!(with_args.version, 3);
        assert_eq!(reg.get("f").unwrap().0.version, 3);
        assert_eq!(reg.get("f@1").unwrap().0, v1);
        assert_eq!(reg.get("f@2").unwrap().1, PROG_B);
        let vs: Vec<u32> = reg
            .versions("f")
            .unwrap()
            .iter()
            .map(|i| i.version)
            .collect();
        assert_eq!(vs, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn not_found_and_bad_specs() {
        let (_d, reg, cache) = setup();
        let e = reg.get("nothing").unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert!(e.message.contains("nothing"), "{}", e.message);
        reg.deploy("f", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        let e = reg.get("f@9").unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert!(e.message.contains("latest version is 1"), "{}", e.message);
        for bad in ["f@0", "f@x", "f@", "@1", "a b", "", "ü", &"x".repeat(129)] {
            assert_eq!(
                reg.get(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
        assert_eq!(reg.versions("none").unwrap_err().code, ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn bad_names_and_bad_code_store_nothing() {
        let (_d, reg, cache) = setup();
        for bad in ["", "has space", "slash/", "at@", &"n".repeat(129)] {
            let e = reg
                .deploy(bad, deploy(PROG_A), &alice(), &cache, || Ok(()))
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{bad:?}");
        }
        let e = reg
            .deploy(
                "broken",
                deploy("x = undefined_name + 1\n"),
                &alice(),
                &cache,
                || Ok(()),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::CompileError);
        assert!(e.message.contains("program.mpc:1:"), "{}", e.message);
        assert!(reg.list().unwrap().is_empty());
        reg.deploy(
            &"n".repeat(128),
            deploy(PROG_A),
            &alice(),
            &cache,
            || Ok(()),
        )
        .await
        .unwrap();
        reg.deploy("ok_name-1.2", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn list_shows_the_latest_version_of_each() {
        let (_d, reg, cache) = setup();
        reg.deploy("b", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        reg.deploy("a", deploy(PROG_A), &bob(), &cache, || Ok(()))
            .await
            .unwrap();
        reg.deploy("b", deploy(PROG_B), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        let l = reg.list().unwrap();
        let names: Vec<(&str, u32)> = l.iter().map(|i| (i.name.as_str(), i.version)).collect();
        assert_eq!(names, vec![("a", 1), ("b", 2)]);
    }

    #[tokio::test]
    async fn only_the_owner_may_delete_or_add_versions() {
        let (_d, reg, cache) = setup();
        reg.deploy("f", deploy(PROG_A), &alice(), &cache, || Ok(()))
            .await
            .unwrap();
        let e = reg.delete("f", &bob()).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        let e = reg
            .deploy("f", deploy(PROG_B), &bob(), &cache, || Ok(()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert!(reg.get("f").is_ok());
        reg.delete("f", &alice()).unwrap();
        assert_eq!(reg.get("f").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(
            reg.delete("f", &alice()).unwrap_err().code,
            ErrorCode::NotFound
        );
        // The name is free again, but version numbers are not reused.
        let v = reg
            .deploy("f", deploy(PROG_A), &bob(), &cache, || Ok(()))
            .await
            .unwrap();
        assert_eq!(v.version, 2);
        assert_eq!(v.owner, "bob");
    }

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("functions.redb");
        let cache = ProgramCache::new(4);
        let info = {
            let reg = FunctionRegistry::open(&path).unwrap();
            reg.deploy("keep", deploy(PROG_A), &alice(), &cache, || Ok(()))
                .await
                .unwrap()
        };
        let reg = FunctionRegistry::open(&path).unwrap();
        let (got, code, _) = reg.get("keep@1").unwrap();
        assert_eq!(got, info);
        assert_eq!(code, PROG_A);
        // Opening a file that is open elsewhere in the process fails cleanly.
        assert!(matches!(
            FunctionRegistry::open(&path),
            Err(RegistryError::Locked { .. })
        ));
    }

    #[test]
    fn refuses_a_foreign_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.redb");
        drop(store::RedbSecretStore::open(&path).unwrap());
        let e = FunctionRegistry::open(&path).unwrap_err();
        assert!(matches!(e, RegistryError::WrongStore { .. }), "{e}");
    }
}
