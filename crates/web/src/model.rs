//! The data the daemon hands to the web server: status snapshots, commands, live events.

use serde::{Deserialize, Serialize};

/// A snapshot of the monitoring status, as the engine sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusView {
    /// The engine's clock when the snapshot was taken (epoch seconds); ages are relative to it.
    pub now: i64,
    /// All hosts.
    pub hosts: Vec<HostView>,
    /// All services.
    pub services: Vec<ServiceView>,
}

/// Status of one host.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HostView {
    pub name: String,
    pub address: String,
    /// 0 UP, 1 DOWN, 2 UNREACHABLE.
    pub state: u8,
    /// `true` for HARD.
    pub hard: bool,
    pub attempt: u32,
    pub max_attempts: u32,
    pub output: String,
    pub long_output: String,
    pub last_check: Option<i64>,
    pub last_state_change: Option<i64>,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub notifications_enabled: bool,
    pub comments: Vec<CommentView>,
}

/// Status of one service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceView {
    pub host: String,
    pub description: String,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub state: u8,
    pub hard: bool,
    pub attempt: u32,
    pub max_attempts: u32,
    pub output: String,
    pub long_output: String,
    pub last_check: Option<i64>,
    pub last_state_change: Option<i64>,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub notifications_enabled: bool,
    pub is_volatile: bool,
    pub comments: Vec<CommentView>,
}

/// A comment (acknowledgement, downtime or user comment).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommentView {
    pub id: u64,
    pub time: i64,
    pub author: String,
    pub text: String,
}

/// Service state name (`picket_log::ServiceState`, the one table of names).
pub fn service_state_name(s: u8) -> &'static str {
    picket_log::ServiceState::from_code(s).name()
}

/// Host state name (`picket_log::HostState`).
pub fn host_state_name(s: u8) -> &'static str {
    picket_log::HostState::from_code(s).name()
}

/// A command submitted through the API or the UI. The daemon turns it into the engine's
/// external command (see [`Command::to_external_command`] for the Nagios text form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// `PROCESS_SERVICE_CHECK_RESULT`.
    ServiceResult {
        host: String,
        service: String,
        /// 0..=3 (other values are passed on; the engine maps them as Nagios does).
        code: i32,
        output: String,
        /// Check time (epoch seconds); `None`: now.
        #[serde(default)]
        time: Option<i64>,
    },
    /// `PROCESS_HOST_CHECK_RESULT`.
    HostResult {
        host: String,
        code: i32,
        output: String,
        #[serde(default)]
        time: Option<i64>,
    },
    /// `ACKNOWLEDGE_SVC_PROBLEM`.
    AcknowledgeService {
        host: String,
        service: String,
        author: String,
        comment: String,
        #[serde(default)]
        sticky: bool,
        #[serde(default = "yes")]
        notify: bool,
        #[serde(default)]
        persistent: bool,
    },
    /// `ACKNOWLEDGE_HOST_PROBLEM`.
    AcknowledgeHost {
        host: String,
        author: String,
        comment: String,
        #[serde(default)]
        sticky: bool,
        #[serde(default = "yes")]
        notify: bool,
        #[serde(default)]
        persistent: bool,
    },
    /// `SCHEDULE_SVC_DOWNTIME`.
    ScheduleServiceDowntime {
        host: String,
        service: String,
        start: i64,
        end: i64,
        #[serde(default = "yes")]
        fixed: bool,
        /// Flexible downtime duration in seconds (ignored when fixed).
        #[serde(default)]
        duration: i64,
        author: String,
        comment: String,
    },
    /// `SCHEDULE_HOST_DOWNTIME`.
    ScheduleHostDowntime {
        host: String,
        start: i64,
        end: i64,
        #[serde(default = "yes")]
        fixed: bool,
        #[serde(default)]
        duration: i64,
        author: String,
        comment: String,
    },
}

fn yes() -> bool {
    true
}

/// Why a [`Command`] is refused before it reaches the daemon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A field is empty, too long or holds a forbidden character.
    #[error("invalid field `{0}`: {1}")]
    Field(&'static str, &'static str),
}

const MAX_FIELD: usize = 1024;
const MAX_OUTPUT: usize = 16 * 1024;

fn check_name(field: &'static str, v: &str) -> Result<(), CommandError> {
    if v.is_empty() {
        return Err(CommandError::Field(field, "empty"));
    }
    if v.len() > MAX_FIELD {
        return Err(CommandError::Field(field, "too long"));
    }
    if v.contains([';', '\0']) || picket_text::has_line_break(v) {
        return Err(CommandError::Field(field, "contains ';' or a line break"));
    }
    Ok(())
}

fn check_text(field: &'static str, v: &str, max: usize) -> Result<(), CommandError> {
    if v.len() > max {
        return Err(CommandError::Field(field, "too long"));
    }
    // A newline is escaped (`\n`); any other line break would end the log line
    // early for some reader.
    if v.contains('\0')
        || v.chars()
            .any(|c| c != '\n' && picket_text::is_line_break(c))
    {
        return Err(CommandError::Field(
            field,
            "contains a control character or a line break other than a newline",
        ));
    }
    Ok(())
}

/// Escape a plugin output for the one-line command form: `\` → `\\`, newline → `\n`
/// (the inverse of Nagios' `unescape_check_result_output()`).
fn escape_output(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn flat(s: &str) -> String {
    s.replace(['\n', ';'], " ")
}

/// A check result's fields, as the engine takes a passive result: the same values the
/// `PROCESS_*_CHECK_RESULT` line of [`Command::to_external_command`] carries, without
/// writing and re-splitting that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFields<'a> {
    /// The host.
    pub host: &'a str,
    /// The service; `None` for a host result.
    pub service: Option<&'a str>,
    /// The return code.
    pub code: i32,
    /// The output escaped as on a command line (`\` → `\\`, newline → `\n`).
    pub output: String,
    /// The check time: the result's own, else `now`.
    pub time: i64,
}

impl Command {
    /// The fields of a check result (`None` for other commands), as
    /// [`Command::to_external_command`] would write them.
    pub fn result_fields(&self, now: i64) -> Option<ResultFields<'_>> {
        match self {
            Command::ServiceResult {
                host,
                service,
                code,
                output,
                time,
            } => Some(ResultFields {
                host,
                service: Some(service),
                code: *code,
                output: escape_output(output),
                time: time.unwrap_or(now),
            }),
            Command::HostResult {
                host,
                code,
                output,
                time,
            } => Some(ResultFields {
                host,
                service: None,
                code: *code,
                output: escape_output(output),
                time: time.unwrap_or(now),
            }),
            _ => None,
        }
    }

    /// The host and (for service commands) the service the command is about.
    pub fn target(&self) -> (&str, Option<&str>) {
        match self {
            Command::ServiceResult { host, service, .. }
            | Command::AcknowledgeService { host, service, .. }
            | Command::ScheduleServiceDowntime { host, service, .. } => {
                (host.as_str(), Some(service.as_str()))
            }
            Command::HostResult { host, .. }
            | Command::AcknowledgeHost { host, .. }
            | Command::ScheduleHostDowntime { host, .. } => (host.as_str(), None),
        }
    }

    /// Validate fields: names non-empty without `;` or line breaks, bounded lengths.
    pub fn validate(&self) -> Result<(), CommandError> {
        let (host, service) = self.target();
        check_name("host", host)?;
        if let Some(service) = service {
            check_name("service", service)?;
        }
        match self {
            Command::ServiceResult { output, .. } | Command::HostResult { output, .. } => {
                check_text("output", output, MAX_OUTPUT)
            }
            Command::AcknowledgeService {
                author, comment, ..
            }
            | Command::AcknowledgeHost {
                author, comment, ..
            } => {
                check_name("author", author)?;
                check_text("comment", comment, MAX_FIELD)
            }
            Command::ScheduleServiceDowntime {
                start,
                end,
                author,
                comment,
                ..
            }
            | Command::ScheduleHostDowntime {
                start,
                end,
                author,
                comment,
                ..
            } => {
                check_name("author", author)?;
                check_text("comment", comment, MAX_FIELD)?;
                if end <= start {
                    return Err(CommandError::Field("end", "not after start"));
                }
                Ok(())
            }
        }
    }

    /// The Nagios external command line (`[time] NAME;args`, no newline) for this command,
    /// as it would be written to the command file. Call [`Command::validate`] first.
    pub fn to_external_command(&self, now: i64) -> String {
        let b = |x: bool| if x { "1" } else { "0" };
        match self {
            Command::ServiceResult {
                host,
                service,
                code,
                output,
                time,
            } => format!(
                "[{}] PROCESS_SERVICE_CHECK_RESULT;{host};{service};{code};{}",
                time.unwrap_or(now),
                escape_output(output)
            ),
            Command::HostResult {
                host,
                code,
                output,
                time,
            } => format!(
                "[{}] PROCESS_HOST_CHECK_RESULT;{host};{code};{}",
                time.unwrap_or(now),
                escape_output(output)
            ),
            Command::AcknowledgeService {
                host,
                service,
                author,
                comment,
                sticky,
                notify,
                persistent,
            } => format!(
                "[{now}] ACKNOWLEDGE_SVC_PROBLEM;{host};{service};{};{};{};{author};{}",
                if *sticky { "2" } else { "1" },
                b(*notify),
                b(*persistent),
                flat(comment)
            ),
            Command::AcknowledgeHost {
                host,
                author,
                comment,
                sticky,
                notify,
                persistent,
            } => format!(
                "[{now}] ACKNOWLEDGE_HOST_PROBLEM;{host};{};{};{};{author};{}",
                if *sticky { "2" } else { "1" },
                b(*notify),
                b(*persistent),
                flat(comment)
            ),
            Command::ScheduleServiceDowntime {
                host,
                service,
                start,
                end,
                fixed,
                duration,
                author,
                comment,
            } => format!(
                "[{now}] SCHEDULE_SVC_DOWNTIME;{host};{service};{start};{end};{};0;{duration};{author};{}",
                b(*fixed),
                flat(comment)
            ),
            Command::ScheduleHostDowntime {
                host,
                start,
                end,
                fixed,
                duration,
                author,
                comment,
            } => format!(
                "[{now}] SCHEDULE_HOST_DOWNTIME;{host};{start};{end};{};0;{duration};{author};{}",
                b(*fixed),
                flat(comment)
            ),
        }
    }
}

/// Why the daemon refused a submitted command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The engine does not accept it (unknown host/service, passive checks disabled, …).
    #[error("rejected: {0}")]
    Rejected(String),
    /// The daemon cannot take it now (queue full, shutting down).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// What the daemon implements to serve the web UI and API.
pub trait Backend: Send + Sync + 'static {
    /// A current status snapshot.
    fn status(&self) -> StatusView;
    /// Hand a validated command to the engine (in arrival order with other inputs).
    fn submit(&self, cmd: Command) -> Result<(), SubmitError>;
    /// Whether the host (and service) exists, so that a request naming several
    /// objects can be refused whole before any of it is taken (Icinga 2's
    /// process-check-result). `Rejected` names the unknown object. The default:
    /// every object exists (`submit` still checks).
    fn exists(&self, host: &str, service: Option<&str>) -> Result<(), SubmitError> {
        let _ = (host, service);
        Ok(())
    }
    /// Hand one raw external command (`[time] NAME;args\n`, already checked to be
    /// one line and authorized: NRDP's `cmd=submitcmd`) to the engine as a
    /// command-file line. The default: not taken.
    fn submit_line(&self, line: &[u8]) -> Result<(), SubmitError> {
        let _ = line;
        Err(SubmitError::Unavailable(
            "raw external commands are not taken by this server".into(),
        ))
    }
    /// Hand connection events (`POST /api/connection-events`) to the engine as one input;
    /// `Unavailable` when its queue is full (the sender retries).
    fn submit_events(
        &self,
        events: Vec<picket_correlator::ConnectionEvent>,
    ) -> Result<(), SubmitError> {
        let _ = events;
        Err(SubmitError::Unavailable(
            "connection events are not taken by this server".into(),
        ))
    }

    /// The service that carries scan incidents (`host`, `service`: the detection's
    /// network host and its `Port scans` service), for the incident page's
    /// acknowledgement form. `None` (the default): the page looks for the service whose
    /// output is the incident's last output.
    fn incident_service(&self) -> Option<(String, String)> {
        None
    }
}

/// An event on the live stream (`/events`, `/api/events`), JSON-encoded with a `type` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A check result was processed.
    CheckResult {
        time: i64,
        host: String,
        service: Option<String>,
        code: String,
        output: String,
    },
    /// An alert (state change, or a volatile service's non-OK result).
    StateChange {
        time: i64,
        host: String,
        service: Option<String>,
        state: String,
        state_type: String,
        attempt: u32,
        output: String,
    },
    /// A notification was sent to a contact.
    Notification {
        time: i64,
        contact: String,
        host: String,
        service: Option<String>,
        notification_type: String,
        command: String,
        output: String,
    },
    /// A scan incident changed (`SCAN INCIDENT` line): opened, updated, escalated, closed.
    Incident {
        time: i64,
        id: u64,
        transition: String,
        key: String,
        output: String,
    },
    /// A connection event was logged (`CONNECTION EVENT` line); `time` is the event's own.
    Connection {
        time: i64,
        reporter: String,
        source: String,
        port: Option<u16>,
        kind: String,
    },
}

impl LiveEvent {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::CheckResult { .. } => "check_result",
            LiveEvent::StateChange { .. } => "state_change",
            LiveEvent::Notification { .. } => "notification",
            LiveEvent::Incident { .. } => "incident",
            LiveEvent::Connection { .. } => "connection",
        }
    }

    /// The live event for a parsed `nagios.log` line, if it is one (Picket logs the new
    /// result in `PASSIVE … CHECK`; alerts are state changes; notifications).
    pub fn from_log(l: &picket_history::LogLine) -> Option<LiveEvent> {
        use picket_history::Event as E;
        let time = l.time;
        Some(match &l.event {
            E::PassiveServiceCheck {
                host,
                service,
                code,
                output,
            } => LiveEvent::CheckResult {
                time,
                host: host.clone(),
                service: Some(service.clone()),
                code: code.clone(),
                output: output.clone(),
            },
            E::PassiveHostCheck { host, code, output } => LiveEvent::CheckResult {
                time,
                host: host.clone(),
                service: None,
                code: code.clone(),
                output: output.clone(),
            },
            E::ServiceAlert {
                host,
                service,
                state,
                state_type,
                attempt,
                output,
            } => LiveEvent::StateChange {
                time,
                host: host.clone(),
                service: Some(service.clone()),
                state: state.clone(),
                state_type: state_type.clone(),
                attempt: *attempt,
                output: output.clone(),
            },
            E::HostAlert {
                host,
                state,
                state_type,
                attempt,
                output,
            } => LiveEvent::StateChange {
                time,
                host: host.clone(),
                service: None,
                state: state.clone(),
                state_type: state_type.clone(),
                attempt: *attempt,
                output: output.clone(),
            },
            E::ServiceNotification {
                contact,
                host,
                service,
                notification_type,
                command,
                output,
                ..
            } => LiveEvent::Notification {
                time,
                contact: contact.clone(),
                host: host.clone(),
                service: Some(service.clone()),
                notification_type: notification_type.clone(),
                command: command.clone(),
                output: output.clone(),
            },
            E::HostNotification {
                contact,
                host,
                notification_type,
                command,
                output,
                ..
            } => LiveEvent::Notification {
                time,
                contact: contact.clone(),
                host: host.clone(),
                service: None,
                notification_type: notification_type.clone(),
                command: command.clone(),
                output: output.clone(),
            },
            E::ScanIncident(i) => LiveEvent::Incident {
                time,
                id: i.id,
                transition: i.transition.clone(),
                key: i.key.clone(),
                output: i.output.clone(),
            },
            E::ConnectionEvent(c) => LiveEvent::Connection {
                time: c.event_time,
                reporter: c.reporter.clone(),
                source: c.source.clone(),
                port: c.port,
                kind: c.kind.clone(),
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_command_forms() {
        let c = Command::ServiceResult {
            host: "firestorm".into(),
            service: "TCP Wrappers".into(),
            code: 2,
            output: "Denied sshd-127.0.0.2\nline2 \\ x".into(),
            time: None,
        };
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            c.to_external_command(42),
            "[42] PROCESS_SERVICE_CHECK_RESULT;firestorm;TCP Wrappers;2;Denied sshd-127.0.0.2\\nline2 \\\\ x"
        );
        let a = Command::AcknowledgeService {
            host: "h".into(),
            service: "s".into(),
            author: "admin".into(),
            comment: "on it;\nnow".into(),
            sticky: true,
            notify: true,
            persistent: false,
        };
        assert_eq!(
            a.to_external_command(7),
            "[7] ACKNOWLEDGE_SVC_PROBLEM;h;s;2;1;0;admin;on it  now"
        );
        let d = Command::ScheduleHostDowntime {
            host: "h".into(),
            start: 10,
            end: 20,
            fixed: true,
            duration: 0,
            author: "a".into(),
            comment: "c".into(),
        };
        assert_eq!(
            d.to_external_command(5),
            "[5] SCHEDULE_HOST_DOWNTIME;h;10;20;1;0;0;a;c"
        );
    }

    #[test]
    fn validation_rejects_injection() {
        let bad = Command::HostResult {
            host: "h;x\n[1] SHUTDOWN_PROGRAM".into(),
            code: 0,
            output: String::new(),
            time: None,
        };
        assert!(bad.validate().is_err());
        let empty = Command::HostResult {
            host: String::new(),
            code: 0,
            output: String::new(),
            time: None,
        };
        assert!(empty.validate().is_err());
        let dt = Command::ScheduleHostDowntime {
            host: "h".into(),
            start: 20,
            end: 10,
            fixed: true,
            duration: 0,
            author: "a".into(),
            comment: String::new(),
        };
        assert!(dt.validate().is_err());
    }

    #[test]
    fn live_event_from_log() {
        let l = picket_history::parse_line(
            "[9] SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-127.0.0.2",
        )
        .expect("line");
        let e = LiveEvent::from_log(&l).expect("event");
        assert_eq!(e.name(), "state_change");
        let l = picket_history::parse_line("[9] EXTERNAL COMMAND: X;y").expect("line");
        assert!(LiveEvent::from_log(&l).is_none());
    }
}
