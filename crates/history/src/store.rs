//! The SQLite history store.

use std::path::Path;

use regex::Regex;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};
use serde::Serialize;

use crate::incidents::{NewConnEvent, upsert_incident};
use crate::notify::NotificationJob;
use crate::parse::{Event, EventKind, LogLine, parse_line};

/// Errors of the history store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The Denied pattern is not a valid regex.
    #[error("denied pattern: {0}")]
    Pattern(#[from] regex::Error),
    /// The Denied pattern lacks the `addr` capture group.
    #[error("denied pattern must have a named group `addr` (and may have `daemon`)")]
    PatternGroups,
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The default pattern for TCP-wrappers denials: the seed's handler submits
/// `Denied $2-$1` = `Denied <daemon>-<client>` (`%d`, `%h`). The daemon is taken up to the first
/// `-` (host names may contain `-`, libwrap daemon names rarely do).
pub const DEFAULT_DENIED_PATTERN: &str = r"^Denied (?P<daemon>[^\s-]+)-(?P<addr>\S+)";

/// How denials are recognised in check output.
#[derive(Debug, Clone)]
pub struct DeniedPattern {
    regex: Regex,
    kinds: Vec<EventKind>,
}

impl DeniedPattern {
    /// A pattern with named groups `addr` (required) and `daemon` (optional), applied to the
    /// output of `SERVICE ALERT` records (for a volatile service, one per result).
    pub fn new(pattern: &str) -> Result<DeniedPattern> {
        let regex = Regex::new(pattern)?;
        if !regex.capture_names().any(|n| n == Some("addr")) {
            return Err(Error::PatternGroups);
        }
        Ok(DeniedPattern {
            regex,
            kinds: vec![EventKind::ServiceAlert],
        })
    }

    /// Apply the pattern to other record kinds instead (e.g. `PassiveServiceCheck`, which
    /// Picket logs with the new result, to count denials of non-volatile services too).
    pub fn with_kinds(mut self, kinds: Vec<EventKind>) -> DeniedPattern {
        self.kinds = kinds;
        self
    }

    /// `(daemon, addr)` when `output` of a record of `kind` is a denial.
    pub fn matches(&self, kind: EventKind, output: &str) -> Option<(String, String)> {
        self.spans(kind, output)
            .map(|(d, a)| (d.to_owned(), a.to_owned()))
    }

    /// `(host, daemon, addr)` when the record `e` is a Denied result line (`host` is empty
    /// for a record without one; `daemon` when the pattern has no such group).
    pub fn match_event<'e>(&self, e: &'e Event) -> Option<(&'e str, &'e str, &'e str)> {
        let c = cols(e);
        let (daemon, addr) = self.spans(e.kind(), c.output)?;
        Some((c.host.unwrap_or(""), daemon, addr))
    }

    /// [`DeniedPattern::matches`], borrowed from `output`.
    fn spans<'o>(&self, kind: EventKind, output: &'o str) -> Option<(&'o str, &'o str)> {
        if !self.kinds.contains(&kind) {
            return None;
        }
        let c = self.regex.captures(output)?;
        let addr = c.name("addr")?.as_str();
        let daemon = c.name("daemon").map_or("", |m| m.as_str());
        Some((daemon, addr))
    }
}

impl Default for DeniedPattern {
    fn default() -> Self {
        // The built-in pattern is a constant known to compile and to hold `addr`.
        #[allow(clippy::expect_used)]
        DeniedPattern::new(DEFAULT_DENIED_PATTERN).expect("built-in pattern")
    }
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Drop records older than this many seconds (`None`: keep forever).
    pub max_age_secs: Option<i64>,
    /// Keep at most this many event rows (`None`: no limit).
    pub max_rows: Option<u64>,
    /// At most this many rows are deleted by one [`Store::prune`] call, so that pruning never
    /// holds the write lock for long; call it periodically.
    pub prune_chunk: u32,
    /// Denied-connection recognition.
    pub denied: DeniedPattern,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_age_secs: Some(90 * 86_400),
            max_rows: Some(5_000_000),
            prune_chunk: 10_000,
            denied: DeniedPattern::default(),
        }
    }
}

/// The exit status of a notification command, reported by the daemon after it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationResult {
    /// When the command finished (epoch seconds).
    pub time: i64,
    /// Contact name, as in the `… NOTIFICATION` line.
    pub contact: String,
    /// Host name.
    pub host: String,
    /// Service description; `None` for host notifications.
    pub service: Option<String>,
    /// Command name, as in the `… NOTIFICATION` line.
    pub command: String,
    /// Exit code; `None` when the command did not exit normally.
    pub exit_code: Option<i32>,
    /// `ok`, `failed`, `timeout`, `spawn error: …`, …
    pub status: String,
    /// Run time in milliseconds.
    pub duration_ms: u64,
}

/// One item of a batch written by [`Store::insert_batch`].
#[derive(Debug, Clone)]
pub enum Record {
    /// A parsed log line.
    Log(LogLine),
    /// A notification command's outcome, joined to the oldest open row of its names.
    NotificationResult(NotificationResult),
    /// A notification job taken by the executor: the next row of its names is notification
    /// `id` (`crate::notify`).
    NotificationJob(NotificationJob),
    /// The outcome of notification `id`, joined to its row exactly.
    NotificationOutcome { id: u64, result: NotificationResult },
}

/// A stored history row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub time: i64,
    /// [`EventKind::as_str`].
    pub kind: String,
    pub host: Option<String>,
    pub service: Option<String>,
    /// State name, notification type, downtime/flapping phase or passive return code.
    pub state: Option<String>,
    pub state_type: Option<String>,
    pub attempt: Option<u32>,
    pub contact: Option<String>,
    /// Notification / event handler command, or the external command's name.
    pub command: Option<String>,
    /// Plugin output, message, external command arguments or the raw text.
    pub output: String,
    pub author: Option<String>,
    pub comment: Option<String>,
    /// Exit code of the notification command, once reported.
    pub exit_code: Option<i32>,
    /// Outcome of the notification command, once reported.
    pub exit_status: Option<String>,
}

/// Filters of [`Store::query`]; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Exact host name.
    pub host: Option<String>,
    /// Exact service description.
    pub service: Option<String>,
    /// Exact `state` column (e.g. `CRITICAL`).
    pub state: Option<String>,
    /// Record kinds (empty: all).
    pub kinds: Vec<EventKind>,
    /// `time >= since`.
    pub since: Option<i64>,
    /// `time <= until`.
    pub until: Option<i64>,
    /// Case-insensitive substring of the output.
    pub text: Option<String>,
    /// Only rows with `id < before_id` (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many rows (0 means 200); capped at 10 000.
    pub limit: u32,
}

impl Query {
    /// Alerts (service, host, downtime, flapping).
    pub const ALERT_KINDS: [EventKind; 6] = [
        EventKind::ServiceAlert,
        EventKind::HostAlert,
        EventKind::ServiceDowntimeAlert,
        EventKind::HostDowntimeAlert,
        EventKind::ServiceFlappingAlert,
        EventKind::HostFlappingAlert,
    ];
    /// Notifications.
    pub const NOTIFICATION_KINDS: [EventKind; 2] =
        [EventKind::ServiceNotification, EventKind::HostNotification];
}

/// Filters of [`Store::denied`].
#[derive(Debug, Clone, Default)]
pub struct DeniedQuery {
    /// Only denials at or after this time.
    pub since: Option<i64>,
    /// Only denials on this host.
    pub host: Option<String>,
    /// At most this many sources (0 means 500).
    pub limit: u32,
    /// Skip this many sources of the order (paging).
    pub offset: u32,
}

/// Refusals from one source address, across all hosts and daemons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeniedSource {
    /// The source address (or name) as logged.
    pub addr: String,
    /// First denial (epoch seconds).
    pub first_seen: i64,
    /// Last denial (epoch seconds).
    pub last_seen: i64,
    /// Number of denials.
    pub count: u64,
    /// Hosts that refused it, sorted (the first [`MAX_NAMES`](crate::DENIED_MAX_NAMES)).
    pub hosts: Vec<String>,
    /// How many distinct hosts refused it.
    pub host_count: u64,
    /// Daemons it tried, sorted (the first [`MAX_NAMES`](crate::DENIED_MAX_NAMES)).
    pub daemons: Vec<String>,
    /// How many distinct daemons it tried.
    pub daemon_count: u64,
}

/// Counts of one [`Store::ingest_lines`] call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Rows inserted.
    pub inserted: usize,
    /// Lines without a `[timestamp]`, skipped.
    pub skipped: usize,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    host TEXT,
    service TEXT,
    state TEXT,
    state_type TEXT,
    attempt INTEGER,
    contact TEXT,
    command TEXT,
    output TEXT NOT NULL,
    author TEXT,
    comment TEXT,
    denied_daemon TEXT,
    denied_addr TEXT,
    exit_code INTEGER,
    exit_status TEXT,
    folded INTEGER NOT NULL DEFAULT 0,
    ce_source TEXT,
    ce_net TEXT,
    ce_time INTEGER,
    ce_reporter TEXT,
    ce_proto TEXT,
    ce_port INTEGER,
    ce_daemon TEXT,
    ce_kind TEXT,
    ce_count INTEGER,
    ce_raw TEXT
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_obj ON events(host, service, id);
CREATE INDEX IF NOT EXISTS events_kind ON events(kind, id);
DROP INDEX IF EXISTS events_denied;
CREATE INDEX IF NOT EXISTS events_pending_notif ON events(contact, host, id)
    WHERE exit_status IS NULL AND contact IS NOT NULL;
CREATE TABLE IF NOT EXISTS notification_results (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    contact TEXT NOT NULL,
    host TEXT NOT NULL,
    service TEXT,
    command TEXT NOT NULL,
    exit_code INTEGER,
    status TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    event_id INTEGER
);
CREATE INDEX IF NOT EXISTS notification_results_time ON notification_results(time);
CREATE TABLE IF NOT EXISTS cursors (
    source TEXT PRIMARY KEY,
    file_id INTEGER NOT NULL,
    offset INTEGER NOT NULL
);
";

/// `PRAGMA user_version` of the current schema: 1 added connection events, incidents and the
/// Denied aggregates; 2 the `folded` column (one row for a passive result's lines, see
/// [`fold_len`]); 3 the connection event as the `ce_*` columns of its line's row instead of
/// a `conn_events` row of its own; 4 the per-second Denied counts (`denied_sec`) and the
/// `(ce_net, ce_time)` index instead of `(ce_net, ce_source, ce_time)`.
const SCHEMA_VERSION: i64 = 4;

/// The `ce_*` columns (schema 3), added to a file of an earlier schema. `ce_source` is NULL
/// on a row without a connection event; `ce_reporter` NULL means the row's `host`, `ce_raw`
/// NULL the row's `output` (what a Denied result line or a `CONNECTION EVENT` line is).
const CE_COLUMNS: [(&str, &str); 10] = [
    ("ce_source", "TEXT"),
    ("ce_net", "TEXT"),
    ("ce_time", "INTEGER"),
    ("ce_reporter", "TEXT"),
    ("ce_proto", "TEXT"),
    ("ce_port", "INTEGER"),
    ("ce_daemon", "TEXT"),
    ("ce_kind", "TEXT"),
    ("ce_count", "INTEGER"),
    ("ce_raw", "TEXT"),
];

/// The connection events' index on `events`, partial (only the rows that have one): a /24
/// (/64, or a name) by time. It grows at the end of each /24's range, so a burst costs no
/// random B-tree insert per denial; a source is found in its /24's range (its rows checked)
/// between its first and last denial, a wider IPv4 prefix is a range of /24s, and the list
/// of all is a scan (each further index of these rows costs ≈ 2 µs of a denial's 15).
const CE_INDEXES: &str = "
DROP INDEX IF EXISTS events_ce_net;
DROP INDEX IF EXISTS events_ce_time;
CREATE INDEX IF NOT EXISTS events_ce_nt ON events(ce_net, ce_time) WHERE ce_source IS NOT NULL;
";

/// `folded` bit: the row also stands for the `EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT`
/// line logged just before it.
const FOLDED_EXT: i64 = 1;
/// `folded` bit: the row (a `SERVICE ALERT`) also stands for the `PASSIVE SERVICE CHECK` line
/// logged just before it.
const FOLDED_PASSIVE: i64 = 2;

/// The external command whose line is folded.
const PSCR: &str = "PROCESS_SERVICE_CHECK_RESULT";

/// Return code (`0`..`3`) of a service state name, as the engine logs a passive result.
fn code_of_state(state: &str) -> Option<&'static str> {
    Some(match state {
        "OK" => "0",
        "WARNING" => "1",
        "CRITICAL" => "2",
        "UNKNOWN" => "3",
        _ => return None,
    })
}

/// `(host, service, code, output)` of a line that can be part of one passive service result:
/// the external command, the `PASSIVE SERVICE CHECK` line, the `SERVICE ALERT` line.
fn result_key(e: &Event) -> Option<(&str, &str, &str, &str)> {
    match e {
        Event::ExternalCommand { name, args } if name == PSCR => {
            let mut f = args.splitn(4, ';');
            let (h, s, c, o) = (f.next()?, f.next()?, f.next()?, f.next()?);
            code_of_state_digit(c).map(|c| (h, s, c, o))
        }
        Event::PassiveServiceCheck {
            host,
            service,
            code,
            output,
        } => {
            code_of_state_digit(code).map(|c| (host.as_str(), service.as_str(), c, output.as_str()))
        }
        Event::ServiceAlert {
            host,
            service,
            state,
            output,
            ..
        } => code_of_state(state).map(|c| (host.as_str(), service.as_str(), c, output.as_str())),
        _ => None,
    }
}

/// `code` when it is one of the four digits the engine logs.
fn code_of_state_digit(code: &str) -> Option<&'static str> {
    ["0", "1", "2", "3"].into_iter().find(|d| *d == code)
}

/// How many records from `batch[i]` form one passive service result, and their `folded`
/// bits: an `EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;h;s;c;o` line, then the `PASSIVE
/// SERVICE CHECK: h;s;c;o` line, then the `SERVICE ALERT: h;s;STATE;…;o` line of the same
/// second (any two of them in that order, the last one stored), all of them telling the
/// same host, service, code and output exactly, so that [`expand`] gives every line back as
/// it was stored before. Anything else is a group of one (`folded` 0).
/// Whether a line of kind `next` can follow a passive result's line of kind `prev` in the
/// one row its lines make (`EXTERNAL COMMAND` → `PASSIVE SERVICE CHECK` → `SERVICE ALERT`,
/// either of the first two may be missing; the time, host, service, code and output must
/// agree too). A reader that hands lines over in batches keeps a result's lines together
/// with it.
pub fn continues_result(prev: EventKind, next: EventKind) -> bool {
    matches!(
        (prev, next),
        (
            EventKind::ExternalCommand,
            EventKind::PassiveServiceCheck | EventKind::ServiceAlert
        ) | (EventKind::PassiveServiceCheck, EventKind::ServiceAlert)
    )
}

fn fold_len(batch: &[Record], i: usize) -> (usize, i64) {
    let log = |j: usize| match batch.get(j) {
        Some(Record::Log(l)) => Some(l),
        _ => None,
    };
    let Some(first) = log(i) else {
        return (1, 0);
    };
    let Some(key) = result_key(&first.event) else {
        return (1, 0);
    };
    let (mut len, mut flags) = (1usize, 0i64);
    let mut prev = first.event.kind();
    while let Some(next) = log(i + len) {
        let k = next.event.kind();
        if !continues_result(prev, k)
            || next.time != first.time
            || result_key(&next.event) != Some(key)
        {
            break;
        }
        flags |= match prev {
            EventKind::ExternalCommand => FOLDED_EXT,
            _ => FOLDED_PASSIVE,
        };
        prev = k;
        len += 1;
    }
    (len, flags)
}

/// Schema 2 → 3: each `conn_events` row, in id order, onto the first row at or after the
/// previous one's that its line made: a Denied result line (same second, reporter and text:
/// found through `events_time`) or a `CONNECTION EVENT` line (the next such row of the
/// same reporter and text, through `events_kind`). The table is read as one statement (SQLite steps it; nothing is held
/// but the current row). Returns (moved, dropped): a connection event whose line is no longer
/// stored (the two tables were pruned apart) is dropped; the caller then rebuilds the
/// aggregates.
fn move_conn_events(tx: &rusqlite::Transaction<'_>) -> Result<(u64, u64)> {
    let mut all = tx.prepare(
        "SELECT time, reporter, source, net, proto, port, daemon, kind, count, raw
         FROM conn_events ORDER BY id",
    )?;
    let mut denial = tx.prepare(
        "SELECT id, host FROM events WHERE time = ?1 AND id >= ?2 AND output = ?3
         AND COALESCE(host, '') = ?4 AND kind != 'connection_event' AND ce_source IS NULL
         ORDER BY time, id LIMIT 1",
    )?;
    let mut line = tx.prepare(
        "SELECT id, host FROM events WHERE kind = 'connection_event' AND id >= ?1
         AND output = ?2 AND COALESCE(host, '') = ?3 AND ce_source IS NULL
         ORDER BY kind, id LIMIT 1",
    )?;
    let mut set = tx.prepare(
        "UPDATE events SET ce_source = ?2, ce_net = ?3, ce_time = ?4, ce_reporter = ?5,
         ce_proto = ?6, ce_port = ?7, ce_daemon = ?8, ce_kind = ?9, ce_count = ?10
         WHERE id = ?1",
    )?;
    let (mut moved, mut dropped, mut next) = (0u64, 0u64, 0i64);
    let mut rows = all.query([])?;
    while let Some(r) = rows.next()? {
        let time: i64 = r.get(0)?;
        let reporter: String = r.get(1)?;
        let raw: String = r.get(9)?;
        let proto: Option<String> = r.get(4)?;
        let port: Option<i64> = r.get(5)?;
        let kind: String = r.get(7)?;
        let count: i64 = r.get(8)?;
        let mut as_denial = |next: i64| -> Result<Option<(i64, Option<String>)>> {
            Ok(denial
                .query_row(params![time, next, raw, reporter], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?)
        };
        let mut as_line = |next: i64| -> Result<Option<(i64, Option<String>)>> {
            Ok(line
                .query_row(params![next, raw, reporter], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        };
        // What a Denied result line makes; anything else is first looked for as a line.
        let looks_denied = kind == "refused" && proto.is_none() && port.is_none() && count == 1;
        let found = if looks_denied {
            match as_denial(next)? {
                Some(f) => Some(f),
                None => as_line(next)?,
            }
        } else {
            match as_line(next)? {
                Some(f) => Some(f),
                None => as_denial(next)?,
            }
        };
        let Some((id, host)) = found else {
            dropped += 1;
            continue;
        };
        let reporter = (host.as_deref() != Some(reporter.as_str())).then_some(reporter.as_str());
        let source: String = r.get(2)?;
        let net: String = r.get(3)?;
        let daemon: Option<String> = r.get(6)?;
        set.execute(params![
            id, source, net, time, reporter, proto, port, daemon, kind, count
        ])?;
        moved += 1;
        next = id + 1;
    }
    Ok((moved, dropped))
}

/// How far a source file (the daemon's `nagios.log`) has been ingested: the file's identity
/// (its inode) and the byte offset just past the last complete line stored. It is written in
/// the same transaction as the rows, so after a crash the history resumes exactly there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Identity of the file (inode number).
    pub file_id: u64,
    /// Bytes of the file already ingested.
    pub offset: u64,
}

struct Cols<'a> {
    host: Option<&'a str>,
    service: Option<&'a str>,
    state: Option<&'a str>,
    state_type: Option<&'a str>,
    attempt: Option<u32>,
    contact: Option<&'a str>,
    command: Option<&'a str>,
    output: &'a str,
    author: Option<&'a str>,
    comment: Option<&'a str>,
}

fn cols(e: &Event) -> Cols<'_> {
    let mut c = Cols {
        host: None,
        service: None,
        state: None,
        state_type: None,
        attempt: None,
        contact: None,
        command: None,
        output: "",
        author: None,
        comment: None,
    };
    match e {
        Event::ServiceAlert {
            host,
            service,
            state,
            state_type,
            attempt,
            output,
        }
        | Event::ServiceState {
            host,
            service,
            state,
            state_type,
            attempt,
            output,
            ..
        } => {
            c.host = Some(host);
            c.service = Some(service);
            c.state = Some(state);
            c.state_type = Some(state_type);
            c.attempt = Some(*attempt);
            c.output = output;
        }
        Event::HostAlert {
            host,
            state,
            state_type,
            attempt,
            output,
        }
        | Event::HostState {
            host,
            state,
            state_type,
            attempt,
            output,
            ..
        } => {
            c.host = Some(host);
            c.state = Some(state);
            c.state_type = Some(state_type);
            c.attempt = Some(*attempt);
            c.output = output;
        }
        Event::ServiceNotification {
            contact,
            host,
            service,
            notification_type,
            command,
            output,
            author,
            comment,
        } => {
            c.contact = Some(contact);
            c.host = Some(host);
            c.service = Some(service);
            c.state = Some(notification_type);
            c.command = Some(command);
            c.output = output;
            c.author = author.as_deref();
            c.comment = comment.as_deref();
        }
        Event::HostNotification {
            contact,
            host,
            notification_type,
            command,
            output,
            author,
            comment,
        } => {
            c.contact = Some(contact);
            c.host = Some(host);
            c.state = Some(notification_type);
            c.command = Some(command);
            c.output = output;
            c.author = author.as_deref();
            c.comment = comment.as_deref();
        }
        Event::ServiceEventHandler {
            host,
            service,
            state,
            state_type,
            attempt,
            command,
            ..
        } => {
            c.host = Some(host);
            c.service = Some(service);
            c.state = Some(state);
            c.state_type = Some(state_type);
            c.attempt = Some(*attempt);
            c.command = Some(command);
        }
        Event::HostEventHandler {
            host,
            state,
            state_type,
            attempt,
            command,
            ..
        } => {
            c.host = Some(host);
            c.state = Some(state);
            c.state_type = Some(state_type);
            c.attempt = Some(*attempt);
            c.command = Some(command);
        }
        Event::PassiveServiceCheck {
            host,
            service,
            code,
            output,
        } => {
            c.host = Some(host);
            c.service = Some(service);
            c.state = Some(code);
            c.output = output;
        }
        Event::PassiveHostCheck { host, code, output } => {
            c.host = Some(host);
            c.state = Some(code);
            c.output = output;
        }
        Event::ExternalCommand { name, args } => {
            c.command = Some(name);
            c.output = args;
        }
        Event::ServiceDowntimeAlert {
            host,
            service,
            phase,
            message,
        }
        | Event::ServiceFlappingAlert {
            host,
            service,
            phase,
            message,
        } => {
            c.host = Some(host);
            c.service = Some(service);
            c.state = Some(phase);
            c.output = message;
        }
        Event::HostDowntimeAlert {
            host,
            phase,
            message,
        }
        | Event::HostFlappingAlert {
            host,
            phase,
            message,
        } => {
            c.host = Some(host);
            c.state = Some(phase);
            c.output = message;
        }
        Event::ConnectionEvent(e) => {
            c.host = Some(&e.reporter);
            c.state = Some(&e.kind);
            c.command = e.daemon.as_deref();
            c.output = &e.raw;
        }
        Event::ScanIncident(i) => {
            c.state = Some(&i.transition);
            c.command = Some(&i.key);
            c.output = &i.output;
        }
        Event::Raw { text } => c.output = text,
    }
    c
}

/// The columns [`history_row`] reads.
const ROW_COLS: &str = "id, time, kind, host, service, state, state_type, attempt, contact, \
     command, output, author, comment, exit_code, exit_status, folded";

/// A stored row (its `id` already the line id `4 × rowid + 2`) and its `folded` bits.
fn history_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(HistoryRow, i64)> {
    let rowid: i64 = r.get(0)?;
    Ok((
        HistoryRow {
            id: rowid.saturating_mul(4).saturating_add(2),
            time: r.get(1)?,
            kind: r.get(2)?,
            host: r.get(3)?,
            service: r.get(4)?,
            state: r.get(5)?,
            state_type: r.get(6)?,
            attempt: r.get(7)?,
            contact: r.get(8)?,
            command: r.get(9)?,
            output: r.get(10)?,
            author: r.get(11)?,
            comment: r.get(12)?,
            exit_code: r.get(13)?,
            exit_status: r.get(14)?,
        },
        r.get(15)?,
    ))
}

/// The statement of [`Store::query`] and its arguments but the last two (`rowid ≤ ?`, and
/// the `LIMIT`): the rows that may hold a line matching `q` (the lines are matched exactly
/// by [`line_matches`]).
fn query_sql(q: &Query) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {ROW_COLS} FROM events WHERE 1=1");
    let mut args: Vec<Value> = Vec::new();
    let mut eq = |sql: &mut String, col: &str, v: &Option<String>| {
        if let Some(v) = v {
            sql.push_str(&format!(" AND {col} = ?"));
            args.push(Value::Text(v.clone()));
        }
    };
    // Host, service and time are the same for a row's lines (an external command line
    // has no host: the exact filter below drops it).
    eq(&mut sql, "host", &q.host);
    eq(&mut sql, "service", &q.service);
    if let Some(s) = q.since {
        sql.push_str(" AND time >= ?");
        args.push(Value::Integer(s));
    }
    if let Some(u) = q.until {
        sql.push_str(" AND time <= ?");
        args.push(Value::Integer(u));
    }
    // State, kind and text tell the stored line; a folded line may match where its row
    // does not, so folded rows are candidates too when a folded line's kind and state can
    // match at all.
    let mut own = String::from("1=1");
    if let Some(st) = &q.state {
        own.push_str(" AND state = ?");
        args.push(Value::Text(st.clone()));
    }
    if !q.kinds.is_empty() {
        own.push_str(" AND kind IN (");
        for (i, k) in q.kinds.iter().enumerate() {
            own.push_str(if i == 0 { "?" } else { ",?" });
            args.push(Value::Text(k.as_str().to_owned()));
        }
        own.push(')');
    }
    let text = q.text.as_ref().filter(|t| !t.is_empty());
    if let Some(t) = text {
        own.push_str(" AND instr(lower(output), lower(?)) > 0");
        args.push(Value::Text(t.clone()));
    }
    let folded_may_match = (q.kinds.is_empty()
        || q.kinds.iter().any(|k| {
            matches!(
                k,
                EventKind::ExternalCommand | EventKind::PassiveServiceCheck
            )
        }))
        && q.state
            .as_deref()
            .is_none_or(|s| code_of_state_digit(s).is_some());
    if folded_may_match {
        sql.push_str(&format!(" AND (({own}) OR folded != 0)"));
    } else {
        sql.push_str(&format!(" AND {own}"));
    }
    sql.push_str(" AND id <= ? ORDER BY id DESC LIMIT ?");
    (sql, args)
}

/// The lines a stored row stands for, in log order: the external command (`id − 2`), the
/// passive check (`id − 1`), the row itself; each exactly as it was stored before rows were
/// folded ([`fold_len`] folds only what this gives back).
fn expand(row: HistoryRow, folded: i64) -> Vec<HistoryRow> {
    if folded == 0 {
        return vec![row];
    }
    let code = if row.kind == EventKind::PassiveServiceCheck.as_str() {
        row.state.clone()
    } else {
        row.state
            .as_deref()
            .and_then(code_of_state)
            .map(str::to_owned)
    };
    let (Some(host), Some(service), Some(code)) = (&row.host, &row.service, code) else {
        return vec![row];
    };
    let bare = |id: i64, kind: EventKind| HistoryRow {
        id,
        time: row.time,
        kind: kind.as_str().to_owned(),
        host: None,
        service: None,
        state: None,
        state_type: None,
        attempt: None,
        contact: None,
        command: None,
        output: String::new(),
        author: None,
        comment: None,
        exit_code: None,
        exit_status: None,
    };
    let mut out = Vec::with_capacity(3);
    if folded & FOLDED_EXT != 0 {
        let mut ext = bare(row.id - 2, EventKind::ExternalCommand);
        ext.command = Some(PSCR.to_owned());
        ext.output = format!("{host};{service};{code};{}", row.output);
        out.push(ext);
    }
    if folded & FOLDED_PASSIVE != 0 {
        let mut p = bare(row.id - 1, EventKind::PassiveServiceCheck);
        p.host = Some(host.clone());
        p.service = Some(service.clone());
        p.state = Some(code);
        p.output = row.output.clone();
        out.push(p);
    }
    out.push(row);
    out
}

/// The filters of `q` on one line (`text` lower-cased; SQLite's `lower` is ASCII only too).
fn line_matches(q: &Query, text: Option<&str>, r: &HistoryRow) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
    };
    eq(&q.host, &r.host)
        && eq(&q.service, &r.service)
        && eq(&q.state, &r.state)
        && (q.kinds.is_empty() || q.kinds.iter().any(|k| k.as_str() == r.kind))
        && q.since.is_none_or(|s| r.time >= s)
        && q.until.is_none_or(|u| r.time <= u)
        && text.is_none_or(|t| r.output.to_ascii_lowercase().contains(t))
        && q.before_id.is_none_or(|b| r.id < b)
}

/// The history database. One writer (the daemon's history task) and any number of readers
/// (each with its own [`Store`] opened on the same file; WAL mode lets them run concurrently).
pub struct Store {
    conn: Connection,
    cfg: StoreConfig,
    ids: crate::notify::Ids,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("cfg", &self.cfg).finish()
    }
}

impl Store {
    /// Open (creating if needed) the database at `path` in WAL mode.
    pub fn open(path: &Path, cfg: StoreConfig) -> Result<Store> {
        Store::open_with_log(path, cfg, &mut |_| {})
    }

    /// [`Store::open`], telling `log` what a schema migration of the file does (one
    /// sentence before it starts, one when it is done).
    pub fn open_with_log(
        path: &Path,
        cfg: StoreConfig,
        log: &mut dyn FnMut(&str),
    ) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A burst is written in large transactions: a page cache that holds one (the
        // default 2 MiB spills dirty pages to the WAL mid-transaction, and writes the hot
        // index pages again at every spill), and checkpoints every 64 MiB of WAL rather
        // than every 4 MiB (each one copies and syncs).
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Store::init(conn, cfg, log)
    }

    /// An in-memory database (tests, or history disabled on disk).
    pub fn open_in_memory(cfg: StoreConfig) -> Result<Store> {
        Store::init(Connection::open_in_memory()?, cfg, &mut |_| {})
    }

    fn init(conn: Connection, cfg: StoreConfig, log: &mut dyn FnMut(&str)) -> Result<Store> {
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::incidents::SCHEMA)?;
        conn.execute_batch(crate::denied::SCHEMA)?;
        crate::notify::add_columns(&conn)?;
        let mut store = Store {
            conn,
            cfg,
            ids: Default::default(),
        };
        store.migrate(log)?;
        Ok(store)
    }

    /// Bring a database of an earlier version up to [`SCHEMA_VERSION`]: version 0 had its
    /// denials only in `events` (`denied_addr`), which become connection events and the
    /// aggregates once; versions 1 and 2 had the connection events in a `conn_events` table
    /// of their own, whose rows move into the `ce_*` columns of their lines' rows
    /// ([`move_conn_events`]). What it does is said to `log`.
    fn migrate(&mut self, log: &mut dyn FnMut(&str)) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version >= SCHEMA_VERSION {
            self.conn.execute_batch(CE_INDEXES)?;
            return Ok(());
        }
        let started = std::time::Instant::now();
        let tx = self.conn.transaction()?;
        let has_column = |name: &str| -> Result<bool> {
            Ok(tx
                .prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = ?1")?
                .exists([name])?)
        };
        // Version 4: a group's first time is its seconds' (`denied_sec`, built below),
        // before anything writes the groups again.
        if tx
            .prepare("SELECT 1 FROM pragma_table_info('denied_agg') WHERE name = 'first_seen'")?
            .exists([])?
        {
            tx.execute_batch("ALTER TABLE denied_agg DROP COLUMN first_seen")?;
        }
        // Version 2: the `folded` column (rows written before it stand for one line each).
        if !has_column("folded")? {
            tx.execute_batch("ALTER TABLE events ADD COLUMN folded INTEGER NOT NULL DEFAULT 0")?;
        }
        // Version 3: the connection event's columns.
        for (name, ty) in CE_COLUMNS {
            if !has_column(name)? {
                tx.execute_batch(&format!("ALTER TABLE events ADD COLUMN {name} {ty}"))?;
            }
        }
        tx.execute_batch(CE_INDEXES)?;
        let has_conn_events = tx
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conn_events'")?
            .exists([])?;
        let mut rebuilt = false;
        if version < 1 && !has_conn_events {
            let mut n = 0u64;
            {
                let mut old = tx.prepare(
                    "SELECT id, denied_addr FROM events WHERE denied_addr IS NOT NULL ORDER BY id",
                )?;
                let mut set = tx.prepare(
                    "UPDATE events SET ce_source = ?2, ce_net = ?3, ce_time = time,
                     ce_reporter = CASE WHEN host IS NULL THEN '' END,
                     ce_daemon = NULLIF(denied_daemon, ''), ce_kind = 'refused', ce_count = 1
                     WHERE id = ?1",
                )?;
                let mut rows = old.query([])?;
                while let Some(r) = rows.next()? {
                    let (id, addr): (i64, String) = (r.get(0)?, r.get(1)?);
                    set.execute(params![id, addr, crate::incidents::net_of(&addr)])?;
                    n += 1;
                }
            }
            crate::denied::rebuild(&tx)?;
            rebuilt = true;
            if n > 0 {
                log(&format!(
                    "history schema {version} -> {SCHEMA_VERSION}: {n} denials of the events \
                     table made connection events, Denied aggregates rebuilt"
                ));
            }
        }
        if has_conn_events {
            let total: i64 = tx.query_row("SELECT COUNT(*) FROM conn_events", [], |r| r.get(0))?;
            log(&format!(
                "history schema {version} -> {SCHEMA_VERSION}: moving {total} connection events \
                 from the conn_events table into the ce_* columns of their lines' events rows \
                 (one transaction, read row by row: the file is unchanged if it stops)"
            ));
            let (moved, dropped) = move_conn_events(&tx)?;
            if dropped > 0 || version < 1 {
                crate::denied::rebuild(&tx)?;
                rebuilt = true;
            }
            tx.execute_batch("DROP TABLE conn_events")?;
            log(&format!(
                "history schema {version} -> {SCHEMA_VERSION}: {moved} connection events moved, \
                 {dropped} whose line was no longer stored dropped{}, conn_events table \
                 dropped, in {:.1} s",
                if dropped > 0 || version < 1 {
                    " and the Denied aggregates rebuilt"
                } else {
                    ""
                },
                started.elapsed().as_secs_f64()
            ));
        }
        // Version 4: the per-second counts (`rebuild` writes them too).
        if !rebuilt {
            let n = crate::denied::build_secs(&tx)?;
            if n > 0 {
                log(&format!(
                    "history schema {version} -> {SCHEMA_VERSION}: {n} per-second Denied counts \
                     built from the connection events, which are now indexed by /24 and \
                     time only (events_ce_nt), in {:.1} s",
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The settings.
    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// The connection event a log line makes: a `CONNECTION EVENT` line, or a line the
    /// Denied pattern matches (kind `refused`, count 1).
    fn conn_event<'l>(denied: &DeniedPattern, ll: &'l LogLine) -> Option<NewConnEvent<'l>> {
        if let Event::ConnectionEvent(e) = &ll.event {
            return Some(NewConnEvent::from_line(e));
        }
        let c = cols(&ll.event);
        let (daemon, addr) = denied.spans(ll.event.kind(), c.output)?;
        Some(NewConnEvent {
            time: ll.time,
            reporter: c.host.unwrap_or(""),
            source: addr,
            proto: None,
            port: None,
            daemon: Some(daemon).filter(|d| !d.is_empty()),
            kind: "refused",
            count: 1,
            raw: c.output,
        })
    }

    /// Parse `nagios.log` lines and insert them in one transaction.
    pub fn ingest_lines<'a, I>(&mut self, lines: I) -> Result<IngestStats>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut stats = IngestStats::default();
        let mut batch = Vec::new();
        for l in lines {
            match parse_line(l) {
                Ok(ll) => batch.push(Record::Log(ll)),
                Err(_) => stats.skipped += 1,
            }
        }
        stats.inserted = self.insert_batch(&batch)?;
        Ok(stats)
    }

    /// Write a batch in one transaction, in order. A [`Record::NotificationResult`] is
    /// attached to the oldest notification row of the same contact/host/service/command that
    /// has no result yet (notifications finish in the order they were logged per contact in
    /// the common case; the result is kept in `notification_results` either way).
    /// Returns the number of event rows inserted.
    pub fn insert_batch(&mut self, batch: &[Record]) -> Result<usize> {
        self.insert_inner(batch, None)
    }

    /// [`Store::insert_batch`], recording in the same transaction that `source` has been
    /// ingested up to `cursor`.
    pub fn insert_batch_at(
        &mut self,
        batch: &[Record],
        source: &str,
        cursor: Cursor,
    ) -> Result<usize> {
        self.insert_inner(batch, Some((source, cursor)))
    }

    /// Where `source` was last ingested up to, if ever.
    pub fn cursor(&self, source: &str) -> Result<Option<Cursor>> {
        Ok(self
            .conn
            .query_row(
                "SELECT file_id, offset FROM cursors WHERE source = ?1",
                params![source],
                |r| {
                    let id: i64 = r.get(0)?;
                    let off: i64 = r.get(1)?;
                    Ok(Cursor {
                        file_id: u64::from_ne_bytes(id.to_ne_bytes()),
                        offset: u64::try_from(off).unwrap_or(0),
                    })
                },
            )
            .optional()?)
    }

    fn insert_inner(&mut self, batch: &[Record], cursor: Option<(&str, Cursor)>) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        let mut pending = crate::denied::Pending::default();
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO events (time, kind, host, service, state, state_type, attempt,
                 contact, command, output, author, comment, folded, ce_source, ce_net, ce_time,
                 ce_reporter, ce_proto, ce_port, ce_daemon, ce_kind, ce_count, ce_raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            )?;
            let mut find = tx.prepare_cached(
                "SELECT id FROM events WHERE exit_status IS NULL AND contact = ?1 AND host = ?2
                 AND service IS ?3 AND command = ?4
                 AND kind IN ('service_notification', 'host_notification')
                 ORDER BY id LIMIT 1",
            )?;
            let mut upd = tx.prepare_cached(
                "UPDATE events SET exit_code = ?1, exit_status = ?2 WHERE id = ?3",
            )?;
            let mut res = tx.prepare_cached(
                "INSERT INTO notification_results (time, contact, host, service, command,
                 exit_code, status, duration_ms, event_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            )?;
            let mut i = 0;
            while i < batch.len() {
                let r = &batch[i];
                let (mut len, mut folded) = fold_len(batch, i);
                match r {
                    Record::Log(_) => {
                        // The group's lines: the last one is the row, the others its
                        // `folded` bits. A row carries at most one connection event (its
                        // `ce_*` columns): a group whose lines make two is not folded.
                        let mut ces: [Option<NewConnEvent<'_>>; 3] = [None, None, None];
                        for (k, r) in batch[i..i + len].iter().enumerate() {
                            if let Record::Log(ll) = r {
                                ces[k] = Store::conn_event(&self.cfg.denied, ll);
                            }
                        }
                        if ces.iter().flatten().count() > 1 {
                            (len, folded) = (1, 0);
                        }
                        i += len;
                        let Some(Record::Log(ll)) = batch.get(i - 1) else {
                            continue;
                        };
                        if let Event::ScanIncident(inc) = &ll.event {
                            upsert_incident(&tx, ll.time, inc)?;
                        }
                        let c = cols(&ll.event);
                        let ce = ces[..len].iter().flatten().next();
                        if let Some(ce) = ce {
                            pending.add(
                                ce.source,
                                ce.reporter,
                                ce.daemon.unwrap_or(""),
                                ce.time,
                                ce.count,
                            );
                        }
                        let host = c.host;
                        ins.execute(params![
                            ll.time,
                            ll.event.kind().as_str(),
                            c.host,
                            c.service,
                            c.state,
                            c.state_type,
                            c.attempt,
                            c.contact,
                            c.command,
                            c.output,
                            c.author,
                            c.comment,
                            folded,
                            ce.map(|e| e.source),
                            ce.map(|e| crate::incidents::net_of(e.source)),
                            ce.map(|e| e.time),
                            ce.and_then(|e| (host != Some(e.reporter)).then_some(e.reporter)),
                            ce.and_then(|e| e.proto),
                            ce.and_then(|e| e.port),
                            ce.and_then(|e| e.daemon),
                            ce.map(|e| e.kind),
                            ce.map(|e| e.count),
                            ce.and_then(|e| (e.raw != c.output).then_some(e.raw)),
                        ])?;
                        n += len;
                        self.ids
                            .row_inserted(&tx, tx.last_insert_rowid(), &ll.event)?;
                    }
                    Record::NotificationResult(nr) => {
                        i += len;
                        let id: Option<i64> = find
                            .query_row(params![nr.contact, nr.host, nr.service, nr.command], |r| {
                                r.get(0)
                            })
                            .optional()?;
                        if let Some(id) = id {
                            upd.execute(params![nr.exit_code, nr.status, id])?;
                        }
                        res.execute(params![
                            nr.time,
                            nr.contact,
                            nr.host,
                            nr.service,
                            nr.command,
                            nr.exit_code,
                            nr.status,
                            i64::try_from(nr.duration_ms).unwrap_or(i64::MAX),
                            id
                        ])?;
                    }
                    Record::NotificationJob(job) => {
                        i += len;
                        self.ids.queued(&tx, job)?;
                    }
                    Record::NotificationOutcome { id, result } => {
                        i += len;
                        crate::notify::outcome(&tx, *id, result)?;
                    }
                }
            }
            pending.flush(&tx)?;
            if let Some((source, c)) = cursor {
                tx.execute(
                    "INSERT INTO cursors (source, file_id, offset) VALUES (?1, ?2, ?3)
                     ON CONFLICT(source) DO UPDATE SET file_id = ?2, offset = ?3",
                    params![
                        source,
                        i64::from_ne_bytes(c.file_id.to_ne_bytes()),
                        i64::try_from(c.offset).unwrap_or(i64::MAX)
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// From now on, join notification outcomes by id ([`Record::NotificationJob`],
    /// [`Record::NotificationOutcome`]): rows ingested before (a log caught up with after
    /// a restart) had their jobs in an earlier run and take no id.
    pub fn begin_notification_ids(&mut self) {
        self.ids.begin();
    }

    /// Record one notification command's outcome (a batch of one).
    pub fn record_notification_result(&mut self, r: NotificationResult) -> Result<()> {
        self.insert_batch(&[Record::NotificationResult(r)])?;
        Ok(())
    }

    /// Apply the retention limits relative to `now`, deleting at most
    /// [`StoreConfig::prune_chunk`] event rows (oldest first; their connection events are
    /// taken out of the Denied aggregates in the same transaction) and as many notification
    /// results. Returns the event rows deleted; call again while it returns the chunk size.
    pub fn prune(&mut self, now: i64) -> Result<usize> {
        let chunk = i64::from(self.cfg.prune_chunk.max(1));
        let mut deleted = 0usize;
        let tx = self.conn.transaction()?;
        if let Some(age) = self.cfg.max_age_secs {
            let cutoff = now.saturating_sub(age);
            deleted += crate::denied::subtract_pruned(
                &tx,
                &format!("SELECT id FROM events WHERE time < ?1 ORDER BY id LIMIT {chunk}"),
                cutoff,
            )?;
            tx.execute(
                "DELETE FROM notification_results WHERE id IN
                 (SELECT id FROM notification_results WHERE time < ?1 ORDER BY id LIMIT ?2)",
                params![cutoff, chunk],
            )?;
        }
        let left = chunk - i64::try_from(deleted).unwrap_or(chunk);
        if let (Some(max), true) = (self.cfg.max_rows, left > 0) {
            let count: i64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
            let excess = count - i64::try_from(max).unwrap_or(i64::MAX);
            if excess > 0 {
                deleted += crate::denied::subtract_pruned(
                    &tx,
                    "SELECT id FROM events ORDER BY id LIMIT ?1",
                    excess.min(left),
                )?;
            }
        }
        tx.commit()?;
        Ok(deleted)
    }

    /// Number of history lines stored (a folded row counts its lines).
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) + COALESCE(SUM((folded & 1) + ((folded >> 1) & 1)), 0) FROM events",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// History rows matching `q`, newest first. A stored row that stands for several lines
    /// (`folded`) is expanded back into them ([`expand`]), each line with its own `id`
    /// (`4 × rowid + 0/1/2`) and matched by the filters on its own.
    pub fn query(&self, q: &Query) -> Result<Vec<HistoryRow>> {
        let (sql, args) = query_sql(q);
        let limit = if q.limit == 0 {
            200
        } else {
            q.limit.min(10_000)
        } as usize;
        // Rows (not lines) with `rowid ≤ upper`, a page at a time until `limit` lines match.
        let mut upper = q
            .before_id
            .map_or(i64::MAX, |b| b.saturating_sub(1).div_euclid(4));
        let text = q
            .text
            .as_ref()
            .filter(|t| !t.is_empty())
            .map(|t| t.to_ascii_lowercase());
        let mut st = self.conn.prepare(&sql)?;
        let mut out = Vec::new();
        loop {
            let mut a = args.clone();
            a.push(Value::Integer(upper));
            a.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
            let mut rows = st.query(params_from_iter(a))?;
            let mut fetched = 0usize;
            while let Some(r) = rows.next()? {
                fetched += 1;
                let (row, folded) = history_row(r)?;
                // The next page: rows below this one (`id` is `4 × rowid + 2`).
                upper = (row.id - 2) / 4 - 1;
                for line in expand(row, folded).into_iter().rev() {
                    if out.len() < limit && line_matches(q, text.as_deref(), &line) {
                        out.push(line);
                    }
                }
            }
            if fetched < limit || out.len() >= limit {
                return Ok(out);
            }
        }
    }

    /// Every line with `since <= time <= until` (either bound optional), oldest first,
    /// streamed to `f` (the Livestatus `log` table: the time range is pushed down to the
    /// `events_time` index; `f` returns `false` to stop). Folded rows are expanded.
    pub fn for_each_in_range(
        &self,
        since: Option<i64>,
        until: Option<i64>,
        f: &mut dyn FnMut(HistoryRow) -> bool,
    ) -> Result<()> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLS} FROM events WHERE time >= ?1 AND time <= ?2 ORDER BY time, id"
        ))?;
        let mut rows = st.query(rusqlite::params![
            since.unwrap_or(i64::MIN),
            until.unwrap_or(i64::MAX)
        ])?;
        while let Some(r) = rows.next()? {
            let (row, folded) = history_row(r)?;
            for line in expand(row, folded) {
                if !f(line) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Denials grouped by source address across all hosts and daemons, most recent first
    /// (then most denials, then address). Read from the aggregates (`crate::denied`): the
    /// cost is that of the page asked for, not of the rows stored.
    pub fn denied(&self, q: &DeniedQuery) -> Result<Vec<DeniedSource>> {
        crate::denied::query(&self.conn, q)
    }

    /// All sources and all denials of the Denied view (`(sources, denials)`), from the
    /// per-source aggregate.
    pub fn denied_totals(&self) -> Result<(u64, u64)> {
        let (n, c): (i64, Option<i64>) =
            self.conn
                .query_row("SELECT COUNT(*), SUM(count) FROM denied_src", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        Ok((
            u64::try_from(n).unwrap_or(0),
            u64::try_from(c.unwrap_or(0)).unwrap_or(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, q: &Query) -> Vec<String> {
        let (sql, mut args) = query_sql(q);
        args.push(Value::Integer(i64::MAX));
        args.push(Value::Integer(200));
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let rows = st
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .expect("plan");
        rows.map(|r| r.expect("row")).collect()
    }

    /// Folded rows keep the history's queries on their indexes: a host/service filter reads
    /// `events_obj`, a filter that no folded line can match (alerts only, a state name)
    /// does not look at `folded`, and nothing sorts (newest first is the rowid order).
    #[test]
    fn the_history_queries_keep_their_indexes_with_folded_rows() {
        let mut st = Store::open_in_memory(StoreConfig::default()).expect("store");
        let lines: Vec<String> = (0..3_000)
            .flat_map(|i| {
                let (t, h, a) = (1_000 + i / 100, i % 20, i % 50);
                [
                    format!("[{t}] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web{h};TCP Wrappers;2;Denied sshd-10.0.0.{a}"),
                    format!("[{t}] PASSIVE SERVICE CHECK: web{h};TCP Wrappers;2;Denied sshd-10.0.0.{a}"),
                    format!("[{t}] SERVICE ALERT: web{h};TCP Wrappers;CRITICAL;HARD;1;Denied sshd-10.0.0.{a}"),
                ]
            })
            .collect();
        st.ingest_lines(lines.iter().map(String::as_str))
            .expect("ingest");
        let rows: i64 = st
            .conn()
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 3_000, "one row per result");
        st.conn().execute_batch("ANALYZE").expect("analyze");
        let host = plan(
            st.conn(),
            &Query {
                host: Some("web3".into()),
                service: Some("TCP Wrappers".into()),
                ..Default::default()
            },
        );
        assert!(host.iter().any(|p| p.contains("events_obj")), "{host:?}");
        let alerts = Query {
            kinds: Query::ALERT_KINDS.to_vec(),
            state: Some("CRITICAL".into()),
            ..Default::default()
        };
        let (sql, _) = query_sql(&alerts);
        let filter = sql.split(" WHERE ").nth(1).unwrap_or_default();
        assert!(!filter.contains("folded"), "{sql}");
        for q in [
            Query::default(),
            alerts,
            Query {
                kinds: vec![EventKind::ExternalCommand],
                ..Default::default()
            },
        ] {
            let p = plan(st.conn(), &q);
            assert!(p.iter().all(|s| !s.contains("TEMP B-TREE")), "{q:?}: {p:?}");
        }
        let found = st
            .query(&Query {
                kinds: vec![EventKind::ExternalCommand],
                host: None,
                limit: 10_000,
                ..Default::default()
            })
            .expect("query");
        assert_eq!(found.len(), 3_000, "every external command line is found");
    }
}
