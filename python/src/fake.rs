//! `NativeFakeCloud`: the client crate's fake virtual cloud (`client::testing`) for tests of
//! code built on the Python SDK, including a party that tampers.

use std::sync::Mutex;

use client::testing::{FakeCloud, Tamper};
use client::ClientError;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::native_client::NativeClient;
use crate::runtime;

/// The tampering behaviours by their Python names.
const TAMPERS: &[(&str, Tamper)] = &[
    ("mask_share", Tamper::MaskShare),
    ("download_share", Tamper::DownloadShare),
    ("download_w", Tamper::DownloadW),
    ("secret_id", Tamper::SecretId),
    ("game_share", Tamper::GameShare),
    ("plaintext", Tamper::Plaintext),
    ("program_hash", Tamper::ProgramHash),
    ("output_ids", Tamper::OutputIds),
    ("party_id", Tamper::PartyId),
];

/// N in-process fake parties on loopback ports (see `client::testing`); stops on `close`.
#[pyclass(module = "ephemeral._native", frozen)]
pub struct NativeFakeCloud {
    cloud: Mutex<Option<FakeCloud>>,
    toml: String,
    urls: Vec<String>,
}

#[pymethods]
impl NativeFakeCloud {
    #[new]
    #[pyo3(signature = (parties=2, tamper=None))]
    fn new(py: Python<'_>, parties: usize, tamper: Option<(String, usize)>) -> PyResult<Self> {
        if !(1..=16).contains(&parties) {
            return Err(to_py(ClientError::Usage(format!(
                "a fake cloud has 1 to 16 parties, not {parties}"
            ))));
        }
        let tamper = match tamper {
            None => None,
            Some((name, party)) => {
                let t = TAMPERS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        let names: Vec<&str> = TAMPERS.iter().map(|(n, _)| *n).collect();
                        to_py(ClientError::Usage(format!(
                            "unknown tampering {name:?}; one of {}",
                            names.join(", ")
                        )))
                    })?;
                if party >= parties {
                    return Err(to_py(ClientError::Usage(format!(
                        "the tampering party {party} is not among the {parties} parties"
                    ))));
                }
                Some((party, t))
            }
        };
        let rt = runtime()?;
        let cloud = py.detach(|| rt.block_on(FakeCloud::start_with(parties, tamper)));
        Ok(NativeFakeCloud {
            toml: cloud.cloud_toml(),
            urls: (0..parties).map(|i| cloud.url(i)).collect(),
            cloud: Mutex::new(Some(cloud)),
        })
    }

    /// The cloud file text of this fake cloud.
    #[getter]
    fn cloud_toml(&self) -> String {
        self.toml.clone()
    }

    /// The parties' base URLs.
    #[getter]
    fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    /// A native client of this fake cloud.
    fn client(&self) -> PyResult<NativeClient> {
        let g = self.cloud.lock().unwrap_or_else(|p| p.into_inner());
        let cloud = g
            .as_ref()
            .ok_or_else(|| to_py(ClientError::Usage("this fake cloud is closed".into())))?;
        Ok(NativeClient {
            inner: cloud.client(),
        })
    }

    /// The names of the tampering behaviours.
    #[staticmethod]
    fn tamperings() -> Vec<&'static str> {
        TAMPERS.iter().map(|(n, _)| *n).collect()
    }

    /// Stops the parties' servers.
    fn close(&self) {
        let cloud = self.cloud.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(cloud);
    }
}
