//! State, acknowledgements and downtimes survive `kill -9` and a restart: the daemon
//! journals every input before acting on it and replays the journal on start.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
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
    command_line /bin/echo "$SERVICEDESC$ $NOTIFICATIONTYPE$" >> {0}/notified.txt
}}
define contact {{
    contact_name alice
    service_notification_period 24x7
    host_notification_period 24x7
    service_notification_options w,u,c,r,f,s
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
    name tmpl
    register 0
    host_name web01
    check_command check_none
    active_checks_enabled 0
    passive_checks_enabled 1
    is_volatile 1
    max_check_attempts 1
    notification_interval 0
    contacts alice
}}
define service {{
    use tmpl
    service_description Plain
}}
define service {{
    use tmpl
    service_description Acked
}}
define service {{
    use tmpl
    service_description Maint
}}
define service {{
    use tmpl
    service_description Soft
    max_check_attempts 3
    is_volatile 0
}}
"#,
                d.display()
            ),
        )
        .expect("objects");
        std::fs::write(
            d.join("nagios.cfg"),
            format!(
                "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
                 lock_file={0}/picket.lock\nretain_state_information=1\n\
                 state_retention_file={0}/retention.dat\nretention_update_interval=60\n\
                 interval_length=1\nlog_initial_states=1\ncheck_external_commands=1\n",
                d.display()
            ),
        )
        .expect("main cfg");
        Setup { dir }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn start(&self) -> Child {
        let log_len = std::fs::metadata(self.path("nagios.log")).map_or(0, |m| m.len());
        let child = Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(self.path("nagios.cfg"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start picket");
        // Ready when this run's INITIAL states are logged and the FIFO exists.
        wait_for(
            || {
                let log = std::fs::read(self.path("nagios.log")).unwrap_or_default();
                log.len() as u64 > log_len
                    && String::from_utf8_lossy(&log[log_len as usize..])
                        .contains("INITIAL SERVICE STATE: web01;Soft")
                    && self.path("nagios.cmd").exists()
            },
            "picket to start",
        );
        child
    }

    fn send(&self, lines: &[String]) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path("nagios.cmd"))
            .expect("open fifo");
        for l in lines {
            writeln!(f, "{l}").expect("write fifo");
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("nagios.log")).unwrap_or_default()
    }
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn state_acks_and_downtimes_survive_kill_9() {
    let s = Setup::new();
    let mut p = s.start();
    let t = now();
    s.send(&[
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Plain;2;plain is down"),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Acked;2;acked is down"),
        format!("[{t}] ACKNOWLEDGE_SVC_PROBLEM;web01;Acked;2;0;1;alice;working on it"),
        format!(
            "[{t}] SCHEDULE_SVC_DOWNTIME;web01;Maint;{t};{};1;0;3600;alice;maint",
            t + 3600
        ),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Soft;1;soft warning"),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Soft;1;soft warning 2"),
        format!("[{t}] DISABLE_NOTIFICATIONS"),
        format!("[{t}] ENABLE_NOTIFICATIONS"),
        format!("[{t}] DISABLE_SVC_NOTIFICATIONS;web01;Plain"),
    ]);
    wait_for(
        || {
            s.log()
                .contains("EXTERNAL COMMAND: DISABLE_SVC_NOTIFICATIONS;web01;Plain")
        },
        "the commands to be processed",
    );
    // kill -9: no chance to save anything at exit.
    p.kill().expect("kill -9");
    let _ = p.wait();

    let mut p = s.start();
    let log = s.log();
    let after = &log[log.rfind("LOG VERSION").unwrap_or(0)..];
    assert!(
        after.contains("INITIAL SERVICE STATE: web01;Plain;CRITICAL;HARD;1;plain is down"),
        "{after}"
    );
    assert!(after.contains("INITIAL SERVICE STATE: web01;Acked;CRITICAL;HARD;1;acked is down"));
    assert!(after.contains("INITIAL SERVICE STATE: web01;Soft;WARNING;SOFT;2;soft warning 2"));
    // Nothing was notified or alerted again by the replay.
    assert_eq!(count(&log, "SERVICE ALERT: web01;Plain;CRITICAL"), 1);

    let t = now();
    s.send(&[
        // The sticky ack still silences the volatile service.
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Acked;2;acked again"),
        // The downtime is still in effect.
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Maint;2;maint down"),
        // The per-service switch survived.
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Plain;2;plain again"),
        // Third SOFT attempt: HARD 3 (the attempt counter survived).
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;Soft;1;soft warning 3"),
        format!("[{t}] DEL_SVC_DOWNTIME;1"),
    ]);
    wait_for(
        || s.log().contains("EXTERNAL COMMAND: DEL_SVC_DOWNTIME;1"),
        "second batch",
    );
    let log = s.log();
    assert!(log.contains("SERVICE ALERT: web01;Acked;CRITICAL;HARD;1;acked again"));
    assert!(log.contains("SERVICE ALERT: web01;Maint;CRITICAL;HARD;1;maint down"));
    assert!(
        log.contains("SERVICE ALERT: web01;Soft;WARNING;HARD;3;soft warning 3"),
        "{log}"
    );
    assert!(log.contains(
        "SERVICE DOWNTIME ALERT: web01;Maint;CANCELLED; Scheduled downtime for service has been cancelled."
    ));
    assert_eq!(
        count(&log, "SERVICE NOTIFICATION: alice;web01;Acked;CRITICAL"),
        1
    );
    assert_eq!(
        count(&log, "SERVICE NOTIFICATION: alice;web01;Maint;CRITICAL"),
        0
    );
    assert_eq!(
        count(&log, "SERVICE NOTIFICATION: alice;web01;Plain;CRITICAL"),
        1
    );

    // A graceful stop writes the snapshot; it holds the ack and the switch.
    nix_term(&p);
    let _ = p.wait();
    let ret = std::fs::read_to_string(s.path("retention.dat")).expect("retention.dat");
    assert!(ret.contains("\"acknowledgement_type\":\"Sticky\""));
    assert!(!Path::new(&s.path("picket.lock")).exists());
}

fn nix_term(p: &Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(p.id().to_string())
        .status();
}
