//! End-to-end tests of the whole system live in `tests/`: they start the
//! workspace's binaries (`picket`, `nsca`, `send_nsca`, `tcpd`) as real
//! processes on 127.0.0.0/8. `cargo test --workspace` builds those binaries
//! before running any test; run alone, this crate's tests say so and fail
//! if the binaries are missing.
//!
//! This library holds what the tests share: locating binaries, free ports,
//! bounded waits, processes killed on drop, a minimal HTTP client for the web
//! API, and a temporary copy of the shipped example configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A binary of the workspace, next to the running test's `deps/` directory.
pub fn bin(name: &str) -> PathBuf {
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

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Poll `cond` every 25 ms; panic after `secs`.
pub fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET on the web server: (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect web");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A POST with the bearer token: (status, body).
pub fn http_post(addr: SocketAddr, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect web");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A GET that must answer 200 with JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = http_get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// How results reach the monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nsca {
    /// `picket` listens for NSCA itself (`nsca_config_file=` in picket.cfg).
    BuiltIn,
    /// The `nsca` daemon writes to picket's command FIFO, as with Nagios.
    Standalone,
}

/// A temporary copy of `examples/tcp-wrappers/` with free ports.
pub struct Example {
    /// The directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The NSCA port (picket's own or the `nsca` daemon's).
    pub nsca_port: u16,
    /// The web server.
    pub web: SocketAddr,
}

impl Example {
    /// Copy the example's configuration, setting ports and paths, without its scan
    /// detection (`detection_config_file=` removed): the seed's recipe as Nagios runs it,
    /// every denial alerting at once.
    pub fn new(mode: Nsca) -> Example {
        Example::build(mode, None)
    }

    /// The example with its scan detection on, the lone-refusal hold set to `hold`
    /// (a `detection.cfg` duration, e.g. `2s`).
    pub fn with_detection(mode: Nsca, hold: &str) -> Example {
        Example::build(mode, Some(hold))
    }

    fn build(mode: Nsca, hold: Option<&str>) -> Example {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let example = Example::source();
        // No web.token: picket creates one with a random token at start.
        for f in ["objects.cfg", "resource.cfg"] {
            std::fs::copy(example.join(f), d.join(f)).expect("copy example");
        }
        let main_cfg = std::fs::read_to_string(example.join("picket.cfg")).expect("picket.cfg");
        assert!(main_cfg.contains("\nnsca_config_file=nsca.cfg\n"));
        assert!(main_cfg.contains("\nweb_listen=127.0.0.1:8080\n"));
        let detection = "\ndetection_config_file=detection.cfg\n";
        assert!(main_cfg.contains(detection));
        let main_cfg = match hold {
            None => main_cfg.replace(detection, "\n"),
            Some(hold) => {
                let cfg =
                    std::fs::read_to_string(example.join("detection.cfg")).expect("detection.cfg");
                assert!(cfg.contains("\nhold=10s\n"));
                let cfg = cfg.replace("\nhold=10s\n", &format!("\nhold={hold}\n"));
                std::fs::write(d.join("detection.cfg"), cfg).expect("detection.cfg");
                main_cfg
            }
        };
        let main_cfg = match mode {
            Nsca::BuiltIn => main_cfg,
            Nsca::Standalone => main_cfg.replace("\nnsca_config_file=nsca.cfg\n", "\n"),
        };
        let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let main_cfg = main_cfg.replace(
            "\nweb_listen=127.0.0.1:8080\n",
            &format!("\nweb_listen={web}\n"),
        );
        std::fs::write(d.join("picket.cfg"), main_cfg).expect("picket.cfg");
        std::fs::create_dir(d.join("var")).expect("var");

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
        Example {
            dir,
            nsca_port,
            web,
        }
    }

    /// The shipped example's directory.
    pub fn source() -> PathBuf {
        repo().join("examples/tcp-wrappers")
    }

    /// A path inside the copy.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A file of the copy, lossily decoded; empty when missing.
    pub fn file(&self, rel: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.path(rel)).unwrap_or_default()).into_owned()
    }

    /// Start `picket picket.cfg` in the copy (output to `picket.out`/`picket.err`,
    /// appended across restarts) and wait for its command FIFO and web server.
    pub fn start_picket(&self) -> Proc {
        let append = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(name))
                .expect("output file")
        };
        let p = Proc(
            Command::new(bin("picket"))
                .arg("picket.cfg")
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(append("picket.out"))
                .stderr(append("picket.err"))
                .spawn()
                .expect("start picket"),
        );
        let fifo = self.path("var/picket.cmd");
        wait_for("picket's command FIFO", 20, || fifo.exists());
        wait_for("the web server", 20, || {
            TcpStream::connect(self.web).is_ok()
        });
        p
    }

    /// `SERVICE ALERT` lines of the log, without their timestamps.
    pub fn alerts(&self) -> Vec<String> {
        self.file("var/picket.log")
            .lines()
            .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
            .filter(|l| l.starts_with("SERVICE ALERT:"))
            .map(str::to_string)
            .collect()
    }

    /// Lines the example's notification command wrote.
    pub fn notifications(&self) -> Vec<String> {
        self.file("var/notifications.log")
            .lines()
            .map(str::to_string)
            .collect()
    }
}
