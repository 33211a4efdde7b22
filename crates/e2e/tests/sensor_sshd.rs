//! Debian's OpenSSH server end to end, with real processes on loopback:
//!
//! ```text
//! ssh (invalid user), a bad banner, nmap -sV ──> sshd -p P1 -E ssh1.log   (host ssh1)
//! ssh (invalid user)                         ──> sshd -p P2 -E ssh2.log   (host ssh2)
//!   picket-sensor --host-name ssh1 --sshd-log ssh1.log ─┐ POST /api/connection-events
//!   picket-sensor --host-name ssh2 --sshd-log ssh2.log ─┴──> picket (detection on)
//! ```
//!
//! Both sensors run in their long-running mode (not `--once`). The test's `detection.cfg`
//! lowers `horizontal_hosts` to 2: the failures of 127.0.0.1 on both hosts are the
//! `CONNECTION EVENT` lines of the log and the correlator opens one incident for it.
//! Without Debian's `openssh-server` or `nmap` the test skips; under CI it fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use picket_e2e::{Example, Nsca, Proc, bin, free_port, wait_for};

fn peer(path: &str, package: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{path} is missing: CI must install {package}"
    );
    eprintln!("SKIP: {path} not installed: apt-get install -y {package}");
    None
}

/// `sshd -D -e` on 127.0.0.1:`port`, logging to `log` (`-E`); waits until it listens.
fn sshd(sshd: &Path, d: &Path, name: &str, port: u16) -> (Proc, PathBuf) {
    let key = d.join(format!("{name}.key"));
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success(), "ssh-keygen failed");
    let cfg = d.join(format!("{name}.sshd_config"));
    std::fs::write(
        &cfg,
        format!(
            "HostKey {}\nPidFile none\nUsePAM no\nPasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\nStrictModes no\nLoginGraceTime 10\n",
            key.display()
        ),
    )
    .expect("sshd_config");
    let log = d.join(format!("{name}.log"));
    let p = Proc(
        Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&cfg)
            .arg("-p")
            .arg(port.to_string())
            .args(["-o", "ListenAddress=127.0.0.1", "-E"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join(format!("{name}.err"))).expect("err"))
            .spawn()
            .expect("start sshd"),
    );
    wait_for(&format!("{name} listening"), 10, || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (p, log)
}

/// A login as a user that does not exist; BatchMode: no prompt, fails at once.
fn failed_login(port: u16) {
    let out = Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "PreferredAuthentications=password,publickey",
            "-p",
        ])
        .arg(port.to_string())
        .args(["picket-no-such-user@127.0.0.1", "true"])
        .stdin(Stdio::null())
        .output()
        .expect("run ssh");
    assert!(!out.status.success(), "the login must fail");
}

/// A client whose identification string is not SSH's.
fn bad_banner(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut b = [0u8; 256];
    let n = s.read(&mut b).expect("banner");
    assert!(b[..n].starts_with(b"SSH-2.0-"), "sshd's banner");
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let _ = s.read(&mut b);
}

/// Like `wait_for`, but the panic shows the logs of the test's directory.
fn wait_or_dump(ex: &Example, what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut dump = String::new();
    for f in [
        "var/picket.log",
        "ssh1.log",
        "ssh2.log",
        "sensor-ssh1.err",
        "sensor-ssh2.err",
    ] {
        dump.push_str(&format!("== {f}\n{}\n", ex.file(f)));
    }
    panic!("timed out after {secs}s waiting for {what}\n{dump}");
}

fn sensor(ex: &Example, name: &str, log: &Path) -> Proc {
    let d = ex.dir.path();
    let conf = d.join(format!("sensor-{name}.conf"));
    std::fs::write(&conf, "window = 1\n").expect("sensor conf");
    Proc(
        Command::new(bin("picket-sensor"))
            .arg("--config")
            .arg(&conf)
            .arg("--server")
            .arg(format!("http://{}", ex.web))
            .arg("--token-file")
            .arg(d.join("web.token"))
            .args(["--host-name", name, "--from-start", "--sshd-log"])
            .arg(log)
            .arg("--state-file")
            .arg(d.join(format!("sensor-{name}.json")))
            .arg("--spool-dir")
            .arg(d.join(format!("sensor-{name}-spool")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join(format!("sensor-{name}.err"))).expect("err"))
            .spawn()
            .expect("start picket-sensor"),
    )
}

#[test]
fn sshd_failures_and_probes_reach_picket_and_open_one_incident() {
    let Some(sshd_bin) = peer("/usr/sbin/sshd", "openssh-server") else {
        return;
    };
    let Some(nmap) = peer("/usr/bin/nmap", "nmap") else {
        return;
    };
    // Run as root, sshd needs its privilege separation directory (Debian's ssh.service
    // creates it as its RuntimeDirectory).
    if nix::unistd::geteuid().is_root() && !Path::new("/run/sshd").exists() {
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    }
    let ex = Example::with_detection(Nsca::BuiltIn, "2s");
    let d = ex.dir.path();
    let cfg = std::fs::read_to_string(d.join("detection.cfg")).expect("detection.cfg");
    assert!(cfg.contains("\nhorizontal_hosts=3\n"));
    std::fs::write(
        d.join("detection.cfg"),
        cfg.replace("\nhorizontal_hosts=3\n", "\nhorizontal_hosts=2\n"),
    )
    .expect("detection.cfg");
    let _picket = ex.start_picket();
    wait_for("web.token", 20, || d.join("web.token").exists());

    let (p1, p2) = (free_port(), free_port());
    let (_sshd1, log1) = sshd(&sshd_bin, d, "ssh1", p1);
    let (_sshd2, log2) = sshd(&sshd_bin, d, "ssh2", p2);
    let _s1 = sensor(&ex, "ssh1", &log1);
    let _s2 = sensor(&ex, "ssh2", &log2);

    failed_login(p1);
    bad_banner(p1);
    let out = Command::new(&nmap)
        .args(["-sV", "-Pn", "-p"])
        .arg(p1.to_string())
        .arg("127.0.0.1")
        .output()
        .expect("run nmap");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("OpenSSH"),
        "nmap -sV: {text}"
    );

    let events = |reporter: &str| -> Vec<String> {
        ex.file("var/picket.log")
            .lines()
            .filter_map(|l| l.split_once("CONNECTION EVENT: ").map(|(_, r)| r))
            .filter(|r| r.contains(&format!(";{reporter};127.0.0.1;")))
            .map(str::to_string)
            .collect()
    };
    // The sensor aggregates per window: an event's count may stand for several.
    let count = |evs: &[String]| -> u64 {
        evs.iter()
            .filter_map(|e| e.split(';').nth(7)?.parse::<u64>().ok())
            .sum()
    };
    // The invalid user, the bad banner and nmap's probe: at least 3 on ssh1.
    wait_or_dump(&ex, "ssh1's events in picket's log", 15, || {
        count(&events("ssh1")) >= 3
    });
    let log = ex.file("var/picket.log");
    let opened = |log: &str| -> usize {
        log.lines()
            .filter(|l| l.contains("SCAN INCIDENT: ") && l.contains(";opened;127.0.0.1;"))
            .count()
    };
    assert_eq!(opened(&log), 0, "one host is not a scan yet:\n{log}");
    let e1 = events("ssh1");
    assert!(
        e1.iter().all(|e| e.contains(";-;-;sshd;auth_fail;")),
        "{e1:#?}"
    );
    assert!(
        e1.iter()
            .any(|e| e.contains("Invalid user picket-no-such-user from 127.0.0.1")),
        "{e1:#?}"
    );
    let sshd_log = ex.file("ssh1.log");
    assert!(
        sshd_log.contains("banner exchange: Connection from 127.0.0.1"),
        "{sshd_log}"
    );

    // The second host sees the same source: horizontal, one incident.
    failed_login(p2);
    wait_or_dump(&ex, "ssh2's event in picket's log", 15, || {
        !events("ssh2").is_empty()
    });
    wait_or_dump(&ex, "the incident", 10, || {
        opened(&ex.file("var/picket.log")) >= 1
    });
    std::thread::sleep(Duration::from_millis(1500));
    let log = ex.file("var/picket.log");
    assert_eq!(opened(&log), 1, "{log}");
    let incident = log
        .lines()
        .find(|l| l.contains("SCAN INCIDENT: ") && l.contains(";opened;127.0.0.1;"))
        .unwrap_or_default();
    assert!(incident.contains("horizontal"), "{incident}");
    assert!(
        incident.contains("ssh1") && incident.contains("ssh2"),
        "{incident}"
    );
}
