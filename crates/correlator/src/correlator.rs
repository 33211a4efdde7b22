//! The correlator: connection events and `now` in, incident transitions out.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::event::{ConnectionEvent, Kind, Proto, Source};
use crate::lru::{KeyHash, LastSeen, Lru};
use crate::net::Prefix;
use crate::render;
use crate::small::Small;

/// Names and ports shown in a transition (the counts are exact up to [`SET_CAP`]).
pub const DISPLAY: usize = 16;
/// Distinct hosts, ports, daemons or sources remembered per incident.
pub const SET_CAP: usize = 4096;
/// Hits remembered per (prefix, port) for the distributed detector.
const PREFIX_HITS: usize = 64;
/// Times are clamped to `0..=MAX_TIME` (year 36812) and durations to a year, so that no
/// arithmetic on hostile or absurd times can overflow.
pub const MAX_TIME: i64 = 1 << 40;
const MAX_DURATION: i64 = 366 * 86_400;

/// The configuration with every duration within `0..=MAX_DURATION`.
fn clamped(mut c: Config) -> Config {
    for d in [
        &mut c.hold,
        &mut c.quiet,
        &mut c.recurrence,
        &mut c.update_interval,
        &mut c.horizontal_window,
        &mut c.vertical_window,
        &mut c.distributed_window,
        &mut c.slow_window,
    ] {
        *d = (*d).clamp(0, MAX_DURATION);
    }
    c.hold = c.hold.min(crate::config::MAX_HOLD);
    c
}

/// Snapshot format version.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Which rule made (or escalated) an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// One source refused by several hosts.
    Horizontal,
    /// One source on several ports or daemons of one host.
    Vertical,
    /// A trap port or daemon was touched.
    Trap,
    /// Several sources of one /24 (/64) on the same port across hosts.
    Distributed,
    /// The longer-window versions of horizontal and vertical.
    Slow,
}

impl Detector {
    /// Lower-case name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Detector::Horizontal => "horizontal",
            Detector::Vertical => "vertical",
            Detector::Trap => "trap",
            Detector::Distributed => "distributed",
            Detector::Slow => "slow",
        }
    }
}

/// A set of detectors (a bit per detector).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Detectors(u8);

impl Detectors {
    const ALL: [Detector; 5] = [
        Detector::Horizontal,
        Detector::Vertical,
        Detector::Trap,
        Detector::Distributed,
        Detector::Slow,
    ];

    fn bit(d: Detector) -> u8 {
        1 << (d as u8)
    }

    fn one(d: Detector) -> Self {
        Detectors(Self::bit(d))
    }

    fn contains(self, d: Detector) -> bool {
        self.0 & Self::bit(d) != 0
    }

    fn insert(&mut self, d: Detector) {
        self.0 |= Self::bit(d);
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn minus(self, other: Detectors) -> Detectors {
        Detectors(self.0 & !other.0)
    }

    fn iter(self) -> impl Iterator<Item = Detector> {
        Self::ALL.into_iter().filter(move |d| self.contains(*d))
    }
}

/// What an incident is about: one source, or one network (distributed scans).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKey {
    /// One source.
    Source(Source),
    /// One /24 (or /64).
    Prefix(Prefix),
}

impl fmt::Display for IncidentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncidentKey::Source(s) => s.fmt(f),
            IncidentKey::Prefix(p) => p.fmt(f),
        }
    }
}

/// What happened to an incident (or to a held refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// A detector crossed its threshold: a new incident. Notifies.
    Opened,
    /// More events (counts, hosts, ports). Does not notify; at most one per
    /// `update_interval` per incident.
    Updated,
    /// A new detector, or a large jump in hosts or ports. Notifies once.
    Escalated,
    /// Quiet for `quiet` seconds (or evicted): the OK result.
    Closed,
    /// A lone refusal that no incident took within the hold: the caller turns it into the
    /// seed's alert (the event's `raw` output on its reporter).
    Released,
}

/// The Nagios state the caller submits for a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 0
    Ok,
    /// 2
    Critical,
}

impl Status {
    /// The Nagios return code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Critical => 2,
        }
    }
}

/// An incident as the outside world sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentView {
    /// Unique, increasing.
    pub id: u64,
    /// Source or prefix.
    pub key: IncidentKey,
    /// Detectors that fired so far, in order of [`Detector`].
    pub detectors: Vec<Detector>,
    /// Open or closed.
    pub open: bool,
    /// Time of the first event (event time).
    pub first_seen: i64,
    /// Time of the last event (event time).
    pub last_seen: i64,
    /// Connections (sum of event counts).
    pub events: u64,
    /// The first [`DISPLAY`] reporting hosts, in order of first appearance.
    pub hosts: Vec<String>,
    /// Distinct reporting hosts.
    pub host_count: usize,
    /// The first [`DISPLAY`] ports (`tcp/22`), or daemons when no port is known.
    pub ports: Vec<String>,
    /// Distinct ports (or daemons, when no port is known).
    pub port_count: usize,
    /// The first [`DISPLAY`] daemons.
    pub daemons: Vec<String>,
    /// Distinct daemons.
    pub daemon_count: usize,
    /// Distinct source addresses (more than one for a prefix incident).
    pub source_count: usize,
    /// Event kinds seen.
    pub kinds: Vec<Kind>,
    /// Opened within `recurrence` of the same key's last close.
    pub recurrence: bool,
    /// That last close, if any.
    pub previous_close: Option<i64>,
}

/// One output of the correlator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// `now` when it happened.
    pub time: i64,
    /// What happened.
    pub kind: TransitionKind,
    /// The state to submit.
    pub status: Status,
    /// Does it notify (opened, escalated, released; closed sends OK, which Nagios turns
    /// into a recovery)?
    pub notify: bool,
    /// The plugin output for the caller's service (sanitized, at most
    /// [`render::OUTPUT_CAP`] bytes); for `released`, the event's raw output.
    pub output: String,
    /// The incident, for all kinds but `released`.
    pub incident: Option<IncidentView>,
    /// The event, for `released`.
    pub event: Option<ConnectionEvent>,
    /// Why: the new detector or the jump (`escalated`), `quiet` or `evicted` (`closed`),
    /// `hold` or `overflow` (`released`).
    pub reason: Option<String>,
    /// Open incidents after this transition (the caller sends OK when it reaches 0).
    pub open_incidents: usize,
    /// For `released`: the tag the event was given ([`Correlator::observe_tagged`]; 0
    /// otherwise).
    #[serde(default)]
    pub tag: u64,
}

/// What [`Correlator::observe_tagged`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Allow-listed: counted and ignored (the caller handles it as if there were no
    /// detection).
    Allowed,
    /// Put on hold: it will come out as a `released` transition, or as a [`Folded`] when an
    /// incident takes it.
    Held,
    /// Folded into an open incident at once (also reported as a [`Folded`]).
    Folded,
}

/// An event folded into an incident (reported when [`Correlator::report_folds`] is on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folded {
    /// `now` when it was folded.
    pub time: i64,
    /// The incident that took it.
    pub incident: u64,
    /// The event's tag ([`Correlator::observe_tagged`]).
    pub tag: u64,
    /// The event (bounded).
    pub event: ConnectionEvent,
}

/// Counters (for `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Events given to `observe`.
    pub events: u64,
    /// Events from allow-listed sources (ignored).
    pub allowed: u64,
    /// Events whose source address was unknown (correlated as the source `unknown`).
    pub unknown_source: u64,
    /// Events added to an open incident (including held ones folded on opening).
    pub folded: u64,
    /// Events put on hold.
    pub held: u64,
    /// Held events released after the hold.
    pub released: u64,
    /// Held events released early because the hold queue was full.
    pub released_overflow: u64,
    /// Incidents opened / escalated / closed.
    pub opened: u64,
    /// See `opened`.
    pub escalated: u64,
    /// See `opened`.
    pub closed: u64,
    /// Sources evicted because `max_sources` was reached.
    pub evicted_sources: u64,
    /// (prefix, port) trackers evicted because `max_prefixes` was reached.
    pub evicted_prefixes: u64,
    /// Per-source entries evicted because `max_entries_per_source` was reached.
    pub evicted_entries: u64,
    /// Open incidents closed early because `max_incidents` was reached.
    pub evicted_incidents: u64,
    /// Names beyond `max_names`, counted under `(other)`.
    pub name_overflow: u64,
    /// Events whose time was in the future (taken as `now`).
    pub future_events: u64,
}

/// Everything needed to resume after a restart (serde; e.g. JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    state: State,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Interner {
    names: Vec<String>,
    #[serde(skip)]
    ids: HashMap<String, u32>,
}

impl Interner {
    fn rebuild(&mut self) {
        self.ids = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), u32::try_from(i).unwrap_or(0)))
            .collect();
    }

    /// Id 0 is `(other)`.
    fn id(&mut self, name: &str, cap: usize, stats: &mut Stats) -> u32 {
        if self.names.is_empty() {
            self.names.push("(other)".to_string());
            self.ids.insert("(other)".to_string(), 0);
        }
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        if self.names.len() >= cap.saturating_add(1) {
            stats.name_overflow += 1;
            return 0;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(0);
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        self.names
            .get(id as usize)
            .map_or("(other)", String::as_str)
    }
}

/// Port targets are `proto << 16 | port` (proto 1..=3); daemons `DAEMON_BIT | name id`;
/// 0 when neither is known.
const DAEMON_BIT: u32 = 0x8000_0000;

fn port_target(proto: Proto, port: u16) -> u32 {
    let p = match proto {
        Proto::Tcp => 1,
        Proto::Udp => 2,
        Proto::Icmp => 3,
    };
    (p << 16) | u32::from(port)
}

/// Are there at least `k` distinct keys in `items`? Stops as soon as there are (the
/// thresholds are small): O(n·k), and no allocation for a threshold up to 32.
fn at_least_distinct<K: PartialEq + Copy>(items: impl Iterator<Item = K>, k: usize) -> bool {
    const INLINE: usize = 32;
    if k == 0 {
        return true;
    }
    let mut inline: [Option<K>; INLINE] = [None; INLINE];
    let mut heap: Vec<K> = Vec::new();
    let mut n = 0;
    for v in items {
        let known = if k <= INLINE {
            inline[..n].contains(&Some(v))
        } else {
            heap.contains(&v)
        };
        if !known {
            if k <= INLINE {
                inline[n] = Some(v);
            } else {
                heap.push(v);
            }
            n += 1;
            if n >= k {
                return true;
            }
        }
    }
    false
}

/// How an event changed a source's observations (what the detectors must look at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Growth {
    /// Nothing a distinct count depends on.
    None,
    /// A new (host, port, kind) of a host already counted.
    NewTarget,
    /// A host not counted in the windows before (or an observation back in them).
    NewReporter,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry {
    reporter: u32,
    target: u32,
    daemon: u32,
    kind: Kind,
    first: i64,
    last: i64,
    count: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SourceState {
    /// `now` of the last event (for eviction).
    seen: i64,
    entries: Small<Entry>,
}

impl LastSeen for SourceState {
    fn last_seen(&self) -> i64 {
        self.seen
    }
}

/// An address in one write (8 bytes), an IPv6 address in one (16).
impl KeyHash for Source {
    fn write_key<H: std::hash::Hasher>(&self, h: &mut H) {
        match self {
            Source::Addr(IpAddr::V4(a)) => h.write_u64(u64::from(a.to_bits())),
            Source::Addr(IpAddr::V6(a)) => h.write_u128(a.to_bits()),
            Source::Name(n) => {
                h.write_u8(b'n');
                h.write(n.as_bytes());
            }
            Source::Unknown => h.write_u8(0),
        }
    }
}

/// An IPv4 (prefix, target) in one write (16 bytes), an IPv6 one in two (24).
impl KeyHash for (Prefix, u32) {
    fn write_key<H: std::hash::Hasher>(&self, h: &mut H) {
        let (p, target) = self;
        let tail = (u64::from(p.len) << 32) | u64::from(*target);
        match p.addr {
            IpAddr::V4(a) => h.write_u128((u128::from(a.to_bits()) << 64) | u128::from(tail)),
            IpAddr::V6(a) => {
                h.write_u128(a.to_bits());
                h.write_u64(tail);
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PrefixState {
    seen: i64,
    /// (source, reporter, event time), one per (source, reporter).
    hits: Small<(IpAddr, u32, i64)>,
}

impl LastSeen for PrefixState {
    fn last_seen(&self) -> i64 {
        self.seen
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Distinct<T: Ord> {
    order: Vec<T>,
    set: BTreeSet<T>,
    more: bool,
}

impl<T: Ord> Default for Distinct<T> {
    fn default() -> Self {
        Distinct {
            order: Vec::new(),
            set: BTreeSet::new(),
            more: false,
        }
    }
}

impl<T: Ord + Clone> Distinct<T> {
    fn insert(&mut self, v: T) -> bool {
        if self.set.contains(&v) {
            return false;
        }
        if self.set.len() >= SET_CAP {
            self.more = true;
            return false;
        }
        if self.order.len() < DISPLAY {
            self.order.push(v.clone());
        }
        self.set.insert(v);
        true
    }

    fn count(&self) -> usize {
        self.set.len()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Incident {
    id: u64,
    key: IncidentKey,
    detectors: Detectors,
    first_seen: i64,
    last_seen: i64,
    /// `now` of the last event folded in.
    activity: i64,
    events: u64,
    hosts: Distinct<u32>,
    targets: Distinct<u32>,
    daemons: Distinct<u32>,
    sources: Distinct<IpAddr>,
    kinds: BTreeSet<Kind>,
    recurrence: bool,
    previous_close: Option<i64>,
    last_update: i64,
    dirty: bool,
    next_host_level: u64,
    next_port_level: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    deadline: i64,
    event: ConnectionEvent,
    #[serde(default)]
    tag: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    names: Interner,
    sources: Lru<Source, SourceState>,
    prefixes: Lru<(Prefix, u32), PrefixState>,
    incidents: BTreeMap<u64, Incident>,
    /// Open incident by key (rebuilt from `incidents` on restore).
    #[serde(skip)]
    open_by_key: HashMap<IncidentKey, u64>,
    /// Written as a list of (key, time) pairs: the keys are not strings, so a JSON map could
    /// not hold them. Read from that list, or from a map (what earlier builds wrote; in JSON
    /// it could only be empty).
    #[serde(with = "pairs")]
    last_closed: BTreeMap<IncidentKey, i64>,
    held: VecDeque<Held>,
    next_id: u64,
    /// Nothing in `incidents` is due before this `now` (a lower bound).
    next_check: i64,
    last_expire: i64,
    stats: Stats,
}

/// A map written as a sequence of (key, value) pairs, read from such a sequence or a map.
mod pairs {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Serialize, Serializer};

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        struct Pairs<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Pairs<K, V> {
            type Value = BTreeMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of (key, value) pairs, or a map")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = BTreeMap::new();
                while let Some((k, v)) = a.next_element::<(K, V)>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = BTreeMap::new();
                while let Some((k, v)) = a.next_entry::<K, V>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_any(Pairs(PhantomData))
    }
}

/// The correlator. See the crate documentation.
#[derive(Debug, Clone)]
pub struct Correlator {
    cfg: Config,
    st: State,
    out: Vec<Transition>,
    scratch: Vec<u32>,
    folds: Option<Vec<Folded>>,
}

impl Correlator {
    /// A correlator with no state.
    #[must_use]
    pub fn new(cfg: Config) -> Self {
        Correlator {
            cfg: clamped(cfg),
            st: State {
                next_id: 1,
                next_check: i64::MAX,
                ..State::default()
            },
            out: Vec::new(),
            scratch: Vec::new(),
            folds: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.st.stats
    }

    /// Sources and (prefix, port) pairs tracked now, and lone refusals held.
    #[must_use]
    pub fn tracked(&self) -> (usize, usize, usize) {
        (
            self.st.sources.len(),
            self.st.prefixes.len(),
            self.st.held.len(),
        )
    }

    /// How many incidents are open.
    #[must_use]
    pub fn open_count(&self) -> usize {
        self.st.incidents.len()
    }

    /// The open incidents, oldest first.
    #[must_use]
    pub fn open_incidents(&self) -> Vec<IncidentView> {
        self.st
            .incidents
            .values()
            .map(|i| self.view(i, true))
            .collect()
    }

    /// Report every folded event ([`Correlator::take_folded`]); off by default (it costs a
    /// copy of each event). Not part of the snapshot: set it again after a restore.
    pub fn report_folds(&mut self, on: bool) {
        self.folds = on.then(Vec::new);
    }

    /// Takes the events folded so far (empty unless [`Correlator::report_folds`]).
    pub fn take_folded(&mut self) -> Vec<Folded> {
        self.folds.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Takes the transitions produced so far.
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.out)
    }

    /// Appends the transitions produced so far to `out`.
    pub fn drain_into(&mut self, out: &mut Vec<Transition>) {
        out.append(&mut self.out);
    }

    /// When `tick` is next needed (a hold ends, an incident may close or owes an update).
    #[must_use]
    pub fn next_wakeup(&self) -> Option<i64> {
        let held = self.st.held.front().map(|h| h.deadline);
        let inc = (self.st.next_check != i64::MAX).then_some(self.st.next_check);
        match (held, inc) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The state to keep across a restart. Drain the transitions first: they are not in it.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            state: self.st.clone(),
        }
    }

    /// Resumes from a snapshot: open incidents stay open and are not notified again; held
    /// refusals are still released when their hold ends.
    pub fn restore(cfg: Config, snap: Snapshot) -> Result<Self, String> {
        if snap.version != SNAPSHOT_VERSION {
            return Err(format!(
                "correlator snapshot version {} (expected {SNAPSHOT_VERSION})",
                snap.version
            ));
        }
        let mut st = snap.state;
        st.names.rebuild();
        st.open_by_key = st
            .incidents
            .values()
            .map(|i| (i.key.clone(), i.id))
            .collect();
        Ok(Correlator {
            cfg: clamped(cfg),
            st,
            out: Vec::new(),
            scratch: Vec::new(),
            folds: None,
        })
    }

    /// Time passing: releases held refusals whose hold ended, closes quiet incidents, emits
    /// owed updates, forgets old observations.
    pub fn tick(&mut self, now: i64) {
        let now = now.clamp(0, MAX_TIME);
        while self.st.held.front().is_some_and(|h| h.deadline <= now) {
            if let Some(h) = self.st.held.pop_front() {
                self.release(now, h.event, h.tag, "hold");
            }
        }
        if now >= self.st.next_check {
            self.check_incidents(now);
        }
        if now > self.st.last_expire {
            self.st.last_expire = now;
            let r = self.cfg.retention();
            self.st.sources.expire(now, r);
            self.st
                .prefixes
                .expire(now, self.cfg.distributed_window.max(1));
        }
    }

    /// One event at `now`.
    pub fn observe(&mut self, now: i64, ev: ConnectionEvent) {
        self.observe_tagged(now, ev, 0);
    }

    /// One event at `now`, with a tag of the caller's that comes back with it in the
    /// `released` transition or the [`Folded`] report (the daemon keeps the original
    /// result under it). Says what became of the event.
    pub fn observe_tagged(&mut self, now: i64, ev: ConnectionEvent, tag: u64) -> Disposition {
        let now = now.clamp(0, MAX_TIME);
        self.tick(now);
        let ev = ev.bounded();
        let stats = &mut self.st.stats;
        stats.events += 1;
        if let Some(ip) = ev.source.ip() {
            if self.cfg.allowed(ip) {
                stats.allowed += 1;
                return Disposition::Allowed;
            }
        }
        if ev.source == Source::Unknown {
            stats.unknown_source += 1;
        }
        let t = if ev.time > now {
            stats.future_events += 1;
            now
        } else {
            ev.time.max(0)
        };
        let (reporter, daemon, target) = self.ids(&ev);
        let trap = ev.kind == Kind::Trap
            || ev.dest_port.is_some_and(|port| {
                let proto = ev.proto.unwrap_or(Proto::Tcp);
                self.cfg.trap_ports.contains(&(proto, port))
            })
            || ev
                .daemon
                .as_ref()
                .is_some_and(|d| self.cfg.trap_daemons.iter().any(|t| t == d));

        // The distributed detector's bookkeeping.
        let prefix = ev.source.ip().and_then(|ip| {
            let len = if ip.is_ipv4() {
                self.cfg.ipv4_prefix
            } else {
                self.cfg.ipv6_prefix
            };
            Prefix::new(ip, len)
        });
        let src = ev.source.clone();
        let key = IncidentKey::Source(src.clone());
        let open = self.st.open_by_key.get(&key).copied();
        // A source with an incident of its own does not count toward its prefix's.
        let distributed = match (prefix, ev.source.ip()) {
            (Some(p), Some(ip)) if target != 0 && open.is_none() => {
                self.distributed(now, t, p, target, ip, reporter)
            }
            _ => false,
        };

        // The source's observations and its detectors.
        let (growth, slot) =
            self.upsert_entry(now, t, &src, reporter, target, daemon, ev.kind, ev.count);
        let mut fired = Detectors::default();
        if trap {
            fired.insert(Detector::Trap);
        }
        let already = open
            .and_then(|id| self.st.incidents.get(&id))
            .map(|i| i.detectors)
            .unwrap_or_default();
        if growth != Growth::None {
            self.evaluate(t, slot, reporter, growth, already, &mut fired);
        }

        if let Some(id) = open {
            self.fold(now, id, &ev, t, reporter, target, daemon, tag);
            self.after_fold(now, id, fired.minus(already));
            return Disposition::Folded;
        }
        if !fired.is_empty() {
            let id = self.open(now, key, fired, t);
            self.fold_entries(id, &src);
            self.fold(now, id, &ev, t, reporter, target, daemon, tag);
            self.fold_held(now, id, |s| *s == src);
            self.emit_opened(now, id);
            if let (true, Some(p)) = (distributed, prefix) {
                let pid = self.open_prefix(now, p, target, t);
                self.emit_opened(now, pid);
            }
            return Disposition::Folded;
        }
        if let (true, Some(p)) = (distributed, prefix) {
            let pid = self.open_prefix(now, p, target, t);
            self.fold(now, pid, &ev, t, reporter, target, daemon, tag);
            self.emit_opened(now, pid);
            return Disposition::Folded;
        }
        let pkey = prefix.map(IncidentKey::Prefix);
        if let Some(id) = pkey.and_then(|k| self.st.open_by_key.get(&k).copied()) {
            self.fold(now, id, &ev, t, reporter, target, daemon, tag);
            self.after_fold(now, id, Detectors::default());
            return Disposition::Folded;
        }
        self.hold(now, ev, tag);
        Disposition::Held
    }

    /// Interned (host, daemon, target) of an event. The host is the reporter, except for a
    /// firewall drop with a destination address: a gateway's firewall logs the drops of
    /// every host behind it, so there the destination is the host that was probed (on a
    /// host's own firewall the destination is that host, one address as one host), and a
    /// sweep seen by one firewall is a sweep of many hosts.
    fn ids(&mut self, ev: &ConnectionEvent) -> (u32, u32, u32) {
        let max_names = self.cfg.max_names;
        let stats = &mut self.st.stats;
        let reporter = match (ev.kind, ev.dest_addr) {
            (Kind::FirewallDrop, Some(dst)) => self.st.names.id(&dst.to_string(), max_names, stats),
            _ => self.st.names.id(&ev.reporter, max_names, stats),
        };
        let daemon = match &ev.daemon {
            Some(d) => self.st.names.id(d, max_names, stats),
            None => 0,
        };
        let target = match (ev.proto, ev.dest_port) {
            (Some(p), Some(port)) => port_target(p, port),
            _ if ev.daemon.is_some() => DAEMON_BIT | daemon,
            _ => 0,
        };
        (reporter, daemon, target)
    }

    #[allow(clippy::too_many_arguments)]
    fn upsert_entry(
        &mut self,
        now: i64,
        t: i64,
        src: &Source,
        reporter: u32,
        target: u32,
        daemon: u32,
        kind: Kind,
        count: u32,
    ) -> (Growth, u32) {
        let retention = self.cfg.retention();
        let c = &self.cfg;
        // An entry last seen within the shortest window was in every window already.
        let shortest = c.horizontal_window.min(c.vertical_window);
        let reporter_window = if c.slow_window > 0 {
            c.horizontal_window.min(c.slow_window)
        } else {
            c.horizontal_window
        };
        let cap = self.cfg.max_entries_per_source;
        let (slot, s, evicted) = self
            .st
            .sources
            .get_or_insert_slot(src, self.cfg.max_sources, now);
        self.st.stats.evicted_sources += evicted as u64;

        s.seen = now;
        if let Some(e) = s
            .entries
            .iter_mut()
            .find(|e| e.reporter == reporter && e.target == target && e.kind == kind)
        {
            let re_entered = e.last < t - shortest;
            e.last = e.last.max(t);
            e.first = e.first.min(t);
            e.count = e.count.saturating_add(count);
            e.daemon = daemon;
            let growth = if re_entered {
                Growth::NewReporter
            } else {
                Growth::None
            };
            return (growth, slot);
        }
        let live_reporter = s
            .entries
            .iter()
            .any(|e| e.reporter == reporter && e.last >= t - reporter_window);
        if s.entries.len() >= cap {
            // Prune, then evict the oldest quarter at once (amortized O(1) per event for a
            // source that keeps hitting new ports).
            let horizon = t.saturating_sub(retention);
            s.entries.retain(|e| e.last >= horizon);
            if s.entries.len() >= cap {
                let keep = cap - cap.div_ceil(4);
                let cut = s.entries.len() - keep;
                if keep > 0 {
                    s.entries.select_nth_unstable_by_key(cut, |e| e.last);
                }
                s.entries.vec_mut().drain(..cut);
                self.st.stats.evicted_entries += cut as u64;
            }
        }
        s.entries.push(Entry {
            reporter,
            target,
            daemon,
            kind,
            first: t,
            last: t,
            count,
        });
        let growth = if live_reporter {
            Growth::NewTarget
        } else {
            Growth::NewReporter
        };
        (growth, slot)
    }

    /// Runs the window detectors not yet in `already` for the source in `slot` (of
    /// `sources`, from `upsert_entry`) at event time `t`.
    fn evaluate(
        &mut self,
        t: i64,
        slot: u32,
        reporter: u32,
        growth: Growth,
        already: Detectors,
        fired: &mut Detectors,
    ) {
        // A host already counted changes no count of hosts.
        let hosts = growth == Growth::NewReporter;
        let Some(s) = self.st.sources.at(slot) else {
            return;
        };
        let c = &self.cfg;
        let scratch = &mut self.scratch;
        let mut distinct = |since: i64, by_target: bool, with_fw: bool| -> usize {
            scratch.clear();
            scratch.extend(s.entries.iter().filter_map(|e| {
                let keep = e.last >= since
                    && (with_fw || e.kind != Kind::FirewallDrop)
                    && (!by_target || e.reporter == reporter);
                keep.then_some(if by_target { e.target } else { e.reporter })
            }));
            scratch.sort_unstable();
            scratch.dedup();
            scratch.len()
        };
        if hosts
            && !already.contains(Detector::Horizontal)
            && distinct(t - c.horizontal_window, false, true) >= c.horizontal_hosts as usize
        {
            fired.insert(Detector::Horizontal);
        }
        if !already.contains(Detector::Vertical)
            && (distinct(t - c.vertical_window, true, false) >= c.vertical_ports as usize
                || distinct(t - c.vertical_window, true, true) >= c.vertical_fw_ports as usize)
        {
            fired.insert(Detector::Vertical);
        }
        // Slow is subsumed by the fast detectors: never an escalation after them.
        if c.slow_window > 0
            && !already.contains(Detector::Slow)
            && !already.contains(Detector::Horizontal)
            && !already.contains(Detector::Vertical)
            && !fired.contains(Detector::Horizontal)
            && !fired.contains(Detector::Vertical)
            && ((hosts && distinct(t - c.slow_window, false, true) >= c.slow_hosts as usize)
                || distinct(t - c.slow_window, true, false) >= c.slow_ports as usize)
        {
            fired.insert(Detector::Slow);
        }
    }

    /// Records a hit for the distributed detector; true when it fires for `p` (and no
    /// incident is open for `p` yet).
    fn distributed(
        &mut self,
        now: i64,
        t: i64,
        p: Prefix,
        target: u32,
        ip: IpAddr,
        reporter: u32,
    ) -> bool {
        if self.st.open_by_key.contains_key(&IncidentKey::Prefix(p)) {
            return false;
        }
        let k = (p, target);
        let since = t - self.cfg.distributed_window;
        let (ps, evicted) = self
            .st
            .prefixes
            .get_or_insert(&k, self.cfg.max_prefixes, now);
        self.st.stats.evicted_prefixes += evicted as u64;

        ps.seen = now;
        match ps.hits.iter_mut().find(|h| h.0 == ip && h.1 == reporter) {
            Some(h) => {
                // The distinct counts only grow with a new hit, or one back in the window.
                let back = h.2 < since;
                h.2 = h.2.max(t);
                if !back {
                    return false;
                }
            }
            None => {
                ps.hits.retain(|h| h.2 >= since);
                if ps.hits.len() >= PREFIX_HITS {
                    if let Some((i, _)) = ps.hits.iter().enumerate().min_by_key(|(_, h)| h.2) {
                        ps.hits.vec_mut().swap_remove(i);
                    }
                }
                ps.hits.push((ip, reporter, t));
            }
        }
        let live = || ps.hits.iter().filter(|h| h.2 >= since);
        at_least_distinct(live().map(|h| h.0), self.cfg.distributed_sources as usize)
            && at_least_distinct(live().map(|h| h.1), self.cfg.distributed_hosts as usize)
    }

    /// Opens the incident of a distributed scan from `p` on `target` (not emitted: the
    /// caller folds the current event first). It starts with the hits that made the
    /// detector fire and takes the held refusals of the prefix's sources that have no
    /// incident of their own.
    fn open_prefix(&mut self, now: i64, p: Prefix, target: u32, t: i64) -> u64 {
        let id = self.open(
            now,
            IncidentKey::Prefix(p),
            Detectors::one(Detector::Distributed),
            t,
        );
        let since = t - self.cfg.distributed_window;
        let hits: Vec<(IpAddr, u32, i64)> = self
            .st
            .prefixes
            .get(&(p, target))
            .map(|ps| ps.hits.iter().filter(|h| h.2 >= since).copied().collect())
            .unwrap_or_default();
        if let Some(inc) = self.st.incidents.get_mut(&id) {
            for (ip, reporter, time) in hits {
                inc.sources.insert(ip);
                inc.hosts.insert(reporter);
                inc.targets.insert(target);
                inc.first_seen = inc.first_seen.min(time);
            }
        }
        let open = &self.st.open_by_key;
        let takes = |s: &Source| {
            s.ip().is_some_and(|ip| p.contains(ip))
                && !open.contains_key(&IncidentKey::Source(s.clone()))
        };
        let members: Vec<bool> = self
            .st
            .held
            .iter()
            .map(|h| takes(&h.event.source))
            .collect();
        let mut i = 0;
        let mut taken = Vec::new();
        self.st.held.retain(|h| {
            let m = members[i];
            i += 1;
            if m {
                taken.push((h.event.clone(), h.tag));
            }
            !m
        });
        for (ev, tag) in taken {
            self.fold_event(now, id, &ev, tag);
        }
        id
    }

    fn open(&mut self, now: i64, key: IncidentKey, detectors: Detectors, t: i64) -> u64 {
        if self.st.incidents.len() >= self.cfg.max_incidents {
            // The oldest opened (O(log n); a flood must not make each opening scan them all).
            if let Some(victim) = self.st.incidents.keys().next().copied() {
                self.st.stats.evicted_incidents += 1;
                self.close(now, victim, "evicted");
            }
        }
        let id = self.st.next_id;
        self.st.next_id += 1;
        let previous_close = self.st.last_closed.get(&key).copied();
        let recurrence = previous_close.is_some_and(|c| now - c <= self.cfg.recurrence);
        let level = |n: u32| if n == 0 { u64::MAX } else { u64::from(n) };
        self.st.open_by_key.insert(key.clone(), id);
        self.st.incidents.insert(
            id,
            Incident {
                id,
                key,
                detectors,
                first_seen: t,
                last_seen: t,
                activity: now,
                events: 0,
                hosts: Distinct::default(),
                targets: Distinct::default(),
                daemons: Distinct::default(),
                sources: Distinct::default(),
                kinds: BTreeSet::new(),
                recurrence,
                previous_close: previous_close.filter(|_| recurrence),
                last_update: now,
                dirty: false,
                next_host_level: level(self.cfg.escalate_hosts),
                next_port_level: level(self.cfg.escalate_ports),
            },
        );
        self.st.stats.opened += 1;
        self.schedule(now + self.cfg.quiet);
        id
    }

    /// Adds the source's recent observations (they are what made the detector fire).
    fn fold_entries(&mut self, id: u64, src: &Source) {
        let Some(s) = self.st.sources.get(src) else {
            return;
        };
        let Some(inc) = self.st.incidents.get_mut(&id) else {
            return;
        };
        for e in s.entries.iter() {
            inc.hosts.insert(e.reporter);
            if e.target != 0 {
                inc.targets.insert(e.target);
            }
            if e.daemon != 0 {
                inc.daemons.insert(e.daemon);
            }
            inc.kinds.insert(e.kind);
            inc.first_seen = inc.first_seen.min(e.first);
            inc.last_seen = inc.last_seen.max(e.last);
            if let Some(ip) = src.ip() {
                inc.sources.insert(ip);
            }
        }
    }

    /// Moves the held refusals whose source `matches` into incident `id`.
    fn fold_held(&mut self, now: i64, id: u64, matches: impl Fn(&Source) -> bool) {
        let mut taken = Vec::new();
        self.st.held.retain(|h| {
            let m = matches(&h.event.source);
            if m {
                taken.push((h.event.clone(), h.tag));
            }
            !m
        });
        for (ev, tag) in taken {
            self.fold_event(now, id, &ev, tag);
        }
    }

    fn fold_event(&mut self, now: i64, id: u64, ev: &ConnectionEvent, tag: u64) {
        let (reporter, daemon, target) = self.ids(ev);
        let t = ev.time.clamp(0, now);
        self.fold(now, id, ev, t, reporter, target, daemon, tag);
    }

    #[allow(clippy::too_many_arguments)]
    fn fold(
        &mut self,
        now: i64,
        id: u64,
        ev: &ConnectionEvent,
        t: i64,
        reporter: u32,
        target: u32,
        daemon: u32,
        tag: u64,
    ) {
        let Some(inc) = self.st.incidents.get_mut(&id) else {
            return;
        };
        if let Some(f) = self.folds.as_mut() {
            f.push(Folded {
                time: now,
                incident: id,
                tag,
                event: ev.clone(),
            });
        }
        inc.hosts.insert(reporter);
        if target != 0 {
            inc.targets.insert(target);
        }
        if daemon != 0 {
            inc.daemons.insert(daemon);
        }
        if let Some(ip) = ev.source.ip() {
            inc.sources.insert(ip);
        }
        inc.kinds.insert(ev.kind);
        inc.events += u64::from(ev.count);
        inc.first_seen = inc.first_seen.min(t);
        inc.last_seen = inc.last_seen.max(t);
        inc.activity = now;
        self.st.stats.folded += 1;
    }

    /// After an event was folded into an open incident: escalate, or update.
    fn after_fold(&mut self, now: i64, id: u64, new: Detectors) {
        let Some(inc) = self.st.incidents.get_mut(&id) else {
            return;
        };
        let mut reasons: Vec<String> = Vec::new();
        for d in new.iter() {
            inc.detectors.insert(d);
            reasons.push(format!("also {}", d.name()));
        }
        let hosts = inc.hosts.count() as u64;
        if hosts >= inc.next_host_level {
            reasons.push(format!("{hosts} hosts"));
            while inc.next_host_level <= hosts {
                inc.next_host_level = inc.next_host_level.saturating_mul(10);
            }
        }
        let ports = inc.targets.count() as u64;
        if ports >= inc.next_port_level {
            reasons.push(format!("{ports} ports"));
            while inc.next_port_level <= ports {
                inc.next_port_level = inc.next_port_level.saturating_mul(10);
            }
        }
        if !reasons.is_empty() {
            inc.last_update = now;
            inc.dirty = false;
            self.st.stats.escalated += 1;
            self.emit(now, id, TransitionKind::Escalated, Some(reasons.join(", ")));
        } else if now - inc.last_update >= self.cfg.update_interval {
            inc.last_update = now;
            inc.dirty = false;
            self.emit(now, id, TransitionKind::Updated, None);
        } else {
            inc.dirty = true;
            let due = inc.last_update + self.cfg.update_interval;
            self.schedule(due);
        }
        self.schedule(now + self.cfg.quiet);
    }

    fn schedule(&mut self, at: i64) {
        self.st.next_check = self.st.next_check.min(at);
    }

    fn check_incidents(&mut self, now: i64) {
        let quiet = self.cfg.quiet;
        let interval = self.cfg.update_interval;
        let mut close = Vec::new();
        let mut update = Vec::new();
        let mut next = i64::MAX;
        for inc in self.st.incidents.values() {
            let closes_at = inc.activity.saturating_add(quiet);
            if closes_at <= now {
                close.push(inc.id);
                continue;
            }
            next = next.min(closes_at);
            if inc.dirty {
                let due = inc.last_update + interval;
                if due <= now {
                    update.push(inc.id);
                } else {
                    next = next.min(due);
                }
            }
        }
        self.st.next_check = next;
        for id in update {
            if let Some(inc) = self.st.incidents.get_mut(&id) {
                inc.dirty = false;
                inc.last_update = now;
            }
            self.emit(now, id, TransitionKind::Updated, None);
        }
        for id in close {
            self.close(now, id, "quiet");
        }
    }

    fn close(&mut self, now: i64, id: u64, reason: &str) {
        let Some(inc) = self.st.incidents.remove(&id) else {
            return;
        };
        self.st.open_by_key.remove(&inc.key);
        // Start afresh: what made this incident must not make the next one.
        if let IncidentKey::Source(s) = &inc.key {
            self.st.sources.remove(s);
        }
        self.st.last_closed.insert(inc.key.clone(), now);
        if self.st.last_closed.len() > self.cfg.max_incidents.saturating_mul(4) {
            let horizon = now - self.cfg.recurrence;
            self.st.last_closed.retain(|_, t| *t >= horizon);
        }
        self.st.stats.closed += 1;
        let view = self.view(&inc, false);
        let output = render::closed(&view, self.cfg.utc_offset);
        self.out.push(Transition {
            time: now,
            kind: TransitionKind::Closed,
            status: Status::Ok,
            notify: false,
            output,
            incident: Some(view),
            event: None,
            reason: Some(reason.to_string()),
            open_incidents: self.st.incidents.len(),
            tag: 0,
        });
    }

    fn emit_opened(&mut self, now: i64, id: u64) {
        self.emit(now, id, TransitionKind::Opened, None);
    }

    fn emit(&mut self, now: i64, id: u64, kind: TransitionKind, reason: Option<String>) {
        let Some(inc) = self.st.incidents.get(&id) else {
            return;
        };
        let view = self.view(inc, true);
        let mut output = render::incident(&view, self.cfg.utc_offset);
        if let Some(r) = &reason {
            output = render::cap(format!("{output} (escalated: {r})"));
        }
        let notify = matches!(kind, TransitionKind::Opened | TransitionKind::Escalated);
        self.out.push(Transition {
            time: now,
            kind,
            status: Status::Critical,
            notify,
            output,
            incident: Some(view),
            event: None,
            reason,
            open_incidents: self.st.incidents.len(),
            tag: 0,
        });
    }

    fn hold(&mut self, now: i64, ev: ConnectionEvent, tag: u64) {
        if self.st.held.len() >= self.cfg.max_held {
            if let Some(h) = self.st.held.pop_front() {
                self.st.stats.released_overflow += 1;
                self.release(now, h.event, h.tag, "overflow");
            }
        }
        self.st.stats.held += 1;
        self.st.held.push_back(Held {
            deadline: now + self.cfg.hold,
            event: ev,
            tag,
        });
    }

    fn release(&mut self, now: i64, ev: ConnectionEvent, tag: u64, reason: &str) {
        if reason == "hold" {
            self.st.stats.released += 1;
        }
        self.out.push(Transition {
            time: now,
            kind: TransitionKind::Released,
            status: Status::Critical,
            notify: true,
            output: ev.raw.clone(),
            incident: None,
            event: Some(ev),
            reason: Some(reason.to_string()),
            open_incidents: self.st.incidents.len(),
            tag,
        });
    }

    fn target_name(&self, t: u32) -> String {
        if t & DAEMON_BIT != 0 {
            return self.st.names.name(t & !DAEMON_BIT).to_string();
        }
        let proto = match t >> 16 {
            1 => "tcp",
            2 => "udp",
            _ => "icmp",
        };
        format!("{proto}/{}", t & 0xffff)
    }

    fn view(&self, i: &Incident, open: bool) -> IncidentView {
        let names = |d: &Distinct<u32>| -> Vec<String> {
            d.order
                .iter()
                .map(|id| self.st.names.name(*id).to_string())
                .collect()
        };
        IncidentView {
            id: i.id,
            key: i.key.clone(),
            detectors: i.detectors.iter().collect(),
            open,
            first_seen: i.first_seen,
            last_seen: i.last_seen,
            events: i.events,
            hosts: names(&i.hosts),
            host_count: i.hosts.count(),
            ports: i
                .targets
                .order
                .iter()
                .map(|t| self.target_name(*t))
                .collect(),
            port_count: i.targets.count(),
            daemons: names(&i.daemons),
            daemon_count: i.daemons.count(),
            source_count: i.sources.count().max(1),
            kinds: i.kinds.iter().copied().collect(),
            recurrence: i.recurrence,
            previous_close: i.previous_close,
        }
    }
}
