//! Parser tests on real nagios4 log lines (from the oracle's recorded scenarios).

use picket_history::{Event, EventKind, StateDump, parse_body, parse_line};

fn s(x: &str) -> String {
    x.to_owned()
}

#[test]
fn service_alert_real_line() {
    let l = parse_line(
        "[1700000000] SERVICE ALERT: web01;TCP wrappers;CRITICAL;HARD;1;refused connect from 10.0.0.5\n",
    )
    .expect("timestamped");
    assert_eq!(l.time, 1_700_000_000);
    assert_eq!(
        l.event,
        Event::ServiceAlert {
            host: s("web01"),
            service: s("TCP wrappers"),
            state: s("CRITICAL"),
            state_type: s("HARD"),
            attempt: 1,
            output: s("refused connect from 10.0.0.5"),
        }
    );
}

#[test]
fn soft_alert_attempt() {
    let e = parse_body("SERVICE ALERT: db01;Replication;CRITICAL;SOFT;2;CRITICAL - lag 960s");
    match e {
        Event::ServiceAlert {
            state_type,
            attempt,
            ..
        } => {
            assert_eq!(state_type, "SOFT");
            assert_eq!(attempt, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn service_notification_contact_and_command() {
    let e = parse_body(
        "SERVICE NOTIFICATION: alice;web01;TCP wrappers;CRITICAL;notify-service-capture;refused connect from 10.0.0.5",
    );
    assert_eq!(
        e,
        Event::ServiceNotification {
            contact: s("alice"),
            host: s("web01"),
            service: s("TCP wrappers"),
            notification_type: s("CRITICAL"),
            command: s("notify-service-capture"),
            output: s("refused connect from 10.0.0.5"),
            author: None,
            comment: None,
        }
    );
}

#[test]
fn acknowledgement_notification_has_author_and_comment() {
    let e = parse_body(
        "SERVICE NOTIFICATION: alice;web01;Disk;ACKNOWLEDGEMENT (WARNING);notify-service-capture;DISK WARNING - /var 91%;admin;looking into it",
    );
    match e {
        Event::ServiceNotification {
            notification_type,
            output,
            author,
            comment,
            ..
        } => {
            assert_eq!(notification_type, "ACKNOWLEDGEMENT (WARNING)");
            assert_eq!(output, "DISK WARNING - /var 91%");
            assert_eq!(author.as_deref(), Some("admin"));
            assert_eq!(comment.as_deref(), Some("looking into it"));
        }
        other => panic!("{other:?}"),
    }
    let e = parse_body("HOST NOTIFICATION: bob;firestorm;DOWN;notify-host-by-email;PING CRITICAL");
    assert_eq!(
        e,
        Event::HostNotification {
            contact: s("bob"),
            host: s("firestorm"),
            notification_type: s("DOWN"),
            command: s("notify-host-by-email"),
            output: s("PING CRITICAL"),
            author: None,
            comment: None,
        }
    );
}

#[test]
fn event_handlers_passive_and_states() {
    assert_eq!(
        parse_body("SERVICE EVENT HANDLER: web01;TCP wrappers;CRITICAL;HARD;1;eh-service-capture"),
        Event::ServiceEventHandler {
            global: false,
            host: s("web01"),
            service: s("TCP wrappers"),
            state: s("CRITICAL"),
            state_type: s("HARD"),
            attempt: 1,
            command: s("eh-service-capture"),
        }
    );
    assert_eq!(
        parse_body("HOST EVENT HANDLER: web01;DOWN;SOFT;1;eh-host!arg"),
        Event::HostEventHandler {
            global: false,
            host: s("web01"),
            state: s("DOWN"),
            state_type: s("SOFT"),
            attempt: 1,
            command: s("eh-host!arg"),
        }
    );
    assert_eq!(
        parse_body("PASSIVE SERVICE CHECK: web01;TCP wrappers;0;(null)"),
        Event::PassiveServiceCheck {
            host: s("web01"),
            service: s("TCP wrappers"),
            code: s("0"),
            output: s("(null)"),
        }
    );
    assert_eq!(
        parse_body("PASSIVE HOST CHECK: web01;1;PING CRITICAL"),
        Event::PassiveHostCheck {
            host: s("web01"),
            code: s("1"),
            output: s("PING CRITICAL"),
        }
    );
    assert_eq!(
        parse_body("INITIAL HOST STATE: web01;UP;HARD;1;"),
        Event::HostState {
            dump: StateDump::Initial,
            host: s("web01"),
            state: s("UP"),
            state_type: s("HARD"),
            attempt: 1,
            output: s(""),
        }
    );
    assert_eq!(
        parse_body("CURRENT SERVICE STATE: web01;TCP wrappers;OK;HARD;1;(null)").kind(),
        EventKind::ServiceState
    );
}

#[test]
fn external_commands_keep_raw_args() {
    assert_eq!(
        parse_body(
            "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web01;Disk;1;DISK WARNING - /var 91% | /var=91%;90;95"
        ),
        Event::ExternalCommand {
            name: s("PROCESS_SERVICE_CHECK_RESULT"),
            args: s("web01;Disk;1;DISK WARNING - /var 91% | /var=91%;90;95"),
        }
    );
    assert_eq!(
        parse_body("EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;Disk;2;1;0;admin;on it"),
        Event::ExternalCommand {
            name: s("ACKNOWLEDGE_SVC_PROBLEM"),
            args: s("web01;Disk;2;1;0;admin;on it"),
        }
    );
    assert_eq!(
        parse_body("EXTERNAL COMMAND: STOP_ACCEPTING_PASSIVE_SVC_CHECKS;"),
        Event::ExternalCommand {
            name: s("STOP_ACCEPTING_PASSIVE_SVC_CHECKS"),
            args: s(""),
        }
    );
}

#[test]
fn downtime_and_flapping() {
    assert_eq!(
        parse_body(
            "SERVICE DOWNTIME ALERT: web01;Disk;STARTED; Service has entered a period of scheduled downtime"
        ),
        Event::ServiceDowntimeAlert {
            host: s("web01"),
            service: s("Disk"),
            phase: s("STARTED"),
            message: s("Service has entered a period of scheduled downtime"),
        }
    );
    assert_eq!(
        parse_body(
            "HOST DOWNTIME ALERT: web01;CANCELLED; Scheduled downtime for host has been cancelled."
        ),
        Event::HostDowntimeAlert {
            host: s("web01"),
            phase: s("CANCELLED"),
            message: s("Scheduled downtime for host has been cancelled."),
        }
    );
    assert_eq!(
        parse_body(
            "SERVICE FLAPPING ALERT: h;s;STARTED; Service appears to have started flapping (24.2% change >= 20.0% threshold)"
        )
        .kind(),
        EventKind::ServiceFlappingAlert
    );
    assert_eq!(
        parse_body(
            "HOST FLAPPING ALERT: h;STOPPED; Host appears to have stopped flapping (3.0% change < 5.0% threshold)"
        ),
        Event::HostFlappingAlert {
            host: s("h"),
            phase: s("STOPPED"),
            message: s("Host appears to have stopped flapping (3.0% change < 5.0% threshold)"),
        }
    );
}

#[test]
fn unknown_and_malformed_lines_are_raw() {
    for body in [
        "Warning:  Passive check result was received for service 'x' on host 'nosuchhost', but the host could not be found!",
        "External command [TS] NO_SUCH_COMMAND;a;b returned error Unknown or unsupported command",
        "SERVICE ALERT: web01;too;few",
        "SERVICE ALERT: web01;svc;CRITICAL;HARD;notanumber;x",
        "LOG ROTATION: DAILY",
        "",
    ] {
        assert_eq!(parse_body(body), Event::Raw { text: s(body) }, "{body}");
    }
    assert!(parse_line("SERVICE ALERT: no timestamp").is_err());
    assert!(parse_line("[12a] x").is_err());
    assert!(parse_line("[] x").is_err());
    assert_eq!(
        parse_line("[5] LOG VERSION: 2.0").map(|l| l.event),
        Ok(Event::Raw {
            text: s("LOG VERSION: 2.0")
        })
    );
}

#[test]
fn output_keeps_later_semicolons_and_hostile_text() {
    let e = parse_body("SERVICE ALERT: h;s;CRITICAL;HARD;1;<script>alert(1)</script>;x");
    match e {
        Event::ServiceAlert { output, .. } => assert_eq!(output, "<script>alert(1)</script>;x"),
        other => panic!("{other:?}"),
    }
}

/// Every `LOG` line of every recorded nagios4 scenario parses; only warnings, errors,
/// "External command … returned error" lines and the rotation's `LOG ROTATION` /
/// `LOG VERSION` lines are raw.
#[test]
fn all_oracle_scenario_lines() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../picket/tests/oracle-scenarios");
    let mut seen = 0;
    let mut kinds = std::collections::HashSet::new();
    for ent in std::fs::read_dir(&dir).expect("crates/picket/tests/oracle-scenarios") {
        let p = ent.expect("dir entry").path().join("expected.txt");
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for line in text.lines() {
            let Some(body) = line.strip_prefix("LOG ") else {
                continue;
            };
            seen += 1;
            let e = parse_body(body);
            kinds.insert(e.kind());
            // Raw by design (`Event::Raw`): warnings (nagios4 writes deprecations as
            // `WARNING:`), errors, the rotation's own lines.
            if let Event::Raw { text } = &e {
                assert!(
                    text.starts_with("Warning")
                        || text.starts_with("WARNING: ")
                        || text.starts_with("Error")
                        || text.starts_with("LOG ROTATION: ")
                        || text.starts_with("LOG VERSION: ")
                        || text.starts_with("External command")
                        || text.starts_with(";2;x returned error"),
                    "unparsed: {line}"
                );
            }
            // Round trip through the timestamped form.
            let l = parse_line(&format!("[1234567890] {body}")).expect("stamped");
            assert_eq!(l.event, e);
        }
    }
    assert!(seen > 200, "only {seen} LOG lines found");
    for k in [
        EventKind::ServiceAlert,
        EventKind::ServiceNotification,
        EventKind::ServiceEventHandler,
        EventKind::PassiveServiceCheck,
        EventKind::ExternalCommand,
        EventKind::ServiceState,
        EventKind::HostState,
    ] {
        assert!(kinds.contains(&k), "{k:?} not seen");
    }
}

/// Tabs inside output fields, as nagios4 logs them (recorded in
/// `crates/picket/tests/oracle-scenarios/z_tabs_in_output`): kept in the field, and
/// no field boundary moves.
#[test]
fn tabs_inside_output_fields_are_kept() {
    let e = parse_line("[1] SERVICE ALERT: tabhost;TABS;CRITICAL;HARD;1;denied\tsshd\t192.0.2.7\n")
        .expect("line")
        .event;
    assert_eq!(
        e,
        Event::ServiceAlert {
            host: s("tabhost"),
            service: s("TABS"),
            state: s("CRITICAL"),
            state_type: s("HARD"),
            attempt: 1,
            output: s("denied\tsshd\t192.0.2.7"),
        }
    );
    match parse_body(
        "SERVICE NOTIFICATION: alice;tabhost;TABS;ACKNOWLEDGEMENT (WARNING);notify-z-svc;warn\tone;admin;seen\tit",
    ) {
        Event::ServiceNotification {
            output,
            author,
            comment,
            ..
        } => {
            assert_eq!(output, "warn\tone");
            assert_eq!(author.as_deref(), Some("admin"));
            assert_eq!(comment.as_deref(), Some("seen\tit"));
        }
        other => panic!("{other:?}"),
    }
    match parse_body("HOST ALERT: tabhost;DOWN;HARD;1;host\tdown") {
        Event::HostAlert {
            output, attempt, ..
        } => {
            assert_eq!((output.as_str(), attempt), ("host\tdown", 1));
        }
        other => panic!("{other:?}"),
    }
    match parse_body("PASSIVE SERVICE CHECK: tabhost;TABS;1;warn\tone") {
        Event::PassiveServiceCheck { output, code, .. } => {
            assert_eq!((output.as_str(), code.as_str()), ("warn\tone", "1"));
        }
        other => panic!("{other:?}"),
    }
    // A trailing tab is output, not line ending.
    match parse_line("[1] PASSIVE HOST CHECK: tabhost;0;host\tup\t\r\n")
        .expect("line")
        .event
    {
        Event::PassiveHostCheck { output, .. } => assert_eq!(output, "host\tup\t"),
        other => panic!("{other:?}"),
    }
    match parse_body(
        "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;tabhost;TABS;1;warn\tone | t=1s;2\tu=3\\nlong\tline | more\tx=1",
    ) {
        Event::ExternalCommand { name, args } => {
            assert_eq!(name, "PROCESS_SERVICE_CHECK_RESULT");
            assert_eq!(
                args,
                "tabhost;TABS;1;warn\tone | t=1s;2\tu=3\\nlong\tline | more\tx=1"
            );
        }
        other => panic!("{other:?}"),
    }
}

mod detection_lines {
    use picket_history::{Event, parse_body, parse_line};
    use proptest::prelude::*;

    /// A field as the detection glue writes it (cleaned: no `;`, `,` or line breaks).
    fn field() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._:/-]{1,12}"
    }

    proptest! {
        /// Any text after the two tags, and any line at all, parses without panicking.
        #[test]
        fn hostile_lines_never_panic(body in any::<String>(), t in any::<u64>()) {
            for tag in ["CONNECTION EVENT: ", "SCAN INCIDENT: ", "CONNECTION EVENT:", ""] {
                let _ = parse_body(&format!("{tag}{body}"));
                let _ = parse_line(&format!("[{t}] {tag}{body}"));
            }
            let _ = parse_line(&body);
        }

        /// Fields of every kind, including `;`-laden numbers and blanks: never a panic, and
        /// whatever does not parse is a raw line flagged as a malformed record.
        #[test]
        fn wrong_fields_are_raw_and_counted(
            fields in proptest::collection::vec("[ -~]{0,6}", 0..20),
            incident in any::<bool>(),
        ) {
            let tag = if incident { "SCAN INCIDENT" } else { "CONNECTION EVENT" };
            let body = format!("{tag}: {}", fields.join(";"));
            let e = parse_body(&body);
            match &e {
                Event::Raw { text } => {
                    prop_assert_eq!(text, &body);
                    prop_assert!(e.is_malformed_record());
                }
                Event::ConnectionEvent(_) | Event::ScanIncident(_) => {
                    prop_assert!(!e.is_malformed_record());
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }

        /// A connection event with fewer than 9 fields is raw; with 9 (the last free text,
        /// `;` kept) it round-trips.
        #[test]
        fn connection_event_fields(
            f in proptest::collection::vec(field(), 6),
            port in proptest::option::of(any::<u16>()),
            count in 1u32..,
            raw in "[ -~]{0,40}",
            cut in 0usize..9,
        ) {
            let port_s = port.map_or("-".to_owned(), |p| p.to_string());
            let all = [
                "1764680000".to_owned(), f[0].clone(), f[1].clone(), f[2].clone(), port_s,
                f[3].clone(), f[4].clone(), count.to_string(), raw.clone(),
            ];
            let line = format!("[1] CONNECTION EVENT: {}", all.join(";"));
            let Ok(l) = parse_line(&line) else { panic!("{line}") };
            let Event::ConnectionEvent(c) = &l.event else { panic!("{line}: {:?}", l.event) };
            prop_assert_eq!(c.port, port);
            prop_assert_eq!(c.count, count);
            prop_assert_eq!(&c.raw, &raw);
            prop_assert_eq!(&c.reporter, &f[0]);
            let short = format!("[1] CONNECTION EVENT: {}", all[..cut].join(";"));
            let e = parse_line(&short).expect("stamp").event;
            prop_assert!(e.is_malformed_record(), "{short}: {e:?}");
        }
    }

    #[test]
    fn zero_count_and_signed_numbers_are_malformed() {
        for body in [
            "CONNECTION EVENT: 5;web1;10.0.0.1;tcp;22;sshd;refused;0;x",
            "CONNECTION EVENT: -5;web1;10.0.0.1;tcp;22;sshd;refused;1;x",
            "CONNECTION EVENT: 5;web1;10.0.0.1;tcp;70000;sshd;refused;1;x",
            "CONNECTION EVENT: 5;web1;10.0.0.1;tcp; 22;sshd;refused;1;x",
            "SCAN INCIDENT: 1;opened;k;horizontal;3;3;1;1;10;20;2;a;b;c;out",
            "SCAN INCIDENT: x;opened;k;horizontal;3;3;1;1;10;20;0;a;b;c;out",
            "SCAN INCIDENT: 1;opened;k;horizontal;3;3;1;1;10;20;0;a;b;c",
            "CONNECTION EVENT:",
        ] {
            let e = parse_body(body);
            assert!(e.is_malformed_record(), "{body}: {e:?}");
        }
        assert!(!parse_body("CONNECTIONS EVENT: x").is_malformed_record());
        let ok = parse_body(
            "SCAN INCIDENT: 7;closed;203.0.113.0/24;distributed;40;5;1;4;10;20;1;;;;out; with ;",
        );
        let Event::ScanIncident(i) = ok else {
            panic!("{ok:?}")
        };
        assert!(i.hosts.is_empty() && i.recurrence);
        assert_eq!(i.output, "out; with ;");
    }
}
