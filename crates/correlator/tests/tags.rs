//! What the daemon relies on to keep every event exactly once: each event's disposition,
//! its tag back in the `released` transition or the fold report, across a snapshot too.

use picket_correlator::{Config, Correlator, Disposition, Prefix, TransitionKind, parse_denied};

const T0: i64 = 1_800_000_000;

fn ev(t: i64, host: &str, from: &str) -> picket_correlator::ConnectionEvent {
    parse_denied("Denied", t, host, &format!("Denied sshd-{from}")).expect("event")
}

#[test]
fn dispositions_and_tags() {
    let cfg = Config {
        allow: vec![Prefix::parse("192.0.2.10").expect("prefix")],
        ..Config::default()
    };
    let mut c = Correlator::new(cfg.clone());
    c.report_folds(true);
    assert_eq!(
        c.observe_tagged(T0, ev(T0, "w1", "192.0.2.10"), 1),
        Disposition::Allowed
    );
    assert_eq!(
        c.observe_tagged(T0, ev(T0, "w1", "203.0.113.5"), 2),
        Disposition::Held
    );
    assert_eq!(
        c.observe_tagged(T0, ev(T0, "w1", "198.51.100.7"), 3),
        Disposition::Held
    );
    assert_eq!(
        c.observe_tagged(T0 + 1, ev(T0 + 1, "w2", "203.0.113.5"), 4),
        Disposition::Held
    );
    assert!(c.take_folded().is_empty());
    // The third host opens the incident: it and the two held ones are folded.
    assert_eq!(
        c.observe_tagged(T0 + 2, ev(T0 + 2, "w3", "203.0.113.5"), 5),
        Disposition::Folded
    );
    let mut tags: Vec<u64> = c.take_folded().iter().map(|f| f.tag).collect();
    tags.sort_unstable();
    assert_eq!(tags, [2, 4, 5]);
    let t = c.take_transitions();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].kind, t[0].tag), (TransitionKind::Opened, 0));
    // Later events of the source: folded at once.
    assert_eq!(
        c.observe_tagged(T0 + 3, ev(T0 + 3, "w4", "203.0.113.5"), 6),
        Disposition::Folded
    );
    assert_eq!(
        c.take_folded().iter().map(|f| f.tag).collect::<Vec<_>>(),
        [6]
    );
    // A snapshot keeps the held tag; the folds report is the caller's to switch on again.
    let snap = serde_json::to_string(&c.snapshot()).expect("snapshot");
    let mut c =
        Correlator::restore(cfg, serde_json::from_str(&snap).expect("parse")).expect("restore");
    c.report_folds(true);
    c.tick(T0 + 29);
    assert!(c.take_transitions().is_empty());
    c.tick(T0 + 30);
    let t = c.take_transitions();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].kind, t[0].tag), (TransitionKind::Released, 3));
    assert_eq!(c.open_count(), 1);
    assert!(c.take_folded().is_empty());
}
