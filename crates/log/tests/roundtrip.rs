//! `render(parse(l)) == l` over every `LOG` line recorded from real nagios4 in
//! `crates/picket/tests/oracle-scenarios/*/expected.txt`, and no line opening with a known
//! tag falls to `Raw`. (The lines the engine's own tests produce are checked in
//! `crates/engine`, every time the engine logs in a test build.)

use std::path::Path;

use picket_log::{Record, has_known_tag, parse_body, parse_line};

fn check(line: &str) -> Record<'_> {
    let parsed = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(parsed.to_string(), line, "round trip");
    if let Record::Raw(text) = parsed.record {
        assert!(!has_known_tag(text), "known kind fell to Raw: {line}");
    }
    parsed.record
}

#[test]
fn every_recorded_oracle_line_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../picket/tests/oracle-scenarios");
    let mut n = 0;
    let mut raw = Vec::new();
    for dir in std::fs::read_dir(&root)
        .expect("oracle scenarios")
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(dir.path().join("expected.txt")) else {
            continue;
        };
        for l in text.lines() {
            let Some(body) = l.strip_prefix("LOG ") else {
                continue;
            };
            let line = format!("[1700000000] {body}");
            if let Record::Raw(t) = check(&line) {
                raw.push(t.to_owned());
            }
            n += 1;
        }
    }
    assert!(n > 2000, "only {n} recorded lines");
    // What stays raw is nagios4's own start-up text (deprecation warnings in capitals) and
    // the two physical lines of a received command with a line break in it.
    for t in &raw {
        assert!(
            t.starts_with("WARNING: ")
                || t.starts_with("External command ")
                || t.ends_with(" returned error Malformed command"),
            "unexpected raw line: {t}"
        );
    }
}

#[test]
fn every_kind_round_trips() {
    let lines = [
        "[1] SERVICE ALERT: web01;TCP wrappers;CRITICAL;SOFT;2;refused; with; semicolons",
        "[1] HOST ALERT: web01;UNREACHABLE;HARD;3;",
        "[1] SERVICE NOTIFICATION: alice;web01;HTTP;ACKNOWLEDGEMENT (CRITICAL);notify;out;bob;seen it",
        "[1] SERVICE NOTIFICATION: alice;web01;HTTP;CUSTOM (OK);notify;out",
        "[1] SERVICE NOTIFICATION: alice;web01;HTTP;DOWNTIMESTART (OK);notify;a;b;c",
        "[1] HOST NOTIFICATION: alice;web01;DOWN;notify-host;PING CRITICAL",
        "[1] HOST NOTIFICATION: alice;web01;CUSTOM (UP);notify-host;(null);bob;hello",
        "[1] GLOBAL SERVICE EVENT HANDLER: h;s;OK;HARD;1;eh",
        "[1] HOST EVENT HANDLER: h;DOWN;SOFT;1;eh",
        "[1] GLOBAL HOST EVENT HANDLER: h;DOWN;SOFT;1;eh",
        "[1] PASSIVE SERVICE CHECK: h;s;0;(null)",
        "[1] PASSIVE HOST CHECK: h;1;down",
        "[1] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;h;s;2;x",
        "[1] EXTERNAL COMMAND: SHUTDOWN_PROGRAM",
        "[1] EXTERNAL COMMAND: ",
        "[1] External command [5] NO_SUCH;a returned error Unknown or unsupported command",
        "[1] SERVICE DOWNTIME ALERT: h;s;STARTED; Service has entered a period of scheduled downtime",
        "[1] HOST DOWNTIME ALERT: h;CANCELLED; Scheduled downtime for host has been cancelled.",
        "[1] SERVICE FLAPPING ALERT: h;s;DISABLED; Flap detection has been disabled",
        "[1] HOST FLAPPING ALERT: h;STOPPED; Host appears to have stopped flapping (3.0% change < 5.0% threshold)",
        "[1] CURRENT SERVICE STATE: h;s;UNKNOWN;HARD;1;x",
        "[1] INITIAL HOST STATE: h;UP;HARD;1;",
        "[1] LOG ROTATION: DAILY",
        "[1] LOG VERSION: 2.0",
        "[1] Warning:  Passive check result was received for host 'x', but the host could not be found!",
        "[1] Error: Cannot open file '' to process external commands!",
        "[1] CONNECTION EVENT: 100;web01;10.0.0.5;tcp;22;sshd;refused;1;refused connect from 10.0.0.5; x",
        "[1] CONNECTION EVENT: 100;web01;unknown;-;-;-;trap;3;",
        "[1] SCAN INCIDENT: 7;opened;10.0.0.0/24;horizontal,slow;12;3;2;4;90;100;0;a,b;tcp/22,tcp/23;sshd;CRITICAL - scan; yes",
        "[1] Nagios 4.4.6 starting... (PID=42)",
        "[0] CONNECTION EVENT: 0;r;s;-;65535;-;trap;4294967295;x",
        "[1] SCAN INCIDENT: 18446744073709551615;closed;k;;0;0;0;0;0;9223372036854775807;1;;;;",
        "[1] SERVICE ALERT: h;s;OK;HARD;4294967295;x",
    ];
    for l in lines {
        check(l);
    }
}

#[test]
fn malformed_records_are_raw_and_render_unchanged() {
    for body in [
        "SERVICE ALERT: h;s;BROKEN;HARD;1;x",
        "SERVICE ALERT: h;s;OK;HARD;01;x",
        "SERVICE ALERT: h;s;OK;HARD; 1;x",
        "HOST ALERT: h;OK;HARD;1;x",
        "HOST DOWNTIME ALERT: h;STARTED;no blank",
        "CONNECTION EVENT: x;web01;src;tcp;22;sshd;refused;1;raw",
        "CONNECTION EVENT: 1;web01;src;tcp;22;sshd;refused;0;raw",
        "SCAN INCIDENT: 1;opened",
        "PASSIVE HOST CHECK: h;-1;x",
    ] {
        let r = parse_body(body);
        assert_eq!(r, Record::Raw(body), "{body}");
        assert!(has_known_tag(body));
        assert_eq!(r.to_string(), body);
    }
}
