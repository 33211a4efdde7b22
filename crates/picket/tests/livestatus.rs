//! Livestatus served by a real `picket`: the unix socket of the `broker_module=` line
//! and TCP on `livestatus_listen=`, queried from the test; Debian's
//! `Monitoring::Livestatus` (libmonitoring-livestatus-perl) as a client. Under CI a
//! missing perl module fails the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const OBJECTS: &str = "\
define command {\n command_name check_none\n command_line /bin/true\n}\n\
define contact {\n contact_name alice\n service_notification_commands check_none\n host_notification_commands check_none\n}\n\
define contact {\n contact_name bob\n service_notification_commands check_none\n host_notification_commands check_none\n}\n\
define hostgroup {\n hostgroup_name hg1\n alias Group One\n}\n\
define servicegroup {\n servicegroup_name sg1\n}\n\
define host {\n host_name web1\n address 127.0.0.1\n contacts alice\n hostgroups hg1\n max_check_attempts 1\n active_checks_enabled 0\n}\n\
define host {\n host_name db1\n address 127.0.0.2\n contacts bob\n max_check_attempts 1\n active_checks_enabled 0\n}\n\
define service {\n host_name web1\n service_description HTTP\n check_command check_none\n active_checks_enabled 0\n max_check_attempts 1\n contacts alice\n servicegroups sg1\n}\n\
define service {\n host_name db1\n service_description PING\n check_command check_none\n active_checks_enabled 0\n max_check_attempts 1\n contacts bob\n servicegroups sg1\n}\n";

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    socket: PathBuf,
    tcp: SocketAddr,
    _daemon: Daemon,
}

fn start(extra: &str) -> Setup {
    start_with(extra, "")
}

fn start_with(extra: &str, module_options: &str) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    std::fs::write(d.join("objects.cfg"), OBJECTS).expect("objects");
    let tcp: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let socket = d.join("live");
    let main = d.join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "log_file={0}/nagios.log\ncfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\n\
             check_external_commands=1\nretain_state_information=0\nhistory_file={0}/history.db\n\
             broker_module=/usr/lib/naemon/naemon-livestatus/livestatus.so {1} debug=0 idle_timeout=5000 query_timeout=2000 {2}\n\
             livestatus_listen={tcp}\n{extra}",
            d.display(),
            socket.display(),
            module_options
        ),
    )
    .expect("main cfg");
    let daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(&main)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start picket"),
    );
    wait_for("the Livestatus socket and port", 30, || {
        UnixStream::connect(&socket).is_ok() && TcpStream::connect(tcp).is_ok()
    });
    Setup {
        _dir: dir,
        dir: d,
        socket,
        tcp,
        _daemon: daemon,
    }
}

enum Peer<'a> {
    Unix(&'a Path),
    Tcp(SocketAddr),
}

fn ask(peer: &Peer<'_>, request: &str) -> String {
    let mut out = Vec::new();
    match peer {
        Peer::Unix(p) => {
            let mut s = UnixStream::connect(p).expect("connect unix");
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            s.write_all(request.as_bytes()).expect("send");
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
            s.read_to_end(&mut out).expect("read");
        }
        Peer::Tcp(a) => {
            let mut s = TcpStream::connect(a).expect("connect tcp");
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            s.write_all(request.as_bytes()).expect("send");
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
            s.read_to_end(&mut out).expect("read");
        }
    }
    String::from_utf8(out).expect("utf-8")
}

fn json(peer: &Peer<'_>, request: &str) -> serde_json::Value {
    let text = ask(peer, &format!("{request}OutputFormat: json\n\n"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{request:?}: {e}: {text}"))
}

/// Read one fixed16 response from a keep-alive connection.
fn read_fixed16(r: &mut impl BufRead) -> (u16, String) {
    let mut head = [0u8; 16];
    r.read_exact(&mut head).expect("header");
    let head = std::str::from_utf8(&head).expect("ascii header");
    assert_eq!(head.len(), 16);
    assert!(head.ends_with('\n'), "{head:?}");
    let code: u16 = head[..3].parse().expect("code");
    let len: usize = head[4..15].trim().parse().expect("length");
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).expect("body");
    (code, String::from_utf8(body).expect("utf-8"))
}

#[test]
fn queries_over_the_unix_socket_and_tcp() {
    let s = start("");
    let unix = Peer::Unix(&s.socket);
    let tcp = Peer::Tcp(s.tcp);
    for peer in [&unix, &tcp] {
        assert_eq!(
            json(
                peer,
                "GET hosts\nColumns: name state has_been_checked address groups contacts\n"
            ),
            serde_json::json!([
                ["web1", 0, 0, "127.0.0.1", ["hg1"], ["alice"]],
                ["db1", 0, 0, "127.0.0.2", [], ["bob"]]
            ])
        );
        assert_eq!(
            ask(
                peer,
                "GET services\nColumns: host_name description host_address groups\n\n"
            ),
            "web1;HTTP;127.0.0.1;sg1\ndb1;PING;127.0.0.2;sg1\n"
        );
    }
    // A result through COMMAND (journaled and logged as an external command); the
    // WaitCondition makes the query see it.
    assert_eq!(
        ask(
            &unix,
            "COMMAND [1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;HTTP;2;connection refused\n"
        ),
        ""
    );
    let rows = json(
        &unix,
        "GET services\nColumns: description state state_type has_been_checked plugin_output last_check\n\
         WaitObject: web1;HTTP\nWaitCondition: state = 2\nWaitTrigger: check\nWaitTimeout: 10000\nFilter: host_name = web1\n",
    );
    assert_eq!(
        rows,
        serde_json::json!([["HTTP", 2, 1, 1, "connection refused", 1700000000]])
    );
    let log = std::fs::read_to_string(s.dir.join("nagios.log")).expect("log");
    assert!(
        log.contains(
            "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web1;HTTP;2;connection refused"
        ),
        "{log}"
    );
    // Stats, as Thruk's tactical overview asks them.
    let stats = json(
        &unix,
        "GET services\nStats: state = 0\nStats: state = 2\nStats: state = 2\nStats: acknowledged = 0\n\
         Stats: scheduled_downtime_depth = 0\nStatsAnd: 3\nStats: sum current_attempt\n",
    );
    assert_eq!(stats, serde_json::json!([[1, 1, 1, 2]]));
    // Group-by host over services.
    assert_eq!(
        ask(
            &unix,
            "GET services\nColumns: host_name\nStats: state >= 0\n\n"
        ),
        "db1;1\nweb1;1\n"
    );
    // Groups, joins and lists of host/service pairs.
    assert_eq!(
        json(
            &unix,
            "GET hostgroups\nColumns: name alias members num_services num_services_crit worst_service_state\n"
        ),
        serde_json::json!([["hg1", "Group One", ["web1"], 1, 1, 2]])
    );
    assert_eq!(
        json(
            &tcp,
            "GET servicegroups\nColumns: name members\nFilter: members >= db1|PING\n"
        ),
        serde_json::json!([["sg1", [["web1", "HTTP"], ["db1", "PING"]]]])
    );
    assert_eq!(
        ask(
            &unix,
            "GET servicesbyhostgroup\nColumns: hostgroup_name host_name description\n\n"
        ),
        "hg1;web1;HTTP\n"
    );
    assert_eq!(
        ask(&unix, "GET hostsbygroup\nColumns: hostgroup_name name\n\n"),
        "hg1;web1\n"
    );
    // AuthUser: contact-based visibility (services loose: host contacts see them too).
    assert_eq!(
        ask(&unix, "GET hosts\nColumns: name\nAuthUser: bob\n\n"),
        "db1\n"
    );
    assert_eq!(
        ask(
            &unix,
            "GET services\nColumns: description\nAuthUser: alice\n\n"
        ),
        "HTTP\n"
    );
    assert_eq!(
        ask(
            &unix,
            "GET services\nColumns: description\nAuthUser: mallory\n\n"
        ),
        ""
    );
    // status, columns, contacts, commands, timeperiods.
    let st = json(
        &tcp,
        "GET status\nColumns: livestatus_version program_version num_hosts num_services\n",
    );
    assert!(
        st[0][0].as_str().expect("version").ends_with("-picket"),
        "{st}"
    );
    assert_eq!(st[0][2], 2);
    let cols = json(
        &unix,
        "GET columns\nColumns: name type\nFilter: table = services\nFilter: name = host_state\n",
    );
    assert_eq!(cols, serde_json::json!([["host_state", "int"]]));
    assert_eq!(
        ask(&unix, "GET contacts\nColumns: name\n\n"),
        "alice\nbob\n"
    );
    assert_eq!(
        ask(&unix, "GET commands\nColumns: name line\n\n"),
        "check_none;/bin/true\n"
    );
    // The log table, from the history (time range pushed down).
    wait_for("the alert in the log table", 20, || {
        ask(
            &unix,
            "GET log\nFilter: time >= 1\nFilter: type = SERVICE ALERT\nColumns: host_name\n\n",
        ) == "web1\n"
    });
    let alerts = json(
        &unix,
        "GET log\nFilter: time >= 1600000000\nFilter: class = 1\nColumns: class type host_name service_description state state_type plugin_output\n",
    );
    assert_eq!(
        alerts,
        serde_json::json!([[
            1,
            "SERVICE ALERT",
            "web1",
            "HTTP",
            2,
            "HARD",
            "connection refused"
        ]])
    );
    assert_eq!(
        ask(
            &unix,
            "GET log\nFilter: time >= 2000000000\nColumns: type\n\n"
        ),
        ""
    );
    // Errors with their codes, over a keep-alive connection with fixed16 framing.
    let mut conn = TcpStream::connect(s.tcp).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    for (req, code, body) in [
        (
            "GET hosts\nColumns: name\nFilter: name = db1\n",
            200,
            "db1\n",
        ),
        (
            "GET nosuch\n",
            404,
            "Invalid GET request, no such table 'nosuch'\n",
        ),
        (
            "GET hosts\nFoo: bar\n",
            400,
            "Undefined request header 'Foo'\n",
        ),
        ("GET hosts\nFilter: name ~ (\n", 400, ""),
        (
            "GET hosts\nColumns: name nosuch\nFilter: name = web1\nOutputFormat: json\n",
            200,
            "[[\"web1\",\"\"]]\n",
        ),
        (
            "GET hosts\nStats: state = 0\nOutputFormat: wrapped_json\nColumnHeaders: on\n",
            200,
            "{\"columns\":[\"stats_1\"],\"data\":[[2]],\"total_count\":1}\n",
        ),
    ] {
        write!(conn, "{req}ResponseHeader: fixed16\nKeepAlive: on\n\n").expect("send");
        let (c, b) = read_fixed16(&mut reader);
        assert_eq!(c, code, "{req:?}: {b}");
        if !body.is_empty() {
            assert_eq!(b, body, "{req:?}");
        }
    }
    // A request method that does not exist: 452; the connection is then closed.
    write!(conn, "HELLO\nResponseHeader: fixed16\n\n").expect("send");
    assert_eq!(read_fixed16(&mut reader).0, 452);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("eof");
    assert!(rest.is_empty());
}

/// The scenarios of naemon-livestatus' feature tests (`tests/features/*.feature`:
/// queries, json and wrapped_json output, service lists, notified_on) on Picket's real
/// tables; `crates/livestatus/tests/conformance.rs` pins the same semantics on a
/// table of its own. (Not covered: `statehist`, a table Picket does not serve.)
#[test]
fn naemon_feature_scenarios_on_the_real_tables() {
    let s = start("");
    let unix = Peer::Unix(&s.socket);
    // queries.feature: two Columns: headers add up, on a by-group table too; the
    // hosts table takes `host_name` for `name`.
    assert_eq!(
        ask(
            &unix,
            "GET servicesbyhostgroup\nColumns: description\nColumns: hostgroup_name\n\n"
        ),
        "HTTP;hg1\n"
    );
    assert_eq!(
        ask(&unix, "GET hosts\nColumns: host_name\n\n"),
        "web1\ndb1\n"
    );
    // notified_on.feature.
    assert_eq!(
        ask(
            &unix,
            "GET services\nColumns: host_name description notified_on\n\n"
        ),
        "web1;HTTP;0\ndb1;PING;0\n"
    );
    assert_eq!(
        ask(&unix, "GET hosts\nColumns: host_name notified_on\n\n"),
        "web1;0\ndb1;0\n"
    );
    // servicelist.feature: a host's `services` list matched by description; a
    // servicegroup's members by `host|service`.
    assert_eq!(
        ask(
            &unix,
            "GET hosts\nColumns: name services\nFilter: services >= PING\n\n"
        ),
        "db1;PING\n"
    );
    assert_eq!(
        ask(
            &unix,
            "GET servicegroups\nColumns: name members\nFilter: members >= web1|HTTP\n\n"
        ),
        "sg1;web1|HTTP,db1|PING\n"
    );
    // json_output.feature and wrapped_json_output.feature.
    assert_eq!(
        json(
            &unix,
            "GET hosts\nLimit: 1\nSort: name desc\nColumns: name\nColumnHeaders: on\n"
        ),
        serde_json::json!([["name"], ["web1"]])
    );
    assert_eq!(
        json(&unix, "GET hosts\nStatsAnd: 0\nColumnHeaders: on\n"),
        serde_json::json!([["stats_1"], [2]])
    );
    assert_eq!(
        json(
            &unix,
            "GET hosts\nStatsAnd: 0\nColumns: name\nSort: name asc\nColumnHeaders: off\n"
        ),
        serde_json::json!([["db1", 1], ["web1", 1]])
    );
    let text = ask(
        &unix,
        "GET hosts\nLimit: 1\nSort: name asc\nColumns: name\nColumnHeaders: on\nOutputFormat: wrapped_json\n\n",
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).expect("wrapped_json"),
        serde_json::json!({"columns": ["name"], "data": [["db1"]], "total_count": 2})
    );
}

#[test]
fn commands_are_checked_before_they_reach_the_engine() {
    let s = start("");
    let unix = Peer::Unix(&s.socket);
    // Unknown command, control characters, no command: refused with 400.
    for bad in [
        "COMMAND [1] NO_SUCH_COMMAND;x\nResponseHeader: fixed16\n\n",
        "COMMAND [1] ADD_HOST_COMMENT;web1;1;me;a\u{1}b\nResponseHeader: fixed16\n\n",
        "COMMAND [1] ADD_HOST_COMMENT;web1;1;me;a\u{2028}b\nResponseHeader: fixed16\n\n",
    ] {
        let out = ask(&unix, bad);
        assert!(out.starts_with("400 "), "{bad:?}: {out}");
    }
    // A good one is executed (and shows in the comments table).
    assert_eq!(
        ask(
            &unix,
            "COMMAND [1700000000] ADD_HOST_COMMENT;web1;1;admin;from livestatus\n"
        ),
        ""
    );
    wait_for("the comment", 20, || {
        ask(
            &unix,
            "GET comments\nColumns: host_name author comment entry_type is_service\n\n",
        ) == "web1;admin;from livestatus;1;0\n"
    });
    assert_eq!(
        json(
            &unix,
            "GET hosts\nColumns: name comments_with_info\nFilter: name = web1\n"
        )[0][1][0][2],
        "from livestatus"
    );
    // The comment can be in a snapshot before its log line is written.
    wait_for("the command's log line", 20, || {
        std::fs::read_to_string(s.dir.join("nagios.log")).is_ok_and(|l| {
            l.contains("EXTERNAL COMMAND: ADD_HOST_COMMENT;web1;1;admin;from livestatus")
        })
    });
    let log = std::fs::read_to_string(s.dir.join("nagios.log")).expect("log");
    assert!(
        !log.contains("EXTERNAL COMMAND: NO_SUCH")
            && !log.contains("Unrecognized external command"),
        "a refused command reached the engine: {log}"
    );
    assert!(log.contains("EXTERNAL COMMAND: ADD_HOST_COMMENT;web1;1;admin;from livestatus"));
    assert!(
        log.contains("Livestatus: client unix socket uid ")
            && log.contains(": command refused: COMMAND: unknown external command"),
        "{log}"
    );
}

/// Debian's Monitoring::Livestatus, or `None` (skip) outside CI. Under CI a missing
/// module fails the test: `.ci/run` installs libmonitoring-livestatus-perl.
fn perl_client() -> Option<()> {
    let ok = Command::new("perl")
        .args(["-MMonitoring::Livestatus", "-e", "1"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(());
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "Monitoring::Livestatus is missing: CI must install libmonitoring-livestatus-perl (.ci/run does)"
        );
    }
    eprintln!(
        "SKIP: libmonitoring-livestatus-perl is not installed; the Perl client is not tested"
    );
    None
}

#[test]
fn debian_monitoring_livestatus_perl_client() {
    if perl_client().is_none() {
        return;
    }
    let s = start("");
    let unix = Peer::Unix(&s.socket);
    ask(
        &unix,
        "COMMAND [1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;HTTP;2;refused\n",
    );
    wait_for("the result", 20, || {
        ask(
            &unix,
            "GET services\nColumns: state\nFilter: description = HTTP\n\n",
        ) == "2\n"
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/livestatus/client.pl");
    let out = Command::new("perl")
        .arg(&script)
        .arg(&s.socket)
        .arg(s.tcp.to_string())
        .output()
        .expect("run perl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    for tag in ["unix0", "unix1", "tcp0", "tcp1"] {
        for want in [
            format!("{tag}.hosts=db1:0:127.0.0.2,web1:0:127.0.0.1"),
            format!("{tag}.problems=web1:HTTP:2:refused"),
            format!("{tag}.stats=critical:1,hard_critical:1,ok:1"),
            format!("{tag}.count=2"),
            format!("{tag}.error=404"),
        ] {
            assert!(
                lines.contains(&want.as_str()),
                "missing {want:?} in\n{text}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{tag}.version=")) && l.ends_with("-picket")),
            "{text}"
        );
    }
    assert!(lines.contains(&"command=done"), "{text}");
    wait_for("the Perl client's command", 20, || {
        ask(
            &unix,
            "GET services\nColumns: state plugin_output\nFilter: description = PING\n\n",
        ) == "1;from perl\n"
    });
}

/// Whether a connection is served: a keep-alive query gets its answer (the
/// connection stays open), or the server closes it at once (EOF or reset).
fn served<S: Read + Write>(mut s: S) -> bool {
    if s.write_all(b"GET status\nColumns: num_hosts\nKeepAlive: on\nResponseHeader: fixed16\n\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 16];
    match s.read_exact(&mut head) {
        Ok(()) => {
            assert_eq!(&head[..4], b"200 ");
            let mut body = [0u8; 2];
            s.read_exact(&mut body).expect("body");
            true
        }
        Err(e) => {
            assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "no answer and not closed: {e}"
            );
            false
        }
    }
}

#[test]
fn connection_caps_hold_per_source_and_in_all() {
    // num_client_threads=4: four connections at once, two from one TCP source.
    let s = start_with("", "num_client_threads=4");
    let tcp = |()| {
        let c = TcpStream::connect(s.tcp).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        c
    };
    // The start-up probes' connections may still hold slots for a moment.
    let mut pair = None;
    wait_for("two TCP connections served", 10, || {
        let (a, b) = (tcp(()), tcp(()));
        let ok = served(&a) && served(&b);
        if ok {
            pair = Some((a, b));
        }
        ok
    });
    let (a, b) = pair.expect("pair");
    assert!(
        !served(tcp(())),
        "a third connection from one source was served"
    );
    // The unix socket is another source: two more fit, then the total cap closes the next.
    let unix = |()| {
        let c = UnixStream::connect(&s.socket).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        c
    };
    let u1 = unix(());
    let u2 = unix(());
    assert!(served(&u1) && served(&u2));
    assert!(!served(unix(())), "a fifth connection was served");
    drop((u1, u2));
    // Slots come back when connections end.
    wait_for("a free slot", 10, || served(unix(())));
    drop((a, b));
}
