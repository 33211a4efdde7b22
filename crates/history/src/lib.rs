//! Picket's history: every `nagios.log` record in an embedded SQLite database (WAL mode).
//!
//! The Nagios log is the contract (Nagios' own CGIs and Thruk read history from it), so the
//! history is fed from the very lines the engine logs:
//!
//! * [`parse_line`] / [`parse_body`] — a log line to a typed [`Event`] (alerts, notifications
//!   with contact and command, event handlers, passive checks, external commands, downtime and
//!   flapping alerts, initial/current states, the detection lines; anything else is kept as
//!   [`Event::Raw`]). The grammar is `picket_log`'s, the one owner of the log's text: this
//!   crate maps its records to the rows it stores.
//! * [`Store`] — batched inserts (one transaction per batch), retention ([`StoreConfig`],
//!   [`Store::prune`], incremental), queries ([`Store::query`] with a [`Query`] filter, and
//!   [`Store::denied`], the TCP-wrappers "Denied connections" aggregation by source address).
//!
//! # Wiring into the daemon
//!
//! ```text
//! // once, at start-up (path e.g. from a main-config key `history_file=`):
//! let mut store = Store::open(path, StoreConfig::default())?;
//! // a dedicated writer thread owns `store` and receives what the engine logged:
//! //   for every drained batch of nagios.log lines (strings as written, with "[epoch] "):
//! store.ingest_lines(lines.iter().map(String::as_str))?;   // one transaction
//! //   or, mixing in notification outcomes in order:
//! store.insert_batch(&[Record::Log(parse_line(l)?), Record::NotificationResult(r)])?;
//! //   after a notification command exits (joined to the oldest open row of its names):
//! store.record_notification_result(NotificationResult { .. })?;
//! //   or exactly, by the notification id (the daemon's way; see `notify.rs`): once caught up
//! store.begin_notification_ids();
//! //   then, in the order the executor takes the jobs, and as each finishes:
//! store.insert_batch(&[Record::NotificationJob(job)])?;
//! store.insert_batch(&[Record::NotificationOutcome { id, result }])?;
//! //   periodically (e.g. every minute), with the engine's clock:
//! while store.prune(now)? == store.config().prune_chunk as usize {}
//! // readers (the web UI) open their own `Store` on the same file.
//! ```

mod denied;
mod incidents;
mod notify;
mod parse;
mod store;

pub use denied::MAX_NAMES as DENIED_MAX_NAMES;
pub use incidents::{ConnEventQuery, ConnEventRow, IncidentQuery, IncidentRow};
pub use notify::NotificationJob;
pub use parse::{
    ConnectionEventLine, Event, EventKind, LogLine, ParseError, ScanIncidentLine, StateDump,
    parse_body, parse_line,
};
pub use store::{
    Cursor, DEFAULT_DENIED_PATTERN, DeniedPattern, DeniedQuery, DeniedSource, Error, HistoryRow,
    IngestStats, NotificationResult, Query, Record, Result, Store, StoreConfig, continues_result,
};
