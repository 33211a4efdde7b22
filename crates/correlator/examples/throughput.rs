//! Cost per event of the correlator, on one core. Run with
//! `cargo run --release -p picket-correlator --example throughput [EVENTS [WORKLOAD]]`.
//!
//! Events are built beforehand; the timing covers `observe` plus draining the transitions,
//! with `now` advancing one second per 10,000 events.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use picket_correlator::{Config, ConnectionEvent, Correlator, Kind, Proto, Source};

const T0: i64 = 1_800_000_000;

fn run(name: &str, make: impl FnOnce() -> Vec<ConnectionEvent>) {
    let only = std::env::args().nth(2).unwrap_or_default();
    if !name.contains(only.as_str()) {
        return;
    }
    let events = make();
    let n = events.len();
    let mut c = Correlator::new(Config::default());
    let mut out = Vec::new();
    let mut transitions = 0usize;
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    for (i, e) in events.into_iter().enumerate() {
        let now = T0 + (i / 10_000) as i64;
        c.observe(now, e);
        c.drain_into(&mut out);
        transitions += out.len();
        out.clear();
    }
    let wall = start.elapsed().as_secs_f64();
    let secs = cpu_seconds() - cpu0;
    let s = c.stats();
    println!(
        "{name:<34} {n:>9} events {:>6.0} ns/event (CPU) {:>5.2} M events/s (wall {:.2} s)  transitions {transitions:>7}  opened {:>6}  evicted sources {:>7}",
        secs * 1e9 / n as f64,
        n as f64 / secs / 1e6,
        wall,
        s.opened,
        s.evicted_sources,
    );
}

/// User + system CPU time of this process.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    t(u.user_time()) + t(u.system_time())
}

fn ev(i: usize, host: usize, src: IpAddr, port: u16, kind: Kind) -> ConnectionEvent {
    let t = T0 + (i / 10_000) as i64;
    ConnectionEvent::new(t, &format!("web{host}"), Source::addr(src), kind).port(Proto::Tcp, port)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    // Sweeps: sources each sweeping 50 hosts on tcp/22 (incidents open, events folded).
    run("sweeps (50 hosts each)", || {
        (0..n)
            .map(|i| {
                let src = IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + (i / 50) as u32));
                ev(i, i % 50, src, 22, Kind::Refused)
            })
            .collect()
    });
    // Spoofed flood: every event a new source (eviction, hold overflow, release).
    run("spoofed flood (all distinct)", || {
        (0..n)
            .map(|i| {
                // Scattered over the address space: no two in one /24 (nearly).
                let src = IpAddr::V4(Ipv4Addr::from((i as u32).wrapping_mul(2_654_435_761)));
                ev(i, i % 200, src, 22, Kind::FirewallDrop)
            })
            .collect()
    });
    // Brute force: 1,000 sources, each refused again and again by the same host.
    run("repeated refusals (1k sources)", || {
        (0..n)
            .map(|i| {
                let src = IpAddr::V4(Ipv4Addr::from(0xc000_0200 + (i % 1000) as u32));
                ev(i, i % 1000, src, 22, Kind::Refused)
            })
            .collect()
    });
    // One vertical scanner over every port of one host, drops from the firewall.
    run("vertical (all ports of one host)", || {
        (0..n)
            .map(|i| {
                let src = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9));
                ev(i, 1, src, (i % 65535 + 1) as u16, Kind::FirewallDrop)
            })
            .collect()
    });
}
