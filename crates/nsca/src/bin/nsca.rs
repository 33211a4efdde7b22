//! `nsca`: a drop-in for Debian's `nsca` 2.10.2 daemon — same command line,
//! `nsca.cfg` and command-file lines — serving every client concurrently,
//! enforcing `max_packet_age`, with CSPRNG IVs and a spool instead of lost
//! results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use picket_nsca::server::{self, Settings, Stats};
use picket_nsca::writer::{self, WriterConfig, WriterStats};
use picket_nsca_proto::config::ServerConfig;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

const STATE_CRITICAL: u8 = 2;
const STATE_UNKNOWN: u8 = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Single,
    Daemon,
    Inetd,
}

struct Args {
    config: PathBuf,
    foreground: bool,
    mode: Mode,
}

fn usage(argv0: &str) {
    println!(
        "
NSCA - Nagios Service Check Acceptor (Picket {ver})
Wire-compatible with NSCA 2.10.2
License: MIT OR Apache-2.0
Encryption Routines: AVAILABLE

Usage: {argv0} [-f] -c <config_file> [mode]

Options:
 <config_file> = Name of config file to use
 -f            = Run in foreground only. Disables fork.
 [mode]        = Determines how NSCA should run. Valid modes:
   --inetd     = Run as a service under inetd or xinetd
   --daemon    = Run as a standalone daemon (same as --single: Picket serves
                 every connection concurrently in one process)
   --single    = Run as a standalone single-process daemon (default)

Notes:
This program is designed to accept passive check results from
remote hosts that use the send_nsca utility.  Can run as a service
under inetd or xinetd, or as a standalone daemon or foreground process.
",
        ver = env!("CARGO_PKG_VERSION")
    );
}

fn parse_args(argv: &[String]) -> Option<Args> {
    let mut config = None;
    let mut foreground = false;
    let mut mode = Mode::Single;
    let mut i = 1;
    while i < argv.len() {
        match argv[i].as_str() {
            "-c" | "--config" => {
                i += 1;
                config = Some(PathBuf::from(argv.get(i)?));
            }
            "-f" | "--foreground" => foreground = true,
            "-s" | "--single" => mode = Mode::Single,
            "-d" | "--daemon" => mode = Mode::Daemon,
            "-i" | "--inetd" => mode = Mode::Inetd,
            _ => return None,
        }
        i += 1;
    }
    Some(Args {
        config: config?,
        foreground,
        mode,
    })
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let argv0 = argv.first().map_or("nsca", String::as_str);
    let Some(args) = parse_args(&argv) else {
        usage(argv0);
        return ExitCode::from(STATE_UNKNOWN);
    };
    let config = match load_config(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nsca: {e:#}");
            eprintln!(
                "Config file '{}' contained errors...",
                args.config.display()
            );
            return ExitCode::from(STATE_CRITICAL);
        }
    };
    picket_nsca::logging::init(
        "nsca",
        &config.log_facility,
        config.debug,
        args.mode == Mode::Inetd,
    );
    match run(&args, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::from(STATE_CRITICAL)
        }
    }
}

fn load_config(path: &Path) -> Result<ServerConfig> {
    let text = picket_config::read_config_file(path).with_context(|| {
        format!(
            "Could not open config file '{}' for reading",
            path.display()
        )
    })?;
    let (config, warnings) = ServerConfig::parse(&path.display().to_string(), &text)?;
    for w in warnings {
        eprintln!("nsca: warning: {w}");
    }
    if let Some(dir) = &config.check_result_path {
        if !dir.is_dir() {
            bail!(
                "{}: check_result_path {} is not a directory",
                path.display(),
                dir.display()
            );
        }
    } else if config.command_file.is_none() {
        bail!("{}: command_file is not set", path.display());
    }
    Ok(config)
}

fn writer_config(c: &ServerConfig) -> WriterConfig {
    let mut w = WriterConfig::new(c.command_file.clone().unwrap_or_default());
    w.alternate_dump_file = c.alternate_dump_file.clone();
    w.spool_file = c.spool_file.clone();
    w.check_result_path = c.check_result_path.clone();
    w
}

fn run(args: &Args, config: ServerConfig) -> Result<()> {
    raise_fd_limit();
    if args.mode == Mode::Inetd {
        return run_inetd(config);
    }
    let listener = server::bind(&config)?;
    if let Some(pid_file) = &config.pid_file {
        check_pid_file(pid_file)?;
    }
    drop_privileges(&config)?;
    if !args.foreground {
        nix::unistd::daemon(false, false).context("cannot daemonize")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    // Before the PID file: whoever reads it may signal at once, and a SIGTERM before the
    // handlers are in place would kill the daemon with results still in its writer.
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let _in_runtime = rt.enter();
        Signals {
            term: signal(SignalKind::terminate()).context("install the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("install the SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("install the SIGHUP handler")?,
        }
    };
    if let Some(pid_file) = &config.pid_file {
        std::fs::write(pid_file, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid_file {}", pid_file.display()))?;
    }
    let result = rt.block_on(serve(listener, args, config.clone(), signals));
    if let Some(pid_file) = &config.pid_file {
        let _ = std::fs::remove_file(pid_file);
    }
    result
}

/// SIGTERM, SIGINT and SIGHUP, installed before the daemon shows itself.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

async fn serve(
    listener: std::net::TcpListener,
    args: &Args,
    config: ServerConfig,
    signals: Signals,
) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let local = listener.local_addr()?;
    picket_nsca::server::source_rules(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (settings_tx, settings_rx) = watch::channel(Arc::new(Settings::from_config(&config)));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (tx, rx) = mpsc::channel(1024);
    let stats = Arc::new(Stats::default());
    let wstats = Arc::new(WriterStats::default());
    let writer = writer::spawn(
        writer_config(&config),
        rx,
        wstats.clone(),
        tokio::runtime::Handle::current(),
    )?;
    info!(
        "Starting up daemon (Picket nsca {}), listening for connections on {local} ({:?} mode, decryption method {})",
        env!("CARGO_PKG_VERSION"),
        args.mode,
        config.decryption_method
    );
    let server = tokio::spawn(server::serve(
        listener,
        settings_rx,
        tx,
        stats.clone(),
        shutdown_rx,
    ));

    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => { info!("Caught SIGTERM - shutting down..."); break }
            _ = int.recv() => { info!("Caught SIGINT - shutting down..."); break }
            _ = hup.recv() => {
                match load_config(&args.config) {
                    Ok(new) => {
                        if new.server_port != config.server_port || new.server_address != config.server_address {
                            warn!("SIGHUP: server_port/server_address changes take effect at restart");
                        }
                        if new.command_file != config.command_file {
                            warn!("SIGHUP: command_file changes take effect at restart");
                        }
                        let _ = settings_tx.send(Arc::new(Settings::from_config(&new)));
                        info!("Caught SIGHUP - configuration reloaded for new connections");
                    }
                    Err(e) => error!("SIGHUP: keeping the running configuration: {e:#}"),
                }
            }
        }
    }
    let _ = shutdown_tx.send(true);
    let _ = server.await;
    // Open connections hold senders; give them their timeout to finish.
    let grace = Duration::from_secs(u64::from(config.socket_timeout) + 1);
    let join = tokio::task::spawn_blocking(move || writer.join());
    if tokio::time::timeout(grace, join).await.is_err() {
        warn!("Connections still open after {}s; exiting", grace.as_secs());
    }
    info!(
        "Daemon shutdown: {} connections ({} refused: max_connections, {} refused: max_connections_per_source, {} first-packet timeouts), {} results accepted, {} written, {} spooled, {} dumped, {} lost",
        stats.connections.load(std::sync::atomic::Ordering::Relaxed),
        stats
            .refused_over_limit
            .load(std::sync::atomic::Ordering::Relaxed),
        stats
            .refused_per_source
            .load(std::sync::atomic::Ordering::Relaxed),
        stats
            .first_packet_timeouts
            .load(std::sync::atomic::Ordering::Relaxed),
        stats.accepted.load(std::sync::atomic::Ordering::Relaxed),
        wstats.written.load(std::sync::atomic::Ordering::Relaxed),
        wstats.spooled.load(std::sync::atomic::Ordering::Relaxed),
        wstats.dumped.load(std::sync::atomic::Ordering::Relaxed),
        wstats.lost.load(std::sync::atomic::Ordering::Relaxed),
    );
    Ok(())
}

fn run_inetd(config: ServerConfig) -> Result<()> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("no socket on standard input")?;
    let std_stream = std::net::TcpStream::from(fd);
    let peer = std_stream
        .peer_addr()
        .context("standard input is not a connected TCP socket (--inetd)")?;
    std_stream.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let stream = tokio::net::TcpStream::from_std(std_stream)?;
        let (tx, rx) = mpsc::channel(1024);
        let wstats = Arc::new(WriterStats::default());
        let writer = writer::spawn(
            writer_config(&config),
            rx,
            wstats,
            tokio::runtime::Handle::current(),
        )?;
        let settings = Settings::from_config(&config);
        server::handle_connection(stream, peer, &settings, &tx, &Stats::default()).await;
        drop(tx);
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| anyhow!("writer: {e}"))?
            .map_err(|_| anyhow!("writer thread panicked"))?;
        Ok(())
    })
}

fn check_pid_file(path: &Path) -> Result<()> {
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(pid) = text.trim().parse::<i32>() {
            if pid > 0
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
                && pid != std::process::id() as i32
            {
                bail!(
                    "pid_file {} names process {pid}, which is running: is another nsca running?",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

fn drop_privileges(config: &ServerConfig) -> Result<()> {
    use nix::unistd::{Gid, Group, Uid, User, chdir, chroot, setgid, setgroups, setuid};
    if let Some(dir) = &config.nsca_chroot {
        chdir(dir).with_context(|| format!("cannot chdir to nsca_chroot {}", dir.display()))?;
        chroot(dir).with_context(|| format!("cannot chroot to {}", dir.display()))?;
        chdir("/")?;
    }
    if !Uid::effective().is_root() {
        return Ok(());
    }
    if let Some(g) = &config.nsca_group {
        let gid = match g.parse::<u32>() {
            Ok(n) => Gid::from_raw(n),
            Err(_) => {
                Group::from_name(g)?
                    .ok_or_else(|| anyhow!("nsca_group '{g}' does not exist"))?
                    .gid
            }
        };
        setgroups(&[gid]).context("cannot drop supplementary groups")?;
        setgid(gid).with_context(|| format!("cannot set group to {g}"))?;
    }
    if let Some(u) = &config.nsca_user {
        let uid = match u.parse::<u32>() {
            Ok(n) => Uid::from_raw(n),
            Err(_) => {
                User::from_name(u)?
                    .ok_or_else(|| anyhow!("nsca_user '{u}' does not exist"))?
                    .uid
            }
        };
        setuid(uid).with_context(|| format!("cannot set user to {u}"))?;
    }
    Ok(())
}

/// Many idle clients must not exhaust descriptors: use the hard limit.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}
