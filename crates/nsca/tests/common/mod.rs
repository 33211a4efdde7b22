//! Test support: start daemons (Picket's or Debian's) on loopback with
//! ephemeral ports, run clients, read command files. Every process is
//! killed when its guard drops; every wait is bounded.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "nsca-test-password";

/// Picket's binaries, built by cargo for this test.
pub fn picket_nsca() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nsca"))
}
pub fn picket_send_nsca() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_send_nsca"))
}

/// A Debian peer program, or `None` (skip) outside CI. Under CI (`CI` set)
/// a missing peer fails the test: CI installs `nsca` and `nsca-client`.
pub fn debian_peer(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{path} is missing: CI must install Debian's nsca and nsca-client (.ci/run does)");
    }
    eprintln!(
        "SKIP: {path} is not installed (apt-get install nsca nsca-client); interop not tested"
    );
    None
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until `addr` accepts connections.
pub fn wait_listening(addr: SocketAddr, child: &mut Child) {
    if let Err(e) = try_listening(addr, child) {
        panic!("{e}");
    }
}

/// Waits until `addr` accepts connections while `child` still runs: a
/// connection taken by another process that got the same port from
/// [`free_port`] (while `child` failed to bind it) does not count.
pub fn try_listening(addr: SocketAddr, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("daemon exited early: {status}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            std::thread::sleep(Duration::from_millis(50));
            return match child.try_wait() {
                Ok(Some(status)) => Err(format!("daemon exited early: {status}")),
                _ => Ok(()),
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("nothing listening on {addr} after 10s"))
}

/// Waits until `cond` holds (bounded).
pub fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub command_file: PathBuf,
    pub log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `program` (Picket's or Debian's nsca) in the foreground with a
    /// config holding `method`, the test password and `extra` lines. The
    /// command file is a regular file unless `extra` says otherwise.
    fn start_once(program: &Path, method: u8, extra: &str) -> Result<Daemon, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let command_file = dir.path().join("nagios.cmd");
        if !extra.contains("command_file=") {
            std::fs::write(&command_file, "").expect("command file");
        }
        let cfg = dir.path().join("nsca.cfg");
        let mut text = format!(
            "server_address=127.0.0.1\nserver_port={port}\npassword={PASSWORD}\n\
             decryption_method={method}\nappend_to_file=1\nmax_packet_age=30\ndebug=1\n\
             alternate_dump_file={}\n",
            dir.path().join("dump").display()
        );
        if !extra.contains("command_file=") {
            text.push_str(&format!("command_file={}\n", command_file.display()));
        }
        text.push_str(extra);
        std::fs::write(&cfg, text).expect("config");
        let log = dir.path().join("daemon.log");
        let mut child = Command::new(program)
            .arg("-f")
            .arg("-c")
            .arg(&cfg)
            .arg("--single")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .env("RUST_LOG", "debug")
            .spawn()
            .expect("start daemon");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        if let Err(e) = try_listening(addr, &mut child) {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{e}; its log:\n{log}"));
        }
        Ok(Daemon {
            child,
            addr,
            dir,
            command_file,
            log,
        })
    }

    /// Starts `program` on a port of [`free_port`]; when the port was taken
    /// meanwhile (tests run in parallel) and the daemon exits, once more on
    /// another port.
    pub fn start(program: &Path, method: u8, extra: &str) -> Daemon {
        let mut last = String::new();
        for _ in 0..3 {
            match Daemon::start_once(program, method, extra) {
                Ok(d) => return d,
                Err(e) => last = e,
            }
        }
        panic!("{} did not start: {last}", program.display());
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The command file's lines without their `[time] ` prefix.
    pub fn lines(&self) -> Vec<String> {
        strip_times(&std::fs::read(&self.command_file).unwrap_or_default())
    }

    /// Waits until the command file holds `n` lines and returns them.
    pub fn wait_lines(&self, n: usize) -> Vec<String> {
        wait_for(&format!("{n} command lines"), 10, || {
            self.lines().len() >= n
        });
        self.lines()
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }
}

/// Lines of a command file without the daemon's `[time] ` stamps.
pub fn strip_times(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| l.split_once("] ").map_or(l, |(_, rest)| rest).to_string())
        .collect()
}

/// Writes a `send_nsca.cfg` for `method` into `dir`.
pub fn client_config(dir: &Path, method: u8) -> PathBuf {
    let p = dir.join(format!("send_nsca-{method}.cfg"));
    std::fs::write(
        &p,
        format!("password={PASSWORD}\nencryption_method={method}\n"),
    )
    .expect("client config");
    p
}

/// Runs a send_nsca (Picket's or Debian's) with `input` on stdin.
pub fn send(program: &Path, port: u16, cfg: &Path, extra: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-c"])
        .arg(cfg)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start send_nsca");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("send_nsca output")
}
