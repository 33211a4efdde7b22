//! The C library's address parsers, as libwrap relies on them: `inet_aton()` (octal, hex and
//! short forms), `dot_quad_addr()` (exactly four parts), and numeric-host detection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::request::Family;

/// `INADDR_NONE`, the error value of `inet_addr()` (and the value of `255.255.255.255`).
pub const INADDR_NONE: u32 = 0xffff_ffff;

/// glibc `inet_aton()`: `a.b.c.d`, `a.b.c`, `a.b`, `a`, each part decimal, octal (`0`) or
/// hex (`0x`); trailing white space is allowed. Returns the address in host order.
#[must_use]
pub fn inet_aton(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut i = 0usize;
    let mut parts = [0u64; 3];
    let mut nparts = 0usize;
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let val: u64;
    let mut digit;
    loop {
        if !at(i).is_ascii_digit() {
            return None;
        }
        let mut base = 10u64;
        digit = false;
        let mut v: u64 = 0;
        if at(i) == b'0' {
            i += 1;
            if at(i) == b'x' || at(i) == b'X' {
                base = 16;
                i += 1;
            } else {
                base = 8;
                digit = true;
            }
        }
        loop {
            let c = at(i);
            if c.is_ascii_digit() {
                if base == 8 && (c == b'8' || c == b'9') {
                    return None;
                }
                v = v * base + u64::from(c - b'0');
            } else if base == 16 && c.is_ascii_hexdigit() {
                v = (v << 4) | u64::from(c.to_ascii_lowercase() - b'a' + 10);
            } else {
                break;
            }
            if v > 0xffff_ffff {
                return None;
            }
            i += 1;
            digit = true;
        }
        if at(i) == b'.' {
            if nparts > 2 || v > 0xff {
                return None;
            }
            parts[nparts] = v;
            nparts += 1;
            i += 1;
        } else {
            val = v;
            break;
        }
    }
    let c = at(i);
    if c != 0 && !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        return None;
    }
    if !digit {
        return None;
    }
    let max: [u64; 4] = [0xffff_ffff, 0xff_ffff, 0xffff, 0xff];
    if val > max[nparts] {
        return None;
    }
    let mut out = val;
    for (n, p) in parts[..nparts].iter().enumerate() {
        out |= p << (24 - 8 * n);
    }
    u32::try_from(out).ok()
}

/// `inet_addr()`: like [`inet_aton`] but `INADDR_NONE` on error.
#[must_use]
pub fn inet_addr(s: &str) -> u32 {
    inet_aton(s).unwrap_or(INADDR_NONE)
}

/// `misc.c:dot_quad_addr()`: exactly four runs of non-dots, then `inet_addr()`.
/// `INADDR_NONE` means "not an address" (so `255.255.255.255` is never usable).
#[must_use]
pub fn dot_quad_addr(s: &str) -> u32 {
    let mut runs = 0;
    let mut in_run = false;
    for c in s.bytes() {
        if c == b'.' {
            in_run = false;
        } else if !in_run {
            in_run = true;
            runs += 1;
        }
    }
    if runs == 4 { inet_addr(s) } else { INADDR_NONE }
}

/// `inet_pton(AF_INET6, …)`.
#[must_use]
pub fn inet_pton6(s: &str) -> Option<Ipv6Addr> {
    s.parse::<Ipv6Addr>().ok()
}

/// `getaddrinfo(s, AI_NUMERICHOST)` for `family` (both when `None`).
#[must_use]
pub fn parse_numeric_host(s: &str, family: Option<Family>) -> Option<IpAddr> {
    let v4 = || {
        // getaddrinfo() uses the exact variant: no trailing white space.
        if s.bytes().last().is_some_and(|c| c.is_ascii_whitespace()) {
            return None;
        }
        inet_aton(s).map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    };
    let v6 = || inet_pton6(s).map(IpAddr::V6);
    match family {
        Some(Family::V4) => v4(),
        Some(Family::V6) => v6(),
        None => v4().or_else(v6),
    }
}

/// `STRN_EQ(s, "::ffff:", 7) && dot_quad_addr(s + 7) != INADDR_NONE`: the IPv4 text of an
/// IPv4-mapped IPv6 address (Debian's IPv6 patch), else `s`.
#[must_use]
pub fn unmap_v4(s: &str) -> &str {
    if s.len() > 7 && s.is_char_boundary(7) && s[..7].eq_ignore_ascii_case("::ffff:") {
        let rest = &s[7..];
        if dot_quad_addr(rest) != INADDR_NONE {
            return rest;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aton_forms() {
        assert_eq!(inet_aton("127.0.0.1"), Some(0x7f00_0001));
        assert_eq!(inet_aton("127.1"), Some(0x7f00_0001));
        assert_eq!(inet_aton("0x7f.1"), Some(0x7f00_0001));
        assert_eq!(inet_aton("0177.0.0.01"), Some(0x7f00_0001));
        assert_eq!(inet_aton("127.000.000.002"), Some(0x7f00_0002));
        assert_eq!(inet_aton("1.2.3.4 "), Some(0x0102_0304));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4."), None);
        assert_eq!(inet_aton("08.1.1.1"), None);
        assert_eq!(inet_aton(""), None);
        assert_eq!(inet_aton("1..2.3"), None);
    }

    #[test]
    fn dot_quad_needs_four_parts() {
        assert_eq!(dot_quad_addr("127.1"), INADDR_NONE);
        assert_eq!(dot_quad_addr("10.0.0.0"), 0x0a00_0000);
        assert_eq!(dot_quad_addr("255.255.255.255"), INADDR_NONE);
    }

    #[test]
    fn mapped() {
        assert_eq!(unmap_v4("::ffff:127.0.0.2"), "127.0.0.2");
        assert_eq!(unmap_v4("::FFFF:127.0.0.2"), "127.0.0.2");
        assert_eq!(unmap_v4("::ffff:7f00:2"), "::ffff:7f00:2");
    }
}
