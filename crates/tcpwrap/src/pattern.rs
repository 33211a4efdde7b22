//! Daemon and client patterns and lists (`hosts_access.c`: `list_match()`, `server_match()`,
//! `client_match()`, `host_match()`, `string_match()`, `masked_match()`; spec §3–§5).

use crate::addr::{INADDR_NONE, dot_quad_addr, inet_pton6, unmap_v4};
use crate::effects::{Effects, FileRead};
use crate::request::{Request, Resolver, Side, UNKNOWN, hostname_known};
use crate::table::split_at;

/// Everything pattern matching needs: the request (with its caches) and the outside world.
pub struct Cx<'a> {
    /// The request being evaluated.
    pub req: &'a mut Request,
    /// Lookups.
    pub resolver: &'a mut dyn Resolver,
    /// Files and option side effects.
    pub effects: &'a mut dyn Effects,
}

/// Maximum nesting of `/file` patterns that name other `/file` patterns (libwrap has none and
/// would recurse until the stack runs out; a loop of files must not hang us).
const MAX_FILE_DEPTH: usize = 16;

/// `list_match()`: words left to right, `EXCEPT` nesting as `a EXCEPT (b EXCEPT c)`.
pub fn list_match<F>(words: &[String], cx: &mut Cx<'_>, mut f: F) -> bool
where
    F: FnMut(&str, &mut Cx<'_>) -> bool,
{
    list_match_inner(words, cx, &mut f)
}

fn list_match_inner<F>(words: &[String], cx: &mut Cx<'_>, f: &mut F) -> bool
where
    F: FnMut(&str, &mut Cx<'_>) -> bool,
{
    for (i, w) in words.iter().enumerate() {
        if w.eq_ignore_ascii_case("EXCEPT") {
            return false;
        }
        if f(w, cx) {
            let rest = &words[i + 1..];
            return match rest.iter().position(|x| x.eq_ignore_ascii_case("EXCEPT")) {
                None => true,
                Some(p) => !list_match_inner(&rest[p + 1..], cx, f),
            };
        }
    }
    false
}

/// `server_match()`: `daemon` or `daemon@host` (host part against the server endpoint).
pub fn server_match(tok: &str, cx: &mut Cx<'_>) -> bool {
    match split_after_first(tok, '@') {
        None => daemon_or_port_match(tok, cx),
        Some((daemon, host)) => {
            daemon_or_port_match(daemon, cx) && host_match(host, Side::Server, cx, 0)
        }
    }
}

/// `client_match()`: `host` or `user@host` (host first, then the ident user).
pub fn client_match(tok: &str, cx: &mut Cx<'_>) -> bool {
    match split_after_first(tok, '@') {
        None => host_match(tok, Side::Client, cx, 0),
        Some((user, host)) => {
            if !host_match(host, Side::Client, cx, 0) {
                return false;
            }
            let u = cx.req.user(cx.resolver);
            string_match(user, &u)
        }
    }
}

/// `split_at(tok + 1, c)`: the split never happens at the first character.
fn split_after_first(tok: &str, c: char) -> Option<(&str, &str)> {
    let first = tok.chars().next()?;
    let skip = first.len_utf8();
    let (a, b) = split_at(&tok[skip..], c)?;
    Some((&tok[..skip + a.len()], b))
}

/// Debian `match_port`: an all-number word (`sscanf("%u%c") == 1`, ≤ 65535) is the server
/// port; anything else is compared with the daemon name.
fn daemon_or_port_match(tok: &str, cx: &mut Cx<'_>) -> bool {
    if let Some(port) = scan_unsigned(tok) {
        if port <= 65535 {
            // Without a server socket address there is no port to compare with.
            return cx
                .req
                .server
                .sin
                .is_some_and(|s| u32::from(s.port()) == port);
        }
    }
    string_match(tok, &cx.req.daemon)
}

/// `sscanf(tok, "%u%c", &port, &c) == 1`: optional sign, digits, nothing after.
pub(crate) fn scan_unsigned(tok: &str) -> Option<u32> {
    let (neg, digits) = match tok.as_bytes().first() {
        Some(b'+') => (false, &tok[1..]),
        Some(b'-') => (true, &tok[1..]),
        _ => (false, tok),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for b in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    if neg {
        v = v.wrapping_neg();
    }
    // Stored into an unsigned int: keep the low 32 bits.
    Some((v & 0xffff_ffff) as u32)
}

/// `NOT_INADDR()`: the word has characters other than digits, dots and slashes.
fn not_inaddr(tok: &str) -> bool {
    tok.bytes()
        .any(|b| !(b.is_ascii_digit() || b == b'.' || b == b'/'))
}

/// `host_match()` against one endpoint.
pub fn host_match(tok: &str, side: Side, cx: &mut Cx<'_>, depth: usize) -> bool {
    if let Some(group) = tok.strip_prefix('@') {
        let name = cx.req.hostname(side, cx.resolver);
        cx.resolver.in_netgroup(group, &name)
    } else if tok.starts_with('/') {
        hostfile_match(tok, side, cx, depth)
    } else if tok.eq_ignore_ascii_case("KNOWN") {
        let name = cx.req.hostname(side, cx.resolver);
        !cx.req.hostaddr(side).eq_ignore_ascii_case(UNKNOWN) && hostname_known(&name)
    } else if tok.eq_ignore_ascii_case("LOCAL") {
        let name = cx.req.hostname(side, cx.resolver);
        !name.contains('.') && hostname_known(&name)
    } else if let Some((net, mask)) = split_at(tok, '/') {
        cx.req.hostaddr(side);
        let addr = cx.req.host(side).addr.as_deref().unwrap_or(UNKNOWN);
        masked_match(net, mask, addr)
    } else {
        cx.req.hostaddr(side);
        let addr = cx.req.host(side).addr.as_deref().unwrap_or(UNKNOWN);
        if string_match(tok, addr) {
            return true;
        }
        if not_inaddr(tok) {
            let name = cx.req.hostname(side, cx.resolver);
            return string_match(tok, &name);
        }
        false
    }
}

/// Debian `11_tcpd_blacklist`: every white-space separated word of the file is a host pattern.
fn hostfile_match(path: &str, side: Side, cx: &mut Cx<'_>, depth: usize) -> bool {
    if depth >= MAX_FILE_DEPTH {
        return false;
    }
    match cx.effects.pattern_file(path) {
        FileRead::Missing => false,
        FileRead::Error(e) => {
            cx.req.diag.warn(format!("open {path}: {e}"));
            false
        }
        FileRead::Content(data) => {
            let text = String::from_utf8_lossy(&data).into_owned();
            // fscanf("%s") splits on isspace().
            text.split([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
                .filter(|w| !w.is_empty())
                .any(|w| host_match(w, side, cx, depth + 1))
        }
    }
}

/// `string_match()`: globs, `.suffix`, `ALL`, `KNOWN`, `prefix.`, `[v6]`, exact; all
/// case-insensitive. `s` is an address, a name, a user or a daemon name.
#[must_use]
pub fn string_match(tok: &str, s: &str) -> bool {
    let s = unmap_v4(s);
    if tok.contains(['*', '?']) {
        glob_match(tok.as_bytes(), s.as_bytes())
    } else if tok.starts_with('.') {
        s.len() > tok.len()
            && s.is_char_boundary(s.len() - tok.len())
            && s[s.len() - tok.len()..].eq_ignore_ascii_case(tok)
    } else if tok.eq_ignore_ascii_case("ALL") {
        true
    } else if tok.eq_ignore_ascii_case("KNOWN") {
        !s.eq_ignore_ascii_case(UNKNOWN)
    } else if tok.ends_with('.') {
        s.len() >= tok.len()
            && s.is_char_boundary(tok.len())
            && s[..tok.len()].eq_ignore_ascii_case(tok)
    } else if tok.len() >= 2 && tok.starts_with('[') && tok.ends_with(']') {
        match (inet_pton6(&tok[1..tok.len() - 1]), inet_pton6(s)) {
            (Some(p), Some(a)) => p == a,
            _ => false,
        }
    } else {
        tok.eq_ignore_ascii_case(s)
    }
}

/// `*` and `?` glob over the whole string, ASCII case-insensitive (Debian
/// `05_wildcard_matching`). Iterative, so hostile patterns cannot blow up.
#[must_use]
pub fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p].eq_ignore_ascii_case(&s[i])) && pat[p] != b'*'
        {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

/// `masked_match()`: `n.n.n.n/m.m.m.m`, `n.n.n.n/len` (Debian CIDR) or `[v6]/len`.
#[must_use]
pub fn masked_match(net: &str, mask: &str, addr: &str) -> bool {
    // IPv4-mapped clients are compared as IPv4, by every form (so never by `[v6]/len`).
    let addr = unmap_v4(addr);
    if net.starts_with('[') {
        return masked_match6(net, mask, addr);
    }
    let a = dot_quad_addr(addr);
    if a == INADDR_NONE {
        return false;
    }
    let n = dot_quad_addr(net);
    if n == INADDR_NONE {
        return false;
    }
    let Some(m) = ipv4_mask(mask) else {
        return false;
    };
    a & m == n
}

/// The mask of a `net/mask` pattern: dotted quad, else (Debian) `atoi()` length 1..32.
#[must_use]
pub fn ipv4_mask(mask: &str) -> Option<u32> {
    let m = dot_quad_addr(mask);
    if m != INADDR_NONE {
        return Some(m);
    }
    let len = atoi(mask);
    if !(1..=32).contains(&len) {
        return None;
    }
    Some(u32::MAX << (32 - len))
}

/// `[v6net]/len` (Debian `10_usagi-ipv6`): prefix compare, len 0..128.
fn masked_match6(net: &str, mask: &str, addr: &str) -> bool {
    let Some(inner) = net.strip_prefix('[').and_then(|n| n.strip_suffix(']')) else {
        return false;
    };
    let Some(n) = inet_pton6(inner) else {
        return false;
    };
    let len = atoi(mask);
    if !(0..=128).contains(&len) {
        return false;
    }
    let Some(a) = inet_pton6(addr) else {
        return false;
    };
    let bits = u32::try_from(len).unwrap_or(0);
    let m = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    u128::from(a) & m == u128::from(n) & m
}

/// C `atoi()`: leading white space, optional sign, digits; 0 if none.
#[must_use]
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in rest.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_match_forms() {
        assert!(string_match(".example.org", "a.example.org"));
        assert!(!string_match(".example.org", "example.org"));
        assert!(string_match("127.0.0.", "127.0.0.10"));
        assert!(!string_match("127.0.0.1.", "127.0.0.10"));
        assert!(!string_match("127.000.000.002", "127.0.0.2"));
        assert!(string_match("HOST.Example.ORG", "host.example.org"));
        assert!(string_match("127.0.0.2", "::ffff:127.0.0.2"));
        assert!(string_match("[::1]", "0:0::1"));
        assert!(string_match("in.*d", "in.telnetd"));
        assert!(string_match("127.0.0.?", "127.0.0.2"));
        assert!(!string_match("127.0.0.?", "127.0.0.22"));
        assert!(string_match("KNOWN", "x"));
        assert!(!string_match("KNOWN", "unknown"));
        assert!(string_match("UNKNOWN", "unknown"));
    }

    #[test]
    fn masks() {
        assert!(masked_match("127.0.0.0", "255.255.255.0", "127.0.0.2"));
        assert!(!masked_match("127.0.0.2", "255.255.255.0", "127.0.0.2"));
        assert!(!masked_match("127.0.0.2", "255.255.255.255", "127.0.0.2"));
        assert!(masked_match("127.0.0.2", "32", "127.0.0.2"));
        assert!(masked_match("127.0.0.0", "24x", "127.0.0.2"));
        assert!(!masked_match("0.0.0.0", "0", "127.0.0.2"));
        assert!(!masked_match("10.0.0.0", "33", "10.0.0.1"));
        assert!(masked_match("[::]", "0", "::1"));
        assert!(!masked_match("[::]", "0", "127.0.0.1"));
        assert!(masked_match("[2001:db8::]", "32", "2001:db8:1::5"));
        assert!(!masked_match("[::1]", "129", "::1"));
        assert!(masked_match("127.0.0.0", "8", "::ffff:127.0.0.2"));
    }

    #[test]
    fn glob_is_linear_enough() {
        let pat = "*a*a*a*a*a*a*a*a*a*a*a*b";
        let s = "a".repeat(5000);
        assert!(!glob_match(pat.as_bytes(), s.as_bytes()));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b?c", b"aXXbYc"));
        assert!(!glob_match(b"a*b?c", b"aXXbc"));
    }

    #[test]
    fn sscanf_u() {
        assert_eq!(scan_unsigned("23"), Some(23));
        assert_eq!(scan_unsigned("+23"), Some(23));
        assert_eq!(scan_unsigned("23x"), None);
        assert_eq!(scan_unsigned("-1"), Some(u32::MAX));
        assert_eq!(scan_unsigned("in.telnetd"), None);
    }
}
