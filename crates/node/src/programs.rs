//! The compile cache. (helper: being written)

/// Compiled programs by hash of source, arguments and parameters.
#[derive(Default)]
pub struct ProgramCache {}
