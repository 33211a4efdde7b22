//! Structured access events: what tcpd logs (`connect from …`, `refused connect from …`,
//! `twist … to …`) as data, for the Picket daemon to turn into alerts without parsing logs.

use serde::Serialize;

use crate::access::{Access, Cause, Matched, Verdict};
use crate::options::Severity;
use crate::request::{Request, Side, UNKNOWN};

/// libwrap's default facility (`FACILITY=LOG_DAEMON` in Debian's build).
pub const DEFAULT_FACILITY: u8 = 3;
/// Severity of `connect from` lines (`LOG_INFO`).
pub const ALLOW_SEVERITY: u8 = 6;
/// Severity of `refused connect` and `twist` lines (`LOG_WARNING`).
pub const DENY_SEVERITY: u8 = 4;

/// What happened to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Granted: the real daemon runs (`connect from …`).
    Connect,
    /// Denied (`refused connect from …`).
    Refused,
    /// Handed to a `twist` command (`twist … to …`).
    Twist,
}

/// One access decision, ready to log or to alert on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEvent {
    /// Connect, refused or twist.
    pub kind: EventKind,
    /// Daemon (process) name.
    pub daemon: String,
    /// `%c`: `user@host` or host, as libwrap prints the client (sanitised if it was expanded).
    pub client: String,
    /// `%a`: client address.
    pub client_addr: String,
    /// Client port (0 if unknown).
    pub client_port: u16,
    /// `%A`: server address (`unknown` if unknown).
    pub server_addr: String,
    /// Server port (0 if unknown).
    pub server_port: u16,
    /// Ident user if one was looked up and is known.
    pub user: Option<String>,
    /// The rule that decided, if any.
    pub matched: Option<Matched>,
    /// Why.
    pub cause: Cause,
    /// The twist command (expanded), for [`EventKind::Twist`].
    pub twist: Option<String>,
    /// Syslog facility code to log under.
    pub facility: u8,
    /// Syslog level code to log at.
    pub level: u8,
    /// Why the client's address is unknown, when the caller could not read it from the
    /// socket (e.g. `getpeername: Transport endpoint is not connected` for a client that
    /// reset the connection at once). Set by the caller; `None` from [`AccessEvent::new`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_error: Option<String>,
}

impl AccessEvent {
    /// Builds the event for `verdict` (call after [`crate::hosts_access`] on the same request).
    #[must_use]
    pub fn new(req: &mut Request, verdict: &Verdict) -> Self {
        let kind = match (&verdict.twist, verdict.access) {
            (Some(_), _) => EventKind::Twist,
            (None, Access::Granted) => EventKind::Connect,
            (None, Access::Denied) => EventKind::Refused,
        };
        let default_level = if kind == EventKind::Connect {
            ALLOW_SEVERITY
        } else {
            DENY_SEVERITY
        };
        let (facility, level) = match verdict.severity {
            Some(Severity { facility, level }) => (facility.unwrap_or(DEFAULT_FACILITY), level),
            None => (DEFAULT_FACILITY, default_level),
        };
        let host = req.hostinfo(Side::Client);
        let user = req
            .user
            .clone()
            .filter(|u| !u.eq_ignore_ascii_case(UNKNOWN));
        let client = match &user {
            Some(u) => format!("{u}@{host}"),
            None => host,
        };
        AccessEvent {
            kind,
            daemon: req.daemon.clone(),
            client,
            client_addr: req.hostaddr(Side::Client),
            client_port: req.client.port(),
            server_addr: req.hostaddr(Side::Server),
            server_port: req.server.port(),
            user,
            matched: verdict.matched.clone(),
            cause: verdict.cause.clone(),
            twist: verdict.twist.clone(),
            facility,
            level,
            peer_error: None,
        }
    }

    /// The line libwrap/tcpd logs for this event (Debian format, with `(%a)`).
    #[must_use]
    pub fn log_message(&self) -> String {
        match self.kind {
            EventKind::Connect => format!("connect from {} ({})", self.client, self.client_addr),
            EventKind::Refused => format!(
                "refused connect from {} ({})",
                self.client, self.client_addr
            ),
            EventKind::Twist => format!(
                "twist {} to {}",
                self.client,
                self.twist.as_deref().unwrap_or("")
            ),
        }
    }

    /// Syslog priority (`facility << 3 | level`).
    #[must_use]
    pub fn priority(&self) -> u8 {
        (self.facility << 3) | self.level
    }
}
