//! Fuzzes pattern matching and the whole evaluation: the input is a table (before the
//! first NUL byte) and a client name / user (after it). Evaluation must never panic, and
//! every twist command it produces must only contain sanitised expansions of the name.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use picket_tcpwrap::pattern::{glob_match, masked_match, string_match};
use picket_tcpwrap::{Recorder, Request, Settings, StaticResolver, Table, Tables, hosts_access};

fuzz_target!(|data: &[u8]| {
    let (table, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let rest = String::from_utf8_lossy(rest);
    let (name, user) = rest.split_once('\n').unwrap_or((&rest, "fuzzuser"));

    // Pattern functions directly, with the table text as pattern.
    let pat = String::from_utf8_lossy(&table[..table.len().min(256)]);
    let _ = glob_match(pat.as_bytes(), name.as_bytes());
    let _ = string_match(&pat, name);
    if let Some((n, m)) = pat.split_once('/') {
        let _ = masked_match(n, m, name);
    }

    let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let mut resolver = StaticResolver::new()
        .host(client, name, &[])
        .netgroup("g", &[name])
        .ident_user(client, user);
    let tables = Tables {
        allow: Table::parse("hosts.allow", table),
        deny: Table::parse("hosts.deny", b"ALL: ALL: twist /bin/echo %h %n %c %u %s\n"),
    };
    let mut req = Request::tcp(
        "in.fuzzd",
        SocketAddr::new(client, 4000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 23),
    );
    let mut fx = Recorder::default();
    let v = hosts_access(&tables, &mut req, &mut resolver, &mut fx, Settings::default());
    if let Some(cmd) = &v.twist {
        if let Some(args) = cmd.strip_prefix("/bin/echo ") {
            // The deny rule's literal text is only "/bin/echo " and spaces: everything
            // else came from expansions and must be whitelisted.
            assert!(args.bytes().all(|b| b == b' ' || picket_tcpwrap::expand::is_ok_byte(b)), "{cmd}");
        }
    }
});
