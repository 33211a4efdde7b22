//! Hostile and broken clients against Picket's `nsca`: each is logged, the
//! daemon keeps serving everyone else, and no malformed or injected command
//! line is ever written. Also: spooling when the FIFO has no reader, and
//! `send_nsca --spool` when the server is down, and a SIGTERM at start.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use picket_nsca_proto::crypto::CryptoState;
use picket_nsca_proto::{
    CheckResult, ClientSession, INIT_PACKET_LEN, InitPacket, Method, PACKET_LEN, PacketFormat,
};

fn connect(d: &Daemon) -> (TcpStream, InitPacket) {
    let mut s = TcpStream::connect(d.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut init = [0u8; INIT_PACKET_LEN];
    s.read_exact(&mut init).expect("init packet");
    (s, InitPacket::decode(&init).expect("decode init"))
}

fn result(host: &str, svc: &str, out: &[u8]) -> CheckResult {
    CheckResult {
        timestamp: 0,
        return_code: 2,
        host_name: host.as_bytes().to_vec(),
        service: svc.as_bytes().to_vec(),
        plugin_output: out.to_vec(),
    }
}

/// Sends `r` properly (method 1) on a fresh connection.
fn send_good(d: &Daemon, r: &CheckResult) {
    let (mut s, init) = connect(d);
    let mut c = ClientSession::new(Method::Xor, PASSWORD.as_bytes(), &init, PacketFormat::V3)
        .expect("session");
    let mut buf = Vec::new();
    c.encode(r, |_| {}, &mut buf);
    s.write_all(&buf).expect("send");
}

/// The server closed the connection (EOF or reset) — not just silence.
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut b = [0u8; 16];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

/// A plaintext packet for `r` with this connection's timestamp.
fn plain_packet(init: &InitPacket, r: &CheckResult) -> Vec<u8> {
    let mut r = r.clone();
    r.timestamp = init.timestamp;
    let mut buf = vec![0u8; PACKET_LEN];
    r.encode_into(PacketFormat::V3, &mut buf).expect("encode");
    buf
}

fn encrypt(init: &InitPacket, buf: &mut [u8]) {
    CryptoState::new(Method::Xor, PASSWORD.as_bytes(), &init.iv)
        .expect("crypto")
        .encrypt_packet(buf);
}

#[test]
fn broken_packets_are_logged_and_others_still_served() {
    let d = Daemon::start(&picket_nsca(), 1, "");

    // Bad CRC.
    let (mut s, init) = connect(&d);
    let mut p = plain_packet(&init, &result("h", "crc", b"x"));
    p[300] ^= 0x40;
    encrypt(&init, &mut p);
    s.write_all(&p).expect("send");
    assert!(closed_by_server(&mut s));

    // Wrong version (what a wrong password looks like).
    let (mut s, init) = connect(&d);
    let mut p = plain_packet(&init, &result("h", "version", b"x"));
    p[1] = 2;
    encrypt(&init, &mut p);
    s.write_all(&p).expect("send");
    assert!(closed_by_server(&mut s));

    // Random bytes.
    let (mut s, _) = connect(&d);
    let mut noise = vec![0u8; PACKET_LEN];
    getrandom::fill(&mut noise).expect("random");
    s.write_all(&noise).expect("send");
    assert!(closed_by_server(&mut s));

    // A short packet, then EOF.
    let (mut s, _) = connect(&d);
    s.write_all(&[0u8; 100]).expect("send");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    assert!(closed_by_server(&mut s));

    // Stale timestamp (max_packet_age=30).
    let (mut s, init) = connect(&d);
    let mut r = result("h", "stale", b"x");
    r.timestamp = init.timestamp - 100;
    let mut p = vec![0u8; PACKET_LEN];
    r.encode_into(PacketFormat::V3, &mut p).expect("encode");
    encrypt(&init, &mut p);
    s.write_all(&p).expect("send");
    assert!(closed_by_server(&mut s));

    send_good(&d, &result("good", "svc", b"still served"));
    assert_eq!(
        d.wait_lines(1),
        vec!["PROCESS_SERVICE_CHECK_RESULT;good;svc;2;still served".to_string()]
    );
    let log = d.log_text();
    for needle in [
        "CRC mismatch",
        "invalid packet type/version 2",
        "connection ended 100 bytes into a packet",
        "stale timestamp: packet is 100 seconds old",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
}

#[test]
fn injection_never_becomes_a_second_command() {
    let d = Daemon::start(&picket_nsca(), 1, "");
    // Through the real client path: a newline in the output.
    let cfg = client_config(d.dir.path(), 1);
    let out = send(
        &picket_send_nsca(),
        d.port(),
        &cfg,
        &[],
        b"h\ts\t2\tx\n[123] DEL_ALL_SVC_DOWNTIME;h;s\r\n",
    );
    assert!(out.status.success(), "{out:?}");
    // Raw packets: names that would shift or split fields are refused.
    let (mut s, init) = connect(&d);
    let mut c = ClientSession::new(Method::Xor, PASSWORD.as_bytes(), &init, PacketFormat::V3)
        .expect("session");
    let mut buf = Vec::new();
    c.encode(&result("h;inj", "svc", b"x"), |_| {}, &mut buf);
    c.encode(
        &result("h", "svc\n[1] DEL_ALL_HOST_DOWNTIME;h", b"x"),
        |_| {},
        &mut buf,
    );
    c.encode(&result("last", "svc", b"ok"), |_| {}, &mut buf);
    s.write_all(&buf).expect("send");
    drop(s);
    let lines = d.wait_lines(2);
    std::thread::sleep(Duration::from_millis(200));
    let raw = std::fs::read(&d.command_file).expect("read");
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(
        lines,
        vec![
            "PROCESS_SERVICE_CHECK_RESULT;h;s;2;x\\n[123] DEL_ALL_SVC_DOWNTIME;h;s".to_string(),
            "PROCESS_SERVICE_CHECK_RESULT;last;svc;2;ok".to_string(),
        ]
    );
    // Every line is one of ours: no command starts mid-output.
    assert!(text.lines().all(|l| {
        l.split_once("] ").is_some_and(|(ts, rest)| {
            ts[1..].bytes().all(|b| b.is_ascii_digit())
                && rest.starts_with("PROCESS_SERVICE_CHECK_RESULT;")
        })
    }));
    let log = d.log_text();
    assert!(
        log.contains("host_name contains a ';' field separator"),
        "{log}"
    );
    assert!(
        log.contains("svc_description contains a control character"),
        "{log}"
    );
}

#[test]
fn a_half_packet_and_a_thousand_idle_clients_stall_nobody() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
    let d = Daemon::start(
        &picket_nsca(),
        14,
        "socket_timeout=60\nfirst_packet_timeout=60\nmax_connections_per_source=2000\n",
    );
    // One client sends half a packet and waits.
    let (mut half, _) = connect(&d);
    half.write_all(&[7u8; PACKET_LEN / 2]).expect("send half");
    // A thousand more connect and say nothing.
    let idle: Vec<_> = (0..1000).map(|_| connect(&d).0).collect();
    // Someone else's result is written while all of them hang on.
    let cfg = client_config(d.dir.path(), 14);
    let out = send(
        &picket_send_nsca(),
        d.port(),
        &cfg,
        &[],
        b"busy\tsvc\t0\tserved\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        d.wait_lines(1),
        vec!["PROCESS_SERVICE_CHECK_RESULT;busy;svc;0;served".to_string()]
    );
    // The half-packet connection is still open (not yet timed out).
    half.set_nonblocking(true).expect("nonblocking");
    let mut b = [0u8; 1];
    assert!(matches!(half.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    drop(idle);
}

#[test]
fn replayed_session_is_refused() {
    // With 256 possible IVs a recorded session of the C daemon can be
    // replayed; with CSPRNG IVs the replay decrypts to garbage.
    let d = Daemon::start(&picket_nsca(), 14, "");
    let (mut s, init) = connect(&d);
    let mut c = ClientSession::new(
        Method::Rijndael128,
        PASSWORD.as_bytes(),
        &init,
        PacketFormat::V3,
    )
    .expect("session");
    let mut recorded = Vec::new();
    c.encode(&result("h", "svc", b"first"), |_| {}, &mut recorded);
    s.write_all(&recorded).expect("send");
    drop(s);
    d.wait_lines(1);
    for _ in 0..20 {
        let (mut s, _) = connect(&d);
        s.write_all(&recorded).expect("replay");
        assert!(closed_by_server(&mut s));
    }
    assert_eq!(d.lines().len(), 1);
}

#[test]
fn fifo_without_reader_spools_and_replays_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("nagios.cmd");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let spool = dir.path().join("nsca.spool");
    let d = Daemon::start(
        &picket_nsca(),
        1,
        &format!(
            "command_file={}\nspool_file={}\n",
            fifo.display(),
            spool.display()
        ),
    );
    let cfg = client_config(dir.path(), 1);
    for i in 0..3 {
        let out = send(
            &picket_send_nsca(),
            d.port(),
            &cfg,
            &[],
            format!("h\ts\t2\tdenied {i}\n").as_bytes(),
        );
        assert!(out.status.success());
    }
    wait_for("spooled lines", 10, || {
        std::fs::read(&spool)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count() == 3)
            .unwrap_or(false)
    });
    assert!(
        d.log_text().contains("no process is reading it"),
        "{}",
        d.log_text()
    );
    // The monitor comes back: everything arrives, in order, then new results.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .open(&fifo)
        .expect("open fifo");
    let out = send(
        &picket_send_nsca(),
        d.port(),
        &cfg,
        &[],
        b"h\ts\t2\tdenied 3\n",
    );
    assert!(out.status.success());
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.iter().filter(|&&c| c == b'\n').count() < 4 {
        let n = reader.read(&mut buf).expect("read fifo");
        assert!(
            n > 0,
            "writer closed early: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    let lines = strip_times(&got);
    assert_eq!(
        lines,
        (0..4)
            .map(|i| format!("PROCESS_SERVICE_CHECK_RESULT;h;s;2;denied {i}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(std::fs::metadata(&spool).expect("spool").len(), 0);
}

#[test]
fn send_nsca_spool_keeps_results_until_the_server_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool");
    let cfg = client_config(dir.path(), 1);
    let port = free_port();
    let spool_arg = spool.to_str().expect("utf-8 path");
    let out = send(
        &picket_send_nsca(),
        port,
        &cfg,
        &["--spool", spool_arg],
        b"h\ts\t2\tearly\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("spooled to"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_dir(&spool).expect("spool dir").count(), 1);
    // The server comes up on that port.
    let d = Daemon::start(&picket_nsca(), 1, "");
    let out = send(
        &picket_send_nsca(),
        d.port(),
        &cfg,
        &["--spool", spool_arg],
        b"h\ts\t2\tlate\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2 data packet(s) sent to host successfully.\n"
    );
    assert_eq!(
        d.wait_lines(2),
        vec![
            "PROCESS_SERVICE_CHECK_RESULT;h;s;2;early".to_string(),
            "PROCESS_SERVICE_CHECK_RESULT;h;s;2;late".to_string()
        ]
    );
    assert_eq!(std::fs::read_dir(&spool).expect("spool dir").count(), 0);
}

#[test]
fn inetd_mode_serves_the_socket_on_stdin() {
    use std::os::fd::OwnedFd;
    let dir = tempfile::tempdir().expect("tempdir");
    let cmd = dir.path().join("cmd");
    std::fs::write(&cmd, "").expect("cmd");
    let cfg = dir.path().join("nsca.cfg");
    std::fs::write(
        &cfg,
        format!(
            "command_file={}\npassword={PASSWORD}\ndecryption_method=1\n",
            cmd.display()
        ),
    )
    .expect("cfg");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        let mut init = [0u8; INIT_PACKET_LEN];
        s.read_exact(&mut init).expect("init");
        let init = InitPacket::decode(&init).expect("decode");
        let mut c = ClientSession::new(Method::Xor, PASSWORD.as_bytes(), &init, PacketFormat::V3)
            .expect("session");
        let mut buf = Vec::new();
        c.encode(&result("inetd", "svc", b"via stdin"), |_| {}, &mut buf);
        s.write_all(&buf).expect("send");
    });
    let (sock, _) = listener.accept().expect("accept");
    let status = std::process::Command::new(picket_nsca())
        .args(["-c", cfg.to_str().expect("utf-8"), "--inetd"])
        .stdin(OwnedFd::from(sock))
        .status()
        .expect("run nsca --inetd");
    client.join().expect("client");
    assert!(status.success());
    assert_eq!(
        strip_times(&std::fs::read(&cmd).expect("read")),
        vec!["PROCESS_SERVICE_CHECK_RESULT;inetd;svc;2;via stdin".to_string()]
    );
}

/// A TCP connection to `to` from the local address `from` (any of
/// 127.0.0.0/8 works on loopback).
fn connect_from(from: [u8; 4], to: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    use std::os::fd::AsRawFd;
    let std::net::SocketAddr::V4(to) = to else {
        panic!("IPv4 only");
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let src = std::net::SocketAddrV4::new(from.into(), 0);
    bind(fd.as_raw_fd(), &SockaddrIn::from(src))?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(TcpStream::from(fd))
}

/// An honest client from `from`: reads the init packet and sends `r`
/// (method 1); `Err` when the server refused the connection.
fn send_good_from(from: [u8; 4], to: std::net::SocketAddr, r: &CheckResult) -> std::io::Result<()> {
    let mut s = connect_from(from, to)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut init = [0u8; INIT_PACKET_LEN];
    s.read_exact(&mut init)?;
    let init = InitPacket::decode(&init).expect("decode init");
    let mut c = ClientSession::new(Method::Xor, PASSWORD.as_bytes(), &init, PacketFormat::V3)
        .expect("session");
    let mut buf = Vec::new();
    c.encode(r, |_| {}, &mut buf);
    s.write_all(&buf)
}

fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Opens `n` connections from `from` that each send one byte and then say
/// nothing; returns the ones the server did not close at once (it sends
/// them the init packet).
fn one_byte_clients(from: [u8; 4], to: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut s = connect_from(from, to).expect("connect");
        let _ = s.write_all(&[0x42]);
        held.push(s);
    }
    held
}

#[test]
fn one_source_cannot_hold_every_slot() {
    raise_nofile();
    // Only keys the daemon has always had: the per-source cap is on by
    // default (256), and max_connections is lowered to keep the test small.
    let d = Daemon::start(
        &picket_nsca(),
        1,
        "max_connections=300\nsocket_timeout=60\n",
    );
    let flood = one_byte_clients([127, 0, 0, 2], d.addr, 400);
    // Another source gets its result through at once, while the flood holds on.
    send_good_from([127, 0, 0, 3], d.addr, &result("honest", "svc", b"served"))
        .expect("the honest client is served");
    assert_eq!(
        d.wait_lines(1),
        vec!["PROCESS_SERVICE_CHECK_RESULT;honest;svc;2;served".to_string()]
    );
    wait_for("the per-source refusal in the log", 10, || {
        d.log_text().contains("Refusing connection from 127.0.0.2:")
    });
    let log = d.log_text();
    assert!(
        log.contains("256 connections from this source already open (max_connections_per_source)"),
        "{log}"
    );
    drop(flood);
}

#[test]
fn a_silent_first_packet_gives_the_slot_back_soon() {
    raise_nofile();
    // Every slot is taken by clients that send one byte; the first-packet
    // deadline (default 5 s, here 1 s) frees them long before socket_timeout.
    let d = Daemon::start(
        &picket_nsca(),
        1,
        "max_connections=50\nsocket_timeout=60\nfirst_packet_timeout=1\n",
    );
    let flood = one_byte_clients([127, 0, 0, 2], d.addr, 50);
    // Refused at first (every slot is held), served within the bounded wait.
    wait_for("a slot for the honest client", 15, || {
        send_good_from([127, 0, 0, 3], d.addr, &result("honest", "svc", b"late")).is_ok()
    });
    assert_eq!(
        d.wait_lines(1),
        vec!["PROCESS_SERVICE_CHECK_RESULT;honest;svc;2;late".to_string()]
    );
    wait_for("the first-packet timeouts in the log", 10, || {
        d.log_text()
            .contains("no complete packet within 1s (first_packet_timeout), 1 bytes pending")
    });
    drop(flood);
}

/// The counters behind the log lines and `/metrics`, from the receiver
/// itself, run in this process on a thread of its own.
#[test]
fn refusals_per_source_are_counted() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    raise_nofile();
    let cfg = picket_nsca_proto::config::ServerConfig {
        max_connections_per_source: 10,
        password: PASSWORD.as_bytes().to_vec(),
        ..Default::default()
    };
    let settings = Arc::new(picket_nsca::server::Settings::from_config(&cfg));
    let stats = Arc::new(picket_nsca::server::Stats::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let server_stats = Arc::clone(&stats);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let (out, mut results) = tokio::sync::mpsc::channel(16);
            let (_settings_tx, settings_rx) = tokio::sync::watch::channel(settings);
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            tokio::spawn(picket_nsca::server::serve(
                listener,
                settings_rx,
                out,
                server_stats,
                stop_rx,
            ));
            while let Some(batch) = results.recv().await {
                let _ = tx.send(batch);
            }
        });
    });
    let flood = one_byte_clients([127, 0, 0, 2], addr, 25);
    wait_for("15 refusals", 10, || {
        stats.refused_per_source.load(Ordering::Relaxed) >= 15
    });
    send_good_from([127, 0, 0, 3], addr, &result("honest", "svc", b"counted"))
        .expect("the honest client is served");
    let batch = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a result within 10 s");
    assert_eq!(batch[0].result.host_name, b"honest");
    assert_eq!(stats.refused_per_source.load(Ordering::Relaxed), 15);
    assert_eq!(stats.refused_over_limit.load(Ordering::Relaxed), 0);
    // Closing the flood gives its slots back (the server sees the resets).
    drop(flood);
    wait_for("the source's slots back", 10, || {
        one_byte_clients([127, 0, 0, 2], addr, 10)
            .into_iter()
            .all(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut init = [0u8; INIT_PACKET_LEN];
                s.read_exact(&mut init).is_ok()
            })
    });
    let _ = stop_tx.send(true);
    drop(stop_tx);
    let _ = server;
}

/// Every character some reader splits lines on (Python's `str.splitlines`).
const LINE_BREAKS: [&str; 10] = [
    "\n", "\r", "\u{0b}", "\u{0c}", "\u{1c}", "\u{1d}", "\u{1e}", "\u{85}", "\u{2028}", "\u{2029}",
];

/// How many lines Python's `str.splitlines` sees in `path` (UTF-8, undecodable
/// bytes kept as surrogates); `None` (skipped, loudly) without python3 outside CI.
fn python_lines(path: &std::path::Path) -> Option<usize> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys\n\
             data = open(sys.argv[1], 'rb').read().decode('utf-8', 'surrogateescape')\n\
             print(len(data.splitlines()))",
        )
        .arg(path)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse()
                .expect("a count"),
        ),
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 is needed for the splitlines check under CI: {other:?}"
            );
            eprintln!("SKIP: no python3; the str.splitlines check is not run");
            None
        }
    }
}

#[test]
fn no_line_break_for_any_reader_reaches_the_command_file() {
    // strict_names=0: names with line breaks are cut, as the C daemon cuts at a
    // newline, instead of refused.
    let d = Daemon::start(&picket_nsca(), 1, "strict_names=0\n");
    let (mut s, init) = connect(&d);
    let mut c = ClientSession::new(Method::Xor, PASSWORD.as_bytes(), &init, PacketFormat::V3)
        .expect("session");
    let mut buf = Vec::new();
    for (i, b) in LINE_BREAKS.iter().enumerate() {
        let output = format!("out{i}{b}[0] DISABLE_NOTIFICATIONS\tstill one line");
        let host = format!("h{i}{b}[0] DISABLE_NOTIFICATIONS");
        c.encode(&result(&host, "svc", output.as_bytes()), |_| {}, &mut buf);
    }
    s.write_all(&buf).expect("send");
    drop(s);
    let lines = d.wait_lines(LINE_BREAKS.len());
    assert_eq!(lines.len(), LINE_BREAKS.len(), "{lines:#?}");
    for (i, l) in lines.iter().enumerate() {
        let sep = if i == 0 { "\\n" } else { " " };
        assert_eq!(
            l,
            &format!(
                "PROCESS_SERVICE_CHECK_RESULT;h{i};svc;2;out{i}{sep}[0] DISABLE_NOTIFICATIONS\tstill one line"
            )
        );
    }
    if let Some(n) = python_lines(&d.command_file) {
        assert_eq!(n, LINE_BREAKS.len());
    }
}

#[test]
fn picket_send_nsca_keeps_line_breaks_from_a_c_nsca_command_file() {
    // Debian's nsca writes what it receives as it is; our send_nsca must not
    // hand it a line break that some reader of the command file splits on.
    let Some(debian) = debian_peer("/usr/sbin/nsca") else {
        return;
    };
    let d = Daemon::start(&debian, 1, "");
    let cfg = client_config(d.dir.path(), 1);
    let mut input = Vec::new();
    for (i, b) in LINE_BREAKS.iter().enumerate().skip(1) {
        input.extend_from_slice(
            format!("h{i}\tsvc\t2\tout{i}{b}[0] DISABLE_NOTIFICATIONS\tkept\n\x17").as_bytes(),
        );
    }
    let out = send(&picket_send_nsca(), d.port(), &cfg, &[], &input);
    assert!(out.status.success(), "{out:?}");
    let n = LINE_BREAKS.len() - 1;
    let lines = d.wait_lines(n);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(
            l,
            &format!(
                "PROCESS_SERVICE_CHECK_RESULT;h{};svc;2;out{} [0] DISABLE_NOTIFICATIONS\tkept",
                i + 1,
                i + 1
            )
        );
    }
    if let Some(k) = python_lines(&d.command_file) {
        assert_eq!(k, n);
    }
}

/// A SIGTERM as soon as the PID file is written (an init script that stops what it has
/// just started) is a clean stop, not a kill: the handlers are in place before the PID
/// file says the daemon is there.
#[test]
fn a_sigterm_once_the_pid_file_is_written_is_a_clean_stop() {
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("nsca.pid");
        let cfg = dir.path().join("nsca.cfg");
        std::fs::write(
            &cfg,
            format!(
                "server_address=127.0.0.1\nserver_port={}\npassword={PASSWORD}\n\
                 decryption_method=1\ncommand_file={}\npid_file={}\n",
                free_port(),
                dir.path().join("nagios.cmd").display(),
                pid_file.display()
            ),
        )
        .expect("config");
        let log = dir.path().join("daemon.log");
        let mut child = std::process::Command::new(picket_nsca())
            .args(["-f", "-c"])
            .arg(&cfg)
            .stdin(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start nsca");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !pid_file.exists() {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("nsca exited at start ({st})");
            }
            assert!(std::time::Instant::now() < deadline, "no PID file");
            std::thread::yield_now();
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal nsca");
        let st = child.wait().expect("wait");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(st.success(), "round {round}: {st}: {text}");
        assert!(text.contains("Caught SIGTERM"), "round {round}: {text}");
    }
}
