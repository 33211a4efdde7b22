//! The journal source with a real journal file: entries in the journal export format are
//! written into a journal file by Debian's `systemd-journal-remote`, `picket-sensor
//! --journal-file` reads it through Debian's `journalctl` and delivers to `picket`.
//!
//! (No `systemd-journald` runs where the tests run, so the system journal itself is not
//! used: `--journal-file` is the same code path with `journalctl --file`.)
//!
//! Checked: the events carry the entries' own times, the saved cursor makes a second run
//! deliver nothing again, and entries appended to the file later are delivered by a third.
//! Without `systemd-journal-remote` the test skips; under CI it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use picket_e2e::{Example, Nsca, bin, wait_for};

const REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// Entries in the journal export format (`journalctl -o export`'s).
fn export(entries: &[(i64, &str, u32, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (time, ident, pid, msg)) in entries.iter().enumerate() {
        let us = time * 1_000_000;
        out.extend_from_slice(
            format!(
                "__REALTIME_TIMESTAMP={us}\n__MONOTONIC_TIMESTAMP={}\n\
                 _BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=web2\n\
                 SYSLOG_IDENTIFIER={ident}\n_PID={pid}\nPRIORITY=6\nMESSAGE={msg}\n\n",
                1_000_000 + i
            )
            .as_bytes(),
        );
    }
    out
}

/// Writes `entries` into the journal file `out` (created or appended to).
fn journal_remote(remote: &Path, out: &Path, entries: &[(i64, &str, u32, &str)]) {
    let mut c = Command::new(remote)
        .arg(format!("--output={}", out.display()))
        .arg("--split-mode=none")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start systemd-journal-remote");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(&export(entries))
        .expect("write the export stream");
    let out = c.wait_with_output().expect("systemd-journal-remote");
    assert!(
        out.status.success(),
        "systemd-journal-remote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sensor_once(ex: &Example, journal: &Path) {
    let d = ex.dir.path();
    let out = Command::new(bin("picket-sensor"))
        .arg("--server")
        .arg(format!("http://{}", ex.web))
        .arg("--token-file")
        .arg(d.join("web.token"))
        .args(["--host-name", "web2", "--once", "--journal-file"])
        .arg(journal)
        .arg("--state-file")
        .arg(d.join("sensor-state.json"))
        .arg("--spool-dir")
        .arg(d.join("sensor-spool"))
        .output()
        .expect("run picket-sensor");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn metric(ex: &Example, name: &str) -> u64 {
    let (_, body) = picket_e2e::http_get(ex.web, "/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn journal_entries_reach_picket_with_their_times_once() {
    if !Path::new(REMOTE).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{REMOTE} is missing: CI must install systemd-journal-remote"
        );
        eprintln!("SKIP: {REMOTE} not installed: apt-get install -y systemd-journal-remote");
        return;
    }
    let ex = Example::with_detection(Nsca::BuiltIn, "2s");
    let _picket = ex.start_picket();
    let d = ex.dir.path();
    wait_for("web.token", 20, || d.join("web.token").exists());
    // A file name journalctl --file accepts must end in .journal.
    let journal: PathBuf = d.join("remote-web2.journal");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs() as i64);
    let (t1, t2, t3) = (now - 120, now - 60, now - 30);
    journal_remote(
        Path::new(REMOTE),
        &journal,
        &[
            (
                t1,
                "sshd",
                700,
                "Invalid user admin from 198.51.100.7 port 50000",
            ),
            (
                t1,
                "CRON",
                701,
                "pam_unix(cron:session): session opened for user root",
            ),
            (
                t2,
                "sshd-session",
                702,
                "Failed password for root from 198.51.100.7 port 50001 ssh2",
            ),
        ],
    );

    let events = || -> Vec<String> {
        ex.file("var/picket.log")
            .lines()
            .filter_map(|l| {
                l.split_once("CONNECTION EVENT: ")
                    .map(|(_, r)| r.to_string())
            })
            .filter(|r| r.contains(";web2;198.51.100.7;"))
            .collect()
    };
    sensor_once(&ex, &journal);
    wait_for("2 events", 30, || events().len() >= 2);
    let e = events();
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with(&format!("{t1};web2;198.51.100.7;-;-;sshd;auth_fail;1;")),
        "{e:#?}"
    );
    assert!(
        e[1].starts_with(&format!(
            "{t2};web2;198.51.100.7;-;-;sshd-session;auth_fail;1;"
        )),
        "{e:#?}"
    );

    // Again: the cursor was saved, nothing is read twice.
    sensor_once(&ex, &journal);
    let state = std::fs::read_to_string(d.join("sensor-state.json")).expect("state");
    assert!(state.contains("\"journal_cursor\": \""), "{state}");
    // Then a new entry in the same file: only it is delivered.
    journal_remote(
        Path::new(REMOTE),
        &journal,
        &[(
            t3,
            "sshd",
            703,
            "Invalid user oracle from 198.51.100.7 port 50002",
        )],
    );
    sensor_once(&ex, &journal);
    wait_for("the third event", 30, || events().len() >= 3);
    // A journal entry read twice would have reached the correlator no later than the third
    // one (each run delivers in order and exits once acknowledged): once its counters show
    // three events taken, a fourth would show too.
    wait_for("the correlator's counters", 30, || {
        metric(&ex, "picket_correlator_events_total") >= 3
            && metric(&ex, "picket_correlator_held") == 0
    });
    assert_eq!(
        metric(&ex, "picket_correlator_events_total"),
        3,
        "each journal entry given to the correlator once"
    );
    let e = events();
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e[2].starts_with(&format!("{t3};web2;")), "{e:#?}");
}
