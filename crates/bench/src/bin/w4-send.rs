//! `w4-send`: the W4 latency benchmark's paced NSCA sender.
//!
//! Sends passive results at a fixed rate (result `i` is due at `start +
//! i / rate`) to one NSCA server on loopback, round-robin over `--hosts`
//! hosts, and writes the moment of each packet's `write(2)` (`CLOCK_REALTIME`,
//! ns) into its plugin output: `W4 <seq> <send_ns>`. The notification command
//! (`w4-stamp`) records when it starts, so the difference is the latency from
//! "send_nsca wrote the result" to "the notification command started".
//!
//! ```text
//! w4-send -p 5667 --rate 2000 --secs 40 --mode persistent -c 4 --password pw
//! w4-send -p 5667 --rate 2000 --secs 40 --mode per-result -c 32 --password pw
//! ```
//!
//! * `persistent`: `-c` connections, each sends every `-c`th result, one packet
//!   per `write(2)` (a long-lived `send_nsca` reading stdin, or a collector).
//! * `per-result`: one connection per result, as each `send_nsca` invocation
//!   does (connect, read the init packet, write one packet, close); `-c`
//!   workers take the due results in turn.
//!
//! A result that is due while all workers are busy is sent late, and its
//! timestamp is the late write: the sender's lag is reported separately
//! (`lag_*`) so a slow sender cannot hide as low latency. Bounded by `--secs`;
//! one JSON line on stdout at the end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use picket_nsca_proto::{
    CheckResult, ClientSession, INIT_PACKET_LEN, InitPacket, Method, PacketFormat,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    Persistent,
    PerResult,
}

#[derive(Parser, Debug)]
#[command(about = "Paced NSCA sender for the W4 latency benchmark (loopback)")]
struct Args {
    /// Server address.
    #[arg(short = 'H', long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(short, long)]
    port: u16,
    /// Results per second.
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    /// Seconds to send (warm-up included; the harness drops the first results).
    #[arg(long, default_value_t = 40)]
    secs: u64,
    /// Persistent connections, or one connection per result.
    #[arg(long, value_enum, default_value_t = Mode::Persistent)]
    mode: Mode,
    /// Connections (persistent) or workers (per-result).
    #[arg(short = 'c', long, default_value_t = 4)]
    conns: usize,
    /// Encryption method number.
    #[arg(short = 'm', long, default_value_t = 1)]
    method: i64,
    /// Shared password.
    #[arg(long, default_value = "")]
    password: String,
    /// Host names are `<prefix><n>`, n = seq mod hosts.
    #[arg(long, default_value_t = 5000)]
    hosts: u64,
    #[arg(long, default_value = "w4-host-")]
    host_prefix: String,
    /// Service description.
    #[arg(long, default_value = "w4")]
    service: String,
    /// Return code of every result (2 = CRITICAL: a volatile service notifies on each).
    #[arg(long, default_value_t = 2)]
    rc: i16,
}

struct Shared {
    args: Args,
    addr: SocketAddr,
    method: Method,
    start: Instant,
    total: u64,
    next: AtomicU64,
    sent: AtomicU64,
    failed: Mutex<Vec<u64>>,
    /// Lag of each send behind its schedule, µs (sampled: all of them, it is small).
    lags: Mutex<Vec<u32>>,
    /// Connect + init packet, µs (per-result mode).
    connects: Mutex<Vec<u32>>,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let method = Method::from_number(args.method)?.check_supported()?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .context("--host must be an IP address")?;
    if args.rate == 0 || args.conns == 0 || args.hosts == 0 {
        bail!("--rate, -c and --hosts must be at least 1");
    }
    let total = args.rate * args.secs;
    let shared = Arc::new(Shared {
        addr,
        method,
        start: Instant::now() + Duration::from_millis(200),
        total,
        next: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        failed: Mutex::new(Vec::new()),
        lags: Mutex::new(Vec::with_capacity(total as usize)),
        connects: Mutex::new(Vec::new()),
        args,
    });
    let t0_ns = now_ns() + 200_000_000;
    let mut threads = Vec::new();
    for j in 0..shared.args.conns {
        let sh = Arc::clone(&shared);
        threads.push(std::thread::spawn(move || match sh.args.mode {
            Mode::Persistent => persistent(&sh, j as u64),
            Mode::PerResult => per_result(&sh),
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let end_ns = now_ns();
    let pct = |v: &mut Vec<u32>, p: f64| -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        v.sort_unstable();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        f64::from(v[i]) / 1000.0
    };
    let mut lags = shared.lags.lock().map(|v| v.clone()).unwrap_or_default();
    let mut conns = shared
        .connects
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    let failed = shared.failed.lock().map(|v| v.clone()).unwrap_or_default();
    println!(
        "{{\"due\":{total},\"sent\":{},\"failed\":{:?},\"t0_ns\":{t0_ns},\"end_ns\":{end_ns},\"lag_p50_ms\":{:.3},\"lag_p99_ms\":{:.3},\"lag_max_ms\":{:.3},\"connect_p50_ms\":{:.3},\"connect_p99_ms\":{:.3},\"mode\":\"{:?}\",\"conns\":{},\"rate\":{}}}",
        shared.sent.load(Ordering::Relaxed),
        failed,
        pct(&mut lags, 0.5),
        pct(&mut lags, 0.99),
        pct(&mut lags, 1.0),
        pct(&mut conns, 0.5),
        pct(&mut conns, 0.99),
        shared.args.mode,
        shared.args.conns,
        shared.args.rate,
    );
    Ok(())
}

/// Sleep until result `seq` is due; returns how late we are, µs.
fn wait_due(sh: &Shared, seq: u64) -> u32 {
    let due = sh.start + Duration::from_nanos(seq * 1_000_000_000 / sh.args.rate);
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
        0
    } else {
        u32::try_from((now - due).as_micros()).unwrap_or(u32::MAX)
    }
}

fn connect(sh: &Shared) -> Result<(TcpStream, ClientSession)> {
    let mut s = TcpStream::connect_timeout(&sh.addr, Duration::from_secs(10))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut init = [0u8; INIT_PACKET_LEN];
    s.read_exact(&mut init)?;
    let init = InitPacket::decode(&init)?;
    let session = ClientSession::new(
        sh.method,
        sh.args.password.as_bytes(),
        &init,
        PacketFormat::V3,
    )?;
    Ok((s, session))
}

/// Encode result `seq` stamped with the current time, into `buf`.
fn encode(sh: &Shared, session: &mut ClientSession, seq: u64, buf: &mut Vec<u8>) {
    let r = CheckResult {
        timestamp: 0,
        return_code: sh.args.rc,
        host_name: format!("{}{}", sh.args.host_prefix, seq % sh.args.hosts).into_bytes(),
        service: sh.args.service.as_bytes().to_vec(),
        plugin_output: format!("W4 {seq} {}", now_ns()).into_bytes(),
    };
    buf.clear();
    session.encode(&r, |b| b.fill(0), buf);
}

fn record(sh: &Shared, lag: u32) {
    sh.sent.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut v) = sh.lags.lock() {
        v.push(lag);
    }
}

fn fail(sh: &Shared, seq: u64) {
    if let Ok(mut v) = sh.failed.lock() {
        v.push(seq);
    }
}

fn persistent(sh: &Shared, first: u64) {
    let mut conn: Option<(TcpStream, ClientSession)> = None;
    let mut buf = Vec::with_capacity(PacketFormat::V3.packet_len());
    let step = sh.args.conns as u64;
    let mut seq = first;
    while seq < sh.total {
        if conn.is_none() {
            conn = connect(sh).ok();
        }
        let lag = wait_due(sh, seq);
        let ok = match conn.as_mut() {
            Some((s, session)) => {
                encode(sh, session, seq, &mut buf);
                s.write_all(&buf).is_ok()
            }
            None => false,
        };
        if ok {
            record(sh, lag);
        } else {
            conn = None;
            fail(sh, seq);
        }
        seq += step;
    }
    if let Some((s, _)) = conn {
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut s = s;
        let mut sink = [0u8; 64];
        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    }
}

fn per_result(sh: &Shared) {
    let mut buf = Vec::with_capacity(PacketFormat::V3.packet_len());
    loop {
        let seq = sh.next.fetch_add(1, Ordering::Relaxed);
        if seq >= sh.total {
            return;
        }
        let lag = wait_due(sh, seq);
        let t = Instant::now();
        let ok = match connect(sh) {
            Ok((mut s, mut session)) => {
                let c = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                if let Ok(mut v) = sh.connects.lock() {
                    v.push(c);
                }
                encode(sh, &mut session, seq, &mut buf);
                // send_nsca writes and closes; it does not wait for the server.
                s.write_all(&buf).is_ok()
            }
            Err(_) => false,
        };
        if ok {
            record(sh, lag);
        } else {
            fail(sh, seq);
        }
    }
}
