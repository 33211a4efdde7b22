//! The state file (edge): where each source was read up to, so a restart neither repeats
//! nor skips. JSON, written to a temporary name, synced and renamed (a crash leaves the old
//! or the new state, never half of one).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::follow::Position;

/// What is persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Followed files by path.
    #[serde(default)]
    pub files: BTreeMap<String, Position>,
    /// The journal cursor of the last entry handed on.
    #[serde(default)]
    pub journal_cursor: Option<String>,
    /// The `/dev/kmsg` sequence number of the last record handed on, with the boot it
    /// belongs to (`/proc/sys/kernel/random/boot_id`).
    #[serde(default)]
    pub kmsg: Option<(String, u64)>,
}

impl State {
    /// Loads `path`; a missing file is the empty state, a malformed one an error naming it.
    pub fn load(path: &Path) -> anyhow::Result<State> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| anyhow::anyhow!("state file {}: {e}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(anyhow::anyhow!("state file {}: {e}", path.display())),
        }
    }

    /// Saves atomically.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let data = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}
