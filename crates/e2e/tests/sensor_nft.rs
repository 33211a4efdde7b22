//! The kernel's firewall log end to end, with network namespaces the test creates:
//!
//! ```text
//! netns B (10.203.N.2) ── veth ── netns A (10.203.N.1, examples/sensor/picket-sensor.nft)
//!   nmap -sS ──────────────────────> dropped SYNs ─> kernel LOG ─> /dev/kmsg (host-wide)
//!   picket-sensor --kmsg --host-name fw1 ──> POST /api/connection-events ──> picket
//! ```
//!
//! The documented rule set is loaded in namespace A with its log prefixes made unique to
//! this run (`picket-drop-RUN `, `picket-trap-RUN `): the kernel log is the host's, and
//! the test looks only at the events whose daemon is its own prefix. The sensor runs in its
//! long-running mode and starts at the end of the kernel's ring buffer.
//!
//! Needs root (namespaces, raw sockets for nmap, /dev/kmsg), Debian's `nftables`,
//! `iproute2` and `nmap`, and the kernel must log netfilter lines from namespaces other
//! than the initial one: `net.netfilter.nf_log_all_netns=1`, a sysctl of the initial
//! namespace only. The test sets it for its run and restores the old value; where it
//! cannot (a container in a network namespace of its own), the host must set it. Without
//! these the test skips, saying which is missing; under `CI` it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use picket_e2e::{Example, Nsca, Proc, bin, get_json, repo, wait_for};

/// SKIP outside CI, fail under it.
fn unavailable(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIP: {why}");
}

fn peer(path: &str, package: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    unavailable(&format!("{path} is missing: apt-get install -y {package}"));
    None
}

fn run(what: &str, cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{what}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair; deleted on drop (the veth goes with them).
struct Netns {
    a: String,
    b: String,
}

impl Netns {
    fn create(ip: &Path, tag: &str, net: u8) -> Result<Netns, String> {
        let ns = Netns {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
        };
        let ipc = |args: &[&str]| {
            run(
                &format!("ip {}", args.join(" ")),
                Command::new(ip).args(args),
            )
        };
        ipc(&["netns", "add", &ns.a])?;
        ipc(&["netns", "add", &ns.b])?;
        let (va, vb) = (format!("{tag}x"), format!("{tag}y"));
        ipc(&[
            "link", "add", &va, "netns", &ns.a, "type", "veth", "peer", "name", &vb, "netns", &ns.b,
        ])?;
        ipc(&[
            "-n",
            &ns.a,
            "addr",
            "add",
            &format!("10.203.{net}.1/24"),
            "dev",
            &va,
        ])?;
        ipc(&[
            "-n",
            &ns.b,
            "addr",
            "add",
            &format!("10.203.{net}.2/24"),
            "dev",
            &vb,
        ])?;
        for (n, v) in [(&ns.a, &va), (&ns.b, &vb)] {
            ipc(&["-n", n, "link", "set", v, "up"])?;
            ipc(&["-n", n, "link", "set", "lo", "up"])?;
        }
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

const NF_LOG_ALL_NETNS: &str = "/proc/sys/net/netfilter/nf_log_all_netns";

/// `nf_log_all_netns` set to 1 for the test, the old value restored on drop.
struct LogAllNetns(Option<String>);

impl LogAllNetns {
    fn enable() -> Result<LogAllNetns, String> {
        let old = std::fs::read_to_string(NF_LOG_ALL_NETNS).map_err(|e| {
            format!(
                "{NF_LOG_ALL_NETNS}: {e} (not the initial network namespace? the host must \
                 set net.netfilter.nf_log_all_netns=1, or the kernel logs nothing of a \
                 namespace's firewall)"
            )
        })?;
        if old.trim() == "1" {
            return Ok(LogAllNetns(None));
        }
        std::fs::write(NF_LOG_ALL_NETNS, "1")
            .map_err(|e| format!("cannot set {NF_LOG_ALL_NETNS} to 1: {e}"))?;
        Ok(LogAllNetns(Some(old)))
    }
}

impl Drop for LogAllNetns {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            let _ = std::fs::write(NF_LOG_ALL_NETNS, old.trim());
        }
    }
}

/// A kernel log record of the test's own (root may write to /dev/kmsg).
fn kmsg_note(text: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = f.write_all(format!("<6>{text}\n").as_bytes());
    }
}

#[test]
fn nft_log_drops_from_a_namespace_reach_picket_and_open_one_incident() {
    let Some(nft) = peer("/usr/sbin/nft", "nftables") else {
        return;
    };
    let Some(ip) = peer("/usr/sbin/ip", "iproute2") else {
        return;
    };
    let Some(nmap) = peer("/usr/bin/nmap", "nmap") else {
        return;
    };
    if !nix::unistd::geteuid().is_root() {
        return unavailable("network namespaces, nmap -sS and /dev/kmsg need root");
    }
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let run_id = format!("{:x}", (pid ^ nanos) & 0xff_ffff);
    let net = (pid % 250) as u8 + 1;
    let ns = match Netns::create(&ip, &format!("pk{run_id}"), net) {
        Ok(ns) => ns,
        Err(e) => return unavailable(&format!("cannot create network namespaces: {e}")),
    };
    let _log_all = match LogAllNetns::enable() {
        Ok(g) => g,
        Err(e) => return unavailable(&e),
    };
    let (drop_prefix, trap_prefix) = (
        format!("picket-drop-{run_id}"),
        format!("picket-trap-{run_id}"),
    );
    let rules = std::fs::read_to_string(repo().join("examples/sensor/picket-sensor.nft"))
        .expect("examples/sensor/picket-sensor.nft");
    assert!(rules.contains("\"picket-drop \"") && rules.contains("\"picket-trap \""));
    let rules = rules
        .replace("\"picket-drop \"", &format!("\"{drop_prefix} \""))
        .replace("\"picket-trap \"", &format!("\"{trap_prefix} \""));

    let ex = Example::with_detection(Nsca::BuiltIn, "2s");
    let d = ex.dir.path();
    let rules_file = d.join("picket-sensor.nft");
    std::fs::write(&rules_file, rules).expect("rule set");
    if let Err(e) = run(
        "nft -f",
        Command::new(&ip)
            .args(["netns", "exec", &ns.a])
            .arg(&nft)
            .arg("-f")
            .arg(&rules_file),
    ) {
        return unavailable(&format!("cannot load the rule set in a namespace: {e}"));
    }
    let _picket = ex.start_picket();
    wait_for("web.token", 20, || d.join("web.token").exists());

    let conf = d.join("sensor-fw1.conf");
    std::fs::write(&conf, "window = 1\n").expect("sensor conf");
    let state = d.join("sensor-fw1.json");
    let _sensor = Proc(
        Command::new(bin("picket-sensor"))
            .arg("--config")
            .arg(&conf)
            .arg("--server")
            .arg(format!("http://{}", ex.web))
            .arg("--token-file")
            .arg(d.join("web.token"))
            .args(["--host-name", "fw1", "--kmsg", "--state-file"])
            .arg(&state)
            .arg("--spool-dir")
            .arg(d.join("sensor-fw1-spool"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sensor-fw1.err")).expect("err"))
            .spawn()
            .expect("start picket-sensor"),
    );
    // The sensor starts at the ring buffer's end: it is reading once a record logged
    // after its start shows in its saved position.
    wait_for("the sensor to read /dev/kmsg", 20, || {
        kmsg_note(&format!("picket e2e {run_id}: is the sensor reading?"));
        std::thread::sleep(Duration::from_millis(300));
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"kmsg\": ["))
    });

    // A SYN scan of 30 closed ports and two trap ports, from namespace B.
    let target = format!("10.203.{net}.1");
    let scanner = format!("10.203.{net}.2");
    let out = run(
        "nmap -sS",
        Command::new(&ip)
            .args(["netns", "exec", &ns.b])
            .arg(&nmap)
            .args([
                "-sS",
                "-Pn",
                "-n",
                "--max-retries",
                "1",
                "-p",
                "1000-1029,23,31337",
            ])
            .arg(&target),
    )
    .expect("nmap");
    assert!(
        out.contains("filtered"),
        "the rule set drops the SYNs: {out}"
    );

    let events = || -> Vec<String> {
        ex.file("var/picket.log")
            .lines()
            .filter_map(|l| {
                l.split_once("CONNECTION EVENT: ")
                    .map(|(_, r)| r.to_string())
            })
            .filter(|r| r.contains(&format!(";fw1;{scanner};")))
            .collect()
    };
    let ports = |evs: &[String], daemon: &str, kind: &str| -> std::collections::BTreeSet<u16> {
        evs.iter()
            .filter(|e| e.contains(&format!(";{daemon};{kind};")))
            .filter_map(|e| e.split(';').nth(4)?.parse().ok())
            .collect()
    };
    let dump = || {
        format!(
            "== picket.log\n{}\n== sensor-fw1.err\n{}",
            ex.file("var/picket.log"),
            ex.file("sensor-fw1.err")
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let e = events();
        if ports(&e, &drop_prefix, "firewall_drop").len() == 30
            && ports(&e, &trap_prefix, "trap").len() == 2
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for 30 dropped ports and 2 traps\n{}",
            dump()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let e = events();
    assert_eq!(
        ports(&e, &drop_prefix, "firewall_drop"),
        (1000..1030).collect(),
        "{e:#?}"
    );
    assert_eq!(
        ports(&e, &trap_prefix, "trap"),
        [23, 31337].into(),
        "{e:#?}"
    );
    assert!(
        e.iter().all(|l| l.contains(";tcp;")),
        "every event is a TCP SYN: {e:#?}"
    );

    // The correlator: one incident for the scan.
    let opened = || -> Vec<String> {
        ex.file("var/picket.log")
            .lines()
            .filter(|l| l.contains("SCAN INCIDENT: ") && l.contains(";opened;"))
            .map(str::to_string)
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while opened().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no incident\n{}",
            dump()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second scan of the same ports is the same incident, not a new one.
    run(
        "nmap -sS",
        Command::new(&ip)
            .args(["netns", "exec", &ns.b])
            .arg(&nmap)
            .args(["-sS", "-Pn", "-n", "--max-retries", "0", "-p", "1030-1049"])
            .arg(&target),
    )
    .expect("nmap");
    wait_for("the second scan's events", 30, || {
        ports(&events(), &drop_prefix, "firewall_drop").len() == 50
    });
    let o = opened();
    assert_eq!(o.len(), 1, "exactly one incident: {o:#?}\n{}", dump());
    assert!(o[0].contains(&format!(";opened;{scanner};")), "{}", o[0]);
    // The trap ports may open it first; the 30 dropped ports make it vertical too.
    wait_for("the incident to be vertical", 15, || {
        ex.file("var/picket.log").lines().any(|l| {
            l.contains("SCAN INCIDENT: 1;")
                && l.split(';').nth(3).is_some_and(|d| d.contains("vertical"))
        })
    });

    // The Denied-connections view by source.
    wait_for("the source in /api/denied", 15, || {
        get_json(ex.web, "/api/denied")
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["addr"] == scanner.as_str()))
    });
    let denied = get_json(ex.web, "/api/denied");
    let row = denied
        .as_array()
        .and_then(|a| a.iter().find(|s| s["addr"] == scanner.as_str()))
        .cloned()
        .unwrap_or_default();
    assert!(
        row["daemons"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == drop_prefix.as_str())),
        "{row}"
    );
}
