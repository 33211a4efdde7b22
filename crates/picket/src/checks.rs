//! Active checks in the daemon: the engine hands out [`CheckJob`]s (command lines with
//! their macros expanded); this module runs them with `picket-exec` (direct `posix_spawn`
//! or `/bin/sh -c` only when the line needs a shell, at most `max_concurrent_checks` at
//! once, `service_check_timeout` / `host_check_timeout` with a process-group kill, bounded
//! output) and sends the [`CheckOutcome`]s back to the engine thread as
//! [`Input::CheckResults`] batches. The engine maps them to states (timeout state,
//! bad return codes) and journals nothing itself: the engine thread journals every batch
//! before processing it, as for passive results.

use std::sync::mpsc::SyncSender;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use picket_engine::{CheckExit, CheckJob, CheckOutcome, Time};
use picket_exec::{Executor, ExecutorConfig, Exit, JobResult};

use crate::input::Input;

/// Outcomes sent to the engine thread in one message at most.
const BATCH: usize = 512;

/// The sending side of the check runner.
#[derive(Debug, Clone)]
pub(crate) struct Checks {
    tx: tokio::sync::mpsc::UnboundedSender<CheckJob>,
}

impl Checks {
    /// Hand jobs to the runner (never blocks the engine thread).
    pub(crate) fn dispatch(&self, jobs: &mut Vec<CheckJob>) {
        for job in jobs.drain(..) {
            // The runner lives as long as the runtime; a send error means shutdown.
            let _ = self.tx.send(job);
        }
    }
}

fn secs_f64(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The outcome of a finished job, as the engine wants it.
pub(crate) fn outcome_of(job: &CheckJob, result: &JobResult) -> CheckOutcome {
    let started = secs_f64(result.started);
    let exit = match &result.exit {
        Exit::Code(c) => CheckExit::Code(*c),
        Exit::TimedOut => CheckExit::TimedOut,
        Exit::Signaled(s) => CheckExit::Signaled(*s),
        // As Nagios' worker child: the exit code is the exec errno, stderr says why.
        Exit::SpawnFailed { errno, .. } => CheckExit::Code(*errno),
    };
    job.outcome(
        started as Time,
        result.duration.as_secs_f64(),
        (started - job.due as f64).max(0.0),
        exit,
        picket_exec::nagios_check_output(result),
    )
}

/// Start the runner on `rt`; outcomes go to `input`.
pub(crate) fn start(
    rt: &tokio::runtime::Runtime,
    max_concurrent_checks: u32,
    input: SyncSender<Input>,
) -> Checks {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CheckJob>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<CheckOutcome>();
    let exec = Executor::new(ExecutorConfig {
        max_concurrent: max_concurrent_checks as usize,
        ..ExecutorConfig::default()
    });
    // Batch finished checks into few messages for the engine thread; a blocking send
    // here (engine busy) never stalls the runtime's workers.
    let spawned = std::thread::Builder::new()
        .name("picket-results".into())
        .spawn(move || {
            while let Ok(first) = done_rx.recv() {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match done_rx.try_recv() {
                        Ok(o) => batch.push(o),
                        Err(_) => break,
                    }
                }
                if input.send(Input::CheckResults(batch)).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("picket: cannot start the check result thread: {e}");
    }
    rt.spawn(async move {
        while let Some(job) = rx.recv().await {
            let exec = exec.clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                let o = run(&exec, &job).await;
                let _ = done.send(o);
            });
        }
    });
    Checks { tx }
}

async fn run(exec: &Executor, job: &CheckJob) -> CheckOutcome {
    let command = match picket_exec::classify(&job.command_line) {
        Ok(c) => c,
        Err(e) => {
            let now = secs_f64(SystemTime::now());
            return job.outcome(
                now as Time,
                0.0,
                (now - job.due as f64).max(0.0),
                CheckExit::Code(3),
                format!("(Cannot run check command: {e})"),
            );
        }
    };
    let mut j = picket_exec::Job::new(command, Duration::from_secs(u64::from(job.timeout_secs)));
    j.env = job.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    let result = exec.run(j).await;
    outcome_of(job, &result)
}

/// How long the engine thread may sleep: until the engine's next wake-up (to the
/// millisecond), at most `max`.
pub(crate) fn wait_for(next: Option<Time>, max: Duration) -> Duration {
    let Some(next) = next else {
        return max;
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let ms = next.saturating_mul(1000).saturating_sub(now_ms);
    if ms <= 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(ms as u64).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_is_bounded_and_never_negative() {
        let max = Duration::from_millis(200);
        assert_eq!(wait_for(None, max), max);
        assert_eq!(wait_for(Some(0), max), Duration::ZERO);
        assert_eq!(wait_for(Some(i64::MAX / 2000), max), max);
    }
}
