//! The seed's recipe, end to end, with real processes on loopback:
//!
//! ```text
//! client ──> tcpd --listen (hosts.allow: 127.0.0.1; hosts.deny: the seed's twist rule)
//!              └─ refused: handle_tcp_wrapper %h %d ─> submit_check_result ─> send_nsca
//!                   ══ NSCA (AES) ══> picket (built in)      ─> SERVICE ALERT + notification
//!                   ══ NSCA (AES) ══> nsca ─> FIFO ─> picket ─>   + history row + web API
//! ```
//!
//! The example configuration (`examples/tcp-wrappers/`) and its scripts are
//! used as shipped; only paths and ports are set (ports in copies of the
//! config files, the scripts' settings through their environment).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
use picket_e2e::{Example, Nsca, Proc, bin, get_json, http_get, repo, wait_for};

fn debian_send_nsca() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/sbin/send_nsca");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "/usr/sbin/send_nsca is missing: CI must install nsca-client"
    );
    eprintln!("SKIP: Debian send_nsca not installed; the Debian-client run is skipped");
    None
}

struct System {
    ex: Example,
    web: SocketAddr,
    _picket: Proc,
    _nsca: Option<Proc>,
    _tcpd: Proc,
    tcpd_addr: SocketAddr,
}

impl System {
    fn start(send_nsca: &Path, mode: Nsca) -> System {
        let ex = Example::new(mode);
        let d = ex.dir.path();
        let example = Example::source();
        // The monitor: picket on the example configuration.
        let picket = ex.start_picket();
        // In front of it, the NSCA daemon, unless picket listens itself.
        let nsca = (mode == Nsca::Standalone).then(|| {
            Proc(
                Command::new(bin("nsca"))
                    .args(["-f", "-c"])
                    .arg(d.join("nsca.cfg"))
                    .stdin(Stdio::null())
                    .stderr(std::fs::File::create(d.join("nsca.err")).expect("err"))
                    .spawn()
                    .expect("start nsca"),
            )
        });
        let nsca_port = ex.nsca_port;
        wait_for("NSCA listening", 20, || {
            TcpStream::connect(("127.0.0.1", nsca_port)).is_ok()
        });
        // tcpd guarding an echo service with the seed's rules.
        std::fs::write(d.join("hosts.allow"), "ALL: 127.0.0.1\n").expect("allow");
        std::fs::write(
            d.join("hosts.deny"),
            format!(
                "ALL: ALL: RFC931: twist ({} %h %d)&\n",
                example.join("handle_tcp_wrapper").display()
            ),
        )
        .expect("deny");
        let mut tcpd = Command::new(bin("tcpd"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--print-addr")
            .arg("--allow")
            .arg(d.join("hosts.allow"))
            .arg("--deny")
            .arg(d.join("hosts.deny"))
            .arg("--log-file")
            .arg(d.join("tcpd.log"))
            .args(["--", "/bin/cat"])
            .env("PICKET_HOST_NAME", "firestorm")
            .env("SEND_NSCA", send_nsca)
            .env("NSCA_HOST", "127.0.0.1")
            .env("NSCA_PORT", nsca_port.to_string())
            .env("SEND_NSCA_CFG", example.join("send_nsca.cfg"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(d.join("tcpd.err")).expect("err"))
            .spawn()
            .expect("start tcpd");
        let mut line = String::new();
        let mut out = tcpd.stdout.take().expect("tcpd stdout");
        let mut byte = [0u8; 1];
        while out.read(&mut byte).map(|n| n == 1).unwrap_or(false) && byte[0] != b'\n' {
            line.push(byte[0] as char);
        }
        let tcpd_addr: SocketAddr = line
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("tcpd --print-addr printed {line:?}: {e}"));
        System {
            web: ex.web,
            ex,
            _picket: picket,
            _nsca: nsca,
            _tcpd: Proc(tcpd),
            tcpd_addr,
        }
    }

    fn file(&self, name: &str) -> String {
        self.ex.file(name)
    }

    fn alerts(&self) -> Vec<String> {
        self.ex.alerts()
    }

    fn notifications(&self) -> Vec<String> {
        self.ex.notifications()
    }

    fn diagnostics(&self) -> String {
        [
            "picket.err",
            "nsca.err",
            "tcpd.err",
            "tcpd.log",
            "picket.out",
            "var/picket.log",
        ]
        .iter()
        .map(|f| format!("--- {f}\n{}", self.file(f)))
        .collect()
    }

    /// Connects from `source` (a loopback address), sends `data`, returns what came back.
    fn connect_from(&self, source: [u8; 4], data: &[u8]) -> Vec<u8> {
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
        let SocketAddr::V4(target) = self.tcpd_addr else {
            panic!("tcpd not on IPv4")
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
}

fn seed_recipe(send_nsca: &Path, mode: Nsca) {
    let sys = System::start(send_nsca, mode);
    // Allowed: echoed, nothing raised.
    assert_eq!(sys.connect_from([127, 0, 0, 1], b"hello\n"), b"hello\n");
    // Refused: twisted to the handler, which reports the denial.
    let _ = sys.connect_from([127, 0, 0, 2], b"let me in\n");
    wait_for("the alert", 30, || !sys.alerts().is_empty());
    wait_for("the notification", 30, || !sys.notifications().is_empty());
    assert_eq!(
        sys.alerts(),
        vec![
            "SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied cat-127.0.0.2"
                .to_string()
        ],
        "{}",
        sys.diagnostics()
    );
    let n = sys.notifications();
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(
        n[0].ends_with(
            "PROBLEM firestorm/TCP Wrappers is CRITICAL: Denied cat-127.0.0.2 (to admin)"
        ),
        "{n:?}"
    );
    // The service's state in the API.
    let status = get_json(sys.web, "/api/problems");
    let svc = &status["services"][0];
    assert_eq!(svc["host"], "firestorm", "{status}");
    assert_eq!(svc["description"], "TCP Wrappers");
    assert_eq!(svc["state"], 2);
    assert_eq!(svc["output"], "Denied cat-127.0.0.2");
    // The alert and the notification (with its command's exit status) in the history.
    let mut rows = serde_json::Value::Null;
    wait_for("the notification's outcome in the history", 30, || {
        rows = get_json(sys.web, "/api/log?kind=all");
        rows.as_array().is_some_and(|r| {
            r.iter()
                .any(|x| x["kind"] == "service_notification" && x["exit_status"] == "ok")
        })
    });
    let rows = rows.as_array().expect("rows");
    let alert = rows
        .iter()
        .find(|r| r["kind"] == "service_alert")
        .unwrap_or_else(|| panic!("no alert row: {rows:?}"));
    assert_eq!(alert["host"], "firestorm");
    assert_eq!(alert["service"], "TCP Wrappers");
    assert_eq!(alert["state"], "CRITICAL");
    assert_eq!(alert["state_type"], "HARD");
    assert_eq!(alert["output"], "Denied cat-127.0.0.2");
    let notif = rows
        .iter()
        .find(|r| r["kind"] == "service_notification")
        .expect("notification row");
    assert_eq!(notif["contact"], "admin");
    assert_eq!(notif["exit_code"], 0);
    // The denial in the Denied-connections view, and on the UI's page.
    let denied = get_json(sys.web, "/api/denied");
    assert_eq!(denied.as_array().map(Vec::len), Some(1), "{denied}");
    assert_eq!(denied[0]["addr"], "127.0.0.2");
    assert_eq!(denied[0]["count"], 1);
    assert_eq!(denied[0]["hosts"][0], "firestorm");
    let (code, page) = http_get(sys.web, "/denied");
    assert_eq!(code, 200);
    assert!(page.contains("127.0.0.2"), "{page}");
}

#[test]
fn seed_recipe_built_in_nsca_with_picket_send_nsca() {
    seed_recipe(&bin("send_nsca"), Nsca::BuiltIn);
}

#[test]
fn seed_recipe_built_in_nsca_with_debian_send_nsca() {
    if let Some(p) = debian_send_nsca() {
        seed_recipe(&p, Nsca::BuiltIn);
    }
}

#[test]
fn seed_recipe_through_nsca_daemon_and_fifo() {
    seed_recipe(&bin("send_nsca"), Nsca::Standalone);
    if let Some(p) = debian_send_nsca() {
        seed_recipe(&p, Nsca::Standalone);
    }
}

#[test]
fn ten_denials_from_three_sources_alert_and_notify_ten_times_in_order() {
    let sys = System::start(&bin("send_nsca"), Nsca::BuiltIn);
    let sources: [[u8; 4]; 10] = [
        [127, 0, 0, 2],
        [127, 0, 0, 3],
        [127, 0, 0, 4],
        [127, 0, 0, 2],
        [127, 0, 0, 3],
        [127, 0, 0, 4],
        [127, 0, 0, 2],
        [127, 0, 0, 3],
        [127, 0, 0, 4],
        [127, 0, 0, 2],
    ];
    // All ten refusals at once (well within a second): each handler runs in
    // the background, so they reach the monitor in whatever order the
    // handlers finish; every one must alert and notify, in that order.
    let started = Instant::now();
    for s in sources {
        let _ = sys.connect_from(s, b"x");
    }
    eprintln!("ten refused connections in {:?}", started.elapsed());
    wait_for("ten alerts", 60, || sys.alerts().len() >= 10);
    wait_for("ten notifications", 60, || sys.notifications().len() >= 10);
    let alerts = sys.alerts();
    assert_eq!(alerts.len(), 10, "{}", sys.diagnostics());
    let addr_of = |s: &str| s.rsplit('-').next().map(str::to_string).unwrap_or_default();
    let mut got: Vec<String> = alerts.iter().map(|a| addr_of(a)).collect();
    for a in &alerts {
        assert!(
            a.starts_with("SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied cat-"),
            "{a}"
        );
    }
    // The engine logs the notifications in the order of the alerts...
    let logged: Vec<String> = sys
        .file("var/picket.log")
        .lines()
        .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
        .filter(|l| l.starts_with("SERVICE NOTIFICATION: admin;firestorm;TCP Wrappers;"))
        .map(addr_of)
        .collect();
    assert_eq!(logged, got, "notifications not logged in alert order");
    // ...and runs their commands concurrently (as Nagios forks them), so the lines the
    // commands wrote are the same ones, in any order.
    let mut notifs: Vec<String> = sys
        .notifications()
        .iter()
        .map(|n| {
            n.trim_end_matches(" (to admin)")
                .rsplit('-')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let mut alerted = got.clone();
    notifs.sort();
    alerted.sort();
    assert_eq!(
        notifs, alerted,
        "the notification commands wrote other lines"
    );
    let mut want: Vec<String> = sources
        .iter()
        .map(|s| format!("{}.{}.{}.{}", s[0], s[1], s[2], s[3]))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // The Denied-connections view: three sources, counted right.
    let mut denied = serde_json::Value::Null;
    wait_for("ten denials in the history", 30, || {
        denied = get_json(sys.web, "/api/denied");
        denied
            .as_array()
            .is_some_and(|d| d.iter().filter_map(|x| x["count"].as_u64()).sum::<u64>() == 10)
    });
    let mut counts: Vec<(String, u64)> = denied
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["addr"].as_str().unwrap_or_default().to_string(),
                d["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("127.0.0.2".to_string(), 4),
            ("127.0.0.3".to_string(), 3),
            ("127.0.0.4".to_string(), 3)
        ],
        "{denied}"
    );
}

/// Node, the Playwright driver (`npm ci --prefix tests/browser`) and Chromium, or `None`
/// outside CI when one is missing (CI installs them and fails without them).
fn browser_tools(script: &str) -> Option<PathBuf> {
    let script = repo().join("tests/browser").join(script);
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let missing: Vec<&str> = [
        (
            "node",
            Command::new("node")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
        ),
        (
            "tests/browser/node_modules (npm ci --prefix tests/browser)",
            repo()
                .join("tests/browser/node_modules/playwright-core")
                .exists(),
        ),
        ("chromium", chromium.exists()),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(what, _)| what)
    .collect();
    if missing.is_empty() {
        return Some(script);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "browser test needs {missing:?}: CI must install them (.ci/run)"
    );
    eprintln!("SKIP: browser test needs {missing:?}");
    None
}

/// A process in a group of its own, killed with its children (the browser) on drop.
struct Group(Child);
impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.0.wait();
    }
}

#[test]
fn browser_sees_the_denial_appear_live() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let Some(script) = browser_tools("live_alert.mjs") else {
        return;
    };
    let sys = System::start(&bin("send_nsca"), Nsca::BuiltIn);
    let out_dir = repo().join("test-output/browser");
    std::fs::create_dir_all(&out_dir).expect("test-output/browser");
    let shot = out_dir.join("live-alert.png");
    let _ = std::fs::remove_file(&shot);
    let mut node = Group(
        Command::new("node")
            .arg(&script)
            .arg(format!("http://{}", sys.web))
            .arg("Denied cat-127.0.0.3")
            .arg(&shot)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(sys.ex.dir.path().join("browser.err")).expect("err"))
            .process_group(0)
            .spawn()
            .expect("start node"),
    );
    let stdout = node.0.stdout.take().expect("stdout");
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(l).is_err() {
                break;
            }
        }
    });
    let browser_err = || {
        format!(
            "--- browser.err\n{}\n{}",
            sys.file("browser.err"),
            sys.diagnostics()
        )
    };
    let ready = lines.recv_timeout(Duration::from_secs(60));
    assert_eq!(
        ready.as_deref(),
        Ok("READY"),
        "the UI's live stream did not connect\n{}",
        browser_err()
    );
    // The page is loaded and listening: now a host refuses a connection.
    let _ = sys.connect_from([127, 0, 0, 3], b"x");
    let seen = lines.recv_timeout(Duration::from_secs(60));
    assert_eq!(
        seen.as_deref(),
        Ok("SEEN"),
        "the alert did not appear live\n{}",
        browser_err()
    );
    let mut status = None;
    wait_for("the browser to exit", 30, || {
        status = node.0.try_wait().ok().flatten();
        status.is_some()
    });
    assert!(status.is_some_and(|s| s.success()), "{}", browser_err());
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG: {}", shot.display());
    eprintln!("screenshot: {}", shot.display());
}

/// One tab clicks through nine pages (each one's live stream must connect: a stream that
/// outlived its page used to freeze the seventh), then posts the command and login forms
/// with `back=` values a browser resolves to another origin: each must land on Picket's `/`.
#[test]
fn browser_survives_many_navigations_and_hostile_back_links() {
    use std::os::unix::process::CommandExt;
    let Some(script) = browser_tools("hardening.mjs") else {
        return;
    };
    let sys = System::start(&bin("send_nsca"), Nsca::BuiltIn);
    let token = sys
        .file("web.token")
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    assert!(!token.is_empty(), "the example's web.token is empty");
    let out_dir = repo().join("test-output/browser");
    std::fs::create_dir_all(&out_dir).expect("test-output/browser");
    let shot = out_dir.join("hardening.png");
    let _ = std::fs::remove_file(&shot);
    let err = sys.ex.dir.path().join("browser.err");
    let mut node = Group(
        Command::new("node")
            .arg(&script)
            .arg(format!("http://{}", sys.web))
            .arg(&token)
            .arg(&shot)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(sys.ex.dir.path().join("browser.out")).expect("out"))
            .stderr(std::fs::File::create(&err).expect("err"))
            .process_group(0)
            .spawn()
            .expect("start node"),
    );
    let mut status = None;
    wait_for("the browser script to finish", 240, || {
        status = node.0.try_wait().ok().flatten();
        status.is_some()
    });
    let report = || {
        format!(
            "--- browser.out\n{}\n--- browser.err\n{}\n{}",
            sys.file("browser.out"),
            sys.file("browser.err"),
            sys.diagnostics()
        )
    };
    assert!(status.is_some_and(|s| s.success()), "{}", report());
    assert!(
        sys.file("browser.out").contains("NAVIGATED\nOK"),
        "{}",
        report()
    );
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG: {}", shot.display());
}

/// Scan incidents as the detection writes them to `nagios.log` (contract C1): sweeps, a
/// vertical scan, a trap touch, a distributed scan, with a hostile reporter name. Times
/// are relative to `now`; the lines are returned in log order.
fn incident_fixture(now: i64) -> Vec<String> {
    let mut lines: Vec<(i64, String)> = Vec::new();
    let mut conn = |t: i64,
                    reporter: &str,
                    source: &str,
                    port: u16,
                    daemon: &str,
                    kind: &str,
                    count: u32| {
        lines.push((
            t,
            format!(
                "[{t}] CONNECTION EVENT: {t};{reporter};{source};tcp;{port};{daemon};{kind};{count};refused connect from {source} to port {port}"
            ),
        ));
    };
    // 1. A sweep of twelve hosts on tcp/22, two hours ago (closed after 30 quiet minutes).
    let hosts = [
        "web1", "web2", "web3", "web4", "web5", "web6", "db1", "db2", "mail", "gw", "backup", "dns",
    ];
    let t1 = now - 7200;
    for (i, h) in hosts.iter().enumerate() {
        conn(
            t1 + 4 * i as i64,
            h,
            "203.0.113.5",
            22,
            "sshd",
            "refused",
            1,
        );
    }
    // 2. The same source again, forty minutes ago: a vertical scan of db1 (with
    // firewall drops), password guessing on mail, then a trap port.
    let t2 = now - 2400;
    let ports = [
        21, 22, 23, 25, 80, 110, 143, 443, 445, 993, 3306, 3389, 5432, 8080,
    ];
    for (i, p) in ports.iter().enumerate() {
        let kind = if i % 3 == 2 {
            "firewall_drop"
        } else {
            "refused"
        };
        conn(
            t2 + 3 * i as i64,
            "db1",
            "203.0.113.5",
            *p,
            "-",
            kind,
            1 + (i as u32 % 4),
        );
    }
    for i in 0..6 {
        conn(
            t2 + 300 + 40 * i,
            "mail",
            "203.0.113.5",
            25,
            "smtpd",
            "auth_fail",
            3 + i as u32,
        );
    }
    conn(t2 + 700, "gw", "203.0.113.5", 2222, "-", "trap", 1);
    // 3. A trap touch from another source, reported by a host with a hostile name.
    let t3 = now - 600;
    conn(
        t3,
        "<img src=x onerror=alert(1)>",
        "198.51.100.23",
        2323,
        "-",
        "trap",
        1,
    );
    conn(t3 + 20, "gw", "198.51.100.23", 2323, "-", "trap", 2);
    // 4. Five sources of one /24 on tcp/3389 across five hosts, within a minute.
    let t4 = now - 5400;
    for i in 0..5 {
        conn(
            t4 + 9 * i,
            hosts[i as usize],
            &format!("192.0.2.{}", 10 + i),
            3389,
            "-",
            "firewall_drop",
            1,
        );
    }
    let mut inc = |t: i64,
                   id: u64,
                   tr: &str,
                   key: &str,
                   det: &str,
                   counts: (u64, u64, u64, u64),
                   span: (i64, i64),
                   rec: u8,
                   hosts: &str,
                   ports: &str,
                   daemons: &str,
                   out: &str| {
        let (ev, hc, pc, sc) = counts;
        lines.push((
            t,
            format!("[{t}] SCAN INCIDENT: {id};{tr};{key};{det};{ev};{hc};{pc};{sc};{};{};{rec};{hosts};{ports};{daemons};{out}", span.0, span.1),
        ));
    };
    let since = |t: i64| {
        let s = t.rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    };
    let h12 = "web1,web2,web3,web4,web5,web6,db1,db2";
    let o1 = format!(
        "203.0.113.5 scanned 12 hosts on tcp/22 (web1, web2, web3, ...) since {}",
        since(t1)
    );
    inc(
        t1 + 8,
        1,
        "opened",
        "203.0.113.5",
        "horizontal",
        (3, 3, 1, 1),
        (t1, t1 + 8),
        0,
        "web1,web2,web3",
        "tcp/22",
        "sshd",
        &o1,
    );
    inc(
        t1 + 44,
        1,
        "updated",
        "203.0.113.5",
        "horizontal",
        (12, 12, 1, 1),
        (t1, t1 + 44),
        0,
        h12,
        "tcp/22",
        "sshd",
        &o1,
    );
    inc(
        t4 + 36,
        2,
        "opened",
        "192.0.2.0/24",
        "distributed",
        (5, 5, 1, 5),
        (t4, t4 + 36),
        0,
        "web1,web2,web3,web4,web5",
        "tcp/3389",
        "",
        "5 sources of 192.0.2.0/24 on tcp/3389 across 5 hosts",
    );
    inc(
        t4 + 1836,
        2,
        "closed",
        "192.0.2.0/24",
        "distributed",
        (5, 5, 1, 5),
        (t4, t4 + 36),
        0,
        "web1,web2,web3,web4,web5",
        "tcp/3389",
        "",
        "quiet for 30 min",
    );
    inc(
        t1 + 1844,
        1,
        "closed",
        "203.0.113.5",
        "horizontal",
        (12, 12, 1, 1),
        (t1, t1 + 44),
        0,
        h12,
        "tcp/22",
        "sshd",
        &o1,
    );
    let o3 = format!("203.0.113.5 scanned 14 ports on db1 since {}", since(t2));
    inc(
        t2 + 9,
        3,
        "opened",
        "203.0.113.5",
        "vertical",
        (4, 1, 4, 1),
        (t2, t2 + 9),
        1,
        "db1",
        "tcp/21,tcp/22,tcp/23,tcp/25",
        "",
        &o3,
    );
    inc(
        t2 + 700,
        3,
        "escalated",
        "203.0.113.5",
        "vertical,trap",
        (35, 3, 16, 1),
        (t2, t2 + 700),
        1,
        "db1,mail,gw",
        "tcp/21,tcp/22,tcp/23,tcp/25,tcp/80,tcp/110,tcp/143,tcp/443",
        "smtpd",
        &o3,
    );
    inc(
        t3,
        4,
        "opened",
        "198.51.100.23",
        "trap",
        (1, 1, 1, 1),
        (t3, t3),
        0,
        "<img src=x onerror=alert(1)>",
        "tcp/2323",
        "",
        "198.51.100.23 touched trap port tcp/2323",
    );
    inc(
        t3 + 20,
        4,
        "updated",
        "198.51.100.23",
        "trap",
        (2, 2, 1, 1),
        (t3, t3 + 20),
        0,
        "<img src=x onerror=alert(1)>,gw",
        "tcp/2323",
        "",
        "198.51.100.23 touched trap port tcp/2323",
    );
    lines.sort_by_key(|(t, _)| *t);
    lines.into_iter().map(|(_, l)| l).collect()
}

/// The Incidents page, a source page with its timeline and an incident page in Chromium,
/// on a picket whose log already holds detection lines (the history thread reads the log
/// from its start); screenshots in test-output/browser/.
#[test]
fn browser_shows_incidents_and_a_source_timeline() {
    use std::os::unix::process::CommandExt;
    let Some(script) = browser_tools("incidents.mjs") else {
        return;
    };
    let ex = Example::new(Nsca::BuiltIn);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut log = incident_fixture(now).join("\n");
    log.push('\n');
    std::fs::write(ex.path("var/picket.log"), log).expect("picket.log");
    let _picket = ex.start_picket();
    let web = ex.web;
    wait_for("the incidents in the history", 30, || {
        get_json(web, "/api/incidents")
            .as_array()
            .is_some_and(|a| a.len() == 4)
    });
    let out_dir = repo().join("test-output/browser");
    std::fs::create_dir_all(&out_dir).expect("test-output/browser");
    let shots = [
        "incidents.png",
        "source.png",
        "timeline.png",
        "incident.png",
    ];
    for f in shots {
        let _ = std::fs::remove_file(out_dir.join(f));
    }
    let mut node = Group(
        Command::new("node")
            .arg(&script)
            .arg(format!("http://{web}"))
            .arg(&out_dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(ex.path("browser.out")).expect("out"))
            .stderr(std::fs::File::create(ex.path("browser.err")).expect("err"))
            .process_group(0)
            .spawn()
            .expect("start node"),
    );
    let mut status = None;
    wait_for("the browser script to finish", 120, || {
        status = node.0.try_wait().ok().flatten();
        status.is_some()
    });
    let report = || {
        format!(
            "--- browser.out\n{}\n--- browser.err\n{}\n--- picket.err\n{}",
            ex.file("browser.out"),
            ex.file("browser.err"),
            ex.file("picket.err")
        )
    };
    assert!(status.is_some_and(|s| s.success()), "{}", report());
    assert_eq!(ex.file("browser.out").trim(), "OK", "{}", report());
    for f in shots {
        let png = std::fs::read(out_dir.join(f)).expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{f} is not a PNG");
        eprintln!("screenshot: {}", out_dir.join(f).display());
    }
}
