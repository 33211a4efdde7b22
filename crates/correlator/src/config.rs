//! Detection thresholds and allow-lists, and the `detection.cfg` parser.
//!
//! The file is in the spirit of `nagios.cfg`: one `key=value` per line, `#` or `;` starts a
//! comment line, blank lines are ignored, spaces around `=` and the value are trimmed. Keys
//! that take lists (`allow`, `trap_ports`, `trap_daemons`) may be repeated and take
//! comma-separated values. Every error names `file:line`. Durations are seconds, or a number
//! with `s`, `m`, `h` or `d`.
//!
//! ```text
//! # detection.cfg
//! hold=30s
//! horizontal_hosts=3
//! horizontal_window=10m
//! allow=192.0.2.10          # the monitoring server
//! allow=198.51.100.0/24     # the vulnerability scanners
//! trap_ports=tcp/23,tcp/2323,1080
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{DEFAULT_DENIED_PREFIX, Proto};
use crate::net::Prefix;

/// The longest lone-refusal hold allowed (the promise: a lone refusal notifies at most this
/// late).
pub const MAX_HOLD: i64 = 60;

/// The largest `max_*` cap (sources, prefixes, incidents, held refusals, names): the maps
/// number their entries with 32-bit slots, and a cap this size is already gigabytes.
pub const MAX_CAP: usize = 100_000_000;

/// All thresholds. [`Config::default`] has the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// `denied_prefix`: the prefix of the seed's results (`Denied`).
    pub denied_prefix: String,
    /// `hold`: how long a lone refusal waits to be folded into an incident before it is
    /// released as the seed's alert (30 s; at most [`MAX_HOLD`]).
    pub hold: i64,
    /// `quiet`: an incident closes after this long without events (30 min).
    pub quiet: i64,
    /// `recurrence`: an incident opened within this long after the same key's last close is
    /// a recurrence (24 h).
    pub recurrence: i64,
    /// `update_interval`: at most one `updated` transition per incident per this long (60 s).
    pub update_interval: i64,
    /// `horizontal_hosts`: distinct reporting hosts that refused one source (3)...
    pub horizontal_hosts: u32,
    /// `horizontal_window`: ...within this long (10 min).
    pub horizontal_window: i64,
    /// `vertical_ports`: distinct ports or daemons of one host, without firewall drops (4)...
    pub vertical_ports: u32,
    /// `vertical_fw_ports`: ...or distinct ports of one host counting firewall drops (15)...
    pub vertical_fw_ports: u32,
    /// `vertical_window`: ...within this long (5 min).
    pub vertical_window: i64,
    /// `distributed_sources`: distinct sources of one /24 (/64) (3)...
    pub distributed_sources: u32,
    /// `distributed_hosts`: ...on at least this many distinct hosts (2)...
    pub distributed_hosts: u32,
    /// `distributed_window`: ...hitting the same port within this long (60 s).
    pub distributed_window: i64,
    /// `ipv4_prefix`: the IPv4 aggregation prefix (24).
    pub ipv4_prefix: u8,
    /// `ipv6_prefix`: the IPv6 aggregation prefix (64).
    pub ipv6_prefix: u8,
    /// `slow_hosts`: slow sweeps: distinct hosts (5)...
    pub slow_hosts: u32,
    /// `slow_ports`: slow vertical scans: distinct ports or daemons of one host (8)...
    pub slow_ports: u32,
    /// `slow_window`: ...within this long (1 h; 0 disables the slow detectors).
    pub slow_window: i64,
    /// `trap_ports`: any touch is an incident (none by default).
    pub trap_ports: Vec<(Proto, u16)>,
    /// `trap_daemons`: daemon names that are traps (none by default).
    pub trap_daemons: Vec<String>,
    /// `escalate_hosts`: escalate (notify again) when the distinct hosts of an incident reach
    /// this, then 10×, 100×... (100; 0: never).
    pub escalate_hosts: u32,
    /// `escalate_ports`: the same for distinct ports (100; 0: never).
    pub escalate_ports: u32,
    /// `allow`: sources (addresses or networks) that are never correlated nor held.
    pub allow: Vec<Prefix>,
    /// `max_sources`: sources tracked at once (100,000); the least recently seen is evicted.
    pub max_sources: usize,
    /// `max_prefixes`: (prefix, port) pairs tracked for the distributed detector (100,000).
    pub max_prefixes: usize,
    /// `max_entries_per_source`: distinct (host, port, kind) kept per source (256).
    pub max_entries_per_source: usize,
    /// `max_incidents`: open incidents at once (10,000); the oldest is closed.
    pub max_incidents: usize,
    /// `max_held`: lone refusals held at once (10,000); beyond, the oldest is released early.
    pub max_held: usize,
    /// `max_names`: distinct host and daemon names remembered (65,536); beyond, `(other)`.
    pub max_names: usize,
    /// `denied_services`: the service descriptions whose passive results are the seed's
    /// Denied results (`TCP Wrappers`); comma-separated, repeatable (the first given replaces
    /// the default). Read by the daemon, not by the correlator.
    #[serde(default = "default_denied_services")]
    pub denied_services: Vec<String>,
    /// `incident_host`: the host of the service that incident transitions are submitted to
    /// (e.g. `network`); with `incident_service`. Unset: incidents are only logged.
    #[serde(default)]
    pub incident_host: Option<String>,
    /// `incident_service`: that service (e.g. `Port scans`, a volatile passive service).
    #[serde(default)]
    pub incident_service: Option<String>,
    /// Offset from UTC of the times shown in outputs, in seconds (set by the caller from the
    /// local zone; not a file key).
    #[serde(default)]
    pub utc_offset: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            denied_prefix: DEFAULT_DENIED_PREFIX.to_string(),
            hold: 30,
            quiet: 30 * 60,
            recurrence: 24 * 3600,
            update_interval: 60,
            horizontal_hosts: 3,
            horizontal_window: 600,
            vertical_ports: 4,
            vertical_fw_ports: 15,
            vertical_window: 300,
            distributed_sources: 3,
            distributed_hosts: 2,
            distributed_window: 60,
            ipv4_prefix: 24,
            ipv6_prefix: 64,
            slow_hosts: 5,
            slow_ports: 8,
            slow_window: 3600,
            trap_ports: Vec::new(),
            trap_daemons: Vec::new(),
            escalate_hosts: 100,
            escalate_ports: 100,
            allow: Vec::new(),
            max_sources: 100_000,
            max_prefixes: 100_000,
            max_entries_per_source: 256,
            max_incidents: 10_000,
            max_held: 10_000,
            max_names: 65_536,
            denied_services: default_denied_services(),
            incident_host: None,
            incident_service: None,
            utc_offset: 0,
        }
    }
}

/// The seed's service: `TCP Wrappers`.
pub const DEFAULT_DENIED_SERVICE: &str = "TCP Wrappers";

fn default_denied_services() -> Vec<String> {
    vec![DEFAULT_DENIED_SERVICE.to_string()]
}

impl Config {
    /// How long per-source observations are kept: the longest window.
    #[must_use]
    pub fn retention(&self) -> i64 {
        self.horizontal_window
            .max(self.vertical_window)
            .max(self.slow_window)
            .max(1)
    }

    /// A result's output as a connection event, with this configuration's `denied_prefix`
    /// ([`crate::parse_denied`]).
    pub fn parse_result(
        &self,
        time: i64,
        reporter: &str,
        output: &str,
    ) -> Result<crate::ConnectionEvent, crate::DeniedError> {
        crate::parse_denied(&self.denied_prefix, time, reporter, output)
    }

    /// Is `ip` allow-listed?
    #[must_use]
    pub fn allowed(&self, ip: std::net::IpAddr) -> bool {
        self.allow.iter().any(|p| p.contains(ip))
    }

    /// Parses a `detection.cfg`; `name` is the file name shown in errors.
    pub fn parse(name: &str, text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let mut services_given = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| ConfigError {
                file: name.to_string(),
                line,
                message,
            };
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            let (k, v) = t
                .split_once('=')
                .ok_or_else(|| err(format!("expected key=value, got \"{}\"", shown(t))))?;
            let (k, v) = (k.trim(), strip_comment(v).trim());
            if v.is_empty() && k != "denied_prefix" {
                return Err(err(format!("{k}: missing value")));
            }
            if k == "denied_services" && !services_given {
                services_given = true;
                c.denied_services.clear();
            }
            c.set(k, v).map_err(err)?;
        }
        c.check().map_err(|(line_key, message)| ConfigError {
            file: name.to_string(),
            line: last_line_of(text, line_key),
            message,
        })?;
        Ok(c)
    }

    fn set(&mut self, k: &str, v: &str) -> Result<(), String> {
        let dur = |v: &str| parse_duration(v).map_err(|e| format!("{k}: {e}"));
        let num = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("{k}: \"{}\" is not a whole number", shown(v)))
        };
        // The maps index their entries with u32 slots: a cap stays far below that.
        let size = |v: &str| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{k}: \"{}\" is not a positive number", shown(v)))
                .and_then(|n| {
                    if n > MAX_CAP {
                        Err(format!("{k}: {n} is more than {MAX_CAP}"))
                    } else {
                        Ok(n)
                    }
                })
        };
        match k {
            "denied_prefix" => self.denied_prefix = v.to_string(),
            "hold" => self.hold = dur(v)?,
            "quiet" => self.quiet = dur(v)?,
            "recurrence" => self.recurrence = dur(v)?,
            "update_interval" => self.update_interval = dur(v)?,
            "horizontal_hosts" => self.horizontal_hosts = num(v)?,
            "horizontal_window" => self.horizontal_window = dur(v)?,
            "vertical_ports" => self.vertical_ports = num(v)?,
            "vertical_fw_ports" => self.vertical_fw_ports = num(v)?,
            "vertical_window" => self.vertical_window = dur(v)?,
            "distributed_sources" => self.distributed_sources = num(v)?,
            "distributed_hosts" => self.distributed_hosts = num(v)?,
            "distributed_window" => self.distributed_window = dur(v)?,
            "ipv4_prefix" => {
                self.ipv4_prefix = num(v)?
                    .try_into()
                    .ok()
                    .filter(|n| *n <= 32)
                    .ok_or_else(|| format!("{k}: must be 0-32"))?;
            }
            "ipv6_prefix" => {
                self.ipv6_prefix = num(v)?
                    .try_into()
                    .ok()
                    .filter(|n| *n <= 128)
                    .ok_or_else(|| format!("{k}: must be 0-128"))?;
            }
            "slow_hosts" => self.slow_hosts = num(v)?,
            "slow_ports" => self.slow_ports = num(v)?,
            "slow_window" => self.slow_window = dur(v)?,
            "escalate_hosts" => self.escalate_hosts = num(v)?,
            "escalate_ports" => self.escalate_ports = num(v)?,
            "max_sources" => self.max_sources = size(v)?,
            "max_prefixes" => self.max_prefixes = size(v)?,
            "max_entries_per_source" => self.max_entries_per_source = size(v)?,
            "max_incidents" => self.max_incidents = size(v)?,
            "max_held" => self.max_held = size(v)?,
            "max_names" => self.max_names = size(v)?,
            "allow" => {
                for item in list(v) {
                    self.allow
                        .push(Prefix::parse(item).map_err(|e| format!("{k}: {e}"))?);
                }
            }
            "trap_ports" => {
                for item in list(v) {
                    self.trap_ports
                        .push(parse_port(item).map_err(|e| format!("{k}: {e}"))?);
                }
            }
            "denied_services" => {
                for item in list(v) {
                    if !self.denied_services.iter().any(|s| s == item) {
                        self.denied_services.push(item.to_string());
                    }
                }
            }
            "incident_host" => self.incident_host = Some(object_name(k, v)?),
            "incident_service" => self.incident_service = Some(object_name(k, v)?),
            "trap_daemons" => {
                for item in list(v) {
                    self.trap_daemons.push(item.to_string());
                }
            }
            _ => return Err(format!("unknown key \"{}\"", shown(k))),
        }
        Ok(())
    }

    /// Cross-field checks: `(key whose last line is blamed, message)`.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if !(0..=MAX_HOLD).contains(&self.hold) {
            return Err((
                "hold",
                format!("hold: at most {MAX_HOLD} seconds (a lone refusal must still notify)"),
            ));
        }
        for (key, v) in [
            ("horizontal_hosts", self.horizontal_hosts),
            ("vertical_ports", self.vertical_ports),
            ("vertical_fw_ports", self.vertical_fw_ports),
            ("distributed_sources", self.distributed_sources),
        ] {
            if v < 2 {
                return Err((
                    key,
                    format!("{key}: at least 2 (a single refused connection is never a scan)"),
                ));
            }
        }
        for (key, v) in [
            ("slow_hosts", self.slow_hosts),
            ("slow_ports", self.slow_ports),
        ] {
            if v < 2 && self.slow_window > 0 {
                return Err((key, format!("{key}: at least 2")));
            }
        }
        let needed = [
            self.horizontal_hosts,
            self.vertical_ports,
            self.vertical_fw_ports,
            self.slow_hosts,
            self.slow_ports,
        ]
        .into_iter()
        .max()
        .unwrap_or(0) as usize;
        if self.max_entries_per_source < needed {
            return Err((
                "max_entries_per_source",
                format!("max_entries_per_source: at least {needed} (the largest count threshold)"),
            ));
        }
        if self.incident_host.is_some() != self.incident_service.is_some() {
            let key = if self.incident_host.is_some() {
                "incident_host"
            } else {
                "incident_service"
            };
            return Err((
                key,
                "incident_host and incident_service go together (or neither: incidents are only logged)".to_string(),
            ));
        }
        if self.denied_services.is_empty() {
            return Err((
                "denied_services",
                "denied_services: at least one service".to_string(),
            ));
        }
        for (key, v) in [
            ("quiet", self.quiet),
            ("horizontal_window", self.horizontal_window),
            ("vertical_window", self.vertical_window),
            ("distributed_window", self.distributed_window),
        ] {
            if v <= 0 {
                return Err((key, format!("{key}: must be positive")));
            }
        }
        Ok(())
    }
}

/// A `detection.cfg` error: `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    /// The file name as given.
    pub file: String,
    /// 1-based line (for a cross-field error: the last line setting the key, or 0).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses `30`, `30s`, `10m`, `1h`, `1d` into seconds.
pub fn parse_duration(v: &str) -> Result<i64, String> {
    let (n, mult) = match v.as_bytes().last() {
        Some(b's') => (&v[..v.len() - 1], 1),
        Some(b'm') => (&v[..v.len() - 1], 60),
        Some(b'h') => (&v[..v.len() - 1], 3600),
        Some(b'd') => (&v[..v.len() - 1], 86400),
        _ => (v, 1),
    };
    n.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n <= 366 * 86400)
        .ok_or_else(|| format!("\"{}\" is not a duration (e.g. 30, 30s, 10m, 1h)", shown(v)))
}

/// Parses `tcp/23`, `udp/69` or `23` (TCP).
pub fn parse_port(v: &str) -> Result<(Proto, u16), String> {
    let (proto, port) = match v.split_once('/') {
        Some((p, n)) => (
            Proto::parse(p).ok_or_else(|| format!("unknown protocol \"{}\"", shown(p)))?,
            n,
        ),
        None => (Proto::Tcp, v),
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("\"{}\" is not a port (1-65535)", shown(v)))?;
    Ok((proto, port))
}

/// An object name for a result: no `;` (it would shift the fields of a command line) and
/// no control character.
fn object_name(k: &str, v: &str) -> Result<String, String> {
    if v.contains(';') || v.chars().any(char::is_control) {
        return Err(format!("{k}: \"{}\" is not an object name", shown(v)));
    }
    Ok(v.to_string())
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A trailing `# comment` after a value (a `#` preceded by whitespace).
fn strip_comment(v: &str) -> &str {
    match v.find(" #").or_else(|| v.find("\t#")) {
        Some(i) => &v[..i],
        None => v,
    }
}

fn last_line_of(text: &str, key: &str) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.trim()
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == key)
        })
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0)
}

/// Text from the file shown in a message: sanitized and cut.
fn shown(s: &str) -> impl fmt::Display + '_ {
    crate::event::clean_name(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse("detection.cfg", text)
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn defaults_and_a_full_file() {
        assert_eq!(Config::parse("d", "").expect("ok"), Config::default());
        let c = Config::parse(
            "d",
            "# comment\n\n; also a comment\nhold = 45s\nquiet=1h\nhorizontal_hosts=4\n\
             allow=192.0.2.10 # the monitoring server\nallow=198.51.100.0/24, 2001:db8::/32\n\
             trap_ports=tcp/23,2323,udp/69\ntrap_daemons=in.telnetd\ndenied_prefix=REFUSED\n\
             slow_window=0\n",
        )
        .expect("ok");
        assert_eq!((c.hold, c.quiet, c.horizontal_hosts), (45, 3600, 4));
        assert_eq!(c.allow.len(), 3);
        assert!(c.allowed("198.51.100.9".parse().expect("ip")));
        assert!(!c.allowed("192.0.2.11".parse().expect("ip")));
        assert_eq!(
            c.trap_ports,
            vec![(Proto::Tcp, 23), (Proto::Tcp, 2323), (Proto::Udp, 69)]
        );
        assert_eq!(c.trap_daemons, vec!["in.telnetd".to_string()]);
        assert_eq!(c.denied_prefix, "REFUSED");
        let e = c
            .parse_result(9, "web1", "REFUSED sshd-192.0.2.1")
            .expect("event");
        assert_eq!((e.time, e.reporter.as_str()), (9, "web1"));
        assert!(c.parse_result(9, "web1", "Denied sshd-192.0.2.1").is_err());
        assert_eq!(c.retention(), 600);
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            err("hold=30\nfrobnicate=1\n"),
            "detection.cfg:2: unknown key \"frobnicate\""
        );
        assert_eq!(
            err("\n\nhold\n"),
            "detection.cfg:3: expected key=value, got \"hold\""
        );
        assert_eq!(
            err("hold=soon\n"),
            "detection.cfg:1: hold: \"soon\" is not a duration (e.g. 30, 30s, 10m, 1h)"
        );
        assert_eq!(
            err("quiet=1h\nhold=2m\n"),
            "detection.cfg:2: hold: at most 60 seconds (a lone refusal must still notify)"
        );
        assert_eq!(
            err("allow=10.0.0.1\nallow=10.1.2.3/8\n"),
            "detection.cfg:2: allow: \"10.1.2.3/8\" has host bits set (the network is 10.0.0.0/8)"
        );
        assert_eq!(
            err("trap_ports=tcp/23,sctp/9\n"),
            "detection.cfg:1: trap_ports: unknown protocol \"sctp\""
        );
        assert_eq!(
            err("trap_ports=70000\n"),
            "detection.cfg:1: trap_ports: \"70000\" is not a port (1-65535)"
        );
        assert_eq!(
            err("horizontal_hosts=1\n"),
            "detection.cfg:1: horizontal_hosts: at least 2 (a single refused connection is never a scan)"
        );
        assert_eq!(
            err("max_held=0\n"),
            "detection.cfg:1: max_held: \"0\" is not a positive number"
        );
        assert_eq!(
            err("max_sources=5000000000\n"),
            "detection.cfg:1: max_sources: 5000000000 is more than 100000000"
        );
        assert_eq!(
            err("ipv4_prefix=40\n"),
            "detection.cfg:1: ipv4_prefix: must be 0-32"
        );
        assert_eq!(
            err("vertical_ports=\n"),
            "detection.cfg:1: vertical_ports: missing value"
        );
        assert_eq!(
            err("x\x1b[2J=1\n"),
            "detection.cfg:1: unknown key \"x__2J\""
        );
        assert_eq!(err("quiet=0\n"), "detection.cfg:1: quiet: must be positive");
        assert_eq!(
            err("max_entries_per_source=10\n"),
            "detection.cfg:1: max_entries_per_source: at least 15 (the largest count threshold)"
        );
    }
}
