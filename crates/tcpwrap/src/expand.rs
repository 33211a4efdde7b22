//! `%` expansions (`percent_x.c`, spec §7) with libwrap's exact sanitising.
//!
//! Every byte of an **expansion** outside `A-Z a-z 0-9 ! @ % - _ = + : , . /` becomes `_`;
//! the literal text of the rule is copied unchanged. As in libwrap the sanitising is done
//! in place on the cached value (host name, address, user, daemon), so later uses in the
//! same request see the sanitised string too.

use crate::request::{HostField, Request, Resolver, Side, UNKNOWN};

/// libwrap's expansion buffer (`BUFSIZ`).
pub const EXPANSION_LIMIT: usize = 8192;

/// The expansion did not fit into libwrap's buffer (`percent_x: expansion too long`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("percent_x: expansion too long: {head}...")]
pub struct TooLong {
    /// The first 30 bytes of what was expanded so far.
    pub head: String,
}

/// Is `b` one of the bytes libwrap lets through unchanged?
#[must_use]
pub fn is_ok_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!@%-_=+:,./".contains(&b)
}

/// Replaces every byte outside the whitelist by `_` (one `_` per byte, as in C).
#[must_use]
pub fn sanitize(s: &str) -> String {
    s.bytes()
        .map(|b| if is_ok_byte(b) { b as char } else { '_' })
        .collect()
}

/// Which cached value an expansion came from, for in-place sanitising.
enum Src {
    Host(Side, HostField),
    User,
    Daemon,
    Copy,
}

/// Expands `template` for `req` (`percent_x()` with a buffer of `limit` bytes).
pub fn percent_x(
    template: &str,
    req: &mut Request,
    resolver: &mut dyn Resolver,
    limit: usize,
) -> Result<String, TooLong> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let piece: String = match (c, chars.peek().copied()) {
            ('%', Some(ch)) => {
                chars.next();
                let (value, src) = expansion(ch, req, resolver);
                let clean = sanitize(&value);
                if clean != value {
                    store(req, src, &clean);
                }
                clean
            }
            _ => c.to_string(),
        };
        if out.len() + piece.len() >= limit.saturating_sub(1) {
            let mut end = out.len().min(30);
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            return Err(TooLong {
                head: out[..end].to_string(),
            });
        }
        out.push_str(&piece);
    }
    Ok(out)
}

fn expansion(ch: char, req: &mut Request, resolver: &mut dyn Resolver) -> (String, Src) {
    match ch {
        'a' => (
            req.hostaddr(Side::Client),
            Src::Host(Side::Client, HostField::Addr),
        ),
        'A' => (
            req.hostaddr(Side::Server),
            Src::Host(Side::Server, HostField::Addr),
        ),
        'c' => client(req, resolver),
        'd' => (req.daemon.clone(), Src::Daemon),
        'h' => hostinfo(req, Side::Client),
        'H' => hostinfo(req, Side::Server),
        'n' => (
            req.hostname(Side::Client, resolver),
            Src::Host(Side::Client, HostField::Name),
        ),
        'N' => (
            req.hostname(Side::Server, resolver),
            Src::Host(Side::Server, HostField::Name),
        ),
        'p' => (req.pid.to_string(), Src::Copy),
        'r' => (req.client.port().to_string(), Src::Copy),
        'R' => (req.server.port().to_string(), Src::Copy),
        's' => server(req),
        'u' => (req.user(resolver), Src::User),
        '%' => ("%".to_string(), Src::Copy),
        other => {
            req.diag.warn(format!("unrecognized %{other}"));
            (String::new(), Src::Copy)
        }
    }
}

fn hostinfo(req: &mut Request, side: Side) -> (String, Src) {
    let field = req.hostinfo_field(side);
    (req.hostinfo(side), Src::Host(side, field))
}

/// `eval_client()`: `user@hostinfo` when a user was looked up and is known, else hostinfo.
fn client(req: &mut Request, resolver: &mut dyn Resolver) -> (String, Src) {
    let (info, src) = hostinfo(req, Side::Client);
    if req.user.is_none() {
        return (info, src);
    }
    let user = req.user(resolver);
    if user.eq_ignore_ascii_case(UNKNOWN) {
        (info, src)
    } else {
        (format!("{user}@{info}"), Src::Copy)
    }
}

/// `eval_server()`: `daemon@hostinfo(server)` when the server is known, else the daemon.
fn server(req: &mut Request) -> (String, Src) {
    let (host, _) = hostinfo(req, Side::Server);
    if host.eq_ignore_ascii_case(UNKNOWN) {
        (req.daemon.clone(), Src::Daemon)
    } else {
        (format!("{}@{host}", req.daemon), Src::Copy)
    }
}

fn store(req: &mut Request, src: Src, clean: &str) {
    match src {
        Src::Host(side, HostField::Name) => req.host(side).name = Some(clean.to_string()),
        Src::Host(side, HostField::Addr) => req.host(side).addr = Some(clean.to_string()),
        Src::User => req.user = Some(clean.to_string()),
        Src::Daemon => req.daemon = clean.to_string(),
        Src::Copy => {}
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::request::StaticResolver;

    #[test]
    fn whitelist() {
        assert_eq!(
            sanitize("evil$(id)`x`;rm&.example.com"),
            "evil__id__x__rm_.example.com"
        );
        assert_eq!(sanitize("a b;c|d&e$f"), "a_b_c_d_e_f");
        assert_eq!(sanitize("fe80::1"), "fe80::1");
        assert_eq!(sanitize("é"), "__");
    }

    #[test]
    fn literal_text_untouched_and_oddities() {
        let mut req = Request::tcp(
            "in.telnetd",
            SocketAddr::from(([127, 0, 0, 2], 4000)),
            SocketAddr::from(([127, 0, 0, 1], 23)),
        );
        let mut res = StaticResolver::new();
        let out = percent_x(
            "'%a' %x %% r=%r R=%R end=%",
            &mut req,
            &mut res,
            EXPANSION_LIMIT,
        );
        assert_eq!(out, Ok("'127.0.0.2'  % r=4000 R=23 end=%".to_string()));
        assert_eq!(req.diag.lines()[0].text, "warning: unrecognized %x");
    }

    #[test]
    fn too_long() {
        let mut req = Request::new("d");
        let mut res = StaticResolver::new();
        let long = "x".repeat(9000);
        assert!(percent_x(&long, &mut req, &mut res, EXPANSION_LIMIT).is_err());
        let fits = "x".repeat(8190);
        assert!(percent_x(&fits, &mut req, &mut res, EXPANSION_LIMIT).is_ok());
    }
}
