//! The compile cache: compiled programs by BLAKE3 of (source, arguments, compile options).
//!
//! Compiling is deterministic (the same source, arguments and options give byte-identical
//! bytecode on every party), so a cached program is exactly what a fresh compile would give.
//!
//! **Invariants:**
//! - concurrent requests for the same key compile once: the first caller compiles (on a blocking
//!   thread), the others wait on the same [`OnceCell`] and count as cache hits;
//! - a failed compile caches nothing (budget errors depend on wall time), and its entry is
//!   removed so that the next request compiles again;
//! - the cache holds at most `capacity` programs and about `max_bytes` bytes of them; the least
//!   recently used are evicted first. Callers keep their `Arc`s of evicted programs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use api::{ApiError, ErrorCode};
use lang::{CompileOptions, CompiledProgram};
use tokio::sync::OnceCell;

/// The file name compiler diagnostics show (`program.mpc:3:5`).
pub const FILE_NAME: &str = "program.mpc";

/// Default byte bound of the cache.
pub const DEFAULT_MAX_BYTES: usize = 256 << 20;

type Key = [u8; 32];

struct Entry {
    cell: Arc<OnceCell<Arc<CompiledProgram>>>,
    /// Logical time of the last use, for LRU eviction.
    last_used: u64,
    /// Approximate size once compiled; 0 while compiling.
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    clock: u64,
    bytes: usize,
}

/// Compiled programs by hash of source, arguments and parameters; see the module docs.
pub struct ProgramCache {
    inner: Mutex<Inner>,
    capacity: usize,
    max_bytes: usize,
    options: CompileOptions,
}

impl Default for ProgramCache {
    fn default() -> Self {
        ProgramCache::new(256)
    }
}

impl ProgramCache {
    /// A cache of at most `capacity` programs (at least 1) and [`DEFAULT_MAX_BYTES`], compiling
    /// with the default options.
    pub fn new(capacity: usize) -> ProgramCache {
        ProgramCache::with_limits(capacity, DEFAULT_MAX_BYTES, CompileOptions::default())
    }

    /// A cache with explicit bounds and compile options.
    pub fn with_limits(capacity: usize, max_bytes: usize, options: CompileOptions) -> ProgramCache {
        ProgramCache {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            max_bytes,
            options,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of cached (or compiling) programs.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate bytes of the cached programs.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The key of a compilation: every part length-prefixed, so that no two different inputs
    /// share an encoding.
    fn key(&self, source: &str, args: &[String]) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(b"ephemeral/program-cache/v1");
        let mut part = |b: &[u8]| {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        };
        part(source.as_bytes());
        part(&(args.len() as u64).to_le_bytes());
        for a in args {
            part(a.as_bytes());
        }
        part(format!("{:?}", self.options).as_bytes());
        *h.finalize().as_bytes()
    }

    /// The program for `source` and `args`, compiled now or taken from the cache (`true`).
    /// A compile error is [`ErrorCode::CompileError`] (400) with the compiler's rendered
    /// diagnostic, which names `program.mpc:line:col`.
    /// `slot` admits a compilation (a cache hit needs none); its error is returned as it is.
    pub async fn get_or_compile<S: Send>(
        &self,
        source: &str,
        args: &[String],
        slot: impl FnOnce() -> Result<S, ApiError>,
    ) -> Result<(Arc<CompiledProgram>, bool), ApiError> {
        let key = self.key(source, args);
        let cell = {
            let mut inner = self.lock();
            inner.clock += 1;
            let now = inner.clock;
            let e = inner.entries.entry(key).or_insert_with(|| Entry {
                cell: Arc::new(OnceCell::new()),
                last_used: now,
                bytes: 0,
            });
            e.last_used = now;
            e.cell.clone()
        };
        if let Some(p) = cell.get() {
            return Ok((p.clone(), true));
        }
        let mut compiled_here = false;
        let result = cell
            .get_or_try_init(|| {
                compiled_here = true;
                // Only the request that compiles takes a slot; the others wait for its result.
                let slot = slot();
                let source = source.to_string();
                let args = args.to_vec();
                let options = self.options.clone();
                async move {
                    let _slot = slot?;
                    tokio::task::spawn_blocking(move || {
                        lang::compile(&source, FILE_NAME, &args, &options)
                            .map(Arc::new)
                            .map_err(|e| ApiError::new(ErrorCode::CompileError, e.to_string()))
                    })
                    .await
                    .map_err(|e| {
                        ApiError::new(
                            ErrorCode::Internal,
                            format!("the compiler task failed: {e}"),
                        )
                    })?
                }
            })
            .await
            .cloned();
        match result {
            Ok(p) => {
                if compiled_here {
                    self.admit(key, &cell, approximate_bytes(&p, source));
                }
                Ok((p, !compiled_here))
            }
            Err(e) => {
                self.forget(key, &cell);
                Err(e)
            }
        }
    }

    /// Records the size of a freshly compiled entry and evicts down to the bounds.
    fn admit(&self, key: Key, cell: &Arc<OnceCell<Arc<CompiledProgram>>>, bytes: usize) {
        let mut inner = self.lock();
        if let Some(e) = inner.entries.get_mut(&key) {
            if Arc::ptr_eq(&e.cell, cell) {
                e.bytes = bytes;
                inner.bytes += bytes;
            }
        }
        while inner.entries.len() > self.capacity
            || (inner.bytes > self.max_bytes && inner.entries.len() > 1)
        {
            let victim = inner
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k);
            let Some(victim) = victim else { break };
            if let Some(e) = inner.entries.remove(&victim) {
                inner.bytes -= e.bytes;
            }
        }
    }

    /// Drops the entry of a failed compile, unless another caller has replaced it meanwhile.
    fn forget(&self, key: Key, cell: &Arc<OnceCell<Arc<CompiledProgram>>>) {
        let mut inner = self.lock();
        let ours = inner
            .entries
            .get(&key)
            .is_some_and(|e| Arc::ptr_eq(&e.cell, cell) && !e.cell.initialized());
        if ours {
            if let Some(e) = inner.entries.remove(&key) {
                inner.bytes -= e.bytes;
            }
        }
    }
}

/// A rough size of a program in memory: instructions, strings and the source it came from.
fn approximate_bytes(p: &CompiledProgram, source: &str) -> usize {
    let strings: usize = p.bytecode.strings.iter().map(String::len).sum();
    let log: usize = p.log.iter().map(String::len).sum();
    p.bytecode
        .instruction_count()
        .saturating_mul(64)
        .saturating_add(strings)
        .saturating_add(log)
        .saturating_add(source.len())
        .saturating_add(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOUBLE: &str = "a = sint(3)\nprint_ln('%s', (a * 2).reveal())\n";

    fn free_slot() -> Result<(), ApiError> {
        Ok(())
    }

    #[tokio::test]
    async fn a_compile_needs_a_slot_and_a_cache_hit_does_not() {
        let c = ProgramCache::new(8);
        let full = || -> Result<(), ApiError> {
            Err(ApiError::new(ErrorCode::Unavailable, "no compile slot"))
        };
        let e = c.get_or_compile(DOUBLE, &[], full).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Unavailable);
        c.get_or_compile(DOUBLE, &[], free_slot).await.unwrap();
        let (_, hit) = c.get_or_compile(DOUBLE, &[], full).await.unwrap();
        assert!(hit);
    }

    #[tokio::test]
    async fn second_request_hits() {
        let c = ProgramCache::new(8);
        let (p1, hit1) = c.get_or_compile(DOUBLE, &[], free_slot).await.unwrap();
        let (p2, hit2) = c.get_or_compile(DOUBLE, &[], free_slot).await.unwrap();
        assert!(!hit1);
        assert!(hit2);
        assert!(Arc::ptr_eq(&p1, &p2));
        assert_eq!(c.len(), 1);
        assert!(c.bytes() > 0);
    }

    #[tokio::test]
    async fn arguments_are_part_of_the_key() {
        let c = ProgramCache::new(8);
        let src = "n = int(program.args[1])\nprint_ln('%s', sint(n).reveal())\n";
        let (a, _) = c
            .get_or_compile(src, &["3".into()], free_slot)
            .await
            .unwrap();
        let (b, hit) = c
            .get_or_compile(src, &["4".into()], free_slot)
            .await
            .unwrap();
        assert!(!hit);
        assert_ne!(a.hash, b.hash);
        // ["ab"] and ["a", "b"] are different keys.
        assert_ne!(
            c.key("x", &["ab".into()]),
            c.key("x", &["a".into(), "b".into()])
        );
        assert_ne!(c.key("x", &[]), c.key("", &["x".into()]));
    }

    #[tokio::test]
    async fn compile_error_is_a_400_with_the_location_and_is_not_cached() {
        let c = ProgramCache::new(8);
        let src = "a = sint(1)\nb = sint(2)\nif a < b:\n    print_ln('x')\n";
        let e = c.get_or_compile(src, &[], free_slot).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::CompileError);
        assert_eq!(e.code.http_status(), 400);
        assert!(e.message.contains("program.mpc:3:"), "{}", e.message);
        assert!(c.is_empty());
        let e2 = c.get_or_compile(src, &[], free_slot).await.unwrap_err();
        assert_eq!(e2.message, e.message);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_requests_for_one_key_compile_once() {
        let c = Arc::new(ProgramCache::new(8));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.get_or_compile(DOUBLE, &[], free_slot).await.unwrap() })
            })
            .collect();
        let mut misses = 0;
        let mut first: Option<Arc<CompiledProgram>> = None;
        for t in tasks {
            let (p, hit) = t.await.unwrap();
            misses += usize::from(!hit);
            if let Some(f) = &first {
                assert!(Arc::ptr_eq(f, &p));
            }
            first = Some(p);
        }
        assert_eq!(misses, 1);
        assert_eq!(c.len(), 1);
    }

    #[tokio::test]
    async fn least_recently_used_is_evicted() {
        let c = ProgramCache::new(2);
        let src = |i: u32| format!("print_ln('%s', sint({i}).reveal())\n");
        c.get_or_compile(&src(1), &[], free_slot).await.unwrap();
        c.get_or_compile(&src(2), &[], free_slot).await.unwrap();
        // Touch 1, so that 2 is the least recently used when 3 arrives.
        assert!(c.get_or_compile(&src(1), &[], free_slot).await.unwrap().1);
        c.get_or_compile(&src(3), &[], free_slot).await.unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.get_or_compile(&src(1), &[], free_slot).await.unwrap().1);
        assert!(!c.get_or_compile(&src(2), &[], free_slot).await.unwrap().1);
    }

    #[tokio::test]
    async fn byte_bound_evicts_but_keeps_the_newest() {
        let c = ProgramCache::with_limits(100, 1, CompileOptions::default());
        c.get_or_compile(DOUBLE, &[], free_slot).await.unwrap();
        c.get_or_compile("print_ln('x')\n", &[], free_slot)
            .await
            .unwrap();
        assert_eq!(c.len(), 1);
        assert!(
            c.get_or_compile("print_ln('x')\n", &[], free_slot)
                .await
                .unwrap()
                .1
        );
    }
}
