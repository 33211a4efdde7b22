//! The delivery spool (edge): every batch of events is written here before it is sent,
//! and deleted only when the server took it. Batches are sent oldest first, so events
//! arrive in order; a sensor restart resumes with what is left.
//!
//! One batch is one file `DIR/<seq>.json` (a JSON array of events; `seq` a 20-digit
//! counter, so names sort in order), written to a temporary name, synced and renamed. The
//! directory is bounded by `max_bytes`: a batch that does not fit is not stored, and its
//! events are counted in [`Spool::dropped`] (the caller logs it). A batch the server
//! refuses as malformed (it can never be taken) is renamed `<seq>.rejected` and kept for
//! inspection, not resent.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use picket_correlator::ConnectionEvent;

/// The spool of one delivery target.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    next: u64,
    max_bytes: u64,
    bytes: u64,
    /// Events not stored because the spool was full.
    pub dropped: u64,
}

impl Spool {
    /// Opens (creates) `dir`, bounded by `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        let mut s = Spool {
            dir: dir.to_path_buf(),
            next: 0,
            max_bytes,
            bytes: 0,
            dropped: 0,
        };
        for p in s.pending()? {
            s.bytes += fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            if let Some(n) = seq_of(&p) {
                s.next = s.next.max(n + 1);
            }
        }
        Ok(s)
    }

    /// The batches waiting, oldest first.
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && seq_of(p).is_some())
            .collect();
        v.sort();
        Ok(v)
    }

    /// Bytes waiting.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Stores a batch. Returns `false` (and counts the events as dropped) when the spool is
    /// full.
    pub fn store(&mut self, events: &[ConnectionEvent]) -> io::Result<bool> {
        if events.is_empty() {
            return Ok(true);
        }
        let data = serde_json::to_vec(events).map_err(io::Error::other)?;
        if self.bytes + data.len() as u64 > self.max_bytes {
            self.dropped += events.len() as u64;
            return Ok(false);
        }
        let name = format!("{:020}.json", self.next);
        self.next += 1;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        fs::rename(&tmp, self.dir.join(name))?;
        self.bytes += data.len() as u64;
        Ok(true)
    }

    /// Reads a batch.
    pub fn read(path: &Path) -> io::Result<Vec<ConnectionEvent>> {
        let data = fs::read(path)?;
        serde_json::from_slice(&data).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// The batch was delivered.
    pub fn remove(&mut self, path: &Path) -> io::Result<()> {
        let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        fs::remove_file(path)?;
        self.bytes = self.bytes.saturating_sub(len);
        Ok(())
    }

    /// The batch can never be delivered: keep it aside as `.rejected`.
    pub fn reject(&mut self, path: &Path) -> io::Result<()> {
        let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        fs::rename(path, path.with_extension("rejected"))?;
        self.bytes = self.bytes.saturating_sub(len);
        Ok(())
    }
}

fn seq_of(p: &Path) -> Option<u64> {
    let stem = p.file_stem()?.to_str()?;
    (stem.len() == 20).then(|| stem.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_correlator::{Kind, Source};

    #[test]
    fn in_order_bounded_and_resumed() {
        let dir = tempfile::tempdir().expect("dir");
        let ev = |i: i64| ConnectionEvent::new(i, "h", Source::Unknown, Kind::Refused);
        let mut s = Spool::open(dir.path(), 1000).expect("open");
        assert!(s.store(&[ev(1), ev(2)]).expect("store"));
        assert!(s.store(&[ev(3)]).expect("store"));
        let big: Vec<_> = (0..100).map(ev).collect();
        assert!(!s.store(&big).expect("store"));
        assert_eq!(s.dropped, 100);
        let s2 = Spool::open(dir.path(), 1000).expect("reopen");
        let p = s2.pending().expect("pending");
        assert_eq!(p.len(), 2);
        assert_eq!(Spool::read(&p[0]).expect("read"), vec![ev(1), ev(2)]);
        let mut s2 = s2;
        s2.remove(&p[0]).expect("rm");
        assert!(s2.store(&[ev(4)]).expect("store"));
        let p = s2.pending().expect("pending");
        assert_eq!(p.len(), 2);
        assert_eq!(Spool::read(&p[1]).expect("read"), vec![ev(4)]);
    }
}
