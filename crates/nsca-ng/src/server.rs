//! The NSCA-ng receiver: accept, TLS-PSK handshake, then the
//! [`ServerSession`] of the connection, start to end, on one of the
//! receiver's threads (each blocks in `accept` and is reused, see
//! [`serve`]); every command goes through [`Authorizer::decide`] and, when
//! allowed, to the [`Sink`] before the client gets its `OKAY`. The `OKAY`s
//! and `FAIL`s for every complete command of one read go out in one TLS
//! record.
//!
//! A refused command gets Debian's `FAIL You're not authorized`, a warning
//! naming identity, peer and object, and a count per identity and reason.
//! Counters are keyed by the *configured* block (`"*"` for identities that
//! fall back to it, `(unknown)` for none), so a client cannot grow them.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::ssl::{HandshakeError, Ssl, SslContext, SslStream};
use picket_nsca::printable;
use picket_nsca_ng_proto::{Authorizer, NOT_AUTHORIZED, ServerEvent, ServerSession};
use tracing::{info, warn};

/// Where accepted commands go.
pub trait Sink: Send + Sync {
    /// Takes one authorized command line (with its `\n`). It may block
    /// (back-pressure: the client waits for its `OKAY`); `Err` is sent to the
    /// client as `FAIL <msg>`.
    fn submit(&self, identity: &str, peer: SocketAddr, command: Vec<u8>) -> Result<(), String>;
}

/// How the receiver runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `max_command_size` (0: none).
    pub max_command_size: usize,
    /// `timeout` (None: none).
    pub timeout: Option<Duration>,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
}

impl Options {
    /// From `nsca-ng.cfg`.
    pub fn from_config(cfg: &picket_nsca_ng_proto::ServerConfig) -> Self {
        Options {
            max_command_size: cfg.max_command_size,
            timeout: (cfg.timeout > 0.0).then(|| Duration::from_secs_f64(cfg.timeout.min(1e9))),
            max_connections: 1024,
        }
    }
}

/// What the receiver did, for logs, tests and `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections closed at once (over `max_connections`).
    pub refused_over_limit: AtomicU64,
    /// Handshakes that failed without an identity (not TLS, no PSK…).
    pub handshake_failures: AtomicU64,
    /// `(block, outcome)` → count; outcomes: `accepted`, `refused_host`,
    /// `refused_service`, `refused_command`, `refused_malformed`,
    /// `refused_unknown_identity`, `bad_key`, `sink_error`, `protocol_error`.
    pub by_identity: Mutex<BTreeMap<(String, String), u64>>,
    /// Block → UNIX time of its last accepted command.
    pub last_submission: Mutex<BTreeMap<String, u64>>,
    active: AtomicUsize,
}

impl Stats {
    fn count(&self, block: &str, outcome: &str) {
        if let Ok(mut m) = self.by_identity.lock() {
            *m.entry((block.to_string(), outcome.to_string()))
                .or_default() += 1;
        }
    }

    /// The count for one block and outcome.
    pub fn get(&self, block: &str, outcome: &str) -> u64 {
        self.by_identity
            .lock()
            .ok()
            .and_then(|m| m.get(&(block.to_string(), outcome.to_string())).copied())
            .unwrap_or(0)
    }

    /// Prometheus text: `picket_nsca_ng_commands_total{identity,outcome}`,
    /// `picket_nsca_ng_last_submission_seconds{identity}`, connection counters.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let _ = writeln!(
            out,
            "# HELP picket_nsca_ng_commands_total NSCA-ng commands by configured identity and outcome.\n\
             # TYPE picket_nsca_ng_commands_total counter"
        );
        if let Ok(m) = self.by_identity.lock() {
            for ((id, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "picket_nsca_ng_commands_total{{identity=\"{}\",outcome=\"{}\"}} {n}",
                    esc(id),
                    esc(outcome)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP picket_nsca_ng_last_submission_seconds When an identity last had a command accepted.\n\
             # TYPE picket_nsca_ng_last_submission_seconds gauge"
        );
        if let Ok(m) = self.last_submission.lock() {
            for (id, t) in m.iter() {
                let _ = writeln!(
                    out,
                    "picket_nsca_ng_last_submission_seconds{{identity=\"{}\"}} {t}",
                    esc(id)
                );
            }
        }
        for (name, v) in [
            ("connections_total", &self.connections),
            ("connections_refused_total", &self.refused_over_limit),
            ("handshake_failures_total", &self.handshake_failures),
        ] {
            let _ = writeln!(
                out,
                "# TYPE picket_nsca_ng_{name} counter\npicket_nsca_ng_{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
    }
}

/// Everything a connection needs.
pub struct Receiver {
    /// The TLS context (from [`crate::tls::server_context`]).
    pub tls: SslContext,
    /// Who may submit what.
    pub authorizer: Arc<Authorizer>,
    /// Limits.
    pub options: Options,
    /// Where commands go.
    pub sink: Arc<dyn Sink>,
    /// Counters.
    pub stats: Arc<Stats>,
}

/// Threads kept waiting in `accept` once their connection ended (more are
/// started when needed, up to `max_connections`).
const IDLE_THREADS: usize = 16;
/// An idle thread beyond the first ends after this long without a connection.
const IDLE_FOR: Duration = Duration::from_secs(60);
/// How often a thread waiting in `accept` looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// The threads serving one listener. Each waits in a blocking `accept`
/// (the listener's `SO_RCVTIMEO` bounds the wait), serves the connection
/// it got start to end (blocking reads with `timeout` as the socket's read
/// timeout), and goes back to `accept`. The kernel wakes one waiting
/// thread per connection: no hand-off from an acceptor to a worker (a
/// second wake-up, which on a loaded machine cost tens of milliseconds
/// per session), no thread started per connection (~20 system calls, a
/// stack's page faults and its `munmap` for every one-result session).
struct Acceptors {
    listener: TcpListener,
    rx: Arc<Receiver>,
    stop: Arc<AtomicBool>,
    /// Threads running.
    threads: AtomicUsize,
    /// Threads waiting in `accept`.
    idle: AtomicUsize,
}

impl Acceptors {
    /// Starts one more thread unless `max_connections` (+ one that only
    /// refuses) are running.
    fn spawn(self: &Arc<Self>) {
        if self.threads.fetch_add(1, Ordering::SeqCst) > self.rx.options.max_connections {
            self.threads.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("nsca-ng-conn".into())
            .spawn(move || {
                me.run();
                me.threads.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            self.threads.fetch_sub(1, Ordering::SeqCst);
            warn!("NSCA-ng: cannot start a connection thread: {e}");
        }
    }

    fn run(self: &Arc<Self>) {
        let rx = &self.rx;
        let mut idle_since = std::time::Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            self.idle.fetch_add(1, Ordering::SeqCst);
            let got = self.listener.accept();
            let others_idle = self.idle.fetch_sub(1, Ordering::SeqCst) - 1;
            match got {
                Ok((stream, peer)) => {
                    rx.stats.connections.fetch_add(1, Ordering::Relaxed);
                    if others_idle == 0 {
                        self.spawn();
                    }
                    if rx.stats.active.load(Ordering::Relaxed) >= rx.options.max_connections {
                        rx.stats.refused_over_limit.fetch_add(1, Ordering::Relaxed);
                        warn!(
                            "NSCA-ng: connection from {peer} closed at once: {} connections open (max_connections)",
                            rx.options.max_connections
                        );
                        drop(stream);
                        continue;
                    }
                    rx.stats.active.fetch_add(1, Ordering::Relaxed);
                    connection(rx, stream, peer);
                    rx.stats.active.fetch_sub(1, Ordering::Relaxed);
                    if self.idle.load(Ordering::SeqCst) >= IDLE_THREADS {
                        return;
                    }
                    idle_since = std::time::Instant::now();
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    // Another thread still waits; `serve` restarts one if
                    // two left at the same moment.
                    if others_idle > 0 && idle_since.elapsed() >= IDLE_FOR {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    warn!("NSCA-ng: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// Serves `listener` until `stop` is set (looked at every 200 ms);
/// connections still open then are served to their end.
pub fn serve(
    listener: TcpListener,
    rx: Arc<Receiver>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    listener.set_nonblocking(false)?;
    let t = nix::sys::time::TimeVal::new(0, STOP_CHECK.as_micros() as _);
    nix::sys::socket::setsockopt(&listener, nix::sys::socket::sockopt::ReceiveTimeout, &t)
        .map_err(std::io::Error::from)?;
    let acceptors = Arc::new(Acceptors {
        listener,
        rx,
        stop: Arc::clone(&stop),
        threads: AtomicUsize::new(0),
        idle: AtomicUsize::new(0),
    });
    while !stop.load(Ordering::Relaxed) {
        // Always one thread in `accept` (unless every allowed one is busy).
        if acceptors.idle.load(Ordering::SeqCst) == 0 {
            acceptors.spawn();
        }
        std::thread::sleep(STOP_CHECK);
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One connection, start to end.
pub fn connection(rx: &Receiver, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nonblocking(false);
    // The handshake gets at most 10 s (or `timeout`, if shorter).
    let hs = rx
        .options
        .timeout
        .map_or(Duration::from_secs(10), |t| t.min(Duration::from_secs(10)));
    let _ = stream.set_read_timeout(Some(hs));
    let _ = stream.set_write_timeout(Some(hs));
    let ssl = match Ssl::new(&rx.tls) {
        Ok(s) => s,
        Err(e) => {
            warn!("NSCA-ng: TLS setup for {peer} failed: {e}");
            return;
        }
    };
    let mut tls = match ssl.accept(stream) {
        Ok(s) => s,
        Err(e) => {
            let (who, why) = match &e {
                HandshakeError::Failure(m) => (
                    crate::tls::offered_identity(m.ssl()).map(str::to_string),
                    m.error().to_string(),
                ),
                // A timeout is no verdict on the key.
                HandshakeError::WouldBlock(_) => (None, "handshake timed out".to_string()),
                HandshakeError::SetupFailure(s) => (None, s.to_string()),
            };
            match who {
                Some(id) => {
                    let block = block_of(&rx.authorizer, &id);
                    rx.stats.count(&block, "bad_key");
                    warn!(
                        "NSCA-ng: TLS handshake with {peer} failed for identity {}: {} (wrong key?)",
                        printable(id.as_bytes()),
                        printable(why.as_bytes())
                    );
                }
                None => {
                    rx.stats.handshake_failures.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        "NSCA-ng: TLS handshake with {peer} failed: {}",
                        printable(why.as_bytes())
                    );
                }
            }
            return;
        }
    };
    let identity = crate::tls::offered_identity(tls.ssl())
        .unwrap_or_default()
        .to_string();
    let block = block_of(&rx.authorizer, &identity);
    let who = format!("{}@{peer}", printable(identity.as_bytes()));
    // The client sends its `Finished` and `MOIN` in two segments; with
    // Nagle on its side the second waits for our ACK of the first, which
    // the kernel delays (40 ms) since nothing goes back after a handshake
    // without session tickets. Acknowledge now.
    let _ = socket2::SockRef::from(tls.get_ref()).set_tcp_quickack(true);
    let _ = tls.get_ref().set_read_timeout(rx.options.timeout);
    let _ = tls
        .get_ref()
        .set_write_timeout(rx.options.timeout.or(Some(Duration::from_secs(60))));
    session(rx, &mut tls, &identity, &block, &who, peer);
    let _ = tls.shutdown();
}

fn block_of(a: &Authorizer, identity: &str) -> String {
    a.block(identity)
        .map_or_else(|| "(unknown)".to_string(), |b| b.identity.clone())
}

fn session(
    rx: &Receiver,
    tls: &mut SslStream<TcpStream>,
    identity: &str,
    block: &str,
    who: &str,
    peer: SocketAddr,
) {
    let mut s = ServerSession::new(rx.options.max_command_size);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(ev) = s.poll() {
            match ev {
                ServerEvent::Command(cmd) => match rx.authorizer.decide(identity, &cmd) {
                    Ok(()) => match rx.sink.submit(identity, peer, cmd) {
                        Ok(()) => {
                            rx.stats.count(block, "accepted");
                            if let Ok(mut m) = rx.stats.last_submission.lock() {
                                m.insert(block.to_string(), unix_now());
                            }
                            s.answer(Ok(()));
                        }
                        Err(msg) => {
                            rx.stats.count(block, "sink_error");
                            warn!("NSCA-ng: command from {who} not queued: {msg}");
                            s.answer(Err(&msg));
                        }
                    },
                    Err(denial) => {
                        rx.stats
                            .count(block, &format!("refused_{}", denial.reason()));
                        warn!(
                            "NSCA-ng: refusing {} from identity {} at {peer}: {}",
                            printable(denial.object().as_bytes()),
                            printable(identity.as_bytes()),
                            printable(cmd.strip_suffix(b"\n").unwrap_or(&cmd))
                        );
                        s.answer(Err(NOT_AUTHORIZED));
                    }
                },
                ServerEvent::Refused(why) => {
                    rx.stats.count(block, "protocol_error");
                    warn!("NSCA-ng: {why} from {who}");
                }
                ServerEvent::ClientBailed(msg) => {
                    info!("NSCA-ng: {who} said: BAIL {}", printable(msg.as_bytes()));
                }
                ServerEvent::ServerBailed(msg) => {
                    rx.stats.count(block, "protocol_error");
                    warn!("NSCA-ng: {who}: {msg}");
                }
                ServerEvent::Moin { .. } | ServerEvent::Ping | ServerEvent::Quit => {}
            }
        }
        let out = s.take_output();
        if !out.is_empty() && (tls.write_all(&out).is_err() || tls.flush().is_err()) {
            return;
        }
        if s.is_closed() {
            return;
        }
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => s.receive(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                s.timed_out();
                let out = s.take_output();
                let _ = tls.write_all(&out);
                warn!("NSCA-ng: {who}: connection timed out");
                return;
            }
            Err(_) => return,
        }
    }
}
