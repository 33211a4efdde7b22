//! Running notification and event-handler commands: bounded concurrency, a timeout that
//! kills the whole process group. The engine thread never waits for it.
//! Each notification's outcome (exit code, run time) goes to the history and `/metrics`.
//!
//! A command line is executed directly when splitting it on blanks gives exactly the argv
//! `/bin/sh -c` would give (`picket_exec::command::classify`, conservative: any quote,
//! metacharacter or expansion sends it to the shell), as Nagios 4's workers do
//! (`runcmd_cmd2strv`). That saves a shell `execve` per notification: at 2,000
//! notifications/s (benchmark W4, `bench/w4/`) the shell was most of the daemon's CPU.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use picket_engine::{Job, JobKind};
use picket_history::NotificationResult;
use picket_web::{Counter, Metrics};
use tokio::sync::{Semaphore, mpsc};

use crate::daemon::Input;
use crate::history::HistoryMsg;

/// Where the executor reports.
#[derive(Clone)]
pub(crate) struct Reports {
    /// Log lines for the engine thread (timeouts, spawn failures).
    pub(crate) log: SyncSender<Input>,
    /// Notification outcomes for the history.
    pub(crate) history: Option<SyncSender<HistoryMsg>>,
    ok: Counter,
    failed: Counter,
    timed_out: Counter,
    spawn_failed: Counter,
}

impl Reports {
    pub(crate) fn new(
        log: SyncSender<Input>,
        history: Option<SyncSender<HistoryMsg>>,
        metrics: &Metrics,
    ) -> Reports {
        let c = |status: &str| {
            metrics.counter(
                "picket_notifications_total",
                "Notification commands run, by outcome.",
                &[("status", status)],
            )
        };
        Reports {
            log,
            history,
            ok: c("ok"),
            failed: c("failed"),
            timed_out: c("timeout"),
            spawn_failed: c("spawn_error"),
        }
    }
}

/// Receive jobs and run them, at most `max` at a time.
pub(crate) async fn executor(mut rx: mpsc::Receiver<Job>, max: usize, reports: Reports) {
    let sem = Arc::new(Semaphore::new(max.max(1)));
    while let Some(job) = rx.recv().await {
        let Ok(permit) = Arc::clone(&sem).acquire_owned().await else {
            return;
        };
        let reports = reports.clone();
        tokio::spawn(async move {
            run_job(job, &reports).await;
            drop(permit);
        });
    }
}

/// A line for `nagios.log`; on standard error when the engine's queue is full or gone,
/// never dropped unseen.
fn log(r: &Reports, line: String) {
    use std::sync::mpsc::TrySendError;
    if let Err(TrySendError::Full(Input::Log(l)) | TrySendError::Disconnected(Input::Log(l))) =
        r.log.try_send(Input::Log(line))
    {
        eprintln!("picket: {l}");
    }
}

async fn run_job(job: Job, r: &Reports) {
    let started = Instant::now();
    let argv = match picket_exec::command::classify(&job.command_line) {
        Ok(picket_exec::command::CommandLine::Direct(argv)) => argv,
        // Empty or NUL-carrying lines: let the shell report them as before.
        Ok(picket_exec::command::CommandLine::Shell(_)) | Err(_) => vec![
            picket_exec::command::SHELL.to_owned(),
            "-c".to_owned(),
            job.command_line.clone(),
        ],
    };
    let (program, args) = argv
        .split_first()
        .map_or((picket_exec::command::SHELL, &[][..]), |(p, a)| {
            (p.as_str(), a)
        });
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // posix_spawn(3) holds the calling thread until the child has exec'd (CLONE_VFORK):
    // off the runtime's two workers, which also serve NSCA and the web UI. At 2,000
    // notifications/s (W4) spawning on the workers held up NSCA accepts behind it.
    let spawned = tokio::task::spawn_blocking(move || cmd.spawn())
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
    let (exit_code, status) = match spawned {
        Err(e) => {
            log(
                r,
                format!(
                    "Warning: Could not run command for {}: {}",
                    picket_engine::output::log_safe(&job.what),
                    picket_engine::output::log_safe(&e.to_string())
                ),
            );
            (None, format!("spawn error: {e}"))
        }
        Ok(mut child) => {
            let pid = child.id();
            let limit = Duration::from_secs(u64::from(job.timeout_secs.max(1)));
            match tokio::time::timeout(limit, child.wait()).await {
                Ok(Ok(st)) => match st.code() {
                    Some(0) => (Some(0), "ok".to_owned()),
                    Some(c) => (Some(c), "failed".to_owned()),
                    None => (None, "killed by a signal".to_owned()),
                },
                Ok(Err(e)) => (None, format!("wait failed: {e}")),
                Err(_) => {
                    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                        let _ = nix::sys::signal::killpg(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    let _ = child.wait().await;
                    let what = match job.kind {
                        JobKind::Notification => "Notification",
                        JobKind::EventHandler => "Event handler",
                    };
                    log(
                        r,
                        format!(
                            "Warning: {what} command for {} timed out after {} seconds",
                            picket_engine::output::log_safe(&job.what),
                            job.timeout_secs
                        ),
                    );
                    (None, "timeout".to_owned())
                }
            }
        }
    };
    let Some(target) = job.notification else {
        return;
    };
    match status.as_str() {
        "ok" => r.ok.inc(),
        "timeout" => r.timed_out.inc(),
        s if s.starts_with("spawn error") => r.spawn_failed.inc(),
        _ => r.failed.inc(),
    }
    if let Some(h) = &r.history {
        let _ = h.try_send(HistoryMsg::Notification(NotificationResult {
            time: crate::daemon::unix_now(),
            contact: target.contact,
            host: target.host,
            service: target.service,
            command: target.command,
            exit_code,
            status,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }));
    }
}
