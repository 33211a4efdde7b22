//! State that survives restarts and `kill -9`: a snapshot of the engine's retained state
//! plus a journal of every input received since that snapshot.
//!
//! The engine is deterministic, so replaying the journal (outputs discarded) on top of
//! the snapshot rebuilds the state it had when the process died. Each batch of input is
//! appended to the journal with one `write(2)` *before* it is processed, so a `kill -9`
//! loses nothing that reached the engine; an OS crash or power loss can lose what the
//! kernel had not written back yet (the journal is not `fsync`ed per batch).

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
    journal: BufWriter<File>,
    seq: u64,
    journal_bytes: u64,
}

/// Parse journal bytes; a torn last record (the process died mid-write) is ignored.
pub(crate) fn parse_journal(mut b: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    while let Some(nl) = b.iter().position(|&c| c == b'\n') {
        let Ok(header) = std::str::from_utf8(&b[..nl]) else {
            break;
        };
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
        out.push(Record {
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
    /// replay the journal. Returns the store and the number of replayed records.
    pub(crate) fn open(snap_path: &Path, engine: &mut Engine) -> anyhow::Result<(Store, usize)> {
        let journal_path = snap_path.with_extension("journal");
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
        if let Ok(mut f) = File::open(&journal_path) {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .with_context(|| format!("read {}", journal_path.display()))?;
            engine.set_replay(true);
            for r in parse_journal(&bytes) {
                if r.seq <= last_seq {
                    continue;
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
            engine.set_replay(false);
            let _ = engine.take_outputs();
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
                journal: BufWriter::with_capacity(1 << 20, file),
                seq: max_seq,
                journal_bytes,
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

    /// Hand the buffered journal to the kernel.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.journal.flush()
    }

    /// Bytes in the journal since the last snapshot.
    pub(crate) fn journal_bytes(&self) -> u64 {
        self.journal_bytes
    }

    /// Write a snapshot (atomically: temporary file, fsync, rename), then empty the
    /// journal.
    pub(crate) fn save(&mut self, engine: &Engine, now: Time) -> anyhow::Result<()> {
        self.flush().context("flush journal")?;
        let snap = Snapshot {
            journal_seq: self.seq,
            saved_at: now,
            retention: engine.snapshot(),
        };
        let tmp = self.snap_path.with_extension("tmp");
        {
            let f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            let mut w = BufWriter::new(f);
            serde_json::to_writer(&mut w, &snap).context("serialise retention")?;
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all().context("fsync retention")?;
        }
        std::fs::rename(&tmp, &self.snap_path)
            .with_context(|| format!("rename to {}", self.snap_path.display()))?;
        self.journal
            .get_ref()
            .set_len(0)
            .with_context(|| format!("truncate {}", self.journal_path.display()))?;
        self.journal_bytes = 0;
        Ok(())
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
        let full = parse_journal(&bytes);
        assert_eq!(full.len(), 2);
        assert_eq!(full[1].data, b"x\ny\n");
        assert_eq!(full[0].now, 100);
        // Cut inside the second record: only the first survives.
        let torn = parse_journal(&bytes[..bytes.len() - 3]);
        assert_eq!(torn.len(), 1);
        assert_eq!(torn[0].seq, 1);
    }
}
