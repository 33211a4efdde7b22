//! Query evaluation over a [`Table`].

use std::cmp::Ordering;
use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};

use crate::code;
use crate::render::Writer;
use crate::request::{Aggregate, Filter, Op, Query, Stat};
use crate::value::{ColumnDef, ColumnType, Value};

/// One row of a table.
pub trait Row {
    /// The value of column `column` (an index into [`Table::columns`]).
    fn value(&self, column: usize) -> Value;
    /// Whether the contact `user` (`AuthUser:`) may see this row. Tables without
    /// authorization keep the default.
    fn visible_to(&self, _user: &str) -> bool {
        true
    }
}

/// What [`execute`] tells a table before the scan, for it to skip rows it knows no
/// filter can match (the `log` table reads only this time range).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanHint {
    /// Every row must have `time >= time_min`.
    pub time_min: Option<i64>,
    /// Every row must have `time <= time_max`.
    pub time_max: Option<i64>,
}

/// A table: its columns and its rows.
pub trait Table {
    /// The columns, in the order a query without `Columns:` outputs them.
    fn columns(&self) -> &[ColumnDef];
    /// Call `f` for every row (a hint says which rows cannot match; ignoring it is
    /// correct, only slower).
    fn scan(&self, hint: &ScanHint, f: &mut dyn FnMut(&dyn Row));
    /// The filter selecting `WaitObject:`'s row (e.g. `name = x`), `None` when the
    /// table has no such objects.
    fn object_filter(&self, _object: &str) -> Option<Filter> {
        None
    }
}

/// A response body with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// The body in the query's output format.
    pub body: Vec<u8>,
    /// Rows before `Offset:`/`Limit:`.
    pub total_count: usize,
}

type Fail = (u16, String);

fn bad(msg: String) -> Fail {
    (code::BAD_REQUEST, msg)
}

enum Test {
    Int(Op, i64),
    Float(Op, f64),
    StrEq(String),
    StrEqIcase(String),
    Regex(Regex),
    StrCmp(Op, String),
    ListContains(String),
    ListEmpty,
    ListRegex(Regex),
    ListEqIcase(String),
}

enum Compiled {
    Const(bool),
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    Not(Box<Compiled>),
    Cmp {
        col: usize,
        test: Test,
        negate: bool,
    },
}

fn regex(value: &str, icase: bool, column: &str) -> Result<Regex, Fail> {
    RegexBuilder::new(value)
        .case_insensitive(icase)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            bad(format!(
                "invalid regular expression '{value}' for column '{column}': {}",
                e.to_string().lines().last().unwrap_or("")
            ))
        })
}

fn ordered(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Equal => ord == Ordering::Equal,
        Op::Less => ord == Ordering::Less,
        Op::Greater => ord == Ordering::Greater,
        Op::GreaterEqual => ord != Ordering::Less,
        Op::LessEqual => ord != Ordering::Greater,
        _ => false,
    }
}

struct Ctx<'a> {
    columns: &'a [ColumnDef],
    tz_offset: i64,
}

impl Ctx<'_> {
    fn find(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    fn compile(&self, f: &Filter) -> Result<Compiled, Fail> {
        Ok(match f {
            Filter::And(v) => Compiled::And(
                v.iter()
                    .map(|f| self.compile(f))
                    .collect::<Result<_, _>>()?,
            ),
            Filter::Or(v) => Compiled::Or(
                v.iter()
                    .map(|f| self.compile(f))
                    .collect::<Result<_, _>>()?,
            ),
            Filter::Not(f) => Compiled::Not(Box::new(self.compile(f)?)),
            Filter::Cmp {
                column,
                op,
                negate,
                value,
            } => {
                let Some(col) = self.find(column) else {
                    // naemon's dummy column: the filter matches nothing (negated: all).
                    return Ok(Compiled::Const(*negate));
                };
                let kind = self.columns[col].kind;
                let unsupported = || {
                    bad(format!(
                        "operator '{}' is not implemented for {} column '{column}'",
                        op.as_str(),
                        kind.as_str()
                    ))
                };
                let test = match kind {
                    ColumnType::Int | ColumnType::Time => {
                        let mut v = crate::value::atoi(value);
                        if kind == ColumnType::Time {
                            v = v.saturating_sub(self.tz_offset);
                        }
                        match op {
                            Op::Equal
                            | Op::Less
                            | Op::Greater
                            | Op::GreaterEqual
                            | Op::LessEqual => Test::Int(*op, v),
                            _ => return Err(unsupported()),
                        }
                    }
                    ColumnType::Float => match op {
                        Op::Equal | Op::Less | Op::Greater | Op::GreaterEqual | Op::LessEqual => {
                            Test::Float(*op, crate::value::atof(value))
                        }
                        _ => return Err(unsupported()),
                    },
                    ColumnType::String => match op {
                        Op::Equal => Test::StrEq(value.clone()),
                        Op::EqualIcase => Test::StrEqIcase(value.to_lowercase()),
                        Op::Match => Test::Regex(regex(value, false, column)?),
                        Op::MatchIcase => Test::Regex(regex(value, true, column)?),
                        _ => Test::StrCmp(*op, value.clone()),
                    },
                    ColumnType::List => match op {
                        Op::GreaterEqual => Test::ListContains(value.clone()),
                        // `<` is "does not contain".
                        Op::Less => {
                            return Ok(Compiled::Cmp {
                                col,
                                test: Test::ListContains(value.clone()),
                                negate: !*negate,
                            });
                        }
                        Op::Equal if value.is_empty() => Test::ListEmpty,
                        Op::Equal => {
                            return Err(bad(format!(
                                "equality on list column '{column}' is only implemented for emptiness (an empty value)"
                            )));
                        }
                        Op::Match => Test::ListRegex(regex(value, false, column)?),
                        Op::MatchIcase => Test::ListRegex(regex(value, true, column)?),
                        Op::EqualIcase => Test::ListEqIcase(value.to_lowercase()),
                        _ => return Err(unsupported()),
                    },
                };
                Compiled::Cmp {
                    col,
                    test,
                    negate: *negate,
                }
            }
        })
    }
}

fn list_items(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(Value::text).collect(),
        Value::Null => Vec::new(),
        other => vec![other.text()],
    }
}

fn test(t: &Test, v: &Value) -> bool {
    match t {
        Test::Int(op, x) => ordered(*op, v.as_i64().cmp(x)),
        Test::Float(op, x) => v.as_f64().partial_cmp(x).is_some_and(|o| ordered(*op, o)),
        Test::StrEq(s) => match v {
            Value::Str(t) => t == s,
            other => other.text() == *s,
        },
        Test::StrEqIcase(s) => v.text().to_lowercase() == *s,
        Test::Regex(r) => match v {
            Value::Str(t) => r.is_match(t),
            other => r.is_match(&other.text()),
        },
        Test::StrCmp(op, s) => ordered(*op, v.text().as_str().cmp(s.as_str())),
        Test::ListContains(s) => match v {
            Value::List(l) => l.iter().any(|e| match e {
                Value::Str(t) => t == s,
                other => other.text() == *s,
            }),
            other => list_items(other).iter().any(|e| e == s),
        },
        Test::ListEmpty => match v {
            Value::List(l) => l.is_empty(),
            other => list_items(other).is_empty(),
        },
        Test::ListRegex(r) => list_items(v).iter().any(|e| r.is_match(e)),
        Test::ListEqIcase(s) => list_items(v).iter().any(|e| e.to_lowercase() == *s),
    }
}

fn matches(f: &Compiled, row: &dyn Row) -> bool {
    match f {
        Compiled::Const(b) => *b,
        Compiled::And(v) => v.iter().all(|f| matches(f, row)),
        Compiled::Or(v) => v.iter().any(|f| matches(f, row)),
        Compiled::Not(f) => !matches(f, row),
        Compiled::Cmp {
            col,
            test: t,
            negate,
        } => test(t, &row.value(*col)) != *negate,
    }
}

/// `Localtime:`: the client's clock minus ours, rounded to half hours.
fn tz_offset(q: &Query, now: i64) -> Result<i64, Fail> {
    let Some(lt) = q.localtime else { return Ok(0) };
    let diff = lt.saturating_sub(now);
    let half = 1800;
    let rounded = (diff + diff.signum() * half / 2) / half * half;
    if rounded.abs() >= 86_400 {
        return Err(bad(format!(
            "Localtime: the client's clock differs from the server's by {diff} s: 24 hours or more"
        )));
    }
    Ok(rounded)
}

/// Time bounds of the top-level `And` of a filter on column `time`.
fn hint(f: Option<&Filter>, tz: i64) -> ScanHint {
    let mut h = ScanHint::default();
    fn walk(f: &Filter, h: &mut ScanHint, tz: i64) {
        match f {
            Filter::And(v) => v.iter().for_each(|f| walk(f, h, tz)),
            Filter::Cmp {
                column,
                op,
                negate: false,
                value,
            } if column == "time" => {
                let v = crate::value::atoi(value).saturating_sub(tz);
                let (lo, hi) = match op {
                    Op::GreaterEqual => (Some(v), None),
                    Op::Greater => (Some(v.saturating_add(1)), None),
                    Op::LessEqual => (None, Some(v)),
                    Op::Less => (None, Some(v.saturating_sub(1))),
                    Op::Equal => (Some(v), Some(v)),
                    _ => (None, None),
                };
                if let Some(lo) = lo {
                    h.time_min = Some(h.time_min.map_or(lo, |m| m.max(lo)));
                }
                if let Some(hi) = hi {
                    h.time_max = Some(h.time_max.map_or(hi, |m| m.min(hi)));
                }
            }
            _ => {}
        }
    }
    if let Some(f) = f {
        walk(f, &mut h, tz);
    }
    h
}

#[derive(Clone)]
struct Acc {
    count: u64,
    sum: f64,
    sumsq: f64,
    suminv: f64,
    min: f64,
    max: f64,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            count: 0,
            sum: 0.0,
            sumsq: 0.0,
            suminv: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn add(&mut self, x: f64) {
        self.count += 1;
        self.sum += x;
        self.sumsq += x * x;
        if x != 0.0 {
            self.suminv += 1.0 / x;
        }
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn output(&self, a: Aggregate, integral: bool) -> Value {
        let n = self.count as f64;
        let int_or_float = |x: f64| {
            if integral {
                Value::Int(x as i64)
            } else {
                Value::Float(x)
            }
        };
        match a {
            Aggregate::Sum => int_or_float(self.sum),
            Aggregate::Min => int_or_float(if self.count == 0 { 0.0 } else { self.min }),
            Aggregate::Max => int_or_float(if self.count == 0 { 0.0 } else { self.max }),
            Aggregate::Avg => Value::Float(if self.count == 0 { 0.0 } else { self.sum / n }),
            Aggregate::Std => Value::Float(if self.count == 0 {
                0.0
            } else {
                (self.sumsq / n - (self.sum / n).powi(2)).max(0.0).sqrt()
            }),
            Aggregate::SumInv => Value::Float(self.suminv),
            Aggregate::AvgInv => Value::Float(if self.count == 0 {
                0.0
            } else {
                self.suminv / n
            }),
        }
    }
}

/// A group of `Stats:` rows: the group's values, counters, accumulators.
type Group = (Vec<Value>, Vec<u64>, Vec<Acc>);

enum CStat {
    Count(Compiled),
    Agg(Aggregate, Option<usize>, bool),
}

fn shift(v: Value, tz: i64) -> Value {
    match v {
        Value::Time(t) if tz != 0 && t != 0 => Value::Time(t.saturating_add(tz)),
        other => other,
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x) | Value::Time(x), Value::Int(y) | Value::Time(y)) => x.cmp(y),
        (Value::Float(_), _) | (_, Value::Float(_)) => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        _ => a.text().cmp(&b.text()),
    }
}

/// Evaluate `q` over `table` at `now` (for `Localtime:`): the rendered body, or an error
/// code and message.
pub fn execute(table: &dyn Table, q: &Query, now: i64) -> Result<Executed, (u16, String)> {
    let cols = table.columns();
    let tz = tz_offset(q, now)?;
    let ctx = Ctx {
        columns: cols,
        tz_offset: tz,
    };
    let filter = q.filter.as_ref().map(|f| ctx.compile(f)).transpose()?;
    let out_names: Vec<String> = if q.columns.is_empty() && q.stats.is_empty() {
        cols.iter().map(|c| c.name.to_owned()).collect()
    } else {
        q.columns.clone()
    };
    let out_cols: Vec<Option<usize>> = out_names.iter().map(|n| ctx.find(n)).collect();
    let mut sort_cols = Vec::new();
    for (name, desc) in &q.sort {
        sort_cols.push((ctx.find(name), *desc));
    }
    let stats: Vec<CStat> = q
        .stats
        .iter()
        .map(|s| {
            Ok(match s {
                Stat::Count(f) => CStat::Count(ctx.compile(f)?),
                Stat::Aggregate(a, c) => {
                    let idx = ctx.find(c);
                    let integral = idx.is_some_and(|i| {
                        matches!(cols[i].kind, ColumnType::Int | ColumnType::Time)
                    });
                    CStat::Agg(*a, idx, integral)
                }
            })
        })
        .collect::<Result<_, Fail>>()?;
    let writer = Writer {
        format: q.output_format,
        seps: q.separators,
    };
    let user = q.auth_user.as_deref();
    let hint = hint(q.filter.as_ref(), tz);
    let values_of = |row: &dyn Row| -> Vec<Value> {
        out_cols
            .iter()
            .map(|c| match c {
                Some(i) => shift(row.value(*i), tz),
                None => Value::str(""),
            })
            .collect()
    };
    let mut headers = out_names.clone();
    // (sort keys, rendered row)
    let mut rows: Vec<(Vec<Value>, Vec<u8>)> = Vec::new();
    // Without `Sort:`, rows come in scan order: only those on the page
    // (`Offset:`/`Limit:`) are rendered, the others only counted (Thruk pages a
    // problems list with `Limit:` over 100,000 services).
    let paged = stats.is_empty() && sort_cols.is_empty();
    let page_end = q.limit.map_or(usize::MAX, |l| q.offset.saturating_add(l));
    let mut matched = 0usize;
    if stats.is_empty() {
        table.scan(&hint, &mut |row| {
            if user.is_some_and(|u| !row.visible_to(u)) {
                return;
            }
            if filter.as_ref().is_some_and(|f| !matches(f, row)) {
                return;
            }
            matched += 1;
            if paged && (matched <= q.offset || matched > page_end) {
                return;
            }
            let keys = sort_cols
                .iter()
                .map(|(c, _)| c.map_or(Value::Null, |i| row.value(i)))
                .collect();
            let mut b = Vec::new();
            writer.row(&mut b, &values_of(row));
            rows.push((keys, b));
        });
    } else {
        headers.extend((1..=stats.len()).map(|i| format!("stats_{i}")));
        // Group key (texts) → (group values, counters, accumulators).
        let mut groups: BTreeMap<Vec<String>, Group> = BTreeMap::new();
        if out_cols.is_empty() {
            groups.insert(
                Vec::new(),
                (
                    Vec::new(),
                    vec![0; stats.len()],
                    vec![Acc::new(); stats.len()],
                ),
            );
        }
        table.scan(&hint, &mut |row| {
            if user.is_some_and(|u| !row.visible_to(u)) {
                return;
            }
            if filter.as_ref().is_some_and(|f| !matches(f, row)) {
                return;
            }
            let vals = values_of(row);
            let key: Vec<String> = vals.iter().map(Value::text).collect();
            let g = groups
                .entry(key)
                .or_insert_with(|| (vals, vec![0; stats.len()], vec![Acc::new(); stats.len()]));
            for (i, s) in stats.iter().enumerate() {
                match s {
                    CStat::Count(f) => {
                        if matches(f, row) {
                            g.1[i] += 1;
                        }
                    }
                    CStat::Agg(_, Some(c), _) => g.2[i].add(row.value(*c).as_f64()),
                    CStat::Agg(_, None, _) => g.2[i].add(0.0),
                }
            }
        });
        for (_, (mut vals, counts, accs)) in groups {
            let keys = sort_cols
                .iter()
                .map(|(c, _)| {
                    c.and_then(|i| out_cols.iter().position(|o| *o == Some(i)))
                        .map_or(Value::Null, |p| vals[p].clone())
                })
                .collect();
            for (i, s) in stats.iter().enumerate() {
                vals.push(match s {
                    CStat::Count(_) => Value::Int(counts[i] as i64),
                    CStat::Agg(a, _, integral) => accs[i].output(*a, *integral),
                });
            }
            let mut b = Vec::new();
            writer.row(&mut b, &vals);
            rows.push((keys, b));
        }
    }
    if !sort_cols.is_empty() {
        rows.sort_by(|a, b| {
            for (i, (_, desc)) in sort_cols.iter().enumerate() {
                let o = compare(&a.0[i], &b.0[i]);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let (total, page): (usize, Vec<Vec<u8>>) = if paged {
        (matched, rows.into_iter().map(|(_, b)| b).collect())
    } else {
        let total = rows.len();
        let end = q
            .limit
            .map_or(total, |l| q.offset.saturating_add(l).min(total));
        let start = q.offset.min(end);
        (total, rows.drain(start..end).map(|(_, b)| b).collect())
    };
    let body = writer.body(q.headers().then_some(headers.as_slice()), &page, total);
    Ok(Executed {
        body,
        total_count: total,
    })
}

/// Whether the query's `WaitCondition:` holds for its `WaitObject:` (or for any row when
/// there is no object), for the caller to decide whether to keep waiting. A query
/// without a condition is satisfied.
pub fn wait_satisfied(table: &dyn Table, q: &Query, now: i64) -> Result<bool, (u16, String)> {
    let Some(cond) = &q.wait_condition else {
        return Ok(true);
    };
    let tz = tz_offset(q, now)?;
    let ctx = Ctx {
        columns: table.columns(),
        tz_offset: tz,
    };
    let object = match &q.wait_object {
        Some(o) => match table.object_filter(o) {
            Some(f) => Some(ctx.compile(&f)?),
            None => {
                return Err((
                    code::BAD_REQUEST,
                    format!("WaitObject: table '{}' has no object '{o}'", q.table),
                ));
            }
        },
        None => None,
    };
    let cond = ctx.compile(cond)?;
    let mut found = false;
    table.scan(&ScanHint::default(), &mut |row| {
        if !found && object.as_ref().is_none_or(|o| matches(o, row)) && matches(&cond, row) {
            found = true;
        }
    });
    Ok(found)
}
