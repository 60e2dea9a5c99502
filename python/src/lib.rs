//! `ephemeral._native`: the client crate (`client`) behind a Python module.
//!
//! Everything that is protocol lives in `client`: the input-mask upload, the verification of
//! output deliveries, field and fixed-point encodings. This crate only converts arguments and
//! results, runs the SDK's futures on one shared Tokio runtime with the GIL released
//! ([`run`]), and turns [`client::ClientError`] into the typed exceptions of
//! `ephemeral.errors` ([`errors`]). Results that are records (secret metadata, statistics) cross
//! as JSON text that the Python package turns into dataclasses.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;

mod bench;
mod errors;
mod fake;
mod native_client;

/// The runtime every call runs on: two worker threads drive the HTTP connections; calls from
/// any number of Python threads block on it with the GIL released.
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<std::io::Result<tokio::runtime::Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ephemeral-sdk")
            .enable_all()
            .build()
    })
    .as_ref()
    .map_err(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!(
            "cannot start the SDK's async runtime: {e}"
        ))
    })
}

/// How often a waiting call checks for signals (Ctrl-C in a terminal or a notebook).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `f` to completion on the shared runtime with the GIL released, so that other Python
/// threads (and the async client's executor threads) run while the parties answer. Every
/// [`SIGNAL_CHECK`] the wait takes the GIL for a moment to let Python handle signals: Ctrl-C
/// raises `KeyboardInterrupt` here (the request already sent goes on at the parties).
fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: Future<Output = client::Result<T>> + Send,
    T: Send,
{
    let rt = runtime()?;
    py.detach(|| {
        rt.block_on(async {
            tokio::pin!(f);
            let start = tokio::time::Instant::now() + SIGNAL_CHECK;
            let mut tick = tokio::time::interval_at(start, SIGNAL_CHECK);
            loop {
                tokio::select! {
                    r = &mut f => return r.map_err(errors::to_py),
                    _ = tick.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}

/// `fx` for `f` fractional bits and `k` bits in all (`None`: 2f − 1).
fn fixed_point(f: u32, k: Option<u32>) -> PyResult<client::FixedPoint> {
    client::FixedPoint::new(f, k).map_err(errors::to_py)
}

/// The `sfix` integer representations of `values` (range-checked), as the client crate encodes
/// them.
#[pyfunction]
#[pyo3(signature = (values, f, k=None))]
fn encode_fixed(values: Vec<f64>, f: u32, k: Option<u32>) -> PyResult<Vec<i64>> {
    let fx = fixed_point(f, k)?;
    values
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            fx.to_integer(x).map_err(|e| match e {
                client::ClientError::Usage(m) => {
                    errors::to_py(client::ClientError::Usage(format!("value {i}: {m}")))
                }
                e => errors::to_py(e),
            })
        })
        .collect()
}

/// The numbers that `sfix` integer representations stand for.
#[pyfunction]
#[pyo3(signature = (values, f, k=None))]
fn decode_fixed(values: Vec<i128>, f: u32, k: Option<u32>) -> PyResult<Vec<f64>> {
    let fx = fixed_point(f, k)?;
    Ok(values.into_iter().map(|v| fx.decode_integer(v)).collect())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<native_client::NativeClient>()?;
    m.add_class::<fake::NativeFakeCloud>()?;
    m.add_function(wrap_pyfunction!(encode_fixed, m)?)?;
    m.add_function(wrap_pyfunction!(decode_fixed, m)?)?;
    m.add_function(wrap_pyfunction!(bench::rust_seed_latencies, m)?)?;
    m.add("DEFAULT_FRAC_BITS", client::FixedPoint::DEFAULT_F)?;
    m.add("FIELD_MODULUS", field::MODULUS)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
