//! Nagstamon (Debian package `nagstamon`) shows Picket's problems: its own
//! Livestatus server class (`Nagstamon.Servers.Livestatus`, headless, driven by
//! `tests/nagstamon/problems.py`) reads a real `picket`'s Livestatus TCP port, and
//! its acknowledge action reaches the engine. Under `CI=true` a missing Nagstamon
//! fails the test; otherwise it prints SKIP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NAGSTAMON: &str = "/usr/lib/python3/dist-packages/Nagstamon/Servers/Livestatus.py";

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ask(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

const OBJECTS: &str = "\
define command {\n command_name check_none\n command_line /bin/true\n}\n\
define contact {\n contact_name nobody\n service_notification_commands check_none\n host_notification_commands check_none\n}\n\
define host {\n host_name web1\n address 127.0.0.1\n max_check_attempts 1\n active_checks_enabled 0\n check_command check_none\n contacts nobody\n}\n\
define host {\n host_name db1\n address 127.0.0.2\n max_check_attempts 1\n active_checks_enabled 0\n check_command check_none\n contacts nobody\n}\n\
define service {\n host_name web1\n service_description HTTP\n check_command check_none\n active_checks_enabled 0\n max_check_attempts 1\n contacts nobody\n}\n\
define service {\n host_name web1\n service_description Disk\n check_command check_none\n active_checks_enabled 0\n max_check_attempts 3\n contacts nobody\n}\n\
define service {\n host_name web1\n service_description Load\n check_command check_none\n active_checks_enabled 0\n max_check_attempts 1\n contacts nobody\n}\n\
define service {\n host_name db1\n service_description PING\n check_command check_none\n active_checks_enabled 0\n max_check_attempts 1\n contacts nobody\n}\n";

#[test]
fn nagstamon_shows_pickets_problems_and_acknowledges() {
    if !Path::new(NAGSTAMON).exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{NAGSTAMON} is missing under CI (install nagstamon, see .ci/run)");
        }
        eprintln!("SKIP: Nagstamon not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("objects.cfg"), OBJECTS).expect("objects");
    let tcp: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let main = d.join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
             check_external_commands=1\nretain_state_information=0\nhistory_file={0}/history.db\n\
             livestatus_listen={tcp}\n\
             # Nagstamon sends no user: TCP takes its commands only when asked to.\n\
             livestatus_unscoped_commands=unix,tcp\n",
            d.display()
        ),
    )
    .expect("main cfg");
    let _picket = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(&main)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start picket"),
    );
    wait_for("the Livestatus port", 30, || {
        TcpStream::connect(tcp).is_ok()
    });
    for line in [
        "PROCESS_HOST_CHECK_RESULT;db1;1;PING CRITICAL - 100% packet loss",
        "PROCESS_SERVICE_CHECK_RESULT;db1;PING;2;PING CRITICAL - 100% packet loss",
        "PROCESS_SERVICE_CHECK_RESULT;web1;HTTP;2;connection refused",
        "PROCESS_SERVICE_CHECK_RESULT;web1;Disk;1;disk 91% used",
        "PROCESS_SERVICE_CHECK_RESULT;web1;Load;0;load 0.1",
    ] {
        assert_eq!(ask(tcp, &format!("COMMAND [1700000000] {line}\n\n")), "");
    }
    wait_for("the results", 20, || {
        ask(
            tcp,
            "GET services\nColumns: description\nFilter: has_been_checked = 1\n\n",
        )
        .lines()
        .count()
            == 4
    });

    let run = |args: &[&str]| {
        let out = Command::new("/usr/bin/python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/nagstamon/problems.py"
            ))
            .args(args)
            .env("QT_QPA_PLATFORM", "offscreen")
            .env("HOME", d)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "problems.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Nagstamon prints notes of its own on import: the JSON is the last line.
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().last().unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(last).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let addr = tcp.to_string();
    let seen = run(&[&addr, "web1", "HTTP"]);
    // db1 is DOWN with its service; web1 is UP (not a problem itself) and appears
    // through its services; the OK Load service does not appear.
    assert_eq!(
        seen,
        serde_json::json!({
            "db1": {
                "status": "DOWN", "status_type": "hard",
                "status_information": "PING CRITICAL - 100% packet loss",
                "services": {"PING": {
                    "status": "CRITICAL", "status_type": "hard", "attempt": 1,
                    "status_information": "PING CRITICAL - 100% packet loss",
                    "acknowledged": false, "notifications_disabled": false}}
            },
            "web1": {
                "status": "UP", "status_type": "hard", "status_information": "",
                "services": {
                    "Disk": {"status": "WARNING", "status_type": "soft", "attempt": 1,
                             "status_information": "disk 91% used",
                             "acknowledged": false, "notifications_disabled": false},
                    "HTTP": {"status": "CRITICAL", "status_type": "hard", "attempt": 1,
                             "status_information": "connection refused",
                             "acknowledged": false, "notifications_disabled": false}
                }
            }
        })
    );
    // Nagstamon's acknowledge went through Livestatus COMMAND to the engine.
    wait_for("the acknowledgement", 20, || {
        ask(
            tcp,
            "GET services\nColumns: acknowledged acknowledgement_type\nFilter: description = HTTP\n\n",
        ) == "1;2\n"
    });
    let again = run(&[&addr]);
    assert_eq!(again["web1"]["services"]["HTTP"]["acknowledged"], true);
    let comments = ask(
        tcp,
        "GET comments\nColumns: author comment host_name service_description\n\n",
    );
    assert_eq!(comments, "nagstamon;seen in Nagstamon;web1;HTTP\n");
}
