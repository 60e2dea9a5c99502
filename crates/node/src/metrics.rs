//! Prometheus metrics in the text exposition format (version 0.0.4), served at `GET /metrics`.
//!
//! Hand-rolled and small: a few counters, gauges and fixed-bucket histograms behind one mutex,
//! rendered on demand. Every recording method takes `&self` and costs a map update.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `ephemeral_http_requests_total` | counter | `route` (the route template), `status` |
//! | `ephemeral_http_request_seconds` | histogram | `route` |
//! | `ephemeral_games_total` | counter | `outcome` (`succeeded`, `failed`) |
//! | `ephemeral_game_seconds` | histogram | |
//! | `ephemeral_games_running` | gauge | |
//! | `ephemeral_values_total` | counter | `op` (`upload`, `download`) |
//! | `ephemeral_tuples_available` | gauge | `kind` |
//! | `ephemeral_tuples_consumed_total` | counter | `kind` |
//! | `ephemeral_tuples_generated_total` | counter | `kind` |
//! | `ephemeral_peer_connected` | gauge | `party` |
//! | `ephemeral_sessions` | gauge | `phase` (`joining`: waiting for the parties to join and for party 0's `Go`, no thread held; `running`: agreed, running its protocol on a blocking thread) |
//!
//! **Invariant:** label values are route templates, status codes, tuple kinds, operation names
//! and party ids, never request data: no share, key, token, secret id or game id. Each labelled
//! family keeps at most [`MAX_SERIES`] label values, so a caller passing unexpected values
//! cannot grow memory without bound; further values are counted under `other`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most label values (series) one family keeps; later ones are folded into `other`.
pub const MAX_SERIES: usize = 128;

/// The Content-Type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the HTTP latency buckets, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds of the game duration buckets, in seconds.
const GAME_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// A histogram with fixed buckets: per-bucket (not cumulative) counts, the sum and the count.
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    /// `counts[i]` observations fell in bucket i; the last entry is the `+Inf` bucket.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        let i = self
            .bounds
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// Writes `name_bucket`, `name_sum` and `name_count` lines; `labels` is `k="v",` or empty.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c;
            let le = match self.bounds.get(i) {
                Some(b) => format!("{b}"),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
        }
        let bare = labels.trim_end_matches(',');
        let braces = if bare.is_empty() {
            String::new()
        } else {
            format!("{{{bare}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// A label map bounded to [`MAX_SERIES`] keys.
#[derive(Debug)]
struct Family<K: Ord, V> {
    series: BTreeMap<K, V>,
}

impl<K: Ord, V> Default for Family<K, V> {
    fn default() -> Self {
        Family {
            series: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, V> Family<K, V> {
    /// The series of `key`, or of `overflow` once the family is full.
    fn entry(&mut self, key: K, overflow: K, init: impl Fn() -> V) -> &mut V {
        let key = if self.series.contains_key(&key) || self.series.len() < MAX_SERIES {
            key
        } else {
            overflow
        };
        self.series.entry(key).or_insert_with(init)
    }
}

#[derive(Debug, Default)]
struct Inner {
    http_requests: Family<(String, u16), u64>,
    http_seconds: Family<String, Histogram>,
    games_succeeded: u64,
    games_failed: u64,
    game_seconds: Option<Histogram>,
    games_running: u64,
    values: Family<String, u64>,
    /// kind → (available, consumed)
    tuples: Family<String, (u64, u64)>,
    generated: Family<String, u64>,
    peers: Family<usize, bool>,
    /// 1 while tuple generation is halted after a failed check.
    generation_halted: bool,
    /// Requests refused at a limit, by limit name (a fixed set, never request data).
    limited: Family<String, u64>,
}

/// The label used when a family is full.
const OTHER: &str = "other";

/// The node's metrics. Cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// Sessions per phase (`ephemeral_sessions`): atomics, since every session moves them.
    sessions: Arc<[AtomicU64; 2]>,
}

/// The phase of a session, for `ephemeral_sessions{phase}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionPhase {
    /// Waiting for the parties to join and for party 0's `Go`: an async wait, no thread held.
    Joining = 0,
    /// Agreed and running its protocol (on a blocking thread).
    Running = 1,
}

/// Counts one session in a phase until dropped.
#[derive(Debug)]
pub struct PhaseGuard {
    sessions: Arc<[AtomicU64; 2]>,
    phase: SessionPhase,
}

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        self.sessions[self.phase as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain numbers behind: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One HTTP request: its route template (e.g. `/v1/secrets/{id}`, or `unmatched`), its
    /// status and its duration.
    pub fn record_http(&self, route: &str, status: u16, secs: f64) {
        let mut m = self.lock();
        *m.http_requests
            .entry((route.to_string(), status), (OTHER.into(), status), || 0) += 1;
        m.http_seconds
            .entry(route.to_string(), OTHER.into(), || {
                Histogram::new(HTTP_BUCKETS)
            })
            .observe(secs);
    }

    /// A finished game and its duration.
    pub fn record_game(&self, succeeded: bool, secs: f64) {
        let mut m = self.lock();
        if succeeded {
            m.games_succeeded += 1;
        } else {
            m.games_failed += 1;
        }
        m.game_seconds
            .get_or_insert_with(|| Histogram::new(GAME_BUCKETS))
            .observe(secs);
    }

    /// The number of games running now.
    pub fn set_games_running(&self, n: u64) {
        self.lock().games_running = n;
    }

    /// `n` values uploaded or downloaded (`op` = `upload` or `download`).
    pub fn record_values(&self, op: &str, n: u64) {
        let mut m = self.lock();
        let v = m.values.entry(op.to_string(), OTHER.into(), || 0);
        *v = v.saturating_add(n);
    }

    /// The pool level and the total consumed so far of one tuple kind.
    pub fn set_tuples(&self, kind: &str, available: u64, consumed: u64) {
        *self
            .lock()
            .tuples
            .entry(kind.to_string(), OTHER.into(), || (0, 0)) = (available, consumed);
    }

    /// `n` tuples of `kind` generated.
    pub fn record_generated(&self, kind: &str, n: u64) {
        let mut m = self.lock();
        let v = m.generated.entry(kind.to_string(), OTHER.into(), || 0);
        *v = v.saturating_add(n);
    }

    /// Whether the link to peer `party` is up.
    pub fn set_peer_connected(&self, party: usize, up: bool) {
        *self.lock().peers.entry(party, usize::MAX, || false) = up;
    }

    /// Whether tuple generation is halted after a failed check.
    pub fn set_generation_halted(&self, halted: bool) {
        self.lock().generation_halted = halted;
    }

    /// A request refused because limit `limit` (one of the node's fixed limit names) was reached.
    pub fn record_limited(&self, limit: &'static str) {
        *self
            .lock()
            .limited
            .entry(limit.to_string(), OTHER.into(), || 0) += 1;
    }

    /// Counts one session in `phase` until the guard is dropped.
    pub fn session_phase(&self, phase: SessionPhase) -> PhaseGuard {
        self.sessions[phase as usize].fetch_add(1, Ordering::Relaxed);
        PhaseGuard {
            sessions: self.sessions.clone(),
            phase,
        }
    }

    /// Sessions in `phase` now.
    pub fn sessions_in(&self, phase: SessionPhase) -> u64 {
        self.sessions[phase as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "ephemeral_sessions",
            "gauge",
            "Sessions (requests that need every party) by phase: joining = waiting for the parties and party 0's Go without holding a thread; running = agreed, running on a blocking thread.",
        );
        for (phase, label) in [
            (SessionPhase::Joining, "joining"),
            (SessionPhase::Running, "running"),
        ] {
            let _ = writeln!(
                out,
                "ephemeral_sessions{{phase=\"{label}\"}} {}",
                self.sessions_in(phase)
            );
        }
        header(
            &mut out,
            "ephemeral_generation_halted",
            "gauge",
            "1 while tuple generation is halted after a failed check in preprocessing (operator action needed: rekey).",
        );
        let _ = writeln!(
            out,
            "ephemeral_generation_halted {}",
            u8::from(m.generation_halted)
        );
        header(
            &mut out,
            "ephemeral_requests_limited_total",
            "counter",
            "Requests refused with 429 or 503 because a limit was reached, by limit.",
        );
        for (limit, n) in &m.limited.series {
            let _ = writeln!(
                out,
                "ephemeral_requests_limited_total{{limit=\"{}\"}} {n}",
                escape(limit)
            );
        }
        header(
            &mut out,
            "ephemeral_http_requests_total",
            "counter",
            "HTTP requests by route template and status.",
        );
        for ((route, status), n) in &m.http_requests.series {
            let _ = writeln!(
                out,
                "ephemeral_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        header(
            &mut out,
            "ephemeral_http_request_seconds",
            "histogram",
            "HTTP request duration by route template, seconds.",
        );
        for (route, h) in &m.http_seconds.series {
            h.render(
                &mut out,
                "ephemeral_http_request_seconds",
                &format!("route=\"{}\",", escape(route)),
            );
        }
        header(
            &mut out,
            "ephemeral_games_total",
            "counter",
            "Finished games by outcome.",
        );
        let _ = writeln!(
            out,
            "ephemeral_games_total{{outcome=\"succeeded\"}} {}",
            m.games_succeeded
        );
        let _ = writeln!(
            out,
            "ephemeral_games_total{{outcome=\"failed\"}} {}",
            m.games_failed
        );
        header(
            &mut out,
            "ephemeral_game_seconds",
            "histogram",
            "Game duration on this party, from request to answer, seconds.",
        );
        m.game_seconds
            .clone()
            .unwrap_or_else(|| Histogram::new(GAME_BUCKETS))
            .render(&mut out, "ephemeral_game_seconds", "");
        header(
            &mut out,
            "ephemeral_games_running",
            "gauge",
            "Games registered or running now.",
        );
        let _ = writeln!(out, "ephemeral_games_running {}", m.games_running);
        header(
            &mut out,
            "ephemeral_values_total",
            "counter",
            "Secret values uploaded and downloaded.",
        );
        for op in ["upload", "download"] {
            let n = m.values.series.get(op).copied().unwrap_or(0);
            let _ = writeln!(out, "ephemeral_values_total{{op=\"{op}\"}} {n}");
        }
        for (op, n) in m.values.series.iter().filter(|(k, _)| !is_value_op(k)) {
            let _ = writeln!(out, "ephemeral_values_total{{op=\"{}\"}} {n}", escape(op));
        }
        header(
            &mut out,
            "ephemeral_tuples_available",
            "gauge",
            "Tuples ready to be reserved, by kind.",
        );
        for (kind, (available, _)) in &m.tuples.series {
            let _ = writeln!(
                out,
                "ephemeral_tuples_available{{kind=\"{}\"}} {available}",
                escape(kind)
            );
        }
        header(
            &mut out,
            "ephemeral_tuples_consumed_total",
            "counter",
            "Tuples consumed, by kind (durable across restarts).",
        );
        for (kind, (_, consumed)) in &m.tuples.series {
            let _ = writeln!(
                out,
                "ephemeral_tuples_consumed_total{{kind=\"{}\"}} {consumed}",
                escape(kind)
            );
        }
        header(
            &mut out,
            "ephemeral_tuples_generated_total",
            "counter",
            "Tuples generated by this party since it started, by kind.",
        );
        for (kind, n) in &m.generated.series {
            let _ = writeln!(
                out,
                "ephemeral_tuples_generated_total{{kind=\"{}\"}} {n}",
                escape(kind)
            );
        }
        header(
            &mut out,
            "ephemeral_peer_connected",
            "gauge",
            "1 if the MPC link to the peer party is up.",
        );
        for (party, up) in &m.peers.series {
            let label = if *party == usize::MAX {
                OTHER.to_string()
            } else {
                party.to_string()
            };
            let _ = writeln!(
                out,
                "ephemeral_peer_connected{{party=\"{label}\"}} {}",
                u8::from(*up)
            );
        }
        out
    }
}

fn is_value_op(op: &str) -> bool {
    op == "upload" || op == "download"
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line starting with `series ` in `text`.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn every_required_family_is_rendered() {
        let m = Metrics::default();
        m.record_http("/v1/games", 200, 0.003);
        m.record_game(true, 0.02);
        m.set_games_running(2);
        m.record_values("upload", 5);
        m.set_tuples("triple", 100, 7);
        m.record_generated("triple", 50);
        m.set_peer_connected(1, true);
        let t = m.render();
        for family in [
            "ephemeral_generation_halted",
            "ephemeral_requests_limited_total",
            "ephemeral_http_requests_total",
            "ephemeral_http_request_seconds",
            "ephemeral_games_total",
            "ephemeral_game_seconds",
            "ephemeral_games_running",
            "ephemeral_values_total",
            "ephemeral_tuples_available",
            "ephemeral_tuples_consumed_total",
            "ephemeral_tuples_generated_total",
            "ephemeral_peer_connected",
        ] {
            assert!(t.contains(&format!("# TYPE {family} ")), "{family}\n{t}");
        }
        assert_eq!(
            sample(
                &t,
                "ephemeral_http_requests_total{route=\"/v1/games\",status=\"200\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_games_total{outcome=\"succeeded\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_games_total{outcome=\"failed\"}"),
            Some(0.0)
        );
        assert_eq!(sample(&t, "ephemeral_games_running"), Some(2.0));
        assert_eq!(
            sample(&t, "ephemeral_values_total{op=\"upload\"}"),
            Some(5.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_values_total{op=\"download\"}"),
            Some(0.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_tuples_available{kind=\"triple\"}"),
            Some(100.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_tuples_consumed_total{kind=\"triple\"}"),
            Some(7.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_tuples_generated_total{kind=\"triple\"}"),
            Some(50.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_peer_connected{party=\"1\"}"),
            Some(1.0)
        );
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let m = Metrics::default();
        m.record_game(true, 0.007);
        m.record_game(false, 0.3);
        m.record_game(false, 1e6);
        let t = m.render();
        assert_eq!(
            sample(&t, "ephemeral_game_seconds_bucket{le=\"0.005\"}"),
            Some(0.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_game_seconds_bucket{le=\"0.01\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_game_seconds_bucket{le=\"0.5\"}"),
            Some(2.0)
        );
        assert_eq!(
            sample(&t, "ephemeral_game_seconds_bucket{le=\"+Inf\"}"),
            Some(3.0)
        );
        assert_eq!(sample(&t, "ephemeral_game_seconds_count"), Some(3.0));
        assert_eq!(
            sample(&t, "ephemeral_games_total{outcome=\"failed\"}"),
            Some(2.0)
        );
        m.record_http("/v1/secrets/{id}", 404, 0.0001);
        let t = m.render();
        assert_eq!(
            sample(
                &t,
                "ephemeral_http_request_seconds_bucket{route=\"/v1/secrets/{id}\",le=\"0.001\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &t,
                "ephemeral_http_request_seconds_count{route=\"/v1/secrets/{id}\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn labels_are_escaped_and_bounded() {
        let m = Metrics::default();
        m.record_generated("a\"b\\c\nd", 1);
        let t = m.render();
        assert!(t.contains(r#"kind="a\"b\\c\nd""#), "{t}");
        for i in 0..(MAX_SERIES + 10) {
            m.record_http(&format!("/r{i}"), 200, 0.0);
        }
        let t = m.render();
        let series = t
            .lines()
            .filter(|l| l.starts_with("ephemeral_http_requests_total{"))
            .count();
        assert_eq!(series, MAX_SERIES + 1);
        assert_eq!(
            sample(
                &t,
                "ephemeral_http_requests_total{route=\"other\",status=\"200\"}"
            ),
            Some(10.0)
        );
    }

    #[test]
    fn peer_gauge_goes_down() {
        let m = Metrics::default();
        m.set_peer_connected(2, true);
        m.set_peer_connected(2, false);
        assert_eq!(
            sample(&m.render(), "ephemeral_peer_connected{party=\"2\"}"),
            Some(0.0)
        );
    }
}
