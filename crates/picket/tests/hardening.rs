//! The daemon under stress and misuse, with a real `picket` process on 127.0.0.1:
//! it stops when asked (SIGTERM, SIGINT) with clients connected, keeps NSCA and the
//! command FIFO working when the web port is flooded with idle connections, reports the
//! NSCA receiver's warnings and its own write errors instead of dropping them, and warns
//! about placeholder secrets at start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A `picket` process, SIGKILLed on drop if still running.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"))
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), sig).expect("signal picket");
    }

    /// The exit status if the process ends within `limit`.
    fn wait_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: tempfile::TempDir,
    web: SocketAddr,
    nsca: u16,
}

#[derive(Clone, Copy)]
struct Opts<'a> {
    web: bool,
    nsca: bool,
    history: bool,
    log_file: Option<&'a str>,
    nsca_password: &'a str,
    nsca_method: u8,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            web: true,
            nsca: true,
            history: true,
            log_file: None,
            nsca_password: "a-long-and-random-test-password",
            nsca_method: 1,
        }
    }
}

impl Setup {
    fn new(o: Opts<'_>) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(
            d.join("objects.cfg"),
            "define command {\n command_name ok\n command_line /bin/true\n}\n\
             define contact {\n contact_name a\n service_notification_commands ok\n \
             host_notification_commands ok\n}\n\
             define host {\n host_name web01\n max_check_attempts 1\n contacts a\n \
             active_checks_enabled 0\n}\n\
             define service {\n host_name web01\n service_description TCP Wrappers\n \
             check_command ok\n max_check_attempts 1\n is_volatile 1\n \
             active_checks_enabled 0\n passive_checks_enabled 1\n contacts a\n}\n",
        )
        .expect("objects");
        let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let nsca = free_port();
        let mut main = format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\nlog_passive_checks=1\nlog_external_commands=1\n",
            d.display()
        );
        match o.log_file {
            Some(f) => main.push_str(&format!("log_file={f}\nretain_state_information=0\n")),
            None => main.push_str(&format!(
                "log_file={0}/nagios.log\nretain_state_information=1\n\
                 state_retention_file={0}/retention.dat\nretention_update_interval=60\n",
                d.display()
            )),
        }
        if o.web {
            main.push_str(&format!(
                "web_listen={web}\nweb_token_file={}/web.token\n",
                d.display()
            ));
        }
        if o.history {
            main.push_str(&format!("history_file={}/history.db\n", d.display()));
        }
        if o.nsca {
            main.push_str(&format!("nsca_config_file={}/nsca.cfg\n", d.display()));
            std::fs::write(
                d.join("nsca.cfg"),
                format!(
                    "server_address=127.0.0.1\nserver_port={nsca}\npassword={}\n\
                     decryption_method={}\nmax_packet_age=30\n",
                    o.nsca_password, o.nsca_method
                ),
            )
            .expect("nsca.cfg");
        }
        if o.web {
            std::fs::write(d.join("web.token"), "8f3c1e0b9a7d46e2b5c4a1f0e9d8c7b6\n")
                .expect("token");
        }
        std::fs::write(d.join("picket.cfg"), main).expect("picket.cfg");
        Setup { dir, web, nsca }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn file(&self, f: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.path(f)).unwrap_or_default()).into_owned()
    }

    fn log(&self) -> String {
        self.file("nagios.log")
    }

    /// Start `picket` (through `prefix`, e.g. `prlimit`), stdout and stderr to files,
    /// and wait until the FIFO and the listeners are up.
    fn start_with(&self, prefix: &[&str], o: Opts<'_>) -> Daemon {
        let mut d = self.spawn(prefix);
        wait_for("picket to start", 60, || {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("picket exited at start ({st}): {}", self.file("picket.err"));
            }
            let err = self.file("picket.err");
            self.path("nagios.cmd").exists()
                && (!o.web || err.contains("Web UI and API on"))
                && (!o.nsca || err.contains("Listening for NSCA"))
        });
        d
    }

    /// Start `picket` (through `prefix`), stdout and stderr to files, and do not wait.
    fn spawn(&self, prefix: &[&str]) -> Daemon {
        let out = |name: &str| std::fs::File::create(self.path(name)).expect("output file");
        let picket = env!("CARGO_BIN_EXE_picket");
        let mut cmd = match prefix.split_first() {
            Some((p, rest)) => {
                let mut c = Command::new(p);
                c.args(rest).arg(picket);
                c
            }
            None => Command::new(picket),
        };
        let child = cmd
            .arg(self.path("picket.cfg"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out("picket.out"))
            .stderr(out("picket.err"))
            .spawn()
            .expect("start picket");
        Daemon { child }
    }

    fn start(&self, o: Opts<'_>) -> Daemon {
        self.start_with(&[], o)
    }

    fn fifo_line(&self, line: &str) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path("nagios.cmd"))
            .expect("open fifo");
        writeln!(f, "{line}").expect("write fifo");
    }

    fn get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(self.web).expect("connect web");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.web
        )
        .expect("request");
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        String::from_utf8_lossy(&resp).into_owned()
    }
}

/// A result sent with Picket's NSCA client (the transport of its `send_nsca`).
fn send_nsca(port: u16, password: &str, method: u8, service: &str, output: &str) {
    let method = picket_nsca_proto::Method::from_number(i64::from(method)).expect("method");
    let mut c = picket_nsca::client::Connection::open(
        "127.0.0.1",
        port,
        Instant::now() + Duration::from_secs(10),
        method,
        password.as_bytes(),
        picket_nsca_proto::PacketFormat::V3,
    )
    .expect("connect to the NSCA receiver");
    c.send(&picket_nsca_proto::CheckResult {
        timestamp: 0,
        return_code: 2,
        host_name: b"web01".to_vec(),
        service: service.as_bytes().to_vec(),
        plugin_output: output.as_bytes().to_vec(),
    })
    .expect("send");
    c.finish().expect("finish");
}

/// A TCP connection from the source address `src` (any 127.0.0.0/8 address works on
/// the loopback interface).
fn connect_from(src: [u8; 4], dst: SocketAddr) -> std::io::Result<TcpStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    use std::os::fd::AsRawFd;
    let SocketAddr::V4(dst) = dst else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let src = std::net::SocketAddrV4::new(src.into(), 0);
    bind(fd.as_raw_fd(), &SockaddrIn::from(src))?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(dst))?;
    Ok(TcpStream::from(fd))
}

fn last_lines(log: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.split_once("] ").map_or(*l, |x| x.1).to_owned())
        .collect()
}

fn stops_on(sig: nix::sys::signal::Signal, name: &str) {
    let o = Opts::default();
    let s = Setup::new(o);
    let mut d = s.start(o);
    // An open live-events stream, an idle web connection and an idle NSCA one.
    let mut sse = TcpStream::connect(s.web).expect("sse");
    write!(sse, "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n", s.web).expect("sse request");
    sse.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut head = [0u8; 12];
    sse.read_exact(&mut head).expect("sse answers");
    assert_eq!(&head, b"HTTP/1.1 200", "{}", String::from_utf8_lossy(&head));
    let _idle_web = TcpStream::connect(s.web).expect("idle web");
    let mut idle_nsca = TcpStream::connect(("127.0.0.1", s.nsca)).expect("idle nsca");
    let mut init = [0u8; 132];
    idle_nsca.read_exact(&mut init).expect("init packet");
    // A result in flight: the state must be in the retention file written at exit.
    let t = now();
    s.fifo_line(&format!(
        "[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;before the {name}"
    ));
    wait_for("the result", 20, || s.log().contains("HARD;1;before the"));
    std::fs::remove_file(s.path("retention.dat")).expect("remove the start-up snapshot");

    d.signal(sig);
    let status = d.wait_within(Duration::from_secs(2));
    let log = s.log();
    let status = status
        .unwrap_or_else(|| panic!("picket did not exit within 2 s of SIG{name}; log:\n{log}"));
    assert!(status.success(), "{status}: {}", s.file("picket.err"));
    assert_eq!(
        last_lines(&log, 2),
        [
            format!("Caught SIG{name}, shutting down..."),
            format!("Successfully shutdown... (PID={})", d.child.id()),
        ],
        "{log}"
    );
    let retention = s.file("retention.dat");
    assert!(
        retention.contains(&format!("before the {name}")),
        "{retention}"
    );
    assert!(!s.path("nagios.cmd").exists(), "the FIFO is removed");
}

#[test]
fn sigterm_stops_within_two_seconds_with_clients_connected() {
    stops_on(nix::sys::signal::Signal::SIGTERM, "TERM");
}

#[test]
fn sigint_stops_within_two_seconds_and_is_named_sigint() {
    stops_on(nix::sys::signal::Signal::SIGINT, "INT");
}

/// A SIGTERM as soon as the daemon says it is starting (here, before the start-up snapshot
/// of 20,000 services is written) is a clean stop once the start is done, not a kill: the
/// signal handlers are in place before the daemon shows itself.
#[test]
fn a_sigterm_during_the_start_is_a_clean_stop() {
    let o = Opts {
        web: false,
        nsca: false,
        history: false,
        ..Opts::default()
    };
    let s = Setup::new(o);
    let mut objects = s.file("objects.cfg");
    for i in 0..20_000 {
        objects.push_str(&format!(
            "define service {{\n host_name web01\n service_description s{i}\n \
             check_command ok\n max_check_attempts 1\n active_checks_enabled 0\n \
             contacts a\n}}\n"
        ));
    }
    std::fs::write(s.path("objects.cfg"), objects).expect("objects");
    let mut d = s.spawn(&[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.file("picket.err").contains(" starting... (PID=") {
        if let Ok(Some(st)) = d.child.try_wait() {
            panic!("picket exited at start ({st}): {}", s.file("picket.err"));
        }
        assert!(Instant::now() < deadline, "picket did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    d.signal(nix::sys::signal::Signal::SIGTERM);
    let st = d.wait_within(Duration::from_secs(30)).expect("exits");
    let log = s.log();
    assert!(st.success(), "{st}: {}\n{log}", s.file("picket.err"));
    assert_eq!(
        last_lines(&log, 2),
        [
            "Caught SIGTERM, shutting down...".to_string(),
            format!("Successfully shutdown... (PID={})", d.child.id()),
        ],
        "{log}"
    );
}

/// `picket -d` (daemon(3): fork, setsid, stdio to /dev/null): the parent exits 0, and the
/// child runs on a runtime of its own, which a runtime built before the fork would not be
/// (its threads stay in the parent): its web server answers, its FIFO is read, and SIGTERM
/// to the PID in `lock_file` stops it cleanly.
#[test]
fn daemon_mode_serves_and_stops_on_sigterm() {
    let o = Opts {
        nsca: false,
        history: false,
        ..Opts::default()
    };
    let s = Setup::new(o);
    let lock = s.path("picket.lock");
    let cfg = s.file("picket.cfg") + &format!("lock_file={}\n", lock.display());
    std::fs::write(s.path("picket.cfg"), cfg).expect("picket.cfg");
    let mut parent = Daemon {
        child: Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg("-d")
            .arg(s.path("picket.cfg"))
            .current_dir(s.dir.path())
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(s.path("picket.err")).expect("stderr file"))
            .spawn()
            .expect("start picket -d"),
    };
    let st = parent
        .wait_within(Duration::from_secs(30))
        .expect("the parent exits");
    assert!(st.success(), "{st}: {}", s.file("picket.err"));
    let mut pid = 0;
    wait_for("the daemon's PID in lock_file", 30, || {
        pid = s.file("picket.lock").trim().parse().unwrap_or(0);
        pid > 0
    });
    let pid = nix::unistd::Pid::from_raw(pid);
    /// SIGKILL for the daemon if the test fails before it stops.
    struct Kill(nix::unistd::Pid);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(self.0, nix::sys::signal::Signal::SIGKILL);
        }
    }
    let _kill = Kill(pid);
    assert_ne!(pid.as_raw(), i32::try_from(parent.child.id()).expect("pid"));
    wait_for("the web server", 30, || TcpStream::connect(s.web).is_ok());
    wait_for("the FIFO", 30, || s.path("nagios.cmd").exists());
    let t = now();
    s.fifo_line(&format!(
        "[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;from a daemonized picket"
    ));
    wait_for("the result", 20, || {
        s.log().contains("HARD;1;from a daemonized picket")
    });
    let metrics = s.get("/metrics");
    assert!(metrics.contains("HTTP/1.1 200"), "{metrics}");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal picket");
    wait_for("the clean stop in nagios.log", 10, || {
        last_lines(&s.log(), 2)
            == [
                "Caught SIGTERM, shutting down...".to_string(),
                format!("Successfully shutdown... (PID={pid})"),
            ]
    });
    // Gone, or a zombie until whoever adopted it reaps it.
    wait_for("the daemon to exit", 10, || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |st| {
            st.rsplit_once(") ")
                .is_some_and(|(_, r)| r.starts_with('Z'))
        })
    });
}

#[test]
fn a_bad_crc_is_logged_with_the_peer_and_counted() {
    let o = Opts {
        nsca_method: 0,
        history: false,
        ..Opts::default()
    };
    let s = Setup::new(o);
    let _d = s.start(o);
    let mut c = TcpStream::connect(("127.0.0.1", s.nsca)).expect("connect");
    let peer = c.local_addr().expect("local addr");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut init = [0u8; 132];
    c.read_exact(&mut init).expect("init packet");
    let mut packet = vec![0u8; picket_nsca_proto::PacketFormat::V3.packet_len()];
    picket_nsca_proto::CheckResult {
        timestamp: u32::from_be_bytes([init[128], init[129], init[130], init[131]]),
        return_code: 2,
        host_name: b"web01".to_vec(),
        service: b"TCP Wrappers".to_vec(),
        plugin_output: b"forged".to_vec(),
    }
    .encode_into(picket_nsca_proto::PacketFormat::V3, &mut packet)
    .expect("encode");
    // Method 0 sends the packet in clear: change a byte after the CRC was computed.
    let last = packet.len() - 1;
    packet[last] ^= 0x55;
    c.write_all(&packet).expect("send");
    wait_for("the warning in nagios.log", 20, || {
        s.log().lines().any(|l| {
            l.contains("Warning: NSCA: ") && l.contains(&peer.to_string()) && l.contains("CRC")
        })
    });
    assert!(!s.log().contains("forged"), "{}", s.log());
    let metrics = s.get("/metrics");
    assert!(
        metrics.contains("picket_errors_total{kind=\"nsca\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn a_log_that_cannot_be_written_is_reported_and_the_daemon_goes_on() {
    let o = Opts {
        web: false,
        nsca: false,
        history: false,
        log_file: Some("/dev/full"),
        ..Opts::default()
    };
    let s = Setup::new(o);
    let mut d = s.start(o);
    let t = now();
    s.fifo_line(&format!(
        "[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;lost?"
    ));
    wait_for("the write error on stderr", 20, || {
        s.file("picket.err")
            .contains("picket: Error: cannot write the log file: No space left on device")
    });
    d.signal(nix::sys::signal::Signal::SIGTERM);
    let st = d.wait_within(Duration::from_secs(10)).expect("exits");
    assert!(st.success(), "{st}");
}

/// The web port flooded with idle connections past the open-file limit: the web server
/// takes only its share, NSCA results and FIFO lines still reach nagios.log.
#[test]
fn idle_web_connections_cannot_starve_nsca_or_the_fifo() {
    let prlimit = Path::new("/usr/bin/prlimit");
    if !prlimit.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit (util-linux) is required under CI"
        );
        eprintln!("SKIP: no prlimit");
        return;
    }
    let o = Opts::default();
    let s = Setup::new(o);
    let d = s.start_with(&["/usr/bin/prlimit", "--nofile=256:512", "--"], o);
    let err = s.file("picket.err");
    assert!(
        err.contains("Raised the open-file limit (RLIMIT_NOFILE) from 256 to the hard limit 512"),
        "{err}"
    );
    assert!(err.contains("Open files: limit 512"), "{err}");
    // nagios.log keeps Nagios' content.
    assert!(!s.log().contains("open-file limit"), "{}", s.log());
    // More idle connections than the soft limit picket started with, from twelve source
    // addresses (as an attacker with a few machines: a per-source cap alone is no help).
    let mut idle = Vec::new();
    for src in 1..=12u8 {
        for _ in 0..28 {
            match connect_from([127, 0, 0, src], s.web) {
                Ok(c) => idle.push(c),
                Err(e) => panic!("connect from 127.0.0.{src}: {e}"),
            }
        }
    }
    assert!(idle.len() > 256, "only {} connections", idle.len());
    send_nsca(
        s.nsca,
        o.nsca_password,
        o.nsca_method,
        "TCP Wrappers",
        "through NSCA while the web port is flooded",
    );
    let t = now();
    s.fifo_line(&format!(
        "[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;1;through the FIFO while flooded"
    ));
    wait_for("both results in nagios.log", 20, || {
        let log = s.log();
        log.contains("CRITICAL;HARD;1;through NSCA while the web port is flooded")
            && log.contains("WARNING;HARD;1;through the FIFO while flooded")
    });
    // The web server took only its share: the daemon stays under its limit.
    let fds = std::fs::read_dir(format!("/proc/{}/fd", d.child.id()))
        .map(|r| r.count())
        .unwrap_or(0);
    assert!(fds < 512, "{fds} descriptors open");
    drop(idle);
}

#[test]
fn placeholder_secrets_are_warned_about_and_a_missing_token_is_created() {
    let o = Opts {
        nsca_password: "change-me",
        history: false,
        ..Opts::default()
    };
    let s = Setup::new(o);
    std::fs::remove_file(s.path("web.token")).expect("no token file");
    let d = s.start(o);
    let err = s.file("picket.err");
    let log = s.log();
    for text in [&err, &log] {
        assert!(
            text.contains("Warning: ")
                && text.contains("the NSCA password is the placeholder 'change-me'"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "Created web_token_file {} with a new random token (mode 0600)",
                s.path("web.token").display()
            )),
            "{text}"
        );
    }
    let token = s.file("web.token");
    assert_eq!(token.trim().len(), 64, "{token}");
    assert!(!log.contains(token.trim()), "the token is not logged");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.path("web.token"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(d);

    // A placeholder token in an existing file is warned about; a good one is not.
    std::fs::write(s.path("web.token"), "change-me-too\n").expect("token");
    let o = Opts {
        history: false,
        ..Opts::default()
    };
    let _ = std::fs::remove_file(s.path("nagios.cmd"));
    let d = s.start(o);
    let err = s.file("picket.err");
    assert!(err.contains("the token is a placeholder"), "{err}");
    drop(d);
}

/// SIGHUP with a live-events subscriber connected: the daemon re-executes itself (it
/// used to hang, as at SIGTERM) and serves again.
#[test]
fn sighup_restarts_with_clients_connected() {
    let o = Opts::default();
    let s = Setup::new(o);
    let mut d = s.start(o);
    let mut sse = TcpStream::connect(s.web).expect("sse");
    write!(sse, "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n", s.web).expect("sse request");
    sse.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut head = [0u8; 12];
    sse.read_exact(&mut head).expect("sse answers");
    d.signal(nix::sys::signal::Signal::SIGHUP);
    wait_for("the restart", 20, || {
        let log = s.log();
        log.contains("Caught SIGHUP, restarting...")
            && log.matches("LOG VERSION").count() == 2
            && s.file("picket.err").matches("Web UI and API on").count() == 2
    });
    let status = s.get("/api/status");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    d.signal(nix::sys::signal::Signal::SIGTERM);
    let st = d
        .wait_within(Duration::from_secs(2))
        .expect("exits after the restart");
    assert!(st.success(), "{st}");
}

/// The hang did not need everything: `history_file=` alone or `web_listen=` alone (each
/// starts the history thread) was enough.
#[test]
fn sigterm_stops_with_only_history_or_only_web() {
    for (web, history) in [(false, true), (true, false)] {
        let o = Opts {
            web,
            history,
            nsca: false,
            ..Opts::default()
        };
        let s = Setup::new(o);
        let mut d = s.start(o);
        d.signal(nix::sys::signal::Signal::SIGTERM);
        let st = d
            .wait_within(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("web={web} history={history}: no exit within 2 s"));
        assert!(st.success(), "{st}");
        assert_eq!(
            last_lines(&s.log(), 1),
            [format!("Successfully shutdown... (PID={})", d.child.id())]
        );
    }
}

/// The journal on a full file system (a 64 KiB tmpfs in a private mount namespace):
/// the inputs are processed all the same, and the failure is an error in nagios.log
/// (the documented choice), not silence. Needs root for the mount, as the TCP-wrappers
/// oracle does.
#[test]
fn a_journal_that_cannot_be_written_is_logged_and_the_input_still_processed() {
    let root = nix::unistd::Uid::effective().is_root();
    let unshare = Path::new("/usr/bin/unshare").exists();
    if !root || !unshare {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test needs root and unshare (util-linux) under CI"
        );
        eprintln!("SKIP: needs root and unshare for a private tmpfs");
        return;
    }
    let o = Opts {
        web: false,
        nsca: false,
        history: false,
        ..Opts::default()
    };
    let s = Setup::new(o);
    let full = s.path("full");
    std::fs::create_dir(&full).expect("mkdir");
    let cfg = s.file("picket.cfg").replace(
        &format!("state_retention_file={}", s.path("retention.dat").display()),
        &format!("state_retention_file={}/retention.dat", full.display()),
    );
    std::fs::write(s.path("picket.cfg"), cfg).expect("picket.cfg");
    let script = format!(
        "mount -t tmpfs -o size=64k none '{}' && exec \"$0\" \"$@\"",
        full.display()
    );
    let mut d = s.start_with(&["/usr/bin/unshare", "-m", "sh", "-c", &script], o);
    // ~100 KiB of results: more than the file system holds.
    let t = now();
    let pad = "x".repeat(200);
    let lines: Vec<String> = (0..500)
        .map(|i| {
            format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;result {i} {pad}")
        })
        .collect();
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(s.path("nagios.cmd"))
            .expect("open fifo");
        for l in &lines {
            writeln!(f, "{l}").expect("write fifo");
        }
    }
    wait_for("the last result and the journal error", 20, || {
        let log = s.log();
        log.contains("HARD;1;result 499 ")
            && log.contains("Error: could not write the retention journal: No space left on device")
    });
    d.signal(nix::sys::signal::Signal::SIGTERM);
    let st = d.wait_within(Duration::from_secs(5)).expect("exits");
    assert!(st.success(), "{st}");
    let log = s.log();
    assert!(
        log.contains("Error: could not save retention data"),
        "the failed snapshot at shutdown is said too:\n{log}"
    );
}
