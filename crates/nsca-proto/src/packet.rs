//! The NSCA 2.x packets: the 132-byte init packet (server to client) and the
//! 4304-byte v3 / 720-byte legacy 2.7 data packets (client to server).
//!
//! All integers are big-endian; the data packet is the C struct
//! `{int16 version; pad[2]; u32 crc; u32 timestamp; int16 rc; char host[64];
//! char svc[128]; char output[4096]; pad[2]}` (`common.h:114-122`). The CRC-32
//! (zlib's) covers every byte of the plaintext packet, padding included, with
//! the CRC field zeroed.

use crate::crypto::IV_LEN;

/// Length of the init packet: the IV and a 32-bit timestamp.
pub const INIT_PACKET_LEN: usize = IV_LEN + 4;
/// The only packet version NSCA 2.x accepts.
pub const PACKET_VERSION: i16 = 3;
/// Size of the host name field, terminator included (63 usable bytes).
pub const HOST_NAME_FIELD: usize = 64;
/// Size of the service description field, terminator included.
pub const DESCRIPTION_FIELD: usize = 128;

const OFF_VERSION: usize = 0;
const OFF_CRC: usize = 4;
const OFF_TIMESTAMP: usize = 8;
const OFF_RC: usize = 12;
const OFF_HOST: usize = 14;
const OFF_SVC: usize = OFF_HOST + HOST_NAME_FIELD;
const OFF_OUTPUT: usize = OFF_SVC + DESCRIPTION_FIELD;

/// The server's greeting: the IV for this connection and the server time.
#[derive(Clone, PartialEq, Eq)]
pub struct InitPacket {
    /// The 128-byte transmitted IV.
    pub iv: [u8; IV_LEN],
    /// Server time (UNIX seconds) when the connection was accepted; clients
    /// echo it in every data packet.
    pub timestamp: u32,
}

impl std::fmt::Debug for InitPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitPacket")
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl InitPacket {
    /// The 132 bytes on the wire.
    pub fn encode(&self) -> [u8; INIT_PACKET_LEN] {
        let mut out = [0u8; INIT_PACKET_LEN];
        out[..IV_LEN].copy_from_slice(&self.iv);
        out[IV_LEN..].copy_from_slice(&self.timestamp.to_be_bytes());
        out
    }

    /// Parses the init packet from the first 132 bytes of `buf`.
    pub fn decode(buf: &[u8]) -> Result<InitPacket, DecodeError> {
        let Some(bytes) = buf.get(..INIT_PACKET_LEN) else {
            return Err(DecodeError::Incomplete {
                needed: INIT_PACKET_LEN - buf.len(),
            });
        };
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&bytes[..IV_LEN]);
        Ok(InitPacket {
            iv,
            timestamp: be_u32(&bytes[IV_LEN..]),
        })
    }
}

/// The two data packet layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketFormat {
    /// NSCA 2.9 and later: 4304 bytes, 4096-byte output field.
    V3,
    /// NSCA 2.7 (`--legacy-2-7-mode`): 720 bytes, 512-byte output field.
    Legacy27,
}

impl PacketFormat {
    /// Length of a packet on the wire.
    pub const fn packet_len(self) -> usize {
        OFF_OUTPUT + self.output_field() + 2
    }

    /// Size of the plugin output field, terminator included.
    pub const fn output_field(self) -> usize {
        match self {
            PacketFormat::V3 => 4096,
            PacketFormat::Legacy27 => 512,
        }
    }
}

/// Length of a v3 data packet.
pub const PACKET_LEN: usize = PacketFormat::V3.packet_len();
/// Length of a legacy 2.7 data packet.
pub const LEGACY_PACKET_LEN: usize = PacketFormat::Legacy27.packet_len();

/// One passive check result, as carried by a data packet.
///
/// The text fields are bytes: NSCA carries whatever the client sent, and the
/// command-file writer passes non-UTF-8 bytes through as the C daemon does.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CheckResult {
    /// The packet timestamp (the echo of the init packet's).
    pub timestamp: u32,
    /// The plugin return code as sent (signed 16 bits, not range-checked).
    pub return_code: i16,
    /// The host name (at most 63 bytes).
    pub host_name: Vec<u8>,
    /// The service description; empty for a host check result.
    pub service: Vec<u8>,
    /// The plugin output (at most 4095 bytes, 511 in legacy packets).
    pub plugin_output: Vec<u8>,
}

impl CheckResult {
    /// Whether this is a host check result (empty service description).
    pub fn is_host_result(&self) -> bool {
        self.service.is_empty()
    }

    /// Encodes the result into `out` (exactly `format.packet_len()` bytes) in
    /// plaintext, CRC included. Fields longer than their slot are truncated as
    /// `send_nsca` truncates them; the bytes after each field's terminator
    /// are left as the caller filled them (`send_nsca` fills the packet with
    /// random characters first; zeros or CSPRNG bytes work as well).
    pub fn encode_into(&self, format: PacketFormat, out: &mut [u8]) -> Result<(), EncodeError> {
        if out.len() != format.packet_len() {
            return Err(EncodeError::BufferSize {
                expected: format.packet_len(),
                got: out.len(),
            });
        }
        out[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&PACKET_VERSION.to_be_bytes());
        out[OFF_TIMESTAMP..OFF_TIMESTAMP + 4].copy_from_slice(&self.timestamp.to_be_bytes());
        out[OFF_RC..OFF_RC + 2].copy_from_slice(&self.return_code.to_be_bytes());
        put_cstr(&mut out[OFF_HOST..OFF_SVC], &self.host_name);
        put_cstr(&mut out[OFF_SVC..OFF_OUTPUT], &self.service);
        put_cstr(
            &mut out[OFF_OUTPUT..OFF_OUTPUT + format.output_field()],
            &self.plugin_output,
        );
        let crc = packet_crc(out);
        out[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }

    /// Decodes a plaintext (already decrypted) packet of either format,
    /// checking the version first and then the CRC, in the C daemon's order.
    pub fn decode(plain: &[u8]) -> Result<CheckResult, DecodeError> {
        let format = match plain.len() {
            PACKET_LEN => PacketFormat::V3,
            LEGACY_PACKET_LEN => PacketFormat::Legacy27,
            n if n < PACKET_LEN => {
                return Err(DecodeError::Incomplete {
                    needed: PACKET_LEN - n,
                });
            }
            n => return Err(DecodeError::Length(n)),
        };
        let version = i16::from_be_bytes([plain[OFF_VERSION], plain[OFF_VERSION + 1]]);
        if version != PACKET_VERSION {
            return Err(DecodeError::Version(version));
        }
        let sent = be_u32(&plain[OFF_CRC..]);
        let computed = packet_crc(plain);
        if sent != computed {
            return Err(DecodeError::Crc { sent, computed });
        }
        Ok(CheckResult {
            timestamp: be_u32(&plain[OFF_TIMESTAMP..]),
            return_code: i16::from_be_bytes([plain[OFF_RC], plain[OFF_RC + 1]]),
            host_name: get_cstr(&plain[OFF_HOST..OFF_SVC]).to_vec(),
            service: get_cstr(&plain[OFF_SVC..OFF_OUTPUT]).to_vec(),
            plugin_output: get_cstr(&plain[OFF_OUTPUT..OFF_OUTPUT + format.output_field()])
                .to_vec(),
        })
    }
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More bytes are needed; nothing is wrong yet.
    #[error("incomplete packet: {needed} more bytes needed")]
    Incomplete {
        /// How many more bytes the shortest valid packet needs.
        needed: usize,
    },
    /// A buffer that is no packet length at all.
    #[error("invalid packet length {0} (expected 4304, or 720 for a 2.7 client)")]
    Length(usize),
    /// The version field is not 3: usually a wrong password or method.
    #[error(
        "invalid packet type/version {0} - possibly due to client using wrong password or crypto algorithm"
    )]
    Version(i16),
    /// The CRC does not match.
    #[error(
        "CRC mismatch (packet says {sent:#010x}, computed {computed:#010x}) - possibly corrupted or wrong password"
    )]
    Crc {
        /// CRC carried by the packet.
        sent: u32,
        /// CRC of the received bytes.
        computed: u32,
    },
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer does not have the packet's length.
    #[error("packet buffer has {got} bytes, expected {expected}")]
    BufferSize {
        /// The packet length.
        expected: usize,
        /// The buffer length.
        got: usize,
    },
}

/// CRC-32 of the packet with its CRC field taken as zero.
pub fn packet_crc(packet: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&packet[..OFF_CRC]);
    h.update(&[0u8; 4]);
    h.update(&packet[OFF_CRC + 4..]);
    h.finalize()
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The C string in a fixed field: up to the first NUL, at most `len - 1`
/// bytes (the daemon copies `len - 1` bytes and forces a terminator).
fn get_cstr(field: &[u8]) -> &[u8] {
    let max = &field[..field.len() - 1];
    match max.iter().position(|&b| b == 0) {
        Some(n) => &max[..n],
        None => max,
    }
}

/// Writes `s`, cut to `field.len() - 1` bytes and at any NUL, then a NUL.
fn put_cstr(field: &mut [u8], s: &[u8]) {
    let s = get_cstr_limit(s, field.len() - 1);
    field[..s.len()].copy_from_slice(s);
    field[s.len()] = 0;
}

fn get_cstr_limit(s: &[u8], max: usize) -> &[u8] {
    let s = match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    &s[..s.len().min(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_the_c_structs() {
        assert_eq!(PACKET_LEN, 4304);
        assert_eq!(LEGACY_PACKET_LEN, 720);
        assert_eq!(INIT_PACKET_LEN, 132);
    }

    #[test]
    fn round_trip_and_truncation() {
        let r = CheckResult {
            timestamp: 1_700_000_000,
            return_code: -2,
            host_name: vec![b'h'; 100],
            service: b"svc".to_vec(),
            plugin_output: b"out\0hidden".to_vec(),
        };
        let mut buf = vec![0x55u8; PACKET_LEN];
        r.encode_into(PacketFormat::V3, &mut buf).unwrap();
        let d = CheckResult::decode(&buf).unwrap();
        assert_eq!(d.host_name.len(), 63);
        assert_eq!(d.service, b"svc");
        assert_eq!(d.plugin_output, b"out");
        assert_eq!(d.return_code, -2);
        assert_eq!(d.timestamp, 1_700_000_000);
    }

    #[test]
    fn version_is_checked_before_crc() {
        let mut buf = vec![0u8; PACKET_LEN];
        CheckResult::default()
            .encode_into(PacketFormat::V3, &mut buf)
            .unwrap();
        buf[1] = 2;
        assert_eq!(CheckResult::decode(&buf), Err(DecodeError::Version(2)));
        buf[1] = 3;
        buf[100] ^= 1;
        assert!(matches!(
            CheckResult::decode(&buf),
            Err(DecodeError::Crc { .. })
        ));
    }

    #[test]
    fn short_and_odd_lengths() {
        assert_eq!(
            CheckResult::decode(&[0u8; 10]),
            Err(DecodeError::Incomplete { needed: 4294 })
        );
        assert_eq!(
            CheckResult::decode(&[0u8; 5000]),
            Err(DecodeError::Length(5000))
        );
        assert_eq!(
            InitPacket::decode(&[0u8; 131]),
            Err(DecodeError::Incomplete { needed: 1 })
        );
    }

    #[test]
    fn unterminated_field_is_cut_like_strncpy() {
        let mut buf = vec![b'x'; LEGACY_PACKET_LEN];
        CheckResult {
            plugin_output: vec![b'o'; 600],
            ..Default::default()
        }
        .encode_into(PacketFormat::Legacy27, &mut buf)
        .unwrap();
        // Overwrite the host terminator: the decoder must still stop at 63.
        buf[OFF_HOST..OFF_SVC].fill(b'h');
        let crc = packet_crc(&buf);
        buf[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        let d = CheckResult::decode(&buf).unwrap();
        assert_eq!(d.host_name, vec![b'h'; 63]);
        assert_eq!(d.plugin_output.len(), 511);
    }
}
