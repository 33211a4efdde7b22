//! The NSCA server path on arbitrary bytes: method, password and IV are
//! taken from the input, the rest is fed as packets. Nothing may panic, and
//! a decoded result must turn into exactly one command line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_nsca_proto::command::{NamePolicy, check_names, write_command};
use picket_nsca_proto::crypto::{IV_LEN, Method};
use picket_nsca_proto::session::{ServerSession, end_of_stream};
use picket_nsca_proto::{CheckResult, InitPacket, PACKET_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else { return };
    let Ok(method) = Method::from_number(i64::from(m % 27)) else { return };
    if method.support().is_err() {
        return;
    }
    let (pw, rest) = rest.split_at(rest.len().min(8));
    let mut iv = [0u8; IV_LEN];
    let n = rest.len().min(IV_LEN);
    iv[..n].copy_from_slice(&rest[..n]);
    let rest = &rest[n..];
    let _ = InitPacket::decode(rest);
    let _ = CheckResult::decode(rest);
    let Ok((mut session, _)) = ServerSession::new(method, pw, iv, 1_700_000_000, 30) else { return };
    let mut buf = rest.to_vec();
    let mut chunks = buf.chunks_exact_mut(PACKET_LEN);
    for p in &mut chunks {
        if let Ok(r) = session.decode(p, 1_700_000_000) {
            let mut line = Vec::new();
            write_command(&mut line, 1, &r);
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            let _ = check_names(&r, NamePolicy::Strict);
        }
    }
    let _ = end_of_stream(chunks.into_remainder().len());
});
