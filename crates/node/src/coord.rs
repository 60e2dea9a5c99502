//! How the parties agree on a request: party 0 decides, the others follow, over gateway channels.
// (being written)

/// Placeholder until `net::Gateway` lands.
#[derive(Clone)]
pub struct GatewayPlaceholder;
