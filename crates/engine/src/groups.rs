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
use crate::extcmd::{Change, CommandFailed, DowntimeSpec, ExternalCommand, GroupName, ObjName};
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

    /// Schedule one downtime per target (stops at the first that fails).
    pub(crate) fn schedule_many(
        &mut self,
        now: Time,
        targets: &[Obj],
        spec: &DowntimeSpec<'_>,
    ) -> CmdResult {
        for &o in targets {
            self.schedule_downtime(
                now,
                o,
                spec.start,
                spec.end,
                spec.fixed,
                spec.trigger,
                spec.duration,
                spec.author,
                spec.comment,
            )?;
        }
        Ok(())
    }

    /// The hosts of a group, or their services (a host group: every service of its
    /// hosts; a service group: its members, or their hosts, each once).
    fn group_targets(&self, group: GroupName<'_>, services: bool) -> Option<Vec<Obj>> {
        Some(match group {
            GroupName::Host(g) => {
                let hosts = self.hostgroup_members(g)?;
                if services {
                    hosts
                        .into_iter()
                        .flat_map(|h| self.cfg.host(h).services.iter().map(|&s| Obj::Service(s)))
                        .collect()
                } else {
                    hosts.into_iter().map(Obj::Host).collect()
                }
            }
            GroupName::Service(g) => {
                let (svcs, hosts) = self.servicegroup_members(g)?;
                if services {
                    svcs.into_iter().map(Obj::Service).collect()
                } else {
                    hosts.into_iter().map(Obj::Host).collect()
                }
            }
        })
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

    /// The group, propagated-downtime, downtime-by-name and `CHANGE_*` commands.
    pub(crate) fn apply_group_command(&mut self, now: Time, cmd: ExternalCommand<'_>) -> CmdResult {
        use ExternalCommand as E;
        let fail = Err(CommandFailed);
        match cmd {
            E::GroupSwitch {
                group,
                services,
                switch,
                on,
            } => {
                let Some(targets) = self.group_targets(group, services) else {
                    return fail;
                };
                for o in targets {
                    self.set_switch(now, o, switch, on);
                }
                Ok(())
            }
            E::GroupDowntime {
                group,
                services,
                spec,
            } => {
                let Some(targets) = self.group_targets(group, services) else {
                    return fail;
                };
                self.schedule_many(now, &targets, &spec)
            }
            E::PropagateDowntime {
                host,
                triggered,
                spec,
            } => {
                let Some(hid) = self.cfg.host_by_name(host) else {
                    return fail;
                };
                // Nagios starts a due downtime from its event queue, after the command:
                // the children (triggered by the parent's id) exist by then.
                self.defer_downtime_tick = true;
                let parent_id = self.prog.next_downtime_id;
                let mut res = self.schedule_many(now, &[Obj::Host(hid)], &spec);
                if res.is_ok() {
                    let mut kids = Vec::new();
                    self.descendants(hid, &mut kids);
                    let mut spec = spec;
                    if triggered {
                        spec.trigger = parent_id;
                    }
                    let targets: Vec<_> = kids.into_iter().map(Obj::Host).collect();
                    res = self.schedule_many(now, &targets, &spec);
                }
                self.defer_downtime_tick = false;
                self.tick_downtimes(now);
                res
            }
            E::DeleteDowntimeByHost {
                host,
                service,
                start,
                comment,
            } => {
                let n = self.delete_downtimes_matching(now, |d| {
                    d.target.host == host
                        && match service {
                            Some(s) => d.target.service.as_deref() == Some(s),
                            None => true,
                        }
                        && (start == 0 || d.start == start)
                        && comment.is_none_or(|c| d.comment == c)
                });
                if n == 0 { fail } else { Ok(()) }
            }
            E::DeleteDowntimeByHostgroup(group) => {
                let Some(hosts) = self.hostgroup_members(group) else {
                    return fail;
                };
                let cfg = Arc::clone(&self.cfg);
                let names: Vec<String> = hosts
                    .iter()
                    .map(|&h| cfg.host(h).name.to_string())
                    .collect();
                let n = self.delete_downtimes_matching(now, |d| names.contains(&d.target.host));
                if n == 0 { fail } else { Ok(()) }
            }
            E::Change { target, change } => self.change_command(target, change),
            _ => fail,
        }
    }

    /// `CHANGE_CUSTOM_*_VAR`, `CHANGE_MAX_*_CHECK_ATTEMPTS`, `CHANGE_*_NOTIFICATION_TIMEPERIOD`
    /// (`cmd_change_object_custom_var()`, `cmd_change_object_int_var()`,
    /// `cmd_change_object_char_var()`). An unknown object or timeperiod fails; an unknown
    /// custom variable is ignored; variable names are case-insensitive
    /// [oracle: y_change_commands].
    fn change_command(&mut self, target: ObjName<'_>, change: Change<'_>) -> CmdResult {
        let fail = Err(CommandFailed);
        let Some(o) = self.lookup(target) else {
            return fail;
        };
        let cfg = Arc::clone(&self.cfg);
        let common = o.common(&cfg);
        let st = self.status_mut(o);
        match change {
            Change::CustomVar { name, value } => {
                let var = name.to_ascii_uppercase();
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
            Change::MaxCheckAttempts(n) => {
                st.max_check_attempts = Some(n);
                if st.current_attempt > n.max(1) {
                    st.current_attempt = n.max(1);
                }
                Ok(())
            }
            Change::NotificationTimeperiod(name) => {
                let Some(tp) = cfg.timeperiod_by_name(name) else {
                    return fail;
                };
                st.notification_period = Some(tp.0);
                Ok(())
            }
        }
    }
}
