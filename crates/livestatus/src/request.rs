//! Request text to a typed [`Request`].

use crate::code;

/// A comparison operator, without its `!` prefix (see [`Filter::Cmp::negate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Equal,
    /// `=~`: case-insensitive equality.
    EqualIcase,
    /// `~`: regex (unanchored).
    Match,
    /// `~~`: case-insensitive regex.
    MatchIcase,
    /// `<`.
    Less,
    /// `>`.
    Greater,
    /// `>=` (written as such; Livestatus evaluates it as `!<`, and on lists as "contains").
    GreaterEqual,
    /// `<=` (`!>`).
    LessEqual,
}

impl Op {
    /// Parse an operator with its optional `!` prefix: `(op, negated)`.
    pub fn parse(s: &str) -> Option<(Op, bool)> {
        let (neg, s) = match s.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let op = match s {
            "=" => Op::Equal,
            "=~" => Op::EqualIcase,
            "~" => Op::Match,
            "~~" => Op::MatchIcase,
            "<" => Op::Less,
            ">" => Op::Greater,
            ">=" => Op::GreaterEqual,
            "<=" => Op::LessEqual,
            _ => return None,
        };
        Some((op, neg))
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equal => "=",
            Op::EqualIcase => "=~",
            Op::Match => "~",
            Op::MatchIcase => "~~",
            Op::Less => "<",
            Op::Greater => ">",
            Op::GreaterEqual => ">=",
            Op::LessEqual => "<=",
        }
    }
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `column op value`.
    Cmp {
        /// Column name.
        column: String,
        /// Operator.
        op: Op,
        /// `!` prefix.
        negate: bool,
        /// The value as written (may be empty).
        value: String,
    },
    /// All of these (`And: n`; `And: 0` is true).
    And(Vec<Filter>),
    /// Any of these (`Or: 0` is false).
    Or(Vec<Filter>),
    /// `Negate:`.
    Not(Box<Filter>),
}

impl Filter {
    /// The always-true filter.
    pub fn all() -> Filter {
        Filter::And(Vec::new())
    }
}

/// An aggregation function of `Stats:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `sum`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `avg`.
    Avg,
    /// `std` (standard deviation, population).
    Std,
    /// `suminv`: sum of 1/x.
    SumInv,
    /// `avginv`: average of 1/x.
    AvgInv,
}

impl Aggregate {
    fn parse(s: &str) -> Option<Aggregate> {
        Some(match s {
            "sum" => Aggregate::Sum,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "avg" => Aggregate::Avg,
            "std" => Aggregate::Std,
            "suminv" => Aggregate::SumInv,
            "avginv" => Aggregate::AvgInv,
            _ => return None,
        })
    }
}

/// One `Stats:` column.
#[derive(Debug, Clone, PartialEq)]
pub enum Stat {
    /// Count the rows matching the filter.
    Count(Filter),
    /// Aggregate a numeric column.
    Aggregate(Aggregate, String),
}

/// `OutputFormat:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// `csv` (the default), with [`Separators`].
    #[default]
    Csv,
    /// `json`.
    Json,
    /// `wrapped_json`: `{"columns":…,"data":…,"total_count":N}`.
    WrappedJson,
    /// `python`: strings as `u"…"`, null as `None`.
    Python,
    /// `python3`: strings as `"…"`, null as `None`.
    Python3,
}

/// `Separators: dataset field list host-service` (decimal byte values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    /// Between rows (`\n`).
    pub dataset: u8,
    /// Between fields (`;`).
    pub field: u8,
    /// Between list elements (`,`).
    pub list: u8,
    /// Between host and service of a pair (`|`).
    pub host_service: u8,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            dataset: b'\n',
            field: b';',
            list: b',',
            host_service: b'|',
        }
    }
}

/// A `GET` query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// The table.
    pub table: String,
    /// `Columns:` (and `StatsGroupBy:`), in order; empty means all.
    pub columns: Vec<String>,
    /// The filter (an `And` of what is left on the stack).
    pub filter: Option<Filter>,
    /// `Stats:`.
    pub stats: Vec<Stat>,
    /// `Limit:`.
    pub limit: Option<usize>,
    /// `Offset:`.
    pub offset: usize,
    /// `Sort: col [asc|desc]`: `(column, descending)`.
    pub sort: Vec<(String, bool)>,
    /// `OutputFormat:`.
    pub output_format: OutputFormat,
    /// `ColumnHeaders:` as sent.
    pub column_headers: Option<bool>,
    /// `Separators:`.
    pub separators: Separators,
    /// `Localtime:` (the client's clock).
    pub localtime: Option<i64>,
    /// `AuthUser:`.
    pub auth_user: Option<String>,
    /// `WaitObject:`.
    pub wait_object: Option<String>,
    /// `WaitCondition:` (an `And` of what is left on its stack).
    pub wait_condition: Option<Filter>,
    /// `WaitTrigger:`.
    pub wait_trigger: Option<String>,
    /// `WaitTimeout:` in milliseconds (0: no limit, as naemon).
    pub wait_timeout_ms: Option<u64>,
    /// `Timelimit:` in seconds.
    pub timelimit: Option<u64>,
}

impl Query {
    /// Whether a header row is output: `ColumnHeaders:` if sent, else on only when there
    /// is neither `Columns:` nor `Stats:`.
    pub fn headers(&self) -> bool {
        self.column_headers
            .unwrap_or(self.columns.is_empty() && self.stats.is_empty())
    }
}

/// A request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `GET table` with its headers.
    Get(Box<Query>),
    /// `COMMAND [ts] NAME;args`: the text after `COMMAND `.
    Command(String),
    /// `LOGROTATE`.
    LogRotate,
}

/// A request that cannot be answered, with what framing the client asked for (so the
/// error can be sent the way it expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// Livestatus status code ([`crate::code`]).
    pub code: u16,
    /// The message (the response body).
    pub message: String,
    /// `ResponseHeader: fixed16` was among the headers.
    pub fixed16: bool,
    /// `KeepAlive: on` was among the headers.
    pub keepalive: bool,
}

/// What [`parse_request`] returns: the request (or error) and its framing.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The request.
    pub request: Request,
    /// `ResponseHeader: fixed16`.
    pub fixed16: bool,
    /// `KeepAlive: on` (or a `COMMAND`, which naemon treats as keep-alive).
    pub keepalive: bool,
}

fn err(code: u16, message: impl Into<String>) -> (u16, String) {
    (code, message.into())
}

fn parse_count(name: &str, v: &str) -> Result<usize, (u16, String)> {
    v.trim().parse::<usize>().map_err(|_| {
        err(
            code::BAD_REQUEST,
            format!("{name}: expected a non-negative integer, got '{v}'"),
        )
    })
}

fn parse_filter_line(header: &str, v: &str) -> Result<Filter, (u16, String)> {
    let v = v.trim_start();
    let (column, rest) = v.split_once(' ').unwrap_or((v, ""));
    if column.is_empty() {
        return Err(err(
            code::BAD_REQUEST,
            format!("{header}: empty filter line (expected 'column operator value')"),
        ));
    }
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(' ').unwrap_or((rest, ""));
    if op.is_empty() {
        return Err(err(
            code::BAD_REQUEST,
            format!("{header}: missing operator after '{column}'"),
        ));
    }
    let Some((op, negate)) = Op::parse(op) else {
        return Err(err(
            code::BAD_REQUEST,
            format!("{header}: invalid operator '{op}'"),
        ));
    };
    Ok(Filter::Cmp {
        column: column.to_owned(),
        op,
        negate,
        value: value.to_owned(),
    })
}

fn combine(
    stack: &mut Vec<Filter>,
    header: &str,
    n: usize,
    and: bool,
) -> Result<(), (u16, String)> {
    if n > stack.len() {
        return Err(err(
            code::BAD_REQUEST,
            format!(
                "{header}: cannot combine {n} filters, only {} on the stack",
                stack.len()
            ),
        ));
    }
    let parts = stack.split_off(stack.len() - n);
    stack.push(if and {
        Filter::And(parts)
    } else {
        Filter::Or(parts)
    });
    Ok(())
}

fn negate_top(stack: &mut Vec<Filter>, header: &str) -> Result<(), (u16, String)> {
    match stack.pop() {
        Some(f) => {
            stack.push(Filter::Not(Box::new(f)));
            Ok(())
        }
        None => Err(err(
            code::BAD_REQUEST,
            format!("{header}: no filter to negate"),
        )),
    }
}

fn bool_header(name: &str, v: &str) -> Result<bool, (u16, String)> {
    match v.trim() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(err(
            code::BAD_REQUEST,
            format!("{name}: expected 'on' or 'off', got '{other}'"),
        )),
    }
}

fn and_of(mut stack: Vec<Filter>) -> Option<Filter> {
    match stack.len() {
        0 => None,
        1 => stack.pop(),
        _ => Some(Filter::And(stack)),
    }
}

/// Parse one request: its first line and header lines (lines end with `\n`; a trailing
/// `\r` is ignored; parsing stops at the first empty line). The framing
/// (`ResponseHeader:`, `KeepAlive:`) is known even when the request is refused.
pub fn parse_request(text: &str) -> Result<Parsed, RequestError> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or("");
    let headers: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
    // Framing first, so that every error goes out the way the client reads.
    let mut fixed16 = false;
    let mut keepalive = false;
    for h in &headers {
        if let Some((name, v)) = h.split_once(':') {
            match name {
                "ResponseHeader" => fixed16 = v.trim() == "fixed16",
                "KeepAlive" => keepalive = v.trim() == "on",
                _ => {}
            }
        }
    }
    let fail = |(code, message): (u16, String)| RequestError {
        code,
        message,
        fixed16,
        keepalive,
    };
    if let Some(rest) = first.strip_prefix("COMMAND ") {
        return Ok(Parsed {
            request: Request::Command(rest.to_owned()),
            fixed16,
            keepalive: true,
        });
    }
    if first == "LOGROTATE" {
        return Ok(Parsed {
            request: Request::LogRotate,
            fixed16,
            keepalive,
        });
    }
    let Some(table) = first.strip_prefix("GET ") else {
        let shown: String = first.chars().take(80).collect();
        return Err(fail(err(
            code::INVALID,
            format!("Invalid request method '{}'", shown.escape_default()),
        )));
    };
    let mut q = Query {
        table: table.trim().to_owned(),
        ..Query::default()
    };
    if q.table.is_empty() {
        return Err(fail(err(code::INVALID, "GET: missing table name")));
    }
    let mut filters: Vec<Filter> = Vec::new();
    let mut wait: Vec<Filter> = Vec::new();
    let mut stats: Vec<Stat> = Vec::new();
    for h in headers {
        let Some((name, v)) = h.split_once(':') else {
            let shown: String = h.chars().take(80).collect();
            return Err(fail(err(
                code::BAD_REQUEST,
                format!(
                    "Invalid header line '{}' (expected 'Name: value')",
                    shown.escape_default()
                ),
            )));
        };
        let v = v.strip_prefix(' ').unwrap_or(v);
        match name {
            "Filter" => filters.push(parse_filter_line(name, v).map_err(fail)?),
            "And" => combine(
                &mut filters,
                name,
                parse_count(name, v).map_err(fail)?,
                true,
            )
            .map_err(fail)?,
            "Or" => combine(
                &mut filters,
                name,
                parse_count(name, v).map_err(fail)?,
                false,
            )
            .map_err(fail)?,
            "Negate" => negate_top(&mut filters, name).map_err(fail)?,
            "WaitCondition" => wait.push(parse_filter_line(name, v).map_err(fail)?),
            "WaitConditionAnd" => {
                combine(&mut wait, name, parse_count(name, v).map_err(fail)?, true).map_err(fail)?
            }
            "WaitConditionOr" => {
                combine(&mut wait, name, parse_count(name, v).map_err(fail)?, false)
                    .map_err(fail)?
            }
            "WaitConditionNegate" => negate_top(&mut wait, name).map_err(fail)?,
            "Stats" => {
                let t = v.trim();
                let (first_word, rest) = t.split_once(' ').unwrap_or((t, ""));
                match Aggregate::parse(first_word) {
                    Some(a) if !rest.trim().is_empty() && !rest.trim().contains(' ') => {
                        stats.push(Stat::Aggregate(a, rest.trim().to_owned()))
                    }
                    _ => stats.push(Stat::Count(parse_filter_line(name, v).map_err(fail)?)),
                }
            }
            "StatsAnd" | "StatsOr" => {
                let n = parse_count(name, v).map_err(fail)?;
                if n > stats.len() {
                    return Err(fail(err(
                        code::BAD_REQUEST,
                        format!(
                            "{name}: cannot combine {n} stats, only {} given",
                            stats.len()
                        ),
                    )));
                }
                let parts = stats.split_off(stats.len() - n);
                let mut fs = Vec::with_capacity(n);
                for p in parts {
                    match p {
                        Stat::Count(f) => fs.push(f),
                        Stat::Aggregate(..) => {
                            return Err(fail(err(
                                code::BAD_REQUEST,
                                format!(
                                    "{name}: can only combine counting stats, not an aggregation"
                                ),
                            )));
                        }
                    }
                }
                stats.push(Stat::Count(if name == "StatsAnd" {
                    Filter::And(fs)
                } else {
                    Filter::Or(fs)
                }));
            }
            "StatsNegate" => match stats.pop() {
                Some(Stat::Count(f)) => stats.push(Stat::Count(Filter::Not(Box::new(f)))),
                Some(Stat::Aggregate(..)) => {
                    return Err(fail(err(
                        code::BAD_REQUEST,
                        "StatsNegate: can only negate a counting stat, not an aggregation",
                    )));
                }
                None => {
                    return Err(fail(err(
                        code::BAD_REQUEST,
                        "StatsNegate: no stats to negate",
                    )));
                }
            },
            "Columns" | "StatsGroupBy" => {
                q.columns.extend(v.split_whitespace().map(str::to_owned));
            }
            "ColumnHeaders" => q.column_headers = Some(bool_header(name, v).map_err(fail)?),
            "Limit" => q.limit = Some(parse_count(name, v).map_err(fail)?),
            "Offset" => q.offset = parse_count(name, v).map_err(fail)?,
            "Sort" => {
                let mut it = v.split_whitespace();
                let Some(col) = it.next() else {
                    return Err(fail(err(code::BAD_REQUEST, "Sort: missing column name")));
                };
                let desc = match it.next() {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(o) => {
                        return Err(fail(err(
                            code::BAD_REQUEST,
                            format!("Sort: expected 'asc' or 'desc', got '{o}'"),
                        )));
                    }
                };
                q.sort.push((col.to_owned(), desc));
            }
            "OutputFormat" => {
                q.output_format = match v.trim() {
                    "csv" | "CSV" => OutputFormat::Csv,
                    "json" => OutputFormat::Json,
                    "wrapped_json" => OutputFormat::WrappedJson,
                    "python" => OutputFormat::Python,
                    "python3" => OutputFormat::Python3,
                    o => {
                        return Err(fail(err(
                            code::BAD_REQUEST,
                            format!(
                                "OutputFormat: invalid output format '{o}' (csv, json, wrapped_json, python, python3)"
                            ),
                        )));
                    }
                }
            }
            "Separators" => {
                let parts: Vec<&str> = v.split_whitespace().collect();
                let mut bytes = [0u8; 4];
                if parts.len() != 4 {
                    return Err(fail(err(
                        code::BAD_REQUEST,
                        "Separators: expected four decimal byte values (dataset field list host-service)",
                    )));
                }
                for (b, p) in bytes.iter_mut().zip(&parts) {
                    *b = p.parse::<u8>().map_err(|_| {
                        fail(err(
                            code::BAD_REQUEST,
                            format!("Separators: '{p}' is not a byte value (0-255)"),
                        ))
                    })?;
                }
                q.separators = Separators {
                    dataset: bytes[0],
                    field: bytes[1],
                    list: bytes[2],
                    host_service: bytes[3],
                };
            }
            "ResponseHeader" => match v.trim() {
                "fixed16" | "off" => {}
                o => {
                    return Err(fail(err(
                        code::BAD_REQUEST,
                        format!("ResponseHeader: expected 'fixed16' or 'off', got '{o}'"),
                    )));
                }
            },
            "KeepAlive" => {
                bool_header(name, v).map_err(fail)?;
            }
            "Localtime" => {
                let t = v.trim().parse::<i64>().map_err(|_| {
                    fail(err(
                        code::BAD_REQUEST,
                        format!("Localtime: expected seconds since the epoch, got '{v}'"),
                    ))
                })?;
                q.localtime = Some(t);
            }
            "AuthUser" => q.auth_user = Some(v.trim().to_owned()),
            "WaitObject" => q.wait_object = Some(v.trim().to_owned()),
            "WaitTrigger" => {
                let t = v.trim();
                const TRIGGERS: [&str; 8] = [
                    "all", "check", "state", "log", "downtime", "comment", "command", "program",
                ];
                if !TRIGGERS.contains(&t) {
                    return Err(fail(err(
                        code::BAD_REQUEST,
                        format!(
                            "WaitTrigger: invalid trigger '{t}' ({})",
                            TRIGGERS.join(", ")
                        ),
                    )));
                }
                q.wait_trigger = Some(t.to_owned());
            }
            "WaitTimeout" => {
                q.wait_timeout_ms = Some(parse_count(name, v).map_err(fail)? as u64);
            }
            "Timelimit" => q.timelimit = Some(parse_count(name, v).map_err(fail)? as u64),
            // Header names other implementations send and that change nothing here.
            "Backends" | "Cache" => {}
            other => {
                let shown: String = other.chars().take(80).collect();
                return Err(fail(err(
                    code::BAD_REQUEST,
                    format!("Undefined request header '{}'", shown.escape_default()),
                )));
            }
        }
    }
    q.filter = and_of(filters);
    q.wait_condition = and_of(wait);
    q.stats = stats;
    Ok(Parsed {
        request: Request::Get(Box::new(q)),
        fixed16,
        keepalive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(text: &str) -> Query {
        match parse_request(text).expect("parses").request {
            Request::Get(q) => *q,
            other => panic!("not a GET: {other:?}"),
        }
    }

    #[test]
    fn filters_stack_and_combine() {
        let q = get(
            "GET services\nFilter: state = 2\nFilter: state = 3\nOr: 2\nNegate:\nFilter: childs !=\n\n",
        );
        let Some(Filter::And(parts)) = q.filter else {
            panic!("expected an And")
        };
        assert_eq!(parts.len(), 2);
        assert!(
            matches!(&parts[0], Filter::Not(b) if matches!(**b, Filter::Or(ref v) if v.len() == 2))
        );
        assert_eq!(
            parts[1],
            Filter::Cmp {
                column: "childs".into(),
                op: Op::Equal,
                negate: true,
                value: String::new()
            }
        );
    }

    #[test]
    fn every_operator_parses() {
        for (s, op, neg) in [
            ("=", Op::Equal, false),
            ("!=", Op::Equal, true),
            ("<", Op::Less, false),
            (">", Op::Greater, false),
            ("<=", Op::LessEqual, false),
            (">=", Op::GreaterEqual, false),
            ("~", Op::Match, false),
            ("~~", Op::MatchIcase, false),
            ("=~", Op::EqualIcase, false),
            ("!~", Op::Match, true),
            ("!~~", Op::MatchIcase, true),
            ("!=~", Op::EqualIcase, true),
        ] {
            assert_eq!(Op::parse(s), Some((op, neg)), "{s}");
        }
        assert_eq!(Op::parse("=="), None);
        let e = parse_request("GET hosts\nFilter: name == x\n\n").unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.contains("'=='"), "{}", e.message);
    }

    #[test]
    fn stats_and_combinations() {
        let q = get(
            "GET hosts\nStats: state = 0\nStats: state = 1\nStatsOr: 2\nStatsNegate:\nStats: sum latency\nStats: avg execution_time\n\n",
        );
        assert_eq!(q.stats.len(), 3);
        assert!(matches!(&q.stats[0], Stat::Count(Filter::Not(_))));
        assert_eq!(
            q.stats[1],
            Stat::Aggregate(Aggregate::Sum, "latency".into())
        );
        let e = parse_request("GET hosts\nStats: min latency\nStatsNegate:\n\n").unwrap_err();
        assert_eq!(e.code, 400);
        // "Stats: sum = 1" is a count filter on a column called "sum".
        let q = get("GET hosts\nStats: sum = 1\n\n");
        assert!(matches!(&q.stats[0], Stat::Count(Filter::Cmp { column, .. }) if column == "sum"));
        // StatsAnd: 0 is a count of every row.
        let q = get("GET hosts\nStatsAnd: 0\n\n");
        assert_eq!(q.stats, vec![Stat::Count(Filter::And(vec![]))]);
    }

    #[test]
    fn framing_is_known_even_on_error() {
        let e = parse_request("GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nBogus: 1\n\n")
            .unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(e.message, "Undefined request header 'Bogus'");
        assert!(e.fixed16 && e.keepalive);
        let e = parse_request("PUT hosts\n\n").unwrap_err();
        assert_eq!(e.code, 452);
        let e = parse_request("GET hosts\nAnd: 2\nFilter: a = 1\n").unwrap_err();
        assert_eq!(e.code, 400);
    }

    #[test]
    fn columns_accumulate_and_headers_default() {
        let q = get("GET servicesbyhostgroup\nColumns: description\nColumns: hostgroup_name\n\n");
        assert_eq!(q.columns, vec!["description", "hostgroup_name"]);
        assert!(!q.headers());
        assert!(get("GET hosts\n").headers());
        assert!(!get("GET hosts\nStats: state = 0\n").headers());
        assert!(get("GET hosts\nColumns: name\nColumnHeaders: on\n").headers());
    }

    #[test]
    fn other_headers() {
        let q = get(
            "GET log\r\nLimit: 10\r\nOffset: 5\r\nSort: time desc\r\nSort: host_name\r\nOutputFormat: wrapped_json\r\nSeparators: 10 9 44 124\r\nLocaltime: 1700000000\r\nAuthUser: alice\r\nWaitObject: h1;svc\r\nWaitCondition: state = 2\r\nWaitTrigger: state\r\nWaitTimeout: 5000\r\nTimelimit: 3\r\n\r\n",
        );
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset, 5);
        assert_eq!(
            q.sort,
            vec![("time".into(), true), ("host_name".into(), false)]
        );
        assert_eq!(q.output_format, OutputFormat::WrappedJson);
        assert_eq!(q.separators.field, b'\t');
        assert_eq!(q.localtime, Some(1_700_000_000));
        assert_eq!(q.auth_user.as_deref(), Some("alice"));
        assert_eq!(q.wait_object.as_deref(), Some("h1;svc"));
        assert!(q.wait_condition.is_some());
        assert_eq!(q.wait_trigger.as_deref(), Some("state"));
        assert_eq!(q.wait_timeout_ms, Some(5000));
        assert_eq!(q.timelimit, Some(3));
        let p = parse_request("COMMAND [1] DISABLE_NOTIFICATIONS\n").expect("command");
        assert_eq!(
            p.request,
            Request::Command("[1] DISABLE_NOTIFICATIONS".into())
        );
        assert!(p.keepalive);
        assert_eq!(
            parse_request("GET hosts\nOutputFormat: xml\n")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            parse_request("GET hosts\nWaitTrigger: nope\n")
                .unwrap_err()
                .code,
            400
        );
    }
}
