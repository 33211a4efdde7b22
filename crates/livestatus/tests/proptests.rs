//! Arbitrary requests never panic the parser or the evaluator.

use picket_livestatus::{
    ColumnDef, ColumnType, Request, Row, ScanHint, Table, Value, execute, parse_request,
    wait_satisfied,
};
use proptest::prelude::*;

const COLS: &[ColumnDef] = &[
    ColumnDef::new("name", ColumnType::String, ""),
    ColumnDef::new("state", ColumnType::Int, ""),
    ColumnDef::new("latency", ColumnType::Float, ""),
    ColumnDef::new("time", ColumnType::Time, ""),
    ColumnDef::new("groups", ColumnType::List, ""),
];

struct R(i64);
impl Row for R {
    fn value(&self, c: usize) -> Value {
        match c {
            0 => Value::str(format!("h{}", self.0)),
            1 => Value::Int(self.0 % 4),
            2 => Value::Float(self.0 as f64 / 3.0),
            3 => Value::Time(self.0 * 1000),
            _ => Value::List(vec![Value::str("g"), Value::Pair("a".into(), "b".into())]),
        }
    }
}
struct T;
impl Table for T {
    fn columns(&self) -> &[ColumnDef] {
        COLS
    }
    fn scan(&self, _h: &ScanHint, f: &mut dyn FnMut(&dyn Row)) {
        for i in 0..5 {
            f(&R(i));
        }
    }
}

fn header() -> impl Strategy<Value = String> {
    let col = prop::sample::select(vec!["name", "state", "latency", "time", "groups", "x", ""]);
    let op = prop::sample::select(vec![
        "=", "!=", "<", ">", "<=", ">=", "~", "~~", "=~", "!~", "!~~", "!=~", "??", "",
    ]);
    let val = "[ -~]{0,8}";
    let name = prop::sample::select(vec![
        "Filter",
        "Stats",
        "WaitCondition",
        "And",
        "Or",
        "Negate",
        "StatsAnd",
        "StatsOr",
        "StatsNegate",
        "Columns",
        "Limit",
        "Offset",
        "Sort",
        "OutputFormat",
        "ColumnHeaders",
        "Separators",
        "Localtime",
        "AuthUser",
        "WaitObject",
        "WaitTimeout",
        "WaitTrigger",
        "ResponseHeader",
        "KeepAlive",
        "Bogus",
        "WaitConditionAnd",
        "WaitConditionNegate",
    ]);
    (name, col, op, val).prop_map(|(n, c, o, v)| format!("{n}: {c} {o} {v}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn structured_requests_never_panic(first in prop::sample::select(vec!["GET hosts", "GET", "COMMAND x", "PUT"]), hs in prop::collection::vec(header(), 0..12)) {
        let text = format!("{first}\n{}\n\n", hs.join("\n"));
        if let Ok(p) = parse_request(&text) {
            if let Request::Get(q) = p.request {
                let _ = execute(&T, &q, 1_700_000_000);
                let _ = wait_satisfied(&T, &q, 1_700_000_000);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Ok(p) = parse_request(&text) {
            if let Request::Get(q) = p.request {
                let _ = execute(&T, &q, 0);
            }
        }
    }

    #[test]
    fn json_output_always_parses(hs in prop::collection::vec(header(), 0..8)) {
        let text = format!("GET hosts\nOutputFormat: json\n{}\n", hs.join("\n"));
        if let Ok(p) = parse_request(&text) {
            if let Request::Get(q) = p.request {
                if q.output_format == picket_livestatus::OutputFormat::Json {
                    if let Ok(out) = execute(&T, &q, 1_700_000_000) {
                        let v: Result<serde_json::Value, _> = serde_json::from_slice(&out.body);
                        prop_assert!(v.is_ok(), "{}", String::from_utf8_lossy(&out.body));
                    }
                }
            }
        }
    }
}
