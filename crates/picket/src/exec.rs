//! Running notification and event-handler commands: `/bin/sh -c`, bounded concurrency,
//! a timeout that kills the whole process group. The engine thread never waits for it.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use picket_engine::{Job, JobKind};
use tokio::sync::{Semaphore, mpsc};

use crate::daemon::Input;

/// Receive jobs and run them, at most `max` at a time.
pub(crate) async fn executor(mut rx: mpsc::Receiver<Job>, max: usize, log: SyncSender<Input>) {
    let sem = Arc::new(Semaphore::new(max.max(1)));
    while let Some(job) = rx.recv().await {
        let Ok(permit) = Arc::clone(&sem).acquire_owned().await else {
            return;
        };
        let log = log.clone();
        tokio::spawn(async move {
            run_job(job, &log).await;
            drop(permit);
        });
    }
}

async fn run_job(job: Job, log: &SyncSender<Input>) {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&job.command_line)
        .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = log.try_send(Input::Log(format!(
                "Warning: Could not run command for {}: {e}",
                picket_engine::output::log_safe(&job.what)
            )));
            return;
        }
    };
    let pid = child.id();
    let limit = Duration::from_secs(u64::from(job.timeout_secs.max(1)));
    if tokio::time::timeout(limit, child.wait()).await.is_err() {
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
        let _ = log.try_send(Input::Log(format!(
            "Warning: {what} command for {} timed out after {} seconds",
            picket_engine::output::log_safe(&job.what),
            job.timeout_secs
        )));
    }
}
