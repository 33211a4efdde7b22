//! Per-packet costs of the protocol layer: decrypt + decode for the methods
//! the benchmarks use, encode, and the command line.
//!
//! `cargo bench -p picket-nsca-proto --bench packet`

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_nsca_proto::command::write_command;
use picket_nsca_proto::crypto::IV_LEN;
use picket_nsca_proto::{
    CheckResult, ClientSession, InitPacket, Method, PACKET_LEN, PacketFormat, ServerSession,
};
use std::hint::black_box;

fn result() -> CheckResult {
    CheckResult {
        timestamp: 0,
        return_code: 2,
        host_name: b"firestorm".to_vec(),
        service: b"TCP Wrappers".to_vec(),
        plugin_output: b"Denied sshd-127.0.0.2".to_vec(),
    }
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for method in [
        Method::None,
        Method::Xor,
        Method::TripleDes,
        Method::Blowfish,
        Method::Rijndael128,
    ] {
        let iv = [7u8; IV_LEN];
        let init = InitPacket {
            iv,
            timestamp: 1_700_000_000,
        };
        let mut client = ClientSession::new(method, b"pw", &init, PacketFormat::V3).unwrap();
        // Enough packets for one connection's worth of CFB state.
        let mut wire = Vec::new();
        for _ in 0..64 {
            client.encode(&result(), |b| b.fill(0), &mut wire);
        }
        g.bench_function(method.name(), |b| {
            b.iter_batched_ref(
                || {
                    let (s, _) = ServerSession::new(method, b"pw", iv, 1_700_000_000, 30).unwrap();
                    (s, wire.clone())
                },
                |(s, w)| {
                    for p in w.chunks_mut(PACKET_LEN) {
                        black_box(s.decode(p, 1_700_000_000).unwrap());
                    }
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn encode_and_command(c: &mut Criterion) {
    let init = InitPacket {
        iv: [7u8; IV_LEN],
        timestamp: 1,
    };
    let mut client = ClientSession::new(Method::Xor, b"pw", &init, PacketFormat::V3).unwrap();
    let r = result();
    let mut out = Vec::with_capacity(PACKET_LEN);
    c.bench_function("encode/XOR", |b| {
        b.iter(|| {
            out.clear();
            client.encode(black_box(&r), |p| p.fill(0), &mut out);
        })
    });
    let mut line = Vec::with_capacity(256);
    c.bench_function("command_line", |b| {
        b.iter(|| {
            line.clear();
            write_command(&mut line, 1_700_000_000, black_box(&r));
        })
    });
}

criterion_group!(benches, decode, encode_and_command);
criterion_main!(benches);
