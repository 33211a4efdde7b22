//! The TCP wrappers access-control language (hosts_access(5), hosts_options(5)) as
//! Debian's tcp-wrappers 7.6.q-32 implements it, sans I/O.
//!
//! * [`table`]: reading `hosts.allow`/`hosts.deny` into [`Table`]s (never fails; problems
//!   become entries that are reported when evaluation reaches them).
//! * [`hosts_access`]: the verdict for a [`Request`], with lookups through a [`Resolver`] and
//!   option side effects through [`Effects`] (use [`DryRun`] for tcpdmatch-like checks).
//! * [`AccessEvent`]: the structured form of tcpd's `connect from` / `refused connect from` /
//!   `twist` log lines.
//! * [`system`]: **the only module doing I/O** — the system resolver (getaddrinfo/getnameinfo,
//!   `/etc/netgroup`, RFC 931 ident) and file reading helpers.
//!
//! ```
//! use std::net::SocketAddr;
//! use picket_tcpwrap::{hosts_access, DryRun, Request, Settings, StaticResolver, Table, Tables};
//!
//! let tables = Tables {
//!     allow: Table::parse("hosts.allow", b"ALL: 127.0.0.1\n"),
//!     deny: Table::parse("hosts.deny", b"ALL: ALL: spawn /usr/local/bin/alert %h %d\n"),
//! };
//! let client: SocketAddr = "127.0.0.2:40000".parse().unwrap();
//! let server: SocketAddr = "127.0.0.1:23".parse().unwrap();
//! let mut req = Request::tcp("in.telnetd", client, server);
//! let verdict = hosts_access(&tables, &mut req, &mut StaticResolver::new(), &mut DryRun, Settings::default());
//! assert!(!verdict.is_granted());
//! ```

#![forbid(unsafe_code)]

pub mod access;
pub mod addr;
pub mod diag;
pub mod effects;
pub mod event;
pub mod expand;
pub mod options;
pub mod pattern;
pub mod request;
pub mod system;
pub mod table;

pub use access::{
    Access, Cause, Matched, OptionsOutcome, Settings, Tables, Verdict, hosts_access, run_options,
};
pub use diag::{Diagnostics, Level, LogLine};
pub use effects::{BannerRead, DryRun, Effects, FileRead, Recorder};
pub use event::{AccessEvent, EventKind};
pub use expand::{percent_x, sanitize};
pub use options::Severity;
pub use request::{Family, Forward, HostInfo, Request, Resolver, Side, StaticResolver};
pub use table::{Entry, Rule, Table, TableKind, TableState};

/// Default IDENT timeout in seconds (`RFC931_TIMEOUT` in Debian's build).
pub const RFC931_TIMEOUT: u32 = 10;
