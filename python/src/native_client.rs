//! `NativeClient`: one `client::Client` for Python. Every method that talks to the parties
//! releases the GIL ([`crate::run`]); records come back as JSON text.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use api::{Activation, OutputKind, OutputSpec, Tag};
use client::{Client, ClientError, CloudConfig, PartyConfig};
use pyo3::prelude::*;
use uuid::Uuid;

use crate::errors::to_py;
use crate::{fixed_point, run};

/// A tag from Python: (key, value as text, whether it is a LONG tag).
pub type PyTag = (String, String, bool);

fn tags(t: Vec<PyTag>) -> Vec<Tag> {
    t.into_iter()
        .map(|(key, value, long)| Tag {
            key,
            value,
            value_type: if long {
                api::TagType::Long
            } else {
                api::TagType::String
            },
        })
        .collect()
}

fn uuid(s: &str) -> PyResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        to_py(ClientError::Usage(format!(
            "{s:?} is not a secret id (a UUID such as 7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d)"
        )))
    })
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| {
        to_py(ClientError::Decode {
            party: None,
            message: format!("cannot pass the answer on: {e}"),
        })
    })
}

/// The output kind named by `s` (`plaintext`, `shares`, `secret`, or the original's names).
pub fn output_kind(s: &str) -> PyResult<OutputKind> {
    OutputKind::parse(s).ok_or_else(|| {
        to_py(ClientError::Usage(format!(
            "unknown output {s:?}; use \"plaintext\", \"shares\" or \"secret\""
        )))
    })
}

/// A client of every party of one virtual cloud (`client::Client`).
#[pyclass(module = "ephemeral._native", frozen)]
pub struct NativeClient {
    pub(crate) inner: Client,
}

#[pymethods]
impl NativeClient {
    /// A client of the parties `(url, token, ca_cert)`, party i at index i.
    #[new]
    #[pyo3(signature = (parties, timeout_secs=None))]
    fn new(
        parties: Vec<(String, Option<String>, Option<PathBuf>)>,
        timeout_secs: Option<u64>,
    ) -> PyResult<NativeClient> {
        let mut cfg = CloudConfig::new(
            parties
                .into_iter()
                .enumerate()
                .map(|(id, (url, token, ca_cert))| PartyConfig {
                    id,
                    url,
                    token,
                    ca_cert,
                })
                .collect(),
        )
        .map_err(to_py)?;
        if let Some(t) = timeout_secs {
            cfg.timeout_secs = t.max(1);
        }
        Ok(NativeClient {
            inner: Client::new(cfg).map_err(to_py)?,
        })
    }

    /// A client from the cloud file (`path`, else `$EPHEMERAL_CLOUD`, else
    /// `~/.config/ephemeral/cloud.toml`).
    #[staticmethod]
    #[pyo3(signature = (path=None, timeout_secs=None))]
    fn from_cloud_file(path: Option<PathBuf>, timeout_secs: Option<u64>) -> PyResult<NativeClient> {
        let mut cfg = CloudConfig::find_and_load(path.as_deref()).map_err(to_py)?;
        if let Some(t) = timeout_secs {
            cfg.timeout_secs = t.max(1);
        }
        Ok(NativeClient {
            inner: Client::new(cfg).map_err(to_py)?,
        })
    }

    /// Number of parties.
    #[getter]
    fn parties(&self) -> usize {
        self.inner.parties()
    }

    /// The parties' URLs, in party order.
    #[getter]
    fn urls(&self) -> Vec<String> {
        self.inner
            .config()
            .parties
            .iter()
            .map(|p| p.url.clone())
            .collect()
    }

    /// The per-request timeout in seconds.
    #[getter]
    fn timeout_secs(&self) -> u64 {
        self.inner.config().timeout_secs
    }

    // ---- secrets ---------------------------------------------------------------------------

    /// Stores signed 64-bit integers: each value must be a Python int (or anything with
    /// `__index__`, such as numpy integers) in [-2^63, 2^63).
    fn create_ints(
        &self,
        py: Python<'_>,
        values: Vec<Bound<'_, PyAny>>,
        tags: Vec<PyTag>,
    ) -> PyResult<String> {
        let values = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.extract::<i64>().map_err(|_| {
                    let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
                    to_py(ClientError::Usage(format!(
                        "value {i}: {shown} is not a signed 64-bit integer (from -2**63 to \
                         2**63 - 1); store numbers with a fractional part with fixed=True"
                    )))
                })
            })
            .collect::<PyResult<Vec<i64>>>()?;
        let c = &self.inner;
        let t = self::tags(tags);
        run(py, async move { c.create_secret_i64(&values, t).await }).map(|id| id.to_string())
    }

    #[pyo3(signature = (values, f, k, tags))]
    fn create_fixed(
        &self,
        py: Python<'_>,
        values: Vec<f64>,
        f: u32,
        k: Option<u32>,
        tags: Vec<PyTag>,
    ) -> PyResult<String> {
        let fx = fixed_point(f, k)?;
        let c = &self.inner;
        let t = self::tags(tags);
        run(
            py,
            async move { c.create_secret_fixed(&values, fx, t).await },
        )
        .map(|id| id.to_string())
    }

    /// The values as exact signed integers (Python ints are unbounded; a value above p/2 is
    /// negative).
    fn get_ints(&self, py: Python<'_>, id: &str) -> PyResult<Vec<i128>> {
        let id = uuid(id)?;
        let c = &self.inner;
        run(py, async move { c.get_secret_i128(id).await })
    }

    #[pyo3(signature = (id, f, k))]
    fn get_fixed(&self, py: Python<'_>, id: &str, f: u32, k: Option<u32>) -> PyResult<Vec<f64>> {
        let (id, fx) = (uuid(id)?, fixed_point(f, k)?);
        let c = &self.inner;
        run(py, async move { c.get_secret_fixed(id, fx).await })
    }

    #[pyo3(signature = (filter=None, page=None))]
    fn list_secrets(
        &self,
        py: Python<'_>,
        filter: Option<String>,
        page: Option<(u64, u32)>,
    ) -> PyResult<String> {
        let c = &self.inner;
        json(&run(py, async move {
            c.list_secrets(filter.as_deref(), page).await
        })?)
    }

    fn secret_info(&self, py: Python<'_>, id: &str) -> PyResult<String> {
        let id = uuid(id)?;
        let c = &self.inner;
        json(&run(py, async move { c.secret_info(id).await })?)
    }

    fn delete_secret(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        let id = uuid(id)?;
        let c = &self.inner;
        run(py, async move { c.delete_secret(id).await })
    }

    fn get_tags(&self, py: Python<'_>, id: &str) -> PyResult<String> {
        let id = uuid(id)?;
        let c = &self.inner;
        json(&run(py, async move { c.get_tags(id).await })?)
    }

    fn set_tag(&self, py: Python<'_>, id: &str, tag: PyTag) -> PyResult<()> {
        let id = uuid(id)?;
        let t = tags(vec![tag]).remove(0);
        let c = &self.inner;
        run(py, async move { c.set_tag(id, t).await })
    }

    fn add_tag(&self, py: Python<'_>, id: &str, tag: PyTag) -> PyResult<()> {
        let id = uuid(id)?;
        let t = tags(vec![tag]).remove(0);
        let c = &self.inner;
        run(py, async move { c.add_tag(id, t).await })
    }

    fn replace_tags(&self, py: Python<'_>, id: &str, new_tags: Vec<PyTag>) -> PyResult<()> {
        let id = uuid(id)?;
        let t = tags(new_tags);
        let c = &self.inner;
        run(py, async move { c.replace_tags(id, t).await })
    }

    fn delete_tag(&self, py: Python<'_>, id: &str, key: String) -> PyResult<()> {
        let id = uuid(id)?;
        let c = &self.inner;
        run(py, async move { c.delete_tag(id, &key).await })
    }

    // ---- functions and games ---------------------------------------------------------------

    fn deploy(
        &self,
        py: Python<'_>,
        name: String,
        code: String,
        args: Vec<String>,
    ) -> PyResult<String> {
        let c = &self.inner;
        json(&run(py, async move {
            c.deploy_function(&name, &code, args).await
        })?)
    }

    #[pyo3(signature = (name=None))]
    fn list_functions(&self, py: Python<'_>, name: Option<String>) -> PyResult<String> {
        let c = &self.inner;
        json(&run(py, async move {
            match name {
                Some(n) => c.function_versions(&n).await,
                None => c.list_functions().await,
            }
        })?)
    }

    fn delete_function(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let c = &self.inner;
        run(py, async move { c.delete_function(&name).await })
    }

    /// Runs one game on every party; `on_status(json)` is called with party 0's report of the
    /// game every `every_secs` while it runs. Returns the result as JSON.
    #[pyo3(signature = (code, function, args, inputs, output, tags, game_id, public_input,
                        private_inputs, on_status=None, every_secs=0.5))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        py: Python<'_>,
        code: Option<String>,
        function: Option<String>,
        args: Vec<String>,
        inputs: Vec<String>,
        output: &str,
        tags: Vec<PyTag>,
        game_id: Option<String>,
        public_input: Option<String>,
        private_inputs: Vec<Option<String>>,
        on_status: Option<Py<PyAny>>,
        every_secs: f64,
    ) -> PyResult<String> {
        let inputs = inputs
            .iter()
            .map(|s| uuid(s))
            .collect::<PyResult<Vec<_>>>()?;
        let activation = Activation {
            game_id,
            code,
            function,
            args,
            inputs,
            output: OutputSpec {
                kind: output_kind(output)?,
                tags: self::tags(tags),
            },
            public_input,
            private_input: None,
        };
        let c = &self.inner;
        let every = Duration::from_secs_f64(every_secs.clamp(0.01, 3600.0));
        // An exception raised by the callback stops following the game and is raised as is.
        let raised: Mutex<Option<PyErr>> = Mutex::new(None);
        let result = run(py, async {
            match &on_status {
                None => {
                    c.execute_with_private_inputs(activation, private_inputs)
                        .await
                }
                Some(cb) => {
                    c.execute_with_progress(activation, private_inputs, every, |s| {
                        let text = serde_json::to_string(s).unwrap_or_default();
                        Python::attach(|py| cb.call1(py, (text,)).map(|_| ())).map_err(|e| {
                            *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            ClientError::Usage("the progress callback raised".into())
                        })
                    })
                    .await
                }
            }
        });
        if let Some(e) = raised.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        json(&result?)
    }

    /// Every party's report of a game, in party order (JSON).
    fn game_status(&self, py: Python<'_>, game_id: String) -> PyResult<String> {
        let c = &self.inner;
        json(&run(py, async move { c.game_status(&game_id).await })?)
    }

    // ---- operations ------------------------------------------------------------------------

    fn tuple_stats(&self, py: Python<'_>) -> PyResult<String> {
        let c = &self.inner;
        json(&run(py, async move { c.tuple_stats().await })?)
    }

    fn health(&self, py: Python<'_>) -> PyResult<String> {
        let c = &self.inner;
        json(&run(py, async move { c.health().await })?)
    }
}
