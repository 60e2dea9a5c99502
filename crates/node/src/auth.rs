//! Bearer tokens. (helper: being written)

/// The configured tokens.
#[derive(Default)]
pub struct Tokens {}
