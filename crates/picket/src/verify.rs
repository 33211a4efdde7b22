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
/// With `precache` (`-p`, as `nagios -pv`), a valid configuration is also written to
/// `precached_object_file` in the `objects.cache` format.
pub(crate) fn run(main_cfg: &Path, dialect: DialectArg, quiet: bool, precache: bool) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = report(&mut out, main_cfg, dialect, quiet, precache);
    // Nothing useful can be done if stdout is gone.
    let _ = out.flush();
    code
}

fn report(
    out: &mut impl Write,
    main_cfg: &Path,
    dialect: DialectArg,
    quiet: bool,
    precache: bool,
) -> ExitCode {
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
    // The ingest files the daemon reads at start, with the errors it would stop on.
    let ingest = ingest_files(&cfg.main);
    if !ingest.is_empty() {
        for (level, line) in &ingest {
            match level {
                Level::Error => errors += 1,
                Level::Warning => warnings += 1,
                Level::Note => {}
            }
            if quiet && *level != Level::Error {
                continue;
            }
            let _ = writeln!(out, "{line}");
        }
        if !quiet || ingest.iter().any(|(l, _)| *l == Level::Error) {
            let _ = writeln!(out);
        }
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
    if precache && errors == 0 {
        let Some(path) = cfg.main.precached_object_file.as_deref() else {
            let _ = writeln!(
                out,
                "Error: -p needs precached_object_file= in the main configuration"
            );
            return ExitCode::from(1);
        };
        let tz = match &cfg.main.use_timezone {
            Some(name) => jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC),
            None => jiff::tz::TimeZone::system(),
        };
        let now = jiff::Timestamp::now().as_second();
        let text = picket_engine::statusfile::render_objects_cache(cfg, now, &tz);
        if let Err(e) = crate::statusfile::write_atomically(path, text.as_bytes()) {
            let _ = writeln!(
                out,
                "Error: cannot write the precached object file {}: {e}",
                path.display()
            );
            return ExitCode::from(1);
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "Object precache file created:");
        let _ = writeln!(out, "{}", path.display());
    }
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

/// What one line of [`ingest_files`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Error,
    Warning,
    Note,
}

/// Checks what the daemon reads at start besides the objects, as it reads
/// it (the same functions, so the same file:line messages): `nsca_config_file`
/// (and its source tables), `nsca_ng_config_file`, `api_identities_file`,
/// `web_token_file`, `nrdp_path`, and the Livestatus settings with the
/// identities their `COMMAND`s are decided by. Lines come out in the daemon's
/// order, each `Error: …`, `Warning: …` or a note.
fn ingest_files(main: &picket_config::MainConfig) -> Vec<(Level, String)> {
    let mut out = Vec::new();
    let err = |out: &mut Vec<(Level, String)>, e: &anyhow::Error| {
        out.push((Level::Error, format!("Error: {e:#}")));
    };
    let warn = |out: &mut Vec<(Level, String)>, w: &str| {
        out.push((Level::Warning, format!("Warning: {w}")));
    };
    // The files the daemon writes, as the daemon checks them: a FIFO or a directory there
    // would stop its start.
    let data = main
        .log_file
        .as_deref()
        .map(|log| crate::daemon::data_files(main, log))
        .unwrap_or_default();
    for (key, path) in data {
        if let Err(e) = picket_config::check_data_file(&path, key == "log_file") {
            err(&mut out, &anyhow::anyhow!("{key} {}: {e}", path.display()));
        } else if key == "log_file" && is_fifo(&path) {
            warn(
                &mut out,
                &format!(
                    "log_file {} is a FIFO: the daemon starts only while something reads it, and waits for that reader whenever it is slow",
                    path.display()
                ),
            );
        }
    }
    if let Some(path) = &main.nsca_config_file {
        match crate::nsca::read_config(path) {
            Err(e) => err(&mut out, &e),
            Ok((config, ws)) => {
                ws.iter().for_each(|w| warn(&mut out, w));
                match picket_nsca::server::source_rules(&config) {
                    Err(e) => err(
                        &mut out,
                        &anyhow::anyhow!("nsca_config_file {}: {e}", path.display()),
                    ),
                    Ok(_) => out.push((
                        Level::Note,
                        format!("Checked nsca_config_file {}", path.display()),
                    )),
                }
            }
        }
    }
    if let Some(path) = &main.nsca_ng_config_file {
        match crate::nsca_ng::read_config(path) {
            Err(e) => err(&mut out, &e),
            Ok((config, ws)) => {
                ws.iter().for_each(|w| warn(&mut out, w));
                out.push((
                    Level::Note,
                    format!(
                        "Checked nsca_ng_config_file {} ({} authorize blocks)",
                        path.display(),
                        config.authorizations.len()
                    ),
                ));
            }
        }
    }
    let livestatus = match crate::livestatus::settings(main) {
        Err(e) => {
            err(&mut out, &e);
            None
        }
        Ok((s, ws)) => {
            ws.iter().for_each(|w| warn(&mut out, w));
            s
        }
    };
    let spool_keys =
        match crate::checkresults::SpoolAuthKeys::parse(&main.check_result_identity_keys) {
            Ok(k) => Some(k),
            Err(e) => {
                err(&mut out, &e);
                None
            }
        };
    let names_identities = livestatus
        .as_ref()
        .is_some_and(|s| s.commands.names_identities())
        || spool_keys.as_ref().is_some_and(|k| k.names_identities());
    let mut identities = None;
    if let Some(path) = &main.api_identities_file {
        match crate::web::read_identities(path) {
            Err(e) => err(&mut out, &e),
            Ok(ids) => {
                if main.web_listen.is_none() && !names_identities {
                    warn(
                        &mut out,
                        &format!(
                            "api_identities_file {}: neither web_listen nor a livestatus_*_identity nor a check_result_*identity uses it",
                            path.display()
                        ),
                    );
                }
                out.push((
                    Level::Note,
                    format!(
                        "Checked api_identities_file {} ({} identities: {})",
                        path.display(),
                        ids.len(),
                        ids.iter()
                            .map(|i| picket_engine::output::log_safe(&i.name).into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                identities = Some(ids);
            }
        }
    }
    if let (Some(_), Some(path)) = (main.web_listen, &main.web_token_file) {
        if path.exists() {
            match crate::web::read_token(path) {
                Err(e) => err(&mut out, &e),
                Ok(t) => {
                    if let Some(w) = crate::web::weak_token(path, &t) {
                        warn(&mut out, &w);
                    }
                }
            }
        } else {
            out.push((
                Level::Note,
                format!(
                    "web_token_file {} does not exist: the daemon creates it with a random token",
                    path.display()
                ),
            ));
        }
    }
    if let Some(p) = main.nrdp_path.as_deref().filter(|p| !p.is_empty()) {
        if let Err(e) = picket_web::check_nrdp_path(p) {
            err(&mut out, &anyhow::anyhow!("{e}"));
        }
    }
    // An unreadable identities file was reported above; do not report its names again.
    let unreadable = main.api_identities_file.is_some() && identities.is_none();
    if let Some(k) = spool_keys.filter(|k| k.names_identities() && !unreadable) {
        match k.resolve(identities.as_deref()) {
            Err(e) => err(&mut out, &e),
            Ok(a) => out.push((Level::Note, a.describe())),
        }
    }
    if let Some(s) = &livestatus {
        if !unreadable {
            match s.commands.resolve(identities.as_deref()) {
                Err(e) => err(&mut out, &e),
                Ok(c) => out.push((Level::Note, describe_commanders(&c))),
            }
        }
    }
    out
}

/// `Livestatus COMMAND: unix socket: …; tcp: …` for the report.
fn describe_commanders(c: &crate::livestatus::Commanders) -> String {
    use crate::livestatus::Commander;
    let one = |c: &Commander| match c {
        Commander::Scoped { name, .. } => {
            format!("identity {}", picket_engine::output::log_safe(name))
        }
        Commander::Unscoped => "any command (unscoped)".to_string(),
        Commander::Nobody(_) => "refused (no identity)".to_string(),
    };
    let mut uids: Vec<_> = c.uids.iter().collect();
    uids.sort_by_key(|(u, _)| **u);
    let mut s = format!(
        "Livestatus COMMAND: unix socket: {}; tcp: {}",
        one(&c.unix),
        one(&c.tcp)
    );
    for (u, who) in uids {
        s.push_str(&format!("; uid {u}: {}", one(who)));
    }
    s
}

fn is_fifo(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}
