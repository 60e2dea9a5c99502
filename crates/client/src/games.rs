//! Functions and games: deploy a program on every party, run one everywhere, and put the
//! parties' answers together.

use api::paths;
use api::{
    Activation, DeployFunction, FunctionInfo, FunctionList, GameOutput, GameResult, GameStats,
    GameSummary, OutputKind,
};
use field::Fp;
use reqwest::Method;
use serde::Serialize;
use uuid::Uuid;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::transport::{fan_out, segment};

/// The outputs of a game, put together from every party's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "values")]
pub enum Outputs {
    /// Opened values as signed decimal strings; every party returned the same.
    #[serde(rename = "PLAINTEXT")]
    Plaintext(Vec<String>),
    /// The values recombined from the parties' output-delivery shares and verified.
    #[serde(rename = "SECRETSHARE", serialize_with = "signed_strings")]
    Shares(Vec<Fp>),
    /// The ids of the stored output secrets; every party returned the same.
    #[serde(rename = "AMPHORASECRET")]
    Secrets(Vec<Uuid>),
}

#[allow(clippy::ptr_arg)] // serde passes the variant's field by reference
fn signed_strings<S: serde::Serializer>(v: &Vec<Fp>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| x.to_signed().to_string()))
}

impl Outputs {
    /// The output kind these came from.
    pub fn kind(&self) -> OutputKind {
        match self {
            Outputs::Plaintext(_) => OutputKind::Plaintext,
            Outputs::Shares(_) => OutputKind::SecretShare,
            Outputs::Secrets(_) => OutputKind::AmphoraSecret,
        }
    }

    /// The values as signed integers (PLAINTEXT and SECRETSHARE outputs).
    pub fn to_i128(&self) -> Result<Vec<i128>> {
        match self {
            Outputs::Plaintext(v) => v
                .iter()
                .map(|s| {
                    s.trim().parse::<i128>().map_err(|_| ClientError::Decode {
                        party: None,
                        message: format!("plaintext output {s:?} is not an integer"),
                    })
                })
                .collect(),
            Outputs::Shares(v) => Ok(v.iter().map(|x| x.to_signed()).collect()),
            Outputs::Secrets(_) => Err(ClientError::Usage(
                "the outputs were stored as secrets; read them with get_secret".into(),
            )),
        }
    }

    /// The values decoded as fixed-point numbers in the encoding `fx` (PLAINTEXT and
    /// SECRETSHARE outputs).
    pub fn to_f64(&self, fx: crate::FixedPoint) -> Result<Vec<f64>> {
        Ok(self
            .to_i128()?
            .into_iter()
            .map(|v| fx.decode_integer(v))
            .collect())
    }

    /// One line per output: a value, or a stored secret's id.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Outputs::Plaintext(v) => v.clone(),
            Outputs::Shares(v) => v.iter().map(|x| x.to_signed().to_string()).collect(),
            Outputs::Secrets(v) => v.iter().map(Uuid::to_string).collect(),
        }
    }
}

/// What a game gave back on all parties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionResult {
    pub game_id: String,
    /// BLAKE3 of the compiled program, hex; the same on every party.
    pub program_hash: String,
    pub outputs: Outputs,
    /// What the program printed (`print_ln`), the same on every party (checked).
    pub printed: String,
    /// Every party's run statistics, in party order.
    pub stats: Vec<GameStats>,
}

impl ExecutionResult {
    /// The outputs as signed integers ([`Outputs::to_i128`]).
    pub fn values_i128(&self) -> Result<Vec<i128>> {
        self.outputs.to_i128()
    }
}

impl Client {
    /// Deploys `code` as function `name` (a new version, or the latest unchanged) on every party;
    /// all parties must report the same program hash. Returns party 0's record.
    pub async fn deploy_function(
        &self,
        name: &str,
        code: &str,
        args: Vec<String>,
    ) -> Result<FunctionInfo> {
        let path = paths::fill(paths::FUNCTION, &[("name", &segment(name))]);
        let body = DeployFunction {
            code: code.to_string(),
            args,
        };
        let mut infos: Vec<FunctionInfo> = fan_out(&self.parties, |p| {
            p.send(Method::PUT, &path, None, Some(&body))
        })
        .await?;
        let first = &infos[0];
        for (i, f) in infos.iter().enumerate() {
            if f.program_hash != first.program_hash {
                return Err(ClientError::Disagreement {
                    what: format!(
                        "the program hash of function {name}: party 0 compiled {}, party {i} compiled {}",
                        first.program_hash, f.program_hash
                    ),
                });
            }
        }
        // A cloud has at least one party (the configuration is checked), so infos[0] exists.
        Ok(infos.swap_remove(0))
    }

    /// The deployed functions (every version), from party 0.
    pub async fn list_functions(&self) -> Result<Vec<FunctionInfo>> {
        let l: FunctionList = self.parties[0]
            .send(Method::GET, paths::FUNCTIONS, None, None)
            .await?;
        Ok(l.items)
    }

    /// The versions of one deployed function, from party 0.
    pub async fn function_versions(&self, name: &str) -> Result<Vec<FunctionInfo>> {
        let path = paths::fill(paths::FUNCTION, &[("name", &segment(name))]);
        let l: FunctionList = self.parties[0].send(Method::GET, &path, None, None).await?;
        Ok(l.items)
    }

    /// Deletes a deployed function (every version) on every party.
    pub async fn delete_function(&self, name: &str) -> Result<()> {
        let path = paths::fill(paths::FUNCTION, &[("name", &segment(name))]);
        self.write_all(Method::DELETE, &path, None).await
    }

    /// A game's status on every party, in party order (finished games are forgotten after a
    /// grace period).
    pub async fn game_status(&self, game_id: &str) -> Result<Vec<GameSummary>> {
        let path = paths::fill(paths::GAME, &[("id", &segment(game_id))]);
        fan_out(&self.parties, |p| p.send(Method::GET, &path, None, None)).await
    }

    /// Game `game_id`'s status on `party` alone: for following a game while it runs (party 0
    /// reports how far the game's preprocessing got, and relays it to the others).
    pub async fn game_status_on(&self, party: usize, game_id: &str) -> Result<GameSummary> {
        let p = self.parties.get(party).ok_or_else(|| {
            ClientError::Usage(format!(
                "there is no party {party} among the {} parties of this cloud",
                self.parties.len()
            ))
        })?;
        let path = paths::fill(paths::GAME, &[("id", &segment(game_id))]);
        p.send(Method::GET, &path, None, None).await
    }

    /// Runs a game on every party (see [`Client::execute_with_private_inputs`]).
    pub async fn execute(&self, activation: Activation) -> Result<ExecutionResult> {
        self.execute_with_private_inputs(activation, Vec::new())
            .await
    }

    /// Sends `activation` to every party at once, with `private_inputs[i]` as party i's private
    /// input (empty: none), and puts the answers together by output kind:
    /// - PLAINTEXT: every party must return the same values;
    /// - SECRETSHARE: the parties' deliveries are added up and verified ([`crate::verify_delivery`]);
    /// - AMPHORASECRET: every party must return the same ids.
    ///
    /// Without a `game_id` the client picks a fresh UUID, so that all parties share it.
    pub async fn execute_with_private_inputs(
        &self,
        mut activation: Activation,
        private_inputs: Vec<Option<String>>,
    ) -> Result<ExecutionResult> {
        let n = self.parties();
        if !private_inputs.is_empty() && private_inputs.len() != n {
            return Err(ClientError::Usage(format!(
                "{} private inputs for {n} parties; give one per party (None for none)",
                private_inputs.len()
            )));
        }
        if activation.code.is_some() == activation.function.is_some() {
            return Err(ClientError::Usage(
                "an activation needs exactly one of code and function".into(),
            ));
        }
        let game_id = activation
            .game_id
            .get_or_insert_with(|| Uuid::new_v4().to_string())
            .clone();
        activation.private_input = None;
        let bodies: Vec<Activation> = (0..n)
            .map(|i| {
                let mut a = activation.clone();
                a.private_input = private_inputs.get(i).cloned().flatten();
                a
            })
            .collect();
        let results: Vec<GameResult> = fan_out(&self.parties, |p| {
            p.send(Method::POST, paths::GAMES, None, Some(&bodies[p.id]))
        })
        .await?;
        self.combine(&game_id, activation.output.kind, results)
    }

    /// [`Client::execute_with_private_inputs`], following the game while it runs: every `every`,
    /// party 0's report of the game ([`Client::game_status_on`]; it says how far the
    /// preprocessing the game waits for has come) goes to `on_status`. An `Err` from
    /// `on_status` stops following and is returned (the game itself goes on at the parties);
    /// a failed status request is skipped (the game may not be registered yet).
    pub async fn execute_with_progress<F>(
        &self,
        mut activation: Activation,
        private_inputs: Vec<Option<String>>,
        every: std::time::Duration,
        mut on_status: F,
    ) -> Result<ExecutionResult>
    where
        F: FnMut(&GameSummary) -> Result<()>,
    {
        let game_id = activation
            .game_id
            .get_or_insert_with(|| Uuid::new_v4().to_string())
            .clone();
        let exec = self.execute_with_private_inputs(activation, private_inputs);
        tokio::pin!(exec);
        let mut tick = tokio::time::interval(every.max(std::time::Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; the game has not reached the parties yet.
        tick.tick().await;
        loop {
            tokio::select! {
                r = &mut exec => return r,
                _ = tick.tick() => {
                    let status = tokio::select! {
                        r = &mut exec => return r,
                        s = self.game_status_on(0, &game_id) => s,
                    };
                    if let Ok(s) = status {
                        on_status(&s)?;
                    }
                }
            }
        }
    }

    /// Checks the parties' answers against each other and puts the outputs together.
    fn combine(
        &self,
        game_id: &str,
        kind: OutputKind,
        results: Vec<GameResult>,
    ) -> Result<ExecutionResult> {
        self.check_parties(results.iter().map(|r| r.party))?;
        let first = &results[0];
        for (i, r) in results.iter().enumerate() {
            if r.game_id != game_id {
                return Err(ClientError::Decode {
                    party: Some(i),
                    message: format!("answered for game {:?}, not {game_id:?}", r.game_id),
                });
            }
            if r.program_hash != first.program_hash {
                return Err(ClientError::Disagreement {
                    what: format!(
                        "the program hash: party 0 ran {}, party {i} ran {}",
                        first.program_hash, r.program_hash
                    ),
                });
            }
            if r.printed != first.printed {
                return Err(ClientError::Disagreement {
                    what: format!(
                        "the printed text of game {game_id} (party 0 and party {i} differ)"
                    ),
                });
            }
        }
        let wrong_kind = |i: usize, o: &GameOutput| ClientError::Decode {
            party: Some(i),
            message: format!(
                "returned {} output, {} was asked for",
                kind_name(output_kind(o)),
                kind_name(kind)
            ),
        };
        let outputs = match kind {
            OutputKind::Plaintext => {
                let mut values: Option<&Vec<String>> = None;
                for (i, r) in results.iter().enumerate() {
                    let GameOutput::Plaintext { values: v } = &r.output else {
                        return Err(wrong_kind(i, &r.output));
                    };
                    match values {
                        None => values = Some(v),
                        Some(first) if first != v => {
                            return Err(ClientError::Disagreement {
                                what: format!("the plaintext outputs of game {game_id} (party 0 and party {i} differ)"),
                            })
                        }
                        Some(_) => {}
                    }
                }
                Outputs::Plaintext(values.cloned().unwrap_or_default())
            }
            OutputKind::SecretShare => {
                let mut deliveries = Vec::with_capacity(results.len());
                for (i, r) in results.iter().enumerate() {
                    let GameOutput::SecretShare { delivery } = &r.output else {
                        return Err(wrong_kind(i, &r.output));
                    };
                    deliveries.push(delivery.clone());
                }
                let rid = deliveries[0].request_id;
                Outputs::Shares(self.verified(&deliveries, rid, None)?)
            }
            OutputKind::AmphoraSecret => {
                let mut ids: Option<&Vec<Uuid>> = None;
                for (i, r) in results.iter().enumerate() {
                    let GameOutput::AmphoraSecret { ids: v } = &r.output else {
                        return Err(wrong_kind(i, &r.output));
                    };
                    match ids {
                        None => ids = Some(v),
                        Some(first) if first != v => {
                            return Err(ClientError::Disagreement {
                                what: format!("the ids of the stored outputs of game {game_id} (party 0 and party {i} differ)"),
                            })
                        }
                        Some(_) => {}
                    }
                }
                Outputs::Secrets(ids.cloned().unwrap_or_default())
            }
        };
        let program_hash = first.program_hash.clone();
        let printed = first.printed.clone();
        Ok(ExecutionResult {
            game_id: game_id.to_string(),
            program_hash,
            outputs,
            printed,
            stats: results.into_iter().map(|r| r.stats).collect(),
        })
    }
}

fn output_kind(o: &GameOutput) -> OutputKind {
    match o {
        GameOutput::Plaintext { .. } => OutputKind::Plaintext,
        GameOutput::SecretShare { .. } => OutputKind::SecretShare,
        GameOutput::AmphoraSecret { .. } => OutputKind::AmphoraSecret,
    }
}

/// The wire name of an output kind (`PLAINTEXT`, …).
pub fn kind_name(k: OutputKind) -> &'static str {
    match k {
        OutputKind::Plaintext => "PLAINTEXT",
        OutputKind::SecretShare => "SECRETSHARE",
        OutputKind::AmphoraSecret => "AMPHORASECRET",
    }
}
