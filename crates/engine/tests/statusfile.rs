//! `status.dat` and `objects.cache` as Nagios 4.4.6 writes them: the same scenario's files
//! from `nagios4` were reduced to their key skeletons (section headers and keys in
//! order, values dropped) by `statusfile/record.sh`; Picket's renderers must give the
//! same skeletons, and the values checked below.

use std::sync::Arc;

use picket_engine::Engine;
use picket_engine::statusfile::{ProcessInfo, render_objects_cache, render_status_dat};

const T0: i64 = 1_800_000_000;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/statusfile")
}

fn engine() -> (Engine, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = tmp.path();
    let lib =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/nagios/lib");
    std::fs::copy(lib.join("common.cfg"), w.join("common.cfg")).expect("common.cfg");
    std::fs::copy(dir().join("objects.cfg"), w.join("objects.cfg")).expect("objects.cfg");
    std::fs::write(
        w.join("resource.cfg"),
        format!("$USER1$=/usr/lib/nagios/plugins\n$USER2$={}\n", w.display()),
    )
    .expect("resource");
    let main = w.join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/common.cfg\ncfg_file={0}/objects.cfg\n\
             resource_file={0}/resource.cfg\ninterval_length=1\nenable_flap_detection=0\n",
            w.display()
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
    e.start(T0);
    let steps = std::fs::read_to_string(dir().join("steps.txt")).expect("steps");
    for line in steps.lines() {
        let line = line
            .replace("${NOW+100}", &(T0 + 100).to_string())
            .replace("${NOW+600}", &(T0 + 600).to_string())
            .replace("${NOW}", &T0.to_string());
        e.process_line(T0, &format!("[{T0}] {line}"));
    }
    e.tick(T0);
    let _ = e.take_outputs();
    (e, tmp)
}

/// Section headers, keys and closing braces, as `record.sh` reduces nagios4's files.
fn skeleton(text: &str) -> String {
    let mut out = String::new();
    for l in text.lines() {
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        if l.ends_with(" {") || l == "\t}" {
            out.push_str(l);
            out.push('\n');
        } else if let Some(rest) = l.strip_prefix('\t') {
            let key: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let next = rest[key.len()..].chars().next();
            if matches!(next, Some('=') | Some('\t')) && !key.is_empty() {
                out.push('\t');
                out.push_str(&key);
                out.push('\n');
            }
        }
    }
    out
}

fn info() -> ProcessInfo {
    ProcessInfo {
        pid: 4242,
        daemon_mode: false,
        last_log_rotation: 0,
        version: "test".into(),
    }
}

fn section<'a>(text: &'a str, head: &str, first: &str) -> &'a str {
    let start = text
        .find(&format!("{head} {{\n\t{first}\n"))
        .unwrap_or_else(|| panic!("no {head} starting with {first}"));
    let end = text[start..].find("\t}\n").expect("end") + start;
    &text[start..end]
}

#[test]
fn status_dat_has_nagios_sections_keys_and_order() {
    let (e, _tmp) = engine();
    let text = render_status_dat(&e.status_snapshot(T0 + 2), &info());
    let expected = std::fs::read_to_string(dir().join("nagios4-status.keys")).expect("keys");
    let got = skeleton(&text);
    if got != expected {
        for (i, (a, b)) in expected.lines().zip(got.lines()).enumerate() {
            assert_eq!(a, b, "status.dat key line {} differs", i + 1);
        }
        assert_eq!(expected.lines().count(), got.lines().count(), "line count");
    }
}

#[test]
fn status_dat_values_mean_what_nagios_means() {
    let (e, _tmp) = engine();
    let text = render_status_dat(&e.status_snapshot(T0 + 2), &info());
    let tw = section(&text, "servicestatus", "host_name=web1");
    for kv in [
        "service_description=TCP Wrappers",
        "current_state=2",
        "state_type=1",
        "check_type=1",
        "plugin_output=Denied sshd-10.1.2.3",
        "performance_data=x=1",
        "problem_has_been_acknowledged=1",
        "acknowledgement_type=2",
        "current_notification_number=1",
        "max_attempts=1",
        "_SVCVAR=1;changed",
    ] {
        assert!(tw.contains(&format!("\t{kv}\n")), "{kv} in\n{tw}");
    }
    let disk = section(&text, "servicestatus", "host_name=db1");
    for kv in [
        "current_state=1",
        "state_type=0",
        "current_attempt=1",
        "max_attempts=3",
    ] {
        assert!(disk.contains(&format!("\t{kv}\n")), "{kv} in\n{disk}");
    }
    let web1 = section(&text, "hoststatus", "host_name=web1");
    assert!(web1.contains("\tscheduled_downtime_depth=1\n"), "{web1}");
    assert!(web1.contains("\t_RACK=0;r7\n"), "{web1}");
    let db1 = section(&text, "hoststatus", "host_name=db1");
    assert!(
        db1.contains("\tcurrent_state=1\n\tlast_hard_state=1\n"),
        "{db1}"
    );
    let prog = section(&text, "programstatus", "modified_host_attributes=0");
    assert!(prog.contains("\tnagios_pid=4242\n"), "{prog}");
    assert!(prog.contains("\tenable_flap_detection=0\n"), "{prog}");
    // comments: user (1, external), acknowledgement (4), downtime (2); ids in order
    let c = section(&text, "servicecomment", "host_name=web1");
    assert!(
        c.contains("\tentry_type=4\n\tcomment_id=3\n\tsource=0\n"),
        "{c}"
    );
    let c = section(&text, "hostcomment", "host_name=web1");
    assert!(
        c.contains("\tentry_type=1\n\tcomment_id=1\n\tsource=1\n"),
        "{c}"
    );
    let d = section(&text, "servicedowntime", "host_name=db1");
    for kv in [
        "downtime_id=2",
        "comment_id=5",
        &format!("start_time={}", T0 + 100),
        &format!("end_time={}", T0 + 600),
        "fixed=0",
        "duration=60",
        "is_in_effect=0",
    ] {
        assert!(d.contains(&format!("\t{kv}\n")), "{kv} in\n{d}");
    }
    let d = section(&text, "hostdowntime", "host_name=web1");
    assert!(
        d.contains("\tfixed=1\n") && d.contains("\tis_in_effect=1\n"),
        "{d}"
    );
}

#[test]
fn objects_cache_has_nagios_definitions_keys_and_order() {
    let (e, _tmp) = engine();
    let text = render_objects_cache(e.config(), T0, &jiff::tz::TimeZone::UTC);
    let expected = std::fs::read_to_string(dir().join("nagios4-objects.keys")).expect("keys");
    let got = skeleton(&text);
    if got != expected {
        for (i, (a, b)) in expected.lines().zip(got.lines()).enumerate() {
            assert_eq!(a, b, "objects.cache key line {} differs", i + 1);
        }
        assert_eq!(expected.lines().count(), got.lines().count(), "line count");
    }
    assert!(
        text.contains("# Created: Fri Jan 15 08:00:00 2027\n"),
        "{}",
        &text[..400]
    );
    // values nagios4 wrote for the same objects
    for line in [
        "\t2026-12-25\t00:00-24:00\n\tdecember 24\t10:00-12:00\n\tmonday\t09:00-17:00\n\ttuesday\t09:00-12:00,13:00-17:00\n",
        "\tmembers\tdb1,web1\n",
        "\tmembers\tdb1,Disk,web1,TCP Wrappers\n",
        "\tparents\tweb1\n",
        "\tnotification_options\tr,d,u\n",
        "\tflap_detection_options\ta\n",
        "\tinitial_state\to\n",
        "\tcheck_interval\t5.000000\n",
        "\tis_volatile\t1\n",
        "\t_SVCVAR\tx\n",
        "\tnotification_failure_options\tc\n",
        "\tescalation_period\t24x7\n",
    ] {
        assert!(text.contains(line), "{line:?} in objects.cache");
    }
}
