//! The HTTP API. (helper: being written)
