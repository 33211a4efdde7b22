//! NSCA-ng (Debian `nsca-ng-server` / `nsca-ng-client` 1.6), sans-I/O.
//!
//! * [`session`]: the line protocol of NSCA-ng version 1 as two state
//!   machines, [`ServerSession`] and [`ClientSession`]: bytes in, events and
//!   bytes to send out. The TLS-PSK transport around it is the caller's
//!   (`crates/nsca-ng`).
//! * [`config`]: `nsca-ng.cfg` (the libConfuse syntax Debian's server reads:
//!   `key = value`, `authorize "<identity>" { … }`, lists in braces, quoting,
//!   `${VAR}`, `include(…)` through a [`config::Loader`]) and
//!   `send_nsca.cfg`; every error names file:line.
//! * [`auth`]: the authorization decision: an identity and a submitted
//!   command line in, allow or deny with the reason out, with the anchored
//!   POSIX-ERE patterns of `hosts`, `services` (`svc@host`) and `commands`.
//!   The rule language itself (patterns, decision, reasons) is owned by
//!   `picket-authz`, which every other ingest path uses too.
//!
//! Nothing here reads a socket, file, clock or environment variable: the
//! caller passes them in.
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
/// POSIX ERE translation (owned by `picket-authz`).
pub use picket_authz::ere;
pub mod input;
pub mod session;

pub use auth::{Authorizer, Denial, Verdict};
pub use config::{ClientConfig, ConfigError, ServerConfig};
pub use session::{ClientEvent, ClientSession, ServerEvent, ServerSession};

/// The NSCA-ng port.
pub const DEFAULT_PORT: u16 = 5668;
/// The longest request or response line, CRLF included (`PROTOCOL`).
pub const MAX_LINE: usize = 1024;
/// Cipher list both Debian programs use when `tls_ciphers` is not set.
pub const DEFAULT_TLS_CIPHERS: &str =
    "PSK-AES256-CBC-SHA:PSK-AES128-CBC-SHA:PSK-3DES-EDE-CBC-SHA:PSK-RC4-SHA";
/// `max_command_size` default.
pub const DEFAULT_MAX_COMMAND_SIZE: usize = 16384;
/// `max_queue_size` default (megabytes).
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 1024;
/// The message of Debian's server for a command the identity may not submit.
pub const NOT_AUTHORIZED: &str = "You're not authorized";
