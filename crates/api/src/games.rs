//! Function execution: the activation a client POSTs to every party, and the result.
//!
//! `POST /v1/games` takes an [`Activation`] and answers with a [`GameResult`] once the game has
//! ended on this party. The same body (minus `private_input`) goes to every party; the parties
//! compare the program hash, the arguments and the input ids before anything runs.
//!
//! **Carbyne Stack compatibility:** the original's activation JSON
//! `{"amphoraParams": [...], "gameID": "...", "code": "...", "output": {"type": "PLAINTEXT"}}`
//! parses as an [`Activation`] too, and `POST /` answers it with the original's
//! `{"response": [...]}` ([`CarbyneResult`]).

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::secrets::{OutputDelivery, Tag};

/// How a game's outputs come back. The outputs are the values the program writes to client
/// sockets (`write_to_socket`), in write order, flattened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum OutputKind {
    /// The values are opened (after the MAC check) and returned in clear to the caller.
    #[default]
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
    /// Each party returns its shares through the output-delivery protocol; the client adds them
    /// up and verifies them. No party sees the result.
    #[serde(rename = "SECRETSHARE")]
    SecretShare,
    /// The values are stored as a new secret on every party; its id is returned.
    #[serde(rename = "AMPHORASECRET")]
    AmphoraSecret,
}

impl OutputKind {
    /// Parses the names the original and our CLI use, in any case: `PLAINTEXT`, `SECRETSHARE`
    /// (`SHARES`, `SECRET_SHARE`), `AMPHORASECRET` (`SECRET`, `STORED`).
    pub fn parse(s: &str) -> Option<OutputKind> {
        match s.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "PLAINTEXT" | "PLAIN" | "CLEAR" => Some(OutputKind::Plaintext),
            "SECRETSHARE" | "SHARES" | "SHARE" => Some(OutputKind::SecretShare),
            "AMPHORASECRET" | "SECRET" | "STORED" => Some(OutputKind::AmphoraSecret),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for OutputKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OutputKind, D::Error> {
        let s = String::deserialize(d)?;
        OutputKind::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown output type {s:?}; use PLAINTEXT, SECRETSHARE or AMPHORASECRET"
            ))
        })
    }
}

/// The output mode and, for stored outputs, the new secret's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutputSpec {
    #[serde(rename = "type")]
    pub kind: OutputKind,
    /// Tags of the stored output secret (AMPHORASECRET only); the node adds `gameID`,
    /// `derived-from` and the owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// A request to run a program on every party.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activation {
    /// Names the game on every party. Optional: without one, the node derives it from the request
    /// (clients normally choose a fresh UUID so that all parties agree). A running game's id is
    /// refused.
    #[serde(default, alias = "gameID", alias = "gameId")]
    pub game_id: Option<String>,
    /// The program source (MP-SPDZ dialect). Exactly one of `code` and `function`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A deployed function: `name` (its latest version) or `name@version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Compile-time arguments (`program.args`), part of the program hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Input secrets. Their shares, flattened in this order, are the first message the program
    /// reads from its first client socket (`sint.read_from_socket`), as in the original.
    #[serde(default, alias = "amphoraParams")]
    pub inputs: Vec<Uuid>,
    #[serde(default)]
    pub output: OutputSpec,
    /// Public input (`public_input()`), the same on every party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_input: Option<String>,
    /// This party's private input (`sint.get_input_from(p)` at party p), whitespace-separated
    /// numbers. Sent to that party only; not compared between parties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_input: Option<String>,
}

/// Run statistics of one party.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GameStats {
    /// Communication rounds of the game.
    pub rounds: u64,
    pub bytes_sent: u64,
    /// Wall time on this party from the request to the answer.
    pub elapsed_ms: f64,
    /// Time spent waiting for the other parties to join.
    pub join_ms: f64,
    /// Whether the compile cache had the program.
    pub cache_hit: bool,
    pub triples: u64,
    pub bits: u64,
    pub squares: u64,
    pub inverses: u64,
}

/// What came out of a game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum GameOutput {
    /// The opened outputs, as signed decimal integers (a field element above p/2 is shown as its
    /// negative representative, as MP-SPDZ prints it).
    #[serde(rename = "PLAINTEXT")]
    Plaintext { values: Vec<String> },
    /// This party's output-delivery shares of the outputs.
    #[serde(rename = "SECRETSHARE")]
    SecretShare { delivery: OutputDelivery },
    /// The stored output secrets.
    #[serde(rename = "AMPHORASECRET")]
    AmphoraSecret { ids: Vec<Uuid> },
}

/// The answer of one party to an activation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GameResult {
    pub game_id: String,
    pub party: usize,
    /// BLAKE3 of the compiled program, hex; the same on every party.
    pub program_hash: String,
    pub output: GameOutput,
    /// What the program printed (`print_ln`): every party prints it, and the parties check that
    /// their texts are identical before any of them answers.
    pub printed: String,
    /// What the program printed to this party alone (`print_ln_to(party, …)`); not compared.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub printed_private: String,
    pub stats: GameStats,
}

/// The original's answer: `{"response": [...]}`, one string per output element:
/// - PLAINTEXT: base64 of the decimal string of the value (0 ≤ value < p);
/// - SECRETSHARE: base64 of this party's 16-byte value share (never the MAC share);
/// - AMPHORASECRET: the stored secret's id.
///
/// A bare value share cannot be verified: a cheating party can hand out any number. So a
/// SECRETSHARE answer also carries `delivery`, this party's part of the output-delivery protocol
/// (ePrint 2015/1006: s, r, v, w, u), with which a client checks w = s·r and u = v·r across
/// the parties' answers as our SDK does. Only SECRETSHARE answers have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarbyneResult {
    pub response: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<OutputDelivery>,
}

/// Where a game is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GameStatus {
    /// Waiting for all parties to register.
    Registering,
    /// Every party joined; party 0 is generating the tuples the game needs (see
    /// [`GameSummary::preprocessing`]). No receive deadline runs out while it does.
    WaitingForTuples,
    Running,
    Succeeded,
    Failed,
}

/// A game as discovery knows it (`GET /v1/games/{id}`; finished games are forgotten after a grace
/// period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GameSummary {
    pub game_id: String,
    pub status: GameStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_hash: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last progress report of the game's preprocessing, while it waited for tuples (kept
    /// once the game runs, so that a client sees what the wait cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<PrepProgress>,
}

/// How far the preprocessing a game waits for has come. Party 0 measures it and sends it to
/// every other party, so all parties report the same figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PrepProgress {
    /// Tuples the game still lacked when it started waiting (all kinds).
    pub needed: u64,
    /// Of those, how many have been generated so far.
    pub made: u64,
    /// Estimated seconds until the rest is made, at the rate seen so far (absent before the
    /// first job ends). Always serialized (`null` when unknown): the parties also send this
    /// struct to each other in a non-self-describing encoding, where a skipped field would
    /// misalign the rest.
    #[serde(default)]
    pub eta_secs: Option<f64>,
    /// The kind being generated now (`triple`, `bit`, ...).
    pub kind: String,
    /// Seconds waited so far.
    pub waited_secs: f64,
}

impl Eq for PrepProgress {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reports_round_trip_in_json_with_and_without_an_eta() {
        for eta in [None, Some(2.5)] {
            let p = PrepProgress {
                needed: 100,
                made: 40,
                eta_secs: eta,
                kind: "triple".into(),
                waited_secs: 1.0,
            };
            let json = serde_json::to_string(&p).unwrap();
            assert!(json.contains("\"eta_secs\""), "{json}");
            assert_eq!(serde_json::from_str::<PrepProgress>(&json).unwrap(), p);
        }
    }

    #[test]
    fn carbyne_activation_parses() {
        let json = r#"{"amphoraParams":["7b5e3c56-1f7b-4f45-9a3c-0a0d6f1b2c3d"],
            "secretParams":[],"gameID":"g1","code":"print_ln('x')",
            "output":{"type":"amphorasecret"}}"#;
        let a: Activation = serde_json::from_str(json).unwrap();
        assert_eq!(a.game_id.as_deref(), Some("g1"));
        assert_eq!(a.inputs.len(), 1);
        assert_eq!(a.output.kind, OutputKind::AmphoraSecret);
        let b: Activation = serde_json::from_str(r#"{"gameId":"g2","code":"x"}"#).unwrap();
        assert_eq!(b.game_id.as_deref(), Some("g2"));
        assert_eq!(b.output.kind, OutputKind::Plaintext);
    }

    #[test]
    fn unknown_output_type_names_the_choices() {
        let err = serde_json::from_str::<Activation>(r#"{"code":"x","output":{"type":"CSV"}}"#)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("PLAINTEXT, SECRETSHARE or AMPHORASECRET"));
    }

    #[test]
    fn output_serializes_tagged() {
        let o = GameOutput::Plaintext {
            values: vec!["-3".into()],
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"type":"PLAINTEXT","values":["-3"]}"#
        );
    }
}
