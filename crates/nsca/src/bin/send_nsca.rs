//! `send_nsca`: a drop-in for Debian's `send_nsca` 2.10.2 — same flags,
//! standard input, config file, messages and exit codes — plus `--spool DIR`
//! so that results that cannot be delivered are kept and sent next time,
//! and `--nsca-ng`: the rest of the command line is `send_nsca-ng`'s, and
//! that program (crates/nsca-ng's client, found beside this one, else on
//! `PATH`) is run in this process's place.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use picket_nsca::client::{ClientError, Connection, Spool};
use picket_nsca_proto::config::ClientConfig;
use picket_nsca_proto::input::{self, SetSplitter};
use picket_nsca_proto::{CheckResult, PacketFormat};

const STATE_OK: u8 = 0;
const STATE_CRITICAL: u8 = 2;
const STATE_UNKNOWN: u8 = 3;
/// `return ERROR` (-1) from main, as the C client exits on an over-long set.
const EXIT_ERROR: u8 = 255;

struct Args {
    host: String,
    port: u16,
    timeout: u32,
    delimiter: u8,
    set_delimiter: u8,
    config: PathBuf,
    quiet: bool,
    legacy: bool,
    spool: Option<PathBuf>,
}

enum Parsed {
    Run(Args),
    Help,
    Version,
    License,
    Bad,
}

fn parse_args(argv: &[String]) -> Parsed {
    let mut a = Args {
        host: String::new(),
        port: 5667,
        timeout: 10,
        delimiter: input::DEFAULT_FIELD_DELIMITER,
        set_delimiter: input::DEFAULT_SET_DELIMITER,
        config: PathBuf::from("/etc/send_nsca.cfg"),
        quiet: false,
        legacy: false,
        spool: None,
    };
    if argv.len() < 2 {
        return Parsed::Help;
    }
    let mut i = 1;
    // The old syntax: the host as the first argument.
    if !argv[1].starts_with('-') {
        a.host = argv[1].clone();
        i = 2;
    }
    while i < argv.len() {
        let opt = argv[i].as_str();
        let mut value = || {
            i += 1;
            argv.get(i).cloned()
        };
        match opt {
            "-h" | "--help" => return Parsed::Help,
            "-V" | "--version" => return Parsed::Version,
            "-l" | "--license" => return Parsed::License,
            "--quiet" => a.quiet = true,
            "--legacy-2-7-mode" => a.legacy = true,
            "-H" => match value() {
                Some(h) => a.host = h,
                None => return Parsed::Bad,
            },
            "-p" => match value().and_then(|v| v.parse::<u16>().ok()) {
                Some(p) => a.port = p,
                None => return Parsed::Bad,
            },
            "-to" => match value().map(|v| picket_nsca_proto::config::atoi(&v)) {
                Some(t) if t > 0 => a.timeout = t.min(i64::from(u32::MAX)) as u32,
                _ => return Parsed::Bad,
            },
            "-d" => match value().and_then(|v| input::parse_delimiter(&v)) {
                Some(d) => a.delimiter = d,
                None => return Parsed::Bad,
            },
            "-ds" => match value().and_then(|v| input::parse_delimiter(&v)) {
                Some(d) => a.set_delimiter = d,
                None => return Parsed::Bad,
            },
            "-c" => match value() {
                Some(c) => a.config = PathBuf::from(c),
                None => return Parsed::Bad,
            },
            "--spool" => match value() {
                Some(d) => a.spool = Some(PathBuf::from(d)),
                None => return Parsed::Bad,
            },
            _ => return Parsed::Bad,
        }
        i += 1;
    }
    if a.host.is_empty() {
        return Parsed::Bad;
    }
    Parsed::Run(a)
}

fn banner() {
    println!();
    println!("NSCA Client 2.10.2 (Picket {})", env!("CARGO_PKG_VERSION"));
    println!("Wire-compatible with Nagios' send_nsca 2.10.2");
    println!("License: MIT OR Apache-2.0");
    println!("Encryption Routines: AVAILABLE");
    println!();
}

fn usage(argv0: &str) {
    println!(
        "Usage: {argv0} [--quiet] -H <host_address> [-p port] [-to to_sec] [-d delim] [-ds set_delim] [-c config_file] [--legacy-2-7-mode] [--spool dir]"
    );
    println!(
        "
Options:
 --quiet            = Be quiet unless there are errors
 <host_address>     = The IP address of the host running the NSCA daemon
 [port]             = The port on which the daemon is running - default is 5667
 [to_sec]           = Number of seconds before connection attempt times out.
                      (default timeout is 10 seconds)
 [delim]            = Delimiter to use when parsing input (defaults to a tab).
                      Honors hex formatted values, e.g. 0x09.
 [set_delim]        = Delimiter to use when parsing different sets 
                      (defaults to an ETB character).
                      Honors hex formatted values, e.g. 0x17.
 [config_file]      = Name of config file to use
 --legacy-2-7-mode  = Allow sending to NSCA 2.7 daemon. This can also be specified in send_nsca.cfg, which takes precedence.
 --spool dir        = (Picket) Keep results that cannot be delivered in dir and
                      send them first on the next run.
 --nsca-ng ARGS     = (Picket; first option) Send over NSCA-ng instead: ARGS are
                      send_nsca-ng's (-H, -p, -c with identity/password, ...).

Note:
This utility is used to send passive check results to the NSCA daemon.  Host and
Service check data that is to be sent to the NSCA daemon is read from standard
input. Input should be provided in the following format (tab-delimited unless
overridden with -d command line argument, one entry per line):

Service Checks:
<host_name>[tab]<svc_description>[tab]<return_code>[tab]<plugin_output>[newline]

Host Checks:
<host_name>[tab]<return_code>[tab]<plugin_output>[newline]

When submitting multiple simultaneous results, separate each set with the ETB
character (^W or 0x17)"
    );
}

/// `send_nsca --nsca-ng ARGS`: replaces this process with `send_nsca-ng ARGS`
/// (one owner of the NSCA-ng client: crates/nsca-ng). Returns only on failure.
fn exec_nsca_ng(args: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("send_nsca-ng")))
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from("send_nsca-ng"));
    let err = std::process::Command::new(&program).args(args).exec();
    println!("Error: --nsca-ng: cannot run {}: {err}", program.display());
    ExitCode::from(STATE_UNKNOWN)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--nsca-ng") {
        return exec_nsca_ng(&argv[2..]);
    }
    let argv0 = argv.first().map_or("send_nsca", String::as_str);
    let args = match parse_args(&argv) {
        Parsed::Run(a) => a,
        Parsed::Bad => {
            println!("Incorrect command line arguments supplied");
            banner();
            usage(argv0);
            return ExitCode::from(STATE_UNKNOWN);
        }
        Parsed::Help => {
            banner();
            usage(argv0);
            return ExitCode::from(STATE_UNKNOWN);
        }
        Parsed::Version | Parsed::License => {
            banner();
            return ExitCode::from(STATE_UNKNOWN);
        }
    };
    ExitCode::from(run(args))
}

fn run(args: Args) -> u8 {
    let cfg_name = args.config.display().to_string();
    let config = match picket_config::read_config_file(&args.config) {
        Ok(text) => match ClientConfig::parse(&cfg_name, &text) {
            Ok(c) => c,
            Err(e) => {
                println!("{e}");
                println!("Error: Config file '{cfg_name}' contained errors...");
                return STATE_CRITICAL;
            }
        },
        Err(e) => {
            println!("Could not open config file '{cfg_name}' for reading: {e}");
            println!("Error: Config file '{cfg_name}' contained errors...");
            return STATE_CRITICAL;
        }
    };
    if let Err(e) = config.encryption_method.check_supported() {
        eprintln!(
            "Error: Failed to initialize encryption libraries for method {}: {e}",
            config.encryption_method.number()
        );
        return STATE_CRITICAL;
    }
    let format = if config.legacy_2_7_mode || args.legacy {
        PacketFormat::Legacy27
    } else {
        PacketFormat::V3
    };
    let spool = match args.spool.as_deref().map(Spool::open).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: Cannot use spool directory: {e}");
            return STATE_CRITICAL;
        }
    };

    // The C client arms alarm(timeout) before connecting and never resets
    // it: the timeout bounds the whole run. Socket operations get the same
    // deadline; the watchdog ends a run stuck on standard input.
    let deadline = Instant::now() + Duration::from_secs(u64::from(args.timeout));
    let timeout = args.timeout;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(u64::from(timeout)) + Duration::from_millis(500));
        let _ = io::stdout().flush();
        eprintln!("Error: Timeout after {timeout} seconds");
        std::process::exit(i32::from(STATE_CRITICAL));
    });

    let mut conn = match Connection::open(
        &args.host,
        args.port,
        deadline,
        config.encryption_method,
        &config.password,
        format,
    ) {
        Ok(c) => Some(c),
        Err(e) => {
            report_connect_error(&e, &args);
            if spool.is_none() {
                return STATE_CRITICAL;
            }
            None
        }
    };

    let mut sent = 0usize;
    let mut undelivered: Vec<CheckResult> = Vec::new();
    let mut send_error: Option<ClientError> = None;

    // Spooled results from earlier runs go first.
    if let (Some(spool), Some(c)) = (&spool, conn.as_mut()) {
        match spool.pending() {
            Ok(files) => {
                'files: for f in files {
                    let results = match Spool::read(&f) {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("Warning: skipping spool file: {e}");
                            continue;
                        }
                    };
                    for r in &results {
                        if let Err(e) = c.send(r) {
                            send_error = Some(e);
                            break 'files;
                        }
                    }
                    sent += results.len();
                    let _ = std::fs::remove_file(&f);
                }
            }
            Err(e) => eprintln!("Warning: cannot list spool directory: {e}"),
        }
    }

    let mut splitter = SetSplitter::new(args.set_delimiter);
    let mut stdin = io::stdin().lock();
    let mut chunk = vec![0u8; 8192];
    let mut too_long = false;
    let deliver = |set: Vec<u8>,
                   conn: &mut Option<Connection>,
                   undelivered: &mut Vec<CheckResult>,
                   send_error: &mut Option<ClientError>,
                   sent: &mut usize| {
        let Some(r) = input::parse_set(&set, args.delimiter) else {
            return;
        };
        if send_error.is_none() {
            if let Some(c) = conn.as_mut() {
                match c.send(&r) {
                    Ok(()) => {
                        *sent += 1;
                        return;
                    }
                    Err(e) => *send_error = Some(e),
                }
            }
        }
        undelivered.push(r);
    };
    'read: loop {
        let n = match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        splitter.push(&chunk[..n]);
        while let Some(set) = splitter.next_set() {
            match set {
                Ok(set) => deliver(set, &mut conn, &mut undelivered, &mut send_error, &mut sent),
                Err(_) => {
                    too_long = true;
                    break 'read;
                }
            }
        }
    }
    if !too_long {
        match splitter.finish() {
            Ok(set) => deliver(set, &mut conn, &mut undelivered, &mut send_error, &mut sent),
            Err(_) => too_long = true,
        }
    }
    if let Some(c) = conn.take() {
        if send_error.is_none() {
            if let Err(e) = c.finish() {
                send_error = Some(e);
            }
        }
    }

    if !undelivered.is_empty() {
        if let Some(spool) = &spool {
            match spool.store(&undelivered) {
                Ok(p) => eprintln!(
                    "{} result(s) could not be delivered and were spooled to {}",
                    undelivered.len(),
                    p.display()
                ),
                Err(e) => eprintln!(
                    "Error: {} result(s) could not be delivered nor spooled: {e}",
                    undelivered.len()
                ),
            }
        }
    }
    if too_long {
        println!("Error: Input set is longer than max allowed.");
        return EXIT_ERROR;
    }
    if let Some(e) = send_error {
        println!("Error: {e}");
        return STATE_UNKNOWN;
    }
    if !args.quiet || sent == 0 {
        println!("{sent} data packet(s) sent to host successfully.");
    }
    if sent == 0 || !undelivered.is_empty() {
        STATE_CRITICAL
    } else {
        STATE_OK
    }
}

fn report_connect_error(e: &ClientError, args: &Args) {
    match e {
        ClientError::Connect { source, .. } => {
            let why = match source.kind() {
                io::ErrorKind::ConnectionRefused => "Connection refused by host".to_string(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    "Timeout while attempting connection".to_string()
                }
                _ => format!("Could not connect: {source}"),
            };
            eprintln!("{why}");
            eprintln!(
                "Error: Could not connect to host {} on port {}",
                args.host, args.port
            );
        }
        ClientError::Crypto { .. } => eprintln!("Error: {e}"),
        _ => {
            eprintln!("Error: {e}");
            eprintln!("Error: Could not read init packet from server");
        }
    }
}
