//! Fuzzes a Livestatus request as a client sends it over the socket: parsing, then (when
//! it parses) execution against a small table with every column type, rendering and
//! framing; `WaitObject:`/`WaitCondition:` are checked too. Nothing may panic, and an
//! answer is framed with its length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_livestatus::{
    ColumnDef, ColumnType, Filter, Op, Request, Row, ScanHint, Table, Value, execute, frame,
    parse_request, render_error, wait_satisfied,
};

const COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("name", ColumnType::String, "name"),
    ColumnDef::new("state", ColumnType::Int, "state"),
    ColumnDef::new("latency", ColumnType::Float, "latency"),
    ColumnDef::new("last_check", ColumnType::Time, "last check"),
    ColumnDef::new("groups", ColumnType::List, "groups"),
    ColumnDef::new("services", ColumnType::List, "host/service pairs"),
    ColumnDef::new("contacts", ColumnType::List, "contacts"),
];

struct Obj {
    name: &'static str,
    state: i64,
    latency: f64,
    time: i64,
    groups: &'static [&'static str],
    contact: &'static str,
}

const ROWS: &[Obj] = &[
    Obj {
        name: "web1",
        state: 0,
        latency: 0.25,
        time: 1_796_220_001,
        groups: &["web", "prod"],
        contact: "alice",
    },
    Obj {
        name: "db;1",
        state: 2,
        latency: -1.5e300,
        time: 0,
        groups: &[],
        contact: "bob",
    },
    Obj {
        name: "\u{20ac}x\tq|\"",
        state: i64::MIN,
        latency: f64::NAN,
        time: i64::MAX,
        groups: &["\n"],
        contact: "",
    },
];

impl Row for Obj {
    fn value(&self, column: usize) -> Value {
        match column {
            0 => Value::str(self.name),
            1 => Value::Int(self.state),
            2 => Value::Float(self.latency),
            3 => Value::Time(self.time),
            4 => Value::strings(self.groups.iter().copied()),
            5 => Value::List(vec![Value::Pair(self.name.into(), "TCP Wrappers".into())]),
            6 => Value::strings([self.contact]),
            _ => Value::Null,
        }
    }
    fn visible_to(&self, user: &str) -> bool {
        user == self.contact
    }
}

struct Objects;

impl Table for Objects {
    fn columns(&self) -> &[ColumnDef] {
        COLUMNS
    }
    fn scan(&self, _hint: &ScanHint, f: &mut dyn FnMut(&dyn Row)) {
        for r in ROWS {
            f(r);
        }
    }
    fn object_filter(&self, object: &str) -> Option<Filter> {
        // As the daemon's tables: a known object's `name = object`.
        ROWS.iter().any(|r| r.name == object).then(|| Filter::Cmp {
            column: "name".into(),
            op: Op::Equal,
            negate: false,
            value: object.into(),
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = match parse_request(&text) {
        Ok(p) => p,
        Err(e) => {
            let body = render_error(&e.message);
            let framed = frame(e.code, &body);
            assert_eq!(framed.len(), 16 + body.len());
            return;
        }
    };
    if let Request::Get(q) = parsed.request {
        match execute(&Objects, &q, 1_796_220_001) {
            Ok(out) => {
                let framed = frame(200, &out.body);
                assert_eq!(framed.len(), 16 + out.body.len());
            }
            Err((code, msg)) => {
                assert!(code >= 400, "{code} {msg}");
            }
        }
        let _ = wait_satisfied(&Objects, &q, 1_796_220_001);
    }
});
