//! `nagios.log` rotation on disk. The engine decides when a rotation is due and what the
//! new file starts with (`picket_engine::logrotate`); this module does the file work as
//! Nagios' `rotate_log_file()` does: write what is pending to the old file, rename it to
//! `log_archive_path/nagios-MM-DD-YYYY-HH.log` (not when that archive already exists),
//! open a new file with the old one's permissions, and let the engine log the head of
//! the new file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use picket_engine::{Engine, Time};

/// Log lines kept in memory while `nagios.log` cannot be written, to be written when it
/// can again; past this the oldest pending lines are given up (and said so on stderr).
const LOG_PENDING_MAX: usize = 16 << 20;

/// Write the pending log lines. When the log cannot be written (disk full, read-only
/// file system), the error goes to stderr and `picket_errors_total{kind="log"}`, and
/// the lines not written stay in `buf` for the next write (up to [`LOG_PENDING_MAX`]).
pub(crate) fn write_log(log: &mut File, buf: &mut String, errors: &crate::report::Errors) {
    if buf.is_empty() {
        return;
    }
    let bytes = buf.as_bytes();
    let mut done = 0;
    let failed = loop {
        match log.write(&bytes[done..]) {
            Ok(0) => break Some(std::io::Error::from(std::io::ErrorKind::WriteZero)),
            Ok(n) => {
                done += n;
                if done == bytes.len() {
                    break None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e),
        }
    };
    let Some(e) = failed else {
        buf.clear();
        return;
    };
    while !buf.is_char_boundary(done) {
        done += 1;
    }
    buf.drain(..done);
    let mut lost = 0;
    if buf.len() > LOG_PENDING_MAX {
        // Give up the oldest whole lines.
        let cut = buf.len() - LOG_PENDING_MAX;
        let cut = buf[cut..].find('\n').map_or(buf.len(), |i| cut + i + 1);
        buf.drain(..cut);
        lost = cut;
    }
    errors.stderr_error(
        crate::report::Kind::Log,
        &format!(
            "cannot write the log file: {e}; {} bytes of log lines kept to write later{}",
            buf.len(),
            if lost > 0 {
                format!(", {lost} older bytes given up")
            } else {
                String::new()
            }
        ),
    );
}

/// Paths of the log and of its archive directory (absolute: the daemon may have changed
/// its working directory).
#[derive(Debug, Clone)]
pub(crate) struct Rotator {
    log_path: PathBuf,
    archive_dir: PathBuf,
}

impl Rotator {
    /// `log_archive_path` defaults to the log's directory, as Nagios' does.
    pub(crate) fn new(log_path: &Path, archive_dir: Option<&Path>) -> std::io::Result<Rotator> {
        let archive_dir = match archive_dir {
            Some(d) => std::path::absolute(d)?,
            None => log_path.parent().unwrap_or(Path::new("/")).to_owned(),
        };
        Ok(Rotator {
            log_path: std::path::absolute(log_path)?,
            archive_dir,
        })
    }

    /// Call after each `Engine::tick`, before draining the engine's outputs. When a
    /// rotation is due, the log produced so far goes to the old file, the file is
    /// archived and reopened, and the engine's head lines stay queued for the new file.
    /// Errors are logged to the new (or still the old) file; the daemon keeps running.
    /// A failed write of the old file's last lines is reported as every log write error
    /// ([`write_log`]); the lines then go to the new file.
    pub(crate) fn rotate_if_due(
        &self,
        engine: &mut Engine,
        log: &mut File,
        logbuf: &mut String,
        now: Time,
        errors: &crate::report::Errors,
    ) {
        let Some(rotation) = engine.log_rotation_due(now) else {
            return;
        };
        engine.drain_log_into(logbuf);
        write_log(log, logbuf, errors);
        let archive = self.archive_dir.join(&rotation.archive_file_name);
        let rotated = match self.rotate(log, &archive) {
            Ok(done) => done,
            Err(e) => {
                logbuf.push_str(&format!(
                    "[{now}] Error: could not rotate the log file to {}: {}\n",
                    picket_engine::output::log_safe(&archive.display().to_string()),
                    picket_engine::output::log_safe(&e.to_string())
                ));
                false
            }
        };
        engine.log_rotated(&rotation, now, rotated);
    }

    /// Rename and reopen; `Ok(false)` when the archive exists (Nagios' "HACK": never
    /// overwrite an archive).
    fn rotate(&self, log: &mut File, archive: &Path) -> std::io::Result<bool> {
        match std::fs::symlink_metadata(archive) {
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mode = std::fs::metadata(&self.log_path)
            .ok()
            .map(|m| m.permissions().mode());
        log.flush()?;
        std::fs::rename(&self.log_path, archive)?;
        let new = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        if let Some(mode) = mode {
            // Best effort, as Nagios' chmod().
            let _ = new.set_permissions(std::fs::Permissions::from_mode(mode));
        }
        *log = new;
        Ok(true)
    }
}

/// Wake the engine thread every `period` with `wake` (until it returns false), using
/// relative sleeps. The engine loop's `recv_timeout` waits on an absolute
/// `CLOCK_MONOTONIC` deadline (std's futex), which never comes when the monotonic clock
/// is shifted, as libfaketime does for the oracle's log-rotation scenario; time-driven
/// work (rotation, downtime start and end) must not depend on it.
pub(crate) fn spawn_ticker(
    period: std::time::Duration,
    wake: impl Fn() -> bool + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("picket-ticker".into())
        .spawn(move || {
            loop {
                std::thread::sleep(period);
                if !wake() {
                    return;
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::Arc;

    fn errors() -> crate::report::Errors {
        crate::report::Errors::new(Arc::new(picket_web::Metrics::new()))
    }

    fn engine(dir: &Path, method: char) -> Engine {
        let obj = dir.join("objects.cfg");
        std::fs::write(
            &obj,
            "define command {\n command_name ok\n command_line /bin/true\n}\n\
             define contact {\n contact_name a\n service_notification_commands ok\n \
             host_notification_commands ok\n}\n\
             define host {\n host_name h\n max_check_attempts 1\n contacts a\n}\n\
             define service {\n host_name h\n service_description s\n check_command ok\n \
             max_check_attempts 1\n}\n",
        )
        .expect("objects");
        let main = dir.join("nagios.cfg");
        std::fs::write(
            &main,
            format!(
                "cfg_file={}\nlog_file={}/nagios.log\nlog_rotation_method={method}\n",
                obj.display(),
                dir.display()
            ),
        )
        .expect("main");
        let loaded = picket_config::load(&main, &Default::default()).expect("load");
        assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
        Engine::new(
            Arc::new(loaded.config),
            jiff::tz::TimeZone::UTC,
            Default::default(),
        )
    }

    fn read(p: &Path) -> String {
        let mut s = String::new();
        File::open(p)
            .and_then(|mut f| f.read_to_string(&mut s))
            .expect("read");
        s
    }

    #[test]
    fn rotation_archives_the_old_file_and_starts_a_new_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let archive_dir = dir.join("archives");
        std::fs::create_dir(&archive_dir).expect("mkdir");
        let log_path = dir.join("nagios.log");
        let mut e = engine(dir, 'h');
        // 2027-01-15 08:59:50 UTC.
        let t0: Time = 1_800_003_590;
        e.start(t0);
        let mut logbuf = String::new();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open");
        std::fs::set_permissions(&log_path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let r = Rotator::new(&log_path, Some(&archive_dir)).expect("rotator");
        e.process_line(t0 + 1, &format!("[{}] DISABLE_NOTIFICATIONS", t0 + 1));
        r.rotate_if_due(&mut e, &mut log, &mut logbuf, t0 + 5, &errors());
        assert!(logbuf.is_empty());
        let boundary = t0 + 10;
        assert_eq!(e.next_log_rotation(), Some(boundary));
        // Due: the pending EXTERNAL COMMAND line goes to the old file first.
        r.rotate_if_due(&mut e, &mut log, &mut logbuf, boundary + 1, &errors());
        let archived = archive_dir.join("nagios-01-15-2027-09.log");
        let old = read(&archived);
        assert!(
            old.contains("EXTERNAL COMMAND: DISABLE_NOTIFICATIONS;"),
            "{old}"
        );
        assert!(!old.contains("LOG ROTATION"), "{old}");
        e.drain_log_into(&mut logbuf);
        log.write_all(logbuf.as_bytes()).expect("write");
        logbuf.clear();
        let new = read(&log_path);
        assert!(
            new.starts_with(&format!(
                "[{boundary}] LOG ROTATION: HOURLY\n[{boundary}] LOG VERSION: 2.0\n\
                 [{boundary}] CURRENT HOST STATE: h;UP;HARD;1;"
            )),
            "{new}"
        );
        let mode = std::fs::metadata(&log_path)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(e.next_log_rotation(), Some(boundary + 3600));

        // The next archive exists already: no rename, no head lines, next hour scheduled.
        let next = boundary + 3600;
        std::fs::write(archive_dir.join("nagios-01-15-2027-10.log"), "keep\n").expect("w");
        r.rotate_if_due(&mut e, &mut log, &mut logbuf, next, &errors());
        e.drain_log_into(&mut logbuf);
        assert!(!logbuf.contains("LOG ROTATION"), "{logbuf}");
        assert_eq!(
            read(&archive_dir.join("nagios-01-15-2027-10.log")),
            "keep\n"
        );
        assert_eq!(e.next_log_rotation(), Some(next + 3600));
    }

    #[test]
    fn a_missing_archive_dir_is_reported_in_the_log() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let log_path = dir.join("nagios.log");
        let mut e = engine(dir, 'h');
        let t0: Time = 1_800_003_590;
        e.start(t0);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open");
        let r = Rotator::new(&log_path, Some(&dir.join("missing"))).expect("rotator");
        let mut logbuf = String::new();
        r.rotate_if_due(&mut e, &mut log, &mut logbuf, t0 + 10, &errors());
        assert!(
            logbuf.contains("Error: could not rotate the log file to"),
            "{logbuf}"
        );
        assert!(log_path.exists());
        assert_eq!(e.next_log_rotation(), Some(t0 + 10 + 3600));
    }
}
