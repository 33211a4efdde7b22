//! Configuration files named on the command line (or inside `nsca.cfg`) are
//! read as regular files only: a FIFO given to `-c` is refused at once with
//! its path, instead of blocking the program until someone writes to it
//! (what `fopen` + `fgets` in the C programs do).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn mkfifo(path: &Path) -> nix::Result<()> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
}

/// Runs `cmd` and waits at most 20 s for it to end (a program blocked on a
/// FIFO never would: it is killed and the test fails).
fn run_bounded(mut cmd: Command) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait()?.is_some() {
            return child.wait_with_output();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output()?;
            panic!(
                "{cmd:?} still running after 20 s (blocked on the FIFO?): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn nsca_refuses_a_fifo_as_its_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("nsca.cfg");
    mkfifo(&fifo).unwrap();
    let mut cmd = Command::new(picket_nsca());
    cmd.args(["-f", "-c", fifo.to_str().unwrap()]);
    let out = run_bounded(cmd).unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains(fifo.to_str().unwrap()) && t.contains("FIFO"),
        "{t}"
    );
}

#[test]
fn send_nsca_refuses_a_fifo_as_its_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("send_nsca.cfg");
    mkfifo(&fifo).unwrap();
    let mut cmd = Command::new(picket_send_nsca());
    cmd.args(["-H", "127.0.0.1", "-c", fifo.to_str().unwrap()]);
    let out = run_bounded(cmd).unwrap();
    // send_nsca's exit code for an unreadable config file, as the C client's.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("FIFO"), "{t}");
}

#[test]
fn nsca_refuses_a_fifo_as_a_source_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("nsca.allow");
    mkfifo(&fifo).unwrap();
    let cfg = dir.path().join("nsca.cfg");
    std::fs::write(
        &cfg,
        format!(
            "server_port={}\nserver_address=127.0.0.1\ncommand_file={}\npassword=x\n\
             decryption_method=1\nsource_allow_file={}\n",
            free_port(),
            dir.path().join("cmd").display(),
            fifo.display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(picket_nsca());
    cmd.args(["-f", "-c", cfg.to_str().unwrap()]);
    let out = run_bounded(cmd).unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("source_allow_file") && t.contains("FIFO"), "{t}");
}
