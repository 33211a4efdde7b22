//! The NSCA 2.x protocol, sans I/O.
//!
//! Everything here is a pure function or state machine over bytes and text:
//! no sockets, no files, no clock, no randomness. The daemon and the client
//! in `picket-nsca` move the bytes, read the clock and draw the IVs.
//!
//! * [`packet`]: the init packet and the v3 / legacy data packets, CRC-32.
//! * [`crypto`]: the encryption methods, byte-compatible with libmcrypt.
//! * [`session`]: one connection's state, server and client side.
//! * [`command`]: the external-command line a result becomes, and the checks
//!   that keep hostile names out of it.
//! * [`config`]: `nsca.cfg` and `send_nsca.cfg`.
//! * [`input`]: `send_nsca`'s standard-input format.
//!
//! Compatibility reference: Debian 12's `nsca`/`nsca-client` 2.10.2; the
//! vectors recorded from those programs, in this crate's `tests/nsca-vectors/`,
//! are checked by `tests/vectors.rs`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
pub mod config;
pub mod crypto;
mod des;
pub mod input;
pub mod packet;
pub mod session;

pub use command::{NamePolicy, RejectReason};
pub use crypto::{CryptoError, Method};
pub use packet::{
    CheckResult, DecodeError, INIT_PACKET_LEN, InitPacket, LEGACY_PACKET_LEN, PACKET_LEN,
    PacketFormat,
};
pub use session::{ClientSession, EndOfStream, PacketError, ServerSession};
