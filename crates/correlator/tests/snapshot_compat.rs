//! The snapshot format across changes of the in-memory maps: a snapshot written by an
//! earlier build (a fixture: small caps, so that evictions, expiries, closes and stale
//! queue entries are all in it) still loads, is written back as the same bytes, and the run
//! goes on exactly as it did in that build.
//!
//! `PICKET_WRITE_FIXTURE=1 cargo test -p picket-correlator --test snapshot_compat` rewrites
//! the fixture (only when the format is meant to change).

use std::net::{IpAddr, Ipv4Addr};

use picket_correlator::{Config, ConnectionEvent, Correlator, Kind, Proto, Snapshot, Source};

const T0: i64 = 1_800_000_000;
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/snapshot-small-caps.json"
);

fn config() -> Config {
    Config {
        max_sources: 40,
        max_prefixes: 30,
        max_held: 60,
        max_incidents: 40,
        quiet: 120,
        max_entries_per_source: 8,
        ..Config::default()
    }
}

/// A deterministic mix: a flood of distinct sources, sweeps, a vertical scan, a /24 spread
/// over many sources, named and unknown sources, with time going by (expiry, closes).
fn event(i: u64) -> ConnectionEvent {
    let t = T0 + (i / 2) as i64;
    let x = i.wrapping_mul(2_654_435_761) as u32;
    let (src, host, port, kind) = match i % 7 {
        0 | 1 => (
            Source::addr(IpAddr::V4(Ipv4Addr::from(x))),
            i % 50,
            22,
            Kind::FirewallDrop,
        ),
        2 => (
            Source::addr(IpAddr::V4(Ipv4Addr::new(
                203,
                0,
                113,
                (i / 70 % 4 + 4 * (i / 1500)) as u8,
            ))),
            i % 13,
            22,
            Kind::Refused,
        ),
        3 => (
            Source::addr(IpAddr::V4(Ipv4Addr::new(
                198,
                51,
                100,
                (9 + i / 1500) as u8,
            ))),
            1,
            (i % 300 + 1) as u16,
            Kind::FirewallDrop,
        ),
        4 => (
            Source::addr(IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 97) as u8))),
            i % 11,
            23,
            Kind::Refused,
        ),
        5 => (
            Source::Name(format!("host{}.example", i % 9 + 9 * (i / 1500))),
            i % 5,
            80,
            Kind::AuthFail,
        ),
        _ => (
            if i % 3 == 0 {
                Source::Unknown
            } else {
                Source::addr(
                    format!("2001:db8:{:x}::{:x}", i % 5, i)
                        .parse()
                        .expect("v6"),
                )
            },
            i % 4,
            25,
            Kind::Refused,
        ),
    };
    ConnectionEvent::new(t, &format!("web{host}"), src, kind).port(Proto::Tcp, port)
}

/// Events `from..to`, ticking every second; the transitions as text.
fn run(c: &mut Correlator, from: u64, to: u64) -> String {
    let mut log = String::new();
    for i in from..to {
        let e = event(i);
        let now = e.time + (i % 3) as i64;
        c.tick(now);
        c.observe(now, e);
        for t in c.take_transitions() {
            log.push_str(&serde_json::to_string(&t).expect("transition"));
            log.push('\n');
        }
    }
    log
}

/// FNV-1a of the transitions' text: the fixture holds the digest, not the text.
fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}:{h:016x}", s.lines().count())
}

#[test]
fn an_earlier_snapshot_loads_and_the_run_goes_on_as_before() {
    let mut c = Correlator::new(config());
    let first = run(&mut c, 0, 3000);
    let snap = serde_json::to_string(&c.snapshot()).expect("snapshot");
    let rest = run(&mut c, 3000, 6000);
    let after = serde_json::to_string(&c.snapshot()).expect("snapshot");
    let digest = format!("{} {}", fnv(&first), fnv(&rest));
    if std::env::var_os("PICKET_WRITE_FIXTURE").is_some() {
        let fixture = format!("{snap}\n----\n{after}\n----\n{digest}");
        std::fs::write(FIXTURE, fixture).expect("write fixture");
        return;
    }
    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    let mut parts = fixture.splitn(3, "\n----\n");
    let (old, old_after, old_digest) = (
        parts.next().expect("snapshot"),
        parts.next().expect("snapshot after"),
        parts.next().expect("transitions"),
    );
    // This build writes what the earlier one wrote, at both points.
    assert_eq!(snap, old);
    assert_eq!(after, old_after);
    assert_eq!(digest, old_digest);
    // The earlier snapshot loads, is written back unchanged, and the run goes on the same.
    let s: Snapshot = serde_json::from_str(old).expect("parse");
    let mut back = Correlator::restore(config(), s).expect("restore");
    assert_eq!(
        serde_json::to_string(&back.snapshot()).expect("snapshot"),
        old
    );
    assert_eq!(fnv(&run(&mut back, 3000, 6000)), fnv(&rest));
    assert_eq!(
        serde_json::to_string(&back.snapshot()).expect("snapshot"),
        old_after
    );
}

/// Earlier builds wrote the closed-incident times as a JSON map, which could only be empty
/// (its keys are not strings: a snapshot after a close failed to be written at all). Such a
/// snapshot still loads; one taken after a close is written and read back.
#[test]
fn closed_incident_times_are_written_and_the_old_empty_map_still_loads() {
    let fresh = serde_json::to_string(&Correlator::new(config()).snapshot()).expect("snapshot");
    assert!(fresh.contains("\"last_closed\":[]"), "{fresh}");
    let old = fresh.replace("\"last_closed\":[]", "\"last_closed\":{}");
    let s: Snapshot = serde_json::from_str(&old).expect("the old form parses");
    let c = Correlator::restore(config(), s).expect("restore");
    assert_eq!(
        serde_json::to_string(&c.snapshot()).expect("snapshot"),
        fresh
    );

    let mut c = Correlator::new(config());
    run(&mut c, 0, 3000);
    assert!(c.stats().closed > 0);
    let json = serde_json::to_string(&c.snapshot()).expect("a snapshot after a close");
    let back = Correlator::restore(config(), serde_json::from_str(&json).expect("parse"))
        .expect("restore");
    assert_eq!(
        serde_json::to_string(&back.snapshot()).expect("snapshot"),
        json
    );
}
