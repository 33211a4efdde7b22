//! The Denied-connections view from incrementally maintained aggregates.
//!
//! Every connection event (the `ce_*` columns of an `events` row: `CONNECTION EVENT` lines
//! and Denied result lines) is also counted, in the same transaction, in
//!
//! * `denied_agg`: per (source, host, daemon), a group: count, last (which hosts and
//!   daemons a source tried, a host's sources by recency);
//! * `denied_src`: per source: count, first, last, indexed by recency;
//! * `denied_sec`: per group and second: count (the counts and first times of a `since`
//!   or `host` filter, and every count and time again after pruning);
//!
//! so that [`Store::denied`] reads at most a page of sources, their groups and their
//! seconds, however many rows the history holds. A batch is folded in memory first (one
//! upsert per group, per source and per group and second and batch, not per row): a burst
//! from one source on one daemon of a host is one `denied_sec` row a second, and no index of
//! `events` is keyed by the source (the partial `(ce_net, ce_time)` index grows at the end
//! of each /24's range; one keyed by source took a random B-tree insert per denial, a
//! quarter of the history's cost in a burst). Pruning subtracts the rows it deletes
//! ([`subtract_pruned`]) from the seconds, which then give the groups' and sources' counts
//! and times, and no query of this view reads the raw rows.

use std::collections::{BTreeSet, HashMap, HashSet};

use rusqlite::{Connection, Transaction, params};

use crate::store::{DeniedQuery, DeniedSource, Result};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS denied_src (
    addr TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS denied_src_recent ON denied_src(last_seen DESC, count DESC, addr);
CREATE TABLE IF NOT EXISTS denied_agg (
    addr TEXT NOT NULL,
    host TEXT NOT NULL,
    daemon TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (addr, host, daemon)
) WITHOUT ROWID;
DROP INDEX IF EXISTS denied_agg_recent;
CREATE INDEX IF NOT EXISTS denied_agg_host ON denied_agg(host, last_seen);
CREATE TABLE IF NOT EXISTS denied_sec (
    addr TEXT NOT NULL,
    host TEXT NOT NULL,
    daemon TEXT NOT NULL,
    time INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (addr, host, daemon, time)
) WITHOUT ROWID;
";

/// At most this many host and daemon names per source in a [`DeniedSource`]
/// (`host_count` / `daemon_count` are the totals).
pub const MAX_NAMES: usize = 100;

/// Count, first, last.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Agg {
    pub count: i64,
    pub first: i64,
    pub last: i64,
}

impl Agg {
    fn add(&mut self, o: Agg) {
        self.count += o.count;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// A batch's connection events folded by group and second (a group's totals are its
/// seconds'), before they are written. The group key is `addr \0 host \0 daemon` (log text
/// has no NUL), built in a reused buffer so that a group seen again costs no allocation.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    groups: HashMap<String, HashMap<i64, i64>>,
    key: String,
}

/// Split a key of [`Pending`] into its parts.
fn parts<const N: usize>(key: &str) -> [&str; N] {
    let mut it = key.splitn(N, '\0');
    std::array::from_fn(|_| it.next().unwrap_or(""))
}

impl Pending {
    pub(crate) fn add(&mut self, addr: &str, host: &str, daemon: &str, time: i64, count: u32) {
        self.key.clear();
        for (i, part) in [addr, host, daemon].into_iter().enumerate() {
            if i > 0 {
                self.key.push('\0');
            }
            self.key.push_str(part);
        }
        let secs = match self.groups.get_mut(self.key.as_str()) {
            Some(s) => s,
            None => self.groups.entry(self.key.clone()).or_default(),
        };
        *secs.entry(time).or_default() += i64::from(count);
    }

    /// Write the folded counts in the caller's transaction.
    pub(crate) fn flush(&mut self, tx: &Transaction<'_>) -> Result<()> {
        if self.groups.is_empty() {
            return Ok(());
        }
        let mut by_src: HashMap<&str, Agg> = HashMap::new();
        {
            // A group already seen at or after the batch's last denial keeps its
            // `last_seen`: the statement sets neither it nor the columns of the recency
            // index (`denied_agg_host`), so SQLite leaves its entry where it is (a burst
            // from one source logs many denials in the same second). Otherwise (0 rows changed) the group moves forward with `newer`.
            let mut up = tx.prepare_cached(
                "INSERT INTO denied_agg (addr, host, daemon, count, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(addr, host, daemon) DO UPDATE SET count = count + excluded.count
                 WHERE last_seen >= excluded.last_seen",
            )?;
            let mut newer = tx.prepare_cached(
                "UPDATE denied_agg SET count = count + ?4, last_seen = ?5
                 WHERE addr = ?1 AND host = ?2 AND daemon = ?3",
            )?;
            let mut sec = tx.prepare_cached(
                "INSERT INTO denied_sec (addr, host, daemon, time, count)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(addr, host, daemon, time) DO UPDATE SET count = count + excluded.count",
            )?;
            // In key order: consecutive upserts touch neighbouring B-tree pages.
            let mut groups: Vec<(&String, &HashMap<i64, i64>)> = self.groups.iter().collect();
            groups.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let mut times: Vec<(i64, i64)> = Vec::new();
            for (key, per) in groups {
                let [addr, host, daemon] = parts::<3>(key);
                times.clear();
                times.extend(per.iter().map(|(t, c)| (*t, *c)));
                times.sort_unstable();
                for (t, c) in &times {
                    sec.execute(params![addr, host, daemon, t, c])?;
                }
                let a = Agg {
                    count: times.iter().map(|(_, c)| c).sum(),
                    first: times.first().map_or(0, |t| t.0),
                    last: times.last().map_or(0, |t| t.0),
                };
                let p = params![addr, host, daemon, a.count, a.last];
                if up.execute(p)? == 0 {
                    newer.execute(p)?;
                }
                by_src.entry(addr).and_modify(|s| s.add(a)).or_insert(a);
            }
            let mut up = tx.prepare_cached(
                "INSERT INTO denied_src (addr, count, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(addr) DO UPDATE SET count = count + excluded.count,
                 first_seen = min(first_seen, excluded.first_seen),
                 last_seen = max(last_seen, excluded.last_seen)",
            )?;
            let mut by_src: Vec<(&str, Agg)> = by_src.into_iter().collect();
            by_src.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (addr, a) in &by_src {
                up.execute(params![addr, a.count, a.first, a.last])?;
            }
        }
        self.groups.clear();
        Ok(())
    }
}

/// Take the connection-event rows `ids` out of the aggregates (before they are deleted):
/// their seconds' counts are subtracted (a second left empty goes), then each group and
/// source they were in is its remaining seconds' count and times (or goes).
/// Returns the number of rows deleted.
pub(crate) fn subtract_pruned(tx: &Transaction<'_>, ids_sql: &str, arg: i64) -> Result<usize> {
    let mut groups: BTreeSet<[String; 3]> = BTreeSet::new();
    {
        let mut st = tx.prepare(&format!(
            "SELECT ce_source, COALESCE(ce_reporter, host, ''), COALESCE(ce_daemon, ''),
             ce_time, SUM(ce_count)
             FROM events WHERE id IN ({ids_sql}) AND ce_source IS NOT NULL GROUP BY 1, 2, 3, 4"
        ))?;
        let mut sub = tx.prepare_cached(
            "UPDATE denied_sec SET count = count - ?5
             WHERE addr = ?1 AND host = ?2 AND daemon = ?3 AND time = ?4",
        )?;
        let mut gone = tx.prepare_cached(
            "DELETE FROM denied_sec
             WHERE addr = ?1 AND host = ?2 AND daemon = ?3 AND time = ?4 AND count <= 0",
        )?;
        let mut rows = st.query(params![arg])?;
        while let Some(r) = rows.next()? {
            let g: [String; 3] = [r.get(0)?, r.get(1)?, r.get(2)?];
            let (t, c): (i64, i64) = (r.get(3)?, r.get(4)?);
            sub.execute(params![g[0], g[1], g[2], t, c])?;
            gone.execute(params![g[0], g[1], g[2], t])?;
            groups.insert(g);
        }
    }
    let deleted = tx.execute(
        &format!("DELETE FROM events WHERE id IN ({ids_sql})"),
        params![arg],
    )?;
    let mut addrs = BTreeSet::new();
    {
        let mut left = tx.prepare_cached(
            "SELECT SUM(count), MAX(time) FROM denied_sec
             WHERE addr = ?1 AND host = ?2 AND daemon = ?3",
        )?;
        let mut drop = tx.prepare_cached(
            "DELETE FROM denied_agg WHERE addr = ?1 AND host = ?2 AND daemon = ?3",
        )?;
        let mut set = tx.prepare_cached(
            "UPDATE denied_agg SET count = ?4, last_seen = ?5
             WHERE addr = ?1 AND host = ?2 AND daemon = ?3",
        )?;
        for [addr, host, daemon] in groups {
            let (count, last): (Option<i64>, Option<i64>) =
                left.query_row(params![addr, host, daemon], |r| Ok((r.get(0)?, r.get(1)?)))?;
            match (count, last) {
                (Some(c), Some(l)) if c > 0 => set.execute(params![addr, host, daemon, c, l])?,
                _ => drop.execute(params![addr, host, daemon])?,
            };
            addrs.insert(addr);
        }
    }
    let mut span = tx.prepare_cached(
        "SELECT SUM(count), MIN(time), MAX(time) FROM denied_sec WHERE addr = ?1",
    )?;
    for addr in addrs {
        let a: (Option<i64>, Option<i64>, Option<i64>) =
            span.query_row(params![addr], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        match a {
            (Some(c), Some(f), Some(l)) if c > 0 => {
                tx.execute(
                    "UPDATE denied_src SET count = ?2, first_seen = ?3, last_seen = ?4
                     WHERE addr = ?1",
                    params![addr, c, f, l],
                )?;
            }
            _ => {
                tx.execute("DELETE FROM denied_src WHERE addr = ?1", params![addr])?;
            }
        }
    }
    Ok(deleted)
}

/// Rebuild the aggregates from the connection events (a database written before they
/// existed, or migrated with connection events dropped).
pub(crate) fn rebuild(tx: &Transaction<'_>) -> Result<()> {
    build_secs(tx)?;
    tx.execute_batch(
        "DELETE FROM denied_agg; DELETE FROM denied_src;
         INSERT INTO denied_agg (addr, host, daemon, count, last_seen)
           SELECT ce_source, COALESCE(ce_reporter, host, ''), COALESCE(ce_daemon, ''),
           SUM(ce_count), MAX(ce_time)
           FROM events WHERE ce_source IS NOT NULL GROUP BY 1, 2, 3;
         INSERT INTO denied_src (addr, count, first_seen, last_seen)
           SELECT addr, SUM(count), MIN(time), MAX(time) FROM denied_sec GROUP BY addr;",
    )?;
    Ok(())
}

/// Write `denied_sec` from the connection events (a file of schema 3); returns its rows.
pub(crate) fn build_secs(tx: &Transaction<'_>) -> Result<usize> {
    tx.execute("DELETE FROM denied_sec", [])?;
    Ok(tx.execute(
        "INSERT INTO denied_sec (addr, host, daemon, time, count)
         SELECT ce_source, COALESCE(ce_reporter, host, ''), COALESCE(ce_daemon, ''), ce_time,
         SUM(ce_count) FROM events WHERE ce_source IS NOT NULL GROUP BY 1, 2, 3, 4",
        [],
    )?)
}

/// The page of sources, unfiltered: straight from `denied_src`'s recency index.
pub(crate) const PAGE_SQL: &str = "SELECT addr, count, first_seen, last_seen FROM denied_src
     ORDER BY last_seen DESC, count DESC, addr LIMIT ?1 OFFSET ?2";
/// A source's groups.
pub(crate) const GROUPS_SQL: &str = "SELECT host, daemon, count, last_seen
     FROM denied_agg WHERE addr = ?1";
/// Sources (`?1` since) or one host's groups (`?2`) by recency, for the filtered queries
/// (a source's last denial is its newest group's: no index of the groups by time alone).
pub(crate) const RECENT_SQL: &str = "SELECT addr, last_seen FROM denied_src
     WHERE last_seen >= ?1 ORDER BY last_seen DESC, count DESC, addr";
pub(crate) const RECENT_HOST_SQL: &str = "SELECT addr, last_seen FROM denied_agg
     WHERE host = ?2 AND last_seen >= ?1 ORDER BY last_seen DESC";
/// A source's denials at or after `since`: count, first, last.
pub(crate) const SPAN_SQL: &str =
    "SELECT SUM(count), MIN(time), MAX(time) FROM denied_sec WHERE addr = ?1 AND time >= ?2";
/// A source's denials on one host at or after `since`.
pub(crate) const SPAN_HOST_SQL: &str = "SELECT SUM(count), MIN(time), MAX(time) FROM denied_sec
     WHERE addr = ?1 AND host = ?2 AND time >= ?3";

struct Group {
    host: String,
    daemon: String,
    last: i64,
}

fn groups(conn: &Connection, addr: &str) -> Result<Vec<Group>> {
    let mut st = conn.prepare_cached(GROUPS_SQL)?;
    let rows = st.query_map(params![addr], |r| {
        Ok(Group {
            host: r.get(0)?,
            daemon: r.get(1)?,
            last: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn source(addr: String, agg: Agg, groups: &[Group]) -> DeniedSource {
    let hosts: BTreeSet<&str> = groups.iter().map(|g| g.host.as_str()).collect();
    let daemons: BTreeSet<&str> = groups
        .iter()
        .map(|g| g.daemon.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    let names = |s: &BTreeSet<&str>| {
        s.iter()
            .filter(|h| !h.is_empty())
            .take(MAX_NAMES)
            .map(|h| (*h).to_owned())
            .collect::<Vec<_>>()
    };
    DeniedSource {
        first_seen: agg.first,
        last_seen: agg.last,
        count: u64::try_from(agg.count).unwrap_or(0),
        hosts: names(&hosts),
        host_count: hosts.iter().filter(|h| !h.is_empty()).count() as u64,
        daemons: names(&daemons),
        daemon_count: daemons.len() as u64,
        addr,
    }
}

/// [`Store::denied`](crate::Store::denied).
pub(crate) fn query(conn: &Connection, q: &DeniedQuery) -> Result<Vec<DeniedSource>> {
    let limit = if q.limit == 0 { 500 } else { q.limit };
    let (limit, offset) = (i64::from(limit), i64::from(q.offset));
    if q.since.is_none() && q.host.is_none() {
        let mut st = conn.prepare_cached(PAGE_SQL)?;
        let page = st
            .query_map(params![limit, offset], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Agg {
                        count: r.get(1)?,
                        first: r.get(2)?,
                        last: r.get(3)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(page.len());
        for (addr, agg) in page {
            let g = groups(conn, &addr)?;
            out.push(source(addr, agg, &g));
        }
        return Ok(out);
    }
    // Filtered: walk the groups by recency until the page's sources (and every source tied
    // with the last of them) are known, then total each one's matching groups.
    let since = q.since.unwrap_or(i64::MIN);
    let want = usize::try_from(limit + offset).unwrap_or(usize::MAX);
    let mut order: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    {
        let mut st;
        let mut rows = match &q.host {
            Some(h) => {
                st = conn.prepare_cached(RECENT_HOST_SQL)?;
                st.query(params![since, h])?
            }
            None => {
                st = conn.prepare_cached(RECENT_SQL)?;
                st.query(params![since])?
            }
        };
        let mut boundary: Option<i64> = None;
        while let Some(r) = rows.next()? {
            let last: i64 = r.get(1)?;
            if boundary.is_some_and(|b| last < b) {
                break;
            }
            let addr: String = r.get(0)?;
            if seen.insert(addr.clone()) {
                order.push(addr);
                if order.len() == want {
                    boundary = Some(last);
                }
            }
        }
    }
    // Each source's groups of the host (if any) with a denial at or after `since` (its
    // hosts and daemons), and its count and times there from its seconds.
    let mut out = Vec::with_capacity(order.len());
    for addr in order {
        let mut g = groups(conn, &addr)?;
        g.retain(|g| q.host.as_deref().is_none_or(|h| g.host == h) && g.last >= since);
        if g.is_empty() {
            continue;
        }
        let span = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
        let (count, first, last): (Option<i64>, Option<i64>, Option<i64>) = match &q.host {
            Some(h) => conn
                .prepare_cached(SPAN_HOST_SQL)?
                .query_row(params![addr, h, since], span)?,
            None => conn
                .prepare_cached(SPAN_SQL)?
                .query_row(params![addr, since], span)?,
        };
        let (Some(count), Some(first), Some(last)) = (count, first, last) else {
            continue;
        };
        out.push(source(addr, Agg { count, first, last }, &g));
    }
    out.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then(b.count.cmp(&a.count))
            .then(a.addr.cmp(&b.addr))
    });
    Ok(out
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreConfig};

    fn plan(conn: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let rows = st.query_map(args, |r| r.get::<_, String>(3)).expect("plan");
        rows.map(|r| r.expect("row")).collect()
    }

    /// A group seen again in a later batch: at the same second or earlier (its recency
    /// entries stay), later (they move); the counts and both ends are right either way.
    #[test]
    fn a_group_seen_again_keeps_its_counts_and_ends_in_any_order() {
        let mut st = Store::open_in_memory(StoreConfig::default()).expect("store");
        let line = |t: i64, host: &str| {
            format!("[{t}] SERVICE ALERT: {host};TCP Wrappers;CRITICAL;HARD;1;Denied sshd-10.0.0.9")
        };
        for batch in [
            vec![line(1_000, "web1")],
            vec![line(1_000, "web1"), line(1_000, "web1")],
            vec![line(990, "web1")],
            vec![line(1_010, "web1"), line(995, "web2")],
            vec![line(1_005, "web1")],
        ] {
            st.ingest_lines(batch.iter().map(String::as_str))
                .expect("ingest");
        }
        let row = |host: &str| -> (i64, i64) {
            st.conn()
                .query_row(
                    "SELECT count, last_seen FROM denied_agg
                     WHERE addr = '10.0.0.9' AND host = ?1 AND daemon = 'sshd'",
                    [host],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("group")
        };
        assert_eq!(row("web1"), (6, 1_010));
        assert_eq!(row("web2"), (1, 995));
        let web1 = st
            .denied(&DeniedQuery {
                host: Some("web1".into()),
                ..Default::default()
            })
            .expect("host");
        assert_eq!(
            (web1[0].count, web1[0].first_seen, web1[0].last_seen),
            (6, 990, 1_010)
        );
        let recent = |host: &str| -> Vec<(String, i64)> {
            let mut q = st.conn().prepare(RECENT_HOST_SQL).expect("recent");
            q.query_map(params![990, host], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("rows")
                .map(|r| r.expect("row"))
                .collect()
        };
        assert_eq!(recent("web1"), [("10.0.0.9".to_owned(), 1_010)]);
        assert_eq!(recent("web2"), [("10.0.0.9".to_owned(), 995)]);
        let d = st.denied(&DeniedQuery::default()).expect("denied");
        assert_eq!(
            (d[0].count, d[0].first_seen, d[0].last_seen, d[0].host_count),
            (7, 990, 1_010, 2)
        );
        let since = st
            .denied(&DeniedQuery {
                since: Some(1_000),
                ..Default::default()
            })
            .expect("since");
        assert_eq!((since[0].count, since[0].first_seen), (5, 1_000));
    }

    /// Shaped like a million denials (a few sources with very many rows each, analyzed so
    /// the planner knows it): every statement of the Denied view reads an aggregate or a
    /// bounded index range, never a whole table of rows, and the page needs no sort.
    #[test]
    fn the_denied_view_never_scans_the_rows() {
        let mut st = Store::open_in_memory(StoreConfig::default()).expect("store");
        let lines: Vec<String> = (0..6_000)
            .map(|i| {
                format!(
                    "[{}] SERVICE ALERT: web{};TCP Wrappers;CRITICAL;HARD;1;Denied sshd-10.0.0.{}",
                    1_000 + i / 100,
                    i % 2,
                    i % 3
                )
            })
            .collect();
        st.ingest_lines(lines.iter().map(String::as_str))
            .expect("ingest");
        st.conn().execute_batch("ANALYZE").expect("analyze");
        let c = st.conn();
        let plans = [
            plan(c, PAGE_SQL, &[&500, &0]),
            plan(c, GROUPS_SQL, &[&"10.0.0.1"]),
            plan(c, RECENT_SQL, &[&1_100]),
            plan(c, RECENT_HOST_SQL, &[&1_100, &"web1"]),
            plan(c, SPAN_SQL, &[&"10.0.0.1", &1_100]),
            plan(c, SPAN_HOST_SQL, &[&"10.0.0.1", &"web1", &1_100]),
        ];
        for p in &plans {
            for step in p {
                assert!(
                    !step.starts_with("SCAN conn_events") && !step.starts_with("SCAN events"),
                    "{plans:?}"
                );
                assert!(!step.contains("TEMP B-TREE"), "{plans:?}");
            }
        }
        assert!(plans[0][0].contains("denied_src_recent"), "{plans:?}");
        assert!(plans[2][0].contains("denied_src_recent"), "{plans:?}");
        assert!(plans[4][0].contains("SEARCH denied_sec"), "{plans:?}");
        assert!(plans[5][0].contains("SEARCH denied_sec"), "{plans:?}");
        let d = st.denied(&DeniedQuery::default()).expect("denied");
        assert_eq!(d.iter().map(|s| s.count).sum::<u64>(), 6_000);
    }
}
