//! Diagnostics as libwrap writes them (`diag.c`): `warning: FILE, line N: …`,
//! `error: FILE, line N: …` and the debug lines `matched:` / `option:`.

use serde::Serialize;

/// Syslog level of a diagnostic line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Level {
    /// LOG_ERR: `warning:` and `error:` lines.
    Err,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO: e.g. `aclexec returned 1`.
    Info,
    /// LOG_DEBUG: `matched:` and `option:` lines.
    Debug,
}

/// One diagnostic line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Syslog level.
    pub level: Level,
    /// The text, e.g. `warning: hosts.deny, line 3: missing ":" separator`.
    pub text: String,
}

/// The ordered diagnostics of one evaluation, with libwrap's `tcpd_context` (file, line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    lines: Vec<LogLine>,
    context: Option<(String, u32)>,
}

impl Diagnostics {
    /// All lines so far.
    #[must_use]
    pub fn lines(&self) -> &[LogLine] {
        &self.lines
    }

    /// Takes the lines out.
    pub fn take(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.lines)
    }

    /// Sets the file/line context used as `FILE, line N:` prefix (None = no prefix).
    pub fn set_context(&mut self, ctx: Option<(String, u32)>) {
        self.context = ctx;
    }

    /// Sets the context to `file`, line `line`, reusing the stored file name when it is the
    /// same (evaluation sets it for every rule).
    pub fn set_line(&mut self, file: &str, line: u32) {
        match &mut self.context {
            Some((f, l)) if f == file => *l = line,
            _ => self.context = Some((file.to_string(), line)),
        }
    }

    /// The current context.
    #[must_use]
    pub fn context(&self) -> Option<&(String, u32)> {
        self.context.as_ref()
    }

    fn tagged(&self, tag: &str, msg: &str) -> String {
        match &self.context {
            Some((file, line)) => format!("{tag}: {file}, line {line}: {msg}"),
            None => format!("{tag}: {msg}"),
        }
    }

    /// `tcpd_warn()`.
    pub fn warn(&mut self, msg: impl AsRef<str>) {
        let text = self.tagged("warning", msg.as_ref());
        self.lines.push(LogLine {
            level: Level::Err,
            text,
        });
    }

    /// The message part of `tcpd_jump()` (the caller then denies).
    pub fn error(&mut self, msg: impl AsRef<str>) {
        let text = self.tagged("error", msg.as_ref());
        self.lines.push(LogLine {
            level: Level::Err,
            text,
        });
    }

    /// A plain line at `level`.
    pub fn push(&mut self, level: Level, text: String) {
        self.lines.push(LogLine { level, text });
    }
}
