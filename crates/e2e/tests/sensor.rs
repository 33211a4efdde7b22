//! `picket-sensor` delivers to a real `picket` over `POST /api/connection-events`: kernel
//! `LOG` drops of one source on 20 ports of `firestorm` become 20 connection events in
//! the log, each once, and the correlator opens one incident for the source.

use std::time::Duration;

use picket_e2e::{Example, Nsca, bin, wait_for};

#[test]
fn sensor_events_reach_picket_and_open_one_incident() {
    let ex = Example::with_detection(Nsca::BuiltIn, "2s");
    let _picket = ex.start_picket();
    let d = ex.dir.path();
    wait_for("web.token", 20, || d.join("web.token").exists());
    let mut log = String::new();
    for p in 1000..1020 {
        log.push_str(&format!(
            "firestorm kernel: [ 1.0] picket-drop IN=eth0 OUT= SRC=203.0.113.9 DST=192.0.2.1 LEN=44 PROTO=TCP SPT=40000 DPT={p} WINDOW=1024 RES=0x00 SYN URGP=0\n"
        ));
    }
    std::fs::write(d.join("kern.log"), log).expect("kern.log");
    let out = std::process::Command::new(bin("picket-sensor"))
        .arg("--server")
        .arg(format!("http://{}", ex.web))
        .arg("--token-file")
        .arg(d.join("web.token"))
        .args(["--host-name", "firestorm", "--once", "--file"])
        .arg(d.join("kern.log"))
        .arg("--state-file")
        .arg(d.join("sensor-state.json"))
        .arg("--spool-dir")
        .arg(d.join("sensor-spool"))
        .output()
        .expect("run picket-sensor");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = || {
        ex.file("var/picket.log")
            .lines()
            .filter(|l| l.contains("CONNECTION EVENT: ") && l.contains(";203.0.113.9;tcp;"))
            .count()
    };
    wait_for("20 connection events", 30, || events() >= 20);
    std::thread::sleep(Duration::from_millis(1500));
    let log = ex.file("var/picket.log");
    assert_eq!(events(), 20, "{log}");
    let opened: Vec<_> = log
        .lines()
        .filter(|l| l.contains("SCAN INCIDENT: ") && l.contains(";opened;203.0.113.9;"))
        .collect();
    assert_eq!(opened.len(), 1, "{log}");
}
