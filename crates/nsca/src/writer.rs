//! The command-file writer: turns received results into external-command
//! lines and writes them to the monitor's command file, without ever
//! blocking the receiver for long and without dropping a line.
//!
//! It runs on its own thread. Lines are written in line-aligned chunks of at
//! most `PIPE_BUF` bytes, so that on a FIFO each chunk is atomic and never
//! interleaves with another writer's command.
//!
//! When the command file cannot take lines — the FIFO has no reader
//! (`ENXIO`), is full for longer than [`WriterConfig::stall_timeout`], its
//! reader went away (`EPIPE`), or it does not exist — lines go to the
//! *spool*, and the log says so once per outage:
//!
//! * a missing command file with an `alternate_dump_file` other than
//!   `/dev/null` writes to that file, as the C daemon does (and no further);
//! * otherwise lines are kept in `spool_file` if one is configured (on disk,
//!   surviving a restart), or in memory up to [`WriterConfig::memory_spool_limit`]
//!   bytes, beyond which they go to `alternate_dump_file` with an error
//!   logged;
//! * every second the writer tries again, and once the command file takes
//!   lines the spool is replayed, in order, before any newer line.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use picket_nsca_proto::command::write_command;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::server::Batch;

/// Atomic write size of a pipe on Linux.
const PIPE_BUF: usize = 4096;
/// At most this much is gathered before a write.
const BATCH_BYTES: usize = 256 * 1024;

/// Where and how lines are written.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// The command file (usually the monitor's FIFO).
    pub command_file: PathBuf,
    /// `alternate_dump_file`; `/dev/null` means none.
    pub alternate_dump_file: PathBuf,
    /// `spool_file`: an on-disk spool replayed when the command file is back.
    pub spool_file: Option<PathBuf>,
    /// How long a full FIFO may block before lines are spooled.
    pub stall_timeout: Duration,
    /// Bytes kept in memory when there is no `spool_file`.
    pub memory_spool_limit: usize,
    /// `check_result_path`: write one Nagios check-result file per result
    /// into this directory instead of command lines.
    pub check_result_path: Option<PathBuf>,
}

impl WriterConfig {
    /// A writer for `command_file` with the defaults.
    pub fn new(command_file: PathBuf) -> Self {
        WriterConfig {
            command_file,
            alternate_dump_file: PathBuf::from("/dev/null"),
            spool_file: None,
            stall_timeout: Duration::from_secs(2),
            memory_spool_limit: 64 << 20,
            check_result_path: None,
        }
    }
}

/// Counters of the writer.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Lines written to the command file (replays included).
    pub written: AtomicU64,
    /// Lines that went to the spool.
    pub spooled: AtomicU64,
    /// Lines written to `alternate_dump_file`.
    pub dumped: AtomicU64,
    /// Lines lost: neither the command file, the spool nor the dump file took them.
    pub lost: AtomicU64,
}

/// Starts the writer thread. It ends when every sender of `rx` is gone and
/// everything received is written or spooled.
pub fn spawn(
    config: WriterConfig,
    rx: mpsc::Receiver<Batch>,
    stats: Arc<WriterStats>,
    runtime: tokio::runtime::Handle,
) -> io::Result<std::thread::JoinHandle<()>> {
    let name = "nsca-writer".to_string();
    match config.check_result_path.clone() {
        Some(dir) => std::thread::Builder::new()
            .name(name)
            .spawn(move || write_checkresult_files(&dir, rx, &stats, &runtime)),
        None => std::thread::Builder::new()
            .name(name)
            .spawn(move || Writer::new(config, stats).run(rx, &runtime)),
    }
}

/// Starts a writer thread for complete command lines (each ending with
/// `\n`) that another receiver built, such as NSCA-ng's, which receives
/// whole external-command lines: the same command-file handling, spool and
/// dump file as [`spawn`]. It ends when every sender of `rx` is gone.
pub fn spawn_lines(
    config: WriterConfig,
    rx: mpsc::Receiver<Vec<Vec<u8>>>,
    stats: Arc<WriterStats>,
    runtime: tokio::runtime::Handle,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("command-writer".to_string())
        .spawn(move || {
            Writer::new(config, stats).run_with(rx, &runtime, |out, _now, lines: &Vec<Vec<u8>>| {
                for l in lines {
                    out.extend_from_slice(l);
                }
                lines.len() as u64
            })
        })
}

/// `check_result_path` mode: one `cXXXXXX` file per result, then its
/// `cXXXXXX.ok` marker, as the C daemon writes them for Nagios' reaper.
fn write_checkresult_files(
    dir: &Path,
    mut rx: mpsc::Receiver<Batch>,
    stats: &WriterStats,
    rt: &tokio::runtime::Handle,
) {
    use std::os::unix::fs::OpenOptionsExt;
    while let Some(batch) = rt.block_on(rx.recv()) {
        let now = crate::server::unix_now();
        let ctime = jiff::ZonedDateTime::now()
            .strftime("%a %b %e %H:%M:%S %Y")
            .to_string();
        for r in batch {
            let mut text = Vec::with_capacity(512);
            picket_nsca_proto::command::write_checkresult(&mut text, now, &ctime, &r.result);
            let written = (0..100).find_map(|_| {
                let path = dir.join(format!("c{}", random_suffix()));
                let f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path);
                match f {
                    Ok(mut f) => Some(
                        f.write_all(&text)
                            .and_then(|()| {
                                let mut ok = path.clone().into_os_string();
                                ok.push(".ok");
                                OpenOptions::new()
                                    .write(true)
                                    .create(true)
                                    .truncate(true)
                                    .mode(0o600)
                                    .open(ok)
                                    .map(drop)
                            })
                            .map_err(|e| (path, e)),
                    ),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => None,
                    Err(e) => Some(Err((path, e))),
                }
            });
            match written {
                Some(Ok(())) => {
                    stats.written.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err((path, e))) => {
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                    error!(
                        "Result lost: cannot write check result file {}: {e}",
                        path.display()
                    );
                }
                None => {
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                    error!(
                        "Result lost: no free check result file name in {}",
                        dir.display()
                    );
                }
            }
        }
    }
}

/// The command-file writer used *synchronously*: whoever accepted a line
/// writes it, under a lock, with the same chunking, spool, replay and dump
/// file as the writer thread of [`spawn_lines`]. NSCA-ng's receiver uses it
/// so that a command costs one `write` on the connection's own thread
/// instead of a channel send that wakes a writer thread per command (the
/// lock-step clients send one command per round trip, so nothing batches).
/// A full FIFO blocks the caller for at most
/// [`WriterConfig::stall_timeout`] before lines are spooled; call
/// [`LineWriter::tick`] about once a second so that a spool is replayed
/// when nobody submits.
pub struct LineWriter {
    inner: std::sync::Mutex<Writer>,
}

impl LineWriter {
    /// A writer for `config` counting into `stats` (`check_result_path` is
    /// not used: NSCA-ng receives command lines).
    pub fn new(config: WriterConfig, stats: Arc<WriterStats>) -> LineWriter {
        LineWriter {
            inner: std::sync::Mutex::new(Writer::new(config, stats)),
        }
    }

    /// Writes `data` (`count` whole lines, each ending with `\n`), or
    /// spools it; it is never dropped silently (see the module's notes).
    pub fn write_lines(&self, data: &[u8], count: u64) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        w.deliver(data, count);
    }

    /// Retries a spool whose retry time has come.
    pub fn tick(&self) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        w.deliver(&[], 0);
    }

    /// A last attempt at the command file; what memory still holds goes to
    /// the dump file.
    pub fn shutdown(&self) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        w.shutdown();
    }
}

/// Six characters like mkstemp's.
fn random_suffix() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

enum Target {
    Closed,
    /// The open command file, and whether it is a FIFO (then writes are
    /// kept to `PIPE_BUF` so that each is atomic).
    Open(File, bool),
}

struct Writer {
    config: WriterConfig,
    stats: Arc<WriterStats>,
    target: Target,
    spool: Spool,
    /// Set while the command file is unusable; when the next attempt may be made.
    retry_at: Option<Instant>,
    /// The outage has been logged.
    outage_logged: bool,
    /// The command file was missing at the last attempt (lines then go to
    /// the dump file, if there is one, rather than the spool).
    missing: bool,
}

impl Writer {
    fn new(config: WriterConfig, stats: Arc<WriterStats>) -> Writer {
        let spool = match &config.spool_file {
            Some(p) => Spool::file(p),
            None => Spool::Memory(Vec::new()),
        };
        Writer {
            config,
            stats,
            target: Target::Closed,
            spool,
            retry_at: None,
            outage_logged: false,
            missing: false,
        }
    }

    fn run(self, rx: mpsc::Receiver<Batch>, rt: &tokio::runtime::Handle) {
        self.run_with(rx, rt, |out, now, b: &Batch| {
            for r in b {
                write_command(out, now, &r.result);
            }
            b.len() as u64
        });
    }

    /// The writer loop; `format` appends the lines of one item and says how many.
    fn run_with<T>(
        mut self,
        mut rx: mpsc::Receiver<T>,
        rt: &tokio::runtime::Handle,
        format: impl Fn(&mut Vec<u8>, u64, &T) -> u64,
    ) {
        let mut batch = Vec::with_capacity(BATCH_BYTES + 16 * 1024);
        loop {
            let wait = if self.spool.is_empty() {
                Duration::from_secs(3600)
            } else {
                Duration::from_secs(1)
            };
            let first = rt.block_on(async { tokio::time::timeout(wait, rx.recv()).await });
            let mut lines = 0u64;
            // Stamped with the time of writing, as the C daemon stamps them.
            let now = crate::server::unix_now();
            let closed = match first {
                Ok(Some(b)) => {
                    lines += format(&mut batch, now, &b);
                    loop {
                        if batch.len() >= BATCH_BYTES {
                            break false;
                        }
                        match rx.try_recv() {
                            Ok(b) => lines += format(&mut batch, now, &b),
                            Err(mpsc::error::TryRecvError::Empty) => break false,
                            Err(mpsc::error::TryRecvError::Disconnected) => break true,
                        }
                    }
                }
                Ok(None) => true,
                Err(_) => false, // timeout: only retry the spool
            };
            self.deliver(&batch, lines);
            batch.clear();
            if closed {
                self.shutdown();
                return;
            }
        }
    }

    /// Writes `lines` (whole lines, `count` of them) or spools them.
    fn deliver(&mut self, data: &[u8], count: u64) {
        if !self.spool.is_empty() && self.may_retry() {
            self.replay_spool();
        }
        if !self.spool.is_empty() {
            // Keep order: newer lines queue behind the spooled ones.
            self.spool_lines(data, count);
            return;
        }
        if data.is_empty() {
            return;
        }
        if !self.may_retry() {
            let why = if self.missing {
                Unavailable::Missing
            } else {
                Unavailable::NoReader
            };
            self.divert(data, count, &why);
            return;
        }
        match self.write_target(data) {
            Ok(()) => {
                self.stats.written.fetch_add(count, Ordering::Relaxed);
                if self.outage_logged && self.spool.is_empty() {
                    info!(
                        "Command file {} takes results again",
                        self.config.command_file.display()
                    );
                    self.outage_logged = false;
                    self.missing = false;
                }
            }
            Err((done, why)) => {
                let written = count_lines(&data[..done]);
                self.stats.written.fetch_add(written, Ordering::Relaxed);
                self.outage(&why);
                self.divert(&data[done..], count - written, &why);
            }
        }
    }

    fn may_retry(&self) -> bool {
        self.retry_at.is_none_or(|t| Instant::now() >= t)
    }

    /// Lines the command file did not take: the dump file if it is missing
    /// (the C behaviour), else the spool.
    fn divert(&mut self, data: &[u8], count: u64, why: &Unavailable) {
        if matches!(why, Unavailable::Missing) && self.has_dump_file() {
            self.dump(data, count);
        } else {
            self.spool_lines(data, count);
        }
    }

    fn has_dump_file(&self) -> bool {
        self.config.alternate_dump_file != Path::new("/dev/null")
    }

    fn outage(&mut self, why: &Unavailable) {
        self.target = Target::Closed;
        self.missing = matches!(why, Unavailable::Missing);
        self.retry_at = Some(Instant::now() + Duration::from_secs(1));
        if !self.outage_logged {
            self.outage_logged = true;
            let to = if matches!(why, Unavailable::Missing) && self.has_dump_file() {
                format!(
                    "writing results to alternate_dump_file {}",
                    self.config.alternate_dump_file.display()
                )
            } else {
                format!("spooling results to {}", self.spool.describe())
            };
            warn!(
                "Command file {} cannot take results ({why}); {to} until it can",
                self.config.command_file.display()
            );
        }
    }

    fn spool_lines(&mut self, data: &[u8], count: u64) {
        if data.is_empty() {
            return;
        }
        match self.spool.append(data, self.config.memory_spool_limit) {
            Ok(()) => {
                self.stats.spooled.fetch_add(count, Ordering::Relaxed);
            }
            Err(e) => {
                error!(
                    "Spool {} cannot take {count} results: {e}",
                    self.spool.describe()
                );
                self.dump(data, count);
            }
        }
    }

    fn dump(&mut self, data: &[u8], count: u64) {
        let path = &self.config.alternate_dump_file;
        let res = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut f| f.write_all(data));
        match res {
            Ok(()) if self.has_dump_file() => {
                self.stats.dumped.fetch_add(count, Ordering::Relaxed);
            }
            Ok(()) => {
                self.stats.lost.fetch_add(count, Ordering::Relaxed);
                error!(
                    "{count} results lost: the spool is full and alternate_dump_file is /dev/null"
                );
            }
            Err(e) => {
                self.stats.lost.fetch_add(count, Ordering::Relaxed);
                error!(
                    "{count} results lost: cannot write alternate_dump_file {}: {e}",
                    path.display()
                );
            }
        }
    }

    fn replay_spool(&mut self) {
        let mut replayed = 0u64;
        loop {
            let chunk = match self.spool.peek(BATCH_BYTES) {
                Ok(c) => c,
                Err(e) => {
                    error!("Cannot read spool {}: {e}", self.spool.describe());
                    self.retry_at = Some(Instant::now() + Duration::from_secs(1));
                    return;
                }
            };
            if chunk.is_empty() {
                break;
            }
            match self.write_target(&chunk) {
                Ok(()) => {
                    let n = count_lines(&chunk);
                    replayed += n;
                    self.stats.written.fetch_add(n, Ordering::Relaxed);
                    if let Err(e) = self.spool.consume(chunk.len()) {
                        error!("Cannot update spool {}: {e}", self.spool.describe());
                    }
                }
                Err((done, why)) => {
                    let n = count_lines(&chunk[..done]);
                    replayed += n;
                    self.stats.written.fetch_add(n, Ordering::Relaxed);
                    if let Err(e) = self.spool.consume(done) {
                        error!("Cannot update spool {}: {e}", self.spool.describe());
                    }
                    self.outage(&why);
                    if replayed > 0 {
                        info!(
                            "Replayed {replayed} spooled results before the command file stalled again"
                        );
                    }
                    return;
                }
            }
        }
        self.retry_at = None;
        self.missing = false;
        if self.outage_logged {
            info!(
                "Command file {} takes results again; replayed {replayed} spooled results",
                self.config.command_file.display()
            );
            self.outage_logged = false;
        }
    }

    fn open_target(&mut self) -> Result<(&mut File, bool), Unavailable> {
        if let Target::Closed = self.target {
            let path = &self.config.command_file;
            // O_APPEND always: on a regular file the C daemon without
            // append_to_file overwrites from offset 0 (it corrupts the file).
            let f = OpenOptions::new()
                .append(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .map_err(|e| match e.raw_os_error() {
                    Some(libc::ENOENT) => Unavailable::Missing,
                    Some(libc::ENXIO) => Unavailable::NoReader,
                    _ => Unavailable::Error(e),
                })?;
            let fifo = f.metadata().is_ok_and(|m| m.file_type().is_fifo());
            if !fifo && !f.metadata().is_ok_and(|m| m.file_type().is_file()) {
                warn!(
                    "Command file {} is neither a FIFO nor a regular file",
                    path.display()
                );
            }
            self.target = Target::Open(f, fifo);
        }
        match &mut self.target {
            Target::Open(f, fifo) => Ok((f, *fifo)),
            Target::Closed => Err(Unavailable::Missing),
        }
    }

    /// Writes all of `data` (whole lines) or says how much got through.
    fn write_target(&mut self, data: &[u8]) -> Result<(), (usize, Unavailable)> {
        let stall = self.config.stall_timeout;
        let (f, fifo) = self.open_target().map_err(|u| (0, u))?;
        let mut done = 0;
        while done < data.len() {
            let chunk = if fifo {
                next_chunk(&data[done..])
            } else {
                &data[done..]
            };
            let deadline = Instant::now() + stall;
            let mut off = 0;
            while off < chunk.len() {
                match f.write(&chunk[off..]) {
                    Ok(0) => {
                        return Err((done, Unavailable::Error(io::ErrorKind::WriteZero.into())));
                    }
                    Ok(n) => off += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            // A chunk ≤ PIPE_BUF is written whole or not at all.
                            return Err((done, Unavailable::Stalled(stall)));
                        }
                        wait_writable(f, left.min(Duration::from_millis(100)));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                        return Err((done, Unavailable::NoReader));
                    }
                    Err(e) => return Err((done, Unavailable::Error(e))),
                }
            }
            done += chunk.len();
        }
        Ok(())
    }

    /// A last attempt at the command file; what memory still holds goes to
    /// the dump file (a spool file simply stays for the next start).
    fn shutdown(&mut self) {
        if self.spool.is_empty() {
            return;
        }
        self.retry_at = None;
        self.replay_spool();
        if let Spool::Memory(buf) = &mut self.spool {
            if !buf.is_empty() {
                let buf = std::mem::take(buf);
                let n = count_lines(&buf);
                warn!(
                    "Shutting down with {n} results not yet taken by the command file; writing them to alternate_dump_file"
                );
                self.dump(&buf, n);
            }
        }
    }
}

/// Why the command file cannot take lines now.
#[derive(Debug)]
enum Unavailable {
    Missing,
    NoReader,
    Stalled(Duration),
    Error(io::Error),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Missing => write!(f, "it does not exist"),
            Unavailable::NoReader => write!(f, "no process is reading it"),
            Unavailable::Stalled(d) => {
                write!(f, "full for {}s: its reader is not keeping up", d.as_secs())
            }
            Unavailable::Error(e) => write!(f, "{e}"),
        }
    }
}

/// The longest prefix of whole lines of at most `PIPE_BUF` bytes, or the
/// first line alone if it is longer.
fn next_chunk(data: &[u8]) -> &[u8] {
    if data.len() <= PIPE_BUF {
        return data;
    }
    match data[..PIPE_BUF].iter().rposition(|&b| b == b'\n') {
        Some(i) => &data[..=i],
        None => match data.iter().position(|&b| b == b'\n') {
            Some(i) => &data[..=i],
            None => data,
        },
    }
}

fn count_lines(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

fn wait_writable(f: &File, timeout: Duration) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLOUT)];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let _ = poll(&mut fds, PollTimeout::from(ms));
}

/// Lines waiting for the command file.
enum Spool {
    Memory(Vec<u8>),
    File {
        path: PathBuf,
        /// Bytes already replayed from the front of the file.
        offset: u64,
        len: u64,
    },
}

impl Spool {
    fn file(path: &Path) -> Spool {
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        if len > 0 {
            info!(
                "Spool {} holds {len} bytes from an earlier run; they will be replayed",
                path.display()
            );
        }
        Spool::File {
            path: path.to_path_buf(),
            offset: 0,
            len,
        }
    }

    fn describe(&self) -> String {
        match self {
            Spool::Memory(_) => "memory".into(),
            Spool::File { path, .. } => path.display().to_string(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Spool::Memory(b) => b.is_empty(),
            Spool::File { offset, len, .. } => offset >= len,
        }
    }

    fn append(&mut self, data: &[u8], memory_limit: usize) -> io::Result<()> {
        match self {
            Spool::Memory(b) => {
                if b.len() + data.len() > memory_limit {
                    return Err(io::Error::other(format!(
                        "memory spool limit of {memory_limit} bytes reached"
                    )));
                }
                b.extend_from_slice(data);
                Ok(())
            }
            Spool::File { path, len, .. } => {
                let mut f = OpenOptions::new().append(true).create(true).open(&*path)?;
                f.write_all(data)?;
                f.sync_data()?;
                *len += data.len() as u64;
                Ok(())
            }
        }
    }

    /// Up to `max` bytes of whole lines from the front.
    fn peek(&self, max: usize) -> io::Result<Vec<u8>> {
        let mut v = match self {
            Spool::Memory(b) => b[..b.len().min(max)].to_vec(),
            Spool::File { path, offset, len } => {
                let mut f = File::open(path)?;
                f.seek(SeekFrom::Start(*offset))?;
                let want = (len - offset).min(max as u64) as usize;
                let mut v = vec![0u8; want];
                f.read_exact(&mut v)?;
                v
            }
        };
        match v.iter().rposition(|&b| b == b'\n') {
            Some(i) => v.truncate(i + 1),
            // A line longer than max: take it whole.
            None if !v.is_empty() => return self.peek(max * 2),
            None => {}
        }
        Ok(v)
    }

    fn consume(&mut self, n: usize) -> io::Result<()> {
        match self {
            Spool::Memory(b) => {
                b.drain(..n.min(b.len()));
                Ok(())
            }
            Spool::File { path, offset, len } => {
                *offset += n as u64;
                if *offset >= *len {
                    // Everything replayed: empty the file.
                    File::create(&*path)?;
                    *offset = 0;
                    *len = 0;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_line_aligned_and_bounded() {
        let line = vec![b'x'; 999];
        let mut data = Vec::new();
        for _ in 0..10 {
            data.extend_from_slice(&line);
            data.push(b'\n');
        }
        let c = next_chunk(&data);
        assert_eq!(c.len(), 4000);
        assert_eq!(c.last(), Some(&b'\n'));
        let mut long = vec![b'y'; 9000];
        long.push(b'\n');
        long.extend_from_slice(b"z\n");
        assert_eq!(next_chunk(&long).len(), 9001);
    }

    /// The synchronous writer NSCA-ng uses: lines written while the FIFO
    /// has no reader are spooled, and replayed in order before newer ones
    /// once it has one (by `tick` or the next write).
    #[test]
    fn line_writer_spools_without_reader_and_replays_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("cmd");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let stats = Arc::new(WriterStats::default());
        let w = LineWriter::new(WriterConfig::new(fifo.clone()), Arc::clone(&stats));
        w.write_lines(b"a\nb\n", 2);
        assert_eq!(stats.spooled.load(Ordering::Relaxed), 2);
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        // Before the retry time the next line queues behind the spool.
        w.write_lines(b"c\n", 1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats.written.load(Ordering::Relaxed) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            w.tick();
        }
        w.write_lines(b"d\n", 1);
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"a\nb\nc\nd\n");
        assert_eq!(stats.written.load(Ordering::Relaxed), 4);
        assert_eq!(stats.lost.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn memory_spool_keeps_order_and_limit() {
        let mut s = Spool::Memory(Vec::new());
        s.append(b"a\nb\n", 10).unwrap();
        assert!(s.append(b"0123456789\n", 10).is_err());
        s.append(b"c\n", 10).unwrap();
        assert_eq!(s.peek(3).unwrap(), b"a\n");
        s.consume(2).unwrap();
        assert_eq!(s.peek(100).unwrap(), b"b\nc\n");
    }

    #[test]
    fn file_spool_survives_and_empties() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("spool");
        let mut s = Spool::file(&p);
        s.append(b"one\ntwo\n", 0).unwrap();
        let s2 = Spool::file(&p);
        assert_eq!(s2.peek(100).unwrap(), b"one\ntwo\n");
        s.consume(8).unwrap();
        assert!(s.is_empty());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
    }
}
