//! `tcpdchk [-a] [-d] [-i inet_conf] [-v]` (`tcpdchk.c`, spec §11.3): checks every rule of
//! both tables. Like upstream 7.6 (`fakelog.c`), libwrap's warnings and `option:` lines are
//! printed on stdout.

use std::io::Write;

use picket_tcpwrap::addr::{INADDR_NONE, dot_quad_addr, inet_pton6};
use picket_tcpwrap::pattern::{atoi, ipv4_mask};
use picket_tcpwrap::system::strerror;
use picket_tcpwrap::table::{LogicalLine, logical_lines, split_at, split_list};
use picket_tcpwrap::{Diagnostics, OptionsOutcome, Request, Resolver, Settings, run_options};

use crate::common::{DryRunEffects, parse_flags};
use crate::inetcf::{InetConf, WrapStatus, inet_cfg};

/// Programs Debian's tcpdchk knows to be linked with libwrap (`tcpdchk_libwrapped`).
pub const LIBWRAPPED: &[&str] = &[
    "portmap",
    "mountd",
    "statd",
    "ugidd",
    "redir",
    "rlinetd",
    "sshd",
    "atftpd",
    "diald",
    "esound",
    "gdm",
    "gnome-session",
    "icecast",
    "icecast_admin",
    "icecast_client",
    "icecast_source",
    "mysqld",
    "ntop",
    "pptpd",
    "rquotad",
    "sendmail",
    "smail",
];

fn usage(prog: &str, err: &mut dyn Write) -> i32 {
    let _ = write!(
        err,
        "usage: {prog} [-a] [-d] [-i inet_conf] [-v]\n\
         \t-a: report rules with implicit \"ALLOW\" at end\n\
         \t-d: use allow/deny files in current directory\n\
         \t-i: location of inetd.conf file\n\
         \t-v: list all rules\n"
    );
    1
}

struct Checker<'a> {
    diag: Diagnostics,
    inet: InetConf,
    silenced: Vec<String>,
    resolver: &'a mut dyn Resolver,
    out: &'a mut dyn Write,
}

impl Checker<'_> {
    fn flush(&mut self) {
        for l in self.diag.take() {
            let _ = writeln!(self.out, "{}", l.text);
        }
    }

    fn reserved(name: &str) -> bool {
        ["unknown", "KNOWN", "paranoid", "ALL", "LOCAL"]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
    }

    fn check_daemon(&mut self, pat: &str) {
        if pat.starts_with('@') {
            self.diag
                .warn(format!("{pat}: daemon name begins with \"@\""));
        } else if pat.starts_with('/') {
            self.diag
                .warn(format!("{pat}: daemon name begins with \"/\""));
        } else if pat.starts_with('.') {
            self.diag
                .warn(format!("{pat}: daemon name begins with dot"));
        } else if pat.ends_with('.') {
            self.diag.warn(format!("{pat}: daemon name ends in dot"));
        } else if pat.eq_ignore_ascii_case("ALL") || pat.eq_ignore_ascii_case("unknown") {
        } else if pat.eq_ignore_ascii_case("FAIL") {
            self.fail_warning();
        } else if Self::reserved(pat) {
            self.diag
                .warn(format!("{pat}: daemon name may be reserved word"));
        } else if LIBWRAPPED.iter().any(|d| d.eq_ignore_ascii_case(pat))
            || self.silenced.iter().any(|d| d.eq_ignore_ascii_case(pat))
        {
        } else if let Some(conf) = self.inet.path.clone() {
            match self.inet.get(pat) {
                None => {
                    self.diag
                        .warn(format!("{pat}: no such process name in {conf}"));
                    self.silenced.push(pat.to_string());
                }
                Some(WrapStatus::Not) => {
                    self.diag
                        .warn(format!("{pat}: service possibly not wrapped"));
                    self.silenced.push(pat.to_string());
                }
                Some(_) => {}
            }
        }
    }

    fn fail_warning(&mut self) {
        self.diag.warn("FAIL is no longer recognized");
        self.diag.warn("(use EXCEPT or DENY instead)");
    }

    fn check_user(&mut self, pat: &str) {
        if pat.starts_with('@') {
            self.diag
                .warn(format!("{pat}: user name begins with \"@\""));
        } else if pat.starts_with('/') {
            self.diag
                .warn(format!("{pat}: user name begins with \"/\""));
        } else if pat.starts_with('.') {
            self.diag.warn(format!("{pat}: user name begins with dot"));
        } else if pat.ends_with('.') {
            self.diag.warn(format!("{pat}: user name ends in dot"));
        } else if ["ALL", "unknown", "KNOWN"]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(pat))
        {
        } else if pat.eq_ignore_ascii_case("FAIL") {
            self.fail_warning();
        } else if Self::reserved(pat) {
            self.diag
                .warn(format!("{pat}: user name may be reserved word"));
        }
    }

    /// Returns the number of addresses of a host name (1 when not applicable).
    fn check_host(&mut self, pat: &str) -> usize {
        if let Some(group) = pat.strip_prefix('@') {
            let groups = std::fs::read_to_string("/etc/netgroup").unwrap_or_default();
            let parsed = picket_tcpwrap::system::parse_netgroups(&groups);
            if !parsed.iter().any(|(g, m)| g == group && !m.is_empty()) {
                self.diag
                    .warn(format!("{group}: unknown or empty netgroup"));
            }
        } else if pat.starts_with('/') {
        } else if let Some((net, mask)) = split_at(pat, '/') {
            let ok = if let Some(inner) = net.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
                inet_pton6(inner).is_some() && (0..=128).contains(&atoi(mask))
            } else {
                dot_quad_addr(net) != INADDR_NONE && ipv4_mask(mask).is_some()
            };
            if !ok {
                self.diag
                    .warn(format!("{net}/{mask}: bad net/mask pattern"));
            }
        } else if pat.eq_ignore_ascii_case("FAIL") {
            self.fail_warning();
        } else if Self::reserved(pat) {
        } else if pat.starts_with('[') && pat.ends_with(']') {
            if inet_pton6(&pat[1..pat.len() - 1]).is_none() {
                self.diag.warn(format!("{pat}: host not found"));
            }
        } else if pat
            .bytes()
            .any(|b| !(b.is_ascii_digit() || b == b'.' || b == b'/'))
        {
            if pat.ends_with('.') {
                self.diag
                    .warn(format!("{pat}: domain or host name ends in dot"));
            } else if !pat.starts_with('.') {
                return self.lookup(pat);
            }
        } else if pat == "0.0.0.0" || pat == "255.255.255.255" {
        } else if pat.starts_with('.') {
            self.diag
                .warn(format!("{pat}: network number begins with dot"));
        } else if !pat.ends_with('.') {
            return self.lookup(pat);
        }
        1
    }

    fn lookup(&mut self, host: &str) -> usize {
        match self.resolver.forward(host, None) {
            None => {
                self.diag.warn(format!("{host}: host not found"));
                0
            }
            Some(fw) => fw.addrs.len(),
        }
    }

    fn check_daemon_list(&mut self, words: &[String]) {
        let mut n = 0;
        for w in words {
            if w.eq_ignore_ascii_case("EXCEPT") {
                n = 0;
                continue;
            }
            n += 1;
            let (daemon, host) = split_after_first(w, '@');
            if let Some(h) = host {
                if self.check_host(h) > 1 {
                    self.diag
                        .warn(format!("host {h} has more than one address"));
                    self.diag.warn("(consider using an address instead)");
                }
            }
            self.check_daemon(daemon);
        }
        if n == 0 {
            self.diag.warn("daemon list is empty or ends in EXCEPT");
        }
    }

    fn check_client_list(&mut self, words: &[String]) {
        let mut n = 0;
        for w in words {
            if w.eq_ignore_ascii_case("EXCEPT") {
                n = 0;
                continue;
            }
            n += 1;
            match split_after_first(w, '@') {
                (user, Some(host)) => {
                    self.check_user(user);
                    self.check_host(host);
                }
                (host, None) => {
                    self.check_host(host);
                }
            }
        }
        if n == 0 {
            self.diag.warn("client list is empty or ends in EXCEPT");
        }
    }
}

fn split_after_first(tok: &str, c: char) -> (&str, Option<&str>) {
    let Some(first) = tok.chars().next() else {
        return (tok, None);
    };
    let skip = first.len_utf8();
    match split_at(&tok[skip..], c) {
        Some((a, b)) => (&tok[..skip + a.len()], Some(b)),
        None => (tok, None),
    }
}

/// The request tcpdchk expands options with.
fn fake_request() -> Request {
    let mut r = Request::new("daemon_name");
    r.client.name = Some("client_hostname".into());
    r.client.addr = Some("client_addr".into());
    r.server.name = Some("server_hostname".into());
    r.server.addr = Some("server_addr".into());
    r.user = Some("user_name".into());
    r
}

/// Runs tcpdchk with `args` (without argv\[0\]); returns the exit status.
pub fn tcpdchk(
    prog: &str,
    args: &[String],
    resolver: &mut dyn Resolver,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let flags = match parse_flags(args, "av") {
        Ok(f) if f.rest.is_empty() => f,
        Ok(_) => return usage(prog, err),
        Err(e) => {
            let _ = writeln!(err, "{prog}: {e}");
            return usage(prog, err);
        }
    };
    let verbose = flags.letters.contains(&'v');
    let implicit = flags.letters.contains(&'a');
    let paths = flags.tables();
    let mut diag = Diagnostics::default();
    let inet = match inet_cfg(flags.inetcf.as_deref(), &mut diag) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{}", e.0);
            return 1;
        }
    };
    let mut ck = Checker {
        diag,
        inet,
        silenced: Vec::new(),
        resolver,
        out,
    };
    ck.flush();
    if verbose {
        if let Some(p) = &ck.inet.path {
            let _ = writeln!(ck.out, "Using network configuration file: {p}");
        }
    }
    let mut effects = DryRunEffects::new(std::io::stdout());
    for (path, is_allow) in [(paths.allow.clone(), true), (paths.deny.clone(), false)] {
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                ck.diag
                    .warn(format!("cannot open {path}: {}", strerror(&e)));
                ck.flush();
                continue;
            }
        };
        for l in logical_lines(&data) {
            let (text, line) = match l {
                LogicalLine::Broken { line } => {
                    ck.diag.set_context(Some((path.clone(), line)));
                    ck.diag.warn("missing newline or line too long");
                    ck.flush();
                    break;
                }
                LogicalLine::Line { text, line } => (text, line),
            };
            ck.diag.set_context(Some((path.clone(), line)));
            if text.starts_with('#')
                || text
                    .bytes()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                continue;
            }
            let Some((daemons, rest)) = split_at(&text, ':') else {
                ck.diag.warn("missing \":\" separator");
                ck.flush();
                continue;
            };
            let (clients, options) = match split_at(rest, ':') {
                Some((c, o)) => (c, Some(o)),
                None => (rest, None),
            };
            let (dl, cl) = (split_list(daemons), split_list(clients));
            if verbose {
                let _ = writeln!(ck.out, "\n>>> Rule {path} line {line}:");
                let _ = writeln!(ck.out, "daemons:  {}", dl.join(" "));
            }
            ck.check_daemon_list(&dl);
            ck.flush();
            if verbose {
                let _ = writeln!(ck.out, "clients:  {}", cl.join(" "));
            }
            ck.check_client_list(&cl);
            ck.flush();
            let mut granted = is_allow;
            if let Some(opts) = options {
                let mut req = fake_request();
                req.diag.set_context(Some((path.clone(), line)));
                let outcome = run_options(
                    opts,
                    &mut req,
                    ck.resolver,
                    &mut effects,
                    Settings::default(),
                );
                ck.diag.set_context(None);
                for l in req.diag.take() {
                    ck.diag.push(l.level, l.text);
                }
                ck.diag.set_context(Some((path.clone(), line)));
                match outcome {
                    OptionsOutcome::Completed { twist } => {
                        if twist.is_none() && granted && implicit {
                            ck.diag.warn("implicit \"allow\" at end of rule");
                        }
                    }
                    OptionsOutcome::Permit => granted = true,
                    _ => granted = false,
                }
            } else if granted && implicit {
                ck.diag.warn("implicit \"allow\" at end of rule");
            }
            ck.flush();
            if verbose {
                let _ = writeln!(
                    ck.out,
                    "access:   {}",
                    if granted { "granted" } else { "denied" }
                );
            }
        }
        ck.diag.set_context(None);
    }
    let _ = ck.out.flush();
    0
}
