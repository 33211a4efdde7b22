//! `inetcf.c`: read inetd.conf and remember which services are wrapped, with tcp_wrappers'
//! warnings (`not found`, `not executable`, `inserted before`, …).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use picket_tcpwrap::Diagnostics;
use picket_tcpwrap::system::strerror;

/// `REAL_DAEMON_DIR` in Debian's build.
pub const REAL_DAEMON_DIR: &str = "/usr/sbin";

/// Wrapping status of a service (`WR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapStatus {
    /// Run directly from inetd: `service possibly not wrapped`.
    Not,
    /// Cannot tell.
    Maybe,
    /// Run through tcpd.
    Yes,
}

/// The services found in inetd.conf.
#[derive(Debug, Clone, Default)]
pub struct InetConf {
    /// The file that was read (as given).
    pub path: Option<String>,
    /// `(process name, status)`, in file order.
    pub services: Vec<(String, WrapStatus)>,
}

impl InetConf {
    /// `inet_get()`: `None` = not in the file (`no such process name`).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<WrapStatus> {
        self.services
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| *s)
    }
}

/// Error opening an explicitly named inetd.conf (`open FILE: %m`, exit 1).
#[derive(Debug)]
pub struct OpenError(pub String);

/// `inet_cfg()`: reads `conf`, or `/etc/inetd.conf` when `None` (silently nothing if that
/// does not exist). Warnings go to `diag`.
pub fn inet_cfg(conf: Option<&str>, diag: &mut Diagnostics) -> Result<InetConf, OpenError> {
    let (path, text) = match conf {
        Some(p) => match std::fs::read(p) {
            Ok(t) => (p.to_string(), t),
            Err(e) => return Err(OpenError(format!("open {p}: {}", strerror(&e)))),
        },
        None => match std::fs::read("/etc/inetd.conf") {
            Ok(t) => {
                let _ = check_path("/etc/inetd.conf", diag);
                ("/etc/inetd.conf".to_string(), t)
            }
            Err(_) => return Ok(InetConf::default()),
        },
    };
    let mut out = InetConf {
        path: Some(path.clone()),
        services: Vec::new(),
    };
    let saved = diag.context().cloned();
    let text = String::from_utf8_lossy(&text).into_owned();
    let mut line_no = 0u32;
    let mut pending = String::new();
    for phys in text.split_inclusive('\n') {
        if phys.ends_with('\n') {
            line_no += 1;
        }
        if let Some(body) = phys.strip_suffix("\\\n") {
            pending.push_str(body);
            continue;
        }
        pending.push_str(phys);
        let line = std::mem::take(&mut pending);
        diag.set_context(Some((path.clone(), line_no)));
        parse_line(&line, diag, &mut out);
    }
    if !pending.is_empty() {
        diag.set_context(Some((path.clone(), line_no)));
        parse_line(&pending, diag, &mut out);
    }
    diag.set_context(saved);
    Ok(out)
}

fn parse_line(line: &str, diag: &mut Diagnostics, out: &mut InetConf) {
    let mut t = line
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty());
    let Some(service) = t.next() else { return };
    if service.starts_with('#') {
        return;
    }
    if !service.eq_ignore_ascii_case("stream") && !service.eq_ignore_ascii_case("dgram") {
        t.next(); // endpoint
    }
    let protocol = t.next().unwrap_or("");
    t.next(); // wait
    let Some(user) = t.next() else { return };
    let mut path = if user.starts_with('/') {
        user
    } else {
        match t.next() {
            Some(p) => p,
            None => return,
        }
    };
    if let Some(p) = path.strip_prefix('?') {
        path = p;
    }
    if path.eq_ignore_ascii_case("internal") {
        return;
    }
    if path.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
        match t.next() {
            Some(p) => path = p,
            None => return,
        }
    }
    let Some(mut arg0) = t.next() else {
        diag.warn("incomplete line");
        return;
    };
    if arg0.bytes().all(|b| b.is_ascii_digit()) {
        match t.next() {
            Some(a) => arg0 = a,
            None => {
                diag.warn("incomplete line");
                return;
            }
        }
    }
    let arg1 = t.next().unwrap_or("");
    inet_chk(protocol, path, arg0, arg1, diag, out);
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `check_path()`: stat, warn about world-writable files and parent directories.
fn check_path(path: &str, diag: &mut Diagnostics) -> Result<u32, String> {
    let md = std::fs::metadata(path).map_err(|e| strerror(&e))?;
    let mode = md.permissions().mode();
    if mode & 0o002 != 0 {
        diag.warn(format!("{path}: world writable"));
    }
    if path.starts_with('/') && path.len() > 1 {
        if let Some(i) = path.rfind('/') {
            let parent = if i == 0 { "/" } else { &path[..i] };
            let _ = check_path(parent, diag);
        }
    }
    Ok(mode)
}

fn inet_chk(
    protocol: &str,
    path: &str,
    arg0: &str,
    arg1: &str,
    diag: &mut Diagnostics,
    out: &mut InetConf,
) {
    let base = base_name(path);
    let proc_name = if arg0.starts_with('/') {
        base_name(arg0)
    } else {
        arg0
    };
    let st = check_path(path, diag);
    match &st {
        Err(e) => diag.warn(format!("{path}: not found: {e}")),
        Ok(mode) if mode & 0o100 == 0 => diag.warn(format!("{path}: not executable")),
        Ok(_) => {}
    }
    if base.eq_ignore_ascii_case("miscd") {
        out.services.push((arg0.to_string(), WrapStatus::Yes));
        return;
    }
    if proc_name.eq_ignore_ascii_case("rexd") || proc_name.eq_ignore_ascii_case("rpc.rexd") {
        diag.warn(format!("{proc_name} may be an insecure service"));
    }
    let status = if base.eq_ignore_ascii_case("tcpd") {
        if proc_name.eq_ignore_ascii_case("tcpd") {
            diag.warn(format!("{proc_name} is recursively calling itself"));
        }
        if let Ok(mode) = st {
            if mode & 0o6000 != 0 {
                diag.warn(format!("{path}: file is set-uid or set-gid"));
            }
        }
        if arg0.starts_with('/') && proc_name.eq_ignore_ascii_case(base_name(arg1)) {
            diag.warn(format!("{path} inserted before {arg0}"));
        }
        if arg0.starts_with('/') {
            match check_path(arg0, diag) {
                Err(e) => diag.warn(format!("{arg0}: not found: {e}")),
                Ok(mode) if mode & 0o100 == 0 => diag.warn(format!("{arg0}: not executable")),
                Ok(_) => {}
            }
        } else {
            let daemon = format!("{REAL_DAEMON_DIR}/{arg0}");
            match check_path(&daemon, diag) {
                Err(e) => diag.warn(format!("{arg0}: not found in {REAL_DAEMON_DIR}: {e}")),
                Ok(mode) if mode & 0o100 == 0 => diag.warn(format!("{daemon}: not executable")),
                Ok(_) => {}
            }
        }
        WrapStatus::Yes
    } else {
        let daemon = format!("{REAL_DAEMON_DIR}/{arg0}");
        if path.eq_ignore_ascii_case(&daemon) {
            WrapStatus::Not
        } else if Path::new(&daemon).exists() {
            WrapStatus::Maybe
        } else {
            match std::fs::metadata(&daemon) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => WrapStatus::Not,
                Err(e) => {
                    diag.warn(format!("{daemon}: file lookup: {}", strerror(&e)));
                    WrapStatus::Maybe
                }
                Ok(_) => WrapStatus::Maybe,
            }
        }
    };
    if status == WrapStatus::Yes && protocol.eq_ignore_ascii_case("rpc/tcp") {
        diag.warn(format!("{proc_name}: cannot wrap rpc/tcp services"));
    }
    out.services.push((proc_name.to_string(), status));
}
