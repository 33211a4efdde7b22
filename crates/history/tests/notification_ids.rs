//! Notification outcomes join their rows by the notification id, not "the oldest open row
//! of the same names": two notifications to the same contact, host, service and command
//! whose commands finish out of order each get their own outcome.

use picket_history::{
    NotificationJob, NotificationResult, Query, Record, Store, StoreConfig, parse_line,
};

fn open() -> Store {
    let mut st = Store::open_in_memory(StoreConfig::default()).expect("open");
    st.begin_notification_ids();
    st
}

fn line(t: i64, n: u32) -> Record {
    Record::Log(
        parse_line(&format!(
            "[{t}] SERVICE NOTIFICATION: alice;fs;TCP Wrappers;CRITICAL;notify;Denied sshd-10.0.0.{n}"
        ))
        .expect("line"),
    )
}

fn job(id: u64) -> Record {
    Record::NotificationJob(NotificationJob {
        id,
        contact: "alice".into(),
        host: "fs".into(),
        service: Some("TCP Wrappers".into()),
        command: "notify".into(),
    })
}

fn outcome(id: u64, code: Option<i32>, status: &str) -> Record {
    Record::NotificationOutcome {
        id,
        result: NotificationResult {
            time: 3,
            contact: "alice".into(),
            host: "fs".into(),
            service: Some("TCP Wrappers".into()),
            command: "notify".into(),
            exit_code: code,
            status: status.into(),
            duration_ms: 5,
        },
    }
}

/// (output, exit_status) of the notification rows, oldest first.
fn rows(st: &Store) -> Vec<(String, Option<String>, Option<i32>)> {
    let mut v: Vec<_> = st
        .query(&Query::default())
        .expect("query")
        .into_iter()
        .filter(|r| r.kind == "service_notification")
        .map(|r| (r.output, r.exit_status, r.exit_code))
        .collect();
    v.reverse();
    v
}

fn expected() -> Vec<(String, Option<String>, Option<i32>)> {
    vec![
        ("Denied sshd-10.0.0.1".into(), Some("ok".into()), Some(0)),
        (
            "Denied sshd-10.0.0.2".into(),
            Some("failed".into()),
            Some(2),
        ),
    ]
}

#[test]
fn out_of_order_outcomes_in_one_batch_join_their_own_rows() {
    let mut st = open();
    // The second notification's command fails first.
    st.insert_batch(&[
        line(1, 1),
        line(1, 2),
        job(7),
        job(8),
        outcome(8, Some(2), "failed"),
        outcome(7, Some(0), "ok"),
    ])
    .expect("batch");
    assert_eq!(rows(&st), expected());
}

#[test]
fn jobs_and_outcomes_that_come_before_their_lines_wait_for_them() {
    let mut st = open();
    st.insert_batch(&[job(7), job(8), outcome(8, Some(2), "failed")])
        .expect("batch");
    st.insert_batch(&[line(1, 1)]).expect("batch");
    st.insert_batch(&[outcome(7, Some(0), "ok"), line(1, 2)])
        .expect("batch");
    assert_eq!(rows(&st), expected());
}

#[test]
fn lines_before_jobs() {
    let mut st = open();
    st.insert_batch(&[line(1, 1), line(1, 2)]).expect("batch");
    st.insert_batch(&[job(7)]).expect("batch");
    st.insert_batch(&[job(8), outcome(8, Some(2), "failed")])
        .expect("batch");
    st.insert_batch(&[outcome(7, Some(0), "ok")])
        .expect("batch");
    assert_eq!(rows(&st), expected());
}

#[test]
fn rows_caught_up_before_begin_take_no_id() {
    let mut st = Store::open_in_memory(StoreConfig::default()).expect("open");
    // A line of the previous run, whose job died with it.
    st.insert_batch(&[line(1, 1)]).expect("batch");
    st.begin_notification_ids();
    st.insert_batch(&[line(2, 2), job(9), outcome(9, Some(2), "failed")])
        .expect("batch");
    assert_eq!(
        rows(&st),
        vec![
            ("Denied sshd-10.0.0.1".into(), None, None),
            (
                "Denied sshd-10.0.0.2".into(),
                Some("failed".into()),
                Some(2)
            ),
        ]
    );
}
