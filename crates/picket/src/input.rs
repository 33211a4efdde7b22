//! What the engine thread takes in, and the daemon's clock: a leaf module, so the
//! threads and tasks that feed the engine (the FIFO reader, the NSCA and NSCA-ng
//! receivers, the web server, Livestatus, the check runner, the executor, the
//! check-result reaper, the status writer, the log layer) depend on this and not on
//! `daemon.rs`, which wires them together.
//!
//! Every message to the engine thread is an [`Input`] on one bounded channel (see
//! `daemon::EngineLoop`), so all inputs are processed, journaled and logged in arrival
//! order, and a full channel makes every producer wait (or answer "busy").

use std::sync::mpsc::SyncSender;

use picket_engine::{CheckOutcome, PassiveResult, Time};

/// A message to the engine thread.
#[derive(Debug)]
pub(crate) enum Input {
    /// Complete command-file lines (a chunk ending with `\n`): the FIFO, the
    /// check-result reaper, NSCA-ng (whose clients send commands).
    Lines(Vec<u8>),
    /// An external-command line (with its `\n`) from the web UI and API, Livestatus
    /// `COMMAND`: commands other than check results.
    Web(Vec<u8>),
    /// Typed passive results: the built-in NSCA receiver and the check results of the
    /// web UI and API (`POST /api/results`, NRDP, the Icinga 2 API, the UI's "submit
    /// result"), handed to `Engine::process_passive` without a text round trip.
    Passive(Vec<PassiveResult>),
    /// A line for `nagios.log` (the executor's timeouts and spawn failures, warnings of
    /// the libraries, read errors). Not journaled: it changes no state.
    Log(String),
    /// The web server asks for a status snapshot.
    Status(SyncSender<picket_web::StatusView>),
    /// Results of active checks (see `checks.rs`).
    CheckResults(Vec<CheckOutcome>),
    /// Connection events from `POST /api/connection-events` (checked by the web layer).
    Events(Vec<picket_correlator::ConnectionEvent>),
    /// Livestatus asks for a snapshot (`livestatus/tables.rs`).
    Livestatus(SyncSender<crate::livestatus::tables::Snapshot>),
    /// Time passes: wakes the engine thread for what is due (sent by a ticker every
    /// 250 ms; the engine thread also wakes by itself at the engine's next wakeup).
    Tick,
}

/// The daemon's clock: UNIX seconds. The engine takes time as input; this is where the
/// daemon reads it.
pub(crate) fn unix_now() -> Time {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as Time)
        .unwrap_or(0)
}
