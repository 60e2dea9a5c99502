//! [`client::ClientError`] as the typed exceptions of `ephemeral.errors` (defined in Python, so
//! that they carry attributes, docstrings and the right built-in bases).

use api::ErrorCode;
use client::ClientError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The exception class of `ephemeral.errors` that stands for `e`.
fn class_of(e: &ClientError) -> &'static str {
    match e {
        ClientError::Config { .. } => "ConfigError",
        ClientError::Http {
            timed_out: true, ..
        } => "TimeoutError",
        ClientError::Http { .. } => "UnreachableError",
        ClientError::Api { error, .. } => match error.code {
            ErrorCode::Unauthorized | ErrorCode::Forbidden => "AuthError",
            ErrorCode::NotFound => "NotFoundError",
            ErrorCode::Timeout => "TimeoutError",
            ErrorCode::IntegrityViolation => "IntegrityError",
            _ => "PartyError",
        },
        ClientError::Disagreement { .. } | ClientError::Integrity { .. } => "IntegrityError",
        ClientError::Decode { .. } => "ProtocolError",
        ClientError::Usage(_) => "UsageError",
    }
}

/// Builds the Python exception for `e`: its message is the SDK's (which says what to do), and
/// `party`, `code` (the node's snake_case error code), `node_message`, `url` and
/// `retry_after` are set when known.
pub fn to_py(e: ClientError) -> PyErr {
    Python::attach(|py| match build(py, &e) {
        Ok(err) => err,
        // The package is broken (errors module missing): still say what went wrong.
        Err(import) => pyo3::exceptions::PyRuntimeError::new_err(format!(
            "{e} (and ephemeral.errors could not be loaded: {import})"
        )),
    })
}

fn build(py: Python<'_>, e: &ClientError) -> PyResult<PyErr> {
    let class = py.import("ephemeral.errors")?.getattr(class_of(e))?;
    let kw = PyDict::new(py);
    kw.set_item("party", e.party())?;
    match e {
        ClientError::Api { error, .. } => {
            kw.set_item("code", client::error::code_name(error.code))?;
            kw.set_item("node_message", &error.message)?;
            kw.set_item("retry_after", error.retry_after_secs)?;
        }
        ClientError::Http { url, .. } => kw.set_item("url", url)?,
        ClientError::Config { path, .. } => kw.set_item("path", path)?,
        _ => {}
    }
    let value = class.call((e.to_string(),), Some(&kw))?;
    Ok(PyErr::from_value(value))
}
