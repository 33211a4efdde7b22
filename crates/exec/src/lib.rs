//! Picket's plugin executor: runs check, notification and event-handler commands outside the
//! engine, the way Nagios Core 4.4.6's workers do, and hands back how each ended and what it printed.
//!
//! Sans I/O (pure, unit-tested, fuzzable):
//! * [`command`]: whether a command line needs `/bin/sh -c` or can be executed directly.
//!
//! I/O:
//! * [`exec`]: [`Executor`] — bounded concurrency, per-job timeout with process-group
//!   kill, stdin from `/dev/null`, bounded stdout/stderr capture, environment passing,
//!   `posix_spawn`-based spawning — and [`nagios_check_output`], the text Nagios' worker
//!   composes from a finished check (stdout, or stderr when stdout is empty).
//!
//! The executor has no plugin semantics of its own: parsing the output (short output,
//! perfdata, long output) and turning an exit into a state with Nagios' messages
//! (timeouts, bad return codes) is owned by the engine (`picket_engine::output`,
//! `picket_engine::active`). The daemon joins the two (`crates/picket/src/checks.rs`) and
//! runs notifications and event handlers through the same [`Executor`]
//! (`crates/picket/src/exec.rs`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), picket_exec::CommandError> {
//! use std::time::Duration;
//! use picket_exec::{classify, nagios_check_output, Executor, ExecutorConfig, Exit, Job};
//!
//! let exec = Executor::new(ExecutorConfig { max_concurrent: 64, ..Default::default() });
//! let job = Job::new(classify("/usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6")?, Duration::from_secs(60));
//! let result = exec.run(job).await;
//! if let Exit::Code(rc) = result.exit {
//!     println!("{rc} {}", nagios_check_output(&result));
//! }
//! # Ok(()) }
//! ```

pub mod command;
pub mod exec;

pub use command::{CommandError, CommandLine, SHELL, classify, needs_shell};
pub use exec::{
    Clock, DEFAULT_MAX_CONCURRENT, DEFAULT_OUTPUT_LIMIT, Executor, ExecutorConfig, Exit, Job,
    JobResult, SystemClock, nagios_check_output, spawn_failure_stderr,
};
