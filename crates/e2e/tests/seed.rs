//! The seed's recipe, end to end, with real processes on loopback:
//!
//! ```text
//! client ──> tcpd --listen (hosts.allow: 127.0.0.1; hosts.deny: the seed's twist rule)
//!              └─ refused: handle_tcp_wrapper %h %d ─> submit_check_result ─> send_nsca
//!                   ══ NSCA (AES) ══> nsca ─> FIFO ─> picket ─> SERVICE ALERT + notification
//! ```
//!
//! The example configuration (`examples/tcp-wrappers/`) and its scripts are
//! used as shipped; only paths and ports are set through the environment.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A binary of the workspace, next to this test's `deps/` directory.
fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo test --workspace` (or `cargo build` first)",
        p.display()
    );
    p
}

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct System {
    dir: tempfile::TempDir,
    _picket: Proc,
    _nsca: Option<Proc>,
    _tcpd: Proc,
    tcpd_addr: SocketAddr,
}

/// How results reach the monitor.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nsca {
    /// `picket` listens for NSCA itself (`nsca_config_file=` in picket.cfg).
    BuiltIn,
    /// The `nsca` daemon writes to picket's command FIFO, as with Nagios.
    Standalone,
}

impl System {
    fn start(send_nsca: &Path, mode: Nsca) -> System {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let example = repo().join("examples/tcp-wrappers");
        for f in ["objects.cfg", "resource.cfg"] {
            std::fs::copy(example.join(f), d.join(f)).expect("copy example");
        }
        let main_cfg = std::fs::read_to_string(example.join("picket.cfg")).expect("picket.cfg");
        assert!(main_cfg.contains("\nnsca_config_file=nsca.cfg\n"));
        let main_cfg = match mode {
            Nsca::BuiltIn => main_cfg,
            Nsca::Standalone => main_cfg.replace("\nnsca_config_file=nsca.cfg\n", "\n"),
        };
        std::fs::write(d.join("picket.cfg"), main_cfg).expect("picket.cfg");
        std::fs::create_dir(d.join("var")).expect("var");
        let fifo = d.join("var/picket.cmd");

        // The example's nsca.cfg, on a free port.
        let nsca_port = free_port();
        let example_nsca = std::fs::read_to_string(example.join("nsca.cfg")).expect("nsca.cfg");
        let nsca_cfg: String = example_nsca
            .lines()
            .map(|l| {
                if l.starts_with("server_port=") {
                    format!("server_port={nsca_port}")
                } else if let Some(rest) = l.strip_prefix("command_file=") {
                    format!("command_file={}", d.join(rest).display())
                } else if let Some(rest) = l.strip_prefix("alternate_dump_file=") {
                    format!("alternate_dump_file={}", d.join(rest).display())
                } else if let Some(rest) = l.strip_prefix("spool_file=") {
                    format!("spool_file={}", d.join(rest).display())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(d.join("nsca.cfg"), nsca_cfg + "\n").expect("nsca.cfg");

        // The monitor: picket on the example configuration.
        let picket = Proc(
            Command::new(bin("picket"))
                .arg("picket.cfg")
                .current_dir(d)
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(d.join("picket.out")).expect("out"))
                .stderr(std::fs::File::create(d.join("picket.err")).expect("err"))
                .spawn()
                .expect("start picket"),
        );
        wait_for("picket's command FIFO", 20, || fifo.exists());

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
            dir,
            _picket: picket,
            _nsca: nsca,
            _tcpd: Proc(tcpd),
            tcpd_addr,
        }
    }

    fn file(&self, name: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.path().join(name)).unwrap_or_default())
            .into_owned()
    }

    fn alerts(&self) -> Vec<String> {
        self.file("var/picket.log")
            .lines()
            .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
            .filter(|l| l.starts_with("SERVICE ALERT:"))
            .map(str::to_string)
            .collect()
    }

    fn notifications(&self) -> Vec<String> {
        self.file("var/notifications.log")
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn diagnostics(&self) -> String {
        [
            "picket.err",
            "nsca.err",
            "tcpd.err",
            "tcpd.log",
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
    for (i, s) in sources.into_iter().enumerate() {
        let _ = sys.connect_from(s, b"x");
        // Each refusal's handler runs in the background; wait for its alert
        // so that the expected order is the connection order.
        wait_for("this denial's alert", 30, || sys.alerts().len() > i);
    }
    let alerts = sys.alerts();
    let expected: Vec<String> = sources
        .iter()
        .map(|s| {
            format!(
                "SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied cat-{}.{}.{}.{}",
                s[0], s[1], s[2], s[3]
            )
        })
        .collect();
    assert_eq!(alerts, expected, "{}", sys.diagnostics());
    wait_for("ten notifications", 30, || sys.notifications().len() == 10);
    let distinct: std::collections::BTreeSet<_> =
        alerts.iter().map(|a| a.rsplit('-').next()).collect();
    assert_eq!(distinct.len(), 3);
}
