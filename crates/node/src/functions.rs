//! Deployed functions. (helper: being written)

/// The registry of deployed functions.
pub struct FunctionRegistry {}
