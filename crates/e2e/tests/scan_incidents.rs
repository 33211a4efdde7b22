//! Scan incidents end to end, with real processes on loopback:
//!
//! ```text
//! nmap -sT ──> tcpd --listen 127.0.0.2..7 (hosts h2..h7; hosts.allow: 127.0.0.9)
//!                └─ refused: handle_tcp_wrapper %h %d ─> submit_check_result ─> send_nsca
//!                     ══ NSCA ══> picket (built in, detection on, hold 2 s)
//!                                   └─ correlator ─> network/Port scans: one notification
//! ```
//!
//! The example configuration is used with its `detection.cfg` (only the hold shortened to
//! 2 s); the test adds the hosts h2..h7, each with the seed's `TCP Wrappers` service.
//! Debian's `nmap` does the scans (a connect scan: no privileges needed); without it the
//! tests skip, and fail under CI.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
use picket_e2e::{Example, Nsca, Proc, bin, free_port, http_get, http_post, wait_for};

/// The hold of the test's detection.cfg, in seconds.
const HOLD: u64 = 2;

fn nmap() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/nmap");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "/usr/bin/nmap is missing: CI must install nmap"
    );
    eprintln!("SKIP: Debian nmap not installed: apt-get install -y nmap");
    None
}

struct Lab {
    ex: Example,
    picket: Option<Proc>,
    tcpds: Vec<Proc>,
}

impl Lab {
    /// picket with detection, hosts h2..h7 defined; no listener yet.
    fn start() -> Lab {
        let ex = Example::with_detection(Nsca::BuiltIn, &format!("{HOLD}s"));
        let d = ex.dir.path();
        let mut hosts = String::new();
        for n in 2..=7 {
            hosts.push_str(&format!(
                "define host {{\n host_name h{n}\n address 127.0.0.{n}\n check_command check_none\n \
                 max_check_attempts 1\n check_period 24x7\n active_checks_enabled 0\n \
                 passive_checks_enabled 1\n contact_groups admins\n notification_interval 0\n \
                 notification_period 24x7\n notification_options d,u,r\n}}\n\
                 define service {{\n host_name h{n}\n service_description TCP Wrappers\n \
                 check_command check_none\n is_volatile 1\n active_checks_enabled 0\n \
                 passive_checks_enabled 1\n max_check_attempts 1\n check_interval 5\n \
                 retry_interval 1\n check_period 24x7\n contact_groups admins\n \
                 notification_interval 0\n notification_period 24x7\n \
                 notification_options w,u,c,r\n}}\n"
            ));
        }
        std::fs::write(d.join("lab.cfg"), hosts).expect("lab.cfg");
        let main = std::fs::read_to_string(d.join("picket.cfg")).expect("picket.cfg");
        std::fs::write(d.join("picket.cfg"), main + "cfg_file=lab.cfg\n").expect("picket.cfg");
        std::fs::write(d.join("hosts.allow"), "ALL: 127.0.0.9\n").expect("allow");
        std::fs::write(
            d.join("hosts.deny"),
            format!(
                "ALL: ALL: twist ({} %h %d)&\n",
                Example::source().join("handle_tcp_wrapper").display()
            ),
        )
        .expect("deny");
        let out = Command::new(bin("picket"))
            .args(["-v", "picket.cfg"])
            .current_dir(d)
            .output()
            .expect("picket -v");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "picket -v: {text}");
        assert!(
            text.contains("Scan detection: ") && text.contains("'network;Port scans'"),
            "{text}"
        );
        let picket = ex.start_picket();
        let port = ex.nsca_port;
        wait_for("NSCA listening", 20, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Lab {
            ex,
            picket: Some(picket),
            tcpds: Vec::new(),
        }
    }

    /// `tcpd --listen addr` for host `host`, guarding a `/bin/cat` named `daemon`.
    fn listen(&mut self, addr: SocketAddr, host: &str, daemon: &str) -> SocketAddr {
        let d = self.ex.dir.path();
        let example = Example::source();
        let prog = d.join(daemon);
        if !prog.exists() {
            std::os::unix::fs::symlink("/bin/cat", &prog).expect("daemon link");
        }
        let n = self.tcpds.len();
        let mut tcpd = Command::new(bin("tcpd"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--print-addr")
            .arg("--allow")
            .arg(d.join("hosts.allow"))
            .arg("--deny")
            .arg(d.join("hosts.deny"))
            .arg("--log-file")
            .arg(d.join(format!("tcpd{n}.log")))
            .arg("--")
            .arg(&prog)
            .env("PICKET_HOST_NAME", host)
            .env("SEND_NSCA", bin("send_nsca"))
            .env("NSCA_HOST", "127.0.0.1")
            .env("NSCA_PORT", self.ex.nsca_port.to_string())
            .env("SEND_NSCA_CFG", example.join("send_nsca.cfg"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(d.join(format!("tcpd{n}.err"))).expect("err"))
            .spawn()
            .expect("start tcpd");
        let mut out = tcpd.stdout.take().expect("stdout");
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while out.read(&mut b).map(|n| n == 1).unwrap_or(false) && b[0] != b'\n' {
            line.push(b[0]);
        }
        self.tcpds.push(Proc(tcpd));
        let line = String::from_utf8_lossy(&line);
        line.trim()
            .parse()
            .unwrap_or_else(|e| panic!("tcpd --print-addr printed {line:?}: {e}"))
    }

    fn log(&self) -> String {
        self.ex.file("var/picket.log")
    }

    /// Log lines (without the stamp) starting with `prefix`.
    fn lines(&self, prefix: &str) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("] ").map(|(_, r)| r))
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    fn incident_notifications(&self) -> (usize, usize) {
        (
            self.lines("SERVICE NOTIFICATION: admin;network;Port scans;CRITICAL;")
                .len(),
            self.ex
                .notifications()
                .iter()
                .filter(|l| l.contains("network/Port scans is CRITICAL"))
                .count(),
        )
    }

    fn denied_notifications(&self) -> (usize, usize) {
        (
            self.log()
                .lines()
                .filter(|l| l.contains("SERVICE NOTIFICATION: ") && l.contains(";TCP Wrappers;"))
                .count(),
            self.ex
                .notifications()
                .iter()
                .filter(|l| l.contains("/TCP Wrappers is"))
                .count(),
        )
    }

    fn diagnostics(&self) -> String {
        let mut s = String::new();
        for f in ["picket.err", "var/picket.log", "var/notifications.log"] {
            s.push_str(&format!("--- {f}\n{}\n", self.ex.file(f)));
        }
        for n in 0..self.tcpds.len() {
            s.push_str(&format!(
                "--- tcpd{n}\n{}{}\n",
                self.ex.file(&format!("tcpd{n}.err")),
                self.ex.file(&format!("tcpd{n}.log"))
            ));
        }
        s
    }

    fn nmap(&self, nmap: &PathBuf, ports: &str, targets: &str) -> String {
        let out = Command::new(nmap)
            .args([
                "-sT",
                "-Pn",
                "-n",
                "--max-retries",
                "0",
                "-p",
                ports,
                targets,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run nmap");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "nmap: {text}");
        text
    }

    /// Waits until `n` refusals are in the log: folded (`CONNECTION EVENT`) or released
    /// (the `TCP Wrappers` result), then for the hold to pass with nothing more arriving.
    fn settle(&self, n: usize, what: &str) {
        let count = || {
            self.lines("CONNECTION EVENT: ").len()
                + self
                    .lines("PASSIVE SERVICE CHECK: ")
                    .iter()
                    .filter(|l| l.contains(";TCP Wrappers;"))
                    .count()
        };
        let t = Instant::now();
        while count() < n {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{what}: {} of {n} refusals in the log\n{}",
                count(),
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Past the hold, plus the notification command's run.
        std::thread::sleep(Duration::from_millis(HOLD * 1000 + 1500));
    }

    fn stop(&mut self, signal: nix::sys::signal::Signal) {
        let mut p = self.picket.take().expect("picket running");
        let pid = nix::unistd::Pid::from_raw(p.0.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal");
        let t = Instant::now();
        while p.0.try_wait().expect("wait").is_none() {
            assert!(t.elapsed() < Duration::from_secs(10), "picket did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn restart(&mut self) {
        let fifo = self.ex.path("var/picket.cmd");
        // A killed picket leaves its FIFO behind.
        let _ = std::fs::remove_file(&fifo);
        self.picket = Some(self.ex.start_picket());
        let port = self.ex.nsca_port;
        wait_for("NSCA listening", 20, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }
}

/// Connects from `source` to `target`, sends `data`, returns what came back.
fn connect_from(source: [u8; 4], target: SocketAddr, data: &[u8]) -> Vec<u8> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .expect("socket");
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::new(source[0], source[1], source[2], source[3], 0),
    )
    .expect("bind source");
    let SocketAddr::V4(target) = target else {
        panic!("IPv4 only")
    };
    connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(target),
    )
    .expect("connect");
    let mut s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = s.write_all(data);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

/// The same port on 127.0.0.2..7, hosts h2..h7.
fn sweep_lab(lab: &mut Lab) -> u16 {
    let port = free_port();
    for n in 2..=7u8 {
        lab.listen(
            SocketAddr::from(([127, 0, 0, n], port)),
            &format!("h{n}"),
            "in.echo",
        );
    }
    port
}

fn opened(lab: &Lab) -> Vec<String> {
    lab.lines("SCAN INCIDENT: ")
        .into_iter()
        .filter(|l| l.split(';').nth(1) == Some("opened"))
        .collect()
}

#[test]
fn a_sweep_of_six_hosts_notifies_once() {
    let Some(nmap) = nmap() else { return };
    let mut lab = Lab::start();
    let port = sweep_lab(&mut lab);
    let out = lab.nmap(&nmap, &port.to_string(), "127.0.0.2-7");
    assert_eq!(out.matches("/tcp open").count(), 6, "{out}");
    lab.settle(6, "sweep");
    let d = lab.diagnostics();
    let opened = opened(&lab);
    assert_eq!(opened.len(), 1, "{d}");
    let f: Vec<&str> = opened[0].split(';').collect();
    assert!(f[3].contains("horizontal"), "{}", opened[0]);
    assert!(
        f[14].contains("scanned 3 hosts on in.echo"),
        "{}",
        opened[0]
    );
    // Every probe is in the log once, as a CONNECTION EVENT of the incident.
    let events = lab.lines("CONNECTION EVENT: ");
    assert_eq!(events.len(), 6, "{d}");
    let mut reporters: Vec<&str> = events.iter().filter_map(|l| l.split(';').nth(1)).collect();
    reporters.sort_unstable();
    assert_eq!(reporters, ["h2", "h3", "h4", "h5", "h6", "h7"], "{d}");
    assert!(events.iter().all(|l| l.ends_with(&format!(
        ";{};-;-;in.echo;refused;1;Denied in.echo-{}",
        f[2], f[2]
    ))));
    assert_eq!(lab.incident_notifications(), (1, 1), "{d}");
    assert_eq!(lab.denied_notifications(), (0, 0), "{d}");
    let note = &lab.ex.notifications()[0];
    assert!(
        note.contains(&format!("{} scanned 3 hosts", f[2])),
        "{note}"
    );
}

#[test]
fn a_vertical_scan_of_five_daemons_notifies_once() {
    let Some(nmap) = nmap() else { return };
    let mut lab = Lab::start();
    let mut ports = Vec::new();
    for i in 1..=5 {
        let a = lab.listen(
            SocketAddr::from(([127, 0, 0, 2], 0)),
            "h2",
            &format!("in.d{i}"),
        );
        ports.push(a.port().to_string());
    }
    let out = lab.nmap(&nmap, &ports.join(","), "127.0.0.2");
    assert_eq!(out.matches("/tcp open").count(), 5, "{out}");
    lab.settle(5, "vertical scan");
    let d = lab.diagnostics();
    let opened = opened(&lab);
    assert_eq!(opened.len(), 1, "{d}");
    assert!(
        opened[0].split(';').nth(3) == Some("vertical"),
        "{}",
        opened[0]
    );
    assert!(opened[0].contains("scanned 4 ports on h2"), "{}", opened[0]);
    assert_eq!(lab.lines("CONNECTION EVENT: ").len(), 5, "{d}");
    assert_eq!(lab.incident_notifications(), (1, 1), "{d}");
    assert_eq!(lab.denied_notifications(), (0, 0), "{d}");
}

#[test]
fn an_allowed_client_and_a_lone_refusal_are_no_incident() {
    // No nmap here, but the lab is the same.
    let mut lab = Lab::start();
    let a2 = lab.listen(SocketAddr::from(([127, 0, 0, 2], 0)), "h2", "in.echo");
    let a3 = lab.listen(SocketAddr::from(([127, 0, 0, 3], 0)), "h3", "in.echo");
    // Allowed (hosts.allow): echoed, no event at all.
    for _ in 0..3 {
        assert_eq!(connect_from([127, 0, 0, 9], a2, b"hello\n"), b"hello\n");
    }
    // One refused connection: held, then alerted and notified as the seed does.
    let t = Instant::now();
    let _ = connect_from([127, 0, 0, 10], a3, b"x\n");
    wait_for("the lone refusal's notification", 30, || {
        lab.denied_notifications() == (1, 1)
    });
    let late = t.elapsed();
    assert!(
        late >= Duration::from_millis(HOLD * 1000 - 1000),
        "notified {late:?} after the refusal: not held"
    );
    std::thread::sleep(Duration::from_millis(HOLD * 1000 + 500));
    let d = lab.diagnostics();
    let alerts = lab.ex.alerts();
    assert_eq!(alerts.len(), 1, "{d}");
    assert!(
        alerts[0].starts_with(
            "SERVICE ALERT: h3;TCP Wrappers;CRITICAL;HARD;1;Denied in.echo-127.0.0.10"
        ),
        "{d}"
    );
    assert!(lab.lines("SCAN INCIDENT: ").is_empty(), "{d}");
    assert!(lab.lines("CONNECTION EVENT: ").is_empty(), "{d}");
    assert!(!lab.log().contains("127.0.0.9"), "{d}");
    assert_eq!(lab.incident_notifications(), (0, 0), "{d}");
    assert_eq!(lab.denied_notifications(), (1, 1), "{d}");
}

#[test]
fn a_restart_during_an_incident_neither_loses_nor_renotifies_it() {
    use nix::sys::signal::Signal;
    let Some(nmap) = nmap() else { return };
    let mut lab = Lab::start();
    let port = sweep_lab(&mut lab);
    lab.nmap(&nmap, &port.to_string(), "127.0.0.2-7");
    lab.settle(6, "sweep");
    assert_eq!(
        lab.incident_notifications(),
        (1, 1),
        "{}",
        lab.diagnostics()
    );
    let source = opened(&lab)[0].split(';').nth(2).expect("key").to_string();
    let ip: std::net::Ipv4Addr = source.parse().expect("the scanner's address");
    let mut events = 6;
    for (signal, n) in [(Signal::SIGTERM, 4u8), (Signal::SIGKILL, 5)] {
        lab.stop(signal);
        lab.restart();
        // The scanner comes back: folded into the open incident (no lone-refusal alert,
        // no second incident, no notification).
        let _ = connect_from(ip.octets(), SocketAddr::from(([127, 0, 0, n], port)), b"");
        events += 1;
        lab.settle(events, "after the restart");
        let d = lab.diagnostics();
        assert_eq!(
            lab.lines("CONNECTION EVENT: ").len(),
            events,
            "{signal}: {d}"
        );
        assert_eq!(opened(&lab).len(), 1, "{signal}: {d}");
        assert_eq!(lab.incident_notifications(), (1, 1), "{signal}: {d}");
        assert_eq!(lab.denied_notifications(), (0, 0), "{signal}: {d}");
    }
}

#[test]
fn posted_connection_events_are_correlated_and_a_lone_one_still_notifies() {
    let lab = Lab::start();
    let token = lab.ex.file("web.token");
    let token = token.lines().next().expect("token").trim();
    let ev = |t: u64, host: &str, src: &str, kind: &str| {
        format!(
            r#"{{"time": {t}, "reporter": "{host}", "source": {{"addr": "{src}"}}, "dest_port": 22,
                "proto": "tcp", "daemon": "sshd", "kind": "{kind}", "raw": "Failed password for root from {src}"}}"#
        )
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let body = format!(
        r#"{{"events": [{}, {}, {}, {}]}}"#,
        ev(now, "h2", "198.51.100.20", "auth_fail"),
        ev(now, "h3", "198.51.100.20", "auth_fail"),
        ev(now, "h4", "198.51.100.20", "auth_fail"),
        ev(now, "h5", "198.51.100.30", "refused"),
    );
    let (status, answer) = http_post(lab.ex.web, "/api/connection-events", token, &body);
    assert_eq!((status, answer.trim()), (202, r#"{"accepted":4}"#));
    let (status, _) = http_post(lab.ex.web, "/api/connection-events", "wrong-token", &body);
    assert_eq!(status, 403);
    wait_for("the lone event's notification", 30, || {
        lab.denied_notifications() == (1, 1)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let d = lab.diagnostics();
    let opened = opened(&lab);
    assert_eq!(opened.len(), 1, "{d}");
    assert!(
        opened[0].contains(";opened;198.51.100.20;horizontal;3;3;1;1;"),
        "{d}"
    );
    let events = lab.lines("CONNECTION EVENT: ");
    assert_eq!(events.len(), 3, "{d}");
    assert!(
        events.iter().all(|l| l.contains(
            ";198.51.100.20;tcp;22;sshd;auth_fail;1;Failed password for root from 198.51.100.20"
        )),
        "{d}"
    );
    assert_eq!(lab.incident_notifications(), (1, 1), "{d}");
    // The lone refusal became the seed's result on its reporter.
    assert_eq!(
        lab.lines("SERVICE ALERT: h5;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-198.51.100.30")
            .len(),
        1,
        "{d}"
    );
    let (_, metrics) = http_get(lab.ex.web, "/metrics");
    for want in [
        "picket_correlator_events_total 4",
        "picket_correlator_incidents_opened_total 1",
        r#"picket_correlator_released_total{reason="hold"} 1"#,
        "picket_correlator_open_incidents 1",
        "picket_api_connection_events_received_total 4",
    ] {
        assert!(metrics.contains(want), "{want} missing in\n{metrics}");
    }
}
