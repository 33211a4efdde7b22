//! Sans-I/O parser of `nagios.log` lines into typed [`Event`]s.
//!
//! The formats are those of Nagios 4 (`logging.c`, `notifications.c`, `sehandlers.c`,
//! `downtime.c`, `flapping.c`) as the Picket engine writes them; every `LOG` line recorded
//! from real nagios4 in `crates/picket/tests/oracle-scenarios/*/expected.txt` is parsed by
//! `tests/parse.rs`. Everything that is not recognised is kept as [`Event::Raw`] so that no
//! line is ever lost.

use serde::Serialize;

/// One parsed log line: its timestamp and its event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Seconds since the Unix epoch, from the leading `[epoch]`.
    pub time: i64,
    /// What the line says.
    pub event: Event,
}

/// Why a line could not be parsed at all (a line without a `[epoch] ` prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line does not start with `[digits] `.
    #[error("log line has no [timestamp] prefix")]
    NoTimestamp,
}

/// Which of the state-dump lines a [`Event::ServiceState`] / [`Event::HostState`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StateDump {
    /// `INITIAL … STATE` (start-up).
    Initial,
    /// `CURRENT … STATE` (after a log rotation).
    Current,
}

/// A typed `nagios.log` record. Field values are kept as logged (state names such as
/// `CRITICAL`, state types `HARD`/`SOFT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// `SERVICE ALERT: host;svc;STATE;TYPE;attempt;output`
    ServiceAlert {
        host: String,
        service: String,
        state: String,
        state_type: String,
        attempt: u32,
        output: String,
    },
    /// `HOST ALERT: host;STATE;TYPE;attempt;output`
    HostAlert {
        host: String,
        state: String,
        state_type: String,
        attempt: u32,
        output: String,
    },
    /// `SERVICE NOTIFICATION: contact;host;svc;TYPE;command;output[;author;comment]`
    ServiceNotification {
        contact: String,
        host: String,
        service: String,
        /// `CRITICAL`, `ACKNOWLEDGEMENT (CRITICAL)`, `DOWNTIMESTART (OK)`, …
        notification_type: String,
        command: String,
        output: String,
        author: Option<String>,
        comment: Option<String>,
    },
    /// `HOST NOTIFICATION: contact;host;TYPE;command;output[;author;comment]`
    HostNotification {
        contact: String,
        host: String,
        notification_type: String,
        command: String,
        output: String,
        author: Option<String>,
        comment: Option<String>,
    },
    /// `[GLOBAL ]SERVICE EVENT HANDLER: host;svc;STATE;TYPE;attempt;command`
    ServiceEventHandler {
        global: bool,
        host: String,
        service: String,
        state: String,
        state_type: String,
        attempt: u32,
        command: String,
    },
    /// `[GLOBAL ]HOST EVENT HANDLER: host;STATE;TYPE;attempt;command`
    HostEventHandler {
        global: bool,
        host: String,
        state: String,
        state_type: String,
        attempt: u32,
        command: String,
    },
    /// `PASSIVE SERVICE CHECK: host;svc;code;output`
    PassiveServiceCheck {
        host: String,
        service: String,
        code: String,
        output: String,
    },
    /// `PASSIVE HOST CHECK: host;code;output`
    PassiveHostCheck {
        host: String,
        code: String,
        output: String,
    },
    /// `EXTERNAL COMMAND: NAME;args…` (`args` is the raw rest, `;`-separated, unescaped as logged).
    ExternalCommand { name: String, args: String },
    /// `SERVICE DOWNTIME ALERT: host;svc;STARTED|STOPPED|CANCELLED; message`
    ServiceDowntimeAlert {
        host: String,
        service: String,
        phase: String,
        message: String,
    },
    /// `HOST DOWNTIME ALERT: host;STARTED|STOPPED|CANCELLED; message`
    HostDowntimeAlert {
        host: String,
        phase: String,
        message: String,
    },
    /// `SERVICE FLAPPING ALERT: host;svc;STARTED|STOPPED|DISABLED; message`
    ServiceFlappingAlert {
        host: String,
        service: String,
        phase: String,
        message: String,
    },
    /// `HOST FLAPPING ALERT: host;STARTED|STOPPED|DISABLED; message`
    HostFlappingAlert {
        host: String,
        phase: String,
        message: String,
    },
    /// `INITIAL|CURRENT SERVICE STATE: host;svc;STATE;TYPE;attempt;output`
    ServiceState {
        dump: StateDump,
        host: String,
        service: String,
        state: String,
        state_type: String,
        attempt: u32,
        output: String,
    },
    /// `INITIAL|CURRENT HOST STATE: host;STATE;TYPE;attempt;output`
    HostState {
        dump: StateDump,
        host: String,
        state: String,
        state_type: String,
        attempt: u32,
        output: String,
    },
    /// `CONNECTION EVENT: event_time;reporter;source;proto;port;daemon;kind;count;raw`
    /// (contract C1): one refusal, drop, authentication failure or trap touch, logged when
    /// the correlator folded it into an incident (or detection is off). `-` fields are `None`.
    ConnectionEvent(ConnectionEventLine),
    /// `SCAN INCIDENT: id;transition;key;detectors;events;host_count;port_count;source_count;
    /// first_seen;last_seen;recurrence;hosts;ports;daemons;output` (contract C1).
    ScanIncident(ScanIncidentLine),
    /// Anything else (warnings, errors, `LOG ROTATION`, malformed lines): the text after the
    /// timestamp.
    Raw { text: String },
}

/// The fields of a `CONNECTION EVENT` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionEventLine {
    /// When the event happened (the sensor's or the result's time), epoch seconds.
    pub event_time: i64,
    /// The host that reported it (a configured host name).
    pub reporter: String,
    /// An IP address, a sanitized host name, or `unknown`.
    pub source: String,
    /// `tcp`, `udp`, `icmp`; `None` for `-`.
    pub proto: Option<String>,
    /// Destination port; `None` for `-`.
    pub port: Option<u16>,
    /// Daemon name; `None` for `-`.
    pub daemon: Option<String>,
    /// `refused`, `firewall_drop`, `auth_fail` or `trap`.
    pub kind: String,
    /// How many connections this line stands for (≥ 1: a sensor may aggregate).
    pub count: u32,
    /// The raw text (free, may contain `;`).
    pub raw: String,
}

/// The fields of a `SCAN INCIDENT` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanIncidentLine {
    /// The incident's id (stable across its transitions).
    pub id: u64,
    /// `opened`, `updated`, `escalated` or `closed`.
    pub transition: String,
    /// The source address/name/`unknown`, or a prefix such as `203.0.113.0/24`.
    pub key: String,
    /// Detectors that fired (`horizontal`, `vertical`, `trap`, `distributed`, `slow`).
    pub detectors: Vec<String>,
    /// Events folded so far.
    pub events: u64,
    pub host_count: u64,
    pub port_count: u64,
    pub source_count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// A recurrence of a closed incident of the same key.
    pub recurrence: bool,
    /// At most `picket_correlator::DISPLAY` each.
    pub hosts: Vec<String>,
    /// `tcp/22`, …
    pub ports: Vec<String>,
    pub daemons: Vec<String>,
    /// The plugin output submitted to the incident service.
    pub output: String,
}

/// The kind of an [`Event`], as stored in the history database (`kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventKind {
    ServiceAlert,
    HostAlert,
    ServiceNotification,
    HostNotification,
    ServiceEventHandler,
    HostEventHandler,
    PassiveServiceCheck,
    PassiveHostCheck,
    ExternalCommand,
    ServiceDowntimeAlert,
    HostDowntimeAlert,
    ServiceFlappingAlert,
    HostFlappingAlert,
    ServiceState,
    HostState,
    ConnectionEvent,
    ScanIncident,
    Raw,
}

impl EventKind {
    /// All kinds.
    pub const ALL: [EventKind; 18] = [
        EventKind::ServiceAlert,
        EventKind::HostAlert,
        EventKind::ServiceNotification,
        EventKind::HostNotification,
        EventKind::ServiceEventHandler,
        EventKind::HostEventHandler,
        EventKind::PassiveServiceCheck,
        EventKind::PassiveHostCheck,
        EventKind::ExternalCommand,
        EventKind::ServiceDowntimeAlert,
        EventKind::HostDowntimeAlert,
        EventKind::ServiceFlappingAlert,
        EventKind::HostFlappingAlert,
        EventKind::ServiceState,
        EventKind::HostState,
        EventKind::ConnectionEvent,
        EventKind::ScanIncident,
        EventKind::Raw,
    ];

    /// The stable name stored in the database and used in URLs (`service_alert`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ServiceAlert => "service_alert",
            EventKind::HostAlert => "host_alert",
            EventKind::ServiceNotification => "service_notification",
            EventKind::HostNotification => "host_notification",
            EventKind::ServiceEventHandler => "service_event_handler",
            EventKind::HostEventHandler => "host_event_handler",
            EventKind::PassiveServiceCheck => "passive_service_check",
            EventKind::PassiveHostCheck => "passive_host_check",
            EventKind::ExternalCommand => "external_command",
            EventKind::ServiceDowntimeAlert => "service_downtime_alert",
            EventKind::HostDowntimeAlert => "host_downtime_alert",
            EventKind::ServiceFlappingAlert => "service_flapping_alert",
            EventKind::HostFlappingAlert => "host_flapping_alert",
            EventKind::ServiceState => "service_state",
            EventKind::HostState => "host_state",
            EventKind::ConnectionEvent => "connection_event",
            EventKind::ScanIncident => "scan_incident",
            EventKind::Raw => "raw",
        }
    }

    /// Inverse of [`EventKind::as_str`].
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl Event {
    /// The kind of this event.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::ServiceAlert { .. } => EventKind::ServiceAlert,
            Event::HostAlert { .. } => EventKind::HostAlert,
            Event::ServiceNotification { .. } => EventKind::ServiceNotification,
            Event::HostNotification { .. } => EventKind::HostNotification,
            Event::ServiceEventHandler { .. } => EventKind::ServiceEventHandler,
            Event::HostEventHandler { .. } => EventKind::HostEventHandler,
            Event::PassiveServiceCheck { .. } => EventKind::PassiveServiceCheck,
            Event::PassiveHostCheck { .. } => EventKind::PassiveHostCheck,
            Event::ExternalCommand { .. } => EventKind::ExternalCommand,
            Event::ServiceDowntimeAlert { .. } => EventKind::ServiceDowntimeAlert,
            Event::HostDowntimeAlert { .. } => EventKind::HostDowntimeAlert,
            Event::ServiceFlappingAlert { .. } => EventKind::ServiceFlappingAlert,
            Event::HostFlappingAlert { .. } => EventKind::HostFlappingAlert,
            Event::ServiceState { .. } => EventKind::ServiceState,
            Event::HostState { .. } => EventKind::HostState,
            Event::ConnectionEvent(_) => EventKind::ConnectionEvent,
            Event::ScanIncident(_) => EventKind::ScanIncident,
            Event::Raw { .. } => EventKind::Raw,
        }
    }

    /// A `CONNECTION EVENT` or `SCAN INCIDENT` line that did not have its fields (wrong
    /// count, a number that is not one): kept as [`Event::Raw`] like any unknown line, and
    /// counted by the history (`picket_history_unparsed_total`).
    pub fn is_malformed_record(&self) -> bool {
        match self {
            Event::Raw { text } => C1_TAGS.iter().any(|t| {
                text.strip_prefix(t)
                    .is_some_and(|rest| rest.starts_with(':') || rest.is_empty())
            }),
            _ => false,
        }
    }
}

/// The tags of the detection lines (contract C1).
const C1_TAGS: [&str; 2] = ["CONNECTION EVENT", "SCAN INCIDENT"];

/// Parse a full log line `[epoch] BODY`. A trailing `\n` / `\r\n` is ignored.
pub fn parse_line(line: &str) -> Result<LogLine, ParseError> {
    let line = line.trim_end_matches(['\n', '\r']);
    let rest = line.strip_prefix('[').ok_or(ParseError::NoTimestamp)?;
    let close = rest.find(']').ok_or(ParseError::NoTimestamp)?;
    let digits = &rest[..close];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::NoTimestamp);
    }
    let time: i64 = digits.parse().map_err(|_| ParseError::NoTimestamp)?;
    let body = &rest[close + 1..];
    let body = body.strip_prefix(' ').unwrap_or(body);
    Ok(LogLine {
        time,
        event: parse_body(body),
    })
}

fn fields(s: &str, n: usize) -> Option<Vec<&str>> {
    let v: Vec<&str> = s.splitn(n, ';').collect();
    (v.len() == n).then_some(v)
}

fn num(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// A decimal number of the detection lines: digits only (no sign, no blanks).
fn dec<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `-` is "not known".
fn opt(s: &str) -> Option<String> {
    (s != "-" && !s.is_empty()).then(|| s.to_owned())
}

/// A comma list; empty for an empty field.
fn list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `event_time;reporter;source;proto;port;daemon;kind;count;raw`
fn connection_event(rest: &str) -> Option<ConnectionEventLine> {
    let f = fields(rest, 9)?;
    let port = match f[4] {
        "-" => None,
        p => Some(dec::<u16>(p)?),
    };
    if f[1].is_empty() || f[2].is_empty() || f[6].is_empty() {
        return None;
    }
    Some(ConnectionEventLine {
        event_time: dec(f[0])?,
        reporter: f[1].to_owned(),
        source: f[2].to_owned(),
        proto: opt(f[3]),
        port,
        daemon: opt(f[5]),
        kind: f[6].to_owned(),
        count: dec::<u32>(f[7]).filter(|c| *c >= 1)?,
        raw: f[8].to_owned(),
    })
}

/// `id;transition;key;detectors;events;host_count;port_count;source_count;first_seen;
/// last_seen;recurrence;hosts;ports;daemons;output`
fn scan_incident(rest: &str) -> Option<ScanIncidentLine> {
    let f = fields(rest, 15)?;
    if f[1].is_empty() || f[2].is_empty() {
        return None;
    }
    Some(ScanIncidentLine {
        id: dec(f[0])?,
        transition: f[1].to_owned(),
        key: f[2].to_owned(),
        detectors: list(f[3]),
        events: dec(f[4])?,
        host_count: dec(f[5])?,
        port_count: dec(f[6])?,
        source_count: dec(f[7])?,
        first_seen: dec(f[8])?,
        last_seen: dec(f[9])?,
        recurrence: match f[10] {
            "0" => false,
            "1" => true,
            _ => return None,
        },
        hosts: list(f[11]),
        ports: list(f[12]),
        daemons: list(f[13]),
        output: f[14].to_owned(),
    })
}

/// Split `output[;author;comment]` of ACKNOWLEDGEMENT / CUSTOM notifications.
fn split_author(ntype: &str, rest: &str) -> (String, Option<String>, Option<String>) {
    if ntype.starts_with("ACKNOWLEDGEMENT") || ntype.starts_with("CUSTOM") {
        let mut it = rest.rsplitn(3, ';');
        let comment = it.next();
        let author = it.next();
        let output = it.next();
        if let (Some(o), Some(a), Some(c)) = (output, author, comment) {
            return (o.to_owned(), Some(a.to_owned()), Some(c.to_owned()));
        }
    }
    (rest.to_owned(), None, None)
}

/// `phase; message` of downtime and flapping alerts.
fn phase_msg(s: &str) -> (String, String) {
    match s.split_once(';') {
        Some((p, m)) => (p.to_owned(), m.strip_prefix(' ').unwrap_or(m).to_owned()),
        None => (s.to_owned(), String::new()),
    }
}

/// Parse the text after the timestamp (`SERVICE ALERT: …`). Never fails: unrecognised or
/// malformed records become [`Event::Raw`].
pub fn parse_body(body: &str) -> Event {
    parse_known(body).unwrap_or_else(|| Event::Raw {
        text: body.to_owned(),
    })
}

fn parse_known(body: &str) -> Option<Event> {
    let (tag, rest) = body.split_once(": ")?;
    let o = |s: &str| s.to_owned();
    Some(match tag {
        "SERVICE ALERT" => {
            let f = fields(rest, 6)?;
            Event::ServiceAlert {
                host: o(f[0]),
                service: o(f[1]),
                state: o(f[2]),
                state_type: o(f[3]),
                attempt: num(f[4])?,
                output: o(f[5]),
            }
        }
        "HOST ALERT" => {
            let f = fields(rest, 5)?;
            Event::HostAlert {
                host: o(f[0]),
                state: o(f[1]),
                state_type: o(f[2]),
                attempt: num(f[3])?,
                output: o(f[4]),
            }
        }
        "SERVICE NOTIFICATION" => {
            let f = fields(rest, 6)?;
            let (output, author, comment) = split_author(f[3], f[5]);
            Event::ServiceNotification {
                contact: o(f[0]),
                host: o(f[1]),
                service: o(f[2]),
                notification_type: o(f[3]),
                command: o(f[4]),
                output,
                author,
                comment,
            }
        }
        "HOST NOTIFICATION" => {
            let f = fields(rest, 5)?;
            let (output, author, comment) = split_author(f[2], f[4]);
            Event::HostNotification {
                contact: o(f[0]),
                host: o(f[1]),
                notification_type: o(f[2]),
                command: o(f[3]),
                output,
                author,
                comment,
            }
        }
        "SERVICE EVENT HANDLER" | "GLOBAL SERVICE EVENT HANDLER" => {
            let f = fields(rest, 6)?;
            Event::ServiceEventHandler {
                global: tag.starts_with("GLOBAL"),
                host: o(f[0]),
                service: o(f[1]),
                state: o(f[2]),
                state_type: o(f[3]),
                attempt: num(f[4])?,
                command: o(f[5]),
            }
        }
        "HOST EVENT HANDLER" | "GLOBAL HOST EVENT HANDLER" => {
            let f = fields(rest, 5)?;
            Event::HostEventHandler {
                global: tag.starts_with("GLOBAL"),
                host: o(f[0]),
                state: o(f[1]),
                state_type: o(f[2]),
                attempt: num(f[3])?,
                command: o(f[4]),
            }
        }
        "PASSIVE SERVICE CHECK" => {
            let f = fields(rest, 4)?;
            Event::PassiveServiceCheck {
                host: o(f[0]),
                service: o(f[1]),
                code: o(f[2]),
                output: o(f[3]),
            }
        }
        "PASSIVE HOST CHECK" => {
            let f = fields(rest, 3)?;
            Event::PassiveHostCheck {
                host: o(f[0]),
                code: o(f[1]),
                output: o(f[2]),
            }
        }
        "EXTERNAL COMMAND" => {
            let (name, args) = rest.split_once(';').unwrap_or((rest, ""));
            Event::ExternalCommand {
                name: o(name),
                args: o(args),
            }
        }
        "SERVICE DOWNTIME ALERT" | "SERVICE FLAPPING ALERT" => {
            let f = fields(rest, 3)?;
            let (phase, message) = phase_msg(f[2]);
            let (host, service) = (o(f[0]), o(f[1]));
            if tag.contains("DOWNTIME") {
                Event::ServiceDowntimeAlert {
                    host,
                    service,
                    phase,
                    message,
                }
            } else {
                Event::ServiceFlappingAlert {
                    host,
                    service,
                    phase,
                    message,
                }
            }
        }
        "HOST DOWNTIME ALERT" | "HOST FLAPPING ALERT" => {
            let f = fields(rest, 2)?;
            let (phase, message) = phase_msg(f[1]);
            let host = o(f[0]);
            if tag.contains("DOWNTIME") {
                Event::HostDowntimeAlert {
                    host,
                    phase,
                    message,
                }
            } else {
                Event::HostFlappingAlert {
                    host,
                    phase,
                    message,
                }
            }
        }
        "INITIAL SERVICE STATE" | "CURRENT SERVICE STATE" => {
            let f = fields(rest, 6)?;
            Event::ServiceState {
                dump: if tag.starts_with("INITIAL") {
                    StateDump::Initial
                } else {
                    StateDump::Current
                },
                host: o(f[0]),
                service: o(f[1]),
                state: o(f[2]),
                state_type: o(f[3]),
                attempt: num(f[4])?,
                output: o(f[5]),
            }
        }
        "INITIAL HOST STATE" | "CURRENT HOST STATE" => {
            let f = fields(rest, 5)?;
            Event::HostState {
                dump: if tag.starts_with("INITIAL") {
                    StateDump::Initial
                } else {
                    StateDump::Current
                },
                host: o(f[0]),
                state: o(f[1]),
                state_type: o(f[2]),
                attempt: num(f[3])?,
                output: o(f[4]),
            }
        }
        "CONNECTION EVENT" => Event::ConnectionEvent(connection_event(rest)?),
        "SCAN INCIDENT" => Event::ScanIncident(scan_incident(rest)?),
        _ => return None,
    })
}
