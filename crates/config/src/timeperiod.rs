//! Timeperiods: the full Nagios syntax and a pure evaluation API.
//!
//! Evaluation never reads the clock: the instant and the time zone are arguments.
//! Rules (Nagios 4 `check_time_against_period()`): for a given local day, the first
//! exception (date line) that covers the day decides the day's time ranges, in the
//! precedence calendar date > month date > day of month > weekday of a month > weekday
//! offset; without one, the weekday line applies. Times inside any `exclude`d period
//! (evaluated recursively) are not valid. A range that ends before it starts
//! (`monday 22:00-02:00`) is accepted and never valid, as in Nagios 4.4.6: ranges do not
//! cross midnight ([`TimeRange`]).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::diag::Location;
use crate::model::TimeperiodId;

/// A time-of-day range in seconds since local midnight, `start <= t < end`, end ≤ 86400.
///
/// A range written with its end before its start (`monday 22:00-02:00`) is kept as
/// written, like Nagios 4.4.6 does (its `objects.precache` prints it unchanged). It does
/// **not** cross midnight: Nagios' `check_time_against_period()` tests
/// `start <= t < end` on the same day, which no instant satisfies, so such a range is
/// never valid, neither on its own day nor on the next ([`TimeRange::is_reversed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start (inclusive).
    pub start: u32,
    /// End (exclusive).
    pub end: u32,
}

impl TimeRange {
    /// True when the end is before the start (`22:00-02:00`, `24:00-00:00`): Nagios
    /// accepts the range and never treats any instant in it as valid.
    pub fn is_reversed(&self) -> bool {
        self.end < self.start
    }
}

/// `HH:MM` of a number of seconds since midnight (`24:00` for 86400).
pub fn format_hhmm(secs: u32) -> String {
    format!("{:02}:{:02}", secs / 3600, secs / 60 % 60)
}

/// Which days a date exception covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSpec {
    /// `2007-01-28`, `2007-01-01 - 2008-02-01`, `2008-04-01 / 7` (open-ended with a skip).
    Calendar {
        /// First day (days since 1970-01-01).
        start: i64,
        /// Last day, `None` = forever (only with a skip) .
        end: Option<i64>,
    },
    /// `february 10`, `february -1`, `april 10 - may 15`, `july 10 - 15`.
    MonthDate {
        /// Start month 1..=12.
        smon: u8,
        /// Start day (negative: from the end of the month).
        sday: i8,
        /// End month.
        emon: u8,
        /// End day.
        eday: i8,
    },
    /// `day 2`, `day 1 - 15`, `day 20 - -1`.
    MonthDay {
        /// Start day (negative from the end).
        sday: i8,
        /// End day.
        eday: i8,
    },
    /// `thursday -1 november`, `tuesday 1 april - friday 2 may`.
    MonthWeekDay {
        /// Start weekday (0 = Sunday).
        swday: u8,
        /// Start offset (1 = first, -1 = last).
        soff: i8,
        /// Start month.
        smon: u8,
        /// End weekday.
        ewday: u8,
        /// End offset.
        eoff: i8,
        /// End month.
        emon: u8,
    },
    /// `monday 3`, `friday -2`, `monday 3 - thursday 4`.
    WeekDay {
        /// Start weekday.
        swday: u8,
        /// Start offset.
        soff: i8,
        /// End weekday.
        ewday: u8,
        /// End offset.
        eoff: i8,
    },
}

impl DateSpec {
    fn precedence(&self) -> u8 {
        match self {
            DateSpec::Calendar { .. } => 0,
            DateSpec::MonthDate { .. } => 1,
            DateSpec::MonthDay { .. } => 2,
            DateSpec::MonthWeekDay { .. } => 3,
            DateSpec::WeekDay { .. } => 4,
        }
    }
}

/// A date exception line: which days, every `skip` days, which times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The days.
    pub spec: DateSpec,
    /// `/ N`: only every N-th day from the start (0 or 1 = every day).
    pub skip: u32,
    /// Valid times on a matching day (empty = none, e.g. `00:00-00:00`).
    pub ranges: Vec<TimeRange>,
}

/// One parsed timeperiod line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodLine {
    /// `monday 09:00-17:00` (0 = Sunday).
    Weekday(u8, Vec<TimeRange>),
    /// A date exception.
    Exception(Exception),
}

impl PeriodLine {
    /// The time ranges of the line.
    pub fn ranges(&self) -> &[TimeRange] {
        match self {
            PeriodLine::Weekday(_, r) => r,
            PeriodLine::Exception(e) => &e.ranges,
        }
    }
}

/// `define timeperiod`.
#[derive(Debug, Clone)]
pub struct Timeperiod {
    /// Its id.
    pub id: TimeperiodId,
    /// `timeperiod_name`.
    pub name: Box<str>,
    /// `alias`.
    pub alias: Box<str>,
    /// Ranges per weekday, index 0 = Sunday.
    pub weekdays: [Vec<TimeRange>; 7],
    /// Exceptions, sorted by precedence (stable).
    pub exceptions: Vec<Exception>,
    /// `exclude`d periods.
    pub exclude: Vec<TimeperiodId>,
    /// Where it was defined.
    pub location: Location,
}

impl Timeperiod {
    /// Build from parsed lines (later weekday lines replace earlier ones for that day).
    pub fn new(
        id: TimeperiodId,
        name: Box<str>,
        alias: Box<str>,
        lines: Vec<PeriodLine>,
        exclude: Vec<TimeperiodId>,
        location: Location,
    ) -> Self {
        let mut weekdays: [Vec<TimeRange>; 7] = Default::default();
        let mut exceptions = Vec::new();
        for l in lines {
            match l {
                PeriodLine::Weekday(d, r) => {
                    if let Some(slot) = weekdays.get_mut(usize::from(d)) {
                        *slot = r;
                    }
                }
                PeriodLine::Exception(e) => exceptions.push(e),
            }
        }
        exceptions.sort_by_key(|e| e.spec.precedence());
        Timeperiod {
            id,
            name,
            alias,
            weekdays,
            exceptions,
            exclude,
            location,
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Lower-case name of a weekday index (0 = Sunday); `"?"` out of range.
pub fn weekday_name(i: u8) -> &'static str {
    WEEKDAYS.get(usize::from(i)).copied().unwrap_or("?")
}

/// Weekday index (0 = Sunday) of a lower-case name.
pub fn weekday_index(s: &str) -> Option<u8> {
    WEEKDAYS
        .iter()
        .position(|w| *w == s)
        .and_then(|i| u8::try_from(i).ok())
}

fn month_index(s: &str) -> Option<u8> {
    MONTHS
        .iter()
        .position(|w| *w == s)
        .and_then(|i| u8::try_from(i + 1).ok())
}

/// Parse `HH:MM-HH:MM[,HH:MM-HH:MM…]`. A range that ends before it starts is accepted
/// and kept (see [`TimeRange`]); the resolver warns about it.
pub fn parse_ranges(s: &str) -> Result<Vec<TimeRange>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part
            .split_once('-')
            .ok_or_else(|| format!("invalid time range '{part}' (expected HH:MM-HH:MM)"))?;
        let start =
            parse_hhmm(a.trim()).ok_or_else(|| format!("invalid time '{a}' in '{part}'"))?;
        let end = parse_hhmm(b.trim()).ok_or_else(|| format!("invalid time '{b}' in '{part}'"))?;
        out.push(TimeRange { start, end });
    }
    Ok(out)
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 3600 + m * 60)
}

fn parse_ymd(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || !(1970..=9999).contains(&y) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn parse_day(s: &str) -> Option<i8> {
    let v: i8 = s.parse().ok()?;
    if v == 0 || !(-31..=31).contains(&v) {
        return None;
    }
    Some(v)
}

fn parse_off(s: &str) -> Option<i8> {
    let v: i8 = s.parse().ok()?;
    if v == 0 || !(-5..=5).contains(&v) {
        return None;
    }
    Some(v)
}

/// Parse one timeperiod line, e.g. `monday 09:00-17:00` or
/// `tuesday 1 april - friday 2 may / 6 00:00-24:00`. The first token is the directive.
pub fn parse_line(line: &str) -> Result<PeriodLine, String> {
    let lower = line.to_ascii_lowercase();
    // Date part: tokens before the first one containing ':'.
    let mut toks: Vec<&str> = Vec::new();
    let mut times_at = lower.len();
    let mut pos = 0;
    for tok in lower.split_whitespace() {
        let at = lower[pos..].find(tok).map_or(pos, |i| pos + i);
        pos = at + tok.len();
        if tok.contains(':') {
            times_at = at;
            break;
        }
        // split "/N" and "-" glued to numbers is not supported by Nagios either, except "/N"
        if let Some(rest) = tok.strip_prefix('/') {
            toks.push("/");
            if !rest.is_empty() {
                toks.push(rest);
            }
        } else {
            toks.push(tok);
        }
    }
    let ranges = parse_ranges(&lower[times_at.min(lower.len())..])?;
    // Skip suffix "/ N".
    let mut skip = 0u32;
    if toks.len() >= 2 && toks[toks.len() - 2] == "/" {
        skip = toks[toks.len() - 1]
            .parse()
            .map_err(|_| format!("invalid skip interval in '{line}'"))?;
        toks.truncate(toks.len() - 2);
    }
    let bad = || format!("invalid timeperiod date specification '{}'", line.trim());
    let spec = match toks.as_slice() {
        [] => return Err(bad()),
        [w] if weekday_index(w).is_some() && skip == 0 => {
            return Ok(PeriodLine::Weekday(weekday_index(w).unwrap_or(0), ranges));
        }
        [d] if d.contains('-') => {
            let start = parse_ymd(d).ok_or_else(bad)?;
            DateSpec::Calendar {
                start,
                end: if skip > 1 { None } else { Some(start) },
            }
        }
        [a, "-", b] if a.contains('-') && b.contains('-') => {
            let start = parse_ymd(a).ok_or_else(bad)?;
            let end = parse_ymd(b).ok_or_else(bad)?;
            DateSpec::Calendar {
                start,
                end: Some(end),
            }
        }
        ["day", d] => {
            let d = parse_day(d).ok_or_else(bad)?;
            DateSpec::MonthDay { sday: d, eday: d }
        }
        ["day", a, "-", b] => DateSpec::MonthDay {
            sday: parse_day(a).ok_or_else(bad)?,
            eday: parse_day(b).ok_or_else(bad)?,
        },
        [m, d] if month_index(m).is_some() => {
            let mon = month_index(m).ok_or_else(bad)?;
            let d = parse_day(d).ok_or_else(bad)?;
            DateSpec::MonthDate {
                smon: mon,
                sday: d,
                emon: mon,
                eday: d,
            }
        }
        [m, d, "-", d2] if month_index(m).is_some() => {
            let mon = month_index(m).ok_or_else(bad)?;
            DateSpec::MonthDate {
                smon: mon,
                sday: parse_day(d).ok_or_else(bad)?,
                emon: mon,
                eday: parse_day(d2).ok_or_else(bad)?,
            }
        }
        [m, d, "-", m2, d2] if month_index(m).is_some() && month_index(m2).is_some() => {
            DateSpec::MonthDate {
                smon: month_index(m).ok_or_else(bad)?,
                sday: parse_day(d).ok_or_else(bad)?,
                emon: month_index(m2).ok_or_else(bad)?,
                eday: parse_day(d2).ok_or_else(bad)?,
            }
        }
        [w, n] if weekday_index(w).is_some() => {
            let wd = weekday_index(w).ok_or_else(bad)?;
            let o = parse_off(n).ok_or_else(bad)?;
            DateSpec::WeekDay {
                swday: wd,
                soff: o,
                ewday: wd,
                eoff: o,
            }
        }
        [w, n, m] if weekday_index(w).is_some() && month_index(m).is_some() => {
            let wd = weekday_index(w).ok_or_else(bad)?;
            let o = parse_off(n).ok_or_else(bad)?;
            let mon = month_index(m).ok_or_else(bad)?;
            DateSpec::MonthWeekDay {
                swday: wd,
                soff: o,
                smon: mon,
                ewday: wd,
                eoff: o,
                emon: mon,
            }
        }
        [w, n, "-", w2, n2] if weekday_index(w).is_some() && weekday_index(w2).is_some() => {
            DateSpec::WeekDay {
                swday: weekday_index(w).ok_or_else(bad)?,
                soff: parse_off(n).ok_or_else(bad)?,
                ewday: weekday_index(w2).ok_or_else(bad)?,
                eoff: parse_off(n2).ok_or_else(bad)?,
            }
        }
        [w, n, m, "-", w2, n2, m2]
            if weekday_index(w).is_some()
                && weekday_index(w2).is_some()
                && month_index(m).is_some()
                && month_index(m2).is_some() =>
        {
            DateSpec::MonthWeekDay {
                swday: weekday_index(w).ok_or_else(bad)?,
                soff: parse_off(n).ok_or_else(bad)?,
                smon: month_index(m).ok_or_else(bad)?,
                ewday: weekday_index(w2).ok_or_else(bad)?,
                eoff: parse_off(n2).ok_or_else(bad)?,
                emon: month_index(m2).ok_or_else(bad)?,
            }
        }
        _ => return Err(bad()),
    };
    Ok(PeriodLine::Exception(Exception { spec, skip, ranges }))
}

// ---------------------------------------------------------------------------
// Calendar arithmetic on days since 1970-01-01 (proleptic Gregorian).

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day number.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = y + i64::from(m <= 2);
    (
        i32::try_from(y).unwrap_or(i32::MAX),
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Weekday (0 = Sunday) of a day number.
fn weekday_of(days: i64) -> u8 {
    u8::try_from((days + 4).rem_euclid(7)).unwrap_or(0)
}

/// Day number of day `d` (negative from the end) of month `m` of year `y`.
fn month_day(y: i32, m: u32, d: i8) -> Option<i64> {
    let dim = i64::from(days_in_month(y, m));
    let dd = if d > 0 {
        i64::from(d)
    } else {
        dim + 1 + i64::from(d)
    };
    if dd < 1 || dd > dim {
        return None;
    }
    Some(days_from_civil(y, m, 1) + dd - 1)
}

/// Day number of the `off`-th `wday` (negative: from the end) of month `m` of year `y`.
fn nth_weekday(y: i32, m: u32, wday: u8, off: i8) -> Option<i64> {
    let first = days_from_civil(y, m, 1);
    let dim = i64::from(days_in_month(y, m));
    let last = first + dim - 1;
    if off > 0 {
        let delta = (i64::from(wday) - i64::from(weekday_of(first))).rem_euclid(7);
        let d = first + delta + 7 * (i64::from(off) - 1);
        (d <= last).then_some(d)
    } else {
        let delta = (i64::from(weekday_of(last)) - i64::from(wday)).rem_euclid(7);
        let d = last - delta - 7 * (i64::from(-off) - 1);
        (d >= first).then_some(d)
    }
}

fn prev_month(y: i32, m: u32) -> (i32, u32) {
    if m == 1 { (y - 1, 12) } else { (y, m - 1) }
}

fn add_months(y: i32, m: u32, k: u32) -> (i32, u32) {
    let idx = m - 1 + k;
    (y + i32::try_from(idx / 12).unwrap_or(0), idx % 12 + 1)
}

/// Does exception `e` cover day number `day`?
fn covers(e: &Exception, day: i64) -> bool {
    let (y, m, _) = civil_from_days(day);
    let check = |start: i64, end: i64| -> bool {
        day >= start && day <= end && (e.skip <= 1 || (day - start) % i64::from(e.skip) == 0)
    };
    match e.spec {
        DateSpec::Calendar { start, end } => check(start, end.unwrap_or(i64::MAX)),
        DateSpec::MonthDate {
            smon,
            sday,
            emon,
            eday,
        } => {
            // A range starting this year or (when it wraps) last year.
            [y, y - 1].into_iter().any(|sy| {
                let Some(s) = month_day(sy, u32::from(smon), sday) else {
                    return false;
                };
                let mut end = month_day(sy, u32::from(emon), eday)
                    .or_else(|| month_day(sy, u32::from(emon), -1));
                if end.is_none_or(|e| e < s) {
                    end = month_day(sy + 1, u32::from(emon), eday)
                        .or_else(|| month_day(sy + 1, u32::from(emon), -1));
                }
                end.is_some_and(|e| check(s, e))
            })
        }
        DateSpec::MonthDay { sday, eday } => {
            let (py, pm) = prev_month(y, m);
            [(y, m), (py, pm)].into_iter().any(|(sy, sm)| {
                let Some(s) = month_day(sy, sm, sday) else {
                    return false;
                };
                let mut end = month_day(sy, sm, eday);
                if end.is_none_or(|e| e < s) {
                    let (ny, nm) = add_months(sy, sm, 1);
                    end = month_day(ny, nm, eday).or_else(|| month_day(ny, nm, -1));
                }
                end.is_some_and(|e| check(s, e))
            })
        }
        DateSpec::MonthWeekDay {
            swday,
            soff,
            smon,
            ewday,
            eoff,
            emon,
        } => [y, y - 1].into_iter().any(|sy| {
            let Some(s) = nth_weekday(sy, u32::from(smon), swday, soff) else {
                return false;
            };
            let mut end = nth_weekday(sy, u32::from(emon), ewday, eoff);
            if end.is_none_or(|e| e < s) {
                end = nth_weekday(sy + 1, u32::from(emon), ewday, eoff);
            }
            end.is_some_and(|e| check(s, e))
        }),
        DateSpec::WeekDay {
            swday,
            soff,
            ewday,
            eoff,
        } => {
            let (py, pm) = prev_month(y, m);
            [(y, m), (py, pm)].into_iter().any(|(sy, sm)| {
                let Some(s) = nth_weekday(sy, sm, swday, soff) else {
                    return false;
                };
                let mut end = nth_weekday(sy, sm, ewday, eoff);
                if end.is_none_or(|e| e < s) {
                    let (ny, nm) = add_months(sy, sm, 1);
                    end = nth_weekday(ny, nm, ewday, eoff);
                }
                end.is_some_and(|e| check(s, e))
            })
        }
    }
}

/// Maximum exclusion nesting followed (cycles are rejected by validation anyway).
const MAX_DEPTH: u32 = 32;

/// Valid intervals of a local day, exclusions applied; sorted and disjoint.
pub fn day_intervals(periods: &[Timeperiod], id: TimeperiodId, day: i64) -> Vec<TimeRange> {
    day_intervals_depth(periods, id, day, 0)
}

fn day_intervals_depth(
    periods: &[Timeperiod],
    id: TimeperiodId,
    day: i64,
    depth: u32,
) -> Vec<TimeRange> {
    let Some(tp) = periods.get(id.index()) else {
        return Vec::new();
    };
    let own: &[TimeRange] = match tp.exceptions.iter().find(|e| covers(e, day)) {
        Some(e) => &e.ranges,
        None => &tp.weekdays[usize::from(weekday_of(day))],
    };
    // Empty (`00:00-00:00`) and reversed (`22:00-02:00`) ranges contain no instant.
    let mut v: Vec<TimeRange> = own.iter().copied().filter(|r| r.end > r.start).collect();
    v.sort_by_key(|r| r.start);
    // merge overlaps
    let mut merged: Vec<TimeRange> = Vec::with_capacity(v.len());
    for r in v {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    if depth >= MAX_DEPTH {
        return merged;
    }
    for ex in &tp.exclude {
        if merged.is_empty() {
            break;
        }
        let cut = day_intervals_depth(periods, *ex, day, depth + 1);
        merged = subtract(&merged, &cut);
    }
    merged
}

fn subtract(a: &[TimeRange], b: &[TimeRange]) -> Vec<TimeRange> {
    let mut out = Vec::new();
    for r in a {
        let mut pieces = vec![*r];
        for c in b {
            let mut next = Vec::new();
            for p in pieces {
                if c.end <= p.start || c.start >= p.end {
                    next.push(p);
                    continue;
                }
                if c.start > p.start {
                    next.push(TimeRange {
                        start: p.start,
                        end: c.start,
                    });
                }
                if c.end < p.end {
                    next.push(TimeRange {
                        start: c.end,
                        end: p.end,
                    });
                }
            }
            pieces = next;
        }
        out.extend(pieces);
    }
    out
}

fn local_parts(t: Timestamp, tz: &TimeZone) -> (i64, u32) {
    let dt = tz.to_datetime(t);
    let day = days_from_civil(
        i32::from(dt.year()),
        u32::try_from(dt.month()).unwrap_or(1),
        u32::try_from(dt.day()).unwrap_or(1),
    );
    let sec = u32::try_from(
        i32::from(dt.hour()) * 3600 + i32::from(dt.minute()) * 60 + i32::from(dt.second()),
    )
    .unwrap_or(0);
    (day, sec)
}

/// Is instant `t` (seen in time zone `tz`) inside period `id`?
pub fn is_valid(periods: &[Timeperiod], id: TimeperiodId, t: Timestamp, tz: &TimeZone) -> bool {
    let (day, sec) = local_parts(t, tz);
    day_intervals(periods, id, day)
        .iter()
        .any(|r| r.start <= sec && sec < r.end)
}

/// How many days ahead [`next_valid_time`] searches (covers leap-day-only periods).
pub const SEARCH_DAYS: i64 = 366 * 8 + 2;

/// The first instant ≥ `t` inside period `id`, or `None` if there is none within
/// [`SEARCH_DAYS`] days. Local times in a DST gap resolve like `compatible` in jiff
/// (forward).
pub fn next_valid_time(
    periods: &[Timeperiod],
    id: TimeperiodId,
    t: Timestamp,
    tz: &TimeZone,
) -> Option<Timestamp> {
    let (day0, sec0) = local_parts(t, tz);
    for off in 0..SEARCH_DAYS {
        let day = day0 + off;
        for r in day_intervals(periods, id, day) {
            if off == 0 && r.end <= sec0 {
                continue;
            }
            if off == 0 && r.start <= sec0 {
                return Some(t);
            }
            let (y, m, d) = civil_from_days(day);
            let secs = r.start.min(86_399);
            let dt = DateTime::new(
                i16::try_from(y).ok()?,
                i8::try_from(m).ok()?,
                i8::try_from(d).ok()?,
                i8::try_from(secs / 3600).ok()?,
                i8::try_from(secs / 60 % 60).ok()?,
                0,
                0,
            )
            .ok()?;
            let ts = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
            if ts >= t {
                return Some(ts);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn tp(lines: &[&str]) -> Vec<Timeperiod> {
        let parsed = lines
            .iter()
            .map(|l| parse_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        let file: Arc<Path> = Arc::from(Path::new("t.cfg"));
        vec![Timeperiod::new(
            TimeperiodId(0),
            "t".into(),
            "t".into(),
            parsed,
            vec![],
            Location::new(&file, 1),
        )]
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn periods(defs: &[(&[&str], &[u32])]) -> Vec<Timeperiod> {
        let file: Arc<Path> = Arc::from(Path::new("t.cfg"));
        defs.iter()
            .enumerate()
            .map(|(i, (lines, excl))| {
                let parsed = lines
                    .iter()
                    .map(|l| parse_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
                    .collect();
                Timeperiod::new(
                    TimeperiodId(u32::try_from(i).unwrap_or(0)),
                    format!("t{i}").into(),
                    "t".into(),
                    parsed,
                    excl.iter().map(|&e| TimeperiodId(e)).collect(),
                    Location::new(&file, 1),
                )
            })
            .collect()
    }

    // Reversed ranges, as observed with nagios4 4.4.6 (`nagios4 -v` accepts them, the
    // precache prints them unchanged, a notification_period with `wednesday 10:00-09:00`
    // at Wednesday 10:33, or `tuesday 12:00-11:00` at Wednesday 10:33, blocks the
    // notification: "This service shouldn't have notifications sent out at this time").
    #[test]
    fn reversed_range_is_kept_as_written() {
        assert_eq!(
            parse_line("monday 22:00-02:00"),
            Ok(PeriodLine::Weekday(
                1,
                vec![TimeRange {
                    start: 22 * 3600,
                    end: 2 * 3600
                }]
            ))
        );
        let l = parse_line("day 5 20:00-03:00,24:00-00:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.ranges().len(), 2);
        assert!(l.ranges().iter().all(TimeRange::is_reversed));
        assert!(!TimeRange { start: 0, end: 0 }.is_reversed());
        assert_eq!(format_hhmm(86_400), "24:00");
        assert_eq!(format_hhmm(22 * 3600 + 5 * 60), "22:05");
    }

    #[test]
    fn reversed_range_never_valid_and_does_not_cross_midnight() {
        let utc = TimeZone::UTC;
        let id = TimeperiodId(0);
        // 2026-11-23 is a Monday.
        let p = tp(&["monday 22:00-02:00"]);
        for t in [
            "2026-11-23T22:00:00Z",
            "2026-11-23T23:30:00Z",
            "2026-11-23T01:00:00Z",
            "2026-11-24T01:00:00Z",
            "2026-11-24T00:00:00Z",
        ] {
            assert!(!is_valid(&p, id, ts(t), &utc), "{t}");
        }
        assert_eq!(
            next_valid_time(&p, id, ts("2026-11-23T21:00:00Z"), &utc),
            None
        );
        // Next to real ranges it is skipped; the real ranges keep working.
        let p = tp(&[
            "monday 22:00-02:00",
            "tuesday 09:00-10:00,23:00-01:00,05:00-06:00",
        ]);
        assert_eq!(
            next_valid_time(&p, id, ts("2026-11-23T21:00:00Z"), &utc),
            Some(ts("2026-11-24T05:00:00Z"))
        );
        assert_eq!(
            next_valid_time(&p, id, ts("2026-11-24T06:00:00Z"), &utc),
            Some(ts("2026-11-24T09:00:00Z"))
        );
        assert_eq!(
            next_valid_time(&p, id, ts("2026-11-24T10:00:00Z"), &utc),
            Some(ts("2026-12-01T05:00:00Z"))
        );
        assert!(is_valid(&p, id, ts("2026-11-24T05:30:00Z"), &utc));
        assert!(is_valid(&p, id, ts("2026-11-24T09:59:59Z"), &utc));
        assert!(!is_valid(&p, id, ts("2026-11-24T23:30:00Z"), &utc));
        assert!(!is_valid(&p, id, ts("2026-11-25T00:30:00Z"), &utc));
        // 24:00-00:00 is reversed too.
        let p = tp(&["monday 24:00-00:00"]);
        assert!(!is_valid(&p, id, ts("2026-11-23T12:00:00Z"), &utc));
    }

    #[test]
    fn reversed_range_in_exception_blanks_the_day() {
        let utc = TimeZone::UTC;
        let id = TimeperiodId(0);
        // The exception covers Monday the 23rd, so the weekday line does not apply.
        let p = tp(&["monday 00:00-24:00", "day 23 20:00-03:00"]);
        for t in [
            "2026-11-23T01:00:00Z",
            "2026-11-23T12:00:00Z",
            "2026-11-23T21:00:00Z",
        ] {
            assert!(!is_valid(&p, id, ts(t), &utc), "{t}");
        }
        assert!(is_valid(&p, id, ts("2026-11-30T12:00:00Z"), &utc));
        assert_eq!(
            next_valid_time(&p, id, ts("2026-11-23T12:00:00Z"), &utc),
            Some(ts("2026-11-30T00:00:00Z"))
        );
    }

    #[test]
    fn excluded_reversed_range_excludes_nothing() {
        let utc = TimeZone::UTC;
        let p = periods(&[
            (&["monday 00:00-24:00"], &[1]),
            (&["monday 10:00-09:00"], &[]),
        ]);
        for t in [
            "2026-11-23T08:30:00Z",
            "2026-11-23T09:30:00Z",
            "2026-11-23T23:00:00Z",
        ] {
            assert!(is_valid(&p, TimeperiodId(0), ts(t), &utc), "{t}");
        }
        assert_eq!(
            next_valid_time(&p, TimeperiodId(0), ts("2026-11-23T09:30:00Z"), &utc),
            Some(ts("2026-11-23T09:30:00Z"))
        );
    }

    #[test]
    fn calendar_roundtrip() {
        for d in [-1000, 0, 59, 365, 11_000, 20_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(weekday_of(days_from_civil(2026, 11, 25)), 3); // Wednesday
    }

    #[test]
    fn parses_all_documented_forms() {
        for l in [
            "2007-01-28 00:00-24:00",
            "monday 3 00:00-24:00",
            "day 2 00:00-24:00",
            "february 10 00:00-24:00",
            "february -1 00:00-24:00",
            "friday -2 00:00-24:00",
            "thursday -1 november 00:00-24:00",
            "2007-01-01 - 2008-02-01 00:00-24:00",
            "monday 3 - thursday 4 00:00-24:00",
            "day 1 - 15 00:00-24:00",
            "day 20 - -1 00:00-24:00",
            "july 10 - 15 00:00-24:00",
            "april 10 - may 15 00:00-24:00",
            "tuesday 1 april - friday 2 may 00:00-24:00",
            "2007-02-01 - 2007-02-28 / 5 00:00-24:00",
            "day 1 - 31 / 7 00:00-24:00",
            "july 10 - 15 / 2 00:00-24:00",
            "tuesday 1 april - friday 2 may / 6 00:00-24:00",
            "2008-04-01 / 7 00:00-24:00",
            "monday 00:00-09:00,17:00-24:00",
            "january 1 00:00-00:00",
        ] {
            assert!(parse_line(l).is_ok(), "{l}");
        }
        for l in [
            "mondai 00:00-01:00",
            "monday 25:00-26:00",
            "day 0 00:00-01:00",
            "x",
        ] {
            assert!(parse_line(l).is_err(), "{l}");
        }
    }

    #[test]
    fn weekday_and_holiday_exception() {
        let p = tp(&[
            "monday 09:00-17:00",
            "thursday 09:00-17:00",
            "thursday -1 november 00:00-00:00",
        ]);
        let utc = TimeZone::UTC;
        // Monday 2026-11-23 10:00 UTC
        assert!(is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-11-23T10:00:00Z"),
            &utc
        ));
        assert!(!is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-11-23T17:00:00Z"),
            &utc
        ));
        // Last Thursday of November 2026 is the 26th: excluded by the exception.
        assert!(!is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-11-26T10:00:00Z"),
            &utc
        ));
        assert!(is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-11-19T10:00:00Z"),
            &utc
        ));
        // Next valid after Thursday 26th 10:00 is Monday 30th 09:00.
        assert_eq!(
            next_valid_time(&p, TimeperiodId(0), ts("2026-11-26T10:00:00Z"), &utc),
            Some(ts("2026-11-30T09:00:00Z"))
        );
    }

    #[test]
    fn time_zone_is_an_input() {
        let p = tp(&["monday 09:00-10:00"]);
        let paris = TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC);
        if paris == TimeZone::UTC {
            return; // no tzdb on this system; UTC covered above
        }
        // 08:30 UTC = 09:30 Paris (winter).
        assert!(is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-11-23T08:30:00Z"),
            &paris
        ));
        assert!(!is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-11-23T08:30:00Z"),
            &TimeZone::UTC
        ));
    }

    #[test]
    fn skip_and_month_ranges() {
        let p = tp(&["2026-01-01 / 7 00:00-24:00"]);
        let utc = TimeZone::UTC;
        assert!(is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-01-08T12:00:00Z"),
            &utc
        ));
        assert!(!is_valid(
            &p,
            TimeperiodId(0),
            ts("2026-01-09T12:00:00Z"),
            &utc
        ));
        let p = tp(&["november 20 - february 10 00:00-24:00"]);
        assert!(is_valid(
            &p,
            TimeperiodId(0),
            ts("2027-01-15T12:00:00Z"),
            &utc
        ));
        assert!(!is_valid(
            &p,
            TimeperiodId(0),
            ts("2027-03-15T12:00:00Z"),
            &utc
        ));
        let p = tp(&["day 20 - -1 00:00-24:00"]);
        assert!(is_valid(
            &p,
            TimeperiodId(0),
            ts("2027-02-28T12:00:00Z"),
            &utc
        ));
        assert!(!is_valid(
            &p,
            TimeperiodId(0),
            ts("2027-02-19T12:00:00Z"),
            &utc
        ));
        let p = tp(&[]);
        assert_eq!(
            next_valid_time(&p, TimeperiodId(0), ts("2027-02-28T12:00:00Z"), &utc),
            None
        );
    }
}
