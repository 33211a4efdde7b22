//! `check_result_path`: a real `picket` reads check-result files dropped in
//! its spool directory as Nagios 4 does — only `c??????` files with a `.ok`
//! marker, several results per file, NRDP's and `nsca`'s layouts, too-old
//! files deleted unread, each file deleted after it was handed on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};

mod support;
use support::{Daemon, wait_for};

#[test]
fn spool_files_are_read_as_nagios_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let spool = d.join("checkresults");
    std::fs::write(
        d.join("objects.cfg"),
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n host_name web01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define service {\n host_name web01\n service_description HTTP\n \
         check_command ok\n max_check_attempts 1\n is_volatile 1\n \
         active_checks_enabled 0\n passive_checks_enabled 1\n contacts a\n}\n",
    )
    .expect("objects");
    std::fs::write(
        d.join("picket.cfg"),
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\naccept_passive_host_checks=1\nlog_passive_checks=1\n\
             log_file={0}/nagios.log\nretain_state_information=0\n\
             check_result_path={1}\ncheck_result_reaper_frequency=1\n",
            d.display(),
            spool.display()
        ),
    )
    .expect("picket.cfg");
    let err_file = std::fs::File::create(d.join("picket.err")).expect("err");
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(d.join("picket.cfg"))
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .spawn()
            .expect("picket"),
    );
    let read = |f: &str| {
        String::from_utf8_lossy(&std::fs::read(d.join(f)).unwrap_or_default()).into_owned()
    };
    wait_for("picket to read the spool", 60, || {
        if let Ok(Some(st)) = daemon.0.try_wait() {
            panic!("picket exited ({st}): {}", read("picket.err"));
        }
        read("picket.err").contains("Reading check results from") && spool.is_dir()
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let put = |name: &str, text: &str, ok: bool| {
        std::fs::write(spool.join(name), text).expect("file");
        if ok {
            std::fs::write(spool.join(format!("{name}.ok")), "").expect("ok");
        }
    };
    // What nsca (check_result_path) writes: two results in one file.
    put(
        "cAAAAAA",
        &format!(
            "### NSCA Passive Check Result ###\n# Time: x\nfile_time={now}\n\n\
             ### Service Check Result ###\nhost_name=web01\nservice_description=HTTP\ncheck_type=1\n\
             start_time={now}.0\nfinish_time={now}.0\nreturn_code=2\noutput=first one\\nlong\n\n\
             ### Service Check Result ###\nhost_name=web01\nservice_description=HTTP\ncheck_type=1\n\
             start_time={now}.0\nreturn_code=1\noutput=second one\n"
        ),
        true,
    );
    // What NRDP's PHP server writes (start_time before host_name).
    put(
        "cBBBBBB",
        &format!(
            "### NRDP Check ###\nstart_time={now}.0\n# Time: x\nhost_name=web01\n\
             service_description=HTTP\ncheck_type=1\nearly_timeout=0\nexited_ok=1\n\
             return_code=0\noutput=from nrdp\\n\n"
        ),
        true,
    );
    // No marker yet: left for later. Too old: deleted unread.
    put(
        "cCCCCCC",
        "host_name=web01\nservice_description=HTTP\nreturn_code=2\noutput=not yet\n",
        false,
    );
    put(
        "cDDDDDD",
        &format!(
            "file_time={}\nhost_name=web01\nservice_description=HTTP\nreturn_code=2\noutput=stale\n",
            now - 7200
        ),
        true,
    );
    put(
        "other",
        "host_name=web01\nreturn_code=1\noutput=not a spool name\n",
        true,
    );
    wait_for("the results in nagios.log", 20, || {
        let log = read("nagios.log");
        log.contains("SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;first one")
            && log.contains("SERVICE ALERT: web01;HTTP;WARNING;HARD;1;second one")
            && log.contains("SERVICE ALERT: web01;HTTP;OK;HARD;1;from nrdp")
    });
    wait_for("the files to be deleted", 20, || {
        [
            "cAAAAAA",
            "cAAAAAA.ok",
            "cBBBBBB",
            "cBBBBBB.ok",
            "cDDDDDD",
            "cDDDDDD.ok",
        ]
        .iter()
        .all(|f| !spool.join(f).exists())
    });
    let log = read("nagios.log");
    assert!(
        !log.contains("stale") || log.contains("deleted unread"),
        "{log}"
    );
    assert!(!log.contains(";stale"), "{log}");
    assert!(
        log.contains("max_check_result_file_age=3600); deleted unread"),
        "{log}"
    );
    assert!(
        !log.contains("not yet") && !log.contains("not a spool name"),
        "{log}"
    );
    assert!(spool.join("cCCCCCC").exists() && spool.join("other").exists());
    // The marker arrives: the waiting file is read too.
    std::fs::write(spool.join("cCCCCCC.ok"), "").expect("ok");
    wait_for("the late file", 20, || {
        read("nagios.log").contains("SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;not yet")
    });
}
