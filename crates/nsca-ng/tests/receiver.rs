//! The receiver's threads in-process: `max_connections` is served at once,
//! one more connection is closed at once and counted, and the stop flag
//! ends `serve`.

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
