//! Connection events: one normalized observation of a refused (or dropped, or trapped)
//! connection, and the parser that turns the seed's `Denied <daemon>-<client>` results into
//! events.
//!
//! Everything here comes from the network: names are cut and sanitized, the raw text is
//! capped, and the parser looks at a bounded prefix of its input and never panics.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::net::canonical;

/// The raw text kept with an event, in bytes.
pub const RAW_CAP: usize = 256;
/// Reporter, daemon and client names are cut to this many bytes.
pub const NAME_CAP: usize = 64;
/// The parser reads at most this many bytes of a result's output.
pub const PARSE_CAP: usize = 1024;
/// Default result prefix of the seed's handler (`Denied $2-$1`).
pub const DEFAULT_DENIED_PREFIX: &str = "Denied";

/// What the sensor saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Refused by TCP wrappers (hosts.deny, `tcpd`, libwrap-linked daemons).
    Refused,
    /// Dropped (or rejected) by the host's firewall (nftables/iptables LOG lines).
    FirewallDrop,
    /// An authentication failure (e.g. sshd).
    AuthFail,
    /// A touch of a trap port (a listener on a port nothing legitimate uses).
    Trap,
}

impl Kind {
    /// Short name, as in the configuration and the outputs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Refused => "refused",
            Kind::FirewallDrop => "firewall_drop",
            Kind::AuthFail => "auth_fail",
            Kind::Trap => "trap",
        }
    }
}

/// Transport protocol of the destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (no ports).
    Icmp,
}

impl Proto {
    /// `tcp`, `udp`, `icmp`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }

    /// Parses `tcp`, `udp`, `icmp` (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "icmp" => Some(Proto::Icmp),
            _ => None,
        }
    }
}

/// Who connected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A known address (IPv4-mapped IPv6 addresses are stored as IPv4).
    Addr(IpAddr),
    /// Only a host name is known (`%h` resolved); sanitized and cut to [`NAME_CAP`].
    Name(String),
    /// The address was lost (`Denied sshd-unknown`: the client reset the connection before
    /// an inetd-mode wrapper could read it, or a `paranoid` name). Unknown clients are one
    /// source of their own: counted and correlated, never dropped.
    Unknown,
}

impl Source {
    /// A source from an address (canonicalized).
    #[must_use]
    pub fn addr(ip: IpAddr) -> Self {
        Source::Addr(canonical(ip))
    }

    /// The address, if known.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Source::Addr(ip) => Some(*ip),
            _ => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Addr(ip) => write!(f, "{ip}"),
            Source::Name(n) => f.write_str(n),
            Source::Unknown => f.write_str("unknown"),
        }
    }
}

/// One observation. Build it with [`ConnectionEvent::new`] and set what is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionEvent {
    /// When it happened (seconds since the epoch, from the sensor or the result).
    pub time: i64,
    /// The reporting host: the host object name of the machine that saw it.
    pub reporter: String,
    /// Who connected.
    pub source: Source,
    /// The address that was hit, when known.
    pub dest_addr: Option<IpAddr>,
    /// The port that was hit, when known.
    pub dest_port: Option<u16>,
    /// The port's protocol, when known (TCP when a port is given without one).
    pub proto: Option<Proto>,
    /// The daemon (libwrap daemon name, `sshd`, a firewall rule prefix), when known.
    pub daemon: Option<String>,
    /// What happened.
    pub kind: Kind,
    /// How many connections this event stands for (a sensor may aggregate); at least 1
    /// (1 when absent in JSON).
    #[serde(default = "one")]
    pub count: u32,
    /// The original text (a result's output, a log line), capped at [`RAW_CAP`] bytes
    /// (empty when absent in JSON).
    #[serde(default)]
    pub raw: String,
}

fn one() -> u32 {
    1
}

impl ConnectionEvent {
    /// An event with nothing but time, reporter, source and kind known; count 1.
    #[must_use]
    pub fn new(time: i64, reporter: &str, source: Source, kind: Kind) -> Self {
        ConnectionEvent {
            time,
            reporter: reporter.to_string(),
            source,
            dest_addr: None,
            dest_port: None,
            proto: None,
            daemon: None,
            kind,
            count: 1,
            raw: String::new(),
        }
    }

    /// Sets the destination port (and its protocol).
    #[must_use]
    pub fn port(mut self, proto: Proto, port: u16) -> Self {
        self.proto = Some(proto);
        self.dest_port = Some(port);
        self
    }

    /// Sets the daemon.
    #[must_use]
    pub fn daemon(mut self, daemon: &str) -> Self {
        self.daemon = Some(daemon.to_string());
        self
    }

    /// Enforces the caps: names sanitized and cut, raw text cut, count at least 1, source
    /// address canonical. The correlator calls it on every event it is given.
    #[must_use]
    pub fn bounded(mut self) -> Self {
        if !is_clean(&self.reporter) {
            self.reporter = clean_name(&self.reporter);
        }
        if let Some(d) = &self.daemon {
            if !is_clean(d) {
                self.daemon = Some(clean_name(d));
            }
        }
        if let Source::Name(n) = &self.source {
            if !is_clean(n) {
                self.source = Source::Name(clean_name(n));
            }
        }
        if let Source::Addr(ip) = self.source {
            self.source = Source::Addr(canonical(ip));
        }
        self.dest_addr = self.dest_addr.map(canonical);
        if self.dest_port.is_some() && self.proto.is_none() {
            self.proto = Some(Proto::Tcp);
        }
        self.count = self.count.max(1);
        if self.raw.len() > RAW_CAP {
            let cut = floor_char_boundary(&self.raw, RAW_CAP);
            self.raw.truncate(cut);
        }
        self
    }
}

/// A name from the network made safe for an output, a log line or a shell: libwrap's set of
/// harmless bytes without `,` (others become `_`; `,` separates the lists of the
/// `SCAN INCIDENT` log line), cut to [`NAME_CAP`] bytes.
#[must_use]
pub fn clean_name(s: &str) -> String {
    let cut = floor_char_boundary(s, NAME_CAP);
    let mut out = picket_tcpwrap::sanitize(&s[..cut]);
    if out.contains(',') {
        out = out.replace(',', "_");
    }
    out
}

/// Would [`clean_name`] leave `s` as it is?
fn is_clean(s: &str) -> bool {
    s.len() <= NAME_CAP
        && s.bytes()
            .all(|b| b != b',' && picket_tcpwrap::expand::is_ok_byte(b))
}

/// The largest index `<= i` that is a char boundary of `s`.
pub(crate) fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Why a result that starts with the Denied prefix is not a usable event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeniedError {
    /// The output does not start with the prefix: not a Denied result (not an error; the
    /// caller passes the result on as usual).
    #[error("not a Denied result")]
    NotDenied,
    /// The prefix is there but nothing follows it.
    #[error("nothing after the prefix")]
    Empty,
    /// No `-` between daemon and client.
    #[error("no '-' between daemon and client in \"{0}\"")]
    NoSeparator(String),
    /// The daemon part is empty or too long.
    #[error("bad daemon name in \"{0}\"")]
    BadDaemon(String),
    /// The client part is neither an address, `unknown`/`paranoid`, nor a host name.
    #[error("bad client in \"{0}\"")]
    BadClient(String),
}

/// Parses a result's output of the form `<prefix> <daemon>-<client>` (the seed's
/// `Denied $2-$1`, from `%h %d`) into an event refused on `reporter` at `time`.
///
/// * The client is the part after the **last** `-` when that part is an address (an address
///   has no `-`, so daemon names with dashes work); `unknown` and `paranoid` give
///   [`Source::Unknown`]; otherwise the part after the **first** `-` is a host name
///   (letters, digits, `.`, `-`, `_`; at most 253 bytes).
/// * Only the first line and the first [`PARSE_CAP`] bytes are read; text after the
///   client (separated by whitespace) is ignored but kept in `raw`.
pub fn parse_denied(
    prefix: &str,
    time: i64,
    reporter: &str,
    output: &str,
) -> Result<ConnectionEvent, DeniedError> {
    let head = &output[..floor_char_boundary(output, PARSE_CAP)];
    let line = head.split(['\n', '\r']).next().unwrap_or("");
    let rest = line.strip_prefix(prefix).ok_or(DeniedError::NotDenied)?;
    if !prefix.is_empty() && !rest.starts_with([' ', '\t']) && !rest.is_empty() {
        return Err(DeniedError::NotDenied);
    }
    let token = rest.split_whitespace().next().ok_or(DeniedError::Empty)?;
    let shown = || {
        let cut = floor_char_boundary(token, NAME_CAP);
        picket_tcpwrap::sanitize(&token[..cut])
    };
    let (last_d, last_c) = token
        .rsplit_once('-')
        .ok_or_else(|| DeniedError::NoSeparator(shown()))?;
    let (daemon, source) = if let Ok(ip) = last_c.parse::<IpAddr>() {
        (last_d, Source::addr(ip))
    } else if last_c.eq_ignore_ascii_case("unknown") || last_c.eq_ignore_ascii_case("paranoid") {
        (last_d, Source::Unknown)
    } else {
        let (d, c) = token
            .split_once('-')
            .ok_or_else(|| DeniedError::NoSeparator(shown()))?;
        let ok = !c.is_empty()
            && c.len() <= 253
            && !c.starts_with(['-', '.'])
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
        if !ok {
            return Err(DeniedError::BadClient(shown()));
        }
        (d, Source::Name(c.to_ascii_lowercase()))
    };
    if daemon.is_empty() || daemon.len() > NAME_CAP {
        return Err(DeniedError::BadDaemon(shown()));
    }
    let mut ev = ConnectionEvent::new(time, reporter, source, Kind::Refused).daemon(daemon);
    ev.raw = line.to_string();
    Ok(ev.bounded())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<ConnectionEvent, DeniedError> {
        parse_denied(DEFAULT_DENIED_PREFIX, 100, "web1", s)
    }

    #[test]
    fn seed_outputs() {
        let e = p("Denied sshd-192.0.2.7").expect("ok");
        assert_eq!(e.daemon.as_deref(), Some("sshd"));
        assert_eq!(e.source, Source::Addr("192.0.2.7".parse().expect("ip")));
        assert_eq!(e.kind, Kind::Refused);
        assert_eq!((e.time, e.reporter.as_str(), e.count), (100, "web1", 1));
        assert_eq!(e.raw, "Denied sshd-192.0.2.7");
        let e = p("Denied in.tel-netd-2001:db8::1 trailing text\nsecond").expect("ok");
        assert_eq!(e.daemon.as_deref(), Some("in.tel-netd"));
        assert_eq!(e.source, Source::Addr("2001:db8::1".parse().expect("ip")));
        assert_eq!(e.raw, "Denied in.tel-netd-2001:db8::1 trailing text");
        let e = p("Denied sshd-::ffff:198.51.100.1").expect("ok");
        assert_eq!(e.source, Source::Addr("198.51.100.1".parse().expect("ip")));
        assert_eq!(
            p("Denied sshd-unknown").expect("ok").source,
            Source::Unknown
        );
        assert_eq!(
            p("Denied sshd-paranoid").expect("ok").source,
            Source::Unknown
        );
        let e = p("Denied in.ftpd-Scan-Box.example.org").expect("ok");
        assert_eq!(e.daemon.as_deref(), Some("in.ftpd"));
        assert_eq!(e.source, Source::Name("scan-box.example.org".into()));
    }

    #[test]
    fn not_denied_and_malformed() {
        assert_eq!(p("OK - all fine"), Err(DeniedError::NotDenied));
        assert_eq!(p("Deniedsshd-1.2.3.4"), Err(DeniedError::NotDenied));
        assert_eq!(p("Denied "), Err(DeniedError::Empty));
        assert_eq!(p("Denied"), Err(DeniedError::Empty));
        assert_eq!(
            p("Denied sshd"),
            Err(DeniedError::NoSeparator("sshd".into()))
        );
        assert_eq!(
            p("Denied -1.2.3.4"),
            Err(DeniedError::BadDaemon("-1.2.3.4".into()))
        );
        assert_eq!(
            p("Denied sshd-;rm$(x)"),
            Err(DeniedError::BadClient("sshd-_rm__x_".into()))
        );
        assert!(p(&format!("Denied {}-1.2.3.4", "d".repeat(65))).is_err());
        // A custom prefix.
        let e = parse_denied("REFUSED:", 5, "h", "REFUSED: rpcbind-10.0.0.1").expect("ok");
        assert_eq!(e.daemon.as_deref(), Some("rpcbind"));
    }

    #[test]
    fn hostile_names_are_cleaned() {
        let mut e = ConnectionEvent::new(0, "web1;\x1b[2J", Source::Name("a b".into()), Kind::Trap);
        e.raw = "x".repeat(1000);
        e.count = 0;
        let e = e.bounded();
        assert_eq!(e.reporter, "web1___2J");
        assert_eq!(e.source, Source::Name("a_b".into()));
        assert_eq!((e.raw.len(), e.count), (RAW_CAP, 1));
        let long = "é".repeat(100);
        assert!(clean_name(&long).len() <= NAME_CAP);
    }
}
