//! Diagnostics: every problem names a file:line and, where there is one, the object.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in a configuration file (1-based line).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, as it was named by the configuration (`cfg_file`, `cfg_dir` walk, …).
    pub file: Arc<Path>,
    /// 1-based line number; 0 when the problem concerns the file as a whole.
    pub line: u32,
}

impl Location {
    /// A location in `file` at `line`.
    pub fn new(file: &Arc<Path>, line: u32) -> Self {
        Location {
            file: Arc::clone(file),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// How bad a diagnostic is: errors make the configuration invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Accepted, but worth a look (`Total Warnings`).
    Warning,
    /// The configuration is not valid (`Total Errors`).
    Error,
}

/// What kind of problem a diagnostic reports. Stable for tests and tooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A file could not be read.
    Io,
    /// Lexical or structural error in a file (unexpected token, unterminated definition).
    Syntax,
    /// A directive that does not exist for this object type.
    UnknownDirective,
    /// A main-config key Picket does not use or does not know.
    UnusedKey,
    /// A Shinken extension that Picket parses but does not implement.
    Unsupported,
    /// A deprecated construct (extinfo objects, …).
    Deprecated,
    /// `use` names a template that does not exist.
    UnknownTemplate,
    /// A template inherits from itself.
    CircularTemplate,
    /// A name that refers to an object that is not defined.
    Undefined,
    /// The same object defined twice.
    Duplicate,
    /// A required directive is missing.
    Missing,
    /// A value that cannot be parsed (number, option letter, time range, …).
    InvalidValue,
    /// A name with characters from `illegal_object_name_chars`.
    IllegalName,
    /// Circular parent/child, dependency or timeperiod-exclusion chain.
    Circular,
    /// Anything else found by the pre-flight check.
    Check,
}

/// One problem found while loading or checking a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: Kind,
    /// Where it is, when it has a place.
    pub location: Option<Location>,
    /// The object concerned, e.g. `service 'PING' on host 'localhost'`.
    pub object: Option<String>,
    /// The message proper.
    pub message: String,
}

impl Diagnostic {
    /// The text after the `Error: `/`Warning: ` prefix: `file:line: object: message`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(loc) = &self.location {
            s.push_str(&loc.to_string());
            s.push_str(": ");
        }
        if let Some(obj) = &self.object {
            s.push_str(obj);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }

    /// The line as `picket -v` prints it: `Error: file:line: object: message`.
    pub fn line(&self) -> String {
        let prefix = match self.severity {
            Severity::Warning => "Warning",
            Severity::Error => "Error",
        };
        format!("{prefix}: {}", self.render())
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Collects diagnostics in the order they are found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an error.
    pub fn error(
        &mut self,
        kind: Kind,
        location: Option<Location>,
        object: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Error, kind, location, object, message.into());
    }

    /// Add a warning.
    pub fn warning(
        &mut self,
        kind: Kind,
        location: Option<Location>,
        object: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, kind, location, object, message.into());
    }

    fn push(
        &mut self,
        severity: Severity,
        kind: Kind,
        location: Option<Location>,
        object: Option<String>,
        message: String,
    ) {
        self.items.push(Diagnostic {
            severity,
            kind,
            location,
            object,
            message,
        });
    }

    /// Append all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Number of diagnostics.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Drop the diagnostics found after the first `n`.
    pub(crate) fn truncate(&mut self, n: usize) {
        self.items.truncate(n);
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// All diagnostics, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Consume into a vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// Fatal errors of the loader: nothing sensible can be reported past them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The main configuration file could not be read.
    #[error("cannot read main configuration file '{}': {source}", path.display())]
    MainConfig {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration has errors; the diagnostics say which.
    #[error("configuration has {errors} error(s)")]
    Invalid {
        /// Number of errors.
        errors: usize,
        /// Every diagnostic (errors and warnings).
        diagnostics: Vec<Diagnostic>,
    },
}
