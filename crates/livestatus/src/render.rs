//! Rendering rows in each `OutputFormat`, and the `fixed16` frame.

use crate::request::{OutputFormat, Separators};
use crate::value::Value;

/// Writes values in one output format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Writer {
    pub(crate) format: OutputFormat,
    pub(crate) seps: Separators,
}

fn json_str(out: &mut Vec<u8>, s: &str, prefix: &str) {
    out.extend_from_slice(prefix.as_bytes());
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn float(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        if f == f.trunc() && f.abs() < 1e15 {
            out.extend_from_slice(format!("{f:.1}").as_bytes());
        } else {
            out.extend_from_slice(format!("{f}").as_bytes());
        }
    } else {
        out.push(b'0');
    }
}

impl Writer {
    fn structured(self) -> bool {
        self.format != OutputFormat::Csv
    }

    fn str_prefix(self) -> &'static str {
        if self.format == OutputFormat::Python {
            "u"
        } else {
            ""
        }
    }

    fn null(self) -> &'static [u8] {
        match self.format {
            OutputFormat::Python | OutputFormat::Python3 => b"None",
            _ => b"null",
        }
    }

    /// One value.
    pub(crate) fn value(self, out: &mut Vec<u8>, v: &Value) {
        if self.structured() {
            match v {
                Value::Null => out.extend_from_slice(self.null()),
                Value::Int(i) | Value::Time(i) => int(out, *i),
                Value::Float(f) => float(out, *f),
                Value::Str(s) => json_str(out, s, self.str_prefix()),
                Value::Pair(h, s) => {
                    out.push(b'[');
                    json_str(out, h, self.str_prefix());
                    out.push(b',');
                    json_str(out, s, self.str_prefix());
                    out.push(b']');
                }
                Value::List(l) => {
                    out.push(b'[');
                    for (i, e) in l.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        self.value(out, e);
                    }
                    out.push(b']');
                }
            }
        } else {
            match v {
                Value::Null => {}
                Value::Int(i) | Value::Time(i) => int(out, *i),
                Value::Float(f) => float(out, *f),
                Value::Str(s) => out.extend_from_slice(s.as_bytes()),
                Value::Pair(h, s) => {
                    out.extend_from_slice(h.as_bytes());
                    out.push(self.seps.host_service);
                    out.extend_from_slice(s.as_bytes());
                }
                Value::List(l) => {
                    for (i, e) in l.iter().enumerate() {
                        if i > 0 {
                            out.push(self.seps.list);
                        }
                        self.value(out, e);
                    }
                }
            }
        }
    }

    /// One row (without the separator between rows).
    pub(crate) fn row(self, out: &mut Vec<u8>, values: &[Value]) {
        if self.structured() {
            out.push(b'[');
        }
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(if self.structured() {
                    b','
                } else {
                    self.seps.field
                });
            }
            self.value(out, v);
        }
        if self.structured() {
            out.push(b']');
        }
    }

    /// The whole body: optional header row, rows in order, `total_count` for
    /// `wrapped_json`.
    pub(crate) fn body(
        self,
        headers: Option<&[String]>,
        rows: &[Vec<u8>],
        total: usize,
    ) -> Vec<u8> {
        let size: usize = rows.iter().map(|r| r.len() + 2).sum();
        let mut out = Vec::with_capacity(size + 64);
        let header_row = headers.map(|h| {
            let v: Vec<Value> = h.iter().map(|s| Value::Str(s.clone())).collect();
            let mut b = Vec::new();
            self.row(&mut b, &v);
            b
        });
        match self.format {
            OutputFormat::Csv => {
                for r in header_row.iter().chain(rows) {
                    out.extend_from_slice(r);
                    out.push(self.seps.dataset);
                }
            }
            OutputFormat::Json | OutputFormat::Python | OutputFormat::Python3 => {
                out.push(b'[');
                for (i, r) in header_row.iter().chain(rows).enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b",\n");
                    }
                    out.extend_from_slice(r);
                }
                out.extend_from_slice(b"]\n");
            }
            OutputFormat::WrappedJson => {
                out.push(b'{');
                if let Some(h) = header_row {
                    out.extend_from_slice(b"\"columns\":");
                    out.extend_from_slice(&h);
                    out.push(b',');
                }
                out.extend_from_slice(b"\"data\":[");
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b",\n");
                    }
                    out.extend_from_slice(r);
                }
                out.extend_from_slice(format!("],\"total_count\":{total}}}\n").as_bytes());
            }
        }
        out
    }
}

/// Render rows of values (no header) in a format: for callers that build rows
/// themselves.
pub fn render(
    format: OutputFormat,
    seps: Separators,
    headers: Option<&[String]>,
    rows: &[Vec<Value>],
) -> Vec<u8> {
    let w = Writer { format, seps };
    let rendered: Vec<Vec<u8>> = rows
        .iter()
        .map(|r| {
            let mut b = Vec::new();
            w.row(&mut b, r);
            b
        })
        .collect();
    w.body(headers, &rendered, rows.len())
}

/// An error body: the message and a newline.
pub fn render_error(message: &str) -> Vec<u8> {
    let mut b: Vec<u8> = message.replace('\n', " ").into_bytes();
    b.push(b'\n');
    b
}

/// Prefix `body` with the 16-byte `ResponseHeader: fixed16` header (`%03d %11zu\n`).
pub fn frame(code: u16, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{code:03} {:>11}\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed16_is_sixteen_bytes() {
        let f = frame(200, b"[[1]]\n");
        assert_eq!(&f[..16], b"200           6\n");
        assert_eq!(frame(404, b"").len(), 16);
    }

    #[test]
    fn formats() {
        let rows = vec![vec![
            Value::str("a\"b"),
            Value::Int(1),
            Value::List(vec![Value::Pair("h".into(), "s".into())]),
            Value::Null,
            Value::Float(0.5),
        ]];
        let s = Separators::default();
        assert_eq!(
            render(OutputFormat::Json, s, None, &rows),
            b"[[\"a\\\"b\",1,[[\"h\",\"s\"]],null,0.5]]\n"
        );
        assert_eq!(
            render(OutputFormat::Csv, s, None, &rows),
            b"a\"b;1;h|s;;0.5\n"
        );
        assert_eq!(
            render(OutputFormat::Python, s, None, &rows),
            b"[[u\"a\\\"b\",1,[[u\"h\",u\"s\"]],None,0.5]]\n"
        );
        assert_eq!(
            render(OutputFormat::Python3, s, None, &rows),
            b"[[\"a\\\"b\",1,[[\"h\",\"s\"]],None,0.5]]\n"
        );
        let h = vec!["x".to_owned()];
        assert_eq!(
            render(
                OutputFormat::WrappedJson,
                s,
                Some(&h),
                &[vec![Value::Int(3)]]
            ),
            b"{\"columns\":[\"x\"],\"data\":[[3]],\"total_count\":1}\n"
        );
        let tabs = Separators {
            dataset: b'\n',
            field: b'\t',
            list: b'#',
            host_service: b'/',
        };
        let rows = vec![vec![
            Value::str("n"),
            Value::List(vec![Value::Pair("h".into(), "s".into()), Value::str("x")]),
        ]];
        assert_eq!(
            render(OutputFormat::Csv, tabs, Some(&h), &rows),
            b"x\nn\th/s#x\n"
        );
    }

    #[test]
    fn control_characters_are_escaped_in_json() {
        let rows = vec![vec![Value::str("a\u{1}b\u{2028}\n")]];
        let out = render(OutputFormat::Json, Separators::default(), None, &rows);
        assert_eq!(out, b"[[\"a\\u0001b\\u2028\\n\"]]\n");
    }
}

/// An integer in decimal, written in place (no `String` per value: a `GET services`
/// at 100,000 services writes millions of them).
fn int(out: &mut Vec<u8>, i: i64) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

#[cfg(test)]
mod int_tests {
    #[test]
    fn integers_as_decimal() {
        for i in [0, 7, -7, 10, 1_700_000_000, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            super::int(&mut out, i);
            assert_eq!(String::from_utf8(out).expect("ascii"), i.to_string());
        }
    }
}
