//! The built-in NSCA-ng receiver (`nsca_ng_config_file=`) with a real
//! `picket` on 127.0.0.1: an authorized result reaches `nagios.log`; an
//! identity allowed only `web.*` cannot submit for `db01`, cannot send
//! `DISABLE_NOTIFICATIONS`, cannot flood another host's volatile service —
//! each attempt gets `FAIL You're not authorized`, a `nagios.log` warning
//! naming identity, peer and object, and a count in `/metrics`. Picket's
//! client (the `picket-nsca-ng` library) and, when installed, Debian's
//! `nsca-ng-client` (`/opt/nsca-ng-client`, see `.ci/run`; required under CI)
//! are the senders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use picket_nsca_ng::client::{Target, send};

mod support;
use support::{Daemon, free_port, wait_for};

const PW: &str = "web-checker-key-4711";

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect web");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn debian_client() -> Option<PathBuf> {
    let p = PathBuf::from(
        std::env::var("NSCA_NG_SEND_NSCA")
            .unwrap_or_else(|_| "/opt/nsca-ng-client/usr/sbin/send_nsca".into()),
    );
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing: CI unpacks Debian's nsca-ng-client there (.ci/run)",
            p.display()
        );
    }
    eprintln!(
        "SKIP: {} is missing; Debian's client not tested",
        p.display()
    );
    None
}

#[test]
fn scoped_identity_reaches_the_log_and_is_refused_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("objects.cfg"),
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n host_name web01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define host {\n host_name db01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define service {\n host_name web01,db01\n service_description TCP Wrappers\n \
         check_command ok\n max_check_attempts 1\n is_volatile 1\n \
         active_checks_enabled 0\n passive_checks_enabled 1\n contacts a\n}\n",
    )
    .expect("objects");
    let port = free_port();
    let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    std::fs::write(
        d.join("nsca-ng.cfg"),
        format!(
            "listen = \"127.0.0.1:{port}\"\nauthorize \"web-checker\" {{\n  password = \"{PW}\"\n  \
             hosts = \"web.*\"\n  services = \".+@web.*\"\n}}\n"
        ),
    )
    .expect("nsca-ng.cfg");
    std::fs::write(
        d.join("picket.cfg"),
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\nlog_passive_checks=1\nlog_external_commands=1\n\
             log_file={0}/nagios.log\nretain_state_information=0\n\
             nsca_ng_config_file={0}/nsca-ng.cfg\nweb_listen={web}\n",
            d.display()
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
    wait_for("picket to listen for NSCA-ng", 60, || {
        if let Ok(Some(st)) = daemon.0.try_wait() {
            panic!("picket exited ({st}): {}", read("picket.err"));
        }
        read("picket.err").contains("Listening for NSCA-ng on")
            && read("picket.err").contains("Web UI")
    });
    // Three clients connected and silent (in their handshake) for the whole test: every
    // session below still needs a connection of its own. (With NSCA-ng alone the
    // receiver once got a budget of one connection.)
    let idle: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("idle connection"))
        .collect();
    let target = Target {
        server: "127.0.0.1".into(),
        port,
        identity: "web-checker".into(),
        password: PW.as_bytes().to_vec(),
        ciphers: picket_nsca_ng_proto::DEFAULT_TLS_CIPHERS.into(),
        timeout: Some(Duration::from_secs(10)),
    };
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let cmds: Vec<Vec<u8>> = [
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;Denied sshd-192.0.2.7\n"),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;db01;TCP Wrappers;2;forged flood 1\n"),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;db01;TCP Wrappers;2;forged flood 2\n"),
        format!("[{t}] PROCESS_HOST_CHECK_RESULT;db01;1;forged down\n"),
        format!("[{t}] DISABLE_NOTIFICATIONS\n"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let out = send(&target, &cmds);
    assert_eq!(out.accepted, vec![0], "{out:?}");
    let fail = "You're not authorized".to_string();
    assert_eq!(
        out.refused,
        vec![
            (1, fail.clone()),
            (2, fail.clone()),
            (3, fail.clone()),
            (4, fail)
        ],
        "{out:?}"
    );
    assert!(out.undelivered.is_empty() && out.error.is_none(), "{out:?}");
    wait_for("the result in nagios.log", 10, || {
        read("nagios.log")
            .contains("SERVICE ALERT: web01;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-192.0.2.7")
    });
    wait_for("the refusals in nagios.log", 10, || {
        read("nagios.log")
            .matches("from identity web-checker at 127.0.0.1:")
            .count()
            >= 4
    });
    let log = read("nagios.log");
    for object in [
        "service TCP Wrappers on host db01",
        "host db01",
        "command DISABLE_NOTIFICATIONS",
    ] {
        assert!(
            log.contains(&format!(
                "Warning: NSCA: NSCA-ng: refusing {object} from identity web-checker at 127.0.0.1:"
            )),
            "{object}:\n{log}"
        );
    }
    assert!(!log.contains("db01;TCP Wrappers;CRITICAL"), "{log}");
    assert!(
        !log.contains("EXTERNAL COMMAND: DISABLE_NOTIFICATIONS"),
        "{log}"
    );
    // A wrong key: refused in the handshake, counted for the identity.
    let bad = Target {
        password: b"not-the-key".to_vec(),
        ..target.clone()
    };
    let out = send(&bad, &cmds[..1]);
    assert!(
        out.error
            .as_deref()
            .is_some_and(|e| e.contains("TLS error")),
        "{out:?}"
    );
    assert_eq!(out.undelivered, vec![0]);
    if let Some(client) = debian_client() {
        let cfg = d.join("send_nsca.cfg");
        std::fs::write(
            &cfg,
            format!("identity = \"web-checker\"\npassword = \"{PW}\"\n"),
        )
        .expect("cfg");
        let run = |input: &[u8], extra: &[&str]| {
            let mut c = Command::new(&client)
                .args([
                    "-c",
                    cfg.to_str().expect("utf-8"),
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .args(extra)
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("send_nsca");
            c.stdin
                .take()
                .expect("stdin")
                .write_all(input)
                .expect("stdin");
            c.wait_with_output().expect("wait")
        };
        let o = run(
            b"web01\tTCP Wrappers\t2\tDenied in.telnetd-198.51.100.9\n",
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = run(b"DISABLE_NOTIFICATIONS\n", &["-C"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("FAIL You're not authorized"));
        wait_for("Debian's result in nagios.log", 10, || {
            read("nagios.log").contains(
                "SERVICE ALERT: web01;TCP Wrappers;CRITICAL;HARD;1;Denied in.telnetd-198.51.100.9",
            )
        });
    }
    let mut seen = String::new();
    let counted = |m: &str| {
        m.contains(
            "picket_nsca_ng_commands_total{identity=\"web-checker\",outcome=\"refused_service\"} 2",
        ) && m.contains(
            "picket_nsca_ng_commands_total{identity=\"web-checker\",outcome=\"refused_host\"} 1",
        ) && m.contains(
            "picket_nsca_ng_commands_total{identity=\"web-checker\",outcome=\"refused_command\"}",
        ) && m.contains(
            "picket_nsca_ng_commands_total{identity=\"web-checker\",outcome=\"bad_key\"} 1",
        ) && m.contains(
            "picket_nsca_ng_commands_total{identity=\"web-checker\",outcome=\"accepted\"}",
        ) && m.contains("picket_nsca_ng_last_submission_seconds{identity=\"web-checker\"}")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !counted(&seen) {
        assert!(
            std::time::Instant::now() < deadline,
            "the counters in /metrics:\n{}\n{}",
            read("nagios.log"),
            seen.lines()
                .filter(|l| l.starts_with("picket_nsca_ng"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
        seen = get(web, "/metrics");
    }
    drop(idle);
}
