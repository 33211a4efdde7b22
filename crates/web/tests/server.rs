//! The server on 127.0.0.1:0 with a fake backend and a temporary history database, driven
//! by a minimal HTTP/1.1 client over TCP.

use std::sync::{Arc, Mutex};

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
}

struct Srv {
    addr: std::net::SocketAddr,
    backend: Arc<Fake>,
    events: broadcast::Sender<LiveEvent>,
    metrics: Arc<Metrics>,
    _dir: tempfile::TempDir,
}

async fn start(token: Option<&str>) -> Srv {
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
    let state = WebState::new(
        backend.clone(),
        events.clone(),
        metrics.clone(),
        WebConfig {
            token: token.map(str::to_owned),
        },
    )
    .with_history(reader);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(picket_web::serve(listener, state));
    Srv {
        addr,
        backend,
        events,
        metrics,
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
    let mut s = TcpStream::connect(addr).await.expect("connect");
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
