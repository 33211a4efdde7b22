//! `picket`: the Picket monitoring server.
//!
//! `picket -v MAIN_CFG` checks a Nagios/Shinken configuration like `nagios -v`.
//! `picket [-d] MAIN_CFG` runs the monitoring daemon (in the foreground, or detached with
//! `-d` as `nagios -d` does).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

mod checkresults;
mod checks;
mod cmdfile;
mod daemon;
mod detect;
mod exec;
mod fdlimit;
mod fifo;
mod history;
mod input;
mod livestatus;
mod logfile;
mod nsca;
mod nsca_ng;
mod report;
mod retention;
mod statusfile;
mod verify;
mod web;

/// Picket: a monitoring server that reads Nagios and Shinken configurations.
#[derive(Debug, Parser)]
#[command(name = "picket", version, about)]
struct Cli {
    /// Verify the configuration and exit (like `nagios -v`): 0 when valid, 1 when not.
    #[arg(short = 'v', long = "verify-config")]
    verify: bool,

    /// With -v: write the objects, templates resolved, to `precached_object_file` (like
    /// `nagios -pv`).
    #[arg(short = 'p', long = "precache-objects")]
    precache: bool,

    /// Run the daemon detached from the terminal (like `nagios -d`).
    #[arg(short = 'd', long = "daemon")]
    daemon: bool,

    /// Configuration dialect: auto (detect Shinken from its main-config keys), nagios or
    /// shinken.
    #[arg(long, value_enum, default_value_t = verify::DialectArg::Auto)]
    dialect: verify::DialectArg,

    /// Print only the summary and errors, not warnings.
    #[arg(short = 'q', long)]
    quiet: bool,

    /// Drop passive results older than the object's last check (Nagios processes them).
    #[arg(long)]
    drop_stale_results: bool,

    /// Main configuration file (nagios.cfg format).
    main_cfg: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verify {
        return verify::run(&cli.main_cfg, cli.dialect, cli.quiet, cli.precache);
    }
    let opts = daemon::DaemonOptions {
        main_cfg: cli.main_cfg,
        daemonize: cli.daemon,
        dialect: cli.dialect.to_dialect(),
        drop_stale_results: cli.drop_stale_results,
    };
    match daemon::run(opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("picket: {e:#}");
            ExitCode::from(1)
        }
    }
}
