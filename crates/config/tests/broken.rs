//! The broken-config corpus: every `tests/broken/<case>.cfg` is loaded together with
//! `tests/broken/common.cfg` (valid on its own) and must produce exactly the errors
//! listed in its `# expect: ` comment lines (file:line, object, message), and every
//! warning listed there. Paths are printed relative to `tests/broken/`.

use std::path::{Path, PathBuf};

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
    main.push_str("illegal_object_name_chars=`~!$%^&*|'\"<>?,()=\n");
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

#[test]
fn common_objects_are_valid() {
    let diags = check(None);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn every_broken_config_gives_its_exact_messages() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .filter(|p| p.file_name().is_some_and(|n| n != "common.cfg"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let text = std::fs::read_to_string(case).expect("read case");
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(!expected.is_empty(), "{name}: no '# expect: ' lines");
        let got = check(Some(name));
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
