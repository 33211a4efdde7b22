//! History and live events: a thread that tails the daemon's own `nagios.log`.
//!
//! The log is the contract (Nagios' CGIs and Thruk read history from it too), so the history
//! database is fed from exactly the bytes the engine wrote, never from a second copy that
//! could disagree. The thread keeps a cursor (the log's inode and the offset past the last
//! complete line stored) in the database, committed with the rows: after a `kill -9` the
//! history resumes where it stopped and catches up with what the log holds, so history and
//! log agree. The same parsed lines become the live events of the UI and API.
//!
//! The engine thread only sends a [`HistoryMsg::Wake`] after each write (never blocking); the
//! executor sends each notification command's outcome.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use picket_history::{Cursor, NotificationResult, Record, Store, StoreConfig, parse_line};
use picket_web::{Counter, Gauge, LiveEvent, Metrics};
use tokio::sync::broadcast;

/// The cursor's name in the database.
const SOURCE: &str = "nagios.log";
/// Lines per transaction when catching up with a long log.
const BATCH_LINES: usize = 10_000;
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
    /// A notification command finished.
    Notification(NotificationResult),
    /// Ingest what the log holds, then stop (other senders may still be alive).
    Stop,
}

/// Splits appended log bytes into complete lines, tracking the offset past the last one.
/// Sans-I/O: fed with what was read, it never yields a partial line.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// Offset in the file of the first pending byte (= past the last complete line).
    offset: u64,
}

impl LineSplitter {
    pub(crate) fn at(offset: u64) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            offset,
        }
    }

    /// Offset past the last complete line handed out.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Append bytes read from the file.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// Take up to `max` complete lines (without their newline, lossily decoded).
    pub(crate) fn take_lines(&mut self, max: usize, out: &mut Vec<String>) {
        let mut used = 0;
        let mut n = 0;
        while n < max {
            let Some(nl) = self.pending[used..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let line = &self.pending[used..used + nl];
            if !line.is_empty() {
                out.push(String::from_utf8_lossy(line).into_owned());
                n += 1;
            }
            used += nl + 1;
        }
        self.pending.drain(..used);
        self.offset += used as u64;
    }

    /// Whether complete lines are waiting.
    pub(crate) fn has_line(&self) -> bool {
        self.pending.contains(&b'\n')
    }
}

/// The running history thread.
pub(crate) struct History {
    pub(crate) tx: SyncSender<HistoryMsg>,
    handle: JoinHandle<()>,
    done: Receiver<()>,
}

impl History {
    /// Stop after ingesting everything logged so far, waiting at most `limit`; `false`
    /// when the thread was still busy then (its cursor is committed with its rows, so
    /// the next start resumes where it got to).
    pub(crate) fn finish(self, limit: Duration) -> bool {
        // An explicit stop: clones of the sender may outlive this call.
        let _ = self.tx.try_send(HistoryMsg::Stop);
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
    file: Option<(File, u64)>,
    split: LineSplitter,
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
                    t.file = Some((f, ino));
                }
            }
        }
        t
    }

    /// Read what was appended; when the path now names another file (rotated), finish the
    /// old one first, then follow the new one from its start.
    fn read(&mut self) {
        let mut buf = vec![0u8; CHUNK];
        if let Some((f, _)) = self.file.as_mut() {
            loop {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.split.push(&buf[..n]),
                }
                if self.split.pending.len() > 64 * CHUNK {
                    break; // let the caller store some before reading on
                }
            }
        }
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

    fn len(&self) -> u64 {
        self.file
            .as_ref()
            .and_then(|(f, _)| f.metadata().ok())
            .map_or(0, |m| m.len())
    }
}

struct Worker {
    store: Option<Store>,
    tail: Tail,
    events: broadcast::Sender<LiveEvent>,
    rows: Counter,
    errors: Counter,
    lag: Gauge,
    lines: Vec<String>,
}

impl Worker {
    /// Store (and publish) everything complete in the log, plus `extra` results, in order.
    fn drain(&mut self, mut extra: Vec<NotificationResult>) {
        loop {
            self.tail.read();
            while self.tail.split.has_line() || !extra.is_empty() {
                self.lines.clear();
                self.tail.split.take_lines(BATCH_LINES, &mut self.lines);
                let mut batch = Vec::with_capacity(self.lines.len() + extra.len());
                let live = self.events.receiver_count() > 0;
                for l in &self.lines {
                    if let Ok(ll) = parse_line(l) {
                        if live {
                            if let Some(ev) = LiveEvent::from_log(&ll) {
                                let _ = self.events.send(ev);
                            }
                        }
                        batch.push(Record::Log(ll));
                    }
                }
                if !self.tail.split.has_line() {
                    batch.extend(extra.drain(..).map(Record::NotificationResult));
                }
                if let (Some(store), Some(cursor)) = (self.store.as_mut(), self.tail.cursor()) {
                    match store.insert_batch_at(&batch, SOURCE, cursor) {
                        Ok(n) => self.rows.add(n as u64),
                        Err(e) => {
                            self.errors.inc();
                            eprintln!("picket: history: {e}");
                        }
                    }
                }
            }
            if self.tail.rotated() {
                self.tail = Tail::open(&self.tail.path, None);
                continue;
            }
            break;
        }
        self.lag.set(
            i64::try_from(self.tail.len().saturating_sub(self.tail.split.offset())).unwrap_or(0),
        );
    }
}

fn run(mut w: Worker, rx: Receiver<HistoryMsg>) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    loop {
        let first = rx.recv_timeout(Duration::from_secs(1));
        let mut results = Vec::new();
        let mut done = false;
        match first {
            Ok(HistoryMsg::Notification(r)) => results.push(r),
            Ok(HistoryMsg::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(HistoryMsg::Stop) | Err(RecvTimeoutError::Disconnected) => done = true,
        }
        while let Ok(m) = rx.try_recv() {
            match m {
                HistoryMsg::Notification(r) => results.push(r),
                HistoryMsg::Wake => {}
                HistoryMsg::Stop => done = true,
            }
        }
        w.drain(results);
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Some(store) = w.store.as_mut() {
                let now = crate::daemon::unix_now();
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
        Some((path, cfg)) => Some(
            Store::open(path, cfg).with_context(|| format!("history_file {}", path.display()))?,
        ),
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
    let mut worker = Worker {
        store,
        tail: Tail::open(log_path, resume),
        events,
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
        lag: metrics.gauge(
            "picket_history_lag_bytes",
            "Bytes of nagios.log not yet in the history database.",
            &[],
        ),
        lines: Vec::new(),
    };
    worker.drain(Vec::new());
    let (tx, rx) = sync_channel(QUEUE);
    let (done_tx, done) = sync_channel(1);
    let handle = std::thread::Builder::new()
        .name("picket-history".into())
        .spawn(move || {
            run(worker, rx);
            let _ = done_tx.send(());
        })?;
    Ok(History { tx, handle, done })
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

    /// A denial `t` seconds from now (recent: older rows would be pruned).
    fn line(t: i64, addr: &str) -> String {
        let t = crate::daemon::unix_now() + t;
        format!("[{t}] SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-{addr}\n")
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
        let partial = format!("[{}] SERVICE ALERT: partial", crate::daemon::unix_now());
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
        h.tx.send(HistoryMsg::Wake).unwrap();
        assert!(h.finish(Duration::MAX));
        let st = Store::open(&db, StoreConfig::default()).unwrap();
        assert_eq!(st.count().unwrap(), 5);
        let denied = st.denied(&picket_history::DeniedQuery::default()).unwrap();
        assert_eq!(denied.len(), 4);
    }
}
