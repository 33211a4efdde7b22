//! Picket's monitoring engine: a pure, deterministic state machine with the semantics of
//! Nagios Core 4.4.6, checked against the real `nagios4` by the oracle scenarios in
//! `crates/picket/tests/oracle-scenarios/` (harness: `tests/oracle/nagios/`).
//!
//! Inputs are external-command lines ([`Engine::process_line`]), passive results that
//! arrive by other routes such as NSCA ([`Engine::process_passive`]) and time
//! ([`Engine::tick`]); every input carries `now`, the engine never reads a clock. Outputs
//! accumulate until the caller drains them with [`Engine::take_outputs`]:
//!
//! * `nagios.log` lines (already formatted, `[epoch] TEXT\n`),
//! * [`Job`]s: notification and event-handler command lines with their macros expanded
//!   and cleaned, for the caller to run (directly, or through `/bin/sh -c` when the line
//!   needs a shell),
//! * requests to the daemon (save state, shut down).
//!
//! The state to persist is [`Engine::snapshot`] / [`Engine::restore`]. Because the engine
//! is deterministic, replaying the inputs received since a snapshot (with outputs
//! discarded, [`Engine::set_replay`]) reproduces the state exactly: that is how the
//! daemon survives `kill -9` (see `ARCHITECTURE.md` at the repository root).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn demo(cfg: Arc<picket_config::Config>) {
//! let mut engine = picket_engine::Engine::new(cfg, jiff::tz::TimeZone::UTC, Default::default());
//! engine.start(1_700_000_000);
//! engine.process_line(1_700_000_001, "[1700000001] PROCESS_SERVICE_CHECK_RESULT;web01;TCP wrappers;2;refused");
//! let out = engine.take_outputs();
//! print!("{}", out.log);
//! for job in out.jobs { let _ = job.command_line; }
//! # }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod active;
mod apply;
pub mod commands;
mod downtime;
pub mod extcmd;
mod flap;
mod groups;
mod handlers;
pub mod logrotate;
mod macros;
mod notify;
mod obj;
pub mod output;
mod process;
pub mod retention;
mod schedule;
pub mod status;
pub mod statusfile;

use std::fmt::Write as _;
use std::sync::Arc;

use picket_config::{CommandCall, Config, FastMap, HostId, ServiceId};

pub use active::{CheckExit, CheckJob, CheckOutcome, CheckTarget, check_options};
pub use commands::{CommandName, RawCommand};
pub use extcmd::{CommandFailed, ExternalCommand};
pub use logrotate::{LogRotation, RotationMethod};
pub use notify::NotificationKind;
pub use obj::Obj;
pub use retention::Retention;
pub use status::{
    AckType, CheckType, Comment, CommentKind, ContactStatus, Downtime, ProgramStatus, StateType,
    Status, Target, Time,
};

/// Engine settings that are not in the Nagios configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineOptions {
    /// Drop passive results whose timestamp is older than the object's last check
    /// (Shinken and Icinga 2 do; Nagios processes them). Default: false, as Nagios.
    pub drop_stale_results: bool,
}

/// What a [`Job`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A contact's notification command.
    Notification,
    /// A host or service event handler (global or per object).
    EventHandler,
}

/// A command for the daemon to run (directly, or through `/bin/sh -c` when it needs a shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Notification or event handler.
    pub kind: JobKind,
    /// The command line, macros expanded, output macros cleaned of
    /// `illegal_macro_output_chars` and control characters.
    pub command_line: String,
    /// `NAGIOS_*` variables (empty unless `enable_environment_macros=1`).
    pub env: Vec<(String, String)>,
    /// Seconds after which the command is killed.
    pub timeout_secs: u32,
    /// For messages: `host;service;command_name`.
    pub what: String,
    /// For notifications: whom and what for, named as in the `… NOTIFICATION` log line, so
    /// the command's outcome can be recorded against it.
    pub notification: Option<NotificationTarget>,
}

/// The names a notification job is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTarget {
    /// `contact_name`.
    pub contact: String,
    /// `host_name`.
    pub host: String,
    /// `service_description`; `None` for a host notification.
    pub service: Option<String>,
    /// The notification command's name.
    pub command: String,
    /// The notification's id (`$NOTIFICATIONID$`, `current_notification_id`): one per
    /// notification, shared by the jobs of all its contacts. With the names it identifies
    /// this job's `… NOTIFICATION` line exactly, so the history joins the outcome to it.
    pub id: u64,
    /// Whether the `… NOTIFICATION` line was logged (`log_notifications=1`).
    pub logged: bool,
}

/// Requests to the process around the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `SAVE_STATE_INFORMATION`.
    SaveState,
    /// `SHUTDOWN_PROGRAM`.
    Shutdown,
    /// `RESTART_PROGRAM`.
    Restart,
    /// `PROCESS_FILE;path;delete`: read `path` (relative to the daemon's working
    /// directory, as Nagios does), feed each line to [`Engine::process_file_line`], then
    /// delete the file when `delete`. When it cannot be read, log
    /// `Error: Cannot open file '<path>' to process external commands!`.
    ProcessFile {
        /// The file, as given.
        path: String,
        /// Delete it afterwards (`atoi(delete) != 0`).
        delete: bool,
    },
}

/// Everything the engine produced since the last [`Engine::take_outputs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Complete `nagios.log` lines, each `[epoch] TEXT\n`.
    pub log: String,
    /// Commands to run.
    pub jobs: Vec<Job>,
    /// Requests to the daemon.
    pub requests: Vec<Request>,
    /// Active checks to run (see [`Engine::drain_checks`]).
    pub checks: Vec<CheckJob>,
}

impl Outputs {
    /// Whether nothing was produced.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
            && self.jobs.is_empty()
            && self.requests.is_empty()
            && self.checks.is_empty()
    }
}

/// A passive check result from any route (command file, NSCA, HTTP).
///
/// `picket_nsca::Received { result: CheckResult { host_name, service, return_code, plugin_output, .. }, .. }`
/// maps field by field; `check_time` is the sender's timestamp (or the receive time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveResult {
    /// Host name or address.
    pub host: String,
    /// Service description; `None` for a host result.
    pub service: Option<String>,
    /// Plugin return code.
    pub return_code: i32,
    /// Plugin output, with `\n` escapes as on the wire.
    pub output: String,
    /// The result's own timestamp.
    pub check_time: Time,
}

impl PassiveResult {
    /// The equivalent command-file arguments (after `NAME;`).
    pub fn command_args(&self) -> String {
        match &self.service {
            Some(s) => format!("{};{};{};{}", self.host, s, self.return_code, self.output),
            None => format!("{};{};{}", self.host, self.return_code, self.output),
        }
    }
}

/// The engine. See the crate documentation.
#[derive(Debug)]
pub struct Engine {
    pub(crate) cfg: Arc<Config>,
    pub(crate) tz: jiff::tz::TimeZone,
    pub(crate) opts: EngineOptions,
    pub(crate) prog: ProgramStatus,
    pub(crate) hosts: Vec<Status>,
    pub(crate) svcs: Vec<Status>,
    pub(crate) contacts: Vec<ContactStatus>,
    pub(crate) downtimes: std::collections::BTreeMap<u64, Downtime>,
    pub(crate) comments: std::collections::BTreeMap<u64, Comment>,
    pub(crate) addr_index: FastMap<Box<str>, HostId>,
    pub(crate) svc_escalations: Vec<Vec<u32>>,
    pub(crate) host_escalations: Vec<Vec<u32>>,
    pub(crate) svc_notify_deps: Vec<Vec<u32>>,
    pub(crate) host_notify_deps: Vec<Vec<u32>>,
    pub(crate) global_host_handler: Option<(CommandCall, String)>,
    pub(crate) global_service_handler: Option<(CommandCall, String)>,
    pub(crate) illegal: [bool; 128],
    pub(crate) program_start: Time,
    pub(crate) out: Outputs,
    pub(crate) replay: bool,
    /// While set, scheduling a downtime does not start it at once (a propagated host
    /// downtime adds its children first, as Nagios' event queue does).
    pub(crate) defer_downtime_tick: bool,
    pub(crate) prefix: String,
    pub(crate) prefix_time: Time,
    pub(crate) sched: schedule::Scheduler,
    /// When the next `nagios.log` rotation is due (see [`logrotate`]).
    pub(crate) next_log_rotation: Option<Time>,
}

fn parse_handler(cfg: &Config, s: &Option<String>) -> Option<(CommandCall, String)> {
    let s = s.as_deref()?.trim();
    if s.is_empty() {
        return None;
    }
    let (name, args) = picket_config::split_command_call(s);
    let command = cfg.command_by_name(name)?;
    Some((CommandCall { command, args }, s.to_owned()))
}

/// The Debian default for `illegal_macro_output_chars`, used when the main config sets
/// none: output from the network never reaches a shell unfiltered.
pub const DEFAULT_ILLEGAL_MACRO_OUTPUT_CHARS: &str = "`~$&|'\"<>";

impl Engine {
    /// An engine for `cfg`, every object in its initial state. `tz` is the time zone of
    /// timeperiods and date macros.
    pub fn new(cfg: Arc<Config>, tz: jiff::tz::TimeZone, opts: EngineOptions) -> Engine {
        let main = &cfg.main;
        let hosts = cfg
            .hosts
            .iter()
            .map(|h| {
                let s = match h.common.initial_state {
                    picket_config::InitialState::Down => status::host_state::DOWN,
                    picket_config::InitialState::Unknown => status::host_state::UNREACHABLE,
                    _ => status::host_state::UP,
                };
                Status::new(s, &h.common)
            })
            .collect();
        let svcs = cfg
            .services
            .iter()
            .map(|s| {
                let st = match s.common.initial_state {
                    picket_config::InitialState::Warning => 1,
                    picket_config::InitialState::Critical => 2,
                    picket_config::InitialState::Unknown => 3,
                    _ => 0,
                };
                Status::new(st, &s.common)
            })
            .collect();
        let contacts = cfg
            .contacts
            .iter()
            .map(|c| ContactStatus {
                service_notifications_enabled: c.service_notifications_enabled,
                host_notifications_enabled: c.host_notifications_enabled,
            })
            .collect();
        let mut addr_index = FastMap::default();
        for h in &cfg.hosts {
            addr_index.entry(h.address.clone()).or_insert(h.id);
        }
        let mut svc_escalations = vec![Vec::new(); cfg.services.len()];
        for (i, e) in cfg.serviceescalations.iter().enumerate() {
            if let Some(v) = svc_escalations.get_mut(e.service.index()) {
                v.push(i as u32);
            }
        }
        let mut host_escalations = vec![Vec::new(); cfg.hosts.len()];
        for (i, e) in cfg.hostescalations.iter().enumerate() {
            if let Some(v) = host_escalations.get_mut(e.host.index()) {
                v.push(i as u32);
            }
        }
        let mut svc_notify_deps = vec![Vec::new(); cfg.services.len()];
        for (i, d) in cfg.servicedependencies.iter().enumerate() {
            if !d.notification_failure.is_empty() {
                if let Some(v) = svc_notify_deps.get_mut(d.dependent.index()) {
                    v.push(i as u32);
                }
            }
        }
        let mut host_notify_deps = vec![Vec::new(); cfg.hosts.len()];
        for (i, d) in cfg.hostdependencies.iter().enumerate() {
            if !d.notification_failure.is_empty() {
                if let Some(v) = host_notify_deps.get_mut(d.dependent.index()) {
                    v.push(i as u32);
                }
            }
        }
        let mut illegal = [false; 128];
        let chars = if main.illegal_macro_output_chars.is_empty() {
            DEFAULT_ILLEGAL_MACRO_OUTPUT_CHARS
        } else {
            main.illegal_macro_output_chars.as_str()
        };
        for c in chars.chars() {
            if (c as u32) < 128 {
                illegal[c as usize] = true;
            }
        }
        for (i, slot) in illegal.iter_mut().enumerate() {
            if i < 0x20 || i == 0x7f {
                *slot = true;
            }
        }
        let prog = ProgramStatus {
            enable_notifications: main.enable_notifications,
            accept_passive_service_checks: main.accept_passive_service_checks,
            accept_passive_host_checks: main.accept_passive_host_checks,
            enable_event_handlers: main.enable_event_handlers,
            enable_flap_detection: main.enable_flap_detection,
            execute_service_checks: main.execute_service_checks,
            execute_host_checks: main.execute_host_checks,
            check_service_freshness: main.check_service_freshness,
            check_host_freshness: main.check_host_freshness,
            next_comment_id: 1,
            next_downtime_id: 1,
            next_event_id: 1,
            next_problem_id: 1,
            next_notification_id: 1,
        };
        let global_host_handler = parse_handler(&cfg, &main.global_host_event_handler);
        let global_service_handler = parse_handler(&cfg, &main.global_service_event_handler);
        let sched = schedule::Scheduler::new(&cfg);
        Engine {
            sched,
            tz,
            opts,
            prog,
            hosts,
            svcs,
            contacts,
            downtimes: Default::default(),
            comments: Default::default(),
            addr_index,
            svc_escalations,
            host_escalations,
            svc_notify_deps,
            host_notify_deps,
            global_host_handler,
            global_service_handler,
            illegal,
            program_start: 0,
            out: Outputs::default(),
            replay: false,
            defer_downtime_tick: false,
            prefix: String::new(),
            prefix_time: 0,
            next_log_rotation: None,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// Program start: logs `INITIAL HOST STATE` / `INITIAL SERVICE STATE` lines when
    /// `log_initial_states=1`, then applies time (downtimes that began while down).
    pub fn start(&mut self, now: Time) {
        self.program_start = now;
        if self.cfg.main.log_initial_states {
            self.log_states(now, picket_log::StateDump::Initial);
        }
        self.init_timing_loop(now);
        self.schedule_log_rotation(now);
        self.tick(now);
    }

    /// `CURRENT HOST STATE` / `CURRENT SERVICE STATE` lines (after a log rotation), or
    /// `INITIAL …` (start-up).
    pub fn log_states(&mut self, now: Time, dump: picket_log::StateDump) {
        let cfg = Arc::clone(&self.cfg);
        let mut hosts: Vec<&picket_config::Host> = cfg.hosts.iter().collect();
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        for h in &hosts {
            let st = &self.hosts[h.id.index()];
            let output = output::log_safe(st.plugin_output.as_deref().unwrap_or("")).into_owned();
            let record = picket_log::Record::HostState {
                dump,
                host: &h.name,
                state: picket_log::HostState::from_code(st.current_state),
                state_type: st.state_type.log(),
                attempt: st.current_attempt,
                output: &output,
            };
            self.record(now, record);
        }
        let mut svcs: Vec<&picket_config::Service> = cfg.services.iter().collect();
        svcs.sort_by(|a, b| {
            cfg.host(a.host)
                .name
                .cmp(&cfg.host(b.host).name)
                .then_with(|| a.description.cmp(&b.description))
        });
        for s in &svcs {
            let st = &self.svcs[s.id.index()];
            let output = output::log_safe(st.output_or_null()).into_owned();
            let record = picket_log::Record::ServiceState {
                dump,
                host: &cfg.host(s.host).name,
                service: &s.description,
                state: picket_log::ServiceState::from_code(st.current_state),
                state_type: st.state_type.log(),
                attempt: st.current_attempt,
                output: &output,
            };
            self.record(now, record);
        }
    }

    /// In replay mode every output is discarded (used to rebuild state from a journal).
    pub fn set_replay(&mut self, replay: bool) {
        self.replay = replay;
    }

    /// Whether outputs are being discarded ([`Engine::set_replay`]).
    pub fn is_replay(&self) -> bool {
        self.replay
    }

    /// Take everything produced so far.
    pub fn take_outputs(&mut self) -> Outputs {
        std::mem::take(&mut self.out)
    }

    /// Append only the log produced so far to `log` (jobs and requests stay queued): the
    /// daemon writes it to the old file before a log rotation.
    pub fn drain_log_into(&mut self, log: &mut String) {
        log.push_str(&self.out.log);
        self.out.log.clear();
    }

    /// Append the log produced so far to `log` and the jobs to `jobs` (no allocation when
    /// the buffers are reused).
    pub fn drain_into(
        &mut self,
        log: &mut String,
        jobs: &mut Vec<Job>,
        requests: &mut Vec<Request>,
    ) {
        log.push_str(&self.out.log);
        self.out.log.clear();
        jobs.append(&mut self.out.jobs);
        requests.append(&mut self.out.requests);
    }

    /// The status of a service.
    pub fn service_status(&self, id: ServiceId) -> &Status {
        &self.svcs[id.index()]
    }

    /// The status of a host.
    pub fn host_status(&self, id: HostId) -> &Status {
        &self.hosts[id.index()]
    }

    /// Program-wide switches.
    pub fn program_status(&self) -> &ProgramStatus {
        &self.prog
    }

    /// Scheduled downtimes by id.
    pub fn downtimes(&self) -> impl Iterator<Item = &Downtime> {
        self.downtimes.values()
    }

    /// Comments by id.
    pub fn comments(&self) -> impl Iterator<Item = &Comment> {
        self.comments.values()
    }

    /// A host by name, or else by address (as `find_host_by_name_or_address`).
    pub fn find_host(&self, name: &str) -> Option<HostId> {
        self.cfg
            .host_by_name(name)
            .or_else(|| self.addr_index.get(name).copied())
    }

    /// Write one `nagios.log` line `[now] text` on behalf of a layer beside the engine
    /// (the daemon's scan detection), in order with the engine's own lines; made
    /// [`output::log_safe`] first, and discarded in replay mode like every output.
    pub fn log_external(&mut self, now: Time, text: &str) {
        if self.replay {
            return;
        }
        let safe = output::log_safe(text).into_owned();
        self.log(now, &safe);
    }

    /// Start a log line: `[now] ` (the prefix is cached per second).
    pub(crate) fn log_start(&mut self, now: Time) {
        if self.prefix_time != now || self.prefix.is_empty() {
            self.prefix.clear();
            let _ = write!(self.prefix, "[{now}] ");
            self.prefix_time = now;
        }
        self.out.log.push_str(&self.prefix);
    }

    /// Write one log line `[now] text`.
    pub(crate) fn log(&mut self, now: Time, text: &str) {
        if self.replay {
            return;
        }
        let start = self.out.log.len();
        self.log_start(now);
        self.out.log.push_str(text);
        self.log_end(start);
    }

    /// Write one log line: `record` rendered by `picket_log`, the one owner of the log's
    /// text. Its fields are logged as given: plugin output and received text must have
    /// been made [`output::log_safe`] by the caller.
    pub(crate) fn record(&mut self, now: Time, record: picket_log::Record<'_>) {
        if self.replay {
            return;
        }
        let start = self.out.log.len();
        self.log_start(now);
        record.render_into(&mut self.out.log);
        self.log_end(start);
    }

    /// End the line begun at `start` (with the `log-check` feature: check it).
    fn log_end(&mut self, start: usize) {
        self.out.log.push('\n');
        #[cfg(any(test, all(feature = "log-check", debug_assertions)))]
        check_log_line(&self.out.log[start..]);
        let _ = start;
    }

    pub(crate) fn push_job(&mut self, job: Job) {
        if !self.replay {
            self.out.jobs.push(job);
        }
    }

    pub(crate) fn interval_length(&self) -> f64 {
        f64::from(self.cfg.main.interval_length.max(1))
    }

    pub(crate) fn ts(t: Time) -> jiff::Timestamp {
        jiff::Timestamp::from_second(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    pub(crate) fn in_period(&self, tp: Option<picket_config::TimeperiodId>, now: Time) -> bool {
        match tp {
            None => true,
            Some(tp) => self.cfg.in_period(tp, Self::ts(now), &self.tz),
        }
    }

    pub(crate) fn next_event_id(&mut self) -> u64 {
        let id = self.prog.next_event_id;
        self.prog.next_event_id += 1;
        id
    }

    pub(crate) fn next_problem_id(&mut self) -> u64 {
        let id = self.prog.next_problem_id;
        self.prog.next_problem_id += 1;
        id
    }

    /// When [`Engine::tick`] next has something to do: a downtime starting or ending, an
    /// active check or a freshness check being due, or a log rotation
    /// ([`Engine::log_rotation_due`]).
    pub fn next_wakeup(&self) -> Option<Time> {
        [
            self.downtime_wakeup(),
            self.schedule_wakeup(),
            self.next_log_rotation,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn downtime_wakeup(&self) -> Option<Time> {
        self.downtimes
            .values()
            .map(|d| {
                if d.in_effect {
                    match d.started_at {
                        Some(s) if !d.fixed => s + d.duration,
                        _ => d.end,
                    }
                } else if d.fixed && d.trigger_id == 0 {
                    d.start
                } else {
                    d.end
                }
            })
            .min()
    }
}

/// The `log-check` feature's check of one logged line (with its `\n`): it renders back from
/// its parsed `picket_log` record byte for byte, and a line opening with a known tag is
/// that typed record, not `Raw`.
#[cfg(any(test, all(feature = "log-check", debug_assertions)))]
fn check_log_line(line: &str) {
    let body = line.trim_end_matches('\n');
    let parsed = picket_log::parse_line(body)
        .unwrap_or_else(|_| panic!("log line without a timestamp: {body:?}"));
    assert_eq!(parsed.to_string(), body, "log line does not round-trip");
    if let picket_log::Record::Raw(text) = parsed.record {
        assert!(
            !picket_log::has_known_tag(text),
            "log line of a known kind parses as Raw: {body:?}"
        );
    }
}
