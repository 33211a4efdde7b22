//! The I/O part: running jobs (check, notification and event-handler commands) with bounded
//! concurrency, a timeout with process-group kill, and bounded output capture.
//!
//! Each job is spawned with `std::process::Command` (through tokio) with
//! `process_group(0)`, stdin from `/dev/null` and piped stdout/stderr, and **no `pre_exec`
//! closure**: on Linux, std then uses `posix_spawn(3)` (glibc: `clone(CLONE_VM|CLONE_VFORK)`),
//! so a daemon with gigabytes of resident memory does not copy its page tables per check.
//! `process_group` maps to `POSIX_SPAWN_SETPGROUP`, which keeps it on that path (see
//! `BENCHMARKS.md`, plugin executor section, for the strace check and the figures).
//!
//! The spawn itself runs on tokio's blocking pool (the vfork-style parent is suspended
//! until the child has exec'd, which on a busy box can take a scheduling round), and each
//! job is then one task: the wait, both pipes and the timeout are polled together.
//!
//! On timeout the whole process group (the plugin and every child it started in it) gets
//! `SIGKILL`, as Nagios 4's workers do. A child that left the group (`setsid`) escapes,
//! as it does in Nagios.

use std::ffi::OsString;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::Semaphore;

use crate::command::CommandLine;

/// Default cap on captured bytes per stream: Nagios' `MAX_PLUGIN_OUTPUT_LENGTH` (8 KiB).
/// Bytes past the cap are read and discarded (so the plugin never blocks on a full pipe)
/// and the result says it was truncated.
pub const DEFAULT_OUTPUT_LIMIT: usize = 8192;

/// Default `max_concurrent_checks`-like bound when the configuration says 0 (unlimited):
/// Picket never runs an unbounded number of children.
pub const DEFAULT_MAX_CONCURRENT: usize = 256;

/// How long to wait for pipes to close after the leader of a killed group was reaped.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);

/// Source of wall-clock time for `started`/`finished` (injectable for tests).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// What to execute (see [`crate::classify`]).
    pub command: CommandLine,
    /// Kill the process group after this long (`service_check_timeout`, …).
    pub timeout: Duration,
    /// Extra environment variables (`NAGIOS_*` when `enable_environment_macros` is on).
    pub env: Vec<(OsString, OsString)>,
    /// Start from an empty environment instead of the daemon's (then only `env` is set).
    pub clear_env: bool,
}

impl Job {
    /// A job with the daemon's environment and no extra variables.
    pub fn new(command: CommandLine, timeout: Duration) -> Self {
        Self {
            command,
            timeout,
            env: Vec::new(),
            clear_env: false,
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Still running at the timeout: its process group was killed.
    TimedOut,
    /// The program could not be executed (direct execution only; through the shell this
    /// is exit code 126/127). `stderr` holds the text Nagios' worker would print.
    SpawnFailed {
        /// The `errno` of the failed exec.
        errno: i32,
        /// The program that could not be executed.
        program: String,
    },
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// When the process was started (from the executor's [`Clock`]).
    pub started: SystemTime,
    /// When it was reaped.
    pub finished: SystemTime,
    /// Monotonic execution time.
    pub duration: Duration,
    /// How it ended.
    pub exit: Exit,
    /// Captured stdout (at most the output limit).
    pub stdout: Vec<u8>,
    /// Captured stderr (at most the output limit).
    pub stderr: Vec<u8>,
    /// Stdout had more bytes than the limit.
    pub stdout_truncated: bool,
    /// Stderr had more bytes than the limit.
    pub stderr_truncated: bool,
    /// The command ran through `/bin/sh -c`.
    pub used_shell: bool,
}

impl JobResult {
    /// Nagios' `early_timeout`.
    pub fn early_timeout(&self) -> bool {
        self.exit == Exit::TimedOut
    }
}

/// The stderr text of Nagios' worker child when `execvp` fails. The text is the C
/// library's `strerror()` (through `std::io::Error`, minus its " (os error N)"), not
/// nix's own table, which words some errors differently (`ELOOP`, for one).
pub fn spawn_failure_stderr(program: &str, errno: i32) -> String {
    let full = io::Error::from_raw_os_error(errno).to_string();
    let text = full
        .strip_suffix(&format!(" (os error {errno})"))
        .unwrap_or(&full);
    format!("execvp({program}, ...) failed. errno is {errno}: {text}\n")
}

/// The text Nagios' worker hands to the check parser for an active check: stdout, or
/// `(No output on stdout) stderr: <stderr>` when stdout is empty (`base/workers.c`),
/// each cut at its first NUL. Invalid UTF-8 is replaced by U+FFFD (Nagios keeps raw bytes;
/// the engine works on strings). Parsing that text and turning the exit into a state is
/// the engine's (`picket_engine::output`, `picket_engine::active`).
pub fn nagios_check_output(result: &JobResult) -> String {
    let stdout = until_nul(&result.stdout);
    if stdout.is_empty() {
        format!(
            "(No output on stdout) stderr: {}",
            String::from_utf8_lossy(until_nul(&result.stderr))
        )
    } else {
        String::from_utf8_lossy(stdout).into_owned()
    }
}

fn until_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// Executor settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// At most this many jobs run at once (`max_concurrent_checks`; 0 means
    /// [`DEFAULT_MAX_CONCURRENT`]).
    pub max_concurrent: usize,
    /// Bytes kept per stream (see [`DEFAULT_OUTPUT_LIMIT`]).
    pub output_limit: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }
}

/// Runs jobs. Cheap to clone; clones share the concurrency bound.
#[derive(Clone)]
pub struct Executor {
    permits: Arc<Semaphore>,
    config: ExecutorConfig,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.config)
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl Executor {
    /// An executor with the system clock.
    pub fn new(config: ExecutorConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// An executor with an injected clock.
    pub fn with_clock(mut config: ExecutorConfig, clock: Arc<dyn Clock>) -> Self {
        if config.max_concurrent == 0 {
            config.max_concurrent = DEFAULT_MAX_CONCURRENT;
        }
        Self {
            permits: Arc::new(Semaphore::new(config.max_concurrent)),
            config,
            clock,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> ExecutorConfig {
        self.config
    }

    /// Jobs that could start right now without waiting.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs a job on the current task: waits for a concurrency permit, then runs it to the
    /// end (or its timeout). Must be called inside a tokio runtime.
    pub async fn run(&self, job: Job) -> JobResult {
        // The semaphore is never closed, so acquire cannot fail; fall back to running
        // without a permit rather than losing the job if it ever were.
        let _permit = self.permits.acquire().await.ok();
        run_job(&job, self.config.output_limit, &*self.clock).await
    }

    /// Spawns a job on the runtime; the handle yields its result.
    pub fn spawn(&self, job: Job) -> tokio::task::JoinHandle<JobResult> {
        let this = self.clone();
        tokio::spawn(async move { this.run(job).await })
    }

    /// Spawns a job and sends `(tag, result)` to `results` when it is done (the daemon's
    /// main loop reads them in completion order). A closed receiver drops the result.
    pub fn submit<T: Send + 'static>(
        &self,
        tag: T,
        job: Job,
        results: tokio::sync::mpsc::UnboundedSender<(T, JobResult)>,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            let result = this.run(job).await;
            let _ = results.send((tag, result));
        });
    }
}

/// What was read from a pipe, and whether it was cut at the limit.
type Captured = (Vec<u8>, bool);

async fn read_limited<R: AsyncRead + Unpin>(mut pipe: R, limit: usize) -> Captured {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    (kept, truncated)
}

async fn read_opt<R: AsyncRead + Unpin>(pipe: Option<R>, limit: usize) -> Captured {
    match pipe {
        Some(p) => read_limited(p, limit).await,
        None => (Vec::new(), false),
    }
}

fn exit_of(status: ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signaled(sig),
        // Neither (stopped/continued are not reported by wait here): treat as UNKNOWN-ish.
        (None, None) => Exit::Signaled(0),
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // ESRCH (group already gone) is fine.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

fn command_for(job: &Job, argv: &[&str]) -> Command {
    let program = argv.first().copied().unwrap_or_default();
    let mut cmd = Command::new(program);
    cmd.args(argv.get(1..).unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    if job.clear_env {
        cmd.env_clear();
    }
    cmd.envs(job.env.iter().map(|(k, v)| (k, v)));
    cmd
}

async fn spawn(mut cmd: Command) -> io::Result<tokio::process::Child> {
    // posix_spawn suspends the calling thread until the child has exec'd
    // (CLONE_VFORK); when the box is busy that can take milliseconds. Doing it on a
    // blocking-pool thread keeps the runtime's workers (pipes, timers, other checks)
    // running meanwhile. The closure runs inside the runtime, so the child's pipes and
    // reaping are registered with it as usual.
    match tokio::task::spawn_blocking(move || cmd.spawn()).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::from_raw_os_error(libc_eio())),
    }
}

/// `ENOEXEC`: the file is executable but not a binary the kernel can load.
const ENOEXEC: i32 = nix::errno::Errno::ENOEXEC as i32;

async fn run_job(job: &Job, limit: usize, clock: &dyn Clock) -> JobResult {
    let argv = job.command.argv();
    let program = argv.first().copied().unwrap_or_default();

    let started = clock.now();
    let t0 = Instant::now();
    let used_shell = job.command.uses_shell();
    let mut spawned = spawn(command_for(job, &argv)).await;
    // Nagios' worker child runs a direct command with execvp(3), which runs an
    // executable file the kernel refuses (a script without `#!`) with /bin/sh, as
    // `/bin/sh <file> <args>`. posix_spawn does not: do it here.
    if !used_shell
        && spawned
            .as_ref()
            .is_err_and(|e| e.raw_os_error() == Some(ENOEXEC))
    {
        let mut sh_argv = vec![crate::command::SHELL];
        sh_argv.extend_from_slice(&argv);
        spawned = spawn(command_for(job, &sh_argv)).await;
    }
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc_eio());
            return JobResult {
                started,
                finished: clock.now(),
                duration: t0.elapsed(),
                exit: Exit::SpawnFailed {
                    errno,
                    program: program.to_owned(),
                },
                stdout: Vec::new(),
                stderr: spawn_failure_stderr(program, errno).into_bytes(),
                stdout_truncated: false,
                stderr_truncated: false,
                used_shell,
            };
        }
    };
    let pid = child.id();
    // Both pipes are read on this task (no task per pipe), concurrently with the wait
    // so that a plugin writing more than a pipe's capacity never blocks.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let reads = async move { tokio::join!(read_opt(stdout, limit), read_opt(stderr, limit)) };
    tokio::pin!(reads);
    let mut outputs: Option<(Captured, Captured)> = None;

    let deadline = tokio::time::Instant::now() + job.timeout;
    let waited = tokio::time::timeout_at(deadline, async {
        loop {
            tokio::select! {
                r = &mut reads, if outputs.is_none() => outputs = Some(r),
                s = child.wait() => return s,
            }
        }
    })
    .await;
    let (exit, drain_until) = match waited {
        Ok(Ok(status)) => (exit_of(status), Some(deadline)),
        Ok(Err(_)) => (Exit::Signaled(0), Some(deadline)),
        Err(_) => {
            // Timed out while the leader still runs: kill the whole group, then reap.
            kill_group(pid);
            let _ = child.wait().await;
            (Exit::TimedOut, None)
        }
    };

    // Collect output. After a normal exit, children that keep the pipes open may delay
    // EOF up to the job's deadline; past it, their group is killed too.
    if outputs.is_none() {
        let until = drain_until.unwrap_or_else(|| tokio::time::Instant::now() + DRAIN_AFTER_KILL);
        outputs = match tokio::time::timeout_at(until, &mut reads).await {
            Ok(r) => Some(r),
            Err(_) => {
                kill_group(pid);
                tokio::time::timeout(DRAIN_AFTER_KILL, &mut reads)
                    .await
                    .ok()
            }
        };
    }
    let ((stdout, stdout_truncated), (stderr, stderr_truncated)) = outputs.unwrap_or_default();

    JobResult {
        started,
        finished: clock.now(),
        duration: t0.elapsed(),
        exit,
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        used_shell,
    }
}

fn libc_eio() -> i32 {
    nix::errno::Errno::EIO as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(stdout: &[u8], stderr: &[u8]) -> JobResult {
        JobResult {
            started: SystemTime::UNIX_EPOCH,
            finished: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
            exit: Exit::Code(0),
            stdout: stdout.to_vec(),
            stderr: stderr.to_vec(),
            stdout_truncated: false,
            stderr_truncated: false,
            used_shell: false,
        }
    }

    #[test]
    fn check_output_is_stdout_or_stderr_as_the_worker_composes_it() {
        assert_eq!(
            nagios_check_output(&result(b"TEXT | p=1\nlong\n", b"ignored")),
            "TEXT | p=1\nlong\n"
        );
        assert_eq!(
            nagios_check_output(&result(b"", b"err-text\n")),
            "(No output on stdout) stderr: err-text\n"
        );
        assert_eq!(
            nagios_check_output(&result(b"", b"")),
            "(No output on stdout) stderr: "
        );
        // Both streams end at their first NUL.
        assert_eq!(
            nagios_check_output(&result(b"\0x", b"e\0f")),
            "(No output on stdout) stderr: e"
        );
        assert_eq!(nagios_check_output(&result(b"a\xffb", b"")), "a\u{fffd}b");
    }
}
