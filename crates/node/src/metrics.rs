//! Prometheus metrics. (helper: being written)

/// The node's metrics.
#[derive(Default)]
pub struct Metrics {}

// Temporary no-op signatures until the metrics module lands (the helper replaces this file).
impl Metrics {
    pub fn record_game(&self, _succeeded: bool, _secs: f64) {}
    pub fn set_games_running(&self, _n: u64) {}
    pub fn record_values(&self, _op: &str, _n: u64) {}
    pub fn set_tuples(&self, _kind: &str, _available: u64, _consumed: u64) {}
    pub fn record_generated(&self, _kind: &str, _n: u64) {}
    pub fn set_peer_connected(&self, _party: usize, _up: bool) {}
}
