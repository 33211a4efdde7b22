//! `nsca-loadgen`: drives any NSCA 2.x server (Picket's or the C one) with a
//! bounded number of results and reports what it measured as one JSON line.
//!
//! ```text
//! nsca-loadgen -p 5667 -n 200000 -k 1000 -c 4 -m 1 --password secret
//! ```
//!
//! `-k` results per connection, `-c` connections at a time. A connection
//! that does not finish within `--stall-secs` counts as stalled. Traffic goes
//! only to the address given (loopback in every benchmark here), and the run
//! stops after `-n` results or `--max-secs`, whichever comes first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use picket_nsca_proto::{
    CheckResult, ClientSession, INIT_PACKET_LEN, InitPacket, Method, PacketFormat,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
#[command(about = "Bounded NSCA load generator (loopback benchmarks)")]
struct Args {
    /// Server address.
    #[arg(short = 'H', long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(short, long)]
    port: u16,
    /// Total results to send.
    #[arg(short = 'n', long, default_value_t = 100_000)]
    results: u64,
    /// Results per connection.
    #[arg(short = 'k', long, default_value_t = 1000)]
    per_connection: u64,
    /// Concurrent connections.
    #[arg(short = 'c', long, default_value_t = 4)]
    concurrency: usize,
    /// Encryption method number.
    #[arg(short = 'm', long, default_value_t = 1)]
    method: i64,
    /// Shared password.
    #[arg(long, default_value = "")]
    password: String,
    /// A connection slower than this counts as stalled (and is abandoned).
    #[arg(long, default_value_t = 15)]
    stall_secs: u64,
    /// Hard bound on the whole run.
    #[arg(long, default_value_t = 120)]
    max_secs: u64,
    /// Host names are `<prefix><n>` for n in 0..hosts.
    #[arg(long, default_value_t = 1)]
    hosts: u64,
    /// Host name prefix.
    #[arg(long, default_value = "loadgen-host-")]
    host_prefix: String,
    /// Service description.
    #[arg(long, default_value = "loadgen")]
    service: String,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    connections: AtomicU64,
    stalled: AtomicU64,
    failed: AtomicU64,
    max_connection_ms: AtomicU64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let method = Method::from_number(args.method)?.check_supported()?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .context("--host must be an IP address")?;
    if args.per_connection == 0 || args.concurrency == 0 {
        bail!("-k and -c must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let counters = Arc::new(Counters::default());
    let args = Arc::new(args);
    let started = Instant::now();
    let cpu0 = cpu_time();
    rt.block_on(async {
        let total_conns = args.results.div_ceil(args.per_connection);
        let next = Arc::new(AtomicUsize::new(0));
        let deadline = started + Duration::from_secs(args.max_secs);
        let mut workers = Vec::new();
        for _ in 0..args.concurrency {
            let (args, counters, next) = (args.clone(), counters.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if i >= total_conns || Instant::now() >= deadline {
                        break;
                    }
                    let k = args
                        .per_connection
                        .min(args.results - i * args.per_connection);
                    let t = Instant::now();
                    let res = tokio::time::timeout(
                        Duration::from_secs(args.stall_secs),
                        one_connection(addr, &args, method, i, k, &counters),
                    )
                    .await;
                    let ms = t.elapsed().as_millis() as u64;
                    counters.max_connection_ms.fetch_max(ms, Ordering::Relaxed);
                    counters.connections.fetch_add(1, Ordering::Relaxed);
                    match res {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            counters.stalled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(cpu0);
    let sent = counters.sent.load(Ordering::Relaxed);
    println!(
        "{{\"sent\":{sent},\"seconds\":{secs:.3},\"results_per_sec\":{:.0},\"connections\":{},\"stalled\":{},\"failed\":{},\"max_connection_ms\":{},\"loadgen_cpu_sec\":{:.3},\"method\":{},\"per_connection\":{},\"concurrency\":{}}}",
        sent as f64 / secs.max(1e-9),
        counters.connections.load(Ordering::Relaxed),
        counters.stalled.load(Ordering::Relaxed),
        counters.failed.load(Ordering::Relaxed),
        counters.max_connection_ms.load(Ordering::Relaxed),
        cpu.as_secs_f64(),
        method.number(),
        args.per_connection,
        args.concurrency,
    );
    Ok(())
}

async fn one_connection(
    addr: SocketAddr,
    args: &Args,
    method: Method,
    conn_index: u64,
    k: u64,
    counters: &Counters,
) -> Result<()> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut init = [0u8; INIT_PACKET_LEN];
    s.read_exact(&mut init).await?;
    let init = InitPacket::decode(&init)?;
    let mut session =
        ClientSession::new(method, args.password.as_bytes(), &init, PacketFormat::V3)?;
    let stateless = matches!(method, Method::None | Method::Xor);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut result = CheckResult {
        timestamp: 0,
        return_code: 2,
        host_name: Vec::new(),
        service: args.service.as_bytes().to_vec(),
        plugin_output: b"Denied sshd-127.0.0.2".to_vec(),
    };
    // XOR and none restart per packet: one encoded packet per host serves
    // again and again, which keeps the generator's own CPU small.
    let mut cached: Vec<Vec<u8>> = Vec::new();
    for j in 0..k {
        let host = (conn_index * args.per_connection + j) % args.hosts.max(1);
        if stateless && (host as usize) < cached.len() {
            buf.extend_from_slice(&cached[host as usize]);
        } else {
            result.host_name = format!("{}{host}", args.host_prefix).into_bytes();
            let start = buf.len();
            session.encode(&result, |b| b.fill(0), &mut buf);
            if stateless && cached.len() < 4096 && host as usize == cached.len() {
                cached.push(buf[start..].to_vec());
            }
        }
        if buf.len() >= 60 * 1024 {
            s.write_all(&buf).await?;
            counters.sent.fetch_add(
                (buf.len() / PacketFormat::V3.packet_len()) as u64,
                Ordering::Relaxed,
            );
            buf.clear();
        }
    }
    if !buf.is_empty() {
        s.write_all(&buf).await?;
        counters.sent.fetch_add(
            (buf.len() / PacketFormat::V3.packet_len()) as u64,
            Ordering::Relaxed,
        );
    }
    s.shutdown().await?;
    // Wait for the server to close: the results are then processed.
    let mut sink = [0u8; 64];
    while s.read(&mut sink).await? > 0 {}
    Ok(())
}

fn cpu_time() -> Duration {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF);
    match usage {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| {
                Duration::new(tv.tv_sec() as u64, (tv.tv_usec() as u32) * 1000)
            };
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}
