//! Stage 1: the raw parser. It keeps every directive with its line and knows nothing of
//! inheritance or object semantics.
//!
//! Lexical rules follow Nagios' `xodtemplate_process_config_file()` and
//! `mmap_fgets_multiline()`: a trailing `\` joins the next line (leading whitespace of
//! that line stripped), `#` or `;` at the start of a line is a comment, an unescaped `;`
//! anywhere ends the line, `\;` is a literal `;`, `define TYPE {` opens a definition (the
//! `{` may be missing, with a warning) and `}` on its own line closes it. Inside a
//! definition the directive is the first word and the value the rest of the line, trimmed.
//!
//! The parser never panics and never fails as a whole: problems are returned with their
//! line so that one pass reports all of them.

use std::borrow::Cow;

/// One directive inside a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawProp<'a> {
    /// The directive name, as written (case-sensitive).
    pub key: &'a str,
    /// The value, trimmed; empty when the directive has no value.
    pub value: Cow<'a, str>,
    /// 1-based line of the directive.
    pub line: u32,
}

/// One `define TYPE { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject<'a> {
    /// The type word after `define` (`host`, `service`, `realm`, …).
    pub kind: &'a str,
    /// 1-based line of the `define`.
    pub line: u32,
    /// Directives in file order.
    pub props: Vec<RawProp<'a>>,
}

/// A statement outside any definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopLevel<'a> {
    /// `include_file=PATH`.
    IncludeFile(Cow<'a, str>),
    /// `include_dir=PATH`.
    IncludeDir(Cow<'a, str>),
    /// Shinken resource macro `$NAME$=value` (NAME without the dollars).
    Macro(&'a str, Cow<'a, str>),
    /// Any other `key=value` (Shinken allows main-config keys in object files).
    Assignment(&'a str, Cow<'a, str>),
}

/// A syntax problem, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxError {
    /// A line that is neither a definition, a directive nor a known statement.
    #[error("unexpected token or statement '{0}'")]
    UnexpectedToken(String),
    /// `define` without a type.
    #[error("no object type specified in '{0}' (expected 'define TYPE {{')")]
    MalformedDefine(String),
    /// `define` inside a definition.
    #[error("unexpected start of object definition inside the definition starting on line {0}")]
    NestedDefine(u32),
    /// End of file inside a definition.
    #[error("unexpected end of file inside the '{kind}' definition starting on line {line}")]
    UnterminatedDefinition {
        /// The type being defined.
        kind: String,
        /// Line of its `define`.
        line: u32,
    },
    /// `}` outside any definition.
    #[error("unexpected '}}' outside of an object definition")]
    StrayClose,
    /// The file is not valid UTF-8 (reported by the loader).
    #[error("file is not valid UTF-8 near byte {0}")]
    NotUtf8(usize),
}

/// Everything found in one object configuration file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RawFile<'a> {
    /// Definitions in file order.
    pub objects: Vec<RawObject<'a>>,
    /// Statements outside definitions, with their lines.
    pub top: Vec<(u32, TopLevel<'a>)>,
    /// Syntax errors, with their lines.
    pub errors: Vec<(u32, SyntaxError)>,
    /// Constructs Nagios accepts but that are probably mistakes, with their lines.
    pub warnings: Vec<(u32, String)>,
}

/// Logical lines: physical lines with `\`-continuations joined, CR stripped.
struct Lines<'a> {
    rest: &'a str,
    line: u32,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            rest: text,
            line: 0,
        }
    }

    fn next_physical(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let (l, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        self.line += 1;
        Some(l.strip_suffix('\r').unwrap_or(l))
    }
}

/// Number of trailing backslashes.
fn trailing_backslashes(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b'\\').count()
}

impl<'a> Iterator for Lines<'a> {
    /// (line number of the first physical line, logical line)
    type Item = (u32, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let first = self.next_physical()?;
        let start = self.line;
        if trailing_backslashes(first) % 2 == 0 {
            return Some((start, Cow::Borrowed(first)));
        }
        // Continuation: join following lines, each with leading whitespace stripped.
        let mut joined = String::from(&first[..first.len() - 1]);
        while let Some(next) = self.next_physical() {
            let next = next.trim_start();
            if trailing_backslashes(next) % 2 == 1 {
                joined.push_str(&next[..next.len() - 1]);
            } else {
                joined.push_str(next);
                break;
            }
        }
        Some((start, Cow::Owned(joined)))
    }
}

/// Strip comments (`;` unescaped anywhere, `#`/`;` at the start), unescape `\;`, trim.
fn clean_line(line: Cow<'_, str>) -> Option<Cow<'_, str>> {
    fn cut(s: &str) -> (&str, bool) {
        // Returns the text before the first unescaped ';' and whether '\;' occurs before it.
        let bytes = s.as_bytes();
        let mut escaped = false;
        let mut i = 0;
        while let Some(off) = s[i..].find(';') {
            let pos = i + off;
            if pos > 0 && bytes[pos - 1] == b'\\' {
                escaped = true;
                i = pos + 1;
                continue;
            }
            return (&s[..pos], escaped);
        }
        (s, escaped)
    }
    fn unescape(s: &str) -> String {
        s.replace("\\;", ";")
    }
    match line {
        Cow::Borrowed(b) => {
            let t = b.trim_start();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                return None;
            }
            let (c, escaped) = cut(t);
            let c = c.trim_end();
            if c.is_empty() {
                return None;
            }
            Some(if escaped {
                Cow::Owned(unescape(c))
            } else {
                Cow::Borrowed(c)
            })
        }
        Cow::Owned(o) => {
            let t = o.trim_start();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                return None;
            }
            let (c, escaped) = cut(t);
            let c = c.trim_end();
            if c.is_empty() {
                return None;
            }
            Some(Cow::Owned(if escaped { unescape(c) } else { c.to_owned() }))
        }
    }
}

/// Split `key value` at the first space or tab; the value is trimmed.
fn split_directive(line: &str) -> (&str, &str) {
    match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    }
}

/// Owned split for joined/unescaped lines: the key must borrow from the file, so an owned
/// line keeps its key only when it can be found verbatim in `orig`.
fn split_cow<'a>(line: Cow<'a, str>) -> (Cow<'a, str>, Cow<'a, str>) {
    match line {
        Cow::Borrowed(b) => {
            let (k, v) = split_directive(b);
            (Cow::Borrowed(k), Cow::Borrowed(v))
        }
        Cow::Owned(o) => {
            let (k, v) = split_directive(&o);
            (Cow::Owned(k.to_owned()), Cow::Owned(v.to_owned()))
        }
    }
}

/// Leak-free interning of owned keys: the (rare) owned keys are matched against the
/// well-known directive names so that `RawProp::key` can stay a `&'a str`.
fn key_ref<'a>(key: Cow<'a, str>, text: &'a str) -> &'a str {
    match key {
        Cow::Borrowed(b) => b,
        // An owned key only arises from a continuation or `\;` on the key itself.
        // Find the same spelling in the file text; the key spelling occurs at least once
        // (it is a prefix of a physical line) unless the key itself was split by `\`.
        Cow::Owned(o) => match text.find(o.as_str()) {
            Some(i) => &text[i..i + o.len()],
            None => "",
        },
    }
}

/// Parse an object configuration file.
pub fn parse_object_file(text: &str) -> RawFile<'_> {
    let mut out = RawFile::default();
    let mut current: Option<RawObject<'_>> = None;
    // Directives of the open definition collect here; each definition then gets one
    // exactly-sized vector instead of a series of growing ones.
    let mut scratch: Vec<RawProp<'_>> = Vec::with_capacity(32);
    for (lineno, line) in Lines::new(text) {
        let Some(line) = clean_line(line) else {
            continue;
        };
        if let Some(obj) = current.as_mut() {
            if line == "}" {
                if let Some(mut done) = current.take() {
                    let mut props = Vec::with_capacity(scratch.len());
                    props.append(&mut scratch);
                    done.props = props;
                    out.objects.push(done);
                }
                continue;
            }
            if is_define(&line) {
                out.errors
                    .push((lineno, SyntaxError::NestedDefine(obj.line)));
                continue;
            }
            let (k, v) = split_cow(line);
            let key = key_ref(k, text);
            if key.is_empty() {
                out.errors.push((
                    lineno,
                    SyntaxError::UnexpectedToken(v.chars().take(60).collect()),
                ));
                continue;
            }
            scratch.push(RawProp {
                key,
                value: v,
                line: lineno,
            });
            continue;
        }
        if is_define(&line) {
            match define_kind(&line) {
                Some((kind, brace)) => {
                    if !brace {
                        out.warnings.push((
                            lineno,
                            format!(
                                "'{}' has no '{{'; the definition is read up to the next '}}', \
                                 as Nagios does",
                                line.chars().take(60).collect::<String>()
                            ),
                        ));
                    }
                    let kind = key_ref(kind, text);
                    current = Some(RawObject {
                        kind,
                        line: lineno,
                        props: Vec::new(),
                    });
                }
                None => out.errors.push((
                    lineno,
                    SyntaxError::MalformedDefine(line.chars().take(60).collect()),
                )),
            }
            continue;
        }
        if line == "}" {
            out.errors.push((lineno, SyntaxError::StrayClose));
            continue;
        }
        if let Some((k, v)) = top_assignment(line.clone(), text) {
            let stmt = match k {
                "include_file" => TopLevel::IncludeFile(v),
                "include_dir" => TopLevel::IncludeDir(v),
                _ => match k.strip_prefix('$').and_then(|n| n.strip_suffix('$')) {
                    Some(name) if !name.is_empty() => TopLevel::Macro(name, v),
                    _ => TopLevel::Assignment(k, v),
                },
            };
            out.top.push((lineno, stmt));
            continue;
        }
        out.errors.push((
            lineno,
            SyntaxError::UnexpectedToken(line.chars().take(60).collect()),
        ));
    }
    if let Some(mut obj) = current {
        obj.props = scratch;
        out.errors.push((
            obj.line,
            SyntaxError::UnterminatedDefinition {
                kind: obj.kind.to_owned(),
                line: obj.line,
            },
        ));
        out.objects.push(obj);
    }
    out
}

fn is_define(line: &str) -> bool {
    line.strip_prefix("define")
        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '{']))
}

/// `define host{`, `define host {  ignored`, `define host`: the type word and whether a
/// `{` follows. As in Nagios' `xodtemplate_process_config_file()`, the type is the first
/// word after `define` (ended by a space, a tab or `{`), the rest of the line is ignored
/// and the `{` is optional; `None` when there is no type word.
fn define_kind<'a>(line: &Cow<'a, str>) -> Option<(Cow<'a, str>, bool)> {
    let rest = line.strip_prefix("define")?;
    let trimmed = rest.trim_start();
    let end = trimmed.find([' ', '\t', '{']).unwrap_or(trimmed.len());
    let kind = &trimmed[..end];
    if kind.is_empty() {
        return None;
    }
    let brace = trimmed[end..].contains('{');
    let kind = match line {
        Cow::Borrowed(b) => {
            let start = b.len() - trimmed.len();
            Cow::Borrowed(&b[start..start + kind.len()])
        }
        Cow::Owned(_) => Cow::Owned(kind.to_owned()),
    };
    Some((kind, brace))
}

/// `key=value` outside a definition; the key has no whitespace.
fn top_assignment<'a>(line: Cow<'a, str>, text: &'a str) -> Option<(&'a str, Cow<'a, str>)> {
    let eq = line.find('=')?;
    let k = line[..eq].trim();
    if k.is_empty() || k.contains([' ', '\t']) {
        return None;
    }
    match line {
        Cow::Borrowed(b) => {
            let k = b[..eq].trim();
            Some((k, Cow::Borrowed(b[eq + 1..].trim())))
        }
        Cow::Owned(o) => {
            let key = key_ref(Cow::Owned(o[..eq].trim().to_owned()), text);
            if key.is_empty() {
                return None;
            }
            Some((key, Cow::Owned(o[eq + 1..].trim().to_owned())))
        }
    }
}

/// One `key=value` line of a main configuration or resource file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainLine<'a> {
    /// 1-based line.
    pub line: u32,
    /// The key, trimmed.
    pub key: &'a str,
    /// The value, trimmed (inline `;` is *not* a comment here, as in Nagios).
    pub value: &'a str,
}

/// Parse a file in `nagios.cfg` format (also used for resource files). Lines without `=`
/// are returned as errors with their text.
pub fn parse_main_file(text: &str) -> (Vec<MainLine<'_>>, Vec<(u32, String)>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        match l.find('=') {
            Some(eq) if !l[..eq].trim().is_empty() => lines.push(MainLine {
                line: lineno,
                key: l[..eq].trim(),
                value: l[eq + 1..].trim(),
            }),
            _ => errors.push((lineno, l.chars().take(60).collect())),
        }
    }
    (lines, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_definition_with_comments_and_escapes() {
        let text = "# comment\n; also\ndefine host{ ignored\n  host_name  web01 ; trailing\n  \
                    _NOTE a\\;b ; c\n\tnotes   one \\\n     two\n}\n";
        let f = parse_object_file(text);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.objects.len(), 1);
        let o = &f.objects[0];
        assert_eq!(o.kind, "host");
        assert_eq!(o.line, 3);
        let p: Vec<_> = o
            .props
            .iter()
            .map(|p| (p.key, p.value.as_ref(), p.line))
            .collect();
        assert_eq!(
            p,
            vec![
                ("host_name", "web01", 4),
                ("_NOTE", "a;b", 5),
                ("notes", "one two", 6)
            ]
        );
    }

    #[test]
    fn reports_unexpected_and_unterminated() {
        let f = parse_object_file("garbage here\ndefine service {\n x 1\n");
        assert_eq!(f.errors.len(), 2);
        assert_eq!(f.errors[0].0, 1);
        assert!(matches!(f.errors[0].1, SyntaxError::UnexpectedToken(_)));
        assert!(matches!(
            f.errors[1].1,
            SyntaxError::UnterminatedDefinition { line: 2, .. }
        ));
    }

    #[test]
    fn define_without_brace_is_read_as_nagios_reads_it() {
        let f = parse_object_file("define host\n  host_name h3\n}\ndefine service junk {\n}\n");
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.objects.len(), 2);
        assert_eq!(f.objects[0].kind, "host");
        assert_eq!(f.objects[0].props[0].value, "h3");
        assert_eq!(f.objects[1].kind, "service");
        assert_eq!(f.warnings.len(), 1);
        assert_eq!(f.warnings[0].0, 1);
        let f = parse_object_file("define\n");
        assert!(matches!(f.errors[0].1, SyntaxError::MalformedDefine(_)));
    }

    #[test]
    fn top_level_statements() {
        let f = parse_object_file("include_dir=/x\n$USER3$=secret\ncfg_dir=foo\n");
        assert_eq!(f.top.len(), 3);
        assert_eq!(
            f.top[1].1,
            TopLevel::Macro("USER3", Cow::Borrowed("secret"))
        );
        assert_eq!(
            f.top[2].1,
            TopLevel::Assignment("cfg_dir", Cow::Borrowed("foo"))
        );
    }

    #[test]
    fn main_file_keeps_equals_in_value() {
        let (l, e) = parse_main_file("a=b\nillegal_object_name_chars=`~!$%^&*|'\"<>?,()=\nnoeq\n");
        assert_eq!(l[1].value, "`~!$%^&*|'\"<>?,()=");
        assert_eq!(e, vec![(3, "noeq".to_owned())]);
    }
}
