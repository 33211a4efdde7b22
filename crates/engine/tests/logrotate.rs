//! Log rotation decided by the engine with an injected clock and time zone: when it is
//! due, the archive name, and the head of the new log (`LOG ROTATION`, `LOG VERSION`,
//! `CURRENT … STATE` lines stamped with the rotation time). Active checks are off so the
//! scheduler stays out of the picture.

use std::sync::Arc;

use picket_engine::{Engine, EngineOptions, RotationMethod};

const OBJECTS: &str = r#"
define timeperiod {
    timeperiod_name 24x7
    alias always
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
    sunday 00:00-24:00
}
define command {
    command_name ok
    command_line /bin/true
}
define contact {
    contact_name                  alice
    service_notification_period   24x7
    host_notification_period      24x7
    service_notification_commands ok
    host_notification_commands    ok
}
define host {
    host_name           web01
    max_check_attempts  1
    check_period        24x7
    contacts            alice
    active_checks_enabled 0
}
define service {
    host_name            web01
    service_description  ssh
    check_command        ok
    max_check_attempts   1
    check_period         24x7
    notification_period  24x7
    active_checks_enabled 0
}
define service {
    host_name            web01
    service_description  http
    check_command        ok
    max_check_attempts   1
    check_period         24x7
    notification_period  24x7
    active_checks_enabled 0
}
"#;

fn engine(main_extra: &str, tz: jiff::tz::TimeZone) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = dir.path().join("objects.cfg");
    std::fs::write(&obj, OBJECTS).expect("write objects");
    let main = dir.path().join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={}/nagios.log\ncfg_file={}\n{main_extra}\n",
            dir.path().display(),
            obj.display()
        ),
    )
    .expect("write main");
    let loaded = picket_config::load(&main, &Default::default()).expect("load");
    assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
    let e = Engine::new(Arc::new(loaded.config), tz, EngineOptions::default());
    (e, dir)
}

fn ny() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("tz")
}

/// 2024-03-09 23:59:30 EST (UTC-5): 30 s before the local midnight of the spring-forward day.
const T0: i64 = 1_710_046_770;
/// 2024-03-10 00:00:00 EST.
const MIDNIGHT: i64 = T0 + 30;

#[test]
fn daily_rotation_is_due_at_local_midnight_and_logs_the_new_head() {
    let (mut e, _dir) = engine("log_rotation_method=d\nlog_current_states=1", ny());
    assert_eq!(e.log_rotation_method(), Some(RotationMethod::Daily));
    assert_eq!(e.next_log_rotation(), None, "nothing before start");
    e.start(T0);
    assert_eq!(e.next_log_rotation(), Some(MIDNIGHT));
    assert_eq!(e.next_wakeup(), Some(MIDNIGHT));
    e.process_line(
        T0 + 1,
        &format!(
            "[{}] PROCESS_SERVICE_CHECK_RESULT;web01;ssh;2;connection refused",
            T0 + 1
        ),
    );
    let _ = e.take_outputs();
    assert_eq!(e.log_rotation_due(MIDNIGHT - 1), None);
    // The daemon wakes a little late: the rotation keeps its scheduled time.
    let rot = e.log_rotation_due(MIDNIGHT + 2).expect("due");
    assert_eq!(rot.time, MIDNIGHT);
    assert_eq!(rot.method, RotationMethod::Daily);
    assert_eq!(rot.archive_file_name, "nagios-03-10-2024-00.log");
    e.log_rotated(&rot, MIDNIGHT + 2, true);
    let log = e.take_outputs().log;
    let want = [
        "LOG ROTATION: DAILY",
        "LOG VERSION: 2.0",
        "CURRENT HOST STATE: web01;UP;HARD;1;",
        "CURRENT SERVICE STATE: web01;http;OK;HARD;1;(null)",
        "CURRENT SERVICE STATE: web01;ssh;CRITICAL;HARD;1;connection refused",
    ]
    .map(|l| format!("[{MIDNIGHT}] {l}\n"))
    .concat();
    assert_eq!(log, want);
    // The spring-forward day has 23 hours.
    assert_eq!(e.next_log_rotation(), Some(MIDNIGHT + 23 * 3600));
    assert_eq!(e.log_rotation_due(MIDNIGHT + 3), None);
}

#[test]
fn an_existing_archive_means_no_rotation_and_no_lines() {
    let (mut e, _dir) = engine("log_rotation_method=h", jiff::tz::TimeZone::UTC);
    e.start(T0);
    let _ = e.take_outputs();
    let next = e.next_log_rotation().expect("hourly");
    assert_eq!(next % 3600, 0);
    assert!(next > T0 && next - T0 <= 3600);
    let rot = e.log_rotation_due(next).expect("due");
    e.log_rotated(&rot, next, false);
    assert!(e.take_outputs().log.is_empty());
    assert_eq!(e.next_log_rotation(), Some(next + 3600));
}

#[test]
fn current_states_are_optional_and_no_method_means_no_rotation() {
    let (mut e, _dir) = engine("log_rotation_method=w\nlog_current_states=0", ny());
    e.start(T0);
    let _ = e.take_outputs();
    // Saturday evening: the next Sunday midnight is the same midnight.
    let rot = e.log_rotation_due(MIDNIGHT).expect("due");
    assert_eq!(rot.method, RotationMethod::Weekly);
    e.log_rotated(&rot, MIDNIGHT, true);
    assert_eq!(
        e.take_outputs().log,
        format!("[{MIDNIGHT}] LOG ROTATION: WEEKLY\n[{MIDNIGHT}] LOG VERSION: 2.0\n")
    );
    // One week later, local time (168 - 1 hours across the DST change).
    assert_eq!(e.next_log_rotation(), Some(MIDNIGHT + 7 * 86_400 - 3600));

    let (mut e, _dir) = engine("log_rotation_method=n", ny());
    e.start(T0);
    assert_eq!(e.next_log_rotation(), None);
    assert_eq!(e.log_rotation_due(T0 + 400 * 86_400), None);
    assert_eq!(e.next_wakeup(), None);
}
