//! Parse speed of the log grammar (not a test): the LOG lines recorded from nagios4 in
//! `crates/picket/tests/oracle-scenarios` repeated to N lines, then parsed by MODE:
//! `log` (`picket_log::parse_line`, borrowing), `history` (`picket_history::parse_line`,
//! the owned `Event` the store takes) or `none` (building the lines only, to subtract).
//! Take the CPU time from outside, which load does not distort much:
//!
//!     cargo build --release -p picket-history --example parse_speed
//!     for m in none log history; do
//!         perf stat -e task-clock target/release/examples/parse_speed $m 1000000
//!     done

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "history".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../picket/tests/oracle-scenarios");
    let mut base = Vec::new();
    for d in std::fs::read_dir(&root)
        .expect("oracle scenarios")
        .flatten()
    {
        if let Ok(t) = std::fs::read_to_string(d.path().join("expected.txt")) {
            base.extend(
                t.lines()
                    .filter_map(|l| l.strip_prefix("LOG "))
                    .map(|b| format!("[1764680000] {b}")),
            );
        }
    }
    let lines: Vec<&String> = base.iter().cycle().take(n).collect();
    let start = std::time::Instant::now();
    let mut typed = 0usize;
    for l in &lines {
        typed += match mode.as_str() {
            "log" => picket_log::parse_line(l)
                .is_ok_and(|x| !matches!(x.record, picket_log::Record::Raw(_)))
                .into(),
            "history" => picket_history::parse_line(l)
                .is_ok_and(|x| x.event.kind() != picket_history::EventKind::Raw)
                .into(),
            _ => l.len() & 1,
        };
    }
    let wall = start.elapsed();
    println!(
        "{mode}: {n} lines, {typed} typed, {:.0} ns/line wall",
        wall.as_nanos() as f64 / n as f64
    );
}
