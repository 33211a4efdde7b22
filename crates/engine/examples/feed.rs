//! Feed a file of command-file lines straight into the engine (no FIFO, no threads) and
//! print the rate: the engine's own cost per line, for BENCHMARKS.md (engine section).
//!
//! `cargo run --release -p picket-engine --example feed -- MAIN_CFG LINES_FILE`

use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(main_cfg), Some(lines)) = (args.next(), args.next()) else {
        return Err("usage: feed MAIN_CFG LINES_FILE".into());
    };
    let loaded = picket_config::load(std::path::Path::new(&main_cfg), &Default::default())?;
    let mut engine = picket_engine::Engine::new(
        Arc::new(loaded.config),
        jiff::tz::TimeZone::UTC,
        Default::default(),
    );
    let data = std::fs::read_to_string(lines)?;
    let now = 1_800_000_000;
    engine.start(now);
    let _ = engine.take_outputs();
    let mut log_bytes = 0usize;
    let (mut log, mut jobs, mut requests) = (String::new(), Vec::new(), Vec::new());
    let start = Instant::now();
    let mut n = 0usize;
    for (i, line) in data.lines().enumerate() {
        engine.process_line(now, line);
        n += 1;
        if i % 4096 == 0 {
            engine.drain_into(&mut log, &mut jobs, &mut requests);
            log_bytes += log.len();
            log.clear();
        }
    }
    log_bytes += engine.take_outputs().log.len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} lines in {secs:.3} s: {:.0} lines/s, {:.1} MB of log",
        n as f64 / secs,
        log_bytes as f64 / 1e6
    );
    Ok(())
}
