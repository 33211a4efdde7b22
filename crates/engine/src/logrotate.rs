//! Log rotation as Nagios 4.4.6 does it: *when* a rotation is due
//! (`utils.c:get_next_log_rotation_time()`), what the archive is called and what the new
//! log starts with (`logging.c:rotate_log_file()`). The engine decides, with the clock
//! and the time zone as inputs; the daemon renames and reopens the file
//! (`crates/picket/src/logfile.rs`).
//!
//! * `log_rotation_method` `h`, `d`, `w`, `m` rotate at the next full hour, the next
//!   midnight, the next Sunday midnight, the first of the next month at midnight, in
//!   local time (`use_timezone`); `n` never. The boundary is computed on the local
//!   calendar, so a day is 23 or 25 hours long across a DST change, as with Nagios'
//!   `mktime()` correction. A local time that does not exist (a spring-forward gap, for
//!   hourly rotation) is taken as the first instant after the gap.
//! * The old file becomes `log_archive_path/nagios-MM-DD-YYYY-HH.log`, named after the
//!   local time of the rotation itself (so the daily archive made at midnight carries the
//!   new day's date and hour `00`, as in Nagios). When that archive already exists
//!   Nagios does not rotate (and logs nothing); the daemon reports it with
//!   `rotated = false`.
//! * The new file starts with `LOG ROTATION: DAILY` (`HOURLY`, `WEEKLY`, `MONTHLY`),
//!   `LOG VERSION: 2.0` and, with `log_current_states=1`, one `CURRENT HOST STATE` line
//!   per host and one `CURRENT SERVICE STATE` line per service, all stamped with the
//!   rotation time.
//! * The next rotation is scheduled from the time the rotation ran (`now`), so a daemon
//!   that was stopped across boundaries rotates once, not once per missed boundary.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::{Engine, Time};

/// `log_rotation_method`, without `n` (no rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationMethod {
    /// `h`: every hour.
    Hourly,
    /// `d`: every day at midnight.
    Daily,
    /// `w`: every Sunday at midnight.
    Weekly,
    /// `m`: the first of every month at midnight.
    Monthly,
}

impl RotationMethod {
    /// From the main-config letter; `None` for `n` or anything else (Nagios treats an
    /// unknown letter as no rotation too: `rotate_log_file()` returns early).
    pub fn from_config(c: char) -> Option<RotationMethod> {
        match c.to_ascii_lowercase() {
            'h' => Some(RotationMethod::Hourly),
            'd' => Some(RotationMethod::Daily),
            'w' => Some(RotationMethod::Weekly),
            'm' => Some(RotationMethod::Monthly),
            _ => None,
        }
    }

    /// The word in `LOG ROTATION: …`.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationMethod::Hourly => "HOURLY",
            RotationMethod::Daily => "DAILY",
            RotationMethod::Weekly => "WEEKLY",
            RotationMethod::Monthly => "MONTHLY",
        }
    }
}

fn local(t: Time, tz: &TimeZone) -> DateTime {
    tz.to_datetime(Engine::ts(t))
}

/// The first rotation boundary after `now` (`get_next_log_rotation_time()`).
pub fn next_rotation(method: RotationMethod, now: Time, tz: &TimeZone) -> Time {
    let dt = local(now, tz);
    let date = dt.date();
    let target: Option<DateTime> = match method {
        RotationMethod::Hourly => {
            let hour = date.at(dt.hour(), 0, 0, 0);
            hour.checked_add(jiff::Span::new().hours(1)).ok()
        }
        RotationMethod::Daily => date.tomorrow().ok().map(|d| d.at(0, 0, 0, 0)),
        RotationMethod::Weekly => {
            let days = 7 - i64::from(dt.weekday().to_sunday_zero_offset());
            date.checked_add(jiff::Span::new().days(days))
                .ok()
                .map(|d| d.at(0, 0, 0, 0))
        }
        RotationMethod::Monthly => date
            .last_of_month()
            .tomorrow()
            .ok()
            .map(|d| d.at(0, 0, 0, 0)),
    };
    let at = target
        .and_then(|t| tz.to_ambiguous_timestamp(t).compatible().ok())
        .map(|ts| ts.as_second());
    // Past the end of the calendar: an hour later, which is never before `now`.
    match at {
        Some(t) if t > now => t,
        _ => now + 3600,
    }
}

/// `nagios-MM-DD-YYYY-HH.log` for a rotation at `rotation_time` (local time).
pub fn archive_file_name(rotation_time: Time, tz: &TimeZone) -> String {
    let dt = local(rotation_time, tz);
    format!(
        "nagios-{:02}-{:02}-{}-{:02}.log",
        dt.month(),
        dt.day(),
        dt.year(),
        dt.hour()
    )
}

/// A rotation the daemon is to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRotation {
    /// The scheduled rotation time: the stamp of the new file's first lines.
    pub time: Time,
    /// The method (for `LOG ROTATION: …`).
    pub method: RotationMethod,
    /// The archive's file name inside `log_archive_path`.
    pub archive_file_name: String,
}

impl Engine {
    /// The configured rotation method, if any.
    pub fn log_rotation_method(&self) -> Option<RotationMethod> {
        RotationMethod::from_config(self.cfg.main.log_rotation_method)
    }

    /// When the next log rotation is due (`None` without rotation, or before
    /// [`Engine::start`]).
    pub fn next_log_rotation(&self) -> Option<Time> {
        self.next_log_rotation
    }

    /// Schedule the first rotation (called by [`Engine::start`]).
    pub(crate) fn schedule_log_rotation(&mut self, now: Time) {
        self.next_log_rotation = self
            .log_rotation_method()
            .map(|m| next_rotation(m, now, &self.tz));
    }

    /// The rotation to perform at `now`, if one is due. The daemon writes everything
    /// logged so far to the old file, renames it to `log_archive_path/` +
    /// [`LogRotation::archive_file_name`] (unless that exists), opens a new one and
    /// calls [`Engine::log_rotated`].
    pub fn log_rotation_due(&self, now: Time) -> Option<LogRotation> {
        let time = self.next_log_rotation.filter(|t| now >= *t)?;
        let method = self.log_rotation_method()?;
        Some(LogRotation {
            time,
            method,
            archive_file_name: archive_file_name(time, &self.tz),
        })
    }

    /// After the daemon handled `rotation`: when the file was `rotated`, log the head of
    /// the new file (`LOG ROTATION`, `LOG VERSION`, `CURRENT … STATE` lines stamped with
    /// the rotation time); in any case schedule the next rotation from `now`.
    pub fn log_rotated(&mut self, rotation: &LogRotation, now: Time, rotated: bool) {
        if rotated {
            let t = rotation.time;
            self.record(
                t,
                picket_log::Record::LogRotation {
                    method: rotation.method.as_str(),
                },
            );
            self.record(t, picket_log::Record::LogVersion { version: "2.0" });
            if self.cfg.main.log_current_states {
                self.log_states(t, picket_log::StateDump::Current);
            }
        }
        self.next_log_rotation = Some(next_rotation(rotation.method, now, &self.tz));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz_ny() -> TimeZone {
        TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("posix tz")
    }

    fn at(tz: &TimeZone, s: &str) -> Time {
        let dt: DateTime = s.parse().expect("datetime");
        tz.to_ambiguous_timestamp(dt)
            .compatible()
            .expect("ts")
            .as_second()
    }

    fn show(tz: &TimeZone, t: Time) -> String {
        local(t, tz).to_string()
    }

    #[test]
    fn methods_from_config() {
        assert_eq!(
            RotationMethod::from_config('d'),
            Some(RotationMethod::Daily)
        );
        assert_eq!(
            RotationMethod::from_config('H'),
            Some(RotationMethod::Hourly)
        );
        assert_eq!(RotationMethod::from_config('n'), None);
        assert_eq!(RotationMethod::from_config('x'), None);
        assert_eq!(RotationMethod::Weekly.as_str(), "WEEKLY");
    }

    #[test]
    fn boundaries_in_utc() {
        let tz = TimeZone::UTC;
        // Wednesday 2024-05-15 13:42:07.
        let now = at(&tz, "2024-05-15T13:42:07");
        let n = |m| show(&tz, next_rotation(m, now, &tz));
        assert_eq!(n(RotationMethod::Hourly), "2024-05-15T14:00:00");
        assert_eq!(n(RotationMethod::Daily), "2024-05-16T00:00:00");
        assert_eq!(n(RotationMethod::Weekly), "2024-05-19T00:00:00");
        assert_eq!(n(RotationMethod::Monthly), "2024-06-01T00:00:00");
        // Exactly on a boundary: the next one, never the same instant.
        let midnight = at(&tz, "2024-05-16T00:00:00");
        assert_eq!(
            show(&tz, next_rotation(RotationMethod::Daily, midnight, &tz)),
            "2024-05-17T00:00:00"
        );
        // Sunday: the following Sunday (Nagios: tm_mday += 7 - tm_wday).
        let sunday = at(&tz, "2024-05-19T08:00:00");
        assert_eq!(
            show(&tz, next_rotation(RotationMethod::Weekly, sunday, &tz)),
            "2024-05-26T00:00:00"
        );
        // December rolls over the year.
        let dec = at(&tz, "2024-12-31T23:59:59");
        assert_eq!(
            show(&tz, next_rotation(RotationMethod::Monthly, dec, &tz)),
            "2025-01-01T00:00:00"
        );
    }

    #[test]
    fn daily_rotation_follows_local_midnight_across_dst() {
        let tz = tz_ny();
        // 2024-03-10 is the spring-forward day in New York: the day has 23 hours.
        let before = at(&tz, "2024-03-09T12:00:00");
        let m1 = next_rotation(RotationMethod::Daily, before, &tz);
        assert_eq!(show(&tz, m1), "2024-03-10T00:00:00");
        let m2 = next_rotation(RotationMethod::Daily, m1, &tz);
        assert_eq!(show(&tz, m2), "2024-03-11T00:00:00");
        assert_eq!(m2 - m1, 23 * 3600);
        // 2024-11-03 falls back: 25 hours.
        let m3 = next_rotation(RotationMethod::Daily, at(&tz, "2024-11-03T00:00:00"), &tz);
        assert_eq!(show(&tz, m3), "2024-11-04T00:00:00");
        assert_eq!(m3 - at(&tz, "2024-11-03T00:00:00"), 25 * 3600);
    }

    #[test]
    fn hourly_rotation_across_dst_gaps_and_repeats() {
        let tz = tz_ny();
        // 01:30 EST on spring-forward day: 02:00 does not exist, the next rotation is
        // the first instant after the gap (03:00 EDT), half an hour later.
        let now = at(&tz, "2024-03-10T01:30:00");
        let next = next_rotation(RotationMethod::Hourly, now, &tz);
        assert_eq!(show(&tz, next), "2024-03-10T03:00:00");
        assert_eq!(next - now, 1800);
        // Fall back: from 01:30 EDT the next local full hour is 02:00 EST, 90 min later
        // (the repeated 01:00-02:00 hour is not a boundary of its own, as in Nagios).
        let now = at(&tz, "2024-11-03T01:30:00");
        let next = next_rotation(RotationMethod::Hourly, now, &tz);
        assert_eq!(show(&tz, next), "2024-11-03T02:00:00");
        assert_eq!(next - now, 5400);
    }

    #[test]
    fn archive_names_use_the_local_rotation_time() {
        let tz = tz_ny();
        let t = at(&tz, "2024-03-11T00:00:00");
        assert_eq!(archive_file_name(t, &tz), "nagios-03-11-2024-00.log");
        let t = at(&tz, "2024-12-05T17:00:00");
        assert_eq!(archive_file_name(t, &tz), "nagios-12-05-2024-17.log");
        // The same instant in UTC is another file name: the time zone is an input.
        assert_eq!(
            archive_file_name(t, &TimeZone::UTC),
            "nagios-12-05-2024-22.log"
        );
    }
}
