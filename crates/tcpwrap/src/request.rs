//! The request: daemon, client and server endpoints, with libwrap's lazy, cached lookups.
//!
//! `eval.c` and `socket.c` (spec §5.5, §7): names and addresses are looked up the first time
//! something needs them and then cached in the request, including the in-place sanitising
//! done by `%` expansions. All lookups go through the [`Resolver`] trait.

use std::net::{IpAddr, SocketAddr};

use crate::addr::parse_numeric_host;
use crate::diag::{Diagnostics, Level};

/// `unknown`, libwrap's value for anything that could not be found out.
pub const UNKNOWN: &str = "unknown";
/// `paranoid`, the host name given to hosts whose forward and reverse DNS disagree.
pub const PARANOID: &str = "paranoid";
/// libwrap's `STRING_LENGTH` (128): names and addresses are cut to 127 bytes.
pub const STRING_LENGTH: usize = 128;

/// Address family of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// `AF_INET`
    V4,
    /// `AF_INET6`
    V6,
}

impl Family {
    /// The family of an address.
    #[must_use]
    pub fn of(addr: IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    fn af_name(self) -> &'static str {
        match self {
            Family::V4 => "AF_INET",
            Family::V6 => "AF_INET6",
        }
    }
}

/// Result of a forward lookup (`getaddrinfo(name, AI_CANONNAME)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forward {
    /// The canonical name (`ai_canonname` of the first result).
    pub canonical: Option<String>,
    /// All addresses, in resolver order, without duplicates.
    pub addrs: Vec<IpAddr>,
}

/// Name, address, user and netgroup lookups. The system implementation lives in
/// [`crate::system`]; tests use [`StaticResolver`].
pub trait Resolver {
    /// Reverse lookup of an address (`getnameinfo(NI_NAMEREQD)`); `None` if it fails.
    fn reverse(&mut self, addr: IpAddr) -> Option<String>;
    /// Forward lookup of a name, restricted to `family` when given; `None` if it fails.
    fn forward(&mut self, name: &str, family: Option<Family>) -> Option<Forward>;
    /// RFC 931 / IDENT lookup of the user behind `client`, connecting from `server`.
    fn ident(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        timeout_secs: u32,
    ) -> Option<String>;
    /// `innetgr(group, host, NULL, domain)` (case-sensitive).
    fn in_netgroup(&mut self, group: &str, host: &str) -> bool;
}

/// A deterministic in-memory resolver, like an `/etc/hosts` plus `/etc/netgroup` file.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    /// `(address, canonical name, aliases)`, in file order.
    pub hosts: Vec<(IpAddr, String, Vec<String>)>,
    /// `(group, host names)`.
    pub netgroups: Vec<(String, Vec<String>)>,
    /// `(client address, user name)` answers for IDENT.
    pub idents: Vec<(IpAddr, String)>,
    /// Number of lookups done (reverse, forward, ident, netgroup), for laziness tests.
    pub lookups: usize,
}

impl StaticResolver {
    /// Empty resolver: every lookup fails.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a hosts line: `addr name aliases...`.
    #[must_use]
    pub fn host(mut self, addr: IpAddr, name: &str, aliases: &[&str]) -> Self {
        self.hosts.push((
            addr,
            name.to_string(),
            aliases.iter().map(|a| a.to_string()).collect(),
        ));
        self
    }

    /// Adds a netgroup.
    #[must_use]
    pub fn netgroup(mut self, group: &str, members: &[&str]) -> Self {
        self.netgroups.push((
            group.to_string(),
            members.iter().map(|a| a.to_string()).collect(),
        ));
        self
    }

    /// Adds an IDENT answer.
    #[must_use]
    pub fn ident_user(mut self, addr: IpAddr, user: &str) -> Self {
        self.idents.push((addr, user.to_string()));
        self
    }

    /// Parses `/etc/hosts` syntax (`#` comments, whitespace-separated fields).
    #[must_use]
    pub fn from_hosts_file(text: &str) -> Self {
        let mut r = StaticResolver::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut f = line.split_whitespace();
            let (Some(a), Some(name)) = (f.next(), f.next()) else {
                continue;
            };
            let Ok(addr) = a.parse::<IpAddr>() else {
                continue;
            };
            r.hosts
                .push((addr, name.to_string(), f.map(str::to_string).collect()));
        }
        r
    }
}

impl Resolver for StaticResolver {
    fn reverse(&mut self, addr: IpAddr) -> Option<String> {
        self.lookups += 1;
        self.hosts
            .iter()
            .find(|(a, _, _)| *a == addr)
            .map(|(_, n, _)| n.clone())
    }

    fn forward(&mut self, name: &str, family: Option<Family>) -> Option<Forward> {
        self.lookups += 1;
        if let Some(ip) = parse_numeric_host(name, family) {
            return Some(Forward {
                canonical: Some(name.to_string()),
                addrs: vec![ip],
            });
        }
        let mut fw = Forward::default();
        for (a, n, aliases) in &self.hosts {
            if family.is_some_and(|f| f != Family::of(*a)) {
                continue;
            }
            if n.eq_ignore_ascii_case(name) || aliases.iter().any(|x| x.eq_ignore_ascii_case(name))
            {
                if fw.canonical.is_none() {
                    fw.canonical = Some(n.clone());
                }
                if !fw.addrs.contains(a) {
                    fw.addrs.push(*a);
                }
            }
        }
        if fw.addrs.is_empty() { None } else { Some(fw) }
    }

    fn ident(
        &mut self,
        client: SocketAddr,
        _server: SocketAddr,
        _timeout_secs: u32,
    ) -> Option<String> {
        self.lookups += 1;
        self.idents
            .iter()
            .find(|(a, _)| *a == client.ip())
            .map(|(_, u)| u.clone())
    }

    fn in_netgroup(&mut self, group: &str, host: &str) -> bool {
        self.lookups += 1;
        self.netgroups
            .iter()
            .any(|(g, m)| g == group && m.iter().any(|h| h == host))
    }
}

/// One endpoint (`struct host_info`): name and address caches plus the socket address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// Cached host name; `None` until looked up (`name[0] == 0` in C).
    pub name: Option<String>,
    /// Cached address text; `None` until computed.
    pub addr: Option<String>,
    /// The socket address, if known. Without it, name and address evaluate to `unknown`
    /// unless they were set explicitly.
    pub sin: Option<SocketAddr>,
}

impl HostInfo {
    /// An endpoint known by its socket address (names looked up on demand).
    #[must_use]
    pub fn from_socket(sa: SocketAddr) -> Self {
        HostInfo {
            name: None,
            addr: None,
            sin: Some(sa),
        }
    }

    /// The port, 0 when there is no socket address (`%r`, `%R`, port patterns).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.sin.map_or(0, |s| s.port())
    }
}

/// Which endpoint of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What libwrap knows about one connection (`struct request_info`).
#[derive(Debug, Clone)]
pub struct Request {
    /// The daemon (process) name, e.g. `in.telnetd` or `sshd`.
    pub daemon: String,
    /// The pid shown by `%p`.
    pub pid: u32,
    /// The client endpoint.
    pub client: HostInfo,
    /// The server endpoint (the local address the client connected to).
    pub server: HostInfo,
    /// Cached ident user; `None` until looked up.
    pub user: Option<String>,
    /// Whether an IDENT lookup may be done (TCP with both socket addresses known).
    pub ident_enabled: bool,
    /// IDENT timeout in seconds (`RFC931_TIMEOUT`, changed by the `rfc931` option).
    pub rfc931_timeout: u32,
    /// Diagnostics produced while evaluating (warnings, errors, debug lines), in order.
    pub diag: Diagnostics,
}

impl Request {
    /// A request for a TCP connection with both endpoints known: names and the ident user
    /// are looked up on demand.
    #[must_use]
    pub fn tcp(daemon: &str, client: SocketAddr, server: SocketAddr) -> Self {
        let mut r = Request::new(daemon);
        r.client = HostInfo::from_socket(client);
        r.server = HostInfo::from_socket(server);
        r.ident_enabled = true;
        r
    }

    /// A request with nothing known but the daemon name.
    #[must_use]
    pub fn new(daemon: &str) -> Self {
        Request {
            daemon: daemon.to_string(),
            pid: std::process::id(),
            client: HostInfo::default(),
            server: HostInfo::default(),
            user: None,
            ident_enabled: false,
            rfc931_timeout: crate::RFC931_TIMEOUT,
            diag: Diagnostics::default(),
        }
    }

    pub(crate) fn host(&mut self, side: Side) -> &mut HostInfo {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// `eval_hostaddr()`: the address text, `unknown` if there is none.
    pub fn hostaddr(&mut self, side: Side) -> String {
        let h = self.host(side);
        if h.addr.is_none() {
            h.addr = Some(match h.sin {
                Some(sa) => numeric_host(sa.ip()),
                None => UNKNOWN.to_string(),
            });
        }
        h.addr.clone().unwrap_or_default()
    }

    /// `eval_hostname()`: the verified host name, `unknown` or `paranoid` (looks it up).
    pub fn hostname(&mut self, side: Side, resolver: &mut dyn Resolver) -> String {
        if self.host(side).name.is_none() {
            self.host(side).name = Some(UNKNOWN.to_string());
            if let Some(sa) = self.host(side).sin {
                self.sock_hostname(side, sa, resolver);
            }
        }
        self.host(side).name.clone().unwrap_or_default()
    }

    /// `eval_hostinfo()`: the name if it was already looked up and is good, else the address.
    /// Never triggers a lookup (Debian builds without `ALWAYS_HOSTNAME`).
    pub(crate) fn hostinfo_field(&mut self, side: Side) -> HostField {
        match &self.host(side).name {
            Some(n) if hostname_known(n) => HostField::Name,
            _ => {
                self.hostaddr(side);
                HostField::Addr
            }
        }
    }

    /// `eval_hostinfo()` as a string.
    pub fn hostinfo(&mut self, side: Side) -> String {
        match self.hostinfo_field(side) {
            HostField::Name => self.host(side).name.clone().unwrap_or_default(),
            HostField::Addr => self.hostaddr(side),
        }
    }

    /// `eval_user()`: the ident user (looks it up when allowed), `unknown` if none.
    pub fn user(&mut self, resolver: &mut dyn Resolver) -> String {
        if self.user.is_none() {
            let mut u = UNKNOWN.to_string();
            if self.ident_enabled {
                if let (Some(c), Some(s)) = (self.client.sin, self.server.sin) {
                    if let Some(found) = resolver.ident(c, s, self.rfc931_timeout) {
                        u = truncate(&found);
                    }
                }
            }
            self.user = Some(u);
        }
        self.user.clone().unwrap_or_default()
    }

    /// `sock_hostname()`: reverse lookup plus the double check that makes a name `paranoid`.
    fn sock_hostname(&mut self, side: Side, sa: SocketAddr, resolver: &mut dyn Resolver) {
        let family = Family::of(sa.ip());
        let Some(name) = resolver.reverse(sa.ip()) else {
            return;
        };
        let name = truncate(&name);
        if parse_numeric_host(&name, Some(family)).is_some() {
            self.diag.warn(format!(
                "host name/name mismatch: reverse lookup results in non-FQDN {name}"
            ));
            self.host(side).name = Some(PARANOID.to_string());
            return;
        }
        self.host(side).name = Some(name.clone());
        match resolver.forward(&name, Some(family)) {
            None => {
                self.diag.warn(format!(
                    "can't verify hostname: getaddrinfo({name}, {}) failed",
                    family.af_name()
                ));
            }
            Some(fw) => {
                let canon = fw.canonical.clone().unwrap_or_default();
                let canon_differs = fw
                    .canonical
                    .as_deref()
                    .is_none_or(|c| !c.eq_ignore_ascii_case(&name));
                if canon_differs && !name.eq_ignore_ascii_case("localhost") {
                    self.diag.warn(format!(
                        "host name/name mismatch: {name} != {}",
                        truncate(&canon)
                    ));
                } else if fw.addrs.iter().any(|a| same_addr(*a, sa.ip())) {
                    return;
                } else {
                    self.diag.warn(format!(
                        "host name/address mismatch: {} != {}",
                        numeric_host(sa.ip()),
                        truncate(&canon)
                    ));
                }
            }
        }
        self.host(side).name = Some(PARANOID.to_string());
    }

    /// Logs at `level` with the current file/line context.
    pub(crate) fn log(&mut self, level: Level, text: String) {
        self.diag.push(level, text);
    }
}

/// Which cached field `eval_hostinfo()` returned (for in-place sanitising).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostField {
    Name,
    Addr,
}

/// `HOSTNAME_KNOWN()`: not `unknown` and not `paranoid`.
#[must_use]
pub fn hostname_known(name: &str) -> bool {
    !name.eq_ignore_ascii_case(UNKNOWN) && !name.eq_ignore_ascii_case(PARANOID)
}

fn same_addr(a: IpAddr, b: IpAddr) -> bool {
    a == b
}

/// `getnameinfo(NI_NUMERICHOST)` text of an address (IPv6 compressed).
#[must_use]
pub fn numeric_host(ip: IpAddr) -> String {
    ip.to_string()
}

/// Cuts to `STRING_LENGTH - 1` bytes (on a character boundary).
fn truncate(s: &str) -> String {
    if s.len() < STRING_LENGTH {
        return s.to_string();
    }
    let mut end = STRING_LENGTH - 1;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> StaticResolver {
        StaticResolver::from_hosts_file(
            "127.0.0.1 localhost\n127.0.0.2 client2.example.org\n127.0.0.6 real.example.net spoof.example.net\n\
             127.0.0.5 spoof.example.net\n127.0.0.7 10.9.8.7\n",
        )
    }

    fn req(ip: &str) -> Request {
        let c: SocketAddr = format!("{ip}:1234")
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        Request::tcp("in.telnetd", c, SocketAddr::from(([127, 0, 0, 1], 23)))
    }

    #[test]
    fn good_name_is_kept() {
        let mut r = req("127.0.0.2");
        assert_eq!(
            r.hostname(Side::Client, &mut hosts()),
            "client2.example.org"
        );
        assert!(r.diag.lines().is_empty());
    }

    #[test]
    fn name_mismatch_is_paranoid() {
        let mut r = req("127.0.0.5");
        assert_eq!(r.hostname(Side::Client, &mut hosts()), PARANOID);
        assert_eq!(
            r.diag.lines()[0].text,
            "warning: host name/name mismatch: spoof.example.net != real.example.net"
        );
    }

    #[test]
    fn numeric_reverse_name_is_paranoid() {
        let mut r = req("127.0.0.7");
        assert_eq!(r.hostname(Side::Client, &mut hosts()), PARANOID);
        assert!(r.diag.lines()[0].text.contains("non-FQDN 10.9.8.7"));
    }

    #[test]
    fn hostinfo_does_not_look_up() {
        let mut r = req("127.0.0.2");
        assert_eq!(r.hostinfo(Side::Client), "127.0.0.2");
        let mut res = hosts();
        r.hostname(Side::Client, &mut res);
        assert_eq!(r.hostinfo(Side::Client), "client2.example.org");
    }

    #[test]
    fn unknown_address_without_socket() {
        let mut r = Request::new("x");
        assert_eq!(r.hostaddr(Side::Client), UNKNOWN);
        assert_eq!(r.hostname(Side::Client, &mut hosts()), UNKNOWN);
        assert_eq!(r.user(&mut hosts()), UNKNOWN);
    }
}
