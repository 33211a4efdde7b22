//! Timeperiod line parser and evaluation on arbitrary input: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_config::timeperiod::{is_valid, next_valid_time, parse_line, PeriodLine, Timeperiod};
use picket_config::{Location, TimeperiodId};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (t, rest) = data.split_at(8);
    let secs = i64::from_le_bytes(t.try_into().unwrap_or([0; 8])) % 4_000_000_000;
    let text = String::from_utf8_lossy(rest);
    let lines: Vec<PeriodLine> = text.lines().filter_map(|l| parse_line(l).ok()).collect();
    let file: std::sync::Arc<std::path::Path> = std::sync::Arc::from(std::path::Path::new("f"));
    let tp = vec![Timeperiod::new(
        TimeperiodId(0),
        "t".into(),
        "t".into(),
        lines,
        vec![TimeperiodId(0)],
        Location::new(&file, 1),
    )];
    if let Ok(ts) = jiff::Timestamp::from_second(secs.abs()) {
        let tz = jiff::tz::TimeZone::UTC;
        let _ = is_valid(&tp, TimeperiodId(0), ts, &tz);
        let _ = next_valid_time(&tp, TimeperiodId(0), ts, &tz);
    }
});
