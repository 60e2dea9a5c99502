//! Operators' calls: what needs `admin = true` in every party's `[[clients]]`.

use api::{paths, RekeyRequest, RekeyResult};
use reqwest::Method;
use uuid::Uuid;

use crate::client::Client;
use crate::error::Result;
use crate::transport::fan_out;

impl Client {
    /// Moves every party to a fresh MAC key: every stored secret is re-authenticated under it
    /// and every tuple made under the old key is discarded. Clears a halt of tuple generation.
    /// Every party's answer, in party order.
    pub async fn rekey(&self) -> Result<Vec<RekeyResult>> {
        let body = RekeyRequest {
            request_id: Uuid::new_v4(),
        };
        let r: Vec<RekeyResult> = fan_out(&self.parties, |p| {
            p.send(Method::POST, paths::ADMIN_REKEY, None, Some(&body))
        })
        .await?;
        self.check_parties(r.iter().map(|r| r.party))?;
        Ok(r)
    }
}
