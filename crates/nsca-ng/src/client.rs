//! The client transport (connect, TLS-PSK, one [`ClientSession`]) and the
//! on-disk spool of commands that could not be delivered.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use openssl::ssl::Ssl;
use picket_nsca_ng_proto::{ClientEvent, ClientSession};

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// Server name or address.
    pub server: String,
    /// Port (number).
    pub port: u16,
    /// Client identity.
    pub identity: String,
    /// Password (the PSK).
    pub password: Vec<u8>,
    /// `tls_ciphers`.
    pub ciphers: String,
    /// `timeout` (None: none).
    pub timeout: Option<Duration>,
}

/// What became of each command of a [`send`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Indexes the server answered `OKAY`.
    pub accepted: Vec<usize>,
    /// Indexes the server answered `FAIL`, with its message.
    pub refused: Vec<(usize, String)>,
    /// Indexes never answered (the connection failed first), with the error.
    pub undelivered: Vec<usize>,
    /// Why the session ended early, if it did.
    pub error: Option<String>,
}

/// Sends `commands` (each one line with its `\n`) in one session.
pub fn send(t: &Target, commands: &[Vec<u8>]) -> Outcome {
    let mut out = Outcome::default();
    let fail_all = |out: &mut Outcome, e: String| {
        out.undelivered = (0..commands.len()).collect();
        out.error = Some(e);
    };
    let addrs: Vec<_> = match (t.server.as_str(), t.port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            fail_all(&mut out, format!("Cannot resolve {}: {e}", t.server));
            return out;
        }
    };
    let connect_timeout = t.timeout.unwrap_or(Duration::from_secs(60));
    let mut last = String::from("no address");
    let stream = addrs
        .iter()
        .find_map(|a| match TcpStream::connect_timeout(a, connect_timeout) {
            Ok(s) => Some(s),
            Err(e) => {
                last = format!("Cannot connect to {a}: {e}");
                None
            }
        });
    let Some(stream) = stream else {
        fail_all(&mut out, last);
        return out;
    };
    let _ = stream.set_read_timeout(t.timeout);
    let _ = stream.set_write_timeout(t.timeout);
    let ctx = match crate::tls::client_context(&t.ciphers, &t.identity, &t.password) {
        Ok(c) => c,
        Err(e) => {
            fail_all(&mut out, format!("TLS setup failed: {e}"));
            return out;
        }
    };
    let mut tls = match Ssl::new(&ctx).map_err(|e| e.to_string()).and_then(|s| {
        s.connect(stream).map_err(|e| match e {
            openssl::ssl::HandshakeError::Failure(m) => m.error().to_string(),
            other => other.to_string(),
        })
    }) {
        Ok(s) => s,
        Err(e) => {
            fail_all(&mut out, format!("TLS error ({}): {e}", t.server));
            return out;
        }
    };
    let id = session_id();
    let mut s = ClientSession::new(&id);
    for c in commands {
        s.push(c.clone());
    }
    s.finish();
    let mut buf = [0u8; 4096];
    loop {
        let o = s.take_output();
        if !o.is_empty() {
            if let Err(e) = tls.write_all(&o).and_then(|()| tls.flush()) {
                out.error = Some(format!("Cannot send: {e}"));
                break;
            }
        }
        if s.is_closed() {
            break;
        }
        match tls.read(&mut buf) {
            Ok(0) => {
                out.error = Some("The server closed the connection".into());
                break;
            }
            Ok(n) => s.receive(&buf[..n]),
            Err(e) => {
                out.error = Some(
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                        "Connection timed out".to_string()
                    } else {
                        format!("Cannot receive: {e}")
                    },
                );
                break;
            }
        }
        while let Some(ev) = s.poll() {
            match ev {
                ClientEvent::Accepted(i) => out.accepted.push(i),
                ClientEvent::Refused(i, m) => out.refused.push((i, m)),
                ClientEvent::Failed(m) => out.error = Some(m),
                ClientEvent::Open | ClientEvent::Done => {}
            }
        }
    }
    if !s.is_closed() || out.error.is_some() {
        let first = s.unanswered();
        out.undelivered = (first..commands.len())
            .filter(|i| !out.accepted.contains(i) && !out.refused.iter().any(|(j, _)| j == i))
            .collect();
    }
    let _ = tls.shutdown();
    out
}

fn session_id() -> String {
    use rand::Rng;
    const C: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = rand::rng();
    (0..8)
        .map(|_| char::from(C[r.random_range(0..C.len())]))
        .collect()
}

/// Commands kept on disk until a server takes them (`send_nsca-ng --spool DIR`).
///
/// Each undelivered batch is one file `DIR/<unix time>-<pid>-<n>.nsca-ng`
/// of complete command lines (they carry their own timestamps, so a late
/// delivery keeps the time of the check), written to a temporary name,
/// `fsync`ed and renamed. A file is deleted only after every command in it
/// was answered, so a crash may send a command twice but never loses one.
/// A refused command is not kept: the server will refuse it again.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// A spool in `dir`, created if needed.
    pub fn open(dir: &Path) -> std::io::Result<Spool> {
        fs::create_dir_all(dir)?;
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    /// The spool files, oldest first.
    pub fn pending(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "nsca-ng"))
            .collect();
        v.sort();
        Ok(v)
    }

    /// The commands of one spool file.
    pub fn read(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
        let data = fs::read(path)?;
        Ok(data
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| l.ends_with(b"\n"))
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// Stores `commands` as one new spool file.
    pub fn store(&self, commands: &[Vec<u8>]) -> std::io::Result<PathBuf> {
        let data: Vec<u8> = commands.concat();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let pid = std::process::id();
        let mut n = 0u64;
        loop {
            let path = self.dir.join(format!("{now:012}-{pid}-{n}.nsca-ng"));
            if !path.exists() {
                let tmp = self.dir.join(format!(".{now:012}-{pid}-{n}.tmp"));
                let mut f = fs::File::create(&tmp)?;
                f.write_all(&data)?;
                f.sync_all()?;
                fs::rename(&tmp, &path)?;
                return Ok(path);
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Spool;

    #[test]
    fn spool_round_trip_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Spool::open(&dir.path().join("s")).expect("open");
        let a = s
            .store(&[b"[1] A\n".to_vec(), b"[2] B\n".to_vec()])
            .expect("store");
        let b = s.store(&[b"[3] C\n".to_vec()]).expect("store");
        assert_eq!(s.pending().expect("list"), vec![a.clone(), b]);
        assert_eq!(
            Spool::read(&a).expect("read"),
            vec![b"[1] A\n".to_vec(), b"[2] B\n".to_vec()]
        );
    }
}
