//! The `nagios.log` grammar: one typed [`Record`] per kind of line Picket writes, rendered
//! byte-for-byte as Nagios 4 writes it (`logging.c`, `notifications.c`, `sehandlers.c`,
//! `downtime.c`, `flapping.c`, `commands.c`) by [`Display`](std::fmt::Display), and parsed
//! back by [`parse_body`] / [`parse_line`], borrowing from the line. Sans-I/O, no
//! dependencies.
//!
//! The contract is `render(parse(l)) == l` for every line: a line is typed only when its
//! fields render back to the same bytes (states and types by name, numbers in canonical
//! decimal); everything else — start-up banners, a malformed line — is [`Record::Raw`], the
//! text itself. The engine renders its lines through these records, the history parses them
//! (`picket-history`), and the state vocabulary ([`ServiceState`], [`HostState`],
//! [`StateType`], [`NotificationType`]) is the one table of names for the engine, the web
//! UI and the Livestatus log table.
//!
//! Fields are logged as given: sanitizing a plugin output or a command for a log line
//! (`picket_engine::output::log_safe`) is the caller's job, before the record is built.

use std::fmt::{self, Display};

mod state;

pub use state::{
    DowntimePhase, FlappingPhase, HostState, NotificationType, Notified, NotifiedState,
    ServiceState, StateDump, StateType, state_code,
};

/// A full log line: `[time] record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Seconds since the Unix epoch.
    pub time: i64,
    pub record: Record<'a>,
}

impl Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.time, self.record)
    }
}

/// A line without a `[digits] ` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoTimestamp;

impl Display for NoTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("log line has no [timestamp] prefix")
    }
}

impl std::error::Error for NoTimestamp {}

/// One `nagios.log` record (the text after `[time] `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// `SERVICE ALERT: host;svc;STATE;TYPE;attempt;output`
    ServiceAlert {
        host: &'a str,
        service: &'a str,
        state: ServiceState,
        state_type: StateType,
        attempt: u32,
        output: &'a str,
    },
    /// `HOST ALERT: host;STATE;TYPE;attempt;output`
    HostAlert {
        host: &'a str,
        state: HostState,
        state_type: StateType,
        attempt: u32,
        output: &'a str,
    },
    /// `SERVICE NOTIFICATION: contact;host;svc;TYPE;command;output[;author;comment]`
    /// (`;author;comment` for ACKNOWLEDGEMENT and CUSTOM).
    ServiceNotification {
        contact: &'a str,
        host: &'a str,
        service: &'a str,
        kind: Notified<ServiceState>,
        command: &'a str,
        output: &'a str,
        author: Option<(&'a str, &'a str)>,
    },
    /// `HOST NOTIFICATION: contact;host;TYPE;command;output[;author;comment]`
    HostNotification {
        contact: &'a str,
        host: &'a str,
        kind: Notified<HostState>,
        command: &'a str,
        output: &'a str,
        author: Option<(&'a str, &'a str)>,
    },
    /// `[GLOBAL ]SERVICE EVENT HANDLER: host;svc;STATE;TYPE;attempt;command`
    ServiceEventHandler {
        global: bool,
        host: &'a str,
        service: &'a str,
        state: ServiceState,
        state_type: StateType,
        attempt: u32,
        command: &'a str,
    },
    /// `[GLOBAL ]HOST EVENT HANDLER: host;STATE;TYPE;attempt;command`
    HostEventHandler {
        global: bool,
        host: &'a str,
        state: HostState,
        state_type: StateType,
        attempt: u32,
        command: &'a str,
    },
    /// `PASSIVE SERVICE CHECK: host;svc;code;output` (the state before the result, as
    /// Nagios 4 logs it).
    PassiveServiceCheck {
        host: &'a str,
        service: &'a str,
        code: u8,
        output: &'a str,
    },
    /// `PASSIVE HOST CHECK: host;code;output`
    PassiveHostCheck {
        host: &'a str,
        code: u8,
        output: &'a str,
    },
    /// `EXTERNAL COMMAND: NAME[;args]` (`args`: the raw rest, `;`-separated).
    ExternalCommand {
        name: &'a str,
        args: Option<&'a str>,
    },
    /// `External command COMMAND returned error REASON` (`COMMAND` as received, with its
    /// `[timestamp]` when it had one).
    ExternalCommandError { command: &'a str, error: &'a str },
    /// `SERVICE DOWNTIME ALERT: host;svc;PHASE; message`
    ServiceDowntimeAlert {
        host: &'a str,
        service: &'a str,
        phase: DowntimePhase,
        message: &'a str,
    },
    /// `HOST DOWNTIME ALERT: host;PHASE; message`
    HostDowntimeAlert {
        host: &'a str,
        phase: DowntimePhase,
        message: &'a str,
    },
    /// `SERVICE FLAPPING ALERT: host;svc;PHASE; message`
    ServiceFlappingAlert {
        host: &'a str,
        service: &'a str,
        phase: FlappingPhase,
        message: &'a str,
    },
    /// `HOST FLAPPING ALERT: host;PHASE; message`
    HostFlappingAlert {
        host: &'a str,
        phase: FlappingPhase,
        message: &'a str,
    },
    /// `INITIAL|CURRENT SERVICE STATE: host;svc;STATE;TYPE;attempt;output`
    ServiceState {
        dump: StateDump,
        host: &'a str,
        service: &'a str,
        state: ServiceState,
        state_type: StateType,
        attempt: u32,
        output: &'a str,
    },
    /// `INITIAL|CURRENT HOST STATE: host;STATE;TYPE;attempt;output`
    HostState {
        dump: StateDump,
        host: &'a str,
        state: HostState,
        state_type: StateType,
        attempt: u32,
        output: &'a str,
    },
    /// `LOG ROTATION: METHOD` (`HOURLY`, `DAILY`, …).
    LogRotation { method: &'a str },
    /// `LOG VERSION: 2.0`
    LogVersion { version: &'a str },
    /// `Warning: text` (`text` as written, a leading blank included).
    Warning { text: &'a str },
    /// `Error: text`
    Error { text: &'a str },
    /// `CONNECTION EVENT: …` (contract C1).
    ConnectionEvent(ConnectionEvent<'a>),
    /// `SCAN INCIDENT: …` (contract C1).
    ScanIncident(ScanIncident<'a>),
    /// Anything else, kept as the text after the timestamp.
    Raw(&'a str),
}

/// `CONNECTION EVENT: event_time;reporter;source;proto;port;daemon;kind;count;raw`: one
/// refusal, drop, authentication failure or trap touch. `-` fields are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionEvent<'a> {
    /// When the event happened (the sensor's or the result's time), epoch seconds.
    pub event_time: i64,
    /// The host that reported it.
    pub reporter: &'a str,
    /// An IP address, a sanitized host name, or `unknown`.
    pub source: &'a str,
    /// `tcp`, `udp`, `icmp`.
    pub proto: Option<&'a str>,
    pub port: Option<u16>,
    pub daemon: Option<&'a str>,
    /// `refused`, `firewall_drop`, `auth_fail` or `trap`.
    pub kind: &'a str,
    /// How many connections this line stands for (≥ 1).
    pub count: u32,
    /// The raw text (free, may contain `;`).
    pub raw: &'a str,
}

/// `SCAN INCIDENT: id;transition;key;detectors;events;host_count;port_count;source_count;
/// first_seen;last_seen;recurrence;hosts;ports;daemons;output`. The lists are comma lists
/// as logged ([`List`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanIncident<'a> {
    pub id: u64,
    /// `opened`, `updated`, `escalated`, `closed`, `released`.
    pub transition: &'a str,
    pub key: &'a str,
    pub detectors: List<'a>,
    pub events: u64,
    pub host_count: u64,
    pub port_count: u64,
    pub source_count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub recurrence: bool,
    pub hosts: List<'a>,
    pub ports: List<'a>,
    pub daemons: List<'a>,
    pub output: &'a str,
}

/// A comma list field, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct List<'a>(pub &'a str);

impl<'a> List<'a> {
    /// The non-empty items.
    pub fn items(self) -> impl Iterator<Item = &'a str> {
        self.0.split(',').filter(|x| !x.is_empty())
    }
}

/// The tags of the typed records, as they open a line (`TAG: …`).
pub const TAGS: [&str; 25] = [
    "SERVICE ALERT",
    "HOST ALERT",
    "SERVICE NOTIFICATION",
    "HOST NOTIFICATION",
    "SERVICE EVENT HANDLER",
    "GLOBAL SERVICE EVENT HANDLER",
    "HOST EVENT HANDLER",
    "GLOBAL HOST EVENT HANDLER",
    "PASSIVE SERVICE CHECK",
    "PASSIVE HOST CHECK",
    "EXTERNAL COMMAND",
    "SERVICE DOWNTIME ALERT",
    "HOST DOWNTIME ALERT",
    "SERVICE FLAPPING ALERT",
    "HOST FLAPPING ALERT",
    "INITIAL SERVICE STATE",
    "CURRENT SERVICE STATE",
    "INITIAL HOST STATE",
    "CURRENT HOST STATE",
    "LOG ROTATION",
    "LOG VERSION",
    "Warning",
    "Error",
    "CONNECTION EVENT",
    "SCAN INCIDENT",
];

/// Whether `body` opens with the tag of a typed record (`TAG: `, or `External command `
/// with a ` returned error `): such a line parsed as [`Record::Raw`] is a malformed record.
/// (A received command with a line break in it is logged by nagios4 over two physical
/// lines; the first of them, `External command …` without its error, is text.)
pub fn has_known_tag(body: &str) -> bool {
    (body.starts_with("External command ") && body.contains(" returned error "))
        || TAGS.iter().any(|t| {
            body.strip_prefix(t)
                .is_some_and(|r| r.starts_with(':') || r.is_empty())
        })
}

impl Record<'_> {
    /// The line's tag (`SERVICE ALERT`, …; `External command` for
    /// [`Record::ExternalCommandError`]); `None` for [`Record::Raw`].
    pub fn tag(&self) -> Option<&'static str> {
        Some(match self {
            Record::ServiceAlert { .. } => "SERVICE ALERT",
            Record::HostAlert { .. } => "HOST ALERT",
            Record::ServiceNotification { .. } => "SERVICE NOTIFICATION",
            Record::HostNotification { .. } => "HOST NOTIFICATION",
            Record::ServiceEventHandler { global: false, .. } => "SERVICE EVENT HANDLER",
            Record::ServiceEventHandler { global: true, .. } => "GLOBAL SERVICE EVENT HANDLER",
            Record::HostEventHandler { global: false, .. } => "HOST EVENT HANDLER",
            Record::HostEventHandler { global: true, .. } => "GLOBAL HOST EVENT HANDLER",
            Record::PassiveServiceCheck { .. } => "PASSIVE SERVICE CHECK",
            Record::PassiveHostCheck { .. } => "PASSIVE HOST CHECK",
            Record::ExternalCommand { .. } => "EXTERNAL COMMAND",
            Record::ExternalCommandError { .. } => "External command",
            Record::ServiceDowntimeAlert { .. } => "SERVICE DOWNTIME ALERT",
            Record::HostDowntimeAlert { .. } => "HOST DOWNTIME ALERT",
            Record::ServiceFlappingAlert { .. } => "SERVICE FLAPPING ALERT",
            Record::HostFlappingAlert { .. } => "HOST FLAPPING ALERT",
            Record::ServiceState {
                dump: StateDump::Initial,
                ..
            } => "INITIAL SERVICE STATE",
            Record::ServiceState {
                dump: StateDump::Current,
                ..
            } => "CURRENT SERVICE STATE",
            Record::HostState {
                dump: StateDump::Initial,
                ..
            } => "INITIAL HOST STATE",
            Record::HostState {
                dump: StateDump::Current,
                ..
            } => "CURRENT HOST STATE",
            Record::LogRotation { .. } => "LOG ROTATION",
            Record::LogVersion { .. } => "LOG VERSION",
            Record::Warning { .. } => "Warning",
            Record::Error { .. } => "Error",
            Record::ConnectionEvent(_) => "CONNECTION EVENT",
            Record::ScanIncident(_) => "SCAN INCIDENT",
            Record::Raw(_) => return None,
        })
    }

    /// Append the record's text to `out` (no newline), as [`Display`] renders it, without
    /// going through a `Formatter` for the text fields (the engine's path).
    pub fn render_into(&self, out: &mut String) {
        let _ = self.render(out);
    }
}

/// Writes `a;b;c…`.
struct Semi<'w, W>(&'w mut W);

impl<W: fmt::Write> Semi<'_, W> {
    fn s(&mut self, v: &str) -> fmt::Result {
        self.0.write_str(v)?;
        self.0.write_char(';')
    }
    /// An unsigned number and `;`, without the formatting machinery.
    fn u(&mut self, v: impl Into<u64>) -> fmt::Result {
        let mut v: u64 = v.into();
        let mut buf = [0u8; 21];
        let mut i = buf.len() - 1;
        buf[i] = b';';
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        // Only ASCII digits and `;` were written.
        self.0
            .write_str(std::str::from_utf8(&buf[i..]).map_err(|_| fmt::Error)?)
    }
    /// A signed number and `;`.
    fn i(&mut self, v: i64) -> fmt::Result {
        if v < 0 {
            self.0.write_char('-')?;
        }
        self.u(v.unsigned_abs())
    }
    /// A notification type and `;`.
    fn kind<S: NotifiedState>(&mut self, k: Notified<S>) -> fmt::Result {
        match k.kind {
            NotificationType::Normal => self.s(k.state.name()),
            t => {
                self.0.write_str(t.macro_name(false))?;
                self.0.write_str(" (")?;
                self.0.write_str(k.state.name())?;
                self.0.write_str(");")
            }
        }
    }
    fn last(&mut self, v: &str) -> fmt::Result {
        self.0.write_str(v)
    }
}

fn opt_dash<W: fmt::Write>(f: &mut Semi<'_, W>, v: Option<&str>) -> fmt::Result {
    f.s(v.unwrap_or("-"))
}

impl Display for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(f)
    }
}

impl Record<'_> {
    fn render<W: fmt::Write>(&self, f: &mut W) -> fmt::Result {
        if let Some(tag) = self.tag() {
            f.write_str(tag)?;
            if !matches!(self, Record::ExternalCommandError { .. }) {
                f.write_str(": ")?;
            }
        }
        let mut w = Semi(f);
        match *self {
            Record::ServiceAlert {
                host,
                service,
                state,
                state_type,
                attempt,
                output,
            }
            | Record::ServiceState {
                host,
                service,
                state,
                state_type,
                attempt,
                output,
                ..
            } => {
                w.s(host)?;
                w.s(service)?;
                w.s(state.name())?;
                w.s(state_type.name())?;
                w.u(attempt)?;
                w.last(output)
            }
            Record::HostAlert {
                host,
                state,
                state_type,
                attempt,
                output,
            }
            | Record::HostState {
                host,
                state,
                state_type,
                attempt,
                output,
                ..
            } => {
                w.s(host)?;
                w.s(state.name())?;
                w.s(state_type.name())?;
                w.u(attempt)?;
                w.last(output)
            }
            Record::ServiceNotification {
                contact,
                host,
                service,
                kind,
                command,
                output,
                author,
            } => {
                w.s(contact)?;
                w.s(host)?;
                w.s(service)?;
                w.kind(kind)?;
                w.s(command)?;
                w.last(output)?;
                if let Some((a, c)) = author {
                    write!(w.0, ";{a};{c}")?;
                }
                Ok(())
            }
            Record::HostNotification {
                contact,
                host,
                kind,
                command,
                output,
                author,
            } => {
                w.s(contact)?;
                w.s(host)?;
                w.kind(kind)?;
                w.s(command)?;
                w.last(output)?;
                if let Some((a, c)) = author {
                    write!(w.0, ";{a};{c}")?;
                }
                Ok(())
            }
            Record::ServiceEventHandler {
                host,
                service,
                state,
                state_type,
                attempt,
                command,
                ..
            } => {
                w.s(host)?;
                w.s(service)?;
                w.s(state.name())?;
                w.s(state_type.name())?;
                w.u(attempt)?;
                w.last(command)
            }
            Record::HostEventHandler {
                host,
                state,
                state_type,
                attempt,
                command,
                ..
            } => {
                w.s(host)?;
                w.s(state.name())?;
                w.s(state_type.name())?;
                w.u(attempt)?;
                w.last(command)
            }
            Record::PassiveServiceCheck {
                host,
                service,
                code,
                output,
            } => {
                w.s(host)?;
                w.s(service)?;
                w.u(code)?;
                w.last(output)
            }
            Record::PassiveHostCheck { host, code, output } => {
                w.s(host)?;
                w.u(code)?;
                w.last(output)
            }
            Record::ExternalCommand { name, args } => match args {
                Some(a) => {
                    w.s(name)?;
                    w.last(a)
                }
                None => w.last(name),
            },
            Record::ExternalCommandError { command, error } => {
                write!(w.0, " {command} returned error {error}")
            }
            Record::ServiceDowntimeAlert {
                host,
                service,
                phase,
                message,
            } => {
                w.s(host)?;
                w.s(service)?;
                write!(w.0, "{}; {message}", phase.name())
            }
            Record::HostDowntimeAlert {
                host,
                phase,
                message,
            } => {
                w.s(host)?;
                write!(w.0, "{}; {message}", phase.name())
            }
            Record::ServiceFlappingAlert {
                host,
                service,
                phase,
                message,
            } => {
                w.s(host)?;
                w.s(service)?;
                write!(w.0, "{}; {message}", phase.name())
            }
            Record::HostFlappingAlert {
                host,
                phase,
                message,
            } => {
                w.s(host)?;
                write!(w.0, "{}; {message}", phase.name())
            }
            Record::LogRotation { method: text }
            | Record::LogVersion { version: text }
            | Record::Warning { text }
            | Record::Error { text }
            | Record::Raw(text) => w.last(text),
            Record::ConnectionEvent(e) => {
                w.i(e.event_time)?;
                w.s(e.reporter)?;
                w.s(e.source)?;
                opt_dash(&mut w, e.proto)?;
                match e.port {
                    Some(p) => w.u(p)?,
                    None => w.s("-")?,
                }
                opt_dash(&mut w, e.daemon)?;
                w.s(e.kind)?;
                w.u(e.count)?;
                w.last(e.raw)
            }
            Record::ScanIncident(i) => {
                w.u(i.id)?;
                w.s(i.transition)?;
                w.s(i.key)?;
                w.s(i.detectors.0)?;
                w.u(i.events)?;
                w.u(i.host_count)?;
                w.u(i.port_count)?;
                w.u(i.source_count)?;
                w.i(i.first_seen)?;
                w.i(i.last_seen)?;
                w.s(if i.recurrence { "1" } else { "0" })?;
                w.s(i.hosts.0)?;
                w.s(i.ports.0)?;
                w.s(i.daemons.0)?;
                w.last(i.output)
            }
        }
    }
}

/// Parse a full line `[epoch] BODY` (a trailing `\n` / `\r\n` is ignored).
pub fn parse_line(line: &str) -> Result<Line<'_>, NoTimestamp> {
    let line = line.trim_end_matches(['\n', '\r']);
    let rest = line.strip_prefix('[').ok_or(NoTimestamp)?;
    let close = rest.find(']').ok_or(NoTimestamp)?;
    let digits = &rest[..close];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoTimestamp);
    }
    let time: i64 = digits.parse().map_err(|_| NoTimestamp)?;
    let body = &rest[close + 1..];
    let body = body.strip_prefix(' ').unwrap_or(body);
    Ok(Line {
        time,
        record: parse_body(body),
    })
}

/// Parse the text after the timestamp. Never fails: a line that is not a well-formed
/// typed record is [`Record::Raw`].
pub fn parse_body(body: &str) -> Record<'_> {
    parse_known(body).unwrap_or(Record::Raw(body))
}

/// `s` split on `;` into exactly `N` fields, the last one taking the rest.
fn fields<const N: usize>(s: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut it = s.splitn(N, ';');
    for slot in &mut out {
        *slot = it.next()?;
    }
    Some(out)
}

/// A decimal number in canonical form (digits, no sign, no leading zero but `0` itself),
/// so that it renders back to the same text.
fn dec<T: std::str::FromStr>(s: &str) -> Option<T> {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    s.parse().ok()
}

/// `-` is "not known".
fn dash(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

/// `PHASE; message`.
fn phase_msg(s: &str) -> Option<(&str, &str)> {
    s.split_once("; ")
}

/// `body` split at its first `": "` (a byte scan for `:`: the tags are short, and the
/// generic substring search costs more than the rest of a line's parse).
fn split_tag(body: &str) -> Option<(&str, &str)> {
    let b = body.as_bytes();
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b':') {
        let at = i + p;
        if b.get(at + 1) == Some(&b' ') {
            return Some((&body[..at], &body[at + 2..]));
        }
        i = at + 1;
    }
    None
}

fn parse_known(body: &str) -> Option<Record<'_>> {
    let Some((tag, rest)) = split_tag(body) else {
        return external_command_error(body);
    };
    Some(match tag {
        "SERVICE ALERT" | "INITIAL SERVICE STATE" | "CURRENT SERVICE STATE" => {
            let [host, service, state, st, attempt, output] = fields(rest)?;
            let (state, state_type, attempt) = (
                ServiceState::from_name(state)?,
                StateType::from_name(st)?,
                dec(attempt)?,
            );
            match tag.as_bytes()[0] {
                b'S' => Record::ServiceAlert {
                    host,
                    service,
                    state,
                    state_type,
                    attempt,
                    output,
                },
                c => Record::ServiceState {
                    dump: if c == b'I' {
                        StateDump::Initial
                    } else {
                        StateDump::Current
                    },
                    host,
                    service,
                    state,
                    state_type,
                    attempt,
                    output,
                },
            }
        }
        "HOST ALERT" | "INITIAL HOST STATE" | "CURRENT HOST STATE" => {
            let [host, state, st, attempt, output] = fields(rest)?;
            let (state, state_type, attempt) = (
                HostState::from_name(state)?,
                StateType::from_name(st)?,
                dec(attempt)?,
            );
            match tag.as_bytes()[0] {
                b'H' => Record::HostAlert {
                    host,
                    state,
                    state_type,
                    attempt,
                    output,
                },
                c => Record::HostState {
                    dump: if c == b'I' {
                        StateDump::Initial
                    } else {
                        StateDump::Current
                    },
                    host,
                    state,
                    state_type,
                    attempt,
                    output,
                },
            }
        }
        "SERVICE NOTIFICATION" => {
            let [contact, host, service, kind, command, rest] = fields(rest)?;
            let kind = Notified::<ServiceState>::parse(kind)?;
            let (output, author) = split_author(kind.kind, rest);
            Record::ServiceNotification {
                contact,
                host,
                service,
                kind,
                command,
                output,
                author,
            }
        }
        "HOST NOTIFICATION" => {
            let [contact, host, kind, command, rest] = fields(rest)?;
            let kind = Notified::<HostState>::parse(kind)?;
            let (output, author) = split_author(kind.kind, rest);
            Record::HostNotification {
                contact,
                host,
                kind,
                command,
                output,
                author,
            }
        }
        "SERVICE EVENT HANDLER" | "GLOBAL SERVICE EVENT HANDLER" => {
            let [host, service, state, st, attempt, command] = fields(rest)?;
            Record::ServiceEventHandler {
                global: tag.starts_with('G'),
                host,
                service,
                state: ServiceState::from_name(state)?,
                state_type: StateType::from_name(st)?,
                attempt: dec(attempt)?,
                command,
            }
        }
        "HOST EVENT HANDLER" | "GLOBAL HOST EVENT HANDLER" => {
            let [host, state, st, attempt, command] = fields(rest)?;
            Record::HostEventHandler {
                global: tag.starts_with('G'),
                host,
                state: HostState::from_name(state)?,
                state_type: StateType::from_name(st)?,
                attempt: dec(attempt)?,
                command,
            }
        }
        "PASSIVE SERVICE CHECK" => {
            let [host, service, code, output] = fields(rest)?;
            Record::PassiveServiceCheck {
                host,
                service,
                code: dec(code)?,
                output,
            }
        }
        "PASSIVE HOST CHECK" => {
            let [host, code, output] = fields(rest)?;
            Record::PassiveHostCheck {
                host,
                code: dec(code)?,
                output,
            }
        }
        "EXTERNAL COMMAND" => match rest.split_once(';') {
            Some((name, args)) => Record::ExternalCommand {
                name,
                args: Some(args),
            },
            None => Record::ExternalCommand {
                name: rest,
                args: None,
            },
        },
        "SERVICE DOWNTIME ALERT" | "SERVICE FLAPPING ALERT" => {
            let [host, service, rest] = fields(rest)?;
            let (phase, message) = phase_msg(rest)?;
            if tag.as_bytes()[8] == b'D' {
                Record::ServiceDowntimeAlert {
                    host,
                    service,
                    phase: DowntimePhase::from_name(phase)?,
                    message,
                }
            } else {
                Record::ServiceFlappingAlert {
                    host,
                    service,
                    phase: FlappingPhase::from_name(phase)?,
                    message,
                }
            }
        }
        "HOST DOWNTIME ALERT" | "HOST FLAPPING ALERT" => {
            let [host, rest] = fields(rest)?;
            let (phase, message) = phase_msg(rest)?;
            if tag.as_bytes()[5] == b'D' {
                Record::HostDowntimeAlert {
                    host,
                    phase: DowntimePhase::from_name(phase)?,
                    message,
                }
            } else {
                Record::HostFlappingAlert {
                    host,
                    phase: FlappingPhase::from_name(phase)?,
                    message,
                }
            }
        }
        "LOG ROTATION" => Record::LogRotation { method: rest },
        "LOG VERSION" => Record::LogVersion { version: rest },
        "Warning" => Record::Warning { text: rest },
        "Error" => Record::Error { text: rest },
        "CONNECTION EVENT" => Record::ConnectionEvent(connection_event(rest)?),
        "SCAN INCIDENT" => Record::ScanIncident(scan_incident(rest)?),
        _ => return external_command_error(body),
    })
}

/// `External command COMMAND returned error REASON`.
fn external_command_error(body: &str) -> Option<Record<'_>> {
    let rest = body.strip_prefix("External command ")?;
    let (command, error) = rest.rsplit_once(" returned error ")?;
    Some(Record::ExternalCommandError { command, error })
}

/// `output[;author;comment]` of ACKNOWLEDGEMENT and CUSTOM notifications.
fn split_author(kind: NotificationType, rest: &str) -> (&str, Option<(&str, &str)>) {
    if kind.has_author() {
        let mut it = rest.rsplitn(3, ';');
        if let (Some(c), Some(a), Some(o)) = (it.next(), it.next(), it.next()) {
            return (o, Some((a, c)));
        }
    }
    (rest, None)
}

fn connection_event(rest: &str) -> Option<ConnectionEvent<'_>> {
    let [t, reporter, source, proto, port, daemon, kind, count, raw] = fields(rest)?;
    if reporter.is_empty() || source.is_empty() || kind.is_empty() {
        return None;
    }
    Some(ConnectionEvent {
        event_time: dec(t)?,
        reporter,
        source,
        proto: dash(proto),
        port: match port {
            "-" => None,
            p => Some(dec(p)?),
        },
        daemon: dash(daemon),
        kind,
        count: dec::<u32>(count).filter(|c| *c >= 1)?,
        raw,
    })
}

fn scan_incident(rest: &str) -> Option<ScanIncident<'_>> {
    let [
        id,
        transition,
        key,
        detectors,
        events,
        hc,
        pc,
        sc,
        first,
        last,
        rec,
        hosts,
        ports,
        daemons,
        output,
    ] = fields(rest)?;
    if transition.is_empty() || key.is_empty() {
        return None;
    }
    Some(ScanIncident {
        id: dec(id)?,
        transition,
        key,
        detectors: List(detectors),
        events: dec(events)?,
        host_count: dec(hc)?,
        port_count: dec(pc)?,
        source_count: dec(sc)?,
        first_seen: dec(first)?,
        last_seen: dec(last)?,
        recurrence: match rec {
            "0" => false,
            "1" => true,
            _ => return None,
        },
        hosts: List(hosts),
        ports: List(ports),
        daemons: List(daemons),
        output,
    })
}
