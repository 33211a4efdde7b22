//! The broken-config corpus: every `tests/broken/<case>.cfg` is loaded together with
//! `tests/broken/common.cfg` (valid on its own) and must produce exactly the errors
//! listed in its `# expect: ` comment lines (file:line, object, message), and every
//! warning listed there (`# expect: -` means no diagnostics at all). Paths are printed
//! relative to `tests/broken/`.
//!
//! Each case also carries what the real `nagios4 -v` (Debian 12, Nagios Core 4.4.6)
//! said about the same files, in `# nagios4: ` lines: first `rc=0` or `rc=1`, then its
//! `Error:`/`Warning:`/`WARNING:` lines verbatim. Picket must agree on accept/reject
//! ([`picket_agrees_with_nagios4_on_every_case`]), and
//! [`recorded_nagios4_output_is_current`] re-runs `/usr/sbin/nagios4 -v` to check the
//! recording (it fails in CI when nagios4 is missing). To re-record after adding a case:
//! `PICKET_RECORD_NAGIOS4=1 cargo test -p picket-config --test broken recorded`.

use std::path::{Path, PathBuf};
use std::process::Command;

const ILLEGAL_OBJECT_CHARS: &str = "illegal_object_name_chars=`~!$%^&*|'\"<>?,()=\n";
const ILLEGAL_MACRO_CHARS: &str = "illegal_macro_output_chars=`~$&|'\"<>\n";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken")
}

/// Load `common.cfg` plus `case` (if any); return the rendered diagnostics.
fn check(case: Option<&str>) -> Vec<String> {
    let dir = corpus_dir();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut main = format!("cfg_file={}\n", dir.join("common.cfg").display());
    if let Some(c) = case {
        main.push_str(&format!("cfg_file={}\n", dir.join(c).display()));
    }
    main.push_str(ILLEGAL_OBJECT_CHARS);
    main.push_str(ILLEGAL_MACRO_CHARS);
    let main_path = tmp.path().join("nagios.cfg");
    std::fs::write(&main_path, main).expect("write main config");
    let loaded = picket_config::load(&main_path, &picket_config::LoadOptions::default())
        .expect("main config readable");
    let prefix = format!("{}/", dir.display());
    loaded
        .diagnostics
        .iter()
        .map(|d| d.line().replace(&prefix, ""))
        .collect()
}

/// The case files (not `common.cfg`), sorted.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .filter(|p| p.file_name().is_some_and(|n| n != "common.cfg"))
        .collect();
    cases.sort();
    cases
}

fn name_of(case: &Path) -> &str {
    case.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

fn prefixed<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect()
}

#[test]
fn common_objects_are_valid() {
    let diags = check(None);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn every_broken_config_gives_its_exact_messages() {
    let cases = cases();
    assert!(cases.len() >= 80, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = name_of(case);
        let text = std::fs::read_to_string(case).expect("read case");
        let expected = prefixed(&text, "# expect: ");
        assert!(!expected.is_empty(), "{name}: no '# expect: ' lines");
        let got = check(Some(name));
        if expected == ["-"] {
            if !got.is_empty() {
                failures.push(format!("{name}: expected no diagnostics, got {got:#?}"));
            }
            continue;
        }
        let got_errors: Vec<&String> = got.iter().filter(|l| l.starts_with("Error: ")).collect();
        let want_errors = expected.iter().filter(|l| l.starts_with("Error: ")).count();
        for want in &expected {
            if !got.iter().any(|g| g == want) {
                failures.push(format!("{name}: missing   {want}\n    got: {got:#?}"));
            }
        }
        if got_errors.len() != want_errors {
            failures.push(format!(
                "{name}: expected {want_errors} error(s), got {}: {got_errors:#?}",
                got_errors.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The recorded verdict of `nagios4 -v` (`true` = accepted).
fn recorded_verdict(name: &str, text: &str) -> bool {
    match prefixed(text, "# nagios4: ").first() {
        Some(&"rc=0") => true,
        Some(&"rc=1") => false,
        other => panic!("{name}: first '# nagios4: ' line must be rc=0 or rc=1, got {other:?}"),
    }
}

#[test]
fn picket_agrees_with_nagios4_on_every_case() {
    let mut failures = Vec::new();
    for case in &cases() {
        let name = name_of(case);
        let text = std::fs::read_to_string(case).expect("read case");
        let nagios_accepts = recorded_verdict(name, &text);
        let got = check(Some(name));
        let picket_accepts = !got.iter().any(|l| l.starts_with("Error: "));
        if nagios_accepts != picket_accepts {
            failures.push(format!(
                "{name}: nagios4 {} but Picket {}: {got:#?}",
                if nagios_accepts { "accepts" } else { "rejects" },
                if picket_accepts { "accepts" } else { "rejects" },
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Run the real `nagios4 -v` on `common.cfg` + `case` (copied into a scratch dir under
/// their own names); returns `rc=N` followed by its `Error:`/`Warning:`/`WARNING:` lines
/// (the last are nagios4's deprecation warnings, which it does not count), paths
/// relative to the scratch dir.
fn run_nagios4(nagios: &Path, case: &Path) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let name = name_of(case);
    std::fs::copy(corpus_dir().join("common.cfg"), t.join("common.cfg")).expect("copy");
    std::fs::copy(case, t.join(name)).expect("copy");
    let user = |flag: &str| {
        Command::new("id")
            .arg(flag)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let main = format!(
        "cfg_file={d}/common.cfg\ncfg_file={d}/{name}\n{ILLEGAL_OBJECT_CHARS}{ILLEGAL_MACRO_CHARS}\
         check_result_path={d}\nlock_file={d}/nagios.lock\ntemp_path={d}\n\
         log_file={d}/nagios.log\nnagios_user={u}\nnagios_group={g}\n",
        d = t.display(),
        u = user("-un"),
        g = user("-gn"),
    );
    std::fs::write(t.join("nagios.cfg"), main).expect("write main");
    let out = Command::new(nagios)
        .arg("-v")
        .arg(t.join("nagios.cfg"))
        .output()
        .expect("run nagios4");
    let prefix = format!("{}/", t.display());
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&prefix, "");
    let mut lines = vec![format!("rc={}", out.status.code().unwrap_or(-1))];
    lines.extend(
        stdout
            .lines()
            .filter(|l| {
                l.starts_with("Error:") || l.starts_with("Warning:") || l.starts_with("WARNING:")
            })
            .map(str::to_owned),
    );
    lines
}

#[test]
fn recorded_nagios4_output_is_current() {
    let nagios = Path::new("/usr/sbin/nagios4");
    if !nagios.exists() {
        if std::env::var_os("CI").is_some() {
            panic!("/usr/sbin/nagios4 missing in CI: apt-get install -y nagios4-core");
        }
        eprintln!("SKIPPED (not in CI): /usr/sbin/nagios4 missing");
        return;
    }
    let record = std::env::var_os("PICKET_RECORD_NAGIOS4").is_some();
    let mut failures = Vec::new();
    for case in &cases() {
        let name = name_of(case);
        let text = std::fs::read_to_string(case).expect("read case");
        let got = run_nagios4(nagios, case);
        let recorded = prefixed(&text, "# nagios4: ");
        if recorded != got {
            if record {
                // At the end, so that recording never moves the definitions' lines.
                let mut out = String::new();
                for l in text.lines().filter(|l| !l.starts_with("# nagios4: ")) {
                    out.push_str(l);
                    out.push('\n');
                }
                for l in &got {
                    out.push_str(&format!("# nagios4: {l}\n"));
                }
                std::fs::write(case, out).expect("rewrite case");
            } else {
                failures.push(format!(
                    "{name}:\n  recorded {recorded:#?}\n  nagios4  {got:#?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
