//! Livestatus in the daemon: the unix socket of the `broker_module=…/livestatus.o PATH`
//! line users already have (served natively: no module is loaded) and TCP on
//! `livestatus_listen=HOST:PORT`.
//!
//! Queries are answered from an immutable [`Snapshot`] of the engine, taken on the
//! engine thread between batches ([`crate::input::Input::Livestatus`]) and shared
//! behind an `Arc` for at most [`SNAPSHOT_MAX_AGE`]; evaluation and rendering run on
//! blocking worker threads, never on the engine thread. `COMMAND` lines are checked
//! like the web's commands and go to the engine's input channel as external-command
//! lines, so they are journaled and logged like FIFO input.

pub(crate) mod log;
pub(crate) mod tables;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use picket_engine::{CommandName, Time};
use picket_livestatus::{Request, Table, code, execute, frame, parse_request, render_error};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::input::{Input, unix_now};
use crate::report::{Errors, Kind};
use tables::{AuthMode, ColumnsTable, SnapTable, Snapshot};

/// A snapshot is reused for this long; a `WaitCondition` and a query after a `COMMAND`
/// on the same connection take a fresh one.
pub(crate) const SNAPSHOT_MAX_AGE: Duration = Duration::from_millis(500);
/// How long a snapshot request waits for the engine thread.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's text (first line and headers) may be at most this long.
const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Re-evaluation interval of `WaitCondition:`.
const WAIT_POLL: Duration = Duration::from_millis(100);
/// `WaitTimeout: 0` (no limit in naemon) is capped here so no client holds a worker.
const WAIT_MAX: Duration = Duration::from_secs(300);

/// The Livestatus settings: the `broker_module=` line's socket and options, and
/// `livestatus_listen=`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) socket: Option<PathBuf>,
    pub(crate) listen: Option<SocketAddr>,
    /// `idle_timeout` (ms in the module's options): a keep-alive connection may wait
    /// this long for its next request.
    pub(crate) idle_timeout: Duration,
    /// `query_timeout` (ms): a started request must be complete within this.
    pub(crate) query_timeout: Duration,
    /// `max_response_size` (bytes): larger answers are refused with 413.
    pub(crate) max_response_size: usize,
    /// `service_authorization`, `group_authorization`.
    pub(crate) auth: AuthMode,
    /// `num_client_threads`: connections served at once (0: the default).
    pub(crate) max_connections: usize,
    /// Whose scope decides the `COMMAND`s of each listener.
    pub(crate) commands: CommandAuth,
}

/// Who a listener's `COMMAND`s are from (main-config keys
/// `livestatus_tcp_identity`, `livestatus_unix_identity`,
/// `livestatus_uid_identity=UID:NAME`, `livestatus_unscoped_commands`). Names
/// are identities of `api_identities_file`, resolved by [`CommandAuth::resolve`];
/// each is kept with the `file:line` that named it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommandAuth {
    /// Every `COMMAND` over TCP is this identity's.
    pub(crate) tcp: Option<(String, String)>,
    /// `COMMAND`s on the unix socket from a peer whose uid is not mapped.
    pub(crate) unix: Option<(String, String)>,
    /// The unix socket's peer uid (`SO_PEERCRED`) to an identity.
    pub(crate) uids: Vec<(u32, String, String)>,
    /// A listener without an identity takes any command (Picket before
    /// identities, and naemon): by default the unix socket only, whose mode
    /// 0660 already decides who may connect (as for the command FIFO, which
    /// takes the same commands); TCP has no such gate, so there it is refused
    /// unless asked for.
    pub(crate) unscoped_unix: bool,
    /// See [`CommandAuth::unscoped_unix`]; `false` by default.
    pub(crate) unscoped_tcp: bool,
}

impl Default for CommandAuth {
    fn default() -> Self {
        CommandAuth {
            tcp: None,
            unix: None,
            uids: Vec::new(),
            unscoped_unix: true,
            unscoped_tcp: false,
        }
    }
}

/// Who one connection's `COMMAND`s are from.
#[derive(Debug, Clone)]
pub(crate) enum Commander {
    /// Decided by this identity's scope (`picket_authz`).
    Scoped {
        name: String,
        scope: Arc<picket_authz::Scope>,
    },
    /// Any command (`livestatus_unscoped_commands`).
    Unscoped,
    /// No identity, not unscoped: every command is refused. The text says
    /// which key would change that.
    Nobody(&'static str),
}

/// Label of [`Commander::Unscoped`] in `picket_ingest_total` and the Identities page.
pub(crate) const UNSCOPED: &str = "(unscoped)";
/// Label of [`Commander::Nobody`].
pub(crate) const ANONYMOUS: &str = "(anonymous)";

/// [`CommandAuth`] with its names resolved to scopes.
#[derive(Debug, Clone)]
pub(crate) struct Commanders {
    pub(crate) tcp: Commander,
    pub(crate) unix: Commander,
    pub(crate) uids: std::collections::HashMap<u32, Commander>,
}

impl Commanders {
    /// Who a unix-socket peer with `uid` (`None`: no credentials) is.
    pub(crate) fn for_uid(&self, uid: Option<u32>) -> &Commander {
        uid.and_then(|u| self.uids.get(&u)).unwrap_or(&self.unix)
    }
}

impl CommandAuth {
    /// Reads the keys (`(key, value, file:line)`, in file order; the last of
    /// a key but `livestatus_uid_identity` wins).
    pub(crate) fn parse(keys: &[(String, String, String)]) -> anyhow::Result<CommandAuth> {
        let mut a = CommandAuth::default();
        let name = crate::web::identity_key;
        for (key, v, origin) in keys {
            match key.as_str() {
                "livestatus_tcp_identity" => a.tcp = Some((name(v, origin, key)?, origin.clone())),
                "livestatus_unix_identity" => {
                    a.unix = Some((name(v, origin, key)?, origin.clone()))
                }
                "livestatus_uid_identity" => {
                    let (uid, id) = crate::web::uid_identity_key(v, origin, key)?;
                    if a.uids.iter().any(|(u, _, _)| *u == uid) {
                        bail!("{origin}: livestatus_uid_identity: uid {uid} is mapped twice");
                    }
                    a.uids.push((uid, id, origin.clone()));
                }
                "livestatus_unscoped_commands" => {
                    let (mut unix, mut tcp) = (false, false);
                    for w in v.split(',').map(str::trim) {
                        match w {
                            "unix" => unix = true,
                            "tcp" => tcp = true,
                            "none" | "" => {}
                            _ => bail!(
                                "{origin}: livestatus_unscoped_commands={}: expected `unix`, `tcp`, `unix,tcp` or `none`",
                                v.escape_default()
                            ),
                        }
                    }
                    a.unscoped_unix = unix;
                    a.unscoped_tcp = tcp;
                }
                _ => bail!("{origin}: unknown key {key}"),
            }
        }
        Ok(a)
    }

    /// Does any key name an identity (so that `api_identities_file` must be read)?
    pub(crate) fn names_identities(&self) -> bool {
        self.tcp.is_some() || self.unix.is_some() || !self.uids.is_empty()
    }

    /// The names resolved against the identities of `api_identities_file`
    /// (`None`: the key is not set). An unknown name is an error naming the
    /// key's file:line.
    pub(crate) fn resolve(
        &self,
        identities: Option<&[picket_authz::Identity]>,
    ) -> anyhow::Result<Commanders> {
        let find = |(n, origin): (&String, &String)| -> anyhow::Result<Commander> {
            let i = crate::web::find_identity(identities, n, origin, "Livestatus commands")?;
            Ok(Commander::Scoped {
                name: i.name.clone(),
                scope: Arc::new(i.scope.clone()),
            })
        };
        let tcp = match &self.tcp {
            Some((n, o)) => find((n, o))?,
            None if self.unscoped_tcp => Commander::Unscoped,
            None => Commander::Nobody(
                "COMMAND over TCP needs livestatus_tcp_identity= (or livestatus_unscoped_commands=tcp)",
            ),
        };
        let unix = match &self.unix {
            Some((n, o)) => find((n, o))?,
            None if self.unscoped_unix => Commander::Unscoped,
            None => Commander::Nobody(
                "COMMAND on the unix socket needs livestatus_unix_identity= or livestatus_uid_identity= for this uid (or livestatus_unscoped_commands=unix)",
            ),
        };
        let mut uids = std::collections::HashMap::new();
        for (uid, n, o) in &self.uids {
            uids.insert(*uid, find((n, o))?);
        }
        Ok(Commanders { tcp, unix, uids })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            socket: None,
            listen: None,
            idle_timeout: Duration::from_secs(300),
            query_timeout: Duration::from_secs(10),
            max_response_size: 500 << 20,
            auth: AuthMode::default(),
            max_connections: 0,
            commands: CommandAuth::default(),
        }
    }
}

/// Connections served at once when `num_client_threads` does not say.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 128;

/// Read the settings from the main config: the first `broker_module=` whose module is
/// `livestatus.o`/`livestatus.so` (mk-livestatus, naemon-livestatus), and
/// `livestatus_listen`. Returns the settings (`None` when neither is set) and warnings.
pub(crate) fn settings(
    main: &picket_config::MainConfig,
) -> anyhow::Result<(Option<Settings>, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut s = Settings {
        listen: main.livestatus_listen,
        commands: CommandAuth::parse(&main.livestatus_command_keys)?,
        ..Settings::default()
    };
    let mut found = false;
    for line in &main.broker_modules {
        let mut words = line.split_whitespace();
        let Some(module) = words.next() else { continue };
        let base = module.rsplit('/').next().unwrap_or(module);
        if !base.starts_with("livestatus") {
            warnings.push(format!(
                "broker_module={line}: event broker modules are not loaded by Picket; ignored"
            ));
            continue;
        }
        if found {
            warnings.push(format!(
                "broker_module={line}: a second Livestatus module; ignored"
            ));
            continue;
        }
        found = true;
        for w in words {
            match w.split_once('=') {
                None if s.socket.is_none() => s.socket = Some(PathBuf::from(w)),
                None => bail!("broker_module={line}: a second socket path '{w}'"),
                Some((k, v)) => {
                    let ms = || -> anyhow::Result<Duration> {
                        Ok(Duration::from_millis(v.parse().with_context(|| {
                            format!("broker_module={line}: {k}={v}: not a number of milliseconds")
                        })?))
                    };
                    match k {
                        "idle_timeout" => s.idle_timeout = ms()?,
                        "query_timeout" => s.query_timeout = ms()?,
                        "max_response_size" => {
                            s.max_response_size = v.parse().with_context(|| {
                                format!("broker_module={line}: max_response_size={v}: not a number of bytes")
                            })?
                        }
                        "num_client_threads" => {
                            s.max_connections = v.parse().with_context(|| {
                                format!("broker_module={line}: num_client_threads={v}: not a number")
                            })?
                        }
                        "service_authorization" | "group_authorization" => {
                            let strict = match v {
                                "strict" => true,
                                "loose" => false,
                                _ => bail!("broker_module={line}: {k}={v}: expected 'strict' or 'loose'"),
                            };
                            if k == "service_authorization" {
                                s.auth.strict_services = strict;
                            } else {
                                s.auth.loose_groups = !strict;
                            }
                        }
                        // Options of the C module that have no meaning here.
                        "debug" | "log_file" | "max_cached_messages" | "thread_stack_size"
                        | "data_encoding" | "pnp_path" | "inventory_path" | "livecheck"
                        | "num_livehelpers" | "livehelper" | "max_backlog" | "max_lines_per_logfile"
                        | "hostgroup_authorization" | "crash_reports_path" | "mk_inventory_path"
                        | "structured_status_path" | "mk_logwatch_path" | "state_file_created_file" => {}
                        _ => warnings.push(format!(
                            "broker_module={line}: unknown Livestatus option '{k}'; ignored"
                        )),
                    }
                }
            }
        }
        if s.socket.is_none() {
            bail!("broker_module={line}: no socket path (expected '{module} /path/to/live')");
        }
    }
    if s.socket.is_none() && s.listen.is_none() {
        if let Some((k, _, origin)) = main.livestatus_command_keys.first() {
            warnings.push(format!(
                "{origin}: {k}: no Livestatus listener (broker_module= or livestatus_listen=); ignored"
            ));
        }
        return Ok((None, warnings));
    }
    Ok((Some(s), warnings))
}

/// Counters shown in `/metrics` and the `status` table.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) commands: AtomicU64,
}

/// Copy the counters into `/metrics` once a second.
pub(crate) fn mirror_stats(
    rt: &tokio::runtime::Runtime,
    stats: Arc<Stats>,
    metrics: &picket_web::Metrics,
) {
    type Pick = fn(&Stats) -> &AtomicU64;
    let series: Vec<(Pick, picket_web::Counter)> = vec![
        (
            |s| &s.connections,
            metrics.counter(
                "picket_livestatus_connections_total",
                "Livestatus connections served.",
                &[],
            ),
        ),
        (
            |s| &s.refused,
            metrics.counter(
                "picket_livestatus_connections_refused_total",
                "Livestatus connections closed at once: too many open.",
                &[],
            ),
        ),
        (
            |s| &s.requests,
            metrics.counter(
                "picket_livestatus_requests_total",
                "Livestatus requests read (queries and commands).",
                &[],
            ),
        ),
        (
            |s| &s.commands,
            metrics.counter(
                "picket_livestatus_commands_total",
                "Livestatus COMMANDs handed to the engine.",
                &[],
            ),
        ),
        (
            |s| &s.errors,
            metrics.counter(
                "picket_livestatus_errors_total",
                "Livestatus requests answered with an error code.",
                &[],
            ),
        ),
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

/// Snapshots from the engine thread, shared while fresh.
pub(crate) struct Source {
    tx: SyncSender<Input>,
    cached: Mutex<Option<(Instant, Arc<Snapshot>)>>,
    tz: jiff::tz::TimeZone,
    program_start: Time,
    stats: Arc<Stats>,
}

impl Source {
    /// A snapshot no older than `max_age` (requests from many connections at once share
    /// one engine round trip).
    fn get(&self, max_age: Duration) -> Result<Arc<Snapshot>, String> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, s)) = cached.as_ref() {
            if at.elapsed() <= max_age {
                return Ok(Arc::clone(s));
            }
        }
        let (reply_tx, reply_rx) = sync_channel(1);
        self.tx
            .send(Input::Livestatus(reply_tx))
            .map_err(|_| "the daemon is shutting down".to_owned())?;
        let mut snap = reply_rx
            .recv_timeout(SNAPSHOT_TIMEOUT)
            .map_err(|_| "the engine did not answer in time".to_owned())?;
        snap.tz = self.tz.clone();
        snap.program_start = self.program_start;
        snap.counters = (
            self.stats.connections.load(Ordering::Relaxed),
            self.stats.requests.load(Ordering::Relaxed),
        );
        let snap = Arc::new(snap.index());
        *cached = Some((Instant::now(), Arc::clone(&snap)));
        Ok(snap)
    }
}

/// Open TCP connections per source (an IPv4 address or an IPv6 /64, as for NSCA and
/// the web), so one client cannot take every slot.
struct PerSource {
    open: Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    max: usize,
}

/// A connection's place in [`PerSource`], given back on drop.
struct SourceSlot {
    table: Arc<PerSource>,
    key: std::net::IpAddr,
}

impl PerSource {
    fn take(table: &Arc<PerSource>, ip: std::net::IpAddr) -> Option<SourceSlot> {
        let key = picket_nsca::server::source_key(ip);
        let mut open = table.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= table.max {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            table: Arc::clone(table),
            key,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// What every connection shares.
struct Shared {
    source: Source,
    /// Queries evaluated at once (one core fewer than the machine has, at least one):
    /// with a thread per query, 20 clients would take 20 of the scheduler's shares and
    /// starve the engine thread of CPU; past this they queue. `WaitCondition:` queries,
    /// which mostly sleep, do not take a slot.
    evaluators: Arc<Semaphore>,
    settings: Settings,
    history: Option<Mutex<picket_history::Store>>,
    check_external_commands: bool,
    errors: Errors,
    /// `picket_ingest_total{via="livestatus",…}`.
    metrics: Arc<picket_web::Metrics>,
    /// The Identities page's counts.
    ledger: Arc<Mutex<picket_web::Ledger>>,
}

impl Shared {
    /// Count (`picket_errors_total{kind="livestatus"}`) and log to `nagios.log` (rate
    /// limited); on standard error when the engine's channel is full.
    /// Counts one `COMMAND` in `picket_ingest_total{via="livestatus",identity,outcome}`
    /// and the ledger (`object`: what an accepted one was for).
    fn count(&self, identity: &str, outcome: picket_web::Outcome, object: &str) {
        let via = picket_web::Via::Livestatus;
        picket_web::count_ingest(&self.metrics, &self.ledger, via, identity, outcome, object);
    }

    fn report(&self, message: &str) {
        if let Some(text) = self.errors.note(Kind::Livestatus, message) {
            let line = format!("Warning: Livestatus: {text}");
            if let Err(e) = self.source.tx.try_send(Input::Log(line)) {
                let (TrySendError::Full(l) | TrySendError::Disconnected(l)) = e;
                if let Input::Log(l) = l {
                    eprintln!("picket: {l}");
                }
            }
        }
    }
}

/// What `COMMAND`s are checked against and counted in.
pub(crate) struct Authz {
    /// Who each listener's (and each unix peer uid's) commands are from.
    pub(crate) commanders: Commanders,
    pub(crate) metrics: Arc<picket_web::Metrics>,
    pub(crate) ledger: Arc<Mutex<picket_web::Ledger>>,
}

/// Start the listeners on `rt`. Returns the bound TCP address, if any.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    rt: &tokio::runtime::Runtime,
    settings: Settings,
    max_connections: usize,
    tx: SyncSender<Input>,
    cfg: &picket_config::Config,
    tz: jiff::tz::TimeZone,
    history: Option<PathBuf>,
    errors: Errors,
    authz: Authz,
) -> anyhow::Result<(Option<SocketAddr>, Arc<Stats>)> {
    let Authz {
        commanders,
        metrics,
        ledger,
    } = authz;
    let stats = Arc::new(Stats::default());
    let history = match history {
        Some(path) => Some(Mutex::new(
            picket_history::Store::open(&path, picket_history::StoreConfig::default())
                .with_context(|| {
                    format!("history_file {} (Livestatus log table)", path.display())
                })?,
        )),
        None => None,
    };
    let evaluators = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1);
    let shared = Arc::new(Shared {
        evaluators: Arc::new(Semaphore::new(evaluators)),
        source: Source {
            tx,
            cached: Mutex::new(None),
            tz,
            program_start: unix_now(),
            stats: Arc::clone(&stats),
        },
        settings: settings.clone(),
        history,
        check_external_commands: cfg.main.check_external_commands,
        errors,
        metrics,
        ledger,
    });
    let commanders = Arc::new(commanders);
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let _guard = rt.enter();
    if let Some(path) = &settings.socket {
        let listener = bind_unix(path)?;
        let (shared, slots, stats) = (Arc::clone(&shared), Arc::clone(&slots), Arc::clone(&stats));
        let commanders = Arc::clone(&commanders);
        rt.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((sock, _)) => {
                        // The peer's uid (SO_PEERCRED) may name an identity.
                        let uid = sock.peer_cred().ok().map(|c| c.uid());
                        let who = commanders.for_uid(uid).clone();
                        let peer = match uid {
                            Some(u) => format!("unix socket uid {u}"),
                            None => "unix socket".into(),
                        };
                        admit(&shared, &slots, &stats, sock, peer, None, who)
                    }
                    Err(e) => accept_failed(&shared, &e).await,
                }
            }
        });
    }
    let mut local = None;
    if let Some(addr) = settings.listen {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("livestatus_listen={addr}"))?;
        listener.set_nonblocking(true)?;
        local = Some(listener.local_addr()?);
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (shared, slots, stats) = (Arc::clone(&shared), Arc::clone(&slots), Arc::clone(&stats));
        let who = commanders.tcp.clone();
        // As the web's: at most 32 from one source, never more than half the cap.
        let per_source = Arc::new(PerSource {
            open: Mutex::new(std::collections::HashMap::new()),
            max: (max_connections / 2).clamp(1, 32),
        });
        rt.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((sock, peer)) => {
                        let Some(slot) = PerSource::take(&per_source, peer.ip()) else {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                            drop(sock);
                            continue;
                        };
                        let _ = sock.set_nodelay(true);
                        admit(
                            &shared,
                            &slots,
                            &stats,
                            sock,
                            peer.to_string(),
                            Some(slot),
                            who.clone(),
                        )
                    }
                    Err(e) => accept_failed(&shared, &e).await,
                }
            }
        });
    }
    Ok((local, stats))
}

async fn accept_failed(shared: &Shared, e: &std::io::Error) {
    shared.report(&format!("accept failed: {e}"));
    // EMFILE and the like: do not spin.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Bind the unix socket at `path`, replacing a stale socket (never another kind of
/// file), mode 0660.
fn bind_unix(path: &std::path::Path) -> anyhow::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "Livestatus socket {}: exists and is not a socket; not replacing it",
                path.display()
            );
        }
        std::fs::remove_file(path).with_context(|| {
            format!(
                "Livestatus socket {}: remove the stale socket",
                path.display()
            )
        })?;
    }
    let l = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("Livestatus socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("Livestatus socket {}: chmod 0660", path.display()))?;
    l.set_nonblocking(true)?;
    Ok(tokio::net::UnixListener::from_std(l)?)
}

fn admit<S>(
    shared: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    stats: &Arc<Stats>,
    sock: S,
    peer: String,
    source: Option<SourceSlot>,
    who: Commander,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
        // Over the cap: closed at once (the client sees EOF), counted.
        stats.refused.fetch_add(1, Ordering::Relaxed);
        drop(sock);
        return;
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        if let Err(e) = serve(&shared, sock, &peer, &who).await {
            shared.report(&format!("client {peer}: {e}"));
        }
        drop(permit);
        drop(source);
    });
}

/// Why reading a request ended.
enum ReadEnd {
    /// A complete request (up to the empty line, or EOF after some text).
    Request(String),
    /// EOF or idle timeout before any byte: the connection is done.
    Closed,
    /// The request did not complete in `query_timeout`, or is too long.
    Incomplete(String),
}

async fn read_request<S: AsyncRead + Unpin>(
    sock: &mut S,
    buf: &mut Vec<u8>,
    settings: &Settings,
) -> std::io::Result<ReadEnd> {
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        // Skip blank lines between requests.
        while buf.first() == Some(&b'\n') {
            buf.remove(0);
        }
        if let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let req: Vec<u8> = buf.drain(..end + 2).collect();
            return Ok(ReadEnd::Request(String::from_utf8_lossy(&req).into_owned()));
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Ok(ReadEnd::Incomplete(format!(
                "request longer than {MAX_REQUEST_BYTES} bytes"
            )));
        }
        let wait = match deadline {
            Some(d) => d.saturating_duration_since(tokio::time::Instant::now()),
            None if buf.is_empty() => settings.idle_timeout,
            None => settings.query_timeout,
        };
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(wait, sock.read(&mut chunk)).await {
            Err(_) if buf.is_empty() => return Ok(ReadEnd::Closed),
            Err(_) => {
                return Ok(ReadEnd::Incomplete(format!(
                    "the request was not complete within query_timeout ({} ms)",
                    settings.query_timeout.as_millis()
                )));
            }
            Ok(Ok(0)) if buf.is_empty() => return Ok(ReadEnd::Closed),
            Ok(Ok(0)) => {
                let req = std::mem::take(buf);
                return Ok(ReadEnd::Request(String::from_utf8_lossy(&req).into_owned()));
            }
            Ok(Ok(n)) => {
                let was_empty = buf.is_empty();
                // `\r\n` line ends are accepted: drop the `\r`s before framing.
                buf.extend(chunk[..n].iter().copied().filter(|b| *b != b'\r'));
                if was_empty && deadline.is_none() && !buf.is_empty() {
                    deadline = Some(tokio::time::Instant::now() + settings.query_timeout);
                }
            }
            Ok(Err(e)) => return Err(e),
        }
    }
}

async fn serve<S>(
    shared: &Arc<Shared>,
    mut sock: S,
    peer: &str,
    who: &Commander,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    // After a COMMAND on this connection, the next query must see its effect.
    let mut fresh = false;
    loop {
        let text = match read_request(&mut sock, &mut buf, &shared.settings).await? {
            ReadEnd::Closed => return Ok(()),
            ReadEnd::Incomplete(msg) => {
                let _ = sock
                    .write_all(&frame(code::INCOMPLETE, &render_error(&msg)))
                    .await;
                return Ok(());
            }
            ReadEnd::Request(t) => t,
        };
        shared.source.stats.requests.fetch_add(1, Ordering::Relaxed);
        let parsed = match parse_request(&text) {
            Ok(p) => p,
            Err(e) => {
                shared.source.stats.errors.fetch_add(1, Ordering::Relaxed);
                let body = render_error(&e.message);
                let out = if e.fixed16 {
                    frame(e.code, &body)
                } else {
                    body
                };
                sock.write_all(&out).await?;
                if e.keepalive {
                    continue;
                }
                return sock.shutdown().await;
            }
        };
        let (fixed16, keepalive) = (parsed.fixed16, parsed.keepalive);
        let (status, body) = match parsed.request {
            Request::Command(line) => match command(shared, &line, who, peer) {
                Ok(()) => {
                    fresh = true;
                    shared.source.stats.commands.fetch_add(1, Ordering::Relaxed);
                    if !fixed16 {
                        continue;
                    }
                    (code::OK, Vec::new())
                }
                Err((c, m)) => {
                    // Refusals by identity are logged and counted as `authz` already.
                    if c != code::UNAUTHORIZED || !m.starts_with("identity ") {
                        shared.report(&format!("client {peer}: command refused: {m}"));
                    }
                    (c, render_error(&m))
                }
            },
            Request::LogRotate => (
                code::INVALID,
                render_error("LOGROTATE: not supported (Picket rotates nagios.log itself)"),
            ),
            Request::Get(q) => {
                let shared2 = Arc::clone(shared);
                let max_age = if fresh {
                    Duration::ZERO
                } else {
                    SNAPSHOT_MAX_AGE
                };
                fresh = false;
                let limit = q.timelimit.map(Duration::from_secs);
                let permit = if q.wait_condition.is_none() {
                    Arc::clone(&shared.evaluators).acquire_owned().await.ok()
                } else {
                    None
                };
                let job = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    query(&shared2, &q, max_age)
                });
                let res = match limit {
                    Some(l) => match tokio::time::timeout(l, job).await {
                        Ok(r) => r,
                        Err(_) => Ok(Err((
                            code::LIMIT_EXCEEDED,
                            format!("Maximum query time of {} seconds exceeded", l.as_secs()),
                        ))),
                    },
                    None => job.await,
                };
                match res {
                    Ok(Ok(body)) => (code::OK, body),
                    Ok(Err((c, m))) => (c, render_error(&m)),
                    Err(e) => (code::INVALID, render_error(&format!("query failed: {e}"))),
                }
            }
        };
        if status != code::OK {
            shared.source.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        let out = if fixed16 { frame(status, &body) } else { body };
        sock.write_all(&out).await?;
        if !keepalive {
            return sock.shutdown().await;
        }
    }
}

/// Evaluate a query (on a blocking thread).
fn query(
    shared: &Shared,
    q: &picket_livestatus::Query,
    max_age: Duration,
) -> Result<Vec<u8>, (u16, String)> {
    let unavailable = |m: String| (code::INVALID, format!("Livestatus: {m}"));
    let mut snap = shared.source.get(max_age).map_err(unavailable)?;
    let columns;
    let known =
        q.table == "columns" || q.table == "log" || tables::table_names().any(|t| t == q.table);
    if !known {
        return Err((
            code::NOT_FOUND,
            format!("Invalid GET request, no such table '{}'", q.table),
        ));
    }
    // WaitCondition: re-evaluate on fresh snapshots until it holds or WaitTimeout.
    if q.wait_condition.is_some() && q.table != "log" && q.table != "columns" {
        let timeout = match q.wait_timeout_ms {
            Some(0) | None => WAIT_MAX,
            Some(ms) => Duration::from_millis(ms).min(WAIT_MAX),
        };
        let start = Instant::now();
        loop {
            let t = SnapTable::new(&snap, &q.table, shared.settings.auth)
                .ok_or_else(|| (code::NOT_FOUND, format!("no such table '{}'", q.table)))?;
            if picket_livestatus::wait_satisfied(&t, q, unix_now())? || start.elapsed() >= timeout {
                break;
            }
            std::thread::sleep(WAIT_POLL);
            snap = shared.source.get(WAIT_POLL).map_err(unavailable)?;
        }
    }
    let now = unix_now();
    let out = match q.table.as_str() {
        "columns" => {
            columns = ColumnsTable::new();
            execute(&columns, q, now)?
        }
        "log" => {
            let Some(store) = &shared.history else {
                return Err((
                    code::NOT_FOUND,
                    "Invalid GET request, table 'log' needs history_file= in the main configuration".to_owned(),
                ));
            };
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            let t = log::LogTable {
                store: &store,
                snap: &snap,
                auth: shared.settings.auth,
                error: std::cell::RefCell::new(None),
            };
            let out = execute(&t, q, now)?;
            if let Some(e) = t.error.borrow().as_ref() {
                return Err((code::INVALID, format!("log table: history database: {e}")));
            }
            out
        }
        name => {
            let t = SnapTable::new(&snap, name, shared.settings.auth)
                .ok_or_else(|| (code::NOT_FOUND, format!("no such table '{name}'")))?;
            execute(&t as &dyn Table, q, now)?
        }
    };
    if out.body.len() > shared.settings.max_response_size {
        return Err((
            code::LIMIT_EXCEEDED,
            format!(
                "Maximum response size of {} bytes exceeded",
                shared.settings.max_response_size
            ),
        ));
    }
    Ok(out.body)
}

/// Check a `COMMAND` line as the web's commands are checked (one line, no control
/// characters, a known command), decide it by the connection's identity
/// ([`Commander`], `picket_authz`), and hand it to the engine as an external
/// command. Refusals are logged (`Warning: authz: refusing …`) and every
/// verdict is counted in `picket_ingest_total{via="livestatus"}`.
fn command(shared: &Shared, line: &str, who: &Commander, peer: &str) -> Result<(), (u16, String)> {
    let label = match who {
        Commander::Scoped { name, .. } => name.as_str(),
        Commander::Unscoped => UNSCOPED,
        Commander::Nobody(_) => ANONYMOUS,
    };
    let bad = |m: String| {
        shared.count(label, picket_web::Outcome::Malformed, "");
        (code::BAD_REQUEST, m)
    };
    if !shared.check_external_commands {
        return Err((
            code::UNAUTHORIZED,
            "external commands are disabled (check_external_commands=0)".to_owned(),
        ));
    }
    let line = line.trim();
    if line
        .chars()
        .any(|c| picket_text::is_line_break(c) || (c.is_control() && c != '\t'))
    {
        return Err(bad(
            "COMMAND: control characters or line breaks in the command".to_owned(),
        ));
    }
    // `COMMAND NAME;args` without a timestamp is taken as now (Nagstamon sends
    // `[now+5]`-style stamps, others none).
    let line = if line.starts_with('[') {
        line.to_owned()
    } else {
        format!("[{}] {line}", unix_now())
    };
    let raw = picket_engine::commands::split_line(&line)
        .map_err(|e| bad(format!("COMMAND: {e}: '{}'", line.escape_default())))?;
    if CommandName::parse(raw.name).is_none() {
        return Err(bad(format!(
            "COMMAND: unknown external command '{}'",
            raw.name.escape_default()
        )));
    }
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    let body =
        picket_authz::command_body(&bytes).map_err(|d| bad(format!("COMMAND: {}", d.object())))?;
    let object = picket_authz::classify(body).object();
    let verdict = match who {
        Commander::Scoped { scope, .. } => scope.decide(&bytes),
        Commander::Unscoped => Ok(()),
        Commander::Nobody(_) => Err(picket_authz::classify(body)),
    };
    if let Err(denial) = verdict {
        let r = picket_authz::Refusal {
            via: picket_web::Via::Livestatus,
            identity: label.to_owned(),
            peer: peer.to_owned(),
            denial,
        };
        tracing::warn!(target: "authz", "{}", r.log_line());
        shared.count(label, r.denial.outcome(), "");
        let why = match who {
            Commander::Nobody(why) => format!("; {why}"),
            _ => String::new(),
        };
        return Err((
            code::UNAUTHORIZED,
            format!(
                "identity {} may not submit {}{why}",
                picket_authz::safe(label),
                picket_authz::safe(&r.denial.object())
            ),
        ));
    }
    match shared.source.tx.try_send(Input::Web(bytes)) {
        Ok(()) => {
            shared.count(label, picket_web::Outcome::Accepted, &object);
            Ok(())
        }
        Err(TrySendError::Full(_)) => Err((
            code::INVALID,
            "the engine's input queue is full; retry".to_owned(),
        )),
        Err(TrySendError::Disconnected(_)) => {
            Err((code::INVALID, "the daemon is shutting down".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_with(lines: &[&str], listen: Option<&str>) -> picket_config::MainConfig {
        picket_config::MainConfig {
            broker_modules: lines.iter().map(|l| (*l).to_owned()).collect(),
            livestatus_listen: listen.map(|l| l.parse().expect("addr")),
            ..picket_config::MainConfig::default()
        }
    }

    #[test]
    fn the_broker_module_line_users_have_configures_the_socket() {
        let (s, w) = settings(&main_with(
            &[
                "/usr/lib/mod_gearman/mod_gearman_naemon.o config=/etc/mod-gearman/module.conf",
                "/usr/local/lib/mk-livestatus/livestatus.o /var/lib/nagios/rw/live debug=1 idle_timeout=2000 query_timeout=500 max_response_size=1000 num_client_threads=8 service_authorization=strict group_authorization=loose pnp_path=/x frobnicate=1",
            ],
            None,
        ))
        .expect("settings");
        let s = s.expect("livestatus on");
        assert_eq!(
            s.socket.as_deref(),
            Some(std::path::Path::new("/var/lib/nagios/rw/live"))
        );
        assert_eq!(s.idle_timeout, Duration::from_millis(2000));
        assert_eq!(s.query_timeout, Duration::from_millis(500));
        assert_eq!(s.max_response_size, 1000);
        assert_eq!(s.max_connections, 8);
        assert!(s.auth.strict_services && s.auth.loose_groups);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("mod_gearman") && w[1].contains("frobnicate"),
            "{w:?}"
        );
    }

    fn keys(l: &[(&str, &str)]) -> Vec<(String, String, String)> {
        l.iter()
            .enumerate()
            .map(|(i, (k, v))| {
                (
                    (*k).to_owned(),
                    (*v).to_owned(),
                    format!("nagios.cfg:{}", i + 1),
                )
            })
            .collect()
    }

    #[test]
    fn who_commands_are_from() {
        let ids = vec![picket_authz::Identity {
            name: "web".into(),
            token: Some("t".repeat(16)),
            password: None,
            scope: picket_authz::Scope::from_sources(&["web.*"], &[], &[]).expect("scope"),
            origin: "ids.cfg:1".into(),
        }];
        // Defaults: unix unscoped, TCP refused.
        let c = CommandAuth::parse(&[])
            .expect("parse")
            .resolve(None)
            .expect("resolve");
        assert!(matches!(c.unix, Commander::Unscoped));
        assert!(matches!(c.tcp, Commander::Nobody(_)));
        // Names resolve to scopes; uids map; the unscoped key is obeyed.
        let a = CommandAuth::parse(&keys(&[
            ("livestatus_tcp_identity", "web"),
            ("livestatus_uid_identity", "33:web"),
            ("livestatus_unscoped_commands", "none"),
        ]))
        .expect("parse");
        assert!(a.names_identities());
        let c = a.resolve(Some(&ids)).expect("resolve");
        assert!(matches!(&c.tcp, Commander::Scoped { name, .. } if name == "web"));
        assert!(matches!(c.for_uid(Some(33)), Commander::Scoped { .. }));
        assert!(matches!(c.for_uid(Some(34)), Commander::Nobody(_)));
        assert!(matches!(c.for_uid(None), Commander::Nobody(_)));
        let Commander::Scoped { scope, .. } = &c.tcp else {
            panic!("scoped")
        };
        assert!(
            scope
                .decide(b"[1] PROCESS_HOST_CHECK_RESULT;web1;0;x\n")
                .is_ok()
        );
        assert!(scope.decide(b"[1] DISABLE_NOTIFICATIONS\n").is_err());
        // Errors name the key's file:line.
        let e = CommandAuth::parse(&keys(&[("livestatus_tcp_identity", "nobody")]))
            .expect("parse")
            .resolve(Some(&ids))
            .expect_err("unknown");
        assert!(
            e.to_string().starts_with("nagios.cfg:1: identity 'nobody'"),
            "{e}"
        );
        let e = CommandAuth::parse(&keys(&[("livestatus_tcp_identity", "web")]))
            .expect("parse")
            .resolve(None)
            .expect_err("no file");
        assert!(
            e.to_string().contains("api_identities_file is not set"),
            "{e}"
        );
        for bad in [
            ("livestatus_uid_identity", "web"),
            ("livestatus_uid_identity", "x:web"),
            ("livestatus_unscoped_commands", "udp"),
            ("livestatus_unix_identity", ""),
        ] {
            assert!(CommandAuth::parse(&keys(&[bad])).is_err(), "{bad:?}");
        }
        assert!(
            CommandAuth::parse(&keys(&[
                ("livestatus_uid_identity", "1:web"),
                ("livestatus_uid_identity", "1:web")
            ]))
            .is_err()
        );
    }

    #[test]
    fn tcp_alone_bad_options_and_nothing() {
        let (s, _) = settings(&main_with(&[], Some("127.0.0.1:6557"))).expect("settings");
        let s = s.expect("on");
        assert!(s.socket.is_none());
        assert_eq!(s.listen, Some("127.0.0.1:6557".parse().expect("addr")));
        assert!(settings(&main_with(&[], None)).expect("ok").0.is_none());
        assert!(settings(&main_with(&["/usr/lib/naemon/livestatus.so"], None)).is_err());
        assert!(
            settings(&main_with(
                &["/x/livestatus.so /tmp/live idle_timeout=soon"],
                None
            ))
            .is_err()
        );
        assert!(
            settings(&main_with(
                &["/x/livestatus.so /tmp/live service_authorization=maybe"],
                None
            ))
            .is_err()
        );
    }
}
