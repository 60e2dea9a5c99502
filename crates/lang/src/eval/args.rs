//! Call arguments and helpers for built-in functions to unpack them.

use crate::diagnostics::{type_err, Result};
use crate::values::{Name, Value};

pub struct Args<'a> {
    pub pos: Vec<Value<'a>>,
    pub kw: Vec<(Name, Value<'a>)>,
}

impl<'a> Args<'a> {
    pub fn new(pos: Vec<Value<'a>>) -> Args<'a> {
        Args {
            pos,
            kw: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos.is_empty() && self.kw.is_empty()
    }

    /// Removes and returns keyword `name`.
    pub fn take_kw(&mut self, name: &str) -> Option<Value<'a>> {
        let i = self.kw.iter().position(|(k, _)| &**k == name)?;
        Some(self.kw.remove(i).1)
    }

    /// Positional argument `i`, or keyword `name` (for parameters that may be either).
    pub fn arg(&mut self, i: usize, name: &str) -> Option<Value<'a>> {
        if let Some(v) = self.take_kw(name) {
            return Some(v);
        }
        self.pos.get(i).cloned()
    }

    pub fn req(&mut self, i: usize, name: &str, func: &str) -> Result<Value<'a>> {
        self.arg(i, name).ok_or_else(|| {
            type_err(format!(
                "{func}() missing required argument '{name}' (pos {})",
                i + 1
            ))
        })
    }

    /// Fails if there are more than `max` positional arguments or unknown keywords left.
    pub fn done(&self, max: usize, func: &str) -> Result<()> {
        if self.pos.len() > max {
            return Err(type_err(format!(
                "{func}() takes at most {max} positional argument(s) ({} given)",
                self.pos.len()
            )));
        }
        if let Some((k, _)) = self.kw.first() {
            return Err(type_err(format!(
                "{func}() got an unexpected keyword argument '{k}'"
            )));
        }
        Ok(())
    }

    /// Drops keywords that are accepted for compatibility but have no effect here.
    pub fn ignore_kw(&mut self, names: &[&str]) {
        self.kw.retain(|(k, _)| !names.contains(&&**k));
    }
}
