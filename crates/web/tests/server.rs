//! The server on 127.0.0.1:0 with a fake backend and a temporary history database, driven
//! by a minimal HTTP/1.1 client over TCP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use picket_history::{Store, StoreConfig};
use picket_web::{
    Backend, Command, HostView, LiveEvent, Metrics, ServiceView, StatusView, SubmitError,
    WebConfig, WebState,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

const TOKEN: &str = "t0ken-abc";

#[derive(Default)]
struct Fake {
    submitted: Mutex<Vec<Command>>,
    events: Mutex<Vec<picket_correlator::ConnectionEvent>>,
    busy: std::sync::atomic::AtomicBool,
}

impl Backend for Fake {
    fn status(&self) -> StatusView {
        StatusView {
            now: 1_700_000_100,
            hosts: vec![HostView {
                name: "firestorm".into(),
                address: "127.0.0.1".into(),
                hard: true,
                attempt: 1,
                max_attempts: 1,
                output: "PING OK".into(),
                ..Default::default()
            }],
            services: vec![
                ServiceView {
                    host: "firestorm".into(),
                    description: "TCP Wrappers".into(),
                    state: 2,
                    hard: true,
                    attempt: 1,
                    max_attempts: 1,
                    output: "<script>alert('pwned')</script> & \"x\"".into(),
                    last_state_change: Some(1_700_000_000),
                    is_volatile: true,
                    ..Default::default()
                },
                ServiceView {
                    host: "firestorm".into(),
                    description: "Disk".into(),
                    state: 0,
                    hard: true,
                    output: "DISK OK".into(),
                    ..Default::default()
                },
            ],
        }
    }

    fn submit(&self, cmd: Command) -> Result<(), SubmitError> {
        if let Command::ServiceResult { host, .. } = &cmd {
            if host == "nosuchhost" {
                return Err(SubmitError::Rejected("unknown host".into()));
            }
        }
        self.submitted.lock().expect("lock").push(cmd);
        Ok(())
    }

    fn submit_events(
        &self,
        events: Vec<picket_correlator::ConnectionEvent>,
    ) -> Result<(), SubmitError> {
        if self.busy.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SubmitError::Unavailable("queue full".into()));
        }
        self.events.lock().expect("lock").extend(events);
        Ok(())
    }
}

struct Srv {
    addr: std::net::SocketAddr,
    backend: Arc<Fake>,
    events: broadcast::Sender<LiveEvent>,
    metrics: Arc<Metrics>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(token: Option<&str>) -> Srv {
    start_with(WebConfig {
        token: token.map(str::to_owned),
        ..WebConfig::default()
    })
    .await
}

async fn start_with(cfg: WebConfig) -> Srv {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("history.db");
    let mut w = Store::open(&db, StoreConfig::default()).expect("writer");
    let mut lines = Vec::new();
    let srcs = ["127.0.0.2", "10.1.2.3", "192.0.2.9"];
    for i in 0..10 {
        let src = srcs[i % 3];
        let daemon = if i % 2 == 0 { "sshd" } else { "in.ftpd" };
        let host = if i < 5 { "firestorm" } else { "icefire" };
        lines.push(format!(
            "[{}] SERVICE ALERT: {host};TCP Wrappers;CRITICAL;HARD;1;Denied {daemon}-{src}",
            1_700_000_000 + i
        ));
        lines.push(format!(
            "[{}] SERVICE NOTIFICATION: alice;{host};TCP Wrappers;CRITICAL;notify-by-file;Denied {daemon}-{src}",
            1_700_000_000 + i
        ));
    }
    lines.push(
        "[1700000050] SERVICE ALERT: firestorm;Disk;WARNING;HARD;1;<img src=x onerror=alert(1)>"
            .to_owned(),
    );
    w.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    let reader = Store::open(&db, StoreConfig::default()).expect("reader");
    let backend = Arc::new(Fake::default());
    let (events, _) = broadcast::channel(64);
    let metrics = Arc::new(Metrics::new());
    metrics
        .counter(
            "picket_notifications_total",
            "Notifications by outcome.",
            &[("outcome", "sent")],
        )
        .add(10);
    let state =
        WebState::new(backend.clone(), events.clone(), metrics.clone(), cfg).with_history(reader);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(picket_web::serve_with_shutdown(
        listener,
        state,
        async move {
            let _ = stop_rx.await;
        },
    ));
    Srv {
        addr,
        backend,
        events,
        metrics,
        shutdown: Some(stop_tx),
        task,
        _dir: dir,
    }
}

struct Resp {
    status: u16,
    head: String,
    body: String,
}

fn dechunk(b: &str) -> String {
    let mut out = String::new();
    let mut rest = b;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return b.to_owned();
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

async fn req(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    req_from([127, 0, 0, 1], addr, method, path, headers, body).await
}

/// A request from the loopback address `source`.
async fn req_from(
    source: [u8; 4],
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind((std::net::Ipv4Addr::from(source), 0).into())
        .expect("bind source");
    let mut s = sock.connect(addr).await.expect("connect");
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    s.write_all(r.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Resp {
        status,
        head: head.to_owned(),
        body,
    }
}

async fn get(addr: std::net::SocketAddr, path: &str) -> Resp {
    req(addr, "GET", path, &[], "").await
}

#[tokio::test]
async fn pages_render_and_escape_plugin_output() {
    let s = start(Some(TOKEN)).await;
    let r = get(s.addr, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Service problems"));
    assert!(r.body.contains("TCP Wrappers"));
    assert!(
        !r.body.contains("<script>alert("),
        "unescaped plugin output"
    );
    assert!(
        r.body
            .contains("&lt;script&gt;alert('pwned')&lt;/script&gt; &amp; &quot;x&quot;")
    );
    // Problems first: the CRITICAL service is listed, the OK one is not on the problems page.
    assert!(!r.body.contains("DISK OK"));
    let r = get(s.addr, "/hosts").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("DISK OK"));
    let r = get(s.addr, "/service?host=firestorm&service=TCP%20Wrappers").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("History"));
    assert!(r.body.contains("Denied sshd-127.0.0.2"));
    assert!(!r.body.contains("Acknowledge"), "forms only when logged in");
    let r = get(s.addr, "/service?host=firestorm&service=nope").await;
    assert_eq!(r.status, 404);
    let r = get(s.addr, "/host?name=firestorm").await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<img src=x"), "unescaped history output");
    assert!(r.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn denied_view_counts_three_sources() {
    let s = start(Some(TOKEN)).await;
    let r = get(s.addr, "/denied").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("3 sources, 10 denials."), "{}", r.body);
    for a in ["127.0.0.2", "10.1.2.3", "192.0.2.9"] {
        assert!(r.body.contains(a));
    }
    let r = get(s.addr, "/api/denied").await;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 3);
    let total: u64 = arr
        .iter()
        .map(|x| x["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(total, 10);
    let a = arr
        .iter()
        .find(|x| x["addr"] == "127.0.0.2")
        .expect("127.0.0.2");
    assert_eq!(a["count"], 4);
    assert_eq!(a["first_seen"], 1_700_000_000);
    assert_eq!(a["last_seen"], 1_700_000_009);
    assert_eq!(a["hosts"], serde_json::json!(["firestorm", "icefire"]));
}

#[tokio::test]
async fn log_filters() {
    let s = start(Some(TOKEN)).await;
    let r = get(s.addr, "/api/log?kind=notifications&text=192.0.2.9").await;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 3);
    assert!(
        arr.iter()
            .all(|x| x["kind"] == "service_notification" && x["contact"] == "alice")
    );
    let r = get(s.addr, "/api/log?kind=alerts&host=icefire").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v.as_array().expect("array").len(), 5);
    let r = get(s.addr, "/log?kind=alerts&state=WARNING").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("&lt;img src=x"));
    assert!(!r.body.contains("Denied sshd"));
    let r = get(s.addr, "/api/status").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(
        v["services"][0]["output"],
        "<script>alert('pwned')</script> & \"x\""
    );
}

#[tokio::test]
async fn auth_on_posts() {
    let s = start(Some(TOKEN)).await;
    let body = r#"{"host":"firestorm","service":"TCP Wrappers","code":2,"output":"Denied sshd-127.0.0.2"}"#;
    let ct = ("Content-Type", "application/json");
    let r = req(s.addr, "POST", "/api/results", &[ct], body).await;
    assert_eq!(r.status, 401);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer")
    );
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", "Bearer wrong")],
        body,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = req(
        s.addr,
        "POST",
        "/api/commands",
        &[ct],
        r#"{"type":"acknowledge_host","host":"h","author":"a","comment":"c"}"#,
    )
    .await;
    assert_eq!(r.status, 401);
    let r = req(
        s.addr,
        "POST",
        "/ui/command",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "action=ack&host=firestorm&author=a",
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(s.backend.submitted.lock().expect("lock").is_empty());

    let auth = format!("Bearer {TOKEN}");
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        body,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let many = r#"[{"host":"firestorm","code":0,"output":"UP"},{"host":"firestorm","service":"Disk","code":1,"output":"a\nb"}]"#;
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        many,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        r#"{"host":"a;b","service":"s","code":0}"#,
    )
    .await;
    assert_eq!(r.status, 422);
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        "not json",
    )
    .await;
    assert_eq!(r.status, 400);
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        r#"{"host":"nosuchhost","service":"s","code":2}"#,
    )
    .await;
    assert_eq!(r.status, 422);
    let r = req(s.addr, "POST", "/api/commands", &[ct, ("Authorization", &auth)],
        r#"{"type":"schedule_service_downtime","host":"firestorm","service":"Disk","start":100,"end":200,"author":"admin","comment":"maint"}"#).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let sub = s.backend.submitted.lock().expect("lock").clone();
    assert_eq!(sub.len(), 4);
    assert_eq!(
        sub[0].to_external_command(1),
        "[1] PROCESS_SERVICE_CHECK_RESULT;firestorm;TCP Wrappers;2;Denied sshd-127.0.0.2"
    );
    assert!(matches!(&sub[1], Command::HostResult { code: 0, .. }));
    assert!(matches!(
        &sub[3],
        Command::ScheduleServiceDowntime {
            start: 100,
            end: 200,
            ..
        }
    ));

    // UI login: wrong token refused, right token sets a cookie that authorises forms.
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let r = req(s.addr, "POST", "/login", &[form], "token=nope").await;
    assert_eq!(r.status, 401);
    let r = req(s.addr, "POST", "/login", &[form], &format!("token={TOKEN}")).await;
    assert_eq!(r.status, 303);
    assert!(r.head.contains(&format!("picket_token={TOKEN}")));
    assert!(r.head.contains("HttpOnly"));
    let cookie = format!("picket_token={TOKEN}");
    let r = req(
        s.addr,
        "GET",
        "/service?host=firestorm&service=TCP%20Wrappers",
        &[("Cookie", &cookie)],
        "",
    )
    .await;
    assert!(r.body.contains("Acknowledge"));
    let r = req(s.addr, "POST", "/ui/command", &[form, ("Cookie", &cookie)],
        "action=ack&host=firestorm&service=TCP+Wrappers&author=admin&comment=seen&sticky=1&back=%2F%2Fevil.example").await;
    assert_eq!(r.status, 303);
    assert!(
        r.head.contains("location: /\r") || r.head.ends_with("location: /"),
        "{}",
        r.head
    );
    let sub = s.backend.submitted.lock().expect("lock").clone();
    assert!(
        matches!(&sub[4], Command::AcknowledgeService { sticky: true, author, .. } if author == "admin")
    );

    // Metrics saw the API traffic.
    let r = get(s.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.head.contains("text/plain; version=0.0.4"));
    assert!(
        r.body.contains("picket_api_results_received_total 3"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("picket_api_results_rejected_total{reason=\"auth\"} 2"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("picket_api_results_rejected_total{reason=\"invalid\"} 1")
    );
    assert!(
        r.body
            .contains("picket_api_results_rejected_total{reason=\"rejected\"} 1")
    );
    assert!(
        r.body
            .contains("picket_notifications_total{outcome=\"sent\"} 10")
    );
    let _ = &s.metrics;
}

#[tokio::test]
async fn read_only_without_token() {
    let s = start(None).await;
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[("Authorization", "Bearer anything")],
        r#"{"host":"h","code":0}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[],
        r#"{"host":"h","code":0}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(s.backend.submitted.lock().expect("lock").is_empty());
    assert_eq!(get(s.addr, "/").await.status, 200);
}

#[tokio::test]
async fn sse_delivers_events() {
    let s = start(Some(TOKEN)).await;
    let mut c = TcpStream::connect(s.addr).await.expect("connect");
    c.write_all(b"GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the response head: the handler has subscribed by then.
    while !String::from_utf8_lossy(&buf).contains("\r\n\r\n") {
        let n = c.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed before head");
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(head.contains("200 ok"));
    assert!(head.contains("content-type: text/event-stream"));
    let line = picket_history::parse_line(
        "[1700000200] SERVICE ALERT: firestorm;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-<b>127.0.0.9</b>",
    )
    .expect("line");
    let ev = LiveEvent::from_log(&line).expect("live event");
    s.events.send(ev).expect("a subscriber");
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if text.contains("event: state_change") && text.contains("127.0.0.9") {
            assert!(text.contains(r#""type":"state_change""#));
            assert!(text.contains(r#""host":"firestorm""#));
            break;
        }
        let n = c.read(&mut chunk).await.expect("read");
        assert!(n > 0, "stream closed: {text}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Read until `needle` appears or the peer closes; bounded.
async fn read_until(c: &mut TcpStream, buf: &mut Vec<u8>, needle: &str) -> bool {
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if String::from_utf8_lossy(buf).contains(needle) {
            return true;
        }
        match tokio::time::timeout_at(deadline, c.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return false,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => panic!(
                "no {needle:?} within 20 s: {}",
                String::from_utf8_lossy(buf)
            ),
        }
    }
}

/// `c` is closed by the server within `secs` (EOF or reset; data before it is ignored).
async fn closed_within(c: &mut TcpStream, secs: u64) -> bool {
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, c.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// `c` is still open: nothing to read, no EOF.
fn still_open(c: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(c.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

fn metric(body: &str, series: &str) -> Option<u64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn every_response_has_the_security_headers_and_pages_no_inline_code() {
    let s = start(Some(TOKEN)).await;
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    for (method, path, headers, body) in [
        ("GET", "/", &[][..], ""),
        ("GET", "/hosts", &[], ""),
        ("GET", "/login", &[], ""),
        ("GET", "/api/status", &[], ""),
        ("GET", "/metrics", &[], ""),
        ("GET", "/static/picket.js", &[], ""),
        ("GET", "/static/picket.css", &[], ""),
        ("GET", "/no/such/page", &[], ""),
        (
            "POST",
            "/api/results",
            &[("Content-Type", "application/json")][..],
            "{}",
        ),
        ("POST", "/login", &[form][..], "token=nope"),
    ] {
        let r = req(s.addr, method, path, headers, body).await;
        let csp = header(&r.head, "content-security-policy")
            .unwrap_or_else(|| panic!("{method} {path}: no CSP\n{}", r.head));
        for want in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(want), "{method} {path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{method} {path}: {csp}");
        assert_eq!(
            header(&r.head, "x-frame-options"),
            Some("DENY"),
            "{method} {path}"
        );
        assert_eq!(
            header(&r.head, "x-content-type-options"),
            Some("nosniff"),
            "{method} {path}"
        );
        assert_eq!(
            header(&r.head, "referrer-policy"),
            Some("same-origin"),
            "{method} {path}"
        );
    }
    // The pages' script and style are files (the CSP forbids inline ones).
    let page = get(s.addr, "/").await.body;
    assert!(
        page.contains(r#"<script src="/static/picket.js"></script>"#),
        "{page}"
    );
    assert!(page.contains(r#"<link rel="stylesheet" href="/static/picket.css">"#));
    assert!(
        !page.contains("<style") && !page.contains("EventSource"),
        "{page}"
    );
    let js = get(s.addr, "/static/picket.js").await;
    assert_eq!(js.status, 200);
    assert!(header(&js.head, "content-type").is_some_and(|t| t.starts_with("text/javascript")));
    assert!(js.body.contains("new EventSource('/events')"));
    assert!(
        js.body.contains("'pagehide'"),
        "streams must close with their page"
    );
    let css = get(s.addr, "/static/picket.css").await;
    assert!(header(&css.head, "content-type").is_some_and(|t| t.starts_with("text/css")));
}

#[tokio::test]
async fn hostile_back_links_redirect_to_the_root() {
    let s = start(Some(TOKEN)).await;
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let cookie = format!("picket_token={TOKEN}");
    // Form-encoded: a tab, a newline, backslashes, an encoded tab, a scheme.
    for (back, want) in [
        ("%2F%09%2Fevil.example%2F", "/"),
        ("%2F%0A%2Fevil.example%2F", "/"),
        ("%2F%5Cevil.example%2F", "/"),
        ("%5C%5Cevil.example%2F", "/"),
        ("%09%2F%2Fevil.example%2F", "/"),
        ("%2F%2509%2Fevil.example%2F", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2Fhost%3Fname%3Dfirestorm", "/host?name=firestorm"),
    ] {
        let r = req(
            s.addr,
            "POST",
            "/ui/command",
            &[form, ("Cookie", &cookie)],
            &format!("action=ack&host=firestorm&service=Disk&author=a&back={back}"),
        )
        .await;
        assert_eq!(r.status, 303, "{back}: {}", r.body);
        assert_eq!(
            header(&r.head, "location"),
            Some(want),
            "{back}\n{}",
            r.head
        );
        let r = req(
            s.addr,
            "POST",
            "/login",
            &[form],
            &format!("token={TOKEN}&back={back}"),
        )
        .await;
        assert_eq!(r.status, 303, "{back}: {}", r.body);
        assert_eq!(
            header(&r.head, "location"),
            Some(want),
            "{back}\n{}",
            r.head
        );
    }
    // The login page carries a safe `back` only.
    let r = get(s.addr, "/login?back=%2Fhost%3Fname%3Dfirestorm").await;
    assert!(
        r.body
            .contains(r#"name="back" value="/host?name=firestorm""#),
        "{}",
        r.body
    );
    let r = get(s.addr, "/login?back=%2F%09%2Fevil.example%2F").await;
    assert!(r.body.contains(r#"name="back" value="/""#), "{}", r.body);
}

#[tokio::test]
async fn wrong_tokens_are_rate_limited_per_source() {
    let s = start(Some(TOKEN)).await;
    let ct = ("Content-Type", "application/json");
    let body = r#"{"host":"firestorm","service":"Disk","code":0,"output":"ok"}"#;
    let mut codes = std::collections::BTreeMap::<u16, u32>::new();
    for i in 0..300 {
        let wrong = format!("Bearer guess{i}");
        let r = req_from(
            [127, 0, 0, 3],
            s.addr,
            "POST",
            "/api/results",
            &[ct, ("Authorization", &wrong)],
            body,
        )
        .await;
        *codes.entry(r.status).or_default() += 1;
        if r.status == 429 {
            assert!(header(&r.head, "retry-after").is_some(), "{}", r.head);
        }
    }
    // The burst (10) was checked; the other 290 were refused without a look.
    assert_eq!(codes.get(&403), Some(&10), "{codes:?}");
    assert_eq!(codes.get(&429), Some(&290), "{codes:?}");
    // The right token from the limited source waits for its bucket too ...
    let auth = format!("Bearer {TOKEN}");
    let r = req_from(
        [127, 0, 0, 3],
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        body,
    )
    .await;
    assert_eq!(r.status, 429);
    // ... and so do its logins (the UI's form), while another source is not held up.
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let r = req_from(
        [127, 0, 0, 3],
        s.addr,
        "POST",
        "/login",
        &[form],
        &format!("token={TOKEN}"),
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many wrong tokens"), "{}", r.body);
    let r = req_from(
        [127, 0, 0, 4],
        s.addr,
        "POST",
        "/api/results",
        &[ct, ("Authorization", &auth)],
        body,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = req_from(
        [127, 0, 0, 4],
        s.addr,
        "POST",
        "/login",
        &[form],
        &format!("token={TOKEN}"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(s.backend.submitted.lock().expect("lock").len(), 1);
    let m = get(s.addr, "/metrics").await.body;
    assert_eq!(
        metric(&m, "picket_web_auth_failures_total{reason=\"wrong\"}"),
        Some(10),
        "{m}"
    );
    assert_eq!(
        metric(&m, "picket_web_auth_failures_total{reason=\"limited\"}"),
        Some(292),
        "{m}"
    );
}

async fn connect_from(source: [u8; 4], addr: std::net::SocketAddr) -> TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind((std::net::Ipv4Addr::from(source), 0).into())
        .expect("bind source");
    sock.connect(addr).await.expect("connect")
}

/// A GET from `source` retried (bounded) until it is answered; the response text.
async fn get_when_served(source: [u8; 4], addr: std::net::SocketAddr, path: &str) -> String {
    for _ in 0..200 {
        let mut c = connect_from(source, addr).await;
        let r = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        if c.write_all(r.as_bytes()).await.is_ok() {
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(20), c.read_to_end(&mut buf)).await;
            let text = String::from_utf8_lossy(&buf).into_owned();
            if text.starts_with("HTTP/1.1 200") {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("GET {path} was never answered");
}

#[tokio::test]
async fn connections_past_the_caps_are_closed_at_once_and_counted() {
    const CAP: usize = 20;
    const PER_SOURCE: usize = 8;
    let s = start_with(WebConfig {
        max_connections: CAP,
        max_connections_per_source: PER_SOURCE,
        // Long enough that none of the idle ones times out during the test.
        header_timeout: Duration::from_secs(120),
        ..WebConfig::default()
    })
    .await;
    // One source fills its share; its next connection is closed at once ...
    let mut idle = Vec::new();
    for _ in 0..PER_SOURCE {
        idle.push(connect_from([127, 0, 0, 2], s.addr).await);
    }
    let mut over = connect_from([127, 0, 0, 2], s.addr).await;
    assert!(
        closed_within(&mut over, 20).await,
        "past the per-source cap"
    );
    // ... while another source's request is answered.
    let m = get_when_served([127, 0, 0, 1], s.addr, "/metrics").await;
    assert_eq!(
        metric(&m, "picket_web_connections_open"),
        Some(PER_SOURCE as u64 + 1),
        "{m}"
    );
    // More sources fill the whole cap; the accept queue is served in order, so the next
    // 50 (from sources under their own share) find it full.
    for i in 0..CAP - PER_SOURCE {
        idle.push(connect_from([127, 0, 0, 3 + (i / PER_SOURCE) as u8], s.addr).await);
    }
    let mut extra = Vec::new();
    for i in 0..50 {
        extra.push(connect_from([127, 0, 1, (i / 5) as u8], s.addr).await);
    }
    for (i, c) in extra.iter_mut().enumerate() {
        assert!(
            closed_within(c, 20).await,
            "connection {} past the cap is still open",
            CAP + i
        );
    }
    for c in &idle {
        assert!(still_open(c), "a connection under the cap was closed");
    }
    // One idle client goes away: its slot serves a real request.
    drop(idle.pop());
    let m = get_when_served([127, 0, 0, 1], s.addr, "/metrics").await;
    assert_eq!(
        metric(
            &m,
            "picket_web_connections_refused_total{reason=\"per_source\"}"
        ),
        Some(1),
        "{m}"
    );
    let refused = metric(&m, "picket_web_connections_refused_total{reason=\"cap\"}");
    assert!(refused.is_some_and(|n| n >= 50), "{m}");
    assert_eq!(
        metric(&m, "picket_web_connections_open"),
        Some(CAP as u64),
        "{m}"
    );
}

#[tokio::test]
async fn silent_slow_and_idle_connections_time_out() {
    let s = start_with(WebConfig {
        max_connections: 80,
        max_connections_per_source: 40,
        header_timeout: Duration::from_secs(1),
        ..WebConfig::default()
    })
    .await;
    // 30 that never send a byte, one that sends half a request head, one that stays
    // open (keep-alive) after its request was answered.
    let mut conns = Vec::new();
    for _ in 0..30 {
        conns.push(TcpStream::connect(s.addr).await.expect("connect"));
    }
    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n")
        .await
        .expect("write");
    conns.push(slow);
    let mut kept = TcpStream::connect(s.addr).await.expect("connect");
    kept.write_all(b"GET /api/status HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    assert!(read_until(&mut kept, &mut buf, "firestorm").await);
    conns.push(kept);
    for (i, c) in conns.iter_mut().enumerate() {
        assert!(
            closed_within(c, 30).await,
            "connection {i} was never timed out"
        );
    }
    let r = get(s.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    let timeouts = metric(&r.body, "picket_web_header_timeouts_total").expect("timeouts");
    assert!(timeouts >= 32, "{}", r.body);
}

async fn open_sse(addr: std::net::SocketAddr) -> (TcpStream, String) {
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    assert!(
        read_until(&mut c, &mut buf, "\r\n\r\n").await,
        "no response head"
    );
    (c, String::from_utf8_lossy(&buf).into_owned())
}

async fn gauge_becomes(s: &Srv, series: &str, want: u64) {
    let mut last = String::new();
    for _ in 0..400 {
        last = get(s.addr, "/metrics").await.body;
        if metric(&last, series) == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{series} never became {want}:\n{last}");
}

#[tokio::test]
async fn live_streams_are_capped_and_end_with_their_client() {
    let s = start_with(WebConfig {
        max_sse_subscribers: 2,
        ..WebConfig::default()
    })
    .await;
    let (a, head_a) = open_sse(s.addr).await;
    assert!(head_a.starts_with("HTTP/1.1 200"), "{head_a}");
    let (_b, head_b) = open_sse(s.addr).await;
    assert!(head_b.starts_with("HTTP/1.1 200"), "{head_b}");
    let (_c, head_c) = open_sse(s.addr).await;
    assert!(head_c.starts_with("HTTP/1.1 503"), "{head_c}");
    assert!(header(&head_c, "retry-after").is_some(), "{head_c}");
    gauge_becomes(&s, "picket_web_sse_subscribers", 2).await;
    // A client that goes away frees its stream and its slot.
    drop(a);
    gauge_becomes(&s, "picket_web_sse_subscribers", 1).await;
    let (_d, head_d) = open_sse(s.addr).await;
    assert!(head_d.starts_with("HTTP/1.1 200"), "{head_d}");
    let m = get(s.addr, "/metrics").await.body;
    assert_eq!(metric(&m, "picket_web_sse_refused_total"), Some(1), "{m}");
}

#[tokio::test]
async fn shutdown_ends_live_streams_and_idle_connections() {
    let mut s = start(Some(TOKEN)).await;
    let (mut sse, head) = open_sse(s.addr).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut idle = TcpStream::connect(s.addr).await.expect("connect");
    let mut kept = TcpStream::connect(s.addr).await.expect("connect");
    kept.write_all(b"GET /api/status HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    assert!(read_until(&mut kept, &mut buf, "firestorm").await);
    let _ = s.shutdown.take().expect("shutdown").send(());
    let done = tokio::time::timeout(Duration::from_secs(20), &mut s.task).await;
    assert!(
        matches!(done, Ok(Ok(Ok(())))),
        "the server did not stop: {done:?}"
    );
    for (what, c) in [
        ("live stream", &mut sse),
        ("idle", &mut idle),
        ("keep-alive", &mut kept),
    ] {
        assert!(
            closed_within(c, 20).await,
            "{what} connection still open after shutdown"
        );
    }
    assert!(TcpStream::connect(s.addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn a_trickled_request_body_is_cut_off() {
    let s = start_with(WebConfig {
        token: Some(TOKEN.into()),
        body_timeout: Duration::from_secs(1),
        ..WebConfig::default()
    })
    .await;
    let mut c = TcpStream::connect(s.addr).await.expect("connect");
    c.write_all(
        b"POST /api/results HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"host\":",
    )
    .await
    .expect("write");
    let mut buf = Vec::new();
    assert!(read_until(&mut c, &mut buf, "\r\n\r\n").await, "no answer");
    let head = String::from_utf8_lossy(&buf).into_owned();
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(closed_within(&mut c, 20).await, "connection kept open");
    let mut c = TcpStream::connect(s.addr).await.expect("connect");
    c.write_all(b"POST /api/results HTTP/1.1\r\nHost: t\r\nContent-Length: 3000000\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    assert!(read_until(&mut c, &mut buf, "\r\n\r\n").await, "no answer");
    let head = String::from_utf8_lossy(&buf).into_owned();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let m = get(s.addr, "/metrics").await.body;
    assert_eq!(metric(&m, "picket_web_body_timeouts_total"), Some(1), "{m}");
    // A body sent in one go still works.
    let auth = format!("Bearer {TOKEN}");
    let r = req(
        s.addr,
        "POST",
        "/api/results",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        r#"{"host":"firestorm","code":0}"#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

#[tokio::test]
async fn connection_events_are_taken_all_or_nothing() {
    use picket_correlator::{Kind, Proto, Source};
    let s = start(Some(TOKEN)).await;
    let ct = ("Content-Type", "application/json");
    let auth = format!("Bearer {TOKEN}");
    let post = |body: String| {
        let auth = auth.clone();
        async move {
            req(
                s.addr,
                "POST",
                "/api/connection-events",
                &[ct, ("Authorization", &auth)],
                &body,
            )
            .await
        }
    };
    let good = r#"{"time": 1764680000, "reporter": "web1", "source": {"addr": "203.0.113.5"},
        "dest_addr": "192.0.2.1", "dest_port": 22, "proto": "tcp", "daemon": "sshd",
        "kind": "auth_fail", "count": 3, "raw": "Failed password for root"}"#;
    let minimal =
        r#"{"time": 1764680001, "reporter": "web2", "source": "unknown", "kind": "refused"}"#;
    // Without the token: 401, nothing taken.
    let r = req(
        s.addr,
        "POST",
        "/api/connection-events",
        &[ct],
        &format!(r#"{{"events": [{good}]}}"#),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = post(format!(r#"{{"events": [{good}, {minimal}]}}"#)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body.trim(), r#"{"accepted":2}"#);
    {
        let ev = s.backend.events.lock().expect("lock");
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[0].source,
            Source::Addr("203.0.113.5".parse().expect("ip"))
        );
        assert_eq!(
            (ev[0].proto, ev[0].dest_port, ev[0].count),
            (Some(Proto::Tcp), Some(22), 3)
        );
        assert_eq!(ev[0].kind, Kind::AuthFail);
        assert_eq!(
            (ev[1].source.clone(), ev[1].count, ev[1].raw.as_str()),
            (Source::Unknown, 1, "")
        );
    }
    // A bad event anywhere refuses the whole request, naming it and its field.
    for (bad, field) in [
        (
            r#"{"time": "x", "reporter": "w", "source": "unknown", "kind": "refused"}"#,
            "time",
        ),
        (
            r#"{"time": 1, "source": "unknown", "kind": "refused"}"#,
            "reporter",
        ),
        (
            r#"{"time": 1, "reporter": "w", "source": {"addr": "300.1.1.1"}, "kind": "refused"}"#,
            "source",
        ),
        (
            r#"{"time": 1, "reporter": "w", "source": "unknown", "kind": "scan"}"#,
            "kind",
        ),
        (
            r#"{"time": 1, "reporter": "w", "source": "unknown", "kind": "trap", "dest_port": 70000}"#,
            "dest_port",
        ),
        (
            r#"{"time": 1, "reporter": "w", "source": "unknown", "kind": "trap", "count": 0}"#,
            "count",
        ),
    ] {
        let r = post(format!(r#"{{"events": [{good}, {bad}]}}"#)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(v["index"], 1, "{}", r.body);
        assert_eq!(v["field"], field, "{}", r.body);
    }
    let r = post("[1,2]".into()).await;
    assert_eq!(r.status, 400);
    let many = vec![minimal; 10_001].join(",");
    let r = post(format!(r#"{{"events": [{many}]}}"#)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(s.backend.events.lock().expect("lock").len(), 2);
    // A full engine queue: 503 busy, for the sender to retry.
    s.backend
        .busy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = post(format!(r#"{{"events": [{good}]}}"#)).await;
    assert_eq!(r.status, 503);
    assert!(r.body.contains(r#""error":"busy""#), "{}", r.body);
    let m = req(s.addr, "GET", "/metrics", &[], "").await;
    assert!(
        m.body
            .contains("picket_api_connection_events_received_total 2"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains(r#"picket_api_connection_events_rejected_total{reason="malformed"} 8"#),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn a_resent_sensor_batch_is_taken_once() {
    let s = start(Some(TOKEN)).await;
    let ct = ("Content-Type", "application/json");
    let auth = format!("Bearer {TOKEN}");
    let post = |body: String| {
        let auth = auth.clone();
        async move {
            req(
                s.addr,
                "POST",
                "/api/connection-events",
                &[ct, ("Authorization", &auth)],
                &body,
            )
            .await
        }
    };
    let ev = r#"{"time": 1764680001, "reporter": "web2", "source": "unknown", "kind": "refused"}"#;
    let batch = |sensor: &str, seq: u64| {
        format!(r#"{{"events": [{ev}], "batch": {{"sensor": "{sensor}", "seq": {seq}}}}}"#)
    };
    let taken = || s.backend.events.lock().expect("lock").len();
    // Refused while the engine is busy: not recorded, so the retry is taken.
    s.backend
        .busy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(post(batch("s1", 0)).await.status, 503);
    s.backend
        .busy
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let r = post(batch("s1", 0)).await;
    assert_eq!((r.status, r.body.trim()), (202, r#"{"accepted":1}"#));
    // The same batch again (its 202 was lost): a no-op.
    let r = post(batch("s1", 0)).await;
    assert_eq!(
        (r.status, r.body.trim()),
        (202, r#"{"accepted":0,"duplicate":true}"#)
    );
    assert_eq!(taken(), 1);
    // The next batch, another sensor's first, and untagged posts are taken.
    assert_eq!(post(batch("s1", 1)).await.status, 202);
    assert_eq!(post(batch("s2", 0)).await.status, 202);
    assert_eq!(post(format!(r#"{{"events": [{ev}]}}"#)).await.status, 202);
    assert_eq!(post(format!(r#"{{"events": [{ev}]}}"#)).await.status, 202);
    assert_eq!(taken(), 5);
    // A malformed tag refuses the request, naming the field.
    let r = post(format!(
        r#"{{"events": [{ev}], "batch": {{"sensor": "a b", "seq": 1}}}}"#
    ))
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(r#""field":"batch""#), "{}", r.body);
    assert_eq!(taken(), 5);
    let m = req(s.addr, "GET", "/metrics", &[], "").await;
    assert!(
        m.body
            .contains("picket_api_connection_event_batches_duplicate_total 1"),
        "{}",
        m.body
    );
}
