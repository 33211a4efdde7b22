//! Property tests: any result survives client encode → server decode for
//! every supported method; arbitrary bytes never panic the decoder; a
//! command line is always exactly one line.

use picket_nsca_proto::command::{NamePolicy, check_names, write_command};
use picket_nsca_proto::crypto::IV_LEN;
use picket_nsca_proto::{
    CheckResult, ClientSession, Method, PACKET_LEN, PacketFormat, ServerSession,
};
use proptest::prelude::*;

fn supported() -> impl Strategy<Value = Method> {
    prop::sample::select(
        Method::ALL
            .into_iter()
            .filter(|m| m.support().is_ok())
            .collect::<Vec<_>>(),
    )
}

fn field(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

/// Bytes with line breaks of every kind (and their pieces) mixed in.
fn hostile_field(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::collection::vec(1u8..=255, 0..8),
        prop::sample::select(vec![
            b"\n".to_vec(),
            b"\r".to_vec(),
            b"\x0b".to_vec(),
            b"\x0c".to_vec(),
            b"\x1c".to_vec(),
            b"\x1d".to_vec(),
            b"\x1e".to_vec(),
            "\u{85}".as_bytes().to_vec(),
            "\u{2028}".as_bytes().to_vec(),
            "\u{2029}".as_bytes().to_vec(),
            b"\xe2\x80".to_vec(),
            b"\xc2".to_vec(),
            b"\xa8".to_vec(),
            b"\\".to_vec(),
        ]),
    ];
    prop::collection::vec(piece, 0..12).prop_map(move |v| {
        let mut b: Vec<u8> = v.concat();
        b.truncate(max);
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(
        method in supported(),
        password in prop::collection::vec(1u8..=255, 0..40),
        iv in prop::array::uniform32(any::<u8>()),
        rc in any::<i16>(),
        host in field(80),
        service in field(140),
        output in field(4200),
        packets in 1usize..4,
    ) {
        let mut full_iv = [0u8; IV_LEN];
        for (i, b) in full_iv.iter_mut().enumerate() { *b = iv[i % 32] ^ i as u8; }
        let (mut server, init) = ServerSession::new(method, &password, full_iv, 1_700_000_000, 30).unwrap();
        let mut client = ClientSession::new(method, &password, &init, PacketFormat::V3).unwrap();
        let r = CheckResult { timestamp: 0, return_code: rc, host_name: host.clone(), service: service.clone(), plugin_output: output.clone() };
        let mut wire = Vec::new();
        for _ in 0..packets { client.encode(&r, |b| b.fill(0xa5), &mut wire); }
        for chunk in wire.chunks_mut(PACKET_LEN) {
            let d = server.decode(chunk, 1_700_000_001).unwrap();
            prop_assert_eq!(d.return_code, rc);
            prop_assert_eq!(&d.host_name[..], &host[..host.len().min(63)]);
            prop_assert_eq!(&d.service[..], &service[..service.len().min(127)]);
            prop_assert_eq!(&d.plugin_output[..], &output[..output.len().min(4095)]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(method in supported(), bytes in prop::collection::vec(any::<u8>(), 0..5000)) {
        let (mut server, _) = ServerSession::new(method, b"pw", [3u8; IV_LEN], 1, 30).unwrap();
        let mut b = bytes.clone();
        let _ = server.decode(&mut b, 1);
        let _ = CheckResult::decode(&bytes);
    }

    #[test]
    fn command_is_one_line_for_every_reader(host in hostile_field(63), service in hostile_field(127), output in hostile_field(4095), rc in any::<i16>()) {
        let r = CheckResult { timestamp: 0, return_code: rc, host_name: host, service, plugin_output: output };
        let mut line = Vec::new();
        write_command(&mut line, 1, &r);
        // Whatever the fields hold, the only line break any reader sees is the last byte.
        let text = String::from_utf8_lossy(&line);
        let breaks: Vec<_> = text.char_indices().filter(|&(_, c)| picket_text::is_line_break(c)).collect();
        prop_assert_eq!(breaks, vec![(text.len() - 1, '\n')]);
    }

    #[test]
    fn command_is_one_line(host in field(63), service in field(127), output in field(4095), rc in any::<i16>()) {
        let r = CheckResult { timestamp: 0, return_code: rc, host_name: host, service, plugin_output: output };
        let mut line = Vec::new();
        write_command(&mut line, 1, &r);
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(line.last(), Some(&b'\n'));
        if check_names(&r, NamePolicy::Strict).is_ok() {
            // Strict names: the fields split exactly where they should.
            let text = &line[..line.len() - 1];
            let fields = text.split(|&b| b == b';').count();
            let min = if r.is_host_result() { 4 } else { 5 };
            prop_assert!(fields >= min);
        }
    }
}
