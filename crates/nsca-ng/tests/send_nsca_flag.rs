//! `send_nsca --nsca-ng` (crates/nsca's drop-in) runs this crate's
//! `send_nsca-ng` in its place: a result reaches Picket's `nsca-ng`
//! daemon's command file, and a refused one gets NSCA-ng's answer.
//! `send_nsca` is looked for beside `send_nsca-ng` (a workspace build puts
//! both there); without it the test says SKIP, and fails under CI.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn send_nsca_speaks_nsca_ng_when_asked() {
    let send_nsca = PathBuf::from(env!("CARGO_BIN_EXE_send_nsca-ng")).with_file_name("send_nsca");
    if !send_nsca.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is not built (cargo test --workspace builds it)",
            send_nsca.display()
        );
        eprintln!("SKIP: {} is not built", send_nsca.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let cmd = dir.path().join("nagios.cmd");
    std::fs::write(&cmd, "").expect("command file");
    let cfg = dir.path().join("nsca-ng.cfg");
    std::fs::write(
        &cfg,
        format!(
            "command_file = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n\
             authorize \"web\" {{\n  password = \"web-secret-1234\"\n  services = \".+@web.*\"\n}}\n",
            cmd.display()
        ),
    )
    .expect("cfg");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Kill(
        Command::new(env!("CARGO_BIN_EXE_nsca-ng"))
            .args(["-c", cfg.to_str().expect("utf-8"), "-F"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsca-ng"),
    );
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("nsca-ng to listen", 10, || {
        assert!(matches!(server.0.try_wait(), Ok(None)), "nsca-ng exited");
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    let client_cfg = dir.path().join("send_nsca.cfg");
    std::fs::write(
        &client_cfg,
        "identity = \"web\"\npassword = \"web-secret-1234\"\n",
    )
    .expect("client cfg");
    let run = |input: &[u8]| {
        let mut c = Command::new(&send_nsca)
            .args([
                "--nsca-ng",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-c",
            ])
            .arg(&client_cfg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("send_nsca");
        c.stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("stdin");
        c.wait_with_output().expect("wait")
    };
    let o = run(b"web01\tHTTP\t2\tvia send_nsca --nsca-ng\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for("the line in the command file", 10, || {
        std::fs::read_to_string(&cmd)
            .unwrap_or_default()
            .contains("PROCESS_SERVICE_CHECK_RESULT;web01;HTTP;2;via send_nsca --nsca-ng\n")
    });
    let o = run(b"db01\tHTTP\t2\tforged\n");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("You're not authorized"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
