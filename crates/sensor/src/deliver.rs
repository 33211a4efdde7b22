//! Delivery targets (edge): Picket's `POST /api/connection-events` (contract C2, bearer
//! token) and any NSCA server (`Denied <daemon>-<client>` results of the host's `TCP
//! Wrappers` service, all of a batch over one connection, with the repository's NSCA
//! client transport).
//!
//! The HTTP client is a minimal blocking HTTP/1.1 client over `std::net::TcpStream`
//! (one request per connection, `Connection: close`, bounded time and response size):
//! plain HTTP only — put Picket's API on loopback, a private network or behind a TLS
//! proxy on the same host.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use picket_correlator::{ConnectionEvent, Source};
use picket_nsca::client::Connection;
use picket_nsca_proto::config::ClientConfig;
use picket_nsca_proto::{CheckResult, PacketFormat};

/// At most this many events per API request (C2 allows 10,000).
pub const API_BATCH: usize = 5000;

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took the batch.
    Delivered,
    /// Try again later (unreachable, busy, timed out, wrong token: the text says which).
    Retry(String),
    /// The server will never take this batch (a 400 naming the bad event).
    Reject(String),
}

/// Picket's JSON API.
#[derive(Debug, Clone)]
pub struct Api {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The bearer token (first line of the token file).
    pub token: String,
    /// Bound on the whole exchange.
    pub timeout: Duration,
}

impl Api {
    /// Posts `events` as one request, tagged `batch` (the spool's id and the batch's
    /// sequence number) so that Picket takes a resend of a batch it already took as a
    /// no-op (`202 {"duplicate": true}`).
    #[must_use]
    pub fn post(&self, events: &[ConnectionEvent], batch: Option<(&str, u64)>) -> Outcome {
        #[derive(serde::Serialize)]
        struct Batch<'a> {
            sensor: &'a str,
            seq: u64,
        }
        #[derive(serde::Serialize)]
        struct Body<'a> {
            events: &'a [ConnectionEvent],
            #[serde(skip_serializing_if = "Option::is_none")]
            batch: Option<Batch<'a>>,
        }
        let batch = batch.map(|(sensor, seq)| Batch { sensor, seq });
        let body = match serde_json::to_vec(&Body { events, batch }) {
            Ok(b) => b,
            Err(e) => return Outcome::Reject(format!("cannot encode the batch: {e}")),
        };
        match self.request(&body) {
            Ok((202, _)) => Outcome::Delivered,
            Ok((400, text)) => Outcome::Reject(format!("HTTP 400: {}", clip(&text))),
            Ok((413, text)) => Outcome::Reject(format!("HTTP 413: {}", clip(&text))),
            Ok((code, text)) => Outcome::Retry(format!("HTTP {code}: {}", clip(&text))),
            Err(e) => Outcome::Retry(format!("{}:{}: {e}", self.host, self.port)),
        }
    }

    fn request(&self, body: &[u8]) -> io::Result<(u16, String)> {
        let deadline = Instant::now() + self.timeout;
        let addrs: Vec<_> = (self.host.as_str(), self.port).to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for host");
        let mut stream = None;
        for a in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(&a, left) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let mut s = stream.ok_or(last)?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        s.set_read_timeout(Some(left))?;
        s.set_write_timeout(Some(left))?;
        let head = format!(
            "POST /api/connection-events HTTP/1.1\r\nHost: {}:{}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\
             User-Agent: picket-sensor/{}\r\n\r\n",
            self.host,
            self.port,
            self.token,
            body.len(),
            env!("CARGO_PKG_VERSION")
        );
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut resp = Vec::new();
        s.take(64 * 1024).read_to_end(&mut resp)?;
        let text = String::from_utf8_lossy(&resp);
        let status = text
            .strip_prefix("HTTP/1.")
            .and_then(|r| r.get(2..5))
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP response"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        Ok((status, body))
    }
}

fn clip(s: &str) -> String {
    let s: String = s
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.trim().to_string()
}

/// An NSCA server.
#[derive(Debug, Clone)]
pub struct Nsca {
    /// Host name or address.
    pub host: String,
    /// Port (5667).
    pub port: u16,
    /// `send_nsca.cfg`.
    pub config: ClientConfig,
    /// The service the results are for (`TCP Wrappers`).
    pub service: String,
    /// Bound on the whole exchange.
    pub timeout: Duration,
}

/// The seed's output for an event: `Denied <daemon>-<client>`, and for an aggregated one
/// ` (N kind[, proto/port])` after it (which `picket_correlator::parse_denied` ignores).
#[must_use]
pub fn denied_output(e: &ConnectionEvent) -> String {
    let client = match &e.source {
        Source::Addr(ip) => ip.to_string(),
        Source::Name(n) => n.clone(),
        Source::Unknown => "unknown".into(),
    };
    let daemon = e.daemon.as_deref().unwrap_or("unknown");
    let mut out = format!("Denied {daemon}-{client}");
    if e.count > 1 || e.kind != picket_correlator::Kind::Refused {
        out.push_str(&format!(" ({} {}", e.count, e.kind.name()));
        if let (Some(p), Some(n)) = (e.proto, e.dest_port) {
            out.push_str(&format!(", {}/{n}", p.name()));
        }
        out.push(')');
    }
    out
}

impl Nsca {
    /// Sends one result per event over one connection.
    #[must_use]
    pub fn send(&self, events: &[ConnectionEvent]) -> Outcome {
        let format = if self.config.legacy_2_7_mode {
            PacketFormat::Legacy27
        } else {
            PacketFormat::V3
        };
        let deadline = Instant::now() + self.timeout;
        let res = (|| {
            let mut c = Connection::open(
                &self.host,
                self.port,
                deadline,
                self.config.encryption_method,
                &self.config.password,
                format,
            )?;
            for e in events {
                c.send(&CheckResult {
                    timestamp: 0,
                    return_code: 2,
                    host_name: e.reporter.as_bytes().to_vec(),
                    service: self.service.as_bytes().to_vec(),
                    plugin_output: denied_output(e).into_bytes(),
                })?;
            }
            c.finish()
        })();
        match res {
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Retry(format!("{}:{}: {e}", self.host, self.port)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_correlator::{Kind, Proto};

    #[test]
    fn outputs() {
        let e = ConnectionEvent::new(
            1,
            "web1",
            Source::addr("192.0.2.1".parse().expect("ip")),
            Kind::Refused,
        )
        .daemon("sshd");
        assert_eq!(denied_output(&e), "Denied sshd-192.0.2.1");
        let mut e = ConnectionEvent::new(1, "web1", Source::Unknown, Kind::FirewallDrop)
            .daemon("DROP-IN")
            .port(Proto::Tcp, 23);
        e.count = 7;
        assert_eq!(
            denied_output(&e),
            "Denied DROP-IN-unknown (7 firewall_drop, tcp/23)"
        );
        let back = picket_correlator::parse_denied("Denied", 1, "web1", &denied_output(&e))
            .expect("parses");
        assert_eq!(back.daemon.as_deref(), Some("DROP-IN"));
    }
}
