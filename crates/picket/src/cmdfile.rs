//! `PROCESS_FILE;path;delete` (Nagios 4.4.6 `process_external_commands_from_file()`):
//! read a file of external commands, one per line, process them in order, then delete
//! the file when asked. The engine asks for it with `Request::ProcessFile`.
//!
//! As in Nagios, the path is taken as given (relative to the daemon's working directory)
//! and anyone who may write to the command file may make the daemon read, and delete,
//! any file it can: protect the command file accordingly.
//!
//! Unlike Nagios (`fopen`), a FIFO is not read: without a writer it would block the
//! engine thread (it gets the same "Cannot open file" line as a missing file).
//!
//! The file's bytes are journaled before they are processed, as a record of their own
//! (`F`: replayed as file lines, not as command-file lines), so that a restart replays
//! them even when the file has been deleted (the `PROCESS_FILE` line itself does nothing
//! on replay).

use picket_engine::{Engine, Time};

use crate::retention::{Entry, Store};

/// Process the file now; errors go to `logbuf` as Nagios logs them. A journal write
/// that failed is returned (after the lines were processed all the same) for the caller
/// to report as it reports every journal error.
pub(crate) fn process_file(
    engine: &mut Engine,
    store: Option<&mut Store>,
    path: &str,
    delete: bool,
    now: Time,
    logbuf: &mut String,
) -> std::io::Result<()> {
    let data = match read_commands(path) {
        Ok(d) => d,
        Err(_) => {
            logbuf.push_str(&format!(
                "[{now}] Error: Cannot open file '{}' to process external commands!\n",
                picket_engine::output::log_safe(path)
            ));
            return Ok(());
        }
    };
    let entry = Entry::FileLines(&data);
    let journaled = match store {
        Some(s) => s.append(now, &entry).and_then(|()| s.flush()),
        None => Ok(()),
    };
    entry.apply(engine, now);
    if delete {
        if let Err(e) = std::fs::remove_file(path) {
            logbuf.push_str(&format!(
                "[{now}] Warning: Could not delete external command file '{}': {}\n",
                picket_engine::output::log_safe(path),
                picket_engine::output::log_safe(&e.to_string())
            ));
        }
    }
    journaled
}

/// The file's bytes, at most `MAX_CONFIG_FILE_BYTES`. Opened without blocking and
/// refused when it is a FIFO or a socket: a FIFO without a writer would hold the engine
/// thread until one came. Other files are read as Nagios reads them (`/dev/null` is an
/// empty command file, as in the oracle's `o_process_file`).
fn read_commands(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)?;
    let ft = file.metadata()?.file_type();
    if ft.is_fifo() || ft.is_socket() || ft.is_dir() {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    }
    let mut data = Vec::new();
    file.take(picket_config::MAX_CONFIG_FILE_BYTES)
        .read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn engine(dir: &Path) -> Engine {
        let obj = dir.join("objects.cfg");
        std::fs::write(
            &obj,
            "define command {\n command_name ok\n command_line /bin/true\n}\n\
             define contact {\n contact_name a\n service_notification_commands ok\n \
             host_notification_commands ok\n}\n\
             define host {\n host_name web01\n max_check_attempts 1\n contacts a\n}\n\
             define service {\n host_name web01\n service_description disk\n check_command ok\n \
             max_check_attempts 1\n}\n\
             define service {\n host_name web01\n service_description TCP wrappers\n \
             check_command ok\n max_check_attempts 1\n}\n",
        )
        .expect("objects");
        let main = dir.join("nagios.cfg");
        std::fs::write(
            &main,
            format!(
                "cfg_file={}\nlog_file={}/nagios.log\n",
                obj.display(),
                dir.display()
            ),
        )
        .expect("main");
        let loaded = picket_config::load(&main, &Default::default()).expect("load");
        assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
        let mut e = Engine::new(
            Arc::new(loaded.config),
            jiff::tz::TimeZone::UTC,
            Default::default(),
        );
        e.start(1_800_000_000);
        let _ = e.take_outputs();
        e
    }

    /// The same file as a manual run of real nagios4 (PROCESS_FILE on it), whose log
    /// lines are quoted here: good lines processed in order, a blank and a malformed
    /// line skipped silently, an unknown command with its Warning only, a failed one
    /// with its Error only (no "returned error" lines), the last line without newline.
    #[test]
    fn lines_are_processed_like_nagios_and_the_file_deleted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut e = engine(tmp.path());
        let file = tmp.path().join("cmds.txt");
        std::fs::write(
            &file,
            "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web01;disk;2;from file\n\n\
             [1700000000] NO_SUCH_THING;x\ngarbage line\n\
             [1700000000] ACKNOWLEDGE_SVC_PROBLEM;web01;nosuch;1;1;1;a;b\n\
             [1700000000] PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;1;last line no newline",
        )
        .expect("write");
        let now = 1_800_000_100;
        e.process_line(now, &format!("[{now}] PROCESS_FILE;{};1", file.display()));
        let out = e.take_outputs();
        let Some(picket_engine::Request::ProcessFile { path, delete }) =
            out.requests.first().cloned()
        else {
            panic!("no ProcessFile request: {out:?}");
        };
        assert!(delete);
        let mut logbuf = String::new();
        process_file(&mut e, None, &path, delete, now, &mut logbuf).expect("no journal");
        assert!(logbuf.is_empty(), "{logbuf}");
        assert!(!file.exists(), "deleted");
        let log = e.take_outputs().log;
        let lines: Vec<&str> = log
            .lines()
            .map(|l| l.split_once("] ").map_or(l, |x| x.1))
            .filter(|l| !l.starts_with("PASSIVE SERVICE CHECK"))
            .collect();
        assert_eq!(
            lines,
            [
                "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web01;disk;2;from file",
                "SERVICE ALERT: web01;disk;CRITICAL;HARD;1;from file",
                "SERVICE NOTIFICATION: a;web01;disk;CRITICAL;ok;from file",
                "Warning: Unrecognized external command -> NO_SUCH_THING;x",
                "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;nosuch;1;1;1;a;b",
                "Error: External command failed -> ACKNOWLEDGE_SVC_PROBLEM;web01;nosuch;1;1;1;a;b",
                "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;1;last line no newline",
                "SERVICE ALERT: web01;TCP wrappers;WARNING;HARD;1;last line no newline",
                "SERVICE NOTIFICATION: a;web01;TCP wrappers;WARNING;ok;last line no newline",
            ]
        );
    }

    #[test]
    fn unreadable_files_are_logged_and_kept_and_replay_asks_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut e = engine(tmp.path());
        let mut logbuf = String::new();
        process_file(&mut e, None, "/nonexistent/x", true, 7, &mut logbuf).expect("no journal");
        assert_eq!(
            logbuf,
            "[7] Error: Cannot open file '/nonexistent/x' to process external commands!\n"
        );
        let dir = tmp.path().display().to_string();
        logbuf.clear();
        process_file(&mut e, None, &dir, true, 8, &mut logbuf).expect("no journal");
        assert!(logbuf.contains("Cannot open file"), "{logbuf}");
        assert!(tmp.path().exists());
        // A FIFO is refused at once instead of blocking the engine thread until a writer
        // comes (the test would hang here).
        let fifo = tmp.path().join("commands.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        logbuf.clear();
        process_file(
            &mut e,
            None,
            &fifo.display().to_string(),
            true,
            8,
            &mut logbuf,
        )
        .expect("no journal");
        assert!(logbuf.contains("Cannot open file"), "{logbuf}");
        assert!(fifo.exists(), "a file that was not read is not deleted");
        // Replay (journal) never re-reads the file: the lines were journaled.
        e.set_replay(true);
        e.process_line(9, "[9] PROCESS_FILE;/tmp/x;1");
        assert!(e.take_outputs().requests.is_empty());
    }
}
