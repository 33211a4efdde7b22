//! The incident API and pages against a real temporary history database filled through
//! the store's ingest path (contract C1 lines in, C3 queries out), with a fake backend.
//! Requests go straight to the router (no socket): these are handler tests.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use picket_history::{Store, StoreConfig};
use picket_web::{
    Backend, Command, LiveEvent, Metrics, ServiceView, StatusView, SubmitError, WebConfig, WebState,
};
use tokio::sync::broadcast;
use tower_service::Service;

const TOKEN: &str = "t0ken-abc";
const T0: i64 = 1_764_680_000;

struct Fake {
    incident_service: Option<(String, String)>,
    submitted: Mutex<Vec<Command>>,
}

impl Backend for Fake {
    fn status(&self) -> StatusView {
        StatusView {
            now: T0 + 3600,
            hosts: Vec::new(),
            services: vec![ServiceView {
                host: "network".into(),
                description: "Port scans".into(),
                state: 2,
                hard: true,
                output: "203.0.113.5 scanned 3 hosts on tcp/22 (web1, web2, web3) since 12:00:10"
                    .into(),
                is_volatile: true,
                ..Default::default()
            }],
        }
    }

    fn submit(&self, cmd: Command) -> Result<(), SubmitError> {
        self.submitted.lock().expect("lock").push(cmd);
        Ok(())
    }

    fn incident_service(&self) -> Option<(String, String)> {
        self.incident_service.clone()
    }
}

fn conn(t: i64, reporter: &str, source: &str, port: u16, kind: &str, count: u32) -> String {
    format!(
        "[{t}] CONNECTION EVENT: {t};{reporter};{source};tcp;{port};sshd;{kind};{count};refused connect from {source}"
    )
}

#[allow(clippy::too_many_arguments)]
fn incident(
    t: i64,
    id: u64,
    transition: &str,
    key: &str,
    detectors: &str,
    first: i64,
    hosts: &str,
    output: &str,
) -> String {
    let n = hosts.split(',').count();
    format!(
        "[{t}] SCAN INCIDENT: {id};{transition};{key};{detectors};{n};{n};1;1;{first};{t};0;{hosts};tcp/22;sshd;{output}"
    )
}

struct Srv {
    app: axum::Router,
    backend: Arc<Fake>,
    _dir: tempfile::TempDir,
}

fn start(history: bool, svc: Option<(&str, &str)>) -> Srv {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("history.db");
    let mut w = Store::open(&db, StoreConfig::default()).expect("writer");
    let out1 = "203.0.113.5 scanned 3 hosts on tcp/22 (web1, web2, web3) since 12:00:10";
    let lines = vec![
        // A sweep of three hosts: incident 1, closed.
        conn(T0 + 10, "web1", "203.0.113.5", 22, "refused", 1),
        conn(T0 + 20, "web2", "203.0.113.5", 22, "refused", 1),
        conn(T0 + 30, "web3", "203.0.113.5", 22, "refused", 1),
        incident(
            T0 + 30,
            1,
            "opened",
            "203.0.113.5",
            "horizontal",
            T0 + 10,
            "web1,web2,web3",
            out1,
        ),
        incident(
            T0 + 1900,
            1,
            "closed",
            "203.0.113.5",
            "horizontal",
            T0 + 10,
            "web1,web2,web3",
            out1,
        ),
        // A hostile reporter name and an open incident from another source.
        conn(
            T0 + 100,
            "<script>x</script>",
            "198.51.100.7",
            23,
            "trap",
            4,
        ),
        "[1764680105] SERVICE ALERT: db1;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-198.51.100.7"
            .to_owned(),
        incident(
            T0 + 105,
            2,
            "opened",
            "198.51.100.7",
            "trap",
            T0 + 100,
            "<script>x</script>,db1",
            "198.51.100.7 touched trap port tcp/23",
        ),
        // Incident 4: two sources of 192.0.2.0/24 (a distributed scan), open.
        conn(T0 + 200, "web1", "192.0.2.10", 3389, "firewall_drop", 1),
        conn(T0 + 201, "web2", "192.0.2.11", 3389, "firewall_drop", 1),
        incident(
            T0 + 201,
            4,
            "opened",
            "192.0.2.0/24",
            "distributed",
            T0 + 200,
            "web1,web2",
            "2 sources of 192.0.2.0/24 on tcp/3389",
        ),
        // Incident 3: open.
        conn(T0 + 3000, "web1", "203.0.113.5", 22, "auth_fail", 2),
        incident(
            T0 + 3000,
            3,
            "opened",
            "203.0.113.5",
            "vertical",
            T0 + 3000,
            "web1",
            "203.0.113.5 scanned 1 host",
        ),
    ];
    w.ingest_lines(lines.iter().map(String::as_str))
        .expect("ingest");
    let backend = Arc::new(Fake {
        incident_service: svc.map(|(h, s)| (h.to_owned(), s.to_owned())),
        submitted: Mutex::new(Vec::new()),
    });
    let (events, _) = broadcast::channel::<LiveEvent>(8);
    let state = WebState::new(
        backend.clone(),
        events,
        Arc::new(Metrics::new()),
        WebConfig {
            token: Some(TOKEN.into()),
            ..WebConfig::default()
        },
    );
    let state = if history {
        state.with_history(Store::open(&db, StoreConfig::default()).expect("reader"))
    } else {
        state
    };
    Srv {
        app: picket_web::router(state),
        backend,
        _dir: dir,
    }
}

async fn get_as(s: &Srv, path: &str, cookie: bool) -> (u16, String) {
    let mut r = Request::get(path);
    if cookie {
        r = r.header("cookie", format!("picket_token={TOKEN}"));
    }
    let resp = s
        .app
        .clone()
        .call(r.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status().as_u16();
    let csp = resp
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    assert!(
        csp.is_some_and(|c| c.contains("script-src 'self'")),
        "{path}: no CSP"
    );
    let body = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(s: &Srv, path: &str) -> (u16, String) {
    get_as(s, path, false).await
}

async fn json(s: &Srv, path: &str) -> (u16, serde_json::Value) {
    let (code, body) = get(s, path).await;
    (
        code,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")),
    )
}

fn ids(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|i| i["id"].as_u64().expect("id"))
        .collect()
}

#[tokio::test]
async fn api_lists_newest_first_with_filters_and_paging() {
    let s = start(true, None);
    let (code, v) = json(&s, "/api/incidents").await;
    assert_eq!(code, 200);
    assert_eq!(ids(&v), [4, 3, 2, 1]);
    let one = &v[3];
    assert_eq!(one["source"], "203.0.113.5");
    assert_eq!(one["kind"], serde_json::json!(["horizontal"]));
    assert_eq!(one["state"], "closed");
    assert_eq!(one["first_seen"], T0 + 10);
    assert_eq!(one["last_seen"], T0 + 1900);
    assert_eq!(one["hosts"], serde_json::json!(["web1", "web2", "web3"]));
    assert_eq!(one["ports"], serde_json::json!(["tcp/22"]));
    assert_eq!(one["daemons"], serde_json::json!(["sshd"]));
    assert_eq!(one["events"], 3);
    assert_eq!(one["host_count"], 3);
    assert_eq!(one["recurrence"], false);
    assert_eq!(v[0]["state"], "open");

    assert_eq!(
        ids(&json(&s, "/api/incidents?state=open").await.1),
        [4, 3, 2]
    );
    assert_eq!(ids(&json(&s, "/api/incidents?state=closed").await.1), [1]);
    assert_eq!(
        ids(&json(&s, "/api/incidents?source=203.0.113.5").await.1),
        [3, 1]
    );
    assert_eq!(ids(&json(&s, "/api/incidents?limit=1").await.1), [4]);
    assert_eq!(
        ids(&json(&s, "/api/incidents?limit=1&before=3").await.1),
        [2]
    );
    assert_eq!(
        ids(&json(&s, "/api/incidents?limit=2&before=4").await.1),
        [3, 2]
    );
    assert_eq!(
        ids(&json(&s, "/api/incidents?limit=99999999").await.1),
        [4, 3, 2, 1]
    );
    let (code, v) = json(&s, "/api/incidents?state=maybe").await;
    assert_eq!(code, 400);
    assert!(v["error"].as_str().is_some_and(|e| e.contains("state")));
    let (code, _) = get(&s, "/api/incidents?limit=-1").await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn api_incident_has_its_events_and_unknown_ids_are_404() {
    let s = start(true, None);
    let (code, v) = json(&s, "/api/incidents/1").await;
    assert_eq!(code, 200);
    assert_eq!(v["id"], 1);
    let ev = v["connection_events"].as_array().expect("events");
    // Its key between first and last seen: the three sweep events, not incident 3's.
    assert_eq!(
        ev.iter()
            .map(|e| e["reporter"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["web3", "web2", "web1"]
    );
    assert_eq!(ev[0]["port"], 22);
    assert_eq!(ev[0]["kind"], "refused");
    assert_eq!(v["events_truncated"], false);
    for path in ["/api/incidents/99", "/api/incidents/x", "/api/incidents/-1"] {
        let (code, v) = json(&s, path).await;
        assert_eq!(code, 404, "{path}");
        assert_eq!(v["error"], "no such incident", "{path}");
    }
    let s = start(false, None);
    let (code, v) = json(&s, "/api/incidents").await;
    assert_eq!(code, 404);
    assert_eq!(v["error"], "history is not enabled");
}

#[tokio::test]
async fn incidents_page_lists_open_first_and_escapes() {
    let s = start(true, None);
    let (code, page) = get(&s, "/incidents").await;
    assert_eq!(code, 200);
    assert!(
        page.contains(r#"<a href="/incidents">Incidents</a>"#),
        "nav"
    );
    assert!(page.contains("3 open, 1 recently closed."), "{page}");
    let open = page.find("id=\"incidents-open\"").expect("open table");
    let closed = page.find("id=\"incidents-closed\"").expect("closed table");
    assert!(open < closed);
    let i3 = page.find(r#"href="/incidents/3""#).expect("#3");
    let i1 = page.find(r#"href="/incidents/1""#).expect("#1");
    assert!(open < i3 && i3 < closed && closed < i1, "open first");
    assert!(page.contains(r#"href="/source/203.0.113.5""#));
    assert!(!page.contains("<script>x"), "hostile host name unescaped");
    assert!(!page.contains(" style="), "inline style");
    let (_, page) = get(&s, "/incidents?state=closed").await;
    assert!(page.contains("1 incidents (closed)."), "{page}");
    let (code, _) = get(&s, "/incidents?state=%3Cb%3E").await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn source_page_draws_the_timeline() {
    let s = start(true, None);
    let (code, page) = get(&s, "/source/203.0.113.5").await;
    assert_eq!(code, 200);
    assert!(page.contains("<svg"), "{page}");
    assert_eq!(page.matches("<circle").count(), 4, "{page}");
    // Both incidents shaded, the open one dashed.
    assert!(page.contains(r#"class="span closed""#));
    assert!(page.contains(r#"class="span open""#));
    assert!(page.contains("4 events (5 connections) reported by 3 hosts"));
    // A prefix key in the path, percent-encoded or not.
    for p in ["/source/203.0.113.0%2F24", "/source/203.0.113.0/24"] {
        let (code, page) = get(&s, p).await;
        assert_eq!(code, 200, "{p}");
        assert!(page.contains("Source 203.0.113.0/24"), "{p}: {page}");
        assert_eq!(page.matches("<circle").count(), 4, "{p}");
    }
    // Hostile names from the network, escaped in the chart and the table; the Denied
    // result line counts as an event too.
    let (_, page) = get(&s, "/source/198.51.100.7").await;
    assert!(!page.contains("<script>x"), "{page}");
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert_eq!(page.matches("<circle").count(), 2, "{page}");
    assert!(page.contains("k-trap"));
    // A distributed scan's incident (keyed by the /24) shows on its members' pages.
    let (_, page) = get(&s, "/source/192.0.2.11").await;
    assert!(page.contains(r#"href="/incidents/4""#), "{page}");
    assert_eq!(page.matches("<circle").count(), 1, "{page}");
    let (code, page) = get(&s, "/source/192.0.2.1").await;
    assert_eq!(code, 200);
    assert!(page.contains("No connection events recorded for this source."));
    // The Denied page links its sources here.
    let (_, page) = get(&s, "/denied").await;
    assert!(page.contains(r#"href="/source/198.51.100.7""#), "{page}");
}

#[tokio::test]
async fn incident_page_links_the_service_and_acknowledges_in_one_form() {
    let s = start(true, Some(("network", "Port scans")));
    let (code, page) = get(&s, "/incidents/1").await;
    assert_eq!(code, 200);
    assert!(page.contains("Incident #1"));
    assert!(page.contains(r#"href="/service?host=network&amp;service=Port%20scans""#));
    assert!(
        !page.contains("Acknowledge</button>"),
        "no form without login"
    );
    assert!(page.contains("<svg"));
    let (_, page) = get_as(&s, "/incidents/1", true).await;
    assert!(page.contains("Acknowledge</button>"), "{page}");
    assert!(page.contains(r#"name="back" value="/incidents/1""#));
    assert!(page.contains(r#"value="scan incident #1 from 203.0.113.5""#));
    // Posting that form acknowledges the incident service.
    let form = "action=ack&host=network&service=Port+scans&back=%2Fincidents%2F1&author=web&comment=scan+incident+%231";
    let resp = s
        .app
        .clone()
        .call(
            Request::post("/ui/command")
                .header("cookie", format!("picket_token={TOKEN}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("content-length", form.len().to_string())
                .body(Body::from(form))
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/incidents/1")
    );
    let sent = s.backend.submitted.lock().expect("lock").clone();
    assert!(
        matches!(&sent[..], [Command::AcknowledgeService { host, service, .. }]
            if host == "network" && service == "Port scans"),
        "{sent:?}"
    );
    // Without the backend's word, the service whose output is the incident's is found.
    let s = start(true, None);
    let (_, page) = get(&s, "/incidents/1").await;
    assert!(page.contains(r#"href="/service?host=network&amp;service=Port%20scans""#));
    let (_, page) = get(&s, "/incidents/2").await;
    assert!(
        page.contains("does not know which service carries incidents"),
        "{page}"
    );
    let (code, _) = get(&s, "/incidents/42").await;
    assert_eq!(code, 404);
}
