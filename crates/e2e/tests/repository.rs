//! Rules of the repository that are checked, not only written down.
//!
//! * It is self-contained: no test, build script or benchmark names a path to the `shared`
//!   directory that sits beside the development checkouts (a fresh `git clone` has nothing
//!   beside it). Recorded oracle data lives in the repository (`tests/oracle/`,
//!   `crates/picket/tests/oracle-scenarios/`, `crates/nsca-proto/tests/nsca-vectors/`);
//!   third-party material reaches the one opt-in test that uses it through an environment
//!   variable. `.ci/run` proves the rest: it runs the README's test command with that
//!   directory hidden.
//! * The crates that `ARCHITECTURE.md` calls free of `unsafe` say `#![forbid(unsafe_code)]`.
//! * Shipped docs and code comments carry no issue numbers.
//! * `.ci/run` runs clippy and stops package-started daemons by their service, not by name.

use std::path::{Path, PathBuf};

/// What a file must not contain. Spelled in two pieces so that this file does not match.
const NEEDLES: [&str; 2] = [concat!("..", "/shared"), concat!("/work", "/shared")];

/// Directories never scanned: dependencies and build output.
const SKIP_DIRS: [&str; 4] = ["node_modules", "target", ".git", "test-output"];

fn mentions_outside_path(bytes: &[u8]) -> Option<&'static str> {
    NEEDLES
        .iter()
        .copied()
        .find(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()))
}

/// Every regular file below `dir` (symlinks are not followed), or `dir` itself if it is one.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if meta.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries {
        let e = e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let name = e.file_name();
        if SKIP_DIRS.iter().any(|s| name == *s) {
            continue;
        }
        walk(&e.path(), out);
    }
}

/// Tests, build scripts and benchmarks of every crate, the top-level `tests/` and `bench/`.
fn scanned_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for top in ["tests", "bench"] {
        walk(&root.join(top), &mut files);
    }
    let crates = root.join("crates");
    for c in std::fs::read_dir(&crates).unwrap_or_else(|e| panic!("{}: {e}", crates.display())) {
        let c = c.expect("crates/ entry").path();
        for sub in ["tests", "build.rs", "bench", "benches"] {
            walk(&c.join(sub), &mut files);
        }
    }
    files.sort();
    files
}

#[test]
fn no_test_build_script_or_benchmark_names_the_shared_directory() {
    let root = picket_e2e::repo();
    let files = scanned_files(&root);
    // Not vacuous: the oracle tests and their recorded data are among the scanned files.
    for must in [
        "crates/picket/tests/oracle.rs",
        "crates/tcpd/tests/oracle.rs",
        "crates/nsca-proto/tests/vectors.rs",
        "tests/oracle/nagios/run_scenario.sh",
        "tests/oracle/tcpwrap/run_case.sh",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(must)),
            "{must} was not scanned"
        );
    }
    assert!(files.len() > 500, "only {} files scanned", files.len());
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            mentions_outside_path(&bytes).map(|n| {
                let rel = f.strip_prefix(&root).unwrap_or(f);
                format!("{} mentions {n}", rel.display())
            })
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "tests, build scripts and benchmarks must use the repository's own copy:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scanner_finds_a_relative_and_an_absolute_mention() {
    let rel = format!("join(\"../..{}/oracle\")", NEEDLES[0]);
    assert_eq!(mentions_outside_path(rel.as_bytes()), Some(NEEDLES[0]));
    let abs = format!("cd {}/oracle", NEEDLES[1]);
    assert_eq!(mentions_outside_path(abs.as_bytes()), Some(NEEDLES[1]));
    assert_eq!(
        mentions_outside_path(b"tests/oracle/shared-objects.cfg"),
        None
    );
}

/// `ARCHITECTURE.md`: "`#![forbid(unsafe_code)]` in all of them" (the protocol crates), and
/// the sans-I/O engine and configuration crates.
#[test]
fn the_crates_promised_free_of_unsafe_forbid_it() {
    let root = picket_e2e::repo();
    for krate in ["nsca-proto", "tcpwrap", "engine", "config"] {
        let lib = root.join("crates").join(krate).join("src/lib.rs");
        let text =
            std::fs::read_to_string(&lib).unwrap_or_else(|e| panic!("{}: {e}", lib.display()));
        assert!(
            text.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"),
            "{} lacks #![forbid(unsafe_code)]",
            lib.display()
        );
    }
}

/// The word "issue", then blanks or `#`, then a digit: a number that means nothing to a
/// reader of the shipped tree.
fn issue_number(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("issue") {
        let at = from + i;
        let word_start = !lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric());
        let after = &lower[at + "issue".len()..];
        let rest = after.trim_start_matches([' ', '#']);
        let separated = rest.len() < after.len();
        if word_start && separated && rest.starts_with(|c: char| c.is_ascii_digit()) {
            let end = (at + 24).min(text.len());
            return text.get(at..end).or(Some("issue"));
        }
        from = at + "issue".len();
    }
    None
}

#[test]
fn shipped_docs_and_comments_carry_no_issue_numbers() {
    let root = picket_e2e::repo();
    let mut files = Vec::new();
    for top in [
        "README.md",
        "ARCHITECTURE.md",
        "BENCHMARKS.md",
        "crates",
        "bench",
        "examples",
    ] {
        walk(&root.join(top), &mut files);
    }
    walk(&root.join("tests/oracle/nagios/README.md"), &mut files);
    walk(&root.join("tests/oracle/tcpwrap/README.md"), &mut files);
    let mut offenders = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue; // binary data
        };
        for (n, line) in text.lines().enumerate() {
            if let Some(hit) = issue_number(line) {
                let rel = f.strip_prefix(&root).unwrap_or(f);
                offenders.push(format!("{}:{}: {hit}", rel.display(), n + 1));
            }
        }
    }
    assert!(files.len() > 100, "only {} files scanned", files.len());
    assert!(
        offenders.is_empty(),
        "describe the capability instead of citing an issue number:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_issue_number_finder_finds_the_usual_forms() {
    // Spelled in pieces so that this file does not match.
    for hit in [
        concat!("(issue", " 6)"),
        concat!("Issue", " 2: five"),
        concat!("see issue", " #3"),
        concat!("issue", "  10"),
    ] {
        assert!(issue_number(hit).is_some(), "{hit}");
    }
    for miss in ["the issue's goal", "issues", "tissue 5x", "an issue"] {
        assert_eq!(issue_number(miss), None, "{miss}");
    }
}

#[test]
fn ci_runs_clippy_and_stops_package_daemons_precisely() {
    let ci = std::fs::read_to_string(picket_e2e::repo().join(".ci/run")).expect(".ci/run");
    let commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(
        commands
            .iter()
            .any(|l| l.contains("cargo clippy --workspace --all-targets --locked -- -D warnings")),
        ".ci/run does not run clippy on every target"
    );
    for broad in ["pkill", "killall"] {
        assert!(
            !commands.iter().any(|l| l.contains(broad)),
            ".ci/run ends processes by name ({broad})"
        );
    }
    assert!(
        commands.iter().any(|l| l.contains("policy-rc.d")),
        ".ci/run lets package scripts start daemons"
    );
    assert!(
        commands
            .iter()
            .any(|l| l.contains("cargo test --workspace --locked")),
        ".ci/run does not run the README's test command"
    );
}
