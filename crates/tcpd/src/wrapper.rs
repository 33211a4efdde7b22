//! `tcpd`: the access-control wrapper (`tcpd.c`, spec §10, §11.1).
//!
//! * **inetd mode** (classic): the client socket is on fds 0, 1, 2; the daemon is `argv[0]`
//!   (absolute path, or a name looked up in `/usr/sbin`). Evaluate the tables, log, then
//!   exec the daemon, exec `/bin/sh -c CMD` for a `twist`, or refuse (log, wait 5 s, exit).
//! * **listener mode** (`--listen ADDR -- /path/server args`): accept connections and run
//!   ourselves in inetd mode for each one, with the socket on fds 0, 1, 2 — exactly what a
//!   `nowait` inetd does, so every option behaves as under inetd. The listener also hands the
//!   child the two addresses `accept()` returned (`--peer`, `--local`): a client that resets
//!   at once (`nmap -sT` ends each probe with a RST) is gone before the child could ask the
//!   socket (`getpeername` fails with `ENOTCONN`), and would otherwise be matched, expanded
//!   and reported as `unknown`.
//! * In inetd mode nobody hands us the address: when `getpeername` fails the client is
//!   `unknown` (as in libwrap), and we say so in a log line (why, and which rule matched it)
//!   and in the event's `peer_error`, so such clients are counted, not silently lost.
//!
//! Client-controlled text only reaches a shell through libwrap's sanitised `%` expansions.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::socket::{SockaddrStorage, getpeername, getsockname, setsockopt, sockopt};
use picket_tcpwrap::system::{SystemResolver, errno_text, read_banner, read_pattern_file};
use picket_tcpwrap::{
    AccessEvent, BannerRead, Effects, EventKind, FileRead, Level, LogLine, Request, Settings,
    hosts_access,
};

use crate::common::TablePaths;

/// `REAL_DAEMON_DIR`.
const REAL_DAEMON_DIR: &str = "/usr/sbin";

/// How tcpd was configured.
#[derive(Debug, Clone)]
pub struct Config {
    /// The tables.
    pub tables: TablePaths,
    /// The daemon as given (`argv[0]` in classic mode), and its arguments.
    pub argv: Vec<String>,
    /// Extra log file (one line per message, `ident[pid]: level: text`), besides syslog.
    pub log_file: Option<String>,
    /// File to append JSON [`AccessEvent`]s to, one per line.
    pub events: Option<String>,
    /// How long a refused connection is held open (libwrap's `clean_exit()`: 5 s).
    pub refuse_delay: Duration,
    /// Listener mode: address to listen on.
    pub listen: Option<SocketAddr>,
    /// Listener mode: connections handled at once; more are closed immediately.
    pub max_conns: usize,
    /// Write one line with the bound address to stdout once listening (for tests).
    pub print_addr: bool,
    /// The client address as `accept()` returned it (set by the listener for its children).
    pub peer: Option<SocketAddr>,
    /// The local address of the accepted socket (set by the listener for its children).
    pub local: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tables: TablePaths::default(),
            argv: Vec::new(),
            log_file: None,
            events: None,
            refuse_delay: Duration::from_secs(5),
            listen: None,
            max_conns: 256,
            print_addr: false,
            peer: None,
            local: None,
        }
    }
}

/// Usage text for `tcpd` when called under its own name.
pub const USAGE: &str = "\
usage: tcpd [options] [--] /path/to/daemon [args...]     (socket on stdin, as from inetd)
       tcpd --listen ADDR:PORT [options] -- /path/to/daemon [args...]
options:
  --allow FILE          hosts.allow to use (default /etc/hosts.allow)
  --deny FILE           hosts.deny to use (default /etc/hosts.deny)
  -d                    use ./hosts.allow and ./hosts.deny
  --log-file FILE       also append log lines to FILE
  --events FILE         append one JSON access event per connection to FILE
  --refuse-delay SECS   hold refused connections open this long (default 5)
  --max-conns N         listener: connections handled at once (default 256)
  --print-addr          listener: print the bound address on stdout
  --peer ADDR:PORT      the client's address, as accept() returned it (the listener
                        passes it to its children: a client that resets at once is gone
                        before the socket can be asked)
  --local ADDR:PORT     the local address of the accepted socket (likewise)
Called under another name (inetd: `/usr/sbin/tcpd in.telnetd`), argv[0] is the daemon.";

/// Parses tcpd's own flags (when called as `tcpd`). `args` excludes argv\[0\].
pub fn parse_args(args: &[String]) -> anyhow::Result<Config> {
    let mut c = Config::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut value = |name: &str| -> anyhow::Result<String> {
            i += 1;
            args.get(i)
                .cloned()
                .with_context(|| format!("{name} requires a value"))
        };
        match a {
            "--" => {
                i += 1;
                break;
            }
            "--allow" => c.tables.allow = value(a)?,
            "--deny" => c.tables.deny = value(a)?,
            "-d" => c.tables = TablePaths::current_dir(),
            "--log-file" => c.log_file = Some(value(a)?),
            "--events" => c.events = Some(value(a)?),
            "--refuse-delay" => {
                let v = value(a)?;
                let secs: f64 = v
                    .parse()
                    .with_context(|| format!("bad --refuse-delay {v}"))?;
                c.refuse_delay = Duration::try_from_secs_f64(secs).context("bad --refuse-delay")?;
            }
            "--listen" => {
                let v = value(a)?;
                c.listen = Some(
                    v.parse()
                        .with_context(|| format!("bad --listen address {v}"))?,
                );
            }
            "--max-conns" => {
                let v = value(a)?;
                c.max_conns = v.parse().with_context(|| format!("bad --max-conns {v}"))?;
            }
            "--print-addr" => c.print_addr = true,
            "--peer" | "--local" => {
                let v = value(a)?;
                let sa: SocketAddr = v.parse().with_context(|| format!("bad {a} address {v}"))?;
                if a == "--peer" {
                    c.peer = Some(sa);
                } else {
                    c.local = Some(sa);
                }
            }
            "-h" | "--help" => bail!("{USAGE}"),
            s if s.starts_with('-') => bail!("unknown option {s}\n{USAGE}"),
            _ => break,
        }
        i += 1;
    }
    c.argv = args[i.min(args.len())..].to_vec();
    if c.argv.is_empty() {
        bail!("no daemon given\n{USAGE}");
    }
    Ok(c)
}

/// The daemon path and name from `argv[0]` (`tcpd.c`).
#[must_use]
pub fn daemon_path_and_name(argv0: &str) -> (String, String) {
    if argv0.starts_with('/') {
        let name = argv0.rsplit('/').next().unwrap_or(argv0).to_string();
        (argv0.to_string(), name)
    } else {
        (format!("{REAL_DAEMON_DIR}/{argv0}"), argv0.to_string())
    }
}

/// Writes log lines to syslog (`/dev/log`, facility daemon, ident = daemon name, with pid)
/// and to the optional log file.
#[derive(Debug)]
pub struct Logger {
    ident: String,
    file: Option<String>,
    sock: Option<UnixDatagram>,
}

impl Logger {
    /// Opens the logger (`openlog(name, LOG_PID, LOG_DAEMON)`).
    #[must_use]
    pub fn new(ident: &str, file: Option<String>) -> Self {
        let sock = UnixDatagram::unbound()
            .ok()
            .filter(|s| s.connect("/dev/log").is_ok());
        Logger {
            ident: ident.to_string(),
            file,
            sock,
        }
    }

    /// Logs `text` with syslog priority `facility << 3 | level`.
    pub fn log(&self, facility: u8, level: u8, text: &str) {
        let pid = std::process::id();
        if let Some(s) = &self.sock {
            let _ = s.send(
                format!("<{}>{}[{pid}]: {text}", (facility << 3) | level, self.ident).as_bytes(),
            );
        }
        if let Some(f) = &self.file {
            if let Ok(mut fh) = OpenOptions::new().create(true).append(true).open(f) {
                let _ = fh.write_all(
                    format!("{}[{pid}]: {}: {text}\n", self.ident, level_name(level)).as_bytes(),
                );
            }
        }
    }

    /// Logs libwrap diagnostics (warnings/errors at LOG_ERR, `aclexec returned` at LOG_INFO;
    /// debug lines are not logged by tcpd).
    pub fn diag(&self, lines: &[LogLine]) {
        for l in lines {
            let level = match l.level {
                Level::Err => 3,
                Level::Warning => 4,
                Level::Notice => 5,
                Level::Info => 6,
                Level::Debug => continue,
                _ => 3,
            };
            self.log(picket_tcpwrap::event::DEFAULT_FACILITY, level, &l.text);
        }
    }
}

fn level_name(level: u8) -> &'static str {
    picket_tcpwrap::options::LEVELS
        .iter()
        .find(|(_, c)| *c == level)
        .map_or("?", |(n, _)| n)
}

/// The real side effects, in a process that owns the client socket on fd 0.
struct TcpdEffects<'a> {
    sock: BorrowedFd<'a>,
    env: Vec<(String, String)>,
    nice: Option<i32>,
}

impl TcpdEffects<'_> {
    fn shell(&self, cmd: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg(cmd)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }
}

impl Effects for TcpdEffects<'_> {
    fn pattern_file(&mut self, path: &str) -> FileRead {
        read_pattern_file(path)
    }

    fn banner_file(&mut self, dir: &str, daemon: &str) -> BannerRead {
        read_banner(dir, daemon)
    }

    fn write_banner(&mut self, data: &[u8]) {
        let _ = nix::unistd::write(self.sock, data);
    }

    fn spawn(&mut self, cmd: &str) {
        // shell_cmd(): fds 0-2 on /dev/null, and wait for the shell.
        let _ = self
            .shell(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn aclexec(&mut self, cmd: &str) -> Option<i32> {
        // Debian runs it with the caller's fds (the client socket) and waits.
        let status = self.shell(cmd).status().ok()?;
        Some(status.code().unwrap_or(1))
    }

    fn setenv(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.env.push((name.to_string(), value.to_string()));
        Ok(())
    }

    fn umask(&mut self, mask: u32) {
        let mode = nix::sys::stat::Mode::from_bits_truncate(mask);
        nix::sys::stat::umask(mode);
    }

    fn nice(&mut self, value: i32) -> Option<String> {
        self.nice = Some(value);
        None
    }

    fn keepalive(&mut self) -> Option<String> {
        setsockopt(&self.sock, sockopt::KeepAlive, &true)
            .err()
            .map(|e| {
                format!(
                    "setsockopt SO_KEEPALIVE {}: {}",
                    self.sock.as_raw_fd(),
                    errno_text(e as i32)
                )
            })
    }

    fn linger(&mut self, secs: i32) -> Option<String> {
        let l = nix::libc::linger {
            l_onoff: i32::from(secs != 0),
            l_linger: secs,
        };
        setsockopt(&self.sock, sockopt::Linger, &l).err().map(|e| {
            format!(
                "setsockopt SO_LINGER {}: {}",
                self.sock.as_raw_fd(),
                errno_text(e as i32)
            )
        })
    }

    fn group(&mut self, group: &str) -> Result<(), String> {
        let g = nix::unistd::Group::from_name(group)
            .ok()
            .flatten()
            .ok_or_else(|| format!("unknown group: \"{group}\""))?;
        nix::unistd::setgid(g.gid).map_err(|e| format!("setgid({group}): {}", errno_text(e as i32)))
    }

    fn user(&mut self, user: &str, group_given: bool) -> Result<(), String> {
        // Unlike Debian's libwrap (whose inverted test makes `user` a no-op in tcpd), we do
        // drop privileges, the way hosts_options(5) documents it.
        let pw = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("unknown user: \"{user}\""))?;
        if !group_given {
            nix::unistd::setgid(pw.gid)
                .map_err(|e| format!("setgid({user}): {}", errno_text(e as i32)))?;
            if let Ok(name) = std::ffi::CString::new(user) {
                let _ = nix::unistd::initgroups(&name, pw.gid);
            }
        }
        nix::unistd::setuid(pw.uid).map_err(|e| format!("setuid({user}): {}", errno_text(e as i32)))
    }
}

fn sockaddr(s: Option<SockaddrStorage>) -> Option<SocketAddr> {
    let s = s?;
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    s.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

fn append_event(path: &str, ev: &AccessEvent) {
    if let Ok(line) = serde_json::to_string(ev) {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

/// Classic mode: the socket is fd 0. Never returns normally on success (exec).
pub fn serve_stdin(cfg: &Config) -> anyhow::Result<()> {
    let argv0 = cfg.argv.first().context("no daemon")?.clone();
    let (path, name) = daemon_path_and_name(&argv0);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let logger = Logger::new(&name, cfg.log_file.clone());
    let stdin = std::io::stdin();
    let sock = stdin.as_fd();
    // The listener's addresses (from accept()) win: the socket may already be reset.
    let (peer, peer_error) = match cfg.peer {
        Some(p) => (Some(p), None),
        None => match getpeername::<SockaddrStorage>(sock.as_raw_fd()) {
            Ok(s) => match sockaddr(Some(s)) {
                Some(p) => (Some(p), None),
                None => (
                    None,
                    Some("getpeername: not an internet socket".to_string()),
                ),
            },
            Err(e) => (None, Some(format!("getpeername: {}", errno_text(e as i32)))),
        },
    };
    let local = cfg
        .local
        .or_else(|| sockaddr(getsockname::<SockaddrStorage>(sock.as_raw_fd()).ok()));

    let mut req = Request::new(&name);
    if let Some(p) = peer {
        req.client = picket_tcpwrap::HostInfo::from_socket(p);
    }
    if let Some(l) = local {
        req.server = picket_tcpwrap::HostInfo::from_socket(l);
    }
    req.ident_enabled = peer.is_some() && local.is_some();

    let tables = cfg.tables.load();
    let mut resolver = SystemResolver::default();
    let mut effects = TcpdEffects {
        sock,
        env: Vec::new(),
        nice: None,
    };
    let verdict = hosts_access(
        &tables,
        &mut req,
        &mut resolver,
        &mut effects,
        Settings::default(),
    );
    logger.diag(&req.diag.take());
    let mut event = AccessEvent::new(&mut req, &verdict);
    if let Some(why) = peer_error {
        logger.log(event.facility, 4, &peer_unknown_message(&why, &event));
        event.peer_error = Some(why);
    }
    logger.log(event.facility, event.level, &event.log_message());
    if let Some(ev) = &cfg.events {
        append_event(ev, &event);
    }

    let mut cmd = match (event.kind, &verdict.twist) {
        (EventKind::Twist, Some(twist)) => {
            // Replace ourselves by the shell, on the client socket (fds 0, 1, 2).
            let mut c = effects.shell(twist);
            c.stdin(Stdio::from(sock.try_clone_to_owned()?));
            c.stdout(Stdio::from(sock.try_clone_to_owned()?));
            c.stderr(Stdio::from(sock.try_clone_to_owned()?));
            c
        }
        (EventKind::Connect, _) => {
            let mut c = Command::new(&path);
            c.arg0(&argv0)
                .args(&cfg.argv[1..])
                .envs(effects.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c
        }
        _ => {
            std::thread::sleep(cfg.refuse_delay);
            std::process::exit(0);
        }
    };
    if let Some(n) = effects.nice {
        let mut wrapped = Command::new("nice");
        wrapped
            .arg("-n")
            .arg(n.to_string())
            .arg(cmd.get_program())
            .args(cmd.get_args());
        wrapped.envs(effects.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd = wrapped;
    }
    let err = cmd.exec();
    let shown = if event.kind == EventKind::Twist {
        "/bin/sh".to_string()
    } else {
        path
    };
    logger.log(
        picket_tcpwrap::event::DEFAULT_FACILITY,
        3,
        &format!("error: cannot execute {shown}: {err}"),
    );
    std::thread::sleep(cfg.refuse_delay);
    std::process::exit(0);
}

/// The warning logged when the client's address could not be read from the socket: why, and
/// how the `unknown` client was then matched.
#[must_use]
pub fn peer_unknown_message(why: &str, event: &AccessEvent) -> String {
    let hint = if why.contains("not connected") {
        " (the client reset the connection before tcpd ran)"
    } else {
        ""
    };
    let how = match (&event.matched, event.kind) {
        (Some(m), _) => format!("{}, line {}", m.path, m.line),
        (None, EventKind::Connect) => "no rule".to_string(),
        (None, _) => "an option or table error".to_string(),
    };
    let verb = match event.kind {
        EventKind::Connect => "granted",
        EventKind::Refused => "refused",
        EventKind::Twist => "twisted",
        _ => "decided",
    };
    format!("warning: client address unknown: {why}{hint}; {verb} as \"unknown\" by {how}")
}

/// Listener mode: accept forever, one `tcpd` child in classic mode per connection.
pub fn listen(cfg: &Config, exe: &Path) -> anyhow::Result<()> {
    let addr = cfg.listen.context("no --listen address")?;
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    if cfg.print_addr {
        println!("{bound}");
        std::io::stdout().flush()?;
    }
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (conn, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("tcpd: accept: {e}");
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= cfg.max_conns {
            drop(conn);
            continue;
        }
        // The local address too, while the socket is surely still there.
        let local = conn.local_addr().unwrap_or(bound);
        match spawn_child(cfg, exe, &conn, peer, local) {
            Ok(mut child) => {
                active.fetch_add(1, Ordering::SeqCst);
                let active = Arc::clone(&active);
                std::thread::spawn(move || {
                    let _ = child.wait();
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Err(e) => eprintln!("tcpd: cannot start handler: {e:#}"),
        }
        drop(conn);
    }
}

fn spawn_child(
    cfg: &Config,
    exe: &Path,
    conn: &TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
) -> anyhow::Result<std::process::Child> {
    let mut c = Command::new(exe);
    c.arg("--allow")
        .arg(&cfg.tables.allow)
        .arg("--deny")
        .arg(&cfg.tables.deny);
    c.arg("--refuse-delay")
        .arg(cfg.refuse_delay.as_secs_f64().to_string());
    if let Some(f) = &cfg.log_file {
        c.arg("--log-file").arg(f);
    }
    if let Some(f) = &cfg.events {
        c.arg("--events").arg(f);
    }
    c.arg("--peer").arg(peer.to_string());
    c.arg("--local").arg(local.to_string());
    c.arg("--").args(&cfg.argv);
    c.stdin(Stdio::from(OwnedFd::from(conn.try_clone()?)));
    c.stdout(Stdio::from(OwnedFd::from(conn.try_clone()?)));
    c.stderr(Stdio::from(OwnedFd::from(conn.try_clone()?)));
    c.spawn().context("spawn tcpd child")
}
