//! The two ends of one NSCA connection, without I/O: the caller moves bytes
//! and supplies the clock and the randomness.
//!
//! Server: [`ServerSession::new`] gives the init packet to send; each
//! complete packet read is passed to [`ServerSession::decode`]; when the
//! peer stops sending, [`end_of_stream`] says what the bytes left over mean.
//!
//! Client: [`ClientSession::new`] takes the init packet received, and
//! [`ClientSession::encode`] turns each result into the encrypted bytes to
//! send.

use crate::crypto::{CryptoError, CryptoState, IV_LEN, Method};
use crate::packet::{
    CheckResult, DecodeError, InitPacket, LEGACY_PACKET_LEN, PACKET_LEN, PacketFormat,
};

/// Why a packet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The packet does not decode (version, CRC, length).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The packet's timestamp is further from the server's clock than
    /// `max_packet_age` allows.
    #[error("stale timestamp: packet is {age} seconds old, max_packet_age is {max}")]
    Stale {
        /// Server time minus packet time (negative: from the future).
        age: i64,
        /// The configured limit.
        max: u32,
    },
    /// The packet's timestamp is not the one this connection's init packet
    /// carried: a replay from another connection or a broken client.
    #[error("packet timestamp {got} differs from this connection's {expected}")]
    ForeignTimestamp {
        /// The timestamp sent in the init packet.
        expected: u32,
        /// The timestamp in the data packet.
        got: u32,
    },
}

/// The server end of one connection.
#[derive(Debug)]
pub struct ServerSession {
    crypto: CryptoState,
    init_timestamp: u32,
    max_packet_age: u32,
}

impl ServerSession {
    /// Starts a session: `iv` must come from a CSPRNG, `now` is the server's
    /// clock in UNIX seconds. Returns the session and the init packet to send.
    pub fn new(
        method: Method,
        password: &[u8],
        iv: [u8; IV_LEN],
        now: u64,
        max_packet_age: u32,
    ) -> Result<(ServerSession, InitPacket), CryptoError> {
        let crypto = CryptoState::new(method, password, &iv)?;
        let init = InitPacket {
            iv,
            timestamp: now as u32,
        };
        Ok((
            ServerSession {
                crypto,
                init_timestamp: init.timestamp,
                max_packet_age,
            },
            init,
        ))
    }

    /// Decrypts `packet` in place (a whole v3 or legacy packet, received in
    /// order) and decodes it. `now` is the server clock.
    ///
    /// After an error the cipher state may no longer match the client's
    /// (CFB-8 runs on), so the connection should be closed, as the C daemon
    /// does.
    pub fn decode(&mut self, packet: &mut [u8], now: u64) -> Result<CheckResult, PacketError> {
        if packet.len() != PACKET_LEN && packet.len() != LEGACY_PACKET_LEN {
            return Err(DecodeError::Length(packet.len()).into());
        }
        self.crypto.decrypt_packet(packet);
        let result = CheckResult::decode(packet)?;
        if self.max_packet_age > 0 {
            let age = now as i64 - i64::from(result.timestamp);
            if age.unsigned_abs() > u64::from(self.max_packet_age) {
                return Err(PacketError::Stale {
                    age,
                    max: self.max_packet_age,
                });
            }
            if result.timestamp != self.init_timestamp {
                return Err(PacketError::ForeignTimestamp {
                    expected: self.init_timestamp,
                    got: result.timestamp,
                });
            }
        }
        Ok(result)
    }
}

/// What the bytes buffered when a client stops sending (EOF or read
/// timeout) mean. The C daemon always asks for a v3 packet and takes
/// exactly 720 bytes at that point as a 2.7 packet (`nsca.c:1306-1325`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndOfStream {
    /// Nothing pending: a clean end.
    Clean,
    /// Exactly one legacy packet is pending: decode it.
    Legacy,
    /// A partial packet: it is lost (log it).
    Truncated(usize),
}

/// Classifies the bytes pending when the peer stops sending.
pub fn end_of_stream(pending: usize) -> EndOfStream {
    match pending {
        0 => EndOfStream::Clean,
        LEGACY_PACKET_LEN => EndOfStream::Legacy,
        n => EndOfStream::Truncated(n),
    }
}

/// The client end of one connection.
#[derive(Debug)]
pub struct ClientSession {
    crypto: CryptoState,
    timestamp: u32,
    format: PacketFormat,
}

impl ClientSession {
    /// Starts a session from the server's init packet.
    pub fn new(
        method: Method,
        password: &[u8],
        init: &InitPacket,
        format: PacketFormat,
    ) -> Result<ClientSession, CryptoError> {
        Ok(ClientSession {
            crypto: CryptoState::new(method, password, &init.iv)?,
            timestamp: init.timestamp,
            format,
        })
    }

    /// The packet format in use.
    pub fn format(&self) -> PacketFormat {
        self.format
    }

    /// Appends the encrypted packet for `result` to `out`. Its timestamp is
    /// the server's, as clients must echo it. `pad` fills the packet before
    /// the fields are written (the bytes after each field's terminator are
    /// sent as it leaves them): give it random bytes.
    pub fn encode(&mut self, result: &CheckResult, pad: impl FnOnce(&mut [u8]), out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.format.packet_len(), 0);
        let packet = &mut out[start..];
        pad(packet);
        let mut r = result.clone();
        r.timestamp = self.timestamp;
        // The buffer has exactly the format's length.
        if r.encode_into(self.format, packet).is_ok() {
            self.crypto.encrypt_packet(packet);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> CheckResult {
        CheckResult {
            timestamp: 0,
            return_code: 2,
            host_name: b"firestorm".to_vec(),
            service: b"TCP Wrappers".to_vec(),
            plugin_output: b"Denied sshd-127.0.0.2".to_vec(),
        }
    }

    fn pair(method: Method, max_age: u32) -> (ServerSession, ClientSession) {
        let iv: [u8; IV_LEN] = std::array::from_fn(|i| (i * 7) as u8);
        let (server, init) = ServerSession::new(method, b"pw", iv, 1000, max_age).unwrap();
        let init = InitPacket::decode(&init.encode()).unwrap();
        let client = ClientSession::new(method, b"pw", &init, PacketFormat::V3).unwrap();
        (server, client)
    }

    #[test]
    fn client_to_server_many_packets() {
        for m in [Method::None, Method::Xor, Method::Des, Method::Rijndael256] {
            let (mut server, mut client) = pair(m, 30);
            let mut wire = Vec::new();
            for _ in 0..3 {
                client.encode(&result(), |b| b.fill(0x5a), &mut wire);
            }
            for chunk in wire.chunks_mut(PACKET_LEN) {
                let r = server.decode(chunk, 1005).unwrap();
                assert_eq!(r.timestamp, 1000);
                assert_eq!(r.host_name, b"firestorm");
            }
        }
    }

    #[test]
    fn max_packet_age_is_enforced_both_ways() {
        let (mut server, mut client) = pair(Method::Xor, 30);
        let mut wire = Vec::new();
        client.encode(&result(), |_| {}, &mut wire);
        let mut late = wire.clone();
        assert_eq!(
            server.decode(&mut late, 1031),
            Err(PacketError::Stale { age: 31, max: 30 })
        );
        let mut early = wire.clone();
        assert!(matches!(
            server.decode(&mut early, 960),
            Err(PacketError::Stale { age: -40, .. })
        ));
        assert!(server.decode(&mut wire, 1030).is_ok());
    }

    #[test]
    fn a_timestamp_from_another_connection_is_refused() {
        let (mut server, _) = pair(Method::Xor, 30);
        // A packet carrying another connection's (recent) timestamp.
        let iv: [u8; IV_LEN] = std::array::from_fn(|i| (i * 7) as u8);
        let other = InitPacket {
            iv,
            timestamp: 1001,
        };
        let mut client = ClientSession::new(Method::Xor, b"pw", &other, PacketFormat::V3).unwrap();
        let mut wire = Vec::new();
        client.encode(&result(), |_| {}, &mut wire);
        assert_eq!(
            server.decode(&mut wire, 1002),
            Err(PacketError::ForeignTimestamp {
                expected: 1000,
                got: 1001
            })
        );
    }

    #[test]
    fn age_zero_disables_the_check() {
        let (mut server, mut client) = pair(Method::Xor, 0);
        let mut wire = Vec::new();
        client.encode(&result(), |_| {}, &mut wire);
        assert!(server.decode(&mut wire, 999_999).is_ok());
    }

    #[test]
    fn wrong_password_is_a_version_error() {
        let iv = [9u8; IV_LEN];
        let (mut server, init) = ServerSession::new(Method::Xor, b"right", iv, 1, 0).unwrap();
        let mut client =
            ClientSession::new(Method::Xor, b"wrong", &init, PacketFormat::V3).unwrap();
        let mut wire = Vec::new();
        client.encode(&result(), |_| {}, &mut wire);
        assert!(matches!(
            server.decode(&mut wire, 1),
            Err(PacketError::Decode(DecodeError::Version(_)))
        ));
    }

    #[test]
    fn end_of_stream_classes() {
        assert_eq!(end_of_stream(0), EndOfStream::Clean);
        assert_eq!(end_of_stream(720), EndOfStream::Legacy);
        assert_eq!(end_of_stream(100), EndOfStream::Truncated(100));
    }
}
