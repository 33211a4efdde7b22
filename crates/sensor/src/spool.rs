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
//!
//! Each spool has an id (`DIR/id`, 32 hex digits from the system's random source), new
//! whenever the spool is opened empty: (id, `seq`) tags a batch for Picket's API, which
//! takes a batch it already took as a no-op (`crates/web/src/batches.rs`), so a batch
//! delivered whose acknowledgement was lost is not taken twice. A fresh id for an empty
//! spool means the counter never has to be kept apart from the batches.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use picket_correlator::ConnectionEvent;

/// The spool of one delivery target.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    id: String,
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
            id: String::new(),
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
        let id_file = dir.join("id");
        let old = match fs::read_to_string(&id_file) {
            Ok(t) => Some(t.trim().to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        s.id = match old {
            Some(id) if s.next > 0 && is_id(&id) => id,
            _ => {
                let id = new_id()?;
                let tmp = dir.join(".id.tmp");
                let mut f = fs::File::create(&tmp)?;
                f.write_all(format!("{id}\n").as_bytes())?;
                f.sync_all()?;
                fs::rename(&tmp, &id_file)?;
                id
            }
        };
        Ok(s)
    }

    /// The spool's id (tags its batches with [`Spool::seq`]).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sequence number of a batch file.
    #[must_use]
    pub fn seq(path: &Path) -> Option<u64> {
        seq_of(path)
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

fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_id() -> io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
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
        let id = s.id().to_string();
        assert!(is_id(&id));
        assert!(s.store(&[ev(1), ev(2)]).expect("store"));
        assert!(s.store(&[ev(3)]).expect("store"));
        let big: Vec<_> = (0..100).map(ev).collect();
        assert!(!s.store(&big).expect("store"));
        assert_eq!(s.dropped, 100);
        let s2 = Spool::open(dir.path(), 1000).expect("reopen");
        assert_eq!(s2.id(), id, "batches pending: the same id");
        let p = s2.pending().expect("pending");
        assert_eq!(p.len(), 2);
        assert_eq!(Spool::seq(&p[1]), Some(1));
        assert_eq!(Spool::read(&p[0]).expect("read"), vec![ev(1), ev(2)]);
        let mut s2 = s2;
        s2.remove(&p[0]).expect("rm");
        assert!(s2.store(&[ev(4)]).expect("store"));
        let p = s2.pending().expect("pending");
        assert_eq!(p.len(), 2);
        assert_eq!(Spool::read(&p[1]).expect("read"), vec![ev(4)]);
        for p in s2.pending().expect("pending") {
            s2.remove(&p).expect("rm");
        }
        let s3 = Spool::open(dir.path(), 1000).expect("reopen empty");
        assert_ne!(s3.id(), id, "an empty spool gets a new id");
    }
}
