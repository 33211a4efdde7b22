//! `picket`: the Picket monitoring server.
//!
//! `picket -v MAIN_CFG` checks a Nagios/Shinken configuration like `nagios -v`.
//! `picket MAIN_CFG` will run the daemon (not built yet).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

mod verify;

/// Picket: a monitoring server that reads Nagios and Shinken configurations.
#[derive(Debug, Parser)]
#[command(name = "picket", version, about)]
struct Cli {
    /// Verify the configuration and exit (like `nagios -v`): 0 when valid, 1 when not.
    #[arg(short = 'v', long = "verify-config")]
    verify: bool,

    /// Configuration dialect: auto (detect Shinken from its main-config keys), nagios or
    /// shinken.
    #[arg(long, value_enum, default_value_t = verify::DialectArg::Auto)]
    dialect: verify::DialectArg,

    /// Print only the summary and errors, not warnings.
    #[arg(short = 'q', long)]
    quiet: bool,

    /// Main configuration file (nagios.cfg format).
    main_cfg: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verify {
        return verify::run(&cli.main_cfg, cli.dialect, cli.quiet);
    }
    eprintln!(
        "picket: the monitoring daemon is not built yet; only `picket -v {}` (verify the \
         configuration) is available",
        cli.main_cfg.display()
    );
    ExitCode::from(2)
}
