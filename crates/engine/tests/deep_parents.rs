//! A parent chain as deep as the configuration costs no stack depth in the engine:
//! `SCHEDULE_AND_PROPAGATE_HOST_DOWNTIME` on the root of a 10,000 deep `parents`
//! chain reaches the last host, in a thread with the default 2 MiB stack.

use std::fmt::Write as _;
use std::sync::Arc;

use picket_engine::{Engine, EngineOptions};

const DEPTH: usize = 10_000;
const T0: i64 = 1_700_000_000;

#[test]
fn propagated_downtime_reaches_the_end_of_a_10000_deep_parent_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut objects = String::from(
        "define timeperiod {\n timeperiod_name 24x7\n alias always\n \
         sunday 00:00-24:00\n monday 00:00-24:00\n tuesday 00:00-24:00\n \
         wednesday 00:00-24:00\n thursday 00:00-24:00\n friday 00:00-24:00\n \
         saturday 00:00-24:00\n}\n\
         define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name alice\n service_notification_period 24x7\n \
         host_notification_period 24x7\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n name base\n register 0\n max_check_attempts 1\n \
         check_period 24x7\n notification_period 24x7\n contacts alice\n \
         active_checks_enabled 0\n}\n",
    );
    for i in 0..DEPTH {
        let _ = write!(objects, "define host {{\n use base\n host_name h{i}\n");
        if i > 0 {
            let _ = writeln!(objects, " parents h{}", i - 1);
        }
        objects.push_str("}\n");
    }
    objects.push_str(
        "define service {\n host_name h0\n service_description s\n max_check_attempts 1\n \
         check_period 24x7\n check_command ok\n contacts alice\n active_checks_enabled 0\n}\n",
    );
    let obj = dir.path().join("objects.cfg");
    std::fs::write(&obj, objects).expect("write objects");
    let main = dir.path().join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={}/nagios.log\ncfg_file={}\nillegal_macro_output_chars=`~$&|'\"<>\n",
            dir.path().display(),
            obj.display()
        ),
    )
    .expect("write main");
    let log = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let loaded = picket_config::load(&main, &Default::default()).expect("load");
            assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
            let mut e = Engine::new(
                Arc::new(loaded.config),
                jiff::tz::TimeZone::UTC,
                EngineOptions::default(),
            );
            e.start(T0);
            let _ = e.take_outputs();
            let end = T0 + 3600;
            e.process_line(
                T0,
                &format!(
                    "[{T0}] SCHEDULE_AND_PROPAGATE_HOST_DOWNTIME;h0;{T0};{end};1;0;3600;alice;deep"
                ),
            );
            e.tick(T0 + 1);
            e.take_outputs().log
        })
        .expect("spawn")
        .join()
        .expect("no panic, no overflow");
    let last = format!("HOST DOWNTIME ALERT: h{};STARTED;", DEPTH - 1);
    assert!(log.contains(&last), "no downtime for the deepest host");
    let started = log.matches("HOST DOWNTIME ALERT: ").count();
    assert_eq!(started, DEPTH);
}
