//! Typed conversion of directive values (booleans, C `atoi`/`strtod` leniency, options letters, names, regular expressions), with the diagnostics Nagios gives.

use super::*;

pub(super) fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// C `atoi`: optional blanks and sign, then digits; 0 when there are none. The flag says
/// whether the whole (trimmed) value was that integer.
pub(super) fn c_atoi(v: &str) -> (i64, bool) {
    let t = v.trim_start();
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let n = if i == digits_start {
        0
    } else {
        // Saturate like a 64-bit strtol would rather than fail.
        t[..i]
            .parse::<i64>()
            .unwrap_or(if b[0] == b'-' { i64::MIN } else { i64::MAX })
    };
    (n, i > digits_start && t[i..].trim().is_empty())
}

/// C `strtod` on a decimal number: the longest prefix that parses, 0 when none. The flag
/// says whether the whole (trimmed) value was that number.
pub(super) fn c_strtod(v: &str) -> (f64, bool) {
    let t = v.trim();
    if let Ok(x) = t.parse::<f64>() {
        if x.is_finite() && !t.contains(['i', 'I', 'n', 'N']) {
            return (x, true);
        }
    }
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut seen_digit = false;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        seen_digit = true;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            seen_digit = true;
        }
    }
    if !seen_digit {
        return (0.0, false);
    }
    (t[..i].parse::<f64>().unwrap_or(0.0), false)
}

impl<'r> Ctx<'r> {
    pub(super) fn invalid(&mut self, p: &P<'_>, what: &str, msg: impl std::fmt::Display) {
        let loc = self.p_loc(p);
        self.diags.error(
            Kind::InvalidValue,
            loc,
            Some(what.to_owned()),
            format!(
                "invalid value '{}' for '{}': {msg}",
                p.value,
                p.key.as_str()
            ),
        );
    }

    /// Warn about a value Nagios reads with C's `atoi`/`strtod` (numeric prefix, 0 when
    /// none) instead of rejecting: Picket reads it the same way, so that a configuration
    /// `nagios -v` accepts is accepted, and says so.
    pub(super) fn lenient(
        &mut self,
        p: &P<'_>,
        what: &str,
        expected: &str,
        read_as: impl std::fmt::Display,
    ) {
        let loc = self.p_loc(p);
        self.diags.warning(
            Kind::InvalidValue,
            loc,
            Some(what.to_owned()),
            format!(
                "invalid value '{}' for '{}': expected {expected}; read as {read_as}, as Nagios does",
                p.value,
                p.key.as_str()
            ),
        );
    }

    /// A boolean as Nagios reads it (`atoi(value) > 0`); anything but `0`/`1` warns.
    pub(super) fn bool_of(&mut self, p: &P<'_>, what: &str) -> Option<bool> {
        if let Some(b) = parse_bool(&p.value) {
            return Some(b);
        }
        let b = c_atoi(&p.value).0 > 0;
        self.lenient(p, what, "0 or 1", u8::from(b));
        Some(b)
    }

    /// An integer as Nagios reads it (`atoi`); a value that is not an integer warns.
    pub(super) fn int_of(&mut self, p: &P<'_>, what: &str) -> i64 {
        let (n, exact) = c_atoi(&p.value);
        if !exact {
            self.lenient(p, what, "an integer", n);
        }
        n
    }

    /// A non-negative integer field; a negative value warns and reads as `None`.
    pub(super) fn num_of<T: TryFrom<i64>>(&mut self, p: &P<'_>, what: &str) -> Option<T> {
        let n = self.int_of(p, what);
        match T::try_from(n) {
            Ok(v) => Some(v),
            Err(_) if n < 0 => None,
            Err(_) => {
                self.invalid(p, what, "out of range");
                None
            }
        }
    }

    /// A number as Nagios reads it (`strtod`); a value that is not a number warns.
    pub(super) fn f64_of(&mut self, p: &P<'_>, what: &str) -> Option<f64> {
        let (v, exact) = c_strtod(&p.value);
        if !exact {
            self.lenient(p, what, "a number", v);
        }
        Some(v)
    }

    /// A number that Nagios rejects when negative (or, with `positive`, when not above
    /// 0): an error naming the value, and `default` in its place.
    pub(super) fn bounded_f64(
        &mut self,
        p: &P<'_>,
        what: &str,
        positive: bool,
        default: f64,
    ) -> f64 {
        let v = self.f64_of(p, what).unwrap_or(default);
        if v < 0.0 || (positive && v <= 0.0) || !v.is_finite() {
            let msg = if positive {
                "expected a number greater than 0"
            } else {
                "expected a non-negative number"
            };
            self.invalid(p, what, msg);
            return default;
        }
        v
    }

    pub(super) fn opts_of(&mut self, p: &P<'_>, what: &str, allowed: &str) -> Option<Options> {
        match Options::parse(&p.value, allowed) {
            Ok(o) => Some(o),
            Err(e) => {
                self.invalid(p, what, e);
                None
            }
        }
    }

    pub(super) fn check_name(&mut self, name: &str, what: &str, loc: Option<Location>) {
        let illegal = &self.main.illegal_object_name_chars;
        if !illegal.is_empty() && name.chars().any(|c| illegal.contains(c)) {
            self.diags.error(
                Kind::IllegalName,
                loc.clone(),
                Some(what.to_owned()),
                "name contains one or more illegal characters (illegal_object_name_chars)",
            );
        }
        if name.is_empty() {
            self.diags
                .error(Kind::Missing, loc, Some(what.to_owned()), "name is empty");
        }
    }

    pub(super) fn regex(&mut self, pat: &str) -> Option<regex::Regex> {
        if let Some(r) = self.regex_cache.get(pat) {
            return r.clone();
        }
        let r = regex::Regex::new(pat).ok();
        self.regex_cache.insert(pat.to_owned(), r.clone());
        r
    }

    pub(super) fn is_regex_name(&self, s: &str) -> bool {
        self.main.use_true_regexp_matching
            || (self.main.use_regexp_matching && s.contains(['*', '?', '+', '\\', '.']))
    }
}
