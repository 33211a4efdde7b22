//! Connection events and scan incidents (contract C1 lines in, C3 queries out).

use picket_history::{
    ConnEventQuery, DeniedQuery, Event, IncidentQuery, Store, StoreConfig, parse_line,
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
