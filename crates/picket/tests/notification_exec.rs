//! Notification commands run by the daemon with real processes, through the same executor
//! as active checks (`picket_exec::Executor`):
//!
//! * a line that needs a shell runs through `/bin/sh -c`, with the `NAGIOS_*` macros in its
//!   environment (`enable_environment_macros=1`);
//! * a command still running at `notification_timeout` is killed with the children in its
//!   process group, and `nagios.log` says so;
//! * a program that cannot be executed is logged with the reason, and the daemon goes on.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn setup(d: &Path) {
    // Records its environment macro, its pid and its child's, then outlives the timeout.
    script(
        &d.join("slow.sh"),
        &format!(
            "echo \"$NAGIOS_SERVICESTATE $NAGIOS_CONTACTNAME\" > {d}/env.out\n\
             sleep 300 &\necho $$ $! > {d}/pids\nwait",
            d = d.display()
        ),
    );
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
    command_name slow_notify
    command_line {d}/slow.sh "$SERVICEDESC$" >> {d}/slow.log 2>&1
}}
define command {{
    command_name missing_notify
    command_line {d}/does-not-exist $SERVICEDESC$
}}
define contact {{
    name ctmpl
    register 0
    service_notification_period 24x7
    host_notification_period 24x7
    service_notification_options w,u,c,r
    host_notification_options d,u,r
    host_notification_commands slow_notify
}}
define contact {{
    use ctmpl
    contact_name alice
    service_notification_commands slow_notify
}}
define contact {{
    use ctmpl
    contact_name bob
    service_notification_commands missing_notify
}}
define host {{
    host_name web01
    max_check_attempts 1
    active_checks_enabled 0
    contacts alice
}}
define service {{
    host_name web01
    service_description Disk
    check_command check_none
    active_checks_enabled 0
    passive_checks_enabled 1
    max_check_attempts 1
    notification_interval 0
    contacts alice,bob
}}
"#,
            d = d.display()
        ),
    )
    .expect("objects");
    std::fs::write(
        d.join("nagios.cfg"),
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
             lock_file={0}/picket.lock\ninterval_length=1\ncheck_external_commands=1\n\
             enable_environment_macros=1\nnotification_timeout=2\n",
            d.display()
        ),
    )
    .expect("main cfg");
}

#[test]
fn notifications_run_through_the_shell_time_out_and_report_spawn_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    setup(d);
    let log = d.join("nagios.log");
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
    writeln!(
        fifo,
        "[{now}] PROCESS_SERVICE_CHECK_RESULT;web01;Disk;2;disk full"
    )
    .expect("write fifo");
    drop(fifo);

    wait_for("the timeout line", Duration::from_secs(30), || {
        read(&log).contains("timed out after 2 seconds")
    });
    let text = read(&log);
    assert!(
        text.contains("SERVICE NOTIFICATION: alice;web01;Disk;CRITICAL;slow_notify;disk full"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("Warning: Notification command for ")
                && l.contains("slow_notify")
                && l.ends_with(" timed out after 2 seconds")),
        "{text}"
    );
    wait_for("the spawn failure line", Duration::from_secs(10), || {
        read(&log).lines().any(|l| {
            l.contains("Warning: Could not run command for ")
                && l.contains("missing_notify")
                && l.contains("No such file or directory")
        })
    });
    // Through the shell, with the macros in the environment.
    assert_eq!(read(&d.join("env.out")), "CRITICAL alice\n");
    // The command and the child in its process group are gone.
    let pids: Vec<i32> = read(&d.join("pids"))
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in pids {
        wait_for(
            &format!("process {pid} to be killed"),
            Duration::from_secs(10),
            || {
                let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
                let zombie = read(Path::new(&format!("/proc/{pid}/stat"))).contains(") Z ");
                !alive || zombie
            },
        );
    }
}
