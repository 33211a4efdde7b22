//! `check_result_path`: a real `picket` reads check-result files dropped in
//! its spool directory as Nagios 4 does — only `c??????` files with a `.ok`
//! marker, several results per file, NRDP's and `nsca`'s layouts, too-old
//! files deleted unread, each file deleted after it was handed on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

mod support;
use support::{Daemon, free_port, wait_for};

/// Starts `picket` on hosts `web01` and `db01` (each with a volatile passive
/// `HTTP`), its spool at `d/checkresults`, plus `extra` main-config lines; returns
/// once it reads the spool.
fn start(d: &Path, extra: &str) -> Daemon {
    let spool = d.join("checkresults");
    let mut objects = String::from(
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n",
    );
    for h in ["web01", "db01"] {
        objects.push_str(&format!(
            "define host {{\n host_name {h}\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}}\n\
             define service {{\n host_name {h}\n service_description HTTP\n \
             check_command ok\n max_check_attempts 1\n is_volatile 1\n \
             active_checks_enabled 0\n passive_checks_enabled 1\n contacts a\n}}\n"
        ));
    }
    std::fs::write(d.join("objects.cfg"), objects).expect("objects");
    std::fs::write(
        d.join("picket.cfg"),
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\naccept_passive_host_checks=1\nlog_passive_checks=1\n\
             log_file={0}/nagios.log\nretain_state_information=0\n\
             check_result_path={1}\ncheck_result_reaper_frequency=1\n{extra}",
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
    wait_for("picket to read the spool", 60, || {
        if let Ok(Some(st)) = daemon.0.try_wait() {
            panic!("picket exited ({st}): {}", read(d, "picket.err"));
        }
        read(d, "picket.err").contains("Reading check results from") && spool.is_dir()
    });
    daemon
}

fn read(d: &Path, f: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(d.join(f)).unwrap_or_default()).into_owned()
}

#[test]
fn spool_files_are_read_as_nagios_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let spool = d.join("checkresults");
    let _daemon = start(d, "");
    let read = |f: &str| read(d, f);
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

/// A file owned by a uid that `check_result_uid_identity` names is decided by that
/// identity's scope, result by result: what it may submit is taken, the rest refused,
/// logged and counted; the file is deleted either way.
#[test]
fn spool_files_of_an_identity_stay_in_its_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let spool = d.join("checkresults");
    std::fs::write(
        d.join("identities.cfg"),
        "authorize \"web-agent\" {\n  token = \"a-token-of-sixteen-chars-or-more\"\n  \
         hosts = \"web.*\"\n  services = \".*@web.*\"\n}\n",
    )
    .expect("identities");
    // The files the test writes are owned by the uid it runs as.
    std::fs::write(d.join("probe"), "").expect("probe");
    let uid = std::fs::metadata(d.join("probe")).expect("meta").uid();
    let web = free_port();
    let _daemon = start(
        d,
        &format!(
            "api_identities_file={0}/identities.cfg\ncheck_result_uid_identity={uid}:web-agent\n\
             web_listen=127.0.0.1:{web}\nweb_token_file={0}/web.token\n",
            d.display()
        ),
    );
    assert!(
        read(d, "picket.err").contains(&format!(
            "check_result_path files: uid {uid} is web-agent; every other owner: unscoped"
        )),
        "{}",
        read(d, "picket.err")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let result = |host: &str, code: u8, output: &str| {
        format!(
            "### Service Check Result ###\nhost_name={host}\nservice_description=HTTP\ncheck_type=1\n\
             start_time={now}.0\nreturn_code={code}\noutput={output}\n\n"
        )
    };
    std::fs::write(
        spool.join("cEEEEEE"),
        format!(
            "file_time={now}\n\n{}{}{}",
            result("web01", 2, "allowed one"),
            result("db01", 2, "forged for db01"),
            result("web01", 1, "allowed two")
        ),
    )
    .expect("file");
    std::fs::write(spool.join("cEEEEEE.ok"), "").expect("ok");
    wait_for(
        "the allowed results and the refusal in nagios.log",
        20,
        || {
            let log = read(d, "nagios.log");
            log.contains("SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;allowed one")
            && log.contains("SERVICE ALERT: web01;HTTP;WARNING;HARD;1;allowed two")
            && log.contains("Warning: authz: refusing service HTTP on host db01 from identity web-agent at check result file")
        },
    );
    wait_for("the file to be deleted", 20, || {
        !spool.join("cEEEEEE").exists()
    });
    let log = read(d, "nagios.log");
    assert!(!log.contains("forged for db01"), "{log}");
    assert!(
        log.contains(&format!(
            "cEEEEEE (uid {uid}) via check-result-spool: not authorized"
        )),
        "{log}"
    );
    // Counted per identity and outcome.
    let metrics = {
        let mut s = TcpStream::connect(("127.0.0.1", web)).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("read");
        body
    };
    for line in [
        "picket_ingest_total{via=\"check-result-spool\",identity=\"web-agent\",outcome=\"accepted\"} 2",
        "picket_ingest_total{via=\"check-result-spool\",identity=\"web-agent\",outcome=\"refused_unauthorized\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line:?} in:\n{metrics}");
    }
}
