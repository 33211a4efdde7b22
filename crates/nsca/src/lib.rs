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
/// everything else escaped (`\n`, `\xNN`), and cut at 512 bytes.
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
}
