//! Notifications (`notifications.c`): viability, contacts, escalations, counters.

use std::sync::Arc;

use picket_config::{ContactId, HostId, Options, ServiceId};

use crate::macros::{MacroCtx, NotifMacros};
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

/// The option bit of a service state (`o`, `w`, `c`, `u`).
pub(crate) fn svc_state_option(state: u8) -> Options {
    match state {
        0 => Options::OK,
        1 => Options::WARNING,
        2 => Options::CRITICAL,
        _ => Options::UNKNOWN,
    }
}

/// The option bit of a host state (`o`, `d`, `u`).
pub(crate) fn host_state_option(state: u8) -> Options {
    match state {
        0 => Options::OK,
        1 => Options::DOWN,
        _ => Options::UNKNOWN,
    }
}

/// Notification-option bit for a state: recoveries are `r`.
fn svc_notif_option(state: u8) -> Options {
    if state == 0 {
        Options::RECOVERY
    } else {
        svc_state_option(state)
    }
}

fn host_notif_option(state: u8) -> Options {
    if state == 0 {
        Options::RECOVERY
    } else {
        host_state_option(state)
    }
}

impl Engine {
    fn svc_dependencies_failed(&self, sid: ServiceId, now: Time, depth: u32) -> bool {
        if depth > 16 {
            return false;
        }
        for &di in &self.svc_notify_deps[sid.index()] {
            let Some(d) = self.cfg.servicedependencies.get(di as usize) else {
                continue;
            };
            // 4.4.6 `return FALSE` (= DEPENDENCIES_OK): a dependency outside its
            // dependency_period ends the whole test, later dependencies are not looked at.
            if d.period.is_some() && !self.in_period(d.period, now) {
                return false;
            }
            let m = &self.svcs[d.master.index()];
            let state = if m.state_type == StateType::Soft && !self.cfg.main.soft_state_dependencies
            {
                m.last_hard_state
            } else {
                m.current_state
            };
            // `flag_isset(failure_options, 1 << state)`: no PENDING test in 4.4.6, a
            // master that was never checked counts with its initial state (oracle l_dependencies_ondemand).
            let bit = svc_state_option(state);
            if d.notification_failure.contains(bit) {
                return true;
            }
            if d.inherits_parent && self.svc_dependencies_failed(d.master, now, depth + 1) {
                return true;
            }
        }
        false
    }

    fn host_dependencies_failed(&self, hid: HostId, now: Time, depth: u32) -> bool {
        if depth > 16 {
            return false;
        }
        for &di in &self.host_notify_deps[hid.index()] {
            let Some(d) = self.cfg.hostdependencies.get(di as usize) else {
                continue;
            };
            // 4.4.6 `return FALSE` (= DEPENDENCIES_OK): a dependency outside its
            // dependency_period ends the whole test, later dependencies are not looked at.
            if d.period.is_some() && !self.in_period(d.period, now) {
                return false;
            }
            let m = &self.hosts[d.master.index()];
            let state = if m.state_type == StateType::Soft && !self.cfg.main.soft_state_dependencies
            {
                m.last_hard_state
            } else {
                m.current_state
            };
            // `flag_isset(failure_options, 1 << state)`: no PENDING test in 4.4.6, a
            // master that was never checked counts with its initial state (oracle l_dependencies_ondemand).
            let bit = host_state_option(state);
            if d.notification_failure.contains(bit) {
                return true;
            }
            if d.inherits_parent && self.host_dependencies_failed(d.master, now, depth + 1) {
                return true;
            }
        }
        false
    }

    /// `check_service_notification_viability()`.
    fn service_viable(
        &mut self,
        now: Time,
        sid: ServiceId,
        kind: NotificationKind,
        options: u32,
    ) -> bool {
        if options & OPT_FORCED != 0 {
            return true;
        }
        if !self.prog.enable_notifications {
            return false;
        }
        let cfg = Arc::clone(&self.cfg);
        let s = cfg.service(sid);
        let i = sid.index();
        let hid = s.host;
        let period = self.svcs[i]
            .notification_period
            .map(picket_config::TimeperiodId)
            .or(s.common.notification_period);
        if !self.in_period(period, now) {
            if kind == NotificationKind::Normal {
                let next = period
                    .and_then(|p| cfg.next_valid_time(p, Self::ts(now), &self.tz))
                    .map(|t| t.as_second())
                    .unwrap_or(now + 365 * 24 * 3600);
                self.svcs[i].next_notification = next;
            }
            return false;
        }
        let st = &self.svcs[i];
        let host = &self.hosts[hid.index()];
        if !st.notifications_enabled {
            return false;
        }
        match kind {
            NotificationKind::Custom => {
                st.scheduled_downtime_depth == 0 && host.scheduled_downtime_depth == 0
            }
            NotificationKind::Acknowledgement => st.current_state != 0,
            k if k.is_flapping() => {
                s.common.notification_options.contains(Options::FLAPPING)
                    && st.scheduled_downtime_depth == 0
                    && host.scheduled_downtime_depth == 0
            }
            k if k.is_downtime() => {
                s.common.notification_options.contains(Options::DOWNTIME)
                    && st.scheduled_downtime_depth == 0
            }
            _ => {
                if st.state_type == StateType::Soft || st.problem_has_been_acknowledged {
                    return false;
                }
                if self.svc_dependencies_failed(sid, now, 0) {
                    return false;
                }
                if !s
                    .common
                    .notification_options
                    .contains(svc_notif_option(st.current_state))
                {
                    return false;
                }
                if st.current_state == 0 && st.notified_on == 0 {
                    return false;
                }
                let delay = s.common.first_notification_delay;
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
                if st.pending_flex_downtime > 0 {
                    return false;
                }
                if st.no_more_notifications {
                    return false;
                }
                if host.current_state != 0 && host.state_type == StateType::Hard {
                    return false;
                }
                if now < st.next_notification && !s.is_volatile {
                    return false;
                }
                true
            }
        }
    }

    /// `check_host_notification_viability()`.
    fn host_viable(
        &mut self,
        now: Time,
        hid: HostId,
        kind: NotificationKind,
        options: u32,
    ) -> bool {
        if options & OPT_FORCED != 0 {
            return true;
        }
        if !self.prog.enable_notifications {
            return false;
        }
        let cfg = Arc::clone(&self.cfg);
        let h = cfg.host(hid);
        let i = hid.index();
        let period = self.hosts[i]
            .notification_period
            .map(picket_config::TimeperiodId)
            .or(h.common.notification_period);
        if !self.in_period(period, now) {
            if kind == NotificationKind::Normal {
                let next = period
                    .and_then(|p| cfg.next_valid_time(p, Self::ts(now), &self.tz))
                    .map(|t| t.as_second())
                    .unwrap_or(now + 365 * 24 * 3600);
                self.hosts[i].next_notification = next;
            }
            return false;
        }
        let st = &self.hosts[i];
        if !st.notifications_enabled {
            return false;
        }
        match kind {
            NotificationKind::Custom => st.scheduled_downtime_depth == 0,
            NotificationKind::Acknowledgement => st.current_state != 0,
            k if k.is_flapping() => {
                h.common.notification_options.contains(Options::FLAPPING)
                    && st.scheduled_downtime_depth == 0
            }
            k if k.is_downtime() => {
                h.common.notification_options.contains(Options::DOWNTIME)
                    && st.scheduled_downtime_depth == 0
            }
            _ => {
                if st.state_type == StateType::Soft || st.problem_has_been_acknowledged {
                    return false;
                }
                if self.host_dependencies_failed(hid, now, 0) {
                    return false;
                }
                if !h
                    .common
                    .notification_options
                    .contains(host_notif_option(st.current_state))
                {
                    return false;
                }
                if st.current_state == 0 && st.notified_on == 0 {
                    return false;
                }
                let delay = h.common.first_notification_delay;
                if delay > 0.0 && st.current_state != 0 && st.current_notification_number == 0 {
                    let base = st.last_hard_state_change.max(self.program_start);
                    if (now as f64) < base as f64 + delay * self.interval_length() {
                        return false;
                    }
                }
                // A pending flexible downtime does not block a host notification: the
                // result that starts it is still notified [oracle: v_host_downtime_periods].
                if st.is_flapping || st.scheduled_downtime_depth > 0 {
                    return false;
                }
                if st.no_more_notifications {
                    return false;
                }
                if now < st.next_notification {
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
        escalations: &[u32],
        host: bool,
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
        for &ei in escalations {
            let e = if host {
                self.cfg
                    .hostescalations
                    .get(ei as usize)
                    .map(|e| &e.escalation)
            } else {
                self.cfg
                    .serviceescalations
                    .get(ei as usize)
                    .map(|e| &e.escalation)
            };
            let Some(e) = e else { continue };
            if n < e.first_notification || (e.last_notification != 0 && n > e.last_notification) {
                continue;
            }
            let bit = if host {
                host_notif_option(state)
            } else {
                svc_notif_option(state)
            };
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

    /// `service_notification()`: returns whether at least one contact was notified.
    pub(crate) fn service_notification(
        &mut self,
        now: Time,
        sid: ServiceId,
        kind: NotificationKind,
        author: &str,
        comment: &str,
        options: u32,
    ) -> bool {
        if !self.service_viable(now, sid, kind, options) {
            return false;
        }
        let cfg = Arc::clone(&self.cfg);
        let s = cfg.service(sid);
        let i = sid.index();
        let increment = kind == NotificationKind::Normal || options & OPT_INCREMENT != 0;
        if increment {
            self.svcs[i].current_notification_number += 1;
        }
        let st = &self.svcs[i];
        let state = st.current_state;
        let (contacts, escalated, esc_interval) = self.notification_contacts(
            now,
            &self.svc_escalations[i],
            false,
            &s.common.notification_contacts,
            st.current_notification_number,
            state,
            options,
        );
        let forced = options & OPT_FORCED != 0;
        let mut recipients: Vec<(ContactId, Vec<usize>)> = Vec::new();
        for c in contacts {
            let contact = cfg.contact(c);
            let enabled = self
                .contacts
                .get(c.index())
                .is_some_and(|cs| cs.service_notifications_enabled);
            if !forced && !enabled {
                continue;
            }
            if !forced && contact.minimum_importance > s.common.importance {
                continue;
            }
            let mut ways = Vec::new();
            for (wi, w) in contact.ways.iter().enumerate() {
                if !forced {
                    if !self.in_period(w.service_notification_period, now) {
                        continue;
                    }
                    let ok = match kind {
                        NotificationKind::Custom => true,
                        k if k.is_flapping() => {
                            w.service_notification_options.contains(Options::FLAPPING)
                        }
                        k if k.is_downtime() => {
                            w.service_notification_options.contains(Options::DOWNTIME)
                        }
                        _ => {
                            if state == 0 {
                                w.service_notification_options.contains(Options::RECOVERY)
                                    && (st.notified_on & w.service_notification_options.0) != 0
                            } else {
                                w.service_notification_options
                                    .contains(svc_notif_option(state))
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
                recipients.push((c, ways));
            }
        }
        if recipients.is_empty() {
            if increment {
                let n = &mut self.svcs[i].current_notification_number;
                *n = n.saturating_sub(1);
            }
            return false;
        }
        let nid = self.prog.next_notification_id;
        self.prog.next_notification_id += 1;
        self.svcs[i].current_notification_id = nid;
        let names: Vec<&str> = recipients
            .iter()
            .map(|(c, _)| &*cfg.contact(*c).name)
            .collect();
        let nm = NotifMacros {
            type_str: kind.type_str(state == 0),
            number: self.svcs[i].current_notification_number,
            id: nid,
            recipients: names.join(","),
            escalated,
            author: author.to_owned(),
            comment: comment.to_owned(),
        };
        let host_name = &cfg.host(s.host).name;
        let state_field = picket_log::Notified {
            kind: kind.log(),
            state: picket_log::ServiceState::from_code(state),
        };
        let with_author = state_field.kind.has_author();
        // Nagios prepends each contact to its list: the log shows them in reverse.
        for (c, ways) in recipients.iter().rev() {
            let contact = cfg.contact(*c);
            for &wi in ways {
                let Some(w) = contact.ways.get(wi) else {
                    continue;
                };
                // Nagios' add_service_notification_command_to_contact() prepends: a
                // contact's commands run (and are logged) last to first.
                // [oracle: zb_dependency_none_command_order]
                for call in w.service_notification_commands.iter().rev() {
                    let command = cfg.command(call.command);
                    let ctx = MacroCtx {
                        host: Some(s.host),
                        svc: Some(sid),
                        contact: Some(*c),
                        notif: Some(&nm),
                        args: &call.args,
                        now,
                    };
                    let output = self.svcs[i].output_or_null().to_owned();
                    if cfg.main.log_notifications && !self.replay {
                        let (a, c) = (
                            crate::output::log_safe(author),
                            crate::output::log_safe(comment),
                        );
                        let record = picket_log::Record::ServiceNotification {
                            contact: &contact.name,
                            host: host_name,
                            service: &s.description,
                            kind: state_field,
                            command: &command.name,
                            output: &crate::output::log_safe(&output),
                            author: with_author.then_some((&*a, &*c)),
                        };
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
                        what: format!("{};{};{}", host_name, s.description, command.name),
                        notification: Some(NotificationTarget {
                            contact: contact.name.to_string(),
                            host: host_name.to_string(),
                            service: Some(s.description.to_string()),
                            command: command.name.to_string(),
                            id: nid,
                            logged: cfg.main.log_notifications,
                        }),
                    });
                }
            }
        }
        if kind == NotificationKind::Normal {
            let interval = esc_interval.unwrap_or(s.common.notification_interval);
            let st = &mut self.svcs[i];
            st.next_notification =
                now + (interval * self.cfg.main.interval_length.max(1) as f64) as i64;
            st.last_notification = now;
            st.notified_on |= svc_state_option(state).0;
            st.no_more_notifications = interval == 0.0 && !s.is_volatile;
        }
        true
    }

    /// `host_notification()`.
    pub(crate) fn host_notification(
        &mut self,
        now: Time,
        hid: HostId,
        kind: NotificationKind,
        author: &str,
        comment: &str,
        options: u32,
    ) -> bool {
        if !self.host_viable(now, hid, kind, options) {
            return false;
        }
        let cfg = Arc::clone(&self.cfg);
        let h = cfg.host(hid);
        let i = hid.index();
        let increment = kind == NotificationKind::Normal || options & OPT_INCREMENT != 0;
        if increment {
            self.hosts[i].current_notification_number += 1;
        }
        let st = &self.hosts[i];
        let state = st.current_state;
        let (contacts, escalated, esc_interval) = self.notification_contacts(
            now,
            &self.host_escalations[i],
            true,
            &h.common.notification_contacts,
            st.current_notification_number,
            state,
            options,
        );
        let forced = options & OPT_FORCED != 0;
        let mut recipients: Vec<(ContactId, Vec<usize>)> = Vec::new();
        for c in contacts {
            let contact = cfg.contact(c);
            let enabled = self
                .contacts
                .get(c.index())
                .is_some_and(|cs| cs.host_notifications_enabled);
            if !forced && !enabled {
                continue;
            }
            if !forced && contact.minimum_importance > h.common.importance {
                continue;
            }
            let mut ways = Vec::new();
            for (wi, w) in contact.ways.iter().enumerate() {
                if !forced {
                    if !self.in_period(w.host_notification_period, now) {
                        continue;
                    }
                    let ok = match kind {
                        NotificationKind::Custom => true,
                        k if k.is_flapping() => {
                            w.host_notification_options.contains(Options::FLAPPING)
                        }
                        k if k.is_downtime() => {
                            w.host_notification_options.contains(Options::DOWNTIME)
                        }
                        _ => {
                            if state == 0 {
                                // Unlike services, Nagios 4.4.6
                                // (`check_contact_host_notification_viability()`) only
                                // asks that *some* problem was notified, not one this
                                // contact subscribes to [oracle: u_soft_edges].
                                w.host_notification_options.contains(Options::RECOVERY)
                                    && st.notified_on != 0
                            } else {
                                w.host_notification_options
                                    .contains(host_notif_option(state))
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
                recipients.push((c, ways));
            }
        }
        if recipients.is_empty() {
            if increment {
                let n = &mut self.hosts[i].current_notification_number;
                *n = n.saturating_sub(1);
            }
            return false;
        }
        let nid = self.prog.next_notification_id;
        self.prog.next_notification_id += 1;
        self.hosts[i].current_notification_id = nid;
        let names: Vec<&str> = recipients
            .iter()
            .map(|(c, _)| &*cfg.contact(*c).name)
            .collect();
        let nm = NotifMacros {
            type_str: kind.type_str(state == 0),
            number: self.hosts[i].current_notification_number,
            id: nid,
            recipients: names.join(","),
            escalated,
            author: author.to_owned(),
            comment: comment.to_owned(),
        };
        let state_field = picket_log::Notified {
            kind: kind.log(),
            state: picket_log::HostState::from_code(state),
        };
        let with_author = state_field.kind.has_author();
        for (c, ways) in recipients.iter().rev() {
            let contact = cfg.contact(*c);
            for &wi in ways {
                let Some(w) = contact.ways.get(wi) else {
                    continue;
                };
                // Nagios' add_host_notification_command_to_contact() prepends: a
                // contact's commands run (and are logged) last to first.
                // [oracle: zb_dependency_none_command_order]
                for call in w.host_notification_commands.iter().rev() {
                    let command = cfg.command(call.command);
                    let ctx = MacroCtx {
                        host: Some(hid),
                        svc: None,
                        contact: Some(*c),
                        notif: Some(&nm),
                        args: &call.args,
                        now,
                    };
                    let output = self.hosts[i].plugin_output.clone().unwrap_or_default();
                    if cfg.main.log_notifications && !self.replay {
                        let (a, c) = (
                            crate::output::log_safe(author),
                            crate::output::log_safe(comment),
                        );
                        let record = picket_log::Record::HostNotification {
                            contact: &contact.name,
                            host: &h.name,
                            kind: state_field,
                            command: &command.name,
                            output: &crate::output::log_safe(&output),
                            author: with_author.then_some((&*a, &*c)),
                        };
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
                        what: format!("{};{}", h.name, command.name),
                        notification: Some(NotificationTarget {
                            contact: contact.name.to_string(),
                            host: h.name.to_string(),
                            service: None,
                            command: command.name.to_string(),
                            id: nid,
                            logged: cfg.main.log_notifications,
                        }),
                    });
                }
            }
        }
        if kind == NotificationKind::Normal {
            let interval = esc_interval.unwrap_or(h.common.notification_interval);
            let st = &mut self.hosts[i];
            st.next_notification =
                now + (interval * self.cfg.main.interval_length.max(1) as f64) as i64;
            st.last_notification = now;
            st.notified_on |= host_state_option(state).0;
            st.no_more_notifications = interval == 0.0;
        }
        true
    }
}
