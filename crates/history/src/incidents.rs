//! Connection events and scan incidents (contract C3): their rows, how a log record becomes
//! one, and the queries of the incident views.
//!
//! * connection events: the `ce_*` columns of the `events` row of each `CONNECTION EVENT`
//!   line and each Denied result line (kind `refused`, count 1; `ce_source` NULL on other
//!   rows). `ce_net` is the source's /24 (IPv4) or /64 (IPv6) as the correlator writes
//!   prefix keys (`203.0.113.0/24`), or the source itself when it is a name or `unknown`;
//!   the partial index `(ce_net, ce_time)` answers a prefix, and an address within its
//!   first and last denial (`denied_src`), newest first without a sort; a wider IPv4
//!   prefix is a range of /24s and the unfiltered list a scan, both sorted by time.
//! * `incidents`: one row per incident id, upserted at each `SCAN INCIDENT` transition.

use std::net::IpAddr;

use picket_correlator::Prefix;
use rusqlite::{OptionalExtension, Row, Transaction, params, params_from_iter, types::Value};
use serde::Serialize;

use crate::parse::{ConnectionEventLine, ScanIncidentLine};
use crate::store::{Result, Store};

/// One scan incident as its last transition left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRow {
    pub id: u64,
    /// The source address/name/`unknown`, or a prefix (`203.0.113.0/24`).
    pub key: String,
    pub detectors: Vec<String>,
    /// Not closed yet.
    pub open: bool,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Events folded.
    pub events: u64,
    /// At most `picket_correlator::DISPLAY` names; `host_count` is the total.
    pub hosts: Vec<String>,
    pub host_count: u64,
    pub ports: Vec<String>,
    pub port_count: u64,
    pub daemons: Vec<String>,
    pub source_count: u64,
    pub recurrence: bool,
    /// `opened`, `updated`, `escalated` or `closed`.
    pub last_transition: String,
    /// The plugin output of the last transition.
    pub last_output: String,
    /// Time of the last transition's log line.
    pub updated: i64,
}

/// Filters of [`Store::incidents`]; newest (highest id) first.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    /// Only open (`Some(true)`) or closed (`Some(false)`) incidents.
    pub open: Option<bool>,
    /// Exact key.
    pub key: Option<String>,
    /// At most this many (0 means 100); capped at 10,000.
    pub limit: usize,
    /// Only `id < before_id` (paging).
    pub before_id: Option<u64>,
}

/// One connection event: a `CONNECTION EVENT` line or a Denied result line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnEventRow {
    /// When it happened (epoch seconds).
    pub time: i64,
    /// The reporting host.
    pub reporter: String,
    /// Address, name or `unknown`.
    pub source: String,
    pub proto: Option<String>,
    pub port: Option<u16>,
    pub daemon: Option<String>,
    /// `refused`, `firewall_drop`, `auth_fail`, `trap`.
    pub kind: String,
    pub count: u32,
    pub raw: String,
}

/// Filters of [`Store::connection_events`]; newest first.
#[derive(Debug, Clone, Default)]
pub struct ConnEventQuery {
    /// An address or name (exact), or a prefix `a.b.c.0/24` (`2001:db8:1:2::/64`).
    pub source: Option<String>,
    /// `time >= since`.
    pub since: Option<i64>,
    /// `time <= until`.
    pub until: Option<i64>,
    /// At most this many (0 means 1,000); capped at 100,000.
    pub limit: usize,
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    detectors TEXT NOT NULL,
    open INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    events INTEGER NOT NULL,
    hosts TEXT NOT NULL,
    host_count INTEGER NOT NULL,
    ports TEXT NOT NULL,
    port_count INTEGER NOT NULL,
    daemons TEXT NOT NULL,
    source_count INTEGER NOT NULL,
    recurrence INTEGER NOT NULL,
    last_transition TEXT NOT NULL,
    last_output TEXT NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_key ON incidents(key, id);
";

/// The `net` column of a source: its /24 or /64 for an address, else the source itself.
pub(crate) fn net_of(source: &str) -> String {
    match source.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = picket_correlator::net::canonical(ip);
            let len = if ip.is_ipv4() { 24 } else { 64 };
            Prefix::new(ip, len).map_or_else(|| source.to_owned(), |p| p.to_string())
        }
        Err(_) => source.to_owned(),
    }
}

/// A connection event about to be stored (borrowed from its log record).
pub(crate) struct NewConnEvent<'a> {
    pub time: i64,
    pub reporter: &'a str,
    pub source: &'a str,
    pub proto: Option<&'a str>,
    pub port: Option<u16>,
    pub daemon: Option<&'a str>,
    pub kind: &'a str,
    pub count: u32,
    pub raw: &'a str,
}

impl<'a> NewConnEvent<'a> {
    pub(crate) fn from_line(c: &'a ConnectionEventLine) -> Self {
        NewConnEvent {
            time: c.event_time,
            reporter: &c.reporter,
            source: &c.source,
            proto: c.proto.as_deref(),
            port: c.port,
            daemon: c.daemon.as_deref(),
            kind: &c.kind,
            count: c.count,
            raw: &c.raw,
        }
    }
}

pub(crate) fn upsert_incident(tx: &Transaction<'_>, time: i64, s: &ScanIncidentLine) -> Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO incidents (id, key, detectors, open, first_seen, last_seen, events, hosts,
         host_count, ports, port_count, daemons, source_count, recurrence, last_transition,
         last_output, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT(id) DO UPDATE SET key = ?2, detectors = ?3, open = ?4, first_seen = ?5,
         last_seen = ?6, events = ?7, hosts = ?8, host_count = ?9, ports = ?10,
         port_count = ?11, daemons = ?12, source_count = ?13, recurrence = ?14,
         last_transition = ?15, last_output = ?16, updated = ?17",
    )?;
    let big = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    st.execute(params![
        big(s.id),
        s.key,
        s.detectors.join(","),
        s.transition != "closed",
        s.first_seen,
        s.last_seen,
        big(s.events),
        s.hosts.join(","),
        big(s.host_count),
        s.ports.join(","),
        big(s.port_count),
        s.daemons.join(","),
        big(s.source_count),
        s.recurrence,
        s.transition,
        s.output,
        time
    ])?;
    Ok(())
}

fn split_list(s: String) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn unsigned(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(i)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

const INCIDENT_COLS: &str = "id, key, detectors, open, first_seen, last_seen, events, hosts,
    host_count, ports, port_count, daemons, source_count, recurrence, last_transition,
    last_output, updated";

fn incident_row(r: &Row<'_>) -> rusqlite::Result<IncidentRow> {
    Ok(IncidentRow {
        id: unsigned(r, 0)?,
        key: r.get(1)?,
        detectors: split_list(r.get(2)?),
        open: r.get(3)?,
        first_seen: r.get(4)?,
        last_seen: r.get(5)?,
        events: unsigned(r, 6)?,
        hosts: split_list(r.get(7)?),
        host_count: unsigned(r, 8)?,
        ports: split_list(r.get(9)?),
        port_count: unsigned(r, 10)?,
        daemons: split_list(r.get(11)?),
        source_count: unsigned(r, 12)?,
        recurrence: r.get(13)?,
        last_transition: r.get(14)?,
        last_output: r.get(15)?,
        updated: r.get(16)?,
    })
}

fn conn_event_row(r: &Row<'_>) -> rusqlite::Result<ConnEventRow> {
    let port: Option<i64> = r.get(4)?;
    let count: i64 = r.get(7)?;
    Ok(ConnEventRow {
        time: r.get(0)?,
        reporter: r.get(1)?,
        source: r.get(2)?,
        proto: r.get(3)?,
        port: port.and_then(|p| u16::try_from(p).ok()),
        daemon: r.get(5)?,
        kind: r.get(6)?,
        count: u32::try_from(count).unwrap_or(u32::MAX),
        raw: r.get(8)?,
    })
}

const CONN_COLS: &str = "ce_time, COALESCE(ce_reporter, host, ''), ce_source, ce_proto, ce_port,
     ce_daemon, ce_kind, ce_count, COALESCE(ce_raw, output)";

/// How a [`ConnEventQuery::source`] is looked up.
enum SourceFilter {
    /// Any source.
    All,
    /// `net = ?` and, when given, `source = ?`.
    Net(String, Option<String>),
    /// `net = ?` (the enclosing /24 or /64), then the prefix checked on each row.
    NetThen(String, Prefix),
    /// A prefix wider than /24 (/64): every row checked.
    Scan(Prefix),
}

fn source_filter(source: Option<&str>) -> SourceFilter {
    let Some(s) = source.filter(|s| !s.is_empty()) else {
        return SourceFilter::All;
    };
    if s.contains('/') {
        if let Ok(p) = Prefix::parse(s) {
            let unit = if p.addr.is_ipv4() { 24 } else { 64 };
            return match p.len.cmp(&unit) {
                std::cmp::Ordering::Equal => SourceFilter::Net(p.to_string(), None),
                std::cmp::Ordering::Greater => match Prefix::new(p.addr, unit) {
                    Some(n) => SourceFilter::NetThen(n.to_string(), p),
                    None => SourceFilter::Scan(p),
                },
                std::cmp::Ordering::Less => SourceFilter::Scan(p),
            };
        }
    }
    SourceFilter::Net(net_of(s), Some(s.to_owned()))
}

/// The statement of [`Store::connection_events`], its arguments, the prefix each row is
/// checked against (no `LIMIT` then) and the limit.
fn conn_events_sql(q: &ConnEventQuery) -> (String, Vec<Value>, Option<Prefix>, usize) {
    let limit = if q.limit == 0 {
        1_000
    } else {
        q.limit.min(100_000)
    };
    let filter = source_filter(q.source.as_deref());
    let mut sql = format!("SELECT {CONN_COLS} FROM events WHERE ce_source IS NOT NULL");
    let mut args: Vec<Value> = Vec::new();
    match &filter {
        SourceFilter::All => {}
        SourceFilter::Scan(p) => {
            // An IPv4 prefix of 8 bits or more is a range of the /24s' text (`10.1.` holds
            // every /24 of 10.1.0.0/16 and nothing else: a dot ends each octet).
            if let (IpAddr::V4(a), true) = (p.addr, p.len >= 8) {
                let octets = a.octets();
                let n = usize::from(p.len / 8).min(3);
                let mut lo: String = octets[..n].iter().map(|o| format!("{o}.")).collect();
                args.push(Value::Text(lo.clone()));
                lo.pop();
                lo.push('/');
                args.push(Value::Text(lo));
                sql.push_str(" AND ce_net >= ? AND ce_net < ?");
            }
        }
        SourceFilter::Net(net, src) => {
            sql.push_str(" AND ce_net = ?");
            args.push(Value::Text(net.clone()));
            if let Some(s) = src {
                sql.push_str(" AND ce_source = ?");
                args.push(Value::Text(s.clone()));
            }
        }
        SourceFilter::NetThen(net, _) => {
            sql.push_str(" AND ce_net = ?");
            args.push(Value::Text(net.clone()));
        }
    }
    if let Some(s) = q.since {
        sql.push_str(" AND ce_time >= ?");
        args.push(Value::Integer(s));
    }
    if let Some(u) = q.until {
        sql.push_str(" AND ce_time <= ?");
        args.push(Value::Integer(u));
    }
    sql.push_str(" ORDER BY ce_time DESC, id DESC");
    let check = match filter {
        SourceFilter::NetThen(_, p) | SourceFilter::Scan(p) => Some(p),
        _ => None,
    };
    if check.is_none() {
        sql.push_str(" LIMIT ?");
        args.push(Value::Integer(i64::try_from(limit).unwrap_or(1_000)));
    }
    (sql, args, check, limit)
}

impl Store {
    /// Scan incidents, newest (highest id) first.
    pub fn incidents(&self, q: &IncidentQuery) -> Result<Vec<IncidentRow>> {
        let mut sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE 1=1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(o) = q.open {
            sql.push_str(" AND open = ?");
            args.push(Value::Integer(i64::from(o)));
        }
        if let Some(k) = &q.key {
            sql.push_str(" AND key = ?");
            args.push(Value::Text(k.clone()));
        }
        if let Some(b) = q.before_id {
            sql.push_str(" AND id < ?");
            args.push(Value::Integer(i64::try_from(b).unwrap_or(i64::MAX)));
        }
        let limit = if q.limit == 0 {
            100
        } else {
            q.limit.min(10_000)
        };
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Value::Integer(i64::try_from(limit).unwrap_or(100)));
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map(params_from_iter(args), incident_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One incident by id.
    pub fn incident(&self, id: u64) -> Result<Option<IncidentRow>> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let mut st = self.conn().prepare_cached(&format!(
            "SELECT {INCIDENT_COLS} FROM incidents WHERE id = ?1"
        ))?;
        let mut rows = st.query_map(params![id], incident_row)?;
        Ok(rows.next().transpose()?)
    }

    /// Connection events (`CONNECTION EVENT` lines and Denied result lines), newest first.
    pub fn connection_events(&self, q: &ConnEventQuery) -> Result<Vec<ConnEventRow>> {
        // One source: only its /24's rows between its first and last denial are read.
        let mut q = q.clone();
        if let SourceFilter::Net(_, Some(src)) = source_filter(q.source.as_deref()) {
            let span: Option<(i64, i64)> = self
                .conn()
                .prepare_cached("SELECT first_seen, last_seen FROM denied_src WHERE addr = ?1")?
                .query_row(params![src], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((first, last)) = span else {
                return Ok(Vec::new());
            };
            q.since = Some(q.since.map_or(first, |s| s.max(first)));
            q.until = Some(q.until.map_or(last, |u| u.min(last)));
        }
        let (sql, args, check, limit) = conn_events_sql(&q);
        let mut st = self.conn().prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let e = conn_event_row(r)?;
            if let Some(p) = &check {
                match e.source.parse::<IpAddr>() {
                    Ok(ip) if p.contains(ip) => {}
                    _ => continue,
                }
            }
            out.push(e);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreConfig;

    /// The connection events are columns of `events` (most of whose rows have none): every
    /// query of them reads one of their partial indexes, an address or a /24 a range of
    /// `events_ce_nt`, newest first without a sort.
    #[test]
    fn the_connection_event_queries_read_their_partial_indexes() {
        let mut st = Store::open_in_memory(StoreConfig::default()).expect("store");
        let lines: Vec<String> = (0..3_000)
            .map(|i| match i % 3 {
                0 => format!(
                    "[{}] SERVICE ALERT: web{};TCP Wrappers;CRITICAL;HARD;1;Denied sshd-10.0.{}.{}",
                    1_000 + i / 100,
                    i % 7,
                    i % 5,
                    i % 11
                ),
                1 => format!(
                    "[{}] CONNECTION EVENT: {};web1;10.0.1.{};tcp;22;sshd;firewall_drop;2;fw",
                    1_000 + i / 100,
                    1_000 + i / 100,
                    i % 13
                ),
                _ => format!(
                    "[{}] SERVICE ALERT: web{};Disk;WARNING;SOFT;2;DISK WARNING",
                    1_000 + i / 100,
                    i % 7
                ),
            })
            .collect();
        st.ingest_lines(lines.iter().map(String::as_str))
            .expect("ingest");
        st.conn().execute_batch("ANALYZE").expect("analyze");
        // (source, the index, whether the rows may be sorted): all of them, or a prefix
        // wider than a /24 (a range of /24s), are sorted by time.
        for (source, index, sorts) in [
            (None, "events_ce_nt", true),
            (Some("10.0.1.3"), "events_ce_nt", false),
            (Some("10.0.1.0/24"), "events_ce_nt", false),
            (Some("10.0.1.0/26"), "events_ce_nt", false),
            (Some("10.0.0.0/16"), "events_ce_nt", true),
        ] {
            for since in [None, Some(1_010)] {
                let q = ConnEventQuery {
                    source: source.map(str::to_owned),
                    since,
                    ..Default::default()
                };
                let (sql, args, _, _) = conn_events_sql(&q);
                let mut p = st
                    .conn()
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .expect("explain");
                let plan: Vec<String> = p
                    .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
                    .expect("plan")
                    .map(|r| r.expect("row"))
                    .collect();
                let (read, sort) = plan.split_at(1);
                assert!(
                    read[0].contains(&format!("USING INDEX {index}")),
                    "{q:?}: {plan:?}"
                );
                let sorted: &[&str] = &["USE TEMP B-TREE FOR ORDER BY"];
                assert!(
                    sort.is_empty() || (sorts && sort == sorted),
                    "{q:?}: {plan:?}"
                );
            }
        }
        let n = st
            .connection_events(&ConnEventQuery {
                source: Some("10.0.1.0/24".into()),
                limit: 100_000,
                ..Default::default()
            })
            .expect("events");
        // 1,000 connection event lines and the 200 denials of 10.0.1.x.
        assert_eq!(n.len(), 1_200);
    }
}
