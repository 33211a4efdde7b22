//! `kill -9` of the daemon in the middle of an NSCA burst: after a restart the
//! state, the log, the history and the web API agree, and the loss window
//! (results the client wrote that never reached the engine) is measured.
//!
//! Run with `--nocapture` to see the figures (documented in ARCHITECTURE.md).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use picket_e2e::{Example, Nsca, get_json, wait_for};
use picket_nsca_proto::{CheckResult, Method, PacketFormat};

/// Results in the burst; every one is a CRITICAL of the volatile service, so
/// every one is an alert and a notification.
const BURST: usize = 3000;
/// Kill once this many alerts are in the log.
const KILL_AFTER: usize = 400;

fn output(i: usize) -> String {
    format!("Denied sshd-10.0.{}.{}", i / 250, i % 250 + 1)
}

fn index_of(alert: &str) -> Option<usize> {
    let addr = alert.rsplit('-').next()?;
    let mut it = addr.split('.').skip(2).map(|p| p.parse::<usize>().ok());
    let (Some(Some(a)), Some(Some(b))) = (it.next(), it.next()) else {
        return None;
    };
    Some(a * 250 + b - 1)
}

#[test]
fn kill_9_during_a_burst_then_state_history_and_api_agree() {
    let ex = Example::new(Nsca::BuiltIn);
    let picket = ex.start_picket();

    // The burst, from a thread: one connection, one packet per result, like
    // `send_nsca` fed many lines. "Sent" = written to the socket without error.
    let port = ex.nsca_port;
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    let sender = std::thread::spawn(move || {
        let mut conn = picket_nsca::client::Connection::open(
            "127.0.0.1",
            port,
            Instant::now() + Duration::from_secs(10),
            Method::from_number(14).expect("AES-256"),
            b"change-me",
            PacketFormat::V3,
        )
        .expect("connect");
        let mut sent = 0;
        for i in 0..BURST {
            let r = CheckResult {
                timestamp: 0,
                return_code: 2,
                host_name: b"firestorm".to_vec(),
                service: b"TCP Wrappers".to_vec(),
                plugin_output: output(i).into_bytes(),
            };
            if conn.send(&r).is_err() {
                break;
            }
            sent += 1;
            counter.store(sent, Ordering::SeqCst);
            if i % 100 == 99 {
                // A burst, not a flood: about 10k results/s.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        sent
    });

    wait_for("the burst to be under way", 60, || {
        ex.alerts().len() >= KILL_AFTER
    });
    let sent = written.load(Ordering::SeqCst);
    drop(picket); // SIGKILL
    let killed_at = ex.alerts().len();
    let after = sender.join().expect("sender");
    eprintln!(
        "killed with {killed_at} alerts logged; the client had written {sent} results \
         ({after} before it noticed)"
    );

    let _picket = ex.start_picket();
    // Let the restart settle: replayed batches are logged, notifications run.
    std::thread::sleep(Duration::from_millis(500));

    // The log: every alert once, in the order sent, a gap-free prefix.
    let alerts = ex.alerts();
    let idx: Vec<usize> = alerts
        .iter()
        .map(|a| index_of(a).unwrap_or_else(|| panic!("unexpected alert {a}")))
        .collect();
    let logged = idx.len();
    assert!(logged >= killed_at, "alerts vanished from the log");
    let distinct: BTreeSet<usize> = idx.iter().copied().collect();
    let duplicated = logged - distinct.len();
    let expected: Vec<usize> = (0..distinct.len()).collect();
    let mut dedup = idx.clone();
    dedup.dedup();
    assert_eq!(dedup, expected, "alerts out of order or with a gap");
    assert!(
        duplicated <= 64,
        "{duplicated} alerts logged twice (only a batch between its log write and its marker may repeat)"
    );
    assert!(distinct.len() <= after);
    let lost = sent.saturating_sub(distinct.len());
    eprintln!(
        "after restart: {} distinct alerts logged ({duplicated} repeated), {lost} of {sent} written results lost ({:.2}%)",
        distinct.len(),
        100.0 * lost as f64 / sent.max(1) as f64
    );

    // The state and the API: the last alert logged is the service's state.
    let last = alerts.last().expect("alerts");
    let last_output = last.rsplit(';').next().unwrap_or_default();
    let status = get_json(ex.web, "/api/status");
    let svc = status["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["description"] == "TCP Wrappers"))
        .unwrap_or_else(|| panic!("no service in {status}"));
    assert_eq!(svc["state"], 2);
    assert_eq!(svc["output"], last_output, "state and log disagree");

    // The history holds exactly the logged alerts (it is fed from the log,
    // resuming at its cursor).
    let mut rows = 0;
    wait_for("the history to catch up with the log", 30, || {
        let h = get_json(
            ex.web,
            "/api/log?kind=alerts&service=TCP%20Wrappers&limit=100000",
        );
        rows = h.as_array().map_or(0, Vec::len);
        rows == logged
    });
    let newest = get_json(ex.web, "/api/log?kind=alerts&limit=1");
    assert_eq!(newest[0]["output"], last_output, "history and log disagree");
    let denied = get_json(ex.web, "/api/denied");
    let total: u64 = denied
        .as_array()
        .expect("denied")
        .iter()
        .filter_map(|d| d["count"].as_u64())
        .sum();
    assert_eq!(total as usize, logged, "the Denied view counts every alert");

    // Notifications: one per alert, except those whose command had not run
    // when the process died (queued in the executor).
    wait_for("notifications to settle", 30, || {
        let n = ex.notifications().len();
        std::thread::sleep(Duration::from_millis(200));
        n == ex.notifications().len()
    });
    let notified = ex.notifications().len();
    eprintln!("notifications run: {notified} for {logged} alerts");
    assert!(notified <= logged + duplicated);
}
