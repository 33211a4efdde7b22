//! `tcpdmatch [-d] [-i inet_conf] daemon[@host] [user@]host` (`tcpdmatch.c`, spec §11.2).
//!
//! Prints like upstream 7.6 with `fakelog.c`: libwrap's `warning:`/`error:`/`matched:`/
//! `option:` lines go to stdout in the order they happen, followed by the `client:`/`server:`
//! lines and the verdict.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use picket_tcpwrap::addr::{INADDR_NONE, dot_quad_addr, parse_numeric_host};
use picket_tcpwrap::expand::EXPANSION_LIMIT;
use picket_tcpwrap::request::UNKNOWN;
use picket_tcpwrap::table::split_at;
use picket_tcpwrap::{Diagnostics, Request, Resolver, Settings, Side, hosts_access, percent_x};

use crate::common::{DryRunEffects, parse_flags};
use crate::inetcf::{WrapStatus, inet_cfg};

fn usage(prog: &str, err: &mut dyn Write) -> i32 {
    let _ = write!(
        err,
        "usage: {prog} [-d] [-i inet_conf] daemon[@host] [user@]host\n\
         \t-d: use allow/deny files in current directory\n\
         \t-i: location of inetd.conf file\n"
    );
    1
}

fn flush(diag: &mut Diagnostics, out: &mut dyn Write) {
    for l in diag.take() {
        let _ = writeln!(out, "{}", l.text);
    }
}

/// Is the argument an address (as opposed to a host name)? A dotted quad as
/// `dot_quad_addr()` sees it (octal parts allowed, text kept as given), or IPv6.
fn is_address(s: &str) -> bool {
    dot_quad_addr(s) != INADDR_NONE || s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `find_inet_addr()`: the addresses of a host argument, with its warnings.
fn find_addrs(
    host: &str,
    resolver: &mut dyn Resolver,
    diag: &mut Diagnostics,
) -> Option<Vec<IpAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(vec![ip]);
    }
    match resolver.forward(host, None) {
        None => {
            diag.warn(format!("{host}: host not found"));
            None
        }
        Some(fw) => {
            if let Some(c) = &fw.canonical {
                if !c.eq_ignore_ascii_case(host) && parse_numeric_host(host, None).is_none() {
                    diag.warn(format!("{host}: hostname alias"));
                    diag.warn(format!("(official name: {c})"));
                }
            }
            Some(fw.addrs)
        }
    }
}

/// Runs tcpdmatch with `args` (without argv\[0\]); returns the exit status.
pub fn tcpdmatch(
    prog: &str,
    args: &[String],
    resolver: &mut dyn Resolver,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let flags = match parse_flags(args, "") {
        Ok(f) if f.rest.len() == 2 => f,
        Ok(_) => return usage(prog, err),
        Err(e) => {
            let _ = writeln!(err, "{prog}: {e}");
            return usage(prog, err);
        }
    };
    let paths = flags.tables();
    let mut diag = Diagnostics::default();

    let inet = match inet_cfg(flags.inetcf.as_deref(), &mut diag) {
        Ok(c) => c,
        Err(e) => {
            flush(&mut diag, out);
            let _ = writeln!(err, "{}", e.0);
            return 1;
        }
    };

    // daemon[@host]
    let spec = flags.rest[0].as_str();
    let (daemon_arg, server_arg) = match split_at(spec, '@') {
        Some((d, s)) => (d, Some(s)),
        None => (spec, None),
    };
    let daemon = if daemon_arg.starts_with('/') {
        let base = daemon_arg.rsplit('/').next().unwrap_or(daemon_arg);
        diag.warn(format!("{daemon_arg}: daemon name normalized to: {base}"));
        base
    } else {
        daemon_arg
    };
    if let Some(conf) = &inet.path {
        match inet.get(daemon) {
            None => diag.warn(format!("{daemon}: no such process name in {conf}")),
            Some(WrapStatus::Not) => diag.warn(format!("{daemon}: service possibly not wrapped")),
            Some(_) => {}
        }
    }

    let mut base = Request::new(daemon);
    base.ident_enabled = false;

    if let Some(host) = server_arg {
        let Some(addrs) = find_addrs(host, resolver, &mut diag) else {
            flush(&mut diag, out);
            return 1;
        };
        let Some(first) = addrs.first().copied() else {
            flush(&mut diag, out);
            return 1;
        };
        base.server = picket_tcpwrap::HostInfo::from_socket(SocketAddr::new(first, 0));
        base.diag = std::mem::take(&mut diag);
        let name = base.hostname(Side::Server, resolver);
        diag = std::mem::take(&mut base.diag);
        if addrs.len() > 1 {
            flush(&mut diag, out);
            let _ = writeln!(out, "Error: {host} has more than one address");
            let _ = writeln!(out, "Please specify an address instead");
            return 1;
        }
        if name == UNKNOWN {
            let a = base.hostaddr(Side::Server);
            diag.warn(format!("host address {a}->name lookup failed"));
        }
    }

    // [user@]client
    let carg = flags.rest[1].as_str();
    let (user, client) = match split_at(carg, '@') {
        Some((u, c)) => (Some(u), c),
        None => (None, carg),
    };
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        base.user = Some(u.to_string());
    }

    let tables = paths.load();
    let mut effects = DryRunEffects::new(std::io::stdout());

    if is_address(client) {
        base.client.addr = Some(client.to_string());
        base.diag = diag;
        evaluate(base, &tables, resolver, &mut effects, out);
        return 0;
    }
    if client.eq_ignore_ascii_case("unknown") || client.eq_ignore_ascii_case("paranoid") {
        base.client.name = Some(client.to_string());
        base.diag = diag;
        evaluate(base, &tables, resolver, &mut effects, out);
        return 0;
    }
    let Some(addrs) = find_addrs(client, resolver, &mut diag) else {
        flush(&mut diag, out);
        return 1;
    };
    flush(&mut diag, out);
    for (n, ip) in addrs.iter().enumerate() {
        let mut req = base.clone();
        req.client = picket_tcpwrap::HostInfo::from_socket(SocketAddr::new(*ip, 0));
        let name = req.hostname(Side::Client, resolver);
        if name == UNKNOWN {
            let a = req.hostaddr(Side::Client);
            req.diag
                .warn(format!("host address {a}->name lookup failed"));
        }
        evaluate(req, &tables, resolver, &mut effects, out);
        if n + 1 < addrs.len() {
            let _ = writeln!(out);
        }
    }
    0
}

fn expand(req: &mut Request, resolver: &mut dyn Resolver, what: &str) -> String {
    percent_x(what, req, resolver, EXPANSION_LIMIT).unwrap_or_default()
}

/// `tcpdmatch()`: show what is known, then the verdict.
fn evaluate(
    mut req: Request,
    tables: &picket_tcpwrap::Tables,
    resolver: &mut dyn Resolver,
    effects: &mut DryRunEffects<std::io::Stdout>,
    out: &mut dyn Write,
) {
    let mut lines = Vec::new();
    let known = |s: &str| !s.eq_ignore_ascii_case(UNKNOWN);
    if req.client.name.as_deref().is_some_and(known) {
        lines.push(format!(
            "client:   hostname {}",
            expand(&mut req, resolver, "%n")
        ));
    }
    if req.client.addr.is_some() || req.client.sin.is_some() {
        let a = expand(&mut req, resolver, "%a");
        if known(&a) {
            lines.push(format!("client:   address  {a}"));
        }
    }
    if req.user.as_deref().is_some_and(known) {
        lines.push(format!(
            "client:   username {}",
            expand(&mut req, resolver, "%u")
        ));
    }
    if req.server.name.as_deref().is_some_and(known) {
        lines.push(format!(
            "server:   hostname {}",
            expand(&mut req, resolver, "%N")
        ));
    }
    if req.server.addr.is_some() || req.server.sin.is_some() {
        let a = expand(&mut req, resolver, "%A");
        if known(&a) {
            lines.push(format!("server:   address  {a}"));
        }
    }
    if !req.daemon.is_empty() && known(&req.daemon) {
        lines.push(format!(
            "server:   process  {}",
            expand(&mut req, resolver, "%d")
        ));
    }
    flush(&mut req.diag, out);
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
    let verdict = hosts_access(tables, &mut req, resolver, effects, Settings::default());
    flush(&mut req.diag, out);
    let access = if verdict.twist.is_some() {
        "delegated"
    } else if verdict.is_granted() {
        "granted"
    } else {
        "denied"
    };
    let _ = writeln!(out, "access:   {access}");
    let _ = out.flush();
}
