//! Notifications (`notifications.c`): viability, contacts, escalations, counters.

use std::sync::Arc;

use picket_config::{ContactId, Options};

use crate::macros::{MacroCtx, NotifMacros};
use crate::obj::{DepKind, Obj};
use crate::status::{StateType, Time};
use crate::{Engine, Job, JobKind, NotificationTarget};

/// `SEND_CUSTOM_*_NOTIFICATION` option: notify normal and escalated contacts.
pub(crate) const OPT_BROADCAST: u32 = 1;
/// Option: skip every filter.
pub(crate) const OPT_FORCED: u32 = 2;
/// Option: increment the notification number.
pub(crate) const OPT_INCREMENT: u32 = 4;

/// Why a notification is sent (`$NOTIFICATIONTYPE$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// PROBLEM or RECOVERY, from a check result.
    Normal,
    /// ACKNOWLEDGEMENT.
    Acknowledgement,
    /// FLAPPINGSTART.
    FlappingStart,
    /// FLAPPINGSTOP.
    FlappingStop,
    /// FLAPPINGDISABLED.
    FlappingDisabled,
    /// DOWNTIMESTART.
    DowntimeStart,
    /// DOWNTIMEEND.
    DowntimeEnd,
    /// DOWNTIMECANCELLED.
    DowntimeCancelled,
    /// CUSTOM.
    Custom,
}

impl NotificationKind {
    /// `$NOTIFICATIONTYPE$` for a given "is the object OK/UP".
    pub fn type_str(self, ok: bool) -> &'static str {
        match self {
            NotificationKind::Normal => {
                if ok {
                    "RECOVERY"
                } else {
                    "PROBLEM"
                }
            }
            NotificationKind::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationKind::FlappingStart => "FLAPPINGSTART",
            NotificationKind::FlappingStop => "FLAPPINGSTOP",
            NotificationKind::FlappingDisabled => "FLAPPINGDISABLED",
            NotificationKind::DowntimeStart => "DOWNTIMESTART",
            NotificationKind::DowntimeEnd => "DOWNTIMEEND",
            NotificationKind::DowntimeCancelled => "DOWNTIMECANCELLED",
            NotificationKind::Custom => "CUSTOM",
        }
    }

    /// The log grammar's notification type (`picket_log`).
    pub fn log(self) -> picket_log::NotificationType {
        use picket_log::NotificationType as T;
        match self {
            NotificationKind::Normal => T::Normal,
            NotificationKind::Acknowledgement => T::Acknowledgement,
            NotificationKind::FlappingStart => T::FlappingStart,
            NotificationKind::FlappingStop => T::FlappingStop,
            NotificationKind::FlappingDisabled => T::FlappingDisabled,
            NotificationKind::DowntimeStart => T::DowntimeStart,
            NotificationKind::DowntimeEnd => T::DowntimeEnd,
            NotificationKind::DowntimeCancelled => T::DowntimeCancelled,
            NotificationKind::Custom => T::Custom,
        }
    }

    fn is_flapping(self) -> bool {
        matches!(
            self,
            NotificationKind::FlappingStart
                | NotificationKind::FlappingStop
                | NotificationKind::FlappingDisabled
        )
    }

    fn is_downtime(self) -> bool {
        matches!(
            self,
            NotificationKind::DowntimeStart
                | NotificationKind::DowntimeEnd
                | NotificationKind::DowntimeCancelled
        )
    }
}

impl Engine {
    /// `check_service_notification_viability()` / `check_host_notification_viability()`.
    fn viable(&mut self, now: Time, o: Obj, kind: NotificationKind, options: u32) -> bool {
        if options & OPT_FORCED != 0 {
            return true;
        }
        if !self.prog.enable_notifications {
            return false;
        }
        let cfg = Arc::clone(&self.cfg);
        let c = o.common(&cfg);
        let period = self
            .status(o)
            .notification_period
            .map(picket_config::TimeperiodId)
            .or(c.notification_period);
        if !self.in_period(period, now) {
            if kind == NotificationKind::Normal {
                let next = period
                    .and_then(|p| cfg.next_valid_time(p, Self::ts(now), &self.tz))
                    .map(|t| t.as_second())
                    .unwrap_or(now + 365 * 24 * 3600);
                self.status_mut(o).next_notification = next;
            }
            return false;
        }
        let st = self.status(o);
        // For a host, its own status.
        let host = &self.hosts[o.host(&cfg).index()];
        if !st.notifications_enabled {
            return false;
        }
        match kind {
            NotificationKind::Custom => {
                st.scheduled_downtime_depth == 0 && host.scheduled_downtime_depth == 0
            }
            NotificationKind::Acknowledgement => st.current_state != 0,
            k if k.is_flapping() => {
                c.notification_options.contains(Options::FLAPPING)
                    && st.scheduled_downtime_depth == 0
                    && host.scheduled_downtime_depth == 0
            }
            k if k.is_downtime() => {
                c.notification_options.contains(Options::DOWNTIME)
                    && st.scheduled_downtime_depth == 0
            }
            _ => {
                if st.state_type == StateType::Soft || st.problem_has_been_acknowledged {
                    return false;
                }
                if self.dependencies_failed(o, DepKind::Notification, now, 0) {
                    return false;
                }
                if !c
                    .notification_options
                    .contains(o.notif_option(st.current_state))
                {
                    return false;
                }
                if st.current_state == 0 && st.notified_on == 0 {
                    return false;
                }
                let delay = c.first_notification_delay;
                if delay > 0.0 && st.current_state != 0 && st.current_notification_number == 0 {
                    let base = st.last_hard_state_change.max(self.program_start);
                    if (now as f64) < base as f64 + delay * self.interval_length() {
                        return false;
                    }
                }
                if st.is_flapping {
                    return false;
                }
                if st.scheduled_downtime_depth > 0 || host.scheduled_downtime_depth > 0 {
                    return false;
                }
                if st.no_more_notifications {
                    return false;
                }
                let mut volatile = false;
                if let Obj::Service(sid) = o {
                    // A pending flexible downtime does not block a host notification:
                    // the result that starts it is still notified [oracle:
                    // v_host_downtime_periods].
                    if st.pending_flex_downtime > 0 {
                        return false;
                    }
                    if host.current_state != 0 && host.state_type == StateType::Hard {
                        return false;
                    }
                    volatile = cfg.service(sid).is_volatile;
                }
                if now < st.next_notification && !volatile {
                    return false;
                }
                true
            }
        }
    }

    /// Contacts for a notification: escalated ones when an escalation applies.
    /// Returns (contacts, escalated, smallest escalation interval).
    #[allow(clippy::too_many_arguments)]
    fn notification_contacts(
        &self,
        now: Time,
        o: Obj,
        base: &[ContactId],
        number: u32,
        state: u8,
        options: u32,
    ) -> (Vec<ContactId>, bool, Option<f64>) {
        let n = if state == 0 {
            number.saturating_sub(1)
        } else {
            number
        };
        let mut escalated = Vec::new();
        let mut interval: Option<f64> = None;
        let mut any = false;
        let escalations = match o {
            Obj::Host(h) => &self.host_escalations[h.index()],
            Obj::Service(s) => &self.svc_escalations[s.index()],
        };
        for &ei in escalations {
            let e = match o {
                Obj::Host(_) => self
                    .cfg
                    .hostescalations
                    .get(ei as usize)
                    .map(|e| &e.escalation),
                Obj::Service(_) => self
                    .cfg
                    .serviceescalations
                    .get(ei as usize)
                    .map(|e| &e.escalation),
            };
            let Some(e) = e else { continue };
            if n < e.first_notification || (e.last_notification != 0 && n > e.last_notification) {
                continue;
            }
            let bit = o.notif_option(state);
            if !e.options.is_empty() && !e.options.contains(bit) {
                continue;
            }
            if !self.in_period(e.period, now) {
                continue;
            }
            any = true;
            if e.notification_interval >= 0.0 {
                interval = Some(interval.map_or(e.notification_interval, |i: f64| {
                    i.min(e.notification_interval)
                }));
            }
            for &c in &e.contacts {
                if !escalated.contains(&c) {
                    escalated.push(c);
                }
            }
        }
        if !any {
            return (base.to_vec(), false, None);
        }
        if options & OPT_BROADCAST != 0 {
            for &c in base {
                if !escalated.contains(&c) {
                    escalated.push(c);
                }
            }
        }
        (escalated, true, interval)
    }

    /// `service_notification()` / `host_notification()`: returns whether at least one
    /// contact was notified.
    pub(crate) fn notification(
        &mut self,
        now: Time,
        o: Obj,
        kind: NotificationKind,
        author: &str,
        comment: &str,
        options: u32,
    ) -> bool {
        if !self.viable(now, o, kind, options) {
            return false;
        }
        let cfg = Arc::clone(&self.cfg);
        let c = o.common(&cfg);
        let increment = kind == NotificationKind::Normal || options & OPT_INCREMENT != 0;
        if increment {
            self.status_mut(o).current_notification_number += 1;
        }
        let st = self.status(o);
        let state = st.current_state;
        let (contacts, escalated, esc_interval) = self.notification_contacts(
            now,
            o,
            &c.notification_contacts,
            st.current_notification_number,
            state,
            options,
        );
        let forced = options & OPT_FORCED != 0;
        let mut recipients: Vec<(ContactId, Vec<usize>)> = Vec::new();
        for ci in contacts {
            let contact = cfg.contact(ci);
            let enabled = self.contacts.get(ci.index()).is_some_and(|cs| match o {
                Obj::Host(_) => cs.host_notifications_enabled,
                Obj::Service(_) => cs.service_notifications_enabled,
            });
            if !forced && !enabled {
                continue;
            }
            if !forced && contact.minimum_importance > c.importance {
                continue;
            }
            let mut ways = Vec::new();
            for (wi, w) in contact.ways.iter().enumerate() {
                if !forced {
                    let (period, opts) = match o {
                        Obj::Host(_) => (w.host_notification_period, w.host_notification_options),
                        Obj::Service(_) => (
                            w.service_notification_period,
                            w.service_notification_options,
                        ),
                    };
                    if !self.in_period(period, now) {
                        continue;
                    }
                    let ok = match kind {
                        NotificationKind::Custom => true,
                        k if k.is_flapping() => opts.contains(Options::FLAPPING),
                        k if k.is_downtime() => opts.contains(Options::DOWNTIME),
                        _ if state != 0 => opts.contains(o.notif_option(state)),
                        _ => {
                            opts.contains(Options::RECOVERY)
                                && match o {
                                    // Unlike services, Nagios 4.4.6
                                    // (`check_contact_host_notification_viability()`) only
                                    // asks that *some* problem was notified, not one this
                                    // contact subscribes to [oracle: u_soft_edges].
                                    Obj::Host(_) => st.notified_on != 0,
                                    Obj::Service(_) => (st.notified_on & opts.0) != 0,
                                }
                        }
                    };
                    if !ok {
                        continue;
                    }
                }
                ways.push(wi);
            }
            if !ways.is_empty() {
                recipients.push((ci, ways));
            }
        }
        if recipients.is_empty() {
            if increment {
                let n = &mut self.status_mut(o).current_notification_number;
                *n = n.saturating_sub(1);
            }
            return false;
        }
        let nid = self.prog.next_notification_id;
        self.prog.next_notification_id += 1;
        self.status_mut(o).current_notification_id = nid;
        let names: Vec<&str> = recipients
            .iter()
            .map(|(c, _)| &*cfg.contact(*c).name)
            .collect();
        let nm = NotifMacros {
            type_str: kind.type_str(state == 0),
            number: self.status(o).current_notification_number,
            id: nid,
            recipients: names.join(","),
            escalated,
            author: author.to_owned(),
            comment: comment.to_owned(),
        };
        let subject = o.subject(&cfg);
        let log_kind = kind.log();
        let with_author = log_kind.has_author();
        // Nagios prepends each contact to its list: the log shows them in reverse.
        for (ci, ways) in recipients.iter().rev() {
            let contact = cfg.contact(*ci);
            for &wi in ways {
                let Some(w) = contact.ways.get(wi) else {
                    continue;
                };
                let commands = match o {
                    Obj::Host(_) => &w.host_notification_commands,
                    Obj::Service(_) => &w.service_notification_commands,
                };
                // Nagios' add_{host,service}_notification_command_to_contact() prepends:
                // a contact's commands run (and are logged) last to first.
                // [oracle: zb_dependency_none_command_order]
                for call in commands.iter().rev() {
                    let command = cfg.command(call.command);
                    let ctx = MacroCtx {
                        host: Some(o.host(&cfg)),
                        svc: o.service(),
                        contact: Some(*ci),
                        notif: Some(&nm),
                        args: &call.args,
                        now,
                    };
                    let st = self.status(o);
                    // A service without output logs `(null)`, a host an empty field.
                    let output = match o {
                        Obj::Host(_) => st.plugin_output.clone().unwrap_or_default(),
                        Obj::Service(_) => st.output_or_null().to_owned(),
                    };
                    if cfg.main.log_notifications && !self.replay {
                        let (a, c) = (
                            crate::output::log_safe(author),
                            crate::output::log_safe(comment),
                        );
                        let output = crate::output::log_safe(&output);
                        let record = subject.notification(
                            &contact.name,
                            log_kind,
                            state,
                            &command.name,
                            &output,
                            with_author.then_some((&*a, &*c)),
                        );
                        self.record(now, record);
                    }
                    if self.replay {
                        continue;
                    }
                    let command_line = self.expand(&ctx, &command.line);
                    let env = self.env_macros(&ctx);
                    self.push_job(Job {
                        kind: JobKind::Notification,
                        command_line,
                        env,
                        timeout_secs: cfg.main.notification_timeout,
                        what: format!("{subject};{}", command.name),
                        notification: Some(NotificationTarget {
                            contact: contact.name.to_string(),
                            host: subject.host.to_string(),
                            service: subject.service.map(str::to_string),
                            command: command.name.to_string(),
                            id: nid,
                            logged: cfg.main.log_notifications,
                        }),
                    });
                }
            }
        }
        if kind == NotificationKind::Normal {
            let interval = esc_interval.unwrap_or(c.notification_interval);
            let volatile = o.service().is_some_and(|s| cfg.service(s).is_volatile);
            let length = self.cfg.main.interval_length.max(1) as f64;
            let st = self.status_mut(o);
            st.next_notification = now + (interval * length) as i64;
            st.last_notification = now;
            st.notified_on |= o.state_option(state).0;
            st.no_more_notifications = interval == 0.0 && !volatile;
        }
        true
    }
}
