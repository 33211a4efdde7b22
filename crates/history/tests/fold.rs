//! One stored row per passive service result (schema 2): the `EXTERNAL COMMAND` and `PASSIVE
//! SERVICE CHECK` lines of a result are folded into its `SERVICE ALERT` row and expanded again
//! by every query, so the history answers exactly as if each line had its own row.

use picket_history::{
    ConnEventQuery, DeniedQuery, EventKind, HistoryRow, Query, Store, StoreConfig,
};
use proptest::prelude::*;

fn open(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&dir.path().join(name), StoreConfig::default()).expect("open")
}

/// The three lines the engine logs for one result through the FIFO.
fn result(t: i64, host: &str, code: u8, out: &str) -> [String; 3] {
    let state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][usize::from(code & 3)];
    [
        format!(
            "[{t}] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;{host};TCP Wrappers;{code};{out}"
        ),
        format!("[{t}] PASSIVE SERVICE CHECK: {host};TCP Wrappers;{code};{out}"),
        format!("[{t}] SERVICE ALERT: {host};TCP Wrappers;{state};HARD;1;{out}"),
    ]
}

fn stored_rows(dir: &tempfile::TempDir, name: &str) -> i64 {
    let c = rusqlite::Connection::open(dir.path().join(name)).expect("open");
    c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .expect("count")
}

/// The lines without their ids (the reference store numbers its rows differently).
fn strip(rows: Vec<HistoryRow>) -> Vec<HistoryRow> {
    rows.into_iter()
        .map(|r| HistoryRow { id: 0, ..r })
        .collect()
}

#[test]
fn a_denial_is_one_row_and_its_three_lines_stay_findable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut st = open(&dir, "h.db");
    let mut lines: Vec<String> = result(100, "web1", 2, "Denied sshd-10.0.0.1").into();
    // A result that does not become an alert (the engine logs no SERVICE ALERT): two lines.
    lines.extend(result(101, "web1", 0, "ok").into_iter().take(2));
    // Lines that do not tell the same result are not folded: another output, another second.
    lines.push("[102] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web2;TCP Wrappers;2;a".into());
    lines.push("[102] PASSIVE SERVICE CHECK: web2;TCP Wrappers;2;b".into());
    lines.push("[103] SERVICE ALERT: web2;TCP Wrappers;CRITICAL;HARD;1;b".into());
    st.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    assert_eq!(st.count().expect("count"), 8, "every line counts");
    drop(st);
    assert_eq!(
        stored_rows(&dir, "h.db"),
        2 + 3,
        "3 lines in one row, 2 in one, 3 alone"
    );
    let st = open(&dir, "h.db");
    let all = st.query(&Query::default()).expect("query");
    assert_eq!(all.len(), 8);
    assert_eq!(
        all.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        [
            "service_alert",
            "passive_service_check",
            "external_command",
            "passive_service_check",
            "external_command",
            "service_alert",
            "passive_service_check",
            "external_command"
        ]
    );
    let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "distinct, newest first: {ids:?}"
    );
    let ext = &all[7];
    assert_eq!(ext.command.as_deref(), Some("PROCESS_SERVICE_CHECK_RESULT"));
    assert_eq!(ext.output, "web1;TCP Wrappers;2;Denied sshd-10.0.0.1");
    assert_eq!(ext.host, None);
    let passive = &all[6];
    assert_eq!(
        (
            passive.host.as_deref(),
            passive.state.as_deref(),
            passive.state_type.as_deref()
        ),
        (Some("web1"), Some("2"), None)
    );
    // Each line is found by its own kind, state and text.
    let q = |q: Query| st.query(&q).expect("query");
    let ext_lines = q(Query {
        kinds: vec![EventKind::ExternalCommand],
        ..Default::default()
    });
    assert_eq!(ext_lines.len(), 3);
    let code2 = q(Query {
        state: Some("2".into()),
        ..Default::default()
    });
    assert_eq!(code2.len(), 2, "{code2:?}");
    let by_args = q(Query {
        text: Some("tcp wrappers;2;denied".into()),
        ..Default::default()
    });
    assert_eq!(by_args.len(), 1);
    assert_eq!(by_args[0].id, ext.id);
    // The paging of the API: a page before a folded line's id starts with the line below.
    let page = q(Query {
        before_id: Some(all[1].id),
        limit: 2,
        ..Default::default()
    });
    assert_eq!(page, all[2..4]);
    // The Livestatus log table: oldest first, all lines.
    let mut seen = Vec::new();
    st.for_each_in_range(Some(100), Some(101), &mut |r| {
        seen.push(r);
        true
    })
    .expect("range");
    let mut want = all[3..].to_vec();
    want.reverse();
    assert_eq!(seen, want);
    // The denial still made its connection event and its aggregate (once, from the alert).
    let d = st.denied(&DeniedQuery::default()).expect("denied");
    assert_eq!((d.len(), d[0].count), (1, 1));
}

#[test]
fn a_history_file_of_schema_1_opens_and_keeps_its_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v1.db");
    {
        // Schema 1 as it was written (no `folded` column), with one denial in every table.
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,
             host TEXT, service TEXT, state TEXT, state_type TEXT, attempt INTEGER, contact TEXT,
             command TEXT, output TEXT NOT NULL, author TEXT, comment TEXT, denied_daemon TEXT,
             denied_addr TEXT, exit_code INTEGER, exit_status TEXT);
             CREATE INDEX events_time ON events(time);
             CREATE INDEX events_obj ON events(host, service, id);
             CREATE INDEX events_kind ON events(kind, id);
             CREATE TABLE conn_events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
             reporter TEXT NOT NULL, source TEXT NOT NULL, net TEXT NOT NULL, proto TEXT,
             port INTEGER, daemon TEXT, kind TEXT NOT NULL, count INTEGER NOT NULL,
             raw TEXT NOT NULL);
             CREATE TABLE denied_src (addr TEXT PRIMARY KEY, count INTEGER NOT NULL,
             first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE denied_agg (addr TEXT NOT NULL, host TEXT NOT NULL,
             daemon TEXT NOT NULL, count INTEGER NOT NULL, first_seen INTEGER NOT NULL,
             last_seen INTEGER NOT NULL, PRIMARY KEY (addr, host, daemon)) WITHOUT ROWID;
             INSERT INTO events (time, kind, command, output) VALUES
             (10, 'external_command', 'PROCESS_SERVICE_CHECK_RESULT',
              'web1;TCP Wrappers;2;Denied sshd-10.0.0.1');
             INSERT INTO events (time, kind, host, service, state, output) VALUES
             (10, 'passive_service_check', 'web1', 'TCP Wrappers', '2', 'Denied sshd-10.0.0.1');
             INSERT INTO events (time, kind, host, service, state, state_type, attempt, output,
              denied_daemon, denied_addr) VALUES
             (10, 'service_alert', 'web1', 'TCP Wrappers', 'CRITICAL', 'HARD', 1,
              'Denied sshd-10.0.0.1', 'sshd', '10.0.0.1');
             INSERT INTO conn_events (time, reporter, source, net, daemon, kind, count, raw)
             VALUES (10, 'web1', '10.0.0.1', '10.0.0.0/24', 'sshd', 'refused', 1,
              'Denied sshd-10.0.0.1');
             INSERT INTO denied_agg VALUES ('10.0.0.1', 'web1', 'sshd', 1, 10, 10);
             INSERT INTO denied_src VALUES ('10.0.0.1', 1, 10, 10);
             PRAGMA user_version = 1;",
        )
        .expect("schema 1");
    }
    for round in 0..2 {
        let mut st = Store::open(&path, StoreConfig::default()).expect("open");
        if round == 0 {
            let lines = result(20, "web2", 2, "Denied sshd-10.0.0.1");
            st.ingest_lines(lines.iter().map(String::as_str))
                .expect("ingest");
        }
        let all = st.query(&Query::default()).expect("query");
        assert_eq!(all.len(), 6, "{all:?}");
        assert_eq!(st.count().expect("count"), 6);
        let kinds = |rows: &[HistoryRow]| rows.iter().map(|r| r.kind.clone()).collect::<Vec<_>>();
        assert_eq!(kinds(&all[..3]), kinds(&all[3..]), "old rows as new ones");
        assert_eq!(strip(all[..3].to_vec())[1].host.as_deref(), Some("web2"));
        assert_eq!(all[5].output, "web1;TCP Wrappers;2;Denied sshd-10.0.0.1");
        let d = st.denied(&DeniedQuery::default()).expect("denied");
        assert_eq!(
            (d[0].count, d[0].host_count),
            (2, 2),
            "aggregates not rebuilt twice"
        );
        let ev = st
            .connection_events(&ConnEventQuery::default())
            .expect("events");
        assert_eq!(ev.len(), 2);
    }
    let c = rusqlite::Connection::open(&path).expect("open");
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, 4);
}

/// A line of the generated logs: results (whole, partial, or with lines that disagree) and
/// other records, over two hosts and a few seconds.
fn line_strategy() -> impl Strategy<Value = Vec<String>> {
    (0i64..4, 0usize..2, 0u8..4, 0usize..3, 0usize..7).prop_map(|(t, h, code, o, shape)| {
        let host = ["web1", "web2"][h];
        let out = [
            "Denied sshd-10.0.0.1",
            "Denied in.ftpd-10.0.0.2",
            "DISK OK; 2;x",
        ][o];
        let [ext, passive, alert] = result(t, host, code, out);
        match shape {
            0 => vec![ext, passive, alert],
            1 => vec![ext, passive],
            2 => vec![passive, alert],
            3 => vec![ext, alert],
            4 => vec![alert],
            5 => vec![
                ext,
                format!(
                    "[{t}] PASSIVE SERVICE CHECK: {host};TCP Wrappers;{};{out}",
                    (code + 1) & 3
                ),
                alert,
            ],
            _ => vec![format!("[{t}] HOST ALERT: {host};DOWN;HARD;1;{out}")],
        }
    })
}

fn query_strategy() -> impl Strategy<Value = Query> {
    (
        0usize..3,
        0usize..5,
        0usize..5,
        0usize..4,
        proptest::option::of(0i64..4),
        1u32..6,
    )
        .prop_map(|(h, s, k, t, since, limit)| Query {
            host: [None, Some("web1"), Some("web2")][h].map(str::to_owned),
            state: [None, Some("2"), Some("CRITICAL"), Some("0"), Some("DOWN")][s]
                .map(str::to_owned),
            kinds: match k {
                0 => vec![],
                1 => vec![EventKind::ExternalCommand],
                2 => vec![EventKind::PassiveServiceCheck, EventKind::HostAlert],
                3 => Query::ALERT_KINDS.to_vec(),
                _ => vec![EventKind::ServiceAlert, EventKind::ExternalCommand],
            },
            text: [None, Some("denied"), Some("wrappers;2;"), Some("2;x")][t].map(str::to_owned),
            since,
            limit,
            ..Default::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The folded store answers every query as a store of one row per line does (the
    /// reference: each line ingested in its own batch, so nothing is folded), page by page.
    #[test]
    fn folded_rows_answer_as_one_row_per_line(
        groups in proptest::collection::vec(line_strategy(), 1..14),
        queries in proptest::collection::vec(query_strategy(), 4),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut folded = open(&dir, "folded.db");
        let mut reference = open(&dir, "ref.db");
        let mut lines: Vec<String> = groups.into_iter().flatten().collect();
        // Times never decrease, as in a log.
        lines.sort_by_key(|l| l[1..2].to_owned());
        folded.ingest_lines(lines.iter().map(String::as_str)).expect("ingest");
        for l in &lines {
            reference.ingest_lines([l.as_str()]).expect("ingest");
        }
        prop_assert_eq!(folded.count().expect("count"), reference.count().expect("count"));
        for q in queries {
            let want = strip(reference.query(&Query { limit: 10_000, ..q.clone() }).expect("q"));
            // Walk the folded store's pages of `q.limit` lines.
            let mut got = Vec::new();
            let mut before = None;
            loop {
                let page = folded.query(&Query { before_id: before, ..q.clone() }).expect("q");
                prop_assert!(page.len() <= q.limit as usize);
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                let n = page.len();
                got.extend(page);
                if n < q.limit as usize { break; }
            }
            prop_assert_eq!(strip(got), want, "{:?}", q);
        }
        let range = |st: &Store| {
            let mut v = Vec::new();
            st.for_each_in_range(Some(1), None, &mut |r| { v.push(r); true }).expect("range");
            strip(v)
        };
        prop_assert_eq!(range(&folded), range(&reference));
        let d = |st: &Store| st.denied(&DeniedQuery::default()).expect("denied");
        prop_assert_eq!(d(&folded), d(&reference));
    }
}
