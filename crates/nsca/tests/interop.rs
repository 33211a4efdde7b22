//! Interoperability with Debian's `nsca` and `send_nsca` 2.10.2, run as
//! real processes on loopback: every pairing of client and daemon must
//! produce the command-file text Debian's pair produces (timestamps aside).
//! Under CI a missing Debian peer fails these tests.

mod common;

use common::*;

/// Methods the issue names: none, XOR, DES, 3DES, Blowfish, AES-256
/// (RIJNDAEL-128) and RIJNDAEL-256.
const METHODS: [u8; 7] = [0, 1, 2, 3, 8, 14, 16];

/// A service result with perfdata, a host result, an output with tabs, a
/// 5000-byte output (cut to 4095) and a multi-line output with a backslash,
/// as ETB-separated sets.
fn input() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(
        b"web01.example.com\tHTTP\t1\tHTTP WARNING: 200 OK - 1234 bytes |time=0.567s;;;0\x17",
    );
    v.extend_from_slice(b"db01\t3\tUNKNOWN - host result\x17");
    // Tabs after the third field are output, kept by client and server.
    v.extend_from_slice(b"web03\tTabs\t2\tdenied\tsshd\t192.0.2.7\x17");
    v.extend_from_slice(b"web02\tLong Output\t0\t");
    v.extend((0..5000).map(|i| b'a' + (i % 26) as u8));
    v.push(0x17);
    v.extend_from_slice(b"db01\tMySQL Replication\t2\tCRITICAL - lag 300s\nSlave_IO_Running: No\nback\\slash | lag=300s\n");
    v
}

struct Peers {
    send: std::path::PathBuf,
    nsca: std::path::PathBuf,
}

fn peers() -> Option<Peers> {
    Some(Peers {
        send: debian_peer("/usr/sbin/send_nsca")?,
        nsca: debian_peer("/usr/sbin/nsca")?,
    })
}

/// What `client` sent through `daemon` for `method`.
fn run_pair(client: &std::path::Path, daemon: &std::path::Path, method: u8) -> Vec<String> {
    let d = Daemon::start(daemon, method, "");
    let cfg = client_config(d.dir.path(), method);
    let out = send(client, d.port(), &cfg, &[], &input());
    assert!(
        out.status.success(),
        "{} -> {} method {method}: {:?}\nstdout: {}\nstderr: {}",
        client.display(),
        daemon.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "5 data packet(s) sent to host successfully.\n"
    );
    let lines = d.wait_lines(5);
    assert_eq!(
        lines.len(),
        5,
        "method {method}: {lines:?}\n{}",
        d.log_text()
    );
    lines
}

#[test]
fn every_pairing_writes_what_debian_writes() {
    let Some(p) = peers() else { return };
    let ours_send = picket_send_nsca();
    let ours_nsca = picket_nsca();
    for method in METHODS {
        let reference = run_pair(&p.send, &p.nsca, method);
        // The reference itself: long output cut to 4095, newlines escaped.
        assert_eq!(
            reference[2],
            "PROCESS_SERVICE_CHECK_RESULT;web03;Tabs;2;denied\tsshd\t192.0.2.7"
        );
        assert_eq!(
            reference[3].len(),
            "PROCESS_SERVICE_CHECK_RESULT;web02;Long Output;0;".len() + 4095
        );
        assert_eq!(
            reference[4],
            "PROCESS_SERVICE_CHECK_RESULT;db01;MySQL Replication;2;CRITICAL - lag 300s\\nSlave_IO_Running: No\\nback\\\\slash | lag=300s"
        );
        assert_eq!(
            reference[1],
            "PROCESS_HOST_CHECK_RESULT;db01;3;UNKNOWN - host result"
        );
        for (client, daemon, what) in [
            (&p.send, &ours_nsca, "Debian send_nsca -> Picket nsca"),
            (&ours_send, &p.nsca, "Picket send_nsca -> Debian nsca"),
            (&ours_send, &ours_nsca, "Picket send_nsca -> Picket nsca"),
        ] {
            assert_eq!(
                run_pair(client, daemon, method),
                reference,
                "{what}, method {method}"
            );
        }
    }
}

#[test]
fn legacy_2_7_packets_from_debian_client() {
    let Some(p) = peers() else { return };
    for method in [0u8, 1, 14] {
        let d = Daemon::start(&picket_nsca(), method, "");
        let cfg = client_config(d.dir.path(), method);
        let long: String = "x".repeat(600);
        let out = send(
            &p.send,
            d.port(),
            &cfg,
            &["--legacy-2-7-mode"],
            format!("h\ts\t2\t{long}\n").as_bytes(),
        );
        assert!(out.status.success(), "{out:?}");
        let lines = d.wait_lines(1);
        assert_eq!(
            lines,
            vec![format!(
                "PROCESS_SERVICE_CHECK_RESULT;h;s;2;{}",
                &long[..511]
            )]
        );
    }
}

#[test]
fn picket_client_legacy_mode_reaches_debian_daemon() {
    let Some(p) = peers() else { return };
    let d = Daemon::start(&p.nsca, 1, "");
    let cfg = client_config(d.dir.path(), 1);
    let out = send(
        &picket_send_nsca(),
        d.port(),
        &cfg,
        &["--legacy-2-7-mode"],
        b"h\t0\tup\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        d.wait_lines(1),
        vec!["PROCESS_HOST_CHECK_RESULT;h;0;up".to_string()]
    );
}

#[test]
fn client_messages_and_exit_codes_match_debian() {
    let Some(p) = peers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = client_config(dir.path(), 1);
    let dead = free_port();
    // Nothing listening.
    let input = b"h\ts\t0\tok\n";
    let theirs = send(&p.send, dead, &cfg, &[], input);
    let ours = send(&picket_send_nsca(), dead, &cfg, &[], input);
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(ours.stdout, theirs.stdout);
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr)
    );
    // Fewer than three fields: nothing sent, exit 2, same message.
    let d = Daemon::start(&picket_nsca(), 1, "");
    let theirs = send(&p.send, d.port(), &cfg, &[], b"only\tone\n");
    let ours = send(&picket_send_nsca(), d.port(), &cfg, &[], b"only\tone\n");
    assert_eq!(ours.status.code(), Some(2));
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(ours.stdout, theirs.stdout);
    // An over-long set.
    let big = vec![b'x'; 6000];
    let theirs = send(&p.send, d.port(), &cfg, &[], &big);
    let ours = send(&picket_send_nsca(), d.port(), &cfg, &[], &big);
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(ours.stdout, theirs.stdout);
    // Bad config line: message on stdout, exit 2 (our text names file:line).
    let bad = dir.path().join("bad.cfg");
    std::fs::write(&bad, "colour=blue\n").expect("write");
    let theirs = send(&p.send, d.port(), &bad, &[], b"h\ts\t0\tx");
    let ours = send(&picket_send_nsca(), d.port(), &bad, &[], b"h\ts\t0\tx");
    assert_eq!(ours.status.code(), theirs.status.code());
    assert!(String::from_utf8_lossy(&ours.stdout).contains("bad.cfg:1: unknown option 'colour'"));
}

/// The check-result files of a `check_result_path` directory, without the
/// lines that carry times, sorted (their names are random).
fn checkresult_files(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_none())
        .map(|p| {
            let mut ok = p.clone().into_os_string();
            ok.push(".ok");
            assert!(
                std::path::Path::new(&ok).exists(),
                "{} has no .ok marker",
                p.display()
            );
            String::from_utf8_lossy(&std::fs::read(&p).expect("read"))
                .lines()
                .filter(|l| {
                    !(l.starts_with("# Time:")
                        || l.starts_with("file_time=")
                        || l.starts_with("start_time=")
                        || l.starts_with("finish_time="))
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn check_result_path_files_match_debian() {
    let Some(p) = peers() else { return };
    let mut results = Vec::new();
    for daemon in [&p.nsca, &picket_nsca()] {
        let out_dir = tempfile::tempdir().expect("tempdir");
        let d = Daemon::start(
            daemon,
            1,
            &format!("check_result_path={}\n", out_dir.path().display()),
        );
        let cfg = client_config(d.dir.path(), 1);
        let out = send(&p.send, d.port(), &cfg, &[], &input());
        assert!(out.status.success(), "{out:?}");
        wait_for("5 check result files", 10, || {
            std::fs::read_dir(out_dir.path())
                .map(|r| {
                    r.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some()))
                        .count()
                        == 5
                })
                .unwrap_or(false)
        });
        results.push(checkresult_files(out_dir.path()));
    }
    assert_eq!(results[0].len(), 5);
    assert_eq!(results[1], results[0]);
}
