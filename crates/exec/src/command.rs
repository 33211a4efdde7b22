//! Command-line classification, sans I/O: run an (already macro-expanded) command line
//! directly when plain whitespace splitting gives exactly the argv `/bin/sh -c` would give,
//! and through `/bin/sh -c` otherwise.
//!
//! Nagios 4 does the same (`lib/runcmd.c:runcmd_cmd2strv()`), but parses quotes and
//! backslashes itself. Picket is more conservative: anything the shell could interpret
//! differently from a whitespace split goes to the shell, so the direct path can never
//! change a command's meaning. A line goes to the shell when it contains
//!
//! * any of `| & ; < > ( ) $ \` \\ " '` (pipes, job control, redirections, subshells,
//!   expansions, escapes, quotes) or `* ? [` (globs), anywhere;
//! * a newline or any other control character except tab;
//! * `#` or `~` at the start of a word (comment, tilde expansion);
//! * `=` in the first word (a variable assignment such as `LANG=C cmd`);
//! * a shell reserved word or `{`/`}`/`!` as the first word (`if`, `while`, `!`, …).
//!
//! Everything else (e.g. `/usr/lib/nagios/plugins/check_ping -H 127.0.0.1 -w 100,20% -c 500,60%`)
//! is split on spaces and tabs and executed directly, which saves a shell per check.
//! Plugin output is never part of a command line here; macro values are the engine's
//! business (it strips `illegal_macro_output_chars` before expansion).

use thiserror::Error;

/// How to run one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Execute `argv[0]` (looked up in `PATH` when it has no `/`) with these arguments.
    Direct(Vec<String>),
    /// Run `/bin/sh -c <line>`.
    Shell(String),
}

impl CommandLine {
    /// The program and arguments to execute.
    pub fn argv(&self) -> Vec<&str> {
        match self {
            CommandLine::Direct(v) => v.iter().map(String::as_str).collect(),
            CommandLine::Shell(line) => vec![SHELL, "-c", line.as_str()],
        }
    }

    /// True when the line goes through `/bin/sh -c`.
    pub fn uses_shell(&self) -> bool {
        matches!(self, CommandLine::Shell(_))
    }
}

/// The shell used for lines that need one.
pub const SHELL: &str = "/bin/sh";

/// A command line that cannot be run at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// The line is empty or only whitespace.
    #[error("empty command line")]
    Empty,
    /// The line contains a NUL byte, which no argv can carry.
    #[error("command line contains a NUL byte")]
    Nul,
}

const ALWAYS_SHELL: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', '*', '?', '[',
];

const RESERVED_FIRST_WORDS: &[&str] = &[
    "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if",
    "in", "select", "then", "until", "while", "[[", "]]", "time",
];

fn is_split(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// True when `line` needs `/bin/sh -c` (see the module documentation).
pub fn needs_shell(line: &str) -> bool {
    if line
        .chars()
        .any(|c| ALWAYS_SHELL.contains(&c) || (c.is_control() && c != '\t'))
    {
        return true;
    }
    let mut words = line.split(is_split).filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        if first.contains('=') || RESERVED_FIRST_WORDS.contains(&first) || special_start(first) {
            return true;
        }
    }
    words.any(special_start)
}

fn special_start(word: &str) -> bool {
    word.starts_with('#') || word.starts_with('~')
}

/// Classifies a macro-expanded command line.
pub fn classify(line: &str) -> Result<CommandLine, CommandError> {
    if line.contains('\0') {
        return Err(CommandError::Nul);
    }
    if line.trim_matches([' ', '\t']).is_empty() {
        return Err(CommandError::Empty);
    }
    if needs_shell(line) {
        return Ok(CommandLine::Shell(line.to_owned()));
    }
    Ok(CommandLine::Direct(
        line.split(is_split)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(line: &str) -> Vec<String> {
        match classify(line) {
            Ok(CommandLine::Direct(v)) => v,
            other => panic!("{line:?} should run directly, got {other:?}"),
        }
    }

    fn shell(line: &str) {
        assert_eq!(
            classify(line),
            Ok(CommandLine::Shell(line.to_owned())),
            "{line:?} should need a shell"
        );
    }

    #[test]
    fn plain_plugin_lines_run_directly() {
        assert_eq!(
            direct(
                "/usr/lib/nagios/plugins/check_ping -H 127.0.0.1 -w 100.0,20% -c 500.0,60% -p 5"
            ),
            [
                "/usr/lib/nagios/plugins/check_ping",
                "-H",
                "127.0.0.1",
                "-w",
                "100.0,20%",
                "-c",
                "500.0,60%",
                "-p",
                "5"
            ]
        );
        assert_eq!(direct("/bin/true"), ["/bin/true"]);
        assert_eq!(
            direct("  check_load\t-w 5,4,3  "),
            ["check_load", "-w", "5,4,3"]
        );
        assert_eq!(
            direct("/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /"),
            [
                "/usr/lib/nagios/plugins/check_disk",
                "-w",
                "20%",
                "-c",
                "10%",
                "-p",
                "/"
            ]
        );
        // `=`, `#`, `~` inside later words are literal for the shell too.
        assert_eq!(
            direct("check_http -u /a=b#c~d --opt=x"),
            ["check_http", "-u", "/a=b#c~d", "--opt=x"]
        );
        assert_eq!(
            direct("cmd a{b,c} x]y @ %"),
            ["cmd", "a{b,c}", "x]y", "@", "%"]
        );
    }

    #[test]
    fn metacharacters_need_a_shell() {
        for line in [
            "a | b",
            "a|b",
            "a & b",
            "a && b",
            "a; b",
            "a < in",
            "a > out",
            "a 2>&1",
            "(a)",
            "a $(b)",
            "echo $HOME",
            "echo ${X}",
            "echo `id`",
            "echo a\\ b",
            "check_dummy 3 \"check_none should never run\"",
            "echo 'quoted'",
            "ls *",
            "ls ?",
            "ls [ab]",
            "echo a\nb",
            "echo a\rb",
            "a # comment",
            "#comment",
            "ls ~",
            "ls ~/x",
            "LANG=C check_x",
            "A= b",
            "if true",
            "! cmd",
            "{ cmd",
            "while x",
            "time cmd",
        ] {
            shell(line);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(classify(""), Err(CommandError::Empty));
        assert_eq!(classify("  \t "), Err(CommandError::Empty));
        assert_eq!(classify("a\0b"), Err(CommandError::Nul));
    }

    #[test]
    fn argv_of_shell_line() {
        let c = classify("a | b").unwrap();
        assert!(c.uses_shell());
        assert_eq!(c.argv(), ["/bin/sh", "-c", "a | b"]);
        let d = classify("a b").unwrap();
        assert!(!d.uses_shell());
        assert_eq!(d.argv(), ["a", "b"]);
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn direct_words_have_no_specials(line in "[ -~\t\n]{0,40}") {
                if let Ok(CommandLine::Direct(words)) = classify(&line) {
                    prop_assert!(!words.is_empty());
                    for w in &words {
                        prop_assert!(!w.is_empty());
                        prop_assert!(!w.contains(|c: char| ALWAYS_SHELL.contains(&c) || c.is_whitespace()));
                        prop_assert!(!special_start(w));
                    }
                    prop_assert!(!words[0].contains('='));
                    prop_assert_eq!(words.join(" "), line.split([' ', '\t']).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "));
                }
            }
        }
    }
}
