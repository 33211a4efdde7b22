//! The main configuration file (`nagios.cfg` format).

use std::path::PathBuf;

use crate::diag::{Diagnostics, Kind, Location};
use crate::raw::MainLine;

/// Typed values of the main-config keys Picket uses. Defaults are Nagios Core 4.4's
/// compiled-in defaults (`include/defaults.h`).
#[derive(Debug, Clone, PartialEq)]
pub struct MainConfig {
    /// `cfg_file` entries, in order.
    pub cfg_files: Vec<PathBuf>,
    /// `cfg_dir` entries, in order.
    pub cfg_dirs: Vec<PathBuf>,
    /// `resource_file` entries, in order.
    pub resource_files: Vec<PathBuf>,
    /// `log_file`.
    pub log_file: Option<PathBuf>,
    /// `command_file`.
    pub command_file: Option<PathBuf>,
    /// Picket: `nsca_config_file`, an `nsca.cfg` with which the daemon itself
    /// listens for NSCA and hands results straight to its engine.
    pub nsca_config_file: Option<PathBuf>,
    /// Picket: `detection_config_file`, a `detection.cfg` (picket-correlator): scan
    /// incidents from the Denied results and `POST /api/connection-events` (unset: no
    /// detection, Nagios' behaviour).
    pub detection_config_file: Option<PathBuf>,
    /// Picket: `nsca_ng_config_file`, an `nsca-ng.cfg` with which the daemon
    /// itself listens for NSCA-ng (TLS-PSK, per-identity authorization) and
    /// hands the authorized commands to its engine as command-file lines.
    pub nsca_ng_config_file: Option<PathBuf>,
    /// Picket: `web_listen`, the `address:port` the web UI, JSON API and
    /// `/metrics` are served on (unset: no web server).
    pub web_listen: Option<std::net::SocketAddr>,
    /// Picket: `web_token_file`, a file holding the token that unlocks the
    /// UI's commands and the API's POSTs (unset: read-only).
    pub web_token_file: Option<PathBuf>,
    /// Picket: `api_identities_file`, scoped API identities (bearer tokens and
    /// basic-auth API users with `hosts`/`services`/`commands` patterns, in the
    /// `nsca-ng.cfg` syntax) for the JSON API, the UI and the Icinga 2 API.
    pub api_identities_file: Option<PathBuf>,
    /// Picket: `nrdp_path`, where the web server takes NRDP submissions (unset:
    /// `/nrdp/`; empty: not at all).
    pub nrdp_path: Option<String>,
    /// Picket: `web_max_connections`, web connections open at once; past it new
    /// ones are closed at once (0: the default, 256).
    pub web_max_connections: u32,
    /// `livestatus_listen=HOST:PORT`: Livestatus over TCP.
    pub livestatus_listen: Option<std::net::SocketAddr>,
    /// Picket: who Livestatus `COMMAND`s are from (`livestatus_tcp_identity`,
    /// `livestatus_unix_identity`, `livestatus_uid_identity`,
    /// `livestatus_unscoped_commands`), as `(key, value, "file:line")` in file
    /// order; the daemon's Livestatus module reads them.
    pub livestatus_command_keys: Vec<(String, String, String)>,
    /// `broker_module=` lines, as written (the daemon serves Livestatus natively for a
    /// `livestatus.o`/`livestatus.so` module and ignores the others).
    pub broker_modules: Vec<String>,
    /// Picket: `history_file`, the SQLite history database (unset: no history).
    pub history_file: Option<PathBuf>,
    /// Picket: `history_max_age_days` (0: keep forever).
    pub history_max_age_days: u32,
    /// Picket: `history_max_rows` (0: no limit).
    pub history_max_rows: u64,
    /// Picket: `max_concurrent_notifications`, notification and event-handler
    /// commands running at once (0: the default, 256). Independent of
    /// `max_concurrent_checks`, as in Nagios, where only checks are capped.
    pub max_concurrent_notifications: u32,
    /// `status_file`.
    pub status_file: Option<PathBuf>,
    /// `object_cache_file`: written at start-up with every object, templates resolved.
    pub object_cache_file: Option<PathBuf>,
    /// `precached_object_file`: written by `picket -v -p` (`nagios -pv`).
    pub precached_object_file: Option<PathBuf>,
    /// `state_retention_file`.
    pub state_retention_file: Option<PathBuf>,
    /// `retain_state_information`.
    pub retain_state_information: bool,
    /// `retention_update_interval` (minutes).
    pub retention_update_interval: u32,
    /// `interval_length` (seconds per interval unit).
    pub interval_length: u32,
    /// `check_external_commands`.
    pub check_external_commands: bool,
    /// `accept_passive_service_checks`.
    pub accept_passive_service_checks: bool,
    /// `accept_passive_host_checks`.
    pub accept_passive_host_checks: bool,
    /// `execute_service_checks`.
    pub execute_service_checks: bool,
    /// `execute_host_checks`.
    pub execute_host_checks: bool,
    /// `enable_notifications`.
    pub enable_notifications: bool,
    /// `enable_event_handlers`.
    pub enable_event_handlers: bool,
    /// `global_host_event_handler` (unresolved command call).
    pub global_host_event_handler: Option<String>,
    /// `global_service_event_handler` (unresolved command call).
    pub global_service_event_handler: Option<String>,
    /// `enable_flap_detection`.
    pub enable_flap_detection: bool,
    /// `low_service_flap_threshold`.
    pub low_service_flap_threshold: f64,
    /// `high_service_flap_threshold`.
    pub high_service_flap_threshold: f64,
    /// `low_host_flap_threshold`.
    pub low_host_flap_threshold: f64,
    /// `high_host_flap_threshold`.
    pub high_host_flap_threshold: f64,
    /// `log_notifications`.
    pub log_notifications: bool,
    /// `log_service_retries`.
    pub log_service_retries: bool,
    /// `log_host_retries`.
    pub log_host_retries: bool,
    /// `log_event_handlers`.
    pub log_event_handlers: bool,
    /// `log_external_commands`.
    pub log_external_commands: bool,
    /// `log_passive_checks`.
    pub log_passive_checks: bool,
    /// `log_initial_states`.
    pub log_initial_states: bool,
    /// `log_current_states`.
    pub log_current_states: bool,
    /// `illegal_object_name_chars`.
    pub illegal_object_name_chars: String,
    /// `illegal_macro_output_chars`.
    pub illegal_macro_output_chars: String,
    /// `use_regexp_matching`.
    pub use_regexp_matching: bool,
    /// `use_true_regexp_matching`.
    pub use_true_regexp_matching: bool,
    /// `date_format` (`us`, `euro`, `iso8601`, `strict-iso8601`).
    pub date_format: String,
    /// `enable_environment_macros`.
    pub enable_environment_macros: bool,
    /// `nagios_user`.
    pub nagios_user: Option<String>,
    /// `nagios_group`.
    pub nagios_group: Option<String>,
    /// `lock_file`.
    pub lock_file: Option<PathBuf>,
    /// `temp_path`.
    pub temp_path: Option<PathBuf>,
    /// `check_result_path`: the daemon reads check-result files dropped there.
    pub check_result_path: Option<PathBuf>,
    /// `check_result_reaper_frequency` (seconds, default 10).
    pub check_result_reaper_frequency: u64,
    /// `max_check_result_file_age` (seconds, default 3600; 0: no limit).
    pub max_check_result_file_age: u64,
    /// Picket: whose scope decides the results of `check_result_path`'s files
    /// (`check_result_identity=NAME`, `check_result_uid_identity=UID:NAME`), as
    /// `(key, value, "file:line")` in file order; the daemon's spool reader reads them.
    pub check_result_identity_keys: Vec<(String, String, String)>,
    /// `log_rotation_method` (`n`, `h`, `d`, `w`, `m`).
    pub log_rotation_method: char,
    /// `log_archive_path`.
    pub log_archive_path: Option<PathBuf>,
    /// `max_concurrent_checks` (0 = unlimited).
    pub max_concurrent_checks: u32,
    /// `service_check_timeout` (s).
    pub service_check_timeout: u32,
    /// `host_check_timeout` (s).
    pub host_check_timeout: u32,
    /// `event_handler_timeout` (s).
    pub event_handler_timeout: u32,
    /// `notification_timeout` (s).
    pub notification_timeout: u32,
    /// `service_check_timeout_state` (`c`, `u`, `w`, `o`).
    pub service_check_timeout_state: char,
    /// `check_service_freshness`.
    pub check_service_freshness: bool,
    /// `check_host_freshness`.
    pub check_host_freshness: bool,
    /// `service_freshness_check_interval` (s).
    pub service_freshness_check_interval: u32,
    /// `host_freshness_check_interval` (s).
    pub host_freshness_check_interval: u32,
    /// `additional_freshness_latency` (s).
    pub additional_freshness_latency: u32,
    /// `max_service_check_spread` (minutes).
    pub max_service_check_spread: u32,
    /// `max_host_check_spread` (minutes).
    pub max_host_check_spread: u32,
    /// `passive_host_checks_are_soft`.
    pub passive_host_checks_are_soft: bool,
    /// `translate_passive_host_checks`.
    pub translate_passive_host_checks: bool,
    /// `soft_state_dependencies`.
    pub soft_state_dependencies: bool,
    /// `cached_host_check_horizon` (s).
    pub cached_host_check_horizon: u32,
    /// `cached_service_check_horizon` (s).
    pub cached_service_check_horizon: u32,
    /// `allow_empty_hostgroup_assignment` (1 silent, otherwise a warning: Nagios 4.4.6
    /// accepts a service whose host list ends up empty whatever the value).
    pub allow_empty_hostgroup_assignment: u8,
    /// `status_update_interval` (s).
    pub status_update_interval: u32,
    /// `max_check_result_file_age`-style and other keys Picket does not use are not kept.
    pub use_timezone: Option<String>,
}

impl Default for MainConfig {
    fn default() -> Self {
        MainConfig {
            cfg_files: Vec::new(),
            cfg_dirs: Vec::new(),
            resource_files: Vec::new(),
            log_file: None,
            command_file: None,
            nsca_config_file: None,
            detection_config_file: None,
            nsca_ng_config_file: None,
            web_listen: None,
            web_token_file: None,
            api_identities_file: None,
            nrdp_path: None,
            web_max_connections: 0,
            livestatus_listen: None,
            livestatus_command_keys: Vec::new(),
            broker_modules: Vec::new(),
            history_file: None,
            history_max_age_days: 90,
            history_max_rows: 5_000_000,
            max_concurrent_notifications: 0,
            status_file: None,
            object_cache_file: None,
            precached_object_file: None,
            state_retention_file: None,
            retain_state_information: true,
            retention_update_interval: 60,
            interval_length: 60,
            check_external_commands: true,
            accept_passive_service_checks: true,
            accept_passive_host_checks: true,
            execute_service_checks: true,
            execute_host_checks: true,
            enable_notifications: true,
            enable_event_handlers: true,
            global_host_event_handler: None,
            global_service_event_handler: None,
            enable_flap_detection: true,
            low_service_flap_threshold: 20.0,
            high_service_flap_threshold: 30.0,
            low_host_flap_threshold: 20.0,
            high_host_flap_threshold: 30.0,
            log_notifications: true,
            log_service_retries: true,
            log_host_retries: true,
            log_event_handlers: true,
            log_external_commands: true,
            log_passive_checks: true,
            log_initial_states: false,
            log_current_states: true,
            illegal_object_name_chars: String::new(),
            illegal_macro_output_chars: String::new(),
            use_regexp_matching: false,
            use_true_regexp_matching: false,
            date_format: "us".to_owned(),
            enable_environment_macros: false,
            nagios_user: None,
            nagios_group: None,
            lock_file: None,
            temp_path: None,
            check_result_path: None,
            check_result_reaper_frequency: 10,
            max_check_result_file_age: 3600,
            check_result_identity_keys: Vec::new(),
            log_rotation_method: 'n',
            log_archive_path: None,
            max_concurrent_checks: 0,
            service_check_timeout: 60,
            host_check_timeout: 30,
            event_handler_timeout: 30,
            notification_timeout: 30,
            service_check_timeout_state: 'c',
            check_service_freshness: true,
            check_host_freshness: false,
            service_freshness_check_interval: 60,
            host_freshness_check_interval: 60,
            additional_freshness_latency: 15,
            max_service_check_spread: 30,
            max_host_check_spread: 30,
            passive_host_checks_are_soft: false,
            translate_passive_host_checks: false,
            soft_state_dependencies: false,
            cached_host_check_horizon: 15,
            cached_service_check_horizon: 15,
            allow_empty_hostgroup_assignment: 2,
            status_update_interval: 10,
            use_timezone: None,
        }
    }
}

/// Main-config keys Nagios 4 knows and Picket accepts without using.
fn is_known_nagios_unused(key: &str) -> bool {
    matches!(
        key,
        "temp_file"
            | "event_broker_options"
            | "use_syslog"
            | "service_inter_check_delay_method"
            | "service_interleave_factor"
            | "host_inter_check_delay_method"
            | "max_check_result_reaper_time"
            | "enable_predictive_host_dependency_checks"
            | "enable_predictive_service_dependency_checks"
            | "auto_reschedule_checks"
            | "auto_rescheduling_interval"
            | "auto_rescheduling_window"
            | "ocsp_timeout"
            | "ochp_timeout"
            | "perfdata_timeout"
            | "use_retained_program_state"
            | "use_retained_scheduling_info"
            | "retained_host_attribute_mask"
            | "retained_service_attribute_mask"
            | "retained_process_host_attribute_mask"
            | "retained_process_service_attribute_mask"
            | "retained_contact_host_attribute_mask"
            | "retained_contact_service_attribute_mask"
            | "check_for_updates"
            | "bare_update_check"
            | "use_aggressive_host_checking"
            | "process_performance_data"
            | "obsess_over_services"
            | "obsess_over_hosts"
            | "check_for_orphaned_services"
            | "check_for_orphaned_hosts"
            | "admin_email"
            | "admin_pager"
            | "daemon_dumps_core"
            | "use_large_installation_tweaks"
            | "debug_level"
            | "debug_verbosity"
            | "debug_file"
            | "max_debug_file_size"
            | "query_socket"
            | "host_perfdata_command"
            | "service_perfdata_command"
            | "host_perfdata_file"
            | "service_perfdata_file"
            | "host_perfdata_file_template"
            | "service_perfdata_file_template"
            | "host_perfdata_file_mode"
            | "service_perfdata_file_mode"
            | "host_perfdata_file_processing_interval"
            | "service_perfdata_file_processing_interval"
            | "host_perfdata_file_processing_command"
            | "service_perfdata_file_processing_command"
            | "host_perfdata_process_empty_results"
            | "service_perfdata_process_empty_results"
            | "ocsp_command"
            | "ochp_command"
            | "command_check_interval"
            | "external_command_buffer_slots"
            | "sleep_time"
            | "free_child_process_memory"
            | "child_processes_fork_twice"
            | "enable_embedded_perl"
            | "use_embedded_perl_implicitly"
            | "p1_file"
            | "stalking_event_handlers_for_hosts"
            | "stalking_event_handlers_for_services"
            | "stalking_notifications_for_hosts"
            | "stalking_notifications_for_services"
            | "host_down_disable_service_checks"
            | "service_skip_check_dependency_status"
            | "service_skip_check_parent_status"
            | "service_skip_check_host_down_status"
            | "host_skip_check_dependency_status"
            | "check_workers"
            | "loadctl_options"
            | "website_url"
            | "time_change_threshold"
            | "log_global_notifications"
    )
}

/// Keys of Shinken's `shinken.cfg` (and daemon ini keys found in it).
fn is_shinken_key(key: &str) -> bool {
    matches!(
        key,
        "workdir"
            | "local_log"
            | "log_level"
            | "shinken_user"
            | "shinken_group"
            | "modules_dir"
            | "daemon_enabled"
            | "use_ssl"
            | "ca_cert"
            | "server_cert"
            | "server_key"
            | "hard_ssl_name_check"
            | "http_backend"
            | "api_key"
            | "secret"
            | "http_proxy"
            | "statsd_enabled"
            | "statsd_interval"
            | "statsd_host"
            | "statsd_port"
            | "statsd_prefix"
            | "statsd_pattern"
            | "statsd_types"
            | "max_plugins_output_length"
            | "enable_problem_impacts_states_change"
            | "disable_old_nagios_parameters_whining"
            | "no_event_handlers_during_downtimes"
            | "pack_distribution_file"
            | "flap_history"
            | "timeout_exit_status"
            | "triggers_dir"
            | "packs_dir"
            | "modules"
            | "daemon_thread_pool_size"
            | "max_queue_size"
            | "idontcareaboutsecurity"
            | "resource_macros_names"
            | "use_multiprocesses_serializer"
            | "human_timestamp_log"
            | "conf_is_correct"
    )
}

/// True when the main config contains keys only Shinken uses.
pub fn looks_like_shinken(lines: &[MainLine<'_>]) -> bool {
    lines.iter().any(|l| is_shinken_key(l.key))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

impl MainConfig {
    /// Build from parsed lines. Relative paths are resolved against `base` (the main
    /// config's directory), as Nagios does for `cfg_file`/`cfg_dir`/`resource_file`.
    pub fn from_lines(
        lines: &[MainLine<'_>],
        file: &std::sync::Arc<std::path::Path>,
        base: &std::path::Path,
        diags: &mut Diagnostics,
    ) -> MainConfig {
        let mut m = MainConfig::default();
        let path = |v: &str| -> PathBuf {
            let p = PathBuf::from(v);
            if p.is_absolute() { p } else { base.join(p) }
        };
        for l in lines {
            let loc = || Some(Location::new(file, l.line));
            let v = l.value;
            let mut bad = false;
            macro_rules! b {
                ($f:ident) => {
                    match parse_bool(v) {
                        Some(x) => m.$f = x,
                        None => bad = true,
                    }
                };
            }
            macro_rules! n {
                ($f:ident) => {
                    match v.parse() {
                        Ok(x) => m.$f = x,
                        Err(_) => bad = true,
                    }
                };
            }
            match l.key {
                "cfg_file" => m.cfg_files.push(path(v)),
                "cfg_dir" => m.cfg_dirs.push(path(v)),
                "resource_file" => m.resource_files.push(path(v)),
                "log_file" => m.log_file = Some(path(v)),
                "command_file" => m.command_file = Some(path(v)),
                "nsca_config_file" => m.nsca_config_file = Some(path(v)),
                "detection_config_file" => m.detection_config_file = Some(path(v)),
                "nsca_ng_config_file" => m.nsca_ng_config_file = Some(path(v)),
                "web_listen" => match v.parse() {
                    Ok(a) => m.web_listen = Some(a),
                    Err(_) => bad = true,
                },
                "web_token_file" => m.web_token_file = Some(path(v)),
                "api_identities_file" => m.api_identities_file = Some(path(v)),
                "nrdp_path" => m.nrdp_path = Some(v.trim().to_string()),
                "web_max_connections" => n!(web_max_connections),
                "livestatus_listen" => match v.parse() {
                    Ok(a) => m.livestatus_listen = Some(a),
                    Err(_) => bad = true,
                },
                "livestatus_tcp_identity"
                | "livestatus_unix_identity"
                | "livestatus_uid_identity"
                | "livestatus_unscoped_commands" => m.livestatus_command_keys.push((
                    l.key.to_owned(),
                    v.trim().to_owned(),
                    format!("{}:{}", file.display(), l.line),
                )),
                "broker_module" => m.broker_modules.push(v.to_owned()),
                "history_file" => m.history_file = Some(path(v)),
                "history_max_age_days" => n!(history_max_age_days),
                "history_max_rows" => n!(history_max_rows),
                "max_concurrent_notifications" => n!(max_concurrent_notifications),
                "status_file" => m.status_file = Some(path(v)),
                "object_cache_file" => m.object_cache_file = Some(path(v)),
                "precached_object_file" => m.precached_object_file = Some(path(v)),
                "state_retention_file" | "xrddefault_retention_file" => {
                    m.state_retention_file = Some(path(v))
                }
                "retain_state_information" => b!(retain_state_information),
                "retention_update_interval" => n!(retention_update_interval),
                "interval_length" => {
                    n!(interval_length);
                    if m.interval_length == 0 {
                        bad = true;
                        m.interval_length = 60;
                    }
                }
                "check_external_commands" => b!(check_external_commands),
                "accept_passive_service_checks" => b!(accept_passive_service_checks),
                "accept_passive_host_checks" => b!(accept_passive_host_checks),
                "execute_service_checks" => b!(execute_service_checks),
                "execute_host_checks" => b!(execute_host_checks),
                "enable_notifications" => b!(enable_notifications),
                "enable_event_handlers" => b!(enable_event_handlers),
                "global_host_event_handler" => m.global_host_event_handler = Some(v.to_owned()),
                "global_service_event_handler" => {
                    m.global_service_event_handler = Some(v.to_owned())
                }
                "enable_flap_detection" => b!(enable_flap_detection),
                "low_service_flap_threshold" => n!(low_service_flap_threshold),
                "high_service_flap_threshold" => n!(high_service_flap_threshold),
                "low_host_flap_threshold" => n!(low_host_flap_threshold),
                "high_host_flap_threshold" => n!(high_host_flap_threshold),
                "log_notifications" => b!(log_notifications),
                "log_service_retries" => b!(log_service_retries),
                "log_host_retries" => b!(log_host_retries),
                "log_event_handlers" => b!(log_event_handlers),
                "log_external_commands" => b!(log_external_commands),
                "log_passive_checks" => b!(log_passive_checks),
                "log_initial_states" => b!(log_initial_states),
                "log_current_states" => b!(log_current_states),
                "illegal_object_name_chars" => m.illegal_object_name_chars = v.to_owned(),
                "illegal_macro_output_chars" => m.illegal_macro_output_chars = v.to_owned(),
                "use_regexp_matching" => b!(use_regexp_matching),
                "use_true_regexp_matching" => b!(use_true_regexp_matching),
                "date_format" => {
                    if matches!(v, "us" | "euro" | "iso8601" | "strict-iso8601") {
                        m.date_format = v.to_owned();
                    } else {
                        bad = true;
                    }
                }
                "enable_environment_macros" => b!(enable_environment_macros),
                "nagios_user" => m.nagios_user = Some(v.to_owned()),
                "nagios_group" => m.nagios_group = Some(v.to_owned()),
                "lock_file" => m.lock_file = Some(path(v)),
                "temp_path" => m.temp_path = Some(path(v)),
                "check_result_path" => m.check_result_path = Some(path(v)),
                "check_result_identity" | "check_result_uid_identity" => {
                    m.check_result_identity_keys.push((
                        l.key.to_owned(),
                        v.trim().to_owned(),
                        format!("{}:{}", file.display(), l.line),
                    ))
                }
                "check_result_reaper_frequency" => n!(check_result_reaper_frequency),
                "max_check_result_file_age" => n!(max_check_result_file_age),
                "log_rotation_method" => match v {
                    "n" | "h" | "d" | "w" | "m" => {
                        m.log_rotation_method = v.chars().next().unwrap_or('n')
                    }
                    _ => bad = true,
                },
                "log_archive_path" => m.log_archive_path = Some(path(v)),
                "max_concurrent_checks" => n!(max_concurrent_checks),
                "service_check_timeout" => n!(service_check_timeout),
                "host_check_timeout" => n!(host_check_timeout),
                "event_handler_timeout" => n!(event_handler_timeout),
                "notification_timeout" => n!(notification_timeout),
                "service_check_timeout_state" => match v {
                    "c" | "u" | "w" | "o" => {
                        m.service_check_timeout_state = v.chars().next().unwrap_or('c')
                    }
                    _ => bad = true,
                },
                "check_service_freshness" => b!(check_service_freshness),
                "check_host_freshness" => b!(check_host_freshness),
                "service_freshness_check_interval" => n!(service_freshness_check_interval),
                "host_freshness_check_interval" => n!(host_freshness_check_interval),
                "additional_freshness_latency" => n!(additional_freshness_latency),
                "max_service_check_spread" => n!(max_service_check_spread),
                "max_host_check_spread" => n!(max_host_check_spread),
                "passive_host_checks_are_soft" => b!(passive_host_checks_are_soft),
                "translate_passive_host_checks" => b!(translate_passive_host_checks),
                "soft_state_dependencies" => b!(soft_state_dependencies),
                "cached_host_check_horizon" => n!(cached_host_check_horizon),
                "cached_service_check_horizon" => n!(cached_service_check_horizon),
                "allow_empty_hostgroup_assignment" => {
                    n!(allow_empty_hostgroup_assignment);
                    if m.allow_empty_hostgroup_assignment > 2 {
                        bad = true;
                        m.allow_empty_hostgroup_assignment = 2;
                    }
                }
                "status_update_interval" => n!(status_update_interval),
                "use_timezone" => m.use_timezone = Some(v.to_owned()),
                k if is_known_nagios_unused(k) => diags.warning(
                    Kind::UnusedKey,
                    loc(),
                    None,
                    format!("main config key '{k}' is not used by Picket; ignored"),
                ),
                k if is_shinken_key(k) => diags.warning(
                    Kind::Unsupported,
                    loc(),
                    None,
                    format!("Shinken main config key '{k}' is not used by Picket; ignored"),
                ),
                k => diags.warning(
                    Kind::UnusedKey,
                    loc(),
                    None,
                    format!("unknown main config key '{k}'; ignored"),
                ),
            }
            if bad {
                diags.error(
                    Kind::InvalidValue,
                    loc(),
                    None,
                    format!("invalid value '{v}' for main config key '{}'", l.key),
                );
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::parse_main_file;
    use std::path::Path;
    use std::sync::Arc;

    fn parse(text: &str) -> (MainConfig, Vec<String>) {
        let (lines, bad) = parse_main_file(text);
        assert!(bad.is_empty(), "{bad:?}");
        let file: Arc<Path> = Arc::from(Path::new("/etc/picket/picket.cfg"));
        let mut diags = Diagnostics::new();
        let m = MainConfig::from_lines(&lines, &file, Path::new("/etc/picket"), &mut diags);
        (m, diags.iter().map(|d| d.line()).collect())
    }

    #[test]
    fn picket_keys() {
        let (m, diags) = parse(
            "nsca_config_file=nsca.cfg\nweb_listen=127.0.0.1:8080\nweb_token_file=/run/t\n\
             web_max_connections=64\nhistory_file=var/h.db\nhistory_max_age_days=7\nhistory_max_rows=10\n\
             max_concurrent_notifications=32\nmax_concurrent_checks=8\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            m.nsca_config_file.as_deref(),
            Some(Path::new("/etc/picket/nsca.cfg"))
        );
        assert_eq!(m.web_listen, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(m.web_token_file.as_deref(), Some(Path::new("/run/t")));
        assert_eq!(m.web_max_connections, 64);
        assert_eq!(
            m.history_file.as_deref(),
            Some(Path::new("/etc/picket/var/h.db"))
        );
        assert_eq!((m.history_max_age_days, m.history_max_rows), (7, 10));
        assert_eq!(
            (m.max_concurrent_notifications, m.max_concurrent_checks),
            (32, 8)
        );
        let d = MainConfig::default();
        assert_eq!(
            (d.max_concurrent_notifications, d.history_max_age_days),
            (0, 90)
        );
        assert_eq!(d.web_max_connections, 0);
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let (_, diags) = parse(
            "log_file=x\nmax_concurrent_notifications=many\nweb_listen=nowhere\nweb_max_connections=-1\n",
        );
        assert_eq!(diags.len(), 3, "{diags:?}");
        assert!(
            diags[0].contains("/etc/picket/picket.cfg:2")
                && diags[0].contains("max_concurrent_notifications"),
            "{diags:?}"
        );
        assert!(diags[1].contains("/etc/picket/picket.cfg:3"), "{diags:?}");
        assert!(
            diags[2].contains("/etc/picket/picket.cfg:4")
                && diags[2].contains("web_max_connections"),
            "{diags:?}"
        );
    }
}
