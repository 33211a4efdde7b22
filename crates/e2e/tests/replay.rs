//! After `kill -9`, the retention journal replays every input through the engine entry
//! point the live input took, with the same values: an NSCA result whose host name holds
//! `;` (accepted with `strict_names=0`) lands on the same object with the same log line,
//! a `PROCESS_FILE` file's lines are processed as file lines again, FIFO lines and HTTP
//! results as command lines. Both replay modes are checked: records marked as logged
//! (replayed silently: the state must come out the same) and records journaled but not
//! marked (the process died between the journal write and the marker: processed for real,
//! their log lines must be the live ones, byte for byte).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use picket_e2e::{Example, Nsca, get_json, wait_for};
use picket_nsca_proto::{CheckResult, Method, PacketFormat};

/// The host name of the hostile result: rendered as a command line it would read as a
/// CRITICAL result for firestorm's `TCP Wrappers`.
const HOSTILE_HOST: &str = "firestorm;TCP Wrappers;2;forged";

fn send_nsca(port: u16, results: &[(&str, &str, u8, &str)]) {
    let mut conn = picket_nsca::client::Connection::open(
        "127.0.0.1",
        port,
        Instant::now() + Duration::from_secs(10),
        Method::from_number(14).expect("AES-256"),
        b"change-me",
        PacketFormat::V3,
    )
    .expect("connect");
    for (host, service, code, output) in results {
        conn.send(&CheckResult {
            timestamp: 0,
            return_code: i16::from(*code),
            host_name: host.as_bytes().to_vec(),
            service: service.as_bytes().to_vec(),
            plugin_output: output.as_bytes().to_vec(),
        })
        .expect("send");
    }
}

fn post(addr: SocketAddr, path: &str, token: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect web");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// firestorm's `TCP Wrappers`: (state, output) from the API.
fn service_state(ex: &Example) -> (serde_json::Value, serde_json::Value) {
    let status = get_json(ex.web, "/api/status");
    let svc = status["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["description"] == "TCP Wrappers"))
        .unwrap_or_else(|| panic!("no service in {status}"))
        .clone();
    (svc["state"].clone(), svc["output"].clone())
}

/// One input of every kind that reaches the engine thread; returns the log line that
/// tells they were all processed.
fn send_every_kind(ex: &Example, round: &str) -> String {
    let token = ex.file("web.token");
    let token = token.lines().next().expect("token");
    // A passive result over HTTP (rendered as a command line, processed as one).
    let body = format!(
        r#"{{"host":"firestorm","service":"TCP Wrappers","code":1,"output":"http {round}"}}"#
    );
    assert_eq!(post(ex.web, "/api/results", token, &body), 202);
    wait_for("the HTTP result", 20, || {
        ex.file("var/picket.log")
            .contains(&format!("TCP Wrappers;1;http {round}"))
    });
    // NSCA: an honest result, then the hostile one (a host nobody has).
    send_nsca(
        ex.nsca_port,
        &[
            ("firestorm", "TCP Wrappers", 0, &format!("fine {round}")),
            (HOSTILE_HOST, "x", 0, "honest"),
        ],
    );
    wait_for("the NSCA results", 20, || {
        ex.file("var/picket.log").contains(HOSTILE_HOST)
    });
    // The command FIFO: a comment, and a PROCESS_FILE whose file has a malformed line
    // (skipped silently when it comes from a file, an error on the command file).
    let file = ex.path(&format!("var/commands-{round}.txt"));
    let t = now();
    std::fs::write(
        &file,
        format!(
            "garbage line {round}\n\
             [{t}] ADD_SVC_COMMENT;firestorm;TCP Wrappers;1;admin;from a file {round}\n"
        ),
    )
    .expect("command file");
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .open(ex.path("var/picket.cmd"))
        .expect("open fifo");
    write!(
        fifo,
        "[{t}] ADD_SVC_COMMENT;firestorm;TCP Wrappers;1;admin;from the fifo {round}\n\
         [{t}] PROCESS_FILE;{};1\n",
        file.display()
    )
    .expect("write fifo");
    drop(fifo);
    let done = format!("ADD_SVC_COMMENT;firestorm;TCP Wrappers;1;admin;from a file {round}");
    wait_for("the FIFO and the file", 20, || {
        ex.file("var/picket.log").contains(&done)
    });
    done
}

fn comments(ex: &Example) -> serde_json::Value {
    let status = get_json(ex.web, "/api/status");
    status["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["description"] == "TCP Wrappers"))
        .map(|s| s["comments"].clone())
        .unwrap_or_default()
}

#[test]
fn replay_takes_the_live_path_for_every_input_kind() {
    let ex = Example::new(Nsca::BuiltIn);
    let mut nsca_cfg = ex.file("nsca.cfg");
    nsca_cfg.push_str("strict_names=0\n");
    std::fs::write(ex.path("nsca.cfg"), nsca_cfg).expect("nsca.cfg");

    // Round 1: every record marked as logged; the restart replays them silently.
    let picket = ex.start_picket();
    send_every_kind(&ex, "r1");
    let live = ex.file("var/picket.log");
    assert!(
        live.contains(&format!(
            "Warning:  Passive check result was received for service 'x' on host '{HOSTILE_HOST}', but the host could not be found!"
        )),
        "the live path refuses the unknown host:\n{live}"
    );
    assert!(!live.contains("garbage line r1"), "{live}");
    let (state, output) = service_state(&ex);
    assert_eq!(
        (state.clone(), output.as_str()),
        (0.into(), Some("fine r1"))
    );
    let live_comments = comments(&ex);
    drop(picket); // SIGKILL

    let picket = ex.start_picket();
    assert_eq!(
        service_state(&ex),
        (state, output),
        "the silent replay put the result somewhere else"
    );
    assert_eq!(comments(&ex), live_comments);
    let log = ex.file("var/picket.log");
    assert_eq!(
        log.matches(&format!("on host '{HOSTILE_HOST}'")).count(),
        1,
        "logged once, not again by the silent replay:\n{log}"
    );

    // Round 2: the process dies after the journal write, before the markers (simulated by
    // removing them from what it wrote): the restart processes the records for real.
    let before = ex.file("var/picket.log").len();
    send_every_kind(&ex, "r2");
    let (state, output) = service_state(&ex);
    let live_comments = comments(&ex);
    drop(picket); // SIGKILL
    let live: Vec<String> = ex.file("var/picket.log")[before..]
        .lines()
        .map(str::to_string)
        .collect();
    assert!(live.len() >= 8, "{live:?}");
    let journal_path = ex.path("var/retention.journal");
    let journal = std::fs::read(&journal_path).expect("journal");
    let mut unmarked = Vec::new();
    let mut rest = &journal[..];
    let mut markers = 0;
    // Records are `<kind> <seq> <now> <len>\n<len bytes>\n`; markers are `L <seq>\n`.
    while !rest.is_empty() {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header");
        let header = std::str::from_utf8(&rest[..nl]).expect("header text");
        let fields: Vec<&str> = header.split(' ').collect();
        let take = match fields.as_slice() {
            ["L", _] => {
                markers += 1;
                rest = &rest[nl + 1..];
                continue;
            }
            [_, _, _, len] => nl + 1 + len.parse::<usize>().expect("len") + 1,
            _ => nl + 1,
        };
        unmarked.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
    }
    assert!(markers > 0, "the daemon marks what it logged");
    std::fs::write(&journal_path, &unmarked).expect("journal");

    let before_restart = ex.file("var/picket.log").len();
    let _picket = ex.start_picket();
    let replayed: Vec<String> = ex.file("var/picket.log")[before_restart..]
        .lines()
        .map(str::to_string)
        .collect();
    let first = replayed
        .iter()
        .position(|l| *l == live[0])
        .unwrap_or_else(|| panic!("{:?} not replayed:\n{replayed:#?}", live[0]));
    assert_eq!(
        replayed[first..]
            .iter()
            .take(live.len())
            .collect::<Vec<_>>(),
        live.iter().collect::<Vec<_>>(),
        "the replay logged other lines than the live input"
    );
    assert_eq!(service_state(&ex), (state, output));
    assert_eq!(comments(&ex), live_comments);
}
