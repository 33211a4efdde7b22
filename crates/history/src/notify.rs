//! Notification outcomes joined to their rows by the notification id.
//!
//! The `… NOTIFICATION` log line does not carry Nagios' notification id (its text is the
//! contract), so the id reaches the history beside it: the daemon's executor reports each
//! notification job when it takes it from the engine ([`NotificationJob`], in the order the
//! engine produced them, which is the order it logged their lines), and each outcome with
//! the job's id ([`crate::Record::NotificationOutcome`]). Per contact, host, service and
//! command the n-th job reported is the n-th notification row of that key ingested since
//! [`crate::Store::begin_notification_ids`]; that row gets the id (column
//! `events.notification_id`), and the outcome is attached to the row with its id and names,
//! whichever of row, job and outcome reaches the store first. Two notifications of the same
//! key whose commands finish out of order get their own outcomes (the join without the id,
//! [`crate::Record::NotificationResult`], takes the oldest open row).

use std::collections::VecDeque;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::parse::Event;
use crate::store::{NotificationResult, Result};

/// A notification job as the executor took it: its id and the names of its log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationJob {
    /// The notification's id (`$NOTIFICATIONID$`): shared by its contacts' jobs.
    pub id: u64,
    pub contact: String,
    pub host: String,
    /// `None` for a host notification.
    pub service: Option<String>,
    pub command: String,
}

/// At most this many rows waiting for their job, and jobs waiting for their row (the
/// oldest forgotten first: a job whose line is never ingested must not hold memory).
const MAX_WAITING: usize = 65_536;

type Key = (String, String, Option<String>, String);

fn key_of(e: &Event) -> Option<Key> {
    match e {
        Event::ServiceNotification {
            contact,
            host,
            service,
            command,
            ..
        } => Some((
            contact.clone(),
            host.clone(),
            Some(service.clone()),
            command.clone(),
        )),
        Event::HostNotification {
            contact,
            host,
            command,
            ..
        } => Some((contact.clone(), host.clone(), None, command.clone())),
        _ => None,
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, v: T) {
    if q.len() == MAX_WAITING {
        q.pop_front();
    }
    q.push_back(v);
}

fn take_first<T>(q: &mut VecDeque<(Key, T)>, k: &Key) -> Option<T> {
    let i = q.iter().position(|(qk, _)| qk == k)?;
    q.remove(i).map(|(_, v)| v)
}

/// The store's in-memory side of the join (rows and jobs not matched yet).
#[derive(Debug, Default)]
pub(crate) struct Ids {
    /// Off until [`crate::Store::begin_notification_ids`]: rows of a log caught up with
    /// after a restart had their jobs in the previous run.
    on: bool,
    /// Notification rows without their job yet: key, row id.
    rows: VecDeque<(Key, i64)>,
    /// Jobs without their row yet: key, notification id.
    jobs: VecDeque<(Key, u64)>,
}

pub(crate) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS events_notification_id ON events(notification_id)
    WHERE notification_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS notification_results_pending ON notification_results(notification_id)
    WHERE notification_id IS NOT NULL AND event_id IS NULL;
";

/// Add the id columns to a database made before them.
pub(crate) fn add_columns(conn: &rusqlite::Connection) -> Result<()> {
    for table in ["events", "notification_results"] {
        let has: bool = conn
            .prepare(&format!("PRAGMA table_info({table})"))?
            .query_map([], |r| r.get::<_, String>(1))?
            .flatten()
            .any(|c| c == "notification_id");
        if !has {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN notification_id INTEGER"
            ))?;
        }
    }
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

impl Ids {
    pub(crate) fn begin(&mut self) {
        self.on = true;
        self.rows.clear();
        self.jobs.clear();
    }

    /// A row was inserted for `e` (any kind; only notifications count).
    pub(crate) fn row_inserted(&mut self, tx: &Transaction<'_>, row: i64, e: &Event) -> Result<()> {
        if !self.on {
            return Ok(());
        }
        let Some(k) = key_of(e) else {
            return Ok(());
        };
        match take_first(&mut self.jobs, &k) {
            Some(id) => assign(tx, row, id, &k),
            None => {
                push_bounded(&mut self.rows, (k, row));
                Ok(())
            }
        }
    }

    /// The executor took `job`.
    pub(crate) fn queued(&mut self, tx: &Transaction<'_>, job: &NotificationJob) -> Result<()> {
        if !self.on {
            return Ok(());
        }
        let k = (
            job.contact.clone(),
            job.host.clone(),
            job.service.clone(),
            job.command.clone(),
        );
        match take_first(&mut self.rows, &k) {
            Some(row) => assign(tx, row, job.id, &k),
            None => {
                push_bounded(&mut self.jobs, (k, job.id));
                Ok(())
            }
        }
    }
}

fn to_sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// Row `row` is notification `id`; an outcome that came first is attached now.
fn assign(tx: &Transaction<'_>, row: i64, id: u64, k: &Key) -> Result<()> {
    let id = to_sql_id(id);
    tx.prepare_cached("UPDATE events SET notification_id = ?1 WHERE id = ?2")?
        .execute(params![id, row])?;
    let early: Option<(i64, Option<i32>, String)> = tx
        .prepare_cached(
            "SELECT id, exit_code, status FROM notification_results
             WHERE notification_id = ?1 AND event_id IS NULL AND contact = ?2 AND host = ?3
             AND service IS ?4 AND command = ?5 ORDER BY id LIMIT 1",
        )?
        .query_row(params![id, k.0, k.1, k.2, k.3], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if let Some((res, code, status)) = early {
        tx.prepare_cached("UPDATE events SET exit_code = ?1, exit_status = ?2 WHERE id = ?3")?
            .execute(params![code, status, row])?;
        tx.prepare_cached("UPDATE notification_results SET event_id = ?1 WHERE id = ?2")?
            .execute(params![row, res])?;
    }
    Ok(())
}

/// Record the outcome of notification `id`: on its row when the row is known, else kept
/// (with the id) for the row to take when it comes.
pub(crate) fn outcome(tx: &Transaction<'_>, id: u64, r: &NotificationResult) -> Result<()> {
    let id = to_sql_id(id);
    let row: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM events WHERE notification_id = ?1 AND exit_status IS NULL
             AND contact = ?2 AND host = ?3 AND service IS ?4 AND command = ?5
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![id, r.contact, r.host, r.service, r.command], |x| {
            x.get(0)
        })
        .optional()?;
    if let Some(row) = row {
        tx.prepare_cached("UPDATE events SET exit_code = ?1, exit_status = ?2 WHERE id = ?3")?
            .execute(params![r.exit_code, r.status, row])?;
    }
    tx.prepare_cached(
        "INSERT INTO notification_results (time, contact, host, service, command,
         exit_code, status, duration_ms, event_id, notification_id)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    )?
    .execute(params![
        r.time,
        r.contact,
        r.host,
        r.service,
        r.command,
        r.exit_code,
        r.status,
        i64::try_from(r.duration_ms).unwrap_or(i64::MAX),
        row,
        id
    ])?;
    Ok(())
}
