//! Active checks run by the daemon with real processes:
//!
//! * Debian's sample configuration (`/etc/nagios4/nagios.cfg`, copied with its paths
//!   moved to a temporary directory and `interval_length=1`) run by `picket`: it executes
//!   the localhost checks with the Monitoring Plugins, and the states it reaches are the
//!   ones the same plugins return when run by hand. Fails (does not skip) under `CI` when
//!   nagios4-core / monitoring-plugins-basic are missing.
//! * A plugin that sleeps past `service_check_timeout` is killed with its children and
//!   gives `service_check_timeout_state` with Nagios' message.
//! * Active results are journaled: after `kill -9` and a restart the state is the same.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MAIN_CFG: &str = "/etc/nagios4/nagios.cfg";
const PLUGINS: &str = "/usr/lib/nagios/plugins";

struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(main: &Path) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(main)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start picket");
        Daemon { child }
    }

    fn term(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Services and hosts from the retention snapshot: `(host, service or "", state,
/// has_been_checked, output)`.
fn retained(path: &Path) -> Vec<(String, String, u64, bool, String)> {
    let v: serde_json::Value = serde_json::from_str(&read(path)).expect("retention file is JSON");
    let r = &v["retention"];
    let mut out = Vec::new();
    let st = |s: &serde_json::Value| {
        (
            s["current_state"].as_u64().unwrap_or(99),
            s["has_been_checked"].as_bool().unwrap_or(false),
            s["plugin_output"].as_str().unwrap_or("").to_owned(),
        )
    };
    for h in r["hosts"].as_array().into_iter().flatten() {
        let (a, b, c) = st(&h[1]);
        out.push((
            h[0].as_str().unwrap_or("").to_owned(),
            String::new(),
            a,
            b,
            c,
        ));
    }
    for s in r["services"].as_array().into_iter().flatten() {
        let (a, b, c) = st(&s[2]);
        out.push((
            s[0].as_str().unwrap_or("").to_owned(),
            s[1].as_str().unwrap_or("").to_owned(),
            a,
            b,
            c,
        ));
    }
    out
}

fn missing(what: &str) -> bool {
    let msg = format!("{what} missing: apt-get install -y nagios4-core monitoring-plugins-basic");
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED (not in CI): {msg}");
    true
}

/// Debian's main config with every path that is written moved into `dir`.
fn debian_main_cfg(dir: &Path) -> PathBuf {
    let d = dir.display();
    let moved = [
        ("log_file", format!("{d}/nagios.log")),
        ("command_file", format!("{d}/nagios.cmd")),
        ("lock_file", format!("{d}/nagios.lock")),
        ("status_file", format!("{d}/status.dat")),
        ("state_retention_file", format!("{d}/retention.dat")),
        ("temp_file", format!("{d}/nagios.tmp")),
        ("temp_path", format!("{d}")),
        ("check_result_path", format!("{d}")),
        ("object_cache_file", format!("{d}/objects.cache")),
        ("precached_object_file", format!("{d}/objects.precache")),
        ("log_archive_path", format!("{d}")),
        ("debug_file", format!("{d}/nagios.debug")),
        // One "minute" is one second: the sample's 5-minute checks run every 5 s.
        ("interval_length", "1".to_owned()),
        // Never mail anyone from a test.
        ("enable_notifications", "0".to_owned()),
        ("use_syslog", "0".to_owned()),
        ("check_for_updates", "0".to_owned()),
        ("retain_state_information", "1".to_owned()),
    ];
    let mut out = String::new();
    for line in read(Path::new(MAIN_CFG)).lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        if moved.iter().any(|(k, _)| *k == key) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for (k, v) in &moved {
        out.push_str(&format!("{k}={v}\n"));
    }
    let p = dir.join("nagios.cfg");
    std::fs::write(&p, out).expect("write nagios.cfg");
    p
}

/// What the sample's localhost checks are, as Debian's command definitions expand them.
fn by_hand(service: &str) -> Option<Vec<String>> {
    let p = |s: &str| format!("{PLUGINS}/{s}");
    let v: Vec<String> = match service {
        "" => vec![
            p("check_ping"),
            "-H".into(),
            "127.0.0.1".into(),
            "-w".into(),
            "3000.0,80%".into(),
            "-c".into(),
            "5000.0,100%".into(),
            "-p".into(),
            "5".into(),
        ],
        "PING" => vec![
            p("check_ping"),
            "-H".into(),
            "127.0.0.1".into(),
            "-w".into(),
            "100.0,20%".into(),
            "-c".into(),
            "500.0,60%".into(),
            "-p".into(),
            "5".into(),
        ],
        "Root Partition" => vec![
            p("check_disk"),
            "-w".into(),
            "20%".into(),
            "-c".into(),
            "10%".into(),
            "-p".into(),
            "/".into(),
        ],
        "Current Users" => vec![
            p("check_users"),
            "-w".into(),
            "20".into(),
            "-c".into(),
            "50".into(),
        ],
        "Total Processes" => vec![
            p("check_procs"),
            "-w".into(),
            "250".into(),
            "-c".into(),
            "400".into(),
            "-s".into(),
            "RSZDT".into(),
        ],
        "Current Load" => vec![
            p("check_load"),
            "-w".into(),
            "5.0,4.0,3.0".into(),
            "-c".into(),
            "10.0,6.0,4.0".into(),
        ],
        "Swap Usage" => vec![
            p("check_swap"),
            "-w".into(),
            "20%".into(),
            "-c".into(),
            "10%".into(),
        ],
        "SSH" => vec![p("check_ssh"), "127.0.0.1".into()],
        "HTTP" => vec![p("check_http"), "-I".into(), "127.0.0.1".into()],
        _ => return None,
    };
    Some(v)
}

fn run_by_hand(argv: &[String]) -> (u64, String) {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .expect("run plugin");
    let code = out.status.code().unwrap_or(3).clamp(0, 3) as u64;
    let text = String::from_utf8_lossy(&out.stdout);
    (code, text.lines().next().unwrap_or("").to_owned())
}

fn first_word(s: &str) -> &str {
    s.split([' ', ':']).next().unwrap_or("")
}

#[test]
fn debian_sample_runs_its_localhost_checks_like_the_plugins_by_hand() {
    if !Path::new(MAIN_CFG).exists() && missing(MAIN_CFG) {
        return;
    }
    if !Path::new(&format!("{PLUGINS}/check_ping")).exists() && missing(PLUGINS) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let main = debian_main_cfg(dir.path());
    let mut d = Daemon::start(&main);
    // Within 5 s every check ran once; SOFT problems are retried every second up to
    // max_check_attempts 4; ping takes ~4 s. Wait until everything has been checked and
    // the problems are HARD.
    let log = dir.path().join("nagios.log");
    wait_for("the first results", Duration::from_secs(30), || {
        read(&log).contains("SERVICE ALERT") || read(&log).matches("localhost").count() > 0
    });
    std::thread::sleep(Duration::from_secs(14));
    d.term();
    let log_text = read(&log);
    let states = retained(&dir.path().join("retention.dat"));
    assert_eq!(states.len(), 9, "{states:?}");
    for (host, svc, state, checked, output) in &states {
        assert_eq!(host, "localhost");
        assert!(checked, "{svc:?} was never checked:\n{log_text}");
        assert!(
            !output.starts_with("(Return code") && !output.contains("timed out"),
            "{svc}: {output}"
        );
        let argv = by_hand(svc).unwrap_or_else(|| panic!("unexpected service {svc:?}"));
        // Values near a threshold (load, processes) can move between two runs: the
        // state must be one the plugin returns by hand in one of three tries.
        let mut seen = Vec::new();
        let ok = (0..3).any(|_| {
            let (code, text) = run_by_hand(&argv);
            let same = code == *state && first_word(&text) == first_word(output);
            seen.push((code, text));
            same
        });
        assert!(
            ok,
            "{svc:?}: picket reached {state} {output:?}, by hand: {seen:?}\n{log_text}"
        );
    }
    // The problems (SSH and HTTP are refused on a test box) went HARD through the
    // retries, logged as Nagios does.
    for (_, svc, state, _, _) in &states {
        if *state != 0 && !svc.is_empty() {
            for attempt in ["SOFT;1", "HARD;4"] {
                assert!(
                    log_text
                        .lines()
                        .any(|l| l.contains(&format!("SERVICE ALERT: localhost;{svc};"))
                            && l.contains(attempt)),
                    "no {attempt} alert for {svc}:\n{log_text}"
                );
            }
        }
    }
}

fn write_timeout_config(dir: &Path, script: &Path) -> PathBuf {
    let d = dir.display();
    std::fs::write(
        script,
        format!(
            "#!/bin/sh\necho $$ >> {d}/pids\nsleep 60 &\necho $! >> {d}/pids\nsleep 60\necho never\n"
        ),
    )
    .expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        dir.join("objects.cfg"),
        format!(
            r#"
define timeperiod {{
    timeperiod_name 24x7
    alias 24x7
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
    sunday 00:00-24:00
}}
define command {{
    command_name slow
    command_line {script}
}}
define command {{
    command_name ok
    command_line {PLUGINS}/check_dummy 0 "fine"
}}
define command {{
    command_name notify
    command_line /bin/true
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
    host_name h
    contacts alice
    max_check_attempts 1
    check_command ok
    check_interval 100
    check_period 24x7
}}
define service {{
    host_name h
    service_description Slow
    contacts alice
    check_command slow
    max_check_attempts 2
    check_interval 1
    retry_interval 1
    check_period 24x7
}}
"#,
            script = script.display()
        ),
    )
    .expect("objects");
    let p = dir.join("nagios.cfg");
    std::fs::write(
        &p,
        format!(
            "log_file={d}/nagios.log\ncfg_file={d}/objects.cfg\ncommand_file={d}/nagios.cmd\n\
             retain_state_information=1\nstate_retention_file={d}/retention.dat\n\
             interval_length=1\nservice_check_timeout=2\nservice_check_timeout_state=u\n"
        ),
    )
    .expect("main");
    p
}

#[test]
fn a_plugin_past_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = write_timeout_config(dir.path(), &dir.path().join("slow.sh"));
    let log = dir.path().join("nagios.log");
    let mut d = Daemon::start(&main);
    wait_for("the timeout", Duration::from_secs(20), || {
        read(&log).contains("SERVICE ALERT: h;Slow;UNKNOWN;SOFT;1;")
    });
    let text = read(&log);
    let warn = text
        .lines()
        .find(|l| l.contains("Warning: Check of service 'Slow' on host 'h' timed out after "))
        .unwrap_or_else(|| panic!("no timeout warning:\n{text}"));
    assert!(warn.ends_with("s!"), "{warn}");
    let alert = text
        .lines()
        .find(|l| l.contains("SERVICE ALERT: h;Slow;UNKNOWN;SOFT;1;"))
        .expect("alert");
    let msg = alert.rsplit(';').next().unwrap_or("");
    assert!(
        msg.starts_with("(Service check timed out after 2.") && msg.ends_with(" seconds)"),
        "{alert}"
    );
    // The plugin and the child it started in its process group are gone.
    // The first run's two pids (a retry may have started since).
    let pids: Vec<i32> = read(&dir.path().join("pids"))
        .lines()
        .take(2)
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    std::thread::sleep(Duration::from_millis(300));
    for pid in pids {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        let zombie = read(Path::new(&format!("/proc/{pid}/stat"))).contains(") Z ");
        assert!(!alive || zombie, "process {pid} survived the timeout");
    }
    d.term();
}

#[test]
fn active_results_survive_kill_9() {
    if !Path::new(&format!("{PLUGINS}/check_dummy")).exists() && missing(PLUGINS) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let main = write_timeout_config(d, &d.join("slow.sh"));
    // Replace the slow plugin with a failing one: 2 attempts → HARD CRITICAL quickly.
    std::fs::write(
        d.join("slow.sh"),
        "#!/bin/sh\necho 'DOWN - it failed'\nexit 2\n",
    )
    .expect("script");
    let log = d.join("nagios.log");
    let mut daemon = Daemon::start(&main);
    wait_for("HARD CRITICAL", Duration::from_secs(20), || {
        read(&log).contains("SERVICE ALERT: h;Slow;CRITICAL;HARD;2;DOWN - it failed")
    });
    daemon.kill9();
    // Restart: the journal replays the active results; the service is still HARD
    // CRITICAL (a repeat CRITICAL logs nothing), not a new SOFT problem.
    let before = read(&log).len();
    let mut daemon = Daemon::start(&main);
    std::thread::sleep(Duration::from_secs(4));
    daemon.term();
    let after = read(&log)[before..].to_owned();
    assert!(
        !after.contains("SOFT;1"),
        "state was lost across kill -9:\n{after}"
    );
    let states = retained(&d.join("retention.dat"));
    let slow = states.iter().find(|s| s.1 == "Slow").expect("Slow");
    assert_eq!(slow.2, 2, "{states:?}");
    assert_eq!(slow.4, "DOWN - it failed");
}
