//! POSIX extended regular expressions, as `regcomp(REG_EXTENDED)` reads
//! them, translated to the `regex` crate's syntax (byte-oriented, `.`
//! matching any byte as glibc's does without `REG_NEWLINE`).
//!
//! Only a yes/no match is needed, so POSIX's leftmost-longest rule and
//! the crate's leftmost-first one give the same answers. What differs in
//! the syntax is translated: a backslash inside a bracket expression is a
//! literal, `]` first in a bracket is a literal, `\<`/`\>` are word
//! boundaries (GNU), an escaped ordinary character is that character.
//! What POSIX ERE does not have (back-references, `(?…)`) is refused.

/// Translates an ERE to the `regex` crate's syntax.
pub fn translate(ere: &str) -> Result<String, String> {
    let chars: Vec<char> = ere.chars().collect();
    let mut out = String::with_capacity(ere.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("trailing backslash".into());
                };
                match n {
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    '<' | '>' => out.push_str("\\b"),
                    '1'..='9' => return Err("back-references are not supported".into()),
                    _ => push_literal(&mut out, n),
                }
                i += 2;
            }
            '[' => {
                i = bracket(&chars, i, &mut out)?;
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                return Err("`(?` is not an extended regular expression".into());
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
        out.push(c);
    } else {
        out.push('\\');
        out.push(c);
    }
}

/// A bracket expression starting at `chars[start] == '['`; returns the
/// index after its `]`.
fn bracket(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("unmatched [".into());
        };
        match c {
            ']' => {
                out.push(']');
                return Ok(i + 1);
            }
            '[' if matches!(chars.get(i + 1), Some(':' | '=' | '.')) => {
                let kind = chars[i + 1];
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == kind && chars[j + 1] == ']')
                    .ok_or("unterminated [: :], [= =] or [. .]")?;
                let name: String = chars[i + 2..close].iter().collect();
                match kind {
                    ':' => {
                        out.push_str("[:");
                        out.push_str(&name);
                        out.push_str(":]");
                    }
                    _ => {
                        let mut it = name.chars();
                        match (it.next(), it.next()) {
                            (Some(ch), None) => {
                                out.push('\\');
                                out.push(ch);
                            }
                            _ => {
                                return Err(format!("collating element {name:?} is not supported"));
                            }
                        }
                    }
                }
                i = close + 2;
            }
            '\\' | '[' | '&' | '~' | '^' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str("\\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn m(ere: &str, s: &str) -> bool {
        let t = translate(ere).expect("translates");
        regex::bytes::Regex::new(&format!("(?s-u)^(?:{t})$"))
            .expect("compiles")
            .is_match(s.as_bytes())
    }

    #[test]
    fn posix_forms() {
        assert!(m("web.*", "web01"));
        assert!(!m("web.*", "db01"));
        assert!(m("[]a]+", "]a]"));
        assert!(m("[\\]+", "\\\\"));
        assert!(m("[[:digit:]]+x", "12x"));
        assert!(m("a\\.b", "a.b") && !m("a\\.b", "axb"));
        assert!(m("a{2}", "aa") && !m("a{2}", "a"));
        assert!(m("(a|b)c", "bc"));
        assert!(m("[a-c&~]+", "a&~c"));
        assert!(m("x\\;y", "x;y"));
    }

    #[test]
    fn what_ere_lacks_is_refused() {
        assert!(translate("(a)\\1").is_err());
        assert!(translate("(?i)a").is_err());
        assert!(translate("[abc").is_err());
        assert!(translate("a\\").is_err());
    }
}
