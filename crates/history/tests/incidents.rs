//! Connection events and scan incidents (contract C1 lines in, C3 queries out).

use picket_history::{
    ConnEventQuery, DeniedQuery, DeniedSource, Event, IncidentQuery, Store, StoreConfig, parse_line,
};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("history.db"), StoreConfig::default()).expect("open");
    (dir, store)
}

fn conn(t: i64, reporter: &str, source: &str, port: &str, daemon: &str, count: u32) -> String {
    format!(
        "[{t}] CONNECTION EVENT: {t};{reporter};{source};tcp;{port};{daemon};refused;{count};refused connect from {source}; really"
    )
}

fn incident(t: i64, id: u64, transition: &str, key: &str, events: u64) -> String {
    format!(
        "[{t}] SCAN INCIDENT: {id};{transition};{key};horizontal,vertical;{events};3;2;1;100;{t};0;web1,web2,web3;tcp/22,tcp/23;sshd;{key} scanned 3 hosts; since 12:01:07"
    )
}

#[test]
fn connection_event_lines_parse_and_are_queried_by_address_and_prefix() {
    let l = parse_line(&conn(100, "web1", "203.0.113.5", "22", "sshd", 2)).expect("line");
    let Event::ConnectionEvent(e) = &l.event else {
        panic!("{l:?}")
    };
    assert_eq!(
        (
            e.event_time,
            e.reporter.as_str(),
            e.source.as_str(),
            e.port,
            e.count
        ),
        (100, "web1", "203.0.113.5", Some(22), 2)
    );
    assert_eq!(e.raw, "refused connect from 203.0.113.5; really");
    let (_d, mut st) = open();
    let lines = [
        conn(100, "web1", "203.0.113.5", "22", "sshd", 1),
        conn(101, "web2", "203.0.113.5", "22", "sshd", 1),
        conn(102, "web1", "203.0.113.9", "-", "-", 3),
        conn(103, "web1", "198.51.100.1", "23", "in.telnetd", 1),
        conn(104, "web3", "2001:db8:1:2::7", "22", "sshd", 1),
        conn(105, "web3", "unknown", "22", "sshd", 1),
        "[106] SERVICE ALERT: web2;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-203.0.113.5".to_owned(),
    ];
    st.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    let q = |source: &str| {
        st.connection_events(&ConnEventQuery {
            source: Some(source.to_owned()),
            ..Default::default()
        })
        .expect("query")
    };
    let one = q("203.0.113.5");
    assert_eq!(
        one.iter().map(|e| e.time).collect::<Vec<_>>(),
        [106, 101, 100],
        "newest first, the Denied result line included"
    );
    assert_eq!((one[0].kind.as_str(), one[0].count), ("refused", 1));
    assert_eq!(one[0].daemon.as_deref(), Some("sshd"));
    assert_eq!(q("203.0.113.0/24").len(), 4);
    assert_eq!(q("203.0.113.8/29").len(), 1);
    assert_eq!(q("203.0.0.0/16").len(), 4);
    assert_eq!(q("2001:db8:1:2::/64").len(), 1);
    assert_eq!(q("unknown").len(), 1);
    let none = q("203.0.113.9");
    assert_eq!((none[0].port, none[0].daemon.as_deref()), (None, None));
    assert_eq!(none[0].count, 3);
    let all = st
        .connection_events(&ConnEventQuery {
            since: Some(102),
            until: Some(105),
            limit: 2,
            ..Default::default()
        })
        .expect("query");
    assert_eq!(all.iter().map(|e| e.time).collect::<Vec<_>>(), [105, 104]);
    // The Denied view counts both kinds of line, each once.
    let d = st.denied(&DeniedQuery::default()).expect("denied");
    let a = d.iter().find(|s| s.addr == "203.0.113.5").expect("source");
    assert_eq!((a.count, a.first_seen, a.last_seen), (3, 100, 106));
    assert_eq!(a.hosts, ["web1", "web2"]);
    let b = d.iter().find(|s| s.addr == "203.0.113.9").expect("source");
    assert_eq!(b.count, 3, "a sensor's aggregated count");
    assert!(b.daemons.is_empty());
}

#[test]
fn incident_rows_follow_their_transitions() {
    let (_d, mut st) = open();
    let lines = [
        incident(200, 1, "opened", "203.0.113.5", 3),
        incident(201, 2, "opened", "198.51.100.0/24", 4),
        incident(230, 1, "updated", "203.0.113.5", 9),
        incident(260, 1, "closed", "203.0.113.5", 9),
    ];
    st.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    let all = st.incidents(&IncidentQuery::default()).expect("incidents");
    assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 1]);
    let one = st.incident(1).expect("incident").expect("some");
    assert!(!one.open);
    assert_eq!(one.events, 9);
    assert_eq!(one.last_transition, "closed");
    assert_eq!(
        (one.first_seen, one.last_seen, one.updated),
        (100, 260, 260)
    );
    assert_eq!(one.detectors, ["horizontal", "vertical"]);
    assert_eq!(one.hosts, ["web1", "web2", "web3"]);
    assert_eq!(one.ports, ["tcp/22", "tcp/23"]);
    assert_eq!(
        one.last_output,
        "203.0.113.5 scanned 3 hosts; since 12:01:07"
    );
    let open = st
        .incidents(&IncidentQuery {
            open: Some(true),
            ..Default::default()
        })
        .expect("incidents");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, "198.51.100.0/24");
    let by_key = st
        .incidents(&IncidentQuery {
            key: Some("203.0.113.5".into()),
            ..Default::default()
        })
        .expect("incidents");
    assert_eq!(by_key.len(), 1);
    let page = st
        .incidents(&IncidentQuery {
            before_id: Some(2),
            ..Default::default()
        })
        .expect("incidents");
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), [1]);
    assert_eq!(st.incident(99).expect("incident"), None);
}

/// The Denied view as it was computed before the aggregates: a `GROUP BY` over every row.
fn reference(rows: &[(i64, String, String, String, u32)], q: &DeniedQuery) -> Vec<DeniedSource> {
    use std::collections::{BTreeMap, BTreeSet};
    type Acc<'a> = (u64, i64, i64, BTreeSet<&'a str>, BTreeSet<&'a str>);
    let mut by: BTreeMap<&str, Acc<'_>> = BTreeMap::new();
    for (t, host, daemon, addr, n) in rows {
        if q.since.is_some_and(|s| *t < s) || q.host.as_ref().is_some_and(|h| h != host) {
            continue;
        }
        let e = by
            .entry(addr)
            .or_insert((0, i64::MAX, i64::MIN, BTreeSet::new(), BTreeSet::new()));
        e.0 += u64::from(*n);
        e.1 = e.1.min(*t);
        e.2 = e.2.max(*t);
        e.3.insert(host);
        if !daemon.is_empty() {
            e.4.insert(daemon);
        }
    }
    let mut out: Vec<DeniedSource> = by
        .into_iter()
        .map(|(a, (count, first, last, hosts, daemons))| DeniedSource {
            addr: a.to_owned(),
            first_seen: first,
            last_seen: last,
            count,
            host_count: hosts.len() as u64,
            hosts: hosts.into_iter().map(str::to_owned).collect(),
            daemon_count: daemons.len() as u64,
            daemons: daemons.into_iter().map(str::to_owned).collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then(b.count.cmp(&a.count))
            .then(a.addr.cmp(&b.addr))
    });
    let limit = if q.limit == 0 { 500 } else { q.limit as usize };
    out.into_iter()
        .skip(q.offset as usize)
        .take(limit)
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever the mix of Denied result lines and CONNECTION EVENT lines, in however many
    /// batches, and after pruning, the aggregates give what a GROUP BY over the rows gives,
    /// for every filter and page.
    #[test]
    fn aggregates_equal_a_scan_of_the_rows(
        rows in proptest::collection::vec(
            (0i64..40, 0usize..3, 0usize..3, 0usize..6, 1u32..4, proptest::bool::ANY),
            1..80,
        ),
        batch in 1usize..20,
        prune_at in 0i64..50,
    ) {
        let hosts = ["web1", "web2", "db1"];
        let daemons = ["sshd", "in.ftpd", ""];
        let addrs = ["10.0.0.1", "10.0.0.2", "203.0.113.7", "2001:db8::5", "unknown", "scan.example.net"];
        let dir = tempfile::tempdir().expect("tempdir");
        let mut st = Store::open(
            &dir.path().join("h.db"),
            StoreConfig { max_age_secs: Some(1_000), max_rows: None, prune_chunk: 7, ..Default::default() },
        )
        .expect("open");
        let mut model = Vec::new();
        let mut lines = Vec::new();
        for (t, h, d, a, n, sensor) in rows {
            let (host, daemon, addr) = (hosts[h], daemons[d], addrs[a]);
            if sensor || daemon.is_empty() {
                let dm = if daemon.is_empty() { "-" } else { daemon };
                lines.push(format!("[{t}] CONNECTION EVENT: {t};{host};{addr};tcp;22;{dm};refused;{n};raw"));
                model.push((t, host.to_owned(), daemon.to_owned(), addr.to_owned(), n));
            } else {
                lines.push(format!("[{t}] SERVICE ALERT: {host};TCP Wrappers;CRITICAL;HARD;1;Denied {daemon}-{addr}"));
                model.push((t, host.to_owned(), daemon.to_owned(), addr.to_owned(), 1));
            }
        }
        for chunk in lines.chunks(batch) {
            st.ingest_lines(chunk.iter().map(String::as_str)).expect("ingest");
        }
        let queries = |model: &[(i64, String, String, String, u32)], st: &Store| {
            for since in [None, Some(5), Some(20), Some(39)] {
                for host in [None, Some("web2".to_owned())] {
                    for (limit, offset) in [(0, 0), (1, 0), (2, 1), (3, 4)] {
                        let q = DeniedQuery { since, host: host.clone(), limit, offset };
                        assert_eq!(st.denied(&q).expect("denied"), reference(model, &q), "{q:?}");
                    }
                }
            }
            let all = reference(model, &DeniedQuery { limit: 10_000, ..Default::default() });
            assert_eq!(
                st.denied_totals().expect("totals"),
                (all.len() as u64, all.iter().map(|s| s.count).sum::<u64>())
            );
        };
        queries(&model, &st);
        // Retention: everything before `prune_at` goes, a chunk at a time.
        let now = prune_at + 1_000;
        while st.prune(now).expect("prune") >= 7 {}
        model.retain(|r| r.0 >= prune_at);
        queries(&model, &st);
    }
}

#[test]
fn a_database_of_the_previous_version_gets_its_aggregates_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        // The previous schema's table, as it stored denials.
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,
             host TEXT, service TEXT, state TEXT, state_type TEXT, attempt INTEGER, contact TEXT,
             command TEXT, output TEXT NOT NULL, author TEXT, comment TEXT, denied_daemon TEXT,
             denied_addr TEXT, exit_code INTEGER, exit_status TEXT);
             INSERT INTO events (time, kind, host, output, denied_daemon, denied_addr) VALUES
             (10, 'service_alert', 'web1', 'Denied sshd-10.0.0.1', 'sshd', '10.0.0.1'),
             (12, 'service_alert', 'web2', 'Denied sshd-10.0.0.1', 'sshd', '10.0.0.1'),
             (11, 'service_alert', 'web1', 'Denied in.ftpd-10.0.0.2', 'in.ftpd', '10.0.0.2');",
        )
        .expect("old schema");
    }
    for _ in 0..2 {
        let st = Store::open(&path, StoreConfig::default()).expect("open");
        let d = st.denied(&DeniedQuery::default()).expect("denied");
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].addr.as_str(), d[0].count, d[0].first_seen),
            ("10.0.0.1", 2, 10)
        );
        assert_eq!(d[0].hosts, ["web1", "web2"]);
        let ev = st
            .connection_events(&ConnEventQuery {
                source: Some("10.0.0.2".into()),
                ..Default::default()
            })
            .expect("events");
        assert_eq!(ev.len(), 1, "copied once, not at every open");
    }
}
