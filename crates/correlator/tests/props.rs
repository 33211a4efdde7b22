//! Property tests: hostile input never panics, stays bounded, and parses back.

use std::net::IpAddr;

use picket_correlator::{
    Config, ConnectionEvent, Correlator, Kind, Proto, Source, TransitionKind, event, parse_denied,
    render,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_denied_parser_never_panics_and_bounds_what_it_keeps(s in ".{0,2000}") {
        if let Ok(e) = parse_denied("Denied", 0, "h", &s) {
            prop_assert!(e.raw.len() <= event::RAW_CAP);
            prop_assert!(e.daemon.as_deref().is_some_and(|d| !d.is_empty() && d.len() <= event::NAME_CAP));
            prop_assert!(!e.raw.contains('\n'));
            if let Source::Name(n) = &e.source {
                prop_assert!(n.len() <= event::NAME_CAP);
            }
        }
    }

    #[test]
    fn denied_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let s = String::from_utf8_lossy(&b);
        let _ = parse_denied("Denied", 0, "h", &format!("Denied {s}"));
    }

    #[test]
    fn seed_outputs_parse_back(
        daemon in "[a-z][a-z0-9._-]{0,30}",
        ip in any::<IpAddr>(),
        tail in "( [ -~]{0,20})?",
    ) {
        let out = format!("Denied {daemon}-{ip}{tail}");
        let e = parse_denied("Denied", 7, "web1", &out).expect("parses");
        prop_assert_eq!(e.daemon.as_deref(), Some(daemon.as_str()));
        prop_assert_eq!(e.source, Source::addr(ip));
        prop_assert_eq!(e.kind, Kind::Refused);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Arbitrary event streams: no panic, caps hold, outputs bounded, and every incident
    /// that opens is closed once time has passed.
    #[test]
    fn arbitrary_streams_stay_bounded(
        evs in proptest::collection::vec(
            (0i64..4000, 0u8..12, any::<u8>(), 0u16..20, 0u8..4, "[ -~\\x00-\\x1f]{0,40}"),
            0..300,
        ),
    ) {
        let cfg = Config::parse("d", "max_sources=16\nmax_held=8\nmax_incidents=4\nmax_names=8\ntrap_ports=19\n").expect("cfg");
        let mut c = Correlator::new(cfg);
        let mut now = 1_000_000i64;
        let mut out = Vec::new();
        for (dt, host, last, port, kind, junk) in evs {
            now += dt / 100;
            let kind = [Kind::Refused, Kind::FirewallDrop, Kind::AuthFail, Kind::Trap][kind as usize];
            let source = Source::addr(IpAddr::from([192, 0, 2, last]));
            let mut e = ConnectionEvent::new(now - 5 + dt % 10, &format!("h{host}{junk}"), source, kind)
                .port(Proto::Tcp, port);
            e.raw = junk;
            c.observe(now, e);
            let (s, p, h) = c.tracked();
            prop_assert!(s <= 16 && p <= 100_000 && h <= 8);
            prop_assert!(c.open_incidents().len() <= 4);
        }
        c.tick(now + 10_000);
        c.drain_into(&mut out);
        for t in &out {
            prop_assert!(t.output.len() <= render::OUTPUT_CAP.max(event::RAW_CAP));
            prop_assert!(t.output.bytes().all(|b| b >= 0x20 && b != 0x7f) || t.kind == TransitionKind::Released);
        }
        let opened = out.iter().filter(|t| t.kind == TransitionKind::Opened).count();
        let closed = out.iter().filter(|t| t.kind == TransitionKind::Closed).count();
        prop_assert_eq!(opened, closed);
        prop_assert!(c.open_incidents().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Absurd clocks and event times (any i64, in any order) and absurd durations never
    /// overflow or panic.
    #[test]
    fn any_times_never_panic(
        evs in proptest::collection::vec((any::<i64>(), any::<i64>(), 0u8..4, 0u8..6), 0..60),
        window in any::<i64>(),
    ) {
        let cfg = Config {
            horizontal_window: window,
            quiet: window,
            hold: window,
            ..Config::default()
        };
        let mut c = Correlator::new(cfg);
        for (now, time, last, host) in evs {
            let e = ConnectionEvent::new(time, &format!("h{host}"), Source::addr(IpAddr::from([192, 0, 2, last])), Kind::Refused)
                .port(Proto::Tcp, 22);
            c.observe(now, e);
            c.tick(now);
            let _ = c.next_wakeup();
        }
        c.tick(i64::MAX);
        let _ = c.take_transitions();
    }
}
