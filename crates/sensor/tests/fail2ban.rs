//! Recognition scored against a corpus nobody on the project wrote: fail2ban's annotated
//! sshd test logs, read from Debian's installed `fail2ban` package (never copied here).
//!
//! Every line of a file goes through one `Recognizer` in order (sshd's address-less lines
//! take the address from the same pid's other lines). A line after a `# failJSON: {...}`
//! comment is scored: `"match": true` must give an event with the annotated host;
//! `"match": false` must give none. fail2ban's *aggressive* mode is the reference (it
//! reports probes and pre-auth disconnects, as the sensor does): annotations constrained to
//! the non-aggressive modes (`opts.get('mode') != 'aggressive'`) are skipped.
//!
//! Under CI (`CI` set) the package must be installed (`.ci/run` installs it); elsewhere the
//! test is skipped with a message when it is not.

use std::path::{Path, PathBuf};

use picket_sensor::Recognizer;

const DIRS: &[&str] = &[
    "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs",
    "/usr/share/fail2ban/tests/files/logs",
];

fn corpus() -> Option<PathBuf> {
    for d in DIRS {
        let p = Path::new(d);
        if p.join("sshd").is_file() {
            return Some(p.to_path_buf());
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "fail2ban's test logs are missing ({DIRS:?}): CI must install fail2ban (.ci/run does)"
        );
    }
    eprintln!("SKIP: fail2ban is not installed (apt-get install fail2ban); corpus not scored");
    None
}

#[derive(Debug, Default)]
struct Score {
    matches: u32,
    found: u32,
    wrong_host: u32,
    missed: Vec<String>,
    non_matches: u32,
    false_events: Vec<String>,
}

fn score(path: &Path, s: &mut Score) {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let mut r = Recognizer::new("f2b");
    let mut pending: Option<serde_json::Value> = None;
    for line in text.lines() {
        if let Some(j) = line.strip_prefix("# failJSON:") {
            let v: serde_json::Value = match serde_json::from_str(j.trim()) {
                Ok(v) => v,
                Err(e) => panic!("{}: bad failJSON {j}: {e}", path.display()),
            };
            let constraint = v.get("constraint").and_then(|c| c.as_str()).unwrap_or("");
            pending = if constraint.contains("!= 'aggressive'") {
                None
            } else {
                Some(v)
            };
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let ev = r.line(0, line);
        let Some(a) = pending.take() else { continue };
        let want = a.get("match").and_then(|m| m.as_bool()).unwrap_or(false);
        if want {
            s.matches += 1;
            let host = a
                .get("host")
                .and_then(|h| h.as_str())
                .map(str::to_ascii_lowercase);
            match (&ev, host) {
                (None, _) => s.missed.push(line.to_string()),
                (Some(e), Some(h)) if e.source.to_string() != h => {
                    s.wrong_host += 1;
                    s.missed.push(format!("{line}  [got {}]", e.source));
                }
                (Some(_), _) => s.found += 1,
            }
        } else {
            s.non_matches += 1;
            if ev.is_some() {
                s.false_events.push(line.to_string());
            }
        }
    }
}

#[test]
fn fail2ban_sshd_corpus() {
    let Some(dir) = corpus() else { return };
    let mut total = Score::default();
    for f in ["sshd", "sshd-journal"] {
        let mut s = Score::default();
        score(&dir.join(f), &mut s);
        println!(
            "{f}: annotated matches {} found {} (wrong host {}), annotated non-matches {} false events {}",
            s.matches,
            s.found,
            s.wrong_host,
            s.non_matches,
            s.false_events.len()
        );
        total.matches += s.matches;
        total.found += s.found;
        total.wrong_host += s.wrong_host;
        total.non_matches += s.non_matches;
        total.missed.extend(s.missed);
        total.false_events.extend(s.false_events);
    }
    for m in &total.missed {
        println!("missed: {m}");
    }
    for m in &total.false_events {
        println!("false event: {m}");
    }
    println!(
        "total: annotated matches {} found {} ({:.1} %), wrong host {}; annotated non-matches {} false events {}",
        total.matches,
        total.found,
        100.0 * f64::from(total.found) / f64::from(total.matches.max(1)),
        total.wrong_host,
        total.non_matches,
        total.false_events.len()
    );
    // Floors actually reached (see BENCHMARKS.md); a regression fails here.
    assert!(
        total.matches >= 190,
        "corpus smaller than expected: {total:?}"
    );
    assert_eq!(total.wrong_host, 0, "an event with the wrong host");
    assert!(
        total.found >= FOUND_FLOOR,
        "found {} < {FOUND_FLOOR}",
        total.found
    );
    assert!(
        total.false_events.len() <= FALSE_CEILING,
        "{} false events > {FALSE_CEILING}",
        total.false_events.len()
    );
}

const FOUND_FLOOR: u32 = 184;
const FALSE_CEILING: usize = 2;
