//! Picket's object configuration: read Nagios and Shinken configurations unmodified.
//!
//! Two stages, as in `nagios -v`:
//!
//! 1. [`raw`]: a lexer/parser that keeps every directive with its file and line and knows
//!    nothing of object semantics ([`raw::parse_object_file`], [`raw::parse_main_file`]).
//! 2. [`resolve`]: templates (`use` with several parents in Nagios order, `register 0`,
//!    `+` additive inheritance, `null`, custom `_VARS`), implied inheritance from host to
//!    service, `host_name`/`hostgroup_name` expansion with `*`, `!` and regexes, group
//!    membership in both directions, timeperiods, dependencies and escalations. It builds
//!    an immutable [`Config`] of dense, id-indexed objects and runs the pre-flight checks.
//!
//! [`load`] does the file-system part (main config, `cfg_file`, `cfg_dir`, includes,
//! resource files) and parses object files in parallel.
//!
//! Every problem is a [`Diagnostic`] that names `file:line` and the object. The library
//! never panics on any input and never reads the clock: timeperiod evaluation
//! ([`Config::in_period`], [`Config::next_valid_time`]) takes the instant and the time zone.
//!
//! ```no_run
//! let loaded = picket_config::load(
//!     std::path::Path::new("/etc/nagios4/nagios.cfg"),
//!     &picket_config::LoadOptions::default(),
//! )?;
//! for d in &loaded.diagnostics {
//!     eprintln!("{}", d.line());
//! }
//! println!("{} services", loaded.config.services.len());
//! # Ok::<(), picket_config::LoadError>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod diag;
pub mod keys;
pub mod load;
pub mod main_cfg;
pub mod model;
pub mod raw;
pub mod resolve;
pub mod timeperiod;

pub use diag::{Diagnostic, Diagnostics, Kind, LoadError, Location, Severity};
pub use load::{
    LoadOptions, LoadStats, Loaded, MAX_CONFIG_FILE_BYTES, check_data_file, load, read_config_file,
};
pub use main_cfg::MainConfig;
pub use model::*;
pub use timeperiod::Timeperiod;
