//! `send_nsca-ng`: Debian's `nsca-ng-client` `send_nsca` — the same
//! command line (`-C`, `-c`, `-D`, `-d`, `-e`, `-H`, `-o`, `-p`, `-S`, `-s`,
//! `-t`, `-v`), `send_nsca.cfg` (`identity`, `password`, `server`, `port`,
//! `timeout`, `delay`, `tls_ciphers`) and standard input — plus
//! `--spool DIR`: commands that cannot be delivered (no server, broken
//! connection) are kept there and sent first next time. A command the server
//! refuses (`FAIL`) is reported and not kept; unlike Debian's client, the
//! commands after it are still sent. Exit 0 when every command was
//! accepted (or spooled), 1 otherwise.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use picket_nsca_ng::client::{Spool, Target, send};
use picket_nsca_ng_proto::config::{ClientConfig, parse_client};
use picket_nsca_ng_proto::input;

#[derive(Debug)]
struct Args {
    raw: bool,
    config: PathBuf,
    delay: Option<u64>,
    delimiter: u8,
    separator: u8,
    server: Option<String>,
    timeout: Option<u64>,
    port: Option<String>,
    verbose: u8,
    spool: Option<PathBuf>,
}

const USAGE: &str = "Usage: send_nsca-ng [-CSstv] [-c file] [-D delay] [-d delimiter] [-e separator] [-H server] [-o timeout] [-p port] [--spool dir]\n       send_nsca-ng -h | -V";

/// A `-d`/`-e` character: one character, a C escape, `0NNN` octal or `0xNN` hex.
fn parse_char(v: &str) -> Option<u8> {
    let b = v.as_bytes();
    match b {
        [c] => Some(*c),
        [b'\\', e] => Some(match e {
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 11,
            b'\\' => b'\\',
            b'0' => 0,
            _ => return None,
        }),
        _ if v.starts_with("0x") || v.starts_with("0X") => u8::from_str_radix(&v[2..], 16).ok(),
        _ if v.starts_with('0') => u8::from_str_radix(&v[1..], 8).ok(),
        _ => None,
    }
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        raw: false,
        config: PathBuf::from("/etc/send_nsca.cfg"),
        delay: None,
        delimiter: input::DEFAULT_DELIMITER,
        separator: input::DEFAULT_SEPARATOR,
        server: None,
        timeout: None,
        port: None,
        verbose: 0,
        spool: None,
    };
    let mut i = 1;
    while i < argv.len() {
        let arg = &argv[i];
        if arg == "--spool" {
            i += 1;
            a.spool = Some(PathBuf::from(
                argv.get(i).ok_or("--spool needs a directory")?,
            ));
            i += 1;
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!("unexpected argument {arg}"));
        };
        for (pos, c) in flags.char_indices() {
            let rest = &flags[pos + c.len_utf8()..];
            match c {
                'C' => a.raw = true,
                'S' | 's' | 't' => {}
                'v' => a.verbose = a.verbose.saturating_add(1),
                'h' => return Err(String::new()),
                'V' => {
                    println!("send_nsca-ng {} (Picket)", env!("CARGO_PKG_VERSION"));
                    std::process::exit(0);
                }
                'c' | 'D' | 'd' | 'e' | 'H' | 'o' | 'p' => {
                    let v = if rest.is_empty() {
                        i += 1;
                        argv.get(i)
                            .cloned()
                            .ok_or(format!("option -{c} needs a value"))?
                    } else {
                        rest.to_string()
                    };
                    let bad = || format!("invalid -{c} value {v:?}");
                    match c {
                        'c' => a.config = PathBuf::from(&v),
                        'D' => a.delay = Some(v.parse().map_err(|_| bad())?),
                        'd' => {
                            a.delimiter = parse_char(&v)
                                .filter(|d| !matches!(d, b'\\' | b'\n' | 0x17 | 0))
                                .ok_or_else(bad)?;
                        }
                        'e' => a.separator = parse_char(&v).ok_or_else(bad)?,
                        'H' => a.server = Some(v),
                        'o' => a.timeout = Some(v.parse().map_err(|_| bad())?),
                        _ => a.port = Some(v),
                    }
                    break;
                }
                _ => return Err(format!("unknown option -{c}")),
            }
        }
        i += 1;
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("send_nsca-ng: {e}");
            }
            println!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("send_nsca-ng: [FATAL] {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let cfg = match picket_config::read_config_file(&args.config) {
        Ok(b) => parse_client(
            &args.config.display().to_string(),
            &b,
            &picket_nsca_ng::FsLoader,
        )
        .map_err(|e| e.to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ClientConfig::default(),
        Err(e) => return Err(format!("Cannot read {}: {e}", args.config.display())),
    };
    let identity = match &cfg.identity {
        Some(i) => i.clone(),
        None => nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .map_err(|e| format!("Cannot get the host name: {e}"))?,
    };
    let port_text = args.port.clone().unwrap_or_else(|| cfg.port.clone());
    let port: u16 = port_text
        .parse()
        .map_err(|_| format!("Invalid port {port_text:?}"))?;
    let timeout = args.timeout.unwrap_or(cfg.timeout);
    let target = Target {
        server: args.server.clone().unwrap_or_else(|| cfg.server.clone()),
        port,
        identity,
        password: cfg.password.clone().into_bytes(),
        ciphers: cfg.tls_ciphers.clone(),
        timeout: (timeout > 0).then(|| Duration::from_secs(timeout)),
    };
    let mut data = Vec::new();
    std::io::stdin()
        .read_to_end(&mut data)
        .map_err(|e| format!("Cannot read the standard input: {e}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut commands = Vec::new();
    if args.raw {
        for line in data.split(|&b| b == b'\n') {
            commands.extend(input::raw_command(line, now));
        }
    } else {
        for r in input::records(&data, args.separator) {
            commands.push(input::check_result_command(r, args.delimiter, now)?);
        }
    }
    let delay = args.delay.unwrap_or(cfg.delay);
    if delay > 0 {
        use rand::Rng;
        let secs = rand::rng().random_range(0..=delay);
        std::thread::sleep(Duration::from_secs(secs));
    }
    let spool = args
        .spool
        .as_deref()
        .map(Spool::open)
        .transpose()
        .map_err(|e| format!("Cannot use the spool directory: {e}"))?;
    // Spooled commands first, oldest file first.
    let mut files = Vec::new();
    let mut all = Vec::new();
    if let Some(s) = &spool {
        for f in s
            .pending()
            .map_err(|e| format!("Cannot list the spool: {e}"))?
        {
            match Spool::read(&f) {
                Ok(c) => {
                    all.extend(c);
                    files.push(f);
                }
                Err(e) => eprintln!(
                    "send_nsca-ng: [WARNING] skipping spool file {}: {e}",
                    f.display()
                ),
            }
        }
    }
    let spooled = all.len();
    all.extend(commands);
    if all.is_empty() {
        return Ok(true);
    }
    let out = send(&target, &all);
    for (i, msg) in &out.refused {
        eprintln!(
            "send_nsca-ng: [ERROR] Server said: FAIL {msg} ({})",
            picket_nsca::printable(all[*i].strip_suffix(b"\n").unwrap_or(&all[*i]))
        );
    }
    if args.verbose > 0 {
        for i in &out.accepted {
            eprintln!(
                "send_nsca-ng: [INFO] Sent: {}",
                picket_nsca::printable(all[*i].strip_suffix(b"\n").unwrap_or(&all[*i]))
            );
        }
    }
    let mut ok = out.refused.is_empty();
    if !out.undelivered.is_empty() {
        let why = out.error.clone().unwrap_or_else(|| "not answered".into());
        let keep: Vec<Vec<u8>> = out.undelivered.iter().map(|&i| all[i].clone()).collect();
        match &spool {
            Some(s) => {
                // The old files' undelivered commands are in `keep` too.
                match s.store(&keep) {
                    Ok(p) => eprintln!(
                        "send_nsca-ng: [WARNING] {why}; {} command(s) spooled to {}",
                        keep.len(),
                        p.display()
                    ),
                    Err(e) => {
                        eprintln!(
                            "send_nsca-ng: [ERROR] {why}; {} command(s) lost: cannot spool: {e}",
                            keep.len()
                        );
                        ok = false;
                    }
                }
            }
            None => {
                eprintln!("send_nsca-ng: [FATAL] {why}");
                ok = false;
            }
        }
    } else if let Some(e) = &out.error {
        eprintln!("send_nsca-ng: [WARNING] {e}");
    }
    // Every old command was answered or re-spooled: the old files can go.
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    let _ = spooled;
    Ok(ok)
}
