//! Bearer tokens. (helper: being written)

/// The configured tokens.
#[derive(Default)]
pub struct Tokens {}

impl Tokens {
    pub fn from_config(_cfg: &crate::config::NodeConfig) -> Result<Tokens, crate::config::ConfigError> {
        Ok(Tokens {})
    }
}
