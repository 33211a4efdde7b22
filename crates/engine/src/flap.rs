//! Flap detection (`flapping.c`): a 21-entry state history with weighted changes.

use picket_log::{FlappingPhase, Record};
use std::sync::Arc;

use picket_config::{HostId, Options, ServiceId};

use crate::Engine;
use crate::notify::{NotificationKind, host_state_option, svc_state_option};
use crate::status::{CommentKind, FLAP_HISTORY, StateType, Status, Target, Time};

/// Weighted percent state change of a history ring whose oldest entry is at `index`
/// (weights from 0.75 for the oldest change to 1.25 for the newest).
pub(crate) fn percent_state_change(history: &[u8], index: usize) -> f64 {
    let n = history.len();
    if n < 3 {
        return 0.0;
    }
    let (low, high) = (0.75_f64, 1.25_f64);
    let step = (high - low) / ((n - 2) as f64);
    let index = index % n;
    // Oldest to newest without a division per entry.
    let mut curved = 0.0;
    let mut last = history[index];
    for (x, &v) in (1usize..).zip(history[index + 1..].iter().chain(&history[..index])) {
        if v != last {
            curved += (x as f64 - 1.0) * step + low;
        }
        last = v;
    }
    curved * 100.0 / ((n - 1) as f64)
}

fn record(st: &mut Status, options: Options, bit: Options) {
    if st.flap_history.len() != FLAP_HISTORY {
        st.flap_history = vec![st.current_state; FLAP_HISTORY];
        st.flap_index = 0;
    }
    if options.is_empty() || options.contains(bit) {
        let i = st.flap_index % FLAP_HISTORY;
        st.flap_history[i] = st.current_state;
        st.flap_index = (i + 1) % FLAP_HISTORY;
    }
}

impl Engine {
    /// `check_for_service_flapping()`, after a result.
    pub(crate) fn check_service_flapping(&mut self, now: Time, sid: ServiceId) {
        let cfg = Arc::clone(&self.cfg);
        let s = cfg.service(sid);
        let st = &mut self.svcs[sid.index()];
        if st.state_type == StateType::Soft && st.current_state != 0 {
            return;
        }
        let low = if s.common.low_flap_threshold > 0.0 {
            s.common.low_flap_threshold
        } else {
            cfg.main.low_service_flap_threshold
        };
        let high = if s.common.high_flap_threshold > 0.0 {
            s.common.high_flap_threshold
        } else {
            cfg.main.high_service_flap_threshold
        };
        record(
            st,
            s.common.flap_detection_options,
            svc_state_option(st.current_state),
        );
        if !self.prog.enable_flap_detection || !st.flap_detection_enabled {
            // The history is kept; the percentage is only computed while detection is on.
            return;
        }
        let pct = percent_state_change(&st.flap_history, st.flap_index);
        st.percent_state_change = pct;
        if pct > low && pct < high {
            return;
        }
        let flapping = pct >= high;
        let was = st.is_flapping;
        if flapping == was {
            return;
        }
        let target = Target {
            host: cfg.host(s.host).name.to_string(),
            service: Some(s.description.to_string()),
        };
        if flapping {
            st.is_flapping = true;
            self.record(
                now,
                Record::ServiceFlappingAlert {
                    host: &target.host,
                    service: &s.description,
                    phase: FlappingPhase::Started,
                    message: &format!(
                        "Service appears to have started flapping ({pct:.1}% change >= {high:.1}% threshold)"
                    ),
                },
            );
            let text = format!(
                "Notifications for this service are being suppressed because it was detected as having been flapping between different states ({pct:.1}% change >= {high:.1}% threshold).  When the service state stabilizes and the flapping stops, notifications will be re-enabled."
            );
            self.add_comment(
                now,
                target,
                CommentKind::Flapping,
                "(Nagios Process)",
                &text,
                false,
            );
            self.service_notification(now, sid, NotificationKind::FlappingStart, "", "", 0);
        } else {
            st.is_flapping = false;
            self.record(
                now,
                Record::ServiceFlappingAlert {
                    host: &target.host,
                    service: &s.description,
                    phase: FlappingPhase::Stopped,
                    message: &format!(
                        "Service appears to have stopped flapping ({pct:.1}% change < {low:.1}% threshold)"
                    ),
                },
            );
            self.comments
                .retain(|_, c| !(c.kind == CommentKind::Flapping && c.target == target));
            self.service_notification(now, sid, NotificationKind::FlappingStop, "", "", 0);
        }
    }

    /// `check_for_host_flapping()`, after a host result.
    pub(crate) fn check_host_flapping(&mut self, now: Time, hid: HostId) {
        let cfg = Arc::clone(&self.cfg);
        let h = cfg.host(hid);
        let st = &mut self.hosts[hid.index()];
        if st.state_type == StateType::Soft && st.current_state != 0 {
            return;
        }
        let low = if h.common.low_flap_threshold > 0.0 {
            h.common.low_flap_threshold
        } else {
            cfg.main.low_host_flap_threshold
        };
        let high = if h.common.high_flap_threshold > 0.0 {
            h.common.high_flap_threshold
        } else {
            cfg.main.high_host_flap_threshold
        };
        record(
            st,
            h.common.flap_detection_options,
            host_state_option(st.current_state),
        );
        if !self.prog.enable_flap_detection || !st.flap_detection_enabled {
            // The history is kept; the percentage is only computed while detection is on.
            return;
        }
        let pct = percent_state_change(&st.flap_history, st.flap_index);
        st.percent_state_change = pct;
        if pct > low && pct < high {
            return;
        }
        let flapping = pct >= high;
        let was = st.is_flapping;
        if flapping == was {
            return;
        }
        let target = Target {
            host: h.name.to_string(),
            service: None,
        };
        if flapping {
            st.is_flapping = true;
            self.record(
                now,
                Record::HostFlappingAlert {
                    host: &h.name,
                    phase: FlappingPhase::Started,
                    message: &format!(
                        "Host appears to have started flapping ({pct:.1}% change > {high:.1}% threshold)"
                    ),
                },
            );
            let text = format!(
                "Notifications for this host are being suppressed because it was detected as having been flapping between different states ({pct:.1}% change > {high:.1}% threshold).  When the host state stabilizes and the flapping stops, notifications will be re-enabled."
            );
            self.add_comment(
                now,
                target,
                CommentKind::Flapping,
                "(Nagios Process)",
                &text,
                false,
            );
            self.host_notification(now, hid, NotificationKind::FlappingStart, "", "", 0);
        } else {
            st.is_flapping = false;
            self.record(
                now,
                Record::HostFlappingAlert {
                    host: &h.name,
                    phase: FlappingPhase::Stopped,
                    message: &format!(
                        "Host appears to have stopped flapping ({pct:.1}% change < {low:.1}% threshold)"
                    ),
                },
            );
            self.comments
                .retain(|_, c| !(c.kind == CommentKind::Flapping && c.target == target));
            self.host_notification(now, hid, NotificationKind::FlappingStop, "", "", 0);
        }
    }

    /// `DISABLE_SVC_FLAP_DETECTION` / `DISABLE_HOST_FLAP_DETECTION`.
    pub(crate) fn disable_flap_detection(
        &mut self,
        now: Time,
        hid: Option<HostId>,
        sid: Option<ServiceId>,
    ) {
        let cfg = Arc::clone(&self.cfg);
        if let Some(sid) = sid {
            let s = cfg.service(sid);
            let st = &mut self.svcs[sid.index()];
            st.flap_detection_enabled = false;
            if st.is_flapping {
                st.is_flapping = false;
                let host = cfg.host(s.host).name.to_string();
                self.record(
                    now,
                    Record::ServiceFlappingAlert {
                        host: &host,
                        service: &s.description,
                        phase: FlappingPhase::Disabled,
                        message: "Flap detection has been disabled",
                    },
                );
                let target = Target {
                    host,
                    service: Some(s.description.to_string()),
                };
                self.comments
                    .retain(|_, c| !(c.kind == CommentKind::Flapping && c.target == target));
                self.service_notification(now, sid, NotificationKind::FlappingDisabled, "", "", 0);
            }
        } else if let Some(hid) = hid {
            let h = cfg.host(hid);
            let st = &mut self.hosts[hid.index()];
            st.flap_detection_enabled = false;
            if st.is_flapping {
                st.is_flapping = false;
                self.record(
                    now,
                    Record::HostFlappingAlert {
                        host: &h.name,
                        phase: FlappingPhase::Disabled,
                        message: "Flap detection has been disabled",
                    },
                );
                let target = Target {
                    host: h.name.to_string(),
                    service: None,
                };
                self.comments
                    .retain(|_, c| !(c.kind == CommentKind::Flapping && c.target == target));
                self.host_notification(now, hid, NotificationKind::FlappingDisabled, "", "", 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_changes_make_24_2_percent() {
        // 17 OKs then CRITICAL, OK, CRITICAL, OK: the oracle's j scenario value.
        let mut h = vec![0u8; 21];
        h[17] = 2;
        h[19] = 2;
        let p = percent_state_change(&h, 0);
        assert_eq!(format!("{p:.1}"), "24.2");
        let mut h3 = vec![0u8; 21];
        h3[18] = 2;
        h3[20] = 2;
        assert!(percent_state_change(&h3, 0) < 20.0);
        assert_eq!(percent_state_change(&[0; 21], 5), 0.0);
    }
}
