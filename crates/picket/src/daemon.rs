//! `picket MAIN_CFG`: the daemon around the engine.
//!
//! Threads: the FIFO reader (blocking reads, whole lines out), the engine thread (this
//! one, [`EngineLoop`]: it alone owns the [`Engine`], the log file and the journal), the
//! history thread (tails the log into SQLite and publishes live events), and a small
//! tokio runtime for the NSCA receiver (its connection tasks send to the engine thread
//! themselves), the web server, the command executor and signals. Every message to the
//! engine thread is an [`Input`] (`input.rs`) on one bounded channel, so results from
//! the FIFO, NSCA and the web API are processed, journaled and logged in arrival order.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use anyhow::{Context, bail};
use picket_config::{Dialect, LoadOptions};
use picket_engine::{Engine, EngineOptions, Job, Request, Time};

use crate::detect::Detect;
use crate::history::{History, HistoryTx};
use crate::input::{Input, unix_now};
use crate::logfile::write_log;
use crate::report::{Errors, Kind};
use crate::retention::{Entry, Store};

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
/// Connections the built-in NSCA-ng receiver serves at once at most (one thread and one
/// descriptor each; the descriptor budget may give it fewer).
const NSCA_NG_MAX_CONNECTIONS: usize = 1024;
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
    // The NSCA share of the descriptors is for both receivers: NSCA 2 up to its
    // `max_connections`, NSCA-ng (which has no such key) up to 1,024.
    let nsca_wanted = match (&nsca_config, &nsca_ng_config) {
        (None, None) => None,
        (n, ng) => Some(
            n.as_ref().map_or(0, |(_, c)| c.max_connections as usize)
                + if ng.is_some() {
                    NSCA_NG_MAX_CONNECTIONS
                } else {
                    0
                },
        ),
    };
    let budget = crate::fdlimit::Budget::split(nofile, nsca_wanted);
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
    let spool_keys = crate::checkresults::SpoolAuthKeys::parse(&main.check_result_identity_keys)?;
    let identities = match (
        main.web_listen.is_some() || ls_identities || spool_keys.names_identities(),
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
    // Who check_result_path files are from (names checked against the identities now).
    let spool_auth = spool_keys.resolve(
        main.api_identities_file
            .as_ref()
            .map(|_| identities.as_slice()),
    )?;
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
    let retention_path = retention_file(main, &log_path)
        .map(std::path::absolute)
        .transpose()?;
    let lock_file = main
        .lock_file
        .clone()
        .map(std::path::absolute)
        .transpose()?;
    // Before anything is opened: a FIFO here would hang the start with no word said.
    for (key, path) in data_files(main, &log_path) {
        picket_config::check_data_file(&path, key == "log_file")
            .with_context(|| format!("{key} {}", path.display()))?;
    }

    if opts.daemonize {
        nix::unistd::daemon(false, false).context("daemonize")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("picket-exec")
        .build()
        .context("start runtime")?;
    // After the fork of -d (a runtime's threads do not survive it) and before anything the
    // outside can see (the lock file, the log, the FIFO, a listener): whoever sees the
    // daemon up may stop it, and a signal before the handlers are in place would kill it
    // with no shutdown (no retention saved, no "Caught SIGTERM"). One that arrives while the
    // start goes on is acted on when the main loop begins.
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let _in_runtime = rt.enter();
        let install = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("install the {name} handler"))
        };
        (
            install(SignalKind::terminate(), "SIGTERM")?,
            install(SignalKind::interrupt(), "SIGINT")?,
            install(SignalKind::hangup(), "SIGHUP")?,
        )
    };
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

    let mut log =
        open_log(&log_path).with_context(|| format!("log_file {}", log_path.display()))?;
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
                tx.try_send(Input::Tick),
                Err(std::sync::mpsc::TrySendError::Disconnected(_))
            )
        })?;
    }
    let stop = Arc::new(AtomicU8::new(STOP_NONE));
    {
        let stop = Arc::clone(&stop);
        let (mut term, mut int, mut hup) = signals;
        rt.spawn(async move {
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
            let receiver = crate::nsca_ng::start(
                path,
                config,
                budget.nsca.clamp(1, NSCA_NG_MAX_CONNECTIONS),
                tx.clone(),
            )?;
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
        if spool_keys.names_identities() {
            eprintln!("{}", spool_auth.describe());
        }
        crate::checkresults::start(
            dir.clone(),
            every,
            main.max_check_result_file_age,
            tx.clone(),
            spool_auth.clone(),
            crate::checkresults::SpoolReport {
                metrics: Arc::clone(&metrics),
                ledger: Arc::clone(&ledger),
            },
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
    let outcome = EngineLoop {
        ingest: Ingest::new(
            &mut engine,
            &mut detect,
            store.as_mut(),
            &mut logbuf,
            &errors,
        ),
        exporter: exporter.as_mut(),
        status: status.as_mut(),
        log: &mut log,
        rotator: &rotator,
        job_tx: &job_tx,
        history: history_tx.as_ref(),
        checks: &checks,
        save_every: Time::from(main.retention_update_interval) * 60,
    }
    .run(&rx, &stop);
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

/// What one input does, live and (through the journal) on replay: the engine with the
/// scan detection beside it, the journal, and what the engine produced that the pass
/// has not handed on yet. Every journaled kind goes through [`Entry::apply_with`], as
/// the replay (`retention::Record::apply`) does.
pub(crate) struct Ingest<'a> {
    pub(crate) engine: &'a mut Engine,
    pub(crate) detect: &'a mut Option<Detect>,
    pub(crate) store: Option<&'a mut Store>,
    pub(crate) logbuf: &'a mut String,
    pub(crate) errors: &'a Errors,
    jobs: Vec<Job>,
    requests: Vec<Request>,
    /// A journal write failed in this pass: snapshot as soon as possible.
    journal_save: bool,
}

impl<'a> Ingest<'a> {
    pub(crate) fn new(
        engine: &'a mut Engine,
        detect: &'a mut Option<Detect>,
        store: Option<&'a mut Store>,
        logbuf: &'a mut String,
        errors: &'a Errors,
    ) -> Ingest<'a> {
        Ingest {
            engine,
            detect,
            store,
            logbuf,
            errors,
            jobs: Vec::new(),
            requests: Vec::new(),
            journal_save: false,
        }
    }

    /// Journal an input batch as received, then hand it to the engine.
    fn journaled(&mut self, entry: Entry<'_>, now: Time) {
        if let Some(s) = self.store.as_deref_mut() {
            if let Err(e) = s.append(now, &entry) {
                journal_failed(&e, self.errors, self.logbuf, now, &mut self.journal_save);
            }
        }
        entry.apply_with(self.engine, self.detect.as_mut(), now);
    }

    /// `Engine::tick(now)` (journaled when something is due) and its outputs drained.
    fn tick_and_drain(&mut self, now: Time) {
        if let Err(e) = crate::retention::tick(
            self.engine,
            self.detect.as_mut(),
            self.store.as_deref_mut(),
            now,
        ) {
            journal_failed(&e, self.errors, self.logbuf, now, &mut self.journal_save);
        }
        self.engine
            .drain_into(self.logbuf, &mut self.jobs, &mut self.requests);
    }

    /// One input from the channel.
    pub(crate) fn take(&mut self, input: Input, now: Time) {
        match input {
            Input::Lines(data) => self.journaled(Entry::Lines(&data), now),
            Input::Web(data) => self.journaled(Entry::Web(&data), now),
            Input::Passive(results) => self.journaled(Entry::Passive(&results), now),
            Input::CheckResults(results) => self.journaled(Entry::Checks(&results), now),
            Input::Events(events) => self.journaled(Entry::Events(&events), now),
            // Time is journaled by the tick at the end of the pass, when something is due.
            Input::Tick => {}
            // Not state: written with the pass's log lines.
            Input::Log(line) => {
                self.logbuf.push_str(&format!("[{now}] {line}\n"));
            }
            Input::Status(reply) => {
                // Answer with everything before it processed (and logged).
                self.tick_and_drain(now);
                let _ = reply.try_send(crate::web::status_view(self.engine, now));
            }
            Input::Livestatus(reply) => {
                // As for the web: everything before it processed and logged.
                self.tick_and_drain(now);
                let _ = reply.try_send(crate::livestatus::tables::Snapshot::take(self.engine, now));
            }
        }
    }
}

/// The engine thread's loop: it alone owns the engine (through [`Ingest`]), the log
/// file and the journal. Each pass takes up to [`EngineLoop::BATCH`] inputs from the
/// channel, then ticks the engine, journals, logs, marks the journal logged, and hands
/// on the commands and checks the pass produced.
pub(crate) struct EngineLoop<'a> {
    pub(crate) ingest: Ingest<'a>,
    pub(crate) exporter: Option<&'a mut crate::detect::Exporter>,
    pub(crate) status: Option<&'a mut crate::statusfile::StatusWriter>,
    pub(crate) log: &'a mut File,
    pub(crate) rotator: &'a crate::logfile::Rotator,
    pub(crate) job_tx: &'a tokio::sync::mpsc::Sender<Job>,
    pub(crate) history: Option<&'a HistoryTx>,
    pub(crate) checks: &'a crate::checks::Checks,
    /// `retention_update_interval` in seconds (0: only on request and at stop).
    pub(crate) save_every: Time,
}

impl EngineLoop<'_> {
    /// Inputs taken from the channel in one pass before its log and journal writes.
    const BATCH: usize = 64;

    /// Run until `stop` is set, the channel closes (`STOP_TERM`) or the engine asks
    /// to stop or restart; returns why.
    pub(crate) fn run(&mut self, rx: &Receiver<Input>, stop: &AtomicU8) -> u8 {
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
                self.ingest.engine.next_wakeup(),
                self.ingest.detect.as_ref().and_then(Detect::next_wakeup),
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
            self.ingest.journal_save = false;
            while let Some(m) = msg {
                self.ingest.take(m, now);
                batches += 1;
                if batches >= Self::BATCH {
                    break;
                }
                msg = rx.try_recv().ok();
            }
            let ing = &mut self.ingest;
            if let Err(e) = crate::retention::tick(
                ing.engine,
                ing.detect.as_mut(),
                ing.store.as_deref_mut(),
                now,
            ) {
                journal_failed(&e, ing.errors, ing.logbuf, now, &mut ing.journal_save);
            }
            if ing.engine.log_rotation_due(now).is_some() {
                if let Some(w) = self.status.as_deref_mut() {
                    w.rotated(now);
                }
            }
            self.rotator
                .rotate_if_due(ing.engine, self.log, ing.logbuf, now, ing.errors);
            ing.engine
                .drain_into(ing.logbuf, &mut ing.jobs, &mut ing.requests);
            ing.engine.drain_checks(&mut check_jobs);
            // Journal first: what is logged or run is never ahead of what a restart replays.
            if let Some(s) = ing.store.as_deref_mut() {
                if let Err(e) = s.flush() {
                    journal_failed(&e, ing.errors, ing.logbuf, now, &mut ing.journal_save);
                }
            }
            // Then the log (so a notification's line is in the history before its outcome),
            // then the journal's marker that this is logged, then the commands.
            write_log(self.log, ing.logbuf, ing.errors);
            if let Some(s) = ing.store.as_deref_mut() {
                if let Err(e) = s.mark_logged() {
                    journal_failed(&e, ing.errors, ing.logbuf, now, &mut ing.journal_save);
                }
            }
            if let Some(h) = self.history {
                h.wake();
            }
            for job in ing.jobs.drain(..) {
                if let Err(e) = self.job_tx.try_send(job) {
                    let job = match e {
                        tokio::sync::mpsc::error::TrySendError::Full(j)
                        | tokio::sync::mpsc::error::TrySendError::Closed(j) => j,
                    };
                    ing.logbuf.push_str(&format!(
                        "[{now}] Warning: command queue full, not running command for {}\n",
                        picket_engine::output::log_safe(&job.what)
                    ));
                }
            }
            self.checks.dispatch(&mut check_jobs);
            if let (Some(x), Some(d)) = (self.exporter.as_deref_mut(), ing.detect.as_ref()) {
                if now != last_export {
                    last_export = now;
                    x.update(d);
                }
            }
            let mut save = std::mem::take(&mut save_pending);
            for r in std::mem::take(&mut ing.requests) {
                match r {
                    Request::SaveState => save = true,
                    Request::Shutdown => return STOP_COMMAND,
                    Request::Restart => return STOP_RESTART,
                    Request::ProcessFile { path, delete } => {
                        if let Err(e) = crate::cmdfile::process_file(
                            ing.engine,
                            ing.store.as_deref_mut(),
                            &path,
                            delete,
                            now,
                            ing.logbuf,
                        ) {
                            journal_failed(&e, ing.errors, ing.logbuf, now, &mut ing.journal_save);
                        }
                    }
                }
            }
            write_log(self.log, ing.logbuf, ing.errors);
            // status.dat every status_update_interval and on SAVE_STATE_INFORMATION.
            if let Some(w) = self.status.as_deref_mut() {
                if save || w.due(now) {
                    w.write(ing.engine, now);
                }
            }
            // After a failed journal write, a snapshot makes the state durable again; while
            // the disk refuses it too, try again at most every ten seconds.
            if ing.journal_save && now - last_journal_retry >= 10 {
                last_journal_retry = now;
                save = true;
            }
            if let Some(s) = ing.store.as_deref_mut() {
                if save
                    || (self.save_every > 0 && now - last_save >= self.save_every)
                    || s.journal_bytes() > JOURNAL_SNAPSHOT_BYTES
                {
                    // Written beside the engine thread; while the previous snapshot is
                    // still being written this asks again on the next pass.
                    match s.save_in_background_with(ing.engine, ing.detect.as_ref(), now) {
                        Ok(true) => last_save = now,
                        Ok(false) => save_pending = save,
                        Err(e) => {
                            ing.errors.log_error(
                                Kind::Retention,
                                ing.logbuf,
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
}

/// Where retention is kept: `state_retention_file`, else `retention.dat` beside the log
/// (`None` without `retain_state_information`).
fn retention_file(main: &picket_config::MainConfig, log: &Path) -> Option<PathBuf> {
    main.retain_state_information.then(|| {
        main.state_retention_file
            .clone()
            .unwrap_or_else(|| log.parent().unwrap_or(Path::new("/")).join("retention.dat"))
    })
}

/// The files the daemon writes, with the key that names each (`picket -v` checks the
/// same list).
pub(crate) fn data_files(
    main: &picket_config::MainConfig,
    log: &Path,
) -> Vec<(&'static str, PathBuf)> {
    let mut v = vec![("log_file", log.to_path_buf())];
    v.extend(retention_file(main, log).map(|p| ("state_retention_file", p)));
    v.extend(main.status_file.clone().map(|p| ("status_file", p)));
    v.extend(main.history_file.clone().map(|p| ("history_file", p)));
    v
}

/// Opens `nagios.log` for appending: non-blocking, so that a FIFO nobody reads cannot
/// hang the open (a pipe that is read, such as `/dev/stdout` under a container runtime,
/// is taken, as Nagios takes it); then blocking again for the writes.
fn open_log(path: &Path) -> anyhow::Result<File> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::os::unix::fs::OpenOptionsExt;
    let log = match OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENXIO as i32) => {
            anyhow::bail!("a FIFO that nobody reads (opening it would block the start)")
        }
        Err(e) => return Err(e.into()),
    };
    let flags = OFlag::from_bits_truncate(fcntl(&log, FcntlArg::F_GETFL)?);
    fcntl(&log, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::tests::engine;
    use picket_engine::{CheckExit, CheckOutcome, Outputs, Retention};

    const T0: Time = 1_799_913_600;

    /// One input of each kind the engine thread journals, built by the code that builds
    /// it live (the web's `command_input`, the NSCA receiver's `passive_result`), with
    /// its name.
    fn inputs() -> Vec<(&'static str, Input)> {
        let web = |cmd: picket_web::Command| crate::web::command_input(&cmd, T0);
        let received = picket_nsca::server::Received {
            result: picket_nsca_proto::CheckResult {
                timestamp: T0 as u32,
                return_code: 2,
                host_name: b"h".to_vec(),
                service: b"s".to_vec(),
                plugin_output: b"nsca down\nsecond; line\\|t=1".to_vec(),
            },
            peer: "127.0.0.1:5667".parse().unwrap(),
            received_at: T0 as u64,
        };
        let events: Vec<picket_correlator::ConnectionEvent> = serde_json::from_str(&format!(
            r#"[{{"time": {T0}, "reporter": "h", "source": {{"addr": "203.0.113.9"}}, "daemon": "sshd", "kind": "refused"}}]"#
        ))
        .unwrap();
        vec![
            (
                "FIFO lines",
                Input::Lines(
                    format!(
                        "[{T0}] PROCESS_SERVICE_CHECK_RESULT;h;s;1;from the fifo\ngarbage\n\
                         [{T0}] ADD_SVC_COMMENT;h;s;1;a;a comment\n[{T0}] NO_SUCH;x\n"
                    )
                    .into_bytes(),
                ),
            ),
            (
                "web command",
                web(picket_web::Command::AcknowledgeService {
                    host: "h".into(),
                    service: "s".into(),
                    author: "web".into(),
                    comment: "on it".into(),
                    sticky: false,
                    notify: true,
                    persistent: false,
                }),
            ),
            (
                "typed API service result",
                web(picket_web::Command::ServiceResult {
                    host: "h".into(),
                    service: "s".into(),
                    code: 2,
                    output: "api down\nsecond; line \\ back|t=1".into(),
                    time: Some(T0 - 3),
                }),
            ),
            (
                "typed API host result",
                web(picket_web::Command::HostResult {
                    host: "h".into(),
                    code: 1,
                    output: "host down".into(),
                    time: None,
                }),
            ),
            (
                "NSCA result",
                Input::Passive(vec![crate::nsca::passive_result(received)]),
            ),
            (
                // What `nsca_ng.rs` hands on: the client's command line.
                "NSCA-ng result",
                Input::Lines(
                    format!("[{T0}] PROCESS_SERVICE_CHECK_RESULT;h;s;0;ng ok\n").into_bytes(),
                ),
            ),
            (
                "check outcome",
                Input::CheckResults(vec![CheckOutcome {
                    host: "h".into(),
                    service: Some("s".into()),
                    options: 0,
                    start_time: T0 - 1,
                    execution_time: 0.1 + 0.2,
                    latency: 1.0 / 3.0,
                    exit: CheckExit::Code(1),
                    output: "warn|t=1\n".into(),
                }]),
            ),
            ("connection events", Input::Events(events)),
        ]
    }

    fn started() -> Engine {
        let mut e = engine();
        e.start(T0 - 100);
        let _ = e.take_outputs();
        e
    }

    /// The check scheduler is not replayed: `Engine::start` lays it out afresh after
    /// the replay.
    fn unscheduled(mut r: Retention) -> Retention {
        for (_, _, st) in &mut r.services {
            st.next_check = 0;
        }
        for (_, st) in &mut r.hosts {
            st.next_check = 0;
        }
        r
    }

    /// Feed `input` live through the engine thread's [`Ingest`] with a journal, "crash",
    /// and replay the journal into a fresh engine: the replay must leave the same state
    /// and (when the crash came before the log marker) produce the same log lines, jobs
    /// and requests as the live input did.
    fn live_then_replay(what: &str, input: Input, marked: bool) -> (Outputs, Outputs) {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("retention.dat");
        let errors = Errors::new(Arc::new(picket_web::Metrics::new()));
        let mut live = started();
        let mut detect = None;
        let mut logbuf = String::new();
        let live_out;
        {
            let (mut st, _) = Store::open(&snap, &mut live).unwrap();
            st.save(&live, T0 - 100).unwrap();
            {
                let mut ing =
                    Ingest::new(&mut live, &mut detect, Some(&mut st), &mut logbuf, &errors);
                ing.take(input, T0);
            }
            live_out = live.take_outputs();
            if marked {
                st.mark_logged().unwrap();
            } else {
                st.flush().unwrap();
            }
            // kill -9
        }
        assert!(logbuf.is_empty(), "{what}: {logbuf}");
        assert!(!live_out.log.is_empty(), "{what}: did nothing live");
        let mut e = engine();
        let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
        assert_eq!(replayed.records, 1, "{what}: one journal record");
        assert!(
            replayed.warnings.is_empty(),
            "{what}: {:?}",
            replayed.warnings
        );
        let replay_out = e.take_outputs();
        assert_eq!(
            unscheduled(e.snapshot()),
            unscheduled(live.snapshot()),
            "{what} (marked: {marked}): the replayed state differs from the live one"
        );
        (live_out, replay_out)
    }

    /// Every kind of input the engine thread journals replays as it was applied live:
    /// the same state, and before the log marker the same log lines, jobs and requests.
    /// An input kind applied live other than through its journal record fails here.
    #[test]
    fn every_input_kind_replays_as_live() {
        for marked in [false, true] {
            for (what, input) in inputs() {
                let (live, replay) = live_then_replay(what, input, marked);
                if marked {
                    assert!(
                        replay.is_empty(),
                        "{what}: marked, yet replayed loudly: {replay:?}"
                    );
                } else {
                    assert_eq!(replay, live, "{what}: replayed for real");
                }
            }
        }
    }

    /// What is not journaled changes no state: an executor's log line is only logged,
    /// a tick with nothing due leaves no record.
    #[test]
    fn log_lines_and_idle_ticks_are_not_state() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("retention.dat");
        let errors = Errors::new(Arc::new(picket_web::Metrics::new()));
        let mut live = started();
        let before = live.snapshot();
        let mut detect = None;
        let mut logbuf = String::new();
        let (mut st, _) = Store::open(&snap, &mut live).unwrap();
        st.save(&live, T0 - 100).unwrap();
        {
            let mut ing = Ingest::new(&mut live, &mut detect, Some(&mut st), &mut logbuf, &errors);
            ing.take(Input::Log("Warning: a plugin timed out".into()), T0);
            ing.take(Input::Tick, T0);
        }
        st.flush().unwrap();
        assert_eq!(logbuf, format!("[{T0}] Warning: a plugin timed out\n"));
        assert_eq!(live.snapshot(), before);
        drop(st);
        let mut e = engine();
        let (_st, replayed) = Store::open(&snap, &mut e).unwrap();
        assert_eq!(replayed.records, 0);
    }

    /// A result from the web goes in typed and does exactly what its command line did
    /// before: the same log lines (`EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;…`,
    /// the alert) and the same state, for outputs with newlines, `;` and `\`.
    #[test]
    fn typed_web_results_act_as_their_command_lines() {
        let cmds = [
            picket_web::Command::ServiceResult {
                host: "h".into(),
                service: "s".into(),
                code: 2,
                output: "down\nsecond; line \\n not a newline|t=1".into(),
                time: Some(T0 - 3),
            },
            picket_web::Command::ServiceResult {
                host: "h".into(),
                service: "s".into(),
                code: 7,
                output: String::new(),
                time: None,
            },
            picket_web::Command::HostResult {
                host: "h".into(),
                code: 1,
                output: "host; down".into(),
                time: Some(-1),
            },
        ];
        for cmd in cmds {
            let mut line = cmd.to_external_command(T0);
            line.push('\n');
            let mut as_line = started();
            Entry::Web(line.as_bytes()).apply(&mut as_line, T0);
            let Input::Passive(typed) = crate::web::command_input(&cmd, T0) else {
                panic!("{cmd:?} is not typed");
            };
            let mut as_typed = started();
            Entry::Passive(&typed).apply(&mut as_typed, T0);
            assert_eq!(as_typed.take_outputs(), as_line.take_outputs(), "{cmd:?}");
            assert_eq!(as_typed.snapshot(), as_line.snapshot(), "{cmd:?}");
        }
    }
}
