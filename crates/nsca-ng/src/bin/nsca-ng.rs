//! `nsca-ng`: a drop-in for Debian's `nsca-ng` 1.6 daemon — the same
//! command line (`-b`, `-C`, `-c`, `-F`, `-l`, `-P`, `-S`, `-s`), the same
//! `nsca-ng.cfg`, the same answers — writing accepted commands to the
//! command file through `picket-nsca`'s writer, called on the connection's
//! thread ([`LineWriter`]: FIFO in `PIPE_BUF` chunks, spooled in memory up
//! to `max_queue_size` while nobody reads it, a full FIFO making clients
//! wait up to `stall_timeout` before lines are spooled).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use picket_nsca::writer::{LineWriter, WriterConfig, WriterStats};
use picket_nsca_ng::server::{self, Options, Receiver, Sink, Stats};
use picket_nsca_ng_proto::Authorizer;
use tracing::{info, warn};

#[derive(Debug, Default)]
struct Args {
    listen: Option<String>,
    command_file: Option<String>,
    config: Option<PathBuf>,
    foreground: bool,
    log_level: Option<u8>,
    pid_file: Option<String>,
    syslog: bool,
}

fn usage() -> String {
    "Usage: nsca-ng [-FSs] [-b listen] [-C file] [-c file] [-l level] [-P file]\n       nsca-ng -h | -V".into()
}

fn parse_args(argv: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    let mut i = 1;
    while i < argv.len() {
        let arg = &argv[i];
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!("unexpected argument {arg}"));
        };
        for (pos, c) in flags.char_indices() {
            let mut value = || -> Result<String, String> {
                let rest = &flags[pos + c.len_utf8()..];
                if !rest.is_empty() {
                    Ok(rest.to_string())
                } else {
                    i += 1;
                    argv.get(i)
                        .cloned()
                        .ok_or(format!("option -{c} needs a value"))
                }
            };
            match c {
                'F' => a.foreground = true,
                'S' | 's' => a.syslog = c == 's' || a.syslog,
                'h' => return Ok(None),
                'V' => {
                    println!("nsca-ng {} (Picket)", env!("CARGO_PKG_VERSION"));
                    std::process::exit(0);
                }
                'b' | 'C' | 'c' | 'l' | 'P' | 'p' => {
                    let v = value()?;
                    match c {
                        'b' => a.listen = Some(v),
                        'C' => a.command_file = Some(v),
                        'c' => a.config = Some(PathBuf::from(v)),
                        'l' => {
                            a.log_level = Some(
                                v.parse()
                                    .ok()
                                    .filter(|l| *l <= 5)
                                    .ok_or(format!("invalid log level {v}"))?,
                            );
                        }
                        _ => a.pid_file = Some(v),
                    }
                    break;
                }
                _ => return Err(format!("unknown option -{c}")),
            }
        }
        i += 1;
    }
    Ok(Some(a))
}

/// The command-file writer, and whether each command is logged
/// (`log_level` ≥ 3). The connection's thread writes the line itself
/// (one `write`, no writer thread to wake per command), so `OKAY` goes
/// out once the line is in the FIFO or in the spool.
struct WriterSink(Arc<LineWriter>, bool);

impl Sink for WriterSink {
    fn submit(&self, identity: &str, peer: SocketAddr, command: Vec<u8>) -> Result<(), String> {
        if self.1 {
            info!(
                "Queuing data from {}@{peer}: {}",
                picket_nsca::printable(identity.as_bytes()),
                picket_nsca::printable(command.strip_suffix(b"\n").unwrap_or(&command))
            );
        }
        self.0.write_lines(&command, 1);
        Ok(())
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let args = match parse_args(&argv) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("nsca-ng: {e}\n{}", usage());
            return ExitCode::FAILURE;
        }
    };
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("/etc/nsca-ng.cfg"));
    let config = match picket_nsca_ng::load_config(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nsca-ng: [FATAL] {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let level = args.log_level.unwrap_or(config.log_level);
    // Level 5 is debug; below that the receiver's notices, warnings and
    // errors (RUST_LOG overrides). Without -F, or with -s, only syslog.
    picket_nsca::logging::init(
        "nsca-ng",
        "daemon",
        level >= 5,
        args.syslog || !args.foreground,
    );
    for w in &config.warnings {
        warn!("{w}");
    }
    match run(&args, &config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nsca-ng: [FATAL] {e:#}");
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, config: &picket_nsca_ng_proto::ServerConfig) -> Result<()> {
    let listen = args.listen.clone().unwrap_or_else(|| config.listen.clone());
    let listener = picket_nsca_ng::bind(&listen)?;
    let local = listener.local_addr()?;
    let authorizer = Arc::new(Authorizer::new(config));
    let tls = picket_nsca_ng::tls::server_context(&config.tls_ciphers, Arc::clone(&authorizer))
        .with_context(|| format!("tls_ciphers {:?}", config.tls_ciphers))?;
    if !args.foreground {
        nix::unistd::daemon(false, false).context("cannot daemonize")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    // Before the PID file: whoever reads it may signal at once, and a SIGTERM before the
    // handlers are in place would kill the server with results still in its writer.
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        let _in_runtime = rt.enter();
        (
            signal(SignalKind::terminate()).context("install the SIGTERM handler")?,
            signal(SignalKind::interrupt()).context("install the SIGINT handler")?,
        )
    };
    let pid_file = args.pid_file.clone().or_else(|| config.pid_file.clone());
    if let Some(p) = &pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid_file {p}"))?;
    }
    let command_file = args
        .command_file
        .clone()
        .unwrap_or_else(|| config.command_file.clone());
    let mut wc = WriterConfig::new(PathBuf::from(&command_file));
    wc.memory_spool_limit = match config.max_queue_size {
        0 => usize::MAX,
        mb => mb.saturating_mul(1 << 20),
    };
    let wstats = Arc::new(WriterStats::default());
    let writer = Arc::new(LineWriter::new(wc, Arc::clone(&wstats)));
    let stop = Arc::new(AtomicBool::new(false));
    // A spool is replayed once a second even when nobody submits.
    {
        let (writer, stop) = (Arc::clone(&writer), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("command-writer".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    writer.tick();
                }
            })
            .context("cannot start the writer's timer")?;
    }
    {
        let stop = Arc::clone(&stop);
        rt.spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
    let stats = Arc::new(Stats::default());
    let receiver = Arc::new(Receiver {
        tls,
        authorizer,
        options: Options::from_config(config),
        sink: Arc::new(WriterSink(
            Arc::clone(&writer),
            args.log_level.unwrap_or(config.log_level) >= 3,
        )),
        stats: Arc::clone(&stats),
    });
    info!(
        "nsca-ng (Picket {}) starting up: listening on {local}, command file {command_file}",
        env!("CARGO_PKG_VERSION")
    );
    server::serve(listener, Arc::clone(&receiver), stop)?;
    info!("nsca-ng shutting down");
    // Connections still running hold the receiver until they end; give
    // them 2 s, then whatever the writer still holds goes out.
    for _ in 0..40 {
        if Arc::strong_count(&receiver) == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(receiver);
    writer.shutdown();
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
