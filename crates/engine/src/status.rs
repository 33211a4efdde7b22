//! Run-time status of hosts and services, the program-wide switches, downtimes and
//! comments: everything the engine changes and retention saves.

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (Nagios' resolution).
pub type Time = i64;

/// Number of entries of the flap-detection state history (`MAX_STATE_HISTORY_ENTRIES`).
pub const FLAP_HISTORY: usize = 21;

/// Service states.
pub mod svc_state {
    /// OK.
    pub const OK: u8 = 0;
    /// WARNING.
    pub const WARNING: u8 = 1;
    /// CRITICAL.
    pub const CRITICAL: u8 = 2;
    /// UNKNOWN.
    pub const UNKNOWN: u8 = 3;
}

/// Host states.
pub mod host_state {
    /// UP.
    pub const UP: u8 = 0;
    /// DOWN.
    pub const DOWN: u8 = 1;
    /// UNREACHABLE.
    pub const UNREACHABLE: u8 = 2;
}

/// The name of a service state as logged (`OK`, `WARNING`, `CRITICAL`, `UNKNOWN`).
pub fn service_state_name(s: u8) -> &'static str {
    picket_log::ServiceState::from_code(s).name()
}

/// The name of a host state as logged (`UP`, `DOWN`, `UNREACHABLE`).
pub fn host_state_name(s: u8) -> &'static str {
    picket_log::HostState::from_code(s).name()
}

/// SOFT or HARD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StateType {
    /// Not yet confirmed by `max_check_attempts` results.
    Soft,
    /// Confirmed.
    #[default]
    Hard,
}

impl StateType {
    /// `SOFT` / `HARD`.
    pub fn as_str(self) -> &'static str {
        self.log().name()
    }

    /// The log grammar's state type (`picket_log`, the one table of names).
    pub fn log(self) -> picket_log::StateType {
        match self {
            StateType::Soft => picket_log::StateType::Soft,
            StateType::Hard => picket_log::StateType::Hard,
        }
    }
}

/// How the last result arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CheckType {
    /// Run by the scheduler.
    #[default]
    Active,
    /// Submitted from outside (command file, NSCA).
    Passive,
}

/// Acknowledgement kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AckType {
    /// Not acknowledged.
    #[default]
    None,
    /// Removed on any state change.
    Normal,
    /// Removed only on recovery.
    Sticky,
}

/// The status of one host or service (hosts use states 0..=2, services 0..=3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Current state.
    pub current_state: u8,
    /// State before the last result.
    pub last_state: u8,
    /// Last HARD state.
    pub last_hard_state: u8,
    /// SOFT or HARD.
    pub state_type: StateType,
    /// Current attempt (1..=max_check_attempts).
    pub current_attempt: u32,
    /// Whether any result was received.
    pub has_been_checked: bool,
    /// How the last result arrived.
    pub check_type: CheckType,
    /// Short output (`None` before the first result).
    pub plugin_output: Option<String>,
    /// Long output, newlines escaped.
    pub long_output: String,
    /// Performance data.
    pub perf_data: String,
    /// Time of the last result (its own timestamp for passive results).
    pub last_check: Time,
    /// Last state change.
    pub last_state_change: Time,
    /// Last HARD state change.
    pub last_hard_state_change: Time,
    /// Last time in each state (OK/UP, WARNING/DOWN, CRITICAL/UNREACHABLE, UNKNOWN).
    pub last_time_in_state: [Time; 4],
    /// Last NORMAL notification.
    pub last_notification: Time,
    /// Earliest re-notification.
    pub next_notification: Time,
    /// Set after a notification with `notification_interval 0`.
    pub no_more_notifications: bool,
    /// Notification number of the current problem.
    pub current_notification_number: u32,
    /// Id of the last notification.
    pub current_notification_id: u64,
    /// Problem states notified in the current problem (option bits).
    pub notified_on: u16,
    /// Whether the problem is acknowledged.
    pub problem_has_been_acknowledged: bool,
    /// Acknowledgement kind.
    pub acknowledgement_type: AckType,
    /// Services: the host had a problem at the last result.
    pub host_problem_at_last_check: bool,
    /// `$SERVICEEVENTID$`.
    pub current_event_id: u64,
    /// `$LASTSERVICEEVENTID$`.
    pub last_event_id: u64,
    /// `$SERVICEPROBLEMID$`.
    pub current_problem_id: u64,
    /// `$LASTSERVICEPROBLEMID$`.
    pub last_problem_id: u64,
    /// Active downtimes covering the object.
    pub scheduled_downtime_depth: u32,
    /// Flexible downtimes waiting for a problem.
    pub pending_flex_downtime: u32,
    /// Flapping.
    pub is_flapping: bool,
    /// Last computed percent state change.
    pub percent_state_change: f64,
    /// Flap-detection history ring.
    pub flap_history: Vec<u8>,
    /// Next slot of the ring.
    pub flap_index: usize,
    /// Run-time switch (`ENABLE_/DISABLE_*_NOTIFICATIONS`).
    pub notifications_enabled: bool,
    /// Run-time switch (`ENABLE_/DISABLE_PASSIVE_*_CHECKS`).
    pub passive_checks_enabled: bool,
    /// Run-time switch (`ENABLE_/DISABLE_*_CHECK`).
    pub active_checks_enabled: bool,
    /// Run-time switch (`ENABLE_/DISABLE_*_EVENT_HANDLER`).
    pub event_handler_enabled: bool,
    /// Run-time switch (`ENABLE_/DISABLE_*_FLAP_DETECTION`).
    pub flap_detection_enabled: bool,
    /// When the next active check is due (0 = none scheduled).
    #[serde(default)]
    pub next_check: Time,
    /// Seconds between the due time and the start of the last check (passive: between
    /// the result's timestamp and its arrival).
    #[serde(default)]
    pub latency: f64,
    /// Run time of the last active check, in seconds.
    #[serde(default)]
    pub execution_time: f64,
    /// `CHANGE_CUSTOM_*_VAR`: custom variables changed at run time (upper-case names).
    #[serde(default)]
    pub custom_var_changes: Vec<(String, String)>,
    /// `CHANGE_MAX_*_CHECK_ATTEMPTS`.
    #[serde(default)]
    pub max_check_attempts: Option<u32>,
    /// `CHANGE_*_NOTIFICATION_TIMEPERIOD`: the index of the new timeperiod.
    #[serde(default)]
    pub notification_period: Option<u32>,
}

impl Status {
    /// A fresh status in `initial_state`, with the object's configured switches.
    pub fn new(initial_state: u8, common: &picket_config::Checkable) -> Status {
        Status {
            current_state: initial_state,
            last_state: initial_state,
            last_hard_state: initial_state,
            state_type: StateType::Hard,
            current_attempt: 1,
            has_been_checked: false,
            check_type: CheckType::Active,
            plugin_output: None,
            long_output: String::new(),
            perf_data: String::new(),
            last_check: 0,
            last_state_change: 0,
            last_hard_state_change: 0,
            last_time_in_state: [0; 4],
            last_notification: 0,
            next_notification: 0,
            no_more_notifications: false,
            current_notification_number: 0,
            current_notification_id: 0,
            notified_on: 0,
            problem_has_been_acknowledged: false,
            acknowledgement_type: AckType::None,
            host_problem_at_last_check: false,
            current_event_id: 0,
            last_event_id: 0,
            current_problem_id: 0,
            last_problem_id: 0,
            scheduled_downtime_depth: 0,
            pending_flex_downtime: 0,
            is_flapping: false,
            percent_state_change: 0.0,
            flap_history: vec![initial_state; FLAP_HISTORY],
            flap_index: 0,
            notifications_enabled: common.notifications_enabled,
            passive_checks_enabled: common.passive_checks_enabled,
            active_checks_enabled: common.active_checks_enabled,
            event_handler_enabled: common.event_handler_enabled,
            flap_detection_enabled: common.flap_detection_enabled,
            next_check: 0,
            latency: 0.0,
            execution_time: 0.0,
            custom_var_changes: Vec::new(),
            max_check_attempts: None,
            notification_period: None,
        }
    }

    /// The short output, or `(null)` as Nagios prints a never-set output.
    pub fn output_or_null(&self) -> &str {
        self.plugin_output.as_deref().unwrap_or("(null)")
    }
}

fn yes() -> bool {
    true
}

/// A contact's run-time switches (`ENABLE_/DISABLE_CONTACT_*_NOTIFICATIONS`), retained
/// like Nagios' contact `service/host_notifications_enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactStatus {
    /// `service_notifications_enabled`.
    pub service_notifications_enabled: bool,
    /// `host_notifications_enabled`.
    pub host_notifications_enabled: bool,
}

/// Program-wide run-time switches and id counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramStatus {
    /// `enable_notifications`.
    pub enable_notifications: bool,
    /// `accept_passive_service_checks`.
    pub accept_passive_service_checks: bool,
    /// `accept_passive_host_checks`.
    pub accept_passive_host_checks: bool,
    /// `enable_event_handlers`.
    pub enable_event_handlers: bool,
    /// `enable_flap_detection`.
    pub enable_flap_detection: bool,
    /// `execute_service_checks`.
    pub execute_service_checks: bool,
    /// `execute_host_checks`.
    pub execute_host_checks: bool,
    /// `check_service_freshness`.
    #[serde(default = "yes")]
    pub check_service_freshness: bool,
    /// `check_host_freshness`.
    #[serde(default)]
    pub check_host_freshness: bool,
    /// Next comment id.
    pub next_comment_id: u64,
    /// Next downtime id.
    pub next_downtime_id: u64,
    /// Next event id.
    pub next_event_id: u64,
    /// Next problem id.
    pub next_problem_id: u64,
    /// Next notification id.
    pub next_notification_id: u64,
}

/// What a downtime or comment is attached to (by name, so it survives reconfiguration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Host name.
    pub host: String,
    /// Service description, `None` for the host itself.
    pub service: Option<String>,
}

/// A scheduled downtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downtime {
    /// Id (from 1).
    pub id: u64,
    /// The host or service.
    pub target: Target,
    /// When it was scheduled.
    pub entry_time: Time,
    /// Window start.
    pub start: Time,
    /// Window end.
    pub end: Time,
    /// Fixed (`start`..`end`) or flexible (`duration` from the first problem in the window).
    pub fixed: bool,
    /// Downtime that triggers this one (0 = none).
    pub trigger_id: u64,
    /// Length of a flexible downtime.
    pub duration: Time,
    /// Author.
    pub author: String,
    /// Comment.
    pub comment: String,
    /// In effect now.
    pub in_effect: bool,
    /// When a flexible (or triggered) downtime started.
    pub started_at: Option<Time>,
    /// The comment added for it.
    pub comment_id: u64,
}

/// Why a comment exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommentKind {
    /// `ADD_*_COMMENT`.
    User,
    /// Scheduled downtime.
    Downtime,
    /// Flapping.
    Flapping,
    /// Acknowledgement.
    Acknowledgement,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Id (from 1).
    pub id: u64,
    /// The host or service.
    pub target: Target,
    /// Kind.
    pub kind: CommentKind,
    /// When.
    pub entry_time: Time,
    /// Author.
    pub author: String,
    /// Text.
    pub text: String,
    /// Kept across restarts (always true in retention for user comments with persistent=1).
    pub persistent: bool,
}
