//! `check_result_path`: check-result files dropped by agents (NRDP's PHP
//! server, `nsca` with `check_result_path`, scripts) are read as Nagios 4
//! reads its spool (`process_check_result_queue`): every
//! `check_result_reaper_frequency` seconds, the files named `c` plus six
//! characters that have a `<name>.ok` marker are parsed
//! (`picket_nsca_proto::command::read_checkresults`, the owner of the format),
//! handed to the engine as the equivalent external commands (journaled like
//! command-file lines), then deleted with their marker. Files older than
//! `max_check_result_file_age` (by `file_time`, else their mtime) are
//! deleted unread; what is not a regular file is left alone; every problem
//! is a `nagios.log` warning. Results go to the engine as passive results
//! whatever their `check_type`. A missing directory is created.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::input::Input;

/// A file bigger than this is refused (deleted with a warning).
const MAX_FILE: u64 = 1 << 20;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn warn(msg: &str) {
    tracing::warn!(target: "checkresults", "{}", picket_engine::output::log_safe(msg));
}

/// Starts the reaper thread.
pub(crate) fn start(
    dir: PathBuf,
    every: Duration,
    max_age: u64,
    tx: SyncSender<Input>,
) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("picket-checkresults".into())
        .spawn(move || {
            // Nagios 4 wants the directory to exist; Picket makes it (a failure
            // is reported by the first pass).
            let _ = std::fs::create_dir_all(&dir);
            let mut warned = false;
            loop {
                match reap(&dir, max_age, &tx) {
                    Ok(_) => warned = false,
                    Err(Reap::Gone) => return,
                    Err(Reap::Dir(e)) => {
                        if !warned {
                            warn(&format!("check_result_path {}: {e}", dir.display()));
                            warned = true;
                        }
                    }
                }
                std::thread::sleep(every);
            }
        })?;
    Ok(())
}

enum Reap {
    /// The engine is gone: stop.
    Gone,
    /// The directory cannot be read.
    Dir(std::io::Error),
}

/// One pass over `dir`; returns the results handed on.
fn reap(dir: &Path, max_age: u64, tx: &SyncSender<Input>) -> Result<usize, Reap> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(Reap::Dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.len() == 7 && n.starts_with('c'))
        .collect();
    names.sort();
    let mut handed = 0;
    for name in names {
        let file = dir.join(&name);
        let ok = dir.join(format!("{name}.ok"));
        if !ok.exists() {
            continue;
        }
        let meta = match std::fs::symlink_metadata(&file) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if !meta.is_file() {
            warn(&format!(
                "check result {} is not a regular file; left alone",
                file.display()
            ));
            continue;
        }
        let remove = || {
            let _ = std::fs::remove_file(&file);
            let _ = std::fs::remove_file(&ok);
        };
        if meta.len() > MAX_FILE {
            warn(&format!(
                "check result {} is over {MAX_FILE} bytes; deleted unread",
                file.display()
            ));
            remove();
            continue;
        }
        let data = match std::fs::read(&file) {
            Ok(d) => d,
            Err(e) => {
                warn(&format!("check result {}: {e}", file.display()));
                continue;
            }
        };
        let t = now();
        let (file_time, results) = picket_nsca_proto::command::read_checkresults(&data);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0));
        let age = t.saturating_sub(file_time.or(mtime).unwrap_or(t));
        if max_age > 0 && age > i64::try_from(max_age).unwrap_or(i64::MAX) {
            warn(&format!(
                "check result {} is {age} s old (max_check_result_file_age={max_age}); deleted unread",
                file.display()
            ));
            remove();
            continue;
        }
        let mut lines = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match r.command_line(t) {
                Ok(l) => {
                    lines.extend_from_slice(&l);
                    handed += 1;
                }
                Err(e) => warn(&format!(
                    "check result {} (result {}): {e}; skipped",
                    file.display(),
                    i + 1
                )),
            }
        }
        if !lines.is_empty() && tx.send(Input::Lines(lines)).is_err() {
            return Err(Reap::Gone);
        }
        // Deleted only once the engine's channel has it (journaled there).
        remove();
    }
    Ok(handed)
}
