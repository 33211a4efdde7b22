//! Every vector recorded from Debian's real `send_nsca` and `nsca` 2.10.2
//! (`tests/nsca-vectors/` of this crate): decoded to the recorded fields and
//! command-file text, and re-encoded to the recorded bytes.

use std::path::PathBuf;

use picket_nsca_proto::command::write_command;
use picket_nsca_proto::crypto::{CryptoError, CryptoState, IV_LEN, Method};
use picket_nsca_proto::{CheckResult, ClientSession, InitPacket, PacketFormat};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/nsca-vectors")
}

struct Vector {
    id: String,
    method: Method,
    password: Vec<u8>,
    iv: [u8; IV_LEN],
    init: Vec<u8>,
    format: PacketFormat,
    client_bytes: Vec<u8>,
    packets: Vec<(Vec<u8>, Vec<u8>, Value)>,
    daemon_output: String,
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn load() -> Vec<Vector> {
    let dir = vectors_dir();
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .filter(|n| n.starts_with('m') && n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let v: Value =
            serde_json::from_slice(&std::fs::read(dir.join(&name)).expect("read vector"))
                .expect("json");
        let method =
            Method::from_number(v["method"].as_i64().expect("method")).expect("known method");
        let iv: [u8; IV_LEN] = hex(&v["iv_hex"]).try_into().expect("128-byte IV");
        let format = match v["packet_length"].as_u64() {
            Some(4304) => PacketFormat::V3,
            Some(720) => PacketFormat::Legacy27,
            other => panic!("{name}: packet_length {other:?}"),
        };
        let packets = v["packets"]
            .as_array()
            .expect("packets")
            .iter()
            .map(|p| {
                (
                    hex(&p["ciphertext_hex"]),
                    hex(&p["plaintext_hex"]),
                    p["decoded"].clone(),
                )
            })
            .collect();
        out.push(Vector {
            id: v["id"].as_str().expect("id").to_string(),
            method,
            password: v["password"]
                .as_str()
                .expect("password")
                .as_bytes()
                .to_vec(),
            iv,
            init: hex(&v["init_packet_hex"]),
            format,
            client_bytes: hex(&v["client_bytes_hex"]),
            packets,
            daemon_output: v["real_daemon"]["command_file_output"]
                .as_str()
                .expect("daemon output")
                .to_string(),
        });
    }
    out
}

/// The daemon's lines without their `[time] ` prefix.
fn strip_times(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_once("] ").map_or(l, |(_, rest)| rest).to_string())
        .collect()
}

#[test]
fn all_73_vectors_are_present() {
    assert_eq!(load().len(), 73);
}

#[test]
fn decode_every_supported_vector() {
    let mut checked = 0;
    for v in load() {
        let mut crypto = match CryptoState::new(v.method, &v.password, &v.iv) {
            Ok(c) => c,
            Err(CryptoError::Unsupported { .. }) => {
                assert!(
                    matches!(v.method, Method::Loki97 | Method::SaferPlus),
                    "{}",
                    v.id
                );
                continue;
            }
            Err(e) => panic!("{}: {e}", v.id),
        };
        let mut lines = Vec::new();
        for (i, (cipher, plain, decoded)) in v.packets.iter().enumerate() {
            let mut buf = cipher.clone();
            crypto.decrypt_packet(&mut buf);
            assert!(buf == *plain, "{} packet {i}: plaintext differs", v.id);
            let r =
                CheckResult::decode(&buf).unwrap_or_else(|e| panic!("{} packet {i}: {e}", v.id));
            assert_eq!(
                r.timestamp as u64,
                decoded["timestamp"].as_u64().expect("ts"),
                "{}",
                v.id
            );
            assert_eq!(
                r.return_code as i64,
                decoded["return_code"].as_i64().expect("rc"),
                "{}",
                v.id
            );
            assert_eq!(
                r.host_name,
                decoded["host_name"].as_str().expect("host").as_bytes(),
                "{}",
                v.id
            );
            assert_eq!(
                r.service,
                decoded["svc_description"].as_str().expect("svc").as_bytes(),
                "{}",
                v.id
            );
            assert_eq!(
                r.plugin_output,
                decoded["plugin_output"].as_str().expect("out").as_bytes(),
                "{}",
                v.id
            );
            let mut line = Vec::new();
            write_command(&mut line, 0, &r);
            lines.push(String::from_utf8(line).expect("utf-8 line"));
        }
        assert_eq!(
            strip_times(&lines.concat()),
            strip_times(&v.daemon_output),
            "{}: command-file text",
            v.id
        );
        checked += 1;
    }
    // 17 working methods; LOKI97 and SAFER+ (4 vectors each) are refused.
    assert_eq!(checked, 73 - 8);
}

#[test]
fn encode_every_supported_vector_to_the_recorded_bytes() {
    let mut checked = 0;
    for v in load() {
        if v.method.support().is_err() {
            continue;
        }
        let init = InitPacket::decode(&v.init).expect("init packet");
        assert_eq!(init.iv, v.iv);
        let mut client =
            ClientSession::new(v.method, &v.password, &init, v.format).expect("session");
        let mut wire = Vec::new();
        for (_, plain, _) in &v.packets {
            let r = CheckResult::decode(plain).expect("decode");
            // Reproduce send_nsca's random filler, then let the encoder write the fields.
            client.encode(&r, |buf| buf.copy_from_slice(plain), &mut wire);
        }
        assert!(wire == v.client_bytes, "{}: encoded bytes differ", v.id);
        checked += 1;
    }
    assert_eq!(checked, 65);
}
