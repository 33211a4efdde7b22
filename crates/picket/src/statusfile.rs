//! `status.dat` and `objects.cache` on disk (the text is rendered by
//! `picket_engine::statusfile`).
//!
//! `status.dat` is written every `status_update_interval` seconds and on
//! `SAVE_STATE_INFORMATION`: the engine thread only copies the state
//! (`Engine::status_snapshot`) and hands it to a writer thread, which renders it, writes
//! a temporary file beside the target, `fsync`s it and renames it over the old one (as
//! Nagios does), so a reader never sees half a file. While the writer is still busy with
//! the previous one, the copy is not taken: the next interval tries again. Errors are
//! counted (`picket_errors_total{kind="status"}`) and reported in `nagios.log`. At
//! shutdown the file is removed, as Nagios removes it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use picket_engine::statusfile::{ProcessInfo, StatusSnapshot, render_status_dat};
use picket_engine::{Engine, Time};

use crate::input::Input;
use crate::report::{Errors, Kind};

/// Write `text` to `path` atomically: a temporary file in the same directory, mode 0664
/// (Nagios' `fchmod`), `fsync`, rename.
pub(crate) fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.picket-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o664)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o664))?;
        f.write_all(text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The `status.dat` writer: owned by the engine thread.
pub(crate) struct StatusWriter {
    path: PathBuf,
    interval: Time,
    last: Option<Time>,
    info: ProcessInfo,
    tx: Option<SyncSender<(StatusSnapshot, ProcessInfo)>>,
    busy: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StatusWriter {
    /// Start the writer thread for `path`.
    pub(crate) fn start(
        path: PathBuf,
        interval_secs: u32,
        daemon_mode: bool,
        input: SyncSender<Input>,
        errors: Errors,
    ) -> anyhow::Result<StatusWriter> {
        let (tx, rx) = sync_channel::<(StatusSnapshot, ProcessInfo)>(1);
        let p = path.clone();
        let busy = Arc::new(AtomicBool::new(false));
        let b = Arc::clone(&busy);
        let thread = std::thread::Builder::new()
            .name("picket-status".into())
            .spawn(move || writer(&p, &rx, &b, &input, &errors))?;
        Ok(StatusWriter {
            path,
            interval: Time::from(interval_secs.max(1)),
            last: None,
            info: ProcessInfo {
                pid: std::process::id(),
                daemon_mode,
                last_log_rotation: 0,
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            tx: Some(tx),
            busy,
            thread: Some(thread),
        })
    }

    /// Whether the interval has passed since the last write.
    pub(crate) fn due(&self, now: Time) -> bool {
        self.last
            .is_none_or(|l| now - l >= self.interval || now < l)
    }

    /// Copy the state and hand it to the writer, unless it is still busy with the last
    /// one (then the next call tries again).
    pub(crate) fn write(&mut self, engine: &Engine, now: Time) {
        let Some(tx) = &self.tx else { return };
        if self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let snap = engine.status_snapshot(now);
        match tx.try_send((snap, self.info.clone())) {
            Ok(()) => self.last = Some(now),
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => self.tx = None,
        }
    }

    /// Note a log rotation (`last_log_rotation`).
    pub(crate) fn rotated(&mut self, now: Time) {
        self.info.last_log_rotation = now;
    }

    /// Stop the writer (after the one it is writing) and remove the file, as Nagios does.
    pub(crate) fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!(
                    "picket: cannot remove the status file {}: {e}",
                    self.path.display()
                );
            }
        }
    }
}

fn writer(
    path: &Path,
    rx: &Receiver<(StatusSnapshot, ProcessInfo)>,
    busy: &AtomicBool,
    input: &SyncSender<Input>,
    errors: &Errors,
) {
    while let Ok((snap, info)) = rx.recv() {
        let text = render_status_dat(&snap, &info);
        drop(snap);
        if let Err(e) = write_atomically(path, text.as_bytes()) {
            let msg = format!("could not write the status file {}: {e}", path.display());
            if let Some(text) = errors.note(Kind::Status, &msg) {
                if input
                    .try_send(Input::Log(format!("Error: {text}")))
                    .is_err()
                {
                    eprintln!("picket: Error: {text}");
                }
            }
        }
        busy.store(false, Ordering::Release);
    }
}
