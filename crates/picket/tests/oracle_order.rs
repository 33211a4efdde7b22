//! The order of the `… NOTIFICATION:` and `… EVENT HANDLER:` lines within each step, which
//! `--relaxed` does not check (it sorts a step's log lines): for the scenarios below,
//! recorded from real nagios4, Picket's lines must come in the order Nagios logged them
//! (contacts, each contact's notification commands last to first, as
//! `add_*_notification_command_to_contact()` prepends them; the global event handler
//! before the object's). Likewise the start-up warnings about deprecated directives, which
//! `--relaxed` drops: Picket must give one, in nagios4's words after its own `file:line`,
//! for each `WARNING: The … attribute is deprecated …` line nagios4 logged, in its order.
//!
//! Requirements as in `oracle.rs`: the test fails when they are missing and `CI` is set,
//! and otherwise skips with a loud message.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Scenarios whose notification order is checked.
const SCENARIOS: [&str; 4] = [
    "zb_dependency_none_command_order",
    "f_contacts_groups",
    "t_notification_recipients_order",
    "p_event_handlers",
];

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/nagios")
}

fn missing_requirements() -> Option<String> {
    let harness = harness_dir().join("run_scenario.sh");
    if !harness.exists() {
        return Some(format!("{} missing", harness.display()));
    }
    if !Path::new("/usr/sbin/nagios4").exists() {
        return Some("/usr/sbin/nagios4 missing: apt-get install -y nagios4-core".into());
    }
    if !Path::new("/usr/bin/python3").exists() {
        return Some("python3 missing".into());
    }
    None
}

/// Per step block (`== [n] …`), its `NOTIFICATION:` and `EVENT HANDLER:` log lines in
/// order.
fn notification_order(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("== ") {
            out.push((line.to_owned(), Vec::new()));
        } else if let Some(l) = line.strip_prefix("LOG ") {
            if l.contains(" NOTIFICATION: ") || l.contains(" EVENT HANDLER: ") {
                if let Some(block) = out.last_mut() {
                    block.1.push(l.to_owned());
                }
            }
        }
    }
    out
}

#[test]
fn notification_and_handler_lines_come_in_nagios_order() {
    if let Some(why) = missing_requirements() {
        if std::env::var_os("CI").is_some() {
            panic!("oracle requirements missing in CI: {why}");
        }
        eprintln!("SKIPPED (not in CI): oracle requirements missing: {why}");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for name in SCENARIOS {
        let own = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/oracle-scenarios")
            .join(name);
        let dir = own;
        let expected =
            std::fs::read_to_string(dir.join("expected.txt")).expect("recorded expected.txt");
        let out = Command::new("sh")
            .arg(harness_dir().join("run_scenario.sh"))
            .arg(&dir)
            .args(["--engine", env!("CARGO_BIN_EXE_picket")])
            .env("ORACLE_TMP", tmp.path())
            .output()
            .expect("run run_scenario.sh");
        assert!(
            out.status.success(),
            "{name}: harness failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = notification_order(&expected);
        let got = notification_order(&String::from_utf8_lossy(&out.stdout));
        assert!(
            want.iter().map(|b| b.1.len()).sum::<usize>() > 0,
            "{name}: no notification in the recording"
        );
        if want != got {
            failures.push(format!("{name}:\n  nagios4 {want:#?}\n  picket  {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// nagios4's `WARNING: The X attribute is deprecated …` start-up lines, without the
/// prefix; Picket's `Warning: FILE:LINE: The X attribute is deprecated …` lines, likewise.
fn deprecation_warnings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("== [") {
            break;
        }
        let Some(l) = line.strip_prefix("LOG ") else {
            continue;
        };
        let msg = if let Some(m) = l.strip_prefix("WARNING: ") {
            m
        } else if let Some(rest) = l.strip_prefix("Warning: ") {
            // after `FILE:LINE: `
            match rest.find(": The ") {
                Some(i) => &rest[i + 2..],
                None => continue,
            }
        } else {
            continue;
        };
        if msg.contains(" attribute is deprecated ") {
            out.push(msg.to_owned());
        }
    }
    out
}

#[test]
fn deprecated_directives_are_warned_about_at_start_up() {
    if let Some(why) = missing_requirements() {
        if std::env::var_os("CI").is_some() {
            panic!("oracle requirements missing in CI: {why}");
        }
        eprintln!("SKIPPED (not in CI): oracle requirements missing: {why}");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle-scenarios/zc_deprecated_directives");
    let expected =
        std::fs::read_to_string(dir.join("expected.txt")).expect("recorded expected.txt");
    let out = Command::new("sh")
        .arg(harness_dir().join("run_scenario.sh"))
        .arg(&dir)
        .args(["--engine", env!("CARGO_BIN_EXE_picket")])
        .env("ORACLE_TMP", tmp.path())
        .output()
        .expect("run run_scenario.sh");
    assert!(
        out.status.success(),
        "harness failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = deprecation_warnings(&expected);
    assert_eq!(want.len(), 7, "the recording: {want:#?}");
    let got = deprecation_warnings(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got, want);
}
