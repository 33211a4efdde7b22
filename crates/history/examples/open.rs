//! Open a history file as the daemon does (not a test): a file of an earlier schema is
//! migrated, and what the migration does is printed, then its wall and CPU time and the
//! process's peak RSS (a migration must not hold the file in memory).
//!
//!     cargo run --release -p picket-history --example open -- FILE

use std::time::Instant;

use picket_history::{Store, StoreConfig};

/// `(user + system CPU seconds, peak RSS in MB)` of this process, from `/proc/self`.
fn cpu_and_peak() -> (f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (tick(11) + tick(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    (cpu, peak / 1024)
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: open FILE");
        std::process::exit(2);
    };
    let started = Instant::now();
    let st = Store::open_with_log(
        std::path::Path::new(&path),
        StoreConfig {
            max_age_secs: None,
            max_rows: None,
            ..Default::default()
        },
        &mut |m| println!("{m}"),
    )
    .expect("open");
    let (cpu, peak) = cpu_and_peak();
    println!(
        "opened in {:.1} s wall, {cpu:.1} s CPU, peak RSS {peak} MB; {} lines, Denied totals {:?}",
        started.elapsed().as_secs_f64(),
        st.count().expect("count"),
        st.denied_totals().expect("totals")
    );
}
