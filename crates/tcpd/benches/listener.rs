//! Accepted connections per second of `tcpd --listen` (each connection: accept, fork+exec of
//! tcpd in inetd mode, table evaluation, exec of a trivial daemon, EOF).
//!
//! `cargo bench -p picket-tcpd --bench listener -- [CONNECTIONS] [PARALLEL]`

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let total: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let parallel: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let allow = dir.path().join("hosts.allow");
    let deny = dir.path().join("hosts.deny");
    std::fs::write(&allow, "ALL: 127.0.0.1\n").expect("write");
    std::fs::write(&deny, "ALL: ALL\n").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpd"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--print-addr",
            "--max-conns",
            "1024",
            "--allow",
        ])
        .arg(&allow)
        .arg("--deny")
        .arg(&deny)
        .args(["--", "/bin/true"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tcpd");
    let mut out = child.stdout.take().expect("stdout");
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while out.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    let addr: SocketAddr = String::from_utf8_lossy(&line)
        .trim()
        .parse()
        .expect("address");
    let start = Instant::now();
    let per = total / parallel;
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            std::thread::spawn(move || {
                let mut ok = 0usize;
                for _ in 0..per {
                    if let Ok(mut s) = TcpStream::connect(addr) {
                        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                        let mut sink = Vec::new();
                        if s.read_to_end(&mut sink).is_ok() {
                            ok += 1;
                        }
                    }
                }
                ok
            })
        })
        .collect();
    let done: usize = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    let secs = start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "tcpd --listen: {done} connections ({parallel} parallel clients) in {secs:.2} s = {:.0} accepted connections/s",
        done as f64 / secs
    );
}
