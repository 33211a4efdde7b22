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

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_engine::{Engine, Retention, Time};
use serde::{Deserialize, Serialize};

/// The snapshot file.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    /// Journal records up to this sequence number are included.
    journal_seq: u64,
    /// When it was written.
    saved_at: Time,
    /// The engine state.
    retention: Retention,
}

/// One journaled input batch: `J` command-file lines, or `A` active check results (a
/// JSON array of `CheckOutcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) kind: u8,
    pub(crate) seq: u64,
    pub(crate) now: Time,
    pub(crate) data: Vec<u8>,
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
}

/// Parse journal bytes; a torn last record (the process died mid-write) is ignored.
pub(crate) fn parse_journal(mut b: &[u8]) -> Journal {
    let mut out = Journal::default();
    while let Some(nl) = b.iter().position(|&c| c == b'\n') {
        let Ok(header) = std::str::from_utf8(&b[..nl]) else {
            break;
        };
        if let Some(seq) = header.strip_prefix("L ") {
            let Ok(seq) = seq.parse::<u64>() else {
                break;
            };
            out.logged_through = out.logged_through.max(seq);
            b = &b[nl + 1..];
            continue;
        }
        let mut it = header.split(' ');
        let (Some(kind @ ("J" | "A")), Some(seq), Some(now), Some(len), None) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            break;
        };
        let kind = kind.as_bytes()[0];
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
    out
}

impl Store {
    /// Open (creating) the store next to `snap_path`; restore `engine` from it and
    /// replay the journal. Returns the store and the number of replayed records. The
    /// outputs of records that had not been logged are left in the engine for the caller
    /// to log and run.
    pub(crate) fn open(snap_path: &Path, engine: &mut Engine) -> anyhow::Result<(Store, usize)> {
        let journal_path = snap_path.with_extension("journal");
        let old_journal_path = snap_path.with_extension("journal.old");
        let mut last_seq = 0;
        match std::fs::read(snap_path) {
            Ok(bytes) => {
                let snap: Snapshot = serde_json::from_slice(&bytes)
                    .with_context(|| format!("parse retention file {}", snap_path.display()))?;
                last_seq = snap.journal_seq;
                engine.restore(snap.retention);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("read {}", snap_path.display()));
            }
        }
        let mut replayed = 0;
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
            let journal = parse_journal(&bytes);
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
                if r.kind == b'A' {
                    let results: Vec<picket_engine::CheckOutcome> =
                        serde_json::from_slice(&r.data).unwrap_or_default();
                    for o in &results {
                        engine.process_check_result(r.now, o);
                    }
                } else {
                    crate::daemon::feed(engine, r.now, &r.data);
                }
                max_seq = max_seq.max(r.seq);
                replayed += 1;
            }
            if engine.is_replay() {
                engine.set_replay(false);
                let _ = engine.take_outputs();
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
            },
            replayed,
        ))
    }

    /// Journal one input batch (buffered; [`Store::flush`] writes it).
    pub(crate) fn append(&mut self, now: Time, data: &[u8]) -> std::io::Result<()> {
        self.append_kind('J', now, data)
    }

    /// Journal a batch of active check results.
    pub(crate) fn append_active(
        &mut self,
        now: Time,
        results: &[picket_engine::CheckOutcome],
    ) -> std::io::Result<()> {
        let data = serde_json::to_vec(results).map_err(std::io::Error::other)?;
        self.append_kind('A', now, &data)
    }

    fn append_kind(&mut self, kind: char, now: Time, data: &[u8]) -> std::io::Result<()> {
        self.seq += 1;
        let header = format!("{kind} {} {now} {}\n", self.seq, data.len());
        self.journal.write_all(header.as_bytes())?;
        self.journal.write_all(data)?;
        self.journal.write_all(b"\n")?;
        self.journal_bytes += (header.len() + data.len() + 1) as u64;
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
    pub(crate) fn save(&mut self, engine: &Engine, now: Time) -> anyhow::Result<()> {
        let previous = self.wait_for_writer();
        self.flush().context("flush journal")?;
        let snap = Snapshot {
            journal_seq: self.seq,
            saved_at: now,
            retention: engine.snapshot(),
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
    pub(crate) fn save_in_background(
        &mut self,
        engine: &Engine,
        now: Time,
    ) -> anyhow::Result<bool> {
        if self.writer.as_ref().is_some_and(|w| !w.is_finished()) {
            return Ok(false);
        }
        let previous = self.wait_for_writer();
        if previous.is_err() || self.old_journal_path.exists() {
            // The old journal still holds records no snapshot covers: do not rotate
            // over it; a synchronous save covers both journals.
            self.save(engine, now)?;
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
mod tests {
    use super::*;

    #[test]
    fn journal_roundtrip_and_torn_tail() {
        let mut bytes = Vec::new();
        for (seq, data) in [(1u64, &b"[1] A;b\n[1] C\n"[..]), (2, &b"x\ny\n"[..])] {
            bytes.extend_from_slice(format!("J {seq} 100 {}\n", data.len()).as_bytes());
            bytes.extend_from_slice(data);
            bytes.push(b'\n');
        }
        let full = parse_journal(&bytes).records;
        assert_eq!(full.len(), 2);
        assert_eq!(full[1].data, b"x\ny\n");
        assert_eq!(full[0].now, 100);
        // Cut inside the second record: only the first survives.
        let torn = parse_journal(&bytes[..bytes.len() - 3]).records;
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
        let j = parse_journal(&bytes);
        assert_eq!(j.records.len(), 3);
        assert_eq!(j.logged_through, 2);
        // A torn marker is ignored with what follows.
        let j = parse_journal(b"J 1 100 1\nx\nL 1\nL 2");
        assert_eq!(j.records.len(), 1);
        assert_eq!(j.logged_through, 1);
    }

    fn engine() -> Engine {
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
            st.append(100, &result(100, "logged")).unwrap();
            st.mark_logged().unwrap();
            st.append(101, &result(101, "not logged")).unwrap();
            st.flush().unwrap();
            // kill -9 here: the second batch never reached the log.
        }
        let mut e = engine();
        let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
        assert_eq!(replayed, 2);
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
                st.append(Time::from(t), &result(t)).unwrap();
                crate::daemon::feed(e, Time::from(t), &result(t));
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
            assert_eq!(replayed, want_replayed, "crash {crash}");
            // The next background save starts over cleanly (a synchronous one when an
            // old journal is left over).
            assert!(st2.save_in_background(&e2, 200).unwrap());
            st2.wait_for_writer().unwrap();
            assert!(!old_journal.exists());
            let mut e3 = engine();
            let (_st3, replayed) = Store::open(&snap, &mut e3).unwrap();
            assert_eq!((replayed, notified(&e3)), (0, 8), "crash {crash}");
        }
    }
}
