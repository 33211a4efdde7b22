//! Plugin output: unescaping of passive results and the short / long / perfdata split
//! of `checks.c:parse_check_output()` (Nagios 4.4.6), byte for byte.

/// A parsed plugin output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedOutput {
    /// First line up to the first `|`, trimmed, `;` replaced by `:`; never empty
    /// (`(No output returned from plugin)`).
    pub short: String,
    /// Lines 2.. up to the line holding a `|`, with newlines and backslashes escaped
    /// (`\n`, `\\`), as `$LONGSERVICEOUTPUT$` shows them.
    pub long: String,
    /// All perfdata pieces joined by spaces, trimmed.
    pub perf: String,
}

/// The text Nagios stores when a plugin printed nothing.
pub const NO_OUTPUT: &str = "(No output returned from plugin)";

/// `unescape_check_result_output()`: `\n` becomes a newline and `\\` a backslash; any
/// other backslash is kept.
pub fn unescape_passive(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.peek() {
                Some('n') => {
                    it.next();
                    out.push('\n');
                }
                Some('\\') => {
                    it.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn strip(s: &str) -> &str {
    s.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r')
}

/// Split a (newline-unescaped) plugin output as Nagios does.
pub fn parse_output(buf: &str) -> ParsedOutput {
    let mut short: Option<&str> = None;
    let mut long = String::new();
    let mut perf = String::new();
    let mut in_perf = false;
    let mut perf_only = false;
    for (i, line) in buf.split('\n').enumerate() {
        let n = i + 1;
        if n == 1 {
            // A first line that starts with '|' is all perfdata: the short output is
            // empty, not "(No output returned from plugin)" [oracle: y_output_perfdata_change].
            if let Some(rest) = line.strip_prefix('|') {
                short = Some("");
                perf_only = true;
                perf.push_str(rest);
                continue;
            }
            let l = line;
            if l.is_empty() {
                continue;
            }
            match l.find('|') {
                Some(p) => {
                    short = Some(&l[..p]);
                    let rest = &l[p + 1..];
                    if !rest.is_empty() {
                        perf.push_str(rest);
                    }
                }
                None => short = Some(l),
            }
        } else if in_perf {
            perf.push_str(line);
            perf.push(' ');
        } else if let Some(p) = line.find('|') {
            if n > 2 {
                long.push('\n');
            }
            long.push_str(&line[..p]);
            in_perf = true;
            let rest = &line[p + 1..];
            if !rest.is_empty() {
                perf.push(' ');
                perf.push_str(rest);
                perf.push(' ');
            }
        } else {
            if n > 2 {
                long.push('\n');
            }
            long.push_str(line);
        }
    }
    let short = strip(short.unwrap_or(""));
    let short = if short.is_empty() && !perf_only {
        NO_OUTPUT.to_owned()
    } else {
        short.replace(';', ":")
    };
    let mut long_esc = String::with_capacity(long.len());
    for c in long.chars() {
        match c {
            '\n' => long_esc.push_str("\\n"),
            '\\' => long_esc.push_str("\\\\"),
            c => long_esc.push(c),
        }
    }
    ParsedOutput {
        short,
        long: long_esc,
        perf: strip(&perf).to_owned(),
    }
}

/// Make text safe for a `nagios.log` line: every line break for some reader
/// ([`picket_text::is_line_break`]: `\r`, U+2028, …) and every other control
/// character becomes a space, so no reader sees a second, forged line. A tab is kept,
/// as Nagios logs it.
pub fn log_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c != '\t' && (c.is_control() || picket_text::is_line_break(c));
    // Only these bytes can start such a character (C0, DEL, C1 as 0xc2 0x80..0x9f,
    // U+2028/U+2029 as 0xe2 0x80 0xa8/0xa9): skip the slow path for the rest.
    if s.bytes()
        .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2)
        && s.chars().any(unsafe_char)
    {
        std::borrow::Cow::Owned(
            s.chars()
                .map(|c| if unsafe_char(c) { ' ' } else { c })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_h_multiline_perfdata() {
        let raw = "CRITICAL - 3 denials | denials=3;1;2;0; time=0.01s\\nfrom 10.0.0.1\\nfrom 10.0.0.2 | more=1";
        let p = parse_output(&unescape_passive(raw));
        assert_eq!(p.short, "CRITICAL - 3 denials");
        assert_eq!(p.long, "from 10.0.0.1\\nfrom 10.0.0.2 ");
        assert_eq!(p.perf, "denials=3;1;2;0; time=0.01s  more=1");
    }

    #[test]
    fn oracle_m_long_output() {
        let raw = "refused connect from 10.0.0.5 | denials=1\\nsshd: refused connect from 10.0.0.5\\nin.ftpd: refused connect from 10.0.0.5";
        let p = parse_output(&unescape_passive(raw));
        assert_eq!(p.short, "refused connect from 10.0.0.5");
        assert_eq!(
            p.long,
            "sshd: refused connect from 10.0.0.5\\nin.ftpd: refused connect from 10.0.0.5"
        );
        assert_eq!(p.perf, "denials=1");
    }

    #[test]
    fn empty_and_semicolons() {
        assert_eq!(parse_output("").short, NO_OUTPUT);
        assert_eq!(parse_output("   ").short, NO_OUTPUT);
        assert_eq!(parse_output("denied: a;b;c").short, "denied: a:b:c");
        assert_eq!(parse_output("x | a=1").perf, "a=1");
        let p = parse_output("| only=1");
        assert_eq!((p.short.as_str(), p.perf.as_str()), ("", "only=1"));
    }

    #[test]
    fn unescape_rules() {
        assert_eq!(unescape_passive("a\\nb\\\\c\\x"), "a\nb\\c\\x");
        assert_eq!(log_safe("a\rb\u{7f}"), "a b ");
    }

    #[test]
    fn log_safe_leaves_no_line_break_for_any_reader_and_keeps_tabs() {
        for c in [
            '\n', '\r', '\u{0b}', '\u{0c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
            '\u{2029}',
        ] {
            let s = format!("ok{c}[0] DISABLE_NOTIFICATIONS");
            assert_eq!(log_safe(&s), "ok [0] DISABLE_NOTIFICATIONS", "{c:?}");
        }
        assert_eq!(log_safe("a\tb"), "a\tb");
        assert!(matches!(log_safe("a\tb"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(log_safe("\u{1b}[31m\u{9b}"), " [31m ");
        assert!(matches!(
            log_safe("café – ok"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
