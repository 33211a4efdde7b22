//! Picket's plugin executor: runs check, notification and event-handler commands outside the
//! engine, the way Nagios Core 4.4.6's workers do, and turns their output into results.
//!
//! Sans I/O (pure, unit-tested, fuzzable):
//! * [`output`]: the plugin output format (short output, perfdata, long output);
//! * [`command`]: whether a command line needs `/bin/sh -c` or can be executed directly;
//! * [`verdict`]: exit status → service state and Nagios' messages (timeouts, bad return codes).
//!
//! I/O:
//! * [`exec`]: [`Executor`] — bounded concurrency, per-job timeout with process-group
//!   kill, stdin from `/dev/null`, bounded stdout/stderr capture, environment passing,
//!   `posix_spawn`-based spawning.
//!
//! ```no_run
//! # async fn demo() -> Result<(), picket_exec::CommandError> {
//! use std::time::Duration;
//! use picket_exec::{classify, interpret_service_check, Executor, ExecutorConfig, Job, ServiceCheckOptions};
//!
//! let exec = Executor::new(ExecutorConfig { max_concurrent: 64, ..Default::default() });
//! let job = Job::new(classify("/usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6")?, Duration::from_secs(60));
//! let result = exec.run(job).await;
//! let verdict = interpret_service_check(&result, "firestorm", "Load", &ServiceCheckOptions::default());
//! println!("{} {}", verdict.state, verdict.output.nagios_short_output());
//! # Ok(()) }
//! ```

pub mod command;
pub mod exec;
pub mod output;
pub mod verdict;

pub use command::{CommandError, CommandLine, SHELL, classify, needs_shell};
pub use exec::{
    Clock, DEFAULT_MAX_CONCURRENT, DEFAULT_OUTPUT_LIMIT, Executor, ExecutorConfig, Exit, Job,
    JobResult, SystemClock,
};
pub use output::{NO_OUTPUT, PluginOutput, parse_plugin_output, unescape_check_result_output};
pub use verdict::{
    Anomaly, CheckState, ServiceCheckOptions, ServiceVerdict, interpret_service_check,
    nagios_check_output, parse_timeout_state,
};
