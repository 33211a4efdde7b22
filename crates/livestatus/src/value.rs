//! Values and column definitions.

/// The type of a column (what the `columns` table reports and how filters compare).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Integer.
    Int,
    /// Floating point.
    Float,
    /// Text.
    String,
    /// Seconds since the epoch (shifted by `Localtime:`).
    Time,
    /// List of strings (or of host/service pairs).
    List,
}

impl ColumnType {
    /// The name the `columns` table gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::String => "string",
            ColumnType::Time => "time",
            ColumnType::List => "list",
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Name (`state`, `host_name`…).
    pub name: &'static str,
    /// Type.
    pub kind: ColumnType,
    /// One line for the `columns` table.
    pub description: &'static str,
}

impl ColumnDef {
    /// A column.
    pub const fn new(name: &'static str, kind: ColumnType, description: &'static str) -> Self {
        ColumnDef {
            name,
            kind,
            description,
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (rendered as `null`/`None`, or empty in CSV).
    Null,
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Seconds since the epoch.
    Time(i64),
    /// Text.
    Str(String),
    /// A list.
    List(Vec<Value>),
    /// A host/service pair in a list (`host|service` in CSV and filters, `["h","s"]` in
    /// JSON).
    Pair(String, String),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A boolean as Livestatus has it: 0 or 1.
    pub fn bool(b: bool) -> Value {
        Value::Int(i64::from(b))
    }

    /// A list of strings.
    pub fn strings<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::Str(s.into())).collect())
    }

    /// As a number, for comparisons and aggregation (strings are parsed like `atof`).
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Int(i) | Value::Time(i) => *i as f64,
            Value::Float(f) => *f,
            Value::Str(s) => atof(s),
            _ => 0.0,
        }
    }

    /// As an integer (`atoi`-like for strings).
    pub fn as_i64(&self) -> i64 {
        match self {
            Value::Int(i) | Value::Time(i) => *i,
            Value::Float(f) => *f as i64,
            Value::Str(s) => atoi(s),
            _ => 0,
        }
    }

    /// The text a string filter matches against (`host|service` for pairs).
    pub fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) | Value::Time(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
            Value::Pair(h, s) => format!("{h}|{s}"),
            Value::List(l) => l.iter().map(Value::text).collect::<Vec<_>>().join(","),
        }
    }
}

/// C's `atoi`: leading blanks, an optional sign, digits; anything else ends it (0 if none).
pub(crate) fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in rest.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// C's `atof` on the longest prefix that parses (0 if none).
pub(crate) fn atof(s: &str) -> f64 {
    let s = s.trim_start();
    let mut end = 0;
    let mut best = 0.0;
    for (i, _) in s
        .char_indices()
        .skip(1)
        .chain(std::iter::once((s.len(), ' ')))
    {
        if let Ok(v) = s[..i].parse::<f64>() {
            best = v;
            end = i;
        } else if i > end + 8 {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_and_atof_read_prefixes() {
        assert_eq!(atoi(" 42abc"), 42);
        assert_eq!(atoi("-7"), -7);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi(""), 0);
        assert_eq!(atof("1.5e2x"), 150.0);
        assert_eq!(atof("abc"), 0.0);
        assert_eq!(atof("-0.25"), -0.25);
    }
}
