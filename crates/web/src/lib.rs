//! Picket's web UI, JSON API, live event stream and `/metrics` (axum, server-rendered HTML).
//!
//! The web server knows nothing of the engine's internals. The daemon wires it in with:
//!
//! * a [`Backend`] implementation: [`Backend::status`] returns a [`StatusView`] snapshot
//!   (hosts and services with state, output, ages, acks, downtimes, comments) and
//!   [`Backend::submit`] takes a validated [`Command`] (passive result, acknowledgement,
//!   downtime; [`Command::to_external_command`] gives the Nagios command line if the daemon
//!   wants to feed it through its external-command path so it is logged like the FIFO's);
//! * a `tokio::sync::broadcast::Sender<LiveEvent>` on which it publishes check results,
//!   state changes and notifications ([`LiveEvent::from_log`] builds them from the
//!   `nagios.log` lines the engine writes);
//! * optionally a [`picket_history::Store`] opened on the history database (a reader; the
//!   daemon's writer owns another connection);
//! * a shared [`Metrics`] registry where the daemon registers and updates its counters
//!   (results received/rejected by reason, notifications sent/failed, queue depths,
//!   latencies); `/metrics` renders it.
//!
//! ```text
//! let state = WebState::new(backend, events_tx.clone(), metrics.clone(), WebConfig { token, ..Default::default() })
//!     .with_history(Store::open(&history_path, StoreConfig::default())?);
//! let listener = tokio::net::TcpListener::bind(addr).await?;
//! tokio::spawn(picket_web::serve(listener, state));
//! ```
//!
//! Routes: `/` problems first, `/hosts`, `/host?name=`, `/service?host=&service=`,
//! `/log?kind=alerts|notifications|all&host=&service=&state=&text=&since=&until=&before=`,
//! `/denied`, `/login`, `/logout`, `POST /ui/command` (form, needs login), `/events` (SSE);
//! JSON: `GET /api/status`, `/api/problems`, `/api/log`, `/api/denied`, `/api/events` (SSE),
//! `POST /api/results` (one object or an array), `POST /api/commands` (a tagged [`Command`]),
//! both with `Authorization: Bearer <token>`; `GET /metrics`.
//!
//! Auth: without a configured token everything is read-only (POST → 403). With one, a POST
//! without credentials is 401, with a wrong token 403. The UI logs in by posting the token to
//! `/login`, which sets an `HttpOnly; SameSite=Strict` cookie.

mod metrics;
mod model;
mod pages;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Query as QueryParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use picket_history::{DeniedQuery, EventKind, HistoryRow, Query, Store};
use serde::Deserialize;
use tokio::sync::broadcast;

pub use metrics::{Counter, Gauge, Histogram, LATENCY_BUCKETS, Metrics};
pub use model::{
    Backend, Command, CommandError, CommentView, HostView, LiveEvent, ServiceView, StatusView,
    SubmitError, host_state_name, service_state_name,
};

use pages::LogParams;

/// Web server settings.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The bearer token for POSTs and the UI login; `None`: read-only.
    pub token: Option<String>,
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct WebState {
    backend: Arc<dyn Backend>,
    history: Option<Arc<Mutex<Store>>>,
    events: broadcast::Sender<LiveEvent>,
    metrics: Arc<Metrics>,
    cfg: Arc<WebConfig>,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("history", &self.history.is_some())
            .finish_non_exhaustive()
    }
}

impl WebState {
    /// Build the state.
    pub fn new(
        backend: Arc<dyn Backend>,
        events: broadcast::Sender<LiveEvent>,
        metrics: Arc<Metrics>,
        cfg: WebConfig,
    ) -> WebState {
        WebState {
            backend,
            history: None,
            events,
            metrics,
            cfg: Arc::new(cfg),
        }
    }

    /// Serve history from `store` (a connection of its own on the history database).
    pub fn with_history(mut self, store: Store) -> WebState {
        self.history = Some(Arc::new(Mutex::new(store)));
        self
    }
}

/// The axum router with every route.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(ui_problems))
        .route("/hosts", get(ui_hosts))
        .route("/host", get(ui_host))
        .route("/service", get(ui_service))
        .route("/log", get(ui_log))
        .route("/denied", get(ui_denied))
        .route("/login", get(ui_login_form).post(ui_login))
        .route("/logout", post(ui_logout))
        .route("/ui/command", post(ui_command))
        .route("/events", get(sse))
        .route("/api/status", get(api_status))
        .route("/api/problems", get(api_problems))
        .route("/api/log", get(api_log))
        .route("/api/denied", get(api_denied))
        .route("/api/events", get(sse))
        .route("/api/results", post(api_results))
        .route("/api/commands", post(api_commands))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

/// Serve until the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, state: WebState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// Serve on any listener until it fails: the daemon passes one that accepts at most its
/// share of the open-file budget.
pub async fn serve_on<L>(listener: L, state: WebState) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router(state)).await
}

// ---------------------------------------------------------------- auth

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_token(h: &HeaderMap) -> Option<String> {
    for v in h.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some(t) = part.trim().strip_prefix("picket_token=") {
                return Some(t.to_owned());
            }
        }
    }
    None
}

fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, tok) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| tok.trim().to_owned())
}

#[derive(Debug, PartialEq, Eq)]
enum AuthError {
    ReadOnly,
    Missing,
    Wrong,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            AuthError::ReadOnly => (StatusCode::FORBIDDEN, "read-only: no token configured"),
            AuthError::Missing => (StatusCode::UNAUTHORIZED, "bearer token required"),
            AuthError::Wrong => (StatusCode::FORBIDDEN, "invalid token"),
        };
        let mut r = (code, axum::Json(serde_json::json!({ "error": msg }))).into_response();
        if code == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

fn check(cfg: &WebConfig, presented: Option<String>) -> Result<(), AuthError> {
    let Some(tok) = cfg.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(AuthError::ReadOnly);
    };
    let Some(p) = presented else {
        return Err(AuthError::Missing);
    };
    if ct_eq(p.as_bytes(), tok.as_bytes()) {
        Ok(())
    } else {
        Err(AuthError::Wrong)
    }
}

fn logged_in(s: &WebState, h: &HeaderMap) -> bool {
    check(&s.cfg, cookie_token(h)).is_ok()
}

// ---------------------------------------------------------------- history helpers

#[derive(Debug)]
enum HistError {
    Disabled,
    Failed(String),
}

impl IntoResponse for HistError {
    fn into_response(self) -> Response {
        match self {
            HistError::Disabled => (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({ "error": "history is not enabled" })),
            )
                .into_response(),
            HistError::Failed(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({ "error": e })),
            )
                .into_response(),
        }
    }
}

async fn with_history<T, F>(s: &WebState, f: F) -> Result<T, HistError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> picket_history::Result<T> + Send + 'static,
{
    let Some(h) = s.history.clone() else {
        return Err(HistError::Disabled);
    };
    tokio::task::spawn_blocking(move || {
        let st = match h.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&st).map_err(|e| HistError::Failed(e.to_string()))
    })
    .await
    .map_err(|e| HistError::Failed(e.to_string()))?
}

fn log_query(p: &LogParams) -> Query {
    let kinds = match p.kind.as_deref() {
        Some("notifications") => Query::NOTIFICATION_KINDS.to_vec(),
        Some("all") => Vec::new(),
        Some(k) => match EventKind::parse(k) {
            Some(k) => vec![k],
            None => Query::ALERT_KINDS.to_vec(),
        },
        None => Query::ALERT_KINDS.to_vec(),
    };
    let nz = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
    Query {
        host: nz(&p.host),
        service: nz(&p.service),
        state: nz(&p.state),
        kinds,
        since: p.since,
        until: p.until,
        text: nz(&p.text),
        before_id: p.before,
        limit: p.limit.unwrap_or(200),
    }
}

#[derive(Debug, Default, Deserialize)]
struct DeniedParams {
    since: Option<i64>,
    host: Option<String>,
    limit: Option<u32>,
}

fn denied_query(p: &DeniedParams) -> DeniedQuery {
    DeniedQuery {
        since: p.since,
        host: p.host.clone().filter(|h| !h.is_empty()),
        limit: p.limit.unwrap_or(0),
    }
}

// ---------------------------------------------------------------- UI

async fn ui_problems(State(s): State<WebState>, h: HeaderMap) -> Html<String> {
    Html(pages::problems(&s.backend.status(), logged_in(&s, &h)).into_string())
}

async fn ui_hosts(State(s): State<WebState>, h: HeaderMap) -> Html<String> {
    Html(pages::hosts(&s.backend.status(), logged_in(&s, &h)).into_string())
}

#[derive(Debug, Deserialize)]
struct HostParams {
    name: String,
}

fn not_found(msg: &str, li: bool) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::message("Not found", msg, li).into_string()),
    )
        .into_response()
}

async fn ui_host(
    State(s): State<WebState>,
    h: HeaderMap,
    QueryParams(p): QueryParams<HostParams>,
) -> Response {
    let li = logged_in(&s, &h);
    let st = s.backend.status();
    let Some(host) = st.hosts.iter().find(|x| x.name == p.name) else {
        return not_found("No such host.", li);
    };
    let q = Query {
        host: Some(p.name.clone()),
        limit: 100,
        ..Default::default()
    };
    let rows = with_history(&s, move |st| st.query(&q)).await.ok();
    Html(pages::host_page(&st, host, rows.as_deref(), li).into_string()).into_response()
}

#[derive(Debug, Deserialize)]
struct ServiceParams {
    host: String,
    service: String,
}

async fn ui_service(
    State(s): State<WebState>,
    h: HeaderMap,
    QueryParams(p): QueryParams<ServiceParams>,
) -> Response {
    let li = logged_in(&s, &h);
    let st = s.backend.status();
    let Some(svc) = st
        .services
        .iter()
        .find(|x| x.host == p.host && x.description == p.service)
    else {
        return not_found("No such service.", li);
    };
    let q = Query {
        host: Some(p.host.clone()),
        service: Some(p.service.clone()),
        limit: 100,
        ..Default::default()
    };
    let rows = with_history(&s, move |st| st.query(&q)).await.ok();
    Html(pages::service_page(&st, svc, rows.as_deref(), li).into_string()).into_response()
}

async fn ui_log(
    State(s): State<WebState>,
    h: HeaderMap,
    QueryParams(p): QueryParams<LogParams>,
) -> Html<String> {
    let q = log_query(&p);
    let rows = with_history(&s, move |st| st.query(&q)).await.ok();
    Html(pages::log_page(&p, rows.as_deref(), logged_in(&s, &h)).into_string())
}

async fn ui_denied(
    State(s): State<WebState>,
    h: HeaderMap,
    QueryParams(p): QueryParams<DeniedParams>,
) -> Html<String> {
    let q = denied_query(&p);
    let rows = with_history(&s, move |st| st.denied(&q)).await.ok();
    let now = s.backend.status().now;
    Html(pages::denied_page(now, rows.as_deref(), logged_in(&s, &h)).into_string())
}

async fn ui_login_form(State(s): State<WebState>) -> Html<String> {
    Html(pages::login_page(None, s.cfg.token.is_some()).into_string())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

async fn ui_login(State(s): State<WebState>, Form(f): Form<LoginForm>) -> Response {
    match check(&s.cfg, Some(f.token.clone())) {
        Ok(()) => {
            // The token is a header-safe string only if it has no control characters.
            let cookie = format!(
                "picket_token={}; Path=/; HttpOnly; SameSite=Strict",
                f.token
            );
            match HeaderValue::from_str(&cookie) {
                Ok(v) if !f.token.contains([';', ' ', ',']) => {
                    let mut r = Redirect::to("/").into_response();
                    r.headers_mut().insert(header::SET_COOKIE, v);
                    r
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    Html(
                        pages::login_page(Some("This token cannot be stored in a cookie."), true)
                            .into_string(),
                    ),
                )
                    .into_response(),
            }
        }
        Err(e) => {
            let code = if e == AuthError::ReadOnly {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            (
                code,
                Html(pages::login_page(Some("Wrong token."), s.cfg.token.is_some()).into_string()),
            )
                .into_response()
        }
    }
}

async fn ui_logout() -> Response {
    let mut r = Redirect::to("/").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("picket_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
    r
}

fn form_command(f: &HashMap<String, String>, now: i64) -> Result<Command, String> {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    let host = g("host");
    let service = f.get("service").cloned().filter(|s| !s.is_empty());
    let author = g("author");
    let comment = g("comment");
    let int = |k: &str| -> Result<i64, String> {
        g(k).trim()
            .parse::<i64>()
            .map_err(|_| format!("invalid number in `{k}`"))
    };
    Ok(match (g("action").as_str(), service) {
        ("ack", Some(service)) => Command::AcknowledgeService {
            host,
            service,
            author,
            comment,
            sticky: f.contains_key("sticky"),
            notify: true,
            persistent: false,
        },
        ("ack", None) => Command::AcknowledgeHost {
            host,
            author,
            comment,
            sticky: f.contains_key("sticky"),
            notify: true,
            persistent: false,
        },
        ("downtime", service) => {
            let start = int("start").unwrap_or(now);
            let end = start.saturating_add(int("minutes")?.saturating_mul(60));
            match service {
                Some(service) => Command::ScheduleServiceDowntime {
                    host,
                    service,
                    start,
                    end,
                    fixed: true,
                    duration: 0,
                    author,
                    comment,
                },
                None => Command::ScheduleHostDowntime {
                    host,
                    start,
                    end,
                    fixed: true,
                    duration: 0,
                    author,
                    comment,
                },
            }
        }
        ("result", Some(service)) => Command::ServiceResult {
            host,
            service,
            code: i32::try_from(int("code")?).map_err(|_| "invalid code".to_owned())?,
            output: g("output"),
            time: None,
        },
        ("result", None) => Command::HostResult {
            host,
            code: i32::try_from(int("code")?).map_err(|_| "invalid code".to_owned())?,
            output: g("output"),
            time: None,
        },
        _ => return Err("unknown action".to_owned()),
    })
}

fn safe_back(b: Option<&String>) -> String {
    match b {
        Some(b)
            if b.starts_with('/') && !b.starts_with("//") && !b.contains(['\\', '\r', '\n']) =>
        {
            b.clone()
        }
        _ => "/".to_owned(),
    }
}

async fn ui_command(
    State(s): State<WebState>,
    h: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(e) = check(&s.cfg, cookie_token(&h)) {
        let code = if e == AuthError::Missing {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        return (
            code,
            Html(pages::message("Not allowed", "Log in first.", false).into_string()),
        )
            .into_response();
    }
    let now = s.backend.status().now;
    let res = form_command(&f, now)
        .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
        .and_then(|c| s.backend.submit(c).map_err(|e| e.to_string()));
    match res {
        Ok(()) => Redirect::to(&safe_back(f.get("back"))).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::message("Command refused", &e, true).into_string()),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------- SSE

fn live_stream(
    rx: broadcast::Receiver<LiveEvent>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(ev) => {
                let data = serde_json::to_string(&ev).unwrap_or_else(|_| "{}".to_owned());
                SseEvent::default().event(ev.name()).data(data)
            }
            // A slow subscriber is told how many events it missed rather than dropped.
            Err(broadcast::error::RecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").data(n.to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    })
}

async fn sse(State(s): State<WebState>) -> Response {
    let rx = s.events.subscribe();
    let mut r = Sse::new(live_stream(rx))
        .keep_alive(KeepAlive::default())
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

// ---------------------------------------------------------------- JSON API

async fn api_status(State(s): State<WebState>) -> axum::Json<StatusView> {
    axum::Json(s.backend.status())
}

async fn api_problems(State(s): State<WebState>) -> axum::Json<StatusView> {
    let mut st = s.backend.status();
    st.hosts.retain(|h| h.state != 0);
    st.services.retain(|x| x.state != 0);
    axum::Json(st)
}

async fn api_log(
    State(s): State<WebState>,
    QueryParams(p): QueryParams<LogParams>,
) -> Result<axum::Json<Vec<HistoryRow>>, HistError> {
    let q = log_query(&p);
    with_history(&s, move |st| st.query(&q))
        .await
        .map(axum::Json)
}

async fn api_denied(
    State(s): State<WebState>,
    QueryParams(p): QueryParams<DeniedParams>,
) -> Result<axum::Json<Vec<picket_history::DeniedSource>>, HistError> {
    let q = denied_query(&p);
    with_history(&s, move |st| st.denied(&q))
        .await
        .map(axum::Json)
}

/// A passive result as posted to `/api/results`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultIn {
    host: String,
    #[serde(default)]
    service: Option<String>,
    code: i32,
    #[serde(default)]
    output: String,
    #[serde(default)]
    time: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<ResultIn>),
    One(ResultIn),
}

fn json_err(code: StatusCode, msg: String) -> Response {
    (code, axum::Json(serde_json::json!({ "error": msg }))).into_response()
}

fn rejected(s: &WebState, reason: &str) {
    s.metrics
        .counter(
            "picket_api_results_rejected_total",
            "Passive results posted to the JSON API and rejected, by reason.",
            &[("reason", reason)],
        )
        .inc();
}

async fn api_results(State(s): State<WebState>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = check(&s.cfg, bearer(&h)) {
        rejected(&s, "auth");
        return e.into_response();
    }
    let items = match serde_json::from_slice::<OneOrMany>(&body) {
        Ok(OneOrMany::One(r)) => vec![r],
        Ok(OneOrMany::Many(v)) => v,
        Err(e) => {
            rejected(&s, "malformed");
            return json_err(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}"));
        }
    };
    let cmds: Vec<Command> = items
        .into_iter()
        .map(|r| match r.service {
            Some(service) => Command::ServiceResult {
                host: r.host,
                service,
                code: r.code,
                output: r.output,
                time: r.time,
            },
            None => Command::HostResult {
                host: r.host,
                code: r.code,
                output: r.output,
                time: r.time,
            },
        })
        .collect();
    // Validate the whole batch before submitting any of it.
    for (i, c) in cmds.iter().enumerate() {
        if let Err(e) = c.validate() {
            rejected(&s, "invalid");
            return json_err(StatusCode::UNPROCESSABLE_ENTITY, format!("result {i}: {e}"));
        }
    }
    let received = s.metrics.counter(
        "picket_api_results_received_total",
        "Passive results accepted from the JSON API.",
        &[],
    );
    let mut accepted = 0usize;
    for c in cmds {
        match s.backend.submit(c) {
            Ok(()) => {
                received.inc();
                accepted += 1;
            }
            Err(e) => {
                let (code, reason) = match &e {
                    SubmitError::Rejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "rejected"),
                    SubmitError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                };
                rejected(&s, reason);
                return (
                    code,
                    axum::Json(serde_json::json!({ "accepted": accepted, "error": e.to_string() })),
                )
                    .into_response();
            }
        }
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "accepted": accepted })),
    )
        .into_response()
}

async fn api_commands(State(s): State<WebState>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = check(&s.cfg, bearer(&h)) {
        return e.into_response();
    }
    let cmd: Command = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return json_err(StatusCode::BAD_REQUEST, format!("malformed command: {e}")),
    };
    if let Err(e) = cmd.validate() {
        return json_err(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    }
    match s.backend.submit(cmd) {
        Ok(()) => (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "accepted": 1 })),
        )
            .into_response(),
        Err(e @ SubmitError::Rejected(_)) => {
            json_err(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        Err(e @ SubmitError::Unavailable(_)) => {
            json_err(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

async fn metrics_text(State(s): State<WebState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_rules() {
        let ro = WebConfig { token: None };
        assert_eq!(check(&ro, Some("x".into())), Err(AuthError::ReadOnly));
        let c = WebConfig {
            token: Some("s3cret".into()),
        };
        assert_eq!(check(&c, None), Err(AuthError::Missing));
        assert_eq!(check(&c, Some("s3cre".into())), Err(AuthError::Wrong));
        assert_eq!(check(&c, Some("s3cret".into())), Ok(()));
    }

    #[test]
    fn back_links_stay_local() {
        assert_eq!(safe_back(Some(&"//evil.example/".to_owned())), "/");
        assert_eq!(safe_back(Some(&"https://evil.example/".to_owned())), "/");
        assert_eq!(safe_back(Some(&"/host?name=a".to_owned())), "/host?name=a");
        assert_eq!(safe_back(None), "/");
    }
}
