//! Edge aggregation: floods become a handful of events per window. Sans-I/O.
//!
//! Events are grouped by (source, kind, daemon, destination address, protocol). Within a
//! group the first [`PORTS_PER_GROUP`] distinct destination ports each keep one event
//! (with its count, first time and raw line); further ports are folded into one overflow
//! event without a port whose text says `N more from X on ports a-b (k distinct)`. So a
//! SYN scan of 65,535 ports from one source is at most `PORTS_PER_GROUP + 1` events per
//! window — enough for the correlator's vertical detector (15 firewall ports) — and a
//! flood from many sources is at most `max_groups` groups: beyond that new groups are not
//! kept and counted in [`AggStats::dropped`] (the caller logs and exposes the count).
//!
//! Memory is bounded by `max_groups × PORTS_PER_GROUP` entries; each [`Aggregator::push`]
//! is one hash lookup and a scan of at most [`PORTS_PER_GROUP`] ports.
//!
//! [`Aggregator::drain`] empties every group in first-seen order (the output order is the
//! order in which groups and ports were first seen), so the caller can persist its read
//! offsets right after delivering a drain: nothing read before it is still held here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use picket_correlator::{ConnectionEvent, Kind, Proto, Source};

/// Distinct ports kept per group and window.
pub const PORTS_PER_GROUP: usize = 32;

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggStats {
    /// Events pushed.
    pub pushed: u64,
    /// Events drained (each may stand for many pushed).
    pub emitted: u64,
    /// Events not kept because `max_groups` groups were full (their connections are lost;
    /// counted, logged by the caller).
    pub dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    source: Source,
    kind: Kind,
    daemon: Option<String>,
    dest_addr: Option<IpAddr>,
    proto: Option<Proto>,
}

#[derive(Debug)]
struct Group {
    order: u64,
    ports: Vec<(Option<u16>, ConnectionEvent, i64)>,
    overflow: u64,
    overflow_ports: std::collections::HashSet<u16, BuildHasherDefault<Fnv>>,
    over_lo: u16,
    over_hi: u16,
    over_first: i64,
    over_last: i64,
}

/// The aggregator of one sensor.
#[derive(Debug)]
pub struct Aggregator {
    /// Groups by a hash of their key (collisions share the vector).
    groups: FastMap<u64, Vec<(Key, Group)>>,
    len: usize,
    max_groups: usize,
    seq: u64,
    stats: AggStats,
}

/// FNV-1a: the keys are short and come from one sensor's own recognizer; a flood of
/// crafted keys costs at most `max_groups` entries per window.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

impl Key {
    fn matches(&self, e: &ConnectionEvent) -> bool {
        self.kind == e.kind
            && self.proto == e.proto
            && self.dest_addr == e.dest_addr
            && self.source == e.source
            && self.daemon == e.daemon
    }
}

fn fingerprint(e: &ConnectionEvent) -> u64 {
    use std::hash::Hash;
    let mut h = Fnv::default();
    e.source.hash(&mut h);
    e.kind.hash(&mut h);
    e.daemon.hash(&mut h);
    e.dest_addr.hash(&mut h);
    e.proto.hash(&mut h);
    h.finish()
}

/// Distinct overflow ports counted exactly up to this many per group.
const OVERFLOW_DISTINCT_CAP: usize = 65_536;

impl Aggregator {
    /// An aggregator holding at most `max_groups` groups per window.
    #[must_use]
    pub fn new(max_groups: usize) -> Self {
        Aggregator {
            groups: FastMap::default(),
            len: 0,
            max_groups: max_groups.max(1),
            seq: 0,
            stats: AggStats::default(),
        }
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &AggStats {
        &self.stats
    }

    /// Nothing held?
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one event.
    pub fn push(&mut self, ev: ConnectionEvent) {
        self.stats.pushed += 1;
        let h = fingerprint(&ev);
        let n = self.len;
        let seq = &mut self.seq;
        let bucket = self.groups.entry(h).or_default();
        let idx = match bucket.iter().position(|(k, _)| k.matches(&ev)) {
            Some(i) => i,
            None => {
                if n >= self.max_groups {
                    self.stats.dropped += 1;
                    return;
                }
                *seq += 1;
                self.len += 1;
                bucket.push((
                    Key {
                        source: ev.source.clone(),
                        kind: ev.kind,
                        daemon: ev.daemon.clone(),
                        dest_addr: ev.dest_addr,
                        proto: ev.proto,
                    },
                    Group {
                        order: *seq,
                        ports: Vec::new(),
                        overflow: 0,
                        overflow_ports: Default::default(),
                        over_lo: u16::MAX,
                        over_hi: 0,
                        over_first: ev.time,
                        over_last: ev.time,
                    },
                ));
                bucket.len() - 1
            }
        };
        let g = &mut bucket[idx].1;
        if let Some(slot) = g.ports.iter_mut().find(|(p, _, _)| *p == ev.dest_port) {
            slot.1.count = slot.1.count.saturating_add(ev.count);
            slot.1.time = slot.1.time.min(ev.time);
            slot.2 = slot.2.max(ev.time);
            return;
        }
        if g.ports.len() < PORTS_PER_GROUP {
            let t = ev.time;
            g.ports.push((ev.dest_port, ev, t));
            return;
        }
        if g.overflow == 0 {
            g.over_first = ev.time;
            g.over_last = ev.time;
        }
        g.overflow += u64::from(ev.count);
        g.over_first = g.over_first.min(ev.time);
        g.over_last = g.over_last.max(ev.time);
        if let Some(p) = ev.dest_port {
            g.over_lo = g.over_lo.min(p);
            g.over_hi = g.over_hi.max(p);
            if g.overflow_ports.len() < OVERFLOW_DISTINCT_CAP {
                g.overflow_ports.insert(p);
            }
        }
    }

    /// Empties the window: the aggregated events, in first-seen order.
    pub fn drain(&mut self) -> Vec<ConnectionEvent> {
        let mut groups: Vec<(Key, Group)> = self.groups.drain().flat_map(|(_, v)| v).collect();
        self.len = 0;
        groups.sort_by_key(|(_, g)| g.order);
        let mut out = Vec::new();
        for (key, g) in groups {
            let template = g.ports.first().map(|(_, e, _)| e.clone());
            for (_, mut e, last) in g.ports {
                if e.count > 1 {
                    e.raw = summary(&e, last);
                }
                out.push(e);
            }
            if g.overflow > 0 {
                let Some(mut e) = template else { continue };
                e.dest_port = None;
                e.count = u32::try_from(g.overflow).unwrap_or(u32::MAX);
                e.time = g.over_first;
                let proto = key.proto.map_or("", Proto::name);
                e.raw = if g.overflow_ports.is_empty() {
                    format!(
                        "{} more {} from {} in {} s",
                        g.overflow,
                        key.kind.name(),
                        key.source,
                        g.over_last - g.over_first
                    )
                } else {
                    format!(
                        "{} more {} from {} on {proto} ports {}-{} ({} distinct) in {} s",
                        g.overflow,
                        key.kind.name(),
                        key.source,
                        g.over_lo,
                        g.over_hi,
                        g.overflow_ports.len(),
                        g.over_last - g.over_first
                    )
                };
                out.push(e);
            }
        }
        self.stats.emitted += out.len() as u64;
        out
    }
}

fn summary(e: &ConnectionEvent, last: i64) -> String {
    let port = match (e.proto, e.dest_port) {
        (Some(p), Some(n)) => format!(" on {}/{n}", p.name()),
        _ => String::new(),
    };
    let mut s = format!(
        "{} {} from {}{port} in {} s; first: ",
        e.count,
        e.kind.name(),
        e.source,
        last - e.time
    );
    s.push_str(&e.raw);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drop_ev(t: i64, src: &str, port: u16) -> ConnectionEvent {
        ConnectionEvent::new(
            t,
            "fw",
            Source::addr(src.parse().expect("ip")),
            Kind::FirewallDrop,
        )
        .daemon("DROP-IN")
        .port(Proto::Tcp, port)
    }

    #[test]
    fn a_port_scan_is_a_handful() {
        let mut a = Aggregator::new(16);
        for round in 0..3 {
            for p in 1..=10_000u16 {
                a.push(drop_ev(100 + round, "203.0.113.5", p));
            }
        }
        let out = a.drain();
        assert_eq!(out.len(), PORTS_PER_GROUP + 1);
        assert_eq!(out[0].dest_port, Some(1));
        assert_eq!(out[0].count, 3);
        let last = out.last().expect("overflow");
        assert_eq!(last.dest_port, None);
        assert_eq!(u64::from(last.count), 3 * (10_000 - PORTS_PER_GROUP as u64));
        assert!(
            last.raw.contains("ports 33-10000 (9968 distinct) in 2 s"),
            "{}",
            last.raw
        );
        let total: u64 = out.iter().map(|e| u64::from(e.count)).sum();
        assert_eq!(total, 30_000);
        assert!(a.is_empty());
        assert_eq!(a.drain(), vec![]);
    }

    #[test]
    fn groups_are_bounded_and_ordered() {
        let mut a = Aggregator::new(2);
        a.push(drop_ev(1, "192.0.2.2", 22));
        a.push(drop_ev(1, "192.0.2.1", 22));
        a.push(drop_ev(1, "192.0.2.3", 22));
        a.push(drop_ev(2, "192.0.2.2", 22));
        assert_eq!(a.stats().dropped, 1);
        let out = a.drain();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].source.to_string(), "192.0.2.2");
        assert_eq!(out[0].count, 2);
        assert!(
            out[0]
                .raw
                .starts_with("2 firewall_drop from 192.0.2.2 on tcp/22 in 1 s")
        );
        assert_eq!(out[1].count, 1);
    }
}
