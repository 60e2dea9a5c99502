//! The Ephemeral client SDK: one [`Client`] across every party of a virtual cloud.
//!
//! - **Configuration:** a cloud file ([`CloudConfig`]) lists each party's URL and bearer token.
//! - **Secrets:** [`Client::create_secret`] stores values by the input-mask protocol;
//!   [`Client::get_secret`] reads them back by the verified output-delivery protocol and checks
//!   w = s·r and u = v·r ([`verify_delivery`]), so that a tampering party is detected.
//! - **Data:** [`encoding`] turns signed 64-bit integers and fixed-point numbers (the dialect's
//!   `sfix`, [`FixedPoint`]) into field elements and back, range-checked.
//! - **Games:** [`Client::execute`] sends one activation to all parties at once and puts the
//!   answers together: plaintext values that all parties agree on, shares recombined and
//!   verified locally, or the ids of stored output secrets.
//!
//! Every request goes to all parties in parallel; the first error wins and names its party and
//! the node's error code ([`ClientError`]). Shares never appear in errors or `Debug` output.
//!
//! ```no_run
//! # async fn demo() -> Result<(), client::ClientError> {
//! use client::{Client, CloudConfig};
//! let client = Client::new(CloudConfig::find_and_load(None)?)?;
//! let id = client.create_secret_i128(&[42, -5], vec![api::Tag::string("name", "x")]).await?;
//! assert_eq!(client.get_secret_i128(id).await?, vec![42, -5]);
//! # Ok(()) }
//! ```

mod admin;
mod client;
pub mod config;
pub mod encoding;
pub mod error;
mod games;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transport;
pub mod verify;

pub use client::Client;
pub use config::{CloudConfig, PartyConfig};
pub use encoding::FixedPoint;
pub use error::{ClientError, Result};
pub use games::{kind_name, ExecutionResult, Outputs};
pub use verify::verify_delivery;

/// The API types, re-exported so that SDK users need not depend on `api` themselves.
pub use api;

#[cfg(test)]
mod tests;
