//! Compile errors: what went wrong, where (file:line:column with the source line and a caret),
//! and what to do about it.

use std::fmt;

use ruff_text_size::TextRange;

use crate::budgets::BudgetKind;

/// The class of a compile error. Tests and callers match on this; the text is for humans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The source is not valid Python.
    Syntax,
    /// Valid Python, but outside the subset this compiler evaluates.
    Unsupported,
    /// An operation on values of the wrong type (compile-time or run-time types).
    Type,
    /// An undefined name, or a local read before assignment.
    Name,
    /// An unknown attribute or method.
    Attribute,
    /// A bad value (wrong argument, out-of-range constant, unknown format, ...).
    Value,
    /// A compile-time index out of range.
    Index,
    /// A missing dictionary key.
    Key,
    /// Division by zero at compile time.
    ZeroDivision,
    /// A failed `assert` (or an explicit `raise`).
    Assertion,
    /// Python control flow (`if`, `while`, `and`, ...) on a value only known at run time.
    RuntimeBranch,
    /// A resource budget was exceeded.
    Budget(BudgetKind),
    /// A bug in the compiler. Please report it.
    Internal,
}

impl ErrorKind {
    /// Short name shown in the header, e.g. `error[type]`.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Type => "type",
            ErrorKind::Name => "name",
            ErrorKind::Attribute => "attribute",
            ErrorKind::Value => "value",
            ErrorKind::Index => "index",
            ErrorKind::Key => "key",
            ErrorKind::ZeroDivision => "zero-division",
            ErrorKind::Assertion => "assertion",
            ErrorKind::RuntimeBranch => "runtime-branch",
            ErrorKind::Budget(_) => "budget",
            ErrorKind::Internal => "internal",
        }
    }

    /// The Python exception class this kind corresponds to (for `except` clauses).
    pub fn python_class(&self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::Type => "TypeError",
            ErrorKind::Name => "NameError",
            ErrorKind::Attribute => "AttributeError",
            ErrorKind::Value => "ValueError",
            ErrorKind::Index => "IndexError",
            ErrorKind::Key => "KeyError",
            ErrorKind::ZeroDivision => "ZeroDivisionError",
            ErrorKind::Assertion => "AssertionError",
            _ => return None,
        })
    }
}

/// A source position, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A compile error, rendered by `Display` as
///
/// ```text
/// error[runtime-branch]: cannot branch on a secret value with Python `if`
///   --> prog.mpc:3:4
///    |
///  3 | if a < b:
///    |    ^^^^^
///    = help: use `@if_(cond)` / `@if_e(cond)` ... or `cond.if_else(x, y)`
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub kind: ErrorKind,
    pub message: String,
    pub advice: Option<String>,
    pub location: Option<Location>,
    /// The source line the location points into.
    pub source_line: Option<String>,
    /// Caret span on `source_line`: (0-based char column, width in chars).
    pub caret: Option<(usize, usize)>,
    /// Call chain, innermost last ("called from prog.mpc:12:1").
    pub notes: Vec<String>,
}

impl std::error::Error for CompileError {}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error[{}]: {}", self.kind.name(), self.message)?;
        if let Some(loc) = &self.location {
            let ln = loc.line.to_string();
            let pad = " ".repeat(ln.len());
            writeln!(f, "{pad}--> {loc}")?;
            if let Some(line) = &self.source_line {
                writeln!(f, "{pad} |")?;
                writeln!(f, "{ln} | {line}")?;
                if let Some((col, width)) = self.caret {
                    // Keep tabs so the caret lines up with the source line.
                    let lead: String = line
                        .chars()
                        .take(col)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    writeln!(f, "{pad} | {lead}{}", "^".repeat(width.max(1)))?;
                }
            }
            for note in &self.notes {
                writeln!(f, "{pad} = note: {note}")?;
            }
            if let Some(advice) = &self.advice {
                write!(f, "{pad} = help: {advice}")?;
            }
        } else {
            for note in &self.notes {
                writeln!(f, "  = note: {note}")?;
            }
            if let Some(advice) = &self.advice {
                write!(f, "  = help: {advice}")?;
            }
        }
        Ok(())
    }
}

/// The error type used inside the compiler; turned into a [`CompileError`] at the boundary,
/// where the byte range becomes file:line:column.
#[derive(Clone, Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub advice: Option<String>,
    pub range: Option<TextRange>,
    pub notes: Vec<TextRange>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            advice: None,
            range: None,
            notes: Vec::new(),
        }
    }
    pub fn with_advice(mut self, advice: impl Into<String>) -> Error {
        self.advice = Some(advice.into());
        self
    }
    pub fn at(mut self, range: TextRange) -> Error {
        if self.range.is_none() {
            self.range = Some(range);
        }
        self
    }
    /// True for errors a Python `try/except` may catch (not budgets, syntax, internal errors).
    pub fn catchable(&self) -> bool {
        self.kind.python_class().is_some()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! err_ctor {
    ($name:ident, $kind:ident) => {
        pub fn $name(message: impl Into<String>) -> Error {
            Error::new(ErrorKind::$kind, message)
        }
    };
}
err_ctor!(type_err, Type);
err_ctor!(value_err, Value);
err_ctor!(unsupported, Unsupported);
err_ctor!(name_err, Name);
err_ctor!(attr_err, Attribute);
err_ctor!(index_err, Index);
err_ctor!(key_err, Key);
err_ctor!(internal, Internal);

/// What to do, for errors raised without specific advice.
fn default_advice(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::Type => "check the types of the values involved; docs/LANG.md lists the operations each type supports",
        ErrorKind::Name => "define the name before using it, or check its spelling",
        ErrorKind::Attribute => "check the attribute name; docs/LANG.md lists the supported MP-SPDZ API",
        ErrorKind::Index => "use an index inside the sequence (0 <= i < len)",
        ErrorKind::Key => "check that the key is in the dict, or use dict.get(key, default)",
        ErrorKind::Value => "check the argument values",
        ErrorKind::ZeroDivision => "make sure the divisor is not zero",
        ErrorKind::Assertion => "the program's own assertion failed at compile time",
        ErrorKind::Unsupported => "this construct is outside the supported subset; see docs/LANG.md",
        ErrorKind::Internal => "this is a compiler bug; please report it with the program",
        _ => return None,
    })
}

/// Maps byte offsets to 1-based line/column, and renders errors.
pub struct SourceMap<'a> {
    pub file: &'a str,
    pub src: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    pub fn new(file: &'a str, src: &'a str) -> SourceMap<'a> {
        let mut line_starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        SourceMap {
            file,
            src,
            line_starts,
        }
    }

    /// 0-based line index containing byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    fn line_text(&self, line: usize) -> &'a str {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.src.len());
        self.src[start..end].trim_end_matches(['\n', '\r'])
    }

    /// "file:line:col" for a byte offset.
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.src.len());
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let col = self.src[start..offset].chars().count();
        Location {
            file: self.file.to_string(),
            line: line as u32 + 1,
            column: col as u32 + 1,
        }
    }

    pub fn render(&self, e: Error) -> CompileError {
        let advice = e
            .advice
            .or_else(|| default_advice(e.kind).map(String::from));
        let mut out = CompileError {
            kind: e.kind,
            message: e.message,
            advice,
            location: None,
            source_line: None,
            caret: None,
            notes: e
                .notes
                .iter()
                .map(|r| format!("called from {}", self.location(r.start().to_usize())))
                .collect(),
        };
        if let Some(range) = e.range {
            let start = range.start().to_usize().min(self.src.len());
            let end = range.end().to_usize().clamp(start, self.src.len());
            let loc = self.location(start);
            let line = self.line_index(start);
            let text = self.line_text(line);
            let line_start = self.line_starts[line];
            let line_end = line_start + text.len();
            let col = self.src[line_start..start].chars().count();
            let width = self.src[start..end.min(line_end).max(start)]
                .chars()
                .count();
            out.location = Some(loc);
            // Show a window of long lines around the caret.
            const WINDOW: usize = 120;
            let chars: Vec<char> = text.chars().collect();
            if chars.len() > WINDOW {
                let from = col
                    .saturating_sub(40)
                    .min(chars.len().saturating_sub(WINDOW));
                let to = (from + WINDOW).min(chars.len());
                let mut shown: String = chars[from..to].iter().collect();
                let mut c = col - from;
                if from > 0 {
                    shown = format!("...{shown}");
                    c += 3;
                }
                if to < chars.len() {
                    shown.push_str("...");
                }
                let w = width.min(to.saturating_sub(col)).max(1);
                out.source_line = Some(shown);
                out.caret = Some((c, w));
            } else {
                out.source_line = Some(text.to_string());
                out.caret = Some((col, width.max(1)));
            }
        }
        out
    }
}
