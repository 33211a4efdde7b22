//! The behaviours naemon-livestatus' feature tests pin (queries, json and wrapped_json
//! output, service lists, notified_on), on a table of our own, plus the operator and
//! stats semantics clients rely on.

use picket_livestatus::{
    ColumnDef, ColumnType, Filter, Request, Row, ScanHint, Table, Value, execute, parse_request,
    wait_satisfied,
};

struct Host {
    name: &'static str,
    state: i64,
    latency: f64,
    last_check: i64,
    groups: Vec<&'static str>,
    services: Vec<&'static str>,
    contacts: Vec<&'static str>,
}

const COLS: &[ColumnDef] = &[
    ColumnDef::new("name", ColumnType::String, "name"),
    ColumnDef::new("host_name", ColumnType::String, "name (alias)"),
    ColumnDef::new("state", ColumnType::Int, "state"),
    ColumnDef::new("latency", ColumnType::Float, "latency"),
    ColumnDef::new("last_check", ColumnType::Time, "last check"),
    ColumnDef::new("groups", ColumnType::List, "host groups"),
    ColumnDef::new("services", ColumnType::List, "services"),
    ColumnDef::new("members", ColumnType::List, "host|service pairs"),
    ColumnDef::new("notified_on", ColumnType::Int, "notified on"),
];

impl Row for Host {
    fn value(&self, column: usize) -> Value {
        match column {
            0 | 1 => Value::str(self.name),
            2 => Value::Int(self.state),
            3 => Value::Float(self.latency),
            4 => Value::Time(self.last_check),
            5 => Value::strings(self.groups.iter().copied()),
            6 => Value::strings(self.services.iter().copied()),
            7 => Value::List(
                self.services
                    .iter()
                    .map(|s| Value::Pair(self.name.into(), (*s).into()))
                    .collect(),
            ),
            _ => Value::Int(0),
        }
    }
    fn visible_to(&self, user: &str) -> bool {
        self.contacts.contains(&user)
    }
}

struct Hosts(Vec<Host>);

impl Table for Hosts {
    fn columns(&self) -> &[ColumnDef] {
        COLS
    }
    fn scan(&self, _hint: &ScanHint, f: &mut dyn FnMut(&dyn Row)) {
        for h in &self.0 {
            f(h);
        }
    }
    fn object_filter(&self, object: &str) -> Option<Filter> {
        self.0
            .iter()
            .any(|h| h.name == object)
            .then(|| Filter::Cmp {
                column: "name".into(),
                op: picket_livestatus::Op::Equal,
                negate: false,
                value: object.into(),
            })
    }
}

fn hosts() -> Hosts {
    Hosts(vec![
        Host {
            name: "host1",
            state: 0,
            latency: 0.5,
            last_check: 1000,
            groups: vec!["hg1"],
            services: vec!["PING"],
            contacts: vec!["alice"],
        },
        Host {
            name: "host2",
            state: 1,
            latency: 1.5,
            last_check: 2000,
            groups: vec!["hg2"],
            services: vec!["web", "PING"],
            contacts: vec!["bob"],
        },
        Host {
            name: "host3",
            state: 1,
            latency: 4.0,
            last_check: 0,
            groups: vec!["hg2"],
            services: vec![],
            contacts: vec!["alice", "bob"],
        },
    ])
}

const NOW: i64 = 1_700_000_000;

fn run(q: &str) -> String {
    let parsed = parse_request(q).unwrap_or_else(|e| panic!("{q:?}: {e:?}"));
    let Request::Get(query) = parsed.request else {
        panic!("not a GET")
    };
    let out = execute(&hosts(), &query, NOW).unwrap_or_else(|e| panic!("{q:?}: {e:?}"));
    String::from_utf8(out.body).expect("utf-8")
}

fn fails(q: &str) -> (u16, String) {
    match parse_request(q) {
        Err(e) => (e.code, e.message),
        Ok(p) => {
            let Request::Get(query) = p.request else {
                panic!("not a GET")
            };
            execute(&hosts(), &query, NOW).expect_err("should fail")
        }
    }
}

fn json(q: &str) -> serde_json::Value {
    serde_json::from_str(&run(q)).unwrap_or_else(|e| panic!("{q:?}: {e}: {}", run(q)))
}

#[test]
fn columns_in_csv_and_aliases() {
    assert_eq!(
        run("GET hosts\nColumns: host_name\n"),
        "host1\nhost2\nhost3\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: host_name notified_on\n"),
        "host1;0\nhost2;0\nhost3;0\n"
    );
    // Two Columns: headers add up.
    assert_eq!(
        run("GET hosts\nColumns: name\nColumns: groups\n"),
        "host1;hg1\nhost2;hg2\nhost3;hg2\n"
    );
}

#[test]
fn json_with_and_without_headers_sorted_and_limited() {
    let j = json("GET hosts\nLimit: 2\nColumns: name\nColumnHeaders: on\nOutputFormat: json\n");
    assert_eq!(j, serde_json::json!([["name"], ["host1"], ["host2"]]));
    let j = json(
        "GET hosts\nLimit: 2\nSort: name desc\nColumns: name\nColumnHeaders: on\nOutputFormat: json\n",
    );
    assert_eq!(j, serde_json::json!([["name"], ["host3"], ["host2"]]));
    let j = json("GET hosts\nLimit: 2\nColumns: name\nColumnHeaders: off\nOutputFormat: json\n");
    assert_eq!(j, serde_json::json!([["host1"], ["host2"]]));
    let j = json("GET hosts\nStatsAnd: 0\nColumnHeaders: on\nOutputFormat: json\n");
    assert_eq!(j, serde_json::json!([["stats_1"], [3]]));
    let j = json("GET hosts\nStatsAnd: 0\nColumns: name\nColumnHeaders: on\nOutputFormat: json\n");
    assert_eq!(
        j,
        serde_json::json!([
            ["name", "stats_1"],
            ["host1", 1],
            ["host2", 1],
            ["host3", 1]
        ])
    );
    let j = json("GET hosts\nStatsAnd: 0\nOutputFormat: json\n");
    assert_eq!(j, serde_json::json!([[3]]));
}

#[test]
fn wrapped_json_counts_before_the_limit() {
    let j =
        json("GET hosts\nLimit: 2\nColumns: name\nColumnHeaders: on\nOutputFormat: wrapped_json\n");
    assert_eq!(
        j,
        serde_json::json!({"columns":["name"],"data":[["host1"],["host2"]],"total_count":3})
    );
    let j =
        json("GET hosts\nLimit: 2\nSort: name desc\nColumns: name\nOutputFormat: wrapped_json\n");
    assert_eq!(
        j,
        serde_json::json!({"data":[["host3"],["host2"]],"total_count":3})
    );
    let j = json("GET hosts\nStatsAnd: 0\nColumnHeaders: on\nOutputFormat: wrapped_json\n");
    assert_eq!(
        j,
        serde_json::json!({"columns":["stats_1"],"data":[[3]],"total_count":1})
    );
    let j = json("GET hosts\nStatsAnd: 0\nColumns: name\nOutputFormat: wrapped_json\n");
    assert_eq!(
        j,
        serde_json::json!({"data":[["host1",1],["host2",1],["host3",1]],"total_count":3})
    );
    // Offset pages after the sort.
    let j = json(
        "GET hosts\nColumns: name\nSort: name asc\nOffset: 1\nLimit: 1\nOutputFormat: wrapped_json\n",
    );
    assert_eq!(j, serde_json::json!({"data":[["host2"]],"total_count":3}));
    // Without Sort: the page in scan order (only its rows are rendered), the total
    // counted over every match.
    let j = json("GET hosts\nColumns: name\nOffset: 1\nLimit: 1\nOutputFormat: wrapped_json\n");
    assert_eq!(j, serde_json::json!({"data":[["host2"]],"total_count":3}));
    let j = json(
        "GET hosts\nColumns: name\nFilter: name != host1\nOffset: 1\nLimit: 5\nOutputFormat: wrapped_json\n",
    );
    assert_eq!(j, serde_json::json!({"data":[["host3"]],"total_count":2}));
    let j = json("GET hosts\nColumns: name\nOffset: 7\nOutputFormat: wrapped_json\n");
    assert_eq!(j, serde_json::json!({"data":[],"total_count":3}));
}

#[test]
fn list_filters() {
    assert_eq!(
        run("GET hosts\nColumns: name services\nFilter: services >= PING\n"),
        "host1;PING\nhost2;web,PING\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name services\nFilter: services >= web\n"),
        "host2;web,PING\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name members\nFilter: members >= host2|PING\n"),
        "host2;host2|web,host2|PING\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name\nFilter: services =\n"),
        "host3\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name\nFilter: services !=\n"),
        "host1\nhost2\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name\nFilter: services < PING\n"),
        "host3\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name\nFilter: services ~~ ^W\n"),
        "host2\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name\nFilter: services =~ ping\n"),
        "host1\nhost2\n"
    );
    let j = json("GET hosts\nColumns: members\nFilter: name = host1\nOutputFormat: json\n");
    assert_eq!(j, serde_json::json!([[[["host1", "PING"]]]]));
    let (code, msg) = fails("GET hosts\nFilter: services = PING\n");
    assert_eq!(code, 400, "{msg}");
}

#[test]
fn string_int_float_operators() {
    let names = |f: &str| run(&format!("GET hosts\nColumns: name\nFilter: {f}\n"));
    assert_eq!(names("name = host2"), "host2\n");
    assert_eq!(names("name != host2"), "host1\nhost3\n");
    assert_eq!(names("name =~ HOST2"), "host2\n");
    assert_eq!(names("name !=~ HOST2"), "host1\nhost3\n");
    assert_eq!(names("name ~ st[23]"), "host2\nhost3\n");
    assert_eq!(names("name !~ st[23]"), "host1\n");
    assert_eq!(names("name ~~ ST1"), "host1\n");
    assert_eq!(names("name !~~ ST1"), "host2\nhost3\n");
    assert_eq!(names("name < host2"), "host1\n");
    assert_eq!(names("name > host2"), "host3\n");
    assert_eq!(names("name <= host2"), "host1\nhost2\n");
    assert_eq!(names("name >= host2"), "host2\nhost3\n");
    assert_eq!(names("state = 1"), "host2\nhost3\n");
    assert_eq!(names("state != 1"), "host1\n");
    assert_eq!(names("state < 1"), "host1\n");
    assert_eq!(names("state >= 1"), "host2\nhost3\n");
    assert_eq!(names("state > 0"), "host2\nhost3\n");
    assert_eq!(names("state <= 0"), "host1\n");
    assert_eq!(names("latency > 1.0"), "host2\nhost3\n");
    assert_eq!(names("latency <= 1.5"), "host1\nhost2\n");
    assert_eq!(names("last_check >= 1500"), "host2\n");
    // An unknown column is a dummy: no row matches, a negated filter matches all.
    assert_eq!(names("nosuch = 1"), "");
    assert_eq!(names("nosuch != 1"), "host1\nhost2\nhost3\n");
    assert_eq!(
        run("GET hosts\nColumns: name nosuch\nFilter: name = host1\nOutputFormat: json\n"),
        "[[\"host1\",\"\"]]\n"
    );
    let (code, msg) = fails("GET hosts\nFilter: name ~ (\n");
    assert_eq!(code, 400);
    assert!(msg.contains("regular expression"), "{msg}");
    assert_eq!(fails("GET hosts\nFilter: state ~ 1\n").0, 400);
}

#[test]
fn and_or_negate() {
    let q = "GET hosts\nColumns: name\nFilter: state = 1\nFilter: latency > 2\nAnd: 2\nFilter: name = host1\nOr: 2\n";
    assert_eq!(run(q), "host1\nhost3\n");
    let q = "GET hosts\nColumns: name\nFilter: state = 1\nFilter: name = host1\nOr: 2\nNegate:\n";
    assert_eq!(run(q), "");
    assert_eq!(
        run("GET hosts\nColumns: name\nAnd: 0\n"),
        "host1\nhost2\nhost3\n"
    );
    assert_eq!(run("GET hosts\nColumns: name\nOr: 0\n"), "");
}

#[test]
fn stats_counts_and_aggregates() {
    let j = json(
        "GET hosts\nStats: state = 0\nStats: state = 1\nStats: state = 1\nStats: latency > 2\nStatsAnd: 2\nOutputFormat: json\n",
    );
    assert_eq!(j, serde_json::json!([[1, 2, 1]]));
    let j = json(
        "GET hosts\nStats: state = 0\nStats: state = 1\nStatsOr: 2\nStatsNegate:\nOutputFormat: json\n",
    );
    assert_eq!(j, serde_json::json!([[0]]));
    let j = json(
        "GET hosts\nStats: sum latency\nStats: min latency\nStats: max latency\nStats: avg latency\nStats: sum state\nStats: max last_check\nOutputFormat: json\n",
    );
    assert_eq!(j, serde_json::json!([[6.0, 0.5, 4.0, 2.0, 2, 2000]]));
    let j = json(
        "GET hosts\nStats: suminv latency\nStats: avginv latency\nStats: std state\nOutputFormat: json\n",
    );
    let row = j[0].as_array().expect("row");
    assert!((row[0].as_f64().expect("f") - (2.0 + 1.0 / 1.5 + 0.25)).abs() < 1e-9);
    assert!((row[1].as_f64().expect("f") - (2.0 + 1.0 / 1.5 + 0.25) / 3.0).abs() < 1e-9);
    assert!((row[2].as_f64().expect("f") - (2.0f64 / 9.0).sqrt()).abs() < 1e-9);
    // Group by: one row per distinct value, in order of the value.
    let j = json(
        "GET hosts\nColumns: state\nStats: state >= 0\nStats: sum latency\nOutputFormat: json\n",
    );
    assert_eq!(j, serde_json::json!([[0, 1, 0.5], [1, 2, 5.5]]));
    // A filter applies before the stats; with no row, stats are still one row of zeros.
    let j = json(
        "GET hosts\nFilter: name = none\nStats: state = 0\nStats: avg latency\nOutputFormat: json\n",
    );
    assert_eq!(j, serde_json::json!([[0, 0.0]]));
}

#[test]
fn all_columns_with_headers_when_no_columns() {
    let j = json("GET hosts\nFilter: name = host1\nOutputFormat: json\n");
    let a = j.as_array().expect("rows");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0][0], "name");
    assert_eq!(a[0].as_array().expect("header").len(), COLS.len());
    assert_eq!(a[1][0], "host1");
}

#[test]
fn auth_user_sees_only_its_rows() {
    assert_eq!(
        run("GET hosts\nColumns: name\nAuthUser: alice\n"),
        "host1\nhost3\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name\nAuthUser: bob\n"),
        "host2\nhost3\n"
    );
    assert_eq!(run("GET hosts\nColumns: name\nAuthUser: nobody\n"), "");
    assert_eq!(
        run("GET hosts\nStats: state >= 0\nAuthUser: alice\n"),
        "2\n"
    );
}

#[test]
fn localtime_shifts_times_both_ways() {
    // Client one hour ahead (plus some seconds of skew, rounded away).
    let lt = NOW + 3600 + 40;
    let q = format!(
        "GET hosts\nColumns: name last_check\nFilter: last_check >= 4600\nLocaltime: {lt}\n"
    );
    // Filter value 4600 is client time, i.e. 1000 here; never-checked (0) stays 0.
    assert_eq!(run(&q), "host1;4600\nhost2;5600\n");
    let (code, _) = fails(&format!("GET hosts\nLocaltime: {}\n", NOW + 90_000));
    assert_eq!(code, 400);
}

#[test]
fn python_and_csv_separators() {
    assert_eq!(
        run("GET hosts\nColumns: name groups\nFilter: name = host1\nOutputFormat: python\n"),
        "[[u\"host1\",[u\"hg1\"]]]\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name groups\nFilter: name = host1\nOutputFormat: python3\n"),
        "[[\"host1\",[\"hg1\"]]]\n"
    );
    assert_eq!(
        run("GET hosts\nColumns: name services\nFilter: name = host2\nSeparators: 0 9 47 124\n"),
        "host2\tweb/PING\0"
    );
}

#[test]
fn wait_condition_on_an_object() {
    let q = |c: &str| {
        let Request::Get(q) = parse_request(c).expect("parses").request else {
            panic!()
        };
        wait_satisfied(&hosts(), &q, NOW)
    };
    assert_eq!(
        q("GET hosts\nWaitObject: host2\nWaitCondition: state = 1\nWaitTimeout: 10\n"),
        Ok(true)
    );
    assert_eq!(
        q("GET hosts\nWaitObject: host1\nWaitCondition: state = 1\n"),
        Ok(false)
    );
    assert_eq!(
        q("GET hosts\nWaitObject: host1\nWaitCondition: state = 1\nWaitConditionNegate:\n"),
        Ok(true)
    );
    assert_eq!(
        q("GET hosts\nWaitObject: nope\nWaitCondition: state = 1\n").map_err(|e| e.0),
        Err(400)
    );
    assert_eq!(q("GET hosts\nColumns: name\n"), Ok(true));
}

#[test]
fn request_errors_have_their_codes() {
    assert_eq!(fails("GET hosts\nFoo: bar\n").0, 400);
    assert_eq!(
        fails("GET hosts\nFoo: bar\n").1,
        "Undefined request header 'Foo'"
    );
    assert_eq!(fails("HELLO\n").0, 452);
    assert_eq!(fails("GET hosts\nLimit: -1\n").0, 400);
    assert_eq!(fails("GET hosts\nStatsAnd: 3\nStats: state = 1\n").0, 400);
}
