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
//! `/denied`, `/incidents?state=&source=&before=`, `/incidents/{id}`, `/source/{addr}`
//! (a source's incidents and the timeline chart of its events, server-rendered SVG),
//! `/login?back=`, `/logout`, `POST /ui/command` (form, needs login), `/events`
//! (SSE), `/static/picket.js`, `/static/picket.css`;
//! JSON: `GET /api/status`, `/api/problems`, `/api/log`, `/api/denied`,
//! `/api/incidents?state=open|closed&source=&limit=&before=` (newest first, at most 1000),
//! `/api/incidents/{id}` (with its `connection_events`; 404 for an unknown id),
//! `/api/events` (SSE),
//! `POST /api/results` (one object or an array), `POST /api/commands` (a tagged [`Command`]),
//! `POST /api/connection-events` (`{"events": [...]}`, serde of
//! `picket_correlator::ConnectionEvent`, at most 10,000 events and 4 MiB; all or nothing:
//! 400 with `index` and `field` for a malformed event, 503 `busy` when the engine's queue is
//! full; an optional `"batch": {"sensor": ID, "seq": N}` makes a resent batch a no-op,
//! see [`batches`]), all with `Authorization: Bearer <token>`; `GET /metrics`.
//!
//! Auth: without a configured token everything is read-only (POST → 403). With one, a POST
//! without credentials is 401, with a wrong token 403. The UI logs in by posting the token to
//! `/login`, which sets an `HttpOnly; SameSite=Strict` cookie. Tokens are compared in
//! constant time; a source address (IPv4, or IPv6 /64) that presented too many wrong
//! tokens ([`AuthLimit`]: a burst of 10, then one per 2 s) is answered 429 without its
//! token being looked at, until its bucket refills; other sources are not affected and
//! a right token costs nothing. Failures are counted in `picket_web_auth_failures_total`.
//!
//! Connections ([`serve`], [`serve_with_shutdown`]): at most
//! [`WebConfig::max_connections`] at once, and [`WebConfig::max_connections_per_source`]
//! from one source, more are closed at once and counted; a
//! connection that has not sent a complete request head [`WebConfig::header_timeout`]
//! after it was accepted, or after its previous response (keep-alive idle), is closed, and
//! a request body must arrive within [`WebConfig::body_timeout`] (408).
//! At most [`WebConfig::max_sse_subscribers`] live-event streams (and never more than half
//! the connection cap) are open at once; more are answered 503. A stream ends when its
//! client goes away or the server shuts down.
//!
//! Every response carries a strict `Content-Security-Policy` (no inline script or style:
//! the page's script and stylesheet are `/static/picket.js` and `/static/picket.css`),
//! `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: same-origin`. `back=` values (after a form command or a login) are
//! honoured only when a browser would read them as a path on this site.

pub mod batches;
mod guard;
mod icinga;
mod identities;
mod incidents;
mod metrics;
mod model;
mod nrdp;
mod pages;
mod serve;
mod timeline;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query as QueryParams, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use picket_history::{DeniedQuery, EventKind, HistoryRow, Query, Store};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

pub use guard::AuthLimit;
pub use metrics::{Counter, Gauge, Histogram, LATENCY_BUCKETS, Metrics};
pub use model::{
    Backend, Command, CommandError, CommentView, HostView, LiveEvent, ResultFields, ServiceView,
    StatusView, SubmitError, host_state_name, service_state_name,
};

pub use picket_authz::{Identity, Ledger, Outcome, Via};

use guard::{AuthLimiter, safe_back};
use pages::LogParams;
use picket_authz::Refusal;
pub use serve::{serve, serve_with_shutdown};

/// Web server settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The bearer token for POSTs and the UI login; `None`: read-only.
    pub token: Option<String>,
    /// Connections open at once (`web_max_connections`); past it new ones are closed at
    /// once and counted in `picket_web_connections_refused_total`.
    pub max_connections: usize,
    /// Connections open at once from one source (IPv4 address, IPv6 /64), never more
    /// than half of `max_connections`: one client cannot take every slot.
    pub max_connections_per_source: usize,
    /// Time a connection has to send a complete request head, from its accept or from the
    /// end of its previous response (so also the keep-alive idle timeout).
    pub header_timeout: Duration,
    /// Live-event streams open at once (capped at half of `max_connections`).
    pub max_sse_subscribers: usize,
    /// Time a request has to send its whole body once its head is in (a body trickled
    /// in slower is answered 408 and its connection closed).
    pub body_timeout: Duration,
    /// Failed authentications allowed per source.
    pub auth_limit: AuthLimit,
    /// On shutdown, how long requests in progress may take to finish.
    pub shutdown_grace: Duration,
    /// Scoped API identities (`api_identities_file`): a bearer token or a basic-auth
    /// password each, and what the identity may submit. `token` above stays unscoped.
    pub identities: Vec<Identity>,
    /// Where NRDP's `cmd=submitcheck` is served (`nrdp_path`, default `/nrdp/`);
    /// `None`: not served.
    pub nrdp_path: Option<String>,
}

impl WebConfig {
    /// Whether any token can log in (the unscoped one, or an identity's).
    fn can_log_in(&self) -> bool {
        self.token.as_deref().is_some_and(|t| !t.is_empty())
            || self.identities.iter().any(|i| i.token.is_some())
    }

    /// The default of `max_connections` (`web_max_connections`).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

    fn per_source_limit(&self) -> usize {
        self.max_connections_per_source
            .min(self.max_connections / 2)
            .max(1)
    }
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            token: None,
            max_connections: WebConfig::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: 32,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_sse_subscribers: 64,
            auth_limit: AuthLimit::default(),
            shutdown_grace: Duration::from_secs(1),
            identities: Vec::new(),
            nrdp_path: Some("/nrdp/".into()),
        }
    }
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct WebState {
    backend: Arc<dyn Backend>,
    history: Option<Arc<Mutex<Store>>>,
    events: broadcast::Sender<LiveEvent>,
    metrics: Arc<Metrics>,
    cfg: Arc<WebConfig>,
    auth: Arc<Mutex<AuthLimiter>>,
    sse_slots: Arc<Semaphore>,
    /// Per-identity counts and last submissions (shared with the daemon's NSCA-ng mirror).
    ledger: Arc<Mutex<Ledger>>,
    /// Set to `true` when the server shuts down: live-event streams end.
    stopping: Arc<watch::Sender<bool>>,
    /// Sensor batches taken (`POST /api/connection-events` with a `batch` tag).
    batches: Arc<Mutex<batches::Batches>>,
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
        let sse = cfg.max_sse_subscribers.min(cfg.max_connections / 2).max(1);
        let mut ledger = Ledger::default();
        for id in &cfg.identities {
            ledger.declare(&id.name);
        }
        WebState {
            ledger: Arc::new(Mutex::new(ledger)),
            backend,
            history: None,
            events,
            metrics,
            auth: Arc::new(Mutex::new(AuthLimiter::new(cfg.auth_limit))),
            sse_slots: Arc::new(Semaphore::new(sse)),
            stopping: Arc::new(watch::channel(false).0),
            batches: Arc::new(Mutex::new(batches::Batches::default())),
            cfg: Arc::new(cfg),
        }
    }

    /// Keep the table of sensor batches taken in `path` (see [`batches`]'s doc: a resent
    /// batch is recognized across restarts). Without it the table is in memory only.
    pub fn with_batch_file(mut self, path: &std::path::Path) -> std::io::Result<WebState> {
        self.batches = Arc::new(Mutex::new(batches::Batches::open(Some(path))?));
        Ok(self)
    }

    /// Share `ledger` (the daemon records NSCA-ng identities in it too); the
    /// configured API identities are declared in it.
    pub fn with_ledger(mut self, ledger: Arc<Mutex<Ledger>>) -> WebState {
        if let Ok(mut l) = ledger.lock() {
            for id in &self.cfg.identities {
                l.declare(&id.name);
            }
        }
        self.ledger = ledger;
        self
    }

    /// Serve history from `store` (a connection of its own on the history database).
    pub fn with_history(mut self, store: Store) -> WebState {
        self.history = Some(Arc::new(Mutex::new(store)));
        self
    }
}

/// Checks an `nrdp_path`: `/`-separated segments of letters, digits, `_`, `.`, `-`,
/// whose first is none of the UI's or API's own (`api`, `v1`, `static`, …).
pub fn check_nrdp_path(p: &str) -> Result<(), String> {
    const OURS: &[&str] = &[
        "api",
        "v1",
        "static",
        "events",
        "metrics",
        "login",
        "logout",
        "ui",
        "host",
        "hosts",
        "service",
        "log",
        "denied",
        "incidents",
        "source",
        "identities",
    ];
    let body = p
        .strip_prefix('/')
        .ok_or_else(|| format!("nrdp_path {p:?} must start with `/`"))?;
    let body = body.strip_suffix('/').unwrap_or(body);
    let segs: Vec<&str> = body.split('/').collect();
    if body.is_empty()
        || segs.iter().any(|s| {
            s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        })
    {
        return Err(format!(
            "nrdp_path {p:?}: segments of letters, digits, `_`, `.` and `-` only"
        ));
    }
    if OURS.contains(&segs[0]) {
        return Err(format!(
            "nrdp_path {p:?} would hide the web server's own /{}",
            segs[0]
        ));
    }
    Ok(())
}

/// The axum router with every route. Requests that carry a
/// `ConnectInfo<SocketAddr>` extension (as [`serve`] adds) are rate-limited per source
/// address; others share one bucket.
pub fn router(state: WebState) -> Router {
    let mut r = Router::new();
    if let Some(p) = state
        .cfg
        .nrdp_path
        .as_deref()
        .filter(|p| check_nrdp_path(p).is_ok())
    {
        r = r.route(p, get(nrdp::handle).post(nrdp::handle));
        if let Some(bare) = p.strip_suffix('/').filter(|b| !b.is_empty()) {
            r = r.route(bare, get(nrdp::handle).post(nrdp::handle));
        }
    }
    r.route("/", get(ui_problems))
        .route("/hosts", get(ui_hosts))
        .route("/host", get(ui_host))
        .route("/service", get(ui_service))
        .route("/log", get(ui_log))
        .route("/denied", get(ui_denied))
        .route("/incidents", get(incidents::ui_incidents))
        .route("/incidents/{id}", get(incidents::ui_incident))
        .route("/source/{*addr}", get(incidents::ui_source))
        .route("/login", get(ui_login_form).post(ui_login))
        .route("/logout", post(ui_logout))
        .route("/ui/command", post(ui_command))
        .route("/identities", get(identities::ui_identities))
        .route(
            "/v1/actions/process-check-result",
            post(icinga::process_check_result),
        )
        .route("/events", get(sse))
        .route("/api/status", get(api_status))
        .route("/api/problems", get(api_problems))
        .route("/api/log", get(api_log))
        .route("/api/denied", get(api_denied))
        .route("/api/incidents", get(incidents::api_incidents))
        .route("/api/incidents/{id}", get(incidents::api_incident))
        .route("/api/events", get(sse))
        .route("/api/identities", get(identities::api_identities))
        .route("/api/results", post(api_results))
        .route("/api/commands", post(api_commands))
        .route("/api/connection-events", post(api_connection_events))
        .route("/metrics", get(metrics_text))
        .route("/static/picket.js", get(static_js))
        .route("/static/picket.css", get(static_css))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_body,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The largest request body read (axum's own default limit).
const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// The largest body of `POST /api/connection-events` (contract C2).
const EVENTS_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// The most events in one `POST /api/connection-events`.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// Read a request's body in full, within [`WebConfig::body_timeout`], before any handler
/// sees it: a client trickling a body cannot hold its connection (and its slot) forever.
async fn read_body(
    State(s): State<WebState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let h = req.headers();
    if !h.contains_key(header::CONTENT_LENGTH) && !h.contains_key(header::TRANSFER_ENCODING) {
        return next.run(req).await;
    }
    let declared = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let refuse = |code: StatusCode, msg: &str| {
        let mut r = (code, axum::Json(serde_json::json!({ "error": msg }))).into_response();
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let limit = if req.uri().path() == "/api/connection-events" {
        EVENTS_BODY_LIMIT
    } else {
        BODY_LIMIT
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body over {} MiB", limit >> 20),
        );
    }
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(s.cfg.body_timeout, axum::body::to_bytes(body, limit));
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Ok(Err(e)) => refuse(
            StatusCode::BAD_REQUEST,
            &format!("request body unreadable or over 2 MiB: {e}"),
        ),
        Err(_) => {
            s.metrics
                .counter(
                    "picket_web_body_timeouts_total",
                    "Requests whose body did not arrive in time (answered 408, connection closed).",
                    &[],
                )
                .inc();
            refuse(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time",
            )
        }
    }
}

// ---------------------------------------------------------------- headers, static files

/// Scripts and styles only from this origin's files, nothing else loaded, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

async fn static_js() -> Response {
    static_file("text/javascript; charset=utf-8", pages::LIVE_JS)
}

async fn static_css() -> Response {
    static_file("text/css; charset=utf-8", pages::CSS)
}

// ---------------------------------------------------------------- auth

/// The client's address, when the server put it in the request (`serve` does).
#[derive(Debug, Clone, Copy)]
struct Peer(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Infallible> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
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
    /// Too many failures from this source: try again after this long.
    Limited(Duration),
}

fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            AuthError::ReadOnly => (StatusCode::FORBIDDEN, "read-only: no token configured"),
            AuthError::Missing => (StatusCode::UNAUTHORIZED, "bearer token required"),
            AuthError::Wrong => (StatusCode::FORBIDDEN, "invalid token"),
            AuthError::Limited(wait) => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(serde_json::json!({
                        "error": "too many failed authentications from this address"
                    })),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after(wait));
                return r;
            }
        };
        let mut r = (code, axum::Json(serde_json::json!({ "error": msg }))).into_response();
        if code == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// Who a request authenticated as: the unscoped `web_token_file` token, or one of the
/// configured identities (index into `WebConfig::identities`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Principal {
    name: String,
    identity: Option<usize>,
}

/// The identity name of the unscoped `web_token_file` token.
const UNSCOPED: &str = "web_token_file";

/// Identity label for a failed authentication that named no configured identity.
const UNKNOWN: &str = "(unknown)";

fn check(cfg: &WebConfig, presented: Option<String>) -> Result<Principal, AuthError> {
    let unscoped = cfg.token.as_deref().filter(|t| !t.is_empty());
    if unscoped.is_none() && !cfg.identities.iter().any(|i| i.token.is_some()) {
        return Err(AuthError::ReadOnly);
    }
    let Some(p) = presented else {
        return Err(AuthError::Missing);
    };
    // Every token is compared (in constant time each), whichever matches.
    let mut found = None;
    if let Some(tok) = unscoped {
        if guard::token_eq(p.as_bytes(), tok.as_bytes()) {
            found = Some(Principal {
                name: UNSCOPED.into(),
                identity: None,
            });
        }
    }
    for (i, id) in cfg.identities.iter().enumerate() {
        if let Some(tok) = &id.token {
            if guard::token_eq(p.as_bytes(), tok.as_bytes()) && found.is_none() {
                found = Some(Principal {
                    name: id.name.clone(),
                    identity: Some(i),
                });
            }
        }
    }
    found.ok_or(AuthError::Wrong)
}

/// HTTP basic authentication as an API user (an identity with a `password`).
fn check_basic(cfg: &WebConfig, user: &str, password: &str) -> Result<Principal, AuthError> {
    let mut found = None;
    for (i, id) in cfg.identities.iter().enumerate() {
        if let Some(pw) = &id.password {
            let ok = guard::token_eq(password.as_bytes(), pw.as_bytes());
            if ok && id.name == user && found.is_none() {
                found = Some(Principal {
                    name: id.name.clone(),
                    identity: Some(i),
                });
            }
        }
    }
    found.ok_or(AuthError::Wrong)
}

fn peer_text(peer: Peer) -> String {
    peer.0
        .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl WebState {
    /// [`check`], unless `peer` failed too often: then refused without looking. A failure
    /// is recorded against `peer` and counted.
    fn authorize(&self, peer: Peer, presented: Option<String>) -> Result<Principal, AuthError> {
        self.authorize_via(peer, presented, Via::Api)
    }

    /// [`WebState::authorize`] for a request of path `via` (a failure is counted there).
    fn authorize_via(
        &self,
        peer: Peer,
        presented: Option<String>,
        via: Via,
    ) -> Result<Principal, AuthError> {
        if !self.cfg.can_log_in() || presented.is_none() {
            return check(&self.cfg, presented);
        }
        self.limited(peer, via, || check(&self.cfg, presented))
    }

    /// Basic authentication as an API user, rate-limited per source as tokens are.
    fn authorize_basic(
        &self,
        peer: Peer,
        user: &str,
        password: &str,
    ) -> Result<Principal, AuthError> {
        self.limited(peer, Via::Icinga, || check_basic(&self.cfg, user, password))
    }

    fn limited(
        &self,
        peer: Peer,
        via: Via,
        f: impl FnOnce() -> Result<Principal, AuthError>,
    ) -> Result<Principal, AuthError> {
        let ip = peer.0.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let now = Instant::now();
        let mut limiter = match self.auth.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if let Err(wait) = limiter.check(ip, now) {
            drop(limiter);
            self.auth_failure("limited");
            return Err(AuthError::Limited(wait));
        }
        let res = f();
        if res.is_err() {
            limiter.failed(ip, now);
            drop(limiter);
            self.auth_failure("wrong");
            self.count(via, UNKNOWN, Outcome::BadKey, "");
        }
        res
    }

    fn auth_failure(&self, reason: &str) {
        self.metrics
            .counter(
                "picket_web_auth_failures_total",
                "Logins and bearer tokens refused: wrong token, or refused unchecked because the source failed too often.",
                &[("reason", reason)],
            )
            .inc();
    }

    /// May `who` submit `cmd` (validated)? An unscoped principal may submit anything; a
    /// scoped identity what its `hosts`/`services`/`commands` allow (`picket_authz`).
    fn permit(&self, who: &Principal, via: Via, peer: Peer, cmd: &Command) -> Result<(), Refusal> {
        let mut line = cmd.to_external_command(0);
        line.push('\n');
        self.permit_line(who, via, peer, line.as_bytes())
    }

    fn permit_line(
        &self,
        who: &Principal,
        via: Via,
        peer: Peer,
        line: &[u8],
    ) -> Result<(), Refusal> {
        let Some(i) = who.identity else {
            return Ok(());
        };
        let Some(id) = self.cfg.identities.get(i) else {
            return Ok(());
        };
        id.scope.decide(line).map_err(|denial| Refusal {
            via,
            identity: who.name.clone(),
            peer: peer_text(peer),
            denial,
        })
    }

    /// Logs (`Warning: authz: refusing …` in `nagios.log`) and counts a refusal.
    fn refused(&self, r: &Refusal) {
        tracing::warn!(target: "authz", "{}", r.log_line());
        self.count(r.via, &r.identity, r.denial.outcome(), "");
    }

    /// Counts one submission in `picket_ingest_total{via,identity,outcome}` and the ledger.
    fn count(&self, via: Via, identity: &str, outcome: Outcome, object: &str) {
        count_ingest(&self.metrics, &self.ledger, via, identity, outcome, object);
    }
}

/// Counts one submission through `via` in `picket_ingest_total{via,identity,outcome}`
/// and in the ledger of the Identities page (`object`: what an accepted one was for).
/// Every ingest path counts through here.
pub fn count_ingest(
    metrics: &Metrics,
    ledger: &std::sync::Mutex<Ledger>,
    via: Via,
    identity: &str,
    outcome: Outcome,
    object: &str,
) {
    metrics
        .counter(
            "picket_ingest_total",
            "Submissions by ingest path, identity and outcome (accepted, refused_unauthorized, bad_key, malformed).",
            &[
                ("via", via.label()),
                ("identity", identity),
                ("outcome", outcome.label()),
            ],
        )
        .inc();
    let mut l = match ledger.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    l.record(via, identity, outcome, unix_now(), object);
}

/// The object of a command, for the ledger (`host h`, `service s on host h`).
fn object_of(cmd: &Command) -> String {
    match cmd.target() {
        (h, Some(s)) => format!("service {s} on host {h}"),
        (h, None) => format!("host {h}"),
    }
}

fn forbidden(r: &Refusal) -> Response {
    json_err(
        StatusCode::FORBIDDEN,
        format!(
            "identity {} may not submit {}",
            picket_authz::safe(&r.identity),
            picket_authz::safe(&r.denial.object())
        ),
    )
}

fn logged_in(s: &WebState, peer: Peer, h: &HeaderMap) -> bool {
    let cookie = cookie_token(h);
    cookie.is_some() && s.authorize_via(peer, cookie, Via::Ui).is_ok()
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
    offset: Option<u32>,
}

fn denied_query(p: &DeniedParams) -> DeniedQuery {
    DeniedQuery {
        since: p.since,
        host: p.host.clone().filter(|h| !h.is_empty()),
        limit: p.limit.unwrap_or(0),
        offset: p.offset.unwrap_or(0),
    }
}

/// Sources on one page of `/denied` (the API's default is the store's, 500).
const DENIED_PAGE: u32 = 100;

// ---------------------------------------------------------------- UI

async fn ui_problems(State(s): State<WebState>, peer: Peer, h: HeaderMap) -> Html<String> {
    Html(pages::problems(&s.backend.status(), logged_in(&s, peer, &h)).into_string())
}

async fn ui_hosts(State(s): State<WebState>, peer: Peer, h: HeaderMap) -> Html<String> {
    Html(pages::hosts(&s.backend.status(), logged_in(&s, peer, &h)).into_string())
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
    peer: Peer,
    h: HeaderMap,
    QueryParams(p): QueryParams<HostParams>,
) -> Response {
    let li = logged_in(&s, peer, &h);
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
    peer: Peer,
    h: HeaderMap,
    QueryParams(p): QueryParams<ServiceParams>,
) -> Response {
    let li = logged_in(&s, peer, &h);
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
    peer: Peer,
    h: HeaderMap,
    QueryParams(p): QueryParams<LogParams>,
) -> Html<String> {
    let q = log_query(&p);
    let rows = with_history(&s, move |st| st.query(&q)).await.ok();
    Html(pages::log_page(&p, rows.as_deref(), logged_in(&s, peer, &h)).into_string())
}

async fn ui_denied(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    QueryParams(p): QueryParams<DeniedParams>,
) -> Html<String> {
    let mut q = denied_query(&p);
    q.limit = q.limit.clamp(1, 1_000);
    if p.limit.is_none() {
        q.limit = DENIED_PAGE;
    }
    let filtered = q.since.is_some() || q.host.is_some();
    let page = pages::DeniedPage {
        offset: q.offset,
        limit: q.limit,
    };
    let rows = with_history(&s, move |st| {
        let rows = st.denied(&q)?;
        let totals = if filtered {
            None
        } else {
            Some(st.denied_totals()?)
        };
        Ok((rows, totals))
    })
    .await
    .ok();
    let now = s.backend.status().now;
    Html(pages::denied_page(now, rows.as_ref(), &page, logged_in(&s, peer, &h)).into_string())
}

#[derive(Debug, Default, Deserialize)]
struct BackParams {
    back: Option<String>,
}

async fn ui_login_form(
    State(s): State<WebState>,
    QueryParams(p): QueryParams<BackParams>,
) -> Html<String> {
    let back = safe_back(p.back.as_deref());
    Html(pages::login_page(None, s.cfg.can_log_in(), &back).into_string())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
    back: Option<String>,
}

async fn ui_login(State(s): State<WebState>, peer: Peer, Form(f): Form<LoginForm>) -> Response {
    let back = safe_back(f.back.as_deref());
    match s.authorize_via(peer, Some(f.token.clone()), Via::Ui) {
        Ok(_) => {
            // The token is a header-safe string only if it has no control characters.
            let cookie = format!(
                "picket_token={}; Path=/; HttpOnly; SameSite=Strict",
                f.token
            );
            match HeaderValue::from_str(&cookie) {
                Ok(v) if !f.token.contains([';', ' ', ',']) => {
                    let mut r = Redirect::to(&back).into_response();
                    r.headers_mut().insert(header::SET_COOKIE, v);
                    r
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    Html(
                        pages::login_page(
                            Some("This token cannot be stored in a cookie."),
                            true,
                            &back,
                        )
                        .into_string(),
                    ),
                )
                    .into_response(),
            }
        }
        Err(AuthError::Limited(wait)) => {
            let msg = format!(
                "Too many wrong tokens from your address: try again in {} s.",
                wait.as_secs() + 1
            );
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Html(pages::login_page(Some(&msg), true, &back).into_string()),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after(wait));
            r
        }
        Err(e) => {
            let code = if e == AuthError::ReadOnly {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            (
                code,
                Html(
                    pages::login_page(Some("Wrong token."), s.cfg.can_log_in(), &back)
                        .into_string(),
                ),
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

async fn ui_command(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let who = match s.authorize_via(peer, cookie_token(&h), Via::Ui) {
        Ok(who) => who,
        Err(e) => {
            let code = match e {
                AuthError::Missing => StatusCode::UNAUTHORIZED,
                AuthError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::FORBIDDEN,
            };
            return (
                code,
                Html(pages::message("Not allowed", "Log in first.", false).into_string()),
            )
                .into_response();
        }
    };
    let now = s.backend.status().now;
    let cmd = match form_command(&f, now)
        .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            s.count(Via::Ui, &who.name, Outcome::Malformed, "");
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(pages::message("Command refused", &e, true).into_string()),
            )
                .into_response();
        }
    };
    if let Err(r) = s.permit(&who, Via::Ui, peer, &cmd) {
        s.refused(&r);
        return (
            StatusCode::FORBIDDEN,
            Html(
                pages::message(
                    "Not allowed",
                    &format!(
                        "Identity {} may not submit {}.",
                        picket_authz::safe(&r.identity),
                        picket_authz::safe(&r.denial.object())
                    ),
                    true,
                )
                .into_string(),
            ),
        )
            .into_response();
    }
    let object = object_of(&cmd);
    let res = s.backend.submit(cmd).map_err(|e| e.to_string());
    if res.is_ok() {
        s.count(Via::Ui, &who.name, Outcome::Accepted, &object);
    }
    match res {
        Ok(()) => Redirect::to(&safe_back(f.get("back").map(String::as_str))).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::message("Command refused", &e, true).into_string()),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------- SSE

/// One live-event subscriber: its slot under the cap, counted while it lives.
struct Subscriber {
    rx: broadcast::Receiver<LiveEvent>,
    stopping: watch::Receiver<bool>,
    gauge: Gauge,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.gauge.add(-1);
    }
}

/// The events for one subscriber; ends when the server shuts down or the channel closes.
/// When the client goes away, the server drops the stream (and with it the subscriber).
fn live_stream(sub: Subscriber) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures_util::stream::unfold(sub, |mut sub| async move {
        if *sub.stopping.borrow() {
            return None;
        }
        let received = tokio::select! {
            r = sub.rx.recv() => r,
            // Shutdown (or the state is gone): end the stream.
            _ = sub.stopping.changed() => return None,
        };
        let event = match received {
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
        Some((Ok(event), sub))
    })
}

async fn sse(State(s): State<WebState>) -> Response {
    let Ok(slot) = Arc::clone(&s.sse_slots).try_acquire_owned() else {
        s.metrics
            .counter(
                "picket_web_sse_refused_total",
                "Live-event streams refused: too many open.",
                &[],
            )
            .inc();
        let mut r = (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "error": "too many live-event streams open" })),
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        return r;
    };
    let gauge = s.metrics.gauge(
        "picket_web_sse_subscribers",
        "Live-event streams open.",
        &[],
    );
    gauge.add(1);
    let sub = Subscriber {
        rx: s.events.subscribe(),
        stopping: s.stopping.subscribe(),
        gauge,
        _slot: slot,
    };
    let mut r = Sse::new(live_stream(sub))
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

async fn api_results(State(s): State<WebState>, peer: Peer, h: HeaderMap, body: Bytes) -> Response {
    let who = match s.authorize(peer, bearer(&h)) {
        Ok(who) => who,
        Err(e) => {
            rejected(&s, "auth");
            return e.into_response();
        }
    };
    let items = match serde_json::from_slice::<OneOrMany>(&body) {
        Ok(OneOrMany::One(r)) => vec![r],
        Ok(OneOrMany::Many(v)) => v,
        Err(e) => {
            rejected(&s, "malformed");
            s.count(Via::Api, &who.name, Outcome::Malformed, "");
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
            s.count(Via::Api, &who.name, Outcome::Malformed, "");
            return json_err(StatusCode::UNPROCESSABLE_ENTITY, format!("result {i}: {e}"));
        }
        // All of the batch must be the identity's to submit, or none of it is taken.
        if let Err(r) = s.permit(&who, Via::Api, peer, c) {
            rejected(&s, "unauthorized");
            s.refused(&r);
            return forbidden(&r);
        }
    }
    let received = s.metrics.counter(
        "picket_api_results_received_total",
        "Passive results accepted from the JSON API.",
        &[],
    );
    let mut accepted = 0usize;
    for c in cmds {
        let object = object_of(&c);
        match s.backend.submit(c) {
            Ok(()) => {
                received.inc();
                s.count(Via::Api, &who.name, Outcome::Accepted, &object);
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

fn events_rejected(s: &WebState, reason: &str) {
    s.metrics
        .counter(
            "picket_api_connection_events_rejected_total",
            "POST /api/connection-events requests refused, by reason.",
            &[("reason", reason)],
        )
        .inc();
}

/// Checks one posted event field by field (contract C2): `Err((field, message))`.
fn check_event(v: &serde_json::Value) -> Result<(), (&'static str, String)> {
    use serde_json::Value;
    let o = v
        .as_object()
        .ok_or(("event", "an event is a JSON object".to_string()))?;
    let opt = |k: &str| o.get(k).filter(|v| !v.is_null());
    match o.get("time").and_then(Value::as_i64) {
        Some(t) if (0..=picket_correlator::MAX_TIME).contains(&t) => {}
        _ => return Err(("time", "seconds since the epoch (a whole number)".into())),
    }
    match o.get("reporter").and_then(Value::as_str) {
        Some(r) if !r.trim().is_empty() => {}
        _ => return Err(("reporter", "the reporting host's name (a string)".into())),
    }
    let source_ok = match o.get("source") {
        Some(Value::String(s)) => s == "unknown",
        Some(Value::Object(m)) if m.len() == 1 => match (m.get("addr"), m.get("name")) {
            (Some(Value::String(a)), None) => a.parse::<IpAddr>().is_ok(),
            (None, Some(Value::String(n))) => !n.is_empty(),
            _ => false,
        },
        _ => false,
    };
    if !source_ok {
        return Err((
            "source",
            r#"{"addr": IP}, {"name": NAME} or "unknown""#.into(),
        ));
    }
    if let Some(a) = opt("dest_addr") {
        if a.as_str().is_none_or(|a| a.parse::<IpAddr>().is_err()) {
            return Err(("dest_addr", "an IP address or null".into()));
        }
    }
    if let Some(p) = opt("dest_port") {
        if !p.as_u64().is_some_and(|p| (1..=65535).contains(&p)) {
            return Err(("dest_port", "a port (1-65535) or null".into()));
        }
    }
    if let Some(p) = opt("proto") {
        if !matches!(p.as_str(), Some("tcp" | "udp" | "icmp")) {
            return Err(("proto", "tcp, udp, icmp or null".into()));
        }
    }
    if let Some(d) = opt("daemon") {
        if d.as_str().is_none_or(str::is_empty) {
            return Err(("daemon", "a name or null".into()));
        }
    }
    if !matches!(
        o.get("kind").and_then(Value::as_str),
        Some("refused" | "firewall_drop" | "auth_fail" | "trap")
    ) {
        return Err(("kind", "refused, firewall_drop, auth_fail or trap".into()));
    }
    if let Some(c) = opt("count") {
        if !c
            .as_u64()
            .is_some_and(|c| (1..=u64::from(u32::MAX)).contains(&c))
        {
            return Err(("count", "a whole number from 1".into()));
        }
    }
    if let Some(r) = opt("raw") {
        if !r.is_string() {
            return Err(("raw", "a string".into()));
        }
    }
    Ok(())
}

/// `POST /api/connection-events` (contract C2): `{"events": [...]}`, all or nothing.
async fn api_connection_events(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let who = match s.authorize(peer, bearer(&h)) {
        Ok(who) => who,
        Err(e) => {
            events_rejected(&s, "auth");
            return e.into_response();
        }
    };
    let bad = |s: &WebState, error: String, index: Option<usize>, field: &str| {
        events_rejected(s, "malformed");
        (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "error": error, "index": index, "field": field })),
        )
            .into_response()
    };
    let doc: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(&s, format!("malformed JSON: {e}"), None, "body"),
    };
    let Some(items) = doc.get("events").and_then(serde_json::Value::as_array) else {
        return bad(&s, r#"expected {"events": [...]}"#.into(), None, "events");
    };
    let batch = match doc.get("batch").map(batches::BatchId::from_json) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => return bad(&s, format!("batch: {e}"), None, "batch"),
    };
    if items.len() > MAX_EVENTS_PER_REQUEST {
        return bad(
            &s,
            format!(
                "{} events: at most {MAX_EVENTS_PER_REQUEST} a request",
                items.len()
            ),
            None,
            "events",
        );
    }
    let mut events = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        if let Err((field, msg)) = check_event(v) {
            return bad(&s, format!("event {i}: {field}: {msg}"), Some(i), field);
        }
        match serde_json::from_value::<picket_correlator::ConnectionEvent>(v.clone()) {
            Ok(ev) => {
                // A scoped identity reports only as a host it may submit host results for.
                let line = format!("[0] PROCESS_HOST_CHECK_RESULT;{};0;event\n", ev.reporter);
                if let Err(r) = s.permit_line(&who, Via::Api, peer, line.as_bytes()) {
                    events_rejected(&s, "unauthorized");
                    s.refused(&r);
                    return forbidden(&r);
                }
                events.push(ev);
            }
            Err(e) => return bad(&s, format!("event {i}: {e}"), Some(i), "event"),
        }
    }
    let n = events.len();
    if n == 0 {
        return (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "accepted": 0 })),
        )
            .into_response();
    }
    // Check, hand over and record under one lock: a resend racing its original is seen.
    let mut table = match s.batches.lock() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    if let Some(b) = &batch {
        if table.is_duplicate(b) {
            s.metrics
                .counter(
                    "picket_api_connection_event_batches_duplicate_total",
                    "Sensor batches sent again after they were taken (answered 202, not handed on again).",
                    &[],
                )
                .inc();
            return (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({ "accepted": 0, "duplicate": true })),
            )
                .into_response();
        }
    }
    match s.backend.submit_events(events) {
        Ok(()) => {
            if let Some(b) = &batch {
                if let Err(e) = table.record(b) {
                    // The events are taken and the table in memory is current; only a resend
                    // after a restart could be taken twice.
                    eprintln!(
                        "picket-web: cannot save the sensor batch table (after a restart, a resend of batch {} of sensor {} would be taken again): {e}",
                        b.seq, b.sensor
                    );
                    s.metrics
                        .counter(
                            "picket_api_connection_event_batch_table_errors_total",
                            "Failures to save the table of sensor batches taken.",
                            &[],
                        )
                        .inc();
                }
            }
            drop(table);
            s.count(Via::Api, &who.name, Outcome::Accepted, "connection events");
            s.metrics
                .counter(
                    "picket_api_connection_events_received_total",
                    "Connection events accepted from POST /api/connection-events.",
                    &[],
                )
                .add(n as u64);
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({ "accepted": n })),
            )
                .into_response()
        }
        Err(SubmitError::Unavailable(_)) => {
            events_rejected(&s, "busy");
            json_err(StatusCode::SERVICE_UNAVAILABLE, "busy".into())
        }
        Err(e @ SubmitError::Rejected(_)) => {
            events_rejected(&s, "rejected");
            json_err(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
    }
}

async fn api_commands(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let who = match s.authorize(peer, bearer(&h)) {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    let cmd: Command = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            s.count(Via::Api, &who.name, Outcome::Malformed, "");
            return json_err(StatusCode::BAD_REQUEST, format!("malformed command: {e}"));
        }
    };
    if let Err(e) = cmd.validate() {
        s.count(Via::Api, &who.name, Outcome::Malformed, "");
        return json_err(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    }
    if let Err(r) = s.permit(&who, Via::Api, peer, &cmd) {
        s.refused(&r);
        return forbidden(&r);
    }
    let object = object_of(&cmd);
    match s.backend.submit(cmd) {
        Ok(()) => {
            s.count(Via::Api, &who.name, Outcome::Accepted, &object);
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({ "accepted": 1 })),
            )
                .into_response()
        }
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
        let ro = WebConfig::default();
        assert_eq!(check(&ro, Some("x".into())), Err(AuthError::ReadOnly));
        let c = WebConfig {
            token: Some("s3cret".into()),
            ..WebConfig::default()
        };
        assert_eq!(check(&c, None), Err(AuthError::Missing));
        assert_eq!(check(&c, Some("s3cre".into())), Err(AuthError::Wrong));
        assert_eq!(
            check(&c, Some("s3cret".into())).map(|p| p.identity),
            Ok(None)
        );
    }

    #[test]
    fn back_links_stay_local() {
        assert_eq!(safe_back(Some("//evil.example/")), "/");
        assert_eq!(safe_back(Some("https://evil.example/")), "/");
        assert_eq!(safe_back(Some("/\t/evil.example/")), "/");
        assert_eq!(safe_back(Some("/host?name=a")), "/host?name=a");
        assert_eq!(safe_back(None), "/");
    }
}
