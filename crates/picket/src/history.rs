//! History and live events: a thread that tails the daemon's own `nagios.log`.
//!
//! The log is the contract (Nagios' CGIs and Thruk read history from it too), so the history
//! database is fed from exactly the bytes the engine wrote, never from a second copy that
//! could disagree. The thread keeps a cursor (the log's inode and the offset past the last
//! complete line stored) in the database, committed with the rows: after a `kill -9` the
//! history resumes where it stopped and catches up with what the log holds, so history and
//! log agree. The same parsed lines become the live events of the UI and API.
//!
//! The engine thread only wakes the thread after each write ([`HistoryTx::wake`]: never
//! blocking, and at most one wake-up waits in the queue, so that a history far behind the
//! engine never fills the queue with them); the executor sends each notification job and
//! its outcome ([`HistoryTx::report`]), which are never dropped: when the queue is full the
//! sender waits for room (counted in `picket_history_report_waits_total`).
//!
//! How far behind the history is, is measured when `/metrics` is scraped, not when the
//! thread last finished a pass (during a long catch-up that was seconds old, and after a
//! capped read it counted only what was left of that read): `picket_history_lag_bytes` is
//! the log's size now minus the offset of the last commit (plus what is left of the
//! previous file after a rotation), `picket_history_lag_seconds` the age of the oldest
//! line not yet committed, read from the log at that offset (0 when nothing is behind).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use picket_history::{
    Cursor, DeniedPattern, NotificationJob, NotificationResult, Record, Store, StoreConfig,
    continues_result, parse_line,
};
use picket_web::{Counter, LiveEvent, Metrics};
use tokio::sync::broadcast;

/// The cursor's name in the database.
const SOURCE: &str = "nagios.log";
/// Lines per transaction when catching up with a long log: fewer commits, each writing
/// the indexes' hot pages once for more rows, and a source's denials folded into one
/// aggregate upsert per batch (a multiple of 3: a passive result's three lines).
const BATCH_LINES: usize = 150_000;
/// Read size.
const CHUNK: usize = 1 << 20;
/// Messages waiting for the history thread.
const QUEUE: usize = 65_536;
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// A message to the history thread.
#[derive(Debug)]
pub(crate) enum HistoryMsg {
    /// The engine appended to the log.
    Wake,
    /// The executor took a notification job (in the engine's order; `picket_history`'s
    /// `notify` module joins its outcome to its row by the id).
    NotificationJob(NotificationJob),
    /// A notification command finished.
    Notification { id: u64, result: NotificationResult },
    /// Ingest what the log holds, then stop (other senders may still be alive).
    Stop,
}

/// The senders' end of the history thread's queue.
#[derive(Clone)]
pub(crate) struct HistoryTx {
    tx: SyncSender<HistoryMsg>,
    /// A [`HistoryMsg::Wake`] is in the queue and not yet taken.
    wake_pending: Arc<AtomicBool>,
}

impl HistoryTx {
    /// The engine appended to the log. Never blocks; a wake-up already waiting in the
    /// queue stands for this one too (the thread reads everything the log holds).
    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel)
            && self.tx.try_send(HistoryMsg::Wake).is_err()
        {
            // Full of reports, or gone: the thread still polls the log every second.
            self.wake_pending.store(false, Ordering::Release);
        }
    }

    /// A notification job or outcome: never dropped, since the history joins a job's
    /// outcome to its log line by the job's place in this order. When the queue is full
    /// the caller waits for room; `waits` counts that. `false` once the thread is gone.
    pub(crate) fn report(&self, msg: HistoryMsg, waits: &picket_web::Counter) -> bool {
        use std::sync::mpsc::TrySendError;
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(msg)) => {
                waits.inc();
                let send = || self.tx.send(msg).is_ok();
                // Off the async workers' hands when called from the multi-threaded runtime.
                match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                    Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                        tokio::task::block_in_place(send)
                    }
                    _ => send(),
                }
            }
        }
    }

    /// Asks the thread to ingest what the log holds and stop.
    fn stop(&self) {
        let _ = self.tx.try_send(HistoryMsg::Stop);
    }
}

/// Splits appended log bytes into complete lines, tracking the offset past the last one.
/// Sans-I/O: fed with what was read, it never yields a partial line. Lines handed out are
/// only skipped over (`start`); the buffer is compacted when more is pushed, so a large
/// read taken a batch at a time is not moved once per batch.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// Bytes of `pending` already handed out.
    start: usize,
    /// Offset in the file of `pending[start]` (= past the last complete line).
    offset: u64,
}

impl LineSplitter {
    pub(crate) fn at(offset: u64) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            start: 0,
            offset,
        }
    }

    /// Offset past the last complete line handed out.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes read and not handed out yet.
    pub(crate) fn buffered(&self) -> usize {
        self.pending.len() - self.start
    }

    /// Append bytes read from the file.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.start > 0 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(data);
    }

    /// Take up to `max` complete lines (without their newline, lossily decoded).
    #[cfg(test)]
    pub(crate) fn take_lines(&mut self, max: usize, out: &mut Vec<String>) {
        self.each_line(max, |l| out.push(l.to_owned()));
    }

    /// Hand up to `max` complete lines to `f` (without their newline, lossily decoded),
    /// borrowed from the buffer: a valid UTF-8 line (every line the engine writes) is
    /// neither copied nor allocated.
    pub(crate) fn each_line(&mut self, max: usize, mut f: impl FnMut(&str)) {
        let mut used = self.start;
        let mut n = 0;
        while n < max {
            let Some(nl) = memchr_nl(&self.pending[used..]) else {
                break;
            };
            let line = &self.pending[used..used + nl];
            if !line.is_empty() {
                match std::str::from_utf8(line) {
                    Ok(l) => f(l),
                    Err(_) => f(&String::from_utf8_lossy(line)),
                }
                n += 1;
            }
            used += nl + 1;
        }
        self.offset += (used - self.start) as u64;
        self.start = used;
        if self.start == self.pending.len() {
            self.pending.clear();
            self.start = 0;
        }
    }

    /// Whether complete lines are waiting.
    pub(crate) fn has_line(&self) -> bool {
        memchr_nl(&self.pending[self.start..]).is_some()
    }

    /// The next complete non-empty line, not handed out (`each_line` takes it).
    pub(crate) fn peek_line(&self) -> Option<&[u8]> {
        let mut used = self.start;
        loop {
            let nl = memchr_nl(&self.pending[used..])?;
            if nl > 0 {
                return Some(&self.pending[used..used + nl]);
            }
            used += 1;
        }
    }
}

/// The first `\n` of `b`.
fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// The running history thread.
pub(crate) struct History {
    pub(crate) tx: HistoryTx,
    handle: JoinHandle<()>,
    done: Receiver<()>,
}

impl History {
    /// Stop after ingesting everything logged so far, waiting at most `limit`; `false`
    /// when the thread was still busy then (its cursor is committed with its rows, so
    /// the next start resumes where it got to).
    pub(crate) fn finish(self, limit: Duration) -> bool {
        // An explicit stop: clones of the sender may outlive this call.
        self.tx.stop();
        drop(self.tx);
        match self.done.recv_timeout(limit) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = self.handle.join();
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
        }
    }
}

struct Tail {
    path: PathBuf,
    /// The file being read (shared with [`Committed`] for the lag) and its inode.
    file: Option<(Arc<File>, u64)>,
    split: LineSplitter,
}

/// Where the history has committed up to: the file and the offset past the last
/// complete line stored. Updated by the history thread after each commit, read by the
/// lag gauges at each scrape.
#[derive(Debug, Default)]
struct Committed {
    file: Option<(Arc<File>, u64)>,
    offset: u64,
}

/// The lag gauges' view of the history.
#[derive(Debug)]
struct Progress {
    log_path: PathBuf,
    committed: Mutex<Committed>,
}

impl Progress {
    fn set(&self, tail: &Tail) {
        let mut c = match self.committed.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        c.file = tail.file.clone();
        c.offset = tail.split.offset();
    }

    fn get(&self) -> (Option<(Arc<File>, u64)>, u64) {
        let c = match self.committed.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        (c.file.clone(), c.offset)
    }

    /// Bytes written to the log and not committed: the rest of the committed file, plus
    /// the file the path names now when the log was rotated since.
    fn lag_bytes(&self) -> u64 {
        let (file, offset) = self.get();
        let current = std::fs::metadata(&self.log_path).ok();
        match (file, current) {
            (Some((_, ino)), Some(cur)) if cur.ino() == ino => cur.len().saturating_sub(offset),
            (Some((f, _)), cur) => {
                let rest = f.metadata().map_or(0, |m| m.len()).saturating_sub(offset);
                rest + cur.map_or(0, |m| m.len())
            }
            (None, cur) => cur.map_or(0, |m| m.len()),
        }
    }

    /// Seconds since the oldest line not committed was logged (its `[epoch]` stamp); 0
    /// when nothing is behind.
    fn lag_seconds(&self, now: i64) -> i64 {
        if self.lag_bytes() == 0 {
            return 0;
        }
        let (file, offset) = self.get();
        let mut head = [0u8; 32];
        let n = match file {
            Some((f, _)) if f.metadata().is_ok_and(|m| m.len() > offset) => {
                f.read_at(&mut head, offset).unwrap_or(0)
            }
            // Nothing left in the committed file: the oldest line opens the current one.
            _ => File::open(&self.log_path)
                .and_then(|f| f.read_at(&mut head, 0))
                .unwrap_or(0),
        };
        let stamp = head[..n]
            .strip_prefix(b"[")
            .and_then(|h| {
                let end = h.iter().position(|&b| b == b']')?;
                std::str::from_utf8(&h[..end]).ok()?.parse::<i64>().ok()
            })
            .unwrap_or(now);
        (now - stamp).max(0)
    }
}

impl Tail {
    fn open(path: &Path, resume: Option<Cursor>) -> Tail {
        let mut t = Tail {
            path: path.to_owned(),
            file: None,
            split: LineSplitter::default(),
        };
        if let Ok(mut f) = File::open(path) {
            if let Ok(md) = f.metadata() {
                let ino = md.ino();
                let offset = match resume {
                    Some(c) if c.file_id == ino && c.offset <= md.len() => c.offset,
                    _ => 0,
                };
                if f.seek(SeekFrom::Start(offset)).is_ok() {
                    t.split = LineSplitter::at(offset);
                    t.file = Some((Arc::new(f), ino));
                }
            }
        }
        t
    }

    /// Read what was appended; when the path now names another file (rotated), finish the
    /// old one first, then follow the new one from its start.
    /// Returns true when it stopped before the end of the file (to let the caller store
    /// some before reading on).
    fn read(&mut self) -> bool {
        let mut buf = vec![0u8; CHUNK];
        if let Some((f, _)) = self.file.as_mut() {
            loop {
                match (&**f).read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.split.push(&buf[..n]),
                }
                if self.split.buffered() > 64 * CHUNK {
                    return true;
                }
            }
        }
        false
    }

    fn rotated(&self) -> bool {
        let now = std::fs::metadata(&self.path).ok().map(|m| m.ino());
        match (&self.file, now) {
            (Some((_, ino)), Some(cur)) => *ino != cur,
            (None, Some(_)) => true,
            _ => false,
        }
    }

    fn cursor(&self) -> Option<Cursor> {
        self.file.as_ref().map(|(_, ino)| Cursor {
            file_id: *ino,
            offset: self.split.offset(),
        })
    }
}

struct Worker {
    store: Option<Store>,
    tail: Tail,
    events: broadcast::Sender<LiveEvent>,
    /// How Denied result lines are recognised (the store's pattern).
    denied: DeniedPattern,
    rows: Counter,
    errors: Counter,
    /// `CONNECTION EVENT` / `SCAN INCIDENT` lines without their fields.
    unparsed: Counter,
    progress: Arc<Progress>,
    /// Lines a transaction (`BATCH_LINES`; a test sets fewer).
    batch_lines: usize,
}

impl Worker {
    /// Store (and publish) everything complete in the log, plus `extra` results, in order.
    fn drain(&mut self, mut extra: Vec<Record>) {
        loop {
            let more = self.tail.read();
            while self.tail.split.has_line() || !extra.is_empty() {
                // About one record per 64 bytes buffered (a denial's lines are 70-100 bytes).
                let guess = (self.tail.split.buffered() / 64).min(self.batch_lines);
                let mut batch = Vec::with_capacity(guess + extra.len());
                let live = self.events.receiver_count() > 0;
                let (events, denied, unparsed) = (&self.events, &self.denied, &self.unparsed);
                let take = |l: &str, batch: &mut Vec<Record>| {
                    if let Ok(ll) = parse_line(l) {
                        if ll.event.is_malformed_record() {
                            unparsed.inc();
                        }
                        if live {
                            if let Some(ev) = LiveEvent::from_log(&ll) {
                                let _ = events.send(ev);
                            }
                            // A Denied result line is a connection event too (C3).
                            if let Some((reporter, _, source)) = denied.match_event(&ll.event) {
                                let _ = events.send(LiveEvent::Connection {
                                    time: ll.time,
                                    reporter: reporter.to_owned(),
                                    source: source.to_owned(),
                                    port: None,
                                    kind: "refused".to_owned(),
                                });
                            }
                        }
                        batch.push(Record::Log(ll));
                    }
                };
                self.tail
                    .split
                    .each_line(self.batch_lines, |l| take(l, &mut batch));
                // A full batch that ends within a passive result's lines takes the rest of
                // them (at most two), so that the result is one row like every other.
                for _ in 0..2 {
                    let Some(Record::Log(last)) = batch.last() else {
                        break;
                    };
                    let prev = last.event.kind();
                    let next = self
                        .tail
                        .split
                        .peek_line()
                        .and_then(|l| parse_line(&String::from_utf8_lossy(l)).ok());
                    match next {
                        Some(n) if continues_result(prev, n.event.kind()) => {
                            self.tail.split.each_line(1, |l| take(l, &mut batch));
                        }
                        _ => break,
                    }
                }
                if !self.tail.split.has_line() {
                    batch.append(&mut extra);
                }
                match (self.store.as_mut(), self.tail.cursor()) {
                    (Some(store), Some(cursor)) => {
                        match store.insert_batch_at(&batch, SOURCE, cursor) {
                            Ok(n) => {
                                self.rows.add(n as u64);
                                self.progress.set(&self.tail);
                            }
                            Err(e) => {
                                self.errors.inc();
                                eprintln!("picket: history: {e}");
                            }
                        }
                    }
                    // Without a database, published is as far as it goes.
                    _ => self.progress.set(&self.tail),
                }
            }
            if more {
                // The rest of a burst: on at once, not at the next wake-up.
                continue;
            }
            if self.tail.rotated() {
                self.tail = Tail::open(&self.tail.path, None);
                continue;
            }
            break;
        }
    }
}

fn run(mut w: Worker, rx: Receiver<HistoryMsg>, wake_pending: &AtomicBool) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    loop {
        let first = rx.recv_timeout(Duration::from_secs(1));
        let mut results = Vec::new();
        let mut done = false;
        match first {
            Ok(HistoryMsg::NotificationJob(j)) => results.push(Record::NotificationJob(j)),
            Ok(HistoryMsg::Notification { id, result }) => {
                results.push(Record::NotificationOutcome { id, result });
            }
            Ok(HistoryMsg::Wake) => wake_pending.store(false, Ordering::Release),
            Err(RecvTimeoutError::Timeout) => {}
            Ok(HistoryMsg::Stop) | Err(RecvTimeoutError::Disconnected) => done = true,
        }
        while let Ok(m) = rx.try_recv() {
            match m {
                HistoryMsg::NotificationJob(j) => results.push(Record::NotificationJob(j)),
                HistoryMsg::Notification { id, result } => {
                    results.push(Record::NotificationOutcome { id, result });
                }
                HistoryMsg::Wake => wake_pending.store(false, Ordering::Release),
                HistoryMsg::Stop => done = true,
            }
        }
        w.drain(results);
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Some(store) = w.store.as_mut() {
                let now = crate::input::unix_now();
                let chunk = store.config().prune_chunk as usize;
                while let Ok(n) = store.prune(now) {
                    if n < chunk {
                        break;
                    }
                }
            }
        }
        if done {
            return;
        }
    }
}

/// Start the thread: with `db` it stores history; live events are published either way.
/// Before returning it has caught up with the log as it is (e.g. after a crash).
pub(crate) fn start(
    log_path: &Path,
    db: Option<(&Path, StoreConfig)>,
    events: broadcast::Sender<LiveEvent>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<History> {
    let store = match db {
        Some((path, cfg)) => {
            // What a schema migration of the file does, to stderr like the thread's
            // other messages.
            let mut log = |m: &str| eprintln!("picket: history_file {}: {m}", path.display());
            Some(
                Store::open_with_log(path, cfg, &mut log)
                    .with_context(|| format!("history_file {}", path.display()))?,
            )
        }
        None => None,
    };
    let resume = match &store {
        Some(s) => s.cursor(SOURCE)?,
        // Without a database only new lines become live events.
        None => File::open(log_path)
            .and_then(|f| f.metadata())
            .ok()
            .map(|m| Cursor {
                file_id: m.ino(),
                offset: m.len(),
            }),
    };
    let tail = Tail::open(log_path, resume);
    let progress = Arc::new(Progress {
        log_path: log_path.to_owned(),
        committed: Mutex::new(Committed::default()),
    });
    progress.set(&tail);
    {
        let p = Arc::clone(&progress);
        metrics.gauge_fn(
            "picket_history_lag_bytes",
            "Bytes of nagios.log written and not yet committed to the history, now.",
            &[],
            move || i64::try_from(p.lag_bytes()).unwrap_or(i64::MAX),
        );
        let p = Arc::clone(&progress);
        metrics.gauge_fn(
            "picket_history_lag_seconds",
            "Age of the oldest nagios.log line not yet committed to the history (0: none).",
            &[],
            move || p.lag_seconds(crate::input::unix_now()),
        );
    }
    let denied = store
        .as_ref()
        .map(|s| s.config().denied.clone())
        .unwrap_or_default();
    let mut worker = Worker {
        store,
        tail,
        events,
        denied,
        rows: metrics.counter(
            "picket_history_rows_total",
            "Rows written to the history database.",
            &[],
        ),
        errors: metrics.counter(
            "picket_history_errors_total",
            "Failed history database writes.",
            &[],
        ),
        unparsed: metrics.counter(
            "picket_history_unparsed_total",
            "CONNECTION EVENT / SCAN INCIDENT log lines without their fields (stored as raw lines).",
            &[],
        ),
        progress,
        batch_lines: BATCH_LINES,
    };
    worker.drain(Vec::new());
    // Caught up: the notification rows from here on are this run's jobs'.
    if let Some(s) = worker.store.as_mut() {
        s.begin_notification_ids();
    }
    let (tx, rx) = sync_channel(QUEUE);
    let (done_tx, done) = sync_channel(1);
    let wake_pending = Arc::new(AtomicBool::new(false));
    let pending = Arc::clone(&wake_pending);
    let handle = std::thread::Builder::new()
        .name("picket-history".into())
        .spawn(move || {
            run(worker, rx, &pending);
            let _ = done_tx.send(());
        })?;
    Ok(History {
        tx: HistoryTx { tx, wake_pending },
        handle,
        done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_yields_only_complete_lines_and_tracks_the_offset() {
        let mut s = LineSplitter::at(100);
        let mut out = Vec::new();
        s.push(b"[1] a\n[2] b");
        s.take_lines(10, &mut out);
        assert_eq!(out, ["[1] a"]);
        assert_eq!(s.offset(), 106);
        assert!(!s.has_line());
        s.push(b"c\n\n[3] d\n");
        out.clear();
        s.take_lines(1, &mut out);
        assert_eq!(out, ["[2] bc"]);
        assert_eq!(s.offset(), 113);
        out.clear();
        s.take_lines(10, &mut out);
        // The empty line is consumed but not handed out.
        assert_eq!(out, ["[3] d"]);
        assert_eq!(s.offset(), 120);
    }

    #[test]
    fn invalid_utf8_does_not_stop_the_tail() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        s.push(b"[1] \xff\xfe\n");
        s.take_lines(10, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(s.offset(), 7);
    }

    /// The lag gauges read the log as it is at the instant they are computed: bytes past
    /// the committed offset (across a rotation too) and the age of the oldest of them.
    #[test]
    fn lag_is_measured_against_the_log_as_it_is_now() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nagios.log");
        let mut f = File::create(&log).unwrap();
        f.write_all(b"[100] first\n[105] second\n").unwrap();
        let mut tail = Tail::open(&log, None);
        let p = Progress {
            log_path: log.clone(),
            committed: Mutex::new(Committed::default()),
        };
        assert_eq!(
            (p.lag_bytes(), p.lag_seconds(110)),
            (25, 10),
            "nothing committed yet"
        );
        p.set(&tail);
        assert_eq!((p.lag_bytes(), p.lag_seconds(110)), (25, 10));
        // Commit the first line only.
        tail.read();
        let mut lines = Vec::new();
        tail.split.take_lines(1, &mut lines);
        p.set(&tail);
        assert_eq!((p.lag_bytes(), p.lag_seconds(110)), (13, 5));
        tail.split.take_lines(1, &mut lines);
        p.set(&tail);
        assert_eq!((p.lag_bytes(), p.lag_seconds(110)), (0, 0));
        // Written after the last commit: behind again at once, without the thread.
        f.write_all(b"[107] third\n").unwrap();
        assert_eq!((p.lag_bytes(), p.lag_seconds(110)), (12, 3));
        // Rotated: what is left of the old file plus all of the new one.
        std::fs::rename(&log, dir.path().join("archived.log")).unwrap();
        let mut g = File::create(&log).unwrap();
        g.write_all(b"[108] fourth\n").unwrap();
        assert_eq!((p.lag_bytes(), p.lag_seconds(110)), (25, 3));
        tail.read();
        tail.split.take_lines(10, &mut lines);
        p.set(&tail);
        assert_eq!(
            (p.lag_bytes(), p.lag_seconds(110)),
            (13, 2),
            "the new file's head"
        );
        let tail = Tail::open(&log, None);
        p.set(&tail);
        assert_eq!(p.lag_bytes(), 13);
    }

    /// A denial `t` seconds from now (recent: older rows would be pruned).
    fn line(t: i64, addr: &str) -> String {
        let t = crate::input::unix_now() + t;
        format!("[{t}] SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-{addr}\n")
    }

    /// Batches of a few lines end inside passive results: each result is still one row
    /// (its three lines share a row id, `4 × rowid + 0/1/2`), with one that has only
    /// two lines, another record and the next result after it.
    #[test]
    fn a_batch_boundary_does_not_split_a_result() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nagios.log");
        let t = crate::input::unix_now();
        let mut text = String::new();
        let mut want_rows = 0;
        for i in 0..40 {
            let out = format!("Denied sshd-10.0.0.{i}");
            if i % 5 != 3 {
                text.push_str(&format!(
                    "[{t}] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web1;TCP Wrappers;2;{out}\n"
                ));
            }
            text.push_str(&format!(
                "[{t}] PASSIVE SERVICE CHECK: web1;TCP Wrappers;2;{out}\n"
            ));
            text.push_str(&format!(
                "[{t}] SERVICE ALERT: web1;TCP Wrappers;CRITICAL;HARD;1;{out}\n"
            ));
            want_rows += 1;
            if i % 7 == 0 {
                text.push_str(&format!("[{t}] Warning: something else {i}\n"));
                want_rows += 1;
            }
        }
        File::create(&log)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let metrics = Metrics::new();
        for batch_lines in [1, 2, 4, 5, 7] {
            let db = dir.path().join(format!("history-{batch_lines}.db"));
            let progress = Arc::new(Progress {
                log_path: log.clone(),
                committed: Mutex::new(Committed::default()),
            });
            let (events, _) = broadcast::channel(16);
            let mut w = Worker {
                store: Some(Store::open(&db, StoreConfig::default()).unwrap()),
                tail: Tail::open(&log, None),
                events,
                denied: DeniedPattern::default(),
                rows: metrics.counter("rows", "", &[]),
                errors: metrics.counter("errors", "", &[]),
                unparsed: metrics.counter("unparsed", "", &[]),
                progress,
                batch_lines,
            };
            w.drain(Vec::new());
            let rows = w
                .store
                .as_ref()
                .unwrap()
                .query(&picket_history::Query {
                    limit: 10_000,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(rows.len(), text.lines().count(), "batch {batch_lines}");
            let ids: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.id / 4).collect();
            assert_eq!(
                ids.len(),
                want_rows,
                "batch {batch_lines}: one row per result"
            );
            let cursor = w.store.as_ref().unwrap().cursor(SOURCE).unwrap().unwrap();
            assert_eq!(cursor.offset, text.len() as u64);
        }
    }

    #[test]
    fn resumes_at_the_cursor_and_follows_rotation() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nagios.log");
        let db = dir.path().join("history.db");
        let metrics = Arc::new(Metrics::new());
        let (ev, _) = broadcast::channel(16);
        let mut f = File::create(&log).unwrap();
        f.write_all(line(1, "10.0.0.1").as_bytes()).unwrap();
        let partial = format!("[{}] SERVICE ALERT: partial", crate::input::unix_now());
        f.write_all(partial.as_bytes()).unwrap();
        let h = start(
            &log,
            Some((&db, StoreConfig::default())),
            ev.clone(),
            &metrics,
        )
        .unwrap();
        assert!(h.finish(Duration::MAX));
        let count = || {
            Store::open(&db, StoreConfig::default())
                .unwrap()
                .count()
                .unwrap()
        };
        assert_eq!(count(), 1, "only the complete line");
        // The rest of the partial line arrives; a restart resumes and stores it once.
        f.write_all(b";x;OK;HARD;1;fine\n").unwrap();
        f.write_all(line(3, "10.0.0.2").as_bytes()).unwrap();
        let h = start(
            &log,
            Some((&db, StoreConfig::default())),
            ev.clone(),
            &metrics,
        )
        .unwrap();
        // Rotation: the old file is renamed away after one more line; a new file follows.
        f.write_all(line(4, "10.0.0.3").as_bytes()).unwrap();
        std::fs::rename(&log, dir.path().join("nagios-archived.log")).unwrap();
        let mut g = File::create(&log).unwrap();
        g.write_all(line(5, "10.0.0.4").as_bytes()).unwrap();
        h.tx.wake();
        assert!(h.finish(Duration::MAX));
        let st = Store::open(&db, StoreConfig::default()).unwrap();
        assert_eq!(st.count().unwrap(), 5);
        let denied = st.denied(&picket_history::DeniedQuery::default()).unwrap();
        assert_eq!(denied.len(), 4);
    }

    #[test]
    fn wakes_are_coalesced_and_reports_wait_for_room() {
        let (tx, rx) = sync_channel(2);
        let h = HistoryTx {
            tx,
            wake_pending: Arc::new(AtomicBool::new(false)),
        };
        let metrics = picket_web::Metrics::new();
        let waits = metrics.counter("waits", "test", &[]);
        // However often the engine writes, one wake-up waits in the queue.
        for _ in 0..100 {
            h.wake();
        }
        let job = |id| {
            HistoryMsg::NotificationJob(NotificationJob {
                id,
                contact: "c".into(),
                host: "h".into(),
                service: None,
                command: "cmd".into(),
            })
        };
        assert!(h.report(job(1), &waits));
        assert_eq!(waits.get(), 0);
        // The queue is full now: the next report waits until the thread takes one.
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut got = Vec::new();
            while let Ok(m) = rx.recv_timeout(Duration::from_secs(5)) {
                got.push(m);
            }
            got
        });
        assert!(h.report(job(2), &waits));
        assert_eq!(waits.get(), 1);
        drop(h);
        let got = reader.join().unwrap();
        let ids: Vec<Option<u64>> = got
            .iter()
            .map(|m| match m {
                HistoryMsg::NotificationJob(j) => Some(j.id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [None, Some(1), Some(2)], "{got:?}");
    }
}
