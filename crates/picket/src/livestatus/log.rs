//! The `log` table, read from the SQLite history with the query's time range pushed
//! down (`time >=`/`time <=` filters become the SQL range on the `events_time` index).

use picket_history::{HistoryRow, Store};
use picket_livestatus::{ColumnDef, ColumnType, Row, ScanHint, Table, Value};

use super::tables::Snapshot;

pub(crate) const COLUMNS: [ColumnDef; 17] = [
    ColumnDef::new(
        "attempt",
        ColumnType::Int,
        "The number of the check attempt",
    ),
    ColumnDef::new(
        "class",
        ColumnType::Int,
        "0 info, 1 alert, 2 program, 3 notification, 4 passive check, 5 command, 6 state, 7 text",
    ),
    ColumnDef::new(
        "command_name",
        ColumnType::String,
        "The command (notifications, event handlers, external commands)",
    ),
    ColumnDef::new("comment", ColumnType::String, "A comment field"),
    ColumnDef::new("contact_name", ColumnType::String, "The contact notified"),
    ColumnDef::new(
        "current_host_name",
        ColumnType::String,
        "The host, if it still exists",
    ),
    ColumnDef::new(
        "current_service_description",
        ColumnType::String,
        "The service, if it still exists",
    ),
    ColumnDef::new("host_name", ColumnType::String, "The host"),
    ColumnDef::new("lineno", ColumnType::Int, "The row's id in the history"),
    ColumnDef::new(
        "message",
        ColumnType::String,
        "The complete line, with its timestamp",
    ),
    ColumnDef::new(
        "options",
        ColumnType::String,
        "The part of the line after the type",
    ),
    ColumnDef::new(
        "plugin_output",
        ColumnType::String,
        "The output of the check",
    ),
    ColumnDef::new("service_description", ColumnType::String, "The service"),
    ColumnDef::new("state", ColumnType::Int, "The state (0-3)"),
    ColumnDef::new("state_type", ColumnType::String, "HARD or SOFT"),
    ColumnDef::new("time", ColumnType::Time, "The time of the entry"),
    ColumnDef::new(
        "type",
        ColumnType::String,
        "The type of the entry (SERVICE ALERT …)",
    ),
];

/// `(class, type)` of a history kind.
fn class_and_type(kind: &str, output: &str) -> (i64, &'static str) {
    match kind {
        "service_alert" => (1, "SERVICE ALERT"),
        "host_alert" => (1, "HOST ALERT"),
        "service_notification" => (3, "SERVICE NOTIFICATION"),
        "host_notification" => (3, "HOST NOTIFICATION"),
        "service_event_handler" => (1, "SERVICE EVENT HANDLER"),
        "host_event_handler" => (1, "HOST EVENT HANDLER"),
        "passive_service_check" => (4, "PASSIVE SERVICE CHECK"),
        "passive_host_check" => (4, "PASSIVE HOST CHECK"),
        "external_command" => (5, "EXTERNAL COMMAND"),
        "service_downtime_alert" => (1, "SERVICE DOWNTIME ALERT"),
        "host_downtime_alert" => (1, "HOST DOWNTIME ALERT"),
        "service_flapping_alert" => (1, "SERVICE FLAPPING ALERT"),
        "host_flapping_alert" => (1, "HOST FLAPPING ALERT"),
        "service_state" => (6, "CURRENT SERVICE STATE"),
        "host_state" => (6, "CURRENT HOST STATE"),
        _ if output.starts_with("LOG ROTATION") || output.starts_with("LOG VERSION") => (2, ""),
        _ => (0, ""),
    }
}

/// The `state` column of a row's state field: a state name (`picket_log`'s vocabulary), a
/// notification type (`ACKNOWLEDGEMENT (CRITICAL)`, `CUSTOM (OK)`…: its state), or a
/// passive check's return code.
fn state_number(s: &str) -> i64 {
    use picket_log::{HostState, Notified, ServiceState};
    if let Some(n) = Notified::<ServiceState>::parse(s) {
        return n.state.code().into();
    }
    if let Some(n) = Notified::<HostState>::parse(s) {
        return n.state.code().into();
    }
    match s {
        "RECOVERY" => 0,
        other => other.parse().unwrap_or(0),
    }
}

struct LogRow {
    r: HistoryRow,
    class: i64,
    kind: &'static str,
    options: String,
}

impl LogRow {
    fn new(r: HistoryRow) -> LogRow {
        let (class, kind) = class_and_type(&r.kind, &r.output);
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let attempt = r.attempt.map(|a| a.to_string()).unwrap_or_default();
        let hs: Vec<String> = match &r.service {
            Some(s) => vec![o(&r.host), s.clone()],
            None => vec![o(&r.host)],
        };
        let parts: Vec<String> = match class {
            1 if kind.ends_with("ALERT")
                && !kind.contains("DOWNTIME")
                && !kind.contains("FLAPPING") =>
            {
                [
                    hs,
                    vec![o(&r.state), o(&r.state_type), attempt, r.output.clone()],
                ]
                .concat()
            }
            6 => [
                hs,
                vec![o(&r.state), o(&r.state_type), attempt, r.output.clone()],
            ]
            .concat(),
            3 => [
                vec![o(&r.contact)],
                hs,
                vec![o(&r.state), o(&r.command), r.output.clone()],
            ]
            .concat(),
            1 if kind.contains("EVENT HANDLER") => [
                hs,
                vec![o(&r.state), o(&r.state_type), attempt, o(&r.command)],
            ]
            .concat(),
            1 | 4 => [hs, vec![o(&r.state), r.output.clone()]].concat(),
            5 => vec![o(&r.command), r.output.clone()],
            _ => vec![r.output.clone()],
        };
        LogRow {
            options: parts.join(";"),
            class,
            kind,
            r,
        }
    }
}

impl Row for LogRow {
    fn value(&self, column: usize) -> Value {
        let r = &self.r;
        let s = |v: &Option<String>| Value::str(v.clone().unwrap_or_default());
        match column {
            0 => Value::Int(i64::from(r.attempt.unwrap_or(0))),
            1 => Value::Int(self.class),
            2 => s(&r.command),
            3 => Value::str(
                r.comment
                    .clone()
                    .or_else(|| r.author.clone())
                    .unwrap_or_default(),
            ),
            4 => s(&r.contact),
            5 | 7 => s(&r.host),
            6 | 12 => s(&r.service),
            8 => Value::Int(r.id),
            9 => Value::Str(if self.kind.is_empty() {
                format!("[{}] {}", r.time, r.output)
            } else {
                format!("[{}] {}: {}", r.time, self.kind, self.options)
            }),
            10 => Value::str(self.options.clone()),
            11 => Value::str(r.output.clone()),
            13 => Value::Int(r.state.as_deref().map_or(0, state_number)),
            14 => s(&r.state_type),
            15 => Value::Time(r.time),
            _ => Value::str(self.kind),
        }
    }
}

/// `log` over the history store; `AuthUser:` sees the entries of the hosts and
/// services it may see, and entries without an object.
pub(crate) struct LogTable<'a> {
    pub(crate) store: &'a Store,
    pub(crate) snap: &'a Snapshot,
    pub(crate) auth: super::tables::AuthMode,
    /// Set when the store failed (reported by the caller).
    pub(crate) error: std::cell::RefCell<Option<String>>,
}

struct AuthRow<'a> {
    row: LogRow,
    t: &'a LogTable<'a>,
}

impl Row for AuthRow<'_> {
    fn value(&self, column: usize) -> Value {
        self.row.value(column)
    }
    fn visible_to(&self, user: &str) -> bool {
        let cfg = &self.t.snap.cfg;
        let Some(host) = &self.row.r.host else {
            return true;
        };
        let Some(h) = cfg.host_by_name(host) else {
            return false;
        };
        let contact = |ck: &picket_config::Checkable| {
            ck.notification_contacts
                .iter()
                .any(|c| &*cfg.contact(*c).name == user)
        };
        let host_ok = contact(&cfg.host(h).common);
        match &self.row.r.service {
            None => host_ok,
            Some(d) => {
                (host_ok && !self.t.auth.strict_services)
                    || cfg
                        .find_service(h, d)
                        .is_some_and(|s| contact(&cfg.service(s).common))
            }
        }
    }
}

impl Table for LogTable<'_> {
    fn columns(&self) -> &[ColumnDef] {
        &COLUMNS
    }

    fn scan(&self, hint: &ScanHint, f: &mut dyn FnMut(&dyn Row)) {
        let res = self
            .store
            .for_each_in_range(hint.time_min, hint.time_max, &mut |r| {
                f(&AuthRow {
                    row: LogRow::new(r),
                    t: self,
                });
                true
            });
        if let Err(e) = res {
            *self.error.borrow_mut() = Some(e.to_string());
        }
    }
}
