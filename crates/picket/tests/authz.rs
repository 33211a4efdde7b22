//! One rule language on every ingest path, with a real `picket` on
//! 127.0.0.1: the identity `web-checker`, allowed only `web.*`, is the same
//! identity in `nsca-ng.cfg` (NSCA-ng, TLS-PSK) and in `api_identities_file`
//! (a bearer token for `POST /api/results`, `/api/commands`,
//! `/api/connection-events`, the UI and NRDP; a password for the Icinga 2
//! API; Python sends the Icinga and NRDP requests as `icinga2apic` and
//! `send_nrdp.py` do). Through each path it cannot
//! submit for `db01`, cannot flood `db01`'s volatile service and cannot
//! acknowledge `db01`'s problem (NSCA-ng: cannot send
//! `DISABLE_NOTIFICATIONS`; the JSON API has no such command for anyone);
//! each attempt is refused, logged in `nagios.log` naming identity, peer,
//! path and object, and counted in `/metrics` and on the Identities page.
//! The unscoped `web_token_file` token still submits anything, as before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use picket_nsca_ng::client::{Target, send};

mod support;
use support::{Daemon, free_port, wait_for};

const PSK: &str = "web-checker-key-4711";
const TOKEN: &str = "web-checker-token-0123456789";
const API_PW: &str = "web-checker-api-password";
const UNSCOPED: &str = "unscoped-admin-token-9876543210";

/// One HTTP/1.1 request; returns (status, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect web");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn post_json(addr: SocketAddr, path: &str, token: &str, body: &str) -> (u16, String) {
    let auth = format!("Bearer {token}");
    http(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

/// `POST /v1/actions/process-check-result` as icinga2apic sends it (POST with
/// `X-HTTP-Method-Override`, `Accept: application/json`, basic auth), from Python.
fn icinga(addr: SocketAddr, user: &str, password: &str, body: &str) -> (u16, String) {
    let script = r#"
import base64, sys, urllib.request, urllib.error
url, user, pw, body = sys.argv[1:5]
req = urllib.request.Request(url, data=body.encode(), method="POST")
req.add_header("Accept", "application/json")
req.add_header("X-HTTP-Method-Override", "POST")
req.add_header("Content-Type", "application/json")
if user:
    req.add_header("Authorization", "Basic " + base64.b64encode((user + ":" + pw).encode()).decode())
try:
    r = urllib.request.urlopen(req, timeout=10)
    code, text = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    code, text = e.code, e.read().decode()
print(code)
print(text)
"#;
    let url = format!("http://{addr}/v1/actions/process-check-result");
    let o = Command::new("python3")
        .args(["-c", script, &url, user, password, body])
        .output()
        .expect("python3 (.ci/run installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (code, rest) = text.split_once('\n').expect("two lines");
    (code.trim().parse().expect("code"), rest.trim().to_string())
}

/// An NRDP `POST` as `send_nrdp.py`/`nrdpy` send it (a urlencoded form), from Python.
fn nrdp(addr: SocketAddr, fields: &[(&str, &str)]) -> String {
    let script = r#"
import sys, urllib.parse, urllib.request
url = sys.argv[1]
kv = sys.argv[2:]
data = urllib.parse.urlencode(list(zip(kv[::2], kv[1::2]))).encode()
print(urllib.request.urlopen(url, data=data, timeout=10).read().decode())
"#;
    let url = format!("http://{addr}/nrdp/");
    let mut args = vec!["-c".to_string(), script.to_string(), url];
    for (k, v) in fields {
        args.push((*k).to_string());
        args.push((*v).to_string());
    }
    let o = Command::new("python3")
        .args(&args)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn one_identity_one_verdict_on_every_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("objects.cfg"),
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n host_name web01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define host {\n host_name db01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define service {\n host_name web01,db01\n service_description TCP Wrappers\n \
         check_command ok\n max_check_attempts 1\n is_volatile 1\n \
         active_checks_enabled 0\n passive_checks_enabled 1\n contacts a\n}\n",
    )
    .expect("objects");
    let port = free_port();
    let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let scope = "  hosts = \"web.*\"\n  services = \".+@web.*\"\n  commands = \"ACKNOWLEDGE_SVC_PROBLEM;web.*\"\n";
    std::fs::write(
        d.join("nsca-ng.cfg"),
        format!(
            "listen = \"127.0.0.1:{port}\"\nauthorize \"web-checker\" {{\n  password = \"{PSK}\"\n{scope}}}\n"
        ),
    )
    .expect("nsca-ng.cfg");
    std::fs::write(
        d.join("identities.cfg"),
        format!(
            "# API identities\nauthorize \"web-checker\" {{\n  token = \"{TOKEN}\"\n  password = \"{API_PW}\"\n{scope}}}\n"
        ),
    )
    .expect("identities.cfg");
    std::fs::write(d.join("web.token"), format!("{UNSCOPED}\n")).expect("token");
    std::fs::write(
        d.join("picket.cfg"),
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\nlog_passive_checks=1\nlog_external_commands=1\n\
             log_file={0}/nagios.log\nretain_state_information=0\n\
             nsca_ng_config_file={0}/nsca-ng.cfg\nweb_listen={web}\n\
             web_token_file={0}/web.token\napi_identities_file={0}/identities.cfg\n",
            d.display()
        ),
    )
    .expect("picket.cfg");
    let err_file = std::fs::File::create(d.join("picket.err")).expect("err");
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(d.join("picket.cfg"))
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .spawn()
            .expect("picket"),
    );
    let read = |f: &str| {
        String::from_utf8_lossy(&std::fs::read(d.join(f)).unwrap_or_default()).into_owned()
    };
    wait_for("picket to listen", 60, || {
        if let Ok(Some(st)) = daemon.0.try_wait() {
            panic!("picket exited ({st}): {}", read("picket.err"));
        }
        read("picket.err").contains("Listening for NSCA-ng on")
            && read("picket.err").contains("Web UI")
    });
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();

    // 1. NSCA-ng.
    let target = Target {
        server: "127.0.0.1".into(),
        port,
        identity: "web-checker".into(),
        password: PSK.as_bytes().to_vec(),
        ciphers: picket_nsca_ng_proto::DEFAULT_TLS_CIPHERS.into(),
        timeout: Some(Duration::from_secs(10)),
    };
    let cmds: Vec<Vec<u8>> = [
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;Denied via nsca-ng\n"),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;db01;TCP Wrappers;2;forged flood\n"),
        format!("[{t}] PROCESS_HOST_CHECK_RESULT;db01;1;forged down\n"),
        format!("[{t}] DISABLE_NOTIFICATIONS\n"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let out = send(&target, &cmds);
    assert_eq!(out.accepted, vec![0], "{out:?}");
    assert_eq!(out.refused.len(), 3, "{out:?}");

    // 2. The scoped bearer token.
    let result = |host: &str, out: &str| {
        format!(r#"{{"host":"{host}","service":"TCP Wrappers","code":2,"output":"{out}"}}"#)
    };
    let (c, b) = post_json(
        web,
        "/api/results",
        TOKEN,
        &result("web01", "Denied via api"),
    );
    assert_eq!(c, 202, "{b}");
    for _ in 0..3 {
        let (c, b) = post_json(web, "/api/results", TOKEN, &result("db01", "forged flood"));
        assert_eq!(c, 403, "{b}");
        assert!(
            b.contains("may not submit service TCP Wrappers on host db01"),
            "{b}"
        );
    }
    // A batch with one forbidden result is taken not at all.
    let batch = format!(
        "[{},{}]",
        result("web01", "batch ok"),
        result("db01", "batch forged")
    );
    let (c, b) = post_json(web, "/api/results", TOKEN, &batch);
    assert_eq!(c, 403, "{b}");
    let (c, b) = post_json(
        web,
        "/api/results",
        TOKEN,
        r#"{"host":"db01","code":1,"output":"forged down"}"#,
    );
    assert_eq!(c, 403, "{b}");
    let ack = |host: &str| {
        format!(
            r#"{{"type":"acknowledge_service","host":"{host}","service":"TCP Wrappers","author":"w","comment":"c"}}"#
        )
    };
    let (c, b) = post_json(web, "/api/commands", TOKEN, &ack("db01"));
    assert_eq!(c, 403, "{b}");
    let (c, b) = post_json(web, "/api/commands", TOKEN, &ack("web01"));
    assert_eq!(c, 202, "{b}");
    let ev = |reporter: &str| {
        format!(
            r#"{{"events":[{{"time":{t},"reporter":"{reporter}","source":{{"addr":"203.0.113.5"}},"dest_port":22,"proto":"tcp","daemon":"sshd","kind":"auth_fail"}}]}}"#
        )
    };
    let (c, b) = post_json(web, "/api/connection-events", TOKEN, &ev("db01"));
    assert_eq!(c, 403, "{b}");
    let (c, b) = post_json(web, "/api/connection-events", TOKEN, &ev("web01"));
    assert_eq!(c, 202, "{b}");
    // The UI, logged in with the scoped token (its cookie).
    let cookie = format!("picket_token={TOKEN}");
    let (c, _) = http(
        web,
        "POST",
        "/ui/command",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "action=result&host=db01&service=TCP+Wrappers&code=2&output=forged+ui",
    );
    assert_eq!(c, 403);

    // 3. The Icinga 2 API, as an API user.
    let body = |obj: &str, out: &str| {
        format!(
            r#"{{"type":"Service","filter":"host.name==\"{}\" && service.name==\"TCP Wrappers\"","exit_status":2,"plugin_output":"{out}","performance_data":["a=1"],"check_source":"py"}}"#,
            obj
        )
    };
    let (c, b) = icinga(
        web,
        "web-checker",
        API_PW,
        &body("web01", "Denied via icinga"),
    );
    assert_eq!(c, 200, "{b}");
    assert_eq!(
        b,
        r#"{"results":[{"code":200,"status":"Successfully processed check result for object 'web01!TCP Wrappers'."}]}"#
    );
    // Outside the scope is not there, as outside an Icinga API user's filter:
    // a filter finds nothing (Icinga 2.13: 500 and no results), a name is 404.
    let (c, b) = icinga(web, "web-checker", API_PW, &body("db01", "forged flood"));
    assert_eq!((c, b.as_str()), (500, r#"{"results":[]}"#));
    let (c, b) = icinga(
        web,
        "web-checker",
        API_PW,
        r#"{"type":"Host","host":"db01","exit_status":1,"plugin_output":"forged down"}"#,
    );
    assert_eq!(
        (c, b.as_str()),
        (404, r#"{"error":404,"status":"No objects found."}"#)
    );
    let (c, b) = icinga(
        web,
        "web-checker",
        API_PW,
        r#"{"type":"Service","service":"web99!TCP Wrappers","exit_status":0,"plugin_output":"x"}"#,
    );
    assert_eq!(
        (c, b.as_str()),
        (404, r#"{"error":404,"status":"No objects found."}"#)
    );
    let (c, _) = icinga(web, "", "", &body("web01", "x"));
    assert_eq!(c, 401);
    let (c, _) = icinga(
        web,
        "web-checker",
        "wrong-password-here",
        &body("web01", "x"),
    );
    assert_eq!(c, 401);
    let (c, b) = icinga(
        web,
        "web-checker",
        API_PW,
        r#"{"type":"Service","filter":"match(\"web*\", host.name)","exit_status":0,"plugin_output":"x"}"#,
    );
    assert_eq!(c, 400, "{b}");

    // 4. NRDP with the same token.
    let xml = |host: &str, out: &str| {
        format!(
            "<?xml version='1.0'?>\n<checkresults>\n  <checkresult type='service' checktype='1'>\n    \
             <hostname>{host}</hostname>\n    <servicename>TCP Wrappers</servicename>\n    \
             <state>2</state>\n    <output>{out}</output>\n  </checkresult>\n</checkresults>\n"
        )
    };
    let ok = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<result>\n    <status>0</status>\n    \
              <message>OK</message>\n    <meta>\n        <output>1 checks processed</output>\n    \
              </meta>\n</result>\n\n";
    let r = nrdp(
        web,
        &[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            ("XMLDATA", &xml("web01", "Denied via nrdp &amp; xml")),
        ],
    );
    assert_eq!(r, ok);
    let r = nrdp(
        web,
        &[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            ("XMLDATA", &xml("db01", "forged flood")),
        ],
    );
    assert!(
        r.contains("<status>-1</status>") && r.contains("<message>DENIED TOKEN</message>"),
        "{r}"
    );
    let json = r#"{"checkresults":[{"checkresult":{"type":"host"},"hostname":"db01","state":"1","output":"forged down"}]}"#;
    let r = nrdp(
        web,
        &[("token", TOKEN), ("cmd", "submitcheck"), ("JSONDATA", json)],
    );
    assert!(
        r.contains(r#""status":-1"#) && r.contains("DENIED TOKEN"),
        "{r}"
    );
    let r = nrdp(
        web,
        &[
            ("token", "not-a-token"),
            ("cmd", "submitcheck"),
            ("JSONDATA", json),
        ],
    );
    assert!(r.contains("BAD TOKEN"), "{r}");
    let r = nrdp(
        web,
        &[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            ("XMLDATA", "<checkresults><x>AT&T</x></checkresults>"),
        ],
    );
    assert!(r.contains("<message>BAD XML</message>"), "{r}");

    // NRDP's submitcmd: the same token's `commands` scope.
    let r = nrdp(
        web,
        &[
            ("token", TOKEN),
            ("cmd", "submitcmd"),
            ("command", "DISABLE_NOTIFICATIONS"),
        ],
    );
    assert!(
        r.contains("<status>-1</status>") && r.contains("<message>DENIED TOKEN</message>"),
        "{r}"
    );
    let r = nrdp(
        web,
        &[
            ("token", TOKEN),
            ("cmd", "submitcmd"),
            (
                "command",
                "ACKNOWLEDGE_SVC_PROBLEM;web01;TCP Wrappers;1;0;0;nrdp;via nrdp",
            ),
        ],
    );
    assert!(
        r.contains("<status>0</status>") && r.contains("<message>OK</message>"),
        "{r}"
    );
    let r = nrdp(web, &[("token", TOKEN), ("cmd", "submitcmd")]);
    assert!(r.contains("<message>NO COMMAND</message>"), "{r}");

    // 5. The unscoped token: anything, as before.
    let (c, b) = post_json(
        web,
        "/api/results",
        UNSCOPED,
        &result("db01", "Denied via admin"),
    );
    assert_eq!(c, 202, "{b}");

    // What reached the engine, what was refused, and how it was logged.
    wait_for("the accepted results in nagios.log", 15, || {
        let log = read("nagios.log");
        ["nsca-ng", "api", "icinga", "nrdp & xml"].iter().all(|v| {
            log.contains(&format!(
                "SERVICE ALERT: web01;TCP Wrappers;CRITICAL;HARD;1;Denied via {v}"
            ))
        }) && log.contains("SERVICE ALERT: db01;TCP Wrappers;CRITICAL;HARD;1;Denied via admin")
    });
    wait_for("the refusals in nagios.log", 15, || {
        read("nagios.log")
            .matches("Warning: authz: refusing")
            .count()
            >= 11
    });
    let log = read("nagios.log");
    for line in [
        "Warning: authz: refusing service TCP Wrappers on host db01 from identity web-checker at 127.0.0.1 via api: not authorized",
        "Warning: authz: refusing host db01 from identity web-checker at 127.0.0.1 via api: not authorized",
        "Warning: authz: refusing command ACKNOWLEDGE_SVC_PROBLEM from identity web-checker at 127.0.0.1 via api: not authorized",
        "Warning: authz: refusing service TCP Wrappers on host db01 from identity web-checker at 127.0.0.1 via ui: not authorized",
        "Warning: authz: refusing service TCP Wrappers on host db01 from identity web-checker at 127.0.0.1 via icinga-api: not authorized",
        "Warning: authz: refusing host db01 from identity web-checker at 127.0.0.1 via icinga-api: not authorized",
        "Warning: authz: refusing service TCP Wrappers on host db01 from identity web-checker at 127.0.0.1 via nrdp: not authorized",
        "Warning: authz: refusing host db01 from identity web-checker at 127.0.0.1 via nrdp: not authorized",
        "Warning: authz: refusing command DISABLE_NOTIFICATIONS from identity web-checker at 127.0.0.1 via nrdp: not authorized",
        "Warning: NSCA: NSCA-ng: refusing command DISABLE_NOTIFICATIONS from identity web-checker at 127.0.0.1:",
        "Warning: NSCA: NSCA-ng: refusing service TCP Wrappers on host db01 from identity web-checker",
    ] {
        assert!(log.contains(line), "missing {line:?} in:\n{log}");
    }
    for forged in ["forged flood", "forged down", "forged ui", "batch"] {
        assert!(
            !log.contains(&format!("CRITICAL;HARD;1;{forged}")),
            "{forged}:\n{log}"
        );
        assert!(
            !log.contains(&format!("DOWN;HARD;1;{forged}")),
            "{forged}:\n{log}"
        );
    }
    assert!(
        !log.contains("EXTERNAL COMMAND: DISABLE_NOTIFICATIONS"),
        "{log}"
    );
    assert!(
        log.contains("ACKNOWLEDGE_SVC_PROBLEM;web01;TCP Wrappers"),
        "{log}"
    );
    assert!(!log.contains("ACKNOWLEDGE_SVC_PROBLEM;db01"), "{log}");
    assert!(
        log.contains(
            "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;TCP Wrappers;1;0;0;nrdp;via nrdp"
        ),
        "{log}"
    );

    let metric = |m: &str, via: &str, id: &str, outcome: &str| -> u64 {
        let key = format!(
            "picket_ingest_total{{via=\"{via}\",identity=\"{id}\",outcome=\"{outcome}\"}} "
        );
        m.lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    wait_for("the counts in /metrics", 15, || {
        let (_, m) = http(web, "GET", "/metrics", &[], "");
        metric(&m, "api", "web-checker", "refused_unauthorized") == 7
            && metric(&m, "api", "web-checker", "accepted") == 3
            && metric(&m, "ui", "web-checker", "refused_unauthorized") == 1
            && metric(&m, "icinga-api", "web-checker", "refused_unauthorized") == 2
            && metric(&m, "icinga-api", "web-checker", "accepted") == 1
            // the filter Picket cannot read, and the object that does not exist (web99)
            && metric(&m, "icinga-api", "web-checker", "malformed") == 2
            && metric(&m, "icinga-api", "(unknown)", "bad_key") == 2
            && metric(&m, "nsca-ng", "web-checker", "refused_unauthorized") == 3
            && metric(&m, "nsca-ng", "web-checker", "accepted") == 1
            && metric(&m, "api", "web_token_file", "accepted") == 1
            && metric(&m, "nrdp", "web-checker", "accepted") == 2
            && metric(&m, "nrdp", "web-checker", "refused_unauthorized") == 3
            && metric(&m, "nrdp", "web-checker", "malformed") == 2
            && metric(&m, "nrdp", "(unknown)", "bad_key") == 1
    });
    let (c, page) = http(web, "GET", "/identities", &[], "");
    assert_eq!(c, 200);
    assert!(page.contains("<td>web-checker</td>"), "{page}");
    let (_, j) = http(web, "GET", "/api/identities", &[], "");
    let v: serde_json::Value = serde_json::from_str(&j).expect("json");
    let wc = v["identities"]
        .as_array()
        .expect("list")
        .iter()
        .find(|i| i["identity"] == "web-checker")
        .expect("web-checker listed")
        .clone();
    assert_eq!(wc["counts"]["api/refused_unauthorized"], 7, "{wc}");
    assert!(wc["last"]["time"].as_i64().is_some(), "{wc}");
}

/// A stream whose reads give up after a while (so a test cannot hang).
trait Timed: Read + Write {
    fn timeout(&self, t: Duration);
}
impl Timed for TcpStream {
    fn timeout(&self, t: Duration) {
        self.set_read_timeout(Some(t)).expect("timeout");
    }
}
impl Timed for std::os::unix::net::UnixStream {
    fn timeout(&self, t: Duration) {
        self.set_read_timeout(Some(t)).expect("timeout");
    }
}

/// One Livestatus request with `ResponseHeader: fixed16`; returns (code, body).
fn livestatus<S: Timed>(mut s: S, command: &str) -> (u16, String) {
    s.timeout(Duration::from_secs(10));
    s.write_all(format!("COMMAND {command}\nResponseHeader: fixed16\n\n").as_bytes())
        .expect("send");
    // The fixed16 header: code, blanks, body length, newline; then the body.
    let mut head = [0u8; 16];
    s.read_exact(&mut head).expect("fixed16 header");
    let head = String::from_utf8_lossy(&head).into_owned();
    let code = head[..3].parse().expect("code");
    let len: usize = head[3..].trim().parse().expect("length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("body");
    (code, String::from_utf8_lossy(&body).into_owned())
}

/// Livestatus `COMMAND` carries no user: the peer's uid on the unix socket
/// (`SO_PEERCRED`, `livestatus_uid_identity=`) names the identity whose scope
/// decides, as on every other path; TCP without `livestatus_tcp_identity=`
/// takes no command at all by default.
#[test]
fn livestatus_commands_are_decided_by_the_peers_identity() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::UnixStream;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("objects.cfg"),
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n host_name web01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define host {\n host_name db01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define service {\n host_name web01,db01\n service_description TCP Wrappers\n \
         check_command ok\n max_check_attempts 1\n is_volatile 1\n \
         active_checks_enabled 0\n passive_checks_enabled 1\n contacts a\n}\n",
    )
    .expect("objects");
    // Our uid: the owner of a file we just made.
    let uid = std::fs::metadata(d.join("objects.cfg"))
        .expect("meta")
        .uid();
    let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let tcp: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    std::fs::write(
        d.join("identities.cfg"),
        format!(
            "authorize \"web-checker\" {{\n  token = \"{TOKEN}\"\n  hosts = \"web.*\"\n  \
             services = \".+@web.*\"\n  commands = \"ACKNOWLEDGE_SVC_PROBLEM;web.*\"\n}}\n"
        ),
    )
    .expect("identities.cfg");
    let socket = d.join("live");
    std::fs::write(
        d.join("picket.cfg"),
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\nlog_passive_checks=1\nlog_external_commands=1\n\
             log_file={0}/nagios.log\nretain_state_information=0\nweb_listen={web}\n\
             api_identities_file={0}/identities.cfg\n\
             broker_module=/usr/lib/naemon/naemon-livestatus/livestatus.so {1}\n\
             livestatus_listen={tcp}\nlivestatus_uid_identity={uid}:web-checker\n",
            d.display(),
            socket.display()
        ),
    )
    .expect("picket.cfg");
    // `picket -v` sees who the commands are from.
    let v = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["-v".as_ref(), d.join("picket.cfg").as_os_str()])
        .output()
        .expect("picket -v");
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "Livestatus COMMAND: unix socket: any command (unscoped); tcp: refused (no identity); uid {uid}: identity web-checker"
        )),
        "{text}"
    );
    let err_file = std::fs::File::create(d.join("picket.err")).expect("err");
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(d.join("picket.cfg"))
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .spawn()
            .expect("picket"),
    );
    let read = |f: &str| {
        String::from_utf8_lossy(&std::fs::read(d.join(f)).unwrap_or_default()).into_owned()
    };
    wait_for("picket to listen", 60, || {
        if let Ok(Some(st)) = daemon.0.try_wait() {
            panic!("picket exited ({st}): {}", read("picket.err"));
        }
        UnixStream::connect(&socket).is_ok() && TcpStream::connect(tcp).is_ok()
    });
    let unix = || UnixStream::connect(&socket).expect("connect unix");
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let ok = |(c, b): (u16, String)| assert_eq!(c, 200, "{b}");
    ok(livestatus(
        unix(),
        &format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;web01;TCP Wrappers;2;Denied via livestatus"),
    ));
    wait_for("web01's result", 15, || {
        read("nagios.log")
            .contains("SERVICE ALERT: web01;TCP Wrappers;CRITICAL;HARD;1;Denied via livestatus")
    });
    ok(livestatus(
        unix(),
        &format!("[{t}] ACKNOWLEDGE_SVC_PROBLEM;web01;TCP Wrappers;1;0;0;w;mine"),
    ));
    for forged in [
        format!("[{t}] ACKNOWLEDGE_SVC_PROBLEM;db01;TCP Wrappers;1;0;0;w;not mine"),
        format!("[{t}] DISABLE_NOTIFICATIONS"),
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;db01;TCP Wrappers;2;forged flood"),
    ] {
        let (c, b) = livestatus(unix(), &forged);
        assert_eq!(c, 403, "{forged}: {b}");
        assert!(b.contains("identity web-checker may not submit"), "{b}");
    }
    // TCP names no identity: nothing by default, and the answer says how.
    let (c, b) = livestatus(
        TcpStream::connect(tcp).expect("tcp"),
        &format!("[{t}] DISABLE_NOTIFICATIONS"),
    );
    assert_eq!(c, 403, "{b}");
    assert!(b.contains("livestatus_tcp_identity="), "{b}");

    wait_for("the refusals in nagios.log", 15, || {
        read("nagios.log")
            .matches("Warning: authz: refusing")
            .count()
            >= 4
    });
    let log = read("nagios.log");
    let at = format!(
        "from identity web-checker at unix socket uid {uid} via livestatus: not authorized"
    );
    for line in [
        format!("Warning: authz: refusing command ACKNOWLEDGE_SVC_PROBLEM {at}"),
        format!("Warning: authz: refusing command DISABLE_NOTIFICATIONS {at}"),
        format!("Warning: authz: refusing service TCP Wrappers on host db01 {at}"),
        "Warning: authz: refusing command DISABLE_NOTIFICATIONS from identity (anonymous) at 127.0.0.1:".to_string(),
    ] {
        assert!(log.contains(&line), "missing {line:?} in:\n{log}");
    }
    assert!(
        log.contains("EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;TCP Wrappers"),
        "{log}"
    );
    assert!(!log.contains("ACKNOWLEDGE_SVC_PROBLEM;db01"), "{log}");
    assert!(
        !log.contains("EXTERNAL COMMAND: DISABLE_NOTIFICATIONS"),
        "{log}"
    );
    assert!(!log.contains("forged flood"), "{log}");

    let metric = |m: &str, id: &str, outcome: &str| -> u64 {
        let key = format!(
            "picket_ingest_total{{via=\"livestatus\",identity=\"{id}\",outcome=\"{outcome}\"}} "
        );
        m.lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    wait_for("the counts in /metrics", 15, || {
        let (_, m) = http(web, "GET", "/metrics", &[], "");
        metric(&m, "web-checker", "accepted") == 2
            && metric(&m, "web-checker", "refused_unauthorized") == 3
            && metric(&m, "(anonymous)", "refused_unauthorized") == 1
    });
}

/// `picket -v` reads the ingest files as the daemon does and reports their
/// errors with file:line, in `nagios -v`'s form.
#[test]
fn picket_v_checks_the_ingest_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("objects.cfg"),
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n host_name web01\n max_check_attempts 1\n contacts a\n check_command ok\n}\n\
         define service {\n host_name web01\n service_description s\n check_command ok\n \
         max_check_attempts 1\n contacts a\n}\n",
    )
    .expect("objects");
    let main = |ids: &str, extra: &str| {
        std::fs::write(d.join("identities.cfg"), ids).expect("identities");
        std::fs::write(
            d.join("picket.cfg"),
            format!(
                "cfg_file={0}/objects.cfg\nlog_file={0}/nagios.log\n\
                 web_listen=127.0.0.1:1\napi_identities_file={0}/identities.cfg\n\
                 broker_module=/usr/lib/naemon/naemon-livestatus/livestatus.so {0}/live\n{extra}",
                d.display()
            ),
        )
        .expect("picket.cfg");
        let o = Command::new(env!("CARGO_BIN_EXE_picket"))
            .args(["-v".as_ref(), d.join("picket.cfg").as_os_str()])
            .output()
            .expect("picket -v");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let good =
        format!("authorize \"web-checker\" {{\n  token = \"{TOKEN}\"\n  hosts = \"web.*\"\n}}\n");
    // Good files: exit 0, and the report says what was read.
    let (code, out) = main(&good, "livestatus_tcp_identity=web-checker\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Checked api_identities_file") && out.contains("(1 identities: web-checker)"),
        "{out}"
    );
    assert!(
        out.contains(
            "Livestatus COMMAND: unix socket: any command (unscoped); tcp: identity web-checker"
        ),
        "{out}"
    );
    // An unknown key in the identities file: its file:line.
    let (code, out) = main(
        &format!(
            "# ids\nauthorize \"web-checker\" {{\n  token = \"{TOKEN}\"\n  colour = \"red\"\n}}\n"
        ),
        "",
    );
    assert_eq!(code, Some(1), "{out}");
    let ids = d.join("identities.cfg");
    assert!(
        out.contains(&format!(
            "Error: api_identities_file {0}: {0}:4: unknown setting `colour`",
            ids.display()
        )),
        "{out}"
    );
    assert!(out.contains("Total Errors:   1"), "{out}");
    // A short token is refused, naming the block.
    let (code, out) = main("authorize \"w\" {\n  token = \"short\"\n}\n", "");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{}:1: authorize \"w\": a token or password must have at least 16 characters",
            ids.display()
        )),
        "{out}"
    );
    // A Livestatus identity that does not exist, and a bad uid: the main config's line.
    let cfg = d.join("picket.cfg");
    let (code, out) = main(&good, "livestatus_tcp_identity=nobody\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "Error: {}:6: identity 'nobody' for Livestatus commands is not in api_identities_file (web-checker)",
            cfg.display()
        )),
        "{out}"
    );
    let (code, out) = main(&good, "livestatus_uid_identity=root:web-checker\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "Error: {}:6: livestatus_uid_identity=root:web-checker: 'root' is not a numeric uid",
            cfg.display()
        )),
        "{out}"
    );
    // nsca-ng.cfg is checked too.
    std::fs::write(
        d.join("nsca-ng.cfg"),
        "listen = \"127.0.0.1:1\"\nfrobnicate = 1\n",
    )
    .expect("nsca-ng.cfg");
    let (code, out) = main(
        &good,
        &format!("nsca_ng_config_file={}/nsca-ng.cfg\n", d.display()),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("nsca-ng.cfg:2:"), "{out}");
}
