//! The daemon writes `status.dat` (every `status_update_interval` and on
//! `SAVE_STATE_INFORMATION`, always whole: a reader never sees half a file, removed at
//! shutdown) and `objects.cache` at start; `picket -pv` writes `precached_object_file`;
//! a command-file result ending in `|` (as `cmd.cgi` writes them) has no perfdata.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn setup(d: &Path, interval: u32) -> PathBuf {
    let mut objects = String::from(
        "define command {\n command_name check_none\n command_line /bin/true\n}\n\
         define contact {\n contact_name c\n service_notification_commands check_none\n\
         host_notification_commands check_none\n}\n\
         define host {\n host_name h\n contacts c\n max_check_attempts 1\n active_checks_enabled 0\n}\n",
    );
    for i in 0..300 {
        objects.push_str(&format!(
            "define service {{\n host_name h\n service_description s{i}\n check_command check_none\n\
             active_checks_enabled 0\n passive_checks_enabled 1\n max_check_attempts 1\n contacts c\n}}\n"
        ));
    }
    std::fs::write(d.join("objects.cfg"), objects).expect("objects");
    let main = d.join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
             check_external_commands=1\nretain_state_information=0\n\
             status_file={0}/status.dat\nstatus_update_interval={interval}\n\
             object_cache_file={0}/objects.cache\nprecached_object_file={0}/objects.precache\n",
            d.display()
        ),
    )
    .expect("main cfg");
    main
}

fn start(main: &Path) -> Daemon {
    Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(main)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start picket"),
    )
}

fn send(d: &Path, lines: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("nagios.cmd"))
        .expect("FIFO");
    f.write_all(lines.as_bytes()).expect("write FIFO");
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// A status.dat as Nagios writes it: the header, then only whole sections.
fn assert_whole(text: &str) {
    assert!(
        text.starts_with(
            "########################################\n#          NAGIOS STATUS FILE\n"
        ),
        "header: {:?}",
        &text[..text.len().min(80)]
    );
    assert!(text.ends_with("\t}\n\n"), "a partial status.dat was read");
    assert_eq!(
        text.matches(" {\n").count(),
        text.matches("\t}\n").count(),
        "unbalanced sections"
    );
}

#[test]
fn status_dat_is_written_whole_on_time_and_on_demand_and_removed_at_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let main = setup(d, 1);
    let mut daemon = start(&main);
    let status = d.join("status.dat");
    wait_for("status.dat", 20, || status.exists());
    let cache = read(&d.join("objects.cache"));
    assert!(
        cache.contains("# BY NAGIOS.  DO NOT MODIFY THIS FILE!\n"),
        "{cache}"
    );
    assert!(cache.contains("define service {\n\thost_name\th\n\tservice_description\ts0\n"));
    assert_eq!(cache.matches("define service {").count(), 300);

    // cmd.cgi's form: the output ends in `|` even without perfdata.
    send(
        d,
        "[1] PROCESS_SERVICE_CHECK_RESULT;h;s7;2;from the form|\n",
    );
    wait_for("status.dat with the result", 10, || {
        read(&status).contains("\tservice_description=s7\n\tmodified_attributes=0\n")
            && read(&status).contains(
                "\tplugin_output=from the form\n\tlong_plugin_output=\n\tperformance_data=\n",
            )
    });
    // Readers during a burst see whole files only (each write renames a complete one).
    let started = Instant::now();
    let mut reads = 0;
    let mut burst = String::new();
    for i in 0..300 {
        burst.push_str(&format!(
            "[2] PROCESS_SERVICE_CHECK_RESULT;h;s{i};1;burst {i} with some text to make it longer\n"
        ));
    }
    send(d, &burst);
    while started.elapsed() < Duration::from_secs(3) {
        let t = read(&status);
        assert_whole(&t);
        reads += 1;
    }
    assert!(reads > 50, "only {reads} reads");
    wait_for("the burst in status.dat", 10, || {
        read(&status).contains("\tplugin_output=burst 299 with some text")
    });
    let pid = daemon.0.id();
    assert!(read(&status).contains(&format!("\tnagios_pid={pid}\n")));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    wait_for("picket to exit", 10, || {
        daemon.0.try_wait().ok().flatten().is_some()
    });
    assert!(
        !status.exists(),
        "status.dat is removed at shutdown, as Nagios does"
    );
}

#[test]
fn save_state_information_writes_status_dat_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let main = setup(d, 3600);
    let _daemon = start(&main);
    let status = d.join("status.dat");
    wait_for("the first status.dat", 20, || {
        read(&status).contains("servicestatus {")
    });
    send(d, "[1] PROCESS_SERVICE_CHECK_RESULT;h;s1;2;not yet\n");
    wait_for("the result in nagios.log", 10, || {
        read(&d.join("nagios.log")).contains("SERVICE ALERT: h;s1;CRITICAL")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !read(&status).contains("plugin_output=not yet"),
        "written before its interval"
    );
    send(d, "[2] SAVE_STATE_INFORMATION\n");
    wait_for("status.dat after SAVE_STATE_INFORMATION", 10, || {
        read(&status).contains("\tplugin_output=not yet\n")
    });
}

#[test]
fn precache_objects_writes_the_precached_object_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let main = setup(d, 10);
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("-pv")
        .arg(&main)
        .output()
        .expect("picket -pv");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("Object precache file created:"), "{stdout}");
    let pre = read(&d.join("objects.precache"));
    assert_eq!(pre.matches("define service {").count(), 300, "{pre}");
    assert!(pre.contains("define host {\n\thost_name\th\n"), "{pre}");
}
