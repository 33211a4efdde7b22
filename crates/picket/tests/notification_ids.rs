//! The daemon joins each notification's outcome to its own `… NOTIFICATION` row by the
//! notification id the engine gave its job: two notifications to the same contact, host,
//! service and command, from one FIFO write, whose commands finish in the opposite order
//! with different exit codes, each get their own exit status in the history.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use picket_history::{Query, Store, StoreConfig};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn setup(d: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // The first notification's command finishes last, and fails.
    let notify = d.join("notify.sh");
    std::fs::write(
        &notify,
        "#!/bin/sh\ncase \"$1\" in\n*first*) sleep 1; exit 2;;\n*) exit 0;;\nesac\n",
    )
    .expect("script");
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        d.join("objects.cfg"),
        format!(
            r#"
define timeperiod {{
    timeperiod_name 24x7
    alias always
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
    sunday 00:00-24:00
}}
define command {{
    command_name check_none
    command_line /bin/true
}}
define command {{
    command_name notify
    command_line {notify} "$SERVICEOUTPUT$"
}}
define contact {{
    contact_name alice
    service_notification_period 24x7
    host_notification_period 24x7
    service_notification_options w,u,c,r
    host_notification_options d,u,r
    service_notification_commands notify
    host_notification_commands notify
}}
define host {{
    host_name web01
    max_check_attempts 1
    active_checks_enabled 0
    contacts alice
}}
define service {{
    host_name web01
    service_description TCP Wrappers
    check_command check_none
    active_checks_enabled 0
    passive_checks_enabled 1
    max_check_attempts 1
    is_volatile 1
    notification_interval 0
    contacts alice
}}
"#,
            notify = notify.display()
        ),
    )
    .expect("objects");
    std::fs::write(
        d.join("nagios.cfg"),
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
             lock_file={0}/picket.lock\nhistory_file={0}/history.db\ninterval_length=1\n\
             check_external_commands=1\nnotification_timeout=30\n",
            d.display()
        ),
    )
    .expect("main cfg");
}

/// (output, exit_status, exit_code) of the notification rows, oldest first.
fn rows(db: &Path) -> Vec<(String, Option<String>, Option<i32>)> {
    let Ok(st) = Store::open(db, StoreConfig::default()) else {
        return Vec::new();
    };
    let mut v: Vec<_> = st
        .query(&Query::default())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.kind == "service_notification")
        .map(|r| (r.output, r.exit_status, r.exit_code))
        .collect();
    v.reverse();
    v
}

#[test]
fn out_of_order_outcomes_join_their_own_notification_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    setup(d);
    let _daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(d.join("nagios.cfg"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start picket"),
    );
    wait_for("the command FIFO", Duration::from_secs(20), || {
        d.join("nagios.cmd").exists()
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs());
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("nagios.cmd"))
        .expect("open fifo");
    // One write: both results reach the engine in one batch.
    fifo.write_all(
        format!(
            "[{now}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;refused first\n\
             [{now}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;refused second\n"
        )
        .as_bytes(),
    )
    .expect("write fifo");
    drop(fifo);
    let db = d.join("history.db");
    wait_for(
        "both outcomes in the history",
        Duration::from_secs(30),
        || {
            let r = rows(&db);
            r.len() == 2 && r.iter().all(|(_, s, _)| s.is_some())
        },
    );
    assert_eq!(
        rows(&db),
        vec![
            (
                "refused first".to_owned(),
                Some("failed".to_owned()),
                Some(2)
            ),
            ("refused second".to_owned(), Some("ok".to_owned()), Some(0)),
        ]
    );
}
