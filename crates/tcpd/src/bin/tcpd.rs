//! `tcpd`: inetd wrapper (`/usr/sbin/tcpd` semantics) and standalone listener.
//!
//! Called under another name (`argv[0]` = the daemon, as inetd does), it behaves like
//! tcp_wrappers' tcpd. Called as `tcpd`, it takes options (see `tcpd --help`).

use anyhow::Context;
use picket_tcpd::wrapper::{Config, listen, parse_args, serve_stdin};

fn main() {
    if let Err(e) = run() {
        eprintln!("tcpd: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().cloned().unwrap_or_default();
    let base = argv0.rsplit('/').next().unwrap_or(&argv0);
    let cfg = if base == "tcpd" {
        parse_args(&args[1..])?
    } else {
        Config {
            argv: args.clone(),
            ..Config::default()
        }
    };
    if cfg.listen.is_some() {
        let exe = std::env::current_exe().context("cannot find our own executable")?;
        listen(&cfg, &exe)
    } else {
        serve_stdin(&cfg)
    }
}
