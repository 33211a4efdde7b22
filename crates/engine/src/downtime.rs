//! Scheduled downtime (`common/downtime.c`), acknowledgements and comments.

use crate::Engine;
use crate::extcmd::CommandFailed;
use crate::notify::NotificationKind;
use crate::obj::Obj;
use crate::status::{AckType, CommentKind, Downtime, StateType, Target, Time};

impl Engine {
    fn target_obj(&self, t: &Target) -> Option<Obj> {
        let h = self.cfg.host_by_name(&t.host)?;
        match &t.service {
            Some(s) => Some(Obj::Service(self.cfg.find_service(h, s)?)),
            None => Some(Obj::Host(h)),
        }
    }

    /// Add a comment; returns its id.
    pub(crate) fn add_comment(
        &mut self,
        now: Time,
        target: Target,
        kind: CommentKind,
        author: &str,
        text: &str,
        persistent: bool,
    ) -> u64 {
        let id = self.prog.next_comment_id;
        self.prog.next_comment_id += 1;
        self.comments.insert(
            id,
            crate::Comment {
                id,
                target,
                kind,
                entry_time: now,
                author: author.to_owned(),
                text: text.to_owned(),
                persistent,
            },
        );
        id
    }

    /// Remove the non-persistent acknowledgement comments of an object.
    pub(crate) fn delete_ack_comments(&mut self, o: Obj) {
        if self.comments.is_empty() {
            return;
        }
        let target = o.target(&self.cfg);
        self.comments.retain(|_, c| {
            !(c.kind == CommentKind::Acknowledgement && !c.persistent && c.target == target)
        });
    }

    /// `ACKNOWLEDGE_SVC_PROBLEM` / `ACKNOWLEDGE_HOST_PROBLEM`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn acknowledge(
        &mut self,
        now: Time,
        o: Obj,
        kind: AckType,
        notify: bool,
        persistent: bool,
        author: &str,
        comment: &str,
    ) {
        let st = self.status_mut(o);
        if st.current_state == 0 {
            return;
        }
        st.problem_has_been_acknowledged = true;
        st.acknowledgement_type = kind;
        if notify {
            self.notification(
                now,
                o,
                NotificationKind::Acknowledgement,
                author,
                comment,
                0,
            );
        }
        let target = o.target(&self.cfg);
        self.add_comment(
            now,
            target,
            CommentKind::Acknowledgement,
            author,
            comment,
            persistent,
        );
    }

    /// `REMOVE_*_ACKNOWLEDGEMENT`.
    pub(crate) fn remove_ack(&mut self, o: Obj) {
        let st = self.status_mut(o);
        st.problem_has_been_acknowledged = false;
        st.acknowledgement_type = AckType::None;
        self.delete_ack_comments(o);
    }

    /// `SCHEDULE_*_DOWNTIME`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn schedule_downtime(
        &mut self,
        now: Time,
        o: Obj,
        start: Time,
        end: Time,
        fixed: bool,
        trigger_id: u64,
        duration: Time,
        author: &str,
        comment: &str,
    ) -> Result<(), CommandFailed> {
        if end < start {
            return Err(CommandFailed);
        }
        let target = o.target(&self.cfg);
        let id = self.prog.next_downtime_id;
        self.prog.next_downtime_id += 1;
        // Nagios 4.4.6 uses up the id but keeps no downtime triggered by an unknown
        // one, and the command does not fail [oracle: y_downtime_variants].
        if trigger_id != 0 && !self.downtimes.contains_key(&trigger_id) {
            return Ok(());
        }
        let what = match o {
            Obj::Service(_) => "service",
            Obj::Host(_) => "host",
        };
        let fmt = |t: Time| {
            Self::ts(t)
                .to_zoned_datetime(self.tz.clone())
                .strftime("%m-%d-%Y %H:%M:%S")
                .to_string()
        };
        let text = if fixed {
            format!(
                "This {what} has been scheduled for fixed downtime from {} to {}.  Notifications for the {what} will not be sent out during that time period.",
                fmt(start),
                fmt(end)
            )
        } else {
            format!(
                "This {what} has been scheduled for flexible downtime starting between {} and {} and lasting for a period of {} hours and {} minutes.  Notifications for the {what} will not be sent out during that time period.",
                fmt(start),
                fmt(end),
                duration / 3600,
                (duration % 3600) / 60
            )
        };
        let comment_id = self.add_comment(
            now,
            target.clone(),
            CommentKind::Downtime,
            author,
            &text,
            false,
        );
        self.downtimes.insert(
            id,
            Downtime {
                id,
                target,
                entry_time: now,
                start,
                end,
                fixed,
                trigger_id,
                duration: duration.max(0),
                author: author.to_owned(),
                comment: comment.to_owned(),
                in_effect: false,
                started_at: None,
                comment_id,
            },
        );
        if !fixed {
            self.status_mut(o).pending_flex_downtime += 1;
        }
        if !self.defer_downtime_tick {
            self.tick_downtimes(now);
        }
        Ok(())
    }

    fn downtime_alert(&mut self, now: Time, d: &Downtime, what: &str) {
        use picket_log::DowntimePhase;
        let (phase, svc_text, host_text) = match what {
            "STARTED" => (
                DowntimePhase::Started,
                "Service has entered a period of scheduled downtime",
                "Host has entered a period of scheduled downtime",
            ),
            "STOPPED" => (
                DowntimePhase::Stopped,
                "Service has exited from a period of scheduled downtime",
                "Host has exited from a period of scheduled downtime",
            ),
            _ => (
                DowntimePhase::Cancelled,
                "Scheduled downtime for service has been cancelled.",
                "Scheduled downtime for host has been cancelled.",
            ),
        };
        let record = match &d.target.service {
            Some(s) => picket_log::Record::ServiceDowntimeAlert {
                host: &d.target.host,
                service: s,
                phase,
                message: svc_text,
            },
            None => picket_log::Record::HostDowntimeAlert {
                host: &d.target.host,
                phase,
                message: host_text,
            },
        };
        self.record(now, record);
    }

    fn start_downtime(&mut self, now: Time, id: u64) {
        let Some(d) = self.downtimes.get(&id).cloned() else {
            return;
        };
        let Some(o) = self.target_obj(&d.target) else {
            self.downtimes.remove(&id);
            return;
        };
        // Only the first downtime in effect logs and notifies (an overlapping one only
        // deepens the depth) [oracle: y_comments_group_commands, y_downtime_variants].
        let first = self.status(o).scheduled_downtime_depth == 0;
        if first {
            self.downtime_alert(now, &d, "STARTED");
        }
        if first {
            self.notification(
                now,
                o,
                NotificationKind::DowntimeStart,
                &d.author,
                &d.comment,
                0,
            );
        }
        let st = self.status_mut(o);
        st.scheduled_downtime_depth += 1;
        if !d.fixed {
            st.pending_flex_downtime = st.pending_flex_downtime.saturating_sub(1);
        }
        if let Some(dm) = self.downtimes.get_mut(&id) {
            dm.in_effect = true;
            dm.started_at = Some(now);
        }
        let triggered: Vec<u64> = self
            .downtimes
            .values()
            .filter(|t| t.trigger_id == id && !t.in_effect)
            .map(|t| t.id)
            .collect();
        for t in triggered {
            self.start_downtime(now, t);
        }
    }

    fn end_downtime(&mut self, now: Time, id: u64, cancelled: bool) {
        let Some(d) = self.downtimes.remove(&id) else {
            return;
        };
        self.comments.remove(&d.comment_id);
        let Some(o) = self.target_obj(&d.target) else {
            return;
        };
        if d.in_effect {
            let st = self.status_mut(o);
            st.scheduled_downtime_depth = st.scheduled_downtime_depth.saturating_sub(1);
            let last = st.scheduled_downtime_depth == 0;
            if last {
                self.downtime_alert(now, &d, if cancelled { "CANCELLED" } else { "STOPPED" });
            }
            let kind = if cancelled {
                NotificationKind::DowntimeCancelled
            } else {
                NotificationKind::DowntimeEnd
            };
            // DOWNTIMEEND carries the downtime's author and comment, DOWNTIMECANCELLED
            // neither (as Nagios 4.4.6 does).
            let (author, comment) = if cancelled {
                ("", "")
            } else {
                (d.author.as_str(), d.comment.as_str())
            };
            if last {
                self.notification(now, o, kind, author, comment, 0);
            }
        } else if !d.fixed {
            let st = self.status_mut(o);
            st.pending_flex_downtime = st.pending_flex_downtime.saturating_sub(1);
        }
        // Cancelling a downtime cancels the ones it triggers; its end ends those in
        // effect with it (Nagios 4.4.6 handles them in the same call; a triggered
        // downtime never outlives its trigger) [oracle: y_downtime_variants].
        let children: Vec<u64> = self
            .downtimes
            .values()
            .filter(|t| t.trigger_id == id && (cancelled || t.in_effect))
            .map(|t| t.id)
            .collect();
        for c in children {
            self.end_downtime(now, c, cancelled);
        }
    }

    /// Cancel every downtime `pred` selects (and those they trigger); returns how many
    /// `pred` selected (`DEL_DOWNTIME_BY_*`).
    pub(crate) fn delete_downtimes_matching(
        &mut self,
        now: Time,
        pred: impl Fn(&Downtime) -> bool,
    ) -> usize {
        let ids: Vec<u64> = self.downtimes.keys().copied().collect();
        let mut n = 0;
        for id in ids {
            let hit = self.downtimes.get(&id).is_some_and(&pred);
            if hit {
                self.end_downtime(now, id, true);
                n += 1;
            }
        }
        n
    }

    /// `DEL_SVC_DOWNTIME` / `DEL_HOST_DOWNTIME`.
    pub(crate) fn delete_downtime(
        &mut self,
        now: Time,
        id: u64,
        service: bool,
    ) -> Result<(), CommandFailed> {
        // Nagios reports success for an unknown id (or one of the other kind) too.
        if let Some(d) = self.downtimes.get(&id) {
            if d.target.service.is_some() == service {
                self.end_downtime(now, id, true);
            }
        }
        Ok(())
    }

    /// Whether a flexible downtime starts now: a HARD problem, or for a service also a
    /// SOFT one.
    fn in_problem(&self, o: Obj) -> bool {
        let st = self.status(o);
        st.current_state != 0
            && (st.state_type == StateType::Hard
                || st.state_type == StateType::Soft && matches!(o, Obj::Service(_)))
    }

    /// Start flexible downtimes of an object that just entered a problem state.
    pub(crate) fn check_pending_flex_downtime(&mut self, now: Time, o: Obj) {
        if !self.in_problem(o) {
            return;
        }
        let target = o.target(&self.cfg);
        let due: Vec<u64> = self
            .downtimes
            .values()
            .filter(|d| {
                !d.fixed && !d.in_effect && d.target == target && d.start <= now && now <= d.end
            })
            .map(|d| d.id)
            .collect();
        for id in due {
            self.start_downtime(now, id);
        }
    }

    /// Apply time: start and end downtimes that are due. Idempotent for a given `now`.
    pub(crate) fn tick_downtimes(&mut self, now: Time) {
        if self.downtimes.is_empty() {
            return;
        }
        let ids: Vec<u64> = self.downtimes.keys().copied().collect();
        for id in ids {
            let Some(d) = self.downtimes.get(&id).cloned() else {
                continue;
            };
            if d.in_effect {
                let end = match (d.fixed, d.started_at) {
                    (false, Some(s)) => s + d.duration,
                    _ => d.end,
                };
                if now >= end {
                    self.end_downtime(now, id, false);
                }
                continue;
            }
            if d.trigger_id != 0 {
                if now > d.end {
                    self.end_downtime(now, id, false);
                }
                continue;
            }
            if d.fixed {
                if now >= d.end {
                    self.end_downtime(now, id, false);
                } else if now >= d.start {
                    self.start_downtime(now, id);
                }
            } else if now > d.end {
                self.end_downtime(now, id, false);
            } else if now >= d.start {
                if let Some(o) = self.target_obj(&d.target) {
                    if self.in_problem(o) {
                        self.start_downtime(now, id);
                    }
                }
            }
        }
    }
}
