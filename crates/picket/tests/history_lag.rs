//! `picket_history_lag_bytes` tells the truth at every scrape: a burst through the command
//! FIFO of a real daemon makes the history fall behind the log, and every scrape taken
//! meanwhile shows at least the bytes that were provably written and not yet committed
//! (the log's size before the scrape minus the history's committed cursor after it);
//! once the history has caught up, it reads 0.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Results in the burst; each one logs two lines (`EXTERNAL COMMAND`, `PASSIVE SERVICE
/// CHECK`), and every line becomes a history row.
const BURST: usize = 200_000;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect web");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("response");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    resp
}

/// The value of an unlabelled metric.
fn metric_opt(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn metric(text: &str, name: &str) -> i64 {
    metric_opt(text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

fn setup(d: &Path, web: SocketAddr) -> PathBuf {
    std::fs::write(
        d.join("objects.cfg"),
        "define command {\n command_name check_none\n command_line /bin/true\n}\n\
         define contact {\n contact_name c\n service_notification_commands check_none\n\
         host_notification_commands check_none\n}\n\
         define host {\n host_name h\n contacts c\n max_check_attempts 1\n active_checks_enabled 0\n}\n\
         define service {\n host_name h\n service_description s\n check_command check_none\n\
         active_checks_enabled 0\n passive_checks_enabled 1\n max_check_attempts 1\n contacts c\n}\n",
    )
    .expect("objects");
    let main = d.join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
             check_external_commands=1\nretain_state_information=0\n\
             history_file={0}/history.db\nweb_listen={web}\n",
            d.display()
        ),
    )
    .expect("main cfg");
    main
}

#[test]
fn lag_is_true_during_a_burst_and_zero_once_caught_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let main = setup(d, web);
    let _daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(&main)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start picket"),
    );
    let fifo = d.join("nagios.cmd");
    wait_for("the FIFO and the web server", 30, || {
        fifo.exists() && TcpStream::connect(web).is_ok()
    });
    let log = d.join("nagios.log");
    let history =
        picket_history::Store::open(&d.join("history.db"), Default::default()).expect("history");
    let committed = || {
        history
            .cursor("nagios.log")
            .expect("cursor")
            .map_or(0, |c| c.offset)
    };
    let log_len = || std::fs::metadata(&log).map_or(0, |m| m.len());
    wait_for("the history to take the start-up lines", 30, || {
        committed() == log_len()
    });
    assert_eq!(
        metric(&get(web, "/metrics"), "picket_history_lag_bytes"),
        0,
        "nothing is behind before the burst"
    );

    // Every line behind from here on was logged after this instant.
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("open fifo");
        let mut chunk = String::new();
        for i in 0..BURST {
            chunk.push_str(&format!(
                "[1800000000] PROCESS_SERVICE_CHECK_RESULT;h;s;0;result {i}\n"
            ));
            if chunk.len() > 60_000 {
                f.write_all(chunk.as_bytes()).expect("write fifo");
                chunk.clear();
            }
        }
        f.write_all(chunk.as_bytes()).expect("write fifo");
    });

    let last = format!("result {}\n", BURST - 1);
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut behind = 0;
    let mut max_lag = 0;
    let mut max_secs = 0;
    loop {
        assert!(Instant::now() < deadline, "the history never caught up");
        let written = log_len();
        let text = get(web, "/metrics");
        let lag = metric(&text, "picket_history_lag_bytes");
        let secs = metric_opt(&text, "picket_history_lag_seconds");
        let done = committed();
        let secs = secs.unwrap_or(0);
        assert!(
            (0..=started.elapsed().as_secs() as i64 + 1).contains(&secs),
            "lag {secs} s, {:?} into the burst",
            started.elapsed()
        );
        max_secs = max_secs.max(secs);
        if written > done {
            // Provably behind at the instant of the scrape: at least this much.
            behind += 1;
            let at_least = (written - done) as i64;
            assert!(
                lag >= at_least,
                "scrape {behind}: lag {lag} bytes while at least {at_least} bytes were written \
                 and not committed"
            );
            max_lag = max_lag.max(lag);
        }
        let caught_up = writer.is_finished() && done == written && {
            let tail = std::fs::read(&log).expect("log");
            tail.ends_with(last.as_bytes())
        };
        if caught_up {
            // Nothing is behind now: the next scrape must say so.
            let text = get(web, "/metrics");
            assert_eq!(metric(&text, "picket_history_lag_bytes"), 0, "{text}");
            assert_eq!(metric(&text, "picket_history_lag_seconds"), 0, "{text}");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    writer.join().expect("writer");
    eprintln!(
        "{behind} scrapes while the history was behind; the largest lag {max_lag} bytes, \
         {max_secs} s"
    );
    assert!(
        behind > 0,
        "the history never fell behind: the test proved nothing"
    );
}
