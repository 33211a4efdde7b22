//! Debian's Nagios 4 CGIs (`nagios4-cgi`) against the files `nagios4` and Picket write
//! for the same scenario (the objects and steps of `crates/engine/tests/statusfile/`):
//! each engine runs in a directory of its own with the oracle harness' `nagios.cfg`, the
//! steps go into its command FIFO, and once its `status.dat` holds them the CGIs run
//! from the command line as a web server runs them (`NAGIOS_CGI_CONFIG`,
//! `REQUEST_METHOD`, `REMOTE_USER`, `QUERY_STRING`) with the shipped
//! `examples/nagios-cgi/cgi.cfg`. Checked:
//!
//! * `statusjson.cgi` host and service lists and details agree field by field, times
//!   aside (and `percent_state_change`: Picket computes it only while flap detection is
//!   on, deliberate difference 6 in `ARCHITECTURE.md`), and so do the comment and
//!   downtime counts;
//! * `objectjson.cgi` lists every object type with the same fields and values (an option
//!   list with every letter is `a` in Picket's `objects.cache`: see `all_options`);
//! * `archivejson.cgi` alert and notification lists agree, times aside;
//! * `extinfo.cgi` shows the same service and host information (times aside);
//! * `status.cgi` renders the same service and host problems (status classes, links and
//!   icons);
//! * `cmd.cgi` submits a passive result (its line ends in `|`) that Picket executes: the
//!   command and the recovery are in `nagios.log`, and `status.dat` shows the new state.
//!
//! Without nagios4 or nagios4-cgi the test is skipped, loudly, and fails under `CI`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use picket_e2e::{Proc, bin, repo, wait_for};
use serde_json::Value;

const CGI: &str = "/usr/lib/cgi-bin/nagios4";
const NAGIOS: &str = "/usr/sbin/nagios4";
const USER: &str = "nagiosadmin";

fn peers_present() -> bool {
    let missing: Vec<String> = [
        NAGIOS.to_owned(),
        format!("{CGI}/statusjson.cgi"),
        format!("{CGI}/archivejson.cgi"),
        format!("{CGI}/status.cgi"),
        format!("{CGI}/cmd.cgi"),
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{missing:?} missing: CI must install nagios4-core and nagios4-cgi (.ci/run)"
    );
    eprintln!("SKIPPED: the CGI test needs {missing:?} (apt-get install nagios4-core nagios4-cgi)");
    false
}

/// One engine's run directory.
struct Run {
    dir: tempfile::TempDir,
    proc: Option<Proc>,
}

impl Run {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    /// Set up the harness' configuration with the scenario's objects and start `engine`.
    fn start(engine: &Path) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = dir.path();
        let lib = repo().join("tests/oracle/nagios/lib");
        let scn = repo().join("crates/engine/tests/statusfile");
        for d in ["tmp", "checkresults", "archives"] {
            std::fs::create_dir_all(w.join(d)).unwrap();
        }
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap()
            .name;
        let group = nix::unistd::Group::from_gid(nix::unistd::getgid())
            .unwrap()
            .unwrap()
            .name;
        let cfg = std::fs::read_to_string(lib.join("nagios.cfg.in"))
            .unwrap()
            .replace("@W@", &w.display().to_string())
            .replace("@USER@", &user)
            .replace("@GROUP@", &group);
        std::fs::write(w.join("nagios.cfg"), cfg).unwrap();
        std::fs::write(
            w.join("resource.cfg"),
            format!("$USER1$=/usr/lib/nagios/plugins\n$USER2$={}\n", w.display()),
        )
        .unwrap();
        std::fs::copy(lib.join("common.cfg"), w.join("common.cfg")).unwrap();
        std::fs::copy(lib.join("capture.sh"), w.join("capture.sh")).unwrap();
        std::fs::copy(scn.join("objects.cfg"), w.join("objects.cfg")).unwrap();
        let out = std::fs::File::create(w.join("engine.out")).unwrap();
        let proc = Proc(
            Command::new(engine)
                .arg(w.join("nagios.cfg"))
                .current_dir(w)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("start engine"),
        );
        let run = Run {
            dir,
            proc: Some(proc),
        };
        let fifo = run.path("nagios.cmd");
        wait_for("the command FIFO", 20, || {
            use std::os::unix::fs::FileTypeExt;
            std::fs::metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo())
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let steps = std::fs::read_to_string(scn.join("steps.txt")).unwrap();
        let mut lines = String::new();
        for l in steps.lines() {
            let l = l
                .replace("${NOW+100}", &(now + 100).to_string())
                .replace("${NOW+600}", &(now + 600).to_string())
                .replace("${NOW}", &now.to_string());
            lines.push_str(&format!("[{now}] {l}\n"));
        }
        run.command(&lines);
        // status_update_interval=5 in the harness' nagios.cfg
        wait_for("status.dat with the scenario's downtimes", 20, || {
            let s = run.read("status.dat");
            s.contains("servicedowntime {") && s.contains("_SVCVAR=1;changed")
        });
        run
    }

    fn command(&self, lines: &str) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path("nagios.cmd"))
            .expect("open FIFO");
        f.write_all(lines.as_bytes()).expect("write FIFO");
    }

    /// The shipped `cgi.cfg`, pointed at this run's `nagios.cfg`.
    fn cgi_cfg(&self) -> PathBuf {
        let text = std::fs::read_to_string(repo().join("examples/nagios-cgi/cgi.cfg")).unwrap();
        let mut out = String::new();
        for l in text.lines() {
            if l.starts_with("main_config_file=") {
                out.push_str(&format!(
                    "main_config_file={}\n",
                    self.path("nagios.cfg").display()
                ));
            } else {
                out.push_str(l);
                out.push('\n');
            }
        }
        let p = self.path("cgi.cfg");
        std::fs::write(&p, out).unwrap();
        p
    }

    /// Run a CGI as a web server would; the body after the headers.
    fn cgi(&self, name: &str, query: &str, extra: &[(&str, &str)]) -> String {
        let mut c = Command::new(format!("{CGI}/{name}"));
        c.env_clear()
            .env("NAGIOS_CGI_CONFIG", self.cgi_cfg())
            .env("REQUEST_METHOD", "GET")
            .env("REMOTE_USER", USER)
            .env("QUERY_STRING", query)
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null());
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().expect("run CGI");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        match text
            .split_once("\r\n\r\n")
            .or_else(|| text.split_once("\n\n"))
        {
            Some((_, body)) => body.to_owned(),
            None => panic!("{name}?{query}: no header end in {text:?}"),
        }
    }

    fn json(&self, name: &str, query: &str) -> Value {
        let body = self.cgi(name, query, &[]);
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}?{query}: {e} in {body}"));
        assert_eq!(
            v["result"]["type_code"], 0,
            "{name}?{query} failed: {}",
            v["result"]
        );
        v["data"].clone()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            let pid = nix::unistd::Pid::from_raw(p.0.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let mut p = p;
            while std::time::Instant::now() < deadline {
                if p.0.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            drop(p);
        }
    }
}

/// Keys whose values are instants or durations of the run (they differ between two
/// runs of the same scenario).
fn is_time(key: &str) -> bool {
    key.starts_with("last_time_")
        || key.ends_with("_time")
        || matches!(
            key,
            "timestamp"
                | "last_update"
                | "last_check"
                | "next_check"
                | "last_state_change"
                | "last_hard_state_change"
                | "last_notification"
                | "next_notification"
                | "latency"
                | "execution_time"
                | "starttime"
                | "endtime"
                | "flex_downtime_start"
                | "program_start"
                // Picket computes it only with flap detection on (deliberate
                // difference 6); the harness runs with enable_flap_detection=0.
                | "percent_state_change"
        )
}

fn strip_times(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !is_time(k))
                .map(|(k, v)| (k.clone(), strip_times(v)))
                .collect(),
        ),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(strip_times).collect();
            // the two engines log lines of one instant in their own orders
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Picket writes an option list that has every letter as `a` (what nagios4 writes for
/// the defaults and for `a`); nagios4 writes the letters when they were listed, and
/// `objectjson.cgi` then shows their bits instead of -1. Where Picket's value is -1, take
/// it for nagios4's too.
fn all_options(nagios: &mut Value, picket: &Value) {
    match (nagios, picket) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a.iter_mut() {
                match b.get(k) {
                    Some(vb) if k.contains("options") && vb == -1 => *va = vb.clone(),
                    Some(vb) => all_options(va, vb),
                    None => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (va, vb) in a.iter_mut().zip(b) {
                all_options(va, vb);
            }
        }
        _ => {}
    }
}

/// Compare field by field, naming the first path that differs.
fn same(what: &str, nagios: &Value, picket: &Value, path: &str) {
    match (nagios, picket) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            assert_eq!(ka, kb, "{what}: the fields of {path} differ");
            for (k, va) in a {
                same(what, va, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(
                a.len(),
                b.len(),
                "{what}: {path} has {} entries from nagios4, {} from Picket\nnagios4: {nagios:#}\npicket: {picket:#}",
                a.len(),
                b.len()
            );
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                same(what, va, vb, &format!("{path}[{i}]"));
            }
        }
        (a, b) => assert_eq!(a, b, "{what}: {path}"),
    }
}

/// `(class, link)` of every status cell that links to an object, and every icon's text,
/// in page order: what a reader of `status.cgi` sees, without times.
fn problems(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("class='status") {
        let r = &rest[i + "class='".len()..];
        let class: String = r.chars().take_while(|c| *c != '\'').collect();
        let after = &r[class.len()..];
        if let Some(link) = after.strip_prefix("'><a href='extinfo.cgi?") {
            let link: String = link.chars().take_while(|c| *c != '\'').collect();
            out.push(format!("{class} {link}"));
        }
        rest = after;
    }
    let mut rest = html;
    while let Some(i) = rest.find("ALT='") {
        let r = &rest[i + 5..];
        let alt: String = r.chars().take_while(|c| *c != '\'').collect();
        out.push(format!("icon {alt}"));
        rest = &r[alt.len()..];
    }
    out
}

/// The text of `extinfo.cgi`'s status cells (`<DIV CLASS='...'>text</DIV>` and
/// `<TD CLASS='data...'>`), without times and durations, and its comment rows' authors
/// and texts.
fn extinfo(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in html.lines() {
        for cell in line.split("CLASS='").skip(1) {
            let (class, rest) = cell.split_once('\'').unwrap_or((cell, ""));
            let text: String = rest
                .trim_start_matches('>')
                .chars()
                .take_while(|c| *c != '<')
                .collect();
            let timeish = text.chars().any(|c| c.is_ascii_digit())
                && (text.contains(':') || text.contains("d ") || text.contains('-'));
            if !text.trim().is_empty() && !timeish {
                out.push(format!("{class}: {}", text.trim()));
            }
        }
    }
    out
}

#[test]
fn debian_cgis_read_picket_as_they_read_nagios() {
    if !peers_present() {
        return;
    }
    let nagios = Run::start(Path::new(NAGIOS));
    let picket = Run::start(&bin("picket"));

    let sj = "statusjson.cgi";
    for q in [
        "query=hostlist&details=true",
        "query=servicelist&details=true",
        "query=host&hostname=db1",
        "query=host&hostname=web1",
        "query=service&hostname=web1&servicedescription=TCP+Wrappers",
        "query=service&hostname=db1&servicedescription=Disk",
        "query=hostcount",
        "query=servicecount",
        "query=commentcount",
        "query=downtimecount",
    ] {
        let (a, b) = (nagios.json(sj, q), picket.json(sj, q));
        same(
            &format!("{sj}?{q}"),
            &strip_times(&a),
            &strip_times(&b),
            "data",
        );
    }
    // the lists are not empty: the comparison compared something
    let list = picket.json(sj, "query=servicelist&details=true");
    assert_eq!(
        list["servicelist"]["web1"]["TCP Wrappers"]["plugin_output"],
        "Denied sshd-10.1.2.3"
    );
    assert_eq!(list["servicelist"]["web1"]["TCP Wrappers"]["status"], 16);
    assert_eq!(
        picket.json(sj, "query=downtimecount")["count"],
        2,
        "two downtimes"
    );

    let oj = "objectjson.cgi";
    for q in [
        "query=hostlist&details=true",
        "query=servicelist&details=true",
        "query=contactlist&details=true",
        "query=contactgrouplist&details=true",
        "query=hostgrouplist&details=true",
        "query=servicegrouplist&details=true",
        "query=timeperiodlist&details=true",
        "query=commandlist&details=true",
        "query=servicedependencylist&details=true",
        "query=serviceescalationlist&details=true",
        "query=hostdependencylist&details=true",
        "query=hostescalationlist&details=true",
    ] {
        let (mut a, b) = (
            strip_times(&nagios.json(oj, q)),
            strip_times(&picket.json(oj, q)),
        );
        all_options(&mut a, &b);
        same(&format!("{oj}?{q}"), &a, &b, "data");
    }
    let hosts = picket.json(oj, "query=hostlist&details=true");
    assert_eq!(
        hosts["hostlist"]["db1"]["parent_hosts"][0], "web1",
        "{hosts:#}"
    );

    let aj = "archivejson.cgi";
    for q in [
        "query=alertlist&starttime=-3600&endtime=%2B60",
        "query=notificationlist&starttime=-3600&endtime=%2B60",
    ] {
        let (a, b) = (nagios.json(aj, q), picket.json(aj, q));
        same(
            &format!("{aj}?{q}"),
            &strip_times(&a),
            &strip_times(&b),
            "data",
        );
    }
    let alerts = picket.json(aj, "query=alertlist&starttime=-3600&endtime=%2B60");
    assert_eq!(
        alerts["alertlist"].as_array().map(Vec::len),
        Some(3),
        "{alerts:#}"
    );
    let notes = picket.json(aj, "query=notificationlist&starttime=-3600&endtime=%2B60");
    assert!(
        notes["notificationlist"]
            .as_array()
            .is_some_and(|n| n.len() >= 2),
        "{notes:#}"
    );

    for q in [
        "host=all&servicestatustypes=28",
        "hostgroup=all&style=hostdetail&hoststatustypes=12",
        "host=all",
    ] {
        let (a, b) = (
            problems(&nagios.cgi("status.cgi", q, &[])),
            problems(&picket.cgi("status.cgi", q, &[])),
        );
        assert_eq!(
            a, b,
            "status.cgi?{q}: nagios4 and Picket render different problems"
        );
        assert!(!b.is_empty(), "status.cgi?{q} rendered no status cell");
    }
    for q in ["type=2&host=web1&service=TCP+Wrappers", "type=1&host=db1"] {
        let (a, b) = (
            extinfo(&nagios.cgi("extinfo.cgi", q, &[])),
            extinfo(&picket.cgi("extinfo.cgi", q, &[])),
        );
        assert_eq!(a, b, "extinfo.cgi?{q}: nagios4 and Picket differ");
        assert!(
            b.iter()
                .any(|l| l.starts_with("serviceCRITICAL:") || l.starts_with("hostDOWN:")),
            "extinfo.cgi?{q} shows no state: {b:#?}"
        );
    }
    let page = problems(&picket.cgi("status.cgi", "host=all&servicestatustypes=28", &[]));
    assert!(
        page.iter()
            .any(|l| l == "statusBGCRITICALACK type=2&host=web1&service=TCP+Wrappers"),
        "{page:?}"
    );
    drop(nagios);

    // cmd.cgi: PROCESS_SERVICE_CHECK_RESULT (cmd_typ 30), committed (cmd_mod 2), with the
    // CSRF pair the form would carry.
    let body = picket.cgi(
        "cmd.cgi",
        "cmd_typ=30&cmd_mod=2&host=web1&service=TCP+Wrappers&plugin_state=0&plugin_output=cleared+by+cmd.cgi&nagFormId=f00d",
        &[("HTTP_COOKIE", "NagFormId=f00d")],
    );
    assert!(
        body.contains("successfully submitted"),
        "cmd.cgi did not submit: {body}"
    );
    wait_for("the cmd.cgi command in Picket's nagios.log", 10, || {
        picket.read("nagios.log").contains(
            "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web1;TCP Wrappers;0;cleared by cmd.cgi|",
        )
    });
    wait_for("the recovery in Picket's nagios.log", 10, || {
        picket
            .read("nagios.log")
            .contains("SERVICE ALERT: web1;TCP Wrappers;OK;HARD;1;cleared by cmd.cgi")
    });
    wait_for("status.dat with the result cmd.cgi submitted", 15, || {
        let s = picket.read("status.dat");
        s.contains(
            "\tplugin_output=cleared by cmd.cgi\n\tlong_plugin_output=\n\tperformance_data=\n",
        )
    });
    let svc = picket.json(
        sj,
        "query=service&hostname=web1&servicedescription=TCP+Wrappers",
    );
    assert_eq!(svc["service"]["status"], 2, "OK is status 2: {svc:#}");
    assert_eq!(svc["service"]["plugin_output"], "cleared by cmd.cgi");
    assert_eq!(svc["service"]["perf_data"], "");
}
