//! Interoperability with Debian's `nsca-ng` 1.6 (`nsca-ng-server`) and its
//! `send_nsca` (`nsca-ng-client`), as real processes on loopback: every
//! pairing of client and server writes the command-file bytes Debian's pair
//! writes (timestamps aside), gives the same `FAIL` for what an identity may
//! not submit, and refuses a wrong key in the TLS handshake.
//!
//! `nsca-ng-client` conflicts with `nsca-client` (both ship
//! `/usr/sbin/send_nsca`), so `.ci/run` unpacks it into
//! `/opt/nsca-ng-client` (`NSCA_NG_SEND_NSCA` overrides). Under CI a
//! missing Debian peer fails these tests.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WEB_PW: &str = "web-secret-1234";
const ROOT_PW: &str = "root-secret-5678";

fn debian(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{path} is missing: CI must install nsca-ng-server and unpack nsca-ng-client (.ci/run does)"
        );
    }
    eprintln!("SKIP: {path} is not installed; NSCA-ng interop not tested");
    None
}

fn debian_server() -> Option<PathBuf> {
    debian("/usr/sbin/nsca-ng")
}

fn debian_client() -> Option<PathBuf> {
    let p = std::env::var("NSCA_NG_SEND_NSCA")
        .unwrap_or_else(|_| "/opt/nsca-ng-client/usr/sbin/send_nsca".to_string());
    debian(&p)
}

fn ours_server() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nsca-ng"))
}

fn ours_client() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_send_nsca-ng"))
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

/// A running server (Debian's or ours) with its FIFO read into memory.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    fifo_data: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    fn start(program: &Path) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("nagios.cmd");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        // Read-write: the reader exists before the server starts and never sees EOF.
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .expect("open fifo");
        let fifo_data = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&fifo_data);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        let port = free_port();
        let cfg = dir.path().join("nsca-ng.cfg");
        std::fs::write(
            &cfg,
            format!(
                "command_file = \"{}\"\nlisten = \"127.0.0.1:{port}\"\ntimeout = 10\n\
                 authorize \"web\" {{\n  password = \"{WEB_PW}\"\n  hosts = \"web.*\"\n  \
                 services = {{ \".+@web.*\" }}\n}}\n\
                 authorize \"root\" {{\n  password = \"{ROOT_PW}\"\n  commands = \".*\"\n}}\n\
                 authorize \"*\" {{\n  password = \"star-secret-9012\"\n}}\n",
                fifo.display()
            ),
        )
        .expect("write config");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
        let mut child = Command::new(program)
            .args(["-c", cfg.to_str().expect("utf-8"), "-F", "-l", "3"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("start server");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        wait_for("the server to listen", 10, || {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("server exited early: {st}");
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        Server {
            child,
            dir,
            port,
            fifo_data,
        }
    }

    fn client_cfg(&self, identity: &str, password: &str) -> PathBuf {
        let p = self
            .dir
            .path()
            .join(format!("send_nsca-{identity}-{password}.cfg"));
        std::fs::write(
            &p,
            format!("identity = \"{identity}\"\npassword = \"{password}\"\n"),
        )
        .expect("write client config");
        p
    }

    /// Command-file lines so far, timestamps replaced by `[T]`.
    fn lines(&self) -> Vec<String> {
        let data = self.fifo_data.lock().expect("lock").clone();
        String::from_utf8_lossy(&data)
            .split_inclusive('\n')
            .map(|l| match l.find("] ") {
                Some(i) if l.starts_with('[') => format!("[T]{}", &l[i + 1..]),
                _ => l.to_string(),
            })
            .collect()
    }

    fn wait_lines(&self, n: usize) -> Vec<String> {
        wait_for(&format!("{n} command-file lines"), 10, || {
            self.lines().len() >= n
        });
        self.lines()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(client: &Path, server: &Server, cfg: &Path, extra: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let port = server.port.to_string();
    let mut child = Command::new(client)
        .args([
            "-c",
            cfg.to_str().expect("utf-8"),
            "-H",
            "127.0.0.1",
            "-p",
            &port,
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish in 20 s", client.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Results the `web` identity may submit: a host result, a service result
/// with perfdata, tabs in an output, a multi-line output with a backslash.
fn allowed_input() -> Vec<u8> {
    b"web01\t0\tUP - host result\x17\
      web01\tHTTP\t1\tHTTP WARNING: 200 OK - 1234 bytes |time=0.567s;;;0\x17\
      web03\tTabs\t2\tdenied\tsshd\t192.0.2.7\x17\
      web02\tMySQL\t2\tCRITICAL - lag 300s\nSlave_IO_Running: No\nback\\slash | lag=300s\n"
        .to_vec()
}

#[test]
fn every_pairing_writes_what_debian_writes() {
    let (Some(dsrv), Some(dcli)) = (debian_server(), debian_client()) else {
        return;
    };
    let mut results = Vec::new();
    for (cname, client) in [("debian", &dcli), ("picket", &ours_client())] {
        for (sname, server) in [("debian", &dsrv), ("picket", &ours_server())] {
            let s = Server::start(server);
            let cfg = s.client_cfg("web", WEB_PW);
            let out = send(client, &s, &cfg, &[], &allowed_input());
            assert!(
                out.status.success(),
                "{cname} -> {sname}: {:?}\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                s.log()
            );
            let rootcfg = s.client_cfg("root", ROOT_PW);
            let out = send(
                client,
                &s,
                &rootcfg,
                &["-C"],
                b"DISABLE_NOTIFICATIONS\n[1700000000] ENABLE_NOTIFICATIONS\n",
            );
            assert!(
                out.status.success(),
                "{cname} -> {sname} raw: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            results.push((format!("{cname} -> {sname}"), s.wait_lines(6)));
        }
    }
    let (_, reference) = &results[0];
    assert_eq!(
        reference,
        &vec![
            "[T] PROCESS_HOST_CHECK_RESULT;web01;0;UP - host result\n".to_string(),
            "[T] PROCESS_SERVICE_CHECK_RESULT;web01;HTTP;1;HTTP WARNING: 200 OK - 1234 bytes |time=0.567s;;;0\n".into(),
            "[T] PROCESS_SERVICE_CHECK_RESULT;web03;Tabs;2;denied\tsshd\t192.0.2.7\n".into(),
            "[T] PROCESS_SERVICE_CHECK_RESULT;web02;MySQL;2;CRITICAL - lag 300s\\nSlave_IO_Running: No\\nback\\\\slash | lag=300s\n".into(),
            "[T] DISABLE_NOTIFICATIONS\n".into(),
            "[T] ENABLE_NOTIFICATIONS\n".into(),
        ]
    );
    for (name, lines) in &results[1..] {
        assert_eq!(lines, reference, "{name} differs from debian -> debian");
    }
}

#[test]
fn unauthorized_results_and_commands_get_debians_fail() {
    let (Some(dsrv), Some(dcli)) = (debian_server(), debian_client()) else {
        return;
    };
    let refused: [(&[u8], &[&str], &str); 3] = [
        (b"db01\t0\tUP\n", &[], "host db01"),
        (b"db01\tHTTP\t2\tfake\n", &[], "service HTTP on host db01"),
        (
            b"DISABLE_NOTIFICATIONS\n",
            &["-C"],
            "command DISABLE_NOTIFICATIONS",
        ),
    ];
    for (sname, server) in [("debian", &dsrv), ("picket", &ours_server())] {
        let s = Server::start(server);
        let cfg = s.client_cfg("web", WEB_PW);
        for (input, extra, object) in refused {
            let out = send(&dcli, &s, &cfg, extra, input);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "debian -> {sname}: {err}");
            assert!(
                err.contains("Server said: FAIL You're not authorized"),
                "debian -> {sname}: {err}"
            );
            let out = send(&ours_client(), &s, &cfg, extra, input);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "picket -> {sname}: {err}");
            assert!(
                err.contains("Server said: FAIL You're not authorized"),
                "picket -> {sname}: {err}"
            );
            if sname == "picket" {
                let log = s.log();
                assert!(
                    log.contains(&format!(
                        "refusing {object} from identity web at 127.0.0.1:"
                    )),
                    "no log line for {object}:\n{log}"
                );
            }
        }
        // An allowed result after the refusals still goes through.
        let out = send(&ours_client(), &s, &cfg, &[], b"web01\t0\tfine\n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            s.wait_lines(1),
            vec!["[T] PROCESS_HOST_CHECK_RESULT;web01;0;fine\n".to_string()],
            "{sname}: nothing refused reached the command file"
        );
    }
}

#[test]
fn a_wrong_key_is_refused_in_the_handshake() {
    let (Some(dsrv), Some(dcli)) = (debian_server(), debian_client()) else {
        return;
    };
    for (sname, server) in [("debian", &dsrv), ("picket", &ours_server())] {
        let s = Server::start(server);
        let cfg = s.client_cfg("web", "not-the-key");
        for (cname, client) in [("debian", &dcli), ("picket", &ours_client())] {
            let out = send(client, &s, &cfg, &[], b"web01\t0\tforged\n");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cname} -> {sname}: {err}");
            assert!(err.contains("TLS error"), "{cname} -> {sname}: {err}");
        }
        if sname == "picket" {
            let log = s.log();
            assert!(
                log.contains("TLS handshake with 127.0.0.1:")
                    && log.contains("failed for identity web"),
                "{log}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(s.lines().is_empty(), "{sname}: {:?}", s.lines());
    }
}

#[test]
fn the_client_spools_while_the_server_is_down() {
    let spool = tempfile::tempdir().expect("tempdir");
    let spool_dir = spool.path().join("spool");
    let s = Server::start(&ours_server());
    let cfg = s.client_cfg("web", WEB_PW);
    // A server on a port where nothing listens: spooled, exit 0.
    let dead = free_port();
    let out = Command::new(ours_client())
        .args([
            "-c",
            cfg.to_str().expect("utf-8"),
            "-H",
            "127.0.0.1",
            "-p",
            &dead.to_string(),
        ])
        .args(["--spool", spool_dir.to_str().expect("utf-8")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"web01\t2\tspooled\n")?;
            c.wait_with_output()
        })
        .expect("client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&spool_dir).expect("spool").count(), 1);
    // Next time the spooled result goes first, then the new one.
    let out = send(
        &ours_client(),
        &s,
        &cfg,
        &["--spool", spool_dir.to_str().expect("utf-8")],
        b"web01\t0\tnew\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        s.wait_lines(2),
        vec![
            "[T] PROCESS_HOST_CHECK_RESULT;web01;2;spooled\n".to_string(),
            "[T] PROCESS_HOST_CHECK_RESULT;web01;0;new\n".to_string()
        ]
    );
    assert_eq!(std::fs::read_dir(&spool_dir).expect("spool").count(), 0);
}

/// The RFC 4279 suite NSCA-ng mandates, over TLS 1.2, with OpenSSL's own
/// `s_client` as the peer: both servers take it and answer the protocol.
#[test]
fn tls12_with_the_mandatory_rfc4279_suite() {
    use std::io::{BufRead, BufReader, Write};
    let Some(dsrv) = debian_server() else {
        return;
    };
    let Some(openssl) = debian("/usr/bin/openssl") else {
        return;
    };
    for (sname, server) in [("debian", &dsrv), ("picket", &ours_server())] {
        let s = Server::start(server);
        let hex: String = WEB_PW.bytes().map(|b| format!("{b:02x}")).collect();
        let mut child = Command::new(&openssl)
            .args([
                "s_client",
                "-quiet",
                "-tls1_2",
                "-cipher",
                "PSK-AES256-CBC-SHA",
            ])
            .args(["-psk", &hex, "-psk_identity", "web"])
            .args(["-connect", &format!("127.0.0.1:{}", s.port)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_client");
        let mut stdin = child.stdin.take().expect("stdin");
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l.trim_end().to_string()).is_err() {
                    break;
                }
            }
        });
        let mut answer = |send: &[u8]| {
            stdin.write_all(send).expect("write");
            stdin.flush().expect("flush");
            rx.recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| {
                    panic!("{sname}: no answer to {:?}", String::from_utf8_lossy(send))
                })
        };
        let cmd = b"[1700000000] PROCESS_HOST_CHECK_RESULT;web01;0;over TLS 1.2\n";
        assert_eq!(answer(b"MOIN 1 tls12test\r\n"), "MOIN 1", "{sname}");
        assert_eq!(
            answer(format!("PUSH {}\r\n", cmd.len()).as_bytes()),
            "OKAY",
            "{sname}"
        );
        assert_eq!(answer(cmd), "OKAY", "{sname}");
        assert_eq!(answer(b"QUIT\r\n"), "OKAY", "{sname}");
        drop(stdin);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            s.wait_lines(1),
            vec!["[T] PROCESS_HOST_CHECK_RESULT;web01;0;over TLS 1.2\n".to_string()],
            "{sname}"
        );
    }
}

/// The receiver's threads (each blocking in `accept`, reused, more started
/// when all are busy): more sessions at once than threads kept idle, then
/// sessions one after another on the reused threads, all delivered once;
/// a session that stays open does not hold the others up.
#[test]
fn sessions_at_once_and_one_after_another() {
    let s = Server::start(&ours_server());
    let cfg = s.client_cfg("web", WEB_PW);
    let at_once = 24;
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..at_once)
            .map(|i| {
                let (s, cfg) = (&s, &cfg);
                sc.spawn(move || {
                    send(
                        &ours_client(),
                        s,
                        cfg,
                        &[],
                        format!("web{i}\tHTTP\t0\tOK {i}\n").as_bytes(),
                    )
                })
            })
            .collect();
        for h in handles {
            let out = h.join().expect("client thread");
            assert!(out.status.success(), "{out:?}\n{}", s.log());
        }
    });
    for i in 0..5 {
        let out = send(
            &ours_client(),
            &s,
            &cfg,
            &[],
            format!("web{i}\tSeq\t0\tOK again {i}\n").as_bytes(),
        );
        assert!(out.status.success(), "{out:?}\n{}", s.log());
    }
    // A TLS connection that never finishes its handshake holds one thread;
    // another session still gets through.
    let idle = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let out = send(&ours_client(), &s, &cfg, &[], b"web9\tLast\t0\tOK last\n");
    assert!(out.status.success(), "{out:?}\n{}", s.log());
    drop(idle);
    let lines = s.wait_lines(at_once + 6);
    assert_eq!(lines.len(), at_once + 6, "{lines:?}");
    for i in 0..at_once {
        let want = format!("[T] PROCESS_SERVICE_CHECK_RESULT;web{i};HTTP;0;OK {i}\n");
        assert_eq!(
            lines.iter().filter(|l| **l == want).count(),
            1,
            "{want}: {lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains(";web9;Last;0;OK last")),
        "{lines:?}"
    );
}
