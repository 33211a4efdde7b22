//! Ingest benchmark of the history store (not a test): the log lines of DENIALS denials as
//! the engine writes them for the seed's volatile service through the FIFO (`EXTERNAL
//! COMMAND`, `PASSIVE SERVICE CHECK`, `SERVICE ALERT`: three rows each), stored in
//! transactions of BATCH lines into a fresh database file, then the Denied view, the
//! connection events of one source and the incident list queried.
//!
//!     cargo run --release -p picket-history --example ingest -- [DENIALS] [SOURCES] [BATCH] [INCIDENTS] [PER_SECOND]
//!
//! The log's clock advances one second every PER_SECOND denials (default 10,000; the
//! daemon's benchmark logs ≈ 500,000 a second, a burst).
//!
//! Prints where the time went: parsing, inserting, committing; and the query latencies.

use std::time::{Duration, Instant};

use picket_history::{
    ConnEventQuery, Cursor, DeniedQuery, IncidentQuery, Record, Store, StoreConfig, parse_line,
};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let denials = arg(1, 1_000_000);
    let sources = arg(2, 50_000).max(1);
    let batch = arg(3, 10_000).max(1);
    let incidents = arg(4, 10_000);
    let per_second = arg(5, 10_000).max(1);
    let hosts = 20;
    let daemons = ["sshd", "in.ftpd", "in.telnetd"];
    let now = 1_764_680_000i64;
    let dir = std::env::temp_dir().join(format!("picket-ingest-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("history.db");
    let mut lines = Vec::with_capacity(denials * 3 + incidents);
    for i in 0..denials {
        let t = now + (i / per_second) as i64;
        let s = i % sources;
        let addr = format!("10.{}.{}.{}", s >> 16 & 255, s >> 8 & 255, s & 255);
        let host = format!("web{}", (i / 7) % hosts);
        let d = daemons[i % daemons.len()];
        lines.push(format!(
            "[{t}] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;{host};TCP Wrappers;2;Denied {d}-{addr}"
        ));
        lines.push(format!(
            "[{t}] PASSIVE SERVICE CHECK: {host};TCP Wrappers;2;Denied {d}-{addr}"
        ));
        lines.push(format!(
            "[{t}] SERVICE ALERT: {host};TCP Wrappers;CRITICAL;HARD;1;Denied {d}-{addr}"
        ));
    }
    for i in 0..incidents {
        let t = now + i as i64;
        let key = format!("10.0.{}.{}", i >> 8 & 255, i & 255);
        let tr = if i % 3 == 2 { "closed" } else { "opened" };
        lines.push(format!(
            "[{t}] SCAN INCIDENT: {};{tr};{key};horizontal;12;3;1;1;{t};{t};0;web1,web2,web3;tcp/22;sshd;{key} scanned 3 hosts on tcp/22",
            i / 2 + 1
        ));
    }
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut store = Store::open(&db, StoreConfig::default()).expect("open");
    let (mut parse, mut insert) = (Duration::ZERO, Duration::ZERO);
    let t0 = Instant::now();
    let cpu0 = cpu_secs();
    let mut offset = 0u64;
    let mut rows = 0usize;
    for chunk in lines.chunks(batch) {
        let p = Instant::now();
        let recs: Vec<Record> = chunk
            .iter()
            .filter_map(|l| parse_line(l).ok().map(Record::Log))
            .collect();
        parse += p.elapsed();
        offset += chunk.iter().map(|l| l.len() as u64 + 1).sum::<u64>();
        let i = Instant::now();
        rows += store
            .insert_batch_at(&recs, "nagios.log", Cursor { file_id: 1, offset })
            .expect("insert");
        insert += i.elapsed();
    }
    let total = t0.elapsed();
    let cpu = cpu_secs() - cpu0;
    println!(
        "CPU (user+sys) of parse+insert+commit: {cpu:.2} s = {:.1} µs per denial",
        cpu * 1e6 / denials.max(1) as f64
    );
    println!(
        "{rows} rows ({denials} denials, {sources} sources, {} MB of log) in {:.2} s: {:.0} rows/s; parse {:.2} s, insert+commit {:.2} s (batch {batch})",
        bytes / 1_000_000,
        total.as_secs_f64(),
        rows as f64 / total.as_secs_f64(),
        parse.as_secs_f64(),
        insert.as_secs_f64()
    );
    let time = |what: &str, f: &mut dyn FnMut() -> usize| {
        let mut best = Duration::MAX;
        let mut n = 0;
        for _ in 0..5 {
            let t = Instant::now();
            n = f();
            best = best.min(t.elapsed());
        }
        println!(
            "{what}: {n} rows, best of 5 {:.1} ms",
            best.as_secs_f64() * 1e3
        );
    };
    time("Store::denied (default)", &mut || {
        store.denied(&DeniedQuery::default()).expect("denied").len()
    });
    time("Store::denied (host web3)", &mut || {
        store
            .denied(&DeniedQuery {
                host: Some("web3".into()),
                ..Default::default()
            })
            .expect("denied")
            .len()
    });
    time("Store::denied (since last minute)", &mut || {
        store
            .denied(&DeniedQuery {
                since: Some(now + (denials / per_second) as i64 - 60),
                ..Default::default()
            })
            .expect("denied")
            .len()
    });
    time(
        "Store::denied (since the middle: every source straddles it)",
        &mut || {
            store
                .denied(&DeniedQuery {
                    since: Some(now + (denials / per_second / 2) as i64),
                    ..Default::default()
                })
                .expect("denied")
                .len()
        },
    );
    time("Store::denied (host web3, since the middle)", &mut || {
        store
            .denied(&DeniedQuery {
                host: Some("web3".into()),
                since: Some(now + (denials / per_second / 2) as i64),
                ..Default::default()
            })
            .expect("denied")
            .len()
    });
    time("Store::connection_events (one source)", &mut || {
        store
            .connection_events(&ConnEventQuery {
                source: Some("10.0.0.7".into()),
                ..Default::default()
            })
            .expect("events")
            .len()
    });
    time("Store::connection_events (a /24)", &mut || {
        store
            .connection_events(&ConnEventQuery {
                source: Some("10.0.1.0/24".into()),
                ..Default::default()
            })
            .expect("events")
            .len()
    });
    time("Store::incidents (default)", &mut || {
        store
            .incidents(&IncidentQuery::default())
            .expect("incidents")
            .len()
    });
    time("Store::incidents (open)", &mut || {
        store
            .incidents(&IncidentQuery {
                open: Some(true),
                ..Default::default()
            })
            .expect("incidents")
            .len()
    });
    drop(store);
    // Retention at the row cap: half of the rows go, a chunk at a time, as the daemon's
    // history thread prunes (each deleted connection event is taken out of the aggregates,
    // and a group whose first denial went gets its new first).
    let keep = (rows / 3 / 2) as u64;
    let mut store = Store::open(
        &db,
        StoreConfig {
            max_rows: Some(keep),
            ..StoreConfig::default()
        },
    )
    .expect("open");
    let (t, cpu0) = (Instant::now(), cpu_secs());
    let mut pruned = 0usize;
    loop {
        let n = store.prune(now + 86_400).expect("prune");
        pruned += n;
        if n < store.config().prune_chunk as usize {
            break;
        }
    }
    let cpu = cpu_secs() - cpu0;
    println!(
        "Store::prune to {keep} rows: {pruned} rows in {:.2} s, CPU {:.1} µs per row",
        t.elapsed().as_secs_f64(),
        cpu * 1e6 / pruned.max(1) as f64
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`, clock ticks of
/// 1/100 s): the figure that the load of a shared machine distorts least.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime: fields 14 and 15 of the line, 11 and 12 (from 0) after the name.
    (ticks(11) + ticks(12)) / 100.0
}
