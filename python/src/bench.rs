//! The Rust SDK's side of the Python latency benchmark: the same loop as the node benchmark of
//! `ephemeral bench` (crates/cli/src/bench_node.rs: fresh game id, plaintext output, warm,
//! sequential), run against the same cloud from the same process, so that the Python figure has
//! its Rust reference measured in the same run.

use std::time::Instant;

use api::{Activation, OutputKind, OutputSpec};
use pyo3::prelude::*;
use uuid::Uuid;

use crate::errors::to_py;
use crate::native_client::NativeClient;
use crate::run;

/// Runs `code` on inputs `a` and `b` `warm` times, then `runs` times timed, through the Rust SDK
/// alone (no Python between calls); returns the timed runs' latencies in seconds. Every run must
/// return `expect`.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // a flat signature for Python
pub fn rust_seed_latencies(
    py: Python<'_>,
    client: &NativeClient,
    code: String,
    a: &str,
    b: &str,
    expect: Vec<i128>,
    warm: usize,
    runs: usize,
) -> PyResult<Vec<f64>> {
    let parse = |s: &str| {
        Uuid::parse_str(s).map_err(|_| {
            to_py(client::ClientError::Usage(format!(
                "{s:?} is not a secret id"
            )))
        })
    };
    let (a, b) = (parse(a)?, parse(b)?);
    let c = &client.inner;
    let activation = move || Activation {
        game_id: Some(Uuid::new_v4().to_string()),
        code: Some(code.clone()),
        inputs: vec![a, b],
        output: OutputSpec {
            kind: OutputKind::Plaintext,
            tags: vec![],
        },
        ..Activation::default()
    };
    run(py, async move {
        for _ in 0..warm {
            c.execute(activation()).await?;
        }
        let mut latency = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let r = c.execute(activation()).await?;
            latency.push(t.elapsed().as_secs_f64());
            if r.values_i128()? != expect {
                return Err(client::ClientError::Usage(format!(
                    "the program returned {:?}, not {expect:?}",
                    r.outputs.lines()
                )));
            }
        }
        Ok(latency)
    })
}
