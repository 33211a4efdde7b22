//! Arbitrary input never panics the recognizer or the aggregator, and every event it
//! produces is bounded (names clean, raw text capped, count ≥ 1).

use picket_correlator::event::RAW_CAP;
use picket_sensor::{Aggregator, Recognizer};
use proptest::prelude::*;

fn line_strategy() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "Dec  2 14:00:01 h ",
        "<38>1 2019-07-08T17:40:16Z h sshd 5 - ",
        "[",
        "]",
        "sshd[1]: ",
        "sshd-session[",
        "kernel: ",
        "IN=",
        " SRC=",
        "192.0.2.1",
        "2001:db8::1",
        " DST=",
        " PROTO=TCP",
        " DPT=",
        "65535",
        "99999",
        " SYN",
        " ACK",
        "Failed password for ",
        " from ",
        " port ",
        "Invalid user ",
        "Connection closed by ",
        " [preauth]",
        "refused connect from ",
        " (",
        ")",
        "drop connection #",
        "[::1]:22",
        " on ",
        "kex_exchange_identification: ",
        "xinetd[2]: ",
        "FAIL: ",
        "from=",
        "é",
        "\u{2028}",
        ";",
        "\"",
        " ",
        "Host ",
        " is not allowed to talk to us!",
        "] ",
        "[ID 1 a.b] ",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(str::to_string), any::<String>()],
        0..24,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn arbitrary_lines(lines in prop::collection::vec(line_strategy(), 1..8)) {
        let mut r = Recognizer::new("h");
        let mut agg = Aggregator::new(8);
        for l in &lines {
            for ev in [r.line(0, l), r.kmsg(0, l), r.message(0, "sshd", Some(1), l), r.message(0, "xinetd", None, l)]
                .into_iter()
                .flatten()
            {
                prop_assert!(ev.raw.len() <= RAW_CAP);
                prop_assert!(ev.count >= 1);
                agg.push(ev);
            }
        }
        for ev in agg.drain() {
            prop_assert!(ev.count >= 1);
        }
    }
}
