//! The daemon's side of the web UI and API (`web_listen=` in the main config).
//!
//! The web server (crate `picket-web`) never touches the engine: it asks for a status
//! snapshot with [`Input::Status`] (answered by the engine thread between batches, so a
//! snapshot is always consistent) and hands commands over as external-command lines on the
//! same channel as the FIFO, so they are journaled, ordered and logged like any other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use anyhow::Context;
use picket_config::Config;
use picket_engine::{AckType, Engine, PassiveResult, StateType, Status, Time};
use picket_web::{
    Backend, Command, CommentView, HostView, LiveEvent, Metrics, ServiceView, StatusView,
    SubmitError, WebConfig, WebState,
};
use tokio::sync::broadcast;

use crate::input::{Input, unix_now};

/// How long a status request waits for the engine thread.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// [`Backend`] over the engine thread's input channel.
pub(crate) struct EngineBackend {
    tx: SyncSender<Input>,
    cfg: Arc<Config>,
    incident_service: Option<(String, String)>,
}

impl EngineBackend {
    fn empty() -> StatusView {
        StatusView {
            now: unix_now(),
            hosts: Vec::new(),
            services: Vec::new(),
        }
    }

    fn ask(&self) -> StatusView {
        let (reply_tx, reply_rx) = sync_channel(1);
        if self.tx.send(Input::Status(reply_tx)).is_err() {
            return EngineBackend::empty();
        }
        reply_rx
            .recv_timeout(STATUS_TIMEOUT)
            .unwrap_or_else(|_| EngineBackend::empty())
    }

    /// Refuse commands for objects the configuration does not have, with a reason the
    /// caller can act on (the engine would only log a warning).
    fn known(&self, host: &str, service: Option<&str>) -> Result<(), SubmitError> {
        let Some(hid) = self.cfg.host_by_name(host) else {
            return Err(SubmitError::Rejected(format!("unknown host '{host}'")));
        };
        if let Some(service) = service {
            let found = self
                .cfg
                .host(hid)
                .services
                .iter()
                .any(|s| &*self.cfg.service(*s).description == service);
            if !found {
                return Err(SubmitError::Rejected(format!(
                    "unknown service '{service}' on host '{host}'"
                )));
            }
        }
        Ok(())
    }
}

impl Backend for EngineBackend {
    fn status(&self) -> StatusView {
        // The engine answers between two batches (milliseconds); keep the async workers
        // free meanwhile when running on the multi-threaded runtime.
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                tokio::task::block_in_place(|| self.ask())
            }
            _ => self.ask(),
        }
    }

    fn submit(&self, cmd: Command) -> Result<(), SubmitError> {
        let (host, service) = cmd.target();
        self.known(host, service)?;
        let input = command_input(&cmd, unix_now());
        match self.tx.try_send(input) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SubmitError::Unavailable(
                "the engine's input queue is full; retry".into(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Unavailable(
                "the daemon is shutting down".into(),
            )),
        }
    }

    fn exists(&self, host: &str, service: Option<&str>) -> Result<(), SubmitError> {
        self.known(host, service)
    }

    fn submit_events(
        &self,
        events: Vec<picket_correlator::ConnectionEvent>,
    ) -> Result<(), SubmitError> {
        self.events(events)
    }

    fn submit_line(&self, line: &[u8]) -> Result<(), SubmitError> {
        // As the command FIFO's lines: journaled, then logged as EXTERNAL COMMAND.
        match self.tx.try_send(Input::Web(line.to_vec())) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SubmitError::Unavailable(
                "the engine's input queue is full; retry".into(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Unavailable(
                "the daemon is shutting down".into(),
            )),
        }
    }

    fn incident_service(&self) -> Option<(String, String)> {
        self.incident_service.clone()
    }
}

/// What a web command is for the engine thread: a check result goes in typed, as
/// NSCA's do (`Engine::process_passive`: logged and handled exactly as its
/// `PROCESS_*_CHECK_RESULT` line); other commands as their command line.
pub(crate) fn command_input(cmd: &Command, now: Time) -> Input {
    match cmd.result_fields(now) {
        Some(r) => Input::Passive(vec![PassiveResult {
            host: r.host.to_owned(),
            service: r.service.map(str::to_owned),
            return_code: r.code,
            output: r.output,
            check_time: r.time,
        }]),
        None => {
            let mut line = cmd.to_external_command(now);
            line.push('\n');
            Input::Web(line.into_bytes())
        }
    }
}

impl EngineBackend {
    fn events(&self, events: Vec<picket_correlator::ConnectionEvent>) -> Result<(), SubmitError> {
        match self.tx.try_send(Input::Events(events)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SubmitError::Unavailable("busy".into())),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Unavailable(
                "the daemon is shutting down".into(),
            )),
        }
    }
}

fn opt_time(t: Time) -> Option<i64> {
    (t > 0).then_some(t)
}

/// A status snapshot of the whole engine (run on the engine thread).
pub(crate) fn status_view(engine: &Engine, now: Time) -> StatusView {
    let cfg = engine.config();
    let mut comments: HashMap<(String, Option<String>), Vec<CommentView>> = HashMap::new();
    for c in engine.comments() {
        comments
            .entry((c.target.host.clone(), c.target.service.clone()))
            .or_default()
            .push(CommentView {
                id: c.id,
                time: c.entry_time,
                author: c.author.clone(),
                text: c.text.clone(),
            });
    }
    let mut take = |host: &str, service: Option<&str>| {
        if comments.is_empty() {
            return Vec::new();
        }
        let key = (host.to_owned(), service.map(str::to_owned));
        let mut v = comments.remove(&key).unwrap_or_default();
        v.sort_by_key(|c| c.id);
        v
    };
    let common = |st: &Status| {
        (
            st.current_state,
            st.state_type == StateType::Hard,
            st.current_attempt,
            st.plugin_output.clone().unwrap_or_default(),
            st.long_output.clone(),
            if st.has_been_checked {
                opt_time(st.last_check)
            } else {
                None
            },
            opt_time(st.last_state_change),
            st.problem_has_been_acknowledged && st.acknowledgement_type != AckType::None,
            st.scheduled_downtime_depth > 0,
            st.notifications_enabled,
        )
    };
    let hosts = cfg
        .hosts
        .iter()
        .map(|h| {
            let st = engine.host_status(h.id);
            let (state, hard, attempt, output, long_output, last_check, lsc, ack, dt, notif) =
                common(st);
            HostView {
                name: h.name.to_string(),
                address: h.address.to_string(),
                state,
                hard,
                attempt,
                max_attempts: h.common.max_check_attempts,
                output,
                long_output,
                last_check,
                last_state_change: lsc,
                acknowledged: ack,
                in_downtime: dt,
                notifications_enabled: notif,
                comments: take(&h.name, None),
            }
        })
        .collect();
    let services = cfg
        .services
        .iter()
        .map(|s| {
            let st = engine.service_status(s.id);
            let host = &cfg.host(s.host).name;
            let (state, hard, attempt, output, long_output, last_check, lsc, ack, dt, notif) =
                common(st);
            ServiceView {
                host: host.to_string(),
                description: s.description.to_string(),
                state,
                hard,
                attempt,
                max_attempts: s.common.max_check_attempts,
                output,
                long_output,
                last_check,
                last_state_change: lsc,
                acknowledged: ack,
                in_downtime: dt,
                notifications_enabled: notif,
                is_volatile: s.is_volatile,
                comments: take(host, Some(&s.description)),
            }
        })
        .collect();
    StatusView {
        now,
        hosts,
        services,
    }
}

/// The value of a main-config key that names an identity of `api_identities_file`
/// (`livestatus_tcp_identity=NAME`, `check_result_identity=NAME`, …).
pub(crate) fn identity_key(v: &str, origin: &str, key: &str) -> anyhow::Result<String> {
    if v.is_empty() || v.chars().any(char::is_control) {
        anyhow::bail!("{origin}: {key}: expected the name of an identity of api_identities_file");
    }
    Ok(v.to_owned())
}

/// The value of a `…_uid_identity=UID:NAME` key: a numeric uid and an identity name.
pub(crate) fn uid_identity_key(v: &str, origin: &str, key: &str) -> anyhow::Result<(u32, String)> {
    let Some((uid, id)) = v.split_once(':') else {
        anyhow::bail!(
            "{origin}: {key}={}: expected UID:IDENTITY (a numeric uid)",
            v.escape_default()
        );
    };
    let uid: u32 = uid.trim().parse().with_context(|| {
        format!(
            "{origin}: {key}={}: '{}' is not a numeric uid",
            v.escape_default(),
            uid.escape_default()
        )
    })?;
    Ok((uid, identity_key(id.trim(), origin, key)?))
}

/// The identity `name` (named at `origin` for `what`) among `identities` (`None`:
/// `api_identities_file` is not set); an error naming `origin` otherwise.
pub(crate) fn find_identity<'a>(
    identities: Option<&'a [picket_web::Identity]>,
    name: &str,
    origin: &str,
    what: &str,
) -> anyhow::Result<&'a picket_web::Identity> {
    let Some(ids) = identities else {
        anyhow::bail!(
            "{origin}: identity '{}' for {what}, but api_identities_file is not set",
            name.escape_default()
        );
    };
    match ids.iter().find(|i| i.name == name) {
        Some(i) => Ok(i),
        None => anyhow::bail!(
            "{origin}: identity '{}' for {what} is not in api_identities_file ({})",
            name.escape_default(),
            ids.iter()
                .map(|i| i.name.escape_default().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The identities of `api_identities_file` (the `nsca-ng.cfg` syntax, read by
/// `nsca_ng_proto`; errors name file:line). A token or password that is a
/// placeholder or shorter than 16 characters is refused.
pub(crate) fn read_identities(path: &std::path::Path) -> anyhow::Result<Vec<picket_web::Identity>> {
    let name = path.display().to_string();
    let text = picket_config::read_config_file(path)
        .with_context(|| format!("api_identities_file {name}"))?;
    let ids =
        picket_nsca_ng_proto::config::parse_identities(&name, &text, &mut picket_nsca_ng::FsLoader)
            .with_context(|| format!("api_identities_file {name}"))?;
    for id in &ids {
        for secret in [&id.token, &id.password].into_iter().flatten() {
            if secret.len() < 16 {
                anyhow::bail!(
                    "{}: authorize \"{}\": a token or password must have at least 16 characters",
                    id.origin,
                    picket_engine::output::log_safe(&id.name)
                );
            }
        }
    }
    Ok(ids)
}

/// The web token: the first line of `web_token_file`, which must not be empty.
pub(crate) fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = picket_config::read_config_file(path)
        .with_context(|| format!("web_token_file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    anyhow::ensure!(
        !token.is_empty(),
        "web_token_file {}: the first line (the token) is empty",
        path.display()
    );
    Ok(token)
}

/// The token of `web_token_file`; when the file does not exist, it is created (mode
/// 0600, never over an existing file) with a new random token. Returns the token and
/// whether it was created.
pub(crate) fn read_or_create_token(path: &Path) -> anyhow::Result<(String, bool)> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok((read_token(path)?, false));
    }
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .context("read /dev/urandom for a new web token")?;
    let token: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create web_token_file {}", path.display()))?;
    f.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("write web_token_file {}", path.display()))?;
    Ok((token, true))
}

/// Tokens shorter than this are refused by no one but warned about: they can be guessed.
const MIN_TOKEN_LEN: usize = 16;

/// A warning when the token is a placeholder (`change-me`…) or short.
pub(crate) fn weak_token(path: &Path, token: &str) -> Option<String> {
    let lower = token.to_ascii_lowercase();
    let placeholder = [
        "change-me",
        "changeme",
        "change_me",
        "password",
        "secret",
        "token",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if placeholder {
        Some(format!(
            "web_token_file {}: the token is a placeholder: anyone who reads the example can log in and send commands; put a long random token in it (or delete the file: a new random one is created at start)",
            path.display()
        ))
    } else if token.len() < MIN_TOKEN_LEN {
        Some(format!(
            "web_token_file {}: the token has only {} characters (at least {MIN_TOKEN_LEN} are advised): it can be guessed",
            path.display(),
            token.len()
        ))
    } else {
        None
    }
}

/// Everything the web server needs from the daemon.
pub(crate) struct WebParts {
    pub(crate) addr: SocketAddr,
    pub(crate) token: Option<String>,
    /// Scoped identities of `api_identities_file`.
    pub(crate) identities: Vec<picket_web::Identity>,
    /// Shared with the NSCA-ng mirror.
    pub(crate) ledger: Arc<std::sync::Mutex<picket_web::Ledger>>,
    /// `nrdp_path` (`None`: NRDP off).
    pub(crate) nrdp_path: Option<String>,
    pub(crate) history: Option<std::path::PathBuf>,
    /// Connections served at once: `web_max_connections` (0: the default), never more
    /// than the web's share of the open-file budget.
    pub(crate) max_connections: usize,
    /// Where errors of the web server are counted and reported.
    pub(crate) errors: crate::report::Errors,
    /// The detection's incident host and service (`incident_host`, `incident_service`).
    pub(crate) incident_service: Option<(String, String)>,
    /// The table of sensor batches taken (`sensor-batches.json` beside the log).
    pub(crate) batch_file: std::path::PathBuf,
}

/// Bind and serve on `rt`. Returns the bound address (the configured port may be 0).
pub(crate) fn start(
    rt: &tokio::runtime::Runtime,
    parts: WebParts,
    tx: SyncSender<Input>,
    cfg: Arc<Config>,
    events: broadcast::Sender<LiveEvent>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(parts.addr)
        .with_context(|| format!("web_listen={}", parts.addr))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let mut state = WebState::new(
        Arc::new(EngineBackend {
            tx,
            cfg,
            incident_service: parts.incident_service,
        }),
        events,
        metrics,
        WebConfig {
            token: parts.token,
            max_connections: parts.max_connections,
            identities: parts.identities,
            nrdp_path: parts.nrdp_path,
            ..WebConfig::default()
        },
    )
    .with_ledger(parts.ledger);
    state = state
        .with_batch_file(&parts.batch_file)
        .with_context(|| format!("sensor batch table {}", parts.batch_file.display()))?;
    if let Some(path) = &parts.history {
        let store = picket_history::Store::open(path, picket_history::StoreConfig::default())
            .with_context(|| format!("history_file {}", path.display()))?;
        state = state.with_history(store);
    }
    let _guard = rt.enter();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let errors = parts.errors;
    rt.spawn(async move {
        if let Err(e) = picket_web::serve(listener, state).await {
            errors.stderr_error(
                crate::report::Kind::Other,
                &format!("web server stopped: {e}"),
            );
        }
    });
    Ok(local)
}

/// Copy the NSCA receiver's counters into `/metrics` once a second.
pub(crate) fn mirror_nsca_stats(
    rt: &tokio::runtime::Runtime,
    stats: Arc<picket_nsca::server::Stats>,
    metrics: &Metrics,
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let counter = |name: &str, help: &str, l: &[(&str, &str)]| metrics.counter(name, help, l);
    let rejected = |reason: &str| {
        counter(
            "picket_nsca_results_rejected_total",
            "NSCA packets refused, by reason.",
            &[("reason", reason)],
        )
    };
    type Pick = fn(&picket_nsca::server::Stats) -> &AtomicU64;
    let series: Vec<(Pick, picket_web::Counter)> = vec![
        (
            |s| &s.accepted,
            counter(
                "picket_nsca_results_received_total",
                "NSCA results decoded and handed to the engine.",
                &[],
            ),
        ),
        (
            |s| &s.connections,
            counter(
                "picket_nsca_connections_total",
                "NSCA connections served.",
                &[],
            ),
        ),
        (
            |s| &s.refused_over_limit,
            counter(
                "picket_nsca_connections_refused_total",
                "NSCA connections closed at once: too many open.",
                &[],
            ),
        ),
        (
            |s| &s.refused_per_source,
            counter(
                "picket_nsca_connections_refused_per_source_total",
                "NSCA connections closed at once: too many open from their source (max_connections_per_source).",
                &[],
            ),
        ),
        (
            |s| &s.first_packet_timeouts,
            counter(
                "picket_nsca_first_packet_timeouts_total",
                "NSCA connections closed without a complete packet within first_packet_timeout.",
                &[],
            ),
        ),
        (|s| &s.rejected_version, rejected("version")),
        (|s| &s.rejected_crc, rejected("crc")),
        (|s| &s.rejected_age, rejected("age")),
        (|s| &s.rejected_name, rejected("name")),
        (|s| &s.rejected_spoofing, rejected("spoofing")),
        (|s| &s.rejected_source, rejected("source")),
        (|s| &s.truncated, rejected("truncated")),
        (|s| &s.timeouts, rejected("timeout")),
    ];
    rt.spawn(async move {
        let mut last = vec![0u64; series.len()];
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            for ((pick, c), prev) in series.iter().zip(last.iter_mut()) {
                let now = pick(&stats).load(Ordering::Relaxed);
                c.add(now.saturating_sub(*prev));
                *prev = now;
            }
        }
    });
}
