//! `nsca.cfg`, `send_nsca.cfg` and `send_nsca` input parsing on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_nsca_proto::config::{ClientConfig, ServerConfig};
use picket_nsca_proto::input::{SetSplitter, parse_delimiter, parse_set};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = ServerConfig::parse("fuzz.cfg", &text);
    let _ = ClientConfig::parse("fuzz.cfg", &text);
    let _ = parse_delimiter(&text);
    let mut s = SetSplitter::new(0x17);
    s.push(data);
    while let Some(set) = s.next_set() {
        if let Ok(set) = set {
            let _ = parse_set(&set, b'\t');
        }
    }
    if let Ok(last) = s.finish() {
        let _ = parse_set(&last, b'\t');
    }
});
