//! **I/O.** The system side of the language: the resolver that libwrap gets from the C library
//! (`getnameinfo`/`getaddrinfo` through NSS, so `/etc/hosts` and DNS), `/etc/netgroup`, the
//! RFC 931 ident client, and reading tables and pattern files. Everything else in this crate
//! is pure.

use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrStorage, bind, connect, getsockopt, socket, sockopt,
};

use crate::effects::{BannerRead, FileRead};
use crate::request::{Family, Forward, Resolver};
use crate::table::Table;

/// `strerror(errno)` text of an I/O error, as `%m` prints it.
#[must_use]
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => errno_text(code),
        None => e.to_string(),
    }
}

/// The C library's `strerror()` text for `errno` value `code` (what libwrap's `%m` prints).
///
/// `nix::Errno::desc()` is not used: it has its own table, taken from the kernel headers'
/// comments, which differs from glibc's (`ELOOP`: "Too many symbolic links encountered" versus
/// glibc's "Too many levels of symbolic links"). `std::io::Error` formats an OS error with the
/// C library's `strerror_r()` and appends " (os error N)", which is removed here.
#[must_use]
pub fn errno_text(code: i32) -> String {
    let full = std::io::Error::from_raw_os_error(code).to_string();
    match full.strip_suffix(&format!(" (os error {code})")) {
        Some(text) => text.to_string(),
        None => full,
    }
}

/// Reads a table file: missing (`ENOENT`) = empty, other errors = unreadable.
#[must_use]
pub fn read_table(path: &Path, shown_as: &str) -> Table {
    match std::fs::read(path) {
        Ok(data) => Table::parse(shown_as, &data),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Table::missing(shown_as),
        Err(e) => Table::unreadable(shown_as, strerror(&e)),
    }
}

/// Reads a `/file` pattern list.
#[must_use]
pub fn read_pattern_file(path: &str) -> FileRead {
    match std::fs::read(path) {
        Ok(d) => FileRead::Content(d),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileRead::Missing,
        Err(e) => FileRead::Error(strerror(&e)),
    }
}

/// Reads `DIR/DAEMON` for the `banners` option.
#[must_use]
pub fn read_banner(dir: &str, daemon: &str) -> BannerRead {
    match std::fs::read(format!("{dir}/{daemon}")) {
        Ok(d) => BannerRead::Content(d),
        Err(_) => match std::fs::metadata(dir) {
            Ok(_) => BannerRead::Missing,
            Err(e) => BannerRead::DirError(strerror(&e)),
        },
    }
}

/// The C library's resolver plus `/etc/netgroup` and an RFC 931 client.
#[derive(Debug, Clone)]
pub struct SystemResolver {
    /// The netgroup file (NSS `files` backend; NIS is not supported).
    pub netgroup_file: PathBuf,
}

impl Default for SystemResolver {
    fn default() -> Self {
        SystemResolver {
            netgroup_file: PathBuf::from("/etc/netgroup"),
        }
    }
}

impl Resolver for SystemResolver {
    fn reverse(&mut self, addr: IpAddr) -> Option<String> {
        dns_lookup::getnameinfo(&SocketAddr::new(addr, 0), libc_flags::NI_NAMEREQD)
            .ok()
            .map(|(h, _)| h)
    }

    fn forward(&mut self, name: &str, family: Option<Family>) -> Option<Forward> {
        let hints = dns_lookup::AddrInfoHints {
            flags: libc_flags::AI_CANONNAME,
            address: match family {
                None => 0,
                Some(Family::V4) => libc_flags::AF_INET,
                Some(Family::V6) => libc_flags::AF_INET6,
            },
            socktype: libc_flags::SOCK_STREAM,
            protocol: 0,
        };
        let iter = dns_lookup::getaddrinfo(Some(name), None, Some(hints)).ok()?;
        let mut fw = Forward::default();
        for ai in iter.flatten() {
            if fw.canonical.is_none() {
                fw.canonical = ai.canonname.clone();
            }
            let ip = ai.sockaddr.ip();
            if !fw.addrs.contains(&ip) {
                fw.addrs.push(ip);
            }
        }
        if fw.addrs.is_empty() { None } else { Some(fw) }
    }

    fn ident(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        timeout_secs: u32,
    ) -> Option<String> {
        rfc931(
            client,
            server,
            Duration::from_secs(u64::from(timeout_secs.max(1))),
        )
    }

    fn in_netgroup(&mut self, group: &str, host: &str) -> bool {
        let Ok(text) = std::fs::read_to_string(&self.netgroup_file) else {
            return false;
        };
        let groups = parse_netgroups(&text);
        netgroup_has_host(&groups, group, host, 0)
    }
}

/// Constants from `<netdb.h>`/`<sys/socket.h>` (Linux/glibc values).
mod libc_flags {
    pub(super) const NI_NAMEREQD: i32 = 8;
    pub(super) const AI_CANONNAME: i32 = 2;
    pub(super) const AF_INET: i32 = 2;
    pub(super) const AF_INET6: i32 = 10;
    pub(super) const SOCK_STREAM: i32 = 1;
}

/// `/etc/netgroup`: `group member...` where a member is `(host,user,domain)` or a group.
#[must_use]
pub fn parse_netgroups(text: &str) -> Vec<(String, Vec<String>)> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut depth = 0;
        for c in line.chars() {
            match c {
                '(' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' => {
                    depth -= 1;
                    cur.push(c);
                }
                c if c.is_whitespace() && depth == 0 => {
                    if !cur.is_empty() {
                        words.push(std::mem::take(&mut cur));
                    }
                }
                c if c.is_whitespace() => {}
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        let mut it = words.into_iter();
        if let Some(name) = it.next() {
            out.push((name, it.collect()));
        }
    }
    out
}

/// `innetgr(group, host, NULL, NULL)` over parsed netgroups (empty host field = any host,
/// `-` = none; nested groups followed up to a depth of 16).
#[must_use]
pub fn netgroup_has_host(
    groups: &[(String, Vec<String>)],
    group: &str,
    host: &str,
    depth: usize,
) -> bool {
    if depth > 16 {
        return false;
    }
    let Some((_, members)) = groups.iter().find(|(g, _)| g == group) else {
        return false;
    };
    members.iter().any(
        |m| match m.strip_prefix('(').and_then(|m| m.strip_suffix(')')) {
            Some(triple) => {
                let h = triple.split(',').next().unwrap_or("").trim();
                h.is_empty() || h == host
            }
            None => netgroup_has_host(groups, m, host, depth + 1),
        },
    )
}

/// RFC 931/1413 ident lookup: connect from the server address to the client's port 113,
/// ask for `client_port , server_port`, accept `… : USERID : OS : user`.
#[must_use]
pub fn rfc931(client: SocketAddr, server: SocketAddr, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let stream = connect_from(
        SocketAddr::new(server.ip(), 0),
        SocketAddr::new(client.ip(), 113),
        timeout,
    )?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    stream.set_read_timeout(Some(left)).ok()?;
    stream.set_write_timeout(Some(left)).ok()?;
    let mut w = &stream;
    write!(w, "{} , {}\r\n", client.port(), server.port()).ok()?;
    let mut line = String::new();
    BufReader::new(&stream).take_line(&mut line)?;
    parse_ident_reply(&line, client.port(), server.port())
}

trait TakeLine {
    fn take_line(self, buf: &mut String) -> Option<()>;
}

impl<R: BufRead> TakeLine for R {
    fn take_line(mut self, buf: &mut String) -> Option<()> {
        let mut raw = Vec::new();
        let mut limited = (&mut self).take(512);
        limited.read_until(b'\n', &mut raw).ok()?;
        *buf = String::from_utf8_lossy(&raw).into_owned();
        Some(())
    }
}

/// Parses `rport , lport : USERID : OS [, charset] : user`.
#[must_use]
pub fn parse_ident_reply(line: &str, rport: u16, lport: u16) -> Option<String> {
    let mut parts = line.splitn(4, ':');
    let ports = parts.next()?;
    let kind = parts.next()?.trim();
    let _os = parts.next()?;
    let user = parts.next()?;
    let mut p = ports.split(',');
    let a: u16 = p.next()?.trim().parse().ok()?;
    let b: u16 = p.next()?.trim().parse().ok()?;
    if a != rport || b != lport || !kind.eq_ignore_ascii_case("USERID") {
        return None;
    }
    let user = user.trim_end_matches(['\r', '\n']).trim_start();
    if user.is_empty() {
        None
    } else {
        Some(user.to_string())
    }
}

/// Non-blocking connect from `local` to `remote` with a timeout.
fn connect_from(local: SocketAddr, remote: SocketAddr, timeout: Duration) -> Option<TcpStream> {
    let family = if remote.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ok()?;
    let l = SockaddrStorage::from(local);
    let r = SockaddrStorage::from(remote);
    use std::os::fd::AsRawFd;
    bind(fd.as_raw_fd(), &l).ok()?;
    match connect(fd.as_raw_fd(), &r) {
        Ok(()) => {}
        Err(Errno::EINPROGRESS) => {
            let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
            let n = poll(&mut fds, PollTimeout::from(ms)).ok()?;
            if n == 0 {
                return None;
            }
            let err = getsockopt(&fd, sockopt::SocketError).ok()?;
            if err != 0 {
                return None;
            }
        }
        Err(_) => return None,
    }
    let stream = TcpStream::from(fd);
    stream.set_nonblocking(false).ok()?;
    Some(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netgroups() {
        let g = parse_netgroups(
            "trusted = (client2.example.org,,) (host3,,)\nall (,,)\nnested trusted\nnone (-,,)\n",
        );
        let g2 = parse_netgroups(
            "trusted (client2.example.org,,) (host3,,)\nall (,,)\nnested trusted\nnone (-,,)\n",
        );
        assert!(!g.is_empty());
        assert!(netgroup_has_host(&g2, "trusted", "client2.example.org", 0));
        assert!(!netgroup_has_host(&g2, "trusted", "CLIENT2.example.org", 0));
        assert!(netgroup_has_host(&g2, "nested", "host3", 0));
        assert!(netgroup_has_host(&g2, "all", "x", 0));
        assert!(!netgroup_has_host(&g2, "none", "-x", 0));
        assert!(!netgroup_has_host(&g2, "missing", "x", 0));
    }

    #[test]
    fn ident_reply() {
        assert_eq!(
            parse_ident_reply("4000 , 23 : USERID : UNIX : alice\r\n", 4000, 23),
            Some("alice".into())
        );
        assert_eq!(
            parse_ident_reply("4000 , 23 : ERROR : NO-USER\r\n", 4000, 23),
            None
        );
        assert_eq!(
            parse_ident_reply("4001 , 23 : USERID : UNIX : alice\r\n", 4000, 23),
            None
        );
    }

    #[test]
    fn errno_text_has_no_std_suffix() {
        let text = errno_text(Errno::ENOENT as i32);
        assert!(!text.contains("os error"), "{text}");
        assert!(!text.is_empty());
    }

    /// glibc's text, as Debian's tcpdmatch prints it (oracle case A16-deny-unreadable).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn errno_text_is_the_c_library_text() {
        assert_eq!(
            errno_text(Errno::ELOOP as i32),
            "Too many levels of symbolic links"
        );
        assert_eq!(errno_text(Errno::EPERM as i32), "Operation not permitted");
        assert_eq!(
            errno_text(Errno::ENOENT as i32),
            "No such file or directory"
        );
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn self_symlink_table_is_unreadable_with_libc_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hosts.deny");
        std::os::unix::fs::symlink("hosts.deny", &path).expect("symlink");
        let t = read_table(&path, "hosts.deny");
        assert_eq!(
            t.state,
            crate::table::TableState::Unreadable("Too many levels of symbolic links".into())
        );
    }

    #[test]
    fn missing_table_is_missing() {
        let t = read_table(Path::new("/nonexistent/hosts.allow"), "hosts.allow");
        assert_eq!(t.state, crate::table::TableState::Missing);
    }
}
