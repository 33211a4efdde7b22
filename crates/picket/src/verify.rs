//! `picket -v`: check a configuration and print a `nagios -v`-like report.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use picket_config::{Dialect, LoadOptions};

/// `--dialect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DialectArg {
    /// Detect from the main config.
    Auto,
    /// Nagios Core 4.
    Nagios,
    /// Shinken 2.
    Shinken,
}

impl DialectArg {
    /// The forced dialect, `None` to detect.
    pub(crate) fn to_dialect(self) -> Option<Dialect> {
        match self {
            DialectArg::Auto => None,
            DialectArg::Nagios => Some(Dialect::Nagios),
            DialectArg::Shinken => Some(Dialect::Shinken),
        }
    }
}

/// Run the check, print the report on stdout, return the exit code (0 valid, 1 not).
pub(crate) fn run(main_cfg: &Path, dialect: DialectArg, quiet: bool) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = report(&mut out, main_cfg, dialect, quiet);
    // Nothing useful can be done if stdout is gone.
    let _ = out.flush();
    code
}

fn report(out: &mut impl Write, main_cfg: &Path, dialect: DialectArg, quiet: bool) -> ExitCode {
    let started = Instant::now();
    let opts = LoadOptions {
        dialect: match dialect {
            DialectArg::Auto => None,
            DialectArg::Nagios => Some(Dialect::Nagios),
            DialectArg::Shinken => Some(Dialect::Shinken),
        },
        threads: 0,
    };
    let _ = writeln!(out, "Picket {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "Reading configuration data...");
    let _ = out.flush();
    let loaded = match picket_config::load(main_cfg, &opts) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(out, "Error: {e}");
            let _ = writeln!(out, "   Error processing main config file!");
            return ExitCode::from(1);
        }
    };
    let cfg = &loaded.config;
    let _ = writeln!(out, "   Read main config file okay...");
    let _ = writeln!(
        out,
        "   Read {} object config files ({} definitions, {:.1} MB, dialect {})...",
        loaded.stats.files,
        loaded.stats.definitions,
        loaded.stats.bytes as f64 / 1e6,
        match cfg.dialect {
            Dialect::Nagios => "nagios",
            Dialect::Shinken => "shinken",
        }
    );
    let _ = writeln!(out);
    let mut errors = loaded.error_count();
    let mut warnings = loaded.warning_count();
    for d in &loaded.diagnostics {
        if quiet && !d.is_error() {
            continue;
        }
        let _ = writeln!(out, "{}", d.line());
    }
    if !(loaded.diagnostics.is_empty() || quiet && errors == 0) {
        let _ = writeln!(out);
    }
    // Scan detection (`detection_config_file`): the file, then its objects.
    if let Some(path) = &cfg.main.detection_config_file {
        match crate::detect::read_config(path) {
            Err(e) => {
                let _ = writeln!(out, "Error: {e:#}");
                errors += 1;
            }
            Ok(d) => {
                let (e, w) = crate::detect::check_objects(&d, cfg);
                for l in &e {
                    let _ = writeln!(out, "{l}");
                }
                if !quiet {
                    for l in &w {
                        let _ = writeln!(out, "{l}");
                    }
                }
                errors += e.len();
                warnings += w.len();
                if !quiet {
                    let _ = writeln!(
                        out,
                        "{} ({})",
                        crate::detect::summary(&d, cfg),
                        path.display()
                    );
                }
            }
        }
        let _ = writeln!(out);
    }
    let c = cfg.counts();
    let _ = writeln!(out, "Running pre-flight check on configuration data...");
    let _ = writeln!(out);
    let _ = writeln!(out, "Checking objects...");
    let _ = writeln!(out, "\tChecked {} services.", c.services);
    let _ = writeln!(out, "\tChecked {} hosts.", c.hosts);
    let _ = writeln!(out, "\tChecked {} host groups.", c.hostgroups);
    let _ = writeln!(out, "\tChecked {} service groups.", c.servicegroups);
    let _ = writeln!(out, "\tChecked {} contacts.", c.contacts);
    let _ = writeln!(out, "\tChecked {} contact groups.", c.contactgroups);
    let _ = writeln!(out, "\tChecked {} commands.", c.commands);
    let _ = writeln!(out, "\tChecked {} time periods.", c.timeperiods);
    let _ = writeln!(out, "\tChecked {} host escalations.", c.hostescalations);
    let _ = writeln!(
        out,
        "\tChecked {} service escalations.",
        c.serviceescalations
    );
    let _ = writeln!(out, "Checking for circular paths...");
    let _ = writeln!(out, "\tChecked {} hosts", c.hosts);
    let _ = writeln!(
        out,
        "\tChecked {} service dependencies",
        c.servicedependencies
    );
    let _ = writeln!(out, "\tChecked {} host dependencies", c.hostdependencies);
    let _ = writeln!(out, "\tChecked {} timeperiods", c.timeperiods);
    let _ = writeln!(out);
    let _ = writeln!(out, "Total Warnings: {warnings}");
    let _ = writeln!(out, "Total Errors:   {errors}");
    let _ = writeln!(out);
    let _ = writeln!(out, "Checked in {:.3} s.", started.elapsed().as_secs_f64());
    // Freeing hundreds of thousands of objects one by one only delays the exit.
    std::mem::forget(loaded);
    if errors == 0 {
        let _ = writeln!(
            out,
            "Things look okay - No serious problems were detected during the pre-flight check"
        );
        ExitCode::SUCCESS
    } else {
        let _ = writeln!(
            out,
            "***> One or more problems was encountered while running the pre-flight check..."
        );
        ExitCode::from(1)
    }
}
