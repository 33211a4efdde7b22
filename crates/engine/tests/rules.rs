//! Deterministic tests of the engine's rules with an injected clock: each test loads a
//! small configuration, feeds command lines at chosen instants and checks the log lines
//! and the commands the engine asks to run.

use std::sync::Arc;

use picket_engine::{Engine, EngineOptions, Job, JobKind, PassiveResult, StateType};

const T0: i64 = 1_800_000_000;

const COMMON: &str = r#"
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
define timeperiod {
    timeperiod_name never
    alias never
}
define command {
    command_name check_none
    command_line /bin/true
}
define command {
    command_name notify
    command_line /bin/notify "$CONTACTNAME$" "$NOTIFICATIONTYPE$" "$SERVICESTATE$" "$SERVICENOTIFICATIONNUMBER$" "$SERVICEOUTPUT$" "$LONGSERVICEOUTPUT$" "$NOTIFICATIONISESCALATED$" "$NOTIFICATIONAUTHOR$" "$NOTIFICATIONCOMMENT$"
}
define command {
    command_name notify-host
    command_line /bin/notify-host "$CONTACTNAME$" "$NOTIFICATIONTYPE$" "$HOSTSTATE$" "$HOSTOUTPUT$"
}
define command {
    command_name eh
    command_line /bin/eh "$SERVICESTATE$" "$SERVICESTATETYPE$" "$SERVICEATTEMPT$"
}
define command {
    command_name eh-host
    command_line /bin/eh-host "$HOSTSTATE$"
}
define contact {
    name                          base-contact
    register                      0
    service_notification_period   24x7
    host_notification_period      24x7
    service_notification_options  w,u,c,r,f,s
    host_notification_options     d,u,r,f,s
    service_notification_commands notify
    host_notification_commands    notify-host
}
define contact {
    use           base-contact
    contact_name  alice
}
define contact {
    use           base-contact
    contact_name  bob
}
define host {
    name                    passive-host
    register                0
    active_checks_enabled   0
    passive_checks_enabled  1
    max_check_attempts      1
    check_period            24x7
    notification_period     24x7
    notification_interval   0
    notification_options    d,u,r
    event_handler           eh-host
    contacts                alice
}
define service {
    name                    passive-service
    register                0
    check_command           check_none
    active_checks_enabled   0
    passive_checks_enabled  1
    check_period            24x7
    notification_period     24x7
    event_handler           eh
    contacts                alice
}
define host {
    use        passive-host
    host_name  web01
    address    127.0.0.1
}
"#;

struct Harness {
    e: Engine,
    _dir: tempfile::TempDir,
}

fn harness(objects: &str, main_extra: &str) -> Harness {
    harness_opts(objects, main_extra, EngineOptions::default())
}

fn harness_opts(objects: &str, main_extra: &str, opts: EngineOptions) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = dir.path().join("objects.cfg");
    std::fs::write(&obj, format!("{COMMON}\n{objects}")).expect("write objects");
    let main = dir.path().join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={}/nagios.log\ncfg_file={}\ninterval_length=1\nlog_initial_states=1\n\
             illegal_macro_output_chars=`~$&|'\"<>\nenable_flap_detection=0\n{main_extra}\n",
            dir.path().display(),
            obj.display()
        ),
    )
    .expect("write main");
    let loaded = picket_config::load(&main, &Default::default()).expect("load");
    assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
    let mut e = Engine::new(Arc::new(loaded.config), jiff::tz::TimeZone::UTC, opts);
    e.start(T0);
    let _ = e.take_outputs();
    Harness { e, _dir: dir }
}

impl Harness {
    /// Feed `[ts] line` at `now` (ts = now) and return the log lines (without the
    /// `[epoch] ` prefix) and the jobs.
    fn at(&mut self, now: i64, cmd: &str) -> (Vec<String>, Vec<Job>) {
        self.e.process_line(now, &format!("[{now}] {cmd}"));
        self.e.tick(now);
        self.drain()
    }

    fn drain(&mut self) -> (Vec<String>, Vec<Job>) {
        let out = self.e.take_outputs();
        let lines = out
            .log
            .lines()
            .map(|l| l.split_once("] ").map_or(l, |x| x.1).to_owned())
            .collect();
        (lines, out.jobs)
    }

    fn svc(&self, host: &str, desc: &str) -> &picket_engine::Status {
        let id = self
            .e
            .config()
            .service_by_name(host, desc)
            .expect("service");
        self.e.service_status(id)
    }
}

fn notifications(jobs: &[Job]) -> Vec<&str> {
    jobs.iter()
        .filter(|j| j.kind == JobKind::Notification)
        .map(|j| j.command_line.as_str())
        .collect()
}

fn has(lines: &[String], want: &str) -> bool {
    lines.iter().any(|l| l == want)
}

const VOLATILE: &str = r#"
define service {
    use                   passive-service
    host_name             web01
    service_description   TCP wrappers
    is_volatile           1
    max_check_attempts    1
    notification_interval 0
    notification_options  w,u,c,r
}
"#;

#[test]
fn volatile_service_alerts_and_notifies_on_every_hard_problem() {
    let mut h = harness(VOLATILE, "");
    let mut numbers = Vec::new();
    for (i, (rc, out)) in [
        (2, "refused a"),
        (2, "refused b"),
        (0, "ok"),
        (2, "refused c"),
        (1, "warn d"),
    ]
    .iter()
    .enumerate()
    {
        let now = T0 + i as i64;
        let (log, jobs) = h.at(
            now,
            &format!("PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;{rc};{out}"),
        );
        let state = ["OK", "WARNING", "CRITICAL"][*rc as usize];
        assert!(
            has(
                &log,
                &format!("SERVICE ALERT: web01;TCP wrappers;{state};HARD;1;{out}")
            ),
            "{log:?}"
        );
        assert!(has(
            &log,
            &format!("SERVICE EVENT HANDLER: web01;TCP wrappers;{state};HARD;1;eh")
        ));
        let n = notifications(&jobs);
        assert_eq!(n.len(), 1, "{log:?}");
        numbers.push(n[0].split('"').nth(7).unwrap_or("").to_owned());
        // Deliberate difference: the alert comes before the notification line.
        let alert = log.iter().position(|l| l.starts_with("SERVICE ALERT"));
        let notif = log
            .iter()
            .position(|l| l.starts_with("SERVICE NOTIFICATION"));
        assert!(alert < notif, "{log:?}");
    }
    // PROBLEM #1, #2, RECOVERY #3, then the counter restarts.
    assert_eq!(numbers, ["1", "2", "3", "1", "2"]);
}

#[test]
fn many_results_in_one_second_are_all_processed_in_order() {
    let mut h = harness(VOLATILE, "");
    let mut all = Vec::new();
    for i in 0..10 {
        let (_, jobs) = h.at(
            T0,
            &format!("PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;denied {i}"),
        );
        all.extend(jobs.into_iter().filter(|j| j.kind == JobKind::Notification));
    }
    assert_eq!(all.len(), 10);
    for (i, j) in all.iter().enumerate() {
        assert!(
            j.command_line.contains(&format!("\"denied {i}\"")),
            "{}",
            j.command_line
        );
        assert!(j.command_line.contains(&format!("\"{}\"", i + 1)));
    }
}

#[test]
fn non_volatile_interval_zero_notifies_once_per_problem_state() {
    let objects = VOLATILE.replace("is_volatile           1", "is_volatile           0");
    let mut h = harness(&objects, "");
    let (_, j1) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;a");
    assert_eq!(notifications(&j1).len(), 1);
    let (log, j2) = h.at(
        T0 + 100,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;b",
    );
    assert!(notifications(&j2).is_empty());
    assert!(
        !log.iter().any(|l| l.starts_with("SERVICE ALERT")),
        "{log:?}"
    );
    // A HARD change between problem states notifies at once.
    let (_, j3) = h.at(
        T0 + 101,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;1;c",
    );
    assert_eq!(notifications(&j3).len(), 1);
}

const MAX3: &str = r#"
define service {
    use                   passive-service
    host_name             web01
    service_description   Replication
    max_check_attempts    3
    notification_interval 0
}
"#;

#[test]
fn soft_hard_transitions_follow_nagios() {
    let mut h = harness(MAX3, "");
    let mut alerts = Vec::new();
    let seq = [
        (2, "c1"),
        (2, "c2"),
        (2, "c3"),
        (2, "c4"),
        (0, "ok"),
        (1, "w1"),
        (0, "ok2"),
        (1, "w2"),
        (1, "w3"),
        (2, "c5"),
        (1, "w4"),
        (0, "ok3"),
    ];
    let mut notified = Vec::new();
    for (i, (rc, out)) in seq.iter().enumerate() {
        let (log, jobs) = h.at(
            T0 + i as i64,
            &format!("PROCESS_SERVICE_CHECK_RESULT;web01;Replication;{rc};{out}"),
        );
        alerts.extend(
            log.into_iter()
                .filter(|l| l.starts_with("SERVICE ALERT"))
                .map(|l| {
                    l.trim_start_matches("SERVICE ALERT: web01;Replication;")
                        .to_owned()
                }),
        );
        notified.extend(notifications(&jobs).iter().map(|s| s.to_string()));
    }
    assert_eq!(
        alerts,
        [
            "CRITICAL;SOFT;1;c1",
            "CRITICAL;SOFT;2;c2",
            "CRITICAL;HARD;3;c3",
            "OK;HARD;3;ok",
            "WARNING;SOFT;1;w1",
            "OK;SOFT;2;ok2",
            "WARNING;SOFT;1;w2",
            "WARNING;SOFT;2;w3",
            "CRITICAL;HARD;3;c5",
            "WARNING;HARD;3;w4",
            "OK;HARD;3;ok3",
        ]
    );
    assert_eq!(notified.len(), 5, "{notified:?}");
    let st = h.svc("web01", "Replication");
    // Internally OK is always HARD/1.
    assert_eq!((st.state_type, st.current_attempt), (StateType::Hard, 1));
}

#[test]
fn renotification_needs_a_result_after_the_interval() {
    let objects = r#"
define service {
    use                   passive-service
    host_name             web01
    service_description   Queue
    max_check_attempts    1
    notification_interval 3
    notification_options  c,r
    contacts              alice
    contact_groups        oncall
}
define contact {
    use                          base-contact
    contact_name                 carol
    service_notification_period  never
}
define contact {
    use                           base-contact
    contact_name                  dave
    service_notification_options  c
}
define contactgroup {
    contactgroup_name oncall
    members           dave,carol
}
"#;
    let mut h = harness(objects, "");
    let (log, j) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;2;x");
    // carol is outside her period; the log lists contacts in reverse order.
    let who: Vec<&str> = log
        .iter()
        .filter(|l| l.starts_with("SERVICE NOTIFICATION"))
        .map(|l| &l[22..l.find(';').unwrap_or(22)])
        .collect();
    assert_eq!(who, ["dave", "alice"]);
    assert_eq!(notifications(&j).len(), 2);
    let (_, j) = h.at(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;2;x");
    assert!(notifications(&j).is_empty());
    // No timer: nothing happens without a result.
    h.e.tick(T0 + 10);
    assert!(h.drain().1.is_empty());
    let (_, j) = h.at(T0 + 10, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;2;x");
    assert_eq!(notifications(&j).len(), 2);
    assert!(notifications(&j)[0].contains("\"2\""));
    // WARNING is not in notification_options: alert only.
    let (log, j) = h.at(T0 + 11, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;1;w");
    assert!(has(&log, "SERVICE ALERT: web01;Queue;WARNING;HARD;1;w"));
    assert!(notifications(&j).is_empty());
    // Recovery: alice has r, dave does not.
    let (_, j) = h.at(T0 + 12, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;0;ok");
    let n = notifications(&j);
    assert_eq!(n.len(), 1);
    assert!(n[0].contains("\"alice\" \"RECOVERY\""));
    // A filtered problem then OK: no recovery either.
    h.at(T0 + 13, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;1;w");
    let (_, j) = h.at(T0 + 14, "PROCESS_SERVICE_CHECK_RESULT;web01;Queue;0;ok");
    assert!(notifications(&j).is_empty());
}

#[test]
fn first_notification_delay_waits_for_a_result_after_the_delay() {
    let objects = r#"
define service {
    use                       passive-service
    host_name                 web01
    service_description       Backup
    max_check_attempts        1
    notification_interval     0
    first_notification_delay  5
}
"#;
    let mut h = harness(objects, "");
    let (log, j) = h.at(T0 + 10, "PROCESS_SERVICE_CHECK_RESULT;web01;Backup;2;fail");
    assert!(has(
        &log,
        "SERVICE ALERT: web01;Backup;CRITICAL;HARD;1;fail"
    ));
    assert!(notifications(&j).is_empty());
    let (_, j) = h.at(T0 + 12, "PROCESS_SERVICE_CHECK_RESULT;web01;Backup;2;fail");
    assert!(notifications(&j).is_empty());
    let (log, j) = h.at(T0 + 16, "PROCESS_SERVICE_CHECK_RESULT;web01;Backup;2;fail");
    assert_eq!(notifications(&j).len(), 1);
    assert!(!log.iter().any(|l| l.starts_with("SERVICE ALERT")));
}

#[test]
fn host_down_suppresses_service_notifications_and_recovery_is_hard() {
    let mut h = harness(MAX3, "");
    let (log, j) = h.at(T0, "PROCESS_HOST_CHECK_RESULT;web01;1;down");
    assert!(has(&log, "HOST ALERT: web01;DOWN;HARD;1;down"));
    assert!(has(
        &log,
        "HOST NOTIFICATION: alice;web01;DOWN;notify-host;down"
    ));
    assert!(has(&log, "HOST EVENT HANDLER: web01;DOWN;HARD;1;eh-host"));
    assert_eq!(notifications(&j).len(), 1);
    let (log, j) = h.at(T0 + 1, "PROCESS_HOST_CHECK_RESULT;web01;1;down");
    assert!(log.iter().all(|l| !l.starts_with("HOST ALERT")));
    assert!(j.is_empty());
    let (log, j) = h.at(
        T0 + 2,
        "PROCESS_SERVICE_CHECK_RESULT;web01;Replication;2;crit",
    );
    assert!(
        has(
            &log,
            "SERVICE ALERT: web01;Replication;CRITICAL;HARD;1;crit"
        ),
        "{log:?}"
    );
    assert!(notifications(&j).is_empty());
    let (log, j) = h.at(T0 + 3, "PROCESS_HOST_CHECK_RESULT;web01;0;up");
    assert!(has(&log, "HOST ALERT: web01;UP;HARD;1;up"));
    assert!(notifications(&j)[0].contains("RECOVERY"));
    // First result after the outage notifies without an alert line.
    let (log, j) = h.at(
        T0 + 4,
        "PROCESS_SERVICE_CHECK_RESULT;web01;Replication;2;crit",
    );
    assert_eq!(notifications(&j).len(), 1);
    assert!(log.iter().all(|l| !l.starts_with("SERVICE ALERT")));
    // Deliberate difference: a HARD recovery with a RECOVERY notification.
    let (log, j) = h.at(
        T0 + 5,
        "PROCESS_SERVICE_CHECK_RESULT;web01;Replication;0;ok",
    );
    assert!(
        has(&log, "SERVICE ALERT: web01;Replication;OK;HARD;1;ok"),
        "{log:?}"
    );
    assert!(notifications(&j)[0].contains("RECOVERY"));
}

#[test]
fn acknowledgements_normal_and_sticky() {
    let mut h = harness(VOLATILE, "");
    h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;a");
    let (log, j) = h.at(
        T0 + 1,
        "ACKNOWLEDGE_SVC_PROBLEM;web01;TCP wrappers;1;1;1;alice;on it",
    );
    assert!(has(
        &log,
        "SERVICE NOTIFICATION: alice;web01;TCP wrappers;ACKNOWLEDGEMENT (CRITICAL);notify;a;alice;on it"
    ));
    assert!(notifications(&j)[0].contains("\"ACKNOWLEDGEMENT\""));
    assert!(notifications(&j)[0].contains("\"alice\" \"on it\""));
    assert_eq!(h.e.comments().count(), 1);
    let (log, j) = h.at(
        T0 + 2,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;b",
    );
    assert!(has(
        &log,
        "SERVICE ALERT: web01;TCP wrappers;CRITICAL;HARD;1;b"
    ));
    assert!(notifications(&j).is_empty());
    // A state change removes a normal ack (and its non-persistent comment stays: persistent=1).
    let (_, j) = h.at(
        T0 + 3,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;1;c",
    );
    assert_eq!(notifications(&j).len(), 1);
    assert!(!h.svc("web01", "TCP wrappers").problem_has_been_acknowledged);
    // Sticky survives WARNING -> CRITICAL, goes on OK.
    h.at(
        T0 + 4,
        "ACKNOWLEDGE_SVC_PROBLEM;web01;TCP wrappers;2;0;0;alice;sticky",
    );
    let (_, j) = h.at(
        T0 + 5,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;d",
    );
    assert!(notifications(&j).is_empty());
    assert!(h.svc("web01", "TCP wrappers").problem_has_been_acknowledged);
    h.at(
        T0 + 6,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;0;ok",
    );
    assert!(!h.svc("web01", "TCP wrappers").problem_has_been_acknowledged);
    // The non-persistent sticky ack comment is gone, the persistent one stays.
    assert_eq!(h.e.comments().count(), 1);
}

#[test]
fn fixed_downtime_starts_and_ends_with_the_clock() {
    let mut h = harness(VOLATILE, "");
    let (log, j) = h.at(
        T0,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;web01;TCP wrappers;{};{};1;0;0;alice;maint",
            T0 + 10,
            T0 + 20
        ),
    );
    assert_eq!(log.len(), 1, "only the EXTERNAL COMMAND line: {log:?}");
    assert!(j.is_empty());
    assert_eq!(h.e.next_wakeup(), Some(T0 + 10));
    h.e.tick(T0 + 10);
    let (log, _) = h.drain();
    assert!(has(
        &log,
        "SERVICE DOWNTIME ALERT: web01;TCP wrappers;STARTED; Service has entered a period of scheduled downtime"
    ));
    let (log, j) = h.at(
        T0 + 11,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x",
    );
    assert!(has(
        &log,
        "SERVICE ALERT: web01;TCP wrappers;CRITICAL;HARD;1;x"
    ));
    assert!(notifications(&j).is_empty());
    assert_eq!(h.e.next_wakeup(), Some(T0 + 20));
    h.e.tick(T0 + 20);
    let (log, _) = h.drain();
    assert!(has(
        &log,
        "SERVICE DOWNTIME ALERT: web01;TCP wrappers;STOPPED; Service has exited from a period of scheduled downtime"
    ));
    assert_eq!(h.e.downtimes().count(), 0);
    let (_, j) = h.at(
        T0 + 21,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;y",
    );
    assert_eq!(notifications(&j).len(), 1);
}

#[test]
fn flexible_downtime_starts_on_the_first_problem_and_deletion_cancels() {
    let mut h = harness(VOLATILE, "");
    h.at(
        T0,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;web01;TCP wrappers;{T0};{};0;0;5;alice;flex",
            T0 + 100
        ),
    );
    assert_eq!(h.svc("web01", "TCP wrappers").scheduled_downtime_depth, 0);
    let (log, j) = h.at(
        T0 + 3,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x",
    );
    assert!(
        log.iter()
            .any(|l| l.contains("DOWNTIME ALERT") && l.contains("STARTED"))
    );
    assert!(notifications(&j).is_empty());
    h.e.tick(T0 + 8);
    let (log, _) = h.drain();
    assert!(log.iter().any(|l| l.contains("STOPPED")), "{log:?}");
    // A fixed one cancelled while in effect.
    h.at(
        T0 + 9,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;web01;TCP wrappers;{};{};1;0;0;a;b",
            T0 + 9,
            T0 + 99
        ),
    );
    let id = h.e.downtimes().next().map(|d| d.id).expect("downtime");
    let (log, _) = h.at(T0 + 10, &format!("DEL_SVC_DOWNTIME;{id}"));
    assert!(has(
        &log,
        "SERVICE DOWNTIME ALERT: web01;TCP wrappers;CANCELLED; Scheduled downtime for service has been cancelled."
    ));
    // As in Nagios, an unknown id is not an error.
    let (log, _) = h.at(T0 + 11, "DEL_SVC_DOWNTIME;999");
    assert_eq!(log, ["EXTERNAL COMMAND: DEL_SVC_DOWNTIME;999"]);
}

#[test]
fn flapping_starts_after_four_changes_and_suppresses_notifications() {
    let objects = VOLATILE.replace("w,u,c,r", "w,u,c,r,f");
    let mut h = harness(
        &objects,
        "enable_flap_detection=1\nlow_service_flap_threshold=5.0\nhigh_service_flap_threshold=20.0",
    );
    let mut t = T0;
    let mut log_all = Vec::new();
    for rc in [2, 0, 2, 0] {
        t += 1;
        let (log, _) = h.at(
            t,
            &format!("PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;{rc};r"),
        );
        log_all.extend(log);
    }
    assert!(has(
        &log_all,
        "SERVICE FLAPPING ALERT: web01;TCP wrappers;STARTED; Service appears to have started flapping (24.2% change >= 20.0% threshold)"
    ));
    assert!(h.svc("web01", "TCP wrappers").is_flapping);
    t += 1;
    let (log, j) = h.at(t, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;r");
    assert!(has(
        &log,
        "SERVICE ALERT: web01;TCP wrappers;CRITICAL;HARD;1;r"
    ));
    assert!(notifications(&j).is_empty());
    let mut stopped = false;
    for _ in 0..25 {
        t += 1;
        let (log, _) = h.at(t, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;0;ok");
        stopped |= log
            .iter()
            .any(|l| l.contains("STOPPED; Service appears to have stopped flapping"));
    }
    assert!(stopped);
    assert!(!h.svc("web01", "TCP wrappers").is_flapping);
}

#[test]
fn external_command_errors_are_logged_as_nagios_does() {
    let mut h = harness(VOLATILE, "");
    h.e.process_line(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x");
    h.e.process_line(T0, "[5] NO_SUCH_COMMAND;a;b");
    h.e.process_line(
        T0,
        "[5] PROCESS_SERVICE_CHECK_RESULT;nosuch;TCP wrappers;2;x",
    );
    h.e.process_line(T0, "[5] PROCESS_HOST_CHECK_RESULT;web01;3;x");
    h.e.process_line(T0, "[5] STOP_ACCEPTING_PASSIVE_SVC_CHECKS");
    let (log, _) = h.drain();
    assert_eq!(
        log,
        [
            "External command PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x returned error Malformed command",
            "Warning: Unrecognized external command -> NO_SUCH_COMMAND;a;b",
            "External command [5] NO_SUCH_COMMAND;a;b returned error Unknown or unsupported command",
            "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;nosuch;TCP wrappers;2;x",
            "Warning:  Passive check result was received for service 'TCP wrappers' on host 'nosuch', but the host could not be found!",
            "Error: External command failed -> PROCESS_SERVICE_CHECK_RESULT;nosuch;TCP wrappers;2;x",
            "External command [5] PROCESS_SERVICE_CHECK_RESULT;nosuch;TCP wrappers;2;x returned error Command failed",
            "EXTERNAL COMMAND: PROCESS_HOST_CHECK_RESULT;web01;3;x",
            "Error: External command failed -> PROCESS_HOST_CHECK_RESULT;web01;3;x",
            "External command [5] PROCESS_HOST_CHECK_RESULT;web01;3;x returned error Command failed",
            "EXTERNAL COMMAND: STOP_ACCEPTING_PASSIVE_SVC_CHECKS;",
        ]
    );
}

#[test]
fn old_results_are_processed_unless_dropping_stale_ones() {
    let mut h = harness(VOLATILE, "");
    h.e.process_line(
        T0,
        &format!("[{T0}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;0;new"),
    );
    h.e.process_line(
        T0,
        &format!(
            "[{}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;old",
            T0 - 3600
        ),
    );
    let st = h.svc("web01", "TCP wrappers");
    assert_eq!((st.current_state, st.last_check), (2, T0 - 3600));

    let mut h = harness_opts(
        VOLATILE,
        "",
        EngineOptions {
            drop_stale_results: true,
        },
    );
    h.e.process_line(
        T0,
        &format!("[{T0}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;0;new"),
    );
    h.e.process_line(
        T0,
        &format!(
            "[{}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;old",
            T0 - 3600
        ),
    );
    assert_eq!(h.svc("web01", "TCP wrappers").current_state, 0);
}

#[test]
fn output_macros_are_cleaned_before_the_shell() {
    let mut h = harness(VOLATILE, "");
    let (log, j) = h.at(
        T0,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x `id` $(rm -rf /) \"q\" | p=1\\nline2 'a' & b",
    );
    let n = notifications(&j);
    assert_eq!(n.len(), 1);
    assert!(n[0].contains("\"x id (rm -rf /) q\""), "{}", n[0]);
    assert!(n[0].contains("\"line2 a  b\""), "{}", n[0]);
    // The log keeps the short output as Nagios does (no newline can get in).
    assert!(has(
        &log,
        "SERVICE ALERT: web01;TCP wrappers;CRITICAL;HARD;1;x `id` $(rm -rf /) \"q\""
    ));
}

#[test]
fn environment_macros_when_enabled() {
    let objects = format!("{VOLATILE}\ndefine contact {{\n use base-contact\n contact_name eve\n _TEAM netops\n address1 xmpp:eve\n}}\n")
        .replace("notification_options  w,u,c,r\n}", "notification_options  w,u,c,r\n    contacts eve\n    _SOURCE nsca\n}");
    let mut h = harness(&objects, "enable_environment_macros=1");
    let (_, j) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;boom");
    let job = j
        .iter()
        .find(|j| j.kind == JobKind::Notification)
        .expect("job");
    let get = |k: &str| {
        job.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("NAGIOS_SERVICESTATE"), Some("CRITICAL"));
    assert_eq!(get("NAGIOS_HOSTNAME"), Some("web01"));
    assert_eq!(get("NAGIOS_CONTACTNAME"), Some("eve"));
    assert_eq!(get("NAGIOS__SERVICESOURCE"), Some("nsca"));
    assert_eq!(get("NAGIOS__CONTACTTEAM"), Some("netops"));
    assert_eq!(get("NAGIOS_CONTACTADDRESS0"), Some("xmpp:eve"));
    assert_eq!(get("NAGIOS_NOTIFICATIONTYPE"), Some("PROBLEM"));

    // A CHANGE_CUSTOM_SVC_VAR shows in the environment as in $_SERVICESOURCE$.
    h.at(
        T0 + 1,
        "CHANGE_CUSTOM_SVC_VAR;web01;TCP wrappers;source;api",
    );
    let (_, j) = h.at(
        T0 + 2,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;again",
    );
    let job = j
        .iter()
        .find(|j| j.kind == JobKind::Notification)
        .expect("job");
    let source = job
        .env
        .iter()
        .find(|(n, _)| n == "NAGIOS__SERVICESOURCE")
        .map(|(_, v)| v.as_str());
    assert_eq!(source, Some("api"));
}

#[test]
fn escalations_replace_the_contacts_for_their_numbers() {
    let objects = r#"
define service {
    use                   passive-service
    host_name             web01
    service_description   Replication
    max_check_attempts    1
    notification_interval 1
}
define serviceescalation {
    host_name             web01
    service_description   Replication
    first_notification    2
    last_notification     3
    notification_interval 1
    contacts              bob
}
"#;
    let mut h = harness(objects, "");
    let mut who = Vec::new();
    for i in 0..4 {
        let (_, j) = h.at(
            T0 + 2 * i,
            "PROCESS_SERVICE_CHECK_RESULT;web01;Replication;2;lag",
        );
        for n in notifications(&j) {
            who.push(
                n.split('"').nth(1).unwrap_or("").to_owned()
                    + "/"
                    + n.split('"').nth(13).unwrap_or(""),
            );
        }
    }
    assert_eq!(who, ["alice/0", "bob/1", "bob/1", "alice/0"]);
}

#[test]
fn passive_results_from_nsca_take_the_same_path_as_the_command_file() {
    let mut a = harness(VOLATILE, "");
    let mut b = harness(VOLATILE, "");
    let (log_a, jobs_a) = a.at(
        T0,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;Denied sshd-10.0.0.2",
    );
    b.e.process_passive(
        T0,
        &PassiveResult {
            host: "web01".into(),
            service: Some("TCP wrappers".into()),
            return_code: 2,
            output: "Denied sshd-10.0.0.2".into(),
            check_time: T0,
        },
    );
    let (log_b, jobs_b) = b.drain();
    assert_eq!(log_a, log_b);
    assert_eq!(jobs_a, jobs_b);
}

/// The `EXTERNAL COMMAND:` line of a passive result is `log_safe` of its
/// `command_args()`, for names and outputs with control characters and line breaks
/// too (unknown hosts: only the line and the failure are logged).
#[test]
fn passive_results_log_their_command_line_made_safe() {
    let odd = "a\u{1b}[31m\tb\u{85}c\u{2028}d\u{7f}e\\nf;g";
    for (host, service, rc) in [
        (odd, Some(odd), -7),
        ("web01", Some("TCP wrappers"), 2),
        (odd, None, 1),
        ("web01", None, 65_536),
    ] {
        let mut e = harness(VOLATILE, "");
        let r = PassiveResult {
            host: host.into(),
            service: service.map(Into::into),
            return_code: rc,
            output: odd.into(),
            check_time: T0,
        };
        e.e.process_passive(T0, &r);
        let (log, _) = e.drain();
        let name = if service.is_some() {
            "PROCESS_SERVICE_CHECK_RESULT"
        } else {
            "PROCESS_HOST_CHECK_RESULT"
        };
        let want = format!(
            "EXTERNAL COMMAND: {name};{}",
            picket_engine::output::log_safe(&r.command_args())
        );
        let first = log.first().map(String::as_str).unwrap_or_default();
        assert!(first.ends_with(&want), "{first}\n{want}");
    }
}

#[test]
fn snapshot_restore_and_replay_rebuild_the_same_state() {
    let lines: Vec<String> = (0..40)
        .map(|i| {
            let rc = [0, 2, 2, 1, 0][i % 5];
            format!("PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;{rc};r{i}")
        })
        .collect();
    let mut full = harness(VOLATILE, "");
    for (i, l) in lines.iter().enumerate() {
        full.at(T0 + i as i64, l);
    }
    full.at(
        T0 + 50,
        "ACKNOWLEDGE_SVC_PROBLEM;web01;TCP wrappers;2;0;1;alice;x",
    );

    // Snapshot half-way, then replay the rest with outputs discarded.
    let mut first = harness(VOLATILE, "");
    for (i, l) in lines.iter().enumerate().take(20) {
        first.at(T0 + i as i64, l);
    }
    let snap = serde_json::to_string(&first.e.snapshot()).expect("serialise");
    let mut second = harness(VOLATILE, "");
    second
        .e
        .restore(serde_json::from_str(&snap).expect("parse"));
    second.e.set_replay(true);
    for (i, l) in lines.iter().enumerate().skip(20) {
        second.at(T0 + i as i64, l);
    }
    second.at(
        T0 + 50,
        "ACKNOWLEDGE_SVC_PROBLEM;web01;TCP wrappers;2;0;1;alice;x",
    );
    assert!(second.e.take_outputs().is_empty());
    second.e.set_replay(false);
    assert_eq!(full.e.snapshot(), second.e.snapshot());
}

#[test]
fn global_and_service_event_handlers_both_run() {
    let mut h = harness(VOLATILE, "global_service_event_handler=eh");
    let (log, j) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x");
    assert!(has(
        &log,
        "GLOBAL SERVICE EVENT HANDLER: web01;TCP wrappers;CRITICAL;HARD;1;eh"
    ));
    assert!(has(
        &log,
        "SERVICE EVENT HANDLER: web01;TCP wrappers;CRITICAL;HARD;1;eh"
    ));
    assert_eq!(
        j.iter().filter(|j| j.kind == JobKind::EventHandler).count(),
        2
    );
    let (_, j) = h.at(T0 + 1, "DISABLE_EVENT_HANDLERS");
    assert!(j.is_empty());
    let (_, j) = h.at(
        T0 + 2,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x",
    );
    assert_eq!(
        j.iter().filter(|j| j.kind == JobKind::EventHandler).count(),
        0
    );
}

#[test]
fn custom_notifications_and_switches() {
    let mut h = harness(VOLATILE, "");
    h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x");
    let (log, j) = h.at(
        T0 + 1,
        "SEND_CUSTOM_SVC_NOTIFICATION;web01;TCP wrappers;0;bob;hello",
    );
    assert!(has(
        &log,
        "SERVICE NOTIFICATION: alice;web01;TCP wrappers;CUSTOM (CRITICAL);notify;x;bob;hello"
    ));
    assert!(notifications(&j)[0].contains("\"CUSTOM\""));
    h.at(T0 + 2, "DISABLE_SVC_NOTIFICATIONS;web01;TCP wrappers");
    let (_, j) = h.at(
        T0 + 3,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;y",
    );
    assert!(notifications(&j).is_empty());
    // Forced (option 2) passes every filter.
    let (_, j) = h.at(
        T0 + 4,
        "SEND_CUSTOM_SVC_NOTIFICATION;web01;TCP wrappers;2;bob;forced",
    );
    assert_eq!(notifications(&j).len(), 1);
    h.at(T0 + 5, "ENABLE_SVC_NOTIFICATIONS;web01;TCP wrappers");
    h.at(T0 + 6, "DISABLE_NOTIFICATIONS");
    let (_, j) = h.at(
        T0 + 7,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;z",
    );
    assert!(notifications(&j).is_empty());
    h.at(T0 + 8, "DISABLE_PASSIVE_SVC_CHECKS;web01;TCP wrappers");
    let (log, _) = h.at(
        T0 + 9,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;0;ignored",
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("Error: External command failed"))
    );
    assert_eq!(h.svc("web01", "TCP wrappers").current_state, 2);
}

#[test]
fn passive_host_switches_global_is_silent_per_host_fails() {
    let mut h = harness(VOLATILE, "accept_passive_service_checks=0");
    // QUIRK: the service-wide switch refuses host results, with the failure lines.
    let (log, _) = h.at(T0, "PROCESS_HOST_CHECK_RESULT;web01;1;refused");
    assert_eq!(
        log,
        [
            "EXTERNAL COMMAND: PROCESS_HOST_CHECK_RESULT;web01;1;refused",
            "Error: External command failed -> PROCESS_HOST_CHECK_RESULT;web01;1;refused",
            &format!(
                "External command [{T0}] PROCESS_HOST_CHECK_RESULT;web01;1;refused returned error Command failed"
            ),
        ]
    );
    let _ = h.at(T0, "START_ACCEPTING_PASSIVE_SVC_CHECKS");
    // accept_passive_host_checks off: the command succeeds, the result is dropped
    // without a word (it is tested when Nagios reaps the result).
    let _ = h.at(T0 + 1, "STOP_ACCEPTING_PASSIVE_HOST_CHECKS");
    let (log, jobs) = h.at(T0 + 2, "PROCESS_HOST_CHECK_RESULT;web01;1;ignored");
    assert_eq!(
        log,
        ["EXTERNAL COMMAND: PROCESS_HOST_CHECK_RESULT;web01;1;ignored"]
    );
    assert!(jobs.is_empty());
    let hid = h.e.config().host_by_name("web01").expect("web01");
    assert_eq!(h.e.host_status(hid).current_state, 0);
    // An unknown host is still reported.
    let (log, _) = h.at(T0 + 3, "PROCESS_HOST_CHECK_RESULT;nosuch;1;x");
    assert!(has(
        &log,
        "Warning:  Passive check result was received for host 'nosuch', but the host could not be found!"
    ));
    assert!(has(
        &log,
        "Error: External command failed -> PROCESS_HOST_CHECK_RESULT;nosuch;1;x"
    ));
    let _ = h.at(T0 + 4, "START_ACCEPTING_PASSIVE_HOST_CHECKS");
    // Passive checks disabled for the host: the command fails.
    let _ = h.at(T0 + 5, "DISABLE_PASSIVE_HOST_CHECKS;web01");
    let (log, _) = h.at(T0 + 6, "PROCESS_HOST_CHECK_RESULT;web01;1;refused");
    assert!(has(
        &log,
        "Error: External command failed -> PROCESS_HOST_CHECK_RESULT;web01;1;refused"
    ));
    let _ = h.at(T0 + 7, "ENABLE_PASSIVE_HOST_CHECKS;web01");
    let (log, _) = h.at(T0 + 8, "PROCESS_HOST_CHECK_RESULT;web01;1;down");
    assert!(has(&log, "HOST ALERT: web01;DOWN;HARD;1;down"));
}

const DEPS: &str = r#"
define service {
    name                  dep-svc
    use                   passive-service
    register              0
    max_check_attempts    1
    notification_interval 0
}
define service {
    use                  dep-svc
    host_name            web01
    service_description  M
}
define service {
    use                  dep-svc
    host_name            web01
    service_description  Unchecked
}
define service {
    use                  dep-svc
    host_name            web01
    service_description  OnPending
}
define service {
    use                  dep-svc
    host_name            web01
    service_description  OnUnchecked
}
define service {
    use                  dep-svc
    host_name            web01
    service_description  PeriodFirst
}
define service {
    use                  dep-svc
    host_name            web01
    service_description  PeriodLast
}
define servicedependency {
    host_name                      web01
    service_description            Unchecked
    dependent_host_name            web01
    dependent_service_description  OnPending
    notification_failure_criteria  p
}
define servicedependency {
    host_name                      web01
    service_description            Unchecked
    dependent_host_name            web01
    dependent_service_description  OnUnchecked
    notification_failure_criteria  o
}
define servicedependency {
    host_name                      web01
    service_description            M
    dependent_host_name            web01
    dependent_service_description  PeriodFirst
    notification_failure_criteria  c
    dependency_period              never
}
define servicedependency {
    host_name                      web01
    service_description            M
    dependent_host_name            web01
    dependent_service_description  PeriodFirst
    notification_failure_criteria  c
}
define servicedependency {
    host_name                      web01
    service_description            M
    dependent_host_name            web01
    dependent_service_description  PeriodLast
    notification_failure_criteria  c
}
define servicedependency {
    host_name                      web01
    service_description            M
    dependent_host_name            web01
    dependent_service_description  PeriodLast
    notification_failure_criteria  c
    dependency_period              never
}
"#;

/// check_service_dependencies() in 4.4.6 (oracle l_dependencies_ondemand): the master's
/// state bit only (no PENDING for a never-checked master, which is in its initial OK
/// state), dependencies in definition order, and one outside its dependency_period ends
/// the test as passed.
#[test]
fn notification_dependencies_follow_nagios_4_4_6() {
    let mut h = harness(DEPS, "");
    let notified = |h: &mut Harness, now: i64, svc: &str| {
        let (log, jobs) = h.at(
            now,
            &format!("PROCESS_SERVICE_CHECK_RESULT;web01;{svc};2;crit"),
        );
        assert!(has(
            &log,
            &format!("SERVICE ALERT: web01;{svc};CRITICAL;HARD;1;crit")
        ));
        !notifications(&jobs).is_empty()
    };
    assert!(notified(&mut h, T0, "OnPending"), "p never matches");
    assert!(!notified(&mut h, T0 + 1, "OnUnchecked"), "unchecked is OK");
    assert!(notified(&mut h, T0 + 2, "M"));
    assert!(
        notified(&mut h, T0 + 3, "PeriodFirst"),
        "period ends the test"
    );
    assert!(
        !notified(&mut h, T0 + 4, "PeriodLast"),
        "failed before the period one"
    );
}

/// Group macros without a group are errors (left verbatim, as 4.4.6 does through
/// mac->*group_ptr == NULL); standard *GROUPALIAS macros use the first group; an
/// on-demand service macro with a blank host and a service the current host lacks is
/// empty, not an error (oracle f_contacts_groups and u_dependencies_ondemand).
#[test]
fn group_and_on_demand_macros_follow_nagios() {
    let objects = r#"
define command {
    command_name notify-m
    command_line /bin/m cg=$CONTACTGROUPNAME$ cga=$CONTACTGROUPALIAS$ hg=$HOSTGROUPNAME$ sg=$SERVICEGROUPNAME$ local=$SERVICESTATE::Local$ other=$SERVICESTATE::Nope$ full=$SERVICESTATE:web01:Nope$
}
define contact {
    use                            base-contact
    contact_name                   carol
    service_notification_commands  notify-m
}
define contact {
    use                            base-contact
    contact_name                   dave
    service_notification_commands  notify-m
}
define contactgroup {
    contactgroup_name  ops
    alias              Operations
    members            dave
}
define service {
    use                  passive-service
    host_name            web01
    service_description  Local
    max_check_attempts   1
    contacts             carol
    contact_groups       ops
}
"#;
    let mut h = harness(objects, "");
    let (_, jobs) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;Local;1;warn");
    let mut n = notifications(&jobs);
    n.sort_unstable();
    assert_eq!(
        n,
        [
            "/bin/m cg=$CONTACTGROUPNAME$ cga=$CONTACTGROUPALIAS$ hg=$HOSTGROUPNAME$ sg=$SERVICEGROUPNAME$ local=WARNING other= full=$SERVICESTATE:web01:Nope$",
            "/bin/m cg=ops cga=Operations hg=$HOSTGROUPNAME$ sg=$SERVICEGROUPNAME$ local=WARNING other= full=$SERVICESTATE:web01:Nope$",
        ]
    );
}

/// ENABLE_/DISABLE_CONTACT(GROUP)_SVC/HOST_NOTIFICATIONS switch a contact's run-time
/// flags (oracle f_contact_commands); a forced custom notification ignores them; an
/// unknown name fails the command; the flags are retained by name, and a retention
/// file without them still loads.
#[test]
fn contact_notification_switches_and_retention() {
    let objects = r#"
define contactgroup {
    contactgroup_name  ops
    members            bob
}
define service {
    use                   passive-service
    host_name             web01
    service_description   Vol
    is_volatile           1
    max_check_attempts    1
    notification_interval 0
    contacts              alice
    contact_groups        ops
}
"#;
    let who = |jobs: &[Job]| {
        let mut v: Vec<String> = notifications(jobs)
            .iter()
            .map(|n| n.split('"').nth(1).unwrap_or("").to_owned())
            .collect();
        v.sort();
        v
    };
    let mut h = harness(objects, "");
    let (_, j) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;Vol;2;a");
    assert_eq!(who(&j), ["alice", "bob"]);
    let (log, _) = h.at(T0 + 1, "DISABLE_CONTACT_SVC_NOTIFICATIONS;alice");
    assert_eq!(
        log,
        ["EXTERNAL COMMAND: DISABLE_CONTACT_SVC_NOTIFICATIONS;alice"]
    );
    let (_, j) = h.at(T0 + 2, "PROCESS_SERVICE_CHECK_RESULT;web01;Vol;2;b");
    assert_eq!(who(&j), ["bob"]);
    h.at(T0 + 3, "DISABLE_CONTACTGROUP_SVC_NOTIFICATIONS;ops");
    let (_, j) = h.at(T0 + 4, "PROCESS_SERVICE_CHECK_RESULT;web01;Vol;2;c");
    assert!(who(&j).is_empty());
    let (_, j) = h.at(
        T0 + 5,
        "SEND_CUSTOM_SVC_NOTIFICATION;web01;Vol;2;admin;forced",
    );
    assert_eq!(who(&j), ["alice", "bob"]);
    // Host switches are separate.
    let (_, j) = h.at(T0 + 6, "PROCESS_HOST_CHECK_RESULT;web01;1;down");
    assert_eq!(who(&j), ["alice"]);
    h.at(T0 + 7, "PROCESS_HOST_CHECK_RESULT;web01;0;up");
    let (log, _) = h.at(T0 + 7, "ENABLE_CONTACT_SVC_NOTIFICATIONS;nobody");
    assert!(has(
        &log,
        "Error: External command failed -> ENABLE_CONTACT_SVC_NOTIFICATIONS;nobody"
    ));

    // Retained by name; an older retention file without "contacts" keeps the config's.
    let snap = serde_json::to_value(h.e.snapshot()).expect("serialise");
    let mut again = harness(objects, "");
    again
        .e
        .restore(serde_json::from_value(snap.clone()).expect("parse"));
    let (_, j) = again.at(T0 + 8, "PROCESS_SERVICE_CHECK_RESULT;web01;Vol;2;d");
    assert!(who(&j).is_empty());
    let mut old = snap;
    if let Some(o) = old.as_object_mut() {
        o.remove("contacts");
    }
    let mut older = harness(objects, "");
    older
        .e
        .restore(serde_json::from_value(old).expect("parse without contacts"));
    let (_, j) = older.at(T0 + 8, "PROCESS_SERVICE_CHECK_RESULT;web01;Vol;2;d");
    assert_eq!(who(&j), ["alice", "bob"]);
}

#[test]
fn a_disabled_object_handler_also_skips_the_global_handler() {
    // Nagios 4.4.6 `handle_service_event()` / `handle_host_event()` return before the
    // global handler when the object's event_handler_enabled is off.
    let mut h = harness(
        VOLATILE,
        "global_service_event_handler=eh\nglobal_host_event_handler=eh-host",
    );
    h.at(T0, "DISABLE_SVC_EVENT_HANDLER;web01;TCP wrappers");
    let (log, j) = h.at(
        T0 + 1,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;x",
    );
    assert!(log.iter().all(|l| !l.contains("EVENT HANDLER")), "{log:?}");
    assert!(j.iter().all(|j| j.kind != JobKind::EventHandler));
    h.at(T0 + 2, "ENABLE_SVC_EVENT_HANDLER;web01;TCP wrappers");
    let (log, j) = h.at(
        T0 + 3,
        "PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;y",
    );
    assert!(has(
        &log,
        "GLOBAL SERVICE EVENT HANDLER: web01;TCP wrappers;CRITICAL;HARD;1;eh"
    ));
    assert_eq!(
        j.iter().filter(|j| j.kind == JobKind::EventHandler).count(),
        2
    );
    h.at(T0 + 4, "DISABLE_HOST_EVENT_HANDLER;web01");
    let (log, j) = h.at(T0 + 5, "PROCESS_HOST_CHECK_RESULT;web01;1;down");
    assert!(has(&log, "HOST ALERT: web01;DOWN;HARD;1;down"));
    assert!(log.iter().all(|l| !l.contains("EVENT HANDLER")), "{log:?}");
    assert!(j.iter().all(|j| j.kind != JobKind::EventHandler));
    h.at(T0 + 6, "ENABLE_HOST_EVENT_HANDLER;web01");
    let (log, _) = h.at(T0 + 7, "PROCESS_HOST_CHECK_RESULT;web01;0;up");
    assert!(has(
        &log,
        "GLOBAL HOST EVENT HANDLER: web01;UP;HARD;1;eh-host"
    ));
    assert!(has(&log, "HOST EVENT HANDLER: web01;UP;HARD;1;eh-host"));
}

const HOSTS3: &str = r#"
define host {
    use                 passive-host
    host_name           gw
    address             127.0.0.2
    max_check_attempts  3
}
define host {
    use                 passive-host
    host_name           leaf
    address             127.0.0.3
    parents             gw
    max_check_attempts  3
}
define service {
    use                   passive-service
    host_name             web01
    service_description   s
    max_check_attempts    1
}
"#;

#[test]
fn a_host_recovery_restarts_at_attempt_one() {
    let mut h = harness(HOSTS3, "passive_host_checks_are_soft=1");
    let (log, _) = h.at(T0, "PROCESS_HOST_CHECK_RESULT;gw;1;d1");
    assert!(has(&log, "HOST ALERT: gw;DOWN;SOFT;1;d1"), "{log:?}");
    let (log, _) = h.at(T0 + 1, "PROCESS_HOST_CHECK_RESULT;gw;1;d2");
    assert!(has(&log, "HOST ALERT: gw;DOWN;SOFT;2;d2"), "{log:?}");
    // SOFT recovery: UP;SOFT;1 (a service would log OK;SOFT;2).
    let (log, j) = h.at(T0 + 2, "PROCESS_HOST_CHECK_RESULT;gw;0;u1");
    assert!(has(&log, "HOST ALERT: gw;UP;SOFT;1;u1"), "{log:?}");
    assert!(notifications(&j).is_empty());
    for (k, out) in ["d3", "d4", "d5"].iter().enumerate() {
        h.at(
            T0 + 3 + k as i64,
            &format!("PROCESS_HOST_CHECK_RESULT;gw;1;{out}"),
        );
    }
    // HARD recovery: UP;HARD;1 (a service would log OK;HARD;3).
    let (log, j) = h.at(T0 + 7, "PROCESS_HOST_CHECK_RESULT;gw;0;u2");
    assert!(has(&log, "HOST ALERT: gw;UP;HARD;1;u2"), "{log:?}");
    assert!(has(&log, "HOST EVENT HANDLER: gw;UP;HARD;1;eh-host"));
    assert_eq!(notifications(&j).len(), 1);
    assert!(notifications(&j)[0].contains("RECOVERY"));
}

#[test]
fn translated_passive_host_results_follow_the_parents() {
    let mut h = harness(
        HOSTS3,
        "passive_host_checks_are_soft=1\ntranslate_passive_host_checks=1",
    );
    // A passive UNREACHABLE for a host without parents is translated to DOWN.
    let (log, _) = h.at(T0, "PROCESS_HOST_CHECK_RESULT;gw;2;d1");
    assert!(has(&log, "HOST ALERT: gw;DOWN;SOFT;1;d1"), "{log:?}");
    h.at(T0 + 1, "PROCESS_HOST_CHECK_RESULT;gw;1;d2");
    h.at(T0 + 2, "PROCESS_HOST_CHECK_RESULT;gw;1;d3");
    // The child reported DOWN behind a DOWN parent is UNREACHABLE.
    let (log, _) = h.at(T0 + 3, "PROCESS_HOST_CHECK_RESULT;leaf;1;c1");
    assert!(
        has(&log, "HOST ALERT: leaf;UNREACHABLE;SOFT;1;c1"),
        "{log:?}"
    );
    h.at(T0 + 4, "PROCESS_HOST_CHECK_RESULT;leaf;1;c2");
    let (log, j) = h.at(T0 + 5, "PROCESS_HOST_CHECK_RESULT;leaf;1;c3");
    assert!(
        has(&log, "HOST ALERT: leaf;UNREACHABLE;HARD;3;c3"),
        "{log:?}"
    );
    assert_eq!(notifications(&j).len(), 1);
    // Once the parent is UP, the same report is DOWN: a HARD state change.
    h.at(T0 + 6, "PROCESS_HOST_CHECK_RESULT;gw;0;up");
    let (log, j) = h.at(T0 + 7, "PROCESS_HOST_CHECK_RESULT;leaf;1;c4");
    assert!(has(&log, "HOST ALERT: leaf;DOWN;HARD;3;c4"), "{log:?}");
    assert_eq!(notifications(&j).len(), 1);
}

#[test]
fn notification_recipients_follow_the_nagios_list_order() {
    let objects = r#"
define command {
    command_name notify-recipients
    command_line /bin/notify "$CONTACTNAME$" "$NOTIFICATIONRECIPIENTS$"
}
define contact {
    use                            base-contact
    name                           rcpt
    register                       0
    service_notification_commands  notify-recipients
}
define contact {
    use           rcpt
    contact_name  c1
}
define contact {
    use           rcpt
    contact_name  c2
}
define contact {
    use           rcpt
    contact_name  c3
}
define contact {
    use           rcpt
    contact_name  c4
}
define contact {
    use                            rcpt
    contact_name                   off
    service_notifications_enabled  0
}
define contactgroup {
    contactgroup_name  g1
    alias              g1
    members            c4,c3
}
define service {
    use                   passive-service
    host_name             web01
    service_description   Order
    max_check_attempts    1
    notification_interval 0
    contacts              c2,off,c1
    contact_groups        g1
}
"#;
    let mut h = harness(objects, "");
    let (log, j) = h.at(T0, "PROCESS_SERVICE_CHECK_RESULT;web01;Order;2;x");
    let who: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("SERVICE NOTIFICATION: "))
        .filter_map(|l| l.split(';').next())
        .collect();
    // $NOTIFICATIONRECIPIENTS$: the direct contacts reversed (c1, c2), then the group's
    // members reversed (c3, c4); the commands run in the reverse of that order.
    assert_eq!(who, ["c4", "c3", "c2", "c1"]);
    let n = notifications(&j);
    assert_eq!(n.len(), 4);
    assert!(n.iter().all(|c| c.ends_with("\"c1,c2,c3,c4\"")), "{n:?}");
}

#[test]
fn a_host_recovery_goes_to_every_r_contact_once_any_problem_was_notified() {
    // Services need the contact to share a state with `notified_on`; hosts do not
    // (`check_contact_host_notification_viability()` tests `notified_on == 0` only).
    let objects = r#"
define contact {
    use                        base-contact
    contact_name               dan
    host_notification_options  d,r
}
define host {
    use        passive-host
    host_name  loud01
    address    127.0.0.4
    contacts   alice,dan
}
define service {
    use                   passive-service
    host_name             loud01
    service_description   s
    max_check_attempts    1
}
"#;
    let mut h = harness(objects, "");
    let (log, _) = h.at(T0, "PROCESS_HOST_CHECK_RESULT;loud01;2;unreachable");
    assert!(has(
        &log,
        "HOST NOTIFICATION: alice;loud01;UNREACHABLE;notify-host;unreachable"
    ));
    assert!(log.iter().all(|l| !l.starts_with("HOST NOTIFICATION: dan")));
    let (log, j) = h.at(T0 + 1, "PROCESS_HOST_CHECK_RESULT;loud01;0;up");
    assert!(
        has(&log, "HOST NOTIFICATION: dan;loud01;UP;notify-host;up"),
        "{log:?}"
    );
    assert!(has(
        &log,
        "HOST NOTIFICATION: alice;loud01;UP;notify-host;up"
    ));
    assert_eq!(notifications(&j).len(), 2);
}

#[test]
fn a_host_flexible_downtime_starts_after_the_problem_it_notifies() {
    let mut h = harness(VOLATILE, "");
    h.at(
        T0,
        &format!(
            "SCHEDULE_HOST_DOWNTIME;web01;{T0};{};0;0;2;alice;flex",
            T0 + 60
        ),
    );
    let (log, j) = h.at(T0 + 1, "PROCESS_HOST_CHECK_RESULT;web01;1;down");
    let pos = |want: &str| log.iter().position(|l| l.starts_with(want));
    let notified = pos("HOST NOTIFICATION: alice;web01;DOWN;").expect("problem notified");
    let handler = pos("HOST EVENT HANDLER: web01;DOWN;").expect("event handler");
    let started = pos("HOST DOWNTIME ALERT: web01;STARTED;").expect("downtime started");
    assert!(notified < handler && handler < started, "{log:?}");
    // (web01's notification_options have no s: no DOWNTIMESTART.)
    let n = notifications(&j);
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].contains("\"PROBLEM\""), "{n:?}");
    // While the downtime is in effect, a new problem state is not notified.
    let (log, j) = h.at(T0 + 2, "PROCESS_HOST_CHECK_RESULT;web01;2;unreachable");
    assert!(has(
        &log,
        "HOST ALERT: web01;UNREACHABLE;HARD;1;unreachable"
    ));
    assert!(notifications(&j).is_empty(), "{j:?}");
}

#[test]
fn a_host_problem_id_is_cleared_before_the_recovery_is_handled() {
    let objects = r#"
define command {
    command_name eh-host-ids
    command_line /bin/eh-host "$HOSTSTATE$" "$HOSTPROBLEMID$" "$LASTHOSTPROBLEMID$"
}
define host {
    use            passive-host
    host_name      ids01
    address        127.0.0.5
    event_handler  eh-host-ids
}
define service {
    use                   passive-service
    host_name             ids01
    service_description   s
    max_check_attempts    1
}
"#;
    let mut h = harness(objects, "");
    let handler = |j: &[Job]| {
        j.iter()
            .find(|j| j.kind == JobKind::EventHandler)
            .map(|j| j.command_line.clone())
            .unwrap_or_default()
    };
    let (_, j) = h.at(T0, "PROCESS_HOST_CHECK_RESULT;ids01;1;down");
    let down = handler(&j);
    let id = down.split('"').nth(3).unwrap_or("").to_owned();
    assert_ne!(id, "0", "{down}");
    // DOWN -> UNREACHABLE keeps the problem id (Nagios 4.4.6 clears it: a bug).
    let (_, j) = h.at(T0 + 1, "PROCESS_HOST_CHECK_RESULT;ids01;2;unreachable");
    assert_eq!(
        handler(&j),
        format!("/bin/eh-host \"UNREACHABLE\" \"{id}\" \"0\"")
    );
    // The recovery's handler sees the id already moved to $LASTHOSTPROBLEMID$.
    let (_, j) = h.at(T0 + 2, "PROCESS_HOST_CHECK_RESULT;ids01;0;up");
    assert_eq!(handler(&j), format!("/bin/eh-host \"UP\" \"0\" \"{id}\""));
}

const GROUPS: &str = r#"
define host {
    use        passive-host
    host_name  web02
    address    127.0.0.2
    parents    web01
}
define host {
    use        passive-host
    host_name  db01
    address    127.0.0.3
    parents    web02
}
define hostgroup {
    hostgroup_name  hg-web
    alias           web
    members         web01,web02
}
define servicegroup {
    servicegroup_name  sg-http
    alias              http
    members            web01,HTTP,db01,SQL
}
define service {
    name                  y-svc
    use                   passive-service
    register              0
    is_volatile           1
    max_check_attempts    1
    notification_interval 0
    notification_options  w,u,c,r,f,s
}
define service {
    use                  y-svc
    host_name            web01
    service_description  HTTP
}
define service {
    use                  y-svc
    host_name            web02
    service_description  HTTP
}
define service {
    use                  y-svc
    host_name            db01
    service_description  SQL
}
"#;

fn failed(log: &[String], cmd: &str) -> bool {
    has(log, &format!("Error: External command failed -> {cmd}"))
}

// [oracle: y_comments_group_commands]
#[test]
fn hostgroup_and_servicegroup_commands_switch_their_members() {
    let mut h = harness(GROUPS, "");
    let (log, _) = h.at(T0, "DISABLE_HOSTGROUP_SVC_NOTIFICATIONS;hg-web");
    assert!(!failed(&log, "DISABLE_HOSTGROUP_SVC_NOTIFICATIONS;hg-web"));
    assert!(!h.svc("web01", "HTTP").notifications_enabled);
    assert!(!h.svc("web02", "HTTP").notifications_enabled);
    assert!(h.svc("db01", "SQL").notifications_enabled);
    let (_, j) = h.at(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;web02;HTTP;2;down");
    assert!(notifications(&j).is_empty());
    h.at(T0 + 2, "ENABLE_HOSTGROUP_SVC_NOTIFICATIONS;hg-web");
    h.at(T0 + 3, "DISABLE_SERVICEGROUP_SVC_NOTIFICATIONS;sg-http");
    assert!(!h.svc("web01", "HTTP").notifications_enabled);
    assert!(h.svc("web02", "HTTP").notifications_enabled);
    assert!(!h.svc("db01", "SQL").notifications_enabled);
    h.at(T0 + 4, "DISABLE_SERVICEGROUP_PASSIVE_SVC_CHECKS;sg-http");
    let (log, _) = h.at(T0 + 5, "PROCESS_SERVICE_CHECK_RESULT;db01;SQL;0;ok");
    assert!(failed(&log, "PROCESS_SERVICE_CHECK_RESULT;db01;SQL;0;ok"));
    // Servicegroup host commands act on the hosts of the member services.
    h.at(T0 + 6, "DISABLE_SERVICEGROUP_HOST_NOTIFICATIONS;sg-http");
    let (_, j) = h.at(T0 + 7, "PROCESS_HOST_CHECK_RESULT;db01;1;db down");
    assert!(notifications(&j).is_empty());
    for cmd in [
        "DISABLE_HOSTGROUP_SVC_NOTIFICATIONS;nosuch",
        "DISABLE_SERVICEGROUP_SVC_NOTIFICATIONS;nosuch",
        "DISABLE_HOSTGROUP_SVC_NOTIFICATIONS;",
    ] {
        let (log, _) = h.at(T0 + 8, cmd);
        assert!(failed(&log, cmd), "{cmd}: {log:?}");
    }
}

// [oracle: y_comments_group_commands]
#[test]
fn group_downtimes_and_deletion_by_host_name() {
    let mut h = harness(GROUPS, "");
    let (s, e) = (T0 - 100, T0 + 600);
    let (log, _) = h.at(
        T0,
        &format!("SCHEDULE_HOSTGROUP_HOST_DOWNTIME;hg-web;{s};{e};1;0;600;alice;hosts"),
    );
    assert!(has(
        &log,
        "HOST DOWNTIME ALERT: web01;STARTED; Host has entered a period of scheduled downtime"
    ));
    assert!(has(
        &log,
        "HOST DOWNTIME ALERT: web02;STARTED; Host has entered a period of scheduled downtime"
    ));
    h.at(
        T0,
        &format!("SCHEDULE_HOSTGROUP_SVC_DOWNTIME;hg-web;{s};{e};1;0;600;alice;svcs"),
    );
    // web01;HTTP is already in downtime: the second one logs nothing.
    let (log, _) = h.at(
        T0,
        &format!("SCHEDULE_SERVICEGROUP_SVC_DOWNTIME;sg-http;{s};{e};1;0;600;alice;sg"),
    );
    assert!(
        !log.iter().any(|l| l.contains("web01;HTTP;STARTED")),
        "{log:?}"
    );
    assert!(has(
        &log,
        "SERVICE DOWNTIME ALERT: db01;SQL;STARTED; Service has entered a period of scheduled downtime"
    ));
    assert_eq!(h.e.downtimes().count(), 6);
    // With a service: only that service's downtimes.
    let (log, _) = h.at(T0 + 1, "DEL_DOWNTIME_BY_HOST_NAME;web02;HTTP");
    assert!(has(
        &log,
        "SERVICE DOWNTIME ALERT: web02;HTTP;CANCELLED; Scheduled downtime for service has been cancelled."
    ));
    assert!(!log.iter().any(|l| l.starts_with("HOST DOWNTIME")));
    // Without: all of the host's; two on web01;HTTP cancel with one line.
    let (log, _) = h.at(T0 + 2, "DEL_DOWNTIME_BY_HOST_NAME;web01");
    let cancelled = log.iter().filter(|l| l.contains(";CANCELLED;")).count();
    assert_eq!(cancelled, 2, "{log:?}");
    let (log, _) = h.at(T0 + 3, "DEL_DOWNTIME_BY_HOSTGROUP_NAME;hg-web");
    assert!(has(
        &log,
        "HOST DOWNTIME ALERT: web02;CANCELLED; Scheduled downtime for host has been cancelled."
    ));
    let (log, _) = h.at(T0 + 4, "DEL_DOWNTIME_BY_HOST_NAME;web01");
    assert!(
        failed(&log, "DEL_DOWNTIME_BY_HOST_NAME;web01"),
        "nothing left to delete"
    );
    let (log, _) = h.at(
        T0 + 5,
        &format!("SCHEDULE_HOSTGROUP_HOST_DOWNTIME;hg-web;{s}"),
    );
    assert!(failed(
        &log,
        &format!("SCHEDULE_HOSTGROUP_HOST_DOWNTIME;hg-web;{s}")
    ));
}

// [oracle: y_comments_group_commands]
#[test]
fn comment_deletion_fails_only_on_a_zero_id_or_an_unknown_object() {
    let mut h = harness(GROUPS, "");
    h.at(T0, "ADD_SVC_COMMENT;web01;HTTP;1;alice;note");
    for (cmd, fails) in [
        ("DEL_SVC_COMMENT;1", false),
        ("DEL_SVC_COMMENT;1", false),
        ("DEL_HOST_COMMENT;42", false),
        ("DEL_SVC_COMMENT;0", true),
        ("DEL_SVC_COMMENT;abc", true),
        ("DEL_ALL_HOST_COMMENTS;nosuch", true),
        ("DEL_ALL_SVC_COMMENTS;web01;nosuch", true),
        ("DEL_ALL_SVC_COMMENTS;web01", true),
        ("DEL_ALL_SVC_COMMENTS;web01;HTTP", false),
    ] {
        let (log, _) = h.at(T0 + 1, cmd);
        assert_eq!(failed(&log, cmd), fails, "{cmd}: {log:?}");
    }
    assert_eq!(h.e.comments().count(), 0);
}

// [oracle: y_downtime_variants]
#[test]
fn triggered_downtime_starts_and_ends_with_its_trigger_only() {
    let mut h = harness(GROUPS, "");
    // Trigger 1 is in effect already: downtime 2 waits for a start that never comes.
    h.at(
        T0,
        &format!(
            "SCHEDULE_HOST_DOWNTIME;web01;{T0};{};1;0;600;alice;p",
            T0 + 600
        ),
    );
    let (log, _) = h.at(
        T0,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;web02;HTTP;{T0};{};1;1;600;alice;t",
            T0 + 600
        ),
    );
    assert_eq!(log.len(), 1, "{log:?}");
    let (_, j) = h.at(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;web02;HTTP;2;down");
    assert_eq!(notifications(&j).len(), 1);
    // Deleting the trigger deletes the triggered one silently.
    h.at(T0 + 2, "DEL_HOST_DOWNTIME;1");
    assert_eq!(h.e.downtimes().count(), 0);
    // An unknown trigger: no error, no downtime, but the id (3) is used up.
    let cmd = format!(
        "SCHEDULE_SVC_DOWNTIME;web02;HTTP;{T0};{};1;99;600;alice;x",
        T0 + 600
    );
    let (log, _) = h.at(T0 + 3, &cmd);
    assert!(!failed(&log, &cmd));
    assert_eq!(h.e.downtimes().count(), 0);
    h.at(T0 + 3, "PROCESS_SERVICE_CHECK_RESULT;web02;HTTP;0;ok");
    // Trigger 4 starts at +6 and ends at +9; the triggered one (own end +11) with it.
    h.at(
        T0 + 3,
        &format!(
            "SCHEDULE_HOST_DOWNTIME;web01;{};{};1;0;3;alice;p2",
            T0 + 6,
            T0 + 9
        ),
    );
    let (log, _) = h.at(
        T0 + 3,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;web02;HTTP;{T0};{};1;4;8;alice;t2",
            T0 + 11
        ),
    );
    assert!(!failed(&log, "x"), "{log:?}");
    assert_eq!(h.e.downtimes().count(), 2);
    h.e.tick(T0 + 6);
    let (log, _) = h.drain();
    assert!(
        has(
            &log,
            "SERVICE DOWNTIME ALERT: web02;HTTP;STARTED; Service has entered a period of scheduled downtime"
        ),
        "{log:?}"
    );
    h.e.tick(T0 + 9);
    let (log, _) = h.drain();
    assert_eq!(
        log,
        [
            "HOST DOWNTIME ALERT: web01;STOPPED; Host has exited from a period of scheduled downtime",
            "SERVICE DOWNTIME ALERT: web02;HTTP;STOPPED; Service has exited from a period of scheduled downtime",
            "SERVICE NOTIFICATION: alice;web02;HTTP;DOWNTIMEEND (OK);notify;ok",
        ]
    );
    assert_eq!(h.e.downtimes().count(), 0);
}

// [oracle: y_downtime_variants]
#[test]
fn propagated_host_downtime_covers_all_descendants() {
    let mut h = harness(GROUPS, "");
    let e = T0 + 600;
    let (log, _) = h.at(
        T0,
        &format!("SCHEDULE_AND_PROPAGATE_HOST_DOWNTIME;web01;{T0};{e};1;0;600;alice;p"),
    );
    let started = log.iter().filter(|l| l.contains(";STARTED;")).count();
    assert_eq!(started, 3, "web01, web02 and db01 below it: {log:?}");
    // Not triggered: the children keep theirs.
    h.at(T0 + 1, "DEL_DOWNTIME_BY_HOST_NAME;web01");
    assert_eq!(h.e.downtimes().count(), 2);
    h.at(T0 + 1, "DEL_DOWNTIME_BY_HOST_NAME;web02");
    h.at(T0 + 1, "DEL_DOWNTIME_BY_HOST_NAME;db01");
    // Triggered: they start with the parent's even though it is due at once, and are
    // cancelled with it.
    let (log, _) = h.at(
        T0 + 2,
        &format!("SCHEDULE_AND_PROPAGATE_TRIGGERED_HOST_DOWNTIME;web01;{T0};{e};1;0;600;alice;t"),
    );
    let started = log.iter().filter(|l| l.contains(";STARTED;")).count();
    assert_eq!(started, 3, "{log:?}");
    let (log, _) = h.at(T0 + 3, "DEL_DOWNTIME_BY_HOST_NAME;web01");
    let cancelled = log.iter().filter(|l| l.contains(";CANCELLED;")).count();
    assert_eq!(cancelled, 3, "{log:?}");
    let cmd = format!("SCHEDULE_AND_PROPAGATE_HOST_DOWNTIME;nosuch;{T0};{e};1;0;600;alice;x");
    let (log, _) = h.at(T0 + 4, &cmd);
    assert!(failed(&log, &cmd));
}

// [oracle: y_downtime_variants]
#[test]
fn overlapping_downtimes_start_and_stop_once_and_an_ack_notifies_inside() {
    let mut h = harness(GROUPS, "");
    h.at(
        T0,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;db01;SQL;{T0};{};1;0;3;alice;short",
            T0 + 3
        ),
    );
    let (log, _) = h.at(
        T0,
        &format!(
            "SCHEDULE_SVC_DOWNTIME;db01;SQL;{T0};{};1;0;7;alice;longer",
            T0 + 7
        ),
    );
    assert_eq!(log.len(), 1, "no second STARTED: {log:?}");
    let (_, j) = h.at(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;db01;SQL;2;down");
    assert!(notifications(&j).is_empty());
    let (_, j) = h.at(T0 + 1, "ACKNOWLEDGE_SVC_PROBLEM;db01;SQL;1;1;0;alice;ack");
    assert_eq!(
        notifications(&j).len(),
        1,
        "ACKNOWLEDGEMENT is sent in downtime"
    );
    h.e.tick(T0 + 3);
    let (log, j) = h.drain();
    assert!(log.is_empty() && j.is_empty(), "{log:?}");
    h.e.tick(T0 + 7);
    let (log, j) = h.drain();
    assert!(has(
        &log,
        "SERVICE DOWNTIME ALERT: db01;SQL;STOPPED; Service has exited from a period of scheduled downtime"
    ));
    assert_eq!(notifications(&j).len(), 1, "DOWNTIMEEND");
}

// [oracle: y_change_commands]
#[test]
fn change_commands_custom_vars_max_attempts_and_notification_period() {
    let objects = r#"
define command {
    command_name notify-vars
    command_line /bin/notify "$_SERVICETEAM$" "$_HOSTSITE$" "$MAXSERVICEATTEMPTS$"
}
define contact {
    use                           base-contact
    contact_name                  carol
    service_notification_commands notify-vars
}
define host {
    use        passive-host
    host_name  srv1
    address    127.0.0.9
    _SITE      north
}
define service {
    use                   passive-service
    host_name             srv1
    service_description   APP
    is_volatile           1
    max_check_attempts    1
    notification_interval 0
    notification_options  w,u,c,r
    contacts              carol
    _TEAM                 red
}
"#;
    let mut h = harness(objects, "");
    h.at(T0, "CHANGE_CUSTOM_SVC_VAR;srv1;APP;team;blue");
    h.at(T0, "CHANGE_CUSTOM_HOST_VAR;srv1;SITE;south");
    let (log, _) = h.at(T0, "CHANGE_CUSTOM_SVC_VAR;srv1;APP;NOSUCH;x");
    assert!(!failed(&log, "CHANGE_CUSTOM_SVC_VAR;srv1;APP;NOSUCH;x"));
    let (log, _) = h.at(T0, "CHANGE_CUSTOM_SVC_VAR;srv1;NOSUCH;TEAM;x");
    assert!(failed(&log, "CHANGE_CUSTOM_SVC_VAR;srv1;NOSUCH;TEAM;x"));
    let (_, j) = h.at(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;1;warn");
    assert_eq!(notifications(&j), ["/bin/notify \"blue\" \"south\" \"1\""]);
    h.at(T0 + 2, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;0;ok");
    h.at(T0 + 3, "CHANGE_MAX_SVC_CHECK_ATTEMPTS;srv1;APP;3");
    let (log, _) = h.at(T0 + 4, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;2;soft 1");
    assert!(
        has(&log, "SERVICE ALERT: srv1;APP;CRITICAL;SOFT;1;soft 1"),
        "{log:?}"
    );
    h.at(T0 + 5, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;2;soft 2");
    let (log, j) = h.at(T0 + 6, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;2;hard 3");
    assert!(
        has(&log, "SERVICE ALERT: srv1;APP;CRITICAL;HARD;3;hard 3"),
        "{log:?}"
    );
    assert_eq!(notifications(&j), ["/bin/notify \"blue\" \"south\" \"3\""]);
    h.at(T0 + 7, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;0;ok");
    h.at(T0 + 7, "CHANGE_MAX_SVC_CHECK_ATTEMPTS;srv1;APP;1");
    h.at(T0 + 7, "CHANGE_SVC_NOTIFICATION_TIMEPERIOD;srv1;APP;never");
    let (_, j) = h.at(T0 + 8, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;2;in never");
    assert!(notifications(&j).is_empty());
    let (log, _) = h.at(T0 + 9, "CHANGE_SVC_NOTIFICATION_TIMEPERIOD;srv1;APP;nosuch");
    assert!(failed(
        &log,
        "CHANGE_SVC_NOTIFICATION_TIMEPERIOD;srv1;APP;nosuch"
    ));
    h.at(T0 + 9, "CHANGE_SVC_NOTIFICATION_TIMEPERIOD;srv1;APP;24x7");
    let (_, j) = h.at(T0 + 10, "PROCESS_SERVICE_CHECK_RESULT;srv1;APP;2;in 24x7");
    assert_eq!(notifications(&j).len(), 1);
}
