//! Prometheus metrics. (helper: being written)

/// The node's metrics.
#[derive(Default)]
pub struct Metrics {}
