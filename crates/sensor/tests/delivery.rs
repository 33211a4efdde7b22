//! `picket-sensor` with real processes: it follows a file (appends, rotation, restarts
//! from its state file) and delivers to Debian's `nsca` daemon, which writes the classic
//! command lines; with the server down the events wait in the spool and arrive, in order
//! and once, when it is back.
//!
//! Under CI (`CI` set) Debian's `nsca` must be installed (`.ci/run` does); elsewhere the
//! test is skipped with a message when it is not.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "sensor-test-password";

fn debian_nsca() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/sbin/nsca");
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!("/usr/sbin/nsca is missing: CI must install Debian's nsca (.ci/run does)");
    }
    eprintln!("SKIP: /usr/sbin/nsca is not installed (apt-get install nsca); not tested");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nsca(program: &Path, dir: &Path, port: u16) -> Daemon {
    let cfg = dir.join("nsca.cfg");
    std::fs::write(
        &cfg,
        format!(
            "server_address=127.0.0.1\nserver_port={port}\npassword={PASSWORD}\n\
             decryption_method=1\nappend_to_file=1\nmax_packet_age=30\n\
             command_file={}\nalternate_dump_file={}\n",
            dir.join("nagios.cmd").display(),
            dir.join("dump").display()
        ),
    )
    .expect("nsca.cfg");
    let mut child = Command::new(program)
        .args(["-f", "-c"])
        .arg(&cfg)
        .arg("--single")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nsca");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("nsca listening", 10, || {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("nsca exited: {st}");
        }
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    Daemon(child)
}

fn append(p: &Path, s: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .expect("open log");
    f.write_all(s.as_bytes()).expect("append");
}

/// Runs `picket-sensor --once` against NSCA port `port`; returns whether it exited 0.
fn sensor_once(dir: &Path, port: u16, log: &Path) -> bool {
    let st = Command::new(env!("CARGO_BIN_EXE_picket-sensor"))
        .arg("--server")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--host-name", "web1", "-c"])
        .arg(dir.join("send_nsca.cfg"))
        .arg("--file")
        .arg(log)
        .arg("--state-file")
        .arg(dir.join("state.json"))
        .arg("--spool-dir")
        .arg(dir.join("spool"))
        .arg("--once")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("sensor.err"))
                .expect("err"),
        )
        .status()
        .expect("run picket-sensor");
    st.success()
}

fn lines(n: std::ops::Range<u32>) -> String {
    n.map(|i| {
        format!(
            "Dec  2 14:00:01 web1 sshd[{i}]: Invalid user u{i} from 198.51.100.{i} port 4{i:04}\n"
        )
    })
    .collect()
}

/// The command file's lines without their `[time] ` stamp.
fn commands(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("nagios.cmd"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once("] ").map(|(_, r)| r.to_string()))
        .collect()
}

fn want(n: std::ops::Range<u32>) -> Vec<String> {
    n.map(|i| {
        format!("PROCESS_SERVICE_CHECK_RESULT;web1;TCP Wrappers;2;Denied sshd-198.51.100.{i} (1 auth_fail)")
    })
    .collect()
}

#[test]
fn follows_rotates_spools_and_delivers_in_order_once() {
    let Some(nsca) = debian_nsca() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("send_nsca.cfg"),
        format!("password={PASSWORD}\nencryption_method=1\n"),
    )
    .expect("send_nsca.cfg");
    std::fs::write(d.join("nagios.cmd"), "").expect("command file");
    let log = d.join("auth.log");
    let port = free_port();

    // 1. The server is down: nothing delivered, exit 1, the events wait in the spool.
    append(&log, &lines(1..11));
    append(
        &log,
        "Dec  2 14:00:01 web1 sshd[99]: Accepted password for bob from 192.0.2.1 port 1 ssh2\n",
    );
    assert!(
        !sensor_once(d, port, &log),
        "delivery to a closed port must fail"
    );
    // 2. More lines, then the log is rotated and the new file gets more.
    append(&log, &lines(11..16));
    std::fs::rename(&log, d.join("auth.log.1")).expect("rotate");
    append(&log, &lines(16..21));
    // 3. The server is back: the spooled batch first, then the new lines, each once.
    let _nsca = start_nsca(&nsca, d, port);
    assert!(
        sensor_once(d, port, &log),
        "{}",
        std::fs::read_to_string(d.join("sensor.err")).unwrap_or_default()
    );
    wait_for("20 command lines", 10, || commands(d).len() >= 20);
    assert_eq!(commands(d), want(1..21));
    // 4. A restart with nothing new sends nothing; an append sends just that.
    assert!(sensor_once(d, port, &log));
    append(&log, &lines(21..23));
    assert!(sensor_once(d, port, &log));
    wait_for("22 command lines", 10, || commands(d).len() >= 22);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(commands(d), want(1..23));
    let spool = std::fs::read_dir(d.join("spool")).expect("spool").count();
    assert_eq!(spool, 1, "one target directory, empty");
}
