//! Store tests on a temporary database file.

use picket_history::{
    DeniedPattern, DeniedQuery, EventKind, NotificationResult, Query, Store, StoreConfig,
};

fn open(cfg: StoreConfig) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("history.db"), cfg).expect("open");
    (dir, store)
}

fn denial(t: i64, host: &str, daemon: &str, addr: &str) -> String {
    format!("[{t}] SERVICE ALERT: {host};TCP Wrappers;CRITICAL;HARD;1;Denied {daemon}-{addr}")
}

#[test]
fn ten_denials_from_three_sources() {
    let (_d, mut st) = open(StoreConfig::default());
    let lines = vec![
        denial(100, "firestorm", "sshd", "127.0.0.2"),
        denial(100, "firestorm", "in.ftpd", "127.0.0.2"),
        denial(100, "firestorm", "sshd", "10.9.8.7"),
        denial(101, "icefire", "sshd", "127.0.0.2"),
        denial(101, "firestorm", "sshd", "scan-host.example.net"),
        denial(102, "firestorm", "sshd", "10.9.8.7"),
        denial(103, "icefire", "in.telnetd", "10.9.8.7"),
        denial(104, "firestorm", "sshd", "127.0.0.2"),
        denial(105, "firestorm", "sshd", "scan-host.example.net"),
        denial(106, "icefire", "sshd", "10.9.8.7"),
        // Not denials: an OK alert, a notification and a passive check with the same text.
        "[107] SERVICE ALERT: firestorm;TCP Wrappers;OK;HARD;1;OK - no denials".to_owned(),
        "[107] SERVICE NOTIFICATION: alice;firestorm;TCP Wrappers;CRITICAL;notify;Denied sshd-1.1.1.1"
            .to_owned(),
        "[107] PASSIVE SERVICE CHECK: firestorm;TCP Wrappers;2;Denied sshd-1.1.1.1".to_owned(),
    ];
    let stats = st
        .ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    assert_eq!(stats.inserted, 13);
    let d = st.denied(&DeniedQuery::default()).expect("denied");
    assert_eq!(d.len(), 3, "{d:#?}");
    let by = |a: &str| d.iter().find(|x| x.addr == a).expect(a).clone();
    let a = by("127.0.0.2");
    assert_eq!((a.count, a.first_seen, a.last_seen), (4, 100, 104));
    assert_eq!(a.hosts, vec!["firestorm", "icefire"]);
    assert_eq!(a.daemons, vec!["in.ftpd", "sshd"]);
    let b = by("10.9.8.7");
    assert_eq!((b.count, b.first_seen, b.last_seen), (4, 100, 106));
    assert_eq!(b.daemons, vec!["in.telnetd", "sshd"]);
    let c = by("scan-host.example.net");
    assert_eq!((c.count, c.first_seen, c.last_seen), (2, 101, 105));
    assert_eq!(c.hosts, vec!["firestorm"]);
    // Most recent first.
    assert_eq!(d[0].addr, "10.9.8.7");
    // Filters.
    let since = st
        .denied(&DeniedQuery {
            since: Some(104),
            ..Default::default()
        })
        .expect("denied");
    assert_eq!(since.iter().map(|x| x.count).sum::<u64>(), 3);
    let ice = st
        .denied(&DeniedQuery {
            host: Some("icefire".into()),
            ..Default::default()
        })
        .expect("denied");
    assert_eq!(ice.iter().map(|x| x.count).sum::<u64>(), 3);
}

#[test]
fn custom_denied_pattern() {
    let pat = DeniedPattern::new(r"refused connect from (?P<addr>\S+)")
        .expect("pattern")
        .with_kinds(vec![
            EventKind::ServiceAlert,
            EventKind::PassiveServiceCheck,
        ]);
    let (_d, mut st) = open(StoreConfig {
        denied: pat,
        ..Default::default()
    });
    st.ingest_lines([
        "[1] SERVICE ALERT: web01;TCP wrappers;CRITICAL;HARD;1;refused connect from 10.0.0.5",
        "[2] PASSIVE SERVICE CHECK: web01;TCP wrappers;2;refused connect from 10.0.0.5",
    ])
    .expect("ingest");
    let d = st.denied(&DeniedQuery::default()).expect("denied");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].count, 2);
    assert!(d[0].daemons.is_empty());
    assert!(DeniedPattern::new("no groups").is_err());
    assert!(DeniedPattern::new("(").is_err());
}

#[test]
fn query_filters() {
    let (_d, mut st) = open(StoreConfig::default());
    st.ingest_lines([
        "[10] SERVICE ALERT: web01;Disk;WARNING;HARD;1;DISK WARNING - /var 91%",
        "[11] SERVICE NOTIFICATION: alice;web01;Disk;WARNING;notify-mail;DISK WARNING - /var 91%",
        "[12] HOST ALERT: db01;DOWN;HARD;3;PING CRITICAL - 100% loss",
        "[13] HOST NOTIFICATION: bob;db01;DOWN;notify-mail;PING CRITICAL - 100% loss",
        "[14] SERVICE ALERT: web01;Disk;OK;HARD;1;DISK OK",
        "[15] EXTERNAL COMMAND: ACKNOWLEDGE_HOST_PROBLEM;db01;1;1;0;admin;on it",
        "no timestamp at all",
    ])
    .expect("ingest");
    assert_eq!(st.count().expect("count"), 6);
    let q = |q: Query| st.query(&q).expect("query");
    let all = q(Query::default());
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].time, 15, "newest first");
    let alerts = q(Query {
        kinds: Query::ALERT_KINDS.to_vec(),
        ..Default::default()
    });
    assert_eq!(alerts.len(), 3);
    let notes = q(Query {
        kinds: Query::NOTIFICATION_KINDS.to_vec(),
        ..Default::default()
    });
    assert_eq!(
        notes
            .iter()
            .map(|r| r.contact.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("bob"), Some("alice")]
    );
    assert_eq!(notes[0].command.as_deref(), Some("notify-mail"));
    let web = q(Query {
        host: Some("web01".into()),
        service: Some("Disk".into()),
        ..Default::default()
    });
    assert_eq!(web.len(), 3);
    let warn = q(Query {
        state: Some("WARNING".into()),
        kinds: vec![EventKind::ServiceAlert],
        ..Default::default()
    });
    assert_eq!(warn.len(), 1);
    let text = q(Query {
        text: Some("100% LOSS".into()),
        ..Default::default()
    });
    assert_eq!(text.len(), 2);
    // A hostile filter value is a parameter, not SQL.
    let evil = q(Query {
        host: Some("x' OR '1'='1".into()),
        text: Some("%' --".into()),
        ..Default::default()
    });
    assert!(evil.is_empty());
    let range = q(Query {
        since: Some(11),
        until: Some(13),
        ..Default::default()
    });
    assert_eq!(range.len(), 3);
    let page = q(Query {
        before_id: Some(all[1].id),
        limit: 2,
        ..Default::default()
    });
    assert_eq!(
        page.iter().map(|r| r.time).collect::<Vec<_>>(),
        vec![13, 12]
    );
}

#[test]
fn notification_exit_status_attaches_in_order() {
    let (_d, mut st) = open(StoreConfig::default());
    st.ingest_lines([
        "[1] SERVICE NOTIFICATION: alice;fs;TCP Wrappers;CRITICAL;notify;Denied sshd-1.2.3.4",
        "[1] SERVICE NOTIFICATION: alice;fs;TCP Wrappers;CRITICAL;notify;Denied sshd-1.2.3.5",
    ])
    .expect("ingest");
    let r = |code: Option<i32>, status: &str| NotificationResult {
        time: 2,
        contact: "alice".into(),
        host: "fs".into(),
        service: Some("TCP Wrappers".into()),
        command: "notify".into(),
        exit_code: code,
        status: status.into(),
        duration_ms: 12,
    };
    st.record_notification_result(r(Some(0), "ok"))
        .expect("record");
    st.record_notification_result(r(None, "timeout"))
        .expect("record");
    let rows = st.query(&Query::default()).expect("query");
    // rows are newest first: the second notification got the second result.
    assert_eq!(rows[1].exit_code, Some(0));
    assert_eq!(rows[1].exit_status.as_deref(), Some("ok"));
    assert_eq!(rows[0].exit_code, None);
    assert_eq!(rows[0].exit_status.as_deref(), Some("timeout"));
}

#[test]
fn retention_by_age_is_incremental() {
    let (_d, mut st) = open(StoreConfig {
        max_age_secs: Some(100),
        max_rows: None,
        prune_chunk: 3,
        ..Default::default()
    });
    let lines: Vec<String> = (0..10)
        .map(|t| format!("[{t}] SERVICE ALERT: h;s;CRITICAL;HARD;1;x{t}"))
        .chain((200..205).map(|t| format!("[{t}] SERVICE ALERT: h;s;OK;HARD;1;y{t}")))
        .collect();
    st.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    // now = 250: everything before 150 goes, at most 3 rows per call.
    assert_eq!(st.prune(250).expect("prune"), 3);
    assert_eq!(st.count().expect("count"), 12);
    let mut calls = 1;
    while st.prune(250).expect("prune") > 0 {
        calls += 1;
    }
    assert_eq!(calls, 4);
    assert_eq!(st.count().expect("count"), 5);
    let rows = st.query(&Query::default()).expect("query");
    assert!(rows.iter().all(|r| r.time >= 200));
}

#[test]
fn retention_by_rows_keeps_newest() {
    let (_d, mut st) = open(StoreConfig {
        max_age_secs: None,
        max_rows: Some(4),
        prune_chunk: 100,
        ..Default::default()
    });
    let lines: Vec<String> = (0..10)
        .map(|t| format!("[{t}] HOST ALERT: h;DOWN;HARD;1;x{t}"))
        .collect();
    st.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    assert_eq!(st.prune(1000).expect("prune"), 6);
    assert_eq!(st.prune(1000).expect("prune"), 0);
    let times: Vec<i64> = st
        .query(&Query::default())
        .expect("query")
        .iter()
        .map(|r| r.time)
        .collect();
    assert_eq!(times, vec![9, 8, 7, 6]);
}

#[test]
fn reopen_keeps_data_and_wal_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("h.db");
    {
        let mut st = Store::open(&p, StoreConfig::default()).expect("open");
        st.ingest_lines(["[1] HOST ALERT: h;DOWN;HARD;1;x"])
            .expect("ingest");
    }
    let st = Store::open(&p, StoreConfig::default()).expect("reopen");
    assert_eq!(st.count().expect("count"), 1);
    assert!(dir.path().join("h.db-wal").exists() || dir.path().join("h.db-shm").exists());
}

#[test]
fn cursor_is_committed_with_the_rows_and_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.db");
    {
        let mut st = Store::open(&path, StoreConfig::default()).expect("open");
        assert_eq!(st.cursor("nagios.log").expect("cursor"), None);
        let line = denial(100, "firestorm", "sshd", "127.0.0.2");
        let rec = picket_history::Record::Log(picket_history::parse_line(&line).expect("parse"));
        let c = picket_history::Cursor {
            file_id: u64::MAX - 1,
            offset: line.len() as u64 + 1,
        };
        st.insert_batch_at(&[rec], "nagios.log", c).expect("insert");
        let c2 = picket_history::Cursor {
            file_id: 7,
            offset: 12,
        };
        st.insert_batch_at(&[], "nagios.log", c2).expect("move");
        st.insert_batch_at(&[], "other", c).expect("other");
    }
    let st = Store::open(&path, StoreConfig::default()).expect("reopen");
    assert_eq!(st.count().expect("count"), 1);
    assert_eq!(
        st.cursor("nagios.log").expect("cursor"),
        Some(picket_history::Cursor {
            file_id: 7,
            offset: 12
        })
    );
    assert_eq!(
        st.cursor("other").expect("cursor").map(|c| c.file_id),
        Some(u64::MAX - 1)
    );
}
