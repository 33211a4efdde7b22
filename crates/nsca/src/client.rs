//! The client transport: connect, read the init packet, send results; and
//! the on-disk spool that `send_nsca --spool DIR` keeps results in when the
//! server cannot be reached.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use picket_nsca_proto::{
    CheckResult, ClientSession, CryptoError, INIT_PACKET_LEN, InitPacket, Method, PacketFormat,
};

/// Why a result could not be delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No connection could be made.
    #[error("Could not connect to host {host} on port {port}: {source}")]
    Connect {
        /// Host as given.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        source: io::Error,
    },
    /// The server closed the connection before its init packet.
    #[error("Server closed connection before init packet was received")]
    InitClosed,
    /// The init packet was short.
    #[error(
        "Init packet from server was too short ({got} bytes received, {INIT_PACKET_LEN} expected)"
    )]
    InitShort {
        /// Bytes received.
        got: usize,
    },
    /// Reading the init packet failed.
    #[error("Could not read init packet from server: {0}")]
    InitRead(io::Error),
    /// The method cannot be used.
    #[error("Failed to initialize encryption libraries for method {}: {source}", .method.number())]
    Crypto {
        /// The method.
        method: Method,
        /// Why.
        source: CryptoError,
    },
    /// Sending failed.
    #[error("Could not send data to host: {0}")]
    Send(io::Error),
}

/// An open connection to an NSCA server.
pub struct Connection {
    stream: TcpStream,
    session: ClientSession,
    buf: Vec<u8>,
}

impl Connection {
    /// Connects to `host:port`, reads the init packet and sets up the
    /// cipher. `deadline` bounds the whole exchange.
    pub fn open(
        host: &str,
        port: u16,
        deadline: Instant,
        method: Method,
        password: &[u8],
        format: PacketFormat,
    ) -> Result<Connection, ClientError> {
        let connect_err = |source| ClientError::Connect {
            host: host.to_string(),
            port,
            source,
        };
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(connect_err)?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for host");
        let mut stream = None;
        for a in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timeout while attempting connection",
                );
                break;
            }
            match TcpStream::connect_timeout(&a, left) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let mut stream = stream.ok_or_else(|| connect_err(last))?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = stream.set_read_timeout(Some(left));
        let _ = stream.set_write_timeout(Some(left));
        let _ = stream.set_nodelay(true);

        let mut init = [0u8; INIT_PACKET_LEN];
        let mut got = 0;
        while got < INIT_PACKET_LEN {
            match stream.read(&mut init[got..]) {
                Ok(0) if got == 0 => return Err(ClientError::InitClosed),
                Ok(0) => return Err(ClientError::InitShort { got }),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ClientError::InitRead(e)),
            }
        }
        let init = InitPacket::decode(&init).map_err(|_| ClientError::InitShort { got })?;
        let session = ClientSession::new(method, password, &init, format)
            .map_err(|source| ClientError::Crypto { method, source })?;
        Ok(Connection {
            stream,
            session,
            buf: Vec::with_capacity(format.packet_len()),
        })
    }

    /// Encrypts and sends one result.
    pub fn send(&mut self, result: &CheckResult) -> Result<(), ClientError> {
        self.buf.clear();
        self.session.encode(result, random_fill, &mut self.buf);
        self.stream.write_all(&self.buf).map_err(ClientError::Send)
    }

    /// Closes the connection cleanly (the server sees EOF; a legacy 720-byte
    /// packet is only taken at EOF).
    pub fn finish(self) -> Result<(), ClientError> {
        self.stream
            .shutdown(std::net::Shutdown::Write)
            .map_err(ClientError::Send)
    }
}

/// Fills packet padding with random bytes (the C client uses `rand()`
/// characters; the server ignores them, and random bytes leak nothing).
fn random_fill(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        buf.fill(0);
    }
}

/// Results kept on disk until a server takes them (`send_nsca --spool DIR`).
///
/// Each undelivered batch is one file `DIR/<unix time>-<pid>-<n>.nsca`,
/// written to a temporary name and renamed, holding records of four
/// NUL-terminated fields (host, service, return code, output): none of them
/// can hold a NUL, as they travel as C strings. A file is deleted only after
/// every result in it was sent, so a crash may send a result twice but never
/// loses one. Spooled results are sent before new ones, oldest file first;
/// they arrive with the time of delivery (NSCA carries no per-result time).
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// A spool in `dir`, created if needed.
    pub fn open(dir: &Path) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    /// The spool files, oldest first.
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "nsca"))
            .collect();
        v.sort();
        Ok(v)
    }

    /// Reads one spool file.
    pub fn read(path: &Path) -> io::Result<Vec<CheckResult>> {
        let data = fs::read(path)?;
        let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
        // split() yields a trailing empty piece after the last NUL.
        let fields = &fields[..fields.len().saturating_sub(1)];
        if fields.len() % 4 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a send_nsca spool file", path.display()),
            ));
        }
        Ok(fields
            .chunks_exact(4)
            .map(|f| CheckResult {
                timestamp: 0,
                host_name: f[0].to_vec(),
                service: f[1].to_vec(),
                return_code: picket_nsca_proto::config::atoi(&String::from_utf8_lossy(f[2])) as i16,
                plugin_output: f[3].to_vec(),
            })
            .collect())
    }

    /// Stores `results` as one new spool file.
    pub fn store(&self, results: &[CheckResult]) -> io::Result<PathBuf> {
        let mut data = Vec::new();
        for r in results {
            for f in [&r.host_name[..], &r.service[..]] {
                data.extend(f.iter().copied().filter(|&b| b != 0));
                data.push(0);
            }
            data.extend_from_slice(r.return_code.to_string().as_bytes());
            data.push(0);
            data.extend(r.plugin_output.iter().copied().filter(|&b| b != 0));
            data.push(0);
        }
        let now = crate::server::unix_now();
        let pid = std::process::id();
        for n in 0.. {
            let path = self.dir.join(format!("{now:012}-{pid}-{n}.nsca"));
            if path.exists() {
                continue;
            }
            let tmp = self.dir.join(format!(".{now:012}-{pid}-{n}.tmp"));
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            return Ok(path);
        }
        unreachable!("an unbounded range always yields a free name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_round_trip_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s")).unwrap();
        let r = |h: &str, out: &[u8]| CheckResult {
            timestamp: 0,
            return_code: 2,
            host_name: h.as_bytes().to_vec(),
            service: b"TCP Wrappers".to_vec(),
            plugin_output: out.to_vec(),
        };
        let a = spool.store(&[r("a", b"x\ty\nz"), r("b", b"")]).unwrap();
        let b = spool.store(&[r("c", b"3")]).unwrap();
        assert_eq!(spool.pending().unwrap(), vec![a.clone(), b]);
        let back = Spool::read(&a).unwrap();
        assert_eq!(back, vec![r("a", b"x\ty\nz"), r("b", b"")]);
    }
}
