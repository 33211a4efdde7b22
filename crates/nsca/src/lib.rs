//! NSCA 2.x at the edges: the receiver (sockets, timeouts, connection
//! limits), the command-file writer (FIFO, spool) and the client transport.
//! The protocol itself is in `nsca_proto`, which does no I/O.
//!
//! Binaries: `nsca` (the daemon), `send_nsca` (the client), `nsca-loadgen`
//! (benchmarks).

#![forbid(unsafe_code)]

pub mod client;
pub mod logging;
pub mod server;
pub mod writer;

/// Bytes from the network made safe for a log line: printable ASCII as is,
/// everything else escaped (`\n`, `\xNN`), and cut at 512 bytes. Stricter
/// than `picket_text::is_line_break` asks: no byte of a line break (nor any
/// other non-ASCII byte) is written as it is.
pub fn printable(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().min(512));
    for &b in bytes.iter().take(512) {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > 512 {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_escapes_controls() {
        assert_eq!(super::printable(b"a\nb\x1b[31m\xff"), "a\\nb\\x1b[31m\\xff");
    }

    #[test]
    fn printable_leaves_no_line_break_for_any_reader() {
        let all: String = (0..=0x10ffff_u32).filter_map(char::from_u32).collect();
        let p = super::printable(all.as_bytes());
        assert!(!p.chars().any(picket_text::is_line_break), "{p}");
        let breaks = "\r\u{0b}\u{0c}\u{1c}\u{1d}\u{1e}\u{85}\u{2028}\u{2029}";
        assert_eq!(
            super::printable(breaks.as_bytes()),
            "\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\xc2\\x85\\xe2\\x80\\xa8\\xe2\\x80\\xa9"
        );
    }
}
