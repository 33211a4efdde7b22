//! Flap detection (`flapping.c`): a 21-entry state history with weighted changes.

use picket_log::FlappingPhase;
use std::sync::Arc;

use picket_config::{Config, Options};

use crate::Engine;
use crate::notify::NotificationKind;
use crate::obj::Obj;
use crate::status::{CommentKind, FLAP_HISTORY, StateType, Status, Time};

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
    /// `check_for_service_flapping()` / `check_for_host_flapping()`, after a result.
    pub(crate) fn check_flapping(&mut self, now: Time, o: Obj) {
        let cfg = Arc::clone(&self.cfg);
        let c = o.common(&cfg);
        // Nagios 4.4.6 words the two alerts differently: a service starts flapping at
        // `>=` the high threshold, a host at `>` (the test is `>=` for both).
        let (low_default, high_default, noun, above) = match o {
            Obj::Service(_) => (
                cfg.main.low_service_flap_threshold,
                cfg.main.high_service_flap_threshold,
                "service",
                ">=",
            ),
            Obj::Host(_) => (
                cfg.main.low_host_flap_threshold,
                cfg.main.high_host_flap_threshold,
                "host",
                ">",
            ),
        };
        let detection = self.prog.enable_flap_detection;
        let st = self.status_mut(o);
        if st.state_type == StateType::Soft && st.current_state != 0 {
            return;
        }
        let low = if c.low_flap_threshold > 0.0 {
            c.low_flap_threshold
        } else {
            low_default
        };
        let high = if c.high_flap_threshold > 0.0 {
            c.high_flap_threshold
        } else {
            high_default
        };
        record(
            st,
            c.flap_detection_options,
            o.state_option(st.current_state),
        );
        if !detection || !st.flap_detection_enabled {
            // The history is kept; the percentage is only computed while detection is on.
            return;
        }
        let pct = percent_state_change(&st.flap_history, st.flap_index);
        st.percent_state_change = pct;
        if pct > low && pct < high {
            return;
        }
        let flapping = pct >= high;
        if flapping == st.is_flapping {
            return;
        }
        st.is_flapping = flapping;
        let subject = o.subject(&cfg);
        let capitalized = match o {
            Obj::Service(_) => "Service",
            Obj::Host(_) => "Host",
        };
        if flapping {
            let message = format!(
                "{capitalized} appears to have started flapping ({pct:.1}% change {above} {high:.1}% threshold)"
            );
            self.record(now, subject.flapping(FlappingPhase::Started, &message));
            let text = format!(
                "Notifications for this {noun} are being suppressed because it was detected as having been flapping between different states ({pct:.1}% change {above} {high:.1}% threshold).  When the {noun} state stabilizes and the flapping stops, notifications will be re-enabled."
            );
            self.add_comment(
                now,
                o.target(&cfg),
                CommentKind::Flapping,
                "(Nagios Process)",
                &text,
                false,
            );
            self.notification(now, o, NotificationKind::FlappingStart, "", "", 0);
        } else {
            let message = format!(
                "{capitalized} appears to have stopped flapping ({pct:.1}% change < {low:.1}% threshold)"
            );
            self.record(now, subject.flapping(FlappingPhase::Stopped, &message));
            self.delete_flapping_comment(&cfg, o);
            self.notification(now, o, NotificationKind::FlappingStop, "", "", 0);
        }
    }

    fn delete_flapping_comment(&mut self, cfg: &Config, o: Obj) {
        let target = o.target(cfg);
        self.comments
            .retain(|_, c| !(c.kind == CommentKind::Flapping && c.target == target));
    }

    /// `DISABLE_SVC_FLAP_DETECTION` / `DISABLE_HOST_FLAP_DETECTION`.
    pub(crate) fn disable_flap_detection(&mut self, now: Time, o: Obj) {
        let cfg = Arc::clone(&self.cfg);
        let st = self.status_mut(o);
        st.flap_detection_enabled = false;
        if !st.is_flapping {
            return;
        }
        st.is_flapping = false;
        self.record(
            now,
            o.subject(&cfg)
                .flapping(FlappingPhase::Disabled, "Flap detection has been disabled"),
        );
        self.delete_flapping_comment(&cfg, o);
        self.notification(now, o, NotificationKind::FlappingDisabled, "", "", 0);
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
