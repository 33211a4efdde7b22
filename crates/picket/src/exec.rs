//! Running notification and event-handler commands through the same executor as checks
//! (`picket_exec::Executor`: one spawn path, `posix_spawn` off the runtime's workers,
//! stdin from `/dev/null`, bounded output capture, a timeout that kills the whole process
//! group). The engine thread never waits for it.
//! Each notification job is reported to the history when it is taken (its id and names, in
//! the engine's order), and its outcome (exit code, run time) with the id to the history
//! and `/metrics`, so the history joins the outcome to the job's own log line;
//! timeouts and commands that cannot be executed are logged to `nagios.log`.
//!
//! A command line is executed directly when splitting it on blanks gives exactly the argv
//! `/bin/sh -c` would give (`picket_exec::command::classify`, conservative: any quote,
//! metacharacter or expansion sends it to the shell), as Nagios 4's workers do
//! (`runcmd_cmd2strv`). That saves a shell `execve` per notification: at 2,000
//! notifications/s (benchmark W4, `bench/w4/`) the shell was most of the daemon's CPU.
//! What the command prints is read (so it never blocks on a full pipe) and dropped.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use picket_engine::{Job, JobKind};
use picket_exec::{CommandError, CommandLine, Executor, ExecutorConfig, Exit};
use picket_history::{NotificationJob, NotificationResult};
use picket_web::{Counter, Metrics};
use tokio::sync::{Semaphore, mpsc};

use crate::history::{HistoryMsg, HistoryTx};
use crate::input::Input;

/// Where the executor reports.
#[derive(Clone)]
pub(crate) struct Reports {
    /// Log lines for the engine thread (timeouts, spawn failures).
    pub(crate) log: SyncSender<Input>,
    /// Notification outcomes for the history.
    pub(crate) history: Option<HistoryTx>,
    /// Reports that waited for room in the history's queue.
    history_waits: Counter,
    ok: Counter,
    failed: Counter,
    timed_out: Counter,
    spawn_failed: Counter,
}

impl Reports {
    pub(crate) fn new(
        log: SyncSender<Input>,
        history: Option<HistoryTx>,
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
            history_waits: metrics.counter(
                "picket_history_report_waits_total",
                "Notification jobs and outcomes that waited for room in the history's queue (none is dropped).",
                &[],
            ),
            ok: c("ok"),
            failed: c("failed"),
            timed_out: c("timeout"),
            spawn_failed: c("spawn_error"),
        }
    }
}

/// Receive jobs and run them, at most `max` at a time. A job is taken from the queue only
/// when it can start, so a full queue holds the engine's dispatch back instead of piling
/// up waiting tasks.
pub(crate) async fn executor(mut rx: mpsc::Receiver<Job>, max: usize, reports: Reports) {
    let max = max.max(1);
    let exec = Executor::new(ExecutorConfig {
        max_concurrent: max,
        ..ExecutorConfig::default()
    });
    let sem = Arc::new(Semaphore::new(max));
    while let Some(job) = rx.recv().await {
        // In the engine's order, before it runs: the history gives the job's id to the
        // job's log line (`picket_history`'s notify module).
        if let (Some(t), Some(h)) = (
            job.notification.as_ref().filter(|t| t.logged),
            &reports.history,
        ) {
            h.report(
                HistoryMsg::NotificationJob(NotificationJob {
                    id: t.id,
                    contact: t.contact.clone(),
                    host: t.host.clone(),
                    service: t.service.clone(),
                    command: t.command.clone(),
                }),
                &reports.history_waits,
            );
        }
        let Ok(permit) = Arc::clone(&sem).acquire_owned().await else {
            return;
        };
        let reports = reports.clone();
        let exec = exec.clone();
        tokio::spawn(async move {
            run_job(&exec, job, &reports).await;
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

fn spawn_error(r: &Reports, job: &Job, e: &dyn std::fmt::Display) -> (Option<i32>, String) {
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

async fn run_job(exec: &Executor, job: Job, r: &Reports) {
    let command = match picket_exec::classify(&job.command_line) {
        Ok(c) => Some(c),
        // An empty line: let the shell report it, as before.
        Err(CommandError::Empty) => Some(CommandLine::Shell(job.command_line.clone())),
        // No argv can carry a NUL byte.
        Err(CommandError::Nul) => None,
    };
    let (exit_code, status, duration) = match command {
        None => {
            let (c, s) = spawn_error(r, &job, &CommandError::Nul);
            (c, s, Duration::ZERO)
        }
        Some(command) => {
            let timeout = Duration::from_secs(u64::from(job.timeout_secs.max(1)));
            let mut j = picket_exec::Job::new(command, timeout);
            j.env = job.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
            let result = exec.run(j).await;
            let (c, s) = match result.exit {
                Exit::Code(0) => (Some(0), "ok".to_owned()),
                Exit::Code(c) => (Some(c), "failed".to_owned()),
                Exit::Signaled(_) => (None, "killed by a signal".to_owned()),
                Exit::SpawnFailed { errno, .. } => {
                    spawn_error(r, &job, &std::io::Error::from_raw_os_error(errno))
                }
                Exit::TimedOut => {
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
            };
            (c, s, result.duration)
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
        h.report(
            HistoryMsg::Notification {
                id: target.id,
                result: NotificationResult {
                    time: crate::input::unix_now(),
                    contact: target.contact,
                    host: target.host,
                    service: target.service,
                    command: target.command,
                    exit_code,
                    status,
                    duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                },
            },
            &r.history_waits,
        );
    }
}
