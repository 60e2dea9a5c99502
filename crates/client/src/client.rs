//! [`Client`]: one client across all parties of a virtual cloud (the original's
//! `EphemeralMultiClient` and `AmphoraClient` in one), and its secret operations.
//!
//! Every write goes to all parties at once; the answers must agree. Read-only metadata
//! (listings, tags, function lists) comes from party 0.

use api::paths;
use api::secrets::{ListParams, PageParams};
use api::{
    AuditPage, DownloadRequest, FieldVec, Health, MaskRequest, MaskedInput, OutputDelivery,
    PolicyInfo, SecretCreated, SecretInfo, SecretPage, Tag, TupleStatsResponse, UsePolicy,
};
use field::Fp;
use reqwest::Method;
use uuid::Uuid;

use crate::config::CloudConfig;
use crate::encoding::{decode_i64, encode_i64, FixedPoint};
use crate::error::{ClientError, Result};
use crate::transport::{fan_out, segment, Party};
use crate::verify::verify_delivery;

/// A client of every party of one virtual cloud.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) parties: Vec<Party>,
    config: CloudConfig,
}

impl Client {
    /// A client for the parties of `config` (reads any `ca_cert` files now).
    pub fn new(config: CloudConfig) -> Result<Client> {
        let parties = config
            .parties
            .iter()
            .map(|p| Party::new(&config, p))
            .collect::<Result<Vec<_>>>()?;
        Ok(Client { parties, config })
    }

    /// Loads the cloud file (`--cloud`, `$EPHEMERAL_CLOUD`, `~/.config/ephemeral/cloud.toml`)
    /// and builds a client.
    pub fn from_cloud_file(explicit: Option<&std::path::Path>) -> Result<Client> {
        Client::new(CloudConfig::find_and_load(explicit)?)
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// Number of parties.
    pub fn parties(&self) -> usize {
        self.parties.len()
    }

    // ---- secrets -------------------------------------------------------------------------

    /// Stores `values` as a new secret by the input-mask protocol and returns its id.
    ///
    /// 1. Asks every party for `values.len()` input masks under a fresh request id, through the
    ///    output-delivery protocol, and verifies them ([`verify_delivery`]) to get the masks r.
    /// 2. Sends m = x − r with a fresh secret id to every party; the parties check among
    ///    themselves that they all received the same m before the secret exists.
    pub async fn create_secret(&self, values: &[Fp], tags: Vec<Tag>) -> Result<Uuid> {
        if values.is_empty() {
            return Err(ClientError::Usage(
                "a secret needs at least one value".into(),
            ));
        }
        let request_id = Uuid::new_v4();
        let req = MaskRequest {
            request_id,
            count: values.len() as u64,
        };
        let deliveries: Vec<OutputDelivery> = fan_out(&self.parties, |p| {
            p.send(Method::POST, paths::INPUT_MASKS, None, Some(&req))
        })
        .await?;
        let masks = self.verified(&deliveries, request_id, Some(values.len()))?;
        let masked: Vec<Fp> = values.iter().zip(&masks).map(|(x, r)| *x - *r).collect();
        let secret_id = Uuid::new_v4();
        let input = MaskedInput {
            request_id,
            secret_id,
            masked: FieldVec::from_elements(&masked),
            tags,
        };
        let created: Vec<SecretCreated> = fan_out(&self.parties, |p| {
            p.send(Method::POST, paths::SECRETS, None, Some(&input))
        })
        .await?;
        for (i, c) in created.iter().enumerate() {
            if c.id != secret_id {
                return Err(ClientError::Disagreement {
                    what: format!(
                        "the new secret's id: party {i} stored {} instead of {secret_id}",
                        c.id
                    ),
                });
            }
        }
        Ok(secret_id)
    }

    /// [`Client::create_secret`] of integers: values mod p, a negative x as p − |x|.
    pub async fn create_secret_i128(&self, values: &[i128], tags: Vec<Tag>) -> Result<Uuid> {
        let v: Vec<Fp> = values.iter().map(|&x| Fp::from_i128(x)).collect();
        self.create_secret(&v, tags).await
    }

    /// [`Client::create_secret`] of signed 64-bit integers ([`crate::encoding::encode_i64`]).
    pub async fn create_secret_i64(&self, values: &[i64], tags: Vec<Tag>) -> Result<Uuid> {
        let v: Vec<Fp> = values.iter().map(|&x| encode_i64(x)).collect();
        self.create_secret(&v, tags).await
    }

    /// [`Client::create_secret`] of fixed-point numbers in the `sfix` encoding `fx`; a value
    /// that does not fit is refused before any request is sent.
    pub async fn create_secret_fixed(
        &self,
        values: &[f64],
        fx: FixedPoint,
        tags: Vec<Tag>,
    ) -> Result<Uuid> {
        let v = fx.encode_all(values)?;
        self.create_secret(&v, tags).await
    }

    /// Reads a secret's values by the verified output-delivery protocol.
    pub async fn get_secret(&self, id: Uuid) -> Result<Vec<Fp>> {
        let request_id = Uuid::new_v4();
        let path = paths::fill(paths::SECRET_DOWNLOAD, &[("id", &id.to_string())]);
        let req = DownloadRequest { request_id };
        let deliveries: Vec<OutputDelivery> = fan_out(&self.parties, |p| {
            p.send(Method::POST, &path, None, Some(&req))
        })
        .await?;
        self.verified(&deliveries, request_id, None)
    }

    /// [`Client::get_secret`] as signed integers (an element above p/2 is negative).
    pub async fn get_secret_i128(&self, id: Uuid) -> Result<Vec<i128>> {
        Ok(self
            .get_secret(id)
            .await?
            .into_iter()
            .map(Fp::to_signed)
            .collect())
    }

    /// [`Client::get_secret`] as signed 64-bit integers; a value outside that range is an error.
    pub async fn get_secret_i64(&self, id: Uuid) -> Result<Vec<i64>> {
        self.get_secret(id)
            .await?
            .into_iter()
            .map(decode_i64)
            .collect()
    }

    /// [`Client::get_secret`] decoded as fixed-point numbers in the encoding `fx`.
    pub async fn get_secret_fixed(&self, id: Uuid, fx: FixedPoint) -> Result<Vec<f64>> {
        Ok(self
            .get_secret(id)
            .await?
            .into_iter()
            .map(|x| fx.decode(x))
            .collect())
    }

    /// Checks that delivery i came from party i for `request_id`, then verifies them.
    pub(crate) fn verified(
        &self,
        deliveries: &[OutputDelivery],
        request_id: Uuid,
        expected_len: Option<usize>,
    ) -> Result<Vec<Fp>> {
        self.check_parties(deliveries.iter().map(|d| d.party))?;
        if let Some(d) = deliveries.iter().find(|d| d.request_id != request_id) {
            return Err(ClientError::Decode {
                party: Some(d.party),
                message: format!(
                    "delivery for request {} when {request_id} was asked for",
                    d.request_id
                ),
            });
        }
        verify_delivery(deliveries, expected_len)
    }

    /// Checks that answer i came from party i (the cloud file's order is the parties' own).
    pub(crate) fn check_parties(&self, claimed: impl Iterator<Item = usize>) -> Result<()> {
        for (i, c) in claimed.enumerate() {
            if c != i {
                return Err(ClientError::Disagreement {
                    what: format!(
                        "party ids: the node at {} (party {i} in the cloud file {}) says it is party {c}; fix the ids in the cloud file",
                        self.parties[i].url, self.config.origin
                    ),
                });
            }
        }
        Ok(())
    }

    /// One page of the secrets this user may see, from party 0. `filter` holds comma-joined
    /// clauses `key:value`, `key>n`, `key<n`, all of which must hold; `page` is (number from 0,
    /// size); `None` lists everything.
    pub async fn list_secrets(
        &self,
        filter: Option<&str>,
        page: Option<(u64, u32)>,
    ) -> Result<SecretPage> {
        let q = ListParams {
            filter: filter.map(str::to_string),
            page: page.map(|p| p.0),
            size: page.map(|p| p.1),
        };
        self.parties[0]
            .send(Method::GET, paths::SECRETS, Some(&q), None)
            .await
    }

    /// A secret's metadata, from party 0.
    pub async fn secret_info(&self, id: Uuid) -> Result<SecretInfo> {
        let path = paths::fill(paths::SECRET, &[("id", &id.to_string())]);
        self.parties[0].send(Method::GET, &path, None, None).await
    }

    /// Deletes a secret on every party.
    pub async fn delete_secret(&self, id: Uuid) -> Result<()> {
        let path = paths::fill(paths::SECRET, &[("id", &id.to_string())]);
        self.write_all(Method::DELETE, &path, None).await
    }

    /// A secret's tags (the reserved `owner` and `creation-date` first), from party 0.
    pub async fn get_tags(&self, id: Uuid) -> Result<Vec<Tag>> {
        let path = paths::fill(paths::SECRET_TAGS, &[("id", &id.to_string())]);
        self.parties[0].send(Method::GET, &path, None, None).await
    }

    /// Adds a tag on every party (refused if the key exists).
    pub async fn add_tag(&self, id: Uuid, tag: Tag) -> Result<()> {
        let path = paths::fill(paths::SECRET_TAGS, &[("id", &id.to_string())]);
        self.write_all(Method::POST, &path, Some(&tag)).await
    }

    /// Sets a tag (creates or replaces it) on every party.
    pub async fn set_tag(&self, id: Uuid, tag: Tag) -> Result<()> {
        let path = paths::fill(
            paths::SECRET_TAG,
            &[("id", &id.to_string()), ("key", &segment(&tag.key))],
        );
        self.write_all(Method::PUT, &path, Some(&tag)).await
    }

    /// Replaces all user tags of a secret on every party.
    pub async fn replace_tags(&self, id: Uuid, tags: Vec<Tag>) -> Result<()> {
        let path = paths::fill(paths::SECRET_TAGS, &[("id", &id.to_string())]);
        self.write_all(Method::PUT, &path, Some(&tags)).await
    }

    /// Deletes a tag on every party.
    pub async fn delete_tag(&self, id: Uuid, key: &str) -> Result<()> {
        let path = paths::fill(
            paths::SECRET_TAG,
            &[("id", &id.to_string()), ("key", &segment(key))],
        );
        self.write_all(Method::DELETE, &path, None).await
    }

    /// Sets a secret's use policy on every party (owner only): which programs of other users may
    /// take it as input, with which output modes, how many times in all. Returns party 0's view;
    /// the parties must agree on the stored policy.
    pub async fn set_policy(&self, id: Uuid, policy: &UsePolicy) -> Result<PolicyInfo> {
        let path = paths::fill(paths::SECRET_POLICY, &[("id", &id.to_string())]);
        let infos: Vec<PolicyInfo> = fan_out(&self.parties, |p| {
            p.send(Method::PUT, &path, None, Some(policy))
        })
        .await?;
        for (i, info) in infos.iter().enumerate().skip(1) {
            if info.policy != infos[0].policy || info.secret_id != infos[0].secret_id {
                return Err(ClientError::Disagreement {
                    what: format!(
                        "the use policy of secret {id}: party {i} stored another one than party 0"
                    ),
                });
            }
        }
        infos
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Usage("the cloud file names no parties".into()))
    }

    /// A secret's use policy (or the legacy `authorizedPrograms` rule) and its use count, from
    /// every party, in party order (owner only). The counts should agree; a party whose count
    /// differs refuses games on the secret.
    pub async fn get_policy(&self, id: Uuid) -> Result<Vec<PolicyInfo>> {
        let path = paths::fill(paths::SECRET_POLICY, &[("id", &id.to_string())]);
        fan_out(&self.parties, |p| p.send(Method::GET, &path, None, None)).await
    }

    /// Removes a secret's use policy on every party (owner only); the legacy
    /// `authorizedPrograms` tag, if any, applies again.
    pub async fn clear_policy(&self, id: Uuid) -> Result<()> {
        let path = paths::fill(paths::SECRET_POLICY, &[("id", &id.to_string())]);
        self.write_all(Method::DELETE, &path, None).await
    }

    /// One page (number from 0, size) or all of a secret's audit record from one party (owner
    /// only): every use as a game input, oldest first.
    pub async fn audit(
        &self,
        id: Uuid,
        party: usize,
        page: Option<(u64, u32)>,
    ) -> Result<AuditPage> {
        let Some(p) = self.parties.get(party) else {
            return Err(ClientError::Usage(format!(
                "party {party} is not in the cloud file, which names {} parties",
                self.parties.len()
            )));
        };
        let path = paths::fill(paths::SECRET_AUDIT, &[("id", &id.to_string())]);
        let q = PageParams {
            page: page.map(|p| p.0),
            size: page.map(|p| p.1),
        };
        p.send(Method::GET, &path, Some(&q), None).await
    }

    /// Sends one request to every party and checks that all succeed (the answers' bodies are
    /// not used).
    pub(crate) async fn write_all(
        &self,
        method: Method,
        path: &str,
        body: Option<&(dyn crate::transport::ErasedBody + Sync)>,
    ) -> Result<()> {
        fan_out(&self.parties, |p| {
            p.send_raw(method.clone(), path, None, body)
        })
        .await?;
        Ok(())
    }

    // ---- operations ----------------------------------------------------------------------

    /// Every party's tuple pools, in party order.
    pub async fn tuple_stats(&self) -> Result<Vec<TupleStatsResponse>> {
        let stats: Vec<TupleStatsResponse> = fan_out(&self.parties, |p| {
            p.send(Method::GET, paths::TUPLES, None, None)
        })
        .await?;
        self.check_parties(stats.iter().map(|s| s.party))?;
        Ok(stats)
    }

    /// Every party's health, in party order.
    pub async fn health(&self) -> Result<Vec<Health>> {
        let h: Vec<Health> = fan_out(&self.parties, |p| {
            p.send(Method::GET, paths::HEALTH, None, None)
        })
        .await?;
        self.check_parties(h.iter().map(|h| h.party))?;
        Ok(h)
    }
}
