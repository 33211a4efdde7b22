//! Logging for the daemons: to standard error, and to syslog (`/dev/log`)
//! with the configured facility when a syslog socket exists, as the C
//! programs log.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Syslog facility number for a `log_facility` name (`lrp` is the C
/// program's spelling of `lpr`).
pub fn facility_code(name: &str) -> u8 {
    match name {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "auth" => 4,
        "syslog" => 5,
        "lrp" | "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => 3, // daemon
    }
}

/// Sends each formatted event to syslog as one datagram.
#[derive(Clone)]
struct Syslog {
    socket: Arc<UnixDatagram>,
    facility: u8,
    tag: Arc<str>,
}

struct SyslogLine {
    syslog: Syslog,
    severity: u8,
    buf: Vec<u8>,
}

impl io::Write for SyslogLine {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        let msg = String::from_utf8_lossy(&self.buf);
        let line = format!(
            "<{}>{}: {}",
            self.syslog.facility * 8 + self.severity,
            self.syslog.tag,
            msg.trim_end()
        );
        let _ = self.syslog.socket.send(line.as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine;
    fn make_writer(&'a self) -> SyslogLine {
        self.line(6)
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine {
        let severity = match *meta.level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 5,
            Level::DEBUG | Level::TRACE => 7,
        };
        self.line(severity)
    }
}

impl Syslog {
    fn line(&self, severity: u8) -> SyslogLine {
        SyslogLine {
            syslog: self.clone(),
            severity,
            buf: Vec::with_capacity(128),
        }
    }
}

/// Installs the global subscriber: stderr always (unless `quiet_stderr`),
/// syslog under `ident` with `facility` when `/dev/log` accepts us.
/// `RUST_LOG` overrides the level (default `info`, or `debug` with `debug`).
pub fn init(ident: &str, facility: &str, debug: bool, quiet_stderr: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let stderr = (!quiet_stderr).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
            .with_target(false)
            .with_filter(filter())
    });
    let syslog = UnixDatagram::unbound()
        .and_then(|s| s.connect("/dev/log").map(|()| s))
        .ok()
        .map(|socket| {
            let w = Syslog {
                socket: Arc::new(socket),
                facility: facility_code(facility),
                tag: format!("{ident}[{}]", std::process::id()).into(),
            };
            tracing_subscriber::fmt::layer()
                .with_writer(w)
                .with_ansi(false)
                .without_time()
                .with_level(false)
                .with_target(false)
                .with_filter(filter())
        });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(syslog)
        .try_init();
}
