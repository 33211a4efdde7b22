//! Fuzzes the sensor's recognizer (syslog lines, kmsg records, journal messages) and the
//! aggregator: nothing may panic; every event is bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_sensor::{Aggregator, Recognizer};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut r = Recognizer::new("h");
    let mut a = Aggregator::new(4);
    for line in text.split('\n') {
        for e in [
            r.line(0, line),
            r.kmsg(0, line),
            r.message(0, "sshd", Some(1), line),
            r.message(0, "rpcbind", None, line),
        ]
        .into_iter()
        .flatten()
        {
            assert!(e.raw.len() <= picket_correlator::event::RAW_CAP);
            a.push(e);
        }
    }
    for e in a.drain() {
        assert!(e.count >= 1);
    }
});
