//! The external command language: `[<epoch>] NAME;arg;arg…` (`process_external_command1()`).

/// A line split into its parts (nothing looked up yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawCommand<'a> {
    /// The `[timestamp]`: the entry time (for check results, the check time).
    pub entry_time: i64,
    /// The name as written.
    pub name: &'a str,
    /// Everything after the first `;` (empty when there is none).
    pub args: &'a str,
    /// The whole line without its line ending, as logged in error lines.
    pub raw: &'a str,
}

/// Why a line is not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// No `[` first or no `]`.
    #[error("Malformed command")]
    Malformed,
}

/// `strtoul`-like: leading blanks, digits; anything else stops; no digits gives 0.
pub(crate) fn strtol(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in t.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

/// `atoi`.
pub(crate) fn atoi(s: &str) -> i64 {
    strtol(s)
}

/// Split one line (without its `\n`).
pub fn split_line(line: &str) -> Result<RawCommand<'_>, LineError> {
    let raw = line.trim_end_matches(['\r', '\n']);
    let rest = raw.strip_prefix('[').ok_or(LineError::Malformed)?;
    let close = rest.find(']').ok_or(LineError::Malformed)?;
    let entry_time = strtol(&rest[..close]);
    // Exactly one character (normally a space) follows `]`.
    let after = &rest[close + 1..];
    let mut chars = after.chars();
    chars.next();
    let body = chars.as_str();
    let (name, args) = match body.find(';') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    Ok(RawCommand {
        entry_time,
        name,
        args,
        raw,
    })
}

macro_rules! commands {
    ($($variant:ident = $name:literal,)*) => {
        /// The external commands Picket knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum CommandName {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl CommandName {
            /// Look a name up, case-insensitively.
            pub fn parse(name: &str) -> Option<CommandName> {
                // The hot path: check results, spelled as usual.
                if name == "PROCESS_SERVICE_CHECK_RESULT" {
                    return Some(CommandName::ProcessServiceCheckResult);
                }
                let mut buf = [0u8; 64];
                let b = name.as_bytes();
                if b.len() > buf.len() {
                    return None;
                }
                for (d, s) in buf.iter_mut().zip(b) {
                    *d = s.to_ascii_uppercase();
                }
                let up = std::str::from_utf8(&buf[..b.len()]).ok()?;
                Some(match up {
                    $($name => CommandName::$variant,)*
                    _ => return None,
                })
            }

            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CommandName::$variant => $name,)*
                }
            }
        }
    };
}

commands! {
    ProcessServiceCheckResult = "PROCESS_SERVICE_CHECK_RESULT",
    ProcessHostCheckResult = "PROCESS_HOST_CHECK_RESULT",
    AcknowledgeSvcProblem = "ACKNOWLEDGE_SVC_PROBLEM",
    AcknowledgeHostProblem = "ACKNOWLEDGE_HOST_PROBLEM",
    RemoveSvcAcknowledgement = "REMOVE_SVC_ACKNOWLEDGEMENT",
    RemoveHostAcknowledgement = "REMOVE_HOST_ACKNOWLEDGEMENT",
    ScheduleSvcDowntime = "SCHEDULE_SVC_DOWNTIME",
    ScheduleHostDowntime = "SCHEDULE_HOST_DOWNTIME",
    ScheduleHostSvcDowntime = "SCHEDULE_HOST_SVC_DOWNTIME",
    DelSvcDowntime = "DEL_SVC_DOWNTIME",
    DelHostDowntime = "DEL_HOST_DOWNTIME",
    EnableContactSvcNotifications = "ENABLE_CONTACT_SVC_NOTIFICATIONS",
    DisableContactSvcNotifications = "DISABLE_CONTACT_SVC_NOTIFICATIONS",
    EnableContactHostNotifications = "ENABLE_CONTACT_HOST_NOTIFICATIONS",
    DisableContactHostNotifications = "DISABLE_CONTACT_HOST_NOTIFICATIONS",
    EnableContactgroupSvcNotifications = "ENABLE_CONTACTGROUP_SVC_NOTIFICATIONS",
    DisableContactgroupSvcNotifications = "DISABLE_CONTACTGROUP_SVC_NOTIFICATIONS",
    EnableContactgroupHostNotifications = "ENABLE_CONTACTGROUP_HOST_NOTIFICATIONS",
    DisableContactgroupHostNotifications = "DISABLE_CONTACTGROUP_HOST_NOTIFICATIONS",
    EnableSvcNotifications = "ENABLE_SVC_NOTIFICATIONS",
    DisableSvcNotifications = "DISABLE_SVC_NOTIFICATIONS",
    EnableHostNotifications = "ENABLE_HOST_NOTIFICATIONS",
    DisableHostNotifications = "DISABLE_HOST_NOTIFICATIONS",
    EnableHostSvcNotifications = "ENABLE_HOST_SVC_NOTIFICATIONS",
    DisableHostSvcNotifications = "DISABLE_HOST_SVC_NOTIFICATIONS",
    EnableNotifications = "ENABLE_NOTIFICATIONS",
    DisableNotifications = "DISABLE_NOTIFICATIONS",
    EnablePassiveSvcChecks = "ENABLE_PASSIVE_SVC_CHECKS",
    DisablePassiveSvcChecks = "DISABLE_PASSIVE_SVC_CHECKS",
    EnablePassiveHostChecks = "ENABLE_PASSIVE_HOST_CHECKS",
    DisablePassiveHostChecks = "DISABLE_PASSIVE_HOST_CHECKS",
    StartAcceptingPassiveSvcChecks = "START_ACCEPTING_PASSIVE_SVC_CHECKS",
    StopAcceptingPassiveSvcChecks = "STOP_ACCEPTING_PASSIVE_SVC_CHECKS",
    StartAcceptingPassiveHostChecks = "START_ACCEPTING_PASSIVE_HOST_CHECKS",
    StopAcceptingPassiveHostChecks = "STOP_ACCEPTING_PASSIVE_HOST_CHECKS",
    SendCustomSvcNotification = "SEND_CUSTOM_SVC_NOTIFICATION",
    SendCustomHostNotification = "SEND_CUSTOM_HOST_NOTIFICATION",
    EnableEventHandlers = "ENABLE_EVENT_HANDLERS",
    DisableEventHandlers = "DISABLE_EVENT_HANDLERS",
    EnableSvcEventHandler = "ENABLE_SVC_EVENT_HANDLER",
    DisableSvcEventHandler = "DISABLE_SVC_EVENT_HANDLER",
    EnableHostEventHandler = "ENABLE_HOST_EVENT_HANDLER",
    DisableHostEventHandler = "DISABLE_HOST_EVENT_HANDLER",
    EnableFlapDetection = "ENABLE_FLAP_DETECTION",
    DisableFlapDetection = "DISABLE_FLAP_DETECTION",
    EnableSvcFlapDetection = "ENABLE_SVC_FLAP_DETECTION",
    DisableSvcFlapDetection = "DISABLE_SVC_FLAP_DETECTION",
    EnableHostFlapDetection = "ENABLE_HOST_FLAP_DETECTION",
    DisableHostFlapDetection = "DISABLE_HOST_FLAP_DETECTION",
    AddSvcComment = "ADD_SVC_COMMENT",
    AddHostComment = "ADD_HOST_COMMENT",
    DelSvcComment = "DEL_SVC_COMMENT",
    DelHostComment = "DEL_HOST_COMMENT",
    DelAllSvcComments = "DEL_ALL_SVC_COMMENTS",
    DelAllHostComments = "DEL_ALL_HOST_COMMENTS",
    DelaySvcNotification = "DELAY_SVC_NOTIFICATION",
    DelayHostNotification = "DELAY_HOST_NOTIFICATION",
    SaveStateInformation = "SAVE_STATE_INFORMATION",
    ShutdownProgram = "SHUTDOWN_PROGRAM",
    RestartProgram = "RESTART_PROGRAM",
    ScheduleSvcCheck = "SCHEDULE_SVC_CHECK",
    ScheduleForcedSvcCheck = "SCHEDULE_FORCED_SVC_CHECK",
    ScheduleHostCheck = "SCHEDULE_HOST_CHECK",
    ScheduleForcedHostCheck = "SCHEDULE_FORCED_HOST_CHECK",
    ScheduleHostSvcChecks = "SCHEDULE_HOST_SVC_CHECKS",
    ScheduleForcedHostSvcChecks = "SCHEDULE_FORCED_HOST_SVC_CHECKS",
    EnableSvcCheck = "ENABLE_SVC_CHECK",
    DisableSvcCheck = "DISABLE_SVC_CHECK",
    EnableHostCheck = "ENABLE_HOST_CHECK",
    DisableHostCheck = "DISABLE_HOST_CHECK",
    EnableHostSvcChecks = "ENABLE_HOST_SVC_CHECKS",
    DisableHostSvcChecks = "DISABLE_HOST_SVC_CHECKS",
    StartExecutingSvcChecks = "START_EXECUTING_SVC_CHECKS",
    StopExecutingSvcChecks = "STOP_EXECUTING_SVC_CHECKS",
    StartExecutingHostChecks = "START_EXECUTING_HOST_CHECKS",
    StopExecutingHostChecks = "STOP_EXECUTING_HOST_CHECKS",
    EnableServiceFreshnessChecks = "ENABLE_SERVICE_FRESHNESS_CHECKS",
    DisableServiceFreshnessChecks = "DISABLE_SERVICE_FRESHNESS_CHECKS",
    EnableHostFreshnessChecks = "ENABLE_HOST_FRESHNESS_CHECKS",
    DisableHostFreshnessChecks = "DISABLE_HOST_FRESHNESS_CHECKS",
    ProcessFile = "PROCESS_FILE",
    EnableHostgroupHostNotifications = "ENABLE_HOSTGROUP_HOST_NOTIFICATIONS",
    DisableHostgroupHostNotifications = "DISABLE_HOSTGROUP_HOST_NOTIFICATIONS",
    EnableHostgroupSvcNotifications = "ENABLE_HOSTGROUP_SVC_NOTIFICATIONS",
    DisableHostgroupSvcNotifications = "DISABLE_HOSTGROUP_SVC_NOTIFICATIONS",
    EnableHostgroupHostChecks = "ENABLE_HOSTGROUP_HOST_CHECKS",
    DisableHostgroupHostChecks = "DISABLE_HOSTGROUP_HOST_CHECKS",
    EnableHostgroupSvcChecks = "ENABLE_HOSTGROUP_SVC_CHECKS",
    DisableHostgroupSvcChecks = "DISABLE_HOSTGROUP_SVC_CHECKS",
    EnableHostgroupPassiveHostChecks = "ENABLE_HOSTGROUP_PASSIVE_HOST_CHECKS",
    DisableHostgroupPassiveHostChecks = "DISABLE_HOSTGROUP_PASSIVE_HOST_CHECKS",
    EnableHostgroupPassiveSvcChecks = "ENABLE_HOSTGROUP_PASSIVE_SVC_CHECKS",
    DisableHostgroupPassiveSvcChecks = "DISABLE_HOSTGROUP_PASSIVE_SVC_CHECKS",
    EnableServicegroupHostNotifications = "ENABLE_SERVICEGROUP_HOST_NOTIFICATIONS",
    DisableServicegroupHostNotifications = "DISABLE_SERVICEGROUP_HOST_NOTIFICATIONS",
    EnableServicegroupSvcNotifications = "ENABLE_SERVICEGROUP_SVC_NOTIFICATIONS",
    DisableServicegroupSvcNotifications = "DISABLE_SERVICEGROUP_SVC_NOTIFICATIONS",
    EnableServicegroupHostChecks = "ENABLE_SERVICEGROUP_HOST_CHECKS",
    DisableServicegroupHostChecks = "DISABLE_SERVICEGROUP_HOST_CHECKS",
    EnableServicegroupSvcChecks = "ENABLE_SERVICEGROUP_SVC_CHECKS",
    DisableServicegroupSvcChecks = "DISABLE_SERVICEGROUP_SVC_CHECKS",
    EnableServicegroupPassiveHostChecks = "ENABLE_SERVICEGROUP_PASSIVE_HOST_CHECKS",
    DisableServicegroupPassiveHostChecks = "DISABLE_SERVICEGROUP_PASSIVE_HOST_CHECKS",
    EnableServicegroupPassiveSvcChecks = "ENABLE_SERVICEGROUP_PASSIVE_SVC_CHECKS",
    DisableServicegroupPassiveSvcChecks = "DISABLE_SERVICEGROUP_PASSIVE_SVC_CHECKS",
    ScheduleHostgroupHostDowntime = "SCHEDULE_HOSTGROUP_HOST_DOWNTIME",
    ScheduleHostgroupSvcDowntime = "SCHEDULE_HOSTGROUP_SVC_DOWNTIME",
    ScheduleServicegroupHostDowntime = "SCHEDULE_SERVICEGROUP_HOST_DOWNTIME",
    ScheduleServicegroupSvcDowntime = "SCHEDULE_SERVICEGROUP_SVC_DOWNTIME",
    ScheduleAndPropagateHostDowntime = "SCHEDULE_AND_PROPAGATE_HOST_DOWNTIME",
    ScheduleAndPropagateTriggeredHostDowntime = "SCHEDULE_AND_PROPAGATE_TRIGGERED_HOST_DOWNTIME",
    DelDowntimeByHostName = "DEL_DOWNTIME_BY_HOST_NAME",
    DelDowntimeByHostgroupName = "DEL_DOWNTIME_BY_HOSTGROUP_NAME",
    ChangeCustomSvcVar = "CHANGE_CUSTOM_SVC_VAR",
    ChangeCustomHostVar = "CHANGE_CUSTOM_HOST_VAR",
    ChangeMaxSvcCheckAttempts = "CHANGE_MAX_SVC_CHECK_ATTEMPTS",
    ChangeMaxHostCheckAttempts = "CHANGE_MAX_HOST_CHECK_ATTEMPTS",
    ChangeSvcNotificationTimeperiod = "CHANGE_SVC_NOTIFICATION_TIMEPERIOD",
    ChangeHostNotificationTimeperiod = "CHANGE_HOST_NOTIFICATION_TIMEPERIOD",
}

impl CommandName {
    /// Check-result commands are logged under `log_passive_checks`, the others under
    /// `log_external_commands`.
    pub fn is_check_result(self) -> bool {
        matches!(
            self,
            CommandName::ProcessServiceCheckResult | CommandName::ProcessHostCheckResult
        )
    }

    /// Commands on host groups, service groups, propagated downtime, downtime
    /// deletion by name and the `CHANGE_*` commands (handled in `groups.rs`).
    pub fn is_bulk(self) -> bool {
        let n = self.as_str();
        n.contains("HOSTGROUP")
            || n.contains("SERVICEGROUP")
            || n.starts_with("SCHEDULE_AND_PROPAGATE")
            || n.starts_with("DEL_DOWNTIME_BY")
            || n.starts_with("CHANGE_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_forms() {
        let c = split_line("[123] PROCESS_SERVICE_CHECK_RESULT;h;s;2;a;b\n").unwrap();
        assert_eq!(c.entry_time, 123);
        assert_eq!(c.name, "PROCESS_SERVICE_CHECK_RESULT");
        assert_eq!(c.args, "h;s;2;a;b");
        assert_eq!(c.raw, "[123] PROCESS_SERVICE_CHECK_RESULT;h;s;2;a;b");
        let c = split_line("[5] ENABLE_NOTIFICATIONS").unwrap();
        assert_eq!((c.name, c.args), ("ENABLE_NOTIFICATIONS", ""));
        assert_eq!(split_line("PROCESS;x"), Err(LineError::Malformed));
        assert_eq!(split_line("[12 PROCESS;x"), Err(LineError::Malformed));
    }

    #[test]
    fn names_case_insensitive() {
        assert_eq!(
            CommandName::parse("process_service_check_result"),
            Some(CommandName::ProcessServiceCheckResult)
        );
        assert_eq!(CommandName::parse("NO_SUCH_COMMAND"), None);
        assert_eq!(CommandName::parse(&"A".repeat(100)), None);
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("-1"), -1);
        assert_eq!(atoi(" 7x"), 7);
        assert_eq!(atoi(""), 0);
    }
}
