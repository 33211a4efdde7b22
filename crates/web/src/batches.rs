//! Once-only delivery of sensor batches (contract C2's optional `batch`).
//!
//! A sender that retries (`picket-sensor` replaying its spool) may resend a batch the server
//! took but whose `202` never reached it (the server stopped, the connection broke). Such a
//! sender tags each request `"batch": {"sensor": ID, "seq": N}`: `ID` names one spool (a
//! random id the sensor picks when it opens an empty spool), `N` increases with every
//! batch of that spool, and batches are sent one at a time, oldest first. The server keeps,
//! per `ID`, the highest `N` it took; a request whose `N` is not above it is a resend,
//! answered `202 {"accepted": 0, "duplicate": true}` without handing its events on.
//!
//! The table is saved (written to a temporary name, synced, renamed) after each batch is
//! handed to the engine and before the `202` is sent, so it survives a restart. What is
//! still not exactly once: a crash between the hand-over and the save (the resend is then
//! taken again), and, as before, events handed over but not yet processed when the daemon
//! dies. At most [`MAX_SENSORS`] ids are kept; the least recently used is forgotten first.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Sensor ids remembered.
pub const MAX_SENSORS: usize = 4096;

/// A batch tag: the sender's spool id and the batch's sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchId {
    /// 1 to 64 characters of `[A-Za-z0-9_-]`.
    pub sensor: String,
    /// Increases with each batch of `sensor`.
    pub seq: u64,
}

impl BatchId {
    /// Reads the `batch` member of a request: `Err` names what is wrong.
    pub fn from_json(v: &serde_json::Value) -> Result<BatchId, String> {
        let sensor = v
            .get("sensor")
            .and_then(serde_json::Value::as_str)
            .ok_or("expected {\"sensor\": \"ID\", \"seq\": N}")?;
        if sensor.is_empty()
            || sensor.len() > 64
            || !sensor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("sensor: 1 to 64 letters, digits, - or _".into());
        }
        let seq = v
            .get("seq")
            .and_then(serde_json::Value::as_u64)
            .ok_or("seq: expected a non-negative integer")?;
        Ok(BatchId {
            sensor: sensor.to_string(),
            seq,
        })
    }
}

/// The highest sequence number taken per sensor id.
#[derive(Debug, Default)]
pub struct Batches {
    path: Option<PathBuf>,
    /// id → (highest seq taken, use stamp).
    last: HashMap<String, (u64, u64)>,
    stamp: u64,
}

impl Batches {
    /// The table saved at `path` (missing: empty); `None`: kept in memory only.
    pub fn open(path: Option<&Path>) -> io::Result<Batches> {
        let mut b = Batches {
            path: path.map(Path::to_path_buf),
            ..Batches::default()
        };
        if let Some(p) = path {
            match std::fs::read(p) {
                Ok(data) => {
                    b.last = serde_json::from_slice(&data).map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", p.display()))
                    })?;
                    b.stamp = b.last.values().map(|&(_, s)| s).max().unwrap_or(0);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", p.display()))),
            }
        }
        Ok(b)
    }

    /// Whether `id` was taken already.
    #[must_use]
    pub fn is_duplicate(&self, id: &BatchId) -> bool {
        self.last
            .get(&id.sensor)
            .is_some_and(|&(seq, _)| id.seq <= seq)
    }

    /// `id` was taken: remember it and save the table.
    pub fn record(&mut self, id: &BatchId) -> io::Result<()> {
        self.stamp += 1;
        self.last.insert(id.sensor.clone(), (id.seq, self.stamp));
        if self.last.len() > MAX_SENSORS {
            if let Some(oldest) = self
                .last
                .iter()
                .min_by_key(|&(_, &(_, s))| s)
                .map(|(k, _)| k.clone())
            {
                self.last.remove(&oldest);
            }
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        let data = serde_json::to_vec(&self.last).map_err(io::Error::other)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str, seq: u64) -> BatchId {
        BatchId {
            sensor: s.into(),
            seq,
        }
    }

    #[test]
    fn resends_are_duplicates_across_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("batches.json");
        let mut b = Batches::open(Some(&path)).expect("open");
        assert!(!b.is_duplicate(&id("a", 0)));
        b.record(&id("a", 0)).expect("record");
        b.record(&id("a", 5)).expect("record");
        assert!(b.is_duplicate(&id("a", 5)));
        assert!(b.is_duplicate(&id("a", 3)));
        assert!(!b.is_duplicate(&id("a", 6)));
        assert!(!b.is_duplicate(&id("b", 0)));
        let b = Batches::open(Some(&path)).expect("reopen");
        assert!(b.is_duplicate(&id("a", 5)));
        assert!(!b.is_duplicate(&id("a", 6)));
    }

    #[test]
    fn bounded() {
        let mut b = Batches::open(None).expect("open");
        for i in 0..=MAX_SENSORS {
            b.record(&id(&format!("s{i}"), 1)).expect("record");
        }
        assert_eq!(b.last.len(), MAX_SENSORS);
        assert!(!b.is_duplicate(&id("s0", 1)), "the oldest is forgotten");
        assert!(b.is_duplicate(&id(&format!("s{MAX_SENSORS}"), 1)));
    }

    #[test]
    fn tags_are_checked() {
        let ok = serde_json::json!({"sensor": "ab-1_C", "seq": 7});
        assert_eq!(BatchId::from_json(&ok), Ok(id("ab-1_C", 7)));
        for bad in [
            serde_json::json!({"seq": 1}),
            serde_json::json!({"sensor": "", "seq": 1}),
            serde_json::json!({"sensor": "a b", "seq": 1}),
            serde_json::json!({"sensor": "a", "seq": -1}),
            serde_json::json!({"sensor": "a"}),
        ] {
            assert!(BatchId::from_json(&bad).is_err(), "{bad}");
        }
    }
}
