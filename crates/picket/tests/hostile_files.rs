//! Configuration files that never end: a FIFO, a device, a file too big. `picket -v`
//! and the daemon refuse each with the path and the reason, and never hang or read
//! until memory runs out. Every run is bounded in time and (through `ulimit -v`) in
//! memory, so that a regression fails the test instead of taking the machine down.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `picket ARGS` in `dir` with at most 2 GiB of address space, killed after 20 s.
fn picket(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg("ulimit -v 2097152; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_picket"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picket");
    let deadline = start + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "picket {args:?} still running after 20 s (killed):\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().expect("output"), start.elapsed())
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
}

/// A configuration that verifies, with `extra` added to the main file.
fn config(dir: &Path, extra: &str) {
    std::fs::write(
        dir.join("objects.cfg"),
        "define command {\n command_name c\n command_line /bin/true\n}\n\
         define contact {\n contact_name a\n host_notification_period p\n \
         service_notification_period p\n host_notification_commands c\n \
         service_notification_commands c\n}\n\
         define timeperiod {\n timeperiod_name p\n alias p\n}\n\
         define host {\n host_name h\n max_check_attempts 1\n contacts a\n \
         check_period p\n notification_interval 0\n notification_period p\n}\n\
         define service {\n host_name h\n service_description s\n check_command c\n \
         max_check_attempts 1\n check_interval 1\n retry_interval 1\n contacts a\n \
         check_period p\n notification_interval 0\n notification_period p\n}\n",
    )
    .expect("objects");
    std::fs::write(
        dir.join("main.cfg"),
        format!("cfg_file=objects.cfg\n{extra}"),
    )
    .expect("main");
}

fn refused(dir: &Path, main: &str, want: &str) {
    let (out, took) = picket(dir, &["-v", main]);
    let t = text(&out);
    assert!(!out.status.success(), "accepted:\n{t}");
    assert!(t.contains(want), "wanted {want:?} in:\n{t}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn the_good_configuration_verifies() {
    let d = tempfile::tempdir().expect("tempdir");
    config(d.path(), "");
    let (out, _) = picket(d.path(), &["-v", "main.cfg"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_fifo_as_cfg_file_is_refused_at_once() {
    let d = tempfile::tempdir().expect("tempdir");
    mkfifo(&d.path().join("pipe.cfg"));
    config(d.path(), "cfg_file=pipe.cfg\n");
    refused(
        d.path(),
        "main.cfg",
        "main.cfg:2: cannot read config file 'pipe.cfg': not a regular file (it is a FIFO)",
    );
}

#[test]
fn a_fifo_as_main_config_resource_include_or_in_cfg_dir_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    mkfifo(&p.join("pipe"));
    // The main configuration itself, verifier and daemon alike.
    refused(
        p,
        "pipe",
        "cannot read main configuration file 'pipe': not a regular file (it is a FIFO)",
    );
    let (out, _) = picket(p, &["pipe"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a regular file (it is a FIFO)"),
        "{}",
        text(&out)
    );
    // A resource file.
    config(p, "resource_file=pipe\n");
    refused(
        p,
        "main.cfg",
        "main.cfg:2: cannot read resource file 'pipe': not a regular file (it is a FIFO)",
    );
    // An include_file inside an object file.
    std::fs::write(p.join("inc.cfg"), "include_file=pipe\n").expect("inc");
    config(p, "cfg_file=inc.cfg\n");
    refused(
        p,
        "main.cfg",
        "inc.cfg:1: cannot read config file 'pipe': not a regular file (it is a FIFO)",
    );
    // A FIFO named *.cfg in a cfg_dir, and a FIFO named as the cfg_dir.
    std::fs::create_dir(p.join("dir")).expect("dir");
    mkfifo(&p.join("dir/x.cfg"));
    config(p, "cfg_dir=dir\n");
    refused(p, "main.cfg", "x.cfg': not a regular file (it is a FIFO)");
    config(p, "cfg_dir=pipe\n");
    refused(p, "main.cfg", "cannot read config directory 'pipe'");
}

#[test]
fn dev_zero_and_directories_are_not_read() {
    let d = tempfile::tempdir().expect("tempdir");
    config(d.path(), "cfg_file=/dev/zero\n");
    refused(
        d.path(),
        "main.cfg",
        "cannot read config file '/dev/zero': not a regular file (it is a character device)",
    );
    std::fs::create_dir(d.path().join("sub")).expect("dir");
    config(d.path(), "cfg_file=sub\n");
    refused(
        d.path(),
        "main.cfg",
        "cannot read config file 'sub': not a regular file (it is a directory)",
    );
}

#[test]
fn a_file_over_256_mib_is_refused_with_its_path() {
    let d = tempfile::tempdir().expect("tempdir");
    // Sparse: costs no disk, and is refused before a byte of it is read.
    let big = std::fs::File::create(d.path().join("big.cfg")).expect("big");
    big.set_len(picket_config::MAX_CONFIG_FILE_BYTES + 1)
        .expect("set_len");
    config(d.path(), "cfg_file=big.cfg\n");
    refused(
        d.path(),
        "main.cfg",
        "cannot read config file 'big.cfg': larger than 256 MiB, the most a configuration file may hold",
    );
}
