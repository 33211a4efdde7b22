//! `picket-sensor`: follows a host's logs, recognizes refusals, failed logins, probes and
//! firewall drops, aggregates floods and delivers the events to Picket's API and/or any
//! NSCA server, through a disk spool. See `examples/sensor/` and the crate's `lib.rs`.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use picket_correlator::ConnectionEvent;
use picket_sensor::deliver::{API_BATCH, Api, Nsca, Outcome};
use picket_sensor::follow::Follower;
use picket_sensor::spool::Spool;
use picket_sensor::state::State;
use picket_sensor::{Aggregator, Recognizer};
use tracing::{error, info, warn};

#[derive(Parser, Debug, Default)]
#[command(
    name = "picket-sensor",
    version,
    about = "Turns a host's refusals, failed logins, probes and firewall drops into connection events for Picket (JSON API) and any NSCA server"
)]
struct Cli {
    /// Delivery target, repeatable: `http://HOST[:PORT]` is Picket's API (needs
    /// --token-file); `HOST[:PORT]` an NSCA server (port 5667; -c for its send_nsca.cfg).
    #[arg(long = "server", value_name = "HOST[:PORT]")]
    servers: Vec<String>,
    /// This host's name in the monitoring configuration (the results' host, the events'
    /// reporter).
    #[arg(long)]
    host_name: Option<String>,
    /// send_nsca.cfg for NSCA targets (password, encryption_method).
    #[arg(short = 'c', value_name = "SEND_NSCA_CFG")]
    send_nsca_config: Option<PathBuf>,
    /// File holding Picket's API token (its first line).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// A log file to follow like `tail -F`, repeatable.
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<PathBuf>,
    /// A log written by `sshd -E PATH` (bare sshd messages, no syslog header), followed
    /// like --file; repeatable.
    #[arg(long = "sshd-log", value_name = "PATH")]
    sshd_logs: Vec<PathBuf>,
    /// Read the systemd journal (`journalctl -o json --follow --after-cursor`).
    #[arg(long)]
    journal: bool,
    /// Read this journal file instead of the system's journal (`journalctl --file`;
    /// implies --journal), repeatable: a journal copied from another machine or written
    /// by `systemd-journal-remote`.
    #[arg(long = "journal-file", value_name = "PATH")]
    journal_files: Vec<PathBuf>,
    /// Read kernel messages from /dev/kmsg (netfilter LOG lines).
    #[arg(long)]
    kmsg: bool,
    /// Read the sources to their end, deliver everything, exit (0 when all was delivered).
    #[arg(long)]
    once: bool,
    /// Configuration file (key = value lines; see examples/sensor/picket-sensor.conf).
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where read positions are kept.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// The delivery spool directory.
    #[arg(long)]
    spool_dir: Option<PathBuf>,
    /// Start sources without a saved position at their beginning: files, the journal and
    /// the kernel's ring buffer (default: at their end, except with --once).
    #[arg(long)]
    from_start: bool,
}

#[derive(Debug, Clone)]
struct Settings {
    servers: Vec<String>,
    host_name: String,
    send_nsca_config: PathBuf,
    token_file: Option<PathBuf>,
    files: Vec<PathBuf>,
    sshd_logs: Vec<PathBuf>,
    journal: bool,
    journal_files: Vec<PathBuf>,
    kmsg: bool,
    once: bool,
    state_file: PathBuf,
    spool_dir: PathBuf,
    spool_max_bytes: u64,
    window: Duration,
    max_groups: usize,
    service: String,
    timeout: Duration,
    from_start: bool,
    journalctl: PathBuf,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn settings(cli: Cli) -> anyhow::Result<Settings> {
    let mut s = Settings {
        servers: Vec::new(),
        host_name: String::new(),
        send_nsca_config: PathBuf::from("/etc/send_nsca.cfg"),
        token_file: None,
        files: Vec::new(),
        sshd_logs: Vec::new(),
        journal: false,
        journal_files: Vec::new(),
        kmsg: false,
        once: cli.once,
        state_file: PathBuf::from("/var/lib/picket-sensor/state.json"),
        spool_dir: PathBuf::from("/var/lib/picket-sensor/spool"),
        spool_max_bytes: 64 << 20,
        window: Duration::from_secs(5),
        max_groups: 4096,
        service: "TCP Wrappers".into(),
        timeout: Duration::from_secs(10),
        from_start: cli.from_start || cli.once,
        journalctl: PathBuf::from("journalctl"),
    };
    if let Some(path) = &cli.config {
        let text = picket_config::read_config_file(path)
            .with_context(|| format!("config file {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{}:{}", path.display(), i + 1);
            let Some((k, v)) = line.split_once('=') else {
                bail!("{}: expected key = value, got \"{line}\"", at());
            };
            let (k, v) = (k.trim(), v.trim());
            let num = |v: &str| -> anyhow::Result<u64> {
                v.parse()
                    .with_context(|| format!("{}: {k}: not a number: \"{v}\"", at()))
            };
            let flag = |v: &str| {
                parse_bool(v)
                    .with_context(|| format!("{}: {k}: expected yes or no, got \"{v}\"", at()))
            };
            match k {
                "server" => s.servers.push(v.into()),
                "host_name" => s.host_name = v.into(),
                "send_nsca_config" => s.send_nsca_config = v.into(),
                "token_file" => s.token_file = Some(v.into()),
                "file" => s.files.push(v.into()),
                "sshd_log" => s.sshd_logs.push(v.into()),
                "journal" => s.journal = flag(v)?,
                "journal_file" => s.journal_files.push(v.into()),
                "kmsg" => s.kmsg = flag(v)?,
                "state_file" => s.state_file = v.into(),
                "spool_dir" => s.spool_dir = v.into(),
                "spool_max_bytes" => s.spool_max_bytes = num(v)?,
                "window" => s.window = Duration::from_secs(num(v)?.max(1)),
                "max_groups" => s.max_groups = num(v)?.max(1) as usize,
                "service" => s.service = v.into(),
                "timeout" => s.timeout = Duration::from_secs(num(v)?.max(1)),
                "journalctl" => s.journalctl = v.into(),
                _ => bail!("{}: unknown option \"{k}\"", at()),
            }
        }
    }
    s.servers.extend(cli.servers);
    if let Some(h) = cli.host_name {
        s.host_name = h;
    }
    if let Some(c) = cli.send_nsca_config {
        s.send_nsca_config = c;
    }
    if let Some(t) = cli.token_file {
        s.token_file = Some(t);
    }
    s.files.extend(cli.files);
    s.sshd_logs.extend(cli.sshd_logs);
    s.journal |= cli.journal;
    s.journal_files.extend(cli.journal_files);
    s.journal |= !s.journal_files.is_empty();
    s.kmsg |= cli.kmsg;
    if let Some(p) = cli.state_file {
        s.state_file = p;
    }
    if let Some(p) = cli.spool_dir {
        s.spool_dir = p;
    }
    if s.host_name.is_empty() {
        bail!(
            "--host-name (host_name=) is required: this host's name in the monitoring configuration"
        );
    }
    if s.host_name != picket_correlator::clean_name(&s.host_name) {
        bail!(
            "--host-name \"{}\": only letters, digits and ._-@ are allowed",
            s.host_name
        );
    }
    if s.servers.is_empty() {
        bail!("no --server (server=) given");
    }
    if s.files.is_empty() && s.sshd_logs.is_empty() && !s.journal && !s.kmsg {
        bail!("no source: give --file, --sshd-log, --journal or --kmsg");
    }
    Ok(s)
}

/// A delivery target with its spool.
struct Target {
    name: String,
    kind: TargetKind,
    spool: Mutex<Spool>,
}

enum TargetKind {
    Api(Api),
    Nsca(Nsca),
}

fn split_host_port(s: &str, default: u16) -> anyhow::Result<(String, u16)> {
    if let Some(r) = s.strip_prefix('[') {
        let (h, rest) = r.split_once(']').context("unclosed [ in address")?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().with_context(|| format!("bad port in {s}"))?,
            None => default,
        };
        return Ok((h.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Ok((
            h.to_string(),
            p.parse().with_context(|| format!("bad port in {s}"))?,
        )),
        _ => Ok((s.to_string(), default)),
    }
}

fn targets(s: &Settings) -> anyhow::Result<Vec<Arc<Target>>> {
    let mut out = Vec::new();
    for server in &s.servers {
        let (name, kind) = if let Some(rest) = server.strip_prefix("http://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = split_host_port(rest, 80)?;
            let tf = s
                .token_file
                .as_ref()
                .context("--server http://... needs --token-file (Picket's web_token_file)")?;
            let text = picket_config::read_config_file(tf)
                .with_context(|| format!("token file {}", tf.display()))?;
            let token = text.lines().next().unwrap_or("").trim().to_string();
            if token.is_empty() {
                bail!(
                    "token file {}: the first line (the token) is empty",
                    tf.display()
                );
            }
            (
                format!("api-{host}-{port}"),
                TargetKind::Api(Api {
                    host,
                    port,
                    token,
                    timeout: s.timeout,
                }),
            )
        } else {
            let (host, port) = split_host_port(server, 5667)?;
            let path = &s.send_nsca_config;
            let text = picket_config::read_config_file(path)
                .with_context(|| format!("send_nsca config {}", path.display()))?;
            let config =
                picket_nsca_proto::config::ClientConfig::parse(&path.display().to_string(), &text)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            (
                format!("nsca-{host}-{port}"),
                TargetKind::Nsca(Nsca {
                    host,
                    port,
                    config,
                    service: s.service.clone(),
                    timeout: s.timeout,
                }),
            )
        };
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let spool = Spool::open(&s.spool_dir.join(&safe), s.spool_max_bytes)
            .with_context(|| format!("spool {}", s.spool_dir.join(&safe).display()))?;
        out.push(Arc::new(Target {
            name,
            kind,
            spool: Mutex::new(spool),
        }));
    }
    Ok(out)
}

impl Target {
    /// Sends the spooled batches oldest first; stops at the first failure. Returns whether
    /// the spool is empty afterwards.
    fn drain_spool(&self, last_err: &mut Option<String>) -> bool {
        loop {
            let pending = match self.spool.lock().map(|s| s.pending()) {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    error!("{}: cannot list the spool: {e}", self.name);
                    return false;
                }
                Err(_) => return false,
            };
            let Some(path) = pending.first() else {
                return true;
            };
            let events = match Spool::read(path) {
                Ok(e) => e,
                Err(e) => {
                    error!("{}: unreadable spool batch, set aside: {e}", self.name);
                    if let Ok(mut s) = self.spool.lock() {
                        let _ = s.reject(path);
                    }
                    continue;
                }
            };
            let outcome = match &self.kind {
                TargetKind::Api(a) => {
                    let id = self
                        .spool
                        .lock()
                        .map(|s| s.id().to_string())
                        .unwrap_or_default();
                    a.post(&events, Spool::seq(path).map(|q| (id.as_str(), q)))
                }
                TargetKind::Nsca(n) => n.send(&events),
            };
            match outcome {
                Outcome::Delivered => {
                    if last_err.take().is_some() {
                        info!("{}: delivering again", self.name);
                    }
                    if let Ok(mut s) = self.spool.lock() {
                        if let Err(e) = s.remove(path) {
                            error!(
                                "{}: cannot remove delivered batch {}: {e}",
                                self.name,
                                path.display()
                            );
                            return false;
                        }
                    }
                }
                Outcome::Reject(why) => {
                    error!(
                        "{}: the server refused a batch of {} events for good ({why}); kept as {}",
                        self.name,
                        events.len(),
                        path.with_extension("rejected").display()
                    );
                    if let Ok(mut s) = self.spool.lock() {
                        let _ = s.reject(path);
                    }
                }
                Outcome::Retry(why) => {
                    if last_err.as_deref() != Some(why.as_str()) {
                        warn!("{}: cannot deliver, kept in the spool: {why}", self.name);
                        *last_err = Some(why);
                    }
                    return false;
                }
            }
        }
    }
}

enum Msg {
    Journal {
        time: i64,
        ident: String,
        pid: Option<u32>,
        msg: String,
        cursor: Option<String>,
    },
    Kmsg {
        seq: u64,
        record: String,
    },
    Done(&'static str),
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn journal_thread(s: &Settings, cursor: Option<String>, tx: SyncSender<Msg>) -> anyhow::Result<()> {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(&s.journalctl);
    cmd.args(["-o", "json", "-q", "--no-pager"]);
    for f in &s.journal_files {
        cmd.arg("--file").arg(f);
    }
    match &cursor {
        Some(c) => {
            cmd.arg(format!("--after-cursor={c}"));
        }
        None if s.once || s.from_start => {}
        None => {
            cmd.args(["-n", "0"]);
        }
    }
    if !s.once {
        cmd.arg("--follow");
    }
    cmd.stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", s.journalctl.display()))?;
    let out = child.stdout.take().context("journalctl stdout")?;
    std::thread::spawn(move || {
        let r = std::io::BufReader::new(out);
        for line in r.split(b'\n') {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
                warn!("journal: an entry that is not JSON, skipped");
                continue;
            };
            let field = |k: &str| -> Option<String> {
                match v.get(k)? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Array(a) => {
                        let b: Vec<u8> = a
                            .iter()
                            .filter_map(|x| x.as_u64().map(|n| n as u8))
                            .collect();
                        Some(String::from_utf8_lossy(&b).into_owned())
                    }
                    _ => None,
                }
            };
            let Some(msg) = field("MESSAGE") else {
                continue;
            };
            let time = field("__REALTIME_TIMESTAMP")
                .and_then(|t| t.parse::<i64>().ok())
                .map_or_else(unix_now, |us| us / 1_000_000);
            let ident = field("SYSLOG_IDENTIFIER")
                .or_else(|| field("_COMM"))
                .unwrap_or_default();
            let m = Msg::Journal {
                time,
                ident,
                pid: field("_PID")
                    .or_else(|| field("SYSLOG_PID"))
                    .and_then(|p| p.parse().ok()),
                msg,
                cursor: field("__CURSOR"),
            };
            if tx.send(m).is_err() {
                break;
            }
        }
        let _ = child.wait();
        let _ = tx.send(Msg::Done("journal"));
    });
    Ok(())
}

/// Reads `/dev/kmsg`: after the saved sequence number `after` (same boot), else from the
/// oldest record still in the ring buffer when `from_start`, else from its end (what the
/// kernel logs from now on, as files without a saved position start at their end).
fn kmsg_thread(
    once: bool,
    from_start: bool,
    after: Option<u64>,
    tx: SyncSender<Msg>,
) -> anyhow::Result<()> {
    use std::io::{Read, Seek};
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(if once { libc::O_NONBLOCK } else { 0 })
        .open("/dev/kmsg")
        .context("/dev/kmsg")?;
    if after.is_none() && !from_start {
        // SEEK_END on /dev/kmsg: the next read returns the next record logged.
        f.seek(std::io::SeekFrom::End(0))
            .context("/dev/kmsg: seek to the end")?;
    }
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let seq = rec
                        .split(';')
                        .next()
                        .and_then(|h| h.split(',').nth(1))
                        .and_then(|s| s.parse::<u64>().ok())
                        .unwrap_or(0);
                    if after.is_some_and(|a| seq <= a) {
                        continue;
                    }
                    if tx.send(Msg::Kmsg { seq, record: rec }).is_err() {
                        return;
                    }
                }
                // Overwritten records: the next read returns the oldest still there.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    error!("/dev/kmsg: {e}");
                    break;
                }
            }
        }
        let _ = tx.send(Msg::Done("kmsg"));
    });
    Ok(())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

struct Runner {
    s: Settings,
    rec: Recognizer,
    agg: Aggregator,
    state: State,
    followers: Vec<Follower>,
    /// Per follower: the program of its header-less lines (`--sshd-log`), or none.
    programs: Vec<Option<&'static str>>,
    targets: Vec<Arc<Target>>,
    kick: Vec<SyncSender<()>>,
    boot: String,
    spooled_events: u64,
}

impl Runner {
    fn handle(&mut self, m: Msg, live: &mut usize) {
        match m {
            Msg::Journal {
                time,
                ident,
                pid,
                msg,
                cursor,
            } => {
                if let Some(e) = self.rec.message(time, &ident, pid, &msg) {
                    self.agg.push(e);
                }
                if cursor.is_some() {
                    self.state.journal_cursor = cursor;
                }
            }
            Msg::Kmsg { seq, record } => {
                if let Some(e) = self.rec.kmsg(unix_now(), &record) {
                    self.agg.push(e);
                }
                self.state.kmsg = Some((self.boot.clone(), seq));
            }
            Msg::Done(what) => {
                *live = live.saturating_sub(1);
                if !self.s.once {
                    error!("{what} source ended");
                }
            }
        }
    }

    fn poll_files(&mut self) -> bool {
        let now = unix_now();
        let mut lines = Vec::new();
        let mut any = false;
        for (f, program) in self.followers.iter_mut().zip(&self.programs) {
            lines.clear();
            match f.poll(&mut lines) {
                Ok(a) => any |= a,
                Err(e) => warn!("{}: {e}", f.path().display()),
            }
            for l in &lines {
                let e = match program {
                    Some(p) => self.rec.message(now, p, None, l),
                    None => self.rec.line(now, l),
                };
                if let Some(e) = e {
                    self.agg.push(e);
                }
            }
        }
        any
    }

    /// Drains the window into the spools, then saves the positions.
    fn flush(&mut self) -> anyhow::Result<()> {
        let events: Vec<ConnectionEvent> = self.agg.drain();
        for chunk in events.chunks(API_BATCH) {
            for t in &self.targets {
                let mut sp = t.spool.lock().map_err(|_| anyhow::anyhow!("spool lock"))?;
                let before = sp.dropped;
                sp.store(chunk)
                    .with_context(|| format!("{}: cannot write the spool", t.name))?;
                if sp.dropped > before {
                    error!(
                        "{}: spool full ({} bytes): {} events dropped ({} in all)",
                        t.name,
                        sp.bytes(),
                        sp.dropped - before,
                        sp.dropped
                    );
                }
            }
            self.spooled_events += chunk.len() as u64;
        }
        for f in &self.followers {
            if let Some(p) = f.position() {
                self.state.files.insert(f.path().display().to_string(), p);
            }
        }
        self.state
            .save(&self.s.state_file)
            .with_context(|| format!("state file {}", self.s.state_file.display()))?;
        if !events.is_empty() {
            for k in &self.kick {
                let _ = k.try_send(());
            }
        }
        Ok(())
    }
}

fn run(s: Settings) -> anyhow::Result<bool> {
    let state = State::load(&s.state_file)?;
    if let Some(dir) = s.state_file.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("state directory {}", dir.display()))?;
    }
    let targets = targets(&s)?;
    let followers = s
        .files
        .iter()
        .chain(&s.sshd_logs)
        .map(|p| {
            Follower::new(
                p,
                state.files.get(&p.display().to_string()).copied(),
                s.from_start,
            )
        })
        .collect();
    let (tx, rx): (SyncSender<Msg>, Receiver<Msg>) = sync_channel(16 * 1024);
    let mut live = 0usize;
    if s.journal {
        journal_thread(&s, state.journal_cursor.clone(), tx.clone())?;
        live += 1;
    }
    let boot = boot_id();
    if s.kmsg {
        let after = state
            .kmsg
            .as_ref()
            .filter(|(b, _)| *b == boot)
            .map(|(_, q)| *q);
        kmsg_thread(s.once, s.from_start, after, tx.clone())?;
        live += 1;
    }
    drop(tx);
    let mut r = Runner {
        rec: Recognizer::new(&s.host_name).with_utc_offset(i64::from(
            jiff::tz::TimeZone::system()
                .to_offset(jiff::Timestamp::now())
                .seconds(),
        )),
        agg: Aggregator::new(s.max_groups),
        state,
        followers,
        programs: s
            .files
            .iter()
            .map(|_| None)
            .chain(s.sshd_logs.iter().map(|_| Some("sshd")))
            .collect(),
        targets,
        kick: Vec::new(),
        boot,
        spooled_events: 0,
        s,
    };
    // Delivery threads (not with --once: delivery runs at the end, in this thread).
    if !r.s.once {
        for t in &r.targets {
            let (ktx, krx) = sync_channel::<()>(1);
            r.kick.push(ktx);
            let t = Arc::clone(t);
            std::thread::spawn(move || {
                let mut last_err = None;
                let mut backoff = Duration::from_secs(1);
                loop {
                    let empty = t.drain_spool(&mut last_err);
                    backoff = if empty || last_err.is_none() {
                        Duration::from_secs(1)
                    } else {
                        (backoff * 2).min(Duration::from_secs(30))
                    };
                    match krx.recv_timeout(if empty {
                        Duration::from_secs(60)
                    } else {
                        backoff
                    }) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            });
        }
    }
    let mut next_flush = Instant::now() + r.s.window;
    let mut next_report = Instant::now() + Duration::from_secs(60);
    loop {
        let mut any = r.poll_files();
        let mut n = 0;
        while n < 100_000 {
            match rx.try_recv() {
                Ok(m) => {
                    r.handle(m, &mut live);
                    any = true;
                    n += 1;
                }
                Err(_) => break,
            }
        }
        if r.s.once && !any && live == 0 {
            break;
        }
        if Instant::now() >= next_flush {
            r.flush()?;
            next_flush = Instant::now() + r.s.window;
        }
        if Instant::now() >= next_report {
            report(&r);
            next_report = Instant::now() + Duration::from_secs(60);
        }
        if !any {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(m) => r.handle(m, &mut live),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if !r.s.once {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        }
    }
    r.flush()?;
    report(&r);
    let mut ok = true;
    for t in &r.targets {
        let mut last_err = None;
        if !t.drain_spool(&mut last_err) {
            let left = t.spool.lock().map(|s| s.bytes()).unwrap_or(0);
            error!(
                "{}: not everything was delivered; {left} bytes stay in the spool for the next run",
                t.name
            );
            ok = false;
        }
    }
    Ok(ok)
}

fn report(r: &Runner) {
    let rs = r.rec.stats();
    let a = r.agg.stats();
    let dropped: u64 = r
        .targets
        .iter()
        .filter_map(|t| t.spool.lock().ok().map(|s| s.dropped))
        .sum();
    info!(
        "lines {} events {} (long lines {}), aggregated to {} spooled, {} not kept (group cap), {} dropped (spool full)",
        rs.lines, rs.events, rs.long_lines, r.spooled_events, a.dropped, dropped
    );
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: under systemd stderr is the journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let s = match settings(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("picket-sensor: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(s) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            error!("{e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
