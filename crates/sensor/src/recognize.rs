//! The recognizer: log lines in, [`ConnectionEvent`]s out. Sans-I/O and deterministic.
//!
//! One pass per line: the header (RFC 3164 or RFC 5424 syslog, an ISO 8601 time, a bare
//! `host prog[pid]:` as `journalctl -o short` prints it, or nothing) is cut once, then the
//! program name picks one small matcher that tests a handful of literal prefixes of the
//! message. No regular expressions.
//!
//! What is recognized (see the unit tests for one line of each):
//! * libwrap refusals in any program: `refused connect from X (A)`; xinetd's
//!   `libwrap refused connection to S (libwrap=S) from X` and `FAIL: S libwrap from=X`;
//!   rpcbind's and mountd's `... request from unauthorized host`; nrpe's `Host X is not
//!   allowed to talk to us!`; openbsd-inetd's `refused connection from X, service S`;
//!   vsftpd's `Connection refused: tcp_wrappers denial`. Kind [`Kind::Refused`].
//! * sshd (`sshd`, `sshd-session`, `sshd-auth`): invalid users, `Failed <method> for`,
//!   `User X from H not allowed because`, PAM failures, `maximum authentication attempts`,
//!   disconnects, closes and resets before authentication (`[preauth]`), `Did not receive
//!   identification string`, `Bad protocol version identification`, `banner exchange`,
//!   `kex_exchange_identification` (the address comes from the connection's earlier or
//!   later line of the same pid), `Unable to negotiate`, `Timeout before authentication`:
//!   kind [`Kind::AuthFail`] (probes and version scans included: the correlator's kinds
//!   have no separate "probe"); OpenSSH 9.8+ PerSourcePenalties `drop connection #N from
//!   [A]:P on [B]:Q penalty: ...`: kind [`Kind::Refused`] (sshd refused the source itself).
//!   A `Failed publickey` for an existing user is not an event: clients offer several keys
//!   and the last failure (`Too many authentication failures`) is reported instead.
//! * kernel netfilter `LOG` lines (`PREFIX IN=.. OUT=.. SRC=.. DST=.. PROTO=.. SPT=..
//!   DPT=..`), from syslog (`kernel:`), the journal or `/dev/kmsg`: kind
//!   [`Kind::FirewallDrop`], or [`Kind::Trap`] when the log prefix contains `trap`
//!   (case-insensitive); the daemon is the prefix (or `netfilter`). TCP packets with `ACK`
//!   set (established traffic, backscatter) are not events.
//!
//! Time: an RFC 5424 or ISO 8601 timestamp with a zone gives the event time. An RFC 3164
//! stamp (`Mmm dd hh:mm:ss`, no year, no zone) is read as local time at the recognizer's
//! UTC offset ([`Recognizer::with_utc_offset`]; the binary gives the host's offset at its
//! start, so lines written across a daylight-saving change are an hour off), in the year of
//! `now`, or the year before when that would put it more than [`FUTURE_SLACK`] after
//! `now` (December's lines read in January). Lines without a stamp take the caller's
//! `now`.
//!
//! State: sshd logs some failures without an address (`Disconnecting: Too many
//! authentication failures`, `kex_exchange_identification: ...`); the address is taken
//! from the same pid's `Connection from A port P on B port Q` line, or the failure waits
//! for that pid's next line with an address. At most [`PID_CAP`] pids are remembered
//! (oldest forgotten first).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use picket_correlator::{ConnectionEvent, Kind, Proto, Source};

/// Pids of sshd remembered for the address of address-less lines.
pub const PID_CAP: usize = 4096;
/// Lines longer than this are cut before they are looked at.
pub const LINE_CAP: usize = 8192;
/// An RFC 3164 stamp at most this far (seconds) after `now` is taken as the current
/// year's (clocks of the hosts that wrote the file may be a little ahead); further, as
/// the previous year's.
pub const FUTURE_SLACK: i64 = 2 * 86_400;

/// A line split into its syslog parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Seconds since the epoch, when the line carried a zoned timestamp.
    pub time: Option<i64>,
    /// An RFC 3164 stamp (local time, no zone): month 1-12, day, seconds of the day,
    /// and the year when one followed the clock (`Mmm dd hh:mm:ss yyyy`).
    pub local: Option<LocalStamp>,
    /// The program name (`sshd`, `kernel`, ...), empty when none was found.
    pub ident: &'a str,
    /// The pid, when given.
    pub pid: Option<u32>,
    /// The message.
    pub msg: &'a str,
}

/// An RFC 3164 time stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalStamp {
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// Seconds since local midnight.
    pub secs: i64,
    /// The year, when the line gave one.
    pub year: Option<i32>,
}

impl LocalStamp {
    /// Seconds since the epoch at UTC offset `offset`, the year inferred from `now`.
    #[must_use]
    pub fn resolve(&self, now: i64, offset: i64) -> i64 {
        let at = |y: i32| {
            picket_config::timeperiod::days_from_civil(y, self.month, self.day) * 86_400 + self.secs
                - offset
        };
        if let Some(y) = self.year {
            return at(y);
        }
        let (year, _, _) =
            picket_config::timeperiod::civil_from_days((now + offset).div_euclid(86_400));
        let t = at(year);
        if t > now + FUTURE_SLACK {
            at(year - 1)
        } else {
            t
        }
    }
}

/// (year, month, day).
type Date = (i32, u32, u32);

/// [`LocalStamp::resolve`] with the calendar arithmetic of the last day and date kept:
/// a log's lines mostly share both.
#[derive(Debug, Clone, Default)]
struct StampCache {
    /// (local day number of `now`, its year).
    today: Option<(i64, i32)>,
    /// ((year, month, day), its day number), one slot per year parity: the current
    /// year's and the previous year's do not evict each other.
    dates: [Option<(Date, i64)>; 2],
}

impl StampCache {
    fn resolve(&mut self, l: &LocalStamp, now: i64, offset: i64) -> i64 {
        let mut day_of = |y: i32| {
            let slot = &mut self.dates[(y & 1) as usize];
            match *slot {
                Some((k, d)) if k == (y, l.month, l.day) => d,
                _ => {
                    let d = picket_config::timeperiod::days_from_civil(y, l.month, l.day);
                    *slot = Some(((y, l.month, l.day), d));
                    d
                }
            }
        };
        if let Some(y) = l.year {
            return day_of(y) * 86_400 + l.secs - offset;
        }
        let today = (now + offset).div_euclid(86_400);
        let year = match self.today {
            Some((d, y)) if d == today => y,
            _ => {
                let y = picket_config::timeperiod::civil_from_days(today).0;
                self.today = Some((today, y));
                y
            }
        };
        let t = day_of(year) * 86_400 + l.secs - offset;
        if t > now + FUTURE_SLACK {
            day_of(year - 1) * 86_400 + l.secs - offset
        } else {
            t
        }
    }
}

/// Counters of what the recognizer saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines given.
    pub lines: u64,
    /// Events produced.
    pub events: u64,
    /// Lines longer than [`LINE_CAP`] (cut).
    pub long_lines: u64,
    /// Pids forgotten at [`PID_CAP`].
    pub pid_evictions: u64,
}

#[derive(Debug, Clone, Default)]
struct PidInfo {
    source: Option<Source>,
    src_port: Option<u16>,
    dest: Option<(IpAddr, u16)>,
    /// An address-less failure waiting for the address.
    pending: Option<String>,
}

/// The recognizer of one reporting host.
#[derive(Debug, Clone)]
pub struct Recognizer {
    reporter: String,
    utc_offset: i64,
    stamps: StampCache,
    pids: HashMap<u32, PidInfo>,
    order: VecDeque<u32>,
    stats: Stats,
}

impl Recognizer {
    /// A recognizer whose events are reported by `reporter` (the host's Nagios name).
    #[must_use]
    pub fn new(reporter: &str) -> Self {
        Recognizer {
            reporter: reporter.to_string(),
            utc_offset: 0,
            stamps: StampCache::default(),
            pids: HashMap::new(),
            order: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Reads RFC 3164 stamps as local time `offset` seconds east of UTC (default 0).
    #[must_use]
    pub fn with_utc_offset(mut self, offset: i64) -> Self {
        self.utc_offset = offset;
        self
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A line of a syslog file (RFC 3164, RFC 5424, ISO-stamped, or `journalctl -o short`).
    pub fn line(&mut self, now: i64, line: &str) -> Option<ConnectionEvent> {
        self.stats.lines += 1;
        let line = self.cap(line);
        let h = parse_header(line);
        let time = h
            .time
            .or_else(|| {
                h.local
                    .map(|l| self.stamps.resolve(&l, now, self.utc_offset))
            })
            .unwrap_or(now);
        self.dispatch(time, h.ident, h.pid, h.msg, line)
    }

    /// One `/dev/kmsg` record (`pri,seq,usec,flags;message`), or a bare kernel message.
    pub fn kmsg(&mut self, now: i64, record: &str) -> Option<ConnectionEvent> {
        self.stats.lines += 1;
        let record = self.cap(record);
        let msg = match record.split_once(';') {
            Some((head, msg))
                if head.bytes().all(|b| {
                    b.is_ascii_digit() || b == b',' || b == b'-' || b.is_ascii_alphabetic()
                }) =>
            {
                msg
            }
            _ => record,
        };
        let msg = msg.split('\n').next().unwrap_or("");
        self.dispatch(now, "kernel", None, msg, msg)
    }

    /// A message whose program and pid are known (a journal entry's `SYSLOG_IDENTIFIER`,
    /// `_PID` and `MESSAGE`); `time` is the entry's.
    pub fn message(
        &mut self,
        time: i64,
        ident: &str,
        pid: Option<u32>,
        msg: &str,
    ) -> Option<ConnectionEvent> {
        self.stats.lines += 1;
        let msg = self.cap(msg);
        self.dispatch(time, ident, pid, msg, msg)
    }

    fn cap<'a>(&mut self, s: &'a str) -> &'a str {
        if s.len() > LINE_CAP {
            self.stats.long_lines += 1;
            let mut i = LINE_CAP;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            &s[..i]
        } else {
            s
        }
    }

    fn dispatch(
        &mut self,
        time: i64,
        ident: &str,
        pid: Option<u32>,
        msg: &str,
        raw: &str,
    ) -> Option<ConnectionEvent> {
        let msg = msg.trim_end_matches(['\r', '\n', ' ']);
        let found = match ident {
            "sshd" | "sshd-session" | "sshd-auth" => self.sshd(pid, msg),
            "kernel" | "" => netfilter(msg).or_else(|| libwrap(ident, msg)),
            _ => libwrap(ident, msg),
        };
        let f = found?;
        let daemon = f
            .daemon
            .unwrap_or(if ident.is_empty() { "-" } else { ident });
        let mut ev = ConnectionEvent::new(time, &self.reporter, f.source, f.kind).daemon(daemon);
        if let Some(port) = f.dest_port {
            ev = ev.port(f.proto.unwrap_or(Proto::Tcp), port);
        } else {
            ev.proto = f.proto;
        }
        ev.dest_addr = f.dest_addr;
        ev.raw = raw.trim_end_matches(['\r', '\n']).to_string();
        self.stats.events += 1;
        Some(ev.bounded())
    }

    fn pid_entry(&mut self, pid: u32) -> &mut PidInfo {
        if !self.pids.contains_key(&pid) {
            if self.pids.len() >= PID_CAP {
                if let Some(old) = self.order.pop_front() {
                    self.pids.remove(&old);
                    self.stats.pid_evictions += 1;
                }
            }
            self.order.push_back(pid);
        }
        self.pids.entry(pid).or_default()
    }

    fn sshd(&mut self, pid: Option<u32>, msg: &str) -> Option<Found<'static>> {
        let msg = strip_prefix_any(msg, &["error: ", "fatal: ", "warning: "]);
        let msg = strip_solaris_id(strip_kernel_stamp(msg));
        match sshd_line(msg) {
            Ssh::Event(a, kind, dest) => {
                let mut f = Found::new(a.source.clone(), kind);
                if let Some((ip, port)) = dest {
                    f.dest_addr = Some(ip);
                    f.dest_port = Some(port);
                }
                if let Some(pid) = pid {
                    let e = self.pid_entry(pid);
                    e.source = Some(a.source);
                    e.src_port = a.port;
                    e.pending = None;
                    if f.dest_port.is_none() {
                        if let Some((ip, port)) = e.dest {
                            f.dest_addr = Some(ip);
                            f.dest_port = Some(port);
                        }
                    }
                }
                Some(f)
            }
            Ssh::Connection(a, dest) => {
                if let Some(pid) = pid {
                    let e = self.pid_entry(pid);
                    e.source = Some(a.source);
                    e.src_port = a.port;
                    e.dest = dest;
                    e.pending = None;
                }
                None
            }
            Ssh::Anonymous => {
                let pid = pid?;
                let e = self.pid_entry(pid);
                match e.source.clone() {
                    Some(s) => {
                        let mut f = Found::new(s, Kind::AuthFail);
                        if let Some((ip, port)) = e.dest {
                            f.dest_addr = Some(ip);
                            f.dest_port = Some(port);
                        }
                        Some(f)
                    }
                    None => {
                        e.pending = Some(String::new());
                        None
                    }
                }
            }
            Ssh::Closed(a) => {
                // A close without `[preauth]`: an event only when a failure waits for it.
                let pid = pid?;
                let e = self.pid_entry(pid);
                let pending = e.pending.take().is_some();
                e.source = Some(a.source.clone());
                pending.then(|| Found::new(a.source, Kind::AuthFail))
            }
            Ssh::Success => {
                if let Some(pid) = pid {
                    if let Some(e) = self.pids.get_mut(&pid) {
                        e.pending = None;
                    }
                }
                None
            }
            Ssh::Nothing => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Found<'a> {
    source: Source,
    kind: Kind,
    daemon: Option<&'a str>,
    dest_addr: Option<IpAddr>,
    dest_port: Option<u16>,
    proto: Option<Proto>,
}

impl<'a> Found<'a> {
    fn new(source: Source, kind: Kind) -> Self {
        Found {
            source,
            kind,
            daemon: None,
            dest_addr: None,
            dest_port: None,
            proto: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Headers.

/// Splits a syslog line into time, program, pid and message. Never fails: a line without
/// a recognizable header is all message, with an empty program.
#[must_use]
pub fn parse_header(line: &str) -> Header<'_> {
    let mut s = line;
    // <PRI>
    if let Some(rest) = s.strip_prefix('<') {
        if let Some(end) = rest.find('>') {
            if end <= 3 && rest[..end].bytes().all(|b| b.is_ascii_digit()) {
                s = &rest[end + 1..];
                if let Some(r) = s.strip_prefix("1 ") {
                    return rfc5424(r).unwrap_or(Header {
                        time: None,
                        local: None,
                        ident: "",
                        pid: None,
                        msg: r,
                    });
                }
            }
        }
    }
    let mut time = None;
    let mut local = None;
    let month = (s.len() >= 15 && s.as_bytes()[3] == b' ')
        .then(|| month_number(&s.as_bytes()[..3]))
        .flatten();
    if let Some(month) = month {
        // "Mmm dd hh:mm:ss" (day padded with a space or not), maybe a year after it.
        let rest = s[4..].trim_start_matches(' ');
        let (day, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if day.len() <= 2 && day.bytes().all(|b| b.is_ascii_digit()) && is_clock(rest) {
            let b = rest.as_bytes();
            let two = |i: usize| i64::from(b[i] - b'0') * 10 + i64::from(b[i + 1] - b'0');
            let (h, m, sec) = (two(0), two(3), two(6));
            let day: u32 = day.parse().unwrap_or(0);
            let valid = (1..=31).contains(&day) && h < 24 && m < 60 && sec <= 60;
            s = &rest[8..];
            s = s.strip_prefix(' ').unwrap_or(s);
            let mut year = None;
            if s.len() > 5
                && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                && s.as_bytes()[4] == b' '
            {
                year = s[..4].parse().ok();
                s = &s[5..];
            }
            if valid {
                local = Some(LocalStamp {
                    month,
                    day,
                    secs: h * 3600 + m * 60 + sec,
                    year,
                });
            }
        }
    } else if s.len() >= 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' {
        let (stamp, rest) = s.split_once(' ').unwrap_or((s, ""));
        if let Some(t) = parse_iso(stamp) {
            time = Some(t);
            s = rest;
        }
    }
    let s = s.trim_start_matches(' ');
    // Now either "host tag: msg", "tag: msg", "[tag]: msg" or "[tag] msg".
    let (first, rest) = s.split_once(' ').unwrap_or((s, ""));
    if let Some((ident, pid)) = tag(first) {
        return Header {
            time,
            local,
            ident,
            pid,
            msg: rest.trim_start_matches(' '),
        };
    }
    let (second, rest2) = rest.split_once(' ').unwrap_or((rest, ""));
    if let Some((ident, pid)) = tag(second) {
        if !first.is_empty() {
            return Header {
                time,
                local,
                ident,
                pid,
                msg: rest2.trim_start_matches(' '),
            };
        }
    }
    Header {
        time,
        local,
        ident: "",
        pid: None,
        msg: s,
    }
}

/// `Jan` → 1 ... `Dec` → 12.
fn month_number(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

fn is_clock(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b[2] == b':'
        && b[5] == b':'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
}

/// `name[pid]:`, `name:`, `[name]:`, `[name]` → (name, pid).
fn tag(t: &str) -> Option<(&str, Option<u32>)> {
    if let Some(inner) = t.strip_prefix('[') {
        let inner = inner.strip_suffix(':').unwrap_or(inner);
        let name = inner.strip_suffix(']')?;
        return is_ident(name).then_some((name, None));
    }
    let t = t.strip_suffix(':')?;
    if let Some(open) = t.find('[') {
        let name = &t[..open];
        let pid = t[open + 1..].strip_suffix(']')?.parse().ok()?;
        return is_ident(name).then_some((name, Some(pid)));
    }
    is_ident(t).then_some((t, None))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'(' | b')')
        })
}

/// `TIMESTAMP HOST APP PROCID MSGID SD MSG` (after `<PRI>1 `).
fn rfc5424(s: &str) -> Option<Header<'_>> {
    let mut it = s.splitn(6, ' ');
    let stamp = it.next()?;
    let _host = it.next()?;
    let app = it.next()?;
    let procid = it.next()?;
    let _msgid = it.next()?;
    let mut rest = it.next().unwrap_or("");
    // Structured data: "-" or one or more [..] elements (values may hold escaped "]").
    if let Some(r) = rest.strip_prefix('-') {
        rest = r;
    } else {
        while rest.starts_with('[') {
            let b = rest.as_bytes();
            let mut i = 1;
            let mut quoted = false;
            while i < b.len() {
                match b[i] {
                    b'\\' if quoted => i += 1,
                    b'"' => quoted = !quoted,
                    b']' if !quoted => break,
                    _ => {}
                }
                i += 1;
            }
            rest = rest.get(i + 1..).unwrap_or("");
        }
    }
    let msg = rest.strip_prefix(' ').unwrap_or(rest);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Some(Header {
        time: parse_iso(stamp),
        local: None,
        ident: if app == "-" { "" } else { app },
        pid: procid.parse().ok(),
        msg,
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` → seconds since the epoch.
#[must_use]
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let off = match b.get(i)? {
        b'Z' | b'z' => 0,
        c @ (b'+' | b'-') => {
            let oh = num(i + 1..i + 3)?;
            let om = if b.get(i + 3) == Some(&b':') {
                num(i + 4..i + 6)?
            } else {
                num(i + 3..i + 5)?
            };
            let o = oh * 3600 + om * 60;
            if *c == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = picket_config::timeperiod::days_from_civil(
        i32::try_from(y).ok()?,
        u32::try_from(mo).ok()?,
        u32::try_from(d).ok()?,
    );
    Some(days * 86400 + h * 3600 + mi * 60 + sec - off)
}

// ---------------------------------------------------------------------------------------
// Addresses.

#[derive(Debug, Clone)]
struct Addr {
    source: Source,
    port: Option<u16>,
}

/// An address, `[address]`, `::ffff:a.b.c.d`, or (when `names`) a host name.
fn parse_source(tok: &str, names: bool) -> Option<Source> {
    let tok = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(tok);
    if let Ok(ip) = tok.parse::<IpAddr>() {
        return Some(Source::addr(ip));
    }
    if names && is_host_name(tok) {
        return Some(Source::Name(tok.to_ascii_lowercase()));
    }
    None
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with(['-', '.'])
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// `ADDR[ port N]` at the start of `s` → (addr, rest after it).
fn addr_port(s: &str, names: bool) -> Option<(Addr, &str)> {
    let end = s.find([' ', ',', ':']).unwrap_or(s.len());
    // An IPv6 address holds ':'; take the whole token up to a space or comma then.
    let (tok, rest) = match s[..end].parse::<IpAddr>() {
        Ok(_) => (&s[..end], &s[end..]),
        Err(_) => {
            let e2 = s.find([' ', ',']).unwrap_or(s.len());
            let t = &s[..e2];
            let t = t.strip_suffix(':').unwrap_or(t);
            (t, &s[t.len()..])
        }
    };
    let source = parse_source(tok, names)?;
    let mut rest = rest;
    let mut port = None;
    if let Some(r) = rest.strip_prefix(" port ") {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        port = r[..n].parse().ok();
        rest = &r[n..];
    }
    Some((Addr { source, port }, rest))
}

fn strip_prefix_any<'a>(s: &'a str, ps: &[&str]) -> &'a str {
    for p in ps {
        if let Some(r) = s.strip_prefix(p) {
            return r;
        }
    }
    s
}

/// `kernel:[  970.699396]: `, `kernel: [ 970.6] ` (a kernel time stamp copied into the
/// message by some relays).
fn strip_kernel_stamp(s: &str) -> &str {
    let Some(r) = s.strip_prefix("kernel:") else {
        return s;
    };
    let r = r.trim_start_matches(' ');
    let Some(r) = r.strip_prefix('[') else {
        return s;
    };
    let Some(end) = r.find(']') else { return s };
    let r = &r[end + 1..];
    let r = r.strip_prefix(':').unwrap_or(r);
    r.trim_start_matches(' ')
}

/// Solaris' `[ID 800047 auth.info] `.
fn strip_solaris_id(s: &str) -> &str {
    if let Some(r) = s.strip_prefix("[ID ") {
        if let Some(end) = r.find("] ") {
            return &r[end + 2..];
        }
    }
    s
}

// ---------------------------------------------------------------------------------------
// sshd.

enum Ssh {
    Event(Addr, Kind, Option<(IpAddr, u16)>),
    /// `Connection from A port P on B port Q`: remember, no event.
    Connection(Addr, Option<(IpAddr, u16)>),
    /// A failure without an address.
    Anonymous,
    /// A close without `[preauth]` (an event only if a failure waits for it).
    Closed(Addr),
    /// Accepted: forget the pid's waiting failure.
    Success,
    Nothing,
}

fn ev(a: Addr) -> Ssh {
    Ssh::Event(a, Kind::AuthFail, None)
}

/// What follows the address of a `Failed ...`/`Invalid user` line may be: nothing,
/// ` ssh2`, ` [preauth]`, `: auth info`, ` on ...`, ` via ...`.
fn tail_ok(rest: &str) -> bool {
    let r = rest
        .strip_prefix(" ssh2")
        .or_else(|| rest.strip_prefix(" ssh1"))
        .unwrap_or(rest);
    let r = r.trim_end();
    r.is_empty()
        || r == "[preauth]"
        || r.starts_with(": ")
        || r.starts_with(" on ")
        || r.starts_with(" via ")
        || r.starts_with(" rdomain")
        || r.strip_prefix(' ').is_some_and(|x| x.trim() == "[preauth]")
}

/// The first ` from ADDR...` whose tail is acceptable (user names and auth info are the
/// client's and may hold ` from `).
fn first_from(s: &str) -> Option<Addr> {
    let mut at = 0;
    while let Some(i) = s[at..].find(" from ") {
        let start = at + i + 6;
        if let Some((a, rest)) = addr_port(&s[start..], true) {
            if tail_ok(rest) {
                return Some(a);
            }
        }
        at = start;
    }
    None
}

/// `... ADDR port N[ ...]`: the address just before the last ` port `.
fn addr_before_port(s: &str) -> Option<Addr> {
    let i = s.rfind(" port ")?;
    let head = &s[..i];
    let tok = head.rsplit(' ').next()?;
    let source = parse_source(tok, true)?;
    let r = &s[i + 6..];
    let n = r.bytes().take_while(u8::is_ascii_digit).count();
    Some(Addr {
        source,
        port: r[..n].parse().ok(),
    })
}

fn preauth(s: &str) -> bool {
    s.ends_with("[preauth]")
}

fn sshd_line(m: &str) -> Ssh {
    let Some(c) = m.as_bytes().first() else {
        return Ssh::Nothing;
    };
    match c {
        b'F' => {
            if let Some(r) = m.strip_prefix("Failed ") {
                // "Failed publickey for git from ..." (a known user offering keys): no event.
                // Its address is remembered for a later `Too many authentication failures`.
                if r.starts_with("publickey for ") && !r.starts_with("publickey for invalid user ")
                {
                    return first_from(r).map_or(Ssh::Nothing, |a| Ssh::Connection(a, None));
                }
                return first_from(r).map_or(Ssh::Nothing, ev);
            }
        }
        b'I' => {
            if let Some(r) = m.strip_prefix("Invalid user ") {
                return first_from(&format!(" {r}")).map_or(Ssh::Nothing, ev);
            }
        }
        b'U' => {
            if m.starts_with("User ") && m.contains(" not allowed because ") {
                if let Some(i) = m.find(" not allowed because ") {
                    let head = &m[..i];
                    if let Some(j) = head.rfind(" from ") {
                        return parse_source(&head[j + 6..], true).map_or(Ssh::Nothing, |s| {
                            ev(Addr {
                                source: s,
                                port: None,
                            })
                        });
                    }
                }
                return Ssh::Nothing;
            }
            if let Some(r) = m.strip_prefix("Unable to negotiate with ") {
                return addr_port(r, true).map_or(Ssh::Nothing, |(a, _)| ev(a));
            }
            if m.starts_with("Unable to negotiate") {
                return Ssh::Anonymous;
            }
        }
        b'R' => {
            if let Some(r) = m.strip_prefix("ROOT LOGIN REFUSED FROM ") {
                return addr_port(r, true).map_or(Ssh::Nothing, |(a, _)| ev(a));
            }
            if let Some(r) = m.strip_prefix("Received disconnect from ") {
                let Some((a, rest)) = addr_port(r, true) else {
                    return Ssh::Nothing;
                };
                let code = rest.trim_start_matches([':', ' ']);
                let code = &code[..code.bytes().take_while(u8::is_ascii_digit).count()];
                if preauth(m) || code == "3" || code == "14" || m.contains("Auth fail") {
                    return ev(a);
                }
                return Ssh::Closed(a);
            }
        }
        b'r' => {
            if let Some(r) = m.strip_prefix("refused connect from ") {
                return libwrap_refused(r)
                    .map_or(Ssh::Nothing, |a| Ssh::Event(a, Kind::Refused, None));
            }
        }
        b'D' => {
            if let Some(r) = m.strip_prefix("Did not receive identification string from ") {
                return addr_port(r, true).map_or(Ssh::Nothing, |(a, _)| ev(a));
            }
            if m.starts_with("Disconnecting: Too many authentication failures") {
                return Ssh::Anonymous;
            }
            if m.starts_with("Disconnecting invalid user ")
                || m.starts_with("Disconnecting authenticating user ")
            {
                let head = m.split(": ").next().unwrap_or(m);
                return addr_before_port(head).map_or(Ssh::Nothing, ev);
            }
            if let Some(r) = m.strip_prefix("Disconnected from ") {
                let a = if r.starts_with("authenticating user ")
                    || r.starts_with("invalid user ")
                    || r.starts_with("user ")
                {
                    addr_before_port(r)
                } else {
                    addr_port(r, true).map(|(a, _)| a)
                };
                return match a {
                    Some(a) if preauth(m) => ev(a),
                    Some(a) => Ssh::Closed(a),
                    None => Ssh::Nothing,
                };
            }
        }
        b'C' => {
            for p in ["Connection closed by ", "Connection reset by "] {
                if let Some(r) = m.strip_prefix(p) {
                    let a = if r.starts_with("authenticating user ")
                        || r.starts_with("invalid user ")
                    {
                        addr_before_port(r)
                    } else {
                        addr_port(r, true).map(|(a, _)| a)
                    };
                    return match a {
                        Some(a) if preauth(m) => ev(a),
                        Some(a) => Ssh::Closed(a),
                        None => Ssh::Nothing,
                    };
                }
            }
            if let Some(r) = m.strip_prefix("Connection from ") {
                if let Some((a, rest)) = addr_port(r, true) {
                    let dest = rest.strip_prefix(" on ").and_then(|d| {
                        let (b, _) = addr_port(d, false)?;
                        Some((b.source.ip()?, b.port?))
                    });
                    return Ssh::Connection(a, dest);
                }
            }
        }
        b'B' => {
            if let Some(r) = m.strip_prefix("Bad protocol version identification ") {
                // The client's string is quoted and may hold " from "; take the last.
                if let Some(i) = r.rfind(" from ") {
                    return addr_port(&r[i + 6..], true).map_or(Ssh::Nothing, |(a, _)| ev(a));
                }
            }
        }
        b'b' => {
            if let Some(r) = m.strip_prefix("banner exchange: Connection from ") {
                return addr_port(r, true).map_or(Ssh::Nothing, |(a, _)| ev(a));
            }
        }
        b'k' if m.starts_with("kex_exchange_identification: ") => return Ssh::Anonymous,
        b'T' => {
            if let Some(r) = m.strip_prefix("Timeout before authentication for ") {
                return addr_port(r, true).map_or(Ssh::Nothing, |(a, _)| ev(a));
            }
        }
        b'P' => {
            if let Some(r) = m.strip_prefix("PAM: ") {
                return pam_from(r);
            }
        }
        b'm' if m.starts_with("maximum authentication attempts exceeded for ") => {
            return first_from(m).map_or(Ssh::Nothing, ev);
        }
        b'd' => {
            // OpenSSH 9.8+: "drop connection #0 from [A]:P on [B]:22 penalty: ..."
            if let Some(r) = m.strip_prefix("drop connection #") {
                let Some(i) = r.find(" from ") else {
                    return Ssh::Nothing;
                };
                let r = &r[i + 6..];
                let (src, rest) = r.split_once(' ').unwrap_or((r, ""));
                let Some((sa, _)) = bracket_addr_port(src) else {
                    return Ssh::Nothing;
                };
                let dest = rest
                    .strip_prefix("on ")
                    .and_then(|d| bracket_addr_port(d.split(' ').next().unwrap_or("")));
                return Ssh::Event(
                    Addr {
                        source: Source::addr(sa),
                        port: None,
                    },
                    Kind::Refused,
                    dest,
                );
            }
        }
        b'f' => {
            if let Some(r) = m.strip_prefix("fatal: ") {
                return sshd_line(r);
            }
        }
        b'A' if m.starts_with("Accepted ") => return Ssh::Success,
        b'S' => {
            // "SSH: Server;Ltype: Version;Remote: 127.0.0.1-1780;..." (a patched sshd).
            if let Some(i) = m.find(";Remote: ") {
                let r = &m[i + 9..];
                let tok = r.split(';').next().unwrap_or("");
                let addr = tok.rsplit_once('-').map_or(tok, |(a, _)| a);
                if let Ok(ip) = addr.parse::<IpAddr>() {
                    return Ssh::Connection(
                        Addr {
                            source: Source::addr(ip),
                            port: None,
                        },
                        None,
                    );
                }
            }
        }
        _ => {}
    }
    if m.starts_with("Read from socket failed: ")
        || m.starts_with("no matching ")
        || m.starts_with("Unable to negotiate a key exchange method")
    {
        return if preauth(m) {
            Ssh::Anonymous
        } else {
            Ssh::Nothing
        };
    }
    Ssh::Nothing
}

/// `[A]:P` → (A, P).
fn bracket_addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let r = s.strip_prefix('[')?;
    let (a, p) = r.split_once("]:")?;
    let n = p.bytes().take_while(u8::is_ascii_digit).count();
    Some((a.parse().ok()?, p[..n].parse().ok()?))
}

/// `PAM: Authentication failure for U from H`, `PAM: authentication error for U from H via
/// X`, `PAM: User not known to the underlying authentication module for illegal user U from H`.
fn pam_from(r: &str) -> Ssh {
    // Compared as bytes: a hostile line may have a multi-byte character across byte 20 or 22.
    let b = r.as_bytes();
    let lower_ok = b.len() > 22
        && (b[..22].eq_ignore_ascii_case(b"authentication failure")
            || b[..20].eq_ignore_ascii_case(b"authentication error")
            || r.starts_with("User not known"));
    if !lower_ok {
        return Ssh::Nothing;
    }
    let Some(i) = r.rfind(" from ") else {
        return Ssh::Nothing;
    };
    let tok = r[i + 6..].split(' ').next().unwrap_or("");
    parse_source(tok, true).map_or(Ssh::Nothing, |s| {
        ev(Addr {
            source: s,
            port: None,
        })
    })
}

// ---------------------------------------------------------------------------------------
// libwrap and the daemons' own refusal wording.

/// After `refused connect from `: `X (A)` (Debian's sshd), `user@X`, or `X`.
fn libwrap_refused(r: &str) -> Option<Addr> {
    let r = r.trim_end();
    if let Some(open) = r.rfind(" (") {
        if let Some(a) = r[open + 2..].strip_suffix(')') {
            if let Some(s) = parse_source(a, false) {
                return Some(Addr {
                    source: s,
                    port: None,
                });
            }
        }
    }
    let tok = r.split(' ').next().unwrap_or("");
    let tok = tok.rsplit_once('@').map_or(tok, |(_, h)| h);
    let s = if tok.eq_ignore_ascii_case("unknown") || tok.eq_ignore_ascii_case("paranoid") {
        Source::Unknown
    } else {
        parse_source(tok, true)?
    };
    Some(Addr {
        source: s,
        port: None,
    })
}

fn refused(a: Addr) -> Option<Found<'static>> {
    Some(Found::new(a.source, Kind::Refused))
}

fn libwrap<'a>(ident: &'a str, msg: &'a str) -> Option<Found<'a>> {
    let msg = strip_prefix_any(msg, &["warning: ", "error: "]);
    if let Some(r) = msg.strip_prefix("refused connect from ") {
        return libwrap_refused(r).and_then(refused);
    }
    match ident {
        "xinetd" => {
            // "libwrap refused connection to S (libwrap=S) from X"
            if let Some(r) = msg.strip_prefix("libwrap refused connection to ") {
                let svc = r.split(' ').next().unwrap_or("");
                let i = r.rfind(" from ")?;
                let (a, _) = addr_port(&r[i + 6..], true)?;
                let mut f = Found::new(a.source, Kind::Refused);
                f.daemon = Some(svc);
                return Some(f);
            }
            // "FAIL: S libwrap from=X", "FAIL: S address from=X"
            if let Some(r) = msg.strip_prefix("FAIL: ") {
                let svc = r.split(' ').next().unwrap_or("");
                let i = r.find("from=")?;
                let (a, _) = addr_port(&r[i + 5..], false)?;
                let mut f = Found::new(a.source, Kind::Refused);
                f.daemon = Some(svc);
                return Some(f);
            }
            None
        }
        "rpcbind" | "rpc.mountd" | "mountd" | "portmap" => {
            // rpcbind: "connect from X to P(...): request from unauthorized host"
            // mountd: "connect from X denied: request from unauthorized host"
            if !msg.ends_with("request from unauthorized host") {
                return None;
            }
            let r = msg.strip_prefix("connect from ")?;
            let tok = r.split(' ').next()?;
            let source = parse_source(tok, true)?;
            Some(Found::new(source, Kind::Refused))
        }
        "nrpe" => {
            // "Host X is not allowed to talk to us!"
            let r = msg.strip_prefix("Host ")?;
            let (tok, rest) = r.split_once(' ')?;
            if !rest.starts_with("is not allowed to talk to us") {
                return None;
            }
            Some(Found::new(parse_source(tok, true)?, Kind::Refused))
        }
        "inetd" | "openbsd-inetd" => {
            // "refused connection from X, service S (tcp)"
            let r = msg.strip_prefix("refused connection from ")?;
            let (tok, rest) = r.split_once(", service ")?;
            let svc = rest.split(' ').next().unwrap_or("");
            let mut f = Found::new(parse_source(tok, true)?, Kind::Refused);
            f.daemon = Some(svc);
            Some(f)
        }
        _ => vsftpd(msg),
    }
}

/// vsftpd's own log (`[pid N] CONNECT: Client "A", "Connection refused: tcp_wrappers
/// denial."`), with or without its date prefix; `FAIL LOGIN: Client "A"` is an auth failure.
fn vsftpd(msg: &str) -> Option<Found<'static>> {
    let i = msg.find("] ")?;
    let r = &msg[i + 2..];
    let r = if r.starts_with('[') {
        &r[r.find("] ")? + 2..]
    } else {
        r
    };
    let (kind, r) = if let Some(r) = r.strip_prefix("CONNECT: Client \"") {
        if !r.contains("tcp_wrappers denial") {
            return None;
        }
        (Kind::Refused, r)
    } else if let Some(r) = r.strip_prefix("FAIL LOGIN: Client \"") {
        (Kind::AuthFail, r)
    } else {
        return None;
    };
    let tok = r.split('"').next()?;
    let mut f = Found::new(parse_source(tok, false)?, kind);
    f.daemon = Some("vsftpd");
    Some(f)
}

// ---------------------------------------------------------------------------------------
// netfilter LOG.

/// `[ 12.345678] PREFIX IN=.. OUT=.. ... SRC=.. DST=.. ... PROTO=.. SPT=.. DPT=.. ...`
fn netfilter(msg: &str) -> Option<Found<'_>> {
    let mut m = msg;
    if m.starts_with('[') {
        let end = m.find("] ")?;
        m = &m[end + 2..];
    }
    let at = if m.starts_with("IN=") {
        0
    } else {
        m.find(" IN=")? + 1
    };
    let prefix = m[..at].trim();
    let mut src = None;
    let mut dst = None;
    let mut proto = None;
    let mut dpt = None;
    let mut ack = false;
    let mut saw_proto = false;
    // One pass over the fields: at each token start, look at its first bytes.
    let b = m.as_bytes();
    let mut i = at;
    while i < b.len() {
        let end = b[i..]
            .iter()
            .position(|&c| c == b' ')
            .map_or(b.len(), |n| i + n);
        let tok = &m[i..end];
        match b[i] {
            b'S' if tok.starts_with("SRC=") => src = tok[4..].parse::<IpAddr>().ok(),
            b'D' if tok.starts_with("DST=") => dst = tok[4..].parse::<IpAddr>().ok(),
            b'D' if tok.starts_with("DPT=") => dpt = tok[4..].parse::<u16>().ok(),
            b'P' if tok.starts_with("PROTO=") => {
                saw_proto = true;
                proto = match &tok[6..] {
                    "TCP" => Some(Proto::Tcp),
                    "UDP" => Some(Proto::Udp),
                    "ICMP" | "ICMPv6" => Some(Proto::Icmp),
                    _ => None,
                };
            }
            b'A' if tok == "ACK" && saw_proto => ack = true,
            b'M' if tok.starts_with("MAC=") => {}
            _ => {}
        }
        i = end + 1;
    }
    let src = src?;
    if ack && proto == Some(Proto::Tcp) {
        return None;
    }
    let lower_has_trap = prefix
        .as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"trap"));
    let mut f = Found::new(
        Source::addr(src),
        if lower_has_trap {
            Kind::Trap
        } else {
            Kind::FirewallDrop
        },
    );
    f.daemon = Some(if prefix.is_empty() {
        "netfilter"
    } else {
        prefix.trim_end_matches([':', ' '])
    });
    f.dest_addr = dst;
    f.proto = proto;
    if proto != Some(Proto::Icmp) {
        f.dest_port = dpt;
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Option<ConnectionEvent> {
        Recognizer::new("web1").line(1000, line)
    }

    fn src(line: &str) -> String {
        match one(line) {
            Some(e) => format!(
                "{}/{}/{}",
                e.source,
                e.kind.name(),
                e.daemon.unwrap_or_default()
            ),
            None => "none".into(),
        }
    }

    #[test]
    fn headers() {
        let h = parse_header("Dec  2 14:00:01 web1 sshd[123]: Invalid user x from 192.0.2.1");
        assert_eq!(
            (h.ident, h.pid, h.msg, h.time),
            ("sshd", Some(123), "Invalid user x from 192.0.2.1", None)
        );
        let stamp = h.local.expect("RFC 3164 stamp");
        assert_eq!((stamp.month, stamp.day, stamp.secs), (12, 2, 14 * 3600 + 1));
        // 2026-12-02T14:00:01Z = 1796220001.
        let dec_2 = 1_796_220_001;
        assert_eq!(stamp.resolve(dec_2 + 60, 0), dec_2);
        assert_eq!(stamp.resolve(dec_2 + 60, 3600), dec_2 - 3600, "UTC+1");
        // Read on 2027-01-03: last year's December.
        assert_eq!(stamp.resolve(1_798_934_400, 0), dec_2);
        // Written a day "ahead" of the reader's clock: still this year.
        assert_eq!(stamp.resolve(dec_2 - 86_400, 0), dec_2);
        let h = parse_header("Dec  2 14:00:01 2025 web1 sshd[1]: x");
        assert_eq!(
            h.local.map(|l| l.resolve(dec_2, 0)),
            Some(dec_2 - 365 * 86_400)
        );
        assert_eq!(parse_header("Dec 42 14:00:01 h sshd[1]: x").local, None);
        let mut r = Recognizer::new("web1");
        let e = r
            .line(
                dec_2 + 5,
                "Dec  2 14:00:01 web1 sshd[123]: Invalid user x from 192.0.2.1 port 9",
            )
            .expect("event");
        assert_eq!(e.time, dec_2, "the line's time, not the read time");
        // The cached resolution agrees with the plain one.
        let mut cache = StampCache::default();
        for now in (dec_2 - 400 * 86_400..dec_2 + 400 * 86_400).step_by(86_400 / 3) {
            for (month, day) in [(1, 1), (2, 29), (6, 15), (12, 2), (12, 31)] {
                let l = LocalStamp {
                    month,
                    day,
                    secs: 3_600,
                    year: None,
                };
                for off in [-18_000, 0, 3_600] {
                    assert_eq!(
                        cache.resolve(&l, now, off),
                        l.resolve(now, off),
                        "{l:?} {now}"
                    );
                }
            }
        }
        let h = parse_header(
            "<38>1 2019-07-08T17:40:16.954167-04:00 h.example.com sshd 57915 - - Failed x",
        );
        assert_eq!((h.ident, h.pid, h.msg), ("sshd", Some(57915), "Failed x"));
        assert_eq!(h.time, Some(1_562_622_016));
        let h = parse_header(
            "<38>1 2019-07-08T17:40:17Z h sshd 5 - [a b=\"[x]\"][c@1 d=\"e\"] msg here",
        );
        assert_eq!((h.msg, h.time), ("msg here", Some(1_562_607_617)));
        let h = parse_header("2015-04-16T18:02:50.321974+00:00 host sshd[2716]: hello");
        assert_eq!((h.ident, h.time), ("sshd", Some(1_429_207_370)));
        let h = parse_header("Jun 25 23:53:34 [sshd] User root");
        assert_eq!((h.ident, h.msg), ("sshd", "User root"));
        let h = parse_header("Nov 23 21:50:19 sshd[8148]: Disconnecting");
        assert_eq!((h.ident, h.pid), ("sshd", Some(8148)));
        let h = parse_header("srv sshd-session[9]: x");
        assert_eq!((h.ident, h.pid, h.msg), ("sshd-session", Some(9), "x"));
        let h = parse_header("garbage");
        assert_eq!((h.ident, h.msg), ("", "garbage"));
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso("2026-12-02T14:00:00+01:00"), Some(1_796_216_400));
    }

    #[test]
    fn libwrap_wordings() {
        assert_eq!(
            src("Dec  2 14:00:01 h sshd[1]: refused connect from 192.0.2.1 (192.0.2.1)"),
            "192.0.2.1/refused/sshd"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h in.telnetd[1]: refused connect from evil.example.org"),
            "evil.example.org/refused/in.telnetd"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h in.fingerd[1]: warning: refused connect from bob@192.0.2.9"),
            "192.0.2.9/refused/in.fingerd"
        );
        assert_eq!(
            src(
                "Dec  2 14:00:01 h xinetd[1]: libwrap refused connection to telnet (libwrap=telnetd) from ::ffff:192.0.2.2"
            ),
            "192.0.2.2/refused/telnet"
        );
        assert_eq!(
            src("May 15 17:38:49 boo xinetd[16256]: FAIL: amanda libwrap from=198.51.100.223"),
            "198.51.100.223/refused/amanda"
        );
        assert_eq!(
            src(
                "Dec  2 14:00:01 h rpcbind[1]: connect from 192.0.2.3 to getport/addr(mountd): request from unauthorized host"
            ),
            "192.0.2.3/refused/rpcbind"
        );
        assert_eq!(
            src(
                "Dec  2 14:00:01 h rpc.mountd[1]: connect from 192.0.2.4 denied: request from unauthorized host"
            ),
            "192.0.2.4/refused/rpc.mountd"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h nrpe[1]: Host 192.0.2.5 is not allowed to talk to us!"),
            "192.0.2.5/refused/nrpe"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h inetd[1]: refused connection from 192.0.2.6, service ftp (tcp)"),
            "192.0.2.6/refused/ftp"
        );
        assert_eq!(
            src(
                "Tue Dec  2 14:00:01 2026 [pid 3] CONNECT: Client \"192.0.2.7\", \"Connection refused: tcp_wrappers denial.\""
            ),
            "192.0.2.7/refused/vsftpd"
        );
        assert_eq!(
            src(
                "Thu Sep  8 00:39:49 2016 [pid 15019] [guest] FAIL LOGIN: Client \"::ffff:192.0.2.1\""
            ),
            "192.0.2.1/auth_fail/vsftpd"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h tcpd[1]: refused connect from unknown"),
            "unknown/refused/tcpd"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h nrpe[1]: Host 192.0.2.5 says hello"),
            "none"
        );
        assert_eq!(
            src("Dec  2 14:00:01 h rpcbind[1]: connect from 192.0.2.3 to getport"),
            "none"
        );
    }

    #[test]
    fn sshd_lines() {
        for (line, want) in [
            (
                "Dec  2 14:00:01 h sshd[1]: Invalid user admin from 192.0.2.1 port 4242",
                "192.0.2.1/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd-session[1]: Failed password for root from 2001:db8::7 port 22 ssh2",
                "2001:db8::7/auth_fail/sshd-session",
            ),
            (
                "Dec  2 14:00:01 h sshd-auth[1]: Failed publickey for invalid user x from 192.0.2.2 port 1 ssh2: RSA SHA256:abc",
                "192.0.2.2/auth_fail/sshd-auth",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Failed publickey for git from 192.0.2.2 port 1 ssh2: RSA SHA256:abc",
                "none",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Failed password for invalid user a from 10.0.0.1 port 5 ssh2 from 192.0.2.3 port 6 ssh2",
                "192.0.2.3/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Connection closed by 192.0.2.4 port 5 [preauth]",
                "192.0.2.4/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Connection closed by authenticating user root 192.0.2.5 port 5 [preauth]",
                "192.0.2.5/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Connection reset by 192.0.2.6 port 5 [preauth]",
                "192.0.2.6/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Connection closed by 192.0.2.6 port 5",
                "none",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Disconnected from user bob 192.0.2.6 port 5",
                "none",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Did not receive identification string from 192.0.2.7 port 5",
                "192.0.2.7/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Bad protocol version identification 'GET / HTTP/1.1' from 192.0.2.8 port 5",
                "192.0.2.8/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: banner exchange: Connection from 192.0.2.9 port 5: invalid format",
                "192.0.2.9/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Unable to negotiate with 192.0.2.10 port 5: no matching host key type found.",
                "192.0.2.10/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: User root from 192.0.2.11 not allowed because not listed in AllowUsers",
                "192.0.2.11/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: error: maximum authentication attempts exceeded for root from 192.0.2.12 port 5 ssh2 [preauth]",
                "192.0.2.12/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Received disconnect from 192.0.2.13 port 5:11: Bye Bye [preauth]",
                "192.0.2.13/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Received disconnect from 192.0.2.13 port 5:11: disconnected by user",
                "none",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Timeout before authentication for 192.0.2.14 port 5",
                "192.0.2.14/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: drop connection #0 from [192.0.2.15]:4444 on [192.0.2.1]:22 penalty: connections without attempting authentication",
                "192.0.2.15/refused/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Accepted password for bob from 192.0.2.16 port 5 ssh2",
                "none",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: Server listening on 0.0.0.0 port 22.",
                "none",
            ),
        ] {
            assert_eq!(src(line), want, "{line}");
        }
        let e = one("Dec  2 14:00:01 h sshd[1]: drop connection #3 from [2001:db8::1]:4444 on [2001:db8::2]:2222 penalty: x").expect("event");
        assert_eq!(
            (e.dest_port, e.dest_addr),
            (Some(2222), "2001:db8::2".parse().ok())
        );
    }

    #[test]
    fn sshd_pid_state() {
        let mut r = Recognizer::new("h");
        assert!(r.line(1, "Dec  2 14:00:01 h sshd[7]: Connection from 192.0.2.1 port 5 on 192.0.2.2 port 2222 rdomain \"\"").is_none());
        let e = r.line(1, "Dec  2 14:00:01 h sshd[7]: error: kex_exchange_identification: read: Connection reset by peer").expect("ev");
        assert_eq!(
            (e.source.to_string(), e.dest_port),
            ("192.0.2.1".into(), Some(2222))
        );
        // Unknown pid: wait for the close.
        assert!(r.line(1, "Dec  2 14:00:01 h sshd[8]: error: kex_exchange_identification: Connection closed by remote host").is_none());
        let e = r
            .line(
                1,
                "Dec  2 14:00:01 h sshd[8]: Connection closed by 192.0.2.3 port 9",
            )
            .expect("ev");
        assert_eq!(e.source.to_string(), "192.0.2.3");
        assert!(
            r.line(
                1,
                "Dec  2 14:00:01 h sshd[8]: Connection closed by 192.0.2.3 port 9"
            )
            .is_none()
        );
        for p in 0..(PID_CAP as u32 + 10) {
            r.line(1, &format!("Dec  2 14:00:01 h sshd[{}]: Connection from 192.0.2.1 port 5 on 192.0.2.2 port 22", p + 100));
        }
        assert!(r.stats().pid_evictions >= 10);
    }

    #[test]
    fn netfilter_lines() {
        let l = "Dec  2 14:00:01 fw kernel: [ 1234.567890] DROP-IN IN=eth0 OUT= MAC=00:11 SRC=203.0.113.5 DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=1 DF PROTO=TCP SPT=40404 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0";
        let e = one(l).expect("event");
        assert_eq!(e.kind, Kind::FirewallDrop);
        assert_eq!(e.daemon.as_deref(), Some("DROP-IN"));
        assert_eq!((e.proto, e.dest_port), (Some(Proto::Tcp), Some(23)));
        assert_eq!(e.dest_addr, "192.0.2.1".parse().ok());
        let mut r = Recognizer::new("fw");
        let e = r
            .kmsg(5, "4,1201,123456789,-;picket-trap: IN=lo OUT= SRC=127.0.0.2 DST=127.0.0.1 PROTO=UDP SPT=1 DPT=31337 LEN=8")
            .expect("event");
        assert_eq!(
            (e.kind, e.proto, e.dest_port, e.time),
            (Kind::Trap, Some(Proto::Udp), Some(31337), 5)
        );
        assert_eq!(e.daemon.as_deref(), Some("picket-trap"));
        let e = r
            .message(
                9,
                "kernel",
                None,
                "IN=eth0 OUT= SRC=2001:db8::5 DST=2001:db8::1 PROTO=ICMPv6 TYPE=128",
            )
            .expect("ev");
        assert_eq!(
            (e.proto, e.dest_port, e.daemon.as_deref()),
            (Some(Proto::Icmp), None, Some("netfilter"))
        );
        assert!(one("Dec  2 14:00:01 fw kernel: IN=eth0 OUT= SRC=203.0.113.5 DST=192.0.2.1 PROTO=TCP SPT=1 DPT=2 ACK URGP=0").is_none());
        assert!(one("Dec  2 14:00:01 fw kernel: IN=eth0 OUT= DST=192.0.2.1 PROTO=TCP").is_none());
        assert!(one("Dec  2 14:00:01 fw kernel: usb 1-1: new device").is_none());
    }

    #[test]
    fn hostile_text_is_bounded() {
        let l = format!(
            "Dec  2 14:00:01 h sshd[1]: Invalid user {} from 192.0.2.1",
            "\x1b;|x".repeat(5000)
        );
        let mut r = Recognizer::new("h;x");
        if let Some(e) = r.line(1, &l) {
            assert!(e.raw.len() <= picket_correlator::event::RAW_CAP);
            assert_eq!(e.reporter, "h_x");
        }
        assert_eq!(r.stats().long_lines, 1);
        let e =
            one("Dec  2 14:00:01 h evil;$(x)[1]: refused connect from 192.0.2.1").map(|e| e.daemon);
        assert_eq!(e, None, "a program name outside the tag set is no program");
    }

    #[test]
    fn pam_failures() {
        for (line, want) in [
            (
                "Dec  2 14:00:01 h sshd[1]: PAM: Authentication failure for root from 192.0.2.9",
                "192.0.2.9/auth_fail/sshd",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: PAM: authentication error for x from 192.0.2.9 via 10.0.0.1",
                "192.0.2.9/auth_fail/sshd",
            ),
            // A multi-byte character across byte 20 or 22 of the message (found by the
            // `sensor_line` fuzz target: slicing the text there panicked).
            (
                "Dec  2 14:00:01 h sshd[1]: PAM: authentication err\u{20ac}or from 192.0.2.9",
                "none",
            ),
            (
                "Dec  2 14:00:01 h sshd[1]: PAM: authentication fail\u{fffd} for x from 192.0.2.9",
                "none",
            ),
        ] {
            assert_eq!(src(line), want, "{line}");
        }
    }
}
