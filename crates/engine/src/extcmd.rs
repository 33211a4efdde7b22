//! The typed external-command parser: the arguments of a `NAME;arg;arg…` line (already
//! split by [`crate::commands::split_line`] and named by [`CommandName::parse`]) become
//! an [`ExternalCommand`] with typed fields. Sans-I/O and without the engine: nothing is
//! looked up here, so an unknown host is the handler's failure, a missing field the
//! parser's; both end as today's `Error: External command failed` lines. Every
//! [`CommandName`] has a typed form.
//!
//! Numbers are read as Nagios 4.4.6 reads them (`atoi`/`strtol`: leading digits, else
//! 0), flags are `atoi(x) > 0`; the last field of every command takes the rest of the
//! line, `;` included.

use crate::Request;
use crate::commands::{CommandName, atoi, strtol};
use crate::status::Time;

/// A command failed: its fields did not parse (too few of them, an id of 0), or its
/// object was not found or it could not be applied (logged as `Command failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Command failed")]
pub struct CommandFailed;

/// An object as a command names it (looked up by the handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjName<'a> {
    /// `host_name`.
    Host(&'a str),
    /// `host_name;service_description`.
    Service(&'a str, &'a str),
}

impl<'a> ObjName<'a> {
    /// The host's name.
    pub fn host(self) -> &'a str {
        match self {
            ObjName::Host(h) | ObjName::Service(h, _) => h,
        }
    }

    /// The service's description, if a service is named.
    pub fn service(self) -> Option<&'a str> {
        match self {
            ObjName::Host(_) => None,
            ObjName::Service(_, s) => Some(s),
        }
    }
}

/// A per-object switch (`ENABLE_*` / `DISABLE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// `*_NOTIFICATIONS`.
    Notifications,
    /// `*_CHECK(S)` (active checks).
    ActiveChecks,
    /// `*_PASSIVE_*_CHECKS`.
    PassiveChecks,
    /// `*_EVENT_HANDLER`.
    EventHandler,
    /// `*_FLAP_DETECTION`.
    FlapDetection,
}

/// A program-wide switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramSwitch {
    /// `ENABLE_NOTIFICATIONS`.
    Notifications,
    /// `START_ACCEPTING_PASSIVE_SVC_CHECKS`.
    AcceptPassiveServiceChecks,
    /// `START_ACCEPTING_PASSIVE_HOST_CHECKS`.
    AcceptPassiveHostChecks,
    /// `ENABLE_EVENT_HANDLERS`.
    EventHandlers,
    /// `ENABLE_FLAP_DETECTION`.
    FlapDetection,
    /// `START_EXECUTING_SVC_CHECKS`.
    ExecuteServiceChecks,
    /// `START_EXECUTING_HOST_CHECKS`.
    ExecuteHostChecks,
    /// `ENABLE_SERVICE_FRESHNESS_CHECKS`.
    ServiceFreshness,
    /// `ENABLE_HOST_FRESHNESS_CHECKS`.
    HostFreshness,
}

/// A group as a command names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupName<'a> {
    /// `hostgroup_name`.
    Host(&'a str),
    /// `servicegroup_name`.
    Service(&'a str),
}

/// What a `CHANGE_*` command changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// A custom variable (`_NAME`, case-insensitive).
    CustomVar {
        /// The variable's name.
        name: &'a str,
        /// The new value.
        value: &'a str,
    },
    /// `max_check_attempts`.
    MaxCheckAttempts(u32),
    /// `notification_period`, by name.
    NotificationTimeperiod(&'a str),
}

/// The fields of a `SCHEDULE_*_DOWNTIME` command after the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DowntimeSpec<'a> {
    /// `start_time`.
    pub start: Time,
    /// `end_time`.
    pub end: Time,
    /// `fixed`.
    pub fixed: bool,
    /// `trigger_id` (0: none).
    pub trigger: u64,
    /// `duration` (flexible downtime).
    pub duration: Time,
    /// `author`.
    pub author: &'a str,
    /// `comment`.
    pub comment: &'a str,
}

/// One external command with its arguments typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalCommand<'a> {
    /// `PROCESS_SERVICE_CHECK_RESULT` / `PROCESS_HOST_CHECK_RESULT`.
    CheckResult {
        /// The object (a host may be named by its address).
        target: ObjName<'a>,
        /// The plugin return code, as written.
        return_code: i64,
        /// The output, `\n` escapes as on the wire.
        output: &'a str,
        /// The line's `[timestamp]`.
        check_time: Time,
    },
    /// `ACKNOWLEDGE_SVC_PROBLEM` / `ACKNOWLEDGE_HOST_PROBLEM`.
    Acknowledge {
        /// The object.
        target: ObjName<'a>,
        /// `sticky` = 2.
        sticky: bool,
        /// `notify`.
        notify: bool,
        /// `persistent`.
        persistent: bool,
        /// `author`.
        author: &'a str,
        /// `comment`.
        comment: &'a str,
    },
    /// `REMOVE_SVC_ACKNOWLEDGEMENT` / `REMOVE_HOST_ACKNOWLEDGEMENT`.
    RemoveAcknowledgement(ObjName<'a>),
    /// `SCHEDULE_SVC_DOWNTIME` / `SCHEDULE_HOST_DOWNTIME`; with `services` set,
    /// `SCHEDULE_HOST_SVC_DOWNTIME` (one downtime per service of the host).
    ScheduleDowntime {
        /// The object.
        target: ObjName<'a>,
        /// Every service of the host instead of the host.
        services: bool,
        /// The downtime.
        spec: DowntimeSpec<'a>,
    },
    /// `DEL_SVC_DOWNTIME` / `DEL_HOST_DOWNTIME`.
    DeleteDowntime {
        /// The downtime id (> 0).
        id: u64,
        /// `DEL_SVC_DOWNTIME`: only a service downtime is deleted.
        service: bool,
    },
    /// `ENABLE_*` / `DISABLE_*` on one host or service.
    SetSwitch {
        /// The object.
        target: ObjName<'a>,
        /// What is switched.
        switch: Switch,
        /// Enable.
        on: bool,
    },
    /// `ENABLE_HOST_SVC_NOTIFICATIONS`, `ENABLE_HOST_SVC_CHECKS` and their `DISABLE_*`:
    /// on every service of a host.
    SetServicesSwitch {
        /// The host.
        host: &'a str,
        /// What is switched.
        switch: Switch,
        /// Enable.
        on: bool,
    },
    /// `ENABLE_CONTACT(GROUP)_{SVC,HOST}_NOTIFICATIONS` and their `DISABLE_*`.
    ContactNotifications {
        /// The contact or contact group.
        name: &'a str,
        /// `name` is a contact group.
        group: bool,
        /// Service notifications (else host notifications).
        service: bool,
        /// Enable.
        on: bool,
    },
    /// A program-wide switch.
    SetProgramSwitch {
        /// What is switched.
        switch: ProgramSwitch,
        /// Enable (start).
        on: bool,
    },
    /// `SEND_CUSTOM_SVC_NOTIFICATION` / `SEND_CUSTOM_HOST_NOTIFICATION`.
    CustomNotification {
        /// The object.
        target: ObjName<'a>,
        /// The option bits (0..=255).
        options: u32,
        /// `author`.
        author: &'a str,
        /// `comment`.
        comment: &'a str,
    },
    /// `ADD_SVC_COMMENT` / `ADD_HOST_COMMENT`.
    AddComment {
        /// The object.
        target: ObjName<'a>,
        /// `persistent`.
        persistent: bool,
        /// `author`.
        author: &'a str,
        /// `comment`.
        comment: &'a str,
    },
    /// `DEL_SVC_COMMENT` / `DEL_HOST_COMMENT`: the comment id (> 0).
    DeleteComment(u64),
    /// `DEL_ALL_SVC_COMMENTS` / `DEL_ALL_HOST_COMMENTS`.
    DeleteAllComments(ObjName<'a>),
    /// `DELAY_SVC_NOTIFICATION` / `DELAY_HOST_NOTIFICATION`.
    DelayNotification {
        /// The object.
        target: ObjName<'a>,
        /// The next notification's time.
        time: Time,
    },
    /// `SCHEDULE_(FORCED_)SVC_CHECK` / `SCHEDULE_(FORCED_)HOST_CHECK`; with `services`
    /// set, `SCHEDULE_(FORCED_)HOST_SVC_CHECKS`.
    ScheduleCheck {
        /// The object.
        target: ObjName<'a>,
        /// Every service of the host instead of the host.
        services: bool,
        /// When.
        time: Time,
        /// `FORCED`.
        forced: bool,
    },
    /// `SAVE_STATE_INFORMATION`, `SHUTDOWN_PROGRAM`, `RESTART_PROGRAM`, `PROCESS_FILE`:
    /// a request to the daemon.
    Request(Request),
    /// `ENABLE_HOSTGROUP_*` / `ENABLE_SERVICEGROUP_*` and their `DISABLE_*`.
    GroupSwitch {
        /// The group.
        group: GroupName<'a>,
        /// On the services (`_SVC_`) rather than the hosts.
        services: bool,
        /// What is switched.
        switch: Switch,
        /// Enable.
        on: bool,
    },
    /// `SCHEDULE_{HOSTGROUP,SERVICEGROUP}_{HOST,SVC}_DOWNTIME`.
    GroupDowntime {
        /// The group.
        group: GroupName<'a>,
        /// On the services rather than the hosts.
        services: bool,
        /// The downtime.
        spec: DowntimeSpec<'a>,
    },
    /// `SCHEDULE_AND_PROPAGATE_(TRIGGERED_)HOST_DOWNTIME`: the host and every host
    /// below it.
    PropagateDowntime {
        /// The host.
        host: &'a str,
        /// The children's downtimes are triggered by the host's.
        triggered: bool,
        /// The downtime.
        spec: DowntimeSpec<'a>,
    },
    /// `DEL_DOWNTIME_BY_HOST_NAME;host[;service[;start[;comment]]]`.
    DeleteDowntimeByHost {
        /// The host (not empty).
        host: &'a str,
        /// Only this service's.
        service: Option<&'a str>,
        /// Only those starting then (0: any).
        start: Time,
        /// Only those with this comment.
        comment: Option<&'a str>,
    },
    /// `DEL_DOWNTIME_BY_HOSTGROUP_NAME`.
    DeleteDowntimeByHostgroup(&'a str),
    /// `CHANGE_CUSTOM_*_VAR`, `CHANGE_MAX_*_CHECK_ATTEMPTS`,
    /// `CHANGE_*_NOTIFICATION_TIMEPERIOD`.
    Change {
        /// The object.
        target: ObjName<'a>,
        /// What changes.
        change: Change<'a>,
    },
}

/// Split `args` into `n` fields on `;`, the last one taking the rest of the line.
pub(crate) fn fields<const N: usize>(args: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut rest = args;
    for (i, slot) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *slot = rest;
        } else {
            let p = rest.find(';')?;
            *slot = &rest[..p];
            rest = &rest[p + 1..];
        }
    }
    Some(out)
}

fn flag(s: &str) -> bool {
    atoi(s) > 0
}

/// The first field (commands that name one host or contact and ignore the rest).
fn first(args: &str) -> &str {
    args.split(';').next().unwrap_or("")
}

fn positive_id(s: &str) -> Result<u64, CommandFailed> {
    let id = strtol(s);
    if id <= 0 {
        Err(CommandFailed)
    } else {
        Ok(id as u64)
    }
}

fn downtime(f: [&str; 7]) -> DowntimeSpec<'_> {
    let [start, end, fixed, trig, dur, author, comment] = f;
    DowntimeSpec {
        start: strtol(start),
        end: strtol(end),
        fixed: flag(fixed),
        trigger: strtol(trig).max(0) as u64,
        duration: strtol(dur),
        author,
        comment,
    }
}

impl<'a> ExternalCommand<'a> {
    /// Parse the arguments of command `name` (everything after `NAME;`); `entry_time` is
    /// the line's `[timestamp]`.
    pub fn parse(
        name: CommandName,
        entry_time: Time,
        args: &'a str,
    ) -> Result<ExternalCommand<'a>, CommandFailed> {
        use CommandName as C;
        use ExternalCommand as E;
        let e = CommandFailed;
        let svc2 = |args: &'a str| fields::<2>(args).map(|[h, s]| ObjName::Service(h, s));
        Ok(match name {
            C::ProcessServiceCheckResult => {
                let [h, s, rc, output] = fields::<4>(args).ok_or(e)?;
                E::CheckResult {
                    target: ObjName::Service(h, s),
                    return_code: atoi(rc),
                    output,
                    check_time: entry_time,
                }
            }
            C::ProcessHostCheckResult => {
                let [h, rc, output] = fields::<3>(args).ok_or(e)?;
                E::CheckResult {
                    target: ObjName::Host(h),
                    return_code: atoi(rc),
                    output,
                    check_time: entry_time,
                }
            }
            C::AcknowledgeSvcProblem | C::AcknowledgeHostProblem => {
                let (target, [sticky, notify, persistent, author, comment]) =
                    if name == C::AcknowledgeSvcProblem {
                        let [h, s, a, b, c, d, f] = fields::<7>(args).ok_or(e)?;
                        (ObjName::Service(h, s), [a, b, c, d, f])
                    } else {
                        let [h, a, b, c, d, f] = fields::<6>(args).ok_or(e)?;
                        (ObjName::Host(h), [a, b, c, d, f])
                    };
                E::Acknowledge {
                    target,
                    sticky: atoi(sticky) == 2,
                    notify: flag(notify),
                    persistent: flag(persistent),
                    author,
                    comment,
                }
            }
            C::RemoveSvcAcknowledgement => E::RemoveAcknowledgement(svc2(args).ok_or(e)?),
            // The whole rest of the line is the host's name.
            C::RemoveHostAcknowledgement => E::RemoveAcknowledgement(ObjName::Host(args)),
            C::ScheduleSvcDowntime => {
                let [h, s, a, b, c, d, f, g, i] = fields::<9>(args).ok_or(e)?;
                E::ScheduleDowntime {
                    target: ObjName::Service(h, s),
                    services: false,
                    spec: downtime([a, b, c, d, f, g, i]),
                }
            }
            C::ScheduleHostDowntime | C::ScheduleHostSvcDowntime => {
                let [h, a, b, c, d, f, g, i] = fields::<8>(args).ok_or(e)?;
                E::ScheduleDowntime {
                    target: ObjName::Host(h),
                    services: name == C::ScheduleHostSvcDowntime,
                    spec: downtime([a, b, c, d, f, g, i]),
                }
            }
            C::DelSvcDowntime | C::DelHostDowntime => E::DeleteDowntime {
                id: positive_id(args)?,
                service: name == C::DelSvcDowntime,
            },
            C::EnableSvcNotifications
            | C::DisableSvcNotifications
            | C::EnablePassiveSvcChecks
            | C::DisablePassiveSvcChecks
            | C::EnableSvcEventHandler
            | C::DisableSvcEventHandler
            | C::EnableSvcFlapDetection
            | C::DisableSvcFlapDetection
            | C::EnableSvcCheck
            | C::DisableSvcCheck => E::SetSwitch {
                target: svc2(args).ok_or(e)?,
                switch: object_switch(name),
                on: name.as_str().starts_with("ENABLE_"),
            },
            C::EnableHostNotifications
            | C::DisableHostNotifications
            | C::EnablePassiveHostChecks
            | C::DisablePassiveHostChecks
            | C::EnableHostEventHandler
            | C::DisableHostEventHandler
            | C::EnableHostFlapDetection
            | C::DisableHostFlapDetection
            | C::EnableHostCheck
            | C::DisableHostCheck => E::SetSwitch {
                target: ObjName::Host(first(args)),
                switch: object_switch(name),
                on: name.as_str().starts_with("ENABLE_"),
            },
            C::EnableHostSvcNotifications
            | C::DisableHostSvcNotifications
            | C::EnableHostSvcChecks
            | C::DisableHostSvcChecks => E::SetServicesSwitch {
                host: first(args),
                switch: object_switch(name),
                on: name.as_str().starts_with("ENABLE_"),
            },
            C::EnableContactSvcNotifications
            | C::DisableContactSvcNotifications
            | C::EnableContactHostNotifications
            | C::DisableContactHostNotifications
            | C::EnableContactgroupSvcNotifications
            | C::DisableContactgroupSvcNotifications
            | C::EnableContactgroupHostNotifications
            | C::DisableContactgroupHostNotifications => {
                // process_external_command2(): the first argument names the contact or
                // contact group.
                let n = name.as_str();
                E::ContactNotifications {
                    name: first(args),
                    group: n.contains("_CONTACTGROUP_"),
                    service: n.contains("_SVC_"),
                    on: n.starts_with("ENABLE_"),
                }
            }
            C::EnableNotifications | C::DisableNotifications => {
                program(ProgramSwitch::Notifications, name)
            }
            C::StartAcceptingPassiveSvcChecks | C::StopAcceptingPassiveSvcChecks => {
                program(ProgramSwitch::AcceptPassiveServiceChecks, name)
            }
            C::StartAcceptingPassiveHostChecks | C::StopAcceptingPassiveHostChecks => {
                program(ProgramSwitch::AcceptPassiveHostChecks, name)
            }
            C::EnableEventHandlers | C::DisableEventHandlers => {
                program(ProgramSwitch::EventHandlers, name)
            }
            C::EnableFlapDetection | C::DisableFlapDetection => {
                program(ProgramSwitch::FlapDetection, name)
            }
            C::StartExecutingSvcChecks | C::StopExecutingSvcChecks => {
                program(ProgramSwitch::ExecuteServiceChecks, name)
            }
            C::StartExecutingHostChecks | C::StopExecutingHostChecks => {
                program(ProgramSwitch::ExecuteHostChecks, name)
            }
            C::EnableServiceFreshnessChecks | C::DisableServiceFreshnessChecks => {
                program(ProgramSwitch::ServiceFreshness, name)
            }
            C::EnableHostFreshnessChecks | C::DisableHostFreshnessChecks => {
                program(ProgramSwitch::HostFreshness, name)
            }
            C::SendCustomSvcNotification | C::SendCustomHostNotification => {
                let (target, [opts, author, comment]) = if name == C::SendCustomSvcNotification {
                    let [h, s, a, b, c] = fields::<5>(args).ok_or(e)?;
                    (ObjName::Service(h, s), [a, b, c])
                } else {
                    let [h, a, b, c] = fields::<4>(args).ok_or(e)?;
                    (ObjName::Host(h), [a, b, c])
                };
                E::CustomNotification {
                    target,
                    options: atoi(opts).clamp(0, 255) as u32,
                    author,
                    comment,
                }
            }
            C::AddSvcComment | C::AddHostComment => {
                let (target, [persistent, author, comment]) = if name == C::AddSvcComment {
                    let [h, s, a, b, c] = fields::<5>(args).ok_or(e)?;
                    (ObjName::Service(h, s), [a, b, c])
                } else {
                    let [h, a, b, c] = fields::<4>(args).ok_or(e)?;
                    (ObjName::Host(h), [a, b, c])
                };
                E::AddComment {
                    target,
                    persistent: flag(persistent),
                    author,
                    comment,
                }
            }
            // cmd_delete_comment(): only a zero (or non-numeric) id fails.
            C::DelSvcComment | C::DelHostComment => E::DeleteComment(positive_id(args)?),
            C::DelAllSvcComments => E::DeleteAllComments(svc2(args).ok_or(e)?),
            C::DelAllHostComments => E::DeleteAllComments(ObjName::Host(args)),
            C::DelaySvcNotification => {
                let [h, s, t] = fields::<3>(args).ok_or(e)?;
                E::DelayNotification {
                    target: ObjName::Service(h, s),
                    time: strtol(t),
                }
            }
            C::DelayHostNotification => {
                let [h, t] = fields::<2>(args).ok_or(e)?;
                E::DelayNotification {
                    target: ObjName::Host(h),
                    time: strtol(t),
                }
            }
            C::ScheduleSvcCheck | C::ScheduleForcedSvcCheck => {
                let [h, s, t] = fields::<3>(args).ok_or(e)?;
                E::ScheduleCheck {
                    target: ObjName::Service(h, s),
                    services: false,
                    time: strtol(t),
                    forced: name == C::ScheduleForcedSvcCheck,
                }
            }
            C::ScheduleHostCheck
            | C::ScheduleForcedHostCheck
            | C::ScheduleHostSvcChecks
            | C::ScheduleForcedHostSvcChecks => {
                let [h, t] = fields::<2>(args).ok_or(e)?;
                E::ScheduleCheck {
                    target: ObjName::Host(h),
                    services: matches!(
                        name,
                        C::ScheduleHostSvcChecks | C::ScheduleForcedHostSvcChecks
                    ),
                    time: strtol(t),
                    forced: name.as_str().starts_with("SCHEDULE_FORCED_"),
                }
            }
            C::SaveStateInformation => E::Request(Request::SaveState),
            C::ShutdownProgram => E::Request(Request::Shutdown),
            C::RestartProgram => E::Request(Request::Restart),
            C::ProcessFile => {
                // cmd_process_external_commands_from_file(): both fields required.
                let [path, delete] = fields::<2>(args).ok_or(e)?;
                E::Request(Request::ProcessFile {
                    path: path.to_owned(),
                    delete: atoi(delete) != 0,
                })
            }
            C::ScheduleHostgroupHostDowntime
            | C::ScheduleHostgroupSvcDowntime
            | C::ScheduleServicegroupHostDowntime
            | C::ScheduleServicegroupSvcDowntime => {
                let [g, a, b, c, d, f, h, i] = fields::<8>(args).ok_or(e)?;
                E::GroupDowntime {
                    group: group_name(name, g),
                    services: name.as_str().ends_with("_SVC_DOWNTIME"),
                    spec: downtime([a, b, c, d, f, h, i]),
                }
            }
            C::ScheduleAndPropagateHostDowntime | C::ScheduleAndPropagateTriggeredHostDowntime => {
                let [host, a, b, c, d, f, g, i] = fields::<8>(args).ok_or(e)?;
                E::PropagateDowntime {
                    host,
                    triggered: name == C::ScheduleAndPropagateTriggeredHostDowntime,
                    spec: downtime([a, b, c, d, f, g, i]),
                }
            }
            C::DelDowntimeByHostName => {
                let mut it = args.split(';');
                let host = it.next().unwrap_or("");
                let service = it.next().filter(|s| !s.is_empty());
                let start = it.next().map(strtol).unwrap_or(0);
                let comment = it.next().filter(|s| !s.is_empty());
                if host.is_empty() {
                    return Err(e);
                }
                E::DeleteDowntimeByHost {
                    host,
                    service,
                    start,
                    comment,
                }
            }
            C::DelDowntimeByHostgroupName => E::DeleteDowntimeByHostgroup(first(args)),
            C::ChangeCustomSvcVar
            | C::ChangeCustomHostVar
            | C::ChangeMaxSvcCheckAttempts
            | C::ChangeMaxHostCheckAttempts
            | C::ChangeSvcNotificationTimeperiod
            | C::ChangeHostNotificationTimeperiod => {
                // The object, then the rest of the line.
                let (target, rest) = if name.as_str().contains("_SVC_") {
                    let [h, s, rest] = fields::<3>(args).ok_or(e)?;
                    (ObjName::Service(h, s), rest)
                } else {
                    let [h, rest] = fields::<2>(args).ok_or(e)?;
                    (ObjName::Host(h), rest)
                };
                let change = match name {
                    C::ChangeCustomSvcVar | C::ChangeCustomHostVar => {
                        let [name, value] = fields::<2>(rest).ok_or(e)?;
                        Change::CustomVar { name, value }
                    }
                    C::ChangeMaxSvcCheckAttempts | C::ChangeMaxHostCheckAttempts => {
                        Change::MaxCheckAttempts(strtol(rest).clamp(0, i64::from(u32::MAX)) as u32)
                    }
                    _ => Change::NotificationTimeperiod(rest),
                };
                E::Change { target, change }
            }
            _ if name.is_bulk() => {
                // ENABLE_/DISABLE_ on a host group or service group.
                let n = name.as_str();
                E::GroupSwitch {
                    group: group_name(name, first(args)),
                    services: n.contains("_SVC_"),
                    switch: object_switch(name),
                    on: n.starts_with("ENABLE_"),
                }
            }
            _ => return Err(e),
        })
    }
}

/// The per-object switch an `ENABLE_*` / `DISABLE_*` command name sets.
fn object_switch(name: CommandName) -> Switch {
    let n = name.as_str();
    if n.contains("PASSIVE") {
        Switch::PassiveChecks
    } else if n.ends_with("_NOTIFICATIONS") {
        Switch::Notifications
    } else if n.ends_with("_EVENT_HANDLER") {
        Switch::EventHandler
    } else if n.ends_with("_FLAP_DETECTION") {
        Switch::FlapDetection
    } else {
        Switch::ActiveChecks
    }
}

fn group_name(name: CommandName, group: &str) -> GroupName<'_> {
    if name.as_str().contains("HOSTGROUP") {
        GroupName::Host(group)
    } else {
        GroupName::Service(group)
    }
}

fn program(switch: ProgramSwitch, name: CommandName) -> ExternalCommand<'static> {
    let n = name.as_str();
    ExternalCommand::SetProgramSwitch {
        switch,
        on: n.starts_with("ENABLE_") || n.starts_with("START_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, args: &str) -> Result<ExternalCommand<'static>, CommandFailed> {
        let name = CommandName::parse(name).expect("known name");
        let args: &'static str = Box::leak(args.to_owned().into_boxed_str());
        ExternalCommand::parse(name, 7, args)
    }

    #[test]
    fn check_results_keep_the_rest_of_the_line() {
        assert_eq!(
            p(
                "PROCESS_SERVICE_CHECK_RESULT",
                "h;s;2;out;with;semicolons|p=1"
            ),
            Ok(ExternalCommand::CheckResult {
                target: ObjName::Service("h", "s"),
                return_code: 2,
                output: "out;with;semicolons|p=1",
                check_time: 7,
            })
        );
        assert_eq!(
            p("PROCESS_HOST_CHECK_RESULT", "h;x;"),
            Ok(ExternalCommand::CheckResult {
                target: ObjName::Host("h"),
                return_code: 0,
                output: "",
                check_time: 7,
            })
        );
        assert_eq!(
            p("PROCESS_SERVICE_CHECK_RESULT", "h;s;2"),
            Err(CommandFailed)
        );
        assert_eq!(p("PROCESS_HOST_CHECK_RESULT", "h"), Err(CommandFailed));
    }

    #[test]
    fn acknowledgements_and_downtime() {
        assert_eq!(
            p("ACKNOWLEDGE_SVC_PROBLEM", "h;s;2;1;0;me;a;b"),
            Ok(ExternalCommand::Acknowledge {
                target: ObjName::Service("h", "s"),
                sticky: true,
                notify: true,
                persistent: false,
                author: "me",
                comment: "a;b",
            })
        );
        assert_eq!(
            p("ACKNOWLEDGE_HOST_PROBLEM", "h;1;1;1;me"),
            Err(CommandFailed)
        );
        assert_eq!(
            p("REMOVE_HOST_ACKNOWLEDGEMENT", "h;ignored"),
            Ok(ExternalCommand::RemoveAcknowledgement(ObjName::Host(
                "h;ignored"
            )))
        );
        assert_eq!(
            p("SCHEDULE_HOST_SVC_DOWNTIME", "h;10;20;0;-3;600;me;why"),
            Ok(ExternalCommand::ScheduleDowntime {
                target: ObjName::Host("h"),
                services: true,
                spec: DowntimeSpec {
                    start: 10,
                    end: 20,
                    fixed: false,
                    trigger: 0,
                    duration: 600,
                    author: "me",
                    comment: "why",
                },
            })
        );
        assert_eq!(p("DEL_HOST_DOWNTIME", "0"), Err(CommandFailed));
        assert_eq!(p("DEL_SVC_COMMENT", "x"), Err(CommandFailed));
        assert_eq!(
            p("DEL_SVC_DOWNTIME", "12"),
            Ok(ExternalCommand::DeleteDowntime {
                id: 12,
                service: true
            })
        );
    }

    #[test]
    fn switches() {
        assert_eq!(
            p("DISABLE_SVC_FLAP_DETECTION", "h;s"),
            Ok(ExternalCommand::SetSwitch {
                target: ObjName::Service("h", "s"),
                switch: Switch::FlapDetection,
                on: false,
            })
        );
        assert_eq!(p("ENABLE_SVC_CHECK", "h"), Err(CommandFailed));
        assert_eq!(
            p("enable_host_check", "h;more"),
            Ok(ExternalCommand::SetSwitch {
                target: ObjName::Host("h"),
                switch: Switch::ActiveChecks,
                on: true,
            })
        );
        assert_eq!(
            p("DISABLE_HOST_SVC_NOTIFICATIONS", "h"),
            Ok(ExternalCommand::SetServicesSwitch {
                host: "h",
                switch: Switch::Notifications,
                on: false,
            })
        );
        assert_eq!(
            p("ENABLE_PASSIVE_HOST_CHECKS", "h"),
            Ok(ExternalCommand::SetSwitch {
                target: ObjName::Host("h"),
                switch: Switch::PassiveChecks,
                on: true,
            })
        );
        assert_eq!(
            p("DISABLE_CONTACTGROUP_HOST_NOTIFICATIONS", "admins"),
            Ok(ExternalCommand::ContactNotifications {
                name: "admins",
                group: true,
                service: false,
                on: false,
            })
        );
        assert_eq!(
            p("STOP_ACCEPTING_PASSIVE_SVC_CHECKS", ""),
            Ok(ExternalCommand::SetProgramSwitch {
                switch: ProgramSwitch::AcceptPassiveServiceChecks,
                on: false,
            })
        );
        assert_eq!(
            p("START_EXECUTING_HOST_CHECKS", ""),
            Ok(ExternalCommand::SetProgramSwitch {
                switch: ProgramSwitch::ExecuteHostChecks,
                on: true,
            })
        );
    }

    #[test]
    fn checks_requests_and_groups() {
        assert_eq!(
            p("SCHEDULE_FORCED_HOST_SVC_CHECKS", "h;99"),
            Ok(ExternalCommand::ScheduleCheck {
                target: ObjName::Host("h"),
                services: true,
                time: 99,
                forced: true,
            })
        );
        assert_eq!(
            p("SEND_CUSTOM_SVC_NOTIFICATION", "h;s;300;me;hi"),
            Ok(ExternalCommand::CustomNotification {
                target: ObjName::Service("h", "s"),
                options: 255,
                author: "me",
                comment: "hi",
            })
        );
        assert_eq!(
            p("PROCESS_FILE", "/tmp/x;1"),
            Ok(ExternalCommand::Request(Request::ProcessFile {
                path: "/tmp/x".into(),
                delete: true,
            }))
        );
        assert_eq!(p("PROCESS_FILE", "/tmp/x"), Err(CommandFailed));
        assert_eq!(
            p("ENABLE_HOSTGROUP_SVC_CHECKS", "g;x"),
            Ok(ExternalCommand::GroupSwitch {
                group: GroupName::Host("g"),
                services: true,
                switch: Switch::ActiveChecks,
                on: true,
            })
        );
        assert_eq!(
            p("DISABLE_SERVICEGROUP_PASSIVE_HOST_CHECKS", "g"),
            Ok(ExternalCommand::GroupSwitch {
                group: GroupName::Service("g"),
                services: false,
                switch: Switch::PassiveChecks,
                on: false,
            })
        );
        assert_eq!(
            p("DEL_DOWNTIME_BY_HOST_NAME", "h;;5;a;b"),
            Ok(ExternalCommand::DeleteDowntimeByHost {
                host: "h",
                service: None,
                start: 5,
                comment: Some("a"),
            })
        );
        assert_eq!(p("DEL_DOWNTIME_BY_HOST_NAME", ""), Err(CommandFailed));
        assert_eq!(
            p("CHANGE_CUSTOM_SVC_VAR", "h;s;_X;v;w"),
            Ok(ExternalCommand::Change {
                target: ObjName::Service("h", "s"),
                change: Change::CustomVar {
                    name: "_X",
                    value: "v;w"
                },
            })
        );
        assert_eq!(p("CHANGE_CUSTOM_HOST_VAR", "h;_X"), Err(CommandFailed));
        assert_eq!(
            p("CHANGE_MAX_HOST_CHECK_ATTEMPTS", "h;-4"),
            Ok(ExternalCommand::Change {
                target: ObjName::Host("h"),
                change: Change::MaxCheckAttempts(0),
            })
        );
    }
}
