//! Picket stopped for a minute while a sensor delivers a burst: afterwards every event has
//! arrived, in order, once.
//!
//! ```text
//! writer ──> burst.log ──> picket-sensor --file ──> lossy proxy ──> picket (stopped 60 s)
//! ```
//!
//! The writer appends one libwrap refusal from a new source every 50 ms for the whole run.
//! Picket is stopped (SIGTERM) once the first events are in its log, stays down for 60 s
//! — the sensor keeps reading and spools — and is started again; the sensor replays its
//! spool. The proxy between them drops the response to the first request that Picket
//! takes after the restart: the batch was delivered but not acknowledged, the sensor sends
//! it again, and Picket must recognize the resend (the `batch` tag of contract C2).
//!
//! Checked: the `CONNECTION EVENT` lines of `burst1` are exactly the sources written, in
//! the order written, each once; Picket counted the resend as a duplicate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use picket_e2e::{Example, Nsca, Proc, bin, http_get, http_post, wait_for};

/// The `i`th source of the burst.
fn source(i: u32) -> String {
    format!("10.77.{}.{}", i / 250, i % 250 + 1)
}

/// A one-request-per-connection HTTP proxy to `upstream`. While `drop_next` is set, the
/// response to the next request that the upstream answers 202 is not passed on (the
/// connection is closed instead) and `drop_next` is cleared.
fn proxy(upstream: SocketAddr, drop_next: Arc<AtomicBool>, dropped: Arc<AtomicU64>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let mut req = Vec::new();
            let mut buf = [0u8; 16 * 1024];
            // The head, then Content-Length bytes of body.
            let complete = loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
                if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break true;
                    }
                }
            };
            if !complete {
                continue;
            }
            // Picket down: close, the sensor retries.
            let Ok(mut up) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
                continue;
            };
            let _ = up.set_read_timeout(Some(Duration::from_secs(10)));
            if up.write_all(&req).is_err() {
                continue;
            }
            let mut resp = Vec::new();
            let _ = up.read_to_end(&mut resp);
            if resp.starts_with(b"HTTP/1.1 202")
                && drop_next
                    .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                dropped.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let _ = c.write_all(&resp);
        }
    });
    port
}

fn sources_logged(ex: &Example) -> Vec<String> {
    ex.file("var/picket.log")
        .lines()
        .filter_map(|l| l.split_once("CONNECTION EVENT: ").map(|(_, r)| r))
        .filter_map(|r| {
            let mut f = r.split(';');
            (f.nth(1)? == "burst1").then(|| f.next().map(str::to_string))?
        })
        .collect()
}

fn metric(ex: &Example, name: &str) -> u64 {
    let (_, body) = http_get(ex.web, "/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn picket_down_for_a_minute_during_a_burst_loses_and_repeats_nothing() {
    let ex = Example::with_detection(Nsca::BuiltIn, "2s");
    let d = ex.dir.path().to_path_buf();
    let mut picket = ex.start_picket();
    wait_for("web.token", 20, || d.join("web.token").exists());

    let drop_next = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let port = proxy(ex.web, Arc::clone(&drop_next), Arc::clone(&dropped));

    let log = d.join("burst.log");
    std::fs::write(&log, "").expect("burst.log");
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (log, written, stop) = (log.clone(), Arc::clone(&written), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("open burst.log");
            let mut i = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let s = source(i);
                writeln!(f, "burst1 sshd[4242]: refused connect from {s} ({s})")
                    .expect("write burst.log");
                i += 1;
                written.store(u64::from(i), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let conf = d.join("sensor.conf");
    std::fs::write(&conf, "window = 1\n").expect("sensor conf");
    let _sensor = Proc(
        Command::new(bin("picket-sensor"))
            .arg("--config")
            .arg(&conf)
            .arg("--server")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg("--token-file")
            .arg(d.join("web.token"))
            .args(["--host-name", "burst1", "--from-start", "--file"])
            .arg(&log)
            .arg("--state-file")
            .arg(d.join("sensor.json"))
            .arg("--spool-dir")
            .arg(d.join("spool"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sensor.err")).expect("err"))
            .spawn()
            .expect("start picket-sensor"),
    );
    let dump = |ex: &Example| {
        format!(
            "== sensor.err\n{}\n== picket.err\n{}",
            ex.file("sensor.err"),
            ex.file("picket.err")
        )
    };

    wait_for("the first events in picket's log", 30, || {
        sources_logged(&ex).len() >= 20
    });
    // Stop picket (SIGTERM, as systemd does) in the middle of the burst.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(picket.0.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let st = picket.0.wait().expect("wait picket");
    eprintln!(
        "picket stopped ({st}) after {} lines",
        written.load(Ordering::SeqCst)
    );
    let at_stop = written.load(Ordering::SeqCst);

    // Down for a minute: meanwhile the sensor keeps reading and spooling.
    let spooled = || {
        std::fs::read_dir(d.join("spool"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    };
    let down_until = Instant::now() + Duration::from_secs(60);
    let mut most_spooled = 0;
    while Instant::now() < down_until {
        most_spooled = most_spooled.max(spooled());
        std::thread::sleep(Duration::from_millis(500));
    }
    let during = written.load(Ordering::SeqCst) - at_stop;
    assert!(
        during >= 500,
        "the burst went on while picket was down: {during} lines"
    );
    assert!(
        most_spooled >= 30,
        "the sensor spooled its batches while picket was down (at most {most_spooled} files)\n{}",
        dump(&ex)
    );

    // Back: the first batch picket takes is not acknowledged (the proxy drops the 202).
    drop_next.store(true, Ordering::SeqCst);
    picket = ex.start_picket();
    wait_for("the lost acknowledgement", 30, || {
        dropped.load(Ordering::SeqCst) == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer");
    let total = u32::try_from(written.load(Ordering::SeqCst)).expect("count");

    let want: Vec<String> = (0..total).map(source).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sources_logged(&ex).len() < want.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} events arrived\n{}",
            sources_logged(&ex).len(),
            want.len(),
            dump(&ex)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Anything late would be a duplicate. Every delivery is over once the spool is empty
    // (a batch leaves it only when acknowledged). Then one marker event goes in behind
    // them: the engine takes inputs in order and releases held events in time order,
    // so once the marker is logged, anything delivered before it is logged too.
    wait_for("the spool empty", 30, || spooled() == 0);
    let token = ex.file("web.token");
    let token = token.lines().next().expect("token").trim().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let marker = format!(
        r#"{{"events": [{{"time": {now}, "reporter": "burst1", "source": {{"addr": "192.0.2.250"}},
            "daemon": "sshd", "kind": "refused", "raw": "marker"}}]}}"#
    );
    let (status, answer) = http_post(ex.web, "/api/connection-events", &token, &marker);
    assert_eq!(status, 202, "{answer}");
    wait_for("the marker logged", 30, || {
        ex.file("var/picket.log")
            .lines()
            .any(|l| l.contains("CONNECTION EVENT: ") && l.contains(";burst1;192.0.2.250;"))
    });
    let got: Vec<String> = sources_logged(&ex)
        .into_iter()
        .filter(|s| s != "192.0.2.250")
        .collect();
    if got != want {
        let mut seen = std::collections::HashSet::new();
        let dups: Vec<_> = got.iter().filter(|s| !seen.insert(*s)).collect();
        let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
        panic!(
            "{} events logged for {} written; duplicates {dups:?}; first difference at {first_diff:?}\n{}",
            got.len(),
            want.len(),
            dump(&ex)
        );
    }
    assert!(
        metric(&ex, "picket_api_connection_event_batches_duplicate_total") >= 1,
        "picket recognized the resent batch"
    );
    eprintln!(
        "{total} events, {during} written while picket was down, {most_spooled} batches spooled at most"
    );
    drop(picket);
}
