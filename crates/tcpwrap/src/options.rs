//! The option language of hosts_options(5) (`options.c:process_options()`, spec §6).

use serde::Serialize;

use crate::effects::BannerRead;
use crate::expand::{EXPANSION_LIMIT, percent_x};
use crate::pattern::{Cx, atoi};
use crate::table::split_at;

/// How evaluation ends early (`longjmp(tcpd_buf, …)` in libwrap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Jump {
    /// `allow`: grant now.
    Permit,
    /// `deny`, or an option error (already logged): deny now.
    Deny {
        /// The error message, if this was an error.
        error: Option<String>,
    },
}

/// A syslog priority set with the `severity` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Severity {
    /// Facility code (`LOG_DAEMON >> 3` = 3, …), if one was given.
    pub facility: Option<u8>,
    /// Level code (0 = emerg … 7 = debug).
    pub level: u8,
}

/// Facility names accepted by Debian's libwrap (`options.c:log_fac[]`), with their codes.
pub const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// Level names accepted by libwrap (`options.c:log_sev[]`), with their codes.
pub const LEVELS: &[(&str, u8)] = &[
    ("emerg", 0),
    ("alert", 1),
    ("crit", 2),
    ("err", 3),
    ("warning", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

/// Option flags (`options.c`).
const NEED_ARG: u8 = 1 << 1;
const USE_LAST: u8 = 1 << 2;
const OPT_ARG: u8 = 1 << 3;
const EXPAND_ARG: u8 = 1 << 4;

/// The known options, in `option_table[]` order (Debian build: `-DACLEXEC`).
pub const OPTION_NAMES: &[&str] = &[
    "user",
    "group",
    "umask",
    "linger",
    "keepalive",
    "spawn",
    "twist",
    "rfc931",
    "setenv",
    "nice",
    "severity",
    "allow",
    "deny",
    "banners",
    "aclexec",
];

fn flags(name: &str) -> u8 {
    match name {
        "user" | "group" | "umask" | "linger" | "severity" | "banners" => NEED_ARG,
        "keepalive" => 0,
        "spawn" | "setenv" | "aclexec" => NEED_ARG | EXPAND_ARG,
        "twist" => NEED_ARG | EXPAND_ARG | USE_LAST,
        "rfc931" | "nice" => OPT_ARG,
        "allow" | "deny" => USE_LAST,
        _ => 0,
    }
}

/// State an option run leaves behind for the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OptionState {
    /// `twist` seen: the command that replaces the service.
    pub twist: Option<String>,
    /// `severity` seen.
    pub severity: Option<Severity>,
    /// Debian `aclexec` returned non-zero: this status.
    pub aclexec_failed: Option<i32>,
}

/// Splits the option string at unescaped `:` (`get_field()`), `\:` standing for `:`.
#[must_use]
pub fn option_fields(options: &str) -> Vec<String> {
    option_fields_ends(options).0
}

/// [`option_fields`], also telling whether the string ends in `:` (`rule ends in ":"`).
#[must_use]
pub fn option_fields_ends(options: &str) -> (Vec<String>, bool) {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = options.chars().peekable();
    if options.is_empty() {
        return (fields, false);
    }
    while let Some(c) = chars.next() {
        if c == ':' {
            fields.push(std::mem::take(&mut cur));
            if chars.peek().is_none() {
                // "rule ends in ':'": no more fields (get_field returns 0 at end of string).
                return (fields, true);
            }
            continue;
        }
        if c == '\\' && chars.peek() == Some(&':') {
            cur.push(':');
            chars.next();
            continue;
        }
        cur.push(c);
    }
    fields.push(cur);
    (fields, false)
}

/// `chop_string()`: strips `isspace()` characters from both ends.
#[must_use]
pub fn chop(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

/// Splits one field into keyword and value, ignoring exactly one `=` (libwrap's rules).
#[must_use]
pub fn split_option(field: &str) -> (&str, Option<&str>) {
    let opt = chop(field);
    let cut = opt.find([' ', '\t', '\r', '\n', '=']).unwrap_or(opt.len());
    let key = &opt[..cut];
    let mut value = &opt[cut..];
    if !value.is_empty() {
        if !value.starts_with('=') {
            value = value[1..].trim_start_matches([' ', '\t', '\r', '\n']);
        }
        if let Some(v) = value.strip_prefix('=') {
            value = v.trim_start_matches([' ', '\t', '\r', '\n']);
        }
    }
    (key, if value.is_empty() { None } else { Some(value) })
}

/// Runs the options of a matched rule, in order.
pub(crate) fn process_options(
    options: &str,
    cx: &mut Cx<'_>,
    resident: bool,
    state: &mut OptionState,
) -> Result<(), Jump> {
    let (fields, ends_in_colon) = option_fields_ends(options);
    if ends_in_colon {
        cx.req.diag.warn("rule ends in \":\"");
    }
    for (i, field) in fields.iter().enumerate() {
        let has_next = i + 1 < fields.len();
        let (key, value) = split_option(field);
        if key.is_empty() {
            return Err(jump(cx, "missing option name".to_string()));
        }
        let Some(name) = OPTION_NAMES
            .iter()
            .copied()
            .find(|n| n.eq_ignore_ascii_case(key))
        else {
            return Err(jump(cx, format!("bad option name: \"{key}\"")));
        };
        let fl = flags(name);
        if value.is_none() && fl & NEED_ARG != 0 {
            return Err(jump(cx, format!("option \"{key}\" requires value")));
        }
        if value.is_some() && fl & (NEED_ARG | OPT_ARG) == 0 {
            return Err(jump(cx, format!("option \"{key}\" requires no value")));
        }
        if has_next && fl & USE_LAST != 0 {
            return Err(jump(cx, format!("option \"{key}\" must be at end")));
        }
        let value: Option<String> = match value {
            Some(v) if fl & EXPAND_ARG != 0 => {
                match percent_x(v, cx.req, cx.resolver, EXPANSION_LIMIT) {
                    Ok(x) => Some(chop(&x).to_string()),
                    Err(e) => return Err(jump(cx, e.to_string())),
                }
            }
            Some(v) => Some(v.to_string()),
            None => None,
        };
        cx.req.log(
            crate::diag::Level::Debug,
            format!("option:   {key} {}", value.as_deref().unwrap_or("")),
        );
        run_option(name, value.as_deref(), cx, resident, state)?;
    }
    Ok(())
}

/// Logs `error: FILE, line N: MSG` and returns the deny jump (`tcpd_jump()`).
fn jump(cx: &mut Cx<'_>, msg: String) -> Jump {
    cx.req.diag.error(&msg);
    Jump::Deny { error: Some(msg) }
}

/// `sscanf(value, "%d%s", &n, junk) == 1`.
fn scan_int(value: &str) -> Option<i64> {
    let v = value.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (sign, digits) = match v.as_bytes().first() {
        Some(b'-') => (-1, &v[1..]),
        Some(b'+') => (1, &v[1..]),
        _ => (1, v),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    // "%s" after the number must find nothing but white space.
    if !digits[end..]
        .trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .is_empty()
    {
        return None;
    }
    let n: i64 = digits[..end].parse().unwrap_or(i64::MAX);
    Some(sign * n)
}

/// `sscanf(value, "%o%s", &mask, junk) == 1`.
fn scan_octal(value: &str) -> Option<u64> {
    let v = value.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let end = v
        .bytes()
        .position(|b| !(b'0'..=b'7').contains(&b))
        .unwrap_or(v.len());
    if end == 0 || !v[end..].trim().is_empty() {
        return None;
    }
    u64::from_str_radix(&v[..end], 8).ok().or(Some(u64::MAX))
}

fn lookup(table: &[(&str, u8)], name: &str) -> Option<u8> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
}

fn run_option(
    name: &str,
    value: Option<&str>,
    cx: &mut Cx<'_>,
    resident: bool,
    state: &mut OptionState,
) -> Result<(), Jump> {
    let v = value.unwrap_or("");
    match name {
        "allow" => return Err(Jump::Permit),
        "deny" => return Err(Jump::Deny { error: None }),
        "twist" => {
            if resident {
                return Err(jump(cx, "twist option in resident process".to_string()));
            }
            state.twist = Some(v.to_string());
        }
        "spawn" => cx.effects.spawn(v),
        "aclexec" => {
            if let Some(status) = cx.effects.aclexec(v) {
                if status != 0 {
                    state.aclexec_failed = Some(status);
                }
            }
        }
        "setenv" => {
            let (n, val) = match v.find([' ', '\t', '\r', '\n']) {
                Some(i) => (&v[..i], &v[i + 1..]),
                None => (v, ""),
            };
            if cx.effects.setenv(chop(n), chop(val)).is_err() {
                return Err(jump(cx, "memory allocation failure".to_string()));
            }
        }
        "umask" => match scan_octal(v) {
            Some(m) if m & 0o777 == m => cx.effects.umask(u32::try_from(m).unwrap_or(0)),
            _ => return Err(jump(cx, format!("bad umask value: \"{v}\""))),
        },
        "nice" => {
            let n = match value {
                None => 10,
                Some(s) => match scan_int(s) {
                    Some(n) => i32::try_from(n).unwrap_or(i32::MAX),
                    None => return Err(jump(cx, format!("bad nice value: \"{s}\""))),
                },
            };
            if let Some(w) = cx.effects.nice(n) {
                cx.req.diag.warn(w);
            }
        }
        "linger" => match scan_int(v) {
            Some(n) if n >= 0 => {
                if let Some(w) = cx.effects.linger(i32::try_from(n).unwrap_or(i32::MAX)) {
                    cx.req.diag.warn(w);
                }
            }
            _ => return Err(jump(cx, format!("bad linger value: \"{v}\""))),
        },
        "keepalive" => {
            if let Some(w) = cx.effects.keepalive() {
                cx.req.diag.warn(w);
            }
        }
        "rfc931" => {
            if let Some(s) = value {
                let t = atoi(s);
                if t <= 0 || scan_int(s).is_none() {
                    return Err(jump(cx, format!("bad rfc931 timeout: \"{s}\"")));
                }
                cx.req.rfc931_timeout = u32::try_from(t).unwrap_or(u32::MAX);
            }
            let _ = cx.req.user(cx.resolver);
        }
        "severity" => {
            let sev = match split_at(v, '.') {
                Some((fac, lvl)) => {
                    let f = lookup(FACILITIES, fac).ok_or_else(|| {
                        jump(cx, format!("bad syslog facility or severity: \"{fac}\""))
                    })?;
                    let l = lookup(LEVELS, lvl).ok_or_else(|| {
                        jump(cx, format!("bad syslog facility or severity: \"{lvl}\""))
                    })?;
                    Severity {
                        facility: Some(f),
                        level: l,
                    }
                }
                None => {
                    let l = lookup(LEVELS, v).ok_or_else(|| {
                        jump(cx, format!("bad syslog facility or severity: \"{v}\""))
                    })?;
                    Severity {
                        facility: None,
                        level: l,
                    }
                }
            };
            state.severity = Some(sev);
        }
        "banners" => banners(v, cx)?,
        "group" => {
            if let Err(e) = cx.effects.group(v) {
                return Err(jump(cx, e));
            }
        }
        "user" => {
            let (user, group) = match split_at(v, '.') {
                Some((u, g)) => (u, Some(g)),
                None => (v, None),
            };
            if let Some(g) = group {
                if let Err(e) = cx.effects.group(g) {
                    return Err(jump(cx, e));
                }
            }
            if let Err(e) = cx.effects.user(user, group.is_some()) {
                return Err(jump(cx, e));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `banners DIR`: copy `DIR/DAEMON` with `%` expansion, `\n` → `\r\n`, leading NULs as is.
fn banners(dir: &str, cx: &mut Cx<'_>) -> Result<(), Jump> {
    let daemon = cx.req.daemon.clone();
    match cx.effects.banner_file(dir, &daemon) {
        BannerRead::Missing => {}
        BannerRead::DirError(e) => cx.req.diag.warn(format!("{dir}: {e}")),
        BannerRead::Content(data) => {
            let nul = data.iter().take_while(|&&b| b == 0).count();
            if nul > 0 {
                cx.effects.write_banner(&data[..nul]);
            }
            let text = String::from_utf8_lossy(&data[nul..]).into_owned();
            for line in text.split_inclusive('\n') {
                let l = match line.strip_suffix('\n') {
                    Some(body) => format!("{body}\r\n"),
                    None => line.to_string(),
                };
                match percent_x(&l, cx.req, cx.resolver, 2 * EXPANSION_LIMIT) {
                    Ok(x) => cx.effects.write_banner(x.as_bytes()),
                    Err(e) => return Err(jump(cx, e.to_string())),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_escapes() {
        assert_eq!(
            option_fields(" spawn a\\:b: allow\n"),
            vec![" spawn a:b", " allow\n"]
        );
        assert_eq!(option_fields(" allow:\n"), vec![" allow", "\n"]);
        assert_eq!(option_fields(" allow:"), vec![" allow"]);
        assert_eq!(option_fields(" : allow"), vec![" ", " allow"]);
    }

    #[test]
    fn keyword_value() {
        assert_eq!(
            split_option(" severity = auth.notice "),
            ("severity", Some("auth.notice"))
        );
        assert_eq!(split_option("spawn=cmd x"), ("spawn", Some("cmd x")));
        assert_eq!(split_option(" keepalive\n"), ("keepalive", None));
        assert_eq!(split_option("a  ==b"), ("a", Some("=b")));
        assert_eq!(split_option("\n"), ("", None));
    }

    #[test]
    fn scans() {
        assert_eq!(scan_int("10"), Some(10));
        assert_eq!(scan_int("10x"), None);
        assert_eq!(scan_int("-3"), Some(-3));
        assert_eq!(scan_octal("027"), Some(0o27));
        assert_eq!(scan_octal("08"), None);
    }
}
