//! NSCA 2 source-address rules (`source_allow_file`, `source_deny_file`):
//! Picket's `nsca` takes `firestorm`'s results only from the address its
//! rules allow; other hosts' results, and every result without rules, as
//! before. Clients bind 127.0.0.2 and 127.0.0.3 on loopback.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use picket_nsca_proto::{
    CheckResult, ClientSession, INIT_PACKET_LEN, InitPacket, Method, PacketFormat,
};

fn result(host: &str, svc: &str, out: &[u8]) -> CheckResult {
    CheckResult {
        timestamp: 0,
        return_code: 2,
        host_name: host.as_bytes().to_vec(),
        service: svc.as_bytes().to_vec(),
        plugin_output: out.to_vec(),
    }
}

/// A TCP connection to `to` from the local address `from`.
fn connect_from(from: [u8; 4], to: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    use std::os::fd::AsRawFd;
    let std::net::SocketAddr::V4(to) = to else {
        panic!("IPv4 only");
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(std::net::SocketAddrV4::new(from.into(), 0)),
    )?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(TcpStream::from(fd))
}

/// Sends `r` (method 1) from `from` and closes the connection.
fn send_from(from: [u8; 4], to: std::net::SocketAddr, r: &CheckResult) {
    let mut s = connect_from(from, to).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut init = [0u8; INIT_PACKET_LEN];
    s.read_exact(&mut init).expect("init packet");
    let init = InitPacket::decode(&init).expect("decode init");
    let mut c = ClientSession::new(Method::Xor, PASSWORD.as_bytes(), &init, PacketFormat::V3)
        .expect("session");
    let mut buf = Vec::new();
    c.encode(r, |_| {}, &mut buf);
    s.write_all(&buf).expect("send");
}

#[test]
fn a_host_is_taken_only_from_its_addresses() {
    let rules = tempfile::tempdir().expect("tempdir");
    let allow = rules.path().join("sources.allow");
    let deny = rules.path().join("sources.deny");
    std::fs::write(
        &allow,
        "# result host : client addresses\nfirestorm : 127.0.0.2\n",
    )
    .expect("allow");
    std::fs::write(&deny, "firestorm : ALL\n").expect("deny");
    let d = Daemon::start(
        &picket_nsca(),
        1,
        &format!(
            "source_allow_file={}\nsource_deny_file={}\n",
            allow.display(),
            deny.display()
        ),
    );
    send_from(
        [127, 0, 0, 3],
        d.addr,
        &result("firestorm", "TCP Wrappers", b"forged"),
    );
    wait_for("the refusal in the log", 10, || {
        d.log_text().contains("Dropping result from 127.0.0.3:")
            && d.log_text()
                .contains("refusing a result for host firestorm from this address")
    });
    send_from(
        [127, 0, 0, 2],
        d.addr,
        &result("firestorm", "TCP Wrappers", b"real"),
    );
    send_from(
        [127, 0, 0, 3],
        d.addr,
        &result("web01", "HTTP", b"other host"),
    );
    let mut lines = d.wait_lines(2);
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "PROCESS_SERVICE_CHECK_RESULT;firestorm;TCP Wrappers;2;real".to_string(),
            "PROCESS_SERVICE_CHECK_RESULT;web01;HTTP;2;other host".to_string(),
        ]
    );
}

#[test]
fn an_unreadable_table_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("nsca.cfg");
    std::fs::write(
        &cfg,
        format!(
            "server_address=127.0.0.1\nserver_port={}\npassword={PASSWORD}\ncommand_file={}\n\
             source_deny_file={}\n",
            free_port(),
            dir.path().join("cmd").display(),
            dir.path().join("missing.deny").display()
        ),
    )
    .expect("cfg");
    let mut child = Command::new(picket_nsca())
        .args(["-f", "-c"])
        .arg(&cfg)
        .arg("--single")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nsca");
    wait_for("nsca to exit", 20, || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("source_deny_file") && err.contains("missing.deny"),
        "{err}"
    );
}
