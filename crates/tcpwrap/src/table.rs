//! Reading `hosts.allow` / `hosts.deny`: logical lines, comments, fields and lists.
//!
//! This is `misc.c:xgets()`, `misc.c:split_at()` and the line handling of
//! `hosts_access.c:table_match()` as Debian 7.6.q-32 has them (spec §2):
//!
//! * physical lines are read into a 2048-byte buffer (`BUFLEN`); backslash + newline joins
//!   the next physical line without inserting anything; backslash + CR + LF does not;
//! * a logical line that does not end in a newline (last line of the file, or 2047 bytes and
//!   more) is "broken": Debian stops reading the table there (fail-closed for hosts.deny);
//! * the line number is the number of newlines read so far (0 for a broken first line);
//! * a line is a comment only when its **first byte** is `#`; blank = only space, tab, CR, LF;
//! * fields are split at the first two `:` outside `[...]`; everything after the second `:`
//!   (more colons and the final newline included) is the option string;
//! * lists are split on any run of `", \t\r\n"` (`strtok`).
//!
//! Parsing never fails: every problem is an [`Entry`] that the evaluator reports when (and
//! only if) it reaches it, exactly like the line-at-a-time C reader.

use serde::Serialize;

/// Size of libwrap's line buffer (`BUFLEN` in `hosts_access.c`).
pub const BUFLEN: usize = 2048;

/// The separators `strtok()` uses to split daemon and client lists.
pub const LIST_SEPARATORS: &[char] = &[',', ' ', '\t', '\r', '\n'];

/// Which of the two tables a rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableKind {
    /// `hosts.allow`: searched first; a match grants unless an option says otherwise.
    Allow,
    /// `hosts.deny`: searched second; a match denies unless an option says otherwise.
    Deny,
}

impl TableKind {
    /// `"hosts.allow"` or `"hosts.deny"`.
    #[must_use]
    pub fn file_name(self) -> &'static str {
        match self {
            TableKind::Allow => "hosts.allow",
            TableKind::Deny => "hosts.deny",
        }
    }
}

/// One rule: `daemon_list : client_list [ : options ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Line number as libwrap counts it (the last physical line of a joined line).
    pub line: u32,
    /// The daemon list, split into words.
    pub daemons: Vec<String>,
    /// The client list, split into words.
    pub clients: Vec<String>,
    /// The raw option string (everything after the second field separator, including the
    /// line's final newline), if there is one.
    pub options: Option<String>,
}

/// One logical line of a table, as the evaluator will meet it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// A rule.
    Rule(Rule),
    /// A non-blank, non-comment line without `:`: warned about and skipped.
    MissingColon {
        /// Line number.
        line: u32,
    },
    /// A line without a final newline or of 2047+ bytes: Debian ignores the rest of the
    /// table and the table's result is "error" (hosts.deny: deny).
    Broken {
        /// Line number (newlines read so far, so 0 for the first line).
        line: u32,
    },
}

/// What the caller found when it tried to read a table file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableState {
    /// The file does not exist (`ENOENT`): an empty table, silently.
    Missing,
    /// The file exists but cannot be read: `cannot open FILE: %m`; hosts.deny then denies.
    Unreadable(String),
    /// The parsed logical lines that matter (comments and blank lines are dropped).
    Parsed(Vec<Entry>),
}

/// A parsed table with the path it is reported under (`matched:  PATH line N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The path as shown in diagnostics (`hosts.allow` with `-d`, else `/etc/hosts.allow`).
    pub path: String,
    /// The parsed content, or why there is none.
    pub state: TableState,
}

impl Table {
    /// Parses the bytes of a table file.
    #[must_use]
    pub fn parse(path: impl Into<String>, data: &[u8]) -> Self {
        Table {
            path: path.into(),
            state: TableState::Parsed(parse_entries(data)),
        }
    }

    /// A table whose file does not exist.
    #[must_use]
    pub fn missing(path: impl Into<String>) -> Self {
        Table {
            path: path.into(),
            state: TableState::Missing,
        }
    }

    /// A table whose file could not be opened; `error` is the `strerror()` text.
    #[must_use]
    pub fn unreadable(path: impl Into<String>, error: impl Into<String>) -> Self {
        Table {
            path: path.into(),
            state: TableState::Unreadable(error.into()),
        }
    }

    /// The entries, empty for a missing or unreadable file.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        match &self.state {
            TableState::Parsed(e) => e,
            _ => &[],
        }
    }
}

/// A logical line before field splitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicalLine {
    /// A complete line; `text` ends in `\n`.
    Line {
        /// The text, continuation sequences removed, final newline kept.
        text: String,
        /// Line number (newlines read so far).
        line: u32,
    },
    /// A line without final newline, or too long (see [`Entry::Broken`]).
    Broken {
        /// Line number (newlines read so far).
        line: u32,
    },
}

/// Splits `data` into logical lines like `xgets()` with Debian's `fix_parsing_long_lines`.
/// Reading stops at the first broken line (nothing after it is ever looked at).
#[must_use]
pub fn logical_lines(data: &[u8]) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut lineno = 0u32;
    'lines: while pos < data.len() {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            // fgets(ptr, len, fp) with len = BUFLEN - used: at most len - 1 bytes, up to '\n'.
            let room = (BUFLEN - buf.len()).saturating_sub(1);
            let avail = &data[pos..data.len().min(pos + room)];
            let nl = avail.iter().position(|&b| b == b'\n');
            let chunk = match nl {
                Some(i) => &avail[..=i],
                None => avail,
            };
            pos += chunk.len();
            // A NUL byte makes strlen() stop early: the chunk then never ends in a newline.
            let complete = nl.is_some() && !chunk.contains(&0);
            if !complete {
                if chunk.is_empty() && buf.is_empty() {
                    break 'lines;
                }
                out.push(LogicalLine::Broken { line: lineno });
                break 'lines;
            }
            lineno = lineno.saturating_add(1);
            let n = chunk.len();
            if n >= 2 && chunk[n - 2] == b'\\' {
                buf.extend_from_slice(&chunk[..n - 2]);
                if pos >= data.len() {
                    // EOF right after a continuation: the line has no newline.
                    out.push(LogicalLine::Broken { line: lineno });
                    break 'lines;
                }
                continue;
            }
            buf.extend_from_slice(chunk);
            out.push(LogicalLine::Line {
                text: String::from_utf8_lossy(&buf).into_owned(),
                line: lineno,
            });
            break;
        }
    }
    out
}

/// Parses table bytes into entries (comments and blank lines dropped).
#[must_use]
pub fn parse_entries(data: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for l in logical_lines(data) {
        match l {
            LogicalLine::Broken { line } => entries.push(Entry::Broken { line }),
            LogicalLine::Line { text, line } => {
                if let Some(e) = parse_line(&text, line) {
                    entries.push(e);
                }
            }
        }
    }
    entries
}

/// Parses one logical line (with its final newline). `None` for comments and blank lines.
#[must_use]
pub fn parse_line(text: &str, line: u32) -> Option<Entry> {
    if text.starts_with('#') || is_blank(text) {
        return None;
    }
    let Some((daemons, rest)) = split_at(text, ':') else {
        return Some(Entry::MissingColon { line });
    };
    let (clients, options) = match split_at(rest, ':') {
        Some((c, o)) => (c, Some(o.to_string())),
        None => (rest, None),
    };
    Some(Entry::Rule(Rule {
        line,
        daemons: split_list(daemons),
        clients: split_list(clients),
        options,
    }))
}

/// `strspn(s, " \t\r\n") == strlen(s)`.
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Splits a list the way `strtok(list, ", \t\r\n")` does.
#[must_use]
pub fn split_list(s: &str) -> Vec<String> {
    s.split(LIST_SEPARATORS)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `split_at()` with Debian's IPv6 patch: the first `delim` that is not inside `[...]`
/// (bracket depth counted, not validated; `[` and `]` are never delimiters).
#[must_use]
pub fn split_at(s: &str, delim: char) -> Option<(&str, &str)> {
    let mut depth: i64 = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if depth == 0 && c == delim => return Some((&s[..i], &s[i + c.len_utf8()..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &str) -> Vec<LogicalLine> {
        logical_lines(data.as_bytes())
    }

    #[test]
    fn continuation_joins_and_counts_last_line() {
        let l = lines("a,\\\nb: c\n");
        assert_eq!(
            l,
            vec![LogicalLine::Line {
                text: "a,b: c\n".into(),
                line: 2
            }]
        );
    }

    #[test]
    fn backslash_crlf_is_not_a_continuation() {
        let l = lines("a: \\\r\nb\n");
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[0],
            LogicalLine::Line {
                text: "a: \\\r\n".into(),
                line: 1
            }
        );
    }

    #[test]
    fn missing_final_newline_is_broken_with_line_count() {
        assert_eq!(lines("ALL: x"), vec![LogicalLine::Broken { line: 0 }]);
        let l = lines("a: b\nc: d");
        assert_eq!(l[1], LogicalLine::Broken { line: 1 });
        assert_eq!(lines("a: b\\\n"), vec![LogicalLine::Broken { line: 1 }]);
    }

    #[test]
    fn line_length_limit_is_2047_bytes_with_newline() {
        let ok = format!("ALL: {}\n", "x".repeat(2046 - 5));
        assert!(matches!(
            logical_lines(ok.as_bytes())[0],
            LogicalLine::Line { .. }
        ));
        let long = format!("ALL: {}\n", "x".repeat(2047 - 5));
        assert_eq!(
            logical_lines(long.as_bytes()),
            vec![LogicalLine::Broken { line: 0 }]
        );
    }

    #[test]
    fn comments_only_in_column_one() {
        assert_eq!(parse_line("# a: b\n", 1), None);
        let Some(Entry::Rule(r)) = parse_line("  # a: b\n", 1) else {
            panic!("not a rule")
        };
        assert_eq!(r.daemons, vec!["#", "a"]);
        assert_eq!(parse_line(" \t\r\n", 1), None);
        assert_eq!(
            parse_line("foo\n", 3),
            Some(Entry::MissingColon { line: 3 })
        );
    }

    #[test]
    fn fields_split_outside_brackets_and_options_keep_colons() {
        let Some(Entry::Rule(r)) = parse_line("sshd: [::1] [fe80::]/64: spawn a\\:b: allow\n", 1)
        else {
            panic!("not a rule")
        };
        assert_eq!(r.clients, vec!["[::1]", "[fe80::]/64"]);
        assert_eq!(r.options.as_deref(), Some(" spawn a\\:b: allow\n"));
        let Some(Entry::Rule(r)) = parse_line("ALL: ::1\n", 1) else {
            panic!("not a rule")
        };
        assert!(r.clients.is_empty());
        assert_eq!(r.options.as_deref(), Some(":1\n"));
    }

    #[test]
    fn list_separators() {
        assert_eq!(split_list(" a,b\t,, c\r\n"), vec!["a", "b", "c"]);
    }
}
