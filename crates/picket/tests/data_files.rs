//! The files the daemon writes (`log_file`, `state_retention_file`, `status_file`,
//! `history_file`): a FIFO or a directory in their place stops `picket` at once with
//! the key, the path and what it is, and `picket -v` says the same; a character device
//! (`/dev/null`) is still a log file, and so is a FIFO that something reads (as
//! `/dev/stdout` under a container runtime), while one nobody reads is refused. Before,
//! a FIFO as `log_file` hung the start with no word said.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::Daemon;

const OBJECTS: &str = "define command {\n command_name ok\n command_line /bin/true\n}\n\
    define contact {\n contact_name a\n service_notification_commands ok\n \
    host_notification_commands ok\n}\n\
    define host {\n host_name h\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
    define service {\n host_name h\n service_description s\n check_command ok\n \
    max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n";

fn config(d: &Path, log: &Path, extra: &str) -> std::path::PathBuf {
    std::fs::write(d.join("objects.cfg"), OBJECTS).expect("objects");
    let cfg = d.join("picket.cfg");
    std::fs::write(
        &cfg,
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\nlog_file={1}\n{extra}",
            d.display(),
            log.display()
        ),
    )
    .expect("picket.cfg");
    cfg
}

/// Starts `picket cfg`, its standard error to `err`.
fn start(cfg: &Path, err: &Path) -> Daemon {
    Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(err).expect("err"))
            .spawn()
            .expect("picket"),
    )
}

/// Runs `picket cfg` until it exits (at most 20 s); its exit code and standard error.
fn run(cfg: &Path) -> (Option<i32>, String) {
    let err = cfg.with_extension("err");
    let mut d = start(cfg, &err);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = d.0.try_wait().expect("wait") {
            return (st.code(), std::fs::read_to_string(&err).unwrap_or_default());
        }
        if Instant::now() > deadline {
            return (None, std::fs::read_to_string(&err).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
}

#[test]
fn a_fifo_or_a_directory_in_place_of_a_data_file_is_refused_by_name() {
    for key in [
        "log_file",
        "state_retention_file",
        "status_file",
        "history_file",
    ] {
        for kind in ["FIFO", "directory"] {
            let log_fifo = key == "log_file" && kind == "FIFO";
            let dir = tempfile::tempdir().expect("tempdir");
            let d = dir.path();
            let bad = d.join(format!("{key}.bad"));
            if kind == "FIFO" {
                mkfifo(&bad);
            } else {
                std::fs::create_dir(&bad).expect("dir");
            }
            let log = if key == "log_file" {
                bad.clone()
            } else {
                d.join("nagios.log")
            };
            let extra = match key {
                "log_file" => String::new(),
                "state_retention_file" => format!(
                    "retain_state_information=1\nstate_retention_file={}\n",
                    bad.display()
                ),
                other => format!("{other}={}\n", bad.display()),
            };
            let cfg = config(d, &log, &extra);
            let want = if log_fifo {
                format!(
                    "log_file {}: a FIFO that nobody reads (opening it would block the start)",
                    bad.display()
                )
            } else {
                format!(
                    "{key} {}: not a regular file (it is a {kind})",
                    bad.display()
                )
            };
            let (code, err) = run(&cfg);
            assert_eq!(code, Some(1), "{key} as a {kind}: {err}");
            assert!(err.contains(&want), "{key} as a {kind}: {err}");
            if log_fifo {
                let v = Command::new(env!("CARGO_BIN_EXE_picket"))
                    .arg("-v")
                    .arg(&cfg)
                    .output()
                    .expect("picket -v");
                let out = String::from_utf8_lossy(&v.stdout);
                assert!(
                    out.contains(&format!("Warning: log_file {} is a FIFO", bad.display())),
                    "{out}"
                );
                continue;
            }
            let v = Command::new(env!("CARGO_BIN_EXE_picket"))
                .arg("-v")
                .arg(&cfg)
                .stdin(Stdio::null())
                .output()
                .expect("picket -v");
            let out = String::from_utf8_lossy(&v.stdout);
            assert!(!v.status.success(), "{key} as a {kind}: {out}");
            assert!(
                out.contains(&format!("Error: {want}")),
                "{key} as a {kind}: {out}"
            );
        }
    }
}

#[test]
fn dev_null_is_still_a_log_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), Path::new("/dev/null"), "");
    let err = cfg.with_extension("err");
    let mut d = start(&cfg, &err);
    support::wait_for("the command FIFO", 20, || {
        if let Some(st) = d.0.try_wait().expect("wait") {
            panic!(
                "picket exited ({st}): {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        dir.path().join("nagios.cmd").exists()
    });
}

#[test]
fn a_fifo_that_is_read_is_a_log_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("log.fifo");
    mkfifo(&fifo);
    let cfg = config(dir.path(), &fifo, "");
    // The reader, as a container runtime reads a process's standard output. Its open
    // waits for a writer (the daemon), so it is taken in its own thread.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut f = std::fs::File::open(&fifo).expect("open for reading");
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("LOG VERSION: 2.0") {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        })
    };
    let err = cfg.with_extension("err");
    // The daemon's non-blocking open finds a reader only once the reader thread waits
    // in its open: a refusal before that ("nobody reads") is retried.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut d = loop {
        std::thread::sleep(Duration::from_millis(50));
        let mut d = start(&cfg, &err);
        std::thread::sleep(Duration::from_millis(200));
        match d.0.try_wait().expect("wait") {
            None => break d,
            Some(_) => {
                let text = std::fs::read_to_string(&err).unwrap_or_default();
                assert!(text.contains("a FIFO that nobody reads"), "{text}");
                assert!(Instant::now() < deadline, "{text}");
            }
        }
    };
    while !reader.is_finished() {
        if let Some(st) = d.0.try_wait().expect("wait") {
            panic!(
                "picket exited ({st}): {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no LOG VERSION line through the FIFO"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = reader.join().expect("reader");
    assert!(log.contains("LOG VERSION: 2.0"), "{log}");
}
