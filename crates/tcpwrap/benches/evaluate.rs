//! Rule evaluation per connection against a 1,000-line hosts.deny.
//!
//! `cargo bench -p picket-tcpwrap --bench evaluate`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use criterion::{Criterion, criterion_group, criterion_main};
use picket_tcpwrap::{DryRun, Request, Settings, StaticResolver, Table, Tables, hosts_access};

/// 1,000 rules of the usual kinds (daemon lists, addresses, prefixes, net/masks, CIDR,
/// EXCEPT), none of which matches the benchmark client, so every line is evaluated.
fn deny_1000() -> Vec<u8> {
    let mut s = String::from("# generated\n");
    for i in 0..1000u32 {
        let (a, b) = (i / 250, i % 250);
        let line = match i % 5 {
            0 => format!("in.telnetd, sshd: 10.{a}.{b}.1 10.{a}.{b}.2\n"),
            1 => format!("ALL EXCEPT in.fingerd: 172.16.{b}.\n"),
            2 => format!("sshd: 192.168.{b}.0/255.255.255.0\n"),
            3 => format!("ALL: 10.{a}.{b}.0/24 EXCEPT 10.{a}.{b}.7\n"),
            _ => format!("vsftpd: 10.{a}.{b}.9: spawn /bin/echo %a\n"),
        };
        s.push_str(&line);
    }
    s.into_bytes()
}

fn request() -> Request {
    Request::tcp(
        "sshd",
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)), 40000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 22),
    )
}

fn bench(c: &mut Criterion) {
    let deny = deny_1000();
    let tables = Tables {
        allow: Table::parse("hosts.allow", b"sshd: 127.0.0.1\n"),
        deny: Table::parse("hosts.deny", &deny),
    };
    let mut res = StaticResolver::new();
    c.bench_function(
        "evaluate/1000-line hosts.deny, no match (pre-parsed)",
        |b| {
            b.iter(|| {
                let mut req = request();
                let v = hosts_access(
                    &tables,
                    &mut req,
                    &mut res,
                    &mut DryRun,
                    Settings::default(),
                );
                black_box(v.is_granted())
            })
        },
    );
    c.bench_function(
        "evaluate/1000-line hosts.deny, no match (parse + evaluate)",
        |b| {
            b.iter(|| {
                let t = Tables {
                    allow: Table::parse("hosts.allow", b"sshd: 127.0.0.1\n"),
                    deny: Table::parse("hosts.deny", black_box(&deny)),
                };
                let mut req = request();
                black_box(
                    hosts_access(&t, &mut req, &mut res, &mut DryRun, Settings::default())
                        .is_granted(),
                )
            })
        },
    );
    c.bench_function("parse/1000-line hosts.deny", |b| {
        b.iter(|| black_box(Table::parse("hosts.deny", black_box(&deny))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
