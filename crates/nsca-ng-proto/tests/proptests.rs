//! Arbitrary input never panics any part of the crate; a client and a
//! server session agree on every command.

use picket_nsca_ng_proto::config::{NoLoader, parse_client, parse_server};
use picket_nsca_ng_proto::{Authorizer, ClientEvent, ClientSession, ServerEvent, ServerSession};
use proptest::prelude::*;

proptest! {
    #[test]
    fn server_session_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..12), max in 0usize..64) {
        let mut s = ServerSession::new(max);
        for c in &chunks {
            s.receive(c);
            while let Some(ev) = s.poll() {
                if let ServerEvent::Command(d) = ev {
                    s.answer(if d.len() % 2 == 0 { Ok(()) } else { Err("no\r\nBAIL") });
                }
            }
            let out = s.take_output();
            // Every response is whole CRLF lines, none injected by a FAIL message.
            prop_assert!(out.is_empty() || out.ends_with(b"\r\n"));
            for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                prop_assert!(line.ends_with(b"\r"));
                prop_assert!(!line[..line.len() - 1].contains(&b'\r'));
                let kw = &line[..4.min(line.len())];
                prop_assert!([&b"MOIN"[..], b"PONG", b"OKAY", b"FAIL", b"BAIL"].contains(&kw));
            }
        }
    }

    #[test]
    fn client_session_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut c = ClientSession::new("abc");
        c.push(b"[1] X\n".to_vec());
        c.finish();
        for ch in &chunks {
            c.receive(ch);
            while c.poll().is_some() {}
            let _ = c.take_output();
        }
    }

    #[test]
    fn configs_never_panic(text in "[a-z_ ={},#\"'\\\\()$\n*.@|\\[\\]+-]{0,300}") {
        if let Ok(cfg) = parse_server("f", &text, &mut NoLoader) {
            let a = Authorizer::new(&cfg);
            let _ = a.decide("x", b"[1] PROCESS_HOST_CHECK_RESULT;h;0;o\n");
        }
        let _ = parse_client("f", &text, &NoLoader);
    }

    #[test]
    fn decide_never_panics(cmd in proptest::collection::vec(any::<u8>(), 0..200)) {
        let cfg = parse_server("f", "authorize \"*\" { password = p\n hosts = \"web.*\"\n services = \".+@w.*\"\n commands = \"NOOP\" }", &mut NoLoader).expect("parses");
        let _ = Authorizer::new(&cfg).decide("any", &cmd);
    }

    #[test]
    fn every_pushed_command_arrives_whole(cmds in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..100), 0..6)) {
        let mut c = ClientSession::new("sess");
        for cmd in &cmds { c.push(cmd.clone()); }
        c.finish();
        let mut s = ServerSession::new(0);
        let mut got = Vec::new();
        let mut accepted = 0;
        for _ in 0..(4 * cmds.len() + 8) {
            s.receive(&c.take_output());
            while let Some(ev) = s.poll() {
                if let ServerEvent::Command(d) = ev { got.push(d); s.answer(Ok(())); }
            }
            c.receive(&s.take_output());
            while let Some(ev) = c.poll() {
                if matches!(ev, ClientEvent::Accepted(_)) { accepted += 1; }
            }
        }
        prop_assert_eq!(got, cmds.clone());
        prop_assert_eq!(accepted, cmds.len());
        prop_assert!(c.is_closed());
    }
}
