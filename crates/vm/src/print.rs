//! Printing, deferred until the values are opened.
//!
//! A `print` whose values are all known prints at once. One that shows a value still pending in
//! an opening is queued (with the values captured as they are when the instruction runs), and so
//! is every later print until the next flush, which opens the values and emits the queue in
//! order. So `print_ln('%s', x.reveal())` does not force a round by itself: reveals and prints in
//! a loop share one opening, as MP-SPDZ merges reveals across prints within a basic block.
//!
//! **Architecture Invariant:** printing never decides a flush, except through public counts (the
//! queue length bound), so all parties flush at the same points whether or not they print.

use field::Fp;

use crate::format::format_fix;
use crate::host::Host;
use crate::machine::PendingOpen;
use crate::value::ClearVal;

/// A piece of a queued line.
pub(crate) enum Part {
    Text(String),
    /// Clear values, printed as signed integers, or as fixed point with (f, precision).
    Clear {
        value: ClearVal,
        fix: Option<(u32, u32)>,
    },
    Int(Vec<i64>),
}

/// A line (or part of one) to print.
pub(crate) struct QueuedPrint {
    /// Whether this party shows it.
    pub show: bool,
    /// A `print_ln_to` line: shown at one party only ([`Host::print_private`]).
    pub private: bool,
    pub parts: Vec<Part>,
}

fn list(items: Vec<String>) -> String {
    if items.len() == 1 {
        items.into_iter().next().unwrap_or_default()
    } else {
        format!("[{}]", items.join(", "))
    }
}

fn clear_text(v: &[Fp], fix: Option<(u32, u32)>) -> String {
    list(
        v.iter()
            .map(|x| match fix {
                None => x.to_signed().to_string(),
                Some((f, p)) => format_fix(x.to_signed(), f, p),
            })
            .collect(),
    )
}

impl QueuedPrint {
    /// True when no value is pending.
    pub(crate) fn is_ready(&self) -> bool {
        self.parts.iter().all(|p| {
            !matches!(
                p,
                Part::Clear {
                    value: ClearVal::Pending { .. },
                    ..
                }
            )
        })
    }

    /// Replaces pending values by the results of the openings.
    pub(crate) fn resolve(&mut self, opens: &[PendingOpen]) {
        for p in &mut self.parts {
            if let Part::Clear { value, .. } = p {
                if let ClearVal::Pending { open, .. } = value {
                    let v = opens[*open as usize]
                        .result
                        .clone()
                        .expect("opening performed");
                    *value = ClearVal::Ready(v);
                }
            }
        }
    }

    /// Hands the text to the host if this party shows it; every value must be ready.
    pub(crate) fn emit(&self, host: &mut dyn Host) {
        if !self.show {
            return;
        }
        let text = self.render();
        if self.private {
            host.print_private(&text);
        } else {
            host.print(&text);
        }
    }

    /// The text; every value must be ready.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Clear {
                    value: ClearVal::Ready(v),
                    fix,
                } => s.push_str(&clear_text(v, *fix)),
                Part::Clear { .. } => unreachable!("resolved before rendering"),
                Part::Int(v) => s.push_str(&list(v.iter().map(|x| x.to_string()).collect())),
            }
        }
        s
    }
}
