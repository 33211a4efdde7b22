//! `picket MAIN_CFG`: the daemon around the engine.
//!
//! Threads: the FIFO reader (blocking reads, whole lines out), the engine thread (this
//! one: it alone owns the [`Engine`], the log file and the journal), the history thread
//! (tails the log into SQLite and publishes live events), and a small tokio runtime for
//! the NSCA receiver, the web server, the command executor and signals. Every message to
//! the engine thread is an [`Input`] on one bounded channel, so results from the FIFO,
//! NSCA and the web API are processed, journaled and logged in arrival order.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use anyhow::{Context, bail};
use picket_config::{Dialect, LoadOptions};
use picket_engine::{Engine, EngineOptions, Job, PassiveResult, Request, Time};

use crate::detect::Detect;
use crate::history::{History, HistoryMsg};
use crate::report::{Errors, Kind};
use crate::retention::{Entry, Store};

/// A message to the engine thread.
#[derive(Debug)]
pub(crate) enum Input {
    /// Complete command-file lines (a chunk ending with `\n`).
    Lines(Vec<u8>),
    /// An external-command line (with its `\n`) from the web UI or API.
    Web(Vec<u8>),
    /// Passive results from the built-in NSCA receiver.
    Passive(Vec<PassiveResult>),
    /// A line for `nagios.log` from the executor (timeouts, spawn failures).
    Log(String),
    /// The web server asks for a status snapshot.
    Status(SyncSender<picket_web::StatusView>),
    /// Results of active checks (see `checks.rs`).
    CheckResults(Vec<picket_engine::CheckOutcome>),
    /// Connection events from `POST /api/connection-events` (checked by the web layer).
    Events(Vec<picket_correlator::ConnectionEvent>),
    /// Livestatus asks for a snapshot (`livestatus/tables.rs`).
    Livestatus(SyncSender<crate::livestatus::tables::Snapshot>),
}

/// How the daemon was asked to run.
#[derive(Debug, Clone)]
pub(crate) struct DaemonOptions {
    pub(crate) main_cfg: PathBuf,
    pub(crate) daemonize: bool,
    pub(crate) dialect: Option<Dialect>,
    pub(crate) drop_stale_results: bool,
}

/// Number of notification / event-handler commands running at once when the main
/// config does not say (`max_concurrent_notifications`). Not tied to
/// `max_concurrent_checks`: by Little's law the cap bounds throughput at
/// cap ÷ command lifetime, and a loaded box stretches lifetimes (64 slots at 32 ms
/// are 2,000 notifications/s, the W4 rate).
const DEFAULT_MAX_JOBS: usize = 256;
/// Jobs waiting for a slot before new ones are dropped (and logged).
const JOB_QUEUE: usize = 65_536;
/// Snapshot when the journal grows past this, whatever the retention interval.
const JOURNAL_SNAPSHOT_BYTES: u64 = 256 << 20;

const STOP_NONE: u8 = 0;
const STOP_TERM: u8 = 1;
const STOP_RESTART: u8 = 2;
const STOP_INT: u8 = 3;
/// `SHUTDOWN_PROGRAM` (an external command, not a signal).
const STOP_COMMAND: u8 = 4;

/// Log lines kept in memory while `nagios.log` cannot be written, to be written when it
/// can again; past this the oldest pending lines are given up (and said so on stderr).
const LOG_PENDING_MAX: usize = 16 << 20;

pub(crate) fn unix_now() -> Time {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as Time)
        .unwrap_or(0)
}

/// Write the pending log lines. When the log cannot be written (disk full, read-only
/// file system), the error goes to stderr and `picket_errors_total{kind="log"}`, and
/// the lines not written stay in `buf` for the next write (up to [`LOG_PENDING_MAX`]).
pub(crate) fn write_log(log: &mut File, buf: &mut String, errors: &Errors) {
    if buf.is_empty() {
        return;
    }
    let bytes = buf.as_bytes();
    let mut done = 0;
    let failed = loop {
        match log.write(&bytes[done..]) {
            Ok(0) => break Some(std::io::Error::from(std::io::ErrorKind::WriteZero)),
            Ok(n) => {
                done += n;
                if done == bytes.len() {
                    break None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e),
        }
    };
    let Some(e) = failed else {
        buf.clear();
        return;
    };
    while !buf.is_char_boundary(done) {
        done += 1;
    }
    buf.drain(..done);
    let mut lost = 0;
    if buf.len() > LOG_PENDING_MAX {
        // Give up the oldest whole lines.
        let cut = buf.len() - LOG_PENDING_MAX;
        let cut = buf[cut..].find('\n').map_or(buf.len(), |i| cut + i + 1);
        buf.drain(..cut);
        lost = cut;
    }
    errors.stderr_error(
        Kind::Log,
        &format!(
            "cannot write the log file: {e}; {} bytes of log lines kept to write later{}",
            buf.len(),
            if lost > 0 {
                format!(", {lost} older bytes given up")
            } else {
                String::new()
            }
        ),
    );
}

/// Report a failed journal write. The input is processed all the same (a monitor that
/// stops alerting because its disk is full helps nobody), but loudly: an error line in
/// `nagios.log`, `picket_errors_total{kind="journal"}`, and a snapshot is asked for so
/// that the state is durable again as soon as the disk takes it.
fn journal_failed(
    e: &std::io::Error,
    errors: &Errors,
    logbuf: &mut String,
    now: Time,
    save: &mut bool,
) {
    errors.log_error(
        Kind::Journal,
        logbuf,
        now,
        &format!(
            "could not write the retention journal: {e}; the input is processed but not journaled, a crash before the next snapshot would lose it"
        ),
    );
    *save = true;
}

/// Run the daemon until SIGTERM/SIGINT or `SHUTDOWN_PROGRAM`.
pub(crate) fn run(opts: DaemonOptions) -> anyhow::Result<ExitCode> {
    let main_cfg = std::path::absolute(&opts.main_cfg).context("main config path")?;
    let loaded = picket_config::load(
        &main_cfg,
        &LoadOptions {
            dialect: opts.dialect,
            threads: 0,
        },
    )
    .with_context(|| format!("load {}", main_cfg.display()))?;
    let errors = loaded.error_count();
    if errors > 0 {
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", d.line());
        }
        bail!(
            "{errors} error(s) in the configuration; `picket -v {}` shows them all",
            main_cfg.display()
        );
    }
    let warnings: Vec<String> = loaded.diagnostics.iter().map(|d| d.line()).collect();
    let cfg = Arc::new(loaded.config);
    let main = &cfg.main;
    // Warnings for stderr and nagios.log once it is open (a placeholder password must be
    // seen by whoever starts the daemon, not only by whoever reads the log), and notices
    // for stderr only (nagios.log keeps Nagios' content, as for the start-up line).
    let mut loud: Vec<String> = Vec::new();
    let mut notices: Vec<String> = Vec::new();
    let nofile = crate::fdlimit::raise_nofile();
    if nofile.after > nofile.before {
        notices.push(format!(
            "Raised the open-file limit (RLIMIT_NOFILE) from {} to the hard limit {}",
            nofile.before, nofile.after
        ));
    }
    if let Some(e) = &nofile.error {
        loud.push(format!(
            "Warning: cannot raise the open-file limit (RLIMIT_NOFILE) from {}: {e}",
            nofile.before
        ));
    }
    let nofile = nofile.after;
    let nsca_config = match &main.nsca_config_file {
        Some(path) => {
            let (config, w) = crate::nsca::read_config(path)?;
            loud.extend(w.into_iter().map(|w| format!("Warning: {w}")));
            Some((path.clone(), config))
        }
        None => None,
    };
    let detection = match &main.detection_config_file {
        Some(path) => {
            let path = std::path::absolute(path)?;
            let d = crate::detect::read_config(&path)?;
            let (errs, warns) = crate::detect::check_objects(&d, &cfg);
            if !errs.is_empty() {
                for e in &errs {
                    eprintln!("{e}");
                }
                bail!(
                    "{} error(s) in the detection configuration; `picket -v {}` shows them",
                    errs.len(),
                    main_cfg.display()
                );
            }
            loud.extend(warns);
            notices.push(crate::detect::summary(&d, &cfg));
            Some(d)
        }
        None => None,
    };
    let nsca_ng_config = match &main.nsca_ng_config_file {
        Some(path) => {
            let (config, w) = crate::nsca_ng::read_config(path)?;
            loud.extend(w.into_iter().map(|w| format!("Warning: {w}")));
            Some((path.clone(), config))
        }
        None => None,
    };
    let budget = crate::fdlimit::Budget::split(
        nofile,
        nsca_config
            .as_ref()
            .map(|(_, c)| c.max_connections as usize),
    );
    let (livestatus, ls_warnings) = crate::livestatus::settings(main)?;
    loud.extend(ls_warnings.into_iter().map(|w| format!("Warning: {w}")));
    let mut budget = budget;
    let livestatus_cap = livestatus.as_ref().map(|s| {
        budget.take_for_livestatus(match s.max_connections {
            0 => crate::livestatus::DEFAULT_MAX_CONNECTIONS,
            n => n,
        })
    });
    notices.push(format!(
        "Open files: limit {}; at most {} web, {} NSCA and {} Livestatus connections at once, {} kept for the log, journal, history, command file and commands",
        budget.limit,
        budget.web_cap(main.web_max_connections),
        budget.nsca,
        livestatus_cap.unwrap_or(0),
        budget.reserve
    ));
    let token = match (main.web_listen, &main.web_token_file) {
        (Some(_), Some(p)) => {
            let p = std::path::absolute(p)?;
            let (token, created) = crate::web::read_or_create_token(&p)?;
            if created {
                loud.push(format!(
                    "Created web_token_file {} with a new random token (mode 0600): use it to log in to the web UI and as the API's bearer token",
                    p.display()
                ));
            } else if let Some(w) = crate::web::weak_token(&p, &token) {
                loud.push(format!("Warning: {w}"));
            }
            Some(token)
        }
        _ => None,
    };
    // Read for the web and for Livestatus listeners that name an identity.
    let ls_identities = livestatus
        .as_ref()
        .is_some_and(|s| s.commands.names_identities());
    let identities = match (
        main.web_listen.is_some() || ls_identities,
        &main.api_identities_file,
    ) {
        (true, Some(p)) => {
            let ids = crate::web::read_identities(p)?;
            notices.push(format!(
                "API identities: {} from {} ({})",
                ids.len(),
                p.display(),
                ids.iter()
                    .map(|i| picket_engine::output::log_safe(&i.name).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            ids
        }
        _ => Vec::new(),
    };
    // Who Livestatus COMMANDs are from (names checked against the identities now).
    let ls_commanders = match &livestatus {
        Some(s) => Some(
            s.commands.resolve(
                main.api_identities_file
                    .as_ref()
                    .map(|_| identities.as_slice()),
            )?,
        ),
        None => None,
    };
    let nrdp_path = match main.nrdp_path.as_deref() {
        None => Some("/nrdp/".to_string()),
        Some("") => None,
        Some(p) => {
            picket_web::check_nrdp_path(p).map_err(|e| anyhow::anyhow!("{e}"))?;
            Some(p.to_string())
        }
    };
    // Per-identity counts and last submissions of every ingest path (the Identities page).
    let ledger = Arc::new(std::sync::Mutex::new(picket_web::Ledger::default()));
    let log_path = main
        .log_file
        .clone()
        .context("log_file is not set in the main configuration")?;
    let log_path = std::path::absolute(log_path)?;
    let rotator = crate::logfile::Rotator::new(&log_path, main.log_archive_path.as_deref())?;
    let command_file = if main.check_external_commands {
        main.command_file
            .clone()
            .map(std::path::absolute)
            .transpose()?
    } else {
        None
    };
    let retention_path = if main.retain_state_information {
        let p = main.state_retention_file.clone().unwrap_or_else(|| {
            log_path
                .parent()
                .unwrap_or(Path::new("/"))
                .join("retention.dat")
        });
        Some(std::path::absolute(p)?)
    } else {
        None
    };
    let lock_file = main
        .lock_file
        .clone()
        .map(std::path::absolute)
        .transpose()?;

    if opts.daemonize {
        nix::unistd::daemon(false, false).context("daemonize")?;
    }
    if let Some(lock) = &lock_file {
        std::fs::write(lock, format!("{}\n", std::process::id()))
            .with_context(|| format!("write lock file {}", lock.display()))?;
    }

    let tz = match &main.use_timezone {
        Some(name) => {
            jiff::tz::TimeZone::get(name).with_context(|| format!("use_timezone={name}"))?
        }
        None => jiff::tz::TimeZone::system(),
    };
    let mut engine = Engine::new(
        Arc::clone(&cfg),
        tz.clone(),
        EngineOptions {
            drop_stale_results: opts.drop_stale_results,
        },
    );
    // The incident page's acknowledge form needs the service that carries incidents.
    let incident_service = detection
        .as_ref()
        .and_then(|d| Some((d.incident_host.clone()?, d.incident_service.clone()?)));
    let mut detect = detection.map(|mut d| {
        d.utc_offset = tz
            .to_offset(
                jiff::Timestamp::from_second(unix_now()).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            )
            .seconds();
        Detect::new(d)
    });
    let mut store = match &retention_path {
        Some(p) => {
            let (store, replayed) = Store::open_with(p, &mut engine, &mut detect)?;
            for w in &replayed.warnings {
                eprintln!("picket: {w}");
            }
            if replayed.records > 0 {
                eprintln!(
                    "picket: replayed {} journaled input batch(es) after an unclean stop",
                    replayed.records
                );
            }
            Some(store)
        }
        None => None,
    };

    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("open log file {}", log_path.display()))?;
    let now = unix_now();
    eprintln!(
        "Picket {} starting... (PID={})",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    let metrics = Arc::new(picket_web::Metrics::new());
    let errors = Errors::new(Arc::clone(&metrics));
    let mut logbuf = String::with_capacity(1 << 20);
    logbuf.push_str(&format!("[{now}] LOG VERSION: 2.0\n"));
    for w in warnings.iter().chain(&loud) {
        logbuf.push_str(&format!("[{now}] {}\n", picket_engine::output::log_safe(w)));
    }
    for w in loud.iter().chain(&notices) {
        eprintln!("picket: {}", picket_engine::output::log_safe(w));
    }
    // Snapshot first: with 10,000s of objects it takes a moment, and the first checks
    // are scheduled from the instant the engine starts.
    if let Some(s) = store.as_mut() {
        s.save_with(&engine, detect.as_ref(), now)?;
    }
    let now = unix_now();
    engine.start(now);
    // objects.cache at every start (a reload is a re-exec, so at reload too).
    if let Some(p) = &main.object_cache_file {
        let text = picket_engine::statusfile::render_objects_cache(&cfg, now, &tz);
        if let Err(e) = crate::statusfile::write_atomically(p, text.as_bytes()) {
            errors.log_error(
                Kind::Status,
                &mut logbuf,
                now,
                &format!("could not write the object cache file {}: {e}", p.display()),
            );
        }
    }
    let mut jobs: Vec<Job> = Vec::new();
    let mut requests: Vec<Request> = Vec::new();
    engine.drain_into(&mut logbuf, &mut jobs, &mut requests);
    write_log(&mut log, &mut logbuf, &errors);

    let (events, _) = tokio::sync::broadcast::channel::<picket_web::LiveEvent>(4096);
    let history_db = main
        .history_file
        .clone()
        .map(std::path::absolute)
        .transpose()?;
    let history: Option<History> = if history_db.is_some() || main.web_listen.is_some() {
        let store_cfg = picket_history::StoreConfig {
            max_age_secs: (main.history_max_age_days > 0)
                .then(|| i64::from(main.history_max_age_days) * 86_400),
            max_rows: (main.history_max_rows > 0).then_some(main.history_max_rows),
            ..Default::default()
        };
        Some(crate::history::start(
            &log_path,
            history_db.as_deref().map(|p| (p, store_cfg)),
            events.clone(),
            &metrics,
        )?)
    } else {
        None
    };
    let history_tx = history.as_ref().map(|h| h.tx.clone());

    let (tx, rx) = sync_channel::<Input>(256);
    // Warnings of the libraries (the NSCA receiver's bad packets) go to nagios.log.
    crate::report::LogLayer::new(tx.clone(), errors.clone()).install();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("picket-exec")
        .build()
        .context("start runtime")?;
    let (job_tx, job_rx) = tokio::sync::mpsc::channel::<Job>(JOB_QUEUE);
    let max_jobs = match main.max_concurrent_notifications {
        0 => DEFAULT_MAX_JOBS,
        n => n as usize,
    };
    rt.spawn(crate::exec::executor(
        job_rx,
        max_jobs,
        crate::exec::Reports::new(tx.clone(), history_tx.clone(), &metrics),
    ));
    let checks = crate::checks::start(&rt, main.max_concurrent_checks, tx.clone());
    {
        let tx = tx.clone();
        crate::logfile::spawn_ticker(Duration::from_millis(250), move || {
            // A full queue wakes the loop anyway; stop when the engine thread is gone.
            !matches!(
                tx.try_send(Input::Passive(Vec::new())),
                Err(std::sync::mpsc::TrySendError::Disconnected(_))
            )
        })?;
    }
    let stop = Arc::new(AtomicU8::new(STOP_NONE));
    {
        let stop = Arc::clone(&stop);
        rt.spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            let v = tokio::select! {
                _ = term.recv() => STOP_TERM,
                _ = int.recv() => STOP_INT,
                _ = hup.recv() => STOP_RESTART,
            };
            stop.store(v, Ordering::SeqCst);
        });
    }
    if let Some(cf) = &command_file {
        crate::fifo::create(cf)?;
        crate::fifo::spawn_reader(cf, tx.clone())?;
    }
    let nsca = match &nsca_config {
        Some((path, config)) => {
            let receiver = crate::nsca::start(&rt, path, config, budget.nsca, tx.clone())?;
            eprintln!(
                "Listening for NSCA on {} ({})",
                receiver.local_addr,
                path.display()
            );
            crate::web::mirror_nsca_stats(&rt, std::sync::Arc::clone(&receiver.stats), &metrics);
            Some(receiver)
        }
        None => None,
    };
    let nsca_ng = match &nsca_ng_config {
        Some((path, config)) => {
            // Its connections share the NSCA budget (one thread and one descriptor each).
            let receiver =
                crate::nsca_ng::start(path, config, budget.nsca.clamp(1, 1024), tx.clone())?;
            eprintln!(
                "Listening for NSCA-ng on {} ({})",
                receiver.local_addr,
                path.display()
            );
            crate::nsca_ng::mirror_stats(
                &rt,
                std::sync::Arc::clone(&receiver.stats),
                Arc::clone(&metrics),
                Arc::clone(&ledger),
            );
            Some(receiver)
        }
        None => None,
    };
    if let Some(dir) = &main.check_result_path {
        let dir = std::path::absolute(dir)?;
        let every = Duration::from_secs(main.check_result_reaper_frequency.max(1));
        crate::checkresults::start(
            dir.clone(),
            every,
            main.max_check_result_file_age,
            tx.clone(),
        )?;
        eprintln!(
            "Reading check results from {} every {} s",
            dir.display(),
            every.as_secs()
        );
    }
    if let Some(addr) = main.web_listen {
        let read_only = token.is_none() && !identities.iter().any(|i| i.token.is_some());
        let local = crate::web::start(
            &rt,
            crate::web::WebParts {
                addr,
                token,
                identities: identities.clone(),
                ledger: Arc::clone(&ledger),
                nrdp_path: nrdp_path.clone(),
                history: history_db.clone(),
                max_connections: budget.web_cap(main.web_max_connections),
                errors: errors.clone(),
                incident_service,
                batch_file: log_path
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .join("sensor-batches.json"),
            },
            tx.clone(),
            Arc::clone(&cfg),
            events.clone(),
            Arc::clone(&metrics),
        )?;
        eprintln!(
            "Web UI and API on http://{local}/{}",
            if read_only {
                " (read-only: no web_token_file)"
            } else {
                ""
            }
        );
    }
    if let (Some(settings), Some(cap), Some(commanders)) =
        (livestatus, livestatus_cap, ls_commanders)
    {
        let socket = settings.socket.clone();
        let (local, stats) = crate::livestatus::start(
            &rt,
            settings,
            cap,
            tx.clone(),
            &cfg,
            tz.clone(),
            history_db.clone(),
            errors.clone(),
            crate::livestatus::Authz {
                commanders,
                metrics: Arc::clone(&metrics),
                ledger: Arc::clone(&ledger),
            },
        )?;
        crate::livestatus::mirror_stats(&rt, stats, &metrics);
        if let Some(p) = socket {
            eprintln!(
                "Livestatus on unix socket {} (at most {cap} connections)",
                p.display()
            );
        }
        if let Some(a) = local {
            eprintln!("Livestatus on tcp {a} (at most {cap} connections)");
        }
    }
    for job in jobs.drain(..) {
        if let Err(e) = job_tx.try_send(job) {
            let job = match e {
                tokio::sync::mpsc::error::TrySendError::Full(j)
                | tokio::sync::mpsc::error::TrySendError::Closed(j) => j,
            };
            logbuf.push_str(&format!(
                "[{now}] Warning: command queue full, not running command for {}\n",
                picket_engine::output::log_safe(&job.what)
            ));
        }
    }
    let mut status = match &main.status_file {
        Some(p) => Some(crate::statusfile::StatusWriter::start(
            std::path::absolute(p)?,
            main.status_update_interval,
            opts.daemonize,
            tx.clone(),
            errors.clone(),
        )?),
        None => None,
    };
    let mut exporter = detect
        .as_ref()
        .map(|_| crate::detect::Exporter::new(&metrics));
    let outcome = engine_loop(
        &mut engine,
        (&mut detect, exporter.as_mut()),
        status.as_mut(),
        &rx,
        (&mut log, &rotator),
        &mut logbuf,
        store.as_mut(),
        &job_tx,
        history_tx.as_ref(),
        &checks,
        &stop,
        main.retention_update_interval,
        &errors,
    );
    let now = unix_now();
    let restart = outcome == STOP_RESTART;
    // As Nagios 4 names them; SHUTDOWN_PROGRAM logs no signal.
    let caught = match outcome {
        STOP_RESTART => Some("Caught SIGHUP, restarting..."),
        STOP_INT => Some("Caught SIGINT, shutting down..."),
        STOP_COMMAND => None,
        _ => Some("Caught SIGTERM, shutting down..."),
    };
    if let Some(c) = caught {
        logbuf.push_str(&format!("[{now}] {c}\n"));
    }
    if let Some(s) = store.as_mut() {
        if let Err(e) = s.save_with(&engine, detect.as_ref(), now) {
            errors.log_error(
                Kind::Retention,
                &mut logbuf,
                now,
                &format!("could not save retention data: {e:#}"),
            );
        }
    }
    if !restart {
        logbuf.push_str(&format!(
            "[{now}] Successfully shutdown... (PID={})\n",
            std::process::id()
        ));
    }
    write_log(&mut log, &mut logbuf, &errors);
    if let Some(s) = status {
        s.finish();
    }
    // Stop everything that still holds a connection or a sender: requests waiting on
    // the engine see it gone, the listeners close, the runtime ends the web server, its
    // SSE streams, idle NSCA and web connections and the executors (whose reports hold
    // senders to the history thread). Then the history takes the last lines and stops.
    drop(rx);
    if let Some(n) = &nsca {
        n.stop();
    }
    if let Some(n) = &nsca_ng {
        n.stop();
    }
    drop(job_tx);
    rt.shutdown_timeout(Duration::from_millis(500));
    drop(history_tx);
    if let Some(h) = history {
        if !h.finish(Duration::from_secs(1)) {
            eprintln!(
                "picket: the history is still catching up with the log; it resumes from its cursor at the next start"
            );
        }
    }
    if let Some(cf) = &command_file {
        if let Err(e) = std::fs::remove_file(cf) {
            eprintln!(
                "picket: cannot remove the command file {}: {e}",
                cf.display()
            );
        }
    }
    if restart {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().context("current_exe")?;
        let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "-d").collect();
        let err = std::process::Command::new(exe).args(args).exec();
        bail!("restart failed: {err}");
    }
    if let Some(lock) = &lock_file {
        if let Err(e) = std::fs::remove_file(lock) {
            eprintln!(
                "picket: cannot remove the lock file {}: {e}",
                lock.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn engine_loop(
    engine: &mut Engine,
    (detect, mut exporter): (&mut Option<Detect>, Option<&mut crate::detect::Exporter>),
    mut status: Option<&mut crate::statusfile::StatusWriter>,
    rx: &Receiver<Input>,
    (log, rotator): (&mut File, &crate::logfile::Rotator),
    logbuf: &mut String,
    mut store: Option<&mut Store>,
    job_tx: &tokio::sync::mpsc::Sender<Job>,
    history: Option<&SyncSender<HistoryMsg>>,
    checks: &crate::checks::Checks,
    stop: &AtomicU8,
    retention_minutes: u32,
    errors: &Errors,
) -> u8 {
    let mut jobs: Vec<Job> = Vec::new();
    let mut requests: Vec<Request> = Vec::new();
    let save_every = Time::from(retention_minutes) * 60;
    let mut last_save = unix_now();
    // A SAVE_STATE_INFORMATION that came while a snapshot was still being written.
    let mut save_pending = false;
    let mut last_journal_retry: Time = 0;
    let mut check_jobs = Vec::new();
    let mut last_export: Time = 0;
    loop {
        let s = stop.load(Ordering::SeqCst);
        if s != STOP_NONE {
            return s;
        }
        let wakeup = match (
            engine.next_wakeup(),
            detect.as_ref().and_then(Detect::next_wakeup),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = crate::checks::wait_for(wakeup, Duration::from_millis(200));
        let first = match rx.recv_timeout(wait) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return STOP_TERM,
        };
        let now = unix_now();
        let mut msg = first;
        let mut batches = 0;
        // A journal write failed in this pass: snapshot as soon as possible.
        let mut journal_save = false;
        while let Some(m) = msg {
            match m {
                // Journaled as received; `Entry::apply` is also what the replay calls.
                Input::Lines(data) => {
                    let entry = Entry::Lines(&data);
                    if let Some(s) = store.as_deref_mut() {
                        if let Err(e) = s.append(now, &entry) {
                            journal_failed(&e, errors, logbuf, now, &mut journal_save);
                        }
                    }
                    entry.apply_with(engine, detect.as_mut(), now);
                }
                Input::Web(data) => {
                    let entry = Entry::Web(&data);
                    if let Some(s) = store.as_deref_mut() {
                        if let Err(e) = s.append(now, &entry) {
                            journal_failed(&e, errors, logbuf, now, &mut journal_save);
                        }
                    }
                    entry.apply_with(engine, detect.as_mut(), now);
                }
                Input::Passive(results) => {
                    let entry = Entry::Passive(&results);
                    if let Some(s) = store.as_deref_mut() {
                        if let Err(e) = s.append(now, &entry) {
                            journal_failed(&e, errors, logbuf, now, &mut journal_save);
                        }
                    }
                    entry.apply_with(engine, detect.as_mut(), now);
                }
                Input::Events(events) => {
                    let entry = Entry::Events(&events);
                    if let Some(s) = store.as_deref_mut() {
                        if let Err(e) = s.append(now, &entry) {
                            journal_failed(&e, errors, logbuf, now, &mut journal_save);
                        }
                    }
                    entry.apply_with(engine, detect.as_mut(), now);
                }
                Input::Log(line) => {
                    logbuf.push_str(&format!("[{now}] {line}\n"));
                }
                Input::Status(reply) => {
                    // Answer with everything before it processed (and logged).
                    if let Err(e) =
                        crate::retention::tick(engine, detect.as_mut(), store.as_deref_mut(), now)
                    {
                        journal_failed(&e, errors, logbuf, now, &mut journal_save);
                    }
                    engine.drain_into(logbuf, &mut jobs, &mut requests);
                    let _ = reply.try_send(crate::web::status_view(engine, now));
                }
                Input::Livestatus(reply) => {
                    // As for the web: everything before it processed and logged.
                    if let Err(e) =
                        crate::retention::tick(engine, detect.as_mut(), store.as_deref_mut(), now)
                    {
                        journal_failed(&e, errors, logbuf, now, &mut journal_save);
                    }
                    engine.drain_into(logbuf, &mut jobs, &mut requests);
                    let _ = reply.try_send(crate::livestatus::tables::Snapshot::take(engine, now));
                }
                Input::CheckResults(results) => {
                    let entry = Entry::Checks(&results);
                    if let Some(s) = store.as_deref_mut() {
                        if let Err(e) = s.append(now, &entry) {
                            journal_failed(&e, errors, logbuf, now, &mut journal_save);
                        }
                    }
                    entry.apply_with(engine, detect.as_mut(), now);
                }
            }
            batches += 1;
            if batches >= 64 {
                break;
            }
            msg = rx.try_recv().ok();
        }
        if let Err(e) = crate::retention::tick(engine, detect.as_mut(), store.as_deref_mut(), now) {
            journal_failed(&e, errors, logbuf, now, &mut journal_save);
        }
        if engine.log_rotation_due(now).is_some() {
            if let Some(w) = status.as_deref_mut() {
                w.rotated(now);
            }
        }
        rotator.rotate_if_due(engine, log, logbuf, now, errors);
        engine.drain_into(logbuf, &mut jobs, &mut requests);
        engine.drain_checks(&mut check_jobs);
        // Journal first: what is logged or run is never ahead of what a restart replays.
        if let Some(s) = store.as_deref_mut() {
            if let Err(e) = s.flush() {
                journal_failed(&e, errors, logbuf, now, &mut journal_save);
            }
        }
        // Then the log (so a notification's line is in the history before its outcome),
        // then the journal's marker that this is logged, then the commands.
        write_log(log, logbuf, errors);
        if let Some(s) = store.as_deref_mut() {
            if let Err(e) = s.mark_logged() {
                journal_failed(&e, errors, logbuf, now, &mut journal_save);
            }
        }
        if let Some(h) = history {
            let _ = h.try_send(HistoryMsg::Wake);
        }
        for job in jobs.drain(..) {
            if let Err(e) = job_tx.try_send(job) {
                let job = match e {
                    tokio::sync::mpsc::error::TrySendError::Full(j)
                    | tokio::sync::mpsc::error::TrySendError::Closed(j) => j,
                };
                logbuf.push_str(&format!(
                    "[{now}] Warning: command queue full, not running command for {}\n",
                    picket_engine::output::log_safe(&job.what)
                ));
            }
        }
        checks.dispatch(&mut check_jobs);
        if let (Some(x), Some(d)) = (exporter.as_deref_mut(), detect.as_ref()) {
            if now != last_export {
                last_export = now;
                x.update(d);
            }
        }
        let mut save = std::mem::take(&mut save_pending);
        for r in requests.drain(..) {
            match r {
                Request::SaveState => save = true,
                Request::Shutdown => return STOP_COMMAND,
                Request::Restart => return STOP_RESTART,
                Request::ProcessFile { path, delete } => {
                    if let Err(e) = crate::cmdfile::process_file(
                        engine,
                        store.as_deref_mut(),
                        &path,
                        delete,
                        now,
                        logbuf,
                    ) {
                        journal_failed(&e, errors, logbuf, now, &mut journal_save);
                    }
                }
            }
        }
        write_log(log, logbuf, errors);
        // status.dat every status_update_interval and on SAVE_STATE_INFORMATION.
        if let Some(w) = status.as_deref_mut() {
            if save || w.due(now) {
                w.write(engine, now);
            }
        }
        // After a failed journal write, a snapshot makes the state durable again; while
        // the disk refuses it too, try again at most every ten seconds.
        if journal_save && now - last_journal_retry >= 10 {
            last_journal_retry = now;
            save = true;
        }
        if let Some(s) = store.as_deref_mut() {
            if save
                || (save_every > 0 && now - last_save >= save_every)
                || s.journal_bytes() > JOURNAL_SNAPSHOT_BYTES
            {
                // Written beside the engine thread; while the previous snapshot is
                // still being written this asks again on the next pass.
                match s.save_in_background_with(engine, detect.as_ref(), now) {
                    Ok(true) => last_save = now,
                    Ok(false) => save_pending = save,
                    Err(e) => {
                        errors.log_error(
                            Kind::Retention,
                            logbuf,
                            now,
                            &format!("could not save retention data: {e:#}"),
                        );
                        last_save = now;
                    }
                }
            }
        }
    }
}
