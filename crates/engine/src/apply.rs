//! The handlers of parsed external commands (`commands.c` of Nagios 4.4.6): an
//! [`ExternalCommand`] from [`crate::extcmd`] applied to the engine. Check results go on
//! to `process.rs`, group commands to `groups.rs`.

use std::sync::Arc;

use crate::extcmd::{CommandFailed, ExternalCommand, ObjName, ProgramSwitch, Switch};
use crate::obj::Obj;
use crate::status::{AckType, Time};
use crate::{CommentKind, Engine, NotificationKind, Target};

impl Engine {
    /// The object a command names: `host_name` (by name only, not by address) or
    /// `host_name;service_description`.
    pub(crate) fn lookup(&self, n: ObjName<'_>) -> Option<Obj> {
        let h = self.cfg.host_by_name(n.host())?;
        match n {
            ObjName::Host(_) => Some(Obj::Host(h)),
            ObjName::Service(_, s) => self.cfg.find_service(h, s).map(Obj::Service),
        }
    }

    /// Set a per-object switch (`ENABLE_*` / `DISABLE_*`).
    pub(crate) fn set_switch(&mut self, now: Time, o: Obj, switch: Switch, on: bool) {
        match switch {
            Switch::Notifications => self.status_mut(o).notifications_enabled = on,
            Switch::PassiveChecks => self.status_mut(o).passive_checks_enabled = on,
            Switch::EventHandler => self.status_mut(o).event_handler_enabled = on,
            Switch::FlapDetection if on => self.status_mut(o).flap_detection_enabled = true,
            Switch::FlapDetection => self.disable_flap_detection(now, o),
            Switch::ActiveChecks => self.set_active_checks(now, o, on),
        }
    }

    /// Apply one parsed external command received at `now` (what
    /// [`Engine::process_line`] does after logging the `EXTERNAL COMMAND:` line; a
    /// failure is what it logs as `Command failed`).
    pub fn apply_command(
        &mut self,
        now: Time,
        cmd: ExternalCommand<'_>,
    ) -> Result<(), CommandFailed> {
        use ExternalCommand as E;
        let fail = Err(CommandFailed);
        match cmd {
            E::CheckResult {
                target,
                return_code,
                output,
                check_time,
            } => match target {
                ObjName::Service(h, s) => {
                    self.passive_service_result(now, h, s, return_code, output, check_time)
                }
                ObjName::Host(h) => {
                    self.passive_host_result(now, h, return_code, output, check_time)
                }
            },
            E::Acknowledge {
                target,
                sticky,
                notify,
                persistent,
                author,
                comment,
            } => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                let kind = if sticky {
                    AckType::Sticky
                } else {
                    AckType::Normal
                };
                self.acknowledge(now, o, kind, notify, persistent, author, comment);
                Ok(())
            }
            E::RemoveAcknowledgement(target) => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                self.remove_ack(o);
                Ok(())
            }
            E::ScheduleDowntime {
                target,
                services,
                spec,
            } => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                let targets: Vec<Obj> = match o {
                    Obj::Host(h) if services => self
                        .cfg
                        .host(h)
                        .services
                        .iter()
                        .map(|&s| Obj::Service(s))
                        .collect(),
                    o => vec![o],
                };
                self.schedule_many(now, &targets, &spec)
            }
            E::DeleteDowntime { id, service } => self.delete_downtime(now, id, service),
            E::SetSwitch { target, switch, on } => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                self.set_switch(now, o, switch, on);
                Ok(())
            }
            E::SetServicesSwitch { host, switch, on } => {
                let Some(h) = self.cfg.host_by_name(host) else {
                    return fail;
                };
                let cfg = Arc::clone(&self.cfg);
                for &s in &cfg.host(h).services {
                    self.set_switch(now, Obj::Service(s), switch, on);
                }
                Ok(())
            }
            E::ContactNotifications {
                name,
                group,
                service,
                on,
            } => {
                // An unknown contact or contact group fails the command.
                let members: Vec<picket_config::ContactId> = if group {
                    let Some(g) = self.cfg.contactgroup_by_name(name) else {
                        return fail;
                    };
                    self.cfg.contactgroups[g.index()].members.clone()
                } else {
                    let Some(c) = self.cfg.contact_by_name(name) else {
                        return fail;
                    };
                    vec![c]
                };
                for c in members {
                    if let Some(cs) = self.contacts.get_mut(c.index()) {
                        if service {
                            cs.service_notifications_enabled = on;
                        } else {
                            cs.host_notifications_enabled = on;
                        }
                    }
                }
                Ok(())
            }
            E::SetProgramSwitch { switch, on } => {
                let p = &mut self.prog;
                let slot = match switch {
                    ProgramSwitch::Notifications => &mut p.enable_notifications,
                    ProgramSwitch::AcceptPassiveServiceChecks => {
                        &mut p.accept_passive_service_checks
                    }
                    ProgramSwitch::AcceptPassiveHostChecks => &mut p.accept_passive_host_checks,
                    ProgramSwitch::EventHandlers => &mut p.enable_event_handlers,
                    ProgramSwitch::FlapDetection => &mut p.enable_flap_detection,
                    ProgramSwitch::ExecuteServiceChecks => &mut p.execute_service_checks,
                    ProgramSwitch::ExecuteHostChecks => &mut p.execute_host_checks,
                    ProgramSwitch::ServiceFreshness => &mut p.check_service_freshness,
                    ProgramSwitch::HostFreshness => &mut p.check_host_freshness,
                };
                *slot = on;
                Ok(())
            }
            E::CustomNotification {
                target,
                options,
                author,
                comment,
            } => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                self.notification(now, o, NotificationKind::Custom, author, comment, options);
                Ok(())
            }
            E::AddComment {
                target,
                persistent,
                author,
                comment,
            } => {
                if self.lookup(target).is_none() {
                    return fail;
                }
                // Kept under the names as the command wrote them.
                let t = Target {
                    host: target.host().to_owned(),
                    service: target.service().map(str::to_owned),
                };
                self.add_comment(now, t, CommentKind::User, author, comment, persistent);
                Ok(())
            }
            E::DeleteComment(id) => {
                // Deleting a comment that does not exist is no error
                // [oracle: y_comments_group_commands].
                self.comments.remove(&id);
                Ok(())
            }
            E::DeleteAllComments(target) => {
                if self.lookup(target).is_none() {
                    return fail;
                }
                let (h, s) = (target.host(), target.service());
                self.comments
                    .retain(|_, c| !(c.target.host == h && c.target.service.as_deref() == s));
                Ok(())
            }
            E::DelayNotification { target, time } => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                self.status_mut(o).next_notification = time;
                Ok(())
            }
            E::ScheduleCheck {
                target,
                services,
                time,
                forced,
            } => {
                let Some(o) = self.lookup(target) else {
                    return fail;
                };
                let options = if forced {
                    crate::active::check_options::FORCE
                } else {
                    0
                };
                match o {
                    Obj::Host(h) if services => {
                        let cfg = Arc::clone(&self.cfg);
                        for &s in &cfg.host(h).services {
                            self.schedule_check(Obj::Service(s), time, options);
                        }
                    }
                    o => self.schedule_check(o, time, options),
                }
                Ok(())
            }
            E::Request(r) => {
                // On replay a PROCESS_FILE's lines come from the journal, not the file.
                if !self.replay {
                    self.out.requests.push(r);
                }
                Ok(())
            }
            cmd @ (E::GroupSwitch { .. }
            | E::GroupDowntime { .. }
            | E::PropagateDowntime { .. }
            | E::DeleteDowntimeByHost { .. }
            | E::DeleteDowntimeByHostgroup(_)
            | E::Change { .. }) => self.apply_group_command(now, cmd),
        }
    }
}
