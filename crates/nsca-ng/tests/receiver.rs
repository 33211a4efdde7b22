//! The receiver's threads in-process: `max_connections` is served at once,
//! one more connection is closed at once and counted, and the stop flag
//! ends `serve`. Also the `nsca-ng` program stopped by SIGTERM at start.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use picket_nsca_ng::server::{Options, Receiver, Sink, Stats};
use picket_nsca_ng_proto::Authorizer;

struct Nowhere;

impl Sink for Nowhere {
    fn submit(&self, _: &str, _: SocketAddr, _: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn over_max_connections_is_closed_at_once_and_stop_ends_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("nsca-ng.cfg");
    std::fs::write(
        &cfg,
        "command_file = \"/dev/null\"\nauthorize \"a\" {\n  password = \"a-secret-123\"\n  hosts = \".*\"\n}\n",
    )
    .expect("write config");
    let config = picket_nsca_ng::load_config(&cfg).expect("config");
    let authorizer = Arc::new(Authorizer::new(&config));
    let tls = picket_nsca_ng::tls::server_context(&config.tls_ciphers, Arc::clone(&authorizer))
        .expect("tls");
    let mut options = Options::from_config(&config);
    options.max_connections = 1;
    let stats = Arc::new(Stats::default());
    let rx = Arc::new(Receiver {
        tls,
        authorizer,
        options,
        sink: Arc::new(Nowhere),
        stats: Arc::clone(&stats),
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || picket_nsca_ng::server::serve(listener, rx, stop))
    };
    // The first connection holds the one allowed slot (its handshake waits).
    let first = TcpStream::connect(addr).expect("connect");
    wait_for("the first connection to be taken", || {
        stats.connections.load(Ordering::Relaxed) == 1
    });
    // The second is closed without a byte.
    let mut second = TcpStream::connect(addr).expect("connect");
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    let n = second.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the connection over the limit got bytes");
    assert_eq!(stats.refused_over_limit.load(Ordering::Relaxed), 1);
    // Once the first is gone, a new connection is served again (its
    // handshake fails on garbage: counted, not refused).
    drop(first);
    wait_for("the first connection to end", || {
        stats.handshake_failures.load(Ordering::Relaxed) >= 1
    });
    let mut third = TcpStream::connect(addr).expect("connect");
    std::io::Write::write_all(&mut third, b"not TLS\r\n\r\n").expect("write");
    wait_for("the third connection's handshake to fail", || {
        stats.handshake_failures.load(Ordering::Relaxed) >= 2
    });
    assert_eq!(stats.refused_over_limit.load(Ordering::Relaxed), 1);
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.is_finished() {
        assert!(Instant::now() < deadline, "serve did not return after stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.join().expect("join").expect("serve");
}

/// A SIGTERM to the `nsca-ng` program as soon as its PID file is written (an init script
/// that stops what it has just started) is a clean stop, not a kill: the handlers are in
/// place before the PID file says the server is there.
#[test]
fn a_sigterm_once_the_pid_file_is_written_is_a_clean_stop() {
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("nsca-ng.pid");
        let cfg = dir.path().join("nsca-ng.cfg");
        std::fs::write(
            &cfg,
            format!(
                "command_file = \"{}\"\nlisten = \"127.0.0.1:0\"\n\
                 authorize \"web\" {{\n  password = \"web-secret-1234\"\n  services = \".+\"\n}}\n",
                dir.path().join("nagios.cmd").display()
            ),
        )
        .expect("cfg");
        let log = dir.path().join("stderr");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nsca-ng"))
            .args(["-F", "-c"])
            .arg(&cfg)
            .arg("-P")
            .arg(&pid_file)
            .stdin(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("stderr file"))
            .spawn()
            .expect("start nsca-ng");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !pid_file.exists() {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("nsca-ng exited at start ({st})");
            }
            assert!(std::time::Instant::now() < deadline, "no PID file");
            std::thread::yield_now();
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal nsca-ng");
        let st = child.wait().expect("wait");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(st.success(), "round {round}: {st}: {text}");
        assert!(text.contains("shutting down"), "round {round}: {text}");
    }
}
