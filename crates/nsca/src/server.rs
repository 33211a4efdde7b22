//! The NSCA receiver: accepts connections, runs one [`ServerSession`] per
//! connection and hands every accepted result to a bounded channel.
//!
//! It is a library component: the `nsca` binary drains the channel into the
//! command file ([`crate::writer`]); the `picket` daemon drains it straight
//! into its engine.
//!
//! Every connection is its own task with its own timeout, so a slow or
//! silent client holds only its own connection; the number of connections is
//! capped, in all and per source address, and the ones over a cap are closed
//! at once. A connection must complete its first packet within
//! `first_packet_timeout`, so clients that connect and say little give their
//! slots back soon.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BytesMut};
use picket_nsca_proto::command::{NamePolicy, check_names};
use picket_nsca_proto::crypto::IV_LEN;
use picket_nsca_proto::session::{EndOfStream, PacketError, ServerSession, end_of_stream};
use picket_nsca_proto::{CheckResult, DecodeError, LEGACY_PACKET_LEN, Method, PACKET_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::{debug, info, warn};

/// What a receiver needs to know; swap it through the `watch` channel to
/// reconfigure new connections (SIGHUP).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The decryption method.
    pub method: Method,
    /// The shared password.
    pub password: Vec<u8>,
    /// `max_packet_age` in seconds; 0 disables the check.
    pub max_packet_age: u32,
    /// How long a connection may take to send its next packet.
    pub socket_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once for one source (see [`source_key`]).
    pub max_connections_per_source: usize,
    /// How long a connection may take from its start to its first complete
    /// packet (at most `socket_timeout`).
    pub first_packet_timeout: Duration,
    /// How host and service names are checked.
    pub name_policy: NamePolicy,
    /// Log every connection and result (`debug=1`).
    pub debug: bool,
    /// `strict_mode_spoofing`: take a result only if its host name resolves
    /// to the client's address (an unresolvable name is refused, where the
    /// C daemon crashes).
    pub strict_mode_spoofing: bool,
    /// `source_allow_file` / `source_deny_file`: which client addresses may
    /// submit for which hosts (`None`: any, as the C daemon).
    pub source_rules: Option<Arc<picket_authz::SourceRules>>,
}

impl Settings {
    /// The settings `nsca.cfg` describes.
    pub fn from_config(c: &picket_nsca_proto::config::ServerConfig) -> Settings {
        Settings {
            method: c.decryption_method,
            password: c.password.clone(),
            max_packet_age: c.max_packet_age,
            socket_timeout: Duration::from_secs(u64::from(c.socket_timeout)),
            max_connections: c.max_connections as usize,
            max_connections_per_source: c.max_connections_per_source as usize,
            first_packet_timeout: Duration::from_secs(u64::from(
                c.first_packet_timeout.min(c.socket_timeout),
            )),
            name_policy: if c.strict_names {
                NamePolicy::Strict
            } else {
                NamePolicy::Compat
            },
            debug: c.debug,
            strict_mode_spoofing: c.strict_mode_spoofing,
            source_rules: match source_rules(c) {
                Ok(r) => r.map(Arc::new),
                Err(e) => {
                    // Fail closed: no result is taken until the tables can be read.
                    warn!("{e}; refusing every result until it can be read");
                    Some(Arc::new(picket_authz::SourceRules::new(
                        None,
                        Some(("(unreadable)", b"ALL : ALL\n")),
                    )))
                }
            },
        }
    }
}

/// Reads `source_allow_file` and `source_deny_file` (`None`: neither is set).
/// Call it at start to report an unreadable table as a configuration error.
pub fn source_rules(
    c: &picket_nsca_proto::config::ServerConfig,
) -> Result<Option<picket_authz::SourceRules>, String> {
    if c.source_allow_file.is_none() && c.source_deny_file.is_none() {
        return Ok(None);
    }
    let read =
        |p: &Option<std::path::PathBuf>, key: &str| -> Result<Option<(String, Vec<u8>)>, String> {
            match p {
                None => Ok(None),
                Some(p) => picket_config::read_config_file(p)
                    .map(|d| Some((p.display().to_string(), d.into_bytes())))
                    .map_err(|e| format!("{key} {}: {e}", p.display())),
            }
        };
    let allow = read(&c.source_allow_file, "source_allow_file")?;
    let deny = read(&c.source_deny_file, "source_deny_file")?;
    Ok(Some(picket_authz::SourceRules::new(
        allow.as_ref().map(|(n, d)| (n.as_str(), d.as_slice())),
        deny.as_ref().map(|(n, d)| (n.as_str(), d.as_slice())),
    )))
}

/// Packets one connection buffers (and one read can take). 64 rather than 16: fewer
/// reads, batches and wake-ups of the consumer per result (about a sixth less CPU per
/// result in `bench/pipeline`); the buffer's pages are touched only as data arrives.
const BUFFER_PACKETS: usize = 64;

/// One accepted check result and where it came from.
#[derive(Debug, Clone)]
pub struct Received {
    /// The result.
    pub result: CheckResult,
    /// The client's address.
    pub peer: SocketAddr,
    /// Server time (UNIX seconds) when it was decoded.
    pub received_at: u64,
}

/// Results decoded from one read of one connection, handed on together.
pub type Batch = Vec<Received>;

/// Counters of what the receiver did, for logs, tests and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted and served.
    pub connections: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_over_limit: AtomicU64,
    /// Connections closed at once because their source already had
    /// `max_connections_per_source` open.
    pub refused_per_source: AtomicU64,
    /// Results decoded and handed on.
    pub accepted: AtomicU64,
    /// Packets with a wrong version (usually a wrong password or method).
    pub rejected_version: AtomicU64,
    /// Packets with a bad CRC.
    pub rejected_crc: AtomicU64,
    /// Packets older (or newer) than `max_packet_age`, or replayed from
    /// another connection.
    pub rejected_age: AtomicU64,
    /// Results whose names would have made a malformed command.
    pub rejected_name: AtomicU64,
    /// Results refused by `strict_mode_spoofing`.
    pub rejected_spoofing: AtomicU64,
    /// Results refused by `source_allow_file` / `source_deny_file`.
    pub rejected_source: AtomicU64,
    /// Connections that ended in the middle of a packet.
    pub truncated: AtomicU64,
    /// Connections closed because the client went silent mid-packet or
    /// before sending anything.
    pub timeouts: AtomicU64,
    /// Connections closed because their first packet was not complete
    /// within `first_packet_timeout` (also counted in `timeouts`).
    pub first_packet_timeouts: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Binds the listening socket `nsca.cfg` describes: `server_address` (any
/// address when unset: IPv6 with IPv4-mapped addresses if the system has
/// IPv6, as the C daemon binds, else IPv4) and `server_port`. The socket is
/// non-blocking, ready for [`serve`].
pub fn bind(
    config: &picket_nsca_proto::config::ServerConfig,
) -> std::io::Result<std::net::TcpListener> {
    let port = config.server_port;
    let addrs: Vec<SocketAddr> = match &config.server_address {
        Some(a) => std::net::ToSocketAddrs::to_socket_addrs(&(a.as_str(), port))?.collect(),
        None => vec![
            SocketAddr::from(([0u16; 8], port)),
            SocketAddr::from(([0u8; 4], port)),
        ],
    };
    let mut last = std::io::Error::new(
        std::io::ErrorKind::AddrNotAvailable,
        "no address to listen on",
    );
    for a in &addrs {
        match std::net::TcpListener::bind(a) {
            Ok(l) => {
                l.set_nonblocking(true)?;
                return Ok(l);
            }
            Err(e) => last = std::io::Error::new(e.kind(), format!("could not bind to {a}: {e}")),
        }
    }
    Err(last)
}

/// The current time in UNIX seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What counts as one source for `max_connections_per_source`: the IPv4
/// address (IPv4-mapped IPv6 addresses included), or the /64 of an IPv6
/// address, which one host usually has to itself.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Open connections per source.
#[derive(Default)]
struct PerSource {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerSource`], given back on drop.
struct SourceSlot {
    table: Arc<PerSource>,
    key: IpAddr,
}

impl PerSource {
    /// Takes a slot for `key` unless it already holds `max`; `Err` carries
    /// how many it holds.
    fn acquire(table: &Arc<PerSource>, key: IpAddr, max: usize) -> Result<SourceSlot, usize> {
        let mut open = table.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= max {
            return Err(*n);
        }
        *n += 1;
        Ok(SourceSlot {
            table: Arc::clone(table),
            key,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Refusals are logged at most once a second (with how many there were), so
/// that a flood of connections cannot flood the log as well; each one is
/// counted in [`Stats`].
struct RefusalLog {
    last: Option<Instant>,
    unreported: u64,
}

impl RefusalLog {
    /// `Some(n)` when it is time to log, `n` counting this refusal and the
    /// ones not logged before it.
    fn due(&mut self) -> Option<u64> {
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

/// Where the receiver hands the results it accepts: a bounded channel
/// (`mpsc::Sender<Batch>`, the `nsca` binary's writer) or a consumer's own
/// queue (the `picket` daemon hands them to its engine thread directly).
pub trait Sink: Clone + Send + Sync + 'static {
    /// Hand on one batch, waiting while the consumer is busy (the connection
    /// reads nothing more meanwhile: TCP back-pressure); `Err` when the
    /// consumer is gone (the connection closes).
    fn send(&self, batch: Batch) -> impl std::future::Future<Output = Result<(), ()>> + Send;
}

impl Sink for mpsc::Sender<Batch> {
    async fn send(&self, batch: Batch) -> Result<(), ()> {
        mpsc::Sender::send(self, batch).await.map_err(|_| ())
    }
}

/// Serves NSCA on `listener` until `shutdown` turns true, sending results to
/// `out`. When the receiving end of `out` is slow, connections wait (TCP
/// back-pressure); nothing is dropped.
pub async fn serve<S: Sink>(
    listener: TcpListener,
    settings: watch::Receiver<Arc<Settings>>,
    out: S,
    stats: Arc<Stats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(settings.borrow().max_connections));
    let mut granted = settings.borrow().max_connections;
    let per_source = Arc::new(PerSource::default());
    let mut over_limit_log = RefusalLog {
        last: None,
        unreported: 0,
    };
    let mut per_source_log = RefusalLog {
        last: None,
        unreported: 0,
    };
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break } else { continue }
            }
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let s = settings.borrow().clone();
        // Follow a changed max_connections (SIGHUP) by growing the pool; a
        // smaller value takes effect at the next restart.
        if s.max_connections > granted {
            limit.add_permits(s.max_connections - granted);
            granted = s.max_connections;
        }
        let source = match PerSource::acquire(
            &per_source,
            source_key(peer.ip()),
            s.max_connections_per_source,
        ) {
            Ok(slot) => slot,
            Err(open) => {
                Stats::bump(&stats.refused_per_source);
                if let Some(n) = per_source_log.due() {
                    warn!(
                        "Refusing connection from {peer}: {open} connections from this source already open (max_connections_per_source); {n} refused since the last report"
                    );
                }
                drop(stream);
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            Stats::bump(&stats.refused_over_limit);
            if let Some(n) = over_limit_log.due() {
                warn!(
                    "Refusing connection from {peer}: {} connections already open (max_connections); {n} refused since the last report",
                    s.max_connections
                );
            }
            drop(stream);
            continue;
        };
        let out = out.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            handle_connection(stream, peer, &s, &out, &stats).await;
            drop(permit);
            drop(source);
        });
    }
}

/// Serves one connection (also used for `--inetd`, on standard input).
pub async fn handle_connection<S>(
    mut stream: S,
    peer: SocketAddr,
    settings: &Settings,
    out: &impl Sink,
    stats: &Stats,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Stats::bump(&stats.connections);
    let first_deadline = tokio::time::Instant::now() + settings.first_packet_timeout;
    if settings.debug {
        info!("Connection from {} port {}", peer.ip(), peer.port());
    }
    // A CSPRNG (ChaCha, seeded and periodically reseeded from the OS) per
    // thread: no system call per connection.
    let mut iv = [0u8; IV_LEN];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut iv);
    let now = unix_now();
    let (mut session, init) = match ServerSession::new(
        settings.method,
        &settings.password,
        iv,
        now,
        settings.max_packet_age,
    ) {
        Ok(s) => s,
        Err(e) => {
            warn!("{peer}: {e}");
            return;
        }
    };
    match tokio::time::timeout(settings.socket_timeout, stream.write_all(&init.encode())).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            debug!("{peer}: could not send init packet: {e}");
            return;
        }
        Err(_) => {
            Stats::bump(&stats.timeouts);
            warn!("{peer}: timed out sending the init packet");
            return;
        }
    }

    // Room for several packets, so that one read() can take many; not
    // zeroed (a connection that sends one packet costs little).
    let mut buf = BytesMut::with_capacity(BUFFER_PACKETS * PACKET_LEN);
    let mut batch: Batch = Vec::new();
    // Whether a complete packet arrived: until then `first_packet_timeout`
    // bounds the whole wait, not each read.
    let mut had_packet = false;
    loop {
        // Process every complete packet buffered, then hand them on at once.
        let mut close = false;
        // One clock reading per read: every packet of it arrived at once.
        let now = unix_now();
        while buf.len() >= PACKET_LEN {
            had_packet = true;
            let outcome = check_packet(
                &mut session,
                &mut buf[..PACKET_LEN],
                peer,
                settings,
                stats,
                now,
            )
            .await;
            buf.advance(PACKET_LEN);
            match outcome {
                Outcome::Accept(r) => batch.push(r),
                Outcome::Skip => {}
                Outcome::Close => {
                    close = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            // Counted per read, not per packet: the counter is shared by every connection.
            stats
                .accepted
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            if out.send(std::mem::take(&mut batch)).await.is_err() {
                return;
            }
        }
        if close {
            return;
        }
        if buf.capacity() - buf.len() < PACKET_LEN {
            buf.reserve(BUFFER_PACKETS * PACKET_LEN);
        }
        let next = tokio::time::Instant::now() + settings.socket_timeout;
        let (deadline, first) = if !had_packet && first_deadline < next {
            (first_deadline, true)
        } else {
            (next, false)
        };
        let read = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await;
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                debug!("{peer}: read error: {e}");
                return;
            }
            Err(_) => {
                // Silent client: what is pending decides, as at EOF.
                let pending = buf.len();
                if first && pending != 0 && pending != LEGACY_PACKET_LEN {
                    Stats::bump(&stats.timeouts);
                    Stats::bump(&stats.first_packet_timeouts);
                    warn!(
                        "{peer}: no complete packet within {}s (first_packet_timeout), {pending} bytes pending; closing connection",
                        settings.first_packet_timeout.as_secs()
                    );
                    return;
                }
                if pending != 0 && pending != LEGACY_PACKET_LEN {
                    Stats::bump(&stats.timeouts);
                    warn!(
                        "{peer}: timed out after {}s with {pending} bytes of a packet pending; closing connection",
                        settings.socket_timeout.as_secs()
                    );
                    return;
                }
                if pending == 0 {
                    Stats::bump(&stats.timeouts);
                    if first {
                        Stats::bump(&stats.first_packet_timeouts);
                    }
                    debug!(
                        "{peer}: idle for {}s; closing connection",
                        if first {
                            settings.first_packet_timeout
                        } else {
                            settings.socket_timeout
                        }
                        .as_secs()
                    );
                }
                0
            }
        };
        if n == 0 {
            match end_of_stream(buf.len()) {
                EndOfStream::Clean => {}
                EndOfStream::Legacy => {
                    if let Outcome::Accept(r) = check_packet(
                        &mut session,
                        &mut buf[..],
                        peer,
                        settings,
                        stats,
                        unix_now(),
                    )
                    .await
                    {
                        Stats::bump(&stats.accepted);
                        let _ = out.send(vec![r]).await;
                    }
                }
                EndOfStream::Truncated(n) => {
                    Stats::bump(&stats.truncated);
                    warn!(
                        "{peer}: connection ended {n} bytes into a packet; the partial packet is dropped"
                    );
                }
            }
            if settings.debug {
                info!("End of connection from {peer}");
            }
            return;
        }
    }
}

/// What to do with one packet.
enum Outcome {
    /// A good result.
    Accept(Received),
    /// A result refused on its own; the connection stays usable.
    Skip,
    /// A broken packet: the stream can no longer be trusted.
    Close,
}

/// Decodes and checks one packet.
async fn check_packet(
    session: &mut ServerSession,
    packet: &mut [u8],
    peer: SocketAddr,
    settings: &Settings,
    stats: &Stats,
    now: u64,
) -> Outcome {
    let result = match session.decode(packet, now) {
        Ok(r) => r,
        Err(e) => {
            let counter = match &e {
                PacketError::Decode(DecodeError::Version(_)) => &stats.rejected_version,
                PacketError::Decode(DecodeError::Crc { .. }) => &stats.rejected_crc,
                PacketError::Stale { .. } | PacketError::ForeignTimestamp { .. } => {
                    &stats.rejected_age
                }
                _ => &stats.truncated,
            };
            Stats::bump(counter);
            warn!("Dropping packet from {peer}: {e}; closing connection");
            return Outcome::Close;
        }
    };
    if let Err(e) = check_names(&result, settings.name_policy) {
        Stats::bump(&stats.rejected_name);
        warn!(
            "Dropping result from {peer} for host '{}' service '{}': {e}",
            crate::printable(&result.host_name),
            crate::printable(&result.service)
        );
        // The stream is intact: keep reading the connection's other results.
        return Outcome::Skip;
    }
    if let Some(rules) = &settings.source_rules {
        let host = String::from_utf8_lossy(&result.host_name);
        let server = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
        if let Err(d) = rules.decide(&host, peer, server) {
            Stats::bump(&stats.rejected_source);
            warn!(
                "Dropping result from {peer}: refusing {} (source_allow_file/source_deny_file)",
                crate::printable(d.object().as_bytes())
            );
            return Outcome::Skip;
        }
    }
    if settings.strict_mode_spoofing && !host_resolves_to(&result.host_name, peer).await {
        Stats::bump(&stats.rejected_spoofing);
        warn!(
            "Dropping result from {peer}: host name '{}' does not resolve to the client's address (strict_mode_spoofing)",
            crate::printable(&result.host_name)
        );
        return Outcome::Skip;
    }
    if settings.debug {
        if result.is_host_result() {
            info!(
                "HOST CHECK -> Host Name: '{}', Return Code: '{}', Output: '{}'",
                crate::printable(&result.host_name),
                result.return_code,
                crate::printable(&result.plugin_output)
            );
        } else {
            info!(
                "SERVICE CHECK -> Host Name: '{}', Service Description: '{}', Return Code: '{}', Output: '{}'",
                crate::printable(&result.host_name),
                crate::printable(&result.service),
                result.return_code,
                crate::printable(&result.plugin_output)
            );
        }
    }
    Outcome::Accept(Received {
        result,
        peer,
        received_at: now,
    })
}

/// Whether `host` resolves to the peer's address (IPv4-mapped addresses
/// compare as IPv4).
async fn host_resolves_to(host: &[u8], peer: SocketAddr) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    let canon = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    let want = canon(peer.ip());
    match tokio::net::lookup_host((host, 0)).await {
        Ok(mut addrs) => addrs.any(|a| canon(a.ip()) == want),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_is_an_ipv4_address_or_an_ipv6_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(source_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(source_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            source_key(ip("2001:db8:1:2:aaaa::1")),
            source_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            source_key(ip("2001:db8:1:2::1")),
            source_key(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn a_source_slot_is_given_back_on_drop() {
        let t = Arc::new(PerSource::default());
        let k = "192.0.2.7".parse().unwrap();
        let a = PerSource::acquire(&t, k, 2).unwrap();
        let b = PerSource::acquire(&t, k, 2).unwrap();
        assert_eq!(PerSource::acquire(&t, k, 2).err(), Some(2));
        drop(a);
        let c = PerSource::acquire(&t, k, 2).unwrap();
        drop((b, c));
        assert!(t.open.lock().unwrap().is_empty());
    }
}
