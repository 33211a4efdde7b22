//! Host group and service group commands, propagated host downtime and downtime
//! deletion by name (`process_hostgroup_command()`, `process_servicegroup_command()`,
//! `cmd_schedule_downtime()`, `cmd_delete_downtime_by_*()` of Nagios 4.4.6).
//!
//! Observed from nagios4 (oracle scenarios `y_comments_group_commands`,
//! `y_downtime_variants`): an unknown group or host, or a missing argument, fails the
//! command; a deletion by name that deletes nothing fails too.

use std::sync::Arc;

use picket_config::{HostId, ServiceId};

use crate::Engine;
use crate::commands::{CommandName, strtol};
use crate::extcmd::{CommandFailed, Switch, fields};
use crate::obj::Obj;
use crate::status::Time;

type CmdResult = Result<(), CommandFailed>;

impl Engine {
    fn hostgroup_members(&self, name: &str) -> Option<Vec<HostId>> {
        let g = self.cfg.hostgroup_by_name(name)?;
        Some(self.cfg.hostgroups[g.index()].members.clone())
    }

    /// The members of a service group and their hosts (each host once, in order).
    fn servicegroup_members(&self, name: &str) -> Option<(Vec<ServiceId>, Vec<HostId>)> {
        let g = self.cfg.servicegroup_by_name(name)?;
        let svcs = self.cfg.servicegroups[g.index()].members.clone();
        let mut hosts: Vec<HostId> = Vec::new();
        for &s in &svcs {
            let h = self.cfg.service(s).host;
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        Some((svcs, hosts))
    }

    /// Schedule one downtime per target with the fields of a `SCHEDULE_*_DOWNTIME`
    /// command (`start;end;fixed;trigger;duration;author;comment`).
    fn schedule_many(&mut self, now: Time, targets: &[Obj], f: [&str; 7]) -> CmdResult {
        let [start, end, fixed, trig, dur, author, comment] = f;
        for &o in targets {
            self.schedule_downtime(
                now,
                o,
                strtol(start),
                strtol(end),
                strtol(fixed) > 0,
                strtol(trig).max(0) as u64,
                strtol(dur),
                author,
                comment,
            )?;
        }
        Ok(())
    }

    /// All hosts below `hid` (children, their children, …), each once, depth first
    /// (pre-order, children in their order). An explicit stack: a parent chain can be as
    /// deep as the configuration.
    fn descendants(&self, hid: HostId, out: &mut Vec<HostId>) {
        let mut seen: std::collections::HashSet<HostId> = out.iter().copied().collect();
        seen.insert(hid);
        let mut stack: Vec<(HostId, usize)> = vec![(hid, 0)];
        while let Some(top) = stack.last_mut() {
            let (h, next) = *top;
            let children = &self.cfg.host(h).children;
            let Some(&c) = children.get(next) else {
                stack.pop();
                continue;
            };
            top.1 += 1;
            if seen.insert(c) {
                out.push(c);
                stack.push((c, 0));
            }
        }
    }

    pub(crate) fn dispatch_bulk(&mut self, now: Time, name: CommandName, args: &str) -> CmdResult {
        use CommandName as C;
        let fail = Err(CommandFailed);
        let first = args.split(';').next().unwrap_or("");
        let cfg = Arc::clone(&self.cfg);
        match name {
            C::ScheduleHostgroupHostDowntime
            | C::ScheduleHostgroupSvcDowntime
            | C::ScheduleServicegroupHostDowntime
            | C::ScheduleServicegroupSvcDowntime => {
                let Some([g, start, end, fixed, trig, dur, author, comment]) = fields::<8>(args)
                else {
                    return fail;
                };
                let f = [start, end, fixed, trig, dur, author, comment];
                let targets: Vec<Obj> = match name {
                    C::ScheduleHostgroupHostDowntime => {
                        let Some(hosts) = self.hostgroup_members(g) else {
                            return fail;
                        };
                        hosts.into_iter().map(Obj::Host).collect()
                    }
                    C::ScheduleHostgroupSvcDowntime => {
                        let Some(hosts) = self.hostgroup_members(g) else {
                            return fail;
                        };
                        hosts
                            .into_iter()
                            .flat_map(|h| cfg.host(h).services.iter().map(|&s| Obj::Service(s)))
                            .collect()
                    }
                    C::ScheduleServicegroupHostDowntime => {
                        let Some((_, hosts)) = self.servicegroup_members(g) else {
                            return fail;
                        };
                        hosts.into_iter().map(Obj::Host).collect()
                    }
                    _ => {
                        let Some((svcs, _)) = self.servicegroup_members(g) else {
                            return fail;
                        };
                        svcs.into_iter().map(Obj::Service).collect()
                    }
                };
                self.schedule_many(now, &targets, f)
            }
            C::ScheduleAndPropagateHostDowntime | C::ScheduleAndPropagateTriggeredHostDowntime => {
                let Some([h, start, end, fixed, trig, dur, author, comment]) = fields::<8>(args)
                else {
                    return fail;
                };
                let Some(hid) = self.cfg.host_by_name(h) else {
                    return fail;
                };
                // Nagios starts a due downtime from its event queue, after the command:
                // the children (triggered by the parent's id) exist by then.
                self.defer_downtime_tick = true;
                let parent_id = self.prog.next_downtime_id;
                let f = [start, end, fixed, trig, dur, author, comment];
                let mut res = self.schedule_many(now, &[Obj::Host(hid)], f);
                if res.is_ok() {
                    let mut kids = Vec::new();
                    self.descendants(hid, &mut kids);
                    let trig_id = parent_id.to_string();
                    let f = if name == C::ScheduleAndPropagateTriggeredHostDowntime {
                        [start, end, fixed, trig_id.as_str(), dur, author, comment]
                    } else {
                        f
                    };
                    let targets: Vec<_> = kids.into_iter().map(Obj::Host).collect();
                    res = self.schedule_many(now, &targets, f);
                }
                self.defer_downtime_tick = false;
                self.tick_downtimes(now);
                res
            }
            C::DelDowntimeByHostName => {
                let mut it = args.split(';');
                let host = it.next().unwrap_or("");
                let svc = it.next().filter(|s| !s.is_empty());
                let start = it.next().map(strtol).unwrap_or(0);
                let comment = it.next().filter(|s| !s.is_empty());
                if host.is_empty() {
                    return fail;
                }
                let n = self.delete_downtimes_matching(now, |d| {
                    d.target.host == host
                        && match svc {
                            Some(s) => d.target.service.as_deref() == Some(s),
                            None => true,
                        }
                        && (start == 0 || d.start == start)
                        && comment.is_none_or(|c| d.comment == c)
                });
                if n == 0 { fail } else { Ok(()) }
            }
            C::DelDowntimeByHostgroupName => {
                let Some(hosts) = self.hostgroup_members(first) else {
                    return fail;
                };
                let names: Vec<String> = hosts
                    .iter()
                    .map(|&h| cfg.host(h).name.to_string())
                    .collect();
                let n = self.delete_downtimes_matching(now, |d| names.contains(&d.target.host));
                if n == 0 { fail } else { Ok(()) }
            }
            C::ChangeCustomSvcVar
            | C::ChangeCustomHostVar
            | C::ChangeMaxSvcCheckAttempts
            | C::ChangeMaxHostCheckAttempts
            | C::ChangeSvcNotificationTimeperiod
            | C::ChangeHostNotificationTimeperiod => self.change_command(name, args),
            _ => {
                let n = name.as_str();
                let on = n.starts_with("ENABLE_");
                let sw = if n.contains("PASSIVE") {
                    Switch::PassiveChecks
                } else if n.ends_with("_NOTIFICATIONS") {
                    Switch::Notifications
                } else {
                    Switch::ActiveChecks
                };
                let svc_level = n.contains("_SVC_");
                let (hosts, svcs): (Vec<HostId>, Vec<ServiceId>) = if n.contains("HOSTGROUP") {
                    let Some(hosts) = self.hostgroup_members(first) else {
                        return fail;
                    };
                    let svcs = hosts
                        .iter()
                        .flat_map(|&h| cfg.host(h).services.iter().copied())
                        .collect();
                    (hosts, svcs)
                } else {
                    let Some((svcs, hosts)) = self.servicegroup_members(first) else {
                        return fail;
                    };
                    (hosts, svcs)
                };
                if svc_level {
                    for s in svcs {
                        self.set_switch(now, Obj::Service(s), sw, on);
                    }
                } else {
                    for h in hosts {
                        self.set_switch(now, Obj::Host(h), sw, on);
                    }
                }
                Ok(())
            }
        }
    }

    /// `CHANGE_CUSTOM_*_VAR`, `CHANGE_MAX_*_CHECK_ATTEMPTS`, `CHANGE_*_NOTIFICATION_TIMEPERIOD`
    /// (`cmd_change_object_custom_var()`, `cmd_change_object_int_var()`,
    /// `cmd_change_object_char_var()`). An unknown object or timeperiod fails; an unknown
    /// custom variable is ignored; variable names are case-insensitive
    /// [oracle: y_change_commands].
    fn change_command(&mut self, name: CommandName, args: &str) -> CmdResult {
        use CommandName as C;
        let fail = Err(CommandFailed);
        let svc_cmd = matches!(
            name,
            C::ChangeCustomSvcVar
                | C::ChangeMaxSvcCheckAttempts
                | C::ChangeSvcNotificationTimeperiod
        );
        // The object, then the rest of the line.
        let (target, rest) = if svc_cmd {
            let Some([h, s, rest]) = fields::<3>(args) else {
                return fail;
            };
            let Some(sid) = self
                .cfg
                .host_by_name(h)
                .and_then(|hid| self.cfg.find_service(hid, s))
            else {
                return fail;
            };
            (Obj::Service(sid), rest)
        } else {
            let Some([h, rest]) = fields::<2>(args) else {
                return fail;
            };
            let Some(hid) = self.cfg.host_by_name(h) else {
                return fail;
            };
            (Obj::Host(hid), rest)
        };
        let cfg = Arc::clone(&self.cfg);
        let common = target.common(&cfg);
        let st = self.status_mut(target);
        match name {
            C::ChangeCustomSvcVar | C::ChangeCustomHostVar => {
                let Some([var, value]) = fields::<2>(rest) else {
                    return fail;
                };
                let var = var.to_ascii_uppercase();
                let known = common
                    .custom_vars
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case(&var));
                if !known {
                    return Ok(());
                }
                match st.custom_var_changes.iter_mut().find(|(k, _)| *k == var) {
                    Some(slot) => slot.1 = value.to_owned(),
                    None => st.custom_var_changes.push((var, value.to_owned())),
                }
                Ok(())
            }
            C::ChangeMaxSvcCheckAttempts | C::ChangeMaxHostCheckAttempts => {
                let n = strtol(rest).clamp(0, i64::from(u32::MAX)) as u32;
                st.max_check_attempts = Some(n);
                if st.current_attempt > n.max(1) {
                    st.current_attempt = n.max(1);
                }
                Ok(())
            }
            _ => {
                let Some(tp) = cfg.timeperiod_by_name(rest) else {
                    return fail;
                };
                st.notification_period = Some(tp.0);
                Ok(())
            }
        }
    }
}
