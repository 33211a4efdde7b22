//! Recognizer throughput on one core. Run with
//! `cargo run --release -p picket-sensor --example recognize [LINES]` (or `bench/sensor/run.sh`).
//!
//! Lines are built beforehand (varied addresses, ports and pids); the timing covers
//! `Recognizer::line` (and, for the flood workload, `Aggregator::push` plus a drain per
//! 100,000 lines). CPU time of the process (`getrusage`).

use std::hint::black_box;

use picket_sensor::{Aggregator, Recognizer};

fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    t(u.user_time()) + t(u.system_time())
}

fn run(name: &str, lines: &[String], aggregate: bool) {
    let mut r = Recognizer::new("web1");
    let mut agg = Aggregator::new(4096);
    let mut events = 0usize;
    let mut out = 0usize;
    let c0 = cpu_seconds();
    for (i, l) in lines.iter().enumerate() {
        if let Some(e) = r.line(1_800_000_000, l) {
            events += 1;
            if aggregate {
                agg.push(e);
            } else {
                black_box(e);
            }
        }
        if aggregate && i % 100_000 == 99_999 {
            out += agg.drain().len();
        }
    }
    out += agg.drain().len();
    let secs = cpu_seconds() - c0;
    let n = lines.len();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "{name:<40} {n:>9} lines {:>5.0} ns/line {:>5.2} M lines/s {:>6.0} MB/s  events {events:>9}{}",
        secs * 1e9 / n as f64,
        n as f64 / secs / 1e6,
        bytes as f64 / secs / 1e6,
        if aggregate {
            format!("  aggregated to {out}")
        } else {
            String::new()
        },
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let ip = |i: usize| format!("198.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    let sshd: Vec<String> = (0..n)
        .map(|i| match i % 6 {
            0 => format!("Dec  2 14:00:01 web1 sshd[{}]: Invalid user admin{} from {} port {}", 1000 + i % 5000, i % 7, ip(i), 30000 + i % 20000),
            1 => format!("Dec  2 14:00:01 web1 sshd[{}]: Failed password for invalid user admin from {} port {} ssh2", 1000 + i % 5000, ip(i), 30000 + i % 20000),
            2 => format!("Dec  2 14:00:01 web1 sshd-session[{}]: Connection closed by authenticating user root {} port {} [preauth]", 1000 + i % 5000, ip(i), 40000),
            3 => format!("Dec  2 14:00:01 web1 sshd[{}]: Did not receive identification string from {} port {}", 1000 + i % 5000, ip(i), 50000),
            4 => format!("Dec  2 14:00:01 web1 sshd[{}]: pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)", 1000 + i % 5000),
            _ => format!("Dec  2 14:00:01 web1 CRON[{}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", 1000 + i % 5000),
        })
        .collect();
    let kernel: Vec<String> = (0..n)
        .map(|i| format!(
            "Dec  2 14:00:01 fw kernel: [123456.{:06}] DROP-IN IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={} DST=192.0.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=49 ID={} PROTO=TCP SPT=54321 DPT={} WINDOW=1024 RES=0x00 SYN URGP=0",
            i % 1_000_000, ip(i % 50), i % 65536, 1 + i % 65535
        ))
        .collect();
    run("sshd (4/6 recognized, 2/6 other)", &sshd, false);
    run("kernel LOG (SYN drops)", &kernel, false);
    run("kernel LOG + aggregation (50 sources)", &kernel, true);
}
