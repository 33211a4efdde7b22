//! Fuzzes the correlator's hostile inputs: `Denied` result outputs, `detection.cfg` text, and
//! event streams built from the bytes. Nothing may panic; what is kept stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_correlator::{Config, ConnectionEvent, Correlator, Kind, Proto, Source, parse_denied};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(e) = parse_denied("Denied", 0, "h", &text) {
        assert!(e.raw.len() <= picket_correlator::event::RAW_CAP);
    }
    let _ = Config::parse("detection.cfg", &text);
    let cfg = Config::parse("d", "max_sources=8\nmax_held=4\nmax_incidents=2\n").expect("cfg");
    let mut c = Correlator::new(cfg);
    let mut now = 0i64;
    for chunk in data.chunks(4) {
        let [a, b, p, k] = [0, 1, 2, 3].map(|i| chunk.get(i).copied().unwrap_or(0));
        now += i64::from(a % 8);
        let kind = [
            Kind::Refused,
            Kind::FirewallDrop,
            Kind::AuthFail,
            Kind::Trap,
        ][usize::from(k % 4)];
        let src = Source::addr(std::net::IpAddr::from([10, 0, b / 16, b]));
        let e = ConnectionEvent::new(now, &format!("h{}", b % 5), src, kind)
            .port(Proto::Tcp, u16::from(p));
        c.observe(now, e);
        for t in c.take_transitions() {
            assert!(t.output.len() <= picket_correlator::render::OUTPUT_CAP);
        }
    }
    c.tick(now + 100_000);
    assert!(c.open_incidents().is_empty());
});
