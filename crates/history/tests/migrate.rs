//! Schema 2 → 4: a history file with its connection events in a `conn_events` table of
//! their own opens with every row and every answer as before, its connection events moved
//! into the `ce_*` columns of their lines' `events` rows. Schema 3 → 4: the per-second
//! Denied counts are built and the indexes keyed by source replaced.

use picket_history::{ConnEventQuery, DeniedQuery, IncidentQuery, Query, Store, StoreConfig};

/// Denied results (folded, partial, repeated in one second), `CONNECTION EVENT` lines whose
/// event time is before their line's, a scan incident, other records.
fn lines() -> Vec<Vec<String>> {
    let hosts = ["web1", "web2", "db1"];
    let addrs = [
        "10.0.0.1",
        "10.0.0.2",
        "10.0.1.7",
        "2001:db8::5",
        "scan.example.net",
    ];
    let daemons = ["sshd", "in.ftpd"];
    let mut batches = Vec::new();
    for b in 0..4i64 {
        let mut v = Vec::new();
        for i in 0..60i64 {
            let t = 1_000 + b * 10 + i / 7;
            let n = usize::try_from(b * 60 + i).expect("index");
            let (h, a, d) = (hosts[n % 3], addrs[n % 5], daemons[n % 2]);
            let out = format!("Denied {d}-{a}");
            match n % 6 {
                0 | 1 => {
                    v.push(format!("[{t}] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;{h};TCP Wrappers;2;{out}"));
                    v.push(format!("[{t}] PASSIVE SERVICE CHECK: {h};TCP Wrappers;2;{out}"));
                    v.push(format!("[{t}] SERVICE ALERT: {h};TCP Wrappers;CRITICAL;HARD;1;{out}"));
                }
                2 => v.push(format!(
                    "[{t}] SERVICE ALERT: {h};TCP Wrappers;CRITICAL;HARD;1;{out}"
                )),
                3 => v.push(format!(
                    "[{t}] CONNECTION EVENT: {};{h};{a};tcp;{};{d};firewall_drop;{};fw {a}",
                    t - 3,
                    20 + n % 5,
                    1 + n % 4
                )),
                4 => v.push(format!(
                    "[{t}] SERVICE ALERT: {h};Disk;WARNING;SOFT;2;DISK WARNING - 9% free"
                )),
                _ => v.push(format!(
                    "[{t}] SCAN INCIDENT: {};opened;{a};horizontal;12;3;1;1;{t};{t};0;web1,web2,web3;tcp/22;sshd;{a} scanned 3 hosts",
                    n / 6 + 1
                )),
            }
        }
        batches.push(v);
    }
    batches
}

/// Every answer the history gives about the file, as text.
fn answers(st: &Store) -> Vec<String> {
    let mut out = vec![format!("{:?}", st.count().expect("count"))];
    out.push(format!(
        "{:?}",
        st.query(&Query {
            limit: 10_000,
            ..Default::default()
        })
    ));
    out.push(format!(
        "{:?}",
        st.query(&Query {
            host: Some("web2".into()),
            limit: 7,
            ..Default::default()
        })
    ));
    let mut range = Vec::new();
    st.for_each_in_range(Some(1_005), Some(1_025), &mut |r| {
        range.push(r);
        true
    })
    .expect("range");
    out.push(format!("{range:?}"));
    for source in [
        None,
        Some("10.0.0.1"),
        Some("10.0.0.0/24"),
        Some("10.0.0.0/16"),
        Some("2001:db8::/64"),
        Some("scan.example.net"),
    ] {
        for (since, until) in [
            (None, None),
            (Some(1_010), None),
            (Some(1_000), Some(1_020)),
        ] {
            let q = ConnEventQuery {
                source: source.map(str::to_owned),
                since,
                until,
                limit: 0,
            };
            out.push(format!("{q:?} {:?}", st.connection_events(&q)));
        }
    }
    for since in [None, Some(1_005), Some(1_021)] {
        for host in [None, Some("web2".to_owned())] {
            for (limit, offset) in [(0, 0), (2, 1)] {
                let q = DeniedQuery {
                    since,
                    host: host.clone(),
                    limit,
                    offset,
                };
                out.push(format!("{q:?} {:?}", st.denied(&q)));
            }
        }
    }
    out.push(format!("{:?}", st.denied_totals()));
    out.push(format!("{:?}", st.incidents(&IncidentQuery::default())));
    out
}

fn columns(c: &rusqlite::Connection, table: &str) -> Vec<String> {
    let mut st = c
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .expect("columns");
    st.query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn a_history_file_of_schema_2_opens_with_every_row_and_answer_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = dir.path().join("now.db");
    let old = dir.path().join("v2.db");
    let mut st = Store::open(&now, StoreConfig::default()).expect("open");
    for b in lines() {
        st.ingest_lines(b.iter().map(String::as_str))
            .expect("ingest");
    }
    let want = answers(&st);
    let ce_rows: i64 = rusqlite::Connection::open(&now)
        .expect("open")
        .query_row(
            "SELECT COUNT(*) FROM events WHERE ce_source IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(ce_rows > 100, "{ce_rows}");
    drop(st);
    {
        // The same rows in schema 2, by SQL: the connection events back into a
        // `conn_events` table (in the order its rows were written: their lines' order),
        // the `ce_*` columns and their indexes gone.
        let c = rusqlite::Connection::open(&now).expect("open");
        c.execute("VACUUM INTO ?1", [old.to_str().expect("path")])
            .expect("copy");
        drop(c);
        let c = rusqlite::Connection::open(&old).expect("open");
        c.execute_batch(
            "CREATE TABLE conn_events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
             reporter TEXT NOT NULL, source TEXT NOT NULL, net TEXT NOT NULL, proto TEXT,
             port INTEGER, daemon TEXT, kind TEXT NOT NULL, count INTEGER NOT NULL,
             raw TEXT NOT NULL);
             INSERT INTO conn_events (time, reporter, source, net, proto, port, daemon, kind,
              count, raw)
             SELECT ce_time, COALESCE(ce_reporter, host, ''), ce_source, ce_net, ce_proto,
              ce_port, ce_daemon, ce_kind, ce_count, COALESCE(ce_raw, output)
             FROM events WHERE ce_source IS NOT NULL ORDER BY id;
             UPDATE events SET denied_addr = ce_source, denied_daemon = ce_daemon
             WHERE ce_source IS NOT NULL AND kind != 'connection_event';
             CREATE INDEX conn_events_net ON conn_events(net, source, time);
             CREATE INDEX conn_events_time ON conn_events(time);
             DROP INDEX events_ce_nt;
             DROP TABLE denied_sec;
             ALTER TABLE events DROP COLUMN ce_source;
             ALTER TABLE events DROP COLUMN ce_net;
             ALTER TABLE events DROP COLUMN ce_time;
             ALTER TABLE events DROP COLUMN ce_reporter;
             ALTER TABLE events DROP COLUMN ce_proto;
             ALTER TABLE events DROP COLUMN ce_port;
             ALTER TABLE events DROP COLUMN ce_daemon;
             ALTER TABLE events DROP COLUMN ce_kind;
             ALTER TABLE events DROP COLUMN ce_count;
             ALTER TABLE events DROP COLUMN ce_raw;
             PRAGMA user_version = 2;",
        )
        .expect("schema 2");
        let cols = columns(&c, "events");
        assert!(cols.iter().any(|c| c == "folded"), "{cols:?}");
        assert!(cols.iter().all(|c| !c.starts_with("ce_")), "{cols:?}");
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM conn_events", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, ce_rows);
    }
    for round in 0..2 {
        let mut said = Vec::new();
        let st = Store::open_with_log(&old, StoreConfig::default(), &mut |m| {
            said.push(m.to_owned())
        })
        .expect("open");
        if round == 0 {
            assert_eq!(said.len(), 3, "{said:?}");
            assert!(
                said[0].contains(&format!("moving {ce_rows} connection events")),
                "{said:?}"
            );
            assert!(
                said[1].contains(&format!("{ce_rows} connection events moved, 0 ")),
                "{said:?}"
            );
            assert!(
                said[2].contains("per-second Denied counts built"),
                "{said:?}"
            );
        } else {
            assert!(said.is_empty(), "migrated once: {said:?}");
        }
        let got = answers(&st);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w);
        }
    }
    let c = rusqlite::Connection::open(&old).expect("open");
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, 4);
    let tables: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'conn_events'",
            [],
            |r| r.get(0),
        )
        .expect("tables");
    assert_eq!(tables, 0, "conn_events dropped");
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let now = rusqlite::Connection::open(&now).expect("open");
    assert_eq!(
        sorted(columns(&c, "events")),
        sorted(columns(&now, "events"))
    );
}

#[test]
fn a_history_file_of_schema_3_opens_with_every_answer_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v3.db");
    let mut st = Store::open(&path, StoreConfig::default()).expect("open");
    for b in lines() {
        st.ingest_lines(b.iter().map(String::as_str))
            .expect("ingest");
    }
    let want = answers(&st);
    drop(st);
    let secs = {
        // Schema 3, by SQL: no per-second counts, the connection events indexed by source
        // and by time, the groups by time and with their first times.
        let c = rusqlite::Connection::open(&path).expect("open");
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM denied_sec", [], |r| r.get(0))
            .expect("count");
        c.execute_batch(
            "DROP TABLE denied_sec;
             DROP INDEX events_ce_nt;
             CREATE INDEX events_ce_net ON events(ce_net, ce_source, ce_time)
                 WHERE ce_source IS NOT NULL;
             CREATE INDEX events_ce_time ON events(ce_time) WHERE ce_source IS NOT NULL;
             CREATE INDEX denied_agg_recent ON denied_agg(last_seen);
             ALTER TABLE denied_agg ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
             PRAGMA user_version = 3;",
        )
        .expect("schema 3");
        n
    };
    assert!(secs > 20, "{secs}");
    for round in 0..2 {
        let mut said = Vec::new();
        let st = Store::open_with_log(&path, StoreConfig::default(), &mut |m| {
            said.push(m.to_owned())
        })
        .expect("open");
        if round == 0 {
            assert_eq!(said.len(), 1, "{said:?}");
            assert!(
                said[0].contains(&format!("3 -> 4: {secs} per-second Denied counts built")),
                "{said:?}"
            );
        } else {
            assert!(said.is_empty(), "migrated once: {said:?}");
        }
        assert_eq!(answers(&st), want);
    }
    let c = rusqlite::Connection::open(&path).expect("open");
    let indexes: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'events_ce%' OR name = 'denied_agg_recent' ORDER BY name")
        .expect("indexes")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(indexes, ["events_ce_nt"]);
}
