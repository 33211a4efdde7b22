//! `send_nsca`'s standard input, split as the C client 2.10.2 splits it
//! (`send_nsca.c:223-290`).
//!
//! Input is a series of *sets* ended by the set delimiter (ETB, 0x17, by
//! default) or end of input; a newline does **not** end a set, so a set's
//! output may span several lines. Each set has its trailing spaces, tabs,
//! CRs and LFs stripped, then is split with `strtok` on the field delimiter
//! (TAB by default; runs of delimiters count as one, leading ones are
//! skipped):
//!
//! * `host␉service␉rc␉output…` is a service result (the output keeps any
//!   further delimiters);
//! * `host␉rc␉output` is a host result;
//! * anything shorter is skipped.
//!
//! The return code is C `atoi` cast to 16 bits; fields are cut to 63, 127
//! and 4095 bytes when the packet is built.
//!
//! Unlike the C client, names are cut at a line break other than the
//! newline, and such line breaks in the output become spaces
//! ([`client_output`]); see `command` for why.

use crate::config::atoi;
use crate::packet::CheckResult;

/// ETB, the default set delimiter.
pub const DEFAULT_SET_DELIMITER: u8 = 0x17;
/// TAB, the default field delimiter.
pub const DEFAULT_FIELD_DELIMITER: u8 = b'\t';
/// Sets of this many bytes or more are refused (`MAX_INPUT_BUFFER`).
pub const MAX_SET_LEN: usize = 5120;

/// A set too long for the C client's buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Input set is longer than max allowed.")]
pub struct SetTooLong;

/// Cuts a byte stream into sets. Feed it with [`push`](Self::push), take
/// complete sets with [`next_set`](Self::next_set), and call
/// [`finish`](Self::finish) at end of input for the last one.
#[derive(Debug)]
pub struct SetSplitter {
    delimiter: u8,
    buf: Vec<u8>,
    /// Where the search for the next delimiter resumes.
    scanned: usize,
}

impl SetSplitter {
    /// A splitter for sets ended by `delimiter`.
    pub fn new(delimiter: u8) -> Self {
        SetSplitter {
            delimiter,
            buf: Vec::new(),
            scanned: 0,
        }
    }

    /// Adds input bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete set, if one is buffered.
    pub fn next_set(&mut self) -> Option<Result<Vec<u8>, SetTooLong>> {
        match self.buf[self.scanned..]
            .iter()
            .position(|&b| b == self.delimiter)
        {
            Some(i) => {
                let end = self.scanned + i;
                let set: Vec<u8> = self.buf.drain(..=end).take(end).collect();
                self.scanned = 0;
                Some(if set.len() >= MAX_SET_LEN {
                    Err(SetTooLong)
                } else {
                    Ok(set)
                })
            }
            None => {
                self.scanned = self.buf.len();
                (self.buf.len() >= MAX_SET_LEN).then_some(Err(SetTooLong))
            }
        }
    }

    /// The last set at end of input (may be empty).
    pub fn finish(&mut self) -> Result<Vec<u8>, SetTooLong> {
        self.scanned = 0;
        let set = std::mem::take(&mut self.buf);
        if set.len() >= MAX_SET_LEN {
            Err(SetTooLong)
        } else {
            Ok(set)
        }
    }
}

/// C `strip()`: trailing space, TAB, CR and LF.
fn strip(set: &[u8]) -> &[u8] {
    let end = set
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    &set[..end]
}

/// `strtok(s, delim)` with a one-byte delimiter: skips leading delimiters,
/// returns the token and the rest after the delimiter that ended it.
fn strtok(s: &[u8], delim: u8) -> Option<(&[u8], &[u8])> {
    let start = s.iter().position(|&b| b != delim)?;
    let s = &s[start..];
    Some(match s.iter().position(|&b| b == delim) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    })
}

/// Parses one set into a result; `None` when it has fewer than three fields
/// (the C client skips such sets). `timestamp` is left 0 for the caller.
pub fn parse_set(set: &[u8], delimiter: u8) -> Option<CheckResult> {
    let s = strip(set);
    let (host, rest) = strtok(s, delimiter)?;
    let (second, rest) = strtok(rest, delimiter)?;
    let (third, rest) = strtok(rest, delimiter)?;
    // strtok(NULL, "") : whatever is left, or NULL when nothing is.
    let (service, rc, output): (&[u8], &[u8], &[u8]) = if rest.is_empty() {
        (b"", second, third)
    } else {
        (second, third, rest)
    };
    let rc = String::from_utf8_lossy(rc);
    Some(CheckResult {
        timestamp: 0,
        // atoi() then a cast to int16_t: wraps.
        return_code: atoi(&rc) as i16,
        host_name: crate::command::name_field(host).to_vec(),
        service: crate::command::name_field(service).to_vec(),
        plugin_output: client_output(output),
    })
}

/// An output as it is sent: every line break but the newline (which every
/// server escapes) becomes a space ([`picket_text::is_line_break`]), so that a
/// server that writes the output as it is — the C `nsca` — cannot be made to
/// write a line break that some reader of its command file, or of the log
/// Nagios writes from it, splits on. Tabs and everything else are kept.
pub fn client_output(output: &[u8]) -> Vec<u8> {
    picket_text::spaces_for_line_breaks(output, false)
}

/// Parses a `-d`/`-ds` argument as the C client does: one character is
/// taken literally; a longer string starting with a digit, `+` or `-` is a
/// number in C notation (`0x2c`, `054`, `44`).
pub fn parse_delimiter(arg: &str) -> Option<u8> {
    let b = arg.as_bytes();
    match b {
        [] => None,
        [c] => Some(*c),
        [c, ..] if c.is_ascii_digit() || *c == b'+' || *c == b'-' => {
            let (neg, s) = match arg.strip_prefix('-') {
                Some(s) => (true, s),
                None => (false, arg.strip_prefix('+').unwrap_or(arg)),
            };
            let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok()?
            } else if s.len() > 1 && s.starts_with('0') {
                i64::from_str_radix(&s[1..], 8).ok()?
            } else {
                s.parse::<i64>().ok()?
            };
            let v = if neg { -v } else { v };
            Some(v as u8)
        }
        [c, ..] => Some(*c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_other_than_newline_do_not_reach_the_packet() {
        let r = parse_set(
            "h\u{2028}x\ts\r\t2\tok\u{85}[0] FORGED\u{2029}\x0b\x0c\x1c\x1d\x1e\tkept\nline2"
                .as_bytes(),
            b'\t',
        )
        .expect("a result");
        assert_eq!(r.host_name, b"h");
        assert_eq!(r.service, b"s");
        assert_eq!(r.plugin_output, b"ok [0] FORGED      \tkept\nline2");
    }

    #[test]
    fn service_and_host_sets() {
        let r = parse_set(b"web01\tHTTP\t1\tWARN - slow\n", b'\t').unwrap();
        assert_eq!(r.host_name, b"web01");
        assert_eq!(r.service, b"HTTP");
        assert_eq!(r.return_code, 1);
        assert_eq!(r.plugin_output, b"WARN - slow");

        let r = parse_set(b"db01\t3\tUNKNOWN - x", b'\t').unwrap();
        assert!(r.is_host_result());
        assert_eq!(r.return_code, 3);
        assert_eq!(r.plugin_output, b"UNKNOWN - x");
    }

    #[test]
    fn tabs_in_output_are_kept_and_runs_collapse_before_it() {
        let r = parse_set(b"h\t\ts\t0\ta\tb", b'\t').unwrap();
        assert_eq!(r.service, b"s");
        assert_eq!(r.plugin_output, b"a\tb");
    }

    #[test]
    fn newline_does_not_split_sets() {
        let r = parse_set(b"h1\ts1\t0\tA\nh2\ts2\t1\tB\n", b'\t').unwrap();
        assert_eq!(r.plugin_output, b"A\nh2\ts2\t1\tB");
    }

    #[test]
    fn short_sets_are_skipped() {
        assert!(parse_set(b"h\t0", b'\t').is_none());
        assert!(parse_set(b"\n", b'\t').is_none());
        // An empty output is stripped away, leaving a host result.
        let r = parse_set(b"h\ts\t0\t", b'\t').unwrap();
        assert!(r.is_host_result());
        assert_eq!(r.plugin_output, b"0");
    }

    #[test]
    fn return_code_wraps_like_int16() {
        assert_eq!(parse_set(b"h\ts\t65537\to", b'\t').unwrap().return_code, 1);
        assert_eq!(
            parse_set(b"h\ts\t99999\to", b'\t').unwrap().return_code,
            -31073
        );
    }

    #[test]
    fn splitter_streams_sets() {
        let mut s = SetSplitter::new(DEFAULT_SET_DELIMITER);
        s.push(b"a\tb\t0\tx\x17c\t1");
        assert_eq!(s.next_set(), Some(Ok(b"a\tb\t0\tx".to_vec())));
        assert_eq!(s.next_set(), None);
        s.push(b"\ty\x17");
        assert_eq!(s.next_set(), Some(Ok(b"c\t1\ty".to_vec())));
        assert_eq!(s.finish(), Ok(Vec::new()));
        s.push(&vec![b'x'; MAX_SET_LEN]);
        assert_eq!(s.next_set(), Some(Err(SetTooLong)));
    }

    #[test]
    fn delimiters_like_strtol() {
        assert_eq!(parse_delimiter(","), Some(b','));
        assert_eq!(parse_delimiter("0x2c"), Some(b','));
        assert_eq!(parse_delimiter("44"), Some(b','));
        assert_eq!(parse_delimiter("054"), Some(b','));
        assert_eq!(parse_delimiter("23"), Some(0x17));
        assert_eq!(parse_delimiter("ab"), Some(b'a'));
        assert_eq!(parse_delimiter(""), None);
    }
}
