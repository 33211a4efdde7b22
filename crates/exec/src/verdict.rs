//! From a finished job to a service check result, as Nagios Core 4.4.6 does it
//! (`base/workers.c` output composition and `checks.c:get_service_check_return_code()`), sans I/O.
//!
//! Observed with the real `nagios4` 4.4.6 (forced checks of plugin scripts, `status.dat`
//! and `nagios.log` read back):
//!
//! | job outcome | state | `plugin_output` |
//! |---|---|---|
//! | exit 0–3 | that state | parsed stdout; if stdout is empty: `(No output on stdout) stderr: <stderr>` |
//! | timeout | `service_check_timeout_state` | `(Service check timed out after 4.01 seconds)` (the measured execution time) |
//! | killed by a signal | UNKNOWN | the output, as for exit 0–3 |
//! | exit 126 / 127 | CRITICAL | `(Return code of 126 is out of bounds. Check if plugin is executable)` / `… 127 … Check if plugin exists)` |
//! | any other exit code | CRITICAL (configurable: [`ServiceCheckOptions::out_of_bounds_state`]) | `(Return code of 5 for service 'S' on host 'H' was out of bounds)` |
//! | program cannot be executed (direct exec) | as Nagios' worker child: exit code = `errno` (ENOENT 2 → CRITICAL, EACCES 13 → out of bounds) | stderr `execvp(<prog>, ...) failed. errno is 2: No such file or directory` |
//! | executable file without `#!` (direct exec, ENOEXEC) | run as `/bin/sh <file> <args>`, as `execvp(3)` does | whatever the shell makes of it |
//!
//! Note: Nagios 4.4.6 (`base/checks.c`) maps any other exit code to CRITICAL, not UNKNOWN;
//! the default follows Nagios, and the option can make it UNKNOWN.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::exec::{Exit, JobResult};
use crate::output::{PluginOutput, parse_plugin_output};

/// A service state (plugin return code 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckState {
    /// 0
    Ok = 0,
    /// 1
    Warning = 1,
    /// 2
    Critical = 2,
    /// 3
    Unknown = 3,
}

impl CheckState {
    /// The state for a plugin return code in 0..=3.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Self::Ok),
            1 => Some(Self::Warning),
            2 => Some(Self::Critical),
            3 => Some(Self::Unknown),
            _ => None,
        }
    }

    /// The return code (0..=3).
    pub fn code(self) -> i32 {
        self as i32
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for CheckState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bad `service_check_timeout_state` value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid service_check_timeout_state {0:?} (expected c, u, w or o)")]
pub struct BadTimeoutState(pub String);

/// Parses `service_check_timeout_state` (`c`, `u`, `w`, `o`, as in nagios.cfg).
pub fn parse_timeout_state(value: &str) -> Result<CheckState, BadTimeoutState> {
    match value.trim() {
        "c" => Ok(CheckState::Critical),
        "u" => Ok(CheckState::Unknown),
        "w" => Ok(CheckState::Warning),
        "o" => Ok(CheckState::Ok),
        other => Err(BadTimeoutState(other.to_owned())),
    }
}

impl FromStr for CheckState {
    type Err = BadTimeoutState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_timeout_state(s)
    }
}

/// Options of [`interpret_service_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCheckOptions {
    /// `service_check_timeout_state` (Nagios default `c`).
    pub timeout_state: CheckState,
    /// State for exit codes outside 0..=3 (Nagios 4.4.6: CRITICAL).
    pub out_of_bounds_state: CheckState,
}

impl Default for ServiceCheckOptions {
    fn default() -> Self {
        Self {
            timeout_state: CheckState::Critical,
            out_of_bounds_state: CheckState::Critical,
        }
    }
}

/// Something Nagios logs a `Warning:` line for.
#[derive(Debug, Clone, PartialEq)]
pub enum Anomaly {
    /// The check was killed after its timeout; `seconds` is the execution time.
    TimedOut {
        /// Execution time in seconds.
        seconds: f64,
    },
    /// Exit code 126.
    NotExecutable,
    /// Exit code 127.
    NotFound,
    /// Any other exit code outside 0..=3.
    OutOfBounds(i32),
}

impl Anomaly {
    /// The `nagios.log` line Nagios writes for this anomaly (without the `[time] ` prefix).
    pub fn log_line(&self, host: &str, service: &str) -> String {
        match self {
            Anomaly::TimedOut { seconds } => format!(
                "Warning: Check of service '{service}' on host '{host}' timed out after {seconds:.3}s!"
            ),
            Anomaly::NotExecutable => format!(
                "Warning: Return code of 126 for service '{service}' on host '{host}' may indicate a non-executable plugin."
            ),
            Anomaly::NotFound => format!(
                "Warning: Return code of 127 for service '{service}' on host '{host}' may indicate this plugin doesn't exist."
            ),
            Anomaly::OutOfBounds(rc) => format!(
                "Warning: Return code of {rc} for check of service '{service}' on host '{host}' was out of bounds."
            ),
        }
    }
}

/// A service check result ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceVerdict {
    /// The resulting state.
    pub state: CheckState,
    /// The parsed output (replaced by Nagios' message for timeouts and bad return codes).
    pub output: PluginOutput,
    /// What Nagios would log a warning for.
    pub anomaly: Option<Anomaly>,
    /// Whether the plugin was killed after the timeout (`early_timeout`).
    pub early_timeout: bool,
    /// Execution time in seconds.
    pub execution_time: f64,
}

/// The text Nagios parses for an active check: stdout, or
/// `(No output on stdout) stderr: <stderr>` when stdout is empty. Invalid UTF-8 is
/// replaced by U+FFFD (Nagios keeps raw bytes; the engine works on strings).
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

fn replaced(msg: String) -> PluginOutput {
    PluginOutput {
        short: Some(msg),
        ..PluginOutput::default()
    }
}

/// Turns a finished job into a service check result (see the module table).
pub fn interpret_service_check(
    result: &JobResult,
    host: &str,
    service: &str,
    opts: &ServiceCheckOptions,
) -> ServiceVerdict {
    let seconds = result.duration.as_secs_f64();
    let verdict = |state, output, anomaly| ServiceVerdict {
        state,
        output,
        anomaly,
        early_timeout: result.early_timeout(),
        execution_time: seconds,
    };
    let code = match &result.exit {
        Exit::TimedOut => {
            return verdict(
                opts.timeout_state,
                replaced(format!(
                    "(Service check timed out after {seconds:.2} seconds)"
                )),
                Some(Anomaly::TimedOut { seconds }),
            );
        }
        Exit::Signaled(_) => {
            return verdict(
                CheckState::Unknown,
                parse_plugin_output(&nagios_check_output(result)),
                None,
            );
        }
        Exit::Code(code) => *code,
        Exit::SpawnFailed { errno, .. } => *errno,
    };
    match CheckState::from_code(code) {
        Some(state) => verdict(
            state,
            parse_plugin_output(&nagios_check_output(result)),
            None,
        ),
        None if code == 126 => verdict(
            CheckState::Critical,
            replaced(
                "(Return code of 126 is out of bounds. Check if plugin is executable)".to_owned(),
            ),
            Some(Anomaly::NotExecutable),
        ),
        None if code == 127 => verdict(
            CheckState::Critical,
            replaced("(Return code of 127 is out of bounds. Check if plugin exists)".to_owned()),
            Some(Anomaly::NotFound),
        ),
        None => verdict(
            opts.out_of_bounds_state,
            replaced(format!(
                "(Return code of {code} for service '{service}' on host '{host}' was out of bounds)"
            )),
            Some(Anomaly::OutOfBounds(code)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn job(exit: Exit, stdout: &str, stderr: &str, secs: f64) -> JobResult {
        let mut stderr = stderr.as_bytes().to_vec();
        if let Exit::SpawnFailed { errno, program } = &exit {
            stderr = crate::exec::spawn_failure_stderr(program, *errno).into_bytes();
        }
        JobResult {
            started: SystemTime::UNIX_EPOCH,
            finished: SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs),
            duration: Duration::from_secs_f64(secs),
            exit,
            stdout: stdout.as_bytes().to_vec(),
            stderr,
            stdout_truncated: false,
            stderr_truncated: false,
            used_shell: false,
        }
    }

    fn run(exit: Exit, stdout: &str, stderr: &str) -> ServiceVerdict {
        interpret_service_check(
            &job(exit, stdout, stderr, 0.5),
            "h",
            "s",
            &ServiceCheckOptions::default(),
        )
    }

    #[test]
    fn codes_0_to_3() {
        for (code, state) in [
            (0, CheckState::Ok),
            (1, CheckState::Warning),
            (2, CheckState::Critical),
            (3, CheckState::Unknown),
        ] {
            let v = run(Exit::Code(code), "TEXT | p=1\nlong\n", "ignored");
            assert_eq!(v.state, state);
            assert_eq!(v.output.short.as_deref(), Some("TEXT"));
            assert_eq!(v.output.long, "long");
            assert_eq!(v.output.perfdata, "p=1");
            assert_eq!(v.anomaly, None);
            assert!(!v.early_timeout);
        }
    }

    #[test]
    fn stderr_used_when_stdout_empty() {
        let v = run(Exit::Code(1), "", "err-text\n");
        assert_eq!(
            v.output.nagios_short_output(),
            "(No output on stdout) stderr: err-text"
        );
        let v = run(Exit::Code(0), "", "");
        assert_eq!(
            v.output.nagios_short_output(),
            "(No output on stdout) stderr:"
        );
        let v = run(Exit::Code(0), "\0x", "e");
        assert_eq!(
            v.output.nagios_short_output(),
            "(No output on stdout) stderr: e"
        );
    }

    #[test]
    fn out_of_bounds_codes() {
        let v = run(Exit::Code(5), "five", "");
        assert_eq!(v.state, CheckState::Critical);
        assert_eq!(
            v.output.nagios_short_output(),
            "(Return code of 5 for service 's' on host 'h' was out of bounds)"
        );
        assert_eq!(
            v.anomaly.as_ref().map(|a| a.log_line("h", "s")).as_deref(),
            Some(
                "Warning: Return code of 5 for check of service 's' on host 'h' was out of bounds."
            )
        );
        let v = run(Exit::Code(255), "neg", "");
        assert_eq!(v.anomaly, Some(Anomaly::OutOfBounds(255)));

        let v = run(Exit::Code(126), "", "");
        assert_eq!(v.state, CheckState::Critical);
        assert_eq!(
            v.output.nagios_short_output(),
            "(Return code of 126 is out of bounds. Check if plugin is executable)"
        );
        let v = run(Exit::Code(127), "", "");
        assert_eq!(
            v.output.nagios_short_output(),
            "(Return code of 127 is out of bounds. Check if plugin exists)"
        );
        assert_eq!(
            v.anomaly.map(|a| a.log_line("h", "s")).as_deref(),
            Some(
                "Warning: Return code of 127 for service 's' on host 'h' may indicate this plugin doesn't exist."
            )
        );

        let opts = ServiceCheckOptions {
            out_of_bounds_state: CheckState::Unknown,
            ..Default::default()
        };
        let v = interpret_service_check(&job(Exit::Code(9), "", "", 0.1), "h", "s", &opts);
        assert_eq!(v.state, CheckState::Unknown);
    }

    #[test]
    fn signal_is_unknown_with_output_kept() {
        let v = run(Exit::Signaled(9), "before\n", "");
        assert_eq!(v.state, CheckState::Unknown);
        assert_eq!(v.output.nagios_short_output(), "before");
        let v = run(Exit::Signaled(9), "", "e1\n");
        assert_eq!(
            v.output.nagios_short_output(),
            "(No output on stdout) stderr: e1"
        );
    }

    #[test]
    fn timeout_uses_configured_state_and_message() {
        for (c, state) in [
            ("c", CheckState::Critical),
            ("u", CheckState::Unknown),
            ("w", CheckState::Warning),
            ("o", CheckState::Ok),
        ] {
            let opts = ServiceCheckOptions {
                timeout_state: parse_timeout_state(c).unwrap(),
                ..Default::default()
            };
            let v = interpret_service_check(
                &job(Exit::TimedOut, "partial", "", 4.009),
                "h",
                "s",
                &opts,
            );
            assert_eq!(v.state, state);
            assert!(v.early_timeout);
            assert_eq!(
                v.output.nagios_short_output(),
                "(Service check timed out after 4.01 seconds)"
            );
            assert_eq!(v.output.long, "");
            assert_eq!(
                v.anomaly.map(|a| a.log_line("h", "s")).as_deref(),
                Some("Warning: Check of service 's' on host 'h' timed out after 4.009s!")
            );
        }
        assert!(parse_timeout_state("x").is_err());
        assert_eq!("w".parse::<CheckState>(), Ok(CheckState::Warning));
    }

    #[test]
    fn spawn_failure_like_nagios_worker() {
        let v = run(
            Exit::SpawnFailed {
                errno: 2,
                program: "/tmp/ngx/p/does-not-exist".into(),
            },
            "",
            "",
        );
        assert_eq!(v.state, CheckState::Critical);
        assert_eq!(
            v.output.nagios_short_output(),
            "(No output on stdout) stderr: execvp(/tmp/ngx/p/does-not-exist, ...) failed. errno is 2: No such file or directory"
        );
        let v = run(
            Exit::SpawnFailed {
                errno: 13,
                program: "/x".into(),
            },
            "",
            "",
        );
        assert_eq!(v.anomaly, Some(Anomaly::OutOfBounds(13)));
        assert_eq!(
            v.output.nagios_short_output(),
            "(Return code of 13 for service 's' on host 'h' was out of bounds)"
        );
    }
}
