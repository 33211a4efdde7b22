//! Deterministic tests of active-check scheduling with an injected clock: initial spread,
//! check and retry intervals, timeouts, freshness (explicit and automatic threshold),
//! execution dependencies, service parents, host reachability (DOWN vs UNREACHABLE),
//! on-demand host checks and the external commands. Nothing sleeps: time is an argument.

use std::sync::Arc;

use picket_engine::{
    CheckExit, CheckJob, CheckOutcome, CheckTarget, Engine, EngineOptions, StateType, check_options,
};

const T0: i64 = 1_800_000_000;

const COMMON: &str = r#"
define timeperiod {
    timeperiod_name 24x7
    alias 24x7
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
    command_name check_x
    command_line $USER1$/check_x -H $HOSTADDRESS$ -w $ARG1$ -c $ARG2$
}
define command {
    command_name check_host
    command_line $USER1$/check_host $HOSTADDRESS$
}
define contact {
    contact_name                  alice
    service_notification_period   24x7
    host_notification_period      24x7
    service_notification_options  w,u,c,r
    host_notification_options     d,u,r
    service_notification_commands check_x
    host_notification_commands    check_x
}
define host {
    name                    active-host
    register                0
    check_command           check_host
    active_checks_enabled   1
    max_check_attempts      2
    check_interval          10
    retry_interval          2
    check_period            24x7
    notification_period     24x7
    notification_interval   0
    contacts                alice
}
define service {
    name                    active-service
    register                0
    check_command           check_x!80!90
    active_checks_enabled   1
    max_check_attempts      3
    check_interval          5
    retry_interval          1
    check_period            24x7
    notification_period     24x7
    notification_interval   0
    contacts                alice
}
"#;

struct H {
    e: Engine,
    _dir: tempfile::TempDir,
}

fn harness(objects: &str, main_extra: &str) -> H {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = dir.path().join("objects.cfg");
    std::fs::write(&obj, format!("{COMMON}\n{objects}")).expect("write objects");
    let res = dir.path().join("resource.cfg");
    std::fs::write(&res, "$USER1$=/plugins\n").expect("write resource");
    let main = dir.path().join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={}/nagios.log\ncfg_file={}\nresource_file={}\ninterval_length=1\n\
             enable_flap_detection=0\n{main_extra}\n",
            dir.path().display(),
            obj.display(),
            res.display()
        ),
    )
    .expect("write main");
    let loaded = picket_config::load(&main, &Default::default()).expect("load");
    assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
    let mut e = Engine::new(
        Arc::new(loaded.config),
        jiff::tz::TimeZone::UTC,
        EngineOptions::default(),
    );
    e.start(T0);
    H { e, _dir: dir }
}

impl H {
    /// Tick at `now`; return the log lines (without `[epoch] `) and the check jobs.
    fn tick(&mut self, now: i64) -> (Vec<String>, Vec<CheckJob>) {
        self.e.tick(now);
        self.drain()
    }

    fn drain(&mut self) -> (Vec<String>, Vec<CheckJob>) {
        let out = self.e.take_outputs();
        let lines = out
            .log
            .lines()
            .map(|l| l.split_once("] ").map_or(l, |x| x.1).to_owned())
            .collect();
        (lines, out.checks)
    }

    /// Tick every second from `from` to `to` (inclusive); the jobs with their tick time.
    fn run(&mut self, from: i64, to: i64) -> Vec<(i64, CheckJob)> {
        let mut all = Vec::new();
        for t in from..=to {
            let (_, jobs) = self.tick(t);
            all.extend(jobs.into_iter().map(|j| (t, j)));
        }
        all
    }

    fn result(&mut self, now: i64, job: &CheckJob, exit: CheckExit, out: &str) -> Vec<String> {
        let r = job.outcome(now, 0.01, (now - job.due) as f64, exit, out.to_owned());
        self.e.process_check_result(now, &r);
        self.drain().0
    }

    fn line(&mut self, now: i64, cmd: &str) -> (Vec<String>, Vec<CheckJob>) {
        self.e.process_line(now, &format!("[{now}] {cmd}"));
        self.tick(now)
    }

    fn svc(&self, h: &str, s: &str) -> &picket_engine::Status {
        let id = self.e.config().service_by_name(h, s).expect("service");
        self.e.service_status(id)
    }

    fn host(&self, h: &str) -> &picket_engine::Status {
        let id = self.e.config().host_by_name(h).expect("host");
        self.e.host_status(id)
    }
}

fn svc_jobs<'a>(jobs: &'a [(i64, CheckJob)], desc: &str) -> Vec<&'a (i64, CheckJob)> {
    jobs.iter()
        .filter(|(_, j)| j.service.as_deref() == Some(desc))
        .collect()
}

fn passive_host(name: &str) -> String {
    format!(
        "define host {{\n use active-host\n host_name {name}\n address 10.0.0.1\n active_checks_enabled 0\n}}\n"
    )
}

#[test]
fn first_checks_are_spread_over_the_interval_deterministically() {
    let mut objs = String::new();
    for h in 0..4 {
        objs.push_str(&passive_host(&format!("h{h}")));
        for s in 0..15 {
            objs.push_str(&format!(
                "define service {{\n use active-service\n host_name h{h}\n service_description s{s}\n check_interval 60\n}}\n"
            ));
        }
    }
    let mut a = harness(&objs, "");
    let mut b = harness(&objs, "");
    let ja = a.run(T0, T0 + 60);
    let jb = b.run(T0, T0 + 60);
    let times = |j: &[(i64, CheckJob)]| -> Vec<(i64, Option<String>, Option<String>)> {
        j.iter()
            .map(|(t, j)| (*t, Some(j.host.clone()), j.service.clone()))
            .collect()
    };
    assert_eq!(times(&ja), times(&jb), "the schedule is deterministic");
    assert_eq!(
        ja.len(),
        60,
        "every service checked once in its first interval"
    );
    let mut per_second = std::collections::BTreeMap::new();
    for (t, _) in &ja {
        *per_second.entry(*t).or_insert(0) += 1;
    }
    assert!(
        per_second.len() >= 40,
        "spread over at least 40 distinct seconds: {per_second:?}"
    );
    assert!(per_second.values().all(|&n| n <= 3), "{per_second:?}");
    // Consecutive checks of one host are interleaved with the others' (not back to back).
    let first_four: Vec<&str> = ja.iter().take(4).map(|(_, j)| j.host.as_str()).collect();
    let distinct: std::collections::BTreeSet<&str> = first_four.iter().copied().collect();
    assert!(distinct.len() >= 3, "{first_four:?}");
}

const ONE: &str = r#"
define host {
    use        active-host
    host_name  web01
    address    192.0.2.7
    active_checks_enabled 0
}
define service {
    use                 active-service
    host_name           web01
    service_description Load
}
"#;

#[test]
fn macros_are_expanded_in_check_commands() {
    let mut h = harness(ONE, "");
    let jobs = h.run(T0, T0 + 5);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let (t, job) = &jobs[0];
    assert_eq!(
        *t,
        T0 + 5,
        "a single service is first checked one interval after start"
    );
    assert_eq!(
        job.command_line,
        "/plugins/check_x -H 192.0.2.7 -w 80 -c 90"
    );
    assert_eq!(
        job.target,
        CheckTarget::Service(h.e.config().service_by_name("web01", "Load").unwrap())
    );
    assert_eq!(job.timeout_secs, 60);
    assert_eq!(job.options, 0);
    assert_eq!(job.due, T0 + 5);
    // While it runs, it is not handed out again.
    assert!(h.run(T0 + 6, T0 + 20).is_empty());
    assert_eq!(h.e.checks_executing(), 1);
}

#[test]
fn retries_use_retry_interval_then_check_interval_after_hard() {
    let mut h = harness(ONE, "log_service_retries=1");
    let mut now = T0 + 5;
    let mut log = Vec::new();
    let mut check_times = Vec::new();
    let mut results = vec![
        (2, "CRIT a"),
        (2, "CRIT b"),
        (2, "CRIT c"),
        (2, "CRIT d"),
        (0, "OK e"),
    ]
    .into_iter();
    while now < T0 + 40 {
        let (_, jobs) = h.tick(now);
        for j in jobs {
            check_times.push(now);
            let (rc, out) = results.next().unwrap_or((0, "OK"));
            log.extend(h.result(now, &j, CheckExit::Code(rc), out));
        }
        now += 1;
    }
    // OK→CRIT at T0+5 (SOFT 1), retry after 1 s (SOFT 2), 1 s (HARD 3), then 5 s.
    assert_eq!(
        &check_times[..6],
        &[T0 + 5, T0 + 6, T0 + 7, T0 + 12, T0 + 17, T0 + 22],
        "{check_times:?}"
    );
    let alerts: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("SERVICE ALERT"))
        .collect();
    assert_eq!(
        alerts,
        vec![
            "SERVICE ALERT: web01;Load;CRITICAL;SOFT;1;CRIT a",
            "SERVICE ALERT: web01;Load;CRITICAL;SOFT;2;CRIT b",
            "SERVICE ALERT: web01;Load;CRITICAL;HARD;3;CRIT c",
            "SERVICE ALERT: web01;Load;OK;HARD;3;OK e",
        ]
    );
    assert!(
        log.iter().any(
            |l| l.starts_with("SERVICE NOTIFICATION: alice;web01;Load;CRITICAL;check_x;CRIT c")
        ),
        "{log:?}"
    );
    assert_eq!(h.svc("web01", "Load").state_type, StateType::Hard);
}

#[test]
fn retries_are_not_logged_without_log_service_retries() {
    let mut h = harness(ONE, "log_service_retries=0");
    let (_, jobs) = h.tick(T0 + 5);
    let log = h.result(T0 + 5, &jobs[0], CheckExit::Code(1), "WARN");
    assert!(
        !log.iter().any(|l| l.starts_with("SERVICE ALERT")),
        "{log:?}"
    );
    assert_eq!(h.svc("web01", "Load").state_type, StateType::Soft);
}

#[test]
fn timeout_gives_the_configured_state_and_nagios_message() {
    let mut h = harness(
        ONE,
        "service_check_timeout=3\nservice_check_timeout_state=u",
    );
    let (_, jobs) = h.tick(T0 + 5);
    assert_eq!(jobs[0].timeout_secs, 3);
    let r = jobs[0].outcome(T0 + 5, 3.004, 0.0, CheckExit::TimedOut, String::new());
    h.e.process_check_result(T0 + 8, &r);
    let (log, _) = h.drain();
    assert_eq!(
        log,
        vec![
            "Warning: Check of service 'Load' on host 'web01' timed out after 3.004s!",
            "SERVICE ALERT: web01;Load;UNKNOWN;SOFT;1;(Service check timed out after 3.00 seconds)",
        ]
    );
}

#[test]
fn bad_return_codes_are_critical_with_nagios_messages() {
    let mut h = harness(ONE, "");
    let (_, jobs) = h.tick(T0 + 5);
    let log = h.result(T0 + 5, &jobs[0], CheckExit::Code(127), "");
    assert_eq!(
        log,
        vec![
            "Warning: Return code of 127 for service 'Load' on host 'web01' may indicate this plugin doesn't exist.",
            "SERVICE ALERT: web01;Load;CRITICAL;SOFT;1;(Return code of 127 is out of bounds. Check if plugin exists)",
        ]
    );
    let (_, jobs) = h.tick(T0 + 6);
    let log = h.result(T0 + 6, &jobs[0], CheckExit::Code(7), "");
    assert_eq!(
        log[1],
        "SERVICE ALERT: web01;Load;CRITICAL;SOFT;2;(Return code of 7 for service 'Load' on host 'web01' was out of bounds)"
    );
}

/// Nagios 4.4.6 (Debian nagios4-core) words a host's bad return codes like a service's
/// [oracle: z_check_results].
#[test]
fn bad_host_return_codes_are_down_with_nagios_messages() {
    let objs = "define host {\n use active-host\n host_name gw\n max_check_attempts 1\n active_checks_enabled 0\n}\n\
                define service {\n use active-service\n host_name gw\n service_description S\n active_checks_enabled 0\n}\n";
    let mut h = harness(objs, "");
    let cases = [
        (
            4,
            "Warning: Return code of 4 for check of host 'gw' was out of bounds.",
            "(Return code of 4 for host 'gw' was out of bounds)",
        ),
        (
            127,
            "Warning: Return code of 127 for host 'gw' may indicate this plugin doesn't exist.",
            "(Return code of 127 is out of bounds. Check if plugin exists)",
        ),
        (
            126,
            "Warning: Return code of 126 for host 'gw' may indicate a non-executable plugin.",
            "(Return code of 126 is out of bounds. Check if plugin is executable)",
        ),
    ];
    let mut now = T0 + 1;
    for (rc, warning, output) in cases {
        let (_, jobs) = h.line(now, &format!("SCHEDULE_FORCED_HOST_CHECK;gw;{now}"));
        let job = jobs
            .iter()
            .find(|j| j.host == "gw")
            .expect("forced host check");
        let log = h.result(now, job, CheckExit::Code(rc), "ignored");
        assert_eq!(log[0], warning, "{log:?}");
        assert_eq!(h.host("gw").current_state, 1);
        assert_eq!(h.host("gw").plugin_output.as_deref(), Some(output));
        // back to UP for the next case
        let (_, jobs) = h.line(
            now + 1,
            &format!("SCHEDULE_FORCED_HOST_CHECK;gw;{}", now + 1),
        );
        let job = jobs
            .iter()
            .find(|j| j.host == "gw")
            .expect("forced host check");
        h.result(now + 1, job, CheckExit::Code(0), "ok");
        now += 2;
    }
}

/// Nagios 4.4.6 aborts a non-forced host check within cached_host_check_horizon of the
/// last one, a SOFT retry included, and puts it off by check_interval; a forced check runs
/// [oracle: z_host_check_horizon].
#[test]
fn host_retry_within_the_cache_horizon_is_put_off_by_check_interval() {
    let objs = "define host {\n use active-host\n host_name gw\n max_check_attempts 3\n active_checks_enabled 0\n check_interval 40\n}\n\
                define service {\n use active-service\n host_name gw\n service_description S\n active_checks_enabled 0\n}\n";
    let mut h = harness(objs, "cached_host_check_horizon=15");
    let now = T0 + 1;
    let (_, jobs) = h.line(now, "ENABLE_HOST_CHECK;gw");
    let job = jobs.iter().find(|j| j.host == "gw").expect("check at once");
    let log = h.result(now, job, CheckExit::Code(2), "down");
    assert_eq!(log[0], "HOST ALERT: gw;DOWN;SOFT;1;down");
    // The retry is due at now + 2 (retry_interval) but is within 15 s of the last check.
    let jobs = h.run(now + 1, now + 45);
    let times: Vec<i64> = jobs
        .iter()
        .filter(|(_, j)| j.host == "gw")
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(times, vec![now + 2 + 40], "{jobs:?}");
    // With the horizon at 0 the retry runs at retry_interval.
    let mut h = harness(objs, "cached_host_check_horizon=0");
    let (_, jobs) = h.line(now, "ENABLE_HOST_CHECK;gw");
    let job = jobs.iter().find(|j| j.host == "gw").expect("check at once");
    h.result(now, job, CheckExit::Code(2), "down");
    let jobs = h.run(now + 1, now + 3);
    let times: Vec<i64> = jobs
        .iter()
        .filter(|(_, j)| j.host == "gw")
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(times, vec![now + 2], "{jobs:?}");
}

const FRESH: &str = r#"
define host {
    use        active-host
    host_name  web01
    active_checks_enabled 0
}
define service {
    use                 active-service
    host_name           web01
    service_description Passive
    active_checks_enabled 0
    check_freshness     1
    freshness_threshold 10
    max_check_attempts  1
}
define service {
    use                 active-service
    host_name           web01
    service_description Auto
    active_checks_enabled 0
    check_freshness     1
    check_interval      5
    max_check_attempts  1
}
"#;

#[test]
fn stale_passive_results_force_the_check_command() {
    let mut h = harness(FRESH, "service_freshness_check_interval=1");
    let (log, jobs) = h.line(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;web01;Passive;0;fine");
    assert!(jobs.is_empty(), "{log:?}");
    // Fresh until last_check + 10.
    for t in T0 + 2..=T0 + 11 {
        let (log, jobs) = h.tick(t);
        assert!(
            jobs.iter().all(|j| j.service.as_deref() != Some("Passive")),
            "{t}: {log:?}"
        );
    }
    let (log, jobs) = h.tick(T0 + 12);
    assert!(
        log.contains(&"Warning: The results of service 'Passive' on host 'web01' are stale by 0d 0h 0m 1s (threshold=0d 0h 0m 10s).  I'm forcing an immediate check of the service.".to_owned()),
        "{log:?}"
    );
    let job = jobs
        .iter()
        .find(|j| j.service.as_deref() == Some("Passive"))
        .expect("forced check");
    assert_eq!(job.options, check_options::FORCE | check_options::FRESHNESS);
    // Being freshened: no second warning while the check runs.
    let (log, _) = h.tick(T0 + 13);
    assert!(!log.iter().any(|l| l.contains("'Passive'")), "{log:?}");
    let log = h.result(T0 + 13, job, CheckExit::Code(2), "no data");
    assert_eq!(
        log[0],
        "SERVICE ALERT: web01;Passive;CRITICAL;HARD;1;no data"
    );
    // Active checks stay disabled: nothing is rescheduled, the next check is the next
    // freshness check.
    assert_eq!(h.svc("web01", "Passive").next_check, 0);
}

#[test]
fn a_freshness_result_is_discarded_when_a_passive_result_came_first() {
    let mut h = harness(FRESH, "service_freshness_check_interval=1");
    h.line(T0 + 1, "PROCESS_SERVICE_CHECK_RESULT;web01;Passive;0;fine");
    let (_, jobs) = h.tick(T0 + 12);
    let job = jobs
        .iter()
        .find(|j| j.service.as_deref() == Some("Passive"))
        .cloned()
        .expect("forced check");
    h.line(
        T0 + 13,
        "PROCESS_SERVICE_CHECK_RESULT;web01;Passive;0;still fine",
    );
    let log = h.result(T0 + 14, &job, CheckExit::Code(2), "no data");
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(h.svc("web01", "Passive").current_state, 0);
}

#[test]
fn automatic_freshness_threshold_is_interval_plus_latency_plus_15() {
    let mut h = harness(FRESH, "service_freshness_check_interval=1");
    // Never checked: expires at start + 5 + 0 + 15.
    for t in T0 + 1..=T0 + 20 {
        let (log, _) = h.tick(t);
        assert!(!log.iter().any(|l| l.contains("'Auto'")), "{t}: {log:?}");
    }
    let (log, jobs) = h.tick(T0 + 21);
    assert!(
        log.iter().any(|l| l.contains(
            "service 'Auto' on host 'web01' are stale by 0d 0h 0m 1s (threshold=0d 0h 0m 20s)"
        )),
        "{log:?}"
    );
    assert!(jobs.iter().any(|j| j.service.as_deref() == Some("Auto")));
}

const DEPS: &str = r#"
define host {
    use        active-host
    host_name  db
    active_checks_enabled 0
}
define service {
    use                 active-service
    host_name           db
    service_description MySQL
    max_check_attempts  1
}
define service {
    use                 active-service
    host_name           db
    service_description Queries
    max_check_attempts  1
}
define servicedependency {
    host_name                      db
    service_description            MySQL
    dependent_host_name            db
    dependent_service_description  Queries
    execution_failure_criteria     c,u
    notification_failure_criteria  c
}
"#;

#[test]
fn execution_dependencies_skip_the_dependent_check() {
    let mut h = harness(DEPS, "");
    let jobs = h.run(T0, T0 + 5);
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let mysql = svc_jobs(&jobs, "MySQL")[0].1.clone();
    let queries = svc_jobs(&jobs, "Queries")[0].1.clone();
    h.result(T0 + 5, &mysql, CheckExit::Code(2), "down");
    h.result(T0 + 5, &queries, CheckExit::Code(0), "ok");
    // MySQL is CRITICAL HARD: Queries is not run while that lasts; MySQL is.
    let jobs = h.run(T0 + 6, T0 + 30);
    assert!(svc_jobs(&jobs, "Queries").is_empty(), "{jobs:?}");
    let m = svc_jobs(&jobs, "MySQL");
    assert!(!m.is_empty());
    // MySQL recovers: Queries runs again within its interval.
    let (t, j) = m[0].clone();
    h.result(t, &j, CheckExit::Code(0), "up");
    let jobs = h.run(T0 + 31, T0 + 45);
    assert!(!svc_jobs(&jobs, "Queries").is_empty(), "{jobs:?}");
}

const PARENTS: &str = r#"
define host {
    use        active-host
    host_name  router
    max_check_attempts 1
}
define host {
    use        active-host
    host_name  web
    parents    router
    max_check_attempts 1
}
define service {
    use                 active-service
    host_name           web
    service_description HTTP
    check_interval      100
}
"#;

#[test]
fn a_host_behind_a_down_parent_is_unreachable() {
    let objs = PARENTS.replace(
        "parents    router",
        "parents    router\n    check_interval 100",
    );
    let mut h = harness(&objs, "cached_host_check_horizon=0");
    let jobs = h.run(T0, T0 + 30);
    let (t1, router) = jobs
        .iter()
        .find(|(_, j)| j.host == "router")
        .expect("router")
        .clone();
    let (t2, web) = jobs
        .iter()
        .find(|(_, j)| j.host == "web" && j.service.is_none())
        .expect("web")
        .clone();
    assert!(t1 < t2);
    let log = h.result(t1, &router, CheckExit::Code(2), "PING CRITICAL");
    assert!(
        log.contains(&"HOST ALERT: router;DOWN;HARD;1;PING CRITICAL".to_owned()),
        "{log:?}"
    );
    let log = h.result(t2, &web, CheckExit::Code(2), "PING CRITICAL");
    assert!(
        log.contains(&"HOST ALERT: web;UNREACHABLE;HARD;1;PING CRITICAL".to_owned()),
        "{log:?}"
    );
    assert_eq!(h.host("web").current_state, 2);
    // The router comes back: its non-UP child is checked at once (propagation), and is
    // DOWN now if it still fails.
    let (_, mut jobs) = h.tick(T0 + 31);
    let router = jobs
        .iter()
        .position(|j| j.host == "router")
        .expect("router again");
    let router = jobs.remove(router);
    h.result(T0 + 31, &router, CheckExit::Code(0), "PING OK");
    jobs.extend(h.tick(T0 + 31).1);
    let web = jobs
        .iter()
        .find(|j| j.host == "web" && j.service.is_none())
        .expect("child checked at once");
    let log = h.result(T0 + 31, web, CheckExit::Code(2), "PING CRITICAL");
    assert!(
        log.contains(&"HOST ALERT: web;DOWN;HARD;1;PING CRITICAL".to_owned()),
        "{log:?}"
    );
}

#[test]
fn a_service_going_non_ok_triggers_an_on_demand_host_check() {
    let objs = PARENTS.replace(
        "max_check_attempts 1",
        "max_check_attempts 1\n    check_interval 1000",
    );
    let mut h = harness(&objs, "");
    let jobs = h.run(T0, T0 + 100);
    let hosts: Vec<&str> = jobs.iter().map(|(_, j)| j.host.as_str()).collect();
    assert_eq!(
        hosts,
        vec!["router", "web"],
        "web's own check is due at T0+500"
    );
    let (t, router) = jobs[0].clone();
    h.result(t, &router, CheckExit::Code(0), "fine");
    let (now, http) = jobs[1].clone();
    assert_eq!(now, T0 + 100);
    h.result(now, &http, CheckExit::Code(2), "HTTP CRITICAL");
    let (_, jobs) = h.tick(now);
    assert!(
        jobs.iter().any(|j| j.host == "web"
            && j.service.is_none()
            && j.options == check_options::DEPENDENCY),
        "{jobs:?}"
    );
}

#[test]
fn external_commands_schedule_force_enable_and_disable_checks() {
    let mut h = harness(ONE, "");
    // Disabled: the due check is not handed out.
    h.line(T0 + 1, "DISABLE_SVC_CHECK;web01;Load");
    assert!(h.run(T0 + 2, T0 + 30).is_empty());
    assert!(!h.svc("web01", "Load").active_checks_enabled);
    // A normal SCHEDULE_SVC_CHECK is ignored while disabled; a forced one runs.
    let (_, jobs) = h.line(
        T0 + 31,
        &format!("SCHEDULE_SVC_CHECK;web01;Load;{}", T0 + 31),
    );
    assert!(jobs.is_empty());
    let (_, jobs) = h.line(
        T0 + 32,
        &format!("SCHEDULE_FORCED_SVC_CHECK;web01;Load;{}", T0 + 33),
    );
    assert!(jobs.is_empty());
    let (_, jobs) = h.tick(T0 + 33);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].options, check_options::FORCE);
    h.result(T0 + 33, &jobs[0], CheckExit::Code(0), "ok");
    assert!(
        h.run(T0 + 34, T0 + 60).is_empty(),
        "still disabled after the forced check"
    );
    // Enabled: checked at once, then every 5 s.
    let (_, jobs) = h.line(T0 + 61, "ENABLE_SVC_CHECK;web01;Load");
    assert_eq!(jobs.len(), 1);
    h.result(T0 + 61, &jobs[0], CheckExit::Code(0), "ok");
    let jobs = h.run(T0 + 62, T0 + 66);
    assert_eq!(
        jobs.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![T0 + 66]
    );
    // Program-wide switch.
    h.result(T0 + 66, &jobs[0].1, CheckExit::Code(0), "ok");
    h.line(T0 + 67, "STOP_EXECUTING_SVC_CHECKS");
    assert!(h.run(T0 + 68, T0 + 90).is_empty());
    let (_, mut jobs) = h.line(T0 + 91, "START_EXECUTING_SVC_CHECKS");
    jobs.extend(h.run(T0 + 92, T0 + 100).into_iter().map(|x| x.1));
    assert_eq!(jobs.len(), 1, "{jobs:?}");
}

#[test]
fn checks_outside_the_check_period_are_not_run() {
    let objs = ONE.replace(
        "service_description Load",
        "service_description Load\n    check_period never",
    );
    let mut h = harness(&objs, "");
    assert!(h.run(T0, T0 + 60).is_empty());
    assert_eq!(h.e.next_wakeup(), None);
}

#[test]
fn next_wakeup_is_the_next_due_check() {
    let mut h = harness(ONE, "");
    assert_eq!(h.e.next_wakeup(), Some(T0 + 5));
    let (_, jobs) = h.tick(T0 + 5);
    h.result(T0 + 5, &jobs[0], CheckExit::Code(0), "ok");
    assert_eq!(h.e.next_wakeup(), Some(T0 + 10));
}

#[test]
fn active_results_replay_to_the_same_state() {
    let mut h = harness(ONE, "");
    let mut outcomes: Vec<(i64, CheckOutcome)> = Vec::new();
    let mut rcs = [2, 2, 2, 0, 1, 1].into_iter();
    for t in T0..T0 + 40 {
        let (_, jobs) = h.tick(t);
        for j in jobs {
            let r = j.outcome(
                t,
                0.1,
                0.0,
                CheckExit::Code(rcs.next().unwrap_or(0)),
                format!("out {t}"),
            );
            h.e.process_check_result(t, &r);
            outcomes.push((t, r));
        }
    }
    let want = h.svc("web01", "Load").clone();
    let mut g = harness(ONE, "");
    g.e.set_replay(true);
    for (t, r) in &outcomes {
        // Journal round trip.
        let r: CheckOutcome = serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap();
        g.e.process_check_result(*t, &r);
    }
    g.e.set_replay(false);
    let got = g.svc("web01", "Load");
    assert_eq!(got.current_state, want.current_state);
    assert_eq!(got.state_type, want.state_type);
    assert_eq!(got.current_attempt, want.current_attempt);
    assert_eq!(got.plugin_output, want.plugin_output);
    assert_eq!(got.last_check, want.last_check);
    assert_eq!(
        got.current_notification_number,
        want.current_notification_number
    );
}
