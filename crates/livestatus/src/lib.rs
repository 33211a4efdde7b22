//! Livestatus (the query language of MK Livestatus, naemon-livestatus and Icinga 2's
//! feature), without I/O.
//!
//! * [`parse_request`]: the text of one request (first line plus `Name: value` headers,
//!   up to the empty line) to a typed [`Request`]; errors carry the Livestatus status
//!   code (400, 403, 404, 413, 451, 452) and a message naming the header.
//! * [`Table`] / [`Row`]: what a table layer implements: columns by name with a type,
//!   rows that answer a column by index with a [`Value`].
//! * [`execute`]: filters, stats (with group-by), sort, offset, limit, `AuthUser`
//!   visibility, `Localtime` shift, over a table; then [`render`] in the query's
//!   `OutputFormat` and [`frame`] with the `ResponseHeader: fixed16` header.
//!
//! Semantics follow naemon-livestatus: unknown columns are dummies (output `""`, a
//! filter on them matches nothing), string matching is unanchored, `>=` on a list means
//! "contains", `=`/`!=` with an empty value on a list mean empty/non-empty, `>=` is
//! `!<` and `<=` is `!>`. Regexes use the `regex` crate (RE2 syntax, a superset of
//! POSIX ERE for what clients send; no back-references), and `{n,m}` is accepted.
#![forbid(unsafe_code)]

mod eval;
mod render;
mod request;
mod value;

pub use eval::{Executed, Row, ScanHint, Table, execute, wait_satisfied};
pub use render::{frame, render, render_error};
pub use request::{
    Aggregate, Filter, Op, OutputFormat, Parsed, Query, Request, RequestError, Separators, Stat,
    parse_request,
};
pub use value::{ColumnDef, ColumnType, Value};

/// Livestatus status codes (`ResponseHeader: fixed16`).
pub mod code {
    /// OK.
    pub const OK: u16 = 200;
    /// Invalid request header.
    pub const BAD_REQUEST: u16 = 400;
    /// Unauthorized.
    pub const UNAUTHORIZED: u16 = 403;
    /// Table not found.
    pub const NOT_FOUND: u16 = 404;
    /// Response too large or time limit exceeded.
    pub const LIMIT_EXCEEDED: u16 = 413;
    /// Incomplete request (the connection ended inside it).
    pub const INCOMPLETE: u16 = 451;
    /// Invalid request (method).
    pub const INVALID: u16 = 452;
}
