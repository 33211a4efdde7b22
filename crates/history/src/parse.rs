//! `nagios.log` lines as the history stores them: [`Event`], owned, with the fields the
//! store's columns take.
//!
//! The grammar is not here: a line is parsed by `picket_log` (the one owner of the log's
//! text, which the engine renders through) and its [`picket_log::Record`] mapped to an
//! [`Event`] (states and types by their logged names). Kinds the store has no row type for
//! (`LOG ROTATION`, warnings, errors, `External command … returned error`) and anything
//! not recognised are kept as [`Event::Raw`], the text after the timestamp, so that no line
//! is ever lost.

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
    let l = picket_log::parse_line(line).map_err(|_| ParseError::NoTimestamp)?;
    Ok(LogLine {
        time: l.time,
        event: from_record(l.record),
    })
}

/// Parse the text after the timestamp (`SERVICE ALERT: …`). Never fails: unrecognised or
/// malformed records become [`Event::Raw`].
pub fn parse_body(body: &str) -> Event {
    from_record(picket_log::parse_body(body))
}

fn o(s: &str) -> String {
    s.to_owned()
}

/// `-` (already `None`) and an empty field are "not known".
fn known(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn list(l: picket_log::List<'_>) -> Vec<String> {
    l.items().map(str::to_owned).collect()
}

fn dump(d: picket_log::StateDump) -> StateDump {
    match d {
        picket_log::StateDump::Initial => StateDump::Initial,
        picket_log::StateDump::Current => StateDump::Current,
    }
}

/// The history's view of a typed record.
pub(crate) fn from_record(r: picket_log::Record<'_>) -> Event {
    use picket_log::Record as R;
    match r {
        R::ServiceAlert {
            host,
            service,
            state,
            state_type,
            attempt,
            output,
        } => Event::ServiceAlert {
            host: o(host),
            service: o(service),
            state: o(state.name()),
            state_type: o(state_type.name()),
            attempt,
            output: o(output),
        },
        R::HostAlert {
            host,
            state,
            state_type,
            attempt,
            output,
        } => Event::HostAlert {
            host: o(host),
            state: o(state.name()),
            state_type: o(state_type.name()),
            attempt,
            output: o(output),
        },
        R::ServiceNotification {
            contact,
            host,
            service,
            kind,
            command,
            output,
            author,
        } => Event::ServiceNotification {
            contact: o(contact),
            host: o(host),
            service: o(service),
            notification_type: kind.to_string(),
            command: o(command),
            output: o(output),
            author: author.map(|(a, _)| o(a)),
            comment: author.map(|(_, c)| o(c)),
        },
        R::HostNotification {
            contact,
            host,
            kind,
            command,
            output,
            author,
        } => Event::HostNotification {
            contact: o(contact),
            host: o(host),
            notification_type: kind.to_string(),
            command: o(command),
            output: o(output),
            author: author.map(|(a, _)| o(a)),
            comment: author.map(|(_, c)| o(c)),
        },
        R::ServiceEventHandler {
            global,
            host,
            service,
            state,
            state_type,
            attempt,
            command,
        } => Event::ServiceEventHandler {
            global,
            host: o(host),
            service: o(service),
            state: o(state.name()),
            state_type: o(state_type.name()),
            attempt,
            command: o(command),
        },
        R::HostEventHandler {
            global,
            host,
            state,
            state_type,
            attempt,
            command,
        } => Event::HostEventHandler {
            global,
            host: o(host),
            state: o(state.name()),
            state_type: o(state_type.name()),
            attempt,
            command: o(command),
        },
        R::PassiveServiceCheck {
            host,
            service,
            code,
            output,
        } => Event::PassiveServiceCheck {
            host: o(host),
            service: o(service),
            code: code.to_string(),
            output: o(output),
        },
        R::PassiveHostCheck { host, code, output } => Event::PassiveHostCheck {
            host: o(host),
            code: code.to_string(),
            output: o(output),
        },
        R::ExternalCommand { name, args } => Event::ExternalCommand {
            name: o(name),
            args: o(args.unwrap_or("")),
        },
        R::ServiceDowntimeAlert {
            host,
            service,
            phase,
            message,
        } => Event::ServiceDowntimeAlert {
            host: o(host),
            service: o(service),
            phase: o(phase.name()),
            message: o(message),
        },
        R::HostDowntimeAlert {
            host,
            phase,
            message,
        } => Event::HostDowntimeAlert {
            host: o(host),
            phase: o(phase.name()),
            message: o(message),
        },
        R::ServiceFlappingAlert {
            host,
            service,
            phase,
            message,
        } => Event::ServiceFlappingAlert {
            host: o(host),
            service: o(service),
            phase: o(phase.name()),
            message: o(message),
        },
        R::HostFlappingAlert {
            host,
            phase,
            message,
        } => Event::HostFlappingAlert {
            host: o(host),
            phase: o(phase.name()),
            message: o(message),
        },
        R::ServiceState {
            dump: d,
            host,
            service,
            state,
            state_type,
            attempt,
            output,
        } => Event::ServiceState {
            dump: dump(d),
            host: o(host),
            service: o(service),
            state: o(state.name()),
            state_type: o(state_type.name()),
            attempt,
            output: o(output),
        },
        R::HostState {
            dump: d,
            host,
            state,
            state_type,
            attempt,
            output,
        } => Event::HostState {
            dump: dump(d),
            host: o(host),
            state: o(state.name()),
            state_type: o(state_type.name()),
            attempt,
            output: o(output),
        },
        R::ConnectionEvent(e) => Event::ConnectionEvent(ConnectionEventLine {
            event_time: e.event_time,
            reporter: o(e.reporter),
            source: o(e.source),
            proto: known(e.proto),
            port: e.port,
            daemon: known(e.daemon),
            kind: o(e.kind),
            count: e.count,
            raw: o(e.raw),
        }),
        R::ScanIncident(i) => Event::ScanIncident(ScanIncidentLine {
            id: i.id,
            transition: o(i.transition),
            key: o(i.key),
            detectors: list(i.detectors),
            events: i.events,
            host_count: i.host_count,
            port_count: i.port_count,
            source_count: i.source_count,
            first_seen: i.first_seen,
            last_seen: i.last_seen,
            recurrence: i.recurrence,
            hosts: list(i.hosts),
            ports: list(i.ports),
            daemons: list(i.daemons),
            output: o(i.output),
        }),
        // No row type of their own: kept as text, as before.
        r @ (R::ExternalCommandError { .. }
        | R::LogRotation { .. }
        | R::LogVersion { .. }
        | R::Warning { .. }
        | R::Error { .. }) => Event::Raw {
            text: r.to_string(),
        },
        R::Raw(text) => Event::Raw { text: o(text) },
    }
}
