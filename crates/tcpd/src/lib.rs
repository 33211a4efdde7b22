//! Shared code of the `tcpd`, `tcpdmatch` and `tcpdchk` binaries (the I/O shell around
//! the sans-I/O `tcpwrap` crate).

pub mod chktool;
pub mod common;
pub mod inetcf;
pub mod matchtool;
pub mod wrapper;
