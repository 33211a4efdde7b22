//! State that survives restarts and `kill -9`: a snapshot of the engine's retained state
//! plus a journal of every input received since that snapshot.
//!
//! The engine is deterministic, so replaying the journal on top of the snapshot rebuilds
//! the state it had when the process died. Each batch of input is appended to the journal
//! with one `write(2)` *before* it is processed, so a `kill -9` loses nothing that reached
//! the engine; an OS crash or power loss can lose what the kernel had not written back yet
//! (the journal is not `fsync`ed per batch).
//!
//! After the engine's log lines for a batch are written, a marker `L seq` records that
//! everything up to `seq` is in `nagios.log` (and its commands were handed to the
//! executor). On replay, batches up to the marker are applied with their outputs
//! discarded; batches after it are processed normally, so their log lines and
//! notifications happen once, now — the log (and the history fed from it) and the state
//! never disagree after a crash. Dying between a log write and its marker repeats that
//! batch's log lines (at-least-once), never drops them.
//!
//! Periodic snapshots are written by a thread of their own
//! ([`Store::save_in_background`]): the engine thread only copies the retained state
//! (`Engine::snapshot`) and rotates the journal to `<journal>.old`; serialising,
//! `fsync` and the rename happen beside it (at 100,000 services that is ≈ 110 MB of
//! JSON and ≈ 0.35 s). The old journal is deleted once the snapshot that covers it is
//! in place; until then a restart replays `<journal>.old` and `<journal>` in that
//! order, skipping the records the snapshot already holds.
//!
//! The journal holds each input *as the engine received it* ([`Entry`]): command-file
//! lines, web commands, the lines of a `PROCESS_FILE` file, passive results, active
//! check outcomes and time (a tick that had something due) each have a record kind of
//! their own, and [`Entry::apply`] is the one
//! place that hands an input to its engine entry point, live and on replay alike. So a
//! replay takes exactly the live path with the same values (an NSCA result is not
//! re-rendered as a command line, whose `;` could shift its fields). The format is
//! versioned (`V 2` at the start of each journal file) and described in
//! `ARCHITECTURE.md`, "Retention and the loss window"; the record kinds of version 1
//! (`J` for every line-shaped input, `A` with JSON) are still read, so an upgrade after a
//! crash replays what the old version journaled.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_correlator::ConnectionEvent;
use picket_engine::{CheckExit, CheckOutcome, Engine, PassiveResult, Retention, Time};
use serde::{Deserialize, Serialize};

use crate::detect::{Detect, DetectSnapshot};

/// The journal format written by this version (the `V` line at the start of a file).
pub(crate) const JOURNAL_VERSION: u32 = 2;

/// The snapshot file.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    /// Journal records up to this sequence number are included.
    journal_seq: u64,
    /// When it was written.
    saved_at: Time,
    /// The engine state.
    retention: Retention,
    /// Scan detection's state (the correlator and the results it holds), when it is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detection: Option<DetectSnapshot>,
}

/// One input batch as the engine receives it, and the journal record kind it is
/// written as.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    /// `J`: command-file (FIFO) lines, each for `Engine::process_line`.
    Lines(&'a [u8]),
    /// `H`: external-command lines from the web UI and API (`POST /api/results`,
    /// `POST /api/commands`), each for `Engine::process_line`.
    Web(&'a [u8]),
    /// `F`: the lines of a file named by `PROCESS_FILE`, each for
    /// `Engine::process_file_line` (a file's lines log differently from the FIFO's).
    FileLines(&'a [u8]),
    /// `P`: passive results from NSCA, each for `Engine::process_passive`.
    Passive(&'a [PassiveResult]),
    /// `C`: active check outcomes, each for `Engine::process_check_result`.
    Checks(&'a [CheckOutcome]),
    /// `T`: time passing, `Engine::tick` (journaled when something was due: a downtime
    /// that starts or ends changes what the inputs after it do), and the correlator's
    /// tick when it has something due (a hold that ends, an incident that closes).
    Tick,
    /// `E`: connection events from `POST /api/connection-events` (a JSON array), for the
    /// scan detection (`Detect::events`), or logged as `CONNECTION EVENT` lines without it.
    Events(&'a [ConnectionEvent]),
}

/// `Engine::tick(now)`, journaled first when the engine has something due, so that a
/// replay applies time between the same inputs as live.
pub(crate) fn tick(
    engine: &mut Engine,
    detect: Option<&mut Detect>,
    store: Option<&mut Store>,
    now: Time,
) -> std::io::Result<()> {
    let due = engine.next_wakeup().is_some_and(|w| w <= now)
        || detect.as_deref().is_some_and(|d| d.due(now));
    let journaled = match store {
        Some(s) if due => s.append(now, &Entry::Tick),
        _ => Ok(()),
    };
    Entry::Tick.apply_with(engine, detect, now);
    journaled
}

impl Entry<'_> {
    /// [`Entry::apply_with`] without scan detection.
    pub(crate) fn apply(&self, engine: &mut Engine, now: Time) {
        self.apply_with(engine, None, now);
    }

    /// Hand the input to the engine (and to the scan detection, which holds the Denied
    /// results it correlates): the only mapping from an input kind to its entry point,
    /// used by the engine thread for live input and by the replay.
    pub(crate) fn apply_with(
        &self,
        engine: &mut Engine,
        mut detect: Option<&mut Detect>,
        now: Time,
    ) {
        match *self {
            Entry::Lines(data) | Entry::Web(data) => {
                let text = String::from_utf8_lossy(data);
                for line in text.split('\n') {
                    if !line.is_empty() {
                        if let Some(d) = detect.as_deref_mut() {
                            if d.line(engine, now, line) {
                                continue;
                            }
                        }
                        engine.process_line(now, line);
                    }
                }
            }
            Entry::FileLines(data) => {
                let text = String::from_utf8_lossy(data);
                for line in text.split('\n') {
                    engine.process_file_line(now, line);
                }
            }
            Entry::Passive(results) => {
                for r in results {
                    if let Some(d) = detect.as_deref_mut() {
                        if d.passive(engine, now, r) {
                            continue;
                        }
                    }
                    engine.process_passive(now, r);
                }
            }
            Entry::Checks(outcomes) => {
                for o in outcomes {
                    engine.process_check_result(now, o);
                }
            }
            Entry::Tick => {
                engine.tick(now);
                if let Some(d) = detect {
                    if d.due(now) {
                        d.tick(engine, now);
                    }
                }
            }
            Entry::Events(events) => match detect {
                Some(d) => d.events(engine, now, events),
                None => {
                    for ev in events {
                        crate::detect::log_event(engine, now, &ev.clone().bounded());
                    }
                }
            },
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Entry::Lines(_) => b'J',
            Entry::Web(_) => b'H',
            Entry::FileLines(_) => b'F',
            Entry::Passive(_) => b'P',
            Entry::Checks(_) => b'C',
            Entry::Tick => b'T',
            Entry::Events(_) => b'E',
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Entry::Lines(d) | Entry::Web(d) | Entry::FileLines(d) => d.is_empty(),
            Entry::Passive(r) => r.is_empty(),
            Entry::Checks(o) => o.is_empty(),
            Entry::Tick => false,
            Entry::Events(e) => e.is_empty(),
        }
    }

    /// The record's body. Lines are stored as they are; results and outcomes as a
    /// sequence of fields, each `<decimal length>:<bytes>` (`-` for an absent optional
    /// field), numbers in decimal, `f64`s as their IEEE bits so they come back exact.
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Entry::Lines(data) | Entry::Web(data) | Entry::FileLines(data) => {
                out.extend_from_slice(data);
            }
            Entry::Passive(results) => {
                for r in results {
                    field(out, r.host.as_bytes());
                    opt_field(out, r.service.as_deref());
                    num_field(out, r.return_code);
                    num_field(out, r.check_time);
                    field(out, r.output.as_bytes());
                }
            }
            Entry::Checks(outcomes) => {
                for o in outcomes {
                    field(out, o.host.as_bytes());
                    opt_field(out, o.service.as_deref());
                    num_field(out, o.options);
                    num_field(out, o.start_time);
                    num_field(out, o.execution_time.to_bits());
                    num_field(out, o.latency.to_bits());
                    match o.exit {
                        CheckExit::Code(c) => field(out, format!("c{c}").as_bytes()),
                        CheckExit::TimedOut => field(out, b"t"),
                        CheckExit::Signaled(s) => field(out, format!("s{s}").as_bytes()),
                    }
                    field(out, o.output.as_bytes());
                }
            }
            Entry::Tick => {}
            Entry::Events(events) => {
                // Serialising plain data into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, events);
            }
        }
    }
}

fn field(out: &mut Vec<u8>, b: &[u8]) {
    let _ = write!(out, "{}:", b.len());
    out.extend_from_slice(b);
}

fn opt_field(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => field(out, s.as_bytes()),
        None => out.push(b'-'),
    }
}

fn num_field(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    let mut buf = [0u8; 24];
    let mut w = &mut buf[..];
    let _ = write!(w, "{n}");
    let len = 24 - w.len();
    field(out, &buf[..len]);
}

/// Reads the fields written by [`Entry::encode`].
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn opt_bytes(&mut self) -> Result<Option<&'a [u8]>, String> {
        if let Some(rest) = self.0.strip_prefix(b"-") {
            self.0 = rest;
            return Ok(None);
        }
        let colon = self
            .0
            .iter()
            .take(21)
            .position(|&b| b == b':')
            .ok_or("a field without its length")?;
        let len: usize = std::str::from_utf8(&self.0[..colon])
            .ok()
            .and_then(|l| l.parse().ok())
            .ok_or("a field with a bad length")?;
        let rest = &self.0[colon + 1..];
        if rest.len() < len {
            return Err("a field longer than its record".into());
        }
        self.0 = &rest[len..];
        Ok(Some(&rest[..len]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        self.opt_bytes()?
            .ok_or_else(|| "an absent required field".to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "a field that is not UTF-8".into())
    }

    fn opt_string(&mut self) -> Result<Option<String>, String> {
        match self.opt_bytes()? {
            None => Ok(None),
            Some(b) => String::from_utf8(b.to_vec())
                .map(Some)
                .map_err(|_| "a field that is not UTF-8".into()),
        }
    }

    fn num<T: std::str::FromStr>(&mut self) -> Result<T, String> {
        Fields::parse(self.bytes()?)
    }

    fn parse<T: std::str::FromStr>(b: &[u8]) -> Result<T, String> {
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "a bad number".to_string())
    }
}

/// One journal record: an input batch with its kind (`J`, `H`, `F`, `P`, `C`, `T`, and the
/// version 1 `A`: active check outcomes as a JSON array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) kind: u8,
    pub(crate) seq: u64,
    pub(crate) now: Time,
    pub(crate) data: Vec<u8>,
}

/// A decoded record body.
enum Decoded<'a> {
    Bytes(Entry<'a>),
    Passive(Vec<PassiveResult>),
    Checks(Vec<CheckOutcome>),
    Events(Vec<ConnectionEvent>),
}

impl Record {
    fn decode(&self) -> Result<Decoded<'_>, String> {
        let d = &self.data[..];
        Ok(match self.kind {
            b'J' => Decoded::Bytes(Entry::Lines(d)),
            b'H' => Decoded::Bytes(Entry::Web(d)),
            b'F' => Decoded::Bytes(Entry::FileLines(d)),
            b'T' if d.is_empty() => Decoded::Bytes(Entry::Tick),
            b'P' => {
                let mut f = Fields(d);
                let mut v = Vec::new();
                while !f.is_empty() {
                    v.push(PassiveResult {
                        host: f.string()?,
                        service: f.opt_string()?,
                        return_code: f.num()?,
                        check_time: f.num()?,
                        output: f.string()?,
                    });
                }
                Decoded::Passive(v)
            }
            b'C' => {
                let mut f = Fields(d);
                let mut v = Vec::new();
                while !f.is_empty() {
                    let host = f.string()?;
                    let service = f.opt_string()?;
                    let options = f.num()?;
                    let start_time = f.num()?;
                    let execution_time = f64::from_bits(f.num()?);
                    let latency = f64::from_bits(f.num()?);
                    let exit = match f.bytes()? {
                        b"t" => CheckExit::TimedOut,
                        [b'c', n @ ..] => CheckExit::Code(Fields::parse(n)?),
                        [b's', n @ ..] => CheckExit::Signaled(Fields::parse(n)?),
                        _ => return Err("a bad check exit".into()),
                    };
                    v.push(CheckOutcome {
                        host,
                        service,
                        options,
                        start_time,
                        execution_time,
                        latency,
                        exit,
                        output: f.string()?,
                    });
                }
                Decoded::Checks(v)
            }
            b'A' => Decoded::Checks(serde_json::from_slice(d).map_err(|e| e.to_string())?),
            b'E' => Decoded::Events(serde_json::from_slice(d).map_err(|e| e.to_string())?),
            k => return Err(format!("unknown record kind {:?}", char::from(k))),
        })
    }

    /// Replay: decode and hand to the engine as the live input was.
    fn apply(&self, engine: &mut Engine, detect: Option<&mut Detect>) -> Result<(), String> {
        let now = self.now;
        match self.decode()? {
            Decoded::Bytes(e) => e.apply_with(engine, detect, now),
            Decoded::Passive(v) => Entry::Passive(&v).apply_with(engine, detect, now),
            Decoded::Checks(v) => Entry::Checks(&v).apply_with(engine, detect, now),
            Decoded::Events(v) => Entry::Events(&v).apply_with(engine, detect, now),
        }
        Ok(())
    }
}

/// Snapshot + journal.
#[derive(Debug)]
pub(crate) struct Store {
    snap_path: PathBuf,
    journal_path: PathBuf,
    /// The journal of a snapshot being written in the background.
    old_journal_path: PathBuf,
    journal: BufWriter<File>,
    seq: u64,
    journal_bytes: u64,
    /// The last sequence number marked as logged.
    marked: u64,
    /// The background snapshot writer, if one was started.
    writer: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    /// Reused for encoding record bodies.
    scratch: Vec<u8>,
}

/// Write `snap` to `path` atomically: temporary file, `fsync`, rename.
fn write_snapshot(path: &Path, snap: &Snapshot) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        serde_json::to_writer(&mut w, snap).context("serialise retention")?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all().context("fsync retention")?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))
}

/// Remove `path` if it exists.
fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("remove {}", path.display())),
    }
}

/// A parsed journal.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Journal {
    pub(crate) records: Vec<Record>,
    /// The highest `L` marker: records up to it were logged.
    pub(crate) logged_through: u64,
    /// Bytes at the end that are no complete record or marker (the process died while
    /// writing them): ignored.
    pub(crate) torn: usize,
}

/// Parse journal bytes: `V <version>` lines, `L <seq>` markers and records
/// `<kind> <seq> <now> <len>\n<len bytes>\n`. A torn last record (the process died
/// mid-write) is ignored and counted in [`Journal::torn`]. A journal written by a newer
/// format version is refused rather than half understood.
pub(crate) fn parse_journal(mut b: &[u8]) -> Result<Journal, String> {
    let mut out = Journal::default();
    while let Some(nl) = b.iter().position(|&c| c == b'\n') {
        let Ok(header) = std::str::from_utf8(&b[..nl]) else {
            break;
        };
        if let Some(v) = header.strip_prefix("V ") {
            let Ok(v) = v.parse::<u32>() else {
                break;
            };
            if v > JOURNAL_VERSION {
                return Err(format!(
                    "journal format version {v} is newer than this picket's ({JOURNAL_VERSION})"
                ));
            }
            b = &b[nl + 1..];
            continue;
        }
        if let Some(seq) = header.strip_prefix("L ") {
            let Ok(seq) = seq.parse::<u64>() else {
                break;
            };
            out.logged_through = out.logged_through.max(seq);
            b = &b[nl + 1..];
            continue;
        }
        let mut it = header.split(' ');
        let (Some(kind), Some(seq), Some(now), Some(len), None) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            break;
        };
        let &[kind] = kind.as_bytes() else {
            break;
        };
        if !kind.is_ascii_uppercase() {
            break;
        }
        let (Ok(seq), Ok(now), Ok(len)) = (seq.parse(), now.parse(), len.parse::<usize>()) else {
            break;
        };
        let body = &b[nl + 1..];
        if body.len() < len + 1 || body[len] != b'\n' {
            break;
        }
        out.records.push(Record {
            kind,
            seq,
            now,
            data: body[..len].to_vec(),
        });
        b = &body[len + 1..];
    }
    out.torn = b.len();
    Ok(out)
}

/// What [`Store::open`] replayed.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// Records applied to the engine.
    pub(crate) records: usize,
    /// Records that could not be read (skipped) and a torn tail, for the operator.
    pub(crate) warnings: Vec<String>,
}

impl Store {
    /// Open (creating) the store next to `snap_path`; restore `engine` from it and
    /// replay the journal. Returns the store and what was replayed. The outputs of
    /// records that had not been logged are left in the engine for the caller to log and
    /// run.
    #[cfg(test)]
    pub(crate) fn open(snap_path: &Path, engine: &mut Engine) -> anyhow::Result<(Store, Replayed)> {
        Store::open_with(snap_path, engine, &mut None)
    }

    /// [`Store::open`] with scan detection: `detect` (a fresh one when detection is on) is
    /// restored from the snapshot and replayed with the engine. A snapshot with held
    /// results and detection now off: they are processed once the replay is done.
    pub(crate) fn open_with(
        snap_path: &Path,
        engine: &mut Engine,
        detect: &mut Option<Detect>,
    ) -> anyhow::Result<(Store, Replayed)> {
        let journal_path = snap_path.with_extension("journal");
        let old_journal_path = snap_path.with_extension("journal.old");
        let mut last_seq = 0;
        let mut saved_at = 0;
        let mut orphans: Option<DetectSnapshot> = None;
        let mut restore_error: Option<String> = None;
        match std::fs::read(snap_path) {
            Ok(bytes) => {
                let snap: Snapshot = serde_json::from_slice(&bytes)
                    .with_context(|| format!("parse retention file {}", snap_path.display()))?;
                last_seq = snap.journal_seq;
                saved_at = snap.saved_at;
                engine.restore(snap.retention);
                match (snap.detection, detect.as_ref()) {
                    (Some(ds), Some(d)) => match Detect::restore(d.config().clone(), ds.clone()) {
                        Ok(restored) => *detect = Some(restored),
                        Err(e) => {
                            // Start afresh rather than not at all; the held results are
                            // not lost: processed once the replay is done.
                            restore_error = Some(e);
                            orphans = Some(ds);
                        }
                    },
                    (Some(ds), None) => orphans = Some(ds),
                    (None, _) => {}
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("read {}", snap_path.display()));
            }
        }
        let mut replayed = Replayed::default();
        let mut max_seq = last_seq;
        // A snapshot that was being written in the background when the process died
        // left its journal as `.journal.old`: its records come first. (It was complete
        // when it was renamed, so the two files join on a record boundary.)
        let mut bytes = Vec::new();
        for path in [&old_journal_path, &journal_path] {
            if let Ok(mut f) = File::open(path) {
                f.read_to_end(&mut bytes)
                    .with_context(|| format!("read {}", path.display()))?;
            }
        }
        if !bytes.is_empty() {
            let journal = parse_journal(&bytes)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("read journal {}", journal_path.display()))?;
            if journal.torn > 0 {
                replayed.warnings.push(format!(
                    "journal {}: the last {} byte(s) are an incomplete record (the process \
                     died while writing it), ignored",
                    journal_path.display(),
                    journal.torn
                ));
            }
            engine.set_replay(true);
            for r in &journal.records {
                if r.seq <= last_seq {
                    continue;
                }
                if r.seq > journal.logged_through && engine.is_replay() {
                    // From here on nothing was logged: process for real.
                    engine.set_replay(false);
                    let _ = engine.take_outputs();
                }
                if let Err(e) = r.apply(engine, detect.as_mut()) {
                    replayed.warnings.push(format!(
                        "journal {}: record {} ({}) cannot be read ({e}), skipped",
                        journal_path.display(),
                        r.seq,
                        char::from(r.kind)
                    ));
                }
                max_seq = max_seq.max(r.seq);
                replayed.records += 1;
            }
            if engine.is_replay() {
                engine.set_replay(false);
                let _ = engine.take_outputs();
            }
        }
        if let Some(ds) = orphans {
            let n = ds.release_all(engine, saved_at);
            let why = match &restore_error {
                Some(e) => format!(
                    "the scan detection's state in {} cannot be restored ({e}): open incidents are forgotten",
                    snap_path.display()
                ),
                None => "detection_config_file is no longer set".to_string(),
            };
            if n > 0 || restore_error.is_some() {
                replayed.warnings.push(format!(
                    "{why}; {n} Denied result(s) held by the previous run are processed now"
                ));
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)
            .with_context(|| format!("open journal {}", journal_path.display()))?;
        let journal_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((
            Store {
                snap_path: snap_path.to_owned(),
                journal_path,
                old_journal_path,
                journal: BufWriter::with_capacity(1 << 20, file),
                seq: max_seq,
                journal_bytes,
                marked: 0,
                writer: None,
                scratch: Vec::new(),
            },
            replayed,
        ))
    }

    /// Journal one input batch (buffered; [`Store::flush`] writes it). Nothing is
    /// written for an empty batch.
    pub(crate) fn append(&mut self, now: Time, entry: &Entry<'_>) -> std::io::Result<()> {
        if entry.is_empty() {
            return Ok(());
        }
        match *entry {
            Entry::Lines(d) | Entry::Web(d) | Entry::FileLines(d) => {
                self.append_kind(entry.kind(), now, d)
            }
            Entry::Passive(_) | Entry::Checks(_) | Entry::Tick | Entry::Events(_) => {
                let mut body = std::mem::take(&mut self.scratch);
                body.clear();
                entry.encode(&mut body);
                let r = self.append_kind(entry.kind(), now, &body);
                self.scratch = body;
                r
            }
        }
    }

    fn append_kind(&mut self, kind: u8, now: Time, data: &[u8]) -> std::io::Result<()> {
        if self.journal_bytes == 0 {
            // A new journal file starts with its format version.
            let v = format!("V {JOURNAL_VERSION}\n");
            self.journal.write_all(v.as_bytes())?;
            self.journal_bytes += v.len() as u64;
        }
        self.seq += 1;
        let mut buf = [0u8; 80];
        let mut w = &mut buf[..];
        writeln!(w, "{} {} {now} {}", char::from(kind), self.seq, data.len())?;
        let header_len = 80 - w.len();
        self.journal.write_all(&buf[..header_len])?;
        self.journal.write_all(data)?;
        self.journal.write_all(b"\n")?;
        self.journal_bytes += (header_len + data.len() + 1) as u64;
        Ok(())
    }

    /// Record that everything journaled so far is in the log, and hand the journal to the
    /// kernel. Call after the log write of a batch, before running its commands.
    pub(crate) fn mark_logged(&mut self) -> std::io::Result<()> {
        if self.seq > self.marked {
            let m = format!("L {}\n", self.seq);
            self.journal.write_all(m.as_bytes())?;
            self.journal_bytes += m.len() as u64;
            self.marked = self.seq;
        }
        self.flush()
    }

    /// Hand the buffered journal to the kernel.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.journal.flush()
    }

    /// Bytes in the journal since the last snapshot.
    pub(crate) fn journal_bytes(&self) -> u64 {
        self.journal_bytes
    }

    /// Write a snapshot (atomically: temporary file, fsync, rename), then empty the
    /// journal. Waits for a background snapshot first. For start-up and shutdown.
    #[cfg(test)]
    pub(crate) fn save(&mut self, engine: &Engine, now: Time) -> anyhow::Result<()> {
        self.save_with(engine, None, now)
    }

    /// [`Store::save`] with the scan detection's state.
    pub(crate) fn save_with(
        &mut self,
        engine: &Engine,
        detect: Option<&Detect>,
        now: Time,
    ) -> anyhow::Result<()> {
        let previous = self.wait_for_writer();
        self.flush().context("flush journal")?;
        let snap = Snapshot {
            journal_seq: self.seq,
            saved_at: now,
            retention: engine.snapshot(),
            detection: detect.map(Detect::snapshot),
        };
        write_snapshot(&self.snap_path, &snap)?;
        self.journal
            .get_ref()
            .set_len(0)
            .with_context(|| format!("truncate {}", self.journal_path.display()))?;
        self.journal_bytes = 0;
        remove_if_exists(&self.old_journal_path)?;
        previous.context("background snapshot failed (saved again now)")
    }

    /// Start writing a snapshot on a thread of its own; the engine thread only copies
    /// the state and rotates the journal. Returns `Ok(false)` without doing anything
    /// while the previous one is still being written. When the previous one failed,
    /// saves synchronously instead and returns that failure.
    #[cfg(test)]
    pub(crate) fn save_in_background(
        &mut self,
        engine: &Engine,
        now: Time,
    ) -> anyhow::Result<bool> {
        self.save_in_background_with(engine, None, now)
    }

    /// [`Store::save_in_background`] with the scan detection's state.
    pub(crate) fn save_in_background_with(
        &mut self,
        engine: &Engine,
        detect: Option<&Detect>,
        now: Time,
    ) -> anyhow::Result<bool> {
        if self.writer.as_ref().is_some_and(|w| !w.is_finished()) {
            return Ok(false);
        }
        let previous = self.wait_for_writer();
        if previous.is_err() || self.old_journal_path.exists() {
            // The old journal still holds records no snapshot covers: do not rotate
            // over it; a synchronous save covers both journals.
            self.save_with(engine, detect, now)?;
            return previous
                .context("background snapshot failed (saved synchronously now)")
                .map(|()| true);
        }
        self.flush().context("flush journal")?;
        std::fs::rename(&self.journal_path, &self.old_journal_path).with_context(|| {
            format!(
                "rename {} to {}",
                self.journal_path.display(),
                self.old_journal_path.display()
            )
        })?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.journal_path)
            .with_context(|| format!("open journal {}", self.journal_path.display()))?;
        // The old writer's buffer is empty (flushed above).
        self.journal = BufWriter::with_capacity(1 << 20, file);
        self.journal_bytes = 0;
        let snap = Snapshot {
            journal_seq: self.seq,
            saved_at: now,
            retention: engine.snapshot(),
            detection: detect.map(Detect::snapshot),
        };
        let (snap_path, old) = (self.snap_path.clone(), self.old_journal_path.clone());
        self.writer = Some(
            std::thread::Builder::new()
                .name("picket-retention".into())
                .spawn(move || {
                    write_snapshot(&snap_path, &snap)?;
                    remove_if_exists(&old)
                })
                .context("start the retention writer")?,
        );
        Ok(true)
    }

    /// Wait for the background writer, if any, and return its outcome.
    fn wait_for_writer(&mut self) -> anyhow::Result<()> {
        match self.writer.take() {
            None => Ok(()),
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the retention writer panicked"))),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn journal_roundtrip_and_torn_tail() {
        let mut bytes = Vec::new();
        for (seq, data) in [(1u64, &b"[1] A;b\n[1] C\n"[..]), (2, &b"x\ny\n"[..])] {
            bytes.extend_from_slice(format!("J {seq} 100 {}\n", data.len()).as_bytes());
            bytes.extend_from_slice(data);
            bytes.push(b'\n');
        }
        let full = parse_journal(&bytes).unwrap().records;
        assert_eq!(full.len(), 2);
        assert_eq!(full[1].data, b"x\ny\n");
        assert_eq!(full[0].now, 100);
        // Cut inside the second record: only the first survives.
        let torn = parse_journal(&bytes[..bytes.len() - 3]).unwrap().records;
        assert_eq!(torn.len(), 1);
        assert_eq!(torn[0].seq, 1);
    }

    #[test]
    fn logged_markers() {
        let mut bytes = Vec::new();
        for seq in 1..=3u64 {
            bytes.extend_from_slice(format!("J {seq} 100 1\nx\n").as_bytes());
            if seq == 2 {
                bytes.extend_from_slice(b"L 2\n");
            }
        }
        let j = parse_journal(&bytes).unwrap();
        assert_eq!(j.records.len(), 3);
        assert_eq!(j.logged_through, 2);
        // A torn marker is ignored with what follows.
        let j = parse_journal(b"J 1 100 1\nx\nL 1\nL 2").unwrap();
        assert_eq!(j.records.len(), 1);
        assert_eq!(j.logged_through, 1);
    }

    pub(crate) fn engine() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("objects.cfg");
        std::fs::write(
            &cfg,
            "define command {\n command_name n\n command_line /bin/true\n}\n\
             define timeperiod {\n timeperiod_name all\n alias all\n monday 00:00-24:00\n thursday 00:00-24:00\n}\n\
             define contact {\n contact_name c\n service_notification_period all\n\
             host_notification_period all\n service_notification_commands n\n\
             service_notification_options w,u,c,r\n host_notification_options d,r\n\
             host_notification_commands n\n}\n\
             define host {\n host_name h\n max_check_attempts 1\n check_period all\n}\n\
             define service {\n host_name h\n service_description s\n check_command n\n\
             max_check_attempts 1\n is_volatile 1\n check_interval 1\n retry_interval 1\n\
             check_period all\n notification_period all\n notification_interval 0\n contacts c\n}\n",
        )
        .unwrap();
        let main = dir.path().join("main.cfg");
        std::fs::write(&main, format!("cfg_file={}\n", cfg.display())).unwrap();
        let loaded = picket_config::load(&main, &picket_config::LoadOptions::default()).unwrap();
        assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
        Engine::new(
            std::sync::Arc::new(loaded.config),
            jiff::tz::TimeZone::UTC,
            picket_engine::EngineOptions::default(),
        )
    }

    #[test]
    fn unlogged_batches_are_processed_for_real_on_replay() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("retention.dat");
        let result = |t: u32, o: &str| {
            format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;h;s;2;{o}\n").into_bytes()
        };
        {
            let mut e = engine();
            let (mut st, _) = Store::open(&snap, &mut e).unwrap();
            st.append(100, &Entry::Lines(&result(100, "logged")))
                .unwrap();
            st.mark_logged().unwrap();
            st.append(101, &Entry::Lines(&result(101, "not logged")))
                .unwrap();
            st.flush().unwrap();
            // kill -9 here: the second batch never reached the log.
        }
        let mut e = engine();
        let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
        assert_eq!(replayed.records, 2);
        let out = e.take_outputs();
        assert!(!out.log.contains("logged;"), "{}", out.log);
        assert!(!out.log.contains(";logged\n"), "{}", out.log);
        assert!(
            out.log
                .contains("[101] SERVICE ALERT: h;s;CRITICAL;HARD;1;not logged"),
            "{}",
            out.log
        );
        assert_eq!(
            out.jobs.len(),
            1,
            "the unlogged alert's notification runs now:\n{}",
            out.log
        );
        let sid = e.config().services[0].id;
        assert_eq!(
            e.service_status(sid).plugin_output.as_deref(),
            Some("not logged")
        );
    }

    /// Every record kind: replaying a journaled input gives the same state and the same
    /// outputs as the live call. Unmarked (the process died before the `L` marker) it is
    /// processed for real: the same log lines, jobs and requests; marked, it is replayed
    /// silently to the same state.
    #[test]
    fn each_record_kind_replays_as_the_live_input() {
        let now: Time = 1_800_000_000;
        let passive = vec![
            PassiveResult {
                host: "h".into(),
                service: Some("s".into()),
                return_code: 2,
                output: "down\\nsecond line|t=1".into(),
                check_time: now - 5,
            },
            // NSCA with `strict_names=0`: no such host live; as a command line it would
            // be a result for h;s.
            PassiveResult {
                host: "h;s;0;forged".into(),
                service: Some("x".into()),
                return_code: 2,
                output: "o".into(),
                check_time: now,
            },
            PassiveResult {
                host: "h".into(),
                service: None,
                return_code: 1,
                output: "host: down".into(),
                check_time: now,
            },
        ];
        let checks = vec![
            picket_engine::CheckOutcome {
                host: "h".into(),
                service: Some("s".into()),
                options: 0,
                start_time: now - 1,
                execution_time: 0.1 + 0.2,
                latency: 1.0 / 3.0,
                exit: CheckExit::Code(1),
                output: "warn|t=1\n".into(),
            },
            picket_engine::CheckOutcome {
                host: "h".into(),
                service: Some("s".into()),
                options: 0,
                start_time: now,
                execution_time: 60.000_000_000_1,
                latency: f64::MIN_POSITIVE,
                exit: CheckExit::TimedOut,
                output: String::new(),
            },
            picket_engine::CheckOutcome {
                host: "h".into(),
                service: None,
                options: 0,
                start_time: now,
                execution_time: 0.5,
                latency: 0.0,
                exit: CheckExit::Signaled(9),
                output: "killed".into(),
            },
        ];
        let fifo = format!(
            "[{now}] PROCESS_SERVICE_CHECK_RESULT;h;s;1;from the fifo\ngarbage\n\
             [{now}] ADD_SVC_COMMENT;h;s;1;a;a comment\n[{now}] NO_SUCH;x\n"
        );
        let web = format!("[{now}] PROCESS_SERVICE_CHECK_RESULT;h;s;2;from the web\n");
        // From a file: the malformed line is skipped silently, the unknown command logs
        // only its warning (a command-file line would log more).
        let file = format!(
            "garbage\n[{now}] PROCESS_SERVICE_CHECK_RESULT;h;s;2;from a file\n[{now}] NO_SUCH;x"
        );
        let entries = [
            Entry::Lines(fifo.as_bytes()),
            Entry::Web(web.as_bytes()),
            Entry::FileLines(file.as_bytes()),
            Entry::Passive(&passive),
            Entry::Checks(&checks),
        ];
        let started = || {
            let mut e = engine();
            e.start(now - 100);
            let _ = e.take_outputs();
            e
        };
        for entry in entries {
            let kind = char::from(entry.kind());
            let mut live = started();
            entry.apply(&mut live, now);
            let live_out = live.take_outputs();
            assert!(!live_out.log.is_empty(), "{kind}");
            for marked in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let snap = dir.path().join("retention.dat");
                {
                    let mut e = started();
                    let (mut st, _) = Store::open(&snap, &mut e).unwrap();
                    st.save(&e, now - 100).unwrap();
                    st.append(now, &entry).unwrap();
                    entry.apply(&mut e, now);
                    if marked {
                        st.mark_logged().unwrap();
                    } else {
                        st.flush().unwrap();
                    }
                    // kill -9
                }
                let mut e = engine();
                let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
                assert_eq!(replayed.records, 1, "{kind}");
                assert!(
                    replayed.warnings.is_empty(),
                    "{kind}: {:?}",
                    replayed.warnings
                );
                let out = e.take_outputs();
                if marked {
                    assert!(out.is_empty(), "{kind}: {out:?}");
                } else {
                    assert_eq!(out, live_out, "{kind}: replayed for real");
                }
                assert_eq!(e.snapshot(), live.snapshot(), "{kind} (marked: {marked})");
            }
        }
    }

    /// Time between inputs replays as live: a downtime that starts at a tick silences
    /// the result after it, on replay too (without the `T` record the replayed result
    /// would find no downtime in effect and count a notification).
    #[test]
    fn ticks_between_inputs_replay_as_live() {
        // A Thursday, in the test timeperiod: the volatile service would notify.
        let t0: Time = 1_799_913_600;
        let cmds = format!(
            "[{t0}] STOP_EXECUTING_SVC_CHECKS\n\
             [{t0}] SCHEDULE_SVC_DOWNTIME;h;s;{};{};1;0;3590;a;maint\n",
            t0 + 10,
            t0 + 3600
        );
        let result = [PassiveResult {
            host: "h".into(),
            service: Some("s".into()),
            return_code: 2,
            output: "down in maintenance".into(),
            check_time: t0 + 11,
        }];
        for marked in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let snap = dir.path().join("retention.dat");
            let mut live = engine();
            live.start(t0 - 100);
            let _ = live.take_outputs();
            let live_log;
            {
                let (mut st, _) = Store::open(&snap, &mut live).unwrap();
                st.save(&live, t0 - 100).unwrap();
                st.append(t0, &Entry::Lines(cmds.as_bytes())).unwrap();
                Entry::Lines(cmds.as_bytes()).apply(&mut live, t0);
                tick(&mut live, None, Some(&mut st), t0 + 10).expect("journal the tick");
                st.append(t0 + 11, &Entry::Passive(&result)).unwrap();
                Entry::Passive(&result).apply(&mut live, t0 + 11);
                live_log = live.take_outputs().log;
                if marked {
                    st.mark_logged().unwrap();
                } else {
                    st.flush().unwrap();
                }
            }
            assert!(
                live_log.contains("SERVICE DOWNTIME ALERT: h;s;STARTED"),
                "{live_log}"
            );
            let sid = live.config().services[0].id;
            assert_eq!(live.service_status(sid).current_notification_number, 0);
            let mut e = engine();
            let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
            assert_eq!(replayed.records, 3);
            let out = e.take_outputs();
            if !marked {
                assert_eq!(out.log, live_log);
            }
            // The check scheduler is not replayed: `Engine::start` lays it out afresh
            // after the replay (live, the tick also rescheduled the stopped check).
            let unscheduled = |mut r: Retention| {
                for (_, _, st) in &mut r.services {
                    st.next_check = 0;
                }
                for (_, st) in &mut r.hosts {
                    st.next_check = 0;
                }
                r
            };
            assert_eq!(
                unscheduled(e.snapshot()),
                unscheduled(live.snapshot()),
                "marked: {marked}"
            );
        }
    }

    /// A journal of version 1 (NSCA results re-rendered as `J` lines, active outcomes as
    /// `A` JSON) still replays after an upgrade; a newer version is refused; a record
    /// that cannot be read is reported, not silently dropped with what follows.
    #[test]
    fn older_journals_replay_newer_are_refused_bad_records_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("retention.dat");
        let journal = snap.with_extension("journal");
        let outcome = picket_engine::CheckOutcome {
            host: "h".into(),
            service: Some("s".into()),
            options: 0,
            start_time: 100,
            execution_time: 0.25,
            latency: 0.5,
            exit: CheckExit::Code(2),
            output: "active down".into(),
        };
        let a = serde_json::to_vec(&vec![outcome]).unwrap();
        let j = b"[99] PROCESS_SERVICE_CHECK_RESULT;h;s;1;passive warning\n";
        let mut v1 = format!("J 1 100 {}\n", j.len()).into_bytes();
        v1.extend_from_slice(j);
        v1.extend_from_slice(format!("\nL 1\nA 2 101 {}\n", a.len()).as_bytes());
        v1.extend_from_slice(&a);
        v1.extend_from_slice(b"\n");
        std::fs::write(&journal, &v1).unwrap();
        let mut e = engine();
        let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
        assert_eq!(replayed.records, 2);
        assert!(replayed.warnings.is_empty(), "{:?}", replayed.warnings);
        let out = e.take_outputs();
        assert!(
            out.log
                .contains("[101] SERVICE ALERT: h;s;CRITICAL;HARD;1;active down"),
            "{}",
            out.log
        );
        let sid = e.config().services[0].id;
        assert_eq!(e.service_status(sid).last_check, 100);

        std::fs::write(&journal, b"V 3\nJ 1 100 1\nx\n").unwrap();
        let err = Store::open(&snap, &mut engine()).unwrap_err();
        assert!(format!("{err:#}").contains("version 3 is newer"), "{err:#}");

        let bad = b"V 2\nP 1 100 5\n3:abc\nJ 2 100 0\n\nJ 3 100".to_vec();
        std::fs::write(&journal, &bad).unwrap();
        let (_st, replayed) = Store::open(&snap, &mut engine()).unwrap();
        assert_eq!(replayed.records, 2);
        assert_eq!(replayed.warnings.len(), 2, "{:?}", replayed.warnings);
        assert!(
            replayed.warnings[0].contains("the last 7 byte(s)"),
            "{:?}",
            replayed.warnings
        );
        assert!(
            replayed.warnings[1].contains("record 1 (P) cannot be read"),
            "{:?}",
            replayed.warnings
        );
    }

    /// A background snapshot, and a crash at each point of it: before the snapshot is
    /// renamed into place, between the rename and the removal of the old journal, and
    /// after. Every result is applied exactly once in each case (the volatile service
    /// notifies on every CRITICAL result, so the notification number counts them).
    #[test]
    fn background_snapshot_survives_a_crash_at_every_step() {
        let result =
            |t: u32| format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;h;s;2;r{t}\n").into_bytes();
        let notified = |e: &Engine| {
            let sid = e.config().services[0].id;
            e.service_status(sid).current_notification_number
        };
        for crash in ["before rename", "before old journal removal", "none"] {
            let dir = tempfile::tempdir().unwrap();
            let snap = dir.path().join("retention.dat");
            let old_journal = snap.with_extension("journal.old");
            let mut e = engine();
            let (mut st, _) = Store::open(&snap, &mut e).unwrap();
            let feed = |st: &mut Store, e: &mut Engine, t: u32| {
                let data = result(t);
                st.append(Time::from(t), &Entry::Lines(&data)).unwrap();
                Entry::Lines(&data).apply(e, Time::from(t));
                let _ = e.take_outputs();
                st.mark_logged().unwrap();
            };
            for t in 100..103 {
                feed(&mut st, &mut e, t);
            }
            st.save(&e, 103).unwrap();
            let first_snapshot = std::fs::read(&snap).unwrap();
            for t in 103..106 {
                feed(&mut st, &mut e, t);
            }
            let journal_before = std::fs::read(snap.with_extension("journal")).unwrap();
            assert!(st.save_in_background(&e, 106).unwrap());
            for t in 106..108 {
                feed(&mut st, &mut e, t);
            }
            st.wait_for_writer().unwrap();
            assert!(
                !old_journal.exists(),
                "removed once the snapshot is in place"
            );
            assert_eq!(notified(&e), 8);
            match crash {
                "before rename" => {
                    std::fs::write(&snap, &first_snapshot).unwrap();
                    std::fs::write(&old_journal, &journal_before).unwrap();
                }
                "before old journal removal" => {
                    std::fs::write(&old_journal, &journal_before).unwrap();
                }
                _ => {}
            }
            drop(st); // kill -9
            let mut e2 = engine();
            let (mut st2, replayed) = Store::open(&snap, &mut e2).unwrap();
            let _ = e2.take_outputs();
            assert_eq!(notified(&e2), 8, "crash {crash}: every result once");
            let want_replayed = if crash == "before rename" { 5 } else { 2 };
            assert_eq!(replayed.records, want_replayed, "crash {crash}");
            // The next background save starts over cleanly (a synchronous one when an
            // old journal is left over).
            assert!(st2.save_in_background(&e2, 200).unwrap());
            st2.wait_for_writer().unwrap();
            assert!(!old_journal.exists());
            let mut e3 = engine();
            let (_st3, replayed) = Store::open(&snap, &mut e3).unwrap();
            assert_eq!((replayed.records, notified(&e3)), (0, 8), "crash {crash}");
        }
    }
}
