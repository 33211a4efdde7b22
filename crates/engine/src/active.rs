//! Active checks seen from outside the engine: the [`CheckJob`]s it asks the daemon to
//! run, the [`CheckOutcome`]s the daemon hands back, and how an outcome becomes a state
//! (`checks.c:get_service_check_return_code()` / `get_host_check_return_code()` of
//! Nagios 4.4.6, with the timeout and return-code messages Nagios logs).
//!
//! The outcome carries object *names* (not ids) so that the daemon can journal it and a
//! restart replays it onto a possibly reloaded configuration, exactly like passive results.

use picket_config::{HostId, ServiceId};
use picket_log::Record;
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::obj::Obj;
use crate::status::{CheckType, Time, host_state, svc_state};

/// Option bits of a scheduled check (`CHECK_OPTION_*`).
pub mod check_options {
    /// `CHECK_OPTION_FORCE_EXECUTION`: run even when checks are disabled or outside the
    /// check period (`SCHEDULE_FORCED_*`, freshness checks).
    pub const FORCE: u8 = 1;
    /// `CHECK_OPTION_FRESHNESS_CHECK`: run because the last result went stale; the result
    /// is discarded if the object became fresh meanwhile.
    pub const FRESHNESS: u8 = 2;
    /// `CHECK_OPTION_DEPENDENCY_CHECK`: an on-demand check (a service went non-OK, a
    /// parent or child changed state); skipped when the last result is recent enough.
    pub const DEPENDENCY: u8 = 4;
}

/// What a check is for: the engine's handle of a host or a service.
pub type CheckTarget = crate::obj::Obj;

/// A check command for the daemon to run (plugin API: exit code and stdout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckJob {
    /// The object checked.
    pub target: CheckTarget,
    /// Its host name.
    pub host: String,
    /// Its service description (`None` for a host check).
    pub service: Option<String>,
    /// The `check_command` line with its macros (`$USERn$`, `$ARGn$`, `$HOSTADDRESS$`, …)
    /// expanded; output macros are cleaned of `illegal_macro_output_chars`.
    pub command_line: String,
    /// `NAGIOS_*` variables (empty unless `enable_environment_macros=1`).
    pub env: Vec<(String, String)>,
    /// `service_check_timeout` / `host_check_timeout`, in seconds.
    pub timeout_secs: u32,
    /// [`check_options`] bits; hand them back in the outcome.
    pub options: u8,
    /// When the check was due (the scheduling latency is start − due).
    pub due: Time,
}

/// How a check command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckExit {
    /// It exited with this code (a program that could not be executed: its `errno`, as
    /// Nagios' worker child reports it).
    Code(i32),
    /// It ran past its timeout and its process group was killed.
    TimedOut,
    /// It was killed by this signal (not by the timeout).
    Signaled(i32),
}

/// The result of a [`CheckJob`], for [`Engine::process_check_result`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// Host name.
    pub host: String,
    /// Service description; `None` for a host check.
    pub service: Option<String>,
    /// The job's [`check_options`].
    pub options: u8,
    /// When the command started (becomes `last_check`).
    pub start_time: Time,
    /// Run time in seconds.
    pub execution_time: f64,
    /// Start minus due time, in seconds.
    pub latency: f64,
    /// How it ended.
    pub exit: CheckExit,
    /// What Nagios parses: stdout, or `(No output on stdout) stderr: …` when stdout is empty.
    pub output: String,
}

impl CheckJob {
    /// The outcome of this job.
    pub fn outcome(
        &self,
        start_time: Time,
        execution_time: f64,
        latency: f64,
        exit: CheckExit,
        output: String,
    ) -> CheckOutcome {
        CheckOutcome {
            host: self.host.clone(),
            service: self.service.clone(),
            options: self.options,
            start_time,
            execution_time,
            latency,
            exit,
            output,
        }
    }
}

fn timeout_state(c: char) -> u8 {
    match c {
        'o' => svc_state::OK,
        'w' => svc_state::WARNING,
        'u' => svc_state::UNKNOWN,
        _ => svc_state::CRITICAL,
    }
}

impl Engine {
    /// Process the result of an active check (from a [`CheckJob`]): the same state machine
    /// and log lines as Nagios (`SERVICE ALERT`, retries, `HOST ALERT`, notifications,
    /// event handlers), then the next check is scheduled. Results for objects that no
    /// longer exist are ignored.
    pub fn process_check_result(&mut self, now: Time, r: &CheckOutcome) {
        let Some(hid) = self.cfg.host_by_name(&r.host) else {
            return;
        };
        match &r.service {
            Some(desc) => {
                if let Some(sid) = self.cfg.find_service(hid, desc) {
                    self.active_result(now, Obj::Service(sid), r);
                }
            }
            None => self.active_result(now, Obj::Host(hid), r),
        }
    }

    fn active_result(&mut self, now: Time, o: Obj, r: &CheckOutcome) {
        let slot = self.sched.slot_mut(o);
        slot.executing = false;
        if r.options & check_options::FRESHNESS != 0 {
            slot.being_freshened = false;
            // A passive result made it fresh again meanwhile: discard
            // (`service_fresh_check` / `host_fresh_check`).
            if self.is_fresh(now, o, false) {
                return;
            }
        }
        let (state, text) = match o {
            Obj::Service(sid) => self.service_verdict(now, sid, r),
            Obj::Host(hid) => {
                let (state, text) = self.host_verdict(now, hid, r);
                // A host that is not UP is DOWN or UNREACHABLE by its parents' states.
                if state == host_state::UP {
                    (state, text)
                } else {
                    (self.determine_host_reachability(hid), text)
                }
            }
        };
        let st = self.status_mut(o);
        st.latency = r.latency;
        st.execution_time = r.execution_time;
        let (when, kind) = (r.start_time, CheckType::Active);
        match o {
            Obj::Service(sid) => {
                let flags = self.handle_service_result(now, sid, state, &text, when, kind);
                self.after_service_result(now, sid, flags, kind, r.latency);
            }
            Obj::Host(hid) => {
                let flags = self.handle_host_result(now, hid, state, &text, when, kind);
                self.after_host_result(now, hid, flags, kind, r.latency);
            }
        }
    }

    /// `get_service_check_return_code()`: the state and the text to parse.
    fn service_verdict(&mut self, now: Time, sid: ServiceId, r: &CheckOutcome) -> (u8, String) {
        let s = self.cfg.service(sid);
        let host = self.cfg.host(s.host).name.to_string();
        let desc = s.description.to_string();
        match r.exit {
            CheckExit::TimedOut => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Check of service '{desc}' on host '{host}' timed out after {:.3}s!",
                            r.execution_time
                        ),
                    },
                );
                (
                    timeout_state(self.cfg.main.service_check_timeout_state),
                    format!(
                        "(Service check timed out after {:.2} seconds)",
                        r.execution_time
                    ),
                )
            }
            CheckExit::Signaled(_) => (svc_state::UNKNOWN, r.output.clone()),
            CheckExit::Code(rc @ 0..=3) => (rc as u8, r.output.clone()),
            CheckExit::Code(126) => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Return code of 126 for service '{desc}' on host '{host}' may indicate a non-executable plugin."
                        ),
                    },
                );
                (
                    svc_state::CRITICAL,
                    "(Return code of 126 is out of bounds. Check if plugin is executable)"
                        .to_owned(),
                )
            }
            CheckExit::Code(127) => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Return code of 127 for service '{desc}' on host '{host}' may indicate this plugin doesn't exist."
                        ),
                    },
                );
                (
                    svc_state::CRITICAL,
                    "(Return code of 127 is out of bounds. Check if plugin exists)".to_owned(),
                )
            }
            CheckExit::Code(rc) => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Return code of {rc} for check of service '{desc}' on host '{host}' was out of bounds."
                        ),
                    },
                );
                (
                    svc_state::CRITICAL,
                    format!(
                        "(Return code of {rc} for service '{desc}' on host '{host}' was out of bounds)"
                    ),
                )
            }
        }
    }

    /// `get_host_check_return_code()`: UP or DOWN (reachability is applied afterwards).
    fn host_verdict(&mut self, now: Time, hid: HostId, r: &CheckOutcome) -> (u8, String) {
        let host = self.cfg.host(hid).name.to_string();
        match r.exit {
            CheckExit::TimedOut => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Check of host '{host}' timed out after {:.2} seconds",
                            r.execution_time
                        ),
                    },
                );
                (
                    host_state::DOWN,
                    format!(
                        "(Host check timed out after {:.2} seconds)",
                        r.execution_time
                    ),
                )
            }
            CheckExit::Signaled(_) => (host_state::DOWN, r.output.clone()),
            // rc 1 (WARNING) is UP unless use_aggressive_host_checking (not supported: 0).
            CheckExit::Code(0 | 1) => (host_state::UP, r.output.clone()),
            CheckExit::Code(2 | 3) => (host_state::DOWN, r.output.clone()),
            // Nagios 4.4.6 as shipped (Debian nagios4-core) words these like the service
            // ones, with "host" [oracle: z_check_results].
            CheckExit::Code(126) => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Return code of 126 for host '{host}' may indicate a non-executable plugin."
                        ),
                    },
                );
                (
                    host_state::DOWN,
                    "(Return code of 126 is out of bounds. Check if plugin is executable)"
                        .to_owned(),
                )
            }
            CheckExit::Code(127) => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Return code of 127 for host '{host}' may indicate this plugin doesn't exist."
                        ),
                    },
                );
                (
                    host_state::DOWN,
                    "(Return code of 127 is out of bounds. Check if plugin exists)".to_owned(),
                )
            }
            CheckExit::Code(rc) => {
                self.record(
                    now,
                    Record::Warning {
                        text: &format!(
                            "Return code of {rc} for check of host '{host}' was out of bounds."
                        ),
                    },
                );
                (
                    host_state::DOWN,
                    format!("(Return code of {rc} for host '{host}' was out of bounds)"),
                )
            }
        }
    }
}
