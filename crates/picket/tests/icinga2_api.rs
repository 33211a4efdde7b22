//! The Icinga 2 API side by side with Debian's `icinga2`: a real `icinga2
//! daemon` with an `ApiListener` on an ephemeral port (certificates made
//! here with `openssl`, state and run directories in a temporary directory)
//! and an `ApiUser` whose `actions/process-check-result` permission has a
//! filter (`match("web*", host.name)`), and a real `picket` with the same
//! hosts and services and the same user in `api_identities_file` (scope
//! `web.*`). The same `POST /v1/actions/process-check-result` requests go to
//! both — a good result by filter and by name, unknown objects, objects
//! outside the user's scope (by name, by filter, a host), wrong and missing
//! credentials, a body that is not JSON, missing parameters, a host
//! `exit_status` of 2 — and the HTTP codes and bodies must agree (for the
//! body that is not JSON: its shape; the parser's message differs).
//!
//! Under `CI=true` a missing `/usr/sbin/icinga2` fails the test (`.ci/run`
//! installs icinga2-bin); otherwise it prints SKIP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod support;
use support::{free_port, wait_for};

const ICINGA2: &str = "/usr/sbin/icinga2";
const USER: &str = "web-checker";
const PASSWORD: &str = "web-checker-api-password";

/// A child in a process group of its own (Icinga 2 forks a worker), killed as
/// a group on drop.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `POST /v1/actions/process-check-result` as icinga2apic sends it, from
/// Python (HTTPS without verification for Icinga's own CA); `auth`: user and
/// password, or none. Returns (status, body).
fn post(url: &str, auth: Option<(&str, &str)>, body: &str) -> (u16, String) {
    let script = r#"
import base64, ssl, sys, urllib.request, urllib.error
url, user, pw, body = sys.argv[1:5]
req = urllib.request.Request(url, data=body.encode(), method="POST")
req.add_header("Accept", "application/json")
req.add_header("X-HTTP-Method-Override", "POST")
req.add_header("Content-Type", "application/json")
if user:
    req.add_header("Authorization", "Basic " + base64.b64encode((user + ":" + pw).encode()).decode())
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    r = urllib.request.urlopen(req, timeout=10, context=ctx if url.startswith("https") else None)
    code, text = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    code, text = e.code, e.read().decode()
except Exception as e:
    code, text = 0, repr(e)
print(code)
print(text)
"#;
    let (user, pw) = auth.unwrap_or(("", ""));
    let o = Command::new("python3")
        .args(["-c", script, url, user, pw, body])
        .output()
        .expect("python3 (.ci/run installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (code, rest) = text.split_once('\n').expect("two lines");
    (code.trim().parse().expect("code"), rest.trim().to_string())
}

fn icinga2_present() -> bool {
    if Path::new(ICINGA2).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{ICINGA2} is missing under CI (install icinga2-bin, see .ci/run)");
    }
    eprintln!("SKIP: {ICINGA2} is not installed; the Icinga 2 API is not compared");
    false
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (.ci/run installs it)");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `icinga2 daemon` with the API on `port`; returns it and its output file.
fn start_icinga2(dir: &Path, port: u16) -> Group {
    let certs = dir.join("var/lib/icinga2/certs");
    for d in [
        "run/icinga2",
        "var/lib/icinga2/certs",
        "var/log/icinga2",
        "var/cache/icinga2",
        "var/spool/icinga2",
    ] {
        std::fs::create_dir_all(dir.join(d)).expect("icinga2 dirs");
    }
    // A CA and the node's certificate (CN = NodeName), where the ApiListener looks.
    openssl(
        &certs,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=Picket test CA",
            "-days",
            "2",
        ],
    );
    openssl(
        &certs,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "picket-test.key",
            "-out",
            "picket-test.csr",
            "-subj",
            "/CN=picket-test",
        ],
    );
    openssl(
        &certs,
        &[
            "x509",
            "-req",
            "-in",
            "picket-test.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "picket-test.crt",
            "-days",
            "2",
        ],
    );
    let cfg = dir.join("icinga2.conf");
    std::fs::write(
        &cfg,
        format!(
            "const NodeName = \"picket-test\"\n\
             object IcingaApplication \"app\" {{ enable_notifications = false; enable_flapping = false }}\n\
             object Endpoint \"picket-test\" {{ }}\n\
             object Zone \"master\" {{ endpoints = [ \"picket-test\" ] }}\n\
             object ApiListener \"api\" {{ bind_host = \"127.0.0.1\"; bind_port = {port}; accept_commands = false; accept_config = false }}\n\
             object ApiUser \"{USER}\" {{ password = \"{PASSWORD}\"; permissions = [ {{ permission = \"actions/process-check-result\"; filter = {{{{ match(\"web*\", host.name) }}}} }} ] }}\n\
             object CheckCommand \"check_none\" {{ command = [ \"/bin/true\" ] }}\n\
             object Host \"web01\" {{ check_command = \"check_none\"; enable_active_checks = false; max_check_attempts = 1 }}\n\
             object Host \"db01\" {{ check_command = \"check_none\"; enable_active_checks = false; max_check_attempts = 1 }}\n\
             object Service \"TCP Wrappers\" {{ host_name = \"web01\"; check_command = \"check_none\"; enable_active_checks = false; max_check_attempts = 1 }}\n\
             object Service \"TCP Wrappers\" {{ host_name = \"db01\"; check_command = \"check_none\"; enable_active_checks = false; max_check_attempts = 1 }}\n"
        ),
    )
    .expect("icinga2.conf");
    let id = |flag: &str| {
        let o = Command::new("id").arg(flag).output().expect("id");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let out = std::fs::File::create(dir.join("icinga2.out")).expect("icinga2.out");
    Group(
        Command::new(ICINGA2)
            .arg("daemon")
            .arg("-c")
            .arg(&cfg)
            .arg(format!("-DRunDir={}/run", dir.display()))
            .arg(format!("-DLocalStateDir={}/var", dir.display()))
            .arg(format!("-DRunAsUser={}", id("-un")))
            .arg(format!("-DRunAsGroup={}", id("-gn")))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start icinga2"),
    )
}

fn start_picket(dir: &Path, web: SocketAddr) -> Group {
    std::fs::write(
        dir.join("objects.cfg"),
        "define command {\n command_name ok\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n service_notification_commands ok\n \
         host_notification_commands ok\n}\n\
         define host {\n host_name web01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define host {\n host_name db01\n max_check_attempts 1\n contacts a\n active_checks_enabled 0\n}\n\
         define service {\n host_name web01,db01\n service_description TCP Wrappers\n \
         check_command ok\n max_check_attempts 1\n active_checks_enabled 0\n \
         passive_checks_enabled 1\n contacts a\n}\n",
    )
    .expect("objects");
    std::fs::write(
        dir.join("identities.cfg"),
        format!(
            "authorize \"{USER}\" {{\n  password = \"{PASSWORD}\"\n  hosts = \"web.*\"\n  services = \".+@web.*\"\n}}\n"
        ),
    )
    .expect("identities");
    std::fs::write(
        dir.join("picket.cfg"),
        format!(
            "cfg_file={0}/objects.cfg\ncommand_file={0}/nagios.cmd\ncheck_external_commands=1\n\
             accept_passive_service_checks=1\naccept_passive_host_checks=1\n\
             log_file={0}/nagios.log\nretain_state_information=0\nweb_listen={web}\n\
             api_identities_file={0}/identities.cfg\n",
            dir.display()
        ),
    )
    .expect("picket.cfg");
    let err = std::fs::File::create(dir.join("picket.err")).expect("err");
    Group(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg(dir.join("picket.cfg"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("picket"),
    )
}

#[test]
fn process_check_result_answers_as_icinga2() {
    if !icinga2_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (ic_dir, pk_dir) = (dir.path().join("icinga2"), dir.path().join("picket"));
    std::fs::create_dir_all(&ic_dir).expect("dir");
    std::fs::create_dir_all(&pk_dir).expect("dir");
    let ic_port = free_port();
    let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let _icinga = start_icinga2(&ic_dir, ic_port);
    let _picket = start_picket(&pk_dir, web);
    let ic = format!("https://127.0.0.1:{ic_port}/v1/actions/process-check-result");
    let pk = format!("http://{web}/v1/actions/process-check-result");
    let auth = Some((USER, PASSWORD));
    let good = r#"{"type":"Service","filter":"host.name==\"web01\" && service.name==\"TCP Wrappers\"","exit_status":2,"plugin_output":"Denied from x","performance_data":["a=1"],"check_source":"py"}"#;
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_for("icinga2 and picket to answer", 90, || {
        let ic_log = read(&ic_dir.join("icinga2.out"));
        assert!(!ic_log.contains("critical/"), "icinga2 failed: {ic_log}");
        TcpStream::connect(("127.0.0.1", ic_port)).is_ok()
            && TcpStream::connect(web).is_ok()
            && post(&ic, auth, good).0 == 200
            && post(&pk, auth, good).0 == 200
    });
    let same = [
        ("a good result by filter", auth, good.to_string()),
        (
            "a good host result by name",
            auth,
            r#"{"type":"Host","host":"web01","exit_status":0,"plugin_output":"UP"}"#.into(),
        ),
        (
            "an unknown service",
            auth,
            r#"{"type":"Service","service":"web99!TCP Wrappers","exit_status":0,"plugin_output":"x"}"#.into(),
        ),
        (
            "a service outside the scope, by name",
            auth,
            r#"{"type":"Service","service":"db01!TCP Wrappers","exit_status":2,"plugin_output":"forged"}"#.into(),
        ),
        (
            "a service outside the scope, by filter",
            auth,
            r#"{"type":"Service","filter":"host.name==\"db01\" && service.name==\"TCP Wrappers\"","exit_status":2,"plugin_output":"forged"}"#.into(),
        ),
        (
            "a host outside the scope",
            auth,
            r#"{"type":"Host","host":"db01","exit_status":1,"plugin_output":"forged"}"#.into(),
        ),
        (
            "one host inside and one outside the scope",
            auth,
            r#"{"type":"Host","hosts":["web01","db01"],"exit_status":0,"plugin_output":"x"}"#.into(),
        ),
        (
            "one known host and one that does not exist (nothing of it is taken)",
            auth,
            r#"{"type":"Host","hosts":["web01","web99"],"exit_status":1,"plugin_output":"half-known"}"#.into(),
        ),
        (
            "a known and an unknown service by name",
            auth,
            r#"{"type":"Service","services":["web01!TCP Wrappers","web01!No Such"],"exit_status":2,"plugin_output":"half-known"}"#.into(),
        ),
        (
            "a wrong password",
            Some((USER, "wrong-password-here")),
            r#"{"type":"Host","host":"web01","exit_status":0,"plugin_output":"x"}"#.into(),
        ),
        (
            "no credentials",
            None,
            r#"{"type":"Host","host":"web01","exit_status":0,"plugin_output":"x"}"#.into(),
        ),
        (
            "no exit_status",
            auth,
            r#"{"type":"Host","host":"web01","plugin_output":"x"}"#.into(),
        ),
        (
            "no plugin_output",
            auth,
            r#"{"type":"Host","host":"web01","exit_status":0}"#.into(),
        ),
        (
            "a host exit_status of 2",
            auth,
            r#"{"type":"Host","host":"web01","exit_status":2,"plugin_output":"x"}"#.into(),
        ),
    ];
    for (what, a, body) in &same {
        let i = post(&ic, *a, body);
        let p = post(&pk, *a, body);
        assert_eq!(p, i, "{what}: picket (left) and icinga2 (right) differ");
    }
    // A body that is not JSON: the same code and shape, the parser's own words.
    let (ic_code, ic_body) = post(&ic, auth, r#"{"type":"Host","#);
    let (pk_code, pk_body) = post(&pk, auth, r#"{"type":"Host","#);
    assert_eq!((pk_code, ic_code), (400, 400));
    for b in [&ic_body, &pk_body] {
        let v: serde_json::Value = serde_json::from_str(b).expect("json");
        assert_eq!(v["error"], 400, "{b}");
        assert!(
            v["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("Invalid request body: ")),
            "{b}"
        );
    }
    // Picket logged the hidden objects as refusals.
    wait_for("the refusals in nagios.log", 15, || {
        read(&pk_dir.join("nagios.log"))
            .matches("Warning: authz: refusing")
            .count()
            >= 4
    });
    let log = read(&pk_dir.join("nagios.log"));
    assert!(
        log.contains("Warning: authz: refusing service TCP Wrappers on host db01 from identity web-checker at 127.0.0.1 via icinga-api: not authorized"),
        "{log}"
    );
    assert!(!log.contains("forged"), "{log}");
    assert!(!log.contains("half-known"), "{log}");
}
